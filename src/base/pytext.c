/* pytext.c - see pytext.h. */
#include "base/pytext.h"

#include "base/buf.h"
#include "base/utf8.h"

#include <string.h>

bool pytext_isprintable(uint32_t c)
{
	/* the non-ASCII code points str.isprintable() refuses, as ranges */
	static const uint32_t nonprint[][2] = {
		{ 0x80, 0xa0 }, { 0xad, 0xad }, { 0x600, 0x605 }, { 0x61c, 0x61c },
		{ 0x6dd, 0x6dd }, { 0x70f, 0x70f }, { 0x890, 0x891 }, { 0x8e2, 0x8e2 },
		{ 0x1680, 0x1680 }, { 0x180e, 0x180e }, { 0x2000, 0x200f },
		{ 0x2028, 0x202f }, { 0x205f, 0x2064 }, { 0x2066, 0x206f },
		{ 0x3000, 0x3000 }, { 0xd800, 0xf8ff }, { 0xfdd0, 0xfdef },
		{ 0xfeff, 0xfeff }, { 0xfff9, 0xfffb }, { 0x110bd, 0x110bd },
		{ 0x110cd, 0x110cd }, { 0x13430, 0x1343f }, { 0x1bca0, 0x1bca3 },
		{ 0x1d173, 0x1d17a }, { 0xe0001, 0xe0001 }, { 0xe0020, 0xe007f },
		{ 0xf0000, 0x10ffff },
	};
	if (c < 0x80)
		return c >= 0x20 && c != 0x7f;
	if ((c & 0xfffe) == 0xfffe)
		return false; /* U+xxFFFE, U+xxFFFF noncharacters */
	for (size_t i = 0; i < sizeof(nonprint) / sizeof(nonprint[0]); i++)
		if (c >= nonprint[i][0] && c <= nonprint[i][1])
			return false;
	return true;
}

bool pytext_isspace(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 ||
	       c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
	       c == 0x202f || c == 0x205f || c == 0x3000;
}

void pytext_repr(struct buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	bool squote = memchr(s, '\'', n) != NULL, dquote = memchr(s, '"', n) != NULL;
	char quote = squote && !dquote ? '"' : '\'';
	buf_putc(b, quote);
	for (size_t i = 0; i < n;) {
		uint32_t c;
		size_t k = utf8_decode(u + i, n - i, &c);
		if (c == UTF8_INVALID) {
			for (size_t j = 0; j < k; j++)
				buf_printf(b, "\\udc%02x", u[i + j]);
		} else if (c == (uint32_t)quote || c == '\\') {
			buf_putc(b, '\\');
			buf_putc(b, (char)c);
		} else if (c == '\t') {
			buf_puts(b, "\\t");
		} else if (c == '\n') {
			buf_puts(b, "\\n");
		} else if (c == '\r') {
			buf_puts(b, "\\r");
		} else if (pytext_isprintable(c)) {
			buf_append(b, u + i, k);
		} else if (c <= 0xff) {
			buf_printf(b, "\\x%02x", c);
		} else if (c <= 0xffff) {
			buf_printf(b, "\\u%04x", c);
		} else {
			buf_printf(b, "\\U%08x", c);
		}
		i += k;
	}
	buf_putc(b, quote);
}

size_t pytext_rstrip(const char *s, size_t n)
{
	while (n > 0) {
		uint32_t c;
		size_t k = utf8_decode_last((const unsigned char *)s, n, &c);
		if (c == UTF8_INVALID || !pytext_isspace(c))
			break;
		n -= k;
	}
	return n;
}

const char *pytext_basename(const char *s, size_t n, size_t *len)
{
	const char *slash = n ? memrchr(s, '/', n) : NULL;
	const char *base = slash ? slash + 1 : s;
	*len = n - (size_t)(base - s);
	return base;
}
