#include "format/out.h"

#include "base/buf.h"
#include "base/error.h"
#include "model/profile.h"
#include "format/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string.h>

const struct out_format out_formats[] = {
	/* Tachyon prints nothing after writing a pstats file (-o FILE, or
	 * DIR/pstats_<pid>.pstats when -o is a directory), made at the end;
	 * without -o the table goes to stdout */
	{ .name = "pstats", .ext = "pstats", .stream = &out_pstats_stream,
	  .flags = FORMAT_STDOUT | FORMAT_FILE_AT_CLOSE | FORMAT_KEYS_ONLY |
		   FORMAT_CHILD_PROFILE_NAME },
	{ .name = "collapsed", .ext = "txt", .stream = &out_collapsed_stream,
	  .flags = FORMAT_KEYS_ONLY, .written_msg = "Collapsed stack output written to %s" },
	{ .name = "jsonl", .ext = "jsonl", .stream = &out_jsonl_stream,
	  .flags = FORMAT_STATUS | FORMAT_DETAIL | FORMAT_KEYS_ONLY,
	  .written_msg = "JSONL profile written to %s" },
	/* beyond Tachyon: speedscope's JSON, pprof's gzipped profile.proto */
	FORMAT_WHOLE("speedscope", "json", FORMAT_STATUS, out_speedscope_write,
		     "Speedscope profile written to %s"),
	FORMAT_WHOLE("pprof", "pb.gz", FORMAT_STATUS, out_pprof_write,
		     "pprof profile written to %s"),
	/* Tachyon samples every thread's whole status for gecko (its ALL mode) */
	{ .name = "gecko", .ext = "json", .stream = &out_gecko_stream,
	  .flags = FORMAT_STATUS | FORMAT_DETAIL | FORMAT_ALL_STATUS,
	  .written_msg = "Gecko profile written to %s\nOpen in Firefox Profiler: "
			 "https://profiler.firefox.com/" },
	FORMAT_WHOLE("flamegraph", "html", FORMAT_STATUS | FORMAT_DETAIL | FORMAT_HTML,
		     out_flamegraph_write, "Flamegraph saved to: %s"),
	FORMAT_WHOLE("diff_flamegraph", "html", FORMAT_STATUS | FORMAT_DETAIL | FORMAT_HTML,
		     out_diff_flamegraph_write, "Flamegraph saved to: %s"),
	/* a directory: index.html and file_NNNN.html; the writer prints Tachyon's
	 * three "written" lines itself (they hold the number of files) */
	{ .name = "heatmap", .ext = "html", .stream = &out_heatmap_stream,
	  .flags = FORMAT_STATUS | FORMAT_DETAIL | FORMAT_DIR | FORMAT_HTML | FORMAT_KEYS_ONLY },
	/* streamed while sampling (binary_writer.c); its encoding figures are
	 * part of the run's summary */
	{ .name = "binary", .ext = "bin", .stream = &out_binary_stream,
	  .flags = FORMAT_STATUS | FORMAT_SUMMARY, .written_msg = "Binary profile written to %s" },
	{ .name = NULL },
};

const struct out_format *out_format_find(const char *name)
{
	for (const struct out_format *f = out_formats; f->name; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

void out_run_figures_of(const struct profile *p, struct out_run_figures *f)
{
	const struct profile_stats *st = &p->stats;
	f->duration_s = st->duration_s;
	f->samples = st->ticks;
	f->sample_rate = st->duration_s > 0 ? (double)st->ticks / st->duration_s : 0;
	f->error_rate = st->ticks ? (double)st->failed / (double)st->ticks * 100.0 : 0;
	double expected = st->interval_us ? (double)(uint64_t)(st->duration_s * 1e6 /
							  (double)st->interval_us) : 0;
	f->missed_samples = expected > 0 ? (expected - (double)st->ticks) / expected * 100.0 : 0;
	if (st->restored) {
		f->sample_rate = st->sample_rate;
		f->error_rate = st->error_rate;
		f->missed_samples = st->missed_samples;
	}
}

void out_file_policy(const struct out_request *req, struct outfile_policy *pol)
{
	*pol = (struct outfile_policy){ .named = req->named,
					.inputs = { req->input, req->baseline } };
}

void out_file_error(const struct out_request *req, const char *path, const struct errmsg *why)
{
	int e = errno;
	if (req->err)
		errmsg_set(req->err, "cannot write %s: %s", path ? path : "output",
			   why->text[0] ? why->text : strerror(e ? e : EIO));
	errno = e;
}

int out_file_create(struct outfile **of, const struct out_request *req)
{
	struct outfile_policy pol;
	out_file_policy(req, &pol);
	struct errmsg why = { "" };
	int rc = outfile_open(of, req->path, &pol, &why);
	if (rc)
		out_file_error(req, req->path, &why);
	return rc;
}

int out_file_finish(struct outfile *of, const struct out_request *req, bool ok)
{
	struct errmsg why = { "" };
	int rc;
	if (!ok) {
		/* the caller's write failed: its errno is the reason */
		if (errno == 0)
			errno = EIO;
		outfile_discard(of);
		rc = ERR_IO;
	} else {
		rc = of ? outfile_commit(of, &why) : 0;
	}
	if (rc)
		out_file_error(req, req->path, &why);
	return rc;
}

int out_file_open(struct out_file *f, const struct out_request *req)
{
	f->file = NULL;
	f->fp = req->stdout_fp ? req->stdout_fp : stdout;
	if (!req->path)
		return 0;
	f->fp = NULL;
	int rc = out_file_create(&f->file, req);
	if (rc)
		return rc;
	f->fp = outfile_stream(f->file);
	if (!f->fp) {
		out_file_finish(f->file, req, false);
		f->file = NULL;
		return ERR_IO;
	}
	return 0;
}

int out_file_close(struct out_file *f, const struct out_request *req, bool ok, bool *written)
{
	*written = false;
	if (!f->file) {
		if (fflush(f->fp) != 0)
			ok = false;
		return ok ? 0 : ERR_IO;
	}
	int rc = out_file_finish(f->file, req, ok);
	f->file = NULL;
	f->fp = NULL;
	*written = rc == 0;
	return rc;
}

int out_source_read(const struct out_request *req, const char *path, size_t max,
		    enum out_source_text how, char **text, size_t *len, bool *exact,
		    struct out_source_id *id)
{
	bool ignored;
	*text = NULL;
	*len = 0;
	if (!exact)
		exact = &ignored;
	*exact = false;
	if (!req->source || !path || !*path || path[0] == '<')
		return ERR_NOTFOUND;
	return req->source(req->source_ctx, path, max, how, text, len, exact, id);
}
