"""Spins in old_process() or, given "new", in newcomer(): two programs of the
same build, one taking the PID the other left (tests/functional/cases_pidreuse.py)."""
import sys

import _common as c


def old_process():
    while c.now() < c.END: pass  # @old


def newcomer():
    while c.now() < c.END: pass  # @new


if __name__ == "__main__":
    c.signal("ready", __file__)
    newcomer() if sys.argv[1:] == ["new"] else old_process()
    c.timed_out()
