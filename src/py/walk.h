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
#include "py/runtime.h"
#include "target/mem.h"
#include "target/task.h"

/* Bounds on what one sample may contain. */
#define PY_MAX_FRAMES 8192       /* per thread */
#define PY_MAX_THREADS 4096      /* per interpreter */
#define PY_MAX_INTERPRETERS 256
#define PY_MAX_CHUNKS 1024       /* data-stack chunks copied per thread */
#define PY_MAX_STACK_BYTES (16u << 20)

struct py_walk_config {
	bool all_threads;  /* every thread of every interpreter, else the main thread */
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
struct py_spec {
	raddr_t tstate;
	raddr_t chunk;       /* newest data-stack chunk seen last time, 0 if none */
	uint64_t chunk_size;
	raddr_t top;         /* its datastack_top then */
	raddr_t cframe;      /* 3.11-3.12: tstate->cframe then */
	raddr_t terminal;    /* 3.14+: the base frame inside the thread state */
	raddr_t addr[PY_SPEC_FRAMES];
	int n;
};

/* Resolved frames of recent samples, direct-mapped by frame address. */
#define PY_FRAME_MEMO 1024
struct py_frame_memo {
	raddr_t frame, code;
	uint64_t pos;       /* instruction pointer (3.11+) or f_lasti */
	raddr_t globals;
	struct frame f;
};

struct py_walk_stats {
	uint64_t samples, failed, frames;
	uint64_t threads;        /* 3.11+ thread walks */
	uint64_t memo_hits;      /* frames resolved from the memo */
	uint64_t second_reads;   /* ... that needed more than the first batched read */
	uint64_t failed_by[16];  /* failed samples by -ERR_* code */
};

struct py_walker {
	const struct py_runtime *rt;
	struct mem_source *mem;
	struct py_walk_config cfg;
	struct py_code_cache codes;
	struct pthread_tid pthread_tid;  /* 3.8-3.10 thread id mapping */
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
	struct py_frame_memo memo[PY_FRAME_MEMO];
	uint64_t memo_epoch, memo_evictions;
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

#endif
