/* open.h - opening a Python process to read it: its memory and its
 * runtime, as one step (attach, run, dump, the --subprocesses monitor and
 * exec following all start here). */
#ifndef STROBE_PY_OPEN_H
#define STROBE_PY_OPEN_H

#include <stdbool.h>
#include <sys/types.h>

struct errmsg;
struct mem_source;
struct py_runtime;

/* Open pid's memory (mem_open) and find its CPython runtime
 * (py_runtime_find), then probe that the runtime can be read.  0 with mem
 * open (the caller's to close), or the ERR_* of mem_open, py_runtime_find
 * or the probe with mem closed; e (optional) may explain it in one line. */
int py_open(pid_t pid, struct mem_source *mem, struct py_runtime *rt, struct errmsg *e);

/* Whether a py_open failure holds for as long as the process runs the
 * same program (an unsupported version, no permission), rather than maybe
 * passing: right after an exec the dynamic loader maps the interpreter
 * piece by piece, and a look then meets missing or half-mapped sections. */
bool py_open_final(int rc);

#endif
