#!/usr/bin/python3
"""The policy engine end to end: confs semantics for SETCONF/RESETCONF/
GETCONF, multi-key reads and anchoring, DEL_ONION ownership between
profiles, and the guard against onion services that point at a control
port (which no profile can switch off).

One private tor (with a TCP ControlPort too) behind a Tap, one torgate
with a listener per profile. The private tor also gets an unreachable
local bridge, so that the SETCONF DisableNetwork=0 test cannot take it
onto the real network.
"""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import itkit  # noqa: E402
from harness import Listener  # noqa: E402
from itkit import FILTERED, OK, GateCase  # noqa: E402

SID_RE = re.compile(rb"^250-ServiceID=([a-z2-7]{56})\r\n"
                    rb"(?:250-PrivateKey=\S+\r\n)?250 OK\r\n$")

ONION_CMDS = {
    "ADD_ONION": [{"pattern": r"NEW:ED25519-V3 Port=80,(\d+)",
                   "replacement": "NEW:ED25519-V3 Port=80,{} Flags=Detach"}],
    "DEL_ONION": [r"\S+"],
    "GETINFO": ["onions/detached", "onions/current"],
}

env = None
G = {}   # listener addresses by profile name, and the torgate


def setUpModule():
    global env
    itkit.require_binaries()
    env = itkit.Env(tcp_control=True, tap=True,
                    extra_config=["UseBridges 1", "Bridge 127.0.0.1:9"])
    try:
        p = env.profiles()
        p.add("confs", {"GETINFO": ["version"]}, extra=(
            "  confs:\n"
            "    DisableNetwork: ['0', '1']\n"
            "    Bridge: ['.*']\n"
            "    SocksPort: ['']\n"))
        p.add("keys", {"GETINFO": ["version", "config-file"]})
        p.add("alt", {"GETINFO": ["version|config-file"]})
        p.add("onionA", ONION_CMDS)
        p.add("onionB", ONION_CMDS)
        p.add("onionAny", ONION_CMDS, extra="  del-onion-any: true\n")
        p.add("guard", {"ADD_ONION": [".*"], "SETCONF": [".*"],
                        "GETINFO": ["version"]})
        names = ["confs", "keys", "alt", "onionA", "onionB", "onionAny",
                 "guard"]
        ls = [Listener(env.sock(n + ".sock"), profile=n) for n in names]
        ls.append(Listener(("127.0.0.1", 0), profile="guard"))
        tg = env.torgate([p.dir], ls)
        for n, lst in zip(names, tg.listeners):
            G[n] = lst.addr
        G["guard_tcp"] = tg.listeners[-1].addr
        G["tg"] = tg
    except BaseException:
        env.close()
        raise


def tearDownModule():
    if env is not None:
        env.close()


class Case(GateCase):

    @classmethod
    def setUpClass(cls):
        cls.env = env
        cls.tg = G["tg"]

    def s(self, name):
        return self.session(G[name])

    def passes(self, c, cmd, tor_gets=None):
        """cmd (no CRLF) passes: tor receives it (or tor_gets) and its
        reply is tor's own to the same line on a direct connection."""
        m = env.tap.mark()
        rep = c.command(cmd + b"\r\n")
        self.assertNotEqual(rep, FILTERED, "%r was filtered" % cmd)
        self.assert_tor_got(tor_gets or cmd, mark=m)
        return rep


# ---------------------------------------------------------------------------
# B. confs


