/* binary_reader.c - reader of Tachyon's binary format v1, for hostile input.
 *
 * Checks, order and messages follow CPython 3.15.2's reader (observed by
 * running it on broken files): header (size, magic in either byte order,
 * version, mode), stats block, table offsets, zstd stream, string table,
 * frame table at open; record structure, indices, depths and the sample
 * count during replay.
 *
 * Memory does not depend on the file size: the records are read (and
 * decompressed) through a 64 KiB window and decoded as they come; the
 * string table is re-read from the file when replay interns it.  What is
 * kept is the frame table (at most one entry per 7 bytes of file), one
 * strtab id per string (at most one per byte) and per-thread state (a
 * thread needs at least 16 bytes of records; at most 2^20 threads).
 *
 * Unlike Tachyon, which decompresses the whole record stream into memory
 * at open, the zstd stream is decompressed twice: once at open, into a
 * scratch buffer, only to validate it and learn its length (so open fails
 * on a broken stream exactly where Tachyon's does, and record checks that
 * depend on the remaining length give Tachyon's numbers), and again during
 * replay.  Tachyon reports a bad record before delivering any sample of a
 * REPEAT batch; this reader may have delivered part of the batch.
 */
#include "format/binary.h"

#include "base/buf.h"
#include "base/error.h"
#include "base/hash.h"
#include "base/intern.h"
#include "base/utf8.h"
#include "model/sample.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#define HEADER_SIZE 64
#define FOOTER_SIZE 32
#define STATS_TAIL 16                      /* magic, version, size: just before the footer */
#define STATS_MIN_SIZE 32                  /* the four doubles */
#define FRAME_MIN_BYTES 7                  /* six 1-byte varints and the opcode */
#define MAGIC 0x54414348u
#define MAGIC_SWAPPED 0x48434154u
#define OPCODE_NONE 255
#define VARINT_MAX 10
#ifndef STROBE_BINARY_WINDOW
#define WINDOW (64 * 1024)
#else
#define WINDOW STROBE_BINARY_WINDOW        /* tests/fuzz: small, so small inputs cross its edge */
#endif
#define RECORD_MAX 4096                    /* > any non-REPEAT record: 13+10+1+10+10+256*10 */
#define RLE_ENTRY_MAX (VARINT_MAX + 1)
#define MAX_DECOMPRESSED (1ULL << 30)      /* Tachyon's MAX_DECOMPRESS_SIZE */
#define MAX_THREADS (1u << 20)             /* strobe's bound on distinct (tid, interp) */
#define MAX_STRING_BYTES (1ULL << 31)      /* strtab offsets are 32-bit */
#define PROGRESS_EVERY 65536
_Static_assert(WINDOW >= 2 * RECORD_MAX, "a record must fit the window with room to refill");
#define ZSTD_NO_PROGRESS_MAX 64
#define ZSTD_FRAME_HEADER_MAX 18              /* ZSTD_FRAMEHEADERSIZE_MAX, not in the stable API */

/* The Python whose Tachyon this reader reproduces, for the "newer format"
 * message (which names the reading Python). */
#define READER_PY_VERSION "3.15.2"

enum { ENC_REPEAT = 0, ENC_FULL = 1, ENC_SUFFIX = 2, ENC_POP_PUSH = 3 };

/* A frame's file or function whose string index is out of range: the
 * frame is an error when a sample uses it, not before. */
#define BAD_STRING UINT32_MAX

/* Buffered sequential reads of the file range [pos, end). */
struct fin {
	int fd;
	uint64_t pos, end;   /* next offset to read, end of the range */
	unsigned char *buf;
	size_t cap, lo, hi;  /* unread bytes are buf[lo, hi) */
};

struct rthread {
	uint64_t tid;
	uint64_t prev_ts;
	uint32_t interp;
	uint32_t depth, cap;
	uint32_t *stack;     /* frame indices, innermost first; grows to BINARY_MAX_DEPTH */
	struct frame *frames; /* the same frames resolved (same capacity) */
};

struct binary_reader {
	int fd;
	bool swap;
	bool zstd;
	uint64_t str_off, frame_off;
	uint64_t data_len;    /* bytes of decoded records */
	struct binary_info info;
	/* the frame table, by file index; file and func are the file's
	 * string indices until replay makes them strtab ids (BAD_STRING:
	 * out of range), from when on it is the samples' key_frames */
	struct frame *frames;
	uint32_t nframes, nstrings;
	bool replayed;
	bool keys_only;       /* binary_reader_keys_only() */
};

/* Everything replay needs besides the reader. */
struct replay {
	struct binary_reader *r;
	struct errmsg *e;
	bool keys_only;      /* samples carry keys, not frames (see binary.h) */
	/* records: raw bytes come straight from in; zstd output goes to win */
	struct fin in;
	ZSTD_DCtx *dctx;
	unsigned char *win;
	size_t wlo, whi;
	uint64_t consumed;   /* decoded bytes before the window's first unread byte */
	uint64_t produced;   /* decoded bytes so far (zstd) */
	uint32_t *str_ids;   /* file string index -> strtab id */
	uint32_t *canon;     /* frame index -> first index of an equal frame;
			      * NULL while no two frames are equal */
	uint32_t *keys;      /* a sample's canonical frame keys, with canon */
	size_t keys_cap;
	struct rthread *threads;
	size_t nthreads, threads_cap;
	uint32_t *tslots;
	size_t ntslots;
	uint64_t seed;
	struct sample s;
	uint64_t done;
	binary_sample_fn fn;
	binary_progress_fn progress;
	void *ctx;
};

