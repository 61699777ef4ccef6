/* test_bpf.c - the in-kernel sampler (src/bpf/) against a forked child
 * whose memory the test controls: made-up thread states and frame chains
 * (no Python), built before the fork so both sides know every address.
 * Three spinning threads: a short chain (copied whole, heads byte for
 * byte), a chain of 100 frames (whole in two records put together, or cut
 * and marked truncated at a bound of 64 or 90),
 * a chain whose link points to unmapped memory (marked as a failed read,
 * the frames before it kept); then the two-step start of 3.11-3.12 (the
 * thread state points to a struct holding the frame); then the same
 * chains laid out as 3.11+'s data stack (callers below, in a chunk the
 * thread state names; one frame outside it), copied by windows of 512
 * bytes and of the largest size.  Then the thread
 * status the program reads (GIL held or not, waiting for it, exception
 * raised, handled or none, collector running or not, 3.15's collection
 * start frame) on made-up interpreter states laid out as 3.8, 3.12 and
 * 3.15 lay them out, with the configuration strobe makes from those
 * versions' layouts (sampler_bpf_config) in the all mode and in cpu mode
 * (where the GIL is looked at only while the collector runs), and which
 * thread tears its interpreter down.  Wall mode's sched_switch
 * program: a sleeping thread's switches, its stack whole and its CPU
 * time; none for a thread not asked for.  Code object copies
 * (code_copies): a made-up 3.12 code object is not copied while known
 * with its frame's globals, copied whole (head, names, line table) once
 * forgotten, and after the child unmaps it, the code cache resolves it
 * through an overlay of the copies taken before (the live read fails).
 * Needs CAP_BPF and CAP_PERFMON: skipped without them. */
#include "harness.h"
#include "made_up.h"

#include "base/clock.h"
#include "base/error.h"
#include "bpf/engine.h"
#include "base/intern.h"
#include "model/sample.h"
#include "py/code.h"
#include "py/layout.h"
#include "py/runtime.h"
#include "py/walk.h"
#include "process/mem.h"
#include "sampler.h"

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
#define TS_CHUNK 32    /* thread state -> its data stack chunk (windows) */
#define TS_TOP 40      /* thread state -> the chunk's top */
#define CHUNK_DATA 32  /* chunk -> its first frame */
#define CHUNK_SIZE (64 << 10)
#define DEREF 8        /* the "cframe"'s frame pointer */
#define BACK 16        /* frame -> caller */
#define HEAD 48        /* bytes per frame */
#define LONG_CHAIN 100

struct chain {
	unsigned char tstate[64];
	unsigned char cframe[16];
	unsigned char tstate2[64]; /* its TS_FRAME word points to cframe */
	unsigned char (*frames)[HEAD];
	unsigned char *at[LONG_CHAIN]; /* frame i's address, innermost first */
	unsigned char *chunk;          /* stacks: the data stack chunk */
	unsigned char *apart;          /* stacks: a frame outside it */
	int n;
};

static struct chain chains[3], stacks[3];
static uint64_t unmapped;

struct shared {
	atomic_int tids[3];
};
static struct shared *sh;

static void build(struct chain *c, int n, uint64_t last_back)
{
	c->n = n;
	c->frames = calloc((size_t)n, HEAD);
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < HEAD; j++)
			c->frames[i][j] = (unsigned char)(i * 7 + j + n);
		put_u64(c->frames[i] + BACK, i + 1 < n ? (uint64_t)(uintptr_t)c->frames[i + 1] : last_back);
		c->at[i] = c->frames[i];
	}
	memset(c->tstate, 0xab, sizeof(c->tstate));
	put_u64(c->tstate + TS_FRAME, (uint64_t)(uintptr_t)c->frames[0]);
	memset(c->cframe, 0xcd, sizeof(c->cframe));
	put_u64(c->cframe + DEREF, (uint64_t)(uintptr_t)c->frames[0]);
	memset(c->tstate2, 0, sizeof(c->tstate2));
	put_u64(c->tstate2 + TS_FRAME, (uint64_t)(uintptr_t)c->cframe);
}

/* A chain laid out as 3.11+'s data stack: frames one after the other in a
 * chunk (page-aligned, as CPython's), the outermost first, each followed
 * by some bytes of its own (locals), the innermost ending at the top; the
 * frame at `apart` (if >= 0) elsewhere, as a generator's is. */
