#!/usr/bin/env python3
"""Make the seed corpora of strobe's fuzz targets (tests/fuzz/corpus/TARGET).

    tests/fuzz/gen_seeds.py [TARGET...]     (default: elf proc linetable pystr code locals)

Seeds are real data, so that the fuzzers start from what strobe meets:
  elf        tiny programs and shared objects built here with gcc (stripped or
             not, PIE or not, one shaped like a libpython: _PyRuntime,
             .PyRuntime, Py_Version, a PY_VERSION literal), plus cut copies
  proc       /proc/PID/{maps,stat,status} (and a thread's stat) of processes
             made here: a plain one, a zombie, a stopped one, one named like a
             stat line (prctl allows ')', spaces, newlines), one mapping files
             with odd names (spaces, deleted, a memfd), and of init
  linetable  the real tables of every CPython version in
             tests/fixtures/linetable (made by tools/gen_linetable_fixtures.py
             under each interpreter): [kind][co_firstlineno int32][table]
  pystr      str and bytes objects copied out of each interpreter (ctypes):
             [minor - 8][bytes limit / 16 = 255][8 bytes of padding][object]
  locals     the frames tests/unit/test_locals.c builds, written by it:
             [minor - 8][frame address u32][memory from address 0]
  code       code objects copied out of each interpreter with the objects they
             point at (names, line table, bytecode), pointers moved to where
             those objects are put in the image, ob_type set to the
             FUZZ_CODE_TYPE of fuzz_code.c: [minor - 8][options = 3][image]

The interpreters are those tests/functional/interpreters.py finds (pyenv,
/usr/bin, the sid chroot).  Files are named by content hash, as libFuzzer
names its units, with a prefix telling where they come from; a target's
directory is emptied of generated seeds (gen-*) first, and kept below 200 KiB.
"""
import hashlib
import os
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "functional"))
import interpreters  # noqa: E402

CORPUS = os.path.join(HERE, "corpus")
MAX_DIR_BYTES = 200 * 1024
FUZZ_CODE_TYPE = 0x7E57C0DE00


def write_seeds(target, seeds):
    """seeds: list of (label, bytes).  Replaces the generated seeds of target."""
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.startswith("gen-"):
            os.unlink(os.path.join(d, f))
    seen = set()
    total = 0
    for label, data in seeds:
        h = hashlib.sha1(data).hexdigest()[:12]
        if h in seen:
            continue
        seen.add(h)
        with open(os.path.join(d, "gen-%s-%s" % (label, h)), "wb") as f:
            f.write(data)
        total += len(data)
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    print("%-10s %3d seeds, %6d bytes generated, %6d bytes in %s" % (target, len(seen), total, size, d))
    if size > MAX_DIR_BYTES:
        sys.exit("gen_seeds: %s is over %d bytes" % (d, MAX_DIR_BYTES))


def one_per_version():
    """The first interpreter of each supported version (pyenv before sid)."""
    found = {}
    for i in interpreters.discover().interps:
        if i.supported and i.version[:2] not in found:
            found[i.version[:2]] = i
    return [found[v] for v in sorted(found)]


def run_python(interp, code, stdin=None):
    return subprocess.run(interp.argv + ["-c", code], input=stdin, stdout=subprocess.PIPE,
                          check=True, timeout=60).stdout


# ---- elf -------------------------------------------------------------------

ELF_SOURCES = {
    "hello.c": '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n',
    "fakepy.c": (
        "/* shaped like a libpython for strobe's runtime finder */\n"
        "struct runtime { long a[8]; };\n"
        '__attribute__((section(".PyRuntime"), used)) struct runtime _PyRuntime = { { 1 } };\n'
        "const unsigned int Py_Version = 0x030c01f0;\n"
        'const char version_literal[] = "3.12.1";\n'
        "long PyCode_Type[4] = { 1, 2, 3, 4 };\n"
        "long _Py_NoneStruct[2] = { 5, 6 };\n"
        "int PyRun(void) { return (int)_PyRuntime.a[0] + version_literal[0]; }\n"
    ),
    "tiny.c": 'void _start(void) { __asm__ volatile("mov $60, %eax; xor %edi, %edi; syscall"); }\n',
}

