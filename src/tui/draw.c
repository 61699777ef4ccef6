/* draw.c - the live view's screen: Tachyon's widgets (header, table, opcode
 * panel, footer, help, "terminal too small"), line by line and column by
 * column as its live_collector/widgets.py lays them out. */
#include "tui/tui_int.h"

#include "base/utf8.h"
#include "tui/text.h"

#include <stdio.h>
#include <string.h>

/* Tachyon's column width thresholds and widths */
#define W_SAMPLE_PCT 80
#define W_TOTTIME 100
#define W_CUMUL_PCT 120
#define W_CUMTIME 140
#define MIN_FUNC_W 10
#define MAX_FUNC_W 40
#define MIN_BAR 10
#define MAX_RATE_BAR 30
#define MAX_EFF_BAR 60
#define MIN_RATE_FOR_SCALING 100.0

static const char SEP[] = " \xe2\x94\x82 ";        /* " │ " */
static const char FULL[] = "\xe2\x96\x88";          /* █ */
static const char EMPTY[] = "\xe2\x96\x91";         /* ░ */
static const char RULE[] = "\xe2\x94\x80";          /* ─ */

/* Tachyon's add_str: nothing outside the screen; cut to the columns left
 * but one (in code points). */
static void put(struct tui *t, int y, int x, attr_t a, const char *s)
{
	if (y < 0 || y >= t->h || x < 0 || x >= t->w)
		return;
	size_t n = text_prefix(s, (size_t)(t->w - x - 1));
	if (!n)
		return;
	attrset(a);
	mvaddnstr(y, x, s, (int)n);
	attrset(A_NORMAL);
}

/* String id of the profile as the screen shows it.  Names are the
 * target's: their control characters go out escaped (base/utf8.h), so
 * curses never gets one.  It would draw ESC and most C0 controls as ^X,
 * but act on a newline (clear to the end of the line, go down), a tab or
 * a backspace, and a NUL would cut the name; escaped, every name is one
 * piece of text in its cell.  Valid until the next call. */
static const char *shown_str(struct tui *t, uint32_t id)
{
	size_t n;
	const char *s = strtab_get(&t->p->strings, id, &n);
	if (utf8_term_plain(s, n, 0))
		return s;
	buf_reset(&t->name);
	utf8_term_escape(&t->name, s, n, 0);
	return t->name.data;
}

/* s repeated n times into out (size bytes). */
static char *repeat(char *out, size_t size, const char *s, int n)
{
	size_t k = 0, l = strlen(s);
	for (int i = 0; i < n && k + l < size; i++, k += l)
		memcpy(out + k, s, l);
	out[k] = '\0';
	return out;
}

static int len(const char *s)
{
	return (int)text_len(s);
}

/* ------------------------------------------------------------------ */
/* Header                                                               */

static double elapsed_s(const struct tui *t)
{
	uint64_t start = t->shown.start_ns;
	if (!start && !t->reset_ns)
		return 0;
	if (t->reset_ns > start)
		start = t->reset_ns;
	return t->shown.now_ns > start ? (double)(t->shown.now_ns - start) / 1e9 : 0;
}

static uint64_t total_samples(const struct tui *t)
{
	return t->shown.ticks - t->base_ticks;
}

static uint64_t failed_samples(const struct tui *t)
{
	return t->shown.failed - t->base_failed;
}

