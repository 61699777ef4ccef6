/* fuzz_linetable.c - libFuzzer target: the three line-table decoders
 * (src/py/linetable.h) on arbitrary tables.
 *
 * Input: byte 0 picks the kind (its low 2 bits: 1 lnotab 3.8-3.9, 2 PEP 626
 * 3.10, 3 location table 3.11+, 0 an invalid kind), bytes 1-4 are
 * co_firstlineno (int32, little-endian), the rest is the table, passed in
 * a buffer of exactly its size.  It is looked up at the offsets a walker
 * can ask for: negative ones, every offset near the start, a sample across
 * and past the table, huge ones.  Besides crashes and sanitizer reports,
 * the header's contract is checked (abort):
 *  - an error leaves *out all -1; lnotab and PEP 626 give no columns and
 *    end_line == line; a location table never gives end_line < line;
 *  - the walk is a prefix walk: an error at one offset means an error at
 *    every larger one, and a location found inside the table does not
 *    change when bytes are appended after it.
 *
 * Built and run by tests/fuzz/run.sh; seeds in tests/fuzz/corpus/linetable
 * (real tables of every CPython version, made by tests/fuzz/gen_seeds.py).
 */
#include "base/error.h"
#include "py/layout.h"
#include "py/linetable.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Offsets looked up: all up to DENSE, then SPARSE more across the table. */
#define DENSE 64
#define SPARSE 32

static int same(const struct py_location *a, const struct py_location *b)
{
	return a->line == b->line && a->end_line == b->end_line && a->col == b->col &&
	       a->end_col == b->end_col;
}

static int all_unknown(const struct py_location *l)
{
	return l->line == -1 && l->end_line == -1 && l->col == -1 && l->end_col == -1;
}

static void check_one(int kind, const uint8_t *t, size_t len, int first, int64_t off,
		      const uint8_t *longer, size_t longer_len, int *failed)
{
	struct py_location loc;
	int rc = linetable_lookup(kind, t, len, first, off, &loc);
	if (kind < PY_LT_LNOTAB || kind > PY_LT_LOCATIONS) {
		if (rc != ERR_INVAL || !all_unknown(&loc))
			abort();
		return;
	}
	if (rc != 0) {
		if (rc != ERR_CORRUPT || !all_unknown(&loc) || off < 0)
			abort();
		*failed = 1;
		return;
	}
	if (off >= 0 && *failed)
		abort(); /* a damaged entry before a smaller offset was passed */
	if (off < 0) {
		if (loc.line != first)
			abort();
		return;
	}
	if (kind != PY_LT_LOCATIONS) {
		if (loc.end_line != loc.line || loc.col != -1 || loc.end_col != -1)
			abort();
	} else if (loc.end_line < loc.line) {
		abort();
	}
	/* lnotab keeps the last line past the table, so only the other two
	 * answer "found here" unambiguously (any known field) */
	if (kind != PY_LT_LNOTAB && !all_unknown(&loc)) {
		struct py_location l2;
		if (linetable_lookup(kind, longer, longer_len, first, off, &l2) != 0 || !same(&loc, &l2))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 5)
		return 0;
	int kind = data[0] & 3;
	int32_t first;
	memcpy(&first, data + 1, sizeof(first));
	size_t len = size - 5;
	/* exact-size copies: the table alone, and with bytes after it */
	uint8_t *t = malloc(len ? len : 1);
	uint8_t *longer = malloc(len + 8);
	if (!t || !longer)
		abort();
	memcpy(t, data + 5, len);
	memcpy(longer, data + 5, len);
	memcpy(longer + len, "\xf8\x00\xff\x80\x7f\x01\xd0\x00", 8);

	int failed = 0;
	check_one(kind, len ? t : NULL, len, first, INT64_MIN, longer, len + 8, &failed);
	check_one(kind, len ? t : NULL, len, first, -2, longer, len + 8, &failed);
	check_one(kind, len ? t : NULL, len, first, -1, longer, len + 8, &failed);
	int64_t off = 0;
	for (; off < DENSE; off++)
		check_one(kind, len ? t : NULL, len, first, off, longer, len + 8, &failed);
	/* past DENSE: a sample up to well past the end (up to 255 units of
	 * code per table byte) */
	int64_t span = (int64_t)len * 512 + 16, step = span / SPARSE + 1;
	for (; off < span; off += step)
		check_one(kind, len ? t : NULL, len, first, off, longer, len + 8, &failed);
	check_one(kind, len ? t : NULL, len, first, INT64_MAX / 2, longer, len + 8, &failed);
	check_one(kind, len ? t : NULL, len, first, INT64_MAX, longer, len + 8, &failed);

	/* a NULL table with a length is refused */
	struct py_location loc;
	if (len && linetable_lookup(PY_LT_LOCATIONS, NULL, len, first, 0, &loc) != ERR_INVAL)
		abort();
	free(t);
	free(longer);
	return 0;
}
