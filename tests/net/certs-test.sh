#!/bin/bash
# certs-test.sh SOURCE_DIR: scripts/certs makes what it says.
#   - a CA, mockresd's certificate (the SANs asked for, serverAuth) and a
#     client certificate per NAME (CN = NAME, clientAuth), all verifying
#     against the CA; keys EC P-256, mode 0600;
#   - a second run keeps every file byte for byte, and adds a new client
#     signed by the same CA;
#   - other server names are refused (exit 1, nothing changed);
#   - --expired makes a certificate that fails to verify as expired;
#   - bad names and options are usage errors (exit 2).
# Needs only openssl.  Exit 0 passed, 1 failed, 77 no openssl.
set -u -o pipefail
SRC=${1:?usage: certs-test.sh SOURCE_DIR}
CERTS=$SRC/scripts/certs
command -v openssl >/dev/null || { echo "SKIP: no openssl"; exit 77; }

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
d=$tmp/lab

check "first run makes a CA, mockresd's pair and two clients" \
    "$CERTS" --server-name mockres.lab --server-ip 10.9.0.1 \
    --server-ip fd00::1 "$d" admin frontend >"$tmp/out1"

for f in ca server admin frontend; do
	check "$f.key is mode 600" [ "$(stat -c %a "$d/$f.key")" = 600 ]
	check "$f.key is EC P-256" \
	    sh -c "openssl pkey -in '$d/$f.key' -noout -text | grep -q 'NIST CURVE: P-256'"
done
check "server and clients verify against ca.crt" \
    sh -c "openssl verify -CAfile '$d/ca.crt' '$d/server.crt' '$d/admin.crt' \
    '$d/frontend.crt' >/dev/null"
san=$(openssl x509 -in "$d/server.crt" -noout -ext subjectAltName | tail -1)
check "server SAN has the name and both addresses ($san)" \
    [ "$san" = "    DNS:mockres.lab, IP Address:10.9.0.1, IP Address:FD00:0:0:0:0:0:0:1" ]
check "server certificate is for serverAuth" \
    sh -c "openssl x509 -in '$d/server.crt' -noout -ext extendedKeyUsage | grep -q 'Server Authentication'"
check "the names are accepted by openssl's own host check" \
    sh -c "openssl verify -CAfile '$d/ca.crt' -verify_hostname mockres.lab '$d/server.crt' &&
           openssl verify -CAfile '$d/ca.crt' -verify_ip 10.9.0.1 '$d/server.crt'" \
    >/dev/null
check "a wrong name is not" \
    sh -c "! openssl verify -CAfile '$d/ca.crt' -verify_hostname other.lab '$d/server.crt'" \
    >/dev/null 2>&1
subj=$(openssl x509 -in "$d/admin.crt" -noout -subject)
check "admin's subject is CN = admin ($subj)" [ "$subj" = "subject=CN = admin" ]
check "client certificate is for clientAuth" \
    sh -c "openssl x509 -in '$d/admin.crt' -noout -ext extendedKeyUsage | grep -q 'Client Authentication'"

sums() { (cd "$d" && sha256sum ./*.crt ./*.key | sort); }
before=$(sums)
check "second run, same arguments, succeeds" \
    "$CERTS" --server-ip fd00::1 --server-name mockres.lab \
    --server-ip 10.9.0.1 "$d" admin frontend >"$tmp/out2"
check "second run changes nothing" [ "$(sums)" = "$before" ]
check "second run says it kept everything" \
    sh -c "[ \$(grep -c keeping '$tmp/out2') = 4 ]"

check "a third run adds a client" "$CERTS" --server-name mockres.lab \
    --server-ip 10.9.0.1 --server-ip fd00::1 "$d" fe2 >/dev/null
check "the new client is signed by the same CA" \
    sh -c "openssl verify -CAfile '$d/ca.crt' '$d/fe2.crt' >/dev/null"

before=$(sums)
"$CERTS" --server-name other.lab "$d" >"$tmp/out3" 2>&1
rc=$?
check "other server names are refused (exit $rc)" [ $rc = 1 ]
check "the refusal says which files to remove" \
    grep -q "remove $d/server.crt" "$tmp/out3"
check "the refusal changed nothing" [ "$(sums)" = "$before" ]
check "no temporary files are left" \
    sh -c "[ -z \"\$(ls -A '$d' | grep -v '\\.\\(crt\\|key\\)\$')\" ]"

check "--expired makes a client" "$CERTS" --expired "$d" old >/dev/null
out=$(openssl verify -CAfile "$d/ca.crt" "$d/old.crt" 2>&1)
check "the expired one fails to verify as expired" \
    grep -q "certificate has expired" <<<"$out"

check "another DIR gets another CA" "$CERTS" "$tmp/other" stranger >/dev/null
check "its client does not verify against the first CA" \
    sh -c "! openssl verify -CAfile '$d/ca.crt' '$tmp/other/stranger.crt'" \
    >/dev/null 2>&1
san=$(openssl x509 -in "$tmp/other/server.crt" -noout -ext subjectAltName | tail -1)
check "the default server names are for loopback ($san)" \
    [ "$san" = "    DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1" ]

for bad in "server" "ca" "a b" "-x" ".hidden" "$(printf 'x%.0s' $(seq 65))"; do
	"$CERTS" "$tmp/bad" "$bad" >/dev/null 2>&1
	rc=$?
	check "client name '$bad' is a usage error (exit $rc)" [ $rc = 2 ]
done
"$CERTS" --server-ip '[::1]' "$tmp/bad" >/dev/null 2>&1
rc=$?
check "--server-ip [::1] is a usage error (exit $rc)" [ $rc = 2 ]
"$CERTS" --days 0 "$tmp/bad" >/dev/null 2>&1
rc=$?
check "--days 0 is a usage error (exit $rc)" [ $rc = 2 ]
check "--help prints the usage" sh -c "'$CERTS' --help | grep -q 'scripts/certs'"

echo "certs test: $passed passed, $failed failed"
[ "$failed" = 0 ]
