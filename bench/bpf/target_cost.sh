#!/usr/bin/env bash
# bench/bpf/target_cost.sh: what sampling costs the target - bench/bpf/deep.py
# (a fixed piece of work 30 frames deep) reports its work per CPU second and
# per wall second every second; strobe attaches for SECONDS at a time at RATE,
# with no strobe, the reader and --engine bpf in turn, ROUNDS times; prints
# each condition's median of the per-second figures.  The BPF program runs
# in the target's context, so its cost shows as less work per CPU second
# (when the kernel accounts the interrupt to the thread) or per wall second.
# CONDS picks the conditions (default "none reader bpf"); two more take
# bench/bpf/run.sh's floor driver (FLOOR, default $TMPDIR/strobe-bench-bpf/floor)
# and split the bpf engine's cost: "event", the cpu-clock perf event at RATE
# with no program (the interrupt alone), and "floor", with floor.bpf.c's
# least program.  The target runs on CPU 1, the profilers on CPU 0.
#
#   [CONDS="none event floor bpf"] bench/bpf/target_cost.sh [RATE] [SECONDS] [ROUNDS] [PYTHON]
set -euo pipefail
cd "$(dirname "$0")/../.."
rate=${1:-10khz}
secs=${2:-4}
rounds=${3:-3}
py=${4:-python3}
strobe=${STROBE:-build/strobe}
conds=${CONDS:-none reader bpf}
floor=${FLOOR:-${TMPDIR:-/tmp}/strobe-bench-bpf/floor}
out=${TMPDIR:-/tmp}/strobe-bench-target
mkdir -p "$out"
hz=$(awk -v r="$rate" 'BEGIN { n = r + 0; if (r ~ /khz$/) n *= 1000; print n }')
taskset -c 1 "$py" bench/bpf/deep.py >"$out/rates" &
target=$!
trap 'kill $target' EXIT
sleep 1
marks=()
for ((r = 0; r < rounds; r++)); do
	for cond in $conds; do
		t0=$(date +%s.%N)
		case $cond in
		none) sleep "$secs" ;;
		event | floor)
			[[ $cond == floor ]] && how=batch || how=event
			taskset -c 0 "$floor" "$target" "$hz" "$secs" "$how" >/dev/null ;;
		*)
			taskset -c 0 "$strobe" attach "$target" -d "$secs" -r "$rate" --mode cpu \
				--engine "$cond" --collapsed -o "$out/stacks.txt" >/dev/null ;;
		esac
		t1=$(date +%s.%N)
		marks+=("$cond $t0 $t1")
	done
done
sleep 1.2
# the target's clock is CLOCK_MONOTONIC, ours here is the wall clock: map by
# the offset between them
off=$(python3 -c 'import time; print(time.time() - time.monotonic())')
echo "machine: $(nproc) CPUs, kernel $(uname -r), $("$py" -V 2>&1), rate $rate, ${secs} s x $rounds"
for cond in $conds; do
	printf '%s\n' "${marks[@]}" | awk -v c="$cond" -v off="$off" '$1 == c { print $2 - off, $3 - off }' >"$out/win"
	awk 'NR == FNR { a[NR] = $1 + 1; b[NR] = $2; n = NR; next }
	     { for (i = 1; i <= n; i++) if ($1 > a[i] && $1 <= b[i]) print $2, $3 }' "$out/win" "$out/rates" |
		sort -n >"$out/cpu"
	k=$(wc -l <"$out/cpu")
	cpu=$(awk -v k="$k" 'NR == int((k + 1) / 2) { print $1 }' "$out/cpu")
	wall=$(sort -k2 -n "$out/cpu" | awk -v k="$k" 'NR == int((k + 1) / 2) { print $2 }')
	printf '%-6s %3d seconds: work per CPU second %8s, per wall second %8s\n' "$cond" "$k" "$cpu" "$wall"
done
