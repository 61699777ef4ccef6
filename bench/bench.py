#!/usr/bin/env python3
"""strobe vs Tachyon, same target, same run.

Starts a CPython 3.15 target (the Debian sid root, as the tests use) that
spins at the bottom of a fixed-depth stack, then attaches each profiler in
turn for a few seconds and reads what it reports, plus the CPU time it used
(from /proc, user+system).  Target and profiler are pinned to different
cores.  Every figure is the median of --runs runs.

    bench/bench.py [--strobe build/strobe] [--runs 3] [--seconds 5] [--depth 30]

Prints a Markdown table (paste it into BENCHMARKS.md).
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SID = os.environ.get("STROBE_SID_ROOT", "/var/cache/strobe/sid")


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def ensure_proc(root):
    proc = os.path.join(root, "proc")
    if not os.path.ismount(proc):
        sh(["mount", "-t", "proc", "proc", proc])


class Target:
    def __init__(self, depth, cpu):
        os.makedirs(os.path.join(SID, "tmp/strobe-bench"), exist_ok=True)
        shutil.copy(os.path.join(HERE, "deep.py"), os.path.join(SID, "tmp/strobe-bench/deep.py"))
        r, w = os.pipe()
        self.proc = subprocess.Popen(
            ["taskset", "-c", str(cpu), "chroot", SID, "python3.15",
             "/tmp/strobe-bench/deep.py", str(depth), str(w)],
            pass_fds=(w,))
        os.close(w)
        with os.fdopen(r) as f:
            if f.readline().strip() != "ready":
                raise SystemExit("bench target did not start")
        self.pid = self.proc.pid

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def run_profiler(cmd, cpu):
    """Run a profiler; return (achieved rate, error %, cpu seconds, wall, peak RSS KiB)."""
    t0 = time.monotonic()
    with tempfile.TemporaryFile("w+") as out:
        # GNU time reports the profiler's peak RSS (a child forked from this
        # Python process would inherit its high-water mark); wait4 gives the
        # CPU time of time and everything it waited for
        p = subprocess.Popen(["/usr/bin/time", "-f", "BENCH_MAXRSS_KB=%M", "taskset", "-c", str(cpu)]
                             + cmd, stdout=out, stderr=subprocess.STDOUT, text=True)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - t0
        out.seek(0)
        text = out.read()
    if p.returncode != 0:
        raise SystemExit("profiler failed: %s\n%s" % (" ".join(cmd), text))
    rate = float(re.search(r"Sample rate: ([\d.,]+)", text).group(1).replace(",", ""))
    err = float(re.search(r"Error rate: ([\d.,]+)", text).group(1).replace(",", ""))
    maxrss = int(re.search(r"BENCH_MAXRSS_KB=(\d+)", text).group(1))
    return rate, err, ru.ru_utime + ru.ru_stime, wall, maxrss


def timed(cmd, cpu):
    """Run cmd to completion; (wall seconds, peak RSS KiB, stdout)."""
    t0 = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-f", "BENCH_MAXRSS_KB=%M", "taskset", "-c", str(cpu)] + cmd,
                       capture_output=True, text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise SystemExit("failed: %s\n%s%s" % (" ".join(cmd), p.stdout, p.stderr))
    rss = int(re.search(r"BENCH_MAXRSS_KB=(\d+)", p.stderr).group(1))
    return wall, rss, p.stdout


def bench_binary(args, strobe, target, pcpu, rows):
    """The binary format (issue 4): recording overhead, size, replay speed."""
    tachyon = ["chroot", SID, "python3.15", "-m", "profiling.sampling"]
    work = os.path.join(SID, "tmp/strobe-bench")
    inside = "/tmp/strobe-bench"
    med = statistics.median
    # recording overhead: the same attach at the maximum rate, two formats
    coll, binr = [], []
    for _ in range(args.runs):
        coll.append(run_profiler([strobe, "attach", "-r", "1000khz", "-d", str(args.seconds),
                                  "--collapsed", "-o", "/dev/null", str(target.pid)], pcpu)[0])
        binr.append(run_profiler([strobe, "attach", "-r", "1000khz", "-d", str(args.seconds),
                                  "--binary", "-o", os.path.join(work, "s.bin"), str(target.pid)],
                                 pcpu)[0])
    c, b = med(coll), med(binr)
    rows.append(("strobe max rate --collapsed vs --binary (samples/s)", "%.0f / %.0f" % (c, b), "-",
                 "%.1f%% %s with --binary" % (abs(100 * (c - b) / c), "lower" if b < c else "higher")))
    # size: both record the same target at the same rate for the same time
    sizes = {}
    for who in ("strobe", "tachyon"):
        per = []
        for _ in range(args.runs):
            f = os.path.join(work, who + "-10k.bin")
            cmd = ([strobe] if who == "strobe" else tachyon) + [
                "attach", "-r", "10khz", "-d", str(args.seconds), "--binary", "-o",
                f if who == "strobe" else inside + "/" + who + "-10k.bin", str(target.pid)]
            out = run_profiler(cmd, pcpu)
            # samples = achieved rate x duration (one thread: ticks = thread-samples)
            per.append(os.path.getsize(f) / max(1.0, out[0] * args.seconds))
        sizes[who] = med(per)
    rows.append(("binary file size at 10 kHz (bytes per sample)", "%.2f" % sizes["strobe"],
                 "%.2f" % sizes["tachyon"], "%.2fx" % (sizes["strobe"] / sizes["tachyon"])))
    # replay: one big file recorded by Tachyon, converted by both
    big = "tachyon-big.bin"
    run_profiler(tachyon + ["attach", "-r", "1000khz", "-d", str(2 * args.seconds), "--binary", "-o",
                            inside + "/" + big, str(target.pid)], pcpu)
    nsamples = int(re.search(r"Replaying (\d+) samples",
                             timed([strobe, "replay", "--collapsed", "-o", "/dev/null",
                                    os.path.join(work, big)], pcpu)[2]).group(1))
    for fmt in ("collapsed", "pstats"):
        st, tt, sr, tr = [], [], [], []
        for _ in range(args.runs):
            w, r, _ = timed([strobe, "replay", "--" + fmt, "-o", os.path.join(work, "r." + fmt),
                             os.path.join(work, big)], pcpu)
            st.append(w)
            sr.append(r)
            w, r, _ = timed(tachyon + ["replay", "--" + fmt, "-o", inside + "/t." + fmt,
                                       inside + "/" + big], pcpu)
            tt.append(w)
            tr.append(r)
        rows.append(("replay of a %d-sample Tachyon file to %s (s)" % (nsamples, fmt),
                     "%.3f" % med(st), "%.3f" % med(tt), "%.1fx faster" % (med(tt) / med(st))))
        rows.append(("  peak RSS of that replay (MiB)", "%.1f" % (med(sr) / 1024),
                     "%.1f" % (med(tr) / 1024), ""))


def bench_maxrate(args, strobe, target, pcpu, rows):
    """Issue 8: the achieved rate at -r 1000khz writing pstats and binary
    (collapsed is the rate1000k case), both tools, same target."""
    tachyon = ["chroot", SID, "python3.15", "-m", "profiling.sampling"]
    work = os.path.join(SID, "tmp/strobe-bench")
    for fmt in ("pstats", "binary"):
        res = {"strobe": [], "tachyon": []}
        for _ in range(args.runs):
            for who in ("strobe", "tachyon"):
                out = (os.path.join(work, "max." + fmt) if who == "strobe"
                       else "/tmp/strobe-bench/max." + fmt)
                cmd = ([strobe] if who == "strobe" else tachyon) + [
                    "attach", "-r", "1000khz", "-d", str(args.seconds), "--" + fmt, "-o", out,
                    str(target.pid)]
                res[who].append(run_profiler(cmd, pcpu))
        s = statistics.median(r[0] for r in res["strobe"])
        t = statistics.median(r[0] for r in res["tachyon"])
        rows.append(("achieved rate at -r 1000khz, --%s (samples/s)" % fmt, "%.0f" % s, "%.0f" % t,
                     "%.2fx" % (s / t)))
        sc = statistics.median(1e6 * r[2] / (r[0] * r[3]) for r in res["strobe"])
        tc = statistics.median(1e6 * r[2] / (r[0] * r[3]) for r in res["tachyon"])
        rows.append(("  profiler CPU per sample, --%s (us)" % fmt, "%.2f" % sc, "%.2f" % tc,
                     "%.1fx less" % (tc / sc)))


def bench_readfloor(args, readcost, target, pcpu, rows):
    """The floor under the time per sample: what the read system calls alone
    cost on this machine (bench/readcost.c, on the profiler's core)."""
    runs = []
    for _ in range(args.runs):
        out = subprocess.run(["taskset", "-c", str(pcpu), readcost, str(target.pid), "1"],
                             capture_output=True, text=True, check=True).stdout
        runs.append({m.group(1): float(m.group(2)) for m in
                     re.finditer(r"^(.*?)\s+(\d+) ns/call", out, re.M)})
    for key in ("process_vm_readv, 1 x 0 B", "process_vm_readv, 1 x 64 B on 1 page",
                "process_vm_readv, 4 x 64 B on 4 pages", "process_vm_readv, 4 x 64 B on 1 page",
                "process_vm_readv, 1 x 16 KiB on 4 pages", "pread /proc/PID/mem, 64 B"):
        ns = statistics.median(r[key] for r in runs)
        rows.append(("  floor: one %s (us; max kHz)" % key, "%.2f; %.0f" % (ns / 1000, 1e6 / ns),
                     "-", ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strobe", default=os.path.join(HERE, "..", "build", "strobe"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--depth", type=int, default=30)
    ap.add_argument("--cases", default="rate100k,rate1000k,maxrate,readfloor,cpu1k,cpu10k,binary")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench needs root (chroot, ptrace of the target)")
    ensure_proc(SID)
    ncpu = os.cpu_count() or 1
    tcpu, pcpu = (1, 0) if ncpu > 1 else (0, 0)
    strobe = os.path.abspath(args.strobe)
    wakeup = os.path.join(tempfile.mkdtemp(prefix="strobe-bench-"), "wakeup")
    sh(["cc", "-O2", "-o", wakeup, os.path.join(HERE, "wakeup.c")])
    readcost = os.path.join(os.path.dirname(wakeup), "readcost")
    sh(["cc", "-O2", "-o", readcost, os.path.join(HERE, "readcost.c")])

    cases = {
        "rate100k": ("100khz", "achieved rate at -r 100khz (samples/s)"),
        "rate1000k": ("1000khz", "achieved rate at -r 1000khz (samples/s)"),
        "cpu1k": ("1khz", "profiler CPU at 1 kHz (% of a core)"),
        "cpu10k": ("10khz", "profiler CPU at 10 kHz (% of a core)"),
    }
    rows = []
    target = Target(args.depth, tcpu)
    try:
        for name in args.cases.split(","):
            if name == "binary":
                bench_binary(args, strobe, target, pcpu, rows)
                continue
            if name == "maxrate":
                bench_maxrate(args, strobe, target, pcpu, rows)
                continue
            if name == "readfloor":
                bench_readfloor(args, readcost, target, pcpu, rows)
                continue
            rate_arg, label = cases[name]
            res = {"strobe": [], "tachyon": []}
            for _ in range(args.runs):
                for who in ("strobe", "tachyon"):
                    common = ["attach", "-r", rate_arg, "-d", str(args.seconds), "--collapsed",
                              "-o", "/dev/null", str(target.pid)]
                    if who == "strobe":
                        cmd = [strobe] + common
                    else:
                        cmd = ["chroot", SID, "python3.15", "-m", "profiling.sampling"] + common
                    res[who].append(run_profiler(cmd, pcpu))
            def med(who, i):
                return statistics.median(r[i] for r in res[who])
            if name.startswith("rate"):
                s, t = med("strobe", 0), med("tachyon", 0)
                rows.append((label, "%.0f" % s, "%.0f" % t, "%.2fx" % (s / t)))
                se, te = med("strobe", 1), med("tachyon", 1)
                rows.append(("  error rate at -r %s (%%)" % rate_arg, "%.2f" % se, "%.2f" % te, ""))
                sc = 1e6 * med("strobe", 2) / (med("strobe", 0) * med("strobe", 3))
                tc = 1e6 * med("tachyon", 2) / (med("tachyon", 0) * med("tachyon", 3))
                rows.append(("  profiler CPU per sample at -r %s (us)" % rate_arg, "%.2f" % sc,
                             "%.2f" % tc, "%.1fx less" % (tc / sc)))
                sm, tm = med("strobe", 4), med("tachyon", 4)
                rows.append(("  peak RSS at -r %s (MiB)" % rate_arg, "%.1f" % (sm / 1024),
                             "%.1f" % (tm / 1024), ""))
            else:
                s = 100 * med("strobe", 2) / med("strobe", 3)
                t = 100 * med("tachyon", 2) / med("tachyon", 3)
                rows.append((label, "%.2f" % s, "%.2f" % t, "%.1fx less" % (t / s if s else float("inf"))))
                # what merely waking up that often costs on this machine
                # and waking up plus the one 4-piece read a sample needs
                hz = int(float(rate_arg[:-3]) * 1000)
                for extra, what in (([], "bare timer wake-ups"),
                                    ([str(target.pid)], "wake-ups + one 4-piece read each")):
                    floor = statistics.median(
                        float(subprocess.run(["taskset", "-c", str(pcpu), wakeup, str(hz),
                                              str(args.seconds)] + extra,
                                             capture_output=True, text=True, check=True).stdout)
                        for _ in range(args.runs))
                    rows.append(("  floor: %s at %s (%% of a core)" % (what, rate_arg),
                                 "%.2f" % floor, "-", ""))
    finally:
        target.stop()

    print("| figure (%d-deep stack, CPython 3.15, median of %d) | strobe | Tachyon | ratio |"
          % (args.depth, args.runs))
    print("|---|---|---|---|")
    for r in rows:
        print("| %s | %s | %s | %s |" % r)


if __name__ == "__main__":
    main()
