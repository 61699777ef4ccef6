/* engine.h - the in-kernel sampler's user-space half (--engine bpf,
 * docs/bpf-engine.md): loads sample.bpf.c (its bpftool skeleton is
 * generated at build time), fills its configuration, keeps its
 * tid -> thread state map, opens one cpu-clock perf event per sampled
 * thread and drains the ring buffer in batches.  Layer 1: knows no Python;
 * the caller turns records into samples. */
#ifndef STROBE_BPF_ENGINE_H
#define STROBE_BPF_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "bpf/sample.h"

struct bpf_engine;

/* What the kernel counted (the program's global counters). */
struct bpf_engine_stats {
	uint64_t runs;     /* program runs (perf samples of our events) */
	uint64_t kept;     /* records written */
	uint64_t lost;     /* records the full ring buffer refused */
	uint64_t unknown;  /* runs on a thread with no thread state in the map */
	uint64_t events;   /* perf events opened so far */
	uint64_t switches; /* wall mode: a watched thread left its CPU */
	uint64_t code_copies, code_lost; /* code records written / refused */
	uint64_t windows;  /* data stack windows read (several frames each) */
};

/* Samples in the making at once (one per thread being sampled when its
 * parts are drained); past it the oldest is given up, as incomplete. */
#define BPF_ENGINE_PENDING 64

/* Load the program with cfg.  0, or ERR_PERM (no CAP_BPF/CAP_PERFMON, or
 * BPF refused to this user), ERR_NOTFOUND (the kernel lacks something the
 * program needs: BPF, ring buffers, perf-event programs), ERR_INVAL (cfg
 * out of range), ERR_NOMEM; e says what in one line. */
int bpf_engine_open(struct bpf_engine **out, const struct strobe_bpf_config *cfg,
		    struct errmsg *e);
void bpf_engine_close(struct bpf_engine *be);

/* Thread ids are those of strobe's /proc (its PID namespace): each perf
 * event carries its thread's as its BPF cookie. */

/* Thread tid has thread state tstate; 0 or ERR_LIMIT
 * (the map is full), ERR_IO. */
int bpf_engine_set_thread(struct bpf_engine *be, pid_t tid, uint64_t tstate);
void bpf_engine_drop_thread(struct bpf_engine *be, pid_t tid);

/* Sample thread tid every period_ns of its CPU time: opens its perf event
 * (once; again after bpf_engine_unwatch).  0, ERR_NOPROC (the thread is
 * gone), ERR_PERM (perf events refused: e says why), ERR_LIMIT. */
int bpf_engine_watch(struct bpf_engine *be, pid_t tid, uint64_t period_ns, struct errmsg *e);
/* Wall mode: also copy the stack of the target's threads as they leave
 * their CPU (records flagged STROBE_BPF_SWITCH), through one sched_switch
 * tracepoint program; the configuration's ns_* name the target's PID
 * namespace.  0, ERR_NOTFOUND (no tracefs), ERR_PERM, ERR_IO (e says). */
int bpf_engine_switches(struct bpf_engine *be, struct errmsg *e);
/* Wall mode: the watched thread tid is ns_tid in the target's PID
 * namespace (how the sched_switch program knows it).  0, ERR_INVAL (not
 * watched), ERR_LIMIT, ERR_IO. */
int bpf_engine_watch_switches(struct bpf_engine *be, pid_t tid, uint32_t ns_tid);
/* The CPU time of watched thread tid since it was watched (its cpu-clock
 * event's count, as records' cpu_ns; an ended thread's stays as it was).
 * 0, ERR_INVAL, ERR_IO. */
int bpf_engine_cpu_time(struct bpf_engine *be, pid_t tid, uint64_t *ns);
/* Stop sampling the threads not among alive[0..n). */
void bpf_engine_prune(struct bpf_engine *be, const pid_t *alive, size_t n);
/* Whether tid is sampled. */
int bpf_engine_watching(const struct bpf_engine *be, pid_t tid);

/* One sample: its records' frames put together (a stack deeper than
 * STROBE_BPF_MAX_FRAMES comes in several records). */
