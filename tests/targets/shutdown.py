"""A program whose end takes a while: the interpreter's own shutdown.

A module global keeps many objects in reference cycles to the end, so the
collections of Py_FinalizeEx have them all to free; another global holds a
Slow object whose __del__, run while the interpreter tears the module down,
burns CPU on @del.  Before the end the main thread spins in work() on @work
(0.5 s: the bpf engine, loaded while the interpreter starts, gets its 100
samples there on a loaded host too); then the module just returns (no
sys.exit, no os._exit).

argv[1]: how many objects in cycles (default 400000)."""
import gc
import sys
import time

import _common as c

COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 400000


class Cycle:
    __slots__ = ("me",)

    def __init__(self):
        self.me = self  # only the collector frees it


class Slow:
    # defaults, not globals: the module's globals may be gone when this runs
    def __del__(self, now=time.monotonic, seconds=0.1):
        t = now() + seconds
        while now() < t: pass  # @del


def work(seconds):
    t = c.now() + seconds
    while c.now() < t: pass  # @work


gc.disable()  # no collection before the end: the cycles all stay
KEEP = [Cycle() for _ in range(COUNT)]
LAST = Slow()
c.signal("ready", __file__)
work(0.5)  # @module
