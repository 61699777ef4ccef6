/* cli.c - strobe's command line: Tachyon's options, parsed the way argparse
 * parses them, with argparse's messages and help layout.
 *
 * Only what users can observe is reproduced: which argument strings count as
 * options, how "-abc", "-rVALUE", "-r=VALUE" and "--opt=VALUE" split, the order
 * in which errors win, the error and help texts.  Abbreviated long options
 * ("--samp") are not accepted, so adding an option never changes what an
 * existing command line means.
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/pytext.h"
#include "format/out.h"

#ifndef STROBE_VERSION
#define STROBE_VERSION "0.1.0"
#endif

#define PROG "strobe"

/* argparse with COLUMNS unset and stdout not a tty: 80 columns, minus 2. */
#define TEXT_WIDTH 78
#define MAX_HELP_POSITION 24
/* Python's int() refuses decimal strings longer than this (sys.int_info). */
#define PY_MAX_STR_DIGITS 4300

/* ------------------------------------------------------------------ */
/* The options                                                          */

enum opt_id {
	OPT_HELP,
	OPT_VERSION,
	OPT_MODULE,
	OPT_LIVE,
	OPT_PYTHON,
	OPT_RATE,
	OPT_DURATION,
	OPT_ALL_THREADS,
	OPT_REALTIME_STATS,
	OPT_NATIVE,
	OPT_NATIVE_STACKS,
	OPT_NATIVE_PLUMBING,
	OPT_NO_GC,
	OPT_OPCODES,
	OPT_LOCALS,
	OPT_ASYNC_AWARE,
	OPT_SUBPROCESSES,
	OPT_BLOCKING,
	OPT_ENGINE,
	OPT_MODE,
	OPT_ASYNC_MODE,
	OPT_FORMAT,            /* --pstats, --collapsed ...: selects its format_name */
	OPT_DIFF_FLAMEGRAPH,
	OPT_BROWSER,
	OPT_COMPRESSION,
	OPT_OUTPUT,
	OPT_SORT,
	OPT_LIMIT,
	OPT_NO_SUMMARY,
};

enum section {
	SEC_OPTIONS,
	SEC_SAMPLING,
	SEC_DUMP,
	SEC_MODE,
	SEC_OUTPUT,
	SEC_PSTATS,
	SEC_COUNT,
};

static const char *const section_titles[SEC_COUNT] = {
	"options",
	"Sampling configuration",
	"Dump options",
	"Mode options",
	"Output options",
	"pstats format options",
};

#define ON_TOP (1u << CMD_NONE)
#define ON_RUN (1u << CMD_RUN)
#define ON_ATTACH (1u << CMD_ATTACH)
#define ON_REPLAY (1u << CMD_REPLAY)
#define ON_DUMP (1u << CMD_DUMP)
#define ON_PROFILE (ON_RUN | ON_ATTACH)
#define ON_OUTPUT (ON_RUN | ON_ATTACH | ON_REPLAY)
#define ON_ALL (ON_RUN | ON_ATTACH | ON_REPLAY | ON_DUMP)

/* The format without a format option (Tachyon's). */
#define DEFAULT_FORMAT "pstats"

/* In the order of enum cli_mode (exception is 4: "all" is internal). */
static const char *const mode_choices[] = { "wall", "cpu", "gil", "exception", NULL };

static const char *const async_mode_choices[] = { "running", "all", NULL };

/* In the order of enum cli_engine. */
static const char *const engine_choices[] = { "reader", "bpf", "auto", NULL };

/* In the order of enum cli_compression. */
static const char *const compression_choices[] = { "auto", "zstd", "none", NULL };

/* In the order of enum out_sort. */
static const char *const sort_choices[] = {
	"nsamples", "tottime", "cumtime", "sample-pct", "cumul-pct", "nsamples-cumul", "name", NULL,
};

struct opt_spec {
	enum opt_id id;
	char short_name;           /* 'r' for -r, or 0 */
	const char *long_name;     /* "--sampling-rate" */
	const char *metavar;       /* takes a value; NULL for flags */
	const char *const *choices;/* takes one of these; NULL if free */
	unsigned commands;         /* ON_* bits: which parsers offer it */
	enum section section;
	bool format;               /* in the --pstats | --collapsed | ... group */
	const char *help;
	/* ArgumentDefaultsHelpFormatter's "(default: ...)"; NULL = SUPPRESS */
	const char *default_text;
	/* a format option is offered only when strobe has that writer
	 * (out_formats[] in src/format/out.c) */
	const char *format_name;
};

