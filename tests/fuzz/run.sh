#!/usr/bin/env bash
# run.sh [SECONDS] - build the binary-format reader fuzz target with
# libFuzzer + ASan + UBSan and run it for a bounded time (default 60 s).
# New inputs go to build/fuzz/corpus (the committed seeds in
# tests/fuzz/corpus/binary stay as they are); a crash, leak, timeout or
# RSS overrun leaves build/fuzz/crash-* etc. and makes this script fail.
# (-timeout=120: the slowest legitimate input, 1 GiB of records from a
# 32 KiB zstd stream, takes ~25 s in this instrumented build.)
#
#   tests/fuzz/run.sh 300          or   make fuzz FUZZ_SECONDS=300
#   FUZZ_CC=clang-14 tests/fuzz/run.sh   (a clang that knows -fsanitize=fuzzer)
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-60}
cc=${FUZZ_CC:-clang}
out=build/fuzz
mkdir -p "$out/corpus"

srcs="src/base/buf.c src/base/error.c src/base/hash.c src/base/intern.c
      src/model/sample.c src/out/binary_reader.c tests/fuzz/fuzz_binary_reader.c"
# shellcheck disable=SC2086
"$cc" -std=c11 -D_GNU_SOURCE -Isrc -g -O1 -Wall -Wextra -Werror \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -DSTROBE_BINARY_WINDOW=8192 \
	-fno-omit-frame-pointer -o "$out/fuzz_binary_reader" $srcs -lzstd

"$out/fuzz_binary_reader" \
	-max_total_time="$seconds" -max_len=65536 -rss_limit_mb=512 -timeout=120 \
	-dict=tests/fuzz/binary.dict -print_final_stats=1 \
	-artifact_prefix="$out/" \
	"$out/corpus" tests/fuzz/corpus/binary
