#!/usr/bin/python3
"""Replies that do not belong to the command they would be routed to.

torgate matches tor's replies to commands by order. tor 0.4.9 answers some
malformed commands twice (ONION_CLIENT_AUTH_ADD with a ClientName over 16
characters: 512, then 250) and some never (HSPOST without HSADDRESS=,
ADD_ONION with ClientAuth=); one reply too many or too few would shift
every later reply onto the next command, and a restricted client's
GETINFO stream-status answer would reach it unfiltered as the answer to
its next command.

The forms torgate knows are answered by torgate and never reach tor. For
the rest, a command whose reply torgate filters, rewrites or learns from
is sent between fences; any reply out of step ends the session with
"551 torgate lost track of tor's replies". To make tor answer twice or
never on demand, torgate talks to tor through FaultyTor, a relay that
turns "GETINFO dup/version" into two GETINFO version commands and drops
"GETINFO none/version": torgate believes it sent one command, tor answers
two or none.

A foreign stream comes from RESOLVE on a direct connection: the offline
tor keeps it (NEWRESOLVE) in GETINFO stream-status, where the restricted
client must never see it.
"""

import base64
import os
import re
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import itkit  # noqa: E402
from harness import Listener, ProfileDir, TorInstance, Torgate  # noqa: E402
from itkit import OK  # noqa: E402

LOST = b"551 torgate lost track of tor's replies; closing\r\n"
FENCE_RE = re.compile(rb"^GETINFO X-TORGATE-FENCE-[0-9a-f]{32}\r\n", re.M)

PROFILE = """---
- name: rs
  commands:
    GETINFO: ['version', 'dup/version', 'none/version', 'stream-status',
              'circuit-status',
              {pattern: 'my-streams', replacement: 'stream-status'}]
    ONION_CLIENT_AUTH_ADD: ['.*']
    HSPOST: ['(?s).*']
    ADD_ONION: ['.*']
    RESOLVE: ['\\\\S+']
  events:
    STREAM:
  restrict-stream-events: true
"""


class FaultyTor:
    """A relay to tor's control socket that rewrites two command lines so
    that tor answers twice or not at all, and records what tor got."""

    REWRITE = {
        b"GETINFO dup/version\r\n": b"GETINFO version\r\nGETINFO version\r\n",
        b"GETINFO none/version\r\n": b"",
    }

    def __init__(self, upstream):
        self.upstream = upstream
        self.dir = harness._tempdir("tgt-faulty-")
        self.path = os.path.join(self.dir, "tor.sock")
        self.lock = threading.Lock()
        self.got = bytearray()
        self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.lsock.bind(self.path)
        self.lsock.listen(64)
        self.socks = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            u.connect(self.upstream)
            self.socks += [c, u]
            threading.Thread(target=self._to_tor, args=(c, u),
                             daemon=True).start()
            threading.Thread(target=self._pipe, args=(u, c),
                             daemon=True).start()

    def _to_tor(self, src, dst):
        buf = b""
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            buf += data
            out = b""
            while b"\n" in buf:
                i = buf.index(b"\n") + 1
                line, buf = buf[:i], buf[i:]
                out += self.REWRITE.get(line, line)
            with self.lock:
                self.got += out
            try:
                dst.sendall(out)
            except OSError:
                break
        self._close(src, dst)

    def _pipe(self, src, dst):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            try:
                dst.sendall(data)
            except OSError:
                break
        self._close(src, dst)

    @staticmethod
    def _close(*socks):
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def mark(self):
        with self.lock:
            return len(self.got)

    def since(self, mark):
        with self.lock:
            return bytes(self.got[mark:])

    def close(self):
        self.lsock.close()
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass
        harness.shutil.rmtree(self.dir, ignore_errors=True)


class _Env:
    tor = direct = faulty = profiles = tg = sockdir = None


env = _Env()


