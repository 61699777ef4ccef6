/* engine.c - see engine.h. */
#include "bpf/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/sample.skel.h" /* generated: $(BUILD)/gen/bpf */

/* Perf events open at once at most (one per sampled thread). */
#define BPF_ENGINE_MAX_EVENTS 4096

struct watched {
	pid_t tid;
	int fd;
	struct bpf_link *link;
	uint32_t slot;      /* its place in cpu_clocks */
	uint32_t ns_tid;    /* its id in the target's namespace in switch_ids, 0: none */
};

/* A sample whose parts are arriving. */
struct pending {
	pid_t tid;             /* 0: free */
	uint64_t sample;
	uint32_t next_part;
	uint64_t age;          /* when it started, in records drained */
	struct bpf_engine_sample head;
	unsigned char *frames;  /* n frames of head.stride bytes */
	size_t n, cap;          /* in frames */
};

struct bpf_engine {
	struct strobe_sample *skel;
	struct ring_buffer *rb;
	struct watched *ev;
	size_t nev, evcap;
	uint64_t opened;
	/* the drain's callback, for the ring buffer's */
	bpf_engine_sample_fn fn;
	void *ctx;
	uint64_t *bad;
	int stop;  /* what the callback returned to stop the drain */
	uint32_t max_frames;
	bpf_engine_code_fn code_fn;
	void *code_ctx;
	struct pending pend[BPF_ENGINE_PENDING];
	uint64_t drained;
	/* wall mode: the sched_switch program's perf event and link */
	int switch_fd;
	struct bpf_link *switch_link;
	unsigned char slot_used[STROBE_BPF_MAX_SLOTS];
};

static int on_record(void *ctx, void *data, size_t len);

/* libbpf's own messages would go to stderr: a lower layer never prints,
 * and what failed is told in e. */
static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/* Whether this process holds what loading BPF programs needs (CAP_BPF and
 * CAP_PERFMON, or CAP_SYS_ADMIN): a load refused with EACCES then is the
 * verifier's rejection of the program, not a missing permission. */
static bool may_load(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d))
		return false;
	uint64_t eff = (uint64_t)d[1].effective << 32 | d[0].effective;
	return ((eff >> CAP_SYS_ADMIN) & 1) || (((eff >> 39) & 1) && ((eff >> 38) & 1));
}

static int load_error(int err, struct errmsg *e)
{
	if (err == EPERM || err == EACCES) {
		errmsg_set(e, "loading a BPF program needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)");
		return ERR_PERM;
	}
	if (err == ENOSYS || err == EOPNOTSUPP || err == EINVAL) {
		errmsg_set(e, "this kernel refused the BPF program (it needs BPF ring buffers, "
			   "Linux 5.8 or newer, and perf-event programs): %s", strerror(err));
		return ERR_NOTFOUND;
	}
	if (err == ENOMEM) {
		errmsg_set(e, "no memory for the BPF maps (the locked-memory limit?)");
		return ERR_NOMEM;
	}
	errmsg_set(e, "loading the BPF program failed: %s", strerror(err));
	return ERR_IO;
}

/* The code copies' configuration fits the program's bounds (off: head 0). */
static bool code_config_ok(const struct strobe_bpf_config *cfg)
{
	const struct strobe_bpf_code_config *cc = &cfg->code;
	if (cc->head == 0)
		return true;
	if (cc->head > STROBE_BPF_CODE_HEAD_MAX || cc->frame_code + 8 > cfg->head_size ||
	    cc->frame_globals + 8 > cfg->head_size)
		return false;
	for (int i = 0; i < STROBE_BPF_BLOBS; i++) {
		const struct strobe_bpf_blob_config *b = &cc->blob[i];
		if (b->field + 8 > cc->head || b->min > b->max || b->max > STROBE_BPF_BLOB_MAX ||
		    b->hdr > b->max)
			return false;
	}
	return true;
}

