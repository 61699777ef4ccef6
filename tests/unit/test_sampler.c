/* test_sampler.c - the sampling loop's decisions about a vanished target,
 * driven through its take hook (no Python needed). */
#include "harness.h"

#include "base/clock.h"
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
	int stall_at;    /* the take (1-based) that stalls, 0: none */
	unsigned stall_ms;
	int calls;
	uint64_t at[256];/* when each take started */
};

static int take_script(void *ctx, struct sample *s)
{
	struct script *sc = ctx;
	(void)s;
	int n = sc->calls++;
	if (n < (int)(sizeof(sc->at) / sizeof(sc->at[0])))
		sc->at[n] = clock_now_ns();
	if (n + 1 == sc->stall_at)
		usleep(sc->stall_ms * 1000);
	return n < sc->refused ? ERR_NOPROC : 0;
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
	cfg.duration_ns = 60000000;     /* 60 ms */
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
	struct script sc = { .refused = 3 };
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
	struct script sc = { .refused = 1000 };
	int added = 0;
	struct sampler_result res;
	run(&mem, &sc, &added, &res);
	CHECK(res.target_gone);
	CHECK(res.failed == 0);
	CHECK(added == 0);
	CHECK(sc.calls == 1);
	mem_close(&mem);
}

/* A stall (strobe off its CPU for 30 ms at 1 kHz) is followed by samples
 * on schedule from then on, not by a burst of back-to-back samples of the
 * moment after it; the ticks given up are missed (fewer taken). */
TEST(stall_gives_ticks_up)
{
	struct mem_source mem;
	CHECK_EQ_INT(mem_open(&mem, getpid(), 0), 0);
	struct script sc = { .stall_at = 5, .stall_ms = 30 };
	int added = 0;
	struct sampler_result res;
	run(&mem, &sc, &added, &res);
	/* takes within 300 us of the one after the stall */
	int burst = 0;
	for (int i = 5; i < sc.calls && i < 256; i++)
		if (sc.at[i] - sc.at[5] < 300000)
			burst++;
	CHECK(burst <= 2);
	CHECK(sc.calls >= 8);
	CHECK(res.ticks <= 40); /* of 60 ticks in 60 ms, the 30 of the stall given up */
	mem_close(&mem);
}

int main(void)
{
	RUN(refused_while_alive);
	RUN(refused_when_gone);
	RUN(stall_gives_ticks_up);
	return harness_done();
}
