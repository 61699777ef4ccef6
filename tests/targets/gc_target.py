"""Collections that take a while: gc.collect() on cycles of objects whose
__del__ burns CPU, so samples land inside the collector's finalizers.
The main thread calls collect() from @collect; G.__del__ spins on @del."""
import gc

import _common as c


class G:
    def __init__(self):
        self.me = self  # a cycle: only the collector frees it

    def __del__(self):
        t = c.now() + 0.002
        while c.now() < t: pass  # @del


def make():
    for _ in range(20):
        G()


def main():
    gc.disable()  # collections only where we call them
    c.signal("ready", __file__)
    while c.now() < c.END:
        make()
        gc.collect()  # @collect
    c.timed_out()


if __name__ == "__main__":
    main()  # @module
