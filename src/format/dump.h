/* dump.h - `strobe dump`'s text: one sample of a process's stacks as
 * Tachyon prints it (traceback-like sections, root first, the source line
 * of every frame with the executing range highlighted, _colorize's
 * "profiler_dump" theme when req->color).
 *
 * A writer like the formats of out.h, but of one sample and not a row of
 * the table: no option selects it, `strobe dump` is its only user. */
#ifndef STROBE_FORMAT_DUMP_H
#define STROBE_FORMAT_DUMP_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct sample;
struct strtab;
struct out_request;

/* --locals: what is shown under frame i of the sample, one local variable
 * a line ("name = repr\n", the target's text, escaped here for the
 * terminal): text[off[i] .. off[i + 1]) for i < nframes. */
struct out_dump_locals {
	const char *text;
	const size_t *off;
	size_t nframes;
};

/* Append the dump of s (names in strings) to out.  From req: pid (the
 * header), color, source (the target's files as it reads them: NULL, no
 * source lines) and opcode_name (--opcodes; NULL: "<N>").  leaf_ids:
 * NULL for a dump of threads, else (--async-aware) the leaf task of each
 * of s's threads (its address, Tachyon's task id): a section per task,
 * none for a task whose frames are all strobe's or Tachyon's own.
 * locals: NULL, or the local variables shown under each frame. */
void out_dump_write(struct buf *out, const struct sample *s, const struct strtab *strings,
		    const uint64_t *leaf_ids, const struct out_dump_locals *locals,
		    const struct out_request *req);

#endif
