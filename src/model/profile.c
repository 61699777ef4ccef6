#include "model/profile.h"
#include "model/stackids.h"

#include "base/buf.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

void profile_init(struct profile *p)
{
	memset(p, 0, sizeof(*p));
	strtab_init(&p->strings);
	rectab_init(&p->frames, sizeof(struct profile_frame));
	rectab_init(&p->nodes, sizeof(struct profile_node));
	rectab_init(&p->threads, sizeof(struct profile_thread));
	u64map_init(&p->entry_index);
}

void profile_release(struct profile *p)
{
	for (size_t i = 0; i < p->last_cap; i++) {
		free(p->last[i].frames);
		free(p->last[i].nodes);
	}
	free(p->last);
	free(p->status);
	free(p->name_flags);
	free(p->filtered);
	free(p->frame_by_key);
	free(p->entries);
	u64map_release(&p->entry_index);
	rectab_release(&p->threads);
	rectab_release(&p->nodes);
	rectab_release(&p->frames);
	strtab_release(&p->strings);
	memset(p, 0, sizeof(*p));
}

static uint32_t thread_id(struct profile *p, uint64_t tid, uint32_t interp_id)
{
	struct profile_thread key = { .tid = tid, .interp_id = interp_id, .reserved = 0 };
	int added;
	uint32_t id = rectab_intern(&p->threads, &key, &added);
	if (added && id >= p->last_cap) {
		size_t old = p->last_cap, cap = p->last_cap;
		VEC_RESERVE(p->last, cap, (size_t)id + 1);
		p->status = xrealloc(p->status, cap * sizeof(*p->status));
		p->last_cap = cap;
		memset(p->last + old, 0, (cap - old) * sizeof(*p->last));
		memset(p->status + old, 0, (cap - old) * sizeof(*p->status));
		for (size_t i = old; i < cap; i++)
			p->last[i].entry = UINT32_MAX;
	}
	return id;
}

static uint32_t entry_for(struct profile *p, uint32_t node, uint32_t thread)
{
	uint64_t key = (uint64_t)node << 32 | thread;
	uint64_t *idx = u64map_get(&p->entry_index, key);
	if (idx)
		return (uint32_t)*idx;
	VEC_RESERVE(p->entries, p->entries_cap, p->nentries + 1);
	uint32_t e = (uint32_t)p->nentries++;
	p->entries[e] = (struct profile_entry){ .node = node, .thread = thread, .count = 0 };
	u64map_put(&p->entry_index, key, e);
	return e;
}

static uint32_t frame_intern(struct profile *p, const struct frame *f)
{
	struct profile_frame key = {
		.file = f->file, .func = f->func, .line = f->line,
		.end_line = -1, .col = -1, .end_col = -1, .opcode = FRAME_NO_OPCODE,
	};
	if (p->detail) {
		key.end_line = f->end_line;
		key.col = f->col;
		key.end_col = f->end_col;
		key.opcode = f->opcode;
	}
	return rectab_intern(&p->frames, &key, NULL);
}

/* The id of frame f, whose key (a replayed sample's frame index) is
 * keys[i] when keys is not NULL. */
static uint32_t frame_id(struct profile *p, const struct frame *f, const uint32_t *keys, size_t i)
{
	if (!keys)
		return frame_intern(p, f);
	uint32_t key = keys[i];
	VEC_RESERVE_ZERO(p->frame_by_key, p->frame_by_key_cap, (size_t)key + 1);
	if (!p->frame_by_key[key])
		p->frame_by_key[key] = frame_intern(p, f) + 1;
	return p->frame_by_key[key] - 1;
}

void profile_keep_detail(struct profile *p)
{
	assert(p->frames.count == 0);
	p->detail = true;
}

static void add_stack(struct profile *p, uint64_t tid, uint32_t interp_id,
		      const struct frame *frames, const uint32_t *keys, size_t depth,
		      uint64_t weight)
{
	if (depth == 0)
		return;
	uint32_t t = thread_id(p, tid, interp_id);
	struct profile_last *last = &p->last[t];

	/* Frames shared with the previous stack of this thread, counted from
	 * the outermost end: their trie nodes are already known. */
	size_t shared = 0;
	while (shared < depth && shared < last->depth &&
	       frame_eq(&frames[depth - 1 - shared], &last->frames[last->depth - 1 - shared]))
		shared++;

	if (shared == depth && depth == last->depth && last->entry != UINT32_MAX) {
		p->entries[last->entry].count += weight;
		p->thread_samples++;
		return;
	}

	/* Rebuild the memo: keep the shared outer part, intern the rest. */
	if (depth > last->cap) {
		size_t cap = last->cap;
		VEC_RESERVE(last->frames, cap, depth);
		cap = last->cap;
		VEC_RESERVE(last->nodes, cap, depth);
		last->cap = cap;
	}
	size_t keep_from_old = last->depth - shared; /* index in old arrays of first shared frame */
	if (shared) {
		memmove(&last->frames[depth - shared], &last->frames[keep_from_old],
			shared * sizeof(struct frame));
		memmove(&last->nodes[depth - shared], &last->nodes[keep_from_old],
			shared * sizeof(uint32_t));
	}
	uint32_t parent = shared ? last->nodes[depth - shared] : PROFILE_NO_NODE;
	for (size_t i = depth - shared; i-- > 0;) {
		struct profile_node n = { .parent = parent, .frame = frame_id(p, &frames[i], keys, i) };
		parent = rectab_intern(&p->nodes, &n, NULL);
		last->frames[i] = frames[i];
		last->nodes[i] = parent;
	}
	last->depth = depth;
	last->entry = entry_for(p, last->nodes[0], t);
	p->entries[last->entry].count += weight;
	p->thread_samples++;
}

