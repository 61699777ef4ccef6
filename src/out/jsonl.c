/* jsonl.c - JSON Lines (--jsonl), Tachyon's JsonlCollector schema v0 byte
 * for byte (but the run id):
 *
 *   {"type":"meta","v":0,"run_id":R,"sample_interval_usec":N,"mode":"wall"}
 *   {"type":"string_table","v":0,"run_id":R,"strings":[{"str_id":0,"value":"..."},...]}
 *   {"type":"frame_table","v":0,"run_id":R,"frames":[{"frame_id":0,"path_str_id":P,
 *       "func_str_id":F,"line":L,"end_line":E,"col":C,"end_col":EC},...]}
 *   {"type":"agg","v":0,"run_id":R,"kind":"frame","scope":"final","samples_total":T,
 *       "entries":[{"frame_id":0,"self":S,"cumulative":C},...]}
 *   {"type":"end","v":0,"run_id":R,"samples_total":T}
 *
 * - Tables and entries come in chunks of 256 (no record for an empty one);
 *   ids count from 0 in first-seen order: stacks in the order they were
 *   first seen, each innermost frame first; a new frame interns its
 *   function name, then its file name.
 * - A frame is (file, func, line, end_line, col, end_col): frames differing
 *   only in opcode are one.  A frame without location (line -1: <GC>,
 *   <native>) is line 0 with nothing else; end_line is left out when <= 0,
 *   col and end_col when < 0.
 * - self counts stacks whose leaf is the frame, cumulative stacks holding
 *   it (once per stack, so recursion counts once); samples_total counts
 *   thread stacks (weighted), not sampling ticks.
 * - mode is left out when unknown (replay of a file that does not say).
 * - Strings are escaped as Python's json.dumps does by default (ASCII
 *   only; see textenc.h), so the file is what Tachyon writes for the same
 *   samples, run_id aside: a uuid4 in hex from getrandom().
 */
#include "out/out.h"

#include "base/buf.h"
#include "base/error.h"
#include "base/intern.h"
#include "model/profile.h"
#include "model/stackids.h"
#include "out/textenc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define CHUNK 256
#define FLUSH_AT (1u << 20)

/* A frame as JSONL tells frames apart; absent keys are -1 (end_line: 0). */
struct jframe {
	uint32_t path, func; /* JSONL string ids */
	int32_t line, end_line, col, end_col;
};

struct jsonl {
	struct stack_ids ids; /* frame ids of the samples' stacks */
	const struct strtab *strtab; /* the samples' strings */
	uint32_t *str_of;     /* string id -> JSONL id + 1 (0: none yet) */
	size_t str_of_cap;
	uint32_t *strings;    /* JSONL id -> string id */
	size_t nstrings, strings_cap;
	uint32_t *frame_of;   /* stack_ids frame id -> JSONL frame id + 1 */
	size_t frame_of_cap;
	struct rectab frames; /* struct jframe, ids are JSONL frame ids */
	uint64_t *self, *cum;
	uint32_t *seen;       /* per JSONL frame: the stamp of the last stack that counted it */
	size_t counts_cap;
	uint32_t stamp;       /* stacks counted, mod 2^32 (0 is never a stamp) */
	uint64_t total;
	char run_id[33];
	FILE *f;
	bool own_file;
	struct buf out;
	bool failed;
};

static uint32_t jstring(struct jsonl *j, uint32_t sid)
{
	if (sid >= j->str_of_cap) {
		size_t old = j->str_of_cap;
		VEC_RESERVE(j->str_of, j->str_of_cap, (size_t)sid + 1);
		memset(j->str_of + old, 0, (j->str_of_cap - old) * sizeof(*j->str_of));
	}
	if (!j->str_of[sid]) {
		VEC_RESERVE(j->strings, j->strings_cap, j->nstrings + 1);
		j->strings[j->nstrings] = sid;
		j->str_of[sid] = (uint32_t)++j->nstrings;
	}
	return j->str_of[sid] - 1;
}

