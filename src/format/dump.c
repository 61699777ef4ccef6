/* dump.c - `strobe dump`'s text (format/dump.h): Tachyon's traceback-like
 * sections, with the source line of every frame read as the target reads
 * it (req->source) and decoded as linecache would. */
#include "format/dump.h"

#include "base/buf.h"
#include "base/error.h"
#include "base/intern.h"
#include "base/pytext.h"
#include "base/utf8.h"
#include "model/sample.h"
#include "format/out.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Bytes of source all the files of one dump may hold together: a dump
 * shows one line per frame, and a target may name its code after large
 * files, or one file under many names ("/x", "//x", "/a/../x", which are
 * read once).  What does not fit is not shown; a file shown is held with a
 * 4-byte offset per line. */
#define SOURCE_BUDGET (16u << 20)
/* Distinct source file names looked at per dump. */
#define SOURCE_MAX_FILES 256

/* _colorize's "profiler_dump" theme (all empty without colour). */
struct theme {
	const char *header, *frame, *filename, *line_no, *source, *source_highlight, *opcode,
		*warning, *reset;
};

static const struct theme theme_color = {
	.header = "\x1b[1;34m",           /* BOLD_BLUE */
	.frame = "\x1b[1;32m",            /* BOLD_GREEN */
	.filename = "\x1b[36m",           /* CYAN */
	.line_no = "\x1b[33m",            /* YELLOW */
	.source = "\x1b[37m",             /* WHITE */
	.source_highlight = "\x1b[1;33m", /* BOLD_YELLOW */
	.opcode = "\x1b[90m",             /* GREY */
	.warning = "\x1b[33m",            /* YELLOW */
	.reset = "\x1b[0m",
};
static const struct theme theme_plain = { "", "", "", "", "", "", "", "", "" };

/* Tachyon's _color: text wrapped in a colour and a reset, if any colour.
 * The text holds the target's names and source lines: its control
 * characters are shown escaped (base/utf8.h), so the only escape
 * sequences the terminal gets are the theme's.  flags: UTF8_TERM_*. */
static void put_color_flags(struct buf *out, const struct theme *th, const char *color,
			    const char *text, size_t len, unsigned flags)
{
	if (*color)
		buf_puts(out, color);
	utf8_term_escape(out, text, len, flags);
	if (*color)
		buf_puts(out, th->reset);
}

static void put_color(struct buf *out, const struct theme *th, const char *color, const char *text,
		      size_t len)
{
	put_color_flags(out, th, color, text, len, 0);
}

/* A piece of a source line: code, where tabs and backslashes are as
 * common as harmless, kept. */
static void put_color_src(struct buf *out, const struct theme *th, const char *color,
			  const char *text, size_t len)
{
	put_color_flags(out, th, color, text, len, UTF8_TERM_KEEP_TAB | UTF8_TERM_KEEP_BACKSLASH);
}

/* ---- source lines ------------------------------------------------------- */

/* One source file as linecache would hold it: decoded to UTF-8, split on
 * universal newlines.  ok is false when it could not be read or decoded
 * (then it has no lines, as linecache.getline returns ""). */
struct source {
	struct out_source_id id; /* the file (names that lead to it share it) */
	bool ok;
	char *text;
	size_t len;
	uint32_t *line_start; /* byte offsets into text, nlines + 1 entries */
	size_t nlines, cap;
};

/* A file name of the profile and its source (-1: none). */
struct source_name {
	uint32_t file; /* string id */
	int src;
};

struct sources {
	const struct out_request *req; /* req->source reads the target's files */
	struct source_name names[SOURCE_MAX_FILES];
	size_t nnames;
	struct source files[SOURCE_MAX_FILES];
	size_t n;
	size_t budget; /* bytes of source still allowed (SOURCE_BUDGET) */
};

/* Line starts on universal newlines (\n, \r\n, \r), as text-mode readlines. */
static void source_split(struct source *src)
{
	const char *s = src->text ? src->text : "";
	size_t n = src->len;
	assert(n <= UINT32_MAX);
	VEC_RESERVE(src->line_start, src->cap, 1);
	src->line_start[0] = 0;
	src->nlines = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\n' && s[i] != '\r')
			continue;
		if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
			i++;
		VEC_RESERVE(src->line_start, src->cap, src->nlines + 2);
		src->line_start[++src->nlines] = (uint32_t)(i + 1);
	}
	if (src->line_start[src->nlines] < n) {
		VEC_RESERVE(src->line_start, src->cap, src->nlines + 2);
		src->line_start[++src->nlines] = (uint32_t)n;
	}
}