class ConfsTest(Case):

    def getconf(self, key):
        return self.ref(b"GETCONF " + key + b"\r\n")

    def test_setconf_listed_value(self):
        c = self.s("confs")
        try:
            self.assertEqual(self.passes(c, b"SETCONF DisableNetwork=0"), OK)
            self.assertEqual(self.getconf(b"DisableNetwork"),
                             b"250 DisableNetwork=0\r\n")
        finally:
            self.ref(b"SETCONF DisableNetwork=1\r\n")
        self.assertEqual(self.getconf(b"DisableNetwork"),
                         b"250 DisableNetwork=1\r\n")

    def test_setconf_value_not_listed(self):
        c = self.s("confs")
        for line in (b"SETCONF DisableNetwork=2",
                     b"SETCONF DisableNetwork=01",
                     b"SETCONF DisableNetwork=1x",
                     b"SETCONF DisableNetwork=\"0 1\"",
                     b"SETCONF SocksPort=9050",
                     b"SETCONF SocksPort=0"):
            with self.subTest(line=line):
                self.assert_denied(c, line, line, b"SETCONF")
        self.assertEqual(self.getconf(b"DisableNetwork"),
                         b"250 DisableNetwork=1\r\n")

    def test_every_key_must_be_allowed(self):
        # onion-grater's splice: an allowed key first, anything after it
        c = self.s("confs")
        for line in (b"SETCONF Bridge=x ControlPort=0.0.0.0:9999",
                     b"SETCONF DisableNetwork=1 ControlPort=0.0.0.0:9999",
                     b"SETCONF ControlPort=0.0.0.0:9999 DisableNetwork=1",
                     b'SETCONF Bridge="x ControlPort=0.0.0.0:9999" '
                     b"SocksPort=9050",
                     b"RESETCONF SocksPort ControlPort"):
            with self.subTest(line=line):
                self.assert_denied(c, line, b"ControlPort", b"SETCONF",
                                   b"RESETCONF")

    def test_any_value_pattern(self):
        # Bridge: ['.*'] -> any value goes to tor, which judges it
        c = self.s("confs")
        cmd = b"SETCONF Bridge=notabridge"
        want = self.ref(cmd + b"\r\n")
        m = env.tap.mark()
        self.assertEqual(c.command(cmd + b"\r\n"), want)
        self.assert_tor_got(cmd, mark=m)

    def test_key_case_insensitive(self):
        c = self.s("confs")
        self.assertEqual(self.passes(c, b"SETCONF disablenetwork=1"), OK)
        self.assertEqual(self.passes(c, b"SETCONF DISABLENETWORK=1"), OK)

    def test_quoted_value(self):
        c = self.s("confs")
        self.assertEqual(self.passes(c, b'SETCONF DisableNetwork="1"'), OK)

    def test_reset_allowed_by_empty_value(self):
        c = self.s("confs")
        try:
            self.assertEqual(self.passes(c, b"RESETCONF SocksPort"), OK)
            self.ref(b"SETCONF SocksPort=0\r\n")
            self.assertEqual(self.passes(c, b"SETCONF SocksPort"), OK)
        finally:
            self.ref(b"SETCONF SocksPort=0\r\n")

    def test_reset_not_allowed_without_empty_value(self):
        c = self.s("confs")
        for line in (b"SETCONF DisableNetwork", b"RESETCONF DisableNetwork",
                     b"SETCONF DisableNetwork=", b"RESETCONF Bridge"):
            with self.subTest(line=line):
                self.assert_denied(c, line, line, b"SETCONF", b"RESETCONF")
        self.assertEqual(self.getconf(b"DisableNetwork"),
                         b"250 DisableNetwork=1\r\n")

    def test_getconf_of_listed_keys(self):
        c = self.s("confs")
        for cmd in (b"GETCONF DisableNetwork",
                    b"GETCONF DisableNetwork SocksPort",
                    b"GETCONF socksport disablenetwork Bridge"):
            with self.subTest(cmd=cmd):
                m = env.tap.mark()
                self.assertEqual(c.command(cmd + b"\r\n"),
                                 self.ref(cmd + b"\r\n"))
                self.assert_tor_got(cmd, mark=m)

    def test_getconf_unlisted_key(self):
        c = self.s("confs")
        for line in (b"GETCONF DisableNetwork ControlPort",
                     b"GETCONF ControlPort", b"GETCONF ControlPort SocksPort"):
            with self.subTest(line=line):
                self.assert_denied(c, line, b"ControlPort")


# ---------------------------------------------------------------------------
# C. multi-key reads and anchoring


