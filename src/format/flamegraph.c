/* flamegraph.c - the flamegraph (--flamegraph): Tachyon's data tree as JSON
 * in one self-contained HTML page with strobe's own canvas renderer
 * (src/format/flamegraph/, embedded by flamegraph_page.c).
 *
 * The data is Tachyon's FlamegraphCollector (CPython 3.15) field for field,
 * so that its tree, numbers and string table are the reference:
 *
 * - A node is a function identity (file, line, func) under its parent
 *   ("current line" semantics; a frame without a line has line 0).  Its
 *   children are kept in first-seen order while building, which is the
 *   order Tachyon's dicts iterate; the profile's trie ids are first-seen too
 *   (a parent's id is below its children's), so re-keying the trie in id
 *   order reproduces Tachyon's insertion order exactly.
 * - value = inclusive samples, self = samples with the node as leaf, both
 *   also per thread id (Tachyon keys threads by tid alone, so one tid seen
 *   in two interpreters is one thread here too).
 * - Pruning: a node (and its subtree) is left out when value <
 *   max(1, int(total * 0.001)) and no thread has at least
 *   max(1, int(thread_total * 0.001)) samples in it.
 * - Strings are interned in Tachyon's order: a pre-order walk of the kept
 *   nodes in first-seen order, per node filename, funcname, module, name,
 *   label, then its source lines; children are sorted (value descending,
 *   then name index) only afterwards.
 * - A single root child holding every sample of every thread becomes the
 *   root, named "Program Root: <name>".
 *
 * What strobe cannot take from a Python of its own, it takes from the
 * profiled one: module names (Tachyon asks its own sys.path) use the
 * file's own standard library directory (a lib/pythonX.Y with an os.py),
 * then site-packages / dist-packages, then strobe's working directory
 * (which is Tachyon's sys.path[0]); opcode names are the target version's;
 * source lines are read through the profiled process's root.
 *
 * Cost: one pass over the profile's trie, one over its entries, one
 * bottom-up pass per (node, thread) pair; a file's source is read once,
 * and only the lines shown are kept of it.
 * Nodes pruning would drop are never made (build_nodes_pruned): on a
 * profile of 10^6 samples over random stacks the tree keeps a few percent
 * of the trie, and the writer adds little to the profile's own memory.
 */
#include "format/out.h"

#include "base/buf.h"
#include "base/error.h"
#include "base/hash.h"
#include "base/intern.h"
#include "base/json.h"
#include "base/pytext.h"
#include "base/utf8.h"
#include "model/profile.h"
#include "format/flamegraph.h"
#include "format/htmlenc.h"
#include "format/pymodule.h"
#include "format/template.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Bytes of source all the files of one page may hold together, as read
 * (a target may name its code after large files, or one file under many
 * names); a file that does not fit is not shown.  Only the lines the page
 * shows are kept once a file is read. */
#define SOURCE_BUDGET (64u << 20)
#define SOURCE_CONTEXT 2              /* lines before and after the current one */

/* ------------------------------------------------------------------ */
/* The tree                                                           */

/* A list of per-thread pairs hanging off an owner (a tree node, or a trie
 * node while summing opcodes): scanned while short, indexed by a hash map
 * once an owner has many threads. */
#define PAIR_SCAN 8

#define FG_DEAD 0x80000000u /* fmap: pruned; the low bits name the nearest kept ancestor */

struct pairlist {
	struct fg_pair *v;
	size_t n, cap;
	struct u64map index; /* owner << 32 | tix -> pair */
};

static uint32_t pair_get(struct pairlist *pl, uint32_t *head, uint32_t *count, uint32_t owner,
			 uint32_t tix)
{
	uint64_t key = (uint64_t)owner << 32 | tix;
	if (*count > PAIR_SCAN) {
		uint64_t *v = u64map_get(&pl->index, key);
		if (v)
			return (uint32_t)*v;
	} else {
		for (uint32_t q = *head; q != FG_NONE; q = pl->v[q].next)
			if (pl->v[q].tix == tix)
				return q;
	}
	VEC_RESERVE(pl->v, pl->cap, pl->n + 1);
	uint32_t q = (uint32_t)pl->n++;
	pl->v[q] = (struct fg_pair){ .tix = tix, .next = *head };
	*head = q;
	if (++*count == PAIR_SCAN + 1) {
		for (uint32_t r = q; r != FG_NONE; r = pl->v[r].next)
			u64map_put(&pl->index, (uint64_t)owner << 32 | pl->v[r].tix, r);
	} else if (*count > PAIR_SCAN + 1) {
		u64map_put(&pl->index, key, q);
	}
	return q;
}

/* Per-thread opcode counts: the profile's trie (one node per opcode, with
 * detail) summed bottom-up per thread, then added to the tree's nodes. */
struct opkey {
	uint32_t node, tix;
	int32_t op;
};

static void add_opcodes(struct fg_tree *t, const uint32_t *fmap, const uint32_t *tix_of)
{
	const struct profile *p = t->p;
	size_t npn = p->nodes.count;
	struct pairlist pl = { 0 };
	u64map_init(&pl.index);
	uint32_t *head = xmalloc((npn ? npn : 1) * sizeof(*head));
	uint32_t *count = xcalloc(npn ? npn : 1, sizeof(*count));
	for (size_t i = 0; i < npn; i++)
		head[i] = FG_NONE;
	for (size_t e = 0; e < p->nentries; e++) {
		const struct profile_entry *ent = &p->entries[e];
		uint32_t q = pair_get(&pl, &head[ent->node], &count[ent->node], ent->node,
				      tix_of[ent->thread]);
		pl.v[q].total += ent->count;
	}
	for (size_t pn = npn; pn-- > 0;) {
		uint32_t parent = profile_node_get(p, (uint32_t)pn)->parent;
		if (parent == PROFILE_NO_NODE)
			continue;
		for (uint32_t q = head[pn]; q != FG_NONE; q = pl.v[q].next) {
			uint32_t r = pair_get(&pl, &head[parent], &count[parent], parent, pl.v[q].tix);
			pl.v[r].total += pl.v[q].total;
		}
	}
	free(count);
	u64map_release(&pl.index);

	t->ops_head = xmalloc(t->n * sizeof(*t->ops_head));
	uint32_t *tail = xmalloc(t->n * sizeof(*tail));
	for (size_t i = 0; i < t->n; i++)
		t->ops_head[i] = tail[i] = FG_NONE;
	struct rectab keys;
	rectab_init(&keys, sizeof(struct opkey));
	size_t cap = 0;
	for (size_t pn = 0; pn < npn; pn++) {
		const struct profile_frame *f = profile_frame_get(p, profile_node_get(p, (uint32_t)pn)->frame);
		if (f->opcode < 0)
			continue;
		uint32_t fn = fmap[pn];
		if (fn & FG_DEAD)
			continue; /* pruned */
		for (uint32_t q = head[pn]; q != FG_NONE; q = pl.v[q].next) {
			uint32_t tixes[2] = { FG_NONE, pl.v[q].tix };
			for (int k = 0; k < 2; k++) {
				struct opkey ok = { fn, tixes[k], f->opcode };
				int added;
				uint32_t id = rectab_intern(&keys, &ok, &added);
				if (added) {
					VEC_RESERVE(t->ops, cap, (size_t)id + 1);
					t->ops[id] = (struct fg_opc){ .tix = tixes[k], .op = f->opcode,
								      .next = FG_NONE };
					if (tail[fn] == FG_NONE)
						t->ops_head[fn] = id;
					else
						t->ops[tail[fn]].next = id;
					tail[fn] = id;
					t->nops = (size_t)id + 1;
				}
				t->ops[id].count += pl.v[q].total;
			}
		}
	}
	rectab_release(&keys);
	free(tail);
	free(head);
	free(pl.v);
}

