/* test_buf.c - the growable byte buffer and allocation helpers
 * (src/base/buf.h). */
#include "harness.h"

#include "base/buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

TEST(append)
{
	struct buf b = BUF_INIT;
	CHECK(b.data == NULL);
	CHECK_EQ_INT(b.len, 0);
	buf_append(&b, "abc", 3);
	CHECK_EQ_INT(b.len, 3);
	CHECK_STR(b.data, "abc");
	CHECK(b.cap >= 4);
	buf_putc(&b, 'd');
	buf_puts(&b, "ef");
	CHECK_STR(b.data, "abcdef");
	CHECK_EQ_INT(b.len, 6);

	/* empty appends keep the contents and the terminator */
	buf_append(&b, NULL, 0);
	buf_append(&b, "zzz", 0);
	buf_puts(&b, "");
	CHECK_STR(b.data, "abcdef");
	CHECK_EQ_INT(b.len, 6);

	/* embedded NULs are data: len counts them, a NUL still follows */
	buf_append(&b, "g\0h", 3);
	CHECK_EQ_INT(b.len, 9);
	CHECK(memcmp(b.data, "abcdefg\0h", 10) == 0);
	buf_putc(&b, '\0');
	CHECK_EQ_INT(b.len, 10);
	CHECK(b.data[10] == '\0');
	buf_release(&b);

	/* an empty append to a new buffer gives an empty terminated string */
	buf_append(&b, "", 0);
	CHECK(b.data != NULL);
	CHECK_EQ_INT(b.len, 0);
	CHECK_STR(b.data, "");
	buf_release(&b);
}

TEST(append_growth)
{
	struct buf b = BUF_INIT;
	/* byte by byte across many doublings, then big blocks */
	int ok = 1;
	for (size_t i = 0; i < 100000; i++) {
		buf_putc(&b, (char)('a' + i % 26));
		ok &= b.len == i + 1 && b.cap > b.len && b.data[b.len] == '\0';
	}
	CHECK(ok);
	for (size_t i = 0; i < 100000; i++)
		ok &= b.data[i] == (char)('a' + i % 26);
	CHECK(ok);
	size_t big = 3 * 1000 * 1000 + 7;
	char *blk = malloc(big);
	for (size_t i = 0; i < big; i++)
		blk[i] = (char)(i * 31);
	buf_append(&b, blk, big);
	CHECK_EQ_INT(b.len, 100000 + big);
	CHECK(b.cap > b.len);
	CHECK(memcmp(b.data + 100000, blk, big) == 0);
	CHECK(b.data[b.len] == '\0');
	free(blk);
	buf_release(&b);
}

TEST(reserve)
{
	struct buf b = BUF_INIT;
	buf_reserve(&b, 1000);
	CHECK(b.cap >= 1001);
	CHECK_EQ_INT(b.len, 0);
	char *before = b.data;
	size_t cap = b.cap;
	/* appends within the reservation do not move the data */
	for (int i = 0; i < 1000; i++)
		buf_putc(&b, 'x');
	CHECK(b.data == before);
	CHECK_EQ_INT(b.cap, cap);
	CHECK_EQ_INT(b.len, 1000);
	CHECK(b.data[1000] == '\0');
	/* reserving what is already there is a no-op */
	buf_reserve(&b, 0);
	CHECK(b.data == before);
	buf_release(&b);
}

TEST(printf_small)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%d-%s-%c", 42, "x", 'y');
	CHECK_STR(b.data, "42-x-y");
	CHECK_EQ_INT(b.len, 6);
	buf_printf(&b, "%s", "");
	CHECK_STR(b.data, "42-x-y");
	CHECK_EQ_INT(b.len, 6);
	buf_printf(&b, "|%05.1f|%llx", 3.14159, 0xabcULL);
	CHECK_STR(b.data, "42-x-y|003.1|abc");
	CHECK_EQ_INT(b.len, strlen("42-x-y|003.1|abc"));
	buf_release(&b);

	/* an empty format on a new buffer */
	buf_printf(&b, "%s", "");
	CHECK_EQ_INT(b.len, 0);
	CHECK(b.data == NULL || b.data[0] == '\0');
	buf_release(&b);
}

/* Output lengths around the 256-byte stack buffer buf_vprintf formats into
 * first: 255 fits, 256 needs the second pass. */
