#!/usr/bin/python3
"""The identifying process (src/ident.c), end to end.

torgate forks one identifying process at start; the slow steps of client
identification (user names not cached yet, the /proc scan that finds a
loopback TCP client's process) run there while the event loop goes on
serving everyone else. These tests check its life cycle against a real
torgate in front of a private offline tor: one child, the same binary,
holding nothing but its socketpair end; either side dying takes the other
down, and SIGTERM to both (as systemd stops a unit) is still a clean stop;
a loopback TCP client is still identified by its executable; many
clients waiting at once are all served, and a client that needs no slow
step is served while the identifying process is stopped.
"""

import os
import pwd
import re
import shutil
import signal
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
CLOSING = b"250 closing connection\r\n"

# The interpreter running this file, as /proc/PID/exe shows it.
PYTHON = os.path.realpath(os.readlink("/proc/self/exe"))
ME = pwd.getpwuid(os.getuid()).pw_name
BASH = shutil.which("bash")
BASH = os.path.realpath(BASH) if BASH else None

# How long either side may take to notice that the other is gone.
EXIT_TIMEOUT = 5.0

SESSION_RE = re.compile(
    r"session (\d+): client (.*) on (\S+), profile (.*?)"
    r"( \(collision: all denied\))?$", re.M)


class _Env:
    tor = None
    version_reply = None


_env = _Env()


def setUpModule():
    itkit.require_binaries()
    _env.tor = TorInstance().start()
    with _env.tor.direct() as d:
        _env.version_reply = d.command(b"GETINFO version\r\n")


def tearDownModule():
    if _env.tor is not None:
        _env.tor.cleanup()


# ---------------------------------------------------------------------------
# /proc helpers


def proc_stat(pid):
    """(state, ppid, starttime) of pid, or None if there is no such
    process."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name may hold spaces and parentheses: split after the
    # last ')'.
    rest = data[data.rindex(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[19])


def children(pid):
    """Pids whose parent is pid (live or zombie)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = proc_stat(int(name))
        if st is not None and st[1] == pid:
            out.append(int(name))
    return sorted(out)


def gone(pid, starttime):
    """Has the process pid (started at starttime) exited? A zombie counts:
    nobody may be reaping an orphan here."""
    st = proc_stat(pid)
    return st is None or st[2] != starttime or st[0] in ("Z", "X")


