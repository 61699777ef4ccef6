/* test_bpf.c - the in-kernel sampler (src/bpf/) against a forked child
 * whose memory the test controls: made-up thread states and frame chains
 * (no Python), built before the fork so both sides know every address.
 * Three spinning threads: a short chain (copied whole, heads byte for
 * byte), a chain of 100 frames (whole in two records put together, or cut
 * and marked truncated at a bound of 64 or 90),
 * a chain whose link points to unmapped memory (marked as a failed read,
 * the frames before it kept); then the two-step start of 3.11-3.12 (the
 * thread state points to a struct holding the frame).  Wall mode's
 * sched_switch program: a sleeping thread's switches, its stack whole and
 * its CPU time; none for a thread not asked for.  Needs CAP_BPF and
 * CAP_PERFMON: skipped without them. */
#include "harness.h"

#include "base/clock.h"
#include "base/error.h"
#include "bpf/engine.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define TS_FRAME 24    /* thread state -> first pointer */
#define DEREF 8        /* the "cframe"'s frame pointer */
#define BACK 16        /* frame -> caller */
#define HEAD 48        /* bytes per frame */
#define LONG_CHAIN 100

struct chain {
	unsigned char tstate[64];
	unsigned char cframe[16];
	unsigned char tstate2[64]; /* its TS_FRAME word points to cframe */
	unsigned char (*frames)[HEAD];
	int n;
};

static struct chain chains[3];
static uint64_t unmapped;

struct shared {
	atomic_int tids[3];
};
static struct shared *sh;

static void put_u64(unsigned char *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static void build(struct chain *c, int n, uint64_t last_back)
{
	c->n = n;
	c->frames = calloc((size_t)n, HEAD);
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < HEAD; j++)
			c->frames[i][j] = (unsigned char)(i * 7 + j + n);
		put_u64(c->frames[i] + BACK, i + 1 < n ? (uint64_t)(uintptr_t)c->frames[i + 1] : last_back);
	}
	memset(c->tstate, 0xab, sizeof(c->tstate));
	put_u64(c->tstate + TS_FRAME, (uint64_t)(uintptr_t)c->frames[0]);
	memset(c->cframe, 0xcd, sizeof(c->cframe));
	put_u64(c->cframe + DEREF, (uint64_t)(uintptr_t)c->frames[0]);
	memset(c->tstate2, 0, sizeof(c->tstate2));
	put_u64(c->tstate2 + TS_FRAME, (uint64_t)(uintptr_t)c->cframe);
}

static void *spin(void *arg)
{
	int k = (int)(intptr_t)arg;
	atomic_store(&sh->tids[k], (int)syscall(SYS_gettid));
	volatile unsigned long x = 0;
	for (;;)
		x++;
	return NULL;
}

struct seen {
	pid_t tids[3];
	uint32_t want_n[3], want_flags[3];
	uint32_t hs;    /* head bytes copied: HEAD, or less */
	int records[3];
	int good[3];
	int other;
	bool deref;
};

static int on_sample(void *ctx, const struct bpf_engine_sample *r)
{
	struct seen *s = ctx;
	int k = -1;
	for (int i = 0; i < 3; i++)
		if ((pid_t)r->tid == s->tids[i])
			k = i;
	if (k < 0) {
		s->other++;
		return 0;
	}
	s->records[k]++;
	const struct chain *c = &chains[k];
	const unsigned char *ts = s->deref ? c->tstate2 : c->tstate;
	uint32_t hs = s->hs ? s->hs : HEAD;
	bool ok = r->head_size == hs && r->tstate == (uint64_t)(uintptr_t)ts;
	ok = ok && r->nframes == s->want_n[k] && r->flags == s->want_flags[k];
	ok = ok && r->stride == 8 + ((hs + 7) & ~7u);
	for (uint32_t i = 0; ok && i < r->nframes; i++)
		ok = bpf_engine_frame_addr(r, i) == (uint64_t)(uintptr_t)c->frames[i] &&
		     memcmp(bpf_engine_frame_head(r, i), c->frames[i], hs) == 0;
	if (ok)
		s->good[k]++;
	else if (getenv("TEST_BPF_DEBUG"))
		fprintf(stderr, "k=%d nframes=%u flags=%u\n", k, r->nframes, r->flags);
	return 0;
}

