#include "py/walk.h"

#include "base/buf.h"
#include "base/clock.h"
#include "base/hash.h"
#include "base/error.h"
#include "py/layout.h"

#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Largest thread state prefix or frame we read in one go. */
#define TS_READ_MAX 4096
#define FRAME_READ_MAX 512
/* A thread whose tstate is not (any more) the one we cached. */
#define STALE 1
/* A thread its mode leaves out (not an error). */
#define SKIPPED 2
/* 3.11+: the first read's guesses missed; read again (walk_interp_thread). */
#define AGAIN 3

static uint32_t max_end(uint32_t acc, uint32_t off, uint32_t width)
{
	if (off == PY_ABSENT)
		return acc;
	return off + width > acc ? off + width : acc;
}

void py_walker_init(struct py_walker *w, const struct py_runtime *rt, struct mem_source *mem,
		    struct strtab *strings, const struct py_walk_config *cfg)
{
	memset(w, 0, sizeof(*w));
	w->rt = rt;
	w->mem = mem;
	w->cfg = *cfg;
	py_code_cache_init(&w->codes, rt, mem, strings);
	w->codes.want_opcodes = cfg->opcodes;
	pthread_tid_init(&w->pthread_tid);
	task_ns_init(&w->ns, rt->pid);
	const struct py_layout *l = &rt->layout;
	uint32_t ts = 0;
	ts = max_end(ts, l->ts_next, 8);
	ts = max_end(ts, l->ts_interp, 8);
	ts = max_end(ts, l->ts_thread_id, 8);
	ts = max_end(ts, l->ts_native_thread_id, 8);
	ts = max_end(ts, l->ts_frame, 8);
	ts = max_end(ts, l->ts_cframe, 8);
	ts = max_end(ts, l->ts_current_frame, 8);
	ts = max_end(ts, l->ts_datastack_chunk, 8);
	ts = max_end(ts, l->ts_datastack_top, 8);
	/* status words: all inside the thread state, so they come with it */
	w->want_gil = cfg->mode == PY_MODE_GIL || cfg->mode == PY_MODE_ALL || cfg->want_status;
	w->want_exc = cfg->mode == PY_MODE_EXCEPTION || cfg->mode == PY_MODE_ALL || cfg->want_status;
	w->want_cpu = cfg->mode == PY_MODE_CPU || cfg->mode == PY_MODE_ALL;
	ts = max_end(ts, l->ts_holds_gil, 4);
	ts = max_end(ts, l->ts_gil_requested, 4);
	if (w->want_exc) {
		ts = max_end(ts, l->ts_current_exception, 8);
		ts = max_end(ts, l->ts_exc_info, 8);
		if (l->ts_exc_state != PY_ABSENT) {
			ts = max_end(ts, l->ts_exc_state + l->exc_previous, 8);
			if (l->exc_type != PY_ABSENT)
				ts = max_end(ts, l->ts_exc_state + l->exc_type, 8);
			if (l->exc_value != PY_ABSENT)
				ts = max_end(ts, l->ts_exc_state + l->exc_value, 8);
		}
	}
	w->ts_read = ts;
	uint32_t fo = 0;
	fo = max_end(fo, l->fo_back, 8);
	fo = max_end(fo, l->fo_code, 8);
	fo = max_end(fo, l->fo_lasti, 4);
	fo = max_end(fo, l->fo_globals, 8);
	fo = max_end(fo, l->fo_state, 1);
	w->fo_read = fo;
	w->synthetic_file = strtab_intern_cstr(strings, "~");
	w->gc_func = strtab_intern_cstr(strings, "<GC>");
	w->native_func = strtab_intern_cstr(strings, "<native>");
	w->shutdown_func = strtab_intern_cstr(strings, "<shutdown>");
}

void py_walker_release(struct py_walker *w)
{
	task_ns_release(&w->ns);
	py_code_cache_release(&w->codes);
	free(w->stack);
	free(w->opq_index);
	free(w->opq_addr);
	free(w->fo_buf);
	free(w->fo_addr);
	free(w->fo_iov);
	free(w->frame_addrs);
	for (int i = 0; i < PY_SPEC_THREADS; i++)
		free(w->spec[i].chain);
	memset(w, 0, sizeof(*w));
}

/* ---- why a sample failed ------------------------------------------------ */

/* Name the cause of a failure (the first one named in a sample wins: it is
 * the innermost, the others only pass the failure on) and return rc. */
int py_walker_fail(struct py_walker *w, enum py_fail why, int rc)
{
	if (rc < 0 && rc != ERR_NOPROC && !w->fail)
		w->fail = why;
	return rc;
}

#define FAIL(why, rc) py_walker_fail(w, (why), (rc))

/* ---- resolving one frame ---------------------------------------------- */

static int emit(struct py_walker *w, struct sample *s, struct thread_sample *t, struct py_code *code,
		int64_t byte_off, struct frame *out, raddr_t *op_addr)
{
	/* 3.11+: the instruction must lie in the code object's bytecode;
	 * prev_instr of a frame that has not started is one unit before it.
	 * If not, the cached entry may be a dead code object's: check it
	 * once before calling the sample torn. */
	if (code->code_len && (byte_off < -2 || byte_off >= (int64_t)code->code_len)) {
		raddr_t ip = code->code_start + (uint64_t)byte_off;
		int rc = py_code_recheck(&w->codes, &code);
		if (rc < 0)
			return FAIL(w->codes.fail, rc);
		byte_off = (int64_t)(ip - code->code_start);
		if (rc == 0 || byte_off < -2 || byte_off >= (int64_t)code->code_len)
			return FAIL(PY_FAIL_INSTR, ERR_CORRUPT);
	}
	struct py_location loc;
	py_code_location(code, w->rt->layout.linetable_kind, byte_off, &loc);
	struct frame *f = sample_reserve_frames(s, 1);
	f->file = code->file;
	f->func = code->func;
	f->line = loc.line;
	f->end_line = loc.end_line;
	f->col = loc.col;
	f->end_col = loc.end_col;
	f->opcode = FRAME_NO_OPCODE;
	*op_addr = 0;
	/* A frame that has not started yet (f_lasti -1 before 3.11, prev_instr
	 * one unit before the code before 3.13) is about to run its first
	 * instruction: that is its opcode, as 3.13+'s instr_ptr says for such a
	 * frame.  Pushing a frame and running its RESUME are a few stores
	 * apart, so samples do land there. */
	int64_t op_off = byte_off >= 0 ? byte_off : 0;
	if (w->cfg.opcodes) {
		if (code->bytecode) {
			/* 3.8-3.10: the immutable co_code */
			if ((uint64_t)op_off < code->bytecode_len)
				f->opcode = code->bytecode[op_off];
		} else if (code->code_len) {
			/* 3.11+: the live (possibly specialized) byte, read after
			 * the walk; 3.11-3.12 first step back from a CALL's caches */
			int64_t start = py_code_instruction_start(code, op_off);
			if (start >= 0 && (uint64_t)start < code->code_len)
				*op_addr = code->code_start + (uint64_t)start;
		}
	}
	*out = *f;
	s->nframes++;
	t->depth++;
	return 0;
}

/* --opcodes, 3.11+: remember where frame index i's opcode byte is. */
static void queue_opcode(struct py_walker *w, size_t i, raddr_t addr)
{
	if (!addr)
		return;
	if (w->opq_n + 1 > w->opq_cap) {
		size_t cap = w->opq_cap;
		VEC_RESERVE(w->opq_index, cap, w->opq_n + 1);
		cap = w->opq_cap;
		VEC_RESERVE(w->opq_addr, cap, w->opq_n + 1);
		w->opq_cap = cap;
	}
	w->opq_index[w->opq_n] = (uint32_t)i;
	w->opq_addr[w->opq_n] = addr;
	w->opq_n++;
}

/* Read the queued opcode bytes in batched reads and store them. */
static int fill_opcodes(struct py_walker *w, struct sample *s)
{
	enum { BATCH = 64 };
	unsigned char bytes[BATCH];
	struct mem_iov iov[BATCH];
	for (size_t done = 0; done < w->opq_n;) {
		size_t n = w->opq_n - done < BATCH ? w->opq_n - done : BATCH;
		for (size_t k = 0; k < n; k++)
			iov[k] = (struct mem_iov){ w->opq_addr[done + k], &bytes[k], 1 };
		int got = mem_readv(w->mem, iov, (int)n);
		if (got < 0)
			return FAIL(PY_FAIL_CODE_READ, got);
		for (size_t k = 0; k < (size_t)got; k++)
			s->frames[w->opq_index[done + k]].opcode = bytes[k];
		done += n;
	}
	w->opq_n = 0;
	return 0;
}

/* cfg.frame_addrs: frame index i is at frame in the target, running code. */
static void note_frame(struct py_walker *w, size_t i, raddr_t frame, raddr_t code)
{
	VEC_RESERVE(w->frame_addrs, w->frame_addrs_cap, i + 1);
	w->frame_addrs[i] = (struct py_frame_addr){ frame, code };
}

/* Resolve one frame into s.  A frame slot that still runs the same code at
 * the same instruction with the same globals resolves as it did in an
 * earlier sample of this sweep period: the memo skips the code cache and
 * the line table (a live frame keeps its code object alive, and the memo
 * is emptied with each sweep, so a replaced code object is not missed). */
static int resolve(struct py_walker *w, struct sample *s, struct thread_sample *t, raddr_t frame,
		   raddr_t code_addr, uint64_t pos, int64_t byte_off, raddr_t globals)
{
	if (t->depth >= PY_MAX_FRAMES)
		return FAIL(PY_FAIL_LIMIT, ERR_LIMIT);
	if (w->memo_epoch != w->codes.epoch || w->memo_evictions != w->codes.stats.evictions) {
		memset(w->memo, 0, sizeof(w->memo));
		w->memo_epoch = w->codes.epoch;
		w->memo_evictions = w->codes.stats.evictions;
	}
	struct py_frame_memo *m = &w->memo[hash_u64(frame ^ (pos << 17)) & (PY_FRAME_MEMO - 1)];
	if (m->frame == frame && m->code == code_addr && m->pos == pos && m->globals == globals &&
	    frame) {
		struct frame *f = sample_reserve_frames(s, 1);
		*f = m->f;
		s->nframes++;
		t->depth++;
		w->stats.memo_hits++;
		queue_opcode(w, s->nframes - 1, m->op_addr);
		if (w->cfg.frame_addrs)
			note_frame(w, s->nframes - 1, frame, code_addr);
		return 0;
	}
	struct py_code *code;
	int rc = py_code_get(&w->codes, code_addr, globals, &code);
	if (rc)
		return FAIL(w->codes.fail, rc);
	struct frame f;
	raddr_t op_addr;
	rc = emit(w, s, t, code, byte_off, &f, &op_addr);
	if (rc)
		return rc;
	queue_opcode(w, s->nframes - 1, op_addr);
	if (w->cfg.frame_addrs)
		note_frame(w, s->nframes - 1, frame, code_addr);
	*m = (struct py_frame_memo){ frame, code_addr, pos, globals, op_addr, f };
	return 0;
}

