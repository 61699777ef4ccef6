/* test_walk.c - the real walker (src/py/walk.c, code.c, runtime.c,
 * pystr.c) replayed offline from recorded target memory, per CPython
 * version 3.8-3.15: tests/fixtures/memory/3.X-SCENARIO.snap, recorded by
 * tools/record_fixtures.sh (format: src/py/snapshot.h).
 *
 * For every fixture:
 *  - its replay gives exactly the text the live walks gave (both walks:
 *    the second starts from the first's speculative reads and caches);
 *  - that text holds the stacks this file expects, written here from the
 *    target's source (the frames' names, files and lines at its "# @NAME"
 *    markers), so a fixture recorded with a wrong walker cannot pass;
 *  - transient states derived by editing the recorded bytes make the walk
 *    fail cleanly, never give another stack:
 *      . every recorded range removed in turn (a frame, chunk, code object
 *        or string that became unmapped or was not there yet): each walk
 *        fails, or gives the very stacks expected (the range held only
 *        what a guess read);
 *      . every code object's type pointer changed (freed, reused): the
 *        walks fail with "not a code object";
 *      . every frame's code pointer cleared (a frame being pushed, or one
 *        that returned): fail, the same stacks, or - the walker's rule
 *        for a thread's innermost frame that returned while its stack was
 *        copied (3.11+) - the stacks with that thread's innermost frame
 *        gone; 3.11+ take that rule for both threads' innermost frames
 *        and call the six frames below them inconsistent, 3.8-3.10 fail
 *        to read the code object of each;
 *      . 3.8-3.10: every frame object's reference count cleared (a frame
 *        freed to the free list while read): the walks fail with "frame
 *        freed while read".
 * And every version 3.8-3.15 must have its fixture.
 */
#include "harness.h"

#include "base/buf.h"
#include "base/error.h"
#include "py/fail.h"
#include "py/layout.h"
#include "py/snapshot.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURE_DIR "tests/fixtures/memory"


/* ---- what the steady target shows --------------------------------------- */

/* Python frames of each thread of steady.py, innermost first (<native>
 * entry frames left out), each at the line of its "# @NAME" marker. */
static const char *const steady_main[] = { "blocker", "produce", "consume", "outer", "main",
					   "<module>", NULL };
static const char *const steady_worker[] = { "inner", "worker", NULL };
#define STEADY_FILE "/tmp/strobe-walk/steady.py"
#define STEADY_SOURCE FIXTURE_DIR "/steady.py"

/* The line of "# @name" in the target's source, -1 if none. */
static int marker_line(const char *src, const char *name)
{
	char want[64];
	snprintf(want, sizeof(want), "# @%s\n", strcmp(name, "<module>") ? name : "module");
	int line = 1;
	for (const char *p = src; *p; p++) {
		if (*p == '#' && strncmp(p, want, strlen(want)) == 0)
			return line;
		if (*p == '\n')
			line++;
	}
	return -1;
}

/* One thread of a walk's text. */
struct th {
	const char *names[32];
	size_t name_len[32];
	int lines[32];
	const char *files[32];
	int n;        /* Python frames */
	int natives;  /* <native> frames */
};

/* Parse the threads of walk 1 of text into th (at most max). */
static int parse_threads(const char *text, struct th *th, int max)
{
	int nt = -1;
	const char *p = text;
	if (strncmp(p, "walk 1: ok", 10) != 0)
		return -1;
	while ((p = strchr(p, '\n')) != NULL) {
		p++;
		if (strncmp(p, "walk ", 5) == 0)
			break;
		if (strncmp(p, "thread ", 7) == 0) {
			if (++nt >= max)
				return -1;
			memset(&th[nt], 0, sizeof(th[nt]));
		} else if (strncmp(p, "  ", 2) == 0 && nt >= 0) {
			const char *name = p + 2, *sp = strchr(name, ' ');
			if (!sp)
				return -1;
			if ((size_t)(sp - name) == 8 && strncmp(name, "<native>", 8) == 0) {
				th[nt].natives++;
				continue;
			}
			int k = th[nt].n;
			if (k >= 32)
				return -1;
			th[nt].names[k] = name;
			th[nt].name_len[k] = (size_t)(sp - name);
			th[nt].files[k] = sp + 1;
			const char *colon = strstr(sp, ":");
			th[nt].lines[k] = colon ? atoi(colon + 1) : -1;
			th[nt].n++;
		}
	}
	return nt + 1;
}

