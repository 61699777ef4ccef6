#include "py/asyncio.h"

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "py/layout.h"
#include "py/pystr.h"
#include "py/runtime.h"
#include "py/walk.h"

#include <assert.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* A target that has not mapped .AsyncioDebug yet is looked at this often. */
#define FIND_EVERY_NS 2000000ULL
/* Parent addresses gathered in one sample, over all tasks. */
#define MAX_PARENTS_TOTAL (1u << 20)
/* A coroutine object and its frame header, read in one go. */
#define GEN_READ_MAX 1024
/* The part of a thread state read: up to its asyncio fields. */
#define TS_READ_MAX 4096
/* Digits of a task number (int names): 3 x 30 bits cover a u64. */
#define MAX_NAME_DIGITS 3

/* ---- the task graph ----------------------------------------------------- */

void py_async_graph_init(struct py_async_graph *g)
{
	memset(g, 0, sizeof(*g));
	u64map_init(&g->index);
	u64map_init(&g->parent_set);
}

void py_async_graph_release(struct py_async_graph *g)
{
	free(g->tasks);
	free(g->parents);
	free(g->visit);
	u64map_release(&g->index);
	u64map_release(&g->parent_set);
	buf_release(&g->label);
	memset(g, 0, sizeof(*g));
}

void py_async_graph_clear(struct py_async_graph *g)
{
	g->ntasks = 0;
	g->nparents = 0;
	u64map_clear(&g->index);
}

struct py_async_task *py_async_graph_add(struct py_async_graph *g, raddr_t addr, uint64_t tid,
					 uint32_t name, uint32_t first, uint32_t depth)
{
	VEC_RESERVE(g->tasks, g->tasks_cap, g->ntasks + 1);
	struct py_async_task *t = &g->tasks[g->ntasks];
	*t = (struct py_async_task){ addr, tid, name, first, depth, (uint32_t)g->nparents, 0 };
	if (!u64map_get(&g->index, addr))
		u64map_put(&g->index, addr, g->ntasks + 1);
	g->ntasks++;
	return t;
}

void py_async_graph_add_parent(struct py_async_graph *g, raddr_t parent)
{
	assert(g->ntasks > 0);
	VEC_RESERVE(g->parents, g->parents_cap, g->nparents + 1);
	g->parents[g->nparents++] = parent;
	g->tasks[g->ntasks - 1].nparents++;
}

/* The parent Tachyon's collector follows: the lowest address of several. */
static raddr_t chosen_parent(const struct py_async_graph *g, const struct py_async_task *t)
{
	raddr_t best = g->parents[t->first_parent];
	for (uint32_t k = 1; k < t->nparents; k++)
		if (g->parents[t->first_parent + k] < best)
			best = g->parents[t->first_parent + k];
	return best;
}

/* The name on a task's <task> frame. */
static uint32_t task_label(struct py_async_graph *g, const struct py_async_task *t,
			   struct strtab *strings)
{
	size_t len;
	const char *name = strtab_get(strings, t->name, &len);
	if (len && t->nparents <= 1)
		return t->name;
	buf_reset(&g->label);
	if (len)
		buf_append(&g->label, name, len);
	else
		buf_printf(&g->label, "Task-%" PRIu64, (uint64_t)t->addr);
	if (t->nparents > 1)
		buf_printf(&g->label, " (%" PRIu32 " parents)", t->nparents);
	return strtab_intern(strings, g->label.data, g->label.len);
}

