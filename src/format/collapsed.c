/* collapsed.c - collapsed stacks (--collapsed), Tachyon's
 * CollapsedStackCollector byte for byte:
 *
 *     tid:<tid>;<root frame>;...;<leaf frame> <count>\n
 *
 * A frame is "basename(file):func:line", or the bare func for a synthetic
 * frame (file "~" and no line: <GC>, <native>).  A frame with no line shows
 * line 0 (Tachyon's lineno of a frame without location).
 *
 * Tachyon counts per (tuple of (full file, line, func), thread id) and only
 * then renders; so two stacks that differ only in directories stay two lines
 * with the same text, while two stacks that Tachyon cannot tell apart (line 0
 * vs no line, or one tid seen in two interpreters) become one line.  Lines
 * are sorted by count descending, then by the text ascending (Python compares
 * code points; memcmp on UTF-8 is the same order), then first seen.
 *
 * Names are the target's: a ';' or a newline in one would forge frames and
 * lines.  So in file and function names ';', the backslash, control characters but
 * tab (C0, DEL, and the two bytes of a C1 control) are written \xNN, NN
 * the byte in lowercase hex (unescaping every \xNN gives the name's UTF-8
 * back), and a malformed part U+FFFD: the output is valid UTF-8 with one
 * line per stack.  Other names are written as they are, as Tachyon does.
 *
 * A stream: each thread stack becomes (tid, frame keys root first), a frame
 * key being Tachyon's (file, func, line), and is counted in a table of such
 * groups as it arrives, so memory is the distinct stacks as arrays of
 * 32-bit refs, never their text (hundreds of MiB for a million diverse
 * stacks).  A frame key's text is rendered once (a replay's keys all at
 * the start, from the file's frame table; live ones when first seen), and
 * its ref is where that text sits.  A thread whose stack did not
 * change costs one increment.  At the end the sort orders lines by 16-byte
 * pieces of their texts taken past what they share (see "the sort"), and
 * the writer copies each line's frames' texts as it goes out.
 */
#include "format/out.h"

#include "base/buf.h"
#include "base/error.h"
#include "base/intern.h"
#include "base/json.h"
#include "base/pytext.h"
#include "base/utf8.h"
#include "model/profile.h"
#include "model/stackids.h"

#include <stdlib.h>
#include <string.h>

#define FLUSH_AT (1u << 20)
/* Frame texts are copied in whole 16-byte pieces: the text buffer has that
 * much to spare at its end, and the output is reserved ahead. */
#define COPY_PIECE 16

/* A distinct (tid, stack): its bytes in the group table are the tid and
 * then the frame keys' text refs, root first. */
struct line {
	uint64_t count;
	uint32_t group;      /* group id = first-seen position */
};

/* What the sorts move: all the writer needs of a line, and 16 bytes of
 * its frames' text from where the lines being ordered start to differ. */
struct sort_key {
	uint64_t count;
	/* text bytes [at, at + 16), big-endian: unequal keys order two lines
	 * as their texts do */
	uint64_t abbrev[2];
	const unsigned char *ids;  /* the group's frame refs, root first (id_at) */
	uint32_t depth;
	uint32_t tid_rank;   /* the tid's place in the text order of "tid:N;" */
	uint32_t line;       /* group id = first-seen position */
	uint32_t abbrev_len; /* how many of the 16 bytes the text has */
};

