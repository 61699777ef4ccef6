/* test_linetable.c - py/linetable against every CPython's own answers.
 *
 * The fixtures in tests/fixtures/linetable/py3_X.txt were written by
 * tools/gen_linetable_fixtures.py running inside each interpreter (format
 * described there); every instruction offset they list is checked here.  The
 * rest of the file feeds hand-made and damaged tables, each in a buffer of
 * exactly its length so the sanitizer build catches any overread.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "harness.h"
#include "py/layout.h"
#include "py/linetable.h"

#define FIXTURE_DIR "tests/fixtures/linetable"
#define FIRST_MINOR 8
#define LAST_MINOR 15
#define MAX_REPORTED 20 /* mismatches printed per fixture file */

/* The code object being checked, as read from a "code" line. */
struct fixture_code {
	char name[256];
	int firstlineno;
	long codelen;
	uint8_t *table;
	size_t len;
	long covered; /* end of the last "p" range, to check the fixture tiles the code */
};

struct fixture_stats {
	int kind;
	long codes, offsets, probes, mismatches;
};

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes hex (or "-" for empty) into a fresh buffer of exactly its size. */
static int parse_hex(const char *hex, uint8_t **out, size_t *len)
{
	size_t n = strcmp(hex, "-") == 0 ? 0 : strlen(hex);

	*out = NULL;
	*len = 0;
	if (n % 2)
		return -1;
	if (n == 0)
		return 0;
	*out = malloc(n / 2);
	if (!*out)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_nibble(hex[2 * i]), lo = hex_nibble(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		(*out)[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}

static void report(const char *file, struct fixture_stats *st, const struct fixture_code *co,
                   long off, const struct py_location *got, const struct py_location *want, int rc)
{
	st->mismatches++;
	if (st->mismatches > MAX_REPORTED)
		return;
	fprintf(stderr,
	        "%s: %s @%ld: got rc %d (%d, %d, %d, %d), want (%d, %d, %d, %d)\n", file,
	        co->name, off, rc, got->line, got->end_line, got->col, got->end_col, want->line,
	        want->end_line, want->col, want->end_col);
}

/* The fixture tiles [0, codelen) with "p" ranges; a gap means a broken file. */
static void finish_code(struct fixture_code *co)
{
	if (co->name[0])
		CHECK_EQ_INT(co->covered, co->codelen);
	free(co->table);
	memset(co, 0, sizeof(*co));
}

static void check_range(const char *file, struct fixture_stats *st, struct fixture_code *co,
                        long start, long end, const struct py_location *want)
{
	CHECK_EQ_INT(start, co->covered);
	co->covered = end;
	for (long off = start; off < end; off += 2) {
		struct py_location got;
		int rc = linetable_lookup(st->kind, co->table, co->len, co->firstlineno, off, &got);

		st->offsets++;
		if (rc != 0 || got.line != want->line || got.end_line != want->end_line ||
		    got.col != want->col || got.end_col != want->end_col)
			report(file, st, co, off, &got, want, rc);
	}
}

static void check_probe(const char *file, struct fixture_stats *st, const struct fixture_code *co,
                        long off, int line)
{
	struct py_location got, want = { line, -2, -2, -2 };
	int rc = linetable_lookup(st->kind, co->table, co->len, co->firstlineno, off, &got);

	st->probes++;
	if (rc != 0 || got.line != line)
		report(file, st, co, off, &got, &want, rc);
}

/* Looks a few offsets up in t and counts answers other than 0 or
 * ERR_CORRUPT-with-all-unknown. */
static int probe_damaged(int kind, const uint8_t *t, size_t len, const struct fixture_code *co)
{
	int64_t offs[] = { -2, 0, 2, co->codelen / 2 & ~1L, co->codelen - 2, co->codelen,
		           INT64_MAX };
	int bad = 0;

	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		struct py_location got;
		int rc = linetable_lookup(kind, t, len, co->firstlineno, offs[i], &got);

		if (rc != 0 && rc != ERR_CORRUPT)
			bad++;
		if (rc != 0 && (got.line != -1 || got.end_line != -1 || got.col != -1 ||
		                got.end_col != -1))
			bad++;
	}
	return bad;
}

/* Cuts the table at every length (up to a bound, to stay fast on the huge
 * ones), then also flips the last byte kept: every answer must be 0 or
 * ERR_CORRUPT, and since each copy is exactly its length, ASan sees any
 * overread. */
static void check_truncations(int kind, const struct fixture_code *co)
{
	size_t max = co->len < 400 ? co->len : 400;

	for (size_t cut = 0; cut <= max; cut++) {
		uint8_t *copy = cut ? malloc(cut) : NULL;
		int bad;

		if (cut && !copy)
			abort();
		if (cut)
			memcpy(copy, co->table, cut);
		bad = probe_damaged(kind, copy, cut, co);
		if (cut) {
			copy[cut - 1] ^= 0xff;
			bad += probe_damaged(kind, copy, cut, co);
		}
		if (bad)
			fprintf(stderr, "%s cut at %zu: unexpected result\n", co->name, cut);
		CHECK(bad == 0);
		free(copy);
	}
}

static int expected_kind(int minor)
{
	if (minor < 10)
		return PY_LT_LNOTAB;
	return minor == 10 ? PY_LT_LINETABLE : PY_LT_LOCATIONS;
}

static void check_fixture(int minor)
{
	char path[128];
	struct fixture_stats st = { 0 };
	struct fixture_code co = { 0 };
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), FIXTURE_DIR "/py3_%d.txt", minor);
	f = fopen(path, "r");
	if (!f)
		fprintf(stderr, "%s: missing (run tools/gen_linetable_fixtures.sh)\n", path);
	CHECK(f != NULL);
	if (!f)
		return;
	while (getline(&line, &cap, f) > 0) {
		char name[256];
		long a, b;
		int fl, hex_at = -1;
		struct py_location want;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "kind %d", &st.kind) == 1) {
			CHECK_EQ_INT(st.kind, expected_kind(minor));
		} else if (sscanf(line, "code %255s %d %ld %n", name, &fl, &a, &hex_at) == 3 &&
		           hex_at > 0) {
			char *hex = line + hex_at;

			hex[strcspn(hex, " \n")] = '\0';
			finish_code(&co);
			snprintf(co.name, sizeof(co.name), "%s", name);
			co.firstlineno = fl;
			co.codelen = a;
			CHECK(parse_hex(hex, &co.table, &co.len) == 0);
			check_truncations(st.kind, &co);
			st.codes++;
		} else if (sscanf(line, "p %ld %ld %d %d %d %d", &a, &b, &want.line, &want.end_line,
		                  &want.col, &want.end_col) == 6) {
			check_range(path, &st, &co, a, b, &want);
		} else if (sscanf(line, "l %ld %d", &a, &fl) == 2) {
			check_probe(path, &st, &co, a, fl);
		} else {
			fprintf(stderr, "%s: cannot parse: %s", path, line);
			CHECK(0);
		}
	}
	finish_code(&co);
	free(line);
	fclose(f);
	if (st.mismatches)
		fprintf(stderr, "%s: %ld mismatches\n", path, st.mismatches);
	CHECK_EQ_INT(st.mismatches, 0);
	/* A fixture that lost most of its content must not pass quietly. */
	CHECK(st.codes >= 50);
	CHECK(st.offsets >= 3000);
	CHECK(st.probes >= 50 * 7);
	printf("%s: %ld code objects, %ld offsets, %ld probes\n", path, st.codes, st.offsets,
	       st.probes);
}

