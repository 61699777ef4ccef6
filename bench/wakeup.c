/* wakeup.c - the floor under any sleeping sampler: CPU time of a loop that
 * only sleeps to absolute deadlines (as strobe's sampler does) at a given
 * rate, without reading anything.
 *
 *   cc -O2 -o wakeup wakeup.c && ./wakeup HZ SECONDS
 * prints the percentage of one core it used. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: wakeup HZ SECONDS\n");
		return 2;
	}
	long hz = atol(argv[1]), secs = atol(argv[2]);
	if (hz <= 0 || hz > 1000000 || secs <= 0)
		return 2;
	long long period = 1000000000LL / hz, n = hz * secs;
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	long long next = t.tv_sec * 1000000000LL + t.tv_nsec;
	for (long long i = 0; i < n; i++) {
		next += period;
		struct timespec d = { (time_t)(next / 1000000000LL), (long)(next % 1000000000LL) };
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &d, NULL);
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
		     ru.ru_stime.tv_usec * 1e-6;
	printf("%.3f\n", cpu / (double)secs * 100.0);
	return 0;
}
