#!/usr/bin/env python3
"""Failed samples on real programs, and why they failed.

Runs each workload under `strobe run` (without --blocking) and reads what
strobe reports at the end: the failed share, one line per cause, and with
--realtime-stats how many first walks were torn (by cause) before being
walked again.  The same runs with a baseline strobe (an older commit, built
here) show the causes before a change; Tachyon runs where it can (3.15).

    bench/failures.py [--strobe build/strobe] [--baseline COMMIT]
                      [--rates 1000,10000] [--seconds 5]
                      [--workloads imports,hg,pandas,numpy] [--versions 3.9,3.15]

Workloads (all real code nobody here wrote, on a quiet machine):
  imports  tests/targets/imports.py: 20 stdlib packages re-imported in a
           loop, on every interpreter the tests find (3.8-3.15)
  hg       `hg log -p` of a 60-commit repository (Debian's Mercurial on
           /usr/bin/python3), run HG_RUNS times, the counts added up
  pandas   bench/workloads/pandas_apply.py: DataFrame.apply row by row
  numpy    numpy's test_numeric under pytest (Debian's python3-numpy)
Debian packages they need are installed when missing (root).

Prints a Markdown table per rate (paste it into BENCHMARKS.md) and, with
--details, every run's cause breakdown.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "functional"))
import interpreters  # noqa: E402

SID = os.environ.get("STROBE_SID_ROOT", "/var/cache/strobe/sid")
WORK = "/tmp/strobe-bench-failures"   # inside the sid root too
HG_RUNS = 10
DEBIAN = ["mercurial", "python3-numpy", "python3-pandas", "python3-pytest",
          "python3-hypothesis"]


def ensure_debian():
    missing = [p for p in DEBIAN if subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True,
        text=True).stdout.strip() != "install ok installed"]
    if missing:
        print("installing %s ..." % " ".join(missing), file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-q"] + missing, check=True,
                       stdout=subprocess.DEVNULL, env=dict(os.environ,
                                                          DEBIAN_FRONTEND="noninteractive"))


def make_repo(path):
    """A Mercurial repository of 60 commits of 5 changed files each."""
    import random
    rnd = random.Random(1)
    os.makedirs(path)
    env = dict(os.environ, HGPLAIN="1", HGUSER="bench <bench@example.org>")
    subprocess.run(["hg", "init", path], check=True, env=env)
    for i in range(60):
        for f in range(5):
            name = os.path.join(path, "f%d.py" % ((i + f) % 12))
            lines = open(name).read().splitlines() if os.path.exists(name) else []
            for k in range(20):
                lines.insert(rnd.randint(0, len(lines)),
                             "x_%d_%d = %d  # change %d" % (i, k, rnd.randint(0, 10**6), i))
            del lines[:max(0, len(lines) - 300)]
            with open(name, "w") as fp:
                fp.write("\n".join(lines) + "\n")
        subprocess.run(["hg", "-R", path, "addremove", "-q"], check=True, env=env)
        subprocess.run(["hg", "-R", path, "commit", "-q", "-m", "change %d" % i,
                        "-d", "%d 0" % (1700000000 + i * 3600)], check=True, env=env)


def ensure_proc(root):
    """Tachyon reads /proc inside the root."""
    proc = os.path.join(root, "proc")
    if not os.path.ismount(proc):
        subprocess.run(["mount", "-t", "proc", "proc", proc], check=True)


def build_baseline(commit):
    """Build strobe at commit in a scratch worktree; return the binary."""
    where = os.path.join(tempfile.gettempdir(), "strobe-baseline-" + commit[:12])
    binary = os.path.join(where, "build", "strobe")
    if not os.path.exists(binary):
        if not os.path.exists(where):
            subprocess.run(["git", "-C", ROOT, "worktree", "add", "-f", "--detach", where,
                            commit], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["make", "-C", where, "-j2"], check=True, stdout=subprocess.DEVNULL)
    return binary


class Result:
    def __init__(self):
        self.samples = self.failed = self.torn = self.walks = 0
        self.causes = {}       # final failures by cause
        self.torn_by = {}      # first walks torn, by cause

    def add(self, other):
        self.samples += other.samples
        self.failed += other.failed
        self.torn += other.torn
        self.walks += other.walks
        for mine, theirs in ((self.causes, other.causes), (self.torn_by, other.torn_by)):
            for k, v in theirs.items():
                mine[k] = mine.get(k, 0) + v

    def pct(self, n):
        return 100.0 * n / self.samples if self.samples else 0.0


CAUSE = re.compile(r"^  (\S[^:]*): (\d+) \([\d.]+%\)$")
SUB = re.compile(r"^      (\S.*?)\s{2,}(\d+)$")


def parse_strobe(text):
    """Result from strobe's end-of-run summary and unwinder statistics."""
    r = Result()
    m = re.search(r"^Captured (\d+) samples?", text, re.M)
    if not m:
        raise RuntimeError("no summary in strobe's output:\n" + text[-2000:])
    r.samples = int(m.group(1))
    in_torn = False
    for line in text.splitlines():
        mc = CAUSE.match(line)
        if mc:
            r.causes[mc.group(1)] = int(mc.group(2))
            r.failed += int(mc.group(2))
        if line.startswith("    Torn first walks:"):
            r.torn = int(line.split(":")[1].split()[0])
            r.walks = int(re.search(r"(\d+) walks", line).group(1))
            in_torn = True
            continue
        if in_torn:
            ms = SUB.match(line)
            if ms:
                r.torn_by[ms.group(1)] = int(ms.group(2))
            else:
                in_torn = False
    return r


