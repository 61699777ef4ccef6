/* test_profile.c - aggregation of samples into the profile
 * (src/model/profile.h, sample.h).
 *
 * The profile keeps a per-thread memo of the last stack so an unchanged or
 * slightly changed stack skips most of the trie walk.  The memo is the part
 * most likely to go wrong silently (a count added to the wrong stack), so
 * besides the hand-made cases the memo is cross-checked against a
 * brute-force count keyed by (tid, interp, full frame sequence) over long
 * random sequences of stacks built to hit its edge cases: same stack,
 * prefix, extension, changed inner/middle/outer frame, recursion, columns
 * only, threads interleaving.
 */
#include "harness.h"

#include "base/hash.h"
#include "base/intern.h"
#include "model/profile.h"
#include "model/sample.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned rng_below(unsigned n)
{
	return (unsigned)(rng_next() % n);
}

static struct frame mk(struct profile *p, const char *file, const char *func, int line)
{
	struct frame f = {
		.file = strtab_intern_cstr(&p->strings, file),
		.func = strtab_intern_cstr(&p->strings, func),
		.line = line,
		.end_line = -1,
		.col = -1,
		.end_col = -1,
		.opcode = FRAME_NO_OPCODE,
	};
	return f;
}

/* The node of the stack (innermost first), or PROFILE_NO_NODE if any part
 * of it was never added. */
static uint32_t node_of(const struct profile *p, const struct frame *fr, size_t depth)
{
	uint32_t node = PROFILE_NO_NODE;
	for (size_t i = depth; i-- > 0;) {
		struct profile_frame pf = { fr[i].file, fr[i].func, fr[i].line, -1, -1, -1,
					    FRAME_NO_OPCODE };
		if (p->detail) {
			pf.end_line = fr[i].end_line;
			pf.col = fr[i].col;
			pf.end_col = fr[i].end_col;
			pf.opcode = fr[i].opcode;
		}
		uint32_t fid = rectab_find(&p->frames, &pf);
		if (fid == UINT32_MAX)
			return PROFILE_NO_NODE;
		struct profile_node n = { node, fid };
		node = rectab_find(&p->nodes, &n);
		if (node == UINT32_MAX)
			return PROFILE_NO_NODE;
	}
	return node;
}

/* Count recorded for the stack on (tid, interp), 0 if none; found tells
 * whether an entry exists at all.  Looks the entry up through the index and
 * confirms it by scanning the entries. */
static uint64_t count_of(const struct profile *p, uint64_t tid, uint32_t interp,
			 const struct frame *fr, size_t depth, bool *found)
{
	*found = false;
	struct profile_thread key = { tid, interp, 0 };
	uint32_t th = rectab_find(&p->threads, &key);
	uint32_t node = node_of(p, fr, depth);
	if (th == UINT32_MAX || node == PROFILE_NO_NODE)
		return 0;
	size_t hits = 0;
	uint64_t count = 0;
	for (size_t e = 0; e < p->nentries; e++)
		if (p->entries[e].node == node && p->entries[e].thread == th) {
			hits++;
			count = p->entries[e].count;
		}
	uint64_t *idx = u64map_get(&p->entry_index, (uint64_t)node << 32 | th);
	if (hits == 0 && !idx)
		return 0;
	if (hits != 1 || !idx || *idx >= p->nentries || p->entries[*idx].count != count)
		return UINT64_MAX; /* inconsistent: fails any comparison */
	*found = true;
	return count;
}

static uint64_t count_simple(const struct profile *p, uint64_t tid, const struct frame *fr,
			     size_t depth)
{
	bool found;
	return count_of(p, tid, 0, fr, depth, &found);
}

static uint64_t total_count(const struct profile *p)
{
	uint64_t s = 0;
	for (size_t e = 0; e < p->nentries; e++)
		s += p->entries[e].count;
	return s;
}

TEST(empty_profile)
{
	struct profile p;
	profile_init(&p);
	CHECK_EQ_INT(p.nentries, 0);
	CHECK_EQ_INT(p.nodes.count, 0);
	CHECK_EQ_INT(p.frames.count, 0);
	CHECK_EQ_INT(p.threads.count, 0);
	CHECK_EQ_INT(p.thread_samples, 0);
	profile_release(&p);
	/* init/release again: nothing left behind */
	profile_init(&p);
	profile_release(&p);
}