/* Sample the child's threads with cfg until each has records (or 5 s). */
static int sample(pid_t child, const struct strobe_bpf_config *cfg, struct seen *s, bool deref)
{
	struct bpf_engine *be;
	struct errmsg e = { "" };
	int rc = bpf_engine_open(&be, cfg, &e);
	if (rc)
		return rc;
	s->deref = deref;
	for (int k = 0; k < 3; k++) {
		/* the two-step start: the thread state's pointer leads to
		 * a cframe-like struct holding the frame's address */
		const unsigned char *ts = deref ? chains[k].tstate2 : chains[k].tstate;
		CHECK_EQ_INT(bpf_engine_set_thread(be, s->tids[k], (uint64_t)(uintptr_t)ts), 0);
		CHECK_EQ_INT(bpf_engine_watch(be, s->tids[k], 1000000, &e), 0);
	}
	(void)child;
	uint64_t bad = 0, end = clock_now_ns() + 5000000000ULL;
	while (clock_now_ns() < end) {
		clock_sleep_until(clock_now_ns() + 10000000ULL);
		CHECK_EQ_INT(bpf_engine_drain(be, on_sample, s, &bad), 0);
		if (s->records[0] >= 20 && s->records[1] >= 20 && s->records[2] >= 20)
			break;
	}
	CHECK_EQ_INT((int)bad, 0);
	struct bpf_engine_stats st;
	bpf_engine_stats(be, &st);
	CHECK_EQ_INT((int)st.lost, 0);
	CHECK_EQ_INT((int)st.events, 3);
	bpf_engine_close(be);
	return 0;
}

