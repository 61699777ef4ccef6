/* rootfs.h - every file that belongs to a target is opened here: its source
 * files (flame graph, heat map, dump) and the ELF files strobe parses.
 *
 * strobe runs as root against processes it must not trust, and a target
 * chooses the names of its files, its root, its working directory and what
 * lies under them (symlinks, "..", FIFOs, devices).  So a name is resolved
 * the way the target itself would resolve it, never above its root, and
 * opened and read with the target's file-system credentials and its
 * capabilities: strobe never shows what the target could not read
 * (docs/security.md).  Files of the kernel's own file systems (proc,
 * sysfs, debugfs...) are never read for a target: what they show depends
 * on who reads them, and reading some acts (/proc/kmsg consumes the log).
 *
 * A struct rootfs is captured while the target runs (it may be gone when
 * the outputs are written): an O_PATH fd of its root, its working directory
 * as a path inside that root, its fsuid, fsgid, supplementary groups and
 * effective capabilities.
 */
#ifndef STROBE_PROCESS_ROOTFS_H
#define STROBE_PROCESS_ROOTFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct buf;
struct map_entry;
struct mem_source;

/* A process's file-system credentials (/proc/PID/status). */
struct rootfs_creds {
	uint32_t fsuid, fsgid;
	uint32_t *groups;   /* owned; supplementary groups */
	size_t ngroups;
	uint64_t caps;      /* effective capabilities (CapEff), bit n = capability n */
};

/* Which file a name led to: names that lead to one file (a link, "//x",
 * "/a/../x") have one identity, so a reader can read it once. */
struct rootfs_fileid {
	uint64_t dev, ino;
};

/* The user a root-owned recording's sources are read as (replay). */
#define ROOTFS_NOBODY 65534u

/* The kernel's NGROUPS_MAX: a status with more groups is refused. */
#define ROOTFS_MAX_GROUPS 65536
/* Symlinks followed in one name before giving up (the kernel's own bound). */
#define ROOTFS_MAX_LINKS 40

struct rootfs {
	int root_fd;        /* O_PATH directory: "/" of the target */
	char *cwd;          /* owned: its working directory inside root_fd ("/app"),
			     * or NULL when that lies outside the root (then cwd_fd) */
	int cwd_fd;         /* O_PATH of the working directory when cwd is NULL, else -1 */
	struct rootfs_creds creds;
	/* Resolve names with the component-by-component walk even where
	 * openat2 exists (the fallback for kernels before 5.6; tests use it). */
	bool force_walk;
	/* Never reopen a file through /proc/self/fd, as where no /proc is
	 * mounted (the fallback: resolved again; tests use it). */
	bool no_proc;
};

/* Capture the root, working directory and credentials of the process m
 * was opened on (process/mem.h), checked to be still that process after
 * they were taken (a newcomer on its PID gives ERR_NOPROC).  0,
 * ERR_NOPROC, ERR_PERM (its /proc entries cannot be opened), ERR_IO.  On
 * failure r holds nothing to release (rootfs_release is harmless). */
int rootfs_open(struct rootfs *r, const struct mem_source *m);
/* Before the outputs are written: if m's process still runs, its
 * credentials now are merged into r's (rootfs_creds_merge), so that a
 * target that dropped its privileges after the attach (a server that
 * starts as root) is read as what it became.  Keeps r's as they are when
 * the process is gone or its status cannot be read. */
void rootfs_refresh(struct rootfs *r, const struct mem_source *m);
/* The host's "/" and strobe's working directory, read with the credentials
 * uid/gid, no supplementary groups and no capabilities (replay: the owner
 * of the recording reads no more than the owner could).  0 or ERR_IO. */
int rootfs_open_host(struct rootfs *r, uid_t uid, gid_t gid);
void rootfs_release(struct rootfs *r);

/* Parse the Uid:, Gid: and Groups: lines of a /proc/PID/status text
 * (buf[0..len), need not be NUL-terminated) into c: the fourth Uid and Gid
 * fields are the fs ids.  0, or ERR_INVAL when a line is missing or
 * malformed or there are more than ROOTFS_MAX_GROUPS groups (then c holds
 * nothing).  Release c with rootfs_creds_release. */
int rootfs_parse_status(const char *buf, size_t len, struct rootfs_creds *c);
/* The CapEff: line of a /proc/PID/status text (as rootfs_parse_status):
 * 0 with *caps, or ERR_INVAL when it is missing or not 1-16 hex digits. */
