/* heatmap.c - the line heat map (--heatmap): a directory with index.html
 * and one page per source file (file_0000.html, file_0001.html, ... in
 * order of samples), as Tachyon's HeatmapCollector lays it out, with
 * strobe's own pages (src/format/heatmap/, embedded at build time).
 *
 * What is counted, as Tachyon counts it (CPython 3.15 heatmap_collector):
 * - only frames of real files: not "<...>", "[...]", "~", ".", "...", not
 *   empty, not ("__init__", line 0); lines below 0 are left out;
 * - total (cumulative) samples of a line: the samples whose stack holds the
 *   line at least once (a recursive line counts once per sample);
 * - self samples of a line: the samples whose innermost frame is on it;
 * - a file's total is the sum of its lines' totals; files are sorted by
 *   it, descending (first seen first among equals);
 * - opcodes (--opcodes): per line, samples per executing opcode over every
 *   frame on the line (not deduplicated), with the distinct column spans.
 *
 * Navigation is strobe's own, computed from the same stacks: a line that
 * calls into another function lists its callees (samples per callee, a
 * link to the callee's first sampled line); every sampled line of a
 * function lists the call sites that called the function (samples per
 * call site, a link to the calling line).  A function's anchor is its
 * lowest sampled line, which does not depend on sample order.
 *
 * Cost: the heat map is a stream.  It counts each thread stack as it comes
 * (model/stackids.c names the frames, so what a frame means - its line,
 * function, call site - is worked out once per distinct frame), and keeps
 * counts per line, per frame and per call edge, never stacks: memory grows
 * with distinct frames, lines and edges, not with stacks or samples.  Every
 * table keeps the order of first sight, frames from the root inwards, so
 * the pages are the same as those made from the whole profile.
 */
#include "format/out.h"

#include "base/buf.h"
#include "base/counts.h"
#include "base/error.h"
#include "base/hash.h"
#include "base/intern.h"
#include "base/json.h"
#include "base/pytext.h"
#include "model/profile.h"
#include "model/stackids.h"
#include "format/embed.h"
#include "format/htmlenc.h"
#include "format/outfile.h"
#include "format/pymodule.h"
#include "format/template.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The page parts (src/format/heatmap/), embedded at build time. */
__asm__(OUT_EMBED(out_hm_index_html, "src/format/heatmap/index.html")
	OUT_EMBED(out_hm_file_html, "src/format/heatmap/file.html")
	OUT_EMBED(out_hm_css, "src/format/heatmap/heatmap.css")
	OUT_EMBED(out_hm_js, "src/format/heatmap/heatmap.js"));

extern const char out_hm_index_html[];
extern const char out_hm_file_html[];
extern const char out_hm_css[];
extern const char out_hm_js[];

#define NONE UINT32_MAX
/* What the sources of all the pages of one heat map may hold together,
 * as read: bytes, and lines, as every line is a row of its page (some 90
 * bytes of HTML before its text) and a page is built whole in memory.  A
 * target may name its code after large files, or one file under many
 * names, each a page of its own; a file that does not fit is shown as not
 * available. */
#define SOURCE_BUDGET_BYTES (32u << 20)
#define SOURCE_BUDGET_LINES (1u << 20)
#define MAX_NAV_ITEMS 50             /* callers / callees listed per line */
#define MAX_SPANS 16                 /* column spans listed per opcode */

/* ------------------------------------------------------------------ */
/* Record keys (rectab: no padding)                                    */

struct k_file { uint32_t str; };                       /* -> file index */
struct k_line { uint32_t file; int32_t line; };        /* file index */
struct k_fn { uint32_t file_str, func_str; };
/* A line with a function on it, as a call site; also the functions of
 * each line.  Ids in the order frames are first seen. */
struct k_site { uint32_t lk, fn; };
struct k_op { uint32_t lk; int32_t op; };
struct k_span { uint32_t lkop; int32_t end_line, col, end_col; };

struct hm_file {
	uint32_t str;           /* profile string id of the path */
	uint64_t total, self;
	uint64_t max_total, max_self;
	uint32_t nlines;        /* distinct lines with samples */
	uint32_t page;          /* page number, in order of total; NONE: none */
};

/* Records grouped by a key: order[off[g] .. off[g+1]) are the records of
 * group g. */
struct groups {
	uint32_t *off;
	uint32_t *order;
};

/* Where a navigation button leads: n targets, sum samples, the target when
 * there is only one. */
struct nav {
	size_t n;
	uint64_t sum;
	uint32_t page;
	int32_t line;
};

/* The call edges: a call from a site (a caller's line and function) into
 * a function, ids in first-seen order, with samples per edge.  A line's
 * callees are its edges summed by callee (at the end): every call counted
 * into a callee from a line is counted into one of the line's sites. */
struct edges {
	uint64_t *key;          /* per edge: callee function << 32 | site */
	size_t n, cap;
	struct counts samples;
	uint32_t *slots;        /* edge + 1, 0: empty (only while streaming) */
	size_t nslots;
};

/* A thread's last stack, root first (k: depth from the root): its lines,
 * the edge into the frame at k and the frame's opcode record (NONE: not
 * counted), with the samples that repeated it, not counted yet. */
struct hm_memo {
	uint32_t *lk, *edge, *op;
	size_t depth, cap;
	uint64_t weight;
};

/* A callee of one line, summed over its sites' edges */
struct callee {
	uint32_t fn, first;     /* the callee; its first edge (first-seen order) */
	uint64_t samples;
};

/* Memory while streaming: per frame (by stack_ids id) 8 bytes, or 12 with
 * opcodes; per line, site and function a record and its counts; per edge
 * 12 bytes and its hash slot; per thread its last stack. */
struct hm {
	const struct profile *p;     /* at close: strings and the run's figures */
	const struct out_request *req;
	struct outdir *dir;          /* at close: where the pages go */
	struct errmsg why;           /* why a page could not be written */
	struct stack_ids ids;        /* frame ids of the streamed stacks */
	/* per frame id: function + 1 (0: not seen yet), site (NONE: its line
	 * is not counted) and opcode record (NONE; f_op is NULL until the
	 * first frame with an opcode) */
	uint32_t *f_fn1, *f_site, *f_op;
	size_t f_len, f_cap;
	struct rectab sites;         /* struct k_site */
	struct hm_memo *memo;        /* per stack_ids thread */
	size_t memo_cap;
	struct idset seen;           /* the lines of the stack being counted */
	struct rectab files, lines, fns, ops, spans;
	struct edges edges;
	struct counts cum, self;     /* per line key */
	struct counts op_n;          /* per opcode record: every frame on it */
	uint8_t *fn_graph;           /* per function: whether callers see it */
	int32_t *fn_anchor;          /* per function: lowest sampled line, or 0 */
	uint32_t *fn_lk;             /* per function: line key of the anchor */
	size_t fn_cap;
	struct hm_file *fv;          /* per file index */
	uint32_t *fn_stamp;          /* per function: page + 1 its callers were listed on */
	struct nav *fn_nav;          /* per function: its callers */
	uint32_t *fn_mark, *fn_pos;  /* per function: gathering a line's callees */
	uint32_t mark;
	struct callee *callees;      /* a line's callees */
	size_t callees_cap;
	uint32_t *by_total;          /* file indices in page order */
	size_t npages;
	uint64_t total_samples;
	bool has_ops;
	struct groups g_lines;       /* line keys by file, sorted by line */
	struct groups g_callees;     /* edges by caller line */
	struct groups g_callers;     /* edges by callee function, most samples first */
	struct groups g_sites;       /* sites (functions) by line */
	struct groups g_ops;         /* opcode records by line */
	struct groups g_spans;       /* spans by opcode record */
	struct pymod names;          /* module names and kinds of files */
	size_t src_bytes, src_lines; /* source still allowed (SOURCE_BUDGET_*) */
};

