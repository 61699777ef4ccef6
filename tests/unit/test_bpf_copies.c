/* test_bpf_copies.c - the BPF engine's code object copies in user space
 * (src/sampler_bpf_copies.c), without the program: code records made here
 * the way the program makes them, of a made-up 3.11 code object in this
 * process's memory, which is then overwritten (the object freed and its
 * memory reused before the sample is decoded).  The code cache, reading
 * through the copies' overlay, must resolve it as it was: a name copied
 * at its exact size (the program's read of PYSTR_FIRST_READ bytes failed
 * near a page not present), and a line table whose copy starts inside the
 * file name's 256-byte copy (both seen in `hg log -p`: the name's read ran
 * past its copy to the freed memory, the line table's copy was left out).
 * Then which copies a thread's overlay takes, and the known set: a code
 * object the cache holds is told known once per globals, forgotten on
 * request. */
#include "harness.h"
#include "made_up.h"

#include "base/error.h"
#include "base/hash.h"
#include "base/intern.h"
#include "bpf/engine.h"
#include "process/mem.h"
#include "py/code.h"
#include "py/layout.h"
#include "py/pystr.h"
#include "py/runtime.h"
#include "sampler.h"
#include "sampler_bpf_copies.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { C_CODE = 0x100, C_FILE = 0x400, C_TABLE = 0x480, C_QUAL = 0x800, C_NAME = 0x900,
       C_IMAGE = 0x2000, TABLE_LEN = 200 };
#define CODE_TYPE 0x7e57c0de00ull
#define GLOBALS 0x5a5a0000ull

struct fixture {
	const struct py_layout *l;
	unsigned char *img;
	uintptr_t base;
	struct py_runtime rt;
	struct mem_source m;
	struct strtab strings;
	struct py_code_cache cache;
	struct strobe_bpf_code_config cfg;
	struct bpf_copies cc;
	unsigned char saved[C_IMAGE]; /* the image as the program copied it */
};

