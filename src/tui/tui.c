/* tui.c - the live view's lifecycle and keys (Tachyon's LiveStatsCollector
 * without the collecting: the counts come from the profile, tui/view.c). */
#include "tui/tui_int.h"

#include "base/buf.h"
#include "base/error.h"
#include "tui/terminfo.h"

#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Tachyon's display refresh: 10 Hz, '+'/'-' in 0.05 s steps within 20..1 Hz */
#define REFRESH_S 0.1
#define REFRESH_STEP 0.05
#define REFRESH_MIN 0.05
#define REFRESH_MAX 1.0
/* How long the start-up "terminal too small" warning waits for a key.
 * Tachyon means to wait 2 s ("2 seconds timeout") but waits for a key. */
#define SIZE_WARNING_MS 2000
/* Key wait in the finished state, so the stop flag is seen. */
#define FINISHED_POLL_MS 50
/* A lone ESC (cancel the filter) should not take ncurses' default second. */
#define ESC_DELAY_MS 25

/* die() and any other exit() while the view is up: give the terminal back.
 * endwin() is harmless when curses is not (or no longer) active. */
static void restore_terminal(void)
{
	if (!isendwin())
		endwin();
}

/* ncursesw lays out UTF-8 only under a UTF-8 LC_CTYPE; like Python (PEP
 * 538), fall back to C.UTF-8 when the environment's locale is C/POSIX. */
static void utf8_ctype(void)
{
	setlocale(LC_CTYPE, "");
	if (strcmp(nl_langinfo(CODESET), "UTF-8") != 0)
		setlocale(LC_CTYPE, "C.UTF-8");
}

/* Tachyon's _setup_colors: the theme's colours, or bold/reverse without. */
static void setup_attrs(struct tui *t)
{
	struct tui_attrs *a = &t->a;
	if (t->cfg.color && has_colors() && start_color() == OK) {
		use_default_colors();
		enum { SAMPLES = 1, FILE_, FUNC, HEADER_BG, CYAN, YELLOW, GREEN, MAGENTA, RED, SORTED,
		       UP, DOWN };
		init_pair(SAMPLES, COLOR_CYAN, -1);
		init_pair(FILE_, COLOR_GREEN, -1);
		init_pair(FUNC, COLOR_YELLOW, -1);
		init_pair(HEADER_BG, COLOR_BLACK, COLOR_WHITE);
		init_pair(CYAN, COLOR_CYAN, -1);
		init_pair(YELLOW, COLOR_YELLOW, -1);
		init_pair(GREEN, COLOR_GREEN, -1);
		init_pair(MAGENTA, COLOR_MAGENTA, -1);
		init_pair(RED, COLOR_RED, -1);
		init_pair(SORTED, COLOR_BLACK, COLOR_CYAN);
		init_pair(UP, COLOR_GREEN, -1);
		init_pair(DOWN, COLOR_RED, -1);
		a->header = a->normal_header = COLOR_PAIR(HEADER_BG) | A_BOLD;
		a->cyan = COLOR_PAIR(CYAN) | A_BOLD;
		a->yellow = COLOR_PAIR(YELLOW) | A_BOLD;
		a->green = COLOR_PAIR(GREEN) | A_BOLD;
		a->magenta = COLOR_PAIR(MAGENTA) | A_BOLD;
		a->red = COLOR_PAIR(RED) | A_BOLD;
		a->sorted_header = COLOR_PAIR(SORTED) | A_BOLD;
		a->file = COLOR_PAIR(FILE_);
		a->func = COLOR_PAIR(FUNC);
		a->trend_up = COLOR_PAIR(UP) | A_BOLD;
		a->trend_down = COLOR_PAIR(DOWN) | A_BOLD;
		return;
	}
	a->header = a->normal_header = A_REVERSE | A_BOLD;
	a->cyan = a->yellow = a->green = a->magenta = a->red = A_BOLD;
	a->sorted_header = A_REVERSE | A_BOLD | A_UNDERLINE;
	a->file = a->func = A_NORMAL;
	a->trend_up = a->trend_down = A_BOLD;
}

static bool stopped(const struct tui *t)
{
	return t->cfg.stop && *t->cfg.stop;
}

/* Tachyon's start-up warning when the terminal is too small. */
static void size_warning(struct tui *t)
{
	getmaxyx(stdscr, t->h, t->w);
	if (t->w >= TUI_MIN_WIDTH && t->h >= TUI_MIN_HEIGHT)
		return;
	tui_draw_size_warning(t);
	wtimeout(stdscr, FINISHED_POLL_MS);
	for (int waited = 0; waited < SIZE_WARNING_MS && !stopped(t); waited += FINISHED_POLL_MS)
		if (getch() != ERR)
			break;
	nodelay(stdscr, TRUE);
}

/* newterm, with strobe's own copy of TERM's entry when the system has
 * none (terminfo.c); *why is set when there is no screen */
