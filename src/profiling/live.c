/* live.c - --live for run and attach: the live view (src/tui/) hooked
 * into the sampling loop, and what follows it as in Tachyon's sample_live:
 * the "finished" screen until 'q', or its messages when fewer than 200
 * samples were taken. */
#include "profiling/profiling.h"

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "cli.h"
#include "py/opcodes.h"
#include "py/runtime.h"
#include "sampler.h"
#include "process/spawn.h"
#include "tui/tui.h"

#include <stdio.h>
#include <stdlib.h>

/* How often the view polls keys (and redraws when due) between samples. */
#define TICK_NS 10000000ULL
/* Tachyon's MIN_SAMPLES_FOR_TUI */
#define MIN_SAMPLES 200
#define TERMINATE_GRACE_MS 2000

struct profiling_live {
	struct tui *tui;
	int py_major, py_minor;
	bool quit;                 /* the user pressed 'q' while sampling */
};

static void opcode_name(void *ctx, int op, char *buf, size_t len)
{
	const struct profiling_live *lv = ctx;
	py_opcode_format(lv->py_major, lv->py_minor, op, buf, len);
}

static int live_tick(void *ctx, const struct sampler_progress *p)
{
	struct profiling_live *lv = ctx;
	struct tui_progress pr = { p->ticks, p->failed, p->start_ns, p->now_ns };
	lv->quit = tui_tick(lv->tui, &pr);
	return lv->quit;
}

struct profiling_live *profiling_live_open(const struct options *o, const struct profile *prof,
					   pid_t pid, const struct py_runtime *rt,
					   struct sampler_config *sc, struct spawn *child)
{
	struct profiling_live *lv = xcalloc(1, sizeof(*lv));
	lv->py_major = rt->major;
	lv->py_minor = rt->minor;
	struct tui_config cfg = {
		.pid = (int)pid,
		.interval_us = o->interval_usec,
		.gil_mode = o->mode == MODE_GIL,
		.opcodes = o->opcodes,
		.color = profiling_want_color(),
		.opcode_name = opcode_name,
		.opcode_ctx = lv,
		.stop = &sampler_stop,
	};
	struct errmsg e = { "" };
	if (tui_open(&lv->tui, &cfg, prof, &e)) {
		if (child)
			spawn_terminate(child, TERMINATE_GRACE_MS);
		die("strobe: --live needs a terminal: %s", e.text);
	}
	sc->tick = live_tick;
	sc->tick_ctx = lv;
	sc->tick_ns = TICK_NS;
	/* Tachyon prints the rate line to the stdout it has silenced */
	sc->realtime_stats = false;
	return lv;
}

int profiling_live_close(struct profiling_live *lv, const struct sampler_result *res, pid_t pid,
			 struct spawn *child)
{
	uint64_t end = clock_now_ns(), ran = (uint64_t)(res->duration_s * 1e9);
	struct tui_progress pr = { res->ticks, res->failed, res->ticks ? end - ran : 0, end };
	uint64_t ok = tui_samples(lv->tui, &pr);
	/* Ctrl-C, the duration or the target's exit end the sampling and
	 * Tachyon then shows the results until 'q' (or another Ctrl-C);
	 * 'q', SIGTERM and SIGHUP end the view */
	if (!lv->quit && sampler_stop != 2 && ok >= MIN_SAMPLES) {
		sampler_stop = 0;
		tui_finished(lv->tui, &pr);
	}
	tui_close(lv->tui, ok < MIN_SAMPLES);
	if (child)
		spawn_terminate(child, TERMINATE_GRACE_MS);
	if (ok == 0)
		fprintf(stderr, "No samples collected - process %d exited before profiling could "
			"begin.\n", (int)pid);
	else if (ok < MIN_SAMPLES)
		fprintf(stderr, "Only %llu sample(s) collected (minimum %d required for TUI) - "
			"process %d exited too quickly.\n", (unsigned long long)ok, MIN_SAMPLES,
			(int)pid);
	free(lv);
	return 0;
}