TEST(chains)
{
	/* where the third chain's last link points: below vm.mmap_min_addr,
	 * never mapped */
	unmapped = 0x1000;
	build(&chains[0], 5, 0);
	build(&chains[1], LONG_CHAIN, 0);
	build(&chains[2], 3, unmapped);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(sh != MAP_FAILED);
	pid_t child = fork();
	if (child == 0) {
		pthread_t th[3];
		for (int k = 0; k < 3; k++)
			pthread_create(&th[k], NULL, spin, (void *)(intptr_t)k);
		pthread_join(th[0], NULL);
		_exit(0);
	}
	CHECK(child > 0);
	struct seen s;
	memset(&s, 0, sizeof(s));
	/* 64 frames a sample: one record each */
	uint32_t n64[3] = { 5, 64, 3 }, f64[3] = { 0, STROBE_BPF_TRUNCATED, STROBE_BPF_READ_FAILED };
	memcpy(s.want_n, n64, sizeof(n64));
	memcpy(s.want_flags, f64, sizeof(f64));
	uint64_t end = clock_now_ns() + 5000000000ULL;
	for (int k = 0; k < 3; k++) {
		while (!atomic_load(&sh->tids[k]) && clock_now_ns() < end)
			clock_sleep_until(clock_now_ns() + 1000000ULL);
		s.tids[k] = atomic_load(&sh->tids[k]);
		CHECK(s.tids[k] > 0);
	}
	struct strobe_bpf_config cfg = {
		.ts_frame = TS_FRAME,
		.frame_deref = STROBE_BPF_ABSENT,
		.back = BACK,
		.head_size = HEAD,
		.max_frames = 64,
	};
	int rc = sample(child, &cfg, &s, false);
	if (rc == ERR_PERM) {
		printf("tests/unit/test_bpf.c: skipped (no CAP_BPF/CAP_PERFMON)\n");
	} else {
		CHECK_EQ_INT(rc, 0);
		for (int k = 0; k < 3; k++) {
			CHECK(s.records[k] >= 20);
			CHECK_EQ_INT(s.good[k], s.records[k]);
		}
		/* the two-step start (3.11-3.12's cframe), and up to the
		 * reader's 8192 frames: the long chain whole, in two records */
		struct seen s2;
		memset(&s2, 0, sizeof(s2));
		memcpy(s2.tids, s.tids, sizeof(s.tids));
		uint32_t nall[3] = { 5, LONG_CHAIN, 3 }, fall[3] = { 0, 0, STROBE_BPF_READ_FAILED };
		memcpy(s2.want_n, nall, sizeof(nall));
		memcpy(s2.want_flags, fall, sizeof(fall));
		cfg.frame_deref = DEREF;
		cfg.max_frames = STROBE_BPF_MAX_FRAMES * STROBE_BPF_MAX_PARTS;
		CHECK_EQ_INT(sample(child, &cfg, &s2, true), 0);
		for (int k = 0; k < 3; k++) {
			CHECK(s2.records[k] >= 20);
			CHECK_EQ_INT(s2.good[k], s2.records[k]);
		}
		/* a bound inside the second record: cut there */
		struct seen s3;
		memset(&s3, 0, sizeof(s3));
		memcpy(s3.tids, s.tids, sizeof(s.tids));
		uint32_t n90[3] = { 5, 90, 3 };
		uint32_t f90[3] = { 0, STROBE_BPF_TRUNCATED, STROBE_BPF_READ_FAILED };
		memcpy(s3.want_n, n90, sizeof(n90));
		memcpy(s3.want_flags, f90, sizeof(f90));
		cfg.frame_deref = STROBE_BPF_ABSENT;
		cfg.max_frames = 90;
		/* and a head size that is no multiple of 8 (frames padded) */
		cfg.head_size = s3.hs = HEAD - 5;
		CHECK_EQ_INT(sample(child, &cfg, &s3, false), 0);
		for (int k = 0; k < 3; k++) {
			CHECK(s3.records[k] >= 20);
			CHECK_EQ_INT(s3.good[k], s3.records[k]);
		}
		/* a configuration the record cannot hold is refused before loading */
		struct bpf_engine *be;
		struct errmsg e = { "" };
		cfg.head_size = STROBE_BPF_HEAD_MAX + 8;
		cfg.max_frames = 64;
		CHECK_EQ_INT(bpf_engine_open(&be, &cfg, &e), ERR_INVAL);
		cfg.head_size = HEAD;
		cfg.back = HEAD - 4;
		CHECK_EQ_INT(bpf_engine_open(&be, &cfg, &e), ERR_INVAL);
		cfg.back = BACK;
		cfg.max_frames = STROBE_BPF_MAX_FRAMES * STROBE_BPF_MAX_PARTS + 1;
		CHECK_EQ_INT(bpf_engine_open(&be, &cfg, &e), ERR_INVAL);
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	for (int k = 0; k < 3; k++)
		free(chains[k].frames);
	munmap(sh, sizeof(*sh));
}

/* ---- wall mode: the sched_switch program ------------------------------- */

static struct chain wchain;
struct wshared {
	atomic_int tids[2]; /* sleeper, spinner */
};
static struct wshared *wsh;

static void *w_sleep(void *arg)
{
	(void)arg;
	atomic_store(&wsh->tids[0], (int)syscall(SYS_gettid));
	for (;;)
		usleep(20000);
	return NULL;
}

static void *w_spin(void *arg)
{
	(void)arg;
	atomic_store(&wsh->tids[1], (int)syscall(SYS_gettid));
	volatile unsigned long x = 0;
	for (;;)
		x++;
	return NULL;
}

struct wseen {
	pid_t tids[2];
	int switches[2], samples[2], good_switches[2], other;
	uint64_t last_cpu[2], last_time[2], max_cpu_step[2];
	int cpu_unknown, cpu_back, time_back, bad_stack;
};

static int on_wall(void *ctx, const struct bpf_engine_sample *r)
{
	struct wseen *s = ctx;
	int k = -1;
	for (int i = 0; i < 2; i++)
		if ((pid_t)r->tid == s->tids[i])
			k = i;
	if (k < 0) {
		s->other++;
		return 0;
	}
	if (r->cpu_ns == STROBE_BPF_NO_CPU_TIME) {
		s->cpu_unknown++;
	} else {
		if (r->cpu_ns < s->last_cpu[k])
			s->cpu_back++;
		else if (r->flags & STROBE_BPF_SWITCH && s->last_cpu[k] &&
			 r->cpu_ns - s->last_cpu[k] > s->max_cpu_step[k])
			s->max_cpu_step[k] = r->cpu_ns - s->last_cpu[k];
		s->last_cpu[k] = r->cpu_ns;
	}
	if (r->time_ns < s->last_time[k])
		s->time_back++;
	s->last_time[k] = r->time_ns;
	if (!(r->flags & STROBE_BPF_SWITCH)) {
		s->samples[k]++;
		return 0;
	}
	s->switches[k]++;
	bool ok = r->nframes == (uint32_t)wchain.n && r->flags == STROBE_BPF_SWITCH &&
		  r->tstate == (uint64_t)(uintptr_t)wchain.tstate;
	for (uint32_t i = 0; ok && i < r->nframes; i++)
		ok = bpf_engine_frame_addr(r, i) == (uint64_t)(uintptr_t)wchain.frames[i] &&
		     memcmp(bpf_engine_frame_head(r, i), wchain.frames[i], HEAD) == 0;
	if (ok)
		s->good_switches[k]++;
	else
		s->bad_stack++;
	return 0;
}

/* A sleeping thread's switches come with its whole stack and its CPU time
 * (which hardly moves between them); a thread whose switches were not
 * asked for gives none; a thread that ends says so at its last switch. */
TEST(switches)
{
	build(&wchain, 4, 0);
	wsh = mmap(NULL, sizeof(*wsh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(wsh != MAP_FAILED);
	pid_t child = fork();
	if (child == 0) {
		pthread_t th[2];
		pthread_create(&th[0], NULL, w_sleep, NULL);
		pthread_create(&th[1], NULL, w_spin, NULL);
		for (;;)
			pause();
		_exit(0);
	}
	CHECK(child > 0);
	struct wseen s;
	memset(&s, 0, sizeof(s));
	uint64_t end = clock_now_ns() + 5000000000ULL;
	for (int k = 0; k < 2; k++) {
		while (!atomic_load(&wsh->tids[k]) && clock_now_ns() < end)
			clock_sleep_until(clock_now_ns() + 1000000ULL);
		s.tids[k] = atomic_load(&wsh->tids[k]);
		CHECK(s.tids[k] > 0);
	}
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)child);
	CHECK_EQ_INT(stat(path, &st), 0);
	struct strobe_bpf_config cfg = {
		.ts_frame = TS_FRAME,
		.frame_deref = STROBE_BPF_ABSENT,
		.back = BACK,
		.head_size = HEAD,
		.max_frames = 64,
		.ns_tgid = (uint32_t)child, /* the same namespace as ours */
		.ns_dev = (uint64_t)st.st_dev,
		.ns_ino = (uint64_t)st.st_ino,
	};
	struct bpf_engine *be;
	struct errmsg e = { "" };
	int rc = bpf_engine_open(&be, &cfg, &e);
	if (rc == ERR_PERM) {
		printf("tests/unit/test_bpf.c: switches skipped (no CAP_BPF/CAP_PERFMON)\n");
		goto out;
	}
	CHECK_EQ_INT(rc, 0);
	if (rc)
		goto out;
	rc = bpf_engine_switches(be, &e);
	CHECK_EQ_INT(rc, 0);
	if (rc) {
		fprintf(stderr, "%s\n", e.text);
		bpf_engine_close(be);
		goto out;
	}
	for (int k = 0; k < 2; k++) {
		CHECK_EQ_INT(bpf_engine_set_thread(be, s.tids[k], (uint64_t)(uintptr_t)wchain.tstate), 0);
		CHECK_EQ_INT(bpf_engine_watch(be, s.tids[k], 1000000, &e), 0);
	}
	/* the sleeper's switches, not the spinner's */
	CHECK_EQ_INT(bpf_engine_watch_switches(be, s.tids[0], (uint32_t)s.tids[0]), 0);
	uint64_t bad = 0;
	end = clock_now_ns() + 500000000ULL;
	while (clock_now_ns() < end) {
		clock_sleep_until(clock_now_ns() + 10000000ULL);
		CHECK_EQ_INT(bpf_engine_drain(be, on_wall, &s, &bad), 0);
	}
	uint64_t c0 = 0, c1 = 0;
	CHECK_EQ_INT(bpf_engine_cpu_time(be, s.tids[0], &c0), 0);
	CHECK_EQ_INT(bpf_engine_cpu_time(be, s.tids[1], &c1), 0);
	CHECK_EQ_INT((int)bad, 0);
	/* ~25 naps of 20 ms in 0.5 s */
	CHECK(s.switches[0] >= 10);
	CHECK_EQ_INT(s.good_switches[0], s.switches[0]);
	CHECK_EQ_INT(s.bad_stack, 0);
	CHECK_EQ_INT(s.switches[1], 0);
	CHECK(s.samples[1] >= 50);
	CHECK_EQ_INT(s.cpu_unknown, 0);
	CHECK_EQ_INT(s.cpu_back, 0);
	CHECK_EQ_INT(s.time_back, 0);
	/* the sleeper runs microseconds between its naps; the spinner's
	 * CPU time is most of the wall time; user space reads the same */
	CHECK(s.max_cpu_step[0] < 5000000);
	CHECK(c0 >= s.last_cpu[0] && c0 < 100000000);
	CHECK(c1 >= s.last_cpu[1] && c1 > 100000000);
	bpf_engine_close(be);
out:
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	free(wchain.frames);
	munmap(wsh, sizeof(*wsh));
}

int main(void)
{
	RUN(chains);
	RUN(switches);
	return harness_done();
}
