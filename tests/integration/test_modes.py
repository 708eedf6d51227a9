#!/usr/bin/python3
"""torgate's modes: --complain, --learn DIR, --check, and SIGHUP reloads.

Each test starts its own torgate in front of the module's private tor
(through a Tap, to see what tor receives).
"""

import os
import re
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import itkit  # noqa: E402
from harness import Listener, wait_until  # noqa: E402
from itkit import FILTERED, OK, GateCase  # noqa: E402

env = None

ERROR_RE = re.compile(r"^(.+\.ya?ml):(\d+):(\d+): error: \S.*$")


def setUpModule():
    global env
    itkit.require_binaries()
    env = itkit.Env(tcp_control=False, tap=True)


def tearDownModule():
    if env is not None:
        env.close()


class Case(GateCase):

    @classmethod
    def setUpClass(cls):
        cls.env = env

    def setUp(self):
        self.daemons = []
        super().setUp()

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            problems = [env.stop_daemon(tg) for tg in self.daemons]
            problems = [p for p in problems if p]
            if problems:
                self.fail("\n".join(problems))

    def tgs(self):
        return getattr(self, "daemons", [])

    def start(self, dirs, profile, extra_args=()):
        path = env.sock("%s-%d.sock" % (profile, len(env.daemons)))
        tg = env.torgate(dirs, [Listener(path, profile=profile)],
                         extra_args=extra_args)
        self.daemons.append(tg)
        return tg, path

    def same(self, c, cmd):
        self.assertEqual(c.command(cmd + b"\r\n"), self.ref(cmd + b"\r\n"),
                         cmd)


class ComplainTest(Case):

    def test_denied_is_forwarded_and_logged(self):
        p = env.profiles()
        p.add("app", {"GETINFO": ["version"]})
        tg, path = self.start([p.dir], "app", ["--complain"])
        c = self.session(path)
        self.same(c, b"GETINFO version")
        m = env.tap.mark()
        self.same(c, b"GETINFO config-file")
        self.assert_tor_got(b"GETINFO config-file", mark=m)
        m = env.tap.mark()
        self.assertEqual(c.command(b"SETEVENTS CONF_CHANGED\r\n"), OK)
        self.assert_tor_got(b"SETEVENTS CONF_CHANGED", mark=m)
        lines = [l for l in tg.log_text().splitlines() if "would deny" in l]
        self.assertTrue(any("app" in l and "GETINFO config-file" in l
                            for l in lines),
                        "no 'would deny' line naming the profile and the "
                        "command:\n" + tg.log_text()[-4000:])
        self.assertTrue(any("app" in l and "SETEVENTS" in l for l in lines),
                        tg.log_text()[-4000:])
        self.assertNotIn("would deny \"GETINFO version", tg.log_text())


class LearnTest(Case):

    COMMANDS = (b"GETINFO version", b"GETINFO version config-file",
                b"GETCONF DisableNetwork", b"GETINFO ip-to-country/1.2.3.4",
                b"GETINFO ns/id/ABCDEF0123456789abcdef")

    def learn(self, profile_dirs, name):
        """Run the commands through a --learn torgate whose listener has
        ,profile=name; return (learn dir, its listing, the log)."""
        learn_dir = env.tempdir("tgt-learn-")
        tg, path = self.start(profile_dirs, name, ["--learn", learn_dir])
        c = self.session(path)
        for cmd in self.COMMANDS:
            self.same(c, cmd)
        self.assertEqual(c.command(b"SETEVENTS CONF_CHANGED "
                                   b"STATUS_CLIENT\r\n"), OK)
        self.assertEqual(c.command(b"QUIT\r\n"), itkit.CLOSING)
        c.expect_closed()
        out = os.path.join(learn_dir, name + ".yml")
        try:
            wait_until(lambda: os.path.exists(out), 5,
                       what="learned profile %s" % out)
        except TimeoutError:
            self.fail("no %s.yml; the learn directory holds %r; log:\n%s"
                      % (name, os.listdir(learn_dir),
                         tg.log_text()[-3000:]))
        return learn_dir

    def enforce(self, learn_dir, name):
        with open(os.path.join(learn_dir, name + ".yml")) as f:
            text = f.read()
        rc, check = itkit.run_check([learn_dir])
        self.assertEqual(rc, 0, check + "\n" + text)
        self.assertNotRegex(check, r": error: ")
        tg, path = self.start([learn_dir], name)
        c = self.session(path)
        for cmd in self.COMMANDS:
            with self.subTest(cmd=cmd):
                self.same(c, cmd)
        self.assertEqual(c.command(b"SETEVENTS CONF_CHANGED "
                                   b"STATUS_CLIENT\r\n"), OK, text)
        self.assertEqual(c.command(b"SETEVENTS STATUS_CLIENT\r\n"), OK, text)
        for line in (b"GETINFO address", b"GETINFO config-file",
                     b"GETINFO version address", b"GETINFO ip-to-country/1",
                     b"GETINFO ip-to-country/1.2.3.45", b"GETCONF SocksPort",
                     b"SIGNAL SHUTDOWN", b"SETEVENTS CIRC",
                     b"SETEVENTS CONF_CHANGED CIRC"):
            with self.subTest(line=line):
                self.assert_denied(c, line)

    def test_learn_new_profile(self):
        # learning an application that has no profile yet: the listener
        # names the profile to be written
        p = env.profiles()
        p.add("other", {"GETINFO": ["version"]})
        d = self.learn([p.dir], "newapp")
        self.enforce(d, "newapp")

    def test_learn_existing_profile(self):
        # the listener's profile exists (and allows less than is sent)
        p = env.profiles()
        p.add("seed", {"GETINFO": ["version"]})
        d = self.learn([p.dir], "seed")
        self.enforce(d, "seed")