/* Parser order: usage and help list options in this order. */
static const struct opt_spec opt_specs[] = {
	{ OPT_HELP, 'h', "--help", NULL, NULL, ON_TOP | ON_ALL, SEC_OPTIONS, false,
	  "show this help message and exit", NULL, NULL },
	{ OPT_VERSION, 0, "--version", NULL, NULL, ON_TOP, SEC_OPTIONS, false,
	  "show program's version number and exit", NULL, NULL },
	{ OPT_MODULE, 'm', "--module", NULL, NULL, ON_RUN, SEC_OPTIONS, false,
	  "Run target as a module (like `python -m`)", "False", NULL },
	{ OPT_LIVE, 0, "--live", NULL, NULL, ON_PROFILE, SEC_OPTIONS, false,
	  "Interactive TUI profiler (top-like interface, press 'q' to quit, 's' to cycle sort)",
	  "False", NULL },
	{ OPT_PYTHON, 0, "--python", "PATH", NULL, ON_RUN, SEC_OPTIONS, false,
	  "Python interpreter that runs the script or module, looked up in PATH "
	  "unless it contains a slash", "python3", NULL },
	{ OPT_RATE, 'r', "--sampling-rate", "RATE", NULL, ON_PROFILE, SEC_SAMPLING, false,
	  "sampling rate (e.g., 10000, 10khz, 10k)", "1khz", NULL },
	{ OPT_DURATION, 'd', "--duration", "SECONDS", NULL, ON_PROFILE, SEC_SAMPLING, false,
	  "Sampling duration (default: run to completion)", "None", NULL },
	{ OPT_ALL_THREADS, 'a', "--all-threads", NULL, NULL, ON_PROFILE, SEC_SAMPLING, false,
	  "Sample all threads in the process instead of just the main thread", "False", NULL },
	{ OPT_REALTIME_STATS, 0, "--realtime-stats", NULL, NULL, ON_PROFILE, SEC_SAMPLING, false,
	  "Print real-time sampling statistics (Hz, mean, min, max) during profiling", "False", NULL },
	{ OPT_ALL_THREADS, 'a', "--all-threads", NULL, NULL, ON_DUMP, SEC_DUMP, false,
	  "Dump all threads in the process instead of just the main thread", "False", NULL },
	{ OPT_NATIVE, 0, "--native", NULL, NULL, ON_PROFILE, SEC_SAMPLING, false,
	  "Include artificial `<native>` frames to denote calls to non-Python code", "False", NULL },
	{ OPT_NATIVE, 0, "--native", NULL, NULL, ON_DUMP, SEC_DUMP, false,
	  "Include artificial `<native>` frames to denote calls to non-Python code", "False", NULL },
	{ OPT_NATIVE_STACKS, 0, "--native-stacks", NULL, NULL, ON_PROFILE, SEC_SAMPLING, false, "Record each thread's real native stack (C, C++, Rust functions) with the "
	  "Python frames placed where the interpreter ran them. Stops the threads briefly for "
	  "each sample (ptrace), as --blocking does", "False", NULL },
	{ OPT_NATIVE_PLUMBING, 0, "--native-plumbing", NULL, NULL, ON_PROFILE, SEC_SAMPLING, false, "With --native-stacks, also show the interpreter's own native "
	  "frames (its call machinery between Python frames, and the frames below the first "
	  "Python frame)", "False", NULL },
	{ OPT_NO_GC, 0, "--no-gc", NULL, NULL, ON_PROFILE, SEC_SAMPLING, false,
	  "Don't include artificial `<GC>` frames to denote active garbage collection", "True", NULL },
	{ OPT_NATIVE_STACKS, 0, "--native-stacks", NULL, NULL, ON_DUMP, SEC_DUMP, false,
	  "Show each thread's real native stack (C, C++, Rust functions) with the Python frames "
	  "placed where the interpreter ran them (stops the threads briefly, as --blocking does)",
	  "False", NULL },
	{ OPT_NATIVE_PLUMBING, 0, "--native-plumbing", NULL, NULL, ON_DUMP, SEC_DUMP, false,
	  "With --native-stacks, also show the interpreter's own native frames", "False", NULL },
	{ OPT_NO_GC, 0, "--no-gc", NULL, NULL, ON_DUMP, SEC_DUMP, false,
	  "Don't include artificial `<GC>` frames to denote active garbage collection", "True", NULL },
	{ OPT_OPCODES, 0, "--opcodes", NULL, NULL, ON_PROFILE, SEC_SAMPLING, false,
	  "Gather bytecode opcode information for instruction-level profiling (shows which "
	  "bytecode instructions are executing, including specializations).", "False", NULL },
	{ OPT_OPCODES, 0, "--opcodes", NULL, NULL, ON_DUMP, SEC_DUMP, false,
	  "Show bytecode opcode names when available.", "False", NULL },
	{ OPT_LOCALS, 0, "--locals", NULL, NULL, ON_DUMP, SEC_DUMP, false,
	  "Show each frame's local variables (short, bounded reprs)", "False", NULL },
	{ OPT_ASYNC_AWARE, 0, "--async-aware", NULL, NULL, ON_PROFILE, SEC_SAMPLING, false,
	  "Enable async-aware profiling (uses task-based stack reconstruction)", "False", NULL },
	{ OPT_ASYNC_AWARE, 0, "--async-aware", NULL, NULL, ON_DUMP, SEC_DUMP, false,
	  "Enable async-aware stack reconstruction", "False", NULL },
	{ OPT_ASYNC_MODE, 0, "--async-mode", NULL, async_mode_choices, ON_DUMP, SEC_DUMP, false,
	  "Async stack mode: \"running\" (only running task) or \"all\" (all tasks including "
	  "waiting, default for dump). Requires `--async-aware`", NULL, NULL },
	{ OPT_SUBPROCESSES, 0, "--subprocesses", NULL, NULL, ON_PROFILE, SEC_SAMPLING, false,
	  "Also profile subprocesses. Each subprocess gets its own profiler and output file.",
	  "False", NULL },
	{ OPT_BLOCKING, 0, "--blocking", NULL, NULL, ON_PROFILE, SEC_SAMPLING, false,
	  "Stop all threads in target process before sampling to get consistent snapshots. Uses "
	  "ptrace on Linux. Adds overhead but ensures memory reads are from a frozen state.",
	  "False", NULL },
	{ OPT_ENGINE, 0, "--engine", NULL, engine_choices, ON_PROFILE, SEC_SAMPLING, false,
	  "How samples are taken: reader (strobe reads the target's memory at each tick), bpf "
	  "(a BPF program samples each thread in the kernel as it runs; --mode cpu only, needs "
	  "CAP_BPF and CAP_PERFMON) or auto (bpf when it can be used, else the reader)",
	  "reader", NULL },
	{ OPT_BLOCKING, 0, "--blocking", NULL, NULL, ON_DUMP, SEC_DUMP, false,
	  "Stop all threads in target process before dumping the stack.", "False", NULL },
	{ OPT_MODE, 0, "--mode", NULL, mode_choices, ON_PROFILE, SEC_MODE, false,
	  "Sampling mode: wall (all samples), cpu (only samples when thread is on CPU), gil "
	  "(only samples when thread holds the GIL), exception (only samples when thread has an "
	  "active exception). Incompatible with `--async-aware`", "wall", NULL },
	{ OPT_ASYNC_MODE, 0, "--async-mode", NULL, async_mode_choices, ON_PROFILE, SEC_MODE, false,
	  "Async profiling mode: \"running\" (only running task) or \"all\" (all tasks "
	  "including waiting). Requires `--async-aware`", "running", NULL },
	{ OPT_FORMAT, 0, "--pstats", NULL, NULL, ON_OUTPUT, SEC_OUTPUT, true,
	  "Generate pstats output (default)", "pstats", "pstats" },
	{ OPT_FORMAT, 0, "--collapsed", NULL, NULL, ON_OUTPUT, SEC_OUTPUT, true,
	  "Generate collapsed stack traces for flamegraphs", "pstats", "collapsed" },
	{ OPT_FORMAT, 0, "--flamegraph", NULL, NULL, ON_OUTPUT, SEC_OUTPUT, true,
	  "Generate interactive HTML flamegraph visualization", "pstats", "flamegraph" },
	{ OPT_FORMAT, 0, "--gecko", NULL, NULL, ON_OUTPUT, SEC_OUTPUT, true,
	  "Generate Gecko format for Firefox Profiler", "pstats", "gecko" },
	{ OPT_FORMAT, 0, "--heatmap", NULL, NULL, ON_OUTPUT, SEC_OUTPUT, true,
	  "Generate interactive HTML heatmap visualization with line-level sample counts",
	  "pstats", "heatmap" },
	{ OPT_DIFF_FLAMEGRAPH, 0, "--diff-flamegraph", "BASELINE", NULL, ON_OUTPUT, SEC_OUTPUT, true,
	  "Generate differential flamegraph comparing current profile to `BASELINE` binary file",
	  "None", "diff_flamegraph" },
	{ OPT_FORMAT, 0, "--jsonl", NULL, NULL, ON_OUTPUT, SEC_OUTPUT, true,
	  "Generate newline-delimited JSON (JSONL) for programmatic consumers", "pstats", "jsonl" },
	{ OPT_FORMAT, 0, "--binary", NULL, NULL, ON_PROFILE, SEC_OUTPUT, true,
	  "Generate high-performance binary format (use `replay` command to convert)", "pstats",
	  "binary" },
	{ OPT_FORMAT, 0, "--speedscope", NULL, NULL, ON_OUTPUT, SEC_OUTPUT, true,
	  "Generate speedscope JSON (https://www.speedscope.app)", "pstats", "speedscope" },
	{ OPT_FORMAT, 0, "--pprof", NULL, NULL, ON_OUTPUT, SEC_OUTPUT, true,
	  "Generate gzipped pprof protobuf (go tool pprof)", "pstats", "pprof" },
	{ OPT_COMPRESSION, 0, "--compression", NULL, compression_choices, ON_PROFILE, SEC_OUTPUT,
	  false, "Compression for binary format: auto (use zstd if available), zstd, none",
	  "auto", NULL },
	{ OPT_OUTPUT, 'o', "--output", "OUTFILE", NULL, ON_OUTPUT, SEC_OUTPUT, false,
	  "Output path (default: `stdout` for `pstats` text; with `-o`, `pstats` is "
	  "binary). Auto-generated for other formats.", "None", NULL },
	{ OPT_BROWSER, 0, "--browser", NULL, NULL, ON_OUTPUT, SEC_OUTPUT, false,
	  "Automatically open HTML output (--flamegraph, --diff-flamegraph, --heatmap) in browser. "
	  "When using `--subprocesses`, only the main process opens the browser", "False", NULL },
	{ OPT_SORT, 0, "--sort", NULL, sort_choices, ON_OUTPUT, SEC_PSTATS, false,
	  "Sort order for pstats output (default: nsamples)", "None", NULL },
	{ OPT_LIMIT, 'l', "--limit", "LIMIT", NULL, ON_OUTPUT, SEC_PSTATS, false,
	  "Limit the number of rows in the output (default: 15)", "None", NULL },
	{ OPT_NO_SUMMARY, 0, "--no-summary", NULL, NULL, ON_OUTPUT, SEC_PSTATS, false,
	  "Disable the summary section in the pstats output", "False", NULL },
};
#define N_OPTS (sizeof(opt_specs) / sizeof(opt_specs[0]))

/* Whether the parser of command bit offers option s. */
static bool offered(const struct opt_spec *s, unsigned bit)
{
	if (!(s->commands & bit))
		return false;
	/* --browser only where an HTML format exists */
	if (s->id == OPT_BROWSER)
		return out_format_find("flamegraph") || out_format_find("heatmap");
	return !s->format_name || out_format_find(s->format_name);
}

static bool takes_value(const struct opt_spec *s)
{
	return s->metavar || s->choices;
}

/* ------------------------------------------------------------------ */
/* The commands                                                         */

struct command_spec {
	enum cli_command cmd;
	const char *name;
	const char *prog;
	const char *summary;
	const char *description;
};