/* ---- small helpers ------------------------------------------------------ */

static uint32_t rd32(const unsigned char *p, bool swap)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

static uint64_t rd64(const unsigned char *p, bool swap)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return swap ? __builtin_bswap64(v) : v;
}

static double rdf64(const unsigned char *p, bool swap)
{
	uint64_t v = rd64(p, swap);
	double d;
	memcpy(&d, &v, 8);
	return d;
}

/* LEB128 of at most 10 bytes, Tachyon's decode_varint_u64: the 10th byte
 * must end the number (its high bits are dropped).  0 or -1. */
static int get_varint(const unsigned char **pp, const unsigned char *e, uint64_t *v)
{
	const unsigned char *p = *pp;
	uint64_t r = 0;
	unsigned shift = 0;
	while (p < e) {
		unsigned char b = *p++;
		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*pp = p;
			*v = r;
			return 0;
		}
		shift += 7;
		if (shift >= 64)
			return -1;
	}
	return -1;
}

static int get_varint32(const unsigned char **pp, const unsigned char *e, uint32_t *v)
{
	const unsigned char *p = *pp;
	uint64_t x;
	if (get_varint(&p, e, &x) || x > UINT32_MAX)
		return -1;
	*pp = p;
	*v = (uint32_t)x;
	return 0;
}

static int32_t unzigzag(uint32_t z)
{
	uint32_t u = (z >> 1) ^ (0u - (z & 1));
	int32_t v;
	memcpy(&v, &u, 4);
	return v;
}

static int32_t add_wrap(int32_t a, int32_t b)
{
	uint32_t u = (uint32_t)a + (uint32_t)b;
	int32_t v;
	memcpy(&v, &u, 4);
	return v;
}

static int fail(struct errmsg *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct errmsg *e, int code, const char *fmt, ...)
{
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->text, sizeof(e->text), fmt, ap);
		va_end(ap);
	}
	return code;
}

static int fail_errno(struct errmsg *e, int err, const char *path)
{
	if (path)
		return fail(e, err == ENOENT ? ERR_NOTFOUND : ERR_IO, "[Errno %d] %s: '%s'", err,
			    strerror(err), path);
	return fail(e, ERR_IO, "[Errno %d] %s", err, strerror(err));
}

