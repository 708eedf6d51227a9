#!/usr/bin/python3
"""End-to-end tests of torgate against a real, private, offline tor.

Layout: tor <- Tap (records what tor receives) <- torgate <- Client.
Wherever tor itself defines the answer, the reply through torgate is
compared byte for byte with the reply of tor on a direct connection.
"""

import os
import random
import re
import stat
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import itkit  # noqa: E402
from harness import (Client, ConnectionClosed, Listener, ProfileDir,  # noqa
                     Tap, TorInstance, Torgate)

AUTH_REQUIRED = b"514 Authentication required.\r\n"
FILTERED = b"510 Command filtered\r\n"
OK = b"250 OK\r\n"
CLOSING = b"250 closing connection\r\n"
NUL_ERR = b"500 NUL byte in command\r\n"
CR_ERR = b"500 Bare CR in command\r\n"
LONG_ERR = b"500 Line too long\r\n"
MAX_LINE = 65536

ADD_ONION_RULE = {
    "pattern": r"NEW:(\S+) Port=80,(\d+)",
    "replacement": "NEW:{} Port=80,127.0.0.1:{} Flags=DiscardPK",
}

MAIN_COMMANDS = {
    "GETINFO": [
        "version|config-file",
        "version config-file",
        "config-text",
        "onions/current",
    ],
    "ADD_ONION": [ADD_ONION_RULE],
}

REWRITE_COMMANDS = {
    "GETINFO": [
        {"pattern": "version",
         "response": [{"pattern": "250-version=.*",
                       "replacement": "250-version=redacted"}]},
    ],
    "ADD_ONION": [
        dict(ADD_ONION_RULE,
             response=[{"pattern": r"250-ServiceID=(\S+)",
                        "replacement": "250-ServiceID={}.onion"}]),
    ],
}

SERVICE_ID_RE = re.compile(rb"^250-ServiceID=([a-z2-7]{56})\r\n250 OK\r\n$")

class _Env:
    """tor, the tap, the profiles and ONE torgate shared by every test in
    this module, so that the last tests prove the daemon survived all the
    others."""
    tor = tap = profiles = tg = direct = None
    sockdir = None


_env = _Env()


def _start_torgate():
    env = _env
    env.tap = Tap(env.tor.control_path)
    env.profiles = ProfileDir()
    env.profiles.add("main", MAIN_COMMANDS)
    env.profiles.add("rewrite", REWRITE_COMMANDS)
    env.sockdir = harness._tempdir("tgt-sock-")
    env.unix_path = os.path.join(env.sockdir, "tg.sock")
    env.rewrite_path = os.path.join(env.sockdir, "tg-rw.sock")
    last = None
    for _ in range(3):  # the free TCP port may be taken meanwhile
        env.tcp_addr = ("127.0.0.1", harness.free_tcp_port())
        # Without --debug: the relay then moves runs of reply lines at
        # once, the path users run (--debug relays line by line).
        tg = Torgate("unix:" + env.tap.path, [env.profiles.dir], [
            Listener(env.unix_path, profile="main"),
            Listener(env.tcp_addr, profile="main"),
            Listener(env.rewrite_path, profile="rewrite"),
        ], debug=False)
        try:
            tg.start()
            env.tg = tg
            return
        except harness.HarnessError as e:
            last = e
            tg.cleanup()
    raise last


def setUpModule():
    itkit.require_binaries()
    try:
        _env.tor = TorInstance(tcp_control=True).start()
        _env.direct = _env.tor.direct()
        _start_torgate()
    except BaseException:
        tearDownModule()
        raise


def tearDownModule():
    env = _env
    problem = None
    if env.tg is not None:
        alive = env.tg.alive()
        rc = env.tg.stop()
        log = env.tg.log_text()
        env.tg.cleanup()
        if not alive:
            problem = ("torgate died (status %r); log:\n%s"
                       % (rc, log[-8000:]))
        elif rc != 0:
            problem = ("torgate exited with %r on SIGTERM (want 0); log:\n%s"
                       % (rc, log[-8000:]))
    if env.direct is not None:
        env.direct.close()
    if env.tap is not None:
        env.tap.close()
    if env.profiles is not None:
        env.profiles.cleanup()
    if env.sockdir is not None:
        harness.shutil.rmtree(env.sockdir, ignore_errors=True)
    if env.tor is not None:
        env.tor.cleanup()
    if problem:
        raise AssertionError(problem)


