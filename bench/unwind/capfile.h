/* Capture file shared by capture.c and unwind_cmp.c (bench only). */
#ifndef BENCH_UNWIND_CAPFILE_H
#define BENCH_UNWIND_CAPFILE_H
#include <stdint.h>
#include <sys/user.h>

#define CAP_MAGIC "UWCAP01"

struct cap_hdr {
    char magic[8];
    int32_t pid, tid;
    uint32_t ncap, stack_size;
    uint64_t maps_len;
};

struct cap_rec {
    struct user_regs_struct regs;
    uint64_t stack_addr; /* address of stack byte 0 (regs.rsp - BELOW) */
    uint32_t len;        /* bytes copied (short if the read was partial) */
    uint32_t pad;
    uint64_t stop_ns;    /* PTRACE_INTERRUPT .. PTRACE_DETACH return */
};
#endif
