#!/usr/bin/env python3
"""Target slowdown: how much work a CPython 3.15 program gets done while it
is profiled, strobe vs Tachyon (both non-blocking, attached), against the
same program alone.

The target (bench/deep.py's 30-deep stack, run for --seconds with a work
counter: see WORKER below) reports how many work units it finished; it runs
pinned to one core, the profiler to the other.  Slowdown = 1 - units with
the profiler / units alone, medians of --runs, the runs of each kind
interleaved so that drifts of the machine hit all kinds alike.

    bench/slowdown.py [--strobe build/strobe] [--runs 5] [--seconds 5] [--rates 1khz,10khz]

Prints a Markdown table (paste it into BENCHMARKS.md).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench import SID, ensure_proc  # noqa: E402

WORK = "/tmp/strobe-slowdown"
WORKER = r'''
import os, sys, time

def unit():
    x = 0
    for i in range(1000):
        x = (x + i * 7) % 1000003
    return x

def descend(n, seconds, fd):
    if n > 1:
        return descend(n - 1, seconds, fd)
    os.write(fd, b"ready\n")
    os.close(fd)
    end = time.perf_counter() + seconds
    done = 0
    while time.perf_counter() < end:
        for _ in range(20):
            unit()
        done += 20
    return done

sys.setrecursionlimit(200)
print(descend(28, float(sys.argv[1]), int(sys.argv[2])))
'''


def one(kind, strobe, rate, seconds, tcpu, pcpu, extra=()):
    """Work units the target finished during seconds, with profiler kind attached
    (extra: more options for the profiler, e.g. --mode cpu).  kind "event":
    strobe is bench/bpf/run.sh's floor driver, which opens the cpu-clock perf
    event the bpf engine uses, at rate, with no program: the interrupt alone."""
    r, w = os.pipe()
    t = subprocess.Popen(["taskset", "-c", str(tcpu), "chroot", SID, "python3.15",
                          WORK + "/worker.py", str(seconds), str(w)],
                         pass_fds=(w,), stdout=subprocess.PIPE, text=True)
    os.close(w)
    with os.fdopen(r) as f:
        if f.readline().strip() != "ready":
            raise SystemExit("worker did not start")
    prof = None
    if kind == "strobe":
        prof = [strobe, "attach"]
    elif kind == "tachyon":
        prof = ["chroot", SID, "python3.15", "-m", "profiling.sampling", "attach"]
    if prof:
        prof += ["-r", rate, "-d", str(seconds + 2), "--collapsed", "-o", "/dev/null"] + list(extra) + [str(t.pid)]
    elif kind == "event":
        hz = int(float(rate[:-3]) * 1000) if rate.endswith("khz") else int(rate)
        prof = [strobe, str(t.pid), str(hz), str(seconds + 2), "event"]
    if prof:
        p = subprocess.Popen(["taskset", "-c", str(pcpu)] + prof,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out, _ = t.communicate(timeout=seconds + 60)
    if prof:
        p.wait(timeout=60)
    return int(out.strip())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strobe", default=os.path.join(HERE, "..", "build", "strobe"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rates", default="1khz,10khz")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("slowdown bench needs root (chroot, ptrace of the target)")
    ensure_proc(SID)
    os.makedirs(SID + WORK, exist_ok=True)
    with open(SID + WORK + "/worker.py", "w") as f:
        f.write(WORKER)
    ncpu = os.cpu_count() or 1
    tcpu, pcpu = (1, 0) if ncpu > 1 else (0, 0)
    strobe = os.path.abspath(args.strobe)
    print("| target slowdown, 30-deep stack, CPython 3.15 (median of %d) | strobe | Tachyon |"
          % args.runs)
    print("|---|---|---|")
    for rate in args.rates.split(","):
        res = {"alone": [], "strobe": [], "tachyon": []}
        for _ in range(args.runs):
            for kind in res:
                res[kind].append(one(kind, strobe, rate, args.seconds, tcpu, pcpu))
        base = statistics.median(res["alone"])
        cells = ["%.1f%%" % (100.0 * (1 - statistics.median(res[k]) / base))
                 for k in ("strobe", "tachyon")]
        print("| -r %s (work done alone: %d units) | %s | %s |" % (rate, base, cells[0], cells[1]))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
