/* out.h - the output formats, as a table.
 *
 * A format is one file in src/out/ and one line in out_formats[] (out.c).
 * Writers read a finished profile and never touch the target.
 */
#ifndef STROBE_OUT_OUT_H
#define STROBE_OUT_OUT_H

#include <stdbool.h>
#include <stdio.h>

struct profile;

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

struct out_request {
	const char *path;  /* output file; NULL = the format's default (stdout for pstats text) */
	FILE *stdout_fp;   /* where text output goes when path is NULL */
	bool color;        /* ANSI colours in text output */
	int sort;          /* enum out_sort */
	int limit;         /* rows of the pstats table, as Python's rows[:limit]
			    * (0 = none, -2 = all but the last two); the CLI
			    * default is 15 */
	bool show_summary; /* pstats "Summary of Interesting Functions" */
	int mode;          /* sampling mode, for "No samples" messages */
};

struct out_format {
	const char *name;   /* "collapsed": selected by --collapsed */
	const char *ext;    /* default file extension: "<name>_<pid>.<ext>" */
	/* Write the profile.  Returns 0 or a negative ERR_* code; on success
	 * *written is set to true when a file was produced (its path in
	 * req->path), false when the output went to req->stdout_fp.  NULL for
	 * a format that streams samples instead (binary: out/binary.h). */
	int (*write)(const struct profile *p, const struct out_request *req, bool *written);
	/* printf format with one %s (the path) printed after a file is written,
	 * e.g. "Collapsed stack output written to %s"; NULL for none. */
	const char *written_msg;
};

/* The writers, one per file in src/out/. */
int out_pstats_write(const struct profile *p, const struct out_request *req, bool *written);
int out_collapsed_write(const struct profile *p, const struct out_request *req, bool *written);

/* NULL if there is no format of that name. */
const struct out_format *out_format_find(const char *name);
/* The table, terminated by an entry with name == NULL. */
extern const struct out_format out_formats[];

#endif
