#!/usr/bin/env python3
"""Issue 21's goals table in one run: the reader engine, --engine bpf and
Tachyon (CPython 3.15 in the sid root), all in --mode cpu, attached or
running the same targets one after the other (run it through goals.sh).

Reuses the other benches' targets and code: bench.py's Target (deep.py, a
30-frame stack), failures.py's workloads (tests/targets/imports.py on 3.15,
`hg log -p` with Debian's Mercurial on /usr/bin/python3), slowdown.py's
worker, accuracy.py's truth.py and TVD.  Target on CPU 1, profiler on CPU 0.

Rows:
  profiler CPU    the profiler's own CPU time (every thread's schedstat run
                  time) between 1 s after it started and 0.5 s before it
                  ends: the steady state, without start-up (Tachyon's
                  Python start-up, the BPF program's verification)
  failed samples  strobe's "failed" causes / Tachyon's error rate, no --blocking
  slowdown        1 - work the target got done with the profiler / alone,
                  medians of --runs interleaved runs
  TVD             truth.py's leaf shares against its own timing
  highest rate    samples/s at -r 1000khz; kernel.perf_event_max_sample_rate
                  before and after

    bench/bpf/goals.py [--strobe build/strobe] [--seconds 6] [--runs 3]
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
BENCH = os.path.dirname(HERE)
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)
sys.path.insert(0, os.path.join(ROOT, "tests", "functional"))
import accuracy     # noqa: E402
import bench        # noqa: E402
import failures     # noqa: E402
import interpreters  # noqa: E402
import slowdown     # noqa: E402
from bench import SID, ensure_proc  # noqa: E402

WHO = ("reader", "bpf", "tachyon")
TACHYON = ["chroot", SID, "python3.15", "-m", "profiling.sampling"]
REPO = "/tmp/strobe-bench-goals-repo"   # built once (60 hg commits take ~30 s), then kept
TCPU, PCPU = 1, 0


def sysctl(name):
    with open("/proc/sys/" + name.replace(".", "/")) as f:
        return f.read().strip()


def run_ns(pid):
    """CPU time (ns) of every thread of pid so far."""
    total = 0
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def attach_argv(who, strobe, pid, rate, seconds, out):
    common = ["attach", "-r", rate, "-d", str(seconds), "--mode", "cpu", "--collapsed"]
    if who == "tachyon":
        return TACHYON + common + ["-o", out, str(pid)]
    return [strobe] + common + ["--engine", who, "-o", SID + out, str(pid)]


def profiler_cpu(who, strobe, pid, rate, seconds):
    """(share of a core in the steady state, samples/s, stdout)."""
    argv = attach_argv(who, strobe, pid, rate, seconds, "/tmp/strobe-bench/goals.txt")
    p = subprocess.Popen(["taskset", "-c", str(PCPU)] + argv, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    t0 = time.monotonic()
    time.sleep(1.0)
    a, ta = run_ns(p.pid), time.monotonic()
    time.sleep(max(0.5, seconds - 1.5 - (ta - t0)))
    b, tb = run_ns(p.pid), time.monotonic()
    out, _ = p.communicate(timeout=60)
    if p.returncode != 0:
        raise SystemExit("%s failed:\n%s" % (" ".join(argv), out))
    m = re.search(r"Sample rate: ([\d.,]+)", out)
    return 100.0 * (b - a) / 1e9 / (tb - ta), float(m.group(1).replace(",", "")), out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strobe", default=os.path.join(ROOT, "build", "strobe"))
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument("--runs", type=int, default=3, help="slowdown runs per profiler")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench/bpf/goals.py needs root (chroot, ptrace, BPF)")
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("bench/bpf/goals.py pins target and profiler to two CPUs")
    strobe = os.path.abspath(args.strobe)
    ensure_proc(SID)
    failures.ensure_debian()
    t_start = time.monotonic()
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    print("machine: %d CPUs, kernel %s, commit %s, load average at start %s"
          % (os.cpu_count(), os.uname().release, commit,
             " ".join(open("/proc/loadavg").read().split()[:3])))
    print("kernel.perf_event_max_sample_rate %s, perf_cpu_time_max_percent %s"
          % (sysctl("kernel.perf_event_max_sample_rate"),
             sysctl("kernel.perf_cpu_time_max_percent")))
    rows = []  # (figure, goal, {who: text})

    def note(*a):
        print(*a, file=sys.stderr)
        sys.stderr.flush()

    # 1. profiler CPU at 1 / 10 kHz on a 30-frame stack
    t = bench.Target(30, TCPU)
    try:
        for rate in ("1khz", "10khz"):
            cells = {}
            for who in WHO:
                cpu, sps, _ = profiler_cpu(who, strobe, t.pid, rate, args.seconds)
                cells[who] = "%.2f%% (%.0f samples/s)" % (cpu, sps)
                note("cpu", rate, who, cells[who])
            rows.append(("profiler CPU at %s, --mode cpu" % rate,
                         "<= 0.5%" if rate == "1khz" else "<= 2%", cells))
        # 5. highest rate: -r 1000khz (cpu-clock's hrtimer has a 10 us floor)
        before = sysctl("kernel.perf_event_max_sample_rate")
        cells = {}
        for who in WHO:
            cpu, sps, _ = profiler_cpu(who, strobe, t.pid, "1000khz", 4)
            cells[who] = "%.0f/s (profiler %.0f%%)" % (sps, cpu)
            note("max", who, cells[who])
        after = sysctl("kernel.perf_event_max_sample_rate")
        rows.append(("highest rate, -r 1000khz (perf_event_max_sample_rate %s -> %s)"
                     % (before, after), "measured, explained", cells))
    finally:
        t.stop()

    # 2. failed samples, no --blocking: imports on 3.15, hg log -p
    shutil.rmtree(failures.WORK, ignore_errors=True)
    os.makedirs(failures.WORK)
    os.makedirs(SID + failures.WORK, exist_ok=True)
    if not os.path.isdir(os.path.join(REPO, ".hg")):
        shutil.rmtree(REPO, ignore_errors=True)
        failures.make_repo(REPO)
    py315 = [i for i in interpreters.discover().supported
             if i.version[:2] == (3, 15) and i.root and not i.debug][0]
    failures.HG_RUNS = 5
    for name, interp in (("imports", py315), ("hg", None)):
        runs = failures.workload_runs(name, interp, 5, REPO)
        cells = {}
        for who in ("reader", "bpf"):
            r = failures.measure(strobe, 10000, runs, extra=["--mode", "cpu", "--engine", who])
            cells[who] = "%.3f%% of %d" % (r.pct(r.failed), r.samples)
            if r.failed:
                cells[who] += " (%s)" % failures.causes_text(r.causes, r)
        if name == "imports":
            cmd = TACHYON[:2] + ["python3.15", "-m", "profiling.sampling", "run", "-r", "10000",
                                 "--mode", "cpu", "--collapsed", "-o", failures.WORK + "/t.txt",
                                 failures.WORK + "/imports.py", "5"]
            r = failures.measure(None, 10000, [(cmd, None, 1)], failures.parse_tachyon,
                                 tachyon=True)
            cells["tachyon"] = "%.3f%% of %d" % (r.pct(r.failed), r.samples)
        else:
            cells["tachyon"] = "- (hg runs on 3.11)"
        note("failed", name, cells)
        rows.append(("failed samples, %s, -r 10khz" % ("imports.py loop, 3.15" if name == "imports"
                                                       else "`hg log -p` x5, 3.11"),
                     "< 0.1%", cells))

    # 3. target slowdown at 10 kHz
    os.makedirs(SID + slowdown.WORK, exist_ok=True)
    with open(SID + slowdown.WORK + "/worker.py", "w") as f:
        f.write(slowdown.WORKER)
    # and the perf event the bpf engine samples with, alone (no program):
    # the interrupt's own share, below which no in-kernel sampler goes
    subprocess.run(["bash", os.path.join(HERE, "run.sh"), "--build"], check=True,
                   stdout=subprocess.DEVNULL)
    floor = os.path.join(os.environ.get("TMPDIR", "/tmp"), "strobe-bench-bpf", "floor")
    res = {k: [] for k in ("alone", "event") + WHO}
    for _ in range(args.runs):
        for k in res:
            kind = k if k in ("alone", "tachyon", "event") else "strobe"
            extra = ["--mode", "cpu"] + (["--engine", k] if kind == "strobe" else [])
            res[k].append(slowdown.one(kind, floor if k == "event" else strobe, "10khz", 4,
                                       TCPU, PCPU, extra))
    base = statistics.median(res["alone"])
    note("slowdown", res)
    drop = {k: 100.0 * (1 - statistics.median(res[k]) / base) for k in res}
    cells = {k: "%.1f%%" % drop[k] for k in WHO}
    cells["bpf"] += " (the perf event alone: %.1f%%)" % drop["event"]
    rows.append(("target slowdown at 10 kHz (30-frame stack; alone: %d units, runs %s)"
                 % (base, "/".join(str(x) for x in res["alone"])), "<= 3%", cells))

    # 4. shares vs the program's own timing (truth.py), 10 kHz
    os.makedirs(SID + accuracy.WORK, exist_ok=True)
    tv = {k: [] for k in WHO}
    for _ in range(2):
        for who in WHO:
            out = accuracy.WORK + "/truth-%s.json" % who
            tg = accuracy.Target("truth.py", [str(args.seconds + 2), "READY_FD", out], TCPU)
            try:
                path, _, end = accuracy.profile(
                    "tachyon" if who == "tachyon" else "strobe", strobe, tg.pid, "10khz",
                    args.seconds - 1, "truth-%s.txt" % who, PCPU,
                    extra=["--mode", "cpu"] + ([] if who == "tachyon" else ["--engine", who]))
                tg.proc.wait(args.seconds + 30)
                with open(SID + out) as f:
                    truth = accuracy.window_truth(json.load(f), end, args.seconds - 1)
                tv[who].append(accuracy.tvd(path, truth)[0])
            finally:
                tg.stop()
    note("tvd", tv)
    rows.append(("TVD of truth.py's leaf shares vs its own timing, 10 kHz (2 runs)", "<= 0.01",
                 {k: "%.4f (%s)" % (statistics.median(v), "/".join("%.4f" % x for x in v))
                  for k, v in tv.items()}))

    print("load average at the end %s; %.0f s"
          % (" ".join(open("/proc/loadavg").read().split()[:3]), time.monotonic() - t_start))
    print()
    print("| figure | goal | reader | bpf | Tachyon |")
    print("|---|---|---|---|---|")
    for fig, goal, cells in rows:
        print("| %s | %s | %s | %s | %s |" % (fig, goal, cells["reader"], cells["bpf"],
                                              cells["tachyon"]))


if __name__ == "__main__":
    main()