TEST(basic_counts)
{
	struct profile p;
	profile_init(&p);
	struct frame a[] = { mk(&p, "/app/x.py", "f", 10), mk(&p, "/app/x.py", "main", 20) };
	profile_add_stack(&p, 100, 0, a, 2, 1);
	CHECK_EQ_INT(p.nentries, 1);
	CHECK_EQ_INT(p.nodes.count, 2);
	CHECK_EQ_INT(p.frames.count, 2);
	CHECK_EQ_INT(p.threads.count, 1);
	CHECK_EQ_INT(p.thread_samples, 1);
	CHECK_EQ_INT(count_simple(&p, 100, a, 2), 1);

	/* repeated: one entry, summed count, weights add */
	for (int i = 0; i < 4; i++)
		profile_add_stack(&p, 100, 0, a, 2, 1);
	profile_add_stack(&p, 100, 0, a, 2, 10);
	CHECK_EQ_INT(p.nentries, 1);
	CHECK_EQ_INT(count_simple(&p, 100, a, 2), 15);
	CHECK_EQ_INT(p.thread_samples, 6);

	/* same stack on another thread: a second entry, no new nodes */
	profile_add_stack(&p, 200, 0, a, 2, 3);
	CHECK_EQ_INT(p.nentries, 2);
	CHECK_EQ_INT(p.nodes.count, 2);
	CHECK_EQ_INT(p.threads.count, 2);
	CHECK_EQ_INT(count_simple(&p, 100, a, 2), 15);
	CHECK_EQ_INT(count_simple(&p, 200, a, 2), 3);

	/* same tid, another interpreter: another thread */
	profile_add_stack(&p, 200, 1, a, 2, 1);
	bool found;
	CHECK_EQ_INT(p.threads.count, 3);
	CHECK_EQ_INT(p.nentries, 3);
	CHECK_EQ_INT(count_of(&p, 200, 1, a, 2, &found), 1);
	CHECK(found);
	CHECK_EQ_INT(count_of(&p, 200, 0, a, 2, &found), 3);

	/* the inner frame alone (a prefix from the outside is a different
	 * stack): the outer "main" stack has no entry yet */
	CHECK_EQ_INT(count_of(&p, 100, 0, a + 1, 1, &found), 0);
	CHECK(!found);
	profile_add_stack(&p, 100, 0, a + 1, 1, 1);
	CHECK_EQ_INT(count_simple(&p, 100, a + 1, 1), 1);
	CHECK_EQ_INT(count_simple(&p, 100, a, 2), 15);
	CHECK_EQ_INT(p.nodes.count, 2); /* [main] was already a node */
	CHECK_EQ_INT(p.nentries, 4);
	CHECK_EQ_INT(total_count(&p), 15 + 3 + 1 + 1);
	profile_release(&p);
}

TEST(shared_prefix_nodes)
{
	struct profile p;
	profile_init(&p);
	struct frame main_ = mk(&p, "/app/x.py", "main", 20);
	struct frame f = mk(&p, "/app/x.py", "f", 10);
	struct frame g = mk(&p, "/app/x.py", "g", 30);
	struct frame h = mk(&p, "/app/y.py", "h", 5);
	struct frame s1[] = { f, main_ };
	struct frame s2[] = { g, main_ };
	struct frame s3[] = { h, g, main_ };
	struct frame s4[] = { h, f, main_ };
	profile_add_stack(&p, 1, 0, s1, 2, 1);
	CHECK_EQ_INT(p.nodes.count, 2);
	profile_add_stack(&p, 1, 0, s2, 2, 1);
	CHECK_EQ_INT(p.nodes.count, 3); /* main, main>f, main>g */
	profile_add_stack(&p, 1, 0, s3, 3, 1);
	CHECK_EQ_INT(p.nodes.count, 4);
	profile_add_stack(&p, 1, 0, s4, 3, 1);
	CHECK_EQ_INT(p.nodes.count, 5); /* h under f is a different node than h under g */
	CHECK_EQ_INT(p.frames.count, 4);
	CHECK_EQ_INT(p.nentries, 4);

	/* the outermost node has no parent; parents chain to it */
	uint32_t n4 = node_of(&p, s4, 3);
	CHECK(n4 != PROFILE_NO_NODE);
	const struct profile_node *pn = profile_node_get(&p, n4);
	CHECK_EQ_INT(pn->parent, node_of(&p, s1, 2));
	pn = profile_node_get(&p, pn->parent);
	CHECK_EQ_INT(pn->parent, node_of(&p, s1 + 1, 1));
	pn = profile_node_get(&p, pn->parent);
	CHECK_EQ_INT(pn->parent, PROFILE_NO_NODE);
	CHECK(node_of(&p, s3, 3) != n4);
	profile_release(&p);
}

