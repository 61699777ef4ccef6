/* test_flamegraph.c - the flamegraph data tree (format/flamegraph.c).
 *
 * The page's data is checked against Tachyon itself by the functional tests
 * (cases_flamegraph.py); here: the tree built without the nodes pruning
 * drops (fg_tree_build with a floor) converts to exactly the same JSON as
 * the whole tree, on many random profiles: several threads of very
 * different sizes (per-thread thresholds), frames that differ only in
 * columns (trie nodes that merge), deep and shallow stacks.  And the small
 * cases by hand: promotion of a sole root, "No Data".
 */
#include "harness.h"

#include "base/buf.h"
#include "base/intern.h"
#include "model/profile.h"
#include "format/flamegraph.h"
#include "format/out.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 88172645463325252ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static uint64_t thousandth(uint64_t n)
{
	uint64_t v = (uint64_t)((double)n * 0.001);
	return v ? v : 1;
}

static void random_profile(struct profile *p, uint64_t *floor)
{
	profile_init(p);
	profile_keep_detail(p);
	p->stats.interval_us = 1000;
	static const char *const files[] = { "/app/a.py", "/app/b.py", "/lib/c.py" };
	static const char *const funcs[] = { "f", "g", "h", "main", "run", "k" };
	int nthreads = 1 + (int)rnd(3);
	uint64_t scale[3] = { 1 + rnd(400), 1 + rnd(40), 1 + rnd(3) };
	uint64_t per[3] = { 0, 0, 0 };
	int nstacks = 1 + (int)rnd(400);
	for (int s = 0; s < nstacks; s++) {
		struct frame f[24];
		size_t depth = 1 + rnd(rnd(4) ? 6 : 24);
		for (size_t i = 0; i < depth; i++) {
			f[i] = (struct frame){
				.file = strtab_intern_cstr(&p->strings, files[rnd(3)]),
				.func = strtab_intern_cstr(&p->strings, funcs[rnd(6)]),
				.line = 1 + (int32_t)rnd(2), .end_line = -1,
				.col = rnd(3) ? -1 : (int32_t)rnd(3), .end_col = -1,
				.opcode = FRAME_NO_OPCODE,
			};
		}
		int th = (int)rnd((uint32_t)nthreads);
		uint64_t w = 1 + rnd((uint32_t)scale[th]);
		per[th] += w;
		profile_add_stack(p, 100 + (uint64_t)th, 0, f, depth, w);
	}
	*floor = UINT64_MAX;
	for (int th = 0; th < nthreads; th++)
		if (per[th] && thousandth(per[th]) < *floor)
			*floor = thousandth(per[th]);
}

static void to_json(const struct profile *p, uint64_t floor, struct buf *out, size_t *nodes)
{
	struct out_request req = { .mode = 0 };
	struct fg_tree t;
	fg_tree_build(&t, p, floor);
	*nodes = t.n;
	struct fg_conv c = { .t = &t, .req = &req, .with_source = false };
	fg_conv_run(&c);
	fg_emit(out, &c);
	fg_conv_release(&c);
	fg_tree_release(&t);
}

TEST(pruned_tree_same_json)
{
	int pruned = 0, trials = 300;
	for (int i = 0; i < trials; i++) {
		struct profile p;
		uint64_t floor;
		random_profile(&p, &floor);
		struct buf whole = BUF_INIT, part = BUF_INIT;
		size_t nw, np;
		to_json(&p, 0, &whole, &nw);
		to_json(&p, floor, &part, &np);
		CHECK(np <= nw);
		pruned += np < nw;
		CHECK(whole.len == part.len && memcmp(whole.data, part.data, whole.len) == 0);
		if (whole.len != part.len || memcmp(whole.data, part.data, whole.len) != 0) {
			fprintf(stderr, "trial %d (floor %llu): %zu vs %zu bytes\n", i,
				(unsigned long long)floor, whole.len, part.len);
			buf_release(&whole);
			buf_release(&part);
			profile_release(&p);
			break;
		}
		buf_release(&whole);
		buf_release(&part);
		profile_release(&p);
	}
	/* the comparison means something only if pruning happened often */
	CHECK(pruned > trials / 4);
}

