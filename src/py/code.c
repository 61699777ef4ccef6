#include "py/code.h"

#include "base/buf.h"
#include "base/error.h"
#include "py/layout.h"
#include "py/opcodes.h"
#include "py/pystr.h"
#include "py/runtime.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* How often entries in use are revalidated, and the most checked at once. */
#define SWEEP_PERIOD_NS 20000000ULL
#define SWEEP_MAX 64
/* Room for one signature in a batched read: it spans 0x90 bytes from 3.11
 * on (co_linetable at 0x88); a 128-byte room left 3.11+ entries unchecked
 * by every sweep.  A larger span is read entry by entry. */
#define SWEEP_HEAD 256
/* Largest code object header read (sizeof(PyCodeObject) is ~200 bytes). */
#define CODE_HEAD_MAX 1024

void py_code_cache_init(struct py_code_cache *c, const struct py_runtime *rt, struct mem_source *mem,
			struct strtab *strings)
{
	memset(c, 0, sizeof(*c));
	c->rt = rt;
	c->mem = mem;
	c->strings = strings;
	u64map_init(&c->index);
	c->epoch = 1;
	const struct py_layout *l = &rt->layout;
	uint32_t offs[PY_CODE_SIG_WORDS] = {
		l->ob_type, l->co_filename, l->co_name,
		l->co_qualname != PY_ABSENT ? l->co_qualname : l->co_name,
		l->co_linetable,
		l->ob_size,             /* 3.11+: code units; before: first int fields */
		l->co_firstlineno & ~7u,
	};
	uint32_t span = 0;
	for (int i = 0; i < PY_CODE_SIG_WORDS; i++) {
		c->sig_offs[i] = offs[i];
		if (offs[i] + 8 > span)
			span = offs[i] + 8;
	}
	c->sig_span = span;
}

static void entry_free(struct py_code *e)
{
	free(e->linetable);
	free(e->bytecode);
	free(e->istart);
	e->linetable = NULL;
	e->bytecode = NULL;
	e->istart = NULL;
	e->addr = 0;
}

/* Where each 3.11-3.12 instruction starts: every instruction is followed
 * by the inline caches of its (base) opcode.  Specialization keeps the
 * cache layout of the family, so the layout read once stays valid. */
static uint32_t *instruction_starts(const struct py_runtime *rt, const uint8_t *code, size_t units)
{
	uint32_t *starts = xmalloc((units ? units : 1) * sizeof(*starts));
	size_t i = 0;
	while (i < units) {
		int caches = py_opcode_caches(rt->major, rt->minor, code[2 * i]);
		size_t n = 1 + (caches > 0 ? (size_t)caches : 0);
		for (size_t k = 0; k < n && i + k < units; k++)
			starts[i + k] = (uint32_t)i;
		i += n;
	}
	return starts;
}

static int read_instruction_starts(struct py_code_cache *c, struct py_code *e);

/* --opcodes: what finding an instruction's opcode needs. */
static int parse_opcode_data(struct py_code_cache *c, const unsigned char *head, struct py_code *e)
{
	const struct py_layout *l = &c->rt->layout;
	if (l->co_code != PY_ABSENT) {
		/* 3.8-3.10: co_code never changes */
		struct buf b = BUF_INIT;
		int rc = pystr_read_bytes(c->mem, l, rd_u64(head, l->co_code), PY_CODE_MAX_LINETABLE, &b);
		if (rc == ERR_LIMIT)
			return 0;
		if (rc) {
			buf_release(&b);
			return rc;
		}
		e->bytecode = (uint8_t *)b.data;
		e->bytecode_len = (uint32_t)b.len;
		return 0;
	}
	if (l->ip_kind != PY_IP_PREV_INSTR || e->code_len == 0 || e->code_len > PY_CODE_MAX_LINETABLE)
		return 0;
	return read_instruction_starts(c, e);
}

/* 3.11-3.12: fill e->istart from the live bytecode. */
static int read_instruction_starts(struct py_code_cache *c, struct py_code *e)
{
	if (e->code_len == 0 || e->code_len > PY_CODE_MAX_LINETABLE)
		return ERR_LIMIT;
	uint8_t *code = xmalloc((size_t)e->code_len);
	int rc = mem_read(c->mem, e->code_start, code, (size_t)e->code_len);
	if (rc == 0) {
		e->istart = instruction_starts(c->rt, code, (size_t)(e->code_len / 2));
		e->istart_len = (uint32_t)(e->code_len / 2);
	}
	free(code);
	return rc;
}