int py_async_linearize(struct py_async_graph *g, const struct frame *frames, struct strtab *strings,
		       uint32_t task_file, struct sample *out)
{
	uint64_t time_ns = out->time_ns;
	sample_clear(out);
	out->time_ns = time_ns;
	u64map_clear(&g->parent_set);
	for (size_t i = 0; i < g->nparents; i++)
		u64map_put(&g->parent_set, g->parents[i], 1);
	if (g->ntasks > g->visit_cap) {
		free(g->visit);
		g->visit_cap = g->ntasks;
		g->visit = xmalloc(g->visit_cap * sizeof(*g->visit));
	}
	for (size_t i = 0; i < g->ntasks; i++)
		g->visit[i] = UINT32_MAX;

	uint32_t leaf = 0;
	for (size_t i = 0; i < g->ntasks; i++, leaf++) {
		const struct py_async_task *t = &g->tasks[i];
		const uint64_t *at = u64map_get(&g->index, t->addr);
		/* a leaf awaits no task; a task listed twice counts once */
		if (u64map_get(&g->parent_set, t->addr) || !at || *at != i + 1)
			continue;
		struct thread_sample *th = sample_add_thread(out);
		th->tid = t->tid;
		for (size_t cur = i;;) {
			const struct py_async_task *c = &g->tasks[cur];
			/* a cycle of awaiting tasks ends where it closes */
			if (g->visit[cur] == leaf)
				break;
			g->visit[cur] = leaf;
			if (out->nframes + c->depth + 1 > PY_ASYNC_MAX_OUT_FRAMES) {
				sample_clear(out);
				return ERR_LIMIT;
			}
			struct frame *f = sample_reserve_frames(out, c->depth + 1);
			memcpy(f, frames + c->first, c->depth * sizeof(*f));
			f[c->depth] = (struct frame){ .file = task_file,
						      .func = task_label(g, c, strings),
						      .line = FRAME_NO_LINE, .end_line = -1, .col = -1,
						      .end_col = -1, .opcode = FRAME_NO_OPCODE };
			out->nframes += c->depth + 1;
			th->depth += c->depth + 1;
			if (!c->nparents)
				break;
			const uint64_t *p = u64map_get(&g->index, chosen_parent(g, c));
			if (!p)
				break; /* awaited by something that is not a task we know */
			cur = (size_t)(*p - 1);
		}
	}
	return 0;
}

/* ---- finding and checking .AsyncioDebug --------------------------------- */

void py_asyncio_init(struct py_asyncio *a, struct py_walker *w, struct strtab *strings, int mode)
{
	memset(a, 0, sizeof(*a));
	a->w = w;
	a->strings = strings;
	a->mode = mode;
	a->task_file = strtab_intern_cstr(strings, "<task>");
	sample_init(&a->frames);
	py_async_graph_init(&a->g);
}

void py_asyncio_release(struct py_asyncio *a)
{
	sample_release(&a->frames);
	py_async_graph_release(&a->g);
	free(a->work);
	free(a->buf);
	buf_release(&a->name);
	memset(a, 0, sizeof(*a));
}

bool py_asyncio_supported(const struct py_walker *w)
{
	const struct py_runtime *rt = w->rt;
	return rt->layout.ts_asyncio_tasks_head != PY_ABSENT &&
	       py_asyncio_map_find(rt->major, rt->minor) != NULL;
}


/* A TaskObj field of width bytes must lie inside the task size. */
static bool task_field_ok(uint64_t off, unsigned width, uint64_t size)
{
	return off <= size && width <= size - off;
}

