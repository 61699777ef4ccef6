/* pstats.c - the pstats format: Tachyon's text table on stdout, or a marshal
 * file that pstats.Stats() loads.  A stream: it counts every sample as it
 * comes and keeps no stacks.
 *
 * Numbers follow Tachyon's PstatsCollector (CPython 3.15): a function is the
 * triple (filename, lineno, funcname) with the line currently executing
 * (FRAME_NO_LINE, i.e. a synthetic <GC>/<native>/<task> frame, becomes 0);
 * direct = samples where it is the leaf; cumulative = samples where it is on
 * the stack, once per stack; callers[callee][caller] += count for every
 * adjacent pair, recursion included.
 *
 * Order.  Tachyon keeps these in a dict filled while walking each stack
 * innermost first, so ties in the (stable) sorts keep that first-seen order.
 * The stream sees the samples in Tachyon's order, so a function gets its id
 * (and a caller its place in its callee's list) the first time a stack
 * holding it arrives, innermost first; only the counts wait.
 *
 * Cost.  Each thread keeps its last stack as function ids and caller-edge
 * ids, with a pending weight: a stack equal to the thread's previous one
 * adds 1 to the weight and nothing else, and a stack that differs reuses
 * the ids of the outer part it shares (model/stackids.h says how much) and
 * looks up only the new frames and edges.  The weight goes into the counts
 * when the thread's stack changes, and at the end.  Memory follows distinct
 * functions and caller edges (no edges at all for the text, which does not
 * show them); edge counts are 32-bit with a side map for the rare carry.
 * The file is written as it is made, a chunk at a time.
 *
 * The file (-o FILE).  Tachyon writes
 *     { (file, line, func): (direct, cumul, tt, ct, {caller: int}), ...,
 *       ("__sampled__",): True }
 * and 3.15's pstats pops the marker key and shows the file as SampledStats
 * ("nsamples" titles).  Every older pstats (3.8-3.14, checked one by one)
 * fails on that key: get_top_level_stats() unpacks each value into five
 * names ("cannot unpack non-iterable bool object"), and no other value can
 * save it because func_std_string() then formats the 1-tuple key with
 * "%s:%d(%s)" and raises.  The marker can only ever be the 1-tuple
 * ("__sampled__",), so a file either carries it (3.15 only) or loads
 * everywhere.  strobe profiles 3.8+ and its files are read by whichever
 * Python the user has, so strobe writes the dict WITHOUT the marker: 3.8
 * through 3.15 all load it (3.15 as plain Stats, titled "ncalls" instead of
 * "nsamples"; the numbers are identical).  Integer caller counts (the old
 * profile-module form rather than cProfile's 4-tuples) are fine in every
 * version, for print_stats, print_callers and print_callees.
 * Everything else is as Tachyon: full file names, the same key order, ints
 * and floats computed the same way.  The file is created at the end, as
 * Tachyon's export does.
 *
 * The text (no -o) is PstatsCollector.print_stats on
 * pstats.SampledStats(collector).strip_dirs(): strip_dirs merges functions
 * whose (basename, line, func) coincide, summing counts and adding the float
 * times in dict order.  (It also merges caller dicts, overwriting rather than
 * adding colliding callers; print_stats never shows callers, so that is not
 * reproduced.)
 */
#include "format/out.h"

#include "base/buf.h"
#include "base/error.h"
#include "base/hash.h"
#include "base/intern.h"
#include "base/pytext.h"
#include "base/utf8.h"
#include "model/profile.h"
#include "model/stackids.h"
#include "format/marshal.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* strobe writes no ("__sampled__",) marker; see the top of this file. */
static const bool write_sampled_marker = false;

#define SUMMARY_TOP 3
/* the file goes out in pieces of about this size */
#define FLUSH_AT (1u << 20)

/* Tachyon's function key (filename, lineno, funcname) is a struct
 * frame_line (model/sample.h). */

/* callers[callee][caller]: a caller of a function and its count. */
struct caller {
	uint32_t key;   /* the caller's function id */
	uint32_t count; /* low 32 bits; see struct fstats */
};

/* A function's callers in first-seen order: Tachyon's callers dict. */
struct callers {
	struct caller *v;
	uint32_t n, cap;
};

/* A function with more callers than this finds them through fstats.big
 * rather than by a scan. */
#define SCAN_MAX 32

