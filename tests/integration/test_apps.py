#!/usr/bin/python3
"""Applications' own command sequences through torgate with the project's
profiles (profiles/), in front of a private offline tor.

For each application whose control-port code was read (bitcoind, lnd,
Bisq 2, Ricochet Refresh, Cwtch, Tor Browser), a test replays what that
code sends, byte for byte and in its order, authentication included
(PROTOCOLINFO, AUTHENTICATE as the application words it, or AUTHCHALLENGE
SAFECOOKIE with the HMAC computed from torgate's answer), checks every
reply the application parses (bitcoind's and lnd's ServiceID and
PrivateKey, lnd's onions/current, ...) and what tor received, and that a
command outside the profile gets 510 and never reaches tor.

onioncircuits (Debian package onioncircuits, GTK) runs for real under
Xvfb; a screenshot of its window is taken and torgate's debug log must
show that it connected, authenticated and read the circuits.

A test whose program is missing is skipped (a failure under CI=true).
Every wait is bounded.
"""

import base64
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import itkit  # noqa: E402
from harness import Client, Listener, wait_until  # noqa: E402
from itkit import FILTERED, OK, GateCase  # noqa: E402

_top = os.environ.get("TOP_SRCDIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")
PROFILE_DIR = os.path.join(_top, "profiles")

# (listener name, address, profile)
LISTENERS = [
    ("bitcoind", ("127.0.0.1", 0), "bitcoind"),
    ("lnd", ("127.0.0.1", 0), "lnd"),
    ("bisq2", ("127.0.0.1", 0), "bisq2"),
    ("ricochet", ("127.0.0.1", 0), "ricochet-refresh"),
    ("cwtch", ("127.0.0.1", 0), "cwtch"),
    ("tor-browser", ("127.0.0.1", 0), "tor-browser"),
    ("onioncircuits", "onioncircuits.sock", "onioncircuits"),
]

env = None
tg = None
L = {}   # listener name -> harness.Listener (with its real address)


def setUpModule():
    global env, tg
    itkit.require_binaries()
    if not os.path.isdir(PROFILE_DIR):
        itkit.missing("no profiles directory at %s" % PROFILE_DIR)
    env = itkit.Env(tap=True)
    try:
        tg = env.torgate([PROFILE_DIR], [
            Listener(env.sock(addr) if isinstance(addr, str) else addr,
                     profile=prof) for _, addr, prof in LISTENERS])
    except BaseException:
        env.close()
        raise
    for (name, _, _), lst in zip(LISTENERS, tg.listeners):
        L[name] = lst


def tearDownModule():
    if env is not None:
        if tg is not None:
            wait_sessions_closed(tg)
        env.close()


SESSION_RE = re.compile(r"^torgate: info: session (\d+): client .* on (\S+), "
                        r"profile (\S+)$", re.M)
CLOSED_RE = re.compile(r"^torgate: info: session (\d+): closed \(", re.M)


def wait_sessions_closed(t, timeout=10):
    """Wait (bounded) until every client session of torgate t has closed
    (stopping torgate with one open makes LeakSanitizer report it)."""
    def closed():
        log = t.log_text()
        return len(SESSION_RE.findall(log)) <= len(CLOSED_RE.findall(log))
    try:
        wait_until(closed, timeout, interval=0.05, what="sessions to close")
    except TimeoutError:
        pass


ONION = rb"[a-z2-7]{56}"
KEY = rb"ED25519-V3:[A-Za-z0-9+/]{86}=="
NEW_SERVICE_RE = re.compile(rb"^250-ServiceID=(" + ONION + rb")\r\n"
                            rb"250-PrivateKey=(" + KEY + rb")\r\n"
                            rb"250 OK\r\n$")
SAVED_SERVICE_RE = re.compile(rb"^250-ServiceID=(" + ONION + rb")\r\n"
                              rb"250 OK\r\n$")
PROTOCOLINFO_RE = re.compile(rb"^250-PROTOCOLINFO 1\r\n"
                             rb"250-AUTH METHODS=NULL\r\n"
                             rb"250-VERSION Tor=\"[^\"]+\"\r\n250 OK\r\n$")


def new_service():
    """(service ID, private key) of a fresh ED25519-V3 service made on a
    direct connection to tor and removed again: the key an application
    saved from an earlier run."""
    with env.tor.direct() as d:
        rep = d.command(b"ADD_ONION NEW:ED25519-V3 Port=80,1\r\n")
        m = NEW_SERVICE_RE.match(rep)
        assert m, rep
        assert d.command(b"DEL_ONION " + m.group(1) + b"\r\n") == OK
    return m.groups()


