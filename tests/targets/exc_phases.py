"""Exceptions whose cost the program measures itself (issue 16, point 4).

The hot loop, loop(), calls raiser(), which raises; loop() catches.  Two
lines do a known amount of work, and the program stamps them with
time.perf_counter_ns:

  @raise   sum() over WORK (C code, raiser's frame on top), then the raise.
           Stamped from its first call to the first call of the except line:
           the segment holds the sum, the raise, the unwinding of raiser and
           of loop's call line, a few hundred nanoseconds that are not the
           raise line's.
  @except  the match against a tuple of CLASSES classes, Failure last (C
           code, loop's frame on top); stamped from that first call to the
           handler's.

An iteration takes a few microseconds, so frames come and go many times
while a profiler copies the thread's state and its frames: one that mixes
moments shows it here.

bare_loop() and bare_raiser() are the same code with no work (an empty sum,
a one-class match).  They run in turns with loop() (batches of about 2.5 and
10 ms), so their stamped segments measure, under the same conditions, what a
stamped segment holds besides the work: the raise and unwinding, the stamps
themselves.  A test allows that much on either side of each line's share.

Environment: STROBE_EXC_SECONDS (default 2) of loop after "ready";
STROBE_EXC_WORK (100) and STROBE_EXC_CLASSES (150) size the work;
STROBE_EXC_CPU moves the process to that CPU first (so that a profiler on
another CPU reads while the loop runs).  At the end the program sends
"done" with, for loop() and bare_loop() each: its total time, iterations,
and the stamped raise and except segments (ns).
"""
import os
import time

import _common as c

clock = time.perf_counter_ns


class Failure(Exception):
    pass


STAMP = []


def raiser(work):
    raise Failure(STAMP.append(clock()), sum(work))  # @raise


def loop(rounds, work, match):
    """rounds iterations; returns (raise ns, except ns)."""
    t_raise = t_except = 0
    for _ in range(rounds):  # @for
        try:
            raiser(work)  # @call
        except (t2 := clock()) and match:  # @except
            t3 = clock()  # @handler
            t_raise += t2 - STAMP.pop()  # @acc_raise
            t_except += t3 - t2  # @acc_except
    return t_raise, t_except


def bare_raiser(work):
    raise Failure(STAMP.append(clock()), sum(work))  # @bare_raise


def bare_loop(rounds, work, match):
    """loop() under another name, run with no work."""
    t_raise = t_except = 0
    for _ in range(rounds):
        try:
            bare_raiser(work)
        except (t2 := clock()) and match:  # @bare_except
            t3 = clock()
            t_raise += t2 - STAMP.pop()
            t_except += t3 - t2
    return t_raise, t_except


def others(k):
    return tuple(type("Other%d" % i, (Exception,), {}) for i in range(k)) + (Failure,)


class Totals:
    """Runs fn in batches of about target_ns, and adds up its stamps."""

    def __init__(self, fn, target_ns):
        self.fn, self.target_ns, self.rounds = fn, target_ns, 100
        self.reset()

    def reset(self):
        self.ns = self.iterations = self.raise_ns = self.except_ns = 0

    def run(self, work, match):
        t0 = clock()
        r, x = self.fn(self.rounds, work, match)
        took = clock() - t0
        self.ns += took
        self.iterations += self.rounds
        self.raise_ns += r
        self.except_ns += x
        # the next batch takes about target_ns (a preempted batch must not
        # shrink the next ones much)
        scale = min(max(self.target_ns / max(took, 1), 0.5), 2.0)
        self.rounds = max(1, int(self.rounds * scale))

    def report(self):
        return {"ns": self.ns, "iterations": self.iterations, "raise_ns": self.raise_ns,
                "except_ns": self.except_ns}


def main():
    cpu = os.environ.get("STROBE_EXC_CPU")
    if cpu:
        # the profiler runs on another CPU: it reads while the loop runs
        os.sched_setaffinity(0, {int(cpu)})
    seconds = float(os.environ.get("STROBE_EXC_SECONDS", "2"))
    n = int(os.environ.get("STROBE_EXC_WORK", "100"))
    k = int(os.environ.get("STROBE_EXC_CLASSES", "150"))
    work, match = range(n), others(k)
    no_work, one_class = range(0), (Failure,)
    full, bare = Totals(loop, 10e6), Totals(bare_loop, 2.5e6)
    # warm up (3.11+ specialize on the first runs) and size the batches
    for _ in range(10):
        full.run(work, match)
        bare.run(no_work, one_class)
    full.reset()
    bare.reset()
    c.signal("ready", __file__, work=n, classes=k)
    end = clock() + seconds * 1e9
    while clock() < end and c.now() < c.END:
        full.run(work, match)  # @run
        bare.run(no_work, one_class)  # @run_bare
    c.signal("done", full=full.report(), bare=bare.report())


if __name__ == "__main__":
    main()  # @module