int rootfs_parse_caps(const char *buf, size_t len, uint64_t *caps);
void rootfs_creds_release(struct rootfs_creds *c);
/* held (seen at attach) and now (seen later) of one process into held:
 * now's ids and groups - the process changed users (a server dropping to
 * its workers' user) - except that root's never replace another user's
 * (no merge reads more than both could); the capabilities both had.  now
 * is left empty (its groups moved or freed). */
void rootfs_creds_merge(struct rootfs_creds *held, struct rootfs_creds *now);

/* Whether the target could open name to read it, and which file it is
 * (*id, if id is not NULL); nothing is read.  The name is found as the
 * target would: an absolute name from its root, a relative one from its
 * working directory; symlinks and ".." never lead above the root.  Only a
 * regular file counts, and none of a kernel file system (proc, sysfs...);
 * it is opened read-only (O_NONBLOCK, no controlling tty), with the
 * target's credentials and capabilities.  0; ERR_NOTFOUND (no such regular
 * file inside the root, a kernel file, or a bad name); ERR_PERM (the
 * target may not read it, or strobe cannot take its credentials and is
 * another user); ERR_LIMIT (too many symlinks). */
int rootfs_probe(const struct rootfs *r, const char *name, struct rootfs_fileid *id);

/* Open name (found and opened as rootfs_probe says, with the target's
 * credentials) for the caller to read: *fd is the caller's, -1 on failure.
 * Only for regular files of ordinary file systems (rootfs_probe refuses the
 * others), whose reads do not depend on who reads: the separate debug files
 * of native stacks (process/unwind.h), too large to read whole.  0 or as
 * rootfs_probe. */
int rootfs_open_file(const struct rootfs *r, const char *name, int *fd);

/* Read the whole file (found and opened as rootfs_probe says) into out
 * (appended; out is left as it was on failure), *id as rootfs_probe's.
 * The open, the read and the close all happen with the target's
 * credentials and capabilities.  ERR_LIMIT when it holds more than max
 * bytes; ERR_IO on a read error; else as rootfs_probe. */
int rootfs_read(const struct rootfs *r, const char *name, size_t max, struct buf *out,
		struct rootfs_fileid *id);

/* How a source file's bytes become text. */
enum rootfs_decoding {
	/* as Python's tokenize opens a source (linecache, traceback): a UTF-8
	 * BOM, a PEP 263 coding declaration (UTF-8, Latin-1, ASCII known) */
	ROOTFS_DECODE_PYTHON,
	/* as UTF-8 whatever the file says (a BOM kept as U+FEFF) */
	ROOTFS_DECODE_UTF8,
};

/* Decode raw[0..n) as how says, appending UTF-8 to out.  The text is
 * always valid UTF-8: every maximal ill-formed part becomes one U+FFFD (as
 * Python's "replace"), an encoding strobe does not know is read as UTF-8.
 * Returns true when the text is exactly what Python would decode, false
 * when Python would have failed (undecodable bytes, an unknown coding, a
 * BOM with another coding), where linecache gives no lines. */
bool rootfs_decode_source(const char *raw, size_t n, enum rootfs_decoding how, struct buf *out);

/* rootfs_read then rootfs_decode_source into text (appended); *exact is
 * what the decoding returned.  0 or as rootfs_read. */
int rootfs_read_source(const struct rootfs *r, const char *name, size_t max,
		       enum rootfs_decoding how, struct buf *text, bool *exact,
		       struct rootfs_fileid *id);

/* Open the file behind mapping m of pid (an ELF file to parse): the mapped
 * file itself through /proc/PID/map_files (which needs CAP_SYS_ADMIN or
 * CAP_CHECKPOINT_RESTORE; the only way to a deleted or replaced file), else
 * rootfs_open_mapped_path.  *fd is the caller's.  0, ERR_NOTFOUND (nothing
 * to open, or a different file at the path), ERR_PERM, ERR_NOPROC. */
int rootfs_open_mapping(pid_t pid, const struct map_entry *m, int *fd);
/* m->path resolved inside pid's root (never above it), accepted only when
 * its device and inode are the mapping's and it is no file of a kernel file
 * system.  It is opened with strobe's own credentials: the check ties it
 * to a file the target has mapped. */
int rootfs_open_mapped_path(pid_t pid, const struct map_entry *m, int *fd);

#endif