static const struct command_spec commands[] = {
	{ CMD_RUN, "run", PROG " run", "Run and profile a script or module",
	  "Run and profile a Python script or module\n"
	  "\n"
	  "Examples:\n"
	  "  # Run and profile a module\n"
	  "  `" PROG " run -m mymodule arg1 arg2`\n"
	  "\n"
	  "  # Profile with custom rate and duration\n"
	  "  `" PROG " run -r 5khz -d 30 script.py`\n"
	  "\n"
	  "  # Save collapsed stacks to file\n"
	  "  `" PROG " run --collapsed -o stacks.txt script.py`\n"
	  "\n"
	  "  # Run the script with a particular interpreter\n"
	  "  `" PROG " run --python python3.12 script.py`\n"
	  "\n"
	  "  # Profile a whole command line that is or becomes a Python process\n"
	  "  `" PROG " run -a -- python3 -X dev script.py arg1`" },
	{ CMD_ATTACH, "attach", PROG " attach", "Attach to and profile a running process",
	  "Attach to a running process and profile it\n"
	  "\n"
	  "Examples:\n"
	  "  # Profile all threads, sort by total time\n"
	  "  `" PROG " attach -a --sort tottime 1234`\n"
	  "\n"
	  "  # Record a compact binary profile to convert later with `replay`\n"
	  "  `" PROG " attach --binary -o profile.bin 1234`" },
	{ CMD_DUMP, "dump", PROG " dump", "Dump a running process's current stack",
	  "Dump a running process's current Python stack\n"
	  "\n"
	  "Examples:\n"
	  "  # Dump the main thread stack\n"
	  "  `" PROG " dump 1234`\n"
	  "\n"
	  "  # Dump all thread stacks\n"
	  "  `" PROG " dump -a 1234`" },
	{ CMD_REPLAY, "replay", PROG " replay", "Replay a binary profile and convert to another format",
	  "Replay a binary profile file and convert to another format\n"
	  "\n"
	  "Examples:\n"
	  "  # Convert binary to pstats and print to stdout\n"
	  "  `" PROG " replay profile.bin`\n"
	  "\n"
	  "  # Convert binary to collapsed stacks\n"
	  "  `" PROG " replay --collapsed -o stacks.txt profile.bin`" },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Each command's positional arguments, as its help lists them. */
static const struct positional {
	enum cli_command cmd;
	const char *name;
	const char *help;
} positionals[] = {
	{ CMD_RUN, "target", "Script file or module name to profile" },
	{ CMD_RUN, "args", "Arguments to pass to the script or module" },
	{ CMD_RUN, "-- command ...",
	  "Instead of a script or module, run everything after `--` as a command line that is "
	  "or becomes a Python process (not with -m or --python)" },
	{ CMD_ATTACH, "pid", "Process ID to attach to" },
	{ CMD_REPLAY, "input_file", "Binary profile file to replay" },
	{ CMD_DUMP, "pid", "Process ID to dump" },
};
#define N_POSITIONALS (sizeof(positionals) / sizeof(positionals[0]))

static const char top_description[] =
	"Sample a process's stack frames and generate profiling data.\n"
	"\n"
	"Examples:\n"
	"  # Run and profile a script\n"
	"  `" PROG " run script.py arg1 arg2`\n"
	"\n"
	"  # Attach to a running process\n"
	"  `" PROG " attach 1234`\n"
	"\n"
	"Use `" PROG " <command> --help` for command-specific help.";

static const struct command_spec *command_spec(enum cli_command cmd)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (commands[i].cmd == cmd)
			return &commands[i];
	return NULL;
}

static const char *prog_of(enum cli_command cmd)
{
	const struct command_spec *c = command_spec(cmd);
	return c ? c->prog : PROG;
}

/* ------------------------------------------------------------------ */
/* Python's str() helpers, for identical messages                       */

/* str.strip() whitespace, ASCII part */
static bool py_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* int(s) as argparse's type=int does it: surrounding whitespace, a sign,
 * digits with single underscores between them.  Python ints are unbounded;
 * values beyond long long are clamped and *clamped set.  false if invalid. */
/* -d/--duration: Python's float() of a decimal number (surrounding
 * whitespace, a sign, digits with single underscores between them, a
 * fraction, an exponent), finite: strobe takes fractions of a second where
 * Tachyon takes whole seconds only. */
static bool py_seconds(const char *s, double *out)
{
	const char *e = s + strlen(s);
	while (s < e && py_space(*s))
		s++;
	while (e > s && py_space(e[-1]))
		e--;
	if (s == e || (size_t)(e - s) > 64)
		return false;
	char num[72];
	size_t n = 0;
	for (const char *p = s; p < e; p++) {
		if (*p == '_') {
			/* only between two digits */
			if (p == s || !is_digit(p[-1]) || p + 1 == e || !is_digit(p[1]))
				return false;
			continue;
		}
		if (!is_digit(*p) && !strchr("+-.eE", *p))
			return false;
		num[n++] = *p;
	}
	num[n] = '\0';
	char *end;
	errno = 0;
	double v = strtod(num, &end);
	if (end == num || *end || !isfinite(v))
		return false;
	*out = v;
	return true;
}

static bool py_int(const char *s, long long *out, bool *clamped)
{
	const char *e = s + strlen(s);
	while (s < e && py_space(*s))
		s++;
	while (e > s && py_space(e[-1]))
		e--;
	bool neg = false;
	if (s < e && (*s == '+' || *s == '-'))
		neg = *s++ == '-';
	if (s == e || !is_digit(*s) || !is_digit(e[-1]))
		return false;
	unsigned long long v = 0;
	size_t ndigits = 0;
	bool big = false;
	for (const char *p = s; p < e; p++) {
		if (*p == '_') {
			if (p[1] == '_')
				return false;
			continue;
		}
		if (!is_digit(*p))
			return false;
		ndigits++;
		unsigned d = (unsigned)(*p - '0');
		if (v > (ULLONG_MAX - d) / 10)
			big = true;
		else
			v = v * 10 + d;
	}
	if (ndigits > PY_MAX_STR_DIGITS)
		return false;
	*clamped = false;
	if (neg) {
		if (big || v > (unsigned long long)LLONG_MAX + 1) {
			*out = LLONG_MIN;
			*clamped = true;
		} else {
			*out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
		}
	} else if (big || v > (unsigned long long)LLONG_MAX) {
		*out = LLONG_MAX;
		*clamped = true;
	} else {
		*out = (long long)v;
	}
	return true;
}

static int clamp_int(long long v)
{
	return v > INT_MAX ? INT_MAX : v < INT_MIN ? INT_MIN : (int)v;
}

/* Characters difflib.SequenceMatcher(None, a, b) finds matching: the longest
 * common block (earliest in a, then in b), then recursively either side.
 * Its junk heuristics only start at 200 characters and do not apply here. */
static size_t seq_matches(const char *a, size_t alo, size_t ahi,
			  const char *b, size_t blo, size_t bhi)
{
	size_t bi = alo, bj = blo, bk = 0;
	for (size_t i = alo; i < ahi; i++) {
		for (size_t j = blo; j < bhi; j++) {
			size_t k = 0;
			while (i + k < ahi && j + k < bhi && a[i + k] == b[j + k])
				k++;
			if (k > bk) {
				bi = i;
				bj = j;
				bk = k;
			}
		}
	}
	if (bk == 0)
		return 0;
	size_t n = bk;
	if (alo < bi && blo < bj)
		n += seq_matches(a, alo, bi, b, blo, bj);
	if (bi + bk < ahi && bj + bk < bhi)
		n += seq_matches(a, bi + bk, ahi, b, bj + bk, bhi);
	return n;
}

/* difflib.get_close_matches(word, choices, n=1) (cutoff 0.6), as argparse
 * uses it for "maybe you meant"; NULL if nothing is close. */
static const char *closest_choice(const char *word, const char *const *choices)
{
	const char *best = NULL;
	double best_ratio = 0;
	size_t lw = strlen(word);
	if (lw > 256)
		return NULL; /* quadratic matcher; long words are never close */
	for (const char *const *c = choices; *c; c++) {
		size_t lc = strlen(*c);
		double r = 2.0 * (double)seq_matches(*c, 0, lc, word, 0, lw) / (double)(lc + lw);
		if (r < 0.6)
			continue;
		/* heapq.nlargest on (ratio, choice): ties go to the larger string */
		if (!best || r > best_ratio || (r == best_ratio && strcmp(*c, best) > 0)) {
			best = *c;
			best_ratio = r;
		}
	}
	return best;
}

/* Index of value in a NULL-terminated list of choices, or -1. */
static int choice_index(const char *const *choices, const char *value)
{
	for (int i = 0; choices[i]; i++)
		if (!strcmp(value, choices[i]))
			return i;
	return -1;
}

/* py-spy's habits, answered with strobe's equivalent. */
struct habit {
	const char *word, *hint;
};

