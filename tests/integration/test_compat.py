#!/usr/bin/python3
"""Real-world onion-grater profiles (Tails, Whonix) under torgate.

Each file of TOP_SRCDIR/../shared/compat-profiles/{tails,whonix}/*.yml is
copied alone into a profile directory and served through a listener bound
to it with ,profile=NAME (NAME: the file name without .yml; these files
have no name: key). For each file: what it allows passes (byte-exact
against tor's direct reply wherever tor's answer is deterministic, and
tor receives the command as sent), something outside it is denied with
"510 Command filtered" and never reaches tor, and its rewrites happen
(what tor receives, and replies rewritten although the private tor is
offline).

The directory is TORGATE_COMPAT_PROFILES when that is set. Without it the
module exits 77, which meson reports as SKIP; with CI=true in the
environment a missing directory or file is a failure instead.
"""

import base64
import os
import re
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import itkit  # noqa: E402
from harness import Listener  # noqa: E402
from itkit import FILTERED, OK, GateCase  # noqa: E402

_top = os.environ.get("TOP_SRCDIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")
COMPAT_DIR = (os.environ.get("TORGATE_COMPAT_PROFILES")
              or os.path.join(_top, "..", "shared", "compat-profiles"))
EXIT_SKIP = 77  # meson's SKIP
FLAVOURS = ("tails", "whonix")

BOOTSTRAP_DONE = (b'250-status/bootstrap-phase=NOTICE BOOTSTRAP PROGRESS=100 '
                  b'TAG=done SUMMARY="Done"\r\n')
# A syntactically valid v3 onion address and x25519 client key (from
# Whonix' 40_onion_authentication.yml); the private tor is offline.
ONION = b"m5bmcnsk64naezc26scz2xb3l3n2nd5xobsljljrpvf77tclmykn7wid"
X25519 = b"x25519:uBKh6DGrkcFxB1adYuyKQltUDDUT9IZrOsne3nfHbHI="
SID_RE = re.compile(rb"^250-ServiceID=([a-z2-7]{56})\r\n"
                    rb"(?:250-(?:PrivateKey|ClientAuthV3)=\S+\r\n)*"
                    rb"250 OK\r\n$")
WARNING_RE = re.compile(r"^(.+\.yml):(\d+):(\d+): warning: \S.*$")
SUMMARY_RE = re.compile(r"^\d+ profiles?, 0 errors, \d+ warnings?$")

env = None
missing = []  # the data found absent, for the exit status


def data_missing(what):
    """Stop the test whose data is absent: skip it, or fail under CI."""
    missing.append(what)
    if os.environ.get("CI") == "true":
        raise AssertionError("%s (CI=true: the data must be there; "
                             "TORGATE_COMPAT_PROFILES says where)" % what)
    raise unittest.SkipTest(what)


def setUpModule():
    global env
    if not os.path.isdir(COMPAT_DIR):
        data_missing("no compat profiles at %s" % COMPAT_DIR)
    itkit.require_binaries()
    env = itkit.Env(tcp_control=False, tap=True)


def tearDownModule():
    if env is not None:
        env.close()


def compat_files():
    out = []
    for fl in FLAVOURS:
        d = os.path.join(COMPAT_DIR, fl)
        if os.path.isdir(d):
            out += ["%s/%s" % (fl, f) for f in sorted(os.listdir(d))
                    if f.endswith(".yml")]
    return out


def new_key():
    """A fresh ED25519-V3 private key from tor (its service removed)."""
    with env.tor.direct() as d:
        rep = d.command(b"ADD_ONION NEW:ED25519-V3 Port=80,1\r\n")
        m = re.search(rb"^250-ServiceID=(\S+)\r\n250-PrivateKey=(\S+)\r\n",
                      rep, re.M)
        assert m, rep
        assert d.command(b"DEL_ONION " + m.group(1) + b"\r\n") == OK
    return m.group(2)


