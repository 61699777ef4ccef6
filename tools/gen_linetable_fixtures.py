#!/usr/bin/env python3
"""Write the line-table fixture for the running interpreter to stdout.

    python3.X tools/gen_linetable_fixtures.py > tests/fixtures/linetable/py3_X.txt

Runs unchanged under CPython 3.8 to 3.15, standard library only (ctypes
included).  It compiles (never runs) a fixed set of snippets chosen to
exercise every corner of the three line-table formats, and for every code
object found (recursively through co_consts) records:

  * the code object's co_firstlineno and raw line table (co_lnotab for
    3.8-3.9, co_linetable for 3.10+), which is exactly what strobe copies out
    of a target process;
  * for every instruction offset, the location the interpreter itself reports.

Where "the interpreter itself reports" comes from, per version:

  * 3.8-3.10: the line is PyCode_Addr2Line(code, byte_offset), called through
    ctypes.  That is the function frame.f_lineno uses (3.8/3.9 pass f_lasti,
    3.10 passes f_lasti*2).  It is cross-checked against dis.findlinestarts
    (3.8/3.9) and co.co_lines() (3.10); a disagreement is printed to stderr.
  * 3.11+: the full location is co.co_positions() (one entry per code unit,
    caches included), and PyCode_Addr2Line (what frame.f_lineno uses) is
    checked to agree on the line.

The output format is a line-oriented text file that tests/unit/test_linetable.c
parses:

  # comment
  kind K                          enum py_linetable_kind of this version
  code NAME FIRSTLINENO CODELEN HEX   HEX is the line table ("-" when empty)
  p START END LINE ENDLINE COL ENDCOL
      every instruction at an even byte offset in [START, END) has this
      location (-1 = unknown); runs of equal locations are merged
  l OFFSET LINE
      PyCode_Addr2Line(code, OFFSET) == LINE; used for offsets outside the
      code (negative, past the end) and odd offsets

Statistics about which table entry kinds were covered go to stderr.
"""

import ctypes
import dis
import sys

V = sys.version_info[:2]
if V < (3, 10):
    KIND = 1  # PY_LT_LNOTAB
elif V == (3, 10):
    KIND = 2  # PY_LT_LINETABLE
else:
    KIND = 3  # PY_LT_LOCATIONS

_addr2line = ctypes.pythonapi.PyCode_Addr2Line
_addr2line.argtypes = [ctypes.py_object, ctypes.c_int]
_addr2line.restype = ctypes.c_int


def addr2line(co, off):
    return _addr2line(co, off)


# ---------------------------------------------------------------------------
# Snippets.  Each is (name, source, minimum version).  They are compiled with
# compile(..., "exec") and never executed, so free names need not exist.

MULTILINE = '''\
def multiline(a, b, c):
    x = (a +
         b *
         c)
    y = foo(
        a,
        b,
    )
    z = obj.method(
        a
    ).other(b)[
        c
    ]
    return {
        'a': a,
        'b': [b,
              c],
    }
'''

LOOPS = '''\
def loops(n, items):
    total = 0
    i = 0
    while i < n:
        i += 1
        if i % 3 == 0:
            continue
        if i > 1000:
            break
        total += i
    else:
        total = -total
    for x in items:
        for y in x:
            if y:
                total += y
            else:
                break
        else:
            continue
    while True:
        n -= 1
        if n < 0:
            return total
'''

NEGATIVE = '''\
def negative(a, b):
    r = call(
        a,
        b,
        lambda: (
            a
        ),
    )
    s = [
        x * 2
        for x in a
        if x
    ]
    t = (yield
         a)
    return r if (
        s
    ) else t
'''

DECORATORS = '''\
@dec1
@dec2(
    arg1,
    arg2)
@dec3.attr
def decorated(x,
              y=default(),
              *args,
              z: "ann" = 3,
              **kw) -> ret:
    """docstring
    spanning lines
    """
    return x


@classdec
class Klass(Base,
            metaclass=Meta):
    attr = 1

    @property
    def prop(self):
        return self._p

    @staticmethod
    def smeth(*a):
        return a

    def method(self):
        def inner():
            return self
        return inner
'''

COMPREHENSIONS = '''\
def comps(data):
    a = [x for x in data]
    b = {x: y for x, y in data
         if x}
    c = {x
         for row in data
         for x in row}
    d = (x * y
         for x in data
         for y in data if y)
    e = [[x for x in row] for row in data]
    return a, b, c, d, e
'''

