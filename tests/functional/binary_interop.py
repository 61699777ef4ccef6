#!/usr/bin/env python3.15
"""Binary format interchange between strobe and Tachyon (CPython 3.15's
_remote_debugging.BinaryWriter / BinaryReader).  Standard library only; it
must run under the Python whose Tachyon is the reference:

    chroot /var/cache/strobe/sid python3.15 /PATH/binary_interop.py ...

Modes:

  generate DIR   Write files with Tachyon's writer covering every record
                 encoding and edge case: NAME.bin, NAME.txt (the canonical
                 dump by Tachyon's reader) and NAME.stats (the writer's
                 get_stats() as it stands after finalize); broken files
                 bad_NAME.bin with Tachyon's verdict bad_NAME.err; odd but
                 valid files ok_NAME.bin + .txt (big-endian, invalid UTF-8,
                 two zstd frames...); and the verdict on every truncation and
                 every one-byte corruption of two small files (tiny_*.cuts,
                 tiny_*.flips, as "FIRST-LAST verdict" ranges).  Deterministic.
                 This is how tests/fixtures/binary/ is made:
                     D=/var/cache/strobe/sid/tmp
                     cp tests/functional/binary_interop.py $D/ && rm -rf $D/bfx
                     chroot /var/cache/strobe/sid python3.15 /tmp/binary_interop.py generate /tmp/bfx
                     rm tests/fixtures/binary/* && cp $D/bfx/* tests/fixtures/binary/
  dump FILE      Print the canonical dump of FILE (or "error STAGE: MSG").
  --check DIR    Read every DIR/*.bin with Tachyon's reader and compare its
                 dump with DIR/*.txt, which strobe's reader wrote.  Exit 1 on
                 any difference (or when there is no file).

The strobe side: tests/unit/test_binary.c checks its reader against the
fixtures, and writes its own round-trip files with their dumps by strobe's
reader when STROBE_BINARY_EXPORT_DIR is set.  The other direction, then:

    D=/var/cache/strobe/sid/tmp/strobe-binary
    rm -rf $D && mkdir -p $D && cp tests/functional/binary_interop.py $D/
    make build/tests/test_binary && STROBE_BINARY_EXPORT_DIR=$D build/tests/test_binary
    chroot /var/cache/strobe/sid python3.15 /tmp/strobe-binary/binary_interop.py --check /tmp/strobe-binary

Canonical dump, one line each (strings in double quotes with \\ \" and \\xHH
for control characters escaped, after decoding as UTF-8 with replacement;
floats as the hex of their IEEE bits):

    info version=1 python=3.15.2 start=S interval=I samples=N threads=T strings=K frames=F compression=C mode=M features=X
    stats None | stats duration=HEX rate=HEX error=HEX|None missed=HEX|None
    sample TID INTERP STATUS TIMESTAMP_US DEPTH [| "file" "func" LOC OPCODE]...    (LOC: l,el,c,ec or None)
    end N

A dump longer than DIGEST_OVER bytes keeps its first lines (at most
DIGEST_LINES, DIGEST_HEAD bytes) and ends with "digest fnv1a64=HEX lines=N"
over the whole text instead.
"""
import os
import struct
import sys

import _remote_debugging as rd

DIGEST_OVER = 8192
DIGEST_LINES = 40
DIGEST_HEAD = 2048

FI = rd.FrameInfo
# Tachyon's get_stats() keys that strobe's struct binary_write_summary mirrors
STATS_KEYS = ("total_samples", "total_records", "repeat_records", "repeat_samples", "full_records",
              "suffix_records", "pop_push_records", "total_frames_written", "frames_saved",
              "bytes_written")
TI = rd.ThreadInfo
II = rd.InterpreterInfo


def esc(s):
    out = []
    for ch in s:
        o = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif o < 0x20 or o == 0x7F:
            out.append("\\x%02x" % o)
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def fbits(x):
    return "%016x" % struct.unpack("<Q", struct.pack("<d", x))[0]


