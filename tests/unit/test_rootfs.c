/* test_rootfs.c - opening a target's files as the target would
 * (src/process/rootfs.h).
 *
 * A temporary directory plays the target's root: absolute symlinks, "..",
 * symlink loops, a FIFO, a directory, relative names from a working
 * directory.  Every name is resolved with openat2 and with the
 * component-by-component walk (force_walk), each with and without /proc
 * to reopen the file found (no_proc), and all must give the same answer.  The credential switch is checked as root: a 0600 root file read
 * as uid 65534 must fail.  Processes that chroot(2) show how the working
 * directory and the mapped files are told.
 */
#include "harness.h"

#include "base/buf.h"
#include "base/error.h"
#include "process/maps.h"
#include "process/mem.h"
#include "process/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmp[64];          /* the test's directory */
static char root[80];         /* tmp/root: the fake root */

static void put_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		perror(path);
		exit(1);
	}
	fchmod(fd, mode);
	close(fd);
}

static void at_root(char *out, const char *rel)
{
	snprintf(out, PATH_MAX, "%s/%s", root, rel);
}

static void mk(const char *rel)
{
	char p[PATH_MAX];
	at_root(p, rel);
	if (mkdir(p, 0755) != 0 && errno != EEXIST) {
		perror(p);
		exit(1);
	}
}

static void put(const char *rel, const char *text)
{
	char p[PATH_MAX];
	at_root(p, rel);
	put_file(p, text, 0644);
}

static void link_to(const char *rel, const char *target)
{
	char p[PATH_MAX];
	at_root(p, rel);
	if (symlink(target, p) != 0) {
		perror(p);
		exit(1);
	}
}

/* The tree:
 *   tmp/secret.txt                 "HOST SECRET" - outside the root
 *   root/app/main.py               "main"
 *   root/app/sub/mod.py            "mod"
 *   root/<tmp>/secret.txt          "decoy" - where the host's name leads inside the root
 *   root/abs -> /app/main.py       absolute link, inside
 *   root/host -> <tmp>/secret.txt  absolute link to the host's file
 *   root/app/rel -> sub/mod.py, root/app/up -> ../app/main.py
 *   root/app/climb -> ../../../../../../../<tmp>/secret.txt
 *   root/app/dirlink -> /app/sub
 *   root/loop1 <-> root/loop2, root/chain1 .. chain41 (each to the next; chain41 -> /app/main.py)
 *   root/fifo, root/dir/
 */
static void make_tree(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/strobe-test-rootfs-XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		exit(1);
	}
	chmod(tmp, 0755); /* uid 65534 must get through */
	snprintf(root, sizeof(root), "%s/root", tmp);
	mkdir(root, 0755);
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/secret.txt", tmp);
	put_file(p, "HOST SECRET", 0644);
	mk("app");
	mk("app/sub");
	mk("dir");
	put("app/main.py", "main");
	put("app/sub/mod.py", "mod");
	/* the host's path of the secret, recreated inside the root */
	char sub[PATH_MAX];
	snprintf(sub, sizeof(sub), "%s", tmp + 1);
	for (char *s = sub; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mk(sub);
		*s = '/';
	}
	mk(sub);
	snprintf(p, sizeof(p), "%s/secret.txt", tmp + 1);
	put(p, "decoy");
	link_to("abs", "/app/main.py");
	snprintf(p, sizeof(p), "%s/secret.txt", tmp);
	link_to("host", p);
	link_to("app/rel", "sub/mod.py");
	link_to("app/up", "../app/main.py");
	snprintf(p, sizeof(p), "../../../../../../..%s/secret.txt", tmp);
	link_to("app/climb", p);
	link_to("app/dirlink", "/app/sub");
	link_to("loop1", "loop2");
	link_to("loop2", "loop1");
	for (int i = 1; i < 41; i++) {
		char name[32], next[32];
		snprintf(name, sizeof(name), "chain%d", i);
		snprintf(next, sizeof(next), "chain%d", i + 1);
		link_to(name, next);
	}
	link_to("chain41", "/app/main.py");
	at_root(p, "fifo");
	if (mkfifo(p, 0644) != 0) {
		perror("mkfifo");
		exit(1);
	}
}

static void rm_tree(void)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmp);
}

/* rootfs_open of process pid. */
static int open_pid(struct rootfs *r, pid_t pid)
{
	struct mem_source m;
	int rc = mem_open(&m, pid, 0);
	if (rc == 0) {
		rc = rootfs_open(r, &m);
		mem_close(&m);
	}
	return rc;
}

/* A rootfs of strobe itself (its credentials), rooted at the fake root
 * with working directory cwd inside it. */
static void fake_rootfs(struct rootfs *r, const char *cwd, int mode)
{
	CHECK_EQ_INT(open_pid(r, getpid()), 0);
	close(r->root_fd);
	r->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(r->root_fd >= 0);
	free(r->cwd);
	r->cwd = cwd ? strdup(cwd) : NULL;
	if (r->cwd_fd >= 0)
		close(r->cwd_fd);
	r->cwd_fd = -1;
	r->force_walk = mode & 1;
	r->no_proc = mode & 2;
}

