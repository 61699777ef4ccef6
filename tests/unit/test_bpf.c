/* test_bpf.c - the in-kernel sampler (src/bpf/) against a forked child
 * whose memory the test controls: made-up thread states and frame chains
 * (no Python), built before the fork so both sides know every address.
 * Three spinning threads: a short chain (copied whole, heads byte for
 * byte), a chain of 100 frames (whole in two records put together, or cut
 * and marked truncated at a bound of 64 or 90),
 * a chain whose link points to unmapped memory (marked as a failed read,
 * the frames before it kept); then the two-step start of 3.11-3.12 (the
 * thread state points to a struct holding the frame).  Then code object
 * copies (code_copies): a made-up 3.12 code object is not copied while
 * known with its frame's globals, copied whole (head, names, line table)
 * once forgotten, and after the child unmaps it, the code cache resolves
 * it through an overlay of the copies taken before (the live read
 * fails).  Needs CAP_BPF and CAP_PERFMON: skipped without them. */
#include "harness.h"

#include "base/clock.h"
#include "base/error.h"
#include "base/intern.h"
#include "bpf/engine.h"
#include "py/code.h"
#include "py/layout.h"
#include "py/runtime.h"
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

/* ---- code object copies ------------------------------------------------ */

enum { C_CODE = 0x100, C_FILE = 0x800, C_QUAL = 0x900, C_NAME = 0xa00, C_TABLE = 0xb00,
       C_IMAGE = 0x2000 };
#define C_GLOBALS 0x5a5a0000ull

struct code_child {
	atomic_int tid;
	atomic_int unmap, unmapped;
};

static void put_str(unsigned char *img, const struct py_layout *l, size_t at, const char *s)
{
	uint32_t st = (1u << l->u_kind_shift) | (1u << l->u_compact_shift) | (1u << l->u_ascii_shift);
	memcpy(img + at + l->u_state, &st, 4);
	put_u64(img + at + l->u_length, strlen(s));
	memcpy(img + at + l->u_ascii_data, s, strlen(s) + 1);
}

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
	static unsigned char frame[STROBE_BPF_HEAD_MAX], tstate[64];
	memset(frame, 0, sizeof(frame));
	put_u64(frame + l->if_executable, base + C_CODE);
	put_u64(frame + l->if_globals, C_GLOBALS);
	frame[l->if_owner] = l->owner_thread;
	put_u64(tstate + TS_FRAME, (uint64_t)(uintptr_t)frame);
	struct code_child *ch = mmap(NULL, sizeof(*ch), PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(ch != MAP_FAILED);
	pid_t child = fork();
	if (child == 0) {
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
	/* known with other globals (another code object there, maybe):
	 * copied, once a sample */
	CHECK_EQ_INT(bpf_engine_know_code(be, base + C_CODE, C_GLOBALS + 8), 0);
	s.samples = 0;
	drain_until(be, &s, 20);
	CHECK(s.copies >= 20 && s.copies <= s.samples + 1);
	CHECK_EQ_INT(s.empty_copies, 0);
	/* forgotten: copied; the child unmaps the code object before the
	 * samples are decoded */
	bpf_engine_forget_code(be, base + C_CODE);
	CHECK_EQ_INT(bpf_engine_know_code(be, base + C_CODE, C_GLOBALS), 0);
	uint64_t bad = 0;
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
	RUN(code_copies);
	return harness_done();
}
