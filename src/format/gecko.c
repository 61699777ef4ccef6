/* gecko.c - Firefox Profiler JSON (--gecko), as Tachyon's GeckoCollector
 * (CPython 3.15's profiling/sampling/gecko_collector.py) writes it: the
 * "processed" profile format, preprocessedProfileVersion 57, with Tachyon's
 * categories, per-thread tables, one global string array, and interval
 * markers made from thread status transitions, <GC> frames and (with
 * --opcodes) leaf opcode spans.
 *
 * It is a stream: every sample is turned into table entries as it comes.
 * What grows in memory is what is distinct: strings, and per thread the
 * func/resource/frame/stack tables (interned), plus a small fixed state per
 * thread.  Sample rows (stack index, time) and marker rows go to an unnamed
 * spill file (in the output's directory, or $TMPDIR when the output is not
 * a regular file: spill_open) through per-thread buffers (at most
 * SPILL_MAX bytes each); the only trace of the run's length left in memory
 * is a 16-byte chunk index entry per SPILL_MAX bytes spilled.  close() writes
 * the JSON, reading the spilled rows back column by column, to the output
 * made by out_file_create: a temporary file renamed into place once whole
 * (mode 0666 minus the umask, or the mode of the file it replaces, as every
 * strobe output; Tachyon's NamedTemporaryFile + os.replace leave 0600), or a
 * special file named by -o written through, never replaced.
 *
 * Semantics kept from Tachyon, on purpose (see the reference, section 2.6):
 *  - times are milliseconds since the first sample, computed from whole
 *    microseconds ((t_us - first_us) / 1000, a Python float); meta.interval
 *    is last time / number of add() calls (samples live, thread-samples in
 *    replay, as Tachyon counts collect() batches);
 *  - threads are keyed by tid and listed first-seen; a thread's status is
 *    tracked (markers) even when its stack is empty, but only non-empty
 *    stacks become samples; Tachyon's launcher frames (_sync_coordinator.py)
 *    are dropped first;
 *  - func key (file, func name); "Python" iff the file does not start with
 *    '<' or is <stdin>/<string> (so "~", the file of <GC>/<native>, is
 *    Python); frame key (func, line or none, column or none); stack key
 *    (frame, prefix), built root to leaf; a line of 0 is written as null;
 *  - the first observation of a thread only records its state; markers
 *    still open at the end are closed at the last sample's time, in the
 *    order Tachyon's _finalize_markers uses;
 *  - samples of one thread each, taken on each thread's own clock (the
 *    bpf engine: req->thread_clocks) are in time order per thread, not
 *    across threads: times then count from the earliest sample (not the
 *    first added, which may be later than another thread's next one), and
 *    meta.interval is the time spanned over the samples of the thread
 *    observed most (Tachyon's live batches hold every thread at once, so
 *    its count of add() calls is that);
 *  - strings are written with ensure_ascii escapes; they are valid UTF-8
 *    (sanitized as they enter the profile: a lone surrogate of the target's
 *    str is U+FFFD there), and any malformed part that got through becomes
 *    U+FFFD per maximal ill-formed subpart, as Python's errors="replace"
 *    decoder does (and as Tachyon's own replay decodes an encoded surrogate:
 *    three U+FFFD).
 */
#include "format/out.h"

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/hash.h"
#include "base/intern.h"
#include "base/json.h"
#include "model/profile.h"
#include "model/stackids.h"
#include "model/sample.h"
#include "format/outfile.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#define SPILL_MAX (64 * 1024)      /* per-thread buffer of spilled rows */
#define SPILL_FIRST 1024           /* its first allocation: idle threads stay small */
#define WBUF_SIZE (256 * 1024)     /* output buffer */
#define NONE_IDX UINT32_MAX

enum {
	CAT_OTHER, CAT_PYTHON, CAT_NATIVE, CAT_GC, CAT_GIL, CAT_CPU, CAT_CODE_TYPE, CAT_OPCODES,
	CAT_EXCEPTION,
};

static const struct {
	const char *name, *color;
} categories[] = {
	{ "Other", "grey" }, { "Python", "yellow" }, { "Native", "blue" }, { "GC", "orange" },
	{ "GIL", "green" }, { "CPU", "purple" }, { "Code Type", "red" }, { "Opcodes", "magenta" },
	{ "Exception", "lightblue" },
};

/* Interval states, in the order Tachyon's _finalize_markers closes them. */
enum mstate {
	M_HAS_GIL, M_NO_GIL, M_ON_CPU, M_OFF_CPU, M_PY_CODE, M_NATIVE_CODE, M_GIL_WAIT, M_GC,
	M_HAS_EXC, M_NO_EXC, M_COUNT,
	M_OPCODE = M_COUNT, /* kind of an opcode marker row */
};

static const struct {
	const char *name; /* marker name */
	const char *type; /* data.type: the name without spaces */
	int category;
} mstates[M_COUNT] = {
	[M_HAS_GIL] = { "Has GIL", "HasGIL", CAT_GIL },
	[M_NO_GIL] = { "No GIL", "NoGIL", CAT_GIL },
	[M_ON_CPU] = { "On CPU", "OnCPU", CAT_CPU },
	[M_OFF_CPU] = { "Off CPU", "OffCPU", CAT_CPU },
	[M_PY_CODE] = { "Python Code", "PythonCode", CAT_CODE_TYPE },
	[M_NATIVE_CODE] = { "Native Code", "NativeCode", CAT_CODE_TYPE },
	[M_GIL_WAIT] = { "Waiting for GIL", "WaitingforGIL", CAT_GIL },
	[M_GC] = { "GC Collecting", "GCCollecting", CAT_GC },
	[M_HAS_EXC] = { "Has Exception", "HasException", CAT_EXCEPTION },
	[M_NO_EXC] = { "No Exception", "NoException", CAT_EXCEPTION },
};

/* Spilled rows, fixed size, native byte order (the spill never leaves this
 * process). */
struct sample_row {
	uint32_t stack;
	uint32_t pad;
	int64_t t_us;
};

struct marker_row {
	int64_t start_us, end_us;
	uint32_t kind;     /* enum mstate, or M_OPCODE */
	uint32_t name;     /* gecko string index */
	int32_t opcode;    /* M_OPCODE: the opcode, its line (-1 none), column */
	int32_t line;
	int32_t col;
	uint32_t func;     /* M_OPCODE: function name, a profile string id */
};

struct spill_chunk {
	uint64_t off;
	uint32_t len;
};

/* One per-thread column of rows: a buffer and the chunks already spilled. */
struct spill {
	unsigned char *buf;
	size_t len, cap;
	struct spill_chunk *chunks;
	size_t nchunks, chunks_cap;
	uint64_t rows;
};

