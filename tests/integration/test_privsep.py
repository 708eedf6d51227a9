#!/usr/bin/python3
"""Privilege separation, end to end, with real processes.

torgate is started as root with --user nobody (harness.py adds it) in
front of a private offline tor; the tests read /proc/PID/status of its two
processes (the worker, and its one child, the monitor), serve clients
through the filters, reload profiles under them, kill either process,
and make the worker call what its filter forbids (a test build's hook:
meson -Dtest_hooks=true). Everything here needs root: elsewhere the module
is skipped.
"""

import os
import pwd
import re
import signal
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import itkit  # noqa: E402
from harness import Client, Listener, ProfileDir, TorInstance, Torgate  # noqa

OK = b"250 OK\r\n"
FILTERED = b"510 Command filtered\r\n"

CAP_DAC_READ_SEARCH = 2
CAP_SYS_PTRACE = 19
MONITOR_CAPS = (1 << CAP_DAC_READ_SEARCH) | (1 << CAP_SYS_PTRACE)

# What this build is (tests/integration/meson.build).
TEST_HOOKS = os.environ.get("TORGATE_TEST_HOOKS") == "1"
SANDBOX_DEBUG = os.environ.get("TORGATE_SANDBOX_DEBUG") == "1"
HOOK_ENV = "TORGATE_TEST_FORBIDDEN_SYSCALL"

PYTHON = os.path.realpath(os.readlink("/proc/self/exe"))

# A client of a third user: neither root (the monitor) nor the worker's.
OTHER_USER = "daemon"

SESSION_RE = re.compile(r"session (\d+): client (.*) on (\S+), profile (.*)$",
                        re.M)

_env = None


def setUpModule():
    global _env, VERSION
    itkit.require_binaries()
    if not harness.AS_ROOT:
        raise unittest.SkipTest("needs root: torgate drops from root to "
                                "--user")
    _env = itkit.Env(tap=False)
    VERSION = _env.direct.command(b"GETINFO version\r\n")


def tearDownModule():
    if _env is not None:
        _env.close()


