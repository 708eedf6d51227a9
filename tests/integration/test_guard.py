"""The guard end to end: no onion service may forward to tor's control
listeners or torgate's own, whatever spelling reaches tor.

A private tor with a unix and a TCP control port; torgate in front of it
with Whonix's real bisq profile (its replacement splices the client's text
after {client-address}:), a permissive profile of our own (ADD_ONION,
SETCONF, LOADCONF with any arguments, HiddenServiceDir listed under confs)
and one that lets clients choose unix targets. First, on a direct
connection, tor 0.4.9 itself shows which port spellings it takes (it
creates the service); then each of them, and every torrc and path trick,
is sent through torgate and must be refused, and the Tap must show that
no such command ever reached tor.
"""

import os
import re
import shutil
import socket
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import itkit  # noqa: E402
from harness import Client, Listener  # noqa: E402
from itkit import FILTERED, GateCase  # noqa: E402

_top = os.environ.get("TOP_SRCDIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")
COMPAT_DIR = (os.environ.get("TORGATE_COMPAT_PROFILES")
              or os.path.join(_top, "..", "shared", "compat-profiles"))
BISQ = os.path.join(COMPAT_DIR, "whonix", "40_bisq.yml")

env = None
G = {}


def setUpModule():
    global env
    if not os.path.exists(BISQ):
        itkit.missing("no compat profiles at %s (TORGATE_COMPAT_PROFILES "
                      "says where)" % COMPAT_DIR)
    itkit.require_binaries()
    env = itkit.Env(tcp_control=True, tap=True)
    try:
        bisq_dir = env.tempdir("tgt-bisq-")
        shutil.copy(BISQ, bisq_dir)
        p = env.profiles()
        p.add("open", {"ADD_ONION": [".*"], "SETCONF": [".*"],
                       "RESETCONF": [".*"], "LOADCONF": ["(?s).*"]},
              extra="  confs:\n    HiddenServiceDir: ['.*', '']\n")
        p.add("unixok", {"ADD_ONION": [".*"]},
              extra="  client-unix-targets: true\n")
        # May open control listeners (a profile's confs may say so).
        p.add("ctl", {"ADD_ONION": [".*"], "SETCONF": [".*"]},
              extra="  confs:\n    ControlPort: ['.*']\n")
        # An application's own socket, a legitimate unix target.
        G["appdir"] = env.tempdir("tgt-app-")
        G["app"] = os.path.join(G["appdir"], "app.sock")
        G["appsock"] = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        G["appsock"].bind(G["app"])
        G["appsock"].listen(1)
        ls = [Listener(("127.0.0.1", 0), profile="40_bisq"),
              Listener(env.sock("open.sock"), profile="open"),
              Listener(env.sock("unixok.sock"), profile="unixok"),
              Listener(env.sock("ctl.sock"), profile="ctl")]
        tg = env.torgate([bisq_dir, p.dir], ls)
        G["bisq"], G["open"], G["unixok"], G["ctl"] = [
            lst.addr for lst in tg.listeners]
        G["tg"] = tg
    except BaseException:
        env.close()
        raise


def tearDownModule():
    if env is not None:
        if "appsock" in G:
            G["appsock"].close()
        env.close()


def port_forms(port, blanks=True):
    """Spellings of port that tor_parse_long (strtol, base 10) reads as
    port. A form feed is whitespace to strtol, but ADD_ONION refuses any
    value with whitespace in it (kvline_can_encode_lines): blanks=False
    leaves those out."""
    p = b"%d" % port
    out = [p, b"+" + p, b"0" + p, b"000" + p]
    return out + ([b"\f" + p, b"\f+0" + p] if blanks else [])


class Case(GateCase):

    @classmethod
    def setUpClass(cls):
        cls.env = env
        cls.tg = G["tg"]

    def s(self, name):
        return self.session(G[name])

    def tor_port(self):
        return env.tor.tcp_addr[1]

    def denied(self, c, line):
        """line is filtered and nothing of it reaches tor."""
        m = env.tap.mark()
        self.assertEqual(c.command(line + b"\r\n"), FILTERED,
                         "%r was not filtered" % line)
        self.barrier(c)
        sent = self.sent_to_tor(m)
        for kw in (b"ADD_ONION", b"SETCONF", b"LOADCONF", b"RESETCONF"):
            self.assertNotIn(kw, sent, "tor received %r" % sent)

    def denied_body(self, c, body):
        m = env.tap.mark()
        self.assertEqual(c.command(b"+LOADCONF\r\n" + body + b".\r\n"),
                         FILTERED, "LOADCONF %r was not filtered" % body)
        self.barrier(c)
        self.assertNotIn(b"LOADCONF", self.sent_to_tor(m))

    def add_direct(self, port_arg):
        """ADD_ONION on a direct connection: tor's verdict on the form."""
        with env.tor.direct() as d:
            rep = d.command(b"ADD_ONION NEW:ED25519-V3 Flags=DiscardPK "
                            b"Port=" + port_arg + b"\r\n")
        return rep


