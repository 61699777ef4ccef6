/* stackfile.h - rebuild a profile from a NAME.stacks file of
 * tests/fixtures/jsonl/ (made with Tachyon's collector by gen_jsonl.py):
 *
 *   interval N mode M
 *   stack TID WEIGHT DEPTH
 *   frame FILEHEX FUNCHEX LINE END_LINE COL END_COL OPCODE    (innermost first)
 *
 * The profile keeps frame detail, as for --jsonl. */
#ifndef STROBE_TEST_STACKFILE_H
#define STROBE_TEST_STACKFILE_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/intern.h"
#include "model/profile.h"

#define STACKFILE_DIR "tests/fixtures/jsonl"

static uint32_t stackfile_str(struct profile *p, const char *hex)
{
	struct buf b = BUF_INIT;
	if (strcmp(hex, "-") != 0) {
		for (size_t i = 0; hex[i] && hex[i + 1]; i += 2) {
			unsigned v;
			sscanf(hex + i, "%2x", &v);
			buf_putc(&b, (char)v);
		}
	}
	uint32_t id = strtab_intern(&p->strings, b.data ? b.data : "", b.len);
	buf_release(&b);
	return id;
}

/* Called for each stack of the file, in order (frames innermost first). */
typedef void (*stackfile_fn)(void *ctx, struct profile *p, uint64_t tid, const struct frame *frames,
			     size_t depth, uint64_t weight);

/* Read NAME.stacks into p (initialised here, keeping frame detail): its
 * strings and stats, and each stack handed to fn.  0, or -1 when the file
 * cannot be read.  *mode gets the case's mode. */
static int stackfile_each(struct profile *p, const char *name, int *mode, stackfile_fn fn,
			  void *ctx)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s.stacks", STACKFILE_DIR, name);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	profile_init(p);
	profile_keep_detail(p);
	char line[4096];
	unsigned long long interval = 0;
	struct frame *frames = NULL;
	size_t cap = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long tid, weight;
		unsigned depth;
		if (sscanf(line, "interval %llu mode %d", &interval, mode) == 2) {
			p->stats.interval_us = interval;
			p->stats.mode = *mode;
			continue;
		}
		if (sscanf(line, "stack %llu %llu %u", &tid, &weight, &depth) != 3)
			continue;
		VEC_RESERVE(frames, cap, depth ? depth : 1);
		for (unsigned i = 0; i < depth; i++) {
			char file[1024], func[1024];
			int l, el, c, ec, op;
			if (!fgets(line, sizeof(line), f) ||
			    sscanf(line, "frame %1023s %1023s %d %d %d %d %d", file, func, &l, &el, &c,
				   &ec, &op) != 7) {
				free(frames);
				fclose(f);
				return -1;
			}
			frames[i] = (struct frame){ .file = stackfile_str(p, file),
						    .func = stackfile_str(p, func),
						    .line = l, .end_line = el, .col = c, .end_col = ec,
						    .opcode = op };
		}
		fn(ctx, p, tid, frames, depth, weight);
	}
	free(frames);
	fclose(f);
	return 0;
}

static void stackfile_add(void *ctx, struct profile *p, uint64_t tid, const struct frame *frames,
			  size_t depth, uint64_t weight)
{
	(void)ctx;
	profile_add_stack(p, tid, 0, frames, depth, weight);
}

/* NAME.stacks as a profile: 0, or -1 when the file cannot be read. */
static inline int stackfile_load(struct profile *p, const char *name, int *mode)
{
	return stackfile_each(p, name, mode, stackfile_add, NULL);
}

#endif