struct collapsed {
	struct stack_ids ids;          /* frames of the samples' stacks */
	uint32_t *ref_of;              /* stack_ids frame id -> its text's ref + 1 (0: not yet) */
	size_t ref_of_cap;
	uint32_t *fkey_ref;            /* fkey id -> its text's ref */
	size_t fkey_ref_cap;
	struct rectab fkeys;           /* struct frame_line, ids dense in first-seen order */
	const struct strtab *strings;  /* the samples' strings */
	struct strtab groups;
	struct line *lines;            /* by group id */
	struct sort_key *order;        /* at close: the lines in output order */
	size_t nlines, lines_cap;
	uint32_t *thread_group;        /* stack_ids thread -> its last group + 1 */
	size_t thread_group_cap;
	uint32_t *key;                 /* scratch: tid + ids of one stack */
	uint32_t *base;                /* file string id -> basename offset + 1 */
	size_t base_cap;
	/* every frame key's text, rendered when first seen, at its "ref":
	 * a 32-bit length, then the text with its leading ';'.  Groups hold
	 * refs: one look gives a frame's length and text, and equal frame
	 * keys have equal refs. */
	struct buf ftext;
	uint64_t *tid_by_rank;         /* at close: the distinct tids in text order */
	size_t key_cap;
	struct out_file file;           /* where the lines go */
};

/* A group's stack: its tid and its frames' text refs, root first.  A
 * group's bytes sit in the string table at any alignment: read refs with
 * id_at(). */
static const unsigned char *group_of(struct collapsed *c, uint32_t g, uint64_t *tid,
				     size_t *depth)
{
	size_t n;
	const char *b = strtab_get(&c->groups, g, &n);
	memcpy(tid, b, sizeof(*tid));
	*depth = n / sizeof(uint32_t) - 2;
	return (const unsigned char *)b + sizeof(*tid);
}

/* Ref k of a group's refs. */
static inline uint32_t id_at(const unsigned char *ids, size_t k)
{
	uint32_t v;
	memcpy(&v, ids + k * sizeof(v), sizeof(v));
	return v;
}

static void render_frame(struct buf *b, struct collapsed *c, const struct frame_line *fr);

/* Memoise the ref of stack_ids frame id, whose frame is f: the ref of its
 * (file, func, line), that key's text rendered the first time it is seen;
 * UINT32_MAX when the texts outgrow 32-bit refs. */
static uint32_t ref_new(struct collapsed *c, uint32_t id, const struct frame *f)
{
	VEC_RESERVE_ZERO(c->ref_of, c->ref_of_cap, (size_t)id + 1);
	struct frame_line k = frame_line_of(f->file, f->func, f->line);
	int added;
	uint32_t fk = rectab_intern(&c->fkeys, &k, &added);
	if (added) {
		size_t at = c->ftext.len;
		buf_reserve(&c->ftext, sizeof(uint32_t));
		c->ftext.len += sizeof(uint32_t);
		render_frame(&c->ftext, c, &k);
		if (c->ftext.len >= UINT32_MAX - 1)
			return UINT32_MAX;
		uint32_t n = (uint32_t)(c->ftext.len - at - sizeof(n));
		memcpy(c->ftext.data + at, &n, sizeof(n));
		VEC_RESERVE(c->fkey_ref, c->fkey_ref_cap, (size_t)fk + 1);
		c->fkey_ref[fk] = (uint32_t)at;
	}
	uint32_t ref = c->fkey_ref[fk];
	c->ref_of[id] = ref + 1;
	return ref;
}

/* The ref of stack_ids frame id. */
static inline uint32_t frame_ref(struct collapsed *c, uint32_t id)
{
	if (id < c->ref_of_cap && c->ref_of[id])
		return c->ref_of[id] - 1;
	return ref_new(c, id, stack_ids_frame(&c->ids, id));
}

/* A replay's frame keys are all known from the start (the file's frame
 * table): give each its text ref in one pass, in key order, before any
 * stack is counted.  Done apart, the frame-key table stays in the caches
 * (interleaved with counting, each lookup missed them), and it is freed
 * before the stacks' table grows.  Frames whose strings are bad (which no
 * sample may use: the reader refuses it) are left to frame_ref(), and
 * with them the table. */
#define KEYS_AHEAD 8 /* keys whose table slot is on its way */

