/* sampler_bpf.c - the sampling loop of the in-kernel engine (--engine bpf,
 * docs/bpf-engine.md): the BPF program (src/bpf/) takes the samples in the
 * target's threads; this loop keeps its thread map and perf events up to
 * date, drains its records in batches and turns each into the struct
 * sample the reader makes, through the walker's own frame decoding.  In
 * wall mode it also credits each thread's time off CPU (struct off_cpu). */
#include "sampler.h"

#include "base/clock.h"
#include "base/error.h"
#include "base/hash.h"
#include "bpf/engine.h"
#include "model/sample.h"
#include "process/mem.h"
#include "process/task.h"
#include "py/pystr.h"
#include "py/walk.h"
#include "sampler_bpf_copies.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* How often records are drained and threads looked for (docs/bpf-engine.md:
 * a wake-up per record costs 9-24% of a core, a 10 ms drain under 0.5%):
 * every DRAIN_SAMPLES intervals, within [DRAIN_MIN_NS, DRAIN_MAX_NS] - a
 * wake-up, the code cache's sweep and the liveness check that come with
 * it cost the same at any rate, so a low rate drains less often (20
 * times a second at 1 kHz, 100 at 10 kHz). */
#define DRAIN_MIN_NS 10000000ULL
#define DRAIN_MAX_NS 50000000ULL
#define DRAIN_SAMPLES 50
#define THREADS_NS 100000000ULL
/* How often the target is checked for having exited. */
#define ALIVE_CHECK_NS 20000000ULL
/* Thread states listed per look (beyond: the look fails, sampling goes on
 * with the threads known). */
#define BPF_MAX_THREADS 4096

/* Wall mode: a thread whose CPU time did not advance by more than this
 * since it left its CPU is still off it (its cpu-clock event counts on a
 * little between the sched_switch program's read and the switch itself). */
#define STILL_OFF_NS 50000ULL
/* Past this many threads, the ones still off CPU are credited up to now
 * every THREADS_NS, not at every drain. */
#define CREDIT_MANY 64
/* User-space reads of new threads' stacks after a torn one. */
#define SEED_TRIES 8

/* Wall mode: a thread's time off its CPU (docs/bpf-engine.md).  From the
 * moment it left (t_off, with c_off of CPU time) with the stack then
 * copied, its time off CPU is credited as samples of that stack, one an
 * interval: when its next record comes (it ran c - c_off of the t - t_off
 * since), and at each drain while its CPU time has not moved. */
struct off_cpu {
	pid_t host;          /* its id in strobe's /proc */
	uint64_t tid;        /* the target's own id, for the outputs */
	uint32_t interp_id;
	bool main;
	bool off;            /* off its CPU with the stack below, since t_off */
	bool ended;          /* it has ended */
	bool alive;          /* listed at the last look */
	bool seeded;         /* its stack was read from user space, or it switched */
	uint32_t status;     /* STATUS_HAS_GIL, _GIL_REQUESTED, _HAS_EXCEPTION as it left */
	uint64_t t_off, c_off;
	uint64_t credited;   /* credited up to this time */
	uint64_t acc;        /* time credited and not yet a sample (< interval) */
	struct frame *frames;
	size_t depth, cap;
};

/* ---- code object copies (sampler_bpf_copies.h) ---------------------------- */

/* bpf_engine's code record callback. */
static void on_code(void *ctx, const struct bpf_engine_code *c)
{
	sampler_bpf_copies_add(ctx, c);
}

/* The code cache dropped an entry (its address reused, or the object
 * changed). */
static void on_code_evicted(void *ctx, const struct py_code *e)
{
	sampler_bpf_copies_forget(ctx, e->addr);
}

/* Before a sweep, the code cache's entries unused for its period
 * (py_code_check_idle): those the program knows are revalidated, up to
 * CHECK_IDLE_MAX of them, the most recently used first, and stay trusted
 * (known) while unchanged; the program forgets the others (on_code_idle).
 * An entry idle for a period may have died and its address been reused
 * with the same globals, which the program's fingerprint does not tell
 * apart: the code cache revalidates it at its next use, and the sample
 * then needs a copy.  (Known forever, a code object idle for 100 ms then
 * run once more and freed within a drain period failed every sample of
 * that drain: bursts of 30-90 failed samples in `hg log -p`.  Forgetting
 * every idle entry instead made a thread back from 20 ms off CPU copy its
 * whole stack in every sample until the next drain.)  256 signatures are
 * 37 KiB read per 20 ms on 3.11. */
#define CHECK_IDLE_MAX 256

static bool code_known(void *ctx, const struct py_code *e)
{
	return sampler_bpf_copies_knows(ctx, e->addr);
}

static void on_code_idle(void *ctx, const struct py_code *e)
{
	sampler_bpf_copies_forget(ctx, e->addr);
}

/* What a record's kernel thread id stands for. */
struct known_thread {
	raddr_t tstate;
	uint64_t tid;       /* the target's own id, for the outputs */
	uint32_t interp_id;
	bool main;
};

struct bpf_run {
	struct py_walker *w;
	struct bpf_engine *be;
	const struct sampler_sink *sink;
	const struct sampler_config *cfg;
	struct sampler_result *res;
	struct sample s;
	struct u64map index;           /* host tid -> index in known + 1 */
	struct known_thread *known;
	size_t nknown, known_cap;
	struct py_thread_ref *refs;
	pid_t *alive;
	uint64_t bad;                  /* records of the wrong size */
	bool stop;
	bool wall;                     /* time off CPU is sampled too (every mode but cpu) */
	struct u64map off_index;       /* host tid -> index in off + 1 */
	struct off_cpu **off;
	size_t noff, off_cap;
	struct sample seed;            /* the user-space read of new threads' stacks */
	struct off_cpu **fresh;        /* the threads to seed, BPF_MAX_THREADS */
	uint64_t *fresh_cpu;           /* ... their CPU time then */
	struct u64map per_thread;      /* host tid -> its records (count_tick) */
	uint64_t records, failed_records;
	uint64_t failed_by[PY_NFAIL];  /* failed records by cause */
	struct bpf_copies cc;
	struct strobe_bpf_config bc;   /* the program's configuration */
	raddr_t runtime_addr;          /* the runtime it was made for (an exec moves it) */
	int fatal;                     /* an error that stopped sampling from a callback ... */
	struct errmsg fatal_e;         /* ... and what it says */
};