/* req->source of name as Python source (out_source_fn: max 0 only looks
 * whether it can be read), the results cleared first.  *text is the
 * caller's when 0 is returned. */
static int source_call(const struct out_request *req, const char *name, size_t max, char **text,
		       size_t *len, bool *exact, struct out_source_id *id)
{
	*text = NULL;
	*len = 0;
	*exact = false;
	return req->source(req->source_ctx, name, max, OUT_SOURCE_PYTHON, text, len, exact, id);
}

/* The source of the file that name leads to, read now if no other name
 * led to it before: -1 when there is none to show. */
static int source_load(struct sources *ss, const char *name)
{
	struct out_source_id id;
	char *text;
	size_t len;
	bool exact;
	if (!ss->req->source || source_call(ss->req, name, 0, &text, &len, &exact, &id) != 0)
		return -1;
	free(text);
	for (size_t i = 0; i < ss->n; i++)
		if (ss->files[i].id.dev == id.dev && ss->files[i].id.ino == id.ino)
			return (int)i;
	if (ss->n == SOURCE_MAX_FILES)
		return -1;
	struct source *src = &ss->files[ss->n];
	memset(src, 0, sizeof(*src));
	src->id = id;
	/* as the target reads it: its root for absolute names, its working
	 * directory for relative ones (3.8 keeps script names as given), its
	 * credentials; linecache shows nothing of a file it cannot decode.
	 * With the budget spent nothing more is read (a read of at most 0
	 * bytes is only a look). */
	src->ok = ss->budget > 0 &&
		  source_call(ss->req, name, ss->budget, &src->text, &src->len, &exact, &id) == 0 &&
		  exact;
	if (src->ok) {
		ss->budget -= src->len < ss->budget ? src->len : ss->budget;
		source_split(src);
	} else {
		free(src->text);
		src->text = NULL;
		src->len = 0;
	}
	return (int)ss->n++;
}

static struct source *source_get(struct sources *ss, const struct strtab *strings, uint32_t file)
{
	for (size_t i = 0; i < ss->nnames; i++)
		if (ss->names[i].file == file)
			return ss->names[i].src >= 0 ? &ss->files[ss->names[i].src] : NULL;
	if (ss->nnames == SOURCE_MAX_FILES)
		return NULL;
	struct source_name *sn = &ss->names[ss->nnames++];
	sn->file = file;
	sn->src = -1;
	size_t len;
	const char *name = strtab_get(strings, file, &len);
	/* "<frozen runpy>", "<string>": linecache has no file for them */
	if (!len || strlen(name) != len || (name[0] == '<' && name[len - 1] == '>'))
		return NULL;
	sn->src = source_load(ss, name);
	return sn->src >= 0 ? &ss->files[sn->src] : NULL;
}

/* Line lineno (1-based) without its newline, or NULL. */
static const char *source_line(const struct source *src, int lineno, size_t *len)
{
	if (!src || !src->ok || lineno <= 0 || (size_t)lineno > src->nlines)
		return NULL;
	size_t a = src->line_start[lineno - 1], b = src->line_start[lineno];
	const char *s = src->text;
	if (b > a && s[b - 1] == '\n')
		b--;
	if (b > a && s[b - 1] == '\r')
		b--;
	*len = b - a;
	return s + a;
}

static void sources_release(struct sources *ss)
{
	for (size_t i = 0; i < ss->n; i++) {
		free(ss->files[i].text);
		free(ss->files[i].line_start);
	}
}

/* ---- characters of a source line ------------------------------------------- */

/* traceback._byte_offset_to_character_offset: characters in the first
 * off bytes, a cut sequence counting as one. */
static long byte_to_char(const char *s, size_t n, long off)
{
	if (off < 0)
		return off;
	return (long)utf8_count(s, (size_t)off < n ? (size_t)off : n);
}

/* "    <source line>\n" (left-stripped), the executing range highlighted;
 * nothing for a blank line. */
