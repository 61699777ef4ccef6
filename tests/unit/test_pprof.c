/* test_pprof.c - the pprof writer: the gzip stream inflates and the
 * profile.proto message decodes (a minimal decoder here) to the profile. */
#include "harness.h"

#include "base/buf.h"
#include "model/profile.h"
#include "format/out.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "stackfile.h"

/* ---- a minimal protobuf reader ---- */

struct msg {
	const unsigned char *p, *end;
};

static int get_varint(struct msg *m, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64 && m->p < m->end; shift += 7) {
		unsigned char c = *m->p++;
		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return 0;
	}
	return -1;
}

/* Next field: 1 and its number; varints in *v, bytes in *sub; 0 at the
 * end; -1 when malformed. */
static int next(struct msg *m, unsigned *field, uint64_t *v, struct msg *sub)
{
	if (m->p >= m->end)
		return 0;
	uint64_t key;
	if (get_varint(m, &key))
		return -1;
	*field = (unsigned)(key >> 3);
	switch (key & 7) {
	case 0:
		return get_varint(m, v) ? -1 : 1;
	case 2:
		if (get_varint(m, v) || *v > (uint64_t)(m->end - m->p))
			return -1;
		sub->p = m->p;
		sub->end = m->p + *v;
		m->p += *v;
		return 1;
	default:
		return -1;
	}
}

#define MAXN 4096

struct decoded {
	char *strings[MAXN];
	size_t nstrings;
	uint64_t types[4][2];
	size_t ntypes;
	uint64_t total[2];           /* sums of the sample values */
	size_t nsamples, nlocs, nfuncs;
	uint64_t loc_func[MAXN], loc_line[MAXN]; /* by location id */
	uint64_t fn_name[MAXN], fn_file[MAXN], fn_start[MAXN]; /* by function id */
	uint64_t first_leaf_loc;     /* leaf of the first sample */
	uint64_t tid_key, tid_num;   /* label of the first sample */
	uint64_t period, period_type[2];
	uint64_t duration;
	int bad_refs;
};

static void decode(const unsigned char *data, size_t len, struct decoded *d)
{
	memset(d, 0, sizeof(*d));
	struct msg m = { data, data + len }, sub, sub2, sub3;
	unsigned f, g, h;
	uint64_t v, w, x;
	int r;
	while ((r = next(&m, &f, &v, &sub)) == 1) {
		switch (f) {
		case 1: /* sample_type */
			while (next(&sub, &g, &w, &sub2) == 1)
				d->types[d->ntypes][g - 1] = w;
			d->ntypes++;
			break;
		case 2: { /* sample */
			int k = 0;
			while (next(&sub, &g, &w, &sub2) == 1) {
				if (g == 1) {
					uint64_t id;
					bool first = true;
					while (sub2.p < sub2.end && !get_varint(&sub2, &id)) {
						if (first && d->nsamples == 0)
							d->first_leaf_loc = id;
						first = false;
					}
				} else if (g == 2) {
					while (sub2.p < sub2.end && !get_varint(&sub2, &x))
						d->total[k++] += x;
				} else if (g == 3 && d->nsamples == 0) {
					while (next(&sub2, &h, &x, &sub3) == 1) {
						if (h == 1)
							d->tid_key = x;
						if (h == 3)
							d->tid_num = x;
					}
				}
			}
			d->nsamples++;
			break;
		}
		case 4: { /* location */
			uint64_t id = 0, fn = 0, line = 0;
			while (next(&sub, &g, &w, &sub2) == 1) {
				if (g == 1)
					id = w;
				if (g == 4)
					while (next(&sub2, &h, &x, &sub3) == 1) {
						if (h == 1)
							fn = x;
						if (h == 2)
							line = x;
					}
			}
			if (id && id < MAXN) {
				d->loc_func[id] = fn;
				d->loc_line[id] = line;
			}
			d->nlocs++;
			break;
		}
		case 5: { /* function */
			uint64_t id = 0, vals[6] = { 0 };
			while (next(&sub, &g, &w, &sub2) == 1)
				if (g < 6)
					vals[g] = w;
			id = vals[1];
			if (id && id < MAXN) {
				d->fn_name[id] = vals[2];
				d->fn_file[id] = vals[4];
				d->fn_start[id] = vals[5];
			}
			d->nfuncs++;
			break;
		}
		case 6:
			if (d->nstrings < MAXN) {
				char *s = malloc(v + 1);
				memcpy(s, sub.p, v);
				s[v] = '\0';
				d->strings[d->nstrings++] = s;
			}
			break;
		case 10:
			d->duration = v;
			break;
		case 11:
			while (next(&sub, &g, &w, &sub2) == 1)
				d->period_type[g - 1] = w;
			break;
		case 12:
			d->period = v;
			break;
		default:
			break;
		}
	}
	CHECK_EQ_INT(r, 0);
	for (size_t i = 1; i <= d->nlocs; i++)
		if (!d->loc_func[i] || d->loc_func[i] > d->nfuncs)
			d->bad_refs++;
	for (size_t i = 1; i <= d->nfuncs; i++)
		if (d->fn_name[i] >= d->nstrings || d->fn_file[i] >= d->nstrings)
			d->bad_refs++;
}

static void release(struct decoded *d)
{
	for (size_t i = 0; i < d->nstrings; i++)
		free(d->strings[i]);
}

static const char *str(const struct decoded *d, uint64_t i)
{
	return i < d->nstrings ? d->strings[i] : "(bad index)";
}

