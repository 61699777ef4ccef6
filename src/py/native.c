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

enum sym_kind {
	SYM_PLAIN,        /* a native frame shown */
	SYM_INTERP,       /* the interpreter's own: hidden unless plumbing */
	SYM_EVAL,         /* the evaluation loop: replaced by Python frames */
};

struct py_native_sym {
	struct frame f;
	uint8_t kind;
};

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
static const struct py_native_sym *sym_of(struct py_native *n, uint64_t pc)
{
	const uint64_t *at = u64map_get(&n->cache, pc);
	if (at)
		return &n->syms[*at - 1];
	if (n->nsyms >= MAX_SYMS) {
		u64map_clear(&n->cache);
		n->nsyms = 0;
	}
	n->stats.symbols++;
	struct unwind_sym us;
	struct py_native_sym ps = { .kind = SYM_PLAIN };
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
			ps.kind = SYM_EVAL;
		else if (interp)
			ps.kind = SYM_INTERP;
	}
	ps.f.line = us.line > 0 && us.src ? us.line : FRAME_NO_LINE;
	ps.f.end_line = -1;
	ps.f.col = -1;
	ps.f.end_col = -1;
	ps.f.opcode = FRAME_NO_OPCODE;
	VEC_RESERVE(n->syms, n->syms_cap, n->nsyms + 1);
	n->syms[n->nsyms++] = ps;
	u64map_put(&n->cache, pc, n->nsyms);
	return &n->syms[n->nsyms - 1];
}

static bool is_marker(const struct py_walker *w, const struct frame *f)
{
	return f->file == w->synthetic_file && f->func == w->native_func;
}

static bool is_root_marker(const struct py_walker *w, const struct frame *f)
{
	return f->file == w->synthetic_file && f->func == w->shutdown_func;
}

static void emit(struct sample *out, struct thread_sample *t, const struct frame *f, size_t k)
{
	struct frame *d = sample_reserve_frames(out, k);
	memcpy(d, f, k * sizeof(*f));
	out->nframes += k;
	t->depth += (uint32_t)k;
}

/* Merge thread t of s (its Python frames) with its capture c into out. */
static int merge_thread(struct py_native *n, const struct sample *s, const struct thread_sample *t,
			const struct unwind_capture *c, struct sample *out)
{
	struct py_walker *w = n->w;
	const struct frame *pf = &s->frames[t->first];
	uint32_t depth = t->depth;
	/* a <shutdown> root stays the root */
	uint32_t root = 0;
	if (depth && is_root_marker(w, &pf[depth - 1])) {
		root = 1;
		depth--;
	}
	/* the Python chain cut into one segment per evaluation call: segs[k]
	 * is where segment k starts, segs[nseg] = depth */
	VEC_RESERVE(n->segs, n->segs_cap, (size_t)depth + 2);
	size_t nseg = 0;
	if (w->rt->layout.frame_model == PY_FRAMES_OBJECTS) {
		/* 3.8-3.10: one call per Python frame; a synthetic frame
		 * (<GC>) rides with the Python frame below it */
		uint32_t start = 0;
		for (uint32_t i = 0; i < depth; i++) {
			if (pf[i].file == w->synthetic_file)
				continue;
			n->segs[nseg++] = start;
			start = i + 1;
		}
		if (!nseg && depth)
			n->segs[nseg++] = 0;
	} else {
		/* 3.11+: a segment ends at each entry frame (<native> mark) */
		bool starts = true;
		for (uint32_t i = 0; i < depth; i++) {
			if (is_marker(w, &pf[i])) {
				starts = true;
				continue;
			}
			if (starts)
				n->segs[nseg++] = i;
			starts = false;
		}
	}
	n->segs[nseg] = depth;

	size_t npcs = 0;
	bool complete = unwind_stack(&n->u, c, n->pcs, UNWIND_MAX_FRAMES, &npcs) == 0;
	if (!complete)
		n->stats.truncated++;
	size_t evals = 0;
	for (size_t i = 0; i < npcs; i++)
		if (sym_of(n, i ? n->pcs[i] - 1 : n->pcs[i])->kind == SYM_EVAL)
			evals++;
	/* An evaluation call that has not pushed its first frame yet, or has
	 * popped its last one already, runs no Python frame: only the
	 * innermost can be caught so (it calls nothing then). */
	bool idle_eval = evals == nseg + 1;
	if (evals > nseg + 1 || (complete && evals < nseg)) {
		n->stats.mismatched++;
		return py_walker_fail(w, PY_FAIL_NATIVE, ERR_CORRUPT);
	}

	struct thread_sample *o = sample_add_thread(out);
	o->tid = t->tid;
	o->interp_id = t->interp_id;
	o->status = t->status;
	o->same_stack = false;
	size_t seg = 0;
	for (size_t i = 0; i < npcs; i++) {
		const struct py_native_sym *ps = sym_of(n, i ? n->pcs[i] - 1 : n->pcs[i]);
		if (ps->kind == SYM_EVAL && idle_eval) {
			idle_eval = false;
			if (n->plumbing)
				emit(out, o, &ps->f, 1);
			continue;
		}
		if (ps->kind == SYM_EVAL) {
			/* the segment's frames, markers left out */
			for (uint32_t k = n->segs[seg]; k < n->segs[seg + 1]; k++)
				if (!is_marker(w, &pf[k]))
					emit(out, o, &pf[k], 1);
			seg++;
			continue;
		}
		if (!n->plumbing && (ps->kind == SYM_INTERP || (nseg && seg == nseg)))
			continue;
		emit(out, o, &ps->f, 1);
	}
	/* the native stack ended early: the outer Python frames below */
	for (uint32_t k = nseg ? n->segs[seg] : 0; seg < nseg && k < depth; k++)
		if (!is_marker(w, &pf[k]))
			emit(out, o, &pf[k], 1);
	if (root)
		emit(out, o, &pf[depth], 1);
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
