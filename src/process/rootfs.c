/* rootfs.c - opening a target's files as the target would; see rootfs.h. */
#include "process/rootfs.h"

#include "base/buf.h"
#include "base/error.h"
#include "base/utf8.h"
#include "process/maps.h"
#include "process/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

/* /proc/PID/status is a few KiB; its Groups: line is at most 65536 numbers. */
#define STATUS_MAX (2u << 20)
/* Directories held open on the way down by the walk (a bound on hostile
 * names: PATH_MAX allows 2048 components, no real file lies that deep). */
#define WALK_MAX_DEPTH 256
/* Bytes of name left to resolve in the walk (symlinks expand it). */
#define WALK_MAX_PATH (64u << 10)
/* openat2 fails with EAGAIN when a rename or mount raced the lookup. */
#define OPENAT2_ATTEMPTS 4

/* ---- /proc/PID/status ---------------------------------------------------- */

void rootfs_creds_release(struct rootfs_creds *c)
{
	free(c->groups);
	memset(c, 0, sizeof(*c));
}

/* The line of buf[0..len) starting with key (at a line start), as
 * [*line, *end) after the key; false if none. */
static bool status_line(const char *buf, size_t len, const char *key, const char **line,
			const char **end)
{
	size_t k = strlen(key);
	for (size_t at = 0; at < len;) {
		const char *nl = memchr(buf + at, '\n', len - at);
		size_t stop = nl ? (size_t)(nl - buf) : len;
		if (stop - at >= k && memcmp(buf + at, key, k) == 0) {
			*line = buf + at + k;
			*end = buf + stop;
			return true;
		}
		at = stop + 1;
	}
	return false;
}

/* A decimal id at *p (after blanks); advances *p.  false if none or too big. */
static bool status_id(const char **p, const char *end, uint32_t *v)
{
	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
	if (*p == end || **p < '0' || **p > '9')
		return false;
	uint64_t x = 0;
	while (*p < end && **p >= '0' && **p <= '9') {
		x = x * 10 + (uint64_t)(**p - '0');
		if (x > UINT32_MAX)
			return false;
		(*p)++;
	}
	/* an id ends at a blank or the end of the line */
	if (*p < end && **p != ' ' && **p != '\t')
		return false;
	*v = (uint32_t)x;
	return true;
}

/* The fourth of the four ids of a "Uid:" or "Gid:" line (real, effective,
 * saved, fs). */
static bool status_fs_id(const char *buf, size_t len, const char *key, uint32_t *v)
{
	const char *p, *end;
	if (!status_line(buf, len, key, &p, &end))
		return false;
	uint32_t ids[4];
	for (int i = 0; i < 4; i++)
		if (!status_id(&p, end, &ids[i]))
			return false;
	*v = ids[3];
	return true;
}

int rootfs_parse_status(const char *buf, size_t len, struct rootfs_creds *c)
{
	memset(c, 0, sizeof(*c));
	const char *p, *end;
	if (!status_fs_id(buf, len, "Uid:", &c->fsuid) || !status_fs_id(buf, len, "Gid:", &c->fsgid) ||
	    !status_line(buf, len, "Groups:", &p, &end))
		return ERR_INVAL;
	size_t cap = 0;
	for (;;) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			break;
		uint32_t g;
		if (c->ngroups == ROOTFS_MAX_GROUPS || !status_id(&p, end, &g)) {
			rootfs_creds_release(c);
			return ERR_INVAL;
		}
		VEC_RESERVE(c->groups, cap, c->ngroups + 1);
		c->groups[c->ngroups++] = g;
	}
	return 0;
}

int rootfs_parse_caps(const char *buf, size_t len, uint64_t *caps)
{
	const char *p, *end;
	if (!status_line(buf, len, "CapEff:", &p, &end))
		return ERR_INVAL;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	uint64_t v = 0;
	int digits = 0;
	for (; p < end && *p != ' ' && *p != '\t'; p++, digits++) {
		char ch = *p;
		int d = ch >= '0' && ch <= '9'   ? ch - '0'
			: ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
			: ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
						 : -1;
		if (d < 0 || digits == 16)
			return ERR_INVAL;
		v = v << 4 | (uint64_t)d;
	}
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (!digits || p != end)
		return ERR_INVAL;
	*caps = v;
	return 0;
}

