/* mem.h - reading another process's memory.
 *
 * Remote addresses are plain numbers (raddr_t) and remote memory is untrusted:
 * callers copy bytes into local buffers and decode them with the rd_*
 * helpers, never by casting remote structs.
 *
 * Reads go through process_vm_readv; if the kernel refuses it (some
 * containers disable it), /proc/PID/mem with pread is used instead.
 * strobe never writes into the target.
 *
 * A second backend serves reads from a snapshot: a sorted set of recorded
 * ranges of a target's memory (struct mem_snapshot).  A read that lies
 * entirely inside one range gets its bytes; any other read fails exactly as
 * an unmapped read of a live target does (ERR_FAULT; mem_readv counts the
 * leading ranges read).  So the walker runs offline, per CPython version,
 * from recorded memory (tests/unit/test_walk.c, tools/record_snapshot).
 * The same struct records: attached to a live source, it keeps a copy of
 * every range that source reads successfully.  A live source without a
 * snapshot pays one predictable branch per call for this.
 */
#ifndef STROBE_PROCESS_MEM_H
#define STROBE_PROCESS_MEM_H

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

struct mem_snapshot;

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
	/* NULL: the live process.  Else a snapshot that serves every read
	 * (replay) or keeps every live read (recording); not owned. */
	struct mem_snapshot *snap;
};

/* One recorded range of a target's memory. */
struct mem_range {
	raddr_t addr;
	size_t len;                 /* > 0 */
	const unsigned char *bytes; /* len bytes */
	bool whole;                 /* overlay: an object ends here (mem_snapshot_add_whole) */
};

/* Most bytes a recording keeps (beyond it, reads go on but are not kept
 * and `overflow` is set). */
#define MEM_SNAPSHOT_MAX (64u << 20)

/* Ranges of a target's memory.  Built by recording (mem_snapshot_record,
 * then mem_snapshot_seal) or from ranges the caller holds
 * (mem_snapshot_add with copy false, in ascending order). */
struct mem_snapshot {
	struct mem_range *v;  /* sorted by addr, not overlapping (once sealed) */
	size_t n, cap;
	size_t total;         /* bytes held */
	bool recording;       /* reads go to the process and are kept */
	bool overflow;        /* a recording went past MEM_SNAPSHOT_MAX */
	bool owns;            /* the bytes are the snapshot's (recorded, sealed) */
	bool overlay;         /* a read not inside one range goes to the process */
	uint64_t served;      /* overlay: reads served from the ranges */
};

void mem_snapshot_init(struct mem_snapshot *s);
/* Frees the ranges (and their bytes when owned). */
void mem_snapshot_release(struct mem_snapshot *s);

/* Append a range that starts at or after the end of the last one (ranges
 * that touch stay separate: a read across them fails).  The bytes are
 * borrowed and must outlive s.  0, or ERR_INVAL when out of order, empty,
 * wrapping around, or past MEM_SNAPSHOT_MAX in all; ERR_INVAL on a
 * recording or owning snapshot. */
int mem_snapshot_add(struct mem_snapshot *s, raddr_t addr, const void *bytes, size_t len);
/* The same, for a range that holds an object whole: in an overlay, a read
 * that starts inside it and runs past its end fails (ERR_FAULT), as past
 * the end of a mapping, instead of going to the process - its bytes
 * beyond are no part of the object, and the process may have reused the
 * object's memory since (a reader that tries a long read first, as
 * pystr_read_str does, then reads what the header says from the range). */
int mem_snapshot_add_whole(struct mem_snapshot *s, raddr_t addr, const void *bytes, size_t len);

/* Start recording into s (empty, from mem_snapshot_init) what the live
 * source m reads: every later read that succeeds is copied into s.  m
 * reads its process as before. */
void mem_snapshot_record(struct mem_source *m, struct mem_snapshot *s);

/* End a recording: detach it from m, sort the ranges and merge those that
 * overlap or touch (the target was stopped: equal bytes; the later read
 * wins otherwise).  Adjacent reads that both succeeded cover mapped
 * memory, so the merged range is what the process would have answered. */
void mem_snapshot_seal(struct mem_source *m, struct mem_snapshot *s);

/* Make m a source that reads only from s (which must outlive it); pid is
 * the recorded process's, for the modules that ask (it is never read).
 * mem_close on it is harmless. */
void mem_snapshot_source(struct mem_source *m, struct mem_snapshot *s, pid_t pid);

/* Overlay s (built with mem_snapshot_add) on the live source m: a read
 * (or each piece of a readv) lying entirely inside one range of s is
 * served from it, one that starts inside a range added whole and runs
 * past it fails with ERR_FAULT, any other read goes to the process as
 * without s (so copies taken earlier by someone else - the BPF engine's
 * code object copies - win over live memory that may have changed
 * since).  s must outlive its use; mem_snapshot_unoverlay(m) puts m back
 * on the process alone. */
void mem_snapshot_overlay(struct mem_source *m, struct mem_snapshot *s);
void mem_snapshot_unoverlay(struct mem_source *m);

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
