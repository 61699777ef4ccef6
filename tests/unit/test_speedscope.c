/* test_speedscope.c - the speedscope writer: shared frames, one sampled
 * profile per thread, weights in microseconds. */
#include "harness.h"

#include "base/buf.h"
#include "model/profile.h"
#include "model/sample.h"
#include "format/out.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stackfile.h"

static char *write_speedscope(const struct profile *p)
{
	char path[] = "/tmp/strobe_test_speedscope_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	struct out_request req = { .path = path };
	bool written = false;
	const struct out_format *fmt = out_format_find("speedscope");
	CHECK(fmt != NULL && strcmp(fmt->ext, "json") == 0);
	CHECK_EQ_INT(fmt->write(p, &req, &written), 0);
	CHECK(written);
	size_t len = 0;
	char *got = harness_slurp(path, &len);
	CHECK(got != NULL && strlen(got) == len);
	unlink(path);
	return got;
}

TEST(detail)
{
	/* frames differing in opcode or columns are one speedscope frame;
	 * synthetic frames have a name only; no main thread known: the
	 * busiest (first of equals) is active */
	struct profile p;
	int mode;
	CHECK_EQ_INT(stackfile_load(&p, "detail", &mode), 0);
	char *got = write_speedscope(&p);
	CHECK_STR(got,
		  "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\","
		  "\"exporter\":\"strobe\",\"name\":\"strobe profile\",\"activeProfileIndex\":0,"
		  "\"shared\":{\"frames\":[{\"name\":\"m\",\"file\":\"/a.py\",\"line\":1},"
		  "{\"name\":\"f\",\"file\":\"/a.py\",\"line\":10},{\"name\":\"<GC>\"},"
		  "{\"name\":\"<native>\"}]},\"profiles\":["
		  "{\"type\":\"sampled\",\"name\":\"Thread 1\",\"unit\":\"microseconds\","
		  "\"startValue\":0,\"endValue\":1250,\"samples\":[[0,1],[0,1],[0,1,2],[2,3]],"
		  "\"weights\":[250,500,250,250]},"
		  "{\"type\":\"sampled\",\"name\":\"Thread 2\",\"unit\":\"microseconds\","
		  "\"startValue\":0,\"endValue\":1250,\"samples\":[[0]],\"weights\":[1250]}]}\n");
	free(got);
	profile_release(&p);
}

TEST(unicode)
{
	/* UTF-8 kept, controls escaped, encoded lone surrogates as U+FFFD
	 * (three malformed parts each) */
	struct profile p;
	int mode;
	CHECK_EQ_INT(stackfile_load(&p, "unicode", &mode), 0);
	char *got = write_speedscope(&p);
	CHECK(strstr(got, "{\"name\":\"caf\xc3\xa9.\xce\xbb\",\"file\":\"/app/\xc3\xbcn\xc3\xaf.py\",\"line\":3}"));
	CHECK(strstr(got, "{\"name\":\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx\xef\xbf\xbd\xef\xbf\xbd"
			  "\xef\xbf\xbd\",\"file\":\"/app/\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd.py\",\"line\":8}"));
	CHECK(strstr(got, "{\"name\":\"del\x7f\\u0001\\u001f\\b\\f\\r\",\"file\":\"/app/nl\\n.py\",\"line\":6}"));
	CHECK(strstr(got, "\"samples\":[[0,1,2,3,4,5,6]]"));
	free(got);
	profile_release(&p);
}

TEST(main_thread_and_no_interval)
{
	/* the main thread's profile is active; interpreter named; no
	 * interval: plain counts */
	struct profile p;
	profile_init(&p);
	struct sample s;
	sample_init(&s);
	uint32_t file = strtab_intern_cstr(&p.strings, "/x.py");
	uint32_t func = strtab_intern_cstr(&p.strings, "w");
	for (int i = 0; i < 3; i++) {
		sample_clear(&s);
		uint64_t tids[] = { 7, 5 };
		for (int t = 0; t < 2; t++) {
			struct thread_sample *ts = sample_add_thread(&s);
			ts->tid = tids[t];
			ts->interp_id = (uint32_t)t * 2;
			ts->status = t == 1 ? STATUS_MAIN_THREAD | STATUS_HAS_GIL : STATUS_HAS_GIL;
			struct frame *f = sample_reserve_frames(&s, 1);
			*f = (struct frame){ .file = file, .func = func, .line = 3 + t, .end_line = -1,
					     .col = -1, .end_col = -1, .opcode = FRAME_NO_OPCODE };
			s.nframes++;
			ts->depth = 1;
		}
		profile_add_sample(&p, &s);
	}
	char *got = write_speedscope(&p);
	CHECK(strstr(got, "\"activeProfileIndex\":1,"));
	CHECK(strstr(got, "{\"type\":\"sampled\",\"name\":\"Thread 7\",\"unit\":\"none\","
			  "\"startValue\":0,\"endValue\":3,\"samples\":[[0]],\"weights\":[3]}"));
	CHECK(strstr(got, "\"name\":\"Thread 5 (interpreter 2) (main)\""));
	free(got);
	sample_release(&s);
	profile_release(&p);
}

TEST(empty_and_errors)
{
	struct profile p;
	profile_init(&p);
	p.stats.interval_us = 1000;
	char *got = write_speedscope(&p);
	CHECK_STR(got, "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\","
		  "\"exporter\":\"strobe\",\"name\":\"strobe profile\",\"activeProfileIndex\":0,"
		  "\"shared\":{\"frames\":[]},\"profiles\":[]}\n");
	free(got);
	struct out_request req = { .path = "/nonexistent-dir/x.json" };
	bool written = true;
	CHECK(out_format_find("speedscope")->write(&p, &req, &written) < 0);
	CHECK(!written);
	profile_release(&p);
}

int main(void)
{
	RUN(detail);
	RUN(unicode);
	RUN(main_thread_and_no_interval);
	RUN(empty_and_errors);
	return harness_done();
}
