#!/bin/bash
# lab-figures.sh LAB_MD MOCKRESD FRONTEND DASHBOARD
#
# docs/lab.md's figures, checked: every row of the "what you should see"
# tables in its sections 1-3 names a command, a figure of its output and
# the range this machine gives (with why it spreads).  This script checks
# that each command also appears in the section's text, then runs it
# against a fresh mockresd (no limit), mockres-frontend (2 workers) and
# mockres-dashboard on a temporary socket and free ports (127.0.0.1:4000
# and :4001 in the command become those), and checks that the figure falls
# in the range.  A row whose "why" says "the test runs the -n 300 row" is
# the same command at full scale (30 s): it is checked through that row.
#
# Figures: "time_total" (curl -w, s), ab's "Time taken" (s), "Requests
# per second", "Complete requests", "Failed requests", "50%", "99%",
# "100%" (ms), and the dashboard's run "peak in flight".
# Exit 0 pass, 1 fail, 77 skipped (no ab or curl).
set -uo pipefail
lab=$1 mockresd=$2 frontend=$3 dashboard=$4
for t in ab curl; do
	command -v $t >/dev/null || { echo "SKIP: no $t"; exit 77; }
done
tmp=$(mktemp -d /tmp/mockres-labfig.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
# A free port below the kernel's ephemeral range (32768 up), so that no
# client connection takes it meanwhile; start() retries on another one if
# the program could not listen anyway.
port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 12000))
		ss -Htan "( sport = :$p )" 2>/dev/null | grep -q . || { echo $p; return; }
	done
}
# start NAME BIN ARGS... (with @PORT@ in ARGS): the pid in $started, the
# port in $started_port.
start() {
	local name=$1 bin=$2 try p
	shift 2
	for try in 1 2 3 4 5; do
		p=$(port)
		"$bin" "${@//@PORT@/$p}" 2>"$tmp/$name.log" &
		started=$!
		sleep 0.3
		if kill -0 $started 2>/dev/null; then
			pids+=($started)
			started_port=$p
			return 0
		fi
	done
	echo "FAIL: $name could not start: $(cat "$tmp/$name.log")"
	exit 1
}
fail=0
ok() { echo "ok - $*"; }
bad() { echo "FAIL: $*"; fail=1; }

# The rows: sections 1-3 only (up to "## 4.").
awk '/^## 1\./{on=1} /^## 4\./{on=0} on' "$lab" > "$tmp/s13.md"
grep -E '^\| `(curl|ab) ' "$tmp/s13.md" > "$tmp/rows" || true
[ -s "$tmp/rows" ] || { echo "FAIL: no figure rows in sections 1-3 of $lab"; exit 1; }

sock=$tmp/mockresd.sock
"$mockresd" --socket "$sock" --limit 0 2>"$tmp/mockresd.log" & pids+=($!)
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
start frontend "$frontend" --socket "$sock" --listen 127.0.0.1:@PORT@ --workers 2
fp=$started_port
start dashboard "$dashboard" --socket "$sock" --listen 127.0.0.1:@PORT@
dp=$started_port
for _ in $(seq 200); do
	curl -sf "http://127.0.0.1:$fp/healthz" >/dev/null &&
		curl -sf "http://127.0.0.1:$dp/api/stats" | grep -q '"reporters":2' && break
	sleep 0.05
done
sleep 2.5 # that /healthz is not in the first run

# The value of FIGURE in the output OUT of a command.
figure() {
	local fig=$1 out=$2
	case "$fig" in
	time_total) head -n 1 "$out" ;;
	"Time taken") sed -n 's/^Time taken for tests: *\([0-9.]*\).*/\1/p' "$out" ;;
	"Requests per second") sed -n 's/^Requests per second: *\([0-9.]*\).*/\1/p' "$out" ;;
	"Complete requests") sed -n 's/^Complete requests: *\([0-9]*\).*/\1/p' "$out" ;;
	"Failed requests") sed -n 's/^Failed requests: *\([0-9]*\).*/\1/p' "$out" ;;
	50% | 99% | 100%) sed -n "s/^ *$fig *\([0-9]*\).*/\1/p" "$out" ;;
	"peak in flight")
		for _ in $(seq 60); do
			curl -s "http://127.0.0.1:$dp/api/runs" >"$tmp/runs.json"
			grep -q '^{"current":null' "$tmp/runs.json" && break
			sleep 0.2
		done
		sed -n 's/.*"runs":\[{[^[]*"peak_in_flight":\([0-9]*\).*/\1/p' "$tmp/runs.json" ;;
	*) echo "" ;;
	esac
}

declare -A done_out
n=0
while IFS= read -r row; do
	# | `command` | figure | A–B unit | why |
	cmd=$(sed -n 's/^| `\([^`]*\)` |.*/\1/p' <<<"$row")
	fig=$(awk -F'|' '{ gsub(/^ +| +$/, "", $3); print $3 }' <<<"$row")
	range=$(awk -F'|' '{ gsub(/^ +| +$/, "", $4); print $4 }' <<<"$row")
	why=$(awk -F'|' '{ print $5 }' <<<"$row")
	lo=$(sed -n 's/^\([0-9.]*\)–.*/\1/p' <<<"$range")
	hi=$(sed -n 's/^[0-9.]*–\([0-9.]*\).*/\1/p' <<<"$range")
	if [ -z "$cmd" ] || [ -z "$lo" ] || [ -z "$hi" ]; then
		bad "cannot read the row: $row"
		continue
	fi
	grep -qF -- "$cmd" <(grep -v '^|' "$tmp/s13.md") ||
		bad "\`$cmd\` is in a table but not in the text of sections 1-3"
	if grep -q "the test runs the -n 300 row" <<<"$why"; then
		continue
	fi
	run=${cmd//127.0.0.1:4000/127.0.0.1:$fp}
	run=${run//127.0.0.1:4001/127.0.0.1:$dp}
	# Each command runs once; its figures are read from that output.
	if [ -z "${done_out[$cmd]:-}" ]; then
		n=$((n + 1))
		out=$tmp/out.$n
		eval "$run" >"$out" 2>&1
		done_out[$cmd]=$out
		sleep 2.5 # a run of its own for the next command
	fi
	out=${done_out[$cmd]}
	v=$(figure "$fig" "$out")
	if [ -z "$v" ]; then
		bad "$cmd: no '$fig' in its output: $(head -c 400 "$out")"
	elif awk -v v="$v" -v lo="$lo" -v hi="$hi" 'BEGIN { exit !(v >= lo && v <= hi) }'; then
		ok "$cmd: $fig $v in $range"
	else
		bad "$cmd: $fig $v, not in the stated $range"
	fi
done <"$tmp/rows"
[ $fail -eq 0 ] || { echo "--- logs"; tail -n 5 "$tmp"/*.log; }
exit $fail
