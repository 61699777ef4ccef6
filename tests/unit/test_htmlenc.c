/* test_htmlenc.c - HTML text and <script>-safe JSON strings. */
#include "harness.h"

#include "base/buf.h"
#include "format/htmlenc.h"

#include <stdlib.h>
#include <string.h>

#define FFFD "\xEF\xBF\xBD"

static char *text(const char *s, size_t n)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, "|");
	htmlenc_text(&b, s, n);
	buf_putc(&b, '\0');
	return b.data;
}

static char *json(const char *s, size_t n)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, "x=");
	htmlenc_json_str(&b, s, n);
	/* the buffer stays NUL-terminated after the in-place move */
	CHECK(b.data[b.len] == '\0');
	buf_putc(&b, '\0');
	return b.data;
}

#define CHECK_ENC(fn, lit, want)                              \
	do {                                                      \
		char *got_ = fn(lit, sizeof(lit) - 1);                \
		CHECK_STR(got_, want);                                \
		free(got_);                                           \
	} while (0)

TEST(text)
{
	CHECK_ENC(text, "", "|");
	CHECK_ENC(text, "plain text", "|plain text");
	CHECK_ENC(text, "a<b>&\"c\"'d'", "|a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;");
	CHECK_ENC(text, "\tx\ny\x01", "|\tx" FFFD "y" FFFD);
	CHECK_ENC(text, "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", "|caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
	/* a lone surrogate (surrogatepass form: three malformed parts), a
	 * truncated sequence (one maximal ill-formed part), a stray
	 * continuation byte */
	CHECK_ENC(text, "a\xED\xB2\x80z", "|a" FFFD FFFD FFFD "z");
	CHECK_ENC(text, "a\xE2\x82z", "|a" FFFD "z");
	CHECK_ENC(text, "a\x80\x80", "|a" FFFD FFFD);
}

TEST(json)
{
	CHECK_ENC(json, "", "x=\"\"");
	CHECK_ENC(json, "f (a.py:1)", "x=\"f (a.py:1)\"");
	CHECK_ENC(json, "</script>", "x=\"\\u003c/script>\"");
	CHECK_ENC(json, "<<a<", "x=\"\\u003c\\u003ca\\u003c\"");
	CHECK_ENC(json, "q\"\\\n\t\x01", "x=\"q\\\"\\\\\\n\\t\\u0001\"");
	CHECK_ENC(json, "caf\xC3\xA9<", "x=\"caf\xC3\xA9\\u003c\"");
	CHECK_ENC(json, "\xED\xB2\x80<", "x=\"" FFFD FFFD FFFD "\\u003c\"");
	CHECK_ENC(json, "a\xE2\x82<", "x=\"a" FFFD "\\u003c\"");
	/* long enough to move the buffer */
	struct buf in = BUF_INIT;
	for (int i = 0; i < 1000; i++)
		buf_puts(&in, "<b");
	char *got = json(in.data, in.len);
	size_t want = 2 + 2 + 1000 * 7;
	CHECK_EQ_INT(strlen(got), want);
	CHECK(strncmp(got, "x=\"\\u003cb\\u003cb", 17) == 0);
	CHECK(!strchr(got, '<'));
	free(got);
	buf_release(&in);
}

int main(void)
{
	RUN(text);
	RUN(json);
	return harness_done();
}
