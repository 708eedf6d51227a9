#!/bin/sh
# Install what is missing, build torgate, and show it at work in front of a
# private, offline tor (DisableNetwork 1) with the demo profile
# (tools/demo.yml): an allowed command, a denied one, and rewritten ones.
# Everything lives in a temporary directory that is removed at the end.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
sh tools/install-deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build src/torgate >/dev/null

dir=$(mktemp -d)
chmod 700 "$dir"
tor_pid=""
tg_pid=""
cleanup() {
	[ -n "$tg_pid" ] && kill "$tg_pid" 2>/dev/null || true
	[ -n "$tor_pid" ] && kill "$tor_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

mkdir -m 700 "$dir/tor" "$dir/profiles"
cp tools/demo.yml "$dir/profiles/"
# Run as root, torgate serves clients as nobody (--user), which reaches
# tor's socket and cookie through their directory's group, as a real
# installation's does through debian-tor. (tor wants a socket outside
# its own group's directory to be WorldWritable; the directory keeps
# others out.)
ctl=$dir/tor user='' flags='' groupread=0
if [ "$(id -u)" = 0 ]; then
	ctl=$dir/ctl user="--user nobody" flags=" WorldWritable" groupread=1
	mkdir "$ctl"
	chgrp "$(id -g nobody)" "$ctl"
	chmod 2750 "$ctl"
	chmod 711 "$dir"
fi
cat >"$dir/torrc" <<TORRC
DataDirectory $dir/tor
DisableNetwork 1
SocksPort 0
ControlPort unix:$ctl/control$flags
CookieAuthentication 1
CookieAuthFile $ctl/control_auth_cookie
CookieAuthFileGroupReadable $groupread
Log notice file $dir/tor.log
AvoidDiskWrites 1
TORRC
tor -f "$dir/torrc" --defaults-torrc /dev/null >/dev/null 2>&1 &
tor_pid=$!

i=0
until [ -S "$ctl/control" ]; do
	i=$((i + 1))
	[ $i -gt 300 ] && { echo "tor did not start:"; cat "$dir/tor.log"; exit 1; }
	sleep 0.1
done

# shellcheck disable=SC2086
"$top/build/src/torgate" -f --debug -t "unix:$ctl/control" $user \
    -p "$dir/profiles" -l "unix:$dir/torgate.sock,profile=demo" \
    2>"$dir/torgate.log" &
tg_pid=$!
i=0
until [ -S "$dir/torgate.sock" ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && { echo "torgate did not start:"; cat "$dir/torgate.log"; exit 1; }
	sleep 0.1
done

python3 - "$dir/torgate.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rb")
def reply():
    lines = []
    while True:
        line = f.readline().decode()
        lines.append(line.rstrip("\r\n"))
        if line[3:4] == "+":
            while True:
                d = f.readline().decode().rstrip("\r\n")
                lines.append(d)
                if d == ".":
                    break
        elif line[3:4] == " ":
            return lines
def run(cmd, what):
    print(f"\n# {what}\n> {cmd}")
    s.sendall(cmd.encode() + b"\r\n")
    for l in reply():
        print("< " + l)
run("PROTOCOLINFO 1", "answered by torgate itself, with tor's real version")
run("AUTHENTICATE", "torgate authenticated to tor itself; the profile decides")
run("GETINFO version", "allowed by the profile: forwarded, reply unchanged")
run("GETINFO address", "not in the profile: denied, never reaches tor")
run("SIGNAL SHUTDOWN", "denied: an application cannot stop the shared tor")
run("GETINFO status/bootstrap-phase", "allowed, and tor's reply is rewritten")
run("ADD_ONION NEW:ED25519-V3 Port=80,8080",
    "allowed, and rewritten: target forced to loopback, key discarded")
run("GETINFO onions/current", "tor now has that onion service")
run("QUIT", "answered by torgate, which then closes")
PY

echo
echo "# what torgate logged (--debug; secrets are redacted):"
grep -E "rewritten|sent to tor as|denied|client|closed" "$dir/torgate.log" |
    sed 's/^/  /'
