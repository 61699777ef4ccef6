/* pstats.c - the pstats format: Tachyon's text table on stdout, or a marshal
 * file that pstats.Stats() loads.
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
 * The profile's frame ids are in a different order (its trie interns frames
 * outermost first), so the order is rebuilt here: walk the profile entries in
 * index order (= the order their first sample arrived, which is the order
 * Tachyon saw the same samples) and each stack innermost first, numbering
 * functions on first sight.  The earliest entry holding a function holds its
 * earliest sample, so this is exactly Tachyon's dict order.
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
 * and floats computed the same way.
 *
 * The text (no -o) is PstatsCollector.print_stats on
 * pstats.SampledStats(collector).strip_dirs(): strip_dirs merges functions
 * whose (basename, line, func) coincide, summing counts and adding the float
 * times in dict order.  (It also merges caller dicts, overwriting rather than
 * adding colliding callers; print_stats never shows callers, so that is not
 * reproduced.)
 */
#include "out/out.h"

#include "base/buf.h"
#include "base/error.h"
#include "base/hash.h"
#include "base/intern.h"
#include "model/profile.h"
#include "out/marshal.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* strobe writes no ("__sampled__",) marker; see the top of this file. */
static const bool write_sampled_marker = false;

#define SUMMARY_TOP 3

/* Tachyon's function key (filename, lineno, funcname); string ids. */
struct fkey {
	uint32_t file;
	uint32_t func;
	int32_t line;
};

/* One caller of a function, in a per-callee list in first-seen order. */
struct edge {
	uint32_t caller; /* fkey id */
	uint32_t next;   /* next edge of the same callee, or UINT32_MAX */
	uint64_t count;
};

struct fstats {
	struct rectab keys;  /* struct fkey, ids in Tachyon's dict order */
	uint64_t *direct;    /* by key id */
	uint64_t *cumul;
	uint32_t *first_edge, *last_edge;
	uint32_t *stamp;     /* entry index + 1 that last counted the key */
	size_t cap;
	struct edge *edges;
	size_t nedges, edges_cap;
	struct u64map edge_index; /* callee << 32 | caller -> edge index */
};

/* Tachyon's lineno: 0 when the frame has no location. */
static int32_t key_line(int32_t line)
{
	return line == FRAME_NO_LINE ? 0 : line;
}

static uint32_t key_of(struct fstats *fs, const struct profile *p, uint32_t *frame_key,
		       uint32_t frame)
{
	if (frame_key[frame] != UINT32_MAX)
		return frame_key[frame];
	const struct profile_frame *pf = profile_frame_get(p, frame);
	struct fkey k = { .file = pf->file, .func = pf->func, .line = key_line(pf->line) };
	uint32_t id = rectab_intern(&fs->keys, &k, NULL);
	if (id >= fs->cap) {
		/* one capacity for all the per-key arrays */
		size_t old = fs->cap, cap = old ? old * 2 : 64;
		while (cap <= id)
			cap *= 2;
		fs->direct = xrealloc(fs->direct, cap * sizeof(*fs->direct));
		fs->cumul = xrealloc(fs->cumul, cap * sizeof(*fs->cumul));
		fs->first_edge = xrealloc(fs->first_edge, cap * sizeof(*fs->first_edge));
		fs->last_edge = xrealloc(fs->last_edge, cap * sizeof(*fs->last_edge));
		fs->stamp = xrealloc(fs->stamp, cap * sizeof(*fs->stamp));
		for (size_t i = old; i < cap; i++) {
			fs->direct[i] = fs->cumul[i] = 0;
			fs->first_edge[i] = fs->last_edge[i] = UINT32_MAX;
			fs->stamp[i] = 0;
		}
		fs->cap = cap;
	}
	frame_key[frame] = id;
	return id;
}

