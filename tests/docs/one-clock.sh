#!/bin/bash
# one-clock.sh SOURCE_DIR: the monotonic clock is read in one place,
# common/clock.c (clock_now_ns, _us, _ms, _ms_frac); no program, test or
# tool keeps a copy of its own (issue 21: tests/support had sup_now_ms
# beside it).  Exit 0 none found, 1 found (listed), 77 not a git checkout.
set -u
cd "${1:?usage: one-clock.sh SOURCE_DIR}" || exit 1
git rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
    { echo "SKIP: not a git checkout"; exit 77; }
# Spelled in pieces so that this file does not match itself.
pat='clock_gettime *\( *CLOCK_MONO''TONIC|gettimeof''day *\(|sup_now''_ms'
if hits=$(git grep -n -I -E "$pat" -- '*.c' '*.h' ':!common/clock.c'); then
	echo "FAIL: a second clock; use common/clock.h:"
	echo "$hits"
	exit 1
fi
echo "ok: the monotonic clock is read in common/clock.c only"