int py_asyncio_find(struct py_asyncio *a, struct errmsg *e)
{
	const struct py_runtime *rt = a->w->rt;
	const struct py_layout *l = &rt->layout;
	const struct py_asyncio_map *am = py_asyncio_map_find(rt->major, rt->minor);
	char v[32];
	if (!py_asyncio_supported(a->w)) {
		errmsg_set(e, "--async-aware needs CPython 3.14 or newer, whose asyncio module "
			   "publishes its tasks; process %d runs Python %s", (int)rt->pid,
			   py_runtime_version_str(rt, v, sizeof(v)));
		return ERR_VERSION;
	}
	raddr_t addr;
	uint64_t size;
	unsigned char d[256];
	/* the offsets are constants: the file's bytes.  The memory at addr
	 * was seen to hold another part of the file (a 3.14 debug build's
	 * _asyncio caught while the loader mapped it: is_size read as
	 * 8649585485808669674), which failed the run as a custom build */
	int rc = py_runtime_find_section(rt->pid, ".AsyncioDebug", &addr, &size, d, sizeof(d));
	if (rc == ERR_NOTFOUND)
		errmsg_set(e, "AsyncioDebug section not available - asyncio module may not be loaded "
			   "in target process %d", (int)rt->pid);
	if (rc)
		return rc;
	if (am->struct_size > sizeof(d) || size != am->struct_size) {
		errmsg_set(e, "the asyncio module of Python %d.%d has an unknown debug layout "
			   "(.AsyncioDebug is %llu bytes, expected %u)", rt->major, rt->minor,
			   (unsigned long long)size, am->struct_size);
		return ERR_VERSION;
	}
	/* a 3.14 target may be between mapping _asyncio and filling in its
	 * data (dlopen): come back once the section reads as the file says */
	unsigned char live[256];
	rc = mem_read(a->w->mem, addr, live, am->struct_size);
	if (rc == ERR_FAULT || (rc == 0 && memcmp(live, d, am->struct_size) != 0))
		return ERR_NOTREADY;
	if (rc)
		return rc;

	/* what strobe knows from the version's headers must match (is_size:
	 * the target's own, from _Py_DebugOffsets) */
	static const struct {
		size_t map_off, layout_off;
		const char *name;
	} same[] = {
#define S(x) { offsetof(struct py_asyncio_map, x), offsetof(struct py_layout, x), #x }
		S(is_size), S(ts_impl_size), S(ts_asyncio_running_loop),
		S(ts_asyncio_running_task), S(ts_asyncio_tasks_head),
#undef S
	};
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		uint32_t pos, want;
		memcpy(&pos, (const char *)am + same[i].map_off, sizeof(pos));
		memcpy(&want, (const char *)l + same[i].layout_off, sizeof(want));
		uint64_t got = rd_u64(d, pos);
		if (got != want) {
			errmsg_set(e, "the asyncio module of Python %d.%d has an unknown layout (%s is %llu, "
				   "expected %u); custom builds are not supported",
				   rt->major, rt->minor, same[i].name, (unsigned long long)got, want);
			return ERR_VERSION;
		}
	}

	/* The interpreter's list of tasks whose thread has gone lies past
	 * fields that only debug builds have (Py_DEBUG moves it by 8 bytes in
	 * 3.14 and 3.15, and nothing else strobe reads): the target's own
	 * number is taken, inside its interpreter state. */
	uint64_t is_head = rd_u64(d, am->is_asyncio_tasks_head);
	if (is_head % 8 || is_head < l->is_threads_head + 8 || is_head > (uint64_t)l->is_size ||
	    l->is_size - is_head < l->llist_prev + 8) {
		errmsg_set(e, "the asyncio debug offsets of process %d are implausible (interpreter "
			   "task list at %llu)", (int)rt->pid, (unsigned long long)is_head);
		return ERR_CORRUPT;
	}

	/* TaskObj is private to _asyncio: its offsets can only be bounded */
	uint64_t tsize = rd_u64(d, am->task_size);
	uint64_t name = rd_u64(d, am->task_name), ab = rd_u64(d, am->task_awaited_by);
	uint64_t is_task = rd_u64(d, am->task_is_task);
	uint64_t ab_set = rd_u64(d, am->task_awaited_by_is_set);
	uint64_t coro = rd_u64(d, am->task_coro), node = rd_u64(d, am->task_node);
	if (tsize < l->ob_type + 8 || tsize > PY_ASYNC_MAX_TASK_SIZE ||
	    !task_field_ok(name, 8, tsize) || !task_field_ok(ab, 8, tsize) ||
	    !task_field_ok(coro, 8, tsize) || !task_field_ok(is_task, 1, tsize) ||
	    !task_field_ok(ab_set, 1, tsize) ||
	    !task_field_ok(node, l->llist_prev + 8, tsize) || node < l->ob_type + 8) {
		errmsg_set(e, "the asyncio debug offsets of process %d are implausible (task size %llu)",
			   (int)rt->pid, (unsigned long long)tsize);
		return ERR_CORRUPT;
	}
	a->off = (struct py_async_offsets){ (uint32_t)tsize, (uint32_t)name, (uint32_t)ab,
					    (uint32_t)is_task, (uint32_t)ab_set, (uint32_t)coro,
					    (uint32_t)node, (uint32_t)is_head };
	if (l->gen_iframe + l->if_size > GEN_READ_MAX || l->if_stackpointer + 8 > l->if_size)
		return ERR_CORRUPT;
	a->debug_addr = addr;
	a->found = true;
	return 0;
}

