/* test_hash.c - the u64 -> u64 open-addressing map (src/base/hash.h).
 *
 * Besides put/get/del/clear, the tests check the linear-probing invariant
 * directly on the slot array after deletions: every slot between a key's
 * home slot and the slot it sits in is occupied.  A backward-shift delete
 * that leaves a hole inside a cluster breaks exactly that, and lookups of
 * the keys behind the hole then fail.
 */
#include "harness.h"

#include "base/hash.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	/* splitmix64: a fixed seed gives the same run every time */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The probing invariant, no duplicate keys, len == occupied slots and a
 * load factor of at most 3/4. */
static bool map_consistent(const struct u64map *m)
{
	if (m->cap == 0)
		return m->len == 0 && m->slots == NULL;
	if (m->cap & (m->cap - 1))
		return false;
	size_t mask = m->cap - 1, used = 0;
	for (size_t i = 0; i < m->cap; i++) {
		uint64_t k = m->slots[i].key;
		if (k == U64MAP_EMPTY)
			continue;
		used++;
		for (size_t j = hash_u64(k) & mask; j != i; j = (j + 1) & mask) {
			if (m->slots[j].key == U64MAP_EMPTY || m->slots[j].key == k)
				return false;
		}
	}
	return used == m->len && m->len * 4 <= m->cap * 3;
}

TEST(empty)
{
	struct u64map m;
	u64map_init(&m);
	CHECK(u64map_get(&m, 0) == NULL);
	CHECK(u64map_get(&m, 12345) == NULL);
	CHECK(!u64map_del(&m, 0));
	CHECK_EQ_INT(m.len, 0);
	u64map_clear(&m);
	CHECK_EQ_INT(m.len, 0);
	CHECK(map_consistent(&m));
	u64map_release(&m);
	/* release of a released map is harmless */
	u64map_release(&m);
	CHECK(m.slots == NULL);
}

TEST(put_get_del_basic)
{
	struct u64map m;
	u64map_init(&m);
	static const uint64_t keys[] = { 0, 1, 2, 63, 64, 0xffffffffULL, 0x100000000ULL,
					 UINT64_MAX - 1, 0x8000000000000000ULL, 0xdeadbeefcafebabeULL };
	size_t nk = sizeof(keys) / sizeof(keys[0]);
	for (size_t i = 0; i < nk; i++)
		u64map_put(&m, keys[i], i * 10 + 7);
	CHECK_EQ_INT(m.len, nk);
	for (size_t i = 0; i < nk; i++) {
		uint64_t *v = u64map_get(&m, keys[i]);
		CHECK(v != NULL);
		if (v)
			CHECK_EQ_INT(*v, i * 10 + 7);
	}
	CHECK(u64map_get(&m, 3) == NULL);
	CHECK(u64map_get(&m, UINT64_MAX - 2) == NULL);

	/* overwrite keeps len */
	u64map_put(&m, 0, 999);
	u64map_put(&m, UINT64_MAX - 1, UINT64_MAX); /* values may be anything */
	CHECK_EQ_INT(m.len, nk);
	CHECK(u64map_get(&m, 0) && *u64map_get(&m, 0) == 999);
	CHECK(u64map_get(&m, UINT64_MAX - 1) && *u64map_get(&m, UINT64_MAX - 1) == UINT64_MAX);

	/* the returned pointer is writable and is the stored value */
	*u64map_get(&m, 64) = 4242;
	CHECK_EQ_INT(*u64map_get(&m, 64), 4242);

	CHECK(u64map_del(&m, 0));
	CHECK(!u64map_del(&m, 0));
	CHECK(u64map_get(&m, 0) == NULL);
	CHECK(u64map_del(&m, UINT64_MAX - 1));
	CHECK(u64map_get(&m, UINT64_MAX - 1) == NULL);
	CHECK(!u64map_del(&m, 5));
	CHECK_EQ_INT(m.len, nk - 2);
	for (size_t i = 1; i + 1 < nk; i++)
		if (keys[i] != UINT64_MAX - 1 && keys[i] != 64)
			CHECK(u64map_get(&m, keys[i]) && *u64map_get(&m, keys[i]) == i * 10 + 7);
	CHECK(map_consistent(&m));

	/* re-insert a deleted key */
	u64map_put(&m, 0, 1);
	CHECK(u64map_get(&m, 0) && *u64map_get(&m, 0) == 1);
	CHECK_EQ_INT(m.len, nk - 1);
	u64map_release(&m);
}

