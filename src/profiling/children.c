/* children.c - --subprocesses: also profile the Python processes the
 * target starts (multiprocessing workers, subprocess children, anything that
 * execs a Python), each by its own `strobe attach CHILD` writing its own
 * output file, as Tachyon's ChildProcessMonitor does.
 *
 * The monitor is a thread, not a step of the sampling loop: a look at the
 * whole process tree reads /proc (milliseconds on a busy host) and starting
 * a profiler is a posix_spawn; inside the loop either would delay samples,
 * and slicing them to fit between deadlines would be more code than a
 * thread.  The thread shares nothing with the sampler but a mutex-guarded
 * stop flag and a counter; it blocks every signal, so Ctrl-C and SIGCHLD
 * keep going to the sampling thread.
 *
 * Two cadences:
 *   - every POLL_NS (100 ms, Tachyon's) a scan: the target's descendants
 *     through the parent links of /proc (task_tree_children, which rereads
 *     only what may have changed since the last scan);
 *   - every FAST_NS (5 ms) in between, the pids the kernel handed out
 *     since the last look (task_tree_born: one small read when there are
 *     none), so that a child living a few tens of milliseconds is still
 *     caught (on a busy host, more than TASK_BORN_MAX new pids in 5 ms
 *     are left to the next scan);
 *   - every RETRY_NS (2 ms), while some pid waits (below), that pid.
 * A fork child of a Python process is profiled about 5 ms after the fork
 * plus the profiler's own start (a few ms): bench/child_lifetimes.py
 * measures how short-lived a child can be.
 * What is decided about a pid holds for its program image (task_image: the
 * executable and where the stack starts, which every exec moves):
 *   - a CPython whose runtime strobe finds: a profiler is started (once per
 *     image, at most MAX_PROFILERS running);
 *   - not Python: looked at again only once it execs - a shell child that
 *     execs python later is caught (Tachyon looks at each pid once only);
 *   - a fork that has not exec'd: left FORK_GRACE looks, since subprocess
 *     and multiprocessing's spawn and forkserver exec right after forking
 *     and a profiler attached to the copy of the parent would read an
 *     address space about to go;
 *   - looks like Python but shows no runtime yet (a shared libpython still
 *     being mapped right after exec): tried again every RETRY_NS,
 *     FIND_TRIES times, then at every scan for 2 s (the dynamic loader of
 *     a process that waits for a CPU on a busy host can take that long).
 * A profiled pid that execs keeps its one profiler, which follows it into
 * the new image (exec.c) or stops there and writes what it has: a
 * second profiler would write the same file - unless that profiler, started
 * on a fork, lost it to the exec while attaching (see reap).  A pid that
 * leaves the tree is forgotten, so a reused pid is a new child.
 */
#include "profiling/profiling.h"

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/hash.h"
#include "cli.h"
#include "format/out.h"
#include "py/open.h"
#include "py/runtime.h"
#include "sampler.h"
#include "process/mem.h"
#include "process/spawn.h"
#include "process/task.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

/* Tachyon's numbers (_child_monitor.py) */
#define POLL_NS 100000000ULL          /* _CHILD_POLL_INTERVAL_SEC: one scan per 100 ms */
#define MAX_PROFILERS 100             /* _MAX_CHILD_PROFILERS, running at once */
#define WAIT_NS 30000000000ULL        /* _DEFAULT_WAIT_TIMEOUT_SEC */
#define TERM_GRACE_NS 2000000000ULL   /* SIGTERM, then SIGKILL */
/* strobe's own */
#define MAX_DESCENDANTS 4096          /* pids one scan follows */
#define FAST_NS 5000000ULL            /* a look for new pids */
#define RETRY_NS 2000000ULL           /* a look at the pids waiting below */
#define FORK_GRACE 2                  /* looks (2 x 2 ms) a fork that has not
					 exec'd is left alone */
#define FIND_TRIES 50                 /* a python-looking process without a runtime
					 yet is looked at 50 times every 2 ms, */
#define SLOW_TRIES 20                 /* then at 20 scans (2 s) before it is given up */
#define GIVEN_UP (FIND_TRIES + SLOW_TRIES)
#define MAX_RETRY 64                  /* such processes retried between scans */
#define REAP_SLICE_NS 20000000ULL     /* how often the final wait looks at the profilers */
#define CONFIRM_NS 1000000000ULL      /* a profiler on a fork is a guess this long
					 (a subprocess child waiting for a CPU on a
					 busy host can stay a fork for 100 ms) */

