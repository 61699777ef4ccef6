#include "base/counts.h"

#include "base/buf.h"

#include <stdlib.h>
#include <string.h>

void counts_init(struct counts *c)
{
	memset(c, 0, sizeof(*c));
}

void counts_release(struct counts *c)
{
	free(c->c32);
	free(c->c64);
	memset(c, 0, sizeof(*c));
}

void counts_resize(struct counts *c, size_t n)
{
	if (n <= c->len)
		return;
	if (c->c64) {
		VEC_RESERVE(c->c64, c->cap, n);
		memset(c->c64 + c->len, 0, (n - c->len) * sizeof(*c->c64));
	} else {
		VEC_RESERVE(c->c32, c->cap, n);
		memset(c->c32 + c->len, 0, (n - c->len) * sizeof(*c->c32));
	}
	c->len = n;
}

void counts_add_wide(struct counts *c, size_t i, uint64_t w)
{
	if (c->c32) {
		/* the first count past 32 bits: every cell moves */
		c->c64 = xmalloc((c->cap ? c->cap : 1) * sizeof(*c->c64));
		for (size_t k = 0; k < c->len; k++)
			c->c64[k] = c->c32[k];
		free(c->c32);
		c->c32 = NULL;
	}
	c->c64[i] += w;
}