static void put_source(struct buf *out, const struct theme *th, const struct frame *f,
		       const char *line, size_t len)
{
	/* _source_offsets: the character range of the location, if any */
	long start = -1, end = -1;
	int end_line = f->end_line >= 0 ? f->end_line : f->line;
	if (f->col >= 0 && f->end_col >= 0 && end_line >= f->line) {
		start = byte_to_char(line, len, f->col);
		end = end_line == f->line ? byte_to_char(line, len, f->end_col)
					  : (long)utf8_count(line, len);
		if (start < 0 || end <= start)
			start = end = -1;
	}
	/* _trim_source_line: lstrip, offsets moved along */
	size_t lead = 0, skip = 0;
	uint32_t cp;
	while (skip < len) {
		size_t k = utf8_decode((const unsigned char *)line + skip, len - skip, &cp);
		if (!pytext_isspace(cp))
			break;
		skip += k;
		lead++;
	}
	line += skip;
	len -= skip;
	if (!len)
		return;
	buf_puts(out, "    ");
	if (start >= 0) {
		long nchars = (long)utf8_count(line, len);
		start = start - (long)lead > 0 ? start - (long)lead : 0;
		end = end - (long)lead > start + 1 ? end - (long)lead : start + 1;
		if (end > nchars)
			end = nchars;
	}
	if (start < 0 || end <= start) {
		put_color_src(out, th, th->source, line, len);
	} else {
		size_t a = utf8_offset(line, len, (size_t)start);
		size_t b = utf8_offset(line, len, (size_t)end);
		if (a)
			put_color_src(out, th, th->source, line, a);
		put_color_src(out, th, th->source_highlight, line + a, b - a);
		if (b < len)
			put_color_src(out, th, th->source, line + b, len - b);
	}
	buf_putc(out, '\n');
}

/* ---- file names -------------------------------------------------------------- */

/* Lexical normalisation of an absolute path (os.path.normpath). */
static void normpath(char *p)
{
	char *out = p, *in = p;
	size_t keep = 0; /* length of out */
	while (*in) {
		while (*in == '/')
			in++;
		if (!*in)
			break;
		char *seg = in;
		while (*in && *in != '/')
			in++;
		size_t n = (size_t)(in - seg);
		if (n == 1 && seg[0] == '.')
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			while (keep > 0 && out[keep - 1] != '/')
				keep--;
			if (keep > 0)
				keep--;
			continue;
		}
		out[keep++] = '/';
		memmove(out + keep, seg, n);
		keep += n;
	}
	if (!keep)
		out[keep++] = '/';
	out[keep] = '\0';
}

/* Tachyon's _display_filename: relative to the working directory when
 * the file lies inside it, else as recorded. */
static const char *display_name(const char *file, const char *cwd, char *buf, size_t size)
{
	if (!*file || !strcmp(file, "~") || !*cwd)
		return file;
	int n = file[0] == '/' ? snprintf(buf, size, "%s", file)
			       : snprintf(buf, size, "%s/%s", cwd, file);
	if (n < 0 || (size_t)n >= size)
		return file;
	normpath(buf);
	size_t c = strlen(cwd);
	if (!strcmp(buf, cwd))
		return ".";
	if (c == 1 && cwd[0] == '/')
		return buf + 1;
	if (!strncmp(buf, cwd, c) && buf[c] == '/')
		return buf + c + 1;
	return file;
}

/* ---- sections ------------------------------------------------------------------ */

