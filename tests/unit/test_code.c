/* test_code.c - the code object cache (src/py/code.h).
 *
 * A code object with its names and line table is built for each version's
 * layout in a memfd, which mem.c reads through its pread backend (m.memfd:
 * the file offset is the address), as tests/fuzz/fuzz_code.c does.
 */
#include "harness.h"

#include "base/error.h"
#include "base/intern.h"
#include "py/code.h"
#include "py/layout.h"
#include "py/runtime.h"
#include "target/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum {
	A_CODE = 0x100,
	A_FILE = 0x1000,
	A_NAME = 0x1100,
	A_QUAL = 0x1200,
	A_TABLE = 0x1300,
	IMAGE = 0x2000,
};

static void put64(unsigned char *img, size_t at, uint64_t v)
{
	memcpy(img + at, &v, sizeof(v));
}

static void put32(unsigned char *img, size_t at, uint32_t v)
{
	memcpy(img + at, &v, sizeof(v));
}

/* A compact ASCII str object at addr. */
static void ascii_str(unsigned char *img, const struct py_layout *l, size_t addr, const char *s)
{
	put32(img, addr + l->u_state,
	      (1u << l->u_kind_shift) | (1u << l->u_compact_shift) | (1u << l->u_ascii_shift));
	put64(img, addr + l->u_length, strlen(s));
	memcpy(img + addr + l->u_ascii_data, s, strlen(s) + 1);
}

static void code_image(unsigned char *img, const struct py_layout *l, int32_t firstlineno)
{
	memset(img, 0, IMAGE);
	ascii_str(img, l, A_FILE, "f.py");
	ascii_str(img, l, A_NAME, "fn");
	ascii_str(img, l, A_QUAL, "K.fn");
	put64(img, A_TABLE + l->ob_size, 2);
	memcpy(img + A_TABLE + l->b_sval, "\x02\x01", 2);
	put64(img, A_CODE + l->co_filename, A_FILE);
	put64(img, A_CODE + l->co_name, A_NAME);
	if (l->co_qualname != PY_ABSENT)
		put64(img, A_CODE + l->co_qualname, A_QUAL);
	put64(img, A_CODE + l->co_linetable, A_TABLE);
	put32(img, A_CODE + l->co_firstlineno, (uint32_t)firstlineno);
	put64(img, A_CODE + l->ob_size, 4); /* 3.11+: code units */
}

static int load(int fd, const unsigned char *img)
{
	return pwrite(fd, img, IMAGE, 0) == IMAGE ? 0 : -1;
}

/* A code object changed in place (its address reused) is noticed by the
 * sweep of the period it was used in, in every version.  From 3.11 its
 * signature spans 0x90 bytes, more than the sweep's batch had room for, so
 * the sweep never looked at 3.11+ entries. */
TEST(sweep_notices_change)
{
	static struct py_runtime rt;
	static unsigned char img[IMAGE];
	int lo, hi;
	py_layout_range(&lo, &hi);
	for (int minor = lo; minor <= hi; minor++) {
		const struct py_layout *l = py_layout_find(3, minor);
		memset(&rt, 0, sizeof(rt));
		rt.major = 3;
		rt.minor = minor;
		rt.layout = *l;
		struct mem_source mem = { .pid = getpid(), .memfd = memfd_create("test-code", MFD_CLOEXEC) };
		code_image(img, l, 10);
		CHECK(mem.memfd >= 0 && load(mem.memfd, img) == 0);
		struct strtab strings;
		strtab_init(&strings);
		struct py_code_cache c;
		py_code_cache_init(&c, &rt, &mem, &strings);

		struct py_code *code;
		CHECK_EQ_INT(py_code_get(&c, A_CODE, 1, &code), 0);
		CHECK_EQ_INT(code->firstlineno, 10);
		CHECK_STR(strtab_get(&strings, code->file, NULL), "f.py");
		CHECK_STR(strtab_get(&strings, code->func, NULL), minor >= 11 ? "K.fn" : "fn");
		py_code_sweep(&c, 1); /* unchanged: kept */
		CHECK_EQ_INT(c.stats.evictions, 0);

		code_image(img, l, 20);
		CHECK(load(mem.memfd, img) == 0);
		/* the same frame's globals, used recently: taken on trust */
		CHECK_EQ_INT(py_code_get(&c, A_CODE, 1, &code), 0);
		CHECK_EQ_INT(code->firstlineno, 10);
		py_code_sweep(&c, UINT64_MAX / 2);
		if (c.stats.evictions != 1)
			fprintf(stderr, "test_code: 3.%d: the sweep kept a changed code object\n", minor);
		CHECK_EQ_INT(c.stats.evictions, 1);
		CHECK_EQ_INT(py_code_get(&c, A_CODE, 1, &code), 0);
		CHECK_EQ_INT(code->firstlineno, 20);

		py_code_cache_release(&c);
		strtab_release(&strings);
		mem_close(&mem);
	}
}

int main(void)
{
	RUN(sweep_notices_change);
	return harness_done();
}