/* The known map's value for a pid: the identity of the program image it
 * ran when last looked at (image_key, low byte clear), and in the low byte
 * what was decided for that image:
 *   0                   not Python
 *   1 .. FIND_TRIES-1   to look at again next tick: a fork that may be about
 *                       to exec, or python-looking without a runtime yet
 *   .. GIVEN_UP-1       the same, looked at again next scan
 *   GIVEN_UP            given up (unsupported, not readable)
 *   KNOWN_DONE          a profiler was started for it
 * A new image (an exec) starts over.  KNOWN_SAID, kept across images: the
 * pid had a profiler that was announced and then lost it (see reap), so
 * the one that replaces it goes without a second "Started profiler" line. */
#define KNOWN_DONE 0x7fu
#define KNOWN_SAID 0x80u
#define KNOWN_STATE(v) ((unsigned)(v) & 0x7fu)
#define KNOWN_FORGET 0 /* not stored: gone, or not ours to look at */

/* A profiler started on a fork that has not exec'd is a guess: the fork
 * may still exec (a subprocess child slow to get a CPU on a busy host).
 * It is announced (and counted) only once the guess holds: the process
 * ran CONFIRM_NS (1 s) as the same image, ended as it, or exec'd a Python; if
 * it exec'd anything else, its profiler is killed before making its output,
 * so a non-Python child leaves no trace. */
struct child_profiler {
	struct spawn sp;
	pid_t target;
	uint64_t key;              /* image_key of the image it was started on */
	uint64_t confirm_at;       /* 0: announced */
	bool on_fork;              /* started on a fork that had not exec'd */
	bool again;                /* a restart of one that failed (see reap) */
};

/* The child profiler's command line, filled in per child. */
struct child_cmd {
	char **argv;               /* strobe attach PID <options> -o OUT */
	char **envp;               /* strobe's environment and PROFILING_MADE_UP_OUTPUT_ENV=OUT */
	int pid_slot, out_slot;    /* the entries that change per child */
	int env_slot;
	char *pattern;             /* output path, "{pid}" standing for the child */
};

struct profiling_children {
	pid_t root;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;                 /* under lock */
	unsigned started;          /* under lock: profilers started so far */

	/* owned by the thread until it is joined */
	struct child_cmd cmd;
	struct child_profiler *running; /* live profilers */
	size_t nrunning, cap;
	struct task_tree tree;     /* the scanner's memory of /proc */
	bool fast;                 /* task_tree_born works here */
	struct u64map known, next; /* pid -> what we know (see KNOWN_DONE) */
	uint64_t py_key;           /* the image last found to be a CPython: a
				      fork that has not exec'd from it is one */
	pid_t pids[MAX_DESCENDANTS];
	pid_t retry[MAX_RETRY];
	size_t nretry;
};

/* ---- the child profiler's command line ---------------------------------- */

/* -r for the children: Tachyon passes 1000000 // interval, which turns an
 * interval over a second into "-r 0" (rejected) and some intervals into
 * others (-r 3000 -> 333 us -> "3003"); strobe passes the shortest decimal
 * rate that gives back exactly the same interval. */
static void rate_arg(uint64_t interval_us, char *buf, size_t len)
{
	struct buf err = BUF_INIT;
	uint64_t back = 0;
	if (interval_us <= 1000000) {
		snprintf(buf, len, "%llu", (unsigned long long)(1000000 / interval_us));
		if (cli_parse_rate(buf, &back, &err) == 0 && back == interval_us)
			goto out;
	}
	for (int prec = 1; prec <= 30; prec++) {
		snprintf(buf, len, "%.*f", prec, 1e6 / (double)interval_us);
		buf_reset(&err);
		if (cli_parse_rate(buf, &back, &err) == 0 && back == interval_us)
			goto out;
	}
	/* no decimal found (cannot happen within CLI_MAX_INTERVAL_USEC):
	 * Tachyon's integer, at least 1 Hz */
	snprintf(buf, len, "%llu", (unsigned long long)(interval_us <= 1000000 ? 1000000 / interval_us : 1));
out:
	buf_release(&err);
}