static int draw_info(struct tui *t, int line)
{
	put(t, line, 0, A_BOLD | t->a.cyan, "strobe Profiler");
	line++;
	char uptime[32], clock[16], pid[24], interval[32], hz[32], thread[64];
	text_uptime(uptime, sizeof(uptime), elapsed_s(t));
	struct tm tm;
	localtime_r(&t->shown_wall, &tm);
	strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	snprintf(pid, sizeof(pid), "%d", t->cfg.pid);
	snprintf(interval, sizeof(interval), "%llu\xc2\xb5s", (unsigned long long)t->cfg.interval_us);
	snprintf(hz, sizeof(hz), "%.1fHz", t->refresh_s > 0 ? 1.0 / t->refresh_s : 0.0);
	attr_t tcolor = t->a.green;
	long src = tui_source(t);
	if (src >= 0) {
		snprintf(thread, sizeof(thread), "%llu (%ld/%zu)",
			 (unsigned long long)view_thread_tid(&t->view, (size_t)src), src + 1,
			 view_nthreads(&t->view));
		tcolor = t->a.magenta;
	} else {
		strcpy(thread, "ALL");
	}
	const struct {
		const char *text;
		attr_t attr;
	} parts[] = {
		{ "PID: ", A_BOLD }, { pid, t->a.cyan }, { SEP, A_DIM },
		{ "Thread: ", A_BOLD }, { thread, tcolor }, { SEP, A_DIM },
		{ "Uptime: ", A_BOLD }, { uptime, t->a.green }, { SEP, A_DIM },
		{ "Time: ", A_BOLD }, { clock, t->a.yellow }, { SEP, A_DIM },
		{ "Interval: ", A_BOLD }, { interval, t->a.magenta }, { SEP, A_DIM },
		{ "Display: ", A_BOLD }, { hz, t->a.cyan },
	};
	int col = 0;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (col < t->w - 1) {
			put(t, line, col, parts[i].attr, parts[i].text);
			col += len(parts[i].text);
		}
	}
	return line + 1;
}

static int draw_samples(struct tui *t, int line, double elapsed)
{
	uint64_t total = total_samples(t);
	double rate = elapsed > 0 ? (double)total / elapsed : 0;
	char buf[512], cur[32], target[32], label[96];
	int col = 0;
	put(t, line, col, A_BOLD, "Samples: ");
	col += 9;
	snprintf(buf, sizeof(buf), "%8llu", (unsigned long long)total);
	put(t, line, col, t->a.cyan, buf);
	col += 8;
	snprintf(buf, sizeof(buf), " total (%7.1f/s) ", rate);
	put(t, line, col, A_NORMAL, buf);
	col += 23;

	double target_rate = 1e6 / (double)t->cfg.interval_us;
	text_rate(target, sizeof(target), target_rate);
	if (rate > 0 && target_rate > 0) {
		double pct = rate / target_rate * 100;
		if (pct > 100)
			pct = 100;
		text_rate(cur, sizeof(cur), rate);
		if (pct >= 99.5)
			snprintf(label, sizeof(label), " %s/%s (100%%)", cur, target);
		else
			snprintf(label, sizeof(label), " %s/%s (%4.1f%%)", cur, target, pct);
	} else {
		snprintf(label, sizeof(label), " target: %s", target);
	}
	int avail = t->w - col - len(label) - 3;
	if (avail >= MIN_BAR) {
		int bar_w = avail < MAX_RATE_BAR ? avail : MAX_RATE_BAR;
		double ref = target_rate > MIN_RATE_FOR_SCALING ? target_rate : MIN_RATE_FOR_SCALING;
		double norm = rate / ref;
		if (norm > 1)
			norm = 1;
		int fill = (int)(norm * bar_w);
		char bar[512] = "[";
		char cells[480];
		strcat(bar, repeat(cells, sizeof(cells), FULL, fill));
		strcat(bar, repeat(cells, sizeof(cells), EMPTY, bar_w - fill));
		strcat(bar, "]");
		put(t, line, col, t->a.green, bar);
		col += bar_w + 2;
		if (col + len(label) < t->w - 1)
			put(t, line, col + 1, A_DIM, label);
	}
	return line + 1;
}

