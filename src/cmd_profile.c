/* cmd_profile.c - what run and attach share: attach to a Python process,
 * sample it, print the summary and write the chosen output. */
#include "cmd.h"

#include "base/buf.h"
#include "base/error.h"
#include "cli.h"
#include "model/profile.h"
#include "out/out.h"
#include "py/runtime.h"
#include "py/walk.h"
#include "sampler.h"
#include "target/mem.h"
#include "target/spawn.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* grace period before SIGKILL for a launched target, as Tachyon */
#define TERMINATE_GRACE_MS 2000

static void on_signal(int sig)
{
	sampler_stop = sig == SIGINT ? 1 : 2;
}

void cmd_install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: a sleep must end to see the flag */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static _Noreturn void die_permission(pid_t pid)
{
	die("strobe cannot read the memory of process %d: permission denied (reading another "
	    "process needs CAP_SYS_PTRACE): run strobe as root, or set "
	    "'sysctl kernel.yama.ptrace_scope=0' to profile your own processes, or give the "
	    "container --cap-add SYS_PTRACE.",
	    (int)pid);
}

/* Report a runtime lookup failure and exit. */
static _Noreturn void die_runtime(int rc, pid_t pid, const struct errmsg *e)
{
	switch (rc) {
	case ERR_NOPROC:
		die("strobe cannot find the process: Process with PID '%d' does not exist.", (int)pid);
	case ERR_PERM:
		die_permission(pid);
	case ERR_NOTPY:
	case ERR_VERSION:
	case ERR_CORRUPT:
		die("strobe cannot profile process %d: %s", (int)pid,
		    e->text[0] ? e->text : err_str(rc));
	default:
		die("strobe cannot profile process %d: %s", (int)pid, err_str(rc));
	}
}

static bool child_exited(void *arg)
{
	return spawn_exited(arg);
}

static void print_summary(const struct sampler_result *r, uint64_t interval_us)
{
	double rate = r->duration_s > 0 ? (double)r->ticks / r->duration_s : 0;
	double err = r->ticks ? (double)r->failed / (double)r->ticks * 100.0 : 0;
	printf("Captured %llu sample%s in %.2f seconds\n", (unsigned long long)r->ticks,
	       r->ticks == 1 ? "" : "s", r->duration_s);
	printf("Sample rate: %.2f samples/sec\n", rate);
	printf("Error rate: %.2f\n", err);
	uint64_t expected = (uint64_t)(r->duration_s * 1e6 / (double)interval_us);
	if (r->ticks < expected && !r->interrupted)
		printf("Warning: missed %llu samples from the expected total of %llu (%.2f%%)\n",
		       (unsigned long long)(expected - r->ticks), (unsigned long long)expected,
		       (double)(expected - r->ticks) / (double)expected * 100.0);
}

/* The rules of Python's _colorize.can_colorize, which Tachyon follows. */
static double pct(uint64_t part, uint64_t whole)
{
	return whole ? (double)part / (double)whole * 100.0 : 0.0;
}

/* strobe's counterpart of Tachyon's "Unwinder Statistics" block. */
static void print_unwinder_stats(const struct py_walker *w, const struct mem_source *mem)
{
	static const char rule[] = "==================================================";
	const struct py_walk_stats *ws = &w->stats;
	const struct py_code_stats *cs = &w->codes.stats;
	printf("\n%s\nUnwinder Statistics:\n", rule);
	printf("  Samples:\n");
	printf("    Taken:            %llu\n", (unsigned long long)ws->samples);
	printf("    Failed:           %llu (%.1f%%)\n", (unsigned long long)ws->failed,
	       pct(ws->failed, ws->samples));
	for (int i = 1; i < 16; i++)
		if (ws->failed_by[i])
			printf("      %-16s%llu\n", err_str(-i), (unsigned long long)ws->failed_by[i]);
	printf("    Frames:           %llu (%.1f per sample)\n", (unsigned long long)ws->frames,
	       ws->samples ? (double)ws->frames / (double)ws->samples : 0.0);
	if (ws->threads)
		printf("    One-read walks:   %llu of %llu (%.1f%%)\n",
		       (unsigned long long)(ws->threads - ws->second_reads),
		       (unsigned long long)ws->threads, pct(ws->threads - ws->second_reads, ws->threads));
	printf("    Frames reused:    %llu (%.1f%%, same slot, code and instruction)\n",
	       (unsigned long long)ws->memo_hits, pct(ws->memo_hits, ws->frames));
	printf("  Code Object Cache:\n");
	printf("    Hits:             %llu (%.1f%%)\n", (unsigned long long)cs->hits,
	       pct(cs->hits, cs->hits + cs->misses));
	printf("    Misses:           %llu (%.1f%%)\n", (unsigned long long)cs->misses,
	       pct(cs->misses, cs->hits + cs->misses));
	printf("    Revalidations:    %llu (%llu stale entries evicted)\n",
	       (unsigned long long)cs->revalidations, (unsigned long long)cs->evictions);
	printf("  Memory Reads:\n");
	printf("    System calls:     %llu (%.2f per sample)\n", (unsigned long long)mem->stats.calls,
	       ws->samples ? (double)mem->stats.calls / (double)ws->samples : 0.0);
	printf("    Bytes:            %llu\n", (unsigned long long)mem->stats.bytes);
	printf("%s\n", rule);
}

