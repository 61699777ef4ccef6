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
#include "py/pystr.h"
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

/* ---- code object copies (docs/bpf-engine.md) -----------------------------
 * The program copies the code objects user space does not know yet (and
 * what their resolution reads of their names and line table) at sample
 * time, in code records written before the samples that need them.  Their
 * ranges become an overlay on the target's memory while a sample is
 * decoded, so the code cache resolves a code object freed since the
 * sample from its copy, as it would from live memory. */

/* A thread's copies wait for its sample (written after them), are the
 * overlay while it is decoded, and go with it; those of a sample that never
 * comes (a part of it lost) go two drains later. */
struct code_copy {
	uint64_t seq, gen;
	uint32_t tid;
	raddr_t addr;
	size_t len;
	unsigned char *bytes;
};

struct code_copies {
	struct code_copy *v;       /* in arrival order */
	size_t n, cap;
	uint64_t seq, gen;
	struct mem_snapshot overlay;
	const struct code_copy **pick; /* scratch: one thread's copies */
	size_t pick_cap;
	struct u64map copied;      /* code address -> globals, copied and not yet known */
	uint32_t frame_code, frame_globals; /* in a frame's head (the program's configuration) */
	uint64_t code_mask;
};

static void copies_add(struct code_copies *cc, uint32_t tid, raddr_t addr,
		       const unsigned char *bytes, size_t len)
{
	if (!len || addr + len < addr)
		return;
	VEC_RESERVE(cc->v, cc->cap, cc->n + 1);
	unsigned char *b = xmalloc(len);
	memcpy(b, bytes, len);
	cc->v[cc->n++] = (struct code_copy){ ++cc->seq, cc->gen, tid, addr, len, b };
}

/* bpf_engine's code record callback (the record is checked there). */
static void on_code(void *ctx, const struct bpf_engine_code *c)
{
	struct code_copies *cc = ctx;
	copies_add(cc, c->tid, c->code, c->head, c->head_len);
	for (int i = 0; i < STROBE_BPF_BLOBS; i++)
		copies_add(cc, c->tid, c->blob[i].addr, c->blob[i].bytes, c->blob[i].len);
	u64map_put(&cc->copied, c->code, c->globals);
}

/* Drop the copies of thread tid (all threads': 0) or, with gen, those
 * older than the last drain. */
static void copies_drop(struct code_copies *cc, uint32_t tid, bool by_age)
{
	size_t k = 0;
	for (size_t i = 0; i < cc->n; i++) {
		bool old = by_age ? cc->v[i].gen + 1 < cc->gen : cc->v[i].tid == tid;
		if (!old) {
			cc->v[k++] = cc->v[i];
			continue;
		}
		free(cc->v[i].bytes);
	}
	cc->n = k;
}

/* A drain starts. */
static void copies_age(struct code_copies *cc)
{
	cc->gen++;
	copies_drop(cc, 0, true);
	if (!cc->n && cc->copied.len > 4096)
		u64map_clear(&cc->copied);
}

static int copy_cmp(const void *a, const void *b)
{
	const struct code_copy *x = *(const struct code_copy *const *)a;
	const struct code_copy *y = *(const struct code_copy *const *)b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->seq > y->seq ? -1 : x->seq < y->seq; /* the newest first */
}

/* The overlay of thread tid's copies: sorted, the newest of those
 * starting at one address kept, and a copy overlapping the one before it
 * left out (its reads go to live memory).  Whether there is one. */
static bool copies_overlay(struct code_copies *cc, uint32_t tid)
{
	mem_snapshot_release(&cc->overlay);
	mem_snapshot_init(&cc->overlay);
	size_t n = 0;
	for (size_t i = 0; i < cc->n; i++) {
		if (cc->v[i].tid != tid)
			continue;
		VEC_RESERVE(cc->pick, cc->pick_cap, n + 1);
		cc->pick[n++] = &cc->v[i];
	}
	if (!n)
		return false;
	qsort(cc->pick, n, sizeof(*cc->pick), copy_cmp);
	raddr_t end = 0;
	for (size_t i = 0; i < n; i++) {
		const struct code_copy *c = cc->pick[i];
		if (c->addr < end)
			continue;
		if (mem_snapshot_add(&cc->overlay, c->addr, c->bytes, c->len) == 0)
			end = c->addr + c->len;
	}
	return true;
}

static void copies_release(struct code_copies *cc)
{
	for (size_t i = 0; i < cc->n; i++)
		free(cc->v[i].bytes);
	free(cc->v);
	free(cc->pick);
	mem_snapshot_release(&cc->overlay);
	u64map_release(&cc->copied);
	memset(cc, 0, sizeof(*cc));
}

/* A sample decoded: the code objects of its frames that came with copies
 * are in the code cache now; the program stops copying them. */
