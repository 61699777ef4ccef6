/* test_jsonl.c - the JSONL writer against Tachyon's JsonlCollector.
 *
 * tests/fixtures/jsonl/NAME.jsonl was written by CPython 3.15's
 * profiling.sampling.jsonl_collector fed the stacks of NAME.stacks
 * (gen_jsonl.py); strobe must write the same bytes but the run id.
 */
#include "harness.h"

#include "base/buf.h"
#include "model/profile.h"
#include "out/out.h"

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

static char *write_jsonl(const struct profile *p, int mode)
{
	char path[] = "/tmp/strobe_test_jsonl_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	struct out_request req = { .path = path, .mode = mode };
	bool written = false;
	const struct out_format *fmt = out_format_find("jsonl");
	CHECK(fmt != NULL && fmt->needs_detail && strcmp(fmt->ext, "jsonl") == 0);
	CHECK_EQ_INT(fmt->write(p, &req, &written), 0);
	CHECK(written);
	size_t len = 0;
	char *got = stackfile_slurp(path, &len);
	CHECK(got != NULL && strlen(got) == len);
	unlink(path);
	return got;
}

static void check_case(const char *name)
{
	struct profile p;
	int mode = 0;
	CHECK_EQ_INT(stackfile_load(&p, name, &mode), 0);
	char *got = write_jsonl(&p, mode);
	char path[512];
	snprintf(path, sizeof(path), "%s/%s.jsonl", STACKFILE_DIR, name);
	size_t len;
	char *want = stackfile_slurp(path, &len);
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
	profile_release(&p);
}

TEST(main) { check_case("main"); }       /* threads, <GC>, <task>, optional keys */
TEST(detail) { check_case("detail"); }   /* opcodes merged, no-location columns ignored */
TEST(unicode) { check_case("unicode"); } /* ensure_ascii escapes, astral, surrogates */
TEST(chunks) { check_case("chunks"); }   /* 256-entry chunks */
TEST(empty) { check_case("empty"); }     /* meta + end only, mode left out */

TEST(run_ids_differ)
{
	struct profile p;
	int mode;
	CHECK_EQ_INT(stackfile_load(&p, "detail", &mode), 0);
	char *a = write_jsonl(&p, mode), *b = write_jsonl(&p, mode);
	char *ia = strstr(a, tag), *ib = strstr(b, tag);
	CHECK(ia && ib && memcmp(ia, ib, sizeof(tag) - 1 + 32) != 0);
	free(a);
	free(b);
	profile_release(&p);
}

TEST(stdout_and_errors)
{
	struct profile p;
	int mode;
	CHECK_EQ_INT(stackfile_load(&p, "main", &mode), 0);
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	struct out_request req = { .path = NULL, .stdout_fp = fp, .mode = mode };
	bool written = true;
	CHECK_EQ_INT(out_format_find("jsonl")->write(&p, &req, &written), 0);
	CHECK(!written);
	fclose(fp);
	CHECK(text && strncmp(text, "{\"type\":\"meta\"", 14) == 0);
	free(text);
	req.path = "/nonexistent-dir/x.jsonl";
	written = true;
	CHECK(out_format_find("jsonl")->write(&p, &req, &written) < 0);
	CHECK(!written);
	profile_release(&p);
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
	return harness_done();
}
