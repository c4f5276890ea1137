#!/bin/bash
# partition-test.sh BUILD_DIR SOURCE_DIR: the resource host cut off (its
# link down: no FIN, no RST, silence), three frontend hosts behind HAProxy.
#   - 15 serial requests in flight when it happens end with 503 within
#     5 s (the frontends' stall deadline: ping after 1 s of silence,
#     stalled 2 s later), none hangs towards the 30 s request deadline;
#   - every frontend's /healthz is 503 within 4 s;
#   - then requests get 503 at once (under 0.5 s), from each frontend and
#     through HAProxy;
#   - healed, every frontend's /healthz is 200 and a request through
#     HAProxy is served within 5 s;
#   - once the holds are over, the accounting invariant holds exactly and
#     every use admitted was completed.
# Exit 0 passed, 1 failed, 77 cannot run here.
set -u -o pipefail
NET_BUILD=$(cd "${1:?usage: partition-test.sh BUILD_DIR SOURCE_DIR}" && pwd)
NET_SRC=${2:?usage: partition-test.sh BUILD_DIR SOURCE_DIR}
NET_TEST="net resource host partitioned"
NET_DEADLINE=120
. "$NET_SRC/tests/net/lib.sh"
net_require haproxy openssl
net_require_tls

# Held 1 s: the 15 requests are all in mockresd when the link goes.
NET_LIMIT=0
NET_HOLD_MS=1000
net_up
net_system_up || exit 1

url_of() { echo "http://$(net_addr "$1"):4000/part1/serial"; }
lb_url="http://$(net_addr lb):4000/part1/serial"
lb_async="http://$(net_addr lb):4000/part1/async"

# 5 serial requests in flight on each frontend.
pids=()
for h in $NET_FRONTENDS; do
	for i in 1 2 3 4 5; do
		net_on cli curl -s -o /dev/null -m 40 \
		    -w '%{http_code} %{time_total}\n' "$(url_of "$h")" \
		    >"$NET_DIR/inflight.$h.$i" 2>&1 &
		pids+=($!)
	done
done
check "15 uses in flight in mockresd" wait_for 3 net_stat_is in_flight 15

t0=$(now_ms)
net_link_down res
net_log "resource host cut off"

# /healthz 503 on every frontend, each within 4 s.
for h in $NET_FRONTENDS; do
	unhealthy() { [ "$(net_healthz "$1")" = 503 ]; }
	if wait_for 6 unhealthy "$h"; then
		dt=$(($(now_ms) - t0))
		check "$h: /healthz 503 after $dt ms (<= 4000)" [ "$dt" -le 4000 ]
	else
		fail "$h: /healthz is $(net_healthz "$h"), not 503, 6 s after the partition"
	fi
done

# The requests that were in flight: 503, none past 5 s.
for p in "${pids[@]}"; do wait "$p"; done
for h in $NET_FRONTENDS; do
	for i in 1 2 3 4 5; do
		read -r code t <"$NET_DIR/inflight.$h.$i"
		check "$h: in-flight request $i ended $code after ${t}s (503, <= 5 s)" \
		    sh -c "[ '$code' = 503 ] && awk -v t='$t' 'BEGIN { exit !(t <= 5.0) }'"
	done
done

# Now each answers at once.
fast_503() {
	local out code t
	out=$(net_on cli curl -s -o /dev/null -m 10 -w '%{http_code} %{time_total}' "$1")
	code=${out% *}
	t=${out#* }
	check "$2: 503 at once ($code in ${t}s, <= 0.5 s)" \
	    sh -c "[ '$code' = 503 ] && awk -v t='$t' 'BEGIN { exit !(t <= 0.5) }'"
}
for h in $NET_FRONTENDS; do
	fast_503 "$(url_of "$h")" "$h /part1/serial"
	fast_503 "http://$(net_addr "$h"):4000/part1/async" "$h /part1/async"
done
fast_503 "$lb_url" "HAProxy /part1/serial"
all_down() {
	local h
	for h in $NET_FRONTENDS; do
		[ "$(net_haproxy_status "$h")" = DOWN ] || return 1
	done
}
check "HAProxy has every frontend DOWN" wait_for 3 all_down

# Heal: service back within 5 s.
t1=$(now_ms)
net_link_up res
net_log "resource host back"
for h in $NET_FRONTENDS; do
	if wait_for 8 net_healthy "$h"; then
		dt=$(($(now_ms) - t1))
		check "$h: /healthz 200 again after $dt ms (<= 5000)" [ "$dt" -le 5000 ]
	else
		fail "$h: /healthz $(net_healthz "$h") 8 s after healing"
	fi
done
served() {
	[ "$(net_on cli curl -s -o /dev/null -m 2 -w '%{http_code}' "$lb_async")" = 200 ]
}
if wait_for 10 served; then
	dt=$(($(now_ms) - t1))
	check "through HAProxy: a request served $dt ms after healing (<= 5000)" \
	    [ "$dt" -le 5000 ]
else
	fail "through HAProxy: nothing served 10 s after healing"
fi

check "mockresd: every hold over" wait_for 5 net_stat_is in_flight 0
check "the accounting invariant: $(net_invariant)" net_invariant_holds
check "every use admitted was completed ($(net_stat admitted) = $(net_stat completed))" \
    [ "$(net_stat admitted)" = "$(net_stat completed)" ]
exit 0