static bool file_counts(const char *s, size_t n)
{
	if (n == 0 || s[0] == '<' || s[0] == '[')
		return false;
	if ((n == 1 && (s[0] == '~' || s[0] == '.')) || (n == 3 && memcmp(s, "...", 3) == 0))
		return false;
	return true;
}

/* Tachyon leaves "<...>" and "[...]" callees out of its call graph. */
static bool file_in_graph(const char *s, size_t n)
{
	return !(n && (s[0] == '<' || s[0] == '['));
}

/* ------------------------------------------------------------------ */
/* Edges: open addressing over packed keys                             */

static size_t edge_home(uint64_t key, size_t nslots)
{
	return (size_t)(((hash_u64(key) & 0xffffffffu) * (uint64_t)nslots) >> 32);
}

static void edges_rehash(struct edges *e)
{
	free(e->slots);
	e->nslots = e->nslots ? e->nslots + e->nslots / 2 : 1024;
	e->slots = xcalloc(e->nslots, sizeof(*e->slots));
	for (size_t id = 0; id < e->n; id++) {
		size_t i = edge_home(e->key[id], e->nslots);
		while (e->slots[i])
			i = i + 1 == e->nslots ? 0 : i + 1;
		e->slots[i] = (uint32_t)id + 1;
	}
}

static uint32_t edge_intern(struct edges *e, uint32_t callee_fn, uint32_t site)
{
	uint64_t key = (uint64_t)callee_fn << 32 | site;
	if ((e->n + 1) * 4 > e->nslots * 3)
		edges_rehash(e);
	size_t i = edge_home(key, e->nslots);
	for (; e->slots[i]; i = i + 1 == e->nslots ? 0 : i + 1)
		if (e->key[e->slots[i] - 1] == key)
			return e->slots[i] - 1;
	VEC_RESERVE(e->key, e->cap, e->n + 1);
	e->key[e->n] = key;
	e->slots[i] = (uint32_t)++e->n;
	counts_resize(&e->samples, e->n);
	return (uint32_t)e->n - 1;
}

static uint32_t edge_fn(const struct edges *e, uint32_t id)
{
	return (uint32_t)(e->key[id] >> 32);
}

static uint32_t edge_site(const struct edges *e, uint32_t id)
{
	return (uint32_t)e->key[id];
}

/* Counting sort of n records by group key key[i] (< ngroups). */
static void group_by(struct groups *g, const uint32_t *key, size_t n, size_t ngroups)
{
	g->off = xcalloc(ngroups + 1, sizeof(uint32_t));
	g->order = xmalloc((n ? n : 1) * sizeof(uint32_t));
	for (size_t i = 0; i < n; i++)
		g->off[key[i] + 1]++;
	for (size_t i = 0; i < ngroups; i++)
		g->off[i + 1] += g->off[i];
	uint32_t *pos = xmalloc((ngroups ? ngroups : 1) * sizeof(uint32_t));
	memcpy(pos, g->off, ngroups * sizeof(uint32_t));
	for (size_t i = 0; i < n; i++)
		g->order[pos[key[i]]++] = (uint32_t)i;
	free(pos);
}

static void groups_release(struct groups *g)
{
	free(g->off);
	free(g->order);
}

/* Sort each group's slice by a count, descending; ties keep record order. */
static int by_count_desc(const void *a, const void *b, void *ctx)
{
	const struct counts *n = ctx;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	uint64_t nx = counts_get(n, x), ny = counts_get(n, y);
	if (nx != ny)
		return nx > ny ? -1 : 1;
	return x < y ? -1 : x > y;
}

static void sort_groups(struct groups *g, size_t ngroups, const struct counts *counts)
{
	for (size_t i = 0; i < ngroups; i++) {
		uint32_t n = g->off[i + 1] - g->off[i];
		if (n > 1)
			qsort_r(g->order + g->off[i], n, sizeof(uint32_t), by_count_desc,
				(void *)counts);
	}
}

/* ------------------------------------------------------------------ */
/* Counting                                                           */

static uint32_t intern_fn(struct hm *h, const struct frame *f, const char *fs, size_t flen)
{
	struct k_fn kf = { f->file, f->func };
	int added;
	uint32_t fn = rectab_intern(&h->fns, &kf, &added);
	if (added) {
		if (fn >= h->fn_cap) {
			size_t cap = h->fn_cap;
			VEC_RESERVE(h->fn_graph, cap, (size_t)fn + 1);
			h->fn_anchor = xrealloc(h->fn_anchor, cap * sizeof(*h->fn_anchor));
			h->fn_lk = xrealloc(h->fn_lk, cap * sizeof(*h->fn_lk));
			h->fn_cap = cap;
		}
		h->fn_graph[fn] = file_in_graph(fs, flen);
		h->fn_anchor[fn] = 0;
		h->fn_lk[fn] = NONE;
	}
	return fn;
}

/* The opcode record of frame fid: NONE until the first. */
static void set_op(struct hm *h, uint32_t fid, uint32_t op)
{
	if (!h->f_op) {
		h->f_op = xmalloc(h->f_cap * sizeof(*h->f_op));
		for (size_t i = 0; i < h->f_len; i++)
			h->f_op[i] = NONE;
	}
	h->f_op[fid] = op;
}

/* What frame fid means, worked out when it is first seen (frames of a
 * stack from the root inwards, as the profile would intern them): its
 * function, and when it counts, its file, line, site and opcode. */
static void frame_info(struct hm *h, const struct strtab *strings, uint32_t fid)
{
	const struct frame *f = stack_ids_frame(&h->ids, fid);
	size_t flen;
	const char *fs = strtab_get(strings, f->file, &flen);
	uint32_t fn = intern_fn(h, f, fs, flen);
	h->f_fn1[fid] = fn + 1;
	int32_t line = f->line < 0 ? -1 : f->line;
	if (line < 0 || !file_counts(fs, flen) ||
	    (line == 0 && flen == 8 && memcmp(fs, "__init__", 8) == 0))
		return;
	struct k_file kfile = { f->file };
	uint32_t fi = rectab_intern(&h->files, &kfile, NULL);
	struct k_line kl = { fi, line };
	uint32_t lk = rectab_intern(&h->lines, &kl, NULL);
	counts_resize(&h->cum, h->lines.count);
	counts_resize(&h->self, h->lines.count);
	struct k_site ks = { lk, fn };
	h->f_site[fid] = rectab_intern(&h->sites, &ks, NULL);
	/* the function's anchor: frames on one line of it have one lk */
	int32_t *a = &h->fn_anchor[fn];
	if (f->line > 0 && (*a == 0 || f->line < *a)) {
		*a = f->line;
		h->fn_lk[fn] = lk;
	}
	if (f->opcode != FRAME_NO_OPCODE) {
		h->has_ops = true;
		struct k_op ko = { lk, f->opcode };
		uint32_t op = rectab_intern(&h->ops, &ko, NULL);
		counts_resize(&h->op_n, h->ops.count);
		set_op(h, fid, op);
		if (f->col >= 0) {
			struct k_span ksp = { op, f->end_line, f->col, f->end_col };
			rectab_intern(&h->spans, &ksp, NULL);
		}
	}
}

