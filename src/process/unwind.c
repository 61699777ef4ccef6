/* unwind.c - see unwind.h.
 *
 * libdw is given the target as modules reported from /proc/PID/maps (one
 * per mapped file, its address range) and as a "process" whose only
 * thread is the capture being unwound (Dwfl_Thread_Callbacks): the
 * registers come from the capture, and so does every word of memory, so
 * libdw never reads the live process.  The modules' files come from our
 * find_elf and find_debuginfo callbacks.
 */
#include "process/unwind.h"

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "process/maps.h"
#include "process/rootfs.h"

#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <libiberty/demangle.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <unistd.h>

/* A stack running into unknown code reads the mappings again at most this
 * often (a library loaded since). */
#define REPORT_EVERY_NS 100000000ULL
/* Pieces the stack copy is read in: a read fails whole at an unmapped
 * page only piece by piece, so the readable part is kept. */
#define COPY_PIECE 4096u
/* The x86-64 ABI's red zone below the stack pointer. */
#define UNWIND_RED_ZONE 128u

bool unwind_supported(void)
{
#if defined(__x86_64__)
	return true;
#else
	return false;
#endif
}

/* ---- capture ------------------------------------------------------------ */

int unwind_capture_take(pid_t pid, pid_t tid, struct unwind_capture *c)
{
#if defined(__x86_64__)
	struct user_regs_struct r;
	if (ptrace(PTRACE_GETREGS, tid, NULL, &r) != 0) {
		if (errno != ESRCH)
			return ERR_IO;
		/* ptrace says ESRCH for a tracee that is not stopped too */
		return syscall(SYS_tgkill, pid, tid, 0) == 0 ? ERR_NOTREADY : ERR_NOPROC;
	}
	const uint64_t v[UNWIND_NREGS] = { r.rax, r.rdx, r.rcx, r.rbx, r.rsi, r.rdi,
					   r.rbp, r.rsp, r.r8,  r.r9,  r.r10, r.r11,
					   r.r12, r.r13, r.r14, r.r15, r.rip };
	memcpy(c->regs, v, sizeof(v));
	c->tid = tid;
	/* from below the stack pointer: a function that calls nothing may
	 * keep saved registers in the 128-byte red zone there */
	c->sp = r.rsp >= UNWIND_RED_ZONE ? r.rsp - UNWIND_RED_ZONE : r.rsp;
	c->len = 0;
	if (!c->stack)
		c->stack = xmalloc(UNWIND_STACK_COPY);
	/* page pieces: a copy that reaches past the stack's mapping keeps
	 * what lies below its end */
	struct iovec local[UNWIND_STACK_COPY / COPY_PIECE + 1], remote[UNWIND_STACK_COPY / COPY_PIECE + 1];
	size_t n = 0, off = 0;
	uint64_t at = c->sp;
	while (off < UNWIND_STACK_COPY && n < sizeof(local) / sizeof(local[0])) {
		size_t piece = COPY_PIECE - (size_t)(at % COPY_PIECE);
		if (piece > UNWIND_STACK_COPY - off)
			piece = UNWIND_STACK_COPY - off;
		local[n] = (struct iovec){ c->stack + off, piece };
		remote[n] = (struct iovec){ (void *)(uintptr_t)at, piece };
		n++;
		off += piece;
		at += piece;
	}
	ssize_t got = process_vm_readv(pid, local, n, remote, n, 0);
	if (got <= 0)
		return got < 0 && errno == ESRCH ? ERR_NOPROC : ERR_FAULT;
	c->len = (size_t)got;
	return 0;
#else
	(void)pid;
	(void)tid;
	(void)c;
	return ERR_IO;
#endif
}

void unwind_capture_release(struct unwind_capture *c)
{
	free(c->stack);
	c->stack = NULL;
	c->len = 0;
}

/* ---- modules -------------------------------------------------------------- */

struct unwind_module {
	struct unwinder *u;
	struct map_entry map;   /* its lowest mapping (path owned, as our maps show it) */
	char *name;             /* owned: its path inside the target's root */
	uint64_t low, high;     /* the range reported */
	unsigned char *image;   /* [vdso]: its bytes, copied from the process */
};

/* The kernel's vDSO is an ELF image in memory (a page or two). */
#define VDSO_MAX (64u << 10)

/* Modules remembered at most (a target that loads and unloads libraries
 * forever stops being followed there). */
#define MAX_MODULES 65536

static struct unwind_module *module_of(Dwfl_Module *mod)
{
	void **ud = NULL;
	dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
	return ud ? *ud : NULL;
}

