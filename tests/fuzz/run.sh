#!/usr/bin/env bash
# run.sh [SECONDS [TARGET...]] - build strobe's libFuzzer targets with
# ASan + UBSan and run each for a bounded time.  SECONDS (default 180) is
# the budget for all the targets run together, shared by the weights
# below; the builds (a few seconds each) come on top.
#
#   binary      the binary-format reader            (fuzz_binary_reader.c)
#   elf         the ELF reader                      (fuzz_elf.c)
#   proc        /proc maps, stat and status parsers (fuzz_proc.c)
#   linetable   the three line-table decoders       (fuzz_linetable.c)
#   pystr       str and bytes objects from a target (fuzz_pystr.c)
#   code        code objects from a target          (fuzz_code.c)
#
# The committed seeds in tests/fuzz/corpus/TARGET stay as they are; new
# inputs go to build/fuzz/corpus/TARGET.  A crash, leak, timeout or RSS
# overrun leaves build/fuzz/TARGET-crash-* (-leak-, -timeout-, -oom-) and
# makes this script fail, after every target has run.  Each target's
# libFuzzer log is build/fuzz/TARGET.log; a summary line per target gives
# its executions, coverage (cov: edges, ft: features), corpus and result.
#
#   tests/fuzz/run.sh                   everything, 180 s in all (make fuzz)
#   tests/fuzz/run.sh 600 elf proc      elf and proc only, 600 s between them
#   FUZZ_CC=clang-14 tests/fuzz/run.sh  (a clang that knows -fsanitize=fuzzer)
#   tests/fuzz/gen_seeds.py             remakes the generated seeds
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-180}
[ $# -gt 0 ] && shift
cc=${FUZZ_CC:-clang}
out=build/fuzz
mkdir -p "$out"

# name | weight | max_len | timeout (s) | extra flags | sources (besides the harness)
# (binary: -timeout=120, as the slowest legitimate input, 1 GiB of records
# from a 32 KiB zstd stream, takes ~25 s in this instrumented build; a
# small reader window so that small inputs cross its edges)
table='
binary|3|65536|120|-DSTROBE_BINARY_WINDOW=8192 -lzstd|src/base/buf.c src/base/error.c src/base/hash.c src/base/intern.c src/model/sample.c src/out/binary_reader.c
elf|3|32768|10||src/base/error.c src/target/elf.c
proc|2|16384|10||src/base/buf.c src/base/error.c src/base/hash.c src/target/mem.c src/target/maps.c src/target/task.c
linetable|1|4096|10||src/base/error.c src/py/linetable.c
pystr|1|8192|10||src/base/buf.c src/base/error.c src/target/mem.c src/py/layout.c src/py/pystr.c
code|2|16384|10||src/base/buf.c src/base/error.c src/base/hash.c src/base/intern.c src/target/mem.c src/py/layout.c src/py/pystr.c src/py/linetable.c src/py/opcodes.c src/py/code.c
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
failed=""
summary=""
for t in $targets; do
	IFS='|' read -r _ weight max_len timeout extra srcs <<<"$(echo "$table" | awk -F'|' -v t="$t" '$1 == t')"
	secs=$((seconds * weight / total_weight))
	[ "$secs" -ge 1 ] || secs=1
	echo "== fuzz $t: build"
	# shellcheck disable=SC2086
	"$cc" $warn -D_GNU_SOURCE -Isrc -Itests/fuzz -g -O1 \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-fno-omit-frame-pointer -o "$out/fuzz_$t" $srcs "$(harness "$t")" $extra
	dict=()
	[ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
	mkdir -p "$out/corpus/$t"
	echo "== fuzz $t: ${secs} s"
	rc=0
	"$out/fuzz_$t" \
		-max_total_time="$secs" -max_len="$max_len" -rss_limit_mb=512 -timeout="$timeout" \
		"${dict[@]}" -print_final_stats=1 -artifact_prefix="$out/$t-" \
		"$out/corpus/$t" "tests/fuzz/corpus/$t" >"$out/$t.log" 2>&1 || rc=$?
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
