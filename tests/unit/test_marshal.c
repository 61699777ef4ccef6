/* test_marshal.c - the marshal writer, byte for byte.
 *
 * Each vector is what marshal.loads() turns into the value in the comment;
 * with STROBE_MARSHAL_DUMP=DIR set, every vector is also written to
 * DIR/<n>.bin so the loads can be checked under each Python (3.8-3.15 were).
 */
#include "harness.h"

#include "base/buf.h"
#include "format/marshal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int vector_no;

static void check_bytes(struct buf *b, const char *want, size_t n, const char *what)
{
	harness_checks++;
	const char *dir = getenv("STROBE_MARSHAL_DUMP");
	if (dir) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%02d.bin", dir, vector_no);
		FILE *f = fopen(path, "wb");
		if (f) {
			fwrite(b->data, 1, b->len, f);
			fclose(f);
		}
	}
	vector_no++;
	if (b->len == n && memcmp(b->data, want, n) == 0) {
		buf_reset(b);
		return;
	}
	harness_failures++;
	fprintf(stderr, "%s: %s: got", harness_current, what);
	for (size_t i = 0; i < b->len; i++)
		fprintf(stderr, " %02x", (unsigned char)b->data[i]);
	fprintf(stderr, "\n");
	buf_reset(b);
}

#define EXPECT(b, lit, what) check_bytes((b), (lit), sizeof(lit) - 1, (what))

TEST(scalars)
{
	struct buf b = BUF_INIT;
	marshal_none(&b);
	EXPECT(&b, "N", "None");
	marshal_bool(&b, true);
	EXPECT(&b, "T", "True");
	marshal_bool(&b, false);
	EXPECT(&b, "F", "False");
	marshal_int(&b, 0);
	EXPECT(&b, "i\0\0\0\0", "0");
	marshal_int(&b, -1);
	EXPECT(&b, "i\xff\xff\xff\xff", "-1");
	marshal_int(&b, INT32_MAX);
	EXPECT(&b, "i\xff\xff\xff\x7f", "2**31-1");
	marshal_int(&b, INT32_MIN);
	EXPECT(&b, "i\x00\x00\x00\x80", "-2**31");
	/* 2**31 = 2 * (2**15)**2: digits 0, 0, 2 */
	marshal_int(&b, (int64_t)INT32_MAX + 1);
	EXPECT(&b, "l\x03\0\0\0\0\0\0\0\x02\0", "2**31");
	marshal_int(&b, (int64_t)INT32_MIN - 1);
	EXPECT(&b, "l\xfd\xff\xff\xff\x01\0\0\0\x02\0", "-2**31-1");
	marshal_int(&b, INT64_MIN);
	EXPECT(&b, "l\xfb\xff\xff\xff\0\0\0\0\0\0\0\0\x08\0", "-2**63");
	marshal_uint(&b, UINT64_MAX);
	EXPECT(&b, "l\x05\0\0\0\xff\x7f\xff\x7f\xff\x7f\xff\x7f\x0f\0", "2**64-1");
	marshal_uint(&b, 7);
	EXPECT(&b, "i\x07\0\0\0", "7");
	marshal_float(&b, 0.5);
	EXPECT(&b, "g\0\0\0\0\0\0\xe0\x3f", "0.5");
	marshal_float(&b, -0.0);
	EXPECT(&b, "g\0\0\0\0\0\0\0\x80", "-0.0");
	marshal_float(&b, 0.001);
	EXPECT(&b, "g\xfc\xa9\xf1\xd2\x4d\x62\x50\x3f", "0.001");
	buf_release(&b);
}

