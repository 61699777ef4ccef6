# Target (i): libc qsort through ctypes with a Python comparator, forever:
# the stack mixes libc, libffi, ctypes and eval-loop frames.
import ctypes
import random

libc = ctypes.CDLL(None)
CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))


def compare(a, b):
    return a[0] - b[0]


def sort_once(n):
    arr = (ctypes.c_int * n)(*random.sample(range(n * 4), n))
    libc.qsort(arr, n, ctypes.sizeof(ctypes.c_int), CMP(compare))
    return arr[0]


def main():
    while True:
        sort_once(2000)


main()
