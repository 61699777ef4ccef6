# Targets (ii)/(iii): a Python recursion DEPTH deep whose leaf loops on
# time.sleep(0) and sum() (C calls).
import sys
import time


def leaf():
    while True:
        time.sleep(0)
        sum(range(300))


def f(n):
    if n == 0:
        leaf()
    return f(n - 1) + 1


f(int(sys.argv[1]))
