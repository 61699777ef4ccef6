"""Python -> C -> Python through libc: sort_it() sorts a small C array with
libc's qsort (ctypes), whose comparator is the Python function compare()
(a CFUNCTYPE callback).  compare() spins in bytecode before it answers, so
most samples are in it, with the stack
    <module> -> main -> sort_it -> [ctypes, libffi, qsort/qsort_r/msort...,
    the callback's entry] -> compare
With --native-stacks the libc frames show between sort_it and compare."""
import ctypes

import _common as c

N = 64
CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))


def compare(a, b):
    i = 0
    while i < 300: i += 1  # @spin
    return a[0] - b[0]


def sort_it(libc, buf, template, cmp):
    ctypes.memmove(buf, template, ctypes.sizeof(buf))
    libc.qsort(buf, N, ctypes.sizeof(ctypes.c_int), cmp)  # @qsort
    return buf[0]


def main():
    libc = ctypes.CDLL("libc.so.6")
    libc.qsort.restype = None
    libc.qsort.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, CMP]
    # a fixed permutation of 0..N-1 (no random: every run sorts the same)
    template = (ctypes.c_int * N)(*[(i * 37) % N for i in range(N)])
    buf = (ctypes.c_int * N)()
    cmp = CMP(compare)
    check = sort_it(libc, buf, template, cmp)
    if list(buf) != list(range(N)) or check != 0:
        raise SystemExit("native_qsort: qsort did not sort: %r" % list(buf))
    c.signal("ready", __file__)
    while c.now() < c.END:
        sort_it(libc, buf, template, cmp)  # @main
    c.timed_out()


if __name__ == "__main__":
    main()  # @module
