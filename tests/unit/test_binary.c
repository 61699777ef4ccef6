/* test_binary.c - the binary format writer and reader.
 *
 *  - round trips through binary_writer_* / binary_reader_* (every field,
 *    every encoding with the summary counts, ids, statuses, depths,
 *    strings, locations, opcodes, zstd and none, stats block);
 *  - files written by Tachyon (tests/fixtures/binary, made by
 *    tests/functional/binary_interop.py generate): strobe's reader must give
 *    the same canonical dump as Tachyon's reader, or the same error (also for
 *    every truncation and every one-byte corruption of two small files);
 *    re-encoding them with strobe's writer must give the same records,
 *    tables and writer counts;
 *  - hostile files: nothing crashes, leaks or grows with what a header claims.
 *
 * With STROBE_BINARY_EXPORT_DIR=DIR the round-trip files are also written to
 * DIR with strobe's dumps (NAME.bin + NAME.txt), for
 * `binary_interop.py --check DIR` to compare against Tachyon's reader.
 */
#include "harness.h"

#include "base/buf.h"
#include "base/error.h"
#include "base/intern.h"
#include "base/utf8.h"
#include "model/sample.h"
#include "format/binary.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define FIXTURES "tests/fixtures/binary"
/* binary_interop.py's digest rule */
#define DIGEST_OVER 8192
#define DIGEST_LINES 40
#define DIGEST_HEAD 2048

static char tmpdir[256];
static const char *export_dir;

/* ---- files ---------------------------------------------------------------- */


static int write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t k = n ? fwrite(p, 1, n, f) : 0;
	return fclose(f) == 0 && k == n ? 0 : -1;
}

static void tmp_path(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", tmpdir, name);
}

/* ---- the canonical dump (binary_interop.py's format) ------------------------ */

static void put_str(struct buf *b, const struct strtab *st, uint32_t id)
{
	size_t len;
	const char *s = strtab_get(st, id, &len);
	struct buf u = BUF_INIT;
	utf8_sanitize(&u, s, len); /* Python's bytes.decode("utf-8", "replace") */
	buf_putc(b, '"');
	for (size_t i = 0; i < u.len; i++) {
		unsigned char c = (unsigned char)u.data[i];
		if (c == '"' || c == '\\') {
			buf_putc(b, '\\');
			buf_putc(b, (char)c);
		} else if (c < 0x20 || c == 0x7f) {
			buf_printf(b, "\\x%02x", c);
		} else {
			buf_putc(b, (char)c);
		}
	}
	buf_putc(b, '"');
	buf_release(&u);
}

static void put_sample_line(struct buf *b, const struct strtab *st, const struct thread_sample *t,
			    const struct frame *f, uint64_t ts_us)
{
	buf_printf(b, "sample %" PRIu64 " %u %u %" PRIu64 " %u", t->tid, t->interp_id, t->status,
		   ts_us, t->depth);
	for (uint32_t k = 0; k < t->depth; k++) {
		buf_puts(b, " | ");
		put_str(b, st, f[k].file);
		buf_putc(b, ' ');
		put_str(b, st, f[k].func);
		if (f[k].line == FRAME_NO_LINE)
			buf_puts(b, " None");
		else
			buf_printf(b, " %d,%d,%d,%d", f[k].line, f[k].end_line, f[k].col, f[k].end_col);
		if (f[k].opcode == FRAME_NO_OPCODE)
			buf_puts(b, " None");
		else
			buf_printf(b, " %d", f[k].opcode);
	}
	buf_putc(b, '\n');
}

static void put_bits(struct buf *b, double v)
{
	uint64_t u;
	memcpy(&u, &v, 8);
	buf_printf(b, "%016" PRIx64, u);
}

static void put_info(struct buf *b, const struct binary_info *in)
{
	buf_printf(b,
		   "info version=%u python=%u.%u.%u start=%" PRIu64 " interval=%" PRIu64
		   " samples=%" PRIu64 " threads=%u strings=%u frames=%u compression=%d mode=",
		   in->version, in->py_major, in->py_minor, in->py_micro, in->start_time_us,
		   in->interval_us, in->sample_count, in->thread_count, in->string_count,
		   in->frame_count, in->compression);
	if (in->mode < 0)
		buf_puts(b, "None");
	else
		buf_printf(b, "%d", in->mode);
	buf_puts(b, " features=");
	if (in->features < 0)
		buf_puts(b, "None");
	else
		buf_printf(b, "%d", in->features);
	buf_putc(b, '\n');
	if (!in->has_stats) {
		buf_puts(b, "stats None\n");
		return;
	}
	buf_puts(b, "stats duration=");
	put_bits(b, in->stats.duration_s);
	buf_puts(b, " rate=");
	put_bits(b, in->stats.sample_rate);
	buf_puts(b, " error=");
	if (in->stats.have_error_rate)
		put_bits(b, in->stats.error_rate);
	else
		buf_puts(b, "None");
	buf_puts(b, " missed=");
	if (in->stats.have_missed_samples)
		put_bits(b, in->stats.missed_samples);
	else
		buf_puts(b, "None");
	buf_putc(b, '\n');
}

static uint64_t fnv1a64(const void *p, size_t n)
{
	const unsigned char *c = p;
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 0x100000001b3ULL;
	return h;
}

/* Replace a long dump by its head and a digest, as binary_interop.py does. */
static void digest(struct buf *text)
{
	if (text->len <= DIGEST_OVER)
		return;
	size_t lines = 0, head = 0, pos = 0;
	int taking = 1;
	while (pos < text->len) {
		const char *nl = memchr(text->data + pos, '\n', text->len - pos);
		size_t end = nl ? (size_t)(nl - text->data) : text->len;
		size_t l = end - pos;
		if (taking && lines < DIGEST_LINES && head + l <= DIGEST_HEAD)
			head += l + 1;
		else
			taking = 0;
		lines++;
		pos = end + 1;
	}
	uint64_t h = fnv1a64(text->data, text->len);
	text->len = head;
	buf_printf(text, "digest fnv1a64=%016" PRIx64 " lines=%zu\n", h, lines);
}

struct dumpctx {
	struct buf *out;
	const struct strtab *st;
	uint64_t progress_calls, last_done;
};

static int dump_sample(void *ctx, const struct sample *s)
{
	struct dumpctx *d = ctx;
	for (size_t i = 0; i < s->nthreads; i++)
		put_sample_line(d->out, d->st, &s->threads[i], s->frames + s->threads[i].first,
				s->time_ns / 1000);
	return 0;
}

static void dump_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct dumpctx *d = ctx;
	(void)total;
	d->progress_calls++;
	d->last_done = done;
}

/* The canonical dump of path by strobe's reader, or its error. */
static void dump_path(const char *path, struct buf *out)
{
	struct errmsg e = { "" };
	struct binary_reader *r;
	buf_reset(out);
	int rc = binary_reader_open(&r, path, &e);
	if (rc) {
		buf_printf(out, "error open: %s\n", e.text);
		return;
	}
	put_info(out, binary_reader_info(r));
	struct strtab st;
	strtab_init(&st);
	struct dumpctx d = { out, &st, 0, 0 };
	rc = binary_reader_replay(r, &st, dump_sample, dump_progress, &d, &e);
	if (rc) {
		buf_reset(out);
		buf_printf(out, "error replay: %s\n", e.text);
	} else {
		buf_printf(out, "end %" PRIu64 "\n", binary_reader_info(r)->sample_count);
		digest(out);
	}
	strtab_release(&st);
	binary_reader_close(r);
}

