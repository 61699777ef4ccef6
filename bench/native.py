#!/usr/bin/env python3
"""What --native-stacks costs: achieved rate, profiler CPU, how long a
thread is stopped per sample, and the target's slowdown, against strobe
without it, strobe --blocking and Tachyon (with and without --blocking).

The target is a mixed stack: 30 Python frames whose leaf calls libc's
qsort through ctypes with a Python comparator (Python -> _ctypes -> libffi
-> qsort -> libffi -> _ctypes -> Python), run for --seconds with a work
counter (one unit: one qsort of 200 ints).  It runs on CPython 3.15 (the
Debian sid root, as slowdown.py) and on pyenv 3.12 (no Tachyon there),
pinned to one core, the profiler to the other.  Each profiler attaches
for the target's whole run; its figures come from its own summary
(`Sample rate:`, and with --native-stacks `--realtime-stats`' "Threads
held: median X us, p99 Y us"), its CPU time from wait4 (user+system, as a
share of its wall time).  Slowdown = 1 - units with the profiler / units
alone; the same for units per second of the target's own CPU time (which
the machine's other load, taking the target's core away, moves much less;
a thread held by ptrace uses no CPU, so this part leaves the held time out:
held time x rate is that share).  Every figure is the median of --runs runs, the runs of every kind
interleaved so that drifts of the machine hit all kinds alike.

    bench/native.py [--strobe build/strobe] [--runs 5] [--seconds 4]
                    [--rates 100hz,1khz,10khz] [--targets 3.15,3.12]

Prints one Markdown table per target (paste it into BENCHMARKS.md).
"""
import argparse
import glob
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench import SID, ensure_proc  # noqa: E402

WORK = "/tmp/strobe-native"
WORKER = r'''
import ctypes, os, sys, time

libc = ctypes.CDLL(None)
CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))

def compare(a, b):
    return a[0] - b[0]

ccompare = CMP(compare)
N = 200

def descend(n, seconds, fd):
    if n > 1:
        return descend(n - 1, seconds, fd)
    arr = (ctypes.c_int * N)()
    os.write(fd, b"ready\n")
    os.close(fd)
    end = time.perf_counter() + seconds
    done = 0
    while time.perf_counter() < end:
        arr[:] = range(N, 0, -1)
        libc.qsort(arr, N, 4, ccompare)
        done += 1
    return done

sys.setrecursionlimit(200)
print(descend(28, float(sys.argv[1]), int(sys.argv[2])))
'''

# kind -> (profiler, extra options); None: the target alone
KINDS = {
    "alone": None,
    "strobe": ("strobe", []),
    "strobe --blocking": ("strobe", ["--blocking"]),
    "strobe --native-stacks": ("strobe", ["--native-stacks"]),
    "Tachyon": ("tachyon", []),
    "Tachyon --blocking": ("tachyon", ["--blocking"]),
}


def interpreters():
    """name -> (command prefix, worker path as the target sees it, has Tachyon)."""
    out = {"3.15": (["chroot", SID, "python3.15"], WORK + "/worker.py", True)}
    found = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")))
    if found:
        out["3.12"] = ([found[-1]], WORK + "/worker.py", False)
    return out


