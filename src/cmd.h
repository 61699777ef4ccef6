/* cmd.h - the subcommands.  Only this layer prints user errors and exits. */
#ifndef STROBE_CMD_H
#define STROBE_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/buf.h"
#include "base/error.h"
#include "out/out.h"

struct options;
struct profile;
struct spawn;

int cmd_run(const struct options *o);
int cmd_attach(const struct options *o);

/* Shared by run and attach: find the runtime of pid, sample it as the
 * options say, print the summary and write the output.  child is the
 * launched command for `run`, or NULL; pid is that command, or a Python
 * descendant of it.  The command is terminated when sampling ends, except
 * when pid is a descendant that exited by itself: then the command is left
 * to finish.  Returns the exit status. */
int cmd_profile(const struct options *o, pid_t pid, struct spawn *child);

/* strobe dump PID: one stack dump in Tachyon's text form. */
int cmd_dump(const struct options *o);

/* Helpers of cmd_profile.c that dump shares. */
struct errmsg;
struct mem_source;
struct py_runtime;
struct ptrace_pause;
/* Open pid's memory and find its CPython runtime, probing that the
 * runtime can be read.  0 (mem left open), or the ERR_* of mem_open or
 * py_runtime_find (mem closed; e may explain). */
int cmd_open_python(pid_t pid, struct mem_source *mem, struct py_runtime *rt, struct errmsg *e);
/* Whether a failure to find a process's runtime holds for as long as it
 * runs the same program (an unsupported version, no permission), rather
 * than maybe passing: right after an exec the dynamic loader maps the
 * interpreter piece by piece, and a look then meets missing or half-mapped
 * sections. */
bool cmd_runtime_error_final(int rc);
/* The one-line error for a cmd_open_python failure; exits 1. */
_Noreturn void cmd_die_runtime(int rc, pid_t pid, const struct errmsg *e);
/* The one-line error for a ptrace_pause_all failure (--blocking); exits 1. */
_Noreturn void cmd_die_pause(int rc, pid_t pid, const struct ptrace_pause *pp);
/* --native needs 3.11+: else the usage-style error (exit 2), after
 * terminating child if given. */
void cmd_check_native(const struct options *o, const struct py_runtime *rt, pid_t pid,
		      struct spawn *child);
/* Tachyon's warning (stderr) for --blocking with an interval under 100 us. */
void cmd_warn_blocking(const struct options *o);
/* Whether stdout gets colour, by _colorize's rules (PYTHON_COLORS,
 * NO_COLOR, FORCE_COLOR, TERM=dumb, then whether it is a terminal). */
bool cmd_want_color(void);

int cmd_replay(const struct options *o);

/* --subprocesses (cmd_children.c): a thread watches the descendants of pid
 * and starts `strobe attach CHILD <the options that apply> -o <pattern>`
 * (stdio on /dev/null) for every Python process among them, as Tachyon
 * does, with CMD_MADE_UP_OUTPUT_ENV=<that -o> in its environment.  Returns
 * NULL (after a warning) if the thread cannot start. */
/* In a profiler's environment, equal to its -o: that name was made up by
 * the parent strobe (out_<pid>.txt from -o out.txt), so it is treated as a
 * default name, not as the user's (a directory or a link there is
 * refused).  Set by a user, it only makes strobe stricter. */
#define CMD_MADE_UP_OUTPUT_ENV "STROBE_MADE_UP_OUTPUT"
struct child_monitor;
struct child_monitor *cmd_children_start(const struct options *o, pid_t pid);
/* How many child profilers were started so far (0 for NULL). */
unsigned cmd_children_started(struct child_monitor *m);
/* Stop watching; wait up to 30 s for the running child profilers
 * ("Waiting for N child profiler(s) to complete..."), end the rest with
 * SIGTERM then SIGKILL, and free m.  NULL does nothing. */
void cmd_children_finish(struct child_monitor *m);
/* The command line --subprocesses runs (as /proc/self/exe) for child pid:
 * NULL-terminated; free it with cmd_children_argv_free. */
char **cmd_children_argv(const struct options *o, pid_t child);
void cmd_children_argv_free(char **argv);

/* Following the profiled process through exec (cmd_exec.c): watch pid's
 * program image; cmd_exec_failed is a sampler_config.failed hook that, once
 * samples fail because pid exec'd, finds the new runtime and rebuilds w (on
 * rt and mem, in place) - same Python version only, and only when
 * can_follow (--async-aware cannot).  Non-zero (after one line on stderr)
 * to stop sampling.  w, rt, mem and strings must outlive the watch. */