/* A frame with no code: <GC>, <native> or <shutdown>, file "~", no location. */
static int emit_synthetic(struct py_walker *w, struct sample *s, struct thread_sample *t, uint32_t func)
{
	if (t->depth >= PY_MAX_FRAMES)
		return FAIL(PY_FAIL_LIMIT, ERR_LIMIT);
	struct frame *f = sample_reserve_frames(s, 1);
	*f = (struct frame){ .file = w->synthetic_file, .func = func, .line = FRAME_NO_LINE,
			     .end_line = -1, .col = -1, .end_col = -1, .opcode = FRAME_NO_OPCODE };
	s->nframes++;
	t->depth++;
	if (w->cfg.frame_addrs)
		note_frame(w, s->nframes - 1, 0, 0);
	return 0;
}

/* ---- per-interpreter facts: GIL holder, GC, shutdown --------------------- */

/* Words of the target closer than this are read as one piece, with the
 * bytes between them: a further piece of a readv costs about as much as
 * copying a KiB more (BENCHMARKS.md, "readfloor"). */
#define SHARED_GAP 1024

struct shared_word {
	raddr_t addr;
	uint32_t len;
	uint16_t *at;     /* where to record its position in py_shared.buf */
};

/* Add the words to pieces of iov, lowest address first, merging a word
 * into the piece before it when the gap is small; returns the pieces. */
static int shared_pieces(struct py_shared *sh, struct shared_word *wv, int nw, struct mem_iov *iov)
{
	for (int i = 1; i < nw; i++)
		for (int j = i; j > 0 && wv[j].addr < wv[j - 1].addr; j--) {
			struct shared_word t = wv[j];
			wv[j] = wv[j - 1];
			wv[j - 1] = t;
		}
	int n = 0;
	size_t used = 0;
	for (int i = 0; i < nw; i++) {
		struct mem_iov *last = n ? &iov[n - 1] : NULL;
		size_t local = last ? (size_t)((unsigned char *)last->buf - sh->buf) : 0;
		/* sorted: wv[i].addr >= last->addr, so no difference wraps */
		if (last && wv[i].addr - last->addr <= last->len + SHARED_GAP &&
		    local + (wv[i].addr - last->addr) + wv[i].len <= PY_SHARED_BUF) {
			size_t end = (size_t)(wv[i].addr - last->addr) + wv[i].len;
			if (end > last->len)
				last->len = end;
		} else {
			assert(used + wv[i].len <= PY_SHARED_BUF);
			local = used;
			iov[n++] = (struct mem_iov){ wv[i].addr, sh->buf + local, wv[i].len };
			last = &iov[n - 1];
		}
		*wv[i].at = (uint16_t)(local + (wv[i].addr - last->addr));
		used = local + last->len;
	}
	return n;
}

/* The reads that fill sh for interpreter interp (at most 3 iovecs).  They
 * ride along with another read. */
static int shared_iovs(struct py_walker *w, raddr_t interp, raddr_t gil_ptr, struct py_shared *sh,
		       struct mem_iov *iov)
{
	const struct py_layout *l = &w->rt->layout;
	raddr_t rt = w->rt->runtime_addr;
	struct shared_word wv[3];
	int nw = 0;
	memset(sh, 0, offsetof(struct py_shared, buf));
	sh->at_holder = sh->at_gil = sh->at_gc = sh->at_fin = PY_SHARED_NONE;
	/* before 3.15 a <GC> frame goes to the GIL holder, so GC needs it too */
	bool gil = (w->want_gil || (w->cfg.gc && l->gc_frame == PY_ABSENT)) &&
		   l->gil_model != PY_GIL_THREAD;
	if (gil && l->gil_model == PY_GIL_RUNTIME)
		wv[nw++] = (struct shared_word){ rt + l->rt_tstate_current, 8, &sh->at_holder };
	else if (gil && l->gil_model == PY_GIL_INTERP && gil_ptr)
		wv[nw++] = (struct shared_word){ gil_ptr + l->gil_last_holder, 12, &sh->at_gil };
	if (w->cfg.gc && l->gc_collecting != PY_ABSENT) {
		raddr_t gc = l->rt_gc != PY_ABSENT ? rt + l->rt_gc : interp + l->is_gc;
		uint32_t len = l->gc_frame == l->gc_collecting + 8 ? 16 : 4;
		wv[nw++] = (struct shared_word){ gc + l->gc_collecting, len, &sh->at_gc };
	}
	/* who shuts down: the interpreter's own word (3.12+), else the
	 * runtime's, which only Py_FinalizeEx sets (the main interpreter) */
	if (l->is_finalizing != PY_ABSENT)
		wv[nw++] = (struct shared_word){ interp + l->is_finalizing, 8, &sh->at_fin };
	else if (l->rt_finalizing != PY_ABSENT)
		wv[nw++] = (struct shared_word){ rt + l->rt_finalizing, 8, &sh->at_fin };
	return shared_pieces(sh, wv, nw, iov);
}

static void shared_parse(struct py_walker *w, struct py_shared *sh)
{
	const struct py_layout *l = &w->rt->layout;
	if (sh->at_holder != PY_SHARED_NONE) {
		sh->gil_holder = rd_u64(sh->buf, sh->at_holder);
		sh->gil_known = true;
	} else if (sh->at_gil != PY_SHARED_NONE) {
		/* last_holder is valid while locked */
		const unsigned char *g = sh->buf + sh->at_gil;
		uint32_t locked_at = l->gil_locked - l->gil_last_holder;
		sh->gil_holder = rd_u32(g, locked_at) == 1 ? rd_u64(g, 0) : 0;
		sh->gil_known = true;
	}
	if (sh->at_gc != PY_SHARED_NONE) {
		sh->collecting = rd_i32(sh->buf, sh->at_gc) == 1;
		if (l->gc_frame == l->gc_collecting + 8)
			sh->gc_frame = sh->collecting ? rd_u64(sh->buf, sh->at_gc + 8) : 0;
	}
	if (sh->at_fin != PY_SHARED_NONE)
		sh->finalizing = rd_u64(sh->buf, sh->at_fin);
}

/* 3.12: the GIL an interpreter uses; a legacy subinterpreter shares the
 * main interpreter's, so the pointer is followed, never the embedded one. */
static raddr_t interp_gil(struct py_walker *w, raddr_t interp)
{
	const struct py_layout *l = &w->rt->layout;
	if (l->gil_model != PY_GIL_INTERP)
		return 0;
	if (interp == w->main_interp && w->gil_ptr)
		return w->gil_ptr;
	raddr_t gil = 0;
	if (mem_read(w->mem, interp + l->is_gil_ptr, &gil, 8) != 0)
		return 0;
	if (interp == w->main_interp)
		w->gil_ptr = gil;
	return gil;
}

/* ---- thread status ---------------------------------------------------- */

/* Whether the thread handles an exception (what sys.exception() would
 * return there): CPython's rule for the topmost stack item, which skips
 * empty items (NULL or None) that have a predecessor. */
static bool handling_exception(struct py_walker *w, raddr_t tstate, const unsigned char *ts)
{
	const struct py_layout *l = &w->rt->layout;
	uint32_t test = l->exc_type != PY_ABSENT ? l->exc_type : l->exc_value;
	if (l->ts_exc_info == PY_ABSENT || test == PY_ABSENT)
		return false;
	raddr_t item = rd_u64(ts, l->ts_exc_info), none = w->rt->none_addr;
	for (int hops = 0; item && hops < 64; hops++) {
		unsigned char buf[64];
		const unsigned char *it;
		uint32_t need = (test > l->exc_previous ? test : l->exc_previous) + 8;
		if (need > sizeof(buf))
			return false;
		if (item >= tstate && item - tstate <= w->ts_read - need) {
			it = ts + (item - tstate); /* the thread's own item: in the copy */
		} else {
			if (mem_read(w->mem, item, buf, need) != 0)
				return false;
			it = buf;
		}
		raddr_t v = rd_u64(it, test), prev = rd_u64(it, l->exc_previous);
		if ((v == 0 || v == none) && prev) {
			item = prev;
			continue;
		}
		return v != 0 && v != none;
	}
	return false;
}

/* Linux's view of a thread: running (or runnable) = on a CPU. */
static uint32_t cpu_status(struct py_walker *w, uint64_t tid)
{
	/* tid is the target's own (its PID namespace's) id */
	pid_t host = tid && tid <= INT32_MAX ? task_ns_host_tid(&w->ns, (pid_t)tid) : -1;
	if (host < 0)
		return STATUS_UNKNOWN;
	switch (task_run_state(w->rt->pid, host)) {
	case 'R':
		return STATUS_ON_CPU;
	case 'S': case 'D': case 'T': case 't': case 'Z': case 'I': case 'X': case 'W': case 'P':
		return 0;
	default:
		return STATUS_UNKNOWN;
	}
}

/* Tachyon's status bits of a thread, from its state copy and the
 * interpreter's shared facts. */
static uint32_t thread_status(struct py_walker *w, raddr_t tstate, const unsigned char *ts,
			      uint64_t ident, uint64_t tid, const struct py_shared *sh)
{
	const struct py_layout *l = &w->rt->layout;
	uint32_t st = 0;
	/* a thread state still being made by its parent carries the
	 * parent's ident and no OS tid yet (3.11+): not the main thread */
	if (ident && ident == w->main_thread_ident && tid != 0)
		st |= STATUS_MAIN_THREAD;
	bool gil = false;
	if (l->gil_model == PY_GIL_THREAD)
		gil = (rd_u32(ts, l->ts_holds_gil) >> l->ts_holds_gil_bit) & 1;
	else if (sh && sh->gil_known)
		gil = sh->gil_holder == tstate;
	if (gil)
		st |= STATUS_HAS_GIL;
	if (l->ts_gil_requested != PY_ABSENT && !gil && rd_i32(ts, l->ts_gil_requested))
		st |= STATUS_GIL_REQUESTED;
	if (w->want_exc && ((l->ts_current_exception != PY_ABSENT && rd_u64(ts, l->ts_current_exception)) ||
			    handling_exception(w, tstate, ts)))
		st |= STATUS_HAS_EXCEPTION;
	st |= w->want_cpu ? cpu_status(w, tid) : STATUS_UNKNOWN;
	return st;
}

bool py_mode_keeps(int mode, uint32_t st)
{
	switch (mode) {
	case PY_MODE_CPU: return (st & STATUS_ON_CPU) != 0;
	case PY_MODE_GIL: return (st & STATUS_HAS_GIL) != 0;
	case PY_MODE_EXCEPTION: return (st & STATUS_HAS_EXCEPTION) != 0;
	default: return true;
	}
}

/* Whether the mode leaves this thread out. */
static bool skipped(const struct py_walker *w, uint32_t st)
{
	return !py_mode_keeps(w->cfg.mode, st);
}

/* Before 3.15 the collector leaves no trace of where it started: the
 * thread holding the GIL while it runs gets <GC> on top of its stack. */
