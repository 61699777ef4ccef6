/* cmd_dump.c - strobe dump PID: one snapshot of a Python process's stacks,
 * printed as Tachyon's `dump` prints it (traceback-like sections, root
 * first, with the source line of every frame). */
#include "cmd.h"

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/intern.h"
#include "base/utf8.h"
#include "cli.h"
#include "model/sample.h"
#include "out/textenc.h"
#include "py/asyncio.h"
#include "py/opcodes.h"
#include "py/runtime.h"
#include "py/walk.h"
#include "target/mem.h"
#include "target/ptrace.h"
#include "target/rootfs.h"
#include "target/task.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A torn read (the target changed under us) is retried this often, this
 * far apart, before giving up. */
#define DUMP_ATTEMPTS 50
#define DUMP_RETRY_NS 2000000ULL
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
	struct rootfs_fileid id; /* the file (names that lead to it share it) */
	bool ok;
	struct buf text;
	uint32_t *line_start; /* byte offsets into text, nlines + 1 entries */
	size_t nlines, cap;
};

/* A file name of the profile and its source (-1: none). */
struct source_name {
	uint32_t file; /* string id */
	int src;
};

struct sources {
	const struct rootfs *rootfs; /* the target's files; NULL: none read */
	struct source_name names[SOURCE_MAX_FILES];
	size_t nnames;
	struct source files[SOURCE_MAX_FILES];
	size_t n;
	size_t budget; /* bytes of source still allowed (SOURCE_BUDGET) */
};

