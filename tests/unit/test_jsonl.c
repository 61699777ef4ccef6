/* test_jsonl.c - the JSONL writer against Tachyon's JsonlCollector.
 *
 * tests/fixtures/jsonl/NAME.jsonl was written by CPython 3.15's
 * profiling.sampling.jsonl_collector fed the stacks of NAME.stacks
 * (gen_jsonl.py); strobe must write the same bytes but the run id.
 */
#include "harness.h"

#include "base/buf.h"
#include "model/profile.h"
#include "model/sample.h"
#include "format/out.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stackfile.h"

static const char tag[] = "\"run_id\":\"";

/* Replace every run id by zeros; returns how many there were, or -1 when
 * one is not a uuid4 in hex or differs from the first. */
static int blank_run_ids(char *s)
{
	int n = 0;
	char first[33] = "";
	for (char *p = strstr(s, tag); p; p = strstr(p, tag)) {
		p += sizeof(tag) - 1;
		for (int i = 0; i < 32; i++)
			if (!isxdigit((unsigned char)p[i]) || isupper((unsigned char)p[i]))
				return -1;
		if (p[32] != '"' || p[12] != '4' || !strchr("89ab", p[16]))
			return -1;
		if (n == 0)
			memcpy(first, p, 32);
		else if (memcmp(first, p, 32) != 0)
			return -1;
		memset(p, '0', 32);
		n++;
	}
	return n;
}

/* Feeds each stack of a file to the stream as WEIGHT one-thread samples,
 * as a replay of Tachyon's batches would. */
struct feed {
	struct out_stream *st;
	struct sample s;
};

static void feed_stack(void *ctx, struct profile *p, uint64_t tid, const struct frame *frames,
		       size_t depth, uint64_t weight)
{
	struct feed *fd = ctx;
	for (uint64_t w = 0; w < weight; w++) {
		sample_clear(&fd->s);
		struct thread_sample *t = sample_add_thread(&fd->s);
		t->tid = tid;
		t->status = STATUS_HAS_GIL | STATUS_ON_CPU;
		if (depth)
			memcpy(sample_reserve_frames(&fd->s, depth), frames, depth * sizeof(*frames));
		fd->s.nframes = depth;
		t->depth = (uint32_t)depth;
		CHECK_EQ_INT(out_jsonl_stream.add(fd->st, &fd->s, &p->strings), 0);
	}
}

/* NAME.stacks through the jsonl stream: the file's text (req->path), or
 * NULL when the stream failed (*rc). */
static char *stream_case(const char *name, struct out_request *req, int *rc)
{
	const struct out_format *fmt = out_format_find("jsonl");
	CHECK(fmt != NULL && fmt->stream == &out_jsonl_stream && (fmt->flags & FORMAT_DETAIL) &&
	      strcmp(fmt->ext, "jsonl") == 0);
	struct feed fd;
	sample_init(&fd.s);
	*rc = out_jsonl_stream.open(&fd.st, req);
	struct profile p;
	int mode = 0;
	if (*rc == 0) {
		CHECK_EQ_INT(stackfile_each(&p, name, &mode, feed_stack, &fd), 0);
		req->mode = mode;
		bool written = false;
		*rc = out_jsonl_stream.close(fd.st, &p, req, &written);
		CHECK(written == (*rc == 0 && req->path != NULL));
		profile_release(&p);
	}
	sample_release(&fd.s);
	if (*rc || !req->path)
		return NULL;
	size_t len = 0;
	char *got = harness_slurp(req->path, &len);
	CHECK(got != NULL && strlen(got) == len);
	return got;
}

static char *write_jsonl(const char *name)
{
	char path[] = "/tmp/strobe_test_jsonl_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	struct out_request req = { .path = path };
	int rc;
	char *got = stream_case(name, &req, &rc);
	CHECK_EQ_INT(rc, 0);
	unlink(path);
	return got;
}

static void check_case(const char *name)
{
	char *got = write_jsonl(name);
	char path[512];
	snprintf(path, sizeof(path), "%s/%s.jsonl", STACKFILE_DIR, name);
	size_t len;
	char *want = harness_slurp(path, &len);
	CHECK(want != NULL);
	if (got && want) {
		int a = blank_run_ids(got), b = blank_run_ids(want);
		CHECK(a > 0);
		CHECK_EQ_INT(a, b);
		if (strcmp(got, want) != 0) {
			size_t i = 0;
			while (got[i] && got[i] == want[i])
				i++;
			fprintf(stderr, "%s: differs at byte %zu:\n  got  %.120s\n  want %.120s\n", name,
				i, got + (i > 40 ? i - 40 : 0), want + (i > 40 ? i - 40 : 0));
		}
		CHECK_STR(got, want);
	}
	free(want);
	free(got);
}

