/* test_intern.c - string and record interning (src/base/intern.h).
 *
 * Ids must be dense and in first-seen order (the output formats use them as
 * table indices), equal bytes must give equal ids whatever the bytes are
 * (embedded NULs, empty), and growth must not lose or renumber anything.
 */
#include "harness.h"

#include "base/intern.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TEST(strtab_basic)
{
	struct strtab t;
	strtab_init(&t);
	CHECK_EQ_INT(t.count, 0);
	CHECK_EQ_INT(strtab_find(&t, "a", 1), UINT32_MAX);
	CHECK_EQ_INT(strtab_find(&t, "", 0), UINT32_MAX);

	CHECK_EQ_INT(strtab_intern_cstr(&t, "main"), 0);
	CHECK_EQ_INT(strtab_intern_cstr(&t, "/app/x.py"), 1);
	CHECK_EQ_INT(strtab_intern_cstr(&t, "main"), 0);
	CHECK_EQ_INT(strtab_intern(&t, "mainly", 4), 0); /* only the first n bytes count */
	CHECK_EQ_INT(strtab_intern(&t, "mainly", 6), 2);
	CHECK_EQ_INT(strtab_intern(&t, "", 0), 3);
	CHECK_EQ_INT(strtab_intern_cstr(&t, ""), 3);
	CHECK_EQ_INT(t.count, 4);

	size_t len = 99;
	CHECK_STR(strtab_get(&t, 0, &len), "main");
	CHECK_EQ_INT(len, 4);
	CHECK_STR(strtab_get(&t, 1, NULL), "/app/x.py");
	CHECK_STR(strtab_get(&t, 2, &len), "mainly");
	CHECK_EQ_INT(len, 6);
	CHECK_STR(strtab_get(&t, 3, &len), "");
	CHECK_EQ_INT(len, 0);

	CHECK_EQ_INT(strtab_find(&t, "main", 4), 0);
	CHECK_EQ_INT(strtab_find(&t, "mainly", 6), 2);
	CHECK_EQ_INT(strtab_find(&t, "", 0), 3);
	CHECK_EQ_INT(strtab_find(&t, "mai", 3), UINT32_MAX);
	CHECK_EQ_INT(strtab_find(&t, "Main", 4), UINT32_MAX);
	/* find does not add */
	CHECK_EQ_INT(t.count, 4);
	strtab_release(&t);
	CHECK_EQ_INT(t.count, 0);
	CHECK_EQ_INT(strtab_find(&t, "main", 4), UINT32_MAX);
	/* usable after release, ids restart at 0 */
	CHECK_EQ_INT(strtab_intern_cstr(&t, "again"), 0);
	strtab_release(&t);
}

TEST(strtab_embedded_nul)
{
	struct strtab t;
	strtab_init(&t);
	static const char a[] = { 'a', '\0', 'b' };
	static const char b[] = { 'a', '\0', 'c' };
	static const char z1[] = { '\0' };
	static const char z2[] = { '\0', '\0' };
	uint32_t ia = strtab_intern(&t, a, 3);
	uint32_t ib = strtab_intern(&t, b, 3);
	uint32_t i1 = strtab_intern(&t, "a", 1);
	uint32_t iz1 = strtab_intern(&t, z1, 1);
	uint32_t iz2 = strtab_intern(&t, z2, 2);
	uint32_t ie = strtab_intern(&t, "", 0);
	CHECK_EQ_INT(ia, 0);
	CHECK_EQ_INT(ib, 1);
	CHECK_EQ_INT(i1, 2);
	CHECK_EQ_INT(iz1, 3);
	CHECK_EQ_INT(iz2, 4);
	CHECK_EQ_INT(ie, 5);
	CHECK_EQ_INT(strtab_intern(&t, a, 3), ia);
	CHECK_EQ_INT(strtab_intern(&t, z2, 2), iz2);
	CHECK_EQ_INT(strtab_find(&t, b, 3), ib);
	CHECK_EQ_INT(strtab_find(&t, z1, 1), iz1);

	size_t len;
	const char *s = strtab_get(&t, ia, &len);
	CHECK_EQ_INT(len, 3);
	CHECK(memcmp(s, a, 3) == 0 && s[3] == '\0');
	s = strtab_get(&t, iz2, &len);
	CHECK_EQ_INT(len, 2);
	CHECK(s[0] == '\0' && s[1] == '\0' && s[2] == '\0');
	s = strtab_get(&t, ie, &len);
	CHECK_EQ_INT(len, 0);
	CHECK(s[0] == '\0');
	strtab_release(&t);
}

/* The string for number i: varied lengths (0..~300), some with NULs. */
static size_t make_string(char *out, unsigned i)
{
	/* "s<i>/" makes it unique whatever follows */
	int n = snprintf(out, 64, "s%u/", i);
	size_t len = (size_t)n;
	if (i % 5 == 0)
		out[len++] = '\0';
	size_t extra = (i * 37u) % 300u;
	for (size_t k = 0; k < extra; k++)
		out[len++] = (char)('a' + (i + k) % 26);
	return len;
}

