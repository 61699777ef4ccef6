/* test_locals.c - dump --locals on hand-built target memory: every value
 * kind, and what a hostile or torn target can put there (huge lengths and
 * counts, a cell holding itself, a heap type named "int", a type name with
 * no end, a code object that is not one, a frame that moved on) gives a
 * bounded answer or a clean failure.  Layouts: 3.12's (interpreter frames)
 * and 3.9's (frame objects); the real interpreters are in
 * tests/functional (dump_locals). */
#include "harness.h"

#include "base/buf.h"
#include "base/error.h"
#include "py/layout.h"
#include "py/locals.h"
#include "py/runtime.h"
#include "process/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* low, so that an image from address 0 up is small: the fuzz seeds
 * (write_seed) */
#define BASE 0x1000ull
#define HEAP (1u << 20)
static unsigned char *heap;
static size_t top;
static struct py_runtime rt;
static const struct py_layout *L;
static raddr_t code_type, none_obj;

static raddr_t alloc(size_t n)
{
	raddr_t a = BASE + top;
	top += (n + 15) & ~(size_t)15;
	if (top > HEAP)
		abort();
	return a;
}

static void w64(raddr_t a, uint64_t v) { memcpy(heap + (a - BASE), &v, 8); }
static void w32(raddr_t a, uint32_t v) { memcpy(heap + (a - BASE), &v, 4); }
static void wbytes(raddr_t a, const void *p, size_t n) { memcpy(heap + (a - BASE), p, n); }

static raddr_t mk_type(const char *name, bool heap_type)
{
	raddr_t t = alloc(0x100);
	raddr_t s = alloc(strlen(name) + 1);
	wbytes(s, name, strlen(name) + 1);
	w64(t + L->tp_name, s);
	w64(t + L->tp_flags, heap_type ? 1ull << L->tpflags_heaptype_bit : 0);
	return t;
}

static raddr_t t_int, t_str, t_list, t_cell, t_tuple, t_bytes, t_float;

static raddr_t obj(raddr_t type, size_t size)
{
	raddr_t o = alloc(size < 0x40 ? 0x40 : size);
	w64(o + L->ob_type, type);
	return o;
}

/* a non-negative int below 2**30 */
static raddr_t mk_int(uint32_t v)
{
	raddr_t o = obj(t_int, 0x40);
	if (L->long_lv_tag != PY_ABSENT)
		w64(o + L->long_lv_tag, (uint64_t)(v ? 1 : 0) << L->long_non_size_bits | (v ? 0 : 1));
	else
		w64(o + L->ob_size, v ? 1 : 0);
	w32(o + L->long_digits, v);
	return o;
}

/* an ASCII str whose header says length chars (n of them written) */
static raddr_t mk_str_len(const char *s, size_t n, uint64_t length)
{
	raddr_t o = obj(t_str, L->u_ascii_data + n + 1);
	w64(o + L->u_length, length);
	w32(o + L->u_state, 1u << L->u_compact_shift | 1u << L->u_ascii_shift | 1u << L->u_kind_shift);
	wbytes(o + L->u_ascii_data, s, n);
	return o;
}

static raddr_t mk_str(const char *s)
{
	return mk_str_len(s, strlen(s), strlen(s));
}

static raddr_t mk_tuple(const raddr_t *items, size_t n)
{
	raddr_t o = obj(t_tuple, L->tuple_items + n * 8);
	w64(o + L->ob_size, n);
	for (size_t i = 0; i < n; i++)
		w64(o + L->tuple_items + i * 8, items[i]);
	return o;
}

static raddr_t mk_bytes(const unsigned char *p, size_t n)
{
	raddr_t o = obj(t_bytes, L->b_sval + n + 1);
	w64(o + L->ob_size, n);
	wbytes(o + L->b_sval, p, n);
	return o;
}

static raddr_t mk_cell(raddr_t ref)
{
	raddr_t o = obj(t_cell, 0x40);
	w64(o + L->cell_ref, ref);
	return o;
}

static void setup(int minor)
{
	memset(&rt, 0, sizeof(rt));
	rt.major = 3;
	rt.minor = minor;
	rt.layout = *py_layout_find(3, minor);
	L = &rt.layout;
	free(heap);
	heap = calloc(1, HEAP);
	top = 0;
	code_type = mk_type("code", false);
	rt.code_type_addr = code_type;
	raddr_t none_type = mk_type("NoneType", false);
	none_obj = obj(none_type, 0x10);
	rt.none_addr = none_obj;
	t_int = mk_type("int", false);
	t_str = mk_type("str", false);
	t_list = mk_type("list", false);
	t_cell = mk_type("cell", false);
	t_tuple = mk_type("tuple", false);
	t_bytes = mk_type("bytes", false);
	t_float = mk_type("float", false);
}

/* With STROBE_LOCALS_SEEDS=DIR, each frame read is also written to DIR as
 * a seed of tests/fuzz/fuzz_locals.c: [minor - 8][frame, u32 LE][the
 * memory from address 0] (tests/fuzz/gen_seeds.py locals). */
