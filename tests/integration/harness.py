"""Integration test harness for torgate.

Everything here talks raw bytes: a private offline tor (TorInstance), an
optional recording relay between torgate and tor (Tap), the daemon itself
(Torgate), a control-protocol client that frames replies exactly as tor
does (Client) and a writer for YAML profiles (ProfileDir).

Only the Python standard library is used. Every wait is bounded.
"""

import hashlib
import hmac
import os
import pwd
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

# TORGATE_VALGRIND=DIR runs every torgate under valgrind's memcheck, one
# log per process in DIR (tools/valgrind.sh reads them); waits for torgate
# are then stretched by TIMEOUT_SCALE.
VALGRIND_DIR = os.environ.get("TORGATE_VALGRIND") or None
TIMEOUT_SCALE = 8.0 if VALGRIND_DIR else 1.0

DEFAULT_TIMEOUT = 10.0 * TIMEOUT_SCALE

# Run as root, torgate must be told whom to serve clients as: its worker
# runs as WORKER_USER. Every temp dir is then root's with group
# WORKER_USER's, setgid (what is made inside inherits the group) and
# group-writable, and the umask leaves what the tests create
# group-writable, so the worker reaches the same sockets, profiles and
# directories the tests use, through its group as it reaches tor's in a
# real installation (debian-tor); tor's own dir is TorInstance's.
AS_ROOT = os.geteuid() == 0
WORKER_USER = "nobody" if AS_ROOT else None
WORKER_GID = pwd.getpwnam(WORKER_USER).pw_gid if AS_ROOT else None
if AS_ROOT:
    os.umask(0o002)

# ASan and valgrind make system calls torgate's seccomp filters do not
# allow (LeakSanitizer's tracer, valgrind's own): their runs pass
# --no-sandbox (set by meson for sanitizer builds). Every other run has
# the filters on.
NO_SANDBOX = bool(VALGRIND_DIR) or \
    os.environ.get("TORGATE_NO_SANDBOX", "") not in ("", "0")
TOR_START_TIMEOUT = 30.0

SAFECOOKIE_SERVER_KEY = (b"Tor safe cookie authentication "
                         b"server-to-controller hash")
SAFECOOKIE_CLIENT_KEY = (b"Tor safe cookie authentication "
                         b"controller-to-server hash")


class HarnessError(Exception):
    """Something in the test environment did not come up as expected."""


def _tempdir(prefix):
    # Unix socket paths are limited to ~107 bytes: keep them short.
    base = os.environ.get("TORGATE_TEST_TMPDIR")
    if base is None:
        base = "/tmp" if os.path.isdir("/tmp") else None
    d = tempfile.mkdtemp(prefix=prefix, dir=base)
    if AS_ROOT:
        os.chown(d, -1, WORKER_GID)
        os.chmod(d, 0o2770)
    return d


def free_tcp_port(host="127.0.0.1"):
    """A TCP port that was free a moment ago (callers retry on EADDRINUSE)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_until(pred, timeout, interval=0.02, what="condition"):
    """Poll pred() until it returns a true value; return it, or raise."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TimeoutError("timed out after %.1fs waiting for %s"
                               % (timeout, what))
        time.sleep(interval)


def _connectable(addr, timeout=1.0):
    try:
        s = _make_socket(addr)
    except OSError:
        return False
    try:
        s.settimeout(timeout)
        s.connect(addr)
        return True
    except OSError:
        return False
    finally:
        s.close()


def _make_socket(addr):
    if isinstance(addr, str):
        return socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    host = addr[0]
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.socket(fam, socket.SOCK_STREAM)


def find_tor():
    tor = os.environ.get("TOR")
    if tor:
        return tor
    tor = shutil.which("tor")
    if tor:
        return tor
    for d in ("/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"):
        p = os.path.join(d, "tor")
        if os.access(p, os.X_OK):
            return p
    return None


# ---------------------------------------------------------------------------
# SAFECOOKIE


def safecookie_server_hash(cookie, client_nonce, server_nonce):
    return hmac.new(SAFECOOKIE_SERVER_KEY,
                    cookie + client_nonce + server_nonce,
                    hashlib.sha256).digest()