/* The ways to resolve and open a name, which must agree. */
#define MODES 4
static const char *const mode_name[MODES] = { "openat2", "walk", "openat2 no-proc",
					       "walk no-proc" };

/* Read name: its text, or "" and the error. */
static int read_name(const struct rootfs *r, const char *name, char *text, size_t size)
{
	struct buf b = BUF_INIT;
	int rc = rootfs_read(r, name, 1024, &b, NULL);
	snprintf(text, size, "%s", rc == 0 && b.data ? b.data : "");
	buf_release(&b);
	return rc;
}

struct expect {
	const char *name;
	int rc;
	const char *text;
};

/* Each name with openat2 and with the walk: the same expected answer. */
static void check_names(const char *cwd, bool beneath, const struct expect *ex, size_t n)
{
	for (int mode = 0; mode < MODES; mode++) {
		struct rootfs r;
		fake_rootfs(&r, beneath ? NULL : cwd, mode);
		if (beneath) {
			char p[PATH_MAX];
			at_root(p, cwd + 1);
			r.cwd_fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
			CHECK(r.cwd_fd >= 0);
		}
		for (size_t i = 0; i < n; i++) {
			char text[256];
			int rc = read_name(&r, ex[i].name, text, sizeof(text));
			if (rc != ex[i].rc || strcmp(text, ex[i].text) != 0) {
				fprintf(stderr, "  %s %s%s: rc %d text \"%s\", expected %d \"%s\"\n",
					mode_name[mode], beneath ? "beneath " : "", ex[i].name,
					rc, text, ex[i].rc, ex[i].text);
			}
			CHECK_EQ_INT(rc, ex[i].rc);
			CHECK_STR(text, ex[i].text);
		}
		rootfs_release(&r);
	}
}

TEST(names_inside_the_root)
{
	char host[PATH_MAX], dots[PATH_MAX], rel_dots[PATH_MAX];
	snprintf(host, sizeof(host), "%s/secret.txt", tmp);
	snprintf(dots, sizeof(dots), "/../../../../../../../..%s/secret.txt", tmp);
	snprintf(rel_dots, sizeof(rel_dots), "../../../../../../../..%s/secret.txt", tmp);
	const struct expect ex[] = {
		{ "/app/main.py", 0, "main" },
		{ "/app/sub/mod.py", 0, "mod" },
		{ "//app/./sub/../main.py", 0, "main" },
		{ "/abs", 0, "main" },
		/* the host's name is the decoy inside the root, however reached */
		{ host, 0, "decoy" },
		{ "/host", 0, "decoy" },
		{ dots, 0, "decoy" },
		{ "/app/climb", 0, "decoy" },
		{ "/app/rel", 0, "mod" },
		{ "/app/up", 0, "main" },
		{ "/app/dirlink/mod.py", 0, "mod" },
		/* relative: from the working directory /app */
		{ "main.py", 0, "main" },
		{ "sub/mod.py", 0, "mod" },
		{ "../app/sub/mod.py", 0, "mod" },
		{ "rel", 0, "mod" },
		{ rel_dots, 0, "decoy" },
		/* not regular files, or none */
		{ "/app", ERR_NOTFOUND, "" },
		{ "/dir", ERR_NOTFOUND, "" },
		{ "/app/dirlink", ERR_NOTFOUND, "" },
		{ "/fifo", ERR_NOTFOUND, "" },
		{ "/app/main.py/", ERR_NOTFOUND, "" },
		{ "/app/main.py/x", ERR_NOTFOUND, "" },
		{ "/app/..", ERR_NOTFOUND, "" },
		{ "/nothing.py", ERR_NOTFOUND, "" },
		{ "", ERR_NOTFOUND, "" },
		/* loops, and one link more than the kernel follows */
		{ "/loop1", ERR_LIMIT, "" },
		{ "/chain2", 0, "main" },  /* 40 links */
		{ "/chain1", ERR_LIMIT, "" },
	};
	check_names("/app", false, ex, sizeof(ex) / sizeof(ex[0]));
}

/* The working directory outside the root (chroot(2) without chdir):
 * relative names stay beneath it, absolute links and ".." above it fail. */
TEST(names_beneath_the_cwd)
{
	const struct expect ex[] = {
		{ "main.py", 0, "main" },
		{ "sub/mod.py", 0, "mod" },
		{ "rel", 0, "mod" },
		{ "sub/../main.py", 0, "main" },
		{ "../app/main.py", ERR_NOTFOUND, "" },
		{ "../main.py", ERR_NOTFOUND, "" }, /* not the cwd itself either */
		{ "up", ERR_NOTFOUND, "" },
		{ "dirlink/mod.py", ERR_NOTFOUND, "" },
		{ "climb", ERR_NOTFOUND, "" },
		/* absolute names still go to the root */
		{ "/app/main.py", 0, "main" },
	};
	check_names("/app", true, ex, sizeof(ex) / sizeof(ex[0]));
}

