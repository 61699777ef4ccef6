/* sampler.h - the sampling loop.
 *
 * Takes samples on an absolute schedule (no drift), sleeping until each
 * deadline with clock_nanosleep; when it falls behind it samples
 * back-to-back, which is how the highest rates are reached.  Behind by more
 * than max(4 ticks, 4 ms) (a stall) it gives the missed ticks up and goes
 * on from the present, rather than take a burst of samples of one moment.  It stops at
 * the duration, when the stop flag is raised (signals), or when the target
 * is gone, and hands every sample to a sink.
 */
#ifndef STROBE_SAMPLER_H
#define STROBE_SAMPLER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "py/fail.h"

struct py_walker;
struct sample;

/* Raised by signal handlers; the only global in strobe. 1 = SIGINT
 * (Ctrl-C), 2 = another stop request (SIGTERM, SIGHUP). */
extern volatile sig_atomic_t sampler_stop;

/* How far a run has got, for the tick hook. */
struct sampler_progress {
	uint64_t ticks;            /* sampling attempts so far */
	uint64_t failed;           /* of which gave no sample */
	uint64_t start_ns;         /* CLOCK_MONOTONIC of the first sample, 0 before */
	uint64_t now_ns;
};

struct sampler_config {
	uint64_t interval_ns;
	int64_t duration_ns;       /* < 0: until the target exits or a stop */
	bool realtime_stats;       /* print a live rate line once a second */
	FILE *stats_fp;            /* where the realtime line goes */
	/* Optional: polled every few milliseconds; returns true once the
	 * target has exited (used by `run`, which owns the child). */
	bool (*target_exited)(void *arg);
	void *arg;
	/* Optional (--blocking): pause is called right before each sample and,
	 * when it returned 0, resume right after the walk, before the sample
	 * goes to the sink.  A pause error counts as a failed sample;
	 * ERR_NOPROC ends sampling as a vanished target does. */
	int (*pause)(void *ctx);
	void (*resume)(void *ctx);
	void *pause_ctx;
	/* Optional (--async-aware): takes each sample instead of
	 * py_walker_sample, with the same return values. */
	int (*take)(void *ctx, struct sample *s);
	void *take_ctx;
	/* Optional (--native-stacks): called with each sample taken, after
	 * resume (the threads run again), before the sink: finishes the
	 * sample's work that needs no stopped thread.  0, or an ERR_* that
	 * makes it a failed sample (its cause recorded in the walker). */
	int (*finish)(void *ctx, struct sample *s);
	void *finish_ctx;
	/* Optional: called after a failed sample while the target lives; a
	 * non-zero return ends sampling as a vanished target does (used to
	 * follow a target that exec'd, profiling/exec.c). */
	int (*failed)(void *ctx);
	void *failed_ctx;
	/* Optional (--live): called between samples, every tick_ns, with the
	 * run so far; the live view polls keys and redraws from here, so it
	 * must be quick (a redraw longer than the lag allowed gives ticks up).  A
	 * non-zero return stops sampling. */
	int (*tick)(void *ctx, const struct sampler_progress *p);
	void *tick_ctx;
	uint64_t tick_ns;
};

/* Where samples go: the in-memory profile, or a streaming writer.  A
 * non-zero return from add stops sampling (write error, format limit). */
struct sampler_sink {
	int (*add)(void *ctx, const struct sample *s);
	void *ctx;
};

