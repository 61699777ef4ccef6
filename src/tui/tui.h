/* tui.h - the live view (--live): a top-like screen drawn with ncurses from
 * the in-memory profile while sampling goes on, with Tachyon's layout and
 * keys (reference/tachyon.md §3).
 *
 * The sampler drives it: tui_tick() is called between samples every few
 * milliseconds; it reads the pending keys without waiting and redraws at
 * most at the display rate (10 Hz, '+'/'-' change it), taking in only what
 * the profile gained since the last refresh (tui/view.h).  So the view costs
 * the sampling loop a key poll per tick and a refresh ten times a second.
 *
 * Terminal state: tui_open() switches the terminal to curses mode and
 * registers an exit handler that restores it if the process exits without
 * tui_close() (die() on an error).  strobe's SIGINT/SIGTERM/SIGHUP handlers
 * must be installed before tui_open(), so curses keeps them.
 */
#ifndef STROBE_TUI_TUI_H
#define STROBE_TUI_TUI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct profile;
struct errmsg;
struct tui;

struct tui_config {
	int pid;                    /* shown in the header */
	uint64_t interval_us;       /* sampling interval: header, times */
	bool gil_mode;              /* --mode gil: the GIL figures are not shown */
	bool opcodes;               /* --opcodes: the opcode panel, row selection */
	bool color;                 /* colours (_colorize rules, decided by the caller) */
	/* Names opcode op of the target's Python into buf: "NAME", or
	 * "SPECIALIZED (BASE)".  NULL: "<op>". */
	void (*opcode_name)(void *ctx, int op, char *buf, size_t len);
	void *opcode_ctx;
	/* Raised by strobe's signal handlers; blocking waits end when it is. */
	const volatile sig_atomic_t *stop;
};

/* How far sampling has got. */
struct tui_progress {
	uint64_t ticks;             /* sampling attempts, failed ones included */
	uint64_t failed;            /* attempts that gave no sample */
	uint64_t start_ns;          /* CLOCK_MONOTONIC of the first sample; 0 before */
	uint64_t now_ns;
};

/* Start the view on the terminal (stdin/stdout) for profile p, which must
 * outlive it.  0, or ERR_IO with e explaining (no usable terminal). */
int tui_open(struct tui **out, const struct tui_config *cfg, const struct profile *p,
	     struct errmsg *e);

/* Handle pending keys and redraw if due.  Returns true once the user asked
 * to quit ('q'). */
bool tui_tick(struct tui *t, const struct tui_progress *pr);

/* Sampling is over: freeze the clock, take in the last samples, show the
 * "finished" screen, then handle keys until 'q' or the stop flag. */
void tui_finished(struct tui *t, const struct tui_progress *pr);

/* Samples that succeeded at pr since the last reset ('r'): Tachyon's
 * count for its 200-sample minimum. */
uint64_t tui_samples(const struct tui *t, const struct tui_progress *pr);

/* Restore the terminal (clearing the screen first if clear) and free t. */
void tui_close(struct tui *t, bool clear);

#endif
