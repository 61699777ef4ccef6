/* test_asyncio.c - the linearisation of an asyncio task graph into stacks
 * (src/py/asyncio.h, py_async_linearize), on synthetic graphs.
 *
 * The rules are Tachyon's collector (_build_task_graph, _find_leaf_tasks,
 * _build_linear_stacks): leaves are tasks that are nobody's parent; from
 * each leaf, a task's coroutine frames then its <task> frame, then its
 * parent's, up to a task with no parents (or one that is not known); of
 * several parents the lowest address is followed and the task is named
 * "name (N parents)"; an empty name reads "Task-<address>"; a cycle stops
 * where it closes.  Also: the rebuilt threads aggregate in the profile
 * when several share one thread id in a sample.
 */
#include "harness.h"

#include "base/error.h"
#include "base/intern.h"
#include "model/profile.h"
#include "model/sample.h"
#include "py/asyncio.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct world {
	struct strtab own;
	struct strtab *strings;   /* own, or a profile's */
	struct py_async_graph g;
	struct frame frames[64];
	uint32_t nframes;
	uint32_t task_file;
	struct sample out;
};

static void world_init_with(struct world *w, struct strtab *strings)
{
	memset(w, 0, sizeof(*w));
	strtab_init(&w->own);
	w->strings = strings ? strings : &w->own;
	py_async_graph_init(&w->g);
	sample_init(&w->out);
	w->task_file = strtab_intern_cstr(w->strings, "<task>");
}

static void world_init(struct world *w)
{
	world_init_with(w, NULL);
}

static void world_release(struct world *w)
{
	strtab_release(&w->own);
	py_async_graph_release(&w->g);
	sample_release(&w->out);
}

/* A task with coroutine frames named by funcs (innermost first, a
 * space-separated list, "" for none) and parents (0-terminated). */
static void task(struct world *w, raddr_t addr, uint64_t tid, const char *name, const char *funcs,
		 const raddr_t *parents)
{
	uint32_t first = w->nframes;
	char tmp[128];
	snprintf(tmp, sizeof(tmp), "%s", funcs);
	for (char *f = strtok(tmp, " "); f; f = strtok(NULL, " ")) {
		w->frames[w->nframes++] = (struct frame){
			.file = strtab_intern_cstr(w->strings, "a.py"),
			.func = strtab_intern_cstr(w->strings, f),
			.line = (int32_t)w->nframes + 1, .end_line = -1, .col = -1, .end_col = -1,
			.opcode = FRAME_NO_OPCODE,
		};
	}
	py_async_graph_add(&w->g, addr, tid, strtab_intern_cstr(w->strings, name), first,
			   w->nframes - first);
	for (; parents && *parents; parents++)
		py_async_graph_add_parent(&w->g, *parents);
}

/* Thread i of the output as "tid:func;func;..." root first, the way the
 * collapsed format reads it ("<task>" frames as <name>). */
static const char *stack(struct world *w, size_t i)
{
	static char out[1024];
	const struct thread_sample *t = &w->out.threads[i];
	int n = snprintf(out, sizeof(out), "%llu:", (unsigned long long)t->tid);
	for (uint32_t k = t->depth; k-- > 0;) {
		const struct frame *f = &w->out.frames[t->first + k];
		const char *func = strtab_get(w->strings, f->func, NULL);
		if (f->file == w->task_file) {
			CHECK_EQ_INT(f->line, FRAME_NO_LINE);
			n += snprintf(out + n, sizeof(out) - (size_t)n, "<%s>", func);
		} else {
			n += snprintf(out + n, sizeof(out) - (size_t)n, "%s", func);
		}
		if (k)
			n += snprintf(out + n, sizeof(out) - (size_t)n, ";");
	}
	return out;
}

static int linearize(struct world *w)
{
	return py_async_linearize(&w->g, w->frames, w->strings, w->task_file, &w->out);
}

TEST(chain)
{
	struct world w;
	world_init(&w);
	const raddr_t p1[] = { 0x100, 0 }, p2[] = { 0x200, 0 };
	task(&w, 0x100, 7, "Task-1", "main", NULL);
	task(&w, 0x200, 7, "Task-2", "group aexit", p1);
	task(&w, 0x300, 7, "child-0", "busy leaf child", p2);
	w.out.time_ns = 42;
	CHECK_EQ_INT(linearize(&w), 0);
	CHECK_EQ_INT(w.out.time_ns, 42);
	CHECK_EQ_INT(w.out.nthreads, 1);
	CHECK_STR(stack(&w, 0), "7:<Task-1>;main;<Task-2>;aexit;group;<child-0>;child;leaf;busy");
	world_release(&w);
}

TEST(gather_leaves)
{
	/* a root awaiting two children (gather): two stacks, the root in both */
	struct world w;
	world_init(&w);
	const raddr_t p1[] = { 0x100, 0 };
	task(&w, 0x100, 5, "Task-1", "main", NULL);
	task(&w, 0x200, 5, "Task-2", "sleeper", p1);
	task(&w, 0x300, 5, "Task-3", "worker", p1);
	CHECK_EQ_INT(linearize(&w), 0);
	CHECK_EQ_INT(w.out.nthreads, 2);
	CHECK_STR(stack(&w, 0), "5:<Task-1>;main;<Task-2>;sleeper");
	CHECK_STR(stack(&w, 1), "5:<Task-1>;main;<Task-3>;worker");
	/* a lone task with no frames is a stack of its <task> frame */
	py_async_graph_clear(&w.g);
	task(&w, 0x900, 0, "lonely", "", NULL);
	CHECK_EQ_INT(linearize(&w), 0);
	CHECK_EQ_INT(w.out.nthreads, 1);
	CHECK_STR(stack(&w, 0), "0:<lonely>");
	world_release(&w);
}

