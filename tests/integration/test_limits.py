#!/usr/bin/python3
"""Every limit a client can push, tested at the bound: line length (before
and after AUTHENTICATE), multi-line body size, commands in flight, bytes
queued towards a client that does not read, and the number of clients.
Each limit is set low in a config file (-c) so the bound is reachable."""

import os
import shutil
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import Client, Listener, ProfileDir, Tap, TorInstance, Torgate

OK = b"250 OK\r\n"
LONG_ERR = b"500 Line too long\r\n"
BODY_ERR = b"500 Multi-line command too long\r\n"
AUTH_REQUIRED = b"514 Authentication required.\r\n"
TOO_MANY = b"451 torgate: too many connections\r\n"

MAX_LINE = 1024
MAX_BODY = 2048
MAX_PENDING = 4
MAX_OUTPUT = 8192
MAX_CLIENTS = 3
PREAUTH_LINE = 1024     # min(max-line-length, 4096)


class Env:
    tor = tap = tg = profiles = None


env = Env()


def setUpModule():
    if harness.find_tor() is None or not harness.torgate_binary():
        raise unittest.SkipTest("tor or torgate missing")
    try:
        env.tor = TorInstance().start()
        env.tap = Tap(env.tor.control_path)
        env.profiles = ProfileDir()
        env.profiles.add("limits", {
            "GETINFO": ["version", "config-text", "a*"],
            "LOADCONF": [r"(?s).*"],
        })
        env.dir = harness._tempdir("tgt-lim-")
        conf = os.path.join(env.dir, "torgate.yml")
        with open(conf, "w") as f:
            f.write("max-line-length: %d\nmax-body-length: %d\n"
                    "max-pending-commands: %d\nmax-output-buffer: %d\n"
                    "max-clients: %d\n" % (MAX_LINE, MAX_BODY, MAX_PENDING,
                                           MAX_OUTPUT, MAX_CLIENTS))
        env.path = os.path.join(env.dir, "tg.sock")
        env.tg = Torgate("unix:" + env.tap.path, [env.profiles.dir],
                         [Listener(env.path, profile="limits")],
                         extra_args=["-c", conf], debug=False).start()
    except BaseException:
        tearDownModule()
        raise


