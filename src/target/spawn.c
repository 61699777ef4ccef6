#include "target/spawn.h"

#include "base/clock.h"
#include "base/error.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int spawn_start(struct spawn *sp, char *const argv[], int *exec_errno)
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

bool spawn_exited(struct spawn *sp)
{
	if (sp->reaped)
		return true;
	pid_t r = waitpid(sp->pid, &sp->status, WNOHANG);
	if (r == sp->pid || (r < 0 && errno == ECHILD))
		sp->reaped = true;
	return sp->reaped;
}

void spawn_terminate(struct spawn *sp, int grace_ms)
{
	if (spawn_exited(sp))
		return;
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
