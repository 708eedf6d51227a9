#!/usr/bin/python3
"""The well-known control address (contrib/wellknown/), end to end.

Under a temporary root laid out as contrib/wellknown/ lays out /run:

  ROOT/run/tor/private/          0710, group of torgate's user only
  ROOT/run/tor/private/tor/      tor's own control socket and cookie
  ROOT/run/torgate/control       torgate's socket (mode 0666)
  ROOT/run/torgate/control.authcookie   torgate's own cookie (0640)
  ROOT/run/tor/control           -> ROOT/run/torgate/control
  ROOT/run/tor/control.authcookie -> ROOT/run/torgate/control.authcookie

a stem client that auto-detects the system tor
(stem.connection.connect(control_socket=ROOT/run/tor/control)) finds
torgate, authenticates with what PROTOCOLINFO names (torgate's cookie,
never tor's), and may do only what its profile allows. A client that
reads the well-known cookie path itself gets in too. Run as root, the
permissions are tried with other users: one who is not in the cookie's
group cannot authenticate, and nobody but torgate's user reaches tor's
socket.
"""

import grp
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import itkit  # noqa: E402
from harness import Client, Listener, ProfileDir, Torgate  # noqa: E402

STEM_CONNECT = r"""
import json, sys
import stem, stem.connection
path = sys.argv[1]
c = stem.connection.connect(control_socket=path, control_port=None)
r = {"connected": c is not None}
if c is not None:
    r["version"] = c.get_info("version")
    try:
        c.get_info("address")
        r["address"] = "allowed"
    except stem.ControllerError:
        r["address"] = "refused"
    c.close()
print(json.dumps(r))
"""

STEM_COOKIE = r"""
import json, sys
import stem, stem.connection, stem.socket
from stem.control import Controller
path, cookie = sys.argv[1], sys.argv[2]
c = Controller(stem.socket.ControlSocketFile(path))
stem.connection.authenticate_cookie(c, cookie)
print(json.dumps({"version": c.get_info("version")}))
"""

CLIENT_GROUP = "users"       # the cookie's group (Debian: debian-tor)
CLIENT_USER = "daemon"       # another user, in that group or not


def python_with_stem():
    for py in ("/usr/bin/python3", sys.executable):
        if py and os.access(py, os.X_OK) and subprocess.run(
                [py, "-c", "import stem"], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                timeout=20).returncode == 0:
            return py
    return None


class WellKnownTor(harness.TorInstance):
    """A private tor whose control socket and cookie are in
    ROOT/run/tor/private/tor, as contrib/wellknown/torrc-wellknown.conf
    puts them."""

    def __init__(self, root):
        self.tor = harness.find_tor()
        if self.tor is None:
            raise harness.HarnessError("tor not found")
        self.dir = os.path.join(root, "tor-data")
        os.mkdir(self.dir, 0o700)
        priv = os.path.join(root, "run", "tor", "private")
        self.private = priv
        self.sockdir = os.path.join(priv, "tor")
        self.control_path = os.path.join(self.sockdir, "control")
        self.cookie_path = os.path.join(self.sockdir, "control.authcookie")
        self.log_path = os.path.join(self.dir, "tor.log")
        self.out_path = os.path.join(self.dir, "tor.out")
        self.tcp_control = False
        self.tcp_addr = None
        self.proc = None
        self.version = None
        self._out = None
        # Debian: GroupWritable RelaxDirModeCheck, the directory of group
        # debian-tor. tor run as root here, and wants the directory of
        # its own group (root) unless the socket is WorldWritable: the
        # directory above, ROOT/run/tor/private, is what keeps others
        # out either way.
        flags = " WorldWritable" if harness.AS_ROOT else \
            " GroupWritable RelaxDirModeCheck"
        conf = [
            "DataDirectory %s" % os.path.join(self.dir, "data"),
            "DisableNetwork 1",
            "SocksPort 0",
            "ControlSocket %s%s" % (self.control_path, flags),
            "ControlSocketsGroupWritable 1",
            "CookieAuthentication 1",
            "CookieAuthFileGroupReadable 1",
            "CookieAuthFile %s" % self.cookie_path,
            "Log notice file %s" % self.log_path,
            "AvoidDiskWrites 1",
        ]
        self.torrc = os.path.join(self.dir, "torrc")
        with open(self.torrc, "w") as f:
            f.write("\n".join(conf) + "\n")


class WellKnownTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        itkit.require_binaries()
        cls.python = python_with_stem()
        cls.root = harness._tempdir("tgt-wk-")
        os.chmod(cls.root, 0o755)
        run = os.path.join(cls.root, "run")
        cls.run_tor = os.path.join(run, "tor")
        cls.run_tg = os.path.join(run, "torgate")
        for d in (run, cls.run_tor, cls.run_tg):
            os.mkdir(d)
            os.chmod(d, 0o755)
        # contrib/wellknown/tmpfiles.d: private 0710 debian-tor:_torgate,
        # private/tor 0750 debian-tor:debian-tor. Here: the worker's group
        # (as root), or ours.
        priv = os.path.join(cls.run_tor, "private")
        os.mkdir(priv)
        os.mkdir(os.path.join(priv, "tor"))
        gid = harness.WORKER_GID if harness.AS_ROOT else os.getgid()
        os.chown(priv, -1, gid)
        os.chmod(priv, 0o710)
        os.chown(os.path.join(priv, "tor"), -1, gid)
        os.chmod(os.path.join(priv, "tor"), 0o2750)
        cls.tor = WellKnownTor(cls.root).start()
        # torgate's own files, and the well-known names pointing at them
        cls.socket = os.path.join(cls.run_tg, "control")
        cls.cookie = os.path.join(cls.run_tg, "control.authcookie")
        cls.wk_socket = os.path.join(cls.run_tor, "control")
        cls.wk_cookie = os.path.join(cls.run_tor, "control.authcookie")
        os.symlink(cls.socket, cls.wk_socket)
        os.symlink(cls.cookie, cls.wk_cookie)
        cls.profiles = ProfileDir()
        # what a stem Controller sends by itself, and GETINFO version
        cls.profiles.add("app", commands={
            "GETINFO": ["version"],
            "GETCONF": ["(?i)__OwningControllerProcess"]},
            extra="  events:\n"
                  "    SIGNAL:\n      suppress: true\n"
                  "    CONF_CHANGED:\n      suppress: true\n"
                  "    STATUS_SERVER:\n      suppress: true\n")
        spec = cls.cookie
        cls.cookie_gid = None
        if harness.AS_ROOT:
            try:
                cls.cookie_gid = grp.getgrnam(CLIENT_GROUP).gr_gid
                spec += ",group=" + CLIENT_GROUP
            except KeyError:
                pass
        cls.tg = Torgate("unix:" + cls.tor.control_path, [cls.profiles.dir],
                         [Listener(cls.socket, profile="app", mode="0666")],
                         extra_args=["--cookie-file", spec]).start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.tg.stop()
        log = cls.tg.log_text()
        cls.tg.cleanup()
        cls.tor.stop()
        cls.profiles.cleanup()
        shutil.rmtree(cls.root, ignore_errors=True)
        assert rc == 0, "torgate exited with %r:\n%s" % (rc, log[-4000:])

    def stem(self, script, *args, user=None, groups=()):
        if self.python is None:
            self.skipTest("python3-stem not installed")
        cmd = [self.python, "-c", script] + list(args)
        if user is not None:
            cmd = ["setpriv", "--reuid", user, "--regid", user] + \
                (["--groups", ",".join(groups)] if groups
                 else ["--clear-groups"]) + ["--"] + cmd
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=60)
        out = p.stdout.decode().strip().splitlines()
        return p.returncode, (json.loads(out[-1]) if out and
                              out[-1].startswith("{") else None), \
            p.stdout.decode() + p.stderr.decode()

    def test_layout(self):
        """The names are links to torgate's files; torgate's cookie is
        its own, 0640; tor's directory is closed to others."""
        self.assertEqual(os.readlink(self.wk_socket), self.socket)
        self.assertEqual(os.readlink(self.wk_cookie), self.cookie)
        st = os.stat(self.wk_cookie)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o640)
        self.assertEqual(st.st_size, 32)
        if self.cookie_gid is not None:
            self.assertEqual(st.st_gid, self.cookie_gid)
        with open(self.wk_cookie, "rb") as f:
            self.assertNotEqual(f.read(), self.tor.cookie())
        self.assertEqual(stat.S_IMODE(os.stat(self.tor.private).st_mode),
                         0o710)

    def test_protocolinfo_names_torgates_cookie(self):
        with Client(self.wk_socket) as c:
            rep = c.command(b"PROTOCOLINFO 1\r\n")
        self.assertEqual(rep, (
            b'250-PROTOCOLINFO 1\r\n'
            b'250-AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE="%s"\r\n'
            b'250-VERSION Tor="%s"\r\n250 OK\r\n'
            % (self.cookie.encode(), self.tor.version.encode())))
        self.assertNotIn(self.tor.cookie_path.encode(), rep)

    def test_stem_autodetects(self):
        rc, r, out = self.stem(STEM_CONNECT, self.wk_socket)
        self.assertEqual(rc, 0, out)
        self.assertEqual(r, {"connected": True, "version": self.tor.version,
                             "address": "refused"}, out)

    def test_client_reading_the_wellknown_cookie(self):
        rc, r, out = self.stem(STEM_COOKIE, self.wk_socket, self.wk_cookie)
        self.assertEqual(rc, 0, out)
        self.assertEqual(r, {"version": self.tor.version})

    def test_tors_cookie_does_not_open_torgate(self):
        with Client(self.wk_socket) as c:
            self.assertEqual(
                c.command(b"AUTHENTICATE " + self.tor.cookie().hex().encode()
                          + b"\r\n"),
                b"515 Authentication failed: Authentication cookie did not "
                b"match expected value.\r\n")

    def other_user(self):
        if not harness.AS_ROOT:
            self.skipTest("needs root to act as other users")
        if shutil.which("setpriv") is None:
            self.skipTest("setpriv not installed")
        try:
            pwd.getpwnam(CLIENT_USER)
        except KeyError:
            self.skipTest("no user %s" % CLIENT_USER)
        if self.cookie_gid is None:
            self.skipTest("no group %s" % CLIENT_GROUP)

    def test_member_of_the_cookies_group_gets_in(self):
        self.other_user()
        rc, r, out = self.stem(STEM_CONNECT, self.wk_socket,
                               user=CLIENT_USER, groups=[CLIENT_GROUP])
        self.assertEqual(rc, 0, out)
        self.assertEqual(r, {"connected": True, "version": self.tor.version,
                             "address": "refused"}, out)

    def test_others_cannot_authenticate(self):
        """They reach torgate's socket, but cannot read the cookie."""
        self.other_user()
        rc, r, out = self.stem(STEM_CONNECT, self.wk_socket,
                               user=CLIENT_USER)
        self.assertEqual(r, {"connected": False}, out)
        self.assertIn("cookie", out.lower())

    def test_nobody_else_reaches_tor(self):
        """tor's socket and cookie: not even in the cookie's group."""
        self.other_user()
        probe = ("import socket, sys\n"
                 "s = socket.socket(socket.AF_UNIX)\n"
                 "try:\n"
                 "    s.connect(sys.argv[1])\n"
                 "    print('connected')\n"
                 "except OSError as e:\n"
                 "    print(e.errno)\n"
                 "try:\n"
                 "    open(sys.argv[2], 'rb').read()\n"
                 "    print('read')\n"
                 "except OSError as e:\n"
                 "    print(e.errno)\n")
        p = subprocess.run(
            ["setpriv", "--reuid", CLIENT_USER, "--regid", CLIENT_USER,
             "--groups", CLIENT_GROUP, "--", sys.executable, "-c", probe,
             self.tor.control_path, self.tor.cookie_path],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        self.assertEqual(p.stdout.decode().split(), ["13", "13"],
                         p.stderr.decode())

    def test_torgate_gone_fails_closed(self):
        """Without torgate the well-known name leads nowhere: a client
        gets ENOENT, never tor."""
        d = harness._tempdir("tgt-wk2-")
        try:
            link = os.path.join(d, "control")
            os.symlink(os.path.join(d, "gone"), link)
            with self.assertRaises(FileNotFoundError):
                Client(link)
        finally:
            shutil.rmtree(d, ignore_errors=True)


class ContribFilesTest(unittest.TestCase):
    """contrib/wellknown/ says what the test above does."""

    TOP = os.environ.get("TOP_SRCDIR") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..")

    def read(self, name):
        with open(os.path.join(self.TOP, "contrib", "wellknown", name)) as f:
            return f.read()

    def test_torrc(self):
        t = self.read("torrc-wellknown.conf")
        lines = [x.split() for x in t.splitlines()
                 if x.strip() and not x.lstrip().startswith("#")]
        self.assertIn(["ControlSocket", "/run/tor/private/tor/control",
                       "GroupWritable", "RelaxDirModeCheck"], lines)
        self.assertIn(["CookieAuthFile",
                       "/run/tor/private/tor/control.authcookie"], lines)

    def test_tmpfiles(self):
        t = self.read("torgate-wellknown.tmpfiles")
        rows = [x.split() for x in t.splitlines()
                if x.strip() and not x.lstrip().startswith("#")]
        self.assertIn(["d", "/run/tor", "2755", "debian-tor", "debian-tor",
                       "-"], rows)
        self.assertIn(["d", "/run/tor/private", "0710", "debian-tor",
                       "_torgate", "-"], rows)
        self.assertIn(["d", "/run/tor/private/tor", "0750", "debian-tor",
                       "debian-tor", "-"], rows)
        self.assertIn(["L+", "/run/tor/control", "-", "-", "-", "-",
                       "/run/torgate/control"], rows)
        self.assertIn(["L+", "/run/tor/control.authcookie", "-", "-", "-",
                       "-", "/run/torgate/control.authcookie"], rows)

    def test_config(self):
        t = self.read("torgate-wellknown.yml")
        self.assertRegex(t, r"(?m)^tor: unix:/run/tor/private/tor/control$")
        self.assertRegex(t, r"(?m)^cookie-file: /run/torgate/control\."
                            r"authcookie,mode=0640,group=debian-tor$")
        self.assertRegex(t, r"(?m)^  - unix:/run/torgate/control,mode=0666$")
        self.assertRegex(t, r"(?m)^tor-cookie: "
                            r"/run/tor/private/tor/control\.authcookie$")

    def test_config_checks(self):
        """The shipped config passes --check (with the project's
        profiles)."""
        path = os.path.join(self.TOP, "contrib", "wellknown",
                            "torgate-wellknown.yml")
        p = subprocess.run([harness.torgate_binary(), "--check", "-c", path,
                            "-p", os.path.join(self.TOP, "profiles")],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout.decode() +
                         p.stderr.decode())

    def test_unit_dropin(self):
        t = self.read("torgate.service.d-wellknown.conf")
        self.assertIn("SystemCallFilter=fchown", t)
        self.assertRegex(t, r"(?m)^ExecStart=$")
        self.assertRegex(t, r"(?m)^ExecStart=/usr/sbin/torgate .*-c "
                            r"/etc/torgate/wellknown\.yml")


if __name__ == "__main__":
    itkit.main()
