"""torgate as a systemd service, with real processes and a private tor.

- Socket activation: the test makes the listening sockets and starts
  torgate with them at descriptors 3.. and LISTEN_PID, LISTEN_FDS and
  LISTEN_FDNAMES set as systemd sets them; sockets named profile=NAME
  give their clients that profile; sockets torgate cannot serve and
  names it does not understand stop it at start.
- Readiness: READY=1, RELOADING=1 (with MONOTONIC_USEC) and READY=1
  around SIGHUP, STOPPING=1 on SIGTERM, read from a NOTIFY_SOCKET
  datagram socket the test owns, each sent by the process systemd would
  have started (NotifyAccess=main), under the seccomp filter (but in
  sanitizer builds).
- Logs: "<N>" priorities when stderr is the JOURNAL_STREAM; one line per
  verdict naming the client, the profile and the verdict.
- listen group=, and errors a person sees: a profile directory that does
  not exist, a missing socket directory, config-file errors.
- The units in debian/ pass systemd-analyze verify.
"""

import fcntl
import grp
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

import harness
import itkit
from harness import Client, Listener, wait_until
from itkit import FILTERED, OK

env = None

# Runs torgate with the test's sockets at 3, 4, ... and LISTEN_PID set to
# its own pid, as systemd does between fork and exec.
SHIM = r"""
import fcntl, os, sys
n = int(sys.argv[1])
src = [int(x) for x in sys.argv[2:2 + n]]
argv = sys.argv[2 + n:]
tmp = [fcntl.fcntl(f, fcntl.F_DUPFD, 100) for f in src]
for i, f in enumerate(tmp):
    os.dup2(f, 3 + i)
for f in set(tmp + src):
    if f >= 3 + n:
        os.close(f)
os.environ["LISTEN_PID"] = str(os.getpid())
os.execv(argv[0], argv)
"""


def setUpModule():
    global env
    itkit.require_binaries()
    env = itkit.Env(tap=True)


def tearDownModule():
    if env is not None:
        env.close()