/* ---- reading tasks ------------------------------------------------------ */

static raddr_t untag(const struct py_asyncio *a, uint64_t v)
{
	/* _PyStackRef and friends may carry Py_TAG_BITS; objects are aligned */
	return v & ~(raddr_t)a->w->rt->layout.executable_tag_mask;
}

/* A buffer for one read (set tables), reused. */
static unsigned char *scratch(struct py_asyncio *a, size_t n)
{
	if (n > a->buf_cap) {
		free(a->buf);
		a->buf_cap = n;
		a->buf = xmalloc(n);
	}
	return a->buf;
}

/* tp_flags of a type, remembered for the rest of the sample. */
static int type_flags(struct py_asyncio *a, raddr_t type, uint64_t *flags)
{
	for (int i = 0; i < a->ntypes; i++)
		if (a->types[i].type == type) {
			*flags = a->types[i].flags;
			return 0;
		}
	int rc = mem_read(a->w->mem, type + a->w->rt->layout.tp_flags, flags, 8);
	if (rc)
		return rc;
	int slot = a->ntypes < 4 ? a->ntypes++ : 0;
	a->types[slot].type = type;
	a->types[slot].flags = *flags;
	return 0;
}

/* A task's name: a str, or an int n for an unnamed task ("Task-n"). */
static int read_name(struct py_asyncio *a, raddr_t addr, uint32_t *id)
{
	const struct py_layout *l = &a->w->rt->layout;
	/* the header and, for an int, its size word and first digit */
	unsigned char hdr[64];
	size_t n = l->long_ob_digit + 4;
	if (!addr || n > sizeof(hdr))
		return ERR_CORRUPT;
	int rc = mem_read(a->w->mem, addr, hdr, n);
	if (rc)
		return rc;
	uint64_t flags;
	rc = type_flags(a, rd_u64(hdr, l->ob_type), &flags);
	if (rc)
		return rc;
	if ((flags >> l->tpflags_long_bit) & 1) {
		uint64_t tag = rd_u64(hdr, l->long_lv_tag);
		uint64_t ndigits = tag >> l->long_non_size_bits;
		uint32_t digits[MAX_NAME_DIGITS] = { rd_u32(hdr, l->long_ob_digit), 0, 0 };
		if (ndigits > MAX_NAME_DIGITS)
			return ERR_CORRUPT;
		if (ndigits > 1 && (rc = mem_read(a->w->mem, addr + l->long_ob_digit + 4, digits + 1,
						  (ndigits - 1) * 4)))
			return rc;
		uint64_t v = 0;
		for (uint64_t k = ndigits; k-- > 0;) {
			if (digits[k] >> l->long_shift || (v >> (64 - l->long_shift)))
				return ERR_CORRUPT;
			v = (v << l->long_shift) | digits[k];
		}
		buf_reset(&a->name);
		switch (tag & l->long_sign_mask) {
		case 0: buf_printf(&a->name, "Task-%" PRIu64, v); break;
		case 1: buf_puts(&a->name, "Task-0"); break;
		case 2: buf_printf(&a->name, "Task--%" PRIu64, v); break;
		default: return ERR_CORRUPT;
		}
	} else if ((flags >> l->tpflags_unicode_bit) & 1) {
		buf_reset(&a->name);
		rc = pystr_read_str(a->w->mem, l, addr, &a->name);
		if (rc)
			return rc;
	} else {
		return ERR_CORRUPT; /* neither: not a task's name */
	}
	*id = strtab_intern(a->strings, a->name.data ? a->name.data : "", a->name.len);
	return 0;
}

