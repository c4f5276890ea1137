#!/bin/bash
# completion-test.sh FILE: sources the bash completion of mockresctl and
# checks what it offers for a few command lines, as bash would ask it
# (COMP_LINE, COMP_POINT, COMP_WORDS split at COMP_WORDBREAKS).
set -u
FILE=${1:?usage: completion-test.sh COMPLETION_FILE}
# shellcheck source=/dev/null
source "$FILE" || { echo "FAIL: cannot source $FILE"; exit 1; }
complete -p mockresctl >/dev/null 2>&1 ||
    { echo "FAIL: $FILE registers no completion for mockresctl"; exit 1; }

passed=0
failed=0

# expect LINE WANTED...: the sorted offers for LINE (cursor at its end).
expect() {
	local line=$1 want got
	shift
	want=$(printf '%s\n' "$@" | sed '/^$/d' | sort | tr '\n' ' ')
	COMP_LINE=$line
	COMP_POINT=${#line}
	# What bash itself hands over: words split at the word breaks.
	read -r -a COMP_WORDS <<<"${line//=/ = }"
	[[ $line =~ [[:space:]]$ ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_mockresctl mockresctl "${COMP_WORDS[COMP_CWORD]}" 2>/dev/null
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort | tr '\n' ' ')
	if [ "$got" = "$want" ]; then
		passed=$((passed + 1))
		echo "ok   '$line' -> $got"
	else
		failed=$((failed + 1))
		echo "FAIL '$line' -> '$got', want '$want'"
	fi
}

expect "mockresctl " bench clients hold limit model reset-peak status use watch
expect "mockresctl st" status
expect "mockresctl r" reset-peak
expect "mockresctl --" --help --json --socket --tls-ca --tls-cert --tls-key --verbose --version
expect "mockresctl --socket tls://h:4002 --tls-ca ca.crt --json mo" model
expect "mockresctl --socket /tmp/x.sock --json mo" model
expect "mockresctl watch -" -i
expect "mockresctl use --" --async --hold-ms
expect "mockresctl bench -" --async --hold-ms -P -c -n
# Numbers: nothing to offer.
expect "mockresctl bench -c "
expect "mockresctl model " preset set
expect "mockresctl model preset " api cpu ecto io overloaded-db pool
expect "mockresctl model preset o" overloaded-db
expect "mockresctl model set queue" queue= queue-discipline= queue-timeout-ms=
expect "mockresctl model set usl" usl-kappa= usl-sigma=
expect "mockresctl model set slots=10 cont" contention=
# After "=" bash replaces only what follows it (COMP_WORDBREAKS has "=").
expect "mockresctl model set contention=" cpu none usl
expect "mockresctl model set hold-dist=lo" lognormal
expect "mockresctl model set queue-discipline=c" codel
expect "mockresctl model set slots="

echo "bash completion: $passed passed, $failed failed"
[ "$failed" = 0 ]
