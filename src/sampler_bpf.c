/* sampler_bpf.c - the sampling loop of the in-kernel engine (--engine bpf,
 * docs/bpf-engine.md): the BPF program (src/bpf/) takes the samples in the
 * target's threads; this loop keeps its thread map and perf events up to
 * date, drains its records in batches and turns each into the struct
 * sample the reader makes, through the walker's own frame decoding. */
#include "sampler.h"

#include "base/clock.h"
#include "base/error.h"
#include "base/hash.h"
#include "bpf/engine.h"
#include "model/sample.h"
#include "process/mem.h"
#include "process/task.h"
#include "py/walk.h"

#include <stdlib.h>
#include <string.h>

/* How often records are drained and threads looked for (docs/bpf-engine.md:
 * a wake-up per record costs 9-24% of a core, a 10 ms drain under 0.5%). */
#define DRAIN_NS 10000000ULL
#define THREADS_NS 100000000ULL
/* How often the target is checked for having exited. */
#define ALIVE_CHECK_NS 20000000ULL
/* Thread states listed per look (beyond: the look fails, sampling goes on
 * with the threads known). */
#define BPF_MAX_THREADS 4096

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
};

/* Look for the target's threads: every thread state to sample gets its
 * kernel thread id into the program's map and a perf event.  0, or the
 * first perf event's error (e set), ERR_NOTREADY before the interpreter
 * has a thread, a walker failure. */
static int refresh_threads(struct bpf_run *r, struct errmsg *e)
{
	struct py_walker *w = r->w;
	size_t n = 0;
	int rc = py_walker_threads(w, r->refs, BPF_MAX_THREADS, &n);
	if (rc)
		return rc;
	size_t nalive = 0;
	r->nknown = 0;
	u64map_clear(&r->index);
	for (size_t i = 0; i < n; i++) {
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
	}
	bpf_engine_prune(r->be, r->alive, nalive);
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

static int record_failed(struct bpf_run *r, enum py_fail why, int rc)
{
	py_walker_fail(r->w, why, rc);
	py_walker_count_failure(r->w, rc);
	r->res->failed++;
	r->res->failed_by[py_walker_last_fail(r->w)]++;
	r->res->ticks++;
	if (r->cfg->failed && r->cfg->failed(r->cfg->failed_ctx)) {
		r->res->target_gone = true;
		return 1;
	}
	return 0;
}

/* One record (or several, of a deep stack): one sample of one thread, or
 * a failed sample. */
static int on_sample(void *ctx, const struct bpf_engine_sample *rec)
{
	struct bpf_run *r = ctx;
	struct py_walker *w = r->w;
	/* the thread's status as the record says; on CPU: a cpu-clock
	 * event fires only while its thread runs */
	uint32_t status = sampler_bpf_status(rec->status) | STATUS_ON_CPU;
	if (!keeps(r, status)) {
		r->res->bpf.skipped++;
		return 0;
	}
	w->fail = PY_FAIL_NONE;
	w->stats.samples++;
	const uint64_t *at = u64map_get(&r->index, rec->tid);
	if (!at || *at == 0 || *at > r->nknown)
		return record_failed(r, PY_FAIL_TSTATE, ERR_CORRUPT); /* a thread since forgotten */
	const struct known_thread *k = &r->known[*at - 1];
	if (k->tstate != rec->tstate)
		return record_failed(r, PY_FAIL_TSTATE, ERR_CORRUPT);
	if (rec->flags & STROBE_BPF_READ_FAILED)
		return record_failed(r, rec->nframes ? PY_FAIL_FRAME_READ : PY_FAIL_TSTATE, ERR_FAULT);
	if (rec->flags & STROBE_BPF_TRUNCATED)
		return record_failed(r, PY_FAIL_LIMIT, ERR_LIMIT);
	if (rec->flags & BPF_ENGINE_INCOMPLETE)
		return record_failed(r, PY_FAIL_OTHER, ERR_CORRUPT); /* a part was lost */
	if (rec->head_size != py_walker_frame_bytes(w))
		return record_failed(r, PY_FAIL_OTHER, ERR_CORRUPT);
	struct sample *s = &r->s;
	sample_clear(s);
	s->time_ns = rec->time_ns;
	py_code_sweep(&w->codes, clock_now_ns());
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
	for (uint32_t i = 0; rc == 0 && i < rec->nframes && i < PY_MAX_FRAMES; i++) {
		raddr_t addr = bpf_engine_frame_addr(rec, i);
		const unsigned char *head = bpf_engine_frame_head(rec, i);
		if (gc_frame && addr == gc_frame && (rc = py_walker_gc_frame(w, s, t)))
			break;
		rc = objects ? py_walker_object_frame(w, s, t, addr, head)
			     : py_walker_frame(w, s, t, addr, head);
	}
	if (rc) {
		sample_clear(s);
		return record_failed(r, rc == ERR_CORRUPT ? PY_FAIL_FRAME_BAD : PY_FAIL_OTHER, rc);
	}
	w->stats.frames += s->nframes;
	r->res->ticks++;
	int src = r->sink->add(r->sink->ctx, s);
	if (src) {
		r->res->sink_error = src;
		return 1;
	}
	return 0;
}

/* Which status bits the program computes: the reader's (walk.c,
 * py_walker_init and shared_iovs), from the same layout. */
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
	if (w->want_gil || (w->cfg.gc && l->gc_frame == PY_ABSENT) || l->gil_model == PY_GIL_THREAD) {
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
		c->want |= STROBE_BPF_ST_GIL;
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
	if (w->cfg.gc && l->gc_collecting != PY_ABSENT) {
		c->want |= STROBE_BPF_ST_GC;
		if (l->rt_gc != PY_ABSENT)
			c->gc_addr = rt + l->rt_gc + l->gc_collecting;
		else
			c->is_gc_collecting = l->is_gc + l->gc_collecting;
		c->gc_frame_follows = l->gc_frame == l->gc_collecting + 8;
	}
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
	int rc = bpf_engine_open(&r.be, &bc, e);
	if (rc)
		return rc;
	sample_init(&r.s);
	u64map_init(&r.index);
	r.refs = calloc(BPF_MAX_THREADS, sizeof(*r.refs));
	r.alive = calloc(BPF_MAX_THREADS, sizeof(*r.alive));
	if (!r.refs || !r.alive) {
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
	uint64_t next_drain = start + DRAIN_NS;
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
			next_drain = now + DRAIN_NS;
			int drc = bpf_engine_drain(r.be, on_sample, &r, &r.bad);
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
	struct bpf_engine_stats st;
	bpf_engine_stats(r.be, &st);
	/* records the full ring buffer refused are samples lost */
	res->bpf.runs = st.runs;
	res->bpf.records = st.kept;
	res->bpf.lost = st.lost;
	res->bpf.unknown = st.unknown;
	res->bpf.events = st.events;
	res->bpf.bad = r.bad;
	res->ticks += st.lost;
	res->failed += st.lost;
	res->failed_by[PY_FAIL_OTHER] += st.lost;
	res->duration_s = (double)(clock_now_ns() - start) / 1e9;
	res->interrupted = sampler_stop != 0;
out:
	bpf_engine_close(r.be);
	free(r.refs);
	free(r.alive);
	free(r.known);
	u64map_release(&r.index);
	sample_release(&r.s);
	return rc;
}
