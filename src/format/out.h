/* out.h - the output formats, as a table.
 *
 * A format is one file in src/format/ and one row in out_formats[] (out.c):
 * every format is a stream (struct out_stream_ops); the formats that need
 * the whole profile sit behind one adapter (format/whole.c).  What the
 * command layer needs to know of a format is in its flags, never in its
 * name.  Writers never touch the target.
 */
#ifndef STROBE_FORMAT_OUT_H
#define STROBE_FORMAT_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct profile;
struct sample;
struct strtab;
struct errmsg;
struct outfile;
struct outfile_policy;
struct buf;

/* pstats --sort keys, in Tachyon's order of the --sort choices */
enum out_sort {
	SORT_NSAMPLES,      /* direct samples, descending (default) */
	SORT_TOTTIME,
	SORT_CUMTIME,
	SORT_SAMPLE_PCT,
	SORT_CUMUL_PCT,
	SORT_NSAMPLES_CUMUL,
	SORT_NAME,          /* str((file, line, func)) ascending */
};

/* Names an opcode of the profiled interpreter: its name and its base
 * (unspecialized) opcode; NULL when unknown. */
typedef const char *(*out_opcode_name_fn)(void *ctx, int op, int *base);

/* How a writer wants a source file's text. */
enum out_source_text {
	OUT_SOURCE_PYTHON, /* as linecache reads it: PEP 263 coding, BOM dropped */
	OUT_SOURCE_UTF8,   /* as UTF-8 whatever it declares (Path.read_text) */
};
/* Which file a source read found: names that lead to one file ("/x",
 * "//x", "/a/../x", links) have one identity, so a writer can read it once. */
struct out_source_id {
	uint64_t dev, ino;
};
/* Reads a source file of the profiled process as that process could read
 * it (the command layer's, through target/rootfs: writers never open the
 * target's files).  path as the profile names it; at most max bytes, or
 * max 0 for only whether it can be read (no text).  0 with *text (malloc'd,
 * the caller's, NUL-terminated) of *len bytes of valid UTF-8, *exact false
 * when Python would have failed to decode it (undecodable bytes are
 * U+FFFD) and *id (when id is not NULL) the file's identity, max 0 too;
 * or a negative ERR_*. */
typedef int (*out_source_fn)(void *ctx, const char *path, size_t max, enum out_source_text how,
			     char **text, size_t *len, bool *exact, struct out_source_id *id);

struct out_request {
	const char *path;  /* output file (or directory, for heatmap); NULL = stdout (pstats text) */
	/* The user named path (-o): a special file there, or a link to one,
	 * is written through; false: strobe made the name up (default names,
	 * DIR/NAME for -o DIR), and nothing but a regular file is replaced.
	 * Every output goes through format/outfile.h. */
	bool named;
	const char *input; /* replay: the recording read, which no output may replace */
	FILE *stdout_fp;   /* where text goes (stdout when NULL): the output when
			    * path is NULL, and what a format prints beside its
			    * file (flamegraph's summary, heatmap's lines) */
	bool color;        /* ANSI colours in text output */
	int sort;          /* enum out_sort */
	int limit;         /* rows of the pstats table, as Python's rows[:limit]
			    * (0 = none, -2 = all but the last two); the CLI
			    * default is 15 */
	bool show_summary; /* pstats "Summary of Interesting Functions" */
	int mode;          /* sampling mode (0 wall ... 4 exception) */
	bool opcodes;      /* frames carry opcodes (--opcodes) */
	bool skip_idle;    /* streams: leave out threads holding neither the GIL
			    * nor a CPU (Tachyon's collectors in cpu, gil and
			    * exception modes; never in a replay) */
	/* Each sample holds one thread, taken on that thread's own clock
	 * (the bpf engine): samples come in time order per thread, not
	 * across threads, and a tick is no batch of every thread (gecko's
	 * times and meta.interval).  Set by whoever drives the stream before
	 * sampling; a stream reads it at close. */
	bool thread_clocks;
	/* Source files as the profiled process sees them (NULL: none are
	 * shown).  See out_source_read(). */
	out_source_fn source;
	void *source_ctx;
	out_opcode_name_fn opcode_name;
	void *opcode_ctx;
	const char *baseline;  /* --diff-flamegraph: the baseline binary file */
	int features;          /* capture features of the run (BINARY_FEATURE_* bits
				* of format/binary.h), -1 unknown: --diff-flamegraph
				* requires the baseline's to be the same */
	struct errmsg *err;    /* if not NULL, a writer's failure explained in
				* Tachyon's words ("Baseline file not found: X") */
	int64_t pid;           /* the profiled process (or the replaying one) */
	/* The row being written, set by whoever opens it: the whole-profile
	 * adapter (format/whole.c) finds its writer there. */
	const struct out_format *format;
	/* The run's profile, which FORMAT_WHOLE_PROFILE rows fill from the
	 * samples (the strings of the samples are its strings). */
	struct profile *profile;
	uint64_t interval_us;  /* the sampling interval (binary header) */
	int compression;       /* binary: enum binary_compression (format/binary.h) */
	int py_major, py_minor, py_micro; /* the profiled Python (binary header) */
	/* if not NULL, words a format adds after its "written" line's path
	 * (binary: " (N samples)"); the caller resets it */
	struct buf *note;
};

