/* maps.h - the memory mappings of a process (/proc/PID/maps). */
#ifndef STROBE_PROCESS_MAPS_H
#define STROBE_PROCESS_MAPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct map_entry {
	uint64_t start, end;  /* [start, end) */
	uint64_t offset;      /* file offset of start */
	uint64_t inode;
	uint32_t dev_major, dev_minor; /* the device of the file (st_dev) */
	char perms[5];        /* "r-xp" */
	char *path;           /* owned; "" for anonymous; as the target sees it */
};

struct maps {
	struct map_entry *v;  /* owned */
	size_t n, cap;
};

/* Read the mappings of pid.  0, ERR_NOPROC, ERR_PERM or ERR_IO.  At most
 * MAPS_MAX entries are kept (a bound on hostile or huge processes). */
#define MAPS_MAX 1000000
int maps_read(pid_t pid, struct maps *out);
void maps_release(struct maps *m);

/* Parse one /proc/PID/maps line into e (path owned by e).  0 or ERR_INVAL. */
int maps_parse_line(const char *line, struct map_entry *e);

/* The mapping containing addr, or NULL. */
const struct map_entry *maps_find(const struct maps *m, uint64_t addr);

#endif
