/* asyncio.h - async-aware samples (--async-aware): stacks rebuilt from
 * asyncio tasks instead of threads, as Tachyon does.
 *
 * CPython 3.14+ lets a profiler see asyncio's tasks: the _asyncio module
 * (built into the interpreter, or the extension _asyncio.cpython-3XY-*.so)
 * publishes the offsets of its task objects in an ELF section .AsyncioDebug,
 * every thread state keeps the thread's running loop and task and a list of
 * its tasks, and the interpreter keeps the tasks of threads that have gone.
 *
 * One sample gathers a graph of tasks: each task's coroutine frames and the
 * tasks awaiting it (its parents),
 *   running  for each thread running a task: that task, with the thread's
 *            real frames down to the task's coroutine, and recursively
 *            every task awaiting it;
 *   all      every task of every thread (and of the interpreter's list),
 *            each with its suspended coroutine chain.
 * The graph is then made linear exactly like Tachyon's collector: one
 * stack per leaf task (a task that is nobody's parent: it awaits no other
 * task), made of its frames, a "<task>" frame named after it, then its
 * parent's frames and "<task>" frame, and so on up; a task with several
 * parents is named "name (N parents)" and its parent with the lowest
 * address is followed.  Each stack becomes an ordinary thread
 * of struct sample (thread id: the thread whose list held the leaf), so
 * every output format works unchanged.
 *
 * Everything read is untrusted: task counts, set sizes, chain lengths and
 * names are bounded, and a graph that does not hold together fails the
 * sample like a torn read.
 */
#ifndef STROBE_PY_ASYNCIO_H
#define STROBE_PY_ASYNCIO_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/hash.h"
#include "base/intern.h"
#include "model/sample.h"
#include "process/mem.h"

struct errmsg;
struct py_walker;

/* Bounds on one sample (Tachyon stops a task list at 65536 entries). */
#define PY_ASYNC_MAX_TASKS 65536         /* tasks gathered */
#define PY_ASYNC_MAX_PARENTS 65536       /* awaited_by set slots read per task */
#define PY_ASYNC_MAX_OUT_FRAMES (1u << 20) /* frames of all tasks, of all rebuilt stacks */
#define PY_ASYNC_MAX_TASK_SIZE 4096      /* sizeof(TaskObj) we accept */

enum py_async_mode {
	PY_ASYNC_RUNNING = 0, /* --async-mode running: the running task and its awaiters */
	PY_ASYNC_ALL = 1,     /* --async-mode all: every task */
};

/* ---- the task graph and its linearisation (pure, no target access) ---- */

struct py_async_task {
	raddr_t addr;          /* the task object: its identity */
	uint64_t tid;          /* thread whose list held it, 0 for the interpreter's */
	uint32_t name;         /* string id of its name ("Task-3", "worker") */
	uint32_t first, depth; /* its coroutine frames in the frame array, innermost first */
	uint32_t first_parent, nparents; /* tasks awaiting it, in the parent array */
};

struct py_async_graph {
	struct py_async_task *tasks;
	size_t ntasks, tasks_cap;
	raddr_t *parents;      /* addresses of awaiting tasks (may name unknown tasks) */
	size_t nparents, parents_cap;
	/* linearisation scratch */
	struct u64map index;   /* task address -> index + 1 */
	struct u64map parent_set;
	uint32_t *visit;       /* per task: the leaf number that last visited it */
	size_t visit_cap;
	struct buf label;      /* "name (N parents)" */
};

void py_async_graph_init(struct py_async_graph *g);
void py_async_graph_release(struct py_async_graph *g);
/* Forget the tasks, keep the memory. */
void py_async_graph_clear(struct py_async_graph *g);
/* Append a task (its parents are added after it with
 * py_async_graph_add_parent); returns it, valid until the next add. */
struct py_async_task *py_async_graph_add(struct py_async_graph *g, raddr_t addr, uint64_t tid,
					 uint32_t name, uint32_t first, uint32_t depth);
/* Record that the last task added is awaited by task parent. */
void py_async_graph_add_parent(struct py_async_graph *g, raddr_t parent);

/* Rebuild one stack per leaf task of g into out (cleared first, time kept),
 * in task order.  frames holds the tasks' coroutine frames; the <task>
 * frames get file task_file ("<task>") and their names are interned in
 * strings.  An empty name reads "Task-<address>", as Tachyon's.  0, or
 * ERR_LIMIT past PY_ASYNC_MAX_OUT_FRAMES. */
int py_async_linearize(struct py_async_graph *g, const struct frame *frames, struct strtab *strings,
		       uint32_t task_file, struct sample *out);

/* ---- reading the target ---------------------------------------------- */

/* Offsets of _Py_AsyncioModuleDebugOffsets, as validated from the target. */
struct py_async_offsets {
	uint32_t task_size, task_name, task_awaited_by, task_is_task, task_awaited_by_is_set;
	uint32_t task_coro, task_node;
	uint32_t is_tasks_head;    /* interpreter: tasks of threads that have gone */
};

struct py_asyncio {
	struct py_walker *w;       /* borrowed: frames are resolved by the walker */
	struct strtab *strings;    /* borrowed: names are interned here */
	int mode;                  /* enum py_async_mode */
	bool found;                /* .AsyncioDebug located and checked */
	raddr_t debug_addr;
	struct py_async_offsets off;
	uint32_t task_file;        /* "<task>" */
	struct sample frames;      /* each task's coroutine frames, one thread per task */
	struct py_async_graph g;
	raddr_t *work;             /* running mode: tasks whose awaiters are still to read */
	size_t nwork, work_cap;
	unsigned char *buf;        /* a copy of an awaited_by set's table */
	size_t buf_cap;
	struct py_type_flags {
		raddr_t type;
		uint64_t flags;
	} types[4];                /* tp_flags of name types, this sample */
	int ntypes;
	struct buf name;           /* a name being read */
	uint64_t next_find_ns;     /* not found yet: when to look again */
};

/* Prepare for the walker's process; nothing is read yet.  mode is enum
 * py_async_mode; strings must be the walker's string table. */
void py_asyncio_init(struct py_asyncio *a, struct py_walker *w, struct strtab *strings, int mode);
void py_asyncio_release(struct py_asyncio *a);

/* Whether the version supports async-aware sampling at all (3.14+). */
bool py_asyncio_supported(const struct py_walker *w);

/* Locate .AsyncioDebug in the process and check it.  0; ERR_NOTFOUND when
 * no mapped file has it (yet: a 3.14 target maps _asyncio when asyncio is
 * first imported); ERR_NOTREADY when it is mapped but cannot be read or is
 * still zero (being loaded: try again); ERR_VERSION when the version has no
 * such section or its contents do not match the version's layout (e
 * explains); ERR_CORRUPT for implausible contents; or an error reading the
 * process. */
int py_asyncio_find(struct py_asyncio *a, struct errmsg *e);

/* Take one async-aware sample into s (cleared first): one thread per leaf
 * task.  Returns as py_walker_sample; ERR_NOTREADY also while the section
 * has not been found (it is looked for again, at most every few ms). */
int py_asyncio_sample(struct py_asyncio *a, struct sample *s);

#endif
