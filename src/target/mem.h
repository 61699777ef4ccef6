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
	struct mem_stats stats;
};

/* Open the target for reading and probe that a read is allowed, using
 * probe_addr (any mapped address; 0 skips the probe).  Returns 0,
 * ERR_NOPROC if the process is gone, ERR_PERM if reading is not allowed. */
int mem_open(struct mem_source *m, pid_t pid, raddr_t probe_addr);
void mem_close(struct mem_source *m);

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
