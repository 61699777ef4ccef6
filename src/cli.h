/* cli.h - argv -> struct options, with Tachyon's flags, defaults, grammar and
 * messages (python -m profiling.sampling), under the program name "strobe".
 *
 * cli_parse never prints and never exits: it returns what to do and the
 * text to show, and the command layer prints it.
 */
#ifndef STROBE_CLI_H
#define STROBE_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/buf.h"

enum cli_command {
	CMD_NONE = 0,
	CMD_RUN,
	CMD_ATTACH,
	CMD_REPLAY,
	CMD_DUMP,
};

enum cli_compression {
	COMPRESSION_AUTO = 0,     /* zstd (strobe is always built with it) */
	COMPRESSION_ZSTD,
	COMPRESSION_NONE,
};

enum cli_mode {
	MODE_WALL = 0,
	MODE_CPU = 1,
	MODE_GIL = 2,
	MODE_ALL = 3,
	MODE_EXCEPTION = 4,
};

/* --engine */
enum cli_engine {
	ENGINE_READER = 0,        /* sampler.c: strobe reads the target at each tick */
	ENGINE_BPF = 1,           /* sampler_bpf.c: the BPF program samples in the kernel */
	ENGINE_AUTO = 2,          /* bpf when it applies and loads, else the reader */
};

struct options {
	enum cli_command command;

	/* sampling */
	uint64_t interval_usec;   /* from -r/--sampling-rate; default 1khz -> 1000;
				     at most CLI_MAX_INTERVAL_USEC */
	double duration_sec;      /* -d/--duration, fractions allowed; -1 = until the target exits.
				     0 = take no samples: Tachyon's loop never runs
				     for d <= 0, so negative values are stored as 0 */
	bool all_threads;         /* -a/--all-threads */
	bool realtime_stats;      /* --realtime-stats */
	int mode;                 /* --mode: enum cli_mode, MODE_WALL by default */
	bool native;              /* --native: <native> frames */
	bool native_stacks;       /* --native-stacks: real native frames, merged */
	bool native_plumbing;     /* --native-plumbing: ... the interpreter's own too */
	bool no_gc;               /* --no-gc: no <GC> frames */
	bool opcodes;             /* --opcodes */
	bool locals;              /* dump --locals: each frame's local variables */
	bool async_aware;         /* --async-aware */
	int async_mode;           /* --async-mode: 0 running (run/attach default), 1 all */
	bool async_mode_given;
	bool subprocesses;        /* --subprocesses */
	bool blocking;            /* --blocking */
	int engine;               /* --engine: enum cli_engine, ENGINE_READER by default */

	/* output */
	const char *format;       /* out_format name: "pstats" (default), "collapsed", "binary" */
	int compression;          /* enum cli_compression, for --binary */
	const char *baseline;     /* --diff-flamegraph BASELINE */
	bool browser;             /* --browser */
	bool live;                /* --live */
	bool live_available;      /* strobe was built with the live view */
	const char *output;       /* -o/--output, or NULL (also for "-o ''",
				     which Tachyon treats as no -o) */
	int sort;                 /* enum out_sort; default SORT_NSAMPLES */
	int limit;                /* -l/--limit; default 15.  As given, clamped to
				     int: Tachyon slices stats[:limit], so 0 shows
				     no rows and -N drops the last N */
	bool sort_given, limit_given; /* for "only valid with --pstats" checks */
	bool no_summary;          /* --no-summary */

	/* attach: any int argparse accepts, including 0 and negatives, which
	 * Tachyon reports as "Process with PID 'N' does not exist." */
	pid_t pid;

	/* replay: the binary file to read */
	const char *input;

	/* run: python [-m] target args...  or  -- command args... */
	bool module;              /* -m/--module */
	const char *python;       /* --python PATH; NULL = python3 from PATH */
	bool command_mode;        /* "--" given: argv is a whole command */
	char **argv;              /* target (script, module or command) then its args,
				     verbatim (options included), except that one
				     "--" right after a script/module is dropped as
				     Tachyon does; points into the caller's argv */
	int argc;
};

enum cli_result {
	CLI_OK = 0,     /* options filled in */
	CLI_HELP = 1,   /* text holds help for stdout; exit 0 */
	CLI_USAGE = 2,  /* text holds usage + error for stderr; exit 2 */
	CLI_VERSION = 3,/* text holds "strobe VERSION\n" for stdout; the command
			   layer adds what the build includes; exit 0 */
};

/* Longest interval cli_parse_rate returns (~31 years): a slower rate
 * means "never sample", and sums in nanoseconds stay within int64. */
#define CLI_MAX_INTERVAL_USEC UINT64_C(1000000000000000)
/* Longest -d kept (about 31 years): its nanoseconds fit a 64-bit count. */
#define CLI_MAX_DURATION_SEC 1e9

/* Parse argv (argv[0] is the program).  text is reset and receives the help
 * text, "strobe <version>\n" for --version, or the usage + error text.
 * May move pointers within argv (never the strings): see options.argv. */
enum cli_result cli_parse(int argc, char **argv, struct options *o, struct buf *text);

/* The option that selects o's format on a command line strobe builds
 * (the profilers --subprocesses starts): NULL for the default format
 * (pstats), which needs none; else its option ("--collapsed",
 * "--diff-flamegraph"), *arg being its value (the baseline) or NULL.  The
 * strings are static or o's. */
const char *cli_format_option(const struct options *o, const char **arg);

/* Parse a sampling rate ("10khz", "250", "1.5k") into an interval in
 * microseconds.  Returns 0, or -1 with a Tachyon-worded message in err. */
int cli_parse_rate(const char *text, uint64_t *interval_usec, struct buf *err);

/* Append the command line's grammar to b, for the generators of the man
 * page and the shell completions (tools/cli_spec.c, tools/gen_cli_docs.py):
 * a first line "strobe-cli 1", then one record a line, fields separated by
 * tabs, "-" for an empty field:
 *   version     VERSION
 *   command     NAME  SUMMARY
 *   positional  COMMAND  NAME  HELP
 *   option      COMMAND|-  -S|-  --LONG  METAVAR|-  CHOICE,CHOICE|-  SECTION  DEFAULT|-  HELP
 * ("-" as the option's command is the top level).  Options are listed per
 * command, as that command's help lists them (this build's formats only). */
void cli_describe(struct buf *b);

#endif
