/* fuzz_mem.h - a struct mem_source over a fuzz input, for the targets that
 * read "target memory" (fuzz_pystr.c, fuzz_code.c).
 *
 * No change to src/ is needed: mem.c's fallback backend reads with pread on
 * m->memfd (normally /proc/PID/mem, where the file offset is the address),
 * so a memfd holding the input makes the input the target's address space:
 * address A is byte A of the image, a read past its end fails as an
 * unmapped read does (ERR_FAULT).  Address 0 is the image's first byte,
 * which strobe never reads (a NULL pointer), so images start with padding.
 */
#ifndef STROBE_FUZZ_MEM_H
#define STROBE_FUZZ_MEM_H

#include "process/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Point m at a memfd holding the n bytes of img (one memfd per process,
 * reused: the targets are single-threaded). */
static inline void fuzz_mem_load(struct mem_source *m, const void *img, size_t n)
{
	static int fd = -1;
	if (fd < 0 && (fd = memfd_create("fuzz-mem", MFD_CLOEXEC)) < 0)
		abort();
	if (ftruncate(fd, 0) != 0 || (n && pwrite(fd, img, n, 0) != (ssize_t)n))
		abort();
	memset(m, 0, sizeof(*m));
	m->pid = getpid();
	m->memfd = fd;
}

#endif
