/* sampler_bpf_copies.h - the BPF program's code object copies, on the
 * user-space side (--engine bpf, docs/bpf-engine.md "Code object copies").
 *
 * The program copies each code object of a sample that user space does
 * not know yet (and what resolving it reads: its names and line table) in
 * code records written before the sample.  Here they wait for their
 * thread's sample, become the overlay on the target's memory while it is
 * decoded (so the code cache resolves a code object freed since the sample
 * from its copy, as it would from live memory), and go with it.  The store
 * also keeps what the program was told is known (its `known_codes`), so
 * that it is told once, and told to forget what the code cache stops
 * trusting. */
#ifndef STROBE_SAMPLER_BPF_COPIES_H
#define STROBE_SAMPLER_BPF_COPIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/hash.h"
#include "process/mem.h"

struct bpf_engine;
struct bpf_engine_code;
struct bpf_engine_sample;
struct py_layout;
struct strobe_bpf_code_config;

/* One copied range, of one thread's sample. */
struct bpf_copy {
	uint64_t seq, gen;
	uint32_t tid;
	bool whole;          /* it holds its object whole (mem_snapshot_add_whole) */
	raddr_t addr;
	size_t len;
	unsigned char *bytes; /* owned */
};

struct bpf_copies {
	struct bpf_engine *be;         /* borrowed; NULL: no program to tell */
	const struct py_layout *layout; /* borrowed */
	struct bpf_copy *v;            /* in arrival order */
	size_t n, cap;
	uint64_t seq, gen;
	struct mem_snapshot overlay;   /* the last sampler_bpf_copies_overlay's */
	const struct bpf_copy **pick;  /* scratch: one thread's copies */
	size_t pick_cap;
	unsigned char **merged;        /* the overlay's ranges made of several copies */
	size_t nmerged, merged_cap;
	struct u64map known;           /* code address -> globals the program was told */
	struct u64map slots;           /* its known_codes slot -> the code address holding it
					* (two sharing a slot take turns: the one told last) */
	uint32_t frame_code, frame_globals; /* in a frame's head (the program's configuration) */
	uint64_t code_mask;
};

/* For the program be, configured with code, on a target of layout l (both
 * borrowed, and must outlive cc). */
void sampler_bpf_copies_init(struct bpf_copies *cc, struct bpf_engine *be, const struct py_layout *l,
			     const struct strobe_bpf_code_config *code);
void sampler_bpf_copies_release(struct bpf_copies *cc);

/* A code record (bpf_engine_on_code's callback, the record checked). */
void sampler_bpf_copies_add(struct bpf_copies *cc, const struct bpf_engine_code *c);
/* A drain starts: the copies of a sample that never came (a part of it
 * lost) go two drains after they came. */
void sampler_bpf_copies_age(struct bpf_copies *cc);
/* Thread tid's sample was decoded: its copies go. */
void sampler_bpf_copies_drop(struct bpf_copies *cc, uint32_t tid);

/* Thread tid's copies as cc->overlay (valid until the next call or
 * release), for mem_snapshot_overlay: copies that overlap or touch are one
 * range (the newest bytes where they differ); a str object's copy that
 * holds it whole is added whole.  Whether there is any. */
bool sampler_bpf_copies_overlay(struct bpf_copies *cc, uint32_t tid);

/* Frames [0, n) of sample rec were decoded: tell the program the code
 * objects among them that the code cache holds (index: its address ->
 * slot map) with their frames' globals, so it stops copying them. */
void sampler_bpf_copies_known(struct bpf_copies *cc, const struct u64map *index,
			      const struct bpf_engine_sample *rec, uint32_t n);
/* The code cache stops trusting the code object at code (evicted, or
 * unused for a period): the program copies it again when it meets it. */
void sampler_bpf_copies_forget(struct bpf_copies *cc, raddr_t code);
/* The program forgot every code object (bpf_engine_reconfigure). */
void sampler_bpf_copies_forgotten(struct bpf_copies *cc);
/* Whether the program was told the code object at code is known. */
bool sampler_bpf_copies_knows(const struct bpf_copies *cc, raddr_t code);

#endif
