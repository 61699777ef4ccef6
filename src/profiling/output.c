/* output.c - the output session, shared by run, attach, replay and the
 * profilers --subprocesses starts: the request the options make, file
 * naming as Tachyon does it, the format's stream from open to close, the
 * "written" line, --browser and the exit status. */
#include "profiling/profiling.h"

#include "base/buf.h"
#include "base/error.h"
#include "cli.h"
#include "model/profile.h"
#include "model/sample.h"
#include "format/binary.h"
#include "format/out.h"
#include "format/outfile.h"
#include "py/opcodes.h"
#include "process/rootfs.h"
#include "process/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* grace period before SIGKILL for a launched target, as Tachyon */
#define TERMINATE_GRACE_MS 2000

bool profiling_want_color(void)
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

/* Whether -o is a name a --subprocesses parent made up for this child
 * profiler (profiling.h, PROFILING_MADE_UP_OUTPUT_ENV). */
static bool output_made_up(const struct options *o)
{
	const char *env = getenv(PROFILING_MADE_UP_OUTPUT_ENV);
	return o->output && env && strcmp(env, o->output) == 0;
}

/* The output path for a format writing a file: -o, DIR/<fmt>_<pid>.<ext>
 * when -o is a directory, else <fmt>_<pid>.<ext> (a directory format:
 * <fmt>_<pid>).  True when the user named it (-o), false for a name strobe
 * made up (out_request.named), including an -o that
 * PROFILING_MADE_UP_OUTPUT_ENV says a parent strobe made up (kept as it
 * is, even where a directory is). */
static bool output_path(const struct options *o, const struct out_format *f, pid_t pid, char *path,
			size_t size)
{
	bool dir = f->flags & FORMAT_DIR;
	char name[64];
	/* <format>_<pid>.<ext>, or heatmap_<pid> for a directory */
	if (dir)
		snprintf(name, sizeof(name), "%s_%d", f->name, (int)pid);
	else
		snprintf(name, sizeof(name), "%s_%d.%s", f->name, (int)pid, f->ext);
	/* a made-up -o is no directory of the user's: one found there was
	 * put there by someone, and the output is refused rather than put
	 * in it */
	bool made_up = output_made_up(o);
	if (o->output && !made_up && is_dir(o->output) && !dir) {
		/* the name in the directory is strobe's, not the user's */
		snprintf(path, size, "%s/%s", o->output, name);
		return false;
	} else if (o->output && !made_up && is_dir(o->output) && dir) {
		/* an existing directory: that is where the pages go */
		snprintf(path, size, "%s", o->output);
	} else if (o->output) {
		snprintf(path, size, "%s", o->output);
		size_t n = strlen(path);
		/* heatmap: "-o report.html" names the directory "report" */
		if (dir && n > 5 && strcmp(path + n - 5, ".html") == 0)
			path[n - 5] = '\0';
	} else {
		snprintf(path, size, "%s", name);
		return false;
	}
	return !made_up;
}

/* The capture features of a run, as binary files record them. */
static int options_features(const struct options *o)
{
	return (o->all_threads ? BINARY_FEATURE_ALL_THREADS : 0) |
	       (o->native ? BINARY_FEATURE_NATIVE : 0) | (o->no_gc ? 0 : BINARY_FEATURE_GC) |
	       (o->opcodes ? BINARY_FEATURE_OPCODES : 0) | (o->blocking ? BINARY_FEATURE_BLOCKING : 0);
}