class CheckTest(unittest.TestCase):

    def check_output(self, out):
        """Every line a FILE:LINE:COL: warning, bar the summary line."""
        lines = out.splitlines()
        self.assertTrue(lines, "no output")
        for line in lines:
            if SUMMARY_RE.match(line):
                continue
            self.assertRegex(line, WARNING_RE,
                             "not a FILE:LINE:COL: warning line")

    def test_check_each_flavour(self):
        for fl in FLAVOURS:
            with self.subTest(flavour=fl):
                rc, out = itkit.run_check([os.path.join(COMPAT_DIR, fl)])
                self.assertEqual(rc, 0, out)
                self.check_output(out)
                n = len([f for f in compat_files()
                         if f.startswith(fl + "/")])
                self.assertIn("%d profile" % n, out.splitlines()[-1])

    def test_check_each_file_alone(self):
        for f in compat_files():
            with self.subTest(file=f):
                d = env.tempdir("tgt-chk-")
                shutil.copy(os.path.join(COMPAT_DIR, f), d)
                rc, out = itkit.run_check([d])
                self.assertEqual(rc, 0, out)
                self.check_output(out)
                for line in out.splitlines():
                    m = WARNING_RE.match(line)
                    if m:
                        self.assertEqual(os.path.basename(m.group(1)),
                                         os.path.basename(f))

    def collisions(self, out):
        return [line for line in out.splitlines()
                if WARNING_RE.match(line) and " match " in line and
                "denied everything" in line]

    def test_check_reports_whonix_collisions(self):
        # Nine of Whonix's profiles say exe-paths, users and hosts '*':
        # on a listener bound to no profile every client matches them all
        # and is denied everything. --check says so, once per client, at
        # the first profile's FILE:LINE:COL, naming each with its own.
        whonix = os.path.join(COMPAT_DIR, "whonix")
        names = sorted(f[len("whonix/"):-len(".yml")]
                       for f in compat_files() if f.startswith("whonix/"))
        rc, out = itkit.run_check([whonix])      # default listeners: local
        self.assertEqual(rc, 0, out)
        self.check_output(out)
        col = self.collisions(out)
        self.assertEqual(len(col), 2, out)
        self.assertRegex(col[0], r"40_bisq\.yml:12:3: warning: profiles "
                         r"'40_bisq' \(40_bisq\.yml:12:3\), .* all match any "
                         r"local client")
        for n in names:
            self.assertEqual(n in col[0], n != "40_wahay", n)
            self.assertIn("'%s' (%s.yml:" % (n, n), col[1])
        self.assertIn("a local client '/usr/bin/wahay' run by user "
                      "'amnesia'", col[1])
        self.assertNotIn("remote", out)
        # a listener on the gateway's internal address takes remote clients
        rc, out = itkit.run_check([whonix], extra=[
            "-l", "10.152.152.10:9051"])
        self.assertEqual(rc, 0, out)
        col = self.collisions(out)
        self.assertEqual(len(col), 1, out)
        self.assertIn("all match any remote client (hosts '*')", col[0])
        # bound to a profile each, listeners choose no profile: nothing
        rc, out = itkit.run_check([whonix], extra=[
            "-l", "10.152.152.10:9051,profile=40_bisq",
            "-l", "unix:/run/x.sock,profile=40_lnd"])
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.collisions(out), [], out)
        # Tails' profiles do not collide, on any listener
        rc, out = itkit.run_check([os.path.join(COMPAT_DIR, "tails")],
                                  extra=["-l", "0.0.0.0:9051"])
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.collisions(out), [], out)

    def test_every_file_has_a_test_class(self):
        covered = {c.FILE for c in globals().values()
                   if isinstance(c, type) and issubclass(c, _BASES[0])
                   and c is not _BASES[0]}
        self.assertEqual(sorted(set(compat_files()) - covered), [],
                         "compat profiles without a test class")


