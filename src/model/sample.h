/* sample.h - the contract between the walker (py/) and everything after it.
 *
 * One sample is what the walker saw at one instant: for each visited thread
 * its ids, status bits and frames, innermost (currently executing) first.
 * Strings (file names, function names) are already interned in the
 * profile's string table, so a frame is a small fixed record.
 *
 * The walker fills a caller-owned struct sample; the arrays grow rarely
 * (amortised) and are reused from sample to sample.
 */
#ifndef STROBE_MODEL_SAMPLE_H
#define STROBE_MODEL_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* Thread status bits, Tachyon's values (persisted in binary files). */
enum {
	STATUS_HAS_GIL = 1,
	STATUS_ON_CPU = 2,
	STATUS_UNKNOWN = 4,
	STATUS_GIL_REQUESTED = 8,
	STATUS_HAS_EXCEPTION = 16,
	STATUS_MAIN_THREAD = 32,
};

/* Line value of a frame with no location (synthetic <GC>/<native> frames,
 * or code whose line table says "none"). */
#define FRAME_NO_LINE (-1)
#define FRAME_NO_OPCODE (-1)

/* One resolved frame.  No padding: it is interned with memcmp. */
struct frame {
	uint32_t file;     /* string id: co_filename, or "~" for synthetic frames */
	uint32_t func;     /* string id: co_qualname (3.11+) or co_name */
	int32_t line;      /* executing line, FRAME_NO_LINE if unknown */
	int32_t end_line;  /* -1 if unknown */
	int32_t col;       /* UTF-8 byte column, -1 if unknown */
	int32_t end_col;   /* -1 if unknown */
	int32_t opcode;    /* FRAME_NO_OPCODE unless opcodes were requested */
};

/* What Tachyon keys a frame by in its statistics and texts (pstats,
 * collapsed stacks, flame graphs, the live view): file, function and
 * line, a frame with no line counting as line 0 (its extract_lineno).  No
 * padding: interned with memcmp. */
struct frame_line {
	uint32_t file; /* string ids */
	uint32_t func;
	int32_t line;
};

static inline struct frame_line frame_line_of(uint32_t file, uint32_t func, int32_t line)
{
	return (struct frame_line){ .file = file, .func = func,
				    .line = line == FRAME_NO_LINE ? 0 : line };
}

/* Whether two frames are the same in every field: called for every frame
 * of every sample, so inline field compares rather than a memcmp call. */
static inline bool frame_eq(const struct frame *a, const struct frame *b)
{
	return a->file == b->file && a->func == b->func && a->line == b->line &&
	       a->end_line == b->end_line && a->col == b->col && a->end_col == b->end_col &&
	       a->opcode == b->opcode;
}

struct thread_sample {
	uint64_t tid;       /* OS thread id (gettid) */
	uint32_t interp_id; /* interpreter id, 0 for the main interpreter */
	uint32_t status;    /* STATUS_* bits */
	uint32_t first;     /* index of the innermost frame in sample.frames */
	uint32_t depth;     /* number of frames */
	/* The frames are known to be those of this thread's previous sample
	 * from the same source (a replayed repeat record), so a consumer may
	 * reuse what it derived from them.  False says nothing. */
	bool same_stack;
};

struct sample {
	uint64_t time_ns;   /* CLOCK_MONOTONIC when the sample was taken */
	struct thread_sample *threads;
	size_t nthreads, threads_cap;
	struct frame *frames;
	size_t nframes, frames_cap;
	/* A sample replayed from a binary file: a key of each frame
	 * (frame_keys[i] for frames[i]), a file frame index, equal keys if and
	 * only if equal frames, so consumers may look frames up by key instead
	 * of hashing them; key_frames[key] is the frame of a key, a table that
	 * stays valid until its source is closed (binary_reader_close).
	 * Both NULL otherwise; sample_clear() resets them.  A replay made for a
	 * consumer of keys only (binary_reader_keys_only) leaves frames NULL. */
	const uint32_t *frame_keys;
	const struct frame *key_frames;
	size_t nkey_frames; /* keys are below it */
};

void sample_init(struct sample *s);
void sample_release(struct sample *s);
/* Empty the sample, keeping its memory. */
static inline void sample_clear(struct sample *s)
{
	s->nthreads = 0;
	s->nframes = 0;
	s->frame_keys = NULL;
	s->key_frames = NULL;
	s->nkey_frames = 0;
}
/* Start a new thread entry (depth 0, first = current nframes). */
struct thread_sample *sample_add_thread(struct sample *s);
/* Make room for n more frames; returns a pointer to the first free one.
 * Frames are committed by incrementing nframes and the thread's depth.
 * (inline: the walk calls it for every frame of every sample) */
static inline struct frame *sample_reserve_frames(struct sample *s, size_t n)
{
	VEC_RESERVE(s->frames, s->frames_cap, s->nframes + n);
	return &s->frames[s->nframes];
}

#endif