TEST(stack_frames_roundtrip)
{
	struct profile p;
	profile_init(&p);
	struct frame st[50];
	for (int i = 0; i < 50; i++) {
		char name[16];
		snprintf(name, sizeof(name), "fn%d", i % 7);
		st[i] = mk(&p, i % 2 ? "/a.py" : "/b.py", name, i % 5);
	}
	profile_add_stack(&p, 9, 0, st, 50, 1);
	CHECK_EQ_INT(p.nentries, 1);
	uint32_t node = p.entries[0].node;
	CHECK_EQ_INT(profile_stack_depth(&p, node), 50);
	CHECK_EQ_INT(profile_stack_depth(&p, PROFILE_NO_NODE), 0);
	uint32_t ids[64];
	memset(ids, 0xee, sizeof(ids));
	CHECK_EQ_INT(profile_stack_frames(&p, node, ids, 64), 50);
	int ok = 1;
	for (int i = 0; i < 50; i++) {
		const struct profile_frame *pf = profile_frame_get(&p, ids[i]);
		ok &= pf->file == st[i].file && pf->func == st[i].func && pf->line == st[i].line;
	}
	CHECK(ok);
	CHECK_EQ_INT(ids[50], 0xeeeeeeeeu); /* nothing past depth written */
	CHECK_STR(profile_str(&p, profile_frame_get(&p, ids[0])->func), "fn0");
	CHECK_STR(profile_str(&p, profile_frame_get(&p, ids[49])->file), "/a.py");

	/* max smaller than the depth: writes max, still returns the depth */
	memset(ids, 0xee, sizeof(ids));
	CHECK_EQ_INT(profile_stack_frames(&p, node, ids, 10), 50);
	ok = 1;
	for (int i = 0; i < 10; i++) {
		const struct profile_frame *pf = profile_frame_get(&p, ids[i]);
		ok &= pf->func == st[i].func && pf->line == st[i].line;
	}
	CHECK(ok);
	CHECK_EQ_INT(ids[10], 0xeeeeeeeeu);
	CHECK_EQ_INT(profile_stack_frames(&p, node, NULL, 0), 50);

	/* thread record */
	const struct profile_thread *th = profile_thread_get(&p, p.entries[0].thread);
	CHECK_EQ_INT(th->tid, 9);
	CHECK_EQ_INT(th->interp_id, 0);
	profile_release(&p);
}

TEST(empty_stacks_ignored)
{
	struct profile p;
	profile_init(&p);
	struct frame a[] = { mk(&p, "/x.py", "f", 1) };
	profile_add_stack(&p, 1, 0, a, 0, 1);
	profile_add_stack(&p, 1, 0, NULL, 0, 5);
	CHECK_EQ_INT(p.nentries, 0);
	CHECK_EQ_INT(p.threads.count, 0);
	CHECK_EQ_INT(p.thread_samples, 0);

	struct sample s;
	sample_init(&s);
	struct thread_sample *t = sample_add_thread(&s); /* depth 0 */
	t->tid = 5;
	t = sample_add_thread(&s);
	t->tid = 6;
	struct frame *fr = sample_reserve_frames(&s, 1);
	fr[0] = a[0];
	s.nframes++;
	t->depth = 1;
	sample_add_thread(&s)->tid = 7; /* depth 0 after a non-empty one */
	profile_add_sample(&p, &s);
	CHECK_EQ_INT(p.nentries, 1);
	CHECK_EQ_INT(p.thread_samples, 1);
	CHECK_EQ_INT(count_simple(&p, 6, a, 1), 1);
	/* threads with empty stacks have status counts but no stacks */
	struct profile_thread k5 = { 5, 0, 0 }, k7 = { 7, 0, 0 };
	uint32_t t5 = rectab_find(&p.threads, &k5), t7 = rectab_find(&p.threads, &k7);
	CHECK(t5 != UINT32_MAX && t7 != UINT32_MAX);
	if (t5 != UINT32_MAX && t7 != UINT32_MAX) {
		CHECK_EQ_INT(profile_thread_status(&p, t5)->total, 1);
		CHECK_EQ_INT(profile_thread_status(&p, t7)->total, 1);
	}
	for (size_t e = 0; e < p.nentries; e++)
		CHECK(p.entries[e].thread != t5 && p.entries[e].thread != t7);

	/* an empty stack between two equal ones does not disturb the memo */
	profile_add_stack(&p, 6, 0, a, 0, 1);
	profile_add_stack(&p, 6, 0, a, 1, 1);
	CHECK_EQ_INT(count_simple(&p, 6, a, 1), 2);
	sample_release(&s);
	profile_release(&p);
}

