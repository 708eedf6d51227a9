#!/bin/bash
# bench/run.sh: how fast is torgate? One command:
#
#   bench/run.sh
#
# builds torgate (release) and bench/loadgen.c, starts a private offline tor
# (DisableNetwork 1, control on a unix socket and on 127.0.0.1), a bare
# relay (socat, a process per connection) and torgate in front of the same
# tor, then measures every mode against tor directly, the relay and
# torgate, over unix sockets and TCP, interleaved (direct, relay, torgate,
# direct, ... for each mode, then the next round), and prints a table of
# medians with ratios. The relay and torgate both reach tor over its unix
# socket. Every process it starts is stopped on exit.
#
# Before and after: BENCH_BASE=REF (e.g. BENCH_BASE=HEAD~1 or main) also
# builds torgate at that commit and runs it, with the same profile and
# configuration, in front of the same tor as a fourth path, "base",
# measured in the same rounds (direct, relay, base, torgate, ...). The
# table then gains a "base" column and a "tg/base" ratio: torgate's speed
# relative to the base, so above 1 torgate (the work tree, or BENCH_REF) is
# faster than the base, below 1 slower; for latencies it is base/torgate,
# so above 1 still means torgate is better.
#
# Environment:
#   BENCH_QUICK=1            smaller counts, 2 rounds, idle 1000 only (~1 min)
#   BENCH_ROUNDS=N           interleaved rounds (default 5)
#   BENCH_MODES="..."        subset of: connect rtt pipeline concurrent
#                            rewrite-rtt rewrite events
#   BENCH_TRANSPORTS="..."   subset of: unix tcp
#   BENCH_IDLE="1000 10000"  idle client counts ("" skips idle)
#   BENCH_IDLE_RELAY_MAX=N   largest idle count tried through the relay
#                            (default 1000: it forks a process per client)
#   BENCH_OPEN_SECS=S        stop opening idle clients after S seconds
#                            (default 100; quick: 30) and measure those held
#   BENCH_N_CONNECT, BENCH_N_RTT, BENCH_N_PIPELINE, BENCH_N_REWRITE,
#   BENCH_N_EVENTS, BENCH_CLIENTS, BENCH_PER_CLIENT, BENCH_RULES
#   BENCH_BUILD_DIR          meson build directory (default build-bench)
#   BENCH_REF=COMMIT         measure that commit (exported and built in the
#                            temporary directory) instead of the work tree
#   BENCH_BASE=REF           also measure torgate at REF (a commit, branch
#                            or tag; exported with git archive and built,
#                            release, in the temporary directory) as the
#                            "base" path, for before/after numbers from one
#                            run; works with BENCH_REF too. Results get
#                            target=base (and base-mdwe) lines, the table a
#                            base column and tg/base ratios, the idle part
#                            a base row for each size. Unset: no base.
#   BENCH_CPUS=LIST|none     CPUs for tor, the relay, torgate and the load
#                            generator (taskset -c LIST). Default: the last
#                            CPU alone, so that every path pays the same
#                            wake-ups and a ratio is a ratio of CPU work.
#                            "none" lets the scheduler place them; in a VM a
#                            wake-up across vCPUs can cost tens of us, and
#                            whether a client and its server share a CPU
#                            changes from run to run, which makes results
#                            jump between two levels.
#   BENCH_SANDBOX=on|off|compare
#                            torgate's seccomp filters: on (the default),
#                            off (every torgate gets --no-sandbox), or
#                            compare: the same binary with --no-sandbox is
#                            measured as the "base" path in the same rounds
#                            (tg/base: speed with the filters over speed
#                            without; not with BENCH_BASE)
#   BENCH_KEEP=1             keep the temporary directory (logs)
#
# Run as root, every torgate gets --user nobody (torgate does not serve
# clients as root); tor's socket and cookie are then in a directory of
# nobody's group, as a real installation's are in debian-tor's.
#
# Results: one key=value line per measurement in $BENCH_BUILD_DIR/bench/
# results.txt, the table in table.txt next to it.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${BENCH_BUILD_DIR:-$root/build-bench}
case $build in /*) ;; *) build=$root/$build ;; esac
out=$build/bench

quick=${BENCH_QUICK:-0}
if [ "$quick" = 1 ]; then
	rounds=${BENCH_ROUNDS:-2}
	n_connect=${BENCH_N_CONNECT:-300}
	n_rtt=${BENCH_N_RTT:-5000}
	n_pipeline=${BENCH_N_PIPELINE:-20000}
	n_rewrite=${BENCH_N_REWRITE:-20000}
	n_events=${BENCH_N_EVENTS:-20000}
	idle_sizes=${BENCH_IDLE-1000}
	idle_secs=2
	open_secs=${BENCH_OPEN_SECS:-30}
else
	rounds=${BENCH_ROUNDS:-5}
	n_connect=${BENCH_N_CONNECT:-2000}
	n_rtt=${BENCH_N_RTT:-30000}
	n_pipeline=${BENCH_N_PIPELINE:-100000}
	n_rewrite=${BENCH_N_REWRITE:-100000}
	n_events=${BENCH_N_EVENTS:-200000}
	idle_sizes=${BENCH_IDLE-1000 10000}
	idle_secs=3
	open_secs=${BENCH_OPEN_SECS:-100}
fi
clients=${BENCH_CLIENTS:-100}
per_client=${BENCH_PER_CLIENT:-200}
rules=${BENCH_RULES:-220}
modes=${BENCH_MODES:-connect rtt pipeline concurrent rewrite-rtt rewrite events}
transports=${BENCH_TRANSPORTS:-unix tcp}
relay_idle_max=${BENCH_IDLE_RELAY_MAX:-1000}

say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; exit 1; }

# One CPU by default: see BENCH_CPUS above.
cpus=${BENCH_CPUS:-$(( $(nproc) - 1 ))}
pin=()
if [ "$cpus" != none ]; then
	command -v taskset >/dev/null 2>&1 ||
	    die "taskset is needed (or BENCH_CPUS=none)"
	pin=(taskset -c "$cpus")
fi

for tool in tor socat meson ninja cc pkg-config python3; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is needed"
done

sandbox=${BENCH_SANDBOX:-on}
case $sandbox in
on|off|compare) ;;
*) die "BENCH_SANDBOX=$sandbox: on, off or compare" ;;
esac
[ "$sandbox" != compare ] || [ -z "${BENCH_BASE:-}" ] ||
    die "BENCH_SANDBOX=compare uses the base path: not with BENCH_BASE"

# Commits are resolved once, here: the table names what was built even if
# the branch moves during the run.
ref_commit='' base_commit=''
if [ -n "${BENCH_REF:-}" ]; then
	ref_commit=$(git -C "$root" rev-parse --verify --quiet \
	    "$BENCH_REF^{commit}") || die "BENCH_REF=$BENCH_REF: no such commit"
fi
if [ -n "${BENCH_BASE:-}" ]; then
	base_commit=$(git -C "$root" rev-parse --verify --quiet \
	    "$BENCH_BASE^{commit}") ||
	    die "BENCH_BASE=$BENCH_BASE: no such commit"
fi

# ---- processes and cleanup -------------------------------------------------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tgb.XXXXXX")
chmod 700 "$tmp"
tor_pid='' relay_u_pid='' relay_t_pid='' tg_pid='' tgm_pid=''
base_pid='' basem_pid=''

stop() {        # stop PID's process group (started with setsid), then PID
	local pid=$1
	[ -n "$pid" ] || return 0
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	stop "$tg_pid"
	stop "$tgm_pid"
	stop "$base_pid"
	stop "$basem_pid"
	stop "$relay_u_pid"
	stop "$relay_t_pid"
	stop "$tor_pid"
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		say "bench: kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- build -----------------------------------------------------------------

mkdir -p "$out"

# build_commit COMMIT SRC BUILD: export COMMIT into SRC and build torgate
# (release) in BUILD, on the side: nothing in the repository changes.
build_commit() {
	local commit=$1 src=$2 bld=$3
	mkdir "$src"
	git -C "$root" archive --format=tar "$commit" | tar -x -C "$src" ||
	    die "cannot export $commit"
	meson setup "$bld" "$src" -Dbuildtype=release \
	    -Db_ndebug=true -Dtests=false >/dev/null ||
	    die "meson setup failed for $commit"
	ninja -C "$bld" src/torgate >/dev/null ||
	    die "building torgate at $commit failed"
}

if [ -n "$ref_commit" ]; then
	# Measure a commit instead of the work tree.
	say "== building torgate at $BENCH_REF (release) and the load generator"
	build_commit "$ref_commit" "$tmp/src" "$tmp/build"
	torgate=$tmp/build/src/torgate
else
	say "== building torgate (release) and the load generator"
	if [ ! -f "$build/build.ninja" ]; then
		meson setup "$build" "$root" -Dbuildtype=release \
		    -Db_ndebug=true -Dtests=false >/dev/null ||
		    die "meson setup failed"
	fi
	ninja -C "$build" src/torgate >/dev/null ||
	    die "building torgate failed (BENCH_REF=HEAD measures the last commit)"
	torgate=$build/src/torgate
fi
if [ -z "$ref_commit" ] &&
    ninja -C "$build" -t targets all 2>/dev/null | grep -q '^bench/loadgen:'; then
	ninja -C "$build" bench/loadgen >/dev/null || die "building loadgen failed"
	loadgen=$build/bench/loadgen
else
	loadgen=$out/loadgen
	# shellcheck disable=SC2046
	cc -std=gnu11 -O2 -Wall -Wextra -D_GNU_SOURCE -o "$loadgen" \
	    "$here/loadgen.c" $(pkg-config --cflags --libs nettle) ||
	    die "building loadgen failed"
fi
base_torgate='' base_args=()
if [ "$sandbox" = compare ]; then
	base_torgate=$torgate
	base_args=(--no-sandbox)
elif [ -n "$base_commit" ]; then
	say "== building the base, torgate at $BENCH_BASE (release)"
	build_commit "$base_commit" "$tmp/base-src" "$tmp/base-build"
	base_torgate=$tmp/base-build/src/torgate
fi

# ---- tor, the relay, torgate -----------------------------------------------

# Everything here holds up to 10,000 connections per process.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
nofile=$(ulimit -n)

wait_for() {    # wait_for WHAT TEST...
	local what=$1
	shift
	for _ in $(seq 300); do
		"$@" && return 0
		sleep 0.1
	done
	die "$what did not come up (logs in $tmp; BENCH_KEEP=1 keeps them)"
}

tor_tcp=$("$loadgen" freeport)
relay_tcp=$("$loadgen" freeport)
tg_tcp=$("$loadgen" freeport)
tgm_tcp=$("$loadgen" freeport)
base_tcp=$("$loadgen" freeport)
basem_tcp=$("$loadgen" freeport)
mkdir -m 700 "$tmp/tor"
ctl_dir=$tmp/tor ctl_flags='' as_root=0
if [ "$(id -u)" = 0 ]; then
	# torgate's worker (nobody) reaches the socket and the cookie through
	# the directory's group; tor wants a socket outside its own group's
	# directory to be WorldWritable, and the directory keeps others out.
	as_root=1
	ctl_dir=$tmp/ctl ctl_flags=' WorldWritable'
	mkdir "$ctl_dir"
	chgrp "$(id -g nobody)" "$ctl_dir"
	chmod 2750 "$ctl_dir"
	chmod 711 "$tmp"
fi
tor_ctl=$ctl_dir/control
cookie=$ctl_dir/control_auth_cookie
cat > "$tmp/torrc" <<EOF
DataDirectory $tmp/tor
DisableNetwork 1
SocksPort 0
ControlPort unix:$tor_ctl$ctl_flags
ControlPort 127.0.0.1:$tor_tcp
CookieAuthentication 1
CookieAuthFile $cookie
CookieAuthFileGroupReadable $as_root
Log notice file $tmp/tor.log
EOF
say "== starting tor, the relay and torgate"
setsid "${pin[@]}" tor -f "$tmp/torrc" >/dev/null 2>&1 &
tor_pid=$!
wait_for "tor" test -S "$tor_ctl" -a -s "$cookie"
wait_for "tor's control port" "$loadgen" probe --target "unix:$tor_ctl" \
    --auth safecookie --cookie "$cookie" >/dev/null 2>&1
version=$("$loadgen" probe --target "unix:$tor_ctl" --auth safecookie \
    --cookie "$cookie" | sed -n 's/^version=//p')
[ -n "$version" ] || die "cannot read tor's version"

setsid "${pin[@]}" socat -lf /dev/null \
    "UNIX-LISTEN:$tmp/relay.sock,fork,backlog=1024" "UNIX-CONNECT:$tor_ctl" &
relay_u_pid=$!
setsid "${pin[@]}" socat -lf /dev/null \
    "TCP-LISTEN:$relay_tcp,bind=127.0.0.1,reuseaddr,fork,backlog=1024" \
    "UNIX-CONNECT:$tor_ctl" &
relay_t_pid=$!

# The profile: 'version' first (the plain modes match at once), then
# $rules filler rules with replacements and response rewrites, then the rule
# the rewrite modes hit: GETINFO deep/bench/WORD/NUMBER becomes GETINFO
# version, and its reply line is rewritten.
gen_profile() {
	local i=0
	echo "# Generated by bench/run.sh."
	echo "- name: bench"
	echo "  commands:"
	echo "    GETINFO:"
	echo "      - 'version'"
	while [ "$i" -lt "$rules" ]; do
		case $((i % 4)) in
		0)	echo "      - 'status/bench-$i'" ;;
		1)	echo "      - pattern: 'net/bench$i/([a-z]+)'"
			echo "        replacement: 'net/listeners/{}'" ;;
		2)	echo "      - pattern: 'bench-$i/(\\d+)/(\\w+)'"
			echo "        replacement: 'status/{}-{}'"
			echo "        response:"
			echo "          - pattern: '250-status/(.*)'"
			echo "            replacement: '250-status/bench-$i/{}'" ;;
		3)	echo "      - pattern: 'entry-guards/$i(/.*)?'"
			echo "        response:"
			echo "          - pattern: '250-entry-guards=(.*)'"
			echo "            replacement: '250-entry-guards=$i'" ;;
		esac
		i=$((i + 1))
	done
	echo "      - pattern: 'deep/bench/([a-z]+)/(\\d+)'"
	echo "        replacement: 'version'"
	echo "        response:"
	echo "          - pattern: '250-nomatch-(.*)'"
	echo "            replacement: '250-nomatch-{}'"
	echo "          - pattern: '250-version=(.*)'"
	echo "            replacement: '250-version={}+rw'"
	echo "  events:"
	echo "    ADDRMAP:"
}
mkdir "$tmp/profiles"
gen_profile > "$tmp/profiles/bench.yml"
cat > "$tmp/torgate.yml" <<EOF
max-clients: 16384
max-pending-commands: 256
EOF
# The load generator is one user whose idle clients may never
# authenticate: lift the per-user limits where a torgate has them.
cp "$tmp/torgate.yml" "$tmp/torgate-peruser.yml"
printf 'max-clients-per-user: 16384\nauth-timeout: 3600\n' \
    >> "$tmp/torgate-peruser.yml"
# opts_for TORGATE: --user and --no-sandbox as this run and that binary
# call for (a base from before them has neither).
opts_for() {
	local help
	help=$("$1" --help 2>/dev/null || true)
	if [ "$as_root" = 1 ] && grep -q -- --user <<< "$help"; then
		echo "--user nobody"
	fi
	if [ "$sandbox" = off ] && grep -q -- --no-sandbox <<< "$help"; then
		echo "--no-sandbox"
	fi
}
conf_for() {
	if "$1" --help 2>/dev/null | grep -q -- --max-clients-per-user; then
		echo "$tmp/torgate-peruser.yml"
	else
		echo "$tmp/torgate.yml"
	fi
}

fresh_rss=()
start_torgate() {
	rm -f "$tmp/tg.sock"
	# shellcheck disable=SC2046
	setsid "${pin[@]}" "$torgate" -f -t "unix:$tor_ctl" -p "$tmp/profiles" \
	    $(opts_for "$torgate") \
	    -c "$(conf_for "$torgate")" -l "unix:$tmp/tg.sock,profile=bench" \
	    -l "127.0.0.1:$tg_tcp,profile=bench" 2>>"$tmp/torgate.log" &
	tg_pid=$!
	wait_for "torgate" test -S "$tmp/tg.sock"
	sleep 0.2
	fresh_rss+=("$(awk '/^VmRSS:/ { print $2 }' "/proc/$tg_pid/status")")
}
start_torgate
wait_for "the relay" test -S "$tmp/relay.sock"

# The base: the same profile, configuration and tor, its own sockets.
base='' base_fresh_rss=()
start_base() {
	rm -f "$tmp/base.sock"
	# shellcheck disable=SC2046
	setsid "${pin[@]}" "$base_torgate" -f -t "unix:$tor_ctl" \
	    $(opts_for "$base_torgate") ${base_args[@]+"${base_args[@]}"} \
	    -p "$tmp/profiles" -c "$(conf_for "$base_torgate")" \
	    -l "unix:$tmp/base.sock,profile=bench" \
	    -l "127.0.0.1:$base_tcp,profile=bench" 2>>"$tmp/base.log" &
	base_pid=$!
	wait_for "the base torgate" test -S "$tmp/base.sock"
	sleep 0.2
	base_fresh_rss+=("$(awk '/^VmRSS:/ { print $2 }' "/proc/$base_pid/status")")
}
if [ -n "$base_torgate" ]; then
	base=base
	start_base
fi

# A second torgate as its systemd unit runs it: MemoryDenyWriteExecute=yes
# (here PR_SET_MDWE, Linux 6.3+) keeps PCRE2 from JIT-compiling.
mdwe="torgate-mdwe"
if "$loadgen" exec-mdwe true 2>/dev/null; then
	# shellcheck disable=SC2046
	setsid "${pin[@]}" "$loadgen" exec-mdwe "$torgate" -f -t "unix:$tor_ctl" \
	    $(opts_for "$torgate") \
	    -p "$tmp/profiles" -c "$(conf_for "$torgate")" \
	    -l "unix:$tmp/tgm.sock,profile=bench" \
	    -l "127.0.0.1:$tgm_tcp,profile=bench" 2>>"$tmp/torgate-mdwe.log" &
	tgm_pid=$!
	wait_for "torgate (MDWE)" test -S "$tmp/tgm.sock"
else
	say "bench: no PR_SET_MDWE here; skipping torgate without JIT"
	mdwe=''
fi
base_mdwe=''
if [ -n "$base" ] && [ -n "$mdwe" ]; then
	base_mdwe="base-mdwe"
	# shellcheck disable=SC2046
	setsid "${pin[@]}" "$loadgen" exec-mdwe "$base_torgate" -f \
	    $(opts_for "$base_torgate") ${base_args[@]+"${base_args[@]}"} \
	    -t "unix:$tor_ctl" -p "$tmp/profiles" \
	    -c "$(conf_for "$base_torgate")" -l "unix:$tmp/basem.sock,profile=bench" \
	    -l "127.0.0.1:$basem_tcp,profile=bench" 2>>"$tmp/base-mdwe.log" &
	basem_pid=$!
	wait_for "the base torgate (MDWE)" test -S "$tmp/basem.sock"
fi

# addr TARGET TRANSPORT: loadgen's --target and --auth for it.
addr() {
	case $1/$2 in
	direct/unix)	echo "--target unix:$tor_ctl --auth safecookie" ;;
	direct/tcp)	echo "--target 127.0.0.1:$tor_tcp --auth safecookie" ;;
	relay/unix)	echo "--target unix:$tmp/relay.sock --auth safecookie" ;;
	relay/tcp)	echo "--target 127.0.0.1:$relay_tcp --auth safecookie" ;;
	torgate/unix)	echo "--target unix:$tmp/tg.sock --auth null" ;;
	torgate/tcp)	echo "--target 127.0.0.1:$tg_tcp --auth null" ;;
	torgate-mdwe/unix) echo "--target unix:$tmp/tgm.sock --auth null" ;;
	torgate-mdwe/tcp) echo "--target 127.0.0.1:$tgm_tcp --auth null" ;;
	base/unix)	echo "--target unix:$tmp/base.sock --auth null" ;;
	base/tcp)	echo "--target 127.0.0.1:$base_tcp --auth null" ;;
	base-mdwe/unix)	echo "--target unix:$tmp/basem.sock --auth null" ;;
	base-mdwe/tcp)	echo "--target 127.0.0.1:$basem_tcp --auth null" ;;
	esac
}
pid_of() {
	case $1/$2 in
	direct/*)	echo "$tor_pid" ;;
	relay/unix)	echo "$relay_u_pid" ;;
	relay/tcp)	echo "$relay_t_pid" ;;
	torgate/*)	echo "$tg_pid" ;;
	base/*)		echo "$base_pid" ;;
	esac
}

for tr in unix tcp; do
	for t in direct relay $base torgate $base_mdwe $mdwe; do
		# shellcheck disable=SC2046
		v=$("$loadgen" probe $(addr "$t" "$tr") --cookie "$cookie" |
		    sed -n 's/^version=//p')
		[ "$v" = "$version" ] || die "$t over $tr does not answer"
	done
done

results=$out/results.txt
: > "$results"
rw_cmd="GETINFO deep/bench/abcdef/12345"
rw_reply="250-version=$version+rw|250 OK"

# run MODE TARGET TRANSPORT ROUND: one measurement, appended to $results.
run() {
	local mode=$1 t=$2 tr=$3 r=$4 line
	local -a args
	read -ra args <<< "$(addr "$t" "$tr")"
	args+=(--cookie "$cookie" --version "$version")
	set -- --tag "target=$t transport=$tr round=$r"
	case $mode in
	connect)	set -- connect -n "$n_connect" "$@" ;;
	rtt)		set -- rtt -n "$n_rtt" "$@" ;;
	pipeline)	set -- pipeline -n "$n_pipeline" --batch 64 "$@" ;;
	concurrent)	set -- concurrent --clients "$clients" \
			    --per-client "$per_client" "$@" ;;
	rewrite-rtt|rewrite)
		local base=rtt n=$n_rtt
		[ "$mode" = rewrite ] && base=pipeline n=$n_rewrite
		if [ "$t" != direct ] && [ "$t" != relay ]; then
			set -- "$base" -n "$n" --label "$mode" --cmd "$rw_cmd" \
			    --reply "$rw_reply" "$@"
		else    # tor cannot rewrite: the plain command is the baseline
			set -- "$base" -n "$n" --label "$mode" "$@"
		fi ;;
	events)		set -- events -n "$n_events" --batch 64 \
			    --trigger "unix:$tor_ctl" "$@" ;;
	esac
	if ! line=$(timeout 300 "${pin[@]}" "$loadgen" "$@" "${args[@]}" \
	    2>>"$tmp/loadgen.err"); then
		say "bench: $mode $t $tr round $r: loadgen failed (see stderr above)"
		tail -n 3 "$tmp/loadgen.err" >&2 || true
	fi
	[ -n "$line" ] || line="mode=$mode target=$t transport=$tr round=$r failed=1 errors=1 dropped=0"
	printf '%s\n' "$line" >> "$results"
}

say "== tor $version; $rounds rounds of: $modes (over: $transports)"
start=$(date +%s)
for r in $(seq "$rounds"); do
	for mode in $modes; do
		for tr in $transports; do
			targets="direct relay $base torgate"
			case $mode in
			pipeline|rewrite) targets="$targets $base_mdwe $mdwe" ;;
			esac
			for t in $targets; do
				run "$mode" "$t" "$tr" "$r"
			done
		done
	done
	say "   round $r/$rounds done ($(( $(date +%s) - start )) s)"
done

# ---- idle ------------------------------------------------------------------

if [ -n "$idle_sizes" ]; then
	say "== idle clients: $idle_sizes (open files allowed here: $nofile)"
fi
for tr in $transports; do
	for n in $idle_sizes; do
		for t in direct relay $base torgate; do
			extra=''
			if [ "$t" = relay ]; then
				[ "$n" -le "$relay_idle_max" ] || continue
				extra=--tree
			fi
			if [ "$t" = torgate ]; then
				# A fresh torgate: its RSS growth is then all
				# due to these clients.
				stop "$tg_pid"
				tg_pid=''
				start_torgate
			fi
			if [ "$t" = base ]; then
				stop "$base_pid"
				base_pid=''
				start_base
			fi
			# shellcheck disable=SC2046
			line=$(timeout 300 "${pin[@]}" "$loadgen" idle $(addr "$t" "$tr") \
			    --cookie "$cookie" --version "$version" \
			    --clients "$n" --pid "$(pid_of "$t" "$tr")" ${extra:+"$extra"} \
			    --idle-secs "$idle_secs" --timeout-ms 5000 \
			    --open-secs "$open_secs" \
			    --window 64 \
			    --tag "target=$t transport=$tr round=1" \
			    2>>"$tmp/loadgen.err") || true
			[ -n "$line" ] || line="mode=idle target=$t transport=$tr clients=$n failed=1 errors=1 dropped=$n"
			printf '%s\n' "$line" >> "$results"
			say "   idle $n $t $tr done"
		done
	done
done
accept_emfile=$(grep -c 'Too many open files' "$tmp/torgate.log" || true)
if [ -n "$base" ]; then
	base_emfile=$(grep -c 'Too many open files' "$tmp/base.log" || true)
fi

# ---- the table -------------------------------------------------------------

{
	echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), Linux $(uname -r)"
	echo "tor $version; $rounds rounds, interleaved; median of rounds; CPUs: $cpus"
	if [ -n "$ref_commit" ]; then
		echo "torgate: commit $(git -C "$root" rev-parse --short "$ref_commit") (release build)"
	else
		echo "torgate: work tree at $(git -C "$root" describe --always --dirty 2>/dev/null || echo '?') (release build)"
	fi
	if [ "$sandbox" = compare ]; then
		echo "base: the same torgate with --no-sandbox (tg/base: with the seccomp filters over without)"
	elif [ -n "$base" ]; then
		echo "base: torgate at commit $(git -C "$root" rev-parse --short "$base_commit") ($BENCH_BASE, release build)"
	fi
	echo "seccomp filters: $sandbox"
	echo "open files allowed: $nofile; torgate fresh RSS (KiB) at each start: ${fresh_rss[*]}"
	if [ -n "$base" ]; then
		echo "base fresh RSS (KiB) at each start: ${base_fresh_rss[*]}"
	fi
	echo "torgate log lines about 'Too many open files': $accept_emfile"
	if [ -n "$base" ]; then
		echo "base log lines about 'Too many open files': $base_emfile"
	fi
	python3 - "$results" "$n_connect" "$n_rtt" "$n_pipeline" "$clients" \
	    "$per_client" "$n_rewrite" "$n_events" "$rules" "$open_secs" \
	    "${fresh_rss[*]}" "${base_fresh_rss[*]}" <<'PY'
import statistics
import sys

path = sys.argv[1]
(n_connect, n_rtt, n_pipeline, clients, per_client, n_rewrite, n_events,
 rules, open_secs, fresh_rss, base_fresh_rss) = sys.argv[2:]
rows = []
with open(path) as f:
    for line in f:
        d = {}
        for tok in line.split():
            if "=" in tok:
                k, v = tok.split("=", 1)
                d[k] = v
        if "mode" in d:
            rows.append(d)


def num(d, k):
    try:
        return float(d[k])
    except (KeyError, ValueError):
        return None


def cell(mode, tr, t, key):
    vals = [num(d, key) for d in rows if d.get("mode") == mode and
            d.get("transport") == tr and d.get("target") == t]
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def bad(mode, tr, t):
    e = dr = 0
    for d in rows:
        if d.get("mode") == mode and d.get("transport") == tr and \
                d.get("target") == t:
            e += int(float(d.get("errors", 0)))
            dr += int(float(d.get("dropped", 0)))
    return e, dr


def fmt(v):
    if v is None:
        return "-"
    if v >= 1000:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def ratio(a, b, lower_better):
    if a is None or b is None or a == 0 or b == 0:
        return None
    return b / a if lower_better else a / b


# mode, metric key, label, lower is better, targets (vs direct, vs relay),
# the target in the torgate column
metrics = [
    ("connect", "rate", "conn/s", False, 0.5, None, "torgate"),
    ("connect", "p50_us", "p50 us", True, None, None, "torgate"),
    ("connect", "p99_us", "p99 us", True, None, None, "torgate"),
    ("rtt", "rate", "req/s", False, 0.6, 0.95, "torgate"),
    ("rtt", "p50_us", "p50 us", True, None, None, "torgate"),
    ("rtt", "p99_us", "p99 us", True, None, None, "torgate"),
    ("pipeline", "rate", "cmd/s", False, 0.9, None, "torgate"),
    ("pipeline", "rate", "cmd/s MDWE", False, 0.9, None, "torgate-mdwe"),
    ("concurrent", "rate", "cmd/s", False, 0.6, None, "torgate"),
    ("concurrent", "p99_us", "p99 us", True, None, None, "torgate"),
    ("rewrite-rtt", "rate", "req/s", False, None, None, "torgate"),
    ("rewrite", "rate", "cmd/s", False, None, None, "torgate"),
    ("rewrite", "rate", "cmd/s MDWE", False, None, None, "torgate-mdwe"),
    ("events", "rate", "events/s", False, None, None, "torgate"),
    ("events", "lag_p99_us", "lag p99 us", True, None, None, "torgate"),
]
transports = [t for t in ("unix", "tcp")
              if any(d.get("transport") == t for d in rows)]
present = {d.get("mode") for d in rows}
targets = {d.get("target") for d in rows}
has_base = "base" in targets
# the base path measured next to each torgate path
base_of = {"torgate": "base", "torgate-mdwe": "base-mdwe"}

print()
print("Ratios are speed relative to the other path (higher is better; for")
print("latencies the inverse ratio). Counts: connect %s, rtt %s, pipeline %s"
      " (batches of 64)," % (n_connect, n_rtt, n_pipeline))
print("concurrent %s x %s, rewrite %s (rule %s of %s; tor and the relay get"
      " plain GETINFO version)," % (clients, per_client, n_rewrite,
                                    int(rules) + 2, int(rules) + 2))
print("events %s ADDRMAP events (MAPADDRESS pipelined on a direct"
      " connection). MDWE: torgate run as its systemd unit runs it" % n_events)
print("(MemoryDenyWriteExecute: PCRE2 without JIT).")
if has_base:
    print("base: torgate at BENCH_BASE, same profile, configuration and tor"
          " (MDWE rows: base run")
    print("the same way). tg/base > 1: torgate is better than the base"
          " (faster, or lower latency).")
print()
if has_base:
    row_fmt = "%-11s %-4s %-10s %10s %10s %10s %10s %9s %9s %9s %9s  %s"
    hdr = row_fmt % (
        "mode", "via", "metric", "direct", "relay", "base", "torgate",
        "tg/direct", "tg/relay", "rl/direct", "tg/base", "target")
else:
    row_fmt = "%-11s %-4s %-10s %10s %10s %10s %9s %9s %9s  %s"
    hdr = row_fmt % (
        "mode", "via", "metric", "direct", "relay", "torgate", "tg/direct",
        "tg/relay", "rl/direct", "target")
print(hdr)
print("-" * len(hdr))
for mode, key, label, lower, tgt_d, tgt_r, tg in metrics:
    if mode not in present or tg not in targets:
        continue
    for tr in transports:
        v = {t: cell(mode, tr, t, key) for t in ("direct", "relay")}
        v["torgate"] = cell(mode, tr, tg, key)
        v["base"] = cell(mode, tr, base_of[tg], key)
        rd = ratio(v["torgate"], v["direct"], lower)
        rr = ratio(v["torgate"], v["relay"], lower)
        rl = ratio(v["relay"], v["direct"], lower)
        rb = ratio(v["torgate"], v["base"], lower)
        checks = []
        if tgt_d is not None and rd is not None:
            checks.append("%s >=%.2fx direct" %
                          ("ok  " if rd >= tgt_d else "FAIL", tgt_d))
        if tgt_r is not None and rr is not None:
            checks.append("%s >=%.2fx relay" %
                          ("ok  " if rr >= tgt_r else "FAIL", tgt_r))
        marks = []
        for t in ("direct", "relay", base_of[tg], tg):
            e, dr = bad(mode, tr, t)
            if e or dr:
                marks.append("%s: %d errors, %d dropped" % (t, e, dr))
        note = "; ".join(checks + marks)
        if has_base:
            print(row_fmt % (
                mode, tr, label, fmt(v["direct"]), fmt(v["relay"]),
                fmt(v["base"]), fmt(v["torgate"]), fmt(rd), fmt(rr),
                fmt(rl), fmt(rb), note))
        else:
            print(row_fmt % (
                mode, tr, label, fmt(v["direct"]), fmt(v["relay"]),
                fmt(v["torgate"]), fmt(rd), fmt(rr), fmt(rl), note))

# Time added per command (per connection for connect): 1/rate against
# tor directly. With every process on one CPU this is the CPU time the
# proxy costs.
print()
print("time added per command (connect: per connection), in us, against tor"
      " directly:")
for mode in ("connect", "rtt", "pipeline", "concurrent", "events"):
    if mode not in present:
        continue
    for tr in transports:
        di = cell(mode, tr, "direct", "rate")
        parts = []
        for t in ("relay", "base", "torgate", "base-mdwe", "torgate-mdwe"):
            r = cell(mode, tr, t, "rate")
            if r and di:
                parts.append("%s %+.2f" % (t, 1e6 / r - 1e6 / di))
        if parts:
            print("  %-11s %-4s %s" % (mode, tr, ", ".join(parts)))

# Time rewriting adds per command, against torgate's own plain pipeline.
print()
for tg in ("base", "torgate", "base-mdwe", "torgate-mdwe"):
    if "rewrite" not in present or tg not in targets:
        continue
    for tr in transports:
        rw = cell("rewrite", tr, tg, "rate")
        pl = cell("pipeline", tr, tg, "rate")
        di = cell("rewrite", tr, "direct", "rate")
        if rw and pl and di:
            added = 1e6 / rw - 1e6 / pl
            print("rewrite %-4s %-12s adds %.2f us/cmd to its plain pipeline"
                  " (%.2f us/cmd over tor directly)  %s" % (
                      tr, tg, added, 1e6 / rw - 1e6 / di,
                      "ok   < 2 us" if added < 2 else "FAIL < 2 us"))

idle = [d for d in rows if d.get("mode") == "idle"]
if idle:
    print()
    hdr = "%-8s %-4s %7s %7s %8s %9s %8s %10s %10s %6s %6s" % (
        "idle", "via", "clients", "held", "open s", "KiB/clnt", "idle CPU",
        "wake ms", "wake p99", "errors", "drops")
    print(hdr)
    print("-" * len(hdr))
    for d in idle:
        n = int(float(d.get("clients", 0)))
        per = num(d, "per_client_b")
        print("%-8s %-4s %7d %7s %8s %9s %8s %10s %10s %6s %6s  %s" % (
            d.get("target"), d.get("transport"), n, d.get("held", "-"),
            d.get("open_s", "-"),
            "-" if per is None else "%.1f" % (per / 1024),
            d.get("idle_cpu_pct", "-") + "%", d.get("wake_ms", "-"),
            d.get("wake_p99_ms", "-"), d.get("errors", "-"),
            d.get("dropped", "-"),
            " ".join(x for x in (
                "(Pss of the relay and its children)"
                if d.get("mem") == "pss-tree" else "",
                "(%s not tried: opening took over %s s)" % (
                    d["not_tried"], open_secs)
                if int(d.get("not_tried", "0")) > 0 else "",
                "(%s refused)" % d["refused"]
                if int(d.get("refused", "0")) > 0 else "") if x)))

    checks = []
    for who, rss in (("torgate", fresh_rss), ("base", base_fresh_rss)):
        fresh = [int(x) for x in rss.split()]
        if fresh:
            checks.append((who, "%s fresh RSS <= 4 MiB (max %d KiB)" % (
                "ok  " if max(fresh) <= 4096 else "FAIL", max(fresh))))
    for d in idle:
        if d.get("target") not in ("torgate", "base"):
            continue
        what = "%s %s" % (d.get("transport"), d.get("clients"))
        per = num(d, "per_client_b") or 0
        held = d.get("held") == d.get("clients")
        drops = int(float(d.get("dropped", 0))) + \
            int(float(d.get("errors", 0)))
        cpu = num(d, "idle_cpu_pct") or 0
        checks.append((d.get("target"),
                       "%s %s: held %s/%s, %.1f KiB/client (<= 16), idle"
                       " CPU %.2f%% (0), %d dropped or wrong (0)" % (
                           "ok  " if held and per <= 16384 and cpu == 0
                           and drops == 0 else "FAIL", what, d.get("held"),
                           d.get("clients"), per / 1024, cpu, drops)))
    print()
    for who in ("torgate", "base"):
        for w, c in checks:
            if w == who:
                print("%s idle: %s" % (who, c))

te = sum(int(float(d.get("errors", 0))) for d in rows)
td = sum(int(float(d.get("dropped", 0))) for d in rows)
print()
print("all measurements: %d errors, %d dropped" % (te, td))
PY
} > "$out/table.txt"
cat "$out/table.txt"
say "== results: $results"
