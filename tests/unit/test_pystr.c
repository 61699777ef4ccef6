/* test_pystr.c - a target's str data to the profile's UTF-8: whatever
 * the target put in its str (lone surrogates, values no str may hold), the
 * result is valid UTF-8. */
#include "harness.h"

#include "base/buf.h"
#include "base/error.h"
#include "base/utf8.h"
#include "py/pystr.h"

#include <stdlib.h>
#include <string.h>

#define FFFD "\xef\xbf\xbd"

static char *decode(const void *data, size_t nchars, unsigned kind, bool ascii, int *rc)
{
	struct buf b = BUF_INIT;
	*rc = pystr_decode(&b, data, nchars, kind, ascii);
	buf_putc(&b, '\0');
	CHECK(utf8_valid(b.data, b.len - 1));
	return b.data;
}

#define DECODE(want, want_rc, data, nchars, kind, ascii)           \
	do {                                                           \
		int rc_;                                                   \
		char *got_ = decode(data, nchars, kind, ascii, &rc_);      \
		CHECK_EQ_INT(rc_, want_rc);                                \
		CHECK_STR(got_, want);                                     \
		free(got_);                                                \
	} while (0)

TEST(ascii)
{
	DECODE("main", 0, "main", 4, 1, true);
	/* controls are characters: kept here, escaped where they are shown */
	DECODE("a;b\n\x1b]0;x\x07", 0, "a;b\n\x1b]0;x\x07", 10, 1, true);
	/* no ASCII str holds a byte above 0x7F */
	DECODE("", ERR_CORRUPT, "ab\x80", 3, 1, true);
}

TEST(latin1)
{
	const unsigned char s[] = { 'c', 'a', 'f', 0xe9, 0x85, 0xff };
	DECODE("caf\xc3\xa9\xc2\x85\xc3\xbf", 0, s, 6, 1, false);
}

TEST(ucs2)
{
	/* "f\u65e5", then lone surrogates: high, low, and a "pair" (a kind-2
	 * str holds no pairs: two lone surrogates, two U+FFFD) */
	const uint16_t s[] = { 'f', 0x65e5, 0xd800, 'x', 0xdfff, 0xd83d, 0xde00, 0xfffd };
	DECODE("f\xe6\x97\xa5" FFFD "x" FFFD FFFD FFFD FFFD, 0, s, 8, 2, false);
}

TEST(ucs4)
{
	const uint32_t s[] = { 0x1f600, 0xdc80, 0x10ffff, 0x110000, 0xffffffff, 'z' };
	DECODE("\xf0\x9f\x98\x80" FFFD "\xf4\x8f\xbf\xbf" FFFD FFFD "z", 0, s, 6, 4, false);
}

int main(void)
{
	RUN(ascii);
	RUN(latin1);
	RUN(ucs2);
	RUN(ucs4);
	return harness_done();
}