/* A funcTable row. */
struct gfunc {
	uint32_t name;      /* string index */
	uint32_t resource;
	uint32_t file;      /* string index of the basename, NONE_IDX for null */
	int32_t line;       /* lineNumber, when !line_null */
	uint8_t python;
	uint8_t line_null;
};

/* frameTable and stackTable keys (interned with memcmp: no padding). */
struct gframe {
	uint32_t func;
	int32_t line; /* -1: no location */
	int32_t col;  /* -1: none */
};

struct gstack {
	uint32_t frame;
	uint32_t prefix; /* NONE_IDX at the root */
};

struct gthread {
	uint64_t tid;
	bool main;
	bool initialized;
	uint64_t seen;               /* add()s that held this thread */
	uint16_t open;               /* bit per enum mstate */
	int64_t start[M_COUNT];      /* us since the first sample */

	/* leaf opcode span (--opcodes) */
	bool op_set;
	uint32_t op_seq;             /* order of the first span, for finalising */
	int32_t op, op_line, op_col;
	uint32_t op_func, op_file;
	int64_t op_start;

	struct u64map func_index;    /* file << 32 | func -> funcTable row */
	struct u64map res_index;     /* file -> resourceTable row */
	struct gfunc *funcs;
	size_t nfuncs, funcs_cap;
	uint32_t *res_names;
	size_t nres, res_cap;
	struct rectab frames;        /* struct gframe */
	struct rectab stacks;        /* struct gstack */

	/* the last stack, root first, with its stack index at every depth */
	struct frame *memo;
	uint32_t *memo_stack;
	size_t memo_depth, memo_cap;

	struct spill samples;        /* struct sample_row */
	struct spill markers;        /* struct marker_row */
};

/* What a profile string id is, computed once. */
enum {
	SF_KNOWN = 1,
	SF_INTERNAL = 2,  /* a file of Tachyon's launcher */
	SF_PYTHON = 4,    /* as a file name: Python code */
	SF_GC = 8,        /* as a function name: <GC> */
};

struct gecko {
	int err;                     /* sticky ERR_* of a spill write */
	int spill_fd;
	uint64_t spill_end;
	unsigned char *rbuf;         /* SPILL_MAX bytes, for reading chunks back */

	bool opcodes;
	out_opcode_name_fn opcode_name;
	void *opcode_ctx;
	double start_ms;             /* meta.startTime */

	struct strtab gstr;          /* shared.stringArray */
	uint32_t *func_gid;          /* by profile string id: index of the name */
	uint32_t *base_gid;          /* by profile string id: index of its basename */
	uint8_t *sflags;             /* by profile string id: SF_* */
	size_t ids_cap;

	struct u64map thread_index;  /* tid -> index in threads */
	struct gthread **threads;
	size_t nthreads, threads_cap;

	bool have_base;
	int64_t base_us;             /* time of the first sample */
	int64_t end_us;              /* time of the latest sample, relative */
	int64_t min_us;              /* time of the earliest sample, relative (<= 0) */
	uint64_t most_seen;          /* the largest gthread.seen */
	bool thread_clocks;          /* req->thread_clocks, at close */
	int64_t shift_us;            /* added to every time written */
	double last_ms;              /* time of the last sample added */
	uint64_t sample_count;       /* add() calls */
	double interval;
	uint32_t op_seq;

	struct frame *scratch;       /* a stack without launcher frames */
	size_t scratch_cap;
};

/* ---- numbers as Python's json writes them ------------------------------- */

/* repr(us / 1000): below 4e15 us a millisecond value's shortest repr is its
 * exact decimal (an ulp there is far below 0.001), so no search is needed. */
static size_t fmt_ms(char *out, int64_t us)
{
	if (us > -4000000000000000LL && us < 4000000000000000LL) {
		size_t o = 0;
		uint64_t a = us < 0 ? (uint64_t)-us : (uint64_t)us;
		if (us < 0)
			out[o++] = '-';
		o += json_fmt_u64(out + o, a / 1000);
		out[o++] = '.';
		unsigned f = (unsigned)(a % 1000);
		if (f == 0) {
			out[o++] = '0';
		} else {
			char d[3] = { (char)('0' + f / 100), (char)('0' + f / 10 % 10), (char)('0' + f % 10) };
			size_t n = 3;
			while (d[n - 1] == '0')
				n--;
			memcpy(out + o, d, n);
			o += n;
		}
		return o;
	}
	return json_fmt_double(out, (double)us / 1000.0);
}

static double ms_of(int64_t us)
{
	return (double)us / 1000.0;
}

/* repr(end_ms - start_ms), the duration Tachyon computes from two times in
 * ms.  When the difference is the double nearest to a whole number of us,
 * its repr is that decimal (as in fmt_ms); otherwise the search. */
static size_t fmt_duration(char *out, int64_t start_us, int64_t end_us)
{
	double d = ms_of(end_us) - ms_of(start_us);
	int64_t diff = (int64_t)((uint64_t)end_us - (uint64_t)start_us);
	if (diff > -4000000000000000LL && diff < 4000000000000000LL && ms_of(diff) == d && d != 0)
		return fmt_ms(out, diff);
	return json_fmt_double(out, d);
}

/* ---- the output file ---------------------------------------------------- */

struct jw {
	int fd;
	int err;
	int eno;       /* errno of the failed write */
	char *buf;
	size_t len;
	struct buf scratch; /* a JSON string being escaped */
};

static void jw_flush(struct jw *w)
{
	size_t off = 0;
	while (off < w->len && !w->err) {
		ssize_t n = write(w->fd, w->buf + off, w->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			w->err = ERR_IO;
			w->eno = errno;
			break;
		}
		off += (size_t)n;
	}
	w->len = 0;
}

static inline char *jw_room(struct jw *w, size_t n)
{
	if (w->len + n > WBUF_SIZE)
		jw_flush(w);
	return w->buf + w->len;
}

static void jw_raw(struct jw *w, const char *s, size_t n)
{
	while (n) {
		size_t k = n < WBUF_SIZE / 2 ? n : WBUF_SIZE / 2;
		memcpy(jw_room(w, k), s, k);
		w->len += k;
		s += k;
		n -= k;
	}
}

static void jw_puts(struct jw *w, const char *s)
{
	jw_raw(w, s, strlen(s));
}

static void jw_putc(struct jw *w, char c)
{
	*jw_room(w, 1) = c;
	w->len++;
}

static void jw_u64(struct jw *w, uint64_t v)
{
	w->len += json_fmt_u64(jw_room(w, 24), v);
}

static void jw_i64(struct jw *w, int64_t v)
{
	w->len += json_fmt_i64(jw_room(w, 24), v);
}

static void jw_double(struct jw *w, double x)
{
	w->len += json_fmt_double(jw_room(w, 40), x);
}

static void jw_ms(struct jw *w, int64_t us)
{
	w->len += fmt_ms(jw_room(w, 40), us);
}