static bool thread_is(const struct th *t, const char *const *want, const char *src)
{
	int n = 0;
	while (want[n])
		n++;
	if (t->n != n)
		return false;
	for (int i = 0; i < n; i++) {
		if (t->name_len[i] != strlen(want[i]) || strncmp(t->names[i], want[i], t->name_len[i]))
			return false;
		if (strncmp(t->files[i], STEADY_FILE ":", strlen(STEADY_FILE) + 1) != 0)
			return false;
		if (t->lines[i] != marker_line(src, want[i]))
			return false;
	}
	return true;
}

/* The stacks of steady.py: two threads, each as above; <native> entry
 * frames on 3.11+ only (a Python function called from C: blocker from
 * sorted, the thread's function, the module). */
static void check_steady(int minor, const char *text)
{
	size_t slen;
	char *src = harness_slurp(STEADY_SOURCE, &slen);
	CHECK(src != NULL);
	if (!src)
		return;
	struct th th[4];
	int nt = parse_threads(text, th, 4);
	CHECK_EQ_INT(nt, 2);
	bool main_ok = false, worker_ok = false;
	for (int i = 0; i < nt && i < 4; i++) {
		bool is_main = thread_is(&th[i], steady_main, src);
		main_ok |= is_main;
		worker_ok |= thread_is(&th[i], steady_worker, src);
		/* blocker is called by sorted(), from C */
		if (is_main && minor >= 11)
			CHECK(th[i].natives >= 1);
		if (minor < 11)
			CHECK_EQ_INT(th[i].natives, 0);
	}
	if (!main_ok || !worker_ok)
		fprintf(stderr, "3.%d: unexpected stacks:\n%s", minor, text);
	CHECK(main_ok);
	CHECK(worker_ok);
	free(src);
}

/* ---- comparing walks ----------------------------------------------------- */

/* Walk k's block of text (from "walk k:" to the next walk), or NULL. */
static const char *walk_block(const char *text, unsigned k, size_t *len)
{
	char head[32];
	int hl = snprintf(head, sizeof(head), "walk %u:", k);
	const char *p = text;
	while (p && strncmp(p, head, (size_t)hl) != 0) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	if (!p || !*p)
		return NULL;
	const char *end = p;
	while ((end = strchr(end, '\n')) != NULL) {
		end++;
		if (strncmp(end, "walk ", 5) == 0 || !*end)
			break;
	}
	*len = end ? (size_t)(end - p) : strlen(p);
	return p;
}

/* The text without the thread ids and status bits (a derived snapshot may
 * lose the C library block that gives a 3.8-3.10 thread its id). */
static char *canon(const char *p, size_t len)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < len;) {
		if (len - i > 4 && strncmp(p + i, "tid=", 4) == 0) {
			while (i < len && p[i] != ' ')
				i++;
		} else if (len - i > 7 && strncmp(p + i, "status=", 7) == 0) {
			while (i < len && p[i] != ' ')
				i++;
		} else {
			buf_putc(&b, p[i++]);
		}
	}
	return b.data ? b.data : calloc(1, 1);
}

/* A derived walk: failed (the cause counted in causes[]) or the expected
 * stacks exactly.  False for anything else (a wrong stack). */
static bool failed_or_same(const char *got, const char *want, unsigned walks, int *causes)
{
	for (unsigned k = 1; k <= walks; k++) {
		size_t gl, wl;
		const char *g = walk_block(got, k, &gl), *w = walk_block(want, k, &wl);
		if (!g || !w)
			return false;
		char head[64];
		int hl = snprintf(head, sizeof(head), "walk %u: failed: ", k);
		if (gl > (size_t)hl && strncmp(g, head, (size_t)hl) == 0) {
			for (int c = 1; c < PY_NFAIL; c++) {
				const char *s = py_fail_str((enum py_fail)c);
				if (gl == (size_t)hl + strlen(s) + 1 && strncmp(g + hl, s, strlen(s)) == 0)
					causes[c]++;
			}
			continue;
		}
		char *cg = canon(g, gl), *cw = canon(w, wl);
		bool same = strcmp(cg, cw) == 0;
		free(cg);
		free(cw);
		if (!same) {
			fprintf(stderr, "derived walk %u gave another stack:\n%.*s---- expected:\n%.*s", k,
				(int)gl, g, (int)wl, w);
			return false;
		}
	}
	return true;
}