/* The mapped file itself, through rootfs: libdw never opens a target's path. */
static int find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		    char **file_name, Elf **elfp)
{
	(void)mod;
	(void)modname;
	(void)base;
	(void)file_name;
	*elfp = NULL;
	struct unwind_module *m = *userdata;
	int fd = -1;
	if (m && m->image) {
		/* [vdso]: from the copy taken when it was reported */
		*elfp = elf_memory((char *)m->image, m->high - m->low);
		return -1;
	}
	if (!m || rootfs_open_mapping(m->u->pid, &m->map, &fd) != 0)
		return -1;
	return fd; /* libdw's from now on */
}

/* A separate debug file inside the target's root, read as the target
 * would: /usr/lib/debug/.build-id/xx/rest.debug, then the .gnu_debuglink
 * name beside the object, in its .debug/ and under /usr/lib/debug. */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			  Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			  GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	(void)modname;
	(void)base;
	(void)file_name;
	(void)debuglink_crc;
	(void)debuginfo_file_name;
	const struct unwind_module *m = *userdata;
	if (!m || !m->u->root)
		return -1;
	char path[4096];
	int fd = -1;
	const unsigned char *id;
	GElf_Addr id_addr;
	int idlen = dwfl_module_build_id(mod, &id, &id_addr);
	if (idlen >= 2 && idlen <= 64) {
		int at = snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%02x/", id[0]);
		for (int i = 1; i < idlen; i++)
			at += snprintf(path + at, sizeof(path) - (size_t)at, "%02x", id[i]);
		snprintf(path + at, sizeof(path) - (size_t)at, ".debug");
		if (rootfs_open_file(m->u->root, path, &fd) == 0)
			return fd;
	}
	if (!debuglink_file || !*debuglink_file || strchr(debuglink_file, '/') ||
	    m->name[0] != '/')
		return -1;
	const char *slash = strrchr(m->name, '/');
	int dirlen = (int)(slash - m->name);
	/* the directory, its .debug/, the same under /usr/lib/debug */
	const char *pre[] = { "", "", "/usr/lib/debug" }, *mid[] = { "/", "/.debug/", "/" };
	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
		int len = snprintf(path, sizeof(path), "%s%.*s%s%s", pre[i], dirlen, m->name,
				   mid[i], debuglink_file);
		if (len <= 0 || (size_t)len >= sizeof(path))
			continue;
		/* the object itself is no debug file of its own */
		if (i == 0 && strcmp(path, m->name) == 0)
			continue;
		if (rootfs_open_file(m->u->root, path, &fd) == 0)
			return fd;
	}
	return -1;
}

static const Dwfl_Callbacks dwfl_callbacks = {
	.find_elf = find_elf,
	.find_debuginfo = find_debuginfo,
};

static bool same_file(const struct map_entry *a, const struct map_entry *b)
{
	return a->inode == b->inode && a->dev_major == b->dev_major &&
	       a->dev_minor == b->dev_minor && strcmp(a->path, b->path) == 0;
}

/* A mapped path as the target sees it: our /proc shows paths from our root,
 * so a target in a chroot or container has its root's path in front. */
static const char *inside_root(const struct unwinder *u, const char *path)
{
	size_t n = strlen(u->root_path);
	if (n && strncmp(path, u->root_path, n) == 0 && path[n] == '/')
		return path + n;
	return path;
}

static void report_one(struct unwinder *u, const struct map_entry *first, uint64_t low,
		       uint64_t high)
{
	bool vdso = strcmp(first->path, "[vdso]") == 0;
	if (vdso && (high <= low || high - low > VDSO_MAX))
		return;
	const char *name = vdso ? first->path : inside_root(u, first->path);
	Dwfl_Module *mod = dwfl_report_module(u->dwfl, name, low, high);
	if (!mod)
		return; /* overlaps another: left out */
	void **ud = NULL;
	dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
	if (!ud || *ud || u->nmods >= MAX_MODULES)
		return; /* known already (reported again as it was) */
	struct unwind_module *m = xcalloc(1, sizeof(*m));
	m->u = u;
	m->map = *first;
	m->map.path = xstrdup(first->path);
	m->name = xstrdup(name);
	m->low = low;
	m->high = high;
	if (vdso) {
		m->image = xmalloc(high - low);
		struct iovec l = { m->image, high - low }, r = { (void *)(uintptr_t)low, high - low };
		if (process_vm_readv(u->pid, &l, 1, &r, 1, 0) != (ssize_t)(high - low)) {
			free(m->image);
			m->image = NULL; /* find_elf then finds nothing */
			m->high = m->low;
		}
	}
	VEC_RESERVE(u->mods, u->mods_cap, u->nmods + 1);
	u->mods[u->nmods++] = m;
	*ud = m;
}

