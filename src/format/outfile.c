/* outfile.c - outputs created safely: a temporary file renamed into place,
 * or a special file written through; the rules are in outfile.h. */
#include "format/outfile.h"

#include "base/buf.h"
#include "base/error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ".NAME.strobe-XXXXXX": what the name adds to NAME */
#define TMP_EXTRA 15
#define TMP_TRIES 100

struct outfile {
	int fd;
	FILE *fp;      /* made by outfile_stream, owns fd then */
	int dirfd;     /* O_PATH of the destination's directory */
	char *name;    /* the destination's name in dirfd */
	char *tmp;     /* a named temporary file in dirfd, or NULL */
	bool unnamed;  /* fd is an O_TMPFILE in dirfd, linked in at commit */
};

/* ---- small helpers ----------------------------------------------------------- */

static int fail_errno(struct errmsg *why)
{
	int e = errno ? errno : EIO;
	errmsg_set(why, "%s", strerror(e));
	errno = e;
	return ERR_IO;
}

/* A refusal by the rules: ERR_INVAL with errno e and the reason in why. */
static int refuse(struct errmsg *why, int e, const char *reason, const char *detail)
{
	if (detail)
		errmsg_set(why, "%s (%s)", reason, detail);
	else
		errmsg_set(why, "%s", reason);
	errno = e;
	return ERR_INVAL;
}

static const char *kind_of(mode_t m)
{
	if (S_ISREG(m))
		return "a regular file";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISLNK(m))
		return "a symbolic link";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	return "a special file";
}

static bool is_special(mode_t m)
{
	return S_ISCHR(m) || S_ISBLK(m) || S_ISFIFO(m) || S_ISSOCK(m);
}

/* An entry strobe may follow or write through when the user named it:
 * its own, or root's (a non-root user cannot make an entry root's). */
static bool trusted_owner(const struct stat *st)
{
	return st->st_uid == geteuid() || st->st_uid == 0;
}

static int match_input(const struct stat *st, const char *const inputs[OUTFILE_MAX_INPUTS])
{
	for (int i = 0; i < OUTFILE_MAX_INPUTS; i++) {
		struct stat in;
		if (inputs[i] && stat(inputs[i], &in) == 0 && S_ISREG(in.st_mode) &&
		    in.st_dev == st->st_dev && in.st_ino == st->st_ino)
			return i + 1;
	}
	return 0;
}

