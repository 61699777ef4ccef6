/* linetable.c - decode the three CPython line-table formats.
 *
 * Each decoder walks the table once from the start, accumulating the line
 * number the same way CPython does, and stops at the entry that covers the
 * requested offset.  Line arithmetic is done in int64_t and checked against
 * int32_t after every step, so no hostile table can overflow it; every byte
 * read goes through a bounds check.
 */
#include "py/linetable.h"

#include <assert.h>

#include "base/error.h"
#include "py/layout.h"

/* Bytes per code unit (_Py_CODEUNIT) in every supported version. */
#define CODE_UNIT 2

/* Location table (3.11+) entry codes, bits 3-6 of an entry's first byte. */
enum {
	LOC_SHORT_LAST = 9,  /* 0-9: same line, column in a 4-bit group */
	LOC_ONE_LINE0 = 10,  /* 10-12: line += code - 10, col and end_col bytes */
	LOC_ONE_LINE2 = 12,
	LOC_NO_COLUMNS = 13, /* signed line delta only */
	LOC_LONG = 14,       /* line delta, end-line delta, col+1, end_col+1 */
	LOC_NONE = 15,       /* no location at all */
};

/* A varint is at most six 6-bit groups: CPython writes unsigned ints. */
#define VARINT_MAX_SHIFT 30

/* The 3.10 line delta meaning "these instructions have no line". */
#define PEP626_NO_LINE (-128)

static void set_unknown(struct py_location *out)
{
	out->line = out->end_line = out->col = out->end_col = -1;
}

static int fits_i32(int64_t v)
{
	return v >= INT32_MIN && v <= INT32_MAX;
}

/* The byte as a two's-complement int8, without relying on the
 * implementation-defined uint8_t -> int8_t conversion. */
static int signed_byte(uint8_t b)
{
	return b < 0x80 ? b : (int)b - 0x100;
}

/* Adds delta to *line, failing if the result leaves int32_t. */
static int add_line(int64_t *line, int64_t delta)
{
	*line += delta;
	return fits_i32(*line) ? 0 : ERR_CORRUPT;
}

/* 3.8-3.9 co_lnotab: pairs (unsigned address increment, signed line
 * increment).  The line of address A is firstlineno plus the line increments
 * of every pair whose cumulated address is <= A (PyCode_Addr2Line).  Large
 * jumps are split into several pairs, so intermediate sums need not be real
 * lines; that is why the walk only stops once the address passes A.  An odd
 * trailing byte is ignored, as CPython reads len/2 pairs. */
static int lookup_lnotab(const uint8_t *t, size_t len, int firstlineno, int64_t off,
                         struct py_location *out)
{
	int64_t line = firstlineno, addr = 0;

	for (size_t i = 0; i + 1 < len; i += 2) {
		addr += t[i];
		if (addr > off)
			break;
		if (add_line(&line, signed_byte(t[i + 1])) < 0)
			return ERR_CORRUPT;
	}
	out->line = out->end_line = (int32_t)line;
	out->col = out->end_col = -1;
	return 0;
}

/* 3.10 co_linetable (PEP 626): pairs (unsigned byte length, signed line
 * delta), where delta -128 marks a range without a line and leaves the
 * running line alone.  Zero-length pairs only carry part of a large line
 * delta (or byte length); CPython skips them when looking for the range of an
 * address, so the line of an address is that of the non-empty pair covering
 * it.  A zero-length pair can never match below: its end equals the previous
 * end, which off is already past.  Past the last pair CPython answers -1. */
static int lookup_pep626(const uint8_t *t, size_t len, int firstlineno, int64_t off,
                         struct py_location *out)
{
	int64_t line = firstlineno, end = 0;

	assert(off >= 0);
	set_unknown(out);
	for (size_t i = 0; i + 1 < len; i += 2) {
		int delta = signed_byte(t[i + 1]);

		if (delta != PEP626_NO_LINE && add_line(&line, delta) < 0)
			return ERR_CORRUPT;
		end += t[i];
		if (off < end) {
			if (delta != PEP626_NO_LINE)
				out->line = out->end_line = (int32_t)line;
			return 0;
		}
	}
	return 0;
}

/* A read position inside a 3.11+ location table. */
struct loc_cursor {
	const uint8_t *t;
	size_t len, pos;
};

static int cursor_byte(struct loc_cursor *c, uint8_t *b)
{
	if (c->pos >= c->len)
		return ERR_CORRUPT;
	*b = c->t[c->pos++];
	return 0;
}

/* Unsigned varint: 6-bit groups, least significant first, bit 6 set on all
 * but the last.  Bit 7 is reserved for entry starts, so a byte with it set
 * means the varint ran into the next entry. */
static int cursor_varint(struct loc_cursor *c, uint32_t *v)
{
	uint64_t val = 0;
	uint8_t b;

	for (unsigned shift = 0;; shift += 6) {
		if (shift > VARINT_MAX_SHIFT || cursor_byte(c, &b) < 0 || (b & 0x80))
			return ERR_CORRUPT;
		val |= (uint64_t)(b & 63) << shift;
		if (!(b & 64))
			break;
	}
	if (val > UINT32_MAX)
		return ERR_CORRUPT;
	*v = (uint32_t)val;
	return 0;
}