/* Tachyon's PstatsCollector.result, counted so far. */
struct fstats {
	struct rectab keys;  /* struct frame_line, ids in Tachyon's dict order */
	uint64_t *direct;    /* by key id */
	uint64_t *cumul;
	uint32_t *seen;      /* by key id: the stamp of the last stack that counted it */
	size_t cap;
	uint32_t stamp;      /* stacks counted, mod 2^32 (0 is never a stamp) */
	bool want_edges;     /* the file shows callers, the text does not */
	struct callers *callers; /* by key id (callee), when want_edges */
	struct u64map big;   /* callee << 32 | caller -> position in callee's
			      * callers, for callees of more than SCAN_MAX */
	struct u64map carry; /* callee << 32 | position -> count >> 32, for
			      * the rare count past 2^32 */
};

/* A thread's last stack, root first, and the samples it still owes. */
struct pthread {
	uint32_t *keys;      /* keys[k]: function id at depth k */
	uint32_t *edges;     /* edges[k], k >= 1: position of keys[k - 1] among
			      * the callers of keys[k] */
	size_t depth, cap;
	uint64_t pending;    /* samples of this stack not yet in the counts */
};

struct pstats {
	struct stack_ids ids;  /* frame ids of the samples' stacks */
	struct fstats fs;
	uint32_t *frame_key;   /* stack_ids frame id -> function id + 1 (0: not yet) */
	size_t frame_key_cap;
	struct pthread *threads; /* by stack_ids thread index */
	size_t threads_cap;
};

static void fstats_init(struct fstats *fs, bool want_edges)
{
	memset(fs, 0, sizeof(*fs));
	rectab_init(&fs->keys, sizeof(struct frame_line));
	u64map_init(&fs->big);
	u64map_init(&fs->carry);
	fs->want_edges = want_edges;
}

static void fstats_release(struct fstats *fs)
{
	u64map_release(&fs->carry);
	u64map_release(&fs->big);
	if (fs->callers)
		for (size_t k = 0; k < fs->keys.count; k++)
			free(fs->callers[k].v);
	free(fs->callers);
	free(fs->seen);
	free(fs->cumul);
	free(fs->direct);
	rectab_release(&fs->keys);
}

static uint32_t fstats_key(struct fstats *fs, const struct frame_line *k)
{
	int added;
	uint32_t id = rectab_intern(&fs->keys, k, &added);
	if (!added)
		return id;
	if (id >= fs->cap) {
		/* one capacity for all the per-key arrays */
		size_t cap = fs->cap;
		VEC_RESERVE(fs->direct, cap, (size_t)id + 1);
		fs->cumul = xrealloc(fs->cumul, cap * sizeof(*fs->cumul));
		fs->seen = xrealloc(fs->seen, cap * sizeof(*fs->seen));
		if (fs->want_edges)
			fs->callers = xrealloc(fs->callers, cap * sizeof(*fs->callers));
		fs->cap = cap;
	}
	/* zeroed one by one: unused capacity is never touched */
	fs->direct[id] = fs->cumul[id] = 0;
	fs->seen[id] = 0;
	if (fs->want_edges)
		fs->callers[id] = (struct callers){ NULL, 0, 0 };
	return id;
}

/* The position of caller among the callers of callee, added (last, with a
 * zero count) when new. */
static uint32_t fstats_edge(struct fstats *fs, uint32_t callee, uint32_t caller)
{
	struct callers *c = &fs->callers[callee];
	uint64_t bkey = (uint64_t)callee << 32 | caller;
	if (c->n <= SCAN_MAX) {
		for (uint32_t i = 0; i < c->n; i++)
			if (c->v[i].key == caller)
				return i;
	} else {
		const uint64_t *at = u64map_get(&fs->big, bkey);
		if (at)
			return (uint32_t)*at;
	}
	if (c->n == c->cap) {
		/* by half again: most functions have a handful of callers
		 * (never 2^32: callers are distinct function ids) */
		size_t cap = c->cap ? (size_t)c->cap + c->cap / 2 : 4;
		c->cap = cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
		c->v = xrealloc(c->v, (size_t)c->cap * sizeof(*c->v));
	}
	uint32_t i = c->n++;
	c->v[i] = (struct caller){ .key = caller, .count = 0 };
	if (c->n == SCAN_MAX + 1) {
		/* from now on found by the map: enter the ones scanned so far */
		for (uint32_t j = 0; j < i; j++)
			u64map_put(&fs->big, (uint64_t)callee << 32 | c->v[j].key, j);
	}
	if (c->n > SCAN_MAX)
		u64map_put(&fs->big, bkey, i);
	return i;
}