class CompatBase(GateCase):
    """One torgate serving one compat file through ,profile=NAME."""

    FILE = None
    DENIED = ()          # extra lines denied by this profile

    @classmethod
    def setUpClass(cls):
        cls.env = env
        cls.name = os.path.basename(cls.FILE)[:-len(".yml")]
        src = os.path.join(COMPAT_DIR, cls.FILE)
        if not os.path.exists(src):
            data_missing("%s not present" % src)
        pdir = env.tempdir("tgt-prof-")
        shutil.copy(src, pdir)
        cls.path = env.sock(cls.name + ".sock")
        cls.tg = env.torgate([pdir], [Listener(cls.path, profile=cls.name)])

    @classmethod
    def tearDownClass(cls):
        if cls.tg is not None:
            problem = env.stop_daemon(cls.tg)
            cls.tg = None
            if problem:
                raise AssertionError(problem)

    def s(self):
        return self.session(self.path)

    def same_as_tor(self, c, cmd, fresh=False):
        """cmd passes: the reply is tor's own, byte for byte, and tor
        received the command line unchanged."""
        m = env.tap.mark()
        want = (self.ref_fresh if fresh else self.ref)(cmd + b"\r\n")
        self.assertNotEqual(want, FILTERED)
        self.assertEqual(c.command(cmd + b"\r\n"), want, cmd)
        self.assert_tor_got(cmd, mark=m)

    def rewritten(self, c, sent, tor_gets):
        """sent passes and tor receives tor_gets; returns the reply."""
        m = env.tap.mark()
        rep = c.command(sent + b"\r\n")
        self.assertNotEqual(rep, FILTERED, sent)
        self.assert_tor_got(tor_gets, mark=m)
        self.assert_not_forwarded(sent + b"\r\n", mark=m)
        return rep

    def add_onion(self, c, sent, tor_gets):
        rep = self.rewritten(c, sent, tor_gets)
        m = SID_RE.match(rep)
        self.assertIsNotNone(m, "ADD_ONION reply %r" % rep)
        return m.group(1)

    def setevents_ok(self, c, sent, upstream):
        """SETEVENTS sent -> 250 OK; tor is asked for exactly the events
        in upstream (the suppressed ones left out)."""
        m = env.tap.mark()
        self.assertEqual(c.command(sent + b"\r\n"), OK, sent)
        got = [l for l in self.tor_lines(m)
               if l.upper().startswith(b"SETEVENTS")]
        self.assertEqual(len(got), 1, got)
        self.assertEqual(sorted(got[0].split()[1:]), sorted(upstream),
                         "tor was asked %r" % got[0])

    # -- common to every profile ---------------------------------------

    def test_outside_the_profile_is_denied(self):
        c = self.s()
        for line in (b"GETINFO address", b"SIGNAL SHUTDOWN",
                     b"SIGNAL HALT", b"GETINFO config-text",
                     b"SETCONF SocksPort=0.0.0.0:9999") + tuple(self.DENIED):
            with self.subTest(line=line):
                self.assert_denied(c, line)
        self.assertTrue(env.tor.alive())


class TailsOnioncircuits(CompatBase):
    FILE = "tails/onioncircuits.yml"
    DENIED = (b"CLOSECIRCUIT 5 IfUnused", b"SETCONF UseMicrodescriptors=0",
              b"SETCONF __OwningControllerProcess=1 SocksPort=9999",
              b"GETINFO ns/id/xyz", b"GETINFO ip-to-country/1.2.3",
              b"SETEVENTS ADDRMAP")

    def test_allowed_reads(self):
        c = self.s()
        for cmd in (b"GETINFO version", b"GETINFO circuit-status",
                    b"GETINFO stream-status",
                    b"GETINFO ns/id/ABCDEF0123456789abcdef",
                    b"GETINFO ip-to-country/1.2.3.4"):
            with self.subTest(cmd=cmd):
                self.same_as_tor(c, cmd)

    def test_closecircuit_pattern_with_trailing_space(self):
        # stem sends "CLOSECIRCUIT <id> " (empty flags): the profile's
        # '\d+ ' is written for exactly that.
        c = self.s()
        self.same_as_tor(c, b"CLOSECIRCUIT 5 ")

    def test_confs_are_readable(self):
        # confs: KEY: null allows reading KEY (GETCONF), not setting it
        c = self.s()
        for cmd in (b"GETCONF UseMicrodescriptors",
                    b"GETCONF __OwningControllerProcess",
                    b"GETCONF usemicrodescriptors __owningcontrollerprocess"):
            with self.subTest(cmd=cmd):
                self.same_as_tor(c, cmd)

    def test_events(self):
        c = self.s()
        self.setevents_ok(c, b"SETEVENTS STREAM CIRC", [b"STREAM", b"CIRC"])
        self.setevents_ok(c, b"SETEVENTS SIGNAL CONF_CHANGED STATUS_SERVER "
                             b"STREAM", [b"STREAM"])