TEST(detail_keeps_columns_and_opcode)
{
	struct profile p;
	profile_init(&p);
	profile_keep_detail(&p);
	struct frame a = mk(&p, "/x.py", "f", 10), m = mk(&p, "/x.py", "main", 3);
	struct frame s1[] = { a, m };
	profile_add_stack(&p, 1, 0, s1, 2, 1);
	struct frame s2[] = { a, m };
	s2[0].col = 4;
	s2[0].end_col = 17;
	s2[0].end_line = 11;
	s2[0].opcode = 83;
	profile_add_stack(&p, 1, 0, s2, 2, 1);
	profile_add_stack(&p, 1, 0, s2, 2, 1);
	/* the outer frame is shared, the leaf differs: two stacks */
	CHECK_EQ_INT(p.frames.count, 3);
	CHECK_EQ_INT(p.nodes.count, 3);
	CHECK_EQ_INT(p.nentries, 2);
	CHECK_EQ_INT(count_simple(&p, 1, s1, 2), 1);
	CHECK_EQ_INT(count_simple(&p, 1, s2, 2), 2);
	uint32_t ids[2];
	CHECK_EQ_INT(profile_stack_frames(&p, p.entries[1].node, ids, 2), 2);
	const struct profile_frame *f = profile_frame_get(&p, ids[0]);
	CHECK_EQ_INT(f->col, 4);
	CHECK_EQ_INT(f->end_col, 17);
	CHECK_EQ_INT(f->end_line, 11);
	CHECK_EQ_INT(f->opcode, 83);
	profile_release(&p);
}

TEST(status_counts)
{
	struct profile p;
	profile_init(&p);
	struct sample s;
	sample_init(&s);
	struct frame gc = mk(&p, "~", "<GC>", FRAME_NO_LINE), f = mk(&p, "/x.py", "f", 1);
	uint32_t statuses[] = { STATUS_HAS_GIL | STATUS_ON_CPU | STATUS_MAIN_THREAD, STATUS_UNKNOWN,
				STATUS_GIL_REQUESTED | STATUS_HAS_EXCEPTION, STATUS_HAS_GIL };
	for (int i = 0; i < 4; i++) {
		sample_clear(&s);
		struct thread_sample *t = sample_add_thread(&s);
		t->tid = 9;
		t->status = statuses[i];
		struct frame *fr = sample_reserve_frames(&s, 2);
		fr[0] = i == 3 ? gc : f;
		fr[1] = f;
		s.nframes += 2;
		t->depth = 2;
		profile_add_sample(&p, &s);
	}
	const struct profile_status *st = profile_thread_status(&p, 0);
	CHECK_EQ_INT(st->total, 4);
	CHECK_EQ_INT(st->has_gil, 2);
	CHECK_EQ_INT(st->on_cpu, 1);
	CHECK_EQ_INT(st->unknown, 1);
	CHECK_EQ_INT(st->gil_requested, 1);
	CHECK_EQ_INT(st->has_exception, 1);
	CHECK_EQ_INT(st->gc, 1);
	CHECK(st->main);
	sample_release(&s);
	profile_release(&p);
}

