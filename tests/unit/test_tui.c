/* test_tui.c - the live view's pure parts: text helpers (src/tui/text.h)
 * and the incremental view of a profile (src/tui/view.h).
 *
 * The view's counts must equal Tachyon's per-sample counting (direct =
 * innermost frame, cumulative = once per stack per location), however the
 * samples are split between refreshes; a random cross-check adds stacks in
 * batches, refreshes between batches, and compares every location's and
 * thread's counts with a brute-force count over the same samples.
 */
#include "harness.h"

#include "base/intern.h"
#include "model/profile.h"
#include "model/sample.h"
#include "tui/text.h"
#include "tui/view.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* text.h                                                               */

TEST(text_lengths)
{
	CHECK_EQ_INT(text_len(""), 0);
	CHECK_EQ_INT(text_len("abc"), 3);
	CHECK_EQ_INT(text_len("größe"), 5);
	CHECK_EQ_INT(text_len("\xe2\x94\x82"), 1);      /* │ */
	CHECK_EQ_INT(text_len("\xf0\x9f\xa5\x87 x"), 3); /* 🥇 x */
	CHECK_EQ_INT(text_prefix("größe", 3), 4);        /* g r ö */
	CHECK_EQ_INT(text_prefix("größe", 0), 0);
	CHECK_EQ_INT(text_prefix("ab", 5), 2);
}

TEST(text_fit_cuts_and_pads)
{
	char b[64];
	CHECK_STR(text_fit(b, sizeof(b), "short", 10, 1), "short     ");
	CHECK_STR(text_fit(b, sizeof(b), "short", 10, 0), "short");
	CHECK_STR(text_fit(b, sizeof(b), "exactly_10", 10, 1), "exactly_10");
	CHECK_STR(text_fit(b, sizeof(b), "a_much_longer_name", 10, 1), "a_much_...");
	CHECK_STR(text_fit(b, sizeof(b), "größenwahnsinn", 8, 1), "größe...");
	CHECK_STR(text_fit(b, sizeof(b), "計算", 5, 1), "計算   ");
}

TEST(text_numbers)
{
	char b[32];
	text_uptime(b, sizeof(b), 0);
	CHECK_STR(b, "0m00s");
	text_uptime(b, sizeof(b), 65.9);
	CHECK_STR(b, "1m05s");
	text_uptime(b, sizeof(b), 3725);
	CHECK_STR(b, "1h02m05s");
	text_rate(b, sizeof(b), 999.94);
	CHECK_STR(b, "999.9Hz");
	text_rate(b, sizeof(b), 1000);
	CHECK_STR(b, "1.0KHz");
	text_rate(b, sizeof(b), 10000);
	CHECK_STR(b, "10.0KHz");
	text_rate(b, sizeof(b), 1e6);
	CHECK_STR(b, "1.0MHz");
}

TEST(text_short_paths)
{
	CHECK_STR(text_short_path("/usr/lib/python3.15/threading.py"), "threading.py");
	CHECK_STR(text_short_path("/usr/lib/python3.15/json/decoder.py"), "json/decoder.py");
	CHECK_STR(text_short_path("/usr/local/lib/python3.12/site-packages/req/api.py"), "req/api.py");
	CHECK_STR(text_short_path("/usr/lib/python3/dist-packages/apt/cache.py"), "apt/cache.py");
	CHECK_STR(text_short_path("/root/.pyenv/versions/3.8.18/lib/python3.8/runpy.py"), "runpy.py");
	CHECK_STR(text_short_path("/opt/py/lib/python3.13t/site-packages/x.py"), "x.py");
	CHECK_STR(text_short_path("/srv/app/main.py"), "/srv/app/main.py");
	CHECK_STR(text_short_path("/srv/lib/python3x/main.py"), "/srv/lib/python3x/main.py");
	CHECK_STR(text_short_path("<frozen runpy>"), "<frozen runpy>");
	CHECK_STR(text_short_path("~"), "~");
	CHECK_STR(text_short_path("/usr/lib/python3.15/"), "/usr/lib/python3.15/");
}

