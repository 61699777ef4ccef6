/* test_pytext.c - Python's str operations strobe reproduces.
 *
 * The expectations are what CPython 3.13 prints for the str that
 * bytes.decode("utf-8", "surrogateescape") makes of the same bytes:
 * repr(s), s.rstrip(), os.path.basename(s), str.isprintable/isspace. */
#include "harness.h"

#include "base/buf.h"
#include "base/pytext.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static char *repr(const char *s, size_t n)
{
	struct buf b = BUF_INIT;
	pytext_repr(&b, s, n);
	buf_putc(&b, '\0');
	return b.data;
}

#define CHECK_REPR(lit, want)                          \
	do {                                               \
		char *got_ = repr(lit, sizeof(lit) - 1);       \
		CHECK_STR(got_, want);                         \
		free(got_);                                    \
	} while (0)

TEST(repr)
{
	CHECK_REPR("", "''");
	CHECK_REPR("main", "'main'");
	CHECK_REPR("it's", "\"it's\"");
	CHECK_REPR("a'b\"c", "'a\\'b\"c'");
	CHECK_REPR("say \"x\"", "'say \"x\"'");
	CHECK_REPR("a\\b", "'a\\\\b'");
	CHECK_REPR("\t\n\r\x01\x1b\x7f", "'\\t\\n\\r\\x01\\x1b\\x7f'");
	CHECK_REPR("a\0b", "'a\\x00b'");
	CHECK_REPR("caf\xc3\xa9 \xf0\x9f\x98\x80", "'caf\xc3\xa9 \xf0\x9f\x98\x80'");
	CHECK_REPR("\xc2\x85\xc2\x9b\xc2\xa0\xc2\xad", "'\\x85\\x9b\\xa0\\xad'");
	CHECK_REPR("\xe2\x80\x8b\xe2\x80\xa8\xef\xbb\xbf", "'\\u200b\\u2028\\ufeff'");
	CHECK_REPR("\xef\xbf\xbe\xf3\xa0\x80\x81\xf4\x8f\xbf\xbd", "'\\ufffe\\U000e0001\\U0010fffd'");
	/* undecodable bytes: one lone surrogate each, as surrogateescape */
	CHECK_REPR("\xff", "'\\udcff'");
	CHECK_REPR("a\xe2\x82z", "'a\\udce2\\udc82z'");
	CHECK_REPR("\xed\xa0\x80", "'\\udced\\udca0\\udc80'");
}

TEST(classes)
{
	CHECK(pytext_isprintable(' '));
	CHECK(pytext_isprintable('~'));
	CHECK(!pytext_isprintable(0x1f));
	CHECK(!pytext_isprintable(0x7f));
	CHECK(!pytext_isprintable(0x9f));
	CHECK(pytext_isprintable(0xe9));
	CHECK(pytext_isprintable(0x1f600));
	CHECK(!pytext_isprintable(0xfffe));
	CHECK(!pytext_isprintable(0x1ffff));
	CHECK(!pytext_isprintable(0xe000));  /* private use */
	CHECK(!pytext_isprintable(0xdc80));  /* surrogate */
	static const uint32_t space[] = { 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1f, 0x20, 0x85,
					  0xa0, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f,
					  0x205f, 0x3000 };
	for (size_t i = 0; i < sizeof(space) / sizeof(space[0]); i++)
		CHECK(pytext_isspace(space[i]));
	static const uint32_t not_space[] = { 0x00, 0x08, 0x0e, 0x1b, 'a', 0x7f, 0x84, 0x180e,
					      0x200b, 0x2060, 0xfeff, 0xfffd };
	for (size_t i = 0; i < sizeof(not_space) / sizeof(not_space[0]); i++)
		CHECK(!pytext_isspace(not_space[i]));
}

TEST(rstrip)
{
#define RSTRIP(lit) pytext_rstrip(lit, sizeof(lit) - 1)
	CHECK_EQ_INT(RSTRIP(""), 0);
	CHECK_EQ_INT(RSTRIP("x = 1"), 5);
	CHECK_EQ_INT(RSTRIP("x \t\x0b\x0c\r\n\x1c"), 1);
	CHECK_EQ_INT(RSTRIP("x\xe3\x80\x80\xc2\xa0\xc2\x85\xe2\x80\xa9"), 1);
	CHECK_EQ_INT(RSTRIP(" \xe2\x80\x82 "), 0);
	CHECK_EQ_INT(RSTRIP("x\xe2\x80\x8b"), 4);          /* U+200B is no space */
	CHECK_EQ_INT(RSTRIP("\xf0\x9f\x98\x80 "), 4);
	CHECK_EQ_INT(RSTRIP("x\xa0 "), 2);                 /* a stray A0 byte is no space */
#undef RSTRIP
}

