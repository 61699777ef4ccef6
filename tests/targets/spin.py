"""Spins in spin(): says "ready", spins STROBE_PROGRESS_AFTER seconds
(default 0.3) on @spin1, says "progress", then spins on @spin2 until
STROBE_EXIT_AFTER seconds after ready (then exits 0) or, when that is unset,
until the target timeout.  Also usable as a module: python -m spin ARGS."""
import os

import _common as c


def spin():
    c.signal("ready", __file__)
    start = c.now()
    t = start + c._float_env("STROBE_PROGRESS_AFTER", "0.3")
    while c.now() < t: pass  # @spin1
    c.signal("progress")
    exit_after = os.environ.get("STROBE_EXIT_AFTER")
    end = start + float(exit_after) if exit_after else c.END
    while c.now() < end: pass  # @spin2
    if not exit_after:
        c.timed_out()


def main():
    spin()  # @main


if __name__ == "__main__":
    main()  # @module
