/* snapshot.h - a CPython process's memory as the walker read it, in a file,
 * so the real walker replays it offline (tests/unit/test_walk.c,
 * tests/fuzz/fuzz_walk.c) with the stacks it gave live beside it.
 *
 * tools/record_snapshot stops a target, walks it through a recording
 * memory source (process/mem.h) and writes what was read, the runtime facts
 * py_runtime_find found (the ones that come from the target's files, which
 * a snapshot does not hold), and the text of each walk.  A replay builds
 * the runtime from those facts with py_runtime_layout (3.13+ reads its
 * _Py_DebugOffsets from the recorded memory, as live) and runs
 * py_walker_sample over a snapshot source.
 *
 * File format, version 1 (little-endian, no padding):
 *
 *   off  size
 *     0     8  magic "STRBSNAP"
 *     8     4  format version (1)
 *    12     4  pid the target had (its own view: 3.8-3.10 thread ids are
 *              found by looking for it in the main thread's C block)
 *    16  4x3  major, minor, micro (micro -1: unknown)
 *    28     4  PY_VERSION_HEX (0: unknown; 3.13+ takes it from memory)
 *    32     8  &_PyRuntime
 *    40     8  &PyCode_Type (0: unknown)
 *    48     8  &_Py_NoneStruct (0: unknown)
 *    56     4  number of ranges (at most PY_SNAPSHOT_MAX_RANGES)
 *    60     4  bytes of expected text (at most PY_SNAPSHOT_MAX_TEXT)
 *    64     4  walk flags (PY_SNAP_*)
 *    68     4  walks taken one after the other (1..PY_SNAPSHOT_MAX_WALKS)
 *    72        ranges, ascending and not overlapping: u64 address,
 *              u32 length (> 0), then that many bytes; at most
 *              MEM_SNAPSHOT_MAX bytes in all
 *     .        the expected text (py_snapshot_describe of each walk)
 *              and nothing after it
 *
 * Everything in a file is untrusted: the parser checks every count,
 * length and order before use and never reads past the input.
 */
#ifndef STROBE_PY_SNAPSHOT_H
#define STROBE_PY_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "process/mem.h"

struct buf;
struct errmsg;
struct py_runtime;
struct py_walk_config;
struct sample;
struct strtab;

#define PY_SNAPSHOT_FORMAT 1
#define PY_SNAPSHOT_HEADER 72
#define PY_SNAPSHOT_MAX_RANGES (1u << 20)
#define PY_SNAPSHOT_MAX_TEXT (1u << 24)
#define PY_SNAPSHOT_MAX_WALKS 8

/* How the walks were taken (the walker's configuration, wall mode). */
enum {
	PY_SNAP_ALL_THREADS = 1, /* every thread, else the main thread */
	PY_SNAP_GC = 2,          /* <GC> frames */
	PY_SNAP_NATIVE = 4,      /* <native> frames at C entries (3.11+) */
	PY_SNAP_KNOWN = 7,
};

struct py_snapshot {
	pid_t pid;
	int major, minor, micro;
	uint32_t version_hex;
	raddr_t runtime_addr, code_type_addr, none_addr;
	uint32_t flags;             /* PY_SNAP_* */
	uint32_t walks;
	struct mem_snapshot mem;    /* the recorded ranges */
	const char *expected;       /* the walks' text, expected_len bytes, no NUL */
	size_t expected_len;
};

/* Parse len bytes of data into s.  The ranges and the text point into
 * data, which must outlive s.  0, or ERR_INVAL (s released) for anything
 * malformed. */
int py_snapshot_parse(struct py_snapshot *s, const void *data, size_t len);
/* Free what parse (or the recorder) put in s. */
void py_snapshot_release(struct py_snapshot *s);

/* Append the file form of s to out. */
void py_snapshot_write(struct buf *out, const struct py_snapshot *s);

/* The walker configuration of flags (wall mode, no status). */
void py_snapshot_walk_config(uint32_t flags, struct py_walk_config *cfg);

/* Append the text of walk number k (1-based) that returned rc (fail: the
 * walker's cause, when rc is a failure) and filled smp:
 *   walk K: ok, N threads
 *   thread tid=T interp=I status=0xS frames=D
 *     FUNC FILE:LINE end=L col=C-E
 *   walk K: not ready | walk K: failed: CAUSE | walk K: gone
 * Names are escaped (\xNN for control bytes and backslash), one line
 * each.  The live walk and its replay give the same text exactly when
 * they give the same samples. */
void py_snapshot_describe(struct buf *out, unsigned k, int rc, int fail, const struct sample *smp,
			  const struct strtab *strings);

/* Replay s: the runtime from its facts and memory, a new walker, s->walks
 * walks, their text appended to out.  0 (whatever the walks gave), or
 * the error of building the runtime (e explains it). */
int py_snapshot_replay(const struct py_snapshot *s, struct buf *out, struct errmsg *e);

#endif
