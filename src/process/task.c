#include "process/task.h"

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A decimal number at p, at most max, that a space or newline before end
 * ends (a number running into end may have been cut by a short read).
 * The position after it, or NULL. */
static const char *parse_uint(const char *p, const char *end, uint64_t max, uint64_t *v)
{
	const char *start = p;
	uint64_t x = 0;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (x > (max - d) / 10)
			return NULL;
		x = x * 10 + d;
	}
	if (p == start || p == end || (*p != ' ' && *p != '\n'))
		return NULL;
	*v = x;
	return p;
}

/* A stat field strobe does not keep: an optional '-' and digits, ended
 * as in parse_uint.  The position after it, or NULL. */
static const char *skip_int(const char *p, const char *end)
{
	uint64_t ignored;
	if (p < end && *p == '-')
		p++;
	return parse_uint(p, end, UINT64_MAX, &ignored);
}

int task_stat_parse(const char *buf, size_t len, struct task_stat *st)
{
	memset(st, 0, sizeof(*st));
	/* the last ')' ends comm: only numbers follow it */
	const char *close = len ? memrchr(buf, ')', len) : NULL;
	if (!close)
		return ERR_INVAL;
	const char *p = close + 1, *end = buf + len;
	if (end - p < 2 || p[0] != ' ' || !((p[1] >= 'A' && p[1] <= 'Z') || (p[1] >= 'a' && p[1] <= 'z')))
		return ERR_INVAL;
	st->state = (unsigned char)p[1];
	st->fields = 1;
	p += 2;
	while (st->fields < TASK_STAT_STARTSTACK && p < end && *p == ' ') {
		int field = st->fields + 1;
		uint64_t v = 0;
		const char *next;
		p++;
		if (field == 2)
			next = parse_uint(p, end, INT_MAX, &v);
		else if (field == TASK_STAT_STARTSTACK)
			next = parse_uint(p, end, UINT64_MAX, &v);
		else
			next = skip_int(p, end);
		if (!next)
			break;
		if (field == 2)
			st->ppid = (pid_t)v;
		else if (field == TASK_STAT_STARTSTACK)
			st->startstack = v;
		st->fields = field;
		p = next;
	}
	return 0;
}

void task_status_parse(const char *buf, size_t len, struct task_status *st)
{
	const struct {
		const char *key;
		long *value;
	} keys[] = {
		{ "Tgid:", &st->tgid },
		{ "PPid:", &st->ppid },
		{ "TracerPid:", &st->tracer_pid },
	};
	st->tgid = st->ppid = st->tracer_pid = -1;
	const char *p = buf, *end = buf + len;
	const char *nl;
	/* whole lines only: the last one of a short read may be cut */
	for (; p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL; p = nl + 1) {
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			size_t klen = strlen(keys[k].key);
			if ((size_t)(nl - p) < klen || memcmp(p, keys[k].key, klen) != 0 ||
			    *keys[k].value >= 0)
				continue;
			const char *q = p + klen;
			uint64_t v;
			while (q < nl && (*q == ' ' || *q == '\t'))
				q++;
			if (parse_uint(q, nl + 1, INT_MAX, &v) == nl)
				*keys[k].value = (long)v;
		}
	}
}

/* Up to cap bytes from the start of a small /proc file, in one read (the
 * kernel fills the buffer from one snapshot); the count, or -1. */
static ssize_t read_head(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, cap);
	int e = errno;
	close(fd);
	errno = e;
	return n;
}

bool task_alive(pid_t pid)
{
	if (kill(pid, 0) != 0 && errno != EPERM)
		return false;
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	ssize_t n = read_head(path, buf, sizeof(buf));
	if (n < 0)
		return errno != ENOENT;
	struct task_stat st;
	return !(task_stat_parse(buf, (size_t)n, &st) == 0 && (st.state == 'Z' || st.state == 'X'));
}

int task_run_state(pid_t pid, pid_t tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	ssize_t n = read_head(path, buf, sizeof(buf));
	struct task_stat st;
	if (n <= 0 || task_stat_parse(buf, (size_t)n, &st) != 0)
		return -1;
	return st.state;
}

