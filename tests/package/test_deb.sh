#!/bin/sh
# Build the Debian package from a copy of the source tree
# (dpkg-buildpackage -us -uc -b, without running the unit tests: the other
# suites do; and -S for the source package), then check it:
#  - its contents (dpkg -c): the binary, the units, the default config and
#    the profile directory, both man pages, every profile of profiles/,
#    the AppArmor profile, the sysusers file, the README;
#  - conffiles and maintainer scripts: the config and the AppArmor profile
#    are conffiles, postinst creates the user, loads the AppArmor profile,
#    enables the units, and reloads torgate when another package's profile
#    in /usr/share/torgate/profiles changes (a dpkg trigger);
#  - its man pages render without a warning (man -l);
#  - lintian --fail-on error,warning on the binary and the source package
#    (overrides in debian/ say why);
#  - debian/tests/smoke, the autopkgtest, against the unpacked package: a
#    private offline tor and the package's torgate, one command allowed and
#    two denied.
# Skipped (77) where dpkg-buildpackage, debhelper or lintian is missing
# (tools/install-deps.sh installs them). TORGATE_PACKAGE_KEEP=1 keeps the
# work directory.
#
# usage: test_deb.sh SRCDIR
set -eu

src=$1
for tool in dpkg-buildpackage dh lintian; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool not installed (tools/install-deps.sh)"
		exit 77
	fi
done

failed=0
fail() {
	echo "FAIL: $*"
	failed=1
}

# World-readable: as root, the smoke test runs tor and torgate as nobody.
work=$(mktemp -d "${TMPDIR:-/tmp}/torgate-deb.XXXXXX")
chmod 0755 "$work"
if [ "${TORGATE_PACKAGE_KEEP:-0}" = 1 ]; then
	echo "work directory: $work"
else
	trap 'rm -rf "$work"' EXIT
fi

version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
upstream=${version%-*}
tree=$work/torgate-$upstream
mkdir "$tree"
# The tree as it is: tracked and new files, not build directories.
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$src" && git ls-files -z --cached --others --exclude-standard |
	    xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
	    tar --null -T - -cf -) | tar -xf - -C "$tree"
else
	(cd "$src" && tar --exclude='./build*' --exclude='./obj-*' -cf - .) |
	    tar -xf - -C "$tree"
fi

cd "$tree"
if ! dpkg-checkbuilddeps 2>"$work/builddeps"; then
	cat "$work/builddeps"
	echo "FAIL: build dependencies missing (tools/install-deps.sh)"
	exit 1
fi
# The source package first (its own lintian run: debian/control's source
# fields, debian/watch, debian/copyright), from an orig tarball of the
# tree without debian/, while the tree is clean.
tar -C "$work" --exclude="torgate-$upstream/debian" \
    -czf "$work/torgate_$upstream.orig.tar.gz" "torgate-$upstream"
echo "== dpkg-buildpackage -us -uc -S"
if ! dpkg-buildpackage -us -uc -S -d >"$work/source.log" 2>&1; then
	tail -n 60 "$work/source.log"
	echo "FAIL: dpkg-buildpackage -S"
	exit 1
fi
echo "== dpkg-buildpackage -us -uc -b"
if ! DEB_BUILD_OPTIONS="nocheck" dpkg-buildpackage -us -uc -b \
    >"$work/build.log" 2>&1; then
	tail -n 60 "$work/build.log"
	echo "FAIL: dpkg-buildpackage"
	exit 1
fi
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=$work/torgate_${version}_${arch}.deb
changes=$work/torgate_${version}_${arch}.changes
[ -f "$deb" ] || { ls "$work"; echo "FAIL: no $deb"; exit 1; }

echo "== contents"
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's,^\./,/,' >"$work/contents"
# Units: /lib/systemd/system before Debian 13, /usr/lib/systemd/system after.
has() {
	grep -qx -e "$1" "$work/contents" || fail "not in the package: $1"
}
has_unit() {
	grep -qx -e "/lib/systemd/system/$1" -e "/usr/lib/systemd/system/$1" \
	    "$work/contents" || fail "not in the package: unit $1"
}
has /usr/sbin/torgate
has_unit torgate.service
[ ! -f "$src/debian/torgate.socket" ] || has_unit torgate.socket
has /etc/torgate/torgate.yml
has /etc/torgate/profiles.d/
has /usr/share/man/man8/torgate.8.gz
has /usr/share/man/man5/torgate-profiles.5.gz
has /etc/apparmor.d/usr.sbin.torgate
has /usr/lib/sysusers.d/torgate.conf
grep -qx -e /usr/share/doc/torgate/README.md -e /usr/share/doc/torgate/README.md.gz \
    "$work/contents" || fail "not in the package: README.md"
n=0
for p in "$src"/profiles/*.yml "$src"/profiles/*.yaml; do
	[ -f "$p" ] || continue
	has "/usr/share/torgate/profiles/${p##*/}"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "no profiles in $src/profiles"
echo "checked $(wc -l <"$work/contents") paths, $n profiles"

echo "== conffiles and maintainer scripts"
dpkg-deb -e "$deb" "$work/DEBIAN"
for f in /etc/torgate/torgate.yml /etc/apparmor.d/usr.sbin.torgate; do
	grep -qx "$f" "$work/DEBIAN/conffiles" || fail "not a conffile: $f"
done
grep -q 'apparmor_parser' "$work/DEBIAN/postinst" ||
    fail "postinst does not load the AppArmor profile"
grep -q "deb-systemd-helper.*enable.*'torgate.service'" \
    "$work/DEBIAN/postinst" ||
    fail "postinst does not enable torgate.service"
if [ -f "$src/debian/torgate.socket" ]; then
	grep -q "deb-systemd-helper.*enable.*'torgate.socket'" \
	    "$work/DEBIAN/postinst" ||
	    fail "postinst does not enable torgate.socket"
fi
grep -q 'systemd-sysusers' "$work/DEBIAN/postinst" ||
    fail "postinst does not create the system user"
grep -qx 'interest-noawait /usr/share/torgate/profiles' \
    "$work/DEBIAN/triggers" ||
    fail "no trigger on /usr/share/torgate/profiles"
grep -q 'deb-systemd-invoke try-reload-or-restart torgate.service' \
    "$work/DEBIAN/postinst" ||
    fail "postinst does not reload torgate when triggered"

dpkg-deb -f "$deb" Conflicts | grep -qw onion-grater ||
    fail "no Conflicts: onion-grater (both listen on 127.0.0.1:951)"

echo "== man pages"
dpkg-deb -x "$deb" "$work/root"
for m in "$work"/root/usr/share/man/man*/*.gz; do
	if ! LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings=w -l "$m" \
	    >/dev/null 2>"$work/man.err" || [ -s "$work/man.err" ]; then
		cat "$work/man.err"
		fail "man -l ${m##*/} warns"
	fi
done

echo "== lintian"
if ! lintian --fail-on error,warning --tag-display-limit 0 \
    "$changes" "$work/torgate_${version}_source.changes" \
    >"$work/lintian.out" 2>&1; then
	cat "$work/lintian.out"
	fail "lintian"
else
	cat "$work/lintian.out"
fi

echo "== autopkgtest smoke against the unpacked package"
if ! TORGATE="$work/root/usr/sbin/torgate" \
    TORGATE_CONFIG="$work/root/etc/torgate/torgate.yml" \
    TORGATE_PROFILES="$work/root/usr/share/torgate/profiles" \
    python3 "$tree/debian/tests/smoke"; then
	fail "debian/tests/smoke"
fi

[ "$failed" = 0 ] || exit 1
echo "PASS"