static void jw_duration(struct jw *w, int64_t start_us, int64_t end_us)
{
	w->len += fmt_duration(jw_room(w, 40), start_us, end_us);
}

/* A JSON string as json.dumps(ensure_ascii=True) writes it: the one JSON
 * string writer (base/json.h), through the scratch buffer. */
static void jw_str(struct jw *w, const char *str, size_t n)
{
	buf_reset(&w->scratch);
	json_str(&w->scratch, str, n, true);
	jw_raw(w, w->scratch.data, w->scratch.len);
}

static void jw_cstr(struct jw *w, const char *s)
{
	jw_str(w, s, strlen(s));
}

static void jw_key(struct jw *w, const char *key)
{
	jw_putc(w, '"');
	jw_puts(w, key);
	jw_raw(w, "\":", 2);
}

/* "key":[tok,tok,...] with the same token n times */
static void jw_repeat(struct jw *w, const char *key, const char *tok, uint64_t n)
{
	jw_key(w, key);
	jw_putc(w, '[');
	size_t tl = strlen(tok);
	for (uint64_t i = 0; i < n; i++) {
		if (i)
			jw_putc(w, ',');
		jw_raw(w, tok, tl);
	}
	jw_putc(w, ']');
}

/* ---- spilling rows ------------------------------------------------------- */

static int spill_write(struct gecko *g, const unsigned char *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t k = pwrite(g->spill_fd, p, n, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k == 0)
				errno = ENOSPC;
			return ERR_IO;
		}
		p += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

static int spill_flush(struct gecko *g, struct spill *sp)
{
	if (!sp->len)
		return 0;
	if (g->err)
		return g->err;
	int rc = spill_write(g, sp->buf, sp->len, g->spill_end);
	if (rc) {
		g->err = rc;
		return rc;
	}
	VEC_RESERVE(sp->chunks, sp->chunks_cap, sp->nchunks + 1);
	sp->chunks[sp->nchunks++] = (struct spill_chunk){ g->spill_end, (uint32_t)sp->len };
	g->spill_end += sp->len;
	sp->len = 0;
	return 0;
}

static int spill_add(struct gecko *g, struct spill *sp, const void *row, size_t size)
{
	if (sp->len + size > sp->cap) {
		if (sp->cap < SPILL_MAX) {
			size_t cap = sp->cap ? sp->cap * 2 : SPILL_FIRST;
			sp->buf = xrealloc(sp->buf, cap < SPILL_MAX ? cap : SPILL_MAX);
			sp->cap = cap < SPILL_MAX ? cap : SPILL_MAX;
		}
		if (sp->len + size > sp->cap) {
			int rc = spill_flush(g, sp);
			if (rc)
				return rc;
		}
	}
	memcpy(sp->buf + sp->len, row, size);
	sp->len += size;
	sp->rows++;
	return 0;
}

static void spill_release(struct spill *sp)
{
	free(sp->buf);
	free(sp->chunks);
}

/* Reads a column's rows back: the chunks in the file, then the buffer. */
struct spill_iter {
	struct gecko *g;
	const struct spill *sp;
	size_t next_chunk;
	bool tail_done;
	const unsigned char *p, *end;
};

static void spill_iter_init(struct spill_iter *it, struct gecko *g, const struct spill *sp)
{
	*it = (struct spill_iter){ .g = g, .sp = sp };
}

/* The next row of size bytes, or NULL at the end or on a read error (set in
 * g->err). */
static const void *spill_next(struct spill_iter *it, size_t size)
{
	while (it->p + size > it->end || !it->p) {
		const struct spill *sp = it->sp;
		if (it->next_chunk < sp->nchunks) {
			const struct spill_chunk *c = &sp->chunks[it->next_chunk++];
			size_t got = 0;
			while (got < c->len) {
				ssize_t k = pread(it->g->spill_fd, it->g->rbuf + got, c->len - got,
						  (off_t)(c->off + got));
				if (k < 0 && errno == EINTR)
					continue;
				if (k <= 0) {
					if (k == 0)
						errno = EIO;
					it->g->err = ERR_IO;
					return NULL;
				}
				got += (size_t)k;
			}
			it->p = it->g->rbuf;
			it->end = it->g->rbuf + c->len;
		} else if (!it->tail_done && sp->len) {
			it->tail_done = true;
			it->p = sp->buf;
			it->end = sp->buf + sp->len;
		} else {
			return NULL;
		}
	}
	const void *row = it->p;
	it->p += size;
	return row;
}

/* An unnamed file in dir (O_TMPFILE, else a named one removed at once):
 * gone when closed, even after a crash. */
static int spill_in(const char *dir)
{
#ifdef O_TMPFILE
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
#endif
	char tmpl[4200];
	snprintf(tmpl, sizeof(tmpl), "%s/.strobe-gecko-XXXXXX", dir);
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd >= 0)
		unlink(tmpl);
	return fd;
}

/* The spill goes next to the output when that is a file on a disk there
 * (a regular file, or a new one), and in $TMPDIR (else /tmp) when the
 * output is written through something else (-o /dev/null, -o /dev/stdout):
 * the directory of a device is /dev, a RAM file system, and up to
 * gigabytes of spill have no business there. */
static int spill_open(const char *path)
{
	char dir[4096];
	struct stat st;
	bool beside = lstat(path, &st) == 0 ? S_ISREG(st.st_mode) : errno == ENOENT;
	const char *slash = strrchr(path, '/');
	if (!beside) {
		const char *tmp = getenv("TMPDIR");
		snprintf(dir, sizeof(dir), "%s", tmp && *tmp == '/' ? tmp : "/tmp");
	} else if (!slash) {
		snprintf(dir, sizeof(dir), ".");
	} else if (slash == path) {
		snprintf(dir, sizeof(dir), "/");
	} else {
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	}
	return spill_in(dir);
}

/* ---- strings --------------------------------------------------------------- */

static uint32_t gstr(struct gecko *g, const char *s, size_t n)
{
	return strtab_intern(&g->gstr, s, n);
}

static uint32_t gstr_c(struct gecko *g, const char *s)
{
	return gstr(g, s, strlen(s));
}

static void ids_reserve(struct gecko *g, uint32_t id)
{
	if (id < g->ids_cap)
		return;
	size_t old = g->ids_cap, cap = old;
	VEC_RESERVE(g->sflags, cap, (size_t)id + 1);
	g->func_gid = xrealloc(g->func_gid, cap * sizeof(*g->func_gid));
	g->base_gid = xrealloc(g->base_gid, cap * sizeof(*g->base_gid));
	memset(g->sflags + old, 0, cap - old);
	for (size_t i = old; i < cap; i++)
		g->func_gid[i] = g->base_gid[i] = NONE_IDX;
	g->ids_cap = cap;
}

