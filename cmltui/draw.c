/*
 * cmltui's looks: colours or, without them, attributes; lines and boxes
 * in Unicode, the terminal's line drawing set or ASCII; bars and
 * sparklines; and the only way text reaches the screen, tui_print, which
 * shows control characters escaped and never lets a daemon's text
 * reprogram the terminal.
 */
#include "config.h"

#include <langinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "client.h"
#include "cmltui.h"

/* The colour pairs, by attribute: foreground, background (-1: default). */
static const struct {
	short fg, bg;
	attr_t extra; /* added to the colour */
	attr_t mono; /* without colours */
} tui_looks[TUI_A_COUNT] = {
	[TUI_A_NORMAL] = { -1, -1, 0, A_NORMAL },
	[TUI_A_TITLE] = { COLOR_WHITE, COLOR_BLUE, A_BOLD, A_REVERSE },
	[TUI_A_HELP] = { COLOR_BLACK, COLOR_CYAN, 0, A_REVERSE },
	[TUI_A_HEADING] = { COLOR_CYAN, -1, A_BOLD, A_BOLD | A_UNDERLINE },
	[TUI_A_SELECTED] = { COLOR_BLACK, COLOR_WHITE, 0, A_REVERSE },
	[TUI_A_OK] = { COLOR_GREEN, -1, 0, A_NORMAL },
	[TUI_A_WARN] = { COLOR_YELLOW, -1, A_BOLD, A_BOLD },
	[TUI_A_BAD] = { COLOR_RED, -1, A_BOLD, A_BOLD | A_UNDERLINE },
	[TUI_A_DIM] = { -1, -1, A_DIM, A_NORMAL },
	[TUI_A_BAR] = { COLOR_GREEN, -1, 0, A_REVERSE },
	[TUI_A_BANNER] = { COLOR_WHITE, COLOR_RED, A_BOLD, A_REVERSE },
	[TUI_A_FIELD] = { -1, -1, A_UNDERLINE, A_UNDERLINE },
};

void
tui_looks_init(struct tui *t, int no_color)
{
	int i;

	t->color = !no_color && has_colors();
	if (t->color && start_color() == ERR)
		t->color = 0;
	if (t->color)
		use_default_colors();
	for (i = 0; i < TUI_A_COUNT; i++) {
		if (!t->color || i == TUI_A_NORMAL || COLOR_PAIRS <= i) {
			t->attr[i] = tui_looks[i].mono;
			continue;
		}
		init_pair((short)i, tui_looks[i].fg, tui_looks[i].bg);
		t->attr[i] = COLOR_PAIR(i) | tui_looks[i].extra;
	}
}

/* Says whether the locale speaks UTF-8 (else bytes > 0x7f show as '?'). */
static int
tui_utf8(void)
{
	static int utf8 = -1;

	if (utf8 == -1)
		utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	return utf8;
}

int
tui_print(WINDOW *win, int y, int x, int n, const char *text)
{
	char *clean = format_clean(text != NULL ? text : "", 0);
	const char *p = clean;
	mbstate_t mbs;
	wchar_t wc;
	size_t len;
	int used = 0, w;

	if (n <= 0 || wmove(win, y, x) == ERR) {
		free(clean);
		return 0;
	}
	memset(&mbs, 0, sizeof mbs);
	while (*p != '\0' && used < n) {
		if ((unsigned char)*p < 0x80) {
			waddch(win, (unsigned char)*p);
			p++;
			used++;
			continue;
		}
		len = mbrtowc(&wc, p, strlen(p), &mbs);
		if (!tui_utf8() || len == (size_t)-1 || len == (size_t)-2 ||
		    len == 0 || (w = wcwidth(wc)) < 0) {
			/* not a character shown here */
			memset(&mbs, 0, sizeof mbs);
			waddch(win, '?');
			p += len == (size_t)-1 || len == (size_t)-2 ||
			    len == 0 ? 1 : len;
			used++;
			continue;
		}
		if (used + w > n)
			break;
		waddnstr(win, p, (int)len);
		p += len;
		used += w;
	}
	free(clean);
	return used;
}

int
tui_print_attr(struct tui *t, WINDOW *win, int y, int x, int n,
    enum tui_attr a, const char *text)
{
	int used;

	wattron(win, t->attr[a]);
	used = tui_print(win, y, x, n, text);
	wattroff(win, t->attr[a]);
	return used;
}

void
tui_box(struct tui *t, WINDOW *win, const char *title)
{
	int cols = getmaxx(win);
	char label[256];

	if (t->glyphs == TUI_GLYPHS_ASCII)
		wborder(win, '|', '|', '-', '-', '+', '+', '+', '+');
	else
		box(win, 0, 0);
	if (title != NULL && cols > 6) {
		snprintf(label, sizeof label, " %s ", title);
		tui_print_attr(t, win, 0, 2, cols - 4, TUI_A_HEADING, label);
	}
}

