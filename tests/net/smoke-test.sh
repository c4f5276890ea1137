#!/bin/bash
# smoke-test.sh BUILD_DIR SOURCE_DIR: the harness itself (tests/net/lib.sh).
#   - the six hosts come up, each with its address and host name, and
#     reach each other over the bridge; the machine's own namespace gets
#     no interface;
#   - HAProxy runs deploy/haproxy.cfg; with three frontends that have no
#     mockresd, its checks (GET /healthz, 503) mark all three DOWN and it
#     answers 503 itself;
#   - a link taken down drops silently (a connect times out) and comes
#     back; a delay of 20 ms on a host's link (netem, or the wire) makes
#     a TCP connect from it take 20 ms more, and 0 takes it away;
#   - teardown: after a run that passes, one that fails half-way and one
#     killed with SIGKILL (whose namespaces the next run removes), no
#     namespace and no process of the run is left.
# Exit 0 passed, 1 failed, 77 cannot run here (not root, no netns, no
# haproxy).
set -u -o pipefail
NET_BUILD=${1:?usage: smoke-test.sh BUILD_DIR SOURCE_DIR}
NET_SRC=${2:?usage: smoke-test.sh BUILD_DIR SOURCE_DIR}
NET_BUILD=$(cd "$NET_BUILD" && pwd)
NET_TEST="net smoke test"
NET_DEADLINE=100
. "$NET_SRC/tests/net/lib.sh"

# ---- the inner run: hosts up, checks, and out by the requested way --------
inner() {
	local h a code t base delayed
	NET_WIRED=cli
	net_up
	echo "$NET_ID" >"$NET_SMOKE_ID_FILE"

	for h in $NET_HOSTS; do
		a=$(net_on "$h" ip -4 -o addr show dev eth0 | awk '{ print $4 }')
		check "$h has $(net_addr "$h")/24 ($a)" [ "$a" = "$(net_addr "$h")/24" ]
		check "$h is called $(net_hostname "$h")" \
		    [ "$(net_on "$h" hostname)" = "$(net_hostname "$h")" ]
	done

	if [ "${NET_SMOKE_MODE:-}" = kill ]; then
		# The outer run kills this shell with SIGKILL now.
		echo up >"$NET_SMOKE_ID_FILE.up"
		exec sleep 60
	fi
	if [ "${NET_SMOKE_MODE:-}" = fail ]; then
		net_spawn fe1 sleeper sleep 60
		echo "$NET_PID" >"$NET_SMOKE_ID_FILE.sleeper"
		fail "failing on purpose, half-way (the teardown must still run)"
		exit 1
	fi

	# Frontends without a mockresd: /healthz is 503, from any host.
	for h in fe1 fe2 fe3; do
		net_spawn "$h" "frontend-$h" "$NET_BUILD/frontend/mockres-frontend" \
		    --listen 0.0.0.0:4000 --workers 1 \
		    --socket "$NET_DIR/no-mockresd.sock"
	done
	code() {
		net_on cli curl -s -o /dev/null -m 2 -w '%{http_code}' \
		    "http://$(net_addr "$1"):4000/healthz"
	}
	is_503() { [ "$(code "$1")" = 503 ]; }
	for h in fe1 fe2 fe3; do
		check "client reaches $h: /healthz 503 (no mockresd)" \
		    wait_for 10 is_503 "$h"
	done

	net_haproxy_up || return
	all_down() {
		for h in fe1 fe2 fe3; do
			[ "$(net_haproxy_status "$h")" = DOWN ] || return 1
		done
	}
	check "HAProxy marks fe1..fe3 DOWN on their 503 /healthz" \
	    wait_for 10 all_down
	code=$(net_on cli curl -s -o /dev/null -m 5 -w '%{http_code}' \
	    "http://$(net_addr lb):4000/part1/serial")
	check "HAProxy answers 503 with no frontend up ($code)" [ "$code" = 503 ]

	# A link down drops silently: the connect times out (000), no RST.
	net_link_down fe2
	code=$(net_on cli curl -s -o /dev/null -m 1 -w '%{http_code}' \
	    "http://$(net_addr fe2):4000/healthz")
	check "fe2's link down: nothing comes back ($code)" [ "$code" = 000 ]
	net_link_up fe2
	check "fe2's link up again: /healthz answers" wait_for 5 is_503 fe2

	# A delay on the client's link: a connect (SYN out, SYN-ACK back)
	# takes it once.
	connect_ms() {
		net_on cli curl -s -o /dev/null -m 5 -w '%{time_connect}\n' \
		    "http://$(net_addr fe1):4000/healthz" |
		    awk '{ printf "%d\n", $1 * 1000 }'
	}
	median3() { for t in 1 2 3; do connect_ms; done | sort -n | sed -n 2p; }
	base=$(median3)
	net_delay cli 20 || fail "net_delay cli 20"
	delayed=$(median3)
	check "delay 20 ms ($NET_DELAY_METHOD): connect $base ms -> $delayed ms" \
	    [ "$delayed" -ge 20 ] && [ "$delayed" -le $((base + 30)) ]
	net_delay cli 0 || fail "net_delay cli 0"
	delayed=$(median3)
	check "delay 0: connect $delayed ms again" [ "$delayed" -lt 10 ]
}