TEST(fixtures)
{
	for (int minor = FIRST_MINOR; minor <= LAST_MINOR; minor++)
		check_fixture(minor);
}

/* Looks up off in a heap copy of exactly len bytes. */
static int lookup(int kind, const uint8_t *t, size_t len, int first, int64_t off,
                  struct py_location *out)
{
	uint8_t *copy = len ? malloc(len) : NULL;
	int rc;

	if (len && !copy)
		abort();
	if (len)
		memcpy(copy, t, len);
	rc = linetable_lookup(kind, copy, len, first, off, out);
	free(copy);
	return rc;
}

#define CHECK_LOC(loc, l, el, c, ec)           \
	do {                                       \
		CHECK_EQ_INT((loc).line, (l));         \
		CHECK_EQ_INT((loc).end_line, (el));    \
		CHECK_EQ_INT((loc).col, (c));          \
		CHECK_EQ_INT((loc).end_col, (ec));     \
	} while (0)

/* One entry of each 3.11+ form, decoded by hand from the format. */
TEST(location_forms)
{
	static const uint8_t t[] = {
		0xe8, 0x04,             /* NO_COLUMNS, 1 unit: line += 2 */
		0xf9,                   /* NONE, 2 units */
		0x98, 0x25,             /* SHORT code 3, 1 unit: col 26, width 5 */
		0xe2, 200, 210,         /* ONE_LINE2, 3 units: line += 2, cols 200..210 */
		0xf0, 0x07, 0x46, 0x01, /* LONG, 1 unit: line -= 3, end_line += 70, */
		0x48, 0x4e, 0x01, 0x00, /* col+1 = 5000 (3 groups), end_col unknown */
	};
	struct py_location loc;

	CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, t, sizeof(t), 100, 0, &loc), 0);
	CHECK_LOC(loc, 102, 102, -1, -1);
	CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, t, sizeof(t), 100, 1, &loc), 0);
	CHECK_LOC(loc, 102, 102, -1, -1);
	CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, t, sizeof(t), 100, 2, &loc), 0);
	CHECK_LOC(loc, -1, -1, -1, -1);
	CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, t, sizeof(t), 100, 4, &loc), 0);
	CHECK_LOC(loc, -1, -1, -1, -1);
	CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, t, sizeof(t), 100, 6, &loc), 0);
	CHECK_LOC(loc, 102, 102, 26, 31);
	for (int64_t off = 8; off < 14; off += 2) {
		CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, t, sizeof(t), 100, off, &loc), 0);
		CHECK_LOC(loc, 104, 104, 200, 210);
	}
	CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, t, sizeof(t), 100, 14, &loc), 0);
	CHECK_LOC(loc, 101, 171, 4999, -1);
	/* Past the last entry: nothing known, as co_positions() has no entry. */
	CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, t, sizeof(t), 100, 16, &loc), 0);
	CHECK_LOC(loc, -1, -1, -1, -1);
	/* Not started: only the first line is known. */
	CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, t, sizeof(t), 100, -2, &loc), 0);
	CHECK_LOC(loc, 100, -1, -1, -1);
}

