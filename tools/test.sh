#!/bin/sh
# Check the include graph against ARCHITECTURE.md's layers, then build
# torgate and run the whole test suite: unit tests, fuzz-corpus
# replays and integration tests against a private offline tor, first in
# the default build (warnings are errors; every torgate under its
# seccomp filters), then the privilege-separation tests in a build with
# the test hooks and the naming SIGSYS handler, then under ASan+UBSan
# (with --no-sandbox: LeakSanitizer's tracer is no call of torgate's),
# then with torgate under valgrind's memcheck (also --no-sandbox), then
# a short libFuzzer run of every fuzz target, and last, where
# dpkg-buildpackage exists, the Debian package: built, its contents and
# lintian checked, its autopkgtest run against it (suite 'package').
#
# Environment: FUZZ_SECONDS (default 20) per fuzz target; 0 skips fuzzing.
set -eu
cd "$(dirname "$0")/.."
sh tools/install-deps.sh

FUZZ_SECONDS=${FUZZ_SECONDS:-20}

echo "== include layers"
sh tools/check-layers.sh

echo "== default build"
[ -d build ] || meson setup build
ninja -C build
meson test -C build --print-errorlogs --num-processes 2 --no-suite package

# bench/ builds the release configuration: -O3 finds warnings -O0 does not.
echo "== release build (compile only)"
[ -d build-release ] || meson setup build-release --buildtype=release
ninja -C build-release

echo "== test hooks + sandbox_debug build (privilege separation)"
[ -d build-hooks ] || meson setup build-hooks -Dtest_hooks=true \
    -Dsandbox_debug=true
ninja -C build-hooks
meson test -C build-hooks --print-errorlogs integration-privsep

echo "== ASan+UBSan build"
[ -d build-asan ] || meson setup build-asan -Db_sanitize=address,undefined \
    -Db_lundef=false -Dbuildtype=debug
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    meson test -C build-asan --print-errorlogs --num-processes 2 \
    --no-suite package

echo "== valgrind memcheck (integration tests)"
sh tools/valgrind.sh

if [ "$FUZZ_SECONDS" -gt 0 ]; then
	echo "== libFuzzer (${FUZZ_SECONDS}s per target)"
	FUZZ_SECONDS=$FUZZ_SECONDS sh tools/fuzz.sh
fi
if command -v dpkg-buildpackage >/dev/null 2>&1; then
	echo "== Debian package"
	meson test -C build --print-errorlogs --suite package
fi
echo "all tests passed"