class Notify:
    """A NOTIFY_SOCKET of the test's: a datagram socket that learns each
    sender's pid (SO_PASSCRED)."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(self.path)
        # The worker, another user when the tests run as root, sends.
        os.chmod(self.path, 0o666)
        self.messages = []      # (pid, {key: value})

    def wait(self, key, value=None, timeout=harness.DEFAULT_TIMEOUT):
        """The first message not yet taken with key (=value); removed."""
        deadline = time.monotonic() + timeout
        while True:
            for i, (pid, kv) in enumerate(self.messages):
                if key in kv and (value is None or kv[key] == value):
                    return self.messages.pop(i)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no %s=%s within %.1fs; got %r"
                                   % (key, value, timeout, self.messages))
            self.sock.settimeout(remaining)
            try:
                data, anc, _, _ = self.sock.recvmsg(
                    4096, socket.CMSG_SPACE(struct.calcsize("3i")))
            except socket.timeout:
                continue
            pid = None
            for level, typ, cdata in anc:
                if level == socket.SOL_SOCKET and \
                        typ == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("3i", cdata[:12])[0]
            kv = dict(l.split("=", 1) for l in data.decode().split("\n")
                      if "=" in l)
            self.messages.append((pid, kv))

    def close(self):
        self.sock.close()


class Spawned:
    """torgate started as systemd starts it: passed sockets, NOTIFY_SOCKET,
    JOURNAL_STREAM. Its stderr goes to a file."""

    def __init__(self, args, fds=(), names=None, notify=None,
                 journal=False, journal_stream=None, user=True):
        self.dir = env.tempdir("tgt-sd-")
        self.log_path = os.path.join(self.dir, "torgate.log")
        argv = [harness.torgate_binary(), "-f"] + list(args)
        if user and harness.AS_ROOT and "--user" not in argv:
            argv += ["--user", harness.WORKER_USER]
        if harness.NO_SANDBOX and "--no-sandbox" not in argv:
            argv += ["--no-sandbox"]
        e = dict(os.environ)
        for k in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES",
                  "NOTIFY_SOCKET", "JOURNAL_STREAM"):
            e.pop(k, None)
        if fds:
            e["LISTEN_FDS"] = str(len(fds))
            if names is not None:
                e["LISTEN_FDNAMES"] = ":".join(names)
            argv = [sys.executable, "-c", SHIM, str(len(fds))] + \
                [str(f) for f in fds] + argv
        if notify is not None:
            e["NOTIFY_SOCKET"] = notify.path
        self.err = open(self.log_path, "wb")
        if journal:
            st = os.fstat(self.err.fileno())
            e["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
        elif journal_stream is not None:
            e["JOURNAL_STREAM"] = journal_stream
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=self.err, stderr=self.err,
                                     env=e, pass_fds=tuple(fds),
                                     cwd=self.dir)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_log(self, needle, timeout=harness.DEFAULT_TIMEOUT):
        return wait_until(lambda: needle in self.log(), timeout,
                          what="%r in torgate's log" % needle)

    def wait_exit(self, timeout=harness.DEFAULT_TIMEOUT):
        try:
            return self.proc.wait(timeout)
        finally:
            self.err.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait_exit()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self.err.close()


def listening_unix(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    os.chmod(path, 0o666)
    s.listen(16)
    return s


def listening_tcp():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    return s


def wait_closed(tg, n):
    """Wait until n sessions have closed (a session open when torgate
    stops leaves buffers LeakSanitizer reports in the ASan build)."""
    wait_until(lambda: len(re.findall(r"session \d+: closed \(",
                                      tg.log())) >= n,
               harness.DEFAULT_TIMEOUT, what="%d sessions to close" % n)


def tap_addr():
    return "unix:" + env.tap.path


class Case(unittest.TestCase):

    def setUp(self):
        self.socks = []
        self.spawned = []
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        for p in self.spawned:
            p.kill()
        for s in self.socks:
            s.close()

    def keep(self, s):
        self.socks.append(s)
        return s

    def spawn(self, *a, **kw):
        p = Spawned(*a, **kw)
        self.spawned.append(p)
        return p

    def session(self, addr):
        c = Client(addr)
        self.clients.append(c)
        self.assertEqual(c.command(b"AUTHENTICATE\r\n"), OK)
        return c

    def profiles(self):
        """alpha may GETINFO version, beta GETINFO config-file."""
        p = env.profiles()
        p.add("alpha", {"GETINFO": ["version"]})
        p.add("beta", {"GETINFO": ["config-file"]})
        return p


# ---------------------------------------------------------------------------


class ActivationTest(Case):

    def test_named_sockets_bind_profiles_and_ready(self):
        p = self.profiles()
        ua = env.sock("sa-alpha")
        un = env.sock("sa-plain")
        ul = env.sock("sa-listen")
        sa = self.keep(listening_unix(ua))
        st = self.keep(listening_tcp())
        sn = self.keep(listening_unix(un))
        notify = Notify(env.tempdir("tgt-notify-"))
        self.addCleanup(notify.close)
        # Three passed sockets (alpha, beta, and one the unit named
        # without '=') and one -l of its own: all four served.
        tg = self.spawn(["-t", tap_addr(), "-p", p.dir,
                         "-l", "unix:%s,profile=beta" % ul],
                        fds=[sa.fileno(), st.fileno(), sn.fileno()],
                        names=["profile=alpha", "profile=beta",
                               "torgate.socket"], notify=notify)
        pid, kv = notify.wait("READY", "1")
        # Sent by the process systemd started: NotifyAccess=main.
        self.assertEqual(pid, tg.proc.pid)
        self.assertRegex(kv.get("STATUS", ""),
                         r"^0 clients, 2 profiles loaded$")
        log = tg.log()
        self.assertIn("listening on unix:%s (socket from systemd), "
                      "profile alpha" % ua, log)
        self.assertIn("listening on 127.0.0.1:%d (socket from systemd), "
                      "profile beta" % st.getsockname()[1], log)
        self.assertIn("listening on unix:%s (socket from systemd)\n" % un,
                      log)
        self.assertIn("listening on unix:%s, profile beta" % ul, log)
        # The default addresses are not bound: systemd passed sockets.
        self.assertNotIn("/run/torgate/control", log)
        version = env.direct.command(b"GETINFO version\r\n")

        a = self.session(ua)
        self.assertEqual(a.command(b"GETINFO version\r\n"), version)
        self.assertEqual(a.command(b"GETINFO config-file\r\n"), FILTERED)
        for addr in (st.getsockname(), ul):
            b = self.session(addr)
            self.assertEqual(b.command(b"GETINFO version\r\n"), FILTERED)
            self.assertTrue(b.command(b"GETINFO config-file\r\n")
                            .startswith(b"250-config-file="))
        # Named without a profile: the profile of who the client is
        # (none here): nothing allowed.
        n = self.session(un)
        self.assertEqual(n.command(b"GETINFO version\r\n"), FILTERED)

        # SIGHUP: RELOADING=1 with the monotonic clock, then READY=1.
        before = int(time.monotonic() * 1e6)
        tg.proc.send_signal(signal.SIGHUP)
        pid, kv = notify.wait("RELOADING", "1")
        self.assertEqual(pid, tg.proc.pid)
        self.assertRegex(kv.get("MONOTONIC_USEC", ""), r"^\d+$")
        self.assertGreaterEqual(int(kv["MONOTONIC_USEC"]), before)
        self.assertLessEqual(int(kv["MONOTONIC_USEC"]),
                             int(time.monotonic() * 1e6))
        pid, kv = notify.wait("READY", "1")
        self.assertRegex(kv.get("STATUS", ""),
                         r"^4 clients, 2 profiles loaded$")
        # A reload that fails: READY=1 again, and the status says so.
        p.write("broken.yml", "- name: [\n")
        tg.proc.send_signal(signal.SIGHUP)
        notify.wait("RELOADING", "1")
        pid, kv = notify.wait("READY", "1")
        self.assertIn("the last reload failed", kv.get("STATUS", ""))
        os.unlink(os.path.join(p.dir, "broken.yml"))

        for c in self.clients:
            c.close()
        self.clients = []
        wait_closed(tg, 4)
        tg.proc.send_signal(signal.SIGTERM)
        pid, kv = notify.wait("STOPPING", "1")
        self.assertEqual(pid, tg.proc.pid)
        self.assertEqual(tg.wait_exit(), 0, tg.log())
        # Nothing else on the way: no "sd_notify:" error was logged.
        self.assertNotIn("sd_notify", tg.log())

    def test_status_follows_clients(self):
        p = self.profiles()
        u = env.sock("sa-status")
        s = self.keep(listening_unix(u))
        notify = Notify(env.tempdir("tgt-notify-"))
        self.addCleanup(notify.close)
        tg = self.spawn(["-t", tap_addr(), "-p", p.dir], fds=[s.fileno()],
                        names=["profile=alpha"], notify=notify)
        notify.wait("READY", "1")
        self.session(u)
        # The periodic update (every 5 s at most, only on a change).
        pid, kv = notify.wait("STATUS", "1 client, 2 profiles loaded",
                              timeout=20)
        self.assertEqual(pid, tg.proc.pid)
        self.clients[0].close()
        wait_closed(tg, 1)
        self.assertEqual(tg.stop(), 0, tg.log())

    def test_signals_during_start_wait_for_the_loop(self):
        """A reload asked for while torgate is still setting up (systemd
        can send it as soon as the process exists) is done once the loop
        runs, instead of SIGHUP's default action ending torgate."""
        p = self.profiles()
        u = env.sock("sa-hup")
        s = self.keep(listening_unix(u))
        notify = Notify(env.tempdir("tgt-notify-"))
        self.addCleanup(notify.close)
        tg = self.spawn(["-t", tap_addr(), "-p", p.dir], fds=[s.fileno()],
                        names=["profile=alpha"], notify=notify)
        # The profiles are loaded first; the handlers come much later.
        tg.wait_log("loaded 2 profiles", timeout=harness.DEFAULT_TIMEOUT)
        tg.proc.send_signal(signal.SIGHUP)
        notify.wait("READY", "1")
        notify.wait("RELOADING", "1")
        self.assertIsNone(tg.proc.poll(), tg.log())
        c = self.session(u)
        self.assertEqual(c.command(b"GETINFO version\r\n")[:4], b"250-")
        self.assertEqual(tg.stop(), 0, tg.log())

    def test_configured_address_also_passed(self):
        p = self.profiles()
        u = env.sock("sa-both")
        s = self.keep(listening_unix(u))
        tg = self.spawn(["-t", tap_addr(), "-p", p.dir,
                         "-l", "unix:%s,profile=alpha" % u],
                        fds=[s.fileno()], names=["profile=alpha"])
        tg.wait_log("torgate started")
        self.assertIn("listen unix:%s: served from the socket systemd "
                      "passed" % u, tg.log())
        c = self.session(u)
        self.assertEqual(c.command(b"GETINFO version\r\n"),
                         env.direct.command(b"GETINFO version\r\n"))
        c.close()
        wait_closed(tg, 1)
        self.assertEqual(tg.stop(), 0, tg.log())

        # The same address bound to another profile: which was meant?
        tg = self.spawn(["-t", tap_addr(), "-p", p.dir,
                         "-l", "unix:%s,profile=beta" % u],
                        fds=[s.fileno()], names=["profile=alpha"])
        self.assertEqual(tg.wait_exit(), 1)
        self.assertIn("systemd passed this socket bound to profile "
                      "alpha, the configuration binds it to profile beta",
                      tg.log())

    def refused(self, fds, names, why):
        p = self.profiles()
        tg = self.spawn(["-t", tap_addr(), "-p", p.dir], fds=fds,
                        names=names)
        self.assertEqual(tg.wait_exit(), 1, tg.log())
        self.assertIn(why, tg.log())
        self.assertNotIn("torgate started", tg.log())

    def test_refuses_sockets_it_cannot_serve(self):
        udp = self.keep(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
        udp.bind(("127.0.0.1", 0))
        self.refused([udp.fileno()], ["x"], "descriptor 3 ('x') is not a "
                     "listening stream socket")
        quiet = self.keep(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
        quiet.bind(env.sock("sa-quiet"))
        ok = self.keep(listening_tcp())
        self.refused([ok.fileno(), quiet.fileno()], None,
                     "descriptor 4 ('unknown') is not a listening stream "
                     "socket")
        seq = self.keep(socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET))
        seq.bind(env.sock("sa-seq"))
        seq.listen(4)
        self.refused([seq.fileno()], ["y"], "is not a listening stream")

    def test_refuses_names_it_does_not_understand(self):
        s = self.keep(listening_tcp())
        for name in ("profle=alpha", "profile=", "group=tor"):
            self.refused([s.fileno()], [name], "descriptor 3 is named "
                         "'%s'" % name)
        # Fewer names than sockets.
        t = self.keep(listening_tcp())
        self.refused([s.fileno(), t.fileno()], ["a"], "socket activation: "
                     "the sockets systemd passed cannot be read")


class JournalTest(Case):

    def test_priorities_and_one_line_per_verdict(self):
        p = self.profiles()
        u = env.sock("sj-alpha")
        un = env.sock("sj-missing")
        tg = self.spawn(["-t", tap_addr(), "-p", p.dir,
                         "-l", "unix:%s,profile=alpha" % u,
                         "-l", "unix:%s,profile=nosuch" % un],
                        journal=True)
        tg.wait_log("torgate started")
        c = self.session(u)
        self.assertEqual(c.command(b"GETINFO config-file\r\n"), FILTERED)
        self.assertTrue(c.command(b"GETINFO version\r\n")
                        .startswith(b"250-version="))
        # A warning: a listener bound to a profile that is not loaded.
        m = Client(un)
        self.clients.append(m)
        m.command(b"AUTHENTICATE\r\n")
        tg.wait_log("is not loaded")
        c.close()
        m.close()
        wait_closed(tg, 2)
        log = tg.log()
        lines = log.splitlines()
        for line in lines:
            self.assertRegex(line, r"^<[3467]>[^<]", log)
        self.assertTrue(any(l.startswith("<6>torgate started") for l in
                            lines), log)
        self.assertTrue(any(l.startswith("<4>") and "is not loaded" in l
                            for l in lines), log)
        # One info line for each verdict: client, profile, verdict.
        client = r"; client unix peer uid=%d\(.* pid=%d" % (os.getuid(),
                                                          os.getpid())
        denied = [l for l in lines if re.match(
            r'^<6>session \d+: profile alpha: denied "GETINFO '
            r'config-file": .*' + client, l)]
        allowed = [l for l in lines if re.match(
            r'^<6>session \d+: profile alpha: allowed "GETINFO version"'
            + client, l)]
        self.assertEqual(len(denied), 1, log)
        self.assertEqual(len(allowed), 1, log)
        self.assertEqual(tg.stop(), 0, log)

    def test_not_the_journal(self):
        p = self.profiles()
        u = env.sock("sj-plain")
        # JOURNAL_STREAM names another file: stderr is not the journal.
        other = os.path.join(env.tempdir("tgt-j-"), "other")
        open(other, "w").close()
        st = os.stat(other)
        tg = self.spawn(["-t", tap_addr(), "-p", p.dir, "-l", "unix:" + u],
                        journal_stream="%d:%d" % (st.st_dev, st.st_ino))
        tg.wait_log("torgate started")
        self.session(u).close()
        wait_closed(tg, 1)
        self.assertEqual(tg.stop(), 0)
        for line in tg.log().splitlines():
            self.assertRegex(line, r"^torgate: (info|warning|debug): ")


class GroupTest(Case):

    def test_group_and_mode(self):
        p = self.profiles()
        u = env.sock("sg-control")
        if harness.AS_ROOT:
            gid = harness.WORKER_GID
        else:
            gid = os.getegid()
        name = grp.getgrgid(gid).gr_name
        tg = self.spawn(["-t", tap_addr(), "-p", p.dir,
                         "-l", "unix:%s,mode=0660,group=%s" % (u, name)])
        tg.wait_log("torgate started")
        st = os.stat(u)
        self.assertEqual(st.st_gid, gid)
        self.assertEqual(st.st_mode & 0o7777, 0o660)
        self.session(u).close()
        wait_closed(tg, 1)
        self.assertEqual(tg.stop(), 0, tg.log())

    def test_unknown_group(self):
        p = self.profiles()
        u = env.sock("sg-nogroup")
        tg = self.spawn(["-t", tap_addr(), "-p", p.dir,
                         "-l", "unix:%s,group=no-such-group-tg" % u])
        self.assertEqual(tg.wait_exit(), 1)
        self.assertIn("listen unix:%s: no group 'no-such-group-tg'" % u,
                      tg.log())
        self.assertFalse(os.path.exists(u))
        # --check (ExecStartPre) finds it before the start.
        rc, out = itkit.run_check([p.dir], extra=[
            "-l", "unix:%s,group=no-such-group-tg" % u])
        self.assertEqual(rc, 1, out)
        self.assertIn("error: listen unix:%s: no group 'no-such-group-tg'"
                      % u, out)
        self.assertIn("2 profiles, 1 error", out)


class ErrorsTest(Case):

    def test_check_missing_profile_dir(self):
        p = self.profiles()
        rc, out = itkit.run_check(["/nonexistent-tg"])
        self.assertEqual(rc, 1, out)
        self.assertIn("/nonexistent-tg: error: profile directory: No such "
                      "file or directory", out)
        self.assertIn("0 profiles, 1 error, 0 warnings", out)
        # One missing among good ones: still an error.
        rc, out = itkit.run_check([p.dir, "/nonexistent-tg"])
        self.assertEqual(rc, 1, out)
        self.assertIn("2 profiles, 1 error", out)
        # A file where a directory was meant.
        f = p.write("notadir.txt", "")
        rc, out = itkit.run_check([f])
        self.assertEqual(rc, 1, out)
        self.assertIn("%s: error: profile directory: not a directory" % f,
                      out)
        rc, out = itkit.run_check([p.dir])
        self.assertEqual(rc, 0, out)

    def test_start_missing_profile_dir(self):
        tg = self.spawn(["-t", tap_addr(), "-p", "/nonexistent-tg",
                         "-l", "unix:" + env.sock("se-x")])
        self.assertEqual(tg.wait_exit(), 1)
        self.assertIn("/nonexistent-tg: error: profile directory",
                      tg.log())
        self.assertIn("cannot start without valid profiles", tg.log())

    def test_missing_socket_directory(self):
        p = self.profiles()
        d = os.path.join(env.tempdir("tgt-run-"), "torgate")
        tg = self.spawn(["-t", tap_addr(), "-p", p.dir,
                         "-l", "unix:%s/control" % d])
        self.assertEqual(tg.wait_exit(), 1)
        self.assertIn("listen unix:%s/control: the directory %s does not "
                      "exist" % (d, d), tg.log())

    def test_config_file_errors(self):
        d = env.tempdir("tgt-cfg-")
        cfg = os.path.join(d, "torgate.yml")
        with open(cfg, "w") as f:
            f.write("listen:\n  - 127.0.0.1:9,group=x\nbogus: 1\n")
        p = subprocess.run([harness.torgate_binary(), "--check", "-c", cfg],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=20)
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 1, out)
        self.assertIn("%s:2:5: error: 127.0.0.1:9,group=x: group= only "
                      "applies to unix sockets" % cfg, out)
        self.assertIn("%s:3:1: error: unknown key 'bogus'" % cfg, out)
        self.assertIn("%s: 2 errors; not a valid config file" % cfg, out)
        with open(cfg, "w") as f:
            f.write("tor: [\n")
        p = subprocess.run([harness.torgate_binary(), "--check", "-c", cfg],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=20)
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 1, out)
        self.assertRegex(out, re.escape(cfg) + r":2:1: error: ")
        self.assertIn("%s: 1 error; not a valid config file" % cfg, out)