static uint32_t jframe_of(struct jsonl *j, uint32_t fid)
{
	if (fid < j->frame_of_cap && j->frame_of[fid])
		return j->frame_of[fid] - 1;
	const struct frame *f = stack_ids_frame(&j->ids, fid);
	struct jframe k;
	memset(&k, 0, sizeof(k));
	/* Tachyon interns the function name first */
	k.func = jstring(j, f->func);
	k.path = jstring(j, f->file);
	if (f->line == FRAME_NO_LINE) {
		/* no location: Tachyon's DEFAULT_LOCATION (0, 0, -1, -1) */
		k.line = 0;
		k.end_line = 0;
		k.col = k.end_col = -1;
	} else {
		k.line = f->line;
		k.end_line = f->end_line > 0 ? f->end_line : 0;
		k.col = f->col >= 0 ? f->col : -1;
		k.end_col = f->end_col >= 0 ? f->end_col : -1;
	}
	int added;
	uint32_t id = rectab_intern(&j->frames, &k, &added);
	if (added && id >= j->counts_cap) {
		size_t old = j->counts_cap, cap = j->counts_cap;
		VEC_RESERVE(j->self, cap, (size_t)id + 1);
		j->cum = xrealloc(j->cum, cap * sizeof(*j->cum));
		j->seen = xrealloc(j->seen, cap * sizeof(*j->seen));
		memset(j->self + old, 0, (cap - old) * sizeof(*j->self));
		memset(j->cum + old, 0, (cap - old) * sizeof(*j->cum));
		memset(j->seen + old, 0, (cap - old) * sizeof(*j->seen));
		j->counts_cap = cap;
	}
	if (fid >= j->frame_of_cap) {
		size_t old = j->frame_of_cap;
		VEC_RESERVE(j->frame_of, j->frame_of_cap, (size_t)fid + 1);
		memset(j->frame_of + old, 0, (j->frame_of_cap - old) * sizeof(*j->frame_of));
	}
	j->frame_of[fid] = id + 1;
	return id;
}

/* Tachyon's process_frames, one thread stack at a time: frames are named
 * innermost first, self counts the leaf, cumulative every frame once. */
static int jsonl_add(struct out_stream *st, const struct sample *s, const struct strtab *strings)
{
	struct jsonl *j = (struct jsonl *)st;
	j->strtab = strings;
	for (size_t t = 0; t < s->nthreads; t++) {
		size_t depth;
		const uint32_t *ids = stack_ids_of(&j->ids, s, &s->threads[t], strings, &depth);
		if (depth == 0)
			continue;
		j->total++;
		if (++j->stamp == 0) { /* wrapped: forget every old stamp */
			memset(j->seen, 0, j->counts_cap * sizeof(*j->seen));
			j->stamp = 1;
		}
		for (size_t i = 0; i < depth; i++) {
			uint32_t id = jframe_of(j, ids[i]);
			if (i == 0)
				j->self[id]++;
			if (j->seen[id] != j->stamp) {
				j->seen[id] = j->stamp;
				j->cum[id]++;
			}
		}
	}
	return 0;
}

static void flush(struct jsonl *j, bool force)
{
	if (j->out.len < FLUSH_AT && !force)
		return;
	if (j->out.len && fwrite(j->out.data, 1, j->out.len, j->f) != j->out.len)
		j->failed = true;
	buf_reset(&j->out);
}

/* {"type":"T","v":0,"run_id":"R" */
static void head(struct jsonl *j, const char *type)
{
	buf_puts(&j->out, "{\"type\":\"");
	buf_puts(&j->out, type);
	buf_puts(&j->out, "\",\"v\":0,\"run_id\":\"");
	buf_append(&j->out, j->run_id, 32);
	buf_putc(&j->out, '"');
}

static void put_key_i64(struct buf *b, const char *key, int64_t v)
{
	buf_puts(b, key);
	textenc_i64(b, v);
}

static void put_string(struct jsonl *j, uint32_t id)
{
	size_t n;
	const char *s = strtab_get(j->strtab, j->strings[id], &n);
	put_key_i64(&j->out, "{\"str_id\":", id);
	buf_puts(&j->out, ",\"value\":");
	textenc_json_str(&j->out, s, n, true);
	buf_putc(&j->out, '}');
}

static void put_frame(struct jsonl *j, uint32_t id)
{
	const struct jframe *k = rectab_get(&j->frames, id);
	struct buf *b = &j->out;
	put_key_i64(b, "{\"frame_id\":", id);
	put_key_i64(b, ",\"path_str_id\":", k->path);
	put_key_i64(b, ",\"func_str_id\":", k->func);
	put_key_i64(b, ",\"line\":", k->line);
	if (k->end_line > 0)
		put_key_i64(b, ",\"end_line\":", k->end_line);
	if (k->col >= 0)
		put_key_i64(b, ",\"col\":", k->col);
	if (k->end_col >= 0)
		put_key_i64(b, ",\"end_col\":", k->end_col);
	buf_putc(b, '}');
}

static void put_entry(struct jsonl *j, uint32_t id)
{
	struct buf *b = &j->out;
	put_key_i64(b, "{\"frame_id\":", id);
	buf_puts(b, ",\"self\":");
	textenc_u64(b, j->self[id]);
	buf_puts(b, ",\"cumulative\":");
	textenc_u64(b, j->cum[id]);
	buf_putc(b, '}');
}

