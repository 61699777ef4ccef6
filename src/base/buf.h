/* buf.h - growable byte buffer, always NUL-terminated when non-empty.
 *
 * Allocation failure is fatal (BUG-free: it calls abort via xrealloc), since
 * every buffer strobe grows is bounded by input it already clamped. */
#ifndef STROBE_BASE_BUF_H
#define STROBE_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;   /* owned; NULL until the first append */
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_putc(struct buf *b, char c);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
void buf_reset(struct buf *b);   /* len = 0, keep memory */
void buf_release(struct buf *b); /* free memory */

/* Allocation helpers that abort with a message on failure. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Grow *p (an array of elsize-byte elements with capacity *cap) to hold at
 * least need elements; capacity doubles. */
void vec_grow(void **p, size_t *cap, size_t need, size_t elsize);
/* (the reserves are inline: they sit in per-sample and per-frame paths,
 * where the array is nearly always big enough already) */
static inline void vec_reserve(void **p, size_t *cap, size_t need, size_t elsize)
{
	if (need > *cap)
		vec_grow(p, cap, need, elsize);
}
#define VEC_RESERVE(ptr, cap, need) \
	vec_reserve((void **)&(ptr), &(cap), (need), sizeof(*(ptr)))
/* The same, the new elements zeroed: for arrays indexed by an id, where 0
 * means "nothing yet". */
void vec_grow_zero(void **p, size_t *cap, size_t need, size_t elsize);
static inline void vec_reserve_zero(void **p, size_t *cap, size_t need, size_t elsize)
{
	if (need > *cap)
		vec_grow_zero(p, cap, need, elsize);
}
#define VEC_RESERVE_ZERO(ptr, cap, need) \
	vec_reserve_zero((void **)&(ptr), &(cap), (need), sizeof(*(ptr)))

#endif
