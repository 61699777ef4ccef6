/* native.c - see native.h. */
#include "py/native.h"

#include "base/buf.h"
#include "base/error.h"
#include "base/intern.h"
#include "py/walk.h"
#include "process/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Addresses whose frames are cached at most; past it the cache starts again
 * (a program that keeps generating code). */
#define MAX_SYMS (1u << 20)


int py_native_init(struct py_native *n, struct py_walker *w, struct strtab *strings, pid_t pid,
		   const struct rootfs *root, bool plumbing)
{
	memset(n, 0, sizeof(*n));
	n->w = w;
	n->strings = strings;
	n->pid = pid;
	n->plumbing = plumbing;
	sample_init(&n->out);
	u64map_init(&n->cache);
	return unwind_init(&n->u, pid, root);
}

void py_native_release(struct py_native *n)
{
	for (size_t i = 0; i < n->caps_cap; i++)
		unwind_capture_release(&n->caps[i]);
	free(n->caps);
	free(n->syms);
	free(n->segs);
	u64map_release(&n->cache);
	sample_release(&n->out);
	unwind_release(&n->u);
	memset(n, 0, sizeof(*n));
}

int py_native_take(struct py_native *n, struct sample *s)
{
	int rc = py_walker_sample(n->w, s);
	if (rc)
		return rc;
	if (s->nthreads > n->caps_cap) {
		size_t old = n->caps_cap;
		VEC_RESERVE_ZERO(n->caps, n->caps_cap, s->nthreads);
		(void)old;
	}
	for (size_t i = 0; i < s->nthreads; i++) {
		/* the walker's ids are the target's (its PID namespace) */
		pid_t host = task_ns_host_tid(&n->w->ns, (pid_t)s->threads[i].tid);
		rc = host > 0 ? unwind_capture_take(n->pid, host, &n->caps[i]) : ERR_FAULT;
		if (rc == ERR_NOTREADY) /* not stopped within the pause's wait */
			return py_walker_fail(n->w, PY_FAIL_PAUSE, ERR_FAULT);
		if (rc)
			return py_walker_fail(n->w, PY_FAIL_NATIVE_READ, rc == ERR_NOPROC ? rc : ERR_FAULT);
		n->stats.captures++;
	}
	return 0;
}

/* The frame of code address pc (a return address already moved back into
 * its call), resolved once. */
/* The index in syms of code address pc's frame (a return address already
 * moved back into its call), resolved once. */
static size_t sym_of(struct py_native *n, uint64_t pc)
{
	const uint64_t *at = u64map_get(&n->cache, pc);
	if (at)
		return *at - 1;
	if (n->nsyms >= MAX_SYMS) {
		u64map_clear(&n->cache);
		n->nsyms = 0;
	}
	n->stats.symbols++;
	struct unwind_sym us;
	struct py_native_frame ps = { .kind = PY_NATIVE_PLAIN };
	char text[64];
	if (unwind_symbolize(&n->u, pc, &us) != 0) {
		/* no object covers it (generated code, a library gone) */
		snprintf(text, sizeof(text), "0x%llx", (unsigned long long)pc);
		ps.f.file = strtab_intern_cstr(n->strings, "[unknown]");
		ps.f.func = strtab_intern_cstr(n->strings, text);
	} else {
		const char *file = us.src ? us.src : us.module ? us.module : "[unknown]";
		ps.f.file = strtab_intern_cstr(n->strings, file);
		if (us.func) {
			ps.f.func = strtab_intern_cstr(n->strings, us.func);
		} else {
			snprintf(text, sizeof(text), "0x%llx", (unsigned long long)us.offset);
			ps.f.func = strtab_intern_cstr(n->strings, text);
		}
		bool interp = us.mapped && strcmp(us.mapped, n->w->rt->binary) == 0;
		/* _PyEval_EvalFrameDefault, and its parts GCC splits off
		 * (_PyEval_EvalFrameDefault.cold) */
		static const char eval[] = "_PyEval_EvalFrameDefault";
		if (interp && us.func && strncmp(us.func, eval, sizeof(eval) - 1) == 0 &&
		    (us.func[sizeof(eval) - 1] == '\0' || us.func[sizeof(eval) - 1] == '.'))
			ps.kind = PY_NATIVE_EVAL;
		else if (interp)
			ps.kind = PY_NATIVE_INTERP;
	}
	ps.f.line = us.line > 0 && us.src ? us.line : FRAME_NO_LINE;
	ps.f.end_line = -1;
	ps.f.col = -1;
	ps.f.end_col = -1;
	ps.f.opcode = FRAME_NO_OPCODE;
	VEC_RESERVE(n->syms, n->syms_cap, n->nsyms + 1);
	n->syms[n->nsyms++] = ps;
	u64map_put(&n->cache, pc, n->nsyms);
	return n->nsyms - 1;
}