/* binary_interop.py's verdict: the error line, or "ok N". */
static void verdict(const char *path, struct buf *out)
{
	struct buf d = BUF_INIT;
	dump_path(path, &d);
	buf_reset(out);
	if (d.len >= 5 && memcmp(d.data, "error", 5) == 0) {
		buf_append(out, d.data, d.len - 1);
	} else {
		const char *end = d.data + d.len - 1, *p = end;
		while (p > d.data && p[-1] != '\n')
			p--;
		buf_printf(out, "ok %.*s", (int)(end - p - 4), p + 4);
	}
	buf_release(&d);
}

static void check_text(const char *what, const char *got, size_t glen, const char *want, size_t wlen)
{
	harness_checks++;
	if (glen == wlen && memcmp(got, want, glen) == 0)
		return;
	harness_failures++;
	size_t i = 0, line = 1, bol = 0;
	while (i < glen && i < wlen && got[i] == want[i]) {
		if (got[i] == '\n') {
			line++;
			bol = i + 1;
		}
		i++;
	}
	const char *ge = memchr(got + bol, '\n', glen - bol), *we = memchr(want + bol, '\n', wlen - bol);
	int gl = (int)((ge ? (size_t)(ge - got) : glen) - bol), wl = (int)((we ? (size_t)(we - want) : wlen) - bol);
	fprintf(stderr, "%s: %s differs at line %zu\n  strobe:  %.*s\n  tachyon: %.*s\n", harness_current,
		what, line, gl > 400 ? 400 : gl, got + bol, wl > 400 ? 400 : wl, want + bol);
}

/* ---- building samples -------------------------------------------------------- */

struct tf {
	const char *file, *func;
	int32_t line, end_line, col, end_col, opcode;
};

struct gen {
	struct strtab st;
	struct sample s;
	uint64_t now_us;
};

static void gen_init(struct gen *g)
{
	strtab_init(&g->st);
	sample_init(&g->s);
	g->now_us = 1000000;
}

static void gen_release(struct gen *g)
{
	strtab_release(&g->st);
	sample_release(&g->s);
}

static struct frame mkframe(struct gen *g, const struct tf *t)
{
	struct frame f;
	f.file = strtab_intern_cstr(&g->st, t->file);
	f.func = strtab_intern_cstr(&g->st, t->func);
	f.line = t->line;
	f.end_line = t->end_line;
	f.col = t->col;
	f.end_col = t->end_col;
	f.opcode = t->opcode;
	return f;
}

static struct thread_sample *add_thread(struct gen *g, uint64_t tid, uint32_t interp, uint32_t status)
{
	struct thread_sample *t = sample_add_thread(&g->s);
	t->tid = tid;
	t->interp_id = interp;
	t->status = status;
	return t;
}

static void push_frame(struct gen *g, struct thread_sample *t, struct frame f)
{
	*sample_reserve_frames(&g->s, 1) = f;
	g->s.nframes++;
	t->depth++;
}

/* Frames of a thread from a NULL-file-terminated list, innermost first. */
static void add_stack(struct gen *g, uint64_t tid, uint32_t interp, uint32_t status,
		      const struct tf *frames)
{
	struct thread_sample *t = add_thread(g, tid, interp, status);
	size_t at = (size_t)(t - g->s.threads);
	for (; frames && frames->file; frames++) {
		struct frame f = mkframe(g, frames);
		push_frame(g, &g->s.threads[at], f);
	}
}

/* ---- expected reading of a written sample ------------------------------------ */

/* What a frame becomes in the file and back (binary-format.md). */
static struct frame normalize(struct frame f)
{
	/* an unknown end is written as delta 0: it reads back as the start */
	if (f.line == -1)
		f.end_line = -1;
	else if (f.end_line == -1)
		f.end_line = f.line;
	if (f.col == -1)
		f.end_col = -1;
	else if (f.end_col == -1)
		f.end_col = f.col;
	if (f.opcode < 0 || f.opcode > 254)
		f.opcode = FRAME_NO_OPCODE;
	return f;
}

/* Per-thread record of what was written / read: count and a running
 * digest of the dump lines, so long runs need no memory. */
struct tlog {
	uint64_t tid;
	uint32_t interp;
	uint64_t n, h;
	char first[160];
};

struct log {
	struct tlog *t;
	size_t n, cap;
	struct buf line;
	const struct strtab *st;
	uint64_t total;
};

static struct tlog *log_thread(struct log *l, uint64_t tid, uint32_t interp)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->t[i].tid == tid && l->t[i].interp == interp)
			return &l->t[i];
	VEC_RESERVE(l->t, l->cap, l->n + 1);
	struct tlog *t = &l->t[l->n++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->interp = interp;
	t->h = 0xcbf29ce484222325ULL;
	return t;
}

static void log_line(struct log *l, const struct thread_sample *ts, const struct frame *f, uint64_t us)
{
	buf_reset(&l->line);
	put_sample_line(&l->line, l->st, ts, f, us);
	struct tlog *t = log_thread(l, ts->tid, ts->interp_id);
	if (!t->n)
		snprintf(t->first, sizeof(t->first), "%.*s", (int)l->line.len - 1, l->line.data);
	t->h = fnv1a64(l->line.data, l->line.len) ^ (t->h * 0x100000001b3ULL);
	t->n++;
	l->total++;
}

/* What the reader should give back for sample s. */
static void log_expected(struct log *l, const struct sample *s)
{
	struct frame fr[BINARY_MAX_DEPTH];
	for (size_t i = 0; i < s->nthreads; i++) {
		struct thread_sample t = s->threads[i];
		if (t.depth > BINARY_MAX_DEPTH)
			t.depth = BINARY_MAX_DEPTH; /* the innermost 256 */
		for (uint32_t k = 0; k < t.depth; k++)
			fr[k] = normalize(s->frames[t.first + k]);
		t.status &= 0xff;
		log_line(l, &t, fr, s->time_ns / 1000);
	}
}

static int log_read(void *ctx, const struct sample *s)
{
	struct log *l = ctx;
	for (size_t i = 0; i < s->nthreads; i++)
		log_line(l, &s->threads[i], s->frames + s->threads[i].first, s->time_ns / 1000);
	return 0;
}

/* The same from a keys-only replay: frames NULL, each frame found as
 * key_frames[frame_keys[i]]. */
static int log_read_keys(void *ctx, const struct sample *s)
{
	struct log *l = ctx;
	CHECK(s->frames == NULL && s->nframes == 0);
	for (size_t i = 0; i < s->nthreads; i++) {
		const struct thread_sample *t = &s->threads[i];
		struct frame f[BINARY_MAX_DEPTH];
		CHECK(t->depth <= BINARY_MAX_DEPTH && (t->depth == 0 || s->frame_keys));
		for (uint32_t k = 0; k < t->depth && k < BINARY_MAX_DEPTH; k++)
			f[k] = s->key_frames[s->frame_keys[t->first + k]];
		log_line(l, t, f, s->time_ns / 1000);
	}
	return 0;
}

static void log_release(struct log *l)
{
	free(l->t);
	buf_release(&l->line);
}

/* Same threads, same per-thread sequences (records of different threads
 * are not in time order in the file, so only per-thread order counts). */
