/* pystr.h - copying str and bytes objects out of the target. */
#ifndef STROBE_PY_PYSTR_H
#define STROBE_PY_PYSTR_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "process/mem.h"

struct py_layout;

/* Longest name strobe keeps, in characters (longer ones are cut). */
#define PYSTR_MAX_CHARS 1024
/* pystr_read_str's first read: room for the header of any version plus a
 * typical short name, so that most strings need a single read (the BPF
 * engine copies this much of a name). */
#define PYSTR_FIRST_READ 256

/* Append the str object at addr to out as valid UTF-8 (pystr_decode): a
 * name is the target's to choose, lone surrogates included.  At most
 * PYSTR_MAX_CHARS characters.  0, ERR_FAULT, ERR_CORRUPT (not a compact
 * str, or inconsistent header or data) or ERR_NOPROC. */
int pystr_read_str(struct mem_source *mem, const struct py_layout *l, raddr_t addr, struct buf *out);

/* What a str object's header says (the first u_compact_data bytes of it). */
struct pystr_head {
	unsigned kind;      /* 1, 2 or 4 bytes per character */
	bool ascii;         /* the ASCII-only form (kind 1) */
	uint64_t length;    /* characters */
	size_t data_off;    /* where they start in the object */
};

/* Parse a str header: 0, or ERR_CORRUPT when it is no compact str (the
 * only kind a code object's names and a frame's locals are read from). */
int pystr_parse_head(const struct py_layout *l, const unsigned char *head, struct pystr_head *h);

/* Append the contents of the bytes object at addr to out, failing with
 * ERR_LIMIT when it is longer than max bytes. */
int pystr_read_bytes(struct mem_source *mem, const struct py_layout *l, raddr_t addr, size_t max,
		     struct buf *out);

/* Append the nchars characters of a compact str's data, kind bytes each
 * (1 Latin-1, 2 UCS-2, 4 UCS-4; ascii: the ASCII-only form, kind 1), to out
 * as valid UTF-8: a lone surrogate (which a str may hold: "\ud800", a file
 * name decoded with surrogateescape) or a value above U+10FFFF becomes
 * U+FFFD.  0, or ERR_CORRUPT for an ASCII str with a byte above 0x7F,
 * which no str holds (a torn or forged object); out is unchanged then. */
int pystr_decode(struct buf *out, const unsigned char *data, size_t nchars, unsigned kind,
		 bool ascii);

#endif