static int pread_all(int fd, void *p, size_t n, uint64_t off)
{
	char *c = p;
	while (n) {
		ssize_t k = pread(fd, c, n, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return ERR_IO;
		if (k == 0) {
			errno = EIO; /* the file shrank under us */
			return ERR_IO;
		}
		c += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

/* ---- buffered input ----------------------------------------------------- */

static void fin_init(struct fin *f, int fd, uint64_t pos, uint64_t end, size_t cap)
{
	f->fd = fd;
	f->pos = pos;
	f->end = end;
	f->buf = xmalloc(cap);
	f->cap = cap;
	f->lo = f->hi = 0;
}

static void fin_release(struct fin *f)
{
	free(f->buf);
	f->buf = NULL;
}

static size_t fin_avail(const struct fin *f)
{
	return f->hi - f->lo;
}

/* Offset in the file of the next unread byte. */
static uint64_t fin_tell(const struct fin *f)
{
	return f->pos - fin_avail(f);
}

/* Make at least n bytes available, or all that is left of the range. */
static int fin_need(struct fin *f, size_t n)
{
	if (fin_avail(f) >= n || f->pos == f->end)
		return 0;
	if (n > f->cap)
		n = f->cap;
	memmove(f->buf, f->buf + f->lo, fin_avail(f));
	f->hi -= f->lo;
	f->lo = 0;
	while (f->hi < n && f->pos < f->end) {
		size_t k = f->cap - f->hi;
		if (k > f->end - f->pos)
			k = (size_t)(f->end - f->pos);
		int rc = pread_all(f->fd, f->buf + f->hi, k, f->pos);
		if (rc)
			return rc;
		f->hi += k;
		f->pos += k;
	}
	return 0;
}

/* Skip n bytes the caller knows are inside the range. */
static void fin_skip(struct fin *f, uint64_t n)
{
	if (n <= fin_avail(f)) {
		f->lo += (size_t)n;
		return;
	}
	f->pos += n - fin_avail(f);
	f->lo = f->hi = 0;
}

/* Copy n bytes (inside the range) to p. */
static int fin_read(struct fin *f, void *p, size_t n)
{
	size_t k = fin_avail(f) < n ? fin_avail(f) : n;
	memcpy(p, f->buf + f->lo, k);
	f->lo += k;
	if (k == n)
		return 0;
	int rc = pread_all(f->fd, (char *)p + k, n - k, f->pos);
	if (!rc)
		f->pos += n - k;
	return rc;
}

/* ---- open: header, stats, offsets, zstd, tables ------------------------- */

static int parse_header(struct binary_reader *r, const unsigned char *h, struct errmsg *e)
{
	uint32_t magic;
	memcpy(&magic, h, 4);
	if (magic == MAGIC)
		r->swap = false;
	else if (magic == MAGIC_SWAPPED)
		r->swap = true;
	else
		return fail(e, ERR_INVAL, "Invalid magic number: 0x%08x", magic);
	uint32_t version = rd32(h + 4, r->swap);
	if (version != BINARY_FORMAT_VERSION) {
		if (version > BINARY_FORMAT_VERSION)
			return fail(e, ERR_VERSION,
				    "Binary file was created with Python %u.%u.%u (format version %u), "
				    "but this is Python " READER_PY_VERSION " (format version %d)",
				    h[8], h[9], h[10], version, BINARY_FORMAT_VERSION);
		return fail(e, ERR_VERSION,
			    "Unsupported format version %u (this reader supports version %d)", version,
			    BINARY_FORMAT_VERSION);
	}
	struct binary_info *in = &r->info;
	in->version = version;
	in->py_major = h[8];
	in->py_minor = h[9];
	in->py_micro = h[10];
	in->start_time_us = rd64(h + 12, r->swap);
	in->interval_us = rd64(h + 20, r->swap);
	in->sample_count = rd64(h + 28, r->swap);
	in->thread_count = rd32(h + 36, r->swap);
	r->str_off = rd64(h + 40, r->swap);
	r->frame_off = rd64(h + 48, r->swap);
	uint32_t comp = rd32(h + 56, r->swap);
	/* Tachyon decompresses only type 1; any other value reads as raw */
	r->zstd = comp == BINARY_COMPRESSION_ZSTD;
	in->compression = (int32_t)comp; /* as Tachyon's get_info() shows it (a C int) */
	uint32_t config = rd32(h + 60, r->swap);
	uint32_t mode = config & 7;
	if (mode > 5)
		return fail(e, ERR_CORRUPT, "Invalid profiling mode in header: %u", mode);
	in->mode = (int)mode - 1;
	in->features = config & 8 ? (int)((config >> 4) & 0x1f) : -1;
	return 0;
}

/* The optional stats block: found by its magic 48 bytes from the end; its
 * size field says where it starts (Tachyon accepts 32..file_size-32). */
static int parse_stats(struct binary_reader *r, struct errmsg *e)
{
	uint64_t fs = r->info.file_size;
	unsigned char t[STATS_TAIL];
	if (pread_all(r->fd, t, sizeof(t), fs - FOOTER_SIZE - STATS_TAIL))
		return fail_errno(e, errno, NULL);
	if (memcmp(t, "TACHSTAT", 8) != 0 || rd32(t + 8, r->swap) != 1)
		return 0;
	uint32_t size = rd32(t + 12, r->swap);
	if (size < STATS_MIN_SIZE || size > fs - FOOTER_SIZE)
		return fail(e, ERR_CORRUPT, "Invalid profiling statistics size");
	unsigned char b[36];
	if (pread_all(r->fd, b, sizeof(b), fs - FOOTER_SIZE - size))
		return fail_errno(e, errno, NULL);
	struct binary_stats *st = &r->info.stats;
	st->duration_s = rdf64(b, r->swap);
	st->sample_rate = rdf64(b + 8, r->swap);
	st->error_rate = rdf64(b + 16, r->swap);
	st->missed_samples = rdf64(b + 24, r->swap);
	uint32_t mask = rd32(b + 32, r->swap);
	st->have_error_rate = mask & 1;
	st->have_missed_samples = mask & 2;
	if (!isfinite(st->duration_s) || st->duration_s < 0 || !isfinite(st->sample_rate) ||
	    st->sample_rate < 0 ||
	    (st->have_error_rate && (!isfinite(st->error_rate) || st->error_rate < 0)) ||
	    (st->have_missed_samples && !isfinite(st->missed_samples)))
		return fail(e, ERR_CORRUPT, "Invalid profiling statistics values");
	if (!st->have_error_rate)
		st->error_rate = 0;
	if (!st->have_missed_samples)
		st->missed_samples = 0;
	r->info.has_stats = true;
	return 0;
}

static int check_offsets(const struct binary_reader *r, struct errmsg *e)
{
	unsigned long long so = r->str_off, fo = r->frame_off;
	uint64_t fs = r->info.file_size;
	if (so > fs)
		return fail(e, ERR_CORRUPT, "Invalid string table offset: %llu exceeds file size %" PRIu64,
			    so, fs);
	if (fo > fs)
		return fail(e, ERR_CORRUPT, "Invalid frame table offset: %llu exceeds file size %" PRIu64,
			    fo, fs);
	if (so < HEADER_SIZE)
		return fail(e, ERR_CORRUPT, "Invalid string table offset: %llu is before data section", so);
	if (fo < HEADER_SIZE)
		return fail(e, ERR_CORRUPT, "Invalid frame table offset: %llu is before data section", fo);
	if (so > fo)
		return fail(e, ERR_CORRUPT,
			    "Invalid table offsets: string table (%llu) is after frame table (%llu)", so,
			    fo);
	return 0;
}

static int zstd_error(struct errmsg *e, size_t code)
{
	return fail(e, ERR_CORRUPT, "zstd decompression error: %s", ZSTD_getErrorName(code));
}

/* Decompress the whole record stream once, keeping nothing, to validate it
 * and learn its length. */
static int check_zstd(struct binary_reader *r, struct errmsg *e)
{
	uint64_t clen = r->str_off - HEADER_SIZE;
	unsigned char fh[ZSTD_FRAME_HEADER_MAX];
	size_t hn = clen < sizeof(fh) ? (size_t)clen : sizeof(fh);
	if (pread_all(r->fd, fh, hn, HEADER_SIZE))
		return fail_errno(e, errno, NULL);
	if (ZSTD_getFrameContentSize(fh, hn) == ZSTD_CONTENTSIZE_ERROR)
		return fail(e, ERR_CORRUPT, "Corrupted zstd frame header");

	ZSTD_DCtx *d = ZSTD_createDCtx();
	if (!d)
		return fail(e, ERR_NOMEM, "Failed to create zstd decompression context");
	struct fin in;
	fin_init(&in, r->fd, HEADER_SIZE, r->str_off, WINDOW);
	size_t outcap = ZSTD_DStreamOutSize();
	unsigned char *out = xmalloc(outcap);
	uint64_t total = 0;
	size_t last = 0;
	int rc = 0, stuck = 0;
	for (;;) {
		if (!fin_avail(&in) && (rc = fin_need(&in, in.cap)) != 0) {
			rc = fail_errno(e, errno, NULL);
			break;
		}
		ZSTD_inBuffer zi = { in.buf + in.lo, fin_avail(&in), 0 };
		ZSTD_outBuffer zo = { out, outcap, 0 };
		if (!zi.size && last == 0)
			break; /* all input used and the last frame complete */
		last = ZSTD_decompressStream(d, &zo, &zi);
		if (ZSTD_isError(last)) {
			rc = zstd_error(e, last);
			break;
		}
		in.lo += zi.pos;
		total += zo.pos;
		if (total > MAX_DECOMPRESSED) {
			rc = fail(e, ERR_LIMIT, "Decompressed data exceeds maximum size");
			break;
		}
		if (!zi.size && zo.pos < zo.size) {
			/* no input left and no more output coming */
			if (last != 0)
				rc = fail(e, ERR_CORRUPT, "Incomplete zstd frame: data may be truncated");
			break;
		}
		/* zstd itself errors out after a few calls without progress;
		 * this bound only makes the loop's end obvious */
		stuck = zi.pos || zo.pos ? 0 : stuck + 1;
		if (stuck > ZSTD_NO_PROGRESS_MAX) {
			rc = fail(e, ERR_CORRUPT, "Incomplete zstd frame: data may be truncated");
			break;
		}
	}
	free(out);
	fin_release(&in);
	ZSTD_freeDCtx(d);
	if (!rc)
		r->data_len = total;
	return rc;
}

/* Walk the string table (bounded by the end of the file, as Tachyon's). */
static int check_strings(struct binary_reader *r, struct errmsg *e)
{
	uint64_t fs = r->info.file_size;
	if (r->nstrings > fs - r->str_off)
		return fail(e, ERR_CORRUPT, "Invalid string count %u exceeds maximum possible %" PRIu64,
			    r->nstrings, fs - r->str_off);
	struct fin f;
	fin_init(&f, r->fd, r->str_off, fs, WINDOW);
	uint64_t bytes = 0;
	int rc = 0;
	for (uint32_t i = 0; i < r->nstrings; i++) {
		if ((rc = fin_need(&f, VARINT_MAX)) != 0) {
			rc = fail_errno(e, errno, NULL);
			break;
		}
		const unsigned char *p = f.buf + f.lo;
		uint32_t len;
		if (get_varint32(&p, f.buf + f.hi, &len)) {
			rc = fail(e, ERR_CORRUPT, "Malformed varint in string table");
			break;
		}
		f.lo = (size_t)(p - f.buf);
		if (len > fs - fin_tell(&f)) {
			rc = fail(e, ERR_CORRUPT, "String table overflow");
			break;
		}
		bytes += len;
		if (bytes > MAX_STRING_BYTES) {
			rc = fail(e, ERR_LIMIT, "String table too large (over %llu bytes)",
				  (unsigned long long)MAX_STRING_BYTES);
			break;
		}
		fin_skip(&f, len);
	}
	fin_release(&f);
	return rc;
}

static int parse_frames(struct binary_reader *r, struct errmsg *e)
{
	uint64_t fs = r->info.file_size;
	uint64_t max = (fs - r->frame_off) / FRAME_MIN_BYTES;
	if (r->nframes > max)
		return fail(e, ERR_CORRUPT, "Invalid frame count %u exceeds maximum possible %" PRIu64,
			    r->nframes, max);
	r->frames = xmalloc((size_t)r->nframes * sizeof(*r->frames) + 1);
	static const char *const field[] = { "filename", "funcname", "lineno", "end_lineno_delta",
					     "column", "end_column_delta" };
	struct fin f;
	fin_init(&f, r->fd, r->frame_off, fs, WINDOW);
	int rc = 0;
	for (uint32_t i = 0; i < r->nframes && !rc; i++) {
		if ((rc = fin_need(&f, 6 * VARINT_MAX + 1)) != 0) {
			rc = fail_errno(e, errno, NULL);
			break;
		}
		const unsigned char *p = f.buf + f.lo, *end = f.buf + f.hi;
		uint32_t v[6];
		for (int k = 0; k < 6; k++) {
			if (get_varint32(&p, end, &v[k])) {
				rc = fail(e, ERR_CORRUPT, "Malformed varint in frame table (%s)", field[k]);
				break;
			}
		}
		if (rc)
			break;
		if (p >= end) {
			rc = fail(e, ERR_CORRUPT, "Unexpected end of frame table (opcode)");
			break;
		}
		unsigned op = *p++;
		f.lo = (size_t)(p - f.buf);
		struct frame *fr = &r->frames[i];
		int32_t z[4];
		for (int k = 0; k < 4; k++)
			z[k] = unzigzag(v[2 + k]);
		/* ends are deltas, meaningless when the start is -1; line -1 is
		 * "no location" (Tachyon's LocationInfo None: users of the frame
		 * ignore the columns then, which are kept so a copy is exact) */
		fr->file = v[0];
		fr->func = v[1];
		fr->line = z[0];
		fr->end_line = z[0] == -1 ? -1 : add_wrap(z[0], z[1]);
		fr->col = z[2];
		fr->end_col = z[2] == -1 ? -1 : add_wrap(z[2], z[3]);
		fr->opcode = op == OPCODE_NONE ? FRAME_NO_OPCODE : (int32_t)op;
	}
	fin_release(&f);
	return rc;
}

int binary_reader_open(struct binary_reader **out, const char *path, struct errmsg *e)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return fail_errno(e, errno, path);
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int err = errno;
		close(fd);
		return fail_errno(e, err, path);
	}
	if (!S_ISREG(st.st_mode) && !((S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) && st.st_size == 0)) {
		close(fd);
		return fail_errno(e, ENODEV, NULL); /* what mmap says in Tachyon */
	}
	struct binary_reader *r = xcalloc(1, sizeof(*r));
	r->fd = fd;
	r->info.file_size = (uint64_t)st.st_size;
	r->info.owner_uid = (uint32_t)st.st_uid;
	r->info.owner_gid = (uint32_t)st.st_gid;
	int rc;
	unsigned char h[HEADER_SIZE], ft[FOOTER_SIZE];
	if (r->info.file_size < HEADER_SIZE) {
		rc = fail(e, ERR_INVAL, "File too small for header");
		goto out;
	}
	if (pread_all(fd, h, sizeof(h), 0) ||
	    pread_all(fd, ft, sizeof(ft), r->info.file_size - FOOTER_SIZE)) {
		rc = fail_errno(e, errno, NULL);
		goto out;
	}
	if ((rc = parse_header(r, h, e)) != 0)
		goto out;
	r->nstrings = rd32(ft, r->swap);
	r->nframes = rd32(ft + 4, r->swap);
	r->info.string_count = r->nstrings;
	r->info.frame_count = r->nframes;
	if ((rc = parse_stats(r, e)) != 0 || (rc = check_offsets(r, e)) != 0)
		goto out;
	r->data_len = r->str_off - HEADER_SIZE;
	if (r->zstd && (rc = check_zstd(r, e)) != 0)
		goto out;
	if ((rc = check_strings(r, e)) != 0 || (rc = parse_frames(r, e)) != 0)
		goto out;
	*out = r;
	return 0;
out:
	binary_reader_close(r);
	return rc;
}

const struct binary_info *binary_reader_info(const struct binary_reader *r)
{
	return &r->info;
}

void binary_reader_close(struct binary_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->frames);
	free(r);
}