/* Python's os.path.splitext: where the extension of path starts (its last
 * '.' after the last '/', unless only dots precede it in the file name), or
 * NULL.  A compression suffix keeps the extension before it (x.pb.gz:
 * ".pb.gz"), so a child's file is x_PID.pb.gz, not Tachyon's x.pb_PID.gz. */
static const char *path_ext(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	const char *ext = NULL;
	for (const char *end = name + strlen(name);;) {
		const char *dot = NULL;
		for (const char *p = name; p < end; p++)
			if (*p == '.')
				dot = p;
		if (!dot)
			return ext;
		bool leading = true; /* only dots before it: no extension */
		for (const char *p = name; p < dot; p++)
			leading = leading && *p == '.';
		if (leading)
			return ext;
		ext = dot;
		static const char *const packed[] = { ".gz", ".zst", ".xz", ".bz2", NULL };
		bool pack = false;
		for (int i = 0; packed[i]; i++)
			pack = pack || ((size_t)(end - dot) == strlen(packed[i]) &&
					!strncmp(dot, packed[i], strlen(packed[i])));
		if (!pack || end != name + strlen(name))
			return ext;
		end = dot;
	}
}

/* Tachyon's _build_output_pattern: -o out.txt -> out_{pid}.txt, -o out ->
 * out_{pid}; by default <format>_{pid}.<ext>, <format>_{pid} for a
 * directory (heatmap), and profile_{pid}.<ext> for the format whose
 * default is stdout (pstats). */
static char *output_pattern(const struct options *o)
{
	struct buf b = BUF_INIT;
	if (o->output) {
		const char *ext = path_ext(o->output);
		if (ext)
			buf_printf(&b, "%.*s_{pid}%s", (int)(ext - o->output), o->output, ext);
		else
			buf_printf(&b, "%s_{pid}", o->output);
	} else {
		const struct out_format *f = out_format_find(o->format);
		unsigned flags = f ? f->flags : 0;
		if (flags & FORMAT_DIR)
			buf_printf(&b, "%s_{pid}", o->format);
		else if (flags & FORMAT_CHILD_PROFILE_NAME)
			buf_printf(&b, "profile_{pid}.%s", f->ext);
		else
			buf_printf(&b, "%s_{pid}.%s", o->format, f && f->ext ? f->ext : "txt");
	}
	return b.data;
}

static void arg_add(char ***argv, size_t *n, size_t *cap, const char *s)
{
	VEC_RESERVE(*argv, *cap, *n + 1);
	(*argv)[(*n)++] = s ? xstrdup(s) : NULL;
}

/* Tachyon's _build_child_profiler_args, plus --compression:
 * strobe attach PID [-r R] [-d D] [-a] [--realtime-stats] [--native]
 * [--no-gc] [--opcodes] [--async-aware [--async-mode all]] [--mode M]
 * [--FORMAT | --diff-flamegraph B] [--compression C] -o OUT */
