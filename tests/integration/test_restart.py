#!/usr/bin/python3
"""Tor goes away and comes back under live clients; clients that
half-close.

One private tor is stopped and started again with the same DataDirectory
and control socket (it writes a new cookie each time). Between torgate and
tor sits a relay of this module's own (Relay): it records what each
connection sent to tor, like harness.Tap, and can hold back what torgate
sends, so that a command is certainly in flight (sent by torgate, never
answered) when tor goes away.

Two daemons share the tor:
- "long" waits long for tor (--tor-wait-ms 30000) and lets a client have
  two commands waiting (--tor-wait-commands 2): commands sent while tor
  is away go to the new tor;
- "short" waits 1 s (settings from a config file): the bound is reached
  while tor is still away.

What a client gets for a command tor never answered, or that waited too
long, is torgate's TOR_LOST line, 550 (tor's "Unspecified Tor error").
"""

import os
import re
import select
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import itkit  # noqa: E402
from harness import (Client, ConnectionClosed, Listener, ProfileDir,  # noqa
                     TorInstance, Torgate)
from itkit import OK, FILTERED, starts, wait_event  # noqa: E402

TOR_LOST = b"550 Connection to tor lost\r\n"
BACK = "tor answers again"
HANDSHAKE = itkit.HANDSHAKE

PROFILE = """---
- name: rs
  commands:
    GETINFO: ['version', 'config-file', 'process/pid']
    GETCONF: ['SocksPort', 'ControlPort']
    SIGNAL: ['NEWNYM']
    ADD_ONION: ['NEW:\\S+ Port=80,127.0.0.1:8080 Flags=DiscardPK']
  events:
    SIGNAL:
      suppress: true
    CONF_CHANGED:
    STATUS_GENERAL:
- name: rr
  commands:
    GETINFO: ['version']
    RESOLVE: ['\\S+']
  events:
    STREAM:
  restrict-stream-events: true
"""


class Relay:
    """torgate <-> this relay (unix socket) <-> tor's control socket.

    Records the bytes each connection sent towards tor. While held, bytes
    towards tor are kept back (and lost if the connection ends)."""

    def __init__(self, upstream_path, directory):
        self.upstream = upstream_path
        self.path = os.path.join(directory, "relay.sock")
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.conns = []          # bytearrays: what each sent towards tor
        self.held = False
        self._stop_r, self._stop_w = os.pipe()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(64)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        peers = {}      # sock -> (other, record or None, pending list)
        try:
            while True:
                rl = [self.listener, self._stop_r] + list(peers)
                r, _, _ = select.select(rl, [], [], 0.2)
                if self._stop_r in r:
                    break
                if self.listener in r:
                    cs, _ = self.listener.accept()
                    us = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    try:
                        us.connect(self.upstream)
                    except OSError:
                        cs.close()
                        us.close()
                    else:
                        rec = bytearray()
                        with self.lock:
                            self.conns.append(rec)
                        held = []
                        peers[cs] = (us, rec, held)
                        peers[us] = (cs, None, None)
                for s in r:
                    if s not in peers:
                        continue
                    other, rec, held = peers[s]
                    try:
                        data = s.recv(65536)
                    except OSError:
                        data = b""
                    if data and rec is not None:
                        with self.lock:
                            if self.held:
                                held.append(data)
                                continue
                            rec.extend(data)
                            self.changed.notify_all()
                    if data:
                        try:
                            other.sendall(data)
                            continue
                        except OSError:
                            pass
                    for x in (s, other):
                        peers.pop(x, None)
                        x.close()
                # Release what was held once no longer held.
                with self.lock:
                    release = not self.held
                if release:
                    for s, (other, rec, held) in list(peers.items()):
                        if held:
                            data = b"".join(held)
                            held.clear()
                            with self.lock:
                                rec.extend(data)
                                self.changed.notify_all()
                            try:
                                other.sendall(data)
                            except OSError:
                                pass
        finally:
            for s in list(peers):
                s.close()

    def hold(self, on):
        with self.lock:
            self.held = on

    def mark(self):
        with self.lock:
            return [len(c) for c in self.conns]

    def lines_since(self, mark):
        """Command lines tor received since mark, less torgate's own
        handshake, one list per connection."""
        with self.lock:
            parts = [bytes(c[mark[i]:]) if i < len(mark) else bytes(c)
                     for i, c in enumerate(self.conns)]
        return [[l for l in p.split(b"\r\n")
                 if l and not l.startswith(HANDSHAKE)] for p in parts]

    def all_lines_since(self, mark):
        return [l for p in self.lines_since(mark) for l in p]

    def wait_line(self, line, mark, timeout=10):
        deadline = time.monotonic() + timeout
        while line not in self.all_lines_since(mark):
            if time.monotonic() > deadline:
                raise TimeoutError("tor never received %r; got %r"
                                   % (line, self.lines_since(mark)))
            with self.lock:
                self.changed.wait(0.1)

    def close(self):
        os.write(self._stop_w, b"x")
        self.thread.join(5)
        self.listener.close()
        os.close(self._stop_r)
        os.close(self._stop_w)


