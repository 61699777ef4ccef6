/* harness.h - a tiny unit-test harness: CHECK macros and a runner.
 *
 *   TEST(name) { CHECK(x == 1); CHECK_EQ_INT(a, b); CHECK_STR(s, "x"); }
 *   int main(void) { RUN(name); return harness_done(); }
 */
#ifndef STROBE_TEST_HARNESS_H
#define STROBE_TEST_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int harness_failures;
static int harness_checks;
static const char *harness_current;

#define TEST(name) static void test_##name(void)
#define RUN(name)                                  \
	do {                                           \
		harness_current = #name;                   \
		test_##name();                             \
	} while (0)

#define CHECK(cond)                                                                 \
	do {                                                                            \
		harness_checks++;                                                           \
		if (!(cond)) {                                                              \
			harness_failures++;                                                     \
			fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__,    \
			        harness_current, #cond);                                        \
		}                                                                           \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                          \
	do {                                                                            \
		long long va_ = (long long)(a), vb_ = (long long)(b);                       \
		harness_checks++;                                                           \
		if (va_ != vb_) {                                                           \
			harness_failures++;                                                     \
			fprintf(stderr, "%s:%d: %s: %s == %lld, expected %s == %lld\n",         \
			        __FILE__, __LINE__, harness_current, #a, va_, #b, vb_);         \
		}                                                                           \
	} while (0)

#define CHECK_STR(a, b)                                                             \
	do {                                                                            \
		const char *sa_ = (a), *sb_ = (b);                                          \
		harness_checks++;                                                           \
		if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                                \
			harness_failures++;                                                     \
			fprintf(stderr, "%s:%d: %s: %s == \"%s\", expected \"%s\"\n", __FILE__, \
			        __LINE__, harness_current, #a, sa_ ? sa_ : "(null)",            \
			        sb_ ? sb_ : "(null)");                                          \
		}                                                                           \
	} while (0)

/* The whole file at path, NUL-terminated (so text can be compared as a
 * string), its length without the NUL in *len; NULL if it cannot be
 * opened.  The caller frees it. */
static inline char *harness_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0, got;
	char *data = malloc(cap);
	while (data && (got = fread(data + n, 1, cap - 1 - n, f)) > 0) {
		n += got;
		if (n == cap - 1) {
			char *more = realloc(data, cap *= 2);
			if (!more)
				free(data);
			data = more;
		}
	}
	fclose(f);
	if (!data)
		return NULL;
	data[n] = '\0';
	*len = n;
	return data;
}

static inline int harness_done_named(const char *file)
{
	if (harness_failures) {
		fprintf(stderr, "%s: %d of %d checks FAILED\n", file, harness_failures, harness_checks);
		return 1;
	}
	printf("%s: %d checks passed\n", file, harness_checks);
	return 0;
}
#define harness_done() harness_done_named(__FILE__)

#endif