static int refs_of_file(struct collapsed *c, const struct frame *keys, size_t n)
{
	VEC_RESERVE_ZERO(c->ref_of, c->ref_of_cap, n);
	VEC_RESERVE(c->fkey_ref, c->fkey_ref_cap, n);
	rectab_reserve(&c->fkeys, n);
	bool all = true;
	for (size_t id = 0; id < n; id++) {
		if (id + KEYS_AHEAD < n) {
			const struct frame *f = &keys[id + KEYS_AHEAD];
			struct frame_line k = frame_line_of(f->file, f->func, f->line);
			rectab_prefetch(&c->fkeys, &k);
		}
		if (keys[id].file >= c->strings->count || keys[id].func >= c->strings->count) {
			all = false;
			continue;
		}
		if (ref_new(c, (uint32_t)id, &keys[id]) == UINT32_MAX)
			return ERR_LIMIT;
	}
	if (all) {
		/* every key has its ref: the memo answers every frame_ref() */
		rectab_release(&c->fkeys);
		free(c->fkey_ref);
		c->fkey_ref = NULL;
		c->fkey_ref_cap = 0;
	}
	return 0;
}

static int collapsed_add(struct out_stream *st, const struct sample *s,
			 const struct strtab *strings)
{
	struct collapsed *c = (struct collapsed *)st;
	c->strings = strings;
	if (s->nkey_frames > c->ref_of_cap) {
		int rc = refs_of_file(c, s->key_frames, s->nkey_frames);
		if (rc)
			return rc;
	}
	for (size_t t = 0; t < s->nthreads; t++) {
		size_t depth;
		const uint32_t *ids = stack_ids_of(&c->ids, s, &s->threads[t], strings, &depth);
		if (depth == 0)
			continue;
		uint32_t th = c->ids.thread;
		VEC_RESERVE_ZERO(c->thread_group, c->thread_group_cap, (size_t)th + 1);
		if (c->ids.same && c->thread_group[th]) {
			c->lines[c->thread_group[th] - 1].count++;
			continue;
		}
		/* tid (two words, the group's alignment kept) + ids root first */
		VEC_RESERVE(c->key, c->key_cap, depth + 2);
		memcpy(c->key, &s->threads[t].tid, sizeof(uint64_t));
		/* the frames' memo entries are scattered: ask for all at once */
		for (size_t i = 0; i < depth; i++)
			if (ids[i] < c->ref_of_cap)
				__builtin_prefetch(&c->ref_of[ids[i]]);
		for (size_t i = 0; i < depth; i++) {
			uint32_t ref = frame_ref(c, ids[depth - 1 - i]);
			if (ref == UINT32_MAX)
				return ERR_LIMIT;
			c->key[2 + i] = ref;
		}
		uint32_t g = strtab_intern(&c->groups, (const char *)c->key,
					   (depth + 2) * sizeof(uint32_t));
		if (g == c->nlines) {
			VEC_RESERVE(c->lines, c->lines_cap, c->nlines + 1);
			c->lines[c->nlines++] = (struct line){ .count = 0, .group = g };
		}
		c->lines[g].count++;
		c->thread_group[th] = g + 1;
	}
	return 0;
}

/* Where the basename of file string id starts (os.path.basename), memoised:
 * files are few, frames many. */
static size_t base_skip(struct collapsed *c, uint32_t id, const char *file, size_t flen)
{
	VEC_RESERVE_ZERO(c->base, c->base_cap, (size_t)id + 1);
	if (!c->base[id]) {
		size_t blen;
		const char *base = pytext_basename(file, flen, &blen);
		c->base[id] = (uint32_t)(base - file) + 1;
	}
	return c->base[id] - 1;
}

/* Whether name s[0..n) is written as it is: no byte the escaping below
 * looks at (non-ASCII goes the careful way, to find C1 controls and
 * malformed parts). */
static bool plain_name(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch < 0x20 && ch != '\t') || ch >= 0x7F || ch == ';' || ch == '\\')
			return false;
	}
	return true;
}

static void put_byte_escape(struct buf *b, unsigned char ch)
{
	static const char hex[] = "0123456789abcdef";
	char e[4] = { '\\', 'x', hex[ch >> 4], hex[ch & 15] };
	buf_append(b, e, sizeof(e));
}

