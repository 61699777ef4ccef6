/* locals.h - a frame's local variables as short, bounded reprs
 * (`strobe dump --locals`).
 *
 * For a frame the walker resolved (its address and code object, from the
 * walker's frame_addrs), reads the fast locals and cell variables: their
 * names from the code object (co_varnames/co_cellvars/co_freevars before
 * 3.11, co_localsplusnames and co_localspluskinds after, hidden slots left
 * out), their values from the frame (f_localsplus of the frame object
 * before 3.11, localsplus of the interpreter frame after; 3.14+ stack
 * references untagged), a cell's value through its ob_ref.
 *
 * A value is shown as Python's repr for None, bool, int (exact up to
 * PY_LOCALS_INT_CHARS digits, else "<int of N digits>"), float, str and
 * bytes (cut after PY_LOCALS_TEXT_CHARS characters, "..." after the
 * quote), "<list of 3>" for list, tuple, dict, set and frozenset, and
 * "<NAME object>" for anything else (its type's tp_name).  A type counts as
 * a builtin one by its tp_name and by not being a heap type.
 *
 * Everything read is the target's and untrusted: at most PY_LOCALS_MAX
 * locals per frame, at most PY_LOCALS_MAX_READS reads per frame (a value
 * past the budget shows as "<not read>"), every length clamped before it
 * is read.  Nothing here allocates per value beyond the output buffer.
 */
#ifndef STROBE_PY_LOCALS_H
#define STROBE_PY_LOCALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "process/mem.h"

struct buf;
struct py_runtime;

#define PY_LOCALS_MAX 64          /* locals shown per frame */
#define PY_LOCALS_SLOTS 1024      /* localsplus slots a frame may have */
#define PY_LOCALS_MAX_READS 512   /* reads per frame */
#define PY_LOCALS_TEXT_CHARS 60   /* characters of a str or bytes shown */
#define PY_LOCALS_INT_CHARS 40    /* decimal digits of an int shown */
#define PY_LOCALS_NAME_CHARS 64   /* characters of a local's or type's name */
#define PY_LOCALS_TYPES 32        /* type objects remembered */

struct py_locals_type {
	raddr_t addr;
	uint8_t kind;                  /* what the value is shown as (locals.c) */
	uint8_t len;
	char name[PY_LOCALS_NAME_CHARS * 4];  /* tp_name, valid UTF-8 */
};

struct py_locals {
	struct mem_source *mem;        /* borrowed */
	const struct py_runtime *rt;   /* borrowed */
	struct py_locals_type types[PY_LOCALS_TYPES];
	size_t ntypes, next_type;
	unsigned reads;                /* reads left for the current frame */
};

/* Whether the runtime's layout has what reading locals needs (every
 * generated version does; a layout lacking a field cannot). */
bool py_locals_supported(const struct py_runtime *rt);

void py_locals_init(struct py_locals *pl, struct mem_source *mem, const struct py_runtime *rt);

/* Append one "name = repr\n" line per local variable of the frame at
 * frame, which ran the code object at code when it was sampled, to out.
 * Unbound locals are left out; more than PY_LOCALS_MAX locals end with a
 * line "... N more".  Returns 0, or an ERR_* when the frame could not be
 * read at all or no longer runs that code (out unchanged then). */
int py_locals_frame(struct py_locals *pl, raddr_t frame, raddr_t code, struct buf *out);

#endif
