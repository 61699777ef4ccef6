#include "process/mem.h"

#include "base/buf.h"
#include "base/error.h"

#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

enum { IOV_BATCH = 64 };

static int errno_to_err(int e)
{
	switch (e) {
	case ESRCH: return ERR_NOPROC;
	case EPERM:
	case EACCES: return ERR_PERM;
	default: return ERR_FAULT;
	}
}

/* Field 22 of /proc/PID/stat (starttime), 0 when it cannot be read; a
 * process that is gone or a zombie gives 0 too (*gone set). */
static uint64_t start_time_of(pid_t pid, bool *gone)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	*gone = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*gone = errno == ENOENT || errno == ESRCH;
		return 0;
	}
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		*gone = n < 0 && errno == ESRCH;
		return 0;
	}
	buf[n] = '\0';
	/* the command name may hold spaces and ')': fields start after the
	 * last ')', with field 3 (the state) first */
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	p += 2;
	if (*p == 'Z' || *p == 'X') {
		*gone = true;
		return 0;
	}
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return 0;
		p++;
	}
	uint64_t v = 0;
	for (int i = 0; i < 20 && *p >= '0' && *p <= '9'; i++, p++)
		v = v * 10 + (uint64_t)(*p - '0');
	return v;
}

int mem_open(struct mem_source *m, pid_t pid, raddr_t probe_addr)
{
	m->pid = pid;
	m->memfd = -1;
	m->snap = NULL;
	memset(&m->stats, 0, sizeof(m->stats));
	/* the pidfd first, then the start time: if pid was already reused
	 * when the pidfd was taken, both describe the newcomer, consistently */
	m->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (m->pidfd < 0 && errno == ESRCH)
		return ERR_NOPROC;
	bool gone;
	m->start_time = start_time_of(pid, &gone);
	if (gone) {
		mem_close(m);
		return ERR_NOPROC;
	}
	int rc = mem_probe(m, probe_addr);
	if (rc)
		mem_close(m);
	return rc;
}

bool mem_alive(const struct mem_source *m)
{
	if (m->pidfd >= 0) {
		/* readable once the process has exited */
		struct pollfd p = { .fd = m->pidfd, .events = POLLIN };
		int n = poll(&p, 1, 0);
		return n == 0 || (n < 0 && errno == EINTR);
	}
	bool gone;
	uint64_t t = start_time_of(m->pid, &gone);
	if (gone)
		return false;
	if (kill(m->pid, 0) != 0 && errno == ESRCH)
		return false;
	/* unreadable stat (hidepid=, a foreign /proc): nothing says it died */
	return !t || !m->start_time || t == m->start_time;
}

bool mem_same_process(const struct mem_source *a, const struct mem_source *b)
{
	return a->pid == b->pid && a->start_time == b->start_time;
}

int mem_probe(struct mem_source *m, raddr_t probe_addr)
{
	pid_t pid = m->pid;
	if (!probe_addr)
		return 0;
	unsigned char byte;
	struct iovec l = { &byte, 1 }, r = { (void *)(uintptr_t)probe_addr, 1 };
	if (process_vm_readv(pid, &l, 1, &r, 1, 0) == 1)
		return 0;
	int e = errno;
	if (e == ESRCH)
		return ERR_NOPROC;
	if (e != ENOSYS && e != EPERM && e != EACCES)
		return ERR_FAULT;
	/* process_vm_readv can be filtered (seccomp) while /proc/PID/mem is
	 * allowed; try it before declaring a permission problem */
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? ERR_NOPROC : errno_to_err(errno);
	if (pread(fd, &byte, 1, (off_t)probe_addr) != 1) {
		int pe = errno;
		close(fd);
		return (pe == EIO || pe == EFAULT) ? errno_to_err(e) : errno_to_err(pe);
	}
	if (m->memfd >= 0)
		close(m->memfd);
	m->memfd = fd;
	return 0;
}

void mem_close(struct mem_source *m)
{
	if (m->memfd >= 0)
		close(m->memfd);
	m->memfd = -1;
	if (m->pidfd >= 0)
		close(m->pidfd);
	m->pidfd = -1;
}