void
tui_hline(struct tui *t, WINDOW *win, int y, int x, int n)
{
	if (n <= 0)
		return;
	if (t->glyphs == TUI_GLYPHS_ASCII)
		mvwhline(win, y, x, '-', n);
	else
		mvwhline(win, y, x, 0, n);
}

/* The eighths of a cell, and the sparkline's levels, in Unicode. */
static const char *const tui_eighths[] = { "", "\u258f", "\u258e",
    "\u258d", "\u258c", "\u258b", "\u258a", "\u2589" };
static const char *const tui_levels[] = { "\u2581", "\u2582", "\u2583",
    "\u2584", "\u2585", "\u2586", "\u2587", "\u2588" };
static const char tui_ascii_levels[] = "_.-:=+*#";

void
tui_bar(struct tui *t, WINDOW *win, int y, int x, int width,
    double fraction)
{
	int cells, i, eighths;

	if (width <= 0)
		return;
	if (fraction < 0 || fraction != fraction)
		fraction = 0;
	if (fraction > 1)
		fraction = 1;
	eighths = (int)(fraction * width * 8 + 0.5);
	cells = eighths / 8;
	wmove(win, y, x);
	if (t->glyphs == TUI_GLYPHS_UTF8) {
		wattron(win, t->attr[TUI_A_OK]);
		for (i = 0; i < cells; i++)
			waddstr(win, "\u2588");
		if (cells < width && eighths % 8 != 0) {
			waddstr(win, tui_eighths[eighths % 8]);
			cells++;
		}
		wattroff(win, t->attr[TUI_A_OK]);
		wattron(win, t->attr[TUI_A_DIM]);
		for (i = cells; i < width; i++)
			waddstr(win, "\u00b7");
		wattroff(win, t->attr[TUI_A_DIM]);
		return;
	}
	/* '#' filled (reverse without colours), '.' empty */
	wattron(win, t->attr[TUI_A_BAR]);
	for (i = 0; i < cells; i++)
		waddch(win, '#');
	wattroff(win, t->attr[TUI_A_BAR]);
	for (i = cells; i < width; i++)
		waddch(win, '.');
}

void
tui_sparkline(struct tui *t, WINDOW *win, int y, int x,
    const double *samples, int n, double max)
{
	int i, level;
	double v;

	wmove(win, y, x);
	for (i = 0; i < n; i++) {
		v = max > 0 ? samples[i] / max : 0;
		if (v < 0 || v != v)
			v = 0;
		if (v > 1)
			v = 1;
		level = (int)(v * 7 + 0.5);
		if (t->glyphs == TUI_GLYPHS_UTF8)
			waddstr(win, tui_levels[level]);
		else
			waddch(win, tui_ascii_levels[level]);
	}
}

enum tui_attr
tui_state_attr(const char *state)
{
	static const struct {
		const char *word;
		enum tui_attr attr;
	} states[] = {
		{ "running", TUI_A_OK }, { "ready", TUI_A_OK },
		{ "ok", TUI_A_OK }, { "provisioned", TUI_A_OK },
		{ "verified", TUI_A_OK }, { "sealed", TUI_A_OK },
		{ "available", TUI_A_OK }, { "connected", TUI_A_OK },
		{ "starting", TUI_A_WARN }, { "stopping", TUI_A_WARN },
		{ "frozen", TUI_A_WARN }, { "warning", TUI_A_WARN },
		{ "unprovisioned", TUI_A_WARN }, { "factory", TUI_A_WARN },
		{ "stopped", TUI_A_DIM }, { "absent", TUI_A_DIM },
		{ "off", TUI_A_DIM }, { "none", TUI_A_DIM },
		{ "failed", TUI_A_BAD }, { "critical", TUI_A_BAD },
		{ "full", TUI_A_BAD }, { "broken", TUI_A_BAD },
		{ "unreachable", TUI_A_BAD }, { "error", TUI_A_BAD },
		{ "blocked", TUI_A_BAD }, { "locked", TUI_A_WARN },
	};
	size_t i;

	if (state == NULL)
		return TUI_A_NORMAL;
	for (i = 0; i < sizeof states / sizeof states[0]; i++)
		if (strcmp(state, states[i].word) == 0)
			return states[i].attr;
	return TUI_A_NORMAL;
}

char *
tui_bytes(char *buf, size_t size, long long bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB",
	    "TiB" };
	double v = (double)bytes;
	size_t u = 0;

	if (bytes < 0) {
		snprintf(buf, size, "-");
		return buf;
	}
	while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%lld B", bytes);
	else
		snprintf(buf, size, v < 10 ? "%.1f %s" : "%.0f %s", v,
		    units[u]);
	return buf;
}

char *
tui_duration(char *buf, size_t size, long long s)
{
	if (s < 0)
		snprintf(buf, size, "-");
	else if (s < 60)
		snprintf(buf, size, "%llds", s);
	else if (s < 3600)
		snprintf(buf, size, "%lldm %llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, size, "%lldh %lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, size, "%lldd %lldh", s / 86400,
		    s % 86400 / 3600);
	return buf;
}