TEST(sole_root_promoted)
{
	struct profile p;
	profile_init(&p);
	p.stats.interval_us = 1000;
	struct frame f[2] = {
		{ strtab_intern_cstr(&p.strings, "/x.py"), strtab_intern_cstr(&p.strings, "leaf"), 3, -1, -1, -1,
		  FRAME_NO_OPCODE },
		{ strtab_intern_cstr(&p.strings, "/x.py"), strtab_intern_cstr(&p.strings, "main"), 9, -1, -1, -1,
		  FRAME_NO_OPCODE },
	};
	profile_add_stack(&p, 7, 0, f, 2, 5);
	profile_add_stack(&p, 7, 0, f + 1, 1, 2);
	struct buf b = BUF_INIT;
	size_t n;
	to_json(&p, 0, &b, &n);
	buf_putc(&b, '\0');
	CHECK(strstr(b.data, "\"value\":7,\"self\":2,") != NULL);
	CHECK(strstr(b.data, "\"Program Root: main (/x.py:9)\"") != NULL);
	CHECK(strstr(b.data, "\"thread_values\":{\"7\":[7,2]}") != NULL);
	buf_release(&b);
	profile_release(&p);
}

TEST(no_data)
{
	struct profile p;
	profile_init(&p);
	struct buf b = BUF_INIT;
	size_t n;
	to_json(&p, 0, &b, &n);
	buf_putc(&b, '\0');
	CHECK(strcmp(b.data, "{\"name\":0,\"value\":0,\"children\":[],\"threads\":[],\"strings\":[\"No Data\"]}") == 0);
	buf_release(&b);
	profile_release(&p);
}

/* The pruning floor is the smallest per-thread thousandth; a tid is any
 * 64-bit value, the largest included (it once collided with a map's empty
 * marker and aborted the writer). */
TEST(prune_floor_any_tid)
{
	struct profile p;
	profile_init(&p);
	struct frame f = { .file = strtab_intern_cstr(&p.strings, "/a.py"),
			   .func = strtab_intern_cstr(&p.strings, "f"), .line = 1, .end_line = -1,
			   .col = -1, .end_col = -1, .opcode = FRAME_NO_OPCODE };
	profile_add_stack(&p, UINT64_MAX, 0, &f, 1, 5000);
	profile_add_stack(&p, 7, 0, &f, 1, 3000);
	CHECK_EQ_INT(fg_prune_floor(&p), 3);
	profile_add_stack(&p, 0, 0, &f, 1, 2000);
	CHECK_EQ_INT(fg_prune_floor(&p), 2);
	profile_add_stack(&p, UINT64_MAX, 1, &f, 1, 1); /* same tid, another interpreter */
	profile_add_stack(&p, 0, 0, &f, 1, 999000);
	CHECK_EQ_INT(fg_prune_floor(&p), 3); /* tid 7: 3000; tid 2^64-1: 5001 */
	profile_release(&p);
}

/* ---- source lines ------------------------------------------------------- */

/* A fake target's files: names, the file each leads to, its text. */
struct fake_file {
	const char *name;
	uint64_t ino;      /* 0: no such file */
	const char *text;
	size_t size;       /* as the file says (may be more than text holds) */
};

struct fake_fs {
	const struct fake_file *files;
	size_t n;
	int reads[8];      /* texts read, per inode */
	size_t max_seen[8];
};

static int fake_source(void *ctx, const char *path, size_t max, enum out_source_text how,
		       char **text, size_t *len, bool *exact, struct out_source_id *id)
{
	(void)how;
	struct fake_fs *fs = ctx;
	for (size_t i = 0; i < fs->n; i++) {
		const struct fake_file *f = &fs->files[i];
		if (strcmp(f->name, path) != 0 || !f->ino)
			continue;
		if (id)
			*id = (struct out_source_id){ 1, f->ino };
		*exact = true;
		if (max == 0) {
			*text = strdup("");
			return 0;
		}
		fs->reads[f->ino]++;
		fs->max_seen[f->ino] = max;
		if (f->size > max)
			return -1;
		*text = strdup(f->text);
		*len = strlen(f->text);
		return 0;
	}
	return -1;
}

