/* test_dump.c - `strobe dump`'s text (format/dump.c) from a sample made here:
 * Tachyon's sections and frame lines, source lines through the request's
 * reader (read once per file), the executing range in colour, opcode
 * names, task sections and what is left out. */
#include "harness.h"

#include "base/buf.h"
#include "base/error.h"
#include "base/intern.h"
#include "model/sample.h"
#include "format/dump.h"
#include "format/out.h"

#include <stdlib.h>
#include <string.h>

/* The profiled process's files, as out_source_fn sees them. */
struct files {
	const char *path, *text;
	unsigned reads, looks;
};

static int read_source(void *ctx, const char *path, size_t max, enum out_source_text how,
		       char **text, size_t *len, bool *exact, struct out_source_id *id)
{
	struct files *f = ctx;
	CHECK(how == OUT_SOURCE_PYTHON);
	if (strcmp(path, f->path) != 0)
		return ERR_NOTFOUND;
	if (max == 0) {
		f->looks++;
		*text = xstrdup("");
	} else {
		f->reads++;
		*text = xstrdup(f->text);
		*len = strlen(f->text);
	}
	*exact = true;
	if (id)
		*id = (struct out_source_id){ 1, 2 };
	return 0;
}

static const char *opcode_name(void *ctx, int op, int *base)
{
	(void)ctx;
	if (base)
		*base = op == 5 ? 3 : op;
	return op == 5 ? "BINARY_OP_ADD_INT" : op == 3 ? "BINARY_OP" : NULL;
}

struct tf {
	const char *file, *func;
	int line, col, end_col, opcode;
};

/* Append a thread with frames innermost first. */
static void add_thread(struct sample *s, struct strtab *st, uint64_t tid, uint32_t status,
		       const struct tf *fr, uint32_t n)
{
	struct thread_sample *t = sample_add_thread(s);
	t->tid = tid;
	t->status = status;
	t->first = (uint32_t)s->nframes;
	struct frame *f = sample_reserve_frames(s, n);
	for (uint32_t k = 0; k < n; k++)
		f[k] = (struct frame){ .file = strtab_intern_cstr(st, fr[k].file),
				       .func = strtab_intern_cstr(st, fr[k].func),
				       .line = fr[k].line, .end_line = -1, .col = fr[k].col,
				       .end_col = fr[k].end_col, .opcode = fr[k].opcode };
	s->nframes += n;
	t->depth = n;
}

static const char source[] = "main()\ndef g():\n    return  g(1)\n";

static const struct tf main_thread[] = {
	{ "/app/x.py", "f", 3, 12, 16, FRAME_NO_OPCODE },
	{ "/app/x.py", "main", 1, -1, -1, FRAME_NO_OPCODE },
};
static const struct tf other_thread[] = {
	{ "~", "<GC>", FRAME_NO_LINE, -1, -1, FRAME_NO_OPCODE },
	{ "/app/x.py", "g", 2, -1, -1, 5 },
	{ "<frozen runpy>", "_run", 7, -1, -1, 200 },
};

static char *dump(const struct sample *s, const struct strtab *st, const uint64_t *leaf_ids,
		  struct out_request *req)
{
	struct buf b = BUF_INIT;
	out_dump_write(&b, s, st, leaf_ids, NULL, req);
	return b.data ? b.data : xstrdup("");
}

TEST(threads)
{
	struct strtab st;
	strtab_init(&st);
	struct sample s;
	sample_init(&s);
	add_thread(&s, &st, 7, STATUS_MAIN_THREAD | STATUS_HAS_GIL, main_thread, 2);
	add_thread(&s, &st, 8, 0, other_thread, 3);
	struct files files = { "/app/x.py", source, 0, 0 };
	struct out_request req = { .pid = 42, .source = read_source, .source_ctx = &files,
				   .opcode_name = opcode_name };
	char *got = dump(&s, &st, NULL, &req);
	CHECK_STR(got,
		  "Stack dump for PID 42, thread 7 (main thread, has GIL; most recent call last):\n"
		  "  File \"/app/x.py\", line 1, in main\n"
		  "    main()\n"
		  "  File \"/app/x.py\", line 3, in f\n"
		  "    return  g(1)\n"
		  "\n"
		  "Stack dump, thread 8 (idle; most recent call last):\n"
		  "  File \"<frozen runpy>\", line 7, in _run  opcode=<200>\n"
		  "  File \"/app/x.py\", line 2, in g  opcode=BINARY_OP_ADD_INT (BINARY_OP)\n"
		  "    def g():\n"
		  "  <GC>\n");
	/* one file behind one name: looked at and read once */
	CHECK_EQ_INT(files.looks, 1);
	CHECK_EQ_INT(files.reads, 1);
	free(got);

	/* colour: the theme's escapes only, the executing range highlighted */
	req.color = true;
	got = dump(&s, &st, NULL, &req);
	static const char head[] = "\x1b[1;34mStack dump for PID 42, thread 7 (main thread, has "
				   "GIL; most recent call last):\x1b[0m\n";
	CHECK(strncmp(got, head, sizeof(head) - 1) == 0);
	CHECK(strstr(got, "    \x1b[37mreturn  \x1b[0m\x1b[1;33mg(1)\x1b[0m\n") != NULL);
	CHECK(strstr(got, "  \x1b[90mopcode=BINARY_OP_ADD_INT (BINARY_OP)\x1b[0m\n") != NULL);
	free(got);

	/* no reader: no source lines; no opcode names: the number */
	req.color = false;
	req.source = NULL;
	req.opcode_name = NULL;
	got = dump(&s, &st, NULL, &req);
	CHECK(strstr(got, "    main()") == NULL);
	CHECK(strstr(got, "in g  opcode=<5>\n") != NULL);
	free(got);
	sample_release(&s);
	strtab_release(&st);
}

TEST(tasks_and_nothing)
{
	struct strtab st;
	strtab_init(&st);
	struct sample s;
	sample_init(&s);
	static const struct tf internal[] = {
		{ "/usr/lib/python3.15/profiling/_sync_coordinator.py", "wait", 9, -1, -1,
		  FRAME_NO_OPCODE },
	};
	add_thread(&s, &st, 7, STATUS_HAS_GIL, main_thread, 2);
	add_thread(&s, &st, 7, 0, internal, 1);
	uint64_t leaves[] = { 4096, 8192 };
	struct out_request req = { .pid = 42 };
	/* a task whose frames are all the profiler's own has no section */
	char *got = dump(&s, &st, leaves, &req);
	CHECK_STR(got, "Stack dump for PID 42, thread 7 (task 4096; most recent call last):\n"
		       "  File \"/app/x.py\", line 1, in main\n"
		       "  File \"/app/x.py\", line 3, in f\n");
	free(got);
	sample_clear(&s);
	got = dump(&s, &st, NULL, &req);
	CHECK_STR(got, "No Python stacks found for PID 42\n");
	free(got);
	sample_release(&s);
	strtab_release(&st);
}

int main(void)
{
	RUN(threads);
	RUN(tasks_and_nothing);
	return harness_done();
}