/* The replay's text, NULL when the runtime could not be built (quiet:
 * expected of some derived snapshots). */
static char *replay(const struct py_snapshot *s, bool quiet)
{
	struct buf out = BUF_INIT;
	struct errmsg e = { "" };
	int rc = py_snapshot_replay(s, &out, &e);
	if (rc) {
		if (!quiet)
			fprintf(stderr, "replay: %s %s\n", err_str(rc), e.text);
		buf_release(&out);
		return NULL;
	}
	return out.data ? out.data : calloc(1, 1);
}

/* want (one walk's block) with the innermost Python frame of thread ti
 * gone, and the <native> lines right under it, as canon() shows it (frame
 * counts dropped too). */
static char *drop_leaf(const char *want, size_t len, int ti)
{
	struct buf b = BUF_INIT;
	int thread = -1;
	int state = 0; /* in thread ti: 0 before its leaf, 1 under it, 2 past it */
	for (const char *p = want; p < want + len;) {
		const char *nl = memchr(p, '\n', (size_t)(want + len - p));
		const char *end = nl ? nl + 1 : want + len;
		bool frame = strncmp(p, "  ", 2) == 0;
		bool native = strncmp(p, "  <native> ", 11) == 0;
		if (strncmp(p, "thread ", 7) == 0) {
			thread++;
			state = 0;
			const char *f = strstr(p, " frames=");
			if (f && f < end) {
				buf_append(&b, p, (size_t)(f - p));
				buf_putc(&b, '\n');
			} else {
				buf_append(&b, p, (size_t)(end - p));
			}
		} else if (frame && thread == ti && state == 0 && !native) {
			state = 1; /* the leaf: dropped */
		} else if (frame && thread == ti && state == 1 && native) {
			/* a <native> right under it: dropped */
		} else {
			if (thread == ti && state == 1)
				state = 2;
			buf_append(&b, p, (size_t)(end - p));
		}
		p = end;
	}
	char *c = canon(b.data ? b.data : "", b.len);
	buf_release(&b);
	return c;
}

/* The text with frame counts dropped, after canon(). */
static char *canon_nocount(const char *p, size_t len)
{
	struct buf b = BUF_INIT;
	for (const char *q = p; q < p + len;) {
		const char *nl = memchr(q, '\n', (size_t)(p + len - q));
		const char *end = nl ? nl + 1 : p + len;
		const char *f = strncmp(q, "thread ", 7) == 0 ? strstr(q, " frames=") : NULL;
		if (f && f < end) {
			buf_append(&b, q, (size_t)(f - q));
			buf_putc(&b, '\n');
		} else {
			buf_append(&b, q, (size_t)(end - q));
		}
		q = end;
	}
	char *c = canon(b.data ? b.data : "", b.len);
	buf_release(&b);
	return c;
}

/* Whether walk k of got is walk k of want with one thread's innermost
 * frame gone. */
static bool leaf_dropped(const char *got, const char *want, unsigned k)
{
	size_t gl, wl;
	const char *g = walk_block(got, k, &gl), *w = walk_block(want, k, &wl);
	if (!g || !w)
		return false;
	char *cg = canon_nocount(g, gl);
	bool hit = false;
	for (int ti = 0; ti < 8 && !hit; ti++) {
		char *cw = drop_leaf(w, wl, ti);
		hit = strcmp(cg, cw) == 0;
		free(cw);
	}
	free(cg);
	return hit;
}