/* Name s[0..n) with the escapes of the file comment appended to b. */
static void put_escaped_name(struct buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		if (u[i] < 0x80) {
			if (plain_name(s + i, 1))
				buf_putc(b, s[i]);
			else
				put_byte_escape(b, u[i]);
			i++;
			continue;
		}
		uint32_t cp;
		size_t k = utf8_decode(u + i, n - i, &cp);
		if (cp == UTF8_INVALID) {
			buf_append(b, UTF8_REPLACEMENT, UTF8_REPLACEMENT_LEN);
		} else if (cp <= 0x9F) {
			for (size_t j = 0; j < k; j++)
				put_byte_escape(b, u[i + j]);
		} else {
			buf_append(b, s + i, k);
		}
		i += k;
	}
}

/* Frame fr's text with its leading ';' appended to b, the way that
 * escapes names: only a frame key's first sighting comes here. */
static void render_escaped(struct buf *b, const char *file, size_t flen, const char *func,
			   size_t nlen, int32_t line, bool synthetic)
{
	buf_putc(b, ';');
	if (!synthetic) {
		put_escaped_name(b, file, flen);
		buf_putc(b, ':');
	}
	put_escaped_name(b, func, nlen);
	if (!synthetic) {
		char num[JSON_NUM_MAX];
		buf_putc(b, ':');
		buf_append(b, num, json_fmt_i64(num, line));
	}
}

/* Frame fr's text with its leading ';' appended to b. */
static void render_frame(struct buf *b, struct collapsed *c, const struct frame_line *fr)
{
	size_t flen, nlen;
	const char *file = strtab_get(c->strings, fr->file, &flen);
	const char *func = strtab_get(c->strings, fr->func, &nlen);
	bool synthetic = flen == 1 && file[0] == '~' && fr->line == 0;
	size_t skip = synthetic ? 0 : base_skip(c, fr->file, file, flen);
	if (!plain_name(func, nlen) || (!synthetic && !plain_name(file + skip, flen - skip))) {
		render_escaped(b, file + skip, flen - skip, func, nlen, fr->line, synthetic);
		return;
	}
	buf_reserve(b, flen + nlen + 24);
	char *o = b->data + b->len;
	*o++ = ';';
	if (synthetic) {
		memcpy(o, func, nlen);
		b->len += 1 + nlen;
		return;
	}
	memcpy(o, file + skip, flen - skip);
	o += flen - skip;
	*o++ = ':';
	memcpy(o, func, nlen);
	o += nlen;
	*o++ = ':';
	o += json_fmt_i64(o, fr->line);
	b->len = (size_t)(o - b->data);
}

/* The end of counting: what only it needed goes, and the texts get the
 * room that the writer's whole-piece copies read past the last one. */
static void finish_texts(struct collapsed *c)
{
	buf_reserve(&c->ftext, COPY_PIECE);
	memset(c->ftext.data + c->ftext.len, 0, COPY_PIECE);
	stack_ids_release(&c->ids);
	rectab_release(&c->fkeys);
	free(c->ref_of);
	c->ref_of = NULL;
	free(c->fkey_ref);
	c->fkey_ref = NULL;
}

/* The text of the frame key at ref, and its length. */
static inline const char *frame_text(const struct collapsed *c, uint32_t ref, size_t *len)
{
	uint32_t n;
	memcpy(&n, c->ftext.data + ref, sizeof(n));
	*len = n;
	return c->ftext.data + ref + sizeof(n);
}

static void put_tid(struct buf *b, uint64_t tid)
{
	buf_puts(b, "tid:");
	json_u64(b, tid);
}

/* ----------------------------------------------------------- the sort */

/*
 * Lines go out by count descending, then "tid:N;" text, then frames' text,
 * then first seen.  Every line has a frame, so its tid's text is always
 * followed by ';' and the tids' ranks among "tid:N;" texts order lines as
 * their whole texts do.  The text order is found without comparing texts:
 * a bucket of lines with the same count and tid is sorted by 16 bytes of
 * text taken where its lines start to differ (their longest common
 * prefix), and each run of lines that still tie is sorted again the same
 * way further on: a most-significant-digit radix sort with 16-byte digits
 * that jumps over shared prefixes.  The sorts compare integers only, and
 * each line's text is looked at once per round it takes part in.
 */

