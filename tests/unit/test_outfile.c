/* test_outfile.c - out/outfile: outputs made whole or not at all, only where
 * asked (docs/security.md, "Writing outputs"). */
#include "harness.h"

#include "base/error.h"
#include "format/outfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

static const char *at(const char *name)
{
	static char path[4][512];
	static int k;
	k = (k + 1) % 4;
	snprintf(path[k], sizeof(path[k]), "%s/%s", dir, name);
	return path[k];
}

static void put(const char *name, const char *text)
{
	FILE *f = fopen(at(name), "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* The file's text (static buffer), or "" if it cannot be read. */
static const char *text_of(const char *path)
{
	static char buf[4096];
	buf[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f)
		return buf;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Names in the test directory that start with '.', other than . and ..:
 * temporary files left behind. */
static int leftovers(void)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL)
		if (e->d_name[0] == '.' && strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	if (d)
		closedir(d);
	return n;
}

static const struct outfile_policy made_up = { .named = false };
static const struct outfile_policy named = { .named = true };

/* Open path, write text and commit: the result of each step. */
static int write_text(const char *path, const struct outfile_policy *pol, const char *text,
		      struct errmsg *why)
{
	struct outfile *of;
	int rc = outfile_open(&of, path, pol, why);
	if (rc)
		return rc;
	FILE *f = outfile_stream(of);
	CHECK(f != NULL);
	fputs(text, f);
	return outfile_commit(of, why);
}

static void reset_dir(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir '%s'", dir, dir);
	CHECK(system(cmd) == 0);
}

TEST(absent)
{
	reset_dir();
	struct outfile *of;
	struct errmsg why = { "" };
	CHECK_EQ_INT(outfile_open(&of, at("new.txt"), &made_up, &why), 0);
	CHECK(!outfile_direct(of));
	fputs("hello", outfile_stream(of));
	/* not visible before it is whole */
	CHECK(access(at("new.txt"), F_OK) != 0);
	CHECK_EQ_INT(outfile_commit(of, &why), 0);
	CHECK_STR(text_of(at("new.txt")), "hello");
	CHECK_EQ_INT(leftovers(), 0);
	/* a path with no directory part is in the current directory */
	char cwd[512];
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	CHECK(chdir(dir) == 0);
	CHECK_EQ_INT(write_text("here.txt", &made_up, "x", &why), 0);
	CHECK(chdir(cwd) == 0);
	CHECK_STR(text_of(at("here.txt")), "x");
	/* a missing directory is an error of the system's words */
	CHECK_EQ_INT(write_text(at("no/such.txt"), &named, "x", &why), ERR_IO);
	CHECK_STR(why.text, strerror(ENOENT));
}

TEST(regular_replaced_not_written_through)
{
	reset_dir();
	put("out.txt", "old");
	/* another name for the old file: it must keep its bytes */
	CHECK(link(at("out.txt"), at("other")) == 0);
	struct stat before, after;
	CHECK(stat(at("out.txt"), &before) == 0);
	struct errmsg why = { "" };
	CHECK_EQ_INT(write_text(at("out.txt"), &made_up, "new", &why), 0);
	CHECK(stat(at("out.txt"), &after) == 0);
	CHECK(before.st_ino != after.st_ino);
	CHECK_STR(text_of(at("out.txt")), "new");
	CHECK_STR(text_of(at("other")), "old");
	CHECK_EQ_INT(write_text(at("out.txt"), &named, "named", &why), 0);
	CHECK_STR(text_of(at("out.txt")), "named");
	CHECK_EQ_INT(leftovers(), 0);
}

TEST(symlink)
{
	reset_dir();
	put("victim", "secret");
	CHECK(symlink(at("victim"), at("link")) == 0);
	struct errmsg why = { "" };
	/* at a default name: never followed */
	CHECK_EQ_INT(write_text(at("link"), &made_up, "x", &why), ERR_INVAL);
	CHECK(strstr(why.text, "symbolic link") != NULL);
	CHECK_STR(text_of(at("victim")), "secret");
	/* named by -o, to a regular file: refused too, the link kept */
	why.text[0] = '\0';
	CHECK_EQ_INT(write_text(at("link"), &named, "x", &why), ERR_INVAL);
	CHECK(strstr(why.text, "symbolic link") != NULL);
	CHECK_STR(text_of(at("victim")), "secret");
	struct stat st;
	CHECK(lstat(at("link"), &st) == 0 && S_ISLNK(st.st_mode));
	/* dangling: nothing is created where it points */
	CHECK(symlink(at("nowhere"), at("dangling")) == 0);
	CHECK_EQ_INT(write_text(at("dangling"), &made_up, "x", &why), ERR_INVAL);
	CHECK_EQ_INT(write_text(at("dangling"), &named, "x", &why), ERR_INVAL);
	CHECK(access(at("nowhere"), F_OK) != 0);
	/* a link to a directory */
	CHECK(mkdir(at("sub"), 0755) == 0);
	CHECK(symlink(at("sub"), at("dirlink")) == 0);
	CHECK_EQ_INT(write_text(at("dirlink"), &named, "x", &why), ERR_INVAL);
	CHECK_EQ_INT(leftovers(), 0);
}

TEST(devnull)
{
	struct errmsg why = { "" };
	struct outfile *of;
	CHECK_EQ_INT(outfile_open(&of, "/dev/null", &named, &why), 0);
	CHECK(outfile_direct(of));
	fputs("gone", outfile_stream(of));
	CHECK_EQ_INT(outfile_commit(of, &why), 0);
	struct stat st;
	CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
	/* at a name strobe made up, a device is refused */
	CHECK_EQ_INT(outfile_open(&of, "/dev/null", &made_up, &why), ERR_INVAL);
	CHECK(strstr(why.text, "not a regular file") != NULL);
	/* through a link of ours, named: written through */
	reset_dir();
	CHECK(symlink("/dev/null", at("null")) == 0);
	CHECK_EQ_INT(write_text(at("null"), &named, "x", &why), 0);
	CHECK(lstat(at("null"), &st) == 0 && S_ISLNK(st.st_mode));
	CHECK_EQ_INT(write_text(at("null"), &made_up, "x", &why), ERR_INVAL);
	CHECK(lstat(at("null"), &st) == 0 && S_ISLNK(st.st_mode));
}

TEST(fifo_with_reader)
{
	reset_dir();
	CHECK(mkfifo(at("fifo"), 0600) == 0);
	/* the reader first, so that opening for writing does not wait */
	int r = open(at("fifo"), O_RDONLY | O_NONBLOCK);
	CHECK(r >= 0);
	struct errmsg why = { "" };
	CHECK_EQ_INT(write_text(at("fifo"), &named, "through the pipe", &why), 0);
	char buf[64] = "";
	ssize_t n = read(r, buf, sizeof(buf) - 1);
	CHECK_EQ_INT(n, 16);
	CHECK_STR(buf, "through the pipe");
	struct stat st;
	CHECK(lstat(at("fifo"), &st) == 0 && S_ISFIFO(st.st_mode));
	CHECK_EQ_INT(write_text(at("fifo"), &made_up, "x", &why), ERR_INVAL);
	CHECK(lstat(at("fifo"), &st) == 0 && S_ISFIFO(st.st_mode));
	close(r);
	CHECK_EQ_INT(leftovers(), 0);
}

/* Links and special files of another user are refused even when named:
 * what someone planted in a shared directory does not redirect strobe.
 * Needs root to make entries another user owns. */
TEST(others_entries)
{
	if (geteuid() != 0)
		return;
	reset_dir();
	struct errmsg why = { "" };
	CHECK(symlink("/dev/null", at("theirs")) == 0);
	CHECK(lchown(at("theirs"), 65534, 65534) == 0);
	CHECK_EQ_INT(write_text(at("theirs"), &named, "x", &why), ERR_INVAL);
	CHECK(strstr(why.text, "owned by another user") != NULL);
	CHECK(mkfifo(at("theirfifo"), 0666) == 0);
	CHECK(chown(at("theirfifo"), 65534, 65534) == 0);
	int r = open(at("theirfifo"), O_RDONLY | O_NONBLOCK);
	CHECK_EQ_INT(write_text(at("theirfifo"), &named, "x", &why), ERR_INVAL);
	char buf[8];
	CHECK_EQ_INT(read(r, buf, sizeof(buf)), 0);
	close(r);
	/* a regular file of theirs is replaced (the entry, not their file) */
	put("theirfile", "theirs");
	CHECK(chown(at("theirfile"), 65534, 65534) == 0);
	CHECK(link(at("theirfile"), at("theirfile2")) == 0);
	CHECK_EQ_INT(write_text(at("theirfile"), &made_up, "ours", &why), 0);
	struct stat st;
	CHECK(stat(at("theirfile"), &st) == 0 && st.st_uid == 0);
	CHECK_STR(text_of(at("theirfile2")), "theirs");
}

TEST(directory)
{
	reset_dir();
	CHECK(mkdir(at("d"), 0755) == 0);
	struct errmsg why = { "" };
	CHECK_EQ_INT(write_text(at("d"), &named, "x", &why), ERR_IO);
	CHECK_STR(why.text, strerror(EISDIR));
	CHECK_EQ_INT(write_text(at("d/"), &named, "x", &why), ERR_IO);
	CHECK_EQ_INT(leftovers(), 0);
}

/* A write that fails (here EFBIG, past RLIMIT_FSIZE with SIGXFSZ ignored):
 * the temporary file goes, the destination stays as it was. */
TEST(write_error_discards)
{
	reset_dir();
	put("out.bin", "old");
	struct rlimit old_lim, lim;
	CHECK(getrlimit(RLIMIT_FSIZE, &old_lim) == 0);
	void (*old_sig)(int) = signal(SIGXFSZ, SIG_IGN);
	lim = old_lim;
	lim.rlim_cur = 4096;
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);

	static char big[16385];
	memset(big, 'x', sizeof(big) - 1); /* and a '\0' for write_text */
	struct errmsg why = { "" };
	struct outfile *of;
	/* through the stream: the failure shows at the latest at commit */
	CHECK_EQ_INT(outfile_open(&of, at("out.bin"), &made_up, &why), 0);
	fwrite(big, 1, sizeof(big) - 1, outfile_stream(of));
	CHECK_EQ_INT(outfile_commit(of, &why), ERR_IO);
	CHECK(why.text[0] != '\0');
	CHECK_STR(text_of(at("out.bin")), "old");
	CHECK_EQ_INT(leftovers(), 0);
	/* through the fd: the caller sees the error and discards */
	CHECK_EQ_INT(outfile_open(&of, at("out.bin"), &made_up, &why), 0);
	ssize_t n1 = write(outfile_fd(of), big, sizeof(big) - 1);
	ssize_t n2 = write(outfile_fd(of), big, sizeof(big) - 1);
	CHECK(n1 == 4096 && n2 < 0 && errno == EFBIG);
	outfile_discard(of);
	CHECK_EQ_INT(errno, EFBIG);
	CHECK_STR(text_of(at("out.bin")), "old");
	CHECK_EQ_INT(leftovers(), 0);
	/* a new name: nothing appears */
	CHECK_EQ_INT(write_text(at("fresh.bin"), &made_up, big, &why), ERR_IO);
	CHECK(access(at("fresh.bin"), F_OK) != 0);
	CHECK_EQ_INT(leftovers(), 0);

	CHECK(setrlimit(RLIMIT_FSIZE, &old_lim) == 0);
	signal(SIGXFSZ, old_sig);
}

/* Written through a special file, a failure is the caller's to see. */
TEST(dev_full)
{
	struct errmsg why = { "" };
	struct outfile *of;
	if (access("/dev/full", W_OK) != 0)
		return;
	CHECK_EQ_INT(outfile_open(&of, "/dev/full", &named, &why), 0);
	fputs("no room", outfile_stream(of));
	CHECK_EQ_INT(outfile_commit(of, &why), ERR_IO);
	CHECK_STR(why.text, strerror(ENOSPC));
}

TEST(umask_respected)
{
	static const mode_t masks[] = { 022, 077, 002 };
	for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		reset_dir();
		mode_t old = umask(masks[i]);
		struct errmsg why = { "" };
		CHECK_EQ_INT(write_text(at("f"), &made_up, "x", &why), 0);
		put("g", "old");
		CHECK_EQ_INT(chmod(at("g"), 0604), 0);
		CHECK_EQ_INT(write_text(at("g"), &made_up, "x", &why), 0);
		struct outdir *d;
		CHECK_EQ_INT(outdir_open(&d, at("hm"), &made_up, &why), 0);
		CHECK_EQ_INT(outdir_put(d, "index.html", "x", 1, &why), 0);
		CHECK_EQ_INT(outdir_commit(d, &why), 0);
		umask(old);
		struct stat st;
		CHECK(stat(at("f"), &st) == 0 && (st.st_mode & 07777) == (0666 & ~masks[i]));
		/* a file of strobe's user it replaces keeps its mode */
		CHECK(stat(at("g"), &st) == 0 && (st.st_mode & 07777) == 0604);
		CHECK(stat(at("hm"), &st) == 0 && (st.st_mode & 07777) == (0777 & ~masks[i]));
		CHECK(stat(at("hm/index.html"), &st) == 0 &&
		      (st.st_mode & 07777) == (0666 & ~masks[i]));
	}
}