/* Every range removed in turn. */
static void derive_removed(const struct py_snapshot *base, const char *want, int minor)
{
	int causes[PY_NFAIL] = { 0 }, failed = 0;
	for (size_t skip = 0; skip < base->mem.n; skip++) {
		struct py_snapshot s = *base;
		mem_snapshot_init(&s.mem);
		for (size_t i = 0; i < base->mem.n; i++)
			if (i != skip)
				CHECK_EQ_INT(mem_snapshot_add(&s.mem, base->mem.v[i].addr,
							      base->mem.v[i].bytes, base->mem.v[i].len), 0);
		char *got = replay(&s, true);
		/* 3.13+ lose their layout with the debug offsets: that fails too */
		if (got) {
			bool ok = failed_or_same(got, want, base->walks, causes);
			if (!ok)
				fprintf(stderr, "3.%d: without range %zu (0x%llx, %zu bytes)\n", minor, skip,
					(unsigned long long)base->mem.v[skip].addr, base->mem.v[skip].len);
			CHECK(ok);
			failed += strstr(got, ": failed: ") != NULL;
		}
		free(got);
		mem_snapshot_release(&s.mem);
	}
	/* most ranges are needed: a walker that ignored missing memory would
	 * fail none */
	CHECK(failed > 0 && (size_t)failed * 2 >= base->mem.n);
	/* the unreadable things are named */
	int named = 0;
	for (int c = 1; c < PY_NFAIL; c++)
		named += causes[c] > 0;
	CHECK(named >= 2);
	CHECK(causes[PY_FAIL_OTHER] == 0);
}

/* Every 8-aligned word equal to from, in a copy of the file, set to to in
 * turn; check(snapshot text) per edit.  Returns the edits made. */
static int derive_words(const char *data, size_t len, uint64_t from, uint64_t to, const char *want,
			int minor, const char *what, int expect_cause, int *hits)
{
	struct py_snapshot base;
	if (py_snapshot_parse(&base, data, len) != 0)
		return 0;
	int edits = 0;
	char *copy = malloc(len);
	for (size_t r = 0; r < base.mem.n; r++) {
		size_t off = (size_t)((const char *)base.mem.v[r].bytes - data);
		uint64_t a0 = base.mem.v[r].addr;
		for (size_t i = (size_t)((8 - (a0 & 7)) & 7); i + 8 <= base.mem.v[r].len; i += 8) {
			uint64_t v;
			memcpy(&v, base.mem.v[r].bytes + i, 8);
			if (v != from)
				continue;
			memcpy(copy, data, len);
			memcpy(copy + off + i, &to, 8);
			struct py_snapshot s;
			CHECK_EQ_INT(py_snapshot_parse(&s, copy, len), 0);
			char *got = replay(&s, false);
			int causes[PY_NFAIL] = { 0 };
			bool ok = got && failed_or_same(got, want, s.walks, causes);
			if (!ok)
				fprintf(stderr, "3.%d: %s at 0x%llx\n", minor, what,
					(unsigned long long)(a0 + i));
			CHECK(ok);
			if (causes[expect_cause])
				(*hits)++;
			edits++;
			free(got);
			py_snapshot_release(&s);
		}
	}
	free(copy);
	py_snapshot_release(&base);
	return edits;
}

/* Each word at `field` of a frame (found as a word that holds the address
 * of a recorded code object at the frame's code pointer offset) set to
 * `to` in turn.  Counts walks that failed with cause `cause`, and edits
 * whose walks gave a thread's stack without its innermost frame. */