def opt(v, f=str):
    return "None" if v is None else f(v)


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def digest(lines):
    text = "".join(l + "\n" for l in lines)
    if len(text.encode()) <= DIGEST_OVER:
        return text
    head = ""
    for l in lines[:DIGEST_LINES]:
        if len((head + l).encode()) > DIGEST_HEAD:
            break
        head += l + "\n"
    return head + "digest fnv1a64=%016x lines=%d\n" % (fnv1a64(text.encode()), len(lines))


class Dumper:
    def __init__(self):
        self.lines = []

    def collect(self, stack_frames, timestamps_us):
        for ts in timestamps_us:
            for interp in stack_frames:
                for t in interp.threads:
                    parts = ["sample %d %d %d %d %d" % (t.thread_id, interp.interpreter_id,
                                                       t.status, ts, len(t.frame_info))]
                    for f in t.frame_info:
                        loc = "None" if f.location is None else "%d,%d,%d,%d" % tuple(f.location)
                        parts.append("%s %s %s %s" % (esc(f.filename), esc(f.funcname), loc,
                                                      opt(f.opcode)))
                    self.lines.append(" | ".join(parts))


def info_lines(i):
    lines = ["info version=%d python=%d.%d.%d start=%d interval=%d samples=%d threads=%d "
             "strings=%d frames=%d compression=%d mode=%s features=%s"
             % (i["version"], *i["python_version"], i["start_time_us"], i["sample_interval_us"],
                i["sample_count"], i["thread_count"], i["string_count"], i["frame_count"],
                i["compression_type"], opt(i["mode"]), opt(i["capture_features"]))]
    if i["duration_sec"] is None:
        lines.append("stats None")
    else:
        lines.append("stats duration=%s rate=%s error=%s missed=%s"
                     % (fbits(i["duration_sec"]), fbits(i["sample_rate"]),
                        opt(i["error_rate"], fbits), opt(i["missed_samples"], fbits)))
    return lines


def dump(path):
    """The canonical dump of path by Tachyon's reader, or its error."""
    try:
        reader = rd.BinaryReader(path)
    except (OSError, ValueError, MemoryError, OverflowError) as e:
        return "error open: %s\n" % e
    try:
        lines = info_lines(reader.get_info())
        d = Dumper()
        try:
            n = reader.replay(d)
        except (OSError, ValueError, MemoryError, OverflowError) as e:
            return "error replay: %s\n" % e
        return digest(lines + d.lines + ["end %d" % n])
    finally:
        reader.close()


# ---- generation ------------------------------------------------------------

def fr(file, func, loc=None, op=None, line=None):
    if line is not None:
        loc = (line, line, 0, 4)
    return FI((file, loc, func, op))


def th(tid, status, frames):
    return TI((tid, status, list(frames)))


def sample(*interps):
    """sample((interp_id, [thread, ...]), ...)"""
    return [II((iid, list(threads))) for iid, threads in interps]


class Gen:
    def __init__(self, outdir):
        self.outdir = outdir

    def write(self, name, samples, compression=0, start=1_000_000, interval=1000, mode=-1,
              features=-1, stats=None):
        path = os.path.join(self.outdir, name + ".bin")
        w = rd.BinaryWriter(path, interval, start, compression=compression, mode=mode,
                            capture_features=features)
        for ts, s in samples:
            w.write_sample(s, ts)
        if stats is not None:
            w.set_stats(*stats)
        # the pending REPEAT runs are counted once flushed; finalize flushes
        # them but closes the writer, so the counts are taken from a twin
        # that only wrote (the same records, in the same order)
        w.finalize()
        st = self.counts(samples, start)
        with open(os.path.join(self.outdir, name + ".stats"), "w") as f:
            f.write(" ".join("%s=%s" % (k, st[k]) for k in STATS_KEYS) + "\n")
        with open(os.path.join(self.outdir, name + ".txt"), "w", encoding="utf-8") as f:
            f.write(dump(path))
        return path


    def counts(self, samples, start):
        """get_stats() as it would be after finalize.  Pending REPEAT runs
        are only counted when flushed, and finalize closes the writer; so a
        second writer gets the same samples plus, per thread, one sample
        with a new one-frame stack at the thread's last timestamp, which
        flushes the run; those extra FULL records are then taken out."""
        path = os.path.join(self.outdir, "counts.tmp")
        w = rd.BinaryWriter(path, 1000, start, compression=0)
        last = {}
        for ts, s in samples:
            w.write_sample(s, ts)
            for interp in s:
                for t in interp.threads:
                    last[(t.thread_id, interp.interpreter_id)] = ts
        flush = fr("<flush>", "<flush>", None)
        for (tid, iid), ts in last.items():
            w.write_sample(sample((iid, [th(tid, 0, [flush])])), ts)
        st = w.get_stats()
        w.finalize()
        nframes = struct.unpack_from("<I", open(path, "rb").read(), -28)[0]
        os.unlink(path)
        n = len(last)
        for k in ("full_records", "total_records", "total_samples", "total_frames_written"):
            st[k] -= n
        # head, delta 0, status, depth 1, index of the new frame (the last)
        if n:
            st["bytes_written"] -= n * (13 + 1 + 1 + 1 + len(uv(nframes - 1)))
        return st