static SCREEN *open_screen(const char **why)
{
	SCREEN *s = newterm(NULL, stdout, stdin);
	if (s)
		return s;
	struct tui_terminfo_dir d;
	int rc = tui_terminfo_unpack(getenv("TERM"), &d);
	if (rc != 0) {
		*why = rc == ERR_NOTFOUND ? "no terminfo entry for it here or in strobe"
					  : "no terminfo entry for it here and no temporary "
					    "directory to unpack strobe's own";
		return NULL;
	}
	/* setenv is safe here: --live runs no other thread (--subprocesses,
	 * the only one that would, is refused with it) */
	const char *was = getenv("TERMINFO");
	char *old = was ? xstrdup(was) : NULL;
	setenv("TERMINFO", d.dir, 1);
	s = newterm(NULL, stdout, stdin);
	if (old)
		setenv("TERMINFO", old, 1);
	else
		unsetenv("TERMINFO");
	free(old);
	tui_terminfo_remove(&d);
	if (!s)
		*why = "ncurses refused it";
	return s;
}

int tui_open(struct tui **out, const struct tui_config *cfg, const struct profile *p,
	     struct errmsg *e)
{
	struct tui *t = xcalloc(1, sizeof(*t));
	t->cfg = *cfg;
	t->p = p;
	if (!isatty(STDOUT_FILENO)) {
		errmsg_set(e, "standard output is not a terminal");
		free(t);
		return ERR_IO;
	}
	utf8_ctype();
	fflush(stdout);
	const char *why = "";
	t->screen = open_screen(&why);
	if (!t->screen) {
		const char *term = getenv("TERM");
		errmsg_set(e, "cannot drive the terminal (TERM=%s): %s", term ? term : "unset", why);
		free(t);
		return ERR_IO;
	}
	set_term(t->screen);
	atexit(restore_terminal);
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	leaveok(stdscr, TRUE);
	scrollok(stdscr, FALSE);
	idlok(stdscr, FALSE);
	set_escdelay(ESC_DELAY_MS);
	setup_attrs(t);
	view_init(&t->view, p, cfg->interval_us, cfg->opcodes);
	t->sort = VIEW_TOTTIME; /* the CLI's initial sort */
	t->refresh_s = REFRESH_S;
	t->shown_wall = time(NULL);
	size_warning(t);
	erase();
	refresh();
	*out = t;
	return 0;
}

long tui_source(const struct tui *t)
{
	if (t->per_thread && t->thread < view_nthreads(&t->view))
		return (long)t->thread;
	return -1;
}

size_t tui_max_rows(const struct tui *t, int h)
{
	int n = h - TUI_HEADER_LINES - (t->finished ? TUI_FINISHED_LINES : 0) - TUI_FOOTER_LINES -
		TUI_SAFETY_MARGIN;
	return n > 0 ? (size_t)n : 0;
}

uint64_t tui_samples(const struct tui *t, const struct tui_progress *pr)
{
	return (pr->ticks - t->base_ticks) - (pr->failed - t->base_failed);
}

/* ------------------------------------------------------------------ */
/* Keys                                                                 */

static void reset(struct tui *t)
{
	view_reset(&t->view);
	t->per_thread = false;
	t->thread = 0;
	t->base_ticks = t->pr.ticks;
	t->base_failed = t->pr.failed;
	t->reset_ns = t->pr.now_ns ? t->pr.now_ns : 1;
	t->shown = t->pr;
	t->shown_wall = time(NULL);
}

/* Tachyon's _get_visible_rows_info, on the table last drawn. */
static void visible_rows(const struct tui *t, size_t *visible, size_t *total)
{
	int v = t->h - 8 - 2 - TUI_OPCODE_PANEL;
	*visible = v > 1 ? (size_t)v : 1;
	*total = t->table.nrows;
}

static void select_down(struct tui *t)
{
	size_t visible, total;
	if (!t->cfg.opcodes)
		return;
	visible_rows(t, &visible, &total);
	if (!total)
		return;
	size_t max_scroll = total > visible ? total - visible : 0;
	if (t->scroll + t->selected < total - 1) {
		if (t->selected < visible - 1)
			t->selected++;
		else if (t->scroll < max_scroll)
			t->scroll++;
	}
	if (t->scroll > max_scroll)
		t->scroll = max_scroll;
	size_t max_sel = total - t->scroll - 1 < visible - 1 ? total - t->scroll - 1 : visible - 1;
	if (t->selected > max_sel)
		t->selected = max_sel;
}

static void select_up(struct tui *t)
{
	size_t visible, total;
	if (!t->cfg.opcodes)
		return;
	if (t->selected > 0)
		t->selected--;
	else if (t->scroll > 0)
		t->scroll--;
	visible_rows(t, &visible, &total);
	if (total) {
		size_t max_scroll = total > visible ? total - visible : 0;
		if (t->scroll > max_scroll)
			t->scroll = max_scroll;
		size_t max_sel = total - t->scroll - 1 < visible - 1 ? total - t->scroll - 1 : visible - 1;
		if (t->selected > max_sel)
			t->selected = max_sel;
	}
}

