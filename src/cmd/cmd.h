/* cmd.h - the subcommands, one file each in src/cmd/, dispatched by main.c.
 * They only wire: what they share is src/profiling/ (profiling.h).  With
 * it, the only layer that prints user errors and exits. */
#ifndef STROBE_CMD_H
#define STROBE_CMD_H

struct options;

/* strobe run: launch a command, wait for it to become Python, profile it. */
int cmd_run(const struct options *o);
/* strobe attach PID: profile a running process. */
int cmd_attach(const struct options *o);
/* strobe replay FILE: convert a binary profile to another format. */
int cmd_replay(const struct options *o);
/* strobe dump PID: one stack dump in Tachyon's text form. */
int cmd_dump(const struct options *o);
/* strobe --version: first_line (cli_parse's "strobe VERSION\n"), then what
 * this build includes and the versions of its libraries; exit status. */
int cmd_version(const char *first_line);

#endif