static int read_fd(struct mem_source *m, raddr_t addr, void *buf, size_t len)
{
	m->stats.calls++;
	ssize_t n = pread(m->memfd, buf, len, (off_t)addr);
	if (n == (ssize_t)len) {
		m->stats.bytes += len;
		return 0;
	}
	m->stats.faults++;
	if (n < 0 && errno == ESRCH)
		return ERR_NOPROC;
	return ERR_FAULT;
}

static int snap_read(struct mem_source *m, raddr_t addr, void *buf, size_t len);
static int snap_readv(struct mem_source *m, const struct mem_iov *iov, int n);
static int overlay_readv(struct mem_source *m, const struct mem_iov *iov, int n);

static int live_read(struct mem_source *m, raddr_t addr, void *buf, size_t len)
{
	if (m->memfd >= 0)
		return read_fd(m, addr, buf, len);
	struct iovec l = { buf, len }, r = { (void *)(uintptr_t)addr, len };
	m->stats.calls++;
	ssize_t n = process_vm_readv(m->pid, &l, 1, &r, 1, 0);
	if (n == (ssize_t)len) {
		m->stats.bytes += len;
		return 0;
	}
	m->stats.faults++;
	if (n < 0)
		return errno_to_err(errno);
	return ERR_FAULT;
}

int mem_read(struct mem_source *m, raddr_t addr, void *buf, size_t len)
{
	if (len == 0)
		return 0;
	if (m->snap)
		return snap_read(m, addr, buf, len);
	return live_read(m, addr, buf, len);
}

static int live_readv(struct mem_source *m, const struct mem_iov *iov, int n)
{
	if (m->memfd >= 0) {
		for (int i = 0; i < n; i++) {
			int rc = read_fd(m, iov[i].addr, iov[i].buf, iov[i].len);
			if (rc == ERR_NOPROC)
				return rc;
			if (rc)
				return i;
		}
		return n;
	}
	int done = 0;
	while (done < n) {
		struct iovec l[IOV_BATCH], r[IOV_BATCH];
		int k = n - done < IOV_BATCH ? n - done : IOV_BATCH;
		size_t want = 0;
		/* Ranges that continue the previous one, here or there, extend it:
		 * the kernel pins and copies per remote segment and walks its
		 * list of local ones, so fewer of each is cheaper.  The bytes
		 * returned, and so which ranges were read, do not change. */
		unsigned long nl = 0, nr = 0;
		for (int i = 0; i < k; i++) {
			const struct mem_iov *v = &iov[done + i];
			want += v->len;
			if (nl && (char *)l[nl - 1].iov_base + l[nl - 1].iov_len == (char *)v->buf)
				l[nl - 1].iov_len += v->len;
			else
				l[nl++] = (struct iovec){ v->buf, v->len };
			if (nr && (uintptr_t)r[nr - 1].iov_base + r[nr - 1].iov_len == v->addr)
				r[nr - 1].iov_len += v->len;
			else
				r[nr++] = (struct iovec){ (void *)(uintptr_t)v->addr, v->len };
		}
		m->stats.calls++;
		ssize_t got = process_vm_readv(m->pid, l, nl, r, nr, 0);
		if (got < 0) {
			m->stats.faults++;
			int rc = errno_to_err(errno);
			return rc == ERR_FAULT ? done : rc;
		}
		m->stats.bytes += (uint64_t)got;
		if ((size_t)got == want) {
			done += k;
			continue;
		}
		/* partial: count the ranges fully covered */
		m->stats.faults++;
		size_t acc = 0;
		for (int i = 0; i < k; i++) {
			if (acc + iov[done + i].len > (size_t)got)
				return done + i;
			acc += iov[done + i].len;
		}
		return done + k;
	}
	return n;
}

int mem_readv(struct mem_source *m, const struct mem_iov *iov, int n)
{
	if (m->snap)
		return snap_readv(m, iov, n);
	return live_readv(m, iov, n);
}

