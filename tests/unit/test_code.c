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
#include "py/opcodes.h"
#include "py/runtime.h"
#include "process/mem.h"

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

/* A code cache of 3.minor over the image img, loaded into a memfd that
 * stands for the target's memory. */
struct fixture {
	struct py_runtime rt;
	struct mem_source mem;
	struct strtab strings;
	struct py_code_cache c;
};

static void fixture_open(struct fixture *fx, int minor, const unsigned char *img)
{
	memset(&fx->rt, 0, sizeof(fx->rt));
	fx->rt.major = 3;
	fx->rt.minor = minor;
	fx->rt.layout = *py_layout_find(3, minor);
	fx->mem = (struct mem_source){ .pid = getpid(), .memfd = memfd_create("test-code", MFD_CLOEXEC) };
	CHECK(fx->mem.memfd >= 0 && load(fx->mem.memfd, img) == 0);
	strtab_init(&fx->strings);
	py_code_cache_init(&fx->c, &fx->rt, &fx->mem, &fx->strings);
}

static void fixture_close(struct fixture *fx)
{
	py_code_cache_release(&fx->c);
	strtab_release(&fx->strings);
	mem_close(&fx->mem);
}

/* A code object changed in place (its address reused) is noticed by the
 * sweep of the period it was used in, in every version.  From 3.11 its
 * signature spans 0x90 bytes, more than the sweep's batch had room for, so
 * the sweep never looked at 3.11+ entries. */
TEST(sweep_notices_change)
{
	static struct fixture fx;
	static unsigned char img[IMAGE];
	int lo, hi;
	py_layout_range(&lo, &hi);
	for (int minor = lo; minor <= hi; minor++) {
		const struct py_layout *l = py_layout_find(3, minor);
		code_image(img, l, 10);
		fixture_open(&fx, minor, img);
		struct py_code_cache *cc = &fx.c;
		struct strtab *strings = &fx.strings;

		struct py_code *code;
		CHECK_EQ_INT(py_code_get(cc, A_CODE, 1, &code), 0);
		CHECK_EQ_INT(code->firstlineno, 10);
		CHECK_STR(strtab_get(strings, code->file, NULL), "f.py");
		CHECK_STR(strtab_get(strings, code->func, NULL), minor >= 11 ? "K.fn" : "fn");
		py_code_sweep(cc, 1); /* unchanged: kept */
		CHECK_EQ_INT(cc->stats.evictions, 0);

		code_image(img, l, 20);
		CHECK(load(fx.mem.memfd, img) == 0);
		/* the same frame's globals, used recently: taken on trust */
		CHECK_EQ_INT(py_code_get(cc, A_CODE, 1, &code), 0);
		CHECK_EQ_INT(code->firstlineno, 10);
		py_code_sweep(cc, UINT64_MAX / 2);
		if (cc->stats.evictions != 1)
			fprintf(stderr, "test_code: 3.%d: the sweep kept a changed code object\n", minor);
		CHECK_EQ_INT(cc->stats.evictions, 1);
		CHECK_EQ_INT(py_code_get(cc, A_CODE, 1, &code), 0);
		CHECK_EQ_INT(code->firstlineno, 20);

		fixture_close(&fx);
	}
}

static void count_idle(void *ctx, const struct py_code *e)
{
	(void)e;
	(*(int *)ctx)++;
}

static int idle_entries(struct py_code_cache *cc)
{
	int n = 0;
	py_code_each_idle(cc, count_idle, &n);
	return n;
}

/* py_code_each_idle names the entries not used since the last sweep: the
 * ones py_code_get revalidates after the next one (the BPF engine has its
 * program copy them again before that sweep). */
