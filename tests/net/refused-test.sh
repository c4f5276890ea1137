#!/bin/bash
# refused-test.sh BUILD_DIR SOURCE_DIR: handshakes mockresd refuses, from
# another host, with the everyday tools (openssl s_client, bash's
# /dev/tcp; test_tls covers the same on loopback with its own client,
# the rate limit's count after 10 s, and the refused HTTP report):
#   - no certificate, a certificate of another CA, an expired one, a
#     TLS 1.2-only client, plaintext bytes: each gets nothing but an
#     alert and the close;
#   - mockresd logs the first with the client host's address (10.0.0.30)
#     and the reason, and holds the other four back (one line per 10 s);
#   - a valid certificate that is no admin reads the status and is
#     DENIED "model set" (mockresctl exit 4); the admin may;
#   - the refused connections cost nothing after: mockresd's clients are
#     back to what they were.
# Exit 0 passed, 1 failed, 77 cannot run here.
set -u -o pipefail
NET_BUILD=$(cd "${1:?usage: refused-test.sh BUILD_DIR SOURCE_DIR}" && pwd)
NET_SRC=${2:?usage: refused-test.sh BUILD_DIR SOURCE_DIR}
NET_TEST="net refused at the handshake"
NET_DEADLINE=90
. "$NET_SRC/tests/net/lib.sh"
net_require openssl
net_require_tls

NET_FRONTENDS=fe1
net_up
net_pki || exit 1
"$NET_SRC/scripts/certs" "$NET_DIR/other" stranger >/dev/null &&
    "$NET_SRC/scripts/certs" --expired "$NET_PKI" old >/dev/null ||
    { fail "scripts/certs: another CA, an expired certificate"; exit 1; }
net_mockresd_up || exit 1
net_frontend_up fe1
check "fe1 connected over TLS" wait_for 10 net_healthy fe1
conns0=$(net_stat clients_connected)
target=$(net_addr res):$NET_TLS_PORT

# s_client NAME ARGS...: a TLS client on the client host that sends
# nothing and waits for mockresd's answer (an alert and the close).
s_client() {
	local name=$1
	shift
	net_on cli timeout 10 openssl s_client -connect "$target" \
	    -CAfile "$NET_PKI/ca.crt" -ign_eof "$@" </dev/null \
	    >"$NET_DIR/s_client.$name" 2>&1
}
refused() { # NAME PATTERN: s_client's output says why
	check "$1: refused ($(grep -o -m 1 "$2" "$NET_DIR/s_client.$1"))" \
	    grep -q "$2" "$NET_DIR/s_client.$1"
}
s_client none
refused none "alert certificate required"
s_client other -cert "$NET_DIR/other/stranger.crt" -key "$NET_DIR/other/stranger.key"
refused other "alert unknown ca"
s_client expired -cert "$NET_PKI/old.crt" -key "$NET_PKI/old.key"
refused expired "alert certificate expired"
s_client tls12 -tls1_2 -cert "$NET_PKI/user.crt" -key "$NET_PKI/user.key"
refused tls12 "alert protocol version"
# Plaintext: whatever comes back (an alert at most), then the close.
plain=$(net_on cli timeout 10 bash -c "exec 3<>/dev/tcp/${target%:*}/${target#*:} &&
    printf 'GET / HTTP/1.0\r\n\r\n' >&3 && cat <&3 | od -An -tx1 | head -c 60; echo ' closed'")
check "plaintext: closed by mockresd (answer:${plain})" \
    grep -q 'closed$' <<<"$plain"
check "plaintext: no HTTP in the answer" sh -c "! echo '$plain' | grep -q '48 54 54 50'"

sleep 0.3
lines=$(grep -c 'TLS handshake from' "$NET_DIR/mockresd.log")
first=$(grep -m 1 'TLS handshake from' "$NET_DIR/mockresd.log")
check "mockresd logged one line for the five: $first" [ "$lines" = 1 ]
check "... with the client host's address" grep -q "from $(net_addr cli):" <<<"$first"

# shellcheck disable=SC2046
out=$(net_ctl_tls cli user --json status 2>&1)
check "a valid non-admin certificate reads the status" grep -q '"admitted":' <<<"$out"
net_ctl_tls cli user model set hold-ms=100 >"$NET_DIR/ctl.user" 2>&1
rc=$?
check "... and is DENIED 'model set' (exit $rc: $(head -c 160 "$NET_DIR/ctl.user"))" [ $rc = 4 ]
net_ctl_tls cli admin model set hold-ms=400 >"$NET_DIR/ctl.admin" 2>&1
rc=$?
check "the admin may (exit $rc)" [ $rc = 0 ]
check "the hold is the admin's: $(net_stat hold_ms) ms" net_stat_is hold_ms 400

back() { net_stat_is clients_connected "$conns0"; }
check "the refused connections cost nothing after: clients back to $conns0" \
    wait_for 5 back
check "fe1 still serves through it all" net_healthy fe1
exit 0
