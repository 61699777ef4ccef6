#include "format/marshal.h"

#include "base/buf.h"
#include "base/utf8.h"

#include <assert.h>
#include <string.h>

/* Type codes of Python/marshal.c (stable since marshal version 4, 3.4). */
enum {
	TYPE_NULL = '0',
	TYPE_NONE = 'N',
	TYPE_FALSE = 'F',
	TYPE_TRUE = 'T',
	TYPE_INT = 'i',
	TYPE_LONG = 'l',
	TYPE_BINARY_FLOAT = 'g',
	TYPE_UNICODE = 'u',
	TYPE_SHORT_ASCII = 'z',
	TYPE_TUPLE = '(',
	TYPE_SMALL_TUPLE = ')',
	TYPE_DICT = '{',
};

/* marshal stores a long as 15-bit digits (PyLong_MARSHAL_SHIFT), whatever
 * the interpreter's internal digit size. */
#define MARSHAL_SHIFT 15
#define MARSHAL_MASK ((1u << MARSHAL_SHIFT) - 1)

static void put_u8(struct buf *b, unsigned v)
{
	buf_putc(b, (char)(unsigned char)v);
}

static void put_le32(struct buf *b, uint32_t v)
{
	unsigned char c[4] = { (unsigned char)v, (unsigned char)(v >> 8),
			       (unsigned char)(v >> 16), (unsigned char)(v >> 24) };
	buf_append(b, c, sizeof(c));
}

void marshal_none(struct buf *b)
{
	put_u8(b, TYPE_NONE);
}

void marshal_bool(struct buf *b, bool v)
{
	put_u8(b, v ? TYPE_TRUE : TYPE_FALSE);
}

/* A long from its sign and magnitude. */
static void put_long(struct buf *b, bool negative, uint64_t mag)
{
	uint16_t digits[5]; /* 64 bits need ceil(64 / 15) = 5 digits */
	int32_t n = 0;
	while (mag) {
		digits[n++] = (uint16_t)(mag & MARSHAL_MASK);
		mag >>= MARSHAL_SHIFT;
	}
	put_u8(b, TYPE_LONG);
	put_le32(b, (uint32_t)(negative ? -n : n));
	for (int32_t i = 0; i < n; i++) {
		put_u8(b, digits[i] & 0xff);
		put_u8(b, digits[i] >> 8);
	}
}

void marshal_int(struct buf *b, int64_t v)
{
	if (v >= INT32_MIN && v <= INT32_MAX) {
		put_u8(b, TYPE_INT);
		put_le32(b, (uint32_t)(int32_t)v);
		return;
	}
	/* magnitude without overflowing on INT64_MIN */
	uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	put_long(b, v < 0, mag);
}

void marshal_uint(struct buf *b, uint64_t v)
{
	if (v <= INT32_MAX)
		marshal_int(b, (int64_t)v);
	else
		put_long(b, false, v);
}

void marshal_float(struct buf *b, double v)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof(bits));
	put_u8(b, TYPE_BINARY_FLOAT);
	put_le32(b, (uint32_t)bits);
	put_le32(b, (uint32_t)(bits >> 32));
}

void marshal_str(struct buf *b, const char *s, size_t n)
{
	bool ascii = true;
	for (size_t i = 0; i < n && ascii; i++)
		ascii = (unsigned char)s[i] < 0x80;
	if (ascii && n < 256) {
		put_u8(b, TYPE_SHORT_ASCII);
		put_u8(b, (unsigned)n);
		buf_append(b, s, n);
		return;
	}
	/* strict UTF-8, each malformed part as U+FFFD (base/utf8.h); the
	 * length is patched in once known */
	put_u8(b, TYPE_UNICODE);
	size_t at = b->len;
	put_le32(b, 0);
	utf8_sanitize(b, s, n);
	uint32_t len = (uint32_t)(b->len - at - 4);
	for (int i = 0; i < 4; i++)
		b->data[at + (size_t)i] = (char)(unsigned char)(len >> (8 * i));
}

void marshal_tuple(struct buf *b, size_t n)
{
	assert(n <= INT32_MAX);
	if (n < 256) {
		put_u8(b, TYPE_SMALL_TUPLE);
		put_u8(b, (unsigned)n);
	} else {
		put_u8(b, TYPE_TUPLE);
		put_le32(b, (uint32_t)n);
	}
}

void marshal_dict_begin(struct buf *b)
{
	put_u8(b, TYPE_DICT);
}

void marshal_dict_end(struct buf *b)
{
	put_u8(b, TYPE_NULL);
}
