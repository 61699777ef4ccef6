#include "process/ptrace.h"

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "process/task.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Thread states in the table. */
enum {
	T_SEIZED = 1,   /* seized and interrupted; stop not collected yet */
	T_STOPPED = 2,  /* in a ptrace stop: detach to let it run */
	T_DEAD = 3,     /* exited while traced: to be reaped, then forgotten */
	T_GONE = 4,     /* forgotten at the next compaction */
};
/* Added to the state of threads seized by this ptrace_pause_all call:
 * only those are waited for (late ones from before cannot run anyway). */
#define T_FRESH 0x10
#define STATE(t) ((t)->state & ~T_FRESH)

/* Listings of /proc/PID/task per pause: the first, then repeats while
 * threads appear (one still running may have created another). */
#define MAX_LISTINGS 4

void ptrace_pause_init(struct ptrace_pause *pp)
{
	memset(pp, 0, sizeof(*pp));
}

static int cmp_tid(const void *a, const void *b)
{
	pid_t x = ((const struct ptrace_thread *)a)->tid, y = ((const struct ptrace_thread *)b)->tid;
	return (x > y) - (x < y);
}

/* The table's first `sorted` entries are sorted by tid (it is re-sorted
 * after each batch of additions); later ones were just appended. */
static struct ptrace_thread *find(struct ptrace_pause *pp, size_t sorted, pid_t tid)
{
	struct ptrace_thread key = { .tid = tid };
	struct ptrace_thread *t = sorted ? bsearch(&key, pp->threads, sorted, sizeof(key), cmp_tid)
					 : NULL;
	for (size_t i = sorted; !t && i < pp->n; i++)
		if (pp->threads[i].tid == tid)
			t = &pp->threads[i];
	return t;
}

static void compact(struct ptrace_pause *pp)
{
	size_t k = 0;
	for (size_t i = 0; i < pp->n; i++)
		if (STATE(&pp->threads[i]) != T_GONE)
			pp->threads[k++] = pp->threads[i];
	pp->n = k;
}

/* A thread that is exiting cannot be seized (EPERM) and needs no holding. */
static bool thread_exiting(pid_t pid, pid_t tid)
{
	int st = task_run_state(pid, tid);
	return st < 0 || st == 'Z' || st == 'X';
}

/* TracerPid of a thread, 0 if none or unknown. */
static pid_t tracer_of(pid_t pid, pid_t tid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	/* TracerPid is among the first lines */
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	struct task_status st;
	task_status_parse(buf, n, &st);
	return st.tracer_pid > 0 ? (pid_t)st.tracer_pid : 0;
}

static void block_signals(struct ptrace_pause *pp)
{
	if (pp->masked)
		return;
	sigset_t hold;
	sigemptyset(&hold);
	sigaddset(&hold, SIGINT);
	sigaddset(&hold, SIGTERM);
	sigaddset(&hold, SIGHUP);
	sigaddset(&hold, SIGTSTP);
	sigaddset(&hold, SIGTTIN);
	sigaddset(&hold, SIGTTOU);
	/* every ptrace stop sends the tracer SIGCHLD: held, it is what
	 * wait_stops sleeps on */
	sigaddset(&hold, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &hold, &pp->saved_mask) == 0)
		pp->masked = true;
}

static void restore_signals(struct ptrace_pause *pp)
{
	if (pp->masked)
		sigprocmask(SIG_SETMASK, &pp->saved_mask, NULL);
	pp->masked = false;
}

/* One non-blocking look at a seized or dead thread.
 *
 * waitid with WNOWAIT only peeks: a stop needs no collecting (PTRACE_DETACH
 * clears it), and an exit is reaped here except for the process leader
 * when strobe is also its parent (`strobe run`), whose exit status belongs
 * to the parent's own wait. */