static bool internal_file(const char *s, size_t n)
{
	static const char suffix[] = "_sync_coordinator.py";
	size_t k = sizeof(suffix) - 1;
	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

static void put_status(struct buf *d, uint32_t st)
{
	static const struct {
		uint32_t flag;
		const char *label;
	} labels[] = {
		{ STATUS_MAIN_THREAD, "main thread" },
		{ STATUS_HAS_GIL, "has GIL" },
		{ STATUS_ON_CPU, "on CPU" },
		{ STATUS_GIL_REQUESTED, "waiting for GIL" },
		{ STATUS_HAS_EXCEPTION, "has exception" },
	};
	size_t start = d->len;
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if (st & labels[i].flag) {
			if (d->len > start)
				buf_puts(d, ", ");
			buf_puts(d, labels[i].label);
		}
	if (!(st & (STATUS_HAS_GIL | STATUS_GIL_REQUESTED | STATUS_HAS_EXCEPTION | STATUS_UNKNOWN |
		    STATUS_ON_CPU))) {
		if (d->len > start)
			buf_puts(d, ", ");
		buf_puts(d, "idle");
	}
}

struct dump {
	const struct out_request *req; /* pid, opcode names */
	const struct strtab *strings;
	struct sources *src;
	const struct theme *th;
	char cwd[PATH_MAX];
	bool show_interp;
	/* --async-aware: sample thread i is the stack of leaf task
	 * leaf_ids[i] (its address, Tachyon's task id); NULL otherwise */
	const uint64_t *leaf_ids;
	const struct out_dump_locals *locals; /* --locals, else NULL */
};

/* Tachyon's text for an opcode: "NAME", "SPECIALIZED (BASE)" for a
 * specialized one, "<N>" when the recording Python's tables do not name
 * it. */
static void opcode_text(const struct out_request *req, int op, char *buf, size_t size)
{
	int base = -1;
	const char *name = req->opcode_name ? req->opcode_name(req->opcode_ctx, op, &base) : NULL;
	const char *bname = name && base >= 0 && base != op ? req->opcode_name(req->opcode_ctx, base, NULL)
							   : NULL;
	if (!name)
		snprintf(buf, size, "<%d>", op);
	else if (bname)
		snprintf(buf, size, "%s (%s)", name, bname);
	else
		snprintf(buf, size, "%s", name);
}

/* --locals: frame i's local variables, a line each, under its source line
 * (8 spaces, as py-spy's dump). */
static void put_locals(struct buf *out, const struct dump *d, size_t i)
{
	const struct out_dump_locals *lc = d->locals;
	if (!lc || i >= lc->nframes)
		return;
	const char *p = lc->text + lc->off[i], *end = lc->text + lc->off[i + 1];
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		buf_puts(out, "        ");
		/* a repr's backslashes are its escapes */
		put_color_flags(out, d->th, "", p, len, UTF8_TERM_KEEP_BACKSLASH);
		buf_putc(out, '\n');
		p += len + (nl != NULL);
	}
}

static void put_frame(struct buf *out, struct dump *d, const struct frame *f)
{
	const struct theme *th = d->th;
	size_t flen, qlen;
	const char *file = strtab_get(d->strings, f->file, &flen);
	const char *qual = strtab_get(d->strings, f->func, &qlen);
	int lineno = f->line > 0 ? f->line : 0;
	if ((!strcmp(file, "~") && lineno <= 0) || !*file) {
		/* <GC>, <native> */
		buf_puts(out, "  ");
		put_color(out, th, th->frame, qual, qlen);
	} else {
		char dbuf[PATH_MAX];
		/* a name with a NUL in it is shown whole, as recorded */
		const char *shown = strlen(file) == flen ? display_name(file, d->cwd, dbuf, sizeof(dbuf))
							 : file;
		size_t slen = shown == file ? flen : strlen(shown);
		struct buf q = BUF_INIT;
		buf_putc(&q, '"');
		buf_append(&q, shown, slen);
		buf_putc(&q, '"');
		buf_puts(out, "  File ");
		put_color(out, th, th->filename, q.data, q.len);
		buf_release(&q);
		if (lineno > 0) {
			char num[16];
			int n = snprintf(num, sizeof(num), "%d", lineno);
			buf_puts(out, ", line ");
			put_color(out, th, th->line_no, num, (size_t)n);
		}
		buf_puts(out, ", in ");
		put_color(out, th, th->frame, qual, qlen);
	}
	if (f->opcode != FRAME_NO_OPCODE) {
		char name[96], text[112];
		opcode_text(d->req, f->opcode, name, sizeof(name));
		int n = snprintf(text, sizeof(text), "opcode=%s", name);
		buf_puts(out, "  ");
		put_color(out, th, th->opcode, text, n > 0 && (size_t)n < sizeof(text) ? (size_t)n
											: strlen(text));
	}
	buf_putc(out, '\n');
	if (strcmp(file, "~") != 0 && *file && lineno > 0) {
		size_t len;
		const char *line = source_line(source_get(d->src, d->strings, f->file), lineno, &len);
		if (line && len)
			put_source(out, th, f, line, len);
	}
}

