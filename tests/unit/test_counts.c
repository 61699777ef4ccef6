/* test_counts.c - counts with 32-bit cells promoted on overflow
 * (src/base/counts.h). */
#include "harness.h"

#include "base/counts.h"

#include <stdint.h>

TEST(grow_zeroes)
{
	struct counts c;
	counts_init(&c);
	counts_resize(&c, 3);
	CHECK_EQ_INT(c.len, 3);
	for (size_t i = 0; i < 3; i++)
		CHECK_EQ_INT(counts_get(&c, i), 0);
	counts_add(&c, 2, 5);
	counts_resize(&c, 2); /* never shrinks */
	CHECK_EQ_INT(c.len, 3);
	counts_resize(&c, 1000);
	CHECK_EQ_INT(counts_get(&c, 2), 5);
	for (size_t i = 3; i < 1000; i++)
		CHECK_EQ_INT(counts_get(&c, i), 0);
	CHECK(c.c32 != NULL && c.c64 == NULL);
	counts_release(&c);
}

TEST(promote)
{
	struct counts c;
	counts_init(&c);
	counts_resize(&c, 4);
	counts_add(&c, 0, 7);
	counts_add(&c, 1, UINT32_MAX - 1);
	counts_add(&c, 1, 1); /* exactly UINT32_MAX: still 32-bit */
	CHECK(c.c32 != NULL);
	CHECK_EQ_INT(counts_get(&c, 1), UINT32_MAX);
	counts_add(&c, 1, 1);
	CHECK(c.c32 == NULL && c.c64 != NULL);
	CHECK(counts_get(&c, 1) == (uint64_t)UINT32_MAX + 1);
	CHECK_EQ_INT(counts_get(&c, 0), 7);
	CHECK_EQ_INT(counts_get(&c, 3), 0);
	/* growing after the promotion keeps 64-bit cells, zeroed */
	counts_resize(&c, 100);
	CHECK_EQ_INT(counts_get(&c, 99), 0);
	counts_add(&c, 99, 3);
	CHECK_EQ_INT(counts_get(&c, 99), 3);
	counts_release(&c);

	/* a weight too large for any 32-bit cell */
	counts_init(&c);
	counts_resize(&c, 2);
	counts_add(&c, 1, (uint64_t)1 << 40);
	CHECK(counts_get(&c, 1) == (uint64_t)1 << 40);
	CHECK_EQ_INT(counts_get(&c, 0), 0);
	counts_release(&c);
}

int main(void)
{
	RUN(grow_zeroes);
	RUN(promote);
	return harness_done();
}
