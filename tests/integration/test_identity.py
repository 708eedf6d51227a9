#!/usr/bin/python3
"""Profile choice by client identity, end to end.

A private offline tor, and per test class a torgate whose listeners carry
no profile= (except where stated), so that each client's profile is chosen
by who it is: over a unix socket from SO_PEERCRED (and the AppArmor label
or the executable), over loopback TCP from NETLINK_SOCK_DIAG (the socket's
owner) and a /proc scan (its process). A second user is played by
"nobody", through setpriv(1), which needs root.
"""

import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import itkit  # noqa: E402
from harness import Client, Listener, ProfileDir, TorInstance, Torgate  # noqa

OK = b"250 OK\r\n"
FILTERED = b"510 Command filtered\r\n"
CLOSING = b"250 closing connection\r\n"
NO_PROFILE = "(none)"

# The interpreter running this file, as /proc/PID/exe shows it. The
# "nobody" client runs the same binary.
PYTHON = os.path.realpath(os.readlink("/proc/self/exe"))
ME = pwd.getpwuid(os.getuid()).pw_name

SESSION_RE = re.compile(
    r"session (\d+): client (.*) on (\S+), profile (.*?)"
    r"( \(collision: all denied\))?$", re.M)

# A minimal control-port client, for running as another user: connects to
# argv[1] (a unix path, or HOST:PORT / [V6]:PORT), sends each further
# argument as a command line and prints the replies as JSON.
CLIENT_SCRIPT = r'''
import json, socket, sys
addr = sys.argv[1]
if addr.startswith("/"):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    target = addr
else:
    host, port = addr.rsplit(":", 1)
    host = host.strip("[]")
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                      socket.SOCK_STREAM)
    target = (host, int(port))
s.settimeout(10)
s.connect(target)
local_port = 0 if addr.startswith("/") else s.getsockname()[1]
f = s.makefile("rb")
replies = []
for cmd in sys.argv[2:]:
    s.sendall(cmd.encode() + b"\r\n")
    rep = b""
    while True:
        line = f.readline()
        rep += line
        if not line or line[3:4] == b" ":
            break
    replies.append(rep.decode("latin-1"))
print(json.dumps({"port": local_port, "replies": replies}))
'''


def ipv6_loopback_works():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


HAVE_IPV6 = ipv6_loopback_works()


def free_tcp6_port():
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
        s.bind(("::1", 0))
        return s.getsockname()[1]


def can_switch_to_nobody():
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return False
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        return False
    return True


AS_NOBODY = can_switch_to_nobody()
NOBODY_GROUP = "nogroup"
if AS_NOBODY:
    import grp
    try:
        grp.getgrnam(NOBODY_GROUP)
    except KeyError:
        NOBODY_GROUP = str(pwd.getpwnam("nobody").pw_gid)


def addr_text(addr):
    if isinstance(addr, str):
        return addr
    if ":" in addr[0]:
        return "[%s]:%d" % addr
    return "%s:%d" % addr


def world_reachable(path):
    """Can any user reach path (every parent directory searchable)?"""
    d = os.path.dirname(os.path.abspath(path))
    while True:
        if not os.stat(d).st_mode & 0o001:
            return False
        parent = os.path.dirname(d)
        if parent == d:
            return True
        d = parent


def yaml_list(items):
    return "[" + ", ".join(harness.yaml_quote(i) for i in items) + "]"


class _Env:
    tor = None


_env = _Env()


def setUpModule():
    itkit.require_binaries()
    _env.tor = TorInstance().start()


def tearDownModule():
    if _env.tor is not None:
        _env.tor.cleanup()


