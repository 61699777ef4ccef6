#include "base/hash.h"

#include "base/buf.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

uint64_t hash_bytes(const void *p, size_t n)
{
	/* FNV-1a over 8-byte words, then a final mix: good enough for interning
	 * tables whose keys are short names and small fixed records. */
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL ^ n;
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 29;
		s += 8;
		n -= 8;
	}
	uint64_t w = 0;
	memcpy(&w, s, n);
	h = (h ^ w) * 0x100000001b3ULL;
	return hash_u64(h);
}

void u64map_init(struct u64map *m)
{
	m->slots = NULL;
	m->cap = 0;
	m->len = 0;
	m->has_empty_key = false;
	m->empty_key_val = 0;
}

void u64map_release(struct u64map *m)
{
	free(m->slots);
	u64map_init(m);
}

void u64map_clear(struct u64map *m)
{
	for (size_t i = 0; i < m->cap; i++)
		m->slots[i].key = U64MAP_EMPTY;
	m->len = 0;
	m->has_empty_key = false;
}

uint64_t *u64map_get(const struct u64map *m, uint64_t key)
{
	if (key == U64MAP_EMPTY)
		return m->has_empty_key ? (uint64_t *)&m->empty_key_val : NULL;
	if (!m->cap)
		return NULL;
	size_t mask = m->cap - 1;
	for (size_t i = hash_u64(key) & mask;; i = (i + 1) & mask) {
		if (m->slots[i].key == key)
			return &m->slots[i].val;
		if (m->slots[i].key == U64MAP_EMPTY)
			return NULL;
	}
}

static void rehash(struct u64map *m, size_t ncap)
{
	struct u64map_slot *old = m->slots;
	size_t ocap = m->cap;
	m->slots = xmalloc(ncap * sizeof(*m->slots));
	m->cap = ncap;
	m->len = 0;
	for (size_t i = 0; i < ncap; i++)
		m->slots[i].key = U64MAP_EMPTY;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].key != U64MAP_EMPTY)
			u64map_put(m, old[i].key, old[i].val);
	free(old);
}

void u64map_put(struct u64map *m, uint64_t key, uint64_t val)
{
	if (key == U64MAP_EMPTY) {
		m->has_empty_key = true;
		m->empty_key_val = val;
		return;
	}
	if ((m->len + 1) * 4 > m->cap * 3)
		rehash(m, m->cap ? m->cap * 2 : 64);
	size_t mask = m->cap - 1;
	for (size_t i = hash_u64(key) & mask;; i = (i + 1) & mask) {
		if (m->slots[i].key == key) {
			m->slots[i].val = val;
			return;
		}
		if (m->slots[i].key == U64MAP_EMPTY) {
			m->slots[i].key = key;
			m->slots[i].val = val;
			m->len++;
			return;
		}
	}
}

bool u64map_del(struct u64map *m, uint64_t key)
{
	if (key == U64MAP_EMPTY) {
		bool had = m->has_empty_key;
		m->has_empty_key = false;
		return had;
	}
	if (!m->cap)
		return false;
	size_t mask = m->cap - 1;
	size_t i = hash_u64(key) & mask;
	for (;; i = (i + 1) & mask) {
		if (m->slots[i].key == U64MAP_EMPTY)
			return false;
		if (m->slots[i].key == key)
			break;
	}
	/* backward-shift: move later entries of the cluster into the hole when
	 * their home slot is not between the hole and their position */
	size_t hole = i;
	for (size_t j = (i + 1) & mask; m->slots[j].key != U64MAP_EMPTY; j = (j + 1) & mask) {
		size_t home = hash_u64(m->slots[j].key) & mask;
		bool movable = (hole <= j) ? (home <= hole || home > j) : (home <= hole && home > j);
		if (movable) {
			m->slots[hole] = m->slots[j];
			hole = j;
		}
	}
	m->slots[hole].key = U64MAP_EMPTY;
	m->len--;
	return true;
}

void idset_start(struct idset *s, size_t n)
{
	size_t size = 16;
	while (size < 2 * n)
		size *= 2;
	if (size > s->cap) {
		free(s->slots);
		s->slots = xmalloc(size * sizeof(*s->slots));
		s->cap = size;
	}
	s->mask = size - 1;
	memset(s->slots, 0, size * sizeof(*s->slots));
}

void idset_release(struct idset *s)
{
	free(s->slots);
	memset(s, 0, sizeof(*s));
}