enum {
	NODE_INDEXED = 1, /* its children are in the (parent, key) index */
	NODE_SHARED = 2,  /* more than one trie node maps to it */
};

static uint32_t new_node(struct fg_tree *t, size_t *cap, uint8_t **flags, uint32_t parent,
			 uint32_t key)
{
	uint32_t id = (uint32_t)t->n;
	if (t->n == *cap) {
		size_t old = *cap;
		VEC_RESERVE(t->nodes, *cap, t->n + 1);
		*flags = xrealloc(*flags, *cap);
		memset(*flags + old, 0, *cap - old);
	}
	t->n++;
	/* children pushed in front for now; put in first-seen order at the end */
	t->nodes[id] = (struct fg_tnode){ .parent = parent, .first_child = FG_NONE,
					  .next_sibling = t->nodes[parent].first_child, .key = key,
					  .pairs = FG_NONE };
	t->nodes[parent].first_child = id;
	return id;
}

/* The trie re-keyed by (file, line, func).  Trie nodes whose frames differ
 * only in detail (columns, opcode) merge into one tree node, and then so
 * must their subtrees.  Only those need a hash lookup: a tree node with a
 * single trie node gets distinct keys from distinct children, unless two
 * frames share a key ("ambiguous" keys). */
/* Each frame's key (t->keys); *ambiguous marks keys that two frames share. */
static uint32_t *frame_keys(struct fg_tree *t, const struct profile *p, uint8_t **ambiguous_out)
{
	size_t nframes = p->frames.count;
	uint32_t *frame_key = xmalloc((nframes ? nframes : 1) * sizeof(*frame_key));
	struct rectab keys;
	rectab_init(&keys, sizeof(struct frame_line));
	uint8_t *ambiguous = xcalloc(1, 1);
	size_t amb_cap = 1;
	for (size_t f = 0; f < nframes; f++) {
		const struct profile_frame *pf = profile_frame_get(p, (uint32_t)f);
		if (pf->opcode >= 0)
			t->has_opcodes = true;
		struct frame_line k = frame_line_of(pf->file, pf->func, pf->line);
		int added;
		uint32_t id = rectab_intern(&keys, &k, &added);
		VEC_RESERVE_ZERO(ambiguous, amb_cap, (size_t)id + 1);
		if (!added)
			ambiguous[id] = 1;
		frame_key[f] = id;
	}
	t->nkeys = keys.count;
	t->keys = xmalloc((t->nkeys ? t->nkeys : 1) * sizeof(*t->keys));
	if (t->nkeys)
		memcpy(t->keys, keys.recs, t->nkeys * sizeof(*t->keys));
	rectab_release(&keys);
	*ambiguous_out = ambiguous;
	return frame_key;
}

/* Relink every node's children in first-seen (id) order. */
static void link_children(struct fg_tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		t->nodes[i].first_child = FG_NONE;
	for (size_t i = t->n; i-- > 1;) {
		struct fg_tnode *nd = &t->nodes[i];
		nd->next_sibling = t->nodes[nd->parent].first_child;
		t->nodes[nd->parent].first_child = (uint32_t)i;
	}
}

static uint32_t *build_nodes(struct fg_tree *t, const struct profile *p)
{
	size_t npn = p->nodes.count;
	uint8_t *ambiguous;
	uint32_t *frame_key = frame_keys(t, p, &ambiguous);

	size_t cap = 0;
	uint8_t *flags = NULL;
	VEC_RESERVE(t->nodes, cap, npn + 1);
	flags = xcalloc(cap, 1);
	t->nodes[0] = (struct fg_tnode){ .parent = FG_NONE, .first_child = FG_NONE,
					 .next_sibling = FG_NONE, .key = FG_NONE, .pairs = FG_NONE };
	t->n = 1;
	flags[0] = NODE_INDEXED | NODE_SHARED; /* every outermost frame is its child */
	uint32_t *fmap = xmalloc((npn ? npn : 1) * sizeof(*fmap));
	struct u64map index;
	u64map_init(&index);
	for (size_t pn = 0; pn < npn; pn++) {
		const struct profile_node *nd = profile_node_get(p, (uint32_t)pn);
		assert(nd->parent == PROFILE_NO_NODE || nd->parent < pn);
		uint32_t parent = nd->parent == PROFILE_NO_NODE ? 0 : fmap[nd->parent];
		uint32_t k = frame_key[nd->frame];
		if (!(flags[parent] & NODE_INDEXED) && !ambiguous[k]) {
			fmap[pn] = new_node(t, &cap, &flags, parent, k);
			continue;
		}
		uint64_t ikey = (uint64_t)parent << 32 | k;
		uint64_t *v = u64map_get(&index, ikey);
		if (!v) {
			uint32_t id = new_node(t, &cap, &flags, parent, k);
			u64map_put(&index, ikey, id);
			fmap[pn] = id;
			continue;
		}
		uint32_t id = (uint32_t)*v;
		fmap[pn] = id;
		if (!(flags[id] & NODE_INDEXED)) {
			/* a second trie node: children of both must meet */
			for (uint32_t c = t->nodes[id].first_child; c != FG_NONE; c = t->nodes[c].next_sibling)
				u64map_put(&index, (uint64_t)id << 32 | t->nodes[c].key, c);
			flags[id] |= NODE_INDEXED | NODE_SHARED;
		}
	}
	u64map_release(&index);
	free(flags);
	free(ambiguous);
	free(frame_key);

	link_children(t);
	return fmap;
}

/* Like build_nodes, but the tree leaves out nodes holding fewer than floor
 * samples (and so their subtrees: a child never holds more than its
 * parent).  A node's samples are known only once every trie node that
 * merges into it was seen, so the trie is taken level by level (all trie
 * nodes of depth d, in id order, before depth d + 1): after a level its new
 * nodes are complete, those below floor are dropped and the level's kept
 * nodes renumbered densely, and nothing below a dropped node is ever made.
 * Memory: a few words per trie node plus the kept part of the tree, instead
 * of the whole tree.  Within a level nodes are made in trie id order, so a
 * parent's children stay in first-seen order and below their parent.
 *
 * fmap[trie node] is the tree node, or FG_DEAD | its nearest kept ancestor;
 * every node's value holds its inclusive samples on return. */