TEST(idle_entries)
{
	static struct fixture fx;
	static unsigned char img[IMAGE];
	const struct py_layout *l = py_layout_find(3, 11);
	code_image(img, l, 10);
	fixture_open(&fx, 11, img);
	struct py_code_cache *cc = &fx.c;
	struct py_code *code;
	CHECK_EQ_INT(py_code_get(cc, A_CODE, 1, &code), 0);
	CHECK_EQ_INT(idle_entries(cc), 0); /* used in this period */
	CHECK(py_code_sweep_due(cc, 1000));
	py_code_sweep(cc, 1000);
	CHECK(!py_code_sweep_due(cc, 1001));
	CHECK_EQ_INT(idle_entries(cc), 1); /* not used since */
	CHECK_EQ_INT(py_code_get(cc, A_CODE, 1, &code), 0);
	CHECK_EQ_INT(idle_entries(cc), 0);
	py_code_sweep(cc, 1ULL << 40);
	CHECK_EQ_INT(idle_entries(cc), 1);
	/* its address reused: the next sweep leaves it (unused), then it is
	 * no longer taken on trust */
	code_image(img, l, 20);
	CHECK(load(fx.mem.memfd, img) == 0);
	CHECK(py_code_sweep_due(cc, 1ULL << 41));
	py_code_sweep(cc, 1ULL << 41);
	CHECK_EQ_INT(cc->stats.evictions, 0);
	CHECK_EQ_INT(py_code_get(cc, A_CODE, 1, &code), 0);
	CHECK_EQ_INT(code->firstlineno, 20);
	CHECK_EQ_INT(cc->stats.evictions, 1);
	fixture_close(&fx);
}

static bool want_all_but_b(void *ctx, const struct py_code *e)
{
	return e->addr != *(const raddr_t *)ctx;
}

/* py_code_check_idle revalidates the idle entries asked for, the most
 * recently used first, up to its bound: one unchanged is trusted through
 * the next period (not idle, not reread at its use), one changed evicted;
 * those not asked for, or past the bound, stay idle. */
TEST(check_idle)
{
	static struct fixture fx;
	static unsigned char img[IMAGE];
	const struct py_layout *l = py_layout_find(3, 11);
	enum { B = A_CODE + 0x400, C = A_CODE + 0x800 };
	code_image(img, l, 10);
	memcpy(img + B, img + A_CODE, l->co_size);
	memcpy(img + C, img + A_CODE, l->co_size);
	fixture_open(&fx, 11, img);
	struct py_code_cache *cc = &fx.c;
	struct py_code *code;
	raddr_t not_b = B;
	CHECK_EQ_INT(py_code_get(cc, C, 1, &code), 0);
	py_code_sweep(cc, 1000);
	CHECK_EQ_INT(py_code_get(cc, A_CODE, 1, &code), 0); /* used after C */
	CHECK_EQ_INT(py_code_get(cc, B, 1, &code), 0);
	py_code_sweep(cc, 1ULL << 40);
	CHECK_EQ_INT(idle_entries(cc), 3);
	/* bound 1: A, the latest used of those asked for */
	uint64_t reads = cc->stats.revalidations;
	py_code_check_idle(cc, want_all_but_b, &not_b, 1);
	CHECK_EQ_INT(cc->stats.revalidations - reads, 1);
	CHECK_EQ_INT(idle_entries(cc), 2);
	/* C changed: evicted (A, checked already, is not read again) */
	put32(img, C + l->co_firstlineno, 30);
	CHECK(load(fx.mem.memfd, img) == 0);
	py_code_check_idle(cc, want_all_but_b, &not_b, 8);
	CHECK_EQ_INT(cc->stats.evictions, 1);
	CHECK_EQ_INT(idle_entries(cc), 1); /* B */
	/* after the sweep, A is taken on trust (its change not seen), B is
	 * revalidated */
	py_code_sweep(cc, 1ULL << 41);
	put32(img, A_CODE + l->co_firstlineno, 40);
	put32(img, B + l->co_firstlineno, 50);
	CHECK(load(fx.mem.memfd, img) == 0);
	CHECK_EQ_INT(py_code_get(cc, A_CODE, 1, &code), 0);
	CHECK_EQ_INT(code->firstlineno, 10);
	CHECK_EQ_INT(py_code_get(cc, B, 1, &code), 0);
	CHECK_EQ_INT(code->firstlineno, 50);
	fixture_close(&fx);
}

