/* test_collapsed.c - the collapsed-stack writer against Tachyon's output.
 *
 * The expected files below were written by CPython 3.15.2's
 * profiling.sampling.stack_collector.CollapsedStackCollector.export() fed
 * the same stacks (as _remote_debugging FrameInfo/ThreadInfo/InterpreterInfo)
 * in the same order; the stack tables were emitted by the same script.
 * One departure: a backslash in a name is written \x5c (strobe escapes names,
 * see collapsed.c), where Tachyon writes it as it is.
 */
#include "harness.h"

#include "base/buf.h"
#include "base/intern.h"
#include "model/profile.h"
#include "format/out.h"

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
	"tid:100;back\\x5cslash.py:k\tx:4 1\n"
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




/* The stacks through the collapsed stream to a temporary file; the bytes. */
static char *write_file(const struct tstack *stacks)
{
	char path[] = "/tmp/strobe_test_collapsed_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	struct out_request req = { .path = path };
	bool written = false;
	const struct out_format *fmt = out_format_find("collapsed");
	CHECK(fmt != NULL && fmt->stream == &out_collapsed_stream && !fmt->write &&
	      !(fmt->flags & FORMAT_STATUS));
	CHECK_EQ_INT(stacks_stream(&out_collapsed_stream, stacks, 1000, &req, &written), 0);
	CHECK(written);
	size_t len = 0;
	char *got = harness_slurp(path, &len);
	CHECK(got != NULL && strlen(got) == len);
	unlink(path);
	return got;
}

static void check_case(const struct tstack *stacks, const char *want)
{
	char *got = write_file(stacks);
	CHECK_STR(got, want);
	free(got);
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
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	struct out_request req = { .path = NULL, .stdout_fp = fp };
	bool written = true;
	CHECK_EQ_INT(stacks_stream(&out_collapsed_stream, merge_stacks, 1000, &req, &written), 0);
	CHECK(!written);
	fclose(fp);
	CHECK_STR(text, exp_merge);
	free(text);

	/* an unwritable path fails at open, before any sample */
	req.path = "/nonexistent-dir/c.txt";
	written = true;
	CHECK(stacks_stream(&out_collapsed_stream, merge_stacks, 1000, &req, &written) < 0);
	CHECK(written);
}

TEST(big_tid)
{
	static const struct tframe s[] = { { "/x/a.py", 1, "a" }, { NULL, 0, NULL } };
	static const struct tstack st[] = { { UINT64_MAX, 3, s }, { 0, 0, NULL } };
	char *got = write_file(st);
	CHECK_STR(got, "tid:18446744073709551615;a.py:a:1 3\n");
	free(got);
}

/* Names are the target's: separators, newlines, backslashes, terminal
 * escapes, C1 controls and malformed UTF-8 in them make no new frame and
 * no new line, and the output is valid UTF-8 (collapsed.c's escapes). */
TEST(hostile_names)
{
	static const struct tframe s1[] = {
		{ "/d/e\x1b]0;pwned\x07.py", 5, "back\\slash" },
		{ "/app/a;b.py", 3, "x\ny\r\x7f" },
		{ NULL, 0, NULL },
	};
	static const struct tframe s2[] = {
		{ "/z/\xff\xed\xa0\x80.py", 1, "c1\xc2\x9b" "31m" },
		{ "/t/tab\t.py", 2, "caf\xc3\xa9\x1b[2J" },
		{ NULL, 0, NULL },
	};
	static const struct tstack st[] = { { 7, 2, s1 }, { 7, 1, s2 }, { 0, 0, NULL } };
	char *got = write_file(st);
	CHECK_STR(got, "tid:7;a\\x3bb.py:x\\x0ay\\x0d\\x7f:3;e\\x1b]0\\x3bpwned\\x07.py:back\\x5cslash:5 2\n"
		       "tid:7;tab\t.py:caf\xc3\xa9\\x1b[2J:2;\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd.py"
		       ":c1\\xc2\\x9b31m:1 1\n");
	free(got);
}

/* The sort renders lines a frame at a time and skips shared frames: its
 * order must be memcmp's on the whole texts, including a line that is a
 * prefix of another, tids of different lengths and frames whose texts
 * are prefixes of others. */
TEST(text_order)
{
	static const struct tframe a[] = { { "/p/ab.py", 1, "f" }, { "/m.py", 1, "main" },
					   { NULL, 0, NULL } };
	static const struct tframe b[] = { { "/p/a.py", 1, "f" }, { "/m.py", 1, "main" },
					   { NULL, 0, NULL } };
	static const struct tframe c[] = { { "/m.py", 1, "main" }, { NULL, 0, NULL } };
	static const struct tframe d[] = { { "/p/a.py", 10, "f" }, { "/m.py", 1, "main" },
					   { NULL, 0, NULL } };
	static const struct tframe e[] = { { "/q/a.py", 1, "f" }, { "/m.py", 1, "main" },
					   { NULL, 0, NULL } };
	static const struct tstack st[] = {
		{ 10, 1, a }, { 10, 1, b }, { 10, 1, c }, { 10, 1, d }, { 9, 1, c },
		{ 100, 1, c }, { 10, 1, e }, { 10, 2, c }, { 0, 0, NULL },
	};
	char *got = write_file(st);
	CHECK_STR(got,
		  "tid:10;m.py:main:1 3\n"
		  "tid:100;m.py:main:1 1\n"
		  "tid:10;m.py:main:1;a.py:f:1 1\n"
		  "tid:10;m.py:main:1;a.py:f:1 1\n"
		  "tid:10;m.py:main:1;a.py:f:10 1\n"
		  "tid:10;m.py:main:1;ab.py:f:1 1\n"
		  "tid:9;m.py:main:1 1\n");
	free(got);
}