static bool is_marker(const struct py_merge_rules *r, const struct frame *f)
{
	return f->file == r->synthetic_file && f->func == r->native_func;
}

static void emit(struct sample *out, struct thread_sample *t, const struct frame *f)
{
	struct frame *d = sample_reserve_frames(out, 1);
	*d = *f;
	out->nframes++;
	t->depth++;
}

/* Emit Python frames pf[from, to), the <native> marks left out. */
static void emit_python(const struct py_merge_rules *r, const struct frame *pf, uint32_t from,
			uint32_t to, struct sample *out, struct thread_sample *t)
{
	for (uint32_t k = from; k < to; k++)
		if (!is_marker(r, &pf[k]))
			emit(out, t, &pf[k]);
}

/* The Python chain pf[0..depth) cut into one segment per evaluation call:
 * segment k is pf[segs[k], segs[k + 1]).  Returns their number. */
static size_t cut_segments(const struct py_merge_rules *r, const struct frame *pf, uint32_t depth,
			   uint32_t *segs)
{
	size_t nseg = 0;
	if (r->per_frame) {
		/* 3.8-3.10: one call per Python frame; a synthetic frame
		 * (<GC>) rides with the Python frame below it */
		uint32_t start = 0;
		for (uint32_t i = 0; i < depth; i++) {
			if (pf[i].file == r->synthetic_file)
				continue;
			segs[nseg++] = start;
			start = i + 1;
		}
		if (!nseg && depth)
			segs[nseg++] = 0;
	} else {
		/* 3.11+: a segment ends at each entry frame (<native> mark) */
		bool starts = true;
		for (uint32_t i = 0; i < depth; i++) {
			if (is_marker(r, &pf[i])) {
				starts = true;
				continue;
			}
			if (starts)
				segs[nseg++] = i;
			starts = false;
		}
	}
	segs[nseg] = depth;
	return nseg;
}

/* A <shutdown> root, which stays the root. */
static bool has_root(const struct py_merge_rules *r, const struct frame *pf, uint32_t depth)
{
	return depth && pf[depth - 1].file == r->synthetic_file &&
	       pf[depth - 1].func == r->shutdown_func;
}

/* By name (3.8-3.11, or no entry addresses): the n-th evaluation frame of
 * the native stack ran the n-th segment.  call[i]: the segment native
 * frame i ran, -1 none. */
static int calls_by_name(const struct py_native_frame *nf, size_t nnf, bool complete,
			 size_t nseg, int32_t *call)
{
	size_t evals = 0;
	for (size_t i = 0; i < nnf; i++)
		evals += nf[i].kind == PY_NATIVE_EVAL;
	/* An evaluation call that has not pushed its first frame yet, or has
	 * popped its last one already, runs no Python frame: only the
	 * innermost can be caught so (it calls nothing then). */
	bool idle = evals == nseg + 1;
	if (evals > nseg + 1 || (complete && evals < nseg))
		return ERR_CORRUPT;
	int32_t seg = 0;
	for (size_t i = 0; i < nnf; i++) {
		call[i] = -1;
		if (nf[i].kind != PY_NATIVE_EVAL)
			continue;
		if (idle)
			idle = false;
		else
			call[i] = seg++;
	}
	return 0;
}

/* By address (3.12+): every evaluation call keeps its entry frame in its
 * own native stack frame, so the native frame whose stack holds the k-th
 * entry frame's address ran segment k (the Python frames just inside that
 * entry frame), whatever its name: stripped interpreters (Debian's) name
 * only the entry of the evaluation loop, not the parts GCC moved apart.
 * segs holds the segments cut at the marks (segment k ends with mark k). */
static int calls_by_address(const struct py_merge_rules *r, const struct frame *pf,
			    const uint32_t *segs, size_t nmarks, const uint64_t *sps, size_t nnf,
			    bool complete, int32_t *call)
{
	(void)r;
	size_t k = 0;
	for (size_t i = 0; i < nnf; i++) {
		call[i] = -1;
		if (k >= nmarks || !sps[i])
			continue;
		uint64_t lo = sps[i], hi = i + 1 < nnf && sps[i + 1] ? sps[i + 1] : UINT64_MAX;
		uint64_t a = py_mark_addr(&pf[segs[k + 1] - 1]);
		if (a < lo)
			return ERR_CORRUPT; /* inside no frame's stack */
		if (a >= hi)
			continue;
		call[i] = (int32_t)k++;
		/* one entry frame per evaluation call */
		if (k < nmarks && py_mark_addr(&pf[segs[k + 1] - 1]) < hi)
			return ERR_CORRUPT;
	}
	if (k < nmarks && complete)
		return ERR_CORRUPT;
	return 0;
}