/* The summary counts ticks as the reader's does, where a tick samples
 * every thread once.  The BPF program samples each thread on that thread's
 * own clock (its CPU time; in wall mode its time off CPU too), so a tick
 * here is a sample of the thread sampled most: with one thread (or -a in
 * wall mode, every thread at the rate) the same count as the reader's.
 * Failed samples are the failed share of all records, in ticks, so the
 * error rate is that share. */
static void count_tick(struct bpf_run *r, uint64_t host_tid, int fail)
{
	uint64_t *n = u64map_get(&r->per_thread, host_tid);
	uint64_t mine = n ? ++*n : 1;
	if (!n)
		u64map_put(&r->per_thread, host_tid, 1);
	if (mine > r->res->ticks)
		r->res->ticks = mine;
	r->records++;
	if (fail >= 0) {
		r->failed_records++;
		r->failed_by[fail]++;
	}
	/* the failed share, kept up to date for --realtime-stats */
	r->res->failed = (r->failed_records * r->res->ticks + r->records / 2) / r->records;
}

/* The causes of failed samples, in ticks as count_tick's failed. */
static void scale_failures(struct bpf_run *r)
{
	for (int i = 0; i < PY_NFAIL; i++)
		r->res->failed_by[i] = r->records ?
			(r->failed_by[i] * r->res->ticks + r->records / 2) / r->records : 0;
}

static struct off_cpu *off_of(struct bpf_run *r, pid_t host)
{
	const uint64_t *at = u64map_get(&r->off_index, (uint64_t)host);
	return at && *at && *at <= r->noff ? r->off[*at - 1] : NULL;
}

static void off_forget_gone(struct bpf_run *r)
{
	size_t k = 0;
	u64map_clear(&r->off_index);
	for (size_t i = 0; i < r->noff; i++) {
		struct off_cpu *o = r->off[i];
		if (!o->alive) {
			/* no credit past its end: what it had is dropped */
			free(o->frames);
			free(o);
			continue;
		}
		o->alive = false;
		r->off[k++] = o;
		u64map_put(&r->off_index, (uint64_t)o->host, k);
	}
	r->noff = k;
}

static int off_set_stack(struct off_cpu *o, const struct frame *f, size_t n)
{
	if (n > o->cap) {
		struct frame *nf = realloc(o->frames, n * sizeof(*nf));
		if (!nf)
			return ERR_NOMEM;
		o->frames = nf;
		o->cap = n;
	}
	if (n)
		memcpy(o->frames, f, n * sizeof(*f));
	o->depth = n;
	return 0;
}

static bool keeps(const struct bpf_run *r, uint32_t status);

/* Off-CPU samples leave here, each one sample of one thread at time_ns,
 * kept by the mode's rule on the status the thread left its CPU with
 * (wall and gecko's all: every one, all with that status - GIL, GIL
 * requested, exception, and <GC> in the stack - which gecko turns into
 * its spans; gil: a thread that holds the GIL off CPU, blocked in a call
 * that kept it or preempted; exception: one in an except block). */
static int emit_off_cpu(struct bpf_run *r, const struct off_cpu *o, uint64_t time_ns)
{
	if (!keeps(r, o->status)) {
		r->res->bpf.skipped++;
		count_tick(r, (uint64_t)o->host, -1); /* a tick, with nothing kept */
		return 0;
	}
	struct sample *s = &r->s;
	sample_clear(s);
	s->time_ns = time_ns;
	struct thread_sample *t = sample_add_thread(s);
	t->tid = o->tid;
	t->interp_id = o->interp_id;
	t->status = o->status | (o->main ? STATUS_MAIN_THREAD : 0); /* off CPU */
	struct frame *f = sample_reserve_frames(s, o->depth);
	if (o->depth)
		memcpy(f, o->frames, o->depth * sizeof(*f));
	s->nframes += o->depth;
	t->depth = (uint32_t)o->depth;
	r->w->stats.samples++;
	r->w->stats.frames += o->depth;
	count_tick(r, (uint64_t)o->host, -1);
	int src = r->sink->add(r->sink->ctx, s);
	if (src) {
		r->res->sink_error = src;
		return 1;
	}
	return 0;
}

/* Credit thread o's time off CPU up to `until`: a sample every interval,
 * each at the time its interval ends. */
static int credit_off_cpu(struct bpf_run *r, struct off_cpu *o, uint64_t until)
{
	if (!o->off || until <= o->credited)
		return 0;
	uint64_t iv = r->cfg->interval_ns ? r->cfg->interval_ns : 1;
	o->acc += until - o->credited;
	o->credited = until;
	while (o->acc >= iv) {
		o->acc -= iv;
		if (emit_off_cpu(r, o, until - o->acc))
			return 1;
	}
	return 0;
}

/* Thread o made a record at t with c of CPU time: the time off CPU it
 * had since it left ends where it came back, t less what it ran since. */
static int off_cpu_settle(struct bpf_run *r, struct off_cpu *o, uint64_t t, uint64_t c)
{
	if (!o->off)
		return 0;
	int rc = 0;
	if (c != STROBE_BPF_NO_CPU_TIME && o->c_off != STROBE_BPF_NO_CPU_TIME && c >= o->c_off &&
	    t >= o->t_off) {
		uint64_t ran = c - o->c_off;
		uint64_t back = t - o->t_off > ran ? t - ran : o->t_off;
		rc = credit_off_cpu(r, o, back);
	}
	o->off = false;
	return rc;
}