class UnitsTest(unittest.TestCase):

    def test_units_verify(self):
        sa = shutil.which("systemd-analyze")
        if sa is None:
            itkit.missing("systemd-analyze not installed")
        top = os.environ.get("TOP_SRCDIR") or os.path.join(
            os.path.dirname(__file__), "..", "..")
        d = tempfile.mkdtemp(prefix="tgt-units-")
        self.addCleanup(shutil.rmtree, d, True)
        # The units name /usr/sbin/torgate; verify runs the checks on the
        # binary under test (it must exist and be executable).
        units = []
        for u in ("torgate.service", "torgate.socket"):
            with open(os.path.join(top, "debian", u)) as f:
                text = f.read()
            with open(os.path.join(d, u), "w") as f:
                f.write(text.replace("/usr/sbin/torgate",
                                     harness.torgate_binary()))
            units.append(os.path.join(d, u))
        p = subprocess.run([sa, "verify", "--man=no"] + units,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60, cwd=d)
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 0, out)
        # Unknown keys are only warned about: none may be there.
        self.assertEqual(out.strip(), "", out)
        with open(units[0]) as f:
            service = f.read()
        self.assertRegex(service, r"(?m)^Type=notify$")
        self.assertRegex(service, r"(?m)^NotifyAccess=main$")
        # --check reads the same config file the daemon is started with
        pre = re.search(r"(?m)^ExecStartPre=\S+ --check((?: \S+)*)$",
                        service)
        start = re.search(r"(?m)^ExecStart=\S+ -f((?: \S+)*)$", service)
        self.assertIsNotNone(pre, service)
        self.assertIsNotNone(start, service)
        self.assertIn("-c /etc/torgate/torgate.yml", pre.group(1))
        self.assertIn("-c /etc/torgate/torgate.yml", start.group(1))


if __name__ == "__main__":
    itkit.main()
