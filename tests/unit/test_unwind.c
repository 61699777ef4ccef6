/* test_unwind.c - native stacks (src/process/unwind.h) of a real stopped
 * process: a forked child parked in three nested functions of this test
 * binary is held with ptrace, captured, and unwound offline from the copy;
 * the frames must name the three functions in order, down to main.  Also
 * the demangler on C++ and both Rust manglings, and a copy cut short. */
#include "harness.h"

#include "base/error.h"
#include "process/unwind.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int park_flag;

__attribute__((noinline)) void strobe_test_inner(int fd)
{
	ssize_t ignored = write(fd, "r", 1);
	(void)ignored;
	for (;;)
		park_flag++; /* spins here until killed */
}

__attribute__((noinline)) void strobe_test_middle(int fd)
{
	strobe_test_inner(fd);
	park_flag--;
}

__attribute__((noinline)) void strobe_test_outer(int fd)
{
	strobe_test_middle(fd);
	park_flag--;
}

/* inlined: the child's stack reads test_...;main below the three */
static inline __attribute__((always_inline)) pid_t start_child(void)
{
	int fd[2];
	if (pipe(fd) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(fd[0]);
		strobe_test_outer(fd[1]);
		_exit(0);
	}
	close(fd[1]);
	char c;
	if (read(fd[0], &c, 1) != 1)
		pid = -1;
	close(fd[0]);
	return pid;
}

static bool stop(pid_t pid)
{
	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) != 0 || ptrace(PTRACE_INTERRUPT, pid, NULL, NULL) != 0)
		return false;
	int st;
	return waitpid(pid, &st, __WALL) == pid && WIFSTOPPED(st);
}

/* The functions of pcs[0..n), innermost first, joined by ';'. */
static void names(struct unwinder *u, const uint64_t *pcs, size_t n, char *out, size_t cap)
{
	out[0] = '\0';
	size_t at = 0;
	for (size_t i = 0; i < n && at < cap; i++) {
		struct unwind_sym s;
		int rc = unwind_symbolize(u, i ? pcs[i] - 1 : pcs[i], &s);
		at += (size_t)snprintf(out + at, cap - at, "%s%s", i ? ";" : "",
				       rc == 0 && s.func ? s.func : "?");
	}
}

TEST(unwinds_stopped_child)
{
	if (!unwind_supported())
		return;
	pid_t pid = start_child();
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	CHECK(stop(pid));
	struct unwind_capture c = { 0 };
	CHECK_EQ_INT(unwind_capture_take(pid, pid, &c), 0);
	CHECK(c.len > 0);
	ptrace(PTRACE_DETACH, pid, NULL, NULL);

	struct unwinder u;
	CHECK_EQ_INT(unwind_init(&u, pid, NULL), 0);
	uint64_t pcs[UNWIND_MAX_FRAMES], sps[UNWIND_MAX_FRAMES];
	size_t n = 0;
	int rc = unwind_stack(&u, &c, pcs, sps, UNWIND_MAX_FRAMES, &n);
	char text[4096];
	names(&u, pcs, n, text, sizeof(text));
	/* the whole stack: its outermost frame (_start) ends the chain */
	CHECK_EQ_INT(rc, 0);
	/* (the child may still be in its write: libc's, or a sanitizer's
	 * interceptor, above) */
	const char *at = strstr(text, "strobe_test_inner;strobe_test_middle;strobe_test_outer;"
				"test_unwinds_stopped_child;main;");
	CHECK(at != NULL);
	if (rc || !at)
		fprintf(stderr, "  unwound: %s\n", text);

	/* each frame's stack pointer, growing outwards; the innermost the
	 * thread's own */
	CHECK(n > 3 && sps[0] == c.regs[UNWIND_REG_SP]);
	for (size_t i = 1; i < n; i++)
		CHECK(sps[i] > sps[i - 1]);

	/* a module's path and the object offset are given */
	struct unwind_sym s;
	CHECK_EQ_INT(unwind_symbolize(&u, pcs[0], &s), 0);
	CHECK(s.module && s.module[0] == '/');
	CHECK(s.mapped && strcmp(s.module, s.mapped) == 0);

	/* a copy cut short: the inner frames, then an end said to be early */
	struct unwind_capture cut = c;
	cut.len = 64 + 128; /* the red zone and a few words */
	size_t m = 0;
	rc = unwind_stack(&u, &cut, pcs, NULL, UNWIND_MAX_FRAMES, &m);
	CHECK_EQ_INT(rc, ERR_LIMIT);
	CHECK(m >= 1 && m < n);
	/* at most max frames */
	rc = unwind_stack(&u, &c, pcs, NULL, 2, &m);
	CHECK_EQ_INT(rc, ERR_LIMIT);
	CHECK_EQ_INT(m, 2);

	unwind_release(&u);
	unwind_capture_release(&c);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

TEST(demangles)
{
	char out[256];
	CHECK_STR(unwind_demangle("_ZN3foo3barEi", out, sizeof(out)), "foo::bar(int)");
	CHECK_STR(unwind_demangle("_ZN4core3fmt5write17h0123456789abcdefE", out, sizeof(out)),
		  "core::fmt::write");
	CHECK_STR(unwind_demangle("_RNvCs15kBYyAo9fc_7mycrate3foo", out, sizeof(out)),
		  "mycrate::foo");
	CHECK_STR(unwind_demangle("qsort_r", out, sizeof(out)), "qsort_r");
	CHECK_STR(unwind_demangle("_Zgarbage", out, sizeof(out)), "_Zgarbage");
	/* cut at the buffer */
	CHECK_STR(unwind_demangle("abcdefgh", out, 4), "abc");
	char huge[UNWIND_NAME_MAX + 64];
	memset(huge, 'Z', sizeof(huge) - 1);
	huge[0] = '_';
	huge[sizeof(huge) - 1] = '\0';
	CHECK_EQ_INT(strlen(unwind_demangle(huge, out, sizeof(out))), sizeof(out) - 1);
}

/* A thread seized but not in a stop (a "late" one under load) is not a
 * gone one: ptrace says ESRCH for both. */
TEST(capture_tells_running_from_gone)
{
	if (!unwind_supported())
		return;
	pid_t pid = start_child();
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	CHECK_EQ_INT(ptrace(PTRACE_SEIZE, pid, NULL, NULL), 0);
	struct unwind_capture c = { 0 };
	CHECK_EQ_INT(unwind_capture_take(pid, pid, &c), ERR_NOTREADY);
	kill(pid, SIGKILL);
	int st;
	CHECK_EQ_INT(waitpid(pid, &st, __WALL), pid);
	CHECK_EQ_INT(unwind_capture_take(pid, pid, &c), ERR_NOPROC);
	unwind_capture_release(&c);
}

int main(void)
{
	RUN(unwinds_stopped_child);
	RUN(capture_tells_running_from_gone);
	RUN(demangles);
	return harness_done();
}