class Env:
    tor = relay = profiles = dir = None
    daemons = {}


env = Env()


def start_daemon(name, args):
    path = os.path.join(env.dir, name + ".sock")
    ls = [Listener(path, profile="rs")]
    if name == "long":
        # A restricted (restrict-stream-events) client's listener.
        env.rr_path = os.path.join(env.dir, "rr.sock")
        ls.append(Listener(env.rr_path, profile="rr"))
    tg = Torgate("unix:" + env.relay.path, [env.profiles.dir], ls,
                 extra_args=args, debug=False)
    tg.start()
    env.daemons[name] = (tg, path)


def setUpModule():
    itkit.require_binaries()
    try:
        env.tor = TorInstance().start()
        env.dir = harness._tempdir("tgt-rs-")
        env.relay = Relay(env.tor.control_path, env.dir)
        env.profiles = ProfileDir()
        env.profiles.write("rs.yml", PROFILE)
        # Settings from the command line and from a config file.
        conf = os.path.join(env.dir, "short.yml")
        with open(conf, "w") as f:
            f.write("tor-wait-ms: 1000\ntor-wait-commands: 8\n"
                    "tor-retry-max-ms: 200\n")
        start_daemon("long", ["--tor-wait-ms", "30000",
                              "--tor-wait-commands", "2",
                              "--tor-retry-max-ms", "200"])
        start_daemon("short", ["-c", conf])
    except BaseException:
        tearDownModule()
        raise


def tearDownModule():
    problems = []
    for name, (tg, _) in env.daemons.items():
        alive = tg.alive()
        rc = tg.stop()
        if not alive or rc != 0:
            problems.append("torgate %s died or failed on SIGTERM (%r):\n%s"
                            % (name, rc, tg.log_text()[-6000:]))
        tg.cleanup()
    env.daemons = {}
    if env.relay is not None:
        env.relay.close()
    if env.profiles is not None:
        env.profiles.cleanup()
    if env.tor is not None:
        env.tor.cleanup()
    if env.dir is not None:
        harness.shutil.rmtree(env.dir, ignore_errors=True)
    if problems:
        raise AssertionError("\n\n".join(problems))


def direct_reply(cmd):
    with env.tor.direct() as d:
        return d.command(cmd)


class Base(unittest.TestCase):
    def setUp(self):
        if not env.tor.alive():
            env.tor.start()
        self.clients = []
        self.mark = env.relay.mark()

    def tearDown(self):
        env.relay.hold(False)
        for c in self.clients:
            c.close()
        if not env.tor.alive():
            env.tor.start()
        for name, (tg, _) in env.daemons.items():
            self.assertTrue(tg.alive(), "torgate %s died:\n%s"
                            % (name, tg.log_text()[-6000:]))

    def client(self, which="long", auth=True):
        c = Client(env.rr_path if which == "rr" else env.daemons[which][1])
        self.clients.append(c)
        if auth:
            self.assertEqual(c.command(b"AUTHENTICATE\r\n"), OK)
        return c

    def stop_tor(self):
        self.back = {n: self.log(n).count(BACK) for n in env.daemons}
        env.tor.stop()

    def start_tor(self):
        """Start tor, and wait until every daemon has reached it again
        (a bounded wait on their logs)."""
        env.tor.start()
        for n in env.daemons:
            harness.wait_until(lambda: self.log(n).count(BACK) >
                               self.back[n], 10, what="%s back" % n)

    def restart_tor(self):
        self.stop_tor()
        self.start_tor()

    def log(self, which):
        return env.daemons[which][0].log_text()