static void derive_frames(const char *data, size_t len, int minor, const char *want,
			  int32_t field_from_code, uint64_t to, int cause, int *edits, int *with_cause,
			  int *popped)
{
	const struct py_layout *l = py_layout_find(3, minor);
	struct py_snapshot base;
	if (!l || py_snapshot_parse(&base, data, len) != 0)
		return;
	bool interp = l->frame_model == PY_FRAMES_INTERP;
	uint32_t code_off = interp ? l->if_executable : l->fo_code;
	/* the code objects: words equal to PyCode_Type at their ob_type */
	uint64_t codes[256];
	int ncodes = 0;
	for (size_t r = 0; r < base.mem.n; r++)
		for (size_t i = (size_t)((8 - (base.mem.v[r].addr & 7)) & 7);
		     i + 8 <= base.mem.v[r].len && ncodes < 256; i += 8)
			if (rd_u64(base.mem.v[r].bytes, i) == base.code_type_addr)
				codes[ncodes++] = base.mem.v[r].addr + i - l->ob_type;
	char *copy = malloc(len);
	for (size_t r = 0; r < base.mem.n; r++) {
		size_t off = (size_t)((const char *)base.mem.v[r].bytes - data);
		uint64_t a0 = base.mem.v[r].addr;
		for (size_t i = (size_t)((8 - (a0 & 7)) & 7); i + 8 <= base.mem.v[r].len; i += 8) {
			uint64_t v = rd_u64(base.mem.v[r].bytes, i) & ~(uint64_t)l->executable_tag_mask;
			bool is_code = false;
			for (int c = 0; c < ncodes && !is_code; c++)
				is_code = v == codes[c];
			/* the frame's field to edit, inside this range */
			int64_t at = (int64_t)i + field_from_code;
			if (!is_code || i < code_off || at < 0 || (size_t)at + 8 > base.mem.v[r].len)
				continue;
			memcpy(copy, data, len);
			memcpy(copy + off + (size_t)at, &to, 8);
			struct py_snapshot s;
			CHECK_EQ_INT(py_snapshot_parse(&s, copy, len), 0);
			char *got = replay(&s, false);
			int causes[PY_NFAIL] = { 0 };
			bool ok = got != NULL;
			bool drop = false;
			for (unsigned k = 1; ok && k <= s.walks; k++) {
				size_t gl;
				const char *g = walk_block(got, k, &gl);
				char one[32];
				snprintf(one, sizeof(one), "walk %u:", k);
				/* each walk on its own: failed, same, or leaf gone */
				struct buf gb = BUF_INIT, wb = BUF_INIT;
				size_t wl;
				const char *w = walk_block(want, k, &wl);
				ok = g && w;
				if (!ok)
					break;
				buf_append(&gb, g, gl);
				buf_append(&wb, w, wl);
				/* renumber as walk 1 for the helpers */
				gb.data[5] = '1';
				wb.data[5] = '1';
				bool d = leaf_dropped(gb.data, wb.data, 1);
				ok = d || failed_or_same(gb.data, wb.data, 1, causes);
				drop |= d;
				buf_release(&gb);
				buf_release(&wb);
			}
			if (!ok)
				fprintf(stderr, "3.%d: frame with code at 0x%llx, word %+d set to 0x%llx:\n%s",
					minor, (unsigned long long)(a0 + i), (int)field_from_code,
					(unsigned long long)to, got ? got : "(no replay)\n");
			CHECK(ok);
			(*edits)++;
			*with_cause += causes[cause] > 0;
			*popped += drop;
			free(got);
			py_snapshot_release(&s);
		}
	}
	free(copy);
	py_snapshot_release(&base);
}

/* ---- the fixtures -------------------------------------------------------- */

