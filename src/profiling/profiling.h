/* profiling.h - what the subcommands (src/cmd/) share, layer 4: sampling a
 * process (run, attach), the output session (run, attach, replay and the
 * profilers --subprocesses starts), the children (--subprocesses),
 * following an exec, the live view and asyncio preparation, and the
 * one-line errors of opening a target.  With cmd/ the only place that
 * prints user errors and exits. */
#ifndef STROBE_PROFILING_H
#define STROBE_PROFILING_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/buf.h"
#include "base/error.h"
#include "format/out.h"

struct options;
struct profile;
struct spawn;
struct mem_source;
struct py_runtime;
struct ptrace_pause;
struct py_walker;
struct py_asyncio;
struct sample;
struct strtab;
struct rootfs;
struct sampler_config;
struct sampler_result;

/* ---- sampling a process (session.c) -------------------------------------- */

/* Shared by run and attach: find the runtime of pid, sample it as the
 * options say, print the summary and write the output.  child is the
 * launched command for `run`, or NULL; pid is that command, or a Python
 * descendant of it.  The command is terminated when sampling ends, except
 * when pid is a descendant that exited by itself: then the command is left
 * to finish.  Returns the exit status. */
int profiling_session(const struct options *o, pid_t pid, struct spawn *child);

/* Install the stop-flag handlers for SIGINT, SIGTERM and SIGHUP. */
void profiling_install_signals(void);
/* The one-line error for a py_open failure (py/open.h); exits 1. */
_Noreturn void profiling_die_runtime(int rc, pid_t pid, const struct errmsg *e);
/* The one-line error for a ptrace_pause_all failure (--blocking); exits 1. */
_Noreturn void profiling_die_pause(int rc, pid_t pid, const struct ptrace_pause *pp,
				   const char *opt);
/* The one-line error for a --native-stacks set-up failure (py_native_init);
 * exits 1. */
_Noreturn void profiling_die_native(int rc, pid_t pid);
/* --native needs 3.11+: else the usage-style error (exit 2), after
 * terminating child if given. */
void profiling_check_native(const struct options *o, const struct py_runtime *rt, pid_t pid,
			    struct spawn *child);
/* Tachyon's warning (stderr) for --blocking with an interval under 100 us. */
void profiling_warn_blocking(const struct options *o);

/* ---- the output session (output.c) --------------------------------------- */

/* Whether stdout gets colour, by _colorize's rules (PYTHON_COLORS,
 * NO_COLOR, FORCE_COLOR, TERM=dumb, then whether it is a terminal). */
bool profiling_want_color(void);

/* --diff-flamegraph: Tachyon's "Error: Baseline file not found: X" (exit 1)
 * before anything is sampled or replayed; and -o naming a file the run
 * reads (the baseline, replay's recording): "Error: cannot write X: it is
 * an input of this run (Y)", exit 1. */
void profiling_check_baseline(const struct options *o);

/* What the outputs may want to know of the profiled process. */
struct profiling_target {
	const struct rootfs *rootfs; /* its files (process/rootfs.h), captured while it
				      * ran; NULL: no source is shown */
	int py_major, py_minor, py_micro; /* its Python, to name opcodes and for the
					   * binary header; 0 if unknown */
	int mode;             /* the sampling mode the samples were taken in (-1 unknown) */
	bool replay;          /* replay: capture features from the file, not the options */
	int features;         /* replay: the file's BINARY_FEATURE_* bits, -1 unknown */
};

/* The request the options make for any writer, without an output path:
 * colours, pstats' options, sources read through t->rootfs, opcode names
 * of t's Python, the capture features; pid names the process.  t is kept
 * (req->opcode_ctx) and must outlive req. */
void profiling_output_request(const struct options *o, const struct profiling_target *t, pid_t pid,
			      struct out_request *req);

/* One output: the format the options chose, from open to the "written"
 * line.  It holds pointers into itself: it stays where it is while open. */
struct profiling_output {
	const struct options *o;
	const struct out_format *fmt;
	struct out_request req;
	struct out_stream *st;      /* NULL once closed or aborted */
	const struct strtab *strings;
	struct errmsg why;          /* req.err */
	struct buf note;            /* req.note */
	char path[4096];            /* req.path: -o, or the name made up */
};

/* Open the output of the format the options chose, default file names
 * using pid, fed from prof (its strings; the whole-profile formats fill
 * it).  On failure: one "Error:" line and exit 1, after terminating child
 * when given. */