static int draw_efficiency(struct tui *t, int line)
{
	uint64_t all = total_samples(t), failed = failed_samples(t), good = all - failed;
	double total = all ? (double)all : 1;
	char label[96], cells[480];
	int col = 0;
	put(t, line, col, A_BOLD, "Efficiency:");
	col += 11;
	snprintf(label, sizeof(label), " %5.2f%% good, %5.2f%% failed", (double)good / total * 100,
		 (double)failed / total * 100);
	int avail = t->w - col - len(label) - 3;
	if (avail >= MIN_BAR) {
		int bar_w = avail < MAX_EFF_BAR ? avail : MAX_EFF_BAR;
		int ok = (int)((double)good / total * bar_w), bad = bar_w - ok;
		put(t, line, col++, A_NORMAL, "[");
		if (ok > 0) {
			put(t, line, col, t->a.green, repeat(cells, sizeof(cells), FULL, ok));
			col += ok;
		}
		if (bad > 0) {
			put(t, line, col, t->a.red, repeat(cells, sizeof(cells), FULL, bad));
			col += bad;
		}
		put(t, line, col++, A_NORMAL, "]");
		put(t, line, col + 1, A_NORMAL, label);
	}
	return line + 1;
}

static int pct_stat(struct tui *t, int line, int col, double value, const char *label,
		    attr_t color, bool sep)
{
	char v[32], l[64];
	if (sep) {
		put(t, line, col, A_DIM, SEP);
		col += 3;
	}
	int n = snprintf(v, sizeof(v), "%4.1f", value);
	put(t, line, col, color, v);
	/* Tachyon advances 4 columns whatever the width, so "100.0" lost its
	 * last digit under the "%"; strobe moves past the whole number */
	col += n > 4 ? n : 4;
	snprintf(l, sizeof(l), "%% %s", label);
	put(t, line, col, A_NORMAL, l);
	return col + len(label) + 2;
}

static int draw_threads(struct tui *t, int line)
{
	struct view_status st;
	long src = tui_source(t);
	view_status(&t->view, src, &st);
	double total = st.total ? (double)st.total : 1;
	double on_gil = (double)st.has_gil / total * 100, off_gil = 100.0 - on_gil;
	double waiting = (double)st.gil_requested / total * 100;
	double exc = (double)st.has_exception / total * 100;
	double gc;
	if (src >= 0) {
		gc = (double)st.gc / (double)(st.samples ? st.samples : 1) * 100;
	} else {
		/* samples with a GC frame in some thread: GC runs in one thread
		 * at a time, so the threads' counts add up to it */
		uint64_t all = total_samples(t), g = st.gc < all ? st.gc : all;
		gc = (double)g / (double)(all ? all : 1) * 100;
	}
	int col = 0;
	put(t, line, col, A_BOLD, "Threads:   ");
	col += 11;
	if (!t->cfg.gil_mode) {
		col = pct_stat(t, line, col, on_gil, "on gil", t->a.green, false);
		col = pct_stat(t, line, col, off_gil, "off gil", t->a.red, true);
	}
	if (!t->cfg.gil_mode && col < t->w - 30)
		col = pct_stat(t, line, col, waiting, "waiting for gil", t->a.yellow, true);
	if (col < t->w - 15)
		col = pct_stat(t, line, col, exc, "exc", t->a.red, col > 11);
	if (col < t->w - 15)
		pct_stat(t, line, col, gc, "GC", t->a.magenta, col > 11);
	return line + 1;
}

static int draw_functions(struct tui *t, int line)
{
	const struct view_table *tb = &t->table;
	char n[32];
	int col = 0;
	put(t, line, col, A_BOLD, "Functions: ");
	col += 11;
	snprintf(n, sizeof(n), "%5llu", (unsigned long long)tb->nfuncs);
	put(t, line, col, t->a.cyan, n);
	col += 5;
	put(t, line, col, A_NORMAL, " total");
	col += 6;
	const struct {
		uint64_t value;
		const char *label;
		attr_t color;
		int room;
	} parts[] = {
		{ tb->nexec, " exec", t->a.green, 25 },
		{ tb->nfuncs - tb->nexec, " stack", t->a.yellow, 25 },
		{ tb->nrows, " shown", t->a.magenta, 20 },
	};
	for (size_t i = 0; i < 3; i++) {
		if (col >= t->w - parts[i].room)
			continue;
		put(t, line, col, A_DIM, SEP);
		col += 3;
		snprintf(n, sizeof(n), "%5llu", (unsigned long long)parts[i].value);
		put(t, line, col, parts[i].color, n);
		col += 5;
		put(t, line, col, A_NORMAL, parts[i].label);
		col += len(parts[i].label);
	}
	return line + 1;
}