int py_walker_gc_on_top(struct py_walker *w, struct sample *s, struct thread_sample *t,
			bool collecting)
{
	if (w->cfg.gc && collecting && w->rt->layout.gc_frame == PY_ABSENT &&
	    (t->status & STATUS_HAS_GIL))
		return emit_synthetic(w, s, t, w->gc_func);
	return 0;
}

static int gc_on_top(struct py_walker *w, struct sample *s, struct thread_sample *t,
		     const struct py_shared *sh)
{
	return py_walker_gc_on_top(w, s, t, sh && sh->collecting);
}

int py_walker_gc_frame(struct py_walker *w, struct sample *s, struct thread_sample *t)
{
	return emit_synthetic(w, s, t, w->gc_func);
}

int py_walker_shutdown_root(struct py_walker *w, struct sample *s, struct thread_sample *t)
{
	return emit_synthetic(w, s, t, w->shutdown_func);
}

/* ---- 3.8-3.10: frame objects --------------------------------------------- */

/* The last frame chain of a 3.8-3.10 thread, read speculatively in one
 * batch next time: frames deeper in the stack rarely change between
 * samples, and one batched read costs far less than one read per frame. */
#define FO_SPEC_MAX PY_MAX_FRAMES

static struct py_spec *spec_slot(struct py_walker *w, raddr_t tstate);

/* 3.8-3.10: last sample's chain of frame objects for this thread, read on
 * speculation in the thread state's own readv: appends one iovec per frame
 * (into w->fo_buf, addresses in w->fo_addr) to iov at *n.  The iov array
 * has room for w->fo_cap more entries after the caller's own. */
static void fo_spec_iovs(struct py_walker *w, const struct py_spec *sp, struct mem_iov *iov, int *n)
{
	size_t fr = w->fo_read, k = 0;
	/* The innermost frames of recent samples first, next to each other: a
	 * 3.8-3.10 function call reuses its code object's last frame (the
	 * "zombie" frame), so the frame the thread runs now is often one of
	 * them.  A readv copies its pieces one after the other, about half a
	 * microsecond apart: what changes fastest is read together, and the
	 * copies say which of them ran (settle_fo_top). */
	for (int i = 0; i < sp->ntops && k < w->fo_cap; i++, k++) {
		w->fo_addr[k] = sp->tops[i];
		iov[(*n)++] = (struct mem_iov){ sp->tops[i], w->fo_buf + k * fr, fr };
	}
	/* then the rest of last sample's chain, which rarely changes */
	for (uint32_t j = 0; j < sp->chain_n && k < w->fo_cap; j++) {
		bool dup = false;
		for (int i = 0; i < sp->ntops && j < PY_SPEC_TOPS; i++)
			dup |= sp->tops[i] == sp->chain[j]; /* innermost ones only */
		if (dup)
			continue;
		w->fo_addr[k] = sp->chain[j];
		iov[(*n)++] = (struct mem_iov){ sp->chain[j], w->fo_buf + k * fr, fr };
		k++;
	}
}

/* Remember frame as the thread's latest innermost frame. */
static void fo_note_top(struct py_spec *sp, raddr_t frame)
{
	if (!frame)
		return;
	int i = 0;
	while (i < sp->ntops && sp->tops[i] != frame)
		i++;
	if (i == sp->ntops && sp->ntops < PY_SPEC_TOPS)
		sp->ntops++;
	if (i == PY_SPEC_TOPS)
		i = PY_SPEC_TOPS - 1;
	memmove(sp->tops + 1, sp->tops, (size_t)i * sizeof(sp->tops[0]));
	sp->tops[0] = frame;
}

/* Grow the frame-object batch and the iovec array for a chain of chain_n
 * frames plus extra iovecs of the caller's. */
static struct mem_iov *fo_reserve(struct py_walker *w, uint32_t chain_n, size_t extra)
{
	if (chain_n > w->fo_cap || chain_n + extra > w->fo_iov_cap) {
		free(w->fo_buf);
		free(w->fo_addr);
		free(w->fo_iov);
		w->fo_cap = (size_t)chain_n + 16;
		w->fo_buf = xmalloc(w->fo_cap * w->fo_read);
		w->fo_addr = xmalloc(w->fo_cap * sizeof(*w->fo_addr));
		w->fo_iov_cap = w->fo_cap + extra;
		w->fo_iov = xmalloc(w->fo_iov_cap * sizeof(*w->fo_iov));
	}
	return w->fo_iov;
}

/* Tries to catch a 3.8-3.10 thread's innermost frame alive. */
#define CHASE_TRIES 4

/* 3.8-3.10: the innermost frame *frame was not in the first read, or it
 * died (returned) since.  That read copies many pieces, so its copy of the
 * thread state is some microseconds old when it ends: long enough for the
 * short calls that run the import system to return.  Read the thread's
 * current frame pointer and, right after it in the same readv, the frame
 * it named last time and the thread's recent innermost frames (a call
 * reuses its code object's last frame, so the current one is often among
 * them), until the pointer names a copied frame that is alive: that frame
 * was the thread's current one as it was copied, within a microsecond or
 * two.  The rest of the chain, older frames, changes far more slowly.
 * Fills one; *frame becomes the current frame (0: no Python runs). */
static int chase_top(struct py_walker *w, raddr_t tstate, const struct py_spec *sp,
		     raddr_t *frame, unsigned char *one)
{
	const struct py_layout *l = &w->rt->layout;
	size_t fr = w->fo_read;
	unsigned char copies[PY_SPEC_TOPS][FRAME_READ_MAX];
	for (int i = 0; i < CHASE_TRIES; i++) {
		raddr_t cur = 0, addr[1 + PY_SPEC_TOPS];
		struct mem_iov iov[2 + PY_SPEC_TOPS];
		int n = 0, na = 0;
		iov[n++] = (struct mem_iov){ tstate + l->ts_frame, &cur, 8 };
		addr[na++] = *frame;
		iov[n++] = (struct mem_iov){ *frame, one, fr };
		for (int k = 0; k < sp->ntops; k++) {
			if (sp->tops[k] == *frame)
				continue;
			addr[na] = sp->tops[k];
			iov[n++] = (struct mem_iov){ sp->tops[k], copies[na - 1], fr };
			na++;
		}
		int got = mem_readv(w->mem, iov, n);
		if (got < 0)
			return FAIL(PY_FAIL_TSTATE, got);
		if (got == 0)
			return FAIL(PY_FAIL_TSTATE, ERR_FAULT);
		w->stats.chases++;
		if (!cur) {
			*frame = 0;
			return 0;
		}
		for (int k = 0; k < na && k + 1 < got; k++) {
			if (addr[k] != cur)
				continue;
			const unsigned char *c = k ? copies[k - 1] : one;
			if (rd_u64(c, 0) == 0)
				break;
			if (k)
				memcpy(one, c, fr);
			*frame = cur;
			return 0;
		}
		*frame = cur;
	}
	return FAIL(PY_FAIL_FRAME_FREED, ERR_CORRUPT);
}

/* ---- the innermost frame when the frames were copied ---------------------
 *
 * Without stopping the thread, its state (which names the innermost frame)
 * and the frames are copied some microseconds apart; a thread that calls
 * and returns every microsecond has often pushed a callee or returned to
 * its caller in between.  Taking the innermost frame from the thread state
 * and the frames' instructions from their copies then mixes two moments:
 * a caller shown at the call that pushed a callee it had not pushed yet
 * when the state was read (samples move from the callee, and from the
 * caller's other lines, to its call line), or a frame that had already
 * returned.  So the copies settle which frame was innermost: each version
 * leaves a mark of it in its frames (enum py_live_kind).  Nothing is read
 * for this: a callee counts only if its copy came with the first read. */

/* Most callees climbed above the thread state's innermost frame. */
#define SETTLE_LEVELS 8

/* 3.8-3.10: whether the frame object copied in fo was running (on the
 * thread's stack) when it was copied. */
static bool fo_running(const struct py_layout *l, const unsigned char *fo)
{
	if (rd_u64(fo, 0) == 0) /* freed */
		return false;
	int8_t st = (int8_t)rd_u8(fo, l->fo_state);
	if (l->live_kind == PY_LIVE_FRAME_STATE)
		return st == l->fo_state_executing || st == l->fo_state_unwinding;
	return st != 0; /* f_executing */
}

static struct py_call_site *call_site(struct py_walker *w, raddr_t caller_code, raddr_t callee_code)
{
	return &w->sites[hash_u64(caller_code ^ (callee_code << 7)) & (PY_CALL_SITES - 1)];
}

/* 3.8-3.10: whether a running frame copied in x (copy number kx of the
 * first read) is a callee of the frame copied in c (number kc) that the
 * copies let us put above it.  Copied after its caller, it is: the caller
 * was on the call (learnt as a call site).  Copied before, the callee may
 * have returned before the caller was copied, and the caller's copy then
 * shows it on a line that calls nothing: the callee goes above only if the
 * caller is where such a callee was seen running above it before. */
static bool fo_callee_fits(struct py_walker *w, const unsigned char *c, size_t kc,
			   const unsigned char *x, size_t kx)
{
	const struct py_layout *l = &w->rt->layout;
	raddr_t cc = rd_u64(c, l->fo_code), xc = rd_u64(x, l->fo_code);
	int32_t lasti = rd_i32(c, l->fo_lasti);
	struct py_call_site *site = call_site(w, cc, xc);
	if (kx > kc) {
		*site = (struct py_call_site){ cc, xc, lasti };
		return true;
	}
	return site->caller_code == cc && site->callee_code == xc && site->lasti == lasti;
}

/* 3.8-3.10: *frame, copied in *fo (the first read's copy number k0 of the
 * first `valid` of w->fo_addr/fo_buf), was the innermost frame when the
 * thread state was read.  A running frame it called is the innermost one
 * since, if the copies fit together (fo_callee_fits; climbed as far as the
 * copies go).  If it stopped running and its caller runs, the caller is.
 * Returns false when the copy shows it stopped with no caller (a generator
 * that yielded): the copies then say nothing of what ran. */
static bool settle_fo_top(struct py_walker *w, size_t valid, size_t k0, raddr_t *frame,
			  const unsigned char **fo)
{
	const struct py_layout *l = &w->rt->layout;
	size_t fr = w->fo_read;
	if (l->fo_state == PY_ABSENT || rd_u64(*fo, 0) == 0)
		return true;
	if (fo_running(l, *fo)) {
		raddr_t cur = *frame;
		const unsigned char *c = *fo;
		size_t kc = k0;
		for (int level = 0; level < SETTLE_LEVELS; level++) {
			size_t k = 0;
			while (k < valid && (w->fo_addr[k] == cur ||
					     rd_u64(w->fo_buf + k * fr, l->fo_back) != cur ||
					     !fo_running(l, w->fo_buf + k * fr) ||
					     !fo_callee_fits(w, c, kc, w->fo_buf + k * fr, k)))
				k++;
			if (k == valid)
				break;
			cur = w->fo_addr[k];
			c = w->fo_buf + k * fr;
			kc = k;
		}
		if (cur != *frame) {
			*frame = cur;
			*fo = c;
			w->stats.pushed_tops++;
		}
		return true;
	}
	raddr_t back = rd_u64(*fo, l->fo_back);
	if (!back)
		return false;
	for (size_t k = 0; k < valid; k++) {
		if (w->fo_addr[k] != back)
			continue;
		if (fo_running(l, w->fo_buf + k * fr)) {
			*frame = back;
			*fo = w->fo_buf + k * fr;
			w->stats.popped_tops++;
		}
		break;
	}
	return true;
}

