/* dump.c - strobe dump PID: one snapshot of a Python process's stacks,
 * taken here and printed by format/dump.c as Tachyon's `dump` prints it. */
#include "cmd/cmd.h"

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/hash.h"
#include "base/intern.h"
#include "cli.h"
#include "model/sample.h"
#include "format/dump.h"
#include "format/out.h"
#include "profiling/profiling.h"
#include "py/asyncio.h"
#include "py/locals.h"
#include "py/open.h"
#include "py/runtime.h"
#include "py/native.h"
#include "py/walk.h"
#include "process/mem.h"
#include "process/ptrace.h"
#include "process/rootfs.h"
#include "process/task.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A torn read (the target changed under us) is retried this often, this
 * far apart, before giving up. */
#define DUMP_ATTEMPTS 50
#define DUMP_RETRY_NS 2000000ULL

static _Noreturn void die_exited(pid_t pid)
{
	die("No stack dump collected - process %d exited before its stack could be read.", (int)pid);
}

/* --locals: the local variables of every frame of a sample, read right
 * after it (while its threads are still held with --blocking). */
struct dump_locals {
	struct py_locals pl;
	struct buf text;
	size_t *off;             /* frame i: text[off[i] .. off[i + 1]) */
	size_t off_cap;
	struct out_dump_locals view;
};

static void read_locals(struct dump_locals *dl, const struct py_walker *w, const struct sample *s)
{
	dl->text.len = 0;
	VEC_RESERVE(dl->off, dl->off_cap, s->nframes + 1);
	for (size_t i = 0; i < s->nframes; i++) {
		dl->off[i] = dl->text.len;
		const struct py_frame_addr *fa = &w->frame_addrs[i];
		if (!fa->frame)
			continue;
		/* a frame that cannot be read, or no longer runs its code,
		 * shows no locals (py_locals_frame leaves text as it was) */
		(void)py_locals_frame(&dl->pl, fa->frame, fa->code, &dl->text);
	}
	dl->off[s->nframes] = dl->text.len;
	dl->view = (struct out_dump_locals){ dl->text.data ? dl->text.data : "", dl->off, s->nframes };
}

/* Take one consistent sample (async-aware when a is not NULL; mixed with
 * native stacks when n is not NULL): retried while reads are torn. */
static int take(struct py_walker *w, struct py_asyncio *a, struct py_native *n, struct sample *s,
		struct dump_locals *dl, struct ptrace_pause *pp, bool blocking, pid_t pid)
{
	int rc = ERR_CORRUPT;
	const char *opt = n ? "--native-stacks" : "--blocking";
	for (int attempt = 0; attempt < DUMP_ATTEMPTS; attempt++) {
		if (attempt)
			clock_sleep_until(clock_now_ns() + DUMP_RETRY_NS);
		if (blocking) {
			rc = ptrace_pause_all(pp, pid);
			if (rc) {
				struct ptrace_pause why = *pp; /* release clears it */
				ptrace_pause_release(pp);
				if (rc == ERR_NOPROC)
					die_exited(pid);
				profiling_die_pause(rc, pid, &why, opt);
			}
		}
		rc = a ? py_asyncio_sample(a, s) : n ? py_native_take(n, s) : py_walker_sample(w, s);
		if (rc == 0 && dl)
			read_locals(dl, w, s);
		if (blocking)
			ptrace_resume_all(pp);
		if (rc == 0 && n)
			rc = py_native_finish(n, s);
		if (rc == 0 || rc == ERR_NOTREADY || rc == ERR_NOPROC)
			return rc;
		if (!task_alive(pid))
			return ERR_NOPROC;
	}
	return rc;
}

/* The leaf task of each stack py_asyncio_sample built, in its order: the
 * tasks of its graph that no task awaits (each address once). */
static uint64_t *leaf_tasks(const struct py_asyncio *a, size_t nstacks)
{
	const struct py_async_graph *g = &a->g;
	uint64_t *ids = xcalloc(nstacks ? nstacks : 1, sizeof(*ids));
	size_t k = 0;
	for (size_t i = 0; i < g->ntasks && k < nstacks; i++) {
		const struct py_async_task *t = &g->tasks[i];
		const uint64_t *at = u64map_get(&g->index, t->addr);
		if (u64map_get(&g->parent_set, t->addr) || !at || *at != i + 1)
			continue;
		ids[k++] = t->addr;
	}
	return ids;
}