static void build_stack(struct chain *c, int n, uint64_t last_back, int apart)
{
	c->n = n;
	c->chunk = mmap(NULL, CHUNK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(c->chunk != MAP_FAILED);
	c->apart = calloc(1, HEAD);
	memset(c->chunk, 0x5a, CHUNK_SIZE);
	size_t off = CHUNK_DATA;
	for (int i = n - 1; i >= 0; i--) {
		if (i == apart) {
			c->at[i] = c->apart;
			continue;
		}
		c->at[i] = c->chunk + off;
		off += HEAD + (size_t)((i * 37) % 200 / 8 * 8);
		CHECK(off < CHUNK_SIZE);
	}
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < HEAD; j++)
			c->at[i][j] = (unsigned char)(i * 5 + j + n);
		put_u64(c->at[i] + BACK, i + 1 < n ? (uint64_t)(uintptr_t)c->at[i + 1] : last_back);
	}
	memset(c->tstate, 0xab, sizeof(c->tstate));
	put_u64(c->tstate + TS_FRAME, (uint64_t)(uintptr_t)c->at[0]);
	put_u64(c->tstate + TS_CHUNK, (uint64_t)(uintptr_t)c->chunk);
	put_u64(c->tstate + TS_TOP, (uint64_t)(uintptr_t)(c->chunk + off));
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
	const struct chain *set; /* chains, or stacks */
	uint64_t windows;        /* data stack windows the program read */
};

/* Which of the n threads a record is of (-1: none). */
static int thread_of(const struct bpf_engine_sample *r, const pid_t *tids, int n)
{
	for (int i = 0; i < n; i++)
		if ((pid_t)r->tid == tids[i])
			return i;
	return -1;
}

static int on_sample(void *ctx, const struct bpf_engine_sample *r)
{
	struct seen *s = ctx;
	int k = thread_of(r, s->tids, 3);
	if (k < 0) {
		s->other++;
		return 0;
	}
	s->records[k]++;
	const struct chain *c = &(s->set ? s->set : chains)[k];
	const unsigned char *ts = s->deref ? c->tstate2 : c->tstate;
	uint32_t hs = s->hs ? s->hs : HEAD;
	bool ok = r->head_size == hs && r->tstate == (uint64_t)(uintptr_t)ts;
	ok = ok && r->nframes == s->want_n[k] && r->flags == s->want_flags[k];
	ok = ok && r->stride == 8 + ((hs + 7) & ~7u);
	for (uint32_t i = 0; ok && i < r->nframes; i++)
		ok = bpf_engine_frame_addr(r, i) == (uint64_t)(uintptr_t)c->at[i] &&
		     memcmp(bpf_engine_frame_head(r, i), c->at[i], hs) == 0;
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
		const struct chain *c = &(s->set ? s->set : chains)[k];
		const unsigned char *ts = deref ? c->tstate2 : c->tstate;
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
	s->windows = st.windows;
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
	build_stack(&stacks[0], 5, 0, -1);
	build_stack(&stacks[1], LONG_CHAIN, 0, 60);
	build_stack(&stacks[2], 3, unmapped, -1);
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
		.ts_len = sizeof(chains[0].tstate),
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
		cfg.max_frames = 64;
		cfg.window = STROBE_BPF_WINDOW_MAX + 1;
		CHECK_EQ_INT(bpf_engine_open(&be, &cfg, &e), ERR_INVAL);
		cfg.window = 0;
		cfg.ts_len = STROBE_BPF_TS_MAX + 1;
		CHECK_EQ_INT(bpf_engine_open(&be, &cfg, &e), ERR_INVAL);
		/* a field the program loads outside the thread state's copy */
		cfg.ts_len = TS_FRAME + 4;
		CHECK_EQ_INT(bpf_engine_open(&be, &cfg, &e), ERR_INVAL);
		cfg.ts_len = sizeof(chains[0].tstate);
		cfg.window = 512;
		cfg.ts_chunk = sizeof(chains[0].tstate) - 4;
		CHECK_EQ_INT(bpf_engine_open(&be, &cfg, &e), ERR_INVAL);

		/* 3.11+'s data stack: the thread state copied whole, the
		 * chunk's frames by windows of 512 bytes (the long chain in
		 * many, one frame of it outside the chunk, read alone), the
		 * same heads byte for byte; then windows as large as allowed */
		for (int big = 0; big < 2; big++) {
			struct seen s4;
			memset(&s4, 0, sizeof(s4));
			memcpy(s4.tids, s.tids, sizeof(s.tids));
			memcpy(s4.want_n, nall, sizeof(nall));
			memcpy(s4.want_flags, fall, sizeof(fall));
			s4.set = stacks;
			struct strobe_bpf_config wc = {
				.ts_frame = TS_FRAME,
				.frame_deref = STROBE_BPF_ABSENT,
				.back = BACK,
				.head_size = HEAD,
				.max_frames = STROBE_BPF_MAX_FRAMES * STROBE_BPF_MAX_PARTS,
				.window = big ? STROBE_BPF_WINDOW_MAX : 512,
				.ts_len = sizeof(stacks[0].tstate),
				.ts_chunk = TS_CHUNK,
				.ts_top = TS_TOP,
				.chunk_data = CHUNK_DATA,
			};
			CHECK_EQ_INT(sample(child, &wc, &s4, false), 0);
			for (int k = 0; k < 3; k++) {
				CHECK(s4.records[k] >= 20);
				CHECK_EQ_INT(s4.good[k], s4.records[k]);
			}
			/* 512 bytes: the long chain's 99 frames in the chunk
			 * (~150 bytes each) take tens of windows */
			int records = s4.records[0] + s4.records[1] + s4.records[2];
			CHECK(s4.windows >= (uint64_t)records);
			if (!big)
				CHECK(s4.windows >= (uint64_t)s4.records[1] * 20);
		}
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	for (int k = 0; k < 3; k++) {
		free(chains[k].frames);
		munmap(stacks[k].chunk, CHUNK_SIZE);
		free(stacks[k].apart);
	}
	munmap(sh, sizeof(*sh));
}

