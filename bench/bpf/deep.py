"""bench/bpf/target_cost.sh's target: a fixed piece of work run DEPTH
frames deep, forever; every PERIOD seconds prints how many pieces it did
per second of its own CPU time (process_time) and of wall time.
DISTINCT=1: the DEPTH frames run as many different functions (code
objects) instead of one recursive one."""
import os
import sys
import time

DEPTH = int(os.environ.get("DEPTH", "30"))
PERIOD = float(os.environ.get("PERIOD", "1"))
DISTINCT = os.environ.get("DISTINCT") == "1"


def work(n):
    x = 0
    for i in range(200):
        x += i * n
    return x


def down(d):
    if d:
        return down(d - 1)
    n = 0
    c0, w0 = time.process_time(), time.monotonic()
    while True:
        work(n)
        n += 1
        if n % 500 == 0:
            c, w = time.process_time(), time.monotonic()
            if w - w0 >= PERIOD:
                print("%.3f %.0f %.0f" % (w, n / (c - c0), n / (w - w0)), flush=True)
                n = 0
                c0, w0 = c, w


if DISTINCT:
    # d<k>() calls d<k-1>(), d0() calls down(0): DEPTH distinct code objects
    src = "".join("def d%d():\n    return %s\n" % (k, "d%d()" % (k - 1) if k else "down(0)")
                  for k in range(DEPTH))
    exec(src)
    globals()["d%d" % (DEPTH - 1)]()
else:
    down(DEPTH)
