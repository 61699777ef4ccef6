/* htmlenc.h - text for the HTML pages (flamegraph, heat map): HTML text
 * and attribute values, JSON string literals inside a <script> element.
 * Both read strobe's strings with base/utf8.h's strict decoder: a malformed
 * part (an encoded surrogate among them) is never written as it is. */
#ifndef STROBE_FORMAT_HTMLENC_H
#define STROBE_FORMAT_HTMLENC_H

#include <stddef.h>

struct buf;

/* s[0..n) as HTML text or a quoted attribute value: < > & " ' escaped,
 * tabs kept, other C0 controls and malformed parts as U+FFFD. */
void htmlenc_text(struct buf *b, const char *s, size_t n);

/* s[0..n) as a quoted JSON string (json_str, UTF-8 kept) with
 * every "<" written \u003c, so that no "</script" can end the element. */
void htmlenc_json_str(struct buf *b, const char *s, size_t n);

#endif
