#!/usr/bin/python3
"""Events through torgate: which SETEVENTS a profile allows, what tor is
asked for (suppressed events are not), rewritten and dropped event lines,
and restrict-stream-events (tor-browser-mode).

The events are provoked on the private offline tor from a direct
connection: SETCONF (CONF_CHANGED; WARN for an out-of-range value), SIGNAL
HEARTBEAT / RELOAD (SIGNAL and NOTICE), and RESOLVE, which makes tor emit
STREAM NEWRESOLVE (and, at the next SETCONF, STREAM CLOSED, as the offline
tor closes pending streams when its configuration changes). A direct
observer subscribed to the same events confirms each event was emitted;
since tor writes events to every subscribed connection in the same flush
and in order, a later event (or a reply) reaching the torgate client
proves the earlier ones would have reached it too.

restrict-stream-events attributes a stream to a client by the STREAM
event's SOURCE_ADDR. tor sets SOURCE_ADDR for RESOLVE only on TCP control
connections (the connection's own address); on a unix control socket
there is none. So:
- RestrictTcpUpstreamTest runs torgate against tor's TCP ControlPort: a
  torgate client's RESOLVE then carries SOURCE_ADDR=127.0.0.1:<torgate's
  upstream port>, which matches the client's address (127.0.0.1 for a
  unix-socket client). Streams of other clients are made with
  non-matching SOURCE_ADDRs: a direct TCP connection bound to 127.0.0.2,
  and a direct unix connection (no SOURCE_ADDR at all). These must not
  reach the client. (Two torgate sessions cannot be told apart this way:
  torgate's upstream connections all come from 127.0.0.1.)
- RestrictUnixUpstreamTest is the default deployment (tor's unix control
  socket): the client's own RESOLVE stream must still reach it.
No circuits can be built offline, so CIRC events cannot be provoked; only
the (empty) restricted circuit-status is checked.
"""

import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import itkit  # noqa: E402
from harness import Listener  # noqa: E402
from itkit import OK, BoundClient, GateCase, starts, wait_event  # noqa: E402

env = None
G = {}

EV_PROFILE = """---
- name: ev
  commands:
    GETINFO: ['version']
  events:
    SIGNAL:
      suppress: true
    CONF_CHANGED:
    STATUS_SERVER:
    NOTICE:
      response:
        - pattern: '650 NOTICE (.*)'
          replacement: '650 NOTICE redacted'
    WARN:
      response:
        - pattern: '.*'
          replacement: ''
"""

RESTRICT_PROFILE = """---
- name: %s
  commands:
    GETINFO: ['version', 'circuit-status', 'stream-status']
    RESOLVE: ['\\S+']
  events:
    STREAM:
    CIRC:
    CONF_CHANGED:
  %s: true
"""


def setUpModule():
    global env
    itkit.require_binaries()
    env = itkit.Env(tcp_control=True, tap=True)
    try:
        p = env.profiles()
        p.write("ev.yml", EV_PROFILE)
        p.write("rs.yml", RESTRICT_PROFILE % ("rs", "restrict-stream-events"))
        p.write("tb.yml", RESTRICT_PROFILE % ("tb", "tor-browser-mode"))
        # torgate 1: through the Tap to tor's unix socket
        G["tg1"] = env.torgate([p.dir], [
            Listener(env.sock("ev.sock"), profile="ev"),
            Listener(env.sock("rs.sock"), profile="rs"),
            Listener(env.sock("tb.sock"), profile="tb")])
        # torgate 2: to tor's TCP ControlPort
        G["tg2"] = env.torgate([p.dir], [
            Listener(env.sock("rs2.sock"), profile="rs"),
            Listener(("127.0.0.1", 0), profile="rs")], upstream="tcp")
        G["rs2_tcp"] = G["tg2"].listeners[1].addr
    except BaseException:
        env.close()
        raise


def tearDownModule():
    if env is not None:
        env.close()