int task_list(pid_t pid, pid_t *tids, size_t max, size_t *n)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	*n = 0;
	if (!d)
		return errno == ENOENT ? ERR_NOPROC : ERR_PERM;
	struct dirent *de;
	while ((de = readdir(d)) != NULL && *n < max) {
		char *end;
		long t = strtol(de->d_name, &end, 10);
		if (*end || t <= 0)
			continue;
		tids[(*n)++] = (pid_t)t;
	}
	closedir(d);
	return 0;
}

/* The parent pid in /proc/<name>/stat (procfd: /proc), or -1. */
static pid_t stat_ppid(int procfd, const char *name)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "%s/stat", name);
	int fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t len = read(fd, buf, sizeof(buf));
	close(fd);
	struct task_stat st;
	if (len <= 0 || task_stat_parse(buf, (size_t)len, &st) != 0 || st.fields < 2)
		return -1;
	return st.ppid;
}

struct proc_link {
	pid_t pid, ppid;
};

static int by_ppid(const void *a, const void *b)
{
	const struct proc_link *x = a, *y = b;
	return (x->ppid > y->ppid) - (x->ppid < y->ppid);
}

/* First link whose parent is ppid (links sorted by parent), or n. */
static size_t first_child(const struct proc_link *links, size_t n, pid_t ppid)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (links[mid].ppid < ppid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* known's value: the parent, and whether the pid was a descendant of root */
#define TASK_TREE_DESC (UINT64_C(1) << 32)

void task_tree_init(struct task_tree *t)
{
	memset(t, 0, sizeof(*t));
	t->last_pid = -1;
	u64map_init(&t->known);
	u64map_init(&t->fresh);
}

void task_tree_release(struct task_tree *t)
{
	u64map_release(&t->known);
	u64map_release(&t->fresh);
	free(t->links);
	free(t->queue);
	memset(t, 0, sizeof(*t));
	t->last_pid = -1;
}

/* A number from a one-line /proc file, or -1. */
static long read_number(const char *path)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = '\0';
	char *end;
	long v = strtol(buf, &end, 10);
	return end == buf || v < 0 ? -1 : v;
}

/* List /proc into t->links (pid, parent) and t->fresh.  Returns the number
 * of links, or a negative ERR_*. */
static long list_procs(struct task_tree *t, pid_t root)
{
	DIR *d = opendir("/proc");
	if (!d)
		return ERR_IO;
	struct proc_link *links = t->links;
	size_t n = 0;
	bool found = false;
	struct dirent *de;
	u64map_clear(&t->fresh);
	while ((de = readdir(d)) != NULL && n < TASK_MAX_PROCS) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		char *end;
		long p = strtol(de->d_name, &end, 10);
		if (*end || p <= 0 || p > INT_MAX)
			continue;
		if (p == root) {
			found = true;
			continue;
		}
		const uint64_t *old = u64map_get(&t->known, (uint64_t)p);
		pid_t ppid;
		if (old && !(*old & TASK_TREE_DESC))
			ppid = (pid_t)(*old & 0xffffffffu); /* not a descendant: stays so */
		else if ((ppid = stat_ppid(dirfd(d), de->d_name)) < 0)
			continue;
		VEC_RESERVE(links, t->links_cap, n + 1);
		links[n++] = (struct proc_link){ (pid_t)p, ppid };
		u64map_put(&t->fresh, (uint64_t)p, (uint64_t)(uint32_t)ppid);
	}
	closedir(d);
	t->links = links;
	return found ? (long)n : ERR_NOPROC;
}