class TailsOnionshare(CompatBase):
    FILE = "tails/onionshare.yml"
    DENIED = (b"ADD_ONION NEW:ED25519-V3 Port=80,17651",
              b"ADD_ONION NEW:ED25519-V3 Port=81,17600",
              b"ADD_ONION NEW:ED25519-V3 Port=80,17600 Flags=Detach",
              b"GETCONF DisableNetwork", b"SETEVENTS STREAM")

    def test_allowed(self):
        c = self.s()
        self.same_as_tor(c, b"GETINFO version")
        self.same_as_tor(c, b"GETINFO onions/current", fresh=True)
        self.same_as_tor(c, b"GETCONF hiddenservicesinglehopmode")
        with self.subTest(cmd="GETCONF __OwningControllerProcess"):
            # confs: __owningcontrollerprocess: null -> readable
            self.same_as_tor(c, b"GETCONF __OwningControllerProcess")
        # v2-era probe: allowed, tor itself answers (and refuses)
        self.same_as_tor(c, b"ADD_ONION NEW:BEST Flags=BasicAuth Port=1,1 "
                            b"ClientAuth=onionshare")

    def test_add_and_del_onion(self):
        c = self.s()
        line = b"ADD_ONION NEW:ED25519-V3 Port=80,17642"
        m = env.tap.mark()
        rep = c.command(line + b"\r\n")
        mm = SID_RE.match(rep)
        self.assertIsNotNone(mm, rep)
        sid = mm.group(1)
        self.assert_tor_got(line, mark=m)
        self.assertEqual(c.command(b"GETINFO onions/current\r\n"),
                         b"250-onions/current=" + sid + b"\r\n250 OK\r\n")
        self.assertEqual(c.command(b"DEL_ONION " + sid + b"\r\n"), OK)
        self.assertEqual(c.command(b"GETINFO onions/current\r\n"),
                         b"250-onions/current=\r\n250 OK\r\n")

    def test_events(self):
        c = self.s()
        self.setevents_ok(c, b"SETEVENTS SIGNAL CONF_CHANGED HS_DESC "
                             b"STATUS_SERVER", [b"HS_DESC", b"STATUS_SERVER"])


class TailsTorBrowser(CompatBase):
    FILE = "tails/tor-browser.yml"
    DENIED = (b"GETINFO version", b"SIGNAL RELOAD",
              b"SETCONF Bridge=obfs4 192.0.2.1:443 "
              b"0123456789ABCDEF0123456789ABCDEF01234567",
              b"SETCONF Bridge=192.0.2.1:443", b"RESETCONF Bridge",
              b"SETEVENTS ADDRMAP", b"GETINFO net/listeners/control")

    def test_allowed(self):
        c = self.s()
        self.same_as_tor(c, b"SIGNAL NEWNYM")
        self.same_as_tor(c, b"GETINFO net/listeners/socks")
        self.same_as_tor(c, b"GETINFO ns/id/ABCDEF0123456789abcdef")
        self.same_as_tor(c, b"GETINFO ip-to-country/1.2.3.4")
        # no circuits exist on the offline tor: the restricted view equals
        # tor's (empty) one
        self.same_as_tor(c, b"GETINFO circuit-status")

    def test_bridge_is_read_only(self):
        c = self.s()
        for cmd in (b"GETCONF Bridge", b"GETCONF bridge"):
            with self.subTest(cmd=cmd):
                self.same_as_tor(c, cmd)
        self.assert_denied(c, b"SETCONF Bridge=192.0.2.1:443")

    def test_onion_client_auth_add(self):
        c = self.s()
        line = b"ONION_CLIENT_AUTH_ADD " + ONION + b" " + X25519
        try:
            m = env.tap.mark()
            self.assertEqual(c.command(line + b"\r\n"), OK)
            self.assert_tor_got(line, mark=m)
        finally:
            self.ref(b"ONION_CLIENT_AUTH_REMOVE " + ONION + b"\r\n")

    def test_events(self):
        c = self.s()
        self.setevents_ok(c, b"SETEVENTS STREAM CIRC", [b"STREAM", b"CIRC"])


