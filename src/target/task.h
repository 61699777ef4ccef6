/* task.h - processes and threads of the target, seen through /proc. */
#ifndef STROBE_TARGET_TASK_H
#define STROBE_TARGET_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "target/mem.h"

/* Whether pid exists (a zombie counts as gone).  EPERM counts as alive. */
bool task_alive(pid_t pid);

/* The run state letter of thread tid of pid ('R' running or runnable, 'S'
 * sleeping, 'D', 'T', 'Z', ...) from /proc/PID/task/TID/stat, or -1. */
int task_run_state(pid_t pid, pid_t tid);

/* Thread ids of pid, up to max.  0 with *n, or ERR_NOPROC/ERR_PERM. */
int task_list(pid_t pid, pid_t *tids, size_t max, size_t *n);

/* Where the kernel thread id lives inside the C library's thread control
 * block (glibc's or musl's struct pthread), so that a pthread_t (what
 * CPython 3.8-3.10 store as thread_id) can be turned into an OS thread id.
 * The offset is not part of any ABI, so it is found by looking: the main
 * thread's block must contain the process id (its TID) at the offset. */
#define PTHREAD_TID_MAX_CANDIDATES 8
struct pthread_tid {
	uint32_t cand[PTHREAD_TID_MAX_CANDIDATES]; /* candidate offsets, lowest first */
	int ncand;                                 /* -1 = not calibrated */
};

void pthread_tid_init(struct pthread_tid *pt);
/* Calibrate from the main thread's pthread_t.  0, or ERR_NOTFOUND. */
int pthread_tid_calibrate(struct pthread_tid *pt, struct mem_source *mem, pid_t pid,
			  raddr_t main_pthread);
/* The remote address holding the TID of thread pthread (after calibration). */
static inline raddr_t pthread_tid_addr(const struct pthread_tid *pt, raddr_t pthread)
{
	return pthread + pt->cand[0];
}
/* Drop candidate offsets that gave tid for a thread of pid that is not in
 * its task list; called when a value looks wrong. */
void pthread_tid_refine(struct pthread_tid *pt, struct mem_source *mem, pid_t pid, raddr_t pthread);

#endif
