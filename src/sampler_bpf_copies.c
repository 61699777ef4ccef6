/* sampler_bpf_copies.c - the BPF program's code object copies in user
 * space (sampler_bpf_copies.h). */
#include "sampler_bpf_copies.h"

#include "base/buf.h"
#include "base/error.h"
#include "bpf/engine.h"
#include "py/layout.h"
#include "py/pystr.h"

#include <stdlib.h>
#include <string.h>

/* The program's blobs of a code object (sampler_bpf_code_config): the file
 * name and name are str objects, then the line table. */
#define STR_BLOBS 2

void sampler_bpf_copies_init(struct bpf_copies *cc, struct bpf_engine *be, const struct py_layout *l,
			     const struct strobe_bpf_code_config *code)
{
	memset(cc, 0, sizeof(*cc));
	cc->be = be;
	cc->layout = l;
	mem_snapshot_init(&cc->overlay);
	u64map_init(&cc->known);
	u64map_init(&cc->slots);
	cc->frame_code = code->frame_code;
	cc->frame_globals = code->frame_globals;
	cc->code_mask = code->code_mask;
}

static void copies_add(struct bpf_copies *cc, uint32_t tid, raddr_t addr,
		       const unsigned char *bytes, size_t len, bool whole)
{
	if (!len || addr + len < addr)
		return;
	VEC_RESERVE(cc->v, cc->cap, cc->n + 1);
	unsigned char *b = xmalloc(len);
	memcpy(b, bytes, len);
	cc->v[cc->n++] = (struct bpf_copy){ ++cc->seq, cc->gen, tid, whole, addr, len, b };
}

/* Whether a str object's copy holds all that pystr_read_str reads of it.
 * The program copies at least PYSTR_FIRST_READ bytes of a name, as that
 * read, unless that much could not be read (the string lies near a page
 * not present, or the end of its mapping): then the string's own size,
 * which the first read runs past - to memory that may be another object's
 * by the time the sample is decoded.  A copy that holds the string whole
 * ends that read (mem_snapshot_add_whole), and pystr_read_str reads the
 * header, then the characters, from the copy. */
static bool str_whole(const struct py_layout *l, const unsigned char *bytes, size_t len)
{
	struct pystr_head h;
	if (len < l->u_compact_data || len < l->u_ascii_data || pystr_parse_head(l, bytes, &h))
		return false;
	uint64_t chars = h.length > PYSTR_MAX_CHARS ? PYSTR_MAX_CHARS : h.length;
	return h.data_off <= len && chars * h.kind <= len - h.data_off;
}

void sampler_bpf_copies_add(struct bpf_copies *cc, const struct bpf_engine_code *c)
{
	copies_add(cc, c->tid, c->code, c->head, c->head_len, false);
	for (int i = 0; i < STROBE_BPF_BLOBS; i++)
		copies_add(cc, c->tid, c->blob[i].addr, c->blob[i].bytes, c->blob[i].len,
			   i < STR_BLOBS && str_whole(cc->layout, c->blob[i].bytes, c->blob[i].len));
}

/* Drop the copies of thread tid or, by_age, those older than the last
 * drain. */
static void copies_drop(struct bpf_copies *cc, uint32_t tid, bool by_age)
{
	size_t k = 0;
	for (size_t i = 0; i < cc->n; i++) {
		bool old = by_age ? cc->v[i].gen + 1 < cc->gen : cc->v[i].tid == tid;
		if (!old) {
			cc->v[k++] = cc->v[i];
			continue;
		}
		free(cc->v[i].bytes);
	}
	cc->n = k;
}

void sampler_bpf_copies_drop(struct bpf_copies *cc, uint32_t tid)
{
	if (cc->n)
		copies_drop(cc, tid, false);
}

void sampler_bpf_copies_age(struct bpf_copies *cc)
{
	cc->gen++;
	copies_drop(cc, 0, true);
}

static int copy_cmp(const void *a, const void *b)
{
	const struct bpf_copy *x = *(const struct bpf_copy *const *)a;
	const struct bpf_copy *y = *(const struct bpf_copy *const *)b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->seq > y->seq ? -1 : x->seq < y->seq; /* the newest first */
}

static int copy_age_cmp(const void *a, const void *b)
{
	const struct bpf_copy *x = *(const struct bpf_copy *const *)a;
	const struct bpf_copy *y = *(const struct bpf_copy *const *)b;
	return x->seq > y->seq ? 1 : x->seq < y->seq ? -1 : 0; /* the oldest first */
}

static void overlay_reset(struct bpf_copies *cc)
{
	mem_snapshot_release(&cc->overlay);
	mem_snapshot_init(&cc->overlay);
	for (size_t i = 0; i < cc->nmerged; i++)
		free(cc->merged[i]);
	cc->nmerged = 0;
}

/* One range of the overlay from copies p[0..n) (sorted by address) that
 * overlap or touch: copies of one sample, taken at once, so their common
 * bytes agree (a name's copy runs PYSTR_FIRST_READ bytes, into the objects
 * after it; leaving one out sent its reads to the process); where they do
 * not (copies of an earlier sample, one of whose parts was lost), the
 * newest wins.  It holds an object whole when the copies that end it do. */
