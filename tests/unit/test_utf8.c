/* test_utf8.c - the shared UTF-8 decoder (and the counting and cutting on
 * it), sanitizer and terminal escaper.
 *
 * The decoder is checked against a reference written from the definition
 * (RFC 3629 / Unicode 3.9, table 3-7) in the plainest way: a sequence is
 * valid when its bits make a code point that needs exactly that many bytes,
 * is no surrogate and is at most U+10FFFF; a malformed part is the longest
 * prefix that some valid sequence starts with (at least one byte).  Every
 * 1- and 2-byte input, every 3-byte input and every 4-byte input with lead
 * F0-F7 and second byte of any value are compared. */
#include "harness.h"

#include "base/buf.h"
#include "base/utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- the reference -------------------------------------------------- */

/* Length a lead byte announces (0: no lead byte). */
static size_t ref_len(unsigned c)
{
	if (c < 0x80)
		return 1;
	if ((c & 0xE0) == 0xC0)
		return 2;
	if ((c & 0xF0) == 0xE0)
		return 3;
	if ((c & 0xF8) == 0xF0)
		return 4;
	return 0;
}

/* Whether s[0..len) (len = ref_len(s[0])) is a valid sequence; its value. */
static bool ref_whole(const unsigned char *s, size_t len, uint32_t *v)
{
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	uint32_t x = len == 1 ? s[0] : len == 2 ? s[0] & 0x1Fu : len == 3 ? s[0] & 0x0Fu : s[0] & 0x07u;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return false;
		x = x << 6 | (s[i] & 0x3Fu);
	}
	*v = x;
	return x >= min[len] && x <= 0x10FFFF && !(x >= 0xD800 && x <= 0xDFFF);
}

/* Whether s[0..k) starts some valid sequence: tried with every completion
 * by the lowest and highest continuation bytes, which is enough since the
 * limits are on the value only. */
static bool ref_prefix(const unsigned char *s, size_t k)
{
	size_t len = ref_len(s[0]);
	if (!len || k > len)
		return false;
	unsigned char t[4];
	memcpy(t, s, k);
	for (unsigned mask = 0; mask < 1u << (len - k); mask++) {
		for (size_t i = k; i < len; i++)
			t[i] = mask >> (i - k) & 1 ? 0xBF : 0x80;
		uint32_t v;
		if (ref_whole(t, len, &v))
			return true;
	}
	return false;
}

/* The reference decode: consumed bytes and *cp. */
static size_t ref_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len = ref_len(s[0]);
	uint32_t v;
	if (len && len <= n && ref_whole(s, len, &v)) {
		*cp = v;
		return len;
	}
	*cp = UTF8_INVALID;
	size_t k = len && len - 1 < n ? len - 1 : n;
	for (; k > 1; k--)
		if (ref_prefix(s, k))
			return k;
	return 1;
}

static int mismatches;

static void compare(const unsigned char *s, size_t n)
{
	uint32_t a, b;
	size_t ka = utf8_decode(s, n, &a), kb = ref_decode(s, n, &b);
	if (ka != kb || a != b) {
		if (mismatches++ < 10)
			fprintf(stderr, "  %02x %02x %02x %02x (n=%zu): got %zu/%x, want %zu/%x\n",
				s[0], n > 1 ? s[1] : 0, n > 2 ? s[2] : 0, n > 3 ? s[3] : 0, n, ka,
				(unsigned)a, kb, (unsigned)b);
	}
}

TEST(decode_vs_reference)
{
	unsigned char s[4];
	mismatches = 0;
	for (unsigned a = 0; a < 256; a++) {
		s[0] = (unsigned char)a;
		compare(s, 1);
		for (unsigned b = 0; b < 256; b++) {
			s[1] = (unsigned char)b;
			compare(s, 2);
			if (a < 0xE0)
				continue;
			for (unsigned c = 0; c < 256; c++) {
				s[2] = (unsigned char)c;
				compare(s, 3);
				if (a < 0xF0 || a > 0xF7)
					continue;
				/* the fourth byte: both ends of the continuation
				 * range and both sides of it */
				static const unsigned char last[] = { 0x00, 0x41, 0x7F, 0x80, 0xA5,
								      0xBF, 0xC0, 0xFF };
				for (size_t d = 0; d < sizeof(last); d++) {
					s[3] = last[d];
					compare(s, 4);
				}
			}
		}
	}
	CHECK_EQ_INT(mismatches, 0);
}