static void log_compare(const struct log *got, const struct log *want)
{
	CHECK_EQ_INT(got->total, want->total);
	CHECK_EQ_INT(got->n, want->n);
	for (size_t i = 0; i < want->n; i++) {
		const struct tlog *w = &want->t[i], *g = NULL;
		for (size_t j = 0; j < got->n; j++)
			if (got->t[j].tid == w->tid && got->t[j].interp == w->interp)
				g = &got->t[j];
		CHECK(g != NULL);
		if (!g)
			continue;
		CHECK_EQ_INT(g->n, w->n);
		CHECK(g->h == w->h);
		if (g->h != w->h)
			fprintf(stderr, "  thread %" PRIu64 "/%u first lines:\n  got:  %s\n  want: %s\n",
				w->tid, w->interp, g->first, w->first);
	}
}

/* ---- round trips ---------------------------------------------------------------- */

struct rt {
	const char *name;
	struct binary_config cfg;
	struct binary_writer *w;
	struct log want;
	char path[512];
	struct gen *g;
	bool keep; /* the caller reads the file again, then removes it */
};

static void rt_begin(struct rt *rt, const char *name, struct gen *g, int compression)
{
	memset(rt, 0, sizeof(*rt));
	rt->name = name;
	rt->g = g;
	rt->cfg.interval_us = 1000;
	rt->cfg.start_time_us = 1000000;
	rt->cfg.compression = compression;
	rt->cfg.mode = -1;
	rt->cfg.features = -1;
	rt->cfg.py_major = 3;
	rt->cfg.py_minor = 15;
	rt->cfg.py_micro = 2;
	rt->want.st = &g->st;
	tmp_path(rt->path, sizeof(rt->path), name);
	strcat(rt->path, ".bin");
}

static void rt_open(struct rt *rt)
{
	CHECK_EQ_INT(binary_writer_open(&rt->w, rt->path, &rt->cfg), 0);
}

/* Write the current sample of the generator and clear it. */
static void rt_add(struct rt *rt)
{
	struct gen *g = rt->g;
	g->s.time_ns = g->now_us * 1000;
	int rc = binary_writer_add(rt->w, &g->s, &g->st);
	CHECK_EQ_INT(rc, 0);
	log_expected(&rt->want, &g->s);
	sample_clear(&g->s);
}

static void export_file(const char *name, const char *path)
{
	if (!export_dir)
		return;
	char dst[600];
	size_t len;
	char *data = harness_slurp(path, &len);
	if (!data)
		return;
	snprintf(dst, sizeof(dst), "%s/%s.bin", export_dir, name);
	write_file(dst, data, len);
	free(data);
	struct buf d = BUF_INIT;
	dump_path(dst, &d);
	snprintf(dst, sizeof(dst), "%s/%s.txt", export_dir, name);
	write_file(dst, d.data, d.len);
	buf_release(&d);
}

/* Close the writer, read the file back and compare; returns the summary. */
static struct binary_write_summary rt_finish(struct rt *rt, const struct binary_stats *stats)
{
	struct binary_write_summary sum;
	memset(&sum, 0, sizeof(sum));
	CHECK_EQ_INT(binary_writer_close(rt->w, stats, &sum), 0);
	CHECK_EQ_INT(sum.samples, rt->want.total);

	struct errmsg e = { "" };
	struct binary_reader *r = NULL;
	int rc = binary_reader_open(&r, rt->path, &e);
	CHECK_EQ_INT(rc, 0);
	if (rc) {
		fprintf(stderr, "  %s: %s\n", rt->name, e.text);
		log_release(&rt->want);
		return sum;
	}
	const struct binary_info *in = binary_reader_info(r);
	CHECK_EQ_INT(in->version, 1);
	CHECK_EQ_INT(in->py_major, rt->cfg.py_major);
	CHECK_EQ_INT(in->py_minor, rt->cfg.py_minor);
	CHECK_EQ_INT(in->py_micro, rt->cfg.py_micro);
	CHECK(in->start_time_us == rt->cfg.start_time_us);
	CHECK(in->interval_us == rt->cfg.interval_us);
	CHECK(in->sample_count == rt->want.total);
	CHECK_EQ_INT(in->thread_count, rt->want.n);
	CHECK_EQ_INT(in->compression, rt->cfg.compression);
	CHECK_EQ_INT(in->mode, rt->cfg.mode);
	CHECK_EQ_INT(in->features, rt->cfg.features);
	CHECK_EQ_INT(in->has_stats, stats != NULL);
	if (stats) {
		CHECK(in->stats.duration_s == stats->duration_s);
		CHECK(in->stats.sample_rate == stats->sample_rate);
		CHECK_EQ_INT(in->stats.have_error_rate, stats->have_error_rate);
		CHECK_EQ_INT(in->stats.have_missed_samples, stats->have_missed_samples);
		if (stats->have_error_rate)
			CHECK(in->stats.error_rate == stats->error_rate);
		if (stats->have_missed_samples)
			CHECK(in->stats.missed_samples == stats->missed_samples);
	}
	struct stat stt;
	CHECK(stat(rt->path, &stt) == 0 && (uint64_t)stt.st_size == in->file_size);

	/* strings come back into a table that already holds other strings */
	struct strtab st;
	strtab_init(&st);
	strtab_intern_cstr(&st, "unrelated");
	struct log got;
	memset(&got, 0, sizeof(got));
	got.st = &st;
	/* the expected lines were rendered with the writer's table: render the
	 * read ones with the reader's, the text is what must match */
	rc = binary_reader_replay(r, &st, log_read, NULL, &got, &e);
	CHECK_EQ_INT(rc, 0);
	if (rc)
		fprintf(stderr, "  %s: %s\n", rt->name, e.text);
	/* whatever bytes the file's strings hold, they enter as UTF-8 */
	for (uint32_t id = 0; id < st.count; id++) {
		size_t len;
		const char *str = strtab_get(&st, id, &len);
		CHECK(utf8_valid(str, len));
	}
	log_compare(&got, &rt->want);
	log_release(&got);
	strtab_release(&st);
	binary_reader_close(r);

	/* again for a consumer of keys only: the same stacks, no frames */
	CHECK_EQ_INT(binary_reader_open(&r, rt->path, &e), 0);
	strtab_init(&st);
	memset(&got, 0, sizeof(got));
	got.st = &st;
	binary_reader_keys_only(r);
	CHECK_EQ_INT(binary_reader_replay(r, &st, log_read_keys, NULL, &got, &e), 0);
	log_compare(&got, &rt->want);
	log_release(&got);
	strtab_release(&st);
	binary_reader_close(r);
	log_release(&rt->want);
	export_file(rt->name, rt->path);
	if (!rt->keep)
		unlink(rt->path);
	return sum;
}

static const struct tf F_MAIN = { "/app/main.py", "main", 40, 42, 4, 20, -1 };
static const struct tf F_RUN = { "/app/main.py", "run", 10, 10, 8, 16, -1 };
static const struct tf F_WORK = { "/app/work.py", "Worker.work", 7, 7, 8, 30, -1 };
static const struct tf F_STEP = { "/app/work.py", "step", 3, 3, 4, 12, -1 };
static const struct tf F_LEAF = { "/app/work.py", "leaf", 99, 101, 0, 1, -1 };
static const struct tf F_GC = { "~", "<GC>", FRAME_NO_LINE, -1, -1, -1, -1 };
static const struct tf F_NATIVE = { "~", "<native>", FRAME_NO_LINE, -1, -1, -1, -1 };
static const struct tf F_END = { NULL, NULL, 0, 0, 0, 0, 0 };

#define STACK(...) ((const struct tf[]){ __VA_ARGS__, F_END })