/* Walk the frame objects from frame, the innermost frame of the thread
 * state at tstate; the first `valid` entries of w->fo_addr/fo_buf are
 * copies made in this sample's readv (last sample's chain and innermost
 * frames), any other frame is read alone. */
/* Resolve the frame object at frame, copied in fo (fo_read bytes). */
static int resolve_object_frame(struct py_walker *w, struct sample *s, struct thread_sample *t,
				raddr_t frame, const unsigned char *fo)
{
	const struct py_layout *l = &w->rt->layout;
	/* a frame freed while we read (3.8-3.10 keep freed frames on a
	 * free list chained through f_back, up to 200 of them) has no
	 * references: following it would add frames the program is
	 * not running.  ob_refcnt is the object's first word. */
	if (rd_u64(fo, 0) == 0)
		return FAIL(PY_FAIL_FRAME_FREED, ERR_CORRUPT);
	raddr_t code = rd_u64(fo, l->fo_code);
	int64_t lasti = rd_i32(fo, l->fo_lasti);
	int64_t off = l->ip_kind == PY_IP_LASTI_UNITS ? lasti * 2 : lasti;
	/* a frame that has not started yet has f_lasti -1 */
	if (off < 0)
		off = -1;
	return resolve(w, s, t, frame, code, (uint64_t)lasti, off, rd_u64(fo, l->fo_globals));
}

static int walk_frame_objects(struct py_walker *w, struct sample *s, struct thread_sample *t,
			      raddr_t tstate, raddr_t frame, struct py_spec *sp, size_t valid)
{
	const struct py_layout *l = &w->rt->layout;
	unsigned char one[FRAME_READ_MAX];
	if (w->fo_read > sizeof(one))
		return ERR_CORRUPT;
	size_t fr = w->fo_read;

	uint32_t depth = 0;
	size_t hint = 0;
	const unsigned char *callee = NULL; /* the last frame's copy */
	size_t callee_k = SIZE_MAX;         /* ... its number in the first read */
	for (int steps = 0; frame; steps++) {
		if (steps >= PY_MAX_FRAMES)
			return FAIL(PY_FAIL_LIMIT, ERR_LIMIT);
		/* a copy from the batch (the chain is usually found in order) */
		const unsigned char *fo = NULL;
		for (size_t k = hint, tries = 0; tries < valid; tries++, k = (k + 1) % valid)
			if (w->fo_addr[k] == frame) {
				fo = w->fo_buf + k * fr;
				hint = k + 1 < valid ? k + 1 : 0;
				break;
			}
		if (steps == 0 && (!fo || rd_u64(fo, 0) == 0)) {
			int rc = chase_top(w, tstate, sp, &frame, one);
			if (rc)
				return rc;
			if (!frame)
				break;
			fo = one;
		} else if (steps == 0) {
			/* copied with the others: they say which frame was
			 * innermost then */
			if (!settle_fo_top(w, valid, (size_t)(fo - w->fo_buf) / w->fo_read, &frame, &fo))
				return FAIL(PY_FAIL_FRAME_SWITCH, ERR_CORRUPT);
		} else if (!fo || rd_u64(fo, 0) == 0) {
			/* not in the first read, or its copy there is of a
			 * frame that returned before a new call took its place
			 * (a function's calls reuse one frame): read it now */
			int rc = mem_read(w->mem, frame, one, fr);
			if (rc)
				return FAIL(PY_FAIL_FRAME_READ, rc);
			fo = one;
			w->stats.single_reads++;
		}
		if (steps == 0)
			fo_note_top(sp, frame);
		/* the innermost pair, copied callee after caller: a call site */
		size_t k = fo >= w->fo_buf && fo < w->fo_buf + valid * fr ?
			   (size_t)(fo - w->fo_buf) / fr : SIZE_MAX;
		if (steps == 1 && k != SIZE_MAX && callee && callee_k != SIZE_MAX &&
		    fo_running(l, callee))
			(void)fo_callee_fits(w, fo, k, callee, callee_k);
		callee = fo;
		callee_k = k;
		int rc = resolve_object_frame(w, s, t, frame, fo);
		if (rc)
			return rc;
		if (depth < FO_SPEC_MAX) {
			if (depth >= sp->chain_cap) {
				size_t cap = sp->chain_cap;
				VEC_RESERVE(sp->chain, cap, (size_t)depth + 1);
				sp->chain_cap = (uint32_t)cap;
			}
			sp->chain[depth++] = frame;
		}
		frame = rd_u64(fo, l->fo_back);
	}
	sp->chain_n = depth;
	return 0;
}

/* ---- 3.11+: interpreter frames on the data stack -------------------------- */

static int add_region(struct py_walker *w, raddr_t start, raddr_t end)
{
	/* an empty region is still added: callers index regions by position */
	if (end < start)
		return FAIL(PY_FAIL_DATASTACK, ERR_CORRUPT);
	if (w->nregions >= PY_MAX_CHUNKS || end - start > PY_MAX_STACK_BYTES ||
	    w->stack_len + (end - start) > PY_MAX_STACK_BYTES)
		return FAIL(PY_FAIL_LIMIT, ERR_LIMIT);
	size_t len = (size_t)(end - start);
	if (w->stack_len + len > w->stack_cap) {
		size_t cap = w->stack_cap;
		VEC_RESERVE(w->stack, cap, w->stack_len + len);
		w->stack_cap = cap;
	}
	w->regions[w->nregions++] = (struct py_region){ start, end, w->stack_len, false };
	w->stack_len += len;
	return 0;
}

/* Copy the next older data-stack chunk; 0 when one was added, 1 when there
 * are no more chunks. */
static int copy_next_chunk(struct py_walker *w)
{
	const struct py_layout *l = &w->rt->layout;
	unsigned char head[64];
	if (l->chunk_data > sizeof(head))
		return ERR_CORRUPT;
	if (!w->next_chunk)
		return 1;
	raddr_t chunk = w->next_chunk;
	int rc = mem_read(w->mem, chunk, head, l->chunk_data);
	if (rc)
		return FAIL(PY_FAIL_DATASTACK, rc);
	uint64_t size = rd_u64(head, l->chunk_size);
	/* size_t top: slots in use, saved when the following chunk was
	 * pushed (the newest chunk's end is tstate->datastack_top instead) */
	uint64_t used = rd_u64(head, l->chunk_top);
	raddr_t data = chunk + l->chunk_data;
	if (size > PY_MAX_STACK_BYTES || used > size / 8)
		return FAIL(PY_FAIL_DATASTACK, ERR_CORRUPT);
	raddr_t top = data + used * 8;
	if (top > chunk + size)
		return FAIL(PY_FAIL_DATASTACK, ERR_CORRUPT);
	size_t at = w->stack_len;
	rc = add_region(w, data, top);
	if (rc)
		return rc;
	rc = mem_read(w->mem, data, w->stack + at, (size_t)(top - data));
	if (rc)
		return FAIL(PY_FAIL_DATASTACK, rc);
	w->next_chunk = rd_u64(head, l->chunk_previous);
	return 0;
}

/* Local bytes of the interpreter frame at addr (if_size long): from a copied
 * region when it lies in one, else read on its own into scratch. */