static void thread_step(struct tui *t, int dir)
{
	size_t n = view_nthreads(&t->view);
	if (!n)
		return;
	if (!t->per_thread) {
		t->per_thread = true;
		t->thread = dir > 0 ? 0 : n - 1;
	} else {
		t->thread = (t->thread + n + (size_t)(dir > 0 ? 1 : n - 1)) % n;
	}
}

static void filter_key(struct tui *t, int ch)
{
	if (ch == 27) { /* ESC */
		t->filtering = false;
		t->ninput = 0;
	} else if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		t->input[t->ninput] = '\0';
		view_set_filter(&t->view, t->input);
		t->filtering = false;
		t->ninput = 0;
	} else if (ch == 127 || ch == KEY_BACKSPACE) {
		if (t->ninput)
			t->ninput--;
	} else if (ch >= 32 && ch < 127 && t->ninput + 1 < sizeof(t->input)) {
		t->input[t->ninput++] = (char)ch;
	}
}

static void handle_key(struct tui *t, int ch)
{
	if (ch == KEY_RESIZE)
		return; /* only a redraw at the new size */
	if (t->filtering) {
		filter_key(t, ch);
		return;
	}
	if (ch == 'h' || ch == 'H' || ch == '?') {
		t->help = !t->help;
		return;
	}
	if (t->help) { /* any other key closes the help */
		t->help = false;
		return;
	}
	switch (ch) {
	case 'q':
	case 'Q':
		t->quit = true;
		break;
	case 's':
		t->sort = (enum view_col)((t->sort + 1) % VIEW_NCOLS);
		break;
	case 'S':
		t->sort = (enum view_col)((t->sort + VIEW_NCOLS - 1) % VIEW_NCOLS);
		break;
	case 'p':
	case 'P':
		t->paused = !t->paused;
		break;
	case 'r':
	case 'R':
		if (!t->finished)
			reset(t);
		break;
	case '+':
	case '=':
		t->refresh_s = t->refresh_s - REFRESH_STEP > REFRESH_MIN ? t->refresh_s - REFRESH_STEP
									: REFRESH_MIN;
		break;
	case '-':
	case '_':
		t->refresh_s = t->refresh_s + REFRESH_STEP < REFRESH_MAX ? t->refresh_s + REFRESH_STEP
									: REFRESH_MAX;
		break;
	case 'c':
	case 'C':
		if (t->view.filter)
			view_set_filter(&t->view, NULL);
		break;
	case '/':
		t->filtering = true;
		t->ninput = 0;
		if (t->view.filter) {
			size_t n = strlen(t->view.filter);
			t->ninput = n < sizeof(t->input) - 1 ? n : sizeof(t->input) - 1;
			memcpy(t->input, t->view.filter, t->ninput);
		}
		break;
	case 't':
	case 'T':
		if (t->per_thread)
			t->per_thread = false;
		else if (view_nthreads(&t->view)) {
			t->per_thread = true;
			t->thread = 0;
		}
		break;
	case 'x':
	case 'X':
		t->view.trends = !t->view.trends;
		break;
	case 'j':
	case 'J':
		select_down(t);
		break;
	case 'k':
	case 'K':
		select_up(t);
		break;
	case KEY_UP:
		if (t->cfg.opcodes)
			select_up(t);
		else
			thread_step(t, -1);
		break;
	case KEY_DOWN:
		if (t->cfg.opcodes)
			select_down(t);
		else
			thread_step(t, +1);
		break;
	case KEY_LEFT:
		thread_step(t, -1);
		break;
	case KEY_RIGHT:
		thread_step(t, +1);
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------------ */

/* Take in new samples (unless the display is frozen) and draw. */
static void refresh_view(struct tui *t)
{
	if (!t->paused && !t->finished) {
		view_update(&t->view);
		t->shown = t->pr;
		t->shown_wall = time(NULL);
	}
	tui_draw(t);
	t->last_draw_ns = t->pr.now_ns;
}

bool tui_tick(struct tui *t, const struct tui_progress *pr)
{
	t->pr = *pr;
	bool input = false;
	int ch;
	while ((ch = getch()) != ERR) {
		handle_key(t, ch);
		input = true;
		if (t->quit)
			return true;
	}
	bool due = !t->paused && pr->now_ns - t->last_draw_ns >= (uint64_t)(t->refresh_s * 1e9);
	if (due || input)
		refresh_view(t);
	return false;
}

void tui_finished(struct tui *t, const struct tui_progress *pr)
{
	t->pr = *pr;
	view_update(&t->view);
	t->shown = *pr;
	t->shown_wall = time(NULL);
	t->finished = true;
	tui_draw(t);
	wtimeout(stdscr, FINISHED_POLL_MS);
	while (!t->quit && !stopped(t)) {
		int ch = getch();
		if (ch == ERR)
			continue;
		handle_key(t, ch);
		if (!t->quit)
			tui_draw(t);
	}
	nodelay(stdscr, TRUE);
}

void tui_close(struct tui *t, bool clear)
{
	if (clear) {
		erase();
		refresh();
	}
	curs_set(1);
	endwin();
	delscreen(t->screen);
	view_table_release(&t->table);
	view_release(&t->view);
	free(t->order);
	buf_release(&t->name);
	free(t);
}
