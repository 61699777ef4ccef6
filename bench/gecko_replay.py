#!/usr/bin/env python3
"""replay --gecko: strobe vs Tachyon on a large binary profile.

Writes a synthetic binary profile of --samples thread-samples with Tachyon's
own writer (_remote_debugging.BinaryWriter, CPython 3.15 in the sid root):
4 threads whose stacks wander between depth 20 and 40 over 60 functions in
12 files, a new stack every few samples, the thread status (GIL, CPU,
GIL wanted, exception) changing now and then and <GC> frames at times, so
that the tables, the sample columns and the markers all have work.  Then
replays it with `strobe replay --gecko` and `python3.15 -m profiling.sampling
replay --gecko`, each under GNU time (wall time, peak RSS), --runs times,
and checks that both outputs are the same profile (gecko_validate.compare,
timing included).

    bench/gecko_replay.py [--strobe build/strobe] [--samples 1000000] [--runs 3]

Needs root (chroot) and the sid root of tests/provision.sh.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SID = os.environ.get("STROBE_SID_ROOT", "/var/cache/strobe/sid")
sys.path.insert(0, os.path.join(HERE, "..", "tests", "functional"))
import gecko_validate as gv  # noqa: E402

GEN = r"""
import random, sys
import _remote_debugging as rd
path, total = sys.argv[1], int(sys.argv[2])
rnd = random.Random(42)
files = ["/srv/app/mod%02d.py" % i for i in range(12)]
funcs = [(files[i % 12], "f%02d" % i, 10 + 3 * i) for i in range(60)]
w = rd.BinaryWriter(path, 100, 1_000_000, compression=1, mode=3, capture_features=0x8 | 4)
tids = [4000 + k for k in range(4)]
stacks = {t: [funcs[0]] * 25 for t in tids}
status = {t: 1 | 2 for t in tids}
ts = 1_000_000
n = 0
while n < total:
    ts += 100
    threads = []
    for t in tids:
        st = stacks[t]
        if rnd.random() < 0.3:
            # pop a few frames, push a few others
            k = rnd.randint(0, min(5, len(st) - 20))
            del st[len(st) - k:]
            while len(st) < 20 or (len(st) < 40 and rnd.random() < 0.5):
                st.append(rnd.choice(funcs))
        if rnd.random() < 0.02:
            status[t] = rnd.choice((1 | 2, 2, 8, 1 | 2 | 16, 0, 1))
        frames = [rd.FrameInfo((f, (ln + len(st) % 3, ln + 1, 4, 12), fn, None))
                  for f, fn, ln in reversed(st)]
        if rnd.random() < 0.01:
            frames.insert(0, rd.FrameInfo(("~", None, "<GC>", None)))
        threads.append(rd.ThreadInfo((t, status[t] | (32 if t == tids[0] else 0), frames)))
        n += 1
    w.write_sample([rd.InterpreterInfo((0, threads))], ts)
w.set_stats((ts - 1_000_000) / 1e6, 10000.0, 0.0, 0.0)
w.finalize()
print(n)
"""


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def timed(argv, cwd=None):
    """(wall seconds, peak RSS KiB) of argv under GNU time."""
    fd, out = tempfile.mkstemp()
    os.close(fd)
    try:
        sh(["/usr/bin/time", "-f", "%e %M", "-o", out] + argv, cwd=cwd,
           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(out) as f:
            wall, rss = f.read().split()[-2:]
        return float(wall), int(rss)
    finally:
        os.unlink(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strobe", default=os.path.join(HERE, "..", "build", "strobe"))
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="strobe-gecko-bench-", dir=os.path.join(SID, "tmp"))
    inside = "/" + os.path.relpath(work, SID)
    try:
        with open(os.path.join(work, "gen.py"), "w") as f:
            f.write(GEN)
        n = sh(["chroot", SID, "python3.15", inside + "/gen.py", inside + "/big.bin",
                str(args.samples)], stdout=subprocess.PIPE, text=True).stdout.strip()
        size = os.path.getsize(os.path.join(work, "big.bin"))
        print("profile: %s thread-samples, %d bytes (zstd)" % (n, size))
        rows = {"strobe": [], "Tachyon": []}
        for _ in range(args.runs):
            rows["strobe"].append(timed([os.path.abspath(args.strobe), "replay", "--gecko", "-o",
                                         os.path.join(work, "strobe.json"),
                                         os.path.join(work, "big.bin")]))
            rows["Tachyon"].append(timed(["chroot", SID, "sh", "-c",
                                          'cd "$0" && exec python3.15 -m profiling.sampling '
                                          'replay --gecko -o tachyon.json big.bin', inside]))
        a = gv.load(os.path.join(work, "strobe.json"))
        b = gv.load(os.path.join(work, "tachyon.json"))
        problems = gv.validate(a) + gv.compare(a, b, timing=True)
        print("outputs: %s; %d bytes (strobe) / %d bytes (Tachyon)"
              % ("the same profile" if not problems else "DIFFER: " + "; ".join(problems[:3]),
                 os.path.getsize(os.path.join(work, "strobe.json")),
                 os.path.getsize(os.path.join(work, "tachyon.json"))))
        print()
        print("| replay --gecko, %s thread-samples (median of %d) | strobe | Tachyon | ratio |"
              % (n, args.runs))
        print("|---|---|---|---|")
        sw = statistics.median(r[0] for r in rows["strobe"])
        tw = statistics.median(r[0] for r in rows["Tachyon"])
        sm = statistics.median(r[1] for r in rows["strobe"])
        tm = statistics.median(r[1] for r in rows["Tachyon"])
        print("| wall time (s) | %.2f | %.2f | %.1fx less |" % (sw, tw, tw / max(sw, 0.01)))
        print("| peak RSS (MiB) | %.1f | %.1f | %.1fx less |" % (sm / 1024, tm / 1024,
                                                               tm / max(sm, 1)))
        return 0 if not problems else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
