/* outfile.h - creating an output (a file, or the heatmap's directory of
 * files) so that it is written completely or not at all, and only where it
 * was asked for (docs/security.md, "Writing outputs").
 *
 * strobe runs as root and writes where other users can plant names (a
 * sticky /tmp).  The destination is looked at without following it (lstat):
 *
 *  - absent, or a regular file: the output is written to a new temporary
 *    file in the same directory (".NAME.strobe-XXXXXX", created with
 *    O_EXCL | O_NOFOLLOW, mode 0666 minus the umask) and renamed over NAME by
 *    outfile_commit, once every write, the flush and the close succeeded.
 *    On any failure the temporary file is removed and NAME is left as it
 *    was.  The rename replaces the directory entry, never what a planted
 *    entry points to, and the file made is strobe's (its owner).  It keeps
 *    the permission bits of the file it replaces (less setuid and setgid):
 *    all of them, and the group where it can, if that file was strobe's
 *    user's; else only those within 0666 minus the umask.
 *  - named by the user (-o), strobe's user's own regular file in a
 *    directory where no new file can be made (EACCES, EPERM, EROFS):
 *    written in place (opened without following a link, checked to be that
 *    file, then truncated); a failure then leaves it cut short.
 *  - named by the user, leading (links followed) to the very file strobe's
 *    stdout or stderr is ("-o /dev/stdout > out.txt"): written through a
 *    duplicate of that descriptor, never renamed over; a link there must
 *    belong to strobe's effective user or to root.
 *  - a symbolic link or a special file (device, FIFO, socket) at a name
 *    strobe made up (policy.named false: the default names, DIR/NAME when
 *    -o is a directory, --subprocesses' per-child names): refused.
 *  - named by the user (-o): a special file, or a symbolic link to one, is
 *    written through (opened without O_CREAT or O_TRUNC, never replaced),
 *    as "-o /dev/null" and "-o /dev/stdout" mean, provided the entry named
 *    (the link, or the special file itself) belongs to strobe's effective
 *    user or to root: a link or FIFO another user planted is refused.  (A
 *    FIFO's open waits for a reader, as a shell's would; a signal ends the
 *    wait with EINTR.)  A
 *    link to a regular file, a directory or nothing is refused: following
 *    it would write where the link's owner chose, replacing it would
 *    surprise whoever made it.
 *  - a directory: refused (callers turn "-o DIR" into DIR/NAME first; a
 *    made-up name is never turned into a directory's).
 *  - one of the run's inputs (same device and inode, links followed):
 *    refused, before anything is written.
 *
 * Every call returns 0 or a negative ERR_*: ERR_INVAL for a destination the
 * rules above refuse, ERR_IO for a failed system call (errno set).  why, when
 * not NULL, gets the reason in a few words for "cannot write PATH: <why>"
 * ("it is a symbolic link", "No space left on device").  Nothing prints.
 */
#ifndef STROBE_FORMAT_OUTFILE_H
#define STROBE_FORMAT_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct errmsg;

#define OUTFILE_MAX_INPUTS 2

/* How a destination may be treated. */
struct outfile_policy {
	bool named;  /* the user gave this name (-o); false: strobe made it up */
	/* files the run reads, which the output must not be: the recording
	 * replay converts, the --diff-flamegraph baseline.  NULL: none. */
	const char *inputs[OUTFILE_MAX_INPUTS];
};

/* ---- one file ------------------------------------------------------------ */

struct outfile;

/* Open an output at path under pol; *of is NULL on failure.  The output is
 * not visible at path until outfile_commit (unless it is written through to
 * a special file). */
int outfile_open(struct outfile **of, const char *path, const struct outfile_policy *pol,
		 struct errmsg *why);
/* The file descriptor to write (owned by of). */
int outfile_fd(const struct outfile *of);
/* A buffered stream over outfile_fd, made on the first call (owned by of;
 * never fclose it).  NULL (errno set) if it cannot be made. */
FILE *outfile_stream(struct outfile *of);
/* Whether writes go straight to the destination (a special file, strobe's
 * stdout or stderr, a file written in place): nothing is renamed, and a
 * FIFO cannot seek. */
bool outfile_direct(const struct outfile *of);
/* Flush the stream, close, and rename the temporary file into place (a
 * direct output is only flushed and closed).  On any failure the temporary
 * file is removed and the destination left as it was.  Frees of. */
int outfile_commit(struct outfile *of, struct errmsg *why);
/* Give up: close, remove the temporary file, free of.  errno is kept, so
 * that a caller can report the write error that made it give up.  NULL
 * does nothing. */
void outfile_discard(struct outfile *of);

/* ---- a directory of files (heatmap) ---------------------------------------- */

struct outdir;

/* Open the output directory path under pol (its links and special files
 * rules apply to path itself, its parents are followed).
 *  - absent: its missing parents are made (the user's -o path's, which a
 *    --subprocesses child's made-up name shares; a default name has none),
 *    then a temporary directory beside it (mode 0777 minus the umask),
 *    renamed into place by outdir_commit;
 *  - an existing directory: used only if it is a real directory (not a
 *    link) owned by strobe's effective user, or, when pol->named, by root
 *    or by the user in SUDO_UID (who ran sudo); each file then goes in by
 *    temporary file and rename;
 *  - anything else: refused. */
int outdir_open(struct outdir **d, const char *path, const struct outfile_policy *pol,
		struct errmsg *why);
/* Write the file name (one component) of the directory with len bytes of
 * data. */
int outdir_put(struct outdir *d, const char *name, const void *data, size_t len,
	       struct errmsg *why);
/* Rename a new directory into place (an existing one holds its files
 * already).  On failure the new directory and its files are removed.  Frees d. */
int outdir_commit(struct outdir *d, struct errmsg *why);
/* Give up: a new directory is removed with what was put in it (an existing
 * one keeps the files already put).  errno is kept.  NULL does nothing. */
void outdir_discard(struct outdir *d);

/* ---- inputs ---------------------------------------------------------------- */

/* Whether path names an existing regular file that is also one of inputs
 * (NULL entries skipped): stat following links, compared by device and
 * inode.  The index of that input plus 1, or 0. */
int outfile_is_input(const char *path, const char *const inputs[OUTFILE_MAX_INPUTS]);

#endif
