#include "py/snapshot.h"

#include "base/buf.h"
#include "base/error.h"
#include "base/intern.h"
#include "model/sample.h"
#include "py/fail.h"
#include "py/runtime.h"
#include "py/walk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char magic[8] = { 'S', 'T', 'R', 'B', 'S', 'N', 'A', 'P' };

static uint32_t get32(const unsigned char *p)
{
	return rd_u32(p, 0);
}

int py_snapshot_parse(struct py_snapshot *s, const void *data, size_t len)
{
	const unsigned char *p = data;
	memset(s, 0, sizeof(*s));
	mem_snapshot_init(&s->mem);
	if (len < PY_SNAPSHOT_HEADER || memcmp(p, magic, sizeof(magic)) != 0 ||
	    get32(p + 8) != PY_SNAPSHOT_FORMAT)
		return ERR_INVAL;
	uint32_t pid = get32(p + 12);
	s->major = rd_i32(p, 16);
	s->minor = rd_i32(p, 20);
	s->micro = rd_i32(p, 24);
	s->version_hex = get32(p + 28);
	s->runtime_addr = rd_u64(p, 32);
	s->code_type_addr = rd_u64(p, 40);
	s->none_addr = rd_u64(p, 48);
	uint32_t nranges = get32(p + 56), text = get32(p + 60);
	s->flags = get32(p + 64);
	s->walks = get32(p + 68);
	/* the version picks a layout table later; here only its range */
	if (pid == 0 || pid > INT32_MAX || s->major != 3 || s->minor < 0 || s->minor > 99 ||
	    s->micro < -1 || s->micro > 99 || nranges > PY_SNAPSHOT_MAX_RANGES ||
	    text > PY_SNAPSHOT_MAX_TEXT || (s->flags & ~(uint32_t)PY_SNAP_KNOWN) || s->walks == 0 ||
	    s->walks > PY_SNAPSHOT_MAX_WALKS)
		goto bad;
	s->pid = (pid_t)pid;
	size_t at = PY_SNAPSHOT_HEADER;
	for (uint32_t i = 0; i < nranges; i++) {
		if (len - at < 12)
			goto bad;
		raddr_t addr = rd_u64(p, at);
		uint32_t n = get32(p + at + 8);
		at += 12;
		if (n > len - at || mem_snapshot_add(&s->mem, addr, p + at, n) != 0)
			goto bad;
		at += n;
	}
	if (len - at != text)
		goto bad;
	s->expected = (const char *)p + at;
	s->expected_len = text;
	return 0;
bad:
	py_snapshot_release(s);
	return ERR_INVAL;
}

void py_snapshot_release(struct py_snapshot *s)
{
	mem_snapshot_release(&s->mem);
	memset(s, 0, sizeof(*s));
}

static void put32(struct buf *b, uint32_t v)
{
	buf_append(b, &v, 4);
}

static void put64(struct buf *b, uint64_t v)
{
	buf_append(b, &v, 8);
}

void py_snapshot_write(struct buf *out, const struct py_snapshot *s)
{
	buf_append(out, magic, sizeof(magic));
	put32(out, PY_SNAPSHOT_FORMAT);
	put32(out, (uint32_t)s->pid);
	put32(out, (uint32_t)s->major);
	put32(out, (uint32_t)s->minor);
	put32(out, (uint32_t)s->micro);
	put32(out, s->version_hex);
	put64(out, s->runtime_addr);
	put64(out, s->code_type_addr);
	put64(out, s->none_addr);
	put32(out, (uint32_t)s->mem.n);
	put32(out, (uint32_t)s->expected_len);
	put32(out, s->flags);
	put32(out, s->walks);
	for (size_t i = 0; i < s->mem.n; i++) {
		const struct mem_range *r = &s->mem.v[i];
		put64(out, r->addr);
		put32(out, (uint32_t)r->len);
		buf_append(out, r->bytes, r->len);
	}
	buf_append(out, s->expected, s->expected_len);
}

