#!/usr/bin/env python3
"""Writing each output format from one big profile: strobe vs Tachyon.

    bench/formats.py [--strobe build/strobe] [--samples 1000000] [--runs 3] [--formats a,b]

Makes (once, cached in the sid root's /tmp) a binary profile of --samples
samples over diverse stacks with Tachyon's own writer (bench/make_big.py),
then converts it to every format both tools have with `replay`, timing wall
clock, CPU time (user+system: steadier than wall clock on a loaded machine)
and peak RSS (GNU time).  Medians of --runs.  Prints a Markdown table.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SID = os.environ.get("STROBE_SID_ROOT", "/var/cache/strobe/sid")
FORMATS = ["pstats", "collapsed", "flamegraph", "gecko", "heatmap", "jsonl"]
ONLY_STROBE = ["speedscope", "pprof"]  # beyond Tachyon: strobe's figures alone


def timed(cmd):
    p = subprocess.run(["/usr/bin/time", "-f", "BENCH %e %U %S %M"] + cmd, capture_output=True,
                       text=True)
    if p.returncode != 0:
        raise SystemExit("failed: %s\n%s" % (" ".join(cmd), p.stderr[-2000:]))
    wall, user, sys_, rss = re.findall(r"BENCH ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", p.stderr)[-1]
    return float(wall), int(rss), float(user) + float(sys_)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strobe", default=os.path.join(HERE, "..", "build", "strobe"))
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--formats", help="comma-separated subset (default: all)")
    ap.add_argument("--baseline", metavar="STROBE",
                    help="compare with this other strobe binary (a commit before a change), "
                         "every format, instead of Tachyon")
    args = ap.parse_args()
    if args.baseline:
        return against_baseline(args)
    strobe = os.path.abspath(args.strobe)
    only = set(args.formats.split(",")) if args.formats else None
    big = big_profile(args.samples)
    name = os.path.basename(big)
    have = subprocess.run([strobe, "replay", "--help"], capture_output=True, text=True).stdout
    work = tempfile.mkdtemp(prefix="fmt-", dir=os.path.join(SID, "tmp"))
    inside = "/tmp/" + os.path.basename(work)
    print("| format (%d samples) | strobe wall s | Tachyon wall s | strobe CPU s | Tachyon CPU s "
          "| strobe MiB | Tachyon MiB | CPU time | memory |" % args.samples)
    print("|---|---|---|---|---|---|---|---|---|", flush=True)
    try:
        for fmt in FORMATS:
            if "--" + fmt not in have or (only and fmt not in only):
                continue
            flag = ["--" + fmt]
            ours = [strobe, "replay"] + flag + ["-o", os.path.join(work, "s." + fmt), big]
            theirs = ["chroot", SID, "python3.15", "-m", "profiling.sampling", "replay"] + flag + [
                "-o", inside + "/t." + fmt, "/tmp/" + name]
            s = [timed(ours) for _ in range(args.runs)]
            t = [timed(theirs) for _ in range(args.runs)]
            sw, sr, sc = (statistics.median(x[i] for x in s) for i in range(3))
            tw, tr, tc = (statistics.median(x[i] for x in t) for i in range(3))
            print("| %s | %.2f | %.2f | %.2f | %.2f | %.1f | %.1f | %.1fx less | %.1fx less |"
                  % (fmt, sw, tw, sc, tc, sr / 1024, tr / 1024, tc / max(sc, 0.01), tr / sr),
                  flush=True)
        for fmt in ONLY_STROBE:
            if "--" + fmt not in have or (only and fmt not in only):
                continue
            ours = [strobe, "replay", "--" + fmt, "-o", os.path.join(work, "s." + fmt), big]
            s = [timed(ours) for _ in range(args.runs)]
            print("| %s (strobe only) | %.2f | - | %.2f | - | %.1f | - | - | - |"
                  % (fmt, statistics.median(x[0] for x in s), statistics.median(x[2] for x in s),
                     statistics.median(x[1] for x in s) / 1024), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def big_profile(samples):
    """The binary profile of `samples` samples written by Tachyon (made once)."""
    name = "strobe-bench-big-%d.bin" % samples
    big = os.path.join(SID, "tmp", name)
    if not os.path.exists(big):
        shutil.copy(os.path.join(HERE, "make_big.py"), os.path.join(SID, "tmp/make_big.py"))
        subprocess.run(["chroot", SID, "python3.15", "/tmp/make_big.py", "/tmp/" + name,
                        str(samples)], check=True)
    return big


# what differs from run to run by design: the export's wall-clock time and
# the exporting process's pid (gecko, as Tachyon's) and the run id (jsonl, a
# random UUID as Tachyon's)
VOLATILE = re.compile(rb'"startTime":[0-9.]+|"pid":"[0-9]+"|"run_id":"[0-9a-f]{32}"')


def same_bytes(a, b):
    """Whether two outputs (files or heat-map directories) hold the same
    bytes, but for the fields that change on every run."""
    if os.path.isdir(a) or os.path.isdir(b):
        if not (os.path.isdir(a) and os.path.isdir(b)) or sorted(os.listdir(a)) != sorted(os.listdir(b)):
            return False
        return all(same_bytes(os.path.join(a, n), os.path.join(b, n)) for n in os.listdir(a))
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return VOLATILE.sub(b"", fa.read()) == VOLATILE.sub(b"", fb.read())


def against_baseline(args):
    """Each format written by strobe and by a baseline strobe from the same
    profile: what a refactoring must leave unchanged (time, peak memory, and
    the bytes written)."""
    strobe, base = os.path.abspath(args.strobe), os.path.abspath(args.baseline)
    only = set(args.formats.split(",")) if args.formats else None
    big = big_profile(args.samples)
    work = tempfile.mkdtemp(prefix="fmt-")
    print("| format (%d samples) | strobe wall s | baseline wall s | strobe CPU s | baseline CPU s "
          "| strobe MiB | baseline MiB | same bytes |" % args.samples)
    print("|---|---|---|---|---|---|---|---|", flush=True)
    try:
        for fmt in FORMATS + ONLY_STROBE:
            if only and fmt not in only:
                continue
            runs = {}
            for who, exe in (("new", strobe), ("base", base)):
                out = os.path.join(work, "%s.%s" % (who, fmt))
                cmd = [exe, "replay", "--" + fmt, "-o", out, big]
                runs[who] = [timed(cmd) for _ in range(args.runs)]
            same = same_bytes(os.path.join(work, "new." + fmt), os.path.join(work, "base." + fmt))
            nw, nr, nc = [statistics.median(x[i] for x in runs["new"]) for i in range(3)]
            bw, br, bc = [statistics.median(x[i] for x in runs["base"]) for i in range(3)]
            print("| %s | %.2f | %.2f | %.2f | %.2f | %.1f | %.1f | %s |"
                  % (fmt, nw, bw, nc, bc, nr / 1024, br / 1024, "yes" if same else "NO"),
                  flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
