"""Benchmark target: a busy loop at the bottom of a stack of fixed depth.

    python deep.py DEPTH [READY_FD]

Recurses DEPTH-1 frames through one function, then spins doing pure Python
arithmetic forever, so every sample sees the same DEPTH-deep stack.
Writes "ready" to READY_FD (if given) once at the bottom.
"""
import os
import sys


def spin():
    x = 0
    while True:
        for i in range(1000):
            x = (x + i * 7) % 1000003


def descend(n, fd):
    if n <= 1:
        if fd >= 0:
            os.write(fd, b"ready\n")
            os.close(fd)
        spin()
    descend(n - 1, fd)


if __name__ == "__main__":
    depth = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    fd = int(sys.argv[2]) if len(sys.argv) > 2 else -1
    sys.setrecursionlimit(depth + 100)
    # <module> and spin() are two of the DEPTH frames
    descend(depth - 2, fd)