TEST(strtab_many)
{
	enum { N = 50000 };
	struct strtab t;
	strtab_init(&t);
	char s[400];
	int ok = 1;
	size_t prev_slots = 0, rehashes = 0;
	for (unsigned i = 0; i < N; i++) {
		size_t n = make_string(s, i);
		ok &= strtab_intern(&t, s, n) == i;
		if (t.nslots != prev_slots) {
			rehashes++;
			prev_slots = t.nslots;
		}
		/* every so often, re-intern an older string: same id, no growth */
		if (i % 7 == 3) {
			unsigned j = i / 2;
			n = make_string(s, j);
			ok &= strtab_intern(&t, s, n) == j;
			ok &= t.count == (size_t)i + 1;
		}
	}
	CHECK(ok);
	CHECK_EQ_INT(t.count, N);
	CHECK(rehashes >= 8);
	/* at most 3/4 full, at least half full after the last growth */
	CHECK(t.nslots * 3 >= 4 * (size_t)N);
	CHECK(t.nslots <= 2 * (size_t)N);
	/* after all the growth every string is still where it was */
	ok = 1;
	for (unsigned i = 0; i < N; i++) {
		size_t n = make_string(s, i), len = 0;
		const char *g = strtab_get(&t, i, &len);
		ok &= len == n && memcmp(g, s, n) == 0 && g[n] == '\0';
		ok &= strtab_find(&t, s, n) == i;
		ok &= strtab_intern(&t, s, n) == i;
	}
	CHECK(ok);
	CHECK_EQ_INT(t.count, N);
	/* prefixes of interned strings are not found */
	int absent = 1;
	for (unsigned i = 0; i < 1000; i++) {
		size_t n = make_string(s, i);
		absent &= strtab_find(&t, s, n - 1) == UINT32_MAX;
	}
	CHECK(absent);
	strtab_release(&t);
}

/* Interning a string that lives inside the table itself (e.g. a suffix of
 * one already interned) must not read freed memory when the bytes buffer
 * grows. */
TEST(strtab_intern_own_bytes)
{
	struct strtab t;
	strtab_init(&t);
	char s[400];
	int ok = 1;
	for (unsigned i = 0; i < 2000; i++) {
		size_t n = make_string(s, i);
		strtab_intern(&t, s, n);
	}
	for (unsigned i = 0; i < 2000; i++) {
		size_t len;
		const char *g = strtab_get(&t, i, &len);
		if (len < 2)
			continue;
		/* copy out what we expect before the call may move the bytes */
		char want[400];
		memcpy(want, g + 1, len - 1);
		uint32_t id = strtab_intern(&t, g + 1, len - 1);
		size_t glen;
		const char *got = strtab_get(&t, id, &glen);
		ok &= glen == len - 1 && memcmp(got, want, len - 1) == 0;
	}
	CHECK(ok);
	strtab_release(&t);
}

struct rec {
	uint32_t a;
	uint32_t b;
	uint64_t c;
};

TEST(rectab_basic)
{
	struct rectab t;
	rectab_init(&t, sizeof(struct rec));
	struct rec r0 = { 1, 2, 3 }, r1 = { 1, 2, 4 }, r2 = { 0, 0, 0 };
	CHECK_EQ_INT(rectab_find(&t, &r0), UINT32_MAX);
	int added = -1;
	CHECK_EQ_INT(rectab_intern(&t, &r0, &added), 0);
	CHECK_EQ_INT(added, 1);
	CHECK_EQ_INT(rectab_intern(&t, &r1, &added), 1);
	CHECK_EQ_INT(added, 1);
	CHECK_EQ_INT(rectab_intern(&t, &r0, &added), 0);
	CHECK_EQ_INT(added, 0);
	CHECK_EQ_INT(rectab_intern(&t, &r2, NULL), 2); /* added may be NULL */
	CHECK_EQ_INT(rectab_intern(&t, &r2, &added), 2);
	CHECK_EQ_INT(added, 0);
	CHECK_EQ_INT(t.count, 3);

	/* interning copies: changing the caller's record changes nothing */
	struct rec tmp = { 9, 9, 9 };
	uint32_t id = rectab_intern(&t, &tmp, &added);
	CHECK_EQ_INT(id, 3);
	tmp.a = 10;
	const struct rec *g = rectab_get(&t, id);
	CHECK_EQ_INT(g->a, 9);
	CHECK_EQ_INT(rectab_find(&t, &tmp), UINT32_MAX);
	tmp.a = 9;
	CHECK_EQ_INT(rectab_find(&t, &tmp), 3);

	g = rectab_get(&t, 1);
	CHECK(g->a == 1 && g->b == 2 && g->c == 4);
	CHECK_EQ_INT(rectab_find(&t, &r1), 1);
	CHECK_EQ_INT(rectab_find(&t, &r2), 2);
	CHECK_EQ_INT(t.count, 4);

	rectab_release(&t);
	CHECK_EQ_INT(t.count, 0);
	CHECK_EQ_INT(t.elsize, sizeof(struct rec)); /* kept: the table is reusable */
	CHECK_EQ_INT(rectab_find(&t, &r0), UINT32_MAX);
	CHECK_EQ_INT(rectab_intern(&t, &r1, &added), 0);
	CHECK_EQ_INT(added, 1);
	rectab_release(&t);
}