static void add_edge(struct fstats *fs, uint32_t callee, uint32_t caller, uint64_t count)
{
	uint64_t k = (uint64_t)callee << 32 | caller;
	uint64_t *idx = u64map_get(&fs->edge_index, k);
	if (idx) {
		fs->edges[*idx].count += count;
		return;
	}
	VEC_RESERVE(fs->edges, fs->edges_cap, fs->nedges + 1);
	uint32_t e = (uint32_t)fs->nedges++;
	fs->edges[e] = (struct edge){ .caller = caller, .next = UINT32_MAX, .count = count };
	if (fs->last_edge[callee] == UINT32_MAX)
		fs->first_edge[callee] = e;
	else
		fs->edges[fs->last_edge[callee]].next = e;
	fs->last_edge[callee] = e;
	u64map_put(&fs->edge_index, k, e);
}

static void fstats_build(struct fstats *fs, const struct profile *p)
{
	memset(fs, 0, sizeof(*fs));
	rectab_init(&fs->keys, sizeof(struct fkey));
	u64map_init(&fs->edge_index);

	size_t nframes = p->frames.count;
	uint32_t *frame_key = xmalloc((nframes ? nframes : 1) * sizeof(*frame_key));
	for (size_t i = 0; i < nframes; i++)
		frame_key[i] = UINT32_MAX;
	uint32_t *stack = NULL, *keys = NULL;
	size_t stack_cap = 0, keys_cap = 0;

	for (size_t e = 0; e < p->nentries; e++) {
		const struct profile_entry *ent = &p->entries[e];
		size_t depth = profile_stack_fill(p, ent->node, &stack, &stack_cap);
		if (depth == 0)
			continue;
		VEC_RESERVE(keys, keys_cap, depth);
		/* innermost first, as Tachyon fills its dict */
		for (size_t i = 0; i < depth; i++) {
			uint32_t k = key_of(fs, p, frame_key, stack[i]);
			keys[i] = k;
			if (fs->stamp[k] != (uint32_t)e + 1) {
				fs->stamp[k] = (uint32_t)e + 1;
				fs->cumul[k] += ent->count;
			}
		}
		fs->direct[keys[0]] += ent->count;
		for (size_t i = 1; i < depth; i++)
			add_edge(fs, keys[i - 1], keys[i], ent->count);
	}
	free(keys);
	free(stack);
	free(frame_key);
}

static void fstats_release(struct fstats *fs)
{
	u64map_release(&fs->edge_index);
	free(fs->edges);
	free(fs->stamp);
	free(fs->last_edge);
	free(fs->first_edge);
	free(fs->cumul);
	free(fs->direct);
	rectab_release(&fs->keys);
}

static const struct fkey *fkey_get(const struct fstats *fs, uint32_t id)
{
	return (const struct fkey *)rectab_get(&fs->keys, id);
}

static double interval_s(const struct profile *p)
{
	/* Python: sample_interval_usec / 1_000_000, then count * that */
	return (double)p->stats.interval_us / 1e6;
}

/* ------------------------------------------------------------------ file */

static void marshal_key(struct buf *b, const struct profile *p, const struct fkey *k)
{
	size_t n;
	const char *s;
	marshal_tuple(b, 3);
	s = strtab_get(&p->strings, k->file, &n);
	marshal_str(b, s, n);
	marshal_int(b, k->line);
	s = strtab_get(&p->strings, k->func, &n);
	marshal_str(b, s, n);
}