/* Whether every thread state field the program loads lies in the copy of
 * its first ts_len bytes (it loads them from there without a check). */
static bool ts_fields_copied(const struct strobe_bpf_config *c)
{
	uint32_t need = c->ts_frame + 8;
	uint32_t gil = c->want & (STROBE_BPF_ST_GIL | STROBE_BPF_WANT_GIL_IF_GC);
	uint32_t fields[][2] = {
		{ (c->want & STROBE_BPF_ST_GC) || (gil && c->gil_kind == STROBE_BPF_GIL_LOCK) ||
			  ((c->want & STROBE_BPF_ST_FINALIZING) && !c->fin_addr)
			  ? c->ts_interp : STROBE_BPF_ABSENT, 8 },
		{ gil && c->gil_kind == STROBE_BPF_GIL_BIT ? c->ts_holds_gil : STROBE_BPF_ABSENT, 4 },
		{ gil ? c->ts_gil_requested : STROBE_BPF_ABSENT, 4 },
		{ c->want & STROBE_BPF_ST_EXCEPTION ? c->ts_current_exception : STROBE_BPF_ABSENT, 8 },
		{ c->want & STROBE_BPF_ST_EXCEPTION ? c->ts_exc_info : STROBE_BPF_ABSENT, 8 },
		{ c->window ? c->ts_chunk : STROBE_BPF_ABSENT, 8 },
		{ c->window ? c->ts_top : STROBE_BPF_ABSENT, 8 },
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i][0] != STROBE_BPF_ABSENT && fields[i][0] + fields[i][1] > need)
			need = fields[i][0] + fields[i][1];
	return c->ts_frame <= STROBE_BPF_TS_MAX - 8 && need <= c->ts_len;
}

/* The configuration fits the program's bounds: 0, or ERR_INVAL. */
static int config_check(const struct strobe_bpf_config *cfg, struct errmsg *e)
{
	if (cfg->head_size > STROBE_BPF_HEAD_MAX || cfg->back > STROBE_BPF_HEAD_MAX - 8 ||
	    cfg->back + 8 > cfg->head_size ||
	    cfg->max_frames > STROBE_BPF_MAX_FRAMES * STROBE_BPF_MAX_PARTS ||
	    cfg->max_frames == 0) {
		errmsg_set(e, "this Python's frames do not fit the BPF program's record "
			   "(%u bytes copied, caller link at %u)", cfg->head_size, cfg->back);
		return ERR_INVAL;
	}
	if (cfg->window > STROBE_BPF_WINDOW_MAX || cfg->ts_len > STROBE_BPF_TS_MAX ||
	    (cfg->window && cfg->chunk_data > 4096) || !ts_fields_copied(cfg)) {
		errmsg_set(e, "this Python's thread state (%u bytes) or data stack window (%u bytes) "
			   "exceeds the BPF program's copies", cfg->ts_len, cfg->window);
		return ERR_INVAL;
	}
	/* the program masks these (the verifier wants bounds): out of range
	 * they would read the wrong word, not fail */
	if (((cfg->want & STROBE_BPF_ST_EXCEPTION) && cfg->ts_exc_info != STROBE_BPF_ABSENT &&
	     (cfg->exc_test > 0xff || cfg->exc_previous > 0xff)) ||
	    ((cfg->want & STROBE_BPF_ST_GIL) && cfg->gil_kind == STROBE_BPF_GIL_BIT &&
	     cfg->holds_gil_bit > 31) || cfg->gil_kind > STROBE_BPF_GIL_BIT) {
		errmsg_set(e, "this Python's thread status does not fit the BPF program");
		return ERR_INVAL;
	}
	if (!code_config_ok(cfg)) {
		errmsg_set(e, "this Python's code objects do not fit the BPF program's copies");
		return ERR_INVAL;
	}
	return 0;
}

