/* test_pystr.c - str objects copied out of a target (src/py/pystr.h).
 *
 * The objects are built here in a memfd, read through mem.c's pread
 * backend (m.memfd: the file offset is the address), the same way
 * tests/fuzz/fuzz_pystr.c feeds them.
 */
#include "harness.h"

#include "base/buf.h"
#include "base/error.h"
#include "py/layout.h"
#include "py/pystr.h"
#include "target/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void put(struct buf *b, uint32_t cp)
{
	buf_reset(b);
	pystr_put_utf8(b, cp);
}

static int bytes_are(const struct buf *b, const char *want, size_t n)
{
	return b->len == n && memcmp(b->data, want, n) == 0;
}

TEST(put_utf8)
{
	struct buf b = BUF_INIT;
	put(&b, 'A');
	CHECK(bytes_are(&b, "A", 1));
	put(&b, 0xe9);
	CHECK(bytes_are(&b, "\xc3\xa9", 2));
	put(&b, 0xffff);
	CHECK(bytes_are(&b, "\xef\xbf\xbf", 3));
	put(&b, 0x10000);
	CHECK(bytes_are(&b, "\xf0\x90\x80\x80", 4));
	put(&b, 0x10ffff);
	CHECK(bytes_are(&b, "\xf4\x8f\xbf\xbf", 4));
	/* past Unicode (a UCS-4 str may hold any 32-bit value): U+FFFD in
	 * its 3-byte form; it used to come out as the overlong F0 8F BF BD */
	static const uint32_t beyond[] = { 0x110000, 0xaeaeaeae, 0xffffffff };
	for (size_t i = 0; i < sizeof(beyond) / sizeof(beyond[0]); i++) {
		put(&b, beyond[i]);
		CHECK(bytes_are(&b, "\xef\xbf\xbd", 3));
	}
	buf_release(&b);
}

/* A compact UCS-4 str of layout l with the given code points, at address
 * 8 of a memfd; m reads it. */
static int ucs4_str(struct mem_source *m, const struct py_layout *l, const uint32_t *cps, size_t n)
{
	unsigned char obj[512];
	memset(obj, 0, sizeof(obj));
	uint32_t state = (4u << l->u_kind_shift) | (1u << l->u_compact_shift);
	uint64_t len = n;
	memcpy(obj + l->u_state, &state, sizeof(state));
	memcpy(obj + l->u_length, &len, sizeof(len));
	memcpy(obj + l->u_compact_data, cps, n * 4);
	int fd = memfd_create("test-pystr", MFD_CLOEXEC);
	if (fd < 0 || pwrite(fd, obj, sizeof(obj), 8) != (ssize_t)sizeof(obj))
		return -1;
	memset(m, 0, sizeof(*m));
	m->pid = getpid();
	m->memfd = fd;
	return 0;
}

TEST(ucs4_beyond_unicode)
{
	static const uint32_t cps[] = { 'a', 0x110000, 0x1f600, 0xaeaeaeae };
	for (int minor = 8; minor <= 15; minor++) {
		const struct py_layout *l = py_layout_find(3, minor);
		struct mem_source m;
		CHECK(l != NULL);
		if (!l || ucs4_str(&m, l, cps, 4) != 0) {
			CHECK(0);
			continue;
		}
		struct buf b = BUF_INIT;
		CHECK_EQ_INT(pystr_read_str(&m, l, 8, &b), 0);
		CHECK(bytes_are(&b, "a\xef\xbf\xbd\xf0\x9f\x98\x80\xef\xbf\xbd", 11));
		buf_release(&b);
		mem_close(&m);
	}
}

int main(void)
{
	RUN(put_utf8);
	RUN(ucs4_beyond_unicode);
	return harness_done();
}