static void pstats_marshal(struct buf *b, const struct profile *p, const struct fstats *fs,
			   bool marker)
{
	double iv = interval_s(p);
	marshal_dict_begin(b);
	for (uint32_t k = 0; k < fs->keys.count; k++) {
		marshal_key(b, p, fkey_get(fs, k));
		marshal_tuple(b, 5);
		marshal_uint(b, fs->direct[k]);
		marshal_uint(b, fs->cumul[k]);
		marshal_float(b, (double)fs->direct[k] * iv);
		marshal_float(b, (double)fs->cumul[k] * iv);
		marshal_dict_begin(b);
		for (uint32_t e = fs->first_edge[k]; e != UINT32_MAX; e = fs->edges[e].next) {
			marshal_key(b, p, fkey_get(fs, fs->edges[e].caller));
			marshal_uint(b, fs->edges[e].count);
		}
		marshal_dict_end(b);
	}
	if (marker) {
		marshal_tuple(b, 1);
		marshal_str(b, "__sampled__", 11);
		marshal_bool(b, true);
	}
	marshal_dict_end(b);
}

static int write_file(const char *path, const struct buf *b)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return ERR_IO;
	bool ok = fwrite(b->data ? b->data : "", 1, b->len, f) == b->len;
	if (fclose(f) != 0)
		ok = false;
	return ok ? 0 : ERR_IO;
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

static const char *basename_of(const char *s, size_t n, size_t *len)
{
	/* os.path.basename: everything after the last '/' */
	const char *slash = n ? memrchr(s, '/', n) : NULL;
	const char *b = slash ? slash + 1 : s;
	*len = n - (size_t)(b - s);
	return b;
}