static const struct habit habit_options[] = {
	{ "--gil", "py-spy's --gil is strobe's --mode gil" },
	{ "--idle", "strobe's default wall mode already samples idle threads; --mode cpu "
		    "leaves them out" },
	{ "--nonblocking", "strobe never stops the target unless --blocking is given" },
	{ "--pid", "strobe takes the PID as an argument: strobe attach PID" },
	{ "-p", "strobe takes the PID as an argument: strobe attach PID" },
	{ "--rate", "strobe's rate is -r/--sampling-rate: -r 100, -r 10khz" },
	{ "--format", "strobe picks the format with --flamegraph, --speedscope, --collapsed..." },
	{ "--threads", "-a/--all-threads samples every thread" },
	{ NULL, NULL },
};

static const struct habit habit_commands[] = {
	{ "record", "py-spy's record is strobe's run (a program) or attach (a PID), with a "
		    "format option such as --flamegraph" },
	{ "top", "py-spy's top is strobe's --live: strobe attach --live PID" },
	{ NULL, NULL },
};

/* The hint for a word (an option: up to its '='), or NULL. */
static const char *habit_hint(const struct habit *h, const char *word, size_t len)
{
	for (; h->word; h++)
		if (strlen(h->word) == len && !strncmp(h->word, word, len))
			return h->hint;
	return NULL;
}

/* ", which ..." hint of the first unrecognized word py-spy users type. */
static void habit_of_extras(struct buf *m, const char *extras)
{
	for (const char *w = extras; *w;) {
		size_t n = strcspn(w, " ");
		size_t name = strcspn(w, " =");
		const char *hint = habit_hint(habit_options, w, name < n ? name : n);
		if (hint) {
			buf_printf(m, " (%s)", hint);
			return;
		}
		w += n;
		while (*w == ' ')
			w++;
	}
}

static void invalid_choice(struct buf *b, const char *value, const char *const *choices)
{
	buf_puts(b, "invalid choice: ");
	pytext_repr(b, value, strlen(value));
	const char *close = closest_choice(value, choices);
	if (close) {
		buf_puts(b, ", maybe you meant ");
		pytext_repr(b, close, strlen(close));
		buf_putc(b, '?');
	}
	buf_puts(b, " (choose from ");
	for (const char *const *c = choices; *c; c++) {
		if (c != choices)
			buf_puts(b, ", ");
		pytext_repr(b, *c, strlen(*c));
	}
	buf_putc(b, ')');
}

/* ------------------------------------------------------------------ */
/* Sampling rate                                                        */

int cli_parse_rate(const char *text, uint64_t *interval_usec, struct buf *err)
{
	/* Tachyon: rate_str.strip().lower() matched against
	 * ^(\d+(?:\.\d+)?)(hz|khz|k)?$ ; messages quote the stripped, lowered
	 * string. */
	const char *s = text, *e = text + strlen(text);
	while (s < e && py_space(*s))
		s++;
	while (e > s && py_space(e[-1]))
		e--;
	size_t n = (size_t)(e - s);
	char *r = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		r[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
	r[n] = '\0';

	int rc = -1;
	size_t i = 0;
	while (is_digit(r[i]))
		i++;
	bool ok = i > 0;
	if (ok && r[i] == '.') {
		size_t frac = ++i;
		while (is_digit(r[i]))
			i++;
		ok = i > frac;
	}
	size_t num_len = i;
	double mult = 1;
	if (ok) {
		const char *suffix = r + i;
		if (!strcmp(suffix, "khz") || !strcmp(suffix, "k"))
			mult = 1000;
		else if (*suffix && strcmp(suffix, "hz"))
			ok = false;
	}
	if (!ok) {
		buf_printf(err, "Invalid sampling rate format: %s. Expected: number followed by "
			   "optional suffix (hz, khz, k) with no spaces (e.g., 10khz)", r);
		goto out;
	}

	/* float(number) * multiplier, then int(1_000_000 / hz): the same IEEE
	 * double operations as Python, so the same truncation (3khz -> 333).
	 * The number is parsed in the C locale whatever LC_NUMERIC says. */
	char saved = r[num_len];
	r[num_len] = '\0';
	locale_t c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	double hz = c_locale ? strtod_l(r, NULL, c_locale) : strtod(r, NULL);
	if (c_locale)
		freelocale(c_locale);
	r[num_len] = saved;
	hz *= mult;
	if (hz <= 0) {
		buf_printf(err, "Sampling rate must be positive: %s", r);
		goto out;
	}
	double usec = 1000000.0 / hz;
	if (usec < 1) {
		buf_printf(err, "Sampling rate too high: %s", r);
		goto out;
	}
	/* Python's int is unbounded; past ~31 years an interval never fires
	 * anyway, and the cap keeps the sampler's nanosecond sums in range */
	*interval_usec = usec >= (double)CLI_MAX_INTERVAL_USEC ? CLI_MAX_INTERVAL_USEC : (uint64_t)usec;
	rc = 0;
out:
	free(r);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Usage and help text                                                  */

#define MAX_PARTS 40
#define PART_LEN 128

struct parts {
	char s[MAX_PARTS][PART_LEN];
	size_t n;
};

static void part_add(struct parts *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void part_add(struct parts *p, const char *fmt, ...)
{
	if (p->n >= MAX_PARTS)
		BUG("cli: help table too small");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->s[p->n++], PART_LEN, fmt, ap);
	va_end(ap);
}

/* "{a,b,c}" */
static void choices_metavar(char *dst, size_t size, const char *const *choices)
{
	size_t len = 0;
	dst[len++] = '{';
	for (const char *const *c = choices; *c; c++) {
		int w = snprintf(dst + len, size - len, "%s%s", c == choices ? "" : ",", *c);
		len += (size_t)w;
	}
	snprintf(dst + len, size - len, "}");
}

static void metavar_of(const struct opt_spec *s, char *dst, size_t size)
{
	if (s->choices)
		choices_metavar(dst, size, s->choices);
	else
		snprintf(dst, size, "%s", s->metavar ? s->metavar : "");
}

static void option_usage_parts(enum cli_command cmd, struct parts *p)
{
	unsigned bit = 1u << cmd;
	bool in_group = false;
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt_spec *s = &opt_specs[i];
		if (!offered(s, bit))
			continue;
		char first[32];
		if (s->short_name)
			snprintf(first, sizeof(first), "-%c", s->short_name);
		else
			snprintf(first, sizeof(first), "%s", s->long_name);
		if (s->format) {
			/* argparse: "[--pstats |" "--collapsed]", one part each */
			if (!in_group)
				part_add(p, "[%s", first);
			else
				part_add(p, "%s", first);
			in_group = true;
			bool last = true;
			for (size_t k = i + 1; k < N_OPTS && opt_specs[k].format; k++)
				if (offered(&opt_specs[k], bit))
					last = false;
			if (!last)
				strncat(p->s[p->n - 1], " |", PART_LEN - strlen(p->s[p->n - 1]) - 1);
			else
				strncat(p->s[p->n - 1], "]", PART_LEN - strlen(p->s[p->n - 1]) - 1);
			continue;
		}
		if (takes_value(s)) {
			char mv[PART_LEN];
			metavar_of(s, mv, sizeof(mv));
			part_add(p, "[%s %s]", first, mv);
		} else {
			part_add(p, "[%s]", first);
		}
	}
}

static void positional_usage_parts(enum cli_command cmd, struct parts *p)
{
	switch (cmd) {
	case CMD_NONE: {
		char names[PART_LEN] = "{";
		for (size_t i = 0; i < N_COMMANDS; i++) {
			strncat(names, i ? "," : "", sizeof(names) - strlen(names) - 1);
			strncat(names, commands[i].name, sizeof(names) - strlen(names) - 1);
		}
		part_add(p, "%s} ...", names);
		break;
	}
	case CMD_RUN:
		part_add(p, "target");
		part_add(p, "...");
		break;
	case CMD_ATTACH:
		part_add(p, "pid");
		break;
	case CMD_REPLAY:
		part_add(p, "input_file");
		break;
	case CMD_DUMP:
		part_add(p, "pid");
		break;
	}
}

/* argparse's get_lines(): greedy fill of parts up to TEXT_WIDTH. */
static void usage_lines(struct buf *b, const char *first, const struct parts *p,
			size_t indent, size_t line_len)
{
	bool empty = first == NULL;
	if (first)
		buf_puts(b, first);
	for (size_t i = 0; i < p->n; i++) {
		size_t len = strlen(p->s[i]);
		if (line_len + 1 + len > TEXT_WIDTH && !empty) {
			buf_printf(b, "\n%*s", (int)indent, "");
			line_len = indent - 1;
			empty = true;
		}
		if (!empty)
			buf_putc(b, ' ');
		buf_puts(b, p->s[i]);
		line_len += len + 1;
		empty = false;
	}
}

/* "usage: ..." lines, each ending in "\n". */
static void format_usage(struct buf *b, enum cli_command cmd)
{
	static const char prefix[] = "usage: ";
	const char *prog = prog_of(cmd);
	struct parts *opt = xcalloc(1, sizeof(*opt));
	struct parts *pos = xcalloc(1, sizeof(*pos));
	option_usage_parts(cmd, opt);
	positional_usage_parts(cmd, pos);

	size_t total = strlen(prefix) + strlen(prog);
	for (size_t i = 0; i < opt->n; i++)
		total += 1 + strlen(opt->s[i]);
	for (size_t i = 0; i < pos->n; i++)
		total += 1 + strlen(pos->s[i]);

	buf_puts(b, prefix);
	if (total <= TEXT_WIDTH) {
		buf_puts(b, prog);
		for (size_t i = 0; i < opt->n; i++)
			buf_printf(b, " %s", opt->s[i]);
		for (size_t i = 0; i < pos->n; i++)
			buf_printf(b, " %s", pos->s[i]);
	} else {
		/* prog is short: options follow it, positionals start a line */
		size_t indent = strlen(prefix) + strlen(prog) + 1;
		usage_lines(b, prog, opt, indent, strlen(prefix) + strlen(prog));
		buf_printf(b, "\n%*s", (int)indent, "");
		usage_lines(b, NULL, pos, indent, indent - 1);
	}
	buf_putc(b, '\n');
	if (cmd == CMD_RUN)
		buf_printf(b, "   or: %s [options] -- command ...\n", prog);
	free(opt);
	free(pos);
}

struct help_row {
	char inv[PART_LEN];
	const char *help;
	const char *default_text;
	int indent;
};

struct help_section {
	const char *title;
	struct help_row rows[16];
	size_t n;
};

static void row_add(struct help_section *sec, int indent, const char *inv,
		    const char *help, const char *default_text)
{
	if (sec->n >= sizeof(sec->rows) / sizeof(sec->rows[0]))
		BUG("cli: help table too small");
	struct help_row *r = &sec->rows[sec->n++];
	snprintf(r->inv, sizeof(r->inv), "%s", inv);
	r->help = help;
	r->default_text = default_text;
	r->indent = indent;
}

/* textwrap's chunking: a word may break after a hyphen that follows two
 * letters (or "x-y-") and precedes a letter, optional hyphen, letter, so
 * "instruction-level" breaks but "--flag" and "-o" do not. */
static bool hyphen_break(const char *w, size_t i, size_t len)
{
	if (w[i] != '-' || i + 2 >= len)
		return false;
	bool before = (i >= 2 && is_letter(w[i - 1]) && is_letter(w[i - 2])) ||
		      (i >= 3 && is_letter(w[i - 1]) && w[i - 2] == '-' && is_letter(w[i - 3]));
	bool after = is_letter(w[i + 1]) &&
		     (is_letter(w[i + 2]) || (w[i + 2] == '-' && i + 3 < len && is_letter(w[i + 3])));
	return before && after;
}

static bool is_word(char c)
{
	return is_letter(c) || is_digit(c);
}

/* textwrap's em-dash: "word--word" is three chunks.  Returns the length of
 * the run of hyphens at w[k], or 0. */
static size_t emdash_at(const char *w, size_t k, size_t len)
{
	if (k == 0 || w[k] != '-' || !(is_word(w[k - 1]) || strchr("!\"'&.,?", w[k - 1])))
		return 0;
	size_t run = 0;
	while (k + run < len && w[k + run] == '-')
		run++;
	return run >= 2 && k + run < len && is_word(w[k + run]) ? run : 0;
}

/* textwrap.wrap(text, width) for our help texts (single spaces, words
 * shorter than width).  Lines go to b, the first one at the current
 * position, the others indented. */
static void wrap_text(struct buf *b, const char *text, size_t width, int indent)
{
	size_t col = 0;
	bool line_empty = true;
	const char *p = text;
	while (*p) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		const char *w = p;
		while (*p && *p != ' ')
			p++;
		size_t wlen = (size_t)(p - w);
		size_t start = 0;
		bool first_chunk = true;
		while (start < wlen) {
			size_t end = start + emdash_at(w, start, wlen);
			if (end == start) {
				for (end = start + 1; end < wlen; end++) {
					if (end - 1 > start && hyphen_break(w, end - 1, wlen))
						break;
					if (emdash_at(w, end, wlen))
						break;
				}
			}
			size_t clen = end - start;
			size_t need = clen + (first_chunk && !line_empty ? 1 : 0);
			if (!line_empty && col + need > width) {
				buf_printf(b, "\n%*s", indent, "");
				col = 0;
				line_empty = true;
				need = clen;
			}
			if (first_chunk && !line_empty)
				buf_putc(b, ' ');
			buf_append(b, w + start, clen);
			col += need;
			line_empty = false;
			first_chunk = false;
			start = end;
		}
	}
	buf_putc(b, '\n');
}

