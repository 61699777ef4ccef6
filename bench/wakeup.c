/* wakeup.c - the floor under any sleeping sampler: CPU time of a loop that
 * only sleeps to absolute deadlines (as strobe's sampler does) at a given
 * rate, and with a PID, also makes at each wake-up the one read a 3.13+
 * sample needs: one process_vm_readv of 4 pieces of 64 bytes on 4 pages of
 * that process's heap (strobe's walk gathers the GC word, the thread state,
 * the data stack and the C-stack entry frame), and nothing else.
 *
 *   cc -O2 -o wakeup wakeup.c && ./wakeup HZ SECONDS [PID]
 * prints the percentage of one core it used. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <time.h>

#include "rwmap.h"

#define PAGE 4096
#define PIECES 4

/* 4 pieces on distinct pages of pid's largest rw mapping. */
static int pick_pieces(int pid, struct iovec *remote)
{
	uint64_t lo, hi;
	if (largest_rw_mapping(pid, (PIECES + 1) * PAGE, &lo, &hi) != 0)
		return -1;
	uint64_t stride = ((hi - lo) / (PIECES + 1)) & ~(uint64_t)(PAGE - 1);
	for (int i = 0; i < PIECES; i++)
		remote[i] = (struct iovec){ (void *)(uintptr_t)(lo + (uint64_t)i * stride + 64), 64 };
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: wakeup HZ SECONDS [PID]\n");
		return 2;
	}
	long hz = atol(argv[1]), secs = atol(argv[2]);
	int pid = argc == 4 ? atoi(argv[3]) : 0;
	if (hz <= 0 || hz > 1000000 || secs <= 0)
		return 2;
	static char buf[PIECES * 64];
	struct iovec local = { buf, sizeof(buf) }, remote[PIECES];
	if (pid && pick_pieces(pid, remote) != 0) {
		fprintf(stderr, "wakeup: no large rw mapping in process %d\n", pid);
		return 1;
	}
	long long period = 1000000000LL / hz, n = hz * secs;
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	long long next = t.tv_sec * 1000000000LL + t.tv_nsec;
	for (long long i = 0; i < n; i++) {
		next += period;
		struct timespec d = { (time_t)(next / 1000000000LL), (long)(next % 1000000000LL) };
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &d, NULL);
		if (pid && process_vm_readv(pid, &local, 1, remote, PIECES, 0) < 0) {
			perror("wakeup: process_vm_readv");
			return 1;
		}
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
		     ru.ru_stime.tv_usec * 1e-6;
	printf("%.3f\n", cpu / (double)secs * 100.0);
	return 0;
}
