#include "process/spawn.h"

#include "base/clock.h"
#include "base/error.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int spawn_start(struct spawn *sp, char *const argv[], int *exec_errno)
{
	return spawn_start_stdio(sp, argv, NULL, exec_errno);
}

int spawn_start_stdio(struct spawn *sp, char *const argv[], const int stdio[3], int *exec_errno)
{
	int pfd[2];
	memset(sp, 0, sizeof(*sp));
	*exec_errno = 0;
	if (pipe2(pfd, O_CLOEXEC) != 0)
		return ERR_IO;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return ERR_IO;
	}
	if (pid == 0) {
		/* child: strobe's own handlers must not survive exec */
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		sigaction(SIGPIPE, &sa, NULL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		close(pfd[0]);
		for (int i = 0; stdio && i < 3; i++)
			if (stdio[i] >= 0 && stdio[i] != i && dup2(stdio[i], i) < 0)
				_exit(127);
		execvp(argv[0], argv);
		int e = errno;
		ssize_t ignored = write(pfd[1], &e, sizeof(e));
		(void)ignored;
		_exit(127);
	}
	close(pfd[1]);
	int e = 0;
	ssize_t n;
	do
		n = read(pfd[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	sp->pid = pid;
	if (n == (ssize_t)sizeof(e)) {
		/* exec failed: collect the child */
		waitpid(pid, &sp->status, 0);
		sp->reaped = true;
		*exec_errno = e;
		return e == ENOENT ? ERR_NOTFOUND : (e == EACCES ? ERR_PERM : ERR_IO);
	}
	return 0;
}

int spawn_start_quiet(struct spawn *sp, const char *path, char *const argv[], char *const envp[],
		      int *spawn_errno)
{
	memset(sp, 0, sizeof(*sp));
	*spawn_errno = 0;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGHUP);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGCHLD);
	int rc = posix_spawn_file_actions_init(&fa);
	if (rc) {
		*spawn_errno = rc;
		return ERR_NOMEM;
	}
	rc = posix_spawnattr_init(&attr);
	if (rc) {
		posix_spawn_file_actions_destroy(&fa);
		*spawn_errno = rc;
		return ERR_NOMEM;
	}
	rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!rc)
		rc = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(&fa, 1, 2);
	if (!rc)
		rc = posix_spawnattr_setsigmask(&attr, &none);
	if (!rc)
		rc = posix_spawnattr_setsigdefault(&attr, &dfl);
	if (!rc)
		rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	pid_t pid = -1;
	if (!rc)
		rc = posix_spawn(&pid, path, &fa, &attr, argv, envp ? envp : environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (rc) {
		*spawn_errno = rc;
		return rc == ENOENT ? ERR_NOTFOUND : rc == EACCES ? ERR_PERM : ERR_IO;
	}
	sp->pid = pid;
	return 0;
}

bool spawn_exited(struct spawn *sp)
{
	if (sp->reaped)
		return true;
	int status;
	pid_t r = waitpid(sp->pid, &status, WNOHANG);
	/* a stop can show here too: --blocking makes strobe the child's
	 * tracer as well as its parent */
	if (r == sp->pid && (WIFEXITED(status) || WIFSIGNALED(status))) {
		sp->status = status;
		sp->reaped = true;
	} else if (r < 0 && errno == ECHILD) {
		sp->reaped = true;
	}
	return sp->reaped;
}

void spawn_terminate(struct spawn *sp, int grace_ms)
{
	if (spawn_exited(sp))
		return;
	sp->terminated = true;
	kill(sp->pid, SIGTERM);
	uint64_t deadline = clock_now_ns() + (uint64_t)grace_ms * 1000000ULL;
	while (clock_now_ns() < deadline) {
		if (spawn_exited(sp))
			return;
		clock_sleep_until(clock_now_ns() + 10000000ULL);
	}
	kill(sp->pid, SIGKILL);
	while (waitpid(sp->pid, &sp->status, 0) < 0 && errno == EINTR)
		;
	sp->reaped = true;
}

int spawn_exit_status(const struct spawn *sp)
{
	if (WIFEXITED(sp->status))
		return WEXITSTATUS(sp->status);
	if (WIFSIGNALED(sp->status))
		return 128 + WTERMSIG(sp->status);
	return 1;
}

const char *spawn_describe(const struct spawn *sp, char *buf, size_t len)
{
	if (!sp->reaped)
		snprintf(buf, len, "is still running");
	else if (WIFEXITED(sp->status))
		snprintf(buf, len, "exited with code %d", WEXITSTATUS(sp->status));
	else if (WIFSIGNALED(sp->status))
		snprintf(buf, len, "was killed by signal %d", WTERMSIG(sp->status));
	else
		snprintf(buf, len, "ended");
	return buf;
}