/* At a drain: a thread whose CPU time did not move since it left its CPU
 * is still off it, up to now. */
static int off_cpu_credit_all(struct bpf_run *r)
{
	for (size_t i = 0; i < r->noff; i++) {
		struct off_cpu *o = r->off[i];
		uint64_t c;
		if (!o->off || o->ended)
			continue;
		/* an ended thread's CPU time stands still too: no credit
		 * past its end (a signal 0 says whether it is there) */
		if (syscall(SYS_tgkill, (pid_t)r->w->ns.pid, o->host, 0) && errno == ESRCH) {
			o->ended = true;
			continue;
		}
		if (bpf_engine_cpu_time(r->be, o->host, &c))
			continue;
		uint64_t now = clock_now_ns();
		if (o->c_off != STROBE_BPF_NO_CPU_TIME && c >= o->c_off && c - o->c_off <= STILL_OFF_NS &&
		    credit_off_cpu(r, o, now))
			return 1;
	}
	return 0;
}

/* Look for the target's threads: every thread state to sample gets its
 * kernel thread id into the program's map and a perf event.  0, or the
 * first perf event's error (e set), ERR_NOTREADY before the interpreter
 * has a thread, a walker failure. */
static int seed_new(struct bpf_run *r, size_t nfresh);

static int refresh_threads(struct bpf_run *r, struct errmsg *e)
{
	struct py_walker *w = r->w;
	size_t nfresh = 0;
	size_t n = 0;
	int rc = py_walker_threads(w, r->refs, BPF_MAX_THREADS, &n);
	if (rc)
		return rc;
	size_t nalive = 0;
	r->nknown = 0;
	u64map_clear(&r->index);
	/* Oldest first: CPython puts a new thread state at the head of its
	 * interpreter's list, and on 3.8-3.11 one made for a thread being
	 * started carries its creator's ids (init_threadstate) until that
	 * thread runs and sets its own (3.12+ leaves them 0 until then): read
	 * head first, the creator's id named the newcomer's state, and the
	 * creator's samples showed the new thread's stack for up to 100 ms
	 * (threads_all+bpf: 96 samples of the main thread in spin_a).  The
	 * state listed last for an id is its own. */
	for (size_t i = n; i-- > 0;) {
		const struct py_thread_ref *t = &r->refs[i];
		if (!t->tid || t->tid > INT32_MAX)
			continue; /* no OS thread known for it (yet) */
		pid_t host = task_ns_host_tid(&w->ns, (pid_t)t->tid);
		if (host <= 0 || u64map_get(&r->index, (uint64_t)host))
			continue;
		VEC_RESERVE(r->known, r->known_cap, r->nknown + 1);
		r->known[r->nknown++] = (struct known_thread){ t->tstate, t->tid, t->interp_id, t->main };
		u64map_put(&r->index, (uint64_t)host, r->nknown);
		rc = bpf_engine_set_thread(r->be, host, t->tstate);
		if (rc)
			return rc;
		rc = bpf_engine_watch(r->be, host, r->cfg->interval_ns, e);
		if (rc == ERR_NOPROC)
			continue; /* it ended since it was listed */
		if (rc)
			return rc;
		r->alive[nalive++] = host;
		if (!r->wall)
			continue;
		rc = bpf_engine_watch_switches(r->be, host, (uint32_t)t->tid);
		if (rc)
			return rc;
		struct off_cpu *o = off_of(r, host);
		if (!o) {
			o = calloc(1, sizeof(*o));
			if (!o)
				return ERR_NOMEM;
			VEC_RESERVE(r->off, r->off_cap, r->noff + 1);
			r->off[r->noff++] = o;
			u64map_put(&r->off_index, (uint64_t)host, r->noff);
			*o = (struct off_cpu){ .host = host, .c_off = STROBE_BPF_NO_CPU_TIME };
		}
		/* until its stack is known: a read that failed is tried again
		 * at the next look */
		if (!o->seeded && !o->off && nfresh < BPF_MAX_THREADS)
			r->fresh[nfresh++] = o;
		o->tid = t->tid;
		o->interp_id = t->interp_id;
		o->main = t->main;
		o->alive = true;
	}
	bpf_engine_prune(r->be, r->alive, nalive);
	if (r->wall) {
		off_forget_gone(r);
		if (nfresh)
			return seed_new(r, nfresh);
	}
	return 0;
}

/* Wall mode: a thread first seen may be asleep since before strobe
 * looked (and stay so): its stack read from user space now (a thread
 * blocked in the kernel does not change it) is the one its time off CPU
 * goes to until it leaves its CPU again.  A thread whose read fails
 * starts at its first switch. */
static int seed_new(struct bpf_run *r, size_t nfresh)
{
	struct py_walker *w = r->w;
	struct py_walk_stats keep = w->stats; /* not one of the run's samples */
	struct off_cpu **fresh = r->fresh;
	uint64_t *cpu = r->fresh_cpu;
	for (size_t i = 0; i < nfresh; i++)
		if (bpf_engine_cpu_time(r->be, fresh[i]->host, &cpu[i]))
			cpu[i] = STROBE_BPF_NO_CPU_TIME;
	uint64_t now = clock_now_ns();
	/* a torn read (a running thread's stack changed as it was read) is
	 * tried again at once, as the reader does */
	int rc = py_walker_sample(w, &r->seed);
	for (int k = 0; k < SEED_TRIES && (rc == ERR_CORRUPT || rc == ERR_FAULT); k++) {
		now = clock_now_ns();
		rc = py_walker_sample(w, &r->seed);
	}
	w->stats = keep;
	if (rc)
		return 0;
	for (size_t i = 0; i < nfresh; i++) {
		struct off_cpu *o = fresh[i];
		/* the last sample of its id: its own state (refresh_threads) */
		for (size_t j = r->seed.nthreads; j-- > 0;) {
			const struct thread_sample *t = &r->seed.threads[j];
			if (t->tid != o->tid || o->off || cpu[i] == STROBE_BPF_NO_CPU_TIME)
				continue;
			if (off_set_stack(o, r->seed.frames + t->first, t->depth))
				return ERR_NOMEM;
			o->off = true;
			o->seeded = true;
			o->status = t->status & (STATUS_HAS_GIL | STATUS_GIL_REQUESTED |
						 STATUS_HAS_EXCEPTION);
			o->t_off = o->credited = now;
			o->c_off = cpu[i];
			break;
		}
	}
	return 0;
}

