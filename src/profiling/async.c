/* async.c - --async-aware for run and attach: find the target's asyncio
 * debug offsets before sampling, or say in one line why it cannot work. */
#include "profiling/profiling.h"

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "cli.h"
#include "py/asyncio.h"
#include "py/walk.h"
#include "sampler.h"
#include "process/spawn.h"

#include <stdlib.h>

/* A launched 3.14 target maps its _asyncio extension only when it imports
 * asyncio, usually within its first moments; `run` waits this long for it,
 * looking every POLL_NS (samples could not be taken before anyway). */
#define WAIT_NS 10000000000ULL
#define POLL_NS 1000000ULL
/* attach: how long a section caught being loaded may take */
#define LOADING_NS 1000000000ULL
#define TERMINATE_GRACE_MS 2000

static _Noreturn void fail(int status, struct spawn *child, const struct errmsg *e, int rc)
{
	if (child)
		spawn_terminate(child, TERMINATE_GRACE_MS);
	die_status(status, "strobe: %s", e->text[0] ? e->text : err_str(rc));
}

struct py_asyncio *profiling_async_prepare(const struct options *o, struct py_walker *w,
					   struct strtab *strings, struct spawn *child)
{
	struct py_asyncio *a = xmalloc(sizeof(*a));
	py_asyncio_init(a, w, strings, o->async_mode ? PY_ASYNC_ALL : PY_ASYNC_RUNNING);
	struct errmsg e = { "" };
	uint64_t deadline = clock_now_ns() + (child ? WAIT_NS : LOADING_NS);
	for (;;) {
		int rc = py_asyncio_find(a, &e);
		if (rc == 0)
			return a;
		if (rc == ERR_NOPROC && child)
			return a; /* gone already: sampling ends at once, as for any run */
		/* wrong version, no asyncio: the usage-style error */
		if (rc == ERR_VERSION && !py_asyncio_supported(w))
			fail(2, child, &e, rc);
		if (rc != ERR_NOTFOUND && rc != ERR_NOTREADY)
			fail(1, child, &e, rc);
		/* attach: the process is what it is (unless caught loading
		 * _asyncio); run: it may import asyncio soon */
		bool wait = child ? !spawn_exited(child) : rc == ERR_NOTREADY;
		if (!wait || sampler_stop || clock_now_ns() >= deadline) {
			errmsg_set(&e, "AsyncioDebug section not available - asyncio module may not be "
				   "loaded in target process %d", (int)w->rt->pid);
			fail(2, child, &e, rc);
		}
		clock_sleep_until(clock_now_ns() + POLL_NS);
	}
}

int profiling_async_take(void *ctx, struct sample *s)
{
	return py_asyncio_sample(ctx, s);
}

void profiling_async_release(struct py_asyncio *a)
{
	if (!a)
		return;
	py_asyncio_release(a);
	free(a);
}