static uint8_t sflags_slow(struct gecko *g, const struct strtab *strings, uint32_t id)
{
	ids_reserve(g, id);
	if (!(g->sflags[id] & SF_KNOWN)) {
		size_t n;
		const char *s = strtab_get(strings, id, &n);
		uint8_t f = SF_KNOWN;
		if (stack_internal_file(s, n))
			f |= SF_INTERNAL;
		if (n == 0 || s[0] != '<' || (n == 7 && memcmp(s, "<stdin>", 7) == 0) ||
		    (n == 8 && memcmp(s, "<string>", 8) == 0))
			f |= SF_PYTHON;
		if (n == 4 && memcmp(s, "<GC>", 4) == 0)
			f |= SF_GC;
		g->sflags[id] = f;
	}
	return g->sflags[id];
}

/* Called for every frame of every sample: the known case is one load. */
static inline uint8_t sflags(struct gecko *g, const struct strtab *strings, uint32_t id)
{
	if (id < g->ids_cap && g->sflags[id])
		return g->sflags[id];
	return sflags_slow(g, strings, id);
}

static uint32_t func_gid(struct gecko *g, const struct strtab *strings, uint32_t id)
{
	ids_reserve(g, id);
	if (g->func_gid[id] == NONE_IDX) {
		size_t n;
		const char *s = strtab_get(strings, id, &n);
		g->func_gid[id] = gstr(g, s, n);
	}
	return g->func_gid[id];
}

/* os.path.basename: what follows the last '/' */
static uint32_t base_gid(struct gecko *g, const struct strtab *strings, uint32_t id)
{
	ids_reserve(g, id);
	if (g->base_gid[id] == NONE_IDX) {
		size_t n;
		const char *s = strtab_get(strings, id, &n);
		const char *b = s + n;
		while (b > s && b[-1] != '/')
			b--;
		g->base_gid[id] = gstr(g, b, n - (size_t)(b - s));
	}
	return g->base_gid[id];
}

/* ---- threads and tables -------------------------------------------------- */

static struct gthread *thread_get(struct gecko *g, uint64_t tid, uint32_t status)
{
	uint64_t *ix = u64map_get(&g->thread_index, tid);
	if (ix)
		return g->threads[*ix];
	struct gthread *t = xcalloc(1, sizeof(*t));
	t->tid = tid;
	t->main = (status & STATUS_MAIN_THREAD) != 0;
	u64map_init(&t->func_index);
	u64map_init(&t->res_index);
	rectab_init(&t->frames, sizeof(struct gframe));
	rectab_init(&t->stacks, sizeof(struct gstack));
	VEC_RESERVE(g->threads, g->threads_cap, g->nthreads + 1);
	u64map_put(&g->thread_index, tid, g->nthreads);
	g->threads[g->nthreads++] = t;
	return t;
}

static void thread_free(struct gthread *t)
{
	u64map_release(&t->func_index);
	u64map_release(&t->res_index);
	free(t->funcs);
	free(t->res_names);
	rectab_release(&t->frames);
	rectab_release(&t->stacks);
	free(t->memo);
	free(t->memo_stack);
	spill_release(&t->samples);
	spill_release(&t->markers);
	free(t);
}

static uint32_t resource_of(struct gecko *g, struct gthread *t, const struct strtab *strings,
			    uint32_t file)
{
	uint64_t *ix = u64map_get(&t->res_index, file);
	if (ix)
		return (uint32_t)*ix;
	uint32_t name = base_gid(g, strings, file);
	VEC_RESERVE(t->res_names, t->res_cap, t->nres + 1);
	t->res_names[t->nres] = name;
	u64map_put(&t->res_index, file, t->nres);
	return (uint32_t)t->nres++;
}

static uint32_t func_of(struct gecko *g, struct gthread *t, const struct strtab *strings,
			const struct frame *f)
{
	uint64_t key = (uint64_t)f->file << 32 | f->func;
	uint64_t *ix = u64map_get(&t->func_index, key);
	if (ix)
		return (uint32_t)*ix;
	/* Tachyon's interning order: the name, then the resource's basename */
	struct gfunc fn = { .name = func_gid(g, strings, f->func) };
	fn.python = (sflags(g, strings, f->file) & SF_PYTHON) != 0;
	fn.resource = resource_of(g, t, strings, f->file);
	fn.file = fn.python ? base_gid(g, strings, f->file) : NONE_IDX;
	fn.line = f->line;
	fn.line_null = !fn.python || f->line == FRAME_NO_LINE;
	VEC_RESERVE(t->funcs, t->funcs_cap, t->nfuncs + 1);
	t->funcs[t->nfuncs] = fn;
	u64map_put(&t->func_index, key, t->nfuncs);
	return (uint32_t)t->nfuncs++;
}

/* The stack index of frames[0..depth) (innermost first), reusing the part
 * the thread's previous stack shares with it from the root. */
static uint32_t stack_of(struct gecko *g, struct gthread *t, const struct strtab *strings,
			 const struct frame *frames, size_t depth)
{
	assert(depth > 0);
	size_t common = 0;
	while (common < depth && common < t->memo_depth &&
	       frame_eq(&frames[depth - 1 - common], &t->memo[common]))
		common++;
	if (depth > t->memo_cap) {
		size_t cap = t->memo_cap;
		VEC_RESERVE(t->memo, cap, depth);
		t->memo_stack = xrealloc(t->memo_stack, cap * sizeof(*t->memo_stack));
		t->memo_cap = cap;
	}
	for (size_t k = common; k < depth; k++) {
		const struct frame *f = &frames[depth - 1 - k];
		struct gframe gf = {
			.func = func_of(g, t, strings, f),
			.line = f->line,
			.col = f->line != FRAME_NO_LINE && f->col >= 0 ? f->col : -1,
		};
		struct gstack gs = {
			.frame = rectab_intern(&t->frames, &gf, NULL),
			.prefix = k ? t->memo_stack[k - 1] : NONE_IDX,
		};
		t->memo_stack[k] = rectab_intern(&t->stacks, &gs, NULL);
		t->memo[k] = *f;
	}
	t->memo_depth = depth;
	return t->memo_stack[depth - 1];
}

/* ---- markers ------------------------------------------------------------- */

static int add_marker(struct gecko *g, struct gthread *t, enum mstate m, int64_t start,
		      int64_t end)
{
	struct marker_row r = {
		.start_us = start, .end_us = end, .kind = m, .name = gstr_c(g, mstates[m].name),
	};
	return spill_add(g, &t->markers, &r, sizeof(r));
}

static bool is_open(const struct gthread *t, enum mstate m)
{
	return (t->open >> m) & 1;
}

static void open_at(struct gthread *t, enum mstate m, int64_t at)
{
	t->start[m] = at;
	t->open |= (uint16_t)(1u << m);
}

/* Close state m at `at` with a marker, if it is open. */
static int close_at(struct gecko *g, struct gthread *t, enum mstate m, int64_t at)
{
	if (!is_open(t, m))
		return 0;
	t->open &= (uint16_t)~(1u << m);
	return add_marker(g, t, m, t->start[m], at);
}