EXCEPTIONS = '''\
def exceptions(f):
    try:
        f()
    except ValueError as e:
        g(e)
    except (TypeError,
            KeyError):
        pass
    else:
        h()
    finally:
        cleanup()
    try:
        return f()
    finally:
        print("done")
    with open(f) as fp, \\
            lock:
        data = fp.read()
    try:
        raise X
    except:
        raise
'''

LAMBDAS = '''\
square = lambda x: x * x
pair = lambda a, b: (
    a,
    b)
nested = lambda: lambda: (lambda: 1)
def closures(a):
    def f(b):
        def g(c):
            return a + b + c
        return g
    return f
'''

ASYNC = '''\
async def agen(session):
    async with session.get(
            url) as resp:
        async for chunk in resp:
            yield chunk
    await other(
        session)


async def acomp(xs):
    return [await x async for x in xs]
'''

GENERATORS = '''\
def gen(n):
    yield 1
    yield from range(
        n)
    x = yield
    return x
'''

FSTRINGS = '''\
def fstrings(name, value):
    a = f"{name}={value!r:>10}"
    b = f"""
    {name}
    {value +
     1}
    """
    return a + b
'''

UNICODE = '''\
def unicode(x):
    s = "\u00e9\u00e9\u00e9\u4e2d\u6587" + x + "\U0001f600"
    t = "\u4e2d" * 40 + x.attr.other + "\u4e2d" * 40 + x.more
    return s, t
'''

MODULE_LEVEL = '''\
import os, sys
from collections import (
    OrderedDict,
    defaultdict,
)

CONST = 1
if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(arg)
    del arg
x: int = 3
global_var = [
    1,
    2,
]
'''

REALISTIC = '''\
class Cache:
    """A small LRU cache, written the way real programs are."""

    def __init__(self, capacity=128, *, on_evict=None):
        if capacity <= 0:
            raise ValueError(f"capacity must be positive, not {capacity!r}")
        self._capacity = capacity
        self._data = OrderedDict()
        self._on_evict = on_evict
        self.hits = self.misses = 0

    def get(self, key, default=None):
        try:
            value = self._data.pop(key)
        except KeyError:
            self.misses += 1
            return default
        self._data[key] = value
        self.hits += 1
        return value

    def put(self, key, value):
        if key in self._data:
            self._data.pop(key)
        elif len(self._data) >= self._capacity:
            old_key, old_value = self._data.popitem(last=False)
            if self._on_evict is not None:
                self._on_evict(old_key,
                               old_value)
        self._data[key] = value

    def stats(self):
        total = self.hits + self.misses
        return {
            "hits": self.hits,
            "misses": self.misses,
            "ratio": (self.hits / total) if total else 0.0,
        }


def fib(n, _memo={0: 0, 1: 1}):
    if n in _memo:
        return _memo[n]
    result = _memo[n] = fib(n - 1) + fib(n - 2)
    return result


def parse(lines):
    out = []
    for lineno, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise SyntaxError("line %d: expected key=value" % lineno)
        out.append((key.strip(), value.strip()))
    return dict(out)


def walk(tree, visit, depth=0):
    stack = [(tree, depth)]
    while stack:
        node, d = stack.pop()
        if visit(node, d) is False:
            continue
        stack.extend((child, d + 1) for child in reversed(node.children))


def main(argv=None):
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=10)
    args = p.parse_args(argv)
    c = Cache(4)
    for i in range(args.n):
        c.put(i % 7, fib(i))
        c.get((i * 3) % 7)
    print(c.stats())
    return 0
'''

MATCH = '''\
def matcher(cmd):
    match cmd:
        case ["go", direction]:
            return direction
        case {"x": x,
              "y": y}:
            return x + y
        case Point(x=0,
                   y=yy) if yy > 0:
            return yy
        case _:
            return None
'''

EXCEPT_STAR = '''\
def star(f):
    try:
        f()
    except* ValueError as eg:
        handle(eg)
    except* (TypeError,
             KeyError):
        pass
'''

TYPE_PARAMS = '''\
type Alias[T] = list[T]
def generic[T: int, *Ts, **P](x: T) -> T:
    return x
class Box[T]:
    def get(self) -> T:
        return self.item
'''


