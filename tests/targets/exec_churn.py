"""Code churn: compiles and runs the same small module source over and over
for SECONDS (argument, default 5), then exits 0.

Each round makes a brand-new module code object and function code object
(exec(compile(...))), runs them for ~0.1 ms and drops them, then makes
objects of similar sizes: the addresses a sample records are freed, and
reused by the next round's code or other objects, within a millisecond.  A profiler that resolves code objects after the
sample (the BPF engine, up to a drain period later) must have copied them.
The churned function is `churned` in file "churn_src" (line 3 is its loop)."""
import os
import sys

import _common as c

SRC = "def churned():\n    x = 0\n    for i in range(2000):\n        x += i\nchurned()\n"


def churn(seconds):
    end = c.now() + seconds
    junk = []
    while c.now() < end:
        for _ in range(20):
            exec(compile(SRC, "churn_src", "exec"), {})  # @exec
            # objects of the sizes the round's code objects had, so
            # their memory is soon something else (3.13+ leave a freed
            # code object's words alone until then)
            junk = [b"%d" % i * k for k in range(8, 480, 24) for i in range(2)]
    return junk


if __name__ == "__main__":
    c.signal("ready", __file__)
    churn(float(sys.argv[1]) if len(sys.argv) > 1 else 5)  # @module
