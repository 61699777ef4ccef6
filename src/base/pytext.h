/* pytext.h - the few operations on Python's str (and os.path) that
 * strobe's messages and outputs reproduce, on UTF-8 text: repr(),
 * isprintable(), isspace(), rstrip(), os.path.basename().
 *
 * One definition each, so that argparse's messages (cli.c), pstats' sort by
 * name, the dump's source lines and the flamegraph's source tooltips agree
 * with Python and with each other.  Text is decoded with base/utf8.h.
 */
#ifndef STROBE_BASE_PYTEXT_H
#define STROBE_BASE_PYTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

/* str.isprintable() of one code point.  Exact for the categories Cc, Cf,
 * Cs, Co, Zl, Zp and Zs (checked against 3.15, Unicode 17); unassigned code
 * points (Cn) other than the noncharacters count as printable. */
bool pytext_isprintable(uint32_t cp);

/* str.isspace() of one code point. */
bool pytext_isspace(uint32_t cp);

/* Append repr() of the str whose UTF-8 is s[0..n) to b: quoted with ' (or
 * " when s holds ' and no "), \\ \t \n \r and the quote escaped,
 * printable characters as they are, others \xNN, \uNNNN or \UNNNNNNNN.
 * The bytes of a malformed part (base/utf8.h) are each shown \udcNN, the
 * lone surrogate Python's surrogateescape makes of an undecodable byte (as
 * it does for argv and file names). */
void pytext_repr(struct buf *b, const char *s, size_t n);

/* Append repr() of a float: the shortest digits that read back as v, in
 * fixed notation when its exponent is in [-4, 16) (with ".0" if it has no
 * fraction), else d[.ddd]e+XX; inf, -inf, nan. */
void pytext_float_repr(struct buf *b, double v);

/* Append repr() of the bytes p[0..n): b'...' quoted as Python does, \\,
 * \t \n \r and the quote escaped, other bytes outside 0x20-0x7e as \xNN. */
void pytext_bytes_repr(struct buf *b, const unsigned char *p, size_t n);

/* The most int digits pytext_int_repr converts. */
#define PYTEXT_INT_MAX_DIGITS 40

/* Append the decimal repr of the int whose magnitude is the n digits of
 * `shift` bits each, least significant first (CPython's PyLongObject
 * digits), negative if neg.  If its decimal form is longer than
 * max_chars, or n > PYTEXT_INT_MAX_DIGITS, append "<int of N digits>"
 * instead (N the number of decimal digits; "about N" when n is too large
 * to convert).  Digits at or above 1 << shift are masked. */
void pytext_int_repr(struct buf *b, const uint32_t *digits, size_t n, unsigned shift, bool neg,
		     size_t max_chars);

/* Length of s[0..n) once str.rstrip() has removed trailing whitespace. */
size_t pytext_rstrip(const char *s, size_t n);

/* os.path.basename (posixpath) of s[0..n): what follows the last '/'.
 * Returns a pointer into s, its length in *len. */
const char *pytext_basename(const char *s, size_t n, size_t *len);

#endif
