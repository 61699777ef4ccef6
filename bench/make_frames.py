"""Write a binary profile with many distinct frames but a realistic number of
distinct stacks, with Tachyon's own writer.

    python3.15 make_frames.py OUT.bin [SAMPLES] [STACKS] [FUNCTIONS]

Runs under CPython 3.15 (its _remote_debugging.BinaryWriter).  STACKS
(default 50,000) call paths are random walks 5-40 deep through a generated
call graph of FUNCTIONS (default 20,000) functions in 400 files, each call
site on its own line, so the profile holds about 100,000 distinct
(file, line, function) frames.  Samples (default 1,000,000) pick a path with
a Zipf-like weight, on 8 threads, with some runs of identical samples, the
way a real program spends most of its time in a few places.  Deterministic
(seeded).  bench/make_big.py is the other extreme: a new stack at nearly
every sample.
"""
import random
import sys

import _remote_debugging as rd


def main():
    out = sys.argv[1]
    samples = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    nstacks = int(sys.argv[3]) if len(sys.argv) > 3 else 50_000
    nfuncs = int(sys.argv[4]) if len(sys.argv) > 4 else 20_000
    rnd = random.Random(11)
    files = ["/srv/app/pkg%d/module_%d.py" % (i % 40, i) for i in range(400)]
    funcs = [(files[rnd.randrange(len(files))], "func_%d" % i, rnd.randint(1, 3000))
             for i in range(nfuncs)]
    callees = [[rnd.randrange(nfuncs) for _ in range(5)] for _ in range(nfuncs)]
    roots = [rnd.randrange(nfuncs) for _ in range(40)]

    def frame(i, site):
        f, name, first = funcs[i]
        line = first + site
        loc = (line, line, 4, 24)
        return rd.FrameInfo((f, rd.LocationInfo(loc), name, None)) if hasattr(rd, "LocationInfo") \
            else (f, loc, name, None)

    stacks = []
    for _ in range(nstacks):
        depth = rnd.randint(5, 40)
        cur = roots[rnd.randrange(len(roots))]
        path = []
        for _ in range(depth):
            k = rnd.randrange(5)
            path.append(frame(cur, k))
            cur = callees[cur][k]
        stacks.append(list(reversed(path)))
    weights = [1.0 / (i + 1) ** 0.9 for i in range(nstacks)]

    w = rd.BinaryWriter(out, 1000, 0, compression=1)
    t = 0
    current = {}
    picks = rnd.choices(range(nstacks), weights=weights, k=samples)
    for n in range(samples):
        tid = 2000 + n % 8
        if tid not in current or rnd.random() < 0.4:
            current[tid] = stacks[picks[n]]
        t += 1000
        thread = rd.ThreadInfo((tid, 1, current[tid]))
        w.write_sample([rd.InterpreterInfo((0, [thread]))], t)
    w.finalize()


if __name__ == "__main__":
    main()
