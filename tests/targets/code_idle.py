"""Code objects that go idle, then run once more and die: for SECONDS
(argument, default 5), each round makes a brand-new function `idler`
(exec of a small source, in file "idle_src", with a fresh globals dict),
runs it for ~3 ms, sleeps NAP seconds (second argument, default 0.06),
runs it ~3 ms again, then drops it and makes objects of similar sizes, so
that its memory is soon something else, and sleeps again.

A profiler that resolves code objects after the sample (the BPF engine, up
to a drain period later) and trusts what it resolved before must notice
that an entry idle for a while may be stale: the second run's samples
need a copy of `idler`, which is freed within a few milliseconds.
`idler`'s loop is line 3 of "idle_src"."""
import sys
import time

import _common as c

SRC = "def idler(n):\n    x = 0\n    for i in range(n):\n        x += i\n    return x\n"


def spin(fn, seconds):
    end = c.now() + seconds
    while c.now() < end:
        fn(200)  # @spin


def rounds(seconds, nap):
    end = c.now() + seconds
    junk = []
    while c.now() < end:
        g = {}
        exec(compile(SRC, "idle_src", "exec"), g)
        idler = g["idler"]
        spin(idler, 0.003)  # @first
        time.sleep(nap)
        spin(idler, 0.003)  # @again
        g.clear()  # idler and its globals hold each other: no wait for the collector
        del idler, g
        # objects of the sizes its code object and names had
        junk = [b"%d" % i * k for k in range(8, 480, 24) for i in range(2)]
        time.sleep(nap)
    return junk


if __name__ == "__main__":
    c.signal("ready", __file__)
    rounds(float(sys.argv[1]) if len(sys.argv) > 1 else 5,
           float(sys.argv[2]) if len(sys.argv) > 2 else 0.06)  # @module
