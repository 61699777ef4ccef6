/* walk.h - one sample of a CPython process: its threads and their stacks.
 *
 * The walker reads the interpreter and thread states, walks each thread's
 * frame chain and resolves every frame through the code cache into the
 * caller's struct sample.  It never allocates per sample (buffers grow
 * rarely and are reused) and never writes to the target.
 *
 * A torn read (the target changed under us) or anything inconsistent makes
 * the whole sample fail: no partial or garbage stack is returned.
 */
#ifndef STROBE_PY_WALK_H
#define STROBE_PY_WALK_H

#include <stdbool.h>
#include <stdint.h>

#include "base/intern.h"
#include "model/sample.h"
#include "py/code.h"
#include "py/fail.h"
#include "py/runtime.h"
#include "process/mem.h"
#include "process/task.h"

/* The entry frame address a <native> mark carries with cfg.entry_marks, in
 * fields a mark has no other use for; 0 for a mark without one. */
static inline raddr_t py_mark_addr(const struct frame *f)
{
	return (raddr_t)(uint32_t)f->end_line << 32 | (uint32_t)f->col;
}

/* Bounds on what one sample may contain. */
#define PY_MAX_FRAMES 8192       /* per thread */
#define PY_MAX_THREADS 4096      /* per interpreter */
#define PY_MAX_INTERPRETERS 256
#define PY_MAX_CHUNKS 1024       /* data-stack chunks copied per thread */
#define PY_MAX_STACK_BYTES (16u << 20)

/* Sampling modes, Tachyon's numbers (persisted in binary files). */
enum py_mode {
	PY_MODE_WALL = 0,      /* every selected thread */
	PY_MODE_CPU = 1,       /* only threads on a CPU */
	PY_MODE_GIL = 2,       /* only the thread holding the GIL */
	PY_MODE_ALL = 3,       /* every thread, every status bit computed */
	PY_MODE_EXCEPTION = 4, /* only threads raising or handling an exception */
};

struct py_walk_config {
	bool all_threads;  /* every thread of every interpreter, else the main thread */
	int mode;          /* enum py_mode: which status bits, which threads */
	bool want_status;  /* compute GIL and exception bits even in wall mode
			    * (for formats that record them) */
	bool gc;           /* <GC> frames */
	bool native;       /* <native> frames at C -> Python boundaries (3.11+) */
	bool entry_marks;  /* with native, 3.12+ (--native-stacks): a <native> mark at
			    * every C-stack entry frame of an evaluation call, the
			    * outermost and an innermost one running no Python frame
			    * included, carrying the entry frame's address
			    * (py_mark_addr): it lies in that call's native stack frame */
	bool opcodes;      /* record the opcode each frame executes */
	bool frame_addrs;  /* record where each frame is (py_walker.frame_addrs):
			    * `strobe dump --locals` reads the frames again */
};

/* Where frame i of a sample is in the target: the frame (a frame object
 * before 3.11, an interpreter frame after) and the code object it ran;
 * both 0 for a synthetic frame (<GC>, <native>, <shutdown>). */
struct py_frame_addr {
	raddr_t frame, code;
};

/* Bytes of target memory read for the shared facts below.  Their words lie
 * a few hundred bytes apart (docs/thread-status.md): one piece of a readv
 * spanning them costs less than a piece each. */
#define PY_SHARED_BUF 2048
#define PY_SHARED_NONE 0xffff

/* Per-interpreter facts of one sample: who holds the GIL, whether the
 * garbage collector runs (and, 3.15+, from which frame), which thread
 * shuts the interpreter down. */
struct py_shared {
	raddr_t gil_holder;    /* 3.8-3.12: thread state holding the GIL, 0 if none/unknown */
	bool gil_known;
	bool collecting;
	raddr_t gc_frame;      /* 3.15+: frame current when the collection started */
	raddr_t finalizing;    /* thread state running the interpreter's shutdown
				* (Py_FinalizeEx, 3.12+ also Py_EndInterpreter),
				* 0 while none does */
	/* the words as read: where each one landed in buf, PY_SHARED_NONE if
	 * it was not read */
	uint16_t at_holder, at_gil, at_gc, at_fin;
	unsigned char buf[PY_SHARED_BUF]; /* last: not cleared per sample */
};

/* A copied piece of the target's data stack. */
struct py_region {
	raddr_t start, end;
	size_t local;      /* offset of start in py_walker.stack */
	bool used;         /* a frame was found in it during this walk */
};

/* Frames a thread's walk had to read on their own (C-stack entry frames,
 * generators): read speculatively with the next sample's first batch. */
#define PY_SPEC_FRAMES 4
#define PY_SPEC_THREADS 64
#define PY_SPEC_TOPS 8
struct py_spec {
	raddr_t tstate;
	raddr_t chunk;       /* newest data-stack chunk seen last time, 0 if none */
	uint64_t chunk_size;
	raddr_t top;         /* its datastack_top then */
	raddr_t cframe;      /* 3.11-3.12: tstate->cframe then */
	raddr_t terminal;    /* 3.14+: the base frame inside the thread state */
	raddr_t addr[PY_SPEC_FRAMES];
	int n;
	raddr_t *chain;      /* 3.8-3.10: last frame-object chain, innermost first */
	uint32_t chain_n, chain_cap;
	raddr_t tops[PY_SPEC_TOPS]; /* 3.8-3.10: recent innermost frames, newest first */
	int ntops;
	uint64_t ident;      /* 3.8-3.10: the thread's pthread id last time */
};