void rootfs_creds_merge(struct rootfs_creds *held, struct rootfs_creds *now)
{
	uint64_t caps = held->caps & now->caps;
	/* a process that became root keeps being read as the user it was */
	if (now->fsuid != 0 || held->fsuid == 0) {
		rootfs_creds_release(held);
		*held = *now;
		memset(now, 0, sizeof(*now));
	}
	held->caps = caps;
	rootfs_creds_release(now);
}

static int read_status(pid_t pid, struct rootfs_creds *c)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH ? ERR_NOPROC : ERR_PERM;
	struct buf b = BUF_INIT;
	char chunk[4096];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0 && b.len < STATUS_MAX)
		buf_append(&b, chunk, (size_t)n);
	int err = n < 0 ? errno : 0;
	close(fd);
	const char *text = b.data ? b.data : "";
	int rc = err ? (err == ESRCH ? ERR_NOPROC : ERR_IO) : rootfs_parse_status(text, b.len, c);
	if (rc == 0 && (rc = rootfs_parse_caps(text, b.len, &c->caps)) != 0)
		rootfs_creds_release(c);
	buf_release(&b);
	return rc;
}

/* ---- the working directory ----------------------------------------------- */

/* readlink into a malloc'd string, or NULL. */
static char *read_link(const char *path)
{
	char buf[PATH_MAX + 1];
	ssize_t n = readlink(path, buf, sizeof(buf));
	if (n <= 0 || (size_t)n >= sizeof(buf))
		return NULL;
	buf[n] = '\0';
	return xstrdup(buf);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The working directory cwd as a path inside root (both as readlink shows
 * them to strobe), or NULL when it lies outside the root or cannot be told
 * (a deleted directory, a name too long). */
static char *cwd_inside(const char *root, const char *cwd)
{
	if (!root || !cwd || root[0] != '/' || cwd[0] != '/' || ends_with(root, " (deleted)") ||
	    ends_with(cwd, " (deleted)"))
		return NULL;
	size_t k = strlen(root);
	if (k == 1) /* "/" */
		return xstrdup(cwd);
	if (strncmp(cwd, root, k) != 0)
		return NULL;
	if (cwd[k] == '\0')
		return xstrdup("/");
	if (cwd[k] != '/')
		return NULL; /* "/srv/root2" is not inside "/srv/root" */
	return xstrdup(cwd + k);
}

static void rootfs_clear(struct rootfs *r)
{
	memset(r, 0, sizeof(*r));
	r->root_fd = -1;
	r->cwd_fd = -1;
}

void rootfs_release(struct rootfs *r)
{
	if (r->root_fd >= 0)
		close(r->root_fd);
	if (r->cwd_fd >= 0)
		close(r->cwd_fd);
	free(r->cwd);
	rootfs_creds_release(&r->creds);
	rootfs_clear(r);
}

int rootfs_open(struct rootfs *r, const struct mem_source *m)
{
	pid_t pid = m->pid;
	rootfs_clear(r);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	r->root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->root_fd < 0) {
		int rc = errno == ENOENT || errno == ESRCH ? ERR_NOPROC
			 : errno == EACCES || errno == EPERM ? ERR_PERM : ERR_IO;
		rootfs_clear(r);
		return rc;
	}
	char *root = read_link(path);
	snprintf(path, sizeof(path), "/proc/%d/cwd", (int)pid);
	char *cwd = read_link(path);
	r->cwd = cwd_inside(root, cwd);
	free(root);
	free(cwd);
	/* outside the root (chroot(2) leaves the working directory where it
	 * was): names are resolved beneath the directory itself */
	if (!r->cwd)
		r->cwd_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int rc = read_status(pid, &r->creds);
	/* what was opened by number is m's process only if that still runs
	 * now: a PID is not reused before its process has exited */
	if (rc == 0 && !mem_alive(m))
		rc = ERR_NOPROC;
	if (rc)
		rootfs_release(r);
	return rc;
}

void rootfs_refresh(struct rootfs *r, const struct mem_source *m)
{
	struct rootfs_creds now;
	if (!mem_alive(m) || read_status(m->pid, &now) != 0)
		return;
	if (mem_alive(m))
		rootfs_creds_merge(&r->creds, &now);
	else
		rootfs_creds_release(&now);
}

int rootfs_open_host(struct rootfs *r, uid_t uid, gid_t gid)
{
	rootfs_clear(r);
	r->root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char *cwd = getcwd(NULL, 0);
	if (cwd && cwd[0] == '/')
		r->cwd = cwd;
	else
		free(cwd);
	if (!r->cwd)
		r->cwd_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	r->creds.fsuid = (uint32_t)uid;
	r->creds.fsgid = (uint32_t)gid;
	r->creds.caps = 0; /* an ordinary user's: none */
	if (r->root_fd < 0) {
		rootfs_release(r);
		return ERR_IO;
	}
	return 0;
}