/* The status bits of a record as the reader's STATUS_* (the on-CPU bit is
 * the caller's). */
uint32_t sampler_bpf_status(uint32_t bits)
{
	uint32_t st = 0;
	if (bits & STROBE_BPF_ST_GIL)
		st |= STATUS_HAS_GIL;
	else if (bits & STROBE_BPF_ST_GIL_REQUESTED)
		st |= STATUS_GIL_REQUESTED;
	if (bits & STROBE_BPF_ST_EXCEPTION)
		st |= STATUS_HAS_EXCEPTION;
	return st;
}

/* Whether the mode keeps a sample of a thread of this status (STATUS_*):
 * the reader's rule, so cpu keeps what is on CPU, gil the GIL holder,
 * exception a thread raising or handling one. */
static bool keeps(const struct bpf_run *r, uint32_t status)
{
	return py_mode_keeps(r->w->cfg.mode, status);
}

/* The target exec'd and the walker follows it (profiling/exec.c rebuilt
 * it on the new image's runtime, from a failed sample's hook).  The
 * program's configuration holds the old image's addresses (the GIL's
 * holder, the collector, None), and its thread states and known code
 * objects are the old image's: all set anew, and the threads looked for
 * at once, not at the next look up to THREADS_NS later (their samples fail
 * until then).  1 (stop, r->fatal) if the program cannot take it. */
static int rearm(struct bpf_run *r)
{
	struct py_walker *w = r->w;
	r->runtime_addr = w->rt->runtime_addr;
	w->codes.on_evict = on_code_evicted;
	w->codes.evict_ctx = &r->cc;
	struct strobe_bpf_config bc;
	int rc = sampler_bpf_config(w, &bc);
	if (rc) {
		errmsg_set(&r->fatal_e, "the new program's thread state has no frame pointer strobe knows");
	} else {
		/* what the run added to it (wall mode) is the same */
		bc.want |= r->bc.want & STROBE_BPF_WANT_CPU_TIME;
		bc.ns_tgid = r->bc.ns_tgid;
		bc.ns_dev = r->bc.ns_dev;
		bc.ns_ino = r->bc.ns_ino;
		rc = bpf_engine_reconfigure(r->be, &bc, &r->fatal_e);
	}
	if (rc) {
		r->fatal = rc;
		return 1;
	}
	r->bc = bc;
	sampler_bpf_copies_forgotten(&r->cc);
	struct errmsg ignored = { "" };
	(void)refresh_threads(r, &ignored); /* failed: the next look */
	return 0;
}

static int record_failed(struct bpf_run *r, uint64_t tid, enum py_fail why, int rc)
{
	py_walker_fail(r->w, why, rc);
	py_walker_count_failure(r->w, rc);
	count_tick(r, tid, (int)py_walker_last_fail(r->w));
	if (r->cfg->failed && r->cfg->failed(r->cfg->failed_ctx)) {
		r->res->target_gone = true;
		return 1;
	}
	/* rebuilt (py_walker_init drops the eviction hook set here), even
	 * where the new image's runtime sits where the old one did (no ASLR,
	 * a non-PIE interpreter re-exec'ing itself) */
	if (r->w->codes.on_evict != on_code_evicted || r->w->rt->runtime_addr != r->runtime_addr)
		return rearm(r);
	return 0;
}

/* One record (or several, of a deep stack): one sample of one thread, or
 * a failed sample. */
