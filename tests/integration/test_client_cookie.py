#!/usr/bin/python3
"""torgate's own client cookie (--cookie-file).

torgate makes a fresh 32-byte cookie at start, offers COOKIE and
SAFECOOKIE with it (and no longer NULL), and checks AUTHENTICATE the way
tor checks its own cookie: the same forms accepted, the same answers,
a wrong value refused and the connection closed. tor's cookie is never
offered nor accepted; the cookie never reaches tor nor the log. stem's
authenticate_cookie and authenticate_safecookie work through it.
"""

import json
import os
import pwd
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import itkit  # noqa: E402
from harness import Client, Listener  # noqa: E402
from itkit import OK  # noqa: E402

env = None

WRONG_COOKIE = (b"515 Authentication failed: Authentication cookie did not "
                b"match expected value.\r\n")
WRONG_LENGTH = (b"515 Authentication failed: Wrong length on "
                b"authentication cookie.\r\n")
WRONG_SAFE = (b"515 Authentication failed: Safe cookie response did not "
              b"match expected value.\r\n")
BAD_HEX = (b"551 Invalid hexadecimal encoding.  Maybe you tried a plain "
           b"text password?  If so, the standard requires that you put it "
           b"in double quotes.\r\n")
CANNOT_PARSE = (b"512 Bad arguments to AUTHENTICATE: Cannot parse keyword "
                b"argument(s)\r\n")

# What a stem program does: authenticate with the cookie file named by
# PROTOCOLINFO (or given), then one allowed and one denied command.
STEM_SCRIPT = r"""
import json, sys
import stem, stem.connection, stem.socket
from stem.control import Controller
path, method, cookie = sys.argv[1], sys.argv[2], sys.argv[3]
r = {}
c = Controller(stem.socket.ControlSocketFile(path))
try:
    pi = stem.connection.get_protocolinfo(c)
    r["methods"] = sorted(m for m in pi.auth_methods)
    r["cookie_path"] = pi.cookie_path
    if cookie == "-":
        cookie = pi.cookie_path
    if method == "cookie":
        stem.connection.authenticate_cookie(c, cookie)
    else:
        stem.connection.authenticate_safecookie(c, cookie)
    r["auth"] = "ok"
    r["version"] = c.get_info("version")
    try:
        c.get_info("address")
        r["address"] = "allowed"
    except stem.ControllerError:
        r["address"] = "refused"
except stem.connection.AuthenticationFailure as e:
    r["auth"] = type(e).__name__
print(json.dumps(r))
"""


def setUpModule():
    global env
    itkit.require_binaries()
    env = itkit.Env(tcp_control=False, tap=True)


def tearDownModule():
    if env is not None:
        env.close()


class ClientCookieTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.profiles = env.profiles()
        cls.profiles.add("cookie", commands={"GETINFO": ["version"]})
        cls.dir = env.tempdir("tgt-ck-")
        cls.cookie_path = os.path.join(cls.dir, "torgate.authcookie")
        cls.path = env.sock("ck.sock")
        cls.tg = env.torgate([cls.profiles.dir],
                             [Listener(cls.path, profile="cookie")],
                             extra_args=["--cookie-file", cls.cookie_path])

    def cookie(self):
        with open(self.cookie_path, "rb") as f:
            return f.read()

    def connect(self):
        return Client(self.path)

    def assert_closed(self, c):
        self.assertEqual(c.expect_closed(), b"")
        c.close()

    def assert_open(self, c):
        """The session goes on: AUTHENTICATE with the cookie works."""
        self.assertEqual(c.command(b"AUTHENTICATE " +
                                   self.cookie().hex().encode() + b"\r\n"),
                         OK)
        self.assertEqual(c.command(b"GETINFO version\r\n"),
                         b"250-version=%s\r\n250 OK\r\n"
                         % env.tor.version.encode())
        c.close()

    def test_cookie_file(self):
        """32 random bytes, mode 0640, not tor's; as root the worker's."""
        st = os.stat(self.cookie_path)
        self.assertTrue(stat.S_ISREG(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o640)
        self.assertEqual(st.st_size, 32)
        self.assertNotEqual(self.cookie(), env.tor.cookie())
        if harness.AS_ROOT:
            self.assertEqual(st.st_uid,
                             pwd.getpwnam(harness.WORKER_USER).pw_uid)
            self.assertEqual(st.st_gid, harness.WORKER_GID)
        # nothing left beside it (the temporary file was renamed)
        self.assertEqual(os.listdir(self.dir), ["torgate.authcookie"])

    def test_protocolinfo_exact(self):
        c = self.connect()
        want = (b'250-PROTOCOLINFO 1\r\n'
                b'250-AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE="%s"\r\n'
                b'250-VERSION Tor="%s"\r\n250 OK\r\n'
                % (self.cookie_path.encode(), env.tor.version.encode()))
        self.assertEqual(c.command(b"PROTOCOLINFO 1\r\n"), want)
        c.close()

    def test_cookie_forms_tor_accepts(self):
        ck = self.cookie()
        for arg in (ck.hex(), ck.hex().upper(), "  " + ck.hex() + "  ",
                    "\t" + ck.hex()):
            with self.subTest(arg=arg):
                c = self.connect()
                self.assertEqual(c.command(b"AUTHENTICATE " + arg.encode()
                                           + b"\r\n"), OK)
                c.close()
        # The QuotedString form: each byte escaped (decode_qstring takes
        # the character after a backslash as it is); tor cannot take a
        # cookie with a NUL, CR or LF this way, and neither can torgate.
        if not set(ck) & {0, 10, 13}:
            q = b'"' + b"".join(b"\\" + bytes([x]) for x in ck) + b'"'
            c = self.connect()
            self.assertEqual(c.command(b"AUTHENTICATE " + q + b"\r\n"), OK)
            c.close()

    def test_wrong_cookie_refused_and_closed(self):
        ck = self.cookie()
        bad = bytes([ck[0] ^ 1]) + ck[1:]
        mark = env.tap.mark()
        for line, want in (
                (b"AUTHENTICATE " + bad.hex().encode(), WRONG_COOKIE),
                (b"AUTHENTICATE " + env.tor.cookie().hex().encode(),
                 WRONG_COOKIE),
                (b"AUTHENTICATE", WRONG_LENGTH),          # NULL
                (b'AUTHENTICATE ""', WRONG_LENGTH),
                (b"AUTHENTICATE " + ck.hex().encode()[:-2], WRONG_LENGTH),
                (b"AUTHENTICATE " + ck.hex().encode() + b"00", WRONG_LENGTH),
                (b"AUTHENTICATE " + ck.hex().encode()[:-1], BAD_HEX),
                (b"AUTHENTICATE " + b"zz" * 32, BAD_HEX),
                (b"AUTHENTICATE " + ck.hex().encode() + b" 00",
                 b"512 Too many arguments to AUTHENTICATE.\r\n"),
                (b"AUTHENTICATE x=" + ck.hex().encode(),
                 b"512 AUTHENTICATE does not accept keyword arguments.\r\n")):
            with self.subTest(line=line):
                c = self.connect()
                self.assertEqual(c.command(line + b"\r\n"), want)
                self.assert_closed(c)
        # torgate's cookie never reaches tor
        self.assertNotIn(ck.hex().encode(), env.tap.sent_since(mark).lower())

    def test_unparsable_keeps_the_session(self):
        """As tor: 512, the connection stays, and may authenticate."""
        for line in (b'AUTHENTICATE "abc', b"AUTHENTICATE =ab"):
            with self.subTest(line=line):
                c = self.connect()
                self.assertEqual(c.command(line + b"\r\n"), CANNOT_PARSE)
                self.assert_open(c)

    def test_not_authenticated_is_not_served(self):
        c = self.connect()
        self.assertEqual(c.command(b"GETINFO version\r\n"),
                         b"514 Authentication required.\r\n")
        self.assert_closed(c)

    def test_safecookie(self):
        ck = self.cookie()
        c = self.connect()
        self.assertEqual(harness.authenticate_safecookie(c, ck), OK)
        self.assert_open(c)

    def test_safecookie_server_hash_is_not_tors(self):
        """AUTHCHALLENGE answers with torgate's cookie: a client holding
        tor's cannot verify it, nor get in with it."""
        c = self.connect()
        with self.assertRaises(harness.HarnessError):
            harness.authenticate_safecookie(c, env.tor.cookie())
        c.close()
        nonce = os.urandom(32)
        c = self.connect()
        r = c.command(b"AUTHCHALLENGE SAFECOOKIE " + nonce.hex().encode()
                      + b"\r\n")
        m = harness.AUTHCHALLENGE_RE.match(r)
        sn = bytes.fromhex(m.group(2).decode())
        ch = harness.safecookie_client_hash(env.tor.cookie(), nonce, sn)
        self.assertEqual(c.command(b"AUTHENTICATE " + ch.hex().encode()
                                   + b"\r\n"), WRONG_SAFE)
        self.assert_closed(c)

    def test_after_authchallenge_only_the_client_hash(self):
        """As tor: once AUTHCHALLENGE is answered, the cookie itself is
        no longer accepted, only the SAFECOOKIE response."""
        c = self.connect()
        r = c.command(b"AUTHCHALLENGE SAFECOOKIE " + b"ab" * 32 + b"\r\n")
        self.assertIsNotNone(harness.AUTHCHALLENGE_RE.match(r))
        self.assertEqual(c.command(b"AUTHENTICATE " +
                                   self.cookie().hex().encode() + b"\r\n"),
                         WRONG_SAFE)
        self.assert_closed(c)
        c = self.connect()
        c.command(b"AUTHCHALLENGE SAFECOOKIE " + b"ab" * 32 + b"\r\n")
        self.assertEqual(c.command(b"AUTHENTICATE " + b"ab" * 31 + b"\r\n"),
                         b"515 Authentication failed: Wrong length for safe "
                         b"cookie response.\r\n")
        self.assert_closed(c)

    def test_reauthenticate_with_a_wrong_cookie_closes(self):
        c = self.connect()
        self.assertEqual(c.command(b"AUTHENTICATE " +
                                   self.cookie().hex().encode() + b"\r\n"),
                         OK)
        self.assertEqual(c.command(b"AUTHENTICATE " + b"00" * 32 + b"\r\n"),
                         WRONG_COOKIE)
        self.assert_closed(c)

    def test_stem(self):
        py = python_with_stem()
        if py is None:
            self.skipTest("python3-stem not installed")
        for method in ("cookie", "safecookie"):
            with self.subTest(method=method):
                r = run_stem(py, self.path, method, "-")
                self.assertEqual(r, {
                    "methods": ["Cookie", "Safecookie"],
                    "cookie_path": self.cookie_path, "auth": "ok",
                    "version": env.tor.version, "address": "refused"})
        # stem holding tor's cookie: refused; with SAFECOOKIE stem finds
        # that torgate's server hash does not match it and gives up
        r = run_stem(py, self.path, "cookie", env.tor.cookie_path)
        self.assertEqual(r["auth"], "IncorrectCookieValue")
        r = run_stem(py, self.path, "safecookie", env.tor.cookie_path)
        self.assertEqual(r["auth"], "AuthSecurityFailure")

    def test_log_has_no_cookie(self):
        ck = self.cookie()
        c = self.connect()
        self.assertEqual(c.command(b"AUTHENTICATE " + ck.hex().encode()
                                   + b"\r\n"), OK)
        c.close()
        c = self.connect()
        self.assertEqual(harness.authenticate_safecookie(c, ck), OK)
        c.close()
        log = self.tg.log_text().lower()
        self.assertIn("authenticated with torgate's cookie", log)
        self.assertNotIn(ck.hex(), log)


class CookieFileLifeTest(unittest.TestCase):
    """A new cookie at every start, replacing the old file; what torgate
    will not replace or cannot make stops it from starting."""

    def setUp(self):
        self.dir = env.tempdir("tgt-ckl-")
        self.profiles = env.profiles()
        self.profiles.add("cookie", commands={"GETINFO": ["version"]})
        self.path = os.path.join(self.dir, "s.sock")

    def start(self, spec):
        return env.torgate([self.profiles.dir],
                           [Listener(self.path, profile="cookie")],
                           extra_args=["--cookie-file", spec], tries=1)

    def stop(self, tg):
        self.assertIsNone(env.stop_daemon(tg))

    def test_fresh_at_every_start(self):
        ck = os.path.join(self.dir, "c")
        tg = self.start(ck + ",mode=0600")
        first = open(ck, "rb").read()
        ino = os.stat(ck).st_ino
        self.assertEqual(stat.S_IMODE(os.stat(ck).st_mode), 0o600)
        self.stop(tg)
        # the file stays after exit (like tor's); the next start replaces
        # it with another inode and another value
        self.assertEqual(open(ck, "rb").read(), first)
        tg = self.start(ck)
        second = open(ck, "rb").read()
        self.assertNotEqual(first, second)
        self.assertNotEqual(os.stat(ck).st_ino, ino)
        self.assertEqual(stat.S_IMODE(os.stat(ck).st_mode), 0o640)
        c = Client(self.path)
        self.assertEqual(c.command(b"AUTHENTICATE " + first.hex().encode()
                                   + b"\r\n"), WRONG_COOKIE)
        c.close()
        self.stop(tg)

    def refused(self, spec, needle):
        tg = harness.Torgate("unix:" + env.tap.path, [self.profiles.dir],
                             [Listener(self.path, profile="cookie")],
                             extra_args=["--cookie-file", spec])
        try:
            with self.assertRaises(harness.HarnessError):
                tg.start(timeout=10)
            self.assertNotEqual(tg.returncode(), 0)
            self.assertIn(needle, tg.log_text())
        finally:
            tg.cleanup()

    def test_refuses_what_is_not_a_cookie(self):
        link = os.path.join(self.dir, "link")
        os.symlink(os.path.join(self.dir, "target"), link)
        self.refused(link, "exists and is not a regular file")
        self.assertFalse(os.path.exists(os.path.join(self.dir, "target")))
        d = os.path.join(self.dir, "adir")
        os.mkdir(d)
        self.refused(d, "exists and is not a regular file")
        self.refused(os.path.join(self.dir, "nodir", "c"), "No such file")
        self.refused(os.path.join(self.dir, "c") + ",group=no-such-group-x",
                     "no such group")

    def test_refuses_bad_specs(self):
        for spec, needle in (("relative/c", "absolute path"),
                             (self.dir + "/c,mode=0660", "at most 0644"),
                             (self.dir + "/c,mode=0755", "at most 0644"),
                             (self.dir + "/c,mode=abc", "octal"),
                             (self.dir + '/c"x', "printable ASCII"),
                             (self.dir + "/c,owner=x", "only mode")):
            with self.subTest(spec=spec):
                p = subprocess.run([harness.torgate_binary(), "--cookie-file",
                                    spec, "--check", "-p", self.profiles.dir],
                                   stdin=subprocess.DEVNULL,
                                   capture_output=True, timeout=20)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn(needle, p.stderr.decode())


def python_with_stem():
    for py in (sys.executable, "/usr/bin/python3"):
        if not py or not os.access(py, os.X_OK):
            continue
        try:
            if subprocess.run([py, "-c", "import stem"],
                              stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL,
                              timeout=20).returncode == 0:
                return py
        except subprocess.TimeoutExpired:
            pass
    return None


def run_stem(py, path, method, cookie, user=None, groups=None):
    """stem's authenticate_cookie/_safecookie through the socket at path
    (cookie "-": the file PROTOCOLINFO names); the JSON it prints. As
    root, user/groups run it as another user (setpriv)."""
    cmd = [py, "-c", STEM_SCRIPT, path, method, cookie]
    if user is not None:
        cmd = ["setpriv", "--reuid", user, "--regid", user,
               "--groups" if groups else "--clear-groups"] + \
            ([",".join(groups)] if groups else []) + ["--"] + cmd
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=60)
    if p.returncode != 0:
        raise AssertionError("stem client failed (%d): %s"
                             % (p.returncode, p.stderr.decode()[-3000:]))
    return json.loads(p.stdout.decode().strip().splitlines()[-1])


if __name__ == "__main__":
    itkit.main()
