#!/bin/bash
# minbase-test.sh BUILD_DIR [WORK_DIR]
#
# The README's quick start on a new user's machine: a minimal Debian 12
# root (debootstrap --variant=minbase, nothing else), the source tree
# copied in as a git repository, then, as the README says,
#   scripts/start            until the frontend's /healthz and the
#                            dashboard's / answer, then Ctrl-C (SIGTERM)
#   scripts/test -L unit     the unit tests
# each in systemd-nspawn (no boot, the host's network, free ports for the
# two servers).  Everything the scripts need, they install in the root with
# apt-get from the Debian mirror: nothing comes from this machine's
# packages.  What the root borrows from the host is its view of the
# network: resolv.conf (nspawn) and the CA bundle, given to node as
# NODE_EXTRA_CA_CERTS, so that npm ci works behind a proxy that re-signs
# TLS.
#
# Caches in WORK_DIR (default BUILD_DIR/minbase-test): root.cache, the bare
# debootstrapped root (rebuilt when missing), copied fresh for every run;
# apt-archives, the .debs apt downloaded, so a warm run downloads nothing
# (it still installs everything).  The source is the work tree as git
# would commit it (tracked and untracked files, not the ignored ones).
#
# Exit 0 passed, 1 failed, 77 cannot run here (not root, a tool missing,
# the mirror unreachable, a sanitizer build).
set -u -o pipefail

