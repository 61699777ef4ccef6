/* htmlenc.c - text for the HTML pages; see htmlenc.h. */
#include "format/htmlenc.h"

#include "base/buf.h"
#include "base/json.h"
#include "base/utf8.h"

#include <stdint.h>
#include <string.h>

void htmlenc_text(struct buf *b, const char *s, size_t n)
{
	size_t i = 0;
	buf_reserve(b, n + 16);
	while (i < n) {
		size_t j = i;
		while (j < n && (unsigned char)s[j] >= 0x20 && (unsigned char)s[j] < 0x80 &&
		       s[j] != '<' && s[j] != '>' && s[j] != '&' && s[j] != '"' && s[j] != '\'')
			j++;
		if (j > i)
			buf_append(b, s + i, j - i);
		if (j >= n)
			break;
		unsigned char c = (unsigned char)s[j];
		i = j + 1;
		switch (c) {
		case '<': buf_puts(b, "&lt;"); continue;
		case '>': buf_puts(b, "&gt;"); continue;
		case '&': buf_puts(b, "&amp;"); continue;
		case '"': buf_puts(b, "&quot;"); continue;
		case '\'': buf_puts(b, "&#39;"); continue;
		case '\t': buf_putc(b, '\t'); continue;
		default: break;
		}
		if (c < 0x80) {
			/* other controls: shown as the replacement character */
			buf_puts(b, "\xef\xbf\xbd");
			continue;
		}
		uint32_t cp;
		size_t k = utf8_decode((const unsigned char *)s + j, n - j, &cp);
		if (cp == UTF8_INVALID)
			buf_append(b, UTF8_REPLACEMENT, UTF8_REPLACEMENT_LEN);
		else
			buf_append(b, s + j, k);
		i = j + k;
	}
}

/* json_str never writes "<" but for a "<" of s: each becomes \u003c, the
 * string moved right in place. */
void htmlenc_json_str(struct buf *b, const char *s, size_t n)
{
	size_t start = b->len;
	json_str(b, s, n, false);
	size_t extra = 0;
	for (size_t i = start; i < b->len; i++)
		extra += b->data[i] == '<';
	if (!extra)
		return;
	buf_reserve(b, extra * 5);
	char *d = b->data;
	size_t i = b->len, o = b->len + extra * 5;
	b->len = o;
	d[o] = '\0';
	while (i > start) {
		char c = d[--i];
		if (c == '<') {
			o -= 6;
			memcpy(d + o, "\\u003c", 6);
		} else {
			d[--o] = c;
		}
	}
}