TEST(inputs)
{
	reset_dir();
	put("rec.bin", "recording");
	CHECK(link(at("rec.bin"), at("hard")) == 0);
	CHECK(symlink(at("rec.bin"), at("soft")) == 0);
	char rec[512];
	snprintf(rec, sizeof(rec), "%s", at("rec.bin"));
	struct outfile_policy pol = { .named = true, .inputs = { NULL, rec } };
	struct errmsg why = { "" };
	CHECK_EQ_INT(write_text(at("rec.bin"), &pol, "x", &why), ERR_INVAL);
	CHECK(strstr(why.text, "input") != NULL);
	CHECK_EQ_INT(write_text(at("hard"), &pol, "x", &why), ERR_INVAL);
	CHECK_STR(text_of(at("rec.bin")), "recording");
	CHECK_EQ_INT(outfile_is_input(at("soft"), pol.inputs), 2);
	CHECK_EQ_INT(outfile_is_input(at("hard"), pol.inputs), 2);
	CHECK_EQ_INT(outfile_is_input(at("absent"), pol.inputs), 0);
	put("other", "o");
	CHECK_EQ_INT(outfile_is_input(at("other"), pol.inputs), 0);
	CHECK_EQ_INT(write_text(at("other"), &pol, "x", &why), 0);
	/* in a directory, a file of the same inode is refused too */
	CHECK(mkdir(at("d"), 0755) == 0);
	CHECK(link(at("rec.bin"), at("d/index.html")) == 0);
	struct outdir *d;
	CHECK_EQ_INT(outdir_open(&d, at("d"), &pol, &why), 0);
	CHECK_EQ_INT(outdir_put(d, "index.html", "x", 1, &why), ERR_INVAL);
	outdir_discard(d);
	CHECK_STR(text_of(at("rec.bin")), "recording");
}