BUILD=${1:?usage: minbase-test.sh BUILD_DIR [WORK_DIR]}
BUILD=$(cd "$BUILD" && pwd)
WORK=${2:-$BUILD/minbase-test}
MIRROR=${MOCKRES_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
CACHE_KEY="$SUITE minbase"
MACHINE=mockres-minbase-$$
START_TIMEOUT=${MOCKRES_MINBASE_START_TIMEOUT:-900}
TEST_TIMEOUT=${MOCKRES_MINBASE_TEST_TIMEOUT:-1200}

passed=0
failed=0
skipped=0
start_pid=

log() { printf '%s %s\n' "$(date +%T)" "$*"; }
ok() { passed=$((passed + 1)); log "ok   $*"; }
fail() { failed=$((failed + 1)); log "FAIL $*"; }
skip() {
	log "SKIP: $*"
	skipped=1
	echo "minbase test: 0 passed, 0 failed (skipped)"
	exit 77
}

[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, systemd-nspawn)"
for tool in debootstrap systemd-nspawn curl git tar ss; do
	command -v "$tool" >/dev/null || skip "$tool is not installed"
done
cache_var() {
	sed -n "s/^$1:[A-Z]*=//p" "$BUILD/CMakeCache.txt"
}
SRC=$(cache_var CMAKE_HOME_DIRECTORY)
[ -n "$SRC" ] && [ -d "$SRC" ] || skip "$BUILD/CMakeCache.txt names no source dir"
[ "$(cache_var MOCKRES_SANITIZE)" = ON ] &&
    skip "sanitizer build: this test builds its own, the same for every build"
git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
    skip "$SRC is not a git work tree (the test copies what git lists)"
if ! curl -sf -m 20 -o /dev/null "$MIRROR/dists/$SUITE/Release"; then
	skip "the Debian mirror $MIRROR cannot be reached"
fi

mkdir -p "$WORK" && WORK=$(cd "$WORK" && pwd -P)
CACHE=$WORK/root.cache
ROOT=$WORK/root
ARCHIVES=$WORK/apt-archives

on_exit() {
	if [ -n "$start_pid" ] && kill -0 "$start_pid" 2>/dev/null; then
		log "cleanup: stopping the container (pid $start_pid)"
		kill -TERM "$start_pid" 2>/dev/null
		sleep 5
		kill -KILL "$start_pid" 2>/dev/null
		wait "$start_pid" 2>/dev/null
	fi
	if [ "$skipped" = 0 ]; then
		[ "$failed" -gt 0 ] &&
		    log "the root is kept for a look: $ROOT (logs: $WORK/*.log)"
		echo "minbase test: $passed passed, $failed failed"
	fi
}
trap on_exit EXIT
trap 'fail "interrupted"; exit 1' INT TERM HUP

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

http_code() {
	curl -s -o /dev/null -m 5 -w '%{http_code}' "$1"
}

# ---- the cached bare root ---------------------------------------------------
t_all=$SECONDS
if [ ! -f "$CACHE/.mockres-cache" ] ||
    [ "$(cat "$CACHE/.mockres-cache")" != "$CACHE_KEY" ]; then
	log "debootstrap --variant=minbase $SUITE (cold cache): $CACHE"
	rm -rf "$CACHE" "$CACHE.tmp"
	t0=$SECONDS
	if ! nice debootstrap --variant=minbase "$SUITE" "$CACHE.tmp" \
	    "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
		tail -20 "$WORK/debootstrap.log"
		fail "debootstrap $SUITE from $MIRROR (log: $WORK/debootstrap.log)"
		exit 1
	fi
	echo "$CACHE_KEY" >"$CACHE.tmp/.mockres-cache"
	mv "$CACHE.tmp" "$CACHE"
	ok "debootstrap --variant=minbase $SUITE in $((SECONDS - t0)) s"
else
	log "using the cached bare root $CACHE"
fi

t0=$SECONDS
rm -rf "$ROOT"
cp -a "$CACHE" "$ROOT" || { fail "copy $CACHE to $ROOT"; exit 1; }
mkdir -p "$ARCHIVES/partial"
for p in gcc libc6-dev cmake git; do
	if chroot "$ROOT" dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "ok installed"; then
		fail "the fresh root already has $p: not a minimal root"
	fi
done

# The work tree as git would commit it, made a repository again (the
# scripts list files with git ls-files).
dest=$ROOT/root/mockres
mkdir -p "$dest"
if ! (cd "$SRC" && git ls-files -z -co --exclude-standard |
    tar --null --ignore-failed-read -T - -cf - 2>/dev/null) |
    tar -xf - -C "$dest"; then
	fail "copy the source tree from $SRC"
	exit 1
fi
git -C "$dest" init -q &&
    git -C "$dest" add -A &&
    git -C "$dest" -c user.name=minbase-test -c user.email=test@localhost \
    commit -q -m "minbase test snapshot" ||
    { fail "git init the copied tree"; exit 1; }
log "fresh root and source ($(git -C "$dest" ls-files | wc -l) files)" \
    "in $((SECONDS - t0)) s"

# Run "$@" in the root, in /root/mockres, as root with a login-like
# environment.  --kill-signal=SIGTERM: a SIGTERM to nspawn reaches the
# command (pid 1 in the container) as SIGTERM, as Ctrl-C would.
nspawn_args=(-q --register=no --keep-unit --console=pipe
    --machine="$MACHINE" --kill-signal=SIGTERM -D "$ROOT"
    --bind="$ARCHIVES:/var/cache/apt/archives" --chdir=/root/mockres
    --setenv=HOME=/root --setenv=LANG=C.UTF-8)
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
	cp /etc/ssl/certs/ca-certificates.crt "$WORK/host-ca.crt"
	nspawn_args+=(--bind-ro="$WORK/host-ca.crt:/run/host-ca.crt"
	    --setenv=NODE_EXTRA_CA_CERTS=/run/host-ca.crt)
fi

# ---- scripts/start ---------------------------------------------------------
fport=$(free_port) && dport=$(free_port) && [ "$fport" != "$dport" ] ||
    { fail "no free port"; exit 1; }
furl=http://127.0.0.1:$fport
durl=http://127.0.0.1:$dport
log "scripts/start, frontend on $furl, dashboard on $durl"
t0=$SECONDS
# No timeout(1) around it: it would signal nspawn twice (the process and
# its group), and a second SIGTERM makes nspawn SIGKILL the container.
# The loop below is the deadline.
nice systemd-nspawn "${nspawn_args[@]}" \
    --setenv=MOCKRES_FRONTEND_LISTEN="127.0.0.1:$fport" \
    --setenv=MOCKRES_DASHBOARD_LISTEN="127.0.0.1:$dport" \
    scripts/start </dev/null >"$WORK/start.log" 2>&1 &
start_pid=$!

up=0
while [ $((SECONDS - t0)) -lt "$START_TIMEOUT" ]; do
	if ! kill -0 "$start_pid" 2>/dev/null; then
		break
	fi
	if [ "$(http_code "$furl/healthz")" = 200 ] &&
	    [ "$(http_code "$durl/")" = 200 ]; then
		up=1
		break
	fi
	sleep 1
done
if [ $up = 1 ]; then
	ok "scripts/start: frontend /healthz and dashboard / answer 200" \
	    "after $((SECONDS - t0)) s"
else
	tail -40 "$WORK/start.log"
	fail "scripts/start: not serving after $((SECONDS - t0)) s" \
	    "(log: $WORK/start.log)"
fi

if [ $up = 1 ]; then
	body=$(curl -s -m 10 "$furl/part1/serial")
	if [ "$body" = OK ]; then
		ok "GET /part1/serial answers OK"
	else
		fail "GET /part1/serial answered '$body'"
	fi
	if grep -q "hard mode is on" "$WORK/start.log"; then
		ok "scripts/start says that hard mode is on and how to turn it off"
	else
		fail "scripts/start does not mention hard mode"
	fi
fi

# Ctrl-C: SIGTERM to the script, which stops the three and exits 0.
gone() { ! kill -0 "$start_pid" 2>/dev/null; }
kill -TERM "$start_pid" 2>/dev/null
for _ in $(seq 120); do
	gone && break
	sleep 0.5
done
gone || { fail "still running 60 s after SIGTERM"; kill -KILL "$start_pid"; }
wait "$start_pid"
rc=$?
start_pid=
if [ $rc = 0 ] && grep -q "scripts/start: stopped" "$WORK/start.log"; then
	ok "scripts/start stopped by SIGTERM, exit 0"
else
	tail -20 "$WORK/start.log"
	fail "scripts/start after SIGTERM: exit $rc"
fi
if [ "$(http_code "$furl/healthz")" = 000 ]; then
	ok "nothing answers on $furl any more"
else
	fail "$furl still answers after the stop"
fi
t_start=$((SECONDS - t0))

# ---- scripts/test -L unit --------------------------------------------------
t0=$SECONDS
log "scripts/test -L unit"
timeout --foreground -k 30 "$TEST_TIMEOUT" nice systemd-nspawn "${nspawn_args[@]}" \
    scripts/test -L unit </dev/null >"$WORK/test.log" 2>&1
rc=$?
if [ $rc = 0 ] && grep -q "^100% tests passed" "$WORK/test.log"; then
	ok "scripts/test -L unit: $(grep -E '^100% tests passed' "$WORK/test.log")" \
	    "in $((SECONDS - t0)) s"
else
	grep -v -E '^(Get|Preparing|Unpacking|Selecting|Setting up)' \
	    "$WORK/test.log" | tail -40
	fail "scripts/test -L unit: exit $rc (log: $WORK/test.log)"
fi
t_test=$((SECONDS - t0))

log "times: scripts/start $t_start s, scripts/test -L unit $t_test s," \
    "whole test $((SECONDS - t_all)) s"
[ "$failed" = 0 ] || exit 1
rm -rf "$ROOT"
exit 0