class TorgateTestCase(unittest.TestCase):
    """Tests against the shared torgate (through the Tap)."""

    @classmethod
    def setUpClass(cls):
        for k in ("tor", "tap", "tg", "direct", "unix_path", "tcp_addr",
                  "rewrite_path"):
            setattr(cls, k, getattr(_env, k))

    def setUp(self):
        self.assertTrue(self.tg.alive(), "torgate is not running:\n"
                        + self.tg.log_text()[-8000:])
        self.clients = []
        self.mark = self.tap.mark()

    def tearDown(self):
        for c in self.clients:
            c.close()
        if not self.tg.alive():
            self.fail("torgate died during the test (status %r); log:\n%s"
                      % (self.tg.returncode(), self.tg.log_text()[-8000:]))
        self.assertTrue(self.tor.alive(), "tor died:\n" + self.tor.log_text())

    # -- helpers ----------------------------------------------------------

    def connect(self, addr=None):
        c = Client(addr or self.unix_path)
        self.clients.append(c)
        return c

    def session(self, addr=None):
        c = self.connect(addr)
        self.assertEqual(c.command(b"AUTHENTICATE\r\n"), OK)
        return c

    def ref(self, cmd):
        """tor's own reply to cmd on the shared direct connection."""
        return self.direct.command(cmd)

    def protocolinfo(self):
        return (b"250-PROTOCOLINFO 1\r\n250-AUTH METHODS=NULL\r\n"
                b'250-VERSION Tor="' + self.tor.version.encode()
                + b'"\r\n250 OK\r\n')

    def assert_closed(self, c, what=""):
        try:
            rest = c.expect_closed()
        except TimeoutError:
            self.fail("connection not closed %s" % what)
        self.assertEqual(rest, b"", "unexpected bytes before EOF %s" % what)

    def sent_to_tor(self):
        """What tor received since the test began, less torgate's own
        handshake on each new upstream connection."""
        data = self.tap.sent_since(self.mark)
        own = (b"PROTOCOLINFO 1", b"AUTHCHALLENGE SAFECOOKIE ",
               b"AUTHENTICATE ", b"GETINFO net/listeners/control")
        return b"".join(l for l in data.splitlines(keepends=True)
                        if not l.startswith(own))

    def assert_not_forwarded(self, *needles):
        data = self.sent_to_tor()
        for n in needles:
            self.assertNotIn(n, data, "tor received %r" % n)

    def barrier(self, c):
        """A forwarded command whose reply proves every earlier byte of
        this session reached tor (and the session still works)."""
        self.assertEqual(c.command(b"GETINFO version\r\n"),
                         self.ref(b"GETINFO version\r\n"))


# ---------------------------------------------------------------------------


