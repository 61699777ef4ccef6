/* made_up.h - made-up CPython objects in a test's own memory, laid out as a
 * version's struct py_layout says: what the BPF engine's tests hand the
 * program and the code cache instead of a real interpreter's. */
#ifndef STROBE_TEST_MADE_UP_H
#define STROBE_TEST_MADE_UP_H

#include <stdint.h>
#include <string.h>

#include "py/layout.h"

static inline void put_u64(unsigned char *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* A compact ASCII str object holding s at img + at. */
static inline void put_str(unsigned char *img, const struct py_layout *l, size_t at, const char *s)
{
	uint32_t st = (1u << l->u_kind_shift) | (1u << l->u_compact_shift) | (1u << l->u_ascii_shift);
	memcpy(img + at + l->u_state, &st, 4);
	put_u64(img + at + l->u_length, strlen(s));
	memcpy(img + at + l->u_ascii_data, s, strlen(s) + 1);
}

#endif