class RestartTest(Base):

    def test_session_kept_and_answered_by_the_new_tor(self):
        c = self.client()
        pid1 = direct_reply(b"GETINFO process/pid\r\n")
        self.assertEqual(c.command(b"GETINFO process/pid\r\n"), pid1)
        self.restart_tor()
        pid2 = direct_reply(b"GETINFO process/pid\r\n")
        self.assertNotEqual(pid1, pid2)
        # The same session, the new tor.
        self.assertEqual(c.command(b"GETINFO process/pid\r\n"), pid2)
        self.assertEqual(c.command(b"GETINFO version\r\n"),
                         direct_reply(b"GETINFO version\r\n"))

    def test_in_flight_command_gets_the_error(self):
        c = self.client()
        c2 = self.client()      # before and after the in-flight one
        env.relay.hold(True)
        m = env.relay.mark()
        c.send(b"GETINFO version\r\nPROTOCOLINFO 1\r\n")
        c2.send(b"PROTOCOLINFO\r\n")
        # torgate has sent it (the relay holds it back from tor)...
        time.sleep(0.3)
        self.stop_tor()
        # ... so it may or may not have run: never sent again.
        self.assertEqual(c.read_reply(), TOR_LOST)
        self.assertTrue(c.read_reply().startswith(b"250-PROTOCOLINFO 1"))
        self.assertTrue(c2.read_reply().startswith(b"250-PROTOCOLINFO 1"))
        env.relay.hold(False)
        self.start_tor()
        self.assertEqual(c.command(b"GETINFO version\r\n"),
                         direct_reply(b"GETINFO version\r\n"))
        self.assertEqual(env.relay.all_lines_since(m).count(
            b"GETINFO version"), 1)

    def test_command_sent_while_away_waits_for_the_new_tor(self):
        c = self.client()
        self.stop_tor()
        m = env.relay.mark()
        c.send(b"GETINFO config-file\r\nPROTOCOLINFO\r\n")
        self.start_tor()
        self.assertEqual(c.read_reply(),
                         direct_reply(b"GETINFO config-file\r\n"))
        # A local answer keeps its place behind it.
        self.assertTrue(c.read_reply().startswith(b"250-PROTOCOLINFO 1"))
        env.relay.wait_line(b"GETINFO config-file", m)

    def test_waiting_count_bound(self):
        c = self.client()
        self.stop_tor()
        m = env.relay.mark()
        c.send(b"GETINFO version\r\nGETINFO config-file\r\n"
               b"GETCONF SocksPort\r\n")
        self.start_tor()
        self.assertEqual(c.read_reply(),
                         direct_reply(b"GETINFO version\r\n"))
        self.assertEqual(c.read_reply(),
                         direct_reply(b"GETINFO config-file\r\n"))
        self.assertEqual(c.read_reply(), TOR_LOST)
        self.assertEqual(c.command(b"GETCONF SocksPort\r\n"),
                         direct_reply(b"GETCONF SocksPort\r\n"))
        self.assertEqual(env.relay.all_lines_since(m).count(
            b"GETCONF SocksPort"), 1)
        self.assertIn("tor-wait-commands", self.log("long"))

    def test_waiting_time_bound(self):
        c = self.client("short")
        self.stop_tor()
        m = env.relay.mark()
        c.send(b"GETINFO version\r\nGETINFO config-file\r\n")
        # tor-wait-ms 500: both get the error while tor is still away.
        self.assertEqual(c.read_replies(2), [TOR_LOST, TOR_LOST])
        self.start_tor()
        # The session lives on, with the new tor.
        self.assertEqual(c.command(b"GETINFO version\r\n"),
                         direct_reply(b"GETINFO version\r\n"))
        self.assertNotIn(b"GETINFO config-file",
                         env.relay.all_lines_since(m))

    def test_judged_on_tor_does_not_wait(self):
        # The guard's view of tor's listeners is the old tor's: fail
        # closed.
        c = self.client()
        self.stop_tor()
        m = env.relay.mark()
        self.assertEqual(c.command(b"ADD_ONION NEW:ED25519-V3 "
                                   b"Port=80,127.0.0.1:8080 "
                                   b"Flags=DiscardPK\r\n"), TOR_LOST)
        self.start_tor()
        self.assertEqual(c.command(b"GETINFO version\r\n"),
                         direct_reply(b"GETINFO version\r\n"))
        self.assertFalse([l for l in env.relay.all_lines_since(m)
                          if l.startswith(b"ADD_ONION")])

    def test_events_restored(self):
        c = self.client()
        self.assertEqual(c.command(b"SETEVENTS SIGNAL CONF_CHANGED\r\n"),
                         OK)
        m = env.relay.mark()
        self.restart_tor()
        # The new tor is asked again (but not for the suppressed SIGNAL)
        # as soon as torgate reconnects, which a command makes sure of.
        self.assertEqual(c.command(b"GETINFO version\r\n"),
                         direct_reply(b"GETINFO version\r\n"))
        got = env.relay.lines_since(m)
        restored = [p for p in got if b"GETINFO version" in p]
        self.assertEqual(len(restored), 1, got)
        self.assertEqual(restored[0][0], b"SETEVENTS CONF_CHANGED")
        with env.tor.direct() as d:
            self.assertEqual(d.command(b"SETCONF MaxCircuitDirtiness=1234"
                                       b"\r\n"), OK)
            ev = wait_event(c, starts(b"650-CONF_CHANGED"))
            self.assertIn(b"MaxCircuitDirtiness=1234", ev)
            d.command(b"RESETCONF MaxCircuitDirtiness\r\n")
            self.assertEqual(d.command(b"SIGNAL HEARTBEAT\r\n"), OK)
        # Barrier: no SIGNAL event came before the reply.
        self.assertEqual(c.command(b"SETEVENTS\r\n"), OK)
        self.assertFalse([e for e in c.events if e.startswith(b"650 SIGNAL")])

    def test_events_restored_while_idle(self):
        # The client sends nothing: its events reach it from the new tor
        # all the same (the session reconnects by itself).
        c = self.client()
        self.assertEqual(c.command(b"SETEVENTS CONF_CHANGED\r\n"), OK)
        m = env.relay.mark()
        self.restart_tor()
        deadline = time.monotonic() + 10
        while b"SETEVENTS CONF_CHANGED" not in env.relay.all_lines_since(m):
            self.assertLess(time.monotonic(), deadline,
                            "events not restored: %r"
                            % env.relay.lines_since(m))
            time.sleep(0.05)
        time.sleep(0.2)     # tor's answer to it
        with env.tor.direct() as d:
            self.assertEqual(d.command(b"SETCONF MaxCircuitDirtiness=999"
                                       b"\r\n"), OK)
            ev = wait_event(c, starts(b"650-CONF_CHANGED"))
            self.assertIn(b"MaxCircuitDirtiness=999", ev)
            d.command(b"RESETCONF MaxCircuitDirtiness\r\n")

    def test_connect_while_tor_is_down_waits(self):
        self.stop_tor()
        c = self.client(auth=False)
        c.send(b"AUTHENTICATE\r\nGETINFO version\r\n")
        self.start_tor()
        self.assertEqual(c.read_reply(), OK)
        self.assertEqual(c.read_reply(),
                         direct_reply(b"GETINFO version\r\n"))

    def test_connect_while_tor_is_down_error_line(self):
        self.stop_tor()
        c = self.client("short", auth=False)
        # Not a bare reset: an error line, then the connection closes.
        self.assertEqual(c.expect_closed(), TOR_LOST)
        self.start_tor()
        c = self.client("short")
        self.assertEqual(c.command(b"GETINFO version\r\n"),
                         direct_reply(b"GETINFO version\r\n"))

    def test_preauth_client_waits_and_gets_the_new_cookie(self):
        old = env.tor.cookie()
        c = self.client(auth=False)
        self.restart_tor()
        new = env.tor.cookie()
        self.assertNotEqual(old, new)
        # AUTHCHALLENGE is answered with the new tor's cookie (the server
        # hash verifies against the file as it is now).
        self.assertEqual(harness.authenticate_safecookie(c, new), OK)
        self.assertEqual(c.command(b"GETINFO version\r\n"),
                         direct_reply(b"GETINFO version\r\n"))

    def test_preauth_waits_while_away(self):
        c = self.client("long", auth=False)
        self.stop_tor()
        time.sleep(0.2)
        c.send(b"PROTOCOLINFO 1\r\n")
        self.start_tor()
        rep = c.read_reply()
        version = re.search(rb'VERSION Tor="[^"]*"', rep)
        self.assertIsNotNone(version, rep)
        self.assertEqual(c.command(b"AUTHENTICATE\r\n"), OK)

    def test_preauth_time_bound(self):
        c = self.client("short", auth=False)
        self.stop_tor()
        c.send(b"PROTOCOLINFO 1\r\n")
        self.assertEqual(c.expect_closed(), TOR_LOST)

    def test_many_sessions_survive_several_restarts(self):
        cs = [self.client() for _ in range(8)]
        for c in cs[:4]:
            self.assertEqual(c.command(b"SETEVENTS CONF_CHANGED\r\n"), OK)
        for _ in range(3):
            self.restart_tor()
        want = direct_reply(b"GETINFO process/pid\r\n")
        for c in cs:
            self.assertEqual(c.command(b"GETINFO process/pid\r\n"), want)
        with env.tor.direct() as d:
            d.command(b"SETCONF MaxCircuitDirtiness=777\r\n")
            for c in cs[:4]:
                wait_event(c, starts(b"650-CONF_CHANGED"))
            d.command(b"RESETCONF MaxCircuitDirtiness\r\n")


    def test_restricted_client_forgets_and_follows(self):
        # Stream ids start again in the new tor: what the client owned is
        # forgotten, and torgate's own STREAM subscription is restored.
        c = self.client("rr")
        m = env.relay.mark()
        self.restart_tor()
        self.assertEqual(c.command(b"GETINFO version\r\n"),
                         direct_reply(b"GETINFO version\r\n"))
        got = [p for p in env.relay.lines_since(m)
               if b"GETINFO version" in p]
        self.assertEqual(len(got), 1, env.relay.lines_since(m))
        self.assertEqual(got[0][0], b"SETEVENTS STREAM")
        self.assertEqual(c.command(b"SETEVENTS STREAM\r\n"), OK)
        with env.tor.direct() as d:
            self.assertEqual(d.command(b"SETEVENTS STREAM\r\n"), OK)
            own = b"own-%d.example" % (time.monotonic_ns() % 10**9)
            other = b"other-%d.example" % (time.monotonic_ns() % 10**9)
            self.assertEqual(c.command(b"RESOLVE " + own + b"\r\n"), OK)
            ev = wait_event(c, lambda e: own + b":0" in e)
            self.assertTrue(ev.startswith(b"650 STREAM "), ev)
            with env.tor.direct() as o:
                self.assertEqual(o.command(b"RESOLVE " + other + b"\r\n"),
                                 OK)
            wait_event(d, lambda e: other + b":0" in e)
        self.assertEqual(c.command(b"GETINFO version\r\n"),
                         direct_reply(b"GETINFO version\r\n"))
        self.assertFalse([e for e in c.events if other in e])