/* ---- credentials ------------------------------------------------------------ */

/* This thread's file-system identity and capabilities before a switch,
 * and how far the switch went.  The raw syscalls change the calling thread
 * only: glibc's wrappers would change every thread of strobe (its setxid
 * broadcast), and capset(2) with pid 0 is this thread's. */
struct saved_creds {
	uint32_t fsuid, fsgid;
	gid_t *groups;
	size_t ngroups;
	struct __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3];
	bool set_groups, set_fsgid, set_fsuid, set_caps;
};

static uint32_t cur_fsuid(void)
{
	/* an invalid id changes nothing and returns the current one */
	return (uint32_t)syscall(SYS_setfsuid, (uid_t)-1);
}

static uint32_t cur_fsgid(void)
{
	return (uint32_t)syscall(SYS_setfsgid, (gid_t)-1);
}

static bool get_caps(struct __user_cap_data_struct *d)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	return syscall(SYS_capget, &h, d) == 0;
}

static bool set_caps(const struct __user_cap_data_struct *d)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	return syscall(SYS_capset, &h, d) == 0;
}

static uint64_t effective_of(const struct __user_cap_data_struct *d)
{
	return (uint64_t)d[1].effective << 32 | d[0].effective;
}

static bool thread_groups(gid_t **list, size_t *n)
{
	long k = syscall(SYS_getgroups, 0, NULL);
	if (k < 0)
		return false;
	*list = xmalloc(((size_t)k + 1) * sizeof(gid_t));
	long got = syscall(SYS_getgroups, k, *list);
	if (got != k) {
		free(*list);
		*list = NULL;
		return false;
	}
	*n = (size_t)k;
	return true;
}

static bool same_groups(const gid_t *a, size_t na, const uint32_t *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (a[i] != (gid_t)b[i])
			return false;
	return true;
}

/* strobe's own capability sets again, exactly as saved. */
static void restore_caps(const struct saved_creds *s)
{
	struct __user_cap_data_struct now[_LINUX_CAPABILITY_U32S_3];
	if (!set_caps(s->caps) || !get_caps(now) || memcmp(now, s->caps, sizeof(now)) != 0)
		BUG("cannot restore strobe's capabilities");
}

/* The file-system ids and groups as s saved them, in the reverse order of
 * the switch. */
static void restore_ids(struct saved_creds *s)
{
	if (s->set_fsuid) {
		syscall(SYS_setfsuid, (uid_t)s->fsuid);
		if (cur_fsuid() != s->fsuid)
			BUG("cannot restore strobe's fsuid");
	}
	if (s->set_fsgid) {
		syscall(SYS_setfsgid, (gid_t)s->fsgid);
		if (cur_fsgid() != s->fsgid)
			BUG("cannot restore strobe's fsgid");
	}
	if (s->set_groups && syscall(SYS_setgroups, s->ngroups, s->groups) != 0)
		BUG("cannot restore strobe's supplementary groups");
	s->set_fsuid = s->set_fsgid = s->set_groups = false;
}

/* Put this thread back as s says.  Failing here would leave strobe's
 * thread with someone else's identity: that is a broken invariant.
 * The capabilities come back first, since setting the groups needs
 * CAP_SETGID, which the target may not have had; and once more last,
 * since the kernel raised the file capabilities of strobe's permitted set
 * into its effective one when fsuid went back to 0 (so the sets end as
 * they were, even where strobe's effective set was not its permitted). */
static void restore_creds(struct saved_creds *s)
{
	if (s->set_caps)
		restore_caps(s);
	restore_ids(s);
	if (s->set_caps)
		restore_caps(s);
	free(s->groups);
	memset(s, 0, sizeof(*s));
}

/* Switch this thread's fsuid, fsgid and groups to c's: true when it now
 * has them all. */