/* ---- thread status ------------------------------------------------------ */

#define NT 4            /* threads of made-up states */
#define REGION (1u << 20)

/* One MAP_SHARED region (the parent changes what the child's threads
 * show between rounds): offsets of its parts. */
enum {
	AT_RUNTIME = 0,            /* 64 KiB */
	AT_INTERP = 64 << 10,      /* 64 KiB */
	AT_GIL = 128 << 10,
	AT_NONE = 132 << 10,
	AT_OBJ = 133 << 10,
	AT_ITEMS = 134 << 10,      /* 256 bytes each */
	AT_TSTATE = 256 << 10,     /* 16 KiB each */
	AT_CFRAME = 384 << 10,     /* 256 bytes each */
	AT_FRAME = 400 << 10,      /* 1 KiB each */
	AT_TIDS = 512 << 10,
};

static unsigned char *region;

static uint64_t addr_at(uint32_t off)
{
	return (uint64_t)(uintptr_t)(region + off);
}

/* Write v (width bytes) at off of the part at base, within limit bytes. */
static void put_at(uint32_t base, uint32_t off, uint32_t limit, uint64_t v, int width)
{
	CHECK(off != PY_ABSENT && off + (uint32_t)width <= limit);
	if (off == PY_ABSENT || off + (uint32_t)width > limit)
		return;
	memcpy(region + base + off, &v, (size_t)width);
}

static void *status_spin(void *arg)
{
	int k = (int)(intptr_t)arg;
	atomic_store((atomic_int *)(region + AT_TIDS) + k, (int)syscall(SYS_gettid));
	volatile unsigned long x = 0;
	for (;;)
		x++;
	return NULL;
}

struct status_seen {
	pid_t tids[NT];
	uint32_t want[NT];
	uint64_t want_gc_frame[NT];
	int records[NT], good[NT];
};

static int on_status(void *ctx, const struct bpf_engine_sample *r)
{
	struct status_seen *s = ctx;
	int k = thread_of(r, s->tids, NT);
	if (k < 0)
		return 0;
	s->records[k]++;
	bool ok = r->status == s->want[k] && r->gc_frame == s->want_gc_frame[k] &&
		  r->nframes == 1 && !(r->flags & STROBE_BPF_READ_FAILED) &&
		  bpf_engine_frame_addr(r, 0) == addr_at(AT_FRAME + 1024u * k);
	if (ok)
		s->good[k]++;
	else if (getenv("TEST_BPF_DEBUG"))
		fprintf(stderr, "k=%d status=%#x want %#x gc_frame=%#llx flags=%#x n=%u\n", k,
			r->status, s->want[k], (unsigned long long)r->gc_frame, r->flags, r->nframes);
	return 0;
}

/* Who holds the GIL (-1: nobody, the lock free), as the version keeps it. */
static void set_gil(const struct py_layout *l, int holder)
{
	for (int k = 0; k < NT; k++) {
		uint32_t ts = AT_TSTATE + (16u << 10) * k;
		if (l->gil_model == PY_GIL_THREAD)
			put_at(ts, l->ts_holds_gil, 16 << 10,
			       k == holder ? 1ull << l->ts_holds_gil_bit : 0, 4);
	}
	uint64_t who = holder >= 0 ? addr_at(AT_TSTATE + (16u << 10) * holder) : 0;
	if (l->gil_model == PY_GIL_RUNTIME)
		put_at(AT_RUNTIME, l->rt_tstate_current, 64 << 10, who, 8);
	if (l->gil_model == PY_GIL_INTERP) {
		put_at(AT_GIL, l->gil_locked, 4096, holder >= 0, 4);
		/* released: last_holder stays, only locked says it is free */
		put_at(AT_GIL, l->gil_last_holder, 4096,
		       holder >= 0 ? who : addr_at(AT_TSTATE), 8);
	}
}

/* The collector runs (started in thread k's frame, 3.15+) or not (-1). */
static void set_gc(const struct py_layout *l, int k)
{
	uint32_t base = l->rt_gc != PY_ABSENT ? AT_RUNTIME + l->rt_gc : AT_INTERP + l->is_gc;
	put_at(base, l->gc_collecting, 64 << 10, k >= 0, 4);
	if (l->gc_frame != PY_ABSENT)
		put_at(base, l->gc_frame, 64 << 10, k >= 0 ? addr_at(AT_FRAME + 1024u * k) : 0, 8);
}

