/* pprof.c - a gzipped profile.proto (--pprof; not in Tachyon), as
 * `go tool pprof` and the other pprof tools read it.
 *
 * The message is encoded by hand (varints and length-delimited fields are
 * all profile.proto needs) and streamed through zlib's gzip wrapper:
 *
 *   sample_type      [samples/count, wall/nanoseconds]  (cpu/nanoseconds in
 *                    --mode cpu); the last is pprof's default
 *   sample           one per (stack, thread): location ids leaf first,
 *                    values [count, count x interval in ns], label
 *                    thread_id=<OS tid> (and interpreter_id when not 0)
 *   mapping          one, id 1, flagged as having functions, file names and
 *                    line numbers, so no tool tries to symbolize addresses
 *   location         one per (function, line) - the line executing, as in
 *                    Tachyon's formats - holding one Line(function, line)
 *   function         one per (name, file): name is co_qualname (3.11+) or
 *                    co_name; system_name is left empty, or pprof would
 *                    "demangle" it (<module> would lose its <...> part and
 *                    show as nothing); filename co_filename,
 *                    start_line the lowest line sampled in it (the profile
 *                    does not carry co_firstlineno)
 *   string_table     "" first, then every string used, as strict UTF-8
 *   duration_nanos, period_type wall/nanoseconds, period = interval in ns
 *
 * Synthetic frames (<GC>, <native>) are functions with no file name and
 * line 0.  Ids start at 1 (0 means "none" in profile.proto).
 */
#include "format/out.h"

#include "base/buf.h"
#include "base/error.h"
#include "base/intern.h"
#include "base/utf8.h"
#include "model/profile.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* profile.proto field numbers */
enum {
	PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_MAPPING = 3, PROFILE_LOCATION = 4,
	PROFILE_FUNCTION = 5, PROFILE_STRING_TABLE = 6, PROFILE_DURATION_NANOS = 10,
	PROFILE_PERIOD_TYPE = 11, PROFILE_PERIOD = 12, PROFILE_COMMENT = 13,
	VALUETYPE_TYPE = 1, VALUETYPE_UNIT = 2,
	SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2, SAMPLE_LABEL = 3,
	LABEL_KEY = 1, LABEL_NUM = 3,
	MAPPING_ID = 1, MAPPING_FILENAME = 5, MAPPING_HAS_FUNCTIONS = 7,
	MAPPING_HAS_FILENAMES = 8, MAPPING_HAS_LINE_NUMBERS = 9,
	LOCATION_ID = 1, LOCATION_MAPPING_ID = 2, LOCATION_LINE = 4,
	LINE_FUNCTION_ID = 1, LINE_LINE = 2,
	FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_FILENAME = 4,
	FUNCTION_START_LINE = 5,
};
enum { WT_VARINT = 0, WT_LEN = 2 };

#define FLUSH_AT (256u << 10)

/* ---- protobuf encoding ------------------------------------------------ */

