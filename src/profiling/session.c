/* session.c - what run and attach share: open a Python process, sample it
 * into the output session, print the summary and close the output; and
 * the one-line errors of opening a target, which dump shares. */
#include "profiling/profiling.h"

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "cli.h"
#include "model/profile.h"
#include "format/out.h"
#include "py/layout.h"
#include "py/native.h"
#include "py/open.h"
#include "py/runtime.h"
#include "py/walk.h"
#include "sampler.h"
#include "process/mem.h"
#include "process/ptrace.h"
#include "process/rootfs.h"
#include "process/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* grace period before SIGKILL for a launched target, as Tachyon */
#define TERMINATE_GRACE_MS 2000

static void on_signal(int sig)
{
	sampler_stop = sig == SIGINT ? 1 : 2;
}

void profiling_install_signals(void)
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

void profiling_die_runtime(int rc, pid_t pid, const struct errmsg *e)
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

void profiling_warn_blocking(const struct options *o)
{
	/* Tachyon's validation warning, printed before anything else runs */
	if (o->blocking && o->interval_usec < 100)
		fprintf(stderr, "Warning: --blocking with a %llu µs interval will stop all threads "
			"%llu times per second. Consider using --sampling-rate 1khz or lower to "
			"reduce overhead.\n", (unsigned long long)o->interval_usec,
			(unsigned long long)(1000000 / o->interval_usec));
}

void profiling_die_pause(int rc, pid_t pid, const struct ptrace_pause *pp, const char *opt)
{
	if (rc == ERR_PERM && pp->tracer > 0)
		die("strobe cannot stop the threads of process %d for %s: thread %d is "
		    "already traced by process %d (a debugger?); detach it first, or profile "
		    "without %s.", (int)pid, opt, (int)pp->failed_tid, (int)pp->tracer, opt);
	if (rc == ERR_PERM)
		die("strobe cannot stop the threads of process %d for %s: permission denied "
		    "(ptrace needs CAP_SYS_PTRACE): run strobe as root, or set "
		    "'sysctl kernel.yama.ptrace_scope=0' to profile your own processes, or give the "
		    "container --cap-add SYS_PTRACE.", (int)pid, opt);
	if (rc == ERR_LIMIT)
		die("strobe cannot stop the threads of process %d for %s: it has more than "
		    "%d threads; profile it without %s.", (int)pid, opt, PTRACE_MAX_THREADS, opt);
	die("strobe cannot stop the threads of process %d for %s: %s", (int)pid, opt,
	    err_str(rc));
}

void profiling_die_native(int rc, pid_t pid)
{
	if (rc == ERR_PERM)
		die_permission(pid);
	die("strobe cannot unwind the native stacks of process %d: %s%s", (int)pid,
	    unwind_supported() ? "" : "only x86-64 is supported, not ",
	    unwind_supported() ? err_str(rc) : "this machine's architecture");
}

void profiling_check_native(const struct options *o, const struct py_runtime *rt, pid_t pid,
			    struct spawn *child)
{
	if (o->native && rt->layout.owner_cstack == PY_OWNER_NONE &&
	    rt->layout.if_is_entry == PY_ABSENT) {
		char v[32];
		if (child)
			spawn_terminate(child, TERMINATE_GRACE_MS);
		die_status(2, "strobe: --native needs CPython 3.11 or newer, which mark C-to-Python "
			   "calls in their frame chain; process %d runs Python %s", (int)pid,
			   py_runtime_version_str(rt, v, sizeof(v)));
	}
}

/* --blocking and --native-stacks: the threads are held around each sample;
 * how long they were held is kept (at most PAUSES_KEPT times) for the
 * statistics. */
#define PAUSES_KEPT (1u << 20)
struct pausing {
	struct ptrace_pause pp;
	uint64_t t0;
	uint32_t *held_ns;
	size_t n, cap;
};

static int pause_target(void *ctx)
{
	struct pausing *p = ctx;
	p->t0 = clock_now_ns();
	return ptrace_pause_all(&p->pp, p->pp.pid);
}

