/* runtime.h - finding CPython inside another process and learning its
 * version and layout.
 *
 * py_runtime_find looks at the process's mappings for the binary that holds
 * _PyRuntime (the executable for static builds, libpython for shared ones),
 * reads it through /proc/PID/root so chroots and containers work, decides
 * the version and prepares the struct py_layout the walker uses.
 */
#ifndef STROBE_PY_RUNTIME_H
#define STROBE_PY_RUNTIME_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "py/layout.h"
#include "process/mem.h"

struct errmsg;

struct py_runtime {
	pid_t pid;
	int major, minor, micro;   /* micro is -1 when unknown */
	uint32_t version_hex;      /* PY_VERSION_HEX, 0 if unknown */
	struct py_layout layout;   /* for 3.13+ filled from _Py_DebugOffsets */
	raddr_t runtime_addr;      /* &_PyRuntime in the target */
	raddr_t code_type_addr;    /* &PyCode_Type in the target, 0 if unknown */
	raddr_t none_addr;         /* &_Py_NoneStruct (None), 0 if unknown */
	char binary[PATH_MAX];     /* the file that holds the runtime, as the target sees it */
};

/* Find the runtime of pid.  Returns 0, or:
 *   ERR_NOPROC   the process does not exist (any more)
 *   ERR_PERM     its memory or maps may not be read
 *   ERR_NOTPY    no CPython runtime in its mappings
 *   ERR_VERSION  a CPython strobe does not support (e->text names it)
 *   ERR_CORRUPT  a 3.13+ _Py_DebugOffsets that does not match its version
 * mem must be open on pid.  e (optional) gets a one-line explanation. */
int py_runtime_find(struct py_runtime *rt, pid_t pid, struct mem_source *mem, struct errmsg *e);

/* The layout step of py_runtime_find, for a runtime whose facts are
 * known (major, minor, micro, version_hex, runtime_addr, binary for
 * messages): the generated table of its version, and for 3.13+ the
 * target's _Py_DebugOffsets read through mem and checked against it
 * (which may set version_hex and micro).  A snapshot replays a walk with
 * it (py/snapshot.h).  0, or ERR_VERSION / ERR_CORRUPT / a read error,
 * as py_runtime_find. */
int py_runtime_layout(struct py_runtime *rt, struct mem_source *mem, struct errmsg *e);

/* Find an ELF section (".AsyncioDebug") the way the runtime is found: in
 * the files mapped by pid whose name contains "python" (which includes
 * extension modules such as _asyncio.cpython-314-x86_64-linux-gnu.so), first
 * hit wins.  0 with its address in the process and its size, ERR_NOTFOUND,
 * or the error of reading the maps.  With bytes, a section of at most cap
 * bytes also has its initialised contents copied there from the file (for
 * constants: the file's bytes are final, while the memory at *addr may
 * still show another part of the file as the loader maps it). */
int py_runtime_find_section(pid_t pid, const char *section, raddr_t *addr, uint64_t *size,
			    void *bytes, size_t cap);

/* Cheap pre-check for a process being launched: does any mapping look
 * like a Python binary yet?  1 yes, 0 not yet, negative on error. */
int py_runtime_maybe(pid_t pid);

/* "3.12.1" or "3.12" into buf. */
const char *py_runtime_version_str(const struct py_runtime *rt, char *buf, size_t len);

#endif