static uint32_t *build_nodes_pruned(struct fg_tree *t, const struct profile *p, uint64_t floor)
{
	size_t npn = p->nodes.count;
	uint8_t *ambiguous;
	uint32_t *frame_key = frame_keys(t, p, &ambiguous);
	uint32_t *fmap = xmalloc((npn ? npn : 1) * sizeof(*fmap));

	/* inclusive samples and depth of every trie node (parents have lower ids) */
	uint64_t *val = xcalloc(npn ? npn : 1, sizeof(*val));
	for (size_t e = 0; e < p->nentries; e++)
		val[p->entries[e].node] += p->entries[e].count;
	for (size_t pn = npn; pn-- > 0;) {
		uint32_t par = profile_node_get(p, (uint32_t)pn)->parent;
		assert(par == PROFILE_NO_NODE || par < pn);
		if (par != PROFILE_NO_NODE)
			val[par] += val[pn];
	}
	/* trie nodes by depth, id order within a depth (a counting sort) */
	uint32_t *order = xmalloc((npn ? npn : 1) * sizeof(*order));
	uint32_t *depth = fmap; /* borrowed until the levels are walked */
	size_t maxd = 0;
	for (size_t pn = 0; pn < npn; pn++) {
		uint32_t par = profile_node_get(p, (uint32_t)pn)->parent;
		depth[pn] = par == PROFILE_NO_NODE ? 0 : depth[par] + 1;
		if (depth[pn] > maxd)
			maxd = depth[pn];
	}
	size_t *lstart = xcalloc(maxd + 2, sizeof(*lstart));
	for (size_t pn = 0; pn < npn; pn++)
		lstart[depth[pn] + 1]++;
	for (size_t d = 1; d <= maxd + 1; d++)
		lstart[d] += lstart[d - 1];
	{
		size_t *fill = xmalloc((maxd + 1) * sizeof(*fill));
		memcpy(fill, lstart, (maxd + 1) * sizeof(*fill));
		for (size_t pn = 0; pn < npn; pn++)
			order[fill[depth[pn]]++] = (uint32_t)pn;
		free(fill);
	}

	size_t cap = 0;
	uint8_t *flags = NULL;
	VEC_RESERVE(t->nodes, cap, 64);
	flags = xcalloc(cap, 1);
	t->nodes[0] = (struct fg_tnode){ .parent = FG_NONE, .first_child = FG_NONE,
					 .next_sibling = FG_NONE, .key = FG_NONE, .pairs = FG_NONE };
	t->n = 1;
	flags[0] = NODE_INDEXED | NODE_SHARED;
	uint32_t *renum = NULL;
	size_t renum_cap = 0;
	struct u64map index;
	u64map_init(&index);
	for (size_t d = 0; npn && d <= maxd; d++) {
		uint32_t first = (uint32_t)t->n;
		for (size_t k = lstart[d]; k < lstart[d + 1]; k++) {
			uint32_t pn = order[k];
			const struct profile_node *nd = profile_node_get(p, pn);
			uint32_t parent = nd->parent == PROFILE_NO_NODE ? 0 : fmap[nd->parent];
			if (parent & FG_DEAD) {
				fmap[pn] = parent;
				continue;
			}
			uint32_t key = frame_key[nd->frame];
			uint32_t id;
			if (!(flags[parent] & NODE_INDEXED) && !ambiguous[key]) {
				id = new_node(t, &cap, &flags, parent, key);
			} else {
				uint64_t ikey = (uint64_t)parent << 32 | key;
				uint64_t *v = u64map_get(&index, ikey);
				if (v) {
					id = (uint32_t)*v;
					/* a second trie node: its children meet the first's
					 * (none made yet: they are one level down) */
					flags[id] |= NODE_INDEXED | NODE_SHARED;
				} else {
					id = new_node(t, &cap, &flags, parent, key);
					u64map_put(&index, ikey, id);
				}
			}
			t->nodes[id].value += val[pn];
			fmap[pn] = id;
		}
		/* the level is complete: drop what is below floor, renumber the rest */
		size_t nlev = t->n - first;
		VEC_RESERVE(renum, renum_cap, nlev ? nlev : 1);
		uint32_t w = first;
		for (uint32_t id = first; id < t->n; id++) {
			if (t->nodes[id].value < floor) {
				renum[id - first] = FG_DEAD | t->nodes[id].parent;
				continue;
			}
			renum[id - first] = w;
			t->nodes[w] = t->nodes[id];
			flags[w] = flags[id];
			w++;
		}
		for (size_t k = lstart[d]; k < lstart[d + 1]; k++) {
			uint32_t pn = order[k];
			if (!(fmap[pn] & FG_DEAD))
				fmap[pn] = renum[fmap[pn] - first];
		}
		t->n = w;
		if (w == first)
			break; /* nothing kept at this depth: nothing deeper either */
		u64map_clear(&index); /* keys of this level's parents are spent */
	}
	/* trie nodes deeper than the last kept level */
	for (size_t pn = 0; pn < npn; pn++) {
		uint32_t par = profile_node_get(p, (uint32_t)pn)->parent;
		if (par != PROFILE_NO_NODE && (fmap[par] & FG_DEAD))
			fmap[pn] = fmap[par];
	}
	u64map_release(&index);
	free(renum);
	free(lstart);
	free(order);
	free(val);
	free(flags);
	free(ambiguous);
	free(frame_key);

	link_children(t);
	return fmap;
}

void fg_tree_build(struct fg_tree *t, const struct profile *p, uint64_t floor)
{
	memset(t, 0, sizeof(*t));
	t->p = p;
	u64map_init(&t->pair_index);

	/* threads by tid, in first-seen order */
	size_t nthreads = p->threads.count;
	uint32_t *tix_of = xmalloc((nthreads ? nthreads : 1) * sizeof(*tix_of));
	struct rectab tids;
	rectab_init(&tids, sizeof(uint64_t));
	for (size_t i = 0; i < nthreads; i++) {
		uint64_t tid = profile_thread_get(p, (uint32_t)i)->tid;
		tix_of[i] = rectab_intern(&tids, &tid, NULL);
	}
	t->ntids = tids.count;
	t->tids = xmalloc((t->ntids ? t->ntids : 1) * sizeof(*t->tids));
	for (size_t i = 0; i < t->ntids; i++)
		memcpy(&t->tids[i], rectab_get(&tids, (uint32_t)i), sizeof(uint64_t));
	rectab_release(&tids);

	uint32_t *fmap;
	if (floor > 1) {
		fmap = build_nodes_pruned(t, p, floor);
		for (size_t i = 0; i < t->n; i++)
			t->nodes[i].value = 0; /* summed again below, per thread too */
	} else {
		fmap = build_nodes(t, p);
	}

	/* self samples, then inclusive ones bottom-up (children have higher ids);
	 * samples below a pruned node count in its nearest kept ancestor */
	struct pairlist pl = { t->pairs, t->npairs, t->pairs_cap, t->pair_index };
	for (size_t e = 0; e < p->nentries; e++) {
		const struct profile_entry *ent = &p->entries[e];
		if (ent->count == 0)
			continue;
		uint32_t fn = fmap[ent->node];
		bool direct = !(fn & FG_DEAD);
		fn &= ~FG_DEAD;
		uint32_t q = pair_get(&pl, &t->nodes[fn].pairs, &t->nodes[fn].npairs, fn,
				      tix_of[ent->thread]);
		if (direct) {
			t->nodes[fn].self += ent->count;
			pl.v[q].self += ent->count;
		} else {
			t->nodes[fn].value += ent->count;
			pl.v[q].total += ent->count;
		}
	}
	for (size_t n = t->n; n-- > 1;) {
		struct fg_tnode *nd = &t->nodes[n];
		uint32_t parent = nd->parent;
		nd->value += nd->self;
		t->nodes[parent].value += nd->value;
		for (uint32_t q = nd->pairs; q != FG_NONE; q = pl.v[q].next) {
			pl.v[q].total += pl.v[q].self;
			uint32_t r = pair_get(&pl, &t->nodes[parent].pairs, &t->nodes[parent].npairs,
					      parent, pl.v[q].tix);
			pl.v[r].total += pl.v[q].total;
		}
	}
	t->pairs = pl.v;
	t->npairs = pl.n;
	t->pairs_cap = pl.cap;
	t->pair_index = pl.index;
	t->total = t->nodes[0].value;

	if (t->has_opcodes)
		add_opcodes(t, fmap, tix_of);
	free(fmap);
	free(tix_of);
}

void fg_tree_release(struct fg_tree *t)
{
	free(t->nodes);
	free(t->keys);
	free(t->pairs);
	u64map_release(&t->pair_index);
	free(t->ops);
	free(t->ops_head);
	free(t->tids);
	memset(t, 0, sizeof(*t));
}

/* ------------------------------------------------------------------ */
/* Module names (Tachyon's module_utils.extract_module_name)           */

struct fg_module_cache {
	struct u64map by_file;    /* profile string id -> c->strings index */
	struct pymod names;
};

/* ------------------------------------------------------------------ */
/* Source lines (Tachyon's linecache.getline, five lines around)       */

/* What the page needs of the sources is known before it is built: the
 * lines around those of the kept nodes.  So each file is read once (the
 * names that lead to one file - "/x", "//x", "/a/../x", links - share
 * it), those lines are kept and the rest of its text is dropped at once. */

#define SRC_NONE UINT64_MAX /* by_file: no source to show */