def x25519_key():
    """A client authorization key as Tor Browser sends it (base64 of 32
    bytes)."""
    return base64.b64encode(os.urandom(32))


class AppCase(GateCase):
    """A replay of one application's session: send exactly the bytes its
    code sends, one command at a time as it does, and check the replies it
    parses."""

    @classmethod
    def setUpClass(cls):
        cls.env = env
        cls.tg = tg

    def app(self, name):
        """A raw connection to the listener of application name."""
        return self.connect(L[name].addr)

    def send(self, c, line):
        """One command line (bytes without CRLF) as the application writes
        it; return tor's (or torgate's) whole reply."""
        return c.command(line + b"\r\n")

    def protocolinfo(self, c, line=b"PROTOCOLINFO 1"):
        rep = self.send(c, line)
        self.assertRegex(rep, PROTOCOLINFO_RE)
        return rep

    def denied(self, c, line, *needles):
        """line is outside the profile: 510, and nothing of it reaches
        tor."""
        self.assert_denied(c, line, *needles)

    def wait_tor_forgets(self, key_line, c, timeout=10):
        """Re-adding a service whose connection just closed can race tor's
        cleanup of it (550 collision): retry, bounded, on connection c."""
        deadline = time.monotonic() + timeout
        while True:
            rep = self.send(c, key_line)
            if not rep.startswith(b"550") or time.monotonic() > deadline:
                return rep
            time.sleep(0.1)


# ---------------------------------------------------------------------------


class ShippedProfilesTest(unittest.TestCase):

    # the profiles test_clients.py runs its real clients through
    IN_TEST_CLIENTS = {"nyx", "onionshare", "stem-example"}

    def test_check_clean_and_each_tested(self):
        rc, out = itkit.run_check([PROFILE_DIR])
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"\b0 errors, 0 warnings\b", out)
        shipped = {f[:-4] for f in os.listdir(PROFILE_DIR)
                   if f.endswith(".yml")}
        tested = {prof for _, _, prof in LISTENERS} | self.IN_TEST_CLIENTS
        self.assertEqual(shipped - tested, set(),
                         "a shipped profile without its replay test")


# ---------------------------------------------------------------------------
# bitcoind


class BitcoindTest(AppCase):

    def session(self):
        """torcontrol.cpp's connected_cb, protocolinfo_cb and auth_cb."""
        c = self.app("bitcoind")
        self.protocolinfo(c)
        self.assertEqual(self.send(c, b"AUTHENTICATE"), OK)
        # get_socks_cb reads net/listeners/socks=... (empty: SocksPort 0)
        self.assertRegex(self.send(c, b"GETINFO net/listeners/socks"),
                         rb"^250-net/listeners/socks=[^\r\n]*\r\n250 OK\r\n$")
        return c

    def test_new_then_saved_key(self):
        c = self.session()
        line = b"ADD_ONION NEW:ED25519-V3 Port=8333,127.0.0.1:8334"
        m = NEW_SERVICE_RE.match(self.send(c, line))
        self.assertIsNotNone(m, "bitcoind parses ServiceID and PrivateKey")
        sid, key = m.groups()
        self.assert_tor_got(line)   # 127.0.0.1 is the client's address
        self.denied(c, b"GETINFO address")
        self.denied(c, b"ADD_ONION NEW:ED25519-V3 Port=8333,127.0.0.1:8334 "
                    b"Flags=Detach", b"Flags=Detach")
        self.denied(c, b"ADD_ONION NEW:ED25519-V3 Port=80,127.0.0.1:8334",
                    b"Port=80,")
        self.denied(c, b"DEL_ONION " + sid)
        c.close()
        # the next start: the saved key from onion_v3_private_key
        c2 = self.session()
        rep = self.wait_tor_forgets(
            b"ADD_ONION " + key + b" Port=8333,127.0.0.1:8334", c2)
        m2 = SAVED_SERVICE_RE.match(rep)
        self.assertIsNotNone(m2, rep)
        self.assertEqual(m2.group(1), sid)

    def test_other_networks(self):
        c = self.session()
        for virt, target in ((b"18333", b"18334"), (b"48333", b"48334"),
                             (b"38333", b"38334"), (b"18444", b"18445")):
            line = (b"ADD_ONION NEW:ED25519-V3 Port=" + virt +
                    b",127.0.0.1:" + target)
            self.assertRegex(self.send(c, line), NEW_SERVICE_RE)


