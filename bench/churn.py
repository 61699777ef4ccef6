"""Torn-stack target: call stacks that change every few microseconds.

    python churn.py READY_FD

Hundreds of generated functions call each other in random chains 8-16 deep
(the chain is chosen by a seeded generator; each function is told which
callee comes next), each doing a few microseconds of work at the bottom.  Any
sampled stack must be a prefix-closed path of real calls: every frame
f_i -> f_{i+1} must be an edge the program can take ("fN" may only call
"fM" with M > N: the functions are numbered so that every call goes up), and
the leaf must be a function.  A stack violating that is torn.
"""
import os
import random
import sys

N = 300
SRC = []
for i in range(N):
    SRC.append(
        "def f%d(chain, k):\n"
        "    if k < len(chain):\n"
        "        return FUNCS[chain[k]](chain, k + 1)\n"
        "    x = 0\n"
        "    for j in range(40):\n"
        "        x += j\n"
        "    return x\n" % i)
NS = {}
exec(compile("".join(SRC), "churn_gen.py", "exec"), NS)
FUNCS = [NS["f%d" % i] for i in range(N)]
NS["FUNCS"] = FUNCS


def main():
    fd = int(sys.argv[1])
    rnd = random.Random(99)
    chains = []
    for _ in range(2000):
        depth = rnd.randint(8, 16)
        chains.append(sorted(rnd.sample(range(N), depth)))
    os.write(fd, b"ready\n")
    os.close(fd)
    while True:
        for c in chains:
            FUNCS[c[0]](c, 1)


if __name__ == "__main__":
    main()
