/* test_error.c - errmsg_set: details quoted from the target come out safe
 * for a terminal, and a long message is cut at a character's start. */
#include "harness.h"

#include "base/error.h"
#include "base/utf8.h"

#include <string.h>

TEST(errmsg_escapes)
{
	struct errmsg e;
	errmsg_set(&e, "Python 3.%d at %s is odd", 12, "/lib/\x1b]0;pwned\x07lib\npython.so");
	CHECK_STR(e.text, "Python 3.12 at /lib/\\x1b]0;pwned\\x07lib\\npython.so is odd");
	errmsg_set(&e, "plain %s", "caf\xc3\xa9");
	CHECK_STR(e.text, "plain caf\xc3\xa9");
	errmsg_set(NULL, "nothing %d", 1);
}

TEST(errmsg_cut)
{
	struct errmsg e;
	char name[2000];
	/* "é" is two bytes: whichever byte the limit falls on, the text
	 * stays valid UTF-8 */
	for (size_t pad = 0; pad < 2; pad++) {
		memset(name, 'a', pad);
		size_t k = pad;
		while (k + 2 < sizeof(name) - 1) {
			name[k++] = '\xc3';
			name[k++] = '\xa9';
		}
		name[k] = '\0';
		errmsg_set(&e, "%s", name);
		size_t n = strlen(e.text);
		CHECK(n < sizeof(e.text) && n >= sizeof(e.text) - 3);
		CHECK(utf8_valid(e.text, n));
	}
}

int main(void)
{
	RUN(errmsg_escapes);
	RUN(errmsg_cut);
	return harness_done();
}
