#!/bin/sh
# Run the integration tests with every torgate under valgrind's memcheck
# and fail on any memory error or leak (definite or indirect) in any of
# its processes. tor and the test clients run natively.
#
#   sh tools/valgrind.sh [TEST...]     (default: the tests listed below)
#
# test_identity and test_ident are left out: they check torgate's own
# executable in /proc, which under valgrind is valgrind's. test_clients
# runs third-party clients whose own timeouts do not stretch.
set -eu
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind not installed" >&2; exit 1; }
# PCRE2's JIT code is opaque to memcheck (false "uninitialised" reports).
[ -d build-vg ] || meson setup build-vg -Dbuildtype=debug -Djit=false >/dev/null
ninja -C build-vg

tests=${*:-"proxy limits compat policy_engine events modes state guard replies restart privsep onion_events client_cookie apps"}
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
status=0
for t in $tests; do
	echo "== valgrind: integration-$t"
	TORGATE_VALGRIND=$logs meson test -C build-vg --print-errorlogs \
	    --timeout-multiplier 8 "integration-$t" || status=1
done

# With --quiet valgrind writes only what it found: any non-empty log is
# an error or a leak (a killed process still logged each error as it
# happened).
bad=$(find "$logs" -name '*.log' -size +0 | sort)
n=$(ls "$logs" | wc -l)
if [ -n "$bad" ]; then
	for f in $bad; do echo "--- $f"; cat "$f"; done
	echo "valgrind: errors in $(echo "$bad" | wc -l) of $n torgate processes" >&2
	exit 1
fi
[ "$n" -gt 0 ] || { echo "valgrind: no torgate process ran" >&2; exit 1; }
echo "valgrind: $n torgate processes, no errors, no leaks"
exit $status
