/* cmd_run.c - strobe run: launch a script, a module or any command that is
 * or becomes CPython, and profile it from its first Python frames. */
#include "cmd.h"

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "cli.h"
#include "py/runtime.h"
#include "sampler.h"
#include "target/mem.h"
#include "target/spawn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* How often a launched command is checked for having become Python. */
#define POLL_NS 200000ULL
/* When to tell the user we are still waiting. */
#define WAIT_NOTICE_NS 5000000000ULL

static const char *python_of(const struct options *o)
{
	return o->python ? o->python : "python3";
}

/* Tachyon checks that a module can be found before launching it; so do we,
 * with the interpreter that will run it (cwd first on sys.path, as -m). */
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
		"sys.exit(0 if found else 3)\n",
		(char *)module, NULL,
	};
	struct spawn sp;
	int eno;
	int rc = spawn_start(&sp, argv, &eno);
	if (rc)
		die("strobe cannot run the interpreter '%s': %s", python_of(o), strerror(eno ? eno : EIO));
	while (waitpid(sp.pid, &sp.status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(sp.status) && WEXITSTATUS(sp.status) == 3)
		die("strobe cannot find the target: Module '%s' not found.", module);
	if (!WIFEXITED(sp.status) || WEXITSTATUS(sp.status) != 0)
		die("strobe cannot run the interpreter '%s' to look for module '%s'", python_of(o), module);
}

/* Wait until the child has mapped a CPython runtime we can use. */
static void wait_for_python(struct spawn *child)
{
	uint64_t start = clock_now_ns(), notice = start + WAIT_NOTICE_NS;
	struct errmsg e = { "" };
	for (;;) {
		if (sampler_stop) {
			spawn_terminate(child, 2000);
			die("strobe: interrupted before process %d became a Python process", (int)child->pid);
		}
		if (spawn_exited(child)) {
			char how[64];
			die("strobe: the command %s before it became a Python process",
			    spawn_describe(child, how, sizeof(how)));
		}
		if (py_runtime_maybe(child->pid) == 1) {
			struct mem_source mem;
			struct py_runtime rt;
			if (mem_open(&mem, child->pid, 0) == 0) {
				int rc = py_runtime_find(&rt, child->pid, &mem, &e);
				mem_close(&mem);
				if (rc == 0)
					return;
				if (rc == ERR_VERSION || rc == ERR_PERM) {
					spawn_terminate(child, 2000);
					die("strobe cannot profile process %d: %s", (int)child->pid,
					    e.text[0] ? e.text : err_str(rc));
				}
			}
		}
		uint64_t now = clock_now_ns();
		if (now >= notice) {
			fprintf(stderr, "strobe: waiting for process %d to become a Python process...\n",
				(int)child->pid);
			notice = UINT64_MAX;
		}
		clock_sleep_until(now + POLL_NS);
	}
}

int cmd_run(const struct options *o)
{
	char **argv;
	int n = 0;
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
	cmd_install_signals();
	struct spawn child;
	int eno;
	int rc = spawn_start(&child, argv, &eno);
	if (rc)
		die("strobe cannot run '%s': %s", argv[0], strerror(eno ? eno : EIO));
	wait_for_python(&child);
	int status = cmd_profile(o, child.pid, &child);
	if (!o->command_mode)
		free(argv);
	return status;
}
