"""Two functions doing the same loop, 3:1: hot() should get 75% of the
samples of the two, cold() 25%.  Each leaf spends all its time on one line."""
import os

import _common as c


def hot(n):  # @hot_def
    for _ in range(3 * n): pass  # @hot


def cold(n):  # @cold_def
    for _ in range(n): pass  # @cold


def main():
    n = int(os.environ.get("STROBE_SHARES_N", "60000"))
    c.signal("ready", __file__, n=n)
    while c.now() < c.END:
        hot(n)  # @call_hot
        cold(n)  # @call_cold
    c.timed_out()


if __name__ == "__main__":
    main()  # @module
