#!/bin/bash
# nspawn-test.sh BUILD_DIR [WORK_DIR]
#
# Proves the package and the units on a real systemd, the way a user
# installs them: a Debian 12 root (debootstrap, cached in
# WORK_DIR/root.cache) is copied fresh and booted with systemd-nspawn on
# the host's network, with the source and build trees bind-mounted at their
# own paths.  Inside, as root:
#   1. apt-get install BUILD_DIR/deb/mockres_*.deb (built by the deb_package
#      test, scripts/deb; its dependencies come from the Debian mirror):
#      the package creates the user and starts the enabled units by itself;
#      checks from outside (ab, curl) and inside (systemctl, mockresctl,
#      man, systemd-analyze), each service crashed and restarted, a reboot
#      that brings the enabled target up by itself;
#   2. apt-get remove stops everything and keeps /etc/default/mockres,
#      apt-get purge removes it and the units' enablement;
#   3. on the same root, with the user deleted again, "cmake --install
#      BUILD_DIR" (no DESTDIR: its post-install step creates the user and
#      reloads systemd), systemctl start mockres.target, the servers answer,
#      man works, and the target stops.
# The servers listen on free ports: /etc/default/mockres is written before
# the package is installed, and the package keeps it (a conffile the admin
# changed).  Exit 0 all passed, 1 a check failed, 77 cannot run here (not
# root, a tool missing, no .deb).  Needs the Debian mirror (apt-get update
# and the package's dependencies; debootstrap when the cache is cold).
set -u -o pipefail