def safecookie_client_hash(cookie, client_nonce, server_nonce):
    return hmac.new(SAFECOOKIE_CLIENT_KEY,
                    cookie + client_nonce + server_nonce,
                    hashlib.sha256).digest()


AUTHCHALLENGE_RE = re.compile(
    rb"^250 AUTHCHALLENGE SERVERHASH=([0-9A-Fa-f]{64}) "
    rb"SERVERNONCE=([0-9A-Fa-f]{64})\r\n$")


def authenticate_safecookie(client, cookie):
    """Run AUTHCHALLENGE SAFECOOKIE + AUTHENTICATE on client.

    Verifies the server hash; returns the AUTHENTICATE reply bytes."""
    nonce = os.urandom(32)
    rep = client.command(b"AUTHCHALLENGE SAFECOOKIE "
                         + nonce.hex().upper().encode() + b"\r\n")
    m = AUTHCHALLENGE_RE.match(rep)
    if not m:
        raise HarnessError("bad AUTHCHALLENGE reply %r" % rep)
    server_hash = bytes.fromhex(m.group(1).decode())
    server_nonce = bytes.fromhex(m.group(2).decode())
    if not hmac.compare_digest(
            server_hash, safecookie_server_hash(cookie, nonce, server_nonce)):
        raise HarnessError("SAFECOOKIE server hash does not verify")
    ch = safecookie_client_hash(cookie, nonce, server_nonce)
    return client.command(b"AUTHENTICATE " + ch.hex().upper().encode()
                          + b"\r\n")


# ---------------------------------------------------------------------------
# Client


class ConnectionClosed(Exception):
    """The peer closed the connection before a complete reply."""


class Client:
    """A raw control-protocol client with tor's reply framing.

    read_reply() returns the bytes of one complete reply exactly as
    received; asynchronous events (6xx) met on the way are appended to
    self.events instead.
    """

    def __init__(self, addr, timeout=DEFAULT_TIMEOUT):
        self.addr = addr
        self.timeout = timeout
        self.sock = _make_socket(addr)
        self.sock.settimeout(timeout)
        self.sock.connect(addr)
        if not isinstance(addr, str):
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.eof = False
        self.events = []

    # -- sending --------------------------------------------------------

    def send(self, data):
        self.sock.sendall(data)

    def send_split(self, data, sizes):
        """Send data in chunks of the given sizes (the rest at the end),
        each chunk in its own write."""
        pos = 0
        for n in sizes:
            if pos >= len(data):
                break
            self.sock.sendall(data[pos:pos + n])
            pos += n
            # Give the peer a chance to read each piece on its own.
            time.sleep(0.001)
        if pos < len(data):
            self.sock.sendall(data[pos:])

    def send_bytewise(self, data):
        self.send_split(data, [1] * len(data))

    def command(self, line, timeout=None):
        """Send line (bytes, with its EOL) and return one reply."""
        self.send(line)
        return self.read_reply(timeout)

    # -- receiving ------------------------------------------------------

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no complete reply within timeout; got %r"
                               % self.buf[:500])
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("no complete reply within timeout; got %r"
                               % self.buf[:500]) from None
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            raise ConnectionClosed("connection closed; pending bytes %r"
                                   % self.buf[:500])
        self.buf += chunk

    def _read_line(self, deadline):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line, self.buf = self.buf[:i + 1], self.buf[i + 1:]
                return line
            if self.eof:
                raise ConnectionClosed("connection closed; pending bytes %r"
                                       % self.buf[:500])
            self._fill(deadline)

    def _read_message(self, deadline):
        out = []
        while True:
            line = self._read_line(deadline)
            out.append(line)
            if len(line) < 4 or not line[:3].isdigit() or \
                    line[3:4] not in (b"-", b"+", b" "):
                raise AssertionError("malformed reply line %r (message so "
                                     "far %r)" % (line, b"".join(out)))
            sep = line[3:4]
            if sep == b"+":
                while True:
                    d = self._read_line(deadline)
                    out.append(d)
                    if d in (b".\r\n", b".\n"):
                        break
            elif sep == b" ":
                return b"".join(out)

    def read_reply(self, timeout=None):
        """One complete reply (not an event), as raw bytes."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            msg = self._read_message(deadline)
            if msg[:1] == b"6":
                self.events.append(msg)
                continue
            return msg

    def read_replies(self, n, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        return [self.read_reply(max(0.001, deadline - time.monotonic()))
                for _ in range(n)]

    def read_raw(self, timeout=1.0):
        """Whatever arrives within timeout (b"" if nothing; for
        diagnostics)."""
        data, self.buf = self.buf, b""
        deadline = time.monotonic() + timeout
        while not self.eof:
            try:
                self._fill(deadline)
            except (TimeoutError, ConnectionClosed):
                break
            data += self.buf
            self.buf = b""
        return data

    def expect_closed(self, timeout=None):
        """Wait for EOF; return any bytes that came before it (normally
        b""). Raises TimeoutError if the peer keeps the connection open."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not self.eof:
            try:
                self._fill(deadline)
            except ConnectionClosed:
                break
        data, self.buf = self.buf, b""
        return data

    def reset(self):
        """Abort the connection (RST on TCP)."""
        if not isinstance(self.addr, str):
            import struct
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------------------
# Tor


