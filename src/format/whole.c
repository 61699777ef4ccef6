/* whole.c - the one adapter between the stream every format is and the
 * writers that need the whole profile (flamegraph, diff flamegraph,
 * speedscope, pprof): add builds the run's profile, close writes it.
 *
 * The profile is the run's own (req->profile): the samples' string ids are
 * its strings, and it carries the run's figures the writers print. */
#include "format/out.h"

#include "base/buf.h"
#include "model/profile.h"

#include <assert.h>
#include <stdlib.h>

struct whole {
	struct profile *profile;
	int (*write)(const struct profile *p, const struct out_request *req, bool *written);
};

static int whole_open(struct out_stream **st, const struct out_request *req)
{
	/* a FORMAT_WHOLE row, opened with the run's profile */
	assert(req->format && req->format->write && req->profile);
	struct whole *w = xmalloc(sizeof(*w));
	w->profile = req->profile;
	w->write = req->format->write;
	*st = (struct out_stream *)w;
	return 0;
}

static int whole_add(struct out_stream *st, const struct sample *s, const struct strtab *strings)
{
	struct whole *w = (struct whole *)st;
	/* the sample's ids are the profile's own strings */
	assert(strings == &w->profile->strings);
	(void)strings;
	profile_add_sample(w->profile, s);
	return 0;
}

static int whole_close(struct out_stream *st, const struct profile *p,
		       const struct out_request *req, bool *written)
{
	struct whole *w = (struct whole *)st;
	int (*write)(const struct profile *, const struct out_request *, bool *) = w->write;
	free(w);
	*written = false;
	return write(p, req, written);
}

static void whole_abort(struct out_stream *st, const struct out_request *req)
{
	(void)req;
	free(st);
}

const struct out_stream_ops out_whole_stream = {
	.open = whole_open,
	.add = whole_add,
	.close = whole_close,
	.abort = whole_abort,
};