class LearnSecretsTest(Case):
    """--learn (with --debug) on commands that carry secrets: a private
    key tor made, a client auth key and a v2 cookie, a hashed control
    password. None of their bytes reaches the learned profile or the log;
    the profile loads and allows the commands it was learnt from."""

    ONION = b"m5bmcnsk64naezc26scz2xb3l3n2nd5xobsljljrpvf77tclmykn7wid"
    X25519 = b"uBKh6DGrkcFxB1adYuyKQltUDDUT9IZrOsne3nfHbHI="
    COOKIE = b"dCmx3SAvBQZPFgPdG4rOjQ"
    HASH = b"16:E5A7F1D0A8C51F9D60B2AA5C3D2B73A1D86F3AF1B0A2E3D4C5B6A7988A"

    def new_key(self):
        """A fresh ED25519-V3 key from tor (its service removed)."""
        with env.tor.direct() as d:
            rep = d.command(b"ADD_ONION NEW:ED25519-V3 Port=80,1\r\n")
            m = re.search(rb"^250-ServiceID=(\S+)\r\n250-PrivateKey="
                          rb"ED25519-V3:(\S+)\r\n", rep, re.M)
            self.assertIsNotNone(m, rep)
            self.assertEqual(d.command(b"DEL_ONION " + m.group(1) +
                                       b"\r\n"), OK)
        return m.group(2)

    def test_no_secret_learnt_or_logged(self):
        key = self.new_key()
        p = env.profiles()
        p.add("keys", {"GETINFO": ["version"]})
        learn_dir = env.tempdir("tgt-learn-")
        tg, path = self.start([p.dir], "keys", ["--learn", learn_dir])
        c = self.session(path)
        cmds = [
            b"ADD_ONION ED25519-V3:" + key + b" Port=80,127.0.0.1:1",
            b"ONION_CLIENT_AUTH_ADD " + self.ONION + b" x25519:" +
            self.X25519,
            # the unknown option makes tor refuse the whole command
            b"SETCONF HashedControlPassword=" + self.HASH +
            b" NoSuchOption=1",
        ]
        for cmd in cmds:
            r = c.command(cmd + b"\r\n")
            self.assertNotEqual(r, FILTERED, cmd)
            m = re.match(rb"250-ServiceID=(\S+)\r\n", r)
            if m:
                self.assertEqual(c.command(b"DEL_ONION " + m.group(1) +
                                           b"\r\n"), OK)
        # tor (0.4.9) never answers an ADD_ONION with a v2 ClientAuth=, so
        # torgate answers it itself (router.c) and learns it all the same.
        r = c.command(b"ADD_ONION NEW:BEST Port=80,1 ClientAuth=bob:" +
                      self.COOKIE + b"\r\n")
        self.assertTrue(r.startswith(b"5"), r)
        c.close()
        out = os.path.join(learn_dir, "keys.yml")
        wait_until(lambda: os.path.exists(out), 5, what=out)
        with open(out, "rb") as f:
            learnt = f.read()
        log = tg.log_text().encode()
        for secret in (key, key[:40], self.X25519, self.COOKIE,
                       self.HASH[3:], self.HASH[3:40]):
            with self.subTest(secret=secret[:12]):
                self.assertNotIn(secret, learnt)
                self.assertNotIn(secret, log)
        rc, check = itkit.run_check([learn_dir])
        self.assertEqual(rc, 0, check + "\n" + learnt.decode())
        # Enforced, the learnt profile allows the command with the key.
        tg2, path2 = self.start([learn_dir], "keys")
        c2 = self.session(path2)
        r = c2.command(cmds[0] + b"\r\n")
        m = re.match(rb"250-ServiceID=(\S+)\r\n", r)
        self.assertIsNotNone(m, r + learnt)
        self.assertEqual(c2.command(b"DEL_ONION " + m.group(1) + b"\r\n"),
                         OK)