# stacks, innermost first
MAIN = fr("/app/main.py", "main", (40, 42, 4, 20))
RUN = fr("/app/main.py", "run", (10, 10, 8, 16))
WORK = fr("/app/work.py", "Worker.work", (7, 7, 8, 30))
STEP = fr("/app/work.py", "step", (3, 3, 4, 12))
LEAF = fr("/app/work.py", "leaf", (99, 101, 0, 1))
GC = fr("~", "<GC>", None)
NATIVE = fr("~", "<native>", None)


def stacks_basic():
    """Two threads whose stacks move through every record kind."""
    t = 2_000_000
    seq = []
    a = [
        [MAIN],                         # FULL (first)
        [RUN, MAIN],                    # SUFFIX (push)
        [RUN, MAIN],                    # REPEAT
        [RUN, MAIN],                    # REPEAT
        [WORK, RUN, MAIN],              # SUFFIX
        [STEP, RUN, MAIN],              # POP_PUSH (pop 1 push 1)
        [MAIN],                         # POP_PUSH (pop only)
        [LEAF, STEP, WORK, RUN, MAIN],  # SUFFIX
        [GC, LEAF],                     # FULL (no common suffix)
        [NATIVE, STEP, WORK, RUN, MAIN],  # FULL (shared < depth/2)
        [NATIVE, STEP, WORK, RUN, MAIN],  # REPEAT
        [],                             # FULL depth 0
        [],                             # REPEAT of the empty stack
        [MAIN],                         # FULL
    ]
    b = [[], [], [WORK], [WORK], [STEP, WORK], [WORK], [WORK], [LEAF, STEP, WORK]]
    for i in range(max(len(a), len(b))):
        threads = []
        if i < len(a):
            threads.append(th(1001, 1 | 2 | 32, a[i]))
        if i < len(b):
            threads.append(th(1002, 2 if i % 2 else 0, b[i]))
        seq.append((t + i * 1000 + (i % 3), sample((0, threads))))
    return seq


def stacks_ids():
    """Large tids, several interpreters, one tid in two interpreters."""
    seq = []
    big = [(1 << 32) + 5, (1 << 63) + 12345, (1 << 64) - 1]
    for i in range(6):
        seq.append((5_000_000 + i * 250, sample(
            (0, [th(big[0], 1, [RUN, MAIN]), th(big[1], 0, [MAIN] if i % 2 else [WORK, MAIN])]),
            (1, [th(big[0], 2, [STEP, WORK]), th(7, 32, [LEAF])]),
            ((1 << 32) - 1, [th(big[2], 4, [GC] if i < 3 else [NATIVE])]),
            (3, []),
        )))
    return seq


def stacks_status():
    """Every status bit and combination, with REPEAT runs split by status."""
    seq = []
    for st in range(64):
        seq.append((100 + st * 10, sample((0, [th(1, st, [WORK, MAIN])]))))
    for st in (255, 0, 255, 8, 16):
        seq.append((2000 + st, sample((0, [th(2, st, [MAIN])]))))
    return seq