static int locate_frame(struct py_walker *w, raddr_t addr, unsigned char *scratch,
			const unsigned char **out)
{
	uint32_t size = w->rt->layout.if_size;
	for (int i = 0; i < w->nregions; i++) {
		const struct py_region *r = &w->regions[i];
		/* written so that a wild addr (a torn pointer) cannot wrap */
		if (addr >= r->start && r->end - r->start >= size &&
		    addr - r->start <= r->end - r->start - size) {
			*out = w->stack + r->local + (addr - r->start);
			w->regions[i].used = true;
			return 0;
		}
	}
	/* C-stack entry frames, generators' and frame objects' frames live
	 * outside the data stack: one read each, remembered so the next
	 * sample reads them in its first batch */
	int rc = mem_read(w->mem, addr, scratch, size);
	if (rc)
		return FAIL(PY_FAIL_FRAME_READ, rc);
	*out = scratch;
	w->stats.single_reads++;
	if (addr >= w->cur_tstate && addr - w->cur_tstate <= TS_READ_MAX - size) {
		/* a frame inside the thread state: 3.14+'s base frame, the
		 * root of every chain (see the terminal check in the walk) */
	} else if (w->next_spec.n < PY_SPEC_FRAMES) {
		w->next_spec.addr[w->next_spec.n++] = addr;
	}
	/* a thread-owned frame outside the copy is in an older chunk (a
	 * deep stack): copy that chunk so the frames after it are local */
	if (rd_u8(scratch, w->rt->layout.if_owner) == w->rt->layout.owner_thread && w->next_chunk) {
		rc = copy_next_chunk(w);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* 3.11+: this walk's copy of the interpreter frame at addr, or NULL when no
 * read of this walk copied it.  The newest chunk's copy counts up to
 * chunk_end: past the thread's top too (read on speculation), where a
 * callee pushed since the thread state was read lies. */
static const unsigned char *copied_frame(const struct py_walker *w, raddr_t addr, int r_chunk,
					 raddr_t chunk_end)
{
	uint32_t size = w->rt->layout.if_size;
	for (int i = 0; i < w->nregions; i++) {
		const struct py_region *r = &w->regions[i];
		raddr_t end = i == r_chunk && chunk_end > r->end ? chunk_end : r->end;
		if (addr >= r->start && end - r->start >= size && addr - r->start <= end - r->start - size)
			return w->stack + r->local + (addr - r->start);
	}
	return NULL;
}

static raddr_t if_code(const struct py_layout *l, const unsigned char *f)
{
	return rd_u64(f, l->if_executable) & ~(raddr_t)l->executable_tag_mask;
}

/* The code object of the Python frame copied in f, or NULL (not a Python
 * frame, or its code unreadable: then nothing is settled from it). */
static struct py_code *settle_code(struct py_walker *w, const unsigned char *f)
{
	const struct py_layout *l = &w->rt->layout;
	uint8_t owner = rd_u8(f, l->if_owner);
	if (owner != l->owner_thread && owner != l->owner_generator && owner != l->owner_frame_object)
		return NULL;
	raddr_t exe = if_code(l, f);
	struct py_code *code;
	if (!exe || py_code_get(&w->codes, exe, rd_u64(f, l->if_globals), &code) != 0)
		return NULL;
	return code;
}

/* 3.11: whether the frame copied in f (code) points into the inline caches
 * of the instruction that pushed a callee; negative when unknown. */
static int pushed_callee(struct py_walker *w, const unsigned char *f, struct py_code *code)
{
	const struct py_layout *l = &w->rt->layout;
	int64_t off = (int64_t)(rd_u64(f, l->if_ip) - code->code_start);
	return py_code_in_caches(&w->codes, code, off);
}

/* 3.11+: frame, copied in f0, was the innermost frame when the thread state
 * was read (ds_top its data-stack top then).  Returns the innermost frame
 * as the first read's copies show it (see settle_fo_top): a callee pushed
 * right after a frame (its code's frame size on), or at ds_top, linked to
 * it and marked as pushed; or the caller, when the copies show the caller
 * running again.  Climbed frames past the top lie in the chunk's copy up to
 * chunk_end, which then becomes the region's end. */
static raddr_t settle_top(struct py_walker *w, raddr_t frame, raddr_t ds_top, int r_chunk,
			  raddr_t chunk_end)
{
	const struct py_layout *l = &w->rt->layout;
	const unsigned char *f0 = copied_frame(w, frame, r_chunk, chunk_end);
	struct py_code *code = f0 ? settle_code(w, f0) : NULL;
	if (!code || l->live_kind == PY_LIVE_NONE)
		return frame;
	bool stacktop = l->live_kind == PY_LIVE_STACKTOP;
	bool cache = l->live_kind == PY_LIVE_CALL_CACHE;

	/* up: callees pushed since */
	raddr_t cur = frame, best = frame;
	const unsigned char *fc = f0;
	for (int level = 0; level < SETTLE_LEVELS; level++) {
		/* the running frame (3.12-3.13) has no callee; a frame that
		 * pushed none (3.11) neither */
		if (stacktop && rd_i32(fc, l->if_stacktop) == -1)
			break;
		if (cache && pushed_callee(w, fc, code) != 1)
			break;
		raddr_t cand[2] = { 0, 0 };
		if (rd_u8(fc, l->if_owner) == l->owner_thread && code->framesize)
			cand[0] = cur + code->framesize;
		if (level == 0 && ds_top != cand[0])
			cand[1] = ds_top;
		raddr_t next = 0;
		const unsigned char *fn = NULL;
		struct py_code *ncode = NULL;
		for (int k = 0; k < 2 && !next; k++) {
			const unsigned char *c = cand[k] ? copied_frame(w, cand[k], r_chunk, chunk_end) : NULL;
			if (!c || rd_u64(c, l->if_previous) != cur || rd_u8(c, l->if_owner) != l->owner_thread)
				continue;
			/* 3.11: pushed by the call, not entered from C */
			if (cache && rd_u8(c, l->if_is_entry))
				continue;
			/* 3.14+: a popped frame has no code any more, except
			 * one a new generator took over (it runs elsewhere) */
			struct py_code *cc = settle_code(w, c);
			if (!cc || cc->generator)
				continue;
			next = cand[k];
			fn = c;
			ncode = cc;
		}
		if (!next)
			break;
		cur = next;
		fc = fn;
		code = ncode;
		/* 3.12-3.13: a frame above counts once the running one is found */
		if (!stacktop || rd_i32(fc, l->if_stacktop) == -1)
			best = cur;
	}
	if (best != frame) {
		w->stats.pushed_tops++;
		if (r_chunk >= 0 && chunk_end > w->regions[r_chunk].end &&
		    best >= w->regions[r_chunk].start && best < chunk_end)
			w->regions[r_chunk].end = chunk_end;
		return best;
	}

	/* down: the caller runs again (3.14+: the walk skips a cleared frame) */
	if (!stacktop && !cache)
		return frame;
	if (stacktop && rd_i32(f0, l->if_stacktop) == -1)
		return frame;
	if (cache && rd_u8(f0, l->if_is_entry))
		return frame;
	raddr_t caller = rd_u64(f0, l->if_previous);
	const unsigned char *m = caller ? copied_frame(w, caller, r_chunk, chunk_end) : NULL;
	struct py_code *mcode = m ? settle_code(w, m) : NULL;
	if (!mcode)
		return frame;
	if (stacktop ? rd_i32(m, l->if_stacktop) != -1 : pushed_callee(w, m, mcode) != 0)
		return frame;
	w->stats.popped_tops++;
	return caller;
}

/* What a thread state must match: its interpreter, and for a cached main
 * thread its pthread id (0: no check). */
struct thread_check {
	raddr_t interp;
	uint64_t expect_ident;
};

/* Whether the speculative copy of the frame at addr served this walk. */
static bool spec_used(const struct py_walker *w, raddr_t addr)
{
	for (int i = 0; i < w->nregions; i++)
		if (w->regions[i].start == addr && w->regions[i].used)
			return true;
	return false;
}

static struct py_spec *spec_slot(struct py_walker *w, raddr_t tstate)
{
	struct py_spec *free_slot = NULL;
	for (int i = 0; i < PY_SPEC_THREADS; i++) {
		if (w->spec[i].tstate == tstate)
			return &w->spec[i];
		if (!w->spec[i].tstate && !free_slot)
			free_slot = &w->spec[i];
	}
	if (!free_slot) /* many threads: recycle by address */
		free_slot = &w->spec[(tstate >> 6) % PY_SPEC_THREADS];
	raddr_t *chain = free_slot->chain;
	uint32_t cap = free_slot->chain_cap;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->chain = chain; /* keep the buffer */
	free_slot->chain_cap = cap;
	free_slot->tstate = tstate;
	return free_slot;
}

/* Room left after the newest chunk's top for a stack that grew since the
 * last sample, in the speculative first read. */
#define TOP_SLACK 256

/* Mark region i empty (a speculative read that turned out useless). */
static void region_drop(struct py_walker *w, int i)
{
	if (i >= 0 && i < w->nregions)
		w->regions[i].end = w->regions[i].start;
}

/* --async-aware: the running task in the thread state copy (w->stack)
 * and the frame of its coroutine.  SKIPPED when no task runs. */
static int find_task(struct py_walker *w)
{
	const struct py_layout *l = &w->rt->layout;
	w->task = rd_u64(w->stack, l->ts_asyncio_running_task);
	if (!w->task)
		return SKIPPED;
	uint64_t coro = 0;
	int rc = mem_read(w->mem, w->task + w->task_coro_off, &coro, 8);
	if (rc)
		return FAIL(PY_FAIL_ASYNC, rc);
	coro &= ~(uint64_t)l->executable_tag_mask;
	/* Tachyon: a running task without a coroutine is a failed sample */
	if (!coro)
		return FAIL(PY_FAIL_ASYNC, ERR_CORRUPT);
	w->stop_frame = coro + l->gen_iframe;
	return 0;
}

/* What the read of a 3.11+ thread left for the decoding: the copies are
 * w->stack's regions (w->regions), the rest is here. */
struct interp_copy {
	raddr_t tstate;
	raddr_t frame;      /* the thread's current frame, 0 if none */
	raddr_t top;        /* its datastack_top */
	raddr_t chunk_end;  /* the newest chunk's copy ends here (past top) */
	raddr_t gc_frame;   /* 3.15: the frame the collection started in */
	int r_chunk;        /* region of the newest chunk, -1 if none */
};

/* Decode a 3.11+ thread's frame chain from the copies of the read
 * (walk_interp_pass): settle the innermost frame, walk the chain through
 * the regions (reading alone only a frame no region holds), resolve each
 * frame onto t, and remember for the next sample which frames lay
 * outside the stack. */
static int decode_interp_frames(struct py_walker *w, struct sample *s, struct thread_sample *t,
				struct py_spec *sp, const struct py_shared *sh,
				const struct interp_copy *c)
{
	const struct py_layout *l = &w->rt->layout;
	raddr_t tstate = c->tstate, frame = c->frame, gc_frame = c->gc_frame;
	int rc;
	unsigned char scratch[FRAME_READ_MAX];
	if (l->if_size > sizeof(scratch))
		return FAIL(PY_FAIL_OTHER, ERR_CORRUPT);
	/* while the collector runs, the frame that started it stays the
	 * innermost Python frame as far as the <GC> frame is concerned */
	if (frame && !(sh && sh->collecting))
		frame = settle_top(w, frame, c->top, c->r_chunk, c->chunk_end);
	/* Whether the last frame walked was a Python frame (see the check
	 * after the loop). */
	bool python_last = false, generator_last = false;
	const uint32_t depth0 = t->depth; /* frames emitted before the walk (<GC>) */
	for (int steps = 0; frame; steps++) {
		if (steps >= PY_MAX_FRAMES)
			return FAIL(PY_FAIL_LIMIT, ERR_LIMIT);
		/* 3.15: the collection started in this frame */
		if (frame == gc_frame && (rc = emit_synthetic(w, s, t, w->gc_func)))
			return rc;
		/* the thread's own base frame (3.14+) ends every chain: no
		 * need to read it again */
		if (frame == sp->terminal) {
			python_last = false;
			break;
		}
		const unsigned char *f;
		rc = locate_frame(w, frame, scratch, &f);
		if (rc)
			return rc;
		raddr_t prev = rd_u64(f, l->if_previous);
		uint8_t owner = rd_u8(f, l->if_owner);
		/* C entry frames carry no Python code: CSTACK (3.12-3.13),
		 * INTERPRETER and CSTACK (3.14), INTERPRETER (3.15) all sit
		 * at or above owner_cstack */
		if (l->owner_cstack != PY_OWNER_NONE && owner >= l->owner_cstack) {
			/* a root frame embedded in the thread state is the base
			 * frame: it never changes */
			if (!prev && frame >= tstate && frame - tstate < TS_READ_MAX)
				sp->terminal = frame;
			/* --native: a C -> Python boundary below Python frames;
			 * --native-stacks: every evaluation call's entry frame,
			 * with its address */
			if (w->cfg.native && w->cfg.entry_marks && frame != sp->terminal) {
				if ((rc = emit_synthetic(w, s, t, w->native_func)))
					return rc;
				struct frame *mark = &s->frames[s->nframes - 1];
				mark->end_line = (int32_t)(uint32_t)(frame >> 32);
				mark->col = (int32_t)(uint32_t)frame;
			} else if (w->cfg.native && prev && t->depth > 0 && frame != gc_frame &&
				   (rc = emit_synthetic(w, s, t, w->native_func))) {
				return rc;
			}
			python_last = false;
			frame = prev;
			continue;
		}
		if (owner != l->owner_thread && owner != l->owner_generator &&
		    owner != l->owner_frame_object)
			return FAIL(PY_FAIL_FRAME_BAD, ERR_CORRUPT);
		raddr_t exe = rd_u64(f, l->if_executable) & ~(raddr_t)l->executable_tag_mask;
		if (!exe) {
			/* The innermost frames, already cleared: they returned
			 * between the read of the thread state and the copy of
			 * the stack (on a stack that changes every microsecond,
			 * half the time, often several in a row).  The first
			 * caller still there is what the thread runs now: go
			 * on from it.  Below a live frame, an empty frame is
			 * corrupt. */
			if (t->depth == depth0 && owner == l->owner_thread && prev) {
				w->stats.popped_tops++;
				frame = prev;
				continue;
			}
			return FAIL(PY_FAIL_FRAME_BAD, ERR_CORRUPT);
		}
		raddr_t ip = rd_u64(f, l->if_ip);
		/* the bytecode is inline: offset from the code object's start */
		int64_t off = (int64_t)(ip - exe - l->co_code_adaptive);
		rc = resolve(w, s, t, frame, exe, ip, off, rd_u64(f, l->if_globals));
		if (rc)
			return rc;
		/* --async-aware: a running task's stack ends at its coroutine */
		if (w->stop_frame && frame == w->stop_frame) {
			w->stop_reached = true;
			python_last = false;
			break;
		}
		/* --native on 3.11: this frame was entered from C (3.12+ put
		 * a C-stack frame there instead, handled above) */
		if (w->cfg.native && prev && l->if_is_entry != PY_ABSENT && rd_u8(f, l->if_is_entry) &&
		    (rc = emit_synthetic(w, s, t, w->native_func)))
			return rc;
		python_last = true;
		generator_last = owner == l->owner_generator;
		frame = prev;
	}
	/* 3.12+: every evaluation loop pushes a C-stack entry frame first
	 * (3.14+ also roots each thread in its base frame), so a complete
	 * chain ends in one.  A chain that ends in a Python frame was caught
	 * between the stores of a frame switch: 3.12 keeps the current frame
	 * of its _PyCFrame (a C local) in a register and stores it late, so
	 * even a stopped thread (--blocking) can show a yielded generator's
	 * frame, already unlinked (previous NULL), as the current one.  A
	 * torn read, not a stack.  3.11 has no such entry frame, but a
	 * running generator always has a caller: one at the end of the chain
	 * was copied after it yielded. */
	if (python_last && (l->owner_cstack != PY_OWNER_NONE || generator_last))
		return FAIL(PY_FAIL_FRAME_SWITCH, ERR_CORRUPT);
	/* remember what was read on its own, plus what the guess got right */
	int keep = w->next_spec.n;
	for (int i = 0; i < sp->n && keep < PY_SPEC_FRAMES; i++)
		if (spec_used(w, sp->addr[i]))
			w->next_spec.addr[keep++] = sp->addr[i];
	memcpy(sp->addr, w->next_spec.addr, sizeof(sp->addr));
	sp->n = keep;
	return 0;
}


/* One pass of walk_interp_thread: the speculative read of the thread
 * state, its stack and its frames elsewhere (first: AGAIN when the
 * guesses missed), then the decoding of what was read. */
static int walk_interp_pass(struct py_walker *w, struct sample *s, struct thread_sample *t,
			    raddr_t tstate, const struct thread_check *chk, raddr_t *next,
			    struct py_shared *sh, const struct mem_iov *extra, int nextra, bool first)
{
	const struct py_layout *l = &w->rt->layout;
	struct py_spec *sp = spec_slot(w, tstate);
	struct mem_iov iov[4 + 3 + PY_SPEC_FRAMES]; /* extras, thread state, cframe, chunk, frames */
	uint64_t cf_guess = 0;
	int n = 0, rc;

	w->nregions = 0;
	w->stack_len = 0;
	w->next_chunk = 0;
	w->cur_tstate = tstate;
	w->cur_spec = sp;
	w->next_spec.n = 0;

	/* the thread state copy is a region too: 3.14+ roots every frame
	 * chain in a frame that lives inside it */
	if ((rc = add_region(w, tstate, tstate + w->ts_read)))
		return rc;
	int r_chunk = -1, r_spec = -1;
	if (sp->chunk) {
		raddr_t end = sp->top + TOP_SLACK;
		if (end > sp->chunk + sp->chunk_size)
			end = sp->chunk + sp->chunk_size;
		r_chunk = w->nregions;
		if ((rc = add_region(w, sp->chunk, end)))
			return rc;
	}
	r_spec = w->nregions;
	for (int i = 0; i < sp->n; i++)
		if ((rc = add_region(w, sp->addr[i], sp->addr[i] + l->if_size)))
			return rc;
	/* w->stack does not move any more in this batch.
	 * The frames are copied before the thread state.  The other way round,
	 * the frames' copies caught a thread that calls and returns every few
	 * microseconds just after its calls and returns far more often than
	 * it is there (tests/targets/exc_phases.py on another CPU: the except
	 * line got 10-30% of the samples for 40% of the time), probably
	 * because reading a cache line the thread writes at each call and
	 * return (the thread state's) delays its next write.  The frames'
	 * own copies say which one was innermost (settle_top). */
	if (nextra > 4)
		return FAIL(PY_FAIL_OTHER, ERR_LIMIT);
	for (int k = 0; k < nextra; k++)
		iov[n++] = extra[k];
	int i_first_region = n;
	for (int r = r_chunk >= 0 ? r_chunk : r_spec; r < w->nregions; r++)
		iov[n++] = (struct mem_iov){ w->regions[r].start, w->stack + w->regions[r].local,
					     (size_t)(w->regions[r].end - w->regions[r].start) };
	int i_ts = n, i_cf = -1;
	iov[n++] = (struct mem_iov){ tstate, w->stack, w->ts_read };
	if (sp->cframe) {
		i_cf = n;
		iov[n++] = (struct mem_iov){ sp->cframe + l->cframe_current_frame, &cf_guess, 8 };
	}
	int got = mem_readv(w->mem, iov, n);
	if (got < 0)
		return FAIL(PY_FAIL_TSTATE, got);
	if (got < nextra)
		return FAIL(PY_FAIL_RUNTIME, ERR_FAULT);
	if (nextra)
		shared_parse(w, sh);
	/* regions whose read did not happen are dropped */
	for (int k = got; k < i_ts; k++) {
		if (k >= i_first_region)
			region_drop(w, (r_chunk >= 0 ? r_chunk : r_spec) + (k - i_first_region));
	}
	if (got <= i_ts) {
		/* a speculative piece was not readable (freed): the thread
		 * state comes alone */
		int m = 0;
		struct mem_iov iov1[2];
		iov1[m++] = iov[i_ts];
		if (i_cf >= 0)
			iov1[m++] = iov[i_cf];
		int got1 = mem_readv(w->mem, iov1, m);
		if (got1 < 0)
			return FAIL(PY_FAIL_TSTATE, got1);
		if (got1 == 0) /* the thread state is gone */
			return chk->expect_ident ? STALE : FAIL(PY_FAIL_TSTATE, ERR_FAULT);
		got = i_ts + got1;
	}
	bool cf_ok = i_cf >= 0 && got > i_cf;

	const unsigned char *ts = w->stack;
	if (rd_u64(ts, l->ts_interp) != chk->interp)
		return chk->expect_ident ? STALE : FAIL(PY_FAIL_TSTATE, ERR_CORRUPT);
	uint64_t ident = rd_u64(ts, l->ts_thread_id);
	if (chk->expect_ident && ident != chk->expect_ident)
		return STALE;
	if (next)
		*next = rd_u64(ts, l->ts_next);
	if (w->task_walk && (rc = find_task(w)))
		return rc;
	t->tid = rd_u64(ts, l->ts_native_thread_id); /* 3.11+ records the OS thread id */
	t->status = thread_status(w, tstate, ts, ident, t->tid, sh);
	if (skipped(w, t->status))
		return SKIPPED;
	raddr_t gc_frame = sh && w->cfg.gc ? sh->gc_frame : 0;
	raddr_t chunk = rd_u64(ts, l->ts_datastack_chunk);
	raddr_t top = rd_u64(ts, l->ts_datastack_top);
	raddr_t frame = 0, cframe = 0;
	raddr_t chunk_end = 0; /* the newest chunk's copy ends here (past top) */
	bool need_cframe = false;
	if (l->ts_current_frame != PY_ABSENT) {
		frame = rd_u64(ts, l->ts_current_frame);
	} else {
		/* 3.11-3.12: the current frame hangs off the C-stack _PyCFrame */
		cframe = rd_u64(ts, l->ts_cframe);
		if (cframe && cframe == sp->cframe && cf_ok)
			frame = cf_guess;
		else
			need_cframe = cframe != 0;
	}

	/* was the guess of the newest chunk right? */
	bool have_chunk = false;
	raddr_t guess_end = r_chunk >= 0 ? w->regions[r_chunk].end : 0;
	if (!chunk || top <= chunk + l->chunk_data || top - chunk > PY_MAX_STACK_BYTES) {
		region_drop(w, r_chunk);
		chunk = 0;
	} else if (r_chunk >= 0 && chunk == sp->chunk && top <= w->regions[r_chunk].end &&
		   w->regions[r_chunk].end > w->regions[r_chunk].start) {
		chunk_end = w->regions[r_chunk].end;
		w->regions[r_chunk].end = top;
		have_chunk = true;
	} else {
		region_drop(w, r_chunk);
	}

	/* The guesses missed (the stack moved to another chunk or grew past
	 * the room left, or the current frame hangs off another _PyCFrame).
	 * A second read of only what was missed would pair this read's frame
	 * pointer with a later copy of the stack: frames popped and pushed in
	 * between show there as their slots' new contents, often another
	 * frame's locals.  Take this read's addresses as the guesses and read
	 * everything again in one readv instead: the same two system calls,
	 * one consistent copy. */
	if (first && (need_cframe || (chunk && !have_chunk))) {
		sp->cframe = cframe;
		if (chunk && chunk != sp->chunk)
			sp->chunk_size = top - chunk; /* no room after top: size unknown */
		sp->chunk = chunk;
		sp->top = top;
		return AGAIN;
	}
	if ((rc = gc_on_top(w, s, t, sh)))
		return rc;

	/* second read, only for what the guess missed (twice in a row) */
	w->stats.threads++;
	if (need_cframe || (chunk && !have_chunk)) {
		w->stats.second_reads++;
		int m = 0;
		struct mem_iov iov2[2 + PY_SPEC_FRAMES];
		if (chunk && !have_chunk) {
			r_chunk = w->nregions;
			if ((rc = add_region(w, chunk, top)))
				return rc;
		}
		if (need_cframe)
			iov2[m++] = (struct mem_iov){ cframe + l->cframe_current_frame, &frame, 8 };
		if (chunk && !have_chunk) {
			iov2[m++] = (struct mem_iov){ chunk, w->stack + w->regions[r_chunk].local,
						      (size_t)(top - chunk) };
		} else if (chunk && need_cframe) {
			/* The frame pointer read now is newer than the first
			 * read's copy of the stack: frames pushed in between
			 * would be found there as their slots' old contents.
			 * Copy the stack again, right after the pointer, with
			 * the first read's room for growth (inside the chunk). */
			w->regions[r_chunk].end = guess_end;
			iov2[m++] = (struct mem_iov){ chunk, w->stack + w->regions[r_chunk].local,
						      (size_t)(guess_end - chunk) };
		}
		int fixed = m;
		/* the frames outside the stack (C-stack entry frames,
		 * generators') likewise */
		for (int r = r_spec; need_cframe && r < r_spec + sp->n && r < w->nregions; r++)
			if (w->regions[r].end > w->regions[r].start)
				iov2[m++] = (struct mem_iov){ w->regions[r].start,
							      w->stack + w->regions[r].local,
							      (size_t)(w->regions[r].end -
								       w->regions[r].start) };
		int got2 = mem_readv(w->mem, iov2, m);
		if (got2 < 0)
			return FAIL(PY_FAIL_DATASTACK, got2);
		if (got2 < fixed)
			return FAIL(PY_FAIL_DATASTACK, ERR_FAULT);
		/* a frame outside the stack that could not be read again is
		 * read alone if the walk meets it */
		for (int k = got2; k < m; k++)
			for (int r = r_spec; r < r_spec + sp->n && r < w->nregions; r++)
				if (w->regions[r].start == iov2[k].addr)
					region_drop(w, r);
	}
	sp->cframe = cframe;
	if (chunk) {
		/* the region starts with the chunk header: size and previous */
		const unsigned char *head = w->stack + w->regions[r_chunk].local;
		uint64_t size = rd_u64(head, l->chunk_size);
		if (size < l->chunk_data || size > PY_MAX_STACK_BYTES || top > chunk + size) {
			sp->chunk = 0;
			return FAIL(PY_FAIL_DATASTACK, ERR_CORRUPT);
		}
		w->next_chunk = rd_u64(head, l->chunk_previous);
		sp->chunk = chunk;
		sp->chunk_size = size;
		sp->top = top;
	} else {
		sp->chunk = 0;
	}

	struct interp_copy c = { tstate, frame, top, chunk_end, gc_frame, r_chunk };
	(void)r_spec;
	return decode_interp_frames(w, s, t, sp, sh, &c);
}

/* Walk a 3.11+ thread.  One read usually does: the thread state, the live
 * part of the newest data-stack chunk and the frames that lie elsewhere
 * are fetched together, at the addresses the previous sample of this
 * thread found; when those guesses missed, everything is read again at the
 * addresses just found, and what still differs after that is read on its
 * own. */
static int walk_interp_thread(struct py_walker *w, struct sample *s, struct thread_sample *t,
			      raddr_t tstate, const struct thread_check *chk, raddr_t *next,
			      struct py_shared *sh, const struct mem_iov *extra, int nextra)
{
	int rc = walk_interp_pass(w, s, t, tstate, chk, next, sh, extra, nextra, true);
	if (rc == AGAIN) {
		w->stats.rereads++;
		rc = walk_interp_pass(w, s, t, tstate, chk, next, sh, extra, nextra, false);
	}
	return rc;
}

/* ---- threads and interpreters ------------------------------------------- */

/* Walk one thread.  expect_ident != 0 asks to check that the thread state
 * still belongs to that thread (a cached main thread); STALE if not. */
/* A 3.8-3.10 thread: its state, then the chain of frame objects. */
static int walk_object_thread(struct py_walker *w, struct sample *s, struct thread_sample *t,
			      raddr_t tstate, raddr_t interp, uint64_t expect_ident, raddr_t *next,
			      struct py_shared *sh, const struct mem_iov *extra, int nextra)
{
	const struct py_layout *l = &w->rt->layout;
	unsigned char ts[TS_READ_MAX];
	if (w->ts_read > sizeof(ts))
		return ERR_CORRUPT;
	/* one readv: the shared words, the frame chain the thread had last
	 * time, then the thread state and the TID of the thread we expect
	 * there (frames first: see walk_interp_thread) */
	struct py_spec *sp = spec_slot(w, tstate);
	struct mem_iov *iov = fo_reserve(w, sp->chain_n + PY_SPEC_TOPS, 6);
	int n = 0;
	for (int k = 0; k < nextra && k < 4; k++)
		iov[n++] = extra[k];
	int nfixed = n;
	fo_spec_iovs(w, sp, iov, &n);
	int i_ts = n;
	iov[n++] = (struct mem_iov){ tstate, ts, w->ts_read };
	if (w->pthread_tid.ncand < 0 && w->main_thread_ident)
		pthread_tid_calibrate(&w->pthread_tid, w->mem, w->ns.ns_pid, w->main_thread_ident);
	uint64_t guess = expect_ident ? expect_ident : sp->ident;
	uint32_t tid32 = 0;
	int i_tid = -1;
	if (w->pthread_tid.ncand > 0 && guess) {
		i_tid = n;
		iov[n++] = (struct mem_iov){ pthread_tid_addr(&w->pthread_tid, guess), &tid32, 4 };
	}
	int got = mem_readv(w->mem, iov, n);
	if (got < 0)
		return FAIL(PY_FAIL_TSTATE, got);
	if (got < nfixed)
		return FAIL(PY_FAIL_RUNTIME, ERR_FAULT);
	size_t valid = (size_t)((got < i_ts ? got : i_ts) - nfixed);
	if (got <= i_ts) {
		/* a frame of last time was not readable: the thread state
		 * (and TID) come alone */
		int got1 = mem_readv(w->mem, iov + i_ts, n - i_ts);
		if (got1 < 0)
			return FAIL(PY_FAIL_TSTATE, got1);
		got = i_ts + got1;
	}
	if (got == i_ts)
		return expect_ident ? STALE : FAIL(PY_FAIL_TSTATE, ERR_FAULT);
	if (nextra)
		shared_parse(w, sh);
	if (rd_u64(ts, l->ts_interp) != interp)
		return expect_ident ? STALE : FAIL(PY_FAIL_TSTATE, ERR_CORRUPT);
	uint64_t ident = rd_u64(ts, l->ts_thread_id);
	if (expect_ident && ident != expect_ident)
		return STALE;
	if (next)
		*next = rd_u64(ts, l->ts_next);

	/* several offsets of the block may still hold the main thread's tid:
	 * another thread tells which one is the tid, before it is used */
	uint32_t off = w->pthread_tid.ncand > 0 ? w->pthread_tid.cand[0] : 0;
	if (ident != w->main_thread_ident && w->pthread_tid.ncand > 1)
		pthread_tid_refine(&w->pthread_tid, w->mem, &w->ns, ident);
	/* the OS thread id lives in the C library's thread block: read above
	 * when the thread is the one we guessed, else now */
	t->tid = ident; /* uncalibrated: the pthread id */
	if (w->pthread_tid.ncand > 0 && ident) {
		if (ident == guess && i_tid >= 0 && got > i_tid && off == w->pthread_tid.cand[0])
			t->tid = tid32;
		else if (mem_read(w->mem, pthread_tid_addr(&w->pthread_tid, ident), &tid32, 4) == 0)
			t->tid = tid32;
	}
	sp->ident = ident;

	t->status = thread_status(w, tstate, ts, ident, t->tid, sh);
	if (skipped(w, t->status))
		return SKIPPED;
	int rc = gc_on_top(w, s, t, sh);
	if (rc)
		return rc;
	return walk_frame_objects(w, s, t, tstate, rd_u64(ts, l->ts_frame), sp, valid);
}

static int walk_thread(struct py_walker *w, struct sample *s, raddr_t tstate, raddr_t interp,
		       uint32_t interp_id, uint64_t expect_ident, raddr_t *next, struct py_shared *sh,
		       const struct mem_iov *extra, int nextra)
{
	const struct py_layout *l = &w->rt->layout;
	size_t mark_frames = s->nframes;
	struct thread_sample *t = sample_add_thread(s);
	size_t tindex = s->nthreads - 1;
	t->interp_id = interp_id;
	int rc;
	if (l->frame_model == PY_FRAMES_INTERP) {
		struct thread_check chk = { interp, expect_ident };
		rc = walk_interp_thread(w, s, t, tstate, &chk, next, sh, extra, nextra);
	} else {
		rc = walk_object_thread(w, s, t, tstate, interp, expect_ident, next, sh, extra, nextra);
	}
	if (rc == 0 && w->opq_n)
		rc = fill_opcodes(w, s);
	w->opq_n = 0;
	/* The thread tearing the interpreter down: after the atexit
	 * callbacks, everything it does (collecting the last garbage,
	 * clearing modules, the finalizers this runs) is shutdown, under a
	 * root of its own.  Its frame chain is empty then, except for the
	 * finalizers, so without it the collector would show as a bare
	 * <GC> and the rest as nothing at all. */
	if (rc == 0 && sh && sh->finalizing && sh->finalizing == tstate)
		rc = py_walker_shutdown_root(w, s, t);
	if (rc) {
		/* drop the partial (or skipped) thread */
		s->nthreads = tindex;
		s->nframes = mark_frames;
	}
	return rc == SKIPPED ? 0 : rc;
}

static int read_runtime(struct py_walker *w, raddr_t *interp_head)
{
	const struct py_layout *l = &w->rt->layout;
	uint64_t ident = 0;
	struct mem_iov iov[2] = {
		{ w->rt->runtime_addr + l->rt_interpreters_head, interp_head, 8 },
		{ w->rt->runtime_addr + l->rt_main_thread, &ident, 8 },
	};
	int n = l->rt_main_thread != PY_ABSENT ? 2 : 1;
	int got = mem_readv(w->mem, iov, n);
	if (got < 0)
		return FAIL(PY_FAIL_RUNTIME, got);
	if (got < n)
		return FAIL(PY_FAIL_RUNTIME, ERR_FAULT);
	w->main_thread_ident = ident;
	return 0;
}

/* The runtime's first interpreter: 0, or ERR_NOTREADY while it has none. */
static int first_interp(struct py_walker *w, raddr_t *interp)
{
	int rc = read_runtime(w, interp);
	return rc ? rc : *interp ? 0 : ERR_NOTREADY;
}

struct interp_info {
	raddr_t next, threads_head, threads_main;
	uint32_t id;
};

static int read_interp(struct py_walker *w, raddr_t interp, struct interp_info *ii,
		       struct py_shared *sh)
{
	const struct py_layout *l = &w->rt->layout;
	uint64_t next = 0, head = 0, main = 0, id = 0;
	struct mem_iov iov[8];
	int n = 0;
	iov[n++] = (struct mem_iov){ interp + l->is_next, &next, 8 };
	iov[n++] = (struct mem_iov){ interp + l->is_threads_head, &head, 8 };
	iov[n++] = (struct mem_iov){ interp + l->is_id, &id, 8 };
	if (l->is_threads_main != PY_ABSENT)
		iov[n++] = (struct mem_iov){ interp + l->is_threads_main, &main, 8 };
	struct py_shared ignored;
	int nsh = shared_iovs(w, interp, interp_gil(w, interp), sh ? sh : &ignored, iov + n);
	n += nsh;
	int got = mem_readv(w->mem, iov, n);
	if (got < 0)
		return FAIL(PY_FAIL_RUNTIME, got);
	if (got < n)
		return FAIL(PY_FAIL_RUNTIME, ERR_FAULT);
	if (sh && nsh)
		shared_parse(w, sh);
	if ((int64_t)id < 0 || id > UINT32_MAX)
		return FAIL(PY_FAIL_RUNTIME, ERR_CORRUPT);
	ii->next = next;
	ii->threads_head = head;
	ii->threads_main = main;
	ii->id = (uint32_t)id;
	return 0;
}

/* Find the main thread state of the main interpreter. */
static int find_main(struct py_walker *w)
{
	const struct py_layout *l = &w->rt->layout;
	raddr_t interp;
	int rc = first_interp(w, &interp);
	if (rc)
		return rc;
	struct interp_info ii;
	w->main_interp = interp;
	rc = read_interp(w, interp, &ii, NULL);
	if (rc)
		return rc;
	if (ii.threads_main) {
		w->main_tstate = ii.threads_main;
		return 0;
	}
	raddr_t ts = ii.threads_head, last = 0;
	for (int n = 0; ts && n < PY_MAX_THREADS; n++) {
		uint64_t words[2];
		struct mem_iov iov[2] = {
			{ ts + l->ts_thread_id, &words[0], 8 },
			{ ts + l->ts_next, &words[1], 8 },
		};
		int got = mem_readv(w->mem, iov, 2);
		if (got < 0)
			return FAIL(PY_FAIL_TSTATE, got);
		if (got < 2)
			return FAIL(PY_FAIL_TSTATE, ERR_FAULT);
		if (w->main_thread_ident && words[0] == w->main_thread_ident) {
			w->main_tstate = ts;
			return 0;
		}
		last = ts;
		ts = words[1];
	}
	/* no runtime main thread id (or it is not a Python thread): new
	 * thread states are pushed at the head, so the oldest is last */
	if (last && !w->main_thread_ident) {
		w->main_tstate = last;
		return 0;
	}
	return ERR_NOTREADY;
}

static int sample_main(struct py_walker *w, struct sample *s)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!w->main_tstate) {
			int rc = find_main(w);
			if (rc)
				return rc;
		}
		/* the GIL and GC words come with the thread's first read */
		struct py_shared sh;
		struct mem_iov extra[4];
		int nextra = shared_iovs(w, w->main_interp, interp_gil(w, w->main_interp), &sh, extra);
		uint64_t expect = w->main_thread_ident ? w->main_thread_ident : 0;
		int rc = walk_thread(w, s, w->main_tstate, w->main_interp, 0, expect, NULL, &sh, extra,
				     nextra);
		if (rc != STALE)
			return rc;
		w->main_tstate = 0;
	}
	return ERR_NOTREADY;
}