static bool take_ids(const struct rootfs_creds *c, struct saved_creds *s)
{
	bool ok = true;
	if (!same_groups(s->groups, s->ngroups, c->groups, c->ngroups)) {
		gid_t *want = xmalloc((c->ngroups + 1) * sizeof(gid_t));
		for (size_t i = 0; i < c->ngroups; i++)
			want[i] = (gid_t)c->groups[i];
		ok = syscall(SYS_setgroups, c->ngroups, want) == 0;
		free(want);
		s->set_groups = ok;
	}
	if (ok && s->fsgid != c->fsgid) {
		syscall(SYS_setfsgid, (gid_t)c->fsgid);
		s->set_fsgid = true;
		ok = cur_fsgid() == c->fsgid;
	}
	/* last: leaving fsuid 0 drops this thread's CAP_DAC_OVERRIDE and the
	 * other file capabilities */
	if (ok && s->fsuid != c->fsuid) {
		syscall(SYS_setfsuid, (uid_t)c->fsuid);
		s->set_fsuid = true;
		ok = cur_fsuid() == c->fsuid;
	}
	return ok;
}

/* Take c for this thread: its fs ids and groups, and as effective
 * capabilities those of c that strobe has (setfsuid drops only the file
 * capabilities: CAP_SYSLOG, CAP_SYS_ADMIN, CAP_SYS_PTRACE would stay, and
 * a target running as root without capabilities would be read with
 * them).  0 when this thread now reads as c does - or, when it cannot take
 * c's ids but is the same fs user (an unprivileged strobe profiling its own
 * processes), as itself with no more capabilities than c; else ERR_PERM and
 * nothing changed. */
static int take_creds(const struct rootfs_creds *c, struct saved_creds *s)
{
	memset(s, 0, sizeof(*s));
	s->fsuid = cur_fsuid();
	s->fsgid = cur_fsgid();
	if (!get_caps(s->caps) || !thread_groups(&s->groups, &s->ngroups)) {
		free(s->groups);
		memset(s, 0, sizeof(*s));
		return ERR_PERM;
	}
	if (!take_ids(c, s)) {
		restore_ids(s);
		if (s->fsuid != c->fsuid) {
			restore_creds(s);
			return ERR_PERM;
		}
	}
	/* after the ids: the fsuid switch would clear file capabilities this
	 * sets (a target of another user may have CAP_DAC_OVERRIDE) */
	struct __user_cap_data_struct want[_LINUX_CAPABILITY_U32S_3];
	memcpy(want, s->caps, sizeof(want));
	uint64_t eff = c->caps & effective_of(s->caps);
	want[0].effective = (uint32_t)eff;
	want[1].effective = (uint32_t)(eff >> 32);
	s->set_caps = true;
	struct __user_cap_data_struct now[_LINUX_CAPABILITY_U32S_3];
	if (!set_caps(want) || !get_caps(now) || effective_of(now) != eff) {
		restore_creds(s);
		return ERR_PERM;
	}
	return 0;
}

/* ---- resolving a name ------------------------------------------------------- */

static int errno_code(int err)
{
	switch (err) {
	case EACCES:
	case EPERM:
		return ERR_PERM;
	case ELOOP:
		return ERR_LIMIT;
	case ESRCH:
		return ERR_NOPROC;
	default:
		return ERR_NOTFOUND;
	}
}

/* The directories of the walk, start first: start is borrowed, the others
 * owned. */
struct walk_stack {
	int fd[WALK_MAX_DEPTH + 1];
	size_t depth;
};

static void walk_pop_to(struct walk_stack *st, size_t depth)
{
	while (st->depth > depth)
		close(st->fd[st->depth--]);
}

/* A name to resolve: path from start, never above it - in_root: as if
 * start were "/" (RESOLVE_IN_ROOT); else beneath it, absolute names and
 * links refused (RESOLVE_BENEATH). */
struct lookup {
	int start;
	const char *path;
	bool in_root;
	bool force_walk; /* no openat2 (rootfs.force_walk) */
	bool no_proc;    /* no reopening through /proc (rootfs.no_proc) */
};

#define READ_FLAGS (O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)

/* Resolve l one component at a time, as openat2 does, for kernels without
 * it: every component opened O_PATH | O_NOFOLLOW, symlinks read and
 * expanded here (an absolute one restarts at start, or fails beneath),
 * ".." taken from the directories already held (never a lookup of "..",
 * so a directory moved away meanwhile cannot lead out) and never above
 * start.  The final object must be a regular file: *out is its O_PATH fd,
 * or with for_read that file opened for reading. */
