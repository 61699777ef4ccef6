#!/usr/bin/env python3
"""How short-lived a child can be and still be profiled by --subprocesses.

  bench/child_lifetimes.py --strobe build/strobe [--python python3] [--kind fork|exec]
                           [--ms 5,10,25,50,75,100] [--reps 10]

A parent run under `strobe run --subprocesses --collapsed` starts, one after
the other, REPS children per lifetime that spin MS milliseconds and exit:
`fork` children are multiprocessing (fork context) processes, alive for
about MS ms; `exec` children are `python -c`, alive for their interpreter's
start-up plus MS ms.  Children are 137 ms apart, out of step with the 100 ms
scan.  For each lifetime it prints how many children got an output file
with samples.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

PARENT = r'''
import json, multiprocessing as mp, subprocess, sys, time
def spin(ms):
    end = time.monotonic() + ms / 1000
    while time.monotonic() < end:
        pass
def main():
    kind, lifetimes, reps, log = sys.argv[1], sys.argv[2], int(sys.argv[3]), open(sys.argv[4], "w")
    ctx = mp.get_context("fork")
    for ms in [int(x) for x in lifetimes.split(",")]:
        for _ in range(reps):
            t0 = time.monotonic()
            if kind == "fork":
                p = ctx.Process(target=spin, args=(ms,))
                p.start()
                pid = p.pid
                p.join()
            else:
                code = "import time\nend = time.monotonic() + %f\nwhile time.monotonic() < end: pass" % (ms / 1000)
                p = subprocess.Popen([sys.executable, "-c", code])
                pid = p.pid
                p.wait()
            log.write(json.dumps({"ms": ms, "pid": pid, "life": time.monotonic() - t0}) + "\n")
            log.flush()
            time.sleep(0.137)
if __name__ == "__main__":
    main()
'''


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--strobe", required=True)
    ap.add_argument("--python", default="python3")
    ap.add_argument("--kind", choices=("fork", "exec"), default="fork")
    ap.add_argument("--ms", default="5,10,25,50,75,100")
    ap.add_argument("--reps", type=int, default=10)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="strobe-lifetimes-")
    script = os.path.join(work, "parent.py")
    with open(script, "w") as f:
        f.write(PARENT)
    log = os.path.join(work, "children.jsonl")
    subprocess.run([os.path.abspath(args.strobe), "run", "--subprocesses", "--collapsed",
                    "-o", os.path.join(work, "out.txt"), "--python", args.python, script,
                    args.kind, args.ms, str(args.reps), log],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    rows = {}
    with open(log) as f:
        for line in f:
            d = json.loads(line)
            r = rows.setdefault(d["ms"], {"n": 0, "ok": 0, "life": 0.0})
            r["n"] += 1
            r["life"] += d["life"]
            out = os.path.join(work, "out_%d.txt" % d["pid"])
            if os.path.exists(out):
                with open(out) as o:
                    if sum(int(l.rsplit(" ", 1)[1]) for l in o if l.strip()) > 0:
                        r["ok"] += 1
    print("%s children (%s), %d per lifetime:" % (args.kind, args.python, args.reps))
    for ms in sorted(rows):
        r = rows[ms]
        print("  spin %4d ms, alive ~%4.0f ms: %2d/%d profiled" % (ms, 1000 * r["life"] / r["n"],
                                                                r["ok"], r["n"]))
    subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    sys.exit(main())
