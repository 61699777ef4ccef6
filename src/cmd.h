/* cmd.h - the subcommands.  Only this layer prints user errors and exits. */
#ifndef STROBE_CMD_H
#define STROBE_CMD_H

#include <stddef.h>
#include <sys/types.h>

struct options;
struct profile;
struct spawn;

int cmd_run(const struct options *o);
int cmd_attach(const struct options *o);

/* Shared by run and attach: find the runtime of pid, sample it as the
 * options say, print the summary and write the output.  child is the
 * launched process for `run` (terminated when sampling ends), or NULL.
 * Returns the exit status. */
int cmd_profile(const struct options *o, pid_t pid, struct spawn *child);

int cmd_replay(const struct options *o);

/* What the output formats may want to know of the profiled process. */
struct cmd_output {
	int source_root_fd;   /* its root directory (O_PATH), -1 for the host's */
	int py_major, py_minor; /* its Python, to name opcodes; 0 if unknown */
};

struct out_request;
/* Fill the request for the chosen format (path into path[size]). */
void cmd_output_request(const struct options *o, const struct profile *p, pid_t pid,
			const struct cmd_output *co, struct out_request *req, char *path,
			size_t size);

/* Write the profile in the format the options chose (default file names
 * use pid), print the format's "written" line, open it in a browser with
 * --browser.  Returns the exit status. */
int cmd_write_output(const struct options *o, const struct profile *p, pid_t pid,
		     const struct cmd_output *co);

/* The output path for a format writing a file: -o, DIR/<fmt>_<pid>.<ext>
 * when -o is a directory, else <fmt>_<pid>.<ext>. */
void cmd_output_path(const struct options *o, const char *format, const char *ext, pid_t pid,
		     char *path, size_t size);

/* Print a format's "written" message (one %s for the path), then suffix. */
void cmd_print_written(const char *msg, const char *path, const char *suffix);

/* Install the stop-flag handlers for SIGINT, SIGTERM and SIGHUP. */
void cmd_install_signals(void);

#endif