/* binary_interop.py's stacks_basic: every encoding, two threads. */
static void write_basic(struct rt *rt)
{
	const struct tf *a[] = {
		STACK(F_MAIN),
		STACK(F_RUN, F_MAIN),
		STACK(F_RUN, F_MAIN),
		STACK(F_RUN, F_MAIN),
		STACK(F_WORK, F_RUN, F_MAIN),
		STACK(F_STEP, F_RUN, F_MAIN),
		STACK(F_MAIN),
		STACK(F_LEAF, F_STEP, F_WORK, F_RUN, F_MAIN),
		STACK(F_GC, F_LEAF),
		STACK(F_NATIVE, F_STEP, F_WORK, F_RUN, F_MAIN),
		STACK(F_NATIVE, F_STEP, F_WORK, F_RUN, F_MAIN),
		NULL,
		NULL,
		STACK(F_MAIN),
	};
	const struct tf *b[] = {
		NULL, NULL, STACK(F_WORK), STACK(F_WORK), STACK(F_STEP, F_WORK), STACK(F_WORK),
		STACK(F_WORK), STACK(F_LEAF, F_STEP, F_WORK),
	};
	size_t na = sizeof(a) / sizeof(a[0]), nb = sizeof(b) / sizeof(b[0]);
	for (size_t i = 0; i < na; i++) {
		rt->g->now_us = 2000000 + i * 1000 + i % 3;
		add_stack(rt->g, 1001, 0, 1 | 2 | 32, a[i]);
		if (i < nb)
			add_stack(rt->g, 1002, 0, i % 2 ? 2 : 0, b[i]);
		rt_add(rt);
	}
}

TEST(roundtrip_encodings)
{
	for (int z = 0; z <= 1; z++) {
		struct gen g;
		gen_init(&g);
		struct rt rt;
		rt_begin(&rt, z ? "rt_basic_zstd" : "rt_basic_raw", &g, z);
		rt.cfg.start_time_us = 1000000;
		rt.cfg.mode = z ? 0 : -1;
		rt.cfg.features = z ? 5 : -1;
		rt_open(&rt);
		write_basic(&rt);
		struct binary_stats st = { 12.5, 998.25, 0.5, -1.25, true, true };
		struct binary_write_summary s = rt_finish(&rt, z ? &st : NULL);
		/* the counts of Tachyon's writer for the same samples
		 * (fixtures/binary/basic_raw.stats) */
		CHECK_EQ_INT(s.samples, 22);
		CHECK_EQ_INT(s.records, 20);
		CHECK_EQ_INT(s.repeat_records, 6);
		CHECK_EQ_INT(s.repeat_samples, 8);
		CHECK_EQ_INT(s.full_records, 6);
		CHECK_EQ_INT(s.suffix_records, 5);
		CHECK_EQ_INT(s.pop_push_records, 3);
		CHECK_EQ_INT(s.frames_written, 20);
		CHECK_EQ_INT(s.frames_saved, 21);
		CHECK_EQ_INT(s.bytes_written, 376);
		gen_release(&g);
	}
}

TEST(roundtrip_ids_and_status)
{
	for (int z = 0; z <= 1; z++) {
		struct gen g;
		gen_init(&g);
		struct rt rt;
		rt_begin(&rt, z ? "rt_ids_zstd" : "rt_ids_raw", &g, z);
		rt.cfg.mode = 3;
		rt.cfg.features = 31;
		rt.cfg.py_major = 3;
		rt.cfg.py_minor = 13;
		rt.cfg.py_micro = 7;
		rt.cfg.interval_us = 123;
		rt.cfg.start_time_us = UINT64_C(5000000000);
		rt_open(&rt);
		const uint64_t tids[] = { (UINT64_C(1) << 32) + 5, (UINT64_C(1) << 63) + 12345, UINT64_MAX, 7 };
		const uint32_t interps[] = { 0, 1, UINT32_MAX, 3 };
		for (uint32_t st = 0; st < 64; st++) {
			g.now_us = UINT64_C(5000000000) + st * 250;
			for (int i = 0; i < 4; i++) {
				/* the same tid in every interpreter: separate threads */
				add_stack(&g, tids[i], interps[(i + st) % 4], st,
					  st % 3 ? STACK(F_RUN, F_MAIN) : STACK(F_WORK, F_MAIN));
				add_stack(&g, tids[0], interps[i], (st * 7 + (uint32_t)i) % 64,
					  st % 5 ? STACK(F_STEP) : NULL);
			}
			rt_add(&rt);
		}
		struct binary_stats stats = { 1.0, 2.0, 0, 0, false, false };
		rt_finish(&rt, &stats);
		gen_release(&g);
	}
}

TEST(roundtrip_deep_and_empty)
{
	for (int z = 0; z <= 1; z++) {
		struct gen g;
		gen_init(&g);
		struct rt rt;
		rt_begin(&rt, z ? "rt_deep_zstd" : "rt_deep_raw", &g, z);
		rt_open(&rt);
		char names[400][16];
		for (int k = 0; k < 400; k++)
			snprintf(names[k], sizeof(names[k]), "f%d", k);
		const size_t depths[] = { 300, 300, 256, 257, 255, 1000, 0, 0, 3, 0, 299 };
		for (size_t i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
			g.now_us += 1000;
			struct thread_sample *t = add_thread(&g, 1, 0, 1);
			size_t at = (size_t)(t - g.s.threads);
			for (size_t k = 0; k < depths[i]; k++) {
				/* innermost first; vary the innermost ones between samples */
				struct tf f = { "/app/r.py", names[k % 400], (int32_t)k + 1, (int32_t)k + 1, 0, 4, -1 };
				if (k < 2 && i % 2)
					f.line += 1000;
				push_frame(&g, &g.s.threads[at], mkframe(&g, &f));
			}
			/* a thread that only ever has empty stacks, and one that starts empty */
			add_stack(&g, 2, 0, 0, NULL);
			add_stack(&g, 3, 0, 0, i < 4 ? NULL : STACK(F_MAIN));
			rt_add(&rt);
		}
		struct binary_write_summary s = rt_finish(&rt, NULL);
		CHECK(s.repeat_samples > 0);
		CHECK(s.full_records > 0);
		gen_release(&g);
	}
}

TEST(roundtrip_strings_locations_opcodes)
{
	for (int z = 0; z <= 1; z++) {
		struct gen g;
		gen_init(&g);
		struct rt rt;
		rt_begin(&rt, z ? "rt_strings_zstd" : "rt_strings_raw", &g, z);
		rt.cfg.mode = 4;
		rt.cfg.features = 8;
		rt_open(&rt);
		static const struct tf frames[] = {
			{ "/app/\303\274n\303\257.py", "caf\303\251.\316\273", 3, 3, 0, 5, 0 },
			{ "/app/\346\227\245\346\234\254.py", "\360\237\230\200", 4, 4, 1, 2, 254 },
			{ "/app/q\"uo\\te.py", "tab\there", 5, 6, 7, 8, 255 },
			{ "/app/nl\n.py", "del\177\001", 6, -1, -1, 3, 300 },
			{ "", "", 0, 0, 0, 0, 90 },
			{ "/bad/\377\376.py", "sur\355\240\200rogate", 7, 9, 4, -1, -5 },
			{ "/trunc/\360\237\230.py", "\300\257x\341\200", -2, -3, -4, -5, 1 },
			{ "/x.py", "extremes", INT32_MAX, INT32_MIN, 5, INT32_MIN, -1 },
			{ "/x.py", "extremes", INT32_MIN, INT32_MAX, INT32_MAX, INT32_MIN, -1 },
			{ "~", "<GC>", FRAME_NO_LINE, 5, 6, 7, 3 },
			{ NULL, NULL, 0, 0, 0, 0, 0 },
		};
		add_stack(&g, 1, 0, 1, frames);
		rt_add(&rt);
		g.now_us += 10;
		add_stack(&g, 1, 0, 1, frames + 2);
		rt_add(&rt);
		/* strings with NUL bytes (strtab keeps lengths) */
		g.now_us += 10;
		struct thread_sample *t = add_thread(&g, 1, 0, 1);
		struct frame f = { strtab_intern(&g.st, "nul\0in.py", 9), strtab_intern(&g.st, "\0", 1), 1, 1, 0, 0, -1 };
		push_frame(&g, t, f);
		rt_add(&rt);
		rt_finish(&rt, NULL);
		gen_release(&g);
	}
}

