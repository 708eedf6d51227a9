#!/usr/bin/python3
"""Real clients Debian ships, through torgate with the project's own
profiles (profiles/ in the source tree), in front of a private offline tor.

- nyx (package nyx) runs in a tmux of its own; its screen must show tor's
  version, and torgate must deny only what profiles/nyx.yml means to deny.
- onionshare-cli (package onionshare-cli) must get its onion service
  created (ADD_ONION, target rewritten to 127.0.0.1); publication never
  happens offline, so it is stopped once tor has answered.
- a stem (python3-stem) script must get its usual calls answered.
- the profile rewrites that an offline tor never exercises (circuit-status
  for nyx, HS_DESC events for OnionShare) are checked against a scripted
  fake tor.

A test whose client is not installed is skipped. Every wait is bounded.
"""

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import itkit  # noqa: E402
from harness import Client, Listener, wait_until  # noqa: E402
from itkit import FILTERED, OK, GateCase  # noqa: E402

_top = os.environ.get("TOP_SRCDIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")
PROFILE_DIR = os.path.join(_top, "profiles")

CLIENT_TIMEOUT = 20.0

env = None
tg = None
L = {}   # listener name -> harness.Listener (with its real address)


def setUpModule():
    global env, tg
    itkit.require_binaries()
    if not os.path.isdir(PROFILE_DIR):
        itkit.missing("no profiles directory at %s" % PROFILE_DIR)
    env = itkit.Env(tap=True)
    try:
        tg = env.torgate([PROFILE_DIR], [
            Listener(env.sock("nyx.sock"), profile="nyx"),
            Listener(env.sock("onionshare.sock"), profile="onionshare"),
            Listener(("127.0.0.1", 0), profile="onionshare"),
            Listener(env.sock("stem.sock"), profile="stem-example"),
            Listener(("127.0.0.1", 0), profile="stem-example"),
            Listener(env.sock("default.sock")),
        ])
    except BaseException:
        env.close()
        raise
    for name, lst in zip(("nyx", "onionshare", "onionshare-tcp", "stem",
                          "stem-tcp", "default"), tg.listeners):
        L[name] = lst


def tearDownModule():
    if env is not None:
        if tg is not None:
            wait_sessions_closed(tg)
        env.close()


# ---------------------------------------------------------------------------
# torgate's log, per listener


SESSION_RE = re.compile(r"^torgate: info: session (\d+): client .* on (\S+), "
                        r"profile (\S+)$", re.M)
LINE_RE = re.compile(r"^torgate: \w+: session (\d+): (.*)$")
DENIED_RE = re.compile(r'^profile \S+: denied "(.*)": ')


def wait_sessions_closed(t, timeout=10):
    """Wait (bounded) until every client session of torgate t has closed:
    stopping torgate while one is open makes LeakSanitizer report its
    buffers in the ASan build."""
    def closed():
        log = t.log_text()
        return len(SESSION_RE.findall(log)) <= len(
            re.findall(r"^torgate: info: session \d+: closed \(", log, re.M))
    try:
        wait_until(closed, timeout, interval=0.05, what="sessions to close")
    except TimeoutError:
        pass


def listener_text(lst):
    if isinstance(lst.addr, str):
        return "unix:" + lst.addr
    return "%s:%d" % lst.addr


def session_lines(lst):
    """What torgate logged about the sessions of listener lst (without the
    'session N: ' prefix), in order."""
    log = tg.log_text()
    on = listener_text(lst)
    sids = {sid for sid, where, _ in SESSION_RE.findall(log) if where == on}
    out = []
    for line in log.splitlines():
        m = LINE_RE.match(line)
        if m and m.group(1) in sids:
            out.append(m.group(2))
    return out


def sent(lines):
    return [l[3:] for l in lines if l.startswith("C> ")]


def denied(lines):
    return [m.group(1) for m in map(DENIED_RE.match, lines) if m]


def service_ids(lines):
    return re.findall(r"^T> 250-ServiceID=([a-z2-7]{56})$", "\n".join(lines),
                      re.M)


def stop_process(p, timeout=5):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout)


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


