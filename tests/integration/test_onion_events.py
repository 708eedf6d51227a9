#!/usr/bin/env python3
"""restrict-onion-events: HS_DESC and HS_DESC_CONTENT events reach a
client only for onion services its profile created, and for the fetches
it asked for itself (HSFETCH).

An offline tor (DisableNetwork 1) never builds, uploads or fetches a
descriptor, so these tests run torgate in front of a scripted tor that
behaves as tor does for these events: every connection subscribed to
HS_DESC gets every service's events, in tor's formats
(control_events.c). Each ADD_ONION gets a new ServiceID and is followed
by that service's CREATED, UPLOAD and UPLOADED events (and one event
whose address tor did not know, "UNKNOWN"); each HSFETCH by REQUESTED,
RECEIVED and the descriptor (HS_DESC_CONTENT).

The scripted tor answers GETINFO version only once the events of the
commands it answered before are written, so once a client has that
reply, every event meant for it has arrived: no test waits on time.
"""

import os
import socket
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import itkit  # noqa: E402
from harness import Client, Listener, ProfileDir  # noqa: E402
from itkit import FILTERED, OK  # noqa: E402

HSDIR = "$" + "D" * 40 + "~dir"
ELSEWHERE = "e" * 56      # a service of no client of this torgate
VERSION = b"250-version=0.4.9.11\r\n250 OK\r\n"

PROFILE = """---
- name: %(name)s
%(restrict)s
  commands:
    ADD_ONION:
      - 'NEW:ED25519-V3 Port=80,127\\.0\\.0\\.1:8080'
      - 'NEW:ED25519-V3 Flags=Detach Port=80,127\\.0\\.0\\.1:8080'
    HSFETCH:
      - '[a-z2-7]{56}'
    GETINFO:
      - 'version'
  events:
    HS_DESC:
    HS_DESC_CONTENT:
"""


def service_events(sid):
    return ["650 HS_DESC CREATED %s UNKNOWN UNKNOWN d%s" % (sid, sid[:4]),
            "650 HS_DESC UPLOAD %s UNKNOWN %s d%s HSDIR_INDEX=00"
            % (sid, HSDIR, sid[:4]),
            "650 HS_DESC UPLOADED %s UNKNOWN %s" % (sid, HSDIR)]


UNKNOWN_EVENT = "650 HS_DESC REQUESTED UNKNOWN NO_AUTH %s dunk" % HSDIR


def fetch_events(sid):
    return ["650 HS_DESC REQUESTED %s NO_AUTH %s f%s HSDIR_INDEX=01"
            % (sid, HSDIR, sid[:4]),
            "650 HS_DESC RECEIVED %s NO_AUTH %s f%s" % (sid, HSDIR, sid[:4])]


def content_event(sid):
    return ("650+HS_DESC_CONTENT %s f%s %s\r\nhs-descriptor 3\r\n"
            "descriptor-lifetime 180\r\n.\r\n650 OK" % (sid, sid[:4], HSDIR))


