/* test_task.c - the process tree from /proc (src/process/task.h):
 * task_children and the cached task_tree that --subprocesses polls with.
 *
 * The test builds a real tree: this process -> A -> B, and -> C; every
 * process waits on a pipe of its own, so nothing depends on timing.
 */
#include "harness.h"

#include "base/error.h"
#include "process/task.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static bool has(const pid_t *v, size_t n, pid_t p)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == p)
			return true;
	return false;
}

/* fork a process that waits until every write end of the pipe it reads
 * (rd) is closed; it keeps descriptors keep, keep2 (or -1) and closes the rest,
 * so that no one else's pipe stays open through it.  run() (if given) runs
 * in it first. */
static pid_t hold_child(int rd, int keep, int keep2, void (*run)(void *), void *arg)
{
	pid_t p = fork();
	if (p == 0) {
		for (int fd = 3; fd < 1024; fd++)
			if (fd != rd && fd != keep && fd != keep2)
				close(fd);
		if (run)
			run(arg);
		char c;
		while (read(rd, &c, 1) < 0)
			;
		_exit(0);
	}
	return p;
}

struct grand {
	int hold[2];  /* B waits on this */
	int report;   /* A writes B's pid here */
};

/* in A, which kept g->report and g->hold[0] open */
static void fork_grandchild(void *arg)
{
	struct grand *g = arg;
	pid_t b = hold_child(g->hold[0], -1, -1, NULL, NULL);
	close(g->hold[0]);
	ssize_t w = write(g->report, &b, sizeof(b));
	(void)w;
	close(g->report);
}

TEST(tree)
{
	int hold_a[2], hold_c[2], rep[2];
	struct grand g;
	if (pipe(hold_a) || pipe(hold_c) || pipe(rep) || pipe(g.hold)) {
		CHECK(!"pipe");
		return;
	}
	g.report = rep[1];
	/* A passes B's pipe on; only the test holds its write end */
	pid_t a = hold_child(hold_a[0], g.report, g.hold[0], fork_grandchild, &g);
	pid_t c = hold_child(hold_c[0], -1, -1, NULL, NULL);
	close(hold_a[0]);
	close(hold_c[0]);
	close(g.hold[0]);
	pid_t b = 0;
	CHECK_EQ_INT(read(rep[0], &b, sizeof(b)), sizeof(b));
	CHECK(b > 0);

	pid_t out[64];
	size_t n = 0;
	CHECK_EQ_INT(task_children(getpid(), true, out, 64, &n), 0);
	CHECK_EQ_INT(n, 3);
	CHECK(has(out, n, a) && has(out, n, b) && has(out, n, c));
	CHECK(!has(out, n, getpid()));
	/* breadth first: the grandchild comes after both children */
	CHECK(n == 3 && out[2] == b);
	CHECK_EQ_INT(task_children(getpid(), false, out, 64, &n), 0);
	CHECK_EQ_INT(n, 2);
	CHECK(has(out, n, a) && has(out, n, c) && !has(out, n, b));
	CHECK_EQ_INT(task_children(getpid(), true, out, 1, &n), 0);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(task_children(a, true, out, 64, &n), 0);
	CHECK_EQ_INT(n, 1);
	CHECK(n == 1 && out[0] == b);

	/* the cached scanner: same answers, twice */
	struct task_tree t;
	task_tree_init(&t);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ_INT(task_tree_children(&t, getpid(), true, out, 64, &n), 0);
		CHECK_EQ_INT(n, 3);
		CHECK(has(out, n, a) && has(out, n, b) && has(out, n, c));
	}

	/* A ends: B is reparented away (to init or a subreaper above us), so
	 * it is no descendant any more, though the tree knew it as one */
	close(hold_a[1]);
	CHECK_EQ_INT(waitpid(a, NULL, 0), a);
	CHECK_EQ_INT(task_tree_children(&t, getpid(), true, out, 64, &n), 0);
	CHECK_EQ_INT(n, 1);
	CHECK(n == 1 && out[0] == c);
	CHECK_EQ_INT(task_children(getpid(), true, out, 64, &n), 0);
	CHECK_EQ_INT(n, 1);

	/* a new child shows up in the next cached scan */
	int hold_d[2];
	CHECK_EQ_INT(pipe(hold_d), 0);
	pid_t d = hold_child(hold_d[0], -1, -1, NULL, NULL);
	close(hold_d[0]);
	CHECK_EQ_INT(task_tree_children(&t, getpid(), true, out, 64, &n), 0);
	CHECK_EQ_INT(n, 2);
	CHECK(has(out, n, c) && has(out, n, d));

	/* fork without exec: the parent's image */
	struct task_image self, child;
	CHECK_EQ_INT(task_image(getpid(), &self), 0);
	CHECK_EQ_INT(task_image(c, &child), 0);
	CHECK(task_image_same(&self, &child));
	CHECK_EQ_INT(child.ppid, getpid());
	CHECK(self.stack != 0);

	close(hold_c[1]);
	close(hold_d[1]);
	close(g.hold[1]);
	waitpid(c, NULL, 0);
	waitpid(d, NULL, 0);
	task_tree_release(&t);
	close(rep[0]);
	close(rep[1]);
}