static int walk(const struct lookup *l, bool for_read, int *out)
{
	struct walk_stack st = { .depth = 0 };
	st.fd[0] = l->start;
	struct buf rem = BUF_INIT;
	buf_puts(&rem, l->path);
	size_t pos = 0;
	int links = 0, rc;
	char link[PATH_MAX];
	for (;;) {
		if (pos == 0 && rem.data[0] == '/') {
			if (!l->in_root) {
				rc = ERR_NOTFOUND;
				goto out;
			}
			walk_pop_to(&st, 0);
		}
		while (rem.data[pos] == '/')
			pos++;
		if (!rem.data[pos]) {
			rc = ERR_NOTFOUND; /* the name ends on a directory */
			goto out;
		}
		size_t from = pos;
		while (rem.data[pos] && rem.data[pos] != '/')
			pos++;
		size_t clen = pos - from;
		bool last = rem.data[pos] == '\0';
		char name[NAME_MAX + 1];
		if (clen > NAME_MAX) {
			rc = ERR_NOTFOUND;
			goto out;
		}
		memcpy(name, rem.data + from, clen);
		name[clen] = '\0';
		if (!strcmp(name, ".") || !strcmp(name, "..")) {
			if (name[1] == '.') {
				if (st.depth > 0) {
					walk_pop_to(&st, st.depth - 1);
				} else if (!l->in_root) {
					rc = ERR_NOTFOUND;
					goto out;
				}
			}
			if (last) {
				rc = ERR_NOTFOUND;
				goto out;
			}
			continue;
		}
		int fd = openat(st.fd[st.depth], name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		struct stat sb;
		if (fd < 0 || fstat(fd, &sb) != 0) {
			rc = errno_code(errno);
			if (fd >= 0)
				close(fd);
			goto out;
		}
		if (S_ISLNK(sb.st_mode)) {
			ssize_t n = ++links > ROOTFS_MAX_LINKS ? -1 : readlinkat(fd, "", link, sizeof(link));
			close(fd);
			if (links > ROOTFS_MAX_LINKS) {
				rc = ERR_LIMIT;
				goto out;
			}
			if (n <= 0 || (size_t)n >= sizeof(link) ||
			    (size_t)n + (rem.len - pos) + 1 > WALK_MAX_PATH) {
				rc = ERR_NOTFOUND;
				goto out;
			}
			/* the link's text, then what followed it */
			struct buf next = BUF_INIT;
			buf_append(&next, link, (size_t)n);
			buf_append(&next, rem.data + pos, rem.len - pos);
			buf_release(&rem);
			rem = next;
			pos = 0;
			continue;
		}
		if (S_ISDIR(sb.st_mode) && !last) {
			if (st.depth == WALK_MAX_DEPTH) {
				close(fd);
				rc = ERR_LIMIT;
				goto out;
			}
			st.fd[++st.depth] = fd;
			continue;
		}
		if (!last || !S_ISREG(sb.st_mode)) {
			close(fd);
			rc = ERR_NOTFOUND; /* not a directory on the way, or not a file at the end */
			goto out;
		}
		rc = 0;
		if (for_read) {
			/* the same name again, for reading; it must still be that file */
			close(fd);
			struct stat again;
			fd = openat(st.fd[st.depth], name, READ_FLAGS | O_NOFOLLOW);
			if (fd < 0)
				rc = errno_code(errno);
			else if (fstat(fd, &again) != 0 || again.st_dev != sb.st_dev ||
				 again.st_ino != sb.st_ino)
				rc = ERR_NOTFOUND;
			if (rc && fd >= 0)
				close(fd);
		}
		if (rc == 0)
			*out = fd;
		goto out;
	}
out:
	walk_pop_to(&st, 0);
	buf_release(&rem);
	return rc;
}

/* The file l names: an O_PATH fd, or with for_read opened for reading. */
static int resolve_at(const struct lookup *l, bool for_read, int *out)
{
	if (!l->force_walk) {
		struct open_how how = {
			.flags = for_read ? READ_FLAGS : O_PATH | O_CLOEXEC,
			.resolve = (l->in_root ? RESOLVE_IN_ROOT : RESOLVE_BENEATH) |
				   RESOLVE_NO_MAGICLINKS,
		};
		for (int i = 0; i < OPENAT2_ATTEMPTS; i++) {
			int fd = (int)syscall(SYS_openat2, l->start, l->path, &how, sizeof(how));
			if (fd >= 0) {
				*out = fd;
				return 0;
			}
			if (errno == ENOSYS || errno == E2BIG)
				break;
			if (errno != EAGAIN)
				return errno_code(errno);
		}
	}
	return walk(l, for_read, out);
}

/* How r's process finds name (joined: the caller's, released after use). */
static int lookup_of(const struct rootfs *r, const char *name, struct lookup *l,
		     struct buf *joined)
{
	if (!name || !*name || strlen(name) >= PATH_MAX || r->root_fd < 0)
		return ERR_NOTFOUND;
	*l = (struct lookup){ .start = r->root_fd, .path = name, .in_root = true,
			      .force_walk = r->force_walk, .no_proc = r->no_proc };
	if (name[0] == '/')
		return 0;
	if (r->cwd) {
		buf_printf(joined, "%s/%s", r->cwd, name);
		l->path = joined->data;
		return 0;
	}
	if (r->cwd_fd < 0)
		return ERR_NOTFOUND;
	l->start = r->cwd_fd;
	l->in_root = false;
	return 0;
}

/* Whether a file system of type f_type is one of the kernel's own: what
 * its files show depends on who reads them (/proc/kallsyms, the KASLR
 * addresses, to CAP_SYSLOG), and reading some acts (/proc/kmsg consumes
 * the kernel log, a sysfs or debugfs file may start or stop something).
 * No source or ELF file of a target lives there. */
static bool kernel_fs(long f_type)
{
	static const unsigned long kinds[] = {
		PROC_SUPER_MAGIC,   SYSFS_MAGIC,	 DEBUGFS_MAGIC,	      TRACEFS_MAGIC,
		SECURITYFS_MAGIC,   CGROUP_SUPER_MAGIC,	 CGROUP2_SUPER_MAGIC, BPF_FS_MAGIC,
		DEVPTS_SUPER_MAGIC, PSTOREFS_MAGIC,	 EFIVARFS_MAGIC,      SELINUX_MAGIC,
		SMACK_MAGIC,	    BINFMTFS_MAGIC,	 NSFS_MAGIC,	      ANON_INODE_FS_MAGIC,
		RDTGROUP_SUPER_MAGIC,
		/* not in every linux/magic.h */
		0x62656570 /* configfs */, 0x65735543 /* fusectl */, 0x19800202 /* mqueue */,
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if ((unsigned long)(unsigned int)f_type == kinds[i])
			return true;
	return false;
}

/* The regular file l names, opened for reading: found first as an O_PATH
 * fd, which opens nothing (a FIFO or a device is refused before any
 * open(), which could block or act on it, and so is a file of a kernel
 * file system), then opened again through
 * /proc/self/fd, which checks read permission with this thread's
 * credentials and can give nothing but that file.  Without /proc (a
 * chroot) the name is resolved once more for reading, and must lead to
 * the same file. */
static int open_regular(const struct lookup *l, const struct stat *want, int *out)
{
	int opath;
	int rc = resolve_at(l, false, &opath);
	if (rc)
		return rc;
	struct stat before, after;
	struct statfs fs;
	if (fstat(opath, &before) != 0 || !S_ISREG(before.st_mode) ||
	    (want && (before.st_dev != want->st_dev || before.st_ino != want->st_ino)) ||
	    fstatfs(opath, &fs) != 0 || kernel_fs((long)fs.f_type)) {
		close(opath);
		return ERR_NOTFOUND;
	}
	int fd = -1;
	if (!l->no_proc) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", opath);
		fd = open(path, READ_FLAGS);
		if (fd < 0 && errno != ENOENT)
			rc = errno_code(errno);
	}
	close(opath);
	if (rc)
		return rc;
	if (fd < 0 && (rc = resolve_at(l, true, &fd)) != 0)
		return rc;
	if (fstat(fd, &after) != 0 || !S_ISREG(after.st_mode) || after.st_dev != before.st_dev ||
	    after.st_ino != before.st_ino) {
		close(fd);
		return ERR_NOTFOUND;
	}
	*out = fd;
	return 0;
}

/* Read the open file fd into out (appended), at most max bytes. */
static int read_fd(int fd, size_t max, struct buf *out)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_size > max)
		return ERR_LIMIT;
	/* the file may grow while it is read: the bound holds whatever it says */
	char chunk[65536];
	size_t start = out->len;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ERR_IO;
		if (n == 0)
			return 0;
		if (out->len - start + (size_t)n > max)
			return ERR_LIMIT;
		buf_append(out, chunk, (size_t)n);
	}
}