def stacks_deep():
    """Depth 300 (written as the innermost 256), exactly 256, then changes."""
    def deep(n, tag):
        return [fr("/app/r.py", "rec", line=k + 1) for k in range(n)] + [fr("/app/%s.py" % tag, "main", line=1)]
    seq = [
        (10, sample((0, [th(1, 1, deep(299, "a"))]))),
        (20, sample((0, [th(1, 1, deep(299, "a"))]))),
        (30, sample((0, [th(1, 1, deep(255, "b"))]))),
        (40, sample((0, [th(1, 1, [fr("/app/x.py", "x", line=1)] + deep(255, "b")[1:])]))),
        (50, sample((0, [th(1, 1, deep(100, "b"))]))),
        (60, sample((0, [th(2, 1, deep(400, "c"))]))),
    ]
    return seq


def stacks_locations():
    """No location, -1 parts, extreme values, opcodes."""
    frames = [
        fr("a.py", "f", (10, 11, 2, 5), 0),
        fr("a.py", "f", (10, 11, 2, 5), 1),
        fr("a.py", "f", (10, 11, 2, 5), 254),
        fr("a.py", "f", (10, 11, 2, 5), 255),
        fr("a.py", "f", (10, 11, 2, 5), 300),
        fr("a.py", "f", (10, 11, 2, 5), -1),
        fr("a.py", "f", (10, 11, 2, 5), None),
        fr("~", "<GC>", None, None),
        fr("b.py", "g", (-1, 5, 2, 3), None),
        fr("b.py", "g", (7, -1, -1, 3), None),
        fr("b.py", "g", (7, 9, 4, -1), 90),
        fr("b.py", "g", (0, 0, 0, 0), None),
        fr("b.py", "g", (-2, -3, -4, -5), None),
        fr("b.py", "g", (2**31 - 1, -2**31, 5, -2**31), None),
        fr("b.py", "g", (-2**31, 2**31 - 1, 2**31 - 1, -2**31), None),
        fr("b.py", "g", (123456, 123456, 200, 100), None),
    ]
    return [(10, sample((0, [th(1, 0, frames)]))),
            (20, sample((0, [th(1, 0, frames[::-1])])))]


def stacks_unicode():
    """Non-ASCII and awkward characters in names."""
    frames = [
        fr("/app/\u00fcn\u00ef.py", "caf\u00e9.\u03bb", line=3),
        fr("/app/\u65e5\u672c.py", "\U0001F600", line=4),
        fr('/app/q"uo\\te.py', "tab\there", line=5),
        fr("/app/nl\n.py", "del\x7f\x01", line=6),
        fr("", "", line=7),
        fr("/app/it's.py", "<lambda>", line=8),
    ]
    return [(10, sample((0, [th(1, 1, frames)]))), (20, sample((0, [th(1, 1, frames[2:])])))]


def stacks_time():
    """Timestamps that go back (delta wraps), big gaps, before the start."""
    return [
        (500, sample((0, [th(1, 1, [MAIN])]))),          # before start: delta wraps
        (1_000_000_000_000, sample((0, [th(1, 1, [MAIN])]))),
        (999_999_999_000, sample((0, [th(1, 1, [MAIN])]))),
        (10**15, sample((0, [th(1, 1, [RUN, MAIN])]))),  # strobe keeps ns in a u64: < 1.8e16 us
        (5, sample((0, [th(1, 1, [RUN, MAIN])]))),
    ]