/* Line starts on universal newlines (\n, \r\n, \r), as text-mode readlines. */
static void source_split(struct source *src)
{
	const char *s = src->text.data ? src->text.data : "";
	size_t n = src->text.len;
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

/* The source of the file that name leads to, read now if no other name
 * led to it before: -1 when there is none to show. */
static int source_load(struct sources *ss, const char *name)
{
	struct rootfs_fileid id;
	if (!ss->rootfs || rootfs_probe(ss->rootfs, name, &id) != 0)
		return -1;
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
	 * credentials; linecache shows nothing of a file it cannot decode */
	bool exact = false;
	src->ok = rootfs_read_source(ss->rootfs, name, ss->budget, ROOTFS_DECODE_PYTHON,
				     &src->text, &exact, &id) == 0 &&
		  exact;
	if (src->ok) {
		ss->budget -= src->text.len < ss->budget ? src->text.len : ss->budget;
		source_split(src);
	} else {
		buf_release(&src->text);
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
	const char *s = src->text.data;
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
		buf_release(&ss->files[i].text);
		free(ss->files[i].line_start);
	}
}

/* ---- characters of a source line ------------------------------------------- */

/* Python's str.isspace, for what str.lstrip removes. */
static bool py_space(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 ||
	       c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
	       c == 0x202f || c == 0x205f || c == 0x3000;
}

/* Byte offset of character k of s (s valid UTF-8), or n. */
static size_t char_to_byte(const char *s, size_t n, size_t k)
{
	size_t i = 0;
	uint32_t cp;
	while (i < n && k--)
		i += utf8_decode((const unsigned char *)s + i, n - i, &cp);
	return i;
}

static size_t char_count(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}

/* traceback._byte_offset_to_character_offset: characters in the first
 * off bytes, a cut sequence counting as one. */
static long byte_to_char(const char *s, size_t n, long off)
{
	if (off < 0)
		return off;
	return (long)char_count(s, (size_t)off < n ? (size_t)off : n);
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
					  : (long)char_count(line, len);
		if (start < 0 || end <= start)
			start = end = -1;
	}
	/* _trim_source_line: lstrip, offsets moved along */
	size_t lead = 0, skip = 0;
	uint32_t cp;
	while (skip < len) {
		size_t k = utf8_decode((const unsigned char *)line + skip, len - skip, &cp);
		if (!py_space(cp))
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
		long nchars = (long)char_count(line, len);
		start = start - (long)lead > 0 ? start - (long)lead : 0;
		end = end - (long)lead > start + 1 ? end - (long)lead : start + 1;
		if (end > nchars)
			end = nchars;
	}
	if (start < 0 || end <= start) {
		put_color_src(out, th, th->source, line, len);
	} else {
		size_t a = char_to_byte(line, len, (size_t)start);
		size_t b = char_to_byte(line, len, (size_t)end);
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
	pid_t pid;
	const struct py_runtime *rt;
	const struct strtab *strings;
	struct sources *src;
	const struct theme *th;
	char cwd[PATH_MAX];
	bool show_interp;
	/* --async-aware: sample thread i is the stack of leaf task
	 * leaf_ids[i] (its address, Tachyon's task id); NULL otherwise */
	const uint64_t *leaf_ids;
};

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
		py_opcode_format(d->rt->major, d->rt->minor, f->opcode, name, sizeof(name));
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
		buf_printf(&h, "Stack dump for PID %d, thread %llu", (int)d->pid,
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
		buf_printf(&m, "No Python stacks found for PID %d", (int)d->pid);
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

/* ---- the command --------------------------------------------------------------- */

static _Noreturn void die_exited(pid_t pid)
{
	die("No stack dump collected - process %d exited before its stack could be read.", (int)pid);
}

/* Take one consistent sample (async-aware when a is not NULL): retried
 * while reads are torn. */
static int take(struct py_walker *w, struct py_asyncio *a, struct sample *s,
		struct ptrace_pause *pp, bool blocking, pid_t pid)
{
	int rc = ERR_CORRUPT;
	for (int attempt = 0; attempt < DUMP_ATTEMPTS; attempt++) {
		if (attempt)
			clock_sleep_until(clock_now_ns() + DUMP_RETRY_NS);
		if (blocking) {
			rc = ptrace_pause_all(pp, pid);
			if (rc) {
				struct ptrace_pause why = *pp; /* release clears it */
				ptrace_pause_release(pp);
				if (rc == ERR_NOPROC)
					die_exited(pid);
				cmd_die_pause(rc, pid, &why);
			}
		}
		rc = a ? py_asyncio_sample(a, s) : py_walker_sample(w, s);
		if (blocking)
			ptrace_resume_all(pp);
		if (rc == 0 || rc == ERR_NOTREADY || rc == ERR_NOPROC)
			return rc;
		if (!task_alive(pid))
			return ERR_NOPROC;
	}
	return rc;
}

/* The leaf task of each stack py_asyncio_sample built, in its order: the
 * tasks of its graph that no task awaits (each address once). */
static uint64_t *leaf_tasks(const struct py_asyncio *a, size_t nstacks)
{
	const struct py_async_graph *g = &a->g;
	uint64_t *ids = xcalloc(nstacks ? nstacks : 1, sizeof(*ids));
	size_t k = 0;
	for (size_t i = 0; i < g->ntasks && k < nstacks; i++) {
		const struct py_async_task *t = &g->tasks[i];
		const uint64_t *at = u64map_get(&g->index, t->addr);
		if (u64map_get(&g->parent_set, t->addr) || !at || *at != i + 1)
			continue;
		ids[k++] = t->addr;
	}
	return ids;
}

int cmd_dump(const struct options *o)
{
	pid_t pid = o->pid;
	if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH))
		die("strobe cannot find the process: Process with PID '%d' does not exist.", (int)pid);

	struct mem_source mem;
	struct py_runtime rt;
	struct errmsg e = { "" };
	int rc = cmd_open_python(pid, &mem, &rt, &e);
	if (rc == ERR_NOPROC)
		die_exited(pid);
	if (rc)
		cmd_die_runtime(rc, pid, &e);
	cmd_check_native(o, &rt, pid, NULL);

	/* the target's files, held now: it may be gone once the stacks are read */
	struct sources *src = xcalloc(1, sizeof(*src));
	src->budget = SOURCE_BUDGET;
	struct rootfs rootfs;
	if (rootfs_open(&rootfs, &mem) == 0)
		src->rootfs = &rootfs;

	struct strtab strings;
	strtab_init(&strings);
	struct py_walker w;
	struct py_walk_config wc = {
		.all_threads = o->all_threads,
		/* every status bit, no thread left out; async-aware: wall,
		 * as Tachyon (its task stacks show no status) */
		.mode = o->async_aware ? PY_MODE_WALL : PY_MODE_ALL,
		.want_status = !o->async_aware,
		.gc = !o->no_gc,
		.native = o->native,
		.opcodes = o->opcodes,
	};
	py_walker_init(&w, &rt, &mem, &strings, &wc);
	/* --async-aware: every task by default (dump's --async-mode is all
	 * unless given) */
	struct py_asyncio *async = NULL;
	if (o->async_aware) {
		struct options ao = *o;
		if (!ao.async_mode_given)
			ao.async_mode = 1;
		async = cmd_async_prepare(&ao, &w, &strings, NULL);
	}
	struct sample s;
	sample_init(&s);
	struct ptrace_pause pp;
	ptrace_pause_init(&pp);

	/* no signal handlers: a Ctrl-C or SIGTERM during a --blocking pause
	 * is held by ptrace_pause_all until the threads run again, then ends
	 * strobe by its default action */
	rc = take(&w, async, &s, &pp, o->blocking, pid);
	ptrace_pause_release(&pp);
	/* a stack read once the process opened has exited may be another's
	 * that took its PID: not shown */
	if (rc == ERR_NOPROC || !mem_alive(&mem))
		die_exited(pid);
	if (rc == ERR_NOTREADY)
		sample_clear(&s);
	else if (rc)
		die("strobe cannot read a consistent stack of process %d: %s", (int)pid, err_str(rc));
	/* read as what it is now, if it changed users since */
	if (src->rootfs)
		rootfs_refresh(&rootfs, &mem);

	struct dump d = {
		.pid = pid,
		.rt = &rt,
		.strings = &strings,
		.src = src,
		.th = cmd_want_color() ? &theme_color : &theme_plain,
	};
	if (!getcwd(d.cwd, sizeof(d.cwd)))
		d.cwd[0] = '\0';
	uint64_t *leaf_ids = async ? leaf_tasks(async, s.nthreads) : NULL;
	d.leaf_ids = leaf_ids;
	struct buf out = BUF_INIT;
	format_dump(&out, &d, &s);
	fwrite(out.data ? out.data : "", 1, out.len, stdout);
	int status = fflush(stdout) == 0 ? 0 : 1;

	buf_release(&out);
	free(leaf_ids);
	cmd_async_release(async);
	sample_release(&s);
	py_walker_release(&w);
	strtab_release(&strings);
	sources_release(src);
	free(src);
	rootfs_release(&rootfs);
	mem_close(&mem);
	return status;
}