static void write_seed(raddr_t frame)
{
	static int count;
	const char *dir = getenv("STROBE_LOCALS_SEEDS");
	if (!dir)
		return;
	char path[4096];
	snprintf(path, sizeof(path), "%s/gen-3.%d-%d", dir, rt.minor, count++);
	FILE *f = fopen(path, "wb");
	if (!f)
		abort();
	unsigned char hdr[5] = { (unsigned char)(rt.minor - 8) };
	uint32_t fr = (uint32_t)frame;
	memcpy(hdr + 1, &fr, 4);
	static const unsigned char zero[BASE];
	if (fwrite(hdr, 1, 5, f) != 5 || fwrite(zero, 1, BASE, f) != BASE ||
	    fwrite(heap, 1, top, f) != top || fclose(f) != 0)
		abort();
}

/* py_locals_frame over the heap: the return code, the text in *out */
static int run(raddr_t frame, raddr_t code, char **out)
{
	if (frame < BASE + top)
		write_seed(frame);
	struct mem_snapshot snap;
	struct mem_source m;
	mem_snapshot_init(&snap);
	CHECK_EQ_INT(mem_snapshot_add(&snap, BASE, heap, top), 0);
	mem_snapshot_source(&m, &snap, 1);
	struct py_locals pl;
	py_locals_init(&pl, &m, &rt);
	struct buf b = BUF_INIT;
	int rc = py_locals_frame(&pl, frame, code, &b);
	buf_putc(&b, '\0');
	*out = b.data;
	mem_snapshot_release(&snap);
	return rc;
}

/* 3.12: a code object with n slots named names[i], kinds[i] */
static raddr_t mk_code_interp(const char *const *names, const unsigned char *kinds, size_t n)
{
	raddr_t *nm = calloc(n ? n : 1, sizeof(*nm));
	for (size_t i = 0; i < n; i++)
		nm[i] = mk_str(names[i]);
	raddr_t code = obj(code_type, L->co_localspluskinds + 16);
	w32(code + L->co_nlocalsplus, (uint32_t)n);
	w64(code + L->co_localsplusnames, mk_tuple(nm, n));
	w64(code + L->co_localspluskinds, mk_bytes(kinds, n));
	free(nm);
	return code;
}

static raddr_t mk_frame_interp(raddr_t code, const raddr_t *values, size_t n)
{
	raddr_t f = alloc(L->if_size + n * 8);
	w64(f + L->if_executable, code);
	for (size_t i = 0; i < n; i++)
		w64(f + L->if_size + i * 8, values[i]);
	return f;
}

TEST(interp_frame)
{
	setup(12);
	const char *names[] = { "a", "s", "n", "hidden", "unbound", "c", "empty", "big_list",
				"fake_int", "long_str", "b", "x", "odd", "loop" };
	unsigned char LOC = L->co_fast_local, CELL = L->co_fast_cell;
	unsigned char kinds[] = { LOC, LOC, LOC, LOC | L->co_fast_hidden, LOC, CELL, CELL, LOC,
				  LOC, LOC, LOC, LOC, LOC, CELL };
	raddr_t list = obj(t_list, 0x40);
	w64(list + L->ob_size, 1ull << 62);
	raddr_t fake = obj(mk_type("int", true), 0x40);
	char sixty[100];
	memset(sixty, 'y', sizeof(sixty));
	raddr_t long_str = mk_str_len(sixty, 60, 1ull << 40); /* only 60 chars behind it */
	unsigned char bb[] = { 0, 'a', '\'', 0xff };
	/* a type whose name runs on for more than 64 bytes */
	raddr_t odd_type = alloc(0x100), odd_name = alloc(200);
	memset(heap + (odd_name - BASE), 'N', 200);
	w64(odd_type + L->tp_name, odd_name);
	raddr_t loop = mk_cell(0);
	w64(loop + L->cell_ref, loop); /* a cell holding itself */
	raddr_t fl = obj(t_float, 0x40);
	double d = 0.1;
	memcpy(heap + (fl + L->float_fval - BASE), &d, 8);
	raddr_t values[] = { mk_int(5), mk_str("hi"), none_obj, mk_int(9), 0, mk_cell(mk_int(7)),
			     mk_cell(0), list, fake, long_str, mk_bytes(bb, 4), fl,
			     obj(odd_type, 0x40), loop };
	size_t n = sizeof(values) / sizeof(values[0]);
	raddr_t code = mk_code_interp(names, kinds, n);
	raddr_t frame = mk_frame_interp(code, values, n);
	char *got;
	CHECK_EQ_INT(run(frame, code, &got), 0);
	char want[1024];
	snprintf(want, sizeof(want),
		 "a = 5\ns = 'hi'\nn = None\nc = 7\nbig_list = <list of %llu>\nfake_int = <int object>\n"
		 "long_str = '%.60s'...\nb = b\"\\x00a'\\xff\"\nx = 0.1\nodd = <%.64s object>\n"
		 "loop = <cell object>\n",
		 1ull << 62, sixty, "NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN");
	CHECK_STR(got, want);
	free(got);

	/* the frame now runs other code: nothing */
	CHECK_EQ_INT(run(frame, code + 16, &got), ERR_CORRUPT);
	CHECK_STR(got, "");
	free(got);
	/* not a code object */
	w64(code + L->ob_type, t_int);
	CHECK_EQ_INT(run(frame, code, &got), ERR_CORRUPT);
	CHECK_STR(got, "");
	free(got);
	w64(code + L->ob_type, code_type);
	/* a slot count past the bound, or one the names disagree with */
	w32(code + L->co_nlocalsplus, 100000);
	CHECK_EQ_INT(run(frame, code, &got), ERR_LIMIT);
	free(got);
	w32(code + L->co_nlocalsplus, (uint32_t)n - 1);
	CHECK_EQ_INT(run(frame, code, &got), ERR_CORRUPT);
	free(got);
	/* a frame outside the memory */
	CHECK(run(BASE + HEAP * 4, code, &got) < 0);
	free(got);
}