class ClientCase(GateCase):

    @classmethod
    def setUpClass(cls):
        cls.env = env
        cls.tg = tg

    def home(self):
        """A fresh HOME, so that clients read and write nothing of the
        user's."""
        return env.tempdir("tgt-home-")

    def client_env(self, home):
        return dict(os.environ, HOME=home, LANG="C.UTF-8", LC_ALL="C.UTF-8",
                    XDG_CONFIG_HOME=os.path.join(home, ".config"))


# ---------------------------------------------------------------------------


class ProfileCheckTest(unittest.TestCase):

    def test_profiles_check_clean(self):
        rc, out = itkit.run_check([PROFILE_DIR])
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"\b0 errors, 0 warnings\b", out)


class QualifierTest(ClientCase):

    def test_unbound_python_client_gets_no_profile(self):
        # On a listener without a profile, a local client is matched on its
        # AppArmor label or executable: this test runs in a Python
        # interpreter, just as nyx, onionshare-cli and stem scripts do, and
        # none of the profiles may be chosen for it.
        c = self.session(L["default"].addr)
        self.assertEqual(c.command(b"GETINFO version\r\n"), FILTERED)
        self.barrier(c)
        lines = session_lines(L["default"])
        self.assertTrue(any(l.startswith("client ") and
                            l.endswith(", profile (none)") for l in lines),
                        "\n".join(lines))


# ---------------------------------------------------------------------------
# nyx


# What profiles/nyx.yml denies on purpose and nyx asks for while showing
# its main page (all its panels are set up when it starts).
NYX_EXPECTED_DENIALS = {
    "GETINFO address", "GETINFO config-text", "GETINFO net/listeners/control",
    "GETCONF hashedcontrolpassword", "GETCONF controlsocket",
    "GETCONF controlport", "GETCONF hiddenserviceoptions",
}
# What the main page (header, bandwidth graph, event log) is drawn from.
NYX_MAIN_VIEW = (
    "GETINFO version", "GETINFO process/pid", "GETINFO traffic/read",
    "GETINFO traffic/written", "GETINFO bw-event-cache",
    "GETINFO events/names", "GETCONF bandwidthrate", "GETCONF bandwidthburst",
)