/* A suspended coroutine, as read when its awaited object was looked up. */
struct awaiter {
	raddr_t gen;           /* the coroutine object */
	uint64_t ip, sp;       /* its frame's instruction and stack pointers */
	raddr_t slot;          /* where it keeps the awaited object */
	uint64_t awaited;      /* ... and what was there */
};

/* Read the coroutine (or awaited object) at coro into g, span bytes, and
 * see that the coroutine awaiting it (w, when depth > 0) is still where it
 * was when coro was found in it: same instruction, same stack, still
 * suspended on the same object.  The checks are read after the object, in
 * the same call: an awaiter that moved on in between (its awaited object
 * finished, perhaps freed and its memory reused) would chain a coroutine it
 * no longer awaits.  0, ERR_CORRUPT when it moved (a torn read), or the
 * read's error (ERR_FAULT: the object itself was unreadable). */
static int read_awaited(struct py_asyncio *a, raddr_t coro, unsigned char *g, size_t span,
			const struct awaiter *w, int depth)
{
	const struct py_layout *l = &a->w->rt->layout;
	if (depth == 0)
		return mem_read(a->w->mem, coro, g, span);
	uint64_t ip = 0, sp = 0, awaited = 0;
	uint8_t state = 0;
	struct mem_iov iov[5] = {
		{ coro, g, span },
		{ w->gen + l->gen_iframe + l->if_ip, &ip, 8 },
		{ w->gen + l->gen_iframe + l->if_stackpointer, &sp, 8 },
		{ w->gen + l->gen_frame_state, &state, 1 },
		{ w->slot, &awaited, 8 },
	};
	int got = mem_readv(a->w->mem, iov, 5);
	if (got < 0)
		return got;
	if (got == 0)
		return ERR_FAULT;
	if (got < 5)
		return ERR_CORRUPT; /* the awaiter was readable a moment ago */
	if (ip != w->ip || sp != w->sp || (int8_t)state != l->gen_state_yield_from ||
	    awaited != w->awaited)
		return ERR_CORRUPT;
	return 0;
}

/* The suspended coroutine chain from coro onto thread k of a->frames:
 * each coroutine's frame, then, while it waits in "yield from"/await,
 * the object it awaits, as long as that is a coroutine of the same type. */
