#!/usr/bin/env python3
"""What the live view costs the sampling: achieved rate with and without --live.

Attaches strobe to the same CPython 3.15 target (the sid root, as the tests
use) at the same rate, once plain (`--collapsed -o /dev/null`) and once with
`--live` in a real terminal (a detached tmux window, 120x40, so the view
draws ten times a second), and reads the achieved rate each reports: the
"Sample rate:" line, and the "Samples: N total (R/s)" line of the live view's
finished screen.  Tachyon's own `--live` is run the same way for reference.
Each profiler's CPU time (user + system, from wait4 or /usr/bin/time) is
given as a share of one core over the sampling time.
Two targets: bench/deep.py (one 30-deep stack) and bench/wide.py (new
stacks all the time, so the profile and the view's tables keep growing).
Target and profiler are pinned to different cores; each figure is the
median of --runs runs.

    bench/live.py [--strobe build/strobe] [--runs 3] [--seconds 5] [--rate 10khz] [--no-tachyon]

Prints a Markdown table.  Needs root (chroot, ptrace) and tmux.
"""
import argparse
import os
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SID = os.environ.get("STROBE_SID_ROOT", "/var/cache/strobe/sid")
SAMPLES = re.compile(r"^Samples: +(\d+) total \( *([\d.]+)/s\)", re.M)
FINISHED = "PROFILING FINISHED"


def ensure_proc(root):
    proc = os.path.join(root, "proc")
    if not os.path.ismount(proc):
        subprocess.run(["mount", "-t", "proc", "proc", proc], check=True)


class Target:
    """python3.15 SCRIPT ARGS in the sid root, pinned to cpu, ready on a pipe."""

    def __init__(self, script, args, cpu):
        d = os.path.join(SID, "tmp/strobe-bench")
        os.makedirs(d, exist_ok=True)
        shutil.copy(os.path.join(HERE, script), os.path.join(d, script))
        r, w = os.pipe()
        self.proc = subprocess.Popen(["taskset", "-c", str(cpu), "chroot", SID, "python3.15",
                                      "/tmp/strobe-bench/" + script] + list(args) + [str(w)],
                                     pass_fds=(w,))
        os.close(w)
        with os.fdopen(r) as f:
            if f.readline().strip() != "ready":
                raise SystemExit("bench target %s did not start" % script)
        self.pid = self.proc.pid

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def plain(strobe, pid, rate, seconds, cpu):
    """(achieved rate, CPU seconds) of strobe attach without the view."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(["taskset", "-c", str(cpu), strobe, "attach", "-r", rate, "-d",
                          str(seconds), "--collapsed", "-o", "/dev/null", str(pid)],
                         capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise SystemExit("strobe failed: %s" % out.stderr)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return (float(re.search(r"Sample rate: ([\d.,]+)", out.stdout).group(1).replace(",", "")),
            used)


class Terminal:
    """A detached tmux window of 120x40; its server runs on server_cpu."""

    def __init__(self, server_cpu):
        self.dir = tempfile.mkdtemp(prefix="strobe-bench-tmux-")
        self.sock = os.path.join(self.dir, "s")
        env = dict(os.environ, HOME=self.dir, ENV="")
        env.pop("TMUX", None)
        subprocess.run(["taskset", "-c", str(server_cpu), "tmux", "-S", self.sock, "-f",
                        "/dev/null", "new-session", "-d", "-s", "b", "-x", "120", "-y", "40", "sh"],
                       check=True, env=env)

    def tmux(self, *args):
        return subprocess.run(["tmux", "-S", self.sock] + list(args), check=True,
                              capture_output=True, text=True).stdout

    def live(self, argv, seconds):
        """Run argv (a --live profiler with -d) to its finished screen:
        (the achieved rate the view shows, the profiler's CPU seconds)."""
        cpu_file = os.path.join(self.dir, "cpu")
        if os.path.exists(cpu_file):
            os.unlink(cpu_file)
        argv = ["/usr/bin/time", "-f", "%U %S", "-o", cpu_file] + list(argv)
        self.tmux("send-keys", "-t", "b", "-l", "clear; " + " ".join(shlex.quote(x) for x in argv) +
                  "; echo BENCH-EXIT:$?")
        self.tmux("send-keys", "-t", "b", "Enter")
        deadline = time.monotonic() + seconds + 60
        while True:
            screen = self.tmux("capture-pane", "-p", "-t", "b")
            if FINISHED in screen:
                break
            if "BENCH-EXIT:" in screen or time.monotonic() > deadline:
                raise SystemExit("the live view did not finish:\n" + screen)
            time.sleep(0.2)
        m = SAMPLES.search(screen)
        if not m:
            raise SystemExit("no Samples line on the finished screen:\n" + screen)
        self.tmux("send-keys", "-t", "b", "q")
        while "BENCH-EXIT:" not in self.tmux("capture-pane", "-p", "-t", "b"):
            if time.monotonic() > deadline:
                raise SystemExit("the live view did not exit after q")
            time.sleep(0.1)
        with open(cpu_file) as f:
            user, system = (float(x) for x in f.read().split()[-2:])
        return float(m.group(2)), user + system

    def close(self):
        subprocess.run(["tmux", "-S", self.sock, "kill-server"], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strobe", default=os.path.join(HERE, "..", "build", "strobe"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rate", default="10khz")
    ap.add_argument("--no-tachyon", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench needs root (chroot, ptrace of the target)")
    if not shutil.which("tmux"):
        raise SystemExit("bench/live.py needs tmux (apt-get install tmux)")
    ensure_proc(SID)
    ncpu = os.cpu_count() or 1
    tcpu, pcpu = (1, 0) if ncpu > 1 else (0, 0)
    strobe = os.path.abspath(args.strobe)
    med = statistics.median
    rows = []
    term = Terminal(tcpu)
    try:
        for script, targs, label in (("deep.py", ["30"], "deep.py, one 30-deep stack"),
                                     ("wide.py", [], "wide.py, ever new stacks")):
            target = Target(script, targs, tcpu)
            try:
                p, lv, tl = [], [], []
                for _ in range(args.runs):
                    p.append(plain(strobe, target.pid, args.rate, args.seconds, pcpu))
                    lv.append(term.live(["taskset", "-c", str(pcpu), strobe, "attach", "--live",
                                         "-r", args.rate, "-d", str(args.seconds),
                                         str(target.pid)], args.seconds))
                    if not args.no_tachyon:
                        tl.append(term.live(["taskset", "-c", str(pcpu), "chroot", SID,
                                             "python3.15", "-m", "profiling.sampling", "attach",
                                             "--live", "-r", args.rate, "-d", str(args.seconds),
                                             str(target.pid)], args.seconds))
            finally:
                target.stop()
            share = lambda runs: "%.0f%%" % (med([c for _, c in runs]) / args.seconds * 100)
            rate = lambda runs: med([r for r, _ in runs])
            rows.append(("%s, -r %s" % (label, args.rate), "%.0f" % rate(p), "%.0f" % rate(lv),
                         "%.3f" % (rate(lv) / rate(p)), share(p), share(lv),
                         "%.0f" % rate(tl) if tl else "-", share(tl) if tl else "-"))
    finally:
        term.close()
    print("Achieved rate (samples/s) and CPU (share of one core over the %d s), median of %d "
          "runs:\n" % (args.seconds, args.runs))
    print("| target | strobe plain | strobe --live | --live / plain | strobe CPU plain "
          "| strobe CPU --live | Tachyon --live | Tachyon CPU |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %s |" % " | ".join(r))


if __name__ == "__main__":
    main()