/* A FIFO is never opened for reading: no open could block on it. */
TEST(fifo_never_opened)
{
	for (int mode = 0; mode < MODES; mode++) {
		struct rootfs r;
		fake_rootfs(&r, "/", mode);
		CHECK_EQ_INT(rootfs_probe(&r, "/fifo", NULL), ERR_NOTFOUND);
		rootfs_release(&r);
	}
}

TEST(size_bound)
{
	struct rootfs r;
	fake_rootfs(&r, "/", 0);
	struct buf b = BUF_INIT;
	buf_puts(&b, "kept");
	CHECK_EQ_INT(rootfs_read(&r, "/app/main.py", 3, &b, NULL), ERR_LIMIT);
	CHECK_STR(b.data, "kept"); /* out as it was */
	CHECK_EQ_INT(rootfs_read(&r, "/app/main.py", 4, &b, NULL), 0);
	CHECK_STR(b.data, "keptmain");
	buf_release(&b);
	rootfs_release(&r);
}

/* ---- /proc/PID/status ----------------------------------------------------- */

static const char status_ok[] =
	"Name:\tUid:\t1 2 3 4\n" /* a hostile name cannot pass for a line */
	"Umask:\t0022\n"
	"State:\tS (sleeping)\n"
	"Tgid:\t1234\n"
	"Uid:\t1000\t1001\t1002\t1003\n"
	"Gid:\t2000\t2001\t2002\t2003\n"
	"FDSize:\t64\n"
	"Groups:\t4 24 27 4294967295 \n"
	"NStgid:\t1234\n";

TEST(status_good)
{
	struct rootfs_creds c;
	CHECK_EQ_INT(rootfs_parse_status(status_ok, sizeof(status_ok) - 1, &c), 0);
	CHECK_EQ_INT(c.fsuid, 1003);
	CHECK_EQ_INT(c.fsgid, 2003);
	CHECK_EQ_INT(c.ngroups, 4);
	if (c.ngroups == 4) {
		CHECK_EQ_INT(c.groups[0], 4);
		CHECK_EQ_INT(c.groups[3], 4294967295u);
	}
	rootfs_creds_release(&c);
	/* no groups; no newline at the end */
	static const char none[] = "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t";
	CHECK_EQ_INT(rootfs_parse_status(none, sizeof(none) - 1, &c), 0);
	CHECK_EQ_INT(c.ngroups, 0);
	CHECK_EQ_INT(c.fsuid, 0);
	rootfs_creds_release(&c);
	/* a buffer that is not NUL-terminated: the length bounds it */
	static const char head[] = "Uid:\t5 5 5 5\nGid:\t6 6 6 6\nGroups:\t7 8";
	char cut[64];
	memcpy(cut, head, sizeof(head) - 1);
	memset(cut + sizeof(head) - 1, '9', sizeof(cut) - (sizeof(head) - 1));
	CHECK_EQ_INT(rootfs_parse_status(cut, sizeof(head) - 1, &c), 0);
	CHECK_EQ_INT(c.ngroups, 2);
	rootfs_creds_release(&c);
}

TEST(status_hostile)
{
	static const char *const bad[] = {
		"",
		"Uid:\t1 2 3 4\nGid:\t1 2 3 4\n",                      /* no Groups */
		"Uid:\t1 2 3\nGid:\t1 2 3 4\nGroups:\t\n",              /* three ids */
		"Uid:\t1 2 3 x\nGid:\t1 2 3 4\nGroups:\t\n",
		"Uid:\t1 2 3 4294967296\nGid:\t1 2 3 4\nGroups:\t\n",   /* above 32 bits */
		"Uid:\t1 2 3 99999999999999999999999\nGid:\t1 2 3 4\nGroups:\t\n",
		"Uid:\t1 2 3 4\nGid:\t1 2 3 4\nGroups:\t1 -2\n",
		"Uid:\t1 2 3 4\nGid:\t1 2 3 4\nGroups:\t1x\n",
		"Uid:\t1 2 3 -4\nGid:\t1 2 3 4\nGroups:\t\n",
		" Uid:\t1 2 3 4\nGid:\t1 2 3 4\nGroups:\t\n",           /* not at a line start */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rootfs_creds c;
		int rc = rootfs_parse_status(bad[i], strlen(bad[i]), &c);
		if (rc != ERR_INVAL)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
		CHECK_EQ_INT(rc, ERR_INVAL);
		CHECK(c.groups == NULL);
	}
	/* more groups than the kernel allows */
	struct buf b = BUF_INIT;
	buf_puts(&b, "Uid:\t1 1 1 1\nGid:\t1 1 1 1\nGroups:\t");
	for (int i = 0; i <= ROOTFS_MAX_GROUPS; i++)
		buf_puts(&b, "7 ");
	buf_putc(&b, '\n');
	struct rootfs_creds c;
	CHECK_EQ_INT(rootfs_parse_status(b.data, b.len, &c), ERR_INVAL);
	CHECK(c.groups == NULL);
	buf_release(&b);
}

