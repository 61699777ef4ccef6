#include "process/maps.h"

#include "base/buf.h"
#include "base/error.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int maps_parse_line(const char *line, struct map_entry *e)
{
	unsigned long long start, end, off, inode;
	unsigned int dmaj, dmin;
	char perms[8];
	int pos = 0;
	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu%n", &start, &end, perms, &off, &dmaj,
		   &dmin, &inode, &pos) < 7)
		return ERR_INVAL;
	/* perms is always four characters ("r-xp"); anything else is not a
	 * maps line, and a short one would leave e->perms partly unset */
	if (end < start || strlen(perms) != 4)
		return ERR_INVAL;
	const char *p = line + pos;
	while (*p == ' ' || *p == '\t')
		p++;
	size_t len = strcspn(p, "\n");
	e->start = start;
	e->end = end;
	e->offset = off;
	e->inode = inode;
	e->dev_major = dmaj;
	e->dev_minor = dmin;
	memcpy(e->perms, perms, 4);
	e->perms[4] = '\0';
	e->path = xmalloc(len + 1);
	memcpy(e->path, p, len);
	e->path[len] = '\0';
	return 0;
}

int maps_read(pid_t pid, struct maps *out)
{
	char path[64];
	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? ERR_NOPROC : (errno == EACCES || errno == EPERM) ? ERR_PERM : ERR_IO;
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;
	while (getline(&line, &cap, f) > 0) {
		if (out->n >= MAPS_MAX)
			break;
		struct map_entry e;
		if (maps_parse_line(line, &e) != 0)
			continue;
		VEC_RESERVE(out->v, out->cap, out->n + 1);
		out->v[out->n++] = e;
	}
	if (ferror(f))
		rc = ERR_IO;
	free(line);
	fclose(f);
	/* an exited (zombie) process has an empty maps file */
	if (!rc && out->n == 0)
		rc = ERR_NOPROC;
	if (rc)
		maps_release(out);
	return rc;
}

void maps_release(struct maps *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

const struct map_entry *maps_find(const struct maps *m, uint64_t addr)
{
	for (size_t i = 0; i < m->n; i++)
		if (addr >= m->v[i].start && addr < m->v[i].end)
			return &m->v[i];
	return NULL;
}
