/* utf8.c - see utf8.h. */
#include "base/utf8.h"

#include "base/buf.h"

size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	size_t need;
	uint32_t v;
	/* the range of the second byte: narrower after E0 (overlong), ED
	 * (surrogates), F0 (overlong) and F4 (above U+10FFFF) */
	unsigned lo = 0x80, hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF) {
		need = 1;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		v = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		v = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		/* 80-BF alone, C0/C1 (always overlong), F5-FF */
		*cp = UTF8_INVALID;
		return 1;
	}
	size_t i = 1;
	for (; i <= need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi) {
			*cp = UTF8_INVALID;
			return i;
		}
		v = v << 6 | (s[i] & 0x3Fu);
		lo = 0x80;
		hi = 0xBF;
	}
	*cp = v;
	return need + 1;
}

size_t utf8_encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		cp = 0xFFFD;
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

size_t utf8_decode_last(const unsigned char *s, size_t n, uint32_t *cp)
{
	/* the lead byte is at most 3 bytes before the last: find it, then
	 * decode forwards, which must end exactly at n */
	size_t back = 1;
	while (back < 4 && back < n && (s[n - back] & 0xC0) == 0x80)
		back++;
	uint32_t v;
	if (utf8_decode(s + n - back, back, &v) == back && v != UTF8_INVALID) {
		*cp = v;
		return back;
	}
	/* (an ASCII last byte was decoded above) */
	*cp = UTF8_INVALID;
	return 1;
}

size_t utf8_count(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t count = 0, i = 0;
	uint32_t cp;
	while (i < n) {
		i += s[i] < 0x80 ? 1 : utf8_decode(s + i, n - i, &cp);
		count++;
	}
	return count;
}

size_t utf8_offset(const char *str, size_t n, size_t k)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	uint32_t cp;
	for (; i < n && k > 0; k--)
		i += s[i] < 0x80 ? 1 : utf8_decode(s + i, n - i, &cp);
	return i;
}

size_t utf8_cut(const char *str, size_t n, size_t max)
{
	const unsigned char *s = (const unsigned char *)str;
	if (n <= max)
		return n;
	size_t i = 0;
	uint32_t cp;
	for (;;) {
		size_t k = s[i] < 0x80 ? 1 : utf8_decode(s + i, n - i, &cp);
		if (i + k > max)
			return i;
		i += k;
	}
}

/* Bytes of s[i..n) before the first that is not ASCII. */
static size_t ascii_run(const unsigned char *s, size_t i, size_t n)
{
	size_t j = i;
	while (j < n && s[j] < 0x80)
		j++;
	return j - i;
}

bool utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < n) {
		i += ascii_run(s, i, n);
		if (i == n)
			break;
		uint32_t cp;
		i += utf8_decode(s + i, n - i, &cp);
		if (cp == UTF8_INVALID)
			return false;
	}
	return true;
}

size_t utf8_sanitize(struct buf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t bad = 0, i = 0;
	buf_reserve(b, n);
	while (i < n) {
		size_t j = i;
		for (;;) {
			j += ascii_run(s, j, n);
			if (j == n)
				break;
			uint32_t cp;
			size_t k = utf8_decode(s + j, n - j, &cp);
			if (cp == UTF8_INVALID)
				break;
			j += k;
		}
		/* s[i..j) is valid */
		buf_append(b, s + i, j - i);
		if (j == n)
			break;
		uint32_t cp;
		i = j + utf8_decode(s + j, n - j, &cp);
		buf_append(b, UTF8_REPLACEMENT, UTF8_REPLACEMENT_LEN);
		bad++;
	}
	return bad;
}

/* Whether code point c (valid) is shown escaped on a terminal. */
static bool term_escaped(uint32_t c, unsigned flags)
{
	if (c == '\t')
		return !(flags & UTF8_TERM_KEEP_TAB);
	if (c == '\\')
		return !(flags & UTF8_TERM_KEEP_BACKSLASH);
	return c < 0x20 || (c >= 0x7F && c <= 0x9F);
}

bool utf8_term_plain(const char *str, size_t n, unsigned flags)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < n) {
		uint32_t cp;
		i += utf8_decode(s + i, n - i, &cp);
		if (cp == UTF8_INVALID || term_escaped(cp, flags))
			return false;
	}
	return true;
}

void utf8_term_escape(struct buf *b, const char *str, size_t n, unsigned flags)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	buf_reserve(b, n);
	while (i < n) {
		uint32_t cp;
		size_t k = utf8_decode(s + i, n - i, &cp);
		if (cp == UTF8_INVALID) {
			buf_append(b, UTF8_REPLACEMENT, UTF8_REPLACEMENT_LEN);
		} else if (!term_escaped(cp, flags)) {
			buf_append(b, s + i, k);
		} else if (cp == '\n') {
			buf_append(b, "\\n", 2);
		} else if (cp == '\r') {
			buf_append(b, "\\r", 2);
		} else if (cp == '\t') {
			buf_append(b, "\\t", 2);
		} else if (cp == '\\') {
			buf_append(b, "\\\\", 2);
		} else {
			char e[4] = { '\\', 'x', hex[cp >> 4 & 15], hex[cp & 15] };
			buf_append(b, e, sizeof(e));
		}
		i += k;
	}
}