TEST(status_caps)
{
	uint64_t caps = 7;
	static const char good[] = "CapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\n"
				   "CapEff:\t000001fffeffffff\nCapBnd:\t000001ffffffffff\n";
	CHECK_EQ_INT(rootfs_parse_caps(good, sizeof(good) - 1, &caps), 0);
	CHECK_EQ_INT(caps, 0x1fffeffffffull);
	static const char none[] = "Uid:\t0 0 0 0\nCapEff:\t0000000000000000";
	CHECK_EQ_INT(rootfs_parse_caps(none, sizeof(none) - 1, &caps), 0);
	CHECK_EQ_INT(caps, 0);
	static const char all[] = "CapEff:\tFFFFFFFFFFFFFFFF \n";
	CHECK_EQ_INT(rootfs_parse_caps(all, sizeof(all) - 1, &caps), 0);
	CHECK_EQ_INT(caps, UINT64_MAX);
	static const char *const bad[] = {
		"",
		"CapPrm:\t0000000000000000\n",            /* no CapEff */
		"CapEff:\t\n",                             /* no digits */
		"CapEff:\t00000000000000001\n",            /* 17 digits */
		"CapEff:\t000000000000000g\n",
		"CapEff:\t0000000000000000 1\n",           /* more after it */
		"CapEff:\t-1\n",
		"Name:\tCapEff:\t0000000000000000\n",      /* not at a line start */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		caps = 7;
		int rc = rootfs_parse_caps(bad[i], strlen(bad[i]), &caps);
		if (rc != ERR_INVAL)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
		CHECK_EQ_INT(rc, ERR_INVAL);
		CHECK_EQ_INT(caps, 7);
	}
}

static void creds_of(struct rootfs_creds *c, uint32_t uid, uint32_t group, uint64_t caps)
{
	memset(c, 0, sizeof(*c));
	c->fsuid = c->fsgid = uid;
	c->groups = malloc(sizeof(uint32_t));
	c->groups[0] = group;
	c->ngroups = 1;
	c->caps = caps;
}

/* A target seen at attach and again later: read as the later user, never
 * as root when it was another user, with the capabilities of both. */
