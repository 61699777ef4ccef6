/* test_json.c - JSON string literals and numbers.
 *
 * The ASCII-mode expectations are what Python's json.dumps(s) writes for the
 * str that Python decodes from the same bytes with errors="replace" (an
 * encoded lone surrogate is three malformed parts). */
#include "harness.h"

#include "base/buf.h"
#include "base/json.h"

#include <math.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char *json(const char *s, size_t n, bool ascii)
{
	struct buf b = BUF_INIT;
	json_str(&b, s, n, ascii);
	return b.data;
}

#define CHECK_JSON(lit, ascii, want)                          \
	do {                                                      \
		char *got_ = json(lit, sizeof(lit) - 1, ascii);       \
		CHECK_STR(got_, want);                                \
		free(got_);                                           \
	} while (0)

TEST(json_ascii)
{
	CHECK_JSON("", true, "\"\"");
	CHECK_JSON("plain text ~", true, "\"plain text ~\"");
	CHECK_JSON("q\"b\\n\nr\rt\tb\bf\f", true, "\"q\\\"b\\\\n\\nr\\rt\\tb\\bf\\f\"");
	CHECK_JSON("\x01\x1f\x7f", true, "\"\\u0001\\u001f\\u007f\"");
	CHECK_JSON("caf\xc3\xa9.\xce\xbb", true, "\"caf\\u00e9.\\u03bb\"");
	CHECK_JSON("\xe6\x97\xa5\xef\xbf\xbf", true, "\"\\u65e5\\uffff\"");
	CHECK_JSON("\xf0\x9f\x98\x80", true, "\"\\ud83d\\ude00\"");
	CHECK_JSON("\xf4\x8f\xbf\xbf", true, "\"\\udbff\\udfff\"");
	CHECK_JSON("\xed\xa0\x80x\xed\xbf\xbf", true,
		   "\"\\ufffd\\ufffd\\ufffdx\\ufffd\\ufffd\\ufffd\"");
	CHECK_JSON("f\xc3", true, "\"f\\ufffd\"");
	CHECK_JSON("\xff\xfe.py", true, "\"\\ufffd\\ufffd.py\"");
	CHECK_JSON("a\0b", true, "\"a\\u0000b\"");
}

TEST(json_utf8)
{
	CHECK_JSON("caf\xc3\xa9 \xf0\x9f\x98\x80\x7f", false, "\"caf\xc3\xa9 \xf0\x9f\x98\x80\x7f\"");
	CHECK_JSON("q\"\\\n\x01", false, "\"q\\\"\\\\\\n\\u0001\"");
	CHECK_JSON("\xed\xb3\xbf.py", false, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd.py\"");
	CHECK_JSON("\xff", false, "\"\xef\xbf\xbd\"");
}

TEST(numbers)
{
	struct buf b = BUF_INIT;
	json_u64(&b, 0);
	buf_putc(&b, ' ');
	json_u64(&b, UINT64_MAX);
	buf_putc(&b, ' ');
	json_i64(&b, INT64_MIN);
	buf_putc(&b, ' ');
	json_i64(&b, -7);
	CHECK_STR(b.data, "0 18446744073709551615 -9223372036854775808 -7");
	buf_release(&b);
}

/* Python's repr() of a float, as its json module writes it */
TEST(doubles)
{
	static const struct {
		double x;
		const char *want;
	} cases[] = {
		{ 0.0, "0.0" }, { -0.0, "-0.0" }, { 100.0, "100.0" }, { 0.1, "0.1" },
		{ 1.0 / 3.0, "0.3333333333333333" }, { 1e15, "1000000000000000.0" },
		{ 1e16, "1e+16" }, { 1.5e-05, "1.5e-05" }, { 0.0001, "0.0001" },
		{ -2.5, "-2.5" }, { 123456789.125, "123456789.125" }, { 1e300, "1e+300" },
		{ 5e-324, "5e-324" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = BUF_INIT;
		json_double(&b, cases[i].x);
		buf_putc(&b, 0);
		CHECK_STR(b.data, cases[i].want);
		buf_release(&b);
	}
	struct buf b = BUF_INIT;
	json_double(&b, NAN);
	buf_putc(&b, ' ');
	json_double(&b, INFINITY);
	buf_putc(&b, 0);
	CHECK_STR(b.data, "null null");
	buf_release(&b);
}

int main(void)
{
	RUN(json_ascii);
	RUN(json_utf8);
	RUN(numbers);
	RUN(doubles);
	return harness_done();
}
