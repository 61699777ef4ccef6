/* native.h - mixed stacks (--native-stacks): each sampled thread's real
 * native stack with its Python frames put where the interpreter ran them.
 *
 * Per sample, while the caller holds every thread of the target (ptrace,
 * process/ptrace.h): py_native_take walks the Python stacks (py/walk.h)
 * and takes each sampled thread's registers and stack top
 * (process/unwind.h) - the only work done while the threads are stopped.
 * After they run again, py_native_finish unwinds the copies and merges:
 *
 *  - every native frame of the evaluation loop (_PyEval_EvalFrameDefault)
 *    is replaced by the Python frames it ran.  3.8-3.10 run one Python
 *    frame per call of it; 3.11+ run several, from an entry frame (the
 *    walker's <native> boundaries, py/walk.c) up to the next one.  So the
 *    Python chain is cut into one segment per evaluation call, innermost
 *    first, and the n-th evaluation frame of the native stack gets the
 *    n-th segment.  A native stack that ends where its unwinding ran out
 *    (off the copied stack) keeps its inner segments in place and the
 *    remaining Python frames below them.  A complete native stack with
 *    another number of evaluation frames than segments is no stack: the
 *    sample fails ("native and Python stacks disagree").
 *  - By default the interpreter's own frames (the object holding the
 *    runtime: libpython, or a python executable built statically) are
 *    hidden, being the call machinery between Python frames
 *    (PyObject_Call, _PyFunction_Vectorcall, cfunction_call...), and so
 *    are the native frames below the outermost Python frame (_start,
 *    Py_RunMain, start_thread): a stack starts where Tachyon's does.  A
 *    thread with no Python frame shows its native stack.
 *    With plumbing, every native frame is kept.
 *  - A native frame is (file, function, line): the source file and line
 *    when DWARF knows them, else the object's path and no line; the
 *    function is its symbol (demangled), or 0x<offset in the object> when
 *    no symbol covers it.  Names are cached per address, so a steady
 *    program does no symbol work per sample.
 */
#ifndef STROBE_PY_NATIVE_H
#define STROBE_PY_NATIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/hash.h"
#include "model/sample.h"
#include "process/unwind.h"

struct py_walker;
struct rootfs;
struct strtab;

struct py_native_stats {
	uint64_t captures;        /* threads whose registers and stack were taken */
	uint64_t truncated;       /* native stacks that ended before their outermost frame */
	uint64_t mismatched;      /* samples failed: evaluation frames != Python segments */
	uint64_t symbols;         /* addresses resolved (cache misses) */
};

/* What a native frame is to the merge. */
enum py_native_kind {
	PY_NATIVE_PLAIN,    /* shown */
	PY_NATIVE_INTERP,   /* the interpreter's own: shown only with plumbing */
	PY_NATIVE_EVAL,     /* the evaluation loop: replaced by Python frames */
};

struct py_native_frame {
	struct frame f;
	uint8_t kind;       /* enum py_native_kind */
};

/* How the walker marks its frames, and what the merge keeps. */
struct py_merge_rules {
	uint32_t synthetic_file, native_func, shutdown_func; /* the walker's string ids */
	bool per_frame;     /* 3.8-3.10: one evaluation call per Python frame */
	bool by_address;    /* 3.12+: the marks carry their entry frames' addresses
			     * (py_mark_addr): calls are found by stack address */
	bool plumbing;      /* keep the interpreter's frames and those below Python */
};

/* The merge itself (see above): Python frames pf[0..depth) (innermost
 * first, as the walker gave them, with its <native> marks) and native
 * frames nf[0..nnf) with their stack pointers sps (innermost first;
 * complete: the unwinding reached the outermost frame) become thread t's frames in out (t the last thread of
 * out).  segs is scratch of depth + 2 entries.  0, or ERR_CORRUPT when the
 * two disagree (out then holds a partial thread: drop the sample). */
int py_native_merge(const struct py_merge_rules *r, const struct frame *pf, uint32_t depth,
		    const struct py_native_frame *nf, const uint64_t *sps, size_t nnf,
		    bool complete, uint32_t *segs, struct sample *out, struct thread_sample *t);

struct py_native {
	struct py_walker *w;
	struct strtab *strings;
	struct unwinder u;
	pid_t pid;
	bool plumbing;
	struct unwind_capture *caps;   /* per thread of the sample taken */
	size_t caps_cap;
	uint64_t pcs[UNWIND_MAX_FRAMES], sps[UNWIND_MAX_FRAMES];
	struct py_native_frame frames[UNWIND_MAX_FRAMES]; /* ... resolved */
	struct sample out;             /* the merged sample, swapped into the caller's */
	struct u64map cache;           /* pc -> index + 1 in syms */
	struct py_native_frame *syms;
	size_t nsyms, syms_cap;
	uint32_t *segs;                /* scratch: Python segment bounds */
	size_t segs_cap;
	struct py_native_stats stats;
};

/* w (with its walk configured to mark entry frames: cfg.native), strings
 * (w's) and root (not NULL: the files are read through it) must outlive n.
 * 0, or as unwind_init. */
int py_native_init(struct py_native *n, struct py_walker *w, struct strtab *strings, pid_t pid,
		   const struct rootfs *root, bool plumbing);
void py_native_release(struct py_native *n);

/* While the caller holds every thread of the target: a Python sample (as
 * py_walker_sample, same returns) and each of its threads' registers and
 * stack.  A thread that cannot be captured fails the sample (ERR_FAULT,
 * cause "native stack unreadable"). */
int py_native_take(struct py_native *n, struct sample *s);

/* After the threads run again: s (the sample py_native_take took) becomes
 * the mixed sample.  0, or ERR_CORRUPT (counted under its cause in the
 * walker: the sample is to be dropped). */
int py_native_finish(struct py_native *n, struct sample *s);

#endif
