#include "base/intern.h"

#include "base/hash.h"

#include <assert.h>
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

static void strtab_rehash(struct strtab *t)
{
	size_t n = t->nslots ? t->nslots * 2 : 256;
	free(t->slots);
	t->slots = xcalloc(n, sizeof(*t->slots));
	t->nslots = n;
	for (size_t id = 0; id < t->count; id++) {
		uint64_t h = hash_bytes(t->bytes.data + t->offs[id], t->lens[id]);
		size_t i = h & (n - 1);
		while (t->slots[i])
			i = (i + 1) & (n - 1);
		t->slots[i] = (uint32_t)id + 1;
	}
}

static size_t strtab_slot(const struct strtab *t, const char *p, size_t n, uint64_t h)
{
	size_t mask = t->nslots - 1;
	size_t i = h & mask;
	for (;; i = (i + 1) & mask) {
		uint32_t s = t->slots[i];
		if (!s)
			return i;
		uint32_t id = s - 1;
		if (t->lens[id] == n && memcmp(t->bytes.data + t->offs[id], p, n) == 0)
			return i;
	}
}

uint32_t strtab_find(const struct strtab *t, const char *p, size_t n)
{
	if (!t->nslots)
		return UINT32_MAX;
	size_t i = strtab_slot(t, p, n, hash_bytes(p, n));
	return t->slots[i] ? t->slots[i] - 1 : UINT32_MAX;
}

uint32_t strtab_intern(struct strtab *t, const char *p, size_t n)
{
	if ((t->count + 1) * 2 > t->nslots)
		strtab_rehash(t);
	uint64_t h = hash_bytes(p, n);
	size_t i = strtab_slot(t, p, n, h);
	if (t->slots[i])
		return t->slots[i] - 1;
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
	t->slots[i] = id + 1;
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

static void rectab_rehash(struct rectab *t)
{
	size_t n = t->nslots ? t->nslots * 2 : 256;
	free(t->slots);
	t->slots = xcalloc(n, sizeof(*t->slots));
	t->nslots = n;
	for (size_t id = 0; id < t->count; id++) {
		size_t i = hash_bytes(t->recs + id * t->elsize, t->elsize) & (n - 1);
		while (t->slots[i])
			i = (i + 1) & (n - 1);
		t->slots[i] = (uint32_t)id + 1;
	}
}

static size_t rectab_slot(const struct rectab *t, const void *rec)
{
	size_t mask = t->nslots - 1;
	size_t i = hash_bytes(rec, t->elsize) & mask;
	for (;; i = (i + 1) & mask) {
		uint32_t s = t->slots[i];
		if (!s || memcmp(t->recs + (size_t)(s - 1) * t->elsize, rec, t->elsize) == 0)
			return i;
	}
}

uint32_t rectab_find(const struct rectab *t, const void *rec)
{
	if (!t->nslots)
		return UINT32_MAX;
	size_t i = rectab_slot(t, rec);
	return t->slots[i] ? t->slots[i] - 1 : UINT32_MAX;
}

uint32_t rectab_intern(struct rectab *t, const void *rec, int *added)
{
	if ((t->count + 1) * 2 > t->nslots)
		rectab_rehash(t);
	size_t i = rectab_slot(t, rec);
	if (t->slots[i]) {
		if (added)
			*added = 0;
		return t->slots[i] - 1;
	}
	if (t->count + 1 > t->cap) {
		size_t need = t->count + 1, cap = t->cap ? t->cap : 64;
		while (cap < need)
			cap *= 2;
		t->recs = xrealloc(t->recs, cap * t->elsize);
		t->cap = cap;
	}
	uint32_t id = (uint32_t)t->count++;
	memcpy(t->recs + (size_t)id * t->elsize, rec, t->elsize);
	t->slots[i] = id + 1;
	if (added)
		*added = 1;
	return id;
}