static int decode_sample(void *ctx, const struct bpf_engine_sample *rec)
{
	struct bpf_run *r = ctx;
	struct py_walker *w = r->w;
	bool leaving = rec->flags & STROBE_BPF_SWITCH;
	/* the thread's status as the record says; on CPU unless it is
	 * leaving it: a cpu-clock event fires only while its thread runs */
	uint32_t status = sampler_bpf_status(rec->status) | (leaving ? 0 : STATUS_ON_CPU);
	w->fail = PY_FAIL_NONE;
	struct off_cpu *o = r->wall && rec->tid <= INT32_MAX ? off_of(r, (pid_t)rec->tid) : NULL;
	if (o && o->off && rec->time_ns < o->t_off) {
		/* made before the user-space read that seeded it (between its
		 * perf event's start and that read): that read is newer */
		if (leaving)
			return 0;
	} else if (o) {
		/* what it had off CPU ends before this record (its own
		 * records come in the order it made them) */
		if (off_cpu_settle(r, o, rec->time_ns, rec->cpu_ns))
			return 1;
	} else if (leaving) {
		return 0; /* a thread no longer followed */
	}
	/* a thread state that could not be read: its status is not known
	 * either (the program leaves it 0), so no mode's filter applies - a
	 * failed sample (and after an exec, what makes strobe follow it) */
	if (!leaving && (rec->flags & STROBE_BPF_TS_FAILED)) {
		w->stats.samples++;
		return record_failed(r, rec->tid, PY_FAIL_TSTATE, ERR_FAULT);
	}
	/* a sample of a thread the mode leaves out (its time off CPU is
	 * settled above, and a switch is kept: the filter applies to what
	 * is credited) */
	if (!leaving && !keeps(r, status)) {
		r->res->bpf.skipped++;
		count_tick(r, rec->tid, -1); /* a tick, with nothing kept */
		return 0;
	}
	/* a switch's stack that cannot be read leaves the time off CPU
	 * until the next record uncredited, and counts as one failed sample */
	w->stats.samples++;
	const uint64_t *at = u64map_get(&r->index, rec->tid);
	if (!at || *at == 0 || *at > r->nknown)
		return record_failed(r, rec->tid, PY_FAIL_TSTATE, ERR_CORRUPT); /* a thread since forgotten */
	const struct known_thread *k = &r->known[*at - 1];
	if (k->tstate != rec->tstate)
		return record_failed(r, rec->tid, PY_FAIL_TSTATE, ERR_CORRUPT);
	if (rec->flags & STROBE_BPF_READ_FAILED)
		return record_failed(r, rec->tid, rec->nframes ? PY_FAIL_FRAME_READ : PY_FAIL_TSTATE, ERR_FAULT);
	if (rec->flags & STROBE_BPF_TRUNCATED)
		return record_failed(r, rec->tid, PY_FAIL_LIMIT, ERR_LIMIT);
	if (rec->flags & BPF_ENGINE_INCOMPLETE)
		return record_failed(r, rec->tid, PY_FAIL_OTHER, ERR_CORRUPT); /* a part was lost */
	if (rec->head_size != py_walker_frame_bytes(w))
		return record_failed(r, rec->tid, PY_FAIL_OTHER, ERR_CORRUPT);
	struct sample *s = &r->s;
	sample_clear(s);
	s->time_ns = rec->time_ns;
	struct thread_sample *t = sample_add_thread(s);
	t->tid = k->tid;
	t->interp_id = k->interp_id;
	t->status = status | (k->main ? STATUS_MAIN_THREAD : 0);
	/* <GC> where the reader puts it: on top of the GIL holder's stack
	 * before 3.15, before the frame the collection started in after */
	bool collecting = (rec->status & STROBE_BPF_ST_GC) != 0;
	raddr_t gc_frame = collecting && w->cfg.gc ? rec->gc_frame : 0;
	int rc = py_walker_gc_on_top(w, s, t, collecting);
	bool objects = w->rt->layout.frame_model == PY_FRAMES_OBJECTS;
	/* the code objects copied at sample time first, live memory else */
	bool copies = r->cc.n && sampler_bpf_copies_overlay(&r->cc, rec->tid);
	if (copies)
		mem_snapshot_overlay(w->mem, &r->cc.overlay);
	uint32_t done = 0; /* frames decoded */
	for (; rc == 0 && done < rec->nframes && done < PY_MAX_FRAMES; done++) {
		raddr_t addr = bpf_engine_frame_addr(rec, done);
		const unsigned char *head = bpf_engine_frame_head(rec, done);
		if (gc_frame && addr == gc_frame && (rc = py_walker_gc_frame(w, s, t)))
			break;
		rc = objects ? py_walker_object_frame(w, s, t, addr, head)
			     : py_walker_frame(w, s, t, addr, head);
		if (rc)
			break;
	}
	mem_snapshot_unoverlay(w->mem);
	/* those resolved are known from now on; a sample that brought no
	 * copy has nothing new to tell (the program copies what it does not
	 * know, and one forgotten is copied by the next sample, which tells) */
	if (copies)
		sampler_bpf_copies_known(&r->cc, &w->codes.index, rec, done);
	/* the thread tearing its interpreter down: under <shutdown> */
	if (rc == 0 && (rec->status & STROBE_BPF_ST_FINALIZING))
		rc = py_walker_shutdown_root(w, s, t);
	if (rc) {
		sample_clear(s);
		return record_failed(r, rec->tid, rc == ERR_CORRUPT ? PY_FAIL_FRAME_BAD : PY_FAIL_OTHER, rc);
	}
	if (leaving) {
		/* not a sample: the stack its time off CPU is credited to */
		w->stats.samples--;
		if (off_set_stack(o, s->frames + t->first, t->depth)) {
			r->res->sink_error = ERR_NOMEM;
			return 1;
		}
		o->off = true;
		o->seeded = true;
		o->status = status;
		o->t_off = rec->time_ns;
		/* never back: a drain that saw its CPU time stand still may
		 * have credited past this switch (it came back and left again
		 * within STILL_OFF_NS of running); that time is not counted
		 * twice, nor its samples put out of time order */
		if (o->credited < rec->time_ns)
			o->credited = rec->time_ns;
		o->c_off = rec->cpu_ns;
		return 0;
	}
	w->stats.frames += s->nframes;
	count_tick(r, rec->tid, -1);
	int src = r->sink->add(r->sink->ctx, s);
	if (src) {
		r->res->sink_error = src;
		return 1;
	}
	return 0;
}

/* Which status bits the program computes: the reader's (walk.c,
 * py_walker_init and shared_iovs), from the same layout: all of them in
 * gecko's all mode (want_gil, want_exc; the collector unless --no-gc). */
