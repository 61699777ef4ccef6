/* replay.c - strobe replay FILE: convert a binary profile (strobe's or
 * Tachyon's) to any other format, with Tachyon's messages. */
#include "cmd/cmd.h"

#include "base/error.h"
#include "cli.h"
#include "model/profile.h"
#include "model/sample.h"
#include "format/binary.h"
#include "format/out.h"
#include "profiling/profiling.h"
#include "process/rootfs.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROGRESS_CELLS 40

struct replay_ctx {
	struct profiling_output *out;
	bool progress;        /* draw the bar (stderr is a terminal) */
	bool drawn;
	uint64_t count;       /* samples replayed, empty stacks included */
};

static int replay_add(void *arg, const struct sample *s)
{
	struct replay_ctx *c = arg;
	c->count++;
	return profiling_output_add(c->out, s);
}

/* Tachyon's bar: "\r  [████░░░░] 42.0% (cur/total)", here on stderr so that
 * stdout keeps only the results. */
static void replay_progress(void *arg, uint64_t done, uint64_t total)
{
	struct replay_ctx *c = arg;
	if (!c->progress || total == 0)
		return;
	double frac = (double)done / (double)total;
	if (frac > 1)
		frac = 1;
	int filled = (int)(PROGRESS_CELLS * frac);
	fputs("\r  [", stderr);
	for (int i = 0; i < PROGRESS_CELLS; i++)
		fputs(i < filled ? "\u2588" : "\u2591", stderr);
	fprintf(stderr, "] %5.1f%% (%llu/%llu)", frac * 100.0, (unsigned long long)done,
		(unsigned long long)total);
	fflush(stderr);
	c->drawn = true;
}

/* Tachyon accepts either byte order of the magic ("HCAT" on little-endian
 * disks) and needs at least a whole header. */
static bool looks_binary(const char *path)
{
	unsigned char head[64];
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	size_t n = fread(head, 1, sizeof(head), f);
	fclose(f);
	return n == sizeof(head) && (memcmp(head, "HCAT", 4) == 0 || memcmp(head, "TACH", 4) == 0);
}

/* Large tables (a million frames or edges) grow by realloc.  glibc raises
 * its mmap threshold each time a large block is freed, after which such
 * tables live in the heap, where growing copies them and leaves the old
 * blocks resident; a fixed threshold keeps them mapped: growing remaps
 * without copying, pages never written are never resident, and a freed
 * table goes back to the system. */
#define REPLAY_MMAP_THRESHOLD (256 << 10)

/* The recorded process's pid, for default output names: the binary format
 * keeps none, but a recording's default name does (binary_<pid>.bin, and
 * any NAME_<pid>.EXT).  0 when the name has none. */
static pid_t recorded_pid(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	const char *dot = strrchr(base, '.');
	const char *end = dot && dot > base ? dot : base + strlen(base);
	const char *digits = end;
	while (digits > base && digits[-1] >= '0' && digits[-1] <= '9')
		digits--;
	if (digits == end || end - digits > 9 || digits == base || digits[-1] != '_')
		return 0;
	long v = strtol(digits, NULL, 10);
	return v > 0 ? (pid_t)v : 0;
}

int cmd_replay(const struct options *o)
{
	mallopt(M_MMAP_THRESHOLD, REPLAY_MMAP_THRESHOLD);
	struct stat st;
	if (stat(o->input, &st) != 0)
		die("Error: Input file not found: %s", o->input);
	if (!looks_binary(o->input))
		die("Error: Input file is not a binary sampling profile. The replay command only "
		    "accepts files created with --binary");

	struct errmsg e = { "" };
	struct binary_reader *r;
	int rc = binary_reader_open(&r, o->input, &e);
	if (rc)
		die("Error: %s", e.text[0] ? e.text : err_str(rc));
	const struct binary_info *info = binary_reader_info(r);

	printf("Replaying %llu samples from %s\n", (unsigned long long)info->sample_count, o->input);
	printf("  Sample interval: %llu us\n", (unsigned long long)info->interval_us);
	printf("  Compression: %s\n", info->compression == BINARY_COMPRESSION_ZSTD ? "zstd" : "none");
	fflush(stdout);
	profiling_check_baseline(o);

	const struct out_format *fmt = out_format_find(o->format);
	struct profile prof;
	profile_init(&prof);
	if (fmt && (fmt->flags & FORMAT_DETAIL))
		profile_keep_detail(&prof);
	/* default names use the recorded process's pid when the recording's
	 * name tells it (Tachyon uses the replaying process's); opcodes are
	 * named with the recording Python's tables */
	/* no target to ask: sources come from the host, read with the
	 * credentials of the recording's owner, who shows no more through it
	 * than they could read themselves.  A recording of root's was made by
	 * a strobe run as root, but the names in it are the target's, which
	 * may be anyone's: they are read as nobody (what everyone may read) */
	uid_t src_uid = info->owner_uid ? info->owner_uid : ROOTFS_NOBODY;
	gid_t src_gid = info->owner_uid ? info->owner_gid : ROOTFS_NOBODY;
	struct rootfs rootfs;
	bool have_rootfs = rootfs_open_host(&rootfs, src_uid, src_gid) == 0;
	struct profiling_target co = { .rootfs = have_rootfs ? &rootfs : NULL, .py_major = info->py_major,
				 .py_minor = info->py_minor, .py_micro = info->py_micro,
				 .mode = info->mode, .replay = true, .features = info->features };
	struct profiling_output out;
	pid_t pid = recorded_pid(o->input);
	profiling_output_open(&out, o, pid ? pid : getpid(), &co, &prof, NULL);
	if (out.fmt->flags & FORMAT_KEYS_ONLY)
		binary_reader_keys_only(r);
	struct replay_ctx ctx = { &out, isatty(STDERR_FILENO) != 0, false, 0 };
	rc = binary_reader_replay(r, &prof.strings, replay_add, replay_progress, &ctx, &e);
	if (ctx.drawn)
		fputc('\n', stderr);
	if (rc) {
		/* Tachyon writes nothing for a file it cannot replay, and
		 * neither does strobe: the output is never renamed into place,
		 * a file already there stays as it was */
		profiling_output_abort(&out);
		binary_reader_close(r);
		profile_release(&prof);
		die("Error: %s", e.text[0] ? e.text : err_str(rc));
	}

	/* the run's own figures, restored from the file */
	prof.stats.interval_us = info->interval_us;
	prof.stats.ticks = info->sample_count;
	/* -1 when the file does not say: Tachyon leaves it out (JSONL meta) */
	prof.stats.mode = info->mode;
	if (info->has_stats) {
		prof.stats.duration_s = info->stats.duration_s;
		prof.stats.restored = true;
		prof.stats.sample_rate = info->stats.sample_rate;
		prof.stats.error_rate = info->has_stats && info->stats.have_error_rate
						? info->stats.error_rate : 0;
		prof.stats.missed_samples = info->stats.have_missed_samples
						    ? info->stats.missed_samples : 0;
	}
	uint64_t count = ctx.count;

	/* a stream's frames may be the reader's (key_frames) until it is
	 * closed; the whole profile copied them, and the reader's tables go
	 * before it is written */
	bool keep_reader = !(out.fmt->flags & FORMAT_WHOLE_PROFILE);
	if (!keep_reader)
		binary_reader_close(r);
	int status = profiling_output_close(&out, &prof, NULL);
	if (keep_reader)
		binary_reader_close(r);
	if (status == 0)
		printf("Replayed %llu samples\n", (unsigned long long)count);
	profile_release(&prof);
	rootfs_release(&rootfs);
	return status;
}
