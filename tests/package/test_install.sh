#!/bin/sh
# meson install into a temporary DESTDIR installs what a package ships:
# the binary, the AppArmor profile, the default config (which torgate
# accepts as it is), the empty local profile directory, both man pages
# (rendered without a warning) and every profile of profiles/ (which load
# without an error). The units are checked by the package test: their
# directory depends on the prefix and on systemd.pc.
#
# usage: test_install.sh MESON BUILDDIR SRCDIR PREFIX SBINDIR SYSCONFDIR
#                        DATADIR MANDIR
set -eu

meson=$1 build=$2 src=$3 prefix=$4
abs() { case $1 in /*) echo "$1" ;; *) echo "$prefix/$1" ;; esac; }
sbindir=$(abs "$5") sysconfdir=$(abs "$6") datadir=$(abs "$7")
mandir=$(abs "$8")

dest=$(mktemp -d "${TMPDIR:-/tmp}/torgate-install.XXXXXX")
trap 'rm -rf "$dest"' EXIT
"$meson" install -C "$build" --no-rebuild --quiet --destdir "$dest" \
    >"$dest.log" 2>&1 || { cat "$dest.log"; rm -f "$dest.log"; exit 1; }
rm -f "$dest.log"
(cd "$dest" && find . \( -type f -o -type d -empty \) | sort)

failed=0
fail() {
	echo "FAIL: $*"
	failed=1
}
need() {
	[ -e "$dest$1" ] || fail "not installed: $1"
}
need "$sbindir/torgate"
need "$sysconfdir/apparmor.d/usr.sbin.torgate"
need "$sysconfdir/torgate/torgate.yml"
[ -d "$dest$sysconfdir/torgate/profiles.d" ] ||
    fail "not installed: $sysconfdir/torgate/profiles.d/"
need "$mandir/man8/torgate.8"
need "$mandir/man5/torgate-profiles.5"
n=0
for p in "$src"/profiles/*.yml "$src"/profiles/*.yaml; do
	[ -f "$p" ] || continue
	need "$datadir/torgate/profiles/${p##*/}"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "no profiles in $src/profiles"
[ "$failed" = 0 ] || exit 1

# What was installed works together: the config as shipped, the
# profiles as installed.
out=$("$dest$sbindir/torgate" --check -c "$dest$sysconfdir/torgate/torgate.yml" \
    -p "$dest$datadir/torgate/profiles") || {
	echo "$out"
	fail "torgate --check of the installed config and profiles"
}
echo "$out"
case $out in
*" 0 errors,"*) ;;
*) fail "torgate --check reports errors" ;;
esac

for m in "$dest$mandir"/man*/*; do
	if ! LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings=w -l "$m" \
	    >/dev/null 2>"$dest/.man.err" || [ -s "$dest/.man.err" ]; then
		cat "$dest/.man.err"
		fail "man -l ${m##*/} warns"
	fi
	if ! groff -man -ww -z "$m" 2>"$dest/.man.err" ||
	    [ -s "$dest/.man.err" ]; then
		cat "$dest/.man.err"
		fail "groff -man -ww ${m##*/} warns"
	fi
done
[ "$failed" = 0 ] || exit 1
echo "PASS"