if [ "${1:-}" = --inner ] || [ "${NET_SMOKE_INNER:-}" = 1 ]; then
	net_require haproxy
	inner
	exit 0
fi

# ---- the outer run: three inner runs, and what each leaves ----------------
net_require haproxy
links_before=$(ip -o link | wc -l)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
left() { ip netns list | awk '{ print $1 }' | grep "^$1-"; }
procs_in() {
	local ns
	for ns in $(left "$1"); do ip netns pids "$ns"; done
}

run_inner() {
	NET_SMOKE_INNER=1 NET_SMOKE_MODE=$1 NET_SMOKE_ID_FILE=$tmp/id.$1 \
	    "$0" "$NET_BUILD" "$NET_SRC" >"$tmp/out.$1" 2>&1
}

run_inner pass
rc=$?
sed 's/^/  pass | /' "$tmp/out.pass"
id=$(cat "$tmp/id.pass" 2>/dev/null)
check "a passing run exits 0 ($rc)" [ "$rc" = 0 ]
check "it leaves no namespace" [ -n "$id" ] && [ -z "$(left "$id")" ]

run_inner fail
rc=$?
sed 's/^/  fail | /' "$tmp/out.fail" | grep -v '^  fail | ok'
id=$(cat "$tmp/id.fail" 2>/dev/null)
check "a run that fails half-way exits 1 ($rc)" [ "$rc" = 1 ]
check "it leaves no namespace" [ -n "$id" ] && [ -z "$(left "$id")" ]
# Its logs are kept for a look: not wanted from a failure on purpose.
[ -n "$id" ] && rm -rf "${TMPDIR:-/tmp}/$id".*
sleeper=$(cat "$tmp/id.fail.sleeper" 2>/dev/null)
check "it leaves no process (its sleep 60 on fe1, pid $sleeper, is gone)" \
    [ -n "$sleeper" ] && ! kill -0 "$sleeper" 2>/dev/null

NET_SMOKE_INNER=1 NET_SMOKE_MODE=kill NET_SMOKE_ID_FILE=$tmp/id.kill \
    "$0" "$NET_BUILD" "$NET_SRC" >"$tmp/out.kill" 2>&1 &
kpid=$!
wait_for 30 test -f "$tmp/id.kill.up"
id=$(cat "$tmp/id.kill" 2>/dev/null)
kill -KILL "$kpid" 2>/dev/null
wait "$kpid" 2>/dev/null
check "a run killed with SIGKILL leaves its namespaces ($(left "$id" | wc -l))" \
    [ -n "$id" ] && [ -n "$(left "$id")" ]
# Its watchdog (a subshell) may outlive it: its namespace holds nothing.
net_reap_stale >/dev/null
check "the next run's start removes them" [ -z "$(left "$id")" ]
check "the machine's namespace has as many links as before" \
    [ "$(ip -o link | wc -l)" = "$links_before" ]

echo "$NET_TEST: $passed passed, $failed failed"
[ "$failed" = 0 ]