/* Pending REPEAT runs of many threads at close, flushed in thread order;
 * runs longer than the 16 KiB run buffer. */
TEST(roundtrip_interleaved_repeats)
{
	for (int z = 0; z <= 1; z++) {
		struct gen g;
		gen_init(&g);
		struct rt rt;
		rt_begin(&rt, z ? "rt_repeats_zstd" : "rt_repeats_raw", &g, z);
		rt_open(&rt);
		for (int i = 0; i < 9000; i++) {
			g.now_us += 1000 + (uint64_t)(i % 7) * 20000;
			for (uint64_t tid = 1; tid <= 5; tid++)
				add_stack(&g, tid, (uint32_t)(tid % 2), (uint32_t)(i / 1000) % 2,
					  tid == 5 && i % 100 == 0 ? STACK(F_LEAF) : STACK(F_WORK, F_MAIN));
			rt_add(&rt);
		}
		struct binary_write_summary s = rt_finish(&rt, NULL);
		CHECK_EQ_INT(s.samples, 45000);
		CHECK(s.repeat_records > 5);
		gen_release(&g);
	}
}

static uint64_t rng_next(uint64_t *x)
{
	*x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
	return *x >> 33;
}

/* Long enough to go through the reader's window many times, with random
 * walks over a call tree; progress reported. */
TEST(roundtrip_big)
{
	for (int z = 0; z <= 1; z++) {
		struct gen g;
		gen_init(&g);
		struct rt rt;
		rt_begin(&rt, z ? "rt_big_zstd" : "rt_big_raw", &g, z);
		rt_open(&rt);
		enum { NT = 8, NF = 200 };
		struct frame funcs[NF];
		char name[32];
		for (int k = 0; k < NF; k++) {
			snprintf(name, sizeof(name), "func_%d", k);
			struct tf t = { k % 2 ? "/srv/a.py" : "/srv/b.py", name, k + 1, k + 2, 4, 30, k % 4 ? -1 : k };
			funcs[k] = mkframe(&g, &t);
		}
		static struct frame stacks[NT][80];
		size_t depth[NT];
		for (int t = 0; t < NT; t++) {
			stacks[t][0] = funcs[0];
			depth[t] = 1;
		}
		uint64_t x = 42;
		for (int i = 0; i < 10000; i++) {
			g.now_us += 1000 + rng_next(&x) % 50;
			for (int t = 0; t < NT; t++) {
				uint64_t r = rng_next(&x) % 10;
				struct frame *s = stacks[t];
				if (r < 5) {
				} else if (r < 7 && depth[t] < 80) {
					memmove(s + 1, s, depth[t] * sizeof(*s));
					s[0] = funcs[rng_next(&x) % NF];
					depth[t]++;
				} else if (r < 9 && depth[t] > 1) {
					size_t k = 1 + rng_next(&x) % (depth[t] - 1 < 3 ? depth[t] - 1 : 3);
					memmove(s, s + k, (depth[t] - k) * sizeof(*s));
					depth[t] -= k;
				} else {
					s[0] = funcs[rng_next(&x) % NF];
				}
				struct thread_sample *ts = add_thread(&g, 40000 + (uint64_t)t, 0, (uint32_t)rng_next(&x) % 4);
				size_t at = (size_t)(ts - g.s.threads);
				for (size_t k = 0; k < depth[t]; k++)
					push_frame(&g, &g.s.threads[at], s[k]);
			}
			rt_add(&rt);
		}
		rt.keep = true;
		rt_finish(&rt, NULL);

		/* progress: at 0, every 65536 samples, at the end */
		struct errmsg e;
		struct binary_reader *r;
		CHECK_EQ_INT(binary_reader_open(&r, rt.path, &e), 0);
		struct strtab st;
		strtab_init(&st);
		struct buf out = BUF_INIT;
		struct dumpctx d = { &out, &st, 0, 0 };
		CHECK_EQ_INT(binary_reader_replay(r, &st, dump_sample, dump_progress, &d, &e), 0);
		CHECK_EQ_INT(d.progress_calls, 2 + 80000 / 65536);
		CHECK_EQ_INT(d.last_done, 80000);
		/* replaying twice is refused */
		CHECK_EQ_INT(binary_reader_replay(r, &st, dump_sample, NULL, &d, &e), ERR_INVAL);
		buf_release(&out);
		strtab_release(&st);
		binary_reader_close(r);
		unlink(rt.path);
		gen_release(&g);
	}
}

static int stop_at_3(void *ctx, const struct sample *s)
{
	(void)s;
	int *n = ctx;
	return ++*n == 3 ? 42 : 0;
}

TEST(writer_api)
{
	struct binary_config cfg = { 1000, 0, BINARY_COMPRESSION_NONE, -1, -1, 3, 15, 2, false,
				     NULL };
	struct binary_writer *w;
	char path[512];
	tmp_path(path, sizeof(path), "api.bin");
	cfg.compression = 7;
	CHECK_EQ_INT(binary_writer_open(&w, path, &cfg), ERR_INVAL);
	cfg.compression = 0;
	cfg.mode = 5;
	CHECK_EQ_INT(binary_writer_open(&w, path, &cfg), ERR_INVAL);
	cfg.mode = -1;
	cfg.features = 32;
	CHECK_EQ_INT(binary_writer_open(&w, path, &cfg), ERR_INVAL);
	cfg.features = -1;
	CHECK_EQ_INT(binary_writer_open(&w, "/nonexistent-dir/x.bin", &cfg), ERR_IO);
	CHECK_EQ_INT(errno, ENOENT);

	/* the file appears only when closed: an abort leaves no file, and a
	 * file there before as it was */
	unlink(path);
	CHECK_EQ_INT(binary_writer_open(&w, path, &cfg), 0);
	CHECK(access(path, F_OK) != 0);
	binary_writer_abort(w);
	CHECK(access(path, F_OK) != 0);
	FILE *before = fopen(path, "w");
	CHECK(before && fputs("before", before) >= 0 && fclose(before) == 0);
	CHECK_EQ_INT(binary_writer_open(&w, path, &cfg), 0);
	binary_writer_abort(w);
	struct stat kept;
	CHECK(stat(path, &kept) == 0 && kept.st_size == 6);

	/* an empty file is valid; the callback's return stops a replay */
	struct gen g;
	gen_init(&g);
	CHECK_EQ_INT(binary_writer_open(&w, path, &cfg), 0);
	for (int i = 0; i < 5; i++) {
		g.s.time_ns = (uint64_t)i * 1000000;
		add_stack(&g, 1, 0, 0, STACK(F_MAIN));
		CHECK_EQ_INT(binary_writer_add(w, &g.s, &g.st), 0);
		sample_clear(&g.s);
	}
	/* a frame id beyond the string table is the caller's bug */
	struct thread_sample *t = add_thread(&g, 1, 0, 0);
	struct frame bad = { 999999, 0, 1, 1, 1, 1, -1 };
	push_frame(&g, t, bad);
	CHECK_EQ_INT(binary_writer_add(w, &g.s, &g.st), ERR_INVAL);
	sample_clear(&g.s);
	CHECK_EQ_INT(binary_writer_close(w, NULL, NULL), 0);
	struct errmsg e;
	struct binary_reader *r;
	CHECK_EQ_INT(binary_reader_open(&r, path, &e), 0);
	struct strtab st;
	strtab_init(&st);
	int n = 0;
	CHECK_EQ_INT(binary_reader_replay(r, &st, stop_at_3, NULL, &n, &e), 42);
	CHECK_EQ_INT(n, 3);
	strtab_release(&st);
	binary_reader_close(r);
	gen_release(&g);

	/* stats that Tachyon's reader would refuse are not written as such */
	CHECK_EQ_INT(binary_writer_open(&w, path, &cfg), 0);
	struct binary_stats bs = { -1.0, 1.0 / 0.0, -3.0, 0.0 / 0.0, true, true };
	CHECK_EQ_INT(binary_writer_close(w, &bs, NULL), 0);
	CHECK_EQ_INT(binary_reader_open(&r, path, &e), 0);
	const struct binary_info *in = binary_reader_info(r);
	CHECK(in->has_stats);
	CHECK(in->stats.duration_s == 0.0 && in->stats.sample_rate == 0.0);
	CHECK(!in->stats.have_error_rate && !in->stats.have_missed_samples);
	binary_reader_close(r);
	unlink(path);
}