TEST(text_filter_match)
{
	CHECK(text_contains_nocase("/tmp/Spin.py:spin", "SPIN"));
	CHECK(text_contains_nocase("a.py:f", "py:f"));
	CHECK(text_contains_nocase("abc", ""));
	CHECK(!text_contains_nocase("abc", "abcd"));
	CHECK(!text_contains_nocase("", "a"));
}

/* ------------------------------------------------------------------ */
/* view.h                                                               */

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

/* The loc id of (file, func, line), or UINT32_MAX. */
static uint32_t loc_of(const struct view *v, const char *file, const char *func, int line)
{
	const struct profile *p = v->p;
	struct frame_line k = {
		.file = strtab_find(&p->strings, file, strlen(file)),
		.func = strtab_find(&p->strings, func, strlen(func)),
		.line = line,
	};
	return rectab_find(&v->locs, &k);
}

static const struct view_row *row_of(const struct view_table *t, uint32_t loc)
{
	for (size_t i = 0; i < t->nrows; i++)
		if (t->rows[i].loc == loc)
			return &t->rows[i];
	return NULL;
}

TEST(view_direct_and_cumulative)
{
	struct profile p;
	profile_init(&p);
	struct frame a = mk(&p, "a.py", "main", 1), b = mk(&p, "a.py", "work", 5),
		     r = mk(&p, "a.py", "rec", 9), c = mk(&p, "b.py", "leaf", 2);
	/* innermost first */
	struct frame s1[] = { b, a };
	struct frame s2[] = { c, r, r, r, a }; /* recursion: rec counted once */
	profile_add_stack(&p, 100, 0, s1, 2, 3);
	profile_add_stack(&p, 200, 0, s2, 5, 2);

	struct view v;
	view_init(&v, &p, 1000, false);
	view_update(&v);
	struct view_table t = { 0 };
	view_build(&v, -1, VIEW_NSAMPLES, 100, 5, &t);
	CHECK_EQ_INT(t.nrows, 4);
	CHECK_EQ_INT(t.nfuncs, 4);
	CHECK_EQ_INT(t.nexec, 2);
	const struct view_row *rm = row_of(&t, loc_of(&v, "a.py", "main", 1));
	const struct view_row *rw = row_of(&t, loc_of(&v, "a.py", "work", 5));
	const struct view_row *rr = row_of(&t, loc_of(&v, "a.py", "rec", 9));
	const struct view_row *rl = row_of(&t, loc_of(&v, "b.py", "leaf", 2));
	CHECK(rm && rw && rr && rl);
	if (rm && rw && rr && rl) {
		CHECK_EQ_INT(rm->direct, 0);
		CHECK_EQ_INT(rm->cum, 5);
		CHECK_EQ_INT(rw->direct, 3);
		CHECK_EQ_INT(rw->cum, 3);
		CHECK_EQ_INT(rr->direct, 0);
		CHECK_EQ_INT(rr->cum, 2);
		CHECK_EQ_INT(rl->direct, 2);
		CHECK(rw->value[VIEW_SAMPLE_PCT] == 3.0 / 5.0 * 100);
		CHECK(rw->value[VIEW_TOTTIME] == 3 * 0.001);
		CHECK(rm->value[VIEW_CUMUL_PCT] == 100.0);
	}
	/* sorted by direct samples; ties (main and rec: 0) keep first-seen order */
	CHECK(t.rows[0].loc == loc_of(&v, "a.py", "work", 5));
	CHECK(t.rows[1].loc == loc_of(&v, "b.py", "leaf", 2));
	/* per thread, in first-seen order of the threads */
	CHECK_EQ_INT(view_nthreads(&v), 2);
	CHECK_EQ_INT(view_thread_tid(&v, 0), 100);
	CHECK_EQ_INT(view_thread_tid(&v, 1), 200);
	view_build(&v, 1, VIEW_CUMTIME, 100, 5, &t);
	CHECK_EQ_INT(t.nrows, 3);
	CHECK_EQ_INT(t.nfuncs, 3);
	CHECK_EQ_INT(t.nexec, 1);
	CHECK(row_of(&t, loc_of(&v, "a.py", "work", 5)) == NULL);
	rm = row_of(&t, loc_of(&v, "a.py", "main", 1));
	CHECK(rm && rm->cum == 2);
	/* -a: three samples, each with a stack of both threads (5 stacks
	 * counted): shares are of the stacks, never above 100% */
	view_build(&v, -1, VIEW_NSAMPLES, 100, 3, &t);
	rm = row_of(&t, loc_of(&v, "a.py", "main", 1));
	CHECK(rm && rm->value[VIEW_CUMUL_PCT] == 100.0);
	rw = row_of(&t, loc_of(&v, "a.py", "work", 5));
	CHECK(rw && rw->value[VIEW_SAMPLE_PCT] == 3.0 / 5.0 * 100);

	view_table_release(&t);
	view_release(&v);
	profile_release(&p);
}