TEST(creds_merge)
{
	static const struct {
		uint32_t held_uid, now_uid;
		uint32_t want_uid;
	} cases[] = {
		{ 0, 65534, 65534 },   /* a server dropping to its workers' user */
		{ 1000, 1001, 1001 },  /* another user since */
		{ 1000, 0, 1000 },     /* root since: stays the user it was */
		{ 0, 0, 0 },
		{ 1000, 1000, 1000 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rootfs_creds held, now;
		creds_of(&held, cases[i].held_uid, 10, 0x3c);
		creds_of(&now, cases[i].now_uid, 20, 0x0f);
		rootfs_creds_merge(&held, &now);
		CHECK_EQ_INT(held.fsuid, cases[i].want_uid);
		CHECK_EQ_INT(held.fsgid, cases[i].want_uid);
		CHECK_EQ_INT(held.ngroups, 1);
		/* the groups go with the user */
		bool from_now = !(cases[i].now_uid == 0 && cases[i].held_uid != 0);
		if (held.ngroups == 1)
			CHECK_EQ_INT(held.groups[0], from_now ? 20 : 10);
		CHECK_EQ_INT(held.caps, 0x0c);
		CHECK(now.groups == NULL);
		rootfs_creds_release(&held);
	}
}

/* rootfs_open checks that the process it read is the one mem_open saw: a
 * newcomer on the PID (here: a start time that is not the process's) is
 * refused. */
TEST(open_checks_identity)
{
	struct mem_source m;
	CHECK_EQ_INT(mem_open(&m, getpid(), 0), 0);
	struct rootfs r;
	CHECK_EQ_INT(rootfs_open(&r, &m), 0);
	rootfs_release(&r);
	if (m.pidfd >= 0) {
		close(m.pidfd);
		m.pidfd = -1;
	}
	m.start_time++;
	CHECK_EQ_INT(rootfs_open(&r, &m), ERR_NOPROC);
	CHECK_EQ_INT(r.root_fd, -1);
	rootfs_release(&r);
	mem_close(&m);
}

/* Of strobe itself: what the kernel says. */
TEST(status_of_self)
{
	struct rootfs r;
	CHECK_EQ_INT(open_pid(&r, getpid()), 0);
	CHECK_EQ_INT(r.creds.fsuid, geteuid());
	CHECK_EQ_INT(r.creds.fsgid, getegid());
	CHECK_EQ_INT(r.creds.ngroups, getgroups(0, NULL));
	char cwd[PATH_MAX];
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	CHECK_STR(r.cwd, cwd);
	rootfs_release(&r);
}

/* ---- decoding ------------------------------------------------------------------ */

static void check_decode(const char *raw, size_t n, enum rootfs_decoding how, const char *want,
			 bool want_exact)
{
	struct buf b = BUF_INIT;
	bool exact = rootfs_decode_source(raw, n, how, &b);
	CHECK_EQ_INT(exact, want_exact);
	CHECK_STR(b.data ? b.data : "", want);
	buf_release(&b);
}

#define DEC(raw, how, want, exact) check_decode(raw, sizeof(raw) - 1, how, want, exact)
#define FFFD "\xef\xbf\xbd"

TEST(decode_python)
{
	const enum rootfs_decoding P = ROOTFS_DECODE_PYTHON;
	DEC("x = 1\n", P, "x = 1\n", true);
	DEC("s = '\xc3\xa9'\n", P, "s = '\xc3\xa9'\n", true);
	DEC("\xef\xbb\xbfx\n", P, "x\n", true); /* the BOM is not text */
	DEC("# -*- coding: latin-1 -*-\ns = '\xe9'\n", P, "# -*- coding: latin-1 -*-\ns = '\xc3\xa9'\n",
	    true);
	DEC("#!/usr/bin/python\n# vim: set fileencoding=ISO_8859_1 :\n\xff\n", P,
	    "#!/usr/bin/python\n# vim: set fileencoding=ISO_8859_1 :\n\xc3\xbf\n", true);
	DEC("# coding=l1\n\xe9", P, "# coding=l1\n\xc3\xa9", true);
	/* a declaration after a line of code counts for nothing */
	DEC("x = 1\n# coding: latin-1\n\xe9\n", P, "x = 1\n# coding: latin-1\n" FFFD "\n", false);
	DEC("# coding: ascii\nok\n", P, "# coding: ascii\nok\n", true);
	DEC("# coding: ascii\n\xc3\xa9\n", P, "# coding: ascii\n" FFFD FFFD "\n", false);
	DEC("# coding: utf-8-sig\n\xc3\xa9", P, "# coding: utf-8-sig\n\xc3\xa9", true);
	/* a coding strobe does not know: shown as UTF-8, but not what Python shows */
	DEC("# coding: cp1252\nx\n", P, "# coding: cp1252\nx\n", false);
	/* a BOM beside another coding: tokenize refuses it */
	DEC("\xef\xbb\xbf# coding: latin-1\nx\n", P, "# coding: latin-1\nx\n", false);
	/* undecodable UTF-8: one U+FFFD per maximal ill-formed part, as Python */
	DEC("a\xe0\x80z", P, "a" FFFD FFFD "z", false);
	DEC("a\xf0\x9f\x98", P, "a" FFFD, false);
	DEC("\xed\xa0\x80", P, FFFD FFFD FFFD, false);
	DEC("\xf4\x90\x80\x80", P, FFFD FFFD FFFD FFFD, false);
	DEC("\xc0\xaf|\xff", P, FFFD FFFD "|" FFFD, false);
	DEC("\xf0\x9f\x98\x80", P, "\xf0\x9f\x98\x80", true);
	DEC("", P, "", true);
}

TEST(decode_utf8)
{
	const enum rootfs_decoding U = ROOTFS_DECODE_UTF8;
	DEC("\xef\xbb\xbfx", U, "\xef\xbb\xbfx", true); /* read_text keeps U+FEFF */
	DEC("# coding: latin-1\n\xe9", U, "# coding: latin-1\n" FFFD, false);
	DEC("a\xe2\x82", U, "a" FFFD, false);
}

/* The text is valid UTF-8 whatever the bytes: every byte value, at every
 * place, in every decoding. */
TEST(decode_always_utf8)
{
	unsigned seed = 12345;
	for (int round = 0; round < 2000; round++) {
		char raw[24];
		size_t n = (size_t)(round % 24);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			raw[i] = (char)(seed >> 16);
		}
		if (round % 3 == 1 && n > 12)
			memcpy(raw, "#coding:l1\n", 11);
		for (int how = 0; how < 2; how++) {
			struct buf b = BUF_INIT;
			rootfs_decode_source(raw, n, (enum rootfs_decoding)how, &b);
			struct buf again = BUF_INIT;
			/* valid UTF-8 decodes to itself, exactly */
			CHECK(rootfs_decode_source(b.data, b.len, ROOTFS_DECODE_UTF8, &again));
			CHECK(again.len == b.len && (!b.len || !memcmp(again.data, b.data, b.len)));
			buf_release(&b);
			buf_release(&again);
		}
	}
}

/* ---- credentials --------------------------------------------------------------- */

static uint32_t thread_fsuid(void)
{
	return (uint32_t)syscall(SYS_setfsuid, (uid_t)-1);
}

/* As root: a file only root may read is not read as uid 65534, a file
 * anyone may read is; strobe's own identity is back afterwards. */