# ---------------------------------------------------------------------------
# lnd


class LndTest(AppCase):

    def session(self):
        """controller.go's Start: PROTOCOLINFO, then NULL authentication."""
        c = self.app("lnd")
        self.protocolinfo(c)
        self.assertEqual(self.send(c, b"AUTHENTICATE"), OK)
        return c

    def test_p2p_and_watchtower(self):
        c = self.session()
        # prepareAddOnion leaves a space after the last Port= item
        line = b"ADD_ONION NEW:ED25519-V3 Port=9735,9735 "
        m = NEW_SERVICE_RE.match(self.send(c, line))
        self.assertIsNotNone(m, "lnd needs ServiceID and PrivateKey")
        sid, key = m.groups()
        self.assert_tor_got(b"ADD_ONION NEW:ED25519-V3 "
                            b"Port=9735,127.0.0.1:9735")
        # CheckOnionService: its service is among onions/current
        rep = self.send(c, b"GETINFO onions/current")
        self.assertRegex(rep, rb"^250-onions/current=" + sid +
                         rb"\r\n250 OK\r\n$")
        # the watchtower, with tor.targetipaddress
        wt = self.send(c, b"ADD_ONION NEW:ED25519-V3 "
                       b"Port=9911,127.0.0.1:9911 ")
        m2 = NEW_SERVICE_RE.match(wt)
        self.assertIsNotNone(m2, wt)
        rep = self.send(c, b"GETINFO onions/current")
        self.assertIn(sid, rep)
        self.assertIn(m2.group(1), rep)
        self.denied(c, b"GETINFO onions/detached")
        self.denied(c, b"ADD_ONION NEW:ED25519-V3 Flags=Detach "
                    b"Port=9735,9735", b"Flags=Detach")
        self.denied(c, b"ADD_ONION NEW:ED25519-V3 Port=9735,9735 "
                    b"Port=22,22", b"Port=22")
        # Stop: DEL_ONION of each
        self.assertEqual(self.send(c, b"DEL_ONION " + m2.group(1)), OK)
        self.assertEqual(self.send(c, b"DEL_ONION " + sid), OK)
        self.assertEqual(self.send(c, b"GETINFO onions/current"),
                         b"250-onions/current=\r\n250 OK\r\n")
        # the next start, with the saved key
        rep = self.send(c, b"ADD_ONION " + key + b" Port=9735,9735 ")
        m3 = SAVED_SERVICE_RE.match(rep)
        self.assertIsNotNone(m3, rep)
        self.assertEqual(m3.group(1), sid)


# ---------------------------------------------------------------------------
# Bisq 2


class Bisq2Test(AppCase):

    def test_external_tor_session(self):
        sid, key = new_service()
        c = self.app("bisq2")
        # TorController.authenticate(): AUTHENTICATE + the empty hex string
        self.assertEqual(self.send(c, b"AUTHENTICATE "), OK)
        self.assertRegex(self.send(c, b"GETINFO net/listeners/socks"),
                         rb"^250-net/listeners/socks=")
        # PublishOnionAddressService: HS_DESC, ADD_ONION, then no events
        self.assertEqual(self.send(c, b"SETEVENTS HS_DESC"), OK)
        self.assert_tor_got(b"SETEVENTS HS_DESC")
        m = SAVED_SERVICE_RE.match(self.send(
            c, b"ADD_ONION " + key + b" Port=41234,40123"))
        self.assertIsNotNone(m)
        self.assertEqual(m.group(1), sid)
        self.assert_tor_got(b"ADD_ONION " + key +
                            b" Port=41234,127.0.0.1:40123")
        self.assertEqual(self.send(c, b"SETEVENTS"), OK)
        # OnionServiceOnlineStateService: is a peer online?
        self.assertEqual(self.send(c, b"SETEVENTS HS_DESC"), OK)
        self.assertNotEqual(self.send(c, b"HSFETCH " + sid), FILTERED)
        self.assert_tor_got(b"HSFETCH " + sid)
        self.denied(c, b"ADD_ONION NEW:ED25519-V3 Port=41234,40123",
                    b"NEW:ED25519-V3")
        self.denied(c, b"HSFETCH " + sid + b" SERVER=" + b"A" * 40,
                    b"SERVER=")
        self.denied(c, b"DEL_ONION " + sid)
        self.denied(c, b"SETCONF DisableNetwork=0", b"DisableNetwork")
        self.denied(c, b"SETEVENTS HS_DESC CIRC", b"CIRC")