TEST(long_name)
{
	reset_dir();
	char name[256];
	memset(name, 'n', 255);
	name[255] = '\0';
	struct errmsg why = { "" };
	CHECK_EQ_INT(write_text(at(name), &made_up, "long", &why), 0);
	CHECK_STR(text_of(at(name)), "long");
	CHECK_EQ_INT(leftovers(), 0);
}

TEST(outdir_new)
{
	reset_dir();
	struct errmsg why = { "" };
	struct outdir *d;
	CHECK_EQ_INT(outdir_open(&d, at("hm"), &made_up, &why), 0);
	CHECK_EQ_INT(outdir_put(d, "file_0000.html", "a", 1, &why), 0);
	CHECK_EQ_INT(outdir_put(d, "index.html", "i", 1, &why), 0);
	CHECK(access(at("hm"), F_OK) != 0);
	CHECK_EQ_INT(outdir_put(d, "../escape", "e", 1, &why), ERR_IO);
	CHECK_EQ_INT(outdir_commit(d, &why), 0);
	CHECK_STR(text_of(at("hm/index.html")), "i");
	CHECK_STR(text_of(at("hm/file_0000.html")), "a");
	CHECK(access(at("escape"), F_OK) != 0);
	CHECK_EQ_INT(leftovers(), 0);
	/* given up: nothing left */
	CHECK_EQ_INT(outdir_open(&d, at("hm2"), &made_up, &why), 0);
	CHECK_EQ_INT(outdir_put(d, "index.html", "i", 1, &why), 0);
	outdir_discard(d);
	CHECK(access(at("hm2"), F_OK) != 0);
	CHECK_EQ_INT(leftovers(), 0);
	/* a named path's parents are made; trailing slashes are the directory */
	CHECK_EQ_INT(outdir_open(&d, at("a/b/c/"), &named, &why), 0);
	CHECK_EQ_INT(outdir_put(d, "index.html", "abc", 3, &why), 0);
	CHECK_EQ_INT(outdir_commit(d, &why), 0);
	CHECK_STR(text_of(at("a/b/c/index.html")), "abc");
	/* at a made-up name too: a --subprocesses child's name is made from
	 * the -o path, whose directories its parent makes too late */
	CHECK_EQ_INT(outdir_open(&d, at("x/y"), &made_up, &why), 0);
	if (d)
		CHECK_EQ_INT(outdir_commit(d, &why), 0);
	struct stat st;
	CHECK(lstat(at("x/y"), &st) == 0 && S_ISDIR(st.st_mode));
}

