/* speedscope.c - speedscope's file format (--speedscope; not in Tachyon),
 * as https://www.speedscope.app/file-format-schema.json describes it:
 *
 *   {"$schema":"https://www.speedscope.app/file-format-schema.json",
 *    "exporter":"strobe","name":"strobe profile","activeProfileIndex":K,
 *    "shared":{"frames":[{"name":"func","file":"/app/x.py","line":10},...]},
 *    "profiles":[{"type":"sampled","name":"Thread 1234 (main)",
 *                 "unit":"microseconds","startValue":0,"endValue":W,
 *                 "samples":[[root,...,leaf],...],"weights":[w,...]},...]}
 *
 * - One "sampled" profile per thread (OS thread id; the interpreter is named
 *   when it is not the main one), in first-seen order; the main thread's is
 *   the active one, else the busiest.
 * - Frames are shared: one per (function, file, line), the line executing
 *   as in Tachyon's other formats; a synthetic frame (<GC>, <native>) has a
 *   name only.  The name is co_qualname (3.11+) or co_name.
 * - Weights are time: each sample stands for one sampling interval, so a
 *   stack's weight is its count times the interval in microseconds and
 *   speedscope shows durations; weight / interval gives the sample count
 *   back.  A profile with no interval (never from strobe itself) falls back
 *   to unit "none" and plain counts.
 * - Samples are aggregated: one entry per distinct stack of a thread, in
 *   first-seen order, so the "Time Order" view is not a timeline.
 * - Strings are UTF-8, any malformed part (an encoded surrogate among them)
 *   as U+FFFD (base/json.h), so every file is valid JSON.
 */
#include "format/out.h"

#include "base/buf.h"
#include "base/error.h"
#include "base/intern.h"
#include "base/json.h"
#include "model/profile.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define FLUSH_AT (1u << 20)

struct skey {
	uint32_t file, func;
	int32_t line; /* 0 when none */
};

struct writer {
	struct out_file file;
	struct buf out;
	bool failed;
};

static void flush(struct writer *w, bool force)
{
	if (w->out.len < FLUSH_AT && !force)
		return;
	if (w->out.len && fwrite(w->out.data, 1, w->out.len, w->file.fp) != w->out.len)
		w->failed = true;
	buf_reset(&w->out);
}

static bool is_synthetic(const struct profile *p, const struct skey *k)
{
	size_t n;
	const char *file = strtab_get(&p->strings, k->file, &n);
	return k->line == 0 && n == 1 && file[0] == '~';
}

static void put_frame(struct writer *w, const struct profile *p, const struct skey *k)
{
	size_t n;
	const char *s = strtab_get(&p->strings, k->func, &n);
	buf_puts(&w->out, "{\"name\":");
	json_str(&w->out, s, n, false);
	if (!is_synthetic(p, k)) {
		s = strtab_get(&p->strings, k->file, &n);
		buf_puts(&w->out, ",\"file\":");
		json_str(&w->out, s, n, false);
		if (k->line > 0) {
			buf_puts(&w->out, ",\"line\":");
			json_i64(&w->out, k->line);
		}
	}
	buf_putc(&w->out, '}');
}

static void put_thread_name(struct buf *b, const struct profile *p, uint32_t t)
{
	const struct profile_thread *th = profile_thread_get(p, t);
	buf_printf(b, "\"Thread %" PRIu64, th->tid);
	if (th->interp_id)
		buf_printf(b, " (interpreter %" PRIu32 ")", th->interp_id);
	if (profile_thread_status(p, t)->main)
		buf_puts(b, " (main)");
	buf_putc(b, '"');
}

/* Declared for the table in out.c. */
int out_speedscope_write(const struct profile *p, const struct out_request *req, bool *written);