/* Thread k tears its interpreter down (or nobody, -1). */
static void set_fin(const struct py_layout *l, int k)
{
	uint64_t who = k >= 0 ? addr_at(AT_TSTATE + (16u << 10) * k) : 0;
	if (l->is_finalizing != PY_ABSENT)
		put_at(AT_INTERP, l->is_finalizing, 64 << 10, who, 8);
	else
		put_at(AT_RUNTIME, l->rt_finalizing, 64 << 10, who, 8);
}

/* Lay the made-up states out as version 3.minor does: thread 0 plain,
 * 1 raising (current exception set), 2 handling one below an empty item,
 * 3 with an empty (None) item and waiting for the GIL (3.15+). */
static void build_states(const struct py_layout *l, const struct strobe_bpf_config *c)
{
	memset(region, 0, AT_TIDS);
	uint32_t test = l->exc_type != PY_ABSENT ? l->exc_type : l->exc_value;
	for (int k = 0; k < NT; k++) {
		uint32_t ts = AT_TSTATE + (16u << 10) * k, fr = AT_FRAME + 1024u * k;
		uint32_t item = AT_ITEMS + 256u * k;
		put_at(ts, l->ts_interp, 16 << 10, addr_at(AT_INTERP), 8);
		if (c->frame_deref == STROBE_BPF_ABSENT) {
			put_at(ts, c->ts_frame, 16 << 10, addr_at(fr), 8);
		} else {
			put_at(ts, c->ts_frame, 16 << 10, addr_at(AT_CFRAME + 256u * k), 8);
			put_at(AT_CFRAME + 256u * k, c->frame_deref, 256, addr_at(fr), 8);
		}
		put_at(ts, l->ts_exc_info, 16 << 10, addr_at(item), 8);
		if (k == 1)
			put_at(ts, l->ts_current_exception, 16 << 10, addr_at(AT_OBJ), 8);
		if (k == 2) {
			/* the top item empty (None) over one holding an exception */
			put_at(item, test, 256, addr_at(AT_NONE), 8);
			put_at(item, l->exc_previous, 256, addr_at(AT_ITEMS + 256u * NT), 8);
			put_at(AT_ITEMS + 256u * NT, test, 256, addr_at(AT_OBJ), 8);
		}
		if (k == 3) {
			put_at(item, test, 256, addr_at(AT_NONE), 8); /* no predecessor: none */
			if (l->ts_gil_requested != PY_ABSENT)
				put_at(ts, l->ts_gil_requested, 16 << 10, 1, 4);
		}
	}
	put_at(AT_INTERP, l->is_gil_ptr == PY_ABSENT ? 0 : l->is_gil_ptr, 64 << 10,
	       l->is_gil_ptr == PY_ABSENT ? 0 : addr_at(AT_GIL), 8);
}

/* The status the reader's rules give thread k with holder holding the GIL
 * and the collector running from gc_k's frame (or not, -1), in the all
 * mode (every bit) or cpu mode (no exception; the GIL, when it costs
 * reads, only while the collector runs: <GC> goes on its holder). */
static uint32_t expected(const struct py_layout *l, int k, int holder, int gc_k, uint64_t *gc_frame,
			 int mode, int fin_k)
{
	uint32_t st = k == fin_k ? STROBE_BPF_ST_FINALIZING : 0;
	bool all = mode == PY_MODE_ALL;
	bool gil = all || l->gil_model == PY_GIL_THREAD || gc_k >= 0;
	if (gil && k == holder)
		st |= STROBE_BPF_ST_GIL;
	else if (gil && k == 3 && l->ts_gil_requested != PY_ABSENT)
		st |= STROBE_BPF_ST_GIL_REQUESTED;
	if (all && (k == 1 || k == 2))
		st |= STROBE_BPF_ST_EXCEPTION;
	*gc_frame = 0;
	if (gc_k >= 0) {
		st |= STROBE_BPF_ST_GC;
		if (l->gc_frame != PY_ABSENT)
			*gc_frame = addr_at(AT_FRAME + 1024u * gc_k);
	}
	return st;
}

/* One version: its states, three rounds (the GIL with thread 0, the
 * collector off; with thread 1, the collector on from thread 1's frame;
 * the GIL free).  Returns ERR_PERM without the capabilities. */