TEST(strings)
{
	struct buf b = BUF_INIT;
	char s[300];
	marshal_str(&b, "", 0);
	EXPECT(&b, "z\0", "''");
	marshal_str(&b, "abc", 3);
	EXPECT(&b, "z\x03" "abc", "'abc'");
	marshal_str(&b, "a\0b", 3);
	EXPECT(&b, "z\x03" "a\0b", "'a\\0b'");

	memset(s, 'a', sizeof(s));
	marshal_str(&b, s, 255);
	CHECK(b.len == 257 && memcmp(b.data, "z\xff", 2) == 0 && memcmp(b.data + 2, s, 255) == 0);
	buf_reset(&b);
	marshal_str(&b, s, 256); /* too long for 'z' */
	CHECK(b.len == 261 && memcmp(b.data, "u\x00\x01\0\0", 5) == 0 &&
	      memcmp(b.data + 5, s, 256) == 0);
	buf_reset(&b);

	marshal_str(&b, "caf\xc3\xa9", 5);
	EXPECT(&b, "u\x05\0\0\0" "caf\xc3\xa9", "'café'");
	marshal_str(&b, "\xf0\x9f\x90\x8d", 4);
	EXPECT(&b, "u\x04\0\0\0\xf0\x9f\x90\x8d", "'\\U0001f40d'");
	/* strict UTF-8: an encoded lone surrogate is three malformed parts */
	marshal_str(&b, "x\xed\xb2\x80", 4);
	EXPECT(&b, "u\x0a\0\0\0x\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "'x\\ufffd\\ufffd\\ufffd'");
	/* invalid bytes become U+FFFD, one per maximal ill-formed part */
	marshal_str(&b, "a\xff" "b", 3);
	EXPECT(&b, "u\x05\0\0\0a\xef\xbf\xbd" "b", "'a\\ufffdb'");
	marshal_str(&b, "\xc3", 1); /* truncated */
	EXPECT(&b, "u\x03\0\0\0\xef\xbf\xbd", "'\\ufffd'");
	marshal_str(&b, "\xc0\x80", 2); /* overlong NUL */
	EXPECT(&b, "u\x06\0\0\0\xef\xbf\xbd\xef\xbf\xbd", "'\\ufffd\\ufffd'");
	marshal_str(&b, "\xe0\x80\x80", 3); /* overlong */
	EXPECT(&b, "u\x09\0\0\0\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "3 x U+FFFD");
	marshal_str(&b, "\xf4\x90\x80\x80", 4); /* above U+10FFFF */
	EXPECT(&b, "u\x0c\0\0\0\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "4 x U+FFFD");
	marshal_str(&b, "\xe9t\xc3\xa9", 4); /* latin-1 byte, then good UTF-8 */
	EXPECT(&b, "u\x06\0\0\0\xef\xbf\xbdt\xc3\xa9", "'\\ufffdté'");
	buf_release(&b);
}

TEST(containers)
{
	struct buf b = BUF_INIT;
	marshal_tuple(&b, 0);
	EXPECT(&b, ")\0", "()");
	marshal_tuple(&b, 1);
	marshal_str(&b, "__sampled__", 11);
	EXPECT(&b, ")\x01z\x0b__sampled__", "('__sampled__',)");

	marshal_tuple(&b, 256);
	CHECK(b.len == 5 && memcmp(b.data, "(\x00\x01\0\0", 5) == 0);
	for (int i = 0; i < 256; i++)
		marshal_none(&b);
	CHECK(b.len == 5 + 256);
	buf_reset(&b);

	/* {('f.py', 3, 'g'): (1, 2, 0.5, -0.0, {}), ('__sampled__',): True} */
	marshal_dict_begin(&b);
	marshal_tuple(&b, 3);
	marshal_str(&b, "f.py", 4);
	marshal_int(&b, 3);
	marshal_str(&b, "g", 1);
	marshal_tuple(&b, 5);
	marshal_uint(&b, 1);
	marshal_uint(&b, 2);
	marshal_float(&b, 0.5);
	marshal_float(&b, -0.0);
	marshal_dict_begin(&b);
	marshal_dict_end(&b);
	marshal_tuple(&b, 1);
	marshal_str(&b, "__sampled__", 11);
	marshal_bool(&b, true);
	marshal_dict_end(&b);
	EXPECT(&b,
	       "{)\x03z\x04" "f.pyi\x03\0\0\0z\x01g"
	       ")\x05i\x01\0\0\0i\x02\0\0\0g\0\0\0\0\0\0\xe0\x3fg\0\0\0\0\0\0\0\x80{0"
	       ")\x01z\x0b__sampled__T0",
	       "dict");
	buf_release(&b);
}

int main(void)
{
	RUN(scalars);
	RUN(strings);
	RUN(containers);
	return harness_done();
}
