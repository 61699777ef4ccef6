/* counts.h - a growable array of sample counts, indexed by a dense id.
 *
 * Cells are 32-bit while every count fits and all become 64-bit the first
 * time one would not (2^32 thread stacks is hours of a busy process), so a
 * table of a million counts costs 4 MB, not 8, without a limit.  Growing
 * zeroes only the cells asked for: the rest of a large block is never
 * touched, so it stays out of memory. */
#ifndef STROBE_BASE_COUNTS_H
#define STROBE_BASE_COUNTS_H

#include <stddef.h>
#include <stdint.h>

struct counts {
	uint32_t *c32;   /* the cells until promoted, then NULL */
	uint64_t *c64;   /* the cells once promoted */
	size_t len, cap; /* [0, len) are counts */
};

void counts_init(struct counts *c);
void counts_release(struct counts *c);
/* At least n cells; the new ones are 0. */
void counts_resize(struct counts *c, size_t n);
/* counts_add() when the cell may not stay 32-bit. */
void counts_add_wide(struct counts *c, size_t i, uint64_t w);

/* Add w to cell i (< len). */
static inline void counts_add(struct counts *c, size_t i, uint64_t w)
{
	if (c->c32 && w <= UINT32_MAX - c->c32[i])
		c->c32[i] += (uint32_t)w;
	else
		counts_add_wide(c, i, w);
}

static inline uint64_t counts_get(const struct counts *c, size_t i)
{
	return c->c32 ? c->c32[i] : c->c64[i];
}

#endif