/* A pass over lines in order reads each line's frame refs and then the
 * texts they point at, both scattered: it asks for each a few lines
 * before it needs it, the texts once the refs have arrived. */
#define AHEAD_IDS 16
#define AHEAD_TEXT 8

static void prefetch_ahead(const struct collapsed *c, const struct sort_key *o, size_t i,
			   size_t end)
{
	if (i + AHEAD_IDS < end) {
		const struct sort_key *l = &o[i + AHEAD_IDS];
		for (size_t b = 0; b < l->depth * sizeof(uint32_t); b += 64)
			__builtin_prefetch(l->ids + b);
	}
	if (i + AHEAD_TEXT < end) {
		const struct sort_key *l = &o[i + AHEAD_TEXT];
		for (uint32_t k = 0; k < l->depth; k++)
			__builtin_prefetch(c->ftext.data + id_at(l->ids, k));
	}
}

/* A line's frames' text, read a frame at a time. */
struct cursor {
	const unsigned char *ids;
	size_t depth;
	size_t seg;        /* next frame to load */
	const char *p;     /* unread bytes of the loaded frame's text */
	size_t left;
};

/* Load the next frame's text; false at the end of the line. */
static bool cursor_load(struct cursor *k, const struct collapsed *c)
{
	if (k->seg >= k->depth)
		return false;
	k->p = frame_text(c, id_at(k->ids, k->seg++), &k->left);
	return true;
}

/* How many leading bytes of their frames' texts lines a and b share, at
 * most limit. */
static size_t common_prefix(const struct collapsed *c, const struct sort_key *a,
			    const struct sort_key *b, size_t limit)
{
	size_t n = 0, k = 0;
	/* whole frames while the ids agree */
	while (k < a->depth && k < b->depth && id_at(a->ids, k) == id_at(b->ids, k) && n < limit) {
		size_t len;
		frame_text(c, id_at(a->ids, k), &len);
		n += len;
		k++;
	}
	if (n >= limit || k == a->depth || k == b->depth)
		return n < limit ? n : limit;
	/* then byte by byte */
	struct cursor ka = { a->ids + k * sizeof(uint32_t), a->depth - k, 0, NULL, 0 };
	struct cursor kb = { b->ids + k * sizeof(uint32_t), b->depth - k, 0, NULL, 0 };
	while (n < limit) {
		if (ka.left == 0 && !cursor_load(&ka, c))
			break;
		if (kb.left == 0 && !cursor_load(&kb, c))
			break;
		if (*ka.p != *kb.p)
			break;
		ka.p++, ka.left--, kb.p++, kb.left--;
		n++;
	}
	return n;
}

/* Key k's abbreviation: the bytes [at, at + 16) of its frames' text. */
static void abbreviate(const struct collapsed *c, struct sort_key *k, size_t at)
{
	struct cursor cur = { k->ids, k->depth, 0, NULL, 0 };
	/* whole frames up to the one holding byte at */
	while (cur.seg < cur.depth) {
		uint32_t id = id_at(cur.ids, cur.seg);
		size_t len;
		frame_text(c, id, &len);
		if (len > at)
			break;
		at -= len;
		cur.seg++;
	}
	unsigned char b[16] = { 0 };
	uint32_t got = 0;
	if (cursor_load(&cur, c)) {
		cur.p += at;
		cur.left -= at;
		while (got < sizeof(b)) {
			if (cur.left == 0 && !cursor_load(&cur, c))
				break;
			size_t n = cur.left < sizeof(b) - got ? cur.left : sizeof(b) - got;
			memcpy(b + got, cur.p, n);
			cur.p += n;
			cur.left -= n;
			got += (uint32_t)n;
		}
	}
	uint64_t hi = 0, lo = 0;
	for (int i = 0; i < 8; i++) {
		hi = hi << 8 | b[i];
		lo = lo << 8 | b[8 + i];
	}
	k->abbrev[0] = hi;
	k->abbrev[1] = lo;
	k->abbrev_len = got;
}