static void id_of(int fd, struct rootfs_fileid *id)
{
	struct stat st;
	if (id && fstat(fd, &st) == 0)
		*id = (struct rootfs_fileid){ (uint64_t)st.st_dev, (uint64_t)st.st_ino };
}

/* Open name as rootfs_probe says and, with out, read it (at most max
 * bytes): the open, the read and the close all with r's credentials and
 * capabilities (what a read shows of some files depends on the reader's
 * capabilities at the read, not only at the open). */
static int open_and_read(const struct rootfs *r, const char *name, size_t max, struct buf *out,
			 struct rootfs_fileid *id)
{
	struct lookup l;
	struct buf joined = BUF_INIT;
	int rc = lookup_of(r, name, &l, &joined);
	struct saved_creds saved;
	if (rc == 0 && (rc = take_creds(&r->creds, &saved)) == 0) {
		int fd;
		rc = open_regular(&l, NULL, &fd);
		if (rc == 0) {
			id_of(fd, id);
			if (out)
				rc = read_fd(fd, max, out);
			close(fd);
		}
		restore_creds(&saved);
	}
	buf_release(&joined);
	return rc;
}

int rootfs_open_file(const struct rootfs *r, const char *name, int *fd)
{
	*fd = -1;
	struct lookup l;
	struct buf joined = BUF_INIT;
	int rc = lookup_of(r, name, &l, &joined);
	struct saved_creds saved;
	if (rc == 0 && (rc = take_creds(&r->creds, &saved)) == 0) {
		rc = open_regular(&l, NULL, fd);
		restore_creds(&saved);
	}
	buf_release(&joined);
	return rc;
}

