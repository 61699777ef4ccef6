/* capture: stop one thread of a live process N times with ptrace, save its
 * registers and a copy of the top of its stack, for unwind_cmp.c.
 * Standalone bench tool, not part of strobe.
 *
 * usage: capture PID TID OUT [-n N] [-i INTERVAL_US] [-s STACK_BYTES] [-b BELOW]
 *   -b BELOW  start the copy BELOW bytes under rsp (default 0): an epilogue's
 *             CFI still names the slots of the registers it has popped
 *
 * File layout (native endian, read back on the same machine):
 *   struct cap_hdr, maps text (maps_len bytes), then ncap times
 *   struct cap_rec followed by rec.len stack bytes. */
#include "capfile.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    *len = n;
    return buf;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* One stop: seize, interrupt, wait, regs, one stack read, detach. */
static int capture_one(pid_t tid, pid_t pid, uint32_t stack_size, uint32_t below,
                       struct cap_rec *rec, unsigned char *stack)
{
    if (ptrace(PTRACE_SEIZE, tid, 0, 0) != 0) {
        fprintf(stderr, "PTRACE_SEIZE %d: %s\n", tid, strerror(errno));
        return -1;
    }
    uint64_t t0 = now_ns();
    if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0) {
        fprintf(stderr, "PTRACE_INTERRUPT: %s\n", strerror(errno));
        ptrace(PTRACE_DETACH, tid, 0, 0);
        return -1;
    }
    int st = 0;
    if (waitpid(tid, &st, __WALL) != tid || !WIFSTOPPED(st)) {
        fprintf(stderr, "waitpid: unexpected status %#x\n", st);
        return -1;
    }
    int sig = 0;
    if ((st >> 16) != PTRACE_EVENT_STOP)
        sig = WSTOPSIG(st); /* a signal-delivery-stop: deliver it on detach */
    int rc = 0;
    if (ptrace(PTRACE_GETREGS, tid, 0, &rec->regs) != 0) {
        fprintf(stderr, "PTRACE_GETREGS: %s\n", strerror(errno));
        rc = -1;
    } else {
        struct iovec local = {stack, stack_size};
        struct iovec remote = {(void *)(uintptr_t)(rec->regs.rsp - below), stack_size};
        ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
        rec->stack_addr = rec->regs.rsp - below;
        rec->len = n > 0 ? (uint32_t)n : 0;
    }
    ptrace(PTRACE_DETACH, tid, 0, (void *)(uintptr_t)sig);
    rec->stop_ns = now_ns() - t0;
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: capture PID TID OUT [-n N] [-i US] [-s BYTES] [-b BELOW]\n");
        return 2;
    }
    pid_t pid = atoi(argv[1]), tid = atoi(argv[2]);
    const char *out = argv[3];
    uint32_t n = 300, interval_us = 20000, stack_size = 32768, below = 0;
    for (int i = 4; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-n"))
            n = (uint32_t)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-i"))
            interval_us = (uint32_t)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-s"))
            stack_size = (uint32_t)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-b"))
            below = (uint32_t)atoi(argv[i + 1]);
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", pid);
    size_t maps_len = 0;
    char *maps = slurp(path, &maps_len);
    if (!maps) {
        perror(path);
        return 1;
    }
    struct cap_rec *recs = calloc(n, sizeof *recs);
    unsigned char *stacks = malloc((size_t)n * stack_size);
    uint64_t *stops = calloc(n, sizeof *stops);
    uint32_t got = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (capture_one(tid, pid, stack_size, below, &recs[got],
                        stacks + (size_t)got * stack_size) == 0) {
            stops[got] = recs[got].stop_ns;
            got++;
        }
        if (interval_us && i + 1 < n)
            usleep(interval_us);
    }
    FILE *f = fopen(out, "w");
    if (!f) {
        perror(out);
        return 1;
    }
    struct cap_hdr h = {.pid = pid, .tid = tid, .ncap = got,
                        .stack_size = stack_size, .maps_len = maps_len};
    memcpy(h.magic, CAP_MAGIC, sizeof h.magic);
    fwrite(&h, sizeof h, 1, f);
    fwrite(maps, 1, maps_len, f);
    for (uint32_t i = 0; i < got; i++) {
        fwrite(&recs[i], sizeof recs[i], 1, f);
        fwrite(stacks + (size_t)i * stack_size, 1, recs[i].len, f);
    }
    if (fclose(f) != 0) {
        perror(out);
        return 1;
    }
    if (got) {
        qsort(stops, got, sizeof *stops, cmp_u64);
        printf("captures %u/%u  stop (INTERRUPT..DETACH) median %.1f us  p99 %.1f us\n",
               got, n, stops[got / 2] / 1e3, stops[(got * 99) / 100] / 1e3);
    } else {
        printf("captures 0/%u\n", n);
    }
    return got ? 0 : 1;
}