static void copies_known(struct code_copies *cc, struct bpf_engine *be,
			 const struct bpf_engine_sample *rec)
{
	if (!cc->copied.len)
		return;
	for (uint32_t i = 0; i < rec->nframes; i++) {
		const unsigned char *head = bpf_engine_frame_head(rec, i);
		raddr_t code = rd_u64(head, cc->frame_code) & ~cc->code_mask;
		if (!u64map_get(&cc->copied, code))
			continue;
		(void)bpf_engine_know_code(be, code, rd_u64(head, cc->frame_globals));
		u64map_del(&cc->copied, code);
	}
}

/* The code cache dropped an entry (its address reused, or the object
 * changed): the program copies it again when it meets it. */
static void on_code_evicted(void *ctx, const struct py_code *e)
{
	bpf_engine_forget_code(ctx, e->addr);
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
	struct code_copies cc;
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
static int decode_sample(void *ctx, const struct bpf_engine_sample *rec)
{
	struct bpf_run *r = ctx;
	struct py_walker *w = r->w;
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
	struct thread_sample *t = sample_add_thread(s);
	t->tid = k->tid;
	t->interp_id = k->interp_id;
	t->status = STATUS_ON_CPU | (k->main ? STATUS_MAIN_THREAD : 0);
	bool objects = w->rt->layout.frame_model == PY_FRAMES_OBJECTS;
	/* the code objects copied at sample time first, live memory else */
	bool copies = r->cc.n && copies_overlay(&r->cc, rec->tid);
	if (copies)
		mem_snapshot_overlay(w->mem, &r->cc.overlay);
	for (uint32_t i = 0; i < rec->nframes && i < PY_MAX_FRAMES; i++) {
		raddr_t addr = bpf_engine_frame_addr(rec, i);
		const unsigned char *head = bpf_engine_frame_head(rec, i);
		int rc = objects ? py_walker_object_frame(w, s, t, addr, head)
				 : py_walker_frame(w, s, t, addr, head);
		if (rc) {
			mem_snapshot_unoverlay(w->mem);
			sample_clear(s);
			return record_failed(r, rc == ERR_CORRUPT ? PY_FAIL_FRAME_BAD : PY_FAIL_OTHER, rc);
		}
	}
	mem_snapshot_unoverlay(w->mem);
	copies_known(&r->cc, r->be, rec);
	w->stats.frames += s->nframes;
	r->res->ticks++;
	int src = r->sink->add(r->sink->ctx, s);
	if (src) {
		r->res->sink_error = src;
		return 1;
	}
	return 0;
}

/* A sample, then its thread's copies go (they were written for it). */
static int on_sample(void *ctx, const struct bpf_engine_sample *rec)
{
	struct bpf_run *r = ctx;
	int rc = decode_sample(ctx, rec);
	if (r->cc.n)
		copies_drop(&r->cc, rec->tid, false);
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

static int fill_config(const struct py_walker *w, struct strobe_bpf_config *c)
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
	sampler_bpf_code_config(l, w->codes.sig_span, c->head_size, &c->code);
	return 0;
}

int sampler_run_bpf(struct py_walker *w, const struct sampler_sink *sink,
		    const struct sampler_config *cfg, struct sampler_result *res, struct errmsg *e)
{
	memset(res, 0, sizeof(*res));
	struct strobe_bpf_config bc;
	if (fill_config(w, &bc)) {
		errmsg_set(e, "this Python's thread state has no frame pointer strobe knows");
		return ERR_INVAL;
	}
	struct bpf_run r = { .w = w, .sink = sink, .cfg = cfg, .res = res };
	int rc = bpf_engine_open(&r.be, &bc, e);
	if (rc)
		return rc;
	u64map_init(&r.cc.copied);
	mem_snapshot_init(&r.cc.overlay);
	r.cc.frame_code = bc.code.frame_code;
	r.cc.frame_globals = bc.code.frame_globals;
	r.cc.code_mask = bc.code.code_mask;
	bpf_engine_on_code(r.be, on_code, &r.cc);
	w->codes.on_evict = on_code_evicted;
	w->codes.evict_ctx = r.be;
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
			copies_age(&r.cc);
			int drc = bpf_engine_drain(r.be, on_sample, &r, &r.bad);
			/* the code cache checked against the target as it is now,
			 * after the samples taken before now are decoded: an entry
			 * found changed is evicted (and copied again by the program
			 * from then on), not in the middle of a batch whose samples
			 * saw it as it was, known and so not copied */
			py_code_sweep(&w->codes, clock_now_ns());
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
	res->bpf.code_copies = st.code_copies;
	res->bpf.code_lost = st.code_lost;
	res->ticks += st.lost;
	res->failed += st.lost;
	res->failed_by[PY_FAIL_OTHER] += st.lost;
	res->duration_s = (double)(clock_now_ns() - start) / 1e9;
	res->interrupted = sampler_stop != 0;
out:
	w->codes.on_evict = NULL;
	w->codes.evict_ctx = NULL;
	copies_release(&r.cc);
	bpf_engine_close(r.be);
	free(r.refs);
	free(r.alive);
	free(r.known);
	u64map_release(&r.index);
	sample_release(&r.s);
	return rc;
}