/* Derived run figures, as Tachyon prints and stores them. */
struct out_run_figures {
	double duration_s;
	double sample_rate;      /* samples per second */
	double error_rate;       /* percent */
	double missed_samples;   /* percent of expected, may be negative */
	uint64_t samples;        /* sampling attempts */
};
void out_run_figures_of(const struct profile *p, struct out_run_figures *f);

/* The output file req->path, created as format/outfile.h says (req->named;
 * req->input and req->baseline may not be replaced).  0, or a negative
 * ERR_* with errno set and req->err (when not NULL) saying "cannot write
 * PATH: why". */
int out_file_create(struct outfile **of, const struct out_request *req);
/* Finish what out_file_create made: committed (renamed into place) when
 * ok, else discarded with the destination left as it was.  0, or ERR_IO
 * with req->err saying why (when ok is false: errno as the caller's failed
 * write left it).  NULL of does nothing and returns ok ? 0 : ERR_IO. */
int out_file_finish(struct outfile *of, const struct out_request *req, bool ok);
/* The outfile policy of req (named, inputs), for writers that call
 * format/outfile.h themselves (the heatmap directory). */
void out_file_policy(const struct out_request *req, struct outfile_policy *pol);
/* "cannot write PATH: why" into req->err (when not NULL), errno kept. */
void out_file_error(const struct out_request *req, const char *path, const struct errmsg *why);

/* The stream a writer writes to: req->path through out_file_create, or
 * req->stdout_fp (stdout when that is NULL) when path is NULL. */
struct out_file {
	FILE *fp;
	struct outfile *file; /* NULL for the terminal stream */
};
/* 0, or an error as out_file_create's. */
int out_file_open(struct out_file *f, const struct out_request *req);
/* Finish what out_file_open gave, ok saying whether everything written
 * succeeded: a file is committed or discarded (out_file_finish), a terminal
 * stream flushed.  0 or ERR_IO; *written tells whether a file was made. */
int out_file_close(struct out_file *f, const struct out_request *req, bool ok, bool *written);

/* Read a source file of the profiled process through req->source (see
 * out_source_fn; exact and id may be NULL).  ERR_NOTFOUND without a
 * reader, for an empty path and for names like "<string>". */
int out_source_read(const struct out_request *req, const char *path, size_t max,
		    enum out_source_text how, char **text, size_t *len, bool *exact,
		    struct out_source_id *id);

/* Every format is a stream: opened before the first sample, fed every
 * sample, closed with the finished profile (for run figures and strings).
 * Whoever drives one (the command layer's output session) calls open,
 * then add per sample, then close or abort, nothing else. */
struct out_stream;
struct out_stream_ops {
	int (*open)(struct out_stream **st, const struct out_request *req);
	int (*add)(struct out_stream *st, const struct sample *s, const struct strtab *strings);
	/* Write the output; frees st whatever the result.  *written tells
	 * whether a file was made (a format may have nothing to write). */
	int (*close)(struct out_stream *st, const struct profile *p, const struct out_request *req,
		     bool *written);
	/* Give up (the run failed before close): free st and leave no file
	 * (nothing is renamed into place). */
	void (*abort)(struct out_stream *st, const struct out_request *req);
};

/* A format's properties: what the command layer needs to know of a format
 * without ever comparing its name. */