TEST(columns_and_opcode_ignored)
{
	struct profile p;
	profile_init(&p);
	struct frame a = mk(&p, "/x.py", "f", 10), m = mk(&p, "/x.py", "main", 3);
	struct frame s1[] = { a, m };
	profile_add_stack(&p, 1, 0, s1, 2, 1);
	/* same file/func/line, other columns, end line, opcode */
	struct frame s2[] = { a, m };
	s2[0].col = 4;
	s2[0].end_col = 17;
	s2[0].end_line = 11;
	s2[0].opcode = 83;
	s2[1].col = 0;
	profile_add_stack(&p, 1, 0, s2, 2, 1);
	CHECK_EQ_INT(p.frames.count, 2);
	CHECK_EQ_INT(p.nodes.count, 2);
	CHECK_EQ_INT(p.nentries, 1);
	CHECK_EQ_INT(count_simple(&p, 1, s1, 2), 2);
	/* repeated with yet other columns on the outer frame only */
	s2[1].col = 9;
	profile_add_stack(&p, 1, 0, s2, 2, 1);
	s2[0].col = 5;
	profile_add_stack(&p, 1, 0, s2, 2, 1);
	CHECK_EQ_INT(count_simple(&p, 1, s1, 2), 4);
	CHECK_EQ_INT(p.nentries, 1);
	/* ... but another line is another frame */
	s2[0].line = 12;
	profile_add_stack(&p, 1, 0, s2, 2, 1);
	CHECK_EQ_INT(p.frames.count, 3);
	CHECK_EQ_INT(p.nentries, 2);
	CHECK_EQ_INT(count_simple(&p, 1, s1, 2), 4);
	CHECK_EQ_INT(count_simple(&p, 1, s2, 2), 1);
	/* and another function with the same line is another frame */
	s2[0] = mk(&p, "/x.py", "g", 10);
	profile_add_stack(&p, 1, 0, s2, 2, 1);
	CHECK_EQ_INT(p.frames.count, 4);
	/* synthetic frames with no line */
	struct frame gc = mk(&p, "~", "<GC>", FRAME_NO_LINE);
	struct frame s3[] = { gc, a, m };
	profile_add_stack(&p, 1, 0, s3, 3, 1);
	CHECK_EQ_INT(count_simple(&p, 1, s3, 3), 1);
	CHECK_EQ_INT(profile_frame_get(&p, p.frames.count - 1)->line, FRAME_NO_LINE);
	profile_release(&p);
}

/* Hand-made memo edge cases on one thread: each step adds a stack and
 * every stack seen so far must still have the right count. */
TEST(memo_edges)
{
	struct profile p;
	profile_init(&p);
	struct frame m = mk(&p, "/x.py", "main", 1), a = mk(&p, "/x.py", "a", 2),
		     b = mk(&p, "/x.py", "b", 3), c = mk(&p, "/x.py", "c", 4),
		     r = mk(&p, "/x.py", "rec", 5);
	struct frame A[] = { a, m };         /* base */
	struct frame B[] = { b, m };         /* sibling */
	struct frame AB[] = { b, a, m };     /* extension of A */
	struct frame M[] = { m };            /* prefix of A */
	struct frame ABC[] = { c, b, a, m }; /* extension by two */
	struct frame CB[] = { c, b, m };     /* same innermost as ABC, other middle */
	struct frame R3[] = { r, r, r, m };
	struct frame R2[] = { r, r, m };
	struct frame R4[] = { r, r, r, r, m };
	struct frame X[] = { a, b };         /* other outermost, same depth as A */
	struct frame MA[] = { m, a };        /* A reversed */
	struct {
		const struct frame *f;
		size_t d;
	} seq[] = {
		{ A, 2 },   { B, 2 },   { A, 2 },   { B, 2 },   { AB, 3 },  { A, 2 },   { M, 1 },
		{ A, 2 },   { ABC, 4 }, { M, 1 },   { ABC, 4 }, { CB, 3 },  { ABC, 4 }, { AB, 3 },
		{ AB, 3 },  { R3, 4 },  { R2, 3 },  { R4, 5 },  { R3, 4 },  { R3, 4 },  { R2, 3 },
		{ M, 1 },   { M, 1 },   { X, 2 },   { A, 2 },   { MA, 2 },  { A, 2 },   { X, 2 },
		{ MA, 2 },  { R4, 5 },  { ABC, 4 },
	};
	size_t n = sizeof(seq) / sizeof(seq[0]);
	int ok = 1;
	for (size_t i = 0; i < n; i++) {
		profile_add_stack(&p, 42, 0, seq[i].f, seq[i].d, 1);
		/* the expected count of every stack so far */
		for (size_t j = 0; j <= i; j++) {
			uint64_t want = 0;
			for (size_t k = 0; k <= i; k++)
				want += seq[k].f == seq[j].f;
			ok &= count_simple(&p, 42, seq[j].f, seq[j].d) == want;
		}
	}
	CHECK(ok);
	CHECK_EQ_INT(total_count(&p), n);
	CHECK_EQ_INT(p.nentries, 11);
	/* nodes: m, m>a, m>b, m>a>b, m>a>b>c, m>b>c, m>r, m>r>r, m>r>r>r,
	 * m>r>r>r>r, b, b>a, a, a>m */
	CHECK_EQ_INT(p.nodes.count, 14);
	profile_release(&p);
}