static void edge_add(struct fstats *fs, uint32_t callee, uint32_t at, uint64_t w)
{
	struct caller *c = &fs->callers[callee].v[at];
	uint64_t sum = c->count + w;
	c->count = (uint32_t)sum;
	if (sum >> 32) {
		uint64_t key = (uint64_t)callee << 32 | at;
		uint64_t *hi = u64map_get(&fs->carry, key);
		if (hi)
			*hi += sum >> 32;
		else
			u64map_put(&fs->carry, key, sum >> 32);
	}
}

static uint64_t edge_count(const struct fstats *fs, uint32_t callee, uint32_t at)
{
	uint64_t n = fs->callers[callee].v[at].count;
	if (fs->carry.len) {
		const uint64_t *hi = u64map_get(&fs->carry, (uint64_t)callee << 32 | at);
		if (hi)
			n += *hi << 32;
	}
	return n;
}

static const struct frame_line *fkey_get(const struct fstats *fs, uint32_t id)
{
	return (const struct frame_line *)rectab_get(&fs->keys, id);
}

/* The function id of a stack_ids frame. */
static uint32_t key_of(struct pstats *ps, uint32_t frame)
{
	if (frame < ps->frame_key_cap && ps->frame_key[frame])
		return ps->frame_key[frame] - 1;
	const struct frame *f = stack_ids_frame(&ps->ids, frame);
	struct frame_line k = frame_line_of(f->file, f->func, f->line);
	uint32_t id = fstats_key(&ps->fs, &k);
	VEC_RESERVE_ZERO(ps->frame_key, ps->frame_key_cap, (size_t)frame + 1);
	ps->frame_key[frame] = id + 1;
	return id;
}

/* Put the samples a thread owes into the counts: direct for the leaf,
 * cumulative once per function, every caller edge. */
static void thread_flush(struct fstats *fs, struct pthread *t)
{
	uint64_t w = t->pending;
	if (!w || !t->depth)
		return;
	t->pending = 0;
	fs->direct[t->keys[t->depth - 1]] += w;
	if (++fs->stamp == 0) { /* wrapped: forget every old stamp */
		memset(fs->seen, 0, fs->keys.count * sizeof(*fs->seen));
		fs->stamp = 1;
	}
	for (size_t k = 0; k < t->depth; k++) {
		uint32_t key = t->keys[k];
		if (fs->seen[key] != fs->stamp) {
			fs->seen[key] = fs->stamp;
			fs->cumul[key] += w;
		}
	}
	if (fs->want_edges)
		for (size_t k = 1; k < t->depth; k++)
			edge_add(fs, t->keys[k], t->edges[k], w);
}

static struct pthread *thread_at(struct pstats *ps, uint32_t i)
{
	VEC_RESERVE_ZERO(ps->threads, ps->threads_cap, (size_t)i + 1);
	return &ps->threads[i];
}

/* One thread's stack (frame ids innermost first, depth n, its outer
 * `shared` frames those of the thread's previous stack). */
static void add_stack(struct pstats *ps, struct pthread *t, const uint32_t *ids, size_t n,
		      size_t shared)
{
	struct fstats *fs = &ps->fs;
	if (shared == n && t->depth == n) {
		t->pending++;
		return;
	}
	thread_flush(fs, t);
	if (n > t->cap) {
		size_t cap = t->cap;
		VEC_RESERVE(t->keys, cap, n);
		t->edges = xrealloc(t->edges, cap * sizeof(*t->edges));
		t->cap = cap;
	}
	/* new functions and edges are named innermost first, as Tachyon's
	 * dict fills; the shared outer part keeps its ids */
	for (size_t i = 0; i < n - shared; i++)
		t->keys[n - 1 - i] = key_of(ps, ids[i]);
	if (fs->want_edges)
		for (size_t k = n - 1; k >= 1 && k >= shared; k--)
			t->edges[k] = fstats_edge(fs, t->keys[k], t->keys[k - 1]);
	t->depth = n;
	t->pending = 1;
}

static int pstats_add(struct out_stream *st, const struct sample *s, const struct strtab *strings)
{
	struct pstats *ps = (struct pstats *)st;
	for (size_t i = 0; i < s->nthreads; i++) {
		size_t depth;
		const uint32_t *ids = stack_ids_of(&ps->ids, s, &s->threads[i], strings, &depth);
		if (depth == 0)
			continue;
		assert(ps->ids.shared <= depth);
		add_stack(ps, thread_at(ps, ps->ids.thread), ids, depth, ps->ids.shared);
	}
	return 0;
}

