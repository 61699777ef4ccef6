#include "sampler.h"

#include "base/clock.h"
#include "base/error.h"
#include "model/sample.h"
#include "py/walk.h"
#include "process/mem.h"

#include <string.h>

volatile sig_atomic_t sampler_stop;

/* How often the target is checked for having exited, besides failed reads. */
#define ALIVE_CHECK_NS 20000000ULL
/* Rate statistics window (Tachyon: the last 100 gaps). */
#define RATE_WINDOW 100

struct rate_window {
	double hz[RATE_WINDOW];
	int n, at;
	uint64_t total;
};

static void rate_push(struct rate_window *r, uint64_t gap_ns)
{
	if (!gap_ns)
		return;
	r->hz[r->at] = 1e9 / (double)gap_ns;
	r->at = (r->at + 1) % RATE_WINDOW;
	if (r->n < RATE_WINDOW)
		r->n++;
	r->total++;
}

/* The two commonest causes of failed samples so far, for the live line. */
static void fail_print(const struct sampler_result *res, FILE *fp)
{
	uint64_t attempts = res->ticks ? res->ticks : 1;
	fprintf(fp, " Failed: %.2f%%", (double)res->failed / (double)attempts * 100.0);
	bool shown[PY_NFAIL] = { false };
	for (int k = 0; k < 2; k++) {
		int best = -1;
		for (int i = 1; i < PY_NFAIL; i++)
			if (!shown[i] && res->failed_by[i] &&
			    (best < 0 || res->failed_by[i] > res->failed_by[best]))
				best = i;
		if (best < 0)
			break;
		shown[best] = true;
		fprintf(fp, "%s%s %.2f%%", k ? ", " : " (", py_fail_str((enum py_fail)best),
			(double)res->failed_by[best] / (double)attempts * 100.0);
	}
	if (res->failed)
		fputc(')', fp);
}

static void rate_print(const struct rate_window *r, const struct sampler_result *res, FILE *fp)
{
	if (r->n < 2)
		return;
	double sum = 0, min = r->hz[0], max = r->hz[0];
	for (int i = 0; i < r->n; i++) {
		sum += r->hz[i];
		if (r->hz[i] < min)
			min = r->hz[i];
		if (r->hz[i] > max)
			max = r->hz[i];
	}
	sampler_stats_line(fp, sum / r->n, min, max, r->total, res);
}

void sampler_stats_line(FILE *fp, double mean, double min, double max, uint64_t n,
			const struct sampler_result *res)
{
	fprintf(fp, "\r\033[KStats: %.1fHz (%.1fµs) Min: %.1fHz Max: %.1fHz N=%llu", mean,
		mean > 0 ? 1e6 / mean : 0.0, min, max, (unsigned long long)n);
	fail_print(res, fp);
	fflush(fp);
}

/* How far behind its schedule the sampler may fall before it gives the
 * missed ticks up (see sampler_run): max(MAX_LAG_TICKS ticks, MAX_LAG_MIN_NS). */
#define MAX_LAG_MIN_NS 4000000ULL
#define MAX_LAG_TICKS 4

/* Walks of a torn sample after the first. */
#define TORN_RETRIES 8

static bool torn(int rc)
{
	return rc == ERR_CORRUPT || rc == ERR_FAULT;
}

static int take(struct py_walker *w, const struct sampler_config *cfg, struct sample *s)
{
	return cfg->take ? cfg->take(cfg->take_ctx, s) : py_walker_sample(w, s);
}

