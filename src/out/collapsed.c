/* collapsed.c - collapsed stacks (--collapsed), Tachyon's
 * CollapsedStackCollector byte for byte:
 *
 *     tid:<tid>;<root frame>;...;<leaf frame> <count>\n
 *
 * A frame is "basename(file):func:line", or the bare func for a synthetic
 * frame (file "~" and no line: <GC>, <native>).  A frame with no line shows
 * line 0 (Tachyon's lineno of a frame without location).
 *
 * Tachyon counts per (tuple of (full file, line, func), thread id) and only
 * then renders; so two stacks that differ only in directories stay two lines
 * with the same text, while two profile stacks that Tachyon cannot tell apart
 * (line 0 vs no line, or one tid seen in two interpreters) become one line.
 * Lines are sorted by count descending, then by the text ascending (Python
 * compares code points; memcmp on UTF-8 is the same order), then first seen.
 * Names are written as the bytes the walker produced (Tachyon encodes with
 * "surrogatepass", which is what strobe's strings hold already).
 *
 * With no req->path the lines go to req->stdout_fp (the command layer names
 * the default file "collapsed_<pid>.txt" itself).
 */
#include "out/out.h"

#include "base/buf.h"
#include "base/error.h"
#include "base/intern.h"
#include "model/profile.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct fkey {
	uint32_t file;
	uint32_t func;
	int32_t line; /* FRAME_NO_LINE already mapped to 0 */
};

struct line {
	size_t off, len; /* text without the count, in the text buffer */
	const char *text;
	uint64_t count;
	uint32_t order;
};

static int cmp_lines(const void *pa, const void *pb)
{
	const struct line *a = pa, *b = pb;
	if (a->count != b->count)
		return a->count < b->count ? 1 : -1;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->text, b->text, n);
	if (c == 0)
		c = (a->len > b->len) - (a->len < b->len);
	if (c == 0)
		c = (a->order > b->order) - (a->order < b->order);
	return c;
}

static void put_frame(struct buf *b, const struct profile *p, const struct fkey *k)
{
	size_t flen, nlen;
	const char *file = strtab_get(&p->strings, k->file, &flen);
	const char *func = strtab_get(&p->strings, k->func, &nlen);
	if (flen == 1 && file[0] == '~' && k->line == 0) {
		buf_append(b, func, nlen);
		return;
	}
	const char *slash = flen ? memrchr(file, '/', flen) : NULL;
	const char *base = slash ? slash + 1 : file;
	buf_append(b, base, flen - (size_t)(base - file));
	buf_putc(b, ':');
	buf_append(b, func, nlen);
	buf_printf(b, ":%" PRId32, k->line);
}

/* Group the entries as Tachyon's Counter does, render, sort. */
static struct line *collapse(const struct profile *p, struct buf *text, size_t *nlines)
{
	struct rectab keys; /* struct fkey */
	struct strtab groups; /* tid + key ids root first, as bytes */
	rectab_init(&keys, sizeof(struct fkey));
	strtab_init(&groups);
	struct line *lines = xmalloc((p->nentries ? p->nentries : 1) * sizeof(*lines));
	size_t n = 0;
	uint32_t *stack = NULL, *ids = NULL;
	size_t stack_cap = 0, ids_cap = 0;

	for (size_t e = 0; e < p->nentries; e++) {
		const struct profile_entry *ent = &p->entries[e];
		size_t depth = profile_stack_fill(p, ent->node, &stack, &stack_cap);
		if (depth == 0)
			continue;
		VEC_RESERVE(ids, ids_cap, depth + 2);
		uint64_t tid = profile_thread_get(p, ent->thread)->tid;
		memcpy(ids, &tid, sizeof(tid));
		for (size_t i = 0; i < depth; i++) {
			const struct profile_frame *f = profile_frame_get(p, stack[depth - 1 - i]);
			struct fkey k = { .file = f->file, .func = f->func,
					  .line = f->line == FRAME_NO_LINE ? 0 : f->line };
			ids[2 + i] = rectab_intern(&keys, &k, NULL);
		}
		uint32_t g = strtab_intern(&groups, (const char *)ids, (depth + 2) * sizeof(*ids));
		if (g < n) {
			lines[g].count += ent->count;
			continue;
		}
		struct line *l = &lines[n++];
		l->order = g;
		l->count = ent->count;
		l->off = text->len;
		buf_printf(text, "tid:%" PRIu64, tid);
		for (size_t i = 0; i < depth; i++) {
			buf_putc(text, ';');
			put_frame(text, p, (const struct fkey *)rectab_get(&keys, ids[2 + i]));
		}
		l->len = text->len - l->off;
	}
	free(ids);
	free(stack);
	strtab_release(&groups);
	rectab_release(&keys);

	for (size_t i = 0; i < n; i++)
		lines[i].text = text->data + lines[i].off;
	qsort(lines, n, sizeof(*lines), cmp_lines);
	*nlines = n;
	return lines;
}

/* Declared for the table in out.c. */
int out_collapsed_write(const struct profile *p, const struct out_request *req, bool *written);

int out_collapsed_write(const struct profile *p, const struct out_request *req, bool *written)
{
	struct buf text = BUF_INIT;
	size_t n;
	int rc = 0;
	*written = false;
	struct line *lines = collapse(p, &text, &n);

	/* straight from the sorted lines to the stream: no second copy of
	 * the text (a profile of a million stacks is hundreds of MiB of it) */
	FILE *f = req->path ? fopen(req->path, "wb") : req->stdout_fp ? req->stdout_fp : stdout;
	if (!f) {
		rc = ERR_IO;
		goto out;
	}
	bool ok = true;
	for (size_t i = 0; i < n && ok; i++)
		ok = fwrite(lines[i].text, 1, lines[i].len, f) == lines[i].len &&
		     fprintf(f, " %" PRIu64 "\n", lines[i].count) > 0;
	if (req->path) {
		if (fclose(f) != 0)
			ok = false;
		*written = ok;
	} else if (fflush(f) != 0) {
		ok = false;
	}
	rc = ok ? 0 : ERR_IO;
out:
	free(lines);
	buf_release(&text);
	return rc;
}