/* Random stacks over names built to tie for many bytes (16-byte pieces are
 * what the sort compares), texts that are prefixes of others, equal texts
 * from different files, tids of different lengths and counts that tie:
 * the output must be a plain sort of the whole lines by count descending,
 * text, first seen, done here the slow way. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

struct ref_line {
	char *text;      /* "tid:N;frames" */
	char *key;       /* tid and full frame identities: what makes a line */
	uint64_t count;
	size_t first;
};

static int cmp_ref(const void *pa, const void *pb)
{
	const struct ref_line *a = pa, *b = pb;
	if (a->count != b->count)
		return a->count < b->count ? 1 : -1;
	int r = strcmp(a->text, b->text);
	if (r)
		return r;
	return (a->first > b->first) - (a->first < b->first);
}

static void check_random(uint64_t seed, size_t nstacks, uint64_t max_weight)
{
	static const char *const files[] = { "/d/a.py", "/e/a.py", "/d/ab.py", "/d/a_very_long_module_name.py" };
	static const char *const funcs[] = {
		"f", "f_", "a_function_name_longer_than_sixteen_bytes",
		"a_function_name_longer_than_sixteen_bytes_2", "a_function_name_longer_than_sixteen_bytez",
	};
	static const int lines[] = { 1, 10, 12, 100 };
	static const uint64_t tids[] = { 1, 10, 100, 9, 18446744073709551615ull };
	struct tstack *st = xcalloc(nstacks + 1, sizeof(*st));
	struct tframe *fr = xcalloc(nstacks * 17, sizeof(*fr));
	struct ref_line *ref = xcalloc(nstacks, sizeof(*ref));
	size_t nref = 0;
	uint64_t r = seed;
	for (size_t i = 0; i < nstacks; i++) {
		/* a shared root chain of random length, then random frames */
		size_t depth = 1 + rng_next(&r) % 16, shared = rng_next(&r) % (depth + 1);
		struct tframe *f = fr + i * 17;
		for (size_t k = 0; k < depth; k++) {
			size_t root_pos = depth - 1 - k; /* frames are innermost first */
			if (root_pos < shared)
				f[k] = (struct tframe){ files[3], (int)root_pos + 1, funcs[2] };
			else
				f[k] = (struct tframe){ files[rng_next(&r) % 4], lines[rng_next(&r) % 4],
							funcs[rng_next(&r) % 5] };
		}
		f[depth] = (struct tframe){ NULL, 0, NULL };
		st[i] = (struct tstack){ tids[rng_next(&r) % 5], 1 + rng_next(&r) % max_weight, f };

		struct buf text = BUF_INIT, key = BUF_INIT;
		buf_printf(&text, "tid:%llu", (unsigned long long)st[i].tid);
		buf_printf(&key, "%llu", (unsigned long long)st[i].tid);
		for (size_t k = depth; k-- > 0;) {
			buf_printf(&text, ";%s:%s:%d", strrchr(f[k].file, '/') + 1, f[k].func, f[k].line);
			buf_printf(&key, ";%s:%s:%d", f[k].file, f[k].func, f[k].line);
		}
		size_t j = 0;
		while (j < nref && strcmp(ref[j].key, key.data) != 0)
			j++;
		if (j == nref) {
			ref[nref++] = (struct ref_line){ text.data, key.data, 0, j };
		} else {
			buf_release(&text);
			buf_release(&key);
		}
		ref[j].count += st[i].weight;
	}
	qsort(ref, nref, sizeof(*ref), cmp_ref);
	struct buf want = BUF_INIT;
	for (size_t j = 0; j < nref; j++)
		buf_printf(&want, "%s %llu\n", ref[j].text, (unsigned long long)ref[j].count);
	char *got = write_file(st);
	CHECK_STR(got, want.data);
	free(got);
	buf_release(&want);
	for (size_t j = 0; j < nref; j++) {
		free(ref[j].text);
		free(ref[j].key);
	}
	free(ref);
	free(fr);
	free(st);
}

TEST(random_order)
{
	for (uint64_t seed = 1; seed <= 20; seed++)
		check_random(seed * 0x9e3779b97f4a7c15ull, 50 + seed * 40, 3);
	/* counts of more than one byte, most of them distinct */
	for (uint64_t seed = 21; seed <= 24; seed++)
		check_random(seed * 0x9e3779b97f4a7c15ull, 300, 1000);
}

int main(void)
{
	RUN(main);
	RUN(merge);
	RUN(empty);
	RUN(stdout_and_errors);
	RUN(big_tid);
	RUN(hostile_names);
	RUN(text_order);
	RUN(random_order);
	return harness_done();
}
