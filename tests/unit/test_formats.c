/* test_formats.c - the format table as one output pipe: every format is a
 * stream row (open, add, close, abort), the whole-profile writers behind
 * one adapter that builds the profile from the samples, binary an ordinary
 * row whose close stores the run's figures, and the properties the command
 * layer needs as flags. */
#include "harness.h"

#include "base/buf.h"
#include "base/error.h"
#include "base/intern.h"
#include "model/profile.h"
#include "model/sample.h"
#include "format/binary.h"
#include "format/out.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stackfile.h"

/* Sample i of a small run: two threads, stacks that change and repeat. */
static void make_sample(struct profile *p, struct sample *s, int i)
{
	uint32_t file = strtab_intern_cstr(&p->strings, "/app/x.py");
	uint32_t fn[3] = { strtab_intern_cstr(&p->strings, "main"),
			   strtab_intern_cstr(&p->strings, "work"),
			   strtab_intern_cstr(&p->strings, "idle") };
	sample_clear(s);
	s->time_ns = 1000000000ULL + (uint64_t)i * 1000000ULL;
	for (int t = 0; t < 2; t++) {
		struct thread_sample *ts = sample_add_thread(s);
		ts->tid = 100 + (uint64_t)t;
		ts->status = t == 0 ? STATUS_MAIN_THREAD | STATUS_HAS_GIL | STATUS_ON_CPU : 0;
		uint32_t depth = t == 0 ? 1 + (uint32_t)(i % 3 != 0) : 2;
		struct frame *f = sample_reserve_frames(s, depth);
		for (uint32_t k = 0; k < depth; k++) {
			/* innermost first: work or idle above main */
			uint32_t func = k == depth - 1 ? fn[0] : t == 0 ? fn[1] : fn[2];
			f[k] = (struct frame){ .file = file, .func = func, .line = 10 + (int)k + t,
					       .end_line = -1, .col = -1, .end_col = -1,
					       .opcode = FRAME_NO_OPCODE };
		}
		ts->first = (uint32_t)s->nframes;
		s->nframes += depth;
		ts->depth = depth;
	}
}

#define NSAMPLES 9

static void finish_stats(struct profile *p)
{
	p->stats.interval_us = 1000;
	p->stats.ticks = NSAMPLES + 1;
	p->stats.failed = 1;
	p->stats.duration_s = 0.0125;
	p->stats.mode = 0;
}

static char *tmp_path(const char *tag)
{
	char *path = malloc(64);
	snprintf(path, 64, "/tmp/strobe_test_formats_%s_XXXXXX", tag);
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	unlink(path);
	return path;
}

TEST(every_row_streams)
{
	size_t n = 0;
	for (const struct out_format *f = out_formats; f->name; f++, n++) {
		CHECK(f->ext != NULL);
		CHECK(f->stream && f->stream->open && f->stream->add && f->stream->close &&
		      f->stream->abort);
		/* the whole-profile writers, and only they, sit behind the
		 * one adapter */
		bool whole = f->flags & FORMAT_WHOLE_PROFILE;
		CHECK_EQ_INT(whole, f->write != NULL);
		CHECK_EQ_INT(whole, f->stream == &out_whole_stream);
		CHECK(out_format_find(f->name) == f);
	}
	CHECK(n >= 10);
	const struct out_format *b = out_format_find("binary");
	CHECK(b && b->stream == &out_binary_stream && (b->flags & FORMAT_SUMMARY) &&
	      (b->flags & FORMAT_STATUS));
	CHECK_STR(b ? b->written_msg : NULL, "Binary profile written to %s");
	for (const char *const *w = (const char *const[]){ "flamegraph", "diff_flamegraph",
							   "speedscope", "pprof", NULL };
	     *w; w++) {
		const struct out_format *f = out_format_find(*w);
		CHECK(f && (f->flags & FORMAT_WHOLE_PROFILE));
	}
}

