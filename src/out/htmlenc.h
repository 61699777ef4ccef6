/* htmlenc.h - text for the HTML pages (flamegraph, heat map): HTML text
 * and attribute values, JSON string literals inside a <script> element.
 * Both build on out/textenc.h's reading of strobe's strings (UTF-8 with
 * surrogates in their 3-byte form, malformed parts as Python's "replace"
 * handler reports them). */
#ifndef STROBE_OUT_HTMLENC_H
#define STROBE_OUT_HTMLENC_H

#include <stddef.h>

struct buf;

/* s[0..n) as HTML text or a quoted attribute value: < > & " ' escaped,
 * tabs kept, other controls, surrogates and malformed parts as U+FFFD. */
void htmlenc_text(struct buf *b, const char *s, size_t n);

/* s[0..n) as a quoted JSON string (textenc_json_str, UTF-8 kept) with
 * every "<" written \u003c, so that no "</script" can end the element. */
void htmlenc_json_str(struct buf *b, const char *s, size_t n);

#endif