TEST(outdir_existing)
{
	reset_dir();
	struct errmsg why = { "" };
	struct outdir *d;
	CHECK(mkdir(at("mine"), 0755) == 0);
	put("mine/index.html", "old");
	put("mine/keep.txt", "keep");
	struct stat before, after;
	CHECK(stat(at("mine"), &before) == 0);
	CHECK_EQ_INT(outdir_open(&d, at("mine"), &named, &why), 0);
	CHECK_EQ_INT(outdir_put(d, "index.html", "new", 3, &why), 0);
	CHECK_EQ_INT(outdir_commit(d, &why), 0);
	CHECK(stat(at("mine"), &after) == 0 && before.st_ino == after.st_ino);
	CHECK_STR(text_of(at("mine/index.html")), "new");
	CHECK_STR(text_of(at("mine/keep.txt")), "keep");

	/* a link inside an existing directory is not followed */
	put("victim", "secret");
	CHECK(symlink(at("victim"), at("mine/file_0000.html")) == 0);
	CHECK_EQ_INT(outdir_open(&d, at("mine"), &named, &why), 0);
	CHECK_EQ_INT(outdir_put(d, "file_0000.html", "x", 1, &why), ERR_INVAL);
	outdir_discard(d);
	CHECK_STR(text_of(at("victim")), "secret");

	/* a link to a directory, a regular file: refused */
	CHECK(symlink(at("mine"), at("link")) == 0);
	CHECK_EQ_INT(outdir_open(&d, at("link"), &named, &why), ERR_INVAL);
	CHECK(strstr(why.text, "symbolic link") != NULL);
	CHECK_EQ_INT(outdir_open(&d, at("victim"), &named, &why), ERR_INVAL);
	CHECK(strstr(why.text, "not a directory") != NULL);

	/* a directory another user made: refused (root only can make one) */
	if (geteuid() == 0) {
		CHECK(mkdir(at("theirs"), 0777) == 0);
		CHECK(chown(at("theirs"), 65534, 65534) == 0);
		CHECK(symlink(at("victim"), at("theirs/index.html")) == 0);
		CHECK_EQ_INT(outdir_open(&d, at("theirs"), &made_up, &why), ERR_INVAL);
		CHECK(strstr(why.text, "owned by another user") != NULL);
		CHECK_STR(text_of(at("victim")), "secret");
	}
	CHECK_EQ_INT(leftovers(), 0);
}

