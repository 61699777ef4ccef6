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
 *   only; see base/json.h), so the file is what Tachyon writes for the same
 *   samples, run_id aside: a uuid4 in hex from getrandom().
 */
#include "format/out.h"

#include "base/buf.h"
#include "base/counts.h"
#include "base/error.h"
#include "base/hash.h"
#include "base/intern.h"
#include "base/json.h"
#include "model/profile.h"
#include "model/stackids.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define CHUNK 256
#define FLUSH_AT (1u << 20)

/* A frame as JSONL tells frames apart; absent keys are -1 (end_line: 0). */
struct jframe {
	uint32_t path, func; /* string ids (of the samples' strings) */
	int32_t line, end_line, col, end_col;
};

/* A thread's last stack, counted only when the thread's stack changes (or
 * at the end) with the number of samples that repeated it. */
struct jthread {
	uint32_t *jids;       /* JSONL frame ids, innermost first */
	size_t depth, cap;
	uint64_t weight;      /* samples of it not counted yet */
};

/* Memory: JSONL keeps 16 bytes per distinct frame (its id by stack_ids id,
 * a stack_ids id by JSONL id, two 32-bit counts); the frames themselves are
 * stack_ids' (the replayed file's frame table, shared). */
struct jsonl {
	struct stack_ids ids; /* frame ids of the samples' stacks */
	const struct strtab *strtab; /* the samples' strings */
	uint32_t *str_of;     /* string id -> JSONL id + 1 (0: none yet) */
	size_t str_of_cap;
	uint32_t *strings;    /* JSONL id -> string id */
	size_t nstrings, strings_cap;
	uint32_t *jid_of;     /* stack_ids frame id -> JSONL frame id + 1 (0: none yet) */
	size_t jid_len, jid_cap;
	uint32_t *rep;        /* JSONL frame id -> a stack_ids id of it */
	size_t nframes, rep_cap;
	/* Frames that are one JSONL frame (differing only in opcode, or in
	 * what JSONL leaves out) by struct jframe: made, from the frames so
	 * far, when the first frame comes that is not as JSONL writes it; until
	 * then distinct frames are distinct JSONL frames. */
	uint32_t *merge;      /* JSONL frame id + 1, 0: empty */
	size_t merge_mask;
	struct counts self, cum;
	struct jthread *threads; /* by stack_ids thread */
	size_t threads_cap;
	struct idset seen;    /* the frames of the stack being counted */
	uint64_t total;
	char run_id[33];
	struct out_file file;
	struct buf out;
	bool failed;
};

static uint32_t jstring(struct jsonl *j, uint32_t sid)
{
	VEC_RESERVE_ZERO(j->str_of, j->str_of_cap, (size_t)sid + 1);
	if (!j->str_of[sid]) {
		VEC_RESERVE(j->strings, j->strings_cap, j->nstrings + 1);
		j->strings[j->nstrings] = sid;
		j->str_of[sid] = (uint32_t)++j->nstrings;
	}
	return j->str_of[sid] - 1;
}

/* Frame f as JSONL writes it (strings: the samples' ids). */
static struct jframe jframe_make(const struct frame *f)
{
	struct jframe k;
	k.func = f->func;
	k.path = f->file;
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
	return k;
}

/* Whether f is written as it is: then no other frame is written the same. */
static bool jframe_exact(const struct frame *f)
{
	return f->opcode == FRAME_NO_OPCODE && f->line != FRAME_NO_LINE && f->end_line >= 0 &&
	       f->col >= -1 && f->end_col >= -1;
}

static bool jframe_eq(const struct jframe *a, const struct jframe *b)
{
	return a->path == b->path && a->func == b->func && a->line == b->line &&
	       a->end_line == b->end_line && a->col == b->col && a->end_col == b->end_col;
}

static struct jframe jframe_get(const struct jsonl *j, uint32_t jid)
{
	return jframe_make(stack_ids_frame(&j->ids, j->rep[jid]));
}