class WhonixBisq(CompatBase):
    FILE = "whonix/40_bisq.yml"
    DENIED = (b"GETINFO version", b"SETCONF DisableNetwork=2",
              b"SETCONF DisableNetwork=1 SocksPort=9999",
              b"SETEVENTS STREAM")

    def test_bootstrap_phase_rewritten(self):
        c = self.s()
        self.assertIn(b"PROGRESS=0 ", self.ref(
            b"GETINFO status/bootstrap-phase\r\n"))
        self.assertEqual(c.command(b"GETINFO status/bootstrap-phase\r\n"),
                         BOOTSTRAP_DONE + OK)

    def test_add_onion_target_rewritten(self):
        c = self.s()
        sid = self.add_onion(
            c, b"ADD_ONION NEW:ED25519-V3 Port=9999,9998",
            b"ADD_ONION NEW:ED25519-V3 Port=9999,127.0.0.1:9998")
        self.assertEqual(c.command(b"DEL_ONION " + sid + b"\r\n"), OK)

    def test_setconf_disablenetwork(self):
        # only "=1" here: 0 would take the private tor online
        c = self.s()
        self.same_as_tor(c, b"SETCONF DisableNetwork=1")

    def test_hsfetch(self):
        c = self.s()
        self.same_as_tor(c, b"HSFETCH " + ONION)

    def test_events(self):
        c = self.s()
        self.setevents_ok(c, b"SETEVENTS SIGNAL CIRC ORCONN INFO NOTICE WARN "
                             b"ERR HS_DESC HS_DESC_CONTENT", [b"HS_DESC"])

    def test_hostile_lines_hit_the_match_limit(self):
        """'(\\S+) Port=(\\S+),(\\S+)' on 64 KiB lines built to make it
        backtrack: each gives up at PCRE2's match limit and is denied
        (never passed on to a later rule), with the limit's log line;
        a second client is served, and a real command still passes."""
        c, other = self.s(), self.s()
        hostile = [b"ADD_ONION x Port=" + b"," * (65000 + i) + b" y"
                   for i in range(3)]
        for line in hostile:
            self.assert_denied(c, line, line[:64])
        self.assertTrue(self.tg.log_text().count("match limit") >= 3,
                        self.tg.log_text()[-3000:])
        self.assertIn("denied \"ADD_ONION", self.tg.log_text())
        r = other.command(b"GETINFO status/bootstrap-phase\r\n")
        self.assertEqual(r, BOOTSTRAP_DONE + OK)
        sid = self.add_onion(
            c, b"ADD_ONION NEW:ED25519-V3 Port=9999,9998",
            b"ADD_ONION NEW:ED25519-V3 Port=9999,127.0.0.1:9998")
        self.assertEqual(c.command(b"DEL_ONION " + sid + b"\r\n"), OK)


class WhonixBitcoind(CompatBase):
    FILE = "whonix/40_bitcoind.yml"
    DENIED = (b"GETINFO version",
              b"ADD_ONION NEW:ED25519-V3 Port=8333,10.0.0.1:8334",
              b"ADD_ONION NEW:ED25519-V3 Port=8333,127.0.0.1:8335",
              b"ADD_ONION NEW:ED25519-V3 Port=8333,127.0.0.1:8334 "
              b"Port=80,127.0.0.1:9051",
              b"DEL_ONION " + ONION, b"SETEVENTS STREAM")

    def test_add_onion_rewritten(self):
        c = self.s()
        for port in (b"8333", b"18333", b"38333"):
            target = b"%d" % (int(port) + 1)
            for host in (b"127.0.0.1", b"0.0.0.0"):
                with self.subTest(port=port, host=host):
                    rep = self.rewritten(
                        c, b"ADD_ONION NEW:ED25519-V3 Port=" + port + b","
                        + host + b":" + target,
                        b"ADD_ONION NEW:ED25519-V3 Port=" + port
                        + b",127.0.0.1:" + target + b" Flags=DiscardPK")
                    self.assertRegex(rep, rb"^250-ServiceID=[a-z2-7]{56}\r\n"
                                          rb"250 OK\r\n$")