struct bpf_engine_sample {
	uint32_t tid;          /* strobe's id of the thread */
	uint32_t flags;        /* STROBE_BPF_TRUNCATED, STROBE_BPF_READ_FAILED,
				* STROBE_BPF_SWITCH, BPF_ENGINE_INCOMPLETE */
	uint32_t head_size;
	uint32_t nframes;
	uint32_t status;       /* STROBE_BPF_ST_*: the thread's status when sampled */
	uint64_t tstate, time_ns;
	uint64_t gc_frame;     /* STROBE_BPF_ST_GC, 3.15+: the collection's start frame */
	uint64_t cpu_ns;       /* the thread's CPU time then, or STROBE_BPF_NO_CPU_TIME */
	/* nframes frames, innermost first, each stride bytes: its address
	 * (bpf_engine_frame_addr), then head_size bytes of it */
	const unsigned char *frames;
	uint32_t stride;
};

static inline uint64_t bpf_engine_frame_addr(const struct bpf_engine_sample *s, uint32_t i)
{
	uint64_t a;
	__builtin_memcpy(&a, s->frames + (size_t)i * s->stride, 8);
	return a;
}

static inline const unsigned char *bpf_engine_frame_head(const struct bpf_engine_sample *s,
							  uint32_t i)
{
	return s->frames + (size_t)i * s->stride + 8;
}
/* A part of the sample was lost (the ring buffer was full): its frames
 * are not the whole stack. */
#define BPF_ENGINE_INCOMPLETE 0x100u

/* Hand every sample written so far to fn.  A record is checked first (its
 * length that of a whole record of nframes frames, its part the one
 * expected of its thread's sample): a bad one is skipped and counted in
 * *bad.  A non-zero return of fn stops the drain and is returned.
 * Returns 0, fn's value, or ERR_IO, ERR_NOMEM. */
typedef int (*bpf_engine_sample_fn)(void *ctx, const struct bpf_engine_sample *s);
int bpf_engine_drain(struct bpf_engine *be, bpf_engine_sample_fn fn, void *ctx, uint64_t *bad);

void bpf_engine_stats(const struct bpf_engine *be, struct bpf_engine_stats *st);

/* ---- code object copies (sample.h, struct strobe_bpf_code_config) ----
 * A code record, checked (every length and offset inside the record):
 * the code object's first head_len bytes at address code, and up to
 * STROBE_BPF_BLOBS objects it points to (len 0: not copied).  Valid during
 * the callback only. */
struct bpf_engine_code {
	uint32_t tid;          /* the thread of the sample it was copied for */
	uint64_t code, globals;
	const unsigned char *head;
	uint32_t head_len;
	struct {
		uint64_t addr;
		const unsigned char *bytes;
		uint32_t len;
	} blob[STROBE_BPF_BLOBS];
};
typedef void (*bpf_engine_code_fn)(void *ctx, const struct bpf_engine_code *c);
/* Code records go to fn during bpf_engine_drain, in the order written (a
 * sample's copies before its last record, so before the sample is handed
 * on); without fn they are dropped. */
void bpf_engine_on_code(struct bpf_engine *be, bpf_engine_code_fn fn, void *ctx);
/* The code object at code, run with globals, is resolved: the program
 * stops copying it while frames run it with those globals (other globals:
 * maybe another code object at the same address, copied).  0 or ERR_IO. */
int bpf_engine_know_code(struct bpf_engine *be, uint64_t code, uint64_t globals);
/* It may have changed (an address reused): copy it again. */
void bpf_engine_forget_code(struct bpf_engine *be, uint64_t code);

/* A new configuration (the target exec'd: its runtime, and so the
 * addresses the configuration holds, moved), checked as bpf_engine_open
 * checks it; every code object is forgotten (the code cache that knew
 * them is gone).  0, ERR_INVAL, or ERR_IO / ERR_NOMEM. */
int bpf_engine_reconfigure(struct bpf_engine *be, const struct strobe_bpf_config *cfg,
			   struct errmsg *e);

#endif