/* Two threads interleaving stacks that are prefixes/extensions of each
 * other: one thread's memo must not leak into the other's counts. */
TEST(memo_two_threads)
{
	struct profile p;
	profile_init(&p);
	struct frame m = mk(&p, "/x.py", "main", 1), a = mk(&p, "/x.py", "a", 2),
		     b = mk(&p, "/x.py", "b", 3);
	struct frame S1[] = { a, m }, S2[] = { b, a, m }, S3[] = { m };
	for (int i = 0; i < 1000; i++) {
		profile_add_stack(&p, 1, 0, S1, 2, 1);
		profile_add_stack(&p, 2, 0, S2, 3, 1);
		profile_add_stack(&p, 1, 0, (i & 1) ? S3 : S1, (i & 1) ? 1 : 2, 1);
		profile_add_stack(&p, 2, 0, S1, 2, 1);
		profile_add_stack(&p, 3, 7, S2, 3, 2);
	}
	CHECK_EQ_INT(count_simple(&p, 1, S1, 2), 1500);
	CHECK_EQ_INT(count_simple(&p, 1, S3, 1), 500);
	CHECK_EQ_INT(count_simple(&p, 2, S2, 3), 1000);
	CHECK_EQ_INT(count_simple(&p, 2, S1, 2), 1000);
	bool found;
	CHECK_EQ_INT(count_of(&p, 3, 7, S2, 3, &found), 2000);
	CHECK_EQ_INT(count_simple(&p, 3, S2, 3), 0);
	CHECK_EQ_INT(p.nentries, 5);
	CHECK_EQ_INT(p.nodes.count, 3);
	CHECK_EQ_INT(p.thread_samples, 5000);
	profile_release(&p);
}

/* A million thread samples over a few stacks: memory stays with the
 * stacks. */
TEST(million_samples)
{
	struct profile p;
	profile_init(&p);
	struct frame m = mk(&p, "/x.py", "main", 1), a = mk(&p, "/x.py", "a", 2),
		     b = mk(&p, "/x.py", "b", 3), c = mk(&p, "/y.py", "c", 4);
	struct frame S0[] = { a, m }, S1[] = { b, a, m }, S2[] = { c, m }, S3[] = { c, b, a, m };
	const struct frame *st[] = { S0, S1, S2, S3 };
	size_t dp[] = { 2, 3, 2, 4 };

	struct sample s;
	sample_init(&s);
	for (uint32_t i = 0; i < 500000; i++) {
		/* two threads per sample, each cycling at its own pace */
		sample_clear(&s);
		for (int t = 0; t < 2; t++) {
			size_t k = t ? (i / 3) % 4 : i % 4;
			struct thread_sample *ts = sample_add_thread(&s);
			ts->tid = 1000 + (uint64_t)t;
			struct frame *f = sample_reserve_frames(&s, dp[k]);
			memcpy(f, st[k], dp[k] * sizeof(*f));
			/* columns vary from sample to sample: still the same stack */
			f[0].col = (int32_t)(i & 15);
			s.nframes += dp[k];
			ts->depth = (uint32_t)dp[k];
		}
		profile_add_sample(&p, &s);
	}
	sample_release(&s);
	CHECK_EQ_INT(p.thread_samples, 1000000);
	CHECK_EQ_INT(total_count(&p), 1000000);
	CHECK_EQ_INT(p.nentries, 8);
	CHECK_EQ_INT(p.nodes.count, 5); /* m, m>a, m>a>b, m>c, m>a>b>c */
	CHECK_EQ_INT(p.frames.count, 4);
	CHECK_EQ_INT(p.threads.count, 2);
	CHECK_EQ_INT(count_simple(&p, 1000, S0, 2), 125000);
	CHECK_EQ_INT(count_simple(&p, 1000, S3, 4), 125000);
	/* thread 1001: k = (i/3)%4 over i < 500000 */
	uint64_t want[4] = { 0, 0, 0, 0 };
	for (uint32_t i = 0; i < 500000; i++)
		want[(i / 3) % 4]++;
	int ok = 1;
	for (int k = 0; k < 4; k++)
		ok &= count_simple(&p, 1001, st[k], dp[k]) == want[k];
	CHECK(ok);
	profile_release(&p);
}