def read_cmdline(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read()


def open_fds(pid):
    """{fd number: readlink target} of pid."""
    d = "/proc/%d/fd" % pid
    out = {}
    for name in os.listdir(d):
        try:
            out[int(name)] = os.readlink(os.path.join(d, name))
        except FileNotFoundError:
            pass
    return out


def yaml_list(items):
    return "[" + ", ".join(harness.yaml_quote(i) for i in items) + "]"


# ---------------------------------------------------------------------------


class IdentCase(unittest.TestCase):
    """Each test starts its own torgate(s) (start()); tearDown kills what
    is left, and the identifying process follows on EOF."""

    PROFILES = {}   # {name: (commands, {qualifier: [values]})}

    def setUp(self):
        self.daemons = []
        self.profiles = ProfileDir()
        self.sockdir = harness._tempdir("tgt-ident-")
        for name, (commands, quals) in self.PROFILES.items():
            extra = "".join("  %s: %s\n" % (k, yaml_list(v))
                            for k, v in quals.items())
            self.profiles.add(name, commands, extra)

    def tearDown(self):
        for tg in self.daemons:
            tg.cleanup()
        self.profiles.cleanup()
        shutil.rmtree(self.sockdir, ignore_errors=True)

    def start(self, tcp=False):
        """A torgate with a unix listener (self.unix) and, if tcp, a
        loopback TCP one (self.tcp). Returns it with tg.ident set to its
        identifying process's pid."""
        last = None
        for _ in range(3):  # a free TCP port may be taken meanwhile
            self.unix = os.path.join(self.sockdir,
                                     "tg%d.sock" % len(self.daemons))
            listeners = [Listener(self.unix)]
            if tcp:
                self.tcp = ("127.0.0.1", harness.free_tcp_port())
                listeners.append(Listener(self.tcp))
            tg = Torgate("unix:" + _env.tor.control_path,
                         [self.profiles.dir], listeners)
            try:
                tg.start()
            except harness.HarnessError as e:
                last = e
                tg.cleanup()
                continue
            self.daemons.append(tg)
            # start() connected once to each listener: wait for those
            # sessions, so that later log lines are ours.
            harness.wait_until(
                lambda: len(SESSION_RE.findall(tg.log_text()))
                >= len(listeners), harness.DEFAULT_TIMEOUT,
                what="torgate to log its start-up probes")
            kids = children(tg.proc.pid)
            self.assertEqual(len(kids), 1,
                             "torgate should have exactly one child (the "
                             "identifying process), has %r" % kids)
            tg.ident = kids[0]
            tg.ident_start = proc_stat(tg.ident)[2]
            return tg
        raise last

    def assert_alive(self, tg):
        self.assertTrue(tg.alive(), "torgate died (status %r); log:\n%s"
                        % (tg.returncode(), tg.log_text()[-6000:]))

    def stop_cleanly(self, tg):
        """SIGTERM: torgate exits 0 and takes its identifying process
        with it."""
        self.assert_alive(tg)
        rc = tg.stop()
        self.assertEqual(rc, 0, "torgate exited with %r on SIGTERM; log:\n%s"
                         % (rc, tg.log_text()[-6000:]))
        # ident_free() waits for it, so it is gone at once.
        self.assertTrue(gone(tg.ident, tg.ident_start),
                        "identifying process %d outlived torgate"
                        % tg.ident)

    def session_line(self, tg, port):
        """The log line of the session from local TCP port port."""
        prefix = "127.0.0.1:%d " % port
        for m in SESSION_RE.finditer(tg.log_text()):
            if m.group(2).startswith(prefix):
                return m
        self.fail("no session line for %s in the log:\n%s"
                  % (prefix, tg.log_text()[-6000:]))


class ProcessTest(IdentCase):
    """The identifying process's life, tied to torgate's."""

    def test_one_identifying_child_of_the_same_binary(self):
        tg = self.start(tcp=True)
        pid, kid = tg.proc.pid, tg.ident
        # Exactly two torgate processes: torgate and its one child, which
        # has none of its own.
        self.assertEqual(children(pid), [kid])
        self.assertEqual(children(kid), [])
        # The same program: forked, not exec'd into something else.
        exe = os.path.realpath(tg.binary)
        self.assertEqual(os.readlink("/proc/%d/exe" % pid), exe)
        self.assertEqual(os.readlink("/proc/%d/exe" % kid), exe)
        self.assertEqual(read_cmdline(kid), read_cmdline(pid))
        # It keeps the standard descriptors and its end of the socketpair,
        # nothing else: no listening socket, no client, no tor connection.
        fds = open_fds(kid)
        extra = {fd: t for fd, t in fds.items() if fd > 2}
        self.assertEqual(len(extra), 1,
                         "identifying process holds %r" % fds)
        self.assertTrue(list(extra.values())[0].startswith("socket:"),
                        extra)
        # Its end of the socketpair is its own: no socket torgate holds
        # (a listener, a client, tor) is shared with it.
        shared = set(open_fds(pid).values()) & set(extra.values())
        self.assertEqual(shared, set(),
                         "sockets shared with torgate: %r" % shared)
        self.stop_cleanly(tg)

    def test_identifying_process_killed_torgate_exits(self):
        tg = self.start()
        os.kill(tg.ident, signal.SIGKILL)
        t0 = time.monotonic()
        try:
            rc = tg.proc.wait(EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail("torgate still running %.0fs after its identifying "
                      "process was killed; log:\n%s"
                      % (EXIT_TIMEOUT, tg.log_text()[-4000:]))
        # It exits by itself, with a failure status, not by a signal.
        self.assertGreater(rc, 0, "torgate exit status %r" % rc)
        self.assertLess(time.monotonic() - t0, EXIT_TIMEOUT)
        self.assertRegex(tg.log_text(), r"identifying process.*exiting",
                         "torgate did not log why it exited")

    def test_torgate_killed_identifying_process_exits(self):
        tg = self.start()
        kid, start = tg.ident, tg.ident_start
        self.assertFalse(gone(kid, start))
        tg.proc.kill()
        tg.proc.wait(EXIT_TIMEOUT)
        harness.wait_until(lambda: gone(kid, start), EXIT_TIMEOUT,
                           what="the identifying process %d to exit "
                           "after torgate was killed" % kid)

    def test_identifying_process_stopped_with_torgate(self):
        tg = self.start()
        self.stop_cleanly(tg)

    def test_sigterm_to_every_process_is_a_clean_stop(self):
        # systemd's default KillMode=control-group sends SIGTERM to every
        # process of the unit at once. The identifying process must leave
        # the stopping to torgate (it exits on EOF), or torgate may see it
        # gone first and exit with a failure.
        tg = self.start()
        with open("/proc/%d/status" % tg.ident) as f:
            ignored = int(re.search(r"^SigIgn:\s*([0-9a-f]+)$", f.read(),
                                    re.M).group(1), 16)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            self.assertTrue(ignored & (1 << (sig - 1)),
                            "identifying process does not ignore %s"
                            % sig.name)
        # The child first: the order in which a dying child would win.
        os.kill(tg.ident, signal.SIGTERM)
        os.kill(tg.proc.pid, signal.SIGTERM)
        try:
            rc = tg.proc.wait(EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail("torgate did not stop on SIGTERM")
        self.assertEqual(rc, 0, "torgate exited with %r; log:\n%s"
                         % (rc, tg.log_text()[-3000:]))
        self.assertTrue(gone(tg.ident, tg.ident_start))


VERSION_ONLY = {"GETINFO": ["version"]}
CONFIG_FILE_ONLY = {"GETINFO": ["config-file"]}

# The /proc scan for a loopback TCP client's process is bounded in time and
# descriptors (peer.c). On a host where other processes hold tens of
# thousands of descriptors it may give up before reaching the client: the
# client is then identified without its program (fail closed). That is
# the environment, not a fault, when the scan got this far first.
CUT_SHORT_MIN_FDS = 5000
CUT_SHORT_RE = r"no process found holding socket inode %d \(scan cut short, " \
    r"(\d+) descriptors"


def sock_inode(sock):
    return os.fstat(sock.fileno()).st_ino


class ExeCase(IdentCase):

    def cut_short(self, tg, inode):
        """If the scan for the client socket inode was cut short, after
        enough descriptors to blame the host: how many; else None."""
        m = re.search(CUT_SHORT_RE % inode, tg.log_text())
        if m is None:
            return None
        n = int(m.group(1))
        self.assertGreaterEqual(
            n, CUT_SHORT_MIN_FDS, "the /proc scan gave up after only %d "
            "descriptors: %s" % (n, m.group(0)))
        return n


class ExeOverTcpTest(ExeCase):
    """exe-paths picks the profile of a loopback TCP client: the /proc scan
    for its process runs in the identifying process."""

    PROFILES = {
        "P_python": (VERSION_ONLY, {"exe-paths": [PYTHON], "users": [ME]}),
        "P_bash": (CONFIG_FILE_ONLY, {"exe-paths": [BASH or "/nonexistent"],
                                      "users": ["*"]}),
    }
    TRIES = 3

    def test_python_client(self):
        tg = self.start(tcp=True)
        for _ in range(self.TRIES):
            with Client(self.tcp) as c:
                port = c.sock.getsockname()[1]
                inode = sock_inode(c.sock)
                c.send(b"AUTHENTICATE\r\nGETINFO version\r\n"
                       b"GETINFO config-file\r\n")
                replies = c.read_replies(3)
            n = self.cut_short(tg, inode)
            if n is None:
                break
        else:
            self.skipTest("the /proc scan was cut short by other processes' "
                          "descriptors (%d seen) %d times" % (n, self.TRIES))
        # P_python's command passes, P_bash's does not.
        self.assertEqual(replies, [OK, _env.version_reply, FILTERED])
        m = self.session_line(tg, port)
        self.assertEqual(m.group(4), "P_python", m.group(0))
        self.assertIn(" pid=%d" % os.getpid(), m.group(2))
        self.assertIn(" exe=" + PYTHON, m.group(2))
        self.stop_cleanly(tg)

    def test_bash_client(self):
        # Another program over the same loopback TCP listener, same user:
        # the other profile. bash keeps the socket itself (no exec) and
        # tells us its inode and local port.
        if BASH is None:
            self.skipTest("bash not installed")
        tg = self.start(tcp=True)
        script = ("exec 3<>/dev/tcp/%s/%d || exit 1\n"
                  "readlink /proc/$$/fd/3 >&2\n"
                  "printf 'AUTHENTICATE\\r\\nGETINFO config-file\\r\\n"
                  "GETINFO version\\r\\nQUIT\\r\\n' >&3\n"
                  "while IFS= read -r -t 10 line <&3; do\n"
                  "  printf '%%s\\n' \"$line\"\n"
                  "done\n" % self.tcp)
        for _ in range(self.TRIES):
            p = subprocess.run([BASH, "-c", script],
                               stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=30)
            m = re.match(rb"socket:\[(\d+)\]", p.stderr)
            self.assertTrue(m, p)
            n = self.cut_short(tg, int(m.group(1)))
            if n is None:
                break
        else:
            self.skipTest("the /proc scan was cut short by other processes' "
                          "descriptors (%d seen) %d times" % (n, self.TRIES))
        lines = p.stdout.split(b"\n")
        self.assertEqual(lines[0] + b"\n", OK, p)
        self.assertTrue(lines[1].startswith(b"250-config-file="), p)
        self.assertEqual(lines[2] + b"\n", OK, p)
        self.assertEqual(lines[3] + b"\n", FILTERED, p)    # P_python's
        self.assertEqual(lines[4] + b"\n", CLOSING, p)
        ms = [m for m in SESSION_RE.finditer(tg.log_text())
              if " exe=" + BASH in m.group(2)]
        self.assertEqual(len(ms), 1, tg.log_text()[-4000:])
        self.assertEqual(ms[0].group(4), "P_bash", ms[0].group(0))
        self.assertTrue(ms[0].group(2).startswith("127.0.0.1:"),
                        ms[0].group(0))
        self.stop_cleanly(tg)


class LoopNotBlockedTest(ExeCase):
    """Clients waiting for the identifying process do not hold up the
    others."""

    PROFILES = {
        "P_python": (VERSION_ONLY, {"exe-paths": [PYTHON], "users": ["*"]}),
    }
    N_TCP = 50
    SCRIPT = b"AUTHENTICATE\r\nGETINFO version\r\nGETINFO config-file\r\n"
    # No profile (the program unknown): only the built-ins work.
    WANT_UNKNOWN = [OK, FILTERED, FILTERED]

    def want(self):
        return [OK, _env.version_reply, FILTERED]

    def check_tcp(self, tg, port, inode, replies):
        """A TCP client was identified by its program and served as
        P_python, or its scan was cut short and it was refused all but the
        built-ins. Returns True for the first."""
        m = self.session_line(tg, port)
        if self.cut_short(tg, inode) is not None:
            self.assertEqual(m.group(4), "(none)", m.group(0))
            self.assertEqual(replies, self.WANT_UNKNOWN, m.group(0))
            return False
        self.assertEqual(m.group(4), "P_python", m.group(0))
        self.assertIn(" pid=%d" % os.getpid(), m.group(2))
        self.assertIn(" exe=" + PYTHON, m.group(2))
        self.assertEqual(replies, self.want(), m.group(0))
        return True

    def test_many_tcp_clients_at_once(self):
        tg = self.start(tcp=True)
        tcp, u = [], None
        t0 = time.monotonic()
        try:
            for i in range(self.N_TCP):
                c = Client(self.tcp)
                tcp.append((c, c.sock.getsockname()[1], sock_inode(c.sock)))
                c.send(self.SCRIPT)
                if i == self.N_TCP // 2:
                    # A unix client in the middle of the burst.
                    u = Client(self.unix)
                    u.send(self.SCRIPT)
            replies = [c.read_replies(3) for c, _, _ in tcp]
            self.assertEqual(u.read_replies(3), self.want(), "unix client")
            elapsed = time.monotonic() - t0
        finally:
            for c, _, _ in tcp:
                c.close()
            if u is not None:
                u.close()
        identified = sum(self.check_tcp(tg, port, inode, r)
                         for (_, port, inode), r in zip(tcp, replies))
        if identified == 0:
            self.skipTest("every /proc scan was cut short by other "
                          "processes' descriptors")
        # One scan at a time, each bounded (100 ms): well within this.
        self.assertLess(elapsed, 10.0)
        self.stop_cleanly(tg)

    def unix_as_worker(self, script):
        """script over the unix listener from a client of torgate's
        worker's own user, whose program the worker can read without the
        identifying process (run as root, the worker is
        harness.WORKER_USER: a separate process of that user). Returns
        the replies' bytes."""
        if not harness.AS_ROOT:
            with Client(self.unix) as u:
                u.send(script)
                return b"".join(u.read_replies(script.count(b"\n")))
        code = ("import socket,sys\n"
                "s=socket.socket(socket.AF_UNIX)\n"
                "s.settimeout(10)\n"
                "s.connect(sys.argv[1])\n"
                "s.sendall(sys.argv[2].encode())\n"
                "s.shutdown(socket.SHUT_WR)\n"
                "b=b''\n"
                "while True:\n"
                "    d=s.recv(65536)\n"
                "    if not d: break\n"
                "    b+=d\n"
                "sys.stdout.buffer.write(b)\n")
        p = subprocess.run(
            ["setpriv", "--reuid=" + harness.WORKER_USER,
             "--regid=%d" % harness.WORKER_GID, "--clear-groups", PYTHON,
             "-I", "-c", code, self.unix, script.decode()],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, p)
        return p.stdout

    def test_unix_client_served_while_identifying_process_stopped(self):
        tg = self.start(tcp=True)
        # Warm the user-name cache: a unix client of the worker's uid then
        # needs no slow step, while a TCP one still needs the /proc scan.
        self.assertEqual(self.unix_as_worker(b"AUTHENTICATE\r\n"), OK)
        os.kill(tg.ident, signal.SIGSTOP)
        try:
            harness.wait_until(lambda: proc_stat(tg.ident)[0] == "T", 5,
                               what="the identifying process to stop")
            waiting = Client(self.tcp)
            port, inode = waiting.sock.getsockname()[1], sock_inode(
                waiting.sock)
            waiting.send(self.SCRIPT)
            # A client that disconnects while it waits.
            quitter = Client(self.tcp)
            quitter.send(b"AUTHENTICATE\r\n")
            quitter.close()
            self.assertEqual(self.unix_as_worker(self.SCRIPT),
                             b"".join(self.want()))
            # The TCP client is still waiting for its identity: nothing
            # of it has been read, so nothing answered.
            waiting.sock.setblocking(False)
            try:
                early = waiting.sock.recv(4096)
            except BlockingIOError:
                early = None
            waiting.sock.setblocking(True)
            waiting.sock.settimeout(waiting.timeout)
            self.assertIsNone(early, "answered before it was identified")
        finally:
            os.kill(tg.ident, signal.SIGCONT)
        try:
            replies = waiting.read_replies(3)
        finally:
            waiting.close()
        self.check_tcp(tg, port, inode, replies)
        # Still serving after the abandoned request was answered.
        with Client(self.unix) as u:
            u.send(self.SCRIPT)
            self.assertEqual(u.read_replies(3), self.want())
        self.stop_cleanly(tg)


if __name__ == "__main__":
    unittest.main(verbosity=2)