ELF_BUILDS = [
    # name, source, gcc flags
    ("hello-pie-stripped", "hello.c", ["-s"]),
    ("hello-pie", "hello.c", []),
    ("hello-nopie-stripped", "hello.c", ["-no-pie", "-s"]),
    ("libfakepython3.12.so", "fakepy.c", ["-shared", "-fPIC"]),
    ("libfakepython-stripped.so", "fakepy.c", ["-shared", "-fPIC", "-s"]),
    ("fakepython-static", "fakepy.c", ["-static", "-nostdlib", "-Wl,-e,PyRun"]),
    ("tiny-static-stripped", "tiny.c", ["-static", "-nostdlib", "-s", "-Wl,--build-id=none"]),
    ("tiny-static", "tiny.c", ["-static", "-nostdlib"]),
]


def gen_elf():
    seeds = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in ELF_SOURCES.items():
            with open(os.path.join(tmp, name), "w") as f:
                f.write(text)
        for name, src, flags in ELF_BUILDS:
            out = os.path.join(tmp, name)
            subprocess.run(["gcc", "-Os", "-Wl,-z,noseparate-code", "-o", out,
                            os.path.join(tmp, src)] + flags, check=True)
            with open(out, "rb") as f:
                data = f.read()
            seeds.append((name, data))
            if name in ("libfakepython3.12.so", "tiny-static"):
                # cut: header only, inside the program headers, half
                for n in (64, 100, 300, len(data) // 2):
                    seeds.append((name + "-cut%d" % n, data[:n]))
    write_seeds("elf", seeds)


# ---- proc ------------------------------------------------------------------

# A child that makes odd mappings and names itself, then reports its threads
# and waits.  Run with this interpreter.
PROC_CHILD = r'''
import ctypes, mmap, os, sys, tempfile, threading
d = tempfile.mkdtemp()
keep = []
for name in ("lib two  spaces.so", "gone.so"):
    p = os.path.join(d, name)
    with open(p, "wb") as f:
        f.write(b"\0" * 8192)
    f = open(p, "rb")
    keep.append(mmap.mmap(f.fileno(), 8192, prot=mmap.PROT_READ))
os.unlink(os.path.join(d, "gone.so"))
fd = os.memfd_create("strobe seed")
os.ftruncate(fd, 4096)
keep.append(mmap.mmap(fd, 4096))
ev = threading.Event()
t = threading.Thread(target=ev.wait)
t.start()
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
sys.stdout.write("%d\n" % t.native_id)
sys.stdout.flush()
sys.stdin.read()
ev.set()
os.unlink(os.path.join(d, "lib two  spaces.so"))
os.rmdir(d)
'''


def proc_files(pid, label, maps_lines=60):
    out = []
    for name in ("stat", "status", "maps"):
        try:
            with open("/proc/%d/%s" % (pid, name), "rb") as f:
                data = f.read()
        except OSError:
            continue
        if name == "maps":
            # the first lines and the odd ones (special, deleted, spaces,
            # memfd), in their order
            lines = data.splitlines(True)
            odd = (b"[", b"(deleted)", b"spaces", b"memfd:")
            data = b"".join(l for k, l in enumerate(lines)
                            if k < maps_lines or any(o in l for o in odd))
        elif name == "status":
            data = data[:1024]  # what strobe reads of it
        out.append(("%s-%s" % (label, name), data))
    return out


def gen_proc():
    seeds = []
    seeds += proc_files(1, "init", maps_lines=20)
    seeds += proc_files(os.getpid(), "self", maps_lines=40)
    # named like a stat line, with odd mappings and a thread
    for k, comm in enumerate(("x) Z 1 (\n) T 1", "a b) R (c", "))))))))")):
        p = subprocess.Popen([sys.executable, "-c", PROC_CHILD, comm], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)
        tid = int(p.stdout.readline())
        label = "comm%d" % k
        seeds += proc_files(p.pid, label, maps_lines=10 if k else 40)
        with open("/proc/%d/task/%d/stat" % (p.pid, tid), "rb") as f:
            seeds.append((label + "-thread-stat", f.read()))
        p.stdin.close()
        p.wait()
    # a zombie and a stopped process
    z = subprocess.Popen(["true"])
    os.waitid(os.P_PID, z.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped
    with open("/proc/%d/stat" % z.pid, "rb") as f:
        st = f.read()
    assert b") Z " in st, st
    seeds.append(("zombie-stat", st))
    seeds += [(n, d) for n, d in proc_files(z.pid, "zombie") if n.endswith("status")]
    z.wait()
    s = subprocess.Popen(["sleep", "60"])
    os.kill(s.pid, 19)  # SIGSTOP
    os.waitid(os.P_PID, s.pid, os.WSTOPPED | os.WNOWAIT)
    seeds += proc_files(s.pid, "stopped", maps_lines=10)
    s.kill()
    s.wait()
    write_seeds("proc", seeds)


# ---- linetable -------------------------------------------------------------

def gen_linetable():
    seeds = []
    fix = os.path.join(ROOT, "tests", "fixtures", "linetable")
    for name in sorted(os.listdir(fix)):
        kind = None
        codes = []
        with open(os.path.join(fix, name)) as f:
            for line in f:
                w = line.split()
                if w[:1] == ["kind"]:
                    kind = int(w[1])
                elif w[:1] == ["code"] and w[4] != "-":
                    codes.append((w[1], int(w[2]), bytes.fromhex(w[4])))
        # the largest tables that fit max_len (4096) and a spread of the others
        codes = [c for c in codes if len(c[2]) <= 3000]
        codes.sort(key=lambda c: -len(c[2]))
        pick = codes[:4] + codes[4::max(1, len(codes) // 8)]
        for cname, first, table in pick:
            label = "%s-%s" % (name[:-4], cname.replace("<", "").replace(">", "")[:24])
            seeds.append((label, bytes([kind]) + struct.pack("<i", first) + table))
    write_seeds("linetable", seeds)


# ---- pystr and code (objects copied out of live interpreters) ---------------

# Prints hex lines "label hex" of raw objects; runs under 3.8-3.15.
DUMP_OBJECTS = r'''
import ctypes, sys
def raw(o):
    return ctypes.string_at(id(o), sys.getsizeof(o))
def fresh(s):
    return "".join(list(s))  # a new object: no cached UTF-8 or wstr
objs = [
    ("empty", fresh("")), ("ascii", fresh("main")),
    ("ascii1100", fresh("x" * 1100)), ("latin1", fresh("h\xe9llo w\xf6rld")),
    ("ucs2", fresh("\u03b1\u03b2\u03b3 \u4e2d\u6587")), ("ucs4", fresh("\U0001f600 smile")),
    ("surrogate", fresh("a\ud800b")), ("ucs4-1100", fresh("\U0001f600" * 1100)),
    ("bytes0", bytes()), ("bytes3", b"abc"), ("bytes256", bytes(range(256))),
]
for label, o in objs:
    print(label, raw(o).hex())
'''

DUMP_CODE = r'''
import ctypes, sys
src = """
import os
def outer(a, b=2):
    x = [i * 2 for i in range(a)
         if i % 3]
    def inner():
        return (x,
                a)
    try:
        y = a / b
    except ZeroDivisionError:
        y = None
    return inner, y
class K:
    def method(self, v):
        yield v
        yield from (1, 2)
async def coro(n):
    for i in range(n):
        await coro(i)
"""
top = compile(src, "/srv/app/m\u00f6dule.py", "exec")
codes = [top]
for c in codes:
    codes += [k for k in c.co_consts if hasattr(k, "co_code")]
def raw(o):
    return ctypes.string_at(id(o), sys.getsizeof(o))
for c in codes:
    refs = [c.co_filename, c.co_name]
    if hasattr(c, "co_qualname"):
        refs.append(c.co_qualname)
    refs.append(c.co_linetable if sys.version_info >= (3, 10) else c.co_lnotab)
    if sys.version_info < (3, 11):
        refs.append(c.co_code)
    print(c.co_name.strip("<>"), raw(c).hex(), id(type(c)),
          " ".join("%d:%s" % (id(r), raw(r).hex()) for r in refs))
'''


def gen_pystr():
    seeds = []
    for interp in one_per_version():
        minor = interp.version[1]
        for line in run_python(interp, DUMP_OBJECTS).decode().split("\n"):
            if not line:
                continue
            label, hexdata = line.split()
            obj = bytes.fromhex(hexdata)
            seeds.append(("3.%d-%s" % (minor, label), bytes([minor - 8, 0xFF]) + b"\0" * 8 + obj))
    write_seeds("pystr", seeds)


def build_code_image(code_raw, type_id, refs):
    """The code object at address 8, then the objects it points at (8-aligned);
    pointers to them moved there, ob_type set to FUZZ_CODE_TYPE."""
    img = bytearray(8) + bytearray(code_raw)
    where = {}
    for rid, data in refs:
        img += bytes(-len(img) % 8)
        where[rid] = len(img)
        img += data
    for off in range(8, 8 + len(code_raw) - 7, 8):
        (v,) = struct.unpack_from("<Q", img, off)
        if v in where:
            struct.pack_into("<Q", img, off, where[v])
        elif v == type_id and off == 16:
            struct.pack_into("<Q", img, off, FUZZ_CODE_TYPE)
    return bytes(img)


def gen_code():
    seeds = []
    for interp in one_per_version():
        minor = interp.version[1]
        for line in run_python(interp, DUMP_CODE).decode().split("\n"):
            if not line:
                continue
            w = line.split()
            name, code_raw, type_id = w[0], bytes.fromhex(w[1]), int(w[2])
            refs = []
            for r in w[3:]:
                rid, hexdata = r.split(":")
                refs.append((int(rid), bytes.fromhex(hexdata)))
            img = build_code_image(code_raw, type_id, refs)
            # --opcodes, PyCode_Type known (fuzz_code.c): every path
            seeds.append(("3.%d-%s" % (minor, name), bytes([minor - 8, 3]) + img))
    write_seeds("code", seeds)


def gen_locals():
    """The frames tests/unit/test_locals.c builds (3.9 frame objects, 3.12
    interpreter frames, 3.15 stack references), written by it
    (STROBE_LOCALS_SEEDS): [minor - 8][frame u32][memory from address 0]."""
    root = os.path.dirname(os.path.dirname(HERE))
    subprocess.run(["make", "-s", "build/tests/test_locals"], cwd=root, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([os.path.join(root, "build/tests/test_locals")], check=True,
                       env=dict(os.environ, STROBE_LOCALS_SEEDS=tmp), stdout=subprocess.DEVNULL)
        seeds = []
        for f in sorted(os.listdir(tmp)):
            with open(os.path.join(tmp, f), "rb") as fh:
                seeds.append((f[len("gen-"):].rsplit("-", 1)[0], fh.read()))
    write_seeds("locals", seeds)


GENERATORS = {"elf": gen_elf, "proc": gen_proc, "linetable": gen_linetable,
              "pystr": gen_pystr, "code": gen_code, "locals": gen_locals}


def main():
    for t in sys.argv[1:] or list(GENERATORS):
        if t not in GENERATORS:
            sys.exit("gen_seeds: no generator for %r (known: %s)" % (t, " ".join(GENERATORS)))
        GENERATORS[t]()


if __name__ == "__main__":
    main()