static int status_version(int minor, const pid_t *tids, int mode)
{
	const struct py_layout *layout = py_layout_find(3, minor);
	CHECK(layout != NULL);
	if (!layout)
		return 0;
	struct py_runtime rt;
	memset(&rt, 0, sizeof(rt));
	rt.pid = getpid();
	rt.major = 3;
	rt.minor = minor;
	rt.layout = *layout;
	rt.runtime_addr = addr_at(AT_RUNTIME);
	rt.none_addr = addr_at(AT_NONE);
	const struct py_layout *l = &rt.layout;
	struct mem_source mem;
	memset(&mem, 0, sizeof(mem));
	struct strtab strings;
	strtab_init(&strings);
	struct py_walker w;
	struct py_walk_config wc = { .all_threads = true, .mode = mode, .gc = true };
	py_walker_init(&w, &rt, &mem, &strings, &wc);
	struct strobe_bpf_config cfg;
	CHECK_EQ_INT(sampler_bpf_config(&w, &cfg), 0);
	uint32_t always = STROBE_BPF_ST_GC | STROBE_BPF_ST_FINALIZING;
	if (mode == PY_MODE_ALL)
		CHECK(cfg.want == (STROBE_BPF_ST_GIL | STROBE_BPF_ST_EXCEPTION | always));
	else if (l->gil_model == PY_GIL_THREAD)
		CHECK(cfg.want == (STROBE_BPF_ST_GIL | always));
	else
		CHECK(cfg.want == (STROBE_BPF_WANT_GIL_IF_GC | always));
	/* the thread state in one copy */
	CHECK(cfg.ts_len > 0 && cfg.ts_len == w.ts_read);
	CHECK(cfg.head_size <= 1024);
	build_states(l, &cfg);
	struct bpf_engine *be;
	struct errmsg e = { "" };
	int rc = bpf_engine_open(&be, &cfg, &e);
	if (rc) {
		py_walker_release(&w);
		strtab_release(&strings);
		return rc;
	}
	for (int k = 0; k < NT; k++) {
		CHECK_EQ_INT(bpf_engine_set_thread(be, tids[k], addr_at(AT_TSTATE + (16u << 10) * k)), 0);
		CHECK_EQ_INT(bpf_engine_watch(be, tids[k], 1000000, &e), 0);
	}
	/* holder, gc, the thread that shuts down */
	static const int rounds[3][3] = { { 0, -1, -1 }, { 1, 1, 1 }, { -1, -1, 3 } };
	for (int round = 0; round < 3; round++) {
		int holder = rounds[round][0], gc_k = rounds[round][1], fin_k = rounds[round][2];
		set_gil(l, holder);
		set_gc(l, gc_k);
		set_fin(l, fin_k);
		uint64_t bad = 0;
		struct status_seen s;
		memset(&s, 0, sizeof(s));
		/* what was sampled before the change */
		CHECK_EQ_INT(bpf_engine_drain(be, on_status, &s, &bad), 0);
		memset(&s, 0, sizeof(s));
		memcpy(s.tids, tids, sizeof(s.tids));
		for (int k = 0; k < NT; k++)
			s.want[k] = expected(l, k, holder, gc_k, &s.want_gc_frame[k], mode, fin_k);
		uint64_t end = clock_now_ns() + 5000000000ULL;
		bool enough = false;
		while (!enough && clock_now_ns() < end) {
			clock_sleep_until(clock_now_ns() + 10000000ULL);
			CHECK_EQ_INT(bpf_engine_drain(be, on_status, &s, &bad), 0);
			enough = true;
			for (int k = 0; k < NT; k++)
				enough = enough && s.records[k] >= 10;
		}
		CHECK_EQ_INT((int)bad, 0);
		for (int k = 0; k < NT; k++) {
			CHECK(s.records[k] >= 10);
			if (s.good[k] != s.records[k])
				fprintf(stderr, "3.%d mode %d round %d thread %d: %d of %d records as "
					"expected (status %#x)\n", minor, mode, round, k, s.good[k],
					s.records[k], s.want[k]);
			CHECK_EQ_INT(s.good[k], s.records[k]);
		}
	}
	bpf_engine_close(be);
	py_walker_release(&w);
	strtab_release(&strings);
	return 0;
}

