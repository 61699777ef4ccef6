#!/usr/bin/env bash
# run.sh [SECONDS [TARGET...]] - build strobe's libFuzzer targets with
# ASan + UBSan and run each for a bounded time.  SECONDS (default 160) is
# the budget for all the targets run together, shared by the weights
# below; the build comes on top (about a minute the first time, then only
# what changed: make's own dependencies).
#
#   binary      the binary-format reader            (fuzz_binary_reader.c)
#   elf         the ELF reader                      (fuzz_elf.c)
#   proc        /proc maps, stat and status parsers (fuzz_proc.c)
#   linetable   the three line-table decoders       (fuzz_linetable.c)
#   pystr       str and bytes objects from a target (fuzz_pystr.c)
#   code        code objects from a target          (fuzz_code.c)
#   locals      a frame's local variables (dump --locals) (fuzz_locals.c)
#   walk        the walker on a memory snapshot     (fuzz_walk.c; seeds:
#               the recorded fixtures in tests/fixtures/memory)
#
# The committed seeds in tests/fuzz/corpus/TARGET stay as they are; new
# inputs go to build/fuzz/corpus/TARGET.  A crash, leak, timeout or RSS
# overrun leaves build/fuzz/TARGET-crash-* (-leak-, -timeout-, -oom-) and
# makes this script fail, after every target has run.  Each target's
# libFuzzer log is build/fuzz/TARGET.log; a summary line per target gives
# its executions, coverage (cov: edges, ft: features), corpus and result.
#
#   tests/fuzz/run.sh                   everything, 160 s in all (make fuzz)
#   tests/fuzz/run.sh 600 elf proc      elf and proc only, 600 s between them
#   FUZZ_CC=clang-14 tests/fuzz/run.sh  (a clang that knows -fsanitize=fuzzer)
#   tests/fuzz/gen_seeds.py             remakes the generated seeds
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-160}
[ $# -gt 0 ] && shift
cc=${FUZZ_CC:-clang}
out=build/fuzz
mkdir -p "$out"

# Every module but main.c is built once with the fuzzing flags, by the
# Makefile's own rule (BUILD=build/fuzz/lib), into one static library that
# each target links: it gets whatever code its parser needs, now and after
# the parser starts using another module.
#
# name | weight | max_len | timeout (s) | extra compiler arguments
# (binary: -timeout=120, as the slowest legitimate input, 1 GiB of records
# from a 32 KiB zstd stream, takes ~25 s in this instrumented build; its
# own build of the reader with a small window, so that small inputs cross
# the window's edges)
table='
binary|3|65536|120|-DSTROBE_BINARY_WINDOW=8192 src/format/binary_reader.c
elf|3|32768|10|
proc|2|16384|10|
linetable|1|4096|10|
pystr|1|8192|10|
code|2|16384|10|
locals|1|65536|10|
walk|3|262144|10|
'
harness() { [ "$1" = binary ] && echo tests/fuzz/fuzz_binary_reader.c || echo "tests/fuzz/fuzz_$1.c"; }

all=$(echo "$table" | awk -F'|' 'NF { print $1 }')
targets=${*:-$all}
for t in $targets; do
	echo "$all" | grep -qx "$t" || { echo "run.sh: no fuzz target '$t' (known: $(echo $all))" >&2; exit 2; }
done
total_weight=0
for t in $targets; do
	w=$(echo "$table" | awk -F'|' -v t="$t" '$1 == t { print $2 }')
	total_weight=$((total_weight + w))
done

# the Makefile's warnings; clang also flags vsnprintf(fmt) in buf.c under -Wformat=2
warn="-std=c11 -Wall -Wextra -Werror -Wshadow -Wvla -Wformat=2 -Wno-format-nonliteral -Wstrict-prototypes"
flags="-g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
echo "== fuzz: build the library"
objs=$(find src -name '*.c' ! -name '*.bpf.c' ! -path src/main.c | sort | sed 's#^src/\(.*\)\.c$#build/fuzz/lib/obj/\1.o#')
# shellcheck disable=SC2086
make -s --no-print-directory -j"${FUZZ_JOBS:-2}" BUILD=build/fuzz/lib CC="$cc" WARN="$warn" \
	CFLAGS="$flags -fsanitize=fuzzer-no-link" $objs
rm -f "$out/libstrobe.a"
# shellcheck disable=SC2086
ar rcs "$out/libstrobe.a" $objs

failed=""
summary=""
for t in $targets; do
	IFS='|' read -r _ weight max_len timeout extra <<<"$(echo "$table" | awk -F'|' -v t="$t" '$1 == t')"
	secs=$((seconds * weight / total_weight))
	[ "$secs" -ge 1 ] || secs=1
	echo "== fuzz $t: build"
	# shellcheck disable=SC2086
	"$cc" $warn -D_GNU_SOURCE -Isrc -Itests/fuzz $flags -fsanitize=fuzzer \
		-o "$out/fuzz_$t" "$(harness "$t")" $extra "$out/libstrobe.a" \
		-lm -lzstd -lz -lncursesw -pthread
	dict=()
	[ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
	mkdir -p "$out/corpus/$t"
	seeds="tests/fuzz/corpus/$t"
	[ "$t" = walk ] && seeds=tests/fixtures/memory
	echo "== fuzz $t: ${secs} s"
	rc=0
	"$out/fuzz_$t" \
		-max_total_time="$secs" -max_len="$max_len" -rss_limit_mb=512 -timeout="$timeout" \
		"${dict[@]}" -print_final_stats=1 -artifact_prefix="$out/$t-" \
		"$out/corpus/$t" "$seeds" >"$out/$t.log" 2>&1 || rc=$?
	# the last status line ("#N DONE cov: C ft: F corp: U/S ...") and the stats
	done_line=$(grep -E '^#[0-9]+' "$out/$t.log" | tail -n 1 || true)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log")
	cov=$(echo "$done_line" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$done_line" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$done_line" | sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p')
	if [ "$rc" -eq 0 ]; then
		result=ok
	else
		result="FAILED (exit $rc, see $out/$t.log)"
		failed="$failed $t"
		grep -E 'ERROR|SUMMARY|Test unit written|^==[0-9]+==' "$out/$t.log" | head -n 20 || true
	fi
	line=$(printf '%-10s %5s s  execs %-10s cov %-6s ft %-7s corpus %-10s %s' \
		"$t" "$secs" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result")
	echo "$line"
	summary="$summary$line"$'\n'
done

echo "== fuzz summary"
printf '%s' "$summary"
if [ -n "$failed" ]; then
	echo "run.sh: findings in:$failed (artifacts: $out/TARGET-crash-*, -leak-, -timeout-, -oom-)" >&2
	exit 1
fi