static void status_config(const struct py_walker *w, struct strobe_bpf_config *c)
{
	const struct py_layout *l = &w->rt->layout;
	raddr_t rt = w->rt->runtime_addr;
	c->gil_kind = STROBE_BPF_GIL_NONE;
	c->ts_interp = l->ts_interp;
	c->is_gil_ptr = c->gil_locked = c->gil_last_holder = STROBE_BPF_ABSENT;
	c->ts_holds_gil = c->ts_gil_requested = STROBE_BPF_ABSENT;
	c->ts_current_exception = c->ts_exc_info = STROBE_BPF_ABSENT;
	c->exc_test = c->exc_previous = STROBE_BPF_ABSENT;
	c->is_gc_collecting = STROBE_BPF_ABSENT;
	/* the GIL: what the mode or a format asks for; before 3.15 <GC> goes
	 * to its holder; 3.13+'s own bit comes with every thread state */
	bool gil_for_gc = w->cfg.gc && l->gc_frame == PY_ABSENT;
	if (w->want_gil || gil_for_gc || l->gil_model == PY_GIL_THREAD) {
		if (l->gil_model == PY_GIL_RUNTIME && l->rt_tstate_current != PY_ABSENT) {
			c->gil_kind = STROBE_BPF_GIL_HOLDER;
			c->gil_holder = rt + l->rt_tstate_current;
		} else if (l->gil_model == PY_GIL_INTERP && l->is_gil_ptr != PY_ABSENT) {
			c->gil_kind = STROBE_BPF_GIL_LOCK;
			c->is_gil_ptr = l->is_gil_ptr;
			c->gil_locked = l->gil_locked;
			c->gil_last_holder = l->gil_last_holder;
		} else if (l->gil_model == PY_GIL_THREAD && l->ts_holds_gil != PY_ABSENT) {
			c->gil_kind = STROBE_BPF_GIL_BIT;
			c->ts_holds_gil = l->ts_holds_gil;
			c->holds_gil_bit = l->ts_holds_gil_bit;
		}
		c->ts_gil_requested = l->ts_gil_requested;
		/* 3.13+'s bit comes with the thread state's copy; the others
		 * cost reads, made only while the collector runs if the GIL
		 * is wanted for <GC> alone */
		if (w->want_gil || l->gil_model == PY_GIL_THREAD)
			c->want |= STROBE_BPF_ST_GIL;
		else
			c->want |= STROBE_BPF_WANT_GIL_IF_GC;
	}
	uint32_t test = l->exc_type != PY_ABSENT ? l->exc_type : l->exc_value;
	if (w->want_exc) {
		c->want |= STROBE_BPF_ST_EXCEPTION;
		c->ts_current_exception = l->ts_current_exception;
		if (l->ts_exc_info != PY_ABSENT && test != PY_ABSENT) {
			c->ts_exc_info = l->ts_exc_info;
			c->exc_test = test;
			c->exc_previous = l->exc_previous;
			c->none_addr = w->rt->none_addr;
		}
	}
	/* who shuts down: the interpreter's own word (3.12+), else the
	 * runtime's (the reader's rule, walk.c shared_iovs) */
	c->is_finalizing = STROBE_BPF_ABSENT;
	if (l->is_finalizing != PY_ABSENT) {
		c->want |= STROBE_BPF_ST_FINALIZING;
		c->is_finalizing = l->is_finalizing;
	} else if (l->rt_finalizing != PY_ABSENT) {
		c->want |= STROBE_BPF_ST_FINALIZING;
		c->fin_addr = rt + l->rt_finalizing;
	}
	if (w->cfg.gc && l->gc_collecting != PY_ABSENT) {
		c->want |= STROBE_BPF_ST_GC;
		if (l->rt_gc != PY_ABSENT)
			c->gc_addr = rt + l->rt_gc + l->gc_collecting;
		else
			c->is_gc_collecting = l->is_gc + l->gc_collecting;
		c->gc_frame_follows = l->gc_frame == l->gc_collecting + 8;
	}
}

/* A sample, then its thread's copies go (they were written for it). */
static int on_sample(void *ctx, const struct bpf_engine_sample *rec)
{
	struct bpf_run *r = ctx;
	int rc = decode_sample(ctx, rec);
	sampler_bpf_copies_drop(&r->cc, rec->tid);
	return rc;
}

/* What the code cache reads of a code object (py/code.c's parse), as the
 * program's copies: the head (co_size or the signature's span), the file
 * name and name (PYSTR_FIRST_READ bytes at least: pystr_read_str's first
 * read, the whole string when it is longer and ASCII), the line table
 * (bytes object: header and data).  Left off (head 0) when a bound of the
 * program is too small.  (sampler.h) */
void sampler_bpf_code_config(const struct py_layout *l, uint32_t sig_span, uint32_t head_size,
			     struct strobe_bpf_code_config *cc)
{
	memset(cc, 0, sizeof(*cc));
	bool objects = l->frame_model == PY_FRAMES_OBJECTS;
	cc->frame_code = objects ? l->fo_code : l->if_executable;
	cc->frame_globals = objects ? l->fo_globals : l->if_globals;
	cc->code_mask = objects ? 0 : l->executable_tag_mask;
	/* 3.12+'s C entry frames: the walker passes them over, nothing is
	 * resolved of them (and their globals word is the C stack's) */
	cc->frame_owner = 0xffff;
	if (!objects && l->owner_cstack != PY_OWNER_NONE && l->if_owner < head_size) {
		cc->frame_owner = (uint16_t)l->if_owner;
		cc->owner_cstack = l->owner_cstack;
	}
	uint32_t head = l->co_size > sig_span ? l->co_size : sig_span;
	uint32_t name = l->co_qualname != PY_ABSENT ? l->co_qualname : l->co_name;
	uint32_t str_hdr = l->u_compact_data > l->u_ascii_data ? l->u_compact_data : l->u_ascii_data;
	struct strobe_bpf_blob_config blobs[STROBE_BPF_BLOBS] = {
		{ l->co_filename, l->u_length, str_hdr, PYSTR_FIRST_READ, 1024, 0 },
		{ name, l->u_length, str_hdr, PYSTR_FIRST_READ, 1024, 0 },
		{ l->co_linetable, l->ob_size, l->b_sval, l->b_sval, STROBE_BPF_BLOB_MAX, 0 },
	};
	if (head > STROBE_BPF_CODE_HEAD_MAX || cc->frame_code + 8 > head_size ||
	    cc->frame_globals + 8 > head_size)
		return;
	for (int i = 0; i < STROBE_BPF_BLOBS; i++)
		if (blobs[i].field == PY_ABSENT || blobs[i].field + 8 > head)
			return;
	memcpy(cc->blob, blobs, sizeof(blobs));
	cc->head = head;
}