TEST(rectab_odd_size)
{
	/* element sizes that are not a multiple of 8 (hash tail path) */
	struct rectab t;
	rectab_init(&t, 3);
	int ok = 1;
	for (unsigned i = 0; i < 5000; i++) {
		unsigned char r[3] = { (unsigned char)i, (unsigned char)(i >> 8), 0x5a };
		int added;
		ok &= rectab_intern(&t, r, &added) == i && added == 1;
	}
	for (unsigned i = 0; i < 5000; i++) {
		unsigned char r[3] = { (unsigned char)i, (unsigned char)(i >> 8), 0x5a };
		ok &= rectab_find(&t, r) == i;
		ok &= memcmp(rectab_get(&t, i), r, 3) == 0;
	}
	unsigned char other[3] = { 0, 0, 0x5b };
	ok &= rectab_find(&t, other) == UINT32_MAX;
	CHECK(ok);
	rectab_release(&t);
}

TEST(rectab_many)
{
	enum { N = 100000 };
	struct rectab t;
	rectab_init(&t, sizeof(struct rec));
	int ok = 1;
	size_t prev_slots = 0, rehashes = 0;
	uint32_t next = 0;
	for (uint32_t i = 0; i < N; i++) {
		/* a mix of new records and repeats of earlier ones */
		struct rec r = { i, ~i, (uint64_t)i << 33 };
		int added;
		uint32_t id = rectab_intern(&t, &r, &added);
		ok &= added == 1 && id == next;
		next++;
		if (t.nslots != prev_slots) {
			rehashes++;
			prev_slots = t.nslots;
		}
		if (i % 3 == 0) {
			uint32_t j = i / 3;
			struct rec old = { j, ~j, (uint64_t)j << 33 };
			ok &= rectab_intern(&t, &old, &added) == j && added == 0;
		}
	}
	CHECK(ok);
	CHECK_EQ_INT(t.count, N);
	CHECK(rehashes >= 9);
	ok = 1;
	for (uint32_t i = 0; i < N; i++) {
		struct rec r = { i, ~i, (uint64_t)i << 33 };
		const struct rec *g = rectab_get(&t, i);
		ok &= memcmp(g, &r, sizeof(r)) == 0;
		ok &= rectab_find(&t, &r) == i;
		/* a record given by its own stored copy is found, not re-added */
		int added;
		ok &= rectab_intern(&t, g, &added) == i && added == 0;
	}
	CHECK(ok);
	struct rec absent = { 1, 1, 1 };
	CHECK_EQ_INT(rectab_find(&t, &absent), UINT32_MAX);
	rectab_release(&t);
}

TEST(rectab_reserve)
{
	/* records interned before a reserve stay found; after it, interning
	 * up to the reserved number never rebuilds the slots (the slot array
	 * stays the same allocation) and ids stay dense */
	struct rectab t;
	rectab_init(&t, sizeof(struct rec));
	struct rec none = { 5, 5, 5 };
	rectab_prefetch(&t, &none); /* no slots yet: nothing to fetch, no fault */
	int ok = 1;
	for (int i = 0; i < 100; i++) {
		struct rec r = { i, -i, 7 };
		ok &= rectab_intern(&t, &r, NULL) == (uint32_t)i;
	}
	rectab_reserve(&t, 20000);
	CHECK(t.cap >= 20000);
	const uint32_t *slots = t.slots;
	size_t nslots = t.nslots;
	for (int i = 0; i < 20000; i++) {
		struct rec r = { i, -i, 7 };
		int added;
		ok &= rectab_intern(&t, &r, &added) == (uint32_t)i && added == (i >= 100);
	}
	CHECK(ok);
	CHECK(t.slots == slots && t.nslots == nslots);
	for (int i = 0; i < 20000; i++) {
		struct rec r = { i, -i, 7 };
		ok &= rectab_find(&t, &r) == (uint32_t)i;
	}
	CHECK(ok);
	/* a smaller reserve changes nothing; growing past it still works */
	rectab_reserve(&t, 10);
	CHECK(t.slots == slots);
	struct rec extra = { -1, -1, -1 };
	CHECK_EQ_INT(rectab_intern(&t, &extra, NULL), 20000);
	rectab_release(&t);
}

int main(void)
{
	RUN(strtab_basic);
	RUN(strtab_embedded_nul);
	RUN(strtab_many);
	RUN(strtab_intern_own_bytes);
	RUN(rectab_basic);
	RUN(rectab_odd_size);
	RUN(rectab_many);
	RUN(rectab_reserve);
	return harness_done();
}
