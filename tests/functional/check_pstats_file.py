#!/usr/bin/env python3
"""Check that a pstats file written by strobe loads in this Python.

    python3.X check_pstats_file.py FILE [--marker yes|no|any] [--min-functions N]

Checks the raw marshal structure (the shape Tachyon writes: (file, line, func)
keys mapping to (direct, cumulative, tt, ct, {caller: int}) with one sampling
interval throughout), then loads FILE with pstats.Stats and prints it with
print_stats, print_callers and print_callees, raw and after strip_dirs().
Exits 0 when everything loads and holds, 1 otherwise.  Standard library only;
runs on Python 3.8 and later.
"""
import argparse
import io
import marshal
import math
import pstats
import sys

MARKER = ("__sampled__",)


def is_func_key(key):
    return (isinstance(key, tuple) and len(key) == 3 and isinstance(key[0], str)
            and type(key[1]) is int and isinstance(key[2], str))


def check_structure(stats, marker, min_functions):
    """Return a list of problems with the raw dict."""
    problems = []
    if not isinstance(stats, dict):
        return ["top level is %s, not dict" % type(stats).__name__]
    has_marker = MARKER in stats
    if marker == "yes" and not has_marker:
        problems.append("no %r marker" % (MARKER,))
    if marker == "no" and has_marker:
        problems.append("unexpected %r marker" % (MARKER,))
    if has_marker and stats[MARKER] is not True:
        problems.append("marker value is %r, not True" % (stats[MARKER],))
    funcs = {k: v for k, v in stats.items() if k != MARKER}
    if len(funcs) < min_functions:
        problems.append("%d functions, expected at least %d" % (len(funcs), min_functions))
    interval = None
    for key, value in funcs.items():
        where = "entry %r" % (key,)
        if not is_func_key(key):
            problems.append("%s: key is not (str, int, str)" % where)
            continue
        if not (isinstance(value, tuple) and len(value) == 5):
            problems.append("%s: value is not a 5-tuple" % where)
            continue
        cc, nc, tt, ct, callers = value
        if type(cc) is not int or type(nc) is not int or not 0 <= cc <= nc:
            problems.append("%s: counts %r/%r are not ints with 0 <= direct <= cumulative"
                            % (where, cc, nc))
            continue
        if nc == 0:
            problems.append("%s: never on a stack" % where)
        if not isinstance(tt, float) or not isinstance(ct, float):
            problems.append("%s: times are not floats" % where)
            continue
        # one interval for the whole file: tt = cc * interval, ct = nc * interval
        if interval is None and nc:
            interval = ct / nc
        if interval is not None:
            for count, t in ((cc, tt), (nc, ct)):
                if not math.isclose(t, count * interval, rel_tol=1e-9, abs_tol=1e-12):
                    problems.append("%s: time %r is not %d x %r" % (where, t, count, interval))
        if not isinstance(callers, dict):
            problems.append("%s: callers is not a dict" % where)
            continue
        for caller, n in callers.items():
            if not is_func_key(caller):
                problems.append("%s: caller key %r is not (str, int, str)" % (where, caller))
            elif caller not in funcs:
                problems.append("%s: caller %r has no entry of its own" % (where, caller))
            if type(n) is not int or n <= 0:
                problems.append("%s: caller count %r is not a positive int" % (where, n))
    return problems


def exercise(path):
    """Load and print through pstats; returns the printed text."""
    out = io.StringIO()
    st = pstats.Stats(path, stream=out)
    st.print_stats()
    st.print_callers()
    st.print_callees()
    st.strip_dirs().sort_stats("cumulative").print_stats(10)
    st.sort_stats("time").print_callers(5)
    return out.getvalue(), type(st).__name__


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--marker", choices=("yes", "no", "any"), default="any",
                    help="whether the ('__sampled__',) key must be present")
    ap.add_argument("--min-functions", type=int, default=1)
    args = ap.parse_args()
    version = "%d.%d" % sys.version_info[:2]

    with open(args.file, "rb") as f:
        try:
            raw = marshal.load(f)
        except Exception as e:
            print("FAIL %s: marshal.load: %s: %s" % (version, type(e).__name__, e))
            return 1
    problems = check_structure(raw, args.marker, args.min_functions)
    try:
        text, kind = exercise(args.file)
    except Exception as e:
        problems.append("pstats: %s: %s" % (type(e).__name__, e))
        text, kind = "", None
    # Names may hold lone surrogates (undecodable bytes of a file name, as
    # Python itself keeps them); a strict UTF-8 stdout cannot print those.
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8", "backslashreplace"))
    sys.stdout.flush()
    for p in problems:
        print("FAIL %s: %s" % (version, p))
    if problems:
        return 1
    print("OK %s: %d functions loaded as %s" % (version, len(raw) - (MARKER in raw), kind))
    return 0


if __name__ == "__main__":
    sys.exit(main())
