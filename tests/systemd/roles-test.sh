#!/bin/bash
# roles-test.sh BUILD_DIR STAGE_DIR: the roles of a host, from
# /etc/default/mockres, without a running systemd.
#
# For each role (all on one host; a resource host with a TLS listener;
# a frontend host that dials mockresd over TLS), the units are installed
# into a stage (DESTDIR), mockres-generator is run on that role's
# environment file, its output is put where systemd would read it, and:
#   - the generator wrote what the role needs (the TLS socket and the
#     drop-in, or the masks, or nothing), and nothing for a bad address;
#   - systemd-analyze verify --root is clean on every unit of the role;
#   - systemd-analyze security --offline --root scores every service of
#     the role (drop-ins included) within its target, printed;
#   - mockres-check-keys, the units' ExecStartPre, passes a root:mockres
#     0640 key and refuses a 0644 one, a key owned by another user, a
#     missing file and a key without its certificate, with a message that
#     says what to run (ownership cases as root only).
# Exit 0 passed, 1 failed, 77 no systemd-analyze or host units.
set -u -o pipefail
BUILD=${1:?usage: roles-test.sh BUILD_DIR STAGE_DIR}
STAGE=${2:?usage: roles-test.sh BUILD_DIR STAGE_DIR}
HOST_UNITS=/usr/lib/systemd/system
[ -d /lib/systemd/system ] && HOST_UNITS=/lib/systemd/system

command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
[ -f "$HOST_UNITS/sysinit.target" ] || { echo "SKIP: no systemd units on this host"; exit 77; }

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}

# Exposure targets, times 10, as in tests/systemd.cmake: every role keeps
# them.
threshold() {
	case $1 in
	mockresd.service) echo 10 ;;
	*) echo 20 ;;
	esac
}

# stage ROLE ENVFILE: a fresh install in $STAGE/ROLE with the generator's
# output for ENVFILE in its /etc/systemd/system (the early dir's masks
# too: both outrank the units' own directory).  Prints the stage.
stage() {
	local s=$STAGE/$1 gen
	rm -rf "$s"
	mkdir -p "$s"
	DESTDIR=$s cmake --install "$BUILD" >"$s.log" 2>&1 ||
	    { cat "$s.log" >&2; return 1; }
	gen=$(find "$s" -name mockres-generator -type f | head -1)
	[ -x "$gen" ] || { echo "no mockres-generator installed" >&2; return 1; }
	mkdir -p "$s/gen/normal" "$s/gen/early" "$s/gen/late" \
	    "$s/etc/systemd/system"
	MOCKRES_GENERATOR_ENV_FILE=$2 "$gen" "$s/gen/normal" "$s/gen/early" \
	    "$s/gen/late" 2>"$s/gen.err" || return 1
	cp -a "$s/gen/normal/." "$s/gen/early/." "$s/etc/systemd/system/"
	echo "$s"
}

unitdir_of() {
	dirname "$(find "$1" -name mockresd.service -path '*/lib/systemd/system/*' | head -1)"
}

