# tests/net/lib.sh: hosts in network namespaces, for the net tests.
# Sourced by each scenario (tests/net/*-test.sh) after it sets NET_BUILD
# (the build tree) and NET_SRC (the source tree).
#
# The lab, one network namespace per host, each with its own host name
# (a UTS namespace per process started on it):
#
#   host      namespace        address      host name
#   resource  $NET_ID-res      10.0.0.1     resource   (mockresd)
#   fe1..fe3  $NET_ID-fe1..3   10.0.0.11-13 frontend1..3
#   lb        $NET_ID-lb       10.0.0.20    haproxy    (HAProxy, :4000)
#   client    $NET_ID-cli      10.0.0.30    client     (ab, curl)
#
# joined by veth pairs to a bridge that lives in a namespace of its own
# ($NET_ID-sw): nothing is created in, or routed through, the machine's
# own namespace, so the addresses (those of deploy/haproxy.cfg and
# docs/deploy.md) cannot clash with the machine's.  NET_ID is "mrnet"
# and this shell's pid: unique while it runs.
#
# Teardown (net_down) runs on every exit, failure or signal (trap): every
# process started in a namespace is killed, then the namespaces go.  A
# run killed with SIGKILL (CTest's timeout) leaves its namespaces; the
# next run removes those of runs whose pid is gone (net_reap_stale), and
# each test has its own deadline well inside CTest's.
#
# Links: net_link_down/up HOST (the bridge port: a partition that drops
# silently, no RST, no FIN); net_delay HOST MS (netem on the host's link
# when the kernel has it, else the userspace wire, see below).
#
# The wire (tests/net/wire.c): a kernel without sch_netem (this machine's
# has none) cannot delay packets in tc.  A host named in NET_WIRED gets
# its link through a small program in the switch namespace that moves
# every frame between the host's veth and the bridge, and holds the
# frames the host sends for MS before passing them on: netem's "delay MS"
# on the host's egress, at the packet level (TCP and TLS end to end).

NET_ID=mrnet$$
NET_HOSTS="res fe1 fe2 fe3 lb cli"
NET_PREFIX=10.0.0
NET_DEADLINE=${NET_DEADLINE:-240}
NET_WIRED=${NET_WIRED:-}
NET_PIDS=()
NET_UP=0
NET_KEEP=${NET_KEEP:-0}
passed=0
failed=0

net_addr() {
	case $1 in
	res) echo $NET_PREFIX.1 ;;
	fe1) echo $NET_PREFIX.11 ;;
	fe2) echo $NET_PREFIX.12 ;;
	fe3) echo $NET_PREFIX.13 ;;
	lb) echo $NET_PREFIX.20 ;;
	cli) echo $NET_PREFIX.30 ;;
	*) return 1 ;;
	esac
}

net_hostname() {
	case $1 in
	res) echo resource ;;
	fe[1-3]) echo "frontend${1#fe}" ;;
	lb) echo haproxy ;;
	cli) echo client ;;
	esac
}

net_ns() { echo "$NET_ID-$1"; }

net_log() { printf '%s %s\n' "$(date +%T.%3N)" "$*"; }
ok() {
	passed=$((passed + 1))
	net_log "ok   $*"
}
fail() {
	failed=$((failed + 1))
	net_log "FAIL $*"
}
# check WHAT COMMAND...: ok or fail on the command's status.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}

net_skip() {
	echo "SKIP: $*"
	exit 77
}