class Case(GateCase):
    BARRIER = b"GETINFO version\r\n"

    @classmethod
    def setUpClass(cls):
        cls.env = env

    @classmethod
    def tgs(cls):
        return [G["tg1"], G["tg2"]]

    def s(self, name):
        return self.session(env.sock(name + ".sock"))

    def observer(self, events):
        d = self.fresh_direct()
        self.assertEqual(d.command(b"SETEVENTS " + events + b"\r\n"), OK)
        return d

    def conf_changed(self, value):
        """SETCONF MaxClientCircuitsPending=value on the direct connection;
        returns the CONF_CHANGED event tor emits for it."""
        self.assertEqual(self.ref(b"SETCONF MaxClientCircuitsPending=%d\r\n"
                                  % value), OK)
        return (b"650-CONF_CHANGED\r\n650-MaxClientCircuitsPending=%d\r\n"
                b"650 OK\r\n" % value)

    def sync(self, c, obs, value):
        """Provoke a CONF_CHANGED and wait until both the observer and c
        (subscribed to CONF_CHANGED) have it: every event tor emitted
        before has then reached c."""
        ev = self.conf_changed(value)
        wait_event(obs, lambda e: e == ev, what="observer CONF_CHANGED")
        self.assertEqual(wait_event(c, lambda e: e == ev,
                                    what="CONF_CHANGED %d" % value), ev)

    def setevents(self, c, args, upstream):
        m = env.tap.mark()
        self.assertEqual(c.command(b"SETEVENTS " + args + b"\r\n"), OK)
        got = [l for l in self.tor_lines(m)
               if l.upper().startswith(b"SETEVENTS")]
        self.assertEqual(len(got), 1, got)
        self.assertEqual(sorted(got[0].split()[1:]), sorted(upstream),
                         "tor was asked %r" % got[0])

    def tearDown(self):
        # leave MaxClientCircuitsPending at its default
        try:
            self.ref(b"RESETCONF MaxClientCircuitsPending\r\n")
        finally:
            super().tearDown()


# ---------------------------------------------------------------------------
# F. events under a profile


class EventsTest(Case):

    def test_conf_changed_delivered(self):
        c = self.s("ev")
        self.setevents(c, b"CONF_CHANGED", [b"CONF_CHANGED"])
        for value in (33, 32):
            ev = self.conf_changed(value)
            self.assertEqual(wait_event(c, lambda e: e == ev,
                                        what="%r" % ev), ev)

    def test_event_names_case_insensitive(self):
        c = self.s("ev")
        m = env.tap.mark()
        self.assertEqual(c.command(b"setevents conf_changed\r\n"), OK)
        self.assertTrue(any(l.upper() == b"SETEVENTS CONF_CHANGED"
                            for l in self.tor_lines(m)), self.tor_lines(m))
        ev = self.conf_changed(34)
        self.assertEqual(wait_event(c, lambda e: e == ev, what="%r" % ev), ev)

    def test_suppressed_signal(self):
        obs = self.observer(b"SIGNAL CONF_CHANGED")
        c = self.s("ev")
        self.setevents(c, b"SIGNAL", [])
        self.setevents(c, b"SIGNAL CONF_CHANGED", [b"CONF_CHANGED"])
        for sig in (b"HEARTBEAT", b"RELOAD"):
            self.assertEqual(self.ref(b"SIGNAL " + sig + b"\r\n"), OK)
            wait_event(obs, starts(b"650 SIGNAL " + sig), what="observer "
                       "SIGNAL " + sig.decode())
        self.sync(c, obs, 35)
        self.barrier(c)
        self.assertEqual([e for e in c.events if b"SIGNAL" in e], [])

    def test_unlisted_events_denied(self):
        c = self.s("ev")
        for line in (b"SETEVENTS CIRC", b"SETEVENTS CONF_CHANGED CIRC",
                     b"SETEVENTS CIRC CONF_CHANGED", b"SETEVENTS STREAM",
                     b"SETEVENTS ADDRMAP", b"SETEVENTS EXTENDED CIRC",
                     b"SETEVENTS BOGUS"):
            with self.subTest(line=line):
                self.assert_denied(c, line, b"SETEVENTS",
                                   barrier=self.BARRIER)

    def test_notice_rewritten(self):
        obs = self.observer(b"NOTICE CONF_CHANGED")
        c = self.s("ev")
        self.setevents(c, b"NOTICE CONF_CHANGED", [b"NOTICE",
                                                     b"CONF_CHANGED"])
        self.assertEqual(self.ref(b"SIGNAL HEARTBEAT\r\n"), OK)
        wait_event(obs, starts(b"650 NOTICE Heartbeat"))
        self.assertEqual(wait_event(c, starts(b"650 NOTICE")),
                         b"650 NOTICE redacted\r\n")
        self.sync(c, obs, 36)
        notices = [e for e in c.events if b"NOTICE" in e]
        self.assertTrue(notices)
        for e in notices:
            self.assertEqual(e, b"650 NOTICE redacted\r\n")

    def test_warn_dropped(self):
        obs = self.observer(b"WARN CONF_CHANGED")
        c = self.s("ev")
        self.setevents(c, b"WARN CONF_CHANGED", [b"WARN", b"CONF_CHANGED"])
        try:
            self.assertEqual(self.ref(b"SETCONF MaxCircuitDirtiness=1\r\n"),
                             OK)
            wait_event(obs, starts(b"650 WARN "), what="observer WARN")
        finally:
            self.ref(b"RESETCONF MaxCircuitDirtiness\r\n")
        self.sync(c, obs, 37)
        self.assertEqual([e for e in c.events if b"WARN" in e], [])

    def test_setevents_without_arguments_clears(self):
        obs = self.observer(b"CONF_CHANGED")
        c = self.s("ev")
        self.setevents(c, b"CONF_CHANGED", [b"CONF_CHANGED"])
        self.sync(c, obs, 38)
        self.setevents(c, b"", [])
        ev = self.conf_changed(39)
        wait_event(obs, lambda e: e == ev)
        self.barrier(c)
        time.sleep(0.2)
        self.barrier(c)
        self.assertEqual(c.events, [])


