/* fuzz_pystr.c - libFuzzer target: copying str and bytes objects out of a
 * hostile target (src/py/pystr.h), through the real API and a fake memory
 * source (fuzz_mem.h).
 *
 * Input: byte 0 picks the CPython version (3.8 + its value modulo the
 * number of versions: every layout, the 3.8-3.11 ones with wstr fields and
 * the 3.12+ ones), byte 1 the limit given to pystr_read_bytes (times 16),
 * the rest is the target's memory, with the object at address 8 (read both
 * as a str and as a bytes object).  Reads past the image fail like
 * unmapped memory, so short images take the "header alone" path of
 * pystr_read_str.  Checked besides
 * crashes and sanitizer reports (abort):
 *  - the str comes out as well-formed UTF-8 of at most PYSTR_MAX_CHARS
 *    characters, appended to what the buffer held, which a failure leaves
 *    as it was;
 *  - a bytes object is appended whole and within the limit, or not at all.
 *
 * Built and run by tests/fuzz/run.sh; seeds in tests/fuzz/corpus/pystr
 * (real objects dumped from each interpreter by tests/fuzz/gen_seeds.py).
 */
#include "base/buf.h"
#include "base/error.h"
#include "py/layout.h"
#include "py/pystr.h"

#include "fuzz_mem.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Lone surrogates become U+FFFD (pystr_decode): none may come out. */
#define SURROGATES_KEPT 0

/* Code points in s[0..n) if it is well-formed UTF-8 (shortest forms, at
 * most U+10FFFF; surrogates as allowed above), else -1. */
static long utf8_chars(const unsigned char *s, size_t n)
{
	long chars = 0;
	for (size_t i = 0; i < n; chars++) {
		unsigned c = s[i];
		size_t len;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return -1;
		}
		if (n - i < len)
			return -1;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return -1;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			return -1;
		if (!SURROGATES_KEPT && cp >= 0xd800 && cp <= 0xdfff)
			return -1;
		i += len;
	}
	return chars;
}

/* The layout byte b picks: 3.(oldest + b mod the number of versions). */
static const struct py_layout *version(uint8_t b)
{
	int lo, hi;
	py_layout_range(&lo, &hi);
	return py_layout_find(3, lo + b % (hi - lo + 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	const struct py_layout *l = version(data[0]);
	if (!l)
		abort();
	size_t max = (size_t)data[1] * 16;
	struct mem_source mem;
	fuzz_mem_load(&mem, data + 2, size - 2);
	const raddr_t addr = 8;

	struct buf out = BUF_INIT;
	buf_puts(&out, "x"); /* both append */
	int rc = pystr_read_str(&mem, l, addr, &out);
	if (rc != 0) {
		if ((rc != ERR_FAULT && rc != ERR_CORRUPT) || out.len != 1)
			abort();
	} else {
		long chars = utf8_chars((const unsigned char *)out.data + 1, out.len - 1);
		if (chars < 0 || chars > PYSTR_MAX_CHARS || out.data[out.len] != '\0')
			abort();
	}

	buf_reset(&out);
	buf_puts(&out, "x");
	rc = pystr_read_bytes(&mem, l, addr, max, &out);
	if (rc != 0) {
		if ((rc != ERR_FAULT && rc != ERR_CORRUPT && rc != ERR_LIMIT) || out.len != 1)
			abort();
	} else if (out.len - 1 > max || out.data[out.len] != '\0') {
		abort();
	}
	buf_release(&out);
	return 0;
}
