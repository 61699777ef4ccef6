#include "model/sample.h"

#include "base/buf.h"

#include <stdlib.h>
#include <string.h>

void sample_init(struct sample *s)
{
	memset(s, 0, sizeof(*s));
}

void sample_release(struct sample *s)
{
	free(s->threads);
	free(s->frames);
	memset(s, 0, sizeof(*s));
}

struct thread_sample *sample_add_thread(struct sample *s)
{
	VEC_RESERVE(s->threads, s->threads_cap, s->nthreads + 1);
	struct thread_sample *t = &s->threads[s->nthreads++];
	memset(t, 0, sizeof(*t));
	t->first = (uint32_t)s->nframes;
	return t;
}