def tearDownModule():
    problem = None
    if env.tg is not None:
        alive = env.tg.alive()
        rc = env.tg.stop()
        if not alive or rc != 0:
            problem = "torgate died or failed on SIGTERM (%r):\n%s" % (
                rc, env.tg.log_text()[-6000:])
        env.tg.cleanup()
    if env.tap is not None:
        env.tap.close()
    if env.profiles is not None:
        env.profiles.cleanup()
    if env.tor is not None:
        env.tor.cleanup()
    if problem:
        raise AssertionError(problem)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class LimitsTest(unittest.TestCase):
    def setUp(self):
        self.clients = []
        self.mark = env.tap.mark()

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.assertTrue(env.tg.alive(), env.tg.log_text()[-6000:])

    def connect(self, auth=True):
        c = Client(env.path)
        self.clients.append(c)
        if auth:
            self.assertEqual(c.command(b"AUTHENTICATE\r\n"), OK)
        return c

    def version(self, c):
        r = c.command(b"GETINFO version\r\n")
        self.assertTrue(r.startswith(b"250-version="), r)

    def test_line_at_and_over_the_limit(self):
        c = self.connect()
        # A pattern 'a*' allows GETINFO with any number of a's.
        at = b"GETINFO " + b"a" * (MAX_LINE - len(b"GETINFO ")) + b"\r\n"
        r = c.command(at)
        self.assertNotEqual(r, LONG_ERR)       # forwarded: tor answers
        self.assertTrue(r.startswith(b"552 "), r)
        over = b"GETINFO " + b"a" * (MAX_LINE + 1 - len(b"GETINFO ")) + b"\r\n"
        self.assertEqual(c.command(over), LONG_ERR)
        self.version(c)
        self.assertNotIn(over[:-2], env.tap.sent_since(self.mark))

    def test_preauth_line_limit_closes(self):
        c = self.connect(auth=False)
        c.send(b"AUTHENTICATE " + b"x" * PREAUTH_LINE + b"\r\n")
        self.assertEqual(c.read_reply(), LONG_ERR)
        self.assertEqual(c.expect_closed(), b"")

    def test_body_at_and_over_the_limit(self):
        c = self.connect()
        line = b"#" + b"x" * 99 + b"\r\n"                 # 102 bytes
        n = MAX_BODY // len(line)
        body = line * n
        r = c.command(b"+LOADCONF\r\n" + body + b".\r\n")
        self.assertTrue(r.startswith(b"250") or r.startswith(b"5"), r)
        self.assertNotEqual(r, BODY_ERR)
        over = line * (n + 1) + b"GETINFO address\r\n"
        self.assertEqual(c.command(b"+LOADCONF\r\n" + over + b".\r\n"),
                         BODY_ERR)
        self.version(c)
        self.assertNotIn(b"GETINFO address", env.tap.sent_since(self.mark))

    def test_pipeline_beyond_pending_limit(self):
        """More commands in one write than may be in flight: all are
        answered, in order; reading pauses instead of failing."""
        c = self.connect()
        n = MAX_PENDING * 25
        cmds = b"".join(b"GETINFO version\r\n" if i % 3 else
                        b"GETINFO address\r\n" for i in range(n))
        c.send(cmds)
        replies = c.read_replies(n, timeout=30)
        for i, r in enumerate(replies):
            if i % 3:
                self.assertTrue(r.startswith(b"250-version="), (i, r))
            else:
                self.assertEqual(r, b"510 Command filtered\r\n", i)

    def test_client_that_does_not_read(self):
        """A client that sends much and reads nothing: torgate's memory
        stays bounded, and everything arrives once it reads."""
        c = self.connect()
        pid = env.tg.proc.pid
        before = rss_kib(pid)
        cmd = b"GETINFO config-text\r\n"
        sent = 0
        sock = c.sock
        sock.setblocking(False)
        deadline = time.monotonic() + 5
        data = cmd * 200
        while time.monotonic() < deadline and sent < 20000:
            try:
                k = sock.send(data)
            except BlockingIOError:
                time.sleep(0.05)
                continue
            sent += k // len(cmd)
            if k % len(cmd):
                sock.setblocking(True)
                sock.sendall(data[k:k + len(cmd) - k % len(cmd)])
                sock.setblocking(False)
                sent += 1
        sock.setblocking(True)
        self.assertGreater(sent, MAX_PENDING * 10)
        time.sleep(0.5)
        # What tor was asked while the client did not read: the commands
        # in flight plus what fits in the bounded output queue and the
        # kernel's socket buffers, far less than what the client sent.
        forwarded = env.tap.sent_since(self.mark).count(cmd)
        print("sent %d, forwarded before reading %d" % (sent, forwarded),
              file=sys.stderr)
        self.assertLess(forwarded, sent // 2)
        grown = rss_kib(pid) - before
        self.assertLess(grown, 16 * 1024, "torgate grew %d KiB" % grown)
        replies = c.read_replies(sent, timeout=60)
        self.assertEqual(len(replies), sent)
        for r in replies:
            self.assertTrue(r.startswith(b"250+config-text="), r[:40])

    def test_client_that_does_not_read_local_answers(self):
        """A client that writes thousands of commands torgate answers
        itself (unknown and denied ones) and reads nothing: its answers
        count towards the output bound too, so torgate stops reading it
        instead of growing; other clients are served meanwhile, and every
        answer arrives, in order, once it reads."""
        c = self.connect()
        pid = env.tg.proc.pid
        before = rss_kib(pid)
        # An unknown keyword is echoed in its answer: ~1 KiB out per
        # command. Every tenth command is a denied one.
        pad = b"X" * 1000

        def cmd(i):
            if i % 10 == 9:
                return b"GETINFO address\r\n"
            return b"U%08d%s\r\n" % (i, pad)

        sock = c.sock
        sock.setblocking(False)
        sent, pending = 0, b""
        blocked_since = None
        deadline = time.monotonic() + 20
        while sent < 32768 and time.monotonic() < deadline:
            if not pending:
                pending = b"".join(cmd(i) for i in range(sent, sent + 64))
                sent += 64
            try:
                k = sock.send(pending)
                pending = pending[k:]
                blocked_since = None
            except BlockingIOError:
                if blocked_since is None:
                    blocked_since = time.monotonic()
                elif time.monotonic() - blocked_since > 2:
                    break       # torgate stopped reading: as it should
                time.sleep(0.02)
        sock.setblocking(True)
        print("commands built before torgate stopped reading: %d" % sent,
              file=sys.stderr)
        grown = rss_kib(pid) - before
        self.assertLess(grown, 8 * 1024, "torgate grew %d KiB" % grown)
        self.assertLess(sent, 32768, "torgate never stopped reading")
        # Another client is served while this one does not read.
        other = self.connect()
        self.version(other)
        # Read every answer, in order, while the batch in progress is
        # finished (torgate reads it only as the client reads).
        result = {}
        reader = threading.Thread(target=lambda: result.update(
            replies=c.read_replies(sent, timeout=60)))
        reader.start()
        sock.sendall(pending)
        reader.join()
        replies = result.get("replies", [])
        self.assertEqual(len(replies), sent)
        for i, r in enumerate(replies):
            if i % 10 == 9:
                self.assertEqual(r, b"510 Command filtered\r\n", i)
            else:
                self.assertEqual(
                    r, b'510 Unrecognized command "U%08d%s"\r\n' % (i, pad),
                    i)
        self.version(c)

    def test_max_clients(self):
        held = [self.connect() for _ in range(MAX_CLIENTS)]
        extra = Client(env.path)
        self.clients.append(extra)
        self.assertEqual(extra.read_raw(timeout=5), TOO_MANY)
        self.assertEqual(extra.expect_closed(), b"")
        self.assertIn("max-clients", env.tg.log_text())
        held[0].close()
        self.clients.remove(held[0])
        deadline = time.monotonic() + 5
        while True:     # the slot frees once torgate sees the close
            c = Client(env.path)
            self.clients.append(c)
            try:
                self.assertEqual(c.command(b"AUTHENTICATE\r\n"), OK)
                break
            except (harness.ConnectionClosed, AssertionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        for h in held[1:]:
            self.version(h)



def connect_as(path, uid, gid):
    """A client socket connected to path by a child running as uid:gid
    (SO_PEERCRED records the connecting process), handed back over
    SCM_RIGHTS."""
    parent, child = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            parent.close()
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            socket.send_fds(child, [b"x"], [s.fileno()])
            code = 0
        finally:
            os._exit(code)
    child.close()
    _, fds, _, _ = socket.recv_fds(parent, 1, 1)
    parent.close()
    os.waitpid(pid, 0)
    c = Client.__new__(Client)      # a Client on the other uid's socket
    c.addr, c.timeout = path, harness.DEFAULT_TIMEOUT
    c.sock = socket.socket(fileno=fds[0])
    c.sock.settimeout(c.timeout)
    c.buf, c.eof, c.events = b"", False, []
    return c


class PerUserLimitTest(unittest.TestCase):
    """max-clients-per-user and auth-timeout, set low in a config file:
    a user's N connections are served and its next one is refused with
    451 and a log line naming the uid, another uid is still served, and
    a client that does not authenticate in time is closed with 514. The
    time limit counts from the connection, so idle clients do not hold
    their slots."""

    PER_USER = 3
    AUTH_TIMEOUT = 2
    TOO_MANY_USER = b"451 torgate: too many connections from this user\r\n"
    TIMED_OUT = b"514 Authentication required (none within 2 seconds)\r\n"

    @classmethod
    def setUpClass(cls):
        cls.dir = harness._tempdir("tgt-user-")
        os.chmod(cls.dir, 0o711)    # reachable by another uid
        conf = os.path.join(cls.dir, "torgate.yml")
        with open(conf, "w") as f:
            f.write("max-clients-per-user: %d\nauth-timeout: %d\n"
                    % (cls.PER_USER, cls.AUTH_TIMEOUT))
        cls.path = os.path.join(cls.dir, "u.sock")
        cls.tg = Torgate("unix:" + env.tap.path, [env.profiles.dir],
                         [Listener(cls.path, profile="limits", mode="0666")],
                         extra_args=["-c", conf], debug=False).start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.tg.stop()
        log = cls.tg.log_text()
        cls.tg.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)
        if rc != 0:
            raise AssertionError("torgate failed (%r):\n%s" % (rc, log))

    def setUp(self):
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        # Every slot is free again before the next test.
        deadline = time.monotonic() + 10
        while True:
            probe = []
            try:
                for _ in range(self.PER_USER):
                    probe.append(Client(self.path))
                    self.assertEqual(probe[-1].command(
                        b"AUTHENTICATE\r\n"), OK)
                break
            except (harness.ConnectionClosed, AssertionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
            finally:
                for c in probe:
                    c.close()

    def client(self, auth=True):
        c = Client(self.path)
        self.clients.append(c)
        if auth:
            self.assertEqual(c.command(b"AUTHENTICATE\r\n"), OK)
        return c

    def refused(self):
        c = Client(self.path)
        self.clients.append(c)
        self.assertEqual(c.read_raw(timeout=5), self.TOO_MANY_USER)
        self.assertEqual(c.expect_closed(), b"")

    def test_per_user_limit(self):
        held = [self.client() for _ in range(self.PER_USER)]
        self.refused()
        self.assertIn("uid %d has %d connections already "
                      "(max-clients-per-user)" % (os.getuid(), self.PER_USER),
                      self.tg.log_text())
        for h in held:          # the user's admitted clients are served
            r = h.command(b"GETINFO version\r\n")
            self.assertTrue(r.startswith(b"250-version="), r)
        if os.geteuid() == 0:   # another uid is still served
            import pwd
            nobody = pwd.getpwnam("nobody")
            other = connect_as(self.path, nobody.pw_uid, nobody.pw_gid)
            self.clients.append(other)
            self.assertEqual(other.command(b"AUTHENTICATE\r\n"), OK)
            r = other.command(b"GETINFO version\r\n")
            self.assertTrue(r.startswith(b"250-version="), r)
        held[0].close()
        self.clients.remove(held[0])
        deadline = time.monotonic() + 5
        while True:             # the slot frees once torgate sees the close
            c = Client(self.path)
            self.clients.append(c)
            try:
                self.assertEqual(c.command(b"AUTHENTICATE\r\n"), OK)
                break
            except (harness.ConnectionClosed, AssertionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def test_unauthenticated_client_is_closed(self):
        c = self.client(auth=False)
        self.assertEqual(c.read_raw(timeout=self.AUTH_TIMEOUT + 10),
                         self.TIMED_OUT)
        self.assertEqual(c.expect_closed(), b"")
        self.assertIn("did not authenticate within %d seconds "
                      "(auth-timeout)" % self.AUTH_TIMEOUT,
                      self.tg.log_text())

    def test_half_authenticated_client_is_closed(self):
        """PROTOCOLINFO is not AUTHENTICATE: the clock keeps running."""
        c = self.client(auth=False)
        r = c.command(b"PROTOCOLINFO 1\r\n")
        self.assertTrue(r.startswith(b"250-PROTOCOLINFO"), r)
        self.assertEqual(c.read_raw(timeout=self.AUTH_TIMEOUT + 10),
                         self.TIMED_OUT)
        self.assertEqual(c.expect_closed(), b"")

    def test_authenticated_client_stays(self):
        c = self.client()
        time.sleep(self.AUTH_TIMEOUT + 1)
        r = c.command(b"GETINFO version\r\n")
        self.assertTrue(r.startswith(b"250-version="), r)

    def test_idle_clients_free_their_slots(self):
        """A user's idle, unauthenticated connections fill its slots only
        until auth-timeout closes them."""
        idle = [self.client(auth=False) for _ in range(self.PER_USER)]
        self.refused()
        for c in idle:
            self.assertEqual(c.read_raw(timeout=self.AUTH_TIMEOUT + 10),
                             self.TIMED_OUT)
        harness.wait_until(lambda: self.tg.log_text().count(
            "did not authenticate") >= self.PER_USER, 10)
        deadline = time.monotonic() + 5
        while True:
            c = Client(self.path)
            self.clients.append(c)
            try:
                self.assertEqual(c.command(b"AUTHENTICATE\r\n"), OK)
                break
            except (harness.ConnectionClosed, AssertionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


class NonceBoundTest(unittest.TestCase):
    """AUTHCHALLENGE's client nonce, hex or QuotedString as tor reads it,
    at torgate's bound (512 bytes once decoded) and one past it: at the
    bound the answer is tor's (the server hash checks out with the cookie
    and the decoded nonce); past it, 513 and the connection closes."""

    MAX = 512

    @classmethod
    def setUpClass(cls):
        cls.dir = harness._tempdir("tgt-nonce-")
        cls.path = os.path.join(cls.dir, "n.sock")
        cls.tg = Torgate("unix:" + env.tap.path, [env.profiles.dir],
                         [Listener(cls.path, profile="limits")],
                         debug=False).start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.tg.stop()
        cls.tg.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)
        assert rc == 0, rc

    def challenge(self, arg, nonce):
        c = Client(self.path)
        try:
            r = c.command(b"AUTHCHALLENGE SAFECOOKIE " + arg + b"\r\n")
            m = harness.AUTHCHALLENGE_RE.match(r)
            self.assertIsNotNone(m, r)
            want = harness.safecookie_server_hash(
                env.tor.cookie(), nonce, bytes.fromhex(m.group(2).decode()))
            self.assertEqual(bytes.fromhex(m.group(1).decode()), want)
            self.assertEqual(c.command(b"AUTHENTICATE\r\n"), OK)
        finally:
            c.close()

    def refused(self, arg, reply):
        c = Client(self.path)
        try:
            r = c.command(b"AUTHCHALLENGE SAFECOOKIE " + arg + b"\r\n")
            self.assertEqual(r, reply)
            self.assertEqual(c.expect_closed(), b"")
        finally:
            c.close()

    def test_hex(self):
        n = bytes(range(256)) * 2
        self.challenge(n.hex().encode(), n)
        self.challenge(n.hex().upper().encode(), n)
        self.refused((n + b"x").hex().encode(),
                     b"513 Invalid base16 client nonce\r\n")
        self.refused(n.hex().encode() + b"a",     # odd: not base16
                     b"513 Invalid base16 client nonce\r\n")

    def test_quoted(self):
        n = b"n" * self.MAX
        self.challenge(b'"' + n + b'"', n)
        self.refused(b'"' + n + b'n"', b"513 Invalid quoted client nonce\r\n")

    def test_quoted_with_escapes(self):
        """The bound is on the decoded bytes, not the text. tor decodes a
        QuotedString here as decode_qstring does: a backslash takes the
        next character as it is ("\\x41" is "x41", not "A")."""
        self.challenge(b'"' + b"\\n" * self.MAX + b'"', b"n" * self.MAX)
        self.challenge(b'"' + b"\\x41" * (self.MAX // 3) + b'"',
                       b"x41" * (self.MAX // 3))
        self.refused(b'"' + b"\\n" * (self.MAX + 1) + b'"',
                     b"513 Invalid quoted client nonce\r\n")
        self.refused(b'"' + b"\\x41" * (self.MAX // 3 + 1) + b'"',
                     b"513 Invalid quoted client nonce\r\n")

    def test_quoted_backslash_zero(self):
        """"\\0" is the character 0, not a NUL (tor's decode_qstring)."""
        self.challenge(b'"ab\\0cd"', b"ab0cd")
        self.challenge(b'"ab\\x00cd"', b"abx00cd")

    def test_quote_inside_a_word(self):
        """A '"' anywhere makes tor take the word itself as the nonce."""
        self.challenge(b'ab"cd', b'ab"cd')


class DescriptorLimitTest(unittest.TestCase):
    """With few open files allowed, torgate lowers max-clients to what the
    limit holds and refuses the rest with 451 instead of leaving them
    hanging or spinning on accept()."""

    NOFILE = 100            # (100 - 64 reserved) / 2 = 18 clients

    def test_clients_fit_the_descriptor_limit(self):
        if shutil.which("prlimit") is None:
            self.skipTest("prlimit not installed")
        if harness.VALGRIND_DIR:
            self.skipTest("valgrind keeps descriptors of its own below the limit")
        d = harness._tempdir("tgt-fd-")
        path = os.path.join(d, "fd.sock")
        tg = Torgate("unix:" + env.tap.path, [env.profiles.dir],
                     [Listener(path, profile="limits")])
        tg.args = ["prlimit", "--nofile=%d:%d" % (self.NOFILE, self.NOFILE),
                   "--"] + tg.args
        clients = []
        try:
            tg.start()
            self.assertIn("max-clients lowered from 16384 to 18",
                          tg.log_text())
            for _ in range(18):
                c = Client(path)
                clients.append(c)
                self.assertEqual(c.command(b"AUTHENTICATE\r\n"), OK)
            for _ in range(5):
                c = Client(path)
                clients.append(c)
                self.assertEqual(c.read_raw(timeout=5), TOO_MANY)
                self.assertEqual(c.expect_closed(), b"")
            r = clients[0].command(b"GETINFO version\r\n")
            self.assertTrue(r.startswith(b"250-version="), r)
            self.assertEqual(tg.log_text().count("Too many open files"), 0)
        finally:
            for c in clients:
                c.close()
            rc = tg.stop()
            tg.cleanup()
            shutil.rmtree(d, ignore_errors=True)
        self.assertEqual(rc, 0)


class ManyKeyRewritesTest(unittest.TestCase):
    """A multi-key GETINFO allowed key by key applies the response rules
    of every key's rule, however many keys there are: none is left out."""

    KEYS = ["version", "process/pid", "process/user",
            "process/descriptor-limit", "traffic/read", "traffic/written",
            "uptime", "status/version/current", "config-file",
            "net/listeners/socks", "dormant"]

    def test_every_key_rewritten(self):
        prof = ProfileDir()
        rules = [{"pattern": k,
                  "response": [{"pattern": "250-%s=.*" % k,
                                "replacement": "250-%s=redacted" % k}]}
                 for k in self.KEYS]
        prof.add("many", {"GETINFO": rules})
        d = harness._tempdir("tgt-many-")
        path = os.path.join(d, "m.sock")
        tg = Torgate("unix:" + env.tap.path, [prof.dir],
                     [Listener(path, profile="many")], debug=False)
        c = None
        try:
            tg.start()
            c = Client(path)
            self.assertEqual(c.command(b"AUTHENTICATE\r\n"), OK)
            r = c.command(("GETINFO %s\r\n" % " ".join(self.KEYS)).encode())
            lines = r.decode().split("\r\n")
            self.assertEqual(lines[-2], "250 OK", r)
            for k in self.KEYS:
                self.assertIn("250-%s=redacted" % k, lines, r)
        finally:
            if c is not None:
                c.close()
            rc = tg.stop()
            tg.cleanup()
            prof.cleanup()
            shutil.rmtree(d, ignore_errors=True)
        self.assertEqual(rc, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