int sampler_bpf_config(const struct py_walker *w, struct strobe_bpf_config *c)
{
	const struct py_layout *l = &w->rt->layout;
	memset(c, 0, sizeof(*c));
	c->frame_deref = STROBE_BPF_ABSENT;
	if (l->ts_current_frame != PY_ABSENT) {
		c->ts_frame = l->ts_current_frame;
	} else if (l->ts_cframe != PY_ABSENT && l->cframe_current_frame != PY_ABSENT) {
		c->ts_frame = l->ts_cframe;
		c->frame_deref = l->cframe_current_frame;
	} else if (l->ts_frame != PY_ABSENT) {
		c->ts_frame = l->ts_frame;
	} else {
		return ERR_INVAL;
	}
	c->back = l->frame_model == PY_FRAMES_INTERP ? l->if_previous : l->fo_back;
	c->head_size = py_walker_frame_bytes(w);
	/* the reader's bound (a deeper stack fails as it does) */
	c->max_frames = PY_MAX_FRAMES < STROBE_BPF_MAX_FRAMES * STROBE_BPF_MAX_PARTS ?
			PY_MAX_FRAMES : STROBE_BPF_MAX_FRAMES * STROBE_BPF_MAX_PARTS;
	status_config(w, c);
	sampler_bpf_code_config(l, w->codes.sig_span, c->head_size, &c->code);
	/* the thread state's bytes the reader reads (every field the
	 * program uses among them), in one copy; 3.11+: the current data
	 * stack chunk's frames by windows (sample.h, "Reads") */
	c->ts_len = w->ts_read;
	if (l->frame_model == PY_FRAMES_INTERP && l->ts_datastack_chunk != PY_ABSENT &&
	    l->ts_datastack_top != PY_ABSENT && l->chunk_data != PY_ABSENT &&
	    l->ts_datastack_chunk + 8 <= c->ts_len && l->ts_datastack_top + 8 <= c->ts_len) {
		c->window = STROBE_BPF_WINDOW_MAX;
		c->ts_chunk = l->ts_datastack_chunk;
		c->ts_top = l->ts_datastack_top;
		c->chunk_data = l->chunk_data;
	}
	return 0;
}

