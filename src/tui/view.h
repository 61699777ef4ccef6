/* view.h - the numbers of the live view, computed from the in-memory profile
 * (no curses here, so it is unit-tested on its own).
 *
 * Tachyon's live collector counts, per location (file, line, function), the
 * samples whose innermost frame is there ("direct") and the samples with the
 * location anywhere on the stack, once per stack ("cumulative"), both for
 * all threads and per thread; plus the executing opcode per location with
 * --opcodes.  The view derives the same counts from the profile's
 * (stack, thread) counts, incrementally: view_update() looks at which of
 * those counts grew since its last call and walks only those stacks, adding
 * the growth.  The sampler never does any of this work; a refresh costs a
 * scan of the profile's entry array plus one walk per stack that was seen
 * again, however long the run.
 *
 * Reset (the 'r' key) is a baseline: what was counted so far is dropped,
 * the profile itself is untouched.
 */
#ifndef STROBE_TUI_VIEW_H
#define STROBE_TUI_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/hash.h"
#include "base/intern.h"
#include "model/profile.h"

/* Table columns, in Tachyon's 's' cycle order. */
enum view_col {
	VIEW_NSAMPLES,
	VIEW_SAMPLE_PCT,
	VIEW_TOTTIME,
	VIEW_CUMUL_PCT,
	VIEW_CUMTIME,
	VIEW_NCOLS,
};

enum view_trend { TREND_STABLE, TREND_UP, TREND_DOWN };

/* A location: what Tachyon keys its statistics by, a struct frame_line
 * (model/sample.h). */

/* Counts of one location in one thread (per-thread tables). */
struct view_count {
	uint32_t loc;
	uint32_t reserved;
	uint64_t direct, cum;
};

struct view_thread {
	uint32_t pthread;            /* profile thread id */
	bool listed;                 /* in the thread list (had a stack since the reset) */
	struct u64map slot;          /* loc -> index in counts */
	struct view_count *counts;   /* in first-seen order */
	size_t ncounts, cap;
	uint64_t samples;            /* stacks counted for this thread */
	uint64_t nexec;              /* locations with direct > 0 */
};

/* Status counts, as Tachyon's header shows them. */
struct view_status {
	uint64_t total, has_gil, on_cpu, gil_requested, has_exception, gc;
	uint64_t samples; /* one thread: its stacks counted (GC % denominator) */
};

/* One table row. */
struct view_row {
	uint32_t loc;
	uint64_t order;              /* first-seen rank: ties keep it, as a stable sort */
	uint64_t direct, cum;
	double value[VIEW_NCOLS];    /* nsamples, sample %, tottime, cumul %, cumtime */
	uint8_t trend[VIEW_NCOLS];   /* enum view_trend */
};

/* A built table. */
struct view_table {
	struct view_row *rows;       /* the shown rows, sorted */
	size_t nrows, cap;
	uint64_t nfuncs;             /* locations in the source (all, or the thread's) */
	uint64_t nexec;              /* of which with direct samples */
};

struct view {
	const struct profile *p;
	double interval_s;
	bool opcodes;

	struct rectab locs;          /* struct frame_line */
	uint32_t *frame_loc;         /* profile frame id -> loc, UINT32_MAX = not yet */
	size_t frame_loc_cap, nframes;
	uint64_t *seen;              /* per profile entry: count already taken in */
	size_t seen_cap;

	/* all threads, per loc */
	uint64_t *direct, *cum, *order;
	uint32_t *stamp;             /* per-stack dedup of cumulative counts */
	double *prev;                /* trend: last shown values, VIEW_NCOLS per loc */
	uint8_t *tracked;            /* trend: prev holds values */
	uint32_t *fmatch;            /* filter result cache: gen << 1 | match */
	size_t loc_cap;
	uint32_t gen, fgen;
	uint64_t nfuncs, nexec, seq;

	struct view_thread *threads; /* per profile thread id */
	size_t threads_cap;
	uint32_t *list;              /* profile thread ids with stacks, first-seen order */
	size_t nlist, list_cap;
	struct profile_status *base; /* status counts at the last reset */
	size_t base_cap;

	struct u64map opc;           /* loc << 8 | opcode -> direct samples */
	bool trends;                 /* trend colours on ('x') */
	char *filter;                /* owned; NULL = none */
	struct buf scratch;
};

void view_init(struct view *v, const struct profile *p, uint64_t interval_us, bool opcodes);
void view_release(struct view *v);

/* Take in what the profile gained since the last call. */
void view_update(struct view *v);
/* Drop everything counted so far (later samples count from zero). */
void view_reset(struct view *v);

/* Threads seen with a stack since the reset, in first-seen order. */
static inline size_t view_nthreads(const struct view *v)
{
	return v->nlist;
}
uint64_t view_thread_tid(const struct view *v, size_t i);

/* Status counts of thread i (of view_nthreads), or of all threads (i < 0). */
void view_status(const struct view *v, long i, struct view_status *out);

/* Set the filter (case-insensitive substring of "file:function"; NULL or
 * "" for none). */
void view_set_filter(struct view *v, const char *pattern);

/* Build the table of thread i (i < 0: all threads): every location of the
 * source that passes the filter gets its values and trends computed (and the
 * trend baseline moved, as Tachyon's tracker does on every build); the best
 * max_rows by column sort go in t->rows.  Percentages are of successful
 * samples. */
void view_build(struct view *v, long thread, enum view_col sort, size_t max_rows,
		uint64_t successful, struct view_table *t);
void view_table_release(struct view_table *t);

static inline const struct frame_line *view_loc_get(const struct view *v, uint32_t loc)
{
	return (const struct frame_line *)rectab_get(&v->locs, loc);
}

/* Opcodes executed at loc (all threads), most frequent first: fills up to
 * max (opcode, count) pairs, returns how many opcodes there are in all;
 * *total gets the sum of their counts. */
size_t view_opcodes(const struct view *v, uint32_t loc, int *ops, uint64_t *counts, size_t max,
		    uint64_t *total);

#endif