static int coro_chain(struct py_asyncio *a, size_t k, raddr_t coro)
{
	const struct py_layout *l = &a->w->rt->layout;
	size_t span = l->gen_iframe + l->if_size;
	unsigned char g[GEN_READ_MAX];
	raddr_t type = 0;
	struct awaiter w = { 0 };
	for (int depth = 0; coro; depth++) {
		if (depth >= PY_MAX_FRAMES || a->frames.nframes >= PY_ASYNC_MAX_OUT_FRAMES)
			return ERR_LIMIT;
		int rc = read_awaited(a, coro, g, span, &w, depth);
		if (rc == ERR_FAULT && depth > 0) {
			/* an awaited object smaller than a coroutine (a future at
			 * the end of a mapping) is read again, just its type */
			raddr_t t2;
			if ((rc = mem_read(a->w->mem, coro + l->ob_type, &t2, 8)))
				return rc;
			return t2 == type ? ERR_FAULT : 0;
		}
		if (rc)
			return rc;
		raddr_t t = rd_u64(g, l->ob_type);
		if (depth > 0 && t != type)
			return 0; /* awaiting an iterator, a future: the chain ends */
		type = t;
		int8_t state = (int8_t)rd_u8(g, l->gen_frame_state);
		if (state == l->gen_state_cleared)
			return 0;
		const unsigned char *f = g + l->gen_iframe;
		rc = py_walker_frame(a->w, &a->frames, &a->frames.threads[k], coro + l->gen_iframe, f);
		if (rc)
			return rc;
		if (state != l->gen_state_yield_from)
			return 0;
		/* the awaited object is near the top of the frame's stack */
		uint64_t sp_raw = rd_u64(f, l->if_stackpointer);
		raddr_t sp = untag(a, sp_raw);
		uint64_t awaited, below = 8u * l->gen_yf_slot;
		if (sp < below)
			return 0;
		if ((rc = mem_read(a->w->mem, sp - below, &awaited, 8)))
			return rc;
		w = (struct awaiter){ coro, rd_u64(f, l->if_ip), sp_raw, sp - below, awaited };
		coro = untag(a, awaited);
	}
	return 0;
}

/* Record the tasks of an awaited_by set (a task awaited by several). */
static int read_parent_set(struct py_asyncio *a, raddr_t set)
{
	const struct py_layout *l = &a->w->rt->layout;
	unsigned char hdr[128];
	uint32_t n = l->set_used;
	n = l->set_mask > n ? l->set_mask : n;
	n = l->set_table > n ? l->set_table : n;
	if (n + 8 > sizeof(hdr))
		return ERR_CORRUPT;
	int rc = mem_read(a->w->mem, set, hdr, n + 8);
	if (rc)
		return rc;
	int64_t used = (int64_t)rd_u64(hdr, l->set_used), mask = (int64_t)rd_u64(hdr, l->set_mask);
	raddr_t table = rd_u64(hdr, l->set_table);
	if (mask < 0 || mask >= PY_ASYNC_MAX_PARENTS || ((mask + 1) & mask) || used < 0 ||
	    used > mask + 1 || !table)
		return ERR_CORRUPT;
	size_t bytes = (size_t)(mask + 1) * l->setentry_size;
	unsigned char *t = scratch(a, bytes);
	if ((rc = mem_read(a->w->mem, table, t, bytes)))
		return rc;
	int64_t found = 0;
	for (int64_t i = 0; i <= mask && found < used; i++) {
		const unsigned char *e = t + (size_t)i * l->setentry_size;
		raddr_t key = rd_u64(e, l->setentry_key);
		/* a removed entry keeps a dummy key with hash -1 */
		if (!key || (int64_t)rd_u64(e, l->setentry_hash) == -1)
			continue;
		found++;
		if (a->g.nparents >= MAX_PARENTS_TOTAL)
			return ERR_LIMIT;
		py_async_graph_add_parent(&a->g, untag(a, key));
	}
	return 0;
}

/* Read the task at addr into the graph: name, coroutine frames, parents.
 * walked >= 0: a running task, whose frames (its thread's, down to its
 * coroutine) are already in thread walked of a->frames.  *next gets its
 * task-list successor node.  1 when addr was skipped (seen already, or not
 * a task), else 0 or ERR_*. */