/* Replacing a file keeps its permission bits (not setuid, setgid): all of
 * them for a file of strobe's user, with its group; another user's file
 * (root only can make one) only narrows strobe's mode. */
TEST(mode_kept)
{
	reset_dir();
	mode_t old = umask(022);
	struct errmsg why = { "" };
	struct stat st;
	put("private", "p");
	CHECK(chmod(at("private"), 0600) == 0);
	CHECK_EQ_INT(write_text(at("private"), &named, "x", &why), 0);
	CHECK(stat(at("private"), &st) == 0 && (st.st_mode & 07777) == 0600);
	put("shared", "s");
	CHECK(chmod(at("shared"), 0664) == 0);
	CHECK_EQ_INT(write_text(at("shared"), &made_up, "x", &why), 0);
	CHECK(stat(at("shared"), &st) == 0 && (st.st_mode & 07777) == 0664);
	put("suid", "s");
	CHECK(chmod(at("suid"), 06755) == 0);
	CHECK_EQ_INT(write_text(at("suid"), &named, "x", &why), 0);
	CHECK(stat(at("suid"), &st) == 0 && (st.st_mode & 07777) == 0755);
	/* a new file: 0666 minus the umask */
	CHECK_EQ_INT(write_text(at("fresh"), &named, "x", &why), 0);
	CHECK(stat(at("fresh"), &st) == 0 && (st.st_mode & 07777) == 0644);
	if (geteuid() == 0) {
		/* the group of one's own file goes on */
		put("grp", "g");
		CHECK(chown(at("grp"), 0, 65534) == 0);
		CHECK(chmod(at("grp"), 0660) == 0);
		CHECK_EQ_INT(write_text(at("grp"), &named, "x", &why), 0);
		CHECK(stat(at("grp"), &st) == 0 && st.st_gid == 65534 &&
		      (st.st_mode & 07777) == 0660);
		/* another user's world-writable file never makes root's so */
		put("theirs", "t");
		CHECK(chown(at("theirs"), 65534, 65534) == 0);
		CHECK(chmod(at("theirs"), 0666) == 0);
		CHECK_EQ_INT(write_text(at("theirs"), &made_up, "x", &why), 0);
		CHECK(stat(at("theirs"), &st) == 0 && st.st_uid == 0 && st.st_gid == 0 &&
		      (st.st_mode & 07777) == 0644);
		put("theirs2", "t");
		CHECK(chown(at("theirs2"), 65534, 65534) == 0);
		CHECK(chmod(at("theirs2"), 0600) == 0);
		CHECK_EQ_INT(write_text(at("theirs2"), &made_up, "x", &why), 0);
		CHECK(stat(at("theirs2"), &st) == 0 && (st.st_mode & 07777) == 0600);
	}
	umask(old);
	CHECK_EQ_INT(leftovers(), 0);
}

