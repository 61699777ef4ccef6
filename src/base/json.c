/* json.c - see json.h. */
#include "base/json.h"

#include "base/buf.h"
#include "base/utf8.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char hexdigits[] = "0123456789abcdef";

static void put_u16(struct buf *b, uint32_t u)
{
	char e[6] = { '\\', 'u', hexdigits[(u >> 12) & 15], hexdigits[(u >> 8) & 15],
		      hexdigits[(u >> 4) & 15], hexdigits[u & 15] };
	buf_append(b, e, sizeof(e));
}

/* Bytes that go out as they are: printable ASCII but quote and backslash. */
static bool plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7F && c != '"' && c != '\\';
}

void json_str(struct buf *b, const char *str, size_t n, bool ascii)
{
	const unsigned char *s = (const unsigned char *)str;
	buf_reserve(b, n + 2);
	buf_putc(b, '"');
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && plain(s[j]))
			j++;
		if (j > i) {
			buf_append(b, s + i, j - i);
			i = j;
			if (i == n)
				break;
		}
		unsigned char c = s[i];
		if (c < 0x80) {
			i++;
			switch (c) {
			case '"': buf_append(b, "\\\"", 2); break;
			case '\\': buf_append(b, "\\\\", 2); break;
			case '\n': buf_append(b, "\\n", 2); break;
			case '\r': buf_append(b, "\\r", 2); break;
			case '\t': buf_append(b, "\\t", 2); break;
			case '\b': buf_append(b, "\\b", 2); break;
			case '\f': buf_append(b, "\\f", 2); break;
			default:
				if (c == 0x7F && !ascii)
					buf_putc(b, (char)c);
				else
					put_u16(b, c);
			}
			continue;
		}
		uint32_t cp;
		size_t k = utf8_decode(s + i, n - i, &cp);
		if (cp == UTF8_INVALID) {
			if (ascii)
				put_u16(b, 0xFFFD);
			else
				buf_append(b, UTF8_REPLACEMENT, UTF8_REPLACEMENT_LEN);
		} else if (!ascii) {
			buf_append(b, s + i, k);
		} else if (cp > 0xFFFF) {
			cp -= 0x10000;
			put_u16(b, 0xD800 | (cp >> 10));
			put_u16(b, 0xDC00 | (cp & 0x3FF));
		} else {
			put_u16(b, cp);
		}
		i += k;
	}
	buf_putc(b, '"');
}

void json_u64(struct buf *b, uint64_t v)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	buf_append(b, tmp + sizeof(tmp) - n, n);
}

void json_i64(struct buf *b, int64_t v)
{
	if (v < 0) {
		buf_putc(b, '-');
		json_u64(b, (uint64_t)0 - (uint64_t)v);
	} else {
		json_u64(b, (uint64_t)v);
	}
}

/* ---- numbers as Python writes them (into a caller buffer) ------------- */

size_t json_fmt_u64(char *out, uint64_t v)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

size_t json_fmt_i64(char *out, int64_t v)
{
	if (v < 0) {
		out[0] = '-';
		return 1 + json_fmt_u64(out + 1, (uint64_t)0 - (uint64_t)v);
	}
	return json_fmt_u64(out, (uint64_t)v);
}

/* repr() of a float: the shortest digits that read back as x (the closest
 * such, which is what "%.*e" gives at that precision), in fixed notation
 * when -4 < decimal point position <= 16, else d.ddde+XX.  NaN and
 * infinities, which Tachyon refuses (allow_nan=False), become null. */
size_t json_fmt_double(char *out, double x)
{
	if (!isfinite(x)) {
		memcpy(out, "null", 4);
		return 4;
	}
	if (x == 0) {
		const char *z = signbit(x) ? "-0.0" : "0.0";
		size_t n = strlen(z);
		memcpy(out, z, n);
		return n;
	}
	char tmp[40];
	/* closer grids round-trip if coarser ones do: binary search */
	int lo = 1, hi = 17;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		snprintf(tmp, sizeof(tmp), "%.*e", mid - 1, x);
		if (strtod(tmp, NULL) == x)
			hi = mid;
		else
			lo = mid + 1;
	}
	snprintf(tmp, sizeof(tmp), "%.*e", lo - 1, x);
	char digits[24];
	size_t nd = 0;
	const char *p = tmp;
	size_t o = 0;
	if (*p == '-') {
		out[o++] = '-';
		p++;
	}
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			digits[nd++] = *p;
	int e10 = *p == 'e' ? atoi(p + 1) : 0;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	int decpt = e10 + 1;
	if (decpt > -4 && decpt <= 16) {
		if (decpt <= 0) {
			out[o++] = '0';
			out[o++] = '.';
			for (int i = 0; i < -decpt; i++)
				out[o++] = '0';
			memcpy(out + o, digits, nd);
			o += nd;
		} else if ((size_t)decpt >= nd) {
			memcpy(out + o, digits, nd);
			o += nd;
			for (size_t i = nd; i < (size_t)decpt; i++)
				out[o++] = '0';
			out[o++] = '.';
			out[o++] = '0';
		} else {
			memcpy(out + o, digits, (size_t)decpt);
			o += (size_t)decpt;
			out[o++] = '.';
			memcpy(out + o, digits + decpt, nd - (size_t)decpt);
			o += nd - (size_t)decpt;
		}
	} else {
		out[o++] = digits[0];
		if (nd > 1) {
			out[o++] = '.';
			memcpy(out + o, digits + 1, nd - 1);
			o += nd - 1;
		}
		o += (size_t)snprintf(out + o, 8, "e%c%02d", e10 < 0 ? '-' : '+', abs(e10));
	}
	return o;
}

void json_double(struct buf *b, double x)
{
	char tmp[JSON_NUM_MAX];
	buf_append(b, tmp, json_fmt_double(tmp, x));
}