static void format_sections(struct buf *b, struct help_section *secs, size_t nsecs)
{
	size_t max_len = 0;
	for (size_t s = 0; s < nsecs; s++)
		for (size_t i = 0; i < secs[s].n; i++) {
			/* argparse counts sub-actions at the section's indent */
			size_t l = strlen(secs[s].rows[i].inv) + 2;
			if (l > max_len)
				max_len = l;
		}
	int help_pos = (int)(max_len + 2 < MAX_HELP_POSITION ? max_len + 2 : MAX_HELP_POSITION);
	size_t help_width = TEXT_WIDTH - (size_t)help_pos;

	for (size_t s = 0; s < nsecs; s++) {
		if (!secs[s].n)
			continue;
		buf_printf(b, "\n%s:\n", secs[s].title);
		for (size_t i = 0; i < secs[s].n; i++) {
			const struct help_row *r = &secs[s].rows[i];
			int action_width = help_pos - r->indent - 2;
			if ((int)strlen(r->inv) <= action_width) {
				buf_printf(b, "%*s%-*s  ", r->indent, "", action_width, r->inv);
			} else {
				buf_printf(b, "%*s%s\n%*s", r->indent, "", r->inv, help_pos, "");
			}
			struct buf h = BUF_INIT;
			buf_puts(&h, r->help);
			if (r->default_text)
				buf_printf(&h, " (default: %s)", r->default_text);
			wrap_text(b, h.data, help_width, help_pos);
			buf_release(&h);
		}
	}
}

static void format_help(struct buf *b, enum cli_command cmd)
{
	struct help_section *secs = xcalloc(SEC_COUNT + 1, sizeof(*secs));
	struct help_section *posn = &secs[0];
	struct help_section *opts = &secs[1];
	posn->title = "positional arguments";
	for (int s = 0; s < SEC_COUNT; s++)
		opts[s].title = section_titles[s];

	format_usage(b, cmd);
	buf_putc(b, '\n');
	const struct command_spec *c = command_spec(cmd);
	buf_printf(b, "%s\n", c ? c->description : top_description);

	switch (cmd) {
	case CMD_NONE: {
		char names[PART_LEN] = "{";
		for (size_t i = 0; i < N_COMMANDS; i++) {
			strncat(names, i ? "," : "", sizeof(names) - strlen(names) - 1);
			strncat(names, commands[i].name, sizeof(names) - strlen(names) - 1);
		}
		strncat(names, "}", sizeof(names) - strlen(names) - 1);
		row_add(posn, 2, names, "Command to run", NULL);
		for (size_t i = 0; i < N_COMMANDS; i++)
			row_add(posn, 4, commands[i].name, commands[i].summary, NULL);
		break;
	}
	default:
		for (size_t i = 0; i < N_POSITIONALS; i++)
			if (positionals[i].cmd == cmd)
				row_add(posn, 2, positionals[i].name, positionals[i].help, NULL);
		break;
	}

	unsigned bit = 1u << cmd;
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt_spec *s = &opt_specs[i];
		if (!offered(s, bit))
			continue;
		char inv[PART_LEN], mv[PART_LEN];
		int len = 0;
		if (s->short_name)
			len = snprintf(inv, sizeof(inv), "-%c, ", s->short_name);
		len += snprintf(inv + len, sizeof(inv) - (size_t)len, "%s", s->long_name);
		if (takes_value(s)) {
			metavar_of(s, mv, sizeof(mv));
			snprintf(inv + len, sizeof(inv) - (size_t)len, " %s", mv);
		}
		row_add(&opts[s->section], 2, inv, s->help, s->default_text);
	}
	format_sections(b, secs, SEC_COUNT + 1);
	free(secs);
}

