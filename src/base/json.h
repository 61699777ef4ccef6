/* json.h - strobe's one JSON writer: string literals and numbers (as
 * Python's json module writes them).  gecko, jsonl, speedscope and the
 * pages' embedded data (format/htmlenc.h) write their strings with it; the
 * decimal numbers serve the text formats too.
 *
 * strobe's strings are valid UTF-8 (base/utf8.h: the profile's strings are
 * sanitized as they enter it); the writers still read them with the strict
 * decoder of base/utf8.h, so that a malformed part, should one get through,
 * comes out as U+FFFD (one per maximal ill-formed subpart, as Python's
 * "replace" handler) and never as invalid output.
 */
#ifndef STROBE_BASE_JSON_H
#define STROBE_BASE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

/* Append s[0..n) as a quoted JSON string.  ascii: as Python's json.dumps
 * with ensure_ascii (the default) writes it: every character outside
 * ' '..'~' escaped, \n \r \t \b \f by name, others as lowercase \uXXXX,
 * characters above U+FFFF as a surrogate pair.  Otherwise valid UTF-8 is
 * kept as it is and only what JSON requires is escaped (quote, backslash,
 * controls).  Malformed parts (encoded surrogates among them) become U+FFFD
 * in both modes. */
void json_str(struct buf *b, const char *s, size_t n, bool ascii);

/* Append a decimal number (no printf on the writers' hot paths). */
void json_u64(struct buf *b, uint64_t v);
void json_i64(struct buf *b, int64_t v);

/* The same into out (at least JSON_NUM_MAX bytes, no NUL); the length.
 * json_fmt_double is Python's repr() of a float: the shortest digits
 * that read back as x, fixed notation when -4 < exponent <= 16, else
 * d.ddde+XX; NaN and infinities (which Python's json refuses with
 * allow_nan=False) become null. */
#define JSON_NUM_MAX 40
size_t json_fmt_u64(char *out, uint64_t v);
size_t json_fmt_i64(char *out, int64_t v);
size_t json_fmt_double(char *out, double x);
void json_double(struct buf *b, double x);

#endif