/* Signed varint: the magnitude shifted left once, sign in bit 0. */
static int cursor_svarint(struct loc_cursor *c, int64_t *v)
{
	uint32_t u;

	if (cursor_varint(c, &u) < 0)
		return ERR_CORRUPT;
	*v = (u & 1) ? -(int64_t)(u >> 1) : (int64_t)(u >> 1);
	return 0;
}

/* A column stored as varint(col + 1), so that 0 means "unknown" (-1). */
static int cursor_column(struct loc_cursor *c, int32_t *col)
{
	uint32_t u;

	if (cursor_varint(c, &u) < 0 || u > (uint32_t)INT32_MAX)
		return ERR_CORRUPT;
	*col = (int32_t)u - 1;
	return 0;
}

/* Decodes the body of one entry with the given code, advancing the running
 * *line the way CPython's co_positions() iterator does, and fills *loc. */
static int decode_entry(struct loc_cursor *c, int code, int64_t *line, struct py_location *loc)
{
	int64_t delta;
	uint32_t u;
	uint8_t b1, b2;

	switch (code) {
	case LOC_NONE:
		/* The running line is kept for the next entry. */
		set_unknown(loc);
		return 0;
	case LOC_LONG:
		if (cursor_svarint(c, &delta) < 0 || add_line(line, delta) < 0 ||
		    cursor_varint(c, &u) < 0 || !fits_i32(*line + u))
			return ERR_CORRUPT;
		loc->line = (int32_t)*line;
		loc->end_line = (int32_t)(*line + u);
		if (cursor_column(c, &loc->col) < 0 || cursor_column(c, &loc->end_col) < 0)
			return ERR_CORRUPT;
		return 0;
	case LOC_NO_COLUMNS:
		if (cursor_svarint(c, &delta) < 0 || add_line(line, delta) < 0)
			return ERR_CORRUPT;
		loc->line = loc->end_line = (int32_t)*line;
		loc->col = loc->end_col = -1;
		return 0;
	default:
		break;
	}
	if (code >= LOC_ONE_LINE0) {
		assert(code <= LOC_ONE_LINE2);
		if (add_line(line, code - LOC_ONE_LINE0) < 0 || cursor_byte(c, &b1) < 0 ||
		    cursor_byte(c, &b2) < 0)
			return ERR_CORRUPT;
		loc->line = loc->end_line = (int32_t)*line;
		loc->col = b1;
		loc->end_col = b2;
		return 0;
	}
	/* Short form: the code holds the high bits of the column, the second
	 * byte its low 3 bits (bits 4-6) and the width (bits 0-3). */
	assert(code <= LOC_SHORT_LAST);
	if (cursor_byte(c, &b1) < 0 || (b1 & 0x80))
		return ERR_CORRUPT;
	loc->line = loc->end_line = (int32_t)*line;
	loc->col = code * 8 + (b1 >> 4);
	loc->end_col = loc->col + (b1 & 15);
	return 0;
}

/* 3.11+ location table (PEP 657).  Each entry starts with a byte that has
 * bit 7 set, its code in bits 3-6 and (length - 1) in code units in bits
 * 0-2, then a code-specific body.  Entries tile the bytecode from offset 0. */
static int lookup_locations(const uint8_t *t, size_t len, int firstlineno, int64_t off,
                            struct py_location *out)
{
	struct loc_cursor c = { t, len, 0 };
	int64_t line = firstlineno, end = 0;

	assert(off >= 0);
	while (c.pos < c.len) {
		uint8_t first = t[c.pos++];
		struct py_location loc;

		if (!(first & 0x80))
			return ERR_CORRUPT;
		if (decode_entry(&c, (first >> 3) & 15, &line, &loc) < 0)
			return ERR_CORRUPT;
		end += ((first & 7) + 1) * CODE_UNIT;
		if (off < end) {
			*out = loc;
			return 0;
		}
	}
	set_unknown(out);
	return 0;
}

int linetable_lookup(int kind, const uint8_t *table, size_t len, int firstlineno,
                     int64_t byte_offset, struct py_location *out)
{
	int rc;

	assert(out);
	set_unknown(out);
	if (!table && len)
		return ERR_INVAL;
	if (kind != PY_LT_LNOTAB && kind != PY_LT_LINETABLE && kind != PY_LT_LOCATIONS)
		return ERR_INVAL;
	if (byte_offset < 0) {
		/* Not started yet (f_lasti -1, prev_instr one unit before the code):
		 * PyCode_Addr2Line answers co_firstlineno.  The location table has no
		 * entry for it, so only the line is known there. */
		out->line = firstlineno;
		if (kind != PY_LT_LOCATIONS)
			out->end_line = firstlineno;
		return 0;
	}
	switch (kind) {
	case PY_LT_LNOTAB:
		rc = lookup_lnotab(table, len, firstlineno, byte_offset, out);
		break;
	case PY_LT_LINETABLE:
		rc = lookup_pep626(table, len, firstlineno, byte_offset, out);
		break;
	default:
		rc = lookup_locations(table, len, firstlineno, byte_offset, out);
		break;
	}
	if (rc < 0)
		set_unknown(out);
	return rc;
}