static bool want_color(void)
{
	const char *py = getenv("PYTHON_COLORS");
	if (py && strcmp(py, "0") == 0)
		return false;
	if (py && strcmp(py, "1") == 0)
		return true;
	const char *no = getenv("NO_COLOR");
	if (no && *no)
		return false;
	const char *force = getenv("FORCE_COLOR");
	if (force && *force)
		return true;
	const char *term = getenv("TERM");
	if (term && strcmp(term, "dumb") == 0)
		return false;
	return isatty(STDOUT_FILENO);
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int write_output(const struct options *o, const struct profile *p, pid_t pid)
{
	const struct out_format *fmt = out_format_find(o->format);
	if (!fmt)
		die("strobe: unknown output format '%s'", o->format);
	struct out_request req = {
		.path = NULL,
		.stdout_fp = stdout,
		.color = want_color(),
		.sort = o->sort,
		.limit = o->limit,
		.show_summary = !o->no_summary,
		.mode = 0,
	};
	char path[4096];
	bool to_stdout = strcmp(fmt->name, "pstats") == 0 && !o->output;
	if (!to_stdout) {
		if (o->output && !is_dir(o->output))
			snprintf(path, sizeof(path), "%s", o->output);
		else if (o->output)
			snprintf(path, sizeof(path), "%s/%s_%d.%s", o->output, fmt->name, (int)pid, fmt->ext);
		else
			snprintf(path, sizeof(path), "%s_%d.%s", fmt->name, (int)pid, fmt->ext);
		req.path = path;
	}
	fflush(stdout);
	bool written = false;
	int rc = fmt->write(p, &req, &written);
	if (rc) {
		fflush(stdout);
		fprintf(stderr, "strobe: cannot write %s: %s\n", req.path ? req.path : "output",
			rc == ERR_IO && errno ? strerror(errno) : err_str(rc));
		return 1;
	}
	if (written && fmt->written_msg) {
		/* the message holds one %s for the path */
		const char *hole = strstr(fmt->written_msg, "%s");
		if (hole)
			printf("%.*s%s%s\n", (int)(hole - fmt->written_msg), fmt->written_msg, req.path,
			       hole + 2);
		else
			printf("%s\n", fmt->written_msg);
	}
	fflush(stdout);
	return 0;
}

int cmd_profile(const struct options *o, pid_t pid, struct spawn *child)
{
	struct mem_source mem;
	struct py_runtime rt;
	struct errmsg e = { "" };
	int rc = mem_open(&mem, pid, 0);
	if (rc)
		die_runtime(rc, pid, &e);
	rc = py_runtime_find(&rt, pid, &mem, &e);
	if (rc) {
		if (child)
			spawn_terminate(child, TERMINATE_GRACE_MS);
		die_runtime(rc, pid, &e);
	}
	/* probe the actual memory access now: a clear error beats failed samples */
	mem_close(&mem);
	rc = mem_open(&mem, pid, rt.runtime_addr);
	if (rc) {
		if (child)
			spawn_terminate(child, TERMINATE_GRACE_MS);
		die_runtime(rc, pid, &e);
	}

	struct profile prof;
	profile_init(&prof);
	struct py_walker w;
	struct py_walk_config wc = { .all_threads = o->all_threads };
	py_walker_init(&w, &rt, &mem, &prof.strings, &wc);

	struct sampler_config sc = {
		.interval_ns = o->interval_usec * 1000,
		.duration_ns = o->duration_sec >= 0 ? (int64_t)o->duration_sec * 1000000000LL : -1,
		.realtime_stats = o->realtime_stats,
		.stats_fp = stdout,
		.target_exited = child ? child_exited : NULL,
		.arg = child,
	};
	struct sampler_result res;
	sampler_run(&w, &prof, &sc, &res);
	if (res.interrupted && sampler_stop == 1)
		printf("Interrupted by user.\n");

	prof.stats.interval_us = o->interval_usec;
	prof.stats.ticks = res.ticks;
	prof.stats.failed = res.failed;
	prof.stats.duration_s = res.duration_s;
	prof.stats.mode = 0;

	if (child)
		spawn_terminate(child, TERMINATE_GRACE_MS);
	print_summary(&res, o->interval_usec);
	if (o->realtime_stats)
		print_unwinder_stats(&w, &mem);
	int status = write_output(o, &prof, pid);

	py_walker_release(&w);
	profile_release(&prof);
	mem_close(&mem);
	return status;
}