int py_code_in_caches(struct py_code_cache *c, struct py_code *code, int64_t off)
{
	if (c->rt->layout.ip_kind != PY_IP_PREV_INSTR)
		return ERR_CORRUPT;
	if (!code->istart) {
		int rc = read_instruction_starts(c, code);
		if (rc)
			return rc;
	}
	if (off < 0 || (off & 1) || (uint64_t)(off / 2) >= code->istart_len)
		return ERR_CORRUPT;
	return code->istart[off / 2] != (uint32_t)(off / 2);
}

int64_t py_code_instruction_start(const struct py_code *code, int64_t off)
{
	if (!code->istart || off < 0 || (uint64_t)(off / 2) >= code->istart_len)
		return off;
	return (int64_t)code->istart[off / 2] * 2;
}

void py_code_cache_release(struct py_code_cache *c)
{
	for (size_t i = 0; i < c->nslots; i++)
		entry_free(&c->slots[i]);
	free(c->slots);
	free(c->free_slots);
	u64map_release(&c->index);
	memset(c, 0, sizeof(*c));
}

static void sig_from(const struct py_code_cache *c, const unsigned char *head, uint64_t *sig)
{
	for (int i = 0; i < PY_CODE_SIG_WORDS; i++)
		sig[i] = rd_u64(head, c->sig_offs[i]);
}

/* Fill e from the code object at addr. */
static int parse(struct py_code_cache *c, raddr_t addr, struct py_code *e)
{
	const struct py_layout *l = &c->rt->layout;
	unsigned char head[CODE_HEAD_MAX];
	memset(e, 0, sizeof(*e));
	size_t len = l->co_size;
	if (len < c->sig_span)
		len = c->sig_span;
	if (len > sizeof(head))
		return ERR_CORRUPT;
	c->fail = PY_FAIL_CODE_READ;
	int rc = mem_read(c->mem, addr, head, len);
	if (rc)
		return rc;
	c->fail = PY_FAIL_CODE_BAD;
	if (c->rt->code_type_addr && rd_u64(head, l->ob_type) != c->rt->code_type_addr)
		return ERR_CORRUPT;
	c->fail = PY_FAIL_CODE_READ;

	struct buf s = BUF_INIT;
	raddr_t name_addr = rd_u64(head, l->co_qualname != PY_ABSENT ? l->co_qualname : l->co_name);
	rc = pystr_read_str(c->mem, l, rd_u64(head, l->co_filename), &s);
	if (rc)
		goto out;
	uint32_t file = strtab_intern(c->strings, s.data ? s.data : "", s.len);
	buf_reset(&s);
	rc = pystr_read_str(c->mem, l, name_addr, &s);
	if (rc)
		goto out;
	uint32_t func = strtab_intern(c->strings, s.data ? s.data : "", s.len);
	buf_reset(&s);

	e->addr = addr;
	e->file = file;
	e->func = func;
	e->firstlineno = rd_i32(head, l->co_firstlineno);
	e->memo_offset = INT64_MIN;
	sig_from(c, head, e->sig);

	c->fail = PY_FAIL_LINETABLE;
	rc = pystr_read_bytes(c->mem, l, rd_u64(head, l->co_linetable), PY_CODE_MAX_LINETABLE, &s);
	if (rc == 0) {
		e->linetable_len = (uint32_t)s.len;
		e->linetable = (uint8_t *)s.data; /* take ownership */
		s.data = NULL;
		s.len = s.cap = 0;
	} else if (rc == ERR_LIMIT) {
		rc = 0; /* keep the names, lines will be unknown */
	} else {
		goto out;
	}

	if (l->co_code_adaptive != PY_ABSENT) {
		/* 3.11+: bytecode inline, Py_SIZE(code) code units */
		int64_t units = (int64_t)rd_u64(head, l->ob_size);
		if (units < 0 || units > (1 << 26)) {
			c->fail = PY_FAIL_CODE_BAD;
			rc = ERR_CORRUPT;
			goto out;
		}
		e->code_start = addr + l->co_code_adaptive;
		e->code_len = (uint64_t)units * 2;
		/* 3.12+ store the frame size; 3.11 adds it up at each call */
		int64_t words = -1;
		if (l->co_framesize != PY_ABSENT && l->co_framesize + 4 <= len)
			words = rd_i32(head, l->co_framesize);
		else if (l->co_nlocalsplus != PY_ABSENT && l->co_nlocalsplus + 4 <= len &&
			 l->co_stacksize + 4 <= len)
			words = (int64_t)l->if_size / 8 + rd_i32(head, l->co_nlocalsplus) +
				rd_i32(head, l->co_stacksize);
		if (words * 8 > (int64_t)l->if_size && words < (1 << 20))
			e->framesize = (uint32_t)words * 8;
		if (l->co_flags != PY_ABSENT && l->co_flags + 4 <= len)
			e->generator = (rd_u32(head, l->co_flags) & l->co_gen_flags) != 0;
	} else {
		e->code_start = 0;
		e->code_len = 0;
	}
	c->fail = PY_FAIL_CODE_READ;
	if (c->want_opcodes)
		rc = parse_opcode_data(c, head, e);
out:
	buf_release(&s);
	if (rc)
		entry_free(e);
	return rc;
}

