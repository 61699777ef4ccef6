/* readcost.c - what one read of another process's memory costs here: the
 * floor under strobe's time per sample.
 *
 *     readcost PID [SECONDS]
 *
 * Picks PID's largest readable+writable mapping (a CPython heap: where
 * thread states, frames and data stacks live) and times, in a loop of
 * SECONDS (default 1) each:
 *   - process_vm_readv of 64 bytes from each of 1..6 distinct pages in one
 *     call (strobe's one-read walk gathers 4 such pieces per sample on
 *     3.13+: the GC word, the thread state, the data stack, the C-stack
 *     entry frame),
 *   - the same 4 pieces all on one page, and one contiguous range of 4
 *     pages: what costs is the number of pieces, not of pages,
 *   - a call that reads nothing (its fixed part) and one contiguous 4 KiB
 *     page,
 *   - pread of 64 bytes from /proc/PID/mem.
 * Prints nanoseconds per call (CPU time of this process per call, which on
 * a quiet machine equals wall time) and the sample rate one such call per
 * sample would allow.  Needs the right to read PID (root or ptrace_scope 0).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "rwmap.h"

#define PAGE 4096
#define MAX_PIECES 6

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct result {
	double ns;
	uint64_t calls;
};

static struct result time_readv(int pid, const struct iovec *remote, int n, size_t each,
				double seconds)
{
	static char buf[MAX_PIECES * PAGE];
	struct iovec local = { buf, (size_t)n * each };
	uint64_t calls = 0;
	double t0 = cpu_now(), t;
	do {
		for (int i = 0; i < 1000; i++)
			if (process_vm_readv(pid, &local, 1, remote, (unsigned long)n, 0) < 0) {
				perror("process_vm_readv");
				exit(1);
			}
		calls += 1000;
		t = cpu_now();
	} while (t - t0 < seconds);
	return (struct result){ (t - t0) * 1e9 / (double)calls, calls };
}

static struct result time_pread(int fd, uint64_t addr, double seconds)
{
	char buf[64];
	uint64_t calls = 0;
	double t0 = cpu_now(), t;
	do {
		for (int i = 0; i < 1000; i++)
			if (pread(fd, buf, sizeof(buf), (off_t)addr) != (ssize_t)sizeof(buf)) {
				perror("pread /proc/PID/mem");
				exit(1);
			}
		calls += 1000;
		t = cpu_now();
	} while (t - t0 < seconds);
	return (struct result){ (t - t0) * 1e9 / (double)calls, calls };
}

static void report(const char *what, struct result r)
{
	printf("%-44s %8.0f ns/call  %7.0f kHz at one call per sample\n", what, r.ns,
	       1e6 / r.ns);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: readcost PID [SECONDS]\n");
		return 2;
	}
	int pid = atoi(argv[1]);
	double seconds = argc > 2 ? atof(argv[2]) : 1.0;
	uint64_t lo, hi;
	if (largest_rw_mapping(pid, (MAX_PIECES + 1) * PAGE, &lo, &hi) != 0) {
		fprintf(stderr, "readcost: no large rw mapping in process %d\n", pid);
		return 1;
	}
	/* pieces on distinct pages, spread over the region as a walk's are */
	struct iovec remote[MAX_PIECES];
	uint64_t stride = ((hi - lo) / (MAX_PIECES + 1)) & ~(uint64_t)(PAGE - 1);
	for (int i = 0; i < MAX_PIECES; i++)
		remote[i] = (struct iovec){ (void *)(uintptr_t)(lo + (uint64_t)i * stride + 64), 64 };
	printf("process %d, region %#" PRIx64 "-%#" PRIx64 " (%" PRIu64 " KiB)\n", pid, lo, hi,
	       (hi - lo) / 1024);
	char what[64];
	for (int n = 1; n <= MAX_PIECES; n++) {
		snprintf(what, sizeof(what), "process_vm_readv, %d x 64 B on %d page%s", n, n,
			 n > 1 ? "s" : "");
		report(what, time_readv(pid, remote, n, 64, seconds));
	}
	struct iovec same[4];
	for (int i = 0; i < 4; i++)
		same[i] = (struct iovec){ (void *)(uintptr_t)(lo + 64 + (uint64_t)i * 1024), 64 };
	report("process_vm_readv, 4 x 64 B on 1 page", time_readv(pid, same, 4, 64, seconds));
	struct iovec span = { (void *)(uintptr_t)lo, 4 * PAGE };
	report("process_vm_readv, 1 x 16 KiB on 4 pages", time_readv(pid, &span, 1, 4 * PAGE, seconds));
	struct iovec none = { (void *)(uintptr_t)lo, 0 };
	report("process_vm_readv, 1 x 0 B", time_readv(pid, &none, 1, 0, seconds));
	struct iovec page = { (void *)(uintptr_t)lo, PAGE };
	report("process_vm_readv, one 4 KiB page", time_readv(pid, &page, 1, PAGE, seconds));
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	report("pread /proc/PID/mem, 64 B", time_pread(fd, lo + 64, seconds));
	close(fd);
	return 0;
}