/* The opcode of major.minor named name, or -1. */
static int opcode_named(int minor, const char *name)
{
	for (int op = 0; op < 256; op++) {
		const char *n = py_opcode_name(3, minor, op);
		if (n && !strcmp(n, name))
			return op;
	}
	return -1;
}

/* 3.11+: the bytes a code object's frames take on the data stack (the walker
 * finds a callee pushed right after its caller), and, 3.11-3.12, whether an
 * instruction pointer lies in an instruction's inline caches (where a frame
 * that pushed a callee points). */
TEST(frame_size_and_inline_caches)
{
	static struct fixture fx;
	static unsigned char img[IMAGE];
	int lo, hi;
	py_layout_range(&lo, &hi);
	for (int minor = 11; minor <= hi; minor++) {
		const struct py_layout *l = py_layout_find(3, minor);
		code_image(img, l, 10);
		if (l->co_framesize != PY_ABSENT) {
			put32(img, A_CODE + l->co_framesize, 17);
		} else {
			put32(img, A_CODE + l->co_nlocalsplus, 3);
			put32(img, A_CODE + l->co_stacksize, 5);
		}
		/* odd versions: a generator's code (CO_GENERATOR) */
		if (minor & 1)
			put32(img, A_CODE + l->co_flags, 0x20 & l->co_gen_flags);
		/* RESUME, CALL and its caches, RETURN_VALUE: 8 code units */
		int call = opcode_named(minor, "CALL"), caches = py_opcode_caches(3, minor, call);
		int resume = opcode_named(minor, "RESUME"), ret = opcode_named(minor, "RETURN_VALUE");
		CHECK(call >= 0 && resume >= 0 && ret >= 0 && caches >= 1 && caches <= 5);
		unsigned char *code = img + A_CODE + l->co_code_adaptive;
		code[0] = (unsigned char)resume;
		code[2] = (unsigned char)call;
		code[2 + 2 * (1 + caches)] = (unsigned char)ret;
		put64(img, A_CODE + l->ob_size, 8);
		fixture_open(&fx, minor, img);
		struct py_code_cache *cc = &fx.c;

		struct py_code *e;
		CHECK_EQ_INT(py_code_get(cc, A_CODE, 1, &e), 0);
		if (l->co_framesize != PY_ABSENT)
			CHECK_EQ_INT(e->framesize, 17 * 8);
		else /* the frame's own words, then locals and stack */
			CHECK_EQ_INT(e->framesize, l->if_size + (3 + 5) * 8);
		CHECK_EQ_INT(e->generator, minor & 1);
		if (l->ip_kind == PY_IP_PREV_INSTR) {
			CHECK_EQ_INT(py_code_in_caches(cc, e, 0), 0);
			CHECK_EQ_INT(py_code_in_caches(cc, e, 2), 0);       /* the CALL */
			for (int k = 1; k <= caches; k++)                   /* its caches */
				CHECK_EQ_INT(py_code_in_caches(cc, e, 2 + 2 * k), 1);
			CHECK_EQ_INT(py_code_in_caches(cc, e, 2 + 2 * (1 + caches)), 0);
			CHECK(py_code_in_caches(cc, e, 16) < 0);            /* past the code */
			CHECK(py_code_in_caches(cc, e, -2) < 0);
		} else {
			/* instr_ptr never stops inside caches */
			CHECK(py_code_in_caches(cc, e, 2) < 0);
		}
		fixture_close(&fx);
	}
}

int main(void)
{
	RUN(sweep_notices_change);
	RUN(idle_entries);
	RUN(check_idle);
	RUN(frame_size_and_inline_caches);
	return harness_done();
}
