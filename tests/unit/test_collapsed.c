/* test_collapsed.c - the collapsed-stack writer against Tachyon's output.
 *
 * The expected files below were written by CPython 3.15.2's
 * profiling.sampling.stack_collector.CollapsedStackCollector.export() fed
 * the same stacks (as _remote_debugging FrameInfo/ThreadInfo/InterpreterInfo)
 * in the same order; the stack tables were emitted by the same script.
 */
#include "harness.h"

#include "base/buf.h"
#include "base/intern.h"
#include "model/profile.h"
#include "out/out.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stacks.h"

static const char exp_main[] =
	"tid:100;x.py:main:21;r.py:rec:5;r.py:rec:5;r.py:rec:5 4\n"
	"tid:100;x.py:main:20;x.py:f:10 3\n"
	"tid:100;x.py:main:20;x.py:g:30 3\n"
	"tid:200;x.py:main:20;x.py:f:10 3\n"
	"tid:100;x.py:f:10 2\n"
	"tid:100;x.py:main:20;x.py:f:11;<GC> 2\n"
	"tid:200;x.py:main:22;util.py:helper:7 2\n"
	"tid:100;back\\slash.py:k\tx:4 1\n"
	"tid:100;x.py:main:100 1\n"
	"tid:100;x.py:main:12;it's.py:q:100 1\n"
	"tid:100;x.py:main:22;util.py:helper:7 1\n"
	"tid:100;x.py:main:23;\303\274n\303\257.py:caf\303\251.\316\273:3 1\n"
	"tid:300;<task>:Task:1:0 1\n";

/* case merge: interval 1000 us */
static const struct tframe merge_s0[] = {
	{ "/a/u.py", 1, "h" },
	{ "/m.py", 2, "main" },
	{ NULL, 0, NULL },
};
static const struct tframe merge_s1[] = {
	{ "/b/u.py", 1, "h" },
	{ "/m.py", 2, "main" },
	{ NULL, 0, NULL },
};
static const struct tframe merge_s2[] = {
	{ "/c/u.py", 1, "h" },
	{ "/m.py", 2, "main" },
	{ NULL, 0, NULL },
};
static const struct tframe merge_s3[] = {
	{ "~", 0, "<GC>" },
	{ "/m.py", 2, "main" },
	{ NULL, 0, NULL },
};
static const struct tframe merge_s4[] = {
	{ "~", FRAME_NO_LINE, "<GC>" },
	{ "/m.py", 2, "main" },
	{ NULL, 0, NULL },
};
static const struct tframe merge_s5[] = {
	{ "/m.py", 3, "main" },
	{ NULL, 0, NULL },
};
static const struct tstack merge_stacks[] = {
	{ 1, 2, merge_s0 },
	{ 1, 2, merge_s1 },
	{ 1, 1, merge_s2 },
	{ 1, 1, merge_s3 },
	{ 1, 4, merge_s4 },
	{ 1, 1, merge_s5 },
	{ 0, 0, NULL },
};

static const char exp_merge[] =
	"tid:1;m.py:main:2;<GC> 5\n"
	"tid:1;m.py:main:2;u.py:h:1 2\n"
	"tid:1;m.py:main:2;u.py:h:1 2\n"
	"tid:1;m.py:main:2;u.py:h:1 1\n"
	"tid:1;m.py:main:3 1\n";

static const char exp_empty[] =
	"";



static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct buf b = BUF_INIT;
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	*len = b.len;
	if (!b.data)
		return xstrdup("");
	return b.data;
}

/* Write p to a temporary file through the format table; return the bytes. */
static char *write_file(const struct profile *p)
{
	char path[] = "/tmp/strobe_test_collapsed_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	struct out_request req = { .path = path };
	bool written = false;
	const struct out_format *fmt = out_format_find("collapsed");
	CHECK(fmt != NULL);
	CHECK_EQ_INT(fmt->write(p, &req, &written), 0);
	CHECK(written);
	size_t len = 0;
	char *got = slurp(path, &len);
	CHECK(got != NULL && strlen(got) == len);
	unlink(path);
	return got;
}

static void check_case(const struct tstack *stacks, const char *want)
{
	struct profile p;
	stacks_build(&p, stacks, 1000);
	char *got = write_file(&p);
	CHECK_STR(got, want);
	free(got);
	profile_release(&p);
}

TEST(main)
{
	/* one line per (stack, thread); <GC> bare; <task> frame keeps :0;
	 * count desc then text asc; non-ASCII bytes as they are */
	check_case(main_stacks, exp_main);
}

TEST(merge)
{
	/* /a/u.py and /b/u.py stay two lines with the same text; <GC> at
	 * line 0 and with no line are one line */
	check_case(merge_stacks, exp_merge);
}

TEST(empty)
{
	static const struct tstack none[] = { { 0, 0, NULL } };
	check_case(none, exp_empty);
}

TEST(stdout_and_errors)
{
	struct profile p;
	stacks_build(&p, merge_stacks, 1000);
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	struct out_request req = { .path = NULL, .stdout_fp = fp };
	bool written = true;
	CHECK_EQ_INT(out_format_find("collapsed")->write(&p, &req, &written), 0);
	CHECK(!written);
	fclose(fp);
	CHECK_STR(text, exp_merge);
	free(text);

	req.path = "/nonexistent-dir/c.txt";
	written = true;
	CHECK(out_format_find("collapsed")->write(&p, &req, &written) < 0);
	CHECK(!written);
	profile_release(&p);
}

TEST(big_tid_and_count)
{
	static const struct tframe s[] = { { "/x/a.py", 1, "a" }, { NULL, 0, NULL } };
	struct profile p;
	profile_init(&p);
	struct frame f = { .file = strtab_intern_cstr(&p.strings, s[0].file),
			   .func = strtab_intern_cstr(&p.strings, s[0].func),
			   .line = 1, .end_line = -1, .col = -1, .end_col = -1,
			   .opcode = FRAME_NO_OPCODE };
	profile_add_stack(&p, UINT64_MAX, 0, &f, 1, 5000000000ull);
	char *got = write_file(&p);
	CHECK_STR(got, "tid:18446744073709551615;a.py:a:1 5000000000\n");
	free(got);
	profile_release(&p);
}

int main(void)
{
	RUN(main);
	RUN(merge);
	RUN(empty);
	RUN(stdout_and_errors);
	RUN(big_tid_and_count);
	return harness_done();
}
