#!/usr/bin/env python3.15
"""Write a binary profile whose flame graph keeps every frame: STACKS stacks
of DEPTH frames that share nothing, each WEIGHT samples, so every node holds
exactly 1/STACKS of the samples (kept by Tachyon's 0.1% pruning when
STACKS <= 1000) and the page has STACKS x DEPTH + 1 frames.  Uses CPython
3.15's _remote_debugging.BinaryWriter (Tachyon's writer):

    chroot /var/cache/strobe/sid python3.15 make_wide_profile.py OUT.bin [STACKS DEPTH WEIGHT]

Defaults 1000 x 100 x 10: 100,000 distinct frames, 10,000 samples.
"""
import sys

import _remote_debugging as rd


def main():
    out = sys.argv[1]
    stacks = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    depth = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    weight = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    w = rd.BinaryWriter(out, 1000, 0, compression=1)
    t = 0
    for s in range(stacks):
        frames = []
        for d in range(depth):
            line = 10 + d
            loc = rd.LocationInfo((line, line, 4, 30))
            frames.append(rd.FrameInfo(("/srv/wide/mod_%d.py" % (s % 50), loc,
                                        "stack%d_level%d" % (s, d), None)))
        frames.reverse()  # innermost first
        sample = [rd.InterpreterInfo((0, [rd.ThreadInfo((7000 + s % 4, 1, frames))]))]
        for _ in range(weight):
            t += 1000
            w.write_sample(sample, t)
    w.finalize()


if __name__ == "__main__":
    main()
