/* binary_writer.c - streaming writer of Tachyon's binary format v1.
 *
 * The encoder makes the same choices as Tachyon's writer (CPython 3.15's
 * Modules/_remote_debugging/binary_io_writer.c), so a strobe file and a
 * Tachyon file of the same samples hold the same records:
 *
 *  - per (tid, interp) state: previous stack (frame indices, innermost
 *    first) and previous timestamp, seeded with the start time;
 *  - a stack identical to the previous one is appended to the thread's
 *    pending REPEAT run (16 KiB of delta+status pairs), written out when the
 *    stack changes, when the run buffer would overflow, or at close -- so
 *    records of different threads are not in time order;
 *  - otherwise, with s = longest common suffix (outermost frames):
 *    s == 0 -> FULL; only pushes -> SUFFIX; s >= depth/2 -> POP_PUSH;
 *    else FULL.
 *
 * Records go through a 512 KiB buffer that is handed to zstd (or the file)
 * exactly when it fills, as Tachyon does; memory is the string and frame
 * tables (distinct values only) plus ~17 KiB per thread, whatever the run
 * length.  The header is written as zeros first and rewritten at close,
 * when the counts and table offsets are known.
 */
#include "format/binary.h"

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/hash.h"
#include "base/intern.h"
#include "model/sample.h"
#include "format/out.h"
#include "format/outfile.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#define HEADER_SIZE 64
#define FOOTER_SIZE 32
#define STATS_SIZE 56
#define WBUF_SIZE (512 * 1024)     /* Tachyon's WRITE_BUFFER_SIZE */
#define RLE_BUF_SIZE (16 * 1024)   /* Tachyon's MAX_RLE_BUF_SIZE */
#define RLE_ENTRY_MAX 11           /* delta varint (10) + status */
#define VARINT_MAX 10
#define ZSTD_LEVEL 5
#define OPCODE_NONE 255
#define MAX_REAL_OPCODE 254        /* 3.15's MAX_REAL_OPCODE: higher values are stored as none */

enum { ENC_REPEAT = 0, ENC_FULL = 1, ENC_SUFFIX = 2, ENC_POP_PUSH = 3 };

/* One entry of the frame table; interned with memcmp, so no padding. */
struct wframe {
	uint32_t file;   /* index in the file's string table */
	uint32_t func;
	int32_t line, end_line, col, end_col;
	uint32_t opcode; /* 0..254, or OPCODE_NONE */
};

struct wthread {
	uint64_t tid;
	uint64_t prev_ts;            /* us */
	uint32_t interp;
	uint32_t depth;              /* of stack */
	uint32_t rle_samples;        /* pending REPEAT run */
	size_t rle_bytes;
	unsigned char *rle;          /* RLE_BUF_SIZE bytes, allocated at the first repeat */
	uint32_t stack[BINARY_MAX_DEPTH];
	struct frame *raw;           /* the frames behind stack[], to skip interning */
};

struct binary_writer {
	int fd;                      /* outfile_fd(of) */
	struct outfile *of;          /* the output, renamed into place at close */
	uint64_t file_pos;           /* bytes written to fd so far */
	struct binary_config cfg;
	bool limit_reached;          /* a format limit was hit: refuse more samples */

	unsigned char *wbuf;         /* records before compression */
	size_t wlen;
	ZSTD_CCtx *cctx;             /* NULL without compression */
	unsigned char *zbuf;         /* compressed output, WBUF_SIZE */

	uint32_t *str_map;           /* strtab id -> file string index + 1 (0 = not yet) */
	size_t str_map_cap;
	struct buf strings;          /* the encoded string table: (len varint, bytes)* */
	uint32_t nstrings;
	struct rectab frames;        /* struct wframe, ids = frame indices */

	struct wthread *threads;
	size_t nthreads, threads_cap;
	uint32_t *tslots;            /* open addressing: thread index + 1 */
	size_t ntslots;

