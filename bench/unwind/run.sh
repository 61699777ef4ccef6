#!/bin/bash
# Rerun the unwinder bench (issue 18): build capture + unwind_cmp, start each
# target, capture it, unwind offline with libdw and libunwind, check a few
# stopped captures against gdb.  Run as root.  Output: $OUT (default
# /tmp/strobe-unwind-bench), summary in $OUT/results.txt.
# ONLY=NAME runs one target alone (appending to nothing: results.txt is reset).
set -u
cd "$(dirname "$0")"
HERE=$(pwd)
OUT=${OUT:-/tmp/strobe-unwind-bench}
N=${N:-300}            # captures per target
INTERVAL=${INTERVAL:-10000}  # us between captures
GDBCHECKS=${GDBCHECKS:-3}
mkdir -p "$OUT"
RES=$OUT/results.txt
: >"$RES"
CFLAGS="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2"
cc $CFLAGS -o "$OUT/capture" capture.c || exit 1
cc $CFLAGS -o "$OUT/unwind_cmp" unwind_cmp.c -ldw -lelf -lunwind-generic -lunwind || exit 1
cc $CFLAGS -fno-asynchronous-unwind-tables -fno-unwind-tables -fno-omit-frame-pointer \
    -o "$OUT/nocfi" targets/nocfi.c || exit 1

log() { echo "$@" | tee -a "$RES"; }

wait_stopped() {
    for _ in $(seq 100); do
        [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = T ] && return 0
        sleep 0.02
    done
    return 1
}

# run_target NAME STACK_BYTES CMD...   (BELOW=bytes copied under rsp, default 0)
run_target() {
    local name=$1 size=$2 below=${BELOW:-0}
    shift 2
    if [ -n "${ONLY:-}" ] && [ "$ONLY" != "$name" ]; then return; fi
    log ""
    log "=== $name: $* (stack copy $size bytes from rsp-$below)"
    "$@" &
    local pid=$!
    sleep 2
    "$OUT/capture" $pid $pid "$OUT/$name.cap" -n "$N" -i "$INTERVAL" -s "$size" -b "$below" 2>&1 | tee -a "$RES"
    "$OUT/unwind_cmp" "$OUT/$name.cap" 2>&1 | tee -a "$RES"
    for k in $(seq "$GDBCHECKS"); do
        kill -STOP $pid
        if wait_stopped $pid; then
            "$OUT/capture" $pid $pid "$OUT/$name.gdb$k.cap" -n 1 -s "$size" -b "$below" >/dev/null
            timeout 120 gdb -nx -batch -p $pid -ex 'set backtrace past-main on' \
                -ex 'set backtrace past-entry on' -ex "python TID=$pid" \
                -x "$HERE/gdb_pcs.py" >"$OUT/$name.gdb$k.txt" 2>&1
            "$OUT/unwind_cmp" "$OUT/$name.gdb$k.cap" -p -k 1 >"$OUT/$name.gdb$k.cmp" 2>&1
            log "  gdb check $k:"
            /usr/bin/python3 "$HERE/compare_gdb.py" "$OUT/$name.gdb$k.txt" "$OUT/$name.gdb$k.cmp" | tee -a "$RES"
        fi
        kill -CONT $pid
        sleep 0.3
    done
    kill $pid
    wait $pid 2>/dev/null
}

PY312=$(ls -d ~/.pyenv/versions/3.12*/bin/python3 | tail -1)
PY310=$(ls -d ~/.pyenv/versions/3.10*/bin/python3 | tail -1)

run_target py312_qsort 32768 "$PY312" targets/qsort_ctypes.py
run_target py311_static_recurse30 32768 /usr/bin/python3.11 targets/recurse.py 30
run_target py310_recurse50 1048576 "$PY310" targets/recurse.py 50
run_target py311_numpy_matmul 32768 /usr/bin/python3.11 targets/matmul.py
run_target nocfi_fp 32768 "$OUT/nocfi"
run_target py311_vdso_clock 32768 /usr/bin/python3.11 targets/vdso_clock.py
[ -n "${ONLY:-}" ] && exit 0

log ""
log "=== 3.10 50-deep with the default 32 KiB copy (truncation)"
"$OUT/unwind_cmp" "$OUT/py310_recurse50.cap" -t 32768 2>&1 | tee -a "$RES"
log ""
log "=== 3.12 qsort, copies cut to 2 KiB (truncation)"
"$OUT/unwind_cmp" "$OUT/py312_qsort.cap" -t 2048 2>&1 | tee -a "$RES"
log ""
log "=== 3.12 qsort again, the copy starting 128 bytes under rsp (epilogue slots)"
GDBCHECKS=0 BELOW=128 run_target py312_qsort_below128 32768 "$PY312" targets/qsort_ctypes.py
log ""
log "=== 3.10 recursion depth 25 (stack bytes per Python call)"
N=50 GDBCHECKS=0 run_target py310_recurse25 1048576 "$PY310" targets/recurse.py 25

log ""
log "=== timing spread: each capture set unwound again 3 times (thread CPU time, median/p99 us)"
for c in py312_qsort py311_static_recurse30 py310_recurse50 py311_numpy_matmul nocfi_fp py311_vdso_clock; do
    for rep in 1 2 3; do
        "$OUT/unwind_cmp" "$OUT/$c.cap" -k 3 |
            awk -v c="$c" -v r="$rep" '/Dwfl reused/ {d=$(NF-4)"/"$(NF-1)} /UNW_CACHE/ {u=$(NF-4)"/"$(NF-1)}
                END {printf "  %-24s rep %d  libdw %s  libunwind %s\n", c, r, d, u}' | tee -a "$RES"
    done
done