int sampler_run_bpf(struct py_walker *w, const struct sampler_sink *sink,
		    const struct sampler_config *cfg, struct sampler_result *res, struct errmsg *e)
{
	memset(res, 0, sizeof(*res));
	struct strobe_bpf_config bc;
	if (sampler_bpf_config(w, &bc)) {
		errmsg_set(e, "this Python's thread state has no frame pointer strobe knows");
		return ERR_INVAL;
	}
	struct bpf_run r = { .w = w, .sink = sink, .cfg = cfg, .res = res };
	r.wall = w->cfg.mode != PY_MODE_CPU;
	if (r.wall) {
		/* the sched_switch program knows the target's threads by their
		 * ids in its PID namespace */
		char path[64];
		struct stat st;
		snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)w->ns.pid);
		if (stat(path, &st)) {
			errmsg_set(e, "cannot read the PID namespace of process %d", (int)w->ns.pid);
			return ERR_NOPROC;
		}
		bc.ns_dev = (uint64_t)st.st_dev;
		bc.ns_ino = (uint64_t)st.st_ino;
		bc.want |= STROBE_BPF_WANT_CPU_TIME; /* off-CPU time is settled by it */
		bc.ns_tgid = (uint32_t)w->ns.ns_pid;
	}
	int rc = bpf_engine_open(&r.be, &bc, e);
	if (rc)
		return rc;
	r.bc = bc;
	r.runtime_addr = w->rt->runtime_addr;
	if (r.wall && (rc = bpf_engine_switches(r.be, e)) != 0) {
		bpf_engine_close(r.be);
		return rc;
	}
	sampler_bpf_copies_init(&r.cc, r.be, &w->rt->layout, &bc.code);
	bpf_engine_on_code(r.be, on_code, &r.cc);
	w->codes.on_evict = on_code_evicted;
	w->codes.evict_ctx = &r.cc;
	sample_init(&r.s);
	sample_init(&r.seed);
	u64map_init(&r.index);
	u64map_init(&r.per_thread);
	u64map_init(&r.off_index);
	r.refs = calloc(BPF_MAX_THREADS, sizeof(*r.refs));
	r.alive = calloc(BPF_MAX_THREADS, sizeof(*r.alive));
	r.fresh = calloc(BPF_MAX_THREADS, sizeof(*r.fresh));
	r.fresh_cpu = calloc(BPF_MAX_THREADS, sizeof(*r.fresh_cpu));
	if (!r.refs || !r.alive || !r.fresh || !r.fresh_cpu) {
		rc = ERR_NOMEM;
		goto out;
	}
	clock_tighten_slack();
	uint64_t start = clock_now_ns();
	/* a launched interpreter may not have its first thread yet */
	for (;;) {
		rc = refresh_threads(&r, e);
		if (rc == 0 && r.nknown)
			break;
		if (rc && rc != ERR_NOTREADY && rc != ERR_FAULT && rc != ERR_CORRUPT)
			goto out;
		if (!mem_alive(w->mem)) {
			rc = ERR_NOPROC;
			goto out;
		}
		if (sampler_stop || (cfg->target_exited && cfg->target_exited(cfg->arg))) {
			res->interrupted = sampler_stop != 0;
			rc = 0;
			goto out;
		}
		clock_sleep_until(clock_now_ns() + 1000000ULL);
	}
	rc = 0;
	start = clock_now_ns();
	uint64_t next_threads = start + THREADS_NS, next_alive = start + ALIVE_CHECK_NS;
	uint64_t drain_ns = cfg->interval_ns * DRAIN_SAMPLES;
	if (cfg->interval_ns > DRAIN_MAX_NS / DRAIN_SAMPLES)
		drain_ns = DRAIN_MAX_NS;
	/* the sched_switch program writes a record at each switch of a
	 * thread whatever the rate: wall modes drain at the shortest period
	 * (the ring buffer holds ~3k records of 30 frames) */
	if (drain_ns < DRAIN_MIN_NS || r.wall)
		drain_ns = DRAIN_MIN_NS;
	uint64_t next_drain = start + drain_ns, next_credit = start;
	/* --realtime-stats: a line a second, the rate over each second */
	uint64_t next_print = start + 1000000000ULL, print_ticks = 0, print_at = start;
	double hz_min = 0, hz_max = 0;
	bool printed = false;
	for (;;) {
		uint64_t now = clock_now_ns();
		bool last = sampler_stop ||
			    (cfg->duration_ns >= 0 && now - start >= (uint64_t)cfg->duration_ns);
		if (now >= next_alive || last) {
			next_alive = now + ALIVE_CHECK_NS;
			if (!mem_alive(w->mem) || (cfg->target_exited && cfg->target_exited(cfg->arg))) {
				res->target_gone = true;
				last = true;
			}
		}
		if (now >= next_drain || last) {
			next_drain = now + drain_ns;
			sampler_bpf_copies_age(&r.cc);
			int drc = bpf_engine_drain(r.be, on_sample, &r, &r.bad);
			/* the sweep below stops trusting the code cache's entries
			 * unused for a period: the program copies them again from
			 * now on, so that a sample decoded after it brings what
			 * its revalidation reads.  The drain consumed what was
			 * written until it found the ring buffer empty: the
			 * samples taken before (the entry known, not copied) are
			 * decoded, the entry trusted.  (Before the drain, every
			 * entry that only its samples were about to use was
			 * forgotten, and when drains fell 20 ms apart, each one a
			 * sweep, all of them: every sample copied its whole stack,
			 * the ring buffer overflowed.) */
			uint64_t sweep_at = clock_now_ns();
			if (py_code_sweep_due(&w->codes, sweep_at)) {
				py_code_check_idle(&w->codes, code_known, &r.cc, CHECK_IDLE_MAX);
				py_code_each_idle(&w->codes, on_code_idle, &r.cc);
			}
			/* threads still off CPU: up to now (a target gone: up to
			 * where each thread came back for its end); two system
			 * calls a thread, so many threads are looked at less often */
			if (drc == 0 && r.wall && !res->target_gone && (last || now >= next_credit)) {
				next_credit = now + (r.noff > CREDIT_MANY ? THREADS_NS : 0);
				if (off_cpu_credit_all(&r))
					break;
			}
			/* the code cache checked against the target as it is now,
			 * after the samples taken before now are decoded: an entry
			 * found changed is evicted (and copied again by the program
			 * from then on), not in the middle of a batch whose samples
			 * saw it as it was, known and so not copied */
			py_code_sweep(&w->codes, sweep_at);
			if (cfg->realtime_stats && now >= next_print) {
				double hz = (double)(res->ticks - print_ticks) * 1e9 / (double)(now - print_at);
				hz_min = !printed || hz < hz_min ? hz : hz_min;
				hz_max = !printed || hz > hz_max ? hz : hz_max;
				scale_failures(&r);
				sampler_stats_line(cfg->stats_fp, hz, hz_min, hz_max, res->ticks, res);
				printed = true;
				print_ticks = res->ticks;
				print_at = now;
				next_print = now + 1000000000ULL;
			}
			if (drc == 1 || res->sink_error || res->target_gone)
				break;
			if (drc < 0) {
				rc = drc;
				errmsg_set(e, "reading the BPF ring buffer failed");
				break;
			}
		}
		if (last)
			break;
		if (now >= next_threads) {
			next_threads = now + THREADS_NS;
			/* a failed look (the target changing its thread list
			 * as it is read) waits for the next one */
			int trc = refresh_threads(&r, e);
			if (trc == ERR_PERM || trc == ERR_NOMEM) {
				rc = trc;
				break;
			}
		}
		uint64_t until = next_drain;
		if (cfg->duration_ns >= 0 && start + (uint64_t)cfg->duration_ns < until)
			until = start + (uint64_t)cfg->duration_ns;
		clock_sleep_until(until);
	}
	if (printed)
		fputc('\n', cfg->stats_fp);
	struct bpf_engine_stats st;
	bpf_engine_stats(r.be, &st);
	/* records the full ring buffer refused are samples lost */
	res->bpf.runs = st.runs;
	res->bpf.records = st.kept;
	res->bpf.lost = st.lost;
	res->bpf.unknown = st.unknown;
	res->bpf.events = st.events;
	res->bpf.switches = st.switches;
	res->bpf.bad = r.bad;
	res->bpf.code_copies = st.code_copies;
	res->bpf.code_lost = st.code_lost;
	res->bpf.windows = st.windows;
	/* records the ring buffer refused: failed samples, of no thread known */
	r.records += st.lost;
	r.failed_records += st.lost;
	r.failed_by[PY_FAIL_OTHER] += st.lost;
	if (r.records)
		res->failed = (r.failed_records * res->ticks + r.records / 2) / r.records;
	scale_failures(&r);
	res->duration_s = (double)(clock_now_ns() - start) / 1e9;
	res->interrupted = sampler_stop != 0;
out:
	if (r.fatal && rc == 0) {
		rc = r.fatal;
		*e = r.fatal_e;
	}
	w->codes.on_evict = NULL;
	w->codes.evict_ctx = NULL;
	sampler_bpf_copies_release(&r.cc);
	bpf_engine_close(r.be);
	free(r.refs);
	free(r.alive);
	free(r.known);
	u64map_release(&r.per_thread);
	u64map_release(&r.index);
	sample_release(&r.s);
	for (size_t i = 0; i < r.noff; i++) {
		free(r.off[i]->frames);
		free(r.off[i]);
	}
	free(r.off);
	free(r.fresh);
	free(r.fresh_cpu);
	u64map_release(&r.off_index);
	sample_release(&r.seed);
	return rc;
}