class MultiKeyTest(Case):

    def same(self, c, cmd):
        self.assertEqual(c.command(cmd + b"\r\n"), self.ref(cmd + b"\r\n"),
                         cmd)

    def test_keys_allowed_together(self):
        c = self.s("keys")
        for cmd in (b"GETINFO version config-file",
                    b"GETINFO config-file version", b"GETINFO version",
                    b"GETINFO version version"):
            with self.subTest(cmd=cmd):
                m = env.tap.mark()
                self.same(c, cmd)
                self.assert_tor_got(cmd, mark=m)

    def test_one_key_not_allowed_denies_all(self):
        c = self.s("keys")
        for line in (b"GETINFO version address", b"GETINFO address version",
                     b"GETINFO version config-file address"):
            with self.subTest(line=line):
                self.assert_denied(c, line, b"address")

    def test_alternation_is_anchored(self):
        c = self.s("alt")
        for cmd in (b"GETINFO version", b"GETINFO config-file",
                    b"GETINFO version config-file"):
            with self.subTest(cmd=cmd):
                self.same(c, cmd)
        for line in (b"GETINFO version address", b"GETINFO address version",
                     b"GETINFO versionaddress", b"GETINFO version|address",
                     b"GETINFO address|version", b"GETINFO xversion",
                     b"GETINFO config-filex", b"GETINFO version|config-file"):
            with self.subTest(line=line):
                self.assert_denied(c, line, line, b"address")

    def test_trailing_whitespace(self):
        c = self.s("keys")
        m = env.tap.mark()
        self.assertEqual(c.command(b"GETINFO version \r\n"),
                         self.ref(b"GETINFO version\r\n"))
        self.assertEqual(c.command(b"GETINFO version config-file \r\n"),
                         self.ref(b"GETINFO version config-file\r\n"))
        self.assertFalse(any(b"address" in l for l in self.tor_lines(m)))

    def test_inner_whitespace(self):
        # tor splits keys on any run of spaces; torgate must either pass
        # the line (tor's own answer) or deny it, and never pass more.
        c = self.s("keys")
        for cmd in (b"GETINFO  version", b"GETINFO version  config-file"):
            with self.subTest(cmd=cmd):
                self.assertIn(c.command(cmd + b"\r\n"),
                              (self.ref(cmd + b"\r\n"), FILTERED))
        self.assert_denied(c, b"GETINFO version  address", b"address")

    def test_key_case_is_significant(self):
        c = self.s("keys")
        self.assertTrue(self.ref(b"GETINFO VERSION\r\n").startswith(b"552"))
        for line in (b"GETINFO VERSION", b"GETINFO Version",
                     b"GETINFO version CONFIG-FILE"):
            with self.subTest(line=line):
                self.assert_denied(c, line)


# ---------------------------------------------------------------------------
# D. DEL_ONION ownership


class OnionOwnershipTest(Case):

    def add(self, c, port):
        m = env.tap.mark()
        rep = c.command(b"ADD_ONION NEW:ED25519-V3 Port=80,%d\r\n" % port)
        mm = SID_RE.match(rep)
        self.assertIsNotNone(mm, rep)
        self.assert_tor_got(b"ADD_ONION NEW:ED25519-V3 Port=80,%d "
                            b"Flags=Detach" % port, mark=m)
        return mm.group(1)

    def detached(self):
        return self.ref(b"GETINFO onions/detached\r\n")

    def test_other_profile_cannot_delete(self):
        a1 = self.s("onionA")
        sid = self.add(a1, 8080)
        self.assertIn(sid, self.detached())
        b = self.s("onionB")
        self.assert_denied(b, b"DEL_ONION " + sid, sid)
        self.assert_denied(b, b"DEL_ONION " + sid.upper(), sid.upper())
        self.assert_denied(b, b"DEL_ONION " + sid + b" ", sid)
        self.assertIn(sid, self.detached())
        # the same profile, on another connection, can
        a1.close()
        a2 = self.s("onionA")
        self.assertEqual(a2.command(b"DEL_ONION " + sid + b"\r\n"), OK)
        self.assertNotIn(sid, self.detached())

    def test_del_onion_any(self):
        a = self.s("onionA")
        sid = self.add(a, 8081)
        anyc = self.s("onionAny")
        self.assertEqual(anyc.command(b"DEL_ONION " + sid + b"\r\n"), OK)
        self.assertNotIn(sid, self.detached())

    def test_service_not_made_through_torgate(self):
        rep = self.ref(b"ADD_ONION NEW:ED25519-V3 Port=80,8082 "
                       b"Flags=Detach,DiscardPK\r\n")
        sid = SID_RE.match(rep).group(1)
        try:
            for n in ("onionA", "onionB"):
                with self.subTest(profile=n):
                    self.assert_denied(self.s(n), b"DEL_ONION " + sid, sid)
            self.assertIn(sid, self.detached())
            anyc = self.s("onionAny")
            self.assertEqual(anyc.command(b"DEL_ONION " + sid + b"\r\n"), OK)
            self.assertNotIn(sid, self.detached())
        finally:
            self.ref(b"DEL_ONION " + sid + b"\r\n")

    def test_owner_profile_deletes_its_own(self):
        b = self.s("onionB")
        sid = self.add(b, 8083)
        a = self.s("onionA")
        self.assert_denied(a, b"DEL_ONION " + sid, sid)
        self.assertEqual(b.command(b"DEL_ONION " + sid + b"\r\n"), OK)
        self.assertNotIn(sid, self.detached())


