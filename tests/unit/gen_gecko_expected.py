"""Writes the expected outputs of tests/unit/test_gecko.c with Tachyon's own
GeckoCollector (CPython 3.15's profiling.sampling.gecko_collector), fed the
same samples as the test, as C string literals on stdout.

    chroot /var/cache/strobe/sid python3.15 tests/unit/gen_gecko_expected.py

startTime, the CPU counts and the pid are normalised (0), as the test does
with its own output.
The same samples are spelled in test_gecko.c; keep both in step."""
import os
import re
import sys
import tempfile

import _remote_debugging as rd
from profiling.sampling.gecko_collector import GeckoCollector

FI, TI, II = rd.FrameInfo, rd.ThreadInfo, rd.InterpreterInfo
HAS_GIL, ON_CPU, UNKNOWN, GIL_REQ, HAS_EXC, MAIN = 1, 2, 4, 8, 16, 32


def f(file, line, func, col=-1, op=None):
    loc = None if line is None else (line, line, col, col + 3 if col >= 0 else -1)
    return FI((file, loc, func, op))


# test_gecko.c's "bad\xed\xb3\xbf" (an encoded lone surrogate) as strobe
# reads those bytes: strict UTF-8, three malformed parts
BAD = "bad\ufffd\ufffd\ufffd"
X, MAINF = "/app/x.py", f("/app/x.py", 20, "main", 4, 128)
GC = f("~", None, "<GC>")
NATIVE = f("~", None, "<native>")
COORD = f("/usr/lib/python3.15/profiling/sampling/_sync_coordinator.py", 5, "main", 0, 128)

# (time_us, [(tid, status, frames innermost first), ...])
SAMPLES = [
    (1000000, [(100, HAS_GIL | ON_CPU | MAIN, [f(X, 10, "f", 4, 186), MAINF, COORD]),
               (200, 0, [])]),
    (1000333, [(100, ON_CPU | MAIN | GIL_REQ, [GC, f(X, 11, "f", 8, 79), MAINF, COORD]),
               (200, HAS_GIL | ON_CPU | HAS_EXC, [f("<string>", 1, "<module>", 0, 42)])]),
    (1000667, [(100, MAIN | UNKNOWN, [f("/lib/\u00fcn\u00ef.py", 3, "caf\u00e9.\u03bb", 2, 130), MAINF,
                                      COORD]),
               (200, HAS_GIL, [f("<frozen importlib._bootstrap>", 0, "_find_and_load", -1, 233)])]),
    (1001001, [(100, HAS_GIL | ON_CPU | MAIN, [f(X, 10, "f", 4, 79), MAINF, COORD]),
               (200, ON_CPU, [f('/app/q"uo\\te.py', 5, "k\tx\x01\x7f", 1, 42),
                              f("<stdin>", 7, "<module>", 0, 128)])]),
    (1002000, [(100, HAS_GIL | ON_CPU | MAIN, [f(X, 12, BAD, 0, 79), MAINF, COORD]),
               (200, HAS_GIL | HAS_EXC, [f("/app/y.py", 30, "g\U0001f600", 2, None),
                                         f("<stdin>", 7, "<module>", 0, 128)])]),
    (1002500, [(100, HAS_GIL | ON_CPU | MAIN, [f(X, 12, BAD, 0, 79), MAINF, COORD]),
               (200, GIL_REQ, [NATIVE, f("/app/y.py", 31, "g\U0001f600", 2, 42),
                               f("<stdin>", 7, "<module>", 0, 128)])]),
    (1004100, [(300, ON_CPU, [f("/app/z.py", 1, "z", -1, None)]),
               (100, 0, [f(X, 12, BAD, 0, 79), MAINF, COORD])]),
]


def big_samples():
    """Enough rows to spill several chunks: threads 1..3 walk over a few stacks."""
    out = []
    t = 5_000_000
    for i in range(30000):
        t += 100 + (i * 7919) % 37
        threads = []
        for tid in (1, 2, 3):
            k = (i // (tid * 3)) % 5
            st = [f("/b/m%d.py" % j, 10 + j + k, "fn%d" % j, j) for j in range(k + 1)]
            status = (HAS_GIL | ON_CPU) if (i // (7 * tid)) % 2 == 0 else ON_CPU | GIL_REQ
            threads.append((tid, status | (MAIN if tid == 1 else 0), st))
        out.append((t, threads))
    return out


def run(samples, opcodes):
    c = GeckoCollector(1000, opcodes=opcodes)
    for ts, threads in samples:
        c.collect([II((0, [TI((tid, st, fr)) for tid, st, fr in threads]))], timestamps_us=[ts])
    fd, path = tempfile.mkstemp()
    os.close(fd)
    out = sys.stdout
    sys.stdout = open(os.devnull, "w")
    try:
        c.export(path)
    finally:
        sys.stdout = out
    with open(path, "rb") as fp:
        data = fp.read()
    os.unlink(path)
    data = re.sub(rb'"startTime":[-0-9.e+]+,"abi"', b'"startTime":0,"abi"', data, count=1)
    data = re.sub(rb'"physicalCPUs":\d+,"logicalCPUs":\d+', b'"physicalCPUs":0,"logicalCPUs":0', data)
    return re.sub(rb'"pid":"\d+"', b'"pid":"0"', data)


def c_literal(name, data):
    print("static const char %s[] =" % name)
    text = data.decode("ascii")
    for i in range(0, len(text), 90):
        chunk = text[i:i + 90].replace("\\", "\\\\").replace('"', '\\"')
        print('\t"%s"' % chunk)
    print("\t;")


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


if __name__ == "__main__":
    c_literal("exp_small", run(SAMPLES, False))
    c_literal("exp_small_ops", run(SAMPLES, True))
    big = run(big_samples(), False)
    print("#define EXP_BIG_LEN %d" % len(big))
    print("#define EXP_BIG_FNV 0x%016xULL" % fnv1a64(big))