TEST(clear)
{
	struct u64map m;
	u64map_init(&m);
	for (uint64_t k = 0; k < 1000; k++)
		u64map_put(&m, k * 7919, k);
	size_t cap = m.cap;
	CHECK_EQ_INT(m.len, 1000);
	u64map_clear(&m);
	CHECK_EQ_INT(m.len, 0);
	CHECK_EQ_INT(m.cap, cap); /* memory kept */
	int found = 0;
	for (uint64_t k = 0; k < 1000; k++)
		found += u64map_get(&m, k * 7919) != NULL;
	CHECK_EQ_INT(found, 0);
	CHECK(map_consistent(&m));
	/* usable again */
	for (uint64_t k = 0; k < 500; k++)
		u64map_put(&m, k, k + 1);
	CHECK_EQ_INT(m.len, 500);
	int ok = 1;
	for (uint64_t k = 0; k < 500; k++)
		ok &= u64map_get(&m, k) && *u64map_get(&m, k) == k + 1;
	CHECK(ok);
	CHECK(map_consistent(&m));
	u64map_release(&m);
}

TEST(growth)
{
	struct u64map m;
	u64map_init(&m);
	size_t prev_cap = 0, grows = 0;
	int ok = 1;
	for (uint64_t k = 0; k < 100000; k++) {
		/* keys with patterns hash functions dislike: multiples of 2^32 */
		uint64_t key = (k & 1) ? k << 32 : k;
		u64map_put(&m, key, ~key);
		if (m.cap != prev_cap) {
			ok &= prev_cap == 0 || m.cap == prev_cap * 2;
			prev_cap = m.cap;
			grows++;
		}
	}
	CHECK(ok);
	CHECK(grows >= 10);
	CHECK_EQ_INT(m.len, 100000);
	CHECK(map_consistent(&m));
	ok = 1;
	for (uint64_t k = 0; k < 100000; k++) {
		uint64_t key = (k & 1) ? k << 32 : k;
		uint64_t *v = u64map_get(&m, key);
		ok &= v && *v == ~key;
	}
	CHECK(ok);
	/* absent keys near the present ones */
	int absent = 1;
	for (uint64_t k = 100000; k < 110000; k++)
		absent &= u64map_get(&m, k) == NULL;
	CHECK(absent);
	u64map_release(&m);
}

/* Keys whose home slot in a map of capacity cap is home. */
static size_t keys_with_home(size_t cap, size_t home, uint64_t *out, size_t want, uint64_t from)
{
	size_t n = 0;
	for (uint64_t k = from; n < want; k++)
		if ((hash_u64(k) & (cap - 1)) == home)
			out[n++] = k;
	return n;
}

/* Build clusters by hand in a 64-slot map (it holds up to 48 keys without
 * growing): several keys with the same home, keys of the next homes
 * pushed behind them, and a cluster wrapping from slot 62 to slot 3. */
static size_t build_clusters(struct u64map *m, uint64_t *keys)
{
	size_t n = 0;
	static const struct {
		size_t home, count;
	} plan[] = {
		{ 10, 5 }, { 11, 2 }, { 12, 3 }, { 14, 1 }, { 20, 1 }, { 21, 4 },
		{ 62, 4 }, { 63, 3 }, { 0, 2 },  { 1, 1 },  { 40, 6 }, { 43, 2 },
	};
	u64map_init(m);
	u64map_put(m, 0xfeedULL, 0); /* allocate: capacity 64 */
	u64map_del(m, 0xfeedULL);
	for (size_t i = 0; i < sizeof(plan) / sizeof(plan[0]); i++)
		n += keys_with_home(64, plan[i].home, keys + n, plan[i].count, 1000 * (i + 1));
	for (size_t i = 0; i < n; i++)
		u64map_put(m, keys[i], keys[i] ^ 0x5555);
	return n;
}