void profiling_output_open(struct profiling_output *out, const struct options *o, pid_t pid,
			   const struct profiling_target *t, struct profile *prof,
			   struct spawn *child);
/* One sample (a sampler_sink's and a binary_sample_fn's shape; ctx is the
 * struct profiling_output).  0 or the format's error. */
int profiling_output_add(void *ctx, const struct sample *s);
/* Close the output with the finished profile: write it, and print the
 * summary's last line tail (stdout, NULL for none) where it belongs
 * (after what a FORMAT_SUMMARY format prints, before anything else),
 * then the error in one line (the writer's own words when it gave some),
 * or the format's "written" line and, with --browser, open the page.
 * Returns the exit status. */
int profiling_output_close(struct profiling_output *out, const struct profile *prof,
			   const char *tail);
/* Give up an open output (the run failed before close): no file is made. */
void profiling_output_abort(struct profiling_output *out);

/* ---- --subprocesses (children.c) ----------------------------------------- */

/* A thread watches the descendants of pid and starts `strobe attach CHILD
 * <the options that apply> -o <pattern>` (stdio on /dev/null) for every
 * Python process among them, as Tachyon does, with
 * PROFILING_MADE_UP_OUTPUT_ENV=<that -o> in its environment.  Returns NULL
 * (after a warning) if the thread cannot start. */
/* In a profiler's environment, equal to its -o: that name was made up by
 * the parent strobe (out_<pid>.txt from -o out.txt), so it is treated as a
 * default name, not as the user's (a directory or a link there is
 * refused).  Set by a user, it only makes strobe stricter. */
#define PROFILING_MADE_UP_OUTPUT_ENV "STROBE_MADE_UP_OUTPUT"
struct profiling_children;
struct profiling_children *profiling_children_start(const struct options *o, pid_t pid);
/* How many child profilers were started so far (0 for NULL). */
unsigned profiling_children_started(struct profiling_children *m);
/* Stop watching; wait up to 30 s for the running child profilers
 * ("Waiting for N child profiler(s) to complete..."), end the rest with
 * SIGTERM then SIGKILL, and free m.  NULL does nothing. */
void profiling_children_finish(struct profiling_children *m);
/* The command line --subprocesses runs (as /proc/self/exe) for child pid:
 * NULL-terminated; free it with profiling_children_argv_free. */
char **profiling_children_argv(const struct options *o, pid_t child);
void profiling_children_argv_free(char **argv);

/* ---- following an exec (exec.c) ------------------------------------------ */

/* Watch pid's program image; profiling_exec_failed is a
 * sampler_config.failed hook that, once samples fail because pid exec'd,
 * finds the new runtime and rebuilds w (on rt and mem, in place) - same
 * Python version only, and only when can_follow (--async-aware cannot).
 * Non-zero (after one line on stderr) to stop sampling.  w, rt, mem and
 * strings must outlive the watch. */
struct profiling_exec;
struct profiling_exec *profiling_exec_watch(pid_t pid, struct py_walker *w, struct py_runtime *rt,
					    struct mem_source *mem, struct strtab *strings,
					    bool can_follow);
int profiling_exec_failed(void *ctx);
void profiling_exec_release(struct profiling_exec *x);

/* ---- --async-aware (async.c) --------------------------------------------- */

/* An asyncio walker for w's process, its .AsyncioDebug found (`run`,
 * child != NULL, waits a while for the target to import asyncio).  Exits
 * with one line when the version cannot do it or asyncio is not loaded
 * (status 2) or on other errors (1), terminating child first.
 * profiling_async_take is a sampler_config.take for it. */
struct py_asyncio *profiling_async_prepare(const struct options *o, struct py_walker *w,
					   struct strtab *strings, struct spawn *child);
int profiling_async_take(void *ctx, struct sample *s);
void profiling_async_release(struct py_asyncio *a);

/* ---- --live (live.c) ----------------------------------------------------- */

/* Open the live view of prof on the terminal and hook it into sc (exits
 * with a message, after terminating child, when there is no terminal).
 * After sampling, profiling_live_close shows the finished screen until 'q'
 * (or prints Tachyon's message when fewer than 200 samples were taken),
 * restores the terminal, terminates child and returns the exit status;
 * nothing else is printed in live mode. */
struct profiling_live;
struct profiling_live *profiling_live_open(const struct options *o, const struct profile *prof,
					   pid_t pid, const struct py_runtime *rt,
					   struct sampler_config *sc, struct spawn *child);
int profiling_live_close(struct profiling_live *lv, const struct sampler_result *res, pid_t pid,
			 struct spawn *child);

#endif