TEST(older_forms)
{
	/* lnotab: +6 bytes line +1; +250 bytes line -128 (one signed byte). */
	static const uint8_t lnotab[] = { 0, 2, 6, 1, 250, 0x80 };
	/* PEP 626: 4 bytes no line; 0 bytes +127; 6 bytes +3; 2 bytes no line. */
	static const uint8_t pep626[] = { 4, 0x80, 0, 127, 6, 3, 2, 0x80 };
	struct py_location loc;

	CHECK_EQ_INT(lookup(PY_LT_LNOTAB, lnotab, sizeof(lnotab), 500, 0, &loc), 0);
	CHECK_LOC(loc, 502, 502, -1, -1);
	CHECK_EQ_INT(lookup(PY_LT_LNOTAB, lnotab, sizeof(lnotab), 500, 6, &loc), 0);
	CHECK_LOC(loc, 503, 503, -1, -1);
	CHECK_EQ_INT(lookup(PY_LT_LNOTAB, lnotab, sizeof(lnotab), 500, 255, &loc), 0);
	CHECK_LOC(loc, 503, 503, -1, -1);
	CHECK_EQ_INT(lookup(PY_LT_LNOTAB, lnotab, sizeof(lnotab), 500, 256, &loc), 0);
	CHECK_LOC(loc, 375, 375, -1, -1);
	CHECK_EQ_INT(lookup(PY_LT_LNOTAB, lnotab, sizeof(lnotab), 500, INT64_MAX, &loc), 0);
	CHECK_LOC(loc, 375, 375, -1, -1);
	CHECK_EQ_INT(lookup(PY_LT_LNOTAB, lnotab, sizeof(lnotab), 500, -1, &loc), 0);
	CHECK_LOC(loc, 500, 500, -1, -1);

	CHECK_EQ_INT(lookup(PY_LT_LINETABLE, pep626, sizeof(pep626), 10, 0, &loc), 0);
	CHECK_LOC(loc, -1, -1, -1, -1);
	CHECK_EQ_INT(lookup(PY_LT_LINETABLE, pep626, sizeof(pep626), 10, 4, &loc), 0);
	CHECK_LOC(loc, 140, 140, -1, -1);
	CHECK_EQ_INT(lookup(PY_LT_LINETABLE, pep626, sizeof(pep626), 10, 9, &loc), 0);
	CHECK_LOC(loc, 140, 140, -1, -1);
	CHECK_EQ_INT(lookup(PY_LT_LINETABLE, pep626, sizeof(pep626), 10, 10, &loc), 0);
	CHECK_LOC(loc, -1, -1, -1, -1);
	CHECK_EQ_INT(lookup(PY_LT_LINETABLE, pep626, sizeof(pep626), 10, 12, &loc), 0);
	CHECK_LOC(loc, -1, -1, -1, -1);
	CHECK_EQ_INT(lookup(PY_LT_LINETABLE, pep626, sizeof(pep626), 10, -2, &loc), 0);
	CHECK_LOC(loc, 10, 10, -1, -1);
}