/* ------------------------------------------------------------------ */
/* Errors                                                               */

/* parser.error(): usage of that parser, then "prog: error: msg". */
static enum cli_result usage_error(struct buf *text, enum cli_command cmd, const char *msg)
{
	buf_reset(text);
	format_usage(text, cmd);
	buf_printf(text, "%s: error: %s\n", prog_of(cmd), msg);
	return CLI_USAGE;
}

static const char *opt_name(const struct opt_spec *s, char *dst, size_t size)
{
	if (s->short_name)
		snprintf(dst, size, "-%c/%s", s->short_name, s->long_name);
	else
		snprintf(dst, size, "%s", s->long_name);
	return dst;
}

/* ArgumentError: "argument -r/--sampling-rate: msg" */
static enum cli_result arg_error(struct buf *text, enum cli_command cmd,
				 const struct opt_spec *s, const char *msg)
{
	char name[64];
	struct buf m = BUF_INIT;
	buf_printf(&m, "argument %s: %s", opt_name(s, name, sizeof(name)), msg);
	enum cli_result r = usage_error(text, cmd, m.data);
	buf_release(&m);
	return r;
}

/* ------------------------------------------------------------------ */
/* Parsing                                                              */

struct parser {
	enum cli_command cmd;
	unsigned bit;
	struct options *o;
	struct buf *text;
	struct buf extras;               /* unrecognized arguments, space-joined */
	const struct opt_spec *format_seen; /* first of --pstats/--collapsed given */
	bool python_given;
	bool done;                       /* help or version: text is ready */
};

static const struct opt_spec *find_long(const char *name, size_t len, unsigned bit)
{
	for (size_t i = 0; i < N_OPTS; i++)
		if (offered(&opt_specs[i], bit) && strlen(opt_specs[i].long_name) == len &&
		    !memcmp(opt_specs[i].long_name, name, len))
			return &opt_specs[i];
	return NULL;
}

static const struct opt_spec *find_short(char c, unsigned bit)
{
	for (size_t i = 0; i < N_OPTS; i++)
		if (offered(&opt_specs[i], bit) && c && opt_specs[i].short_name == c)
			return &opt_specs[i];
	return NULL;
}

/* An option string exactly as typed ("-r" or "--sampling-rate"). */
static const struct opt_spec *find_exact(const char *a, size_t len, unsigned bit)
{
	if (len == 2 && a[0] == '-' && a[1] != '-')
		return find_short(a[1], bit);
	return find_long(a, len, bit);
}

/* argparse's _parse_optional(): does this argument string count as an
 * option (known or not) rather than a positional or an option's value? */
static bool looks_optional(const char *a, unsigned bit)
{
	if (a[0] != '-' || a[1] == '\0')
		return false;
	size_t len = strlen(a);
	if (find_exact(a, len, bit))
		return true;
	const char *eq = strchr(a, '=');
	if (eq && find_exact(a, (size_t)(eq - a), bit))
		return true;
	if (a[1] != '-' && find_short(a[1], bit))
		return true;
	/* "-5", "-.5": negative numbers (no option of ours looks like one) */
	if (is_digit(a[1]) || (a[1] == '.' && is_digit(a[2])))
		return false;
	if (strchr(a, ' '))
		return false;
	return true;
}

static void add_extra(struct parser *p, const char *prefix, const char *a)
{
	if (p->extras.len)
		buf_putc(&p->extras, ' ');
	buf_puts(&p->extras, prefix);
	buf_puts(&p->extras, a);
}

/* take_action(): apply one option.  Returns CLI_OK, or an error/help with
 * p->done set. */
static enum cli_result take(struct parser *p, const struct opt_spec *s, const char *val)
{
	struct options *o = p->o;
	enum cli_result r = CLI_OK;
	struct buf m = BUF_INIT;
	long long v;
	bool clamped;

	if (s->format) {
		/* argparse's mutually exclusive group: any other member seen */
		if (p->format_seen && p->format_seen != s) {
			char name[64];
			buf_printf(&m, "not allowed with argument %s",
				   opt_name(p->format_seen, name, sizeof(name)));
			r = arg_error(p->text, p->cmd, s, m.data);
			goto out;
		}
		p->format_seen = s;
	}

	switch (s->id) {
	case OPT_HELP:
		buf_reset(p->text);
		format_help(p->text, p->cmd);
		r = CLI_HELP;
		break;
	case OPT_VERSION:
		buf_reset(p->text);
		buf_puts(p->text, PROG " " STROBE_VERSION "\n");
		r = CLI_VERSION;
		break;
	case OPT_MODULE:
		o->module = true;
		break;
	case OPT_LIVE:
		o->live = true;
		break;
	case OPT_PYTHON:
		o->python = val;
		p->python_given = true;
		break;
	case OPT_RATE:
		if (cli_parse_rate(val, &o->interval_usec, &m) < 0)
			r = arg_error(p->text, p->cmd, s, m.data);
		break;
	case OPT_DURATION: {
		double d;
		if (!py_seconds(val, &d)) {
			buf_puts(&m, "invalid float value: ");
			pytext_repr(&m, val, strlen(val));
			r = arg_error(p->text, p->cmd, s, m.data);
			break;
		}
		/* Tachyon's loop "while running_time < duration" never
		 * samples for d <= 0; keep -1 free for "no duration" */
		o->duration_sec = d < 0 ? 0 : d > CLI_MAX_DURATION_SEC ? CLI_MAX_DURATION_SEC : d;
		break;
	}
	case OPT_LIMIT:
		if (!py_int(val, &v, &clamped)) {
			buf_puts(&m, "invalid int value: ");
			pytext_repr(&m, val, strlen(val));
			r = arg_error(p->text, p->cmd, s, m.data);
			break;
		}
		o->limit = clamp_int(v);
		o->limit_given = true;
		break;
	case OPT_ALL_THREADS:
		o->all_threads = true;
		break;
	case OPT_REALTIME_STATS:
		o->realtime_stats = true;
		break;
	case OPT_NATIVE:
		o->native = true;
		break;
	case OPT_NATIVE_STACKS:
		o->native_stacks = true;
		break;
	case OPT_NATIVE_PLUMBING:
		o->native_plumbing = true;
		break;
	case OPT_NO_GC:
		o->no_gc = true;
		break;
	case OPT_OPCODES:
		o->opcodes = true;
		break;
	case OPT_LOCALS:
		o->locals = true;
		break;
	case OPT_ASYNC_AWARE:
		o->async_aware = true;
		break;
	case OPT_SUBPROCESSES:
		o->subprocesses = true;
		break;
	case OPT_BLOCKING:
		o->blocking = true;
		break;
	case OPT_ASYNC_MODE: {
		int i = choice_index(async_mode_choices, val);
		if (i < 0) {
			invalid_choice(&m, val, async_mode_choices);
			r = arg_error(p->text, p->cmd, s, m.data);
			break;
		}
		o->async_mode = i;
		o->async_mode_given = true;
		break;
	}
	case OPT_ENGINE: {
		int i = choice_index(engine_choices, val);
		if (i < 0) {
			invalid_choice(&m, val, engine_choices);
			r = arg_error(p->text, p->cmd, s, m.data);
			break;
		}
		o->engine = i;
		break;
	}
	case OPT_MODE: {
		int i = choice_index(mode_choices, val);
		if (i < 0) {
			invalid_choice(&m, val, mode_choices);
			r = arg_error(p->text, p->cmd, s, m.data);
			break;
		}
		o->mode = i == 3 ? MODE_EXCEPTION : i;
		break;
	}
	case OPT_FORMAT:
		o->format = s->format_name;
		break;
	case OPT_DIFF_FLAMEGRAPH:
		o->format = s->format_name;
		o->baseline = val;
		break;
	case OPT_BROWSER:
		o->browser = true;
		break;
	case OPT_COMPRESSION: {
		int i = choice_index(compression_choices, val);
		if (i < 0) {
			invalid_choice(&m, val, compression_choices);
			r = arg_error(p->text, p->cmd, s, m.data);
			break;
		}
		o->compression = i;
		break;
	}
	case OPT_OUTPUT:
		/* Tachyon tests "if args.outfile", so "" means no -o */
		o->output = *val ? val : NULL;
		break;
	case OPT_SORT: {
		int i = choice_index(sort_choices, val);
		if (i < 0) {
			invalid_choice(&m, val, sort_choices);
			r = arg_error(p->text, p->cmd, s, m.data);
			break;
		}
		o->sort = i;
		o->sort_given = true;
		break;
	}
	case OPT_NO_SUMMARY:
		o->no_summary = true;
		break;
	}
out:
	if (r != CLI_OK)
		p->done = true;
	buf_release(&m);
	return r;
}