/* A kept line: pool[off .. off + len), its trailing whitespace left out
 * (a line that is only whitespace is not kept: the page leaves it out). */
struct src_line {
	int32_t line;
	uint32_t off, len;
};

/* One file (by identity), read through the first name that led to it. */
struct src_file {
	struct out_source_id id;
	uint32_t name;         /* profile string id of that name */
	size_t next_same_ino;  /* another file of the same inode number, or SIZE_MAX */
	bool ok;
	int32_t *want;         /* lines wanted (before reading) */
	size_t nwant, want_cap;
	struct src_line *lines; /* sorted by line */
	size_t nlines;
};

struct fg_src_cache {
	struct u64map by_file; /* profile string id -> index in files, or SRC_NONE */
	struct u64map by_ino;  /* inode number -> first index in files */
	struct src_file *files;
	size_t nfiles, cap;
	struct buf pool;       /* the text of every kept line */
	size_t budget;         /* bytes still allowed (SOURCE_BUDGET) */
};

/* The file that file_id names, found (not read) the first time: an index
 * in files, or SRC_NONE. */
static uint64_t src_find(struct fg_conv *c, uint32_t file_id)
{
	struct fg_src_cache *sc = c->srcs;
	uint64_t *v = u64map_get(&sc->by_file, file_id);
	if (v)
		return *v;
	struct out_source_id id;
	uint64_t idx = SRC_NONE;
	char *none;
	size_t nlen;
	if (out_source_read(c->req, profile_str(c->t->p, file_id), 0, OUT_SOURCE_PYTHON, &none,
			    &nlen, NULL, &id) == 0) {
		free(none);
		uint64_t *first = u64map_get(&sc->by_ino, id.ino);
		for (size_t i = first ? (size_t)*first : SIZE_MAX; i != SIZE_MAX;
		     i = sc->files[i].next_same_ino)
			if (sc->files[i].id.dev == id.dev)
				idx = i;
		if (idx == SRC_NONE) {
			VEC_RESERVE(sc->files, sc->cap, sc->nfiles + 1);
			idx = sc->nfiles++;
			sc->files[idx] = (struct src_file){ .id = id, .name = file_id,
							    .next_same_ino = first ? (size_t)*first
										: SIZE_MAX };
			u64map_put(&sc->by_ino, id.ino, idx);
		}
	}
	u64map_put(&sc->by_file, file_id, idx);
	return idx;
}

/* The lines node shows of its file, asked for. */
static void src_want(struct fg_conv *c, uint32_t node)
{
	const struct frame_line *nd = fg_key_of(c->t, node);
	uint64_t idx = src_find(c, nd->file);
	if (idx == SRC_NONE)
		return;
	struct src_file *sf = &c->srcs->files[idx];
	int64_t lineno = nd->line;
	for (int64_t ln = lineno - SOURCE_CONTEXT; ln <= lineno + SOURCE_CONTEXT; ln++) {
		if (ln < 1 || ln > INT32_MAX)
			continue;
		VEC_RESERVE(sf->want, sf->want_cap, sf->nwant + 1);
		sf->want[sf->nwant++] = (int32_t)ln;
	}
}

static int cmp_i32(const void *pa, const void *pb)
{
	int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
	return (a > b) - (a < b);
}

/* Keep line ln, text[start .. end), of sf: its text in the pool. */
static void src_keep(struct fg_src_cache *sc, struct src_file *sf, int32_t ln, const char *s,
		     size_t n, size_t *cap)
{
	size_t kept = pytext_rstrip(s, n);
	/* line.strip() is empty exactly when rstrip() is */
	if (kept == 0)
		return;
	assert(sc->pool.len + kept <= UINT32_MAX);
	VEC_RESERVE(sf->lines, *cap, sf->nlines + 1);
	sf->lines[sf->nlines++] = (struct src_line){ ln, (uint32_t)sc->pool.len, (uint32_t)kept };
	buf_append(&sc->pool, s, kept);
}

/* Read sf and keep the lines it wants (sorted, unique). */
static void src_load(struct fg_conv *c, struct src_file *sf)
{
	struct fg_src_cache *sc = c->srcs;
	char *text;
	size_t len;
	bool exact;
	if (!sf->nwant || out_source_read(c->req, profile_str(c->t->p, sf->name), sc->budget,
					  OUT_SOURCE_PYTHON, &text, &len, &exact, NULL) != 0)
		return;
	sc->budget -= len < sc->budget ? len : sc->budget;
	/* linecache gives no lines when decoding fails */
	if (exact) {
		sf->ok = true;
		size_t cap = 0, w = 0, i = 0;
		int64_t ln = 0;
		/* universal newlines: \n, \r\n and \r end a line */
		while (i < len && w < sf->nwant) {
			size_t start = i;
			while (i < len && text[i] != '\n' && text[i] != '\r')
				i++;
			ln++;
			if (ln == sf->want[w]) {
				src_keep(sc, sf, sf->want[w], text + start, i - start, &cap);
				w++;
			}
			if (i < len && text[i] == '\r' && i + 1 < len && text[i + 1] == '\n')
				i++;
			if (i < len)
				i++;
		}
	}
	free(text);
}

/* Read the sources of the kept nodes (order: the kept nodes, in the order
 * they are interned), keeping the lines they show. */
static void src_prepare(struct fg_conv *c, const uint32_t *order, size_t n)
{
	struct fg_src_cache *sc = c->srcs;
	for (size_t i = 0; i < n; i++)
		src_want(c, order[i]);
	for (size_t f = 0; f < sc->nfiles; f++) {
		struct src_file *sf = &sc->files[f];
		qsort(sf->want, sf->nwant, sizeof(*sf->want), cmp_i32);
		size_t u = 0;
		for (size_t k = 0; k < sf->nwant; k++)
			if (!u || sf->want[u - 1] != sf->want[k])
				sf->want[u++] = sf->want[k];
		sf->nwant = u;
		src_load(c, sf);
		free(sf->want);
		sf->want = NULL;
		sf->nwant = sf->want_cap = 0;
	}
}

static const struct src_line *src_line_of(const struct src_file *sf, int64_t ln)
{
	size_t lo = 0, hi = sf->nlines;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sf->lines[mid].line < ln)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < sf->nlines && sf->lines[lo].line == ln ? &sf->lines[lo] : NULL;
}

static void intern_source(struct fg_conv *c, uint32_t node)
{
	const struct frame_line *nd = fg_key_of(c->t, node);
	struct fg_srcref *ref = &c->src_ref[node];
	ref->first = (uint32_t)c->nsrc;
	ref->n = 0;
	uint64_t *idx = u64map_get(&c->srcs->by_file, nd->file);
	if (!idx || *idx == SRC_NONE || !c->srcs->files[*idx].ok)
		return;
	const struct src_file *sf = &c->srcs->files[*idx];
	int64_t lineno = nd->line;
	int64_t start = lineno - SOURCE_CONTEXT < 1 ? 1 : lineno - SOURCE_CONTEXT;
	struct buf b = BUF_INIT;
	for (int64_t ln = start; ln < lineno + SOURCE_CONTEXT + 1; ln++) {
		/* a line past the end, or only whitespace: getline's "" */
		const struct src_line *sl = src_line_of(sf, ln);
		if (!sl)
			continue;
		buf_reset(&b);
		buf_printf(&b, "%s%" PRId64 ": ", ln == lineno ? "\xE2\x86\x92 " : "  ", ln);
		buf_append(&b, c->srcs->pool.data + sl->off, sl->len);
		VEC_RESERVE(c->src, c->src_cap, c->nsrc + 1);
		c->src[c->nsrc++] = strtab_intern(&c->strings, b.data, b.len);
		ref->n++;
	}
	buf_release(&b);
}

/* ------------------------------------------------------------------ */
/* Conversion                                                         */