# verify_and_score STAGE ROLE UNIT...: verify each unit, score each service.
verify_and_score() {
	local s=$1 role=$2 u out rc score t
	shift 2
	cp -an "$HOST_UNITS/." "$(unitdir_of "$s")/"
	for u in "$@"; do
		out=$(systemd-analyze verify --root="$s" "$u" 2>&1)
		rc=$?
		check "$role: verify $u${out:+: $out}" [ $rc = 0 ] && [ -z "$out" ]
	done
	for u in "$@"; do
		[[ $u == *.service ]] || continue
		t=$(threshold "$u")
		out=$(systemd-analyze security --offline=yes --root="$s" \
		    --threshold="$t" --no-pager "$u" 2>&1)
		rc=$?
		score=$(awk '/Overall exposure level/ { print $(NF-2), $(NF-1) }' <<<"$out")
		check "$role: $u exposure $score (target <= $((t / 10)).0)" [ $rc = 0 ]
	done
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$STAGE"

# ---- all on one host: the generator adds nothing --------------------------
cp "$(dirname "$0")/../../systemd/mockres.env" "$tmp/env.one"
s=$(stage one "$tmp/env.one") || { fail "stage for one host"; exit 1; }
check "one host: the generator writes nothing" \
    [ -z "$(find "$s/gen/normal" "$s/gen/early" -mindepth 1)" ]
verify_and_score "$s" "one host" mockresd.socket mockresd.service \
    mockres-frontend.service mockres-dashboard.service mockres.target

# ---- a resource host with a TLS listener ----------------------------------
{
	cat "$tmp/env.one"
	echo 'MOCKRES_LISTEN_TLS="0.0.0.0:4002 [::]:4002"'
	echo 'MOCKRES_TLS_ADMIN=admin'
	echo 'MOCKRES_TLS_FRONTEND="fe1 fe2 fe3"'
	echo 'MOCKRES_TLS_CERT=/etc/mockres/tls/server.crt'
	echo 'MOCKRES_TLS_KEY=/etc/mockres/tls/server.key'
	echo 'MOCKRES_TLS_CA=/etc/mockres/tls/ca.crt'
} >"$tmp/env.res"
s=$(stage resource "$tmp/env.res") || { fail "stage for a resource host"; exit 1; }
sock=$s/gen/normal/mockresd-tls.socket
check "resource host: mockresd-tls.socket listens on both addresses" \
    sh -c "grep -qx 'ListenStream=0.0.0.0:4002' '$sock' &&
           grep -qx 'ListenStream=\[::\]:4002' '$sock'"
drop=$s/gen/normal/mockresd.service.d/50-tls-listener.conf
check "resource host: mockresd gets it with its Unix socket, and not the variable" \
    sh -c "grep -qx 'Sockets=mockresd.socket mockresd-tls.socket' '$drop' &&
           grep -qx 'UnsetEnvironment=MOCKRES_LISTEN_TLS' '$drop'"
check "resource host: sockets.target and mockres.target want it" \
    sh -c "[ -L '$s/gen/normal/sockets.target.wants/mockresd-tls.socket' ] &&
           [ -L '$s/gen/normal/mockres.target.wants/mockresd-tls.socket' ]"
check "resource host: nothing masked" [ -z "$(ls -A "$s/gen/early")" ]
check "resource host: mockresd keeps PrivateNetwork=yes, AF_UNIX only" \
    sh -c "! grep -q 'PrivateNetwork\|RestrictAddressFamilies\|IPAddress' '$drop'"
verify_and_score "$s" "resource host" mockresd.socket mockresd-tls.socket \
    mockresd.service mockres-frontend.service mockres-dashboard.service \
    mockres.target

# ---- a frontend host ---------------------------------------------------------
{
	cat "$tmp/env.one"
	echo 'MOCKRES_SOCKET=tls://mockres.lab:4002'
	echo 'MOCKRES_FRONTEND_LISTEN=0.0.0.0:4000'
	echo 'MOCKRES_TLS_CERT=/etc/mockres/tls/fe1.crt'
	echo 'MOCKRES_TLS_KEY=/etc/mockres/tls/fe1.key'
	echo 'MOCKRES_TLS_CA=/etc/mockres/tls/ca.crt'
} >"$tmp/env.fe"
s=$(stage frontend "$tmp/env.fe") || { fail "stage for a frontend host"; exit 1; }
check "frontend host: mockresd.socket and mockresd.service masked" \
    sh -c "[ \"\$(readlink '$s/gen/early/mockresd.socket')\" = /dev/null ] &&
           [ \"\$(readlink '$s/gen/early/mockresd.service')\" = /dev/null ]"
check "frontend host: no TLS listener" [ -z "$(ls -A "$s/gen/normal")" ]
verify_and_score "$s" "frontend host" mockres-frontend.service \
    mockres-dashboard.service mockres.target

# ---- what the generator refuses ---------------------------------------------
for bad in "4002" "localhost:4002" "[::1]" "0.0.0.0:x"; do
	printf 'MOCKRES_LISTEN_TLS="%s"\n' "$bad" >"$tmp/env.bad"
	s=$(stage bad "$tmp/env.bad") || { fail "stage for a bad address"; continue; }
	check "MOCKRES_LISTEN_TLS=\"$bad\": nothing generated, and said why ($(cat "$s/gen.err"))" \
	    sh -c "[ -z \"\$(ls -A '$s/gen/normal')\" ] && grep -qF \"'$bad'\" '$s/gen.err'"
done
rm -rf "$STAGE/bad"

# ---- mockres-check-keys --------------------------------------------------------
ck=$(dirname "$0")/../../systemd/mockres-check-keys
d=$tmp/tls
mkdir -p "$d"
for f in k.key c.crt ca.crt; do echo x >"$d/$f"; done
chmod 0640 "$d/k.key"
keys() {
	MOCKRES_TLS_KEY=$d/k.key MOCKRES_TLS_CERT=$d/c.crt MOCKRES_TLS_CA=$d/ca.crt \
	    "$ck" mockresd.service 2>"$tmp/ck.err"
}
refused() {
	if keys; then fail "$1 (passed)"; else ok "$1: $(cat "$tmp/ck.err")"; fi
}
check "check-keys: no TLS configured, nothing to check" \
    env -u MOCKRES_TLS_KEY "$ck" mockresd.service
if [ "$(id -u)" = 0 ]; then
	chown root:root "$d/k.key"
	check "check-keys: a root-owned 0640 key passes" keys
	chmod 0644 "$d/k.key"
	refused "check-keys: a 0644 key is refused"
	check "check-keys: ... and told what to run" \
	    grep -q "chown root:mockres $d/k.key && chmod 0640 $d/k.key" "$tmp/ck.err"
	chmod 0660 "$d/k.key"
	refused "check-keys: a group-writable key is refused"
	chmod 0640 "$d/k.key"
	chown nobody "$d/k.key"
	refused "check-keys: a key owned by another user is refused"
	chown root "$d/k.key"
else
	echo "(not root: the ownership cases are skipped)"
fi
rm "$d/ca.crt"
refused "check-keys: a missing CA is refused"
check "check-keys: ... as a missing file" grep -q "no such file" "$tmp/ck.err"
MOCKRES_TLS_KEY=$d/k.key "$ck" mockresd.service 2>"$tmp/ck.err"
check "check-keys: a key without its certificate is refused (exit $?)" \
    grep -q "MOCKRES_TLS_CERT is not" "$tmp/ck.err"

echo "systemd roles: $passed passed, $failed failed"
[ "$failed" = 0 ]
