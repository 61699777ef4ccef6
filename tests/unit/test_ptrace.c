/* test_ptrace.c - holding a process's threads still (src/process/ptrace.h),
 * on a forked child with three spinning threads: all stopped while held,
 * all running after, signals sent meanwhile not lost, strobe's signal mask
 * restored, a target killed while held reaped without a hang. */
#include "harness.h"

#include "base/clock.h"
#include "base/error.h"
#include "process/ptrace.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

struct shared {
	atomic_ulong spins[3];
	atomic_int usr1;
};

static struct shared *sh;

static void on_usr1(int sig)
{
	(void)sig;
	atomic_fetch_add(&sh->usr1, 1);
}

static void *spin(void *arg)
{
	atomic_ulong *c = arg;
	for (;;)
		atomic_fetch_add(c, 1);
	return NULL;
}

/* A child with three spinning threads; returns once they all run. */
static pid_t start_child(void)
{
	int fd[2];
	if (pipe(fd) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGUSR1, on_usr1);
		pthread_t t;
		pthread_create(&t, NULL, spin, &sh->spins[1]);
		pthread_create(&t, NULL, spin, &sh->spins[2]);
		while (atomic_load(&sh->spins[1]) == 0 || atomic_load(&sh->spins[2]) == 0)
			;
		ssize_t ignored = write(fd[1], "r", 1);
		(void)ignored;
		spin(&sh->spins[0]);
	}
	close(fd[1]);
	char c;
	ssize_t n = read(fd[0], &c, 1);
	close(fd[0]);
	return n == 1 ? pid : -1;
}

/* How many threads of pid are in the given state letters. */
static int threads_in(pid_t pid, const char *states, int *total)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	int n = 0;
	*total = 0;
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char p[320], buf[512];
		snprintf(p, sizeof(p), "/proc/%d/task/%s/stat", (int)pid, de->d_name);
		FILE *f = fopen(p, "r");
		if (!f)
			continue;
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = '\0';
		char *s = strrchr(buf, ')');
		(*total)++;
		if (s && s[1] == ' ' && strchr(states, s[2]))
			n++;
	}
	closedir(d);
	return n;
}

static unsigned long sum_spins(void)
{
	return atomic_load(&sh->spins[0]) + atomic_load(&sh->spins[1]) + atomic_load(&sh->spins[2]);
}

/* Wait (up to 2 s) for the spin counters to move; true if they did. */
static bool moves(void)
{
	unsigned long a = sum_spins();
	uint64_t end = clock_now_ns() + 2000000000ULL;
	while (clock_now_ns() < end)
		if (sum_spins() != a)
			return true;
	return false;
}

TEST(pause_and_resume)
{
	pid_t pid = start_child();
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGTSTP, SIGTTIN, SIGTTOU, SIGCHLD };
	sigset_t before, after;
	sigemptyset(&before);
	sigemptyset(&after);
	sigprocmask(SIG_BLOCK, NULL, &before);
	struct ptrace_pause pp;
	ptrace_pause_init(&pp);
	for (int round = 0; round < 20; round++) {
		int rc = ptrace_pause_all(&pp, pid);
		CHECK_EQ_INT(rc, 0);
		if (rc)
			break;
		/* a thread that had not reported its stop in time ("late",
		 * on a loaded machine) cannot run user code either */
		int total, late = (int)pp.stats.late;
		int stopped = threads_in(pid, "t", &total);
		CHECK(stopped <= 3 && stopped + late >= 3);
		CHECK_EQ_INT(total, 3);
		/* frozen: nothing moves (a short wait is the point here) */
		unsigned long a = sum_spins();
		clock_sleep_until(clock_now_ns() + 2000000);
		CHECK(sum_spins() == a);
		if (round == 0)
			kill(pid, SIGUSR1); /* delivered once the threads run again */
		ptrace_resume_all(&pp);
		if (pp.n == 0) /* no late thread still to detach */
			CHECK_EQ_INT(threads_in(pid, "tT", &total), 0);
		CHECK(moves());
	}
	CHECK(pp.stats.max_threads == 3);
	uint64_t end = clock_now_ns() + 2000000000ULL;
	while (atomic_load(&sh->usr1) == 0 && clock_now_ns() < end)
		;
	CHECK_EQ_INT(atomic_load(&sh->usr1), 1);
	sigprocmask(SIG_BLOCK, NULL, &after);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		CHECK(sigismember(&before, sigs[i]) == sigismember(&after, sigs[i]));

	/* killed while held: resume does not hang, the child can be reaped */
	CHECK_EQ_INT(ptrace_pause_all(&pp, pid), 0);
	kill(pid, SIGKILL);
	ptrace_resume_all(&pp);
	ptrace_pause_release(&pp);
	int status;
	CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status));
	ptrace_pause_init(&pp);
	CHECK_EQ_INT(ptrace_pause_all(&pp, pid), ERR_NOPROC);
	ptrace_pause_release(&pp);
	ptrace_pause_release(&pp); /* twice is fine */
}

TEST(tracer_dies)
{
	/* a tracer that exits while holding the target lets it run */
	pid_t pid = start_child();
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	pid_t tracer = fork();
	if (tracer == 0) {
		struct ptrace_pause pp;
		ptrace_pause_init(&pp);
		if (ptrace_pause_all(&pp, pid) != 0)
			_exit(1);
		raise(SIGKILL); /* no resume, no release */
	}
	int status;
	CHECK(waitpid(tracer, &status, 0) == tracer && WIFSIGNALED(status) &&
	      WTERMSIG(status) == SIGKILL);
	int total;
	CHECK_EQ_INT(threads_in(pid, "tT", &total), 0);
	CHECK_EQ_INT(total, 3);
	CHECK(moves());
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

int main(void)
{
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	RUN(pause_and_resume);
	memset(sh, 0, sizeof(*sh));
	RUN(tracer_dies);
	return harness_done();
}