static void intern_node(struct fg_conv *c, uint32_t node, struct buf *tmp)
{
	const struct frame_line *nd = fg_key_of(c->t, node);
	const struct profile *p = c->t->p;
	size_t flen, nlen;
	const char *file = strtab_get(&p->strings, nd->file, &flen);
	const char *func = strtab_get(&p->strings, nd->func, &nlen);
	c->s_file[node] = strtab_intern(&c->strings, file, flen);
	c->s_func[node] = strtab_intern(&c->strings, func, nlen);

	uint64_t *m = u64map_get(&c->modules->by_file, nd->file);
	const char *mod;
	size_t mlen;
	if (m) {
		c->s_module[node] = (uint32_t)*m;
	} else {
		pymod_name(&c->modules->names, file, flen, tmp);
		c->s_module[node] = strtab_intern(&c->strings, tmp->data ? tmp->data : "", tmp->len);
		u64map_put(&c->modules->by_file, nd->file, c->s_module[node]);
	}
	mod = strtab_get(&c->strings, c->s_module[node], &mlen);
	/* mod stays valid: the next interns come after its last use below */
	bool synthetic = flen == 1 && file[0] == '~' && nd->line == 0;

	/* name: "func (file:line)", a long file shortened to ".../dir/file" */
	buf_reset(tmp);
	if (synthetic) {
		buf_append(tmp, func, nlen);
	} else {
		buf_append(tmp, func, nlen);
		buf_puts(tmp, " (");
		const char *shown = file;
		size_t slen = flen;
		if (utf8_count(file, flen) > 50) {
			const char *last = memrchr(file, '/', flen);
			const char *prev = last && last > file ? memrchr(file, '/', (size_t)(last - file)) : NULL;
			if (prev) {
				buf_puts(tmp, ".../");
				shown = prev + 1;
				slen = flen - (size_t)(shown - file);
			}
		}
		buf_append(tmp, shown, slen);
		buf_printf(tmp, ":%" PRId32 ")", nd->line);
	}
	/* the module string may move when interning: copy the label first */
	struct buf label = BUF_INIT;
	if (synthetic) {
		buf_append(&label, func, nlen);
	} else {
		buf_append(&label, func, nlen);
		buf_puts(&label, " (");
		buf_append(&label, mod, mlen);
		buf_printf(&label, ":%" PRId32 ")", nd->line);
	}
	c->s_name[node] = strtab_intern(&c->strings, tmp->data, tmp->len);
	c->s_label[node] = strtab_intern(&c->strings, label.data, label.len);
	buf_release(&label);

	if (c->with_source)
		intern_source(c, node);
	else
		c->src_ref[node] = (struct fg_srcref){ (uint32_t)c->nsrc, 0 };
}

static int cmp_kid(const void *pa, const void *pb)
{
	const struct fg_kid *a = pa, *b = pb;
	if (a->value != b->value)
		return a->value < b->value ? 1 : -1;
	return (a->name > b->name) - (a->name < b->name);
}

static bool keep_node(const struct fg_conv *c, uint32_t node, uint64_t min, const uint64_t *thr)
{
	const struct fg_tnode *nd = &c->t->nodes[node];
	if (nd->value >= min)
		return true;
	for (uint32_t q = nd->pairs; q != FG_NONE; q = c->t->pairs[q].next)
		if (c->t->pairs[q].total >= thr[c->t->pairs[q].tix])
			return true;
	return false;
}

/* Same per-thread totals in two nodes (Tachyon compares the dicts). */
static bool same_thread_totals(const struct fg_tree *t, uint32_t a, uint32_t b)
{
	size_t na = 0, nb = 0;
	for (uint32_t q = t->nodes[a].pairs; q != FG_NONE; q = t->pairs[q].next)
		na++;
	for (uint32_t q = t->nodes[b].pairs; q != FG_NONE; q = t->pairs[q].next)
		nb++;
	if (na != nb)
		return false;
	for (uint32_t q = t->nodes[a].pairs; q != FG_NONE; q = t->pairs[q].next) {
		bool found = false;
		for (uint32_t r = t->nodes[b].pairs; r != FG_NONE && !found; r = t->pairs[r].next)
			found = t->pairs[r].tix == t->pairs[q].tix && t->pairs[r].total == t->pairs[q].total;
		if (!found)
			return false;
	}
	return true;
}

static uint64_t thousandth(uint64_t n)
{
	/* Python's max(1, int(n * 0.001)) */
	uint64_t v = (uint64_t)((double)n * 0.001);
	return v ? v : 1;
}

void fg_conv_run(struct fg_conv *c)
{
	const struct fg_tree *t = c->t;
	strtab_init(&c->strings);
	c->srcs = xcalloc(1, sizeof(*c->srcs));
	u64map_init(&c->srcs->by_file);
	u64map_init(&c->srcs->by_ino);
	c->srcs->budget = SOURCE_BUDGET;
	c->modules = xcalloc(1, sizeof(*c->modules));
	u64map_init(&c->modules->by_file);
	char *cwd = getcwd(NULL, 0);
	pymod_init(&c->modules->names, cwd, pymod_source_exists, c->req);
	free(cwd);
	c->root = 0;
	if (t->total == 0) {
		c->state = FG_NO_DATA;
		c->root_name = c->root_label = strtab_intern_cstr(&c->strings, "No Data");
		return;
	}
	size_t n = t->n;
	c->kept = xcalloc(n, 1);
	c->s_name = xmalloc(n * sizeof(uint32_t));
	c->s_label = xmalloc(n * sizeof(uint32_t));
	c->s_file = xmalloc(n * sizeof(uint32_t));
	c->s_func = xmalloc(n * sizeof(uint32_t));
	c->s_module = xmalloc(n * sizeof(uint32_t));
	c->src_ref = xmalloc(n * sizeof(*c->src_ref));
	c->kid_off = xcalloc(n, sizeof(uint32_t));
	c->kid_n = xcalloc(n, sizeof(uint32_t));

	uint64_t min = c->min_samples ? c->min_samples : thousandth(t->total);
	uint64_t *thr = xmalloc((t->ntids ? t->ntids : 1) * sizeof(*thr));
	for (size_t i = 0; i < t->ntids; i++)
		thr[i] = 1;
	for (uint32_t q = t->nodes[0].pairs; q != FG_NONE; q = t->pairs[q].next)
		thr[t->pairs[q].tix] = thousandth(t->pairs[q].total);

	/* pre-order over first-seen children: Tachyon's interning order */
	uint32_t *stack = NULL, *order = xmalloc(n * sizeof(*order));
	size_t sp = 0, scap = 0, nkept = 0;
	VEC_RESERVE(stack, scap, 1);
	stack[sp++] = t->nodes[0].first_child;
	while (sp) {
		uint32_t node = stack[sp - 1];
		if (node == FG_NONE) {
			sp--;
			continue;
		}
		stack[sp - 1] = t->nodes[node].next_sibling;
		if (!keep_node(c, node, min, thr))
			continue;
		c->kept[node] = 1;
		order[nkept++] = node;
		VEC_RESERVE(stack, scap, sp + 1);
		stack[sp++] = t->nodes[node].first_child;
	}
	free(stack);
	free(thr);
	/* the lines the kept nodes show, read before anything is interned */
	if (c->with_source)
		src_prepare(c, order, nkept);
	struct buf tmp = BUF_INIT;
	for (size_t i = 0; i < nkept; i++)
		intern_node(c, order[i], &tmp);
	buf_release(&tmp);
	free(order);

	/* kept children, sorted */
	size_t nkids = 0;
	for (size_t i = 1; i < n; i++)
		if (c->kept[i])
			c->kid_n[t->nodes[i].parent]++, nkids++;
	c->kids = xmalloc((nkids ? nkids : 1) * sizeof(*c->kids));
	uint32_t off = 0;
	for (size_t i = 0; i < n; i++) {
		c->kid_off[i] = off;
		off += c->kid_n[i];
		c->kid_n[i] = 0;
	}
	for (size_t i = 1; i < n; i++) {
		if (!c->kept[i])
			continue;
		uint32_t par = t->nodes[i].parent;
		c->kids[c->kid_off[par] + c->kid_n[par]++] =
			(struct fg_kid){ t->nodes[i].value, c->s_name[i], (uint32_t)i };
	}
	for (size_t i = 0; i < n; i++)
		if (c->kid_n[i] > 1)
			qsort(c->kids + c->kid_off[i], c->kid_n[i], sizeof(*c->kids), cmp_kid);

	if (c->kid_n[0] == 0) {
		c->state = FG_NO_SIGNIFICANT;
		c->root_name = c->root_label = strtab_intern_cstr(&c->strings, "No significant data");
		return;
	}
	c->state = FG_TREE;
	uint32_t first = c->kids[c->kid_off[0]].node;
	if (c->kid_n[0] == 1 && t->nodes[first].value == t->total && same_thread_totals(t, first, 0)) {
		c->promoted = true;
		c->root = first;
		struct buf b = BUF_INIT;
		size_t len;
		const char *s = strtab_get(&c->strings, c->s_name[first], &len);
		buf_puts(&b, "Program Root: ");
		buf_append(&b, s, len);
		c->root_name = strtab_intern(&c->strings, b.data, b.len);
		buf_reset(&b);
		s = strtab_get(&c->strings, c->s_label[first], &len);
		buf_puts(&b, "Program Root: ");
		buf_append(&b, s, len);
		c->root_label = strtab_intern(&c->strings, b.data, b.len);
		buf_release(&b);
	} else {
		c->root_name = c->root_label = strtab_intern_cstr(&c->strings, "Program Root");
	}
	c->root_children = c->kid_n[c->root];
}

