#!/usr/bin/env python3
"""Profiler memory over a long run: strobe vs Tachyon at 10 kHz.

Each profiler attaches to the same kind of CPython 3.15 target (sid root) for
--seconds at -r 10khz with --collapsed; its resident set size (VmRSS of the
profiler process, and for Tachyon of its Python) is read every few seconds.
Two targets:

- deep.py: one 30-deep stack forever.  Memory must be flat: nothing may grow
  with the number of samples.
- wide.py: random call chains 8-24 deep over 64 functions, so nearly every
  sample is a new stack.  Memory grows with the unique stacks; the table
  gives the number of distinct stacks in the output and the bytes per stack.

    bench/longrun.py [--strobe build/strobe] [--seconds 600] [--targets deep,wide]

Prints a Markdown table (paste it into BENCHMARKS.md).
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench import SID, ensure_proc  # noqa: E402

WORK = "/tmp/strobe-longrun"


def start_target(script, args, cpu):
    os.makedirs(SID + WORK, exist_ok=True)
    shutil.copy(os.path.join(HERE, script), SID + WORK + "/" + script)
    r, w = os.pipe()
    p = subprocess.Popen(["taskset", "-c", str(cpu), "chroot", SID, "python3.15",
                          WORK + "/" + script] + [a if a != "READY_FD" else str(w) for a in args],
                         pass_fds=(w,))
    os.close(w)
    with os.fdopen(r) as f:
        if f.readline().strip() != "ready":
            raise SystemExit("%s did not start" % script)
    return p


def rss_kib(pid):
    """VmRSS of pid and of its descendants (chroot execs python in place)."""
    total = 0
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    except OSError:
        return 0
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            for c in f.read().split():
                total += rss_kib(int(c))
    except OSError:
        pass
    return total


def watch(cmd, seconds, cpu):
    """Run a profiler; return [(t, rss KiB)] and its exit status."""
    p = subprocess.Popen(["taskset", "-c", str(cpu)] + cmd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    series = []
    step = max(1.0, seconds / 60)
    while p.poll() is None:
        r = rss_kib(p.pid)
        if r:
            series.append((time.monotonic() - t0, r))
        time.sleep(step)
    err = p.stderr.read()
    if p.returncode != 0:
        raise SystemExit("profiler failed: %s\n%s" % (" ".join(cmd), err))
    return series


def at(series, frac, seconds):
    """RSS at the last reading before frac * seconds."""
    best = series[0][1]
    for t, r in series:
        if t <= frac * seconds:
            best = r
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strobe", default=os.path.join(HERE, "..", "build", "strobe"))
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--targets", default="deep,wide")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("longrun needs root (chroot, ptrace of the target)")
    ensure_proc(SID)
    ncpu = os.cpu_count() or 1
    tcpu, pcpu = (1, 0) if ncpu > 1 else (0, 0)
    strobe = os.path.abspath(args.strobe)
    targets = {"deep": ("deep.py", ["30", "READY_FD"]), "wide": ("wide.py", ["READY_FD"])}
    print("| %d s at -r 10khz, RSS in MiB at 10%% / 50%% / 100%% of the run (peak) "
          "| strobe | Tachyon | distinct stacks |" % args.seconds)
    print("|---|---|---|---|")
    for name in args.targets.split(","):
        script, targs = targets[name]
        cells, stacks = {}, "-"
        for who in ("strobe", "tachyon"):
            t = start_target(script, targs, tcpu)
            try:
                out = WORK + "/%s-%s.txt" % (name, who)
                common = ["attach", "-r", "10khz", "-d", str(args.seconds), "--collapsed", "-o"]
                if who == "strobe":
                    cmd = [strobe] + common + [SID + out, str(t.pid)]
                else:
                    cmd = ["chroot", SID, "python3.15", "-m", "profiling.sampling"] + common + [
                        out, str(t.pid)]
                s = watch(cmd, args.seconds, pcpu)
                cells[who] = "%.1f / %.1f / %.1f (%.1f)" % tuple(
                    [at(s, f, args.seconds) / 1024 for f in (0.1, 0.5, 1.0)]
                    + [max(r for _, r in s) / 1024])
                if who == "strobe":
                    with open(SID + out) as f:
                        stacks = str(sum(1 for _ in f))
            finally:
                t.kill()
                t.wait()
        print("| %s | %s | %s | %s |" % (name, cells["strobe"], cells["tachyon"], stacks))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
