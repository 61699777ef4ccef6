/* intern.h - interning of strings and of fixed-size records.
 *
 * Both give dense uint32 ids in first-seen order, which is what the output
 * formats use as table indices.  Memory grows with distinct keys only.
 * Records are compared with memcmp, so record structs must have no padding. */
#ifndef STROBE_BASE_INTERN_H
#define STROBE_BASE_INTERN_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

struct strtab {
	struct buf bytes;    /* all strings, each followed by a NUL */
	uint32_t *offs;      /* offs[id] = start of string id in bytes */
	uint32_t *lens;      /* lens[id] = byte length (strings may hold NULs) */
	size_t count, cap;
	uint32_t *slots;     /* hash table of id+1 and a hash tag (0 = empty) */
	size_t nslots;
	unsigned bits;       /* log2(nslots): the id's part of a slot */
};

void strtab_init(struct strtab *t);
void strtab_release(struct strtab *t);
/* Intern n bytes at p; returns its id. */
uint32_t strtab_intern(struct strtab *t, const char *p, size_t n);
uint32_t strtab_intern_cstr(struct strtab *t, const char *s);
/* Id of an already interned string, or UINT32_MAX. */
uint32_t strtab_find(const struct strtab *t, const char *p, size_t n);
/* The string of id (NUL-terminated; *len gets its length if len != NULL).
 * The pointer is valid until the next intern. */
const char *strtab_get(const struct strtab *t, uint32_t id, size_t *len);

struct rectab {
	size_t elsize;
	unsigned char *recs; /* count * elsize bytes */
	size_t count, cap;
	uint32_t *slots;     /* id+1 and a hash tag, 0 = empty */
	size_t nslots;
	unsigned bits;       /* log2(nslots): the id's part of a slot */
};

void rectab_init(struct rectab *t, size_t elsize);
void rectab_release(struct rectab *t);
/* Intern the record at rec (elsize bytes); returns its id.  *added (if not
 * NULL) tells whether it is new. */
uint32_t rectab_intern(struct rectab *t, const void *rec, int *added);
uint32_t rectab_find(const struct rectab *t, const void *rec);
/* Start fetching the slot where rec's search would begin: for a caller
 * that knows its next keys, so that their lookups overlap. */
void rectab_prefetch(const struct rectab *t, const void *rec);
/* Room for n records in all, so that interning up to n never rebuilds the
 * table: for a caller that knows how many keys are coming. */
void rectab_reserve(struct rectab *t, size_t n);
static inline const void *rectab_get(const struct rectab *t, uint32_t id)
{
	return t->recs + (size_t)id * t->elsize;
}

#endif
