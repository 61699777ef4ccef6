/* rootfs.h - every file that belongs to a target is opened here: its source
 * files (flame graph, heat map, dump) and the ELF files strobe parses.
 *
 * strobe runs as root against processes it must not trust, and a target
 * chooses the names of its files, its root, its working directory and what
 * lies under them (symlinks, "..", FIFOs, devices).  So a name is resolved
 * the way the target itself would resolve it, never above its root, and
 * opened with the target's file-system credentials: strobe never shows
 * what the target could not read (docs/security.md).
 *
 * A struct rootfs is captured while the target runs (it may be gone when
 * the outputs are written): an O_PATH fd of its root, its working directory
 * as a path inside that root, its fsuid, fsgid and supplementary groups.
 */
#ifndef STROBE_TARGET_ROOTFS_H
#define STROBE_TARGET_ROOTFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct buf;
struct map_entry;

/* A process's file-system credentials (/proc/PID/status). */
struct rootfs_creds {
	uint32_t fsuid, fsgid;
	uint32_t *groups;   /* owned; supplementary groups */
	size_t ngroups;
};

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

/* Capture pid's root, working directory and credentials.  0, ERR_NOPROC,
 * ERR_PERM (its /proc entries cannot be opened), ERR_IO.  On failure r
 * holds nothing to release (rootfs_release is harmless). */
int rootfs_open(struct rootfs *r, pid_t pid);
/* The host's "/" and strobe's working directory, read with the credentials
 * uid/gid and no supplementary groups (replay: the owner of the recording
 * reads no more than the owner could).  0 or ERR_IO. */
int rootfs_open_host(struct rootfs *r, uid_t uid, gid_t gid);
void rootfs_release(struct rootfs *r);

/* Parse the Uid:, Gid: and Groups: lines of a /proc/PID/status text
 * (buf[0..len), need not be NUL-terminated) into c: the fourth Uid and Gid
 * fields are the fs ids.  0, or ERR_INVAL when a line is missing or
 * malformed or there are more than ROOTFS_MAX_GROUPS groups (then c holds
 * nothing).  Release c with rootfs_creds_release. */
int rootfs_parse_status(const char *buf, size_t len, struct rootfs_creds *c);
void rootfs_creds_release(struct rootfs_creds *c);

/* Open name as the target would: an absolute name from its root, a
 * relative one from its working directory; symlinks and ".." never lead
 * above the root; only a regular file, opened read-only (O_NONBLOCK, no
 * controlling tty), with the target's credentials.  *fd is the caller's.
 * 0; ERR_NOTFOUND (no such regular file inside the root, or a bad name);
 * ERR_PERM (the target may not read it, or strobe cannot take its
 * credentials and is another user); ERR_LIMIT (too many symlinks). */
int rootfs_open_file(const struct rootfs *r, const char *name, int *fd);

/* Read the whole file (rootfs_open_file) into out (appended; out is left
 * as it was on failure).  ERR_LIMIT when it holds more than max bytes;
 * ERR_IO on a read error; else as rootfs_open_file. */
int rootfs_read(const struct rootfs *r, const char *name, size_t max, struct buf *out);

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
		       enum rootfs_decoding how, struct buf *text, bool *exact);

/* Open the file behind mapping m of pid (an ELF file to parse): the mapped
 * file itself through /proc/PID/map_files (which needs CAP_SYS_ADMIN or
 * CAP_CHECKPOINT_RESTORE; the only way to a deleted or replaced file), else
 * rootfs_open_mapped_path.  *fd is the caller's.  0, ERR_NOTFOUND (nothing
 * to open, or a different file at the path), ERR_PERM, ERR_NOPROC. */
int rootfs_open_mapping(pid_t pid, const struct map_entry *m, int *fd);
/* m->path resolved inside pid's root (never above it), accepted only when
 * its device and inode are the mapping's.  It is opened with strobe's own
 * credentials: the check ties it to a file the target has mapped. */
int rootfs_open_mapped_path(pid_t pid, const struct map_entry *m, int *fd);

#endif
