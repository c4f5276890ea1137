#!/bin/bash
# verify.sh BUILD_DIR STAGE_DIR
#
# systemd-analyze verify on the units as installed: DESTDIR=STAGE cmake
# --install, the host's own units copied beside ours (verify --root needs
# sysinit.target and friends), then verify with --root=STAGE so that
# ExecStart= is checked against the installed binaries.  Any output counts
# as a failure: verify exits 0 on unknown keys and only warns.
set -u -o pipefail
BUILD=${1:?usage: verify.sh BUILD_DIR STAGE_DIR}
STAGE=${2:?usage: verify.sh BUILD_DIR STAGE_DIR}
HOST_UNITS=/usr/lib/systemd/system
[ -d /lib/systemd/system ] && HOST_UNITS=/lib/systemd/system

command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
[ -f "$HOST_UNITS/sysinit.target" ] || { echo "SKIP: no systemd units on this host"; exit 77; }

rm -rf "$STAGE"
if ! DESTDIR="$STAGE" cmake --install "$BUILD" >"$STAGE.log" 2>&1; then
	cat "$STAGE.log"
	echo "FAIL: cmake --install into $STAGE"
	exit 1
fi
unitdir=$(dirname "$(find "$STAGE" -name mockresd.service | head -1)")
[ -d "$unitdir" ] || { echo "FAIL: no mockresd.service installed"; exit 1; }
units=$(cd "$unitdir" && ls mockres*.service mockresd.socket mockres.target)
cp -an "$HOST_UNITS/." "$unitdir/"

passed=0
failed=0
for u in $units; do
	out=$(systemd-analyze verify --root="$STAGE" "$u" 2>&1)
	rc=$?
	if [ $rc = 0 ] && [ -z "$out" ]; then
		echo "ok   verify $u"
		passed=$((passed + 1))
	else
		echo "FAIL verify $u (exit $rc): $out"
		failed=$((failed + 1))
	fi
done
for f in sysusers.d/mockres.conf tmpfiles.d/mockres.conf; do
	if [ -n "$(find "$STAGE" -path "*/$f")" ]; then
		echo "ok   installed $f"
		passed=$((passed + 1))
	else
		echo "FAIL not installed: $f"
		failed=$((failed + 1))
	fi
done
echo "systemd verify: $passed passed, $failed failed"
[ $failed = 0 ]