struct pending {
	const struct opt_spec *s;
	const char *val;
};

/* consume_optional(): argv[*i] looks like an option.  Splits "-abc",
 * "-rVALUE", "-r=VALUE", "--long=VALUE", takes the next argument as a value
 * when needed, records unknown options as extras. */
static enum cli_result consume_optional(struct parser *p, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	size_t len = strlen(a);
	const struct opt_spec *s;
	const char *explicit = NULL;
	bool sep_eq = false, typed_short;
	const char *eq = strchr(a, '=');
	enum cli_result r = CLI_OK;

	if ((s = find_exact(a, len, p->bit))) {
		typed_short = a[1] != '-';
	} else if (eq && (s = find_exact(a, (size_t)(eq - a), p->bit))) {
		explicit = eq + 1;
		sep_eq = true;
		typed_short = a[1] != '-';
	} else if (a[1] != '-' && (s = find_short(a[1], p->bit))) {
		explicit = a + 2;
		typed_short = true;
	} else {
		add_extra(p, "", a);
		(*i)++;
		return CLI_OK;
	}

	/* at most one action per character of a */
	struct pending *todo = xcalloc(len + 1, sizeof(*todo));
	size_t n = 0;
	int next = *i + 1;
	for (;;) {
		if (explicit) {
			if (takes_value(s)) {
				todo[n++] = (struct pending){ s, explicit };
				break;
			}
			if (typed_short && *explicit) {
				/* "-am": a flag followed by more single-letter options */
				if (sep_eq || *explicit == '-')
					goto ignored;
				todo[n++] = (struct pending){ s, NULL };
				const struct opt_spec *t = find_short(*explicit, p->bit);
				if (!t) {
					add_extra(p, "-", explicit);
					break;
				}
				s = t;
				explicit++;
				sep_eq = false;
				if (!*explicit) {
					explicit = NULL;
				} else if (*explicit == '=') {
					sep_eq = true;
					explicit++;
				}
				continue;
			}
ignored:
			{
				struct buf m = BUF_INIT;
				buf_puts(&m, "ignored explicit argument ");
				pytext_repr(&m, explicit, strlen(explicit));
				r = arg_error(p->text, p->cmd, s, m.data);
				buf_release(&m);
				p->done = true;
				goto out;
			}
		}
		if (!takes_value(s)) {
			todo[n++] = (struct pending){ s, NULL };
			break;
		}
		if (next >= argc || !strcmp(argv[next], "--") || looks_optional(argv[next], p->bit)) {
			r = arg_error(p->text, p->cmd, s, "expected one argument");
			p->done = true;
			goto out;
		}
		todo[n++] = (struct pending){ s, argv[next++] };
		break;
	}
	*i = next;
	for (size_t k = 0; k < n && r == CLI_OK; k++)
		r = take(p, todo[k].s, todo[k].val);
out:
	free(todo);
	return r;
}

const char *cli_format_option(const struct options *o, const char **arg)
{
	*arg = NULL;
	if (strcmp(o->format, DEFAULT_FORMAT) == 0)
		return NULL;
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt_spec *s = &opt_specs[i];
		if (!s->format || !s->format_name || strcmp(s->format_name, o->format) != 0)
			continue;
		/* the one format option with a value: --diff-flamegraph BASELINE */
		if (s->metavar)
			*arg = o->baseline;
		return s->long_name;
	}
	return NULL;
}

static void set_defaults(struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->command = CMD_NONE;
	o->interval_usec = 1000; /* 1khz */
	o->duration_sec = -1;
	o->format = DEFAULT_FORMAT;
	o->sort = SORT_NSAMPLES;
	o->limit = 15;
	o->pid = 0;
	o->live_available = true; /* src/tui/ */
}

/* Tachyon's _validate_args, for the options we have.  Its errors come from
 * the top-level parser. */
static enum cli_result validate(struct parser *p)
{
	const struct options *o = p->o;
	struct buf m = BUF_INIT, list = BUF_INIT;
	enum cli_result r = CLI_OK;
	if (o->command == CMD_REPLAY)
		goto out;
	/* strobe's own: checked before Tachyon's rules */
	if (o->native_plumbing && !o->native_stacks) {
		r = usage_error(p->text, CMD_NONE, "--native-plumbing requires --native-stacks.");
		goto out;
	}
	if (o->native_stacks && (o->native || o->async_aware)) {
		buf_printf(&m, "--native-stacks is incompatible with --%s: it shows the real native "
			   "frames of each thread's stack.", o->native ? "native" : "async-aware");
		r = usage_error(p->text, CMD_NONE, m.data);
		goto out;
	}
	if (o->locals && (o->native_stacks || o->async_aware)) {
		buf_printf(&m, "--locals is incompatible with --%s.",
			   o->native_stacks ? "native-stacks" : "async-aware");
		r = usage_error(p->text, CMD_NONE, m.data);
		goto out;
	}
	/* --engine bpf replaces the sampling loop: what needs the reader's
	 * loop (pausing the threads, native unwinding, task stacks, the live
	 * view) is refused; auto takes the reader for them */
	if (o->engine == ENGINE_BPF) {
		const char *what = o->blocking ? "--blocking"
				   : o->native ? "--native"
				   : o->native_stacks ? "--native-stacks"
				   : o->async_aware ? "--async-aware"
				   : o->live ? "--live" : NULL;
		if (what) {
			buf_printf(&m, "--engine bpf does not support %s yet (use --engine reader "
				   "or auto).", what);
			r = usage_error(p->text, CMD_NONE, m.data);
			goto out;
		}
	}
	if (o->subprocesses && o->live) {
		r = usage_error(p->text, CMD_NONE, "--subprocesses is incompatible with --live mode.");
		goto out;
	}
	/* async-aware profiling rebuilds stacks from tasks, not threads */
	if (o->async_aware) {
		const char *mode_names[] = { "wall", "cpu", "gil", "all", "exception" };
		if (o->native)
			buf_puts(&list, "--native");
		if (o->no_gc)
			buf_printf(&list, "%s--no-gc", list.len ? ", " : "");
		if (!strcmp(o->format, "binary"))
			buf_printf(&list, "%s--binary", list.len ? ", " : "");
		if (o->mode != MODE_WALL)
			buf_printf(&list, "%s--mode=%s", list.len ? ", " : "", mode_names[o->mode]);
		if (o->all_threads)
			buf_printf(&list, "%s--all-threads", list.len ? ", " : "");
		if (list.len) {
			buf_printf(&m, "Options %s are incompatible with --async-aware. Async-aware "
				   "profiling uses task-based stack reconstruction.", list.data);
			r = usage_error(p->text, CMD_NONE, m.data);
			goto out;
		}
	} else if (o->command == CMD_DUMP ? o->async_mode_given : o->async_mode != 0) {
		r = usage_error(p->text, CMD_NONE, "--async-mode requires --async-aware to be enabled.");
		goto out;
	}
	if (o->command == CMD_DUMP)
		goto out;
	/* the live view is its own output; Tachyon checks nothing after this */
	if (o->live) {
		if (strcmp(o->format, "pstats") != 0) {
			buf_printf(&m, "--live is incompatible with --%s. Live mode uses a TUI "
				   "interface.", o->format);
			r = usage_error(p->text, CMD_NONE, m.data);
			goto out;
		}
		if (o->sort_given)
			buf_puts(&list, "--sort");
		if (o->limit_given)
			buf_printf(&list, "%s--limit", list.len ? ", " : "");
		if (o->no_summary)
			buf_printf(&list, "%s--no-summary", list.len ? ", " : "");
		if (list.len) {
			buf_printf(&m, "Options %s are incompatible with --live. Live mode uses a TUI "
				   "interface with its own controls.", list.data);
			r = usage_error(p->text, CMD_NONE, m.data);
		}
		goto out;
	}
	/* gecko samples every status itself (Tachyon's internal ALL mode) */
	if (!strcmp(o->format, "gecko") && o->mode != MODE_WALL) {
		r = usage_error(p->text, CMD_NONE, "--mode option is incompatible with --gecko. Gecko "
				"format automatically includes both GIL-holding and CPU status "
				"analysis.");
		goto out;
	}
	if (o->opcodes) {
		/* Tachyon's list (live, gecko, flamegraph, diff_flamegraph,
		 * heatmap, binary), of the formats this build has */
		static const char *const with_opcodes[] = {
			"live", "gecko", "flamegraph", "diff_flamegraph", "heatmap", "binary", NULL,
		};
		bool ok = false;
		for (const char *const *f = with_opcodes; *f; f++) {
			bool have = !strcmp(*f, "live") ? o->live_available : out_format_find(*f) != NULL;
			if (!have)
				continue;
			buf_printf(&list, "%s--%s", list.len ? ", " : "", *f);
			ok = ok || !strcmp(o->format, *f) || (!strcmp(*f, "live") && o->live);
		}
		if (!ok) {
			buf_printf(&m, "--opcodes is only compatible with %s.", list.data);
			r = usage_error(p->text, CMD_NONE, m.data);
			goto out;
		}
		buf_reset(&list);
	}
out:
	buf_release(&m);
	buf_release(&list);
	if (r != CLI_OK)
		return r;
	if (o->command != CMD_REPLAY && o->command != CMD_DUMP && strcmp(o->format, "pstats") != 0) {
		if (o->sort_given)
			buf_puts(&list, "--sort");
		if (o->limit_given)
			buf_printf(&list, "%s--limit", list.len ? ", " : "");
		if (o->no_summary)
			buf_printf(&list, "%s--no-summary", list.len ? ", " : "");
		if (list.len) {
			buf_printf(&m, "Options %s are only valid with --pstats, not --%s",
				   list.data, o->format);
			usage_error(p->text, CMD_NONE, m.data);
		}
		bool bad = list.len != 0;
		buf_release(&m);
		buf_release(&list);
		if (bad)
			return CLI_USAGE;
	}
	return CLI_OK;
}