/* Tachyon's _track_state_transition: a pair of complementary states. */
static int track(struct gecko *g, struct gthread *t, bool cond, enum mstate active,
		 enum mstate inactive, int64_t at)
{
	if (!t->initialized) {
		open_at(t, cond ? active : inactive, at);
		return 0;
	}
	enum mstate on = cond ? active : inactive, off = cond ? inactive : active;
	if (!is_open(t, on))
		open_at(t, on, at);
	return close_at(g, t, off, at);
}

static int track_status(struct gecko *g, struct gthread *t, uint32_t status, bool gc, int64_t at)
{
	bool has_gil = status & STATUS_HAS_GIL, on_cpu = status & STATUS_ON_CPU;
	int rc = track(g, t, has_gil, M_HAS_GIL, M_NO_GIL, at);
	if (!rc)
		rc = track(g, t, on_cpu, M_ON_CPU, M_OFF_CPU, at);
	if (rc)
		return rc;
	/* code type: Python with the GIL, native on a CPU without it */
	if (has_gil)
		rc = track(g, t, true, M_PY_CODE, M_NATIVE_CODE, at);
	else if (on_cpu)
		rc = track(g, t, true, M_NATIVE_CODE, M_PY_CODE, at);
	else if (t->initialized) {
		rc = close_at(g, t, M_PY_CODE, at);
		if (!rc)
			rc = close_at(g, t, M_NATIVE_CODE, at);
	}
	if (rc)
		return rc;
	if (status & STATUS_GIL_REQUESTED) {
		if (!is_open(t, M_GIL_WAIT))
			open_at(t, M_GIL_WAIT, at);
	} else if ((rc = close_at(g, t, M_GIL_WAIT, at)) != 0) {
		return rc;
	}
	rc = track(g, t, (status & STATUS_HAS_EXCEPTION) != 0, M_HAS_EXC, M_NO_EXC, at);
	if (rc)
		return rc;
	if (gc) {
		if (!is_open(t, M_GC))
			open_at(t, M_GC, at);
	} else if ((rc = close_at(g, t, M_GC, at)) != 0) {
		return rc;
	}
	t->initialized = true;
	return 0;
}

/* "NAME", or "NAME (BASE)" for a specialized opcode; Tachyon's
 * format_opcode, with the recording Python's tables. */
static void opcode_names(const struct gecko *g, int op, char *name, size_t nsize, char *base,
			 size_t bsize, bool *specialized)
{
	int b = -1;
	const char *n = g->opcode_name ? g->opcode_name(g->opcode_ctx, op, &b) : NULL;
	*specialized = false;
	if (!n) {
		snprintf(name, nsize, "<%d>", op);
		snprintf(base, bsize, "<%d>", op);
		return;
	}
	if (b >= 0 && b != op) {
		const char *bn = g->opcode_name(g->opcode_ctx, b, NULL);
		if (bn)
			snprintf(base, bsize, "%s", bn);
		else
			snprintf(base, bsize, "<%d>", b);
		snprintf(name, nsize, "%s (%s)", n, base);
		*specialized = true;
	} else {
		snprintf(name, nsize, "%s", n);
		snprintf(base, bsize, "%s", n);
	}
}

/* The span of the thread's last leaf opcode ends at `end`. */
static int add_opcode_marker(struct gecko *g, struct gthread *t, int64_t end)
{
	if (t->op == FRAME_NO_OPCODE)
		return 0;
	char name[160], base[80];
	bool spec;
	opcode_names(g, t->op, name, sizeof(name), base, sizeof(base), &spec);
	struct marker_row r = {
		.start_us = t->op_start, .end_us = end, .kind = M_OPCODE, .name = gstr_c(g, name),
		.opcode = t->op, .line = t->op_line, .col = t->op_col, .func = t->op_func,
	};
	return spill_add(g, &t->markers, &r, sizeof(r));
}

static int track_opcode(struct gecko *g, struct gthread *t, const struct frame *leaf, int64_t at)
{
	int32_t line = leaf->line, col = leaf->line == FRAME_NO_LINE ? -1 : leaf->col;
	if (t->op_set && t->op == leaf->opcode && t->op_line == line && t->op_col == col &&
	    t->op_func == leaf->func && t->op_file == leaf->file)
		return 0;
	int rc = 0;
	if (t->op_set)
		rc = add_opcode_marker(g, t, at);
	else
		t->op_seq = g->op_seq++;
	t->op_set = true;
	t->op = leaf->opcode;
	t->op_line = line;
	t->op_col = col;
	t->op_func = leaf->func;
	t->op_file = leaf->file;
	t->op_start = at;
	return rc;
}

/* ---- the stream ------------------------------------------------------------ */

static void gecko_free(struct gecko *g)
{
	if (g->spill_fd >= 0)
		close(g->spill_fd);
	for (size_t i = 0; i < g->nthreads; i++)
		thread_free(g->threads[i]);
	free(g->threads);
	u64map_release(&g->thread_index);
	strtab_release(&g->gstr);
	free(g->func_gid);
	free(g->base_gid);
	free(g->sflags);
	free(g->scratch);
	free(g->rbuf);
	free(g);
}

static int gecko_open(struct out_stream **st, const struct out_request *req)
{
	*st = NULL;
	if (!req->path)
		return ERR_INVAL;
	struct gecko *g = xcalloc(1, sizeof(*g));
	g->spill_fd = spill_open(req->path);
	if (g->spill_fd < 0) {
		int e = errno;
		free(g);
		errno = e;
		return ERR_IO;
	}
	g->opcodes = req->opcodes;
	g->opcode_name = req->opcode_name;
	g->opcode_ctx = req->opcode_ctx;
	/* time.monotonic() * 1000 when the collector is made */
	g->start_ms = (double)clock_now_ns() / 1e9 * 1000.0;
	g->interval = 1.0;
	strtab_init(&g->gstr);
	gstr_c(g, "(root)");
	u64map_init(&g->thread_index);
	*st = (struct out_stream *)g;
	return 0;
}

/* The thread's frames without Tachyon's launcher frames (usually none). */
static const struct frame *filter_frames(struct gecko *g, const struct strtab *strings,
					 const struct frame *f, size_t *depth)
{
	size_t n = *depth, keep = 0;
	for (size_t i = 0; i < n; i++)
		keep += !(sflags(g, strings, f[i].file) & SF_INTERNAL);
	if (keep == n)
		return f;
	VEC_RESERVE(g->scratch, g->scratch_cap, keep ? keep : 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!(sflags(g, strings, f[i].file) & SF_INTERNAL))
			g->scratch[k++] = f[i];
	*depth = keep;
	return g->scratch;
}

