#!/bin/sh
# Install what torgate needs to build and test, on Debian (bookworm or
# later). Only missing packages are installed; nothing happens when all
# are present.
set -eu

# Installed with --no-install-recommends, so what the tools only recommend
# is listed here: libc6-dev (gcc's headers and crt files) and
# libclang-rt-dev, the sanitizer and libFuzzer runtimes of the default
# clang (libclang_rt.fuzzer-x86_64.a; libclang-rt-14-dev on bookworm).
# tor, python3 and the clients (nyx, onionshare-cli, python3-stem, tmux to
# give nyx a terminal; onioncircuits, a GTK program, with xvfb for its X
# server and x11-apps for xwd, its screenshot) run in the integration
# tests; socat in bench/run.sh;
# setpriv and prlimit come with util-linux, which every Debian has;
# valgrind runs the integration tests under memcheck (tools/valgrind.sh);
# apparmor brings apparmor_parser and the abstractions, with which
# tests/apparmor compiles the profile (nothing is loaded into the kernel);
# dpkg-dev, build-essential (every package build's implicit dependency),
# debhelper, dh-apparmor and lintian build and check the Debian
# package (tests/package), man-db and groff-base render the man pages.
PKGS="gcc libc6-dev clang libclang-rt-dev llvm meson ninja-build pkg-config \
libevent-dev libyaml-dev libpcre2-dev libseccomp-dev libapparmor-dev \
libsystemd-dev \
nettle-dev check tor python3 socat \
nyx onionshare-cli python3-stem tmux onioncircuits xvfb x11-apps valgrind \
apparmor dpkg-dev build-essential debhelper dh-apparmor lintian man-db \
groff-base"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
else
	SUDO="sudo"
fi
echo "installing:$missing" >&2
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    --no-install-recommends $missing >/dev/null