/* segs for calls_by_address: segment k = pf[segs[k], segs[k + 1]) ends
 * with the k-th mark; frames after the last mark (none in a whole chain)
 * are one more segment.  *nmarks gets the marks. */
static size_t cut_at_marks(const struct py_merge_rules *r, const struct frame *pf, uint32_t depth,
			   uint32_t *segs, size_t *nmarks)
{
	size_t n = 0;
	segs[0] = 0;
	for (uint32_t i = 0; i < depth; i++)
		if (is_marker(r, &pf[i]))
			segs[++n] = i + 1;
	*nmarks = n;
	if (segs[n] < depth)
		segs[++n] = depth;
	return n;
}

int py_native_merge(const struct py_merge_rules *r, const struct frame *pf, uint32_t depth,
		    const struct py_native_frame *nf, const uint64_t *sps, size_t nnf,
		    bool complete, uint32_t *segs, struct sample *out, struct thread_sample *t)
{
	if (nnf > UNWIND_MAX_FRAMES)
		return ERR_LIMIT;
	int32_t call[UNWIND_MAX_FRAMES];
	bool root = has_root(r, pf, depth);
	if (root)
		depth--;
	size_t nseg, nmarks = 0;
	int rc;
	if (r->by_address && sps) {
		nseg = cut_at_marks(r, pf, depth, segs, &nmarks);
		rc = calls_by_address(r, pf, segs, nmarks, sps, nnf, complete, call);
	} else {
		nseg = cut_segments(r, pf, depth, segs);
		rc = calls_by_name(nf, nnf, complete, nseg, call);
	}
	if (rc)
		return rc;
	size_t seg = 0; /* segments emitted: they come in order */
	for (size_t i = 0; i < nnf; i++) {
		if (call[i] >= 0) {
			emit_python(r, pf, segs[call[i]], segs[call[i] + 1], out, t);
			seg = (size_t)call[i] + 1;
			continue;
		}
		/* the evaluation loop running no Python frame: never shown,
		 * being what Python frames stand for */
		if (nf[i].kind == PY_NATIVE_EVAL)
			continue;
		/* the interpreter's own frames, and those below the
		 * outermost Python frame */
		if (!r->plumbing && (nf[i].kind == PY_NATIVE_INTERP || (nseg && seg == nseg)))
			continue;
		emit(out, t, &nf[i].f);
	}
	/* the native stack ended early: the outer Python frames below */
	if (seg < nseg)
		emit_python(r, pf, segs[seg], depth, out, t);
	if (root)
		emit(out, t, &pf[depth]);
	return 0;
}

/* Merge thread t of s (its Python frames) with its capture c into out. */
static int merge_thread(struct py_native *n, const struct sample *s, const struct thread_sample *t,
			const struct unwind_capture *c, struct sample *out)
{
	struct py_walker *w = n->w;
	size_t npcs = 0;
	bool complete = unwind_stack(&n->u, c, n->pcs, n->sps, UNWIND_MAX_FRAMES, &npcs) == 0;
	if (!complete)
		n->stats.truncated++;
	/* the frames copied out: resolving one may move the cache */
	for (size_t i = 0; i < npcs; i++) {
		size_t k = sym_of(n, i ? n->pcs[i] - 1 : n->pcs[i]);
		n->frames[i] = n->syms[k];
	}
	VEC_RESERVE(n->segs, n->segs_cap, (size_t)t->depth + 2);
	const struct py_merge_rules rules = {
		.synthetic_file = w->synthetic_file,
		.native_func = w->native_func,
		.shutdown_func = w->shutdown_func,
		.per_frame = w->rt->layout.frame_model == PY_FRAMES_OBJECTS,
		.by_address = w->cfg.entry_marks && w->rt->layout.owner_cstack != PY_OWNER_NONE,
		.plumbing = n->plumbing,
	};
	struct thread_sample *o = sample_add_thread(out);
	o->tid = t->tid;
	o->interp_id = t->interp_id;
	o->status = t->status;
	o->same_stack = false;
	const struct frame *pf = &s->frames[t->first];
	int rc = py_native_merge(&rules, pf, t->depth, n->frames, n->sps, npcs, complete, n->segs,
				 out, o);
	if (rc) {
		n->stats.mismatched++;
		return py_walker_fail(w, PY_FAIL_NATIVE, ERR_CORRUPT);
	}
	return 0;
}

int py_native_finish(struct py_native *n, struct sample *s)
{
	sample_clear(&n->out);
	n->out.time_ns = s->time_ns;
	for (size_t i = 0; i < s->nthreads; i++) {
		int rc = merge_thread(n, s, &s->threads[i], &n->caps[i], &n->out);
		if (rc)
			return rc;
	}
	struct sample tmp = *s;
	*s = n->out;
	n->out = tmp;
	return 0;
}