def parse_tachyon(text):
    r = Result()
    m = re.search(r"^Captured (\d+) samples?", text, re.M)
    e = re.search(r"^Error rate: ([\d.]+)", text, re.M)
    if not m or not e:
        raise RuntimeError("no summary in Tachyon's output:\n" + text[-2000:])
    r.samples = int(m.group(1))
    r.failed = round(float(e.group(1)) * r.samples / 100.0)
    return r


# strobe on one CPU, the target on another: a target that runs while it is
# read is the case that tears (sharing one CPU, one of the two waits while
# the other runs, and the scheduler's choice made runs differ tenfold)
PIN_STROBE, PIN_TARGET = "0", "1"


def run_strobe(strobe, rate, cmd, cwd=None, stats=True, extra=()):
    out = os.path.join(WORK, "out.txt")
    argv = ["taskset", "-c", PIN_STROBE, strobe, "run", "-r", str(rate), "--collapsed", "-o", out]
    argv += list(extra)
    cmd = ["taskset", "-c", PIN_TARGET] + cmd
    if stats:
        argv.append("--realtime-stats")
    p = subprocess.run(argv + ["--"] + cmd, cwd=cwd, capture_output=True, text=True,
                       timeout=600)
    if p.returncode not in (0, 1):
        raise RuntimeError("%s failed (%d): %s" % (argv, p.returncode, p.stderr[-2000:]))
    return p.stdout.replace("\r", "\n")