/* Abbreviations in text order; a text that ends sorts before any
 * extension of it (its zero padding ties only with real zero bytes, which
 * the length then orders); equal texts keep first-seen order. */
static int cmp_abbrev(const void *pa, const void *pb)
{
	const struct sort_key *a = pa, *b = pb;
	if (a->abbrev[0] != b->abbrev[0])
		return a->abbrev[0] < b->abbrev[0] ? -1 : 1;
	if (a->abbrev[1] != b->abbrev[1])
		return a->abbrev[1] < b->abbrev[1] ? -1 : 1;
	if (a->abbrev_len != b->abbrev_len)
		return a->abbrev_len < b->abbrev_len ? -1 : 1;
	return (a->line > b->line) - (a->line < b->line);
}

static bool same_abbrev(const struct sort_key *a, const struct sort_key *b)
{
	return a->abbrev[0] == b->abbrev[0] && a->abbrev[1] == b->abbrev[1] &&
	       a->abbrev_len == b->abbrev_len;
}

/* lines [lo, hi) of the order, which share their text's first `at` bytes */
struct run {
	size_t lo, hi, at;
};

/* Order each run of lines with the same count and tid by text. */
static void sort_texts(struct collapsed *c)
{
	struct sort_key *o = c->order;
	struct run *todo = NULL;
	size_t ntodo = 0, todo_cap = 0;
	for (size_t lo = 0, hi; lo < c->nlines; lo = hi) {
		for (hi = lo + 1; hi < c->nlines && o[hi].count == o[lo].count &&
				  o[hi].tid_rank == o[lo].tid_rank; hi++)
			;
		if (hi - lo > 1) {
			VEC_RESERVE(todo, todo_cap, ntodo + 1);
			todo[ntodo++] = (struct run){ lo, hi, 0 };
		}
	}
	while (ntodo > 0) {
		struct run r = todo[--ntodo];
		/* what the run's texts share, at least r.at bytes */
		size_t lcp = SIZE_MAX;
		for (size_t i = r.lo + 1; i < r.hi && lcp > r.at; i++) {
			prefetch_ahead(c, o, i, r.hi);
			lcp = common_prefix(c, &o[r.lo], &o[i], lcp);
		}
		if (lcp < r.at)
			lcp = r.at;
		for (size_t i = r.lo; i < r.hi; i++) {
			prefetch_ahead(c, o, i, r.hi);
			abbreviate(c, &o[i], lcp);
		}
		qsort(o + r.lo, r.hi - r.lo, sizeof(*o), cmp_abbrev);
		/* runs still tied after 16 whole bytes go round again */
		for (size_t lo = r.lo, hi; lo < r.hi; lo = hi) {
			for (hi = lo + 1; hi < r.hi && same_abbrev(&o[hi], &o[lo]); hi++)
				;
			if (hi - lo > 1 && o[lo].abbrev_len == sizeof(o[lo].abbrev)) {
				VEC_RESERVE(todo, todo_cap, ntodo + 1);
				todo[ntodo++] = (struct run){ lo, hi, lcp + sizeof(o[lo].abbrev) };
			}
		}
	}
	free(todo);
}

/* "tid:N;" order of two tids: decimal strings, then ';' */
static int cmp_tid_text(const void *pa, const void *pb)
{
	char a[JSON_NUM_MAX + 1], b[JSON_NUM_MAX + 1];
	size_t na = json_fmt_u64(a, *(const uint64_t *)pa);
	size_t nb = json_fmt_u64(b, *(const uint64_t *)pb);
	a[na++] = ';';
	b[nb++] = ';';
	int r = memcmp(a, b, na < nb ? na : nb);
	return r ? r : (na > nb) - (na < nb);
}