static int draw_top3(struct tui *t, int line)
{
	static const char *const medals[] = { "\xf0\x9f\xa5\x87 ", "\xf0\x9f\xa5\x88 ",
					      "\xf0\x9f\xa5\x89 " }; /* 🥇 🥈 🥉 */
	attr_t colors[] = { t->a.red, t->a.yellow, t->a.green };
	const struct view_table *tb = &t->table;
	int col = 0, shown = 0;
	put(t, line, col, A_BOLD, "Top 3:     ");
	col += 11;
	/* Tachyon: sorted(stats_list, key=direct_calls, reverse=True), a
	 * stable sort of the shown rows */
	size_t n = tb->nrows;
	VEC_RESERVE(t->order, t->order_cap, n ? n : 1);
	for (size_t i = 0; i < n; i++) {
		size_t j = i;
		while (j > 0 && tb->rows[t->order[j - 1]].direct < tb->rows[i].direct) {
			t->order[j] = t->order[j - 1];
			j--;
		}
		t->order[j] = i;
	}
	for (size_t k = 0; k < n; k++) {
		if (shown >= 3 || col >= t->w - 20)
			break;
		const struct view_row *r = &tb->rows[t->order[k]];
		if (!r->direct)
			continue;
		const char *fname = shown_str(t, view_loc_get(&t->view, r->loc)->func);
		if (col + 3 < t->w - 15) {
			put(t, line, col, colors[shown], medals[shown]);
			col += 3;
		}
		int room = t->w - col - 15;
		size_t maxlen = room < 5 ? 5 : room > 25 ? 25 : (size_t)room;
		char name[256], pct[64];
		text_fit(name, sizeof(name), fname, maxlen, 0);
		if (col + len(name) < t->w - 10) {
			put(t, line, col, colors[shown], name);
			col += len(name);
			if (r->value[VIEW_SAMPLE_PCT] >= 0.1)
				snprintf(pct, sizeof(pct), " (%.1f%%)", r->value[VIEW_SAMPLE_PCT]);
			else
				snprintf(pct, sizeof(pct), " (%llu)", (unsigned long long)r->direct);
			put(t, line, col, A_DIM, pct);
			col += len(pct);
			shown++;
			if (shown < 3 && col < t->w - 30) {
				put(t, line, col, A_DIM, SEP);
				col += 3;
			}
		}
	}
	if (shown == 0 && col < t->w - 25)
		put(t, line, col, A_DIM, "(collecting samples...)");
	return line + 1;
}

static int draw_finished_banner(struct tui *t, int line)
{
	static const char msg[] =
		"  \xe2\x9c\x93 PROFILING COMPLETE - Final Results Below - Press 'q' to Quit  ";
	char full[512];
	int mlen = len(msg);
	line++;
	if (mlen < t->w - 1) {
		int pad = t->w - mlen - 1, left = pad / 2;
		snprintf(full, sizeof(full), "%*s%s%*s", left, "", msg, pad - left, "");
	} else {
		snprintf(full, sizeof(full), "%s", msg);
	}
	put(t, line, 0, A_REVERSE | A_BOLD | t->a.green, full);
	return line + 2;
}