def setUpModule():
    itkit.require_binaries()
    try:
        env.tor = TorInstance().start()
        env.direct = env.tor.direct()
        env.faulty = FaultyTor(env.tor.control_path)
        env.profiles = ProfileDir()
        env.profiles.write("rs.yml", PROFILE)
        env.sockdir = harness._tempdir("tgt-sock-")
        env.tg = Torgate("unix:" + env.faulty.path, [env.profiles.dir],
                         [Listener(os.path.join(env.sockdir, "rs.sock"),
                                   profile="rs")], debug=False)
        env.tg.start()
    except BaseException:
        tearDownModule()
        raise


def tearDownModule():
    problem = None
    if env.tg is not None:
        alive = env.tg.alive()
        rc = env.tg.stop()
        log = env.tg.log_text()
        env.tg.cleanup()
        if not alive or rc != 0:
            problem = "torgate died or failed to stop (%r):\n%s" % (
                rc, log[-6000:])
    if env.direct is not None:
        env.direct.close()
    if env.faulty is not None:
        env.faulty.close()
    if env.tor is not None:
        env.tor.cleanup()
    if env.profiles is not None:
        harness.shutil.rmtree(env.profiles.dir, ignore_errors=True)
    if env.sockdir is not None:
        harness.shutil.rmtree(env.sockdir, ignore_errors=True)
    if problem:
        raise AssertionError(problem)


def onion_address():
    """A valid v3 address (a service made and removed on a direct
    connection)."""
    with env.tor.direct() as d:
        rep = d.command(b"ADD_ONION NEW:ED25519-V3 Flags=DiscardPK "
                        b"Port=80,1\r\n")
        m = re.search(rb"^250-ServiceID=([a-z2-7]{56})\r\n", rep, re.M)
        assert m, rep
        assert d.command(b"DEL_ONION " + m.group(1) + b"\r\n") == OK
    return m.group(1)


def empty(key, reply):
    """Is reply key's restricted answer with nothing of the client's? (One
    foreign entry comes as 250-KEY=, several as a data block.)"""
    return reply in (b"250-%s=\r\n250 OK\r\n" % key,
                     b"250+%s=\r\n.\r\n250 OK\r\n" % key)


def x25519_key():
    return base64.b64encode(bytes(range(1, 33)))


