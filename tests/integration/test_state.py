#!/usr/bin/python3
"""Owners of detached onion services survive a restart of torgate.

The sequence of an application such as Cwtch: ADD_ONION with its own key
and Flags=DiscardPK,Detach; torgate restarts (SIGTERM, or kill -9) while
tor keeps running; the application reconnects, deletes its service
(DEL_ONION) and publishes the same key again (ADD_ONION). With
--state-dir the owner is kept in a file, reconciled with tor's
GETINFO onions/detached at start; a client of another profile still
cannot delete the service, and neither can anyone when the file is
corrupt, of another tor, or names a profile that is gone.
"""

import os
import pwd
import re
import stat
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import itkit  # noqa: E402
from harness import Listener, wait_until  # noqa: E402
from itkit import FILTERED, OK, GateCase  # noqa: E402

env = None

STATE_FILE = "detached-onions"
# Who owns the state file: torgate's worker (harness.WORKER_USER as root).
WORKER_UID = pwd.getpwnam(harness.WORKER_USER).pw_uid if harness.AS_ROOT \
    else os.geteuid()
SID_RE = re.compile(rb"^250-ServiceID=([a-z2-7]{56})\r\n", re.M)
KEY_RE = re.compile(rb"^250-PrivateKey=ED25519-V3:(\S+)\r\n", re.M)

# What the application sends (Whonix's Cwtch profile's form).
ADD = (b"ADD_ONION ED25519-V3:%s Flags=DiscardPK,Detach "
       b"Port=9878,127.0.0.1:15000\r\n")
ADD_RULE = (r"ED25519-V3:\S+ Flags=DiscardPK,Detach "
            r"Port=9878,127\.0\.0\.1:15\d\d\d")
ATTACHED_RULE = r"NEW:ED25519-V3 Flags=DiscardPK Port=9878,127\.0\.0\.1:15\d\d\d"


def setUpModule():
    global env
    itkit.require_binaries()
    env = itkit.Env(tcp_control=False, tap=True)


def tearDownModule():
    if env is not None:
        env.close()


def new_key():
    """A fresh ED25519-V3 key (base64 blob) from tor, and its service ID;
    the service made to get it is deleted again."""
    with env.tor.direct() as d:
        rep = d.command(b"ADD_ONION NEW:ED25519-V3 Port=1,127.0.0.1:1\r\n")
        key, sid = KEY_RE.search(rep), SID_RE.search(rep)
        assert key and sid, rep
        assert d.command(b"DEL_ONION " + sid.group(1) + b"\r\n") == OK
    return key.group(1), sid.group(1)


def detached_in_tor():
    rep = env.direct.command(b"GETINFO onions/detached\r\n")
    return set(re.findall(rb"[a-z2-7]{56}", rep))