static int draw_header(struct tui *t, int line, double elapsed)
{
	char rule[4096];
	line = draw_info(t, line);
	line = draw_samples(t, line, elapsed);
	line = draw_efficiency(t, line);
	line = draw_threads(t, line);
	line = draw_functions(t, line);
	line = draw_top3(t, line);
	if (t->finished)
		line = draw_finished_banner(t, line);
	put(t, line, 0, A_DIM, repeat(rule, sizeof(rule), RULE, t->w - 1));
	return line + 1;
}

/* ------------------------------------------------------------------ */
/* Table                                                                */

struct columns {
	bool sample_pct, tottime, cumul_pct, cumtime;
};

static int func_width(int w, int col)
{
	int fw = (w - col - 1) / 2;
	return fw < MIN_FUNC_W ? MIN_FUNC_W : fw > MAX_FUNC_W ? MAX_FUNC_W : fw;
}

static int draw_column_headers(struct tui *t, int line, struct columns *c)
{
	c->sample_pct = t->w >= W_SAMPLE_PCT;
	c->tottime = t->w >= W_TOTTIME;
	c->cumul_pct = t->w >= W_CUMUL_PCT;
	c->cumtime = t->w >= W_CUMTIME;
	const struct {
		bool shown;
		const char *name;
		int width;
	} cols[VIEW_NCOLS] = {
		[VIEW_NSAMPLES] = { true, "nsamples", 13 },
		[VIEW_SAMPLE_PCT] = { c->sample_pct, "%", 5 },
		[VIEW_TOTTIME] = { c->tottime, "tottime", 10 },
		[VIEW_CUMUL_PCT] = { c->cumul_pct, "%", 5 },
		[VIEW_CUMTIME] = { c->cumtime, "cumtime", 10 },
	};
	char text[512];
	put(t, line, 0, t->a.normal_header, repeat(text, sizeof(text), " ", t->w - 1));
	int col = 0;
	for (int i = 0; i < VIEW_NCOLS; i++) {
		if (!cols[i].shown)
			continue;
		bool sorted = (int)t->sort == i;
		char name[32];
		snprintf(name, sizeof(name), "%s%s", sorted ? "\xe2\x96\xbc" : "", cols[i].name); /* ▼ */
		int pad = cols[i].width - len(name);
		snprintf(text, sizeof(text), "%*s%s", pad > 0 ? pad : 0, "", name);
		put(t, line, col, sorted ? t->a.sorted_header : t->a.normal_header, text);
		col += cols[i].width + 2;
	}
	if (col < t->w - 15) {
		int fw = func_width(t->w, col);
		put(t, line, col, t->a.normal_header, "function");
		col += fw + 2;
		if (col < t->w - 10)
			put(t, line, col, t->a.normal_header, "file:line");
	}
	return line + 1;
}

static attr_t trend_attr(const struct tui *t, const struct view_row *r, int c, bool selected)
{
	if (selected)
		return A_REVERSE | A_BOLD;
	if (!t->view.trends)
		return A_NORMAL;
	return r->trend[c] == TREND_UP ? t->a.trend_up
	       : r->trend[c] == TREND_DOWN ? t->a.trend_down : A_NORMAL;
}