class RepliesTest(unittest.TestCase):

    def setUp(self):
        self.assertTrue(env.tg.alive(), env.tg.log_text()[-4000:])
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.assertTrue(env.tg.alive(), "torgate died:\n"
                        + env.tg.log_text()[-6000:])

    def session(self):
        c = harness.Client(os.path.join(env.sockdir, "rs.sock"))
        self.clients.append(c)
        self.assertEqual(c.command(b"AUTHENTICATE\r\n"), OK)
        return c

    def version(self):
        return env.direct.command(b"GETINFO version\r\n")

    def foreign_stream(self):
        """A stream of another client: RESOLVE on a direct connection.
        Returns the unique name tor shows in GETINFO stream-status."""
        name = b"foreign-%d.example" % time.monotonic_ns()
        self.assertEqual(env.direct.command(b"RESOLVE " + name + b"\r\n"),
                         OK)
        try:
            harness.wait_until(
                lambda: name in env.direct.command(
                    b"GETINFO stream-status\r\n"), 5,
                what="the foreign stream in stream-status")
        except TimeoutError:
            self.skipTest("tor keeps no resolve stream to hide")
        return name

    def assert_lost_track(self, c, name):
        """c gets the 551 line and its connection closes; nothing it got
        names the foreign stream."""
        rest = c.expect_closed()
        got = bytes(c.buf) + rest
        self.assertIn(LOST, got)
        self.assertNotIn(name, got)
        return got

    # -- tor as it is -------------------------------------------------

    def test_tor_answers_client_auth_add_twice(self):
        """What router.c's table says of tor (if a tor fixes it, the
        table and this test are to be updated)."""
        addr = onion_address()
        with env.tor.direct() as d:
            d.send(b"ONION_CLIENT_AUTH_ADD " + addr + b" x25519:"
                   + x25519_key() + b" ClientName=" + b"n" * 17
                   + b"\r\nGETINFO version\r\n")
            first, second = d.read_replies(2)
            self.assertEqual(first,
                             b"512 ClientName longer than 16 chars\r\n")
            self.assertEqual(second, OK)
            self.assertEqual(d.read_reply(), self.version())
            d.command(b"ONION_CLIENT_AUTH_REMOVE " + addr + b"\r\n")

    def test_tor_never_answers_hspost_without_address(self):
        with env.tor.direct() as d:
            d.send(b"+HSPOST\r\nnot a descriptor\r\n.\r\n"
                   b"GETINFO version\r\n")
            self.assertEqual(d.read_reply(), self.version())

    # -- forms torgate answers itself -----------------------------------

    def test_client_auth_add_long_name_then_restricted_status(self):
        """The case from the review: the 512 comes from torgate, tor never
        sees the command, and the restricted answer that follows is
        filtered."""
        name = self.foreign_stream()
        addr = onion_address()
        c = self.session()
        m = env.faulty.mark()
        c.send(b"ONION_CLIENT_AUTH_ADD " + addr + b" x25519:" + x25519_key()
               + b" ClientName=" + b"n" * 17 + b"\r\n"
               b"GETINFO stream-status\r\nGETINFO version\r\n")
        r = c.read_replies(3)
        self.assertEqual(r[0], b"512 ClientName longer than 16 chars\r\n")
        self.assertTrue(empty(b"stream-status", r[1]), r[1])
        self.assertEqual(r[2], self.version())
        self.assertNotIn(b"ONION_CLIENT_AUTH_ADD", env.faulty.since(m))
        self.assertNotIn(name, b"".join(r))

    def test_rewritten_into_restricted_key(self):
        """A profile's rewrite that asks tor for stream-status is
        filtered like the client asking for it: what tor receives
        decides, not what the client sent."""
        name = self.foreign_stream()
        c = self.session()
        rep = c.command(b"GETINFO my-streams\r\n")
        self.assertNotIn(name, rep)
        self.assertTrue(empty(b"stream-status", rep), rep)

    def test_client_auth_add_long_quoted_name(self):
        c = self.session()
        addr = onion_address()
        self.assertEqual(
            c.command(b"ONION_CLIENT_AUTH_ADD " + addr + b" x25519:"
                      + x25519_key() + b' ClientName="n n n n n n n n n"'
                      b"\r\n"),
            b"512 ClientName longer than 16 chars\r\n")
        self.assertEqual(c.command(b"GETINFO version\r\n"), self.version())

    def test_client_auth_add_name_at_limit_reaches_tor(self):
        c = self.session()
        addr = onion_address()
        self.assertEqual(
            c.command(b"ONION_CLIENT_AUTH_ADD " + addr + b" x25519:"
                      + x25519_key() + b" ClientName=" + b"n" * 16
                      + b"\r\n"), OK)
        self.assertEqual(c.command(b"GETINFO version\r\n"), self.version())
        env.direct.command(b"ONION_CLIENT_AUTH_REMOVE " + addr + b"\r\n")

    def test_hspost_without_address(self):
        c = self.session()
        m = env.faulty.mark()
        c.send(b"+HSPOST\r\nnot a descriptor\r\n.\r\nGETINFO version\r\n")
        self.assertEqual(c.read_replies(2), [
            b"512 HSPOST needs HSADDRESS=\r\n", self.version()])
        self.assertNotIn(b"HSPOST", env.faulty.since(m))

    def test_add_onion_client_auth(self):
        c = self.session()
        self.assertEqual(
            c.command(b"ADD_ONION NEW:BEST ClientAuth=bob Port=80,1\r\n"),
            b'512 Unrecognized keyword argument "ClientAuth"\r\n')
        # tor's own error where tor gives one.
        self.assertEqual(
            c.command(b"ADD_ONION NEW:BEST Flags=BasicAuth Port=80,1 "
                      b"ClientAuth=bob\r\n"),
            b"512 Invalid 'Flags' argument: \"BasicAuth\"\r\n")
        self.assertEqual(c.command(b"GETINFO version\r\n"), self.version())

    # -- what torgate does not know: the fences -------------------------

    def test_double_reply_before_restricted_status(self):
        """tor answers a plain command twice: the restricted GETINFO's
        fence no longer matches, the client is told and disconnected, and
        the unfiltered answer reaches no command."""
        name = self.foreign_stream()
        c = self.session()
        c.send(b"GETINFO dup/version\r\nGETINFO stream-status\r\n"
               b"GETINFO version\r\n")
        self.assertEqual(c.read_reply(), self.version())
        self.assert_lost_track(c, name)
        self.assertRegex(env.tg.log_text(),
                         r"profile rs: torgate lost track of tor's replies")

    def test_no_reply_before_restricted_status(self):
        name = self.foreign_stream()
        c = self.session()
        c.send(b"GETINFO none/version\r\nGETINFO stream-status\r\n"
               b"GETINFO version\r\n")
        got = self.assert_lost_track(c, name)
        self.assertNotIn(b"stream-status=", got)

    def test_double_reply_after_restricted_status(self):
        """A plain command answered twice after the restricted one: the
        restricted answer was already filtered; the client is told at the
        next checked command."""
        name = self.foreign_stream()
        c = self.session()
        c.send(b"GETINFO stream-status\r\nGETINFO dup/version\r\n"
               b"GETINFO version\r\nGETINFO stream-status\r\n")
        r = c.read_reply()
        self.assertTrue(empty(b"stream-status", r), r)
        self.assertEqual(c.read_replies(2), [self.version()] * 2)
        self.assert_lost_track(c, name)

    def test_double_reply_without_checked_command(self):
        """Plain replies shift among plain commands (the client gets what
        tor said, as without torgate), and the first reply to no command
        ends the session."""
        c = self.session()
        c.send(b"GETINFO dup/version\r\n")
        self.assertEqual(c.read_reply(), self.version())
        got = c.expect_closed()
        self.assertIn(LOST, bytes(c.buf) + got)

    # -- ordinary traffic ---------------------------------------------

    def test_pipelined_checked_and_plain(self):
        """Fences go around checked commands only, are shared between
        consecutive ones, and no client sees them. (The session's first
        command, torgate's own SETEVENTS STREAM, ends with a fence: the
        first GETINFO stream-status needs none before it.)"""
        self.foreign_stream()
        c = self.session()
        m = env.faulty.mark()
        c.send(b"GETINFO stream-status\r\nGETINFO circuit-status\r\n"
               b"GETINFO version\r\nGETINFO version\r\n"
               b"GETINFO stream-status\r\n")
        r = c.read_replies(5)
        self.assertTrue(empty(b"stream-status", r[0]), r[0])
        self.assertTrue(empty(b"circuit-status", r[1]), r[1])
        self.assertEqual(r[2:4], [self.version()] * 2)
        self.assertTrue(empty(b"stream-status", r[4]), r[4])
        # Less the handshakes of spare upstream connections meanwhile.
        sent = b"".join(
            line for line in env.faulty.since(m).splitlines(keepends=True)
            if not line.startswith(itkit.HANDSHAKE))
        self.assertEqual(FENCE_RE.sub(b"F\r\n", sent),
                         b"GETINFO stream-status\r\nF\r\n"
                         b"GETINFO circuit-status\r\nF\r\n"
                         b"GETINFO version\r\nGETINFO version\r\nF\r\n"
                         b"GETINFO stream-status\r\nF\r\n")
        self.assertEqual(c.command(b"GETINFO version\r\n"), self.version())

    def test_many_pipelined(self):
        c = self.session()
        n = 200
        c.send(b"GETINFO stream-status\r\nGETINFO version\r\n" * n)
        r = c.read_replies(2 * n)
        for i in range(n):
            self.assertTrue(empty(b"stream-status", r[2 * i]), r[2 * i])
            self.assertEqual(r[2 * i + 1], self.version())


if __name__ == "__main__":
    unittest.main(verbosity=2)