TEST(delete_inside_clusters)
{
	uint64_t keys[64];
	struct u64map m;
	size_t n = build_clusters(&m, keys);
	CHECK_EQ_INT(n, 34);
	CHECK_EQ_INT(m.cap, 64);
	CHECK(map_consistent(&m));
	/* the wrap-around cluster really wraps: some key of home 62/63 sits
	 * in a low slot */
	int wraps = 0;
	for (size_t i = 0; i < 4; i++) {
		uint64_t k = m.slots[i].key;
		if (k != U64MAP_EMPTY && (hash_u64(k) & 63) >= 62)
			wraps = 1;
	}
	CHECK(wraps);
	u64map_release(&m);

	/* Delete every single key, one map per key: all others still found. */
	int all_ok = 1, consistent = 1;
	for (size_t d = 0; d < n; d++) {
		n = build_clusters(&m, keys);
		all_ok &= u64map_del(&m, keys[d]);
		all_ok &= u64map_get(&m, keys[d]) == NULL;
		consistent &= map_consistent(&m);
		for (size_t i = 0; i < n; i++) {
			if (i == d)
				continue;
			uint64_t *v = u64map_get(&m, keys[i]);
			all_ok &= v && *v == (keys[i] ^ 0x5555);
		}
		u64map_release(&m);
	}
	CHECK(all_ok);
	CHECK(consistent);

	/* Delete in several orders down to empty, checking after each step. */
	for (int order = 0; order < 4; order++) {
		n = build_clusters(&m, keys);
		bool gone[64] = { false };
		rng_state = 77 + (uint64_t)order;
		for (size_t step = 0; step < n; step++) {
			size_t d;
			if (order == 0)
				d = step;
			else if (order == 1)
				d = n - 1 - step;
			else
				do
					d = rng_next() % n;
				while (gone[d]);
			all_ok &= u64map_del(&m, keys[d]);
			gone[d] = true;
			consistent &= map_consistent(&m);
			for (size_t i = 0; i < n; i++) {
				uint64_t *v = u64map_get(&m, keys[i]);
				all_ok &= gone[i] ? v == NULL : (v && *v == (keys[i] ^ 0x5555));
			}
		}
		CHECK_EQ_INT(m.len, 0);
		u64map_release(&m);
	}
	CHECK(all_ok);
	CHECK(consistent);
}

/* Random put/del/get against a plain array, keys from a small universe so
 * deletes hit and clusters form and break up all the time. */
#define UNIVERSE 3000
TEST(random_against_reference)
{
	static uint64_t ukeys[UNIVERSE];
	static uint64_t ref_val[UNIVERSE];
	static bool ref_has[UNIVERSE];
	rng_state = 0x5eed;
	ukeys[0] = 0;
	ukeys[1] = UINT64_MAX - 1;
	ukeys[2] = 1;
	for (size_t i = 3; i < UNIVERSE; i++) {
		/* half dense small numbers, half spread out */
		ukeys[i] = (i & 1) ? i : rng_next() % (UINT64_MAX - 1);
	}
	memset(ref_has, 0, sizeof(ref_has));
	size_t ref_len = 0;

	struct u64map m;
	u64map_init(&m);
	int ok = 1, consistent = 1;
	for (int op = 0; op < 200000; op++) {
		uint64_t r = rng_next();
		size_t i = (size_t)(r >> 8) % UNIVERSE;
		/* bias: the table fills to about half the universe, then churns */
		switch (r & 3) {
		case 0:
		case 1: {
			uint64_t v = rng_next();
			u64map_put(&m, ukeys[i], v);
			if (!ref_has[i])
				ref_len++;
			ref_has[i] = true;
			ref_val[i] = v;
			break;
		}
		case 2: {
			bool was = u64map_del(&m, ukeys[i]);
			ok &= was == ref_has[i];
			if (ref_has[i])
				ref_len--;
			ref_has[i] = false;
			break;
		}
		default: {
			uint64_t *v = u64map_get(&m, ukeys[i]);
			ok &= ref_has[i] ? (v && *v == ref_val[i]) : v == NULL;
			break;
		}
		}
		ok &= m.len == ref_len;
		if (op % 20000 == 0 || op == 199999) {
			consistent &= map_consistent(&m);
			for (size_t k = 0; k < UNIVERSE; k++) {
				uint64_t *v = u64map_get(&m, ukeys[k]);
				ok &= ref_has[k] ? (v && *v == ref_val[k]) : v == NULL;
			}
		}
	}
	CHECK(ok);
	CHECK(consistent);
	CHECK(ref_len > 0);

	/* delete everything that is left: map is empty and consistent */
	for (size_t k = 0; k < UNIVERSE; k++)
		ok &= u64map_del(&m, ukeys[k]) == ref_has[k];
	CHECK(ok);
	CHECK_EQ_INT(m.len, 0);
	CHECK(map_consistent(&m));
	u64map_release(&m);
}