class TorReadsTheseForms(Case):
    """What tor 0.4.9 really accepts: each form creates a service (on a
    direct connection, which closes and takes the service with it)."""

    def test_port_forms_accepted_by_tor(self):
        port = self.tor_port()
        for f in port_forms(port, blanks=False):
            for arg in (b"80," + f, b"80,127.0.0.1:" + f,
                        b"80,localhost:" + f, b"80," + f + b"#x", f,
                        b"," + f):
                with self.subTest(arg=arg):
                    self.assertTrue(self.add_direct(arg).startswith(
                        b"250-ServiceID="), arg)

    def test_forms_tor_refuses(self):
        port = self.tor_port()
        for arg in (b"80,0x%x" % port, b"80,-%d" % port, b"80,%dx" % port,
                    b"80,UNIX:/x", b"80,\f%d" % port):
            with self.subTest(arg=arg):
                self.assertTrue(self.add_direct(arg).startswith(b"512"),
                                arg)


class AddOnion(Case):

    def test_bisq_splices_port_forms(self):
        """bisq rewrites the target to {client-address}:CLIENT_TEXT."""
        c = self.s("bisq")
        for p in (self.tor_port(), G["tg"].listeners[0].addr[1]):
            for f in port_forms(p):
                for t in (f, f + b"#x", f + b" "):
                    with self.subTest(target=t):
                        self.denied(c, b"ADD_ONION NEW:ED25519-V3 Port=80,"
                                    + t)

    def test_bisq_still_works(self):
        c = self.s("bisq")
        m = env.tap.mark()
        rep = c.command(b"ADD_ONION NEW:ED25519-V3 Port=80,8080\r\n")
        self.assertTrue(rep.startswith(b"250-ServiceID="), rep)
        self.assert_tor_got(b"ADD_ONION NEW:ED25519-V3 Port=80,"
                            b"127.0.0.1:8080", mark=m)

    def test_open_profile_port_and_address_forms(self):
        c = self.s("open")
        port = self.tor_port()
        for f in port_forms(port):
            for t in (b"Port=80," + f, b"Port=" + f, b"Port=," + f,
                      b"Port=80,127.0.0.1:" + f, b"Port=80,127.1:" + f,
                      b"Port=80,localhost:" + f,
                      b"Port=80,[::ffff:127.0.0.1]:" + f,
                      b"Port=80,0x7f000001:" + f,
                      b"Port=80,2130706433:" + f):
                with self.subTest(target=t):
                    self.denied(c, b"ADD_ONION NEW:ED25519-V3 " + t)

    def test_open_profile_ordinary_target(self):
        c = self.s("open")
        rep = c.command(b"ADD_ONION NEW:ED25519-V3 Port=80,+8080\r\n")
        self.assertTrue(rep.startswith(b"250-ServiceID="), rep)


