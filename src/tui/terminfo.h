/* terminfo.h - the compiled terminfo entries strobe carries for --live
 * where the system has no terminal database (an empty root). */
#ifndef STROBE_TUI_TERMINFO_H
#define STROBE_TUI_TERMINFO_H

#include <stddef.h>

struct tui_terminfo_entry {
	const char *name;
	const unsigned char *data;
	size_t len;
};

/* generated at build time (tools/gen_terminfo.py); ends with a NULL name */
extern const struct tui_terminfo_entry tui_terminfo_entries[];

/* A private directory holding strobe's copy of the entry for term, for
 * TERMINFO while ncurses reads it. */
struct tui_terminfo_dir {
	char dir[256];
	char sub[272];
	char file[352];
};

/* 0 with d filled; ERR_NOTFOUND if strobe has no entry for term (or term
 * is no plain name), ERR_IO if no temporary directory could take it. */
int tui_terminfo_unpack(const char *term, struct tui_terminfo_dir *d);
/* removes what unpack made */
void tui_terminfo_remove(struct tui_terminfo_dir *d);

#endif