TEST(basename)
{
	size_t n;
	const char *s = "/usr/lib/python3.13/os.py";
	CHECK_STR(pytext_basename(s, strlen(s), &n), "os.py");
	CHECK_EQ_INT(n, 5);
	s = "os.py";
	CHECK(pytext_basename(s, 5, &n) == s && n == 5);
	s = "/a/";
	CHECK(pytext_basename(s, 3, &n) == s + 3 && n == 0);
	s = "/a/b";
	CHECK(pytext_basename(s, 2, &n) == s + 1 && n == 1); /* only n bytes are read */
	CHECK(pytext_basename("", 0, &n) != NULL && n == 0);
}

static void check_float(double v, const char *want)
{
	struct buf b = BUF_INIT;
	pytext_float_repr(&b, v);
	buf_putc(&b, '\0');
	CHECK_STR(b.data, want);
	buf_release(&b);
}

/* repr(float) as CPython 3.13 prints it */
TEST(float_repr)
{
	check_float(0.0, "0.0");
	check_float(-0.0, "-0.0");
	check_float(1.0, "1.0");
	check_float(0.1, "0.1");
	check_float(2.5, "2.5");
	check_float(-1.25, "-1.25");
	check_float(3.141592653589793, "3.141592653589793");
	check_float(123.0, "123.0");
	check_float(1e16, "1e+16");
	check_float(1234567890123456.0, "1234567890123456.0");
	check_float(1e22, "1e+22");
	check_float(1.5e300, "1.5e+300");
	check_float(0.0001, "0.0001");
	check_float(0.00001, "1e-05");
	check_float(1.2345e-7, "1.2345e-07");
	check_float(5e-324, "5e-324");
	check_float(1.7976931348623157e308, "1.7976931348623157e+308");
	check_float(1.0 / 3, "0.3333333333333333");
	check_float(123456789012345678.0, "1.2345678901234568e+17");
	check_float(HUGE_VAL, "inf");
	check_float(-HUGE_VAL, "-inf");
	check_float(NAN, "nan");
}

static void check_bytes(const char *p, size_t n, const char *want)
{
	struct buf b = BUF_INIT;
	pytext_bytes_repr(&b, (const unsigned char *)p, n);
	buf_putc(&b, '\0');
	CHECK_STR(b.data, want);
	buf_release(&b);
}

TEST(bytes_repr)
{
	check_bytes("", 0, "b''");
	check_bytes("abc", 3, "b'abc'");
	check_bytes("\0a\xff\x7f\t\n\r\\", 8, "b'\\x00a\\xff\\x7f\\t\\n\\r\\\\'");
	check_bytes("it's", 4, "b\"it's\"");
	check_bytes("a'b\"", 4, "b'a\\'b\"'");
}

static void check_int(const uint32_t *d, size_t n, bool neg, size_t max, const char *want)
{
	struct buf b = BUF_INIT;
	pytext_int_repr(&b, d, n, 30, neg, max);
	buf_putc(&b, '\0');
	CHECK_STR(b.data, want);
	buf_release(&b);
}

TEST(int_repr)
{
	check_int(NULL, 0, false, 40, "0");
	uint32_t one[] = { 42 };
	check_int(one, 1, false, 40, "42");
	check_int(one, 1, true, 40, "-42");
	/* 2**30 */
	uint32_t two30[] = { 0, 1 };
	check_int(two30, 2, false, 40, "1073741824");
	/* -12345678901234567890123456789 = digits of 30 bits */
	uint32_t big[] = { 0x11f4bd15u & 0x3fffffff, 0, 0, 0 };
	{
		/* build from the value by hand: 12345678901234567890123456789 */
		unsigned __int128 v = (unsigned __int128)1234567890123456789ull * 10000000000ull + 123456789ull;
		for (int i = 0; i < 4; i++) {
			big[i] = (uint32_t)(v & 0x3fffffff);
			v >>= 30;
		}
	}
	check_int(big, 4, true, 40, "-12345678901234567890123456789");
	check_int(big, 4, true, 20, "<int of 29 digits>");
	uint32_t many[PYTEXT_INT_MAX_DIGITS + 1] = { 0 };
	many[PYTEXT_INT_MAX_DIGITS] = 1;
	check_int(many, PYTEXT_INT_MAX_DIGITS + 1, false, 40, "<int of about 362 digits>");
	/* 2**1199: 361 digits, converted */
	uint32_t top[PYTEXT_INT_MAX_DIGITS] = { 0 };
	top[PYTEXT_INT_MAX_DIGITS - 1] = 1u << 29;
	check_int(top, PYTEXT_INT_MAX_DIGITS, false, 40, "<int of 361 digits>");
}

int main(void)
{
	RUN(repr);
	RUN(classes);
	RUN(rstrip);
	RUN(basename);
	RUN(float_repr);
	RUN(bytes_repr);
	RUN(int_repr);
	return harness_done();
}
