/* ptrace.h - holding every thread of a process still around a read
 * (--blocking), with Linux ptrace.
 *
 * ptrace_pause_all lists /proc/PID/task and, for each thread, PTRACE_SEIZEs
 * it and sends PTRACE_INTERRUPT, then collects the stops with
 * waitid(__WALL).  The listing is repeated until it finds no new thread
 * (at most four listings), so a thread created by one that was still
 * running is held too.  ptrace_resume_all PTRACE_DETACHes every thread
 * again.  Both are repeated for every sample, as Tachyon does; nothing
 * stays attached between samples except the rare thread described under
 * "late" below.
 *
 * The target is never killed, never written to and never left stopped:
 *  - No ptrace option is set (no PTRACE_O_EXITKILL): if strobe dies while
 *    threads are held - even by SIGKILL, which cannot be handled - the
 *    kernel detaches them as strobe exits (exit_ptrace) and wakes every
 *    thread in a ptrace stop, so the target runs on.  Only a real group
 *    stop (someone sent it SIGSTOP) survives, as it should.
 *  - A signal that arrived for a thread while it was held (a
 *    signal-delivery stop) is handed back to it at detach, so none is lost.
 *  - While threads are held, strobe blocks SIGINT, SIGTERM, SIGHUP and the
 *    job-control stops (SIGTSTP, SIGTTIN, SIGTTOU) for itself, so Ctrl-C,
 *    SIGTERM or Ctrl-Z take effect only after the threads are released.
 *    SIGCHLD is blocked too: the stops are waited for with sigtimedwait.
 *    SIGSTOP cannot be blocked: a strobe stopped with SIGSTOP in that
 *    window keeps the target held until it is continued or killed.
 *
 * "Late" threads.  Once PTRACE_INTERRUPT has been sent, a thread cannot run
 * another user-space instruction before it stops (the stop happens on its
 * way back to user space).  A thread that does not report its stop within
 * PTRACE_STOP_WAIT_NS (one in uninterruptible sleep 'D', or waiting for a
 * CPU on a loaded machine) is therefore still safe to read around, and the
 * sample goes on.  Such a thread cannot
 * be detached until it has stopped, so it stays seized (not re-seized) and
 * is detached by a later ptrace_resume_all or by ptrace_pause_release;
 * strobe's own exit releases it in the worst case.
 *
 * Usage: ptrace_pause_init once; per sample ptrace_pause_all, read,
 * ptrace_resume_all (only after ptrace_pause_all returned 0); then
 * ptrace_pause_release.  One target per struct.
 */
#ifndef STROBE_PROCESS_PTRACE_H
#define STROBE_PROCESS_PTRACE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Most threads held at once: a process with more cannot be paused. */
#define PTRACE_MAX_THREADS 4096
/* How long ptrace_pause_all waits for newly interrupted threads to stop. */
#define PTRACE_STOP_WAIT_NS 50000000ULL
/* How long ptrace_pause_release waits for late threads before leaving
 * them to the kernel's detach at strobe's exit. */
#define PTRACE_RELEASE_WAIT_NS 1000000000ULL

struct ptrace_thread {
	pid_t tid;
	int state;  /* private: seized / stopped */
	int sig;    /* signal to hand back at detach (signal-delivery stop), or 0 */
};

struct ptrace_stats {
	uint64_t pauses;        /* successful ptrace_pause_all calls */
	uint64_t late;          /* threads that had not stopped within the wait */
	uint64_t relists;       /* extra /proc listings that found new threads */
	size_t max_threads;     /* most threads held at once */
};

struct ptrace_pause {
	pid_t pid;
	struct ptrace_thread *threads;  /* held (or late) threads */
	size_t n, cap;
	pid_t *list;                    /* scratch for the /proc listing */
	size_t list_cap;
	sigset_t saved_mask;            /* strobe's mask while threads are held */
	bool masked;
	bool own_child, checked;        /* strobe is pid's parent (`run`) */
	/* After ERR_PERM: the thread that could not be seized and, if another
	 * process already traces the target (a debugger), its pid; else 0. */
	pid_t failed_tid;
	pid_t tracer;
	struct ptrace_stats stats;
};

void ptrace_pause_init(struct ptrace_pause *pp);

/* Hold every thread of pid.  Returns
 *   0            every thread is stopped (or late, see above): read, then
 *                call ptrace_resume_all
 *   ERR_NOPROC   the process is gone
 *   ERR_PERM     a live thread cannot be traced (no permission, or already
 *                traced: see failed_tid and tracer)
 *   ERR_LIMIT    more than PTRACE_MAX_THREADS threads
 *   ERR_IO       an unexpected ptrace or /proc failure
 * On any error nothing is left held (late threads aside) and
 * ptrace_resume_all must not be called. */
int ptrace_pause_all(struct ptrace_pause *pp, pid_t pid);

/* Let every held thread run again (detach), handing back pending signals;
 * restores strobe's signal mask.  Never fails: a thread that died while
 * held is reaped and forgotten. */
void ptrace_resume_all(struct ptrace_pause *pp);

/* Detach late threads (waiting up to PTRACE_RELEASE_WAIT_NS for them) and
 * free memory.  Safe to call in any state, also twice. */
void ptrace_pause_release(struct ptrace_pause *pp);

#endif