class IdentityTestCase(unittest.TestCase):
    """One torgate per class, with the class's PROFILES and LISTENERS.

    PROFILES: {name: (commands, {qualifier: [values]})}.
    LISTENERS: {key: (kind, profile)} with kind "unix", "tcp4" or "tcp6";
    the address of each is then self.addr[key]."""

    PROFILES = {}
    LISTENERS = {}

    @classmethod
    def setUpClass(cls):
        cls.tg = None
        cls.profiles = ProfileDir()
        cls.sockdir = harness._tempdir("tgt-id-")
        # Reachable by "nobody": the listeners are mode 0666.
        os.chmod(cls.sockdir, 0o755)
        try:
            for name, (commands, quals) in cls.PROFILES.items():
                extra = "".join("  %s: %s\n" % (k, yaml_list(v))
                                for k, v in quals.items())
                cls.profiles.add(name, commands, extra)
            cls._start()
        except BaseException:
            cls._cleanup()
            raise

    @classmethod
    def _start(cls):
        last = None
        for _ in range(3):  # a free TCP port may be taken meanwhile
            cls.addr = {}
            listeners = []
            for key, (kind, profile) in cls.LISTENERS.items():
                if kind == "unix":
                    a = os.path.join(cls.sockdir, key + ".sock")
                    listeners.append(Listener(a, profile=profile,
                                              mode="0666"))
                elif kind == "tcp4":
                    a = ("127.0.0.1", harness.free_tcp_port())
                    listeners.append(Listener(a, profile=profile))
                elif kind == "tcp6":
                    if not HAVE_IPV6:
                        continue
                    a = ("::1", free_tcp6_port())
                    listeners.append(Listener(a, profile=profile))
                else:
                    raise ValueError(kind)
                cls.addr[key] = a
            tg = Torgate("unix:" + _env.tor.control_path,
                         [cls.profiles.dir], listeners)
            try:
                tg.start()
                # start() connected once to each listener: wait for
                # those sessions, so that the newest one is always ours.
                harness.wait_until(
                    lambda: len(SESSION_RE.findall(tg.log_text()))
                    >= len(listeners), harness.DEFAULT_TIMEOUT,
                    what="torgate to log its start-up probes")
                cls.tg = tg
                return
            except harness.HarnessError as e:
                last = e
                tg.cleanup()
        raise last

    @classmethod
    def _cleanup(cls):
        problem = None
        if cls.tg is not None:
            alive = cls.tg.alive()
            rc = cls.tg.stop()
            log = cls.tg.log_text()
            cls.tg.cleanup()
            cls.tg = None
            if not alive or rc != 0:
                problem = ("torgate %s (status %r); log:\n%s"
                           % ("died" if not alive else "exited badly", rc,
                              log[-8000:]))
        cls.profiles.cleanup()
        shutil.rmtree(cls.sockdir, ignore_errors=True)
        if problem:
            raise AssertionError(problem)

    @classmethod
    def tearDownClass(cls):
        cls._cleanup()

    def setUp(self):
        self.assertTrue(self.tg.alive(), "torgate is not running:\n"
                        + self.tg.log_text()[-8000:])

    def tearDown(self):
        if not self.tg.alive():
            self.fail("torgate died during the test (status %r); log:\n%s"
                      % (self.tg.returncode(), self.tg.log_text()[-8000:]))

    # -- clients ----------------------------------------------------------

    def need(self, key):
        if key not in self.addr:
            self.skipTest("no listener %s (IPv6 loopback unusable?)" % key)
        return self.addr[key]

    def run_as_me(self, key, commands):
        """Commands (without EOL) from this process; returns (replies,
        session log match)."""
        addr = self.need(key)
        with Client(addr) as c:
            replies = [c.command(cmd.encode() + b"\r\n") for cmd in commands]
            port = 0 if isinstance(addr, str) else c.sock.getsockname()[1]
        return replies, self.session_line(addr, port)

    def run_as_nobody(self, key, commands):
        """The same from a separate process running as nobody; returns
        (replies, session log match, pid)."""
        if not AS_NOBODY:
            self.skipTest("needs root and setpriv to run a client as nobody")
        addr = self.need(key)
        if isinstance(addr, str) and not world_reachable(addr):
            self.skipTest("%s is not reachable by other users" % addr)
        p = subprocess.Popen(
            ["setpriv", "--reuid=nobody", "--regid=" + NOBODY_GROUP,
             "--clear-groups", PYTHON, "-I", "-c", CLIENT_SCRIPT,
             addr_text(addr)] + list(commands),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, cwd="/",
            env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"})
        try:
            out, err = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            self.fail("client as nobody hung: %r %r" % (out, err))
        self.assertEqual(p.returncode, 0,
                         "client as nobody failed: %r" % err)
        res = json.loads(out)
        replies = [r.encode("latin-1") for r in res["replies"]]
        return replies, self.session_line(addr, res["port"]), p.pid

    def session_line(self, addr, port):
        """The log line of the newest session: the client's, since it got
        a reply (torgate logs the line before reading the client)."""
        sessions = list(SESSION_RE.finditer(self.tg.log_text()))
        self.assertTrue(sessions, "no session line in the log:\n"
                        + self.tg.log_text()[-4000:])
        m = sessions[-1]
        if not isinstance(addr, str):
            host = "[%s]" % addr[0] if ":" in addr[0] else addr[0]
            self.assertTrue(m.group(2).startswith("%s:%d " % (host, port)),
                            "newest session is not ours: %r" % m.group(0))
        return m

    # -- assertions -------------------------------------------------------

    def assert_profile(self, m, name):
        self.assertEqual(m.group(4), name, "log line: %r" % m.group(0))

    def assert_getinfo(self, rep, key):
        self.assertTrue(rep.startswith(b"250-" + key.encode() + b"=")
                        and rep.endswith(OK), rep)


VERSION_ONLY = {"GETINFO": ["version"]}
CONFIG_FILE_ONLY = {"GETINFO": ["config-file"]}
BOTH = ["AUTHENTICATE", "GETINFO version", "GETINFO config-file"]


class UsersTest(IdentityTestCase):
    """users: qualifiers, over a unix socket and loopback TCP, and
    per-listener profiles."""

    PROFILES = {
        "P_nobody": (VERSION_ONLY, {"apparmor-profiles": ["*"],
                                    "users": ["nobody"]}),
        "P_me": (CONFIG_FILE_ONLY, {"apparmor-profiles": ["*"],
                                    "users": [ME]}),
    }
    LISTENERS = {
        "unix": ("unix", None),
        "tcp4": ("tcp4", None),
        "tcp6": ("tcp6", None),
        "unix_fixed": ("unix", "P_me"),
        "tcp4_fixed": ("tcp4", "P_nobody"),
    }

    def assert_pid(self, key, desc, pid):
        """Over a unix socket the pid comes with the credentials. For a TCP
        client it takes a /proc scan, which torgate skips when no loaded
        profile qualifies clients by program (these only use '*')."""
        if key.startswith("unix"):
            self.assertIn(" pid=%d " % pid, desc + " ")
        else:
            self.assertNotIn(" pid=", desc)

    def check_nobody(self, key, want_profile="P_nobody"):
        replies, m, pid = self.run_as_nobody(key, BOTH)
        self.assertEqual(replies[0], OK)
        if want_profile == "P_nobody":
            self.assert_getinfo(replies[1], "version")
            self.assertEqual(replies[2], FILTERED)
        else:
            self.assertEqual(replies[1], FILTERED)
            self.assert_getinfo(replies[2], "config-file")
        self.assert_profile(m, want_profile)
        desc = m.group(2)
        self.assertIn(" uid=%d(nobody) " % pwd.getpwnam("nobody").pw_uid,
                      desc + " ")
        self.assert_pid(key, desc, pid)
        return desc

    def check_me(self, key, want_profile="P_me"):
        replies, m = self.run_as_me(key, BOTH)
        self.assertEqual(replies[0], OK)
        if want_profile == "P_me":
            self.assertEqual(replies[1], FILTERED)
            self.assert_getinfo(replies[2], "config-file")
        else:
            self.assert_getinfo(replies[1], "version")
            self.assertEqual(replies[2], FILTERED)
        self.assert_profile(m, want_profile)
        desc = m.group(2)
        self.assertIn(" uid=%d(%s) " % (os.getuid(), ME), desc + " ")
        self.assert_pid(key, desc, os.getpid())
        return desc

    def test_unix_nobody(self):
        self.check_nobody("unix")

    def test_unix_me(self):
        self.check_me("unix")

    def test_tcp4_nobody(self):
        desc = self.check_nobody("tcp4")
        self.assertNotIn(" exe=", desc)     # not needed: not looked up

    def test_tcp4_me(self):
        desc = self.check_me("tcp4")
        self.assertNotIn(" exe=", desc)

    def test_tcp6_nobody(self):
        self.check_nobody("tcp6")

    def test_tcp6_me(self):
        self.check_me("tcp6")

    def test_listener_profile_overrides_identity(self):
        # Everyone on unix_fixed gets P_me, everyone on tcp4_fixed P_nobody.
        self.check_me("unix_fixed", "P_me")
        self.check_me("tcp4_fixed", "P_nobody")
        self.check_nobody("unix_fixed", "P_me")
        self.check_nobody("tcp4_fixed", "P_nobody")


class ExePathTest(IdentityTestCase):
    """exe-paths: the client's executable, for unconfined clients."""

    PROFILES = {
        "P_python": (VERSION_ONLY, {"exe-paths": [PYTHON], "users": ["*"]}),
    }
    LISTENERS = {"unix": ("unix", None), "tcp4": ("tcp4", None),
                 "tcp6": ("tcp6", None)}

    def check(self, replies, m):
        self.assertEqual(replies[0], OK)
        self.assert_getinfo(replies[1], "version")
        self.assertEqual(replies[2], FILTERED)
        self.assert_profile(m, "P_python")
        self.assertIn(" exe=" + PYTHON, m.group(2))

    def test_me(self):
        for key in ("unix", "tcp4", "tcp6"):
            if key not in self.addr:
                continue
            with self.subTest(listener=key):
                self.check(*self.run_as_me(key, BOTH))

    def test_nobody(self):
        for key in ("unix", "tcp4"):
            with self.subTest(listener=key):
                replies, m, _ = self.run_as_nobody(key, BOTH)
                self.check(replies, m)

    def test_other_program_does_not_match(self):
        # bash's /dev/tcp: same user, another executable.
        bash = shutil.which("bash")
        if bash is None:
            self.skipTest("bash not installed")
        host, port = self.addr["tcp4"]
        script = ("exec 3<>/dev/tcp/%s/%d || exit 1\n"
                  "printf 'AUTHENTICATE\\r\\nGETINFO version\\r\\n"
                  "QUIT\\r\\n' >&3\n"
                  "exec cat <&3\n" % (host, port))
        p = subprocess.run([bash, "-c", script], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=30)
        self.assertEqual(p.stdout, OK + FILTERED + CLOSING, p.stderr)
        m = list(SESSION_RE.finditer(self.tg.log_text()))[-1]
        self.assert_profile(m, NO_PROFILE)
        self.assertNotIn(PYTHON, m.group(2))


class CollisionTest(IdentityTestCase):
    """Two profiles for the same client: everything is denied."""

    PROFILES = {
        "P_a": (VERSION_ONLY, {"apparmor-profiles": ["*"], "users": ["*"]}),
        "P_b": (VERSION_ONLY, {"exe-paths": [PYTHON], "users": [ME]}),
    }
    LISTENERS = {"unix": ("unix", None), "tcp4": ("tcp4", None)}

    def test_collision_denies_everything(self):
        for key in ("unix", "tcp4"):
            with self.subTest(listener=key):
                before = self.tg.log_text()
                replies, m = self.run_as_me(
                    key, ["PROTOCOLINFO 1", "AUTHENTICATE",
                          "GETINFO version", "QUIT"])
                self.assertTrue(replies[0].startswith(
                    b"250-PROTOCOLINFO 1\r\n"), replies[0])
                self.assertEqual(replies[1:], [OK, FILTERED, CLOSING])
                self.assert_profile(m, NO_PROFILE)
                self.assertTrue(m.group(5), m.group(0))
                new = self.tg.log_text()[len(before):]
                self.assertRegex(
                    new, r"session %s: profiles collide for this client "
                    r"\((P_a, P_b|P_b, P_a)\)" % m.group(1))


class NoMatchTest(IdentityTestCase):
    """No profile for the client: only the built-ins work. A hosts:
    qualifier never matches a local client."""

    PROFILES = {
        "P_stranger": (VERSION_ONLY, {"apparmor-profiles": ["*"],
                                      "users": ["no-such-user-tgt"]}),
        "P_remote": (VERSION_ONLY, {"hosts": ["*"]}),
    }
    LISTENERS = {"unix": ("unix", None), "tcp4": ("tcp4", None),
                 "tcp6": ("tcp6", None)}

    def check_none(self, key):
        replies, m = self.run_as_me(
            key, ["PROTOCOLINFO 1", "AUTHENTICATE", "GETINFO version",
                  "GETINFO config-file", "SIGNAL NEWNYM", "QUIT"])
        self.assertTrue(replies[0].startswith(b"250-PROTOCOLINFO 1\r\n")
                        and replies[0].endswith(OK), replies[0])
        self.assertEqual(replies[1:],
                         [OK, FILTERED, FILTERED, FILTERED, CLOSING])
        self.assert_profile(m, NO_PROFILE)
        self.assertFalse(m.group(5), m.group(0))
        # Identified, yet matched nothing.
        self.assertIn(" uid=%d(%s)" % (os.getuid(), ME), m.group(2))

    def test_no_match_unix(self):
        self.check_none("unix")

    def test_hosts_only_profile_does_not_match_local_tcp4(self):
        self.check_none("tcp4")

    def test_hosts_only_profile_does_not_match_local_tcp6(self):
        self.check_none("tcp6")

    def test_nobody_matches_nothing_either(self):
        replies, m, _ = self.run_as_nobody("tcp4", BOTH)
        self.assertEqual(replies, [OK, FILTERED, FILTERED])
        self.assert_profile(m, NO_PROFILE)


if __name__ == "__main__":
    unittest.main(verbosity=2)