def big_jumps():
    # Line gaps chosen to need 1, 2, 3 and 4 varint groups (3.11+), more than
    # one lnotab/linetable pair (> 127 and > 255), and negative jumps of the
    # same sizes (the call expression's location starts far above its end).
    src = "def jumps(a):\n    x = 1\n"
    for gap in (40, 130, 300, 2100, 70000, 300000):
        src += "\n" * gap + "    x = x + %d\n" % gap
    src += "    y = f(\n" + "\n" * 200 + "        a)\n"
    src += "    z = g(a,\n" + "\n" * 5000 + "        x, y)\n"
    src += "    return (\n" + "\n" * 130 + "        z)\n"
    return src


def far_body():
    # The body starts far below co_firstlineno (a long signature and
    # docstring), so the very first table entry carries a large delta.
    return ('def far(a,\n' + '\n' * 1000 + '        b):\n    """doc\n' +
            '\n' * 500 + '    """\n    return a + b\n')


def long_function():
    # Hundreds of lines, and one line whose bytecode is far longer than 254
    # bytes (3.10 splits it into several linetable pairs, 3.8 several lnotab
    # pairs).
    lines = ["def long_function(a):"]
    for i in range(400):
        lines.append("    v%d = a + %d" % (i % 50, i))
        if i % 37 == 0:
            lines.append("    if v%d > %d:" % (i % 50, i))
            lines.append("        a = -a")
    lines.append("    big = [" + ", ".join("a.f%d" % i for i in range(150)) + "]")
    lines.append("    wide = " + " + ".join("a.g%d(v1)" % i for i in range(40)))
    lines.append("    return big, wide")
    return "\n".join(lines) + "\n"


def big_firstlineno(n):
    # Only the line numbers are large; the table is the same size.
    return "\n" * n + "def far_away(x):\n    y = x\n    return (y,\n            x)\n"


def few_columns():
    # Column offsets around the boundaries of each encoding: short form
    # (col < 80, width < 16), one-line form (col, end_col < 256) and long form
    # with 1, 2 and 3 varint groups (col + 1 < 64, < 4096, < 262144).
    out = ["def columns(a):"]
    for pad in (0, 60, 62, 63, 64, 75, 78, 79, 80, 120, 200, 250, 254, 255, 256, 300, 1000,
                4093, 4094, 4095, 4096, 5000):
        out.append("    c = " + " " * pad + "a.y + a.zzzzzzzzzzzzzzzzzzzzzzzz")
    out.append("    return c")
    return "\n".join(out) + "\n"


SNIPPETS = [
    ("multiline", MULTILINE, (3, 8)),
    ("loops", LOOPS, (3, 8)),
    ("negative", NEGATIVE, (3, 8)),
    ("decorators", DECORATORS, (3, 8)),
    ("comprehensions", COMPREHENSIONS, (3, 8)),
    ("exceptions", EXCEPTIONS, (3, 8)),
    ("lambdas", LAMBDAS, (3, 8)),
    ("async", ASYNC, (3, 8)),
    ("generators", GENERATORS, (3, 8)),
    ("fstrings", FSTRINGS, (3, 8)),
    ("unicode", UNICODE, (3, 8)),
    ("module", MODULE_LEVEL, (3, 8)),
    ("realistic", REALISTIC, (3, 8)),
    ("jumps", big_jumps(), (3, 8)),
    ("far_body", far_body(), (3, 8)),
    ("long_function", long_function(), (3, 8)),
    ("columns", few_columns(), (3, 8)),
    ("firstlineno_100k", big_firstlineno(100000), (3, 8)),
    ("firstlineno_3m", big_firstlineno(3000000), (3, 8)),
    ("match", MATCH, (3, 10)),
    ("except_star", EXCEPT_STAR, (3, 11)),
    ("type_params", TYPE_PARAMS, (3, 12)),
]


# ---------------------------------------------------------------------------

def walk_code(co, prefix):
    yield prefix, co
    for c in co.co_consts:
        if hasattr(c, "co_code"):
            for item in walk_code(c, prefix + "." + c.co_name):
                yield item


def raw_table(co):
    if KIND == 1:
        return co.co_lnotab
    return co.co_linetable


def expected_units(co):
    """(offset, (line, end_line, col, end_col)) for every instruction."""
    n = len(co.co_code)
    if KIND == 3:
        pos = list(co.co_positions())
        assert len(pos) * 2 == n, (len(pos), n)
        for i, p in enumerate(pos):
            loc = tuple(-1 if v is None else v for v in p)
            yield i * 2, loc
        return
    for off in range(0, n, 2):
        line = addr2line(co, off)
        yield off, (line, line, -1, -1)


