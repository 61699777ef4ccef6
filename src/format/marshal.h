/* marshal.h - a writer for the subset of Python's marshal format that every
 * CPython from 3.4 on reads (pstats files are marshal dumps).
 *
 * Values are appended to a caller-owned struct buf.  No object is ever
 * written with FLAG_REF (0x80), so the stream does not depend on the
 * reader's reference table and any marshal version >= 4 loads it.
 *
 * Containers are written as "begin, items, end": a dict is
 * marshal_dict_begin, then key/value pairs, then marshal_dict_end; a tuple
 * is marshal_tuple(n) followed by exactly n values.
 */
#ifndef STROBE_FORMAT_MARSHAL_H
#define STROBE_FORMAT_MARSHAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

void marshal_none(struct buf *b);
void marshal_bool(struct buf *b, bool v);
/* 'i' (int32) when the value fits, else 'l' (sign + 15-bit digits). */
void marshal_int(struct buf *b, int64_t v);
void marshal_uint(struct buf *b, uint64_t v);
/* 'g': the IEEE double, little-endian. */
void marshal_float(struct buf *b, double v);
/* A str from n bytes of (ideally) UTF-8.  Short pure-ASCII strings use 'z';
 * others 'u', always strict UTF-8: each malformed part (an encoded lone
 * surrogate among them) becomes U+FFFD, as base/utf8.h's utf8_sanitize. */
void marshal_str(struct buf *b, const char *s, size_t n);
/* Start a tuple of n items: ')' with a byte count below 256, else '('. */
void marshal_tuple(struct buf *b, size_t n);
void marshal_dict_begin(struct buf *b);
void marshal_dict_end(struct buf *b);

#endif