# ---------------------------------------------------------------------------
# Ricochet Refresh


class RicochetTest(AppCase):

    def test_start_and_publish(self):
        c = self.app("ricochet")
        # socketConnected: AUTHENTICATE with the hex of its password
        self.assertEqual(self.send(c, b"AUTHENTICATE " +
                                   os.urandom(16).hex().encode()), OK)
        # takeOwnership(): answered by torgate, never forwarded
        self.assertEqual(self.send(c, b"TAKEOWNERSHIP"), OK)
        self.assertEqual(self.send(
            c, b"RESETCONF __OwningControllerProcess"), OK)
        # authenticateReply: two registerEvent calls, then tor's state
        self.assertEqual(self.send(c, b"SETEVENTS STATUS_CLIENT"), OK)
        self.assertEqual(self.send(c, b"SETEVENTS HS_DESC STATUS_CLIENT"), OK)
        self.assert_tor_got(b"SETEVENTS HS_DESC STATUS_CLIENT")
        rep = self.send(c, b"GETINFO status/circuit-established "
                        b"status/bootstrap-phase version")
        self.assertRegex(rep, rb"^250-status/circuit-established=[01]\r\n"
                         rb"250-status/bootstrap-phase=[^\r\n]+\r\n"
                         rb"250-version=" +
                         re.escape(env.tor.version.encode()) +
                         rb"[^\r\n]*\r\n250 OK\r\n$")
        # beginBootstrap(): refused, Ricochet logs it and goes on
        self.denied(c, b'RESETCONF DisableNetwork="0"', b"DisableNetwork")
        self.assertRegex(self.send(c, b"GETINFO net/listeners/socks"),
                         rb"^250-net/listeners/socks=")
        # publishService(): a new identity, then the saved one
        m = NEW_SERVICE_RE.match(self.send(
            c, b"ADD_ONION NEW:ED25519-V3 Port=9878,127.0.0.1:43211"))
        self.assertIsNotNone(m, "Ricochet reads PrivateKey=")
        self.assert_tor_got(b"ADD_ONION NEW:ED25519-V3 "
                            b"Port=9878,127.0.0.1:43211")
        sid, key = new_service()
        m2 = SAVED_SERVICE_RE.match(self.send(
            c, b"ADD_ONION " + key + b" Port=9878,127.0.0.1:43212"))
        self.assertIsNotNone(m2)
        self.assertEqual(m2.group(1), sid)
        self.denied(c, b"ADD_ONION NEW:ED25519-V3 Port=9878,10.0.0.1:43211",
                    b"10.0.0.1")
        self.denied(c, b"SETCONF DisableNetwork=0", b"DisableNetwork")
        # shutdown(): it believes it owns tor
        self.denied(c, b"SIGNAL SHUTDOWN")
        self.assertNotIn(b"TAKEOWNERSHIP", self.sent_to_tor())
        self.assertNotIn(b"__OwningControllerProcess", self.sent_to_tor())


# ---------------------------------------------------------------------------
# Cwtch


