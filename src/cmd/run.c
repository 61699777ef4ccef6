/* run.c - strobe run: launch a script, a module or any command that is
 * or becomes CPython, and profile it from its first Python frames. */
#include "cmd/cmd.h"

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "cli.h"
#include "profiling/profiling.h"
#include "py/open.h"
#include "py/runtime.h"
#include "sampler.h"
#include "process/mem.h"
#include "process/spawn.h"
#include "process/task.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* How often a launched command is checked for having become Python. */
#define POLL_NS 200000ULL
/* ... and after WAIT_NOTICE_NS */
#define SLOW_POLL_NS 10000000ULL
/* How often the command's descendants are looked at for a Python one. */
#define DESCENDANT_SCAN_NS 20000000ULL
/* When to tell the user we are still waiting. */
#define WAIT_NOTICE_NS 5000000000ULL

static const char *python_of(const struct options *o)
{
	return o->python ? o->python : "python3";
}

/* Tachyon checks that a module can be found before launching it; so do we,
 * with the interpreter that will run it (cwd first on sys.path, as -m).
 * When it is not there, the message names that interpreter (the wrong
 * python3 on PATH is the usual cause) and says how to pick another. */
static void check_module(const struct options *o, const char *module)
{
	char *argv[] = {
		(char *)python_of(o), "-c",
		"import sys, importlib.util\n"
		"sys.path.insert(0, '')\n"
		"try:\n"
		"    found = importlib.util.find_spec(sys.argv[1]) is not None\n"
		"except Exception:\n"
		"    found = False\n"
		"if not found:\n"
		"    print(sys.executable or sys.argv[0], '%d.%d' % sys.version_info[:2])\n"
		"sys.exit(0 if found else 3)\n",
		(char *)module, NULL,
	};
	int out[2];
	if (pipe2(out, O_CLOEXEC) != 0)
		die("strobe cannot run the interpreter '%s': %s", python_of(o), strerror(errno));
	struct spawn sp;
	int eno;
	int rc = spawn_start_stdio(&sp, argv, (int[3]){ -1, out[1], -1 }, &eno);
	close(out[1]);
	if (rc)
		die("strobe cannot run the interpreter '%s': %s", python_of(o), strerror(eno ? eno : EIO));
	char said[512];
	size_t n = 0;
	ssize_t got;
	while (n < sizeof(said) - 1 &&
	       ((got = read(out[0], said + n, sizeof(said) - 1 - n)) > 0 || (got < 0 && errno == EINTR)))
		n += got > 0 ? (size_t)got : 0;
	said[n] = '\0';
	close(out[0]);
	while (waitpid(sp.pid, &sp.status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(sp.status) && WEXITSTATUS(sp.status) == 3) {
		/* "/usr/bin/python3 3.11": the interpreter's own words, made
		 * printable and cut to a line */
		said[strcspn(said, "\n")] = '\0';
		for (char *c = said; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		char *space = strrchr(said, ' ');
		if (space)
			*space = '\0';
		die("strobe cannot find the target: Module '%s' not found by %s (%s, Python %s); "
		    "choose the interpreter that has it with --python PATH.", module, python_of(o),
		    said[0] ? said : "?", space ? space + 1 : "?");
	}
	if (!WIFEXITED(sp.status) || WEXITSTATUS(sp.status) != 0)
		die("strobe cannot run the interpreter '%s' to look for module '%s'", python_of(o), module);
}

/* run --live: the target's output would tear the live view, so its stdin
 * and stdout go to /dev/null and its stderr to an unlinked temporary file,
 * shown once the view is closed (Tachyon pipes it and prints it then). */
static void live_stdio(int stdio[3])
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int err = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (err < 0) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/strobe-stderr-XXXXXX", dir);
		err = mkostemp(path, O_CLOEXEC);
		if (err >= 0)
			unlink(path);
	}
	if (null < 0 || err < 0)
		die("strobe: cannot set up the target's output for --live: %s", strerror(errno));
	stdio[0] = stdio[1] = null;
	stdio[2] = err;
}

/* Print what the target wrote to its captured stderr, as Tachyon does:
 * the text, then a newline (Python's print). */
static void show_captured(int err_fd)
{
	if (err_fd < 0)
		return;
	char buf[65536];
	ssize_t n;
	bool any = false;
	fflush(stdout);
	for (off_t off = 0; (n = pread(err_fd, buf, sizeof(buf), off)) > 0; off += n) {
		fwrite(buf, 1, (size_t)n, stderr);
		any = true;
	}
	if (any)
		fputc('\n', stderr);
	fflush(stderr);
}

/* Whether pid has mapped a CPython runtime strobe can use: 1 yes, 0 not
 * (yet), or a final error (unsupported version, no permission) that dies,
 * after ending the command. */
static int is_python(pid_t pid, struct spawn *child)
{
	if (py_runtime_maybe(pid) != 1)
		return 0;
	struct errmsg e = { "" };
	struct mem_source mem;
	struct py_runtime rt;
	if (mem_open(&mem, pid, 0) != 0)
		return 0;
	int rc = py_runtime_find(&rt, pid, &mem, &e);
	mem_close(&mem);
	if (rc == 0)
		return 1;
	if (py_open_final(rc)) {
		spawn_terminate(child, 2000);
		die("strobe cannot profile process %d: %s", (int)pid, e.text[0] ? e.text : err_str(rc));
	}
	return 0;
}