/* ---- Tachyon's files ------------------------------------------------------------ */

static int has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && strcmp(s + a - b, suf) == 0;
}

static char **list_fixtures(const char *suffix, size_t *n)
{
	DIR *d = opendir(FIXTURES);
	char **names = NULL;
	size_t cap = 0;
	*n = 0;
	if (!d)
		return NULL;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!has_suffix(de->d_name, suffix))
			continue;
		VEC_RESERVE(names, cap, *n + 1);
		names[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	for (size_t i = 1; i < *n; i++) /* insertion sort: a few dozen names */
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char *t = names[j];
			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	return names;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Every fixture's dump (or error) equals Tachyon's. */
TEST(tachyon_files)
{
	size_t n;
	char **names = list_fixtures(".bin", &n);
	CHECK(n >= 60);
	struct buf got = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		char path[512], want_path[512];
		snprintf(path, sizeof(path), FIXTURES "/%s", names[i]);
		size_t base = strlen(path) - 4;
		snprintf(want_path, sizeof(want_path), "%.*s.txt", (int)base, path);
		size_t wlen;
		char *want = harness_slurp(want_path, &wlen);
		if (!want) {
			snprintf(want_path, sizeof(want_path), "%.*s.err", (int)base, path);
			want = harness_slurp(want_path, &wlen);
		}
		CHECK(want != NULL);
		if (!want)
			continue;
		dump_path(path, &got);
		harness_current = names[i];
		check_text("dump", got.data, got.len, want, wlen);
		free(want);
	}
	harness_current = "tachyon_files";
	buf_release(&got);
	free_names(names, n);
}

/* Every truncation and every corrupted byte of two small files: the same
 * verdict as Tachyon's reader. */
static void check_variants(const char *name, const char *ext, int flip)
{
	char path[512];
	snprintf(path, sizeof(path), FIXTURES "/%s.bin", name);
	size_t len, vlen;
	char *data = harness_slurp(path, &len);
	snprintf(path, sizeof(path), FIXTURES "/%s%s", name, ext);
	char *want = harness_slurp(path, &vlen);
	CHECK(data && want);
	if (!data || !want) {
		free(data);
		free(want);
		return;
	}
	char tmp[512];
	tmp_path(tmp, sizeof(tmp), "variant.bin");
	struct buf got = BUF_INIT;
	const char *p = want, *end = want + vlen;
	size_t covered = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		unsigned long a, b;
		int off = 0;
		if (sscanf(p, "%lu-%lu %n", &a, &b, &off) != 2 || !off) {
			CHECK(!"bad variants line");
			break;
		}
		const char *v = p + off;
		for (unsigned long k = a; k <= b && k < len; k++) {
			if (flip) {
				data[k] ^= 0x5a;
				write_file(tmp, data, len);
				data[k] ^= 0x5a;
			} else {
				write_file(tmp, data, k);
			}
			verdict(tmp, &got);
			harness_checks++;
			if (got.len != (size_t)(nl - v) || memcmp(got.data, v, got.len) != 0) {
				harness_failures++;
				fprintf(stderr, "%s%s at %lu: strobe: %.*s\n  tachyon: %.*s\n", name, ext, k,
					(int)got.len, got.data, (int)(nl - v), v);
			}
			covered++;
		}
		p = nl + 1;
	}
	CHECK_EQ_INT(covered, len);
	unlink(tmp);
	buf_release(&got);
	free(data);
	free(want);
}

TEST(tachyon_truncations_and_corruptions)
{
	check_variants("tiny_raw", ".cuts", 0);
	check_variants("tiny_raw", ".flips", 1);
	check_variants("tiny_zstd", ".cuts", 0);
	check_variants("tiny_zstd", ".flips", 1);
}

/* The records of a valid record stream, concatenated per thread (the
 * order of records of different threads depends on when REPEAT runs were
 * flushed, which replay order cannot reproduce). */
struct per_thread {
	uint64_t tid;
	uint32_t interp;
	struct buf bytes;
};

static uint64_t rv(const unsigned char *d, size_t *o)
{
	uint64_t v = 0;
	for (unsigned s = 0; s < 64; s += 7) {
		unsigned char b = d[(*o)++];
		v |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80))
			break;
	}
	return v;
}

static size_t split_records(const struct buf *rec, struct per_thread **out)
{
	const unsigned char *d = (const unsigned char *)rec->data;
	struct per_thread *pt = NULL;
	size_t n = 0, cap = 0, o = 0;
	while (o + 13 <= rec->len) {
		size_t start = o;
		uint64_t tid;
		uint32_t interp;
		memcpy(&tid, d + o, 8);
		memcpy(&interp, d + o + 8, 4);
		int enc = d[o + 12];
		o += 13;
		if (enc == 0) {
			uint64_t k = rv(d, &o);
			for (uint64_t i = 0; i < k; i++) {
				rv(d, &o);
				o++;
			}
		} else {
			rv(d, &o);
			o++;
			uint64_t a = rv(d, &o), k = a;
			if (enc != 1)
				k = rv(d, &o);
			for (uint64_t i = 0; i < k; i++)
				rv(d, &o);
		}
		size_t i = 0;
		while (i < n && !(pt[i].tid == tid && pt[i].interp == interp))
			i++;
		if (i == n) {
			VEC_RESERVE(pt, cap, n + 1);
			memset(&pt[n], 0, sizeof(pt[n]));
			pt[n].tid = tid;
			pt[n].interp = interp;
			n++;
		}
		buf_append(&pt[i].bytes, d + start, o - start);
	}
	*out = pt;
	return n;
}

static void compare_records(const struct buf *want, const struct buf *got)
{
	struct per_thread *a, *b;
	size_t na = split_records(want, &a), nb = split_records(got, &b);
	CHECK_EQ_INT(nb, na);
	for (size_t i = 0; i < na && i < nb; i++) {
		CHECK(a[i].tid == b[i].tid && a[i].interp == b[i].interp);
		check_text("records of a thread", b[i].bytes.data, b[i].bytes.len, a[i].bytes.data,
			   a[i].bytes.len);
	}
	for (size_t i = 0; i < na; i++)
		buf_release(&a[i].bytes);
	for (size_t i = 0; i < nb; i++)
		buf_release(&b[i].bytes);
	free(a);
	free(b);
}