int bpf_engine_open(struct bpf_engine **out, const struct strobe_bpf_config *cfg,
		    struct errmsg *e)
{
	*out = NULL;
	int crc = config_check(cfg, e);
	if (crc)
		return crc;
	libbpf_set_print(silent);
	struct bpf_engine *be = calloc(1, sizeof(*be));
	if (!be)
		return ERR_NOMEM;
	be->max_frames = cfg->max_frames;
	be->switch_fd = -1;
	be->skel = strobe_sample__open();
	if (!be->skel) {
		int rc = load_error(errno, e);
		free(be);
		return rc;
	}
	if (strobe_sample__load(be->skel)) {
		int err = errno, rc;
		if ((err == EACCES || err == EPERM) && may_load()) {
			errmsg_set(e, "the kernel's verifier rejected strobe's BPF program (%s); "
				   "please report it", strerror(err));
			rc = ERR_IO;
		} else {
			rc = load_error(err, e);
		}
		strobe_sample__destroy(be->skel);
		free(be);
		return rc;
	}
	uint32_t zero = 0;
	if (bpf_map_update_elem(bpf_map__fd(be->skel->maps.config), &zero, cfg, BPF_ANY)) {
		int rc = load_error(errno, e);
		bpf_engine_close(be);
		return rc;
	}
	be->rb = ring_buffer__new(bpf_map__fd(be->skel->maps.records), on_record, be, NULL);
	if (!be->rb) {
		int rc = load_error(errno, e);
		bpf_engine_close(be);
		return rc;
	}
	*out = be;
	return 0;
}

void bpf_engine_close(struct bpf_engine *be)
{
	if (!be)
		return;
	bpf_link__destroy(be->switch_link);
	if (be->switch_fd >= 0)
		close(be->switch_fd);
	for (size_t i = 0; i < be->nev; i++) {
		bpf_link__destroy(be->ev[i].link);
		close(be->ev[i].fd);
	}
	free(be->ev);
	for (int i = 0; i < BPF_ENGINE_PENDING; i++)
		free(be->pend[i].frames);
	ring_buffer__free(be->rb);
	strobe_sample__destroy(be->skel);
	free(be);
}

int bpf_engine_set_thread(struct bpf_engine *be, pid_t tid, uint64_t tstate)
{
	uint32_t key = (uint32_t)tid;
	if (bpf_map_update_elem(bpf_map__fd(be->skel->maps.threads), &key, &tstate, BPF_ANY))
		return errno == E2BIG ? ERR_LIMIT : ERR_IO;
	return 0;
}

void bpf_engine_drop_thread(struct bpf_engine *be, pid_t tid)
{
	uint32_t key = (uint32_t)tid;
	(void)bpf_map_delete_elem(bpf_map__fd(be->skel->maps.threads), &key);
}

int bpf_engine_watching(const struct bpf_engine *be, pid_t tid)
{
	for (size_t i = 0; i < be->nev; i++)
		if (be->ev[i].tid == tid)
			return 1;
	return 0;
}