TEST(empty_and_bad_arguments)
{
	struct py_location loc;
	static const uint8_t one = 0x80;

	/* An empty table: lnotab keeps firstlineno (what 3.8 answers), the
	 * others know nothing. */
	CHECK_EQ_INT(linetable_lookup(PY_LT_LNOTAB, NULL, 0, 7, 0, &loc), 0);
	CHECK_LOC(loc, 7, 7, -1, -1);
	CHECK_EQ_INT(linetable_lookup(PY_LT_LINETABLE, NULL, 0, 7, 0, &loc), 0);
	CHECK_LOC(loc, -1, -1, -1, -1);
	CHECK_EQ_INT(linetable_lookup(PY_LT_LOCATIONS, NULL, 0, 7, 0, &loc), 0);
	CHECK_LOC(loc, -1, -1, -1, -1);
	CHECK_EQ_INT(linetable_lookup(PY_LT_LOCATIONS, NULL, 0, 7, INT64_MIN, &loc), 0);
	CHECK_LOC(loc, 7, -1, -1, -1);

	CHECK_EQ_INT(linetable_lookup(PY_LT_LOCATIONS, NULL, 4, 7, 0, &loc), ERR_INVAL);
	CHECK_LOC(loc, -1, -1, -1, -1);
	CHECK_EQ_INT(linetable_lookup(0, &one, 1, 7, 0, &loc), ERR_INVAL);
	CHECK_EQ_INT(linetable_lookup(4, &one, 1, 7, 0, &loc), ERR_INVAL);
	CHECK_EQ_INT(linetable_lookup(-1, &one, 1, 7, 0, &loc), ERR_INVAL);
	CHECK_LOC(loc, -1, -1, -1, -1);
}