TEST(flags)
{
	/* what the command layer used to learn from names */
	for (const struct out_format *f = out_formats; f->name; f++) {
		bool pstats = strcmp(f->name, "pstats") == 0;
		bool collapsed = strcmp(f->name, "collapsed") == 0;
		/* only pstats and collapsed leave thread status unread */
		CHECK_EQ_INT(!(f->flags & FORMAT_STATUS), pstats || collapsed);
		/* only pstats goes to stdout without -o, and names a child's
		 * file profile_<pid> */
		CHECK_EQ_INT(!!(f->flags & FORMAT_STDOUT), pstats);
		CHECK_EQ_INT(!!(f->flags & FORMAT_CHILD_PROFILE_NAME), pstats);
		CHECK_EQ_INT(!!(f->flags & FORMAT_DIR), strcmp(f->name, "heatmap") == 0);
		CHECK_EQ_INT(!!(f->flags & FORMAT_ALL_STATUS), strcmp(f->name, "gecko") == 0);
		CHECK_EQ_INT(!!(f->flags & FORMAT_SUMMARY), strcmp(f->name, "binary") == 0);
	}
}

/* The bytes a whole-profile row writes when fed the samples through its
 * stream, and those of its writer on a profile built beforehand. */
static void whole_case(const char *name)
{
	const struct out_format *f = out_format_find(name);
	CHECK(f != NULL);
	if (!f)
		return;
	char *via_row = tmp_path("row"), *direct = tmp_path("direct");
	struct sample s;
	sample_init(&s);

	struct profile p;
	profile_init(&p);
	struct out_request req = { .path = via_row, .format = f, .profile = &p, .mode = 0 };
	struct out_stream *st = NULL;
	CHECK_EQ_INT(f->stream->open(&st, &req), 0);
	for (int i = 0; i < NSAMPLES; i++) {
		make_sample(&p, &s, i);
		CHECK_EQ_INT(f->stream->add(st, &s, &p.strings), 0);
	}
	/* add built the run's profile */
	CHECK_EQ_INT(p.samples, NSAMPLES);
	finish_stats(&p);
	bool written = false;
	CHECK_EQ_INT(f->stream->close(st, &p, &req, &written), 0);
	CHECK(written);

	struct profile q;
	profile_init(&q);
	for (int i = 0; i < NSAMPLES; i++) {
		make_sample(&q, &s, i);
		profile_add_sample(&q, &s);
	}
	finish_stats(&q);
	struct out_request dreq = { .path = direct, .mode = 0 };
	written = false;
	CHECK_EQ_INT(f->write(&q, &dreq, &written), 0);
	CHECK(written);

	size_t la = 0, lb = 0;
	char *a = harness_slurp(via_row, &la), *b = harness_slurp(direct, &lb);
	CHECK(a && b && la == lb && la > 0 && memcmp(a, b, la) == 0);
	free(a);
	free(b);
	unlink(via_row);
	unlink(direct);
	free(via_row);
	free(direct);
	profile_release(&p);
	profile_release(&q);
	sample_release(&s);
}

TEST(whole_adapter)
{
	whole_case("speedscope");
	whole_case("pprof");
}

TEST(whole_abort)
{
	/* giving up writes nothing and leaves the profile to its owner */
	const struct out_format *f = out_format_find("speedscope");
	char *path = tmp_path("abort");
	struct profile p;
	profile_init(&p);
	struct out_request req = { .path = path, .format = f, .profile = &p };
	struct out_stream *st = NULL;
	CHECK_EQ_INT(f->stream->open(&st, &req), 0);
	f->stream->abort(st, &req);
	struct stat sb;
	CHECK(stat(path, &sb) != 0 && errno == ENOENT);
	profile_release(&p);
	free(path);
}

struct counted {
	uint64_t samples;
	uint64_t frames;
};

static int count_sample(void *ctx, const struct sample *s)
{
	struct counted *c = ctx;
	c->samples++;
	c->frames += s->nframes;
	return 0;
}