class UnixTargets(Case):

    def paths(self):
        ctl = env.tor.control_path
        d = env.tempdir("tgt-paths-")
        sub = os.path.join(d, "sub")
        os.mkdir(sub)
        link = os.path.join(d, "link")
        os.symlink(ctl, link)
        hard = os.path.join(d, "hard")
        try:
            os.link(ctl, hard)
        except OSError:
            hard = None
        dotdot = os.path.join(sub, "..", os.path.relpath(ctl, d))
        out = [ctl, os.path.dirname(ctl) + "//./" + os.path.basename(ctl),
               dotdot, link, G["open"],
               os.path.relpath(ctl, "/"),         # relative
               os.path.join(d, "missing")]
        if hard:
            out.append(hard)
        return [p.encode() for p in out]

    def test_client_unix_targets_resolved(self):
        c = self.s("unixok")
        for p in self.paths():
            for t in (b"unix:" + p, b'unix:"' + p + b'"',
                      b"unix:" + p + b"#c"):
                with self.subTest(target=t):
                    self.denied(c, b"ADD_ONION NEW:ED25519-V3 Port=80," + t)

    def test_client_unix_target_allowed_with_opt_in(self):
        c = self.s("unixok")
        rep = c.command(b"ADD_ONION NEW:ED25519-V3 Port=80,unix:"
                        + G["app"].encode() + b"\r\n")
        self.assertTrue(rep.startswith(b"250-ServiceID="), rep)

    def test_without_opt_in_no_client_unix_target(self):
        c = self.s("open")
        self.denied(c, b"ADD_ONION NEW:ED25519-V3 Port=80,unix:"
                    + G["app"].encode())

    def test_bisq_splice_into_unix_path(self):
        """bisq: (\\S+) Port=(\\S+),(\\S+) -> {} Port={},ADDR:{} lets the
        client's second group carry "80,unix:PATH" and the third become
        ",127.0.0.1:1" at the end of the path; a symlink by that name
        leads to tor's control socket."""
        d = env.tempdir("tgt-splice-")
        evil = os.path.join(d, "evil")
        os.symlink(env.tor.control_path, evil + ",127.0.0.1:1")
        c = self.s("bisq")
        self.denied(c, b"ADD_ONION NEW:ED25519-V3 Port=80,unix:"
                    + evil.encode() + b",1")


class Setconf(Case):

    def tearDown(self):
        with env.tor.direct() as d:
            conf = d.command(b"GETCONF HiddenServicePort\r\n")
            d.command(b"RESETCONF HiddenServiceDir HiddenServicePort\r\n")
        super().tearDown()
        port = b"%d" % self.tor_port()
        self.assertNotIn(port, conf)

    def test_hidden_service_port_forms(self):
        c = self.s("open")
        hsdir = os.path.join(env.tempdir("tgt-hs-"), "hs").encode()
        port = self.tor_port()
        for f in port_forms(port):
            for v in (b'"80 ' + f + b'"', b'"80 127.0.0.1:' + f + b'"',
                      b'"80 ' + f + b' # c"', b'"' + f + b'"'):
                for key in (b"HiddenServicePort", b"hiddenserviceport",
                            b"HiddenServiceP"):
                    line = (b"SETCONF HiddenServiceDir=" + hsdir + b" "
                            + key + b"=" + v)
                    with self.subTest(line=line):
                        self.denied(c, line)

    def test_listener_options_need_confs(self):
        c = self.s("open")
        for line in (b"SETCONF ControlPort=127.0.0.1:0",
                     b"SETCONF __ControlPort=127.0.0.1:0",
                     b"SETCONF controlp=127.0.0.1:0",
                     b"SETCONF CookieAuthentication=0",
                     b"SETCONF SocksPort=0.0.0.0:0",
                     b"RESETCONF ControlPort"):
            with self.subTest(line=line):
                self.denied(c, line)


class Loadconf(Case):

    def bodies(self):
        port = b"%d" % self.tor_port()
        hs = b"HiddenServiceDir " + os.path.join(
            env.tempdir("tgt-lc-"), "hs").encode() + b"\r\n"
        out = []
        for f in port_forms(self.tor_port()):
            out += [hs + b"HiddenServicePort 80 " + f + b"\r\n",
                    hs + b"HiddenServicePort 80 127.0.0.1:" + f + b"\r\n"]
        out += [
            hs + b".HiddenServicePort 80 " + port + b"\r\n",
            hs + b"hiddenserviceport 80 " + port + b"\r\n",
            hs + b"HiddenServicePort \"80 " + port + b"\"\r\n",
            hs + b"HiddenServicePort 80 \\\r\n" + port + b"\r\n",
            hs + b"HiddenServicePort 80 \\\r\n# c\r\n" + port + b"\r\n",
            hs + b"HiddenServicePort\\\r\n 80 " + port + b"\r\n",
            hs + b"HiddenServicePort 80 " + port + b"#c\r\n",
            hs + b"+HiddenServicePort 80 " + port + b"\r\n",
            hs + b"HiddenServicePor 80 " + port + b"\r\n",
            hs + b"%include /etc/tor/torrc\r\n",
            b"ControlPort 127.0.0.1:0\r\n",
            b"HiddenServicePort \"80 8080\r\n",
        ]
        return out

    def test_tricks_denied(self):
        c = self.s("open")
        for body in self.bodies():
            with self.subTest(body=body):
                self.denied_body(c, body)
        with env.tor.direct() as d:
            self.assertEqual(d.command(b"GETCONF HiddenServicePort\r\n"),
                             b"250 HiddenServicePort\r\n")

    def test_left_out_options_are_reset(self):
        """LOADCONF replaces the whole configuration: tor resets what the
        body leaves out (the defaults file is not read again), so an
        innocent body drops CookieAuthentication and leaves a control
        port from tor's command line open to anyone. The open profile
        may not reset the guarded options, so such a body is denied."""
        c = self.s("open")
        for body in (b"SafeLogging 1\r\n", b"DisableNetwork 1\r\n",
                     b"CookieAuthentication 1\r\n", b""):
            with self.subTest(body=body):
                self.denied_body(c, body)
        with env.tor.direct() as d:
            self.assertEqual(d.command(b"GETCONF CookieAuthentication\r\n"),
                             b"250 CookieAuthentication=1\r\n")


