/* test_maps.c - /proc/PID/maps parsing (src/process/maps.h).
 *
 * Lines are copied from real maps files (spacing included): the kernel pads
 * the path column with spaces, leaves a trailing space after the inode of an
 * anonymous mapping, and appends " (deleted)" to unlinked files.
 */
#include "harness.h"

#include "base/error.h"
#include "process/maps.h"

#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

TEST(parse_file_mapping)
{
	struct map_entry e;
	int rc = maps_parse_line("5604b31e9000-5604b31ee000 r-xp 00002000 fe:00 247134"
				 "                     /usr/bin/cat\n",
				 &e);
	CHECK_EQ_INT(rc, 0);
	if (rc)
		return;
	CHECK_EQ_INT(e.start, 0x5604b31e9000ULL);
	CHECK_EQ_INT(e.end, 0x5604b31ee000ULL);
	CHECK_EQ_INT(e.offset, 0x2000);
	CHECK_EQ_INT(e.inode, 247134);
	CHECK_EQ_INT(e.dev_major, 0xfe);
	CHECK_EQ_INT(e.dev_minor, 0);
	CHECK_STR(e.perms, "r-xp");
	CHECK_STR(e.path, "/usr/bin/cat");
	free(e.path);

	/* no newline at the end, shared mapping, big offset */
	rc = maps_parse_line("7fed76213000-7fed7621a000 r--s 1234abcd000 fe:00 332280 "
			     "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache",
			     &e);
	CHECK_EQ_INT(rc, 0);
	if (rc)
		return;
	CHECK_EQ_INT(e.offset, 0x1234abcd000ULL);
	CHECK_STR(e.perms, "r--s");
	CHECK_STR(e.path, "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache");
	free(e.path);
}

TEST(parse_odd_paths)
{
	static const struct {
		const char *line;
		const char *path;
	} cases[] = {
		{ "7f0000001000-7f0000002000 r-xp 00001000 08:02 42                         "
		  "/home/me/my venv/lib/libpython3.12.so.1.0\n",
		  "/home/me/my venv/lib/libpython3.12.so.1.0" },
		{ "7f0000001000-7f0000002000 r-xp 00001000 08:02 42                         "
		  "/tmp/lib  two  spaces.so  \n",
		  "/tmp/lib  two  spaces.so  " },
		{ "7f0000001000-7f0000002000 r--p 00000000 08:02 42                         "
		  "/tmp/pyenv/lib/libpython3.11.so.1.0 (deleted)\n",
		  "/tmp/pyenv/lib/libpython3.11.so.1.0 (deleted)" },
		{ "5604ec692000-5604ec6b3000 rw-p 00000000 00:00 0                          [heap]\n",
		  "[heap]" },
		{ "7ffd1c7f0000-7ffd1c7f2000 r-xp 00000000 00:00 0                          [vdso]\n",
		  "[vdso]" },
		{ "7ffd1c6d4000-7ffd1c6f5000 rw-p 00000000 00:00 0                          [stack]\n",
		  "[stack]" },
		{ "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n",
		  "[vsyscall]" },
		{ "7fed75fab000-7fed75fcd000 rw-p 00000000 00:00 0 \n", "" },
		{ "7fed75fab000-7fed75fcd000 rw-p 00000000 00:00 0\n", "" },
		{ "7fed75fab000-7fed75fcd000 rw-p 00000000 00:00 0", "" },
		{ "7fed75fab000-7fed75fcd000 ---p 00000000 00:00 0 \n", "" },
		{ "7f0000001000-7f0000002000 rw-s 00000000 00:01 1027                       "
		  "/memfd:strobe-test (deleted)\n",
		  "/memfd:strobe-test (deleted)" },
		{ "7f0000001000-7f0000002000 rw-s 00000000 00:05 9                          "
		  "/SYSV00000000 (deleted)\n",
		  "/SYSV00000000 (deleted)" },
		/* the kernel escapes a newline in a file name as \012 */
		{ "7f0000001000-7f0000002000 r--p 00000000 08:02 42                         "
		  "/tmp/a\\012b.so\n",
		  "/tmp/a\\012b.so" },
		/* tab before the path */
		{ "7f0000001000-7f0000002000 r--p 00000000 08:02 42\t/tmp/t.so\n", "/tmp/t.so" },
		/* start == end is not rejected (an empty range) */
		{ "1000-1000 r--p 00000000 00:00 0\n", "" },
	};
	int ok = 1;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct map_entry e;
		int rc = maps_parse_line(cases[i].line, &e);
		CHECK_EQ_INT(rc, 0);
		if (rc)
			continue;
		if (strcmp(e.path, cases[i].path) != 0) {
			fprintf(stderr, "case %zu: path \"%s\", expected \"%s\"\n", i, e.path,
				cases[i].path);
			ok = 0;
		}
		ok &= strlen(e.perms) == 4;
		free(e.path);
	}
	CHECK(ok);

	struct map_entry e;
	CHECK_EQ_INT(maps_parse_line("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 "
				     "[vsyscall]",
				     &e),
		     0);
	CHECK_EQ_INT(e.start, 0xffffffffff600000ULL);
	CHECK_EQ_INT(e.end, 0xffffffffff601000ULL);
	CHECK_STR(e.perms, "--xp");
	free(e.path);
}