class TorInstance:
    """A private tor with networking disabled, in its own temp dir."""

    def __init__(self, tcp_control=False, extra_config=()):
        self.tor = find_tor()
        if self.tor is None:
            raise HarnessError("tor not found")
        self.dir = _tempdir("tgt-tor-")
        self.control_path = os.path.join(self.dir, "control")
        self.cookie_path = os.path.join(self.dir, "control_auth_cookie")
        self.log_path = os.path.join(self.dir, "tor.log")
        self.out_path = os.path.join(self.dir, "tor.out")
        self.port_file = os.path.join(self.dir, "control_ports")
        self.tcp_control = tcp_control
        self.tcp_addr = None
        self.proc = None
        self.version = None
        self._out = None
        # As root: torgate's worker reaches tor's socket and cookie
        # through its group, as in a real installation. Tor wants the
        # socket's directory to be of its own group, unless the socket is
        # WorldWritable; the directory (group-only, setgid) is what keeps
        # others out, and the cookie is readable by that group.
        ctl_flags = ""
        if AS_ROOT:
            os.chmod(self.dir, 0o2750)
            ctl_flags = " WorldWritable"
        conf = [
            "DataDirectory %s" % os.path.join(self.dir, "data"),
            "DisableNetwork 1",
            "SocksPort 0",
            "ControlPort unix:%s%s" % (self.control_path, ctl_flags),
            "CookieAuthentication 1",
            "CookieAuthFile %s" % self.cookie_path,
            "CookieAuthFileGroupReadable %d" % AS_ROOT,
            "Log notice file %s" % self.log_path,
            "AvoidDiskWrites 1",
        ]
        if tcp_control:
            conf += ["ControlPort 127.0.0.1:auto",
                     "ControlPortWriteToFile %s" % self.port_file]
        conf += list(extra_config)
        self.torrc = os.path.join(self.dir, "torrc")
        with open(self.torrc, "w") as f:
            f.write("\n".join(conf) + "\n")

    def start(self, timeout=TOR_START_TIMEOUT):
        self._out = open(self.out_path, "wb")
        self.proc = subprocess.Popen(
            [self.tor, "--defaults-torrc", os.devnull, "-f", self.torrc,
             "--ignore-missing-torrc"],
            stdin=subprocess.DEVNULL, stdout=self._out,
            stderr=subprocess.STDOUT, cwd=self.dir)
        deadline = time.monotonic() + timeout
        last_err = None
        while True:
            if self.proc.poll() is not None:
                raise HarnessError("tor exited with %s during startup:\n%s"
                                   % (self.proc.returncode, self.log_text()))
            if os.path.exists(self.control_path) and \
                    os.path.exists(self.cookie_path) and \
                    (not self.tcp_control or os.path.exists(self.port_file)):
                try:
                    with Client(self.control_path, timeout=5) as c:
                        rep = c.command(b"PROTOCOLINFO 1\r\n")
                    m = re.search(rb'^250-VERSION Tor="([^"]*)"', rep, re.M)
                    if rep.endswith(b"250 OK\r\n") and m:
                        self.version = m.group(1).decode()
                        break
                    last_err = "unexpected PROTOCOLINFO reply %r" % rep
                except (OSError, TimeoutError, ConnectionClosed) as e:
                    last_err = repr(e)
            if time.monotonic() >= deadline:
                self.stop()
                raise HarnessError("tor did not come up within %ss (%s):\n%s"
                                   % (timeout, last_err, self.log_text()))
            time.sleep(0.05)
        if self.tcp_control:
            with open(self.port_file) as f:
                for line in f:
                    if line.startswith("PORT="):
                        host, port = line.strip()[5:].rsplit(":", 1)
                        self.tcp_addr = (host, int(port))
            if self.tcp_addr is None:
                raise HarnessError("no TCP control port in %s"
                                   % self.port_file)
        return self

    def cookie(self):
        with open(self.cookie_path, "rb") as f:
            return f.read()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def connect(self, timeout=DEFAULT_TIMEOUT):
        """A raw, unauthenticated connection to tor's control socket."""
        return Client(self.control_path, timeout=timeout)

    def direct(self, timeout=DEFAULT_TIMEOUT):
        """An authenticated (SAFECOOKIE) raw connection to tor."""
        c = self.connect(timeout)
        try:
            rep = authenticate_safecookie(c, self.cookie())
            if rep != b"250 OK\r\n":
                raise HarnessError("tor refused our AUTHENTICATE: %r" % rep)
        except BaseException:
            c.close()
            raise
        return c

    def log_text(self):
        parts = []
        for p in (self.log_path, self.out_path):
            try:
                with open(p, "r", errors="replace") as f:
                    parts.append(f.read())
            except OSError:
                pass
        return "\n".join(parts)

    def stop(self, timeout=10):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        if self._out is not None:
            self._out.close()
            self._out = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------------------