/* Everything owed into the counts, and the per-sample state let go. */
static void pstats_finish(struct pstats *ps)
{
	for (size_t i = 0; i < ps->threads_cap; i++) {
		thread_flush(&ps->fs, &ps->threads[i]);
		free(ps->threads[i].keys);
		free(ps->threads[i].edges);
	}
	free(ps->threads);
	ps->threads = NULL;
	ps->threads_cap = 0;
	free(ps->frame_key);
	ps->frame_key = NULL;
	ps->frame_key_cap = 0;
	stack_ids_release(&ps->ids);
}

static double interval_s(const struct profile *p)
{
	/* Python: sample_interval_usec / 1_000_000, then count * that */
	return (double)p->stats.interval_us / 1e6;
}

/* ------------------------------------------------------------------ file */

/* The marshal bytes of each string, made once: a function's key is
 * written once for itself and once per function it calls. */
struct strenc {
	const struct strtab *strings;
	struct buf bytes;
	size_t *at;    /* by string id: offset in bytes + 1 (0: not yet) */
	size_t *len;
	size_t cap;
};

static void put_str(struct buf *b, struct strenc *enc, uint32_t id)
{
	if (id >= enc->cap) {
		size_t old = enc->cap, cap = enc->cap;
		VEC_RESERVE(enc->at, cap, (size_t)id + 1);
		enc->len = xrealloc(enc->len, cap * sizeof(*enc->len));
		memset(enc->at + old, 0, (cap - old) * sizeof(*enc->at));
		enc->cap = cap;
	}
	if (!enc->at[id]) {
		size_t n, start = enc->bytes.len;
		const char *s = strtab_get(enc->strings, id, &n);
		marshal_str(&enc->bytes, s, n);
		enc->at[id] = start + 1;
		enc->len[id] = enc->bytes.len - start;
	}
	buf_append(b, enc->bytes.data + enc->at[id] - 1, enc->len[id]);
}

static void marshal_key(struct buf *b, struct strenc *enc, const struct frame_line *k)
{
	marshal_tuple(b, 3);
	put_str(b, enc, k->file);
	marshal_int(b, k->line);
	put_str(b, enc, k->func);
}

static bool put_chunk(FILE *f, struct buf *b)
{
	bool ok = b->len == 0 || fwrite(b->data, 1, b->len, f) == b->len;
	buf_reset(b);
	return ok;
}

static bool pstats_marshal(FILE *f, const struct profile *p, const struct fstats *fs, bool marker)
{
	double iv = interval_s(p);
	struct strenc enc = { .strings = &p->strings, .bytes = BUF_INIT };
	struct buf b = BUF_INIT;
	bool ok = true;
	marshal_dict_begin(&b);
	for (uint32_t k = 0; k < fs->keys.count; k++) {
		marshal_key(&b, &enc, fkey_get(fs, k));
		marshal_tuple(&b, 5);
		marshal_uint(&b, fs->direct[k]);
		marshal_uint(&b, fs->cumul[k]);
		marshal_float(&b, (double)fs->direct[k] * iv);
		marshal_float(&b, (double)fs->cumul[k] * iv);
		marshal_dict_begin(&b);
		const struct callers *c = &fs->callers[k];
		for (uint32_t i = 0; i < c->n; i++) {
			marshal_key(&b, &enc, fkey_get(fs, c->v[i].key));
			marshal_uint(&b, edge_count(fs, k, i));
		}
		marshal_dict_end(&b);
		if (b.len >= FLUSH_AT)
			ok = put_chunk(f, &b) && ok;
	}
	if (marker) {
		marshal_tuple(&b, 1);
		marshal_str(&b, "__sampled__", 11);
		marshal_bool(&b, true);
	}
	marshal_dict_end(&b);
	ok = put_chunk(f, &b) && ok;
	buf_release(&b);
	buf_release(&enc.bytes);
	free(enc.len);
	free(enc.at);
	return ok;
}

/* The marshal file req->path, made whole or not at all (out_file_open).
 * 0 or ERR_IO, with errno as the failing call left it and req->err saying
 * why. */
static int write_file(const struct out_request *req, const struct profile *p,
		      const struct fstats *fs, bool *written)
{
	struct out_file f;
	int rc = out_file_open(&f, req);
	if (rc)
		return rc;
	bool ok = pstats_marshal(f.fp, p, fs, write_sampled_marker);
	return out_file_close(&f, req, ok, written);
}