/* A line on its way to its bucket: count, tid rank, first-seen position. */
struct bucket_rec {
	uint64_t count;
	uint32_t tid_rank;
	uint32_t line;
};

/* A record's radix digit: its tid rank (shift < 0), or a byte of its
 * count's complement (so that larger counts come first). */
static inline size_t bucket_digit(const struct bucket_rec *r, int shift)
{
	return shift < 0 ? r->tid_rank : (size_t)(~r->count >> shift & 0xff);
}

/* One stable counting-sort pass of n records from `from` into `to` by
 * their digits, which are below nd (hist: nd + 1 counters). */
static void radix_pass(const struct bucket_rec *from, struct bucket_rec *to, size_t n,
		       size_t nd, int shift, size_t *hist)
{
	memset(hist, 0, (nd + 1) * sizeof(*hist));
	for (size_t i = 0; i < n; i++)
		hist[bucket_digit(&from[i], shift) + 1]++;
	for (size_t d = 0; d < nd; d++)
		hist[d + 1] += hist[d];
	for (size_t i = 0; i < n; i++)
		to[hist[bucket_digit(&from[i], shift)]++] = from[i];
}

/* recs (n, in first-seen order) into count-descending, tid, first-seen
 * order: stable radix passes, the least significant key first (the tid,
 * then the count's bytes from the lowest, skipping bytes all counts
 * share). */
static struct bucket_rec *bucket_sort(struct bucket_rec *recs, size_t n, size_t nt)
{
	struct bucket_rec *tmp = xmalloc((n ? n : 1) * sizeof(*tmp));
	size_t *hist = xmalloc(((nt > 256 ? nt : 256) + 1) * sizeof(*hist));
	if (nt > 1) {
		radix_pass(recs, tmp, n, nt, -1, hist);
		struct bucket_rec *t = recs;
		recs = tmp;
		tmp = t;
	}
	uint64_t all_or = 0, all_and = UINT64_MAX;
	for (size_t i = 0; i < n; i++) {
		all_or |= recs[i].count;
		all_and &= recs[i].count;
	}
	for (int shift = 0; shift < 64; shift += 8) {
		if (((all_or ^ all_and) >> shift & 0xff) == 0)
			continue; /* every count has this byte */
		radix_pass(recs, tmp, n, 256, shift, hist);
		struct bucket_rec *t = recs;
		recs = tmp;
		tmp = t;
	}
	free(hist);
	free(tmp);
	return recs;
}

/* The lines in output order, in c->order; the line table goes. */
static void sort_lines(struct collapsed *c)
{
	/* the distinct tids (few), ranked by text */
	struct rectab tids; /* uint64_t, dense ids */
	rectab_init(&tids, sizeof(uint64_t));
	struct bucket_rec *recs = xmalloc((c->nlines ? c->nlines : 1) * sizeof(*recs));
	for (size_t i = 0; i < c->nlines; i++) {
		uint64_t tid;
		size_t depth;
		group_of(c, c->lines[i].group, &tid, &depth);
		recs[i] = (struct bucket_rec){ .count = c->lines[i].count,
					       .tid_rank = rectab_intern(&tids, &tid, NULL),
					       .line = (uint32_t)i }; /* a tid id until ranked */
	}
	size_t nt = tids.count;
	c->tid_by_rank = xmalloc((nt ? nt : 1) * sizeof(*c->tid_by_rank));
	if (nt)
		memcpy(c->tid_by_rank, tids.recs, nt * sizeof(uint64_t));
	qsort(c->tid_by_rank, nt, sizeof(*c->tid_by_rank), cmp_tid_text);
	uint32_t *rank = xmalloc((nt ? nt : 1) * sizeof(*rank)); /* by tid id */
	for (size_t r = 0; r < nt; r++)
		rank[rectab_find(&tids, &c->tid_by_rank[r])] = (uint32_t)r;
	for (size_t i = 0; i < c->nlines; i++)
		recs[i].tid_rank = rank[recs[i].tid_rank];
	free(rank);
	rectab_release(&tids);

	recs = bucket_sort(recs, c->nlines, nt);
	free(c->lines);
	c->lines = NULL;
	c->order = xmalloc((c->nlines ? c->nlines : 1) * sizeof(*c->order));
	for (size_t i = 0; i < c->nlines; i++) {
		uint64_t tid;
		size_t depth;
		struct sort_key *k = &c->order[i];
		*k = (struct sort_key){ .count = recs[i].count, .tid_rank = recs[i].tid_rank,
					.line = recs[i].line };
		k->ids = group_of(c, recs[i].line, &tid, &depth);
		k->depth = (uint32_t)depth;
	}
	free(recs);
	sort_texts(c);
}

