/* pytext.c - see pytext.h. */
#include "base/pytext.h"

#include "base/buf.h"
#include "base/utf8.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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

void pytext_float_repr(struct buf *b, double v)
{
	if (isnan(v)) {
		buf_puts(b, "nan");
		return;
	}
	if (isinf(v)) {
		buf_puts(b, v < 0 ? "-inf" : "inf");
		return;
	}
	/* the shortest of %.0e .. %.16e that reads back as v: repr's digits */
	char e[40];
	for (int prec = 0; prec <= 16; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec, v);
		if (strtod(e, NULL) == v)
			break;
	}
	/* e: [-]d[.ddd]e[+-]XX */
	const char *p = e;
	bool neg = *p == '-';
	if (neg)
		p++;
	char digits[24];
	size_t nd = 0;
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9' && nd < sizeof(digits))
			digits[nd++] = *p;
	int exp = *p == 'e' ? atoi(p + 1) : 0;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (neg)
		buf_putc(b, '-');
	if (exp < -4 || exp >= 16) {
		buf_putc(b, digits[0]);
		if (nd > 1) {
			buf_putc(b, '.');
			buf_append(b, digits + 1, nd - 1);
		}
		buf_printf(b, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
		return;
	}
	if (exp < 0) {
		buf_puts(b, "0.");
		for (int i = -1; i > exp; i--)
			buf_putc(b, '0');
		buf_append(b, digits, nd);
		return;
	}
	/* exp + 1 digits before the point */
	size_t intd = (size_t)exp + 1;
	for (size_t i = 0; i < intd; i++)
		buf_putc(b, i < nd ? digits[i] : '0');
	buf_putc(b, '.');
	if (nd > intd)
		buf_append(b, digits + intd, nd - intd);
	else
		buf_putc(b, '0');
}

void pytext_bytes_repr(struct buf *b, const unsigned char *p, size_t n)
{
	bool sq = memchr(p, '\'', n) != NULL, dq = memchr(p, '"', n) != NULL;
	char q = sq && !dq ? '"' : '\'';
	buf_putc(b, 'b');
	buf_putc(b, q);
	for (size_t i = 0; i < n; i++) {
		unsigned c = p[i];
		if (c == (unsigned char)q || c == '\\') {
			buf_putc(b, '\\');
			buf_putc(b, (char)c);
		} else if (c == '\t') {
			buf_puts(b, "\\t");
		} else if (c == '\n') {
			buf_puts(b, "\\n");
		} else if (c == '\r') {
			buf_puts(b, "\\r");
		} else if (c < 0x20 || c >= 0x7f) {
			buf_printf(b, "\\x%02x", c);
		} else {
			buf_putc(b, (char)c);
		}
	}
	buf_putc(b, q);
}

void pytext_int_repr(struct buf *b, const uint32_t *digits, size_t n, unsigned shift, bool neg,
		     size_t max_chars)
{
	if (shift == 0 || shift > 31)
		shift = 30;
	if (n > PYTEXT_INT_MAX_DIGITS) {
		/* its bit length gives its number of decimal digits, to one */
		uint32_t top = digits[n - 1] & ((1u << shift) - 1);
		size_t bits = (n - 1) * shift + (top ? 32 - (size_t)__builtin_clz(top) : 0);
		buf_printf(b, "<int of about %zu digits>", (size_t)((double)bits * 0.30102999566) + 1);
		return;
	}
	uint32_t mag[PYTEXT_INT_MAX_DIGITS];
	uint32_t mask = (1u << shift) - 1;
	for (size_t i = 0; i < n; i++)
		mag[i] = digits[i] & mask;
	while (n && !mag[n - 1])
		n--;
	/* base 10^9 chunks, least significant first, by repeated division */
	uint32_t chunks[PYTEXT_INT_MAX_DIGITS * 31 / 29 + 2];
	size_t nc = 0;
	while (n) {
		uint64_t rem = 0;
		for (size_t i = n; i-- > 0;) {
			uint64_t cur = rem << shift | mag[i];
			mag[i] = (uint32_t)(cur / 1000000000u);
			rem = cur % 1000000000u;
		}
		chunks[nc++] = (uint32_t)rem;
		while (n && !mag[n - 1])
			n--;
	}
	char text[sizeof(chunks) / sizeof(chunks[0]) * 9 + 2];
	size_t len = 0;
	if (!nc) {
		text[len++] = '0';
	} else {
		len += (size_t)snprintf(text, sizeof(text), "%u", chunks[nc - 1]);
		for (size_t i = nc - 1; i-- > 0;)
			len += (size_t)snprintf(text + len, sizeof(text) - len, "%09u", chunks[i]);
	}
	if (len > max_chars) {
		buf_printf(b, "<int of %zu digits>", len);
		return;
	}
	if (neg && !(len == 1 && text[0] == '0'))
		buf_putc(b, '-');
	buf_append(b, text, len);
}
