/* template.c - templates filled in; see template.h. */
#include "format/template.h"

#include "base/buf.h"

#include <string.h>

bool tpl_fill(const char *tpl, const struct tpl_slot *slots, size_t nslots, tpl_put_fn put,
	      void *ctx)
{
	const char *s = tpl;
	bool ok = true;
	while (ok && *s) {
		const char *m = strstr(s, "{{");
		if (!m)
			return put(ctx, s, strlen(s));
		if (m > s)
			ok = put(ctx, s, (size_t)(m - s));
		const char *e = strstr(m + 2, "}}");
		const struct tpl_slot *slot = NULL;
		for (size_t i = 0; e && i < nslots && !slot; i++) {
			size_t len = strlen(slots[i].name);
			if ((size_t)(e - m - 2) == len && memcmp(m + 2, slots[i].name, len) == 0)
				slot = &slots[i];
		}
		if (slot) {
			if (ok && slot->s && slot->n)
				ok = put(ctx, slot->s, slot->n);
			s = e + 2;
		} else {
			ok = ok && put(ctx, m, 2);
			s = m + 2;
		}
	}
	return ok;
}

static bool put_buf(void *ctx, const char *s, size_t n)
{
	buf_append(ctx, s, n);
	return true;
}

void tpl_fill_buf(struct buf *out, const char *tpl, const struct tpl_slot *slots, size_t nslots)
{
	tpl_fill(tpl, slots, nslots, put_buf, out);
}