/* ---- replay: the record window ------------------------------------------ */

static const unsigned char *win_ptr(const struct replay *p)
{
	return p->dctx ? p->win + p->wlo : p->in.buf + p->in.lo;
}

static size_t win_avail(const struct replay *p)
{
	return p->dctx ? p->whi - p->wlo : fin_avail(&p->in);
}

static void win_consume(struct replay *p, size_t n)
{
	p->consumed += n;
	if (p->dctx)
		p->wlo += n;
	else
		p->in.lo += n;
}

/* Decoded bytes after the window's first unread byte. */
static uint64_t win_left(const struct replay *p)
{
	return p->r->data_len - p->consumed;
}

/* Make at least n (<= RECORD_MAX) bytes available, or all that is left. */
static int win_need(struct replay *p, size_t n)
{
	if (win_avail(p) >= n || win_avail(p) == win_left(p))
		return 0;
	if (!p->dctx) {
		if (fin_need(&p->in, n))
			return fail_errno(p->e, errno, NULL);
		return 0;
	}
	memmove(p->win, p->win + p->wlo, p->whi - p->wlo);
	p->whi -= p->wlo;
	p->wlo = 0;
	int stuck = 0;
	while (p->whi < n && win_avail(p) < win_left(p)) {
		if (!fin_avail(&p->in) && fin_need(&p->in, p->in.cap))
			return fail_errno(p->e, errno, NULL);
		ZSTD_inBuffer zi = { p->in.buf + p->in.lo, fin_avail(&p->in), 0 };
		ZSTD_outBuffer zo = { p->win + p->whi, WINDOW - p->whi, 0 };
		size_t rc = ZSTD_decompressStream(p->dctx, &zo, &zi);
		if (ZSTD_isError(rc))
			return zstd_error(p->e, rc);
		p->in.lo += zi.pos;
		p->whi += zo.pos;
		p->produced += zo.pos;
		/* open measured the stream; a different one means the file changed */
		stuck = zi.pos || zo.pos ? 0 : stuck + 1;
		if (p->produced > p->r->data_len || stuck > ZSTD_NO_PROGRESS_MAX)
			return fail(p->e, ERR_IO, "The file changed while it was being read");
	}
	return 0;
}