void profiling_check_baseline(const struct options *o)
{
	struct stat st;
	if (o->baseline && stat(o->baseline, &st) != 0)
		die("Error: Baseline file not found: %s", o->baseline);
	/* an output never replaces what the run reads: checked now, before
	 * anything is sampled or written, for the file -o names (a name
	 * strobe makes up in -o DIR is checked again when it is made) */
	const char *inputs[OUTFILE_MAX_INPUTS] = { o->command == CMD_REPLAY ? o->input : NULL,
						   o->baseline };
	if (o->output && !is_dir(o->output) && outfile_is_input(o->output, inputs))
		die("Error: cannot write %s: it is an input of this run (%s)", o->output,
		    inputs[outfile_is_input(o->output, inputs) - 1]);
	/* run, attach: a baseline that cannot be compared with this run is
	 * refused before sampling (Tachyon only finds out after, losing the run) */
	if (o->baseline && o->command != CMD_REPLAY) {
		struct errmsg e = { "" };
		if (out_diff_flamegraph_check(o->baseline, o->mode, options_features(o), &e) != 0)
			die("Error: %s", e.text[0] ? e.text : "cannot read the baseline");
	}
}

/* out_source_fn over a struct rootfs: every source a writer shows is read
 * as the profiled process could read it. */
static int read_source(void *ctx, const char *path, size_t max, enum out_source_text how,
		       char **text, size_t *len, bool *exact, struct out_source_id *id)
{
	const struct rootfs *r = ctx;
	struct rootfs_fileid fid;
	int rc;
	if (max == 0) {
		rc = rootfs_probe(r, path, &fid);
		if (rc == 0) {
			*text = xstrdup("");
			*exact = true;
		}
	} else {
		struct buf b = BUF_INIT;
		rc = rootfs_read_source(r, path, max,
					how == OUT_SOURCE_PYTHON ? ROOTFS_DECODE_PYTHON
								 : ROOTFS_DECODE_UTF8,
					&b, exact, &fid);
		if (rc) {
			buf_release(&b);
		} else {
			*len = b.len;
			*text = b.data ? b.data : xstrdup("");
		}
	}
	if (rc == 0 && id)
		*id = (struct out_source_id){ fid.dev, fid.ino };
	return rc;
}

static const char *opcode_name(void *ctx, int op, int *base)
{
	const struct profiling_target *co = ctx;
	if (base)
		*base = py_opcode_base(co->py_major, co->py_minor, op);
	return py_opcode_name(co->py_major, co->py_minor, op);
}

void profiling_output_request(const struct options *o, const struct profiling_target *co, pid_t pid,
			      struct out_request *req)
{
	*req = (struct out_request){
		.path = NULL,
		.stdout_fp = stdout,
		.color = profiling_want_color(),
		.sort = o->sort,
		.limit = o->limit,
		.show_summary = !o->no_summary,
		.mode = co->mode,
		.opcodes = o->opcodes,
		.source = co->rootfs ? read_source : NULL,
		.source_ctx = (void *)co->rootfs,
		.opcode_name = co->py_major ? opcode_name : NULL,
		.opcode_ctx = (void *)co,
		.baseline = o->baseline,
		.features = co->replay ? co->features : options_features(o),
		.pid = pid,
		.input = o->command == CMD_REPLAY ? o->input : NULL,
		.interval_us = o->interval_usec,
		.compression = o->compression == COMPRESSION_NONE ? BINARY_COMPRESSION_NONE
								 : BINARY_COMPRESSION_ZSTD,
		.py_major = co->py_major,
		.py_minor = co->py_minor,
		.py_micro = co->py_micro,
	};
}

void profiling_output_open(struct profiling_output *out, const struct options *o, pid_t pid,
			   const struct profiling_target *co, struct profile *prof,
			   struct spawn *child)
{
	const struct out_format *fmt = out_format_find(o->format);
	if (!fmt)
		die("strobe: cannot write format '%s'", o->format);
	*out = (struct profiling_output){ .o = o, .fmt = fmt, .strings = &prof->strings,
					  .note = BUF_INIT };
	struct out_request *req = &out->req;
	profiling_output_request(o, co, pid, req);
	/* pstats without -o: the table on stdout */
	if (!(fmt->flags & FORMAT_STDOUT) || o->output) {
		req->named = output_path(o, fmt, pid, out->path, sizeof(out->path));
		req->path = out->path;
	}
	req->skip_idle = prof->skip_idle;
	req->err = &out->why;
	req->note = &out->note;
	req->format = fmt;
	req->profile = prof;
	errno = 0;
	int rc = fmt->stream->open(&out->st, req);
	if (rc) {
		if (child)
			spawn_terminate(child, TERMINATE_GRACE_MS);
		if (out->why.text[0])
			die("Error: %s", out->why.text);
		die("Error: cannot write %s: %s", req->path ? req->path : "output",
		    errno ? strerror(errno) : err_str(rc));
	}
}