void py_snapshot_walk_config(uint32_t flags, struct py_walk_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->all_threads = flags & PY_SNAP_ALL_THREADS;
	cfg->mode = PY_MODE_WALL;
	cfg->gc = flags & PY_SNAP_GC;
	cfg->native = flags & PY_SNAP_NATIVE;
}

/* A name from the target, on one line of the text. */
static void put_name(struct buf *out, const struct strtab *strings, uint32_t id)
{
	size_t n = 0;
	const char *p = strtab_get(strings, id, &n);
	if (!p) {
		buf_puts(out, "?");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c < 0x20 || c == 0x7f || c == '\\')
			buf_printf(out, "\\x%02x", c);
		else
			buf_putc(out, (char)c);
	}
}

void py_snapshot_describe(struct buf *out, unsigned k, int rc, int fail, const struct sample *smp,
			  const struct strtab *strings)
{
	if (rc == ERR_NOTREADY) {
		buf_printf(out, "walk %u: not ready\n", k);
		return;
	}
	if (rc == ERR_NOPROC) {
		buf_printf(out, "walk %u: gone\n", k);
		return;
	}
	if (rc) {
		buf_printf(out, "walk %u: failed: %s\n", k,
			   py_fail_str(fail > PY_FAIL_NONE && fail < PY_NFAIL ? (enum py_fail)fail
									  : PY_FAIL_OTHER));
		return;
	}
	buf_printf(out, "walk %u: ok, %zu threads\n", k, smp->nthreads);
	for (size_t i = 0; i < smp->nthreads; i++) {
		const struct thread_sample *t = &smp->threads[i];
		buf_printf(out, "thread tid=%llu interp=%u status=0x%x frames=%u\n",
			   (unsigned long long)t->tid, t->interp_id, t->status, t->depth);
		for (uint32_t j = 0; j < t->depth && (size_t)t->first + j < smp->nframes; j++) {
			const struct frame *f = &smp->frames[t->first + j];
			buf_puts(out, "  ");
			put_name(out, strings, f->func);
			buf_putc(out, ' ');
			put_name(out, strings, f->file);
			buf_printf(out, ":%d end=%d col=%d-%d\n", (int)f->line, (int)f->end_line,
				   (int)f->col, (int)f->end_col);
		}
	}
}

int py_snapshot_replay(const struct py_snapshot *s, struct buf *out, struct errmsg *e)
{
	struct py_runtime rt;
	memset(&rt, 0, sizeof(rt));
	rt.pid = s->pid;
	rt.major = s->major;
	rt.minor = s->minor;
	rt.micro = s->micro;
	rt.version_hex = s->version_hex;
	rt.runtime_addr = s->runtime_addr;
	rt.code_type_addr = s->code_type_addr;
	rt.none_addr = s->none_addr;
	snprintf(rt.binary, sizeof(rt.binary), "(snapshot)");
	/* a view of the ranges: the snapshot backend only reads them */
	struct mem_snapshot view = s->mem;
	view.recording = false;
	struct mem_source mem;
	mem_snapshot_source(&mem, &view, s->pid);
	int rc = py_runtime_layout(&rt, &mem, e);
	if (rc)
		return rc;
	struct strtab strings;
	strtab_init(&strings);
	struct py_walk_config cfg;
	py_snapshot_walk_config(s->flags, &cfg);
	struct py_walker w;
	py_walker_init(&w, &rt, &mem, &strings, &cfg);
	struct sample smp;
	sample_init(&smp);
	for (uint32_t k = 1; k <= s->walks && k <= PY_SNAPSHOT_MAX_WALKS; k++) {
		int wrc = py_walker_sample(&w, &smp);
		py_snapshot_describe(out, k, wrc, (int)w.fail, &smp, &strings);
	}
	sample_release(&smp);
	py_walker_release(&w);
	strtab_release(&strings);
	return 0;
}