struct cmd_exec;
struct py_walker;
struct strtab;
struct cmd_exec *cmd_exec_watch(pid_t pid, struct py_walker *w, struct py_runtime *rt,
				struct mem_source *mem, struct strtab *strings, bool can_follow);
int cmd_exec_failed(void *ctx);
void cmd_exec_release(struct cmd_exec *x);

/* What the outputs may want to know of the profiled process. */
struct rootfs;
struct cmd_output {
	const struct rootfs *rootfs; /* its files (target/rootfs.h), captured while it
				      * ran; NULL: no source is shown */
	int py_major, py_minor, py_micro; /* its Python, to name opcodes and for the
					   * binary header; 0 if unknown */
	int mode;             /* the sampling mode the samples were taken in (-1 unknown) */
	bool replay;          /* replay: capture features from the file, not the options */
	int features;         /* replay: the file's BINARY_FEATURE_* bits, -1 unknown */
};

/* --diff-flamegraph: Tachyon's "Error: Baseline file not found: X" (exit 1)
 * before anything is sampled or replayed; and -o naming a file the run
 * reads (the baseline, replay's recording): "Error: cannot write X: it is
 * an input of this run (Y)", exit 1. */
void cmd_check_baseline(const struct options *o);

/* The request the options make for any writer, without an output path:
 * colours, pstats' options, sources read through co->rootfs, opcode names
 * of co's Python, the capture features; pid names the process.  co is
 * kept (req->opcode_ctx) and must outlive req. */
void cmd_output_request(const struct options *o, const struct cmd_output *co, pid_t pid,
			struct out_request *req);

/* One output: the format the options chose, from open to the "written"
 * line.  It holds pointers into itself: it stays where it is while open. */
struct cmd_out {
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
void cmd_output_open(struct cmd_out *out, const struct options *o, pid_t pid,
		     const struct cmd_output *co, struct profile *prof, struct spawn *child);
/* One sample (a sampler_sink's and a binary_sample_fn's shape; ctx is the
 * struct cmd_out).  0 or the format's error. */
int cmd_output_add(void *ctx, const struct sample *s);
/* Close the output with the finished profile: write it, and print the
 * summary's last line tail (stdout, NULL for none) where it belongs
 * (after what a FORMAT_SUMMARY format prints, before anything else),
 * then the error in one line (the writer's own words when it gave some),
 * or the format's "written" line and, with --browser, open the page.
 * Returns the exit status. */
int cmd_output_close(struct cmd_out *out, const struct profile *prof, const char *tail);
/* Give up an open output (the run failed before close): no file is made. */
void cmd_output_abort(struct cmd_out *out);

/* --async-aware (cmd_async.c): an asyncio walker for w's process, its
 * .AsyncioDebug found (`run`, child != NULL, waits a while for the target
 * to import asyncio).  Exits with one line when the version cannot do it
 * or asyncio is not loaded (status 2) or on other errors (1), terminating
 * child first.  cmd_async_take is a sampler_config.take for it. */
struct py_asyncio;
struct py_walker;
struct sample;
struct strtab;
struct py_asyncio *cmd_async_prepare(const struct options *o, struct py_walker *w,
				     struct strtab *strings, struct spawn *child);
int cmd_async_take(void *ctx, struct sample *s);
void cmd_async_release(struct py_asyncio *a);

/* Install the stop-flag handlers for SIGINT, SIGTERM and SIGHUP. */
void cmd_install_signals(void);

/* --live (cmd_live.c).  Open the live view of prof on the terminal and hook
 * it into sc (exits with a message, after terminating child, when there is
 * no terminal).  After sampling, cmd_live_close shows the finished screen
 * until 'q' (or prints Tachyon's message when fewer than 200 samples were
 * taken), restores the terminal, terminates child and returns the exit
 * status; nothing else is printed in live mode. */
struct cmd_live;
struct sampler_config;
struct sampler_result;
struct cmd_live *cmd_live_open(const struct options *o, const struct profile *prof, pid_t pid,
			       const struct py_runtime *rt, struct sampler_config *sc,
			       struct spawn *child);
int cmd_live_close(struct cmd_live *lv, const struct sampler_result *res, pid_t pid,
		   struct spawn *child);

#endif
