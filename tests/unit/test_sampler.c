/* test_sampler.c - the sampling loop's decisions about a vanished target,
 * driven through its take hook (no Python needed). */
#include "harness.h"

#include "base/error.h"
#include "model/sample.h"
#include "py/walk.h"
#include "sampler.h"
#include "process/mem.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

struct script {
	int refused;     /* takes answering ERR_NOPROC first */
	int calls;
};

static int take_script(void *ctx, struct sample *s)
{
	struct script *sc = ctx;
	(void)s;
	return sc->calls++ < sc->refused ? ERR_NOPROC : 0;
}

static int count_add(void *ctx, const struct sample *s)
{
	(void)s;
	(*(int *)ctx)++;
	return 0;
}

static void run(struct mem_source *mem, struct script *sc, int *added, struct sampler_result *res)
{
	struct py_walker w;
	memset(&w, 0, sizeof(w));
	w.mem = mem;
	struct sampler_sink sink = { count_add, added };
	struct sampler_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.interval_ns = 1000000;      /* 1 kHz */
	cfg.duration_ns = 30000000;     /* 30 ms */
	cfg.take = take_script;
	cfg.take_ctx = sc;
	memset(res, 0, sizeof(*res));
	sampler_run(&w, &sink, &cfg, res);
}

/* A read refused as if the process were gone while it still runs (seen
 * under load: a live pool worker's profiler stopped after 10 samples) is a
 * failed sample, counted as refused; sampling goes on. */
TEST(refused_while_alive)
{
	struct mem_source mem;
	CHECK_EQ_INT(mem_open(&mem, getpid(), 0), 0);
	struct script sc = { 3, 0 };
	int added = 0;
	struct sampler_result res;
	run(&mem, &sc, &added, &res);
	CHECK(!res.target_gone);
	CHECK(res.failed_by[PY_FAIL_REFUSED] == 3);
	CHECK(res.failed == 3);
	CHECK(added > 10);
	mem_close(&mem);
}

/* The same answer from a process that has exited ends sampling. */
TEST(refused_when_gone)
{
	pid_t c = fork();
	if (c == 0)
		_exit(0);
	struct mem_source mem;
	CHECK_EQ_INT(mem_open(&mem, c, 0), 0);
	waitpid(c, NULL, 0);
	struct script sc = { 1000, 0 };
	int added = 0;
	struct sampler_result res;
	run(&mem, &sc, &added, &res);
	CHECK(res.target_gone);
	CHECK(res.failed == 0);
	CHECK(added == 0);
	CHECK(sc.calls == 1);
	mem_close(&mem);
}

int main(void)
{
	RUN(refused_while_alive);
	RUN(refused_when_gone);
	return harness_done();
}