def status(pid):
    """/proc/PID/status as {field: text}."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def children(pid):
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            kids.append(int(d))
    return kids


def gone(pid):
    """The process has exited (a zombie nobody reaps counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return True
    return st[st.rindex(")") + 2:].split()[0] in ("Z", "X")


class PrivsepCase(unittest.TestCase):

    # GETINFO version only (reloaded below with config-file too), for
    # root's clients.
    P_EXTRA = "  users: ['root']\n"

    def setUp(self):
        self.daemons = []
        self.profiles = ProfileDir()
        self.profiles.add("P", {"GETINFO": ["version"]}, self.P_EXTRA)
        self.sockdir = harness._tempdir("tgt-ps-")

    def tearDown(self):
        for tg in self.daemons:
            tg.cleanup()
        self.profiles.cleanup()
        shutil.rmtree(self.sockdir, ignore_errors=True)

    def start(self, extra=(), env=None, tcp=False, profile="P"):
        """A torgate with a unix listener (self.unix) and, if tcp, a
        loopback TCP one (self.tcp); sets tg.monitor."""
        self.unix = os.path.join(self.sockdir, "tg%d.sock"
                                 % len(self.daemons))
        listeners = [Listener(self.unix, profile=profile)]
        if tcp:
            self.tcp = ("127.0.0.1", harness.free_tcp_port())
            listeners.append(Listener(self.tcp))
        tg = Torgate("unix:" + _env.tor.control_path, [self.profiles.dir],
                     listeners, extra_args=extra)
        old = dict(os.environ)
        os.environ.update(env or {})
        try:
            tg.start()
        finally:
            os.environ.clear()
            os.environ.update(old)
        self.daemons.append(tg)
        kids = harness.wait_until(lambda: children(tg.proc.pid), 5,
                                  what="the monitor")
        self.assertEqual(len(kids), 1, kids)
        tg.monitor = kids[0]
        # Both have confined themselves once they logged it.
        harness.wait_until(lambda: "torgate started" in tg.log_text(), 5,
                           what="torgate to start")
        return tg

    def served(self, addr=None):
        with Client(addr or self.unix) as c:
            return [c.command(b"AUTHENTICATE\r\n"),
                    c.command(b"GETINFO version\r\n"),
                    c.command(b"GETINFO config-file\r\n")]

    def wait_exit(self, tg, timeout=10):
        try:
            return tg.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.fail("torgate did not exit; log:\n" + tg.log_text()[-4000:])


class StatusTest(PrivsepCase):
    """What each process holds, as the kernel says."""

    def test_worker(self):
        tg = self.start()
        nobody = pwd.getpwnam(harness.WORKER_USER)
        st = status(tg.proc.pid)
        self.assertEqual(st["Uid"].split(), [str(nobody.pw_uid)] * 4)
        self.assertEqual(st["Gid"].split(), [str(nobody.pw_gid)] * 4)
        want_groups = sorted(os.getgrouplist(harness.WORKER_USER,
                                             nobody.pw_gid))
        self.assertEqual(sorted(int(g) for g in st["Groups"].split()),
                         want_groups)
        for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            self.assertEqual(int(st[cap], 16), 0, "%s: %s" % (cap, st[cap]))
        self.assertEqual(st["NoNewPrivs"], "1")
        if harness.NO_SANDBOX:
            self.assertEqual(st["Seccomp"], "0")
        else:
            self.assertEqual(st["Seccomp"], "2")
        self.assertEqual(self.served()[:2], [OK, VERSION])

    def test_monitor(self):
        tg = self.start()
        st = status(tg.monitor)
        # Still uid 0 (root's files stay root's), without root's powers.
        self.assertEqual(st["Uid"].split(), ["0"] * 4)
        self.assertEqual(st["Groups"], "")
        for cap in ("CapPrm", "CapEff", "CapBnd"):
            self.assertEqual(int(st[cap], 16), MONITOR_CAPS,
                             "%s: %s" % (cap, st[cap]))
        for cap in ("CapInh", "CapAmb"):
            self.assertEqual(int(st[cap], 16), 0, "%s: %s" % (cap, st[cap]))
        self.assertEqual(st["NoNewPrivs"], "1")
        self.assertEqual(st["Seccomp"], "0" if harness.NO_SANDBOX else "2")

    def test_no_sandbox_still_drops(self):
        tg = self.start(extra=["--no-sandbox"])
        for pid in (tg.proc.pid, tg.monitor):
            st = status(pid)
            self.assertEqual(st["Seccomp"], "0")
            self.assertEqual(st["NoNewPrivs"], "1")
        self.assertEqual(int(status(tg.proc.pid)["CapEff"], 16), 0)
        self.assertIn("--no-sandbox", tg.log_text())
        self.assertEqual(self.served()[:2], [OK, VERSION])


class ServeTest(PrivsepCase):
    """Everything the loop does keeps working under the filters."""

    def test_reload_under_the_filter(self):
        tg = self.start()
        self.assertEqual(self.served(), [OK, VERSION, FILTERED])
        self.profiles.add("P", {"GETINFO": ["version", "config-file"]},
                          self.P_EXTRA)
        n = tg.log_text().count("loaded 1 profile")
        tg.proc.send_signal(signal.SIGHUP)
        harness.wait_until(
            lambda: tg.log_text().count("loaded 1 profile") > n, 10,
            what="the reload:\n" + tg.log_text()[-2000:])
        rep = self.served()
        self.assertEqual(rep[:2], [OK, VERSION])
        self.assertTrue(rep[2].startswith(b"250-config-file="), rep)
        self.assertEqual(status(tg.proc.pid)["Seccomp"],
                         "0" if harness.NO_SANDBOX else "2")
        self.assertTrue(tg.alive())
        self.assertEqual(tg.stop(), 0, tg.log_text()[-4000:])

    def test_other_users_tcp_client_identified_by_program(self):
        """A loopback TCP client of a third user: the unprivileged worker
        cannot read its /proc entries, the monitor can (CAP_SYS_PTRACE,
        CAP_DAC_READ_SEARCH); an exe-paths profile selects it."""
        if shutil.which("setpriv") is None:
            itkit.missing("setpriv not installed")
        try:
            other = pwd.getpwnam(OTHER_USER)
        except KeyError:
            itkit.missing("no user %s" % OTHER_USER)
        self.profiles.add(
            "P_exe", {"GETINFO": ["version", "config-file"]},
            "  exe-paths: [%s]\n  users: [%s]\n"
            % (harness.yaml_quote(PYTHON), harness.yaml_quote(OTHER_USER)))
        tg = self.start(tcp=True)
        code = ("import socket,sys\n"
                "s=socket.create_connection(('127.0.0.1',%d),10)\n"
                "s.sendall(b'AUTHENTICATE\\r\\nGETINFO config-file\\r\\n')\n"
                "s.shutdown(socket.SHUT_WR)\n"
                "b=b''\n"
                "while True:\n"
                "    d=s.recv(65536)\n"
                "    if not d: break\n"
                "    b+=d\n"
                "sys.stdout.buffer.write(b)\n" % self.tcp[1])
        p = subprocess.run(
            ["setpriv", "--reuid=%d" % other.pw_uid,
             "--regid=%d" % other.pw_gid, "--clear-groups", PYTHON, "-I",
             "-c", code], stdin=subprocess.DEVNULL, capture_output=True,
            timeout=30, cwd="/")
        self.assertEqual(p.returncode, 0, p)
        self.assertTrue(p.stdout.startswith(OK + b"250-config-file="),
                        (p.stdout, tg.log_text()[-3000:]))
        ms = [m for m in SESSION_RE.finditer(tg.log_text())
              if m.group(4) == "P_exe"]
        self.assertEqual(len(ms), 1, tg.log_text()[-3000:])
        self.assertIn(" uid=%d(%s)" % (other.pw_uid, OTHER_USER),
                      ms[0].group(2))
        self.assertIn(" exe=" + PYTHON, ms[0].group(2))


class DeathTest(PrivsepCase):
    """Either process dying ends the other; a forbidden call kills."""

    def test_killing_the_monitor_ends_the_worker(self):
        tg = self.start()
        os.kill(tg.monitor, signal.SIGKILL)
        rc = self.wait_exit(tg)
        self.assertNotEqual(rc, 0)
        self.assertIn("identifying process is gone", tg.log_text())

    def test_killing_the_worker_ends_the_monitor(self):
        tg = self.start()
        tg.proc.kill()
        tg.proc.wait(10)
        harness.wait_until(lambda: gone(tg.monitor), 10,
                           what="the monitor to exit")

    def forbidden_call_kills_the_worker(self):
        tg = self.start(env={HOOK_ENV: "1"})
        self.assertEqual(self.served()[:2], [OK, VERSION])
        tg.proc.send_signal(signal.SIGUSR1)
        rc = self.wait_exit(tg)
        self.assertEqual(rc, -signal.SIGSYS, tg.log_text()[-3000:])
        self.assertNotIn("setuid(0) returned", tg.log_text())
        if SANDBOX_DEBUG:
            self.assertIn("the worker made a system call its filter does "
                          "not allow: setuid", tg.log_text())
        harness.wait_until(lambda: gone(tg.monitor), 10,
                           what="the monitor to exit")

    # Only where the build has the hook and the run has the filter (a
    # build choice, not something missing: no skip).
    if TEST_HOOKS and not harness.NO_SANDBOX:
        test_forbidden_call_kills_the_worker = \
            forbidden_call_kills_the_worker

    def test_hook_only_in_test_builds(self):
        with open(harness.torgate_binary(), "rb") as f:
            data = f.read()
        self.assertEqual(HOOK_ENV.encode() in data, TEST_HOOKS)


class RootTest(unittest.TestCase):
    """Started as root, torgate needs a user to serve clients as."""

    def run_torgate(self, extra):
        d = harness._tempdir("tgt-root-")
        try:
            p = subprocess.run(
                [harness.torgate_binary(), "-f", "-t",
                 "unix:" + _env.tor.control_path, "-l",
                 "unix:" + os.path.join(d, "s"), "-p", d] + extra,
                stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
            self.assertFalse(os.path.exists(os.path.join(d, "s")),
                             "it bound its listener before refusing")
        finally:
            shutil.rmtree(d, ignore_errors=True)
        return p

    def test_without_user(self):
        p = self.run_torgate([])
        self.assertEqual(p.returncode, 1, p)
        self.assertIn(b"started as root without --user", p.stderr)

    def test_user_root(self):
        p = self.run_torgate(["--user", "root"])
        self.assertEqual(p.returncode, 1, p)
        self.assertIn(b"does not serve clients as root", p.stderr)

    def test_no_such_user(self):
        p = self.run_torgate(["--user", "no-such-user-tgt"])
        self.assertEqual(p.returncode, 1, p)
        self.assertIn(b"no user 'no-such-user-tgt'", p.stderr)


if __name__ == "__main__":
    itkit.main()