/* Resolved frames of recent samples, direct-mapped by frame address. */
#define PY_FRAME_MEMO 1024
struct py_frame_memo {
	raddr_t frame, code;
	uint64_t pos;       /* instruction pointer (3.11+) or f_lasti */
	raddr_t globals;
	raddr_t op_addr;    /* --opcodes, 3.11+: where the live opcode byte is */
	struct frame f;
};

/* 3.8-3.10: where a caller was when a callee of a given code ran above it,
 * seen in copies that agree (the callee's made after the caller's):
 * direct-mapped by the two code addresses. */
#define PY_CALL_SITES 256
struct py_call_site {
	raddr_t caller_code, callee_code;
	int32_t lasti;      /* the caller's f_lasti */
};

struct py_walk_stats {
	uint64_t samples, failed, frames;
	uint64_t threads;        /* 3.11+ thread walks */
	uint64_t memo_hits;      /* frames resolved from the memo */
	uint64_t single_reads;   /* frames that needed a read of their own */
	uint64_t second_reads;   /* ... that needed more than the first batched read */
	uint64_t rereads;        /* ... whose first read's guesses missed: read again whole */
	uint64_t popped_tops;    /* innermost frames the copies show returned: caller taken */
	uint64_t pushed_tops;    /* callees the copies show pushed above it: taken */
	uint64_t chases;         /* 3.8-3.10: reads of a thread's current frame pointer and frame */
	uint64_t failed_by[PY_NFAIL]; /* failed samples by cause */
};

struct py_walker {
	const struct py_runtime *rt;
	struct mem_source *mem;
	struct py_walk_config cfg;
	struct py_code_cache codes;
	struct pthread_tid pthread_tid;  /* 3.8-3.10 thread id mapping */
	struct task_ns ns;               /* its thread ids -> /proc's (PID namespaces) */
	raddr_t main_tstate;             /* cached; validated each sample */
	raddr_t main_interp;
	uint64_t main_thread_ident;      /* _PyRuntime.main_thread */
	/* data-stack copy of the thread being walked */
	unsigned char *stack;
	size_t stack_cap, stack_len;
	struct py_region regions[PY_MAX_CHUNKS];
	int nregions;
	raddr_t next_chunk;              /* next older chunk to copy, 0 when none */
	uint32_t ts_read;                /* bytes of a thread state to read */
	struct py_spec spec[PY_SPEC_THREADS];
	struct py_spec *cur_spec;        /* slot of the thread being walked */
	struct py_spec next_spec;        /* what this walk read on its own */
	raddr_t cur_tstate;
	uint32_t fo_read;                /* bytes of a frame object to read */
	uint32_t synthetic_file;         /* "~" */
	uint32_t gc_func, native_func;   /* "<GC>", "<native>" */
	uint32_t shutdown_func;          /* "<shutdown>" */
	raddr_t gil_ptr;                 /* 3.12: the main interpreter's GIL (cached) */
	bool want_gil, want_exc, want_cpu;
	int task_fd_pid;                 /* pid of the /proc task stats below */
	struct py_frame_memo memo[PY_FRAME_MEMO];
	/* py_walker_task_thread: the running task's walk */
	bool task_walk;                  /* read the task from the thread state copy */
	uint32_t task_coro_off;          /* its coroutine pointer in the task object */
	raddr_t task;                    /* the running task found, 0 none */
	raddr_t stop_frame;              /* its coroutine's frame: the last to walk */
	bool stop_reached;               /* the walk reached stop_frame */
	struct py_call_site sites[PY_CALL_SITES];
	unsigned char *fo_buf;           /* 3.8-3.10: batch of frame-object copies */
	raddr_t *fo_addr;                /* ... and their addresses */
	size_t fo_cap;
	struct mem_iov *fo_iov;          /* ... the readv that fetches them */
	size_t fo_iov_cap;
	uint32_t *opq_index;             /* --opcodes: frames whose opcode byte is to read */
	raddr_t *opq_addr;
	size_t opq_n, opq_cap;
	uint64_t memo_epoch, memo_evictions;
	/* cfg.frame_addrs: frame_addrs[i] for s->frames[i] of the last
	 * sample (grows like the sample's frames; entries past its nframes
	 * are stale) */
	struct py_frame_addr *frame_addrs;
	size_t frame_addrs_cap;
	enum py_fail fail;               /* why the current sample failed */
	struct py_walk_stats stats;
};

/* rt, mem and strings must outlive the walker; names are interned in strings. */
void py_walker_init(struct py_walker *w, const struct py_runtime *rt, struct mem_source *mem,
		    struct strtab *strings, const struct py_walk_config *cfg);