int rootfs_probe(const struct rootfs *r, const char *name, struct rootfs_fileid *id)
{
	return open_and_read(r, name, 0, NULL, id);
}

int rootfs_read(const struct rootfs *r, const char *name, size_t max, struct buf *out,
		struct rootfs_fileid *id)
{
	size_t start = out->len;
	int rc = open_and_read(r, name, max, out, id);
	if (rc)
		out->len = start;
	if (out->data)
		out->data[out->len] = '\0';
	return rc;
}

/* ---- decoding a source ------------------------------------------------------ */

/* Append s[0..n) as UTF-8, each maximal ill-formed subpart (Unicode's
 * definition, which Python's "replace" follows) as one U+FFFD
 * (base/utf8.h).  Returns whether nothing was replaced. */
static bool utf8_append(struct buf *out, const unsigned char *s, size_t n)
{
	return utf8_sanitize(out, (const char *)s, n) == 0;
}

static void latin1_append(struct buf *out, const unsigned char *s, size_t n)
{
	buf_reserve(out, n * 2);
	for (size_t i = 0; i < n; i++) {
		char enc[4];
		buf_append(out, enc, utf8_encode(s[i], enc));
	}
}

static bool ascii_append(struct buf *out, const unsigned char *s, size_t n)
{
	bool exact = true;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x80) {
			buf_putc(out, (char)s[i]);
		} else {
			buf_puts(out, UTF8_REPLACEMENT);
			exact = false;
		}
	}
	return exact;
}

/* What a declared encoding is to strobe. */
enum coding { CODING_UTF8, CODING_LATIN1, CODING_ASCII, CODING_OTHER };

static bool in_list(const char *name, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(name, *list))
			return true;
	return false;
}

static bool has_prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

/* name: lowercased, '_' made '-' (how tokenize compares and Python's codec
 * registry looks names up). */
static enum coding coding_of(const char *name)
{
	/* tokenize's own normalisation looks at the first 12 characters */
	char head[13];
	size_t h = strnlen(name, sizeof(head) - 1);
	memcpy(head, name, h);
	head[h] = '\0';
	if (!strcmp(head, "utf-8") || has_prefix(head, "utf-8-"))
		return CODING_UTF8;
	static const char *const latin1_heads[] = { "latin-1", "iso-8859-1", "iso-latin-1", NULL };
	for (const char *const *l = latin1_heads; *l; l++)
		if (!strcmp(head, *l) || (has_prefix(head, *l) && head[strlen(*l)] == '-'))
			return CODING_LATIN1;
	/* aliases the codec registry knows */
	static const char *const utf8[] = { "utf8", "u8", "utf", "cp65001", NULL };
	static const char *const latin1[] = { "latin1", "l1", "iso8859-1", "8859", "cp819", "latin",
					      "iso-ir-100", "csisolatin1", NULL };
	static const char *const ascii[] = { "ascii", "us-ascii", "us", "646", "cp367", "ibm367",
					     "csascii", "iso646-us", "iso-ir-6", "ansi-x3.4-1968",
					     "ansi-x3-4-1968", "ansi-x3.4-1986", NULL };
	if (in_list(name, utf8))
		return CODING_UTF8;
	if (in_list(name, latin1))
		return CODING_LATIN1;
	if (in_list(name, ascii))
		return CODING_ASCII;
	return CODING_OTHER;
}