void fg_conv_release(struct fg_conv *c)
{
	if (c->srcs) {
		for (size_t i = 0; i < c->srcs->nfiles; i++) {
			free(c->srcs->files[i].want);
			free(c->srcs->files[i].lines);
		}
		free(c->srcs->files);
		buf_release(&c->srcs->pool);
		u64map_release(&c->srcs->by_file);
		u64map_release(&c->srcs->by_ino);
		free(c->srcs);
	}
	if (c->modules) {
		u64map_release(&c->modules->by_file);
		pymod_release(&c->modules->names);
		free(c->modules);
	}
	free(c->kept);
	free(c->s_name);
	free(c->s_label);
	free(c->s_file);
	free(c->s_func);
	free(c->s_module);
	free(c->src_ref);
	free(c->src);
	free(c->kid_off);
	free(c->kid_n);
	free(c->kids);
	strtab_release(&c->strings);
	c->kept = NULL;
	c->srcs = NULL;
	c->modules = NULL;
}

/* ------------------------------------------------------------------ */
/* JSON                                                               */

/* A JSON string for the page's <script> element (format/htmlenc.h). */
static void put_str(struct buf *b, const char *s, size_t n)
{
	htmlenc_json_str(b, s, n);
}

static void put_cstr(struct buf *b, const char *s)
{
	put_str(b, s, strlen(s));
}

static void put_value(struct buf *b, const struct fg_conv *c, uint64_t v)
{
	if (c->scaled)
		json_double(b, (double)v * c->scale);
	else
		json_u64(b, v);
}

static uint64_t node_value(const struct fg_conv *c, uint32_t n)
{
	return c->value ? c->value[n] : c->t->nodes[n].value;
}

static uint64_t node_self(const struct fg_conv *c, uint32_t n)
{
	return c->self ? c->self[n] : c->t->nodes[n].self;
}

struct tidpair {
	uint64_t tid;
	uint64_t total, self;
	uint32_t tix;
};

static int cmp_tidpair(const void *pa, const void *pb)
{
	const struct tidpair *a = pa, *b = pb;
	return (a->tid > b->tid) - (a->tid < b->tid);
}

/* The node's pairs sorted by tid into *v (capacity *cap); returns the count. */
static size_t sorted_pairs(const struct fg_tree *t, uint32_t node, struct tidpair **v, size_t *cap)
{
	size_t k = 0;
	for (uint32_t q = t->nodes[node].pairs; q != FG_NONE; q = t->pairs[q].next) {
		VEC_RESERVE(*v, *cap, k + 1);
		(*v)[k++] = (struct tidpair){ t->tids[t->pairs[q].tix], t->pairs[q].total,
					      t->pairs[q].self, t->pairs[q].tix };
	}
	qsort(*v, k, sizeof(**v), cmp_tidpair);
	return k;
}

struct opref {
	uint64_t tid;
	uint32_t idx;
	uint32_t order;
};

static int cmp_opref(const void *pa, const void *pb)
{
	const struct opref *a = pa, *b = pb;
	if (a->tid != b->tid)
		return (a->tid > b->tid) - (a->tid < b->tid);
	return (a->order > b->order) - (a->order < b->order);
}

struct emit_scratch {
	struct tidpair *tp;
	size_t tp_cap;
	struct opref *ops;
	size_t ops_cap;
};

static void put_opcodes(struct buf *b, const struct fg_conv *c, uint32_t node, struct emit_scratch *sc)
{
	const struct fg_tree *t = c->t;
	if ((c->no_ops && c->no_ops[node]) || !t->ops_head || t->ops_head[node] == FG_NONE)
		return;
	bool first = true;
	size_t k = 0;
	for (uint32_t i = t->ops_head[node]; i != FG_NONE; i = t->ops[i].next) {
		if (t->ops[i].tix == FG_NONE) {
			buf_puts(b, first ? ",\"opcodes\":{\"" : ",\"");
			json_i64(b, t->ops[i].op);
			buf_puts(b, "\":");
			json_u64(b, t->ops[i].count);
			first = false;
		} else {
			VEC_RESERVE(sc->ops, sc->ops_cap, k + 1);
			sc->ops[k] = (struct opref){ t->tids[t->ops[i].tix], i, (uint32_t)k };
			k++;
		}
	}
	if (!first)
		buf_putc(b, '}');
	if (!k)
		return;
	qsort(sc->ops, k, sizeof(*sc->ops), cmp_opref);
	buf_puts(b, ",\"thread_opcodes\":{");
	for (size_t j = 0; j < k; j++) {
		const struct fg_opc *o = &t->ops[sc->ops[j].idx];
		bool new_tid = j == 0 || sc->ops[j - 1].tid != sc->ops[j].tid;
		if (new_tid) {
			if (j)
				buf_puts(b, "},");
			buf_putc(b, '"');
			json_u64(b, sc->ops[j].tid);
			buf_puts(b, "\":{");
		} else {
			buf_putc(b, ',');
		}
		buf_putc(b, '"');
		json_i64(b, o->op);
		buf_puts(b, "\":");
		json_u64(b, o->count);
	}
	buf_puts(b, "}}");
}

static void put_diff(struct buf *b, const struct fg_diffv *d)
{
	buf_puts(b, ",\"baseline\":");
	json_double(b, d->baseline);
	buf_puts(b, ",\"baseline_total\":");
	json_double(b, d->baseline_total);
	buf_puts(b, ",\"self_time\":");
	json_double(b, d->self_time);
	buf_puts(b, ",\"diff\":");
	json_double(b, d->diff);
	buf_puts(b, ",\"diff_pct\":");
	json_double(b, d->diff_pct);
}

/* "threads" (sorted tids) and "thread_values" of a node; all_zero_self for
 * the root's [n, 0]. */
