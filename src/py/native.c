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

int py_native_merge(const struct py_merge_rules *r, const struct frame *pf, uint32_t depth,
		    const struct py_native_frame *nf, size_t nnf, bool complete, uint32_t *segs,
		    struct sample *out, struct thread_sample *t)
{
	bool root = has_root(r, pf, depth);
	if (root)
		depth--;
	size_t nseg = cut_segments(r, pf, depth, segs);

	size_t evals = 0;
	for (size_t i = 0; i < nnf; i++)
		evals += nf[i].kind == PY_NATIVE_EVAL;
	/* An evaluation call that has not pushed its first frame yet, or has
	 * popped its last one already, runs no Python frame: only the
	 * innermost can be caught so (it calls nothing then). */
	bool idle_eval = evals == nseg + 1;
	if (evals > nseg + 1 || (complete && evals < nseg))
		return ERR_CORRUPT;

	size_t seg = 0;
	for (size_t i = 0; i < nnf; i++) {
		if (nf[i].kind == PY_NATIVE_EVAL && idle_eval) {
			/* never shown: the evaluation loop is what Python
			 * frames stand for, and it runs none */
			idle_eval = false;
			continue;
		}
		if (nf[i].kind == PY_NATIVE_EVAL) {
			emit_python(r, pf, segs[seg], segs[seg + 1], out, t);
			seg++;
			continue;
		}
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
	bool complete = unwind_stack(&n->u, c, n->pcs, UNWIND_MAX_FRAMES, &npcs) == 0;
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
		.plumbing = n->plumbing,
	};
	struct thread_sample *o = sample_add_thread(out);
	o->tid = t->tid;
	o->interp_id = t->interp_id;
	o->status = t->status;
	o->same_stack = false;
	const struct frame *pf = &s->frames[t->first];
	int rc = py_native_merge(&rules, pf, t->depth, n->frames, npcs, complete, n->segs, out, o);
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