TEST(printf_large)
{
	char want[5000];
	int ok = 1;
	for (size_t n = 250; n < 262; n++) {
		struct buf b = BUF_INIT;
		buf_puts(&b, "pre:");
		memset(want, 'q', n);
		want[n] = '\0';
		buf_printf(&b, "%s", want);
		ok &= b.len == 4 + n && memcmp(b.data, "pre:", 4) == 0 &&
		      memcmp(b.data + 4, want, n) == 0 && b.data[b.len] == '\0';
		buf_release(&b);
	}
	CHECK(ok);

	/* formatted (not just copied) long output, appended to existing data,
	 * with the buffer needing to grow mid-way */
	struct buf b = BUF_INIT;
	buf_puts(&b, "head");
	buf_printf(&b, "%0300d|%-400s|%s", 7, "left", "tail");
	size_t expect = 4 + 300 + 1 + 400 + 1 + 4;
	CHECK_EQ_INT(b.len, expect);
	CHECK(b.data[b.len] == '\0');
	CHECK(memcmp(b.data, "head", 4) == 0);
	CHECK(b.data[4] == '0' && b.data[4 + 298] == '0' && b.data[4 + 299] == '7');
	CHECK(b.data[304] == '|');
	CHECK(memcmp(b.data + 305, "left ", 5) == 0);
	CHECK(b.data[305 + 399] == ' ' && b.data[705] == '|');
	CHECK(memcmp(b.data + 706, "tail", 5) == 0);

	/* many large printfs in a row */
	buf_reset(&b);
	for (int i = 0; i < 100; i++)
		buf_printf(&b, "%d:%0500d;", i, i);
	size_t len = 0;
	for (int i = 0; i < 100; i++)
		len += (size_t)snprintf(want, sizeof(want), "%d:%0500d;", i, i);
	CHECK_EQ_INT(b.len, len);
	CHECK(strlen(b.data) == len);
	CHECK(memcmp(b.data + b.len - 4, "099;", 4) == 0);
	buf_release(&b);

	/* a very long argument */
	size_t big = 100000;
	char *s = malloc(big + 1);
	memset(s, 'w', big);
	s[big] = '\0';
	buf_printf(&b, "<%s>", s);
	CHECK_EQ_INT(b.len, big + 2);
	CHECK(b.data[0] == '<' && b.data[big + 1] == '>' && b.data[big + 2] == '\0');
	CHECK(b.data[1] == 'w' && b.data[big] == 'w');
	free(s);
	buf_release(&b);
}