static void poll_thread(struct ptrace_pause *pp, struct ptrace_thread *t)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	int r = waitid(P_PID, (id_t)t->tid, &si, WEXITED | WSTOPPED | WNOHANG | WNOWAIT | __WALL);
	if (r == 0 && si.si_pid == t->tid) {
		if (si.si_code == CLD_TRAPPED || si.si_code == CLD_STOPPED) {
			t->state = T_STOPPED | (t->state & T_FRESH);
			/* si_status is the stop's signal, plus the ptrace event
			 * <<8: none for a signal-delivery stop, whose signal
			 * must be handed back; PTRACE_EVENT_STOP for our
			 * interrupt or a group stop, which detach resolves */
			t->sig = (si.si_status >> 8) == 0 ? (si.si_status & 0x7f) : 0;
		} else if (si.si_code == CLD_EXITED || si.si_code == CLD_KILLED ||
			   si.si_code == CLD_DUMPED) {
			int status;
			if (!(pp->own_child && t->tid == pp->pid))
				waitpid(t->tid, &status, __WALL | WNOHANG);
			t->state = T_GONE;
		}
	} else if (r < 0 && errno == ECHILD) {
		/* not waitable any more: gone (or, for a `run` child, its
		 * stop was collected by the parent's own wait) */
		if (STATE(t) == T_DEAD || thread_exiting(pp->pid, t->tid))
			t->state = T_GONE;
	}
}

/* Whether strobe is pid's parent (then its exit status is not ours). */
static bool parent_of(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	struct task_stat st;
	return task_stat_parse(buf, n, &st) == 0 && st.fields >= 2 && st.ppid == getpid();
}

/* Seize and interrupt tid.  0 seized, 1 skipped (gone or exiting), or an
 * error. */
static int seize(struct ptrace_pause *pp, pid_t tid)
{
	if (ptrace(PTRACE_SEIZE, tid, (void *)0, (void *)0) != 0) {
		if (errno == ESRCH)
			return 1;
		if (errno == EPERM) {
			if (thread_exiting(pp->pid, tid))
				return 1;
			pp->failed_tid = tid;
			pp->tracer = tracer_of(pp->pid, tid);
			return ERR_PERM;
		}
		return ERR_IO;
	}
	VEC_RESERVE(pp->threads, pp->cap, pp->n + 1);
	struct ptrace_thread *t = &pp->threads[pp->n++];
	t->tid = tid;
	t->state = T_SEIZED | T_FRESH;
	t->sig = 0;
	/* ESRCH here: it died right after the seize; its exit shows in waitpid */
	ptrace(PTRACE_INTERRUPT, tid, (void *)0, (void *)0);
	return 0;
}

/* Collect the stops of this call's threads, up to PTRACE_STOP_WAIT_NS.
 *
 * Between looks strobe sleeps until a SIGCHLD (each stop sends one) rather
 * than polling: a tracer that keeps the CPU can catch a thread before it
 * has left the run queue, and PTRACE_DETACH then waits for it to do so -
 * a whole scheduler tick (wait_task_inactive).  The sleep is sliced, so a
 * SIGCHLD that never comes (SA_NOCLDSTOP inherited) costs a little time
 * only. */
static void wait_stops(struct ptrace_pause *pp)
{
	uint64_t deadline = clock_now_ns() + PTRACE_STOP_WAIT_NS;
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		size_t waiting = 0;
		for (size_t i = 0; i < pp->n; i++) {
			struct ptrace_thread *t = &pp->threads[i];
			int s = STATE(t);
			if (s != T_SEIZED && s != T_DEAD)
				continue;
			poll_thread(pp, t);
			if (STATE(t) == T_SEIZED && (t->state & T_FRESH))
				waiting++;
		}
		if (!waiting)
			return;
		uint64_t now = clock_now_ns();
		if (now >= deadline) {
			pp->stats.late += waiting;
			return;
		}
		uint64_t slice = deadline - now < 1000000 ? deadline - now : 1000000;
		if (pp->masked) {
			struct timespec ts = { 0, (long)slice };
			sigtimedwait(&chld, NULL, &ts);
		} else {
			clock_sleep_until(now + (slice < 20000 ? slice : 20000));
		}
	}
}