/* Report every mapped file as one module: from its lowest mapping (the
 * file's start: where its offset 0 would be) to the end of its last
 * mapping, skipping the anonymous mappings between (bss). */
static int report(struct unwinder *u)
{
	struct maps mp = { 0 };
	int rc = maps_read(u->pid, &mp);
	if (rc)
		return rc;
	u->stats.reports++;
	dwfl_report_begin(u->dwfl);
	const struct map_entry *first = NULL;
	uint64_t low = 0, high = 0;
	for (size_t i = 0; i < mp.n; i++) {
		const struct map_entry *e = &mp.v[i];
		if (strcmp(e->path, "[vdso]") == 0) {
			if (first)
				report_one(u, first, low, high);
			first = NULL;
			report_one(u, e, e->start, e->end);
			continue;
		}
		if (e->path[0] != '/' || !e->inode) {
			if (e->path[0])
				goto close; /* [heap], [stack]...: ends a file */
			continue;
		}
		if (first && same_file(first, e) && e->start >= high) {
			high = e->end;
			continue;
		}
	close:
		if (first)
			report_one(u, first, low, high);
		first = NULL;
		if (e->path[0] != '/' || !e->inode)
			continue;
		first = e;
		low = e->start >= e->offset ? e->start - e->offset : e->start;
		high = e->end;
	}
	if (first)
		report_one(u, first, low, high);
	dwfl_report_end(u->dwfl, NULL, NULL);
	maps_release(&mp);
	return 0;
}

/* Read the mappings again, at most every REPORT_EVERY_NS. */
static void refresh(struct unwinder *u)
{
	uint64_t now = clock_now_ns();
	if (now < u->next_report_ns)
		return;
	u->next_report_ns = now + REPORT_EVERY_NS;
	report(u);
}

/* ---- the "process": one capture at a time ---------------------------------- */

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	(void)dwfl;
	struct unwinder *u = arg;
	if (*thread_argp || !u->cur)
		return 0;
	*thread_argp = u;
	return u->cur->tid;
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	(void)dwfl;
	struct unwinder *u = arg;
	if (!u->cur || u->cur->tid != tid)
		return false;
	*thread_argp = u;
	return true;
}

/* Stack words come from the copy only: nothing is read from the process. */
static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	(void)dwfl;
	struct unwinder *u = arg;
	const struct unwind_capture *c = u->cur;
	if (!c || addr < c->sp || addr - c->sp > c->len || c->len - (addr - c->sp) < sizeof(*result)) {
		/* libdw takes an unreadable return address for the end of
		 * the stack: remember that it was not */
		u->off_copy = true;
		return false;
	}
	memcpy(result, c->stack + (addr - c->sp), sizeof(*result));
	return true;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	const struct unwinder *u = thread_arg;
	Dwarf_Word regs[UNWIND_NREGS];
	for (int i = 0; i < UNWIND_NREGS; i++)
		regs[i] = u->cur->regs[i];
	return dwfl_thread_state_registers(thread, 0, UNWIND_NREGS, regs);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

int unwind_init(struct unwinder *u, pid_t pid, const struct rootfs *root)
{
	memset(u, 0, sizeof(*u));
	u->pid = pid;
	u->root = root;
	if (!unwind_supported())
		return ERR_IO;
	char link[64];
	snprintf(link, sizeof(link), "/proc/%d/root", (int)pid);
	char *root_path = realpath(link, NULL);
	u->root_path = xstrdup(root_path && strcmp(root_path, "/") != 0 ? root_path : "");
	free(root_path);
	u->dwfl = dwfl_begin(&dwfl_callbacks);
	if (!u->dwfl)
		return ERR_IO;
	int rc = report(u);
	if (rc == 0 && !dwfl_attach_state(u->dwfl, NULL, pid, &thread_callbacks, u))
		rc = ERR_IO;
	if (rc)
		unwind_release(u);
	u->next_report_ns = clock_now_ns() + REPORT_EVERY_NS;
	return rc;
}

void unwind_release(struct unwinder *u)
{
	if (u->dwfl)
		dwfl_end(u->dwfl);
	u->dwfl = NULL;
	/* after dwfl_end: a vDSO image lives as long as its Elf */
	for (size_t i = 0; i < u->nmods; i++) {
		free(u->mods[i]->map.path);
		free(u->mods[i]->name);
		free(u->mods[i]->image);
		free(u->mods[i]);
	}
	free(u->root_path);
	u->root_path = NULL;
	free(u->mods);
	u->mods = NULL;
	u->nmods = u->mods_cap = 0;
	free(u->name);
	u->name = NULL;
}