/* Start path argv with stdin on a pipe (it waits for EOF); wait (bounded)
 * until its image is no longer ours, i.e. the exec happened.  Returns the
 * pid and the pipe's write end in *hold. */
static pid_t exec_child(const char *path, char *const argv[], int *hold, struct task_image *img)
{
	int p[2];
	if (pipe(p))
		return -1;
	pid_t c = fork();
	if (c == 0) {
		dup2(p[0], 0);
		close(p[0]);
		close(p[1]);
		execv(path, argv);
		_exit(127);
	}
	close(p[0]);
	*hold = p[1];
	struct task_image self;
	task_image(getpid(), &self);
	for (int i = 0; i < 5000; i++) {
		if (task_image(c, img) == 0 && !task_image_same(img, &self))
			break;
		usleep(1000);
	}
	return c;
}

static bool aslr(void)
{
	FILE *f = fopen("/proc/sys/kernel/randomize_va_space", "r");
	int v = 0;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v > 0;
}

TEST(exec_changes_image)
{
	struct task_image self, child;
	CHECK_EQ_INT(task_image(getpid(), &self), 0);
	int hold;
	/* sh waits for stdin to close: exec'd, and still there */
	pid_t c = exec_child("/bin/sh", (char *[]){ "sh", "-c", "read x", NULL }, &hold, &child);
	CHECK(c > 0);
	CHECK(child.dev != self.dev || child.ino != self.ino);
	CHECK_EQ_INT(child.ppid, getpid());
	close(hold);
	waitpid(c, NULL, 0);

	/* the same file again (python re-exec'ing itself): the stack moved */
	if (!aslr()) {
		fprintf(stderr, "test_task: no ASLR here, re-exec of the same file not tested\n");
		return;
	}
	c = exec_child("/proc/self/exe", (char *[]){ "test_task", "--hold", NULL }, &hold, &child);
	CHECK(c > 0);
	CHECK(child.dev == self.dev && child.ino == self.ino);
	CHECK(child.stack != self.stack);
	close(hold);
	waitpid(c, NULL, 0);
}

/* tells its thread id on the pipe arg, then waits */
static void *sleeper(void *arg)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);
	ssize_t w = write(*(int *)arg, &tid, sizeof(tid));
	(void)w;
	pause();
	return NULL;
}

/* in E: a thread (whose /proc/TID/status says PPid = E's parent, us) and
 * a child F; reports F's pid and the thread's tid */
static void thread_and_child(void *arg)
{
	struct grand *g = arg;
	pthread_t th;
	pid_t ids[2] = { 0, 0 };
	int tp[2];
	if (pipe(tp) == 0 && pthread_create(&th, NULL, sleeper, &tp[1]) == 0 &&
	    read(tp[0], &ids[1], sizeof(ids[1])) != sizeof(ids[1]))
		ids[1] = 0;
	ids[0] = hold_child(g->hold[0], -1, -1, NULL, NULL);
	close(g->hold[0]);
	ssize_t w = write(g->report, ids, sizeof(ids));
	(void)w;
	close(g->report);
}

