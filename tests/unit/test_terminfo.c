/* test_terminfo.c - the terminfo entries strobe carries for --live
 * (src/tui/terminfo.c): unpacked byte for byte into a private directory,
 * usable by ncurses as TERMINFO, removed again; hostile or unknown TERM
 * values unpack nothing. */
#include "harness.h"

#include "base/error.h"
#include "tui/terminfo.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <term.h>
#include <unistd.h>

static const struct tui_terminfo_entry *carried(const char *name)
{
	for (const struct tui_terminfo_entry *e = tui_terminfo_entries; e->name; e++)
		if (strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

TEST(carried)
{
	/* the build machine's database had them (Debian's ncurses-base) */
	CHECK(carried("xterm-256color") != NULL);
	CHECK(carried("xterm") != NULL);
	CHECK(carried("linux") != NULL);
	for (const struct tui_terminfo_entry *e = tui_terminfo_entries; e->name; e++) {
		CHECK(e->len > 12);
		/* the compiled format's magic: 0432 (legacy) or 01036 (32-bit numbers) */
		unsigned magic = e->data[0] | (unsigned)e->data[1] << 8;
		CHECK(magic == 0432 || magic == 01036);
	}
}

TEST(unpack)
{
	const struct tui_terminfo_entry *e = carried("xterm-256color");
	CHECK(e != NULL);
	if (!e)
		return;
	setenv("TMPDIR", "/tmp", 1);
	struct tui_terminfo_dir d;
	CHECK_EQ_INT(tui_terminfo_unpack("xterm-256color", &d), 0);
	CHECK(strncmp(d.dir, "/tmp/strobe-terminfo-", 21) == 0);
	struct stat st;
	CHECK(stat(d.dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
	char want[512];
	snprintf(want, sizeof(want), "%s/x/xterm-256color", d.dir);
	CHECK_STR(d.file, want);
	size_t len = 0;
	char *got = harness_slurp(d.file, &len);
	CHECK(got && len == e->len && memcmp(got, e->data, len) == 0);
	free(got);

	/* ncurses reads it from there: the capabilities are xterm-256color's */
	setenv("TERMINFO", d.dir, 1);
	int err = 0;
	CHECK(setupterm("xterm-256color", STDERR_FILENO, &err) == OK);
	CHECK_EQ_INT(tigetnum("colors"), 256);
	unsetenv("TERMINFO");

	char dir[256];
	snprintf(dir, sizeof(dir), "%s", d.dir);
	tui_terminfo_remove(&d);
	CHECK(stat(dir, &st) != 0);
	CHECK(d.dir[0] == '\0');
}

TEST(refused)
{
	struct tui_terminfo_dir d;
	static const char *bad[] = { NULL, "", "../x/xterm", "x/xterm", "xterm\n", "no-such-term",
				     "xterm-256color ", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				     "aaaaaaaaaaaaaaaaaaaa" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ_INT(tui_terminfo_unpack(bad[i], &d), ERR_NOTFOUND);
		CHECK(d.dir[0] == '\0' && d.file[0] == '\0');
	}
	/* no writable place: TMPDIR relative is ignored; all bases missing is
	 * not testable here without a mount namespace (tests/packaging) */
}

int main(void)
{
	RUN(carried);
	RUN(unpack);
	RUN(refused);
	return harness_done();
}
