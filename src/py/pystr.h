/* pystr.h - copying str and bytes objects out of the target. */
#ifndef STROBE_PY_PYSTR_H
#define STROBE_PY_PYSTR_H

#include <stddef.h>

#include "base/buf.h"
#include "target/mem.h"

struct py_layout;

/* Longest name strobe keeps, in characters (longer ones are cut). */
#define PYSTR_MAX_CHARS 1024

/* Append the str object at addr to out as UTF-8 (lone surrogates are kept
 * as 3-byte sequences, like Python's "surrogatepass").  At most
 * PYSTR_MAX_CHARS characters.  0, ERR_FAULT, ERR_CORRUPT (not a compact
 * str, or inconsistent header) or ERR_NOPROC. */
int pystr_read_str(struct mem_source *mem, const struct py_layout *l, raddr_t addr, struct buf *out);

/* Append the contents of the bytes object at addr to out, failing with
 * ERR_LIMIT when it is longer than max bytes. */
int pystr_read_bytes(struct mem_source *mem, const struct py_layout *l, raddr_t addr, size_t max,
		     struct buf *out);

/* Append code point cp to out as UTF-8 (surrogates encoded as-is). */
void pystr_put_utf8(struct buf *out, uint32_t cp);

#endif
