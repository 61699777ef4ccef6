/* unwind.h - native stacks of a process's threads (--native-stacks).
 *
 * A thread held by ptrace (process/ptrace.h) gives its registers and a copy
 * of the top of its stack (unwind_capture_take: two system calls, the only
 * work done while it is stopped).  The copy is unwound later, after the
 * thread runs again, the way perf's --call-graph dwarf does: elfutils'
 * libdw walks the call frame information (.eh_frame, .debug_frame) of the
 * modules the target maps, with frame pointers as its fallback, reading
 * stack words from the copy only.
 *
 * Every file is opened by strobe, never by libdw: a mapped object through
 * process/rootfs (the file mapped itself, or its path inside the target's
 * root checked against the mapping's device and inode), a separate debug
 * file (/usr/lib/debug/.build-id/.., /usr/lib/debug/<dir>/<debuglink>)
 * inside the target's root with the target's credentials.  The target
 * chooses those files and their contents: libdw parses them (it is made
 * and fuzzed for untrusted ELF), strobe bounds what comes out (names are
 * capped, stacks are bounded).
 *
 * x86-64 only (the registers and their DWARF numbers).
 */
#ifndef STROBE_PROCESS_UNWIND_H
#define STROBE_PROCESS_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct Dwfl;
struct rootfs;

/* The registers libdw starts from, in DWARF's x86-64 numbering: rax rdx
 * rcx rbx rsi rdi rbp rsp r8-r15, then the return address column (rip). */
#define UNWIND_NREGS 17
#define UNWIND_REG_SP 7
#define UNWIND_REG_PC 16
/* Bytes of stack copied from the stack pointer up.  A 3.8-3.10 interpreter
 * recurses in C once per Python call (a few hundred bytes each); 3.11+
 * keeps Python calls off the C stack.  An unwind that runs off the copy
 * ends there (unwind_stack's ERR_LIMIT): the Python frames stay complete. */
#define UNWIND_STACK_COPY (64u << 10)
/* Frames of one native stack at most. */
#define UNWIND_MAX_FRAMES 512
/* Longest symbol name kept (bytes, before demangling). */
#define UNWIND_NAME_MAX 1024

/* Whether strobe can unwind native stacks on this machine's architecture. */
bool unwind_supported(void);

/* One stopped thread's state. */
struct unwind_capture {
	pid_t tid;                     /* the thread, as our /proc numbers it */
	uint64_t regs[UNWIND_NREGS];
	uint64_t sp;                   /* target address of stack[0] */
	size_t len;                    /* bytes copied */
	unsigned char *stack;          /* owned, UNWIND_STACK_COPY bytes once taken */
};

/* Take tid's registers and copy up to UNWIND_STACK_COPY bytes of its stack
 * from its stack pointer (less where the mapping ends).  tid must be a
 * thread of pid in a ptrace stop of strobe's.  0, ERR_NOPROC (gone),
 * ERR_NOTREADY (alive but not in its stop yet: a "late" thread of
 * process/ptrace.h, waiting for a CPU on a loaded machine), ERR_FAULT
 * (nothing of the stack readable), ERR_IO. */
int unwind_capture_take(pid_t pid, pid_t tid, struct unwind_capture *c);
void unwind_capture_release(struct unwind_capture *c);

struct unwind_module;

struct unwind_stats {
	uint64_t unwinds, frames;
	uint64_t truncated;            /* unwinds that ended before the outermost frame */
	uint64_t reports;              /* times the mappings were read */
};

/* Per target: libdw's view of its mappings, refreshed when a stack runs
 * into an address no known module covers (a library loaded since). */
struct unwinder {
	pid_t pid;
	const struct rootfs *root;     /* not owned; NULL: no separate debug files */
	struct Dwfl *dwfl;
	struct unwind_module **mods;   /* owned, one per mapped file, kept until release */
	char *root_path;               /* the target's root as strobe sees it ("" for "/") */
	size_t nmods, mods_cap;
	const struct unwind_capture *cur; /* the capture being unwound */
	bool off_copy;                 /* ... needed a word outside its copy */
	uint64_t next_report_ns;       /* no refresh before this */
	char *name;                    /* scratch for unwind_symbolize */
	struct unwind_stats stats;
};

/* Read pid's mappings and set libdw up.  root must outlive u.  0,
 * ERR_NOPROC, ERR_PERM, ERR_IO (libdw failed). */
int unwind_init(struct unwinder *u, pid_t pid, const struct rootfs *root);
void unwind_release(struct unwinder *u);

/* Unwind c: pcs[0..*n), innermost first.  pcs[0] is the thread's
 * instruction pointer; every later one is a return address (a caller's pc
 * just after its call).  sps (if not NULL) gets each frame's stack pointer
 * (0 when unknown): frame i's own stack data lies in [sps[i], sps[i + 1]).
 * Returns 0 when the unwind reached the thread's
 * outermost frame (its CFI ends the chain), ERR_LIMIT when it stopped
 * before (off the copied stack, no CFI, more than max frames): then the
 * frames found are right but some outer ones are missing. */
int unwind_stack(struct unwinder *u, const struct unwind_capture *c, uint64_t *pcs, uint64_t *sps,
		 size_t max, size_t *n);

/* What code pc is.  Strings are valid until the next call or release. */
struct unwind_sym {
	const char *module;   /* the object's path as the target sees it (inside its
			       * root), "[vdso]", NULL if none */
	const char *mapped;   /* ... as strobe's /proc/PID/maps shows it */
	uint64_t offset;      /* pc as an address of the object's file */
	const char *func;     /* symbol, demangled (C++, Rust), NULL if none covers pc */
	const char *src;      /* source file (DWARF), NULL if unknown */
	int line;             /* source line, 0 if unknown */
};

/* Resolve pc (for a return address, pass the address of the call: pc - 1).
 * 0, or ERR_NOTFOUND when no module covers it (*s then says so too). */
int unwind_symbolize(struct unwinder *u, uint64_t pc, struct unwind_sym *s);


/* name demangled (C++, Rust legacy and v0) into out (cap bytes, NUL
 * included; cut there), or copied as it is when it is no mangled name.
 * Returns out. */
const char *unwind_demangle(const char *name, char *out, size_t cap);

#endif