/* One subcommand's arguments, argv[i..argc). */
static enum cli_result parse_command(struct parser *p, int argc, char **argv, int i)
{
	struct options *o = p->o;
	bool have_target = false, dashdash = false;
	enum cli_result r;

	while (i < argc) {
		const char *a = argv[i];
		if (!dashdash && !strcmp(a, "--")) {
			if (p->cmd != CMD_RUN) {
				dashdash = true; /* argparse: the rest are positionals */
				i++;
				continue;
			}
			/* strobe run [options] -- command [args...] */
			if (o->module)
				return arg_error(p->text, p->cmd, find_short('m', p->bit),
						 "not allowed with argument --");
			if (p->python_given)
				return arg_error(p->text, p->cmd, find_long("--python", 8, p->bit),
						 "not allowed with argument --");
			if (i + 1 >= argc)
				return usage_error(p->text, p->cmd,
						   "the following arguments are required: command");
			o->command_mode = true;
			o->argv = &argv[i + 1];
			o->argc = argc - i - 1;
			have_target = true;
			break;
		}
		if (dashdash || !looks_optional(a, p->bit)) {
			if (p->cmd == CMD_RUN) {
				/* target, then argparse.REMAINDER: everything else.
				 * argparse lets the target's pattern (-*A-*) swallow
				 * one "--" right after it, so Tachyon drops it; we
				 * move the target up over it to keep argv contiguous. */
				if (!dashdash && i + 1 < argc && !strcmp(argv[i + 1], "--")) {
					argv[i + 1] = argv[i];
					i++;
				}
				o->argv = &argv[i];
				o->argc = argc - i;
				have_target = true;
				break;
			}
			if (have_target) {
				add_extra(p, "", a);
			} else if (p->cmd == CMD_REPLAY) {
				o->input = a;
				have_target = true;
			} else {
				long long v;
				bool clamped;
				if (!py_int(a, &v, &clamped) || v < INT_MIN || v > INT_MAX) {
					/* Tachyon dies with OverflowError for pids beyond a
					 * C int; an argparse error is kinder */
					struct buf m = BUF_INIT;
					buf_puts(&m, "argument pid: invalid int value: ");
					pytext_repr(&m, a, strlen(a));
					r = usage_error(p->text, p->cmd, m.data);
					buf_release(&m);
					return r;
				}
				o->pid = (pid_t)v;
				have_target = true;
			}
			i++;
			continue;
		}
		r = consume_optional(p, argc, argv, &i);
		if (p->done)
			return r;
	}

	if (!have_target)
		return usage_error(p->text, p->cmd, p->cmd == CMD_RUN
				   ? "the following arguments are required: target"
				   : p->cmd == CMD_REPLAY
				   ? "the following arguments are required: input_file"
				   : "the following arguments are required: pid");
	if (p->extras.len) {
		struct buf m = BUF_INIT;
		buf_printf(&m, "unrecognized arguments: %s", p->extras.data);
		habit_of_extras(&m, p->extras.data);
		r = usage_error(p->text, CMD_NONE, m.data);
		buf_release(&m);
		return r;
	}
	return validate(p);
}

enum cli_result cli_parse(int argc, char **argv, struct options *o, struct buf *text)
{
	struct parser p = { .cmd = CMD_NONE, .bit = ON_TOP, .o = o, .text = text,
			    .extras = BUF_INIT };
	enum cli_result r;
	const char *name = NULL;
	int i;

	set_defaults(o);
	buf_reset(text);

	for (i = 1; i < argc; ) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			if (++i < argc)
				name = argv[i];
			break;
		}
		if (!looks_optional(a, p.bit)) {
			name = a;
			break;
		}
		r = consume_optional(&p, argc, argv, &i);
		if (p.done)
			goto out;
	}
	if (!name) {
		r = usage_error(text, CMD_NONE, "the following arguments are required: command");
		goto out;
	}

	const struct command_spec *c = NULL;
	for (size_t k = 0; k < N_COMMANDS; k++)
		if (!strcmp(commands[k].name, name))
			c = &commands[k];
	if (!c) {
		const char *names[N_COMMANDS + 1];
		for (size_t k = 0; k < N_COMMANDS; k++)
			names[k] = commands[k].name;
		names[N_COMMANDS] = NULL;
		struct buf m = BUF_INIT;
		buf_puts(&m, "argument command: ");
		invalid_choice(&m, name, names);
		const char *hint = habit_hint(habit_commands, name, strlen(name));
		if (hint)
			buf_printf(&m, " (%s)", hint);
		r = usage_error(text, CMD_NONE, m.data);
		buf_release(&m);
		goto out;
	}

	o->command = c->cmd;
	p.cmd = c->cmd;
	p.bit = 1u << c->cmd;
	r = parse_command(&p, argc, argv, i + 1);
out:
	buf_release(&p.extras);
	if (r == CLI_USAGE)
		o->command = CMD_NONE;
	return r;
}

/* ------------------------------------------------------------------ */
/* The table, for generators                                            */

static void describe_field(struct buf *b, const char *s)
{
	buf_putc(b, '\t');
	buf_puts(b, s && *s ? s : "-");
}

void cli_describe(struct buf *b)
{
	buf_puts(b, "strobe-cli 1\n");
	buf_puts(b, "version\t" STROBE_VERSION "\n");
	for (size_t c = 0; c < N_COMMANDS; c++) {
		buf_puts(b, "command");
		describe_field(b, commands[c].name);
		describe_field(b, commands[c].summary);
		buf_putc(b, '\n');
	}
	for (size_t i = 0; i < N_POSITIONALS; i++) {
		buf_puts(b, "positional");
		describe_field(b, command_spec(positionals[i].cmd)->name);
		describe_field(b, positionals[i].name);
		describe_field(b, positionals[i].help);
		buf_putc(b, '\n');
	}
	/* the top level first, then the commands in help order */
	for (size_t c = 0; c <= N_COMMANDS; c++) {
		enum cli_command cmd = c ? commands[c - 1].cmd : CMD_NONE;
		unsigned bit = 1u << cmd;
		for (size_t i = 0; i < N_OPTS; i++) {
			const struct opt_spec *s = &opt_specs[i];
			if (!offered(s, bit))
				continue;
			char shortopt[3] = { '-', s->short_name, '\0' };
			struct buf choices = BUF_INIT;
			for (const char *const *ch = s->choices; ch && *ch; ch++)
				buf_printf(&choices, "%s%s", choices.len ? "," : "", *ch);
			buf_puts(b, "option");
			describe_field(b, c ? commands[c - 1].name : NULL);
			describe_field(b, s->short_name ? shortopt : NULL);
			describe_field(b, s->long_name);
			describe_field(b, s->metavar);
			describe_field(b, choices.data);
			describe_field(b, section_titles[s->section]);
			describe_field(b, s->default_text);
			describe_field(b, s->help);
			buf_putc(b, '\n');
			buf_release(&choices);
		}
	}
}