def stacks_long_rle(n=6000):
    """Long REPEAT runs: the 16 KiB run buffer overflows (multi-byte deltas)."""
    seq = []
    t = 0
    for i in range(n):
        t += 1000 + (i % 7) * 20000  # 2- and 3-byte deltas
        st = 1 if (i // 1000) % 2 else 3
        threads = [th(11, st, [WORK, MAIN])]
        if i % 3 == 0:
            threads.append(th(12, 0, [STEP, WORK, MAIN] if i % 300 else [LEAF]))
        seq.append((t, sample((0, threads))))
    return seq


def stacks_many(n=4000, nthreads=4, seed=12345):
    """A longer, more realistic run: random walks over a call tree."""
    x = seed

    def rnd(k):
        nonlocal x
        x = (x * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
        return (x >> 33) % k

    funcs = [fr("/srv/app/mod%d.py" % (k % 9), "func_%d" % k, (k * 3 + 1, k * 3 + 2, 4, 30 + k % 5),
                None if k % 4 else 100 + k % 50) for k in range(120)]
    stacks = {t: [funcs[0]] for t in range(nthreads)}
    seq = []
    t = 10_000_000
    for i in range(n):
        t += 1000 + rnd(50)
        threads = []
        for tid in range(nthreads):
            s = stacks[tid]
            r = rnd(10)
            if r < 5:
                pass
            elif r < 7 and len(s) < 60:
                s = [funcs[rnd(len(funcs))]] + s
            elif r < 9 and len(s) > 1:
                s = s[1 + rnd(min(3, len(s) - 1)):]
            else:
                s = [funcs[rnd(len(funcs))]] + s[1:]
            stacks[tid] = s
            threads.append(th(40000 + tid, rnd(4) | (32 if tid == 0 else 0), s))
        seq.append((t, sample((0, threads))))
    return seq


def stacks_tiny():
    """Few bytes, every record kind, two threads."""
    a, b = fr("a.py", "f", line=1), fr("a.py", "g", line=2)
    return [
        (10, sample((0, [th(1, 1, [a]), th(2, 0, [])]))),
        (20, sample((0, [th(1, 1, [b, a]), th(2, 0, [])]))),
        (30, sample((0, [th(1, 3, [a, a]), th(2, 0, [b])]))),
        (40, sample((0, [th(1, 3, [a, a])]))),
    ]


def generate(outdir):
    os.makedirs(outdir, exist_ok=True)
    g = Gen(outdir)
    stats_full = (12.5, 998.25, 0.5, -1.25)
    g.write("basic_zstd", stacks_basic(), compression=1, mode=0, features=0x5, stats=stats_full)
    g.write("basic_raw", stacks_basic(), compression=0)
    g.write("ids", stacks_ids(), compression=1, mode=3, features=1, stats=(1.0, 2.0, None, None))
    g.write("status", stacks_status(), compression=0, mode=1, features=0,
            stats=(0.0, 0.0, 0.0, None))
    g.write("deep", stacks_deep(), compression=1, mode=2, features=31)
    g.write("locations", stacks_locations(), compression=0, mode=4, features=8,
            stats=(3.0, 4.0, None, 0.0))
    g.write("unicode", stacks_unicode(), compression=1)
    g.write("time", stacks_time(), compression=0, start=1000)
    g.write("long_rle", stacks_long_rle(), compression=1, mode=0, features=5,
            stats=(6.0, 1000.0, 0.0, 0.0))
    g.write("many", stacks_many(), compression=1, mode=0, features=5,
            stats=(20.0, 1000.0, 0.1, 0.0))
    g.write("empty_raw", [], compression=0)
    g.write("empty_zstd", [], compression=1, stats=(0.0, 0.0, None, None))
    g.write("tiny_raw", stacks_tiny(), compression=0, start=0)
    g.write("tiny_zstd", stacks_tiny(), compression=1, start=0, mode=0, features=1,
            stats=(1.0, 2.0, 0.5, None))
    broken(outdir)


def put(data, off, fmt, v):
    d = bytearray(data)
    struct.pack_into(fmt, d, off, v)
    return bytes(d)


def uv(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def rebuild(records, strtab, frametab, nstrings, nframes, samples, threads, comp=0, cfg=0):
    """A file around hand-made parts; records are bytes or (tid, interp, enc, body)."""
    data = b"".join(r if isinstance(r, bytes) else struct.pack("<QIB", *r[:3]) + r[3]
                    for r in records)
    stroff = 64 + len(data)
    froff = stroff + len(strtab)
    fs = froff + len(frametab) + 32
    hdr = struct.pack("<IIBBBBQQQIQQII", 0x54414348, 1, 3, 15, 2, 0, 100, 1000, samples,
                      threads, stroff, froff, comp, cfg)
    return hdr + data + strtab + frametab + struct.pack("<IIQ16x", nstrings, nframes, fs)


STRINGS = b"".join(uv(len(s)) + s for s in (b"a.py", b"f", b"main"))
# two frames: a.py:f 10,11,2,5 and a.py:main 20,20,0,3
FRAMES = bytes([0, 1, 20, 2, 4, 6, 255, 0, 2, 40, 0, 0, 6, 255])


def small(records, samples, threads=1, strtab=STRINGS, frametab=FRAMES, nstrings=3, nframes=2):
    return rebuild(records, strtab, frametab, nstrings, nframes, samples, threads)


def full(tid, frames, delta=10, status=1, interp=0):
    return (tid, interp, 1, uv(delta) + bytes([status]) + uv(len(frames)) +
            b"".join(uv(f) for f in frames))


def change(enc, tid, a, frames, delta=1, status=1):
    return (tid, 0, enc, uv(delta) + bytes([status]) + uv(a) + uv(len(frames)) +
            b"".join(uv(f) for f in frames))


def broken(outdir):
    """Broken files and Tachyon's verdict on them (bad_NAME.err), a big-endian
    file (NAME.txt), and the verdict on every truncation (.cuts) and every
    one-byte corruption (.flips) of two small files."""
    raw = open(os.path.join(outdir, "basic_raw.bin"), "rb").read()
    zst = open(os.path.join(outdir, "basic_zstd.bin"), "rb").read()
    hdr = struct.unpack_from("<IIBBBBQQQIQQII", raw)
    zso = struct.unpack_from("<Q", zst, 40)[0]
    fs = len(raw)
    opcode_cut = bytearray(small([], 0, 0))
    struct.pack_into("<Q", opcode_cut, 48, len(opcode_cut) - 7)
    struct.pack_into("<I", opcode_cut, len(opcode_cut) - 28, 1)
    opcode_cut[-7:] = bytes([0x80, 0, 0, 0, 0, 0, 0])
    cases = {
        "magic": put(raw, 0, "<I", 0x12345678),
        "version_newer": put(raw, 4, "<I", 2),
        "version_zero": put(raw, 4, "<I", 0),
        "mode": put(raw, 60, "<I", 7),
        "small": raw[:40],
        "empty_file": b"",
        "stroff_big": put(raw, 40, "<Q", fs + 1),
        "stroff_low": put(raw, 40, "<Q", 10),
        "froff_big": put(raw, 48, "<Q", fs + 100),
        "froff_low": put(raw, 48, "<Q", 63),
        "str_after_frame": put(raw, 40, "<Q", struct.unpack_from("<Q", raw, 48)[0] + 1),
        "strcount_huge": put(raw, fs - 32, "<I", 0xFFFFFFFF),
        "framecount_huge": put(raw, fs - 28, "<I", 0xFFFFFFFF),
        "framecount_zero": put(raw, fs - 28, "<I", 0),
        "strcount_zero": put(raw, fs - 32, "<I", 0),
        "samples_more": put(raw, 28, "<Q", hdr[8] + 1),
        "samples_fewer": put(raw, 28, "<Q", hdr[8] - 1),
        "samples_huge": put(raw, 28, "<Q", 1 << 40),
        "threads_fewer": put(raw, 36, "<I", 1),
        "encoding_unknown": put(raw, 64 + 12, "<B", 9),
        "zstd_truncated": resize_records(zst, zso - 5, remove=5),
        "zstd_truncated_header": resize_records(zst, 70, remove=zso - 70),
        "zstd_header": put(zst, 64, "<I", 0xDEADBEEF),
        "zstd_corrupt": put(zst, zso - 3, "<B", zst[zso - 3] ^ 0xFF),
        "zstd_empty": rebuild([], STRINGS, FRAMES, 3, 2, 0, 0, comp=1),
        "zstd_junk_after": resize_records(zst, zso, insert=b"\x01\x02"),
        "zstd_junk_frame": resize_records(zst, zso, insert=b"\x28\xb5\x2f\xfd\x00\x00"),
        "stats_values": put(zst, len(zst) - 88, "<d", -1.0),
        "stats_size": put(zst, len(zst) - 36, "<I", 1 << 20),
        "varint_long": small([(1, 0, 1, b"\xff" * 10 + b"\x01\x01\x00")], 1),
        "varint_u32": small([(1, 0, 1, b"\x05\x01" + uv(1 << 33))], 1),
        "varint_cut": small([(1, 0, 1, b"\x85")], 1),
        "no_status": small([(1, 0, 1, b"\x05")], 1),
        "record_trailing": small([full(1, [0, 1]), b"\x01\x00\x00\x00\x00"], 1),
        "frame_index": small([full(1, [0, 7])], 1),
        "string_index": small([full(1, [1])], 1,
                              frametab=bytes([0, 1, 20, 2, 4, 6, 255, 9, 2, 40, 0, 0, 6, 255])),
        "depth_257": small([full(1, [0] * 257)], 1),
        "shared_big": small([full(1, [0, 1]), change(2, 1, 3, [0])], 2),
        "suffix_257": small([full(1, [0] * 256), change(2, 1, 256, [1])], 2),
        "poppush_257": small([full(1, [0] * 256), change(3, 1, 0, [1])], 2),
        "rle_count": small([full(1, [0]), (1, 0, 0, uv(5) + b"\x01\x01")], 6),
        "rle_varint": small([full(1, [0]), (1, 0, 0, uv(1) + b"\x80\x80")], 2),
        "rle_count_varint": small([full(1, [0]), (1, 0, 0, b"\x80")], 1),
        "rle_no_status": small([full(1, [0]), (1, 0, 0, uv(1) + b"\x81\x01")], 2),
        "threads_more": small([full(1, [0]), full(2, [1]), full(1, [1], interp=1)], 3, threads=2),
        "strtab_varint": small([], 0, strtab=b"\xff" * 12),
        "strtab_overflow": small([], 0, strtab=b"\x7fabc", nstrings=1),
        "frametab_varint": small([], 0, frametab=b"\xff" * 14),
        "frametab_opcode": bytes(opcode_cut),
    }
    for name, data in cases.items():
        path = os.path.join(outdir, "bad_%s.bin" % name)
        with open(path, "wb") as f:
            f.write(data)
        with open(path[:-4] + ".err", "w", encoding="utf-8") as f:
            f.write(dump(path))
    # files that are valid though no writer makes them
    oddities = {
        "ok_bigendian": big_endian(raw),
        "ok_invalid_utf8": small([full(1, [0, 1])], 1, nstrings=3,
                                 strtab=b"".join(uv(len(s)) + s for s in (
                                     b"\xff\xfe.py", b"f\xc3", b"\xed\xa0\x80x\xf0\x9f\x98"))),
        "ok_zstd_two_frames": zstd_two_frames(zst, outdir),
        "ok_compression_2": put(raw, 56, "<I", 2),
        "ok_poppush_over": small([full(1, [0, 1]), change(3, 1, 9, [1])], 2),
        "ok_threads_huge": put(raw, 36, "<I", 0xFFFFFFFF),
        "ok_stats_ignored": put(zst, len(zst) - 40, "<I", 2),
    }
    for name, data in oddities.items():
        path = os.path.join(outdir, name + ".bin")
        with open(path, "wb") as f:
            f.write(data)
        with open(path[:-4] + ".txt", "w", encoding="utf-8") as f:
            f.write(dump(path))
    tmp = os.path.join(outdir, "tmp.bin")
    for name in ("tiny_raw", "tiny_zstd"):
        data = open(os.path.join(outdir, name + ".bin"), "rb").read()
        for ext, variant in ((".cuts", lambda n: data[:n]),
                             (".flips", lambda n: put(data, n, "<B", data[n] ^ 0x5A))):
            verdicts = []
            for n in range(len(data)):
                with open(tmp, "wb") as f:
                    f.write(variant(n))
                verdicts.append(verdict(tmp))
            with open(os.path.join(outdir, name + ext), "w", encoding="utf-8") as out:
                out.write(ranges(verdicts))
    os.unlink(tmp)


def ranges(verdicts):
    """"A-B verdict" lines for runs of equal verdicts (index A to B)."""
    out = []
    start = 0
    for i in range(1, len(verdicts) + 1):
        if i == len(verdicts) or verdicts[i] != verdicts[start]:
            out.append("%d-%d %s\n" % (start, i - 1, verdicts[start]))
            start = i
    return "".join(out)


def zstd_two_frames(zst, outdir):
    """A zstd file whose records are two concatenated frames: an empty one
    (from the writer of an empty file) inserted after the first."""
    empty = open(os.path.join(outdir, "empty_zstd.bin"), "rb").read()
    z0 = empty[64:struct.unpack_from("<Q", empty, 40)[0]]
    so, fo = struct.unpack_from("<QQ", zst, 40)
    d = bytearray(zst[:so] + z0 + zst[so:])
    struct.pack_into("<QQ", d, 40, so + len(z0), fo + len(z0))
    struct.pack_into("<Q", d, len(d) - 24, len(d))
    return bytes(d)


def verdict(path):
    """The error, or "ok N" with the replayed sample count."""
    text = dump(path)
    if text.startswith("error"):
        return text.rstrip("\n")
    return "ok " + text.rstrip("\n").rsplit("\n", 1)[-1].split()[1]


def resize_records(data, at, remove=0, insert=b""):
    """Remove/insert bytes at offset at of the record region, fixing the
    offsets and the footer's file size."""
    so, fo = struct.unpack_from("<QQ", data, 40)
    d = bytearray(data[:at] + insert + data[at + remove:])
    k = len(insert) - remove
    struct.pack_into("<QQ", d, 40, so + k, fo + k)
    struct.pack_into("<Q", d, len(d) - 24, len(d))
    return bytes(d)


def big_endian(le):
    """Byte-swap every fixed-width field of a raw (uncompressed) file."""
    d = bytearray(le)
    h = struct.unpack_from("<IIBBBBQQQIQQII", le)
    struct.pack_into(">IIBBBBQQQIQQII", d, 0, *h)
    so = h[10]
    off = 64
    while off < so:  # records: swap tid and interp, then skip the body
        tid, interp, enc = struct.unpack_from("<QIB", le, off)
        struct.pack_into(">QI", d, off, tid, interp)
        off += 13

        def var(o):
            v = s = 0
            while True:
                b = le[o]
                o += 1
                v |= (b & 0x7F) << s
                s += 7
                if not b & 0x80:
                    return v, o
        if enc == 0:
            n, off = var(off)
            for _ in range(n):
                _, off = var(off)
                off += 1
        else:
            _, off = var(off)
            off += 1
            a, off = var(off)
            if enc != 1:
                a, off = var(off)
            for _ in range(a):
                _, off = var(off)
    fs = len(le)
    sc, fc, size = struct.unpack_from("<IIQ", le, fs - 32)
    struct.pack_into(">IIQ", d, fs - 32, sc, fc, size)
    if le[fs - 48:fs - 40] == b"TACHSTAT":
        vals = struct.unpack_from("<ddddII", le, fs - 88)
        struct.pack_into(">ddddII", d, fs - 88, *vals)
        struct.pack_into(">II", d, fs - 40, *struct.unpack_from("<II", le, fs - 40))
    return bytes(d)


def check(directory):
    bad = 0
    n = 0
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".bin"):
            continue
        path = os.path.join(directory, name)
        want_path = path[:-4] + ".txt"
        if not os.path.exists(want_path):
            print("MISSING %s" % want_path)
            bad += 1
            continue
        with open(want_path, encoding="utf-8") as f:
            want = f.read()
        got = dump(path)
        n += 1
        if got != want:
            bad += 1
            print("DIFF %s" % name)
            gl, wl = got.splitlines(), want.splitlines()
            for i in range(max(len(gl), len(wl))):
                g = gl[i] if i < len(gl) else "<none>"
                w = wl[i] if i < len(wl) else "<none>"
                if g != w:
                    print("  line %d\n    tachyon: %s\n    strobe:  %s" % (i + 1, g[:300], w[:300]))
                    break
        else:
            print("OK   %s" % name)
    print("%d files, %d different" % (n, bad))
    return 1 if bad or not n else 0


def main(argv):
    if len(argv) == 3 and argv[1] == "generate":
        generate(argv[2])
        return 0
    if len(argv) == 3 and argv[1] == "dump":
        sys.stdout.write(dump(argv[2]))
        return 0
    if len(argv) == 3 and argv[1] == "--check":
        return check(argv[2])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