int bpf_engine_watch(struct bpf_engine *be, pid_t tid, uint64_t period_ns, struct errmsg *e)
{
	if (bpf_engine_watching(be, tid))
		return 0;
	if (be->nev >= BPF_ENGINE_MAX_EVENTS)
		return ERR_LIMIT;
	if (be->nev == be->evcap) {
		size_t cap = be->evcap ? be->evcap * 2 : 16;
		struct watched *ev = realloc(be->ev, cap * sizeof(*ev));
		if (!ev)
			return ERR_NOMEM;
		be->ev = ev;
		be->evcap = cap;
	}
	uint32_t slot = 0;
	while (slot < STROBE_BPF_MAX_SLOTS && be->slot_used[slot])
		slot++;
	if (slot == STROBE_BPF_MAX_SLOTS)
		return ERR_LIMIT;
	struct perf_event_attr a;
	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_SOFTWARE;
	a.size = sizeof(a);
	a.config = PERF_COUNT_SW_CPU_CLOCK;
	a.sample_period = period_ns ? period_ns : 1;
	int fd = (int)syscall(SYS_perf_event_open, &a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		if (err == ESRCH)
			return ERR_NOPROC;
		if (err == EACCES || err == EPERM) {
			errmsg_set(e, "perf events are restricted (kernel.perf_event_paranoid; "
				   "sampling another process needs CAP_PERFMON or root)");
			return ERR_PERM;
		}
		errmsg_set(e, "cannot open a perf event on thread %d: %s", (int)tid, strerror(err));
		return err == ENOENT || err == EOPNOTSUPP ? ERR_NOTFOUND : ERR_IO;
	}
	/* the program knows the thread by this cookie, not by the ids the
	 * kernel would give it (those of the target's PID namespace, or the
	 * initial one's): strobe's own */
	struct bpf_perf_event_opts opts = { .sz = sizeof(opts),
					    .bpf_cookie = STROBE_BPF_COOKIE(tid, slot) };
	struct bpf_link *link =
		bpf_program__attach_perf_event_opts(be->skel->progs.on_sample, fd, &opts);
	if (!link) {
		int err = errno;
		close(fd);
		errmsg_set(e, "cannot attach the BPF program to a perf event: %s", strerror(err));
		return err == EPERM || err == EACCES ? ERR_PERM : ERR_IO;
	}
	/* its CPU time, for the sched_switch program (wall mode) */
	if (bpf_map_update_elem(bpf_map__fd(be->skel->maps.cpu_clocks), &slot, &fd, BPF_ANY)) {
		int err = errno;
		bpf_link__destroy(link);
		close(fd);
		errmsg_set(e, "cannot keep a perf event in a BPF map: %s", strerror(err));
		return ERR_IO;
	}
	be->slot_used[slot] = 1;
	be->ev[be->nev++] = (struct watched){ tid, fd, link, slot, 0 };
	be->opened++;
	return 0;
}

/* Take a watched thread out of the maps the sched_switch program reads. */
static void unforget(struct bpf_engine *be, struct watched *w)
{
	if (w->ns_tid)
		(void)bpf_map_delete_elem(bpf_map__fd(be->skel->maps.switch_ids), &w->ns_tid);
	(void)bpf_map_delete_elem(bpf_map__fd(be->skel->maps.cpu_clocks), &w->slot);
	be->slot_used[w->slot] = 0;
	w->ns_tid = 0;
}

static struct watched *watched_of(struct bpf_engine *be, pid_t tid)
{
	for (size_t i = 0; i < be->nev; i++)
		if (be->ev[i].tid == tid)
			return &be->ev[i];
	return NULL;
}

int bpf_engine_watch_switches(struct bpf_engine *be, pid_t tid, uint32_t ns_tid)
{
	struct watched *w = watched_of(be, tid);
	if (!w || !ns_tid)
		return ERR_INVAL;
	if (w->ns_tid == ns_tid)
		return 0;
	int fd = bpf_map__fd(be->skel->maps.switch_ids);
	if (w->ns_tid)
		(void)bpf_map_delete_elem(fd, &w->ns_tid);
	uint64_t cookie = STROBE_BPF_COOKIE(tid, w->slot);
	if (bpf_map_update_elem(fd, &ns_tid, &cookie, BPF_ANY))
		return errno == E2BIG ? ERR_LIMIT : ERR_IO;
	w->ns_tid = ns_tid;
	return 0;
}