static void evict(struct py_code_cache *c, uint32_t slot)
{
	if (c->on_evict)
		c->on_evict(c->evict_ctx, &c->slots[slot]);
	u64map_del(&c->index, c->slots[slot].addr);
	entry_free(&c->slots[slot]);
	VEC_RESERVE(c->free_slots, c->free_cap, c->nfree + 1);
	c->free_slots[c->nfree++] = slot;
	c->stats.evictions++;
}

/* Re-read the signature of one entry; false if it changed (or unreadable). */
static bool still_valid(struct py_code_cache *c, struct py_code *e)
{
	unsigned char head[CODE_HEAD_MAX];
	uint64_t sig[PY_CODE_SIG_WORDS];
	c->stats.revalidations++;
	if (mem_read(c->mem, e->addr, head, c->sig_span) != 0)
		return false;
	sig_from(c, head, sig);
	return memcmp(sig, e->sig, sizeof(sig)) == 0;
}

/* The last sweep period in which e was used or found unchanged unused. */
static uint64_t seen_epoch(const struct py_code *e)
{
	return e->used_epoch > e->checked_epoch ? e->used_epoch : e->checked_epoch;
}

int py_code_get(struct py_code_cache *c, raddr_t addr, raddr_t globals, struct py_code **out)
{
	uint64_t *v = u64map_get(&c->index, addr);
	if (v) {
		uint32_t slot = (uint32_t)(*v - 1);
		struct py_code *e = &c->slots[slot];
		/* another module's frame, or idle for a whole period: it may
		 * have died and been replaced */
		bool suspect = e->globals != globals || seen_epoch(e) + 1 < c->epoch;
		if (suspect && !still_valid(c, e)) {
			evict(c, slot);
		} else {
			e->used_epoch = c->epoch;
			e->globals = globals;
			c->stats.hits++;
			*out = e;
			return 0;
		}
	}
	c->stats.misses++;
	struct py_code tmp;
	int rc = parse(c, addr, &tmp);
	if (rc)
		return rc;
	uint32_t slot;
	if (c->nfree) {
		slot = c->free_slots[--c->nfree];
	} else {
		VEC_RESERVE(c->slots, c->cap, c->nslots + 1);
		slot = (uint32_t)c->nslots++;
	}
	tmp.used_epoch = c->epoch;
	tmp.globals = globals;
	c->slots[slot] = tmp;
	u64map_put(&c->index, addr, (uint64_t)slot + 1);
	*out = &c->slots[slot];
	return 0;
}

int py_code_recheck(struct py_code_cache *c, struct py_code **code)
{
	struct py_code *e = *code;
	if (still_valid(c, e))
		return 0;
	raddr_t addr = e->addr, globals = e->globals;
	uint64_t *v = u64map_get(&c->index, addr);
	if (!v) {
		c->fail = PY_FAIL_OTHER;
		return ERR_CORRUPT;
	}
	evict(c, (uint32_t)(*v - 1));
	int rc = py_code_get(c, addr, globals, code);
	return rc ? rc : 1;
}

bool py_code_sweep_due(const struct py_code_cache *c, uint64_t now_ns)
{
	return now_ns >= c->next_sweep_ns;
}

/* Revalidate the entries at slots[0..n) (n <= SWEEP_MAX), batched: ok[i]
 * says whether the signature read is the entry's.  A read that fails
 * fails its entry alone: the batch goes on after it. */