static void setup(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->l = py_layout_find(3, 11);
	CHECK(f->l != NULL);
	const struct py_layout *l = f->l;
	f->img = mmap(NULL, C_IMAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(f->img != MAP_FAILED);
	unsigned char *img = f->img;
	f->base = (uintptr_t)img;
	put_str(img, l, C_FILE, "copied.py");
	put_str(img, l, C_QUAL, "Copied.fn");
	put_str(img, l, C_NAME, "fn");
	put_u64(img + C_TABLE + l->ob_size, TABLE_LEN);
	for (int i = 0; i < TABLE_LEN; i++)
		img[C_TABLE + l->b_sval + i] = (unsigned char)(i * 3 + 1);
	put_u64(img + C_CODE + l->ob_type, CODE_TYPE);
	put_u64(img + C_CODE + l->co_filename, f->base + C_FILE);
	put_u64(img + C_CODE + l->co_name, f->base + C_NAME);
	put_u64(img + C_CODE + l->co_qualname, f->base + C_QUAL);
	put_u64(img + C_CODE + l->co_linetable, f->base + C_TABLE);
	uint32_t first = 41;
	memcpy(img + C_CODE + l->co_firstlineno, &first, 4);
	put_u64(img + C_CODE + l->ob_size, 4);
	memcpy(f->saved, img, C_IMAGE);

	f->rt.major = 3;
	f->rt.minor = 11;
	f->rt.layout = *l;
	f->rt.code_type_addr = CODE_TYPE;
	CHECK_EQ_INT(mem_open(&f->m, getpid(), 0), 0);
	strtab_init(&f->strings);
	py_code_cache_init(&f->cache, &f->rt, &f->m, &f->strings);
	sampler_bpf_code_config(l, f->cache.sig_span, l->if_size, &f->cfg);
	CHECK(f->cfg.head >= l->co_size);
	sampler_bpf_copies_init(&f->cc, NULL, l, &f->cfg);
}

static void teardown(struct fixture *f)
{
	sampler_bpf_copies_release(&f->cc);
	py_code_cache_release(&f->cache);
	strtab_release(&f->strings);
	mem_close(&f->m);
	munmap(f->img, C_IMAGE);
}

/* The code record the program makes of the image for thread tid: the head,
 * the file name's PYSTR_FIRST_READ bytes, the qualified name at its exact
 * size (header + length: the longer read failed), the line table whole. */
static void record(struct fixture *f, uint32_t tid, struct bpf_engine_code *c)
{
	const struct py_layout *l = f->l;
	uint32_t str_hdr = l->u_compact_data > l->u_ascii_data ? l->u_compact_data : l->u_ascii_data;
	memset(c, 0, sizeof(*c));
	c->tid = tid;
	c->code = f->base + C_CODE;
	c->globals = GLOBALS;
	c->head = f->saved + C_CODE;
	c->head_len = f->cfg.head;
	uint32_t at[3] = { C_FILE, C_QUAL, C_TABLE };
	uint32_t len[3] = { PYSTR_FIRST_READ, str_hdr + (uint32_t)strlen("Copied.fn"),
			    l->b_sval + TABLE_LEN };
	for (int i = 0; i < 3; i++) {
		c->blob[i].addr = f->base + at[i];
		c->blob[i].bytes = f->saved + at[i];
		c->blob[i].len = len[i];
	}
}

TEST(resolved_from_copies)
{
	struct fixture *f = calloc(1, sizeof(*f));
	setup(f);
	CHECK(C_TABLE > C_FILE && C_TABLE < C_FILE + PYSTR_FIRST_READ); /* the copies overlap */
	struct bpf_engine_code c;
	record(f, 7, &c);
	sampler_bpf_copies_add(&f->cc, &c);
	/* the object freed, its memory something else now */
	memset(f->img, 0xdb, C_IMAGE);
	struct py_code *code = NULL;
	CHECK(py_code_get(&f->cache, f->base + C_CODE, GLOBALS, &code) < 0);
	/* another thread's sample has no copies */
	CHECK(!sampler_bpf_copies_overlay(&f->cc, 8));
	CHECK(sampler_bpf_copies_overlay(&f->cc, 7));
	mem_snapshot_overlay(&f->m, &f->cc.overlay);
	int rc = py_code_get(&f->cache, f->base + C_CODE, GLOBALS, &code);
	mem_snapshot_unoverlay(&f->m);
	CHECK_EQ_INT(rc, 0);
	if (rc == 0) {
		size_t n;
		CHECK_STR(strtab_get(&f->strings, code->file, &n), "copied.py");
		CHECK_STR(strtab_get(&f->strings, code->func, &n), "Copied.fn");
		CHECK_EQ_INT(code->firstlineno, 41);
		CHECK_EQ_INT((int)code->linetable_len, TABLE_LEN);
		CHECK(code->linetable && memcmp(code->linetable, f->saved + C_TABLE + f->l->b_sval,
						TABLE_LEN) == 0);
	}
	/* the sample decoded: its copies go */
	sampler_bpf_copies_drop(&f->cc, 7);
	CHECK_EQ_INT((int)f->cc.n, 0);
	teardown(f);
	free(f);
}

/* Copies that overlap: one range, the newest bytes where they differ (a
 * copy of an earlier sample whose last part was lost, then this one's);
 * those of a sample that never came go two drains on. */
TEST(overlap_newest)
{
	struct fixture *f = calloc(1, sizeof(*f));
	setup(f);
	struct bpf_engine_code c;
	record(f, 7, &c);
	sampler_bpf_copies_add(&f->cc, &c);
	unsigned char older[PYSTR_FIRST_READ];
	memset(older, 0x44, sizeof(older));
	c.blob[0].bytes = older;
	c.blob[1].len = c.blob[2].len = 0;
	c.head_len = 0;
	/* an older copy goes first: the record above is the newer */
	struct bpf_copies *cc = &f->cc;
	sampler_bpf_copies_add(cc, &c);
	cc->v[cc->n - 1].seq = 0;
	CHECK(sampler_bpf_copies_overlay(cc, 7));
	struct mem_source *m = &f->m;
	mem_snapshot_overlay(m, &cc->overlay);
	unsigned char buf[512];
	size_t span = C_TABLE - C_FILE + f->l->b_sval + TABLE_LEN;
	CHECK(span <= sizeof(buf));
	memset(f->img, 0xdb, C_IMAGE);
	/* across the file name's copy and the line table's */
	CHECK_EQ_INT(mem_read(m, f->base + C_FILE, buf, span), 0);
	CHECK(memcmp(buf, f->saved + C_FILE, span) == 0);
	mem_snapshot_unoverlay(m);
	sampler_bpf_copies_age(cc);
	CHECK_EQ_INT((int)cc->n, 4 + 1); /* head, names, table; the older file name */
	sampler_bpf_copies_age(cc);
	CHECK_EQ_INT((int)cc->n, 0);
	teardown(f);
	free(f);
}

/* The known set: a frame's code object the cache holds is told once per
 * globals; one it does not hold (a C stack's frame) never; forgotten on
 * request, and told again. */
TEST(known)
{
	struct fixture *f = calloc(1, sizeof(*f));
	setup(f);
	struct py_code *code;
	CHECK_EQ_INT(py_code_get(&f->cache, f->base + C_CODE, GLOBALS, &code), 0);
	const struct py_layout *l = f->l;
	uint32_t stride = STROBE_BPF_STRIDE(l->if_size);
	unsigned char frames[3 * STROBE_BPF_STRIDE_MAX];
	memset(frames, 0, sizeof(frames));
	for (int i = 0; i < 3; i++) {
		unsigned char *head = frames + i * stride + 8;
		put_u64(head + f->cfg.frame_code, i == 1 ? 0x1230 : f->base + C_CODE);
		put_u64(head + f->cfg.frame_globals, i == 2 ? GLOBALS + 8 : GLOBALS);
	}
	struct bpf_engine_sample s = { .tid = 7, .head_size = l->if_size, .nframes = 3,
				       .frames = frames, .stride = stride };
	struct bpf_copies *cc = &f->cc;
	/* the first frame only (the second failed) */
	sampler_bpf_copies_known(cc, &f->cache.index, &s, 1);
	const uint64_t *g = u64map_get(&cc->known, f->base + C_CODE);
	CHECK(g && *g == GLOBALS);
	CHECK_EQ_INT((int)cc->known.len, 1);
	/* all three: the uncached code object not, the other globals yes */
	sampler_bpf_copies_known(cc, &f->cache.index, &s, 3);
	g = u64map_get(&cc->known, f->base + C_CODE);
	CHECK(g && *g == GLOBALS + 8);
	CHECK(!u64map_get(&cc->known, 0x1230));
	sampler_bpf_copies_forget(cc, f->base + C_CODE);
	CHECK_EQ_INT((int)cc->known.len, 0);
	sampler_bpf_copies_forget(cc, f->base + C_CODE); /* twice: nothing */
	sampler_bpf_copies_known(cc, &f->cache.index, &s, 1);
	CHECK_EQ_INT((int)cc->known.len, 1);

	/* two code objects sharing a slot of the program's known_codes take
	 * turns: told B, A is no longer known there, and is told again when
	 * it comes back; A forgotten does not empty B's slot */
	raddr_t a = f->base + C_CODE, b = a;
	do
		b += 16;
	while (strobe_bpf_known_slot(b) != strobe_bpf_known_slot(a));
	struct u64map index;
	u64map_init(&index);
	u64map_put(&index, a, 1);
	u64map_put(&index, b, 2);
	put_u64(frames + 8 + f->cfg.frame_code, b);
	put_u64(frames + 8 + f->cfg.frame_globals, GLOBALS);
	sampler_bpf_copies_known(cc, &index, &s, 1);
	CHECK(sampler_bpf_copies_knows(cc, b) && !sampler_bpf_copies_knows(cc, a));
	sampler_bpf_copies_forget(cc, a); /* not known: nothing */
	CHECK(sampler_bpf_copies_knows(cc, b));
	put_u64(frames + 8 + f->cfg.frame_code, a);
	sampler_bpf_copies_known(cc, &index, &s, 1);
	CHECK(sampler_bpf_copies_knows(cc, a) && !sampler_bpf_copies_knows(cc, b));
	put_u64(frames + 8 + f->cfg.frame_code, b);
	sampler_bpf_copies_known(cc, &index, &s, 1);
	sampler_bpf_copies_forget(cc, b);
	CHECK(!sampler_bpf_copies_knows(cc, a) && !sampler_bpf_copies_knows(cc, b));
	CHECK_EQ_INT((int)cc->slots.len, 0);
	u64map_release(&index);
	teardown(f);
	free(f);
}

int main(void)
{
	RUN(resolved_from_copies);
	RUN(overlap_newest);
	RUN(known);
	return harness_done();
}