/* ---- the snapshot backend ------------------------------------------------ */

void mem_snapshot_init(struct mem_snapshot *s)
{
	memset(s, 0, sizeof(*s));
}

void mem_snapshot_release(struct mem_snapshot *s)
{
	if (s->owns || s->recording)
		for (size_t i = 0; i < s->n; i++)
			free((void *)s->v[i].bytes);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static void snap_push(struct mem_snapshot *s, raddr_t addr, const unsigned char *bytes, size_t len)
{
	VEC_RESERVE(s->v, s->cap, s->n + 1);
	s->v[s->n++] = (struct mem_range){ addr, len, bytes, false };
	s->total += len;
}

int mem_snapshot_add_whole(struct mem_snapshot *s, raddr_t addr, const void *bytes, size_t len)
{
	int rc = mem_snapshot_add(s, addr, bytes, len);
	if (rc == 0)
		s->v[s->n - 1].whole = true;
	return rc;
}

int mem_snapshot_add(struct mem_snapshot *s, raddr_t addr, const void *bytes, size_t len)
{
	if (s->recording || s->owns || len == 0 || len > MEM_SNAPSHOT_MAX - s->total ||
	    addr + len < addr)
		return ERR_INVAL;
	if (s->n) {
		const struct mem_range *last = &s->v[s->n - 1];
		if (addr < last->addr + last->len)
			return ERR_INVAL;
	}
	snap_push(s, addr, bytes, len);
	return 0;
}

void mem_snapshot_record(struct mem_source *m, struct mem_snapshot *s)
{
	s->recording = true;
	m->snap = s;
}

/* A recording keeps a copy of what was read. */
static void snap_keep(struct mem_snapshot *s, raddr_t addr, const void *buf, size_t len)
{
	if (len == 0)
		return;
	if (len > MEM_SNAPSHOT_MAX - s->total || addr + len < addr) {
		s->overflow = true;
		return;
	}
	unsigned char *copy = xmalloc(len);
	memcpy(copy, buf, len);
	snap_push(s, addr, copy, len);
}

static int range_cmp(const void *a, const void *b)
{
	const struct mem_range *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->len < y->len ? -1 : x->len > y->len;
}

void mem_snapshot_seal(struct mem_source *m, struct mem_snapshot *s)
{
	if (m && m->snap == s)
		m->snap = NULL;
	if (!s->recording)
		return;
	s->recording = false;
	s->owns = true;
	if (s->n == 0)
		return;
	/* the read order matters where bytes differ: stable by read number */
	size_t n = s->n;
	struct mem_range *sorted = xmalloc(n * sizeof(*sorted));
	memcpy(sorted, s->v, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), range_cmp);
	size_t out = 0, total = 0;
	for (size_t i = 0; i < n;) {
		raddr_t start = sorted[i].addr, end = start + sorted[i].len;
		size_t j = i + 1;
		while (j < n && sorted[j].addr <= end) {
			if (sorted[j].addr + sorted[j].len > end)
				end = sorted[j].addr + sorted[j].len;
			j++;
		}
		unsigned char *bytes = xmalloc((size_t)(end - start));
		/* copy in read order, so the last read of a byte wins */
		for (size_t k = 0; k < n; k++) {
			const struct mem_range *r = &s->v[k];
			if (r->addr >= start && r->addr < end)
				memcpy(bytes + (r->addr - start), r->bytes, r->len);
		}
		sorted[out++] = (struct mem_range){ start, (size_t)(end - start), bytes, false };
		total += (size_t)(end - start);
		i = j;
	}
	for (size_t k = 0; k < n; k++)
		free((void *)s->v[k].bytes);
	free(s->v);
	s->v = sorted;
	s->n = out;
	s->cap = n;
	s->total = total;
}

void mem_snapshot_source(struct mem_source *m, struct mem_snapshot *s, pid_t pid)
{
	memset(m, 0, sizeof(*m));
	m->pid = pid;
	m->memfd = -1;
	m->pidfd = -1;
	m->snap = s;
}