static int add_task(struct py_asyncio *a, raddr_t addr, uint64_t tid, long walked, raddr_t *next)
{
	const struct py_layout *l = &a->w->rt->layout;
	const struct py_async_offsets *o = &a->off;
	unsigned char t[PY_ASYNC_MAX_TASK_SIZE];
	if (a->g.ntasks >= PY_ASYNC_MAX_TASKS)
		return ERR_LIMIT;
	/* a list walk needs the successor even of a task seen already */
	if (!next && u64map_get(&a->g.index, addr))
		return 1;
	int rc = mem_read(a->w->mem, addr, t, o->task_size);
	if (rc)
		return rc;
	if (next)
		*next = rd_u64(t, o->task_node + l->llist_next);
	if (u64map_get(&a->g.index, addr) || !rd_u8(t, o->task_is_task))
		return 1;
	size_t k;
	if (walked >= 0) {
		k = (size_t)walked;
	} else {
		raddr_t coro = untag(a, rd_u64(t, o->task_coro));
		sample_add_thread(&a->frames);
		k = a->frames.nthreads - 1;
		if (coro && (rc = coro_chain(a, k, coro)))
			return rc;
		/* the chain was read from the task's coroutine inwards */
		struct thread_sample *th = &a->frames.threads[k];
		for (uint32_t i = 0, j = th->depth; i + 1 < j; i++, j--) {
			struct frame tmp = a->frames.frames[th->first + i];
			a->frames.frames[th->first + i] = a->frames.frames[th->first + j - 1];
			a->frames.frames[th->first + j - 1] = tmp;
		}
	}
	uint32_t name;
	if ((rc = read_name(a, untag(a, rd_u64(t, o->task_name)), &name)))
		return rc;
	const struct thread_sample *th = &a->frames.threads[k];
	py_async_graph_add(&a->g, addr, tid, name, th->first, th->depth);
	raddr_t ab = untag(a, rd_u64(t, o->task_awaited_by));
	if (!ab)
		return 0;
	if (rd_u8(t, o->task_awaited_by_is_set))
		return read_parent_set(a, ab);
	if (a->g.nparents >= MAX_PARENTS_TOTAL)
		return ERR_LIMIT;
	py_async_graph_add_parent(&a->g, ab);
	return 0;
}

/* --async-mode all: every task of the circular list at head, whose first
 * node is first. */
static int read_task_list(struct py_asyncio *a, raddr_t head, raddr_t first, uint64_t tid)
{
	raddr_t node = first;
	for (size_t n = 0; node != head; n++) {
		if (n >= PY_ASYNC_MAX_TASKS)
			return ERR_LIMIT;
		if (!node || node < a->off.task_node)
			return ERR_CORRUPT;
		raddr_t next = 0;
		int rc = add_task(a, node - a->off.task_node, tid, -1, &next);
		if (rc < 0)
			return rc;
		node = next;
	}
	return 0;
}

/* --async-mode running: a thread's running task, then every task awaiting
 * it, and every task awaiting those, ... (each once). */
static int read_running(struct py_asyncio *a, raddr_t tstate, raddr_t interp, uint64_t tid)
{
	/* the task and its frames in one go (py_walker_task_thread) */
	if (a->frames.nframes + PY_MAX_FRAMES > PY_ASYNC_MAX_OUT_FRAMES)
		return ERR_LIMIT;
	raddr_t task;
	int rc = py_walker_task_thread(a->w, &a->frames, tstate, interp, a->off.task_coro, &task);
	if (rc || !task)
		return rc;
	rc = add_task(a, task, tid, (long)a->frames.nthreads - 1, NULL);
	if (rc)
		return rc < 0 ? rc : 0;
	a->nwork = 0;
	for (size_t from = a->g.ntasks - 1;;) {
		/* queue the parents of the tasks added since the last round */
		for (; from < a->g.ntasks; from++) {
			const struct py_async_task *t = &a->g.tasks[from];
			for (uint32_t p = 0; p < t->nparents; p++) {
				if (a->nwork >= MAX_PARENTS_TOTAL)
					return ERR_LIMIT;
				VEC_RESERVE(a->work, a->work_cap, a->nwork + 1);
				a->work[a->nwork++] = a->g.parents[t->first_parent + p];
			}
		}
		if (!a->nwork)
			return 0;
		rc = add_task(a, a->work[--a->nwork], tid, -1, NULL);
		if (rc < 0)
			return rc;
	}
}

