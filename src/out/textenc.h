/* textenc.h - text encodings the writers share: JSON string literals,
 * strict UTF-8, decimal numbers.
 *
 * strobe's strings are bytes: UTF-8 in which a lone surrogate (a file name
 * Python decoded with "surrogateescape", a hand-made co_qualname) is written
 * in its 3-byte form, as Python's "surrogatepass" writes it; a string read
 * from a damaged binary file may hold any bytes.  The decoder below reads
 * that encoding and reports every malformed part as Python's "replace"
 * handler does (one U+FFFD per maximal ill-formed subpart), so a writer can
 * reproduce what Python writes for the same str.
 */
#ifndef STROBE_OUT_TEXTENC_H
#define STROBE_OUT_TEXTENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

/* *cp for a malformed part */
#define TEXTENC_INVALID UINT32_MAX

/* Decode the code point at s[0..n) (n > 0).  Returns the bytes consumed
 * (at least 1); *cp is the code point (a surrogate, 0xD800-0xDFFF, when the
 * bytes encode one) or TEXTENC_INVALID. */
size_t textenc_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Append s[0..n) as a quoted JSON string.  ascii: as Python's json.dumps
 * with ensure_ascii (the default) writes it: every character outside
 * ' '..'~' escaped, \n \r \t \b \f by name, others as lowercase \uXXXX,
 * characters above U+FFFF as a surrogate pair.  Otherwise valid UTF-8 is
 * kept as it is and only what JSON requires is escaped (quote, backslash,
 * controls), lone surrogates as \uXXXX.  Malformed parts become U+FFFD in
 * both modes. */
void textenc_json_str(struct buf *b, const char *s, size_t n, bool ascii);

/* Append s[0..n) as strict UTF-8: surrogates and malformed parts become
 * U+FFFD (what protobuf string fields must hold). */
void textenc_utf8(struct buf *b, const char *s, size_t n);

/* Append a decimal number (no printf on the writers' hot paths). */
void textenc_u64(struct buf *b, uint64_t v);
void textenc_i64(struct buf *b, int64_t v);

/* The same into out (at least TEXTENC_NUM_MAX bytes, no NUL); the length.
 * textenc_fmt_double is Python's repr() of a float: the shortest digits
 * that read back as x, fixed notation when -4 < exponent <= 16, else
 * d.ddde+XX; NaN and infinities (which Python's json refuses with
 * allow_nan=False) become null. */
#define TEXTENC_NUM_MAX 40
size_t textenc_fmt_u64(char *out, uint64_t v);
size_t textenc_fmt_i64(char *out, int64_t v);
size_t textenc_fmt_double(char *out, double x);
void textenc_double(struct buf *b, double x);

#endif
