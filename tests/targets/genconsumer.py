"""A consumer looping over a generator as fast as it can, so that a sample
taken without stopping the target can tear: see the generator's frame on
top of a consumer that has already moved on (or the other way round).

  produce()  the generator: one line of work (@gen_work), then yields (@gen_yield)
  consume()  the consumer: resumes the generator on its for line (@for), does
             arithmetic on @arith and checks the clock on @check

A consistent stack has produce() only as the leaf, directly above consume()
on its for line; consume() on @arith or @check is itself the leaf.

Says "ready", then "progress" every STROBE_PROGRESS_EVERY seconds (default
0.2) with the number of items consumed so far (the test uses these to see
that the target still runs after strobe is gone), until STROBE_EXIT_AFTER
seconds after ready (exit 0) or the target timeout.
"""
import os

import _common as c


def produce():
    i = 0
    while True:
        i += 1  # @gen_work
        yield i  # @gen_yield


def consume(end, every):
    total = 0
    n = 0
    next_report = c.now() + every
    for x in produce():  # @for
        total = (total * 31 + x * 7) % 1000003  # @arith
        n += 1
        if n % 1024 == 0 and c.now() >= next_report:  # @check
            c.signal("progress", items=n)
            next_report = c.now() + every
            if c.now() >= end:
                return total


def main():
    exit_after = os.environ.get("STROBE_EXIT_AFTER")
    every = c._float_env("STROBE_PROGRESS_EVERY", "0.2")
    c.signal("ready", __file__)
    end = c.now() + float(exit_after) if exit_after else c.END
    consume(end, every)  # @main
    if not exit_after:
        c.timed_out()


if __name__ == "__main__":
    main()  # @module
