/* test_template.c - {{NAME}} markers filled in. */
#include "harness.h"

#include "base/buf.h"
#include "format/template.h"

#include <stdlib.h>
#include <string.h>

static const struct tpl_slot slots[] = {
	{ "A", "alpha", 5 },
	{ "EMPTY", NULL, 0 },
	{ "B", "b}}{{A}}", 8 }, /* a slot's text is not filled again */
};

static char *fill(const char *tpl)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, "|");
	tpl_fill_buf(&b, tpl, slots, sizeof(slots) / sizeof(slots[0]));
	buf_putc(&b, '\0');
	return b.data;
}

#define CHECK_FILL(tpl, want)          \
	do {                               \
		char *got_ = fill(tpl);        \
		CHECK_STR(got_, want);         \
		free(got_);                    \
	} while (0)

static int calls;

static bool fail_second(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	(void)s;
	(void)n;
	return ++calls < 2;
}

TEST(fill)
{
	CHECK_FILL("", "|");
	CHECK_FILL("no markers", "|no markers");
	CHECK_FILL("{{A}}", "|alpha");
	CHECK_FILL("x{{A}}y{{A}}z", "|xalphayalphaz");
	CHECK_FILL("[{{EMPTY}}]", "|[]");
	CHECK_FILL("{{B}}", "|b}}{{A}}");
	/* unknown, unclosed and nested markers stay */
	CHECK_FILL("{{C}} {{A", "|{{C}} {{A");
	CHECK_FILL("{{{{A}}}}", "|{{alpha}}");
	CHECK_FILL("{{}}", "|{{}}");
	CHECK_FILL("a{", "|a{");
}

TEST(put_failure)
{
	calls = 0;
	CHECK(!tpl_fill("x{{A}}y{{A}}z", slots, 3, fail_second, NULL));
	CHECK_EQ_INT(calls, 2);
	calls = 0;
	CHECK(tpl_fill("x", slots, 3, fail_second, NULL));
}

int main(void)
{
	RUN(fill);
	RUN(put_failure);
	return harness_done();
}