class NyxTest(ClientCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for prog in ("nyx", "tmux"):
            if shutil.which(prog) is None:
                itkit.missing("%s not installed" % prog)

    _runs = 0

    def start_nyx(self):
        """nyx -s on the nyx listener, in a tmux server of our own."""
        NyxTest._runs += 1
        home = self.home()
        self.tmux_env = self.client_env(home)
        self.tmux_env["TERM"] = "xterm"
        self.tmux_name = "torgate-test-%d-%d" % (os.getpid(), NyxTest._runs)
        self.nyx_err = os.path.join(home, "nyx.err")
        cmd = ("nyx -s %s 2>%s; echo nyx exited: $?; sleep 60"
               % (shlex.quote(L["nyx"].addr), shlex.quote(self.nyx_err)))
        self.addCleanup(self.tmux, "kill-server")
        self.tmux("new-session", "-d", "-x", "200", "-y", "50", cmd,
                  check=True)

    def tmux(self, *args, check=False):
        p = subprocess.run(["tmux", "-L", self.tmux_name, "-f", os.devnull]
                           + list(args), env=self.tmux_env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=10)
        if check and p.returncode != 0:
            self.fail("tmux %s: %s" % (args[0], p.stdout.decode()))
        return p.stdout.decode("utf-8", "replace")

    def screen(self):
        return self.tmux("capture-pane", "-p")

    def wait_screen(self, text, timeout=CLIENT_TIMEOUT):
        """Wait until text is on nyx's screen; fail early if nyx exits."""
        deadline = time.monotonic() + timeout
        while True:
            s = self.screen()
            if text in s:
                return s
            if "nyx exited:" in s or time.monotonic() >= deadline:
                self.fail("%r never on nyx's screen:\n%s\nnyx's stderr:\n%s\n"
                          "torgate:\n%s"
                          % (text, s, read(self.nyx_err)[-3000:],
                             tg.log_text()[-3000:]))
            time.sleep(0.2)

    def test_main_view(self):
        self.start_nyx()
        # the header shows tor's version: GETINFO version went through
        s = self.wait_screen("Tor %s" % env.tor.version)
        self.assertIn("Bandwidth", s)
        self.assertIn("Events", s)
        # let it poll for a while, then quit ('q', and 'q' to confirm)
        time.sleep(3)
        self.tmux("send-keys", "q")
        self.wait_screen("Are you sure", 5)
        self.tmux("send-keys", "q")
        s = self.wait_screen("nyx exited:", 10)
        self.assertIn("nyx exited: 0", s, read(self.nyx_err))

        lines = session_lines(L["nyx"])
        cmds = {c.lower() for c in sent(lines)}
        den = {d.lower() for d in denied(lines)}
        for cmd in NYX_MAIN_VIEW:
            self.assertIn(cmd.lower(), cmds, "nyx did not send %r" % cmd)
            self.assertNotIn(cmd.lower(), den)
        # its event subscriptions went through (the log and graph panels)
        setevents = [l for l in lines if l.startswith("C> SETEVENTS ")]
        self.assertTrue(any({"BW", "NOTICE", "WARN", "ERR"} <=
                            set(l.split()[2:]) for l in setevents),
                        "\n".join(setevents))
        self.assertFalse(any(d.startswith("setevents") for d in den), den)
        # every denial is one the profile means
        unexpected = den - {d.lower() for d in NYX_EXPECTED_DENIALS}
        self.assertFalse(unexpected, "unexpected denials: %r" % unexpected)
        self.assertIn("getinfo address", den)
        self.assertIn("getconf hashedcontrolpassword", den)
        self.assert_not_forwarded(b"GETINFO address\r\n",
                                  b"GETINFO config-text\r\n",
                                  b"GETCONF hashedcontrolpassword\r\n")
        self.assertNotIn(b"CONF_CHANGED", self.sent_to_tor())
        self.assertNotIn(b"STATUS_SERVER", self.sent_to_tor())

    def test_newnym_denied(self):
        # 'n' asks for a new identity: a read-only monitor may not. (nyx
        # 2.1 then exits: stem's signal() takes 510 for a protocol error.)
        self.start_nyx()
        self.wait_screen("Tor %s" % env.tor.version)
        self.tmux("send-keys", "n")
        wait_until(lambda: "SIGNAL NEWNYM" in denied(session_lines(L["nyx"])),
                   10, what="torgate to deny SIGNAL NEWNYM")
        self.assert_not_forwarded(b"SIGNAL NEWNYM")


# ---------------------------------------------------------------------------
# OnionShare


SHARE_RE = re.compile(r"^ADD_ONION NEW:ED25519-V3 Flags=V3Auth Port=80,(\d+) "
                      r"ClientAuthV3=([A-Z2-7]{52})$")
PUBLIC_RE = re.compile(r"^ADD_ONION NEW:ED25519-V3 Port=80,(\d+)$")
PROBE = ("ADD_ONION NEW:ED25519-V3 Flags=V3Auth Port=1,1 "
         "ClientAuthV3=E2GOT5LTUTP3OAMRCRXO4GSH6VKJEUOXZQUC336SRKAHTTT5OVSA")


class OnionShareTest(ClientCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if shutil.which("onionshare-cli") is None:
            itkit.missing("onionshare-cli not installed")

    def share(self, listener, settings, args, want_re):
        """Run onionshare-cli until its share's ADD_ONION is answered.
        Return (the command it sent, torgate's lines of its session)."""
        home = self.home()
        cfg = os.path.join(home, "settings.json")
        with open(cfg, "w") as f:
            json.dump(dict(settings, auth_type="no_auth"), f)
        shared = os.path.join(home, "hello.txt")
        with open(shared, "w") as f:
            f.write("hello\n")
        out = os.path.join(home, "onionshare.out")
        with open(out, "wb") as o:
            p = subprocess.Popen(
                ["onionshare-cli", "-v", "--config", cfg] + args + [shared],
                stdin=subprocess.DEVNULL, stdout=o, stderr=subprocess.STDOUT,
                env=self.client_env(home), cwd=home)
        self.addCleanup(stop_process, p)

        def done():
            lines = session_lines(listener)
            return p.poll() is not None or len(service_ids(lines)) >= 2 or \
                denied(lines)
        try:
            wait_until(done, 30, interval=0.1, what="onionshare's ADD_ONION")
        except TimeoutError:
            pass
        lines = session_lines(listener)
        diag = ("\ntorgate:\n%s\nonionshare-cli:\n%s"
                % ("\n".join(lines)[-4000:], read(out)[-3000:]))
        # still waiting for the descriptor upload an offline tor never does
        self.assertIsNone(p.poll(), "onionshare-cli exited" + diag)
        self.assertEqual(denied(lines), [], diag)
        self.assertEqual(len(service_ids(lines)), 2, diag)
        adds = [c for c in sent(lines) if c.startswith("ADD_ONION ")]
        self.assertEqual(len(adds), 2, diag)
        self.assertEqual(adds[0], PROBE)
        self.assertRegex(adds[1], want_re)
        stop_process(p)
        return adds[1], lines

    def check_tor_side(self, lines, want):
        """What tor received from the OnionShare session; want: the share's
        ADD_ONION as tor must get it."""
        # the probe's key is discarded and its target made explicit
        self.assert_tor_got(PROBE.replace(
            "Flags=V3Auth", "Flags=V3Auth,DiscardPK").replace(
            "Port=1,1", "Port=1,127.0.0.1:1").encode())
        # the probe's service was removed again, by the client
        self.assert_tor_got(b"DEL_ONION " + service_ids(lines)[0].encode())
        # stem's own SIGNAL/CONF_CHANGED/STATUS_SERVER are suppressed;
        # HS_DESC is what it waits for
        self.assert_tor_got(b"SETEVENTS HS_DESC")
        for ev in (b"SIGNAL", b"CONF_CHANGED", b"STATUS_SERVER"):
            self.assertFalse(any(l.startswith(b"SETEVENTS") and ev in l
                                 for l in self.tor_lines()), ev)
        # the share's target: OnionShare's port on 127.0.0.1
        adds = [l for l in self.tor_lines() if l.startswith(b"ADD_ONION ")
                and b" Port=80," in l]
        self.assertEqual(adds, [want.encode()])

    def test_private_share_over_unix_socket(self):
        cmd, lines = self.share(L["onionshare"], {
            "connection_type": "socket_file",
            "socket_file_path": L["onionshare"].addr}, [], SHARE_RE)
        port, key = SHARE_RE.match(cmd).groups()
        self.check_tor_side(lines, "ADD_ONION NEW:ED25519-V3 Flags=V3Auth "
                            "Port=80,127.0.0.1:%s ClientAuthV3=%s"
                            % (port, key))

    def test_public_share_over_tcp(self):
        host, port = L["onionshare-tcp"].addr
        cmd, lines = self.share(L["onionshare-tcp"], {
            "connection_type": "control_port",
            "control_port_address": host, "control_port_port": port},
            ["--public"], PUBLIC_RE)
        self.check_tor_side(lines, "ADD_ONION NEW:ED25519-V3 "
                            "Port=80,127.0.0.1:%s"
                            % PUBLIC_RE.match(cmd).group(1))


# ---------------------------------------------------------------------------
# stem


STEM_SCRIPT = r"""
import json, sys
import stem
from stem.control import Controller, EventType, Signal
addr = sys.argv[1]
if addr.startswith("/"):
    c = Controller.from_socket_file(addr)
else:
    host, port = addr.rsplit(":", 1)
    c = Controller.from_port(address=host, port=int(port))
c.authenticate()
r = {"version": str(c.get_version()).split()[0],
     "info": c.get_info("version")}
def listener(event):
    pass
c.add_event_listener(listener, EventType.CIRC, EventType.STREAM)
r["circuits"] = len(c.get_circuits())
r["streams"] = len(c.get_streams())
c.remove_event_listener(listener)
for name, call in (("address", lambda: c.get_info("address")),
                   ("newnym", lambda: c.signal(Signal.NEWNYM))):
    try:
        call()
        r[name] = "allowed"
    except stem.ControllerError:
        r[name] = "refused"
c.close()
print(json.dumps(r))
"""


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


class StemTest(ClientCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.python = python_with_stem()
        if cls.python is None:
            itkit.missing("python3-stem not installed")

    def run_script(self, addr):
        p = subprocess.run([self.python, "-c", STEM_SCRIPT, addr],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=CLIENT_TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stderr.decode()[-3000:])
        r = json.loads(p.stdout.decode().strip().splitlines()[-1])
        self.assertEqual(r, {"version": env.tor.version,
                             "info": env.tor.version, "circuits": 0,
                             "streams": 0, "address": "refused",
                             "newnym": "refused"})

    def check_log(self, lst):
        lines = session_lines(lst)
        self.assertEqual(sorted(denied(lines)),
                         ["GETINFO address", "SIGNAL NEWNYM"],
                         "\n".join(lines))
        self.assert_tor_got(b"SETEVENTS CIRC STREAM")
        self.assert_not_forwarded(b"GETINFO address", b"SIGNAL NEWNYM",
                                  b"STATUS_SERVER")

    def test_unix_socket(self):
        self.run_script(L["stem"].addr)
        self.check_log(L["stem"])

    def test_tcp(self):
        self.run_script("%s:%d" % L["stem-tcp"].addr)
        self.check_log(L["stem-tcp"])


# ---------------------------------------------------------------------------
# Rewrites an offline tor never exercises, against a scripted tor


ONION_SEEN = "b" * 56     # an onion service the user visits elsewhere
ONION_OWN = "c" * 56      # an onion service this tor publishes
ONION_OTHER = "d" * 56    # one another application published on it
HSDIR = "$" + "D" * 40 + "~dir"
PATH = ",".join("$%s~relay%s" % (c * 40, c) for c in "ABC")
CIRCS = [
    "1 BUILT %s BUILD_FLAGS=NEED_CAPACITY PURPOSE=GENERAL "
    "TIME_CREATED=2024-01-01T00:00:00.000000 SOCKS_USERNAME=\"example.com\" "
    "SOCKS_PASSWORD=\"0\"" % PATH,
    "2 BUILT %s BUILD_FLAGS=IS_INTERNAL,NEED_CAPACITY PURPOSE=HS_CLIENT_REND "
    "HS_STATE=HSCR_JOINED REND_QUERY=%s "
    "TIME_CREATED=2024-01-01T00:00:01.000000" % (PATH, ONION_SEEN),
    "3 LAUNCHED BUILD_FLAGS=NEED_CAPACITY PURPOSE=GENERAL "
    "TIME_CREATED=2024-01-01T00:00:02.000000 SOCKS_USERNAME=\"x\"",
    "4 FUTURE_STATUS SOMETHING_NEW=1 SOCKS_USERNAME=\"example.org\"",
]
CIRCS_SEEN = [
    "1 BUILT %s BUILD_FLAGS=NEED_CAPACITY PURPOSE=GENERAL "
    "TIME_CREATED=2024-01-01T00:00:00.000000" % PATH,
    "2 BUILT %s BUILD_FLAGS=IS_INTERNAL,NEED_CAPACITY PURPOSE=HS_CLIENT_REND "
    "TIME_CREATED=2024-01-01T00:00:01.000000" % PATH,
    "3 LAUNCHED BUILD_FLAGS=NEED_CAPACITY PURPOSE=GENERAL "
    "TIME_CREATED=2024-01-01T00:00:02.000000",
    "4 FUTURE_STATUS",
]
HS_DESC_EVENTS = [
    "REQUESTED %s NO_AUTH %s xyz HSDIR_INDEX=00" % (ONION_SEEN, HSDIR),
    "RECEIVED %s NO_AUTH %s xyz" % (ONION_SEEN, HSDIR),
    "FAILED %s NO_AUTH %s xyz REASON=NOT_FOUND" % (ONION_SEEN, HSDIR),
    "CREATED %s UNKNOWN UNKNOWN xyz" % ONION_OWN,
    "UPLOAD %s UNKNOWN %s xyz HSDIR_INDEX=00" % (ONION_OWN, HSDIR),
    "UPLOADED %s UNKNOWN %s" % (ONION_OWN, HSDIR),
    "FAILED %s NO_AUTH %s REASON=UPLOAD_REJECTED" % (ONION_OWN, HSDIR),
    # another application's service on this tor (restrict-onion-events)
    "CREATED %s UNKNOWN UNKNOWN xyz" % ONION_OTHER,
    "UPLOADED %s UNKNOWN %s" % (ONION_OTHER, HSDIR),
]
HS_DESC_SEEN = HS_DESC_EVENTS[3:7]


class ScriptedTor:
    """A unix-socket control port that answers the few commands these
    tests send (and torgate's handshake) with canned replies."""

    def __init__(self, directory, circuits):
        self.path = os.path.join(directory, "fake-tor.sock")
        self.circuits = circuits
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.stopping = False
        self.conns = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    def reply(self, line):
        if line.startswith("PROTOCOLINFO"):
            return ('250-PROTOCOLINFO 1\r\n250-AUTH METHODS=NULL\r\n'
                    '250-VERSION Tor="0.4.9.11"\r\n250 OK\r\n')
        if line.startswith("GETINFO net/listeners/"):
            return ('250-net/listeners/control="unix:/nonexistent"\r\n'
                    '250-net/listeners/socks=\r\n250 OK\r\n')
        if line == "GETINFO version":
            return "250-version=0.4.9.11\r\n250 OK\r\n"
        if line == "GETINFO circuit-status":
            if len(self.circuits) == 1:
                return "250-circuit-status=%s\r\n250 OK\r\n" % self.circuits[0]
            return ("250+circuit-status=\r\n%s\r\n.\r\n250 OK\r\n"
                    % "\r\n".join(self.circuits))
        if line.startswith("ADD_ONION "):
            return "250-ServiceID=%s\r\n250 OK\r\n" % ONION_OWN
        if line.startswith("SETEVENTS") and "HS_DESC" in line.split():
            return "250 OK\r\n" + "".join("650 HS_DESC %s\r\n" % e
                                          for e in HS_DESC_EVENTS)
        if line.startswith("GETINFO "):
            # as tor answers a key it does not know (torgate's fences)
            return '552 Unrecognized key "%s"\r\n' % line.split()[1]
        return "250 OK\r\n"

    def _serve(self, c):
        c.settimeout(30)
        buf = b""
        try:
            while True:
                data = c.recv(4096)
                if not data:
                    break
                buf += data
                while b"\r\n" in buf:
                    line, buf = buf.split(b"\r\n", 1)
                    c.sendall(self.reply(line.decode()).encode())
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.stopping = True
        self.sock.close()
        self.thread.join(5)
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class RewriteTest(unittest.TestCase):

    def gate(self, circuits):
        d = env.tempdir("tgt-fake-")
        fake = ScriptedTor(d, circuits)
        self.addCleanup(fake.close)
        nyx = Listener(os.path.join(d, "nyx.sock"), profile="nyx")
        os_ = Listener(os.path.join(d, "os.sock"), profile="onionshare")
        t = harness.Torgate("unix:" + fake.path, [PROFILE_DIR], [nyx, os_])
        t.start()
        env.daemons.append(t)

        def stop():
            wait_sessions_closed(t)
            problem = env.stop_daemon(t)
            if problem:
                self.fail(problem)
        self.addCleanup(stop)
        return nyx.addr, os_.addr

    def session(self, addr):
        c = Client(addr)
        self.addCleanup(c.close)
        self.assertEqual(c.command(b"AUTHENTICATE\r\n"), OK)
        return c

    def test_nyx_circuit_status(self):
        nyx, _ = self.gate(CIRCS)
        c = self.session(nyx)
        want = ("250+circuit-status=\r\n%s\r\n.\r\n250 OK\r\n"
                % "\r\n".join(CIRCS_SEEN)).encode()
        self.assertEqual(c.command(b"GETINFO circuit-status\r\n"), want)

    def test_nyx_single_circuit(self):
        nyx, _ = self.gate(CIRCS[:1])
        c = self.session(nyx)
        want = ("250-circuit-status=%s\r\n250 OK\r\n" % CIRCS_SEEN[0]).encode()
        self.assertEqual(c.command(b"GETINFO circuit-status\r\n"), want)

    def test_onionshare_hs_desc(self):
        _, os_ = self.gate(CIRCS)
        c = self.session(os_)
        self.assertEqual(c.command(b"ADD_ONION NEW:ED25519-V3 "
                                   b"Port=80,8080\r\n"),
                         ("250-ServiceID=%s\r\n250 OK\r\n"
                          % ONION_OWN).encode())
        self.assertEqual(c.command(b"SETEVENTS HS_DESC\r\n"), OK)
        # a reply after the events: everything before it has arrived
        self.assertEqual(c.command(b"GETINFO version\r\n"),
                         b"250-version=0.4.9.11\r\n250 OK\r\n")
        self.assertEqual([e.decode() for e in c.events],
                         ["650 HS_DESC %s\r\n" % e for e in HS_DESC_SEEN])


if __name__ == "__main__":
    itkit.main()
