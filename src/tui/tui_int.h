/* tui_int.h - the live view's state, shared by tui.c (keys, lifecycle) and
 * draw.c (the screen).  Not part of the module's interface. */
#ifndef STROBE_TUI_TUI_INT_H
#define STROBE_TUI_TUI_INT_H

#include <curses.h>
#include <time.h>

#include "tui/tui.h"
#include "tui/view.h"

/* Tachyon's live_collector/constants.py */
#define TUI_MIN_WIDTH 60
#define TUI_MIN_HEIGHT 12
#define TUI_HEADER_LINES 10
#define TUI_FOOTER_LINES 2
#define TUI_SAFETY_MARGIN 1
#define TUI_FINISHED_LINES 3
#define TUI_OPCODE_PANEL 12
#define TUI_MIN_SAMPLES 200

/* Text attributes, Tachyon's colour dictionary. */
struct tui_attrs {
	attr_t header, cyan, yellow, green, magenta, red, sorted_header, normal_header;
	attr_t file, func, trend_up, trend_down;
};

struct tui {
	struct tui_config cfg;
	const struct profile *p;
	SCREEN *screen;
	struct view view;
	struct view_table table;
	struct tui_attrs a;
	int h, w;                   /* terminal size at the last draw */

	/* what the user chose */
	enum view_col sort;
	bool paused, help, finished, quit;
	bool filtering;             /* typing a filter after '/' */
	char input[256];            /* the filter being typed (printable ASCII) */
	size_t ninput;
	bool per_thread;            /* 't': one thread at a time */
	size_t thread;              /* which one, index into the view's thread list */
	double refresh_s;           /* display update interval */
	size_t selected, scroll;    /* --opcodes: selected row */

	/* sampling as last reported, and as shown (frozen while paused and
	 * once finished) */
	struct tui_progress pr, shown;
	time_t shown_wall;
	uint64_t base_ticks, base_failed; /* at the last reset */
	uint64_t reset_ns;          /* when the last reset happened, 0 = never */
	uint64_t last_draw_ns;
	size_t *order;              /* scratch for the top 3 */
	size_t order_cap;
	struct buf name;            /* scratch: a name escaped for the screen (draw.c) */
};

/* Redraw the whole screen from the view (draw.c). */
void tui_draw(struct tui *t);
/* The start-up warning for a terminal under the minimum size (draw.c). */
void tui_draw_size_warning(struct tui *t);
/* The table source of the current view: a thread index, or -1 for all. */
long tui_source(const struct tui *t);
/* Rows that fit the table at height h (Tachyon's max_stats_lines). */
size_t tui_max_rows(const struct tui *t, int h);

#endif
