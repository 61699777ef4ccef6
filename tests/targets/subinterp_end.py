"""A subinterpreter whose end takes a while: its code keeps many objects in
reference cycles in a global, which only the collections of
Py_EndInterpreter free.  The main thread of the main interpreter runs it
from run_sub() on @sub (the subinterpreter's thread state lives on the same
OS thread).

argv[1]: how many objects in cycles (default 400000)."""
import sys

import _testcapi

import _common as c

SUB = """
import gc
class Cycle:
    __slots__ = ("me",)
    def __init__(self):
        self.me = self
gc.disable()
KEEP = [Cycle() for _ in range(%d)]
"""


def run_sub(n):
    _testcapi.run_in_subinterp(SUB % n)  # @sub


c.signal("ready", __file__)
run_sub(int(sys.argv[1]) if len(sys.argv) > 1 else 400000)  # @module
