/* test_stackids.c - frame ids for the streaming formats: first-seen order,
 * the per-thread memo (shared, same), launcher frames left out, and a replayed repeat answered from the memo only when the memo is
 * that thread's previous stack. */
#include "harness.h"

#include "base/intern.h"
#include "model/sample.h"
#include "model/stackids.h"

#include <string.h>

static struct strtab strings;

static struct frame fr(const char *file, const char *func, int line, int col)
{
	return (struct frame){ .file = strtab_intern_cstr(&strings, file),
			       .func = strtab_intern_cstr(&strings, func),
			       .line = line, .end_line = -1, .col = col, .end_col = -1,
			       .opcode = FRAME_NO_OPCODE };
}

/* One thread's stack (innermost first) as a one-thread sample. */
static const struct thread_sample *one(struct sample *s, uint64_t tid, uint32_t status,
				       const struct frame *f, size_t n, bool same)
{
	sample_clear(s);
	struct thread_sample *t = sample_add_thread(s);
	t->tid = tid;
	t->status = status;
	t->same_stack = same;
	if (n)
		memcpy(sample_reserve_frames(s, n), f, n * sizeof(*f));
	s->nframes = n;
	t->depth = (uint32_t)n;
	return t;
}

#define RUNNING (STATUS_HAS_GIL | STATUS_ON_CPU)

TEST(order_shared_same)
{
	strtab_init(&strings);
	struct stack_ids ids;
	stack_ids_init(&ids, false);
	struct sample s;
	sample_init(&s);
	struct frame a[] = { fr("/x.py", "leaf", 3, -1), fr("/x.py", "main", 1, -1) };
	struct frame b[] = { fr("/x.py", "other", 9, -1), fr("/x.py", "main", 1, -1) };
	size_t d;

	/* ids root first, handed out innermost first */
	const uint32_t *got = stack_ids_of(&ids, &s, one(&s, 1, RUNNING, a, 2, false), &strings, &d);
	CHECK(got && d == 2 && got[0] == 1 && got[1] == 0);
	CHECK(!ids.same && ids.shared == 0 && ids.thread == 0);

	got = stack_ids_of(&ids, &s, one(&s, 1, RUNNING, a, 2, false), &strings, &d);
	CHECK(got && d == 2 && ids.same && ids.shared == 2);

	/* the outer frame is shared, the new leaf gets the next id */
	got = stack_ids_of(&ids, &s, one(&s, 1, RUNNING, b, 2, false), &strings, &d);
	CHECK(got && d == 2 && got[0] == 2 && got[1] == 0 && !ids.same && ids.shared == 1);

	/* a second thread has its own memo */
	got = stack_ids_of(&ids, &s, one(&s, 2, RUNNING, a, 2, false), &strings, &d);
	CHECK(got && d == 2 && got[0] == 1 && ids.thread == 1 && ids.shared == 0 && !ids.same);

	/* a prefix of the previous stack shares all its frames but is not the same */
	got = stack_ids_of(&ids, &s, one(&s, 2, RUNNING, a + 1, 1, false), &strings, &d);
	CHECK(got && d == 1 && got[0] == 0 && ids.shared == 1 && !ids.same);
	CHECK_EQ_INT((int)ids.frames.count, 3); /* live frames: dense ids */

	sample_release(&s);
	stack_ids_release(&ids);
	strtab_release(&strings);
}

TEST(repeat_hint)
{
	strtab_init(&strings);
	struct stack_ids ids;
	stack_ids_init(&ids, true);
	struct sample s;
	sample_init(&s);
	struct frame a[] = { fr("/x.py", "a", 3, -1), fr("/x.py", "main", 1, -1) };
	struct frame b[] = { fr("/x.py", "b", 4, -1), fr("/x.py", "main", 1, -1) };
	size_t d;

	const uint32_t *got = stack_ids_of(&ids, &s, one(&s, 1, RUNNING, a, 2, false), &strings, &d);
	CHECK(got && d == 2 && got[0] == 1);
	/* a repeat: answered from the memo, whatever the sample holds */
	got = stack_ids_of(&ids, &s, one(&s, 1, RUNNING, a, 2, true), &strings, &d);
	CHECK(got && d == 2 && got[0] == 1 && ids.same && ids.shared == 2);

	/* an idle sample with stack b is left out (skip_idle) ... */
	got = stack_ids_of(&ids, &s, one(&s, 1, 0, b, 2, false), &strings, &d);
	CHECK(!got && d == 0);
	/* ... so a repeat of it is not the memo's stack a: b is read */
	got = stack_ids_of(&ids, &s, one(&s, 1, RUNNING, b, 2, true), &strings, &d);
	CHECK(got && d == 2 && got[0] == 2 && !ids.same && ids.shared == 1);

	/* an empty stack, then its repeat: nothing */
	got = stack_ids_of(&ids, &s, one(&s, 1, RUNNING, NULL, 0, false), &strings, &d);
	CHECK(!got && d == 0);
	got = stack_ids_of(&ids, &s, one(&s, 1, RUNNING, NULL, 0, true), &strings, &d);
	CHECK(!got && d == 0);

	sample_release(&s);
	stack_ids_release(&ids);
	strtab_release(&strings);
}

