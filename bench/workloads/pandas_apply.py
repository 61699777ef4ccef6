"""pandas DataFrame.apply row by row (Debian's python3-pandas), SECONDS long.

    python3 pandas_apply.py [SECONDS]

Imports pandas (hundreds of modules), then applies a Python function to
every row of a frame: each row builds a Series, so frames and objects are
created and freed at a high rate, partly inside C extensions.
"""
import sys
import time

import numpy as np
import pandas as pd

end = time.time() + float(sys.argv[1] if len(sys.argv) > 1 else 5)
rng = np.random.default_rng(1)
df = pd.DataFrame(rng.random((2000, 4)), columns=list("abcd"))
while time.time() < end:
    df.apply(lambda r: r.a * 2 + r.b - r.c * r.d, axis=1)