/* ------------------------------------------------------------------ text */

/* A row of the table: one function after strip_dirs. */
struct row {
	uint32_t base;  /* basename, id in the local string table */
	uint32_t func;  /* profile string id */
	int32_t line;
	uint32_t order; /* first-seen position, the sort tie-break */
	uint64_t direct, cumul;
	double tt, ct;
	/* the sort key: one of these, as kind says */
	enum { KEY_UINT, KEY_DOUBLE, KEY_NAME } kind;
	uint64_t ukey;  /* descending */
	double dkey;    /* descending */
	const char *name; /* str((file, line, func)), ascending */
	size_t name_off, name_len;
};

struct colors {
	const char *reset, *bold_blue, *green, *yellow, *cyan;
};

static const struct colors ansi = { "\x1b[0m", "\x1b[1;34m", "\x1b[32m", "\x1b[33m", "\x1b[36m" };
static const struct colors plain = { "", "", "", "", "" };

/* strip_dirs + the list PstatsCollector.print_stats builds from it. */
static struct row *strip_dirs(const struct profile *p, const struct fstats *fs,
			      struct strtab *bases, size_t *nrows)
{
	double iv = interval_s(p);
	struct rectab seen; /* struct frame_line with file = basename id */
	rectab_init(&seen, sizeof(struct frame_line));
	struct row *rows = xmalloc((fs->keys.count ? fs->keys.count : 1) * sizeof(*rows));
	size_t n = 0;
	for (uint32_t k = 0; k < fs->keys.count; k++) {
		const struct frame_line *fk = fkey_get(fs, k);
		size_t len, blen;
		const char *file = strtab_get(&p->strings, fk->file, &len);
		const char *base = pytext_basename(file, len, &blen);
		struct frame_line sk = { .file = strtab_intern(bases, base, blen), .func = fk->func,
				   .line = fk->line };
		int added;
		uint32_t r = rectab_intern(&seen, &sk, &added);
		double tt = (double)fs->direct[k] * iv, ct = (double)fs->cumul[k] * iv;
		if (added) {
			assert(r == n);
			rows[n++] = (struct row){ .base = sk.file, .func = sk.func, .line = sk.line,
						  .order = r, .direct = fs->direct[k],
						  .cumul = fs->cumul[k], .tt = tt, .ct = ct };
		} else {
			/* add_func_stats: counts and float times add up */
			rows[r].direct += fs->direct[k];
			rows[r].cumul += fs->cumul[k];
			rows[r].tt += tt;
			rows[r].ct += ct;
		}
	}
	rectab_release(&seen);
	*nrows = n;
	return rows;
}

static int cmp_rows(const void *pa, const void *pb)
{
	const struct row *a = pa, *b = pb;
	int c;
	switch (a->kind) {
	case KEY_NAME: {
		size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
		c = memcmp(a->name, b->name, n);
		if (c == 0)
			c = (a->name_len > b->name_len) - (a->name_len < b->name_len);
		break;
	}
	case KEY_DOUBLE:
		c = (a->dkey < b->dkey) - (a->dkey > b->dkey);
		break;
	default:
		c = (a->ukey < b->ukey) - (a->ukey > b->ukey);
		break;
	}
	if (c == 0)
		c = (a->order > b->order) - (a->order < b->order); /* stable */
	return c;
}

static double pct(uint64_t n, uint64_t total)
{
	return total > 0 ? (double)n / (double)total * 100.0 : 0.0;
}

/* Python's list.sort(key=..., reverse=True) (or ascending for names): the
 * key goes into the row, ties fall back to first-seen order. */
