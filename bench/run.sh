#!/bin/sh
# make bench: every comparison against Tachyon, in one go (root; about an
# hour with the default 10-minute long runs).  Each script prints Markdown
# tables for BENCHMARKS.md.  Choose parts with BENCH="core accuracy ...".
#   core      bench/bench.py     rates, CPU, RSS; binary format (issues 3, 4, 8)
#   accuracy  bench/accuracy.py  TVD vs truth, failed and torn samples (issue 8)
#   failures  bench/failures.py  failed samples on real programs, by cause (issue 16)
#   slowdown  bench/slowdown.py  work the target gets done while profiled (issue 8)
#   formats   bench/formats.py   writing every format from a big profile (issue 5)
#   live      bench/live.py      cost of the live view (issue 7)
#   native    bench/native.py    what --native-stacks costs: rate, held time, slowdown (issue 18)
#   longrun   bench/longrun.py   RSS over LONGRUN_SECONDS (default 600) at 10 kHz (issue 8)
#   goals     bench/bpf/goals.sh issue 21: reader, --engine bpf and Tachyon against its goals (not in the default set)
set -e
cd "$(dirname "$0")/.."
tests/provision.sh >/dev/null
command -v /usr/bin/time >/dev/null || apt-get install -y time >/dev/null
parts=${BENCH:-core accuracy failures slowdown native formats live longrun}
for part in $parts; do
	echo "## $part"
	case $part in
	core) python3 bench/bench.py ;;
	accuracy) python3 bench/accuracy.py ;;
	failures) python3 bench/failures.py ${FAILURES_BASELINE:+--baseline $FAILURES_BASELINE} ;;
	slowdown) python3 bench/slowdown.py ;;
	goals) bench/bpf/goals.sh ;;
	native) python3 bench/native.py ;;
	formats) python3 bench/formats.py ${FORMATS_SAMPLES:+--samples $FORMATS_SAMPLES} ;;
	live) python3 bench/live.py ;;
	longrun) python3 bench/longrun.py --seconds "${LONGRUN_SECONDS:-600}" ;;
	*) echo "unknown bench part: $part" >&2; exit 2 ;;
	esac
	echo
done
