"""Shared scaffolding for the policy integration tests (test_compat,
test_policy_engine, test_events, test_modes), on top of harness.py.

A module builds one Env in setUpModule (its own private tor, optionally a
Tap), starts as many torgate daemons as it needs through it, and tears it
all down in tearDownModule; a daemon that died or did not exit 0 on SIGTERM
fails the module. Every wait is bounded.
"""

import os
import sys
import shutil
import socket
import subprocess
import time
import unittest

import harness
from harness import Client, Listener, ProfileDir, Tap, TorInstance, Torgate

FILTERED = b"510 Command filtered\r\n"
OK = b"250 OK\r\n"
CLOSING = b"250 closing connection\r\n"

# Lines torgate itself sends on each new upstream connection.
HANDSHAKE = (b"PROTOCOLINFO", b"AUTHCHALLENGE SAFECOOKIE ", b"AUTHENTICATE ",
             b"GETINFO net/listeners/control")


def missing(what):
    """Something a test needs is not here: skip it, but under CI=true
    (where everything must be installed) fail."""
    if os.environ.get("CI") == "true":
        raise RuntimeError("%s (required under CI=true)" % what)
    raise unittest.SkipTest(what)


def main():
    """unittest.main, but exit 77 (meson's SKIP) when tests were skipped
    and none failed, so that a missing client never reads as OK."""
    prog = unittest.main(verbosity=2, exit=False)
    r = prog.result
    if r.failures or r.errors or r.unexpectedSuccesses:
        sys.exit(1)
    sys.exit(77 if r.skipped else 0)


def require_binaries():
    if harness.find_tor() is None:
        missing("tor not installed")
    b = harness.torgate_binary()
    if not b or not os.access(b, os.X_OK):
        missing("torgate binary not built (set TORGATE)")


def run_check(dirs, timeout=20, extra=()):
    """torgate --check -p DIR... [extra...]; returns (exit status, stdout
    text)."""
    args = [harness.torgate_binary(), "--check"]
    for d in dirs:
        args += ["-p", d]
    args += list(extra)
    p = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace")


class BoundClient(Client):
    """A Client whose TCP connection comes from a chosen local address
    (e.g. 127.0.0.2), so that tor and torgate see another source."""

    def __init__(self, addr, source_host, timeout=harness.DEFAULT_TIMEOUT):
        self.addr = addr
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.bind((source_host, 0))
        self.sock.connect(addr)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.eof = False
        self.events = []


def wait_event(client, pred, timeout=harness.DEFAULT_TIMEOUT, what="event"):
    """The first event (already seen or arriving) for which pred(bytes) is
    true; removed from client.events. Replies met meanwhile are an error."""
    for i, ev in enumerate(client.events):
        if pred(ev):
            return client.events.pop(i)
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no %s within %.1fs; events seen: %r"
                               % (what, timeout, client.events[-20:]))
        try:
            msg = client._read_message(time.monotonic() + remaining)
        except TimeoutError:
            raise TimeoutError("no %s within %.1fs; events seen: %r"
                               % (what, timeout, client.events[-20:])) \
                from None
        if msg[:1] != b"6":
            raise AssertionError("unexpected reply %r while waiting for %s"
                                 % (msg, what))
        if pred(msg):
            return msg
        client.events.append(msg)


def starts(prefix):
    return lambda ev: ev.startswith(prefix)


class Env:
    """One private tor (+ optional Tap) and the torgate daemons of a test
    module."""

    def __init__(self, tcp_control=False, tap=True, extra_config=()):
        self.tor = self.tap = self.direct = None
        self.daemons = []
        self.dirs = []
        self.tor = TorInstance(tcp_control=tcp_control,
                               extra_config=extra_config).start()
        self.direct = self.tor.direct()
        if tap:
            self.tap = Tap(self.tor.control_path)
        self.sockdir = self.tempdir("tgt-sock-")

    def tempdir(self, prefix):
        d = harness._tempdir(prefix)
        self.dirs.append(d)
        return d

    def sock(self, name):
        return os.path.join(self.sockdir, name)

    def profiles(self):
        p = ProfileDir()
        self.dirs.append(p.dir)
        return p

    def torgate(self, profile_dirs, listeners, upstream="tap",
                extra_args=(), tries=3):
        """Start a torgate. listeners: Listener objects; a TCP one given
        with port 0 gets a free port (retried if taken meanwhile).
        upstream: "tap", "unix" (tor's socket) or "tcp" (tor's TCP port
        with --tor-cookie)."""
        extra = list(extra_args)
        if upstream == "tap":
            tor_addr = "unix:" + self.tap.path
        elif upstream == "unix":
            tor_addr = "unix:" + self.tor.control_path
        else:
            tor_addr = "%s:%d" % self.tor.tcp_addr
            extra += ["--tor-cookie", self.tor.cookie_path]
        last = None
        for _ in range(tries):
            ls = []
            for lst in listeners:
                addr = lst.addr
                if not isinstance(addr, str) and addr[1] == 0:
                    addr = (addr[0], harness.free_tcp_port(addr[0]))
                ls.append(Listener(addr, profile=lst.profile,
                                   mode=lst.mode))
            tg = Torgate(tor_addr, profile_dirs, ls, extra_args=extra)
            try:
                tg.start()
            except harness.HarnessError as e:
                last = e
                tg.cleanup()
                continue
            self.daemons.append(tg)
            return tg
        raise last

    def stop_daemon(self, tg):
        """Stop one daemon now; returns a problem string or None."""
        if tg not in self.daemons:
            return None
        self.daemons.remove(tg)
        alive = tg.alive()
        rc = tg.stop()
        log = tg.log_text()
        tg.cleanup()
        if not alive:
            return "torgate died (status %r); log:\n%s" % (rc, log[-6000:])
        if rc != 0:
            return ("torgate exited with %r on SIGTERM; log:\n%s"
                    % (rc, log[-6000:]))
        return None

    def close(self):
        problems = []
        for tg in list(self.daemons):
            p = self.stop_daemon(tg)
            if p:
                problems.append(p)
        if self.direct is not None:
            self.direct.close()
        if self.tap is not None:
            self.tap.close()
        if self.tor is not None:
            if not self.tor.alive():
                problems.append("tor died:\n" + self.tor.log_text()[-4000:])
            self.tor.cleanup()
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)
        if problems:
            raise AssertionError("\n\n".join(problems))


