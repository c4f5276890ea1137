#!/bin/bash
# lab.sh BUILD_DIR SOURCE_DIR: the figures of docs/lab.md "The resource
# across a network", measured on hosts in network namespaces (root).
#
# Two hosts, as in the lab: the resource host (mockresd, TLS on
# 10.0.0.1:4002, limit 0, hold 500 ms) and one frontend host (fe1: the
# frontend, 2 workers, dialing tls://10.0.0.1:4002), ab on the frontend
# host itself against 127.0.0.1:4000, so only the link between the two
# hosts is delayed.  A delay of DELAY ms (default 20) on the frontend
# host's link: tc netem where the kernel has it, else the wire
# (tests/net/lib.sh says which).  Each figure is the median of RUNS
# (default 3) runs.  Prints a Markdown table: what the formula predicts,
# what was measured.  Not a test: nothing is asserted (tests/net/*-test.sh
# assert the same things with bounds).
set -u -o pipefail
NET_BUILD=$(cd "${1:?usage: lab.sh BUILD_DIR SOURCE_DIR}" && pwd)
NET_SRC=${2:?usage: lab.sh BUILD_DIR SOURCE_DIR}
DELAY=${DELAY:-20}
RUNS=${RUNS:-3}
NET_TEST="lab figures"
NET_DEADLINE=900
. "$NET_SRC/tests/net/lib.sh"
net_require ab openssl
net_require_tls

NET_HOSTS="res fe1 cli"
NET_FRONTENDS=fe1
NET_WIRED=fe1
NET_WORKERS=2
NET_LIMIT=0
hold=500
NET_HOLD_MS=$hold
net_up
net_pki || exit 1
net_mockresd_up || exit 1
net_frontend_up fe1
wait_for 10 net_healthy fe1 || { fail "fe1 not connected"; exit 1; }

local_url=http://127.0.0.1:4000/part1
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# ab on the frontend host; prints "P50 MEAN_MS TOTAL_S RPS NON2XX MAX"
ab_fe() {
	local out=$NET_DIR/ab.last
	net_on fe1 timeout 300 ab "$@" >"$out" 2>&1
	echo "$(ab_pct "$out" 50) $(sed -n 's/^Time per request: *\([0-9.]*\).*(mean)$/\1/p' "$out")" \
	    "$(ab_num "$out" "Time taken for tests") $(ab_num "$out" "Requests per second")" \
	    "$(ab_num "$out" "Non-2xx responses") $(ab_pct "$out" 100)"
}
# fig FIELD ARGS...: the median of RUNS runs of ab ARGS, one field (1..6).
fig() {
	local f=$1 i
	shift
	for i in $(seq "$RUNS"); do ab_fe "$@" | awk -v f="$f" '{ print $f }'; done | median
}
rtt_ms() {
	for _ in 1 2 3 4 5; do
		net_on fe1 curl -s -o /dev/null -m 5 -w '%{time_total}\n' \
		    "http://$(net_addr res):9/" | awk '{ printf "%.2f\n", $1 * 1000 }'
	done | median
}

declare -A m
measure() { # TAG
	m[$1.rtt]=$(rtt_ms)
	m[$1.serial1]=$(fig 1 -n 10 -c 1 "$local_url/serial")
	m[$1.async1]=$(fig 2 -n 200 -c 1 "$local_url/async")
	m[$1.serial50]=$(fig 3 -k -n 500 -c 50 "$local_url/serial")
	m[$1.async50]=$(fig 4 -k -n 3000 -c 50 "$local_url/async")
}
measure base
net_delay fe1 "$DELAY" || exit 1
measure delay
net_delay fe1 0

# ---- a partition: the resource host's link down ------------------------
partition() {
	local t0 t1 code t
	net_on fe1 curl -s -o /dev/null -m 40 -w '%{http_code} %{time_total}\n' \
	    "$local_url/serial" >"$NET_DIR/inflight" 2>&1 &
	local p=$!
	sleep 0.2
	t0=$(now_ms)
	net_link_down res
	unhealthy() { [ "$(net_on fe1 curl -s -o /dev/null -m 2 -w '%{http_code}' http://127.0.0.1:4000/healthz)" = 503 ]; }
	wait_for 10 unhealthy
	m[part.healthz]=$(($(now_ms) - t0))
	wait "$p"
	read -r code t <"$NET_DIR/inflight"
	m[part.inflight]="$code after $(awk -v t="$t" 'BEGIN { printf "%.1f", t - 0.2 }') s"
	net_on fe1 timeout 60 ab -n 1000 -c 50 "$local_url/serial" >"$NET_DIR/ab.part" 2>&1
	m[part.ab]="$(ab_num "$NET_DIR/ab.part" "Non-2xx responses") of 1000 in $(ab_num "$NET_DIR/ab.part" "Time taken for tests") s, slowest $(ab_pct "$NET_DIR/ab.part" 100) ms"
	t1=$(now_ms)
	net_link_up res
	healthy() { [ "$(net_on fe1 curl -s -o /dev/null -m 2 -w '%{http_code}' http://127.0.0.1:4000/healthz)" = 200 ]; }
	wait_for 20 healthy
	m[part.back]=$(($(now_ms) - t1))
}
partition

r0=${m[base.rtt]}
r1=${m[delay.rtt]}
p() { awk "BEGIN { printf \"$1\", $2 }"; }
cat <<EOF

Measured $(date -u +%Y-%m-%d) on $(nproc) cores, $(uname -r); delay by $NET_DELAY_METHOD;
medians of $RUNS runs; hold $hold ms, limit 0, one frontend host (2 workers), ab on it.
Predictions use the measured RTT.

| what | formula | no delay: predicted | measured | delay ${DELAY} ms: predicted | measured |
|---|---|---|---|---|---|
| round trip, frontend host to resource host | RTT | | $r0 ms | $DELAY ms + base | $r1 ms |
| one serial request (\`ab -n 10 -c 1\`, p50) | hold + RTT | $(p %.0f "$hold + $r0") ms | ${m[base.serial1]} ms | $(p %.0f "$hold + $r1") ms | ${m[delay.serial1]} ms |
| one async request (\`ab -n 200 -c 1\`, mean) | RTT (the admission) | $(p %.2f "$r0") ms | ${m[base.async1]} ms | $(p %.1f "$r1") ms | ${m[delay.async1]} ms |
| \`ab -k -n 500 -c 50\` serial, total | (500 / 50 + 1) x (hold + RTT): ab sends its first request alone | $(p %.2f "11 * ($hold + $r0) / 1000") s | ${m[base.serial50]} s | $(p %.2f "11 * ($hold + $r1) / 1000") s | ${m[delay.serial50]} s |
| \`ab -k -n 3000 -c 50\` async, rate | at most 50 / RTT | (not the limit) | ${m[base.async50]} /s | $(p %.0f "50 / ($r1 / 1000)") /s | ${m[delay.async50]} /s |

Partition (the resource host's link down, no delay):

| what | formula | measured |
|---|---|---|
| \`/healthz\` 503 after | silence 1 s, then a ping unanswered 2 s: <= 3 s | ${m[part.healthz]} ms |
| a serial request in flight | 503 at the stall (<= 3 s), not at the 30 s deadline | ${m[part.inflight]} |
| then \`ab -n 1000 -c 50\` serial | 503 at once | ${m[part.ab]} |
| healed: \`/healthz\` 200 after | a reconnect: back-off 10..250 ms + handshake (+ up to 3 s if a connect was under way) | ${m[part.back]} ms |
EOF
exit 0