static void put_threads(struct buf *b, const struct fg_conv *c, uint32_t node, bool root,
			struct emit_scratch *sc)
{
	size_t k = sorted_pairs(c->t, node, &sc->tp, &sc->tp_cap);
	buf_puts(b, ",\"threads\":[");
	for (size_t i = 0; i < k; i++) {
		if (i)
			buf_putc(b, ',');
		json_u64(b, sc->tp[i].tid);
	}
	buf_puts(b, "],\"thread_values\":{");
	for (size_t i = 0; i < k; i++) {
		if (i)
			buf_putc(b, ',');
		buf_putc(b, '"');
		json_u64(b, sc->tp[i].tid);
		buf_puts(b, "\":[");
		json_u64(b, sc->tp[i].total);
		buf_putc(b, ',');
		json_u64(b, root ? 0 : sc->tp[i].self);
		buf_puts(b, "]");
	}
	buf_putc(b, '}');
}

/* The part of a node before its children. */
static void node_head(struct buf *b, const struct fg_conv *c, uint32_t node)
{
	bool is_root = node == c->root;
	buf_puts(b, "{\"name\":");
	json_u64(b, is_root ? c->root_name : c->s_name[node]);
	buf_puts(b, ",\"label\":");
	json_u64(b, is_root ? c->root_label : c->s_label[node]);
	buf_puts(b, ",\"value\":");
	put_value(b, c, node_value(c, node));
	buf_puts(b, ",\"self\":");
	put_value(b, c, node_self(c, node));
	buf_puts(b, ",\"children\":[");
}

static void put_stats(struct buf *b, const struct fg_conv *c);
static void put_root_tail(struct buf *b, const struct fg_conv *c);

/* The part after its children. */
static void node_tail(struct buf *b, const struct fg_conv *c, uint32_t node, struct emit_scratch *sc)
{
	const struct frame_line *nd = fg_key_of(c->t, node);
	buf_puts(b, "],\"filename\":");
	json_u64(b, c->s_file[node]);
	buf_puts(b, ",\"module\":");
	json_u64(b, c->s_module[node]);
	buf_puts(b, ",\"lineno\":");
	json_i64(b, nd->line);
	buf_puts(b, ",\"funcname\":");
	json_u64(b, c->s_func[node]);
	/* the promoted root lists every thread: the same set as its own */
	put_threads(b, c, node, false, sc);
	const struct fg_srcref *r = &c->src_ref[node];
	if (r->n) {
		buf_puts(b, ",\"source\":[");
		for (uint32_t i = 0; i < r->n; i++) {
			if (i)
				buf_putc(b, ',');
			json_u64(b, c->src[r->first + i]);
		}
		buf_putc(b, ']');
	}
	put_opcodes(b, c, node, sc);
	if (node == c->root && c->promoted)
		put_root_tail(b, c);
	if (c->diff)
		put_diff(b, &c->diff[node]);
	buf_putc(b, '}');
}

static void put_pct(struct buf *b, const char *key, uint64_t num, uint64_t den)
{
	buf_printf(b, "\"%s\":", key);
	json_double(b, (double)num / (double)(den ? den : 1) * 100.0);
}

static void put_counts(struct buf *b, const struct profile_status *s, bool gc)
{
	buf_puts(b, ",\"has_gil\":");
	json_u64(b, s->has_gil);
	buf_puts(b, ",\"on_cpu\":");
	json_u64(b, s->on_cpu);
	buf_puts(b, ",\"gil_requested\":");
	json_u64(b, s->gil_requested);
	buf_puts(b, ",\"unknown\":");
	json_u64(b, s->unknown);
	buf_puts(b, ",\"has_exception\":");
	json_u64(b, s->has_exception);
	buf_puts(b, ",\"total\":");
	json_u64(b, s->total);
	if (gc) {
		buf_puts(b, ",\"gc_samples\":");
		json_u64(b, s->gc);
	}
}

static void put_pcts(struct buf *b, const struct profile_status *s, uint64_t gc, uint64_t samples)
{
	put_pct(b, "has_gil_pct", s->has_gil, s->total);
	buf_putc(b, ',');
	put_pct(b, "on_cpu_pct", s->on_cpu, s->total);
	buf_putc(b, ',');
	put_pct(b, "gil_requested_pct", s->gil_requested, s->total);
	buf_putc(b, ',');
	put_pct(b, "has_exception_pct", s->has_exception, s->total);
	buf_putc(b, ',');
	put_pct(b, "gc_pct", gc, samples);
}

static void put_thread_stats(struct buf *b, const struct fg_tree *t)
{
	const struct profile *p = t->p;
	struct profile_status all = { 0 };
	size_t nthreads = p->threads.count;
	/* per tid, in first-seen order (one tid in two interpreters is one) */
	struct profile_status *per = xcalloc(t->ntids ? t->ntids : 1, sizeof(*per));
	for (size_t i = 0; i < nthreads; i++) {
		const struct profile_status *s = profile_thread_status(p, (uint32_t)i);
		uint64_t tid = profile_thread_get(p, (uint32_t)i)->tid;
		size_t k = 0;
		while (k < t->ntids && t->tids[k] != tid)
			k++;
		assert(k < t->ntids);
		struct profile_status *d = &per[k];
		d->total += s->total;
		d->has_gil += s->has_gil;
		d->on_cpu += s->on_cpu;
		d->gil_requested += s->gil_requested;
		d->unknown += s->unknown;
		d->has_exception += s->has_exception;
		d->gc += s->gc;
		all.total += s->total;
		all.has_gil += s->has_gil;
		all.on_cpu += s->on_cpu;
		all.gil_requested += s->gil_requested;
		all.unknown += s->unknown;
		all.has_exception += s->has_exception;
	}
	buf_puts(b, ",\"thread_stats\":{");
	put_pcts(b, &all, p->gc_samples, p->samples);
	buf_puts(b, ",\"free_threaded\":false");
	put_counts(b, &all, false);
	buf_puts(b, "},\"per_thread_stats\":{");
	for (size_t k = 0; k < t->ntids; k++) {
		if (k)
			buf_putc(b, ',');
		buf_putc(b, '"');
		json_u64(b, t->tids[k]);
		buf_puts(b, "\":{");
		put_pcts(b, &per[k], per[k].gc, p->samples);
		put_counts(b, &per[k], true);
		buf_putc(b, '}');
	}
	buf_putc(b, '}');
	free(per);
}

static void put_run_figures(struct buf *b, const struct profile *rp)
{
	/* a replayed file without a stats block has no figures */
	if (!rp->stats.restored && rp->stats.duration_s <= 0)
		return;
	struct out_run_figures f;
	out_run_figures_of(rp, &f);
	buf_puts(b, ",\"duration_sec\":");
	json_double(b, f.duration_s);
	buf_puts(b, ",\"sample_rate\":");
	json_double(b, f.sample_rate);
	buf_puts(b, ",\"error_rate\":");
	json_double(b, f.error_rate);
	buf_puts(b, ",\"missed_samples\":");
	json_double(b, f.missed_samples);
}

static void put_mode(struct buf *b, const struct profile *rp)
{
	buf_puts(b, ",\"mode\":");
	if (rp->stats.mode < 0)
		buf_puts(b, "null");
	else
		json_i64(b, rp->stats.mode);
}

static void put_stats(struct buf *b, const struct fg_conv *c)
{
	const struct profile *rp = c->stats_run ? c->stats_run : c->t->p;
	buf_puts(b, ",\"stats\":{\"sample_interval_usec\":");
	json_u64(b, rp->stats.interval_us);
	if (c->stats_baseline) {
		/* Tachyon's elided view: the baseline's thread stats, then the
		 * run's figures merged in */
		put_thread_stats(b, c->t);
		put_run_figures(b, rp);
		put_mode(b, rp);
	} else {
		put_run_figures(b, rp);
		put_mode(b, rp);
		put_thread_stats(b, c->t);
	}
	if (c->stats_extra)
		buf_puts(b, c->stats_extra);
	buf_putc(b, '}');
}