static bool coding_char(char c)
{
	return c == '-' || c == '_' || c == '.' || (c >= '0' && c <= '9') ||
	       ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* The coding a "coding[:=]name" comment in the first two lines declares
 * (PEP 263, as tokenize.detect_encoding finds it); UTF-8 when none does.
 * The second line counts only after a blank or comment-only first line. */
static enum coding declared_coding(const char *s, size_t n)
{
	size_t at = 0;
	for (int lineno = 0; lineno < 2 && at < n; lineno++) {
		size_t end = at;
		while (end < n && s[end] != '\n' && s[end] != '\r')
			end++;
		size_t i = at;
		while (i < end && (s[i] == ' ' || s[i] == '\t' || s[i] == '\f'))
			i++;
		bool comment = i < end && s[i] == '#';
		for (size_t k = i; comment && k + 6 < end; k++) {
			if (memcmp(s + k, "coding", 6) != 0 || (s[k + 6] != ':' && s[k + 6] != '='))
				continue;
			size_t v = k + 7;
			while (v < end && (s[v] == ' ' || s[v] == '\t'))
				v++;
			char name[64];
			size_t len = 0;
			for (; v < end && coding_char(s[v]); v++) {
				if (len == sizeof(name) - 1)
					return CODING_OTHER; /* no name we know is this long */
				char c = s[v] == '_' ? '-' : s[v];
				name[len++] = (char)(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
			}
			if (!len)
				continue; /* "coding:" alone declares nothing */
			name[len] = '\0';
			return coding_of(name);
		}
		if (!(i == end || comment))
			break;
		at = end;
		if (at < n && s[at] == '\r')
			at++;
		if (at < n && s[at] == '\n')
			at++;
	}
	return CODING_UTF8;
}

static bool decode(const unsigned char *s, size_t n, enum rootfs_decoding how, struct buf *out)
{
	if (how == ROOTFS_DECODE_UTF8)
		return utf8_append(out, s, n);
	bool bom = n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0;
	if (bom)
		s += 3, n -= 3;
	enum coding c = declared_coding((const char *)s, n);
	/* tokenize refuses a BOM beside any other coding */
	if (bom && c != CODING_UTF8) {
		utf8_append(out, s, n);
		return false;
	}
	switch (c) {
	case CODING_UTF8:
		return utf8_append(out, s, n);
	case CODING_LATIN1:
		latin1_append(out, s, n);
		return true;
	case CODING_ASCII:
		return ascii_append(out, s, n);
	default:
		utf8_append(out, s, n);
		return false;
	}
}

bool rootfs_decode_source(const char *raw, size_t n, enum rootfs_decoding how, struct buf *out)
{
	bool exact = decode((const unsigned char *)(raw ? raw : ""), n, how, out);
	buf_reserve(out, 0);
	out->data[out->len] = '\0'; /* even when nothing was appended */
	return exact;
}

int rootfs_read_source(const struct rootfs *r, const char *name, size_t max,
		       enum rootfs_decoding how, struct buf *text, bool *exact,
		       struct rootfs_fileid *id)
{
	struct buf raw = BUF_INIT;
	int rc = rootfs_read(r, name, max, &raw, id);
	if (rc == 0)
		*exact = rootfs_decode_source(raw.data, raw.len, how, text);
	buf_release(&raw);
	return rc;
}

/* ---- the files behind mappings ---------------------------------------------- */

int rootfs_open_mapped_path(pid_t pid, const struct map_entry *m, int *fd)
{
	*fd = -1;
	if (m->path[0] != '/' || strlen(m->path) >= PATH_MAX)
		return ERR_NOTFOUND;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	int root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return errno == ENOENT || errno == ESRCH ? ERR_NOPROC : ERR_PERM;
	/* anything else at the path now is not the file mapped */
	struct stat want = { .st_dev = makedev(m->dev_major, m->dev_minor),
			     .st_ino = (ino_t)m->inode };
	struct lookup l = { .start = root, .path = m->path, .in_root = true };
	int rc = open_regular(&l, &want, fd);
	close(root);
	return rc;
}

int rootfs_open_mapping(pid_t pid, const struct map_entry *m, int *fd)
{
	*fd = -1;
	char path[96];
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	int f = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (f >= 0) {
		struct stat st;
		if (fstat(f, &st) == 0 && S_ISREG(st.st_mode)) {
			*fd = f;
			return 0;
		}
		close(f);
		return ERR_NOTFOUND;
	}
	return rootfs_open_mapped_path(pid, m, fd);
}
