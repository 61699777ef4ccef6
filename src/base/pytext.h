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

/* Length of s[0..n) once str.rstrip() has removed trailing whitespace. */
size_t pytext_rstrip(const char *s, size_t n);

/* os.path.basename (posixpath) of s[0..n): what follows the last '/'.
 * Returns a pointer into s, its length in *len. */
const char *pytext_basename(const char *s, size_t n, size_t *len);

#endif