static int draw_rows(struct tui *t, int line, const struct columns *c)
{
	bool opcodes = t->cfg.opcodes;
	int panel = opcodes ? TUI_OPCODE_PANEL : 0;
	size_t first = opcodes ? t->scroll : 0;
	char buf[1024], tmp[512];
	for (size_t i = first; i < t->table.nrows; i++) {
		if (line >= t->h - TUI_FOOTER_LINES - panel)
			break;
		const struct view_row *r = &t->table.rows[i];
		const struct frame_line *loc = view_loc_get(&t->view, r->loc);
		bool sel = opcodes && i - first == t->selected;
		int col = 0;
		if (sel)
			put(t, line, 0, A_REVERSE | A_BOLD, repeat(tmp, sizeof(tmp), " ", t->w - 1));
		if (opcodes) {
			put(t, line, col, sel ? A_REVERSE | A_BOLD : A_NORMAL,
			    sel ? "\xe2\x96\xba" : " "); /* ► */
			col += 2;
		}
		snprintf(tmp, sizeof(tmp), "%llu/%llu", (unsigned long long)r->direct,
			 (unsigned long long)r->cum);
		snprintf(buf, sizeof(buf), "%13s  ", tmp);
		put(t, line, col, trend_attr(t, r, VIEW_NSAMPLES, sel), buf);
		col += 15;
		const struct {
			bool shown;
			int col;
			int width, prec;
		} vals[] = {
			{ c->sample_pct, VIEW_SAMPLE_PCT, 5, 1 },
			{ c->tottime, VIEW_TOTTIME, 10, 3 },
			{ c->cumul_pct, VIEW_CUMUL_PCT, 5, 1 },
			{ c->cumtime, VIEW_CUMTIME, 10, 3 },
		};
		for (size_t k = 0; k < 4; k++) {
			if (!vals[k].shown)
				continue;
			snprintf(buf, sizeof(buf), "%*.*f  ", vals[k].width, vals[k].prec,
				 r->value[vals[k].col]);
			put(t, line, col, trend_attr(t, r, vals[k].col, sel), buf);
			col += vals[k].width + 2;
		}
		if (col < t->w - 15) {
			int fw = func_width(t->w, col);
			text_fit(buf, sizeof(buf), shown_str(t, loc->func), (size_t)fw, 1);
			put(t, line, col, sel ? A_REVERSE | A_BOLD : t->a.func, buf);
			col += fw + 2;
			if (col < t->w - 10) {
				snprintf(buf, sizeof(buf), "%s:%d", text_short_path(shown_str(t, loc->file)),
					 loc->line);
				put(t, line, col, sel ? A_REVERSE | A_BOLD : t->a.file, buf);
			}
		}
		line++;
	}
	return line;
}

/* ------------------------------------------------------------------ */
/* Opcode panel (--opcodes)                                             */

#define PANEL_ROWS 8
#define PANEL_BAR 20

static int draw_opcodes(struct tui *t, int line)
{
	size_t at = t->scroll + t->selected;
	if (at >= t->table.nrows) {
		put(t, line, 0, A_NORMAL, "No function selected (use j/k to select)");
		return line + 1;
	}
	const struct view_row *r = &t->table.rows[at];
	const char *fname = shown_str(t, view_loc_get(&t->view, r->loc)->func);
	int ops[PANEL_ROWS];
	uint64_t counts[PANEL_ROWS], total;
	size_t n = view_opcodes(&t->view, r->loc, ops, counts, PANEL_ROWS, &total);
	char buf[1024], rule[2048], name[256], bar[256];
	if (!n) {
		snprintf(buf, sizeof(buf), "No opcode data for %s(): none of its samples executed bytecode", fname);
		put(t, line, 0, A_NORMAL, buf);
		return line + 1;
	}
	snprintf(buf, sizeof(buf), "\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80 Opcodes for %s() ", fname);
	int rest = t->w - len(buf) - 1;
	snprintf(rule, sizeof(rule), "%s%s", buf, repeat(bar, sizeof(bar), RULE, rest > 0 ? rest : 0));
	put(t, line, 0, A_BOLD, rule);
	line++;
	int max_rows = t->h - line - 3;
	if (max_rows > PANEL_ROWS)
		max_rows = PANEL_ROWS;
	uint64_t max_count = counts[0];
	int drawn = 0;
	for (int i = 0; i < max_rows && (size_t)i < n; i++) {
		if (line >= t->h - 3)
			break;
		if (t->cfg.opcode_name)
			t->cfg.opcode_name(t->cfg.opcode_ctx, ops[i], name, sizeof(name));
		else
			snprintf(name, sizeof(name), "<%d>", ops[i]);
		int fill = max_count ? (int)((double)counts[i] / (double)max_count * PANEL_BAR) : 0;
		char full[128], empty[128];
		snprintf(bar, sizeof(bar), "%s%s", repeat(full, sizeof(full), FULL, fill),
			 repeat(empty, sizeof(empty), EMPTY, PANEL_BAR - fill));
		double pct = total ? (double)counts[i] / (double)total * 100 : 0;
		char padded[256];
		text_fit(padded, sizeof(padded), name, text_len(name) > 35 ? text_len(name) : 35, 1);
		snprintf(buf, sizeof(buf), "[%s] %s %5.1f%% (%6llu)", bar, padded, pct,
			 (unsigned long long)counts[i]);
		buf[text_prefix(buf, t->w > 3 ? (size_t)(t->w - 3) : 0)] = '\0';
		put(t, line, 2, A_NORMAL, buf);
		line++;
		drawn++;
	}
	if ((int)n > max_rows && max_rows >= 0) {
		snprintf(buf, sizeof(buf), "... and %zu more opcodes", n - (size_t)max_rows);
		put(t, line, 2, A_NORMAL, buf);
		line++;
	}
	(void)drawn;
	return line;
}