class CwtchTest(AppCase):

    def test_profile_service(self):
        sid, key = new_service()
        c = self.app("cwtch")
        # bine's Authenticate: PROTOCOLINFO without a version, then NULL
        self.protocolinfo(c, b"PROTOCOLINFO")
        self.assertEqual(self.send(c, b"AUTHENTICATE"), OK)
        m = self.env.tap.mark()
        self.assertEqual(self.send(c, b"SETEVENTS CIRC WARN ERR"), OK)
        self.assertEqual(self.send(c, b"SETEVENTS CIRC ORCONN INFO NOTICE "
                                   b"WARN ERR HS_DESC HS_DESC_CONTENT"), OK)
        # only HS_DESC reaches tor: the rest is suppressed
        self.assert_tor_got(b"SETEVENTS HS_DESC", mark=m)
        self.assert_not_forwarded(b"CIRC", b"ORCONN", b"NOTICE",
                                  b"HS_DESC_CONTENT", mark=m)
        self.assertEqual(self.send(c, b"GETINFO network-liveness"),
                         self.ref(b"GETINFO network-liveness\r\n"))
        self.assertRegex(self.send(c, b"GETINFO status/bootstrap-phase"),
                         rb"^250-status/bootstrap-phase=")
        self.assertEqual(self.send(c, b"GETCONF DisableNetwork"),
                         b"250 DisableNetwork=1\r\n")
        line = (b"ADD_ONION " + key + b" Flags=DiscardPK,Detach "
                b"Port=9878,[::]:15000")
        mm = SAVED_SERVICE_RE.match(self.send(c, line))
        self.assertIsNotNone(mm)
        self.assertEqual(mm.group(1), sid)
        self.assert_tor_got(b"ADD_ONION " + key + b" Flags=DiscardPK,Detach "
                            b"Port=9878,127.0.0.1:15000")
        self.assertNotEqual(self.send(c, b"HSFETCH " + sid), FILTERED)
        self.denied(c, b"ADD_ONION NEW:ED25519-V3 Flags=DiscardPK,Detach "
                    b"Port=9878,[::]:15000", b"NEW:ED25519-V3")
        self.denied(c, line[:-5] + b"15379", b":15379")
        self.denied(c, b"GETINFO address")
        # the detached service is removed by Cwtch, its owner
        self.assertEqual(self.send(c, b"DEL_ONION " + sid), OK)


# ---------------------------------------------------------------------------
# Tor Browser


class TorBrowserTest(AppCase):

    def test_system_tor_session(self):
        c = self.app("tor-browser")
        # TOR_CONTROL_COOKIE_AUTH_FILE: the cookie's bytes, in hex, lower
        # case command
        self.assertEqual(self.send(c, b"authenticate " +
                                   env.tor.cookie().hex().encode()), OK)
        self.assertEqual(self.send(c, b"SETEVENTS CIRC STREAM"), OK)
        self.assert_tor_got(b"SETEVENTS CIRC STREAM")
        # restrict-stream-events: no circuit of others (none offline)
        self.assertRegex(self.send(c, b"GETINFO circuit-status"),
                         rb"^250[-+]circuit-status=")
        # getNodeInfo: bridges, the relay's address, its country
        self.assertEqual(self.send(c, b"GETCONF BRIDGE"),
                         self.ref(b"GETCONF BRIDGE\r\n"))
        fp = b"A" * 40
        self.assertEqual(self.send(c, b"GETINFO ns/id/" + fp),
                         self.ref(b"GETINFO ns/id/" + fp + b"\r\n"))
        self.assertEqual(self.send(c, b"GETINFO ip-to-country/8.8.8.8"),
                         self.ref(b"GETINFO ip-to-country/8.8.8.8\r\n"))
        # New Identity
        self.assertEqual(self.send(c, b"SIGNAL NEWNYM"), OK)
        # a key for an onion service with client authorization
        sid, _ = new_service()
        rep = self.send(c, b"onion_client_auth_add " + sid + b" x25519:" +
                        x25519_key())
        self.assertRegex(rep, rb"^25[0-2] ")
        self.denied(c, b"onion_client_auth_view")
        self.denied(c, b"onion_client_auth_remove " + sid)
        self.denied(c, b"GETCONF ClientTransportPlugin",
                    b"ClientTransportPlugin")
        self.denied(c, b"SETCONF DisableNetwork=0", b"DisableNetwork")
        self.denied(c, b"SIGNAL RELOAD")
        self.denied(c, b"GETINFO stream-status")


# ---------------------------------------------------------------------------
# onioncircuits, the real program under Xvfb