/* The thread states of the first interpreter, their tasks into the graph. */
static int gather(struct py_asyncio *a)
{
	const struct py_runtime *rt = a->w->rt;
	const struct py_layout *l = &rt->layout;
	py_async_graph_clear(&a->g);
	sample_clear(&a->frames);
	a->ntypes = 0;

	raddr_t interp = 0;
	int rc = mem_read(a->w->mem, rt->runtime_addr + l->rt_interpreters_head, &interp, 8);
	if (rc)
		return rc;
	if (!interp)
		return ERR_NOTREADY;
	raddr_t threads = 0;
	unsigned char node[16]; /* the interpreter's task list head */
	struct mem_iov iov[2] = {
		{ interp + l->is_threads_head, &threads, 8 },
		{ interp + a->off.is_tasks_head, node, sizeof(node) },
	};
	int got = mem_readv(a->w->mem, iov, 2);
	if (got < 0)
		return got;
	if (got < 2)
		return ERR_FAULT;

	/* what is needed of each thread state */
	uint32_t span = 0, ends[] = { l->ts_next + 8, l->ts_interp + 8, l->ts_native_thread_id + 8,
				      l->ts_asyncio_running_loop + 8, l->ts_asyncio_running_task + 8,
				      l->ts_asyncio_tasks_head + 16 };
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
		span = ends[i] > span ? ends[i] : span;
	unsigned char b[TS_READ_MAX];
	if (span > sizeof(b))
		return ERR_CORRUPT;
	raddr_t ts = threads;
	for (int n = 0; ts; n++) {
		if (n >= PY_MAX_THREADS)
			return ERR_LIMIT;
		if ((rc = mem_read(a->w->mem, ts, b, span)))
			return rc;
		if (rd_u64(b, l->ts_interp) != interp)
			return ERR_CORRUPT;
		raddr_t next = rd_u64(b, l->ts_next);
		uint64_t tid = rd_u64(b, l->ts_native_thread_id);
		if (a->mode == PY_ASYNC_RUNNING) {
			/* whether a task runs, and which, is read with the
			 * thread's frames, in one copy of its state */
			raddr_t loop = untag(a, rd_u64(b, l->ts_asyncio_running_loop));
			if (loop && (rc = read_running(a, ts, interp, tid)))
				return rc;
		} else {
			raddr_t list = ts + l->ts_asyncio_tasks_head;
			raddr_t first = rd_u64(b, l->ts_asyncio_tasks_head + l->llist_next);
			if ((rc = read_task_list(a, list, first, tid)))
				return rc;
		}
		ts = next;
	}
	/* tasks whose thread has gone (Tachyon reports them on thread 0) */
	if (a->mode == PY_ASYNC_ALL) {
		raddr_t list = interp + a->off.is_tasks_head;
		if ((rc = read_task_list(a, list, rd_u64(node, l->llist_next), 0)))
			return rc;
	}
	return 0;
}

int py_asyncio_sample(struct py_asyncio *a, struct sample *s)
{
	struct py_walker *w = a->w;
	sample_clear(s);
	s->time_ns = clock_now_ns();
	w->fail = PY_FAIL_NONE;
	if (!a->found) {
		if (s->time_ns < a->next_find_ns)
			return ERR_NOTREADY;
		a->next_find_ns = s->time_ns + FIND_EVERY_NS;
		int rc = py_asyncio_find(a, NULL);
		if (rc == ERR_NOPROC)
			return rc;
		if (rc)
			return ERR_NOTREADY;
	}
	py_code_sweep(&w->codes, s->time_ns);
	int rc = gather(a);
	if (rc == 0)
		rc = py_async_linearize(&a->g, a->frames.frames, a->strings, a->task_file, s);
	w->stats.samples++;
	if (rc) {
		sample_clear(s);
		/* a failure the frame walker did not name is in the task chain */
		py_walker_count_failure(w, py_walker_fail(w, PY_FAIL_ASYNC, rc));
		return rc;
	}
	w->stats.frames += s->nframes;
	return 0;
}