struct sampler_result {
	uint64_t ticks;            /* sampling attempts */
	uint64_t failed;           /* attempts that gave no sample */
	uint64_t failed_by[PY_NFAIL]; /* ... by cause */
	uint64_t torn;             /* attempts whose first walk failed (torn or not) */
	uint64_t torn_by[PY_NFAIL];/* ... by the first walk's cause */
	uint64_t retries;          /* walks made again after a failed one */
	double duration_s;
	bool interrupted;          /* stopped by Ctrl-C / a signal */
	bool target_gone;
	int sink_error;            /* what the sink returned when it stopped us, or 0 */
	/* --engine bpf: what the kernel side counted (sampler_run_bpf) */
	struct {
		uint64_t runs;         /* program runs */
		uint64_t records;      /* records written */
		uint64_t lost;         /* records the full ring buffer refused */
		uint64_t unknown;      /* runs on a thread with no thread state known */
		uint64_t events;       /* perf events opened (threads watched) */
		uint64_t switches;     /* wall mode: switch records (a thread left its CPU) */
		uint64_t bad;          /* records the loader refused (size, order) */
		uint64_t skipped;      /* samples (on or off CPU) of a thread the mode leaves out
					* (--mode gil: not holding the GIL): no sample */
		uint64_t code_copies;  /* code object copies written */
		uint64_t code_lost;    /* copies the full ring buffer refused */
		uint64_t windows;      /* data stack windows read (several frames each) */
	} bpf;
};

/* Sample until done.  Returns 0, or ERR_NOPROC if the target vanished
 * before the first sample. */
int sampler_run(struct py_walker *w, const struct sampler_sink *sink,
		const struct sampler_config *cfg, struct sampler_result *res);

/* --engine bpf: the program's code object copies for layout l (what
 * py/code.c reads of a code object whose signature spans sig_span bytes;
 * frames' heads of head_size bytes); cc->head 0 when they do not fit. */
struct py_layout;
struct strobe_bpf_code_config;
void sampler_bpf_code_config(const struct py_layout *l, uint32_t sig_span, uint32_t head_size,
			     struct strobe_bpf_code_config *cc);

/* --realtime-stats' live line (stats_fp): the sampling rate recently
 * (mean, min and max, Hz), the samples so far, the failed share and its
 * two commonest causes (res->failed, res->failed_by over res->ticks). */
void sampler_stats_line(FILE *fp, double mean, double min, double max, uint64_t n,
			const struct sampler_result *res);

/* The in-kernel engine (--engine bpf, sampler_bpf.c): the same run as
 * sampler_run's in wall, cpu and gil modes (the walker's cfg.mode), the
 * samples taken by the BPF program on the target's threads (the main
 * thread's, every thread with cfg.all_threads of the walker) every
 * interval of their CPU time and drained every 10 to 50 ms (every 50
 * intervals); new threads are
 * picked up every 100 ms.  In wall mode each thread's time off CPU is
 * sampled too: its stack as it left its CPU (or, for a thread first seen
 * asleep, as read then), one sample an interval of the time until it
 * comes back.  gil keeps the samples of a thread holding the GIL.  Of
 * cfg, the interval, duration, stop conditions and the failed hook are
 * used (no pause, take, finish or tick).  Each record is one sample of
 * one thread (STATUS_ON_CPU on CPU, the GIL and exception bits the
 * program read as the reader would, STATUS_MAIN_THREAD for the main
 * thread; <GC> where the reader puts it); a record of a thread the mode
 * leaves out is no sample (res->bpf.skipped); a record the walker cannot
 * decode is a failed sample, by its cause.
 *
 * Returns 0 (res filled), ERR_NOPROC if the target vanished before the
 * first sample, or the set-up's error with e saying what is missing in
 * one line: ERR_PERM (capabilities, perf_event_paranoid), ERR_NOTFOUND
 * (the kernel lacks what the program needs), ERR_INVAL (this Python's
 * frames do not fit the program's record), ERR_IO. */
struct errmsg;
struct strobe_bpf_config;
int sampler_run_bpf(struct py_walker *w, const struct sampler_sink *sink,
		    const struct sampler_config *cfg, struct sampler_result *res, struct errmsg *e);

/* The BPF program's configuration for w's target (its layout, runtime
 * address, mode and <GC> choice): where its frames start and link, and
 * which status bits to read from where.  0, or ERR_INVAL (a thread state
 * with no frame pointer strobe knows).  sampler_bpf_status turns a
 * record's STROBE_BPF_ST_* bits into STATUS_* (HAS_GIL, GIL_REQUESTED,
 * HAS_EXCEPTION; on CPU is the caller's to add). */
int sampler_bpf_config(const struct py_walker *w, struct strobe_bpf_config *c);
uint32_t sampler_bpf_status(uint32_t bits);

#endif