class WhonixCwtch(CompatBase):
    FILE = "whonix/40_cwtch.yml"
    DENIED = (b"GETINFO version",
              b"ADD_ONION NEW:ED25519-V3 Port=9878,[::]:15000",
              b"SETEVENTS STREAM", b"SETCONF DisableNetwork=0")

    def test_rewritten_replies(self):
        c = self.s()
        self.assertEqual(c.command(b"GETINFO status/bootstrap-phase\r\n"),
                         BOOTSTRAP_DONE + OK)
        self.assertEqual(self.ref(b"GETINFO network-liveness\r\n"),
                         b"250-network-liveness=down\r\n" + OK)
        self.assertEqual(c.command(b"GETINFO network-liveness\r\n"),
                         b"250-network-liveness=up\r\n" + OK)
        self.assertEqual(self.ref(b"GETCONF DisableNetwork\r\n"),
                         b"250 DisableNetwork=1\r\n")
        self.assertEqual(c.command(b"GETCONF DisableNetwork\r\n"),
                         b"250 DisableNetwork=0\r\n")

    def test_add_onion_detached_rewritten_and_deleted(self):
        key = new_key()
        c = self.s()
        sid = self.add_onion(
            c, b"ADD_ONION " + key + b" Flags=DiscardPK,Detach "
            b"Port=9878,[::]:15377",
            b"ADD_ONION " + key + b" Flags=DiscardPK,Detach "
            b"Port=9878,127.0.0.1:15377")
        self.assertIn(sid, self.ref(b"GETINFO onions/detached\r\n"))
        self.assertEqual(c.command(b"DEL_ONION " + sid + b"\r\n"), OK)
        self.assertNotIn(sid, self.ref(b"GETINFO onions/detached\r\n"))
        self.assert_denied(c, b"ADD_ONION " + key + b" Flags=DiscardPK,"
                           b"Detach Port=9878,[::]:15379")

    def test_hsfetch(self):
        c = self.s()
        self.same_as_tor(c, b"HSFETCH " + ONION)

    def test_events(self):
        c = self.s()
        self.setevents_ok(c, b"SETEVENTS CIRC WARN ERR", [])
        self.setevents_ok(c, b"SETEVENTS CIRC ORCONN INFO NOTICE WARN ERR "
                             b"HS_DESC HS_DESC_CONTENT", [b"HS_DESC"])


class WhonixHaveno(CompatBase):
    FILE = "whonix/40_haveno.yml"
    DENIED = (b"GETINFO version", b"ADD_ONION NEW:ED25519-V3 Port=80,9998",
              b"SETEVENTS STREAM")

    def test_allowed(self):
        c = self.s()
        self.assertEqual(c.command(b"GETINFO status/bootstrap-phase\r\n"),
                         BOOTSTRAP_DONE + OK)
        self.same_as_tor(c, b"GETINFO net/listeners/socks")
        self.same_as_tor(c, b"HSFETCH " + ONION)

    def test_add_onion_rewritten(self):
        c = self.s()
        sid = self.add_onion(
            c, b"ADD_ONION NEW:ED25519-V3 Port=9999,9998",
            b"ADD_ONION NEW:ED25519-V3 Port=9999,127.0.0.1:9998")
        self.assertEqual(c.command(b"DEL_ONION " + sid + b"\r\n"), OK)

    def test_events(self):
        c = self.s()
        self.setevents_ok(c, b"SETEVENTS CIRC ORCONN INFO NOTICE WARN ERR "
                             b"HS_DESC HS_DESC_CONTENT", [b"HS_DESC"])