/* The range addr lies in (or touches the end of), or NULL. */
static const struct mem_range *snap_at(const struct mem_snapshot *s, raddr_t addr)
{
	/* the last range starting at or before addr */
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->v[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct mem_range *r = &s->v[lo - 1];
	return addr - r->addr > r->len ? NULL : r;
}

/* The recorded range that holds [addr, addr + len) whole, or NULL. */
static const struct mem_range *snap_find(const struct mem_snapshot *s, raddr_t addr, size_t len)
{
	const struct mem_range *r = snap_at(s, addr);
	if (!r || len > r->len - (addr - r->addr))
		return NULL;
	return r;
}

/* Overlay: a read that starts inside a range added whole and runs past
 * it (an empty read at its end is no such read). */
static bool snap_past_whole(const struct mem_snapshot *s, raddr_t addr, size_t len)
{
	const struct mem_range *r = snap_at(s, addr);
	return r && r->whole && addr - r->addr < r->len && len > r->len - (addr - r->addr);
}

static int snap_read(struct mem_source *m, raddr_t addr, void *buf, size_t len)
{
	struct mem_snapshot *s = m->snap;
	if (s->recording) {
		int rc = live_read(m, addr, buf, len);
		if (rc == 0)
			snap_keep(s, addr, buf, len);
		return rc;
	}
	const struct mem_range *r = snap_find(s, addr, len);
	if (!r && s->overlay && !snap_past_whole(s, addr, len))
		return live_read(m, addr, buf, len);
	m->stats.calls++;
	if (!r) {
		m->stats.faults++;
		return ERR_FAULT;
	}
	memcpy(buf, r->bytes + (addr - r->addr), len);
	m->stats.bytes += len;
	s->served++;
	return 0;
}

static int snap_readv(struct mem_source *m, const struct mem_iov *iov, int n)
{
	struct mem_snapshot *s = m->snap;
	if (s->recording) {
		int got = live_readv(m, iov, n);
		for (int i = 0; i < got; i++)
			snap_keep(s, iov[i].addr, iov[i].buf, iov[i].len);
		return got;
	}
	if (s->overlay)
		return overlay_readv(m, iov, n);
	m->stats.calls++;
	for (int i = 0; i < n; i++) {
		if (iov[i].len == 0)
			continue;
		const struct mem_range *r = snap_find(s, iov[i].addr, iov[i].len);
		if (!r) {
			m->stats.faults++;
			return i;
		}
		memcpy(iov[i].buf, r->bytes + (iov[i].addr - r->addr), iov[i].len);
		m->stats.bytes += iov[i].len;
	}
	return n;
}

void mem_snapshot_overlay(struct mem_source *m, struct mem_snapshot *s)
{
	s->overlay = true;
	m->snap = s;
}

void mem_snapshot_unoverlay(struct mem_source *m)
{
	if (m->snap && m->snap->overlay)
		m->snap = NULL;
}

/* An overlay's readv: the pieces inside a range from it, each run of
 * other pieces from the process in one call. */
static int overlay_readv(struct mem_source *m, const struct mem_iov *iov, int n)
{
	struct mem_snapshot *s = m->snap;
	for (int i = 0; i < n;) {
		const struct mem_range *r =
			iov[i].len ? snap_find(s, iov[i].addr, iov[i].len) : NULL;
		if (r) {
			memcpy(iov[i].buf, r->bytes + (iov[i].addr - r->addr), iov[i].len);
			m->stats.bytes += iov[i].len;
			s->served++;
			i++;
			continue;
		}
		if (snap_past_whole(s, iov[i].addr, iov[i].len)) {
			m->stats.faults++;
			return i;
		}
		int j = i + 1;
		while (j < n && !(iov[j].len && (snap_find(s, iov[j].addr, iov[j].len) ||
						 snap_past_whole(s, iov[j].addr, iov[j].len))))
			j++;
		int got = live_readv(m, iov + i, j - i);
		if (got < 0)
			return got;
		if (got < j - i)
			return i + got;
		i = j;
	}
	return n;
}