static void put_opcode_mapping(struct buf *b, const struct out_request *req)
{
	buf_puts(b, ",\"opcode_mapping\":{\"names\":{");
	bool first = true;
	for (int op = 0; req && req->opcode_name && op < 256; op++) {
		/* Tachyon's dict(enumerate(opcode.opname)) names unused bytes "<N>" */
		const char *name = req->opcode_name(req->opcode_ctx, op, NULL);
		if (!first)
			buf_putc(b, ',');
		first = false;
		buf_putc(b, '"');
		json_i64(b, op);
		buf_puts(b, "\":");
		if (name)
			put_cstr(b, name);
		else
			buf_printf(b, "\"\\u003c%d>\"", op);
	}
	buf_puts(b, "},\"deopt\":{");
	first = true;
	for (int op = 0; req && req->opcode_name && op < 256; op++) {
		int base = -1;
		if (!req->opcode_name(req->opcode_ctx, op, &base) || base < 0 || base == op)
			continue;
		if (!first)
			buf_putc(b, ',');
		first = false;
		buf_putc(b, '"');
		json_i64(b, op);
		buf_puts(b, "\":");
		json_i64(b, base);
	}
	buf_puts(b, "}}");
}

static void put_strings(struct buf *b, const struct fg_conv *c)
{
	buf_puts(b, ",\"strings\":[");
	for (size_t i = 0; i < c->strings.count; i++) {
		if (i)
			buf_putc(b, ',');
		size_t len;
		const char *s = strtab_get(&c->strings, (uint32_t)i, &len);
		put_str(b, s, len);
	}
	buf_putc(b, ']');
}

/* stats, strings and opcode_mapping: the members only the root has */
static void put_root_tail(struct buf *b, const struct fg_conv *c)
{
	put_stats(b, c);
	put_strings(b, c);
	put_opcode_mapping(b, c->req);
}

void fg_emit(struct buf *b, const struct fg_conv *c)
{
	if (c->state == FG_NO_DATA) {
		buf_puts(b, "{\"name\":");
		json_u64(b, c->root_name);
		buf_puts(b, ",\"value\":0,\"children\":[],\"threads\":[]");
		if (c->stats_extra) {
			buf_puts(b, ",\"stats\":{");
			buf_puts(b, c->stats_extra + 1);
			buf_putc(b, '}');
		}
		put_strings(b, c);
		buf_putc(b, '}');
		return;
	}
	if (c->state == FG_NO_SIGNIFICANT) {
		buf_puts(b, "{\"name\":");
		json_u64(b, c->root_name);
		buf_puts(b, ",\"value\":0,\"children\":[]");
		put_strings(b, c);
		buf_putc(b, '}');
		return;
	}
	struct emit_scratch sc = { 0 };
	struct frame_pos {
		uint32_t node, next;
	} *st = NULL;
	size_t sp = 0, cap = 0;
	if (c->promoted) {
		node_head(b, c, c->root);
	} else {
		buf_puts(b, "{\"name\":");
		json_u64(b, c->root_name);
		buf_puts(b, ",\"label\":");
		json_u64(b, c->root_label);
		buf_puts(b, ",\"value\":");
		put_value(b, c, node_value(c, 0));
		buf_puts(b, ",\"children\":[");
	}
	VEC_RESERVE(st, cap, 1);
	st[sp++] = (struct frame_pos){ c->root, 0 };
	while (sp) {
		struct frame_pos *top = &st[sp - 1];
		if (top->next < c->kid_n[top->node]) {
			uint32_t kid = c->kids[c->kid_off[top->node] + top->next].node;
			if (top->next)
				buf_putc(b, ',');
			top->next++;
			node_head(b, c, kid);
			VEC_RESERVE(st, cap, sp + 1);
			st[sp++] = (struct frame_pos){ kid, 0 };
			continue;
		}
		uint32_t node = top->node;
		sp--;
		if (node == 0) {
			buf_putc(b, ']');
			put_stats(b, c);
			put_threads(b, c, 0, true, &sc);
			put_strings(b, c);
			put_opcode_mapping(b, c->req);
			if (c->root_self) {
				buf_puts(b, ",\"self\":");
				json_double(b, 0.0);
				struct fg_diffv zero = { 0, 0, 0, 0, 0 };
				put_diff(b, c->diff ? &c->diff[0] : &zero);
			}
			buf_putc(b, '}');
		} else {
			node_tail(b, c, node, &sc);
		}
	}
	free(st);
	free(sc.tp);
	free(sc.ops);
}

/* ------------------------------------------------------------------ */
/* The page                                                           */

static bool put_file(void *f, const char *s, size_t n)
{
	return fwrite(s, 1, n, f) == n;
}

int fg_write_page(const struct out_request *req, const struct buf *json, bool differential,
		  bool *written)
{
	struct out_file f;
	int rc = out_file_open(&f, req);
	if (rc)
		return rc;
	const char *title = differential ? "Differential Flamegraph Report" : "Flamegraph Report";
	const struct tpl_slot slots[] = {
		{ "TITLE", title, strlen(title) },
		{ "CSS", out_fg_page_css, strlen(out_fg_page_css) },
		{ "JS", out_fg_page_js, strlen(out_fg_page_js) },
		{ "DATA", json->data ? json->data : "{}", json->data ? json->len : 2 },
	};
	bool ok = tpl_fill(out_fg_page_html, slots, sizeof(slots) / sizeof(slots[0]), put_file, f.fp);
	return out_file_close(&f, req, ok, written);
}

void fg_print_summary(FILE *fp, const struct fg_conv *c)
{
	size_t roots = c->state == FG_TREE ? c->root_children : 0;
	uint64_t total = c->state == FG_TREE ? node_value(c, c->root) : 0;
	size_t strings = c->strings.count;
	fprintf(fp, "Flamegraph data: %zu root function%s, %" PRIu64 " total sample%s, %zu unique string%s\n",
		roots, roots == 1 ? "" : "s", total, total == 1 ? "" : "s", strings,
		strings == 1 ? "" : "s");
	if (roots == 0)
		fprintf(fp, "Warning: No functions found in profiling data. "
			"Check if sampling captured any data.\n");
}

/* The fewest samples a node can hold and still be shown: the smallest of
 * the per-thread thresholds (each at most the overall one). */
uint64_t fg_prune_floor(const struct profile *p)
{
	struct u64map per_tid;
	u64map_init(&per_tid);
	for (size_t e = 0; e < p->nentries; e++) {
		uint64_t tid = profile_thread_get(p, p->entries[e].thread)->tid;
		uint64_t *v = u64map_get(&per_tid, tid);
		u64map_put(&per_tid, tid, (v ? *v : 0) + p->entries[e].count);
	}
	uint64_t floor = UINT64_MAX;
	for (size_t e = 0; e < p->nentries; e++) {
		uint64_t tid = profile_thread_get(p, p->entries[e].thread)->tid;
		uint64_t th = thousandth(*u64map_get(&per_tid, tid));
		if (th < floor)
			floor = th;
	}
	u64map_release(&per_tid);
	return floor == UINT64_MAX ? 0 : floor;
}

int out_flamegraph_write(const struct profile *p, const struct out_request *req, bool *written)
{
	*written = false;
	struct fg_tree t;
	fg_tree_build(&t, p, fg_prune_floor(p));
	struct fg_conv c = { .t = &t, .req = req, .with_source = true };
	fg_conv_run(&c);
	FILE *fp = req->stdout_fp ? req->stdout_fp : stdout;
	fg_print_summary(fp, &c);
	int rc = 0;
	if (c.state == FG_TREE) {
		struct buf json = BUF_INIT;
		fg_emit(&json, &c);
		fflush(fp);
		rc = fg_write_page(req, &json, false, written);
		buf_release(&json);
	}
	fg_conv_release(&c);
	fg_tree_release(&t);
	return rc;
}