	uint64_t total_samples;
	struct binary_write_summary sum;
};

static size_t put_varint(unsigned char *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (unsigned char)v;
	return n;
}

/* zigzag over 32 bits, done in unsigned arithmetic (no overflow) */
static size_t put_zigzag(unsigned char *p, int32_t v)
{
	uint32_t u = (uint32_t)v;
	uint32_t z = (u << 1) ^ (v < 0 ? UINT32_MAX : 0);
	return put_varint(p, z);
}

static void put_u32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4); /* native order: the magic tells readers which one */
}

static void put_u64(unsigned char *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static int write_all(struct binary_writer *w, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t k = write(w->fd, c, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return ERR_IO;
		}
		if (k == 0) {
			errno = EIO;
			return ERR_IO;
		}
		c += k;
		n -= (size_t)k;
		w->file_pos += (uint64_t)k;
	}
	return 0;
}

/* Hand the record buffer to zstd or the file. */
static int flush_wbuf(struct binary_writer *w)
{
	if (!w->wlen)
		return 0;
	if (w->cctx) {
		ZSTD_inBuffer in = { w->wbuf, w->wlen, 0 };
		/* each call consumes some input; the loop ends when all is taken */
		while (in.pos < in.size) {
			ZSTD_outBuffer out = { w->zbuf, WBUF_SIZE, 0 };
			size_t r = ZSTD_compressStream2(w->cctx, &out, &in, ZSTD_e_continue);
			if (ZSTD_isError(r)) {
				errno = EIO;
				return ERR_IO;
			}
			int rc = write_all(w, w->zbuf, out.pos);
			if (rc)
				return rc;
		}
	} else {
		int rc = write_all(w, w->wbuf, w->wlen);
		if (rc)
			return rc;
	}
	w->wlen = 0;
	return 0;
}

/* Append record bytes; the buffer is flushed the moment it is full (even
 * mid-record), which is what makes the zstd input chunks Tachyon's. */