TEST(every_code_point)
{
	/* each code point encodes and decodes back; surrogates and values
	 * past U+10FFFF encode as U+FFFD */
	int bad = 0;
	for (uint32_t cp = 0; cp <= 0x110000; cp++) {
		char e[4];
		size_t n = utf8_encode(cp, e);
		uint32_t back;
		size_t k = utf8_decode((const unsigned char *)e, n, &back);
		bool rep = (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF;
		size_t want = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 || rep ? 3 : 4;
		if (k != n || n != want || back != (rep ? 0xFFFDu : cp))
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
}

TEST(decode_examples)
{
	uint32_t cp;
#define DEC(lit, want_k, want_cp)                                                      \
	do {                                                                               \
		CHECK_EQ_INT(utf8_decode((const unsigned char *)lit, sizeof(lit) - 1, &cp), \
			     want_k);                                                      \
		CHECK_EQ_INT(cp, want_cp);                                                 \
	} while (0)
	DEC("A", 1, 'A');
	DEC("\xc3\xa9", 2, 0xE9);
	DEC("\xe6\x97\xa5", 3, 0x65E5);
	DEC("\xf0\x9f\x98\x80", 4, 0x1F600);
	DEC("\xf4\x8f\xbf\xbf", 4, 0x10FFFF);
	DEC("\xc0\x80", 1, UTF8_INVALID);             /* overlong NUL */
	DEC("\xc1\xbf", 1, UTF8_INVALID);             /* overlong */
	DEC("\xe0\x80\x80", 1, UTF8_INVALID);         /* overlong */
	DEC("\xf0\x8f\xbf\xbf", 1, UTF8_INVALID);     /* overlong */
	DEC("\xed\xa0\x80", 1, UTF8_INVALID);         /* U+D800 */
	DEC("\xed\xbf\xbf", 1, UTF8_INVALID);         /* U+DFFF */
	DEC("\xf4\x90\x80\x80", 1, UTF8_INVALID);     /* U+110000 */
	DEC("\xf5\x80\x80\x80", 1, UTF8_INVALID);
	DEC("\xff", 1, UTF8_INVALID);
	DEC("\x80", 1, UTF8_INVALID);                 /* lone continuation */
	DEC("\xf0\x9f\x98", 3, UTF8_INVALID);         /* truncated */
	DEC("\xe1\x80\x41", 2, UTF8_INVALID);         /* cut by ASCII */
#undef DEC
}

static char *sanitized(const char *s, size_t n, size_t *bad)
{
	struct buf b = BUF_INIT;
	*bad = utf8_sanitize(&b, s, n);
	buf_putc(&b, '\0');
	return b.data;
}

/* The expectations are Python's bytes.decode("utf-8", "replace") of the
 * same bytes, encoded again. */
#define SAN(lit, want, want_bad)                                          \
	do {                                                                  \
		size_t bad_;                                                      \
		char *got_ = sanitized(lit, sizeof(lit) - 1, &bad_);              \
		CHECK_STR(got_, want);                                            \
		CHECK_EQ_INT(bad_, want_bad);                                     \
		CHECK(utf8_valid(got_, strlen(got_)));                            \
		free(got_);                                                       \
	} while (0)
#define FFFD "\xef\xbf\xbd"

TEST(sanitize)
{
	SAN("plain.py", "plain.py", 0);
	SAN("caf\xc3\xa9 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xf0\x9f\x98\x80", 0);
	SAN("a\xed\xa0\x80z", "a" FFFD FFFD FFFD "z", 3);  /* surrogatepass'd U+D800 */
	SAN("\xc0\xaf", FFFD FFFD, 2);
	SAN("x\xe2\x82", "x" FFFD, 1);
	SAN("\xe2\x82\xe2\x82\xac", FFFD "\xe2\x82\xac", 1);
	SAN("\xf4\x90\x80\x80!", FFFD FFFD FFFD FFFD "!", 4);
	SAN("\xff\xfe", FFFD FFFD, 2);
	SAN("ok\x1b[2J", "ok\x1b[2J", 0); /* controls are valid UTF-8: kept */
	CHECK(utf8_valid("", 0));
	CHECK(!utf8_valid("\xed\xb2\x80", 3));
	CHECK(utf8_valid("\xe2\x82\xac", 3));
	CHECK(!utf8_valid("\xe2\x82", 2));
}

/* Count, offset and cut against a plain forward walk with utf8_decode,
 * over every string of up to 3 bytes drawn from bytes that make every kind
 * of part (ASCII, leads of each length, continuations, invalid leads). */
TEST(count_offset_cut)
{
	static const unsigned char pick[] = { 0x41, 0x80, 0x9F, 0xA0, 0xBF, 0xC2, 0xC0,
					      0xE0, 0xE2, 0xED, 0xF0, 0xF4, 0xF5, 0xFF };
	const size_t np = sizeof(pick);
	int bad = 0;
	for (size_t len = 0; len <= 3; len++) {
		size_t total = 1;
		for (size_t i = 0; i < len; i++)
			total *= np;
		for (size_t idx = 0; idx < total; idx++) {
			unsigned char s[3];
			size_t x = idx;
			for (size_t i = 0; i < len; i++, x /= np)
				s[i] = pick[x % np];
			/* the parts' ends by forward decoding */
			size_t ends[4], nparts = 0, i = 0;
			uint32_t cp;
			while (i < len) {
				i += utf8_decode(s + i, len - i, &cp);
				ends[nparts++] = i;
			}
			const char *c = (const char *)s;
			if (utf8_count(c, len) != nparts)
				bad++;
			for (size_t k = 0; k <= nparts + 1; k++)
				if (utf8_offset(c, len, k) != (k == 0 ? 0 : k <= nparts ? ends[k - 1] : len))
					bad++;
			for (size_t max = 0; max <= len + 1; max++) {
				size_t want = 0;
				for (size_t p = 0; p < nparts; p++)
					if (ends[p] <= max)
						want = ends[p];
				if (utf8_cut(c, len, max) != (max >= len ? len : want))
					bad++;
			}
			/* the last part: the forward decode's last part when
			 * that is a code point, else the last byte alone */
			if (len) {
				size_t start = nparts > 1 ? ends[nparts - 2] : 0;
				uint32_t want_cp, got_cp;
				utf8_decode(s + start, len - start, &want_cp);
				size_t want_k = want_cp == UTF8_INVALID ? 1 : len - start;
				if (utf8_decode_last(s, len, &got_cp) != want_k || got_cp != want_cp)
					bad++;
			}
		}
	}
	CHECK_EQ_INT(bad, 0);
	uint32_t cp;
	CHECK_EQ_INT(utf8_count("caf\xc3\xa9 \xf0\x9f\x98\x80", 10), 6);
	CHECK_EQ_INT(utf8_offset("\xce\xbcs", 3, 1), 2);
	CHECK_EQ_INT(utf8_cut("ab\xe2\x82\xac", 5, 4), 2);
	CHECK_EQ_INT(utf8_decode_last((const unsigned char *)"x\xf0\x9f\x98\x80", 5, &cp), 4);
	CHECK_EQ_INT(cp, 0x1F600);
	CHECK_EQ_INT(utf8_decode_last((const unsigned char *)"\xe2\x80\xa8", 3, &cp), 3);
	CHECK_EQ_INT(cp, 0x2028);
	CHECK_EQ_INT(utf8_decode_last((const unsigned char *)"\xe2\x82\xac\x82", 4, &cp), 1);
	CHECK_EQ_INT(cp, UTF8_INVALID);
}

static char *escaped(const char *s, size_t n, unsigned flags)
{
	struct buf b = BUF_INIT;
	utf8_term_escape(&b, s, n, flags);
	buf_putc(&b, '\0');
	return b.data;
}

#define ESC(lit, flags, want)                                                      \
	do {                                                                           \
		char *got_ = escaped(lit, sizeof(lit) - 1, flags);                         \
		CHECK_STR(got_, want);                                                     \
		CHECK(utf8_term_plain(lit, sizeof(lit) - 1, flags) == !strcmp(lit, want)); \
		free(got_);                                                                \
	} while (0)

TEST(term_escape)
{
	ESC("main", 0, "main");
	ESC("caf\xc3\xa9.\xce\xbb \xf0\x9f\x98\x80", 0, "caf\xc3\xa9.\xce\xbb \xf0\x9f\x98\x80");
	ESC("\x1b]0;pwned\x07", 0, "\\x1b]0;pwned\\x07");
	ESC("\x1b[2J", 0, "\\x1b[2J");
	ESC("a\nb\rc\td", 0, "a\\nb\\rc\\td");
	ESC("a\tb", UTF8_TERM_KEEP_TAB, "a\tb");
	ESC("print(\"a\\n\tb\x1b\")", UTF8_TERM_KEEP_TAB | UTF8_TERM_KEEP_BACKSLASH,
	    "print(\"a\\n\tb\\x1b\")");
	ESC("back\\slash", 0, "back\\\\slash");
	ESC("\\x1b", 0, "\\\\x1b"); /* a name that looks like an escape stays apart */
	ESC("del\x7f", 0, "del\\x7f");
	ESC("\xc2\x9b" "31m\xc2\x85\xc2\x9f\xc2\xa0", 0, "\\x9b31m\\x85\\x9f\xc2\xa0"); /* C1; NBSP kept */
	ESC("\xed\xa0\x80\xff", 0, FFFD FFFD FFFD FFFD);
	/* a NUL inside */
	char *got = escaped("a\0b", 3, 0);
	CHECK_STR(got, "a\\x00b");
	free(got);
	CHECK(!utf8_term_plain("a\0b", 3, 0));
	/* nothing below 0x20, no DEL, no C1 in any escaped byte string */
	int bad = 0;
	for (unsigned a = 0; a < 256; a++)
		for (unsigned b2 = 0; b2 < 256; b2++) {
			char in[2] = { (char)a, (char)b2 };
			struct buf o = BUF_INIT;
			utf8_term_escape(&o, in, 2, 0);
			const unsigned char *u = (const unsigned char *)o.data;
			for (size_t i = 0; i < o.len; i++)
				if (u[i] < 0x20 || u[i] == 0x7f ||
				    (u[i] == 0xc2 && i + 1 < o.len && u[i + 1] >= 0x80 && u[i + 1] <= 0x9f))
					bad++;
			if (!utf8_valid(o.data, o.len))
				bad++;
			buf_release(&o);
		}
	CHECK_EQ_INT(bad, 0);
}

int main(void)
{
	RUN(decode_vs_reference);
	RUN(every_code_point);
	RUN(decode_examples);
	RUN(sanitize);
	RUN(count_offset_cut);
	RUN(term_escape);
	return harness_done();
}
