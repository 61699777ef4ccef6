#!/usr/bin/env bash
# record_fixtures.sh [VERSION...] - record the walker's memory fixtures,
# tests/fixtures/memory/3.X-SCENARIO.snap, from live targets (as root: the
# recorder stops the target with ptrace).  Default: every version 3.8-3.15.
#
# Interpreters: pyenv (~/.pyenv/versions/3.X.*) for 3.8-3.13, the sid
# chroot (/var/cache/strobe/sid, tests/provision.sh) for 3.14 and 3.15.
# Each target script is copied to /tmp/strobe-walk/ as the target sees it
# (inside the chroot for chroot interpreters), so every fixture names the
# same file.  The recorder (build/tools/record_snapshot, `make`) checks
# that its snapshot replays as the live walk did before writing it.
#
# Scenarios: steady (tests/fixtures/memory/steady.py).
set -euo pipefail
cd "$(dirname "$0")/.."

versions=${*:-"3.8 3.9 3.10 3.11 3.12 3.13 3.14 3.15"}
sid=${STROBE_SID_ROOT:-/var/cache/strobe/sid}
pyenv=${PYENV_ROOT:-$HOME/.pyenv}
rec=build/tools/record_snapshot
out=tests/fixtures/memory
[ -x "$rec" ] || { echo "record_fixtures: build $rec first (make)" >&2; exit 1; }

# argv of interpreter 3.X, and the root its files live in ("" for the host)
interp() {
	local v=$1 p
	for p in "$pyenv"/versions/"$v".*/bin/python"$v"; do
		[ -x "$p" ] && { echo "|$p"; return; }
	done
	[ -x "$sid/usr/bin/python$v" ] && { echo "$sid|/usr/bin/python$v"; return; }
	return 1
}

# wait (5 s at most) until every thread of pid sits in read(2)
wait_reads() {
	local pid=$1 i t nr all
	for i in $(seq 1 500); do
		all=1
		for t in /proc/"$pid"/task/*; do
			read -r nr _ <"$t/syscall" 2>/dev/null || nr=x
			[ "$nr" = 0 ] || all=0
		done
		[ "$all" = 1 ] && return 0
		sleep 0.01
	done
	return 1
}

record() {
	local v=$1 scenario=$2 spec root exe dir fifo pid line
	spec=$(interp "$v") || { echo "record_fixtures: no Python $v" >&2; return 1; }
	root=${spec%%|*}
	exe=${spec#*|}
	dir="$root/tmp/strobe-walk"
	mkdir -p "$dir"
	cp "$out/$scenario.py" "$dir/$scenario.py"
	fifo=$(mktemp -u /tmp/strobe-walk-ready.XXXXXX)
	mkfifo "$fifo"
	if [ -n "$root" ]; then
		chroot "$root" "$exe" "/tmp/strobe-walk/$scenario.py" >"$fifo" &
	else
		"$exe" "/tmp/strobe-walk/$scenario.py" >"$fifo" &
	fi
	pid=$!
	exec 3<"$fifo"
	rm -f "$fifo"
	line=""
	read -r -t 20 line <&3 || true
	local rc=0
	if [ "${line%% *}" != ready ] || ! wait_reads "$pid"; then
		echo "record_fixtures: $v $scenario: the target did not get ready" >&2
		rc=1
	elif ! "$rec" "$pid" "$out/$v-$scenario.snap.new" >/dev/null; then
		rc=1
	else
		mv "$out/$v-$scenario.snap.new" "$out/$v-$scenario.snap"
		echo "record_fixtures: $out/$v-$scenario.snap"
	fi
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	exec 3<&-
	return $rc
}

failed=0
for v in $versions; do
	record "$v" steady || failed=1
done
exit $failed