int cmd_dump(const struct options *o)
{
	pid_t pid = o->pid;
	if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH))
		die("strobe cannot find the process: Process with PID '%d' does not exist.", (int)pid);

	struct mem_source mem;
	struct py_runtime rt;
	struct errmsg e = { "" };
	int rc = py_open(pid, &mem, &rt, &e);
	if (rc == ERR_NOPROC)
		die_exited(pid);
	if (rc)
		profiling_die_runtime(rc, pid, &e);
	profiling_check_native(o, &rt, pid, NULL);
	if (o->locals && !py_locals_supported(&rt))
		die_status(2, "strobe: --locals is not supported for Python %d.%d", rt.major, rt.minor);

	/* the target's files, held now: it may be gone once the stacks are read */
	struct rootfs rootfs;
	bool have_rootfs = rootfs_open(&rootfs, &mem) == 0;

	struct strtab strings;
	strtab_init(&strings);
	struct py_walker w;
	struct py_walk_config wc = {
		.all_threads = o->all_threads,
		/* every status bit, no thread left out; async-aware: wall,
		 * as Tachyon (its task stacks show no status) */
		.mode = o->async_aware ? PY_MODE_WALL : PY_MODE_ALL,
		.want_status = !o->async_aware,
		.gc = !o->no_gc,
		/* --native-stacks cuts the Python chain at its entry frames */
		.native = o->native || o->native_stacks,
		.entry_marks = o->native_stacks,
		.opcodes = o->opcodes,
		.frame_addrs = o->locals,
	};
	py_walker_init(&w, &rt, &mem, &strings, &wc);
	/* --async-aware: every task by default (dump's --async-mode is all
	 * unless given) */
	struct py_asyncio *async = NULL;
	if (o->async_aware) {
		struct options ao = *o;
		if (!ao.async_mode_given)
			ao.async_mode = 1;
		async = profiling_async_prepare(&ao, &w, &strings, NULL);
	}
	struct sample s;
	sample_init(&s);
	struct ptrace_pause pp;
	ptrace_pause_init(&pp);

	/* no signal handlers: a Ctrl-C or SIGTERM during a --blocking pause
	 * is held by ptrace_pause_all until the threads run again, then ends
	 * strobe by its default action */
	struct py_native native, *np = NULL;
	if (o->native_stacks) {
		rc = have_rootfs ? py_native_init(&native, &w, &strings, pid, &rootfs,
						  o->native_plumbing)
				 : ERR_PERM;
		if (rc == ERR_NOPROC)
			die_exited(pid);
		if (rc)
			profiling_die_native(rc, pid);
		np = &native;
	}
	struct dump_locals locals, *lp = NULL;
	if (o->locals) {
		memset(&locals, 0, sizeof(locals));
		py_locals_init(&locals.pl, &mem, &rt);
		lp = &locals;
	}
	rc = take(&w, async, np, &s, lp, &pp, o->blocking || o->native_stacks, pid);
	ptrace_pause_release(&pp);
	/* a stack read once the process opened has exited may be another's
	 * that took its PID: not shown */
	if (rc == ERR_NOPROC || !mem_alive(&mem))
		die_exited(pid);
	if (rc == ERR_NOTREADY)
		sample_clear(&s);
	else if (rc)
		die("strobe cannot read a consistent stack of process %d: %s", (int)pid, err_str(rc));
	/* read as what it is now, if it changed users since */
	if (have_rootfs)
		rootfs_refresh(&rootfs, &mem);

	struct profiling_target t = {
		.rootfs = have_rootfs ? &rootfs : NULL,
		.py_major = rt.major,
		.py_minor = rt.minor,
		.py_micro = rt.micro >= 0 ? rt.micro : 0,
		.mode = wc.mode,
	};
	struct out_request req;
	profiling_output_request(o, &t, pid, &req);
	uint64_t *leaf_ids = async ? leaf_tasks(async, s.nthreads) : NULL;
	struct buf out = BUF_INIT;
	out_dump_write(&out, &s, &strings, leaf_ids, lp && rc == 0 ? &lp->view : NULL, &req);
	fwrite(out.data ? out.data : "", 1, out.len, stdout);
	int status = fflush(stdout) == 0 ? 0 : 1;

	buf_release(&out);
	if (lp) {
		buf_release(&lp->text);
		free(lp->off);
	}
	free(leaf_ids);
	profiling_async_release(async);
	if (np)
		py_native_release(np);
	sample_release(&s);
	py_walker_release(&w);
	strtab_release(&strings);
	rootfs_release(&rootfs);
	mem_close(&mem);
	return status;
}