int bpf_engine_cpu_time(struct bpf_engine *be, pid_t tid, uint64_t *ns)
{
	struct watched *w = watched_of(be, tid);
	if (!w)
		return ERR_INVAL;
	uint64_t v = 0;
	if (read(w->fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return ERR_IO;
	*ns = v;
	return 0;
}

/* sched:sched_switch's perf event id, from tracefs: where it is mounted,
 * else mounted for a moment in a private mount namespace of a child
 * process (a machine without tracefs mounted: nothing changes for the
 * rest of it).  The id, or -1. */
static long read_id(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	long id = -1;
	if (fscanf(f, "%ld", &id) != 1)
		id = -1;
	fclose(f);
	return id;
}

static long switch_event_id(void)
{
	static const char *const known[] = {
		"/sys/kernel/tracing/events/sched/sched_switch/id",
		"/sys/kernel/debug/tracing/events/sched/sched_switch/id",
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		long id = read_id(known[i]);
		if (id > 0)
			return id;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid_t child = fork();
	if (child < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (child == 0) {
		long id = -1;
		if (unshare(CLONE_NEWNS) == 0 &&
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
		    mount("tracefs", "/sys/kernel/tracing", "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  NULL) == 0)
			id = read_id(known[0]);
		ssize_t wr = write(p[1], &id, sizeof(id));
		_exit(wr == (ssize_t)sizeof(id) ? 0 : 1);
	}
	close(p[1]);
	long id = -1;
	if (read(p[0], &id, sizeof(id)) != (ssize_t)sizeof(id))
		id = -1;
	close(p[0]);
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {
	}
	return id;
}

int bpf_engine_switches(struct bpf_engine *be, struct errmsg *e)
{
	if (be->switch_link)
		return 0;
	long id = switch_event_id();
	if (id <= 0) {
		errmsg_set(e, "wall mode with --engine bpf needs the sched:sched_switch tracepoint "
			   "(tracefs is not mounted at /sys/kernel/tracing and could not be)");
		return ERR_NOTFOUND;
	}
	struct perf_event_attr a;
	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_TRACEPOINT;
	a.size = sizeof(a);
	a.config = (uint64_t)id;
	a.sample_period = 1;
	/* strobe's own thread: the program runs for every task's switch
	 * anyway (on_switch), so no CPU-wide event is needed */
	int fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		errmsg_set(e, "cannot open the sched_switch tracepoint: %s", strerror(err));
		return err == EACCES || err == EPERM ? ERR_PERM : ERR_IO;
	}
	struct bpf_link *link = bpf_program__attach_perf_event(be->skel->progs.on_switch, fd);
	if (!link) {
		int err = errno;
		close(fd);
		errmsg_set(e, "cannot attach the BPF program to sched_switch: %s", strerror(err));
		return err == EPERM || err == EACCES ? ERR_PERM : ERR_IO;
	}
	be->switch_fd = fd;
	be->switch_link = link;
	return 0;
}

void bpf_engine_prune(struct bpf_engine *be, const pid_t *alive, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < be->nev; i++) {
		bool keep = false;
		for (size_t j = 0; j < n && !keep; j++)
			keep = alive[j] == be->ev[i].tid;
		if (keep) {
			be->ev[k++] = be->ev[i];
			continue;
		}
		unforget(be, &be->ev[i]);
		bpf_link__destroy(be->ev[i].link);
		close(be->ev[i].fd);
		bpf_engine_drop_thread(be, be->ev[i].tid);
	}
	be->nev = k;
}

/* Hand a finished sample to the callback; non-zero stops the drain. */
static int deliver(struct bpf_engine *be, const struct bpf_engine_sample *smp)
{
	int rc = be->fn(be->ctx, smp);
	if (rc) {
		be->stop = rc;
		return -1;
	}
	return 0;
}

/* Give up the sample of slot p (a part of it was lost): the callback
 * sees it as incomplete. */
static int give_up(struct bpf_engine *be, struct pending *p)
{
	struct bpf_engine_sample smp = p->head;
	smp.flags |= BPF_ENGINE_INCOMPLETE;
	smp.frames = p->frames;
	smp.nframes = (uint32_t)p->n;
	p->tid = 0;
	p->n = 0;
	return deliver(be, &smp);
}

static struct pending *pending_of(struct bpf_engine *be, pid_t tid)
{
	for (int i = 0; i < BPF_ENGINE_PENDING; i++)
		if (be->pend[i].tid == tid)
			return &be->pend[i];
	return NULL;
}

/* A code record (its first word 0): checked, then handed to code_fn. */
static int on_code_record(struct bpf_engine *be, const void *data, size_t len)
{
	const struct strobe_bpf_code_record *r = data;
	if (len < STROBE_BPF_CODE_RECORD_HEAD || r->magic != STROBE_BPF_CODE_MAGIC ||
	    r->size != len || r->head_len > STROBE_BPF_CODE_HEAD_MAX ||
	    r->head_len > len - STROBE_BPF_CODE_RECORD_HEAD) {
		(*be->bad)++;
		return 0;
	}
	size_t room = len - STROBE_BPF_CODE_RECORD_HEAD;
	struct bpf_engine_code c = { .tid = r->tid, .code = r->code, .globals = r->globals, .head = r->data,
				     .head_len = r->head_len };
	for (int i = 0; i < STROBE_BPF_BLOBS; i++) {
		uint32_t off = r->blob[i].off, n = r->blob[i].len;
		if (n > STROBE_BPF_BLOB_MAX || off > room || n > room - off) {
			(*be->bad)++;
			return 0;
		}
		c.blob[i].addr = r->blob[i].addr;
		c.blob[i].bytes = r->data + off;
		c.blob[i].len = n;
	}
	if (be->code_fn)
		be->code_fn(be->code_ctx, &c);
	return 0;
}

static int on_record(void *ctx, void *data, size_t len)
{
	struct bpf_engine *be = ctx;
	const struct strobe_bpf_record *r = data;
	be->drained++;
	if (len >= 8 && r->tid == 0)
		return on_code_record(be, data, len);
	if (len < STROBE_BPF_RECORD_HEAD || r->nframes > STROBE_BPF_MAX_FRAMES ||
	    r->head_size > STROBE_BPF_HEAD_MAX || r->stride != STROBE_BPF_STRIDE(r->head_size) ||
	    len != STROBE_BPF_RECORD_SIZE((size_t)r->nframes, r->stride) ||
	    r->tid == 0 || r->tid > INT32_MAX || r->part >= STROBE_BPF_MAX_PARTS) {
		(*be->bad)++;
		return 0;
	}
	pid_t tid = (pid_t)r->tid;
	struct pending *p = pending_of(be, tid);
	struct bpf_engine_sample smp = {
		.tid = r->tid,
		.flags = r->flags & ~STROBE_BPF_MORE,
		.head_size = r->head_size,
		.nframes = r->nframes,
		.status = r->status,
		.tstate = r->tstate,
		.gc_frame = r->gc_frame,
		.time_ns = r->time_ns,
		.cpu_ns = r->cpu_ns,
		.frames = r->data,
		.stride = r->stride,
	};
	if (r->part == 0) {
		/* a thread's new sample: what it had pending lost a part */
		if (p && give_up(be, p))
			return -1;
		if (!(r->flags & STROBE_BPF_MORE))
			return deliver(be, &smp); /* whole in one record: no copy */
		if (!p) {
			p = pending_of(be, 0);
			if (!p) {
				/* the oldest sample in the making is given up */
				p = &be->pend[0];
				for (int i = 1; i < BPF_ENGINE_PENDING; i++)
					if (be->pend[i].age < p->age)
						p = &be->pend[i];
				if (give_up(be, p))
					return -1;
			}
		}
		p->tid = tid;
		p->sample = r->sample;
		p->next_part = 0;
		p->age = be->drained;
		p->head = smp;
		p->n = 0;
	} else if (!p || p->sample != r->sample || p->next_part != r->part ||
		   p->head.head_size != r->head_size || p->head.tstate != r->tstate) {
		/* a part of a sample whose start was lost or given up */
		(*be->bad)++;
		if (p && p->sample != r->sample && give_up(be, p))
			return -1;
		return 0;
	}
	if (p->n + r->nframes > be->max_frames) {
		(*be->bad)++;
		return give_up(be, p);
	}
	if (p->n + r->nframes > p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		while (cap < p->n + r->nframes)
			cap *= 2;
		unsigned char *f = realloc(p->frames, cap * STROBE_BPF_STRIDE_MAX);
		if (!f) {
			be->stop = ERR_NOMEM;
			return -1;
		}
		p->frames = f;
		p->cap = cap;
	}
	memcpy(p->frames + p->n * r->stride, r->data, (size_t)r->nframes * r->stride);
	p->n += r->nframes;
	p->next_part++;
	p->head.flags |= r->flags & ~STROBE_BPF_MORE;
	if (r->flags & STROBE_BPF_MORE)
		return 0;
	smp = p->head;
	smp.frames = p->frames;
	smp.nframes = (uint32_t)p->n;
	p->tid = 0;
	return deliver(be, &smp);
}

int bpf_engine_drain(struct bpf_engine *be, bpf_engine_sample_fn fn, void *ctx, uint64_t *bad)
{
	be->fn = fn;
	be->ctx = ctx;
	be->bad = bad;
	be->stop = 0;
	int rc = ring_buffer__consume(be->rb);
	if (be->stop)
		return be->stop;
	return rc < 0 ? ERR_IO : 0;
}

void bpf_engine_stats(const struct bpf_engine *be, struct bpf_engine_stats *st)
{
	const struct strobe_sample__bss *b = be->skel->bss;
	st->runs = b->runs;
	st->kept = b->kept;
	st->lost = b->lost;
	st->unknown = b->unknown;
	st->switches = b->switches;
	st->events = be->opened;
	st->code_copies = b->code_copies;
	st->code_lost = b->code_lost;
	st->windows = b->windows_read;
}

void bpf_engine_on_code(struct bpf_engine *be, bpf_engine_code_fn fn, void *ctx)
{
	be->code_fn = fn;
	be->code_ctx = ctx;
}

int bpf_engine_know_code(struct bpf_engine *be, uint64_t code, uint64_t globals)
{
	uint32_t slot = strobe_bpf_known_slot(code);
	uint64_t print = strobe_bpf_known_print(code, globals);
	if (bpf_map_update_elem(bpf_map__fd(be->skel->maps.known_codes), &slot, &print, BPF_ANY))
		return ERR_IO;
	return 0;
}

int bpf_engine_reconfigure(struct bpf_engine *be, const struct strobe_bpf_config *cfg,
			   struct errmsg *e)
{
	int rc = config_check(cfg, e);
	if (rc)
		return rc;
	uint32_t zero = 0;
	if (bpf_map_update_elem(bpf_map__fd(be->skel->maps.config), &zero, cfg, BPF_ANY)) {
		errmsg_set(e, "updating the BPF program's configuration failed: %s", strerror(errno));
		return ERR_IO;
	}
	be->max_frames = cfg->max_frames;
	/* every slot emptied, in one batch */
	uint32_t n = STROBE_BPF_KNOWN_SLOTS;
	uint32_t *keys = malloc(n * sizeof(*keys));
	uint64_t *none = calloc(n, sizeof(*none));
	rc = keys && none ? 0 : ERR_NOMEM;
	for (uint32_t i = 0; rc == 0 && i < n; i++)
		keys[i] = i;
	if (rc == 0 && bpf_map_update_batch(bpf_map__fd(be->skel->maps.known_codes), keys, none, &n, NULL)) {
		errmsg_set(e, "clearing the BPF program's known code objects failed: %s", strerror(errno));
		rc = ERR_IO;
	}
	free(keys);
	free(none);
	return rc;
}

void bpf_engine_forget_code(struct bpf_engine *be, uint64_t code)
{
	/* its slot emptied (a code object sharing it is copied again once) */
	uint32_t slot = strobe_bpf_known_slot(code);
	uint64_t none = 0;
	(void)bpf_map_update_elem(bpf_map__fd(be->skel->maps.known_codes), &slot, &none, BPF_ANY);
}
