#!/bin/bash
# bench/bpf/prog_cost.sh - the BPF program's own run time per sample
# (kernel.bpf_stats_enabled, bpftool prog show: run_time_ns / run_cnt) on
# a steady stack (deep.py, DEPTH frames), measured over WINDOW seconds
# after a WARM-up (the code objects known by then: none copied).
#   STROBE=build/strobe PY=python3 DEPTH=30 bench/bpf/prog_cost.sh
# TARGET=path/to/script.py ARGS=...: another target instead (e.g.
# tests/targets/exec_churn.py 60: every sample copies code objects).
# Prints: ns per run, runs.  Sets kernel.bpf_stats_enabled for the run
# and puts the previous value back.  Figures: docs/bpf-engine.md.
set -eu
STROBE=${STROBE:-build/strobe}
PY=${PY:-python3}
WARM=${WARM:-2}
WINDOW=${WINDOW:-5}
RATE=${RATE:-10khz}
here=$(dirname "$0")
prev=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -qw kernel.bpf_stats_enabled=1
DEPTH=${DEPTH:-30} PERIOD=100 $PY "${TARGET:-$here/deep.py}" ${ARGS:-} > /dev/null 2>&1 &
tgt=$!
"$STROBE" attach --engine bpf --mode cpu -r "$RATE" -d $((WARM + WINDOW + 2)) \
	--collapsed -o /dev/null "$tgt" > /dev/null 2>&1 &
st=$!
# the program loaded by this strobe (its fds name it: prog_id in fdinfo)
stats() {
	local id
	id=$(grep -h '^prog_id:' /proc/"$st"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -u | head -1)
	bpftool prog show id "$id" -j | python3 -c '
import json, sys
p = json.load(sys.stdin)
print(p.get("run_time_ns", 0), p.get("run_cnt", 0))'
}
sleep "$WARM"
read -r t0 c0 < <(stats)
sleep "$WINDOW"
read -r t1 c1 < <(stats)
wait "$st" || true
kill "$tgt" 2>/dev/null || true
wait "$tgt" 2>/dev/null || true
sysctl -qw kernel.bpf_stats_enabled="$prev"
python3 -c "import sys; t, c = int(sys.argv[1]), int(sys.argv[2]); print('%.0f ns per run, %d runs' % (t / c if c else 0, c))" $((t1 - t0)) $((c1 - c0))
