/* stacks.h - synthetic profiles shared by the writer tests: a stack is a
 * list of (file, line, func) frames, innermost first, with a thread id and a
 * weight.  The "main" case was checked against Tachyon's own collectors. */
#ifndef STROBE_TEST_STACKS_H
#define STROBE_TEST_STACKS_H

#include <stdint.h>

#include "base/intern.h"
#include "model/profile.h"
#include "model/sample.h"
#include "format/out.h"

#include <string.h>

struct tframe {
	const char *file;
	int line;
	const char *func;
};

struct tstack {
	uint64_t tid;
	uint64_t weight;
	const struct tframe *frames; /* innermost first, ends with file NULL */
};

/* case main: interval 1000 us */
static const struct tframe main_s0[] = {
	{ "/app/x.py", 10, "f" },
	{ "/app/x.py", 20, "main" },
	{ NULL, 0, NULL },
};
static const struct tframe main_s1[] = {
	{ "/app/x.py", 30, "g" },
	{ "/app/x.py", 20, "main" },
	{ NULL, 0, NULL },
};
static const struct tframe main_s2[] = {
	{ "~", FRAME_NO_LINE, "<GC>" },
	{ "/app/x.py", 11, "f" },
	{ "/app/x.py", 20, "main" },
	{ NULL, 0, NULL },
};
static const struct tframe main_s3[] = {
	{ "/app/r.py", 5, "rec" },
	{ "/app/r.py", 5, "rec" },
	{ "/app/r.py", 5, "rec" },
	{ "/app/x.py", 21, "main" },
	{ NULL, 0, NULL },
};
static const struct tframe main_s4[] = {
	{ "/lib/a/util.py", 7, "helper" },
	{ "/app/x.py", 22, "main" },
	{ NULL, 0, NULL },
};
static const struct tframe main_s5[] = {
	{ "/lib/b/util.py", 7, "helper" },
	{ "/app/x.py", 22, "main" },
	{ NULL, 0, NULL },
};
static const struct tframe main_s6[] = {
	{ "/app/x.py", 10, "f" },
	{ "/app/x.py", 20, "main" },
	{ NULL, 0, NULL },
};
static const struct tframe main_s7[] = {
	{ "/app/\303\274n\303\257.py", 3, "caf\303\251.\316\273" },
	{ "/app/x.py", 23, "main" },
	{ NULL, 0, NULL },
};
static const struct tframe main_s8[] = {
	{ "/app/it's.py", 100, "q" },
	{ "/app/x.py", 12, "main" },
	{ NULL, 0, NULL },
};
static const struct tframe main_s9[] = {
	{ "/app/x.py", 10, "f" },
	{ NULL, 0, NULL },
};
static const struct tframe main_s10[] = {
	{ "<task>", FRAME_NO_LINE, "Task:1" },
	{ NULL, 0, NULL },
};
static const struct tframe main_s11[] = {
	{ "/app/back\\slash.py", 4, "k\tx" },
	{ NULL, 0, NULL },
};
static const struct tframe main_s12[] = {
	{ "/app/x.py", 100, "main" },
	{ NULL, 0, NULL },
};
static const struct tstack main_stacks[] = {
	{ 100, 3, main_s0 },
	{ 100, 3, main_s1 },
	{ 100, 2, main_s2 },
	{ 100, 4, main_s3 },
	{ 100, 1, main_s4 },
	{ 200, 2, main_s5 },
	{ 200, 3, main_s6 },
	{ 100, 1, main_s7 },
	{ 100, 1, main_s8 },
	{ 100, 2, main_s9 },
	{ 300, 1, main_s10 },
	{ 100, 1, main_s11 },
	{ 100, 1, main_s12 },
	{ 0, 0, NULL },
};

/* A profile (initialised here) holding every stack of a NULL-terminated list. */
/* The frames of a stack, with strings interned in strings; returns the depth. */
static inline size_t stacks_frames(struct strtab *strings, const struct tstack *s, struct frame f[16])
{
	size_t n = 0;
	for (const struct tframe *t = s->frames; t->file && n < 16; t++, n++) {
		f[n] = (struct frame){
			.file = strtab_intern_cstr(strings, t->file),
			.func = strtab_intern_cstr(strings, t->func),
			.line = t->line, .end_line = -1, .col = -1, .end_col = -1,
			.opcode = FRAME_NO_OPCODE,
		};
	}
	return n;
}

static inline void stacks_build(struct profile *p, const struct tstack *stacks, uint64_t interval_us)
{
	profile_init(p);
	p->stats.interval_us = interval_us;
	for (const struct tstack *s = stacks; s->frames; s++) {
		struct frame f[16];
		size_t n = stacks_frames(&p->strings, s, f);
		profile_add_stack(p, s->tid, 0, f, n, s->weight);
	}
}

/* Feed an open stream every stack, each as WEIGHT one-thread samples in
 * order, as a replay would deliver them, strings interned in p's table.
 * The first failing add's result. */
static inline int stacks_feed(const struct out_stream_ops *ops, struct out_stream *st,
			      struct profile *p, const struct tstack *stacks)
{
	struct sample smp;
	sample_init(&smp);
	int rc = 0;
	for (const struct tstack *s = stacks; s->frames && rc == 0; s++) {
		struct frame f[16];
		size_t n = stacks_frames(&p->strings, s, f);
		for (uint64_t w = 0; w < s->weight && rc == 0; w++) {
			sample_clear(&smp);
			struct thread_sample *t = sample_add_thread(&smp);
			t->tid = s->tid;
			t->status = STATUS_HAS_GIL | STATUS_ON_CPU;
			if (n)
				memcpy(sample_reserve_frames(&smp, n), f, n * sizeof(*f));
			smp.nframes = n;
			t->depth = (uint32_t)n;
			rc = ops->add(st, &smp, &p->strings);
		}
	}
	sample_release(&smp);
	return rc;
}

/* The stacks through a streaming format: open, feed, close with a profile
 * that holds only the strings and the interval.  The first failure. */
static inline int stacks_stream(const struct out_stream_ops *ops, const struct tstack *stacks,
				uint64_t interval_us, const struct out_request *req, bool *written)
{
	struct profile p;
	profile_init(&p);
	p.stats.interval_us = interval_us;
	struct out_stream *st;
	int rc = ops->open(&st, req);
	if (rc) {
		profile_release(&p);
		return rc;
	}
	rc = stacks_feed(ops, st, &p, stacks);
	int crc = ops->close(st, &p, req, written);
	profile_release(&p);
	return rc ? rc : crc;
}

#endif