class OnioncircuitsTest(AppCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for prog in ("onioncircuits", "Xvfb", "xwd"):
            if shutil.which(prog) is None:
                itkit.missing("%s not installed (packages onioncircuits, "
                              "xvfb, x11-apps)" % prog)

    def start_xvfb(self):
        """An X server of our own; returns its display name."""
        r, w = os.pipe()
        x = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0",
                              "1024x768x24", "-nolisten", "tcp"],
                             pass_fds=(w,), stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        os.close(w)
        self.addCleanup(stop_process, x)
        with os.fdopen(r) as f:
            num = f.readline().strip()
        if not num.isdigit():
            self.fail("Xvfb did not start")
        return ":" + num

    def session_lines(self):
        """torgate's lines of the onioncircuits listener's sessions."""
        log = tg.log_text()
        on = "unix:" + L["onioncircuits"].addr
        sids = {s for s, where, _ in SESSION_RE.findall(log) if where == on}
        out = []
        for line in log.splitlines():
            m = re.match(r"^torgate: \w+: session (\d+): (.*)$", line)
            if m and m.group(1) in sids:
                out.append(m.group(2))
        return out

    def test_runs_and_reads_circuits(self):
        display = self.start_xvfb()
        home = env.tempdir("tgt-home-")
        out = os.path.join(home, "onioncircuits.out")
        e = dict(os.environ, HOME=home, DISPLAY=display, LANG="C.UTF-8",
                 TOR_CONTROL_SOCKET=L["onioncircuits"].addr,
                 NO_AT_BRIDGE="1", XDG_RUNTIME_DIR=home)
        with open(out, "wb") as o:
            p = subprocess.Popen(["onioncircuits"], env=e, cwd=home,
                                 stdin=subprocess.DEVNULL, stdout=o,
                                 stderr=subprocess.STDOUT)
        self.addCleanup(stop_process, p)

        def drawn():
            sent = [l[3:] for l in self.session_lines()
                    if l.startswith("C> ")]
            return p.poll() is not None or (
                "GETINFO circuit-status" in sent and
                "GETINFO stream-status" in sent)
        try:
            wait_until(drawn, 30, interval=0.1, what="onioncircuits' lists")
        except TimeoutError:
            pass
        lines = self.session_lines()
        diag = "\ntorgate:\n%s\nonioncircuits:\n%s" % (
            "\n".join(lines)[-4000:], read(out)[-3000:])
        self.assertIsNone(p.poll(), "onioncircuits exited" + diag)
        sent = [l[3:] for l in lines if l.startswith("C> ")]
        self.assertIn("PROTOCOLINFO 1", sent, diag)
        self.assertTrue(any(l.startswith("AUTHENTICATE") for l in sent), diag)
        self.assertIn("GETINFO circuit-status", sent, diag)
        self.assertIn("GETINFO stream-status", sent, diag)
        self.assertFalse([l for l in lines if " denied " in l], diag)
        self.assert_tor_got(b"GETINFO circuit-status")
        self.assertTrue(any(l.startswith(b"SETEVENTS") and b"CIRC" in l and
                            b"STREAM" in l for l in self.tor_lines()), diag)
        # a screenshot: the window must have been drawn (more than a
        # blank screen; bounded wait for GTK to paint), kept as PNG in
        # TGT_SCREENSHOT_DIR when that is set
        shot = os.path.join(home, "onioncircuits.xwd")

        def painted():
            subprocess.run(["xwd", "-root", "-silent", "-display", display,
                            "-out", shot], check=True, timeout=20,
                           stdin=subprocess.DEVNULL)
            return len(set(xwd_rgb(shot)[2])) > 8
        wait_until(painted, 20, interval=0.2, what="a painted window")
        keep = os.environ.get("TGT_SCREENSHOT_DIR")
        if keep:
            write_png(xwd_rgb(shot), os.path.join(keep, "onioncircuits.png"))
        stop_process(p)


def xwd_rgb(path):
    """(width, height, pixels) of a ZPixmap XWD file with 4 bytes a pixel,
    least significant first (what xwd writes of an Xvfb screen of depth
    24), pixels as (r, g, b) tuples."""
    with open(path, "rb") as f:
        d = f.read()
    h = struct.unpack(">25I", d[:100])
    size, w, ht, order, bpl, ncolors = h[0], h[4], h[5], h[7], h[12], h[19]
    if bpl != 4 * w or order != 0:
        raise AssertionError("unexpected XWD layout (%d bytes a line, "
                             "byte order %d)" % (bpl, order))
    px = d[size + ncolors * 12:]
    out = []
    for y in range(ht):
        row = px[y * bpl:y * bpl + w * 4]
        out += [(row[i + 2], row[i + 1], row[i]) for i in range(0, w * 4, 4)]
    return w, ht, out


def write_png(img, path):
    w, ht, px = img

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data)))
    raw = b"".join(b"\0" + bytes(v for p in px[y * w:(y + 1) * w] for v in p)
                   for y in range(ht))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" +
                chunk(b"IHDR", struct.pack(">IIBBBBB", w, ht, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def stop_process(p, timeout=5):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout)


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


if __name__ == "__main__":
    itkit.main()
