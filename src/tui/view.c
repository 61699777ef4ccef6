#include "tui/view.h"

#include "tui/text.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Tachyon's TrendTracker.CHANGE_THRESHOLD */
#define TREND_THRESHOLD 0.001

/* Grow *p (elsize-byte elements, *cap of them) to hold need, zero-filling
 * the new part. */
static void grow_zero(void **p, size_t *cap, size_t need, size_t elsize)
{
	if (need <= *cap)
		return;
	size_t n = *cap ? *cap : 16;
	while (n < need)
		n *= 2;
	*p = xrealloc(*p, n * elsize);
	memset((char *)*p + *cap * elsize, 0, (n - *cap) * elsize);
	*cap = n;
}

void view_init(struct view *v, const struct profile *p, uint64_t interval_us, bool opcodes)
{
	memset(v, 0, sizeof(*v));
	v->p = p;
	v->interval_s = (double)interval_us / 1e6;
	v->opcodes = opcodes;
	v->trends = true;
	v->fgen = 1;
	rectab_init(&v->locs, sizeof(struct frame_line));
	u64map_init(&v->opc);
}

static void thread_clear(struct view_thread *th)
{
	u64map_clear(&th->slot);
	th->ncounts = 0;
	th->samples = 0;
	th->nexec = 0;
	th->listed = false;
}

void view_release(struct view *v)
{
	for (size_t i = 0; i < v->threads_cap; i++) {
		u64map_release(&v->threads[i].slot);
		free(v->threads[i].counts);
	}
	free(v->threads);
	free(v->list);
	free(v->base);
	free(v->frame_loc);
	free(v->seen);
	free(v->direct);
	free(v->cum);
	free(v->order);
	free(v->stamp);
	free(v->prev);
	free(v->tracked);
	free(v->fmatch);
	free(v->filter);
	u64map_release(&v->opc);
	rectab_release(&v->locs);
	buf_release(&v->scratch);
	memset(v, 0, sizeof(*v));
}

/* Make the per-location arrays hold n locations. */
static void locs_reserve(struct view *v, size_t n)
{
	if (n <= v->loc_cap)
		return;
	size_t cap = v->loc_cap, c;
	c = cap; grow_zero((void **)&v->direct, &c, n, sizeof(*v->direct));
	c = cap; grow_zero((void **)&v->cum, &c, n, sizeof(*v->cum));
	c = cap; grow_zero((void **)&v->order, &c, n, sizeof(*v->order));
	c = cap; grow_zero((void **)&v->stamp, &c, n, sizeof(*v->stamp));
	c = cap; grow_zero((void **)&v->tracked, &c, n, sizeof(*v->tracked));
	c = cap; grow_zero((void **)&v->fmatch, &c, n, sizeof(*v->fmatch));
	size_t pc = cap * VIEW_NCOLS;
	grow_zero((void **)&v->prev, &pc, c * VIEW_NCOLS, sizeof(*v->prev));
	v->loc_cap = c;
}

static uint32_t loc_of(struct view *v, uint32_t frame)
{
	uint32_t l = v->frame_loc[frame];
	if (l != UINT32_MAX)
		return l;
	const struct profile_frame *f = profile_frame_get(v->p, frame);
	struct frame_line key = frame_line_of(f->file, f->func, f->line);
	l = rectab_intern(&v->locs, &key, NULL);
	locs_reserve(v, v->locs.count);
	v->frame_loc[frame] = l;
	return l;
}

static struct view_thread *thread_get(struct view *v, uint32_t pthread)
{
	if (pthread >= v->threads_cap) {
		size_t old = v->threads_cap;
		grow_zero((void **)&v->threads, &v->threads_cap, (size_t)pthread + 1,
			  sizeof(*v->threads));
		for (size_t i = old; i < v->threads_cap; i++) {
			v->threads[i].pthread = (uint32_t)i;
			u64map_init(&v->threads[i].slot);
		}
	}
	struct view_thread *th = &v->threads[pthread];
	if (!th->listed) {
		th->listed = true;
		VEC_RESERVE(v->list, v->list_cap, v->nlist + 1);
		v->list[v->nlist++] = pthread;
	}
	return th;
}