TEST(born)
{
	struct task_tree t;
	task_tree_init(&t);
	pid_t out[64];
	size_t n = 99;
	CHECK_EQ_INT(task_tree_born(&t, getpid(), out, 64, &n), ERR_INVAL);
	CHECK_EQ_INT(task_tree_children(&t, getpid(), true, out, 64, &n), 0);
	CHECK_EQ_INT(n, 0);
	if (t.last_pid < 0) {
		fprintf(stderr, "test_task: no ns_last_pid here, task_tree_born not tested\n");
		task_tree_release(&t);
		return;
	}
	CHECK_EQ_INT(task_tree_born(&t, getpid(), out, 64, &n), 0);
	CHECK_EQ_INT(n, 0);

	int hold_e[2], rep[2];
	struct grand g;
	if (pipe(hold_e) || pipe(rep) || pipe(g.hold)) {
		CHECK(!"pipe");
		return;
	}
	g.report = rep[1];
	pid_t e = hold_child(hold_e[0], g.report, g.hold[0], thread_and_child, &g);
	close(hold_e[0]);
	close(g.hold[0]);
	pid_t ids[2] = { 0, 0 };
	CHECK_EQ_INT(read(rep[0], ids, sizeof(ids)), sizeof(ids));
	pid_t f = ids[0];
	CHECK_EQ_INT(task_tree_born(&t, getpid(), out, 64, &n), 0);
	/* E and F, in the order born; not E's thread */
	CHECK_EQ_INT(n, 2);
	CHECK(n == 2 && out[0] == e && out[1] == f);
	CHECK(ids[1] > 0 && !has(out, n, ids[1]));
	/* nothing new since */
	CHECK_EQ_INT(task_tree_born(&t, getpid(), out, 64, &n), 0);
	CHECK_EQ_INT(n, 0);
	/* and the next scan agrees */
	CHECK_EQ_INT(task_tree_children(&t, getpid(), true, out, 64, &n), 0);
	CHECK_EQ_INT(n, 2);
	CHECK(has(out, n, e) && has(out, n, f));

	close(hold_e[1]);
	close(g.hold[1]);
	waitpid(e, NULL, 0);
	close(rep[0]);
	close(rep[1]);
	task_tree_release(&t);
}

TEST(gone)
{
	pid_t c = fork();
	if (c == 0)
		_exit(0);
	waitpid(c, NULL, 0);
	pid_t out[4];
	size_t n = 99;
	CHECK_EQ_INT(task_children(c, true, out, 4, &n), ERR_NOPROC);
	CHECK_EQ_INT(n, 0);
	struct task_image x;
	CHECK_EQ_INT(task_image(c, &x), ERR_NOPROC);
}

/* The NSpid: line: outermost and innermost numbers, whatever surrounds it. */
TEST(nspid_parse)
{
	pid_t o = 0, i = 0;
	const char *one = "Name:\tx\nTgid:\t7\nNSpid:\t7\nPPid:\t1\n";
	CHECK_EQ_INT(task_parse_nspid(one, strlen(one), &o, &i), 0);
	CHECK_EQ_INT(o, 7);
	CHECK_EQ_INT(i, 7);
	const char *three = "NSpid:\t15827\t40\t2";
	CHECK_EQ_INT(task_parse_nspid(three, strlen(three), &o, &i), 0);
	CHECK_EQ_INT(o, 15827);
	CHECK_EQ_INT(i, 2);
	const char *bad[] = { "NSpid:\n", "NSpid:\tx1\n", "NSpid:\t0\n", "NSpid:\t-3\n",
			      "NSpid:\t99999999999\n", "NSpi:\t5\n", "Tgid:\t5\n", "" };
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		CHECK_EQ_INT(task_parse_nspid(bad[k], strlen(bad[k]), &o, &i), ERR_NOTFOUND);
	/* the line is not read past the length given */
	CHECK_EQ_INT(task_parse_nspid("NSpid:\t12", 8, &o, &i), 0);
	CHECK_EQ_INT(o, 1);
}

