/* opcodes.h - names of CPython bytecode opcodes, per version, as data.
 *
 * With --opcodes every frame records the opcode byte at its instruction
 * pointer: 3.8-3.10 co_code[f_lasti] (a base opcode), 3.11+ the low byte of
 * the code unit in co_code_adaptive, which may be a specialized opcode
 * (BINARY_OP_ADD_INT, LOAD_ATTR_INSTANCE_VALUE, ...) or, while sys.monitoring
 * is active (3.12+; sys.settrace and sys.setprofile are built on it), an
 * INSTRUMENTED_* one.
 * This module names those bytes for the version of the target.
 *
 * The tables are generated from each version's own opcode/dis modules
 * (src/py/opcodes/py3_X.h, tools/gen_opcodes.sh; tools/check_opcodes.py
 * checks them against the interpreter and its C tables).  Numbering differs
 * between every pair of versions, so a byte means nothing without
 * (major, minor).  Pseudo-opcodes (>= 256) never occur in bytecode and are
 * not in the tables.
 *
 * "Base" is the unspecialized opcode a specialized one came from, as in
 * Tachyon's opcode_mapping "deopt" (opcode._specializations).  Instrumented
 * opcodes are not specializations: their base is themselves.
 *
 * Pure lookups on static tables: no allocation, no state, thread-safe.
 */
#ifndef STROBE_PY_OPCODES_H
#define STROBE_PY_OPCODES_H

#include <stddef.h>

/* Name of opcode op in Python major.minor ("BINARY_OP_ADD_INT"), or NULL if
 * the version is not supported or defines no opcode op (any op outside
 * 0..255 included).  The string is static. */
const char *py_opcode_name(int major, int minor, int op);

/* The base opcode of a specialized opcode (BINARY_OP for BINARY_OP_ADD_INT);
 * op itself for any other opcode the version defines; -1 if unknown (as for
 * py_opcode_name).  The base of a base is itself. */
int py_opcode_base(int major, int minor, int op);

/* Number of inline CACHE code units that follow opcode op in the bytecode
 * (3.11+; always 0 before): a specialized opcode has its base's, an
 * INSTRUMENTED_X has X's.  -1 if unknown.  INSTRUMENTED_LINE and
 * INSTRUMENTED_INSTRUCTION report 0: the opcode they replaced, which owns
 * the caches, is kept in the code object's monitoring data.
 *
 * The walker needs this in 3.11-3.12, where a caller frame's prev_instr
 * points at the last CACHE unit of its CALL, not at the CALL itself. */
int py_opcode_caches(int major, int minor, int op);

/* Tachyon's display text for an opcode (dump's "opcode=...", gecko markers,
 * heatmap): "NAME" for a base or instrumented opcode, "SPECIALIZED (BASE)"
 * for a specialized one ("LOAD_ATTR_INSTANCE_VALUE (LOAD_ATTR)"), "<N>"
 * (N in decimal) when py_opcode_name would return NULL.
 *
 * Writes at most len bytes including the NUL, like snprintf (buf may be NULL
 * when len is 0); returns the length of the whole text, so a return >= len
 * means it was truncated. */
int py_opcode_format(int major, int minor, int op, char *buf, size_t len);

#endif
