/* rwmap.h - shared by bench/readcost.c and bench/wakeup.c: the largest
 * readable+writable mapping of a process (a CPython heap: where thread
 * states, frames and data stacks live). */
#ifndef STROBE_BENCH_RWMAP_H
#define STROBE_BENCH_RWMAP_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* [*lo, *hi) of pid's largest rw mapping; 0, or -1 when none is at least
 * min_bytes long. */
static int largest_rw_mapping(int pid, uint64_t min_bytes, uint64_t *lo, uint64_t *hi)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	uint64_t best = 0;
	while (fgets(line, sizeof(line), f)) {
		uint64_t a, b;
		char perms[8];
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s", &a, &b, perms) != 3)
			continue;
		if (strncmp(perms, "rw", 2) != 0 || b - a <= best)
			continue;
		best = b - a;
		*lo = a;
		*hi = b;
	}
	fclose(f);
	return best >= min_bytes ? 0 : -1;
}

#endif