/* Each file is read once whatever names lead to it, within one budget for
 * the page; the page gets the lines around each node's line, without
 * trailing whitespace, on universal newlines, and no line that is blank. */
TEST(source_lines)
{
	static const char x[] = "one\r\ntwo  \n   \nfour\rfive\t\nsix\nseven\neight\n";
	const struct fake_file files[] = {
		{ "/x.py", 1, x, sizeof(x) - 1 },
		{ "//x.py", 1, x, sizeof(x) - 1 },
		{ "/a/../x.py", 1, x, sizeof(x) - 1 },
		{ "/huge.py", 2, "", (64u << 20) + 1 },
		{ "/y.py", 3, "why\n", 4 },
	};
	struct fake_fs fs = { files, sizeof(files) / sizeof(files[0]), { 0 }, { 0 } };
	struct profile p;
	profile_init(&p);
	p.stats.interval_us = 1000;
	static const struct { const char *file; int32_t line; } at[] = {
		{ "/x.py", 4 }, { "//x.py", 1 }, { "/a/../x.py", 8 }, { "/huge.py", 1 }, { "/y.py", 1 },
	};
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		struct frame f = { .file = strtab_intern_cstr(&p.strings, at[i].file),
				   .func = strtab_intern_cstr(&p.strings, "f"), .line = at[i].line,
				   .end_line = -1, .col = -1, .end_col = -1, .opcode = FRAME_NO_OPCODE };
		profile_add_stack(&p, 7, 0, &f, 1, 10);
	}
	struct out_request req = { .mode = 0, .source = fake_source, .source_ctx = &fs };
	struct fg_tree t;
	fg_tree_build(&t, &p, 0);
	struct fg_conv c = { .t = &t, .req = &req, .with_source = true };
	fg_conv_run(&c);
	struct buf b = BUF_INIT;
	fg_emit(&b, &c);
	buf_putc(&b, '\0');
	CHECK_EQ_INT(fs.reads[1], 1);
	CHECK_EQ_INT(fs.reads[2], 1);
	CHECK_EQ_INT(fs.reads[3], 1);
	/* one budget: what /x.py took is not there for the files after it */
	CHECK_EQ_INT(fs.max_seen[1], 64u << 20);
	CHECK_EQ_INT(fs.max_seen[2], (64u << 20) - (sizeof(x) - 1));
	CHECK_EQ_INT(fs.max_seen[3], (64u << 20) - (sizeof(x) - 1));
	static const char *const want[] = {
		"\"  2: two\"", "\"\u2192 4: four\"", "\"  5: five\"", "\"  6: six\"",
		"\"\u2192 1: one\"", "\"  7: seven\"", "\"\u2192 8: eight\"", "\"\u2192 1: why\"",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		/* the page escapes non-ASCII as \uXXXX or keeps it: accept both */
		bool found = strstr(b.data, want[i]) != NULL;
		if (!found && strstr(want[i], "\\u2192")) {
			char alt[64];
			snprintf(alt, sizeof(alt), "\"\xE2\x86\x92%s", want[i] + 7);
			found = strstr(b.data, alt) != NULL;
		}
		if (!found)
			fprintf(stderr, "  no %s in %s\n", want[i], b.data);
		CHECK(found);
	}
	CHECK(strstr(b.data, "  3: ") == NULL && strstr(b.data, " 3: ") == NULL); /* blank */
	buf_release(&b);
	fg_conv_release(&c);
	fg_tree_release(&t);
	profile_release(&p);
}

int main(void)
{
	RUN(pruned_tree_same_json);
	RUN(sole_root_promoted);
	RUN(no_data);
	RUN(prune_floor_any_tid);
	RUN(source_lines);
	return harness_done();
}