TEST(internal_frames)
{
	strtab_init(&strings);
	struct stack_ids ids;
	stack_ids_init(&ids, false);
	struct sample s;
	sample_init(&s);
	/* Tachyon's launcher frames are left out; a stack of nothing else is none */
	struct frame a[] = { fr("/x.py", "f", 3, 4), fr("/r/_sync_coordinator.py", "run", 5, -1),
			     fr("~", "<GC>", FRAME_NO_LINE, -1) };
	size_t d;
	const uint32_t *got = stack_ids_of(&ids, &s, one(&s, 1, RUNNING, a, 3, false), &strings, &d);
	CHECK(got && d == 2 && got[0] == 1 && got[1] == 0);
	CHECK(stack_ids_frame(&ids, 1)->col == 4 && stack_ids_frame(&ids, 0)->line == FRAME_NO_LINE);
	got = stack_ids_of(&ids, &s, one(&s, 2, RUNNING, a + 1, 1, false), &strings, &d);
	CHECK(!got && d == 0);
	/* and its repeat is none too */
	got = stack_ids_of(&ids, &s, one(&s, 2, RUNNING, a + 1, 1, true), &strings, &d);
	CHECK(!got && d == 0);

	sample_release(&s);
	stack_ids_release(&ids);
	strtab_release(&strings);
}

/* A replayed sample as a keys-only replay gives it: keys into a frame
 * table, no frames. */
static const struct thread_sample *keyed(struct sample *s, uint64_t tid, uint32_t status,
					 const struct frame *table, const uint32_t *keys, size_t n,
					 bool same)
{
	sample_clear(s);
	struct thread_sample *t = sample_add_thread(s);
	t->tid = tid;
	t->status = status;
	t->same_stack = same;
	t->depth = (uint32_t)n;
	s->frame_keys = keys;
	s->key_frames = table;
	return t;
}

TEST(replayed_keys)
{
	strtab_init(&strings);
	struct stack_ids ids;
	stack_ids_init(&ids, true);
	struct sample s;
	sample_init(&s);
	/* the file's frame table; key 3 is the launcher's */
	const struct frame table[] = { fr("/x.py", "main", 1, -1), fr("/x.py", "a", 3, 4),
				       fr("/x.py", "b", 4, 4), fr("/r/_sync_coordinator.py", "run", 5, -1) };
	const uint32_t ka[] = { 1, 0, 3 }, kb[] = { 2, 0, 3 };
	size_t d;

	/* ids are the keys; the launcher's frame left out; no frame is read
	 * from the sample (it has none) */
	const uint32_t *got = stack_ids_of(&ids, &s, keyed(&s, 1, RUNNING, table, ka, 3, false),
					   &strings, &d);
	CHECK(got && d == 2 && got[0] == 1 && got[1] == 0 && !ids.same && ids.shared == 0);
	CHECK(stack_ids_frame(&ids, 1)->col == 4 && stack_ids_frame(&ids, 2)->func == table[2].func);
	CHECK_EQ_INT((int)ids.frames.count, 0); /* replayed frames cost no table */
	/* the same keys again, not marked: found the same by comparing keys */
	got = stack_ids_of(&ids, &s, keyed(&s, 1, RUNNING, table, ka, 3, false), &strings, &d);
	CHECK(got && d == 2 && ids.same && ids.shared == 2);
	/* a repeat record */
	got = stack_ids_of(&ids, &s, keyed(&s, 1, RUNNING, table, ka, 3, true), &strings, &d);
	CHECK(got && d == 2 && got[0] == 1 && ids.same);
	/* another leaf: the outer frame shared */
	got = stack_ids_of(&ids, &s, keyed(&s, 1, RUNNING, table, kb, 3, false), &strings, &d);
	CHECK(got && d == 2 && got[0] == 2 && got[1] == 0 && !ids.same && ids.shared == 1);
	/* idle (skip_idle), then a repeat of that idle stack a: not the memo's b */
	got = stack_ids_of(&ids, &s, keyed(&s, 1, 0, table, ka, 3, false), &strings, &d);
	CHECK(!got && d == 0);
	got = stack_ids_of(&ids, &s, keyed(&s, 1, RUNNING, table, ka, 3, true), &strings, &d);
	CHECK(got && d == 2 && got[0] == 1 && !ids.same && ids.shared == 1);
	/* a stack of the launcher's frame only is none */
	got = stack_ids_of(&ids, &s, keyed(&s, 2, RUNNING, table, ka + 2, 1, false), &strings, &d);
	CHECK(!got && d == 0);

	sample_release(&s);
	stack_ids_release(&ids);
	strtab_release(&strings);
}

int main(void)
{
	RUN(order_shared_same);
	RUN(repeat_hint);
	RUN(internal_frames);
	RUN(replayed_keys);
	return harness_done();
}