static int emit(struct binary_writer *w, const void *p, size_t n)
{
	const unsigned char *c = p;
	w->sum.bytes_written += n;
	while (n) {
		size_t k = WBUF_SIZE - w->wlen;
		if (k > n)
			k = n;
		memcpy(w->wbuf + w->wlen, c, k);
		w->wlen += k;
		c += k;
		n -= k;
		if (w->wlen == WBUF_SIZE) {
			int rc = flush_wbuf(w);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static size_t put_record_head(unsigned char *p, const struct wthread *t, int enc)
{
	put_u64(p, t->tid);
	put_u32(p + 8, t->interp);
	p[12] = (unsigned char)enc;
	return 13;
}

static int flush_rle(struct binary_writer *w, struct wthread *t)
{
	if (!t->rle_samples)
		return 0;
	unsigned char head[13 + VARINT_MAX];
	size_t n = put_record_head(head, t, ENC_REPEAT);
	n += put_varint(head + n, t->rle_samples);
	int rc = emit(w, head, n);
	if (!rc)
		rc = emit(w, t->rle, t->rle_bytes);
	if (rc)
		return rc;
	w->sum.repeat_records++;
	w->sum.repeat_samples += t->rle_samples;
	/* Tachyon counts every repeated sample as a whole stack not written */
	w->sum.frames_saved += (uint64_t)t->rle_samples * t->depth;
	t->rle_samples = 0;
	t->rle_bytes = 0;
	return 0;
}

/* ---- threads: (tid, interp) -> index, open addressing ------------------ */

static uint64_t thread_hash(uint64_t tid, uint32_t interp)
{
	return hash_u64(tid ^ hash_u64((uint64_t)interp + 0x9e3779b97f4a7c15ULL));
}

static void thread_rehash(struct binary_writer *w)
{
	size_t n = w->ntslots ? w->ntslots * 2 : 64;
	free(w->tslots);
	w->tslots = xcalloc(n, sizeof(*w->tslots));
	w->ntslots = n;
	for (size_t i = 0; i < w->nthreads; i++) {
		size_t j = thread_hash(w->threads[i].tid, w->threads[i].interp) & (n - 1);
		while (w->tslots[j])
			j = (j + 1) & (n - 1);
		w->tslots[j] = (uint32_t)i + 1;
	}
}

static int thread_get(struct binary_writer *w, uint64_t tid, uint32_t interp, struct wthread **out)
{
	if ((w->nthreads + 1) * 2 > w->ntslots)
		thread_rehash(w);
	size_t mask = w->ntslots - 1;
	size_t j = thread_hash(tid, interp) & mask;
	/* the table is at most half full, so the probe ends at an empty slot */
	for (; w->tslots[j]; j = (j + 1) & mask) {
		struct wthread *t = &w->threads[w->tslots[j] - 1];
		if (t->tid == tid && t->interp == interp) {
			*out = t;
			return 0;
		}
	}
	if (w->nthreads >= UINT32_MAX)
		return ERR_LIMIT;
	VEC_RESERVE(w->threads, w->threads_cap, w->nthreads + 1);
	struct wthread *t = &w->threads[w->nthreads];
	memset(t, 0, offsetof(struct wthread, stack));
	t->raw = NULL;
	t->tid = tid;
	t->interp = interp;
	t->prev_ts = w->cfg.start_time_us;
	w->tslots[j] = (uint32_t)++w->nthreads;
	*out = t;
	return 0;
}

/* ---- strings and frames ------------------------------------------------ */

static int intern_string(struct binary_writer *w, const struct strtab *st, uint32_t id, uint32_t *idx)
{
	if (id >= st->count)
		return ERR_INVAL;
	VEC_RESERVE_ZERO(w->str_map, w->str_map_cap, (size_t)id + 1);
	if (w->str_map[id]) {
		*idx = w->str_map[id] - 1;
		return 0;
	}
	/* index + 1 must fit the map, and the count the footer's u32 */
	if (w->nstrings >= UINT32_MAX - 1)
		return ERR_LIMIT;
	size_t len;
	const char *p = strtab_get(st, id, &len);
	unsigned char v[VARINT_MAX];
	buf_append(&w->strings, v, put_varint(v, len));
	buf_append(&w->strings, p, len);
	*idx = w->nstrings++;
	w->str_map[id] = *idx + 1;
	return 0;
}

static int intern_frame(struct binary_writer *w, const struct strtab *st, const struct frame *f,
			uint32_t *idx)
{
	struct wframe k;
	memset(&k, 0, sizeof(k));
	int rc = intern_string(w, st, f->file, &k.file);
	if (!rc)
		rc = intern_string(w, st, f->func, &k.func);
	if (rc)
		return rc;
	/* stored as given: FRAME_NO_LINE is Tachyon's "no location" (lineno
	 * -1), whose other fields the walker leaves at -1 as Tachyon does */
	k.line = f->line;
	k.end_line = f->end_line;
	k.col = f->col;
	k.end_col = f->end_col;
	k.opcode = f->opcode >= 0 && f->opcode <= MAX_REAL_OPCODE ? (uint32_t)f->opcode : OPCODE_NONE;
	/* one hash lookup; the limit leaves room for the one frame it may add */
	if (w->frames.count >= UINT32_MAX - 1)
		return ERR_LIMIT;
	*idx = rectab_intern(&w->frames, &k, NULL);
	return 0;
}

/* ---- records ----------------------------------------------------------- */

struct diff {
	int enc;
	uint32_t shared, pop, push;
};

/* Tachyon's compare_stacks: which record describes cur given prev. */
static struct diff compare_stacks(const uint32_t *prev, uint32_t pdepth, const uint32_t *cur,
				  uint32_t cdepth)
{
	struct diff d = { ENC_FULL, 0, 0, 0 };
	if (pdepth == cdepth && memcmp(prev, cur, cdepth * sizeof(*cur)) == 0) {
		d.enc = ENC_REPEAT;
		d.shared = cdepth;
		return d;
	}
	uint32_t min = pdepth < cdepth ? pdepth : cdepth, s = 0;
	while (s < min && prev[pdepth - 1 - s] == cur[cdepth - 1 - s])
		s++;
	d.shared = s;
	d.pop = pdepth - s;
	d.push = cdepth - s;
	if (s == 0)
		d.enc = ENC_FULL;
	else if (d.pop == 0 && d.push > 0)
		d.enc = ENC_SUFFIX;
	else if (s < cdepth / 2)
		d.enc = ENC_FULL;
	else
		d.enc = ENC_POP_PUSH;
	return d;
}

static int write_change(struct binary_writer *w, const struct wthread *t, uint64_t delta,
			uint8_t status, const struct diff *d, const uint32_t *cur, uint32_t cdepth)
{
	/* head (13) + delta + status + two counts + 256 indices */
	unsigned char rec[13 + 3 * VARINT_MAX + 1 + BINARY_MAX_DEPTH * 5];
	size_t n = put_record_head(rec, t, d->enc);
	n += put_varint(rec + n, delta);
	rec[n++] = status;
	uint32_t nidx;
	switch (d->enc) {
	case ENC_FULL:
		n += put_varint(rec + n, cdepth);
		nidx = cdepth;
		w->sum.full_records++;
		break;
	case ENC_SUFFIX:
		n += put_varint(rec + n, d->shared);
		n += put_varint(rec + n, d->push);
		nidx = d->push;
		w->sum.suffix_records++;
		w->sum.frames_saved += d->shared;
		break;
	default:
		assert(d->enc == ENC_POP_PUSH);
		n += put_varint(rec + n, d->pop);
		n += put_varint(rec + n, d->push);
		nidx = d->push;
		w->sum.pop_push_records++;
		w->sum.frames_saved += d->shared;
		break;
	}
	/* new frames are the innermost ones, at the start of cur */
	for (uint32_t i = 0; i < nidx; i++)
		n += put_varint(rec + n, cur[i]);
	w->sum.frames_written += nidx;
	return emit(w, rec, n);
}

static int add_thread(struct binary_writer *w, const struct sample *s, const struct thread_sample *ts,
		      const struct strtab *strings, uint64_t now_us)
{
	if (w->total_samples == UINT64_MAX)
		return ERR_LIMIT;
	if (ts->first > s->nframes || ts->depth > s->nframes - ts->first)
		return ERR_INVAL;
	struct wthread *t;
	int rc = thread_get(w, ts->tid, ts->interp_id, &t);
	if (rc)
		return rc;
	uint64_t delta = now_us - t->prev_ts; /* wraps like Tachyon's when time goes back */

	uint32_t cur[BINARY_MAX_DEPTH];
	uint32_t depth = ts->depth < BINARY_MAX_DEPTH ? ts->depth : BINARY_MAX_DEPTH;
	const struct frame *fr = &s->frames[ts->first];
	/* the outer frames a stack shares with the thread's previous one keep
	 * their indices: only the changed inner ones are interned */
	uint32_t same = 0;
	if (t->raw)
		while (same < depth && same < t->depth &&
		       frame_eq(&fr[depth - 1 - same], &t->raw[t->depth - 1 - same])) {
			cur[depth - 1 - same] = t->stack[t->depth - 1 - same];
			same++;
		}
	for (uint32_t k = 0; k < depth - same; k++) {
		rc = intern_frame(w, strings, &fr[k], &cur[k]);
		if (rc)
			return rc;
	}
	uint8_t status = (uint8_t)ts->status;
	struct diff d = compare_stacks(t->stack, t->depth, cur, depth);
	if (d.enc == ENC_REPEAT) {
		if (!t->rle)
			t->rle = xmalloc(RLE_BUF_SIZE);
		if (t->rle_bytes + RLE_ENTRY_MAX > RLE_BUF_SIZE) {
			rc = flush_rle(w, t);
			if (rc)
				return rc;
		}
		t->rle_bytes += put_varint(t->rle + t->rle_bytes, delta);
		t->rle[t->rle_bytes++] = status;
		t->rle_samples++;
		/* same indices, maybe other frame bytes (opcodes past 254 share
		 * one index): keep the copy exact */
		if (t->raw)
			memcpy(t->raw, fr, depth * sizeof(*fr));
	} else {
		rc = flush_rle(w, t);
		if (!rc)
			rc = write_change(w, t, delta, status, &d, cur, depth);
		if (rc)
			return rc;
		memcpy(t->stack, cur, depth * sizeof(*cur));
		t->depth = depth;
		if (!t->raw)
			t->raw = xmalloc(BINARY_MAX_DEPTH * sizeof(*t->raw));
		memcpy(t->raw, fr, depth * sizeof(*fr));
	}
	t->prev_ts = now_us;
	w->total_samples++;
	return 0;
}

/* ---- public ------------------------------------------------------------ */

static void writer_free(struct binary_writer *w)
{
	outfile_discard(w->of);
	ZSTD_freeCCtx(w->cctx);
	free(w->zbuf);
	free(w->wbuf);
	free(w->str_map);
	buf_release(&w->strings);
	rectab_release(&w->frames);
	for (size_t i = 0; i < w->nthreads; i++) {
		free(w->threads[i].rle);
		free(w->threads[i].raw);
	}
	free(w->threads);
	free(w->tslots);
	free(w);
}

int binary_writer_open(struct binary_writer **out, const char *path, const struct binary_config *cfg)
{
	*out = NULL;
	if (cfg->compression != BINARY_COMPRESSION_NONE && cfg->compression != BINARY_COMPRESSION_ZSTD)
		return ERR_INVAL;
	if (cfg->mode < -1 || cfg->mode > 4 || cfg->features < -1 || cfg->features > 31)
		return ERR_INVAL;
	struct binary_writer *w = xcalloc(1, sizeof(*w));
	w->fd = -1;
	w->cfg = *cfg;
	w->wbuf = xmalloc(WBUF_SIZE);
	rectab_init(&w->frames, sizeof(struct wframe));
	if (cfg->compression == BINARY_COMPRESSION_ZSTD) {
		w->cctx = ZSTD_createCCtx();
		if (!w->cctx || ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel,
								    ZSTD_LEVEL))) {
			writer_free(w);
			return ERR_NOMEM;
		}
		w->zbuf = xmalloc(WBUF_SIZE);
	}
	/* the file appears at path only when closed, whole */
	struct outfile_policy pol = { .named = cfg->named };
	int rc = outfile_open(&w->of, path, &pol, cfg->err);
	if (rc) {
		int err = errno;
		writer_free(w);
		errno = err;
		return rc;
	}
	w->fd = outfile_fd(w->of);
	unsigned char zero[HEADER_SIZE] = { 0 };
	if (write_all(w, zero, sizeof(zero))) {
		int err = errno;
		errmsg_set(cfg->err, "%s", strerror(err ? err : EIO));
		binary_writer_abort(w);
		errno = err;
		return ERR_IO;
	}
	*out = w;
	return 0;
}

int binary_writer_add(struct binary_writer *w, const struct sample *s, const struct strtab *strings)
{
	if (w->limit_reached)
		return ERR_LIMIT;
	uint64_t now_us = s->time_ns / 1000;
	for (size_t i = 0; i < s->nthreads; i++) {
		int rc = add_thread(w, s, &s->threads[i], strings, now_us);
		if (rc == ERR_LIMIT)
			w->limit_reached = true;
		if (rc)
			return rc;
	}
	return 0;
}

static int finish_stream(struct binary_writer *w)
{
	for (size_t i = 0; i < w->nthreads; i++) {
		int rc = flush_rle(w, &w->threads[i]);
		if (rc)
			return rc;
	}
	int rc = flush_wbuf(w);
	if (rc || !w->cctx)
		return rc;
	ZSTD_inBuffer in = { NULL, 0, 0 };
	size_t left;
	do {
		ZSTD_outBuffer out = { w->zbuf, WBUF_SIZE, 0 };
		left = ZSTD_compressStream2(w->cctx, &out, &in, ZSTD_e_end);
		if (ZSTD_isError(left)) {
			errno = EIO;
			return ERR_IO;
		}
		rc = write_all(w, w->zbuf, out.pos);
		if (rc)
			return rc;
	} while (left);
	return 0;
}

/* The frame table, staged through the (now idle) record buffer. */
static int write_frames(struct binary_writer *w)
{
	size_t n = 0;
	for (size_t i = 0; i < w->frames.count; i++) {
		const struct wframe *f = rectab_get(&w->frames, (uint32_t)i);
		if (n + 7 * VARINT_MAX > WBUF_SIZE) {
			int rc = write_all(w, w->wbuf, n);
			if (rc)
				return rc;
			n = 0;
		}
		unsigned char *p = w->wbuf;
		n += put_varint(p + n, f->file);
		n += put_varint(p + n, f->func);
		n += put_zigzag(p + n, f->line);
		/* ends are deltas, 0 when either side is unknown (-1); unsigned
		 * arithmetic because the difference may not fit an int32 */
		int32_t d = 0;
		if (f->line != -1 && f->end_line != -1)
			d = (int32_t)((uint32_t)f->end_line - (uint32_t)f->line);
		n += put_zigzag(p + n, d);
		n += put_zigzag(p + n, f->col);
		d = 0;
		if (f->col != -1 && f->end_col != -1)
			d = (int32_t)((uint32_t)f->end_col - (uint32_t)f->col);
		n += put_zigzag(p + n, d);
		p[n++] = (unsigned char)f->opcode;
	}
	return write_all(w, w->wbuf, n);
}

static double finite_or_zero(double v)
{
	return isfinite(v) && v >= 0 ? v : 0.0;
}

static int write_stats(struct binary_writer *w, const struct binary_stats *st)
{
	/* Tachyon's reader rejects a block with a negative or non-finite value,
	 * so such values are written as 0 (or left out, for the optional ones). */
	double dur = finite_or_zero(st->duration_s), rate = finite_or_zero(st->sample_rate);
	double err = 0.0, missed = 0.0;
	uint32_t mask = 0;
	if (st->have_error_rate && isfinite(st->error_rate) && st->error_rate >= 0) {
		err = st->error_rate;
		mask |= 1;
	}
	if (st->have_missed_samples && isfinite(st->missed_samples)) {
		missed = st->missed_samples;
		mask |= 2;
	}
	unsigned char b[STATS_SIZE] = { 0 };
	memcpy(b, &dur, 8);
	memcpy(b + 8, &rate, 8);
	memcpy(b + 16, &err, 8);
	memcpy(b + 24, &missed, 8);
	put_u32(b + 32, mask);
	memcpy(b + 40, "TACHSTAT", 8);
	put_u32(b + 48, 1);
	put_u32(b + 52, STATS_SIZE);
	return write_all(w, b, sizeof(b));
}

static int write_header(struct binary_writer *w, uint64_t str_off, uint64_t frame_off)
{
	unsigned char h[HEADER_SIZE] = { 0 };
	put_u32(h, 0x54414348); /* "TACH"; "HCAT" on disk on little-endian hosts */
	put_u32(h + 4, BINARY_FORMAT_VERSION);
	h[8] = w->cfg.py_major;
	h[9] = w->cfg.py_minor;
	h[10] = w->cfg.py_micro;
	put_u64(h + 12, w->cfg.start_time_us);
	put_u64(h + 20, w->cfg.interval_us);
	put_u64(h + 28, w->total_samples);
	put_u32(h + 36, (uint32_t)w->nthreads);
	put_u64(h + 40, str_off);
	put_u64(h + 48, frame_off);
	put_u32(h + 56, (uint32_t)w->cfg.compression);
	uint32_t config = (uint32_t)(w->cfg.mode + 1);
	if (w->cfg.features >= 0)
		config |= 8u | (uint32_t)w->cfg.features << 4;
	put_u32(h + 60, config);
	size_t done = 0;
	while (done < sizeof(h)) {
		ssize_t k = pwrite(w->fd, h + done, sizeof(h) - done, (off_t)done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return ERR_IO;
		done += (size_t)k;
	}
	return 0;
}

int binary_writer_close(struct binary_writer *w, const struct binary_stats *stats,
			struct binary_write_summary *summary)
{
	int rc = finish_stream(w);
	uint64_t str_off = w->file_pos, frame_off = 0;
	if (!rc)
		rc = write_all(w, w->strings.data, w->strings.len);
	if (!rc) {
		frame_off = w->file_pos;
		rc = write_frames(w);
	}
	if (!rc && stats)
		rc = write_stats(w, stats);
	if (!rc) {
		unsigned char f[FOOTER_SIZE] = { 0 };
		put_u32(f, w->nstrings);
		put_u32(f + 4, (uint32_t)w->frames.count);
		put_u64(f + 8, w->file_pos + FOOTER_SIZE);
		rc = write_all(w, f, sizeof(f));
	}
	if (!rc)
		rc = write_header(w, str_off, frame_off);
	if (rc)
		errmsg_set(w->cfg.err, "%s", strerror(errno ? errno : EIO));
	if (!rc) {
		struct outfile *of = w->of;
		w->of = NULL;
		w->fd = -1;
		rc = outfile_commit(of, w->cfg.err);
	}
	if (summary) {
		*summary = w->sum;
		summary->samples = w->total_samples;
		summary->records = w->sum.repeat_records + w->sum.full_records +
				   w->sum.suffix_records + w->sum.pop_push_records;
	}
	if (rc) {
		int err = errno;
		binary_writer_abort(w);
		errno = err;
		return rc;
	}
	writer_free(w);
	return 0;
}

void binary_writer_abort(struct binary_writer *w)
{
	if (!w)
		return;
	int err = errno;
	writer_free(w); /* discards the unfinished file */
	errno = err;
}

/* ---- the format row ------------------------------------------------------ */

/* The binary writer as the stream of the "binary" row: the header from the
 * request, the run's figures in the stats block at close. */
struct binary_stream {
	struct binary_writer *w;
	struct errmsg why; /* the writer's reasons (binary_config.err) */
};

/* "cannot write PATH: why" in req->err, why being the writer's own words,
 * else errno's, else rc's. */
static void stream_error(const struct out_request *req, const struct errmsg *why, int rc)
{
	int e = errno;
	errmsg_set(req->err, "cannot write %s: %s", req->path,
		   why->text[0] ? why->text : e ? strerror(e) : err_str(rc));
	errno = e;
}

static int stream_open(struct out_stream **st, const struct out_request *req)
{
	struct binary_stream *bs = xcalloc(1, sizeof(*bs));
	struct binary_config bc = {
		.interval_us = req->interval_us,
		.start_time_us = clock_now_ns() / 1000,
		.compression = req->compression,
		.mode = req->mode,
		.features = req->features,
		.py_major = (uint8_t)req->py_major,
		.py_minor = (uint8_t)req->py_minor,
		.py_micro = (uint8_t)req->py_micro,
		.named = req->named,
		.err = &bs->why,
	};
	int rc = binary_writer_open(&bs->w, req->path, &bc);
	if (rc) {
		stream_error(req, &bs->why, rc);
		free(bs);
		return rc;
	}
	*st = (struct out_stream *)bs;
	return 0;
}

static int stream_add(struct out_stream *st, const struct sample *s, const struct strtab *strings)
{
	return binary_writer_add(((struct binary_stream *)st)->w, s, strings);
}

/* 1234567 -> "1,234,567", as Python's "{:,}" */
struct grouped {
	char s[32];
};
static struct grouped fmt_group(uint64_t v)
{
	struct grouped g;
	char digits[24];
	int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v), k = 0;
	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			g.s[k++] = ',';
		g.s[k++] = digits[i];
	}
	g.s[k] = '\0';
	return g;
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? (double)part / (double)whole * 100.0 : 0.0;
}