class WhonixLnd(CompatBase):
    FILE = "whonix/40_lnd.yml"
    DENIED = (b"GETINFO version",
              b"ADD_ONION NEW:ED25519-V3 Port=9735,9736 ",
              b"ADD_ONION NEW:ED25519-V3 Port=80,9735 ",
              b"SETEVENTS STREAM")

    def test_add_onion_as_lnd_sends_it(self):
        # lnd ends the line with a space; the profile's patterns too
        c = self.s()
        for port in (b"9735", b"9911"):
            with self.subTest(port=port):
                sid = self.add_onion(
                    c, b"ADD_ONION NEW:ED25519-V3 Port=" + port + b","
                    + port + b" ",
                    b"ADD_ONION NEW:ED25519-V3 Port=" + port
                    + b",127.0.0.1:" + port)
                self.assertEqual(c.command(b"DEL_ONION " + sid + b"\r\n"),
                                 OK)

    def test_add_onion_existing_key(self):
        key = new_key()
        c = self.s()
        self.add_onion(c, b"ADD_ONION " + key + b" Port=9911,9911 ",
                       b"ADD_ONION " + key + b" Port=9911,127.0.0.1:9911")


class WhonixOnionAuthentication(CompatBase):
    FILE = "whonix/40_onion_authentication.yml"
    DENIED = (b"GETINFO version", b"ONION_CLIENT_AUTH_VIEW",
              b"ONION_CLIENT_AUTH_REMOVE " + ONION,
              b"ONION_CLIENT_AUTH_ADD " + ONION + b" x25519:k Junk=1")

    def test_onion_client_auth_add(self):
        c = self.s()
        try:
            for line in (b"ONION_CLIENT_AUTH_ADD " + ONION + b" " + X25519,
                         b"onion_client_auth_add " + ONION + b" " + X25519
                         + b" ClientName=alice"):
                with self.subTest(line=line):
                    m = env.tap.mark()
                    rep = c.command(line + b"\r\n")
                    self.assertIn(rep, (OK, b"251 Client for onion existed "
                                            b"and replaced\r\n"))
                    self.assert_tor_got(line, mark=m)
            self.assertIn(b"ClientName=alice",
                          self.ref(b"ONION_CLIENT_AUTH_VIEW\r\n"))
        finally:
            self.ref(b"ONION_CLIENT_AUTH_REMOVE " + ONION + b"\r\n")


class WhonixOnionshare(CompatBase):
    FILE = "whonix/40_onionshare.yml"
    DENIED = (b"ADD_ONION NEW:ED25519-V3 Port=80,17660",
              b"ADD_ONION NEW:ED25519-V3 Port=81,17600",
              b"SETEVENTS STREAM", b"GETCONF DisableNetwork")

    def test_allowed(self):
        c = self.s()
        self.same_as_tor(c, b"GETINFO version")
        self.same_as_tor(c, b"GETINFO onions/current", fresh=True)
        self.same_as_tor(c, b"GETCONF hiddenservicesinglehopmode")
        self.assertEqual(c.command(b"GETINFO status/bootstrap-phase\r\n"),
                         BOOTSTRAP_DONE + OK)

    def test_add_onion_rewritten(self):
        c = self.s()
        sid = self.add_onion(
            c, b"ADD_ONION NEW:ED25519-V3 Port=80,17600",
            b"ADD_ONION NEW:ED25519-V3 Port=80,127.0.0.1:17600")
        self.assertEqual(c.command(b"DEL_ONION " + sid + b"\r\n"), OK)
        auth = base64.b32encode(os.urandom(32)).rstrip(b"=")
        sid = self.add_onion(
            c, b"ADD_ONION NEW:ED25519-V3 Flags=V3Auth Port=80,17659 "
            b"ClientAuthV3=" + auth,
            b"ADD_ONION NEW:ED25519-V3 Flags=V3Auth Port=80,127.0.0.1:17659 "
            b"ClientAuthV3=" + auth)
        self.assertEqual(c.command(b"DEL_ONION " + sid + b"\r\n"), OK)

    def test_owning_controller_process(self):
        c = self.s()
        m = env.tap.mark()
        self.assertEqual(c.command(b"SETCONF __OwningControllerProcess=%d\r\n"
                                   % os.getpid()), OK)
        self.barrier(c)
        self.assert_not_forwarded(b"__OwningControllerProcess", mark=m)

    def test_events(self):
        c = self.s()
        self.setevents_ok(c, b"SETEVENTS SIGNAL CONF_CHANGED STATUS_SERVER "
                             b"HS_DESC", [b"HS_DESC"])


