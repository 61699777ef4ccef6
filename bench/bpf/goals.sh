#!/bin/sh
# bench/bpf/goals.sh: issue 21's goals table (docs/bpf-engine.md, BENCHMARKS.md)
# in one run of about 4 minutes - the reader engine, --engine bpf and Tachyon
# (CPython 3.15 in the sid root), --mode cpu: profiler CPU at 1/10 kHz,
# failed samples on imports.py and `hg log -p`, target slowdown at 10 kHz,
# TVD against truth.py's own timing, the highest rate.  Root, a built strobe
# (make), tests/provision.sh done.  Prints the load average at start and end:
# on a shared machine compare the columns of one run, not runs.
#
#   bench/bpf/goals.sh [--strobe build/strobe] [--seconds 6] [--runs 3]
set -e
cd "$(dirname "$0")/../.."
exec python3 bench/bpf/goals.py "$@"