static int sample_all(struct py_walker *w, struct sample *s)
{
	raddr_t interp;
	int rc = first_interp(w, &interp);
	if (rc)
		return rc;
	if (!w->main_interp)
		w->main_interp = interp;
	for (int ni = 0; interp; ni++) {
		if (ni >= PY_MAX_INTERPRETERS)
			return FAIL(PY_FAIL_LIMIT, ERR_LIMIT);
		struct interp_info ii;
		struct py_shared sh;
		rc = read_interp(w, interp, &ii, &sh);
		if (rc)
			return rc;
		raddr_t ts = ii.threads_head;
		for (int nt = 0; ts; nt++) {
			if (nt >= PY_MAX_THREADS)
				return FAIL(PY_FAIL_LIMIT, ERR_LIMIT);
			raddr_t next = 0;
			rc = walk_thread(w, s, ts, interp, ii.id, 0, &next, &sh, NULL, 0);
			if (rc)
				return rc;
			ts = next;
		}
		interp = ii.next;
	}
	return 0;
}

int py_walker_sample(struct py_walker *w, struct sample *s)
{
	sample_clear(s);
	s->time_ns = clock_now_ns();
	w->fail = PY_FAIL_NONE;
	py_code_sweep(&w->codes, s->time_ns);
	int rc = w->cfg.all_threads ? sample_all(w, s) : sample_main(w, s);
	w->stats.samples++;
	if (rc) {
		sample_clear(s);
		py_walker_count_failure(w, rc);
		return rc;
	}
	w->stats.frames += s->nframes;
	return 0;
}