class OnionTor:
    """A unix-socket control port answering torgate's handshake, fences,
    GETINFO version, SETEVENTS, ADD_ONION and HSFETCH, and broadcasting
    HS_DESC events as tor does."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "onion-tor.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.lock = threading.Lock()
        # held from a reply to the last of its events: GETINFO version
        # is answered after them
        self.order = threading.Lock()
        self.conns = {}            # socket -> (write lock, event set)
        self.next_sid = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            with self.lock:
                self.conns[c] = (threading.Lock(), set())
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    def _write(self, c, text):
        if not text:
            return
        lock = self.conns[c][0]
        with lock:
            try:
                c.sendall(text.encode())
            except OSError:
                pass

    def _broadcast(self, event, name):
        """Send event (without its final CRLF) to every connection
        subscribed to name."""
        with self.lock:
            targets = [c for c, (_, evs) in self.conns.items()
                       if name in evs]
        for c in targets:
            self._write(c, event + "\r\n")

    def _reply_and_events(self, c, reply, events):
        """Answer c, then send events [(name, text)] to every subscriber,
        c included, as tor does: the reply first."""
        with self.order:
            self._write(c, reply)
            for name, e in events:
                self._broadcast(e, name)

    def handle(self, c, line):
        if line.startswith("PROTOCOLINFO"):
            return ('250-PROTOCOLINFO 1\r\n250-AUTH METHODS=NULL\r\n'
                    '250-VERSION Tor="0.4.9.11"\r\n250 OK\r\n')
        if line.startswith("GETINFO net/listeners/"):
            return ('250-net/listeners/control="unix:/nonexistent"\r\n'
                    '250-net/listeners/socks=\r\n250 OK\r\n')
        if line == "GETINFO version":
            # after the events of commands answered before it
            with self.order:
                return VERSION.decode()
        if line.startswith("GETINFO "):
            # as tor answers a key it does not know (torgate's fences)
            return '552 Unrecognized key "%s"\r\n' % line.split()[1]
        if line.startswith("SETEVENTS"):
            with self.lock:
                evs = self.conns[c][1]
                evs.clear()
                evs.update(line.split()[1:])
            return "250 OK\r\n"
        if line.startswith("ADD_ONION "):
            with self.lock:
                sid = "abcdfghijk"[self.next_sid % 10] * 56
                self.next_sid += 1
            events = service_events(sid) + [UNKNOWN_EVENT]
            self._reply_and_events(c, "250-ServiceID=%s\r\n250 OK\r\n"
                                   % sid, [("HS_DESC", e) for e in events])
            return ""
        if line.startswith("HSFETCH "):
            sid = line.split()[1]
            self._reply_and_events(
                c, "250 OK\r\n", [("HS_DESC", e) for e in fetch_events(sid)]
                + [("HS_DESC_CONTENT", content_event(sid))])
            return ""
        return "250 OK\r\n"

    def _serve(self, c):
        c.settimeout(30)
        buf = b""
        try:
            while True:
                data = c.recv(4096)
                if not data:
                    break
                buf += data
                while b"\r\n" in buf:
                    line, buf = buf.split(b"\r\n", 1)
                    self._write(c, self.handle(c, line.decode()))
        except OSError:
            pass
        finally:
            with self.lock:
                self.conns.pop(c, None)
            c.close()

    def announce_elsewhere(self):
        """The events of a service no client here created (made by
        another controller of this tor)."""
        for e in service_events(ELSEWHERE):
            self._broadcast(e, "HS_DESC")

    def close(self):
        self.stopping = True
        self.sock.close()
        self.thread.join(5)
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def setUpModule():
    itkit.require_binaries()


class OnionEventsTest(unittest.TestCase):

    def setUp(self):
        d = harness._tempdir("tgt-onion-")
        self.addCleanup(__import__("shutil").rmtree, d, True)
        self.tor = OnionTor(d)
        self.addCleanup(self.tor.close)
        prof = ProfileDir(os.path.join(d, "profiles"))
        on = "  restrict-onion-events: true"
        prof.write("appa.yml", PROFILE % {"name": "appa", "restrict": on})
        prof.write("appb.yml", PROFILE % {"name": "appb", "restrict": on})
        # an onion-grater profile: no such key
        prof.write("plain.yml", PROFILE % {"name": "plain", "restrict": ""})
        self.addr = {}
        ls = []
        for name in ("appa", "appb", "plain"):
            ls.append(Listener(os.path.join(d, name + ".sock"), profile=name))
            self.addr[name] = ls[-1].addr
        self.tg = harness.Torgate("unix:" + self.tor.path, [prof.dir], ls)
        self.tg.start()
        self.addCleanup(self.stop_torgate)

    def stop_torgate(self):
        alive = self.tg.alive()
        rc = self.tg.stop()
        log = self.tg.log_text()
        self.tg.cleanup()
        if not alive or rc != 0:
            self.fail("torgate status %r; log:\n%s" % (rc, log[-6000:]))

    def client(self, name, events="HS_DESC HS_DESC_CONTENT"):
        c = Client(self.addr[name])
        self.addCleanup(c.close)
        self.assertEqual(c.command(b"AUTHENTICATE\r\n"), OK)
        if events:
            self.assertEqual(c.command(b"SETEVENTS %s\r\n" % events.encode()),
                             OK)
        return c

    def add_onion(self, c, flags=b""):
        r = c.command(b"ADD_ONION NEW:ED25519-V3 " + flags +
                      b"Port=80,127.0.0.1:8080\r\n")
        self.assertTrue(r.startswith(b"250-ServiceID="), r)
        return r[len(b"250-ServiceID="):r.index(b"\r\n")].decode()

    def seen(self, c):
        """Every event c has been sent so far (a reply to a later command
        comes after them)."""
        self.assertEqual(c.command(b"GETINFO version\r\n"), VERSION)
        out = [e.decode() for e in c.events]
        c.events.clear()
        return out

    @staticmethod
    def one(events):
        return [e + "\r\n" for e in events]

    def test_each_sees_only_its_own_service(self):
        a, b, plain = self.client("appa"), self.client("appb"), \
            self.client("plain")
        sa = self.add_onion(a)
        sb = self.add_onion(b)
        self.assertNotEqual(sa, sb)
        self.assertEqual(self.seen(a), self.one(service_events(sa)))
        self.assertEqual(self.seen(b), self.one(service_events(sb)))
        # without the key (onion-grater's profiles) every service's events
        # pass, with those tor could not name
        self.assertEqual(self.seen(plain), self.one(
            service_events(sa) + [UNKNOWN_EVENT] +
            service_events(sb) + [UNKNOWN_EVENT]))

    def test_service_of_no_client(self):
        a, plain = self.client("appa"), self.client("plain")
        self.tor.announce_elsewhere()
        self.assertEqual(self.seen(a), [])
        self.assertEqual(self.seen(plain), self.one(service_events(ELSEWHERE)))

    def test_profile_owns_services_of_all_its_clients(self):
        # ownership is the profile's, as for DEL_ONION: another client of
        # the same application sees the service, detached ones included
        a1, a2, b = self.client("appa"), self.client("appa"), \
            self.client("appb")
        s1 = self.add_onion(a1)
        s2 = self.add_onion(a2, b"Flags=Detach ")
        want = self.one(service_events(s1) + service_events(s2))
        self.assertEqual(self.seen(a1), want)
        self.assertEqual(self.seen(a2), want)
        self.assertEqual(self.seen(b), [])

    def test_own_fetch_seen_not_others(self):
        a, b = self.client("appa"), self.client("appb")
        sb = self.add_onion(b)
        self.seen(a)
        self.seen(b)
        # a fetches b's service: a sees its fetch (and the descriptor),
        # b sees everything about its own service
        self.assertEqual(a.command(b"HSFETCH %s\r\n" % sb.encode()), OK)
        fetched = self.one(fetch_events(sb)) + [content_event(sb) + "\r\n"]
        self.assertEqual(self.seen(a), fetched)
        self.assertEqual(self.seen(b), fetched)
        # b fetches an address nobody here created: a sees nothing of it
        self.assertEqual(b.command(b"HSFETCH %s\r\n" % ELSEWHERE.encode()),
                         OK)
        self.assertEqual(self.seen(a), [])
        self.assertEqual(self.seen(b), self.one(fetch_events(ELSEWHERE)) +
                         [content_event(ELSEWHERE) + "\r\n"])

    def test_fetch_does_not_open_the_service_events(self):
        # having fetched b's address, a still does not see b publish it
        a, b = self.client("appa"), self.client("appb")
        self.assertEqual(a.command(b"HSFETCH %s\r\n" % ("a" * 56).encode()),
                         OK)
        self.seen(a)
        sb = self.add_onion(b)
        self.assertEqual(sb, "a" * 56)
        self.assertEqual(self.seen(a), [])

    def test_fetch_memory_is_bounded(self):
        # the 16 most recent HSFETCHes are remembered, no more
        a = self.client("appa", events="HS_DESC")
        first = "q" * 56
        later = [ch * 56 for ch in "abcdefghijklmnop"]
        for addr in [first] + later:
            self.assertEqual(a.command(b"HSFETCH %s\r\n" % addr.encode()),
                             OK)
        self.seen(a)
        self.tor._broadcast(fetch_events(first)[1], "HS_DESC")
        self.tor._broadcast(fetch_events(later[0])[1], "HS_DESC")
        self.assertEqual(self.seen(a), self.one(fetch_events(later[0])[1:]))

    def test_filtered_hsfetch_is_not_remembered(self):
        a = self.client("appa")
        self.assertEqual(a.command(b"HSFETCH %s.onion\r\n"
                                   % ("t" * 56).encode()), FILTERED)
        self.tor._broadcast(fetch_events("t" * 56)[0], "HS_DESC")
        self.assertEqual(self.seen(a), [])


if __name__ == "__main__":
    itkit.main()
