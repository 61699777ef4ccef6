/* fuzz_locals.c - libFuzzer target: `strobe dump --locals` (src/py/locals.h)
 * on a hostile target's frame, through the real API and a fake memory
 * source (fuzz_mem.h).
 *
 * Input: byte 0 picks the CPython version (3.8 + its value modulo the
 * number of versions: frame objects and interpreter frames, 3.14+ stack
 * references), bytes 1-4 the frame's address (u32, little-endian), the
 * rest is the target's memory from address 0.  The code object is the one
 * the frame names (so the "still runs that code" check passes and the
 * fuzzer reaches the values); PyCode_Type and None are unknown.  Checked
 * besides crashes, sanitizer reports, leaks and time (abort):
 *  - a failure leaves the output as it was;
 *  - a success appends at most PY_LOCALS_MAX + 1 lines of valid UTF-8,
 *    each "name = repr", of bounded length.
 *
 * Built and run by tests/fuzz/run.sh; seeds in tests/fuzz/corpus/locals
 * (the frames tests/unit/test_locals.c builds, by tests/fuzz/gen_seeds.py).
 */
#include "base/buf.h"
#include "base/error.h"
#include "base/utf8.h"
#include "py/layout.h"
#include "py/locals.h"
#include "py/runtime.h"

#include "fuzz_mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The longest line: a name of PY_LOCALS_NAME_CHARS characters (+ "..."),
 * and a repr of PY_LOCALS_TEXT_CHARS escaped characters (\UXXXXXXXX) or a
 * type name, with some slack. */
#define MAX_LINE (PY_LOCALS_NAME_CHARS * 4 + 16 + PY_LOCALS_TEXT_CHARS * 10 + 600)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 5)
		return 0;
	int lo, hi;
	py_layout_range(&lo, &hi);
	static struct py_runtime rt;
	memset(&rt, 0, sizeof(rt));
	rt.major = 3;
	rt.minor = lo + data[0] % (hi - lo + 1);
	const struct py_layout *l = py_layout_find(3, rt.minor);
	if (!l)
		abort();
	rt.layout = *l;
	uint32_t frame;
	memcpy(&frame, data + 1, 4);
	struct mem_source mem;
	fuzz_mem_load(&mem, data + 5, size - 5);

	/* the code object the frame names, as the walker saw it */
	uint32_t at = l->frame_model == PY_FRAMES_OBJECTS ? l->fo_code : l->if_executable;
	uint64_t code = 0;
	if ((uint64_t)frame + at + 8 <= size - 5)
		memcpy(&code, data + 5 + frame + at, 8);
	code &= ~(uint64_t)l->executable_tag_mask;

	static struct py_locals pl;
	py_locals_init(&pl, &mem, &rt);
	struct buf out = BUF_INIT;
	buf_puts(&out, "x");
	int rc = py_locals_frame(&pl, frame, code, &out);
	if (rc != 0) {
		if (rc > 0 || out.len != 1)
			abort();
	} else {
		if (!utf8_valid(out.data, out.len))
			abort();
		size_t lines = 0;
		for (const char *p = out.data + 1; p < out.data + out.len;) {
			const char *nl = memchr(p, '\n', (size_t)(out.data + out.len - p));
			if (!nl || (size_t)(nl - p) > MAX_LINE)
				abort();
			if (!memmem(p, (size_t)(nl - p), " = ", 3) && strncmp(p, "... ", 4) != 0)
				abort();
			lines++;
			p = nl + 1;
		}
		if (lines > PY_LOCALS_MAX + 1)
			abort();
	}
	buf_release(&out);
	return 0;
}