BUILD=${1:?usage: nspawn-test.sh BUILD_DIR [WORK_DIR]}
BUILD=$(cd "$BUILD" && pwd)
WORK=${2:-$BUILD/systemd-test}
mkdir -p "$WORK" && WORK=$(cd "$WORK" && pwd -P)
CACHE=$WORK/root.cache
ROOT=$WORK/root
MIRROR=${MOCKRES_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
# What a booted system needs; cmake, to run cmake --install inside;
# man-db, to check that "man mockresctl" works.  Not the package's
# dependencies: apt-get install must bring those.
PACKAGES=systemd,systemd-sysv,dbus,cmake,man-db
CACHE_KEY="$SUITE $PACKAGES"
MACHINE=mockres-test-$$
BOOT_TIMEOUT=120

passed=0
failed=0
nspawn_pid=
init_pid=

log() { printf '%s %s\n' "$(date +%T)" "$*"; }
ok() { passed=$((passed + 1)); log "ok   $*"; }
fail() { failed=$((failed + 1)); log "FAIL $*"; }

summary() {
	echo "systemd nspawn test: $passed passed, $failed failed"
}

skipped=0
skip() {
	log "SKIP: $*"
	skipped=1
	echo "systemd nspawn test: 0 passed, 0 failed (skipped)"
	exit 77
}

for tool in debootstrap systemd-nspawn nsenter ab curl ss cmake; do
	command -v "$tool" >/dev/null || skip "$tool is not installed"
done
[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, systemd-nspawn)"
[ -x "$BUILD/resourced/mockresd" ] || skip "$BUILD has no mockresd"
DEB=${MOCKRES_DEB:-$(ls "$BUILD"/deb/mockres_*.deb 2>/dev/null | head -1)}
[ -n "$DEB" ] && [ -f "$DEB" ] ||
    skip "no $BUILD/deb/mockres_*.deb (ctest -R deb_package or scripts/deb $BUILD/deb builds it)"
DEB=$(cd "$(dirname "$DEB")" && pwd)/$(basename "$DEB")

cache_var() {
	sed -n "s/^$1:[A-Z]*=//p" "$BUILD/CMakeCache.txt"
}
SRC=$(cache_var CMAKE_HOME_DIRECTORY)
ENV_FILE=$(cache_var MOCKRES_ENV_FILE)
UNITDIR=$(cache_var MOCKRES_SYSTEMD_UNITDIR)
[ -n "$SRC" ] && [ -n "$ENV_FILE" ] && [ -n "$UNITDIR" ] ||
    skip "$BUILD/CMakeCache.txt has no systemd settings"
[ "$(cache_var MOCKRES_SANITIZE)" = ON ] &&
    skip "sanitizer build: the Debian root has no libasan/libubsan"

# Run a command inside the container, as root, with a clean environment.
# Bounded: a hung command must not hang the test.
ct() {
	timeout "${CT_TIMEOUT:-30}" nsenter -t "$init_pid" -a \
	    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	    LANG=C.UTF-8 "$@"
}

mounts_under_root() {
	awk -v r="$ROOT" '$5 == r || index($5, r "/") == 1 { print $5 }' \
	    /proc/self/mountinfo
}

cleanup() {
	local i
	if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
		log "cleanup: halting the container"
		kill -TERM "$nspawn_pid" 2>/dev/null
		for i in $(seq 60); do
			kill -0 "$nspawn_pid" 2>/dev/null || break
			sleep 0.5
		done
		if kill -0 "$nspawn_pid" 2>/dev/null; then
			log "cleanup: container still up after 30 s, killing it"
			# Killing the namespace's init kills every process in it.
			[ -n "$init_pid" ] && kill -KILL "$init_pid" 2>/dev/null
			kill -KILL "$nspawn_pid" 2>/dev/null
		fi
		wait "$nspawn_pid" 2>/dev/null
	fi
	mounts_under_root | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null
	done
}

on_exit() {
	local rc=$?
	[ -n "${watchdog_pid:-}" ] && kill "$watchdog_pid" 2>/dev/null
	roles_cleanup
	cleanup
	if [ "$failed" -gt 0 ] || [ "$rc" -ne 0 ]; then
		log "the container's root is kept for a look: $ROOT" \
		    "(boot log: $WORK/boot.log)"
	fi
	# The last line, whatever happened.
	[ "$skipped" = 1 ] || summary
}
trap on_exit EXIT
trap 'fail "interrupted (or past the deadline)"; exit 1' INT TERM HUP
# Our own deadline, well inside CTest's TIMEOUT: CTest kills with SIGKILL,
# which would leave the container running.
DEADLINE=${MOCKRES_NSPAWN_DEADLINE:-900}
(
	trap 'kill "$s" 2>/dev/null; exit 0' TERM
	sleep "$DEADLINE" &
	s=$!
	wait "$s" && log "deadline of $DEADLINE s reached" && kill -TERM $$
) 2>/dev/null &
watchdog_pid=$!

# A free TCP port on the host (the container shares the host's network).
free_port() {
	local p i
	for i in $(seq 100); do
		p=$((20000 + RANDOM % 20000))
		if [ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# Poll COMMAND... until it succeeds, for at most SECONDS.
wait_for() {
	local secs=$1 end
	shift
	end=$((SECONDS + secs))
	while ! "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.3
	done
	return 0
}

http_code() {
	curl -s -o /dev/null -m 5 -w '%{http_code}' "$1"
}

http_is() {
	[ "$(http_code "$2")" = "$1" ]
}

main_pid() {
	ct systemctl show -P MainPID "$1" 2>/dev/null
}

# Active with a main pid other than $2.
restarted() {
	local pid
	[ "$(ct systemctl is-active "$1" 2>/dev/null)" = active ] || return 1
	pid=$(main_pid "$1")
	[ -n "$pid" ] && [ "$pid" != 0 ] && [ "$pid" != "$2" ]
}

# ---- the roles (several hosts over TLS) -------------------------------------
# The container plays a resource host (mockresd.service with the TLS
# listener systemd holds, mockresd-tls.socket, generated from
# MOCKRES_LISTEN_TLS), then a frontend host (MOCKRES_SOCKET=tls://...: the
# mockresd units masked, its frontend dialing a mockresd this script
# runs on the host; the container shares the host's network).  Keys are
# checked before the services start.  /etc/default/mockres is put back
# at the end.  Skipped when this build's mockresd has no --listen-tls.
role_mockresd_pid=
roles_cleanup() {
	[ -n "$role_mockresd_pid" ] && kill "$role_mockresd_pid" 2>/dev/null &&
	    wait "$role_mockresd_pid" 2>/dev/null
	role_mockresd_pid=
}

ctl_tls() { # PORT CN ARGS...: the build's mockresctl on the host, over TLS
	local port=$1 cn=$2
	shift 2
	timeout 20 "$BUILD/ctl/mockresctl" --socket "tls://127.0.0.1:$port" \
	    --tls-cert "$PKI/$cn.crt" --tls-key "$PKI/$cn.key" \
	    --tls-ca "$PKI/ca.crt" "$@"
}

install_tls() { # NAME...: ca.crt and NAME.crt 0644, NAME.key root:mockres 0640
	local n d=$ROOT/etc/mockres/tls
	mkdir -p "$d"
	cp "$PKI/ca.crt" "$d/"
	for n in "$@"; do
		cp "$PKI/$n.crt" "$PKI/$n.key" "$d/"
		chmod 0644 "$d/$n.crt"
		ct chown root:mockres "/etc/mockres/tls/$n.key" /etc/mockres/tls
		chmod 0640 "$d/$n.key"
	done
	chmod 0644 "$d/ca.crt"
	chmod 0750 "$d"
}

live_exposure() { # UNIT THRESHOLD
	local score
	score=$(ct systemd-analyze security --no-pager "$1" 2>/dev/null |
	    awk '/Overall exposure level/ { print $(NF-2) }')
	if ct systemd-analyze security --threshold="$2" "$1" >/dev/null 2>&1; then
		ok "$role: $1 exposure $score (target $(($2 / 10)).0), live"
	else
		fail "$role: $1 exposure $score over $(($2 / 10)).0, live"
	fi
}

roles_phase() {
	local env=$ROOT/etc/default/mockres tport fport2 out pid_before
	if ! "$BUILD/resourced/mockresd" --help 2>&1 | grep -q -- --listen-tls; then
		log "roles: skipped (this mockresd has no --listen-tls)"
		return 0
	fi
	PKI=$WORK/pki
	rm -rf "$PKI"
	"$SRC/scripts/certs" --server-name localhost --server-ip 127.0.0.1 \
	    "$PKI" admin fe1 >/dev/null || { fail "roles: scripts/certs"; return; }
	cp "$env" "$WORK/env.saved"

	# -- a resource host --
	role="resource host"
	tport=$(free_port) || { fail "roles: no free port"; return; }
	install_tls server
	cat >>"$env" <<-EOF
		MOCKRES_LISTEN_TLS="127.0.0.1:$tport"
		MOCKRES_TLS_ADMIN=admin
		MOCKRES_TLS_FRONTEND=fe1
		MOCKRES_TLS_CERT=/etc/mockres/tls/server.crt
		MOCKRES_TLS_KEY=/etc/mockres/tls/server.key
		MOCKRES_TLS_CA=/etc/mockres/tls/ca.crt
	EOF
	CT_TIMEOUT=60 ct systemctl daemon-reload
	CT_TIMEOUT=90 ct systemctl restart mockres.target
	if wait_for 30 ct systemctl is-active -q mockresd-tls.socket &&
	    [ -n "$(ss -Hltn "( sport = :$tport )")" ]; then
		ok "$role: mockresd-tls.socket (generated) listens on 127.0.0.1:$tport"
	else
		fail "$role: no TLS listener: $(ct systemctl status --no-pager mockresd-tls.socket 2>&1 | head -5)"
	fi
	if out=$(ctl_tls "$tport" admin limit 0 2>&1) &&
	    out=$(ctl_tls "$tport" admin --json status 2>&1) &&
	    grep -q '"limit":0' <<<"$out"; then
		ok "$role: mockresctl over TLS as admin: limit 0, status"
	else
		fail "$role: mockresctl over TLS: $out"
	fi
	live_exposure mockresd.service 10
	# The listener is systemd's: mockresd killed, the port stays open,
	# and the next client is served by the restarted daemon.
	pid_before=$(main_pid mockresd.service)
	ct systemctl kill -s KILL mockresd.service
	if [ -n "$(ss -Hltn "( sport = :$tport )")" ] &&
	    wait_for 30 ctl_tls "$tport" admin status; then
		ok "$role: mockresd killed: the TLS port stayed open, served again (main pid $pid_before -> $(main_pid mockresd.service))"
	else
		fail "$role: after killing mockresd the TLS port is not served"
	fi
	# A key others may read: mockresd does not start, and says why.
	chmod 0644 "$ROOT/etc/mockres/tls/server.key"
	CT_TIMEOUT=60 ct systemctl restart mockresd.service >/dev/null 2>&1
	out=$(ct journalctl --no-pager -n 20 -u mockresd.service 2>&1)
	if ! ct systemctl is-active -q mockresd.service &&
	    grep -q 'chown root:mockres /etc/mockres/tls/server.key && chmod 0640' <<<"$out"; then
		ok "$role: a 0644 key: mockresd not started, the journal says what to run"
	else
		fail "$role: a 0644 key: $(ct systemctl is-active mockresd.service); $(tail -3 <<<"$out")"
	fi
	chmod 0640 "$ROOT/etc/mockres/tls/server.key"
	ct systemctl reset-failed mockresd.service >/dev/null 2>&1
	CT_TIMEOUT=60 ct systemctl restart mockresd.service
	if wait_for 30 ctl_tls "$tport" admin status; then
		ok "$role: key 0640 again: mockresd serves over TLS"
	else
		fail "$role: key 0640 again: mockresd does not serve"
	fi

	# -- a frontend host, dialing a mockresd on the host --
	role="frontend host"
	CT_TIMEOUT=60 ct systemctl stop mockres.target mockresd-tls.socket mockresd.socket
	mport=$(free_port) && fport2=$(free_port) ||
	    { fail "roles: no free port"; return; }
	"$BUILD/resourced/mockresd" --socket "$WORK/role-mockresd.sock" --limit 0 \
	    --listen-tls "127.0.0.1:$mport" --tls-cert "$PKI/server.crt" \
	    --tls-key "$PKI/server.key" --tls-ca "$PKI/ca.crt" \
	    --tls-frontend fe1 >"$WORK/role-mockresd.log" 2>&1 &
	role_mockresd_pid=$!
	cp "$WORK/env.saved" "$env"
	install_tls fe1
	cat >>"$env" <<-EOF
		MOCKRES_SOCKET=tls://127.0.0.1:$mport
		MOCKRES_TLS_CERT=/etc/mockres/tls/fe1.crt
		MOCKRES_TLS_KEY=/etc/mockres/tls/fe1.key
		MOCKRES_TLS_CA=/etc/mockres/tls/ca.crt
	EOF
	CT_TIMEOUT=60 ct systemctl daemon-reload
	CT_TIMEOUT=90 ct systemctl restart mockres.target
	# The generator's masks are in /run: "masked-runtime".
	if [ "$(ct systemctl is-enabled mockresd.service 2>&1)" = masked-runtime ] &&
	    [ "$(ct systemctl is-enabled mockresd.socket 2>&1)" = masked-runtime ] &&
	    ! ct systemctl is-active -q mockresd.service mockresd.socket; then
		ok "$role: mockresd.service and mockresd.socket masked (runtime), not running"
	else
		fail "$role: mockresd units: $(ct systemctl is-enabled mockresd.service mockresd.socket 2>&1 | tr '\n' ' ')"
	fi
	if [ $have_frontend = 1 ] && wait_for 30 http_is 200 "$furl/healthz"; then
		about=$(timeout 120 ab -n 200 -c 20 "$furl/part1/async" 2>&1)
		out=$(timeout 10 "$BUILD/ctl/mockresctl" --socket "$WORK/role-mockresd.sock" --json status 2>&1)
		if grep -q '^Complete requests: *200' <<<"$about" &&
		    ! grep -q 'Non-2xx' <<<"$about" && grep -q '"admitted":200' <<<"$out"; then
			ok "$role: the frontend serves over TLS: ab 200 async, the host's mockresd admitted 200"
		else
			fail "$role: ab through the frontend host: $(grep -E 'Complete|Non-2xx' <<<"$about" | tr '\n' ' '); mockresd: ${out:0:120}"
		fi
	else
		fail "$role: frontend $furl/healthz: $(http_code "$furl/healthz")"
	fi
	[ $have_frontend = 1 ] && live_exposure mockres-frontend.service 20
	[ $have_dashboard = 1 ] && live_exposure mockres-dashboard.service 20
	if [ "$failed" -gt 0 ]; then
		ct journalctl --no-pager -n 40 -u 'mockres*' 2>&1
	fi

	# -- back to one host --
	CT_TIMEOUT=60 ct systemctl stop mockres.target
	roles_cleanup
	cp "$WORK/env.saved" "$env"
	rm -rf "$ROOT/etc/mockres"
	CT_TIMEOUT=60 ct systemctl daemon-reload
	CT_TIMEOUT=90 ct systemctl start mockres.target
	if wait_for 30 ct mockresctl status; then
		ok "one host again: mockresd unmasked and serving"
	else
		fail "one host again: mockresctl status fails"
	fi
	role=
}

# ---- the cached Debian root ----------------------------------------------
if [ ! -f "$CACHE/.mockres-cache" ] ||
    [ "$(cat "$CACHE/.mockres-cache")" != "$CACHE_KEY" ]; then
	log "building the Debian $SUITE root (cold cache): $CACHE"
	rm -rf "$CACHE" "$CACHE.tmp"
	t0=$SECONDS
	if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" \
	    "$CACHE.tmp" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
		tail -20 "$WORK/debootstrap.log"
		fail "debootstrap $SUITE from $MIRROR (log: $WORK/debootstrap.log)"
		exit 1
	fi
	echo "$CACHE_KEY" >"$CACHE.tmp/.mockres-cache"
	mv "$CACHE.tmp" "$CACHE"
	log "debootstrap took $((SECONDS - t0)) s"
else
	log "using the cached root $CACHE"
fi

# A fresh copy each run: no state from an earlier boot (users, journal,
# /etc/.updated) can hide a problem.
t0=$SECONDS
rm -rf "$ROOT"
cp -a "$CACHE" "$ROOT" || { fail "copy $CACHE to $ROOT"; exit 1; }
log "root copied in $((SECONDS - t0)) s"

# ---- boot -------------------------------------------------------------------
# The container's pid 1: nspawn's child, pid 1 in its own namespace.
find_init() {
	local p
	for p in $(pgrep -P "$nspawn_pid"); do
		if grep -q "^NSpid:.*[[:space:]]1$" "/proc/$p/status" 2>/dev/null
		then
			init_pid=$p
			return 0
		fi
	done
	return 1
}

init_is_systemd() {
	[ "$(cat "/proc/$init_pid/comm" 2>/dev/null)" = systemd ]
}

# --register=no --keep-unit: no machined or system bus needed on the host.
boot() {
	local t0=$SECONDS state
	init_pid=
	# The console is read and logged: an unread one (passive) fills up
	# and blocks the container's systemd.  norbind: the build tree holds
	# $ROOT, whose own mounts must not appear inside.
	systemd-nspawn --boot --register=no --keep-unit --console=read-only \
	    --machine="$MACHINE" --bind-ro="$SRC:$SRC:norbind" \
	    --bind="$BUILD:$BUILD:norbind" -D "$ROOT" \
	    >>"$WORK/boot.log" 2>&1 </dev/null &
	nspawn_pid=$!
	if ! wait_for 30 find_init; then
		tail -20 "$WORK/boot.log"
		fail "the container's systemd did not start"
		return 1
	fi
	# The container's pid 1 is nspawn's child until it execs systemd: a
	# systemctl before that says "offline" at once.  Wait for systemd.
	if ! wait_for 30 init_is_systemd; then
		tail -20 "$WORK/boot.log"
		fail "$1: the container's pid 1 is not systemd after 30 s"
		return 1
	fi
	# Right after the exec, systemctl may find no bus yet and print
	# nothing at once (seen once in ~10 boots): ask again until it says.
	state=
	while [ -z "$state" ] && [ $((SECONDS - t0)) -lt "$BOOT_TIMEOUT" ]; do
		state=$(timeout "$BOOT_TIMEOUT" nsenter -t "$init_pid" -a \
		    systemctl is-system-running --wait 2>/dev/null)
		[ -n "$state" ] || sleep 0.5
	done
	case $state in
	running | degraded)
		ok "$1: booted in $((SECONDS - t0)) s (state $state)"
		;;
	*)
		fail "$1: state '$state' after $BOOT_TIMEOUT s"
		tail -30 "$WORK/boot.log"
		return 1
		;;
	esac
}

poweroff() {
	local i
	ct systemctl poweroff >/dev/null 2>&1
	for i in $(seq 120); do
		kill -0 "$nspawn_pid" 2>/dev/null || break
		sleep 0.5
	done
	if ! kill -0 "$nspawn_pid" 2>/dev/null; then
		wait "$nspawn_pid" 2>/dev/null
		nspawn_pid=
		ok "container powered off"
	else
		fail "container still running 60 s after poweroff"
		cleanup
		nspawn_pid=
	fi
	if [ -n "$init_pid" ] && ! wait_for 10 gone "$init_pid"; then
		fail "container init $init_pid still alive"
	fi
}

gone() {
	! kill -0 "$1" 2>/dev/null
}

: >"$WORK/boot.log"
boot "first boot" || { exit 1; }

# ---- install the .deb ------------------------------------------------------
if ct getent passwd mockres >/dev/null; then
	fail "the fresh root already has a mockres user"
fi

fport=$(free_port) && dport=$(free_port) && [ "$fport" != "$dport" ] ||
    { fail "no free TCP ports"; exit 1; }
furl=http://127.0.0.1:$fport
durl=http://127.0.0.1:$dport
# The settings, with free ports: no limit (ab's 1000 async uses in a burst
# must all be admitted) and a short hold, which also prove that the units
# read the file.  write_env FILE: from the file the package ships.
write_env() {
	mkdir -p "$(dirname "$1")"
	sed -e "s/^MOCKRES_LIMIT=.*/MOCKRES_LIMIT=0/" \
	    -e "s/^MOCKRES_MODEL=.*/MOCKRES_MODEL=hold-ms=200/" \
	    -e "s/^MOCKRES_FRONTEND_LISTEN=.*/MOCKRES_FRONTEND_LISTEN=127.0.0.1:$fport/" \
	    -e "s/^MOCKRES_DASHBOARD_LISTEN=.*/MOCKRES_DASHBOARD_LISTEN=127.0.0.1:$dport/" \
	    -e "s|^MOCKRES_DASHBOARD_URL=.*|MOCKRES_DASHBOARD_URL=http://127.0.0.1:$dport/|" \
	    "$SRC/systemd/mockres.env" >"$1"
}
# Written before the install, as an admin would preseed it: the package
# must keep it (dpkg's conffile rules, --force-confold) and start on it,
# never on the default ports 4000/4001.
write_env "$ROOT/etc/default/mockres"
log "frontend on $furl, dashboard on $durl"

deb_name=$(basename "$DEB")
cp "$DEB" "$ROOT/root/$deb_name" || { fail "copy $DEB into the root"; exit 1; }
apt_get() {
	ct env DEBIAN_FRONTEND=noninteractive apt-get -q -y \
	    -o Dpkg::Options::=--force-confdef \
	    -o Dpkg::Options::=--force-confold "$@"
}
if CT_TIMEOUT=180 apt_get update >"$WORK/apt.log" 2>&1 &&
    CT_TIMEOUT=300 apt_get install "/root/$deb_name" >>"$WORK/apt.log" 2>&1
then
	ok "apt-get install ./$deb_name; new packages:" \
	    "$(sed -n '/^The following NEW packages/,/^[0-9]* upgraded/p' \
	    "$WORK/apt.log" | sed '1d;$d' | tr -s ' \n' ' ')"
else
	tail -30 "$WORK/apt.log"
	fail "apt-get install ./$deb_name inside the container (log: $WORK/apt.log)"
	exit 1
fi

if ct getent passwd mockres >/dev/null; then
	ok "the package created the mockres user (sysusers.d, postinst)"
else
	fail "no mockres user after the install"
fi
if ct dpkg-query -W -f='${Conffiles}\n' mockres | grep -q ' /etc/default/mockres '
then
	ok "/etc/default/mockres is a conffile of the package"
else
	fail "/etc/default/mockres is not a conffile: $(ct dpkg-query -W -f='${Conffiles}' mockres)"
fi
if grep -q "^MOCKRES_FRONTEND_LISTEN=127.0.0.1:$fport\$" "$ROOT/etc/default/mockres"
then
	ok "the preseeded /etc/default/mockres was kept"
else
	fail "/etc/default/mockres was replaced by the install"
fi
if ct man -P cat mockresctl 2>/dev/null | grep -q 'query and steer' &&
    ct man -P cat 8 mockresd 2>/dev/null | grep -q 'mock resource daemon'; then
	ok "man mockresctl and man 8 mockresd work"
else
	fail "man mockresctl / man 8 mockresd do not show the pages"
fi
for f in /usr/share/bash-completion/completions/mockresctl \
    /usr/share/doc/mockres/README.md /usr/share/doc/mockres/design.md \
    /usr/share/doc/mockres/deploy.md; do
	if [ -f "$ROOT$f" ]; then
		ok "installed $f"
	else
		fail "not installed: $f"
	fi
done

UNITDIR_DEB=/lib/systemd/system
have_frontend=0
have_dashboard=0
[ -f "$ROOT$UNITDIR_DEB/mockres-frontend.service" ] && have_frontend=1
[ -f "$ROOT$UNITDIR_DEB/mockres-dashboard.service" ] && have_dashboard=1
services=mockresd.service
[ $have_frontend = 1 ] && services="$services mockres-frontend.service"
[ $have_dashboard = 1 ] && services="$services mockres-dashboard.service"
units="mockresd.socket $services mockres.target"

# ---- checks ---------------------------------------------------------------------
if out=$(ct systemd-analyze verify $units 2>&1) && [ -z "$out" ]; then
	ok "systemd-analyze verify $units: clean"
else
	fail "systemd-analyze verify: $out"
fi

for u in $units; do
	if [ "$(ct systemctl is-enabled "$u" 2>&1)" = enabled ]; then
		ok "$u enabled by the install"
	else
		fail "$u is '$(ct systemctl is-enabled "$u" 2>&1)', not enabled"
	fi
done
all_active() {
	local u
	for u in $units; do
		ct systemctl is-active -q "$u" || return 1
	done
}
if wait_for 60 all_active; then
	ok "every unit started by the install, no systemctl start"
else
	fail "not all of $units active after the install"
fi

for u in mockresd.socket $services; do
	if [ "$(ct systemctl is-active "$u")" = active ]; then
		ok "$u active"
	else
		fail "$u not active: $(ct systemctl status --no-pager -n 20 "$u")"
	fi
done

mockres_uid=$(ct getent passwd mockres | cut -d: -f3)
for u in $services; do
	pid=$(main_pid "$u")
	uid=$(ct stat -c %u "/proc/$pid" 2>/dev/null)
	if [ -n "$uid" ] && [ "$uid" = "$mockres_uid" ]; then
		ok "$u runs as mockres (uid $uid)"
	else
		fail "$u main pid '$pid' runs as uid '$uid', not mockres"
	fi
done

perm=$(ct stat -c '%U:%G %a' /run/mockres/mockresd.sock 2>&1)
if [ "$perm" = "mockres:mockres 660" ]; then
	ok "socket /run/mockres/mockresd.sock is $perm"
else
	fail "socket owner/mode: '$perm', want 'mockres:mockres 660'"
fi

status=$(ct mockresctl status 2>&1)
if [ $? = 0 ] && grep -Eq '^limit +(0|none)$' <<<"$status" &&
    grep -q '^hold  *200 ms' <<<"$status"; then
	ok "mockresctl status as root: limit 0 and hold 200 ms from the env file"
else
	fail "mockresctl status: $status"
fi

# mockresd runs in its own user namespace (PrivateUsers=yes): root must
# still be seen as uid 0, hence allowed to change it.
if ct mockresctl limit 0 >/dev/null 2>&1; then
	ok "mockresctl limit as root is allowed (uid 0 seen through PrivateUsers)"
else
	fail "mockresctl limit 0 as root refused"
fi

ct runuser -u nobody -- mockresctl status >/dev/null 2>&1
rc=$?
if [ $rc = 3 ]; then
	ok "mockresctl as nobody cannot reach the 0660 socket (exit 3)"
else
	fail "mockresctl as nobody exited $rc, want 3 (unreachable)"
fi

if [ $have_frontend = 1 ]; then
	if wait_for 30 http_is 200 "$furl/healthz"; then
		ok "frontend answers $furl/healthz from outside"
	else
		fail "frontend $furl/healthz: $(http_code "$furl/healthz")"
	fi

	about=$(timeout 120 ab -k -n 1000 -c 50 "$furl/part1/async" 2>&1)
	complete=$(awk '/^Complete requests:/ { print $3 }' <<<"$about")
	failures=$(awk '/^Failed requests:/ { print $3 }' <<<"$about")
	non2xx=$(awk '/^Non-2xx responses:/ { print $3 }' <<<"$about")
	if [ "$complete" = 1000 ] && [ "$failures" = 0 ] && [ -z "$non2xx" ]; then
		ok "ab -k -n 1000 -c 50 $furl/part1/async: 1000 complete, 0 failed" \
		    "($(awk '/^Requests per second:/ { print $4 }' <<<"$about") req/s)"
	else
		fail "ab: complete '$complete' failed '$failures'" \
		    "non-2xx '${non2xx:-0}'"
		echo "$about" | tail -25
	fi

	admitted=$(ct mockresctl --json status 2>/dev/null |
	    grep -o '"admitted":[0-9]*' | cut -d: -f2)
	if [ -n "$admitted" ] && [ "$admitted" -ge 1000 ]; then
		ok "mockresctl --json status counts the uses: admitted $admitted"
	else
		fail "mockresctl status after ab: admitted '$admitted', want >= 1000"
	fi
fi

# How many non-dashboard processes the dashboard shows with memory.
others_seen() {
	local n
	n=$(curl -s -m 5 "$1/api/stats" | grep -o '{"pid":[^}]*}' |
	    grep -v '"role":"dashboard"' | grep -c '"rss_kb":[1-9]')
	echo "$n"
	[ "$n" -gt 0 ]
}

if [ $have_dashboard = 1 ]; then
	if wait_for 30 http_is 200 "$durl/api/stats"; then
		stats=$(curl -s -m 5 "$durl/api/stats")
		ok "dashboard answers $durl/api/stats: ${stats:0:120}..."
		# ProtectProc=invisible must still show the other services'
		# processes (same user) to the dashboard.
		# Its /proc figures are refreshed every second or so.
		if wait_for 10 others_seen "$durl"; then
			others=$(others_seen "$durl")
			ok "dashboard reads /proc of $others other mockres processes"
		else
			fail "dashboard shows no other process's memory:" \
			    "$(curl -s -m 5 "$durl/api/stats")"
		fi
	else
		fail "dashboard $durl/api/stats: $(http_code "$durl/api/stats")"
	fi
fi

# Crash each service in turn: systemd restarts it and the system serves.
for u in $services; do
	before=$(main_pid "$u")
	ct systemctl kill -s KILL "$u"
	if wait_for 30 restarted "$u" "$before"; then
		ok "$u: after SIGKILL restarted (main pid $before -> $(main_pid "$u"))"
	else
		fail "$u: not restarted after SIGKILL:" \
		    "$(ct systemctl status --no-pager -n 20 "$u")"
	fi
	if [ $have_frontend = 1 ]; then
		if wait_for 30 http_is 200 "$furl/part1/async"; then
			ok "frontend serves /part1/async again after $u was killed"
		else
			fail "frontend /part1/async after $u was killed:" \
			    "$(http_code "$furl/part1/async")"
		fi
	fi
	if [ $have_dashboard = 1 ]; then
		if wait_for 30 http_is 200 "$durl/api/stats"; then
			ok "dashboard serves again after $u was killed"
		else
			fail "dashboard after $u was killed: $(http_code "$durl/api/stats")"
		fi
	fi
done
if ct mockresctl status >/dev/null 2>&1; then
	ok "mockresctl status after the crashes"
else
	fail "mockresctl status after the crashes"
fi

for u in $services; do
	case $u in
	mockresd.service) threshold=10 ;;
	*) threshold=20 ;;
	esac
	score=$(ct systemd-analyze security --no-pager "$u" 2>/dev/null |
	    awk '/Overall exposure level/ { print $(NF-2) }')
	if ct systemd-analyze security --threshold=$threshold "$u" \
	    >/dev/null 2>&1; then
		ok "$u exposure $score (target $((threshold / 10)).0), live"
	else
		fail "$u exposure $score over $((threshold / 10)).0, live"
	fi
