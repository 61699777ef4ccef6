/* binary.h - Tachyon's binary profile format, version 1: a streaming writer
 * and a reader that treats files as hostile input.
 *
 * File = [64-byte header][sample records: raw, or one zstd frame][string
 * table][frame table][optional 56-byte stats block][32-byte footer], fixed
 * fields little-endian (native on x86-64), varints LEB128, see
 * docs/binary-format.md and ../shared/reference/tachyon.md section 2.9.
 *
 * The writer's memory does not grow with the length of the run: records are
 * streamed through a bounded buffer (and zstd), only the string and frame
 * tables (distinct values) and per-thread state are kept.  The reader
 * streams the records the same way.
 */
#ifndef STROBE_FORMAT_BINARY_H
#define STROBE_FORMAT_BINARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sample;
struct strtab;
struct errmsg;

#define BINARY_FORMAT_VERSION 1
#define BINARY_MAX_DEPTH 256          /* deeper stacks keep the innermost 256 */

enum binary_compression {
	BINARY_COMPRESSION_NONE = 0,
	BINARY_COMPRESSION_ZSTD = 1,
};

/* Capture features, the bits above the mode in the header's config word. */
enum {
	BINARY_FEATURE_ALL_THREADS = 1,
	BINARY_FEATURE_NATIVE = 2,
	BINARY_FEATURE_GC = 4,
	BINARY_FEATURE_OPCODES = 8,
	BINARY_FEATURE_BLOCKING = 16,
};

struct binary_config {
	uint64_t interval_us;       /* sampling interval */
	uint64_t start_time_us;     /* CLOCK_MONOTONIC at creation, in us */
	int compression;            /* enum binary_compression */
	int mode;                   /* 0 wall .. 4 exception; -1 unknown */
	int features;               /* BINARY_FEATURE_* bits; -1 unknown */
	uint8_t py_major, py_minor, py_micro; /* Python version to record (the target's) */
	/* The file is made as format/outfile.h says: a temporary file renamed
	 * into place at close.  named: the user named the path (-o), so a
	 * special file there (/dev/null) is written through. */
	bool named;
	struct errmsg *err;         /* if not NULL: why open or close failed, in a
				     * few words ("No space left on device") */
};

/* Run statistics stored in the stats block (Tachyon's set_stats). */
struct binary_stats {
	double duration_s;
	double sample_rate;
	double error_rate;          /* percent */
	double missed_samples;      /* percent of the expected samples, may be negative */
	bool have_error_rate;
	bool have_missed_samples;
};

/* What the writer did, for the end-of-run "Binary Encoding" block. */
struct binary_write_summary {
	uint64_t samples;           /* thread-samples written (header total) */
	uint64_t records;
	uint64_t repeat_records, repeat_samples;
	uint64_t full_records, suffix_records, pop_push_records;
	uint64_t frames_written;    /* frame indices written in records */
	uint64_t frames_saved;      /* frame indices not written thanks to the encodings */
	uint64_t bytes_written;     /* record bytes before compression */
};

struct binary_writer;

/* Start the output at path (it appears there only when closed) and write a
 * placeholder header.  0, or ERR_IO (errno set), ERR_INVAL (compression not
 * available, or a destination format/outfile.h refuses; cfg->err says why). */
int binary_writer_open(struct binary_writer **w, const char *path, const struct binary_config *cfg);

/* Append every thread of one sample (timestamp s->time_ns).  Strings are
 * looked up in strings by the frames' ids.  0 or ERR_IO; ERR_LIMIT when a
 * format limit (2^32 strings/frames/threads) is reached: the data written
 * so far stays valid, further samples are refused. */
int binary_writer_add(struct binary_writer *w, const struct sample *s, const struct strtab *strings);

/* Flush everything, write the tables, stats block (when stats != NULL),
 * footer and final header, close, rename the file into place and free the
 * writer.  The file is complete and valid afterwards.  0 or ERR_IO (the
 * file is not made, a file there before is left as it was). */
int binary_writer_close(struct binary_writer *w, const struct binary_stats *stats,
			struct binary_write_summary *summary);

/* Close and free without finishing (after an error): no file is made.
 * errno is kept. */
void binary_writer_abort(struct binary_writer *w);

/* Everything the header, footer and stats block say. */
struct binary_info {
	uint32_t version;
	uint8_t py_major, py_minor, py_micro;
	uint64_t start_time_us;
	uint64_t interval_us;
	uint64_t sample_count;
	uint32_t thread_count;
	uint32_t string_count, frame_count;
	int compression;            /* enum binary_compression */
	int mode;                   /* -1 unknown */
	int features;               /* -1 unknown */
	bool has_stats;
	struct binary_stats stats;
	uint64_t file_size;
	uint32_t owner_uid, owner_gid; /* the file's owner (st_uid, st_gid) */
};

struct binary_reader;

/* Open and validate a file: magic, version, offsets, tables, footer.  On
 * failure returns a negative ERR_* and e->text holds Tachyon's message
 * ("Invalid magic number: 0x...", ...).  Never allocates more than the
 * file justifies. */
int binary_reader_open(struct binary_reader **r, const char *path, struct errmsg *e);

const struct binary_info *binary_reader_info(const struct binary_reader *r);

/* Called once per sample (one thread); frames innermost first, strings
 * interned into the strtab given to replay (as valid UTF-8: each malformed
 * part of a file's string becomes U+FFFD), with their keys and the
 * reader's frame table (sample.h: key_frames, valid until
 * binary_reader_close).  weight is always 1 (REPEAT
 * records call once per repeated sample, each with its own timestamp).
 * A non-zero return stops the replay and is returned by it. */
typedef int (*binary_sample_fn)(void *ctx, const struct sample *s);
/* Called now and then with how many samples were decoded so far. */
typedef void (*binary_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/* For a consumer that reads stacks by their keys only (sample.h): replayed
 * samples then carry frame_keys and key_frames but no frames (frames
 * NULL), which saves resolving every frame a record changes.  Call before
 * binary_reader_replay. */
void binary_reader_keys_only(struct binary_reader *r);
/* Decode every record.  0, or a negative ERR_* with Tachyon's message in
 * e->text (corrupt records, truncated zstd, sample count mismatch ...). */
int binary_reader_replay(struct binary_reader *r, struct strtab *strings, binary_sample_fn fn,
			 binary_progress_fn progress, void *ctx, struct errmsg *e);

void binary_reader_close(struct binary_reader *r);

#endif