void py_walker_count_failure(struct py_walker *w, int rc)
{
	if (rc == ERR_NOTREADY || rc == ERR_NOPROC)
		return;
	if (!w->fail)
		w->fail = rc == ERR_LIMIT ? PY_FAIL_LIMIT : PY_FAIL_OTHER;
	w->stats.failed++;
	w->stats.failed_by[w->fail]++;
}

/* ---- entry points for the asyncio walker (py/asyncio.c) ------------------ */

int py_walker_task_thread(struct py_walker *w, struct sample *s, raddr_t tstate, raddr_t interp,
			  uint32_t coro_off, raddr_t *task)
{
	const struct py_layout *l = &w->rt->layout;
	*task = 0;
	if (l->ts_asyncio_running_task == PY_ABSENT || l->frame_model != PY_FRAMES_INTERP)
		return FAIL(PY_FAIL_ASYNC, ERR_CORRUPT);
	/* the running task comes with the copy the frames come from */
	w->ts_read = max_end(w->ts_read, l->ts_asyncio_running_task, 8);
	w->task_walk = true;
	w->task_coro_off = coro_off;
	w->task = 0;
	w->stop_frame = 0;
	w->stop_reached = false;
	size_t nthreads = s->nthreads;
	int rc = walk_thread(w, s, tstate, interp, 0, 0, NULL, NULL, NULL, 0);
	if (rc == 0 && s->nthreads > nthreads) {
		*task = w->task;
		if (!w->stop_reached) {
			/* The task runs, not its coroutine: asyncio's step (C)
			 * is about to resume it or has just seen it yield, and
			 * may be calling the loop (call_soon).  The chain is
			 * the loop's own stack down to its callback, not the
			 * task's: keep the task, with no frames of its own. */
			struct thread_sample *t = &s->threads[s->nthreads - 1];
			s->nframes -= t->depth;
			t->depth = 0;
		}
	}
	w->task_walk = false;
	w->stop_frame = 0;
	return rc;
}

