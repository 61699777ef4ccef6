/* flamegraph.h - Tachyon's flamegraph data tree (FlamegraphCollector), shared
 * by the flamegraph and the differential flamegraph writers.  Internal to
 * format/: the writers' entry points are in out.h.
 *
 * Three steps, each a pass over arrays (no recursion: stacks may be
 * thousands of frames deep):
 *
 *   fg_tree_build   the profile's stack trie re-keyed by Tachyon's function
 *                   identity (file, line, func) and summed: inclusive and
 *                   self samples, per thread, opcodes per node; optionally
 *                   without the nodes pruning would drop (never made).
 *   fg_conv_run     Tachyon's _convert_to_flamegraph_format: pruning, the
 *                   string table (in Tachyon's interning order), source
 *                   lines, module names, children sorted, root promotion.
 *   fg_emit         the JSON, into a buffer.
 *
 * The differential writer adds its per-node figures through struct fg_conv
 * (diff, value, self, no_ops, scale) and its stats through stats_extra.
 */
#ifndef STROBE_FORMAT_FLAMEGRAPH_H
#define STROBE_FORMAT_FLAMEGRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/buf.h"
#include "base/hash.h"
#include "base/intern.h"
#include "model/sample.h"

struct profile;
struct out_request;

#define FG_NONE UINT32_MAX

/* Samples of one thread in one node (a list per node). */
struct fg_pair {
	uint32_t tix;  /* thread index (struct fg_tree tids) */
	uint32_t next; /* next pair of the same node, or FG_NONE */
	uint64_t total, self;
};

/* Samples with one opcode in one node: tix FG_NONE for all threads. */
struct fg_opc {
	uint32_t tix;
	int32_t op;
	uint32_t next;
	uint32_t reserved;
	uint64_t count;
};

/* Tachyon's function identity is a struct frame_line (model/sample.h). */

struct fg_tnode {
	uint32_t parent;        /* FG_NONE for node 0, the root */
	uint32_t first_child, next_sibling; /* first-seen order */
	uint32_t key;           /* index in struct fg_tree keys */
	uint32_t pairs;         /* first fg_pair, or FG_NONE */
	uint32_t npairs;
	uint64_t value, self;
};

struct fg_tree {
	const struct profile *p;
	struct fg_tnode *nodes; /* node 0 is the root (Tachyon's _root) */
	size_t n;
	struct frame_line *keys;
	size_t nkeys;
	struct fg_pair *pairs;
	size_t npairs, pairs_cap;
	struct u64map pair_index; /* (node, tix) -> pair, for nodes with many threads */
	struct fg_opc *ops;
	size_t nops;
	uint32_t *ops_head;     /* per node, first fg_opc or FG_NONE (NULL: no opcodes) */
	uint64_t *tids;         /* thread index -> tid (Tachyon keys threads by tid) */
	size_t ntids;
	uint64_t total;         /* samples in all stacks (Tachyon's _total_samples) */
	bool has_opcodes;
};

static inline const struct frame_line *fg_key_of(const struct fg_tree *t, uint32_t node)
{
	return &t->keys[t->nodes[node].key];
}

/* floor > 1: leave out nodes (and their subtrees) with fewer samples, which
 * Tachyon's pruning would drop anyway when floor is at most every thread's
 * threshold; 0 or 1: the whole tree (the differential writer matches paths
 * over it). */
void fg_tree_build(struct fg_tree *t, const struct profile *p, uint64_t floor);
/* The floor for p's flamegraph: the smallest per-thread pruning threshold
 * (each at most the overall one), max(1, int(thread samples * 0.001)). */
uint64_t fg_prune_floor(const struct profile *p);
void fg_tree_release(struct fg_tree *t);

/* Differential figures of a node (Tachyon's diff annotations). */
struct fg_diffv {
	double baseline, baseline_total, self_time, diff, diff_pct;
};

enum fg_state {
	FG_TREE,           /* a tree to show */
	FG_NO_DATA,        /* no samples: {"name": "No Data", ...} */
	FG_NO_SIGNIFICANT, /* every root function pruned */
};

/* Where a node's source lines are in fg_conv src[]. */
struct fg_srcref {
	uint32_t first;
	uint32_t n;
};

struct fg_kid {
	uint64_t value;
	uint32_t name;
	uint32_t node;
};

struct fg_src_cache;
struct fg_module_cache;

struct fg_conv {
	const struct fg_tree *t;
	const struct out_request *req;
	bool with_source;       /* false: no "source" (Tachyon's elided view) */
	uint64_t min_samples;   /* 0: Tachyon's default, max(1, total / 1000) */
	struct strtab strings;  /* Tachyon's StringTable */
	enum fg_state state;
	bool promoted;          /* the root is its single child, renamed */
	uint32_t root;          /* the node emitted as root (0 or the promoted one) */
	uint32_t root_name, root_label;
	size_t root_children;   /* for "Flamegraph data: N root function(s)" */
	/* per tree node, for kept nodes */
	uint8_t *kept;
	uint32_t *s_name, *s_label, *s_file, *s_func, *s_module;
	struct fg_srcref *src_ref;
	uint32_t *src;          /* string indices of source lines */
	size_t nsrc, src_cap;
	uint32_t *kid_off, *kid_n; /* sorted kept children: kids[kid_off[n] ..] */
	struct fg_kid *kids;
	/* overrides (the differential writer's) */
	uint64_t *value, *self; /* NULL: the tree's */
	uint8_t *no_ops;        /* per node: leave opcodes out */
	double scale;           /* with scaled: values and selfs times scale, as floats */
	bool scaled;
	struct fg_diffv *diff;  /* per node, or NULL */
	bool root_self;         /* emit "self" on a non-promoted root (elided view) */
	const char *stats_extra;/* JSON members appended to "stats" (",\"k\":v...") */
	bool stats_baseline;    /* stats as Tachyon's elided view: the run's figures
				 * of stats_run with this tree's thread stats */
	const struct profile *stats_run;
	struct fg_src_cache *srcs;
	struct fg_module_cache *modules;
};

/* Convert t.  conv->t, req, with_source and min_samples are set by the
 * caller (the rest zeroed). */
void fg_conv_run(struct fg_conv *c);
void fg_conv_release(struct fg_conv *c);

/* The data tree as JSON into out ("<" escaped, for an HTML script
 * element). */
void fg_emit(struct buf *out, const struct fg_conv *c);

/* Tachyon's "Flamegraph data: N root function(s), ..." line, and its
 * warning when there is nothing to show. */
void fg_print_summary(FILE *fp, const struct fg_conv *c);

/* The page around the JSON: write it to req->path (through out_file_open:
 * whole or not at all).  0, or ERR_IO with req->err saying why; *written
 * tells whether the file was made. */
int fg_write_page(const struct out_request *req, const struct buf *json, bool differential,
		  bool *written);

/* The page's parts, embedded at build time (flamegraph_page.c). */
extern const char out_fg_page_html[];
extern const char out_fg_page_css[];
extern const char out_fg_page_js[];

#endif
