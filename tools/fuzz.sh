#!/bin/sh
# Build the libFuzzer targets (clang, ASan+UBSan) and run each one, from a
# copy of its seed corpus, for FUZZ_SECONDS seconds (default 20, what the
# test suite runs). For a longer campaign that keeps what it finds:
#
#   FUZZ_SECONDS=3600 FUZZ_JOBS=2 FUZZ_KEEP=1 sh tools/fuzz.sh [TARGET...]
#
# FUZZ_JOBS runs that many fuzzing processes per target; FUZZ_KEEP=1 fuzzes
# tests/fuzz/corpus/TARGET in place, so new inputs are kept for review
# (minimise before committing: fuzz_TARGET -merge=1 NEWDIR tests/fuzz/corpus/TARGET).
# A crash leaves crash-* in the current directory and fails the script.
set -eu
cd "$(dirname "$0")/.."
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
FUZZ_JOBS=${FUZZ_JOBS:-1}
FUZZ_KEEP=${FUZZ_KEEP:-0}

[ -d build-fuzz ] || CC=clang meson setup build-fuzz -Dfuzz=true \
    -Db_sanitize=address,undefined -Db_lundef=false -Dtests=true
ninja -C build-fuzz

targets=${*:-$(cd build-fuzz/tests/fuzz && ls fuzz_* 2>/dev/null |
    sed -n 's/^fuzz_\([a-z_0-9]*\)$/\1/p')}
[ -n "$targets" ] || { echo "no fuzz targets built" >&2; exit 1; }
for name in $targets; do
	f=build-fuzz/tests/fuzz/fuzz_$name
	[ -x "$f" ] || { echo "no fuzz target $name" >&2; exit 1; }
	if [ "$FUZZ_KEEP" = 1 ]; then
		work=tests/fuzz/corpus/$name
	else
		work=$(mktemp -d)
		cp -r "tests/fuzz/corpus/$name/." "$work/"
	fi
	log=$(mktemp)
	jobs=
	[ "$FUZZ_JOBS" -le 1 ] || jobs="-jobs=$FUZZ_JOBS -workers=$FUZZ_JOBS"
	echo "-- $name (${FUZZ_SECONDS}s)"
	"$f" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 \
	    -print_final_stats=0 $jobs "$work" >"$log" 2>&1 || {
		tail -50 "$log"
		for l in fuzz-*.log; do [ -f "$l" ] && tail -50 "$l"; done
		echo "fuzz target $name failed" >&2
		exit 1
	}
	rm -f "$log" fuzz-*.log
	[ "$FUZZ_KEEP" = 1 ] || rm -rf "$work"
done