static struct view_count *thread_count(struct view_thread *th, uint32_t loc)
{
	uint64_t *idx = u64map_get(&th->slot, loc);
	if (idx)
		return &th->counts[*idx];
	VEC_RESERVE(th->counts, th->cap, th->ncounts + 1);
	struct view_count *c = &th->counts[th->ncounts];
	*c = (struct view_count){ .loc = loc };
	u64map_put(&th->slot, loc, th->ncounts++);
	return c;
}

/* Add d samples of the stack ending at node, seen on profile thread pthread. */
static void add_stack(struct view *v, uint32_t node, uint32_t pthread, uint64_t d)
{
	const struct profile *p = v->p;
	struct view_thread *th = thread_get(v, pthread);
	th->samples += d;
	if (++v->gen == 0) {
		memset(v->stamp, 0, v->loc_cap * sizeof(*v->stamp));
		v->gen = 1;
	}
	bool inner = true;
	while (node != PROFILE_NO_NODE) {
		const struct profile_node *n = profile_node_get(p, node);
		uint32_t loc = loc_of(v, n->frame);
		struct view_count *c = thread_count(th, loc);
		/* cumulative first, innermost frame first: that is the order in
		 * which Tachyon's dict first sees locations, which ties keep */
		if (v->stamp[loc] != v->gen) {
			v->stamp[loc] = v->gen;
			if (v->cum[loc] == 0) {
				v->nfuncs++;
				v->order[loc] = v->seq++;
			}
			v->cum[loc] += d;
			c->cum += d;
		}
		if (inner) {
			v->nexec += v->direct[loc] == 0;
			v->direct[loc] += d;
			th->nexec += c->direct == 0;
			c->direct += d;
			int op = profile_frame_get(p, n->frame)->opcode;
			if (v->opcodes && op >= 0 && op < 256) {
				uint64_t key = (uint64_t)loc << 8 | (uint64_t)op;
				uint64_t *cnt = u64map_get(&v->opc, key);
				u64map_put(&v->opc, key, (cnt ? *cnt : 0) + d);
			}
			inner = false;
		}
		node = n->parent;
	}
}

/* Size the per-entry and per-frame arrays for what the profile holds now. */
static void catch_up_sizes(struct view *v)
{
	const struct profile *p = v->p;
	grow_zero((void **)&v->seen, &v->seen_cap, p->nentries, sizeof(*v->seen));
	if (p->frames.count > v->nframes) {
		VEC_RESERVE(v->frame_loc, v->frame_loc_cap, p->frames.count);
		for (size_t i = v->nframes; i < p->frames.count; i++)
			v->frame_loc[i] = UINT32_MAX;
		v->nframes = p->frames.count;
	}
}

void view_update(struct view *v)
{
	const struct profile *p = v->p;
	catch_up_sizes(v);
	for (size_t i = 0; i < p->nentries; i++) {
		const struct profile_entry *e = &p->entries[i];
		if (e->count == v->seen[i])
			continue;
		assert(e->count > v->seen[i]);
		uint64_t d = e->count - v->seen[i];
		v->seen[i] = e->count;
		add_stack(v, e->node, e->thread, d);
	}
}

void view_reset(struct view *v)
{
	const struct profile *p = v->p;
	catch_up_sizes(v);
	for (size_t i = 0; i < p->nentries; i++)
		v->seen[i] = p->entries[i].count;
	size_t n = v->loc_cap;
	memset(v->direct, 0, n * sizeof(*v->direct));
	memset(v->cum, 0, n * sizeof(*v->cum));
	memset(v->order, 0, n * sizeof(*v->order));
	memset(v->tracked, 0, n * sizeof(*v->tracked));
	v->nfuncs = v->nexec = v->seq = 0;
	for (size_t i = 0; i < v->threads_cap; i++)
		thread_clear(&v->threads[i]);
	v->nlist = 0;
	grow_zero((void **)&v->base, &v->base_cap, p->threads.count, sizeof(*v->base));
	for (size_t i = 0; i < p->threads.count; i++)
		v->base[i] = *profile_thread_status(p, (uint32_t)i);
	u64map_clear(&v->opc);
}