static void vwrap(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

TEST(vprintf)
{
	struct buf b = BUF_INIT;
	char pad[600];
	memset(pad, 'p', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	/* the long path uses the va_list a second time: both passes must see
	 * the same arguments */
	vwrap(&b, "%d %s %d", 1, pad, 2);
	CHECK_EQ_INT(b.len, 2 + 599 + 2);
	CHECK(b.data[0] == '1' && b.data[1] == ' ' && b.data[2] == 'p');
	CHECK(memcmp(b.data + b.len - 2, " 2", 3) == 0);
	buf_release(&b);
}

TEST(reset_release)
{
	struct buf b = BUF_INIT;
	buf_reset(&b); /* on a never-used buffer */
	CHECK(b.data == NULL);
	CHECK_EQ_INT(b.len, 0);
	buf_puts(&b, "hello world");
	char *data = b.data;
	size_t cap = b.cap;
	buf_reset(&b);
	CHECK_EQ_INT(b.len, 0);
	CHECK(b.data == data); /* memory kept */
	CHECK_EQ_INT(b.cap, cap);
	CHECK_STR(b.data, "");
	buf_puts(&b, "hi");
	CHECK_STR(b.data, "hi");
	CHECK(b.data == data);
	buf_release(&b);
	CHECK(b.data == NULL);
	CHECK_EQ_INT(b.len, 0);
	CHECK_EQ_INT(b.cap, 0);
	buf_release(&b); /* twice is harmless */
	buf_puts(&b, "again");
	CHECK_STR(b.data, "again");
	buf_release(&b);
}

TEST(vec_grow)
{
	uint64_t *v = NULL;
	size_t cap = 0;
	VEC_RESERVE(v, cap, 0);
	CHECK(v == NULL);
	CHECK_EQ_INT(cap, 0);
	VEC_RESERVE(v, cap, 1);
	CHECK(v != NULL);
	CHECK(cap >= 1);
	size_t first = cap;
	v[0] = 11;
	/* within capacity: unchanged */
	uint64_t *before = v;
	VEC_RESERVE(v, cap, first);
	CHECK(v == before);
	CHECK_EQ_INT(cap, first);
	/* doubling until enough; contents kept */
	VEC_RESERVE(v, cap, first + 1);
	CHECK_EQ_INT(cap, first * 2);
	CHECK_EQ_INT(v[0], 11);
	VEC_RESERVE(v, cap, 1000);
	CHECK(cap >= 1000 && cap < 2000);
	CHECK((cap & (cap - 1)) == 0 || cap % first == 0);
	for (size_t i = 0; i < 1000; i++)
		v[i] = i * 3;
	VEC_RESERVE(v, cap, 100000);
	CHECK(cap >= 100000);
	int ok = 1;
	for (size_t i = 0; i < 1000; i++)
		ok &= v[i] == i * 3;
	CHECK(ok);
	v[99999] = 5; /* the whole capacity is usable (ASan checks) */
	free(v);

	/* element type with an odd size */
	struct odd {
		char c[13];
	} *o = NULL;
	size_t ocap = 0;
	for (size_t i = 0; i < 5000; i++) {
		VEC_RESERVE(o, ocap, i + 1);
		memset(o[i].c, (int)(i & 0x7f), sizeof(o[i].c));
	}
	ok = 1;
	for (size_t i = 0; i < 5000; i++)
		ok &= o[i].c[0] == (char)(i & 0x7f) && o[i].c[12] == (char)(i & 0x7f);
	CHECK(ok);
	free(o);
}

TEST(xalloc)
{
	char *s = xstrdup("strobe");
	CHECK_STR(s, "strobe");
	free(s);
	s = xstrdup("");
	CHECK_STR(s, "");
	free(s);
	/* zero-size requests give a pointer that can be freed */
	void *p = xmalloc(0);
	CHECK(p != NULL);
	free(p);
	int *z = xcalloc(100, sizeof(int));
	int zero = 1;
	for (int i = 0; i < 100; i++)
		zero &= z[i] == 0;
	CHECK(zero);
	z = xrealloc(z, 200 * sizeof(int));
	CHECK(z[99] == 0);
	free(z);
	p = xcalloc(0, 0);
	CHECK(p != NULL);
	free(p);
}

TEST(vec_grow_zero)
{
	/* every element past the old capacity is 0, the old ones are kept */
	uint32_t *v = NULL;
	size_t cap = 0;
	VEC_RESERVE_ZERO(v, cap, 3);
	CHECK(v != NULL && cap >= 3);
	int ok = 1;
	for (size_t i = 0; i < cap; i++)
		ok &= v[i] == 0;
	CHECK(ok);
	size_t first = cap;
	for (size_t i = 0; i < first; i++)
		v[i] = 0xabcd0000u + (uint32_t)i;
	uint32_t *before = v;
	VEC_RESERVE_ZERO(v, cap, first); /* within capacity: nothing touched */
	CHECK(v == before && cap == first && v[first - 1] == 0xabcd0000u + first - 1);
	VEC_RESERVE_ZERO(v, cap, 5000);
	CHECK(cap >= 5000);
	ok = 1;
	for (size_t i = 0; i < first; i++)
		ok &= v[i] == 0xabcd0000u + (uint32_t)i;
	for (size_t i = first; i < cap; i++)
		ok &= v[i] == 0;
	CHECK(ok);
	free(v);

	/* an odd element size: zeroed by bytes, not elements */
	struct odd {
		char c[13];
	} *o = NULL;
	size_t ocap = 0;
	VEC_RESERVE_ZERO(o, ocap, 1);
	memset(o, 0x55, ocap * sizeof(*o));
	size_t old = ocap;
	VEC_RESERVE_ZERO(o, ocap, old + 1);
	ok = 1;
	for (size_t i = old; i < ocap; i++)
		for (size_t k = 0; k < sizeof(o[i].c); k++)
			ok &= o[i].c[k] == 0;
	ok &= o[old - 1].c[12] == 0x55;
	CHECK(ok);
	free(o);
}

int main(void)
{
	RUN(append);
	RUN(append_growth);
	RUN(reserve);
	RUN(printf_small);
	RUN(printf_large);
	RUN(vprintf);
	RUN(reset_release);
	RUN(vec_grow);
	RUN(vec_grow_zero);
	RUN(xalloc);
	return harness_done();
}