/* Tachyon's "Binary Encoding" and "Frame Efficiency" figures. */
static void print_summary(FILE *fp, const struct binary_write_summary *b)
{
	uint64_t r = b->records;
	fprintf(fp, "  Binary Encoding:\n");
	fprintf(fp, "    Records:          %s\n", fmt_group(r).s);
	fprintf(fp, "      RLE repeat:     %s (%.1f%%) [%s samples]\n", fmt_group(b->repeat_records).s,
		pct(b->repeat_records, r), fmt_group(b->repeat_samples).s);
	fprintf(fp, "      Full stack:     %s (%.1f%%)\n", fmt_group(b->full_records).s,
		pct(b->full_records, r));
	fprintf(fp, "      Suffix match:   %s (%.1f%%)\n", fmt_group(b->suffix_records).s,
		pct(b->suffix_records, r));
	fprintf(fp, "      Pop-push:       %s (%.1f%%)\n", fmt_group(b->pop_push_records).s,
		pct(b->pop_push_records, r));
	fprintf(fp, "  Frame Efficiency:\n");
	fprintf(fp, "    Frames written:   %s\n", fmt_group(b->frames_written).s);
	fprintf(fp, "    Frames saved:     %s (%.1f%%)\n", fmt_group(b->frames_saved).s,
		pct(b->frames_saved, b->frames_written + b->frames_saved));
	uint64_t bytes = b->bytes_written;
	if (bytes >= 1024 * 1024)
		fprintf(fp, "    Bytes (pre-zstd): %.1f MB\n", (double)bytes / (1024.0 * 1024.0));
	else if (bytes >= 1024)
		fprintf(fp, "    Bytes (pre-zstd): %.1f KB\n", (double)bytes / 1024.0);
	else
		fprintf(fp, "    Bytes (pre-zstd): %llu B\n", (unsigned long long)bytes);
}

