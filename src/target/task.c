#include "target/task.h"

#include "base/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool task_alive(pid_t pid)
{
	if (kill(pid, 0) != 0 && errno != EPERM)
		return false;
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return errno != ENOENT;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* the state follows the last ')' (the command name may contain one) */
	char *p = strrchr(buf, ')');
	if (p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'))
		return false;
	return true;
}

int task_run_state(pid_t pid, pid_t tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* the state follows the last ')' (the command name may contain one) */
	const char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return -1;
	return (unsigned char)p[2];
}

int task_list(pid_t pid, pid_t *tids, size_t max, size_t *n)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	*n = 0;
	if (!d)
		return errno == ENOENT ? ERR_NOPROC : ERR_PERM;
	struct dirent *de;
	while ((de = readdir(d)) != NULL && *n < max) {
		char *end;
		long t = strtol(de->d_name, &end, 10);
		if (*end || t <= 0)
			continue;
		tids[(*n)++] = (pid_t)t;
	}
	closedir(d);
	return 0;
}

void pthread_tid_init(struct pthread_tid *pt)
{
	memset(pt, 0, sizeof(*pt));
	pt->ncand = -1;
}

/* glibc's struct pthread is ~2.3 KiB; musl's is much smaller.  Its tid sits
 * well inside the first 4 KiB in every libc seen. */
#define PTHREAD_SCAN 4096

int pthread_tid_calibrate(struct pthread_tid *pt, struct mem_source *mem, pid_t pid,
			  raddr_t main_pthread)
{
	unsigned char block[PTHREAD_SCAN];
	size_t len = sizeof(block);
	/* the block may end near a mapping end: shrink until readable */
	while (len >= 256 && mem_read(mem, main_pthread, block, len) != 0)
		len /= 2;
	if (len < 256)
		return ERR_NOTFOUND;
	pt->ncand = 0;
	for (size_t off = 0; off + 4 <= len && pt->ncand < PTHREAD_TID_MAX_CANDIDATES; off += 4)
		if (rd_u32(block, off) == (uint32_t)pid)
			pt->cand[pt->ncand++] = (uint32_t)off;
	if (pt->ncand == 0) {
		pt->ncand = -1;
		return ERR_NOTFOUND;
	}
	return 0;
}

void pthread_tid_refine(struct pthread_tid *pt, struct mem_source *mem, pid_t pid, raddr_t pthread)
{
	pid_t tids[4096];
	size_t n;
	if (pt->ncand <= 1 || task_list(pid, tids, 4096, &n) != 0)
		return;
	int keep = 0;
	for (int i = 0; i < pt->ncand; i++) {
		uint32_t v;
		if (mem_read(mem, pthread + pt->cand[i], &v, sizeof(v)) != 0)
			continue;
		for (size_t k = 0; k < n; k++)
			if ((uint32_t)tids[k] == v) {
				pt->cand[keep++] = pt->cand[i];
				break;
			}
	}
	if (keep > 0)
		pt->ncand = keep;
}