static void pb_varint(struct buf *b, uint64_t v)
{
	unsigned char tmp[10];
	size_t n = 0;
	while (v >= 0x80) {
		tmp[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (unsigned char)v;
	buf_append(b, tmp, n);
}

static void pb_key(struct buf *b, unsigned field, unsigned wt)
{
	pb_varint(b, (uint64_t)field << 3 | wt);
}

/* A scalar field; zero is the default and is not written (proto3). */
static void pb_uint(struct buf *b, unsigned field, uint64_t v)
{
	if (!v)
		return;
	pb_key(b, field, WT_VARINT);
	pb_varint(b, v);
}

/* int64: a negative value is its two's complement, ten bytes */
static void pb_int(struct buf *b, unsigned field, int64_t v)
{
	pb_uint(b, field, (uint64_t)v);
}

static void pb_bytes(struct buf *b, unsigned field, const void *p, size_t n)
{
	pb_key(b, field, WT_LEN);
	pb_varint(b, n);
	buf_append(b, p, n);
}

/* Move a finished sub-message (or packed run) into b and empty it. */
static void pb_sub(struct buf *b, unsigned field, struct buf *m)
{
	pb_bytes(b, field, m->data, m->len);
	buf_reset(m);
}

/* ---- gzip output -------------------------------------------------------- */

struct gz {
	z_stream z;
	FILE *f;
	bool open, failed;
	unsigned char out[1 << 16];
};

static int gz_open(struct gz *g, FILE *f)
{
	memset(&g->z, 0, sizeof(g->z));
	g->f = f;
	g->failed = false;
	/* 15 + 16: a gzip wrapper around the deflate stream */
	g->open = deflateInit2(&g->z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
	return g->open ? 0 : ERR_NOMEM;
}

static void gz_put(struct gz *g, struct buf *b, int flush)
{
	g->z.next_in = (unsigned char *)(b->data ? b->data : "");
	g->z.avail_in = (uInt)b->len;
	int zr;
	do {
		g->z.next_out = g->out;
		g->z.avail_out = sizeof(g->out);
		zr = deflate(&g->z, flush);
		size_t have = sizeof(g->out) - g->z.avail_out;
		if (zr == Z_STREAM_ERROR || (have && fwrite(g->out, 1, have, g->f) != have)) {
			g->failed = true;
			break;
		}
	} while (g->z.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
	buf_reset(b);
}

static void gz_close(struct gz *g)
{
	if (g->open)
		deflateEnd(&g->z);
	g->open = false;
}

/* ---- the profile's tables ---------------------------------------------- */

struct pfunc {
	uint32_t name, file; /* pprof string indices */
};

struct ploc {
	uint32_t func; /* function index (id - 1) */
	int32_t line;
};

struct tables {
	const struct profile *p;
	struct strtab strs;       /* pprof string table: index = id */
	uint32_t *str_of;         /* profile string id -> pprof index + 1 */
	struct buf scratch;
	struct rectab funcs;      /* struct pfunc */
	int32_t *start_line;      /* per function */
	size_t start_cap;
	struct rectab locs;       /* struct ploc */
	uint32_t *loc_of;         /* profile frame id -> location id (1-based) */
};

static uint32_t pstr(struct tables *t, const char *s, size_t n)
{
	buf_reset(&t->scratch);
	utf8_sanitize(&t->scratch, s, n);
	return strtab_intern(&t->strs, t->scratch.data ? t->scratch.data : "", t->scratch.len);
}

static uint32_t pstr_of(struct tables *t, uint32_t sid)
{
	if (!t->str_of[sid]) {
		size_t n;
		const char *s = strtab_get(&t->p->strings, sid, &n);
		t->str_of[sid] = pstr(t, s, n) + 1;
	}
	return t->str_of[sid] - 1;
}

static void build_tables(struct tables *t)
{
	const struct profile *p = t->p;
	size_t nstr = p->strings.count, nfr = p->frames.count;
	strtab_init(&t->strs);
	strtab_intern(&t->strs, "", 0); /* index 0 must be "" */
	t->str_of = xcalloc(nstr ? nstr : 1, sizeof(*t->str_of));
	rectab_init(&t->funcs, sizeof(struct pfunc));
	rectab_init(&t->locs, sizeof(struct ploc));
	t->loc_of = xmalloc((nfr ? nfr : 1) * sizeof(*t->loc_of));
	uint32_t tilde = strtab_find(&p->strings, "~", 1);
	for (size_t i = 0; i < nfr; i++) {
		const struct profile_frame *f = profile_frame_get(p, (uint32_t)i);
		bool synthetic = f->file == tilde && f->line == FRAME_NO_LINE;
		struct pfunc fn = { .name = pstr_of(t, f->func),
				    .file = synthetic ? 0 : pstr_of(t, f->file) };
		int added;
		uint32_t fi = rectab_intern(&t->funcs, &fn, &added);
		int32_t line = f->line > 0 ? f->line : 0;
		if (added) {
			size_t old = t->start_cap;
			VEC_RESERVE(t->start_line, t->start_cap, (size_t)fi + 1);
			for (size_t k = old; k < t->start_cap; k++)
				t->start_line[k] = 0;
		}
		if (line > 0 && (t->start_line[fi] == 0 || line < t->start_line[fi]))
			t->start_line[fi] = line;
		struct ploc loc = { .func = fi, .line = line };
		t->loc_of[i] = rectab_intern(&t->locs, &loc, NULL) + 1;
	}
}

static void release_tables(struct tables *t)
{
	free(t->loc_of);
	rectab_release(&t->locs);
	free(t->start_line);
	rectab_release(&t->funcs);
	buf_release(&t->scratch);
	free(t->str_of);
	strtab_release(&t->strs);
}

/* ---- writing -------------------------------------------------------------- */

static void value_type(struct buf *out, struct buf *m, unsigned field, uint32_t type, uint32_t unit)
{
	pb_uint(m, VALUETYPE_TYPE, type);
	pb_uint(m, VALUETYPE_UNIT, unit);
	pb_sub(out, field, m);
}

static void write_samples(struct tables *t, struct gz *g, struct buf *out, uint64_t period_ns)
{
	const struct profile *p = t->p;
	uint32_t k_tid = pstr(t, "thread_id", 9), k_interp = pstr(t, "interpreter_id", 14);
	struct buf m = BUF_INIT, packed = BUF_INIT, label = BUF_INIT;
	uint32_t *stack = NULL;
	size_t cap = 0;
	for (size_t e = 0; e < p->nentries; e++) {
		const struct profile_entry *ent = &p->entries[e];
		size_t depth = profile_stack_fill(p, ent->node, &stack, &cap);
		if (depth == 0)
			continue;
		for (size_t i = 0; i < depth; i++) /* leaf first, as pprof wants */
			pb_varint(&packed, t->loc_of[stack[i]]);
		pb_sub(&m, SAMPLE_LOCATION_ID, &packed);
		pb_varint(&packed, ent->count);
		pb_varint(&packed, ent->count * period_ns);
		pb_sub(&m, SAMPLE_VALUE, &packed);
		const struct profile_thread *th = profile_thread_get(p, ent->thread);
		pb_uint(&label, LABEL_KEY, k_tid);
		pb_int(&label, LABEL_NUM, (int64_t)th->tid);
		pb_sub(&m, SAMPLE_LABEL, &label);
		if (th->interp_id) {
			pb_uint(&label, LABEL_KEY, k_interp);
			pb_int(&label, LABEL_NUM, th->interp_id);
			pb_sub(&m, SAMPLE_LABEL, &label);
		}
		pb_sub(out, PROFILE_SAMPLE, &m);
		if (out->len >= FLUSH_AT)
			gz_put(g, out, Z_NO_FLUSH);
	}
	free(stack);
	buf_release(&label);
	buf_release(&packed);
	buf_release(&m);
}

static void write_profile(struct tables *t, struct gz *g, int mode)
{
	const struct profile *p = t->p;
	struct buf out = BUF_INIT, m = BUF_INIT, sub = BUF_INIT;
	uint64_t period_ns = p->stats.interval_us * 1000;
	uint32_t s_samples = pstr(t, "samples", 7), s_count = pstr(t, "count", 5);
	uint32_t s_time = mode == 1 ? pstr(t, "cpu", 3) : pstr(t, "wall", 4);
	uint32_t s_ns = pstr(t, "nanoseconds", 11);
	uint32_t s_comment = pstr(t, "sampled by strobe", 17);

	value_type(&out, &m, PROFILE_SAMPLE_TYPE, s_samples, s_count);
	value_type(&out, &m, PROFILE_SAMPLE_TYPE, s_time, s_ns);
	write_samples(t, g, &out, period_ns);

	pb_uint(&m, MAPPING_ID, 1);
	pb_uint(&m, MAPPING_HAS_FUNCTIONS, 1);
	pb_uint(&m, MAPPING_HAS_FILENAMES, 1);
	pb_uint(&m, MAPPING_HAS_LINE_NUMBERS, 1);
	pb_sub(&out, PROFILE_MAPPING, &m);

	for (size_t i = 0; i < t->locs.count; i++) {
		const struct ploc *l = rectab_get(&t->locs, (uint32_t)i);
		pb_uint(&m, LOCATION_ID, i + 1);
		pb_uint(&m, LOCATION_MAPPING_ID, 1);
		pb_uint(&sub, LINE_FUNCTION_ID, (uint64_t)l->func + 1);
		pb_int(&sub, LINE_LINE, l->line);
		pb_sub(&m, LOCATION_LINE, &sub);
		pb_sub(&out, PROFILE_LOCATION, &m);
		if (out.len >= FLUSH_AT)
			gz_put(g, &out, Z_NO_FLUSH);
	}
	for (size_t i = 0; i < t->funcs.count; i++) {
		const struct pfunc *f = rectab_get(&t->funcs, (uint32_t)i);
		pb_uint(&m, FUNCTION_ID, i + 1);
		pb_uint(&m, FUNCTION_NAME, f->name);
		pb_uint(&m, FUNCTION_FILENAME, f->file);
		pb_int(&m, FUNCTION_START_LINE, t->start_line[i]);
		pb_sub(&out, PROFILE_FUNCTION, &m);
		if (out.len >= FLUSH_AT)
			gz_put(g, &out, Z_NO_FLUSH);
	}

	pb_int(&out, PROFILE_DURATION_NANOS, (int64_t)(p->stats.duration_s * 1e9));
	value_type(&out, &m, PROFILE_PERIOD_TYPE, s_time, s_ns);
	pb_int(&out, PROFILE_PERIOD, (int64_t)period_ns);
	/* comment is a repeated int64 of string indices: packed */
	pb_varint(&sub, s_comment);
	pb_sub(&out, PROFILE_COMMENT, &sub);

	/* the string table last: every string above is interned by now */
	for (size_t i = 0; i < t->strs.count; i++) {
		size_t n;
		const char *s = strtab_get(&t->strs, (uint32_t)i, &n);
		pb_bytes(&out, PROFILE_STRING_TABLE, s, n);
		if (out.len >= FLUSH_AT)
			gz_put(g, &out, Z_NO_FLUSH);
	}
	gz_put(g, &out, Z_FINISH);
	buf_release(&sub);
	buf_release(&m);
	buf_release(&out);
}

/* Declared for the table in out.c. */
int out_pprof_write(const struct profile *p, const struct out_request *req, bool *written);

int out_pprof_write(const struct profile *p, const struct out_request *req, bool *written)
{
	*written = false;
	struct tables t;
	memset(&t, 0, sizeof(t));
	t.p = p;
	build_tables(&t);
	struct gz *g = xmalloc(sizeof(*g));
	g->open = false;
	struct out_file f;
	int rc = out_file_open(&f, req);
	if (rc)
		goto out;
	rc = gz_open(g, f.fp);
	if (rc == 0) {
		write_profile(&t, g, req->mode);
		if (g->failed)
			rc = ERR_IO;
	}
	int closed = out_file_close(&f, req, rc == 0, written);
	if (rc == 0)
		rc = closed;
out:
	gz_close(g);
	free(g);
	release_tables(&t);
	return rc;
}