TEST(binary_row)
{
	const struct out_format *f = out_format_find("binary");
	CHECK(f != NULL);
	if (!f)
		return;
	char *path = tmp_path("bin");
	FILE *text = tmpfile();
	struct buf note = BUF_INIT;
	struct errmsg why = { "" };
	struct profile p;
	profile_init(&p);
	struct out_request req = {
		.path = path, .named = true, .stdout_fp = text, .format = f, .profile = &p,
		.mode = 2, .features = BINARY_FEATURE_GC | BINARY_FEATURE_ALL_THREADS,
		.interval_us = 1000, .compression = BINARY_COMPRESSION_ZSTD,
		.py_major = 3, .py_minor = 12, .py_micro = 4, .note = &note, .err = &why,
	};
	struct out_stream *st = NULL;
	CHECK_EQ_INT(f->stream->open(&st, &req), 0);
	struct sample s;
	sample_init(&s);
	for (int i = 0; i < NSAMPLES; i++) {
		make_sample(&p, &s, i);
		CHECK_EQ_INT(f->stream->add(st, &s, &p.strings), 0);
	}
	/* a stream: the profile is not built */
	CHECK_EQ_INT(p.samples, 0);
	finish_stats(&p);
	bool written = false;
	CHECK_EQ_INT(f->stream->close(st, &p, &req, &written), 0);
	CHECK(written);
	/* the encoding figures of the run's summary, the count for the
	 * "written" line */
	fflush(text);
	rewind(text);
	char got[2048];
	size_t n = fread(got, 1, sizeof(got) - 1, text);
	got[n] = '\0';
	static const char head[] = "  Binary Encoding:\n    Records:          ";
	CHECK(strncmp(got, head, sizeof(head) - 1) == 0);
	CHECK(strstr(got, "  Frame Efficiency:\n") != NULL);
	CHECK_STR(note.data, " (18 samples)");

	/* the header from the request, the stats block from the profile */
	struct binary_reader *r = NULL;
	struct errmsg e = { "" };
	CHECK_EQ_INT(binary_reader_open(&r, path, &e), 0);
	if (r) {
		const struct binary_info *info = binary_reader_info(r);
		CHECK_EQ_INT(info->interval_us, 1000);
		CHECK_EQ_INT(info->py_major, 3);
		CHECK_EQ_INT(info->py_minor, 12);
		CHECK_EQ_INT(info->py_micro, 4);
		CHECK_EQ_INT(info->mode, 2);
		CHECK_EQ_INT(info->features, BINARY_FEATURE_GC | BINARY_FEATURE_ALL_THREADS);
		CHECK_EQ_INT(info->compression, BINARY_COMPRESSION_ZSTD);
		CHECK_EQ_INT(info->sample_count, 2 * NSAMPLES);
		struct out_run_figures fig;
		out_run_figures_of(&p, &fig);
		CHECK(info->has_stats && info->stats.duration_s == fig.duration_s &&
		      info->stats.sample_rate == fig.sample_rate &&
		      info->stats.error_rate == fig.error_rate &&
		      info->stats.missed_samples == fig.missed_samples);
		struct strtab strings;
		strtab_init(&strings);
		struct counted c = { 0, 0 };
		CHECK_EQ_INT(binary_reader_replay(r, &strings, count_sample, NULL, &c, &e), 0);
		CHECK_EQ_INT(c.samples, 2 * NSAMPLES);
		binary_reader_close(r);
		strtab_release(&strings);
	}
	unlink(path);
	free(path);
	fclose(text);
	buf_release(&note);
	sample_release(&s);
	profile_release(&p);
}

TEST(binary_row_failures)
{
	const struct out_format *f = out_format_find("binary");
	CHECK(f != NULL);
	if (!f)
		return;
	/* abort: no file */
	char *path = tmp_path("binabort");
	struct errmsg why = { "" };
	struct out_request req = { .path = path, .interval_us = 1000, .mode = 0, .features = -1,
				   .err = &why };
	struct out_stream *st = NULL;
	CHECK_EQ_INT(f->stream->open(&st, &req), 0);
	f->stream->abort(st, &req);
	struct stat sb;
	CHECK(stat(path, &sb) != 0 && errno == ENOENT);
	free(path);
	/* a destination that cannot be made: the error in the session's
	 * words, naming the path */
	req.path = "/nonexistent-strobe-dir/x.bin";
	st = NULL;
	CHECK(f->stream->open(&st, &req) < 0);
	CHECK(st == NULL);
	static const char msg[] = "cannot write /nonexistent-strobe-dir/x.bin: ";
	CHECK(strncmp(why.text, msg, sizeof(msg) - 1) == 0);
}

int main(void)
{
	RUN(every_row_streams);
	RUN(flags);
	RUN(whole_adapter);
	RUN(whole_abort);
	RUN(binary_row);
	RUN(binary_row_failures);
	return harness_done();
}