static void overlay_add_run(struct bpf_copies *cc, const struct bpf_copy **p, size_t n)
{
	raddr_t start = p[0]->addr, end = 0;
	for (size_t i = 0; i < n; i++)
		if (p[i]->addr + p[i]->len > end)
			end = p[i]->addr + p[i]->len;
	bool whole = true;
	for (size_t i = 0; i < n; i++)
		if (p[i]->addr + p[i]->len == end)
			whole = whole && p[i]->whole;
	const unsigned char *bytes = p[0]->bytes;
	if (n > 1) {
		unsigned char *b = xmalloc((size_t)(end - start));
		VEC_RESERVE(cc->merged, cc->merged_cap, cc->nmerged + 1);
		cc->merged[cc->nmerged++] = b;
		qsort(p, n, sizeof(*p), copy_age_cmp);
		for (size_t i = 0; i < n; i++)
			memcpy(b + (p[i]->addr - start), p[i]->bytes, p[i]->len);
		bytes = b;
	}
	int rc = whole ? mem_snapshot_add_whole(&cc->overlay, start, bytes, (size_t)(end - start))
		       : mem_snapshot_add(&cc->overlay, start, bytes, (size_t)(end - start));
	(void)rc; /* past MEM_SNAPSHOT_MAX: those reads go to the process */
}

bool sampler_bpf_copies_overlay(struct bpf_copies *cc, uint32_t tid)
{
	overlay_reset(cc);
	size_t n = 0;
	for (size_t i = 0; i < cc->n; i++) {
		if (cc->v[i].tid != tid)
			continue;
		VEC_RESERVE(cc->pick, cc->pick_cap, n + 1);
		cc->pick[n++] = &cc->v[i];
	}
	if (!n)
		return false;
	qsort(cc->pick, n, sizeof(*cc->pick), copy_cmp);
	for (size_t i = 0; i < n;) {
		raddr_t end = cc->pick[i]->addr + cc->pick[i]->len;
		size_t j = i + 1;
		for (; j < n && cc->pick[j]->addr <= end; j++)
			if (cc->pick[j]->addr + cc->pick[j]->len > end)
				end = cc->pick[j]->addr + cc->pick[j]->len;
		overlay_add_run(cc, cc->pick + i, j - i);
		i = j;
	}
	return true;
}

void sampler_bpf_copies_release(struct bpf_copies *cc)
{
	for (size_t i = 0; i < cc->n; i++)
		free(cc->v[i].bytes);
	free(cc->v);
	free(cc->pick);
	overlay_reset(cc);
	free(cc->merged);
	u64map_release(&cc->known);
	u64map_release(&cc->slots);
	memset(cc, 0, sizeof(*cc));
}

/* The code cache holds them, trusted until a sweep finds them changed or
 * unused for a period (sampler_bpf_copies_forget then).  Those of a failed
 * sample's frames too: copied in every sample until known, a stack of more
 * new code objects than a sample copies (STROBE_BPF_CODES_PER_SAMPLE) never
 * had its outer ones copied.  Not only those that came with copies: one
 * the program was told to copy again as it went idle, and used again since
 * by samples taken before, is trusted once more, and needs no copy. */
void sampler_bpf_copies_known(struct bpf_copies *cc, const struct u64map *index,
			      const struct bpf_engine_sample *rec, uint32_t n)
{
	for (uint32_t i = 0; i < n && i < rec->nframes; i++) {
		const unsigned char *head = bpf_engine_frame_head(rec, i);
		raddr_t code = rd_u64(head, cc->frame_code) & ~cc->code_mask;
		raddr_t globals = rd_u64(head, cc->frame_globals);
		const uint64_t *g = u64map_get(&cc->known, code);
		if ((g && *g == globals) || !u64map_get(index, code))
			continue; /* known, or no code object (a C stack's frame) */
		if (cc->be && bpf_engine_know_code(cc->be, code, globals) != 0)
			continue;
		/* the program's slot now holds it: a code object that held the
		 * slot is no longer known there (told again when it comes
		 * with a copy) */
		uint64_t slot = strobe_bpf_known_slot(code);
		const uint64_t *held = u64map_get(&cc->slots, slot);
		if (held && *held != code)
			u64map_del(&cc->known, *held);
		u64map_put(&cc->slots, slot, code);
		u64map_put(&cc->known, code, globals);
	}
}

void sampler_bpf_copies_forget(struct bpf_copies *cc, raddr_t code)
{
	if (!u64map_get(&cc->known, code))
		return;
	/* its slot emptied only if it still holds it (not one told since) */
	uint64_t slot = strobe_bpf_known_slot(code);
	const uint64_t *held = u64map_get(&cc->slots, slot);
	if (held && *held == code) {
		if (cc->be)
			bpf_engine_forget_code(cc->be, code);
		u64map_del(&cc->slots, slot);
	}
	u64map_del(&cc->known, code);
}

void sampler_bpf_copies_forgotten(struct bpf_copies *cc)
{
	u64map_clear(&cc->known);
	u64map_clear(&cc->slots);
}

bool sampler_bpf_copies_knows(const struct bpf_copies *cc, raddr_t code)
{
	return u64map_get(&cc->known, code) != NULL;
}