class CheckTest(unittest.TestCase):

    def write(self, d, name, text):
        with open(os.path.join(d, name), "w") as f:
            f.write(text)

    def errors(self, out):
        return [ERROR_RE.match(l) for l in out.splitlines()
                if ERROR_RE.match(l)]

    def test_bad_regex(self):
        d = env.tempdir("tgt-bad-")
        self.write(d, "bad.yml", "---\n- name: bad\n  commands:\n"
                   "    GETINFO:\n      - 'version'\n      - 'version('\n")
        rc, out = itkit.run_check([d])
        self.assertEqual(rc, 1, out)
        errs = self.errors(out)
        self.assertTrue(errs, out)
        self.assertEqual(os.path.basename(errs[0].group(1)), "bad.yml")
        self.assertEqual(errs[0].group(2), "6", out)

    def test_unknown_key(self):
        d = env.tempdir("tgt-bad-")
        self.write(d, "unk.yml", "---\n- name: unk\n  commands:\n"
                   "    GETINFO: ['version']\n  frobnicate: true\n")
        rc, out = itkit.run_check([d])
        self.assertEqual(rc, 1, out)
        errs = self.errors(out)
        self.assertTrue(errs, out)
        self.assertEqual(os.path.basename(errs[0].group(1)), "unk.yml")
        self.assertEqual(errs[0].group(2), "5", out)
        self.assertIn("frobnicate", out)

    def test_good_and_bad_together(self):
        d = env.tempdir("tgt-bad-")
        self.write(d, "good.yml", "---\n- name: good\n  commands:\n"
                   "    GETINFO: ['version']\n")
        self.write(d, "bad.yml", "---\n- name: bad\n  commands:\n"
                   "    GETINFO: ['(']\n")
        rc, out = itkit.run_check([d])
        self.assertEqual(rc, 1, out)
        self.assertTrue(self.errors(out), out)

    def test_clean_dir(self):
        d = env.tempdir("tgt-good-")
        self.write(d, "good.yml", "---\n- name: good\n  commands:\n"
                   "    GETINFO: ['version']\n")
        rc, out = itkit.run_check([d])
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.errors(out), [])


class SighupTest(Case):

    V1 = "---\n- name: hup\n  commands:\n    GETINFO: ['version']\n"
    V2 = ("---\n- name: hup\n  commands:\n"
          "    GETINFO: ['version', 'config-file']\n")
    BROKEN = "---\n- name: hup\n  commands:\n    GETINFO: ['version(']\n"

    def replace(self, d, text):
        tmp = os.path.join(d, ".hup.tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, os.path.join(d, "hup.yml"))

    def hup(self, tg, pred, what):
        tg.proc.send_signal(signal.SIGHUP)
        try:
            wait_until(lambda: pred(tg.log_text()), 5, what=what)
        except TimeoutError:
            self.fail("%s; log:\n%s" % (what, tg.log_text()[-4000:]))

    def test_reload(self):
        p = env.profiles()
        self.replace(p.dir, self.V1)
        tg, path = self.start([p.dir], "hup")
        old = self.session(path)
        self.same(old, b"GETINFO version")
        self.assertEqual(old.command(b"GETINFO config-file\r\n"), FILTERED)
        old_idle = self.connect(path)      # connected, not authenticated

        n = tg.log_text().count("loaded 1 profile")
        self.replace(p.dir, self.V2)
        self.hup(tg, lambda t: t.count("loaded 1 profile") > n,
                 "no reload logged after SIGHUP")
        new = self.session(path)
        self.same(new, b"GETINFO config-file")
        self.same(new, b"GETINFO version")
        # sessions started before keep the rules they started with
        self.assertEqual(old.command(b"GETINFO config-file\r\n"), FILTERED)
        self.same(old, b"GETINFO version")
        self.assertEqual(old_idle.command(b"AUTHENTICATE\r\n"), OK)
        self.assertEqual(old_idle.command(b"GETINFO config-file\r\n"),
                         FILTERED)

        # a broken set is not installed: errors logged, V2 stays
        before = tg.log_text()
        self.replace(p.dir, self.BROKEN)
        self.hup(tg, lambda t: len(t) > len(before) and
                 ("reload failed" in t[len(before):] or
                  "not loaded" in t[len(before):]),
                 "no failed reload logged after SIGHUP")
        time.sleep(0.1)
        after = tg.log_text()[len(before):]
        self.assertRegex(after, r"hup\.yml:4:\d+: error: ")
        self.assertTrue(tg.alive())
        newer = self.session(path)
        self.same(newer, b"GETINFO config-file")
        self.same(new, b"GETINFO config-file")


del GateCase


if __name__ == "__main__":
    unittest.main(verbosity=2)