int profiling_output_add(void *ctx, const struct sample *s)
{
	struct profiling_output *out = ctx;
	return out->fmt->stream->add(out->st, s, out->strings);
}

void profiling_output_abort(struct profiling_output *out)
{
	if (out->st)
		out->fmt->stream->abort(out->st, &out->req);
	out->st = NULL;
	buf_release(&out->note);
}

/* --browser: hand the page to the desktop's opener, detached. */
static void open_in_browser(const struct out_format *fmt, const char *path)
{
	char page[4096], abs[4096];
	snprintf(page, sizeof(page), "%s%s", path, fmt->flags & FORMAT_DIR ? "/index.html" : "");
	if (!realpath(page, abs)) {
		fprintf(stderr, "Warning: Could not find index.html in %s\n", path);
		return;
	}
	char url[4200];
	snprintf(url, sizeof(url), "file://%s", abs);
	pid_t pid = fork();
	if (pid == 0) {
		/* grandchild: nobody waits for the browser */
		if (fork() != 0)
			_exit(0);
		int fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("xdg-open", "xdg-open", url, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	if (pid < 0)
		fprintf(stderr, "Warning: Could not open browser: %s\n", strerror(errno));
}

/* A format's "written" message (one %s for the path), then suffix. */
static void print_written(const char *msg, const char *path, const char *suffix)
{
	const char *hole = strstr(msg, "%s");
	if (hole)
		printf("%.*s%s%s%s\n", (int)(hole - msg), msg, path, hole + 2, suffix ? suffix : "");
	else
		printf("%s%s\n", msg, suffix ? suffix : "");
}

/* After close returned rc (and written): the error in one line (the
 * writer's own words in req->err when it gave some), or the format's
 * "written" line and --browser.  Returns the exit status. */
static int output_done(const struct profiling_output *out, int rc, bool written)
{
	const struct out_request *req = &out->req;
	const struct out_format *fmt = out->fmt;
	if (rc) {
		int e = errno;
		fflush(stdout);
		if (req->err && req->err->text[0])
			fprintf(stderr, "Error: %s\n", req->err->text);
		else
			fprintf(stderr, "Error: cannot write %s: %s\n", req->path ? req->path : "output",
				rc == ERR_IO && e ? strerror(e) : err_str(rc));
		return 1;
	}
	if (written && fmt->written_msg)
		print_written(fmt->written_msg, req->path, out->note.data);
	fflush(stdout);
	if (written && (fmt->flags & FORMAT_HTML) && out->o->browser)
		open_in_browser(fmt, req->path);
	return 0;
}

int profiling_output_close(struct profiling_output *out, const struct profile *prof,
			   const char *tail)
{
	/* a format whose close prints part of the run's summary (binary's
	 * encoding figures) is closed before the summary's last line */
	bool in_summary = out->fmt->flags & FORMAT_SUMMARY;
	if (!in_summary) {
		if (tail)
			fputs(tail, stdout);
		fflush(stdout);
	}
	errno = 0;
	out->why.text[0] = '\0';
	bool written = false;
	int rc = out->fmt->stream->close(out->st, prof, &out->req, &written);
	out->st = NULL;
	if (in_summary && tail)
		fputs(tail, stdout);
	int status = output_done(out, rc, written);
	buf_release(&out->note);
	return status;
}
