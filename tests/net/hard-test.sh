#!/bin/bash
# hard-test.sh BUILD_DIR SOURCE_DIR: hard mode across hosts.  One
# mockresd with a limit of 15, three frontend hosts behind HAProxy:
#   ab -n 3000 -c 50 http://HAPROXY:4000/part1/serial
# The limit is one limit: mockresd's peak is at most 15 whichever host a
# request came through; ab's non-2xx equals mockresd's rejected exactly,
# and its 2xx equals admitted (3000 in all); every answer that was not 2xx
# was the limit's 500 (HAProxy's counts).
# Exit 0 passed, 1 failed, 77 cannot run here.
set -u -o pipefail
NET_BUILD=$(cd "${1:?usage: hard-test.sh BUILD_DIR SOURCE_DIR}" && pwd)
NET_SRC=${2:?usage: hard-test.sh BUILD_DIR SOURCE_DIR}
NET_TEST="net hard mode across hosts"
NET_DEADLINE=120
. "$NET_SRC/tests/net/lib.sh"
net_require haproxy ab openssl
net_require_tls

NET_LIMIT=15
net_up
net_system_up || exit 1

out=$NET_DIR/ab.out
net_ab "$out" -n 3000 -c 50 "http://$(net_addr lb):4000/part1/serial"
complete=$(ab_num "$out" "Complete requests")
non2xx=$(ab_num "$out" "Non-2xx responses")
net_log "ab: $complete complete in $(ab_num "$out" "Time taken for tests") s," \
    "$non2xx non-2xx"
check "ab: 3000 complete" [ "$complete" = 3000 ]

# Every use has ended (the last holds) before the counts are read.
check "mockresd: nothing in flight at the end" \
    wait_for 5 net_stat_is in_flight 0
peak=$(net_stat peak)
rejected=$(net_stat rejected)
admitted=$(net_stat admitted)
check "mockresd's peak $peak <= 15" [ -n "$peak" ] && [ "$peak" -le 15 ] &&
    [ "$peak" -gt 0 ]
check "ab's non-2xx $non2xx = mockresd's rejected $rejected" \
    [ "$non2xx" = "$rejected" ]
check "ab's 2xx $((complete - non2xx)) = mockresd's admitted $admitted" \
    [ $((complete - non2xx)) = "$admitted" ]
check "some were shed ($rejected) and some served ($admitted)" \
    [ "$rejected" -gt 0 ] && [ "$admitted" -gt 0 ]
h5=0
other=0
for h in $NET_FRONTENDS; do
	h5=$((h5 + $(net_haproxy_field "$h" hrsp_5xx)))
	for c in hrsp_1xx hrsp_3xx hrsp_4xx hrsp_other; do
		other=$((other + $(net_haproxy_field "$h" "$c")))
	done
done
check "HAProxy: the frontends' 5xx ($h5) are the rejected, nothing else ($other)" \
    [ "$h5" = "$rejected" ] && [ "$other" = 0 ]
check "the accounting invariant: $(net_invariant)" net_invariant_holds
exit 0