static void child_cmd_init(struct child_cmd *cmd, const struct options *o)
{
	static const char *const modes[] = { [MODE_WALL] = "wall", [MODE_CPU] = "cpu",
					     [MODE_GIL] = "gil", [MODE_ALL] = "all",
					     [MODE_EXCEPTION] = "exception" };
	static const char *const compressions[] = { [COMPRESSION_AUTO] = "auto",
						    [COMPRESSION_ZSTD] = "zstd",
						    [COMPRESSION_NONE] = "none" };
	char **argv = NULL;
	size_t n = 0, cap = 0;
	char num[64];
	arg_add(&argv, &n, &cap, "strobe");
	arg_add(&argv, &n, &cap, "attach");
	cmd->pid_slot = (int)n;
	arg_add(&argv, &n, &cap, "PID");
	rate_arg(o->interval_usec, num, sizeof(num));
	arg_add(&argv, &n, &cap, "-r");
	arg_add(&argv, &n, &cap, num);
	if (o->duration_sec >= 0) {
		snprintf(num, sizeof(num), "%.17g", o->duration_sec);
		arg_add(&argv, &n, &cap, "-d");
		arg_add(&argv, &n, &cap, num);
	}
	if (o->all_threads)
		arg_add(&argv, &n, &cap, "-a");
	if (o->realtime_stats)
		arg_add(&argv, &n, &cap, "--realtime-stats");
	if (o->native)
		arg_add(&argv, &n, &cap, "--native");
	if (o->no_gc)
		arg_add(&argv, &n, &cap, "--no-gc");
	if (o->opcodes)
		arg_add(&argv, &n, &cap, "--opcodes");
	if (o->async_aware) {
		arg_add(&argv, &n, &cap, "--async-aware");
		if (o->async_mode != 0) {
			arg_add(&argv, &n, &cap, "--async-mode");
			arg_add(&argv, &n, &cap, "all");
		}
	}
	if (o->engine == ENGINE_BPF || o->engine == ENGINE_AUTO) {
		arg_add(&argv, &n, &cap, "--engine");
		arg_add(&argv, &n, &cap, o->engine == ENGINE_BPF ? "bpf" : "auto");
	}
	/* MODE_ALL is gecko's internal mode, never an option */
	if (o->mode != MODE_WALL && o->mode != MODE_ALL && o->mode >= 0 && o->mode <= MODE_EXCEPTION) {
		arg_add(&argv, &n, &cap, "--mode");
		arg_add(&argv, &n, &cap, modes[o->mode]);
	}
	/* the format's own option, none for the default (pstats) */
	const char *farg = NULL, *fopt = cli_format_option(o, &farg);
	if (fopt)
		arg_add(&argv, &n, &cap, fopt);
	if (fopt && farg)
		arg_add(&argv, &n, &cap, farg);
	if (o->compression != COMPRESSION_AUTO && o->compression >= 0 &&
	    o->compression <= COMPRESSION_NONE) {
		arg_add(&argv, &n, &cap, "--compression");
		arg_add(&argv, &n, &cap, compressions[o->compression]);
	}
	arg_add(&argv, &n, &cap, "-o");
	cmd->out_slot = (int)n;
	arg_add(&argv, &n, &cap, "OUT");
	arg_add(&argv, &n, &cap, NULL);
	cmd->argv = argv;
	cmd->pattern = output_pattern(o);
	/* OUT is a name strobe made up, not the user's: the child profiler
	 * is told so in its environment (profiling.h), which the user does not set
	 * for it, and treats it as a default name (a directory or a link
	 * someone planted there is refused) */
	char **envp = NULL;
	n = cap = 0;
	size_t len = strlen(PROFILING_MADE_UP_OUTPUT_ENV);
	for (char **e = environ; e && *e; e++)
		if (strncmp(*e, PROFILING_MADE_UP_OUTPUT_ENV, len) != 0 || (*e)[len] != '=')
			arg_add(&envp, &n, &cap, *e);
	cmd->env_slot = (int)n;
	arg_add(&envp, &n, &cap, PROFILING_MADE_UP_OUTPUT_ENV "=");
	arg_add(&envp, &n, &cap, NULL);
	cmd->envp = envp;
}

static void child_cmd_release(struct child_cmd *cmd)
{
	profiling_children_argv_free(cmd->argv);
	profiling_children_argv_free(cmd->envp);
	free(cmd->pattern);
}

/* pattern with every "{pid}" replaced, as str.replace does */
static char *output_for(const char *pattern, pid_t pid)
{
	struct buf b = BUF_INIT;
	const char *p = pattern, *hole;
	while ((hole = strstr(p, "{pid}")) != NULL) {
		buf_append(&b, p, (size_t)(hole - p));
		buf_printf(&b, "%d", (int)pid);
		p = hole + 5;
	}
	buf_puts(&b, p);
	return b.data;
}

static void child_cmd_fill(struct child_cmd *cmd, pid_t pid)
{
	char num[24];
	snprintf(num, sizeof(num), "%d", (int)pid);
	free(cmd->argv[cmd->pid_slot]);
	free(cmd->argv[cmd->out_slot]);
	free(cmd->envp[cmd->env_slot]);
	cmd->argv[cmd->pid_slot] = xstrdup(num);
	cmd->argv[cmd->out_slot] = output_for(cmd->pattern, pid);
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s=%s", PROFILING_MADE_UP_OUTPUT_ENV, cmd->argv[cmd->out_slot]);
	cmd->envp[cmd->env_slot] = b.data;
}