# Tap


class Tap:
    """A unix-socket relay in front of tor's control socket that records
    every byte its clients (torgate) send to tor, per connection.

    Record positions with mark() and look at what arrived since with
    sent_since(mark) / conns_since(mark)."""

    class Conn:
        def __init__(self, cid):
            self.id = cid
            self.to_tor = bytearray()
            self.from_tor = bytearray()
            self.closed = False

    def __init__(self, upstream_path, directory=None):
        self.upstream = upstream_path
        self._own_dir = directory is None
        self.dir = directory or _tempdir("tgt-tap-")
        self.path = os.path.join(self.dir, "tap.sock")
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.conns = []
        self.errors = []
        self._stop_r, self._stop_w = os.pipe()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(64)
        self.listener.setblocking(False)
        self.thread = threading.Thread(target=self._run, daemon=True,
                                       name="tap")
        self.thread.start()

    def _run(self):
        # socket -> (peer socket, Conn, direction is_to_tor)
        peers = {}
        try:
            while True:
                rl = [self.listener, self._stop_r] + list(peers)
                r, _, _ = select.select(rl, [], [], 1.0)
                if self._stop_r in r:
                    break
                if self.listener in r:
                    try:
                        cs, _ = self.listener.accept()
                    except (BlockingIOError, InterruptedError):
                        cs = None
                    if cs is not None:
                        cs.setblocking(True)
                        us = socket.socket(socket.AF_UNIX,
                                           socket.SOCK_STREAM)
                        try:
                            us.connect(self.upstream)
                        except OSError as e:
                            self.errors.append("connect upstream: %r" % e)
                            cs.close()
                            us.close()
                        else:
                            with self.lock:
                                conn = Tap.Conn(len(self.conns))
                                self.conns.append(conn)
                                self.changed.notify_all()
                            peers[cs] = (us, conn, True)
                            peers[us] = (cs, conn, False)
                for s in r:
                    if s not in peers:
                        continue
                    other, conn, to_tor = peers[s]
                    try:
                        data = s.recv(65536)
                    except OSError:
                        data = b""
                    if data:
                        with self.lock:
                            (conn.to_tor if to_tor else
                             conn.from_tor).extend(data)
                            self.changed.notify_all()
                        try:
                            other.sendall(data)
                        except OSError:
                            data = b""
                    if not data:
                        for x in (s, other):
                            peers.pop(x, None)
                            try:
                                x.close()
                            except OSError:
                                pass
                        with self.lock:
                            conn.closed = True
                            self.changed.notify_all()
        finally:
            for s in list(peers):
                try:
                    s.close()
                except OSError:
                    pass
            with self.lock:
                for c in self.conns:
                    c.closed = True
                self.changed.notify_all()

    # -- inspection -------------------------------------------------------

    def mark(self):
        with self.lock:
            return (len(self.conns), [len(c.to_tor) for c in self.conns])

    def conns_since(self, mark):
        with self.lock:
            return list(self.conns[mark[0]:])

    def sent_since(self, mark):
        """All bytes sent towards tor since mark, over every connection,
        joined with a separator line so no match can span two
        connections."""
        n, lens = mark
        with self.lock:
            parts = [bytes(c.to_tor[lens[i]:])
                     for i, c in enumerate(self.conns[:n])]
            parts += [bytes(c.to_tor) for c in self.conns[n:]]
        return b"\n--\n".join(p for p in parts if p)

    def all_sent(self):
        return self.sent_since((0, []))

    def wait_for(self, needle, mark=None, timeout=DEFAULT_TIMEOUT):
        """Wait until needle (bytes) was sent towards tor since mark."""
        mark = mark or (0, [])
        deadline = time.monotonic() + timeout
        while True:
            data = self.sent_since(mark)
            if needle in data:
                return data
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("tor never received %r; got %r"
                                   % (needle, data[-2000:]))
            with self.lock:
                self.changed.wait(min(remaining, 0.2))

    def wait_quiet(self, mark, timeout=3.0):
        """Wait (bounded) until every connection opened since mark is
        closed. Returns True if they all closed in time."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                if all(c.closed for c in self.conns[mark[0]:]):
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.changed.wait(min(remaining, 0.2))

    def close(self):
        try:
            os.write(self._stop_w, b"x")
        except OSError:
            pass
        self.thread.join(5)
        self.listener.close()
        os.close(self._stop_r)
        os.close(self._stop_w)
        try:
            os.unlink(self.path)
        except OSError:
            pass
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------------------
# Profiles


def yaml_quote(s):
    return "'" + s.replace("'", "''") + "'"


class ProfileDir:
    """A temp directory of YAML profile files."""

    def __init__(self, directory=None):
        self.dir = directory or _tempdir("tgt-prof-")
        os.makedirs(self.dir, exist_ok=True)

    def write(self, filename, text):
        path = os.path.join(self.dir, filename)
        with open(path, "w") as f:
            f.write(text)
        return path

    def add(self, name, commands=None, extra=""):
        """Write a profile NAME into NAME.yml.

        commands: {KEYWORD: [rule, ...]} where a rule is a pattern string or
        a dict {pattern, replacement, response: [{pattern, replacement}]}.
        extra: raw YAML appended inside the profile mapping (indented by
        the caller with two spaces)."""
        lines = ["---", "- name: %s" % yaml_quote(name)]
        if commands:
            lines.append("  commands:")
            for kw, rules in commands.items():
                lines.append("    %s:" % kw)
                for r in rules:
                    if isinstance(r, str):
                        lines.append("      - %s" % yaml_quote(r))
                        continue
                    first = True
                    for key in ("pattern", "replacement"):
                        if key in r:
                            lead = "      - " if first else "        "
                            lines.append("%s%s: %s"
                                         % (lead, key, yaml_quote(r[key])))
                            first = False
                    if "response" in r:
                        lines.append("        response:")
                        for rr in r["response"]:
                            lines.append("          - pattern: %s"
                                         % yaml_quote(rr["pattern"]))
                            if "replacement" in rr:
                                lines.append("            replacement: %s"
                                             % yaml_quote(rr["replacement"]))
        text = "\n".join(lines) + "\n" + extra
        return self.write(name + ".yml", text)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------------------
# Torgate


class Listener:
    """One -l argument. addr: a unix path (str) or (host, port)."""

    def __init__(self, addr, profile=None, mode=None):
        self.addr = addr
        self.profile = profile
        self.mode = mode

    def arg(self):
        if isinstance(self.addr, str):
            s = "unix:" + self.addr
        elif ":" in self.addr[0]:
            s = "[%s]:%d" % self.addr
        else:
            s = "%s:%d" % self.addr
        if self.mode is not None:
            s += ",mode=" + self.mode
        if self.profile is not None:
            s += ",profile=" + self.profile
        return s


def torgate_binary():
    return os.environ.get("TORGATE")


class Torgate:
    """The daemon under test, in the foreground, with debug logging."""

    START_TIMEOUT = 20.0 * TIMEOUT_SCALE

    def __init__(self, tor_addr, profile_dirs, listeners, extra_args=(),
                 binary=None, debug=True):
        self.binary = binary or torgate_binary()
        if not self.binary or not os.access(self.binary, os.X_OK):
            raise HarnessError("torgate binary not found (env TORGATE=%r)"
                               % self.binary)
        self.dir = _tempdir("tgt-tg-")
        self.stderr_path = os.path.join(self.dir, "torgate.log")
        self.tor_addr = tor_addr
        self.listeners = listeners
        # --debug logs every line and makes torgate relay reply lines one
        # by one; without it, runs of unchanged lines move in one go.
        args = [self.binary, "-f"] + (["--debug"] if debug else []) + \
            ["-t", tor_addr]
        for d in profile_dirs:
            args += ["-p", d]
        for lst in listeners:
            args += ["-l", lst.arg()]
        args += list(extra_args)
        if AS_ROOT and not {"-u", "--user"} & set(args):
            args += ["--user", WORKER_USER]
        if NO_SANDBOX and "--no-sandbox" not in args:
            args += ["--no-sandbox"]
        if VALGRIND_DIR:
            # --vgdb=no: no gdbserver pipes in /tmp, which the worker
            # could not remove once it is another user.
            args = ["valgrind", "--tool=memcheck", "--quiet", "--vgdb=no",
                    "--leak-check=full",
                    "--show-leak-kinds=definite,indirect",
                    "--errors-for-leak-kinds=definite,indirect",
                    "--log-file=%s/torgate.%%p.log" % VALGRIND_DIR] + args
        self.args = args
        self.proc = None
        self._err = None

    def start(self, timeout=START_TIMEOUT):
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                     stdout=self._err,
                                     stderr=subprocess.STDOUT,
                                     cwd=self.dir)
        deadline = time.monotonic() + timeout
        for lst in self.listeners:
            while True:
                if self.proc.poll() is not None:
                    raise HarnessError(
                        "torgate exited with %s during startup (%s):\n%s"
                        % (self.proc.returncode, " ".join(self.args),
                           self.log_text()))
                if _connectable(lst.addr):
                    break
                if time.monotonic() >= deadline:
                    self.kill()
                    raise HarnessError(
                        "torgate not listening on %r within %ss:\n%s"
                        % (lst.addr, timeout, self.log_text()))
                time.sleep(0.02)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def returncode(self):
        return None if self.proc is None else self.proc.poll()

    def log_text(self):
        try:
            with open(self.stderr_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self, timeout=10 * TIMEOUT_SCALE):
        """SIGTERM and wait; return the exit status (negative: signal),
        or None if it had to be killed."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            rc = self.proc.returncode
        else:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                rc = None
        if self._err is not None:
            self._err.close()
            self._err = None
        return rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def cleanup(self):
        self.kill()
        if self._err is not None:
            self._err.close()
            self._err = None
        shutil.rmtree(self.dir, ignore_errors=True)