int outfile_is_input(const char *path, const char *const inputs[OUTFILE_MAX_INPUTS])
{
	struct stat st;
	if (!path || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	return match_input(&st, inputs);
}

static int refuse_input(struct errmsg *why, const char *const inputs[OUTFILE_MAX_INPUTS], int k)
{
	return refuse(why, EEXIST, "it is an input of this run", inputs[k - 1]);
}

static void random_suffix(char out[7], unsigned attempt)
{
	static const char digits[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char r[6];
	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		/* no entropy yet (early boot): O_EXCL keeps it safe, the
		 * clock only has to make a collision unlikely */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
			     ((uint64_t)getpid() << 40) ^ (uint64_t)attempt * 0x9e3779b97f4a7c15ull;
		for (size_t i = 0; i < sizeof(r); i++, x >>= 8)
			r[i] = (unsigned char)x;
	}
	for (size_t i = 0; i < sizeof(r); i++)
		out[i] = digits[r[i] % (sizeof(digits) - 1)];
	out[6] = '\0';
}

/* A new, unused name beside name: ".NAME.strobe-XXXXXX" (NAME cut so that
 * the whole fits NAME_MAX).  make creates it (O_EXCL semantics: EEXIST if
 * taken); it returns >= 0 or -1 with errno.  Returns make's result, *tmp
 * set (malloc'd). */
static int make_beside(int dirfd, const char *name, char **tmp,
		       int (*make)(int dirfd, const char *tmp, int arg), int arg)
{
	size_t keep = strlen(name);
	if (keep > NAME_MAX - TMP_EXTRA)
		keep = NAME_MAX - TMP_EXTRA;
	char *t = xmalloc(keep + TMP_EXTRA + 1);
	for (unsigned i = 0; i < TMP_TRIES; i++) {
		char suffix[7];
		random_suffix(suffix, i);
		snprintf(t, keep + TMP_EXTRA + 1, ".%.*s.strobe-%s", (int)keep, name, suffix);
		int r = make(dirfd, t, arg);
		if (r >= 0) {
			*tmp = t;
			return r;
		}
		if (errno != EEXIST)
			break;
	}
	int e = errno;
	free(t);
	errno = e;
	return -1;
}

static int make_file(int dirfd, const char *tmp, int unused)
{
	(void)unused;
	/* 0666: the umask decides, as for any file a program creates */
	return openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
}

static int make_dir(int dirfd, const char *tmp, int unused)
{
	(void)unused;
	return mkdirat(dirfd, tmp, 0777);
}

/* Give the unnamed file fd the name tmp (EEXIST if taken). */
static int link_unnamed(int dirfd, const char *tmp, int fd)
{
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, self, dirfd, tmp, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	if (errno == EEXIST)
		return -1;
	/* no /proc: the fd itself, which needs CAP_DAC_READ_SEARCH */
	return linkat(fd, "", dirfd, tmp, AT_EMPTY_PATH);
}

/* The new file fd replaces old (NULL: nothing was there): it keeps old's
 * permission bits, less setuid and setgid.  Only the user's own file passes
 * them on whole (and its group, where strobe may give it); another user's
 * file at that name (planted in a shared directory) can only narrow the
 * mode strobe's umask gave, never open root's output to others. */
static int keep_mode(int fd, const struct stat *old)
{
	if (!old)
		return 0;
	mode_t keep = old->st_mode & 07777 & ~(mode_t)(S_ISUID | S_ISGID);
	if (old->st_uid == geteuid()) {
		/* not a member of that group: the file keeps strobe's */
		if (fchown(fd, (uid_t)-1, old->st_gid) != 0 && errno != EPERM)
			return -1;
	} else {
		struct stat now;
		if (fstat(fd, &now) != 0)
			return -1;
		keep &= now.st_mode & 07777;
	}
	return fchmod(fd, keep);
}

/* The output's file, not yet in the directory: an unnamed O_TMPFILE when
 * the file system has them, so that a run that dies (even by SIGKILL)
 * leaves nothing behind; else a named temporary file.  old: the regular
 * file it will replace, or NULL. */
static int make_temp(struct outfile *of, const struct stat *old)
{
#ifdef O_TMPFILE
	/* linking it in at commit goes through /proc/self/fd (or needs
	 * CAP_DAC_READ_SEARCH): without either, a named file from the start */
	if (access("/proc/self/fd", X_OK) == 0 || geteuid() == 0) {
		of->fd = openat(of->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
		if (of->fd >= 0)
			of->unnamed = true;
	}
#endif
	if (of->fd < 0)
		of->fd = make_beside(of->dirfd, of->name, &of->tmp, make_file, -1);
	if (of->fd < 0)
		return -1;
	if (keep_mode(of->fd, old) != 0) {
		int e = errno;
		close(of->fd);
		of->fd = -1;
		of->unnamed = false;
		if (of->tmp)
			unlinkat(of->dirfd, of->tmp, 0);
		free(of->tmp);
		of->tmp = NULL;
		errno = e;
		return -1;
	}
	return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The directory part of path, opened O_PATH, and its last component. */
static int open_parent(const char *path, int *dirfd, const char **base, struct errmsg *why)
{
	*dirfd = -1;
	if (!*path) {
		errno = ENOENT;
		return fail_errno(why);
	}
	const char *slash = strrchr(path, '/');
	*base = slash ? slash + 1 : path;
	if (!**base || strcmp(*base, ".") == 0 || strcmp(*base, "..") == 0) {
		errno = EISDIR;
		return fail_errno(why);
	}
	char *dir;
	if (!slash)
		dir = xstrdup(".");
	else if (slash == path)
		dir = xstrdup("/");
	else {
		dir = xmalloc((size_t)(slash - path) + 1);
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	/* the directories leading to the output are the caller's choice and
	 * are followed; only the last component is looked at closely */
	*dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int e = errno;
	free(dir);
	errno = e;
	return *dirfd < 0 ? fail_errno(why) : 0;
}

/* ---- one file ------------------------------------------------------------------ */

/* A special file the user named (or a link to one): opened for writing,
 * never created, never truncated.  lst is what lstat saw at name. */
static int open_direct(struct outfile *of, const struct stat *lst, const char *const *inputs,
		       struct errmsg *why)
{
	int fd = openat(of->dirfd, of->name, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return fail_errno(why);
	struct stat st, again;
	if (fstat(fd, &st) != 0) {
		int r = fail_errno(why);
		close(fd);
		return r;
	}
	int rc = 0;
	/* what was opened must still be what was checked: the entry the
	 * same, and what it leads to a special file */
	if (fstatat(of->dirfd, of->name, &again, AT_SYMLINK_NOFOLLOW) != 0 ||
	    again.st_dev != lst->st_dev || again.st_ino != lst->st_ino)
		rc = refuse(why, EAGAIN, "it changed while being opened", NULL);
	else if (!is_special(st.st_mode))
		rc = refuse(why, EAGAIN, "it changed while being opened", kind_of(st.st_mode));
	else if (match_input(&st, inputs))
		rc = refuse_input(why, inputs, match_input(&st, inputs));
	if (rc) {
		int e = errno;
		close(fd);
		errno = e;
		return rc;
	}
	of->fd = fd;
	return 0;
}

/* strobe's own stdout or stderr, if st (what a name leads to) is that
 * file: its descriptor, else -1. */
static int stdio_of(const struct stat *st)
{
	for (int fd = STDOUT_FILENO; fd <= STDERR_FILENO; fd++) {
		struct stat s;
		if (fstat(fd, &s) == 0 && s.st_dev == st->st_dev && s.st_ino == st->st_ino)
			return fd;
	}
	return -1;
}

/* A name the user gave that leads to strobe's own stdout or stderr (st):
 * written through that descriptor, as a shell's "> FILE" made it, never
 * renamed over ("-o /dev/stdout > out.txt").  The output then shares that
 * file with strobe's own messages, in the order they are written. */
static int open_stdio(struct outfile *of, int fd, const struct stat *st,
		      const char *const *inputs, struct errmsg *why)
{
	struct stat lst;
	if (fstatat(of->dirfd, of->name, &lst, AT_SYMLINK_NOFOLLOW) != 0)
		return fail_errno(why);
	if (S_ISLNK(lst.st_mode) && !trusted_owner(&lst))
		return refuse(why, ELOOP, "it is a symbolic link owned by another user", NULL);
	int k = match_input(st, inputs);
	if (k)
		return refuse_input(why, inputs, k);
	of->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	return of->fd < 0 ? fail_errno(why) : 0;
}

/* The user's own regular file lst, named by -o, in a directory where no
 * new file can be made: written in place, truncated first.  Unlike a
 * replacement, a failed write leaves it cut short.  Opened without
 * following a link or waiting on a FIFO, and used only if it is still that
 * file. */
static int open_in_place(struct outfile *of, const struct stat *lst, struct errmsg *why)
{
	int fd = openat(of->dirfd, of->name,
			O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return fail_errno(why);
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) != 0)
		rc = fail_errno(why);
	else if (!S_ISREG(st.st_mode) || st.st_dev != lst->st_dev || st.st_ino != lst->st_ino ||
		 st.st_uid != geteuid())
		rc = refuse(why, EAGAIN, "it changed while being opened", NULL);
	/* truncated only once it is known to be that file */
	else if (ftruncate(fd, 0) != 0 || fcntl(fd, F_SETFL, 0) != 0)
		rc = fail_errno(why);
	if (rc) {
		int e = errno;
		close(fd);
		errno = e;
		return rc;
	}
	of->fd = fd;
	return 0;
}

/* Look at of->name in of->dirfd and open what the rules allow. */
static int open_in(struct outfile *of, const struct outfile_policy *pol, struct errmsg *why)
{
	const char *const *inputs = pol->inputs;
	struct stat lst = { 0 }; /* st_mode 0: absent */
	if (pol->named) {
		struct stat st;
		int fd;
		if (fstatat(of->dirfd, of->name, &st, 0) == 0 && !S_ISDIR(st.st_mode) &&
		    (fd = stdio_of(&st)) >= 0)
			return open_stdio(of, fd, &st, inputs, why);
	}
	if (fstatat(of->dirfd, of->name, &lst, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno != ENOENT)
			return fail_errno(why);
		lst.st_mode = 0;
	} else if (S_ISDIR(lst.st_mode)) {
		errno = EISDIR;
		return fail_errno(why);
	} else if (S_ISLNK(lst.st_mode)) {
		if (!pol->named)
			return refuse(why, ELOOP, "it is a symbolic link (not followed at a default "
				      "output name)", NULL);
		if (!trusted_owner(&lst))
			return refuse(why, ELOOP, "it is a symbolic link owned by another user",
				      NULL);
		struct stat st;
		if (fstatat(of->dirfd, of->name, &st, 0) != 0)
			return refuse(why, ELOOP, "it is a symbolic link", "to nothing");
		if (!is_special(st.st_mode)) {
			char to[64];
			snprintf(to, sizeof(to), "to %s", kind_of(st.st_mode));
			return refuse(why, ELOOP, "it is a symbolic link", to);
		}
		return open_direct(of, &lst, inputs, why);
	} else if (is_special(lst.st_mode)) {
		char what[96];
		if (!pol->named) {
			snprintf(what, sizeof(what), "it is %s, not a regular file",
				 kind_of(lst.st_mode));
			return refuse(why, EEXIST, what, "not written at a default output name");
		}
		if (!trusted_owner(&lst)) {
			snprintf(what, sizeof(what), "it is %s owned by another user",
				 kind_of(lst.st_mode));
			return refuse(why, EPERM, what, NULL);
		}
		return open_direct(of, &lst, inputs, why);
	} else if (!S_ISREG(lst.st_mode)) {
		return refuse(why, EEXIST, "it is not a regular file", kind_of(lst.st_mode));
	} else {
		int k = match_input(&lst, inputs);
		if (k)
			return refuse_input(why, inputs, k);
	}
	/* absent or a regular file: a new file beside it */
	bool exists = S_ISREG(lst.st_mode);
	if (make_temp(of, exists ? &lst : NULL) == 0)
		return 0;
	/* no new file can be made there (a directory strobe's user may not
	 * write, a read-only mount): the user's own file named by -o is
	 * written in place, as any program would */
	if (exists && pol->named && lst.st_uid == geteuid() &&
	    (errno == EACCES || errno == EPERM || errno == EROFS))
		return open_in_place(of, &lst, why);
	return fail_errno(why);
}

static void outfile_free(struct outfile *of)
{
	if (of->fp)
		fclose(of->fp);
	else if (of->fd >= 0)
		close(of->fd);
	if (of->dirfd >= 0)
		close(of->dirfd);
	free(of->name);
	free(of->tmp);
	free(of);
}

/* Open name in dirfd (owned by the outfile made). */
static int open_at(struct outfile **out, int dirfd, const char *name,
		   const struct outfile_policy *pol, struct errmsg *why)
{
	struct outfile *of = xcalloc(1, sizeof(*of));
	of->fd = -1;
	of->dirfd = dirfd;
	of->name = xstrdup(name);
	int rc = open_in(of, pol, why);
	if (rc) {
		int e = errno;
		outfile_free(of);
		errno = e;
		*out = NULL;
		return rc;
	}
	*out = of;
	return 0;
}

int outfile_open(struct outfile **of, const char *path, const struct outfile_policy *pol,
		 struct errmsg *why)
{
	*of = NULL;
	int dirfd;
	const char *base;
	int rc = open_parent(path, &dirfd, &base, why);
	if (rc)
		return rc;
	return open_at(of, dirfd, base, pol, why);
}

int outfile_fd(const struct outfile *of)
{
	return of->fd;
}

FILE *outfile_stream(struct outfile *of)
{
	if (!of->fp)
		of->fp = fdopen(of->fd, "wb");
	return of->fp;
}

bool outfile_direct(const struct outfile *of)
{
	return !of->tmp && !of->unnamed;
}

int outfile_commit(struct outfile *of, struct errmsg *why)
{
	int rc = 0;
	if (of->fp) {
		/* an earlier write may have failed and been ignored: its
		 * errno is gone, the stream remembers that it failed */
		if (ferror(of->fp)) {
			errno = EIO;
			rc = fail_errno(why);
		} else if (fflush(of->fp) != 0) {
			rc = fail_errno(why);
		}
	}
	/* an unnamed file gets a temporary name while its fd is open, then
	 * goes on as a named one */
	if (!rc && of->unnamed &&
	    make_beside(of->dirfd, of->name, &of->tmp, link_unnamed, of->fd) < 0)
		rc = fail_errno(why);
	int closed = of->fp ? fclose(of->fp) : close(of->fd);
	of->fp = NULL;
	of->fd = -1;
	if (closed != 0 && !rc)
		rc = fail_errno(why);
	if (of->tmp) {
		if (!rc && renameat(of->dirfd, of->tmp, of->dirfd, of->name) != 0)
			rc = fail_errno(why);
		if (rc) {
			int e = errno;
			unlinkat(of->dirfd, of->tmp, 0);
			errno = e;
		}
	}
	int e = errno;
	outfile_free(of);
	errno = e;
	return rc;
}

void outfile_discard(struct outfile *of)
{
	if (!of)
		return;
	int e = errno;
	if (of->fp)
		fclose(of->fp);
	else if (of->fd >= 0)
		close(of->fd);
	of->fp = NULL;
	of->fd = -1;
	if (of->tmp)
		unlinkat(of->dirfd, of->tmp, 0);
	outfile_free(of);
	errno = e;
}

/* ---- a directory of files -------------------------------------------------------- */

struct outdir {
	int parentfd;      /* O_PATH of the directory's parent */
	int fd;            /* O_PATH of the directory */
	char *name;        /* its name in parentfd */
	char *tmp;         /* a new directory's temporary name; NULL: an existing one */
	char **files;      /* put in a new directory, for removal on failure */
	size_t nfiles, cap;
	const char *inputs[OUTFILE_MAX_INPUTS];
};

/* mkdir -p of path's directories (not of path itself). */
static int make_parents(const char *path)
{
	size_t n = strlen(path);
	char *tmp = xstrdup(path);
	int rc = 0;
	for (size_t i = 1; i < n; i++) {
		if (tmp[i] != '/' || tmp[i - 1] == '/')
			continue;
		tmp[i] = '\0';
		struct stat st;
		if (mkdir(tmp, 0777) != 0 && errno != EEXIST) {
			rc = -1;
			break;
		}
		if (stat(tmp, &st) != 0 || !S_ISDIR(st.st_mode)) {
			if (rc == 0 && errno != ENOENT)
				errno = ENOTDIR;
			rc = -1;
			break;
		}
		tmp[i] = '/';
	}
	int e = errno;
	free(tmp);
	errno = e;
	return rc;
}

static void outdir_free(struct outdir *d)
{
	if (d->fd >= 0)
		close(d->fd);
	if (d->parentfd >= 0)
		close(d->parentfd);
	for (size_t i = 0; i < d->nfiles; i++)
		free(d->files[i]);
	free(d->files);
	free(d->name);
	free(d->tmp);
	free(d);
}

/* Whether uid is the user who ran sudo to become strobe's user: SUDO_UID,
 * which sudo sets (a user cannot set the environment of root's programs). */
static bool sudo_user(uid_t uid)
{
	const char *s = getenv("SUDO_UID");
	if (!s || *s < '0' || *s > '9')
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	return !*end && errno == 0 && v < (uid_t)-1 && (uid_t)v == uid;
}

/* Whether a directory owned by uid may receive strobe's pages.  At a name
 * strobe made up, only strobe's own: another user could have made it.
 * Named by -o, also root's (which no other user can make) and that of the
 * user who ran sudo ("sudo strobe --heatmap -o ~/report"), as "-o DIR"
 * takes such a directory for a one-file format. */
static bool dir_owner_ok(uid_t uid, bool named)
{
	if (uid == geteuid())
		return true;
	return named && (uid == 0 || sudo_user(uid));
}

/* An existing directory at d->name: used if it is a real one whose owner
 * dir_owner_ok accepts. */
static int open_existing_dir(struct outdir *d, const struct stat *lst, bool named,
			     struct errmsg *why)
{
	if (S_ISLNK(lst->st_mode))
		return refuse(why, ELOOP, "it is a symbolic link", NULL);
	if (!S_ISDIR(lst->st_mode))
		return refuse(why, ENOTDIR, "it is not a directory", kind_of(lst->st_mode));
	if (!dir_owner_ok(lst->st_uid, named))
		return refuse(why, EPERM, "it is a directory owned by another user", NULL);
	d->fd = openat(d->parentfd, d->name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d->fd < 0)
		return fail_errno(why);
	struct stat st;
	if (fstat(d->fd, &st) != 0)
		return fail_errno(why);
	if (st.st_dev != lst->st_dev || st.st_ino != lst->st_ino || st.st_uid != lst->st_uid)
		return refuse(why, EAGAIN, "it changed while being opened", NULL);
	return 0;
}

int outdir_open(struct outdir **out, const char *path, const struct outfile_policy *pol,
		struct errmsg *why)
{
	*out = NULL;
	struct outdir *d = xcalloc(1, sizeof(*d));
	d->parentfd = d->fd = -1;
	memcpy(d->inputs, pol->inputs, sizeof(d->inputs));
	/* "out/" names the directory out; "/" and "." stay themselves */
	char *p = xstrdup(path);
	for (size_t n = strlen(p); n > 1 && p[n - 1] == '/'; n--)
		p[n - 1] = '\0';
	int rc = 0;
	/* the directories leading to it are the user's choice: a default
	 * name has none, and a --subprocesses child's made-up name shares
	 * those of the -o path it is made from */
	if (make_parents(p) != 0) {
		rc = fail_errno(why);
		goto out;
	}
	const char *base;
	if (strcmp(p, "/") == 0) {
		d->parentfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		base = ".";
		if (d->parentfd < 0) {
			rc = fail_errno(why);
			goto out;
		}
	} else {
		const char *slash = strrchr(p, '/');
		const char *b = slash ? slash + 1 : p;
		bool self = strcmp(b, ".") == 0 || strcmp(b, "..") == 0;
		/* "DIR/." and ".." are directories already, looked at as such */
		if (self) {
			d->parentfd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
			base = ".";
			if (d->parentfd < 0) {
				rc = fail_errno(why);
				goto out;
			}
		} else {
			rc = open_parent(p, &d->parentfd, &base, why);
			if (rc)
				goto out;
		}
	}
	d->name = xstrdup(base);
	struct stat lst;
	if (fstatat(d->parentfd, d->name, &lst, AT_SYMLINK_NOFOLLOW) == 0) {
		rc = open_existing_dir(d, &lst, pol->named, why);
		goto out;
	}
	if (errno != ENOENT) {
		rc = fail_errno(why);
		goto out;
	}
	if (make_beside(d->parentfd, d->name, &d->tmp, make_dir, -1) < 0) {
		rc = fail_errno(why);
		goto out;
	}
	d->fd = openat(d->parentfd, d->tmp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d->fd < 0) {
		rc = fail_errno(why);
		int e = errno;
		unlinkat(d->parentfd, d->tmp, AT_REMOVEDIR);
		errno = e;
	}
out:
	free(p);
	if (rc) {
		int e = errno;
		outdir_free(d);
		errno = e;
		return rc;
	}
	*out = d;
	return 0;
}

int outdir_put(struct outdir *d, const char *name, const void *data, size_t len,
	       struct errmsg *why)
{
	if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		errno = EINVAL;
		return fail_errno(why);
	}
	if (!d->tmp) {
		/* an existing directory: each file replaced whole, by the
		 * rules of a name strobe made up */
		struct outfile_policy pol = { .named = false };
		memcpy(pol.inputs, d->inputs, sizeof(pol.inputs));
		int dfd = fcntl(d->fd, F_DUPFD_CLOEXEC, 0);
		if (dfd < 0)
			return fail_errno(why);
		struct outfile *of;
		int rc = open_at(&of, dfd, name, &pol, why);
		if (rc)
			return rc;
		if (write_all(of->fd, data, len) != 0) {
			rc = fail_errno(why);
			outfile_discard(of);
			return rc;
		}
		return outfile_commit(of, why);
	}
	/* a new directory: nobody else's names are in it, and O_EXCL makes
	 * sure of it */
	int fd = openat(d->fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
	if (fd < 0)
		return fail_errno(why);
	VEC_RESERVE(d->files, d->cap, d->nfiles + 1);
	d->files[d->nfiles++] = xstrdup(name);
	int rc = 0;
	if (write_all(fd, data, len) != 0)
		rc = fail_errno(why);
	if (close(fd) != 0 && !rc)
		rc = fail_errno(why);
	return rc;
}

static void remove_new(struct outdir *d)
{
	for (size_t i = 0; i < d->nfiles; i++)
		unlinkat(d->fd, d->files[i], 0);
	unlinkat(d->parentfd, d->tmp, AT_REMOVEDIR);
}

int outdir_commit(struct outdir *d, struct errmsg *why)
{
	int rc = 0;
	if (d->tmp) {
		/* never over something that appeared meanwhile */
		int r = renameat2(d->parentfd, d->tmp, d->parentfd, d->name, RENAME_NOREPLACE);
		if (r != 0 && (errno == EINVAL || errno == ENOSYS))
			r = renameat(d->parentfd, d->tmp, d->parentfd, d->name);
		if (r != 0) {
			rc = fail_errno(why);
			int e = errno;
			remove_new(d);
			errno = e;
		}
	}
	int e = errno;
	outdir_free(d);
	errno = e;
	return rc;
}

void outdir_discard(struct outdir *d)
{
	if (!d)
		return;
	int e = errno;
	if (d->tmp)
		remove_new(d);
	outdir_free(d);
	errno = e;
}