class HalfCloseTest(Base):
    """A client that writes its commands and shuts down its sending side
    gets every reply, then EOF -- as from tor itself."""

    PIPELINE = (b"AUTHENTICATE\r\n"
                b"GETINFO version\r\n"
                b"GETINFO address\r\n"
                b"PROTOCOLINFO\r\n"
                b"GETINFO config-file\r\n"
                b"GETINFO version")     # no EOL: never a command

    def half_close(self, c, data):
        c.send(data)
        c.sock.shutdown(socket.SHUT_WR)

    def test_tor_itself(self):
        # What torgate imitates: tor answers what it read before EOF.
        c = env.tor.direct()
        self.clients.append(c)
        self.half_close(c, b"GETINFO version\r\nGETINFO config-file\r\n"
                        b"GETINFO version")
        self.assertEqual(c.read_reply(),
                         direct_reply(b"GETINFO version\r\n"))
        self.assertEqual(c.read_reply(),
                         direct_reply(b"GETINFO config-file\r\n"))
        self.assertEqual(c.expect_closed(), b"")

    def test_pipelined_then_half_close(self):
        c = self.client(auth=False)
        m = env.relay.mark()
        self.half_close(c, self.PIPELINE)
        self.assertEqual(c.read_reply(), OK)
        self.assertEqual(c.read_reply(),
                         direct_reply(b"GETINFO version\r\n"))
        self.assertEqual(c.read_reply(), FILTERED)
        self.assertTrue(c.read_reply().startswith(b"250-PROTOCOLINFO 1"))
        self.assertEqual(c.read_reply(),
                         direct_reply(b"GETINFO config-file\r\n"))
        self.assertEqual(c.expect_closed(), b"")
        lines = env.relay.all_lines_since(m)
        self.assertNotIn(b"GETINFO address", lines)
        self.assertEqual(lines.count(b"GETINFO version"), 1)

    def test_half_close_before_auth(self):
        c = self.client(auth=False)
        self.half_close(c, b"PROTOCOLINFO 1\r\n")
        self.assertTrue(c.read_reply().startswith(b"250-PROTOCOLINFO 1"))
        self.assertEqual(c.expect_closed(), b"")

    def test_half_close_while_waiting_for_tor(self):
        c = self.client()
        self.stop_tor()
        self.half_close(c, b"GETINFO version\r\nPROTOCOLINFO\r\n")
        time.sleep(0.2)
        self.start_tor()
        self.assertEqual(c.read_reply(),
                         direct_reply(b"GETINFO version\r\n"))
        self.assertTrue(c.read_reply().startswith(b"250-PROTOCOLINFO 1"))
        self.assertEqual(c.expect_closed(), b"")

    def test_half_close_with_events(self):
        # Subscribed events do not keep a half-closed session open.
        c = self.client()
        self.half_close(c, b"SETEVENTS CONF_CHANGED\r\n")
        self.assertEqual(c.read_reply(), OK)
        c.expect_closed()


if __name__ == "__main__":
    itkit.main()