/* ------------------------------------------------------------------ */
/* Footer, help, too small                                              */

static void draw_footer(struct tui *t, int line)
{
	static const char *const sort_names[VIEW_NCOLS] = {
		"Direct Samples", "Sample %", "Total Time", "Cumulative %", "Cumulative Time",
	};
	char footer[1024] = "";
	put(t, line, 0, A_DIM, "nsamples: direct/cumulative (direct=executing, cumulative=on stack)");
	line++;
	if (t->finished)
		strcat(footer, "[PROFILING FINISHED - Press 'q' to quit] ");
	else if (t->paused)
		strcat(footer, "[PAUSED] ");
	if (t->view.filter) {
		size_t k = strlen(footer);
		snprintf(footer + k, sizeof(footer) - k, "[Filter: %s (c to clear)] ", t->view.filter);
	}
	if (!t->view.trends)
		strncat(footer, "[Trend colors: OFF] ", sizeof(footer) - strlen(footer) - 1);
	if (!t->finished) {
		size_t k = strlen(footer);
		snprintf(footer + k, sizeof(footer) - k,
			 "Sort: %s | 't':mode 'x':trends \xe2\x86\x90\xe2\x86\x92:thread 'h':help 'q':quit",
			 sort_names[t->sort]);
	}
	put(t, line, 0, t->paused || t->finished ? A_BOLD : A_DIM, footer);
}

static void draw_filter_prompt(struct tui *t, int line)
{
	char prompt[512];
	snprintf(prompt, sizeof(prompt), "Function filter: %.*s_", (int)t->ninput, t->input);
	/* Tachyon writes the prompt over the controls line and leaves the
	 * rest of that line behind; strobe clears it */
	move(line, 0);
	clrtoeol();
	put(t, line, 0, A_REVERSE | A_BOLD, prompt);
}

static void draw_help(struct tui *t)
{
	static const struct {
		const char *text;
		bool bold;
	} lines[] = {
		{ "strobe Profiler - Interactive Commands", true },
		{ "", false },
		{ "Navigation & Display:", true },
		{ "  s           - Cycle through sort modes (forward)", false },
		{ "  S           - Cycle through sort modes (backward)", false },
		{ "  t           - Toggle view mode (ALL / per-thread)", false },
		{ "  x           - Toggle trend colors (on/off)", false },
		{ "  j/k or \xe2\x86\x91/\xe2\x86\x93  - Select next/previous function (--opcodes)", false },
		{ "  \xe2\x86\x90 / \xe2\x86\x92       - Cycle through threads", false },
		{ "  +           - Faster display refresh rate", false },
		{ "  -           - Slower display refresh rate", false },
		{ "", false },
		{ "Control:", true },
		{ "  p           - Freeze display (snapshot)", false },
		{ "  r           - Reset all statistics", false },
		{ "", false },
		{ "Filtering:", true },
		{ "  /           - Enter function filter (substring)", false },
		{ "  c           - Clear filter", false },
		{ "  ESC         - Cancel filter input", false },
		{ "", false },
		{ "Other:", true },
		{ "  h or ?      - Show/hide this help", false },
		{ "  q           - Quit profiler", false },
		{ "", false },
		{ "Press any key to close this help screen", true },
	};
	int n = (int)(sizeof(lines) / sizeof(lines[0]));
	int start = (t->h - n) / 2;
	char buf[256];
	for (int i = 0; i < n; i++) {
		if (start + i >= t->h - 1)
			break;
		snprintf(buf, sizeof(buf), "%s", lines[i].text);
		buf[text_prefix(buf, t->w > 3 ? (size_t)(t->w - 3) : 0)] = '\0';
		put(t, start + i, 2, lines[i].bold ? A_BOLD : A_NORMAL, buf);
	}
}

