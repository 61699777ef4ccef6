"""Accuracy target: functions whose share of time the program measures itself.

    python truth.py SECONDS READY_FD OUT_JSON

Four leaf functions do the same kind of work for different, randomly
varying lengths; each call is timed with perf_counter_ns from inside, so the
program knows the true share of wall time each function took.  At the end it
writes {"leaf_a": ns, ...} (and the total) to OUT_JSON, plus the same per
10 ms bucket of time.monotonic_ns() ("buckets": {"<bucket>": {"leaf_a": ns,
...}}), so that the truth of any window (the one a profiler sampled) can be
summed.  A profiler's shares of samples in each leaf are compared with these
(total variation distance).
"""
import json
import os
import random
import sys
import time

ns = time.perf_counter_ns


def burn(n):
    x = 0
    for i in range(n):
        x = (x + i * 7) % 1000003
    return x


def leaf_a(n):
    return burn(n)


def leaf_b(n):
    return burn(n)


def leaf_c(n):
    return burn(n)


def leaf_d(n):
    return burn(n)


LEAVES = [leaf_a, leaf_b, leaf_c, leaf_d]
WEIGHTS = [0.4, 0.3, 0.2, 0.1]


def main():
    seconds = float(sys.argv[1])
    fd = int(sys.argv[2])
    out = sys.argv[3]
    rnd = random.Random(1234)
    spent = {f.__name__: 0 for f in LEAVES}
    buckets = {}
    # perf_counter_ns and monotonic_ns are both CLOCK_MONOTONIC on Linux: the
    # bucket numbers are comparable with the benchmark's own clock
    mono = time.monotonic_ns
    os.write(fd, b"ready\n")
    os.close(fd)
    start = ns()
    end = start + int(seconds * 1e9)
    while ns() < end:
        f = rnd.choices(LEAVES, WEIGHTS)[0]
        n = rnd.randint(50, 3000)
        t0 = ns()
        f(n)
        dt = ns() - t0
        spent[f.__name__] += dt
        b = buckets.setdefault(mono() // 10_000_000, {})
        b[f.__name__] = b.get(f.__name__, 0) + dt
    spent["total"] = ns() - start
    spent["buckets"] = buckets
    with open(out, "w") as fp:
        json.dump(spent, fp)


if __name__ == "__main__":
    main()