TEST(hostile_location_tables)
{
	struct py_location loc;
	uint8_t endless[64];
	/* A LONG entry whose first varint continues to the end of the table. */
	endless[0] = 0xf0;
	memset(endless + 1, 0x7f, sizeof(endless) - 1);
	CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, endless, sizeof(endless), 1, 0, &loc), ERR_CORRUPT);
	CHECK_LOC(loc, -1, -1, -1, -1);
	/* Same, but the varint ends after seven groups: longer than any uint32. */
	endless[7] = 0x00;
	CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, endless, 8, 1, 0, &loc), ERR_CORRUPT);
	{
		/* Six groups, but a value above 32 bits. */
		static const uint8_t big[] = { 0xe8, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x3f };
		CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, big, sizeof(big), 1, 0, &loc), ERR_CORRUPT);
	}
	{
		/* Six groups, the largest signed delta that fits: 2^31 - 1 lines. */
		static const uint8_t t[] = { 0xe8, 0x7e, 0x7f, 0x7f, 0x7f, 0x7f, 0x03 };
		CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, t, sizeof(t), 0, 0, &loc), 0);
		CHECK_LOC(loc, INT32_MAX, INT32_MAX, -1, -1);
		CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, t, sizeof(t), 1, 0, &loc), ERR_CORRUPT);
	}
	{
		/* Line overflow through the one-line form and the end-line delta. */
		static const uint8_t t1[] = { 0xd8, 1, 2 };
		static const uint8_t t2[] = { 0xf0, 0x00, 0x01, 0x01, 0x01 };
		CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, t1, sizeof(t1), INT32_MAX - 1, 0, &loc), 0);
		CHECK_LOC(loc, INT32_MAX, INT32_MAX, 1, 2);
		CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, t1, sizeof(t1), INT32_MAX, 0, &loc), ERR_CORRUPT);
		CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, t2, sizeof(t2), INT32_MAX, 0, &loc), ERR_CORRUPT);
		CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, t2, sizeof(t2), INT32_MAX - 1, 0, &loc), 0);
		CHECK_LOC(loc, INT32_MAX - 1, INT32_MAX, 0, 0);
	}
	{
		/* A column of 2^32 - 2 does not fit an int32_t. */
		static const uint8_t t[] = { 0xf0, 0, 0, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x03, 0 };
		CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, t, sizeof(t), 1, 0, &loc), ERR_CORRUPT);
	}
	{
		/* Truncated bodies of each form. */
		static const uint8_t s[] = { 0x80 }, o[] = { 0xd0, 1 }, n[] = { 0xe8 },
				     l[] = { 0xf0, 0, 0, 1 };
		CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, s, sizeof(s), 1, 0, &loc), ERR_CORRUPT);
		CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, o, sizeof(o), 1, 0, &loc), ERR_CORRUPT);
		CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, n, sizeof(n), 1, 0, &loc), ERR_CORRUPT);
		CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, l, sizeof(l), 1, 0, &loc), ERR_CORRUPT);
	}
	{
		/* No entry-start bit, a short form whose second byte has bit 7, a
		 * varint running into the next entry's start byte. */
		static const uint8_t a[] = { 0x00, 0x00 }, b[] = { 0x80, 0x80 },
				     c[] = { 0xe8, 0x41, 0xf8 };
		CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, a, sizeof(a), 1, 0, &loc), ERR_CORRUPT);
		CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, b, sizeof(b), 1, 0, &loc), ERR_CORRUPT);
		CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, c, sizeof(c), 1, 0, &loc), ERR_CORRUPT);
	}
	{
		/* Damage after the entry covering the offset is not looked at. */
		static const uint8_t t[] = { 0xe0, 5, 9, 0x00, 0x00 };
		CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, t, sizeof(t), 1, 0, &loc), 0);
		CHECK_LOC(loc, 3, 3, 5, 9);
		CHECK_EQ_INT(lookup(PY_LT_LOCATIONS, t, sizeof(t), 1, 2, &loc), ERR_CORRUPT);
	}
}