static void centered(struct tui *t, int y, attr_t a, const char *s)
{
	int x = (t->w - len(s)) / 2;
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", s);
	buf[text_prefix(buf, t->w > 1 ? (size_t)(t->w - 1) : 0)] = '\0';
	put(t, y, x > 0 ? x : 0, a, buf);
}

static void draw_too_small(struct tui *t)
{
	char need[64], have[64];
	snprintf(need, sizeof(need), "Need: %dx%d", TUI_MIN_WIDTH, TUI_MIN_HEIGHT);
	snprintf(have, sizeof(have), "Have: %dx%d", t->w, t->h);
	if (t->h >= 4) {
		centered(t, t->h / 2 - 2, A_BOLD, "Terminal too small!");
		centered(t, t->h / 2 - 1, A_NORMAL, need);
		centered(t, t->h / 2, A_NORMAL, have);
		centered(t, t->h / 2 + 1, A_NORMAL, "Please resize");
	} else if (t->h >= 1) {
		put(t, 0, 0, A_BOLD, "Terminal too small!");
	}
}

void tui_draw_size_warning(struct tui *t)
{
	char req[64], cur[64];
	erase();
	snprintf(req, sizeof(req), "Required: %dx%d", TUI_MIN_WIDTH, TUI_MIN_HEIGHT);
	snprintf(cur, sizeof(cur), "Current:  %dx%d", t->w, t->h);
	if (t->h >= 5) {
		centered(t, t->h / 2 - 2, A_BOLD, "WARNING: Terminal too small!");
		centered(t, t->h / 2 - 1, A_NORMAL, req);
		centered(t, t->h / 2, A_NORMAL, cur);
		centered(t, t->h / 2 + 1, A_NORMAL, "Please resize your terminal for best experience");
		centered(t, t->h / 2 + 3, A_DIM, "Press any key to continue...");
	} else if (t->h >= 1) {
		put(t, 0, 0, A_BOLD, "WARNING: Terminal too small!");
	}
	refresh();
}

/* ------------------------------------------------------------------ */

void tui_draw(struct tui *t)
{
	erase();
	getmaxyx(stdscr, t->h, t->w);
	if (t->w < TUI_MIN_WIDTH || t->h < TUI_MIN_HEIGHT) {
		draw_too_small(t);
	} else if (t->help) {
		draw_help(t);
	} else {
		double elapsed = elapsed_s(t);
		long src = tui_source(t);
		uint64_t ok = total_samples(t) - failed_samples(t);
		view_build(&t->view, src, t->sort, tui_max_rows(t, t->h), ok, &t->table);
		struct columns c;
		int line = draw_header(t, 0, elapsed);
		line = draw_column_headers(t, line, &c);
		line = draw_rows(t, line, &c);
		if (t->cfg.opcodes)
			draw_opcodes(t, line);
		draw_footer(t, t->h - 2);
		if (t->filtering)
			draw_filter_prompt(t, t->h - 1);
	}
	wnoutrefresh(stdscr);
	doupdate();
}