static int gecko_add(struct out_stream *st, const struct sample *s, const struct strtab *strings)
{
	struct gecko *g = (struct gecko *)st;
	if (g->err)
		return g->err;
	int64_t now_us = (int64_t)(s->time_ns / 1000);
	if (!g->have_base) {
		g->have_base = true;
		g->base_us = now_us;
	}
	/* wrapping arithmetic: a replayed file's clock is untrusted input */
	int64_t at = (int64_t)((uint64_t)now_us - (uint64_t)g->base_us);
	double at_ms = ms_of(at);
	if (g->sample_count > 0 && g->last_ms > 0)
		g->interval = (at_ms - g->last_ms) / (double)g->sample_count;
	g->last_ms = at_ms;
	/* A replayed file holds each thread's samples in time order but not
	 * the threads' records (runs of repeats are written when they end), so
	 * the spans still open at the end close at the latest time seen, not at
	 * the last sample's: a span must never end before it starts. */
	if (g->sample_count == 0 || at > g->end_us)
		g->end_us = at;
	if (at < g->min_us)
		g->min_us = at;

	for (size_t i = 0; i < s->nthreads; i++) {
		const struct thread_sample *ts = &s->threads[i];
		struct gthread *t = thread_get(g, ts->tid, ts->status);
		if (++t->seen > g->most_seen)
			g->most_seen = t->seen;
		size_t depth = ts->depth;
		const struct frame *frames = filter_frames(g, strings, s->frames + ts->first, &depth);
		bool gc = false;
		for (size_t k = 0; k < depth && !gc; k++)
			gc = (sflags(g, strings, frames[k].func) & SF_GC) != 0;
		int rc = track_status(g, t, ts->status, gc, at);
		if (rc)
			return rc;
		if (depth == 0)
			continue;
		struct sample_row row = { .stack = stack_of(g, t, strings, frames, depth), .t_us = at };
		rc = spill_add(g, &t->samples, &row, sizeof(row));
		if (!rc && g->opcodes)
			rc = track_opcode(g, t, &frames[0], at);
		if (rc)
			return rc;
	}
	g->sample_count++;
	return 0;
}

/* Close every open span at the latest sample's time (_finalize_markers). */
static int finalize_markers(struct gecko *g)
{
	int64_t end = g->end_us;
	for (int m = 0; m < M_COUNT; m++)
		for (size_t i = 0; i < g->nthreads; i++) {
			int rc = close_at(g, g->threads[i], (enum mstate)m, end);
			if (rc)
				return rc;
		}
	if (!g->opcodes)
		return 0;
	/* opcode spans in the order their threads got their first one */
	struct gthread **order = xcalloc(g->op_seq ? g->op_seq : 1, sizeof(*order));
	for (size_t i = 0; i < g->nthreads; i++)
		if (g->threads[i]->op_set)
			order[g->threads[i]->op_seq] = g->threads[i];
	int rc = 0;
	for (uint32_t k = 0; k < g->op_seq && !rc; k++)
		if (order[k])
			rc = add_opcode_marker(g, order[k], end);
	free(order);
	return rc;
}

/* ---- writing ----------------------------------------------------------------- */

static void write_categories(struct jw *w)
{
	jw_putc(w, '[');
	for (size_t i = 0; i < sizeof(categories) / sizeof(categories[0]); i++) {
		if (i)
			jw_putc(w, ',');
		jw_raw(w, "{\"name\":", 8);
		jw_cstr(w, categories[i].name);
		jw_raw(w, ",\"color\":", 9);
		jw_cstr(w, categories[i].color);
		jw_puts(w, ",\"subcategories\":[\"Other\"]}");
	}
	jw_putc(w, ']');
}

static const char opcode_schema[] =
	"{\"name\":\"Opcode\",\"display\":[\"marker-table\",\"marker-chart\"],"
	"\"tooltipLabel\":\"{marker.data.opname}\","
	"\"tableLabel\":\"{marker.data.opname} at line {marker.data.line}\","
	"\"chartLabel\":\"{marker.data.opname}\",\"fields\":["
	"{\"key\":\"opname\",\"label\":\"Opcode\",\"format\":\"string\",\"searchable\":true},"
	"{\"key\":\"base_opname\",\"label\":\"Base Opcode\",\"format\":\"string\"},"
	"{\"key\":\"is_specialized\",\"label\":\"Specialized\",\"format\":\"string\"},"
	"{\"key\":\"line\",\"label\":\"Line\",\"format\":\"integer\"},"
	"{\"key\":\"column\",\"label\":\"Column\",\"format\":\"integer\"},"
	"{\"key\":\"function\",\"label\":\"Function\",\"format\":\"string\"},"
	"{\"key\":\"duration\",\"label\":\"Duration\",\"format\":\"duration\"}]}";

static void write_meta(struct gecko *g, struct jw *w)
{
	struct utsname u;
	if (uname(&u) != 0) {
		snprintf(u.machine, sizeof(u.machine), "%s", "");
		snprintf(u.sysname, sizeof(u.sysname), "%s", "");
	}
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 0)
		cpus = 0;
	if (g->thread_clocks) {
		if (g->most_seen > 0 && g->end_us > g->min_us)
			g->interval = ms_of(g->end_us - g->min_us) / (double)g->most_seen;
	} else if (g->sample_count > 0 && g->last_ms > 0) {
		g->interval = g->last_ms / (double)g->sample_count;
	}
	jw_puts(w, "{\"meta\":{\"interval\":");
	jw_double(w, g->interval);
	jw_puts(w, ",\"startTime\":");
	jw_double(w, g->start_ms);
	jw_puts(w, ",\"abi\":");
	jw_cstr(w, u.machine);
	jw_puts(w, ",\"misc\":\"Python profiler\",\"oscpu\":");
	jw_cstr(w, u.machine);
	jw_puts(w, ",\"platform\":");
	jw_cstr(w, u.sysname);
	jw_puts(w, ",\"processType\":0,\"categories\":");
	write_categories(w);
	jw_puts(w, ",\"stackwalk\":0,\"toolkit\":\"\",\"version\":32,"
		"\"preprocessedProfileVersion\":57,\"appBuildID\":\"\",\"physicalCPUs\":");
	jw_i64(w, cpus);
	jw_puts(w, ",\"logicalCPUs\":");
	jw_i64(w, cpus);
	jw_puts(w, ",\"CPUName\":\"\",\"product\":\"Python\",\"symbolicated\":true,"
		"\"markerSchema\":[");
	if (g->opcodes)
		jw_puts(w, opcode_schema);
	jw_puts(w, "],\"importedFrom\":\"Tachyon Sampling Profiler\","
		"\"extensions\":{\"id\":[],\"name\":[],\"baseURL\":[],\"length\":0}},"
		"\"libs\":[]");
}