def workload_runs(name, interp, seconds, repo):
    """(command, cwd, repeat) lists for one workload on one interpreter."""
    if name == "imports":
        targets = os.path.join(ROOT, "tests", "targets")
        script = os.path.join(targets, "imports.py")
        if interp.root:
            for f in ("imports.py", "_common.py"):
                shutil.copy(os.path.join(targets, f), interp.root + WORK + "/" + f)
            script = WORK + "/imports.py"
        return [(interp.argv + [script, str(seconds)], None, 1)]
    if name == "hg":
        return [(["hg", "-R", repo, "log", "-p"], None, HG_RUNS)]
    if name == "pandas":
        return [(["/usr/bin/python3", os.path.join(HERE, "workloads", "pandas_apply.py"),
                  str(seconds)], None, 1)]
    if name == "numpy":
        return [(["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                  "--pyargs", "numpy.core.tests.test_numeric"], WORK, 1)]
    raise SystemExit("unknown workload " + name)


def measure(strobe, rate, runs, parse=parse_strobe, tachyon=False, extra=()):
    """extra: more options for strobe run (e.g. --engine bpf --mode cpu)."""
    total = Result()
    for cmd, cwd, repeat in runs:
        for _ in range(repeat):
            if tachyon:
                # Tachyon's sampler and its target are one process tree:
                # the profiler on one CPU, the launched script on another
                p = subprocess.run(["taskset", "-c", PIN_STROBE] + cmd, capture_output=True,
                                   text=True, timeout=600,
                                   env=dict(os.environ, STROBE_PIN_CPU=PIN_TARGET))
                text = p.stdout.replace("\r", "\n")
            else:
                text = run_strobe(strobe, rate, cmd, cwd, extra=extra)
            total.add(parse(text))
    return total


def causes_text(d, r):
    if not d:
        return "-"
    return ", ".join("%s %.2f%%" % (k, r.pct(v)) for k, v in
                     sorted(d.items(), key=lambda kv: -kv[1]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--strobe", default=os.path.join(ROOT, "build", "strobe"))
    ap.add_argument("--baseline", help="a commit whose strobe runs the same workloads")
    ap.add_argument("--rates", default="1000,10000")
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--workloads", default="imports,hg,pandas,numpy")
    ap.add_argument("--versions", help="imports only on these X.Y (default: all found)")
    ap.add_argument("--no-tachyon", action="store_true")
    ap.add_argument("--details", action="store_true")
    args = ap.parse_args()

    if os.geteuid() != 0:
        raise SystemExit("bench/failures.py runs as root (chroot, apt)")
    ensure_debian()
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    os.makedirs(SID + WORK, exist_ok=True)
    repo = os.path.join(WORK, "repo")
    names = args.workloads.split(",")
    if "hg" in names:
        make_repo(repo)
    baseline = build_baseline(args.baseline) if args.baseline else None

    found = interpreters.discover().supported
    if args.versions:
        want = set(args.versions.split(","))
        found = [i for i in found if "%d.%d" % i.version[:2] in want]
    rows = []
    for rate in [int(r) for r in args.rates.split(",")]:
        for name in names:
            interps = found if name == "imports" else [None]
            for interp in interps:
                label = interp.label if interp else "/usr/bin/python3 (3.11, Debian)"
                runs = workload_runs(name, interp, args.seconds, repo)
                now = measure(args.strobe, rate, runs)
                before = measure(baseline, rate, runs) if baseline else None
                tach = None
                if (not args.no_tachyon and name == "imports" and interp.root
                        and interp.version[:2] == (3, 15)):
                    ensure_proc(interp.root)
                    cmd = ["chroot", interp.root, "python3.15", "-m", "profiling.sampling",
                           "run", "-r", str(rate), "--collapsed", "-o", WORK + "/tach.txt",
                           WORK + "/imports.py", str(args.seconds)]
                    tach = measure(None, rate, [(cmd, None, 1)], parse_tachyon, tachyon=True)
                rows.append((rate, name, label, now, before, tach))
                print("%s %s %d Hz: %.2f%% failed (%s)" % (name, label, rate, now.pct(now.failed),
                                                         causes_text(now.causes, now)),
                      file=sys.stderr)

    for rate in sorted({r[0] for r in rows}):
        print("\n#### %d Hz\n" % rate)
        head = ("| workload | Python | samples | strobe failed | first walks torn (causes) |"
                " extra walks |")
        sep = "|---|---|---|---|---|---|"
        if baseline:
            head += " baseline failed (causes) |"
            sep += "---|"
        head += " Tachyon failed |"
        sep += "---|"
        print(head)
        print(sep)
        for r, name, label, now, before, tach in rows:
            if r != rate:
                continue
            line = "| %s | %s | %d | %.2f%% | %.1f%% (%s) | %.1f%% |" % (
                name, label, now.samples, now.pct(now.failed), now.pct(now.torn),
                causes_text(now.torn_by, now), now.pct(now.walks))
            if baseline:
                line += " %.2f%% (%s) |" % (before.pct(before.failed),
                                            causes_text(before.causes, before))
            line += " %s |" % ("%.2f%%" % tach.pct(tach.failed) if tach else "-")
            print(line)
        if args.details:
            for r, name, label, now, before, tach in rows:
                if r == rate and now.failed:
                    print("\n%s %s: %s" % (name, label, causes_text(now.causes, now)))


if __name__ == "__main__":
    main()
