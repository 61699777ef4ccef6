/* record_snapshot PID OUT - record what the walker reads of a CPython
 * process into a snapshot file (src/py/snapshot.h) for the offline walker
 * tests (tests/fixtures/memory/, tools/record_fixtures.sh).
 *
 * The target's threads are held with ptrace for the whole recording, so
 * the memory does not change under it.  Through a recording memory source
 * (process/mem.h) it repeats the layout step of the runtime (3.13+ reads
 * _Py_DebugOffsets) and takes PY_WALKS walks with the real walker, every
 * thread, <GC> and <native> frames on.  Only the ranges read are kept.
 * Before writing, the snapshot is replayed in this process with a new
 * walker, and it must give the very text the live walks gave: a snapshot
 * that does not replay is never written.  Every live walk must succeed.
 *
 * Built by the Makefile from strobe's library objects (build/tools/).
 * Exit status 0 written, 1 anything else (one line on stderr says what).
 */
#include "base/buf.h"
#include "base/error.h"
#include "base/intern.h"
#include "model/sample.h"
#include "py/open.h"
#include "py/runtime.h"
#include "py/snapshot.h"
#include "py/walk.h"
#include "format/outfile.h"
#include "process/mem.h"
#include "process/ptrace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Two walks: the second starts from what the first left (speculative
 * reads at last walk's addresses, the code cache, the frame memo). */
#define PY_WALKS 2

/* Through strobe's one safe writer (format/outfile.h): a planted link or a
 * special file at path is refused as for any output, and the file appears
 * whole or not at all. */
static int write_file(const char *path, const struct buf *b)
{
	struct outfile_policy pol = { .named = true };
	struct outfile *of;
	if (outfile_open(&of, path, &pol, NULL) != 0)
		return -1;
	FILE *f = outfile_stream(of);
	if (!f || fwrite(b->data ? b->data : "", 1, b->len, f) != b->len) {
		outfile_discard(of);
		return -1;
	}
	return outfile_commit(of, NULL) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: record_snapshot PID OUT\n");
		return 1;
	}
	char *end;
	long pid = strtol(argv[1], &end, 10);
	if (*end || pid <= 0 || pid > INT32_MAX) {
		fprintf(stderr, "record_snapshot: bad pid '%s'\n", argv[1]);
		return 1;
	}
	struct mem_source mem;
	struct py_runtime rt;
	struct errmsg e = { "" };
	int rc = py_open((pid_t)pid, &mem, &rt, &e);
	if (rc) {
		fprintf(stderr, "record_snapshot: %ld: %s %s\n", pid, err_str(rc), e.text);
		return 1;
	}
	int status = 1;
	struct py_snapshot snap;
	memset(&snap, 0, sizeof(snap));
	mem_snapshot_init(&snap.mem);
	snap.flags = PY_SNAP_ALL_THREADS | PY_SNAP_GC | PY_SNAP_NATIVE;
	snap.walks = PY_WALKS;
	struct buf live = BUF_INIT, again = BUF_INIT, file = BUF_INIT;
	struct strtab strings;
	strtab_init(&strings);
	struct sample smp;
	sample_init(&smp);
	struct ptrace_pause pp;
	ptrace_pause_init(&pp);

	rc = ptrace_pause_all(&pp, (pid_t)pid);
	if (rc) {
		fprintf(stderr, "record_snapshot: cannot stop %ld: %s\n", pid, err_str(rc));
		goto out;
	}
	mem_snapshot_record(&mem, &snap.mem);
	int lrc = py_runtime_layout(&rt, &mem, &e);
	int failed = 0;
	if (lrc == 0) {
		struct py_walk_config cfg;
		py_snapshot_walk_config(snap.flags, &cfg);
		struct py_walker w;
		py_walker_init(&w, &rt, &mem, &strings, &cfg);
		for (unsigned k = 1; k <= PY_WALKS; k++) {
			int wrc = py_walker_sample(&w, &smp);
			failed |= wrc != 0;
			py_snapshot_describe(&live, k, wrc, (int)w.fail, &smp, &strings);
		}
		py_walker_release(&w);
	}
	mem_snapshot_seal(&mem, &snap.mem);
	ptrace_resume_all(&pp);
	if (lrc) {
		fprintf(stderr, "record_snapshot: layout: %s %s\n", err_str(lrc), e.text);
		goto out;
	}
	fputs(live.data ? live.data : "", stdout);
	if (failed) {
		fprintf(stderr, "record_snapshot: a live walk failed; nothing written\n");
		goto out;
	}
	if (snap.mem.overflow) {
		fprintf(stderr, "record_snapshot: more than %u bytes read; nothing written\n",
			MEM_SNAPSHOT_MAX);
		goto out;
	}
	snap.pid = (pid_t)pid;
	snap.major = rt.major;
	snap.minor = rt.minor;
	snap.micro = rt.micro;
	snap.version_hex = rt.version_hex;
	snap.runtime_addr = rt.runtime_addr;
	snap.code_type_addr = rt.code_type_addr;
	snap.none_addr = rt.none_addr;
	snap.expected = live.data;
	snap.expected_len = live.len;

	rc = py_snapshot_replay(&snap, &again, &e);
	if (rc || again.len != live.len || memcmp(again.data, live.data, live.len) != 0) {
		fprintf(stderr, "record_snapshot: the snapshot does not replay as the live walks (%s %s):\n%s",
			err_str(rc), e.text, again.data ? again.data : "");
		goto out;
	}
	py_snapshot_write(&file, &snap);
	if (write_file(argv[2], &file) != 0) {
		fprintf(stderr, "record_snapshot: cannot write %s: %s\n", argv[2], strerror(errno));
		goto out;
	}
	char v[32];
	fprintf(stderr, "record_snapshot: %s: Python %s, %zu ranges, %zu bytes\n", argv[2],
		py_runtime_version_str(&rt, v, sizeof(v)), snap.mem.n, snap.mem.total);
	status = 0;
out:
	ptrace_pause_release(&pp);
	sample_release(&smp);
	strtab_release(&strings);
	buf_release(&file);
	buf_release(&again);
	buf_release(&live);
	mem_snapshot_release(&snap.mem);
	mem_close(&mem);
	return status;
}
