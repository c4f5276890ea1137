#!/bin/bash
# help-vs-man.sh NAME BINARY MANPAGE
#
# Compares what NAME's --help lists with what its man page documents, as
# sets, and prints the difference:
#   - flags: every "-x" / "--long" token of --help (after a space, "[",
#     "(", "," or "|", so "one-per" is no flag) against every argument of
#     an Fl macro in the mdoc source;
#   - for mockresctl also the commands: the first word of each line of the
#     "commands:" block of --help against the .It Cm entries of the man
#     page's command list.
# Anything in --help and not in the man page fails.  Anything in the man
# page and not in --help fails too, unless it is in the PENDING list below.
# And every "(A..B, default D)" of --help must be in the man page's
# paragraph for that flag (issue 21: the man page said hold-spread
# "default 0" where the code has 100).
# Exit 0 same sets, 1 a difference, 2 usage.
set -u -o pipefail

# Documented but not yet in --help.  These are the flags and commands
# docs/design.md fixes for version 2, documented ahead of the code; delete
# each entry when the program's --help lists it (this test then says so,
# and passes either way).
# Anything else here needs a reason next to it.
declare -A PENDING=(
	[mockresd]=""
	[mockres-frontend]=""
	[mockres-dashboard]=""
	# --verbose, --help, --version: accepted, but the usage text does not
	# list them.
	[mockresctl]="--verbose --help --version"
)

NAME=${1:?usage: help-vs-man.sh NAME BINARY MANPAGE}
BIN=${2:?usage: help-vs-man.sh NAME BINARY MANPAGE}
MAN=${3:?usage: help-vs-man.sh NAME BINARY MANPAGE}
[ -x "$BIN" ] || { echo "FAIL: $BIN is not an executable"; exit 2; }
[ -f "$MAN" ] || { echo "FAIL: no man page $MAN"; exit 2; }

if ! help=$("$BIN" --help 2>&1); then
	echo "FAIL: $BIN --help exited non-zero:"
	echo "$help"
	exit 1
fi

help_flags() {
	# Long options are lower case ("--MODEL-KEY" is a placeholder).
	grep -oE '(^|[][ ,(|])(--[a-z][a-z0-9-]*|-[A-Za-z])([^A-Za-z0-9-]|$)' \
	    <<<"$help" | sed -E 's/^[][ ,(|]//; s/[^A-Za-z0-9-]$//' | sort -u
}

# Fl's arguments: every word after Fl up to the next macro, skipping
# delimiters ("Fl -help | -version" is two flags).
man_flags() {
	awk '/^\./ {
		on = 0
		for (i = 1; i <= NF; i++) {
			w = $i
			if (i == 1)
				sub(/^\./, "", w)
			if (w == "Fl") { on = 1; continue }
			if (w ~ /^[A-Z][a-z][a-z]?$/) { on = 0; continue }
			if (!on || w ~ /^[][|,.;:()]+$/) continue
			print "-" w
		}
	}' "$MAN" | sort -u
}

help_commands() {
	awk '/^commands:/ { on = 1; next }
	    on && /^$/ { on = 0 }
	    on && /^  [a-z]/ { print $1 }' <<<"$help" | sort -u
}

# The .It Cm words at the first level of the list that follows "The
# commands are as follows" (nested lists, such as the presets, are not
# commands); ".It Xo" takes the word of the .Cm line after it.
man_commands() {
	awk '/commands are as follows/ { want = 1; next }
	    want && /^\.Bl/ { depth++; if (depth == 1) on = 1; next }
	    on && /^\.El/ { depth--; if (depth == 0) { on = 0; want = 0 }; next }
	    on && depth == 1 && /^\.It Xo/ { xo = 1; next }
	    on && xo && /^\.Cm / { print $2; xo = 0; next }
	    on && depth == 1 && /^\.It Cm / { print $3 }' "$MAN" | sort -u
}

rc=0
pending=$(tr -s ' \t\n' '\n' <<<"${PENDING[$NAME]:-}" | sed '/^$/d' | sort -u)

# compare KIND HELP_SET MAN_SET
compare() {
	local kind=$1 h=$2 m=$3 only_help only_man unexpected landed
	only_help=$(comm -23 <(echo "$h") <(echo "$m") | sed '/^$/d')
	only_man=$(comm -13 <(echo "$h") <(echo "$m") | sed '/^$/d')
	unexpected=$(comm -23 <(echo "$only_man") <(echo "$pending") | sed '/^$/d')
	landed=$(comm -12 <(echo "$h") <(echo "$pending") | sed '/^$/d')
	echo "$NAME $kind in --help: $(echo $h)"
	echo "$NAME $kind in the man page: $(echo $m)"
	if [ -n "$only_help" ]; then
		echo "FAIL: $kind in $NAME --help but not in $(basename "$MAN"):" \
		    $only_help
		rc=1
	fi
	if [ -n "$unexpected" ]; then
		echo "FAIL: $kind in $(basename "$MAN") but not in $NAME --help:" \
		    $unexpected
		rc=1
	fi
	if [ -n "$only_man" ] && [ "$only_man" != "$unexpected" ]; then
		echo "note: documented ahead of the code (PENDING in $0):" \
		    $(comm -12 <(echo "$only_man") <(echo "$pending"))
	fi
	if [ -n "$landed" ]; then
		echo "note: now in --help, delete from PENDING in $0:" $landed
	fi
}

# Values: a flag whose --help entry ends in "(A..B, default D)" or
# "(default D)" (continuation lines joined) must say the same in its man
# page paragraph (from its ".It Fl" line to the next ".It" or ".El",
# joined, macros' names dropped): the numbers of the man page are held
# to the code that prints the help.
help_values() {
	awk '/^  -/ { if (rec != "") print rec; rec = $0; next }
	    /^                 / && rec != "" { rec = rec " " $0; next }
	    { if (rec != "") print rec; rec = "" }
	    END { if (rec != "") print rec }' <<<"$help" |
	    sed -nE 's/^ +(-[a-z], )?(--[a-z][a-z0-9-]*).*\(([^()]*default [^();]*)[;)].*$/\2\t\3/p' |
	    sed -E 's/ +/ /g'
}

man_paragraph() {
	awk -v flag="$1" '
	    /^\.It / { if (on) exit; if ($2 == "Fl" && "-" $3 == flag) { on = 1; next } }
	    /^\.El/ { if (on) exit }
	    on { line = $0; sub(/^\.[A-Z][a-z][a-z]? */, "", line); print line }' "$MAN" |
	    tr '\n' ' ' | sed -E 's/ +/ /g; s/ ([,.;])/\1/g'
}

values_rc=0
while IFS=$'\t' read -r flag want; do
	[ -n "$flag" ] || continue
	got=$(man_paragraph "$flag")
	if [[ "$got" != *"$want"* ]]; then
		echo "FAIL: $flag: --help says \"$want\"; $(basename "$MAN") says: $got"
		values_rc=1
	fi
done < <(help_values)
[ $values_rc = 0 ] || rc=1

compare flags "$(help_flags)" "$(man_flags)"
if [ "$NAME" = mockresctl ]; then
	compare commands "$(help_commands)" "$(man_commands)"
fi
if [ $rc = 0 ]; then
	echo "ok: $NAME --help and $(basename "$MAN") agree"
fi
exit $rc
