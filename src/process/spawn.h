/* spawn.h - launching the program to profile as a child process. */
#ifndef STROBE_PROCESS_SPAWN_H
#define STROBE_PROCESS_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

struct spawn {
	pid_t pid;
	bool reaped;
	int status;   /* waitpid status once reaped */
	bool terminated; /* strobe ended it: spawn_terminate signalled it while it
			  * ran, or the caller set it (it ended the program's Python) */
};

/* fork and exec argv (argv[0] searched in PATH).  The child keeps strobe's
 * stdin/stdout/stderr and every inherited descriptor, with default signal
 * dispositions.  Returns 0, or a negative ERR_* with *exec_errno set when
 * exec itself failed (ENOENT: no such program). */
int spawn_start(struct spawn *sp, char *const argv[], int *exec_errno);
/* As spawn_start, with the child's stdin, stdout and stderr replaced by
 * stdio[0], stdio[1] and stdio[2] where those are >= 0 (stdio may be NULL). */
int spawn_start_stdio(struct spawn *sp, char *const argv[], const int stdio[3], int *exec_errno);

/* Start path (not searched in PATH) with argv and the environment envp
 * (NULL: strobe's own), its stdin, stdout and stderr on /dev/null, default
 * dispositions and an empty signal mask; no other descriptor of strobe's is
 * inherited (they are close-on-exec).  Safe from any thread: it uses
 * posix_spawn, so strobe's memory is not copied.  Returns 0, or a negative
 * ERR_* with *spawn_errno set. */
int spawn_start_quiet(struct spawn *sp, const char *path, char *const argv[], char *const envp[],
		      int *spawn_errno);

/* Whether the child has exited (reaps it).  Never blocks. */
bool spawn_exited(struct spawn *sp);

/* End the child if it still runs: SIGTERM, then SIGKILL after grace_ms;
 * always reaps it. */
void spawn_terminate(struct spawn *sp, int grace_ms);

/* The child's end as an exit status, as a shell gives it: its exit code,
 * or 128 + N when signal N ended it.  Only once reaped. */
int spawn_exit_status(const struct spawn *sp);

/* "exited with code 3" / "was killed by signal 9" into buf. */
const char *spawn_describe(const struct spawn *sp, char *buf, size_t len);

#endif