void profile_add_stack(struct profile *p, uint64_t tid, uint32_t interp_id,
		       const struct frame *frames, size_t depth, uint64_t weight)
{
	add_stack(p, tid, interp_id, frames, NULL, depth, weight);
}


enum {
	NAME_KNOWN = 1,
	NAME_GC = 2,        /* a function name Tachyon counts as GC: "<GC>", "gc_collect" */
	NAME_INTERNAL = 4,  /* a file name of Tachyon's own launcher, dropped from stacks */
};

/* What a string is, memoised per string id. */
static uint8_t name_flags(struct profile *p, uint32_t id)
{
	VEC_RESERVE_ZERO(p->name_flags, p->name_flags_cap, (size_t)id + 1);
	if (!p->name_flags[id]) {
		size_t n;
		const char *s = strtab_get(&p->strings, id, &n);
		uint8_t f = NAME_KNOWN;
		if (strstr(s, "<GC>") || strstr(s, "gc_collect"))
			f |= NAME_GC;
		/* Tachyon's _INTERNAL_FRAME_SUFFIXES: its run command's coordinator */
		if (stack_internal_file(s, n))
			f |= NAME_INTERNAL;
		p->name_flags[id] = f;
	}
	return p->name_flags[id];
}

static bool is_gc_name(struct profile *p, uint32_t id)
{
	return (name_flags(p, id) & NAME_GC) != 0;
}

/* Count a thread's status; returns whether its stack holds a GC frame. */
static bool add_status(struct profile *p, const struct thread_sample *t, const struct frame *frames)
{
	uint32_t id = thread_id(p, t->tid, t->interp_id); /* may move p->status */
	struct profile_status *st = &p->status[id];
	st->total++;
	st->has_gil += (t->status & STATUS_HAS_GIL) != 0;
	st->on_cpu += (t->status & STATUS_ON_CPU) != 0;
	st->gil_requested += (t->status & STATUS_GIL_REQUESTED) != 0;
	st->unknown += (t->status & STATUS_UNKNOWN) != 0;
	st->has_exception += (t->status & STATUS_HAS_EXCEPTION) != 0;
	if (t->status & STATUS_MAIN_THREAD)
		st->main = true;
	for (uint32_t i = 0; i < t->depth; i++) {
		if (is_gc_name(p, frames[i].func)) {
			st->gc++;
			return true;
		}
	}
	return false;
}

void profile_add_sample(struct profile *p, const struct sample *s)
{
	bool gc = false;
	p->samples++;
	for (size_t i = 0; i < s->nthreads; i++) {
		const struct thread_sample *t = &s->threads[i];
		const struct frame *f = &s->frames[t->first];
		size_t depth = t->depth;
		if (add_status(p, t, f) && !gc) {
			gc = true;
			p->gc_samples++;
		}
		if (p->skip_idle && !(t->status & (STATUS_HAS_GIL | STATUS_ON_CPU)))
			continue;
		/* frames of Tachyon's coordinator (in files Tachyon recorded)
		 * are removed from every stack, as its collectors do */
		const uint32_t *keys = s->frame_keys ? s->frame_keys + t->first : NULL;
		size_t keep = 0;
		for (size_t k = 0; k < depth; k++)
			keep += !(name_flags(p, f[k].file) & NAME_INTERNAL);
		if (keep != depth) {
			keys = NULL;
			VEC_RESERVE(p->filtered, p->filtered_cap, depth);
			keep = 0;
			for (size_t k = 0; k < depth; k++)
				if (!(name_flags(p, f[k].file) & NAME_INTERNAL))
					p->filtered[keep++] = f[k];
			f = p->filtered;
			depth = keep;
		}
		add_stack(p, t->tid, t->interp_id, f, keys, depth, 1);
	}
}

const struct profile_status *profile_thread_status(const struct profile *p, uint32_t thread)
{
	return &p->status[thread];
}

size_t profile_stack_depth(const struct profile *p, uint32_t node)
{
	size_t d = 0;
	while (node != PROFILE_NO_NODE) {
		d++;
		node = profile_node_get(p, node)->parent;
	}
	return d;
}

size_t profile_stack_frames(const struct profile *p, uint32_t node, uint32_t *out, size_t max)
{
	size_t d = 0;
	while (node != PROFILE_NO_NODE) {
		const struct profile_node *n = profile_node_get(p, node);
		if (d < max)
			out[d] = n->frame;
		d++;
		node = n->parent;
	}
	return d;
}

size_t profile_stack_fill(const struct profile *p, uint32_t node, uint32_t **buf, size_t *cap)
{
	size_t depth = profile_stack_depth(p, node);
	VEC_RESERVE(*buf, *cap, depth ? depth : 1);
	return profile_stack_frames(p, node, *buf, depth);
}
