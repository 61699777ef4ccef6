/* code.h - a cache of the code objects the walker meets, keyed by address.
 *
 * On a miss the code object is read and checked (its type must be
 * PyCode_Type when that address is known), its file name and qualified
 * name are interned and its line table copied.
 *
 * Addresses get reused when code objects die (a module's start-up code is
 * freed and the next module's functions land on it), so an entry is
 * re-checked against a signature of the object's fields:
 *  - when a frame uses it with other globals than last time (code from
 *    another module landed there: the common case of reuse),
 *  - when it was not used during the last sweep period,
 *  - when the caller finds the frame's instruction outside its bytecode,
 *  - and, for the entries in use, every sweep period in one batched read.
 */
#ifndef STROBE_PY_CODE_H
#define STROBE_PY_CODE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/hash.h"
#include "base/intern.h"
#include "py/fail.h"
#include "py/linetable.h"
#include "process/mem.h"

struct py_runtime;

/* Longest line table copied (bytes); longer ones give unknown lines. */
#define PY_CODE_MAX_LINETABLE (1u << 20)
/* Words of a code object compared to revalidate an entry: its type,
 * name, qualname, file name and line table pointers, its size word and
 * the word holding co_firstlineno. */
#define PY_CODE_SIG_WORDS 7

struct py_code {
	raddr_t addr;
	uint32_t file;          /* string id of co_filename */
	uint32_t func;          /* string id of co_qualname (3.11+) or co_name */
	int32_t firstlineno;
	uint32_t linetable_len;
	uint8_t *linetable;     /* owned, NULL when too long or absent */
	raddr_t code_start;     /* first byte of the bytecode */
	uint64_t code_len;      /* bytecode length in bytes */
	uint32_t framesize;     /* 3.11+: bytes its frames take on the data stack, 0 unknown */
	bool generator;         /* 3.11+: generator, coroutine or async generator code */
	uint64_t sig[PY_CODE_SIG_WORDS];
	uint64_t used_epoch;    /* sweep epoch of the last use */
	uint64_t checked_epoch; /* ... of the last revalidation unused (py_code_check_idle) */
	raddr_t globals;        /* f_globals of the frame that last used it */
	/* --opcodes only: 3.8-3.10 the bytecode (immutable co_code); 3.11-3.12
	 * for each code unit the index of the unit starting its instruction
	 * (a caller's prev_instr points into its CALL's inline caches) */
	uint8_t *bytecode;
	uint32_t bytecode_len;
	uint32_t *istart;
	uint32_t istart_len;
	/* memo: the last instruction looked up and its location */
	int64_t memo_offset;
	struct py_location memo_loc;
};

struct py_code_stats {
	uint64_t hits, misses, evictions, revalidations;
};

struct py_code_cache {
	const struct py_runtime *rt;
	struct mem_source *mem;
	struct strtab *strings;     /* borrowed: names are interned here */
	bool want_opcodes;          /* keep what opcode lookups need */
	struct u64map index;        /* code address -> slot + 1 */
	struct py_code *slots;
	size_t nslots, cap;
	uint32_t *free_slots;
	size_t nfree, free_cap;
	uint64_t epoch;             /* incremented by each sweep */
	uint64_t next_sweep_ns;
	struct py_code_stats stats;
	enum py_fail fail;          /* why the last failed lookup failed */
	uint32_t sig_offs[PY_CODE_SIG_WORDS]; /* fields of the signature */
	uint32_t sig_span;          /* bytes to read to cover them */
	/* Told of each entry evicted (its address found reused or freed),
	 * before it goes: the BPF engine copies that code object again.
	 * NULL: nobody. */
	void (*on_evict)(void *ctx, const struct py_code *e);
	void *evict_ctx;
};

void py_code_cache_init(struct py_code_cache *c, const struct py_runtime *rt, struct mem_source *mem,
			struct strtab *strings);
void py_code_cache_release(struct py_code_cache *c);

/* The entry for the code object at addr, used by a frame whose f_globals is
 * globals, reading it on a miss.  Returns 0 and *out (valid until the next
 * call), ERR_CORRUPT when addr is not a code object, ERR_FAULT/ERR_NOPROC
 * when reading failed; c->fail then tells which part failed. */
int py_code_get(struct py_code_cache *c, raddr_t addr, raddr_t globals, struct py_code **out);

/* Re-check *code against the target; if it changed, reparse it in place of
 * the old entry.  Returns 1 when the entry was replaced (*code updated), 0
 * when it is unchanged, or a negative ERR_*. */
int py_code_recheck(struct py_code_cache *c, struct py_code **code);

/* Revalidate the entries used since the last sweep, if a sweep is due at
 * now_ns; call once per sample, outside the frame walk. */
void py_code_sweep(struct py_code_cache *c, uint64_t now_ns);
/* Whether py_code_sweep(c, now_ns) would sweep. */
bool py_code_sweep_due(const struct py_code_cache *c, uint64_t now_ns);

/* Entries idle since the last sweep (neither used nor checked here):
 * after the next sweep, py_code_get no longer trusts one unread (idle for
 * a whole period, it may have died and its address been reused with the
 * same globals) but revalidates it against the target.
 *
 * py_code_check_idle revalidates up to max of those want(ctx, e) names,
 * the most recently used or checked first, in batched reads: one found
 * unchanged is trusted for one more period, as if used; one changed is
 * evicted.  py_code_each_idle calls fn(ctx, e) for each entry idle then.
 * The BPF engine, just before a sweep, checks the entries its program
 * knows (skips copying), and makes it forget the rest of the idle ones:
 * it copies them again from then on, so that the revalidation of a sample
 * decoded after the sweep reads the sample's copy, not memory freed
 * since. */
void py_code_check_idle(struct py_code_cache *c, bool (*want)(void *ctx, const struct py_code *e),
			void *ctx, size_t max);
void py_code_each_idle(struct py_code_cache *c, void (*fn)(void *ctx, const struct py_code *e),
		       void *ctx);

/* Byte offset of the start of the instruction containing byte offset off
 * (3.11-3.12, --opcodes); off itself when unknown. */
int64_t py_code_instruction_start(const struct py_code *code, int64_t off);

/* 3.11-3.12: whether byte offset off of *code lies inside the inline caches
 * of an instruction rather than at its start (where a frame that pushed a
 * callee points until it resumes).  Reads the bytecode the first time.
 * Returns 1 or 0, or a negative ERR_* when it cannot tell. */
int py_code_in_caches(struct py_code_cache *c, struct py_code *code, int64_t off);

/* Location of the instruction at byte offset off of the code (memoised). */
void py_code_location(struct py_code *code, int linetable_kind, int64_t off, struct py_location *loc);

#endif