static void resume_target(void *ctx)
{
	struct pausing *p = ctx;
	ptrace_resume_all(&p->pp);
	uint64_t d = clock_now_ns() - p->t0;
	if (p->n < PAUSES_KEPT) {
		VEC_RESERVE(p->held_ns, p->cap, p->n + 1);
		p->held_ns[p->n++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
	}
}

static int native_take(void *ctx, struct sample *s)
{
	return py_native_take(ctx, s);
}

static int native_finish(void *ctx, struct sample *s)
{
	return py_native_finish(ctx, s);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* --realtime-stats with --native-stacks: what the unwinding found. */
/* --realtime-stats with --blocking or --native-stacks: how long the
 * threads were held per sample. */
static void print_pause_stats(struct pausing *p)
{
	if (!p->n)
		return;
	qsort(p->held_ns, p->n, sizeof(*p->held_ns), cmp_u32);
	printf("  Pauses:\n");
	printf("    Threads held:     median %.1f us, p99 %.1f us, max %.1f us (%zu samples)\n",
	       p->held_ns[p->n / 2] / 1e3, p->held_ns[(p->n * 99) / 100] / 1e3,
	       p->held_ns[p->n - 1] / 1e3, p->n);
}

static void print_native_stats(const struct py_native *n)
{
	printf("  Native Stacks:\n");
	const struct unwind_stats *us = &n->u.stats;
	printf("    Unwinds:          %llu (%.1f frames each, %llu ended early)\n",
	       (unsigned long long)us->unwinds,
	       us->unwinds ? (double)us->frames / (double)us->unwinds : 0.0,
	       (unsigned long long)us->truncated);
	printf("    Disagreements:    %llu (evaluation frames and Python frames did not match)\n",
	       (unsigned long long)n->stats.mismatched);
	printf("    Symbols resolved: %llu (mappings read %llu times)\n",
	       (unsigned long long)n->stats.symbols, (unsigned long long)us->reports);
}

/* The launched command's Python child (run -- sh -c ...) still runs when
 * sampling stops: it is the program, so it ends as a launched program does,
 * SIGTERM then SIGKILL after the grace period (a wrapper such as unshare
 * --fork does not pass signals on).  Signalled through the pidfd, so a
 * process that took its PID meanwhile is never hit. */
static void end_descendant(const struct mem_source *mem)
{
	if (mem->pidfd < 0 || !mem_alive(mem))
		return;
	syscall(SYS_pidfd_send_signal, mem->pidfd, SIGTERM, NULL, 0);
	uint64_t deadline = clock_now_ns() + (uint64_t)TERMINATE_GRACE_MS * 1000000ULL;
	while (mem_alive(mem) && clock_now_ns() < deadline)
		clock_sleep_until(clock_now_ns() + 10000000ULL);
	if (mem_alive(mem))
		syscall(SYS_pidfd_send_signal, mem->pidfd, SIGKILL, NULL, 0);
}

static bool child_exited(void *arg)
{
	return spawn_exited(arg);
}

/* The end-of-run figures, Tachyon's arithmetic. */
struct run_figures {
	double rate;          /* samples per second */
	double error_pct;     /* failed / taken, percent */
	uint64_t expected;    /* int(duration / interval) */
	double missed_pct;    /* (expected - taken) / expected, percent; may be negative */
};

static struct run_figures run_figures_of(const struct sampler_result *r, uint64_t interval_us)
{
	struct run_figures f;
	f.rate = r->duration_s > 0 ? (double)r->ticks / r->duration_s : 0;
	f.error_pct = r->ticks ? (double)r->failed / (double)r->ticks * 100.0 : 0;
	f.expected = (uint64_t)(r->duration_s * 1e6 / (double)interval_us);
	f.missed_pct = f.expected ? ((double)f.expected - (double)r->ticks) / (double)f.expected * 100.0
				  : 0;
	return f;
}

static void print_summary(const struct sampler_result *r, const struct run_figures *f)
{
	printf("Captured %llu sample%s in %.2f seconds\n", (unsigned long long)r->ticks,
	       r->ticks == 1 ? "" : "s", r->duration_s);
	printf("Sample rate: %.2f samples/sec\n", f->rate);
	printf("Error rate: %.2f\n", f->error_pct);
	/* what the failed samples were, one line per cause that occurred */
	for (int i = 1; i < PY_NFAIL; i++)
		if (r->failed_by[i])
			printf("  %s: %llu (%.2f%%)\n", py_fail_str((enum py_fail)i),
			       (unsigned long long)r->failed_by[i],
			       (double)r->failed_by[i] / (double)r->ticks * 100.0);
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? (double)part / (double)whole * 100.0 : 0.0;
}

/* strobe's counterpart of Tachyon's "Unwinder Statistics" block. */
static void print_unwinder_stats(const struct py_walker *w, const struct mem_source *mem,
				 const struct sampler_result *r)
{
	static const char rule[] = "==================================================";
	const struct py_walk_stats *ws = &w->stats;
	const struct py_code_stats *cs = &w->codes.stats;
	printf("\n%s\nUnwinder Statistics:\n", rule);
	printf("  Samples:\n");
	printf("    Taken:            %llu\n", (unsigned long long)ws->samples);
	printf("    Failed:           %llu (%.1f%%)\n", (unsigned long long)ws->failed,
	       pct(ws->failed, ws->samples));
	for (int i = 1; i < PY_NFAIL; i++)
		if (ws->failed_by[i])
			printf("      %-30s%llu\n", py_fail_str((enum py_fail)i),
			       (unsigned long long)ws->failed_by[i]);
	/* failures that no walk again can mend are not the torn ones' */
	uint64_t lost = r->failed - r->failed_by[PY_FAIL_NOTREADY] - r->failed_by[PY_FAIL_PAUSE] -
			r->failed_by[PY_FAIL_REFUSED] - r->failed_by[PY_FAIL_NATIVE] -
			r->failed_by[PY_FAIL_NATIVE_READ];
	uint64_t recovered = r->torn > lost ? r->torn - lost : 0;
	printf("    Torn first walks: %llu (%.1f%%; walked again at once, %llu walks, %llu "
	       "recovered)\n", (unsigned long long)r->torn, pct(r->torn, r->ticks),
	       (unsigned long long)r->retries, (unsigned long long)recovered);
	for (int i = 1; i < PY_NFAIL; i++)
		if (r->torn_by[i])
			printf("      %-30s%llu\n", py_fail_str((enum py_fail)i),
			       (unsigned long long)r->torn_by[i]);
	printf("    Frames:           %llu (%.1f per sample)\n", (unsigned long long)ws->frames,
	       ws->samples ? (double)ws->frames / (double)ws->samples : 0.0);
	if (ws->threads)
		printf("    One-read walks:   %llu of %llu (%.1f%%)\n",
		       (unsigned long long)(ws->threads - ws->second_reads),
		       (unsigned long long)ws->threads, pct(ws->threads - ws->second_reads, ws->threads));
	if (ws->threads)
		printf("    Read again whole: %llu (the first read's guesses missed)\n",
		       (unsigned long long)ws->rereads);
	printf("    Frames read alone: %llu\n", (unsigned long long)ws->single_reads);
	printf("    Returned leaves:  %llu (the frames' copies show the thread state's innermost "
	       "frame returned: its caller taken as the leaf)\n", (unsigned long long)ws->popped_tops);
	printf("    Pushed leaves:    %llu (the frames' copies show a callee above it: taken as "
	       "the leaf)\n", (unsigned long long)ws->pushed_tops);
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

/* --realtime-stats with --engine bpf: what the kernel side counted. */
static void print_bpf_stats(const struct sampler_result *r)
{
	printf("  BPF Engine:\n");
	printf("    Program runs:     %llu (%llu on threads with no thread state known yet)\n",
	       (unsigned long long)r->bpf.runs, (unsigned long long)r->bpf.unknown);
	printf("    Records:          %llu (%llu lost to a full ring buffer, %llu refused)\n",
	       (unsigned long long)r->bpf.records, (unsigned long long)r->bpf.lost,
	       (unsigned long long)r->bpf.bad);
	printf("    Left out by mode: %llu (samples of a thread the mode does not keep)\n",
	       (unsigned long long)r->bpf.skipped);
	printf("    Threads watched:  %llu\n", (unsigned long long)r->bpf.events);
	if (r->bpf.switches)
		printf("    Switches seen:    %llu (wall mode: a thread left its CPU)\n",
		       (unsigned long long)r->bpf.switches);
	printf("    Code copies:      %llu (%llu lost to a full ring buffer)\n",
	       (unsigned long long)r->bpf.code_copies, (unsigned long long)r->bpf.code_lost);
	printf("    Stack windows:    %llu (reads of several frames at once, 3.11+)\n",
	       (unsigned long long)r->bpf.windows);
}

static int profile_sink_add(void *ctx, const struct sample *s)
{
	profile_add_sample(ctx, s);
	return 0;
}

/* The summary's last line: Tachyon's warning when fewer samples were taken
 * than the duration and rate promised ("" when none). */
static void missed_line(const struct sampler_result *r, const struct run_figures *f, char *buf,
			size_t size)
{
	buf[0] = '\0';
	if (r->ticks < f->expected && !r->interrupted)
		snprintf(buf, size, "Warning: missed %llu samples from the expected total of %llu "
			 "(%.2f%%)\n", (unsigned long long)(f->expected - r->ticks),
			 (unsigned long long)f->expected, f->missed_pct);
}

int profiling_session(const struct options *o, pid_t pid, struct spawn *child)
{
	struct mem_source mem;
	struct py_runtime rt;
	struct errmsg e = { "" };
	int rc = py_open(pid, &mem, &rt, &e);
	if (rc) {
		if (child)
			spawn_terminate(child, TERMINATE_GRACE_MS);
		profiling_die_runtime(rc, pid, &e);
	}

	profiling_check_native(o, &rt, pid, child);

	const struct out_format *fmt = out_format_find(o->format);
	unsigned flags = fmt ? fmt->flags : 0;
	/* gecko reports every thread's full status: Tachyon samples it in its
	 * internal ALL mode */
	int mode = flags & FORMAT_ALL_STATUS ? MODE_ALL : o->mode;
	struct profile prof;
	profile_init(&prof);
	prof.skip_idle = mode != MODE_WALL && mode != MODE_ALL;
	if ((flags & FORMAT_DETAIL) || (o->live && o->opcodes))
		profile_keep_detail(&prof);
	struct py_walker w;
	struct py_walk_config wc = {
		.all_threads = o->all_threads,
		.mode = mode,
		/* formats that record or summarise thread status */
		.want_status = o->live || (flags & FORMAT_STATUS),
		.gc = !o->no_gc,
		/* --native-stacks cuts the Python chain at its entry frames */
		.native = o->native || o->native_stacks,
		.entry_marks = o->native_stacks,
		.opcodes = o->opcodes,
	};
	py_walker_init(&w, &rt, &mem, &prof.strings, &wc);
	/* --async-aware: stacks rebuilt from asyncio tasks */
	struct py_asyncio *async =
		o->async_aware ? profiling_async_prepare(o, &w, &prof.strings, child) : NULL;

	/* --engine: the BPF engine takes samples in every mode, gecko's
	 * internal all mode included (every status bit is in its records;
	 * time off CPU is credited with the status the thread left with) */
	bool use_bpf = false;
	if (o->engine == ENGINE_BPF) {
		use_bpf = true;
	} else if (o->engine == ENGINE_AUTO) {
		const char *why = o->blocking ? "blocking"
				  : o->native ? "native"
				  : o->native_stacks ? "native-stacks"
				  : async ? "async-aware"
				  : o->live ? "live" : NULL;
		if (why)
			fprintf(stderr, "strobe: --engine auto: the bpf engine does not support --%s "
				"yet; sampling with the reader.\n", why);
		use_bpf = !why;
	}

	/* source files are read as the process would read them: its root,
	 * working directory and credentials are captured now, as it may be
	 * gone when the output is written (none captured: no source shown) */
	struct rootfs rootfs;
	bool have_rootfs = rootfs_open(&rootfs, &mem) == 0;
	struct profiling_target co = {
		.rootfs = have_rootfs ? &rootfs : NULL,
		.py_major = rt.major,
		.py_minor = rt.minor,
		.py_micro = rt.micro >= 0 ? rt.micro : 0,
		.mode = mode,
	};

	/* every sample goes to the output as it comes; --live (pstats only)
	 * shows the profile itself and writes no output */
	struct sampler_sink sink = { profile_sink_add, &prof };
	struct profiling_output out; /* outlives the block below: the sampler uses it */
	if (!o->live) {
		profiling_output_open(&out, o, pid, &co, &prof, child);
		sink = (struct sampler_sink){ profiling_output_add, &out };
	}

	struct sampler_config sc = {
		.interval_ns = o->interval_usec * 1000,
		.duration_ns = o->duration_sec >= 0 ? (int64_t)(o->duration_sec * 1e9) : -1,
		.realtime_stats = o->realtime_stats,
		.stats_fp = stdout,
		/* a Python child of the command (run -- sh -c ...): its own
		 * exit ends sampling, seen through its pidfd */
		.target_exited = child && child->pid == pid ? child_exited : NULL,
		.arg = child,
		.take = async ? profiling_async_take : NULL,
		.take_ctx = async,
	};
	/* --blocking, --native-stacks: try one pause now, so that a ptrace
	 * refusal is a clear error before sampling rather than a 100% error
	 * rate */
	struct pausing pausing = { .n = 0 };
	struct ptrace_pause *pp = &pausing.pp;
	ptrace_pause_init(pp);
	struct py_native native;
	bool have_native = false;
	if (o->blocking || o->native_stacks) {
		rc = ptrace_pause_all(pp, pid);
		if (rc == 0)
			ptrace_resume_all(pp);
		if (rc == 0 && o->native_stacks) {
			/* no root captured: rootfs_open's error (it failed
			 * only for a process gone or unreadable) */
			rc = have_rootfs ? py_native_init(&native, &w, &prof.strings, pid, &rootfs,
							  o->native_plumbing)
					 : ERR_PERM;
			have_native = rc == 0;
			if (rc && rc != ERR_NOPROC) {
				if (child)
					spawn_terminate(child, TERMINATE_GRACE_MS);
				if (!o->live)
					profiling_output_abort(&out);
				profiling_die_native(rc, pid);
			}
		} else if (rc && rc != ERR_NOPROC) {
			if (child)
				spawn_terminate(child, TERMINATE_GRACE_MS);
			/* no output for a run that never started */
			if (!o->live)
				profiling_output_abort(&out);
			profiling_die_pause(rc, pid, pp, o->blocking ? "--blocking" : "--native-stacks");
		}
		pp->pid = pid;
		sc.pause = pause_target;
		sc.resume = resume_target;
		sc.pause_ctx = &pausing;
		if (have_native) {
			sc.take = native_take;
			sc.take_ctx = &native;
			sc.finish = native_finish;
			sc.finish_ctx = &native;
		}
	}
	/* a target that execs goes on in the same profile (exec.c) */
	struct profiling_exec *ex = profiling_exec_watch(pid, &w, &rt, &mem, &prof.strings, !async);
	sc.failed = profiling_exec_failed;
	sc.failed_ctx = ex;
	/* --subprocesses: attach watches the children from here on; run
	 * (child != NULL) started watching when it launched the command */
	struct profiling_children *children =
		o->subprocesses && !child ? profiling_children_start(o, pid) : NULL;
	/* --live: the view reads prof while the sampler fills it */
	struct profiling_live *live = o->live ? profiling_live_open(o, &prof, pid, &rt, &sc, child) : NULL;
	int status = 0;
	struct sampler_result res;
	bool bpf_stopped = false;
	if (use_bpf) {
		struct errmsg be = { "" };
		/* its samples are of one thread each, on that thread's clock */
		if (!o->live)
			out.req.thread_clocks = true;
		rc = sampler_run_bpf(&w, &sink, &sc, &res, &be);
		if (rc == ERR_NOPROC) {
			res.target_gone = true;
		} else if (rc && o->engine == ENGINE_AUTO && res.ticks == 0) {
			fprintf(stderr, "strobe: --engine auto: the bpf engine cannot be used (%s); "
				"sampling with the reader.\n", be.text[0] ? be.text : err_str(rc));
			if (!o->live)
				out.req.thread_clocks = false;
			sampler_run(&w, &sink, &sc, &res);
		} else if (rc && res.ticks > 0) {
			/* stopped in the middle: what was collected is written,
			 * and strobe exits non-zero */
			fprintf(stderr, "strobe: sampling process %d stopped (--engine bpf): %s\n",
				(int)pid, be.text[0] ? be.text : err_str(rc));
			bpf_stopped = true;
		} else if (rc) {
			if (child)
				spawn_terminate(child, TERMINATE_GRACE_MS);
			if (!o->live)
				profiling_output_abort(&out);
			die("strobe cannot sample process %d with --engine bpf: %s", (int)pid,
			    be.text[0] ? be.text : err_str(rc));
		}
	} else {
		sampler_run(&w, &sink, &sc, &res);
	}
	ptrace_pause_release(pp);
	/* a target that dropped its privileges while it ran (a server that
	 * starts as root) is read as what it became */
	if (have_rootfs)
		rootfs_refresh(&rootfs, &mem);
	if (live) {
		status = profiling_live_close(live, &res, pid, child);
		goto release;
	}
	if (res.interrupted && sampler_stop == 1)
		printf("Interrupted by user.\n");
	if (res.sink_error == ERR_LIMIT)
		fprintf(stderr, "Warning: the binary format's limit of 2^32 strings, frames or threads "
			"was reached; stopping early and keeping the data collected so far.\n");

	prof.stats.interval_us = o->interval_usec;
	prof.stats.ticks = res.ticks;
	prof.stats.failed = res.failed;
	prof.stats.duration_s = res.duration_s;
	prof.stats.mode = mode;

	/* the command itself ends with the Python it became; a command that
	 * ran Python as a child goes on (cmd/run.c waits for it) unless sampling
	 * was stopped */
	if (child && (child->pid == pid || !res.target_gone || res.interrupted)) {
		/* strobe ends it (the duration, Ctrl-C): how the program
		 * then ends is not its own status (cmd/run.c) */
		if (!res.target_gone || res.interrupted)
			child->terminated = true;
		if (child->pid != pid)
			end_descendant(&mem);
		spawn_terminate(child, TERMINATE_GRACE_MS);
	}
	struct run_figures fig = run_figures_of(&res, o->interval_usec);
	print_summary(&res, &fig);
	if (o->realtime_stats) {
		print_unwinder_stats(&w, &mem, &res);
		if (use_bpf)
			print_bpf_stats(&res);
		print_pause_stats(&pausing);
		if (have_native)
			print_native_stats(&native);
	}
	char missed[256] = "";
	/* the bpf engine samples each thread as it runs: time off CPU is no
	 * sample missed (records the ring buffer refused are failed samples) */
	if (!use_bpf)
		missed_line(&res, &fig, missed, sizeof(missed));
	status = profiling_output_close(&out, &prof, missed);
	if (bpf_stopped && status == 0)
		status = 1;
release:
	if (have_native)
		py_native_release(&native);
	free(pausing.held_ns);
	rootfs_release(&rootfs);

	profiling_exec_release(ex);
	profiling_async_release(async);
	py_walker_release(&w);
	profile_release(&prof);
	mem_close(&mem);
	profiling_children_finish(children);
	return status;
}
