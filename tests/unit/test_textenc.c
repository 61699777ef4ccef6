/* test_textenc.c - JSON string literals, strict UTF-8 and numbers.
 *
 * The ASCII-mode expectations are what Python's json.dumps(s) writes for the
 * str that Python decodes from the same bytes with errors="surrogatepass"
 * (lone surrogates) and otherwise errors="replace". */
#include "harness.h"

#include "base/buf.h"
#include "out/textenc.h"

#include <math.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char *json(const char *s, size_t n, bool ascii)
{
	struct buf b = BUF_INIT;
	textenc_json_str(&b, s, n, ascii);
	return b.data;
}

#define CHECK_JSON(lit, ascii, want)                          \
	do {                                                      \
		char *got_ = json(lit, sizeof(lit) - 1, ascii);       \
		CHECK_STR(got_, want);                                \
		free(got_);                                           \
	} while (0)

TEST(decode)
{
	uint32_t cp;
	CHECK_EQ_INT(textenc_decode((const unsigned char *)"A", 1, &cp), 1);
	CHECK_EQ_INT(cp, 'A');
	CHECK_EQ_INT(textenc_decode((const unsigned char *)"\xc3\xa9", 2, &cp), 2);
	CHECK_EQ_INT(cp, 0xE9);
	CHECK_EQ_INT(textenc_decode((const unsigned char *)"\xe6\x97\xa5", 3, &cp), 3);
	CHECK_EQ_INT(cp, 0x65E5);
	CHECK_EQ_INT(textenc_decode((const unsigned char *)"\xf0\x9f\x98\x80", 4, &cp), 4);
	CHECK_EQ_INT(cp, 0x1F600);
	/* surrogatepass: ED A0..BF xx is a surrogate */
	CHECK_EQ_INT(textenc_decode((const unsigned char *)"\xed\xb3\xbf", 3, &cp), 3);
	CHECK_EQ_INT(cp, 0xDCFF);
	/* ill-formed parts, as Python's "replace" cuts them */
	CHECK_EQ_INT(textenc_decode((const unsigned char *)"\xff", 1, &cp), 1);
	CHECK(cp == TEXTENC_INVALID);
	CHECK_EQ_INT(textenc_decode((const unsigned char *)"\xc0\x80", 2, &cp), 1); /* overlong */
	CHECK(cp == TEXTENC_INVALID);
	CHECK_EQ_INT(textenc_decode((const unsigned char *)"\xe0\x80\x80", 3, &cp), 1);
	CHECK(cp == TEXTENC_INVALID);
	CHECK_EQ_INT(textenc_decode((const unsigned char *)"\xf0\x9f\x98", 3, &cp), 3); /* truncated */
	CHECK(cp == TEXTENC_INVALID);
	CHECK_EQ_INT(textenc_decode((const unsigned char *)"\xe1\x80\x41", 3, &cp), 2);
	CHECK(cp == TEXTENC_INVALID);
	CHECK_EQ_INT(textenc_decode((const unsigned char *)"\xed\xa0\x41", 3, &cp), 1);
	CHECK(cp == TEXTENC_INVALID);
	CHECK_EQ_INT(textenc_decode((const unsigned char *)"\xf4\x90\x80\x80", 4, &cp), 1);
	CHECK(cp == TEXTENC_INVALID);
}

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
	CHECK_JSON("\xed\xa0\x80x\xed\xbf\xbf", true, "\"\\ud800x\\udfff\"");
	CHECK_JSON("f\xc3", true, "\"f\\ufffd\"");
	CHECK_JSON("\xff\xfe.py", true, "\"\\ufffd\\ufffd.py\"");
	CHECK_JSON("a\0b", true, "\"a\\u0000b\"");
}

TEST(json_utf8)
{
	CHECK_JSON("caf\xc3\xa9 \xf0\x9f\x98\x80\x7f", false, "\"caf\xc3\xa9 \xf0\x9f\x98\x80\x7f\"");
	CHECK_JSON("q\"\\\n\x01", false, "\"q\\\"\\\\\\n\\u0001\"");
	CHECK_JSON("\xed\xb3\xbf.py", false, "\"\\udcff.py\"");
	CHECK_JSON("\xff", false, "\"\xef\xbf\xbd\"");
}

TEST(utf8)
{
	struct buf b = BUF_INIT;
	const char in[] = "ok \xc3\xa9 \xed\xb3\xbf \xff \xf0\x9f\x98";
	textenc_utf8(&b, in, sizeof(in) - 1);
	CHECK_STR(b.data, "ok \xc3\xa9 \xef\xbf\xbd \xef\xbf\xbd \xef\xbf\xbd");
	buf_release(&b);
}

TEST(numbers)
{
	struct buf b = BUF_INIT;
	textenc_u64(&b, 0);
	buf_putc(&b, ' ');
	textenc_u64(&b, UINT64_MAX);
	buf_putc(&b, ' ');
	textenc_i64(&b, INT64_MIN);
	buf_putc(&b, ' ');
	textenc_i64(&b, -7);
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
		textenc_double(&b, cases[i].x);
		buf_putc(&b, 0);
		CHECK_STR(b.data, cases[i].want);
		buf_release(&b);
	}
	struct buf b = BUF_INIT;
	textenc_double(&b, NAN);
	buf_putc(&b, ' ');
	textenc_double(&b, INFINITY);
	buf_putc(&b, 0);
	CHECK_STR(b.data, "null null");
	buf_release(&b);
}

int main(void)
{
	RUN(decode);
	RUN(json_ascii);
	RUN(json_utf8);
	RUN(utf8);
	RUN(numbers);
	RUN(doubles);
	return harness_done();
}