/* ---- replay: threads ----------------------------------------------------- */

static uint64_t thread_hash(const struct replay *p, uint64_t tid, uint32_t interp)
{
	/* seeded: a hostile file cannot line its thread ids up in one probe run */
	return hash_u64(tid ^ p->seed) ^ hash_u64(((uint64_t)interp << 1 | 1) + p->seed);
}

static void thread_rehash(struct replay *p)
{
	size_t n = p->ntslots ? p->ntslots * 2 : 64;
	free(p->tslots);
	p->tslots = xcalloc(n, sizeof(*p->tslots));
	p->ntslots = n;
	for (size_t i = 0; i < p->nthreads; i++) {
		size_t j = thread_hash(p, p->threads[i].tid, p->threads[i].interp) & (n - 1);
		while (p->tslots[j])
			j = (j + 1) & (n - 1);
		p->tslots[j] = (uint32_t)i + 1;
	}
}

static int thread_get(struct replay *p, uint64_t tid, uint32_t interp, struct rthread **out)
{
	if ((p->nthreads + 1) * 2 > p->ntslots)
		thread_rehash(p);
	size_t mask = p->ntslots - 1;
	size_t j = thread_hash(p, tid, interp) & mask;
	for (; p->tslots[j]; j = (j + 1) & mask) { /* at most half full: ends */
		struct rthread *t = &p->threads[p->tslots[j] - 1];
		if (t->tid == tid && t->interp == interp) {
			*out = t;
			return 0;
		}
	}
	if (p->nthreads >= p->r->info.thread_count)
		return fail(p->e, ERR_CORRUPT,
			    "Invalid thread count: sample data contains more unique threads than "
			    "declared in header (declared %u, found at least %zu)",
			    p->r->info.thread_count, p->nthreads + 1);
	if (p->nthreads >= MAX_THREADS)
		return fail(p->e, ERR_LIMIT, "Too many threads in sample data (more than %u)",
			    MAX_THREADS);
	VEC_RESERVE(p->threads, p->threads_cap, p->nthreads + 1);
	struct rthread *t = &p->threads[p->nthreads];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->interp = interp;
	t->prev_ts = p->r->info.start_time_us;
	p->tslots[j] = (uint32_t)++p->nthreads;
	*out = t;
	return 0;
}