/* strip_dirs + the list PstatsCollector.print_stats builds from it. */
static struct row *strip_dirs(const struct profile *p, const struct fstats *fs,
			      struct strtab *bases, size_t *nrows)
{
	double iv = interval_s(p);
	struct rectab seen; /* struct fkey with file = basename id */
	rectab_init(&seen, sizeof(struct fkey));
	struct row *rows = xmalloc((fs->keys.count ? fs->keys.count : 1) * sizeof(*rows));
	size_t n = 0;
	for (uint32_t k = 0; k < fs->keys.count; k++) {
		const struct fkey *fk = fkey_get(fs, k);
		size_t len, blen;
		const char *file = strtab_get(&p->strings, fk->file, &len);
		const char *base = basename_of(file, len, &blen);
		struct fkey sk = { .file = strtab_intern(bases, base, blen), .func = fk->func,
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

/* Decode one code point of (generalised) UTF-8; a byte that starts no
 * sequence decodes as itself + 0xDC00, like surrogateescape. */
static uint32_t utf8_next(const unsigned char *s, size_t n, size_t *adv)
{
	unsigned c = s[0];
	size_t len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
		   : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
	if (len == 0 || len > n)
		goto bad;
	uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			goto bad;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	*adv = len;
	return cp;
bad:
	*adv = 1;
	return 0xdc00 + c;
}

static void put_utf8(struct buf *b, uint32_t cp)
{
	char c[4];
	size_t n;
	if (cp < 0x80) {
		c[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		c[0] = (char)(0xc0 | cp >> 6);
		c[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		c[0] = (char)(0xe0 | cp >> 12);
		c[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		c[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		c[0] = (char)(0xf0 | cp >> 18);
		c[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		c[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		c[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_append(b, c, n);
}

/* str.isprintable() for a non-ASCII code point.  Exact for the categories
 * Cc, Cf, Cs, Co, Zl, Zp and Zs (checked against 3.15, Unicode 17); unassigned code points (Cn)
 * other than the noncharacters count as printable, which only matters for
 * --sort name between names that differ first at such a character. */
static bool printable(uint32_t c)
{
	static const uint32_t nonprint[][2] = {
		{ 0x80, 0xa0 }, { 0xad, 0xad }, { 0x600, 0x605 }, { 0x61c, 0x61c },
		{ 0x6dd, 0x6dd }, { 0x70f, 0x70f }, { 0x890, 0x891 }, { 0x8e2, 0x8e2 },
		{ 0x1680, 0x1680 }, { 0x180e, 0x180e }, { 0x2000, 0x200f },
		{ 0x2028, 0x202f }, { 0x205f, 0x2064 }, { 0x2066, 0x206f },
		{ 0x3000, 0x3000 }, { 0xd800, 0xf8ff }, { 0xfdd0, 0xfdef },
		{ 0xfeff, 0xfeff }, { 0xfff9, 0xfffb }, { 0x110bd, 0x110bd },
		{ 0x110cd, 0x110cd }, { 0x13430, 0x1343f }, { 0x1bca0, 0x1bca3 },
		{ 0x1d173, 0x1d17a }, { 0xe0001, 0xe0001 }, { 0xe0020, 0xe007f },
		{ 0xf0000, 0x10ffff },
	};
	if ((c & 0xfffe) == 0xfffe)
		return false; /* U+xxFFFE, U+xxFFFF noncharacters */
	for (size_t i = 0; i < sizeof(nonprint) / sizeof(nonprint[0]); i++)
		if (c >= nonprint[i][0] && c <= nonprint[i][1])
			return false;
	return true;
}

/* Python's repr() of a str. */
static void py_repr(struct buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	bool squote = memchr(s, '\'', n) != NULL, dquote = memchr(s, '"', n) != NULL;
	char quote = squote && !dquote ? '"' : '\'';
	buf_putc(b, quote);
	for (size_t i = 0; i < n;) {
		size_t adv;
		uint32_t c = utf8_next(u + i, n - i, &adv);
		i += adv;
		if (c == (uint32_t)quote || c == '\\') {
			buf_putc(b, '\\');
			buf_putc(b, (char)c);
		} else if (c == '\t')
			buf_puts(b, "\\t");
		else if (c == '\n')
			buf_puts(b, "\\n");
		else if (c == '\r')
			buf_puts(b, "\\r");
		else if (c < 0x20 || c == 0x7f)
			buf_printf(b, "\\x%02x", c);
		else if (c < 0x7f || printable(c))
			put_utf8(b, c);
		else if (c <= 0xff)
			buf_printf(b, "\\x%02x", c);
		else if (c <= 0xffff)
			buf_printf(b, "\\u%04x", c);
		else
			buf_printf(b, "\\U%08x", c);
	}
	buf_putc(b, quote);
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
			py_repr(names, s, len);
			buf_printf(names, ", %" PRId32 ", ", r->line);
			s = strtab_get(&p->strings, r->func, &len);
			py_repr(names, s, len);
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

static size_t codepoints(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
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

static void put_func_name(struct buf *b, const struct colors *col, const char *file, size_t flen,
			  const char *line, const char *func, size_t fnlen)
{
	buf_puts(b, col->green);
	buf_append(b, file, flen);
	buf_printf(b, "%s:%s%s%s(%s", col->reset, col->yellow, line, col->reset, col->cyan);
	buf_append(b, func, fnlen);
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

/* Declared for the table in out.c. */
int out_pstats_write(const struct profile *p, const struct out_request *req, bool *written);

int out_pstats_write(const struct profile *p, const struct out_request *req, bool *written)
{
	struct fstats fs;
	struct buf out = BUF_INIT;
	int rc = 0;
	*written = false;
	fstats_build(&fs, p);

	if (req->path) {
		pstats_marshal(&out, p, &fs, write_sampled_marker);
		rc = write_file(req->path, &out);
		*written = rc == 0;
		goto out;
	}

	if (fs.keys.count == 0) {
		buf_puts(&out, "No samples were collected.\n");
		if (req->mode == 1) /* PROFILING_MODE_CPU */
			buf_puts(&out, "This can happen in CPU mode when all threads are idle.\n");
	} else {
		print_table(&out, req, p, &fs);
	}
	FILE *fp = req->stdout_fp ? req->stdout_fp : stdout;
	if (out.len && fwrite(out.data, 1, out.len, fp) != out.len)
		rc = ERR_IO;
	if (fflush(fp) != 0)
		rc = ERR_IO;
out:
	buf_release(&out);
	fstats_release(&fs);
	return rc;
}