TEST(main) { check_case("main"); }       /* threads, <GC>, <task>, optional keys */
TEST(detail) { check_case("detail"); }   /* opcodes merged, no-location columns ignored */
TEST(unicode) { check_case("unicode"); } /* ensure_ascii escapes, astral, surrogates */
TEST(chunks) { check_case("chunks"); }   /* 256-entry chunks */
TEST(empty) { check_case("empty"); }     /* meta + end only, mode left out */

TEST(run_ids_differ)
{
	char *a = write_jsonl("detail"), *b = write_jsonl("detail");
	char *ia = strstr(a, tag), *ib = strstr(b, tag);
	CHECK(ia && ib && memcmp(ia, ib, sizeof(tag) - 1 + 32) != 0);
	free(a);
	free(b);
}

TEST(stdout_and_errors)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	struct out_request req = { .path = NULL, .stdout_fp = fp };
	int rc;
	CHECK(stream_case("main", &req, &rc) == NULL);
	CHECK_EQ_INT(rc, 0);
	fclose(fp);
	CHECK(text && strncmp(text, "{\"type\":\"meta\"", 14) == 0);
	free(text);
	/* a path that cannot be created fails at open, before any sample */
	req.path = "/nonexistent-dir/x.jsonl";
	struct out_stream *st = NULL;
	CHECK(out_jsonl_stream.open(&st, &req) < 0);
	CHECK(st == NULL);
}

/* Threads with neither the GIL nor a CPU are left out when asked (run in
 * cpu, gil and exception modes), and so are Tachyon's launcher frames. */
TEST(skip_idle_and_launcher)
{
	struct profile p;
	profile_init(&p);
	p.stats.interval_us = 100;
	p.stats.mode = 1;
	char path[] = "/tmp/strobe_test_jsonl_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	struct out_request req = { .path = path, .skip_idle = true };
	struct out_stream *st;
	CHECK_EQ_INT(out_jsonl_stream.open(&st, &req), 0);
	struct sample s;
	sample_init(&s);
	uint32_t file = strtab_intern_cstr(&p.strings, "/app/a.py");
	uint32_t coord = strtab_intern_cstr(&p.strings, "/usr/lib/python3.15/profiling/sampling/"
						       "_sync_coordinator.py");
	uint32_t fn = strtab_intern_cstr(&p.strings, "work"), mn = strtab_intern_cstr(&p.strings,
										 "main");
	static const uint32_t statuses[] = { STATUS_ON_CPU, 0, STATUS_HAS_GIL, STATUS_UNKNOWN };
	for (int i = 0; i < 4; i++) {
		sample_clear(&s);
		struct thread_sample *t = sample_add_thread(&s);
		t->tid = 7;
		t->status = statuses[i];
		struct frame *f = sample_reserve_frames(&s, 2);
		f[0] = (struct frame){ file, fn, 3 + i % 2, 3 + i % 2, 0, 4, FRAME_NO_OPCODE };
		f[1] = (struct frame){ coord, mn, 9, 9, 0, 4, FRAME_NO_OPCODE };
		s.nframes = 2;
		t->depth = 2;
		CHECK_EQ_INT(out_jsonl_stream.add(st, &s, &p.strings), 0);
	}
	bool written = false;
	CHECK_EQ_INT(out_jsonl_stream.close(st, &p, &req, &written), 0);
	CHECK(written);
	size_t len;
	char *got = harness_slurp(path, &len);
	CHECK(got != NULL);
	/* two stacks counted (line 3 twice), the coordinator's frame nowhere */
	CHECK(got && strstr(got, "\"samples_total\":2}"));
	CHECK(got && strstr(got, "{\"frame_id\":0,\"self\":2,\"cumulative\":2}]"));
	CHECK(got && !strstr(got, "_sync_coordinator"));
	CHECK(got && strstr(got, "\"mode\":\"cpu\""));
	free(got);
	sample_release(&s);
	profile_release(&p);
	unlink(path);
}

int main(void)
{
	RUN(main);
	RUN(detail);
	RUN(unicode);
	RUN(chunks);
	RUN(empty);
	RUN(run_ids_differ);
	RUN(stdout_and_errors);
	RUN(skip_idle_and_launcher);
	return harness_done();
}
