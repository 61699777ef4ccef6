/* linetable.h - source location of one instruction, from a code object's
 * line table.
 *
 * Pure decoding: the caller copies the table bytes out of the target (they
 * are untrusted), passes them here with co_firstlineno and the instruction's
 * byte offset, and gets back what the interpreter itself would report.  No
 * allocation, no I/O; every read is bounds-checked and the work is linear in
 * the table length, so a hostile table costs at most one pass over it.
 *
 * Which table and which offset, per enum py_linetable_kind (py/layout.h):
 *
 *   PY_LT_LNOTAB (3.8-3.9)   table = co_lnotab; byte_offset = f_lasti (already
 *                            in bytes).  Result = PyCode_Addr2Line(), which
 *                            is frame.f_lineno.  Offsets past the end of the
 *                            table keep the last line, as CPython does.
 *   PY_LT_LINETABLE (3.10)   table = co_linetable (PEP 626); byte_offset =
 *                            f_lasti * 2 (3.10 counts f_lasti in code units).
 *                            Result = PyCode_Addr2Line() = frame.f_lineno,
 *                            which is "no line" (-1, Python shows None) for
 *                            instructions the compiler gave no line (e.g. a
 *                            generator's GEN_START) and past the table's end.
 *   PY_LT_LOCATIONS (3.11+)  table = co_linetable (PEP 657 location table);
 *                            byte_offset = (instruction pointer - first code
 *                            unit of co_code_adaptive) in bytes:
 *                              3.11-3.12: prev_instr, the last instruction
 *                                started.  In a caller frame it points at the
 *                                last inline CACHE unit of the CALL; cache
 *                                units carry the location of the instruction
 *                                they belong to, so no adjustment is needed.
 *                                Before the first instruction prev_instr is
 *                                one unit before the code: offset -2.
 *                              3.13+: instr_ptr, the instruction executing.
 *                            Result = co_positions() entry of the code unit
 *                            containing byte_offset; its line is what
 *                            frame.f_lineno reports.  "No location" entries
 *                            and offsets past the table give all -1.
 *
 * For every kind a negative byte_offset (frame not started yet) gives
 * line = co_firstlineno, as PyCode_Addr2Line() does.
 *
 * Lines are 1-based; columns are 0-based UTF-8 byte offsets and end_col is
 * exclusive (co_positions() semantics).  The lnotab and PEP 626 tables carry
 * no columns and no end line: col = end_col = -1 and end_line = line.  Note
 * that 3.11+ reports line 0 (co_firstlineno - 1) for a module's RESUME.
 */
#ifndef STROBE_PY_LINETABLE_H
#define STROBE_PY_LINETABLE_H

#include <stddef.h>
#include <stdint.h>

/* A source position; any field is -1 when unknown. */
struct py_location {
	int32_t line, end_line, col, end_col;
};

/* Find the location of the instruction at byte_offset (see above for what
 * offset each kind expects).  table may be NULL only when len is 0.
 *
 * Returns 0 and fills *out (possibly with unknown fields), or:
 *   ERR_INVAL    kind is not a py_linetable_kind, or table is NULL with len > 0
 *   ERR_CORRUPT  the table is malformed before or at the entry covering
 *                byte_offset: a truncated entry, a varint that does not end
 *                or overflows, an entry without its start marker, a line
 *                number outside int32_t.
 * On error *out is set to all -1.  Entries after the one covering byte_offset
 * are not read, so damage there is not detected. */
int linetable_lookup(int kind, const uint8_t *table, size_t len, int firstlineno,
                     int64_t byte_offset, struct py_location *out);

#endif