TEST(view_top_rows_filter_and_trends)
{
	struct profile p;
	profile_init(&p);
	struct frame m = mk(&p, "/srv/app.py", "main", 1);
	char name[32];
	/* f0..f49, f_i with i+1 samples, all under main */
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		struct frame s[] = { mk(&p, "/srv/app.py", name, 10 + i), m };
		profile_add_stack(&p, 1, 0, s, 2, (uint64_t)i + 1);
	}
	struct view v;
	view_init(&v, &p, 100, false);
	view_update(&v);
	struct view_table t = { 0 };
	view_build(&v, -1, VIEW_TOTTIME, 5, 1275, &t);
	CHECK_EQ_INT(t.nrows, 5);
	CHECK_EQ_INT(t.nfuncs, 51);
	for (int i = 0; i < 5; i++)
		CHECK_EQ_INT(t.rows[i].direct, 50 - i);
	/* cumulative sort: main first */
	view_build(&v, -1, VIEW_CUMUL_PCT, 3, 1275, &t);
	CHECK(t.rows[0].loc == loc_of(&v, "/srv/app.py", "main", 1));
	CHECK_EQ_INT(t.rows[0].cum, 1275);
	CHECK_EQ_INT(t.rows[1].direct, 50);
	/* filter: case-insensitive on "file:function" */
	view_set_filter(&v, "APP.PY:F4");
	view_build(&v, -1, VIEW_NSAMPLES, 100, 1275, &t);
	CHECK_EQ_INT(t.nrows, 11); /* f4, f40..f49 */
	CHECK_EQ_INT(t.nfuncs, 51); /* the source, not the filtered rows */
	view_set_filter(&v, NULL);
	view_build(&v, -1, VIEW_NSAMPLES, 100, 1275, &t);
	CHECK_EQ_INT(t.nrows, 51);
	for (size_t i = 0; i < t.nrows; i++)
		for (int c = 0; c < VIEW_NCOLS; c++)
			CHECK(t.rows[i].trend[c] == TREND_STABLE);
	/* f0 gains, so its share of a larger total rises; f49 keeps its count
	 * while the total grows, so its share falls */
	struct frame s0[] = { mk(&p, "/srv/app.py", "f0", 10), m };
	profile_add_stack(&p, 1, 0, s0, 2, 100);
	view_update(&v);
	view_build(&v, -1, VIEW_NSAMPLES, 100, 1375, &t);
	const struct view_row *r0 = row_of(&t, loc_of(&v, "/srv/app.py", "f0", 10));
	const struct view_row *r49 = row_of(&t, loc_of(&v, "/srv/app.py", "f49", 59));
	CHECK(r0 && r0->trend[VIEW_NSAMPLES] == TREND_UP && r0->trend[VIEW_SAMPLE_PCT] == TREND_UP);
	CHECK(r49 && r49->trend[VIEW_NSAMPLES] == TREND_STABLE &&
	      r49->trend[VIEW_SAMPLE_PCT] == TREND_DOWN);
	CHECK(t.rows[0].loc == loc_of(&v, "/srv/app.py", "f0", 10));
	view_table_release(&t);
	view_release(&v);
	profile_release(&p);
}

