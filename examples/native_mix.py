"""A program whose time is spent in C as much as in Python, to profile with
--native-stacks: matrix products in numpy (BLAS underneath) and a sort done
by libc's qsort through ctypes, calling back into a Python comparator.

    build/strobe run --native-stacks --flamegraph -o mix.html -- /usr/bin/python3 examples/native_mix.py

(numpy: Debian's python3-numpy for /usr/bin/python3; without numpy only the
sort runs.)  Runs for about three seconds (or the seconds given).

docs/screenshots/flamegraph-native.png is its flame graph, made with (the
program copied to /tmp/demo):

    build/strobe run --native-stacks -r 500hz --flamegraph -o mix.html -- /usr/bin/python3 /tmp/demo/native_mix.py 4
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,800 \
        --screenshot=docs/screenshots/flamegraph-native.png file://$PWD/mix.html
"""
import ctypes
import os
import sys
import time

# one BLAS thread: the products stay on the calling thread's stack
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
try:
    import numpy
except ImportError:
    numpy = None

libc = ctypes.CDLL(None)
COMPARE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
Record = ctypes.c_int * 2    # (key, payload)


def by_key(a, b):
    x = Record.from_address(a)[0]
    y = Record.from_address(b)[0]
    return (x > y) - (x < y)


compare = COMPARE(by_key)


def sort_records(n):
    records = (Record * n)()
    for i in range(n):
        records[i][0] = (i * 7919) % n
        records[i][1] = i
    libc.qsort(records, n, ctypes.sizeof(Record), compare)
    return records[0][1]


def multiply(a, b, rounds):
    c = a
    for _ in range(rounds):
        c = a @ b
        c /= numpy.abs(c).max()
    return c


def main(seconds):
    if numpy is not None:
        rng = numpy.random.default_rng(18)
        a, b = rng.random((300, 300)), rng.random((300, 300))
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sort_records(2000)
        if numpy is not None:
            multiply(a, b, 1)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)