/* Write p as pprof, inflate, decode. */
static void write_pprof(const struct profile *p, int mode, struct decoded *d)
{
	char path[] = "/tmp/strobe_test_pprof_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	struct out_request req = { .path = path, .mode = mode };
	bool written = false;
	const struct out_format *fmt = out_format_find("pprof");
	CHECK(fmt != NULL && strcmp(fmt->ext, "pb.gz") == 0);
	CHECK_EQ_INT(fmt->write(p, &req, &written), 0);
	CHECK(written);
	size_t len = 0;
	char *gz = harness_slurp(path, &len);
	unlink(path);
	CHECK(len > 18 && (unsigned char)gz[0] == 0x1f && (unsigned char)gz[1] == 0x8b);
	struct buf raw = BUF_INIT;
	z_stream z;
	memset(&z, 0, sizeof(z));
	CHECK_EQ_INT(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (unsigned char *)gz;
	z.avail_in = (uInt)len;
	int zr;
	do {
		unsigned char out[4096];
		z.next_out = out;
		z.avail_out = sizeof(out);
		zr = inflate(&z, Z_NO_FLUSH);
		buf_append(&raw, out, sizeof(out) - z.avail_out);
	} while (zr == Z_OK);
	CHECK_EQ_INT(zr, Z_STREAM_END);
	CHECK_EQ_INT(z.avail_in, 0);
	inflateEnd(&z);
	decode((const unsigned char *)(raw.data ? raw.data : ""), raw.len, d);
	buf_release(&raw);
	free(gz);
}

/* the function id whose name is name */
static uint64_t func_named(const struct decoded *d, const char *name)
{
	for (size_t i = 1; i <= d->nfuncs; i++)
		if (strcmp(str(d, d->fn_name[i]), name) == 0)
			return i;
	return 0;
}

TEST(detail)
{
	struct profile p;
	int mode;
	CHECK_EQ_INT(stackfile_load(&p, "detail", &mode), 0);
	p.stats.duration_s = 1.5;
	struct decoded d;
	write_pprof(&p, mode, &d);
	CHECK_STR(str(&d, 0), "");
	CHECK_EQ_INT(d.ntypes, 2);
	CHECK_STR(str(&d, d.types[0][0]), "samples");
	CHECK_STR(str(&d, d.types[0][1]), "count");
	CHECK_STR(str(&d, d.types[1][0]), "cpu"); /* mode 1 */
	CHECK_STR(str(&d, d.types[1][1]), "nanoseconds");
	CHECK_EQ_INT(d.total[0], 10);
	CHECK_EQ_INT(d.total[1], 10 * 250000);
	CHECK_EQ_INT(d.nsamples, 5);
	CHECK_EQ_INT(d.period, 250000);
	CHECK_STR(str(&d, d.period_type[0]), "cpu");
	CHECK_EQ_INT(d.duration, 1500000000);
	CHECK_EQ_INT(d.bad_refs, 0);
	/* (file, func, line) locations: f:10 once whatever its opcode */
	CHECK_EQ_INT(d.nlocs, 4);  /* m:1 f:10 <GC> <native> */
	CHECK_EQ_INT(d.nfuncs, 4);
	uint64_t f = func_named(&d, "f"), m = func_named(&d, "m"), gc = func_named(&d, "<GC>");
	CHECK(f && m && gc);
	CHECK_STR(str(&d, d.fn_file[f]), "/a.py");
	CHECK_EQ_INT(d.fn_start[f], 10);
	CHECK_EQ_INT(d.fn_start[m], 1);
	CHECK_STR(str(&d, d.fn_file[gc]), ""); /* synthetic: no file */
	/* first sample: leaf f at line 10, thread 1 */
	CHECK_EQ_INT(d.loc_func[d.first_leaf_loc], f);
	CHECK_EQ_INT(d.loc_line[d.first_leaf_loc], 10);
	CHECK_STR(str(&d, d.tid_key), "thread_id");
	CHECK_EQ_INT(d.tid_num, 1);
	release(&d);
	profile_release(&p);
}

TEST(unicode_strict_utf8)
{
	struct profile p;
	int mode;
	CHECK_EQ_INT(stackfile_load(&p, "unicode", &mode), 0);
	struct decoded d;
	write_pprof(&p, 0, &d);
	CHECK_STR(str(&d, d.types[1][0]), "wall");
	CHECK(func_named(&d, "caf\xc3\xa9.\xce\xbb"));
	/* lone surrogates, encoded: three malformed parts each */
	CHECK(func_named(&d, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"));
	uint64_t e = func_named(&d, "");
	CHECK(e && d.fn_start[e] == 7);
	CHECK_EQ_INT(d.bad_refs, 0);
	release(&d);
	profile_release(&p);
}

TEST(chunks)
{
	struct profile p;
	int mode;
	CHECK_EQ_INT(stackfile_load(&p, "chunks", &mode), 0);
	struct decoded d;
	write_pprof(&p, mode, &d);
	CHECK_EQ_INT(d.nsamples, 300);
	CHECK_EQ_INT(d.total[0], 600);
	CHECK_EQ_INT(d.nlocs, 301);
	CHECK_EQ_INT(d.nfuncs, 301);
	CHECK_EQ_INT(d.bad_refs, 0);
	release(&d);
	profile_release(&p);
}

TEST(empty_and_errors)
{
	struct profile p;
	profile_init(&p);
	struct decoded d;
	write_pprof(&p, 0, &d);
	CHECK_EQ_INT(d.nsamples, 0);
	CHECK_EQ_INT(d.ntypes, 2);
	CHECK_STR(str(&d, 0), "");
	release(&d);
	struct out_request req = { .path = "/nonexistent-dir/x.pb.gz" };
	bool written = true;
	CHECK(out_format_find("pprof")->write(&p, &req, &written) < 0);
	CHECK(!written);
	profile_release(&p);
}

int main(void)
{
	RUN(detail);
	RUN(unicode_strict_utf8);
	RUN(chunks);
	RUN(empty_and_errors);
	return harness_done();
}