# ---------------------------------------------------------------------------
# E. the guard


class GuardTest(Case):

    def targets(self):
        tor = env.tor
        port = tor.tcp_addr[1]
        tgp = G["guard_tcp"][1]
        return [
            b"Port=80,%d" % port,
            b"Port=80,127.0.0.1:%d" % port,
            b"Port=80,localhost:%d" % port,
            b"Port=%d" % port,
            b"Port=80,127.0.0.2:%d" % port,
            b"Port=80,0.0.0.0:%d" % port,
            b"Port=80,[::1]:%d" % port,
            b"port=80,unix:" + tor.control_path.encode(),
            b'Port=80,unix:"' + tor.control_path.encode() + b'"',
            b"Port=80,unix:" + G["guard"].encode(),
            b"Port=80,unix:" + G["onionA"].encode(),
            b"Port=80,127.0.0.1:%d" % tgp,
            b"Port=80,%d" % tgp,
            b"Port=80,8080 Port=81,127.0.0.1:%d" % port,
        ]

    def test_add_onion_to_a_control_port_denied(self):
        for addr in (G["guard"], G["guard_tcp"]):
            c = self.session(addr)
            for t in self.targets():
                line = b"ADD_ONION NEW:ED25519-V3 " + t
                with self.subTest(listener=addr, line=line):
                    self.assert_denied(c, line, b"ADD_ONION")

    def test_hidden_service_port_to_control_port_denied(self):
        c = self.s("guard")
        hsdir = os.path.join(env.tempdir("tgt-hs-"), "hs").encode()
        port = env.tor.tcp_addr[1]
        for line in (
                b"SETCONF HiddenServiceDir=" + hsdir
                + b' HiddenServicePort="80 127.0.0.1:%d"' % port,
                b"SETCONF HiddenServiceDir=" + hsdir
                + b' HiddenServicePort="80 %d"' % port,
                b"SETCONF HiddenServiceDir=" + hsdir
                + b' HiddenServicePort="80 unix:'
                + env.tor.control_path.encode() + b'"',
                b"SETCONF HiddenServiceDir=" + hsdir
                + b" HiddenServicePort=%d" % port):
            with self.subTest(line=line):
                self.assert_denied(c, line, b"HiddenService")
        self.assertFalse(os.path.exists(hsdir))

    def test_ordinary_target_passes(self):
        c = self.s("guard")
        for t in (b"Port=80,8080", b"Port=80,127.0.0.1:8080",
                  b"Port=8080"):
            with self.subTest(target=t):
                m = env.tap.mark()
                rep = c.command(b"ADD_ONION NEW:ED25519-V3 " + t + b"\r\n")
                self.assertRegex(rep, SID_RE)
                self.assert_tor_got(b"ADD_ONION NEW:ED25519-V3 " + t, mark=m)


del GateCase


if __name__ == "__main__":
    unittest.main(verbosity=2)
