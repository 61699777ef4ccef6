/* terminfo.c - --live without a terminal database.
 *
 * ncurses learns how to drive the terminal from the compiled terminfo entry
 * for $TERM, which it reads from files (/etc/terminfo, /lib/terminfo,
 * /usr/share/terminfo, or $TERMINFO).  build/strobe-static copied into a
 * root that has nothing else finds none, and Debian's ncurses is built with
 * neither built-in fallback entries nor $TERMCAP.  So strobe carries the
 * entries of the common terminals (taken from the build machine's database,
 * tools/gen_terminfo.py) and, when ncurses finds none for TERM, writes the
 * one it needs into a new private directory (mkdtemp: mode 0700, a name
 * nobody can guess), points TERMINFO at it while ncurses reads it, and
 * removes it again.
 */
#include "tui/terminfo.h"

#include "base/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct tui_terminfo_entry *entry_for(const char *term)
{
	size_t n = term ? strlen(term) : 0;
	if (n == 0 || n > 64)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char c = term[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '+' || c == '_'))
			return NULL;
	}
	for (const struct tui_terminfo_entry *e = tui_terminfo_entries; e->name; e++)
		if (strcmp(e->name, term) == 0)
			return e;
	return NULL;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int tui_terminfo_unpack(const char *term, struct tui_terminfo_dir *d)
{
	const struct tui_terminfo_entry *e = entry_for(term);
	memset(d, 0, sizeof(*d));
	if (!e)
		return ERR_NOTFOUND;
	const char *tmpdir = getenv("TMPDIR");
	const char *bases[] = { tmpdir && tmpdir[0] == '/' ? tmpdir : NULL, "/tmp", "/dev/shm",
				"/var/tmp" };
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		if (!bases[i] || strlen(bases[i]) > 200)
			continue;
		snprintf(d->dir, sizeof(d->dir), "%s/strobe-terminfo-XXXXXX", bases[i]);
		if (!mkdtemp(d->dir))
			continue;
		snprintf(d->sub, sizeof(d->sub), "%s/%c", d->dir, e->name[0]);
		snprintf(d->file, sizeof(d->file), "%s/%s", d->sub, e->name);
		if (mkdir(d->sub, 0700) == 0) {
			int fd = open(d->file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (fd >= 0) {
				int rc = write_all(fd, e->data, e->len);
				if (close(fd) == 0 && rc == 0)
					return 0;
			}
		}
		tui_terminfo_remove(d);
	}
	memset(d, 0, sizeof(*d));
	return ERR_IO;
}

void tui_terminfo_remove(struct tui_terminfo_dir *d)
{
	if (d->file[0])
		unlink(d->file);
	if (d->sub[0])
		rmdir(d->sub);
	if (d->dir[0])
		rmdir(d->dir);
	memset(d, 0, sizeof(*d));
}