uint64_t view_thread_tid(const struct view *v, size_t i)
{
	return profile_thread_get(v->p, v->list[i])->tid;
}

static void status_add(const struct view *v, uint32_t pthread, struct view_status *o)
{
	const struct profile_status *s = profile_thread_status(v->p, pthread);
	struct profile_status zero = { 0 };
	const struct profile_status *b = pthread < v->base_cap ? &v->base[pthread] : &zero;
	o->total += s->total - b->total;
	o->has_gil += s->has_gil - b->has_gil;
	o->on_cpu += s->on_cpu - b->on_cpu;
	o->gil_requested += s->gil_requested - b->gil_requested;
	o->has_exception += s->has_exception - b->has_exception;
	o->gc += s->gc - b->gc;
}

void view_status(const struct view *v, long i, struct view_status *out)
{
	memset(out, 0, sizeof(*out));
	if (i < 0) {
		for (size_t t = 0; t < v->p->threads.count; t++)
			status_add(v, (uint32_t)t, out);
		return;
	}
	assert((size_t)i < v->nlist);
	uint32_t pthread = v->list[i];
	status_add(v, pthread, out);
	out->samples = v->threads[pthread].samples;
}

void view_set_filter(struct view *v, const char *pattern)
{
	free(v->filter);
	v->filter = pattern && *pattern ? xstrdup(pattern) : NULL;
	if (++v->fgen >= (UINT32_MAX >> 1)) {
		memset(v->fmatch, 0, v->loc_cap * sizeof(*v->fmatch));
		v->fgen = 1;
	}
}

/* Tachyon's filter: the pattern in the file name, the function name or
 * "file:function", ignoring case; "file:function" contains the other two. */
static bool passes(struct view *v, uint32_t loc)
{
	if (!v->filter)
		return true;
	uint32_t m = v->fmatch[loc];
	if (m >> 1 == v->fgen)
		return m & 1;
	const struct frame_line *l = view_loc_get(v, loc);
	buf_reset(&v->scratch);
	buf_puts(&v->scratch, profile_str(v->p, l->file));
	buf_putc(&v->scratch, ':');
	buf_puts(&v->scratch, profile_str(v->p, l->func));
	bool ok = text_contains_nocase(v->scratch.data, v->filter);
	v->fmatch[loc] = v->fgen << 1 | ok;
	return ok;
}

/* Row a ranks before row b for column col. */
static bool before(const struct view_row *a, const struct view_row *b, int col)
{
	if (a->value[col] != b->value[col])
		return a->value[col] > b->value[col];
	return a->order < b->order;
}

/* The table holds a heap with the row that ranks last at the root. */
static void sift_down(struct view_row *h, size_t n, size_t i, int col)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, worst = i;
		if (l < n && before(&h[worst], &h[l], col))
			worst = l;
		if (r < n && before(&h[worst], &h[r], col))
			worst = r;
		if (worst == i)
			return;
		struct view_row t = h[i];
		h[i] = h[worst];
		h[worst] = t;
		i = worst;
	}
}

static void heap_push(struct view_table *t, size_t k, const struct view_row *row, int col)
{
	if (k == 0)
		return;
	if (t->nrows < k) {
		size_t i = t->nrows++;
		t->rows[i] = *row;
		while (i > 0) {
			size_t parent = (i - 1) / 2;
			if (!before(&t->rows[parent], &t->rows[i], col))
				break;
			struct view_row tmp = t->rows[i];
			t->rows[i] = t->rows[parent];
			t->rows[parent] = tmp;
			i = parent;
		}
	} else if (before(row, &t->rows[0], col)) {
		t->rows[0] = *row;
		sift_down(t->rows, t->nrows, 0, col);
	}
}