# ---------------------------------------------------------------------------
# G. restrict-stream-events

STREAM_RE = re.compile(rb"^650 STREAM (\d+) (\S+) \d+ (\S+)")


def stream_of(name):
    """Predicate: a STREAM event about the resolve of name."""
    needle = b" " + name + b":0"
    return lambda e: e.startswith(b"650 STREAM ") and needle in e.split(
        b"\r\n")[0]


def resolve_name(tag):
    return b"%s-%d.example" % (tag, int(time.monotonic() * 1e6) % 10**9)


class RestrictTcpUpstreamTest(Case):
    """torgate 2 (tor's TCP control port): see the module docstring."""

    def rs(self):
        return self.session(env.sock("rs2.sock"))

    def other_tcp(self):
        c = self.track(BoundClient(env.tor.tcp_addr, "127.0.0.2"))
        self.assertEqual(harness.authenticate_safecookie(
            c, env.tor.cookie()), OK)
        return c

    def resolve(self, c, name):
        self.assertEqual(c.command(b"RESOLVE " + name + b"\r\n"), OK)

    def test_own_and_foreign_streams(self):
        obs = self.observer(b"STREAM CONF_CHANGED")
        c = self.rs()
        self.assertEqual(c.command(b"SETEVENTS STREAM CONF_CHANGED\r\n"), OK)
        own = resolve_name(b"own")
        self.resolve(c, own)
        want = wait_event(obs, stream_of(own))
        self.assertIn(b" NEWRESOLVE ", want)
        self.assertIn(b" SOURCE_ADDR=127.0.0.1:", want)
        self.assertEqual(wait_event(c, stream_of(own), what="own stream"),
                         want)
        own_id = STREAM_RE.match(want).group(1)

        # foreign streams: from 127.0.0.2 over TCP, and over unix
        foreign = []
        for conn, tag in ((self.other_tcp(), b"tcp"),
                          (self.fresh_direct(), b"unix")):
            name = resolve_name(b"foreign-" + tag)
            self.resolve(conn, name)
            ev = wait_event(obs, stream_of(name))
            if tag == b"tcp":
                self.assertIn(b" SOURCE_ADDR=127.0.0.2:", ev)
            else:
                self.assertNotIn(b"SOURCE_ADDR=", ev)
            foreign.append((name, STREAM_RE.match(ev).group(1)))
        own2 = resolve_name(b"own2")
        self.resolve(c, own2)
        wait_event(obs, stream_of(own2))
        own2_ev = wait_event(c, stream_of(own2), what="own stream 2")
        own2_id = STREAM_RE.match(own2_ev).group(1)
        for name, _ in foreign:
            self.assertEqual([e for e in c.events if stream_of(name)(e)], [],
                             "foreign stream %r reached the client" % name)

        # stream-status: only the client's own
        st = self.ref(b"GETINFO stream-status\r\n")
        for _, sid in foreign:
            self.assertIn(b"\r\n" + sid + b" ", st)
        got = c.command(b"GETINFO stream-status\r\n")
        ids = set(re.findall(rb"(?m)^(?:250-stream-status=)?(\d+) \S+ \d+ ",
                             got))
        self.assertEqual(ids, {own_id, own2_id},
                         "restricted stream-status %r" % got)
        self.assertTrue(got.endswith(b"250 OK\r\n"), got)

        # CLOSED (at the next configuration change): own ones only
        self.sync(c, obs, 40)
        closed = lambda i: (lambda e: e.startswith(  # noqa: E731
            b"650 STREAM " + i + b" CLOSED "))
        for i in (own_id, own2_id):
            wait_event(c, closed(i), what="own stream %s CLOSED" % i)
        for _, i in foreign:
            wait_event(obs, closed(i))
        own3 = resolve_name(b"own3")
        self.resolve(c, own3)
        wait_event(c, stream_of(own3), what="own stream 3")
        for _, i in foreign:
            self.assertEqual([e for e in c.events if closed(i)(e)], [])

    def test_tcp_listener_client(self):
        # a client on torgate's TCP listener from 127.0.0.1 is local as
        # well: its own stream reaches it, a 127.0.0.2 one does not
        obs = self.observer(b"STREAM")
        c = self.session(G["rs2_tcp"])
        self.assertEqual(c.command(b"SETEVENTS STREAM\r\n"), OK)
        other = resolve_name(b"other")
        self.resolve(self.other_tcp(), other)
        wait_event(obs, stream_of(other))
        own = resolve_name(b"own")
        self.resolve(c, own)
        wait_event(obs, stream_of(own))
        wait_event(c, stream_of(own), what="own stream")
        self.assertEqual([e for e in c.events if stream_of(other)(e)], [])

    def test_circuit_status_empty(self):
        # no circuits offline: tor's answer is empty, and so is the
        # client's
        c = self.rs()
        self.assertEqual(c.command(b"GETINFO circuit-status\r\n"),
                         self.ref(b"GETINFO circuit-status\r\n"))
        self.assertEqual(c.command(b"GETINFO circuit-status\r\n"),
                         b"250-circuit-status=\r\n250 OK\r\n")