/* ---- unwinding -------------------------------------------------------------- */

struct frames {
	uint64_t *pcs, *sps;
	size_t n, max;
	bool full;
};

static int on_frame(Dwfl_Frame *state, void *arg)
{
	struct frames *f = arg;
	Dwarf_Addr pc;
	if (!dwfl_frame_pc(state, &pc, NULL))
		return DWARF_CB_ABORT;
	if (f->n >= f->max) {
		f->full = true;
		return DWARF_CB_ABORT;
	}
	if (f->sps) {
		Dwarf_Word sp;
		f->sps[f->n] = dwfl_frame_reg(state, UNWIND_REG_SP, &sp) == 0 ? sp : 0;
	}
	f->pcs[f->n++] = pc;
	return DWARF_CB_OK;
}

int unwind_stack(struct unwinder *u, const struct unwind_capture *c, uint64_t *pcs, uint64_t *sps,
		 size_t max, size_t *n)
{
	struct frames f = { pcs, sps, 0, max < UNWIND_MAX_FRAMES ? max : UNWIND_MAX_FRAMES, false };
	*n = 0;
	if (!u->dwfl)
		return ERR_IO;
	/* code no module covers: a library loaded since the mappings were read */
	if (!dwfl_addrmodule(u->dwfl, c->regs[UNWIND_REG_PC]))
		refresh(u);
	u->cur = c;
	u->off_copy = false;
	int rc = dwfl_getthread_frames(u->dwfl, c->tid, on_frame, &f);
	u->cur = NULL;
	*n = f.n;
	u->stats.unwinds++;
	u->stats.frames += f.n;
	/* 0: the call frame information ended the chain (the thread's
	 * outermost frame); -1: no way further (off the copy, no CFI, a pc
	 * in no module) */
	if (rc == 0 && !f.full && !u->off_copy)
		return 0;
	if (f.n && !dwfl_addrmodule(u->dwfl, f.pcs[f.n - 1] - 1))
		refresh(u);
	u->stats.truncated++;
	return ERR_LIMIT;
}

/* ---- symbols ------------------------------------------------------------------ */

/* A symbol without a size (hand-written assembly) covers this much after it
 * at most, unless another starts first. */
#define SIZELESS_SPAN 16384

const char *unwind_demangle(const char *name, char *out, size_t cap)
{
	if (!cap)
		return "";
	size_t len = strnlen(name, UNWIND_NAME_MAX + 1);
	/* C++ (_Z) and Rust (_ZN...17h<hash>E legacy, _R v0) manglings; a name
	 * longer than any real one is not given to the demangler */
	if (len <= UNWIND_NAME_MAX && name[0] == '_' && (name[1] == 'Z' || name[1] == 'R')) {
		char *d = cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
		if (d) {
			size_t dl = strnlen(d, cap - 1);
			memcpy(out, d, dl);
			out[dl] = '\0';
			free(d);
			return out;
		}
	}
	if (len > cap - 1)
		len = cap - 1;
	memcpy(out, name, len);
	out[len] = '\0';
	return out;
}

int unwind_symbolize(struct unwinder *u, uint64_t pc, struct unwind_sym *s)
{
	memset(s, 0, sizeof(*s));
	Dwfl_Module *mod = u->dwfl ? dwfl_addrmodule(u->dwfl, pc) : NULL;
	if (!mod && u->dwfl) {
		refresh(u);
		mod = dwfl_addrmodule(u->dwfl, pc);
	}
	if (!mod)
		return ERR_NOTFOUND;
	const struct unwind_module *m = module_of(mod);
	s->module = m ? m->name : NULL;
	s->mapped = m ? m->map.path : NULL;
	Dwarf_Addr bias = 0;
	if (dwfl_module_getelf(mod, &bias))
		s->offset = pc - bias;
	else
		s->offset = m ? pc - m->low : pc;
	GElf_Off off = 0;
	GElf_Sym sym;
	const char *name = dwfl_module_addrinfo(mod, pc, &off, &sym, NULL, NULL, NULL);
	if (name && *name && (sym.st_size ? off < sym.st_size : off < SIZELESS_SPAN)) {
		if (!u->name)
			u->name = xmalloc(UNWIND_NAME_MAX + 1);
		s->func = unwind_demangle(name, u->name, UNWIND_NAME_MAX + 1);
	}
	Dwfl_Line *line = dwfl_module_getsrc(mod, pc);
	if (line) {
		int ln = 0;
		const char *src = dwfl_lineinfo(line, NULL, &ln, NULL, NULL, NULL);
		if (src && *src && ln > 0) {
			s->src = src;
			s->line = ln;
		}
	}
	return 0;
}