static void sort_rows(struct row *rows, size_t n, enum out_sort mode, uint64_t total,
		      const struct profile *p, const struct strtab *bases, struct buf *names)
{
	for (size_t i = 0; i < n; i++) {
		struct row *r = &rows[i];
		r->kind = mode == SORT_NAME ? KEY_NAME
			: mode == SORT_NSAMPLES || mode == SORT_NSAMPLES_CUMUL ? KEY_UINT : KEY_DOUBLE;
		switch (mode) {
		case SORT_TOTTIME: r->dkey = r->tt; break;
		case SORT_CUMTIME: r->dkey = r->ct; break;
		case SORT_SAMPLE_PCT: r->dkey = pct(r->direct, total); break;
		case SORT_CUMUL_PCT: r->dkey = pct(r->cumul, total); break;
		case SORT_NSAMPLES_CUMUL: r->ukey = r->cumul; break;
		case SORT_NAME: {
			/* str((file, line, func)) */
			size_t len;
			const char *s;
			r->name_off = names->len;
			buf_putc(names, '(');
			s = strtab_get(bases, r->base, &len);
			pytext_repr(names, s, len);
			buf_printf(names, ", %" PRId32 ", ", r->line);
			s = strtab_get(&p->strings, r->func, &len);
			pytext_repr(names, s, len);
			buf_putc(names, ')');
			r->name_len = names->len - r->name_off;
			break;
		}
		default: r->ukey = r->direct; break;
		}
	}
	/* names->data is final only now */
	for (size_t i = 0; i < n; i++)
		rows[i].name = mode == SORT_NAME ? names->data + rows[i].name_off : NULL;
	qsort(rows, n, sizeof(*rows), cmp_rows);
}

struct unit {
	const char *name;
	double scale;
};

/* PstatsCollector._determine_best_unit */
static struct unit best_unit(double max)
{
	if (max >= 1.0)
		return (struct unit){ "s", 1.0 };
	if (max >= 0.001)
		return (struct unit){ "ms", 1000.0 };
	return (struct unit){ "\xce\xbcs", 1e6 }; /* U+03BC GREEK SMALL LETTER MU */
}

/* len(s), as Python counts */
static size_t codepoints(const char *s)
{
	return utf8_count(s, strlen(s));
}

/* f"{s:>{width}}": right-align by code points, as Python counts. */
static void put_right(struct buf *b, const char *s, size_t width)
{
	for (size_t n = codepoints(s); n < width; n++)
		buf_putc(b, ' ');
	buf_puts(b, s);
}

static void put_bytes(struct buf *b, const struct strtab *t, uint32_t id)
{
	size_t n;
	const char *s = strtab_get(t, id, &n);
	buf_append(b, s, n);
}

/* "file:line(func)" of the table, which goes to a terminal: the names are
 * the target's, their control characters shown escaped (base/utf8.h). */
static void put_func_name(struct buf *b, const struct colors *col, const char *file, size_t flen,
			  const char *line, const char *func, size_t fnlen)
{
	buf_puts(b, col->green);
	utf8_term_escape(b, file, flen, 0);
	buf_printf(b, "%s:%s%s%s(%s", col->reset, col->yellow, line, col->reset, col->cyan);
	utf8_term_escape(b, func, fnlen, 0);
	buf_printf(b, "%s)", col->reset);
}

/* An entry of the summary: displayed rows aggregated by "file:func". */
struct agg {
	uint32_t name;  /* id of "file:func" in the summary string table */
	uint32_t order;
	uint64_t direct, cumul;
	double key;
	int64_t ikey;
	bool int_key;
};

static int cmp_agg(const void *pa, const void *pb)
{
	const struct agg *a = pa, *b = pb;
	int c = a->int_key ? (a->ikey < b->ikey) - (a->ikey > b->ikey)
			   : (a->key < b->key) - (a->key > b->key);
	if (c == 0)
		c = (a->order > b->order) - (a->order < b->order);
	return c;
}

enum summary_list { HOT_SPOTS, CALL_FREQUENCY, MAGNIFICATION };

