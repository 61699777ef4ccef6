#!/usr/bin/env python3
"""Accuracy and torn stacks: strobe vs Tachyon against the program's own truth.

Two CPython 3.15 targets in the sid root (as bench.py uses):

- bench/truth.py times its four leaf functions from inside (perf_counter_ns
  around each call, random lengths, fixed weights).  Each profiler attaches
  for --seconds while the program runs; the share of samples in each leaf is
  compared with the share of time the program measured (total variation
  distance, TVD = half the sum of the absolute differences).  The truth is
  summed over the window the profiler sampled: truth.py keeps its timings per
  10 ms of CLOCK_MONOTONIC, and the window is the --seconds that end when the
  profiler exits (both profilers write a small collapsed file, so the end is
  within a few ms of the last sample).
- bench/churn.py calls 300 generated functions in random chains 8-16 deep,
  changing stack every few microseconds.  A sampled stack is *torn* when it
  is one the program can never have: a churn function under another one with
  a higher number (every call goes up), a caller not on its call line, or a
  chain that does not start at main().  Failed samples are the profiler's
  own error rate.

Target and profiler are pinned to different cores; every figure is the
median of --runs runs.

    bench/accuracy.py [--strobe build/strobe] [--runs 3] [--seconds 5]
                      [--rates 1khz,10khz,1000khz]

Prints Markdown tables (paste them into BENCHMARKS.md).
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench import SID, ensure_proc, run_profiler  # noqa: E402

LEAVES = ("leaf_a", "leaf_b", "leaf_c", "leaf_d")
# churn.py's generated source: 7 lines per function, the call on line 3
CHURN_LINES_PER_FUNC = 7
CHURN_CALL_LINE = 3
WORK = "/tmp/strobe-accuracy"


class Target:
    """A bench script started in the sid root, pinned to cpu, ready when it says so."""

    def __init__(self, script, args, cpu):
        os.makedirs(SID + WORK, exist_ok=True)
        shutil.copy(os.path.join(HERE, script), SID + WORK + "/" + script)
        r, w = os.pipe()
        argv = [a if a != "READY_FD" else str(w) for a in args]
        self.proc = subprocess.Popen(["taskset", "-c", str(cpu), "chroot", SID, "python3.15",
                                      WORK + "/" + script] + argv, pass_fds=(w,))
        os.close(w)
        with os.fdopen(r) as f:
            if f.readline().strip() != "ready":
                raise SystemExit("%s did not start" % script)
        self.pid = self.proc.pid

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def profile(who, strobe, pid, rate, seconds, out_name, cpu, extra=()):
    """Attach one profiler; return (collapsed path on the host, error %);
    extra: more options for it (e.g. --mode cpu)."""
    common = ["attach", "-r", rate, "-d", str(seconds), "--collapsed"] + list(extra)
    if who == "strobe":
        path = SID + WORK + "/" + out_name
        cmd = [strobe] + common + ["-o", path, str(pid)]
    else:
        path = SID + WORK + "/" + out_name
        cmd = ["chroot", SID, "python3.15", "-m", "profiling.sampling"] + common + [
            "-o", WORK + "/" + out_name, str(pid)]
    _, err, _, _, _ = run_profiler(cmd, cpu)
    return path, err, time.monotonic_ns()


def collapsed(path):
    """(frames, count) for every line of a collapsed file; frames root first."""
    rows = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            stack, _, count = line.rpartition(" ")
            rows.append((stack.split(";")[1:], int(count)))  # [0] is tid:N
    return rows


def func_of(frame):
    """'file:qualname:line' -> (file, qualname, line)."""
    parts = frame.rsplit(":", 2)
    if len(parts) != 3:
        return frame, "", -1
    try:
        return parts[0], parts[1], int(parts[2])
    except ValueError:
        return parts[0], parts[1], -1


def window_truth(data, end_ns, seconds):
    """Per-leaf ns of the 10 ms buckets inside [end - seconds, end)."""
    last = end_ns // 10_000_000
    first = last - int(seconds * 100)
    truth = dict.fromkeys(LEAVES, 0)
    for b, leaves in data["buckets"].items():
        if first <= int(b) < last:
            for leaf, v in leaves.items():
                truth[leaf] += v
    return truth


def tvd(path, truth):
    counts = dict.fromkeys(LEAVES, 0)
    for frames, n in collapsed(path):
        names = {func_of(fr)[1] for fr in frames}
        hit = [leaf for leaf in LEAVES if leaf in names]
        if len(hit) == 1:
            counts[hit[0]] += n
    total = sum(counts.values())
    tsum = sum(truth[leaf] for leaf in LEAVES)
    if not total:
        return 1.0, 0
    return 0.5 * sum(abs(counts[l] / total - truth[l] / tsum) for l in LEAVES), total


def torn(path):
    """(torn samples, samples with churn frames)."""
    bad = seen = 0
    for frames, n in collapsed(path):
        fs = [func_of(fr) for fr in frames]
        idx = [i for i, (file, name, _) in enumerate(fs) if file.endswith("churn_gen.py")]
        if not idx:
            continue
        seen += n
        ok = idx[0] > 0 and fs[idx[0] - 1][1] == "main" and idx == list(range(idx[0], len(fs)))
        nums = []
        for i in idx:
            m = re.fullmatch(r"f(\d+)", fs[i][1])
            if not m:
                ok = False
                break
            k = int(m.group(1))
            line = fs[i][2]
            first = k * CHURN_LINES_PER_FUNC + 1
            if not first <= line < first + CHURN_LINES_PER_FUNC:
                ok = False
            if i != idx[-1] and line != first + CHURN_CALL_LINE - 1:
                ok = False  # a caller is always on its call line
            nums.append(k)
        if ok and any(b <= a for a, b in zip(nums, nums[1:])):
            ok = False
        if not ok:
            bad += n
    return bad, seen


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strobe", default=os.path.join(HERE, "..", "build", "strobe"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rates", default="1khz,10khz,1000khz")
    ap.add_argument("--only", choices=("truth", "churn"), default=None)
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("accuracy bench needs root (chroot, ptrace of the target)")
    ensure_proc(SID)
    ncpu = os.cpu_count() or 1
    tcpu, pcpu = (1, 0) if ncpu > 1 else (0, 0)
    strobe = os.path.abspath(args.strobe)
    rates = args.rates.split(",")
    med = statistics.median

    if args.only in (None, "truth"):
        print("| truth.py, TVD of leaf shares vs the program's own timing (median of %d) "
              "| strobe | Tachyon |" % args.runs)
        print("|---|---|---|")
        for rate in rates:
            res = {"strobe": [], "tachyon": []}
            for _ in range(args.runs):
                for who in ("strobe", "tachyon"):
                    out = WORK + "/truth-%s.json" % who
                    t = Target("truth.py", [str(args.seconds + 2), "READY_FD", out], tcpu)
                    try:
                        path, _, end = profile(who, strobe, t.pid, rate, args.seconds,
                                               "truth-%s.txt" % who, pcpu)
                        t.proc.wait(args.seconds + 30)
                        with open(SID + out) as f:
                            truth = window_truth(json.load(f), end, args.seconds)
                        res[who].append(tvd(path, truth)[0])
                    finally:
                        t.stop()
            print("| -r %s | %.4f | %.4f |" % (rate, med(res["strobe"]), med(res["tachyon"])))
            sys.stdout.flush()

    if args.only in (None, "churn"):
        print()
        print("| churn.py, stacks changing every few us (median of %d) | strobe | Tachyon |"
              % args.runs)
        print("|---|---|---|")
        t = Target("churn.py", ["READY_FD"], tcpu)
        try:
            for rate in rates:
                res = {"strobe": [], "tachyon": []}
                for _ in range(args.runs):
                    for who in ("strobe", "tachyon"):
                        path, err, _ = profile(who, strobe, t.pid, rate, args.seconds,
                                            "churn-%s.txt" % who, pcpu)
                        bad, seen = torn(path)
                        res[who].append((err, 100.0 * bad / max(1, seen)))
                for i, what in ((0, "failed samples (%)"), (1, "torn stacks returned (%)")):
                    print("| -r %s: %s | %.2f | %.2f |" % (
                        rate, what, med(r[i] for r in res["strobe"]),
                        med(r[i] for r in res["tachyon"])))
                sys.stdout.flush()
        finally:
            t.stop()


if __name__ == "__main__":
    main()
