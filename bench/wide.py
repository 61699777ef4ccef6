"""Benchmark target: ever new stacks, for the live view's refresh cost.

    python wide.py [READY_FD]

64 functions call each other in random orders 8 to 24 deep, spin a little
(about 0.3 ms) at the bottom and return, forever: nearly every call chain is
a stack the profile has not seen yet, so the profile and the live view's
tables keep growing (thousands of new stacks a second at 10 kHz).
Writes "ready" to READY_FD (if given) once running.
"""
import os
import random
import sys

NFUNCS = 64


def spin():
    x = 0
    for i in range(300):
        x = (x + i * 7) % 1000003
    return x


SRC = "".join(
    "def f%d(k, seq):\n"
    "    if k == 0:\n"
    "        return spin()\n"
    "    return FUNCS[seq[k]](k - 1, seq)\n" % i for i in range(NFUNCS))
exec(SRC)
FUNCS = [globals()["f%d" % i] for i in range(NFUNCS)]


def main():
    fd = int(sys.argv[1]) if len(sys.argv) > 1 else -1
    rng = random.Random(1)
    if fd >= 0:
        os.write(fd, b"ready\n")
        os.close(fd)
    while True:
        seq = [rng.randrange(NFUNCS) for _ in range(rng.randrange(8, 25))]
        FUNCS[seq[-1]](len(seq) - 1, seq)


if __name__ == "__main__":
    main()