int out_speedscope_write(const struct profile *p, const struct out_request *req, bool *written)
{
	*written = false;
	size_t nthreads = p->threads.count, nent = p->nentries;
	uint64_t interval = p->stats.interval_us;

	/* shared frames: profile frame -> speedscope frame */
	struct rectab frames;
	rectab_init(&frames, sizeof(struct skey));
	uint32_t *frame_of = xmalloc((p->frames.count ? p->frames.count : 1) * sizeof(*frame_of));
	for (size_t i = 0; i < p->frames.count; i++) {
		const struct profile_frame *f = profile_frame_get(p, (uint32_t)i);
		struct skey k = { .file = f->file, .func = f->func,
				  .line = f->line > 0 ? f->line : 0 };
		frame_of[i] = rectab_intern(&frames, &k, NULL);
	}

	/* entries grouped by thread, first-seen order kept within a thread */
	size_t *start = xcalloc(nthreads + 1, sizeof(*start));
	uint64_t *weight = xcalloc(nthreads ? nthreads : 1, sizeof(*weight));
	uint32_t *order = xmalloc((nent ? nent : 1) * sizeof(*order));
	for (size_t e = 0; e < nent; e++) {
		start[p->entries[e].thread + 1]++;
		weight[p->entries[e].thread] += p->entries[e].count;
	}
	for (size_t t = 0; t < nthreads; t++)
		start[t + 1] += start[t];
	{
		size_t *fill = xmalloc((nthreads ? nthreads : 1) * sizeof(*fill));
		memcpy(fill, start, nthreads * sizeof(*fill));
		for (size_t e = 0; e < nent; e++)
			order[fill[p->entries[e].thread]++] = (uint32_t)e;
		free(fill);
	}
	int active = -1, nprofiles = 0, busiest = -1;
	uint64_t best = 0;
	for (size_t t = 0; t < nthreads; t++) {
		if (!weight[t])
			continue;
		if (active < 0 && profile_thread_status(p, (uint32_t)t)->main)
			active = nprofiles;
		if (weight[t] > best) {
			best = weight[t];
			busiest = nprofiles;
		}
		nprofiles++;
	}
	if (active < 0)
		active = busiest >= 0 ? busiest : 0;

	struct writer w = { .out = BUF_INIT, .failed = false };
	int rc = out_file_open(&w.file, req);
	if (rc)
		goto out;
	buf_printf(&w.out, "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\","
		   "\"exporter\":\"strobe\",\"name\":\"strobe profile\",\"activeProfileIndex\":%d,"
		   "\"shared\":{\"frames\":[", active);
	for (size_t i = 0; i < frames.count; i++) {
		if (i)
			buf_putc(&w.out, ',');
		put_frame(&w, p, rectab_get(&frames, (uint32_t)i));
		flush(&w, false);
	}
	buf_puts(&w.out, "]},\"profiles\":[");

	uint32_t *stack = NULL;
	size_t cap = 0;
	const uint64_t unit = interval ? interval : 1;
	bool first = true;
	for (size_t t = 0; t < nthreads; t++) {
		if (!weight[t])
			continue;
		if (!first)
			buf_putc(&w.out, ',');
		first = false;
		buf_puts(&w.out, "{\"type\":\"sampled\",\"name\":");
		put_thread_name(&w.out, p, (uint32_t)t);
		buf_puts(&w.out, interval ? ",\"unit\":\"microseconds\"" : ",\"unit\":\"none\"");
		buf_puts(&w.out, ",\"startValue\":0,\"endValue\":");
		json_u64(&w.out, weight[t] * unit);
		buf_puts(&w.out, ",\"samples\":[");
		for (size_t i = start[t]; i < start[t + 1]; i++) {
			const struct profile_entry *ent = &p->entries[order[i]];
			size_t depth = profile_stack_fill(p, ent->node, &stack, &cap);
			if (i > start[t])
				buf_putc(&w.out, ',');
			buf_putc(&w.out, '[');
			for (size_t k = depth; k-- > 0;) {
				json_u64(&w.out, frame_of[stack[k]]);
				if (k)
					buf_putc(&w.out, ',');
			}
			buf_putc(&w.out, ']');
			flush(&w, false);
		}
		buf_puts(&w.out, "],\"weights\":[");
		for (size_t i = start[t]; i < start[t + 1]; i++) {
			if (i > start[t])
				buf_putc(&w.out, ',');
			json_u64(&w.out, p->entries[order[i]].count * unit);
			flush(&w, false);
		}
		buf_puts(&w.out, "]}");
	}
	free(stack);
	buf_puts(&w.out, "]}\n");
	flush(&w, true);
	rc = out_file_close(&w.file, req, !w.failed, written);
out:
	buf_release(&w.out);
	free(order);
	free(weight);
	free(start);
	free(frame_of);
	rectab_release(&frames);
	return rc;
}