/* The slot of k in merge: its JSONL frame's, or the empty one to take. */
static size_t merge_slot(const struct jsonl *j, const struct jframe *k)
{
	size_t i = (size_t)hash_bytes(k, sizeof(*k)) & j->merge_mask;
	for (; j->merge[i]; i = (i + 1) & j->merge_mask) {
		struct jframe o = jframe_get(j, j->merge[i] - 1);
		if (jframe_eq(&o, k))
			break;
	}
	return i;
}

/* Room for one more frame in merge (made on first use): at most 3/4 full. */
static void merge_reserve(struct jsonl *j)
{
	size_t size = j->merge ? j->merge_mask + 1 : 1024;
	if (j->merge && (j->nframes + 1) * 4 <= size * 3)
		return;
	while ((j->nframes + 1) * 4 > size * 3)
		size *= 2;
	free(j->merge);
	j->merge = xcalloc(size, sizeof(*j->merge));
	j->merge_mask = size - 1;
	for (uint32_t id = 0; id < j->nframes; id++) {
		struct jframe k = jframe_get(j, id);
		j->merge[merge_slot(j, &k)] = id + 1;
	}
}

/* The JSONL frame of stack_ids frame sid. */
static uint32_t jframe_of(struct jsonl *j, uint32_t sid)
{
	if (sid < j->jid_len && j->jid_of[sid])
		return j->jid_of[sid] - 1;
	if (sid >= j->jid_len) {
		VEC_RESERVE(j->jid_of, j->jid_cap, (size_t)sid + 1);
		memset(j->jid_of + j->jid_len, 0, ((size_t)sid + 1 - j->jid_len) * sizeof(*j->jid_of));
		j->jid_len = (size_t)sid + 1;
	}
	const struct frame *f = stack_ids_frame(&j->ids, sid);
	/* Tachyon interns the function name first */
	jstring(j, f->func);
	jstring(j, f->file);
	size_t slot = 0;
	if (j->merge || !jframe_exact(f)) {
		merge_reserve(j);
		struct jframe k = jframe_make(f);
		slot = merge_slot(j, &k);
		if (j->merge[slot]) {
			j->jid_of[sid] = j->merge[slot];
			return j->merge[slot] - 1;
		}
	}
	uint32_t id = (uint32_t)j->nframes++;
	VEC_RESERVE(j->rep, j->rep_cap, j->nframes);
	j->rep[id] = sid;
	counts_resize(&j->self, j->nframes);
	counts_resize(&j->cum, j->nframes);
	if (j->merge)
		j->merge[slot] = id + 1;
	j->jid_of[sid] = id + 1;
	return id;
}

/* Count thread m's stack for its weight: self the leaf, cumulative every
 * frame once (recursion counts once). */
static void count_pending(struct jsonl *j, struct jthread *m)
{
	if (!m->weight)
		return;
	uint64_t w = m->weight;
	m->weight = 0;
	j->total += w;
	counts_add(&j->self, m->jids[0], w);
	idset_start(&j->seen, m->depth);
	for (size_t i = 0; i < m->depth; i++)
		if (idset_add(&j->seen, m->jids[i]))
			counts_add(&j->cum, m->jids[i], w);
}

/* Tachyon's process_frames, one thread stack at a time: frames are named
 * innermost first when a stack is seen; a stack is counted when its thread
 * moves to another (or at the end), once for all the samples that
 * repeated it. */
static int jsonl_add(struct out_stream *st, const struct sample *s, const struct strtab *strings)
{
	struct jsonl *j = (struct jsonl *)st;
	j->strtab = strings;
	for (size_t t = 0; t < s->nthreads; t++) {
		size_t depth;
		const uint32_t *ids = stack_ids_of(&j->ids, s, &s->threads[t], strings, &depth);
		if (depth == 0)
			continue;
		VEC_RESERVE_ZERO(j->threads, j->threads_cap, (size_t)j->ids.thread + 1);
		struct jthread *m = &j->threads[j->ids.thread];
		if (m->weight && j->ids.shared == depth && m->depth == depth) {
			m->weight++; /* the thread's stack did not change */
			continue;
		}
		count_pending(j, m);
		VEC_RESERVE(m->jids, m->cap, depth);
		for (size_t i = 0; i < depth; i++)
			m->jids[i] = jframe_of(j, ids[i]);
		m->depth = depth;
		m->weight = 1;
	}
	return 0;
}

