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

import os
import re
import shutil
import subprocess
import sys
import time
import unittest

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


if __name__ == "__main__":
    itkit.main()
