"""Write a large, diverse binary profile with Tachyon's own writer.

    python3.15 make_big.py OUT.bin [SAMPLES] [FUNCTIONS]

Runs under CPython 3.15 (its _remote_debugging.BinaryWriter).  Stacks are
random walks 5-40 deep through a generated call graph of FUNCTIONS functions
spread over 200 files, on 8 threads, with real-looking locations, so the
profile has many distinct stacks and frames (a worst case for every format).
Deterministic (seeded).
"""
import random
import sys

import _remote_debugging as rd


def main():
    out = sys.argv[1]
    samples = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    nfuncs = int(sys.argv[3]) if len(sys.argv) > 3 else 20_000
    rnd = random.Random(7)
    files = ["/srv/app/pkg%d/module_%d.py" % (i % 20, i) for i in range(200)]
    funcs = [(files[rnd.randrange(len(files))], "func_%d" % i, rnd.randint(1, 2000))
             for i in range(nfuncs)]
    callees = [[rnd.randrange(nfuncs) for _ in range(4)] for _ in range(nfuncs)]
    roots = [rnd.randrange(nfuncs) for _ in range(50)]

    def frame(i):
        f, name, first = funcs[i]
        line = first + rnd.randint(0, 30)
        return rd.FrameInfo((f, rd.LocationInfo((line, line, 4, 20)), name, None)) \
            if hasattr(rd, "LocationInfo") else (f, (line, line, 4, 20), name, None)

    w = rd.BinaryWriter(out, 1000, 0, compression=1)
    t = 0
    stacks = {}
    for n in range(samples):
        tid = 1000 + n % 8
        # threads mostly keep their stack, sometimes move (like real programs)
        st = stacks.get(tid)
        if st is None or rnd.random() < 0.3:
            depth = rnd.randint(5, 40)
            cur = roots[rnd.randrange(len(roots))]
            path = [cur]
            for _ in range(depth - 1):
                cur = callees[cur][rnd.randrange(4)]
                path.append(cur)
            st = [frame(i) for i in reversed(path)]
            stacks[tid] = st
        t += 1000
        thread = rd.ThreadInfo((tid, 1, st))
        w.write_sample([rd.InterpreterInfo((0, [thread]))], t)
    w.finalize()


if __name__ == "__main__":
    main()