static void print_top(struct buf *out, const struct colors *col, struct agg *aggs, size_t n,
		      const struct strtab *names, enum summary_list which, uint64_t total)
{
	static const char *const titles[] = {
		[HOT_SPOTS] = "Functions with Highest Direct/Cumulative Ratio (Hot Spots)",
		[CALL_FREQUENCY] = "Functions with Highest Call Frequency (Indirect Calls)",
		[MAGNIFICATION] = "Functions with Highest Call Magnification (Cumulative/Direct)",
	};
	buf_printf(out, "\n%s%s:%s\n", col->bold_blue, titles[which], col->reset);
	for (size_t i = 0; i < n; i++) {
		struct agg *a = &aggs[i];
		a->int_key = which == CALL_FREQUENCY;
		switch (which) {
		case HOT_SPOTS:
			a->key = a->cumul > 0 ? (double)a->direct / (double)a->cumul : 0.0;
			break;
		case CALL_FREQUENCY:
			a->ikey = (int64_t)a->cumul - (int64_t)a->direct;
			break;
		case MAGNIFICATION:
			a->key = a->direct > 0 ? (double)a->cumul / (double)a->direct : 0.0;
			break;
		}
	}
	qsort(aggs, n, sizeof(*aggs), cmp_agg);
	for (size_t i = 0; i < n && i < SUMMARY_TOP; i++) {
		const struct agg *a = &aggs[i];
		uint64_t d = a->direct, c = a->cumul;
		switch (which) {
		case HOT_SPOTS:
			if (!(d > 0 && c > 0))
				continue;
			buf_printf(out, "  %.3f direct/cumulative ratio, %.1f%% direct samples: ",
				   (double)d / (double)c, pct(d, total));
			break;
		case CALL_FREQUENCY:
			if (!(c > d))
				continue;
			buf_printf(out, "  %" PRIu64 " indirect calls, %.1f%% total stack presence: ",
				   c - d, pct(c, total));
			break;
		case MAGNIFICATION:
			if (!(d > 0 && c > d))
				continue;
			buf_printf(out,
				   "  %.1fx call magnification, %" PRIu64 " indirect calls from %" PRIu64
				   " direct: ",
				   (double)c / (double)d, c - d, d);
			break;
		}
		/* Tachyon splits "file:func" back at its last ':' and shows an
		 * empty line number: "file:(func)". */
		size_t len;
		const char *q = strtab_get(names, a->name, &len);
		const char *colon = memrchr(q, ':', len);
		assert(colon);
		size_t flen = (size_t)(colon - q);
		put_func_name(out, col, q, flen, "", colon + 1, len - flen - 1);
		buf_putc(out, '\n');
	}
}

/* PstatsCollector._print_summary over the displayed rows. */
static void print_summary(struct buf *out, const struct colors *col, const struct profile *p,
			  const struct strtab *bases, const struct row *rows, size_t n,
			  uint64_t total)
{
	buf_printf(out, "\n%sSummary of Interesting Functions:%s\n", col->bold_blue, col->reset);
	struct strtab names;
	strtab_init(&names);
	struct agg *aggs = xmalloc(n * sizeof(*aggs));
	size_t naggs = 0;
	struct buf q = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		buf_reset(&q);
		put_bytes(&q, bases, rows[i].base);
		buf_putc(&q, ':');
		put_bytes(&q, &p->strings, rows[i].func);
		uint32_t id = strtab_intern(&names, q.data, q.len);
		if (id == naggs)
			aggs[naggs++] = (struct agg){ .name = id, .order = id };
		aggs[id].direct += rows[i].direct;
		aggs[id].cumul += rows[i].cumul;
	}
	buf_release(&q);
	/* each list sorts a fresh copy in first-seen order */
	struct agg *work = xmalloc((naggs ? naggs : 1) * sizeof(*work));
	for (int which = HOT_SPOTS; which <= MAGNIFICATION; which++) {
		memcpy(work, aggs, naggs * sizeof(*work));
		print_top(out, col, work, naggs, &names, (enum summary_list)which, total);
	}
	free(work);
	free(aggs);
	strtab_release(&names);
}

static const char *const legend[][2] = {
	{ "nsamples", "Direct/Cumulative samples (direct executing / on call stack)" },
	{ "sample%", "Percentage of total samples this function was directly executing" },
	{ "tottime", "Estimated total time spent directly in this function" },
	{ "cumul%", "Percentage of total samples when this function was on the call stack" },
	{ "cumtime", "Estimated cumulative time (including time in called functions)" },
	{ "filename:lineno(function)", "Function location and name" },
};