class ListenerChange(Case):
    """A profile whose confs let clients open control listeners: the
    guard's list of them is stale from the moment such a SETCONF is sent
    (an ADD_ONION pipelined after it is refused, whatever its target) until
    torgate has read them again on a connection of its own; then it knows
    the new one."""

    ADD = b"ADD_ONION NEW:ED25519-V3 Flags=DiscardPK Port=80,127.0.0.1:%d"

    def control_ports(self, extra=b""):
        """SETCONF arguments for tor's own control listeners (its unix
        socket, which the harness talks to, and its TCP port, which
        torgate's other tests use) with extra between them: tor matches
        its open listeners against the new lines from the last, and an
        "auto" line matches any port of its address."""
        return (b'ControlPort="unix:' + env.tor.control_path.encode()
                + b'"' + extra
                + b' ControlPort=127.0.0.1:%d' % self.tor_port())

    def setUp(self):
        super().setUp()
        self.addCleanup(self.restore)

    def restore(self):
        with env.tor.direct() as d:
            self.assertEqual(d.command(b"SETCONF " + self.control_ports()
                                       + b"\r\n"), itkit.OK)

    def tor_listeners(self):
        with env.tor.direct() as d:
            return d.command(b"GETINFO net/listeners/control\r\n")

    def wait_fresh(self, c, port):
        """ADD_ONION to port (no control listener) until the guard lets it
        through: torgate has read tor's listeners again."""
        def allowed():
            rep = c.command(self.ADD % port + b"\r\n")
            return None if rep == FILTERED else rep
        rep = harness.wait_until(allowed, harness.DEFAULT_TIMEOUT,
                                 interval=0.05, what="a fresh list")
        self.assertTrue(rep.startswith(b"250-ServiceID="), rep)

    def add_onion_lines(self, m):
        return [l for l in self.tor_lines(m) if l.startswith(b"ADD_ONION")]

    def pipelined(self, c, extra, port):
        """SETCONF with extra and ADD_ONION to port in one write: the
        SETCONF passes, the ADD_ONION is refused and never reaches tor."""
        m = env.tap.mark()
        c.send(b"SETCONF " + self.control_ports(extra) + b"\r\n"
               + self.ADD % port + b"\r\n")
        self.assertEqual(c.read_replies(2), [itkit.OK, FILTERED])
        self.barrier(c)
        self.assertEqual(self.add_onion_lines(m), [])
        return m

    def test_fixed_port_refused_at_once_and_after(self):
        new, other = harness.free_tcp_port(), harness.free_tcp_port()
        c = self.s("ctl")
        m = self.pipelined(c, b" ControlPort=127.0.0.1:%d" % new, new)
        # tor really opened it: the refused service would have reached it
        self.assertIn(b'"127.0.0.1:%d"' % new, self.tor_listeners())
        self.wait_fresh(c, other)
        m2 = env.tap.mark()
        for target in (b"%d" % new, b"127.0.0.1:%d" % new,
                       b"localhost:%d" % new, b"+0%d" % new):
            with self.subTest(target=target):
                self.assertEqual(c.command(
                    b"ADD_ONION NEW:ED25519-V3 Flags=DiscardPK Port=80,"
                    + target + b"\r\n"), FILTERED)
        self.barrier(c)
        self.assertEqual(self.add_onion_lines(m2), [])
        for line in self.add_onion_lines(m):
            self.assertNotIn(b":%d" % new, line)

    def test_auto_port_refused_at_once_and_after(self):
        """ControlPort auto: only tor knows the port until it is read."""
        before = self.tor_listeners()
        other = harness.free_tcp_port()
        c = self.s("ctl")
        m = self.pipelined(c, b" ControlPort=127.0.0.1:auto", other)
        after = self.tor_listeners()
        ports = re.findall(rb'"127\.0\.0\.1:(\d+)"', after)
        new = [int(p) for p in ports if b":" + p + b'"' not in before]
        self.assertEqual(len(new), 1, (before, after))
        self.wait_fresh(c, other)
        self.assertEqual(c.command(self.ADD % new[0] + b"\r\n"), FILTERED)
        self.barrier(c)
        for line in self.add_onion_lines(m):
            self.assertNotIn(b":%d" % new[0], line)

    def test_other_session_refused_until_read_again(self):
        """The list is torgate's, not the session's: a second client's
        ADD_ONION, sent once the first one's SETCONF has reached tor, is
        refused (the list is stale, or already read again)."""
        new = harness.free_tcp_port()
        a, b = self.s("ctl"), self.s("ctl")
        m = env.tap.mark()
        a.send(b"SETCONF " + self.control_ports(
            b" ControlPort=127.0.0.1:%d" % new) + b"\r\n")
        env.tap.wait_for(b"ControlPort=127.0.0.1:%d" % new, m, 5)
        rep = b.command(self.ADD % new + b"\r\n")
        self.assertEqual(a.read_reply(), itkit.OK)
        self.assertEqual(rep, FILTERED)
        self.barrier(b)
        self.assertEqual(self.add_onion_lines(m), [])