/* A process in a PID namespace of its own (as root): its own id is 1, its
 * main thread 1 maps to its id here; outside one, ids map to themselves. */
TEST(ns_map)
{
	struct task_ns ns;
	CHECK_EQ_INT(task_ns_init(&ns, getpid()), 0);
	CHECK(!ns.nested);
	CHECK_EQ_INT(task_ns_host_tid(&ns, getpid()), getpid());
	task_ns_release(&ns);
	if (geteuid() != 0) {
		printf("test_task: ns_map needs root for a PID namespace; not run\n");
		return;
	}
	int fds[2], ack[2];
	CHECK(pipe(fds) == 0 && pipe(ack) == 0);
	pid_t mid = fork();
	if (mid == 0) {
		/* only the test holds the write end: its close ends the wait */
		close(ack[1]);
		close(fds[0]);
		/* a new PID namespace takes effect for the children made after */
		if (unshare(CLONE_NEWPID) != 0)
			_exit(2);
		pid_t inner = fork();
		if (inner == 0) {
			pid_t me = getpid();
			if (write(fds[1], &me, sizeof(me)) != sizeof(me))
				_exit(1);
			char c;
			while (read(ack[0], &c, 1) > 0)
				;
			_exit(0);
		}
		/* tell the test the host id of the inner process */
		if (write(fds[1], &inner, sizeof(inner)) != sizeof(inner))
			_exit(1);
		waitpid(inner, NULL, 0);
		_exit(0);
	}
	close(fds[1]);
	close(ack[0]);
	/* the two ids come in either order: the inner process's own (1) and
	 * the one its parent knows it by */
	pid_t own = 0, host = 0;
	CHECK(read(fds[0], &own, sizeof(own)) == sizeof(own));
	CHECK(read(fds[0], &host, sizeof(host)) == sizeof(host));
	if (own > host) {
		pid_t t = own;
		own = host;
		host = t;
	}
	CHECK_EQ_INT(own, 1);
	CHECK_EQ_INT(task_ns_init(&ns, host), 0);
	CHECK(ns.nested);
	CHECK_EQ_INT(ns.ns_pid, 1);
	CHECK_EQ_INT(task_ns_host_tid(&ns, 1), host);
	CHECK_EQ_INT(task_ns_host_tid(&ns, 2), -1);
	pid_t tids[4];
	size_t n = 0;
	CHECK_EQ_INT(task_ns_tids(&ns, tids, 4, &n), 0);
	CHECK_EQ_INT((int)n, 1);
	CHECK_EQ_INT(tids[0], 1);
	task_ns_release(&ns);
	close(ack[1]);
	close(fds[0]);
	waitpid(mid, NULL, 0);
}

/* An exact-size heap copy (no NUL after it): under ASan a parser reading
 * past len is caught. */
static char *dup_exact(const char *s, size_t n)
{
	char *d = malloc(n ? n : 1);
	memcpy(d, s, n);
	return d;
}

static int stat_of(const char *line, size_t len, struct task_stat *st)
{
	char *d = dup_exact(line, len);
	int rc = task_stat_parse(d, len, st);
	free(d);
	return rc;
}

/* A real /proc/PID/stat line (cat's, 52 fields). */
static const char real_stat[] =
	"15541 (cat) R 15539 15539 8918 0 -1 4194304 102 0 0 0 0 0 0 0 20 0 1 0 33586 "
	"3133440 382 18446744073709551615 94641648332800 94641648352681 140721311956608 0 0 0 "
	"0 0 0 0 0 0 17 1 0 0 0 0 0 94641648368688 94641648370304 94642523398144 "
	"140721311963787 140721311963807 140721311963807 140721311965163 0\n";

