/* template.h - the HTML pages' templates (embedded, format/embed.h) filled in:
 * every {{NAME}} marker of a slot's name is replaced by the slot's text; an
 * unknown marker stays as it is. */
#ifndef STROBE_FORMAT_TEMPLATE_H
#define STROBE_FORMAT_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

struct buf;

struct tpl_slot {
	const char *name;
	const char *s;  /* NULL: empty */
	size_t n;
};

/* Where the filled page goes: false stops the filling (a write failed). */
typedef bool (*tpl_put_fn)(void *ctx, const char *s, size_t n);

/* Fill tpl (NUL-terminated) into put; false if a put failed. */
bool tpl_fill(const char *tpl, const struct tpl_slot *slots, size_t nslots, tpl_put_fn put,
	      void *ctx);

/* Fill tpl into out (appended). */
void tpl_fill_buf(struct buf *out, const char *tpl, const struct tpl_slot *slots, size_t nslots);

#endif
