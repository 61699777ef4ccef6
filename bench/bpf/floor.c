/* floor.c - bench/bpf/run.sh's driver: a cpu-clock perf event on one thread
 * (the target's main thread) at RATE Hz runs floor.bpf.c; records are drained
 * either with a wake-up per record (ring_buffer__poll) or without wake-ups,
 * every 10 ms (ring_buffer__consume); or the perf event alone, no program
 * (event: what the interrupt itself costs the thread).  Prints one line:
 * mode, rate, seconds, BPF runs, records kept and received, lost, and this
 * process's CPU time.
 *
 *   floor PID RATE SECONDS wake|batch|event */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <bpf/libbpf.h>

#include "floor.skel.h"

static unsigned long long received;

static int on_record(void *ctx, void *data, size_t len)
{
	(void)ctx;
	(void)data;
	(void)len;
	received++;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: floor PID RATE SECONDS wake|batch|event\n");
		return 2;
	}
	int pid = atoi(argv[1]), rate = atoi(argv[2]);
	double secs = atof(argv[3]);
	int batch = strcmp(argv[4], "batch") == 0;
	struct floor_bpf *skel = floor_bpf__open();
	if (!skel) {
		fprintf(stderr, "floor: open: %s\n", strerror(errno));
		return 1;
	}
	skel->rodata->target_tgid = (unsigned)pid;
	skel->rodata->submit_flags = batch ? BPF_RB_NO_WAKEUP : 0;
	if (floor_bpf__load(skel)) {
		fprintf(stderr, "floor: load: %s\n", strerror(errno));
		return 1;
	}
	struct perf_event_attr a = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(a),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_period = 1000000000ULL / (unsigned)rate,
	};
	int fd = (int)syscall(SYS_perf_event_open, &a, pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "floor: perf_event_open: %s\n", strerror(errno));
		return 1;
	}
	if (strcmp(argv[4], "event") == 0) {
		/* the perf event alone, no program: the interrupt's own cost */
		usleep((useconds_t)(secs * 1e6));
		printf("event %6d Hz %5.2f s: no program\n", rate, secs);
		return 0;
	}
	struct bpf_link *link = bpf_program__attach_perf_event(skel->progs.on_sample, fd);
	if (!link) {
		fprintf(stderr, "floor: attach: %s\n", strerror(errno));
		return 1;
	}
	struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(skel->maps.records), on_record, NULL, NULL);
	double start = now_s();
	while (now_s() - start < secs) {
		if (batch) {
			usleep(10000);
			ring_buffer__consume(rb);
		} else {
			ring_buffer__poll(rb, 100);
		}
	}
	bpf_link__destroy(link);
	ring_buffer__consume(rb);
	double took = now_s() - start;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
		     ru.ru_stime.tv_usec / 1e6;
	printf("%-5s %6d Hz %5.2f s: bpf runs %8llu/s, kept %8llu/s, received %8llu/s, lost %llu, "
	       "reader CPU %.2f%% of a core\n",
	       argv[4], rate, took, (unsigned long long)(skel->bss->runs / took),
	       (unsigned long long)(skel->bss->kept / took), (unsigned long long)(received / took),
	       (unsigned long long)skel->bss->lost, 100.0 * cpu / took);
	ring_buffer__free(rb);
	floor_bpf__destroy(skel);
	return 0;
}