class Case(GateCase):

    @classmethod
    def setUpClass(cls):
        cls.env = env
        cls.profiles = env.profiles()
        for name in ("p", "q"):
            cls.profiles.add(name, {
                "ADD_ONION": [ADD_RULE, ATTACHED_RULE],
                "DEL_ONION": [r"\S+"],
            })

    def setUp(self):
        self.daemons = []
        self.cleanup_sids = []
        self.state = env.tempdir("tgt-state-")
        super().setUp()

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            problems = [env.stop_daemon(tg) for tg in self.daemons]
            problems = [p for p in problems if p]
            for sid in self.cleanup_sids:
                env.direct.command(b"DEL_ONION " + sid + b"\r\n")
            if problems:
                self.fail("\n".join(problems))

    def tgs(self):
        return getattr(self, "daemons", [])

    # -- helpers ----------------------------------------------------------

    def start(self, state=None):
        """A torgate with listeners p.sock (profile p) and q.sock
        (profile q), keeping its state in self.state; returns it once it
        has reconciled with tor."""
        self.sock = {n: env.sock("%s-%s.sock" % (n, id(self)))
                     for n in ("p", "q")}
        tg = env.torgate([self.profiles.dir],
                         [Listener(self.sock[n], profile=n)
                          for n in ("p", "q")],
                         extra_args=["--state-dir", state or self.state])
        self.daemons.append(tg)
        wait_until(lambda: "onion state: reconciled" in tg.log_text() or
                   "onion state: the file is of another" in tg.log_text(),
                   10, what="reconciliation in the log:\n" + tg.log_text())
        return tg

    def stop(self, tg, kill=False):
        self.daemons.remove(tg)
        if kill:
            tg.kill()
            env.daemons.remove(tg)
            tg.cleanup()
        else:
            problem = env.stop_daemon(tg)
            self.assertIsNone(problem)

    def client(self, name):
        return self.session(self.sock[name])

    def add_detached(self, c, key):
        rep = c.command(ADD % key)
        m = SID_RE.search(rep)
        self.assertIsNotNone(m, "ADD_ONION failed: %r" % rep)
        self.assertTrue(rep.endswith(OK), rep)
        self.cleanup_sids.append(m.group(1))
        return m.group(1)

    def state_text(self):
        with open(os.path.join(self.state, STATE_FILE), "rb") as f:
            return f.read()

    def write_state(self, data):
        path = os.path.join(self.state, STATE_FILE)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o600)
        if harness.AS_ROOT:     # the file of torgate's worker
            os.chown(path, WORKER_UID, -1)

    # -- the sequence -----------------------------------------------------

    def restart_sequence(self, kill):
        key, sid = new_key()
        tg = self.start()
        p = self.client("p")
        self.assertEqual(self.add_detached(p, key), sid)
        p.close()
        self.assertIn(sid, detached_in_tor())
        text = self.state_text()
        self.assertIn(b"\nonion " + sid + b" p\n", text)

        self.stop(tg, kill=kill)
        self.assertIn(sid, detached_in_tor(), "the service outlived torgate")
        tg = self.start()
        self.assertIn("1 of 1 detached service", tg.log_text())

        # Another profile may not delete it; its owner may, and may
        # publish the same key again.
        q = self.client("q")
        self.assert_denied(q, b"DEL_ONION " + sid)
        self.assertIn(sid, detached_in_tor())
        p = self.client("p")
        self.assertEqual(p.command(b"DEL_ONION " + sid + b"\r\n"), OK)
        self.assertNotIn(sid, detached_in_tor())
        self.assertNotIn(sid, self.state_text())
        self.assertEqual(self.add_detached(p, key), sid)
        self.assertIn(b"\nonion " + sid + b" p\n", self.state_text())
        self.assertEqual(p.command(b"DEL_ONION " + sid + b"\r\n"), OK)
        self.assertNotIn(sid, self.state_text())

    def test_restart_sigterm(self):
        self.restart_sequence(kill=False)

    def test_restart_kill9(self):
        self.restart_sequence(kill=True)

    def test_file_mode_and_no_secrets(self):
        key, sid = new_key()
        self.start()
        p = self.client("p")
        self.add_detached(p, key)
        path = os.path.join(self.state, STATE_FILE)
        st = os.stat(path)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(st.st_uid, WORKER_UID)
        text = self.state_text()
        self.assertNotIn(key, text)
        self.assertNotIn(b"ED25519", text)
        self.assertNotIn(b"PrivateKey", text)
        cookie = env.tor.cookie()
        for form in (cookie.hex().encode(), cookie.hex().upper().encode()):
            self.assertNotIn(form, text)
        self.assertTrue(text.startswith(b"torgate-onions 1\ntor "), text)
        self.assertTrue(text.endswith(b"\nend\n"), text)
        # Only the state file is left in the directory (no temporaries).
        self.assertEqual(os.listdir(self.state), [STATE_FILE])

    def test_attached_not_kept(self):
        self.start()
        p = self.client("p")
        rep = p.command(b"ADD_ONION NEW:ED25519-V3 Flags=DiscardPK "
                        b"Port=9878,127.0.0.1:15001\r\n")
        m = SID_RE.search(rep)
        self.assertIsNotNone(m, rep)
        self.assertNotIn(m.group(1), self.state_text())
        self.assertEqual(p.command(b"DEL_ONION " + m.group(1) + b"\r\n"), OK)

    def test_attached_go_with_their_connection(self):
        """A service not detached is forgotten when the connection that
        made it ends (tor drops it then), so repeated ADD_ONIONs of
        closed sessions cannot fill the ownership table; a detached one
        and one deleted and made again on another connection stay."""
        tg = self.start()
        key, _ = new_key()
        p = self.client("p")
        rep = p.command(b"ADD_ONION NEW:ED25519-V3 Flags=DiscardPK "
                        b"Port=9878,127.0.0.1:15002\r\n")
        m = SID_RE.search(rep)
        self.assertIsNotNone(m, rep)
        attached = m.group(1)
        detached = self.add_detached(p, key)
        # made and deleted on the same connection, past the list's first
        # sizes (it drops what is no longer this connection's as it grows)
        for i in range(12):
            rep = p.command(b"ADD_ONION NEW:ED25519-V3 Flags=DiscardPK "
                            b"Port=9878,127.0.0.1:15003\r\n")
            m = SID_RE.search(rep)
            self.assertIsNotNone(m, rep)
            self.assertEqual(p.command(b"DEL_ONION " + m.group(1) + b"\r\n"),
                             OK)
        p.close()
        gone = "onion service %s went with its connection to tor" % (
            attached.decode())
        wait_until(lambda: gone in tg.log_text(), 10,
                   what="the service forgotten:\n" + tg.log_text()[-3000:])
        self.assertNotIn(detached.decode() + " went with", tg.log_text())
        self.assertNotIn(attached, env.direct.command(
            b"GETINFO onions/detached\r\n"))
        # the detached one is still p's
        p2 = self.client("p")
        self.assertEqual(p2.command(b"DEL_ONION " + detached + b"\r\n"), OK)
        self.cleanup_sids.remove(detached)

    # -- files torgate must not trust -------------------------------------

    def deny_after(self, data, log_needle):
        """A detached service made directly on tor; a state file data
        naming it (bytes, SID replaced) ; torgate starts, logs log_needle,
        and profile p may not delete the service."""
        key, sid = new_key()
        rep = env.direct.command(ADD % key)
        self.assertIn(b"250-ServiceID=" + sid, rep)
        self.cleanup_sids.append(sid)
        self.write_state(data.replace(b"SID", sid))
        tg = self.start()
        self.assertIn(log_needle, tg.log_text())
        p = self.client("p")
        self.assert_denied(p, b"DEL_ONION " + sid)
        self.assertIn(sid, detached_in_tor())
        self.assertTrue(tg.alive())
        return tg, sid

    def test_corrupt_file(self):
        self.deny_after(b"torgate-onions 1\ntor x\nonion SID p\n",
                        "ignored: no client may delete")

    def test_garbage_file(self):
        self.deny_after(os.urandom(4096) + b"SID", "onion state: ")

    def test_newer_version(self):
        self.deny_after(b"torgate-onions 2\ntor x\nonion SID p\nend\n",
                        "format version")

    def test_unsafe_file(self):
        path = os.path.join(self.state, STATE_FILE)
        key, sid = new_key()
        rep = env.direct.command(ADD % key)
        self.assertIn(b"250-ServiceID=" + sid, rep)
        self.cleanup_sids.append(sid)
        self.write_state(b"torgate-onions 1\ntor x\nonion " + sid +
                         b" p\nend\n")
        os.chmod(path, 0o666)
        tg = self.start()
        self.assertIn("writable by others", tg.log_text())
        self.assert_denied(self.client("p"), b"DEL_ONION " + sid)

    def test_file_of_another_tor(self):
        # A real file, then its tor line changed: the services it lists
        # are not this tor's (a tor restart kills detached services; one
        # with the same ID now was made by someone else).
        key, sid = new_key()
        tg = self.start()
        p = self.client("p")
        self.add_detached(p, key)
        p.close()
        self.stop(tg, kill=True)
        text = re.sub(rb"\ntor [^\n]*\n", b"\ntor 0.0.0.1%20pid=1\n",
                      self.state_text())
        self.write_state(text)
        tg = self.start()
        self.assertIn("another tor instance", tg.log_text())
        self.assert_denied(self.client("p"), b"DEL_ONION " + sid)
        self.assertNotIn(sid, self.state_text())

    def test_profile_gone(self):
        # The owner's profile no longer exists: kept, nobody may delete.
        key, sid = new_key()
        tg = self.start()
        p = self.client("p")
        self.add_detached(p, key)
        p.close()
        self.stop(tg, kill=True)
        self.write_state(self.state_text().replace(b" p\n", b" gone\n"))
        tg = self.start()
        self.assertIn('profile "gone", which no longer exists',
                      tg.log_text())
        self.assert_denied(self.client("p"), b"DEL_ONION " + sid)
        self.assert_denied(self.client("q"), b"DEL_ONION " + sid)
        self.assertIn(b"\nonion " + sid + b" gone\n", self.state_text())

    def test_service_gone(self):
        # Deleted behind torgate's back while it was down: dropped.
        key, sid = new_key()
        tg = self.start()
        p = self.client("p")
        self.add_detached(p, key)
        p.close()
        self.stop(tg)
        self.assertEqual(env.direct.command(b"DEL_ONION " + sid + b"\r\n"),
                         OK)
        tg = self.start()
        self.assertIn("0 of 1 detached service", tg.log_text())
        self.assertNotIn(sid, self.state_text())

    def test_unwritable_state_dir(self):
        # torgate keeps serving; it says the owners will not survive.
        missing = os.path.join(self.state, "missing", "dir")
        tg = self.start(state=missing)
        key, sid = new_key()
        p = self.client("p")
        self.add_detached(p, key)
        wait_until(lambda: "will not survive a restart" in tg.log_text(), 5,
                   what="the log line")
        self.assertEqual(p.command(b"DEL_ONION " + sid + b"\r\n"), OK)


if __name__ == "__main__":
    itkit.main()