TEST(credentials)
{
	if (geteuid() != 0) {
		printf("test_rootfs: credentials: skipped (needs root)\n");
		return;
	}
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/app/private.py", root);
	put_file(p, "private", 0600);
	mk("closed");
	put("closed/open.py", "open");
	char closed[PATH_MAX];
	at_root(closed, "closed");
	chmod(closed, 0700);
	long groups_before = syscall(SYS_getgroups, 0, NULL);
	for (int mode = 0; mode < MODES; mode++) {
		struct rootfs r;
		fake_rootfs(&r, "/app", mode);
		char text[64];
		CHECK_EQ_INT(read_name(&r, "/app/private.py", text, sizeof(text)), 0);
		CHECK_STR(text, "private");
		rootfs_creds_release(&r.creds);
		r.creds.fsuid = 65534;
		r.creds.fsgid = 65534;
		CHECK_EQ_INT(read_name(&r, "/app/private.py", text, sizeof(text)), ERR_PERM);
		CHECK_EQ_INT(read_name(&r, "private.py", text, sizeof(text)), ERR_PERM);
		CHECK_EQ_INT(read_name(&r, "/closed/open.py", text, sizeof(text)), ERR_PERM);
		CHECK_EQ_INT(read_name(&r, "/app/main.py", text, sizeof(text)), 0);
		CHECK_STR(text, "main");
		/* the group the file belongs to opens it */
		CHECK(chown(p, 0, 4242) == 0);
		chmod(p, 0640);
		r.creds.groups = malloc(sizeof(uint32_t));
		r.creds.groups[0] = 4242;
		r.creds.ngroups = 1;
		CHECK_EQ_INT(read_name(&r, "/app/private.py", text, sizeof(text)), 0);
		chmod(p, 0600);
		/* strobe is itself again */
		CHECK_EQ_INT(thread_fsuid(), 0);
		CHECK_EQ_INT(syscall(SYS_getgroups, 0, NULL), groups_before);
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		CHECK(fd >= 0);
		if (fd >= 0)
			close(fd);
		rootfs_release(&r);
	}
}

/* An unprivileged strobe cannot take another user's credentials: it reads
 * nothing for them, and reads as itself for its own user. */
TEST(credentials_unprivileged)
{
	if (geteuid() != 0) {
		printf("test_rootfs: credentials_unprivileged: skipped (needs root to become another user)\n");
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		gid_t none[1] = { 0 };
		if (setgroups(0, none) != 0 || setresgid(1000, 1000, 1000) != 0 ||
		    setresuid(1000, 1000, 1000) != 0)
			_exit(10);
		struct rootfs r;
		fake_rootfs(&r, "/app", 0);
		char text[64];
		r.creds.fsuid = 65534;
		r.creds.fsgid = 65534;
		if (read_name(&r, "/app/main.py", text, sizeof(text)) != ERR_PERM)
			_exit(11);
		/* itself, though its groups cannot be set */
		r.creds.fsuid = 1000;
		r.creds.fsgid = 1000;
		r.creds.groups = malloc(sizeof(uint32_t));
		r.creds.groups[0] = 4242;
		r.creds.ngroups = 1;
		if (read_name(&r, "/app/main.py", text, sizeof(text)) != 0 || strcmp(text, "main"))
			_exit(12);
		rootfs_release(&r);
		_exit(0);
	}
	int st = -1;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st));
	CHECK_EQ_INT(WEXITSTATUS(st), 0);
}

/* ---- processes ---------------------------------------------------------------- */

/* A child that maps map (if not NULL), chroots into the fake root, its
 * working directory /app in it (cwd_in) or tmp, outside it, and says so
 * on a pipe.  Returns its pid. */
