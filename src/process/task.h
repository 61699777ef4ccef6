/* task.h - processes and threads of the target, seen through /proc. */
#ifndef STROBE_PROCESS_TASK_H
#define STROBE_PROCESS_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/hash.h"
#include "process/mem.h"

/* Whether pid exists (a zombie counts as gone).  EPERM counts as alive. */
bool task_alive(pid_t pid);

/* The run state letter of thread tid of pid ('R' running or runnable, 'S'
 * sleeping, 'D', 'T', 'Z', ...) from /proc/PID/task/TID/stat, or -1. */
int task_run_state(pid_t pid, pid_t tid);

/* What strobe uses of a /proc/PID/stat (or task/TID/stat) line:
 * "pid (comm) state ppid ... startstack ...".  comm is the target's
 * choice (prctl(PR_SET_NAME) allows ')', spaces and newlines), so it ends
 * at the last ')'; every field after it is a number.  fields counts the
 * fields read after comm (state is 1, ppid 2, startstack 26): a field
 * counts only when a space or newline ends it inside buf, so a read cut
 * short never yields a truncated number. */
struct task_stat {
	int state;           /* 'R', 'S', 'D', 'Z', ... */
	pid_t ppid;          /* when fields >= 2 */
	uint64_t startstack; /* when fields >= TASK_STAT_STARTSTACK */
	int fields;
};
#define TASK_STAT_STARTSTACK 26
/* Parse len bytes of buf (no NUL needed; nothing past len is read):
 * 0 when at least the state was found, else ERR_INVAL.  Pure: the fuzz
 * target tests/fuzz/fuzz_proc.c drives it. */
int task_stat_parse(const char *buf, size_t len, struct task_stat *st);

/* What strobe uses of /proc/PID/status ("Key:\tvalue" lines); -1 for a
 * key that is absent, malformed or on a line cut short.  The first of
 * duplicate keys wins.  Pure, like task_stat_parse. */
struct task_status {
	long tgid, ppid, tracer_pid;
};
void task_status_parse(const char *buf, size_t len, struct task_status *st);

/* Thread ids of pid, up to max.  0 with *n, or ERR_NOPROC/ERR_PERM. */
int task_list(pid_t pid, pid_t *tids, size_t max, size_t *n);

/* Bound on the processes one scan of /proc looks at (Linux's pid_max is
 * at most 2^22). */
#define TASK_MAX_PROCS (1u << 22)

/* The children of pid (recursive: children, grandchildren, ... breadth
 * first), found by reading the parent link of every /proc/N/stat - as
 * Tachyon's get_child_pids does.  pid itself is never listed; at most max
 * pids are stored (*n == max: there may be more).  The scan is not atomic:
 * a process born or reparented meanwhile may be missed until the next one.
 * 0 with *n, ERR_NOPROC when pid is not in /proc, ERR_IO when /proc cannot
 * be listed. */
int task_children(pid_t pid, bool recursive, pid_t *out, size_t max, size_t *n);

/* The same, for one pid watched over and over (--subprocesses polls every
 * 100 ms): a task_tree remembers each pid's parent between scans, so a
 * scan lists /proc and reads the stat of new pids and of the descendants
 * found last time (their parent may have died) only.  Sound because a
 * process that is not a descendant can never become one (a reparented
 * process moves to init or to a subreaper above it), and a pid listed by
 * two scans 100 ms apart is one process (pids are handed out cyclically). */
struct task_tree {
	pid_t root;             /* the pid the cached descendant marks are for */
	struct u64map known;    /* pid -> parent | TASK_TREE_DESC, as last read */
	struct u64map fresh;    /* the one being built */
	long last_pid;          /* ns_last_pid at the last look, -1 unknown */
	long pid_max;           /* /proc/sys/kernel/pid_max, 0 unknown */
	void *links;            /* scratch, reused */
	size_t links_cap;
	pid_t *queue;
	size_t queue_cap;
};
void task_tree_init(struct task_tree *t);
void task_tree_release(struct task_tree *t);
int task_tree_children(struct task_tree *t, pid_t pid, bool recursive, pid_t *out, size_t max,
		       size_t *n);

/* Most pids task_tree_born looks at one by one. */
#define TASK_BORN_MAX 1024

