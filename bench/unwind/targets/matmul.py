# Target (iv): numpy a @ b on 300x300 float64 matrices, forever (BLAS dgemm).
import numpy as np

rng = np.random.default_rng(1)
a = rng.random((300, 300))
b = rng.random((300, 300))
while True:
    c = a @ b