int sampler_run(struct py_walker *w, const struct sampler_sink *sink,
		const struct sampler_config *cfg, struct sampler_result *res)
{
	struct sample s;
	struct rate_window rate = { .n = 0 };
	memset(res, 0, sizeof(*res));
	sample_init(&s);
	clock_tighten_slack();

	uint64_t start = clock_now_ns();
	uint64_t next = start, last_sample = 0, next_alive = start + ALIVE_CHECK_NS;
	uint64_t next_print = start + 1000000000ULL;
	uint64_t next_tick = start;
	uint64_t now = start;
	bool ready = false;
	uint64_t max_lag = MAX_LAG_TICKS * cfg->interval_ns;
	if (max_lag < MAX_LAG_MIN_NS)
		max_lag = MAX_LAG_MIN_NS;

	while (!sampler_stop) {
		now = clock_now_ns();
		if (cfg->duration_ns >= 0 && now - start >= (uint64_t)cfg->duration_ns)
			break;
		if (now >= next_alive) {
			next_alive = now + ALIVE_CHECK_NS;
			if (cfg->target_exited && cfg->target_exited(cfg->arg)) {
				res->target_gone = true;
				break;
			}
		}
		if (cfg->tick && now >= next_tick) {
			struct sampler_progress pr = { res->ticks, res->failed,
						       res->ticks ? start : 0, now };
			if (cfg->tick(cfg->tick_ctx, &pr))
				break;
			/* the hook may have drawn for a while: read the clock again */
			next_tick = clock_now_ns() + cfg->tick_ns;
			continue;
		}
		if (now < next) {
			uint64_t until = next;
			if (cfg->duration_ns >= 0 && start + (uint64_t)cfg->duration_ns < until)
				until = start + (uint64_t)cfg->duration_ns;
			if (cfg->tick && next_tick < until)
				until = next_tick;
			clock_sleep_until(until);
			continue;
		}
		int rc = cfg->pause ? cfg->pause(cfg->pause_ctx) : 0;
		bool paused = rc == 0;
		if (rc == 0) {
			rc = take(w, cfg, &s);
			/* A torn read (the target changed while it was read) is
			 * transient: walk again at once, microseconds later, and
			 * the sample lands at nearly the same point of the
			 * program instead of being lost where stacks change
			 * fastest (imports, first calls, short-lived frames). */
			for (int k = 0; k < TORN_RETRIES && torn(rc); k++) {
				if (k == 0) {
					res->torn++;
					res->torn_by[py_walker_last_fail(w)]++;
				}
				res->retries++;
				rc = take(w, cfg, &s);
			}
			if (cfg->pause)
				cfg->resume(cfg->pause_ctx);
			if (rc == 0 && cfg->finish)
				rc = cfg->finish(cfg->finish_ctx, &s);
		}
		if (rc == ERR_NOTREADY && !ready) {
			/* a launched interpreter still initialising: not a
			 * sample yet, try again shortly */
			next = now + (cfg->interval_ns < 1000000 ? cfg->interval_ns : 1000000);
			continue;
		}
		if (!ready && rc == 0 && res->ticks == 0) {
			/* the clock of a launched target starts with its
			 * first sample, not with its interpreter's start-up */
			start = now;
			next = now;
		}
		ready = true;
		/* A read refused with ESRCH says the process is gone; its
		 * pidfd says whether it is.  Under load on a 2-core host a
		 * live multiprocessing worker was seen refused (its profiler
		 * stopped after 10 samples of a 1 s life): while the pidfd
		 * says it runs, that is a failed sample, not the end. */
		if (rc == ERR_NOPROC && !mem_alive(w->mem)) {
			res->target_gone = true;
			break;
		}
		if (rc == 0 && !mem_alive(w->mem)) {
			/* the process exited during or before the walk: what was
			 * read may belong to a newcomer that took its PID */
			res->target_gone = true;
			break;
		}
		if (rc == 0) {
			int src = sink->add(sink->ctx, &s);
			if (src) {
				res->sink_error = src;
				res->ticks++;
				break;
			}
		} else if (!mem_alive(w->mem)) {
			/* the failure was the target going away */
			res->target_gone = true;
			break;
		} else {
			enum py_fail why = !paused ? PY_FAIL_PAUSE
				: rc == ERR_NOTREADY ? PY_FAIL_NOTREADY
				: rc == ERR_NOPROC ? PY_FAIL_REFUSED : py_walker_last_fail(w);
			res->failed++;
			res->failed_by[why]++;
			if (cfg->failed && cfg->failed(cfg->failed_ctx)) {
				res->ticks++;
				res->target_gone = true;
				break;
			}
		}
		res->ticks++;
		if (last_sample)
			rate_push(&rate, now - last_sample);
		last_sample = now;
		next += cfg->interval_ns;
		/* Behind by more than a few ticks is a stall, not a slow
		 * sample: strobe waited for a CPU on a busy host, or a
		 * redraw took long.  Catching up (as Tachyon does) would
		 * take a burst of back-to-back samples of the one moment
		 * after the stall and give it the stall's time: under load
		 * a 3.15 asyncio worker's share swung by 40% from run to
		 * run, a child's shutdown got 0.7 s.  Sampling goes on from
		 * now instead, and the ticks given up count as missed (the
		 * summary's expected - taken), as py-spy skips when behind.
		 * A rate above what a walk allows stays back-to-back: its
		 * lag grows slowly and is given up every few milliseconds. */
		if (now > next && now - next > max_lag)
			next = now + cfg->interval_ns;
		if (cfg->realtime_stats && now >= next_print) {
			rate_print(&rate, res, cfg->stats_fp);
			next_print = now + 1000000000ULL;
		}
	}
	now = clock_now_ns();
	if (cfg->realtime_stats && rate.n >= 2)
		fputc('\n', cfg->stats_fp);
	res->duration_s = (double)(now - start) / 1e9;
	res->interrupted = sampler_stop != 0;
	sample_release(&s);
	return 0;
}
