/* hash.h - hashing and an open-addressing u64 -> u64 map.
 *
 * The map uses linear probing with backward-shift deletion, so lookups stay
 * short without tombstones.  Any 64-bit value is a key. */
#ifndef STROBE_BASE_HASH_H
#define STROBE_BASE_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint64_t hash_bytes(const void *p, size_t n);

static inline uint64_t hash_u64(uint64_t x)
{
	/* splitmix64 finaliser: cheap and well mixed */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

#define U64MAP_EMPTY UINT64_MAX

struct u64map_slot {
	uint64_t key;
	uint64_t val;
};

struct u64map {
	struct u64map_slot *slots; /* owned; capacity is a power of two */
	size_t cap;
	size_t len;                /* slots in use */
	/* the key U64MAP_EMPTY marks free slots, so it lives here instead */
	bool has_empty_key;
	uint64_t empty_key_val;
};

void u64map_init(struct u64map *m);
void u64map_release(struct u64map *m);
/* Returns a pointer to the value of key, or NULL.  Valid until the next put/del. */
uint64_t *u64map_get(const struct u64map *m, uint64_t key);
/* Insert or overwrite. */
void u64map_put(struct u64map *m, uint64_t key, uint64_t val);
/* Remove key if present; returns whether it was. */
bool u64map_del(struct u64map *m, uint64_t key);
void u64map_clear(struct u64map *m);

/* A set of uint32 ids for one pass over a small list (the distinct frames
 * of one stack): idset_start() empties it for up to n ids, in time
 * proportional to n, not to the largest list seen. */
struct idset {
	uint32_t *slots; /* id + 1, 0: empty */
	size_t mask, cap;
};

void idset_start(struct idset *s, size_t n);
/* Whether id was not in the set yet (it is now). */
static inline bool idset_add(struct idset *s, uint32_t id)
{
	size_t i = (size_t)(hash_u64(id) & s->mask);
	for (; s->slots[i]; i = (i + 1) & s->mask)
		if (s->slots[i] == id + 1)
			return false;
	s->slots[i] = id + 1;
	return true;
}
void idset_release(struct idset *s);

#endif