class GateCase(unittest.TestCase):
    """Base class: cls.env (an Env) and cls.tg (the torgate under test)
    are set by the module or the subclass."""

    env = None
    tg = None

    @classmethod
    def tgs(cls):
        return [cls.tg] if cls.tg is not None else []

    def setUp(self):
        for tg in self.tgs():
            self.assertTrue(tg.alive(), "torgate is not running:\n"
                            + tg.log_text()[-6000:])
        self.clients = []
        self.mark = self.env.tap.mark() if self.env.tap else None

    def tearDown(self):
        for c in self.clients:
            c.close()
        for tg in self.tgs():
            if not tg.alive():
                self.fail("torgate died during the test (status %r); log:\n"
                          "%s" % (tg.returncode(), tg.log_text()[-6000:]))
        self.assertTrue(self.env.tor.alive(),
                        "tor died:\n" + self.env.tor.log_text()[-4000:])

    # -- clients ------------------------------------------------------

    def track(self, c):
        self.clients.append(c)
        return c

    def connect(self, addr):
        return self.track(Client(addr))

    def session(self, addr):
        c = self.connect(addr)
        self.assertEqual(c.command(b"AUTHENTICATE\r\n"), OK)
        return c

    def fresh_direct(self):
        return self.track(self.env.tor.direct())

    def ref(self, cmd):
        """tor's reply to cmd on the module's direct connection."""
        return self.env.direct.command(cmd)

    def ref_fresh(self, cmd):
        """tor's reply on a new direct connection (for per-connection
        state such as onions/current)."""
        with self.env.tor.direct() as d:
            return d.command(cmd)

    BARRIER = b"SETEVENTS\r\n"

    def barrier(self, c, cmd=None):
        """A command answered by tor: its reply proves that everything c
        sent before has been handled, and reached tor if it was forwarded.
        By default an empty SETEVENTS, which every profile allows (it
        clears the client's events: event tests pass GETINFO version
        instead, compared with tor's direct reply)."""
        cmd = cmd or self.BARRIER
        want = OK if cmd.upper().startswith(b"SETEVENTS") else self.ref(cmd)
        self.assertEqual(c.command(cmd), want, "barrier %r" % cmd)

    # -- what tor received ----------------------------------------------

    def sent_to_tor(self, mark=None):
        """Bytes tor received since mark (default: the test's start), less
        torgate's own handshake lines."""
        data = self.env.tap.sent_since(mark or self.mark)
        return b"".join(l for l in data.splitlines(keepends=True)
                        if not l.startswith(HANDSHAKE))

    def tor_lines(self, mark=None):
        """The command lines tor received since mark, without CRLF."""
        data = self.env.tap.sent_since(mark or self.mark)
        out = []
        for chunk in data.split(b"\n--\n"):
            out += [l for l in chunk.split(b"\r\n")
                    if l and not l.startswith(HANDSHAKE)]
        return out

    def assert_tor_got(self, line, mark=None, timeout=5):
        """tor received exactly this command line (given without CRLF)."""
        try:
            self.env.tap.wait_for(line + b"\r\n", mark or self.mark,
                                  timeout)
        except TimeoutError:
            pass
        self.assertIn(line, self.tor_lines(mark),
                      "tor did not receive the line %r" % line)

    def assert_not_forwarded(self, *needles, mark=None):
        data = self.sent_to_tor(mark)
        for n in needles:
            self.assertNotIn(n, data, "tor received %r" % n)

    def assert_denied(self, c, line, *needles, barrier=None):
        """line (bytes without CRLF) gets 510 Command filtered, and after a
        barrier nothing of it (or of needles) has reached tor."""
        m = self.env.tap.mark() if self.env.tap else None
        self.assertEqual(c.command(line + b"\r\n"), FILTERED,
                         "%r was not filtered" % line)
        self.barrier(c, barrier)
        if m is not None:
            self.assert_not_forwarded(*(needles or (line,)), mark=m)

