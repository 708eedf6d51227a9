#!/usr/bin/env python3
"""The AppArmor profile, apparmor.d/usr.sbin.torgate.

The kernel tests run on need not have AppArmor (and containers rarely can
load policy), so the roles are never entered here: src/aarole.c's branches
are tested in tests/unit/test_aarole.c against a fake kernel. This test
checks what can be checked without one:
  - apparmor_parser compiles the profile (-Q: not loaded, -K: no cache),
    and refuses a copy with a syntax error (so this test can fail);
  - the profiles are "torgate", "torgate//monitor" and "torgate//worker";
  - a role is stacked on "torgate" and keeps only what both allow, so each
    child's every rule must be in "torgate" too (else it silently does not
    work);
  - neither child may change profile (the roles are one way); the worker
    has no capability and no ptrace; the monitor writes no file.
Exit 77 (skipped) when apparmor_parser is not installed.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

TOP = os.environ.get("TOP_SRCDIR",
                     os.path.join(os.path.dirname(__file__), "..", ".."))
PROFILE = os.path.join(TOP, "apparmor.d", "usr.sbin.torgate")
PARSER = shutil.which("apparmor_parser",
                      path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
# Where the abstractions and tunables the profile includes live.
INCLUDES = os.environ.get("APPARMOR_INCLUDES", "/etc/apparmor.d")


def parse(path, *extra):
    return subprocess.run([PARSER, "-Q", "-K", "-I", INCLUDES, *extra, path],
                          capture_output=True, text=True)


def profiles(text):
    """{name: [rule lines]} of the profile and its children, from the
    source: comments dropped, one rule per line as the file is written."""
    out, stack = {}, []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip() if not raw.strip().startswith(
            "include") else raw.strip()
        if not line:
            continue
        m = re.match(r"profile\s+(\S+)(?:\s+(?!flags=)\S+)?"
                     r"(?:\s+flags=\(([^)]*)\))?\s*\{$", line)
        if m:
            name = m.group(1) if not stack else stack[-1] + "//" + m.group(1)
            stack.append(name)
            out[name] = []
            out[name + " flags"] = [f.strip() for f in
                                    (m.group(2) or "").split(",")]
            continue
        if line == "}":
            stack.pop()
            continue
        if stack:
            out[stack[-1]].append(line)
    return out


def file_rule(rule):
    """(path with its owner qualifier, permissions) of a file rule, else
    None."""
    m = re.match(r"((?:owner\s+)?[/@]\S*)\s+([a-zA-Z]+),$", rule)
    return (m.group(1), m.group(2)) if m else None


@unittest.skipIf(PARSER is None, "apparmor_parser is not installed")
class ProfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(PROFILE, encoding="utf-8") as f:
            cls.text = f.read()
        cls.p = profiles(cls.text)

    def test_compiles(self):
        r = parse(PROFILE)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_syntax_error_fails(self):
        # The same profile with one rule's comma left out.
        broken = self.text.replace("network unix seqpacket,",
                                   "network unix seqpacket", 1)
        self.assertNotEqual(broken, self.text)
        with tempfile.NamedTemporaryFile("w", suffix=".torgate") as f:
            f.write(broken)
            f.flush()
            r = parse(f.name)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("syntax error", r.stderr)

    def test_names(self):
        r = parse(PROFILE, "-N")
        self.assertEqual(r.returncode, 0, r.stderr)
        names = sorted(l for l in r.stdout.split() if l)
        self.assertEqual(names,
                         ["torgate", "torgate//monitor", "torgate//worker"])
        # The names src/aarole.c stacks.
        with open(os.path.join(TOP, "src", "aarole.h")) as f:
            self.assertIn('#define AAROLE_PROFILE "torgate"', f.read())
        with open(os.path.join(TOP, "src", "aarole.c")) as f:
            self.assertIn('roles[] = { "monitor", "worker" }', f.read())

    def test_attach_disconnected_everywhere(self):
        for name in ("torgate", "torgate//worker", "torgate//monitor"):
            self.assertIn("attach_disconnected", self.p[name + " flags"],
                          name)

    def test_children_are_subsets_of_the_parent(self):
        parent = set(self.p["torgate"])
        files = {}
        for rule in parent:
            f = file_rule(rule)
            if f:
                files[f[0]] = files.get(f[0], "") + f[1]
        for child in ("torgate//worker", "torgate//monitor"):
            for rule in self.p[child]:
                if rule.startswith("deny ") or \
                        rule.startswith("include if exists <local/"):
                    continue   # narrowing, or the site's own
                f = file_rule(rule)
                if f:
                    # The same path (owner or not), with at least the
                    # child's permissions.
                    self.assertTrue(set(f[1]) <= set(files.get(f[0], "")),
                                    f"{child}: {rule!r} is not in torgate")
                else:
                    self.assertIn(rule, parent,
                                  f"{child}: {rule!r} is not in torgate")

    def test_one_way(self):
        for child in ("torgate//worker", "torgate//monitor"):
            for rule in self.p[child]:
                self.assertFalse(re.match(r"(audit\s+)?change_profile|"
                                          r".*\bp[ixuU]?x\b|.*\bc[ixuU]?x\b",
                                          rule), f"{child}: {rule}")
        self.assertIn("change_profile -> torgate//worker,", self.p["torgate"])
        self.assertIn("change_profile -> torgate//monitor,",
                      self.p["torgate"])

    def test_worker(self):
        w = self.p["torgate//worker"]
        for rule in w:
            self.assertFalse(rule.startswith("capability"), rule)
            self.assertFalse(re.match(r"ptrace\b", rule), rule)
            if rule.startswith("@{PROC}"):
                self.assertRegex(rule, r"^@\{PROC\}/@\{pid\}/attr/"
                                 r"\{apparmor/,\}current r,$")
        self.assertIn("deny ptrace (read),", w)
        self.assertNotIn("include <abstractions/nameservice>", w)

    def test_monitor(self):
        m = self.p["torgate//monitor"]
        self.assertIn("ptrace (read),", m)
        for rule in m:
            # File rules: read only.
            if rule.startswith(("/", "@{", "owner ")):
                perms = rule.rstrip(",").split()[-1]
                self.assertTrue(set(perms) <= set("r"), rule)
            # No trace, only read.
            if rule.startswith("ptrace"):
                self.assertEqual(rule, "ptrace (read),")
        caps = sorted(r for r in m if r.startswith("capability"))
        self.assertEqual(caps, ["capability dac_read_search,",
                                "capability sys_ptrace,"])


if __name__ == "__main__":
    if PARSER is None:
        print("apparmor_parser is not installed: skipped")
        sys.exit(77)
    unittest.main()