TEST(stat_parse)
{
	struct task_stat st;
	CHECK_EQ_INT(stat_of(real_stat, strlen(real_stat), &st), 0);
	CHECK_EQ_INT(st.state, 'R');
	CHECK_EQ_INT(st.ppid, 15539);
	CHECK_EQ_INT(st.fields, TASK_STAT_STARTSTACK);
	CHECK(st.startstack == 140721311956608ULL);

	/* comm chosen by the target: ')', spaces, a fake state and newlines */
	static const char odd[] = "77 (a) Z 1 (b\n) S 5 6 7\n";
	CHECK_EQ_INT(stat_of(odd, strlen(odd), &st), 0);
	CHECK_EQ_INT(st.state, 'S');
	CHECK_EQ_INT(st.ppid, 5);
	CHECK_EQ_INT(st.fields, 4);
	static const char empty_comm[] = "8 () D 0 1\n";
	CHECK_EQ_INT(stat_of(empty_comm, strlen(empty_comm), &st), 0);
	CHECK_EQ_INT(st.state, 'D');
	CHECK_EQ_INT(st.ppid, 0);

	/* every cut of the real line: no number is taken from a cut field,
	 * and what is taken is right */
	const char *after = strrchr(real_stat, ')');
	for (size_t len = 0; len <= strlen(real_stat); len++) {
		int rc = stat_of(real_stat, len, &st);
		size_t rest = len > (size_t)(after - real_stat) ? len - (size_t)(after - real_stat) : 0;
		if (rest < 3) { /* not even ") R" */
			CHECK_EQ_INT(rc, ERR_INVAL);
			continue;
		}
		CHECK_EQ_INT(rc, 0);
		CHECK_EQ_INT(st.state, 'R');
		CHECK(st.fields >= 1 && st.fields <= TASK_STAT_STARTSTACK);
		if (st.fields >= 2)
			CHECK_EQ_INT(st.ppid, 15539);
		else
			CHECK(len <= (size_t)(strstr(real_stat, "15539 15539") - real_stat) + 5);
		if (st.fields >= TASK_STAT_STARTSTACK)
			CHECK(st.startstack == 140721311956608ULL);
	}

	/* not stat lines */
	static const char *const bad[] = {
		"", "15541 (cat", "15541 (cat)", "15541 (cat)R 1 ", "15541 (cat)  R 1 ",
		"15541 (cat) 5 1 ", "no paren at all R 1 2 3\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ_INT(stat_of(bad[i], strlen(bad[i]), &st), ERR_INVAL);

	/* numbers out of range or malformed end the fields read */
	static const char big_ppid[] = "1 (x) S 2147483648 1 2\n";
	CHECK_EQ_INT(stat_of(big_ppid, strlen(big_ppid), &st), 0);
	CHECK_EQ_INT(st.fields, 1);
	static const char max_ppid[] = "1 (x) S 2147483647 -1 2\n";
	CHECK_EQ_INT(stat_of(max_ppid, strlen(max_ppid), &st), 0);
	CHECK_EQ_INT(st.fields, 4);
	CHECK_EQ_INT(st.ppid, 2147483647);
	static const char neg_ppid[] = "1 (x) S -5 1 2\n";
	CHECK_EQ_INT(stat_of(neg_ppid, strlen(neg_ppid), &st), 0);
	CHECK_EQ_INT(st.fields, 1);
	static const char junk[] = "1 (x) S 12x 1 2\n";
	CHECK_EQ_INT(stat_of(junk, strlen(junk), &st), 0);
	CHECK_EQ_INT(st.fields, 1);
	/* a NUL inside is just a byte that is not a digit */
	static const char nul[] = "1 (x) S 3\0 4 5\n";
	CHECK_EQ_INT(stat_of(nul, sizeof(nul) - 1, &st), 0);
	CHECK_EQ_INT(st.fields, 1);
}

static void status_of(const char *text, size_t len, struct task_status *st)
{
	char *d = dup_exact(text, len);
	task_status_parse(d, len, st);
	free(d);
}

TEST(status_parse)
{
	static const char real[] = "Name:\thead\nUmask:\t0022\nState:\tR (running)\nTgid:\t15542\n"
				   "Ngid:\t0\nPid:\t15542\nPPid:\t15539\nTracerPid:\t0\n"
				   "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t256\nGroups:\t \n";
	struct task_status st;
	status_of(real, strlen(real), &st);
	CHECK_EQ_INT(st.tgid, 15542);
	CHECK_EQ_INT(st.ppid, 15539);
	CHECK_EQ_INT(st.tracer_pid, 0);

	/* every cut: a key is known once its whole line is in */
	for (size_t len = 0; len <= strlen(real); len++) {
		status_of(real, len, &st);
		const char *g = strstr(real, "Tgid:"), *p = strstr(real, "PPid:"),
			   *t = strstr(real, "TracerPid:");
		CHECK_EQ_INT(st.tgid, len > (size_t)(strchr(g, '\n') - real) ? 15542 : -1);
		CHECK_EQ_INT(st.ppid, len > (size_t)(strchr(p, '\n') - real) ? 15539 : -1);
		CHECK_EQ_INT(st.tracer_pid, len > (size_t)(strchr(t, '\n') - real) ? 0 : -1);
	}

	/* keys only at the start of a line; the first one wins; bad values
	 * are absent */
	static const char odd[] = "Name:\tx PPid:\t1\nPPid:\t42\nPPid:\t43\nTgid:\t-3\n"
				  "TracerPid:\t99999999999\nTgid: 7\n";
	status_of(odd, strlen(odd), &st);
	CHECK_EQ_INT(st.ppid, 42);
	CHECK_EQ_INT(st.tgid, 7);
	CHECK_EQ_INT(st.tracer_pid, -1);
	static const char trailing[] = "Tgid:\t5 6\nPPid:\t\n";
	status_of(trailing, strlen(trailing), &st);
	CHECK_EQ_INT(st.tgid, -1);
	CHECK_EQ_INT(st.ppid, -1);
}

/* A child that names itself like a stat line (prctl allows any 15 bytes):
 * the live readers still find its real state and parent. */
TEST(hostile_comm)
{
	int hold[2], ready[2];
	CHECK(pipe(hold) == 0 && pipe(ready) == 0);
	pid_t c = fork();
	if (c == 0) {
		close(hold[1]);
		close(ready[0]);
		prctl(PR_SET_NAME, "x) Z 1 (\n) T 1", 0, 0, 0);
		close(ready[1]); /* renamed */
		char ch;
		while (read(hold[0], &ch, 1) < 0)
			;
		_exit(0);
	}
	close(hold[0]);
	close(ready[1]);
	char ch;
	while (read(ready[0], &ch, 1) < 0) /* EOF once renamed (or dead) */
		;
	close(ready[0]);
	char path[64], comm[32] = "";
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)c);
	FILE *f = fopen(path, "re");
	size_t len = f ? fread(comm, 1, sizeof(comm) - 1, f) : 0;
	comm[len] = '\0';
	if (f)
		fclose(f);
	CHECK_STR(comm, "x) Z 1 (\n) T 1\n");
	CHECK(task_alive(c));
	int state = task_run_state(c, c);
	CHECK(state == 'S' || state == 'R');
	struct task_image img;
	CHECK_EQ_INT(task_image(c, &img), 0);
	CHECK_EQ_INT(img.ppid, getpid());
	CHECK(img.stack != 0);
	pid_t out[64];
	size_t n = 0;
	CHECK_EQ_INT(task_children(getpid(), false, out, 64, &n), 0);
	CHECK(has(out, n, c));
	close(hold[1]);
	waitpid(c, NULL, 0);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--hold") == 0) {
		/* exec_changes_image's child: wait for stdin to close */
		char c;
		while (read(0, &c, 1) > 0)
			;
		return 0;
	}
	RUN(tree);
	RUN(exec_changes_image);
	RUN(born);
	RUN(gone);
	RUN(nspid_parse);
	RUN(ns_map);
	RUN(stat_parse);
	RUN(status_parse);
	RUN(hostile_comm);
	return harness_done();
}
