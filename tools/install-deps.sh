#!/bin/sh
# Install what torgate needs to build and test, on Debian (bookworm or
# later). Only missing packages are installed; nothing happens when all
# are present.
set -eu

PKGS="gcc clang llvm meson ninja-build pkg-config \
libevent-dev libyaml-dev libpcre2-dev libseccomp-dev libapparmor-dev \
nettle-dev check tor python3 socat \
nyx onionshare-cli python3-stem tmux"

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