TEST(parse_malformed)
{
	static const char *bad[] = {
		"",
		"\n",
		"garbage\n",
		"5604b31e9000\n",
		"5604b31e9000-\n",
		"5604b31e9000-5604b31ee000\n",
		"5604b31e9000-5604b31ee000 r-xp\n",
		"5604b31e9000-5604b31ee000 r-xp 00002000\n",
		"5604b31e9000-5604b31ee000 r-xp 00002000 fe:00\n",          /* no inode */
		"5604b31e9000-5604b31ee000 r-xp 00002000 fe 247134 /x\n",   /* bad device */
		"5604b31e9000-5604b31ee000 r-xp zz fe:00 247134 /x\n",      /* bad offset */
		"5604b31e9000-5604b31ee000 r-xp 00002000 fe:00 inode /x\n", /* bad inode */
		"5604b31ee000-5604b31e9000 r-xp 00002000 fe:00 247134 /x\n", /* end < start */
		"xyz-5604b31ee000 r-xp 00002000 fe:00 247134 /x\n",
		"5604b31e9000 5604b31ee000 r-xp 00002000 fe:00 247134 /x\n",
		/* permissions must be four characters */
		"5604b31e9000-5604b31ee000 r 00002000 fe:00 247134 /x\n",
		"5604b31e9000-5604b31ee000 r-x 00002000 fe:00 247134 /x\n",
		"5604b31e9000-5604b31ee000 r-xpq 00002000 fe:00 247134 /x\n",
		"5604b31e9000-5604b31ee000 r-xp-and-more 00002000 fe:00 247134 /x\n",
	};
	int ok = 1;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct map_entry e;
		memset(&e, 0, sizeof(e));
		int rc = maps_parse_line(bad[i], &e);
		if (rc != ERR_INVAL) {
			fprintf(stderr, "accepted malformed line %zu: %s", i, bad[i]);
			ok = 0;
			if (rc == 0)
				free(e.path);
		}
		/* nothing allocated on failure */
		ok &= e.path == NULL;
	}
	CHECK(ok);
}

static int marker_in_data = 1;

