#!/bin/bash
# serial-test.sh BUILD_DIR SOURCE_DIR: serial through HAProxy, three
# frontend hosts, one mockresd over TLS (limit 0, hold 500 ms):
#   ab -k -n 3000 -c 50 http://HAPROXY:4000/part1/serial
# takes about 30.5 s (3000 / 50 x 0.5 s; bounds 30..36 s), with 0
# failed and no non-2xx; mockresd admitted exactly 3000; every frontend
# host served part of it, by HAProxy's counts (hrsp_2xx per server, 3000
# in all) and by mockresd's (its clients' admitted, per host).
# Exit 0 passed, 1 failed, 77 cannot run here.
set -u -o pipefail
NET_BUILD=$(cd "${1:?usage: serial-test.sh BUILD_DIR SOURCE_DIR}" && pwd)
NET_SRC=${2:?usage: serial-test.sh BUILD_DIR SOURCE_DIR}
NET_TEST="net serial through HAProxy"
NET_DEADLINE=150
. "$NET_SRC/tests/net/lib.sh"
net_require haproxy ab openssl
net_require_tls

NET_LIMIT=0
net_up
net_system_up || exit 1

out=$NET_DIR/ab.out
net_ab "$out" -k -n 3000 -c 50 "http://$(net_addr lb):4000/part1/serial"
took=$(ab_num "$out" "Time taken for tests")
complete=$(ab_num "$out" "Complete requests")
failed_n=$(ab_num "$out" "Failed requests")
non2xx=$(ab_num "$out" "Non-2xx responses")
net_log "ab: $complete complete in $took s, $failed_n failed, $non2xx non-2xx," \
    "p50 $(ab_pct "$out" 50) ms, p99 $(ab_pct "$out" 99) ms"
check "3000 complete, 0 failed, 0 non-2xx" \
    [ "$complete" = 3000 ] && [ "$failed_n" = 0 ] && [ "$non2xx" = 0 ]
check "about 30.5 s: $took s (3000 / 50 x 0.5 s = 30 s at least; <= 36 s)" \
    awk -v t="$took" 'BEGIN { exit !(t >= 30.0 && t <= 36.0) }'

admitted=$(net_stat admitted)
check "mockresd admitted what ab sent: $admitted" [ "$admitted" = 3000 ]

total=0
for h in $NET_FRONTENDS; do
	n=$(net_haproxy_field "$h" hrsp_2xx)
	total=$((total + ${n:-0}))
	check "HAProxy: $h answered ${n:-0} with 2xx (part of it)" [ "${n:-0}" -gt 0 ]
done
check "HAProxy: $total 2xx from the frontends in all" [ "$total" = 3000 ]

by_host=$(net_admitted_by_host)
net_log "mockresd's admitted per host: $(echo "$by_host" | paste -sd' ')"
sum=0
for h in $NET_FRONTENDS; do
	name=$(net_hostname "$h")
	n=$(awk -v h="$name" '$1 == h { print $2 }' <<<"$by_host")
	sum=$((sum + ${n:-0}))
	check "mockresd: $name's connections admitted ${n:-0} (part of it)" \
	    [ "${n:-0}" -gt 0 ]
done
check "mockresd: the frontend hosts' uses add up to $sum" [ "$sum" = 3000 ]
check "the accounting invariant: $(net_invariant)" net_invariant_holds
exit 0