# Poll COMMAND... until it succeeds, for at most SECONDS (fractions
# allowed), every 50 ms.
wait_for() {
	local end
	end=$(($(now_ms) + $(awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }')))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(now_ms)" -ge "$end" ] && return 1
		sleep 0.05
	done
	return 0
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- requirements -----------------------------------------------------------
# net_require TOOL...: skip (77) unless root, network namespaces work, and
# the tools and binaries are here.
net_require() {
	local t probe
	[ "$(id -u)" = 0 ] ||
	    net_skip "needs root (ip netns, veth pairs, a bridge); run as root, as CI does"
	for t in ip unshare timeout curl "$@"; do
		command -v "$t" >/dev/null || net_skip "no $t (scripts/deps test installs it)"
	done
	for t in resourced/mockresd frontend/mockres-frontend; do
		[ -x "$NET_BUILD/$t" ] || net_skip "no $NET_BUILD/$t: build first"
	done
	probe=$NET_ID-probe
	if ! ip netns add "$probe" 2>/dev/null; then
		net_skip "ip netns add fails here (no network namespaces: a container without CAP_SYS_ADMIN?)"
	fi
	ip netns del "$probe"
}

# Skip (77) unless this build's mockresd has the TLS listener.
net_require_tls() {
	"$NET_BUILD/resourced/mockresd" --help 2>&1 | grep -q -- '--listen-tls' ||
	    net_skip "this mockresd has no --listen-tls: the TLS transport is not in this tree yet"
	[ -x "$NET_BUILD/ctl/mockresctl" ] || net_skip "no $NET_BUILD/ctl/mockresctl"
}

# Can tc add a netem qdisc here?  0 yes.  Tried once in a scratch namespace.
net_have_netem() {
	local probe rc
	if [ -z "${NET_NETEM:-}" ]; then
		probe=$NET_ID-nprobe
		ip netns add "$probe" || return 1
		ip -n "$probe" link set lo up
		if ip netns exec "$probe" tc qdisc add dev lo root netem delay 1ms \
		    2>/dev/null; then
			NET_NETEM=1
		else
			NET_NETEM=0
		fi
		ip netns del "$probe"
	fi
	rc=1
	[ "$NET_NETEM" = 1 ] && rc=0
	return $rc
}

# ---- set-up ---------------------------------------------------------------------
# Namespaces of runs whose shell is gone (killed by SIGKILL): their
# processes are killed and the namespaces removed.  Only "mrnetPID-"
# names, only dead PIDs: a run in progress is never touched.
net_reap_stale() {
	local ns pid p
	for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }' |
	    grep -E '^mrnet[0-9]+-'); do
		pid=${ns#mrnet}
		pid=${pid%%-*}
		kill -0 "$pid" 2>/dev/null && continue
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null &&
		    net_log "removed $ns, left by an earlier run (pid $pid, gone)"
		# Its logs: a run killed this way never printed them.
		rm -rf "${TMPDIR:-/tmp}/mrnet$pid".*
	done
}

net_wired() {
	[[ " $NET_WIRED " == *" $1 "* ]]
}

# net_up: the namespaces, the bridge, the links, the addresses, the
# watchdog; the trap that tears it all down.
net_up() {
	local h ns sw
	net_reap_stale
	NET_DIR=$(mktemp -d "${TMPDIR:-/tmp}/$NET_ID.XXXXXX")
	trap net_on_exit EXIT
	trap 'fail "interrupted (signal or past the deadline)"; exit 1' INT TERM HUP
	NET_UP=1
	# Our own deadline, inside CTest's TIMEOUT: CTest kills with SIGKILL,
	# which would leave the namespaces (the next run reaps them then).
	# The watchdog leaves as soon as this shell is gone (its parent
	# changes): it never signals a pid that may have been reused.
	(
		end=$((SECONDS + NET_DEADLINE))
		while [ $SECONDS -lt $end ]; do
			sleep 1
			[ "$(cut -d' ' -f4 "/proc/$BASHPID/stat")" = $$ ] || exit 0
		done
		net_log "deadline of $NET_DEADLINE s reached"
		kill -TERM $$
	) 2>/dev/null &
	NET_WATCHDOG=$!

	sw=$(net_ns sw)
	ip netns add "$sw" || { fail "ip netns add $sw"; exit 1; }
	ip -n "$sw" link set lo up
	ip -n "$sw" link add br0 type bridge
	# No STP, no forwarding delay: a port is forwarding at once.
	ip -n "$sw" link set br0 type bridge stp_state 0 forward_delay 0
	ip -n "$sw" link set br0 up
	for h in $NET_HOSTS; do
		ns=$(net_ns "$h")
		ip netns add "$ns" || { fail "ip netns add $ns"; exit 1; }
		ip -n "$ns" link set lo up
		# Both ends made where they live: no name ever appears in the
		# machine's namespace.
		ip link add eth0 netns "$ns" type veth peer name "$h" netns "$sw" ||
		    { fail "veth for $h"; exit 1; }
		ip -n "$ns" addr add "$(net_addr "$h")/24" dev eth0
		ip -n "$ns" link set eth0 up
		if net_wired "$h" && ! net_have_netem; then
			net_wire_up "$h" || exit 1
		else
			ip -n "$sw" link set "$h" master br0
		fi
		ip -n "$sw" link set "$h" up
	done
	net_log "hosts up: $NET_HOSTS (namespaces $NET_ID-*, logs in $NET_DIR)"
}

# net_wire_up HOST: HOST's link through the wire (tests/net/wire.c):
# HOST's veth end "HOST" in the switch is no bridge port; a second veth
# pair, "wHOST" and "bHOST" (a bridge port), and the wire moving frames
# between "HOST" and "wHOST".
net_wire_up() {
	local h=$1 sw wire
	sw=$(net_ns sw)
	wire=$NET_BUILD/tests/mockres_net_wire
	[ -x "$wire" ] || { fail "no $wire (build the tests)"; return 1; }
	ip -n "$sw" link add "w$h" type veth peer name "b$h" || return 1
	ip -n "$sw" link set "b$h" master br0
	ip -n "$sw" link set "b$h" up
	ip -n "$sw" link set "w$h" up
	echo "delay 0" >"$NET_DIR/wire-$h.ctl"
	ip netns exec "$sw" "$wire" "$h" "w$h" "$NET_DIR/wire-$h.ctl" \
	    >"$NET_DIR/wire-$h.log" 2>&1 &
	NET_PIDS+=($!)
	eval "NET_WIRE_PID_$h=$!"
	# Ready when it says so (its sockets are bound).
	wait_for 5 grep -q '^wire: ready' "$NET_DIR/wire-$h.log" ||
	    { fail "the wire of $h did not start: $(cat "$NET_DIR/wire-$h.log")"; return 1; }
}

# ---- processes on hosts ---------------------------------------------------
# net_on HOST COMMAND...: run it on HOST (its namespace, its host name),
# in the foreground.
net_on() {
	local h=$1
	shift
	ip netns exec "$(net_ns "$h")" unshare --uts \
	    sh -c 'hostname "$0" && exec "$@"' "$(net_hostname "$h")" "$@"
}

# net_spawn HOST NAME COMMAND...: start it on HOST in the background,
# output to $NET_DIR/NAME.log; its pid in NET_PID (and in NET_PIDS, for
# the teardown).  A simple command put in the background is exec'd by
# the forked shell, and ip netns exec, unshare and sh exec in turn: the
# pid is the program's own (a function in the background would leave a
# subshell's pid).
net_spawn() {
	local h=$1 name=$2
	shift 2
	ip netns exec "$(net_ns "$h")" unshare --uts \
	    sh -c 'hostname "$0" && exec "$@"' "$(net_hostname "$h")" "$@" \
	    >"$NET_DIR/$name.log" 2>&1 &
	NET_PID=$!
	NET_PIDS+=("$NET_PID")
}

# net_kill_host HOST [SIGNAL]: every process in HOST's namespace.
net_kill_host() {
	local p
	for p in $(ip netns pids "$(net_ns "$1")" 2>/dev/null); do
		kill "-${2:-KILL}" "$p" 2>/dev/null
	done
}

# ---- links ----------------------------------------------------------------------
# The host's port on the switch: down drops every frame to and from the
# host (no RST, no FIN: the peers see silence).  A wired host's port is
# the wire's end, "HOST" all the same.
net_link_down() { ip -n "$(net_ns sw)" link set "$1" down; }
net_link_up() { ip -n "$(net_ns sw)" link set "$1" up; }

# net_delay HOST MS: every frame HOST sends is held MS more (0: none).
# netem on HOST's eth0 if the kernel has it, else the wire (HOST must be
# in NET_WIRED).  The method is in NET_DELAY_METHOD.
net_delay() {
	local h=$1 ms=$2 pid
	if net_have_netem; then
		NET_DELAY_METHOD="tc netem"
		if [ "$ms" = 0 ]; then
			ip -n "$(net_ns "$h")" link show eth0 >/dev/null &&
			    ip netns exec "$(net_ns "$h")" tc qdisc del dev eth0 root \
			    2>/dev/null
			return 0
		fi
		ip netns exec "$(net_ns "$h")" tc qdisc replace dev eth0 root \
		    netem delay "${ms}ms" limit 100000
		return
	fi
	NET_DELAY_METHOD="the wire (no sch_netem in this kernel)"
	pid=$(eval echo "\${NET_WIRE_PID_$h:-}")
	[ -n "$pid" ] || { fail "net_delay $h: no netem and $h is not wired (NET_WIRED)"; return 1; }
	echo "delay $ms" >"$NET_DIR/wire-$h.ctl"
	kill -HUP "$pid"
	# Applied when the wire has read it.
	wait_for 2 net_wire_says "$h" "delay $ms ms"
}

# The wire's last word is "wire: $2".
net_wire_says() {
	[ "$(tail -n 1 "$NET_DIR/wire-$1.log")" = "wire: $2" ]
}

# ---- teardown ---------------------------------------------------------------
net_down() {
	local p h i alive ns
	[ "$NET_UP" = 1 ] || return 0
	NET_UP=0
	[ -n "${NET_WATCHDOG:-}" ] && kill "$NET_WATCHDOG" 2>/dev/null
	# The processes we started, gently first (the frontends drain).
	for p in "${NET_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for i in $(seq 30); do
		alive=0
		for p in "${NET_PIDS[@]}"; do
			kill -0 "$p" 2>/dev/null && alive=1
		done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	# Whatever is still in our namespaces (workers, ab, strays) is ours.
	for h in $NET_HOSTS sw; do
		net_kill_host "$h" KILL
	done
	for p in "${NET_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	for h in $NET_HOSTS sw; do
		ns=$(net_ns "$h")
		ip netns pids "$ns" >/dev/null 2>&1 || continue
		# A process still inside keeps the namespace alive after del.
		for i in $(seq 20); do
			[ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break
			net_kill_host "$h" KILL
			sleep 0.1
		done
		ip netns del "$ns" || net_log "cannot remove namespace $ns"
	done
	if ip netns list | grep -q "^$NET_ID-"; then
		net_log "namespaces left: $(ip netns list | grep "^$NET_ID-" | tr '\n' ' ')"
		return 1
	fi
	return 0
}

net_on_exit() {
	local rc=$? f
	trap - EXIT INT TERM HUP
	if [ "$failed" -gt 0 ] || [ "$rc" -ne 0 ]; then
		for f in "$NET_DIR"/*.log; do
			[ -s "$f" ] || continue
			echo "==== $f (last 15 lines)"
			tail -n 15 "$f"
		done
	fi
	net_down || rc=1
	if [ "$NET_KEEP" = 1 ] || [ "$failed" -gt 0 ]; then
		net_log "logs kept in $NET_DIR"
	else
		rm -rf "$NET_DIR"
	fi
	echo "${NET_TEST:-net test}: $passed passed, $failed failed"
	[ "$failed" -gt 0 ] && [ "$rc" = 0 ] && rc=1
	exit "$rc"
}

# ---- HAProxy -------------------------------------------------------------------
# net_haproxy_up: deploy/haproxy.cfg as it is, but for the lines marked
# "test:" (system paths, the daemon mode, syslog), on the lb host.
net_haproxy_up() {
	sed -e 's|^\([[:space:]]*\)log /dev/log \([a-z0-9]*\) \([a-z]*\).*# test: log stdout|\1log stdout format raw \2 \3|' \
	    -e '/# test: removed/d' "$NET_SRC/deploy/haproxy.cfg" \
	    >"$NET_DIR/haproxy.cfg"
	net_on lb haproxy -c -q -f "$NET_DIR/haproxy.cfg" ||
	    { fail "haproxy -c on the test's copy of deploy/haproxy.cfg"; return 1; }
	net_spawn lb haproxy haproxy -db -f "$NET_DIR/haproxy.cfg"
	NET_HAPROXY_PID=$NET_PID
	wait_for 5 net_haproxy_csv ||
	    { fail "HAProxy's stats page does not answer"; return 1; }
}

# HAProxy's stats as CSV (pxname,svname,...), from its own host.
net_haproxy_csv() {
	net_on lb curl -sf -m 2 'http://127.0.0.1:8404/stats;csv'
}

# net_haproxy_status SERVER: UP, DOWN, "UP 1/2", ... of frontends/SERVER.
net_haproxy_status() { net_haproxy_field "$1" status; }

# net_haproxy_field SERVER FIELD: one column (stot, hrsp_2xx, ...).
net_haproxy_field() {
	net_haproxy_csv | awk -F, -v s="$1" -v f="$2" '
		NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) col[$i] = i }
		$1 == "frontends" && $2 == s { print $col[f] }'
}

# ---- the system on the hosts --------------------------------------------------
# mockresd on res (its Unix socket for mockresctl, TLS on 10.0.0.1:4002),
# a frontend on each of NET_FRONTENDS dialing it over TLS, HAProxy on lb.
# Settings: NET_LIMIT (0), NET_HOLD_MS (500), NET_WORKERS (1 per host),
# NET_FRONTENDS ("fe1 fe2 fe3").  Certificates (scripts/certs) in
# $NET_DIR/pki: mockresd's for 10.0.0.1 and mockres.lab, a client's for
# each frontend host (CN fe1..fe3, named by --tls-frontend), admin
# (--tls-admin) and user (a valid certificate, nothing more).
NET_TLS_PORT=4002
NET_FRONTENDS=${NET_FRONTENDS:-fe1 fe2 fe3}

net_tls_url() { echo "tls://$(net_addr res):$NET_TLS_PORT"; }

net_pki() {
	NET_PKI=$NET_DIR/pki
	"$NET_SRC/scripts/certs" --server-name mockres.lab \
	    --server-ip "$(net_addr res)" "$NET_PKI" fe1 fe2 fe3 admin user \
	    >"$NET_DIR/certs.log" 2>&1 ||
	    { fail "scripts/certs: $(cat "$NET_DIR/certs.log")"; return 1; }
}

# net_tls_flags CN: a client's --tls-* flags.
net_tls_flags() {
	echo "--tls-cert $NET_PKI/$1.crt --tls-key $NET_PKI/$1.key --tls-ca $NET_PKI/ca.crt"
}

# mockresctl on the resource host over the Unix socket (as root: an admin).
net_ctl() {
	net_on res "$NET_BUILD/ctl/mockresctl" --socket "$NET_DIR/mockresd.sock" "$@"
}

# mockresctl on HOST over TLS as CN.
net_ctl_tls() {
	local h=$1 cn=$2
	shift 2
	# shellcheck disable=SC2046
	net_on "$h" "$NET_BUILD/ctl/mockresctl" --socket "$(net_tls_url)" \
	    $(net_tls_flags "$cn") "$@"
}

# net_stat FIELD: a number from mockresd's JSON status.
net_stat() {
	net_ctl --json status | grep -o "\"$1\":[0-9]*" | head -n 1 | cut -d: -f2
}

# net_stat_is FIELD VALUE: for wait_for (a $(...) argument would be read
# once, when wait_for is called).
net_stat_is() { [ "$(net_stat "$1")" = "$2" ]; }

# The accounting invariant, exactly: admitted == completed + timed_out +
# cancelled + in_flight + waiting.  Prints the figures.
net_invariant() {
	local js a c t x i w
	js=$(net_ctl --json status) || return 1
	num() { grep -o "\"$1\":[0-9]*" <<<"$js" | head -n 1 | cut -d: -f2; }
	a=$(num admitted) c=$(num completed) t=$(num timed_out) x=$(num cancelled)
	i=$(num in_flight) w=$(num waiting)
	echo "admitted $a = completed $c + timed_out $t + cancelled $x + in_flight $i + waiting $w"
	[ -n "$a" ] && [ "$a" = $((c + t + x + i + w)) ]
}

net_invariant_holds() { net_invariant >/dev/null; }

net_mockresd_up() {
	local fe args=()
	for fe in fe1 fe2 fe3; do args+=(--tls-frontend "$fe"); done
	# shellcheck disable=SC2046
	net_spawn res mockresd "$NET_BUILD/resourced/mockresd" \
	    --socket "$NET_DIR/mockresd.sock" --limit "${NET_LIMIT:-0}" \
	    --hold-ms "${NET_HOLD_MS:-500}" \
	    --listen-tls "$(net_addr res):$NET_TLS_PORT" \
	    --tls-cert "$NET_PKI/server.crt" --tls-key "$NET_PKI/server.key" \
	    --tls-ca "$NET_PKI/ca.crt" --tls-admin admin "${args[@]}" \
	    ${NET_MOCKRESD_FLAGS:-}
	NET_MOCKRESD_PID=$NET_PID
	wait_for 10 net_ctl status ||
	    { fail "mockresd did not start on the resource host"; return 1; }
}

# The frontend on HOST: /healthz 200 once connected to mockresd over TLS.
net_frontend_up() {
	local h=$1
	# shellcheck disable=SC2046
	net_spawn "$h" "frontend-$h" "$NET_BUILD/frontend/mockres-frontend" \
	    --listen 0.0.0.0:4000 --workers "${NET_WORKERS:-1}" \
	    --socket "$(net_tls_url)" $(net_tls_flags "$h") \
	    --dashboard-url "http://$(net_addr "$h"):4001/"
	eval "NET_FRONTEND_PID_$h=$NET_PID"
}

# net_healthz HOST: the frontend's /healthz code, asked from the client.
net_healthz() {
	net_on cli curl -s -o /dev/null -m 2 -w '%{http_code}' \
	    "http://$(net_addr "$1"):4000/healthz"
}
net_healthy() { [ "$(net_healthz "$1")" = 200 ]; }

net_all_up() {
	local h
	for h in $NET_FRONTENDS; do
		[ "$(net_haproxy_status "$h")" = UP ] || return 1
	done
}

# Everything, ready: certificates, mockresd, the frontends (healthy), and
# HAProxy with every frontend UP.
net_system_up() {
	local h
	net_pki || return 1
	net_mockresd_up || return 1
	for h in $NET_FRONTENDS; do
		net_frontend_up "$h"
	done
	for h in $NET_FRONTENDS; do
		wait_for 10 net_healthy "$h" ||
		    { fail "$h: /healthz $(net_healthz "$h") after 10 s, not 200"; return 1; }
	done
	net_haproxy_up || return 1
	wait_for 10 net_all_up ||
	    { fail "HAProxy: not every frontend UP after 10 s"; return 1; }
	net_log "system up: mockresd (limit ${NET_LIMIT:-0}, hold ${NET_HOLD_MS:-500} ms) on res, frontends on $NET_FRONTENDS, HAProxy on lb"
}

# ---- ab ---------------------------------------------------------------------------
# net_ab OUT ARGS...: ab on the client host against HAProxy, output in OUT.
net_ab() {
	local out=$1
	shift
	net_on cli timeout 300 ab "$@" >"$out" 2>&1
}
# ab_num OUT LABEL: the number after "LABEL:" (0 when the line is missing,
# as "Non-2xx responses" is when there were none).
ab_num() {
	local v
	v=$(sed -n "s/^$2: *\([0-9.]*\).*/\1/p" "$1" | head -n 1)
	echo "${v:-0}"
}
# ab_pct OUT P: the P% line of "Percentage of the requests served", ms.
ab_pct() {
	awk -v p="$2%" '$1 == p { print $2; exit }' "$1"
}

# mockresd's connected clients summed per host: "HOST ADMITTED" lines
# (from mockresctl --json clients; a client without a host is "-").
net_admitted_by_host() {
	net_ctl --json clients | grep -o '{"pid"[^}]*}' | awk '
		{
			h = "-"; a = 0
			if (match($0, /"host":"[^"]*"/)) h = substr($0, RSTART + 8, RLENGTH - 9)
			if (match($0, /"admitted":[0-9]+/)) a = substr($0, RSTART + 11, RLENGTH - 11)
			sum[h] += a
		}
		END { for (h in sum) print h, sum[h] }' | sort
}