TEST(hostile_pair_tables)
{
	struct py_location loc;
	static const uint8_t up[] = { 0, 127, 2, 0 };
	static const uint8_t odd[] = { 2, 1, 7 };
	static size_t big_len = 1 << 22;
	uint8_t *big = malloc(big_len);

	/* Line numbers leaving int32_t. */
	CHECK_EQ_INT(lookup(PY_LT_LNOTAB, up, sizeof(up), INT32_MAX - 127, 0, &loc), 0);
	CHECK_LOC(loc, INT32_MAX, INT32_MAX, -1, -1);
	CHECK_EQ_INT(lookup(PY_LT_LNOTAB, up, sizeof(up), INT32_MAX - 126, 0, &loc), ERR_CORRUPT);
	CHECK_LOC(loc, -1, -1, -1, -1);
	CHECK_EQ_INT(lookup(PY_LT_LINETABLE, up, sizeof(up), INT32_MAX - 126, 0, &loc), ERR_CORRUPT);
	/* A trailing odd byte is ignored, as CPython reads whole pairs. */
	CHECK_EQ_INT(lookup(PY_LT_LNOTAB, odd, sizeof(odd), 1, 100, &loc), 0);
	CHECK_LOC(loc, 2, 2, -1, -1);
	CHECK_EQ_INT(lookup(PY_LT_LINETABLE, odd, sizeof(odd), 1, 2, &loc), 0);
	CHECK_LOC(loc, -1, -1, -1, -1);

	/* Four MiB of zero-length pairs that keep adding lines: one pass over
	 * the table, and an error once the line leaves int32_t. */
	if (!big)
		abort();
	for (size_t i = 0; i < big_len; i += 2) {
		big[i] = 0;
		big[i + 1] = 127;
	}
	CHECK_EQ_INT(linetable_lookup(PY_LT_LINETABLE, big, big_len, 0, 0, &loc), 0);
	CHECK_LOC(loc, -1, -1, -1, -1);
	CHECK_EQ_INT(linetable_lookup(PY_LT_LNOTAB, big, big_len, 0, 0, &loc), 0);
	CHECK_LOC(loc, 127 * (1 << 21), 127 * (1 << 21), -1, -1);
	CHECK_EQ_INT(linetable_lookup(PY_LT_LINETABLE, big, big_len, INT32_MAX - 100000000, 0, &loc),
	             ERR_CORRUPT);
	CHECK_EQ_INT(linetable_lookup(PY_LT_LNOTAB, big, big_len, INT32_MAX - 100000000, 0, &loc),
	             ERR_CORRUPT);
	free(big);
}

/* Deterministic xorshift, so a failure reproduces. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Random bytes, and random bytes shaped like entries: every answer must be
 * 0 or ERR_CORRUPT, with all -1 on error. */
TEST(random_tables)
{
	uint64_t s = 0x5eed5eed1234abcdULL;
	int bad = 0;

	for (int round = 0; round < 20000; round++) {
		size_t len = rng_next(&s) % 64;
		uint8_t *t = len ? malloc(len) : NULL;
		int kind = 1 + (int)(rng_next(&s) % 3);
		int64_t off = (int64_t)(rng_next(&s) % 200) - 4;
		int first = (int)(rng_next(&s) % 3) == 0 ? INT32_MAX - 5 : (int)(rng_next(&s) % 1000);
		struct py_location loc;
		int rc;

		if (len && !t)
			abort();
		for (size_t i = 0; i < len; i++) {
			uint8_t b = (uint8_t)rng_next(&s);
			/* Half the rounds: entry-start bytes where an entry would begin
			 * often enough to get past the first few entries. */
			if (round % 2 && rng_next(&s) % 3 == 0)
				b |= 0x80;
			t[i] = b;
		}
		rc = linetable_lookup(kind, t, len, first, off, &loc);
		if (rc != 0 && rc != ERR_CORRUPT)
			bad++;
		if (rc != 0 && (loc.line != -1 || loc.end_line != -1 || loc.col != -1 || loc.end_col != -1))
			bad++;
		free(t);
	}
	CHECK_EQ_INT(bad, 0);
}

int main(void)
{
	RUN(fixtures);
	RUN(location_forms);
	RUN(older_forms);
	RUN(empty_and_bad_arguments);
	RUN(hostile_location_tables);
	RUN(hostile_pair_tables);
	RUN(random_tables);
	return harness_done();
}
