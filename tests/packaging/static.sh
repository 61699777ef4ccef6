#!/usr/bin/env bash
# make static: build/strobe-static has no program interpreter and no shared
# library, and works copied alone into a root that has nothing else (only
# /proc mounted, as every container has, and /dev for the terminal):
# --version, attach with a collapsed output, --native-stacks (libdw static),
# --live drawn with strobe's own terminfo entry; then copied into the sid
# root, `run` of the root's python3.15.
set -euo pipefail
cd "$(dirname "$0")/../.."
sid=${STROBE_SID_ROOT:-/var/cache/strobe/sid}
bin=build/strobe-static
say() { printf 'static: %s\n' "$*"; }
fail() { printf 'static: FAILED: %s\n' "$*" >&2; exit 1; }

make -s static
readelf -lW "$bin" | grep -q 'Requesting program interpreter' && fail "$bin has a program interpreter"
readelf -dW "$bin" | grep -q NEEDED && fail "$bin needs shared libraries"
say "$bin: no program interpreter, no NEEDED ($(stat -c %s "$bin") bytes)"

work=$(mktemp -d /tmp/strobe-static-XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
	rm -f "$sid/tmp/strobe-static-test"
}
trap cleanup EXIT
root=$work/root
mkdir -p "$root/proc" "$root/dev"
cp "$bin" "$root/strobe"
# in a mount namespace of its own: the mounts go with it
in_root() { unshare -m sh -c 'mount -t proc proc "$0/proc" && mount --bind /dev "$0/dev" && exec chroot "$0" "$@"' "$root" "$@"; }

v=$(in_root /strobe --version)
grep -q 'statically linked' <<<"$v" || fail "--version in the empty root: $v"
say "--version in an empty root: $(tail -1 <<<"$v")"

/usr/bin/python3 -c '
import select
def spin_static():
    while True: pass
def wait_static():
    select.select([], [], [], 60)
import threading
threading.Thread(target=wait_static, daemon=True).start()
spin_static()' &
pids+=($!)
target=$!
sleep 0.5
in_root /strobe attach -d 1 --collapsed -o /out.txt "$target" >"$work/attach.log"
grep -q 'spin_static' "$root/out.txt" || fail "attach from the empty root: no spin_static in $(head -c 500 "$root/out.txt")"
say "attach -d 1 from the empty root: $(head -1 "$work/attach.log")"

in_root /strobe attach -a --native-stacks -d 1 --collapsed -o /native.txt "$target" >"$work/native.log"
grep -q 'wait_static:[0-9]*;[^ ]*select' "$root/native.txt" ||
	fail "--native-stacks from the empty root: no native select frame above wait_static:
$(cut -c1-300 "$root/native.txt")"
say "--native-stacks from the empty root: $(grep -o 'wait_static:[0-9]*;[^ ]*' "$root/native.txt" | head -1)"

# the live view: ncurses finds no terminfo in the root, strobe unpacks its own
# (into /dev/shm here, the root having no /tmp); 'q' ends it after -d
(sleep 3; printf q) | TERM=xterm-256color script -qefc \
	"unshare -m sh -c 'mount -t proc proc $root/proc && mount --bind /dev $root/dev && exec chroot $root /strobe attach --live -d 1 $target'" \
	"$work/live.log" >/dev/null 2>&1 || fail "--live in the empty root failed: $(tail -c 300 "$work/live.log")"
grep -q 'PROFILING COMPLETE\|PROFILING FINISHED' "$work/live.log" ||
	fail "--live in the empty root drew no final screen: $(tail -c 300 "$work/live.log" | tr -cd '[:print:]\n')"
say "--live in the empty root: drawn with strobe's own xterm-256color entry"

if [[ -x $sid/usr/bin/python3.15 ]]; then
	cp "$bin" "$sid/tmp/strobe-static-test"
	unshare -m sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "$sid" \
		/tmp/strobe-static-test run -d 1 --collapsed -o /tmp/strobe-static-out.txt -- \
		python3.15 -c 'def spin_sid():
    while True: pass
spin_sid()' >"$work/sid.log"
	grep -q spin_sid "$sid/tmp/strobe-static-out.txt" || fail "run in the sid root: no spin_sid"
	rm -f "$sid/tmp/strobe-static-out.txt"
	say "run -- python3.15 inside the sid root: $(head -1 "$work/sid.log")"
else
	fail "no sid root at $sid (tests/provision.sh makes it)"
fi
say ok
