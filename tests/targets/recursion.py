"""A recursion STROBE_DEPTH (default 600) frames deep that holds still at
the bottom: recurse() appears exactly DEPTH times, DEPTH-1 of them at @rec and
the deepest at @base, then hold() at @hold."""
import os
import sys

import _common as c


def hold():
    c.signal("ready", __file__, depth=DEPTH)
    while c.now() < c.END: pass  # @hold
    c.timed_out()


def recurse(n):
    if n <= 1:
        return hold()  # @base
    return recurse(n - 1)  # @rec


def main():
    recurse(DEPTH)  # @main


DEPTH = int(os.environ.get("STROBE_DEPTH", "600"))
sys.setrecursionlimit(max(sys.getrecursionlimit(), DEPTH + 200))

if __name__ == "__main__":
    main()  # @module