static void write_samples(struct gecko *g, struct jw *w, const struct gthread *t)
{
	struct spill_iter it;
	const struct sample_row *r;
	jw_puts(w, "{\"stack\":[");
	spill_iter_init(&it, g, &t->samples);
	for (uint64_t i = 0; (r = spill_next(&it, sizeof(*r))) != NULL; i++) {
		if (i)
			jw_putc(w, ',');
		jw_u64(w, r->stack);
	}
	jw_puts(w, "],\"time\":[");
	spill_iter_init(&it, g, &t->samples);
	for (uint64_t i = 0; (r = spill_next(&it, sizeof(*r))) != NULL; i++) {
		if (i)
			jw_putc(w, ',');
		jw_ms(w, r->t_us + g->shift_us);
	}
	jw_putc(w, ']');
	jw_putc(w, ',');
	jw_repeat(w, "eventDelay", "null", t->samples.rows);
	jw_puts(w, ",\"weight\":null,\"weightType\":\"samples\",\"length\":");
	jw_u64(w, t->samples.rows);
	jw_putc(w, '}');
}

static void write_marker_data(struct gecko *g, struct jw *w, const struct gthread *t,
			      const struct marker_row *r, const struct strtab *strings)
{
	if (r->kind != M_OPCODE) {
		jw_raw(w, "{\"type\":", 8);
		jw_cstr(w, mstates[r->kind].type);
		jw_puts(w, ",\"duration\":");
		jw_duration(w, r->start_us + g->shift_us, r->end_us + g->shift_us);
		jw_puts(w, ",\"tid\":");
		jw_u64(w, t->tid);
		jw_putc(w, '}');
		return;
	}
	char name[160], base[80];
	bool spec;
	opcode_names(g, r->opcode, name, sizeof(name), base, sizeof(base), &spec);
	jw_puts(w, "{\"type\":\"Opcode\",\"opcode\":");
	jw_i64(w, r->opcode);
	jw_puts(w, ",\"opname\":");
	jw_cstr(w, name);
	jw_puts(w, ",\"base_opname\":");
	jw_cstr(w, base);
	jw_puts(w, spec ? ",\"is_specialized\":true,\"line\":" : ",\"is_specialized\":false,\"line\":");
	if (r->line == FRAME_NO_LINE)
		jw_puts(w, "null");
	else
		jw_i64(w, r->line);
	jw_puts(w, ",\"column\":");
	if (r->col >= 0)
		jw_i64(w, r->col);
	else
		jw_puts(w, "null");
	jw_puts(w, ",\"function\":");
	size_t n = 0;
	const char *fs = strings && r->func < strings->count ? strtab_get(strings, r->func, &n) : "";
	jw_str(w, fs, n);
	jw_puts(w, ",\"duration\":");
	jw_duration(w, r->start_us + g->shift_us, r->end_us + g->shift_us);
	jw_putc(w, '}');
}

enum mcol { MC_DATA, MC_NAME, MC_START, MC_END, MC_PHASE, MC_CATEGORY };

static void write_markers(struct gecko *g, struct jw *w, const struct gthread *t,
			  const struct strtab *strings)
{
	static const char *const keys[] = { "data", "name", "startTime", "endTime", "phase",
					    "category" };
	jw_putc(w, '{');
	for (int c = MC_DATA; c <= MC_CATEGORY; c++) {
		if (c)
			jw_putc(w, ',');
		jw_key(w, keys[c]);
		jw_putc(w, '[');
		struct spill_iter it;
		const struct marker_row *r;
		spill_iter_init(&it, g, &t->markers);
		for (uint64_t i = 0; (r = spill_next(&it, sizeof(*r))) != NULL; i++) {
			if (i)
				jw_putc(w, ',');
			switch (c) {
			case MC_DATA:
				write_marker_data(g, w, t, r, strings);
				break;
			case MC_NAME:
				jw_u64(w, r->name);
				break;
			case MC_START:
				jw_ms(w, r->start_us + g->shift_us);
				break;
			case MC_END:
				jw_ms(w, r->end_us + g->shift_us);
				break;
			case MC_PHASE:
				jw_putc(w, '1');
				break;
			default:
				jw_u64(w, (uint64_t)(r->kind == M_OPCODE ? CAT_OPCODES
							 : mstates[r->kind].category));
			}
		}
		jw_putc(w, ']');
	}
	jw_puts(w, ",\"length\":");
	jw_u64(w, t->markers.rows);
	jw_putc(w, '}');
}

static const struct gstack *stack_at(const struct gthread *t, size_t i)
{
	return rectab_get(&t->stacks, (uint32_t)i);
}

