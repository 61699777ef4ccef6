"""numpy matrix products (Debian's python3-numpy on /usr/bin/python3): a @ b
on 300x300 float64 arrays in a loop, so nearly every sample is inside BLAS
(dgemm, called by numpy's matmul through cblas), below the Python line that
asked for the product."""
import numpy

import _common as c

SIZE = 300


def product(a, b):
    return a @ b  # @matmul


def main():
    a = numpy.arange(SIZE * SIZE, dtype=numpy.float64).reshape(SIZE, SIZE) / (SIZE * SIZE)
    b = a.T.copy()
    c.signal("ready", __file__, numpy=numpy.__version__)
    while c.now() < c.END:
        product(a, b)  # @main
    c.timed_out()


if __name__ == "__main__":
    main()  # @module