void profiling_children_argv_free(char **argv)
{
	if (!argv)
		return;
	for (size_t i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
}

char **profiling_children_argv(const struct options *o, pid_t child)
{
	struct child_cmd cmd;
	child_cmd_init(&cmd, o);
	child_cmd_fill(&cmd, child);
	char **argv = cmd.argv;
	cmd.argv = NULL;
	child_cmd_release(&cmd);
	return argv;
}

/* ---- the profilers ------------------------------------------------------- */

static void announce(struct profiling_children *m, struct child_profiler *p)
{
	p->confirm_at = 0;
	pthread_mutex_lock(&m->lock);
	m->started++;
	pthread_mutex_unlock(&m->lock);
	fprintf(stderr, "Started profiler for child process %d\n", (int)p->target);
}

/* key: the image it profiles; fork: a fork that has not exec'd (a guess);
 * said: the pid was announced for a profiler this one replaces; again: it
 * replaces one that failed on the same image (see reap) */
static void start_profiler(struct profiling_children *m, pid_t pid, uint64_t key, bool fork,
			   bool said, bool again)
{
	if (m->nrunning >= MAX_PROFILERS) {
		fprintf(stderr, "Warning: Max child profilers (%d) reached, skipping PID %d\n",
			MAX_PROFILERS, (int)pid);
		return;
	}
	child_cmd_fill(&m->cmd, pid);
	struct spawn sp;
	int eno;
	/* strobe itself, even if its file was replaced or deleted meanwhile */
	if (spawn_start_quiet(&sp, "/proc/self/exe", m->cmd.argv, m->cmd.envp, &eno) != 0) {
		fprintf(stderr, "Warning: Failed to start profiler for child %d: %s\n", (int)pid,
			strerror(eno ? eno : EIO));
		return;
	}
	VEC_RESERVE(m->running, m->cap, m->nrunning + 1);
	struct child_profiler *p = &m->running[m->nrunning++];
	*p = (struct child_profiler){ sp, pid, key, clock_now_ns() + CONFIRM_NS, fork, again };
	if (said)
		p->confirm_at = 0;
	else if (!fork)
		announce(m, p);
}

static uint64_t image_key(const struct task_image *x)
{
	uint64_t k = hash_u64(x->dev ^ hash_u64(x->ino ^ hash_u64(x->stack))) << 8;
	return k ? k : 1u << 8;
}

/* Collect the profilers that have finished.  One that was still a guess
 * and wrote its output profiled a fork that ended as itself (a short-lived
 * worker).  One started on a fork that failed lost the fork to its exec
 * while attaching (maps read from one program and memory from the next,
 * or the next one's interpreter not mapped yet), announced or not: its
 * pid is looked at afresh once it runs another image than the fork's.
 * One that failed while its process still runs the image it was started
 * on is started again, once. */
static void reap(struct profiling_children *m)
{
	for (size_t i = 0; i < m->nrunning;) {
		struct child_profiler *p = &m->running[i];
		if (!spawn_exited(&p->sp)) {
			i++;
			continue;
		}
		bool ok = WIFEXITED(p->sp.status) && WEXITSTATUS(p->sp.status) == 0;
		if (ok && p->confirm_at)
			announce(m, p);
		if (ok) {
			/* as the parent's own "written to" line says where
			 * its profile went */
			char *out = output_for(m->cmd.pattern, p->target);
			if (access(out, F_OK) == 0)
				fprintf(stderr, "Profile of child process %d written to %s\n",
					(int)p->target, out);
			free(out);
		}
		struct task_image img;
		if (!ok && !p->again && task_image(p->target, &img) == 0 &&
		    image_key(&img) == p->key) {
			/* It failed, yet its process still runs the image it
			 * was started on: under load a profiler was seen to
			 * fail to read a live pool worker (ESRCH), leaving the
			 * worker unprofiled.  One more profiler, once; a
			 * failure that holds (a version or permission problem)
			 * fails again and is given up below. */
			struct child_profiler q = *p;
			m->running[i] = m->running[--m->nrunning];
			start_profiler(m, q.target, q.key, q.on_fork, !q.confirm_at, true);
			continue;
		}
		if (!ok && p->on_fork) {
			u64map_put(&m->known, (uint64_t)p->target,
				   p->key | GIVEN_UP | (p->confirm_at ? 0 : KNOWN_SAID));
			if (m->nretry < MAX_RETRY)
				m->retry[m->nretry++] = p->target;
		}
		m->running[i] = m->running[--m->nrunning];
	}
}

/* A guess that failed: the fork exec'd something that is not Python.  Its
 * profiler goes without a word and without an output: killed before it
 * closed its output, it never renamed it into place (format/outfile.h), and
 * a file already at that name is not its own to remove. */
static void discard(struct profiling_children *m, size_t i)
{
	struct child_profiler *p = &m->running[i];
	kill(p->sp.pid, SIGKILL);
	while (!p->sp.reaped && waitpid(p->sp.pid, &p->sp.status, 0) < 0 && errno == EINTR)
		;
	m->running[i] = m->running[--m->nrunning];
}

/* ---- looking at descendants ---------------------------------------------- */

enum py_state { PY_YES, PY_NO, PY_NOT_YET, PY_NEVER, PY_GONE };

/* Is pid a CPython strobe can profile?  The cheap look at its mappings
 * first; for a yes, the runtime itself, as the profiler will look for it. */
static enum py_state python_state(pid_t pid)
{
	int rc = py_runtime_maybe(pid);
	if (rc == 0)
		return PY_NO;
	if (rc < 0)
		return rc == ERR_NOPROC ? PY_GONE : PY_NEVER;
	struct mem_source mem;
	struct py_runtime rt;
	struct errmsg e = { "" };
	rc = py_open(pid, &mem, &rt, &e);
	if (rc == 0) {
		mem_close(&mem);
		return PY_YES;
	}
	if (rc == ERR_NOPROC)
		return PY_GONE;
	/* a python-looking mapping without a usable runtime: not all mapped
	 * yet (tried again, GIVEN_UP times), or not CPython after all; a
	 * version or permission problem would be the profiler's one-line
	 * error, printed nowhere */
	return py_open_final(rc) ? PY_NEVER : PY_NOT_YET;
}

/* Whether pid is a fork of its parent that has not exec'd (yet). */
static bool fork_copy(const struct task_image *img)
{
	struct task_image parent;
	return img->ppid > 0 && task_image(img->ppid, &parent) == 0 &&
	       task_image_same(img, &parent);
}

/* Decide about pid, given what was known (old, or NULL); returns the new
 * known value, KNOWN_FORGET for nothing to keep. */
static uint64_t consider(struct profiling_children *m, pid_t pid, const uint64_t *old)
{
	struct task_image img;
	if (task_image(pid, &img) != 0)
		return KNOWN_FORGET; /* gone, a zombie, or not ours to look at */
	uint64_t key = image_key(&img);
	unsigned tries = 0;
	uint64_t said = old ? *old & KNOWN_SAID : 0;
	/* a profiled pid that exec'd: its profiler follows it into the new
	 * image (exec.c) or stops there; a second profiler would write
	 * the same file */
	if (old && KNOWN_STATE(*old) == KNOWN_DONE)
		return key | said | KNOWN_DONE;
	if (old && (*old & ~(uint64_t)0xff) == key) {
		tries = KNOWN_STATE(*old);
		if (tries == 0 || tries >= GIVEN_UP)
			return *old; /* settled, and the same image since */
	}
	/* Right after a fork a child is a copy of its parent - Python if the
	 * parent is - and subprocess and multiprocessing's spawn and
	 * forkserver exec a moment later: a profiler attached now would read
	 * the image about to go.  A fork that stays one (a multiprocessing
	 * fork worker) is profiled FORK_GRACE looks (4 ms) later. */
	bool fork = fork_copy(&img);
	if (tries < FORK_GRACE && fork)
		return key | said | (tries + 1);
	/* the forks of one parent (a pool's workers) are looked at once: on a
	 * busy host the reads of a full look can outlast a short-lived fork */
	enum py_state st = fork && key == m->py_key ? PY_YES : python_state(pid);
	switch (st) {
	case PY_YES:
		m->py_key = key;
		start_profiler(m, pid, key, fork, said != 0, false);
		return key | said | KNOWN_DONE;
	case PY_NO:
		return key | said;
	case PY_NOT_YET:
		return key | said | (tries + 1);
	case PY_NEVER:
		return key | said | GIVEN_UP;
	case PY_GONE:
		break;
	}
	return KNOWN_FORGET;
}

/* Settle the guesses (see struct child_profiler); final: the last look,
 * nothing waits any more. */
static void confirm(struct profiling_children *m, bool final)
{
	uint64_t now = clock_now_ns();
	for (size_t i = 0; i < m->nrunning;) {
		struct child_profiler *p = &m->running[i];
		struct task_image img;
		if (!p->confirm_at || spawn_exited(&p->sp)) {
			i++; /* announced, or left to reap */
			continue;
		}
		if (task_image(p->target, &img) != 0) {
			/* ended: its profiler ends too, and reap tells by its
			 * status whether it found a Python */
			i++;
			continue;
		}
		uint64_t key = image_key(&img);
		if (key == p->key) {
			if (final || now >= p->confirm_at)
				announce(m, p);
			i++;
			continue;
		}
		/* it exec'd: its profiler follows a Python, anything else was
		 * not a Python child after all */
		enum py_state st = python_state(p->target);
		if (st == PY_YES) {
			announce(m, p);
			u64map_put(&m->known, (uint64_t)p->target, key | KNOWN_DONE);
			i++;
		} else if ((st == PY_NOT_YET && !final) || st == PY_GONE) {
			/* its runtime is not mapped yet: next look; or it is
			 * gone: its profiler ends with it and wrote what it
			 * had, which reap tells by its status */
			i++;
		} else {
			pid_t pid = p->target;
			discard(m, i);
			u64map_put(&m->known, (uint64_t)pid, st == PY_NO ? key : key | GIVEN_UP);
		}
	}
}

static bool guessing(const struct profiling_children *m)
{
	for (size_t i = 0; i < m->nrunning; i++)
		if (m->running[i].confirm_at)
			return true;
	return false;
}

static bool retrying(uint64_t v)
{
	unsigned tries = KNOWN_STATE(v);
	return tries > 0 && tries < FIND_TRIES;
}

static void note(struct profiling_children *m, struct u64map *into, pid_t pid, uint64_t v)
{
	if (v == KNOWN_FORGET) {
		u64map_del(into, (uint64_t)pid);
		return;
	}
	u64map_put(into, (uint64_t)pid, v);
	if (retrying(v) && m->nretry < MAX_RETRY)
		m->retry[m->nretry++] = pid;
}

/* One look at the whole tree.  ERR_NOPROC once the root is gone. */
static int scan(struct profiling_children *m)
{
	size_t n;
	int rc = task_tree_children(&m->tree, m->root, true, m->pids, MAX_DESCENDANTS, &n);
	if (rc)
		return rc;
	/* the new known map holds the pids still in the tree only */
	u64map_clear(&m->next);
	m->nretry = 0;
	for (size_t i = 0; i < n; i++) {
		const uint64_t *old = u64map_get(&m->known, (uint64_t)m->pids[i]);
		note(m, &m->next, m->pids[i], consider(m, m->pids[i], old));
	}
	struct u64map t = m->known;
	m->known = m->next;
	m->next = t;
	return 0;
}

/* Between scans: only the python-looking processes without a runtime. */
static void retry(struct profiling_children *m)
{
	pid_t pids[MAX_RETRY];
	size_t n = m->nretry;
	memcpy(pids, m->retry, n * sizeof(pids[0]));
	m->nretry = 0;
	for (size_t i = 0; i < n; i++) {
		const uint64_t *p = u64map_get(&m->known, (uint64_t)pids[i]);
		uint64_t old = p ? *p : KNOWN_FORGET;
		note(m, &m->known, pids[i], consider(m, pids[i], p ? &old : NULL));
	}
}

/* Sleep until deadline (monotonic ns) or a stop request: true to stop. */
static bool wait_stop(struct profiling_children *m, uint64_t deadline)
{
	struct timespec ts = { (time_t)(deadline / 1000000000ULL), (long)(deadline % 1000000000ULL) };
	pthread_mutex_lock(&m->lock);
	while (!m->stop && pthread_cond_timedwait(&m->wake, &m->lock, &ts) == 0)
		;
	bool stop = m->stop;
	pthread_mutex_unlock(&m->lock);
	return stop;
}

/* The pids born since the last look that are descendants.  Too many new
 * pids (a busy build host) are left to the next scan: never more than one
 * scan per POLL_NS. */
static void born(struct profiling_children *m)
{
	if (!m->fast)
		return;
	size_t n;
	int rc = task_tree_born(&m->tree, m->root, m->pids, MAX_DESCENDANTS, &n);
	if (rc && rc != ERR_LIMIT)
		m->fast = false; /* no ns_last_pid here: scans only */
	if (rc)
		return;
	for (size_t i = 0; i < n; i++)
		if (!u64map_get(&m->known, (uint64_t)m->pids[i]))
			note(m, &m->known, m->pids[i], consider(m, m->pids[i], NULL));
}

static void *monitor_main(void *arg)
{
	struct profiling_children *m = arg;
	uint64_t next_scan = clock_now_ns(), next_born = next_scan + FAST_NS;
	for (;;) {
		uint64_t now = clock_now_ns();
		reap(m);
		if (now >= next_scan) {
			next_scan = now + POLL_NS;
			next_born = now + FAST_NS;
			/* the root gone, its children belong to init now:
			 * nothing more can be found (Tachyon stops too) */
			if (scan(m) == ERR_NOPROC)
				break;
		} else {
			retry(m);
			if (now >= next_born) {
				next_born = now + FAST_NS;
				born(m);
			}
		}
		confirm(m, false);
		/* pids waiting (a fork that may exec, a runtime not mapped
		 * yet, a guess) are looked at every RETRY_NS, new pids every
		 * FAST_NS */
		uint64_t wake = m->nretry || guessing(m) ? clock_now_ns() + RETRY_NS : next_born;
		if (wake > next_born)
			wake = next_born;
		if (wake > next_scan)
			wake = next_scan;
		if (wait_stop(m, wake))
			break;
	}
	return NULL;
}

/* ---- the interface ------------------------------------------------------- */

struct profiling_children *profiling_children_start(const struct options *o, pid_t pid)
{
	struct profiling_children *m = xcalloc(1, sizeof(*m));
	m->root = pid;
	child_cmd_init(&m->cmd, o);
	task_tree_init(&m->tree);
	m->fast = true;
	u64map_init(&m->known);
	u64map_init(&m->next);
	pthread_mutex_init(&m->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->wake, &ca);
	pthread_condattr_destroy(&ca);

	/* the thread starts with every signal blocked */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&m->thread, NULL, monitor_main, m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	m->thread_started = rc == 0;
	if (rc) {
		fprintf(stderr, "Warning: cannot watch for child processes (--subprocesses): %s\n",
			strerror(rc));
		profiling_children_finish(m);
		return NULL;
	}
	return m;
}

unsigned profiling_children_started(struct profiling_children *m)
{
	if (!m)
		return 0;
	pthread_mutex_lock(&m->lock);
	unsigned n = m->started;
	pthread_mutex_unlock(&m->lock);
	return n;
}

/* SIGTERM every profiler still running (they write what they have), then
 * SIGKILL what is left after the grace period. */
static void end_profilers(struct profiling_children *m)
{
	reap(m);
	if (!m->nrunning)
		return;
	for (size_t i = 0; i < m->nrunning; i++)
		kill(m->running[i].sp.pid, SIGTERM);
	uint64_t deadline = clock_now_ns() + TERM_GRACE_NS;
	for (;;) {
		reap(m);
		uint64_t now = clock_now_ns();
		if (!m->nrunning || now >= deadline)
			break;
		clock_sleep_until(now + 10000000ULL < deadline ? now + 10000000ULL : deadline);
	}
	for (size_t i = 0; i < m->nrunning; i++)
		spawn_terminate(&m->running[i].sp, 0);
	m->nrunning = 0;
}

void profiling_children_finish(struct profiling_children *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->stop = true;
	pthread_cond_signal(&m->wake);
	pthread_mutex_unlock(&m->lock);
	if (m->thread_started)
		pthread_join(m->thread, NULL);

	confirm(m, true);
	reap(m);
	if (m->nrunning) {
		fprintf(stderr, "Waiting for %zu child profiler(s) to complete...\n", m->nrunning);
		/* a signal now (a second Ctrl-C) ends the wait: the flag was
		 * already used to stop the parent's sampling */
		sampler_stop = 0;
		uint64_t deadline = clock_now_ns() + WAIT_NS;
		for (;;) {
			reap(m);
			uint64_t now = clock_now_ns();
			if (!m->nrunning || sampler_stop || now >= deadline)
				break;
			clock_sleep_until(now + REAP_SLICE_NS < deadline ? now + REAP_SLICE_NS : deadline);
		}
	}
	end_profilers(m);

	child_cmd_release(&m->cmd);
	free(m->running);
	task_tree_release(&m->tree);
	u64map_release(&m->known);
	u64map_release(&m->next);
	pthread_cond_destroy(&m->wake);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