def one(kind, strobe, interp, rate, seconds, tcpu, pcpu):
    """One run: the target's work units and, if profiled, the profiler's figures."""
    prefix, worker, _ = interp
    r, w = os.pipe()
    t = subprocess.Popen(["taskset", "-c", str(tcpu)] + prefix + [worker, str(seconds), str(w)],
                         pass_fds=(w,), stdout=subprocess.PIPE, text=True)
    os.close(w)
    with os.fdopen(r) as f:
        if f.readline().strip() != "ready":
            raise SystemExit("worker did not start")
    spec = KINDS[kind]
    res = {}
    if spec:
        who, extra = spec
        if who == "strobe":
            # --realtime-stats for every strobe kind alike: it is what
            # prints the threads' held times of --native-stacks
            prof = [strobe, "attach", "--realtime-stats"]
        else:
            prof = ["chroot", SID, "python3.15", "-m", "profiling.sampling", "attach"]
        log = tempfile.TemporaryFile("w+")
        t0 = time.monotonic()
        p = subprocess.Popen(["taskset", "-c", str(pcpu)] + prof + extra + [
            "-r", rate, "-d", str(seconds + 2), "--collapsed", "-o", "/dev/null", str(t.pid)],
            stdout=log, stderr=subprocess.STDOUT, text=True)
    out = t.stdout.read()
    # the target's own CPU time: work per CPU second does not move when
    # the machine's other load takes the target's core away
    _, tstatus, tru = os.wait4(t.pid, 0)
    t.returncode = os.waitstatus_to_exitcode(tstatus)
    res["units"] = int(out.strip())
    res["per_cpu"] = res["units"] / max(tru.ru_utime + tru.ru_stime, 1e-9)
    if spec:
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        log.seek(0)
        text = log.read()
        log.close()
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit("profiler failed: %s\n%s" % (" ".join(p.args), text))
        res["rate"] = float(re.search(r"Sample rate: ([\d.,]+)", text).group(1).replace(",", ""))
        res["cpu"] = 100.0 * (ru.ru_utime + ru.ru_stime) / wall
        m = re.search(r"Threads held:\s+median ([\d.]+) us, p99 ([\d.]+) us", text)
        if m:
            res["held"] = (float(m.group(1)), float(m.group(2)))
        elif "--native-stacks" in extra:
            raise SystemExit("no 'Threads held' line from strobe --native-stacks:\n" + text)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strobe", default=os.path.join(HERE, "..", "build", "strobe"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--rates", default="100hz,1khz,10khz")
    ap.add_argument("--targets", default="3.15,3.12")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("native bench needs root (chroot, ptrace of the target)")
    ensure_proc(SID)
    for root in (SID, "/"):
        os.makedirs(root + WORK, exist_ok=True)
        with open(os.path.join(root + WORK, "worker.py"), "w") as f:
            f.write(WORKER)
    ncpu = os.cpu_count() or 1
    tcpu, pcpu = (1, 0) if ncpu > 1 else (0, 0)
    strobe = os.path.abspath(args.strobe)
    interps = interpreters()
    med = statistics.median
    print("load average at start: %s" % open("/proc/loadavg").read().strip())
    for name in args.targets.split(","):
        if name not in interps:
            print("(no CPython %s here: skipped)" % name)
            continue
        interp = interps[name]
        kinds = [k for k in KINDS if interp[2] or not k.startswith("Tachyon")]
        print()
        print("| CPython %s, 30-deep stack + ctypes qsort (median of %d x %d s) | profiler "
              "| achieved samples/s | profiler CPU, %% of a core (us per sample) "
              "| thread held per sample, median / p99 (us) | target slowdown "
              "| target's work per CPU second, drop |" % (name, args.runs, args.seconds))
        print("|---|---|---|---|---|---|---|")
        for rate in args.rates.split(","):
            res = {k: [] for k in kinds}
            for _ in range(args.runs):
                for k in kinds:
                    res[k].append(one(k, strobe, interp, rate, args.seconds, tcpu, pcpu))
            base = med(r["units"] for r in res["alone"])
            base_cpu = med(r["per_cpu"] for r in res["alone"])
            for k in kinds[1:]:
                rs = res[k]
                held = "-"
                if all("held" in r for r in rs):
                    held = "%.0f / %.0f" % (med(r["held"][0] for r in rs),
                                            med(r["held"][1] for r in rs))
                print("| -r %s (alone: %d units) | %s | %.0f | %.1f%% (%.0f) | %s | %.1f%% | %.1f%% |"
                      % (rate, base, k, med(r["rate"] for r in rs), med(r["cpu"] for r in rs),
                         med(1e4 * r["cpu"] / max(r["rate"], 1e-9) for r in rs), held,
                         100.0 * (1 - med(r["units"] for r in rs) / base),
                         100.0 * (1 - med(r["per_cpu"] for r in rs) / base_cpu)))
                sys.stdout.flush()
    print()
    print("load average at end: %s" % open("/proc/loadavg").read().strip())


if __name__ == "__main__":
    main()