/* Frames of t that Tachyon shows (its own sampling frames left out). */
static size_t shown_frames(const struct dump *d, const struct sample *s,
			   const struct thread_sample *t)
{
	size_t n = 0;
	for (uint32_t k = 0; k < t->depth; k++) {
		size_t len;
		const char *file = strtab_get(d->strings, s->frames[t->first + k].file, &len);
		n += !internal_file(file, len);
	}
	return n;
}

static void put_section(struct buf *out, struct dump *d, const struct sample *s,
			const struct thread_sample *t, size_t index, bool first)
{
	const struct theme *th = d->th;
	struct buf h = BUF_INIT, det = BUF_INIT;
	if (first)
		buf_printf(&h, "Stack dump for PID %d, thread %llu", (int)d->req->pid,
			   (unsigned long long)t->tid);
	else
		buf_printf(&h, "Stack dump, thread %llu", (unsigned long long)t->tid);
	if (d->leaf_ids) {
		/* an async section: the leaf task, no interpreter or status */
		buf_printf(&det, "task %llu", (unsigned long long)d->leaf_ids[index]);
	} else {
		if (d->show_interp)
			buf_printf(&det, "interpreter %u", t->interp_id);
		struct buf st = BUF_INIT;
		put_status(&st, t->status);
		if (st.len) {
			if (det.len)
				buf_puts(&det, "; ");
			buf_append(&det, st.data, st.len);
		}
		buf_release(&st);
	}
	if (det.len)
		buf_printf(&h, " (%s; most recent call last):", det.data);
	else
		buf_puts(&h, " (most recent call last):");
	put_color(out, th, th->header, h.data, h.len);
	buf_putc(out, '\n');
	buf_release(&h);
	buf_release(&det);

	size_t shown = 0;
	for (uint32_t k = t->depth; k-- > 0;) {
		const struct frame *f = &s->frames[t->first + k];
		size_t n;
		const char *file = strtab_get(d->strings, f->file, &n);
		if (internal_file(file, n))
			continue;
		put_frame(out, d, f);
		put_locals(out, d, t->first + k);
		shown++;
	}
	if (!shown) {
		static const char none[] = "No Python frames";
		put_color(out, th, th->warning, none, sizeof(none) - 1);
		buf_putc(out, '\n');
	}
}

static void format_dump(struct buf *out, struct dump *d, const struct sample *s)
{
	/* async: a task stack left empty by the internal-frame filter is no
	 * section at all, as in Tachyon (a thread says "No Python frames") */
	size_t sections = 0;
	for (size_t i = 0; i < s->nthreads; i++)
		sections += !d->leaf_ids || shown_frames(d, s, &s->threads[i]) > 0;
	if (!sections) {
		struct buf m = BUF_INIT;
		buf_printf(&m, "No Python stacks found for PID %d", (int)d->req->pid);
		put_color(out, d->th, d->th->warning, m.data, m.len);
		buf_putc(out, '\n');
		buf_release(&m);
		return;
	}
	d->show_interp = false;
	for (size_t i = 1; i < s->nthreads; i++)
		if (s->threads[i].interp_id != s->threads[0].interp_id)
			d->show_interp = true;
	bool first = true;
	for (size_t i = 0; i < s->nthreads; i++) {
		if (d->leaf_ids && !shown_frames(d, s, &s->threads[i]))
			continue;
		if (!first)
			buf_putc(out, '\n');
		put_section(out, d, s, &s->threads[i], i, first);
		first = false;
	}
}

void out_dump_write(struct buf *out, const struct sample *s, const struct strtab *strings,
		    const uint64_t *leaf_ids, const struct out_dump_locals *locals,
		    const struct out_request *req)
{
	struct sources *src = xcalloc(1, sizeof(*src));
	src->req = req;
	src->budget = SOURCE_BUDGET;
	struct dump *d = xcalloc(1, sizeof(*d));
	*d = (struct dump){
		.req = req,
		.strings = strings,
		.src = src,
		.th = req->color ? &theme_color : &theme_plain,
		.leaf_ids = leaf_ids,
		.locals = locals,
	};
	/* file names are shown relative to strobe's working directory, as
	 * Tachyon's _display_filename does with its own */
	if (!getcwd(d->cwd, sizeof(d->cwd)))
		d->cwd[0] = '\0';
	format_dump(out, d, s);
	free(d);
	sources_release(src);
	free(src);
}