/* Frame fid, worked out if it is new. */
static void see_frame(struct hm *h, const struct strtab *strings, uint32_t fid)
{
	if (fid >= h->f_len) {
		size_t cap = h->f_cap, n = (size_t)fid + 1;
		if (n > cap) {
			VEC_RESERVE(h->f_fn1, cap, n);
			h->f_site = xrealloc(h->f_site, cap * sizeof(*h->f_site));
			if (h->f_op)
				h->f_op = xrealloc(h->f_op, cap * sizeof(*h->f_op));
			h->f_cap = cap;
		}
		/* only the ids up to this one: the rest of a large block stays
		 * untouched (replayed ids are the file's frame indices) */
		memset(h->f_fn1 + h->f_len, 0, (n - h->f_len) * sizeof(*h->f_fn1));
		for (size_t i = h->f_len; i < n; i++) {
			h->f_site[i] = NONE;
			if (h->f_op)
				h->f_op[i] = NONE;
		}
		h->f_len = n;
	}
	if (!h->f_fn1[fid])
		frame_info(h, strings, fid);
}

/* Count thread m's stack for the samples that repeated it: self on the
 * innermost line, total on each line once, every opcode and edge. */
static void count_pending(struct hm *h, struct hm_memo *m)
{
	uint64_t w = m->weight;
	if (!w)
		return;
	m->weight = 0;
	h->total_samples += w;
	if (m->lk[m->depth - 1] != NONE)
		counts_add(&h->self, m->lk[m->depth - 1], w);
	idset_start(&h->seen, m->depth);
	for (size_t k = 0; k < m->depth; k++) {
		if (m->lk[k] != NONE && idset_add(&h->seen, m->lk[k]))
			counts_add(&h->cum, m->lk[k], w);
		if (m->op[k] != NONE)
			counts_add(&h->op_n, m->op[k], w);
		if (m->edge[k] != NONE)
			counts_add(&h->edges.samples, m->edge[k], w);
	}
}

/* A new stack for thread m (frame ids innermost first); its outermost
 * `shared` frames are those of the thread's previous stack, whose memo
 * entries stand.  Edges are interned from the root inwards, in the order
 * the profile's trie would make them. */
static void new_stack(struct hm *h, struct hm_memo *m, const uint32_t *ids, size_t depth,
		      size_t shared)
{
	if (depth > m->cap) {
		size_t cap = m->cap;
		VEC_RESERVE(m->lk, cap, depth);
		m->edge = xrealloc(m->edge, cap * sizeof(*m->edge));
		m->op = xrealloc(m->op, cap * sizeof(*m->op));
		m->cap = cap;
	}
	for (size_t k = shared; k < depth; k++) {
		size_t i = depth - 1 - k;
		uint32_t fid = ids[i], site = h->f_site[fid];
		m->lk[k] = site != NONE ? ((const struct k_site *)rectab_get(&h->sites, site))->lk : NONE;
		m->op[k] = h->f_op ? h->f_op[fid] : NONE;
		m->edge[k] = NONE;
		/* the edge from the caller's site into this frame's function */
		uint32_t fn = h->f_fn1[fid] - 1;
		if (k > 0 && h->fn_graph[fn] && h->f_site[ids[i + 1]] != NONE)
			m->edge[k] = edge_intern(&h->edges, fn, h->f_site[ids[i + 1]]);
	}
	m->depth = depth;
	m->weight = 1;
}

static int hm_add(struct out_stream *st, const struct sample *s, const struct strtab *strings)
{
	struct hm *h = (struct hm *)st;
	for (size_t t = 0; t < s->nthreads; t++) {
		size_t depth;
		const uint32_t *ids = stack_ids_of(&h->ids, s, &s->threads[t], strings, &depth);
		if (depth == 0)
			continue;
		VEC_RESERVE_ZERO(h->memo, h->memo_cap, (size_t)h->ids.thread + 1);
		struct hm_memo *m = &h->memo[h->ids.thread];
		size_t shared = h->ids.shared;
		if (m->weight && shared == depth && m->depth == depth) {
			m->weight++; /* the thread's stack did not change */
			continue;
		}
		count_pending(h, m);
		for (size_t i = depth; i-- > 0;)
			see_frame(h, strings, ids[i]);
		new_stack(h, m, ids, depth, shared);
	}
	return 0;
}

/* What only streaming needs, freed before the pages are made. */
static void release_stream(struct hm *h)
{
	stack_ids_release(&h->ids);
	free(h->f_fn1);
	free(h->f_site);
	free(h->f_op);
	h->f_fn1 = h->f_site = h->f_op = NULL;
	h->f_len = h->f_cap = 0;
	for (size_t i = 0; i < h->memo_cap; i++) {
		free(h->memo[i].lk);
		free(h->memo[i].edge);
		free(h->memo[i].op);
	}
	free(h->memo);
	h->memo = NULL;
	h->memo_cap = 0;
	idset_release(&h->seen);
	free(h->edges.slots);
	h->edges.slots = NULL;
	h->edges.nslots = 0;
}

/* After the last sample: the pending stacks, file totals. */
static void hm_finish(struct hm *h)
{
	for (size_t i = 0; i < h->memo_cap; i++)
		count_pending(h, &h->memo[i]);
	release_stream(h);

	/* files: totals, maxima */
	size_t nfiles = h->files.count, nlk = h->lines.count;
	h->fv = xcalloc(nfiles ? nfiles : 1, sizeof(*h->fv));
	for (size_t i = 0; i < nfiles; i++)
		h->fv[i].str = ((const struct k_file *)rectab_get(&h->files, (uint32_t)i))->str;
	for (size_t lk = 0; lk < nlk; lk++) {
		const struct k_line *kl = rectab_get(&h->lines, (uint32_t)lk);
		struct hm_file *fi = &h->fv[kl->file];
		uint64_t cum = counts_get(&h->cum, lk), self = counts_get(&h->self, lk);
		if (!cum)
			continue;
		fi->total += cum;
		fi->self += self;
		fi->nlines++;
		if (cum > fi->max_total)
			fi->max_total = cum;
		if (self > fi->max_self)
			fi->max_self = self;
	}
}

