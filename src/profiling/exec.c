/* exec.c - following a profiled process through exec.
 *
 * A process that replaces its program keeps its pid: a script that re-execs
 * itself with os.execv (a reloader, a tool re-launching under another
 * interpreter flag), a multiprocessing or subprocess child whose profiler
 * attached while it was still a copy of its parent.  The new image has its
 * runtime elsewhere (address space randomisation, a shared libpython mapped
 * at a new place), so the walker's reads fail from the exec on.  Tachyon
 * keeps failing until the process exits; strobe notices, finds the new
 * runtime and goes on into the same profile - one output per process, the
 * time before the exec and after it.
 *
 * Only a failed sample makes strobe look (at most every LOOK_NS): a
 * process that does not exec costs nothing.  What is compared is the
 * program image (task_image: the executable and where the main stack
 * starts, which every exec moves).  A non-PIE interpreter that execs
 * itself may get its runtime at the same address: its samples do not fail,
 * and the walker, which reads the runtime afresh every sample, goes on by
 * itself.
 *
 * Sampling stops (the profile so far is written) when the new program is
 * a different Python version (the output's version would be wrong for half
 * of it), when --async-aware is on (its task layout was read from the old
 * image), or when no runtime shows up within WAIT_NS of the exec (it
 * exec'd something that is not Python).
 */
#include "profiling/profiling.h"

#include "base/clock.h"
#include "base/error.h"
#include "py/open.h"
#include "py/runtime.h"
#include "py/walk.h"
#include "process/mem.h"
#include "process/task.h"

#include <stdio.h>
#include <stdlib.h>

#define LOOK_NS 5000000ULL        /* at most one look at the image per 5 ms */
#define WAIT_NS 2000000000ULL     /* a new image has 2 s to show a runtime */
#define RECHECK_FAILS 3           /* failures before the runtime is looked for again */
#define RECHECK_MIN_NS 20000000ULL     /* ... at once, then after 20 ms, */
#define RECHECK_MAX_NS 5000000000ULL   /* then twice as long each time, up to 5 s */

struct profiling_exec {
	pid_t pid;
	struct py_walker *w;
	struct py_runtime *rt;
	struct mem_source *mem;
	struct strtab *strings;
	bool can_follow;
	struct task_image img;    /* the image the walker reads */
	bool have_img;
	struct task_image pending; /* a new image without a usable runtime yet */
	uint64_t pending_since;    /* 0: none */
	uint64_t next_look;
	unsigned fails;            /* failed samples since the last recheck */
	uint64_t next_recheck, recheck_ns;
};

struct profiling_exec *profiling_exec_watch(pid_t pid, struct py_walker *w, struct py_runtime *rt,
					    struct mem_source *mem, struct strtab *strings,
					    bool can_follow)
{
	struct profiling_exec *x = xcalloc(1, sizeof(*x));
	x->pid = pid;
	x->w = w;
	x->rt = rt;
	x->mem = mem;
	x->strings = strings;
	x->can_follow = can_follow;
	x->have_img = task_image(pid, &x->img) == 0;
	return x;
}

void profiling_exec_release(struct profiling_exec *x)
{
	free(x);
}

/* The walker, rebuilt on the new runtime (and memory source: /proc/PID/mem,
 * when it is used, belongs to the old image) with its old configuration;
 * its statistics carry on. */
static void rebuild_walker(struct profiling_exec *x, const struct py_runtime *rt,
			   struct mem_source *mem)
{
	struct py_walk_config cfg = x->w->cfg;
	struct py_walk_stats stats = x->w->stats;
	py_walker_release(x->w);
	mem_close(x->mem);
	*x->mem = *mem;
	*x->rt = *rt;
	py_walker_init(x->w, x->rt, x->mem, x->strings, &cfg);
	x->w->stats = stats;
}

static void say_stop(const struct profiling_exec *x, const char *why)
{
	fprintf(stderr, "strobe: process %d replaced its program (exec) %s; the profile covers "
		"the time before\n", (int)x->pid, why);
}

int profiling_exec_failed(void *ctx)
{
	struct profiling_exec *x = ctx;
	uint64_t now = clock_now_ns();
	if (!x->have_img || now < x->next_look)
		return 0;
	x->next_look = now + LOOK_NS;
	struct task_image img;
	if (task_image(x->pid, &img) != 0)
		return 0; /* gone: the sampler sees it */
	x->fails++;
	if (task_image_same(&img, &x->img)) {
		/* The same program - or an exec that came between finding the
		 * runtime and the watch (a fork profiled right before it
		 * exec'd): samples that keep failing make strobe look for the
		 * runtime again. */
		if (x->fails < RECHECK_FAILS || now < x->next_recheck)
			return 0;
		x->fails = 0;
		x->recheck_ns = x->recheck_ns ? x->recheck_ns * 2 : RECHECK_MIN_NS;
		if (x->recheck_ns > RECHECK_MAX_NS)
			x->recheck_ns = RECHECK_MAX_NS;
		x->next_recheck = now + x->recheck_ns;
		struct mem_source mem;
		struct py_runtime rt;
		if (py_open(x->pid, &mem, &rt, NULL) != 0)
			return 0;
		if (rt.runtime_addr == x->rt->runtime_addr) {
			mem_close(&mem);
			return 0;
		}
		mem_close(&mem);
	}
	if (!x->can_follow) {
		say_stop(x, "and --async-aware cannot follow it");
		return 1;
	}
	if (!x->pending_since || !task_image_same(&img, &x->pending)) {
		x->pending = img;
		x->pending_since = now;
	}
	struct mem_source mem;
	struct py_runtime rt;
	struct errmsg e = { "" };
	int rc = py_open(x->pid, &mem, &rt, &e);
	if (rc == 0 && (!mem_same_process(x->mem, &mem) || !mem_alive(x->mem))) {
		/* not an exec: the process died and another took its PID */
		mem_close(&mem);
		return 1;
	}
	if (rc == 0) {
		if (rt.major != x->rt->major || rt.minor != x->rt->minor) {
			char v[32];
			char why[96];
			snprintf(why, sizeof(why), "with Python %s",
				 py_runtime_version_str(&rt, v, sizeof(v)));
			mem_close(&mem);
			say_stop(x, why);
			return 1;
		}
		rebuild_walker(x, &rt, &mem);
		x->img = img;
		x->recheck_ns = 0;
		x->pending_since = 0;
		return 0;
	}
	if (rc == ERR_NOPROC)
		return 0;
	/* a runtime not mapped yet (a shared libpython being loaded), or no
	 * Python at all: wait a while, then give up */
	if (now - x->pending_since >= WAIT_NS) {
		say_stop(x, "with a program strobe cannot profile");
		return 1;
	}
	return 0;
}