int task_tree_children(struct task_tree *t, pid_t pid, bool recursive, pid_t *out, size_t max,
		       size_t *n)
{
	*n = 0;
	if (t->root != pid) {
		/* the descendant marks were for another root */
		u64map_clear(&t->known);
		t->root = pid;
	}
	/* before listing: what is handed out afterwards, the next look sees */
	t->last_pid = read_number("/proc/sys/kernel/ns_last_pid");
	long nl = list_procs(t, pid);
	if (nl < 0) {
		u64map_clear(&t->known);
		return (int)nl;
	}
	size_t nlinks = (size_t)nl;
	struct proc_link *links = t->links;
	if (nlinks)
		qsort(links, nlinks, sizeof(*links), by_ppid);
	/* breadth first over every descendant (all are marked for the next
	 * scan); the first max go to out.  Each link is taken once (its pid
	 * cleared), so a torn snapshot showing a cycle cannot loop. */
	VEC_RESERVE(t->queue, t->queue_cap, nlinks + 1);
	size_t head = 0, tail = 0;
	pid_t parent = pid;
	for (;;) {
		for (size_t i = first_child(links, nlinks, parent);
		     i < nlinks && links[i].ppid == parent; i++) {
			if (links[i].pid == 0)
				continue;
			pid_t c = links[i].pid;
			links[i].pid = 0;
			t->queue[tail++] = c;
			uint64_t *v = u64map_get(&t->fresh, (uint64_t)c);
			if (v)
				*v |= TASK_TREE_DESC;
			if ((recursive || parent == pid) && *n < max)
				out[(*n)++] = c;
		}
		if (head >= tail)
			break;
		parent = t->queue[head++];
	}
	struct u64map tmp = t->known;
	t->known = t->fresh;
	t->fresh = tmp;
	return 0;
}

/* Tgid and PPid of /proc/<pid>/status; 0, or -1 when gone. */
static int status_ids(long pid, long *tgid, long *ppid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	/* Tgid and PPid are among the first lines */
	ssize_t len = read_head(path, buf, sizeof(buf));
	if (len <= 0)
		return -1;
	struct task_status st;
	task_status_parse(buf, (size_t)len, &st);
	if (st.tgid < 0 || st.ppid < 0)
		return -1;
	*tgid = st.tgid;
	*ppid = st.ppid;
	return 0;
}

int task_tree_born(struct task_tree *t, pid_t pid, pid_t *out, size_t max, size_t *n)
{
	*n = 0;
	if (t->root != pid || t->last_pid < 0)
		return ERR_INVAL;
	long now = read_number("/proc/sys/kernel/ns_last_pid");
	if (now < 0)
		return ERR_NOTFOUND;
	if (now == t->last_pid)
		return 0;
	if (!t->pid_max)
		t->pid_max = read_number("/proc/sys/kernel/pid_max");
	long count = now - t->last_pid;
	if (count < 0) /* wrapped: pids go on from the bottom */
		count += t->pid_max > 0 ? t->pid_max : TASK_MAX_PROCS;
	if (count > TASK_BORN_MAX) {
		t->last_pid = now; /* those are left to the next scan */
		return ERR_LIMIT;
	}
	/* in the order handed out, so a child is seen before its children */
	long c = t->last_pid;
	for (long i = 0; i < count; i++) {
		if (++c >= (t->pid_max > 0 ? t->pid_max : (long)TASK_MAX_PROCS))
			c = 1;
		long tgid, ppid;
		if (c == pid || status_ids(c, &tgid, &ppid) != 0 || tgid != c || ppid < 0 ||
		    ppid > INT_MAX)
			continue; /* gone already, or a thread */
		const uint64_t *pv = u64map_get(&t->known, (uint64_t)ppid);
		bool desc = ppid == pid || (pv && (*pv & TASK_TREE_DESC));
		u64map_put(&t->known, (uint64_t)c, (uint64_t)ppid | (desc ? TASK_TREE_DESC : 0));
		if (desc && *n < max)
			out[(*n)++] = (pid_t)c;
	}
	t->last_pid = now;
	return 0;
}

int task_children(pid_t pid, bool recursive, pid_t *out, size_t max, size_t *n)
{
	struct task_tree t;
	task_tree_init(&t);
	int rc = task_tree_children(&t, pid, recursive, out, max, n);
	task_tree_release(&t);
	return rc;
}

