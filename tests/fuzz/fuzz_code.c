/* fuzz_code.c - libFuzzer target: reading a code object out of a hostile
 * target (src/py/code.h): its header, file and function names (pystr),
 * line table (copied, then decoded by linetable.c), and for --opcodes its
 * bytecode (3.8-3.10) or the instruction starts of its inline bytecode
 * (3.11-3.12).  Driven through the real cache API over a fake memory
 * source (fuzz_mem.h).
 *
 * Input: byte 0 picks the CPython version (3.8 + its value modulo the
 * number of versions), byte 1 the options (bit 0: --opcodes; bit 1:
 * PyCode_Type is known, at FUZZ_CODE_TYPE, so ob_type is checked), the
 * rest is the target's memory with the code object at address 8.  The
 * entry is then used the way the
 * walker uses it: locations of instructions across its bytecode, the
 * instruction start of each, a hit, a revalidation, a sweep; then the
 * object changes under the cache and must be noticed.  Checked
 * besides crashes and sanitizer reports (abort): names are interned
 * strings, instruction starts are at or before the offset asked, the
 * memoised location equals a fresh lookup, an unchanged image never makes
 * an entry stale.
 *
 * Built and run by tests/fuzz/run.sh; seeds in tests/fuzz/corpus/code
 * (real code objects dumped from each interpreter by tests/fuzz/gen_seeds.py).
 */
#include "base/error.h"
#include "base/intern.h"
#include "py/code.h"
#include "py/layout.h"
#include "py/linetable.h"
#include "py/runtime.h"

#include "fuzz_mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The PyCode_Type address the seeds write into ob_type. */
#define FUZZ_CODE_TYPE 0x7e57c0de00ULL
/* Instruction offsets looked at, at most. */
#define MAX_OFFSETS 600

static int same(const struct py_location *a, const struct py_location *b)
{
	return a->line == b->line && a->end_line == b->end_line && a->col == b->col &&
	       a->end_col == b->end_col;
}

static void use_entry(const struct py_runtime *rt, struct strtab *strings, struct py_code *code)
{
	const struct py_layout *l = &rt->layout;
	if (code->addr != 8 || code->file >= strings->count || code->func >= strings->count ||
	    code->linetable_len > PY_CODE_MAX_LINETABLE || (code->linetable_len && !code->linetable))
		abort();
	size_t n;
	if (!strtab_get(strings, code->file, &n) || !strtab_get(strings, code->func, &n))
		abort();
	/* offsets the walker can see: before the start, each unit of the
	 * bytecode (or of what the line table could cover), past the end */
	uint64_t span = code->code_len ? code->code_len : (uint64_t)code->linetable_len * 2;
	if (span > MAX_OFFSETS)
		span = MAX_OFFSETS;
	for (int64_t off = -2; off <= (int64_t)span + 2; off++) {
		struct py_location a, b;
		py_code_location(code, l->linetable_kind, off, &a);
		py_code_location(code, l->linetable_kind, off, &b); /* the memo */
		if (!same(&a, &b))
			abort();
		if (code->linetable) {
			struct py_location c;
			if (linetable_lookup(l->linetable_kind, code->linetable, code->linetable_len,
					     code->firstlineno, off, &c) != 0)
				c.line = c.end_line = c.col = c.end_col = -1;
			if (!same(&a, &c))
				abort();
		}
		int64_t start = py_code_instruction_start(code, off);
		if (start > off || (off >= 0 && start < 0) || (start != off && (start & 1)))
			abort();
	}
}

/* The layout byte b picks: 3.(oldest + b mod the number of versions). */
static const struct py_layout *version(uint8_t b)
{
	int lo, hi;
	py_layout_range(&lo, &hi);
	return py_layout_find(3, lo + b % (hi - lo + 1));
}

/* The code object's address reused by another one (here: the same with
 * co_firstlineno changed, a word of the signature): a recheck replaces
 * the entry (or drops it when the new object does not parse), and once
 * the old object is back, a sweep evicts the entry made from the other. */
static void changed_under(struct py_code_cache *c, struct mem_source *mem,
			  const struct py_runtime *rt, struct strtab *strings, const uint8_t *img,
			  size_t n)
{
	size_t at = 8 + rt->layout.co_firstlineno;
	if (at >= n)
		abort(); /* the header was read whole */
	uint8_t *other = malloc(n);
	if (!other)
		abort();
	memcpy(other, img, n);
	other[at] ^= 1;
	fuzz_mem_load(mem, other, n);
	struct py_code *code;
	if (py_code_get(c, 8, 0x2000, &code) != 0)
		abort(); /* the same frame's globals: taken on trust */
	int32_t old_first = code->firstlineno;
	int rc = py_code_recheck(c, &code);
	if (rc == 1) {
		if (code->firstlineno != (old_first ^ 1))
			abort();
		use_entry(rt, strings, code);
	} else if (rc != ERR_CORRUPT && rc != ERR_FAULT) {
		abort();
	}
	fuzz_mem_load(mem, img, n);
	uint64_t evictions = c->stats.evictions;
	if (rc == 1) {
		/* used in this sweep period, so the sweep looks at it */
		if (py_code_get(c, 8, 0x2000, &code) != 0)
			abort();
		py_code_sweep(c, UINT64_MAX / 2);
		if (c->stats.evictions != evictions + 1)
			abort();
	}
	/* a miss again, into a freed slot */
	if (py_code_get(c, 8, 0x1000, &code) != 0 || code->firstlineno != old_first)
		abort();
	use_entry(rt, strings, code);
	free(other);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	static struct py_runtime rt; /* PATH_MAX inside: not on the stack */
	memset(&rt, 0, sizeof(rt));
	const struct py_layout *l = version(data[0]);
	if (!l)
		abort();
	rt.major = 3;
	rt.minor = l->minor;
	rt.micro = -1;
	rt.layout = *l;
	rt.code_type_addr = (data[1] & 2) ? FUZZ_CODE_TYPE : 0;

	struct mem_source mem;
	fuzz_mem_load(&mem, data + 2, size - 2);
	struct strtab strings;
	strtab_init(&strings);
	struct py_code_cache c;
	py_code_cache_init(&c, &rt, &mem, &strings);
	c.want_opcodes = data[1] & 1;

	struct py_code *code;
	int rc = py_code_get(&c, 8, 0x1000, &code);
	if (rc == 0) {
		use_entry(&rt, &strings, code);
		/* a hit; another module's frame (revalidated); a recheck; a
		 * sweep: the image did not change, so the entry stays */
		struct py_code *again;
		if (py_code_get(&c, 8, 0x1000, &again) != 0 || again != code)
			abort();
		if (py_code_get(&c, 8, 0x2000, &again) != 0 || again != code)
			abort();
		if (py_code_recheck(&c, &again) != 0 || again != code)
			abort();
		py_code_sweep(&c, 1);
		if (py_code_get(&c, 8, 0x2000, &again) != 0 || again != code || c.stats.evictions)
			abort();
		use_entry(&rt, &strings, again);
		changed_under(&c, &mem, &rt, &strings, data + 2, size - 2);
	} else if (rc != ERR_CORRUPT && rc != ERR_FAULT) {
		abort();
	}
	py_code_cache_release(&c);
	strtab_release(&strings);
	return 0;
}