class PreAuthTest(TorgateTestCase):

    def test_getinfo_before_auth_is_refused_and_closed(self):
        c = self.connect()
        self.assertEqual(c.command(b"GETINFO version\r\n"), AUTH_REQUIRED)
        self.assert_closed(c)
        self.tap.wait_quiet(self.mark)
        self.assert_not_forwarded(b"GETINFO")

    def test_unknown_before_auth_is_refused_and_closed(self):
        for line in (b"FOO\r\n", b"SIGNAL NEWNYM\r\n", b"SETEVENTS\r\n"):
            with self.subTest(line=line):
                c = self.connect()
                self.assertEqual(c.command(line), AUTH_REQUIRED)
                self.assert_closed(c)

    def test_cross_protocol_http_post(self):
        c = self.connect()
        c.send(b"POST / HTTP/1.1\r\nHost: 127.0.0.1:9051\r\n"
               b"Content-Type: text/plain\r\nContent-Length: 60\r\n\r\n"
               b"GETINFO address\r\nSIGNAL NEWNYM\r\nGETINFO version\r\n")
        self.assertEqual(c.read_reply(), AUTH_REQUIRED)
        self.assert_closed(c)
        self.tap.wait_quiet(self.mark)
        self.assert_not_forwarded(b"GETINFO", b"SIGNAL", b"POST", b"Host")

    def test_protocolinfo(self):
        for line in (b"PROTOCOLINFO\r\n", b"PROTOCOLINFO 1\r\n",
                     b"protocolinfo 1\r\n"):
            with self.subTest(line=line):
                c = self.connect()
                self.assertEqual(c.command(line), self.protocolinfo())
                # the session goes on: AUTHENTICATE, then service
                self.assertEqual(c.command(b"AUTHENTICATE\r\n"), OK)
                self.barrier(c)

    def test_authenticate_any_argument(self):
        for line in (b"AUTHENTICATE\r\n", b"authenticate\r\n",
                     b'AUTHENTICATE "secret password"\r\n',
                     b"AUTHENTICATE 0123456789ABCDEF\r\n",
                     b"AUTHENTICATE " + b"00" * 32 + b"\r\n"):
            with self.subTest(line=line):
                c = self.connect()
                self.assertEqual(c.command(line), OK)
                self.barrier(c)

    def _challenge(self, c, nonce):
        rep = c.command(b"AUTHCHALLENGE SAFECOOKIE "
                        + nonce.hex().encode() + b"\r\n")
        m = harness.AUTHCHALLENGE_RE.match(rep)
        self.assertIsNotNone(m, "bad AUTHCHALLENGE reply %r" % rep)
        return (bytes.fromhex(m.group(1).decode()),
                bytes.fromhex(m.group(2).decode()))

    def test_authchallenge_safecookie(self):
        cookie = self.tor.cookie()
        seen = set()
        for _ in range(2):
            c = self.connect()
            nonce = os.urandom(32)
            shash, snonce = self._challenge(c, nonce)
            self.assertEqual(
                shash, harness.safecookie_server_hash(cookie, nonce, snonce),
                "SERVERHASH does not verify with tor's cookie")
            self.assertNotIn(snonce, seen, "SERVERNONCE reused")
            seen.add(snonce)
            chash = harness.safecookie_client_hash(cookie, nonce, snonce)
            self.assertEqual(c.command(b"AUTHENTICATE " + chash.hex().encode()
                                       + b"\r\n"), OK)
            self.barrier(c)
        # the harness' own SAFECOOKIE client (upper-case hex) works too
        c = self.connect()
        self.assertEqual(harness.authenticate_safecookie(c, cookie), OK)
        self.barrier(c)
        self.tap.wait_for(b"GETINFO version\r\n", self.mark)
        self.assert_not_forwarded(b"AUTHCHALLENGE SAFECOOKIE "
                                  + nonce.hex().encode())

    def test_authchallenge_other_method(self):
        want = b"513 AUTHCHALLENGE only supports SAFECOOKIE authentication\r\n"
        c = self.connect()
        self.assertEqual(c.command(b"AUTHCHALLENGE HASHEDPASSWORD "
                                   + b"ab" * 32 + b"\r\n"), want)
        self.assert_closed(c)
        c = self.connect()
        self.assertEqual(c.command(b"AUTHCHALLENGE COOKIE "
                                   + b"ab" * 32 + b"\r\n"), want)
        self.assert_closed(c)

    def test_quit_before_auth(self):
        c = self.connect()
        self.assertEqual(c.command(b"QUIT\r\n"), CLOSING)
        self.assert_closed(c)

    def test_quit_after_auth(self):
        c = self.session()
        self.assertEqual(c.command(b"QUIT\r\n"), CLOSING)
        self.assert_closed(c)

    def test_quit_pipelined_drops_the_rest(self):
        c = self.session()
        c.send(b"GETINFO version\r\nQUIT\r\nGETINFO version\r\n")
        self.assertEqual(c.read_reply(), self.ref(b"GETINFO version\r\n"))
        self.assertEqual(c.read_reply(), CLOSING)
        self.assert_closed(c)

    # Bad input before authentication: the error, then the connection
    # closes; nothing reaches tor.

    def _preauth_bad(self, data, want, needles):
        c = self.connect()
        try:
            c.send(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.assertEqual(c.read_reply(), want)
        self.assert_closed(c)
        self.tap.wait_quiet(self.mark)
        self.assert_not_forwarded(*needles)

    def test_preauth_nul_byte_closes(self):
        self._preauth_bad(b"GETINFO ver\x00sion\r\nGETINFO config-file\r\n",
                          NUL_ERR, [b"\x00", b"GETINFO"])

    def test_preauth_bare_cr_closes(self):
        self._preauth_bad(b"GETINFO ver\rsion\r\nGETINFO config-file\r\n",
                          CR_ERR, [b"ver\rsion", b"GETINFO"])

    def test_preauth_line_too_long_closes(self):
        self._preauth_bad(b"GETINFO " + b"a" * MAX_LINE + b"\r\n"
                          b"GETINFO config-file\r\n",
                          LONG_ERR, [b"aaaaaaaa", b"GETINFO"])

    def test_preauth_multiline_closes_without_reading_body(self):
        self._preauth_bad(b"+LOADCONF\r\nSocksPort 9999\r\nGETINFO address\r\n"
                          b"SIGNAL SHUTDOWN\r\n.\r\n",
                          AUTH_REQUIRED,
                          [b"LOADCONF", b"SocksPort", b"GETINFO", b"SIGNAL"])


class OwnershipTest(TorgateTestCase):

    def owning_pid(self):
        return self.ref(b"GETCONF __OwningControllerProcess\r\n")

    def test_ownership_commands_are_local(self):
        unset = b"250 __OwningControllerProcess\r\n"
        self.assertEqual(self.owning_pid(), unset)
        c = self.session()
        for line in (b"TAKEOWNERSHIP\r\n", b"takeownership\r\n",
                     b"DROPOWNERSHIP\r\n",
                     b"SETCONF __OwningControllerProcess=%d\r\n" % os.getpid(),
                     b"RESETCONF __OwningControllerProcess\r\n"):
            with self.subTest(line=line):
                self.assertEqual(c.command(line), OK)
        self.barrier(c)
        self.assert_not_forwarded(b"OWNERSHIP", b"ownership",
                                  b"__OwningControllerProcess")
        self.assertEqual(self.owning_pid(), unset)


class FilterTest(TorgateTestCase):

    def test_single_line_reply_is_byte_exact(self):
        c = self.session()
        self.assertEqual(c.command(b"GETINFO version\r\n"),
                         self.ref(b"GETINFO version\r\n"))

    def test_keyword_is_case_insensitive(self):
        c = self.session()
        want = self.ref(b"GETINFO version\r\n")
        self.assertEqual(c.command(b"getinfo version\r\n"), want)
        self.assertEqual(c.command(b"GetInfo version\r\n"), want)

    def test_multi_line_reply_is_byte_exact(self):
        c = self.session()
        cmd = b"GETINFO version config-file\r\n"
        self.assertEqual(c.command(cmd), self.ref(cmd))

    def test_data_reply_is_byte_exact(self):
        c = self.session()
        cmd = b"GETINFO config-text\r\n"
        want = self.ref(cmd)
        self.assertIn(b"250+config-text=\r\n", want)
        self.assertEqual(c.command(cmd), want)

    def test_multi_key_each_allowed(self):
        """Keys allowed one by one are allowed together (tor's own reply
        passes byte-exact); one key not allowed denies the whole."""
        c = self.session()
        for line in (b"GETINFO config-file version\r\n",
                     b"GETINFO config-text version\r\n"):
            with self.subTest(line=line):
                self.assertEqual(c.command(line), self.ref(line))
        self.assertEqual(c.command(b"GETINFO config-file version address"
                                   b"\r\n"), FILTERED)

    def test_denied(self):
        c = self.session()
        denied = [
            b"GETINFO address",
            b"GETINFO version address",      # 'version|config-file' whole
            b"GETINFO address version",
            b"GETINFO config-file address",
            b"GETINFO versionx",
            b"GETINFO version x",
            b"GETINFO xversion",
            b"GETINFO version\tconfig-file",
            b"GETINFO",
            b"GETCONF SocksPort",
            b"SETCONF SocksPort=9050",
            b"SIGNAL NEWNYM",
            b"SIGNAL SHUTDOWN",
            b"ADD_ONION NEW:ED25519-V3 Port=81,8080",
            b"ADD_ONION NEW:ED25519-V3 Port=80,8080 Flags=Detach",
            b"ADD_ONION NEW:ED25519-V3 Port=80,8080 Port=81,22",
            b"ADD_ONION NEW:ED25519-V3 Port=80,8080x",
        ]
        for line in denied:
            with self.subTest(line=line):
                self.assertEqual(c.command(line + b"\r\n"), FILTERED)
        self.barrier(c)
        data = self.sent_to_tor()
        for line in denied:
            self.assertNotIn(line + b"\r\n", data)
        self.assert_not_forwarded(b"address", b"SIGNAL", b"SETCONF",
                                  b"GETCONF", b"ADD_ONION")

    def test_leading_space_is_not_a_command(self):
        # tor splits the keyword at the first space: " GETINFO" has the
        # empty keyword
        c = self.session()
        for line in (b" GETINFO version\r\n", b"\tGETINFO version\r\n"):
            with self.subTest(line=line):
                got = c.command(line)
                self.assertEqual(got, self.ref(line))
                self.assertTrue(got.startswith(b"510 "), got)
        self.barrier(c)

    def test_whitespace_after_keyword_like_tor(self):
        c = self.session()
        for line in (b"GETINFO  version\r\n", b"GETINFO \t version\r\n"):
            with self.subTest(line=line):
                self.assertEqual(c.command(line), self.ref(line))

    def test_trailing_whitespace_still_matches(self):
        c = self.session()
        for line in (b"GETINFO version \r\n", b"GETINFO version  \r\n",
                     b"GETINFO version\t\r\n",
                     b"GETINFO version config-file \r\n"):
            with self.subTest(line=line):
                self.assertEqual(c.command(line), self.ref(line))

    def test_unknown_keyword(self):
        c = self.session()
        for line, want in ((b"FOO\r\n", b'510 Unrecognized command "FOO"\r\n'),
                           (b"FOO bar baz\r\n",
                            b'510 Unrecognized command "FOO"\r\n'),
                           (b"\r\n", b'510 Unrecognized command ""\r\n')):
            with self.subTest(line=line):
                self.assertEqual(self.ref(line), want)
                self.assertEqual(c.command(line), want)
        self.barrier(c)

    def test_pipelined_replies_in_order(self):
        c = self.session()
        c.send(b"GETINFO version\r\n"
               b"GETINFO address\r\n"
               b"GETINFO config-file\r\n"
               b"PROTOCOLINFO\r\n"
               b"GETINFO version config-file\r\n"
               b"FOO\r\n"
               b"GETINFO config-text\r\n")
        want = [self.ref(b"GETINFO version\r\n"), FILTERED,
                self.ref(b"GETINFO config-file\r\n"), self.protocolinfo(),
                self.ref(b"GETINFO version config-file\r\n"),
                b'510 Unrecognized command "FOO"\r\n',
                self.ref(b"GETINFO config-text\r\n")]
        self.assertEqual(c.read_replies(len(want)), want)

    def test_pipelined_many(self):
        c = self.session()
        cmds = [b"GETINFO version\r\n", b"GETINFO address\r\n",
                b"GETINFO config-file\r\n"] * 50
        c.send(b"".join(cmds))
        want = [FILTERED if b"address" in x else self.ref(x) for x in cmds]
        self.assertEqual(c.read_replies(len(want), timeout=30), want)

    def test_pipelined_with_bad_input(self):
        # errors are answered in their place in the sequence
        c = self.session()
        c.send(b"GETINFO version\r\n"
               b"GETINFO ver\x00sion\r\n"
               b"GETINFO config-file\r\n"
               b"GETINFO ver\rsion\r\n"
               b"GETINFO version config-file\r\n"
               b"GETINFO " + b"c" * MAX_LINE + b"\r\n"
               b"+LOADCONF\r\nSIGNAL SHUTDOWN\r\n.\r\n"
               b"GETINFO config-text\r\n")
        want = [self.ref(b"GETINFO version\r\n"), NUL_ERR,
                self.ref(b"GETINFO config-file\r\n"), CR_ERR,
                self.ref(b"GETINFO version config-file\r\n"), LONG_ERR,
                FILTERED, self.ref(b"GETINFO config-text\r\n")]
        self.assertEqual(c.read_replies(len(want), timeout=30), want)
        self.assert_not_forwarded(b"\x00", b"ver\rsion", b"cccccccc",
                                  b"SIGNAL", b"LOADCONF")

    def test_split_writes(self):
        cmd = b"GETINFO version config-file\r\n"
        want = self.ref(cmd)
        c = self.session()
        c.send_bytewise(cmd)
        self.assertEqual(c.read_reply(), want)
        # byte by byte from the very first byte of the session
        c = self.connect()
        c.send_bytewise(b"AUTHENTICATE\r\n" + cmd)
        self.assertEqual(c.read_replies(2), [OK, want])
        rnd = random.Random(4242)
        stream = (b"GETINFO version\r\nGETINFO address\r\n" + cmd
                  + b"PROTOCOLINFO 1\r\n")
        wants = [self.ref(b"GETINFO version\r\n"), FILTERED, want,
                 self.protocolinfo()]
        for i in range(10):
            sizes = [rnd.randint(1, 7) for _ in range(len(stream))]
            with self.subTest(round=i):
                c = self.session()
                c.send_split(stream, sizes)
                self.assertEqual(c.read_replies(4), wants)
        # CR and LF in different writes
        c = self.session()
        c.send_split(b"GETINFO version\r\n", [16, 1])
        self.assertEqual(c.read_reply(), self.ref(b"GETINFO version\r\n"))
        # a CR at the end of one write, not followed by LF in the next
        c.send_split(b"GETINFO ver\rsion\r\nGETINFO version\r\n", [12, 5])
        self.assertEqual(c.read_replies(2),
                         [CR_ERR, self.ref(b"GETINFO version\r\n")])
        # the limit is counted over several writes
        c.send_split(b"GETINFO " + b"d" * MAX_LINE + b"\r\nGETINFO version\r\n",
                     [4096] * 20)
        self.assertEqual(c.read_replies(2),
                         [LONG_ERR, self.ref(b"GETINFO version\r\n")])
        self.assert_not_forwarded(b"ver\rsion", b"dddddddd")

    def test_lf_only_line_endings(self):
        c = self.connect()
        self.assertEqual(c.command(b"AUTHENTICATE\n"), OK)
        self.assertEqual(c.command(b"GETINFO version\n"),
                         self.ref(b"GETINFO version\r\n"))
        c.send(b"GETINFO config-file\nGETINFO address\nPROTOCOLINFO\n")
        self.assertEqual(c.read_replies(3),
                         [self.ref(b"GETINFO config-file\r\n"), FILTERED,
                          self.protocolinfo()])
        data = self.tap.wait_for(b"GETINFO config-file\r\n", self.mark)
        self.assertIn(b"GETINFO version\r\n", data)
        self.assertIsNone(re.search(rb"(?<!\r)\n", data.replace(
            b"\n--\n", b"")), "tor received a bare LF: %r" % data)

    # -- bad input after authentication: error, session continues ---------

    def test_nul_byte(self):
        c = self.session()
        self.assertEqual(c.command(b"GETINFO ver\x00sion\r\n"), NUL_ERR)
        self.assertEqual(c.command(b"\x00\r\n"), NUL_ERR)
        self.assertEqual(c.command(b"GETINFO version\x00\r\n"), NUL_ERR)
        self.barrier(c)
        self.assert_not_forwarded(b"\x00")

    def test_bare_cr(self):
        c = self.session()
        self.assertEqual(c.command(b"GETINFO ver\rsion\r\n"), CR_ERR)
        self.assertEqual(c.command(b"GETINFO version\r\r\n"), CR_ERR)
        self.assertEqual(c.command(b"GETINFO version\rGETINFO address\r\n"),
                         CR_ERR)
        self.barrier(c)
        self.assert_not_forwarded(b"ver\rsion", b"\r\r", b"address")

    def test_line_too_long(self):
        c = self.session()
        # one byte over the limit
        c.send(b"GETINFO " + b"a" * (MAX_LINE - 8 + 1) + b"\r\n")
        self.assertEqual(c.read_reply(), LONG_ERR)
        self.barrier(c)
        # far over the limit, with a command glued behind it
        c.send(b"GETINFO version " + b"b" * (1 << 20) + b"\r\n"
               b"GETINFO config-file\r\n")
        self.assertEqual(c.read_replies(2, timeout=30),
                         [LONG_ERR, self.ref(b"GETINFO config-file\r\n")])
        self.barrier(c)
        self.assert_not_forwarded(b"aaaaaaaa", b"bbbbbbbb")

    def test_line_at_the_limit_is_not_too_long(self):
        c = self.session()
        for eol in (b"\r\n", b"\n"):
            with self.subTest(eol=eol):
                line = b"GETINFO " + b"a" * (MAX_LINE - 8)
                self.assertEqual(len(line), MAX_LINE)
                self.assertEqual(c.command(line + eol), FILTERED)
        got = c.command(b"X" * MAX_LINE + b"\r\n")
        self.assertTrue(got.startswith(b"510 "), got[:100])
        self.barrier(c)
        self.assert_not_forwarded(b"aaaaaaaa")

    def test_multiline_denied_body_never_executed(self):
        c = self.session()
        c.send(b"+LOADCONF\r\nSocksPort 9999\r\nGETINFO address\r\n"
               b"SIGNAL SHUTDOWN\r\n..SIGNAL HALT\r\n.\r\n"
               b"GETINFO version\r\n")
        self.assertEqual(c.read_replies(2),
                         [FILTERED, self.ref(b"GETINFO version\r\n")])
        self.barrier(c)
        self.assert_not_forwarded(b"LOADCONF", b"SocksPort", b"address",
                                  b"SIGNAL")
        self.assertTrue(self.tor.alive())
        # lower-case keyword, LF endings, and split writes
        c.send_split(b"+loadconf\nSIGNAL SHUTDOWN\n.\nGETINFO version\n",
                     [3, 9, 5, 2, 1, 1])
        self.assertEqual(c.read_replies(2),
                         [FILTERED, self.ref(b"GETINFO version\r\n")])
        self.assert_not_forwarded(b"loadconf", b"SIGNAL")
        self.assertTrue(self.tor.alive())
        self.assertEqual(self.ref(b"GETINFO version\r\n")[:11],
                         b"250-version")

    def test_plus_form_of_single_line_command(self):
        seq = b"+GETINFO\r\nx\r\nversion\r\n.\r\nGETINFO version\r\n"
        want = [b'510 Unrecognized command "+GETINFO"\r\n',
                self.ref(b"GETINFO version\r\n")]
        # tor itself
        self.direct.send(seq)
        self.assertEqual(self.direct.read_replies(2), want)
        c = self.session()
        c.send(seq)
        self.assertEqual(c.read_replies(2), want)
        self.barrier(c)
        self.assert_not_forwarded(b"+GETINFO", b"x\r\n")


class OnionTest(TorgateTestCase):

    def test_add_onion_rewritten(self):
        c = self.session()
        rep = c.command(b"ADD_ONION NEW:ED25519-V3 Port=80,8080\r\n")
        m = SERVICE_ID_RE.match(rep)
        self.assertIsNotNone(m, "bad ADD_ONION reply %r" % rep)
        self.assertNotIn(b"PrivateKey", rep)
        data = self.tap.wait_for(b"ADD_ONION ", self.mark)
        self.assertIn(b"ADD_ONION NEW:ED25519-V3 Port=80,127.0.0.1:8080 "
                      b"Flags=DiscardPK\r\n", data)
        self.assertNotIn(b"Port=80,8080", data)
        self.assertEqual(c.command(b"GETINFO onions/current\r\n"),
                         b"250-onions/current=" + m.group(1)
                         + b"\r\n250 OK\r\n")

    def test_onions_are_per_session(self):
        a = self.session()
        b = self.session()
        rep = a.command(b"ADD_ONION NEW:ED25519-V3 Port=80,8081\r\n")
        m = SERVICE_ID_RE.match(rep)
        self.assertIsNotNone(m, rep)
        self.assertEqual(b.command(b"GETINFO onions/current\r\n"),
                         b"250-onions/current=\r\n250 OK\r\n")
        self.assertIn(m.group(1), a.command(b"GETINFO onions/current\r\n"))

    def test_response_rewrite_version(self):
        c = self.session(self.rewrite_path)
        self.assertEqual(c.command(b"GETINFO version\r\n"),
                         b"250-version=redacted\r\n250 OK\r\n")
        # the rewrite profile allows nothing else
        self.assertEqual(c.command(b"GETINFO config-file\r\n"), FILTERED)

    def test_response_rewrite_service_id(self):
        c = self.session(self.rewrite_path)
        rep = c.command(b"ADD_ONION NEW:ED25519-V3 Port=80,8082\r\n")
        self.assertRegex(rep, rb"^250-ServiceID=[a-z2-7]{56}\.onion\r\n"
                              rb"250 OK\r\n$")
        self.tap.wait_for(b"ADD_ONION NEW:ED25519-V3 Port=80,127.0.0.1:8082 "
                          b"Flags=DiscardPK\r\n", self.mark)


class ListenerTest(TorgateTestCase):

    def test_tcp_listener(self):
        c = self.connect(self.tcp_addr)
        self.assertEqual(c.command(b"PROTOCOLINFO 1\r\n"), self.protocolinfo())
        self.assertEqual(c.command(b"AUTHENTICATE\r\n"), OK)
        for cmd in (b"GETINFO version\r\n", b"GETINFO version config-file\r\n",
                    b"GETINFO config-text\r\n"):
            self.assertEqual(c.command(cmd), self.ref(cmd))
        self.assertEqual(c.command(b"GETINFO address\r\n"), FILTERED)
        self.assertEqual(c.command(b"QUIT\r\n"), CLOSING)
        self.assert_closed(c)

    def test_tcp_preauth(self):
        c = self.connect(self.tcp_addr)
        self.assertEqual(c.command(b"GETINFO version\r\n"), AUTH_REQUIRED)
        self.assert_closed(c)

    def test_two_clients_independent(self):
        a = self.connect()
        b = self.connect(self.tcp_addr)
        self.assertEqual(a.command(b"AUTHENTICATE\r\n"), OK)
        # b has not authenticated: a's authentication does not count for b
        self.assertEqual(b.command(b"GETINFO version\r\n"), AUTH_REQUIRED)
        self.assert_closed(b)
        self.barrier(a)
        # interleaved traffic on two live sessions
        b = self.session(self.tcp_addr)
        a.send(b"GETINFO version\r\nGETINFO address\r\n")
        b.send(b"GETINFO config-file\r\n")
        self.assertEqual(b.read_reply(), self.ref(b"GETINFO config-file\r\n"))
        self.assertEqual(a.read_replies(2),
                         [self.ref(b"GETINFO version\r\n"), FILTERED])
        # a half-sent command on one session does not leak into the other
        a.send(b"GETINFO ver")
        self.assertEqual(b.command(b"GETINFO version\r\n"),
                         self.ref(b"GETINFO version\r\n"))
        a.send(b"sion config-file\r\n")
        self.assertEqual(a.read_reply(),
                         self.ref(b"GETINFO version config-file\r\n"))
        self.assertEqual(b.command(b"QUIT\r\n"), CLOSING)
        self.assert_closed(b)
        self.barrier(a)

    def test_many_concurrent_sessions(self):
        cs = [self.session(self.tcp_addr if i % 2 else None)
              for i in range(20)]
        for c in cs:
            c.send(b"GETINFO version\r\n")
        want = self.ref(b"GETINFO version\r\n")
        for c in cs:
            self.assertEqual(c.read_reply(), want)

    def test_abrupt_disconnects(self):
        # connect and go away at once
        for addr in (self.unix_path, self.tcp_addr) * 10:
            Client(addr).close()
        # go away in the middle of a command or a body
        for data in (b"GETINFO vers", b"+LOADCONF\r\nSocksPort 1\r\n",
                     b"AUTHENTICATE\r\nGETINFO version config",
                     b"AUTHENTICATE\r\n+LOADCONF\r\nSocksPort 1\r\n"):
            for addr in (self.unix_path, self.tcp_addr):
                c = Client(addr)
                c.send(data)
                c.close()
        # reset while tor is answering
        for addr in (self.unix_path, self.tcp_addr):
            c = Client(addr)
            c.send(b"AUTHENTICATE\r\nGETINFO config-text\r\n"
                   b"GETINFO version\r\n" * 20)
            c.reset()
            c = Client(addr)
            c.send(b"AUTHENTICATE\r\n")
            self.assertEqual(c.read_reply(), OK)
            c.send(b"GETINFO config-text\r\n" * 20)
            c.reset()
        # reset mid-reply with an ADD_ONION outstanding
        c = Client(self.tcp_addr)
        c.send(b"AUTHENTICATE\r\nADD_ONION NEW:ED25519-V3 Port=80,8083\r\n")
        c.reset()
        self.assertTrue(self.tg.alive(), self.tg.log_text()[-8000:])
        for addr in (self.unix_path, self.tcp_addr):
            c = self.session(addr)
            self.barrier(c)


class ZzStillServingTest(TorgateTestCase):
    """Runs last: the same daemon, after a battery of abuse, still serves
    a new client correctly."""

    def test_abuse_then_service(self):
        for data in (b"GETINFO version\r\n", b"\x00\r\n", b"+LOADCONF\r\n",
                     b"A" * (MAX_LINE + 10) + b"\r\n", b"\xff\xfe\r\n"):
            c = self.connect()
            try:
                c.send(data)
                c.read_reply()
            except (ConnectionClosed, OSError):
                pass
            c.close()
        c = self.session()
        for data in (b"\xff\xfe\r\n", b"GETINFO \xffversion\r\n",
                     b"GETINFO version\xc3\xa9\r\n"):
            self.assertTrue(c.command(data).startswith(b"5"))
        self.barrier(c)
        c = self.connect()
        self.assertEqual(c.command(b"PROTOCOLINFO\r\n"), self.protocolinfo())
        self.assertEqual(c.command(b"AUTHENTICATE\r\n"), OK)
        self.barrier(c)


class UpstreamTcpTest(unittest.TestCase):
    """torgate talking to tor's TCP control port directly (no tap), with
    an explicit --tor-cookie."""

    def test_tcp_upstream_and_sigterm(self):
        tor = _env.tor
        profiles = ProfileDir()
        profiles.add("main", MAIN_COMMANDS)
        sockdir = harness._tempdir("tgt-sock-")
        path = os.path.join(sockdir, "tg.sock")
        tg = Torgate("%s:%d" % tor.tcp_addr, [profiles.dir],
                     [Listener(path, profile="main", mode="0660")],
                     extra_args=["--tor-cookie", tor.cookie_path])
        try:
            tg.start()
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o660)
            with tor.direct() as d, Client(path) as c:
                self.assertEqual(c.command(b"AUTHENTICATE\r\n"), OK)
                for cmd in (b"GETINFO version\r\n",
                            b"GETINFO config-text\r\n"):
                    self.assertEqual(c.command(cmd), d.command(cmd))
                self.assertEqual(c.command(b"GETINFO address\r\n"), FILTERED)
            self.assertTrue(tg.alive(), tg.log_text())
            rc = tg.stop()
            self.assertEqual(rc, 0, "exit status on SIGTERM; log:\n"
                             + tg.log_text()[-8000:])
        finally:
            tg.cleanup()
            profiles.cleanup()
            harness.shutil.rmtree(sockdir, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
