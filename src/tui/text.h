/* text.h - text helpers of the live view: UTF-8 lengths, Tachyon's number
 * formats and path shortening.  Pure functions, no curses, no allocation.
 *
 * Tachyon measures and cuts strings with Python's len() and slices, i.e.
 * in code points, not bytes and not display cells; so do these helpers, so
 * that columns line up the same way (a CJK name or an emoji counts as one).
 */
#ifndef STROBE_TUI_TEXT_H
#define STROBE_TUI_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Number of code points of the UTF-8 string s (a malformed part counts as
 * one, base/utf8.h's utf8_count). */
size_t text_len(const char *s);
/* Bytes taken by the first n code points of s (all of s if shorter). */
size_t text_prefix(const char *s, size_t n);

/* Copy s into out (size bytes), cut to width code points, with "..." in
 * place of the last three when it was longer (Tachyon's name[:w-3] + "..."),
 * then padded with spaces to width code points when pad is set.  Returns out. */
char *text_fit(char *out, size_t size, const char *s, size_t width, int pad);

/* "1m05s", or "1h02m05s" from an hour on (Tachyon's format_uptime). */
void text_uptime(char *out, size_t size, double elapsed_s);
/* "950.0Hz", "10.0KHz", "1.0MHz" (format_rate_with_units). */
void text_rate(char *out, size_t size, double hz);

/* The part of a file name to show: the path below a CPython library
 * directory (.../lib/python3.X/, .../lib/python3.X/site-packages/,
 * .../lib/python3/dist-packages/ and the like), else the whole name.
 * Tachyon strips its own interpreter's stdlib and site directories; strobe
 * has no interpreter of its own, so any CPython's are recognised by their
 * shape.  Returns a pointer into path. */
const char *text_short_path(const char *path);

/* Whether pattern occurs in s, ignoring ASCII case. */
int text_contains_nocase(const char *s, const char *pattern);

#endif