def check_other_views(co, units, warnings):
    """Compare what we record with the interpreter's other views of it."""
    if KIND == 1:
        starts = dict(dis.findlinestarts(co))
        line = None
        for off, loc in units:
            if off in starts:
                line = starts[off]
            if line is not None and line != loc[0]:
                warnings.append("%s@%d: findlinestarts says %d, Addr2Line %d"
                                % (co.co_name, off, line, loc[0]))
    elif KIND == 2:
        by_off = dict(units)
        for start, end, line in co.co_lines():
            for off in range(start, end, 2):
                want = -1 if line is None else line
                if off in by_off and by_off[off][0] != want:
                    warnings.append("%s@%d: co_lines says %d, Addr2Line %d"
                                    % (co.co_name, off, want, by_off[off][0]))
    else:
        cache = dis.opmap.get("CACHE", 0)
        code = co.co_code
        owner = None
        for off, loc in units:
            a2l = addr2line(co, off)
            if a2l != loc[0]:
                warnings.append("%s@%d: co_positions line %d, Addr2Line %d"
                                % (co.co_name, off, loc[0], a2l))
            if code[off] == cache and owner is not None:
                STATS["cache_units"] = STATS.get("cache_units", 0) + 1
                if loc != owner:
                    warnings.append("%s@%d: CACHE unit location %r differs from "
                                    "its instruction's %r" % (co.co_name, off, loc, owner))
            elif code[off] != cache:
                owner = loc


STATS = {}


def count_entries(table):
    """Tally which entry forms a table uses, to show the fixture covers them."""
    def bump(key):
        STATS[key] = STATS.get(key, 0) + 1
    if KIND != 3:
        for i in range(0, len(table) - 1, 2):
            d, l = table[i], table[i + 1]
            if d == 0:
                bump("zero_length")
            if l == 0x80 and KIND == 2:
                bump("no_line")
            elif l >= 0x80:
                bump("negative_delta")
            if d == 254 or d == 255:
                bump("max_byte_delta")
        return
    i = 0
    while i < len(table):
        b = table[i]
        code = (b >> 3) & 15
        bump("code_%02d" % code)
        i += 1
        nvar = {14: 4, 13: 1}.get(code, 0)
        for k in range(nvar):
            groups = 1
            while table[i] & 64:
                i += 1
                groups += 1
            i += 1
            if groups > 1:
                bump("varint_%d_groups" % groups)
        if 10 <= code <= 12:
            i += 2
        elif code < 10:
            i += 1


def emit(out, name, co, warnings):
    table = raw_table(co)
    units = list(expected_units(co))
    check_other_views(co, units, warnings)
    count_entries(table)
    n = len(co.co_code)
    # Names like "<generic parameters of Box>" (3.12+) have spaces.
    name = "_".join(name.split())
    out.append("code %s %d %d %s" % (name, co.co_firstlineno, n,
                                     table.hex() if table else "-"))
    run_start, run_loc = None, None
    for off, loc in units:
        if loc != run_loc:
            if run_loc is not None:
                out.append("p %d %d %d %d %d %d" % ((run_start, off) + run_loc))
            run_start, run_loc = off, loc
    if run_loc is not None:
        out.append("p %d %d %d %d %d %d" % ((run_start, n) + run_loc))
    # Offsets no running frame of this version produces, except -2 (3.11/3.12
    # prev_instr before the first instruction) and -1 (3.8/3.9 f_lasti before
    # the first instruction): they pin down what the interpreter answers.
    probes = [-2, -1, 1, n - 1, n, n + 2, 1 << 20]
    for off in probes:
        out.append("l %d %d" % (off, addr2line(co, off)))


def main():
    out = [
        "# strobe line-table fixture: generated by tools/gen_linetable_fixtures.py; do not edit",
        "# python %s" % sys.version.split()[0],
        "kind %d" % KIND,
    ]
    warnings = []
    ncode = 0
    for name, src, since in SNIPPETS:
        if V < since:
            continue
        top = compile(src, name + ".py", "exec")
        for qual, co in walk_code(top, name):
            emit(out, qual, co, warnings)
            ncode += 1
    sys.stdout.write("\n".join(out) + "\n")
    for w in warnings:
        sys.stderr.write("warning: %s\n" % w)
    sys.stderr.write("python %s: %d code objects, %d warnings; %s\n" % (
        sys.version.split()[0], ncode, len(warnings),
        ", ".join("%s=%d" % kv for kv in sorted(STATS.items()))))


main()