TEST(view_reset_and_status)
{
	struct profile p;
	profile_init(&p);
	struct sample s;
	sample_init(&s);
	uint32_t gc = strtab_intern_cstr(&p.strings, "<GC>");
	uint32_t tilde = strtab_intern_cstr(&p.strings, "~");
	struct frame f = mk(&p, "a.py", "f", 3);
	for (int i = 0; i < 10; i++) {
		sample_clear(&s);
		struct thread_sample *t = sample_add_thread(&s);
		t->tid = 7;
		t->status = i < 4 ? STATUS_HAS_GIL | STATUS_ON_CPU : STATUS_GIL_REQUESTED;
		struct frame *fr = sample_reserve_frames(&s, 2);
		fr[0] = i == 0 ? (struct frame){ tilde, gc, FRAME_NO_LINE, -1, -1, -1, -1 } : f;
		fr[1] = mk(&p, "a.py", "<module>", 1);
		s.nframes += 2;
		t->depth = 2;
		profile_add_sample(&p, &s);
	}
	struct view v;
	view_init(&v, &p, 1000, false);
	view_update(&v);
	struct view_status st;
	view_status(&v, -1, &st);
	CHECK_EQ_INT(st.total, 10);
	CHECK_EQ_INT(st.has_gil, 4);
	CHECK_EQ_INT(st.gil_requested, 6);
	CHECK_EQ_INT(st.gc, 1);
	view_status(&v, 0, &st);
	CHECK_EQ_INT(st.samples, 10);
	/* synthetic frames are line 0, as Tachyon's extract_lineno */
	CHECK(loc_of(&v, "~", "<GC>", 0) != UINT32_MAX);

	view_reset(&v);
	CHECK_EQ_INT(view_nthreads(&v), 0);
	view_status(&v, -1, &st);
	CHECK_EQ_INT(st.total, 0);
	struct view_table t = { 0 };
	view_build(&v, -1, VIEW_NSAMPLES, 10, 0, &t);
	CHECK_EQ_INT(t.nrows, 0);
	CHECK_EQ_INT(t.nfuncs, 0);
	profile_add_sample(&p, &s); /* the last sample again */
	view_update(&v);
	view_build(&v, -1, VIEW_NSAMPLES, 10, 1, &t);
	CHECK_EQ_INT(t.nrows, 2);
	CHECK_EQ_INT(t.rows[0].direct, 1);
	view_status(&v, -1, &st);
	CHECK_EQ_INT(st.total, 1);
	CHECK_EQ_INT(st.gil_requested, 1);
	CHECK_EQ_INT(view_nthreads(&v), 1);
	view_table_release(&t);
	view_release(&v);
	sample_release(&s);
	profile_release(&p);
}

TEST(view_opcodes)
{
	struct profile p;
	profile_init(&p);
	profile_keep_detail(&p);
	struct frame a = mk(&p, "a.py", "f", 3), m = mk(&p, "a.py", "<module>", 1);
	struct frame s[2] = { a, m };
	const int ops[] = { 100, 100, 100, 7, 7, 255 };
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		s[0].opcode = ops[i];
		s[0].col = (int)i; /* distinct frames, one location */
		profile_add_stack(&p, 1, 0, s, 2, 1);
	}
	struct view v;
	view_init(&v, &p, 1000, true);
	view_update(&v);
	int got[8];
	uint64_t counts[8], total;
	size_t n = view_opcodes(&v, loc_of(&v, "a.py", "f", 3), got, counts, 8, &total);
	CHECK_EQ_INT(n, 3);
	CHECK_EQ_INT(total, 6);
	CHECK_EQ_INT(got[0], 100);
	CHECK_EQ_INT(counts[0], 3);
	CHECK_EQ_INT(got[1], 7);
	CHECK_EQ_INT(got[2], 255);
	struct view_table t = { 0 };
	view_build(&v, -1, VIEW_NSAMPLES, 10, 6, &t);
	CHECK_EQ_INT(t.rows[0].direct, 6);
	view_table_release(&t);
	view_release(&v);
	profile_release(&p);
}