static void print_table(struct buf *out, const struct out_request *req, const struct profile *p,
			const struct fstats *fs)
{
	const struct colors *col = req->color ? &ansi : &plain;
	struct strtab bases;
	strtab_init(&bases);
	struct buf names = BUF_INIT;
	size_t n;
	struct row *rows = strip_dirs(p, fs, &bases, &n);

	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += rows[i].direct;
	enum out_sort mode = req->sort >= SORT_NSAMPLES && req->sort <= SORT_NAME
				     ? (enum out_sort)req->sort : SORT_NSAMPLES;
	sort_rows(rows, n, mode, total, p, &bases, &names);
	/* Python's rows[:limit]: a negative limit drops rows from the end */
	if (req->limit >= 0)
		n = (size_t)req->limit < n ? (size_t)req->limit : n;
	else
		n = (size_t)-(int64_t)req->limit >= n ? 0 : n - (size_t)-(int64_t)req->limit;

	double max_tt = 0, max_ct = 0;
	for (size_t i = 0; i < n; i++) {
		if (rows[i].tt > max_tt)
			max_tt = rows[i].tt;
		if (rows[i].ct > max_ct)
			max_ct = rows[i].ct;
	}
	struct unit tu = best_unit(max_tt), cu = best_unit(max_ct);
	char tt_title[32], ct_title[32];
	snprintf(tt_title, sizeof(tt_title), "tottime (%s)", tu.name);
	snprintf(ct_title, sizeof(ct_title), "cumtime (%s)", cu.name);
	size_t tt_w = codepoints(tt_title) > 12 ? codepoints(tt_title) : 12;
	size_t ct_w = codepoints(ct_title) > 12 ? codepoints(ct_title) : 12;

	buf_printf(out, "%sProfile Stats:%s\n", col->bold_blue, col->reset);
	const char *titles[] = { "nsamples", "sample%", tt_title, "cumul%", ct_title };
	const size_t widths[] = { 15, 8, tt_w, 8, ct_w };
	for (size_t i = 0; i < 5; i++) {
		buf_puts(out, col->bold_blue);
		put_right(out, titles[i], widths[i]);
		buf_printf(out, "%s  ", col->reset);
	}
	buf_printf(out, "%sfilename:lineno(function)%s\n", col->bold_blue, col->reset);

	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		char ns[48], line[16];
		snprintf(ns, sizeof(ns), "%" PRIu64 "/%" PRIu64, r->direct, r->cumul);
		put_right(out, ns, 15);
		buf_printf(out, "  %8.1f  %*.3f  %8.1f  %*.3f  ", pct(r->direct, total), (int)tt_w,
			   r->tt * tu.scale, pct(r->cumul, total), (int)ct_w, r->ct * cu.scale);
		snprintf(line, sizeof(line), "%" PRId32, r->line);
		size_t blen, flen;
		const char *base = strtab_get(&bases, r->base, &blen);
		const char *func = strtab_get(&p->strings, r->func, &flen);
		put_func_name(out, col, base, blen, line, func, flen);
		buf_putc(out, '\n');
	}

	buf_printf(out, "\n%sLegend:%s\n", col->bold_blue, col->reset);
	for (size_t i = 0; i < sizeof(legend) / sizeof(legend[0]); i++)
		buf_printf(out, "  %s%s%s: %s\n", col->yellow, legend[i][0], col->reset, legend[i][1]);

	if (req->show_summary && n > 0)
		print_summary(out, col, p, &bases, rows, n, total);

	free(rows);
	buf_release(&names);
	strtab_release(&bases);
}

static int pstats_open(struct out_stream **st, const struct out_request *req)
{
	struct pstats *ps = xcalloc(1, sizeof(*ps));
	stack_ids_init(&ps->ids, req->skip_idle);
	fstats_init(&ps->fs, req->path != NULL);
	*st = (struct out_stream *)ps;
	return 0;
}

static int pstats_close(struct out_stream *st, const struct profile *p,
			const struct out_request *req, bool *written)
{
	struct pstats *ps = (struct pstats *)st;
	struct fstats *fs = &ps->fs;
	struct buf out = BUF_INIT;
	int rc = 0;
	*written = false;
	pstats_finish(ps);

	if (req->path) {
		rc = write_file(req, p, fs, written);
		goto out;
	}

	if (fs->keys.count == 0) {
		buf_puts(&out, "No samples were collected.\n");
		/* the run's mode: the request was made before it was known */
		if (p->stats.mode == 1) /* PROFILING_MODE_CPU */
			buf_puts(&out, "This can happen in CPU mode when all threads are idle.\n");
	} else {
		print_table(&out, req, p, fs);
	}
	FILE *fp = req->stdout_fp ? req->stdout_fp : stdout;
	if (out.len && fwrite(out.data, 1, out.len, fp) != out.len)
		rc = ERR_IO;
	if (fflush(fp) != 0)
		rc = ERR_IO;
out:;
	int err = errno;
	buf_release(&out);
	fstats_release(fs);
	free(ps);
	errno = err;
	return rc;
}

/* Nothing was written yet: the file is made at close. */
static void pstats_abort(struct out_stream *st, const struct out_request *req)
{
	(void)req;
	struct pstats *ps = (struct pstats *)st;
	pstats_finish(ps);
	fstats_release(&ps->fs);
	free(ps);
}

const struct out_stream_ops out_pstats_stream = {
	.open = pstats_open,
	.add = pstats_add,
	.close = pstats_close,
	.abort = pstats_abort,
};