TEST(hash_bytes)
{
	/* deterministic, length-sensitive, and looks at every byte */
	char a[40], b[40];
	memset(a, 'x', sizeof(a));
	memcpy(b, a, sizeof(b));
	CHECK(hash_bytes(a, 17) == hash_bytes(b, 17));
	CHECK(hash_bytes(a, 0) == hash_bytes(b, 0));
	CHECK(hash_bytes(a, 0) != hash_bytes(a, 1));
	CHECK(hash_bytes("\0", 1) != hash_bytes("\0\0", 2));
	int differ = 1;
	for (size_t n = 1; n <= sizeof(a); n++)
		for (size_t i = 0; i < n; i++) {
			b[i] ^= 1;
			differ &= hash_bytes(a, n) != hash_bytes(b, n);
			b[i] ^= 1;
		}
	CHECK(differ);
	CHECK(hash_u64(0) != hash_u64(1));
}

TEST(idset)
{
	struct idset s = { 0 };
	idset_start(&s, 3);
	CHECK(idset_add(&s, 0));
	CHECK(idset_add(&s, 7));
	CHECK(!idset_add(&s, 0));
	CHECK(!idset_add(&s, 7));
	CHECK(idset_add(&s, 5));
	/* a new pass forgets the old one */
	idset_start(&s, 1000);
	CHECK(idset_add(&s, 7));
	for (uint32_t i = 0; i < 1000; i++)
		CHECK(idset_add(&s, i * 2654435761u) == (i * 2654435761u != 7));
	for (uint32_t i = 0; i < 1000; i++)
		CHECK(!idset_add(&s, i * 2654435761u));
	idset_start(&s, 2);
	CHECK(idset_add(&s, 0));
	idset_release(&s);
}

/* Every 64-bit value is a key, the one that marks free slots included:
 * a tid or an address may be 2^64-1. */
TEST(every_key)
{
	struct u64map m;
	u64map_init(&m);
	CHECK(u64map_get(&m, UINT64_MAX) == NULL);
	CHECK(!u64map_del(&m, UINT64_MAX));
	u64map_put(&m, UINT64_MAX, 7);
	u64map_put(&m, UINT64_MAX - 1, 8);
	CHECK(u64map_get(&m, UINT64_MAX) && *u64map_get(&m, UINT64_MAX) == 7);
	u64map_put(&m, UINT64_MAX, 9); /* overwrite */
	*u64map_get(&m, UINT64_MAX) += 1;
	CHECK(*u64map_get(&m, UINT64_MAX) == 10);
	for (uint64_t k = 0; k < 1000; k++) /* growth keeps it */
		u64map_put(&m, k, k);
	CHECK(*u64map_get(&m, UINT64_MAX) == 10 && *u64map_get(&m, UINT64_MAX - 1) == 8);
	CHECK(u64map_del(&m, UINT64_MAX));
	CHECK(u64map_get(&m, UINT64_MAX) == NULL && *u64map_get(&m, UINT64_MAX - 1) == 8);
	u64map_put(&m, UINT64_MAX, 1);
	u64map_clear(&m);
	CHECK(u64map_get(&m, UINT64_MAX) == NULL && u64map_get(&m, 5) == NULL);
	u64map_release(&m);
}

int main(void)
{
	RUN(idset);
	RUN(empty);
	RUN(put_get_del_basic);
	RUN(clear);
	RUN(growth);
	RUN(delete_inside_clusters);
	RUN(random_against_reference);
	RUN(hash_bytes);
	RUN(every_key);
	return harness_done();
}