/* The descendants of pid born since the last look (task_tree_children for
 * the same pid, or this), without listing /proc: the kernel's last handed
 * out pid (/proc/sys/kernel/ns_last_pid) tells which pids are new, and only
 * their /proc/N/status is read (threads are skipped).  A look that finds
 * no new pid costs one small read, so it can run far more often than a
 * scan.  A process born and gone between two looks is not seen.
 * 0 with *n (maybe 0); ERR_LIMIT when more than TASK_BORN_MAX pids were
 * handed out (they are skipped: the next scan finds what they hold);
 * ERR_NOTFOUND when ns_last_pid cannot be read;
 * ERR_INVAL when pid was not scanned first. */
int task_tree_born(struct task_tree *t, pid_t pid, pid_t *out, size_t max, size_t *n);

/* What program image pid runs: the file of /proc/PID/exe, and where its
 * main stack starts, which moves with every exec (address space layout
 * randomisation), even of the same file.  A child that forked and has not
 * exec'd has its parent's image. */
struct task_image {
	uint64_t dev, ino;   /* of the executable */
	uint64_t stack;      /* startstack in /proc/PID/stat (0 if we may not see it) */
	pid_t ppid;
};
/* 0, or ERR_NOPROC (gone, or a zombie), ERR_PERM. */
int task_image(pid_t pid, struct task_image *img);
static inline bool task_image_same(const struct task_image *a, const struct task_image *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->stack == b->stack;
}

/* Where the kernel thread id lives inside the C library's thread control
 * block (glibc's or musl's struct pthread), so that a pthread_t (what
 * CPython 3.8-3.10 store as thread_id) can be turned into an OS thread id.
 * The offset is not part of any ABI, so it is found by looking: the main
 * thread's block must contain the process id (its TID) at the offset. */
/* In a PID namespace the main thread's TID is 1, a value many words of the
 * block hold: keep enough candidates for the real one to be among them. */
#define PTHREAD_TID_MAX_CANDIDATES 64
struct pthread_tid {
	uint32_t cand[PTHREAD_TID_MAX_CANDIDATES]; /* candidate offsets, lowest first */
	int ncand;                                 /* -1 = not calibrated */
};

void pthread_tid_init(struct pthread_tid *pt);
/* Calibrate from the main thread's pthread_t; pid as the process itself
 * sees it (its TID in its own PID namespace).  0, or ERR_NOTFOUND. */
int pthread_tid_calibrate(struct pthread_tid *pt, struct mem_source *mem, pid_t pid,
			  raddr_t main_pthread);
/* The remote address holding the TID of thread pthread (after calibration). */
static inline raddr_t pthread_tid_addr(const struct pthread_tid *pt, raddr_t pthread)
{
	return pthread + pt->cand[0];
}
struct task_ns;
/* Drop candidate offsets that give thread pthread (not the main thread) a
 * tid that is not one of the process's threads (as it numbers them:
 * task_ns_tids); called for other threads while candidates remain. */
void pthread_tid_refine(struct pthread_tid *pt, struct mem_source *mem, struct task_ns *ns,
			raddr_t pthread);

/* The target's own thread ids (what it stores and shows:
 * threading.get_native_id(), gettid()) are ids in its PID namespace; /proc
 * and ptrace here use the ids of strobe's.  A container's process 1 is
 * some other number on the host.  task_ns translates, through the NSpid:
 * lines of /proc/PID/task/TID/status (ids from this /proc's namespace down
 * to the task's own). */
struct task_ns {
	pid_t pid;               /* the process, in our /proc */
	pid_t ns_pid;            /* the same, in its own namespace */
	bool nested;             /* ns_pid != pid: translation needed */
	struct u64map to_host;   /* its tid -> our tid, for threads seen */
	uint64_t next_scan_ns;   /* an unknown tid rescans no sooner than this */
};
/* Always usable afterwards (an unreadable status: no translation).
 * 0, or ERR_NOPROC. */
int task_ns_init(struct task_ns *ns, pid_t pid);
void task_ns_release(struct task_ns *ns);
/* The id in our /proc of the target's thread tid, or -1 when no such
 * thread is listed (a new thread is looked for at most every few ms). */
pid_t task_ns_host_tid(struct task_ns *ns, pid_t tid);
/* The target's thread ids as it sees them, up to max.  0 with *n, or
 * ERR_NOPROC/ERR_PERM. */
int task_ns_tids(struct task_ns *ns, pid_t *tids, size_t max, size_t *n);
/* From a /proc/.../status text: the first (outermost, as this /proc sees
 * it) and last (the task's own) numbers of its NSpid: line.  0, or
 * ERR_NOTFOUND (no such line: a kernel before 4.1). */
int task_parse_nspid(const char *text, size_t len, pid_t *outer, pid_t *inner);

#endif