static int by_file_total(const void *a, const void *b, void *ctx)
{
	const struct hm_file *fv = ctx;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	if (fv[x].total != fv[y].total)
		return fv[x].total > fv[y].total ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int by_line(const void *a, const void *b, void *ctx)
{
	const struct rectab *lines = ctx;
	const struct k_line *x = rectab_get(lines, *(const uint32_t *)a);
	const struct k_line *y = rectab_get(lines, *(const uint32_t *)b);
	return x->line < y->line ? -1 : x->line > y->line;
}

static size_t max_size(size_t a, size_t b)
{
	return a > b ? a : b;
}

static void hm_index(struct hm *h)
{
	size_t nfiles = h->files.count, nlk = h->lines.count, nfn = h->fns.count;
	h->by_total = xmalloc((nfiles ? nfiles : 1) * sizeof(uint32_t));
	for (size_t i = 0; i < nfiles; i++)
		if (h->fv[i].total)
			h->by_total[h->npages++] = (uint32_t)i;
	qsort_r(h->by_total, h->npages, sizeof(uint32_t), by_file_total, h->fv);
	for (size_t i = 0; i < nfiles; i++)
		h->fv[i].page = NONE;
	for (size_t i = 0; i < h->npages; i++)
		h->fv[h->by_total[i]].page = (uint32_t)i;

	size_t most = max_size(max_size(nlk, h->edges.n), max_size(h->sites.count,
				max_size(h->ops.count, h->spans.count)));
	uint32_t *key = xmalloc((most + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < nlk; i++)
		key[i] = ((const struct k_line *)rectab_get(&h->lines, (uint32_t)i))->file;
	group_by(&h->g_lines, key, nlk, nfiles);
	for (size_t f = 0; f < nfiles; f++) {
		uint32_t n = h->g_lines.off[f + 1] - h->g_lines.off[f];
		qsort_r(h->g_lines.order + h->g_lines.off[f], n, sizeof(uint32_t), by_line,
			&h->lines);
	}
	for (size_t i = 0; i < h->edges.n; i++)
		key[i] = ((const struct k_site *)rectab_get(&h->sites,
				edge_site(&h->edges, (uint32_t)i)))->lk;
	group_by(&h->g_callees, key, h->edges.n, nlk);
	for (size_t i = 0; i < h->edges.n; i++)
		key[i] = edge_fn(&h->edges, (uint32_t)i);
	group_by(&h->g_callers, key, h->edges.n, nfn);
	sort_groups(&h->g_callers, nfn, &h->edges.samples);
	for (size_t i = 0; i < h->sites.count; i++)
		key[i] = ((const struct k_site *)rectab_get(&h->sites, (uint32_t)i))->lk;
	group_by(&h->g_sites, key, h->sites.count, nlk);
	for (size_t i = 0; i < h->ops.count; i++)
		key[i] = ((const struct k_op *)rectab_get(&h->ops, (uint32_t)i))->lk;
	group_by(&h->g_ops, key, h->ops.count, nlk);
	sort_groups(&h->g_ops, nlk, &h->op_n);
	for (size_t i = 0; i < h->spans.count; i++)
		key[i] = ((const struct k_span *)rectab_get(&h->spans, (uint32_t)i))->lkop;
	group_by(&h->g_spans, key, h->spans.count, h->ops.count);
	free(key);
	h->fn_stamp = xcalloc(nfn ? nfn : 1, sizeof(uint32_t));
	h->fn_nav = xcalloc(nfn ? nfn : 1, sizeof(*h->fn_nav));
	h->fn_mark = xcalloc(nfn ? nfn : 1, sizeof(uint32_t));
	h->fn_pos = xcalloc(nfn ? nfn : 1, sizeof(uint32_t));
}

/* ------------------------------------------------------------------ */
/* Text                                                               */

static void put_u64(struct buf *b, uint64_t v)
{
	json_u64(b, v);
}

static void put_i64(struct buf *b, int64_t v)
{
	json_i64(b, v);
}

/* Python's "%.<d>f" of a finite value */
static void put_fixed(struct buf *b, double v, int d)
{
	if (!isfinite(v))
		v = 0;
	buf_printf(b, "%.*f", d, v);
}

static const char *str_of(const struct hm *h, uint32_t id, size_t *len)
{
	return strtab_get(&h->p->strings, id, len);
}

/* ------------------------------------------------------------------ */
/* Module names and kinds, for the index                               */

/* per enum pymod_kind (format/pymodule.h) */
static const char *const kind_name[PYMOD_KINDS] = { "project", "stdlib", "site-packages", "other" };
static const char *const kind_title[PYMOD_KINDS] = {
	"Project Files", "Standard Library", "Site Packages", "Other Files",
};

/* ------------------------------------------------------------------ */
/* Pages                                                              */

static int write_file(struct hm *h, const char *name, const struct buf *b)
{
	return outdir_put(h->dir, name, b->data ? b->data : "", b->len, &h->why);
}

static void page_name(char *name, size_t size, uint32_t page)
{
	snprintf(name, size, "file_%04u.html", page);
}

static double intensity(uint64_t c, uint64_t max)
{
	if (!c || !max)
		return 0;
	double lm = log((double)max + 1);
	return lm > 0 ? log((double)c + 1) / lm : 0;
}

struct page_bufs {
	struct buf rows, data, page, fns, ej, fj, mod;
};

/* One navigation entry as JSON: [page, line, func, file basename, samples] */
static void put_nav(struct buf *b, const struct hm *h, uint32_t page, int32_t line,
		    uint32_t func, uint32_t file_str, uint64_t count)
{
	char name[32];
	page_name(name, sizeof(name), page);
	size_t flen, fnlen, blen;
	const char *file = str_of(h, file_str, &flen);
	const char *base = pytext_basename(file, flen, &blen);
	const char *fn = str_of(h, func, &fnlen);
	buf_puts(b, "[\"");
	buf_puts(b, name);
	buf_puts(b, "\",");
	put_i64(b, line);
	buf_putc(b, ',');
	htmlenc_json_str(b, fn, fnlen);
	buf_putc(b, ',');
	htmlenc_json_str(b, base, blen);
	buf_putc(b, ',');
	put_u64(b, count);
	buf_putc(b, ']');
}

/* The callers of function fn (call sites with a page, most samples first)
 * into the page's function table, once per page. */
static void fn_prepare(struct hm *h, struct page_bufs *pb, uint32_t fn, uint32_t page)
{
	if (h->fn_stamp[fn] == page + 1)
		return;
	h->fn_stamp[fn] = page + 1;
	struct nav *nv = &h->fn_nav[fn];
	memset(nv, 0, sizeof(*nv));
	struct buf *b = &pb->fns;
	size_t mark = b->len;
	if (b->len)
		buf_putc(b, ',');
	buf_putc(b, '"');
	put_u64(b, fn);
	buf_puts(b, "\":[");
	for (uint32_t i = h->g_callers.off[fn]; i < h->g_callers.off[fn + 1] && nv->n < MAX_NAV_ITEMS; i++) {
		uint32_t r = h->g_callers.order[i];
		const struct k_site *site = rectab_get(&h->sites, edge_site(&h->edges, r));
		const struct k_line *cl = rectab_get(&h->lines, site->lk);
		uint32_t cpage = h->fv[cl->file].page;
		if (cpage == NONE || cl->line <= 0)
			continue;
		if (nv->n)
			buf_putc(b, ',');
		uint64_t samples = counts_get(&h->edges.samples, r);
		const struct k_fn *cfn = rectab_get(&h->fns, site->fn);
		put_nav(b, h, cpage, cl->line, cfn->func_str, h->fv[cl->file].str, samples);
		if (!nv->n) {
			nv->page = cpage;
			nv->line = cl->line;
		}
		nv->n++;
		nv->sum += samples;
	}
	buf_putc(b, ']');
	if (!nv->n)
		b->len = mark; /* nobody to list */
}

static int by_samples_desc(const void *a, const void *b)
{
	const struct callee *x = a, *y = b;
	if (x->samples != y->samples)
		return x->samples > y->samples ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

/* The callees of line lk into h->callees, most samples first (first seen
 * first among equals): its edges summed by callee.  Returns how many. */
static size_t line_callees(struct hm *h, uint32_t lk)
{
	uint32_t lo = h->g_callees.off[lk], hi = h->g_callees.off[lk + 1];
	size_t n = 0;
	if (lo == hi)
		return 0;
	VEC_RESERVE(h->callees, h->callees_cap, hi - lo);
	if (++h->mark == 0) { /* wrapped: forget every old mark */
		memset(h->fn_mark, 0, h->fns.count * sizeof(*h->fn_mark));
		h->mark = 1;
	}
	/* edges in first-seen order: a callee's first edge is its first */
	for (uint32_t i = lo; i < hi; i++) {
		uint32_t e = h->g_callees.order[i], fn = edge_fn(&h->edges, e);
		if (h->fn_mark[fn] != h->mark) {
			h->fn_mark[fn] = h->mark;
			h->fn_pos[fn] = (uint32_t)n;
			h->callees[n++] = (struct callee){ fn, e, 0 };
		}
		h->callees[h->fn_pos[fn]].samples += counts_get(&h->edges.samples, e);
	}
	qsort(h->callees, n, sizeof(*h->callees), by_samples_desc);
	return n;
}

/* The callees of line lk that have a page, as a JSON list into ej; the
 * callers through the line's functions (their ids into fj). */
static void line_nav(struct hm *h, struct page_bufs *pb, uint32_t lk, uint32_t page,
		     struct nav *callers, struct nav *callees)
{
	memset(callers, 0, sizeof(*callers));
	memset(callees, 0, sizeof(*callees));
	buf_reset(&pb->ej);
	buf_reset(&pb->fj);
	size_t nc = line_callees(h, lk);
	for (size_t i = 0; i < nc && callees->n < MAX_NAV_ITEMS; i++) {
		const struct callee *c = &h->callees[i];
		uint32_t tlk = h->fn_lk[c->fn];
		if (tlk == NONE)
			continue;
		const struct k_line *tl = rectab_get(&h->lines, tlk);
		uint32_t tpage = h->fv[tl->file].page;
		if (tpage == NONE || tl->line <= 0)
			continue;
		const struct k_fn *fn = rectab_get(&h->fns, c->fn);
		if (callees->n)
			buf_putc(&pb->ej, ',');
		put_nav(&pb->ej, h, tpage, tl->line, fn->func_str, fn->file_str, c->samples);
		if (!callees->n) {
			callees->page = tpage;
			callees->line = tl->line;
		}
		callees->n++;
		callees->sum += c->samples;
	}
	for (uint32_t j = h->g_sites.off[lk]; j < h->g_sites.off[lk + 1]; j++) {
		uint32_t fn = ((const struct k_site *)rectab_get(&h->sites, h->g_sites.order[j]))->fn;
		fn_prepare(h, pb, fn, page);
		const struct nav *fv = &h->fn_nav[fn];
		if (!fv->n)
			continue;
		if (pb->fj.len)
			buf_putc(&pb->fj, ',');
		put_u64(&pb->fj, fn);
		if (!callers->n) {
			callers->page = fv->page;
			callers->line = fv->line;
		}
		callers->n += fv->n;
		callers->sum += fv->sum;
	}
}

/* A navigation button: a plain link when there is one target, else a
 * button whose menu the script builds from the page data. */
static void put_nav_button(struct buf *b, const struct nav *nv, bool caller)
{
	if (!nv->n)
		return;
	const char *cls = caller ? "caller" : "callee";
	const char *arrow = caller ? "\xe2\x96\xb2" : "\xe2\x96\xbc";
	if (nv->n == 1) {
		char name[32];
		page_name(name, sizeof(name), nv->page);
		buf_puts(b, "<a class=\"nav ");
		buf_puts(b, cls);
		buf_puts(b, "\" href=\"");
		buf_puts(b, name);
		buf_puts(b, "#line-");
		put_i64(b, nv->line);
		buf_puts(b, "\" title=\"");
		buf_puts(b, caller ? "Called from 1 call site, " : "Calls 1 function, ");
	} else {
		buf_puts(b, "<button type=\"button\" class=\"nav ");
		buf_puts(b, cls);
		buf_puts(b, "\" title=\"");
		buf_puts(b, caller ? "Called from " : "Calls ");
		put_u64(b, nv->n);
		buf_puts(b, caller ? " call sites, " : " functions, ");
	}
	put_u64(b, nv->sum);
	buf_puts(b, nv->sum == 1 ? " sample\">" : " samples\">");
	buf_puts(b, arrow);
	buf_puts(b, nv->n == 1 ? "</a>" : "</button>");
}

/* The opcodes of line lk as JSON: [[name, base name, specialized, samples,
 * [[end_line, col, end_col], ...]], ...] */
static void line_ops(const struct hm *h, uint32_t lk, struct buf *b)
{
	buf_putc(b, '[');
	for (uint32_t i = h->g_ops.off[lk]; i < h->g_ops.off[lk + 1]; i++) {
		uint32_t r = h->g_ops.order[i];
		const struct k_op *ko = rectab_get(&h->ops, r);
		int base = -1;
		const char *name = h->req->opcode_name ?
			h->req->opcode_name(h->req->opcode_ctx, ko->op, &base) : NULL;
		const char *bname = name;
		if (name && base >= 0 && base != ko->op) {
			const char *bn = h->req->opcode_name(h->req->opcode_ctx, base, NULL);
			if (bn)
				bname = bn;
		}
		char unk[32];
		if (!name) {
			snprintf(unk, sizeof(unk), "<%d>", ko->op);
			name = bname = unk;
		}
		if (i > h->g_ops.off[lk])
			buf_putc(b, ',');
		buf_putc(b, '[');
		htmlenc_json_str(b, name, strlen(name));
		buf_putc(b, ',');
		htmlenc_json_str(b, bname, strlen(bname));
		buf_puts(b, strcmp(name, bname) != 0 ? ",1," : ",0,");
		put_u64(b, counts_get(&h->op_n, r));
		buf_puts(b, ",[");
		uint32_t ns = 0;
		for (uint32_t j = h->g_spans.off[r]; j < h->g_spans.off[r + 1] && ns < MAX_SPANS; j++, ns++) {
			const struct k_span *ks = rectab_get(&h->spans, h->g_spans.order[j]);
			if (ns)
				buf_putc(b, ',');
			buf_putc(b, '[');
			put_i64(b, ks->end_line);
			buf_putc(b, ',');
			put_i64(b, ks->col);
			buf_putc(b, ',');
			put_i64(b, ks->end_col);
			buf_putc(b, ']');
		}
		buf_puts(b, "]]");
	}
	buf_putc(b, ']');
}

/* One row: line number, self, total, opcode toggle, source, navigation. */
static void put_row(struct hm *h, struct page_bufs *pb, const struct hm_file *fi,
		    int32_t line, uint32_t lk, const char *src, size_t slen, bool *first_data)
{
	struct buf *b = &pb->rows;
	uint64_t tot = lk != NONE ? counts_get(&h->cum, lk) : 0;
	uint64_t self = lk != NONE ? counts_get(&h->self, lk) : 0;
	if (!tot) {
		buf_puts(b, "<div class=\"ln c\" id=\"line-");
		put_i64(b, line);
		buf_puts(b, "\"><a class=\"no\" href=\"#line-");
		put_i64(b, line);
		buf_puts(b, "\">");
		put_i64(b, line);
		buf_puts(b, "</a><code>");
		htmlenc_text(b, src, slen);
		buf_puts(b, "</code></div>\n");
		return;
	}
	struct nav callers, callees;
	line_nav(h, pb, lk, fi->page, &callers, &callees);
	bool ops = h->g_ops.off[lk + 1] > h->g_ops.off[lk];
	buf_puts(b, "<div class=\"ln\" id=\"line-");
	put_i64(b, line);
	buf_puts(b, "\" data-self=\"");
	put_u64(b, self);
	buf_puts(b, "\" data-total=\"");
	put_u64(b, tot);
	buf_puts(b, "\" style=\"--s:");
	put_fixed(b, intensity(self, fi->max_self), 3);
	buf_puts(b, ";--t:");
	put_fixed(b, intensity(tot, fi->max_total), 3);
	buf_puts(b, "\" title=\"Self: ");
	put_u64(b, self);
	buf_puts(b, ", Total: ");
	put_u64(b, tot);
	buf_puts(b, "\"><a class=\"no\" href=\"#line-");
	put_i64(b, line);
	buf_puts(b, "\">");
	put_i64(b, line);
	buf_puts(b, "</a><span class=\"sf\">");
	if (self)
		put_u64(b, self);
	buf_puts(b, "</span><span class=\"tt\">");
	put_u64(b, tot);
	buf_puts(b, "</span>");
	if (ops)
		buf_puts(b, "<button type=\"button\" class=\"bc\" title=\"Show bytecode\">"
			    "\xe2\x96\xb6</button>");
	buf_puts(b, "<code>");
	htmlenc_text(b, src, slen);
	buf_puts(b, "</code>");
	if (callers.n || callees.n) {
		buf_puts(b, "<span class=\"nv\">");
		put_nav_button(b, &callers, true);
		put_nav_button(b, &callees, false);
		buf_puts(b, "</span>");
	}
	buf_puts(b, "</div>\n");

	/* the page data: the line's functions (their callers are in the
	 * page's function table), callees and opcodes */
	if (!callers.n && !callees.n && !ops)
		return;
	struct buf *d = &pb->data;
	if (!*first_data)
		buf_putc(d, ',');
	*first_data = false;
	buf_putc(d, '"');
	put_i64(d, line);
	buf_puts(d, "\":{\"fns\":[");
	if (pb->fj.len)
		buf_append(d, pb->fj.data, pb->fj.len);
	buf_puts(d, "],\"callees\":[");
	if (pb->ej.len)
		buf_append(d, pb->ej.data, pb->ej.len);
	buf_puts(d, "]");
	if (ops) {
		buf_puts(d, ",\"ops\":");
		line_ops(h, lk, d);
	}
	buf_putc(d, '}');
}

static void put_stat(struct buf *b, const char *id, const char *label, const struct buf *val)
{
	buf_puts(b, "<div class=\"card\"><div class=\"v\" id=\"");
	buf_puts(b, id);
	buf_puts(b, "\">");
	buf_append(b, val->data, val->len);
	buf_puts(b, "</div><div class=\"k\">");
	buf_puts(b, label);
	buf_puts(b, "</div></div>");
}

static void put_stat_u64(struct buf *b, const char *id, const char *label, uint64_t v)
{
	struct buf t = BUF_INIT;
	put_u64(&t, v);
	put_stat(b, id, label, &t);
	buf_release(&t);
}

static int write_file_page(struct hm *h, uint32_t fidx, struct page_bufs *pb)
{
	const struct hm_file *fi = &h->fv[fidx];
	size_t flen;
	const char *file = str_of(h, fi->str, &flen);
	char *src = NULL;
	size_t slen = 0;
	/* Tachyon reads it as UTF-8, bad bytes replaced (read_text with
	 * errors="replace"), whatever coding it declares */
	bool have_src = out_source_read(h->req, file, h->src_bytes, OUT_SOURCE_UTF8, &src, &slen,
					NULL, NULL) == 0;
	if (have_src) {
		h->src_bytes -= slen < h->src_bytes ? slen : h->src_bytes;
		size_t lines = slen && src[slen - 1] != '\n';
		for (const char *q = src; (q = memchr(q, '\n', slen - (size_t)(q - src))); q++)
			lines++;
		if (lines > h->src_lines) {
			free(src);
			src = NULL;
			slen = 0;
			have_src = false;
		} else {
			h->src_lines -= lines;
		}
	}
	buf_reset(&pb->rows);
	buf_reset(&pb->data);
	buf_reset(&pb->page);
	buf_reset(&pb->fns);

	const uint32_t *lks = h->g_lines.order + h->g_lines.off[fidx];
	size_t nl = h->g_lines.off[fidx + 1] - h->g_lines.off[fidx], li = 0;
	bool first_data = true;
	int32_t line = 0;
	/* sampled lines before line 1 (a frame without a line: 0) */
	while (li < nl && ((const struct k_line *)rectab_get(&h->lines, lks[li]))->line < 1) {
		const struct k_line *kl = rectab_get(&h->lines, lks[li]);
		put_row(h, pb, fi, kl->line, lks[li], "", 0, &first_data);
		li++;
	}
	struct buf missing = BUF_INIT;
	const char *s = src, *end = src + slen;
	if (!have_src) {
		buf_puts(&missing, "# Source file not available: ");
		buf_append(&missing, file, flen);
		s = missing.data;
		end = missing.data + missing.len;
	}
	while (s && s < end) {
		const char *nlp = memchr(s, '\n', (size_t)(end - s));
		const char *e = nlp ? nlp : end;
		size_t len = (size_t)(e - s);
		if (len && s[len - 1] == '\r')
			len--;
		line++;
		uint32_t lk = NONE;
		if (li < nl && ((const struct k_line *)rectab_get(&h->lines, lks[li]))->line == line)
			lk = lks[li++];
		put_row(h, pb, fi, line, lk, s, len, &first_data);
		s = nlp ? nlp + 1 : end;
		if (line == INT32_MAX)
			break;
	}
	/* sampled lines past the end of the source: kept, without text */
	if (li < nl) {
		buf_puts(&pb->rows, "<div class=\"past\">Lines past the end of the source file "
				    "as read now:</div>\n");
		for (; li < nl; li++) {
			const struct k_line *kl = rectab_get(&h->lines, lks[li]);
			put_row(h, pb, fi, kl->line, lks[li], "", 0, &first_data);
		}
	}
	buf_release(&missing);
	free(src);

	struct buf head = BUF_INIT, title = BUF_INIT, fname = BUF_INIT, data = BUF_INIT;
	htmlenc_text(&fname, file, flen);
	size_t blen;
	const char *base = pytext_basename(file, flen, &blen);
	htmlenc_text(&title, base, blen);
	put_stat_u64(&head, "stat-total", "Total Samples", fi->total);
	put_stat_u64(&head, "stat-self", "Self Samples", fi->self);
	put_stat_u64(&head, "stat-lines", "Lines Sampled", fi->nlines);
	struct buf t = BUF_INIT;
	uint64_t hottest = h->npages ? h->fv[h->by_total[0]].total : 0;
	put_fixed(&t, hottest ? (double)fi->total / (double)hottest * 100.0 : 0, 2);
	buf_putc(&t, '%');
	put_stat(&head, "stat-pct", "Of Hottest File", &t);
	buf_release(&t);
	put_stat_u64(&head, "stat-max", "Max Line Total", fi->max_total);
	put_stat_u64(&head, "stat-maxself", "Max Line Self", fi->max_self);

	buf_puts(&data, "{\"file\":");
	htmlenc_json_str(&data, file, flen);
	buf_puts(&data, ",\"page\":");
	put_u64(&data, fi->page);
	buf_puts(&data, ",\"total\":");
	put_u64(&data, fi->total);
	buf_puts(&data, ",\"self\":");
	put_u64(&data, fi->self);
	buf_puts(&data, ",\"source\":");
	buf_puts(&data, have_src ? "true" : "false");
	buf_puts(&data, ",\"opcodes\":");
	buf_puts(&data, h->has_ops ? "true" : "false");
	buf_puts(&data, ",\"lines\":{");
	if (pb->data.len)
		buf_append(&data, pb->data.data, pb->data.len);
	buf_puts(&data, "},\"fns\":{");
	if (pb->fns.len)
		buf_append(&data, pb->fns.data, pb->fns.len);
	buf_puts(&data, "}}");

	struct tpl_slot slots[] = {
		{ "TITLE", title.data, title.len }, { "FILENAME", fname.data, fname.len },
		{ "CSS", out_hm_css, strlen(out_hm_css) }, { "JS", out_hm_js, strlen(out_hm_js) },
		{ "STATS", head.data, head.len }, { "ROWS", pb->rows.data, pb->rows.len },
		{ "DATA", data.data, data.len },
	};
	tpl_fill_buf(&pb->page, out_hm_file_html, slots, sizeof(slots) / sizeof(slots[0]));
	char name[32];
	page_name(name, sizeof(name), fi->page);
	int rc = write_file(h, name, &pb->page);
	buf_release(&head);
	buf_release(&title);
	buf_release(&fname);
	buf_release(&data);
	return rc;
}

static const char *rate_class(double v)
{
	return v < 5 ? "good" : v < 15 ? "warning" : "error";
}

static void put_bar(struct buf *b, const char *id, const char *label, double v, bool known)
{
	buf_puts(b, "<div class=\"meter\"><span class=\"k\">");
	buf_puts(b, label);
	buf_puts(b, "</span><span class=\"track\"><i class=\"");
	buf_puts(b, known ? rate_class(v) : "good");
	buf_puts(b, "\" style=\"width:");
	put_fixed(b, known ? (v < 0 ? 0 : v > 100 ? 100 : v) : 0, 2);
	buf_puts(b, "%\"></i></span><span class=\"v\" id=\"");
	buf_puts(b, id);
	buf_puts(b, "\">");
	if (known) {
		put_fixed(b, v, 1);
		buf_putc(b, '%');
	} else {
		buf_puts(b, "N/A");
	}
	buf_puts(b, "</span></div>");
}

static int write_index(struct hm *h, struct page_bufs *pb)
{
	struct out_run_figures fig;
	out_run_figures_of(h->p, &fig);
	bool known = h->p->stats.ticks > 0 || h->p->stats.restored;
	struct buf head = BUF_INIT, sections = BUF_INIT, t = BUF_INIT;
	put_stat_u64(&head, "stat-files", "Files Profiled", h->npages);
	put_stat_u64(&head, "stat-samples", "Total Snapshots", h->total_samples);
	put_fixed(&t, fig.duration_s, 1);
	buf_puts(&t, " s");
	put_stat(&head, "stat-duration", "Duration", &t);
	buf_reset(&t);
	put_fixed(&t, fig.sample_rate, 1);
	put_stat(&head, "stat-rate", "Samples/sec", &t);
	buf_release(&t);
	struct buf meters = BUF_INIT;
	put_bar(&meters, "stat-errors", "Error Rate", fig.error_rate, known);
	put_bar(&meters, "stat-missed", "Missed Samples", fig.missed_samples, known);

	uint64_t hottest = h->npages ? h->fv[h->by_total[0]].total : 0;
	enum pymod_kind *kinds = xmalloc((h->npages ? h->npages : 1) * sizeof(*kinds));
	uint32_t *mods = xmalloc((h->npages ? h->npages : 1) * sizeof(uint32_t));
	struct strtab modnames;
	strtab_init(&modnames);
	uint64_t ksum[PYMOD_KINDS] = { 0 };
	size_t kn[PYMOD_KINDS] = { 0 };
	for (size_t i = 0; i < h->npages; i++) {
		const struct hm_file *fi = &h->fv[h->by_total[i]];
		size_t flen;
		const char *file = str_of(h, fi->str, &flen);
		kinds[i] = pymod_name(&h->names, file, flen, &pb->mod);
		mods[i] = strtab_intern(&modnames, pb->mod.data ? pb->mod.data : "", pb->mod.len);
		ksum[kinds[i]] += fi->total;
		kn[kinds[i]]++;
	}
	for (int k = 0; k < PYMOD_KINDS; k++) {
		if (!kn[k])
			continue;
		/* project files open, the others closed, as Tachyon shows them */
		buf_puts(&sections, "<details class=\"kind\" data-kind=\"");
		buf_puts(&sections, kind_name[k]);
		buf_puts(&sections, k == PYMOD_PROJECT ? "\" open>" : "\">");
		buf_puts(&sections, "<summary class=\"kind-head\">");
		buf_puts(&sections, kind_title[k]);
		buf_puts(&sections, " <span class=\"muted\">(");
		put_u64(&sections, kn[k]);
		buf_puts(&sections, kn[k] == 1 ? " file, " : " files, ");
		put_u64(&sections, ksum[k]);
		buf_puts(&sections, ksum[k] == 1 ? " sample)" : " samples)");
		buf_puts(&sections, "</span></summary><div class=\"files\">\n");
		for (size_t i = 0; i < h->npages; i++) {
			if ((int)kinds[i] != k)
				continue;
			const struct hm_file *fi = &h->fv[h->by_total[i]];
			size_t flen, mlen;
			const char *file = str_of(h, fi->str, &flen);
			const char *mod = strtab_get(&modnames, mods[i], &mlen);
			char name[32];
			page_name(name, sizeof(name), fi->page);
			double pct = hottest ? (double)fi->total / (double)hottest * 100.0 : 0;
			buf_puts(&sections, "<div class=\"file\" data-module=\"");
			htmlenc_text(&sections, mod, mlen);
			buf_puts(&sections, "\" data-total=\"");
			put_u64(&sections, fi->total);
			buf_puts(&sections, "\" data-self=\"");
			put_u64(&sections, fi->self);
			buf_puts(&sections, "\"><a class=\"name\" href=\"");
			buf_puts(&sections, name);
			buf_puts(&sections, "\" title=\"");
			htmlenc_text(&sections, file, flen);
			buf_puts(&sections, "\">\xf0\x9f\x93\x84 ");
			htmlenc_text(&sections, mod, mlen);
			buf_puts(&sections, "</a><span class=\"num\">");
			put_u64(&sections, fi->total);
			buf_puts(&sections, fi->total == 1 ? " sample" : " samples");
			buf_puts(&sections, "</span><span class=\"num self\">");
			put_u64(&sections, fi->self);
			buf_puts(&sections, " self</span><span class=\"num\">");
			put_u64(&sections, fi->nlines);
			buf_puts(&sections, fi->nlines == 1 ? " line" : " lines");
			buf_puts(&sections, "</span><span class=\"bar\"><i style=\"width:");
			put_fixed(&sections, pct, 1);
			buf_puts(&sections, "%\"></i></span></div>\n");
		}
		buf_puts(&sections, "</div></details>\n");
	}
	strtab_release(&modnames);
	free(kinds);
	free(mods);

	buf_reset(&pb->page);
	struct tpl_slot slots[] = {
		{ "CSS", out_hm_css, strlen(out_hm_css) }, { "JS", out_hm_js, strlen(out_hm_js) },
		{ "STATS", head.data, head.len }, { "METERS", meters.data, meters.len },
		{ "SECTIONS", sections.data, sections.len },
	};
	tpl_fill_buf(&pb->page, out_hm_index_html, slots, sizeof(slots) / sizeof(slots[0]));
	int rc = write_file(h, "index.html", &pb->page);
	buf_release(&head);
	buf_release(&meters);
	buf_release(&sections);
	return rc;
}

static void hm_release(struct hm *h)
{
	release_stream(h);
	rectab_release(&h->sites);
	rectab_release(&h->files);
	rectab_release(&h->lines);
	rectab_release(&h->fns);
	rectab_release(&h->ops);
	rectab_release(&h->spans);
	free(h->edges.key);
	counts_release(&h->edges.samples);
	counts_release(&h->cum);
	counts_release(&h->self);
	counts_release(&h->op_n);
	free(h->fn_graph);
	free(h->fn_anchor);
	free(h->fn_lk);
	free(h->fv);
	free(h->fn_stamp);
	free(h->fn_nav);
	free(h->fn_mark);
	free(h->fn_pos);
	free(h->callees);
	free(h->by_total);
	groups_release(&h->g_lines);
	groups_release(&h->g_callees);
	groups_release(&h->g_callers);
	groups_release(&h->g_sites);
	groups_release(&h->g_ops);
	groups_release(&h->g_spans);
	pymod_release(&h->names);
}

static int hm_open(struct out_stream **st, const struct out_request *req)
{
	struct hm *h = xcalloc(1, sizeof(*h));
	stack_ids_init(&h->ids, req->skip_idle);
	rectab_init(&h->sites, sizeof(struct k_site));
	rectab_init(&h->files, sizeof(struct k_file));
	rectab_init(&h->lines, sizeof(struct k_line));
	rectab_init(&h->fns, sizeof(struct k_fn));
	rectab_init(&h->ops, sizeof(struct k_op));
	rectab_init(&h->spans, sizeof(struct k_span));
	*st = (struct out_stream *)h;
	return 0;
}

static int hm_close(struct out_stream *st, const struct profile *p, const struct out_request *req,
		    bool *written)
{
	*written = false;
	struct hm *hp = (struct hm *)st;
	struct hm h = *hp; /* the stream's state, released below */
	free(hp);
	h.p = p;
	h.req = req;
	h.src_bytes = SOURCE_BUDGET_BYTES;
	h.src_lines = SOURCE_BUDGET_LINES;
	FILE *out = req->stdout_fp ? req->stdout_fp : stdout;
	char *cwd = getcwd(NULL, 0);
	pymod_init(&h.names, cwd, pymod_source_exists, req);
	free(cwd);
	struct page_bufs pb = { BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT };
	int rc = 0;
	hm_finish(&h);
	hm_index(&h);
	if (!h.npages) {
		/* as Tachyon: nothing is written */
		fprintf(out, "Warning: No heatmap data to export\n");
		goto out;
	}
	/* the directory name as Python's Path prints it: no trailing '/' */
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", req->path ? req->path : "heatmap");
	for (size_t n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
		dir[n - 1] = '\0';
	/* a new directory is built beside dir and renamed into place once
	 * whole; an existing one must be strobe's user's own (format/outfile.h) */
	struct outfile_policy pol;
	out_file_policy(req, &pol);
	if (outdir_open(&h.dir, dir, &pol, &h.why) != 0) {
		int e = errno;
		if (req->err)
			errmsg_set(req->err, "Failed to create output directory %s: %s", dir, h.why.text);
		errno = e;
		rc = ERR_IO;
		goto out;
	}
	for (size_t i = 0; i < h.npages && !rc; i++)
		rc = write_file_page(&h, h.by_total[i], &pb);
	if (!rc)
		rc = write_index(&h, &pb);
	if (rc) {
		outdir_discard(h.dir);
	} else {
		rc = outdir_commit(h.dir, &h.why);
	}
	h.dir = NULL;
	if (rc) {
		int e = errno;
		if (req->err)
			errmsg_set(req->err, "Failed to write heatmap in %s: %s", dir, h.why.text);
		errno = e;
		goto out;
	}
	fprintf(out, "Heatmap output written to %s/\n  - Index: %s/index.html\n  - %zu source file%s analyzed\n",
		dir, dir, h.npages, h.npages == 1 ? "" : "s");
	*written = true;
out:
	buf_release(&pb.rows);
	buf_release(&pb.data);
	buf_release(&pb.page);
	buf_release(&pb.fns);
	buf_release(&pb.ej);
	buf_release(&pb.fj);
	buf_release(&pb.mod);
	hm_release(&h);
	return rc;
}

/* Nothing was written yet: the directory is made at close. */
static void hm_abort(struct out_stream *st, const struct out_request *req)
{
	(void)req;
	struct hm *h = (struct hm *)st;
	hm_release(h);
	free(h);
}

const struct out_stream_ops out_heatmap_stream = {
	.open = hm_open,
	.add = hm_add,
	.close = hm_close,
	.abort = hm_abort,
};