int task_image(pid_t pid, struct task_image *img)
{
	char path[64], buf[1024];
	struct stat st;
	memset(img, 0, sizeof(*img));
	/* stat first, exe second: both come from the process's memory
	 * descriptor, which an exiting process drops (startstack then reads
	 * 0).  In this order a process that loses it between the two reads
	 * fails the second instead of showing a new image, as if it exec'd. */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	ssize_t len = read_head(path, buf, sizeof(buf));
	struct task_stat ts;
	if (len <= 0 || task_stat_parse(buf, (size_t)len, &ts) != 0 ||
	    ts.fields < TASK_STAT_STARTSTACK)
		return ERR_NOPROC;
	img->ppid = ts.ppid;
	img->stack = ts.startstack;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if (stat(path, &st) != 0)
		return errno == EACCES || errno == EPERM ? ERR_PERM : ERR_NOPROC;
	img->dev = (uint64_t)st.st_dev;
	img->ino = (uint64_t)st.st_ino;
	return 0;
}

void pthread_tid_init(struct pthread_tid *pt)
{
	memset(pt, 0, sizeof(*pt));
	pt->ncand = -1;
}

/* glibc's struct pthread is ~2.3 KiB; musl's is much smaller.  Its tid sits
 * well inside the first 4 KiB in every libc seen. */
#define PTHREAD_SCAN 4096

int pthread_tid_calibrate(struct pthread_tid *pt, struct mem_source *mem, pid_t pid,
			  raddr_t main_pthread)
{
	unsigned char block[PTHREAD_SCAN];
	size_t len = sizeof(block);
	/* the block may end near a mapping end: shrink until readable */
	while (len >= 256 && mem_read(mem, main_pthread, block, len) != 0)
		len /= 2;
	if (len < 256)
		return ERR_NOTFOUND;
	pt->ncand = 0;
	for (size_t off = 0; off + 4 <= len && pt->ncand < PTHREAD_TID_MAX_CANDIDATES; off += 4)
		if (rd_u32(block, off) == (uint32_t)pid)
			pt->cand[pt->ncand++] = (uint32_t)off;
	if (pt->ncand == 0) {
		pt->ncand = -1;
		return ERR_NOTFOUND;
	}
	return 0;
}

void pthread_tid_refine(struct pthread_tid *pt, struct mem_source *mem, struct task_ns *ns,
			raddr_t pthread)
{
	if (pt->ncand <= 1)
		return;
	uint32_t v[PTHREAD_TID_MAX_CANDIDATES];
	bool differ = false;
	/* the candidates lie within PTHREAD_SCAN bytes, in ascending order: one
	 * read of their span rather than one per candidate (this runs for
	 * other threads while candidates remain) */
	unsigned char block[PTHREAD_SCAN];
	uint32_t lo = pt->cand[0], span = pt->cand[pt->ncand - 1] + 4 - lo;
	bool whole = span <= sizeof(block) && mem_read(mem, pthread + lo, block, span) == 0;
	for (int i = 0; i < pt->ncand; i++) {
		assert(pt->cand[i] >= lo && pt->cand[i] + 4 - lo <= span);
		bool got = whole ? (v[i] = rd_u32(block, pt->cand[i] - lo), true)
				 : mem_read(mem, pthread + pt->cand[i], &v[i], sizeof(v[i])) == 0;
		/* another thread's block holds the main thread's tid only at
		 * offsets that are not the tid (in a PID namespace the main
		 * thread is 1, a value many words hold) */
		if (!got || v[i] == (uint32_t)ns->ns_pid)
			v[i] = 0;
		differ |= v[i] != v[0];
	}
	/* candidates that agree teach nothing: the thread list (a /proc scan)
	 * is read only when they do not */
	if (!differ)
		return;
	pid_t tids[4096];
	size_t n;
	if (task_ns_tids(ns, tids, 4096, &n) != 0)
		return;
	int keep = 0;
	for (int i = 0; i < pt->ncand; i++)
		for (size_t k = 0; v[i] && k < n; k++)
			if ((uint32_t)tids[k] == v[i]) {
				pt->cand[keep++] = pt->cand[i];
				break;
			}
	if (keep > 0)
		pt->ncand = keep;
}