static void stack_reserve(struct rthread *t, uint32_t n)
{
	if (n <= t->cap)
		return;
	uint32_t cap = t->cap ? t->cap : 8;
	while (cap < n)
		cap *= 2;
	t->stack = xrealloc(t->stack, cap * sizeof(*t->stack));
	t->frames = xrealloc(t->frames, cap * sizeof(*t->frames));
	t->cap = cap;
}

/* Resolve the frames of t->stack[0..n) (the ones a record changed). */
static int resolve(struct replay *p, struct rthread *t, uint32_t n)
{
	const struct binary_reader *r = p->r;
	if (p->keys_only) {
		/* the frames are not copied; every frame's strings were
		 * checked when the table was resolved (keys_only is refused
		 * for a table with a bad one) */
		for (uint32_t k = 0; k < n; k++)
			if (t->stack[k] >= r->nframes)
				return fail(p->e, ERR_CORRUPT, "Invalid frame index: %u", t->stack[k]);
		return 0;
	}
	for (uint32_t k = 0; k < n; k++) {
		uint32_t idx = t->stack[k];
		if (idx >= r->nframes)
			return fail(p->e, ERR_CORRUPT, "Invalid frame index: %u", idx);
		t->frames[k] = r->frames[idx];
		if (t->frames[k].file == BAD_STRING || t->frames[k].func == BAD_STRING)
			return fail(p->e, ERR_CORRUPT, "Invalid string index in frame");
	}
	return 0;
}

/* ---- replay: records ----------------------------------------------------- */

/* Hand the thread's current stack to the consumer.  Its frames are the
 * thread's own resolved array, lent to the sample for the call: a record
 * costs what it changed, a repeat nothing per frame. */
static int emit(struct replay *p, const struct rthread *t, uint8_t status, bool same)
{
	const struct binary_reader *r = p->r;
	sample_clear(&p->s);
	struct thread_sample *ts = sample_add_thread(&p->s);
	ts->tid = t->tid;
	ts->interp_id = t->interp;
	ts->status = status;
	ts->depth = t->depth;
	ts->same_stack = same;
	struct frame *own = p->s.frames;
	p->s.frames = p->keys_only ? NULL : t->frames;
	p->s.nframes = p->keys_only ? 0 : t->depth;
	/* resolved: every index is a frame's; equal frames share one key */
	if (p->canon) {
		VEC_RESERVE(p->keys, p->keys_cap, t->depth);
		for (uint32_t k = 0; k < t->depth; k++)
			p->keys[k] = p->canon[t->stack[k]];
		p->s.frame_keys = p->keys;
	} else {
		p->s.frame_keys = t->stack;
	}
	p->s.key_frames = r->frames;
	p->s.nkey_frames = r->nframes;
	p->s.time_ns = t->prev_ts * 1000;
	int rc = p->fn(p->ctx, &p->s);
	p->s.frames = own;
	p->s.nframes = 0;
	if (rc)
		return rc;
	p->done++;
	if (p->progress && p->done % PROGRESS_EVERY == 0)
		p->progress(p->ctx, p->done, r->info.sample_count);
	return 0;
}

static int bad_varint(struct replay *p)
{
	return fail(p->e, ERR_CORRUPT, "Invalid or incomplete varint in binary data");
}

/* Read n frame indices into t->stack[0..n). */
static int get_indices(struct replay *p, const unsigned char **pp, const unsigned char *e,
		       struct rthread *t, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (get_varint32(pp, e, &t->stack[i]))
			return bad_varint(p);
	return 0;
}