void py_walker_release(struct py_walker *w);

/* Take one sample into s (cleared first).  Returns:
 *   0            s holds the threads (none if the interpreter has none yet)
 *   ERR_NOTREADY the runtime is not initialised yet (no interpreter or thread)
 *   ERR_FAULT / ERR_CORRUPT / ERR_LIMIT  a failed sample (count it, go on)
 *   ERR_NOPROC   the target is gone */
int py_walker_sample(struct py_walker *w, struct sample *s);

/* Why the last failed sample failed (py_walker_sample or the asyncio
 * walker's), never PY_FAIL_NONE after a failure. */
static inline enum py_fail py_walker_last_fail(const struct py_walker *w)
{
	return w->fail ? w->fail : PY_FAIL_OTHER;
}

/* Record the cause of a failure the walker did not see itself (call once
 * per failed sample, before any counting): the first cause given wins.
 * Returns rc. */
int py_walker_fail(struct py_walker *w, enum py_fail why, int rc);

/* Count a sample that ended with rc (a failure unless ERR_NOTREADY or
 * ERR_NOPROC) under its cause. */
void py_walker_count_failure(struct py_walker *w, int rc);

/* For the asyncio walker (py/asyncio.h), 3.11+ frame model.
 *
 * py_walker_task_thread walks the thread state tstate of interpreter interp
 * (3.14+) as far as its running task: the task is taken from the same copy
 * of the thread state as the current frame, *task gets it (0: no task runs
 * now; nothing is added to s), and its coroutine (the pointer at task +
 * coro_off, which stays the same for the task's life) gives the frame where
 * the walk stops.  The frames go into a new thread of s, innermost first.
 * Reading the task apart from the frames would let the loop switch tasks
 * in between and show one task's frames (or the loop's) under another's
 * name.  When the chain does not hold the coroutine's frame, the task is in
 * asyncio's own step code (before its coroutine resumes or after it
 * yielded, perhaps calling the loop's call_soon) and the chain is the
 * loop's own stack, not the task's: the thread is left with no frames.
 * The thread is dropped from s on failure.  Returns 0 or an ERR_* as
 * py_walker_sample (a running task without a coroutine: ERR_CORRUPT).
 *
 * py_walker_frame resolves one interpreter frame, at address frame in the
 * target and copied into f (if_size bytes), onto thread t of s (the last
 * thread); a frame with no Python code (C entry) adds nothing.  0 or ERR_*. */
int py_walker_task_thread(struct py_walker *w, struct sample *s, raddr_t tstate, raddr_t interp,
			  uint32_t coro_off, raddr_t *task);
int py_walker_frame(struct py_walker *w, struct sample *s, struct thread_sample *t, raddr_t frame,
		    const unsigned char *f);

/* For the in-kernel sampler (--engine bpf, src/sampler_bpf.c), which copies
 * each frame's head in the target's context and decodes it here.
 *
 * py_walker_object_frame is py_walker_frame for a 3.8-3.10 frame object
 * copied in fo.  py_walker_frame_bytes is how many bytes of a frame
 * either wants: if_size (3.11+) or what the walker reads of a frame
 * object.
 *
 * py_walker_threads lists the thread states to sample (the main thread's,
 * or with cfg.all_threads every thread of every interpreter) with their
 * OS thread ids as the target numbers them (0 when unknown), into
 * out[0..max).  0, ERR_NOTREADY (no interpreter yet), or a failure as
 * py_walker_sample's. */
struct py_thread_ref {
	raddr_t tstate;
	uint64_t tid;
	uint32_t interp_id;
	bool main;
};
int py_walker_object_frame(struct py_walker *w, struct sample *s, struct thread_sample *t,
			   raddr_t frame, const unsigned char *fo);
/* The <GC> frame, for a decoder that has the status bits and the
 * collection's start frame (3.15+) from elsewhere: py_walker_gc_on_top
 * adds it on top of t's stack (nothing yet on t) when the reader would
 * (cfg.gc, before 3.15, t holds the GIL, collecting: its interpreter's
 * collector runs); py_walker_gc_frame adds it where t's frames are now,
 * as the reader does before the frame a 3.15+ collection started in.
 * 0 or ERR_LIMIT. */
int py_walker_gc_on_top(struct py_walker *w, struct sample *s, struct thread_sample *t,
			bool collecting);
int py_walker_gc_frame(struct py_walker *w, struct sample *s, struct thread_sample *t);
/* <shutdown> under t's frames (its root), as the reader puts it under the
 * stack of the thread tearing its interpreter down.  0 or ERR_LIMIT. */
int py_walker_shutdown_root(struct py_walker *w, struct sample *s, struct thread_sample *t);
/* Whether a thread of status st (STATUS_* bits) is sampled in mode
 * (enum py_mode): cpu on CPU, gil holding the GIL, exception raising or
 * handling one, wall and all every thread. */
bool py_mode_keeps(int mode, uint32_t st);
uint32_t py_walker_frame_bytes(const struct py_walker *w);
int py_walker_threads(struct py_walker *w, struct py_thread_ref *out, size_t max, size_t *n);

#endif