TEST(many)
{
	setup(12);
	enum { N = 100 };
	const char *names[N];
	char store[N][8];
	unsigned char kinds[N];
	raddr_t values[N];
	for (int i = 0; i < N; i++) {
		snprintf(store[i], sizeof(store[i]), "v%d", i);
		names[i] = store[i];
		kinds[i] = L->co_fast_local;
		values[i] = mk_int((uint32_t)i);
	}
	raddr_t code = mk_code_interp(names, kinds, N);
	raddr_t frame = mk_frame_interp(code, values, N);
	char *got;
	CHECK_EQ_INT(run(frame, code, &got), 0);
	size_t lines = 0;
	for (char *p = got; *p; p++)
		lines += *p == '\n';
	CHECK_EQ_INT((int)lines, PY_LOCALS_MAX + 1);
	CHECK(strstr(got, "v63 = 63\n... 36 more\n") != NULL);
	free(got);
}

/* names with a newline (a local's, a type's) stay on their line */
TEST(hostile_names)
{
	setup(12);
	const char *names[] = { "evil\nfake = 1", "t" };
	unsigned char kinds[] = { L->co_fast_local, L->co_fast_local };
	raddr_t values[] = { mk_int(2), obj(mk_type("T\n  x = 3", true), 0x40) };
	raddr_t code = mk_code_interp(names, kinds, 2);
	raddr_t frame = mk_frame_interp(code, values, 2);
	char *got;
	CHECK_EQ_INT(run(frame, code, &got), 0);
	CHECK_STR(got, "evil\\x0afake = 1 = 2\nt = <T\\x0a  x = 3 object>\n");
	free(got);
}

/* 3.14+: stack references with tag bits */
TEST(stackrefs)
{
	setup(15);
	const char *names[] = { "a", "gone", "t" };
	unsigned char kinds[] = { L->co_fast_local, L->co_fast_local, L->co_fast_local };
	raddr_t values[] = { mk_int(5) | 1, 1 /* PyStackRef_NULL */,
			     (uint64_t)-7 << L->stackref_int_shift | L->stackref_int_tag };
	raddr_t code = mk_code_interp(names, kinds, 3);
	raddr_t frame = mk_frame_interp(code | 1, values, 3);
	char *got;
	CHECK_EQ_INT(run(frame, code, &got), 0);
	CHECK_STR(got, "a = 5\nt = -7\n");
	free(got);
}

/* 3.9: a frame object, locals then cells */
TEST(frame_object)
{
	setup(9);
	raddr_t vn[] = { mk_str("x"), mk_str("y") }, cv[] = { mk_str("z") }, fv[] = { mk_str("w") };
	raddr_t code = obj(code_type, 0x200);
	w32(code + L->co_nlocals, 2);
	w64(code + L->co_varnames, mk_tuple(vn, 2));
	w64(code + L->co_cellvars, mk_tuple(cv, 1));
	w64(code + L->co_freevars, mk_tuple(fv, 1));
	raddr_t frame = alloc(L->fo_localsplus + 4 * 8);
	w64(frame + L->fo_code, code);
	raddr_t values[] = { mk_int(1), 0, mk_cell(mk_str("q")), mk_cell(none_obj) };
	for (int i = 0; i < 4; i++)
		w64(frame + L->fo_localsplus + (size_t)i * 8, values[i]);
	char *got;
	CHECK_EQ_INT(run(frame, code, &got), 0);
	CHECK_STR(got, "x = 1\nz = 'q'\nw = None\n");
	free(got);
	/* a tuple size past the bound */
	raddr_t huge = mk_tuple(cv, 1);
	w64(huge + L->ob_size, 1ull << 40);
	w64(code + L->co_cellvars, huge);
	CHECK_EQ_INT(run(frame, code, &got), ERR_LIMIT);
	free(got);
}

int main(void)
{
	RUN(interp_frame);
	RUN(many);
	RUN(hostile_names);
	RUN(stackrefs);
	RUN(frame_object);
	free(heap);
	return harness_done();
}