/* Records of type with the items in chunks of CHUNK under key. */
static void chunked(struct jsonl *j, const char *type, const char *extra, const char *key,
		    size_t n, void (*put)(struct jsonl *, uint32_t))
{
	for (size_t start = 0; start < n; start += CHUNK) {
		size_t end = n - start > CHUNK ? start + CHUNK : n;
		head(j, type);
		if (extra)
			buf_puts(&j->out, extra);
		buf_puts(&j->out, ",\"");
		buf_puts(&j->out, key);
		buf_puts(&j->out, "\":[");
		for (size_t i = start; i < end; i++) {
			if (i > start)
				buf_putc(&j->out, ',');
			put(j, (uint32_t)i);
		}
		buf_puts(&j->out, "]}\n");
		flush(j, false);
	}
}

/* uuid.uuid4().hex */
static void make_run_id(char out[33])
{
	unsigned char r[16];
	size_t got = 0;
	while (got < sizeof(r)) {
		ssize_t n = getrandom(r + got, sizeof(r) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < sizeof(r)) {
		/* no entropy source at all: still a well-formed id */
		FILE *u = fopen("/dev/urandom", "rb");
		if (!u || fread(r, 1, sizeof(r), u) != sizeof(r))
			memset(r, 0x5a, sizeof(r));
		if (u)
			fclose(u);
	}
	r[6] = (unsigned char)((r[6] & 0x0F) | 0x40); /* version 4 */
	r[8] = (unsigned char)((r[8] & 0x3F) | 0x80); /* RFC 4122 variant */
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 15];
	}
	out[32] = '\0';
}

static const char *const mode_names[] = { "wall", "cpu", "gil", "all", "exception" };

static void write_all(struct jsonl *j, const struct profile *p)
{
	int mode = p->stats.mode;
	head(j, "meta");
	put_key_i64(&j->out, ",\"sample_interval_usec\":", (int64_t)p->stats.interval_us);
	if (mode >= 0) {
		buf_puts(&j->out, ",\"mode\":\"");
		if (mode < (int)(sizeof(mode_names) / sizeof(mode_names[0])))
			buf_puts(&j->out, mode_names[mode]);
		else
			textenc_i64(&j->out, mode); /* str(mode), as Tachyon */
		buf_putc(&j->out, '"');
	}
	buf_puts(&j->out, "}\n");

	chunked(j, "string_table", NULL, "strings", j->nstrings, put_string);
	chunked(j, "frame_table", NULL, "frames", j->frames.count, put_frame);
	struct buf extra = BUF_INIT;
	buf_puts(&extra, ",\"kind\":\"frame\",\"scope\":\"final\",\"samples_total\":");
	textenc_u64(&extra, j->total);
	chunked(j, "agg", extra.data, "entries", j->frames.count, put_entry);
	buf_release(&extra);

	head(j, "end");
	buf_puts(&j->out, ",\"samples_total\":");
	textenc_u64(&j->out, j->total);
	buf_puts(&j->out, "}\n");
	flush(j, true);
}

static void jsonl_free(struct jsonl *j)
{
	buf_release(&j->out);
	free(j->seen);
	free(j->cum);
	free(j->self);
	rectab_release(&j->frames);
	free(j->frame_of);
	free(j->strings);
	free(j->str_of);
	stack_ids_release(&j->ids);
	free(j);
}

/* The file is created now, so that a path that cannot be written fails
 * before any sampling; it is written at the end, as Tachyon's export. */
static int jsonl_open(struct out_stream **st, const struct out_request *req)
{
	*st = NULL;
	FILE *f = req->path ? fopen(req->path, "wb") : req->stdout_fp ? req->stdout_fp : stdout;
	if (!f)
		return ERR_IO;
	struct jsonl *j = xcalloc(1, sizeof(*j));
	j->f = f;
	j->own_file = req->path != NULL;
	stack_ids_init(&j->ids, req->skip_idle);
	rectab_init(&j->frames, sizeof(struct jframe));
	*st = (struct out_stream *)j;
	return 0;
}

static int jsonl_close(struct out_stream *st, const struct profile *p,
		       const struct out_request *req, bool *written)
{
	(void)req;
	struct jsonl *j = (struct jsonl *)st;
	if (!j->strtab)
		j->strtab = &p->strings;
	make_run_id(j->run_id);
	write_all(j, p);
	if (j->own_file) {
		if (fclose(j->f) != 0)
			j->failed = true;
	} else if (fflush(j->f) != 0) {
		j->failed = true;
	}
	int rc = j->failed ? ERR_IO : 0;
	*written = !rc && j->own_file;
	jsonl_free(j);
	return rc;
}

const struct out_stream_ops out_jsonl_stream = {
	.open = jsonl_open,
	.add = jsonl_add,
	.close = jsonl_close,
};