static void consider(struct view *v, struct view_table *t, size_t k, int col, uint32_t loc,
		     uint64_t order, uint64_t direct, uint64_t cum, uint64_t successful)
{
	if (!passes(v, loc))
		return;
	struct view_row r = { .loc = loc, .order = order, .direct = direct, .cum = cum };
	r.value[VIEW_NSAMPLES] = (double)direct;
	r.value[VIEW_TOTTIME] = (double)direct * v->interval_s;
	r.value[VIEW_CUMTIME] = (double)cum * v->interval_s;
	r.value[VIEW_SAMPLE_PCT] = successful ? (double)direct / (double)successful * 100 : 0;
	r.value[VIEW_CUMUL_PCT] = successful ? (double)cum / (double)successful * 100 : 0;
	/* Tachyon's TrendTracker: every build compares with the previous one */
	double *prev = &v->prev[(size_t)loc * VIEW_NCOLS];
	for (int c = 0; c < VIEW_NCOLS; c++) {
		double x = r.value[c], was = v->tracked[loc] ? prev[c] : x;
		r.trend[c] = x > was + TREND_THRESHOLD ? TREND_UP
			     : x < was - TREND_THRESHOLD ? TREND_DOWN : TREND_STABLE;
		prev[c] = x;
	}
	v->tracked[loc] = 1;
	heap_push(t, k, &r, col);
}

void view_build(struct view *v, long thread, enum view_col sort, size_t max_rows,
		uint64_t successful, struct view_table *t)
{
	int col = (int)sort;
	VEC_RESERVE(t->rows, t->cap, max_rows ? max_rows : 1);
	t->nrows = 0;
	/* Shares are of the successful samples, as Tachyon's; with every
	 * thread sampled (-a) one sample holds several stacks, and shares of
	 * the samples summed above 100%: they are of the stacks then. */
	uint64_t stacks = 0;
	if (thread < 0)
		for (size_t i = 0; i < v->nlist; i++)
			stacks += v->threads[v->list[i]].samples;
	else
		stacks = v->threads[v->list[thread]].samples;
	if (stacks > successful)
		successful = stacks;
	if (thread < 0) {
		t->nfuncs = v->nfuncs;
		t->nexec = v->nexec;
		for (uint32_t loc = 0; loc < v->locs.count; loc++)
			if (v->cum[loc])
				consider(v, t, max_rows, col, loc, v->order[loc], v->direct[loc],
					 v->cum[loc], successful);
	} else {
		assert((size_t)thread < v->nlist);
		const struct view_thread *th = &v->threads[v->list[thread]];
		t->nfuncs = th->ncounts;
		t->nexec = th->nexec;
		for (size_t i = 0; i < th->ncounts; i++) {
			const struct view_count *c = &th->counts[i];
			consider(v, t, max_rows, col, c->loc, i, c->direct, c->cum, successful);
		}
	}
	/* heap sort: the last-ranking row goes to the end, and so on */
	for (size_t end = t->nrows; end > 1; end--) {
		struct view_row tmp = t->rows[0];
		t->rows[0] = t->rows[end - 1];
		t->rows[end - 1] = tmp;
		sift_down(t->rows, end - 1, 0, col);
	}
}

void view_table_release(struct view_table *t)
{
	free(t->rows);
	memset(t, 0, sizeof(*t));
}

size_t view_opcodes(const struct view *v, uint32_t loc, int *ops, uint64_t *counts, size_t max,
		    uint64_t *total)
{
	int all[256];
	uint64_t cnt[256];
	size_t n = 0;
	*total = 0;
	for (int op = 0; op < 256; op++) {
		uint64_t *c = u64map_get(&v->opc, (uint64_t)loc << 8 | (uint64_t)op);
		if (!c || !*c)
			continue;
		all[n] = op;
		cnt[n++] = *c;
		*total += *c;
	}
	/* most frequent first; insertion sort: at most 256 */
	for (size_t i = 1; i < n; i++) {
		int o = all[i];
		uint64_t c = cnt[i];
		size_t j = i;
		while (j > 0 && cnt[j - 1] < c) {
			all[j] = all[j - 1];
			cnt[j] = cnt[j - 1];
			j--;
		}
		all[j] = o;
		cnt[j] = c;
	}
	for (size_t i = 0; i < n && i < max; i++) {
		ops[i] = all[i];
		counts[i] = cnt[i];
	}
	return n;
}
