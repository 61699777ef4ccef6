/* cmd.h - the subcommands.  Only this layer prints user errors and exits. */
#ifndef STROBE_CMD_H
#define STROBE_CMD_H

#include <sys/types.h>

struct options;
struct spawn;

int cmd_run(const struct options *o);
int cmd_attach(const struct options *o);

/* Shared by run and attach: find the runtime of pid, sample it as the
 * options say, print the summary and write the output.  child is the
 * launched process for `run` (terminated when sampling ends), or NULL.
 * Returns the exit status. */
int cmd_profile(const struct options *o, pid_t pid, struct spawn *child);

/* Install the stop-flag handlers for SIGINT, SIGTERM and SIGHUP. */
void cmd_install_signals(void);

#endif
