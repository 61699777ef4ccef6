#!/usr/bin/env bash
# bench/bpf/run.sh: the floor of a BPF sampling engine on this machine - how
# many perf-event samples per second reach a BPF program on a thread of a
# spinning Python, and what draining them costs, with a wake-up per record
# and without (drained every 10 ms).  Needs root (CAP_BPF, CAP_PERFMON),
# clang, bpftool and libbpf-dev.  Figures: docs/bpf-engine.md.
#   bench/bpf/run.sh [--build]   (--build: only build the driver, $TMPDIR/strobe-bench-bpf/floor)
set -euo pipefail
cd "$(dirname "$0")"
out=${TMPDIR:-/tmp}/strobe-bench-bpf
mkdir -p "$out"
clang -O2 -g -target bpf -I/usr/include/$(gcc -dumpmachine) -c floor.bpf.c -o "$out/floor.bpf.o"
bpftool gen skeleton "$out/floor.bpf.o" name floor_bpf > "$out/floor.skel.h"
gcc -O2 -Wall -Wextra -Werror -I"$out" -o "$out/floor" floor.c -lbpf
[ "${1:-}" = --build ] && exit 0
python3 -c 'while True: pass' &
target=$!
trap 'kill $target' EXIT
sleep 0.3
secs=${SECONDS_PER_RUN:-3}
echo "machine: $(nproc) CPUs, kernel $(uname -r), perf_event_max_sample_rate $(cat /proc/sys/kernel/perf_event_max_sample_rate)"
for rate in 1000 10000 50000 100000; do
	for mode in wake batch; do
		"$out/floor" "$target" "$rate" "$secs" "$mode"
	done
done
