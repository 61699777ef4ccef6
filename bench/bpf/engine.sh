#!/usr/bin/env bash
# bench/bpf/engine.sh: strobe's own CPU with --engine bpf against the reader,
# --mode cpu on a spinning Python, at 1 kHz and 10 kHz (issue 21's goals:
# 0.5% / 2% of a core).  Needs root and a built strobe (make).  Prints, per
# engine and rate: samples captured, samples per second, strobe's CPU time
# (user + system, /usr/bin/time) as a share of a core over the run.
#
#   bench/bpf/engine.sh [SECONDS] [PYTHON]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-5}
py=${2:-python3}
strobe=${STROBE:-build/strobe}
out=${TMPDIR:-/tmp}/strobe-bench-engine
mkdir -p "$out"
"$py" -c 'while True: pass' &
target=$!
trap 'kill $target' EXIT
sleep 0.3
echo "machine: $(nproc) CPUs, kernel $(uname -r), $("$py" -V 2>&1), $secs s per run"
for rate in 1khz 10khz; do
	for engine in reader bpf; do
		/usr/bin/time -f '%U %S' -o "$out/time" "$strobe" attach "$target" -d "$secs" -r "$rate" \
			--mode cpu --engine "$engine" --collapsed -o "$out/stacks.txt" >"$out/stdout"
		read -r user sys <"$out/time"
		samples=$(sed -n 's/^Captured \([0-9]*\) samples.*/\1/p' "$out/stdout")
		awk -v e="$engine" -v r="$rate" -v n="$samples" -v u="$user" -v s="$sys" -v t="$secs" \
			'BEGIN { printf "%-6s %-6s %7d samples %8.0f/s   strobe CPU %5.2f%% of a core (user %.2f s, sys %.2f s)\n",
				 e, r, n, n / t, 100 * (u + s) / t, u, s }'
	done
done