/* FULL, SUFFIX and POP_PUSH: delta, status, then the stack change. */
static int decode_change(struct replay *p, struct rthread *t, int enc, const unsigned char **pp,
			 const unsigned char *e)
{
	uint64_t delta;
	if (get_varint(pp, e, &delta))
		return fail(p->e, ERR_CORRUPT, "Malformed varint in sample data");
	if (*pp >= e)
		return fail(p->e, ERR_CORRUPT, "Unexpected end of sample data");
	uint8_t status = *(*pp)++;
	t->prev_ts += delta;
	uint32_t a, b;
	if (get_varint32(pp, e, &a))
		return bad_varint(p);
	if (enc == ENC_FULL) {
		if (a > BINARY_MAX_DEPTH)
			return fail(p->e, ERR_CORRUPT, "Stack depth %u exceeds capacity %d", a,
				    BINARY_MAX_DEPTH);
		stack_reserve(t, a);
		t->depth = a;
		int rc = get_indices(p, pp, e, t, a);
		if (!rc)
			rc = resolve(p, t, a);
		return rc ? rc : emit(p, t, status, false);
	}
	if (get_varint32(pp, e, &b))
		return bad_varint(p);
	uint32_t keep, from;
	if (enc == ENC_SUFFIX) { /* a = shared outer frames, b = new inner ones */
		if (a > t->depth)
			return fail(p->e, ERR_CORRUPT, "Shared count %u exceeds current stack depth %u",
				    a, t->depth);
		keep = a;
		from = t->depth - a;
	} else { /* a = frames popped, b = frames pushed */
		keep = t->depth > a ? t->depth - a : 0;
		from = a;
	}
	uint64_t final = (uint64_t)keep + b;
	if (final > BINARY_MAX_DEPTH)
		return fail(p->e, ERR_CORRUPT, "Final stack depth %" PRIu64 " exceeds capacity %d", final,
			    BINARY_MAX_DEPTH);
	stack_reserve(t, (uint32_t)final);
	if (keep) {
		memmove(t->stack + b, t->stack + from, keep * sizeof(*t->stack));
		memmove(t->frames + b, t->frames + from, keep * sizeof(*t->frames));
	}
	t->depth = (uint32_t)final;
	int rc = get_indices(p, pp, e, t, b);
	if (!rc)
		rc = resolve(p, t, b);
	return rc ? rc : emit(p, t, status, false);
}

/* REPEAT: count, then count x (delta, status) with the thread's stack.
 * The run may be longer than the window: it is refilled between samples. */
static int decode_repeat(struct replay *p, struct rthread *t, const unsigned char *start,
			 const unsigned char **pp, const unsigned char *e)
{
	uint32_t count;
	if (get_varint32(pp, e, &count))
		return fail(p->e, ERR_CORRUPT, "Malformed varint for RLE count");
	win_consume(p, (size_t)(*pp - start));
	/* each sample takes at least 2 bytes: refuse a count the data cannot hold */
	uint64_t max = win_left(p) / 2;
	if (count > max)
		return fail(p->e, ERR_CORRUPT, "Invalid RLE count %u exceeds maximum possible %" PRIu64,
			    count, max);
	for (uint32_t i = 0; i < count; i++) {
		if (win_avail(p) < RLE_ENTRY_MAX) {
			int rc = win_need(p, RECORD_MAX);
			if (rc)
				return rc;
		}
		const unsigned char *s0 = win_ptr(p), *q = s0, *qe = s0 + win_avail(p);
		uint64_t delta;
		if (get_varint(&q, qe, &delta))
			return fail(p->e, ERR_CORRUPT, "Malformed varint in RLE sample data");
		if (q >= qe)
			return fail(p->e, ERR_CORRUPT, "Unexpected end of sample data in RLE");
		uint8_t status = *q++;
		win_consume(p, (size_t)(q - s0));
		t->prev_ts += delta;
		int rc = emit(p, t, status, true);
		if (rc)
			return rc;
	}
	return 0;
}

static int decode_record(struct replay *p)
{
	int rc = win_need(p, RECORD_MAX);
	if (rc)
		return rc;
	/* the window now holds RECORD_MAX bytes or everything that is left, so
	 * running off its end below means the data really ends there */
	const unsigned char *start = win_ptr(p), *q = start, *e = start + win_avail(p);
	if (e - q < 13)
		return fail(p->e, ERR_CORRUPT, "Truncated sample data: %zu trailing bytes",
			    (size_t)(e - q));
	uint64_t tid = rd64(q, p->r->swap);
	uint32_t interp = rd32(q + 8, p->r->swap);
	uint8_t enc = q[12];
	q += 13;
	struct rthread *t = NULL;
	if ((rc = thread_get(p, tid, interp, &t)) != 0)
		return rc;
	switch (enc) {
	case ENC_REPEAT:
		return decode_repeat(p, t, start, &q, e);
	case ENC_FULL:
	case ENC_SUFFIX:
	case ENC_POP_PUSH:
		rc = decode_change(p, t, enc, &q, e);
		if (!rc)
			win_consume(p, (size_t)(q - start));
		return rc;
	default:
		return fail(p->e, ERR_CORRUPT, "Unknown stack encoding: %u", enc);
	}
}

/* Intern every string of the file, in order (it was validated at open). */
static int intern_strings(struct replay *p, struct strtab *strings)
{
	struct binary_reader *r = p->r;
	p->str_ids = xmalloc(((size_t)r->nstrings + 1) * sizeof(*p->str_ids));
	struct fin f;
	fin_init(&f, r->fd, r->str_off, r->info.file_size, WINDOW);
	struct buf tmp = BUF_INIT, clean = BUF_INIT;
	int rc = 0;
	for (uint32_t i = 0; i < r->nstrings && !rc; i++) {
		if (fin_need(&f, VARINT_MAX)) {
			rc = fail_errno(p->e, errno, NULL);
			break;
		}
		const unsigned char *q = f.buf + f.lo;
		uint32_t len;
		if (get_varint32(&q, f.buf + f.hi, &len)) {
			rc = fail(p->e, ERR_IO, "The file changed while it was being read");
			break;
		}
		f.lo = (size_t)(q - f.buf);
		if (len > r->info.file_size - fin_tell(&f)) {
			rc = fail(p->e, ERR_IO, "The file changed while it was being read");
			break;
		}
		buf_reset(&tmp);
		buf_reserve(&tmp, len + 1);
		if (fin_read(&f, tmp.data, len)) {
			rc = fail_errno(p->e, errno, NULL);
			break;
		}
		/* the file may come from anywhere: its strings enter the
		 * profile as valid UTF-8, like the target's (base/utf8.h) */
		const char *str = tmp.data;
		size_t slen = len;
		if (!utf8_valid(tmp.data, len)) {
			buf_reset(&clean);
			utf8_sanitize(&clean, tmp.data, len);
			str = clean.data;
			slen = clean.len;
		}
		if (strings->bytes.len + (uint64_t)slen + 1 > UINT32_MAX) {
			rc = fail(p->e, ERR_LIMIT, "Too much string data to intern");
			break;
		}
		p->str_ids[i] = strtab_intern(strings, str, slen);
	}
	buf_release(&clean);
	buf_release(&tmp);
	fin_release(&f);
	return rc;
}

