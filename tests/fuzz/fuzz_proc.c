/* fuzz_proc.c - libFuzzer target: the /proc text parsers, on arbitrary
 * bytes.  A target chooses much of what these files say: its command name
 * (prctl(PR_SET_NAME) allows ')', spaces and newlines) and the names of the
 * files it maps.
 *
 * Every input goes through all three parsers, as if it were each file:
 *  - /proc/PID/maps: split into lines as maps_read does (getline: a line
 *    ends after '\n', the last one may have none; a NUL inside ends the C
 *    string maps_parse_line sees), each parsed, then maps_find;
 *  - /proc/PID/stat: task_stat_parse on the bytes as read (no NUL);
 *  - /proc/PID/status: task_status_parse, task_parse_nspid (the NSpid:
 *    line) and rootfs_parse_status (file-system credentials) likewise.
 * libFuzzer's buffer is exactly the input, so a parser reading past len is
 * a heap overflow; the invariants of the headers are checked (abort).
 *
 * Built and run by tests/fuzz/run.sh; seeds in tests/fuzz/corpus/proc.
 */
#include "base/buf.h"
#include "base/error.h"
#include "process/maps.h"
#include "process/rootfs.h"
#include "process/task.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_entry(const struct map_entry *e, size_t linelen)
{
	if (e->end < e->start || strlen(e->perms) != 4 || !e->path ||
	    strlen(e->path) >= linelen || strchr(e->path, '\n'))
		abort();
}

static void fuzz_maps(const uint8_t *data, size_t size)
{
	struct maps m = { NULL, 0, 0 };
	char *line = NULL;
	size_t cap = 0;
	for (size_t at = 0; at < size && m.n < MAPS_MAX;) {
		const uint8_t *nl = memchr(data + at, '\n', size - at);
		size_t len = nl ? (size_t)(nl - (data + at)) + 1 : size - at;
		VEC_RESERVE(line, cap, len + 1);
		memcpy(line, data + at, len);
		line[len] = '\0';
		at += len;
		struct map_entry e;
		if (maps_parse_line(line, &e) != 0)
			continue;
		check_entry(&e, len);
		VEC_RESERVE(m.v, m.cap, m.n + 1);
		m.v[m.n++] = e;
	}
	free(line);
	uint64_t probes[4] = { 0, UINT64_MAX, 0, 0 };
	if (m.n) {
		probes[2] = m.v[m.n - 1].start;
		probes[3] = m.v[0].end - 1;
	}
	for (int i = 0; i < 4; i++) {
		const struct map_entry *e = maps_find(&m, probes[i]);
		if (e && (probes[i] < e->start || probes[i] >= e->end))
			abort();
	}
	maps_release(&m);
}

static void fuzz_stat(const char *text, size_t size)
{
	struct task_stat st;
	if (task_stat_parse(text, size, &st) != 0) {
		if (st.fields != 0)
			abort();
		return;
	}
	if (st.fields < 1 || st.fields > TASK_STAT_STARTSTACK || st.state <= ' ' ||
	    st.state > 'z' || st.ppid < 0 || (st.fields < 2 && st.ppid != 0) ||
	    (st.fields < TASK_STAT_STARTSTACK && st.startstack != 0))
		abort();
	/* the state follows the last ')' of the text */
	const char *close = memrchr(text, ')', size);
	if (!close || close[2] != st.state)
		abort();
}

static void fuzz_status(const char *text, size_t size)
{
	struct task_status st;
	task_status_parse(text, size, &st);
	long v[3] = { st.tgid, st.ppid, st.tracer_pid };
	for (int i = 0; i < 3; i++)
		if (v[i] < -1 || v[i] > INT_MAX)
			abort();
	/* a key is only found on a whole line */
	if ((st.tgid >= 0 || st.ppid >= 0 || st.tracer_pid >= 0) && !memchr(text, '\n', size))
		abort();
}

static void fuzz_nspid(const char *text, size_t size)
{
	pid_t outer = -7, inner = -7;
	int rc = task_parse_nspid(text, size, &outer, &inner);
	if (rc == 0 ? outer <= 0 || inner <= 0 : rc != ERR_NOTFOUND)
		abort();
}

static void fuzz_creds(const char *text, size_t size)
{
	struct rootfs_creds c;
	int rc = rootfs_parse_status(text, size, &c);
	if (rc != 0) {
		if (rc != ERR_INVAL || c.groups || c.ngroups)
			abort();
		return;
	}
	if (c.ngroups > ROOTFS_MAX_GROUPS || (c.ngroups && !c.groups))
		abort();
	uint64_t sum = c.fsuid + c.fsgid;
	for (size_t i = 0; i < c.ngroups; i++)
		sum += c.groups[i];
	__asm__ volatile("" : : "r"(sum)); /* keep the reads */
	rootfs_creds_release(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_maps(data, size);
	fuzz_stat((const char *)data, size);
	fuzz_status((const char *)data, size);
	fuzz_nspid((const char *)data, size);
	fuzz_creds((const char *)data, size);
	return 0;
}