/* ------------------------------------------------------------------ */
/* Random cross-check against per-sample counting                        */

static uint64_t rng_state;
static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

#define POOL 12
#define MAXD 10
#define NTHREADS 3

TEST(view_cross_check)
{
	rng_state = 42;
	struct profile p;
	profile_init(&p);
	struct frame pool[POOL];
	char name[16];
	for (int i = 0; i < POOL; i++) {
		snprintf(name, sizeof(name), "f%d", i % 7);
		pool[i] = mk(&p, i % 2 ? "x.py" : "y.py", name, 1 + i % 5);
	}
	struct view v;
	view_init(&v, &p, 1000, false);
	/* brute force: [thread][pool-index-as-location] direct and cumulative;
	 * locations are (file, func, line) and distinct pool entries may share one */
	uint64_t direct[NTHREADS + 1][POOL] = { { 0 } }, cum[NTHREADS + 1][POOL] = { { 0 } };
	uint64_t samples = 0;
	struct view_table t = { 0 };
	for (int round = 0; round < 60; round++) {
		int batch = (int)(rng_next() % 40);
		for (int k = 0; k < batch; k++) {
			struct frame st[MAXD];
			size_t d = 1 + rng_next() % MAXD;
			for (size_t i = 0; i < d; i++)
				st[i] = pool[rng_next() % POOL];
			int th = (int)(rng_next() % NTHREADS);
			profile_add_stack(&p, 1000 + (uint64_t)th, 0, st, d, 1);
			samples++;
			/* count by canonical pool index of each location */
			bool seen[POOL] = { false };
			for (size_t i = 0; i < d; i++) {
				int canon = 0;
				while (pool[canon].file != st[i].file || pool[canon].func != st[i].func ||
				       pool[canon].line != st[i].line)
					canon++;
				if (i == 0) {
					direct[th][canon]++;
					direct[NTHREADS][canon]++;
				}
				if (!seen[canon]) {
					seen[canon] = true;
					cum[th][canon]++;
					cum[NTHREADS][canon]++;
				}
			}
		}
		view_update(&v);
		for (long th = -1; th < (long)view_nthreads(&v); th++) {
			view_build(&v, th, VIEW_NSAMPLES, 1000, samples, &t);
			int bt = th < 0 ? NTHREADS : (int)(view_thread_tid(&v, (size_t)th) - 1000);
			size_t expect_rows = 0;
			for (int i = 0; i < POOL; i++) {
				uint32_t l = rectab_find(&v.locs, &(struct frame_line){ pool[i].file, pool[i].func,
										     pool[i].line });
				const struct view_row *r = l == UINT32_MAX ? NULL : row_of(&t, l);
				bool canon = true;
				for (int j = 0; j < i; j++)
					if (pool[j].file == pool[i].file && pool[j].func == pool[i].func &&
					    pool[j].line == pool[i].line)
						canon = false;
				if (!canon)
					continue;
				expect_rows += cum[bt][i] > 0;
				CHECK_EQ_INT(r ? r->direct : 0, direct[bt][i]);
				CHECK_EQ_INT(r ? r->cum : 0, cum[bt][i]);
			}
			CHECK_EQ_INT(t.nrows, expect_rows);
			for (size_t i = 1; i < t.nrows; i++)
				CHECK(t.rows[i - 1].direct >= t.rows[i].direct);
		}
	}
	view_table_release(&t);
	view_release(&v);
	profile_release(&p);
}

int main(void)
{
	RUN(text_lengths);
	RUN(text_fit_cuts_and_pads);
	RUN(text_numbers);
	RUN(text_short_paths);
	RUN(text_filter_match);
	RUN(view_direct_and_cumulative);
	RUN(view_top_rows_filter_and_trends);
	RUN(view_reset_and_status);
	RUN(view_opcodes);
	RUN(view_cross_check);
	return harness_done();
}