class UnlistingTor:
    """A control socket that does not list its control listeners (as a
    filter in front of tor may refuse GETINFO net/listeners/control):
    NULL authentication, 552 for every GETINFO key (torgate's fences
    included), a service for every ADD_ONION."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "ctl")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(8)
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    @staticmethod
    def reply(line):
        if line.startswith(b"PROTOCOLINFO"):
            return (b'250-PROTOCOLINFO 1\r\n250-AUTH METHODS=NULL\r\n'
                    b'250-VERSION Tor="0.4.9.11"\r\n250 OK\r\n')
        if line.startswith(b"GETINFO "):
            return b'552 Unrecognized key "%s"\r\n' % line.split()[1]
        if line.startswith(b"ADD_ONION "):
            return b"250-ServiceID=" + b"a" * 56 + b"\r\n250 OK\r\n"
        return b"250 OK\r\n"

    def _serve(self, c):
        buf = b""
        try:
            while True:
                data = c.recv(4096)
                if not data:
                    return
                buf += data
                while b"\r\n" in buf:
                    line, buf = buf.split(b"\r\n", 1)
                    c.sendall(self.reply(line))
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.sock.close()
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class UnlistedListeners(unittest.TestCase):
    """When tor does not list its control listeners, the guard still
    knows the one torgate reaches tor through."""

    def test_target_is_the_address_torgate_dials(self):
        d = env.tempdir("tgt-unlisted-")
        fake = UnlistingTor(d)
        self.addCleanup(fake.close)
        p = env.profiles()
        p.add("unixok2", {"ADD_ONION": [".*"]},
              extra="  client-unix-targets: true\n")
        lst = Listener(os.path.join(d, "gate.sock"), profile="unixok2")
        tg = harness.Torgate("unix:" + fake.path, [p.dir], [lst])
        tg.start()
        env.daemons.append(tg)
        self.addCleanup(lambda: self.assertIsNone(env.stop_daemon(tg)))
        with Client(lst.addr) as c:
            self.assertEqual(c.command(b"AUTHENTICATE\r\n"), itkit.OK)
            self.assertEqual(c.command(b"ADD_ONION NEW:ED25519-V3 Port=80,"
                                       b"unix:" + fake.path.encode()
                                       + b"\r\n"), FILTERED)
            # another unix target still passes
            rep = c.command(b"ADD_ONION NEW:ED25519-V3 Port=80,unix:"
                            + G["app"].encode() + b"\r\n")
            self.assertTrue(rep.startswith(b"250-ServiceID="), rep)


del GateCase

if __name__ == "__main__":
    itkit.main()