TEST(several_parents)
{
	/* awaited by two tasks: the lower address is followed, the count shown */
	struct world w;
	world_init(&w);
	const raddr_t both[] = { 0x500, 0x400, 0 }, one[] = { 0x600, 0 };
	task(&w, 0x600, 3, "root", "r", NULL);
	task(&w, 0x500, 3, "high", "h", one);
	task(&w, 0x400, 3, "low", "l", one);
	task(&w, 0x300, 3, "shared", "s", both);
	CHECK_EQ_INT(linearize(&w), 0);
	CHECK_EQ_INT(w.out.nthreads, 1);
	CHECK_STR(stack(&w, 0), "3:<root>;r;<low>;l;<shared (2 parents)>;s");
	world_release(&w);
}

TEST(names_and_unknown_parents)
{
	struct world w;
	world_init(&w);
	const raddr_t gone[] = { 0xdead, 0 }, p[] = { 0x1000, 0 };
	/* awaited by something not in the graph: the stack ends there */
	task(&w, 0x2000, 9, "orphan", "o", gone);
	/* an empty name is Tachyon's "Task-<id>", the id being the address */
	task(&w, 0x1000, 9, "", "e", NULL);
	task(&w, 0x3000, 9, "kid", "k", p);
	CHECK_EQ_INT(linearize(&w), 0);
	CHECK_EQ_INT(w.out.nthreads, 2);
	CHECK_STR(stack(&w, 0), "9:<orphan>;o");
	CHECK_STR(stack(&w, 1), "9:<Task-4096>;e;<kid>;k");
	world_release(&w);
}

TEST(cycles_and_duplicates)
{
	struct world w;
	world_init(&w);
	const raddr_t pa[] = { 0xa0, 0 }, pb[] = { 0xb0, 0 };
	/* a <-> b await each other (only hostile memory does that), c awaits
	 * into the cycle: c's stack goes round once and stops */
	task(&w, 0xa0, 1, "a", "fa", pb);
	task(&w, 0xb0, 1, "b", "fb", pa);
	task(&w, 0xc0, 1, "c", "fc", pa);
	/* a task listed twice counts once */
	task(&w, 0xc0, 2, "c-again", "fc2", pa);
	CHECK_EQ_INT(linearize(&w), 0);
	CHECK_EQ_INT(w.out.nthreads, 1);
	CHECK_STR(stack(&w, 0), "1:<b>;fb;<a>;fa;<c>;fc");
	/* nothing but the cycle: no leaf, no stack */
	py_async_graph_clear(&w.g);
	task(&w, 0xa0, 1, "a", "fa", pb);
	task(&w, 0xb0, 1, "b", "fb", pa);
	CHECK_EQ_INT(linearize(&w), 0);
	CHECK_EQ_INT(w.out.nthreads, 0);
	CHECK_EQ_INT(w.out.nframes, 0);
	world_release(&w);
}

TEST(frame_limit)
{
	/* one task with more frames than a sample may rebuild */
	struct world w;
	world_init(&w);
	size_t n = PY_ASYNC_MAX_OUT_FRAMES;
	struct frame *big = calloc(n, sizeof(*big));
	CHECK(big != NULL);
	if (!big)
		return;
	py_async_graph_add(&w.g, 0x10, 1, strtab_intern_cstr(w.strings, "deep"), 0, (uint32_t)n);
	CHECK_EQ_INT(py_async_linearize(&w.g, big, w.strings, w.task_file, &w.out), ERR_LIMIT);
	CHECK_EQ_INT(w.out.nthreads, 0);
	CHECK_EQ_INT(w.out.nframes, 0);
	/* one frame fewer fits, with its <task> frame */
	py_async_graph_clear(&w.g);
	py_async_graph_add(&w.g, 0x10, 1, strtab_intern_cstr(w.strings, "deep"), 0, (uint32_t)n - 1);
	CHECK_EQ_INT(py_async_linearize(&w.g, big, w.strings, w.task_file, &w.out), 0);
	CHECK_EQ_INT(w.out.nframes, n);
	free(big);
	world_release(&w);
}

TEST(profile_aggregates_shared_tids)
{
	/* two leaves on one thread, sampled three times: each stack counts 3 */
	struct profile prof;
	profile_init(&prof);
	struct world w;
	world_init_with(&w, &prof.strings);
	const raddr_t p1[] = { 0x100, 0 };
	task(&w, 0x100, 5, "Task-1", "main", NULL);
	task(&w, 0x200, 5, "Task-2", "sleeper", p1);
	task(&w, 0x300, 5, "Task-3", "worker", p1);
	CHECK_EQ_INT(linearize(&w), 0);
	for (int i = 0; i < 3; i++)
		profile_add_sample(&prof, &w.out);
	CHECK_EQ_INT(prof.nentries, 2);
	for (size_t e = 0; e < prof.nentries; e++)
		CHECK_EQ_INT(prof.entries[e].count, 3);
	profile_release(&prof);
	world_release(&w);
}

int main(void)
{
	RUN(chain);
	RUN(gather_leaves);
	RUN(several_parents);
	RUN(names_and_unknown_parents);
	RUN(cycles_and_duplicates);
	RUN(frame_limit);
	RUN(profile_aggregates_shared_tids);
	return harness_done();
}
