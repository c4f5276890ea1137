#!/usr/bin/env bash
# tests/prometheus/scrape.sh: the dashboard's /metrics against the real
# Prometheus tools (Debian's prometheus package).
#
# Starts mockresd, mockres-frontend and mockres-dashboard on a temporary
# socket and free ports; `promtool check metrics` must pass on /metrics
# in every state (mockresd away, idle, after traffic, after rejections);
# then a real Prometheus server (free port, temporary config and data dir)
# scrapes the dashboard, and its HTTP query API must give exactly the
# requests the test sent: mockres_http_requests_total by route and code,
# and mockres_admitted_total.
#
# usage: scrape.sh MOCKRESD FRONTEND DASHBOARD MOCKRESCTL
# Exit 0 pass, 1 fail, 77 skipped (no promtool, prometheus, curl or python3).
set -u -o pipefail

mockresd=$1 frontend=$2 dashboard=$3 mockresctl=$4
for t in promtool prometheus curl python3; do
	command -v $t >/dev/null || { echo "SKIP: $t not found (apt-get install prometheus curl python3)"; exit 77; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mockres-prom.XXXXXX")
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	for f in "$tmp"/*.log; do echo "--- $f"; tail -20 "$f"; done
	exit 1
}
ok() { echo "ok - $*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
until_ok() { # until_ok WHAT SECONDS CMD...
	local what=$1 secs=$2 i; shift 2
	for i in $(seq $((secs * 20))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	fail "timed out after ${secs}s waiting for $what"
}
spawn() { local n=$1; shift; "$@" >"$tmp/$n.log" 2>&1 & pids+=($!); }

sock=$tmp/mockresd.sock
fport=$(free_port) dport=$(free_port) pport=$(free_port)
metrics=http://127.0.0.1:$dport/metrics

metrics_has() { curl -sf "$metrics" | grep -qF "$1"; }

check_metrics() { # check_metrics STATE
	curl -sf "$metrics" >"$tmp/metrics.$1" || fail "GET /metrics ($1)"
	promtool check metrics <"$tmp/metrics.$1" >"$tmp/promtool.$1" 2>&1 ||
		fail "promtool check metrics ($1): $(cat "$tmp/promtool.$1")"
	ok "promtool check metrics passes on /metrics ($1)"
}

# The dashboard alone: mockresd away.
spawn dashboard "$dashboard" --socket "$sock" --listen 127.0.0.1:$dport
until_ok "the dashboard" 10 curl -sf "$metrics"
check_metrics "mockresd away"

spawn mockresd "$mockresd" --socket "$sock" --limit 0 --hold-ms 50
until_ok "mockresd" 10 "$mockresctl" --socket "$sock" status
spawn frontend "$frontend" --socket "$sock" --listen 127.0.0.1:$fport --workers 2
until_ok "the frontend" 10 curl -sf http://127.0.0.1:$fport/healthz
until_ok "the workers' reports" 10 metrics_has 'mockres_http_reporters 2'
check_metrics "idle"

# Exactly: 37 serial, 25 async and 3 unknown paths; then hard mode.
for i in $(seq 37); do curl -sf -o /dev/null http://127.0.0.1:$fport/part1/serial || fail "serial $i"; done
for i in $(seq 25); do curl -sf -o /dev/null http://127.0.0.1:$fport/part1/async || fail "async $i"; done
for i in $(seq 3); do curl -s -o /dev/null http://127.0.0.1:$fport/nowhere; done
until_ok "the last 50 ms holds" 5 metrics_has 'mockres_in_flight 0'
"$mockresctl" --socket "$sock" limit 1 >/dev/null
"$mockresctl" --socket "$sock" hold 3000 >/dev/null
curl -sf -o /dev/null http://127.0.0.1:$fport/part1/async || fail "the async use that fills the limit"
for i in $(seq 4); do curl -s -o /dev/null http://127.0.0.1:$fport/part1/async; done
want_admitted=$((37 + 25 + 1))
until_ok "the counts on /metrics" 10 metrics_has 'mockres_http_requests_total{route="async",code="500"} 4'
check_metrics "after traffic and rejections"

# A real Prometheus server scrapes it.
mkdir -p "$tmp/prom-data"
cat >"$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: mockres
    static_configs:
      - targets: ['127.0.0.1:$dport']
EOF
promtool check config "$tmp/prometheus.yml" >/dev/null || fail "promtool check config"
spawn prometheus prometheus --config.file="$tmp/prometheus.yml" \
    --storage.tsdb.path="$tmp/prom-data" \
    --web.listen-address=127.0.0.1:$pport --log.level=warn
api=http://127.0.0.1:$pport/api/v1/query
until_ok "Prometheus" 30 curl -sf http://127.0.0.1:$pport/-/ready

query() { # query PROMQL: prints the single value, or nothing
	curl -sf --get "$api" --data-urlencode "query=$1" | python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if len(r) == 1 else "")'
}
expect() { # expect PROMQL VALUE
	local v i
	for i in $(seq 200); do
		v=$(query "$1")
		[ "$v" = "$2" ] && { ok "Prometheus: $1 = $2"; return; }
		sleep 0.1
	done
	fail "Prometheus: $1 is '$v', not $2"
}
expect 'mockres_http_requests_total{route="serial",code="200"}' 37
expect 'mockres_http_requests_total{route="async",code="200"}' 26
expect 'mockres_http_requests_total{route="async",code="500"}' 4
expect 'mockres_http_requests_total{route="other",code="404"}' 3
expect 'mockres_admitted_total' $want_admitted
expect 'mockres_rejected_total' 4
expect 'mockres_http_request_duration_seconds_count{route="serial"}' 37
expect 'mockres_http_request_duration_seconds_bucket{route="serial",le="0.025"}' 0
expect 'mockres_http_request_duration_seconds_bucket{route="serial",le="+Inf"}' 37
expect 'up{job="mockres"}' 1
"$mockresctl" --socket "$sock" hold 50 >/dev/null
echo "all passed"