class RestrictUnixUpstreamTest(Case):
    """torgate 1 (tor's unix socket through the Tap)."""

    def test_own_stream_seen(self):
        for prof in ("rs", "tb"):
            with self.subTest(profile=prof):
                obs = self.observer(b"STREAM")
                c = self.s(prof)
                self.assertEqual(c.command(b"SETEVENTS STREAM\r\n"), OK)
                own = resolve_name(b"own-" + prof.encode())
                self.assertEqual(c.command(b"RESOLVE " + own + b"\r\n"), OK)
                want = wait_event(obs, stream_of(own))
                self.assertEqual(wait_event(c, stream_of(own),
                                            what="own stream"), want)

    def test_foreign_streams_dropped(self):
        for prof, value in (("rs", 41), ("tb", 42)):
            with self.subTest(profile=prof):
                obs = self.observer(b"STREAM CONF_CHANGED")
                c = self.s(prof)
                self.assertEqual(
                    c.command(b"SETEVENTS STREAM CONF_CHANGED\r\n"), OK)
                other = resolve_name(b"other")
                self.assertEqual(self.fresh_direct().command(
                    b"RESOLVE " + other + b"\r\n"), OK)
                wait_event(obs, stream_of(other))
                self.sync(c, obs, value)
                self.assertEqual([e for e in c.events if b"STREAM" in e], [])


del GateCase


if __name__ == "__main__":
    unittest.main(verbosity=2)
