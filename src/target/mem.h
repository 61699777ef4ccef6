/* mem.h - reading another process's memory.
 *
 * Remote addresses are plain numbers (raddr_t) and remote memory is untrusted:
 * callers copy bytes into local buffers and decode them with the rd_*
 * helpers, never by casting remote structs.
 *
 * Reads go through process_vm_readv; if the kernel refuses it (some
 * containers disable it), /proc/PID/mem with pread is used instead.
 * strobe never writes into the target.
 */
#ifndef STROBE_TARGET_MEM_H
#define STROBE_TARGET_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

typedef uint64_t raddr_t;

struct mem_iov {
	raddr_t addr;
	void *buf;
	size_t len;
};

struct mem_stats {
	uint64_t calls;  /* syscalls issued */
	uint64_t bytes;  /* bytes copied */
	uint64_t faults; /* reads that failed */
};

struct mem_source {
	pid_t pid;
	int memfd;        /* /proc/PID/mem when process_vm_readv is unusable, else -1 */
	/* The process itself, not its number: a pidfd (Linux 5.3+, else -1)
	 * and its start time (field 22 of /proc/PID/stat, clock ticks after
	 * boot; 0 if unknown).  An exec keeps both; a new process that reuses
	 * the PID has neither. */
	int pidfd;
	uint64_t start_time;
	struct mem_stats stats;
};

/* Open the target for reading: remember which process pid is now, then
 * probe that a read is allowed, using probe_addr (any mapped address; 0
 * skips the probe).  Returns 0, ERR_NOPROC if the process is gone, ERR_PERM
 * if reading is not allowed. */
int mem_open(struct mem_source *m, pid_t pid, raddr_t probe_addr);
/* The probe of mem_open, for a source already open (after the runtime was
 * found at addr): the process stays the one mem_open saw. */
int mem_probe(struct mem_source *m, raddr_t probe_addr);
void mem_close(struct mem_source *m);

/* Whether the process mem_open saw still runs.  False once it has exited
 * (a zombie has exited), even if a new process has taken its PID since:
 * reads made before a true answer were reads of that process.  One poll()
 * on the pidfd; without one, a read of /proc/PID/stat. */
bool mem_alive(const struct mem_source *m);
/* Whether a and b were opened on the same process (an exec between the two
 * keeps it the same). */
bool mem_same_process(const struct mem_source *a, const struct mem_source *b);

/* Read exactly len bytes at addr.  0, ERR_FAULT (unmapped/partial),
 * ERR_NOPROC (target gone) or ERR_PERM. */
int mem_read(struct mem_source *m, raddr_t addr, void *buf, size_t len);

/* Read several ranges in one system call.  Returns the number of leading
 * ranges that were read completely (0..n), or ERR_NOPROC/ERR_PERM.  A range
 * that failed leaves its buffer (and those after it) undefined. */
int mem_readv(struct mem_source *m, const struct mem_iov *iov, int n);

/* Decoding helpers for local copies of remote structs (little-endian x86-64). */
static inline uint64_t rd_u64(const void *base, size_t off)
{
	uint64_t v;
	memcpy(&v, (const char *)base + off, sizeof(v));
	return v;
}
static inline uint32_t rd_u32(const void *base, size_t off)
{
	uint32_t v;
	memcpy(&v, (const char *)base + off, sizeof(v));
	return v;
}
static inline int32_t rd_i32(const void *base, size_t off)
{
	return (int32_t)rd_u32(base, off);
}
static inline uint16_t rd_u16(const void *base, size_t off)
{
	uint16_t v;
	memcpy(&v, (const char *)base + off, sizeof(v));
	return v;
}
static inline uint8_t rd_u8(const void *base, size_t off)
{
	return ((const uint8_t *)base)[off];
}

#endif