/* Let t go if it is stopped; true if it no longer needs us. */
static bool detach(struct ptrace_pause *pp, struct ptrace_thread *t)
{
	int s = STATE(t);
	if (s == T_GONE)
		return true;
	if (s == T_SEIZED || s == T_DEAD)
		poll_thread(pp, t);
	s = STATE(t);
	if (s == T_GONE)
		return true;
	if (s == T_DEAD)
		return false;
	/* A late thread is tried too: its stop may have been collected by
	 * someone else's wait (strobe run's own child watch). */
	if (ptrace(PTRACE_DETACH, t->tid, (void *)0, (void *)(long)(s == T_STOPPED ? t->sig : 0)) == 0) {
		t->state = T_GONE;
		return true;
	}
	if (s == T_STOPPED || thread_exiting(pp->pid, t->tid)) {
		/* killed while held (the target is exiting): reap it, or the
		 * process's exit would wait for us */
		t->state = T_DEAD;
		poll_thread(pp, t);
		return STATE(t) == T_GONE;
	}
	return false; /* late: still running in the kernel towards its stop */
}

void ptrace_resume_all(struct ptrace_pause *pp)
{
	for (size_t i = 0; i < pp->n; i++) {
		detach(pp, &pp->threads[i]);
		pp->threads[i].state &= ~T_FRESH;
	}
	compact(pp);
	restore_signals(pp);
}

/* Any thread still held or seized? */
static size_t held(const struct ptrace_pause *pp)
{
	size_t n = 0;
	for (size_t i = 0; i < pp->n; i++)
		if (STATE(&pp->threads[i]) == T_STOPPED || STATE(&pp->threads[i]) == T_SEIZED)
			n++;
	return n;
}

int ptrace_pause_all(struct ptrace_pause *pp, pid_t pid)
{
	int rc = 0;
	if (pp->pid != pid || !pp->checked) {
		pp->own_child = parent_of(pid);
		pp->checked = true;
	}
	pp->pid = pid;
	pp->failed_tid = 0;
	pp->tracer = 0;
	block_signals(pp);
	if (!pp->list) {
		pp->list_cap = PTRACE_MAX_THREADS + 1;
		pp->list = xcalloc(pp->list_cap, sizeof(*pp->list));
	}
	for (int pass = 0; pass < MAX_LISTINGS; pass++) {
		size_t m;
		rc = task_list(pid, pp->list, pp->list_cap, &m);
		if (rc)
			goto fail;
		if (m > PTRACE_MAX_THREADS) {
			rc = ERR_LIMIT;
			goto fail;
		}
		size_t before = pp->n;
		for (size_t i = 0; i < m; i++) {
			if (find(pp, before, pp->list[i]))
				continue;
			rc = seize(pp, pp->list[i]);
			if (rc < 0)
				goto fail;
		}
		size_t added = pp->n - before;
		if (added)
			qsort(pp->threads, pp->n, sizeof(*pp->threads), cmp_tid);
		if (pass > 0 && !added)
			break;
		if (pass > 0)
			pp->stats.relists++;
		wait_stops(pp);
		if (!added)
			break;
	}
	rc = 0;
	if (!held(pp) && !task_alive(pid)) {
		rc = ERR_NOPROC;
		goto fail;
	}
	pp->stats.pauses++;
	if (pp->n > pp->stats.max_threads)
		pp->stats.max_threads = pp->n;
	return 0;
fail:
	ptrace_resume_all(pp);
	return rc;
}

void ptrace_pause_release(struct ptrace_pause *pp)
{
	uint64_t deadline = clock_now_ns() + PTRACE_RELEASE_WAIT_NS;
	for (;;) {
		size_t left = 0;
		for (size_t i = 0; i < pp->n; i++)
			if (!detach(pp, &pp->threads[i]))
				left++;
		compact(pp);
		uint64_t now = clock_now_ns();
		if (!left || now >= deadline)
			break;
		clock_sleep_until(now + 1000000);
	}
	restore_signals(pp);
	free(pp->threads);
	free(pp->list);
	memset(pp, 0, sizeof(*pp));
}
