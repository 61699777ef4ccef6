/* profile.h - the in-memory profile: interned strings, frames and stacks,
 * with a count per (stack, thread).
 *
 * Memory grows with distinct stacks, never with the number of samples:
 * a stack is a node in a trie of (parent node, frame) pairs, so a stack that
 * shares its root part with another costs one node per differing frame.
 * Ids are dense and in first-seen order.
 */
#ifndef STROBE_MODEL_PROFILE_H
#define STROBE_MODEL_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/hash.h"
#include "base/intern.h"
#include "model/sample.h"

#define PROFILE_NO_NODE UINT32_MAX

/* A frame of the profile.  By default its identity is (file, func, line),
 * the "current line" semantics of Tachyon's aggregating collectors, and the
 * other fields hold -1 / FRAME_NO_OPCODE; a profile made with
 * profile_keep_detail() keeps every field (columns, end line, opcode) for
 * the formats that show them.  Same layout as struct frame. */
struct profile_frame {
	uint32_t file;     /* string id */
	uint32_t func;     /* string id */
	int32_t line;      /* FRAME_NO_LINE for synthetic frames */
	int32_t end_line;
	int32_t col;
	int32_t end_col;
	int32_t opcode;
};

/* A trie node: the stack made of the parent's stack plus one inner frame. */
struct profile_node {
	uint32_t parent; /* PROFILE_NO_NODE for an outermost frame */
	uint32_t frame;  /* profile_frame id */
};

struct profile_thread {
	uint64_t tid;
	uint32_t interp_id;
	uint32_t reserved; /* zero; keeps the record free of padding */
};

/* How often a thread was seen in each state (Tachyon's thread_stats):
 * every observation counts, empty stacks included. */
struct profile_status {
	uint64_t total;
	uint64_t has_gil, on_cpu, gil_requested, unknown, has_exception;
	uint64_t gc;         /* observations with a frame named like <GC> or gc_collect */
	bool main;           /* seen with STATUS_MAIN_THREAD */
};

/* Samples seen with one stack on one thread. */
struct profile_entry {
	uint32_t node;   /* innermost trie node of the stack */
	uint32_t thread; /* profile_thread id */
	uint64_t count;
};

/* Run figures the writers and the summary print. */
struct profile_stats {
	uint64_t interval_us; /* requested sampling interval */
	uint64_t ticks;       /* sampling attempts, failed ones included */
	uint64_t failed;      /* attempts that produced no sample */
	double duration_s;    /* time spent sampling */
	int mode;             /* sampling mode (0 wall .. 4 exception); -1 unknown
			       * (replay of a file that does not say) */
	/* replay: the figures the recording run stored (binary stats block) */
	bool restored;
	double sample_rate, error_rate, missed_samples;
};

/* Per-thread memo of the last stack added, so an unchanged stack costs a
 * comparison instead of a trie walk. */
struct profile_last {
	struct frame *frames; /* innermost first */
	uint32_t *nodes;      /* nodes[i] = node of the stack ending at frames[i] */
	size_t depth, cap;
	uint32_t entry;       /* entry index for (nodes[0], thread), or UINT32_MAX */
};

struct profile {
	struct strtab strings;
	struct rectab frames;   /* struct profile_frame */
	struct rectab nodes;    /* struct profile_node */
	struct rectab threads;  /* struct profile_thread */
	struct profile_entry *entries;
	size_t nentries, entries_cap;
	struct u64map entry_index;  /* node << 32 | thread -> entry index */
	struct profile_last *last;  /* indexed by thread id */
	struct profile_status *status; /* indexed by thread id, same capacity */
	size_t last_cap;
	uint8_t *name_flags;        /* per string id: what the string is (profile.c) */
	size_t name_flags_cap;
	uint32_t *frame_by_key;     /* replayed frame index -> frame id + 1 */
	size_t frame_by_key_cap;
	struct frame *filtered;     /* scratch: a stack without internal frames */
	size_t filtered_cap;
	uint64_t thread_samples;    /* non-empty thread stacks added */
	uint64_t samples;           /* profile_add_sample calls (Tachyon's sample count) */
	uint64_t gc_samples;        /* ... of which some thread had a GC frame */
	bool detail;                /* frames keep columns, end line and opcode */
	bool skip_idle;             /* stacks of threads with neither the GIL nor a
				     * CPU are not counted (Tachyon's collectors,
				     * in cpu, gil and exception modes) */
	struct profile_stats stats;
};

void profile_init(struct profile *p);
void profile_release(struct profile *p);
/* Keep full frame detail (before adding anything). */
void profile_keep_detail(struct profile *p);

/* Add every thread of s with weight 1: its status to the thread's status
 * counts, its stack (when not empty) to the stacks.  Frames of Tachyon's
 * launcher (files ending in _sync_coordinator.py, found in files Tachyon
 * recorded) are left out, as Tachyon's own collectors do. */
void profile_add_sample(struct profile *p, const struct sample *s);
/* Add one stack (frames innermost first) for a thread with a weight. */
void profile_add_stack(struct profile *p, uint64_t tid, uint32_t interp_id,
		       const struct frame *frames, size_t depth, uint64_t weight);

static inline const struct profile_frame *profile_frame_get(const struct profile *p, uint32_t id)
{
	return (const struct profile_frame *)rectab_get(&p->frames, id);
}
static inline const struct profile_node *profile_node_get(const struct profile *p, uint32_t id)
{
	return (const struct profile_node *)rectab_get(&p->nodes, id);
}
static inline const struct profile_thread *profile_thread_get(const struct profile *p, uint32_t id)
{
	return (const struct profile_thread *)rectab_get(&p->threads, id);
}
static inline const char *profile_str(const struct profile *p, uint32_t id)
{
	return strtab_get(&p->strings, id, NULL);
}

/* Status counts of a thread (profile_thread id). */
const struct profile_status *profile_thread_status(const struct profile *p, uint32_t thread);

/* Depth of the stack ending at node. */
size_t profile_stack_depth(const struct profile *p, uint32_t node);
/* Write the frame ids of the stack ending at node into out, innermost
 * first; returns the depth (at most max frames are written). */
size_t profile_stack_frames(const struct profile *p, uint32_t node, uint32_t *out, size_t max);
/* The frame ids of a whole stack into *buf, innermost first, growing *buf
 * (capacity *cap, owned by the caller) as needed; returns the depth. */
size_t profile_stack_fill(const struct profile *p, uint32_t node, uint32_t **buf, size_t *cap);

#endif