int py_walker_frame(struct py_walker *w, struct sample *s, struct thread_sample *t, raddr_t frame,
		    const unsigned char *f)
{
	const struct py_layout *l = &w->rt->layout;
	uint8_t owner = rd_u8(f, l->if_owner);
	if (l->owner_cstack != PY_OWNER_NONE && owner >= l->owner_cstack)
		return 0; /* no Python code */
	if (owner != l->owner_thread && owner != l->owner_generator && owner != l->owner_frame_object)
		return ERR_CORRUPT;
	raddr_t exe = rd_u64(f, l->if_executable) & ~(raddr_t)l->executable_tag_mask;
	if (!exe)
		return ERR_CORRUPT;
	raddr_t ip = rd_u64(f, l->if_ip);
	int64_t off = (int64_t)(ip - exe - l->co_code_adaptive);
	int rc = resolve(w, s, t, frame, exe, ip, off, rd_u64(f, l->if_globals));
	if (rc == 0 && w->opq_n)
		rc = fill_opcodes(w, s);
	w->opq_n = 0;
	return rc;
}

int py_walker_object_frame(struct py_walker *w, struct sample *s, struct thread_sample *t,
			   raddr_t frame, const unsigned char *fo)
{
	if (w->rt->layout.frame_model != PY_FRAMES_OBJECTS)
		return FAIL(PY_FAIL_FRAME_BAD, ERR_CORRUPT);
	int rc = resolve_object_frame(w, s, t, frame, fo);
	if (rc == 0 && w->opq_n)
		rc = fill_opcodes(w, s);
	w->opq_n = 0;
	return rc;
}

uint32_t py_walker_frame_bytes(const struct py_walker *w)
{
	const struct py_layout *l = &w->rt->layout;
	return l->frame_model == PY_FRAMES_INTERP ? l->if_size : w->fo_read;
}

/* The OS thread id (as the target numbers it) of the thread whose
 * pthread id is ident: 3.11+ store it in the thread state (ts_native, as
 * read), 3.8-3.10 through the C library's thread block (calibrated on the
 * main thread).  0 when unknown. */
static uint64_t thread_tid(struct py_walker *w, uint64_t ident, uint64_t ts_native)
{
	if (w->rt->layout.ts_native_thread_id != PY_ABSENT)
		return ts_native;
	if (ident && ident == w->main_thread_ident)
		return (uint64_t)w->ns.ns_pid;
	if (w->pthread_tid.ncand < 0 && w->main_thread_ident)
		pthread_tid_calibrate(&w->pthread_tid, w->mem, w->ns.ns_pid, w->main_thread_ident);
	if (w->pthread_tid.ncand <= 0 || !ident)
		return 0;
	if (w->pthread_tid.ncand > 1)
		pthread_tid_refine(&w->pthread_tid, w->mem, &w->ns, ident);
	uint32_t tid32 = 0;
	if (w->pthread_tid.ncand <= 0 ||
	    mem_read(w->mem, pthread_tid_addr(&w->pthread_tid, ident), &tid32, 4))
		return 0;
	return tid32;
}

int py_walker_threads(struct py_walker *w, struct py_thread_ref *out, size_t max, size_t *n)
{
	const struct py_layout *l = &w->rt->layout;
	*n = 0;
	w->fail = PY_FAIL_NONE;
	raddr_t interp;
	int rc = first_interp(w, &interp);
	if (rc)
		return rc;
	for (int ni = 0; interp; ni++) {
		if (ni >= PY_MAX_INTERPRETERS)
			return FAIL(PY_FAIL_LIMIT, ERR_LIMIT);
		struct interp_info ii;
		rc = read_interp(w, interp, &ii, NULL);
		if (rc)
			return rc;
		raddr_t ts = ii.threads_head;
		for (int nt = 0; ts; nt++) {
			if (nt >= PY_MAX_THREADS)
				return FAIL(PY_FAIL_LIMIT, ERR_LIMIT);
			uint64_t ident = 0, next = 0, owner = 0, native = 0;
			struct mem_iov iov[4] = {
				{ ts + l->ts_thread_id, &ident, 8 },
				{ ts + l->ts_next, &next, 8 },
				{ ts + l->ts_interp, &owner, 8 },
				{ ts + l->ts_native_thread_id, &native, 8 },
			};
			int want = l->ts_native_thread_id != PY_ABSENT ? 4 : 3;
			int got = mem_readv(w->mem, iov, want);
			if (got < 0)
				return FAIL(PY_FAIL_TSTATE, got);
			if (got < want)
				return FAIL(PY_FAIL_TSTATE, ERR_FAULT);
			if (owner != interp)
				return FAIL(PY_FAIL_TSTATE, ERR_CORRUPT);
			bool main = ni == 0 && (ii.threads_main ? ts == ii.threads_main
								: ident && ident == w->main_thread_ident);
			if (w->cfg.all_threads || main) {
				if (*n >= max)
					return FAIL(PY_FAIL_LIMIT, ERR_LIMIT);
				out[(*n)++] = (struct py_thread_ref){
					.tstate = ts,
					.tid = thread_tid(w, ident, native),
					.interp_id = ii.id,
					.main = main,
				};
			}
			ts = next;
		}
		if (!w->cfg.all_threads)
			break;
		interp = ii.next;
	}
	return 0;
}