enum {
	FORMAT_DETAIL = 1u << 0,       /* frames must keep columns, end line and opcode */
	FORMAT_DIR = 1u << 1,          /* the output is a directory (heatmap): named
					* <name>_<pid>, no extension */
	FORMAT_HTML = 1u << 2,         /* --browser opens it */
	FORMAT_ALL_STATUS = 1u << 3,   /* sample in Tachyon's ALL mode: every thread,
					* every status bit (gecko) */
	FORMAT_STATUS = 1u << 4,       /* records or summarises thread status: the
					* walker reads it */
	FORMAT_STDOUT = 1u << 5,       /* without -o the output is text on stdout (pstats) */
	FORMAT_KEYS_ONLY = 1u << 6,    /* reads replayed stacks by key only (through
					* model/stackids.h), never their frames */
	FORMAT_FILE_AT_CLOSE = 1u << 7, /* creates its file only when closed */
	FORMAT_CHILD_PROFILE_NAME = 1u << 8, /* a --subprocesses child's default file is
					      * profile_<pid>.<ext> (Tachyon's name for
					      * pstats, whose own default is stdout) */
	FORMAT_SUMMARY = 1u << 9,      /* close prints figures that belong to the run's
					* summary (binary's "Binary Encoding"), so it is
					* closed before the summary's last line */
	FORMAT_WHOLE_PROFILE = 1u << 10, /* needs the whole profile (format/whole.c): add
					  * copies each sample into it, keeping
					  * nothing of the sample; close writes it */
};

/* One row per format.  A new format is one file in src/format/, one row in
 * out_formats[] (out.c) and its option in cli.c's table. */
struct out_format {
	const char *name;   /* "collapsed": selected by --collapsed */
	const char *ext;    /* default file extension: "<name>_<pid>.<ext>" */
	unsigned flags;     /* FORMAT_* */
	const struct out_stream_ops *stream; /* open, add, close, abort: never NULL */
	/* printf format with one %s (the path) printed after a file is written,
	 * e.g. "Collapsed stack output written to %s"; NULL for none. */
	const char *written_msg;
	/* FORMAT_WHOLE_PROFILE rows: the writer out_whole_stream's close calls
	 * with the finished profile.  Returns 0 or a negative ERR_*; *written
	 * true when a file was produced (its path in req->path). */
	int (*write)(const struct profile *p, const struct out_request *req, bool *written);
};

/* The row of a format that needs the whole profile: out_whole_stream
 * builds the profile (req->profile) from the samples and close calls
 * write_fn on it. */
#define FORMAT_WHOLE(name_, ext_, flags_, write_fn, msg)                                        \
	{ .name = (name_), .ext = (ext_), .flags = (flags_) | FORMAT_WHOLE_PROFILE,            \
	  .stream = &out_whole_stream, .written_msg = (msg), .write = (write_fn) }

/* The writers, one per file in src/format/. */
/* whole.c: the adapter of FORMAT_WHOLE rows (needs req->format and
 * req->profile) */
extern const struct out_stream_ops out_whole_stream;
/* Tachyon's pstats text table, or its marshal file (pstats.c); the file
 * is created when the stream is closed */
extern const struct out_stream_ops out_pstats_stream;
/* collapsed stacks (collapsed.c) */
extern const struct out_stream_ops out_collapsed_stream;
/* flamegraph.c, diff_flamegraph.c: HTML pages, from the whole profile */
int out_flamegraph_write(const struct profile *p, const struct out_request *req, bool *written);
int out_diff_flamegraph_write(const struct profile *p, const struct out_request *req, bool *written);
/* Whether baseline is a binary file a run in mode with capture features
 * (BINARY_FEATURE_* bits) can be compared with: 0, or an error explained
 * in e in Tachyon's words ("Baseline profiling mode does not match ..."). */
int out_diff_flamegraph_check(const char *baseline, int mode, int features, struct errmsg *e);
/* Firefox Profiler JSON (gecko.c) */
extern const struct out_stream_ops out_gecko_stream;
/* JSON Lines (jsonl.c) */
extern const struct out_stream_ops out_jsonl_stream;
/* speedscope.c, pprof.c: from the whole profile */
int out_speedscope_write(const struct profile *p, const struct out_request *req, bool *written);
int out_pprof_write(const struct profile *p, const struct out_request *req, bool *written);
/* heatmap.c: a directory of HTML pages; prints its own "written" lines */
extern const struct out_stream_ops out_heatmap_stream;
/* binary_writer.c: Tachyon's binary file (format/binary.h), with the run's
 * figures in its stats block; close prints the "Binary Encoding" figures
 * to req->stdout_fp and puts " (N samples)" in req->note */
extern const struct out_stream_ops out_binary_stream;

/* NULL if there is no format of that name. */
const struct out_format *out_format_find(const char *name);
/* The table, terminated by an entry with name == NULL. */
extern const struct out_format out_formats[];

#endif
