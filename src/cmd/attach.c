/* attach.c - strobe attach PID: profile a running process without
 * stopping or changing it. */
#include "cmd/cmd.h"

#include "base/error.h"
#include "cli.h"
#include "profiling/profiling.h"

#include <errno.h>
#include <signal.h>

int cmd_attach(const struct options *o)
{
	profiling_warn_blocking(o);
	if (o->pid <= 0 || (kill(o->pid, 0) != 0 && errno == ESRCH))
		die("strobe cannot find the process: Process with PID '%d' does not exist.", (int)o->pid);
	profiling_check_baseline(o);
	profiling_install_signals();
	return profiling_session(o, o->pid, NULL);
}
