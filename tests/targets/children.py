"""Starts Python child processes, for --subprocesses.

  children.py [pool|nopool|spawn|forkserver|reexec|quick|linger] [HOLD]

pool (default): a multiprocessing Pool of 2 workers (the interpreter's default
start method: fork, or forkserver from 3.14) each spins HOLD seconds (default
1.0) in pool_work(); a barrier shared with the parent makes both workers run
at once.  The parent says "ready" once both are spinning, with their pids in
"workers", and "workers" again when they are done.
spawn, forkserver: the same with that start method.
nopool: no multiprocessing (for an interpreter where it cannot work).

Then, in those modes, a `python -c` child (subprocess) spins 1 s in
child_spin(), and a `sleep 0.2` (not Python) runs; the parent says "child"
with the pids ("child", "nonpy") when both have exited, then "done", and
exits 0.

reexec: says "ready", then runs `children.py exec-before` (subprocess),
which spins 0.5 s in before_exec() and os.execv's the interpreter again as
`children.py exec-after` (same pid), which spins 0.5 s in after_exec(); then
"child" with its pid, "done".
quick: says "ready", then, one after the other, QUICK_FORKS fork children
(multiprocessing's fork context) spinning QUICK_FORK_S in quick_fork() and
QUICK_EXECS `python -c` children spinning QUICK_EXEC_S in child_spin(); then
"quick" with their pids ("forks", "execs"), "done".
linger: says "ready", starts `children.py lingering HOLD` (subprocess), which
says "lingering", spins HOLD seconds in linger_spin() and says "lingered"
(through the inherited readiness fd); the parent waits for it.
gated (children.py gated HOLD FIFO): the same, but the child is first a shell
that says nothing: the parent says "gated" with its pid, and the shell execs
`children.py lingering HOLD` once a line is written to FIFO, so that a test
can prepare something at the child's pid before it becomes Python.
"""
import multiprocessing
import os
import subprocess
import sys
import time

import _common as c

# long enough for a check of "profiled, with its functions" to hold on a
# loaded 2-core host under the sanitizer build, where a child's profiler was
# seen to start 0.5 s late; how short a child strobe still catches is
# bench/child_lifetimes.py's question, not the functional tests'
CHILD_SPIN = 1.0
CHILD = """\
import sys, time
def child_spin(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
child_spin(float(sys.argv[1]))
"""

QUICK_FORKS, QUICK_FORK_S = 6, 0.3
QUICK_EXECS, QUICK_EXEC_S = 3, 0.3

_barrier = None


def init(barrier):
    global _barrier
    _barrier = barrier


def pool_work(seconds, go=None):
    _barrier.wait(60)
    # go: a file the test creates once this worker's profiler samples (on a
    # loaded host its start can take longer than the spin)
    limit = time.monotonic() + 60
    while go and not os.path.exists(go) and time.monotonic() < limit:
        time.sleep(0.01)
    end = time.monotonic() + seconds
    while time.monotonic() < end: pass  # @pool_work
    return os.getpid()


def before_exec():
    end = time.monotonic() + 0.5
    while time.monotonic() < end: pass  # @before_exec


def after_exec():
    end = time.monotonic() + 0.5
    while time.monotonic() < end: pass  # @after_exec


def quick_fork(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end: pass  # @quick_fork


def linger_spin(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end: pass  # @linger_spin


def ready_fds():
    """The readiness fd, for a child that signals too."""
    fd = os.environ.get("STROBE_READY_FD")
    return (int(fd),) if fd else ()


def python_child(*args):
    return subprocess.Popen([sys.executable, os.path.abspath(__file__)] + list(args),
                            pass_fds=ready_fds())


def run_pool(hold, method=None, go=None):
    mp = multiprocessing.get_context(method)
    barrier = mp.Barrier(3)
    with mp.Pool(2, initializer=init, initargs=(barrier,)) as pool:
        result = pool.starmap_async(pool_work, [(hold, go), (hold, go)], chunksize=1)
        barrier.wait(60)  # both workers are in pool_work now
        c.signal("ready", __file__, workers=sorted(p.pid for p in pool._pool),
                 start_method=mp.get_start_method())
        pids = result.get(60)  # @wait_pool
    c.signal("workers", workers=sorted(pids))


def run_quick():
    fork = multiprocessing.get_context("fork")
    forks, execs = [], []
    for _ in range(QUICK_FORKS):
        p = fork.Process(target=quick_fork, args=(QUICK_FORK_S,))
        p.start()
        forks.append(p.pid)
        p.join()
    for _ in range(QUICK_EXECS):
        p = subprocess.Popen([sys.executable, "-c", CHILD, str(QUICK_EXEC_S)])
        execs.append(p.pid)
        p.wait()
    c.signal("quick", forks=forks, execs=execs)


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "pool"
    hold = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    if mode == "exec-before":
        before_exec()
        os.execv(sys.executable, [sys.executable, os.path.abspath(__file__), "exec-after"])
    if mode == "exec-after":
        after_exec()
        return
    if mode == "lingering":
        c.signal("lingering")
        linger_spin(hold)
        c.signal("lingered")
        return
    if mode in ("pool", "spawn", "forkserver"):
        run_pool(hold, None if mode == "pool" else mode, sys.argv[3] if len(sys.argv) > 3 else None)
    else:
        c.signal("ready", __file__, workers=[])
    if mode == "reexec":
        child = python_child("exec-before")
        c.signal("child", child=child.pid, rc=child.wait())
    elif mode == "quick":
        run_quick()
    elif mode == "linger":
        child = python_child("lingering", str(hold))
        c.signal("child", child=child.pid, rc=child.wait())
    elif mode == "gated":
        child = subprocess.Popen(["/bin/sh", "-c", 'read go < "$0" && exec "$@"', sys.argv[3],
                                  sys.executable, os.path.abspath(__file__), "lingering",
                                  str(hold)], pass_fds=ready_fds())
        c.signal("gated", child=child.pid)
        c.signal("child", child=child.pid, rc=child.wait())
    else:
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(CHILD_SPIN)])
        nonpy = subprocess.Popen(["sleep", "0.2"])
        rc = child.wait()  # @wait_child
        nonpy.wait()
        c.signal("child", child=child.pid, rc=rc, nonpy=nonpy.pid)
    c.signal("done")


if __name__ == "__main__":
    main()  # @module