/* ---- brute-force cross-check ------------------------------------------ */

#define NTHREADS 4
#define MAXD 40

struct gen_thread {
	uint64_t tid;
	uint32_t interp;
	struct frame st[MAXD];
	size_t depth;
};

/* Serialise (tid, interp, identity of each frame) as the reference key. */
static size_t ref_key(char *out, uint64_t tid, uint32_t interp, const struct frame *fr,
		      size_t depth)
{
	memcpy(out, &tid, 8);
	memcpy(out + 8, &interp, 4);
	size_t n = 12;
	for (size_t i = 0; i < depth; i++, n += 12) {
		memcpy(out + n, &fr[i].file, 4);
		memcpy(out + n + 4, &fr[i].func, 4);
		memcpy(out + n + 8, &fr[i].line, 4);
	}
	return n;
}

static struct frame random_frame(const struct frame *pool, size_t npool)
{
	struct frame f = pool[rng_below((unsigned)npool)];
	/* columns and opcode are noise the profile must ignore */
	if (rng_below(4) == 0) {
		f.col = (int32_t)rng_below(80);
		f.end_col = f.col + 3;
		f.opcode = (int32_t)rng_below(200);
	}
	return f;
}

/* Change a thread's stack the way real stacks change between samples. */
static void mutate(struct gen_thread *g, const struct frame *pool, size_t npool)
{
	unsigned op = rng_below(12);
	size_t d = g->depth;
	switch (op) {
	case 0: case 1: case 2: /* unchanged */
		break;
	case 3: /* call: push 1-3 inner frames */
		for (unsigned k = 1 + rng_below(3); k-- > 0 && d < MAXD;) {
			memmove(g->st + 1, g->st, d * sizeof(struct frame));
			g->st[0] = random_frame(pool, npool);
			d++;
		}
		break;
	case 4: /* return: pop 1-3 inner frames (maybe to empty) */
		for (unsigned k = 1 + rng_below(3); k-- > 0 && d > 0;) {
			memmove(g->st, g->st + 1, (d - 1) * sizeof(struct frame));
			d--;
		}
		break;
	case 5: /* line change in the innermost frame */
		if (d)
			g->st[0].line = (int32_t)rng_below(4);
		break;
	case 6: /* a middle or outer frame differs */
		if (d)
			g->st[rng_below((unsigned)d)] = random_frame(pool, npool);
		break;
	case 7: /* only columns change */
		if (d)
			g->st[rng_below((unsigned)d)].col = (int32_t)rng_below(100);
		break;
	case 8: /* recursion: repeat the innermost frame */
		if (d && d < MAXD) {
			memmove(g->st + 1, g->st, d * sizeof(struct frame));
			d++;
		}
		break;
	case 9: /* outermost frame replaced (another entry point) */
		if (d)
			g->st[d - 1] = random_frame(pool, npool);
		break;
	case 10: /* a whole new stack */
		d = rng_below(MAXD + 1);
		for (size_t i = 0; i < d; i++)
			g->st[i] = random_frame(pool, npool);
		break;
	default: /* empty sample for this thread */
		if (rng_below(3) == 0)
			d = 0;
		break;
	}
	g->depth = d;
}