static int stream_close(struct out_stream *st, const struct profile *p, const struct out_request *req,
			bool *written)
{
	struct binary_stream *bs = (struct binary_stream *)st;
	struct out_run_figures f;
	out_run_figures_of(p, &f);
	struct binary_stats stats = {
		.duration_s = f.duration_s,
		.sample_rate = f.sample_rate,
		.error_rate = f.error_rate,
		.missed_samples = f.missed_samples,
		.have_error_rate = true,
		.have_missed_samples = true,
	};
	struct binary_write_summary sum;
	int rc = binary_writer_close(bs->w, &stats, &sum);
	*written = rc == 0;
	if (rc == 0) {
		print_summary(req->stdout_fp ? req->stdout_fp : stdout, &sum);
		if (req->note)
			buf_printf(req->note, " (%llu samples)", (unsigned long long)sum.samples);
	} else {
		stream_error(req, &bs->why, rc);
	}
	free(bs);
	return rc;
}

static void stream_abort(struct out_stream *st, const struct out_request *req)
{
	(void)req;
	struct binary_stream *bs = (struct binary_stream *)st;
	binary_writer_abort(bs->w);
	free(bs);
}

const struct out_stream_ops out_binary_stream = {
	.open = stream_open,
	.add = stream_add,
	.close = stream_close,
	.abort = stream_abort,
};