static void check_slots(struct py_code_cache *c, const uint32_t *slots, int n, bool *ok)
{
	assert(n <= SWEEP_MAX);
	unsigned char heads[SWEEP_MAX][SWEEP_HEAD];
	struct mem_iov iov[SWEEP_MAX];
	if (c->sig_span > sizeof(heads[0])) {
		/* no batch: one read per entry */
		for (int i = 0; i < n; i++)
			ok[i] = still_valid(c, &c->slots[slots[i]]);
		return;
	}
	for (int i = 0; i < n; i++)
		iov[i] = (struct mem_iov){ c->slots[slots[i]].addr, heads[i], c->sig_span };
	for (int done = 0; done < n;) {
		int got = mem_readv(c->mem, iov + done, n - done);
		if (got < 0)
			got = 0;
		for (int i = done; i < n && i <= done + got; i++) {
			uint64_t sig[PY_CODE_SIG_WORDS];
			c->stats.revalidations++;
			ok[i] = false;
			if (i < done + got) {
				sig_from(c, heads[i], sig);
				ok[i] = memcmp(sig, c->slots[slots[i]].sig, sizeof(sig)) == 0;
			}
		}
		done += got + 1;
	}
}

void py_code_each_idle(struct py_code_cache *c, void (*fn)(void *ctx, const struct py_code *e),
		       void *ctx)
{
	/* py_code_get's suspicion after the sweep: seen + 1 < epoch + 1 */
	for (size_t i = 0; i < c->nslots; i++)
		if (c->slots[i].addr && seen_epoch(&c->slots[i]) < c->epoch)
			fn(ctx, &c->slots[i]);
}

static int idle_cmp(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b; /* seen epoch << 32 | slot: the latest first */
	return *x < *y ? 1 : *x > *y ? -1 : 0;
}

void py_code_check_idle(struct py_code_cache *c, bool (*want)(void *ctx, const struct py_code *e),
			void *ctx, size_t max)
{
	uint64_t *cand = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < c->nslots && i <= UINT32_MAX; i++) {
		struct py_code *e = &c->slots[i];
		if (!e->addr || seen_epoch(e) >= c->epoch || !want(ctx, e))
			continue;
		VEC_RESERVE(cand, cap, n + 1);
		cand[n++] = (seen_epoch(e) << 32) | i; /* epochs stay far below 2^32 */
	}
	if (n > max) {
		qsort(cand, n, sizeof(*cand), idle_cmp);
		n = max;
	}
	for (size_t at = 0; at < n; at += SWEEP_MAX) {
		uint32_t slots[SWEEP_MAX];
		bool ok[SWEEP_MAX];
		int k = n - at < SWEEP_MAX ? (int)(n - at) : SWEEP_MAX;
		for (int i = 0; i < k; i++)
			slots[i] = (uint32_t)cand[at + (size_t)i];
		check_slots(c, slots, k, ok);
		for (int i = 0; i < k; i++) {
			if (ok[i])
				c->slots[slots[i]].checked_epoch = c->epoch;
			else
				evict(c, slots[i]);
		}
	}
	free(cand);
}

void py_code_sweep(struct py_code_cache *c, uint64_t now_ns)
{
	if (!py_code_sweep_due(c, now_ns))
		return;
	c->next_sweep_ns = now_ns + SWEEP_PERIOD_NS;
	/* entries used during the period that just ended */
	uint32_t slots[SWEEP_MAX] = { 0 };
	bool ok[SWEEP_MAX];
	int n = 0;
	for (size_t i = 0; i < c->nslots && n < SWEEP_MAX; i++) {
		struct py_code *e = &c->slots[i];
		if (e->addr && e->used_epoch == c->epoch)
			slots[n++] = (uint32_t)i;
	}
	check_slots(c, slots, n, ok);
	for (int i = 0; i < n; i++)
		if (!ok[i])
			evict(c, slots[i]);
	c->epoch++;
}

void py_code_location(struct py_code *code, int linetable_kind, int64_t off, struct py_location *loc)
{
	if (off == code->memo_offset) {
		*loc = code->memo_loc;
		return;
	}
	if (!code->linetable ||
	    linetable_lookup(linetable_kind, code->linetable, code->linetable_len, code->firstlineno,
			     off, loc) != 0) {
		loc->line = loc->end_line = loc->col = loc->end_col = -1;
	}
	code->memo_offset = off;
	code->memo_loc = *loc;
}
