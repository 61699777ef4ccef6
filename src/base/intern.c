#include "base/intern.h"

#include "base/hash.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strtab_init(struct strtab *t)
{
	memset(t, 0, sizeof(*t));
}

void strtab_release(struct strtab *t)
{
	buf_release(&t->bytes);
	free(t->offs);
	free(t->lens);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

/*
 * Both tables are open-addressing hash tables of uint32 slots, linear
 * probing, between 1/2 and 3/4 full: they grow by half again, and a key's
 * home slot is its hash scaled to the table's size (no power of two
 * needed).  A slot holds id + 1 in its low `bits` bits, where 2^bits is at
 * least the number of slots (ids stay below it), and in the bits above
 * them the top bits of the key's hash: a probe looks at a stored string or
 * record only when those agree, so a miss (a new key) costs no visit to the
 * stored keys at all, and a hit nearly always one.
 */
#define SLOTS_MAX ((size_t)1 << 32)
static unsigned log2_of(size_t n)
{
	unsigned b = 0;
	while (((size_t)1 << b) < n)
		b++;
	return b;
}

static inline uint32_t slot_tag(uint64_t h, unsigned bits)
{
	return bits >= 32 ? 0 : (uint32_t)(h >> 32) >> bits << bits;
}

static inline uint32_t slot_id_mask(unsigned bits)
{
	return bits >= 32 ? UINT32_MAX : ((uint32_t)1 << bits) - 1;
}

static bool slots_full(size_t count, size_t nslots)
{
	return (count + 1) * 4 > nslots * 3;
}

static inline size_t slot_home(uint64_t h, size_t nslots)
{
	return (size_t)(((uint64_t)(uint32_t)h * nslots) >> 32);
}

static inline size_t slot_next(size_t i, size_t nslots)
{
	return ++i == nslots ? 0 : i;
}

/* A new, empty slot array of at least `want` slots, and more than now. */
static uint32_t *slots_make(size_t want, size_t *nslots, unsigned *bits)
{
	size_t n = want;
	if (n > SLOTS_MAX)
		n = SLOTS_MAX;
	if (n <= *nslots) {
		/* 2^32 ids fill the id space long before: never reached */
		fprintf(stderr, "strobe: an intern table is full\n");
		abort();
	}
	*nslots = n;
	*bits = log2_of(n);
	return xcalloc(n, sizeof(uint32_t));
}

/* A new, empty slot array half as large again (256 at first). */
static uint32_t *slots_grow(size_t *nslots, unsigned *bits)
{
	return slots_make(*nslots ? *nslots + *nslots / 2 : 256, nslots, bits);
}

/* Place id (hash h) in a table being rebuilt: every key is distinct. */
static void slots_place(uint32_t *slots, size_t nslots, unsigned bits, uint64_t h, uint32_t id)
{
	size_t i = slot_home(h, nslots);
	while (slots[i])
		i = slot_next(i, nslots);
	slots[i] = slot_tag(h, bits) | (id + 1);
}

static void strtab_rehash(struct strtab *t)
{
	free(t->slots);
	t->slots = slots_grow(&t->nslots, &t->bits);
	for (size_t id = 0; id < t->count; id++)
		slots_place(t->slots, t->nslots, t->bits,
			    hash_bytes(t->bytes.data + t->offs[id], t->lens[id]), (uint32_t)id);
}

static size_t strtab_slot(const struct strtab *t, const char *p, size_t n, uint64_t h)
{
	uint32_t tag = slot_tag(h, t->bits), idm = slot_id_mask(t->bits);
	for (size_t i = slot_home(h, t->nslots);; i = slot_next(i, t->nslots)) {
		uint32_t s = t->slots[i];
		if (!s)
			return i;
		if ((s & ~idm) != tag)
			continue;
		uint32_t id = (s & idm) - 1;
		if (t->lens[id] == n && memcmp(t->bytes.data + t->offs[id], p, n) == 0)
			return i;
	}
}

uint32_t strtab_find(const struct strtab *t, const char *p, size_t n)
{
	if (!t->nslots)
		return UINT32_MAX;
	size_t i = strtab_slot(t, p, n, hash_bytes(p, n));
	return t->slots[i] ? (t->slots[i] & slot_id_mask(t->bits)) - 1 : UINT32_MAX;
}

uint32_t strtab_intern(struct strtab *t, const char *p, size_t n)
{
	if (slots_full(t->count, t->nslots))
		strtab_rehash(t);
	uint64_t h = hash_bytes(p, n);
	size_t i = strtab_slot(t, p, n, h);
	if (t->slots[i])
		return (t->slots[i] & slot_id_mask(t->bits)) - 1;
	if (t->count + 1 > t->cap) {
		size_t cap = t->cap;
		VEC_RESERVE(t->offs, cap, t->count + 1);
		cap = t->cap;
		VEC_RESERVE(t->lens, cap, t->count + 1);
		t->cap = cap;
	}
	/* p may point into our own bytes (a part of an interned string, such as
	 * a path's base name): growing the buffer would free it under us. */
	uintptr_t at = (uintptr_t)p, lo = (uintptr_t)t->bytes.data;
	if (t->bytes.data && at >= lo && at < lo + t->bytes.len) {
		buf_reserve(&t->bytes, n + 1);
		p = t->bytes.data + (at - lo);
	}
	uint32_t id = (uint32_t)t->count++;
	t->offs[id] = (uint32_t)t->bytes.len;
	t->lens[id] = (uint32_t)n;
	buf_append(&t->bytes, p, n);
	buf_putc(&t->bytes, '\0');
	t->slots[i] = slot_tag(h, t->bits) | (id + 1);
	return id;
}

uint32_t strtab_intern_cstr(struct strtab *t, const char *s)
{
	return strtab_intern(t, s, strlen(s));
}

const char *strtab_get(const struct strtab *t, uint32_t id, size_t *len)
{
	assert(id < t->count);
	if (len)
		*len = t->lens[id];
	return t->bytes.data + t->offs[id];
}

void rectab_init(struct rectab *t, size_t elsize)
{
	memset(t, 0, sizeof(*t));
	t->elsize = elsize;
}

void rectab_release(struct rectab *t)
{
	free(t->recs);
	free(t->slots);
	size_t el = t->elsize;
	memset(t, 0, sizeof(*t));
	t->elsize = el;
}

/* Every record into the slots just made. */
static void rectab_place_all(struct rectab *t)
{
	for (size_t id = 0; id < t->count; id++)
		slots_place(t->slots, t->nslots, t->bits,
			    hash_bytes(t->recs + id * t->elsize, t->elsize), (uint32_t)id);
}

static void rectab_rehash(struct rectab *t)
{
	free(t->slots);
	t->slots = slots_grow(&t->nslots, &t->bits);
	rectab_place_all(t);
}

void rectab_reserve(struct rectab *t, size_t n)
{
	if (n > t->cap) {
		t->recs = xrealloc(t->recs, n * t->elsize);
		t->cap = n;
	}
	if (!slots_full(n, t->nslots))
		return;
	/* as full as growing would leave it at n */
	free(t->slots);
	t->slots = slots_make(n + n / 2 + 1, &t->nslots, &t->bits);
	rectab_place_all(t);
}

static size_t rectab_slot(const struct rectab *t, const void *rec, uint64_t h)
{
	uint32_t tag = slot_tag(h, t->bits), idm = slot_id_mask(t->bits);
	for (size_t i = slot_home(h, t->nslots);; i = slot_next(i, t->nslots)) {
		uint32_t s = t->slots[i];
		if (!s)
			return i;
		if ((s & ~idm) == tag &&
		    memcmp(t->recs + (size_t)((s & idm) - 1) * t->elsize, rec, t->elsize) == 0)
			return i;
	}
}

void rectab_prefetch(const struct rectab *t, const void *rec)
{
	if (t->nslots)
		__builtin_prefetch(&t->slots[slot_home(hash_bytes(rec, t->elsize), t->nslots)]);
}

uint32_t rectab_find(const struct rectab *t, const void *rec)
{
	if (!t->nslots)
		return UINT32_MAX;
	size_t i = rectab_slot(t, rec, hash_bytes(rec, t->elsize));
	return t->slots[i] ? (t->slots[i] & slot_id_mask(t->bits)) - 1 : UINT32_MAX;
}

uint32_t rectab_intern(struct rectab *t, const void *rec, int *added)
{
	if (slots_full(t->count, t->nslots))
		rectab_rehash(t);
	uint64_t h = hash_bytes(rec, t->elsize);
	size_t i = rectab_slot(t, rec, h);
	if (t->slots[i]) {
		if (added)
			*added = 0;
		return (t->slots[i] & slot_id_mask(t->bits)) - 1;
	}
	if (t->count + 1 > t->cap) {
		/* by half again: large blocks are remapped, not copied, so a
		 * smaller step costs little and leaves less unused */
		size_t need = t->count + 1, cap = t->cap ? t->cap : 64;
		while (cap < need)
			cap += cap / 2;
		t->recs = xrealloc(t->recs, cap * t->elsize);
		t->cap = cap;
	}
	uint32_t id = (uint32_t)t->count++;
	memcpy(t->recs + (size_t)id * t->elsize, rec, t->elsize);
	t->slots[i] = slot_tag(h, t->bits) | (id + 1);
	if (added)
		*added = 1;
	return id;
}