class WhonixRicochet(CompatBase):
    FILE = "whonix/40_ricochet.yml"
    DENIED = (b"GETINFO version", b"ADD_ONION NEW:ED25519-V3 Port=80,9878",
              b"SETEVENTS STREAM")

    def test_getinfo_three_keys_rewritten(self):
        c = self.s()
        cmd = (b"GETINFO status/circuit-established status/bootstrap-phase "
               b"net/listeners/socks\r\n")
        want = self.ref(cmd)
        self.assertIn(b"250-status/bootstrap-phase=NOTICE BOOTSTRAP "
                      b"PROGRESS=0 ", want)
        want = re.sub(rb"250-status/bootstrap-phase=[^\r]*\r\n",
                      BOOTSTRAP_DONE.replace(b"\\", b"\\\\"), want)
        self.assertEqual(c.command(cmd), want)

    def test_getconf_disablenetwork(self):
        c = self.s()
        self.same_as_tor(c, b"GETCONF DisableNetwork")

    def test_add_onion_rewritten(self):
        c = self.s()
        sid = self.add_onion(
            c, b"ADD_ONION NEW:ED25519-V3 Port=9878,0.0.0.0:9879",
            b"ADD_ONION NEW:ED25519-V3 Port=9878,127.0.0.1:9879")
        self.assertEqual(c.command(b"DEL_ONION " + sid + b"\r\n"), OK)

    def test_events(self):
        c = self.s()
        self.setevents_ok(c, b"SETEVENTS STATUS_CLIENT", [])


class WhonixWahay(CompatBase):
    FILE = "whonix/40_wahay.yml"
    DENIED = (b"ADD_ONION NEW:ED25519-V3 Port=8181,0.0.0.0:8182",
              b"SETEVENTS CIRC")

    def test_allowed(self):
        c = self.s()
        self.same_as_tor(c, b"GETINFO version")
        sid = self.add_onion(
            c, b"ADD_ONION NEW:ED25519-V3 Port=8181,0.0.0.0:8182 "
            b"Port=64738,127.0.0.1:64739",
            b"ADD_ONION NEW:ED25519-V3 Port=8181,127.0.0.1:8182 "
            b"Port=64738,127.0.0.1:64739 Flags=DiscardPK")
        self.assertEqual(c.command(b"DEL_ONION " + sid + b"\r\n"), OK)
        self.setevents_ok(c, b"SETEVENTS STREAM", [b"STREAM"])


class WhonixZeronet(CompatBase):
    FILE = "whonix/40_zeronet.yml"
    DENIED = (b"GETINFO version", b"ADD_ONION NEW:ED25519-V3 port=15442",
              b"SETEVENTS STREAM")

    def test_allowed(self):
        c = self.s()
        self.same_as_tor(c, b"GETCONF hiddenservicesinglehopmode")
        for sent, got in (
                (b"ADD_ONION NEW:ED25519-V3 Port=15441,15441",
                 b"ADD_ONION NEW:ED25519-V3 Port=15441,127.0.0.1:15441"),
                (b"ADD_ONION NEW:ED25519-V3 port=15441",
                 b"ADD_ONION NEW:ED25519-V3 port=15441,127.0.0.1:15441"),
                (b"ADD_ONION NEW:ED25519-V3 port=33750",
                 b"ADD_ONION NEW:ED25519-V3 port=33750,127.0.0.1:33750")):
            with self.subTest(sent=sent):
                sid = self.add_onion(c, sent, got)
                self.assertEqual(c.command(b"DEL_ONION " + sid + b"\r\n"),
                                 OK)


_BASES = [CompatBase]
del GateCase, CompatBase  # base classes, not tests of their own


if __name__ == "__main__":
    prog = unittest.main(verbosity=2, exit=False)
    if not prog.result.wasSuccessful():
        sys.exit(1)
    if missing:
        print("SKIP: " + "; ".join(missing), file=sys.stderr)
        sys.exit(EXIT_SKIP)