/* -------------------------------------------------------------- writing */

static bool flush(struct collapsed *c, struct buf *out, bool force)
{
	if (out->len < FLUSH_AT && !force)
		return true;
	bool ok = out->len == 0 || fwrite(out->data, 1, out->len, c->file.fp) == out->len;
	out->len = 0;
	return ok;
}

static bool write_lines(struct collapsed *c)
{
	struct buf out = BUF_INIT;
	bool ok = true;
	const struct sort_key *o = c->order;
	for (size_t i = 0; i < c->nlines && ok; i++) {
		prefetch_ahead(c, o, i, c->nlines);
		const struct sort_key *l = &o[i];
		put_tid(&out, c->tid_by_rank[l->tid_rank]);
		for (size_t k = 0; k < l->depth; k++) {
			size_t len;
			const char *from = frame_text(c, id_at(l->ids, k), &len);
			if (out.cap - out.len <= len + COPY_PIECE)
				buf_reserve(&out, len + COPY_PIECE);
			char *to = out.data + out.len;
			for (size_t b = 0; b < len; b += COPY_PIECE)
				memcpy(to + b, from + b, COPY_PIECE);
			out.len += len;
		}
		buf_putc(&out, ' ');
		json_u64(&out, l->count);
		buf_putc(&out, '\n');
		ok = flush(c, &out, false);
	}
	if (ok)
		ok = flush(c, &out, true);
	buf_release(&out);
	return ok;
}

static void collapsed_free(struct collapsed *c)
{
	stack_ids_release(&c->ids);
	rectab_release(&c->fkeys);
	free(c->ref_of);
	free(c->fkey_ref);
	strtab_release(&c->groups);
	free(c->lines);
	free(c->order);
	free(c->thread_group);
	free(c->key);
	free(c->base);
	free(c->tid_by_rank);
	buf_release(&c->ftext);
	free(c);
}

static int collapsed_open(struct out_stream **st, const struct out_request *req)
{
	*st = NULL;
	struct out_file f;
	int rc = out_file_open(&f, req);
	if (rc)
		return rc;
	struct collapsed *c = xcalloc(1, sizeof(*c));
	c->file = f;
	stack_ids_init(&c->ids, req->skip_idle);
	rectab_init(&c->fkeys, sizeof(struct frame_line));
	strtab_init(&c->groups);
	*st = (struct out_stream *)c;
	return 0;
}

static int collapsed_close(struct out_stream *st, const struct profile *p,
			   const struct out_request *req, bool *written)
{
	struct collapsed *c = (struct collapsed *)st;
	if (!c->strings)
		c->strings = &p->strings;
	finish_texts(c);
	sort_lines(c);
	bool ok = write_lines(c);
	int rc = out_file_close(&c->file, req, ok, written);
	collapsed_free(c);
	return rc;
}

static void collapsed_abort(struct out_stream *st, const struct out_request *req)
{
	struct collapsed *c = (struct collapsed *)st;
	bool written;
	out_file_close(&c->file, req, false, &written);
	collapsed_free(c);
}

const struct out_stream_ops out_collapsed_stream = {
	.open = collapsed_open,
	.add = collapsed_add,
	.close = collapsed_close,
	.abort = collapsed_abort,
};