/* The first descendant of the command that is Python (breadth first: a
 * wrapper's own child before its grandchildren), or 0. */
static pid_t python_descendant(struct task_tree *tree, struct spawn *child)
{
	pid_t pids[256];
	size_t n = 0;
	if (task_tree_children(tree, child->pid, true, pids, 256, &n) != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (is_python(pids[i], child) == 1)
			return pids[i];
	return 0;
}

/* Wait until the command, or (without --subprocesses) one of its
 * descendants, has mapped a CPython runtime we can use: its pid, which
 * may be the command's own.  With --subprocesses, a command that ends (or
 * is interrupted) without becoming Python is fine once some of its children
 * were profiled: 0. */
static pid_t wait_for_python(const struct options *o, struct spawn *child,
			     struct profiling_children *children, int err_fd)
{
	uint64_t start = clock_now_ns(), notice = start + WAIT_NOTICE_NS;
	uint64_t next_scan = start + DESCENDANT_SCAN_NS;
	struct task_tree tree;
	task_tree_init(&tree);
	pid_t found = 0;
	for (;;) {
		if (sampler_stop) {
			spawn_terminate(child, 2000);
			if (profiling_children_started(children))
				break;
			die("strobe: interrupted before process %d became a Python process", (int)child->pid);
		}
		if (is_python(child->pid, child) == 1) {
			found = child->pid;
			break;
		}
		uint64_t now = clock_now_ns();
		/* a wrapper that forks (sh -c, unshare --fork, sudo, make):
		 * its Python child is the program.  --subprocesses profiles
		 * every child by itself instead. */
		if (!o->subprocesses && now >= next_scan) {
			next_scan = now + DESCENDANT_SCAN_NS;
			if ((found = python_descendant(&tree, child)) != 0) {
				fprintf(stderr, "strobe: the command runs Python in its child process "
					"%d; profiling that process\n", (int)found);
				break;
			}
		}
		if (spawn_exited(child)) {
			char how[64];
			if (profiling_children_started(children)) {
				fprintf(stderr, "strobe: the command %s without becoming a Python process; "
					"its Python child processes were profiled\n",
					spawn_describe(child, how, sizeof(how)));
				break;
			}
			show_captured(err_fd);
			die("strobe: the command %s before it or a child of it became a Python process",
			    spawn_describe(child, how, sizeof(how)));
		}
		if (now >= notice) {
			fprintf(stderr, "strobe: waiting for process %d to become a Python process...\n",
				(int)child->pid);
			notice = UINT64_MAX;
		}
		/* after the notice, a command that stays what it is (a shell
		 * waiting for its Python children) is not read 5000 times a second */
		clock_sleep_until(now + (notice == UINT64_MAX ? SLOW_POLL_NS : POLL_NS));
	}
	task_tree_release(&tree);
	return found;
}

/* The command ran Python in a child that was profiled and has exited: the
 * command goes on until it ends by itself, or Ctrl-C ends it. */
static void wait_command(struct spawn *child)
{
	while (!spawn_exited(child)) {
		if (sampler_stop) {
			spawn_terminate(child, 2000);
			return;
		}
		clock_sleep_until(clock_now_ns() + SLOW_POLL_NS);
	}
}

int cmd_run(const struct options *o)
{
	char **argv;
	int n = 0;
	profiling_warn_blocking(o);
	if (o->command_mode) {
		argv = o->argv;
	} else {
		const char *target = o->argv[0];
		if (!o->module && access(target, F_OK) != 0)
			die("strobe cannot find the target: Script '%s' not found.", target);
		if (o->module)
			check_module(o, target);
		argv = xcalloc((size_t)o->argc + 3, sizeof(*argv));
		argv[n++] = (char *)python_of(o);
		if (o->module)
			argv[n++] = "-m";
		for (int i = 0; i < o->argc; i++)
			argv[n++] = o->argv[i];
		argv[n] = NULL;
	}
	profiling_check_baseline(o);
	profiling_install_signals();
	struct spawn child;
	int eno;
	int stdio[3] = { -1, -1, -1 };
	if (o->live)
		live_stdio(stdio);
	int rc = spawn_start_stdio(&child, argv, o->live ? stdio : NULL, &eno);
	if (rc)
		die("strobe cannot run '%s': %s", argv[0], strerror(eno ? eno : EIO));
	/* --subprocesses: children born while the command starts count too */
	struct profiling_children *children =
		o->subprocesses ? profiling_children_start(o, child.pid) : NULL;
	int status = 0;
	pid_t target = wait_for_python(o, &child, children, stdio[2]);
	if (target)
		status = profiling_session(o, target, &child);
	if (target && target != child.pid)
		wait_command(&child);
	if (o->live) {
		show_captured(stdio[2]);
		close(stdio[0]);
		close(stdio[2]);
	}
	profiling_children_finish(children);
	if (!o->command_mode)
		free(argv);
	/* The program's own end is run's status, after the profile is
	 * written (as time(1) does): a failing `strobe run -m pytest` fails
	 * CI.  Not when strobe ended it (the duration, Ctrl-C) nor when
	 * strobe itself failed. */
	if (status == 0 && !sampler_stop && spawn_exited(&child) && !child.terminated)
		status = spawn_exit_status(&child);
	return status;
}
