/* stackids.h - frame ids for the formats that consume samples as they come
 * (jsonl, heatmap, pstats, collapsed) instead of reading the whole profile
 * at the end.
 *
 * Every distinct frame (all of its fields) gets an id.  A live frame's is
 * dense, in first-seen order; the new frames of a stack are interned from
 * the root inwards, the order in which the profile interns them
 * (profile.c).  A replayed frame's id is its key (sample.h), an index of
 * the samples' key_frames, so that replayed frames cost stack_ids no memory
 * at all; the key_frames table must outlive the stack_ids, and all the
 * samples given to one stack_ids come from one source (replayed from one
 * file, or live).  A format that wants first-seen order keeps it itself,
 * for ids it has not seen yet, walking each stack from the root inwards.
 * Each thread's last stack is remembered with its ids, so the outer part a
 * stack shares with the thread's previous one costs a comparison per frame,
 * not a lookup.
 *
 * What Tachyon's collectors leave out is left out here too: the frames of
 * its launcher (files recorded by Tachyon's `run`), and with skip_idle the
 * threads holding neither the GIL nor a CPU.  Memory grows with distinct
 * frames and threads, never with samples.
 */
#ifndef STROBE_MODEL_STACKIDS_H
#define STROBE_MODEL_STACKIDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/intern.h"
#include "model/sample.h"

/* Whether a file name is one of Tachyon's own launcher (its
 * _INTERNAL_FRAME_SUFFIXES), whose frames no output shows. */
bool stack_internal_file(const char *s, size_t n);

struct stack_ids_thread {
	struct frame *frames; /* the last stack, root first (live samples) */
	uint32_t *ids;        /* ids[k]: id of frames[k] */
	uint32_t *out;        /* the same ids innermost first, as handed out */
	bool current;         /* the memo is the thread's previous sample's stack */
	size_t depth, cap;
};

struct stack_ids {
	bool skip_idle;
	struct rectab frames;          /* struct frame, by id (live) */
	const struct frame *key_frames; /* the samples' key_frames (replay) */
	struct rectab thread_keys;     /* struct profile_thread-like keys */
	struct stack_ids_thread *threads;
	size_t threads_cap;
	uint8_t *internal;             /* per string id: 0 unknown, 1 no, 2 yes */
	size_t internal_cap;
	uint8_t *key_internal;         /* the same per replay key */
	size_t key_internal_cap;
	/* after a stack_ids_of() that returned a stack: its thread's index
	 * (dense, first seen first) and how many of its outermost frames are
	 * those of the thread's previous stack, so that a caller may keep
	 * per-thread, per-depth results of its own */
	uint32_t thread;
	size_t shared;
	bool same;                     /* the stack is the thread's previous one */
};

void stack_ids_init(struct stack_ids *s, bool skip_idle);
void stack_ids_release(struct stack_ids *s);
/* The frame ids of thread t's stack in smp (strings: the sample's string
 * table), innermost first, with *depth set; NULL with *depth 0 when the
 * thread is left out or its stack is empty.  Valid until the next call. */
const uint32_t *stack_ids_of(struct stack_ids *s, const struct sample *smp,
			     const struct thread_sample *t, const struct strtab *strings,
			     size_t *depth);

static inline const struct frame *stack_ids_frame(const struct stack_ids *s, uint32_t id)
{
	if (s->key_frames)
		return &s->key_frames[id];
	return (const struct frame *)rectab_get(&s->frames, id);
}

#endif