static void write_tables(struct jw *w, const struct gthread *t)
{
	size_t ns = t->stacks.count, nf = t->frames.count;
	/* stackTable */
	jw_puts(w, ",\"stackTable\":{\"frame\":[");
	for (size_t i = 0; i < ns; i++) {
		if (i)
			jw_putc(w, ',');
		jw_u64(w, stack_at(t, i)->frame);
	}
	jw_puts(w, "],\"category\":[");
	for (size_t i = 0; i < ns; i++) {
		const struct gframe *f = rectab_get(&t->frames, stack_at(t, i)->frame);
		if (i)
			jw_putc(w, ',');
		jw_putc(w, t->funcs[f->func].python ? '0' + CAT_PYTHON : '0' + CAT_NATIVE);
	}
	jw_puts(w, "],");
	jw_repeat(w, "subcategory", "0", ns);
	jw_puts(w, ",\"prefix\":[");
	for (size_t i = 0; i < ns; i++) {
		if (i)
			jw_putc(w, ',');
		if (stack_at(t, i)->prefix == NONE_IDX)
			jw_puts(w, "null");
		else
			jw_u64(w, stack_at(t, i)->prefix);
	}
	jw_puts(w, "],\"length\":");
	jw_u64(w, ns);
	/* frameTable */
	jw_puts(w, "},\"frameTable\":{");
	jw_repeat(w, "address", "-1", nf);
	jw_puts(w, ",\"category\":[");
	for (size_t i = 0; i < nf; i++) {
		const struct gframe *f = rectab_get(&t->frames, (uint32_t)i);
		if (i)
			jw_putc(w, ',');
		jw_putc(w, t->funcs[f->func].python ? '0' + CAT_PYTHON : '0' + CAT_NATIVE);
	}
	jw_puts(w, "],");
	jw_repeat(w, "subcategory", "0", nf);
	jw_puts(w, ",\"func\":[");
	for (size_t i = 0; i < nf; i++) {
		if (i)
			jw_putc(w, ',');
		jw_u64(w, ((const struct gframe *)rectab_get(&t->frames, (uint32_t)i))->func);
	}
	jw_puts(w, "],");
	jw_repeat(w, "innerWindowID", "null", nf);
	jw_putc(w, ',');
	jw_repeat(w, "implementation", "null", nf);
	jw_putc(w, ',');
	jw_repeat(w, "optimizations", "null", nf);
	jw_puts(w, ",\"line\":[");
	for (size_t i = 0; i < nf; i++) {
		const struct gframe *f = rectab_get(&t->frames, (uint32_t)i);
		if (i)
			jw_putc(w, ',');
		/* Tachyon: `lineno if lineno else None` */
		if (f->line == FRAME_NO_LINE || f->line == 0)
			jw_puts(w, "null");
		else
			jw_i64(w, f->line);
	}
	jw_puts(w, "],\"column\":[");
	for (size_t i = 0; i < nf; i++) {
		const struct gframe *f = rectab_get(&t->frames, (uint32_t)i);
		if (i)
			jw_putc(w, ',');
		if (f->col >= 0)
			jw_i64(w, f->col);
		else
			jw_puts(w, "null");
	}
	jw_puts(w, "],");
	jw_repeat(w, "inlineDepth", "0", nf);
	jw_putc(w, ',');
	jw_repeat(w, "nativeSymbol", "null", nf);
	jw_puts(w, ",\"length\":");
	jw_u64(w, nf);
	/* funcTable */
	jw_puts(w, "},\"funcTable\":{\"name\":[");
	for (size_t i = 0; i < t->nfuncs; i++) {
		if (i)
			jw_putc(w, ',');
		jw_u64(w, t->funcs[i].name);
	}
	for (int pass = 0; pass < 2; pass++) {
		jw_puts(w, pass ? "],\"relevantForJS\":[" : "],\"isJS\":[");
		for (size_t i = 0; i < t->nfuncs; i++) {
			if (i)
				jw_putc(w, ',');
			jw_puts(w, t->funcs[i].python ? "true" : "false");
		}
	}
	jw_puts(w, "],\"resource\":[");
	for (size_t i = 0; i < t->nfuncs; i++) {
		if (i)
			jw_putc(w, ',');
		jw_u64(w, t->funcs[i].resource);
	}
	jw_puts(w, "],\"fileName\":[");
	for (size_t i = 0; i < t->nfuncs; i++) {
		if (i)
			jw_putc(w, ',');
		if (t->funcs[i].file == NONE_IDX)
			jw_puts(w, "null");
		else
			jw_u64(w, t->funcs[i].file);
	}
	jw_puts(w, "],\"lineNumber\":[");
	for (size_t i = 0; i < t->nfuncs; i++) {
		if (i)
			jw_putc(w, ',');
		if (t->funcs[i].line_null)
			jw_puts(w, "null");
		else
			jw_i64(w, t->funcs[i].line);
	}
	jw_puts(w, "],");
	jw_repeat(w, "columnNumber", "null", t->nfuncs);
	jw_puts(w, ",\"length\":");
	jw_u64(w, t->nfuncs);
	/* resourceTable */
	jw_puts(w, "},\"resourceTable\":{");
	jw_repeat(w, "lib", "null", t->nres);
	jw_puts(w, ",\"name\":[");
	for (size_t i = 0; i < t->nres; i++) {
		if (i)
			jw_putc(w, ',');
		jw_u64(w, t->res_names[i]);
	}
	jw_puts(w, "],");
	jw_repeat(w, "host", "null", t->nres);
	jw_putc(w, ',');
	jw_repeat(w, "type", "1", t->nres);
	jw_puts(w, ",\"length\":");
	jw_u64(w, t->nres);
	jw_puts(w, "},\"nativeSymbols\":{\"libIndex\":[],\"address\":[],\"name\":[],"
		"\"functionSize\":[],\"length\":0}");
}

static void write_thread(struct gecko *g, struct jw *w, const struct gthread *t,
			 const struct strtab *strings, const char *pid)
{
	jw_puts(w, "{\"name\":\"Thread-");
	jw_u64(w, t->tid);
	jw_puts(w, t->main ? "\",\"isMainThread\":true" : "\",\"isMainThread\":false");
	jw_puts(w, ",\"processStartupTime\":0,\"processShutdownTime\":null,\"registerTime\":0,"
		"\"unregisterTime\":null,\"pausedRanges\":[],\"pid\":");
	jw_cstr(w, pid);
	jw_puts(w, ",\"tid\":");
	jw_u64(w, t->tid);
	jw_puts(w, ",\"processType\":\"default\",\"processName\":\"Python Process\",\"samples\":");
	write_samples(g, w, t);
	write_tables(w, t);
	jw_puts(w, ",\"markers\":");
	write_markers(g, w, t, strings);
	jw_putc(w, '}');
}

static void write_profile(struct gecko *g, struct jw *w, const struct strtab *strings)
{
	char pid[24];
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	write_meta(g, w);
	jw_puts(w, ",\"threads\":[");
	for (size_t i = 0; i < g->nthreads; i++) {
		if (i)
			jw_putc(w, ',');
		write_thread(g, w, g->threads[i], strings, pid);
	}
	jw_puts(w, "],\"pages\":[],\"shared\":{\"stringArray\":[");
	for (size_t i = 0; i < g->gstr.count; i++) {
		size_t n;
		const char *s = strtab_get(&g->gstr, (uint32_t)i, &n);
		if (i)
			jw_putc(w, ',');
		jw_str(w, s, n);
	}
	jw_puts(w, "],\"sources\":{\"length\":0,\"uuid\":[],\"filename\":[]}}}");
}

static int gecko_close(struct out_stream *st, const struct profile *p,
		       const struct out_request *req, bool *written)
{
	struct gecko *g = (struct gecko *)st;
	*written = false;
	int rc = g->err ? g->err : finalize_markers(g);
	struct outfile *of = NULL;
	struct jw w = { .fd = -1, .scratch = BUF_INIT };
	if (rc)
		goto out;
	/* read at close, not at open: a run that fell back to the reader
	 * clears it once sampling has started */
	g->thread_clocks = req->thread_clocks;
	if (g->thread_clocks)
		g->shift_us = -g->min_us;
	g->rbuf = xmalloc(SPILL_MAX);
	rc = out_file_create(&of, req);
	if (rc)
		goto out;
	w.fd = outfile_fd(of);
	w.buf = xmalloc(WBUF_SIZE);
	write_profile(g, &w, p ? &p->strings : NULL);
	jw_flush(&w);
	rc = w.err ? w.err : g->err;
	if (w.err)
		errno = w.eno;
	rc = out_file_finish(of, req, rc == 0);
	*written = rc == 0;
out:;
	int e = errno;
	free(w.buf);
	buf_release(&w.scratch);
	gecko_free(g);
	errno = e;
	return rc;
}

/* Nothing was written yet: the output is made at close (the spill file
 * has no name). */
static void gecko_abort(struct out_stream *st, const struct out_request *req)
{
	(void)req;
	gecko_free((struct gecko *)st);
}

const struct out_stream_ops out_gecko_stream = {
	.open = gecko_open,
	.add = gecko_add,
	.close = gecko_close,
	.abort = gecko_abort,
};