static void cross_check(uint64_t seed, int steps, size_t npool)
{
	struct profile p;
	profile_init(&p);
	rng_state = seed;

	struct frame pool[32];
	for (size_t i = 0; i < npool; i++) {
		char fn[16];
		snprintf(fn, sizeof(fn), "f%zu", i % 5);
		pool[i] = mk(&p, (i & 1) ? "/a.py" : "/b.py", fn, (int)(i % 4));
	}
	struct gen_thread th[NTHREADS];
	memset(th, 0, sizeof(th));
	for (int t = 0; t < NTHREADS; t++) {
		/* two of the threads share a tid but not an interpreter */
		th[t].tid = t == 3 ? 101 : 100 + (uint64_t)t;
		th[t].interp = t == 3 ? 2 : 0;
	}

	/* reference: key -> dense index in a strtab, counts beside it */
	struct strtab ref;
	strtab_init(&ref);
	uint64_t *ref_count = NULL;
	size_t ref_cap = 0;
	uint64_t total = 0, nonempty = 0;
	char key[12 + MAXD * 12];

	struct sample s;
	sample_init(&s);
	for (int step = 0; step < steps; step++) {
		/* either one thread alone through add_stack, or a whole sample */
		bool as_sample = rng_below(2);
		sample_clear(&s);
		int first = (int)rng_below(NTHREADS);
		int nth = as_sample ? 1 + (int)rng_below(NTHREADS) : 1;
		for (int j = 0; j < nth; j++) {
			struct gen_thread *g = &th[(first + j) % NTHREADS];
			mutate(g, pool, npool);
			uint64_t w = as_sample ? 1 : 1 + rng_below(3);
			if (as_sample) {
				struct thread_sample *ts = sample_add_thread(&s);
				ts->tid = g->tid;
				ts->interp_id = g->interp;
				struct frame *f = sample_reserve_frames(&s, g->depth);
				if (g->depth)
					memcpy(f, g->st, g->depth * sizeof(*f));
				s.nframes += g->depth;
				ts->depth = (uint32_t)g->depth;
			} else {
				profile_add_stack(&p, g->tid, g->interp, g->st, g->depth, w);
			}
			if (g->depth) {
				size_t kn = ref_key(key, g->tid, g->interp, g->st, g->depth);
				uint32_t id = strtab_intern(&ref, key, kn);
				if (id >= ref_cap) {
					size_t old = ref_cap;
					VEC_RESERVE(ref_count, ref_cap, (size_t)id + 1);
					memset(ref_count + old, 0, (ref_cap - old) * sizeof(*ref_count));
				}
				ref_count[id] += w;
				total += w;
				nonempty++;
			}
		}
		if (as_sample)
			profile_add_sample(&p, &s);
	}
	sample_release(&s);

	/* every profile entry is exactly one reference key, with its count */
	CHECK_EQ_INT(p.nentries, ref.count);
	CHECK_EQ_INT(total_count(&p), total);
	CHECK_EQ_INT(p.thread_samples, nonempty);
	bool *seen = calloc(ref.count ? ref.count : 1, sizeof(bool));
	int ok = 1;
	for (size_t e = 0; e < p.nentries; e++) {
		const struct profile_entry *en = &p.entries[e];
		uint32_t ids[MAXD + 1];
		size_t d = profile_stack_frames(&p, en->node, ids, MAXD + 1);
		ok &= d >= 1 && d <= MAXD && d == profile_stack_depth(&p, en->node);
		if (!(d >= 1 && d <= MAXD))
			continue;
		struct frame fr[MAXD];
		for (size_t i = 0; i < d; i++) {
			const struct profile_frame *pf = profile_frame_get(&p, ids[i]);
			fr[i] = (struct frame){ .file = pf->file, .func = pf->func, .line = pf->line };
		}
		const struct profile_thread *pt = profile_thread_get(&p, en->thread);
		size_t kn = ref_key(key, pt->tid, pt->interp_id, fr, d);
		uint32_t id = strtab_find(&ref, key, kn);
		ok &= id != UINT32_MAX;
		if (id == UINT32_MAX)
			continue;
		ok &= !seen[id];
		seen[id] = true;
		ok &= en->count == ref_count[id];
	}
	CHECK(ok);
	/* trie nodes are unique (parent, frame) pairs: never more than the
	 * frames of the distinct stacks */
	CHECK(p.nodes.count <= (size_t)ref.count * MAXD);
	free(seen);
	free(ref_count);
	strtab_release(&ref);
	profile_release(&p);
}

TEST(memo_cross_check)
{
	/* a small pool makes stacks repeat and share a lot; a larger one
	 * makes them differ more often */
	cross_check(1, 30000, 3);
	cross_check(2, 30000, 8);
	cross_check(3, 30000, 24);
}

int main(void)
{
	RUN(empty_profile);
	RUN(basic_counts);
	RUN(shared_prefix_nodes);
	RUN(stack_frames_roundtrip);
	RUN(empty_stacks_ignored);
	RUN(status_counts);
	RUN(columns_and_opcode_ignored);
	RUN(detail_keeps_columns_and_opcode);
	RUN(memo_edges);
	RUN(memo_two_threads);
	RUN(million_samples);
	RUN(memo_cross_check);
	return harness_done();
}
