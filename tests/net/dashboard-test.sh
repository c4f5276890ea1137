#!/bin/bash
# dashboard-test.sh BUILD_DIR SOURCE_DIR: the dashboard on a frontend host
# (fe1, over TLS as fe1) shows every host's processes: /api/stats lists,
# each with its host and its memory, mockresd on the resource host, the
# master and the worker of each frontend host (the other hosts' figures
# come in the workers' reports, through mockresd) and the dashboard
# itself; /metrics carries the host label; the page itself loads.
# Exit 0 passed, 1 failed, 77 cannot run here.
set -u -o pipefail
NET_BUILD=$(cd "${1:?usage: dashboard-test.sh BUILD_DIR SOURCE_DIR}" && pwd)
NET_SRC=${2:?usage: dashboard-test.sh BUILD_DIR SOURCE_DIR}
NET_TEST="net dashboard on a frontend host"
NET_DEADLINE=90
. "$NET_SRC/tests/net/lib.sh"
net_require haproxy ab openssl
net_require_tls
[ -x "$NET_BUILD/dashboard/mockres-dashboard" ] || net_skip "no mockres-dashboard in $NET_BUILD"

net_up
net_system_up || exit 1
# shellcheck disable=SC2046
net_spawn fe1 dashboard "$NET_BUILD/dashboard/mockres-dashboard" \
    --listen 0.0.0.0:4001 --socket "$(net_tls_url)" $(net_tls_flags fe1)
durl=http://$(net_addr fe1):4001

# Some traffic, so that every worker reports.
net_ab "$NET_DIR/ab.out" -n 300 -c 30 "http://$(net_addr lb):4000/part1/async"

stats() { net_on cli curl -s -m 2 "$durl/api/stats"; }
# "HOST ROLE RSS" per process row.
rows() {
	stats | grep -o '{"pid":[^}]*}' | awk '
		{
			h = "-"; r = "-"; m = 0
			if (match($0, /"host":"[^"]*"/)) h = substr($0, RSTART + 8, RLENGTH - 9)
			if (match($0, /"role":"[^"]*"/)) r = substr($0, RSTART + 8, RLENGTH - 9)
			if (match($0, /"rss_kb":[0-9]+/)) m = substr($0, RSTART + 9, RLENGTH - 9)
			print h, r, m
		}'
}
# Every host's processes are on the page, with memory: mockresd on the
# resource host, a master and its worker on each frontend host.
all_hosts() {
	local r h
	r=$(rows)
	grep -q "^resource mockresd [1-9]" <<<"$r" || return 1
	for h in $NET_FRONTENDS; do
		grep -q "^$(net_hostname "$h") frontend-master [1-9]" <<<"$r" &&
		    grep -q "^$(net_hostname "$h") frontend-worker [1-9]" <<<"$r" ||
		    return 1
	done
}
if wait_for 15 all_hosts; then
	ok "every host's processes, with memory: $(rows | awk '{ print $1 "/" $2 }' | sort | uniq -c | tr -s ' \n' ' ')"
else
	fail "not every host on the page after 15 s: $(rows | tr '\n' ';')"
fi
check "the dashboard's own row is on frontend1" \
    sh -c "echo '$(rows)' | grep -q '^frontend1 dashboard '"
metrics=$(net_on cli curl -s -m 2 "$durl/metrics")
for h in res $NET_FRONTENDS; do
	check "/metrics has host=\"$(net_hostname "$h")\"" \
	    grep -q "host=\"$(net_hostname "$h")\"" <<<"$metrics"
done
check "the page loads from another host" \
    sh -c "[ \"\$(ip netns exec $(net_ns cli) curl -s -o /dev/null -m 2 -w '%{http_code}' '$durl/')\" = 200 ]"
exit 0