static void flush(struct jsonl *j, bool force)
{
	if (j->out.len < FLUSH_AT && !force)
		return;
	if (j->out.len && fwrite(j->out.data, 1, j->out.len, j->file.fp) != j->out.len)
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
	json_i64(b, v);
}

static void put_string(struct jsonl *j, uint32_t id)
{
	size_t n;
	const char *s = strtab_get(j->strtab, j->strings[id], &n);
	put_key_i64(&j->out, "{\"str_id\":", id);
	buf_puts(&j->out, ",\"value\":");
	json_str(&j->out, s, n, true);
	buf_putc(&j->out, '}');
}

static void put_frame(struct jsonl *j, uint32_t id)
{
	struct jframe k = jframe_get(j, id);
	struct buf *b = &j->out;
	put_key_i64(b, "{\"frame_id\":", id);
	put_key_i64(b, ",\"path_str_id\":", j->str_of[k.path] - 1);
	put_key_i64(b, ",\"func_str_id\":", j->str_of[k.func] - 1);
	put_key_i64(b, ",\"line\":", k.line);
	if (k.end_line > 0)
		put_key_i64(b, ",\"end_line\":", k.end_line);
	if (k.col >= 0)
		put_key_i64(b, ",\"col\":", k.col);
	if (k.end_col >= 0)
		put_key_i64(b, ",\"end_col\":", k.end_col);
	buf_putc(b, '}');
}

static void put_entry(struct jsonl *j, uint32_t id)
{
	struct buf *b = &j->out;
	put_key_i64(b, "{\"frame_id\":", id);
	buf_puts(b, ",\"self\":");
	json_u64(b, counts_get(&j->self, id));
	buf_puts(b, ",\"cumulative\":");
	json_u64(b, counts_get(&j->cum, id));
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
			json_i64(&j->out, mode); /* str(mode), as Tachyon */
		buf_putc(&j->out, '"');
	}
	buf_puts(&j->out, "}\n");

	chunked(j, "string_table", NULL, "strings", j->nstrings, put_string);
	chunked(j, "frame_table", NULL, "frames", j->nframes, put_frame);
	struct buf extra = BUF_INIT;
	buf_puts(&extra, ",\"kind\":\"frame\",\"scope\":\"final\",\"samples_total\":");
	json_u64(&extra, j->total);
	chunked(j, "agg", extra.data, "entries", j->nframes, put_entry);
	buf_release(&extra);

	head(j, "end");
	buf_puts(&j->out, ",\"samples_total\":");
	json_u64(&j->out, j->total);
	buf_puts(&j->out, "}\n");
	flush(j, true);
}

static void jsonl_free(struct jsonl *j)
{
	buf_release(&j->out);
	for (size_t i = 0; i < j->threads_cap; i++)
		free(j->threads[i].jids);
	free(j->threads);
	idset_release(&j->seen);
	counts_release(&j->cum);
	counts_release(&j->self);
	free(j->merge);
	free(j->rep);
	free(j->jid_of);
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
	struct out_file f;
	int rc = out_file_open(&f, req);
	if (rc)
		return rc;
	struct jsonl *j = xcalloc(1, sizeof(*j));
	j->file = f;
	stack_ids_init(&j->ids, req->skip_idle);
	counts_init(&j->self);
	counts_init(&j->cum);
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
	for (size_t i = 0; i < j->threads_cap; i++)
		count_pending(j, &j->threads[i]);
	make_run_id(j->run_id);
	write_all(j, p);
	int rc = out_file_close(&j->file, req, !j->failed, written);
	jsonl_free(j);
	return rc;
}

static void jsonl_abort(struct out_stream *st, const struct out_request *req)
{
	struct jsonl *j = (struct jsonl *)st;
	bool written;
	out_file_close(&j->file, req, false, &written);
	jsonl_free(j);
}

const struct out_stream_ops out_jsonl_stream = {
	.open = jsonl_open,
	.add = jsonl_add,
	.close = jsonl_close,
	.abort = jsonl_abort,
};
