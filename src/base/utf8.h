/* utf8.h - the one UTF-8 decoder of strobe (with the counting and cutting
 * of text built on it), a sanitizer and a terminal escaper.
 *
 * Names come from the target (or from a binary file anyone may have made):
 * they are data and may hold any bytes.  Every string that enters the
 * profile is made valid UTF-8 with utf8_sanitize(), so writers may rely on
 * it; text shown on a terminal goes through utf8_term_escape(), so that no
 * name can move the cursor, recolour, retitle or clear the screen.
 *
 * "Valid" is strict UTF-8 (RFC 3629, what Python's decoder accepts): no
 * overlong forms, no surrogates (U+D800-U+DFFF, which CPython's
 * "surrogatepass" would write as ED A0..BF xx), nothing above U+10FFFF.
 */
#ifndef STROBE_BASE_UTF8_H
#define STROBE_BASE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

/* *cp of a malformed part */
#define UTF8_INVALID UINT32_MAX
/* U+FFFD REPLACEMENT CHARACTER, encoded */
#define UTF8_REPLACEMENT "\xEF\xBF\xBD"
#define UTF8_REPLACEMENT_LEN 3

/* Decode the code point at s[0..n) (n > 0).  Returns the bytes consumed,
 * at least 1 and at most 4.  *cp is the code point, or UTF8_INVALID for a
 * malformed part; then the bytes consumed are its "maximal subpart" (the
 * lead byte and the continuation bytes that were still acceptable before
 * the offending one, or 1), which is where Unicode's recommended practice
 * and Python's errors="replace" put one U+FFFD each.  So an encoded
 * surrogate ED A0 80 is three malformed parts, an overlong C0 80 two. */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Encode cp into out (4 bytes of room); returns the length (1-4).  A
 * surrogate or a value above U+10FFFF is encoded as U+FFFD, so the result
 * is always valid UTF-8. */
size_t utf8_encode(uint32_t cp, char *out);

/* Decode the code point that ends s[0..n) (n > 0), for scanning text
 * backwards.  Returns its length (1-4), as utf8_decode would have read it
 * from there; a last byte that ends no valid sequence is a malformed part
 * of length 1 (*cp UTF8_INVALID). */
size_t utf8_decode_last(const unsigned char *s, size_t n, uint32_t *cp);

/* Number of code points of s[0..n), each malformed part (see utf8_decode)
 * counted as one: len() of what Python's errors="replace" decodes. */
size_t utf8_count(const char *s, size_t n);

/* Bytes taken by the first k code points of s[0..n) (n when it has fewer),
 * counted as utf8_count does: s[:k] in Python's terms. */
size_t utf8_offset(const char *s, size_t n, size_t k);

/* The longest prefix of s[0..n) of at most max bytes that cuts no code
 * point (nor malformed part) in two: where to truncate text to a size. */
size_t utf8_cut(const char *s, size_t n, size_t max);

/* Whether s[0..n) is valid UTF-8. */
bool utf8_valid(const char *s, size_t n);

/* Append s[0..n) to b as valid UTF-8: valid parts as they are, each
 * malformed part (see utf8_decode) as U+FFFD.  Returns the number of
 * replacements (0: b got s unchanged). */
size_t utf8_sanitize(struct buf *b, const char *s, size_t n);

/* Flags of utf8_term_escape for text that is not a name, such as a line
 * of source code, where tabs are layout and backslashes are common (and
 * harmless to a terminal): keep them as they are. */
#define UTF8_TERM_KEEP_TAB 1u
#define UTF8_TERM_KEEP_BACKSLASH 2u

/* Append s[0..n) to b for a terminal, every control character shown as a
 * visible escape in Python's repr() notation:
 *   \n \r \t          newline, carriage return, tab (tab kept with
 *                     UTF8_TERM_KEEP_TAB)
 *   \xNN              any other C0 control (U+0000-U+001F, ESC is \x1b),
 *                     DEL (\x7f) and C1 control (U+0080-U+009F, \x9b is
 *                     CSI): NN is the code point, two lowercase hex digits
 *   \\                a backslash, so that every backslash of the output
 *                     starts one of these escapes and the text reads back
 *                     unambiguously (kept with UTF8_TERM_KEEP_BACKSLASH)
 * Malformed parts become U+FFFD; everything else is copied.  The output
 * holds no byte below 0x20 (but a kept tab), no 0x7F, no C1 control and
 * is valid UTF-8. */
void utf8_term_escape(struct buf *b, const char *s, size_t n, unsigned flags);

/* Whether utf8_term_escape(s, n, flags) would copy s unchanged. */
bool utf8_term_plain(const char *s, size_t n, unsigned flags);

#endif
