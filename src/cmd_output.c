/* cmd_output.c - writing the chosen output format, shared by run, attach
 * and replay: file naming as Tachyon does it, colours, the "written" line. */
#include "cmd.h"

#include "base/error.h"
#include "cli.h"
#include "model/profile.h"
#include "out/out.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

void cmd_output_path(const struct options *o, const char *format, const char *ext, pid_t pid,
		     char *path, size_t size)
{
	if (o->output && !is_dir(o->output))
		snprintf(path, size, "%s", o->output);
	else if (o->output)
		snprintf(path, size, "%s/%s_%d.%s", o->output, format, (int)pid, ext);
	else
		snprintf(path, size, "%s_%d.%s", format, (int)pid, ext);
}

int cmd_write_output(const struct options *o, const struct profile *p, pid_t pid)
{
	const struct out_format *fmt = out_format_find(o->format);
	if (!fmt || !fmt->write)
		die("strobe: cannot write format '%s' from a profile", o->format);
	struct out_request req = {
		.path = NULL,
		.stdout_fp = stdout,
		.color = want_color(),
		.sort = o->sort,
		.limit = o->limit,
		.show_summary = !o->no_summary,
		.mode = p->stats.mode,
	};
	char path[4096];
	bool to_stdout = strcmp(fmt->name, "pstats") == 0 && !o->output;
	if (!to_stdout) {
		cmd_output_path(o, fmt->name, fmt->ext, pid, path, sizeof(path));
		req.path = path;
	}
	fflush(stdout);
	bool written = false;
	errno = 0;
	int rc = fmt->write(p, &req, &written);
	if (rc) {
		fflush(stdout);
		fprintf(stderr, "strobe: cannot write %s: %s\n", req.path ? req.path : "output",
			rc == ERR_IO && errno ? strerror(errno) : err_str(rc));
		return 1;
	}
	if (written && fmt->written_msg)
		cmd_print_written(fmt->written_msg, req.path, NULL);
	fflush(stdout);
	return 0;
}

void cmd_print_written(const char *msg, const char *path, const char *suffix)
{
	/* the message holds one %s for the path */
	const char *hole = strstr(msg, "%s");
	if (hole)
		printf("%.*s%s%s%s\n", (int)(hole - msg), msg, path, hole + 2, suffix ? suffix : "");
	else
		printf("%s%s\n", msg, suffix ? suffix : "");
}