/* Copy of a file's record region, decompressed, and of its tables. */
static int split_file(const char *data, size_t len, struct buf *records, struct buf *tables)
{
	if (len < 96)
		return -1;
	uint64_t so, fo;
	uint32_t comp;
	memcpy(&so, data + 40, 8);
	memcpy(&fo, data + 48, 8);
	memcpy(&comp, data + 56, 4);
	if (so < 64 || so > len)
		return -1;
	buf_reset(records);
	buf_reset(tables);
	buf_append(tables, data + so, len - so - 32); /* footer's file size differs with zstd */
	if (comp != 1) {
		buf_append(records, data + 64, so - 64);
		return 0;
	}
	ZSTD_DCtx *d = ZSTD_createDCtx();
	ZSTD_inBuffer in = { data + 64, so - 64, 0 };
	char out[65536];
	while (in.pos < in.size) {
		ZSTD_outBuffer o = { out, sizeof(out), 0 };
		size_t r = ZSTD_decompressStream(d, &o, &in);
		if (ZSTD_isError(r)) {
			ZSTD_freeDCtx(d);
			return -1;
		}
		buf_append(records, out, o.pos);
	}
	ZSTD_freeDCtx(d);
	return 0;
}

struct reenc {
	struct binary_writer *w;
	const struct strtab *st;
	int rc;
};

static int reencode_sample(void *ctx, const struct sample *s)
{
	struct reenc *re = ctx;
	int rc = binary_writer_add(re->w, s, re->st);
	if (rc)
		re->rc = rc;
	return rc;
}

static uint64_t stat_field(const char *text, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "%s=", key);
	const char *p = strstr(text, pat);
	return p ? strtoull(p + strlen(pat), NULL, 10) : UINT64_MAX;
}

/* Tachyon's files read by strobe and written again by strobe's writer: the
 * same records, tables and writer counts (the encoder makes Tachyon's
 * choices; replay order differs from sampling order only by REPEAT runs
 * that are buffered anyway). */
TEST(tachyon_reencode)
{
	size_t n;
	char **names = list_fixtures(".stats", &n);
	CHECK(n >= 10);
	struct buf r1 = BUF_INIT, t1 = BUF_INIT, r2 = BUF_INIT, t2 = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		char path[512], out[512];
		size_t base = strlen(names[i]) - 6;
		snprintf(path, sizeof(path), FIXTURES "/%.*s.stats", (int)base, names[i]);
		size_t slen, len, len2;
		char *stats = harness_slurp(path, &slen);
		snprintf(path, sizeof(path), FIXTURES "/%.*s.bin", (int)base, names[i]);
		char *orig = harness_slurp(path, &len);
		harness_current = names[i];
		struct errmsg e;
		struct binary_reader *r;
		CHECK(stats && orig);
		if (!stats || !orig || binary_reader_open(&r, path, &e) != 0) {
			CHECK(!"fixture unreadable");
			free(stats);
			free(orig);
			continue;
		}
		const struct binary_info info = *binary_reader_info(r), *in = &info;
		struct binary_config cfg = { in->interval_us, in->start_time_us, in->compression,
					     in->mode, in->features, in->py_major, in->py_minor, in->py_micro,
					     false, NULL };
		tmp_path(out, sizeof(out), "reencoded.bin");
		struct strtab st;
		strtab_init(&st);
		struct reenc re = { NULL, &st, 0 };
		CHECK_EQ_INT(binary_writer_open(&re.w, out, &cfg), 0);
		CHECK_EQ_INT(binary_reader_replay(r, &st, reencode_sample, NULL, &re, &e), 0);
		struct binary_write_summary sum;
		CHECK_EQ_INT(binary_writer_close(re.w, in->has_stats ? &in->stats : NULL, &sum), 0);
		binary_reader_close(r);
		strtab_release(&st);

		CHECK_EQ_INT(sum.samples, stat_field(stats, "total_samples"));
		CHECK_EQ_INT(sum.records, stat_field(stats, "total_records"));
		CHECK_EQ_INT(sum.repeat_records, stat_field(stats, "repeat_records"));
		CHECK_EQ_INT(sum.repeat_samples, stat_field(stats, "repeat_samples"));
		CHECK_EQ_INT(sum.full_records, stat_field(stats, "full_records"));
		CHECK_EQ_INT(sum.suffix_records, stat_field(stats, "suffix_records"));
		CHECK_EQ_INT(sum.pop_push_records, stat_field(stats, "pop_push_records"));
		CHECK_EQ_INT(sum.frames_written, stat_field(stats, "total_frames_written"));
		CHECK_EQ_INT(sum.frames_saved, stat_field(stats, "frames_saved"));
		CHECK_EQ_INT(sum.bytes_written, stat_field(stats, "bytes_written"));

		char *mine = harness_slurp(out, &len2);
		CHECK(mine != NULL);
		if (mine) {
			CHECK_EQ_INT(split_file(orig, len, &r1, &t1), 0);
			CHECK_EQ_INT(split_file(mine, len2, &r2, &t2), 0);
			CHECK_EQ_INT(r2.len, r1.len);
			compare_records(&r1, &r2);
			check_text("tables", t2.data, t2.len, t1.data, t1.len);
			if (in->compression != 1) { /* raw: same header, same size */
				CHECK_EQ_INT(len2, len);
				CHECK(len2 >= 64 && memcmp(mine, orig, 64) == 0);
			}
			printf("  %-12.*s tachyon %7zu bytes, strobe %7zu bytes\n", (int)base, names[i], len, len2);
		}
		free(mine);
		free(stats);
		free(orig);
		if (getenv("STROBE_KEEP_REENCODED")) {
			char keep[600];
			snprintf(keep, sizeof(keep), "/tmp/reenc_%.*s.bin", (int)base, names[i]);
			rename(out, keep);
		}
		unlink(out);
	}
	harness_current = "tachyon_reencode";
	buf_release(&r1);
	buf_release(&t1);
	buf_release(&r2);
	buf_release(&t2);
	free_names(names, n);
}

/* ---- hostile files --------------------------------------------------------------- */