static void check_fixture(int minor, const char *scenario)
{
	char path[256];
	snprintf(path, sizeof(path), FIXTURE_DIR "/3.%d-%s.snap", minor, scenario);
	size_t len = 0;
	char *data = harness_slurp(path, &len);
	if (!data) {
		fprintf(stderr, "%s: missing (run tools/record_fixtures.sh 3.%d)\n", path, minor);
		CHECK(data != NULL);
		return;
	}
	struct py_snapshot s;
	CHECK_EQ_INT(py_snapshot_parse(&s, data, len), 0);
	if (s.walks == 0) {
		free(data);
		return;
	}
	CHECK_EQ_INT(s.major, 3);
	CHECK_EQ_INT(s.minor, minor);
	CHECK_EQ_INT(s.walks, 2);
	char *want = malloc(s.expected_len + 1);
	memcpy(want, s.expected, s.expected_len);
	want[s.expected_len] = '\0';

	char *got = replay(&s, false);
	CHECK(got != NULL);
	if (got && strcmp(got, want) != 0) {
		fprintf(stderr, "%s: replay differs from the recording:\n%s---- recorded:\n%s", path,
			got, want);
		CHECK(!"replay equals the recorded walks");
	}
	free(got);
	/* the recorded text itself is what the target shows, both walks */
	check_steady(minor, want);
	size_t l1, l2;
	const char *w1 = walk_block(want, 1, &l1), *w2 = walk_block(want, 2, &l2);
	CHECK(w1 && w2 && l1 == l2 && memcmp(w1 + 7, w2 + 7, l1 - 7) == 0);

	derive_removed(&s, want, minor);
	int hits = 0;
	if (s.code_type_addr) {
		int n = derive_words(data, len, s.code_type_addr, s.code_type_addr + 64, want, minor,
				     "code type changed", PY_FAIL_CODE_BAD, &hits);
		/* every code object on the stacks was read, each with its type */
		CHECK(n >= 8);
		CHECK_EQ_INT(hits, n);
	}
	if (s.code_type_addr) {
		const struct py_layout *l = py_layout_find(3, minor);
		bool interp = l->frame_model == PY_FRAMES_INTERP;
		int edits = 0, bad = 0, popped = 0;
		/* the code pointer cleared */
		derive_frames(data, len, minor, want, 0, 0, interp ? PY_FAIL_FRAME_BAD : PY_FAIL_CODE_READ,
			      &edits, &bad, &popped);
		/* the eight Python frames of the two threads (3.12+ may show
		 * stale frames above a chunk's top too) */
		CHECK(edits >= 8);
		if (interp) {
			/* both threads' innermost frames returned, the six
			 * below a live frame impossible */
			CHECK(popped >= 2);
			CHECK(bad >= 6);
		} else {
			CHECK_EQ_INT(bad, edits);
		}
		if (!interp) {
			/* the frame object's reference count (its first word) */
			int e2 = 0, freed = 0, p2 = 0;
			derive_frames(data, len, minor, want, -(int32_t)l->fo_code, 0,
				      PY_FAIL_FRAME_FREED, &e2, &freed, &p2);
				CHECK(e2 >= 8);
			CHECK_EQ_INT(freed, e2);
		}
	}
	py_snapshot_release(&s);
	free(want);
	free(data);
}

TEST(steady_all_versions)
{
	for (int minor = 8; minor <= 15; minor++)
		check_fixture(minor, "steady");
}

/* Malformed files are refused whole: truncated anywhere, a count, length
 * or order out of range. */
TEST(parse_refuses)
{
	size_t len = 0;
	char *data = harness_slurp(FIXTURE_DIR "/3.12-steady.snap", &len);
	CHECK(data != NULL);
	if (!data)
		return;
	struct py_snapshot s;
	for (size_t cut = 0; cut < len; cut += 1 + cut / 8) {
		CHECK_EQ_INT(py_snapshot_parse(&s, data, cut), ERR_INVAL);
		CHECK(s.mem.n == 0 && s.expected == NULL);
	}
	char *copy = malloc(len + 1);
	memcpy(copy, data, len);
	copy[len] = 'x'; /* trailing byte */
	CHECK_EQ_INT(py_snapshot_parse(&s, copy, len + 1), ERR_INVAL);
	static const size_t fields[] = { 0, 8, 12, 56, 60, 64, 68 };
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		memcpy(copy, data, len);
		uint32_t bad = 0xfffffff0u;
		memcpy(copy + fields[i], &bad, 4);
		CHECK_EQ_INT(py_snapshot_parse(&s, copy, len), ERR_INVAL);
	}
	/* the second range moved below the first */
	memcpy(copy, data, len);
	uint32_t first_len;
	memcpy(&first_len, copy + PY_SNAPSHOT_HEADER + 8, 4);
	size_t second = PY_SNAPSHOT_HEADER + 12 + first_len;
	if (second + 12 < len) {
		uint64_t a;
		memcpy(&a, copy + PY_SNAPSHOT_HEADER, 8);
		memcpy(copy + second, &a, 8);
		CHECK_EQ_INT(py_snapshot_parse(&s, copy, len), ERR_INVAL);
	}
	CHECK_EQ_INT(py_snapshot_parse(&s, data, len), 0);
	py_snapshot_release(&s);
	free(copy);
	free(data);
}

int main(void)
{
	RUN(steady_all_versions);
	RUN(parse_refuses);
	return harness_done();
}