TEST(status)
{
	/* the bits as the reader's STATUS_* */
	CHECK_EQ_INT((int)sampler_bpf_status(0), 0);
	CHECK_EQ_INT((int)sampler_bpf_status(STROBE_BPF_ST_GIL), STATUS_HAS_GIL);
	CHECK_EQ_INT((int)sampler_bpf_status(STROBE_BPF_ST_GIL_REQUESTED), STATUS_GIL_REQUESTED);
	CHECK_EQ_INT((int)sampler_bpf_status(STROBE_BPF_ST_GIL | STROBE_BPF_ST_GIL_REQUESTED),
		     STATUS_HAS_GIL);
	CHECK_EQ_INT((int)sampler_bpf_status(STROBE_BPF_ST_EXCEPTION), STATUS_HAS_EXCEPTION);
	CHECK_EQ_INT((int)sampler_bpf_status(STROBE_BPF_ST_GC), 0);
	CHECK_EQ_INT((int)sampler_bpf_status(STROBE_BPF_ST_GIL | STROBE_BPF_ST_EXCEPTION |
					     STROBE_BPF_ST_GC),
		     STATUS_HAS_GIL | STATUS_HAS_EXCEPTION);
	/* the modes' rule, shared with the reader */
	CHECK(py_mode_keeps(PY_MODE_GIL, STATUS_HAS_GIL | STATUS_ON_CPU));
	CHECK(!py_mode_keeps(PY_MODE_GIL, STATUS_ON_CPU | STATUS_GIL_REQUESTED));
	CHECK(py_mode_keeps(PY_MODE_EXCEPTION, STATUS_HAS_EXCEPTION));
	CHECK(!py_mode_keeps(PY_MODE_EXCEPTION, STATUS_HAS_GIL | STATUS_ON_CPU));
	CHECK(py_mode_keeps(PY_MODE_CPU, STATUS_ON_CPU) && !py_mode_keeps(PY_MODE_CPU, 0));
	CHECK(py_mode_keeps(PY_MODE_WALL, 0));

	region = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(region != MAP_FAILED);
	if (region == MAP_FAILED)
		return;
	atomic_int *tid_at = (atomic_int *)(region + AT_TIDS);
	pid_t child = fork();
	if (child == 0) {
		/* a shared mapping's pages come to a forked child unmapped, and
		 * the program's reads cannot fault them in: touch each */
		for (uint32_t off = 0; off < REGION; off += 4096)
			(void)*(volatile unsigned char *)(region + off);
		pthread_t th[NT];
		for (int k = 0; k < NT; k++)
			pthread_create(&th[k], NULL, status_spin, (void *)(intptr_t)k);
		pthread_join(th[0], NULL);
		_exit(0);
	}
	CHECK(child > 0);
	pid_t tids[NT];
	uint64_t end = clock_now_ns() + 5000000000ULL;
	for (int k = 0; k < NT; k++) {
		while (!atomic_load(&tid_at[k]) && clock_now_ns() < end)
			clock_sleep_until(clock_now_ns() + 1000000ULL);
		tids[k] = atomic_load(&tid_at[k]);
		CHECK(tids[k] > 0);
	}
	/* frame objects (3.8), the cframe's two steps and the interpreter's
	 * lock (3.12), the thread's own bit and the collection's start frame
	 * (3.15) */
	static const int minors[] = { 8, 12, 15 };
	for (size_t i = 0; i < 2 * sizeof(minors) / sizeof(minors[0]); i++) {
		int rc = status_version(minors[i / 2], tids, i % 2 ? PY_MODE_CPU : PY_MODE_ALL);
		if (rc == ERR_PERM) {
			printf("tests/unit/test_bpf.c: status skipped (no CAP_BPF/CAP_PERFMON)\n");
			break;
		}
		CHECK_EQ_INT(rc, 0);
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	munmap(region, REGION);
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
	int k = thread_of(r, s->tids, 2);
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
		.ts_len = sizeof(chains[0].tstate),
		.frame_deref = STROBE_BPF_ABSENT,
		.back = BACK,
		.head_size = HEAD,
		.max_frames = 64,
		.want = STROBE_BPF_WANT_CPU_TIME,
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

/* ---- code object copies ------------------------------------------------ */

enum { C_CODE = 0x100, C_FILE = 0x800, C_QUAL = 0x900, C_NAME = 0xa00, C_TABLE = 0xb00,
       C_IMAGE = 0x2000 };
#define C_GLOBALS 0x5a5a0000ull

struct code_child {
	atomic_int tid;
	atomic_int unmap, unmapped;
	unsigned char frame[STROBE_BPF_HEAD_MAX]; /* the child's one frame (the parent flips its owner) */
};

struct code_seen {
	uint64_t code;
	int samples, copies, other_copies, bad_copies, empty_copies;
	/* the first sample's copies, kept (the overlay's ranges) */
	bool keep, kept_sample;
	unsigned char *bytes[4];
	uint64_t addr[4];
	size_t len[4];
	int n;
	const unsigned char *img; /* what the copies must hold */
	uintptr_t base;
};

static void on_code_copy(void *ctx, const struct bpf_engine_code *c)
{
	struct code_seen *s = ctx;
	if (c->code != s->code) {
		s->other_copies++;
		return;
	}
	if (c->head_len == 0) {
		s->empty_copies++; /* taken after the child unmapped it */
		return;
	}
	s->copies++;
	bool ok = c->head_len >= 64 &&
		  memcmp(c->head, s->img + C_CODE, c->head_len) == 0;
	for (int i = 0; ok && i < STROBE_BPF_BLOBS; i++)
		ok = c->blob[i].len > 0 && c->blob[i].addr >= s->base &&
		     c->blob[i].addr + c->blob[i].len <= s->base + C_IMAGE &&
		     memcmp(c->blob[i].bytes, s->img + (c->blob[i].addr - s->base), c->blob[i].len) == 0;
	if (!ok) {
		s->bad_copies++;
		return;
	}
	if (s->keep && !s->kept_sample && s->n == 0) {
		uint64_t a[4] = { c->code, c->blob[0].addr, c->blob[1].addr, c->blob[2].addr };
		const unsigned char *b[4] = { c->head, c->blob[0].bytes, c->blob[1].bytes, c->blob[2].bytes };
		size_t n[4] = { c->head_len, c->blob[0].len, c->blob[1].len, c->blob[2].len };
		for (int i = 0; i < 4; i++) {
			s->addr[i] = a[i];
			s->len[i] = n[i];
			s->bytes[i] = malloc(n[i]);
			memcpy(s->bytes[i], b[i], n[i]);
		}
		s->n = 4;
	}
}

static int on_code_sample(void *ctx, const struct bpf_engine_sample *r)
{
	struct code_seen *s = ctx;
	s->samples++;
	if (s->n)
		s->kept_sample = true;
	(void)r;
	return 0;
}

static void drain_until(struct bpf_engine *be, struct code_seen *s, int samples)
{
	uint64_t bad = 0, end = clock_now_ns() + 5000000000ULL;
	while (clock_now_ns() < end && s->samples < samples) {
		clock_sleep_until(clock_now_ns() + 10000000ULL);
		CHECK_EQ_INT(bpf_engine_drain(be, on_code_sample, s, &bad), 0);
	}
	CHECK_EQ_INT((int)bad, 0);
}

TEST(code_copies)
{
	const struct py_layout *l = py_layout_find(3, 12);
	CHECK(l != NULL);
	/* the code object, its names and line table in their own pages */
	unsigned char *img = mmap(NULL, C_IMAGE, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(img != MAP_FAILED);
	uintptr_t base = (uintptr_t)img;
	memset(img, 0, C_IMAGE);
	put_str(img, l, C_FILE, "copied.py");
	put_str(img, l, C_NAME, "fn");
	put_str(img, l, C_QUAL, "Copied.fn");
	put_u64(img + C_TABLE + l->ob_size, 3);
	memcpy(img + C_TABLE + l->b_sval, "\x01\x02\x03", 3);
	put_u64(img + C_CODE + l->co_filename, base + C_FILE);
	put_u64(img + C_CODE + l->co_name, base + C_NAME);
	put_u64(img + C_CODE + l->co_qualname, base + C_QUAL);
	put_u64(img + C_CODE + l->co_linetable, base + C_TABLE);
	uint32_t first = 41;
	memcpy(img + C_CODE + l->co_firstlineno, &first, 4);
	put_u64(img + C_CODE + l->ob_size, 4);
	/* one frame running it, and a thread state pointing to it */
	static unsigned char tstate[64];
	struct code_child *ch = mmap(NULL, sizeof(*ch), PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(ch != MAP_FAILED);
	unsigned char *frame = ch->frame;
	memset(frame, 0, sizeof(ch->frame));
	put_u64(frame + l->if_executable, base + C_CODE);
	put_u64(frame + l->if_globals, C_GLOBALS);
	frame[l->if_owner] = l->owner_thread;
	put_u64(tstate + TS_FRAME, (uint64_t)(uintptr_t)frame);
	pid_t child = fork();
	if (child == 0) {
		/* a shared mapping's page comes to a forked child unmapped, and
		 * the program's reads cannot fault it in */
		(void)*(volatile unsigned char *)ch->frame;
		atomic_store(&ch->tid, (int)syscall(SYS_gettid));
		for (volatile unsigned long x = 0;; x++)
			if (atomic_load(&ch->unmap) && !atomic_load(&ch->unmapped)) {
				munmap(img, C_IMAGE); /* the code object is gone */
				atomic_store(&ch->unmapped, 1);
			}
	}
	CHECK(child > 0);
	uint64_t end = clock_now_ns() + 5000000000ULL;
	while (!atomic_load(&ch->tid) && clock_now_ns() < end)
		clock_sleep_until(clock_now_ns() + 1000000ULL);
	pid_t tid = atomic_load(&ch->tid);

	/* the code cache a 3.12 walker would have over the child */
	static struct py_runtime rt;
	memset(&rt, 0, sizeof(rt));
	rt.major = 3;
	rt.minor = 12;
	rt.layout = *l;
	struct mem_source m;
	CHECK_EQ_INT(mem_open(&m, child, 0), 0);
	struct strtab strings;
	strtab_init(&strings);
	static struct py_code_cache cache;
	py_code_cache_init(&cache, &rt, &m, &strings);

	struct strobe_bpf_config cfg = {
		.ts_frame = TS_FRAME,
		.ts_len = sizeof(chains[0].tstate),
		.frame_deref = STROBE_BPF_ABSENT,
		.back = l->if_previous,
		.head_size = l->if_size,
		.max_frames = 64,
	};
	sampler_bpf_code_config(l, cache.sig_span, cfg.head_size, &cfg.code);
	CHECK(cfg.code.head >= l->co_size);
	struct bpf_engine *be;
	struct errmsg e = { "" };
	int rc = bpf_engine_open(&be, &cfg, &e);
	if (rc == ERR_PERM) {
		printf("tests/unit/test_bpf.c: code_copies skipped (no CAP_BPF/CAP_PERFMON)\n");
		goto out;
	}
	CHECK_EQ_INT(rc, 0);
	if (rc)
		goto out;
	struct code_seen s;
	memset(&s, 0, sizeof(s));
	s.code = base + C_CODE;
	s.img = img;
	s.base = base;
	bpf_engine_on_code(be, on_code_copy, &s);
	CHECK_EQ_INT(bpf_engine_set_thread(be, tid, (uint64_t)(uintptr_t)tstate), 0);
	/* known with its frame's globals: not copied */
	CHECK_EQ_INT(bpf_engine_know_code(be, base + C_CODE, C_GLOBALS), 0);
	CHECK_EQ_INT(bpf_engine_watch(be, tid, 1000000, &e), 0);
	drain_until(be, &s, 20);
	CHECK(s.samples >= 20);
	CHECK_EQ_INT(s.copies + s.empty_copies, 0);
	uint64_t bad = 0;
	/* known with other globals (another code object there, maybe):
	 * copied, once a sample */
	CHECK_EQ_INT(bpf_engine_know_code(be, base + C_CODE, C_GLOBALS + 8), 0);
	s.samples = 0;
	drain_until(be, &s, 20);
	CHECK(s.copies >= 20 && s.copies <= s.samples + 1);
	CHECK_EQ_INT(s.empty_copies, 0);
	/* the same frame as a C entry's (3.12+'s trampoline frame, owner
	 * CSTACK): never copied, nothing of it is resolved */
	CHECK(cfg.code.frame_owner == l->if_owner && cfg.code.owner_cstack == l->owner_cstack);
	frame[l->if_owner] = l->owner_cstack;
	CHECK_EQ_INT(bpf_engine_drain(be, on_code_sample, &s, &bad), 0);
	s.samples = s.copies = 0;
	drain_until(be, &s, 20);
	CHECK(s.samples >= 20);
	CHECK_EQ_INT(s.copies, 0);
	frame[l->if_owner] = l->owner_thread;
	CHECK_EQ_INT(bpf_engine_drain(be, on_code_sample, &s, &bad), 0);
	/* forgotten: copied; the child unmaps the code object before the
	 * samples are decoded */
	bpf_engine_forget_code(be, base + C_CODE);
	CHECK_EQ_INT(bpf_engine_know_code(be, base + C_CODE, C_GLOBALS), 0);
	CHECK_EQ_INT(bpf_engine_drain(be, on_code_sample, &s, &bad), 0);
	bpf_engine_forget_code(be, base + C_CODE);
	s.copies = s.samples = 0;
	s.keep = true;
	clock_sleep_until(clock_now_ns() + 50000000ULL);
	atomic_store(&ch->unmap, 1);
	while (!atomic_load(&ch->unmapped) && clock_now_ns() < end + 5000000000ULL)
		clock_sleep_until(clock_now_ns() + 1000000ULL);
	CHECK(atomic_load(&ch->unmapped));
	drain_until(be, &s, 1);
	CHECK(s.copies >= 1);
	CHECK_EQ_INT(s.bad_copies, 0);
	CHECK_EQ_INT(s.other_copies, 0);
	CHECK_EQ_INT(s.n, 4);
	/* live: gone */
	struct py_code *code;
	CHECK(py_code_get(&cache, base + C_CODE, C_GLOBALS, &code) < 0);
	/* through the copies: resolved as it was */
	struct mem_snapshot ov;
	mem_snapshot_init(&ov);
	int order[4] = { 0, 1, 2, 3 };
	for (int i = 0; i < 4; i++) /* ascending addresses */
		for (int j = i + 1; j < 4; j++)
			if (s.addr[order[j]] < s.addr[order[i]]) {
				int t = order[i];
				order[i] = order[j];
				order[j] = t;
			}
	for (int i = 0; i < s.n; i++)
		CHECK_EQ_INT(mem_snapshot_add(&ov, s.addr[order[i]], s.bytes[order[i]], s.len[order[i]]), 0);
	mem_snapshot_overlay(&m, &ov);
	CHECK_EQ_INT(py_code_get(&cache, base + C_CODE, C_GLOBALS, &code), 0);
	mem_snapshot_unoverlay(&m);
	size_t slen;
	if (code && !cache.fail) {
		CHECK(strcmp(strtab_get(&strings, code->file, &slen), "copied.py") == 0);
		CHECK(strcmp(strtab_get(&strings, code->func, &slen), "Copied.fn") == 0);
		CHECK_EQ_INT(code->firstlineno, 41);
		CHECK_EQ_INT((int)code->linetable_len, 3);
	}
	mem_snapshot_release(&ov);
	for (int i = 0; i < s.n; i++)
		free(s.bytes[i]);
	bpf_engine_close(be);
out:
	py_code_cache_release(&cache);
	strtab_release(&strings);
	mem_close(&m);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	munmap(img, C_IMAGE);
	munmap(ch, sizeof(*ch));
}

int main(void)
{
	RUN(chains);
	RUN(status);
	RUN(switches);
	RUN(code_copies);
	return harness_done();
}