static void put_le32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put_le64(unsigned char *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* A raw file around the given records and tables. */
static size_t make_file(unsigned char *out, const void *rec, size_t rn, const void *strs, size_t sn,
			const void *frames, size_t fn, uint32_t nstr, uint32_t nfr, uint64_t samples,
			uint32_t threads, uint32_t comp)
{
	memset(out, 0, 64);
	put_le32(out, 0x54414348);
	put_le32(out + 4, 1);
	out[8] = 3;
	out[9] = 15;
	out[10] = 2;
	put_le64(out + 20, 1000);
	put_le64(out + 28, samples);
	put_le32(out + 36, threads);
	put_le64(out + 40, 64 + rn);
	put_le64(out + 48, 64 + rn + sn);
	put_le32(out + 56, comp);
	size_t n = 64;
	memcpy(out + n, rec, rn);
	n += rn;
	memcpy(out + n, strs, sn);
	n += sn;
	memcpy(out + n, frames, fn);
	n += fn;
	memset(out + n, 0, 32);
	put_le32(out + n, nstr);
	put_le32(out + n + 4, nfr);
	put_le64(out + n + 8, n + 32);
	return n + 32;
}

static int count_sample(void *ctx, const struct sample *s)
{
	(void)s;
	struct mallinfo2 mi = mallinfo2();
	size_t *peak = ctx;
	if (mi.uordblks > *peak)
		*peak = mi.uordblks;
	return 0;
}

static int read_all(const char *path, struct errmsg *e, size_t *peak)
{
	struct binary_reader *r;
	int rc = binary_reader_open(&r, path, e);
	if (rc)
		return rc;
	struct strtab st;
	strtab_init(&st);
	rc = binary_reader_replay(r, &st, count_sample, NULL, peak, e);
	strtab_release(&st);
	binary_reader_close(r);
	return rc;
}

/* Headers that claim 2^32 threads, strings, frames or 2^63 samples make
 * nothing big: memory follows the data actually there. */
TEST(hostile_claims)
{
	static const unsigned char strs[] = { 1, 'a', 1, 'f' };
	static const unsigned char frames[] = { 0, 1, 2, 2, 2, 2, 255 };
	unsigned char rec[4096], file[8192];
	size_t rn = 0;
	/* 200 threads with one-frame stacks */
	for (uint64_t t = 0; t < 200; t++) {
		memcpy(rec + rn, &t, 8);
		memset(rec + rn + 8, 0, 4);
		rec[rn + 12] = 1;
		rec[rn + 13] = 1;
		rec[rn + 14] = 0;
		rec[rn + 15] = 1;
		rec[rn + 16] = 0;
		rn += 17;
	}
	size_t n = make_file(file, rec, rn, strs, sizeof(strs), frames, sizeof(frames), 2, 1,
			     UINT64_C(1) << 63, UINT32_MAX, 0);
	char path[512];
	tmp_path(path, sizeof(path), "claims.bin");
	write_file(path, file, n);
	struct errmsg e;
	size_t peak = 0;
	struct mallinfo2 before = mallinfo2();
	CHECK_EQ_INT(read_all(path, &e, &peak), ERR_CORRUPT);
	CHECK_STR(e.text, "Sample count mismatch: header declares 9223372036854775808 samples but replay decoded 200");
#ifndef __SANITIZE_ADDRESS__
	CHECK(peak < before.uordblks + (4u << 20));
#endif
	(void)before;

	/* string and frame counts beyond what the file can hold: refused before allocating */
	n = make_file(file, "", 0, strs, sizeof(strs), frames, sizeof(frames), UINT32_MAX, 1, 0, 0, 0);
	write_file(path, file, n);
	CHECK_EQ_INT(read_all(path, &e, &peak), ERR_CORRUPT);
	CHECK(strstr(e.text, "Invalid string count 4294967295 exceeds maximum possible") == e.text);
	n = make_file(file, "", 0, strs, sizeof(strs), frames, sizeof(frames), 2, UINT32_MAX, 0, 0, 0);
	write_file(path, file, n);
	CHECK_EQ_INT(read_all(path, &e, &peak), ERR_CORRUPT);
	CHECK(strstr(e.text, "Invalid frame count 4294967295 exceeds maximum possible") == e.text);

	/* a REPEAT count of 2^32-1 with no data behind it */
	static const unsigned char rep[] = { 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f };
	n = make_file(file, rep, sizeof(rep), strs, sizeof(strs), frames, sizeof(frames), 2, 1, 5, 1, 0);
	write_file(path, file, n);
	CHECK_EQ_INT(read_all(path, &e, &peak), ERR_CORRUPT);
	CHECK_STR(e.text, "Invalid RLE count 4294967295 exceeds maximum possible 0");
	unlink(path);
}

/* A zstd stream that decompresses past 1 GiB: refused, in bounded memory. */
TEST(hostile_zstd_bomb)
{
	/* frame header: magic, descriptor 0 (no size), window 2 MiB; then RLE
	 * blocks of 128 KiB zeros (zero bytes are valid empty REPEAT records
	 * of thread 0, so only the size limit can stop it) */
	size_t nblocks = (1u << 30) / (128u << 10) + 2;
	size_t len = 6 + nblocks * 4;
	unsigned char *z = xmalloc(len);
	memcpy(z, "\x28\xb5\x2f\xfd\x00\x58", 6);
	for (size_t i = 0; i < nblocks; i++) {
		uint32_t last = i + 1 == nblocks;
		uint32_t h = last | 1u << 1 | (128u << 10) << 3; /* RLE block */
		unsigned char *p = z + 6 + i * 4;
		p[0] = (unsigned char)h;
		p[1] = (unsigned char)(h >> 8);
		p[2] = (unsigned char)(h >> 16);
		p[3] = 0;
	}
	static const unsigned char strs[] = { 1, 'a' };
	static const unsigned char frames[] = { 0, 0, 2, 2, 2, 2, 255 };
	unsigned char *file = xmalloc(len + 256);
	size_t n = make_file(file, z, len, strs, sizeof(strs), frames, sizeof(frames), 1, 1, 0, 1, 1);
	char path[512];
	tmp_path(path, sizeof(path), "bomb.bin");
	write_file(path, file, n);
	struct errmsg e;
	struct binary_reader *r;
	CHECK_EQ_INT(binary_reader_open(&r, path, &e), ERR_LIMIT);
	CHECK_STR(e.text, "Decompressed data exceeds maximum size");
	unlink(path);
	free(file);
	free(z);
}

TEST(hostile_paths)
{
	struct errmsg e;
	struct binary_reader *r;
	CHECK_EQ_INT(binary_reader_open(&r, "/nonexistent/x.bin", &e), ERR_NOTFOUND);
	CHECK_STR(e.text, "[Errno 2] No such file or directory: '/nonexistent/x.bin'");
	CHECK_EQ_INT(binary_reader_open(&r, tmpdir, &e), ERR_IO);
	CHECK_STR(e.text, "[Errno 19] No such device");
	CHECK_EQ_INT(binary_reader_open(&r, "/dev/null", &e), ERR_INVAL);
	CHECK_STR(e.text, "File too small for header");
}

/* The replacement decoding used by the dumps (and the reader: base/utf8.h)
 * agrees with Python's (values from bytes.decode("utf-8", "replace")). */
TEST(utf8_replace_like_python)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "\xff\xfe.py", "\xef\xbf\xbd\xef\xbf\xbd.py" },
		{ "f\xc3", "f\xef\xbf\xbd" },
		{ "\xed\xa0\x80x", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx" },
		{ "\xf0\x9f\x98", "\xef\xbf\xbd" },
		{ "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },
		{ "\xc0\xafx", "\xef\xbf\xbd\xef\xbf\xbdx" },
		{ "\xe1\x80", "\xef\xbf\xbd" },
		{ "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = BUF_INIT;
		utf8_sanitize(&b, cases[i].in, strlen(cases[i].in));
		buf_putc(&b, 0);
		CHECK_STR(b.data, cases[i].out);
		buf_release(&b);
	}
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/strobe-test-binary-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	export_dir = getenv("STROBE_BINARY_EXPORT_DIR");
	if (export_dir && !*export_dir)
		export_dir = NULL;
	RUN(utf8_replace_like_python);
	RUN(roundtrip_encodings);
	RUN(roundtrip_ids_and_status);
	RUN(roundtrip_deep_and_empty);
	RUN(roundtrip_strings_locations_opcodes);
	RUN(roundtrip_interleaved_repeats);
	RUN(roundtrip_big);
	RUN(writer_api);
	RUN(tachyon_files);
	RUN(tachyon_truncations_and_corruptions);
	RUN(tachyon_reencode);
	RUN(hostile_claims);
	RUN(hostile_zstd_bomb);
	RUN(hostile_paths);
	rmdir(tmpdir);
	return harness_done();
}
