"""Writes to stdout and stderr while it spins (for --live, which must send
stdout to /dev/null and show stderr after the view closes): says "ready",
prints "chatty-stdout N" / "chatty-stderr N" every 0.1 s from @spin, exits 0
after STROBE_EXIT_AFTER seconds (default: the target timeout)."""
import os
import sys

import _common as c


def spin():
    c.signal("ready", __file__)
    start = c.now()
    exit_after = os.environ.get("STROBE_EXIT_AFTER")
    end = start + float(exit_after) if exit_after else c.END
    n = 0
    next_print = start
    while c.now() < end:  # @spin
        if c.now() >= next_print:
            print("chatty-stdout %d" % n, flush=True)
            print("chatty-stderr %d" % n, file=sys.stderr, flush=True)
            n += 1
            next_print += 0.1
    if not exit_after:
        c.timed_out()


if __name__ == "__main__":
    spin()  # @module