/* The frame table in strtab ids, and equal frames given one key (the
 * first index of them), so that consumers may tell frames apart by key
 * alone.  The hash table is transient: made before any sample is. */
static void resolve_frames(struct replay *p)
{
	struct binary_reader *r = p->r;
	bool bad = false;
	for (uint32_t i = 0; i < r->nframes; i++) {
		struct frame *f = &r->frames[i];
		f->file = f->file < r->nstrings ? p->str_ids[f->file] : BAD_STRING;
		f->func = f->func < r->nstrings ? p->str_ids[f->func] : BAD_STRING;
		bad = bad || f->file == BAD_STRING || f->func == BAD_STRING;
	}
	/* a bad frame is an error when a sample uses it: each used frame
	 * must then be looked at, which is what resolving does */
	p->keys_only = r->keys_only && !bad;
	size_t nslots = 16;
	while (nslots < (size_t)r->nframes * 2)
		nslots *= 2;
	uint32_t *slots = xcalloc(nslots, sizeof(*slots)); /* index + 1, 0: empty */
	/* each frame's home slot is a random place in a big table: the
	 * frames AHEAD further on have theirs hashed and on their way */
	enum { AHEAD = 8 };
	size_t home[AHEAD];
	for (size_t ahead = 0; ahead < (size_t)r->nframes + AHEAD; ahead++) {
		if (ahead < r->nframes) {
			size_t hi = (size_t)hash_bytes(&r->frames[ahead], sizeof(r->frames[ahead])) &
				    (nslots - 1);
			__builtin_prefetch(&slots[hi]);
			home[ahead % AHEAD] = hi;
		}
		if (ahead < AHEAD)
			continue;
		uint32_t i = (uint32_t)(ahead - AHEAD); /* the frame placed now */
		const struct frame *f = &r->frames[i];
		size_t h = home[i % AHEAD];
		for (; slots[h]; h = (h + 1) & (nslots - 1))
			if (frame_eq(&r->frames[slots[h] - 1], f))
				break;
		if (!slots[h]) {
			slots[h] = i + 1;
			if (p->canon)
				p->canon[i] = i;
			continue;
		}
		if (!p->canon) {
			p->canon = xmalloc((size_t)r->nframes * sizeof(*p->canon));
			for (uint32_t k = 0; k < i; k++)
				p->canon[k] = k;
		}
		p->canon[i] = slots[h] - 1;
	}
	free(slots);
}

static uint64_t make_seed(const void *addr)
{
	uint64_t seed = 0;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		seed = (uint64_t)(uintptr_t)addr ^ (uint64_t)now.tv_nsec << 17 ^ (uint64_t)now.tv_sec;
	}
	return seed;
}

void binary_reader_keys_only(struct binary_reader *r)
{
	r->keys_only = true;
}

int binary_reader_replay(struct binary_reader *r, struct strtab *strings, binary_sample_fn fn,
			 binary_progress_fn progress, void *ctx, struct errmsg *e)
{
	if (r->replayed)
		return fail(e, ERR_INVAL, "The file was already replayed");
	r->replayed = true;
	struct replay p;
	memset(&p, 0, sizeof(p));
	p.r = r;
	p.e = e;
	p.fn = fn;
	p.progress = progress;
	p.ctx = ctx;
	p.seed = make_seed(&p);
	sample_init(&p.s);
	fin_init(&p.in, r->fd, HEADER_SIZE, r->str_off, WINDOW);
	int rc = 0;
	if (r->zstd) {
		p.dctx = ZSTD_createDCtx();
		if (!p.dctx) {
			rc = fail(e, ERR_NOMEM, "Failed to create zstd decompression context");
			goto out;
		}
		p.win = xmalloc(WINDOW);
	}
	if ((rc = intern_strings(&p, strings)) != 0)
		goto out;
	resolve_frames(&p);
	if (progress)
		progress(ctx, 0, r->info.sample_count);
	while (!rc && win_left(&p) > 0)
		rc = decode_record(&p);
	if (!rc && p.done != r->info.sample_count)
		rc = fail(e, ERR_CORRUPT,
			  "Sample count mismatch: header declares %" PRIu64
			  " samples but replay decoded %" PRIu64,
			  r->info.sample_count, p.done);
	if (!rc && progress)
		progress(ctx, p.done, r->info.sample_count);
out:
	for (size_t i = 0; i < p.nthreads; i++) {
		free(p.threads[i].stack);
		free(p.threads[i].frames);
	}
	free(p.threads);
	free(p.tslots);
	free(p.str_ids);
	free(p.canon);
	free(p.keys);
	free(p.win);
	ZSTD_freeDCtx(p.dctx);
	fin_release(&p.in);
	sample_release(&p.s);
	return rc;
}