/* -o naming strobe's own stdout or stderr (through /dev/stdout, or the
 * file's own name): written through that descriptor, after what it holds,
 * never renamed over. */
TEST(stdout_file)
{
	reset_dir();
	put("log", "before\n");
	struct stat before, after;
	CHECK(stat(at("log"), &before) == 0);
	fflush(stdout);
	fflush(stderr);
	int saved_out = dup(STDOUT_FILENO), saved_err = dup(STDERR_FILENO);
	int fd = open(at("log"), O_WRONLY | O_APPEND);
	CHECK(fd >= 0 && saved_out >= 0 && saved_err >= 0);
	dup2(fd, STDOUT_FILENO);
	struct errmsg why = { "" };
	int by_dev = write_text("/dev/stdout", &named, "via /dev/stdout\n", &why);
	int by_name = write_text(at("log"), &named, "via its name\n", &why);
	dup2(saved_out, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	int by_err = write_text("/dev/stderr", &named, "via /dev/stderr\n", &why);
	int theirs = 0;
	if (geteuid() == 0) {
		/* a link another user planted to it is refused all the same */
		CHECK(symlink(at("log"), at("theirs")) == 0);
		CHECK(lchown(at("theirs"), 65534, 65534) == 0);
		theirs = write_text(at("theirs"), &named, "planted\n", &why);
	}
	dup2(saved_err, STDERR_FILENO);
	close(saved_out);
	close(saved_err);
	close(fd);
	CHECK_EQ_INT(by_dev, 0);
	CHECK_EQ_INT(by_name, 0);
	CHECK_EQ_INT(by_err, 0);
	if (geteuid() == 0) {
		CHECK_EQ_INT(theirs, ERR_INVAL);
		CHECK(strstr(why.text, "owned by another user") != NULL);
	}
	CHECK(stat(at("log"), &after) == 0 && after.st_ino == before.st_ino);
	CHECK_STR(text_of(at("log")), "before\nvia /dev/stdout\nvia its name\nvia /dev/stderr\n");
	/* not strobe's stdout: a link to a regular file is refused as before */
	CHECK(symlink(at("log"), at("mylink")) == 0);
	CHECK_EQ_INT(write_text(at("mylink"), &named, "x", &why), ERR_INVAL);
	CHECK_EQ_INT(leftovers(), 0);
}

/* Run fn in a child process as user nobody; its failed checks fail here. */
static void as_nobody(void (*fn)(void))
{
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		int before = harness_failures;
		if (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 ||
		    setresuid(65534, 65534, 65534) != 0)
			_exit(100);
		fn();
		fflush(NULL);
		_exit(harness_failures > before ? 1 : 0);
	}
	int status = 0;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static ino_t mine_ino;

static void unwritable_dir_as_nobody(void)
{
	struct errmsg why = { "" };
	/* nobody's own file, named: written in place */
	CHECK_EQ_INT(write_text(at("ro/mine"), &named, "new", &why), 0);
	CHECK_STR(text_of(at("ro/mine")), "new");
	struct stat st;
	CHECK(stat(at("ro/mine"), &st) == 0 && st.st_ino == mine_ino &&
	      (st.st_mode & 07777) == 0640);
	/* at a made-up name, a new name, another user's writable file: no */
	CHECK_EQ_INT(write_text(at("ro/mine"), &made_up, "x", &why), ERR_IO);
	CHECK_STR(why.text, strerror(EACCES));
	CHECK_EQ_INT(write_text(at("ro/new"), &named, "x", &why), ERR_IO);
	CHECK_EQ_INT(write_text(at("ro/roots"), &named, "x", &why), ERR_IO);
	CHECK_STR(text_of(at("ro/roots")), "root's");
	/* a link of nobody's to nobody's file there: still not followed */
	CHECK_EQ_INT(write_text(at("ro/link"), &named, "x", &why), ERR_INVAL);
	CHECK_STR(text_of(at("ro/mine")), "new");
	/* heatmap -o a root-owned directory: taken, as -o DIR would */
	struct outdir *d;
	CHECK_EQ_INT(outdir_open(&d, at("rootdir"), &named, &why), 0);
	if (d) {
		CHECK_EQ_INT(outdir_put(d, "index.html", "i", 1, &why), 0);
		CHECK_EQ_INT(outdir_commit(d, &why), 0);
	}
	CHECK_STR(text_of(at("rootdir/index.html")), "i");
	CHECK_EQ_INT(outdir_open(&d, at("rootdir"), &made_up, &why), ERR_INVAL);
}

/* strobe as a user who cannot write the directory of its own file (root
 * runs it as nobody). */
TEST(unwritable_dir)
{
	if (geteuid() != 0)
		return;
	reset_dir();
	CHECK(chmod(dir, 0755) == 0);
	CHECK(mkdir(at("ro"), 0755) == 0);
	put("ro/mine", "old old old");
	CHECK(chown(at("ro/mine"), 65534, 65534) == 0);
	CHECK(chmod(at("ro/mine"), 0640) == 0);
	put("ro/roots", "root's");
	CHECK(chmod(at("ro/roots"), 0666) == 0);
	CHECK(symlink(at("ro/mine"), at("ro/link")) == 0);
	CHECK(lchown(at("ro/link"), 65534, 65534) == 0);
	CHECK(mkdir(at("rootdir"), 0777) == 0);
	CHECK(chmod(at("rootdir"), 0777) == 0);
	struct stat st;
	CHECK(stat(at("ro/mine"), &st) == 0);
	mine_ino = st.st_ino;
	as_nobody(unwritable_dir_as_nobody);
	CHECK_EQ_INT(leftovers(), 0);
}

/* "sudo strobe --heatmap -o ~/dir": the directory of the user who ran sudo
 * is taken when named, never at a made-up name. */
TEST(outdir_sudo_user)
{
	if (geteuid() != 0)
		return;
	reset_dir();
	struct errmsg why = { "" };
	struct outdir *d;
	CHECK(mkdir(at("home"), 0755) == 0);
	CHECK(chown(at("home"), 65534, 65534) == 0);
	CHECK(symlink(at("home"), at("homelink")) == 0);
	CHECK(lchown(at("homelink"), 65534, 65534) == 0);
	unsetenv("SUDO_UID");
	CHECK_EQ_INT(outdir_open(&d, at("home"), &named, &why), ERR_INVAL);
	CHECK(strstr(why.text, "owned by another user") != NULL);
	setenv("SUDO_UID", "65534x", 1);
	CHECK_EQ_INT(outdir_open(&d, at("home"), &named, &why), ERR_INVAL);
	setenv("SUDO_UID", "65534", 1);
	CHECK_EQ_INT(outdir_open(&d, at("home"), &made_up, &why), ERR_INVAL);
	CHECK_EQ_INT(outdir_open(&d, at("homelink"), &named, &why), ERR_INVAL);
	CHECK_EQ_INT(outdir_open(&d, at("home"), &named, &why), 0);
	if (d) {
		CHECK_EQ_INT(outdir_put(d, "index.html", "sudo", 4, &why), 0);
		CHECK_EQ_INT(outdir_commit(d, &why), 0);
	}
	unsetenv("SUDO_UID");
	CHECK_STR(text_of(at("home/index.html")), "sudo");
	CHECK_EQ_INT(leftovers(), 0);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/strobe-test-outfile-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(absent);
	RUN(regular_replaced_not_written_through);
	RUN(symlink);
	RUN(devnull);
	RUN(fifo_with_reader);
	RUN(others_entries);
	RUN(directory);
	RUN(write_error_discards);
	RUN(dev_full);
	RUN(umask_respected);
	RUN(inputs);
	RUN(long_name);
	RUN(outdir_new);
	RUN(outdir_existing);
	RUN(mode_kept);
	RUN(stdout_file);
	RUN(unwritable_dir);
	RUN(outdir_sudo_user);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return harness_done();
}