done

none_active() {
	! ct systemctl is-active -q mockresd.socket $services
}
if CT_TIMEOUT=60 ct systemctl stop mockres.target && wait_for 30 none_active
then
	ok "systemctl stop mockres.target stops every unit"
else
	fail "units still active after stopping mockres.target"
fi

if [ "$failed" -gt 0 ]; then
	log "journal of the mockres units:"
	ct journalctl --no-pager -n 80 -u 'mockres*' 2>&1
fi

poweroff

# ---- reboot: the enabled target comes up by itself --------------------------
if boot "second boot"; then
	if CT_TIMEOUT=60 ct systemctl is-active -q mockres.target ||
	    wait_for 60 ct systemctl is-active -q mockres.target; then
		ok "mockres.target active after the reboot (enabled)"
	else
		fail "mockres.target not active after the reboot"
	fi
	if [ $have_frontend = 1 ]; then
		if wait_for 30 http_is 200 "$furl/part1/async"; then
			ok "frontend serves $furl/part1/async after the reboot"
		else
			fail "frontend after the reboot: $(http_code "$furl/part1/async")"
		fi
	fi
	if [ $have_dashboard = 1 ]; then
		if wait_for 30 http_is 200 "$durl/api/stats"; then
			ok "dashboard serves after the reboot"
		else
			fail "dashboard after the reboot: $(http_code "$durl/api/stats")"
		fi
	fi
	if ct mockresctl status >/dev/null 2>&1; then
		ok "mockresctl status after the reboot"
	else
		fail "mockresctl status after the reboot"
	fi
	if [ "$failed" -gt 0 ]; then
		ct journalctl -b --no-pager -n 40 -u 'mockres*' 2>&1
	fi

	# ---- the roles: a resource host, a frontend host (TLS) ------------
	roles_phase

	# ---- remove, purge -------------------------------------------------
	if CT_TIMEOUT=120 apt_get remove mockres >>"$WORK/apt.log" 2>&1; then
		ok "apt-get remove mockres"
	else
		tail -20 "$WORK/apt.log"
		fail "apt-get remove mockres"
	fi
	if wait_for 30 none_active; then
		ok "apt-get remove stopped every unit"
	else
		fail "units still active after apt-get remove"
	fi
	if ! ct test -e /usr/bin/mockresd && ! ct test -e "$UNITDIR_DEB/mockresd.service" &&
	    [ "$(http_code "$furl/healthz")" = 000 ]; then
		ok "after remove: no binaries, no units, nothing on $furl"
	else
		fail "after remove: binaries or units left, or $furl answers"
	fi
	if ct test -f /etc/default/mockres; then
		ok "apt-get remove keeps /etc/default/mockres"
	else
		fail "apt-get remove deleted /etc/default/mockres"
	fi
	if CT_TIMEOUT=120 apt_get purge mockres >>"$WORK/apt.log" 2>&1; then
		ok "apt-get purge mockres"
	else
		tail -20 "$WORK/apt.log"
		fail "apt-get purge mockres"
	fi
	left=$(ct find /etc/systemd/system -name 'mockres*' 2>&1)
	if ! ct test -e /etc/default/mockres && [ -z "$left" ] &&
	    ! ct dpkg-query -W -f='${db:Status-Status}' mockres 2>/dev/null |
	    grep -q installed; then
		ok "apt-get purge removed /etc/default/mockres and the enablement"
	else
		fail "after purge: settings or enablement left: $left"
	fi

	# ---- cmake --install on the same system ----------------------------
	# The package's user stays after a purge (Debian keeps system
	# users); delete it so that cmake --install must create it again.
	ct userdel mockres >/dev/null 2>&1
	ct groupdel mockres >/dev/null 2>&1
	if CT_TIMEOUT=120 ct cmake --install "$BUILD" >"$WORK/install.log" 2>&1
	then
		ok "cmake --install $BUILD inside the running system"
	else
		cat "$WORK/install.log"
		fail "cmake --install inside the container"
	fi
	if ct getent passwd mockres >/dev/null; then
		ok "cmake --install created the mockres user (sysusers.d)"
	else
		fail "no mockres user after cmake --install"
	fi
	if [ -f "$ROOT$ENV_FILE" ]; then
		ok "cmake --install installed $ENV_FILE"
	else
		fail "no $ENV_FILE after cmake --install"
	fi
	write_env "$ROOT$ENV_FILE"
	if CT_TIMEOUT=90 ct systemctl start mockres.target &&
	    wait_for 30 http_is 200 "$furl/healthz" &&
	    wait_for 30 http_is 200 "$durl/api/stats" &&
	    ct mockresctl status >/dev/null 2>&1; then
		ok "cmake --install: mockres.target ($UNITDIR) serves on $furl" \
		    "and $durl, mockresctl status works"
	else
		fail "cmake --install: mockres.target does not serve:" \
		    "$(ct systemctl status --no-pager -n 20 mockres.target \
		    $services 2>&1 | tail -30)"
	fi
	if ct man -P cat mockresctl 2>/dev/null | grep -q 'query and steer'; then
		ok "man mockresctl works after cmake --install"
	else
		fail "man mockresctl after cmake --install"
	fi
	if CT_TIMEOUT=60 ct systemctl stop mockres.target && wait_for 30 none_active
	then
		ok "systemctl stop mockres.target"
	else
		fail "units still active after stopping mockres.target"
	fi
	poweroff
fi

left=$(mounts_under_root)
if [ -z "$left" ]; then
	ok "no mounts left under $ROOT"
else
	fail "mounts left under $ROOT: $left"
fi

if [ "$failed" -gt 0 ]; then
	exit 1
fi
rm -rf "$ROOT"
exit 0
