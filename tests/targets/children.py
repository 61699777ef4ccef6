"""Starts Python child processes, for --subprocesses.

  children.py [pool|nopool] [HOLD]

pool (default): a multiprocessing Pool of 2 workers (the interpreter's default
start method: fork, or forkserver from 3.14) each spins HOLD seconds (default
1.0) in pool_work(); a barrier shared with the parent makes both workers run
at once.  The parent says "ready" once both are spinning, with their pids in
"workers", and "workers" again when they are done.
nopool: no multiprocessing (for an interpreter where it cannot work).

Then, in both modes, a `python -c` child (subprocess) spins 0.5 s in
child_spin(); the parent says "child" with its pid when it has exited, then
"done", and exits 0.
"""
import multiprocessing
import os
import subprocess
import sys
import time

import _common as c

CHILD_SPIN = 0.5
CHILD = """\
import sys, time
def child_spin(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
child_spin(float(sys.argv[1]))
"""

_barrier = None


def init(barrier):
    global _barrier
    _barrier = barrier


def pool_work(seconds):
    _barrier.wait(60)
    end = time.monotonic() + seconds
    while time.monotonic() < end: pass  # @pool_work
    return os.getpid()


def run_pool(hold):
    barrier = multiprocessing.Barrier(3)
    with multiprocessing.Pool(2, initializer=init, initargs=(barrier,)) as pool:
        result = pool.map_async(pool_work, [hold, hold], chunksize=1)
        barrier.wait(60)  # both workers are in pool_work now
        c.signal("ready", __file__, workers=sorted(p.pid for p in pool._pool),
                 start_method=multiprocessing.get_start_method())
        pids = result.get(60)  # @wait_pool
    c.signal("workers", workers=sorted(pids))


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "pool"
    hold = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    if mode == "pool":
        run_pool(hold)
    else:
        c.signal("ready", __file__, workers=[])
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(CHILD_SPIN)])
    rc = child.wait()  # @wait_child
    c.signal("child", child=child.pid, rc=rc)
    c.signal("done")


if __name__ == "__main__":
    main()  # @module