int task_parse_nspid(const char *text, size_t len, pid_t *outer, pid_t *inner)
{
	const char *end = text + len;
	for (const char *line = text; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *stop = nl ? nl : end;
		if (stop - line > 6 && memcmp(line, "NSpid:", 6) == 0) {
			long first = -1, last = -1;
			const char *p = line + 6;
			/* at most 33 levels: MAX_PID_NS_LEVEL is 32 */
			for (int k = 0; k < 33 && p < stop; k++) {
				while (p < stop && (*p == ' ' || *p == '\t'))
					p++;
				long v = 0;
				const char *d = p;
				while (p < stop && *p >= '0' && *p <= '9' && p - d < 10)
					v = v * 10 + (*p++ - '0');
				if (p == d || v <= 0 || v > INT_MAX)
					break;
				if (first < 0)
					first = v;
				last = v;
			}
			if (first < 0)
				return ERR_NOTFOUND;
			*outer = (pid_t)first;
			*inner = (pid_t)last;
			return 0;
		}
		line = stop + 1;
	}
	return ERR_NOTFOUND;
}

/* NSpid of /proc/PID/task/TID/status (tid 0: /proc/PID/status). */
static int read_nspid(pid_t pid, pid_t tid, pid_t *outer, pid_t *inner)
{
	char path[64], buf[4096];
	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH ? ERR_NOPROC : ERR_PERM;
	ssize_t len = read(fd, buf, sizeof(buf));
	close(fd);
	if (len <= 0)
		return ERR_NOPROC;
	return task_parse_nspid(buf, (size_t)len, outer, inner);
}

int task_ns_init(struct task_ns *ns, pid_t pid)
{
	memset(ns, 0, sizeof(*ns));
	u64map_init(&ns->to_host);
	ns->pid = ns->ns_pid = pid;
	pid_t outer, inner;
	int rc = read_nspid(pid, 0, &outer, &inner);
	if (rc == ERR_NOPROC)
		return rc;
	if (rc == 0 && outer == pid && inner != pid) {
		ns->ns_pid = inner;
		ns->nested = true;
	}
	return 0;
}

void task_ns_release(struct task_ns *ns)
{
	u64map_release(&ns->to_host);
}

/* Threads are looked for again at most this often when an unknown tid
 * turns up (a thread born since, or a bad id read from a torn state). */
#define TASK_NS_RESCAN_NS 10000000ULL
/* Threads one scan reads. */
#define TASK_NS_MAX_THREADS 65536

/* Rebuild the map from /proc/PID/task; the target's ids of the threads
 * go to tids (up to max) when tids is not NULL.  0, ERR_NOPROC, ERR_PERM. */
static int ns_scan(struct task_ns *ns, pid_t *tids, size_t max, size_t *n)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)ns->pid);
	DIR *d = opendir(path);
	if (n)
		*n = 0;
	if (!d)
		return errno == ENOENT ? ERR_NOPROC : ERR_PERM;
	ns->next_scan_ns = clock_now_ns() + TASK_NS_RESCAN_NS;
	u64map_clear(&ns->to_host);
	struct dirent *de;
	size_t seen = 0;
	while ((de = readdir(d)) != NULL && seen < TASK_NS_MAX_THREADS) {
		char *end;
		long t = strtol(de->d_name, &end, 10);
		if (*end || t <= 0 || t > INT_MAX)
			continue;
		seen++;
		pid_t outer, inner;
		if (read_nspid(ns->pid, (pid_t)t, &outer, &inner) != 0 || outer != (pid_t)t)
			continue; /* gone meanwhile */
		u64map_put(&ns->to_host, (uint64_t)inner, (uint64_t)outer);
		if (tids && *n < max)
			tids[(*n)++] = inner;
	}
	closedir(d);
	return 0;
}

pid_t task_ns_host_tid(struct task_ns *ns, pid_t tid)
{
	if (!ns->nested)
		return tid;
	if (tid <= 0)
		return -1;
	uint64_t *v = u64map_get(&ns->to_host, (uint64_t)tid);
	if (v)
		return (pid_t)*v;
	if (clock_now_ns() < ns->next_scan_ns)
		return -1;
	ns_scan(ns, NULL, 0, NULL);
	v = u64map_get(&ns->to_host, (uint64_t)tid);
	return v ? (pid_t)*v : -1;
}

int task_ns_tids(struct task_ns *ns, pid_t *tids, size_t max, size_t *n)
{
	if (!ns->nested)
		return task_list(ns->pid, tids, max, n);
	return ns_scan(ns, tids, max, n);
}
