#include "model/stackids.h"

#include "base/buf.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* A (tid, interpreter) pair as a record key: no padding. */
struct thread_key {
	uint64_t tid;
	uint32_t interp_id;
	uint32_t reserved;
};

bool stack_internal_file(const char *s, size_t n)
{
	static const char suffix[] = "_sync_coordinator.py";
	size_t k = sizeof(suffix) - 1;
	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

void stack_ids_init(struct stack_ids *s, bool skip_idle)
{
	memset(s, 0, sizeof(*s));
	s->skip_idle = skip_idle;
	rectab_init(&s->frames, sizeof(struct frame));
	rectab_init(&s->thread_keys, sizeof(struct thread_key));
}

void stack_ids_release(struct stack_ids *s)
{
	for (size_t i = 0; i < s->thread_keys.count; i++) {
		free(s->threads[i].frames);
		free(s->threads[i].ids);
		free(s->threads[i].out);
	}
	free(s->threads);
	rectab_release(&s->frames);
	rectab_release(&s->thread_keys);
	free(s->internal);
	free(s->key_internal);
	memset(s, 0, sizeof(*s));
}

static bool internal(struct stack_ids *s, const struct strtab *strings, uint32_t id)
{
	VEC_RESERVE_ZERO(s->internal, s->internal_cap, (size_t)id + 1);
	if (!s->internal[id]) {
		size_t n;
		const char *str = strtab_get(strings, id, &n);
		s->internal[id] = stack_internal_file(str, n) ? 2 : 1;
	}
	return s->internal[id] == 2;
}

/* Whether the frame of replay key is one of the launcher's, memoised per
 * key: a replayed sample may carry no frames, only keys. */
static bool key_internal(struct stack_ids *s, const struct strtab *strings, uint32_t key)
{
	VEC_RESERVE_ZERO(s->key_internal, s->key_internal_cap, (size_t)key + 1);
	if (!s->key_internal[key])
		s->key_internal[key] = internal(s, strings, s->key_frames[key].file) ? 2 : 1;
	return s->key_internal[key] == 2;
}

/* The id of live frame f (a replayed frame's id is its key). */
static uint32_t frame_id(struct stack_ids *s, const struct frame *f)
{
	assert(!s->key_frames);
	return rectab_intern(&s->frames, f, NULL);
}

static struct stack_ids_thread *thread_of(struct stack_ids *s, const struct thread_sample *t)
{
	struct thread_key k = { .tid = t->tid, .interp_id = t->interp_id };
	uint32_t id = rectab_intern(&s->thread_keys, &k, NULL);
	s->thread = id;
	VEC_RESERVE_ZERO(s->threads, s->threads_cap, (size_t)id + 1);
	return &s->threads[id];
}

const uint32_t *stack_ids_of(struct stack_ids *s, const struct sample *smp,
			     const struct thread_sample *t, const struct strtab *strings,
			     size_t *depth)
{
	*depth = 0;
	s->same = false;
	struct stack_ids_thread *m = thread_of(s, t);
	if ((s->skip_idle && !(t->status & (STATUS_HAS_GIL | STATUS_ON_CPU))) || t->depth == 0) {
		m->current = false; /* the next sample's "same stack" is not this memo's */
		return NULL;
	}
	if (t->same_stack && m->current) {
		/* a replayed repeat: the memo is this very stack */
		s->shared = m->depth;
		s->same = m->depth > 0;
		*depth = m->depth;
		return m->depth ? m->out : NULL;
	}
	const uint32_t *keys = smp->frame_keys ? smp->frame_keys + t->first : NULL;
	if (keys && !s->key_frames && !s->frames.count)
		s->key_frames = smp->key_frames;
	assert(!keys || smp->key_frames == s->key_frames);

	/* the thread's memo, root first: keep the outer part it shares with
	 * this stack, intern the rest root first */
	if (t->depth > m->cap) {
		size_t cap = m->cap;
		VEC_RESERVE(m->frames, cap, t->depth);
		m->ids = xrealloc(m->ids, cap * sizeof(*m->ids));
		m->out = xrealloc(m->out, cap * sizeof(*m->out));
		m->cap = cap;
	}
	size_t old = m->depth, k = 0, i = t->depth; /* k: memo position, i: frames left */
	bool sharing = true;
	s->shared = 0;
	if (keys) {
		/* replayed: a key is the frame's id, and all this needs */
		while (i-- > 0) {
			if (key_internal(s, strings, keys[i]))
				continue;
			if (sharing && k < old && m->ids[k] == keys[i]) {
				s->shared = ++k;
				continue;
			}
			sharing = false;
			m->ids[k++] = keys[i];
		}
	} else {
		const struct frame *f = smp->frames + t->first;
		while (i-- > 0) {
			if (internal(s, strings, f[i].file))
				continue;
			if (sharing && k < old && frame_eq(&f[i], &m->frames[k])) {
				s->shared = ++k;
				continue;
			}
			sharing = false;
			m->frames[k] = f[i];
			m->ids[k] = frame_id(s, &f[i]);
			k++;
		}
	}
	m->depth = k;
	m->current = true;
	if (k == 0)
		return NULL;
	s->same = k == old && s->shared == k;
	if (!s->same)
		for (size_t j = 0; j < k; j++)
			m->out[j] = m->ids[k - 1 - j];
	*depth = k;
	return m->out;
}
