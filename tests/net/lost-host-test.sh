#!/bin/bash
# lost-host-test.sh BUILD_DIR SOURCE_DIR: a frontend host lost under load.
# While ab -k -n 600 -c 30 runs serial through HAProxy (limit 0), every
# process of fe2 gets SIGKILL:
#   - HAProxy marks fe2 DOWN within its check interval (a refused check:
#     inter 1 s + fastinter 250 ms; bound 2 s) and sends it nothing after;
#   - fe1 and fe3 go on serving: ab completes, and the only requests
#     not answered 200 (HAProxy's count) are those fe2 held when it died
#     (at most what it could hold: 30; ab sees them fail);
#   - mockresd forgets fe2's connections, ends the holds fe2 had started
#     (a client that leaves does not shorten them), and its counts stay
#     exact: the accounting invariant, admitted = completed, and admitted
#     = the 200s + the uses fe2 took with it (0..the lost requests).
# Exit 0 passed, 1 failed, 77 cannot run here.
set -u -o pipefail
NET_BUILD=$(cd "${1:?usage: lost-host-test.sh BUILD_DIR SOURCE_DIR}" && pwd)
NET_SRC=${2:?usage: lost-host-test.sh BUILD_DIR SOURCE_DIR}
NET_TEST="net frontend host lost"
NET_DEADLINE=120
. "$NET_SRC/tests/net/lib.sh"
net_require haproxy ab openssl
net_require_tls

NET_LIMIT=0
net_up
net_system_up || exit 1

out=$NET_DIR/ab.out
net_ab "$out" -k -n 600 -c 30 "http://$(net_addr lb):4000/part1/serial" &
ab_pid=$!
sleep 3
before1=$(net_haproxy_field fe1 hrsp_2xx)
before3=$(net_haproxy_field fe3 hrsp_2xx)
t0=$(now_ms)
net_kill_host fe2 KILL
net_log "every process of fe2 killed"

fe2_down() { [ "$(net_haproxy_status fe2)" = DOWN ]; }
if wait_for 5 fe2_down; then
	dt=$(($(now_ms) - t0))
	check "HAProxy: fe2 DOWN after $dt ms (<= 2000)" [ "$dt" -le 2000 ]
else
	fail "HAProxy: fe2 is '$(net_haproxy_status fe2)' 5 s after it died"
fi
stot_down=$(net_haproxy_field fe2 stot)
no_fe2() {
	! net_admitted_by_host | grep -q "^$(net_hostname fe2) "
}
check "mockresd: fe2's connections are gone" wait_for 3 no_fe2

wait "$ab_pid"
complete=$(ab_num "$out" "Complete requests")
failed_n=$(ab_num "$out" "Failed requests")
non2xx=$(ab_num "$out" "Non-2xx responses")
ok200=0
for h in $NET_FRONTENDS; do
	ok200=$((ok200 + $(net_haproxy_field "$h" hrsp_2xx)))
done
lost=$((complete - ok200))
net_log "ab: $complete complete in $(ab_num "$out" "Time taken for tests") s," \
    "$failed_n failed, $non2xx non-2xx; HAProxy: $ok200 answered 200"
check "ab: 600 complete" [ "$complete" = 600 ]
check "lost answers: $lost (the requests fe2 held; <= 30), as ab saw them" \
    [ "$lost" -le 30 ] && [ "$lost" -ge "$non2xx" ] && [ "$lost" -ge "$failed_n" ]
check "HAProxy sent fe2 nothing after DOWN (stot $stot_down -> $(net_haproxy_field fe2 stot))" \
    [ "$(net_haproxy_field fe2 stot)" = "$stot_down" ]
after1=$(net_haproxy_field fe1 hrsp_2xx)
after3=$(net_haproxy_field fe3 hrsp_2xx)
check "fe1 and fe3 served on (fe1 $before1 -> $after1, fe3 $before3 -> $after3)" \
    [ "$after1" -gt "$before1" ] && [ "$after3" -gt "$before3" ]

check "mockresd: every hold over" wait_for 5 net_stat_is in_flight 0
admitted=$(net_stat admitted)
check "the accounting invariant: $(net_invariant)" net_invariant_holds
check "admitted = completed ($admitted = $(net_stat completed))" \
    [ "$admitted" = "$(net_stat completed)" ]
check "admitted $admitted = the 200s $ok200 + $((admitted - ok200)) uses fe2 took with it (<= $lost lost)" \
    [ "$admitted" -ge "$ok200" ] && [ $((admitted - ok200)) -le "$lost" ]
exit 0