static pid_t chrooted_child(bool cwd_in, const char *map)
{
	int fds[2];
	if (pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		if (map) {
			int fd = open(map, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED)
				_exit(1);
		}
		if (cwd_in ? chroot(root) != 0 || chdir("/app") != 0 : chdir(tmp) != 0 || chroot(root) != 0)
			_exit(1);
		if (write(fds[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(fds[1]);
	char c;
	if (read(fds[0], &c, 1) != 1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(fds[0]);
	return pid;
}

static void end_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Files of the kernel's own file systems are never read, whoever reads:
 * what they show depends on the reader's capabilities (/proc/kallsyms) and
 * reading some acts (/proc/kmsg).  By name, through a link, by each way of
 * resolving. */
TEST(kernel_files_refused)
{
	struct stat st;
	const char *names[] = { "/proc/self/status", "/proc/kallsyms", "/proc/version",
				"/proc/self/../self/environ", "/sys/kernel/uevent_seqnum",
				"/sys/fs/cgroup/cgroup.controllers" };
	char link[PATH_MAX];
	at_root(link, "kernel");
	if (symlink("/proc/version", link) != 0)
		CHECK(0);
	for (int mode = 0; mode < MODES; mode++) {
		struct rootfs r;
		CHECK_EQ_INT(open_pid(&r, getpid()), 0);
		r.force_walk = mode & 1;
		r.no_proc = mode & 2;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			if (stat(names[i], &st) != 0)
				continue; /* not on this machine */
			char text[64];
			int rc = read_name(&r, names[i], text, sizeof(text));
			if (rc != ERR_NOTFOUND)
				fprintf(stderr, "  %s %s: rc %d \"%.20s\"\n", mode_name[mode], names[i], rc,
					text);
			CHECK_EQ_INT(rc, ERR_NOTFOUND);
			CHECK_EQ_INT(rootfs_probe(&r, names[i], NULL), ERR_NOTFOUND);
		}
		/* a link in the target's root to one */
		rootfs_release(&r);
		fake_rootfs(&r, "/", mode);
		char text[64];
		CHECK_EQ_INT(read_name(&r, "/kernel", text, sizeof(text)), ERR_NOTFOUND);
		CHECK_EQ_INT(read_name(&r, "/app/main.py", text, sizeof(text)), 0);
		rootfs_release(&r);
	}
	unlink(link);
}

static bool thread_caps(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	return syscall(SYS_capget, &h, d) == 0;
}

/* As root: a target that is root without capabilities cannot read another
 * user's 0600 file, and strobe does not either; with its capabilities it
 * can.  strobe's own capabilities are back afterwards. */
TEST(capabilities)
{
	if (geteuid() != 0) {
		printf("test_rootfs: capabilities: skipped (needs root)\n");
		return;
	}
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/app/nobodys.py", root);
	put_file(p, "nobody's", 0600);
	CHECK_EQ_INT(chown(p, 65534, 65534), 0);
	struct __user_cap_data_struct before[2], after[2];
	CHECK(thread_caps(before));
	for (int mode = 0; mode < MODES; mode++) {
		struct rootfs r;
		fake_rootfs(&r, "/app", mode);
		CHECK_EQ_INT(r.creds.fsuid, 0);
		uint64_t own = r.creds.caps;
		CHECK(own != 0);
		char text[64];
		CHECK_EQ_INT(read_name(&r, "/app/nobodys.py", text, sizeof(text)), 0);
		CHECK_STR(text, "nobody's");
		/* root without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH */
		r.creds.caps = own & ~((1ull << CAP_DAC_OVERRIDE) | (1ull << CAP_DAC_READ_SEARCH));
		CHECK_EQ_INT(read_name(&r, "/app/nobodys.py", text, sizeof(text)), ERR_PERM);
		CHECK_EQ_INT(rootfs_probe(&r, "nobodys.py", NULL), ERR_PERM);
		CHECK_EQ_INT(read_name(&r, "/app/main.py", text, sizeof(text)), 0);
		r.creds.caps = 0;
		CHECK_EQ_INT(read_name(&r, "/app/nobodys.py", text, sizeof(text)), ERR_PERM);
		/* another user with CAP_DAC_OVERRIDE reads it (its fsuid switch
		 * drops that capability, which strobe then gives back) */
		r.creds.fsuid = r.creds.fsgid = 1000;
		r.creds.caps = 1ull << CAP_DAC_OVERRIDE;
		CHECK_EQ_INT(read_name(&r, "/app/nobodys.py", text, sizeof(text)), 0);
		r.creds.caps = 0;
		CHECK_EQ_INT(read_name(&r, "/app/nobodys.py", text, sizeof(text)), ERR_PERM);
		CHECK(thread_caps(after));
		CHECK(memcmp(before, after, sizeof(before)) == 0);
		CHECK_EQ_INT(thread_fsuid(), 0);
		rootfs_release(&r);
	}
	unlink(p);
}

/* As root: a child that drops from root to nobody after rootfs_open is
 * read as nobody once refreshed; once gone, what was held stays. */
TEST(refresh_after_drop)
{
	if (geteuid() != 0) {
		printf("test_rootfs: refresh_after_drop: skipped (needs root)\n");
		return;
	}
	int go[2], done[2];
	CHECK_EQ_INT(pipe(go), 0);
	CHECK_EQ_INT(pipe(done), 0);
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		gid_t none[1] = { 0 };
		if (read(go[0], &c, 1) != 1 || setgroups(0, none) != 0 ||
		    setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0 ||
		    write(done[1], "d", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	struct mem_source m;
	CHECK_EQ_INT(mem_open(&m, pid, 0), 0);
	struct rootfs r;
	CHECK_EQ_INT(rootfs_open(&r, &m), 0);
	CHECK_EQ_INT(r.creds.fsuid, 0);
	CHECK(r.creds.caps != 0);
	char c;
	CHECK_EQ_INT(write(go[1], "g", 1), 1);
	CHECK_EQ_INT(read(done[0], &c, 1), 1);
	rootfs_refresh(&r, &m);
	CHECK_EQ_INT(r.creds.fsuid, 65534);
	CHECK_EQ_INT(r.creds.fsgid, 65534);
	CHECK_EQ_INT(r.creds.ngroups, 0);
	CHECK_EQ_INT(r.creds.caps, 0);
	char text[64], p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/app/rootonly.py", root);
	put_file(p, "root only", 0600);
	close(r.root_fd);
	r.root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK_EQ_INT(read_name(&r, "/app/rootonly.py", text, sizeof(text)), ERR_PERM);
	/* gone: nothing changes */
	end_child(pid);
	r.creds.fsuid = 1234;
	rootfs_refresh(&r, &m);
	CHECK_EQ_INT(r.creds.fsuid, 1234);
	rootfs_release(&r);
	mem_close(&m);
	unlink(p);
	close(go[0]);
	close(go[1]);
	close(done[0]);
	close(done[1]);
}

TEST(chrooted_process)
{
	if (geteuid() != 0) {
		printf("test_rootfs: chrooted_process: skipped (needs root)\n");
		return;
	}
	for (int cwd_in = 1; cwd_in >= 0; cwd_in--) {
		pid_t pid = chrooted_child(cwd_in, NULL);
		CHECK(pid > 0);
		if (pid <= 0)
			return;
		struct rootfs r;
		CHECK_EQ_INT(open_pid(&r, pid), 0);
		if (cwd_in) {
			CHECK_STR(r.cwd, "/app");
		} else {
			/* chroot left its working directory outside: kept as an fd */
			CHECK(r.cwd == NULL);
			CHECK(r.cwd_fd >= 0);
		}
		char text[64], host[PATH_MAX];
		snprintf(host, sizeof(host), "%s/secret.txt", tmp);
		CHECK_EQ_INT(read_name(&r, "/abs", text, sizeof(text)), 0);
		CHECK_STR(text, "main");
		CHECK_EQ_INT(read_name(&r, host, text, sizeof(text)), 0);
		CHECK_STR(text, "decoy");
		if (cwd_in) {
			CHECK_EQ_INT(read_name(&r, "main.py", text, sizeof(text)), 0);
			CHECK_STR(text, "main");
			CHECK_EQ_INT(read_name(&r, "climb", text, sizeof(text)), 0);
			CHECK_STR(text, "decoy");
		} else {
			/* what the process itself opens by that name: its working
			 * directory is the host's tmp */
			CHECK_EQ_INT(read_name(&r, "secret.txt", text, sizeof(text)), 0);
			CHECK_STR(text, "HOST SECRET");
			CHECK_EQ_INT(read_name(&r, "root/app/main.py", text, sizeof(text)), 0);
			CHECK_STR(text, "main");
			CHECK_EQ_INT(read_name(&r, "../secret.txt", text, sizeof(text)), ERR_NOTFOUND);
		}
		rootfs_release(&r);
		end_child(pid);
	}
}

/* The mapping of a file whose path, in the process's root, now names
 * another file (it chrooted into a root holding a decoy at that path):
 * the path is refused by device and inode, the mapped file itself is
 * opened through map_files. */
TEST(mapped_file_checked)
{
	if (geteuid() != 0) {
		printf("test_rootfs: mapped_file_checked: skipped (needs root)\n");
		return;
	}
	char host[PATH_MAX];
	snprintf(host, sizeof(host), "%s/secret.txt", tmp);
	struct stat want;
	CHECK_EQ_INT(stat(host, &want), 0);
	for (int chrooted = 0; chrooted < 2; chrooted++) {
		pid_t pid;
		if (chrooted) {
			pid = chrooted_child(true, host);
		} else {
			/* mapped in a child that stays where it is */
			int fds[2];
			CHECK_EQ_INT(pipe(fds), 0);
			pid = fork();
			if (pid == 0) {
				int fd = open(host, O_RDONLY | O_CLOEXEC);
				if (fd < 0 || mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED ||
				    write(fds[1], "r", 1) != 1)
					_exit(1);
				pause();
				_exit(0);
			}
			close(fds[1]);
			char c;
			CHECK_EQ_INT(read(fds[0], &c, 1), 1);
			close(fds[0]);
		}
		CHECK(pid > 0);
		if (pid <= 0)
			return;
		struct maps maps;
		CHECK_EQ_INT(maps_read(pid, &maps), 0);
		const struct map_entry *m = NULL;
		for (size_t i = 0; i < maps.n; i++)
			if (!strcmp(maps.v[i].path, host))
				m = &maps.v[i];
		CHECK(m != NULL);
		if (m) {
			int fd = -1;
			struct stat got;
			CHECK_EQ_INT(rootfs_open_mapped_path(pid, m, &fd),
				     chrooted ? ERR_NOTFOUND : 0);
			if (fd >= 0) {
				CHECK_EQ_INT(fstat(fd, &got), 0);
				CHECK_EQ_INT(got.st_ino, want.st_ino);
				close(fd);
			}
			CHECK_EQ_INT(rootfs_open_mapping(pid, m, &fd), 0);
			if (fd >= 0) {
				CHECK_EQ_INT(fstat(fd, &got), 0);
				CHECK_EQ_INT(got.st_ino, want.st_ino);
				CHECK_EQ_INT(got.st_dev, want.st_dev);
				close(fd);
			}
			/* a mapping that says another inode is never opened by path */
			struct map_entry other = *m;
			other.inode++;
			CHECK_EQ_INT(rootfs_open_mapped_path(pid, &other, &fd), ERR_NOTFOUND);
			CHECK_EQ_INT(fd, -1);
		}
		maps_release(&maps);
		end_child(pid);
	}
}

int main(void)
{
	make_tree();
	RUN(names_inside_the_root);
	RUN(names_beneath_the_cwd);
	RUN(fifo_never_opened);
	RUN(size_bound);
	RUN(status_good);
	RUN(status_hostile);
	RUN(status_of_self);
	RUN(status_caps);
	RUN(creds_merge);
	RUN(open_checks_identity);
	RUN(decode_python);
	RUN(decode_utf8);
	RUN(decode_always_utf8);
	RUN(credentials);
	RUN(credentials_unprivileged);
	RUN(kernel_files_refused);
	RUN(capabilities);
	RUN(refresh_after_drop);
	RUN(chrooted_process);
	RUN(mapped_file_checked);
	rm_tree();
	return harness_done();
}