TEST(read_self)
{
	struct maps m;
	int rc = maps_read(getpid(), &m);
	CHECK_EQ_INT(rc, 0);
	if (rc)
		return;
	CHECK(m.n > 5);
	CHECK(m.n <= MAPS_MAX);
	int ok = 1;
	for (size_t i = 0; i < m.n; i++) {
		ok &= m.v[i].start < m.v[i].end;
		ok &= strlen(m.v[i].perms) == 4;
		ok &= m.v[i].path != NULL;
		/* the kernel lists them sorted, without overlap */
		if (i)
			ok &= m.v[i - 1].end <= m.v[i].start;
	}
	CHECK(ok);

	/* our own code is in an executable mapping of our own binary */
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	CHECK(n > 0);
	exe[n > 0 ? n : 0] = '\0';
	uint64_t code = (uint64_t)(uintptr_t)&test_read_self;
	const struct map_entry *e = maps_find(&m, code);
	CHECK(e != NULL);
	if (e) {
		CHECK_STR(e->path, exe);
		CHECK(e->perms[2] == 'x');
		CHECK(e->inode != 0);
	}
	/* and our data in a writable mapping of it too */
	e = maps_find(&m, (uint64_t)(uintptr_t)&marker_in_data);
	CHECK(e != NULL);
	if (e) {
		CHECK_STR(e->path, exe);
		CHECK(e->perms[0] == 'r' && e->perms[1] == 'w');
	}

	/* heap memory is mapped read-write (by malloc or a sanitizer) */
	char *heap = malloc(64);
	heap[0] = 1;
	struct maps m2;
	CHECK_EQ_INT(maps_read(getpid(), &m2), 0);
	e = maps_find(&m2, (uint64_t)(uintptr_t)heap);
	CHECK(e != NULL);
	if (e)
		CHECK(e->perms[0] == 'r' && e->perms[1] == 'w');
	free(heap);
	maps_release(&m2);

	int stack = 0, vdso = 0, libc = 0;
	for (size_t i = 0; i < m.n; i++) {
		stack |= strcmp(m.v[i].path, "[stack]") == 0;
		vdso |= strcmp(m.v[i].path, "[vdso]") == 0;
		libc |= strstr(m.v[i].path, "libc.so") != NULL || strstr(m.v[i].path, "libc-") != NULL;
	}
	CHECK(stack);
	CHECK(vdso);
	CHECK(libc);

	maps_release(&m);
	CHECK(m.v == NULL);
	CHECK_EQ_INT(m.n, 0);
}

TEST(read_errors)
{
	struct maps m;
	/* above any pid_max */
	CHECK_EQ_INT(maps_read(INT_MAX, &m), ERR_NOPROC);
	CHECK(m.v == NULL);
	CHECK_EQ_INT(m.n, 0);
	CHECK_EQ_INT(maps_read(-5, &m), ERR_NOPROC);

	/* pid 1 may be unreadable (another user's process) but never fails
	 * otherwise */
	int rc = maps_read(1, &m);
	CHECK(rc == 0 || rc == ERR_PERM);
	if (rc == 0)
		maps_release(&m);

	/* an exited, not yet reaped child has an empty maps file */
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(0);
	if (pid > 0) {
		siginfo_t si;
		/* WNOWAIT: wait for the exit but leave the zombie in place */
		int wr = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT);
		CHECK_EQ_INT(wr, 0);
		CHECK_EQ_INT(maps_read(pid, &m), ERR_NOPROC);
		CHECK(m.v == NULL);
		waitpid(pid, NULL, 0);
		/* reaped: gone for good */
		CHECK_EQ_INT(maps_read(pid, &m), ERR_NOPROC);
	}
}

TEST(find)
{
	struct map_entry v[] = {
		{ .start = 0x1000, .end = 0x2000, .path = (char *)"a" },
		{ .start = 0x2000, .end = 0x3000, .path = (char *)"b" },
		{ .start = 0x5000, .end = 0x6000, .path = (char *)"c" },
		{ .start = 0xffffffffff600000ULL, .end = 0xffffffffff601000ULL, .path = (char *)"d" },
	};
	struct maps m = { .v = v, .n = 4, .cap = 4 };
	CHECK(maps_find(&m, 0) == NULL);
	CHECK(maps_find(&m, 0xfff) == NULL);
	CHECK(maps_find(&m, 0x1000) == &v[0]);
	CHECK(maps_find(&m, 0x1fff) == &v[0]);
	CHECK(maps_find(&m, 0x2000) == &v[1]); /* end is exclusive */
	CHECK(maps_find(&m, 0x2fff) == &v[1]);
	CHECK(maps_find(&m, 0x3000) == NULL);
	CHECK(maps_find(&m, 0x4fff) == NULL);
	CHECK(maps_find(&m, 0x5800) == &v[2]);
	CHECK(maps_find(&m, 0x6000) == NULL);
	CHECK(maps_find(&m, 0xffffffffff600000ULL) == &v[3]);
	CHECK(maps_find(&m, 0xffffffffff600fffULL) == &v[3]);
	CHECK(maps_find(&m, 0xffffffffff601000ULL) == NULL);
	CHECK(maps_find(&m, UINT64_MAX) == NULL);
	struct maps empty = { NULL, 0, 0 };
	CHECK(maps_find(&empty, 0x1000) == NULL);
}

int main(void)
{
	RUN(parse_file_mapping);
	RUN(parse_odd_paths);
	RUN(parse_malformed);
	RUN(read_self);
	RUN(read_errors);
	RUN(find);
	return harness_done();
}
