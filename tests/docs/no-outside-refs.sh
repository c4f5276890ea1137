#!/bin/bash
# no-outside-refs.sh SOURCE_DIR: no file of the repository points outside
# it.  The design reference is docs/design.md; a clone has no folder beside it,
# so neither a path into it nor its DESIGN file may be named.  Exit 0
# none found, 1 found (listed), 77 not a git checkout.
set -u
cd "${1:?usage: no-outside-refs.sh SOURCE_DIR}" || exit 1
git rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
    { echo "SKIP: not a git checkout"; exit 77; }
# Spelled in pieces so that this file does not match itself.
shared='\.\./'"shared|/work/"'shared'
design='DESIGN''\.md'
if hits=$(git grep -n -I -E "$shared|$design" -- . ':!*.png'); then
	echo "FAIL: these point outside the repository (use docs/design.md):"
	echo "$hits"
	exit 1
fi
echo "ok: no file points outside the repository"
