/*
 * The menus: the families of the command table, then a family's
 * commands, then a command's form (form.c), every level made from the
 * table at run time, so that a command added there is here without a
 * line of cmltui.  Lists are ncurses menus; the help of what is selected
 * (cmlsh's own help text) is shown beside them, or below them on a
 * narrow terminal.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <menu.h>

#include "client.h"
#include "cmltui.h"
#include "help.h"
#include "words.h"
#include "xmalloc.h"

/* From this width on the help is beside the list, else below it. */
#define MENU_WIDE 100
/* The list's share of the columns (wide) or of the rows (narrow), %. */
#define MENU_LIST_SHARE 45
/* Columns between the list and the help. */
#define MENU_GAP 2

/* One level of the menus: the families, or the commands of one. */
struct menu_view {
	const char *family; /* NULL: the families */
	const char **families; /* the families' list */
	const struct cmd_entry **cmds; /* a family's list */
	size_t n;

	MENU *menu;
	ITEM **items;
	char **names, **descs; /* what the items show, cut to fit */
	WINDOW *sub; /* the list's part of the body */
	int rows, cols; /* the body's size the menu was made for */
	int current; /* the selected entry */
	int help_top; /* the first line of the help shown */
};

int
tui_menu_offers(const struct cmd_entry *cmd)
{
	/*
	 * Every command of cmld's table, as cmlsh's help lists them all:
	 * the stage daemons' own tables are no one's to run.
	 */
	return cmd != NULL && cmd >= cmd_table &&
	    cmd < cmd_table + cmd_table_len;
}

/* Says whether list (n long) holds s. */
static int
menu_has(const char **list, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

const char **
tui_menu_families(void)
{
	const char **list;
	size_t i, j, n = 0;

	list = xcalloc(cmd_families_len + cmd_table_len + 1, sizeof *list);
	/*
	 * The families in their table's order, those with a command; then,
	 * as in cmlsh's help, a command's family missing from cmd_families.
	 */
	for (i = 0; i < cmd_families_len; i++) {
		for (j = 0; j < cmd_table_len; j++)
			if (tui_menu_offers(&cmd_table[j]) &&
			    strcmp(cmd_table[j].family, cmd_families[i].name) ==
			    0)
				break;
		if (j < cmd_table_len)
			list[n++] = cmd_families[i].name;
	}
	for (j = 0; j < cmd_table_len; j++)
		if (tui_menu_offers(&cmd_table[j]) &&
		    !menu_has(list, n, cmd_table[j].family))
			list[n++] = cmd_table[j].family;
	list[n] = NULL;
	return list;
}

const struct cmd_entry **
tui_menu_commands(const char *family)
{
	const struct cmd_entry **list;
	size_t i, n = 0;

	list = xcalloc(cmd_table_len + 1, sizeof *list);
	for (i = 0; i < cmd_table_len; i++)
		if (tui_menu_offers(&cmd_table[i]) &&
		    strcmp(cmd_table[i].family, family) == 0)
			list[n++] = &cmd_table[i];
	list[n] = NULL;
	return list;
}

/* Returns what the item of a command is called: its words but the first. */
static const char *
menu_command_name(const struct cmd_entry *cmd)
{
	const char *s = cmd->words + strcspn(cmd->words, " ");

	while (*s == ' ')
		s++;
	return *s != '\0' ? s : cmd->words;
}

/* Returns the first n columns of s (a new string). */
static char *
menu_cut(const char *s, size_t n)
{
	char *c = xstrdup(s);
	size_t len = strlen(c);

	while (len > 0 && format_width(c) > n) {
		/* back over a whole UTF-8 character */
		while (len > 0 && (c[len - 1] & 0xc0) == 0x80)
			len--;
		if (len > 0)
			len--;
		c[len] = '\0';
	}
	return c;
}

/* Takes the menu down: unposted, its items and their texts freed. */
static void
menu_unmake(struct menu_view *m)
{
	size_t i;

	if (m->menu != NULL) {
		m->current = item_index(current_item(m->menu));
		unpost_menu(m->menu);
		free_menu(m->menu);
		m->menu = NULL;
	}
	if (m->items != NULL) {
		for (i = 0; i < m->n; i++) {
			free_item(m->items[i]);
			free(m->names[i]);
			free(m->descs[i]);
		}
		free(m->items);
		free(m->names);
		free(m->descs);
		m->items = NULL;
		m->names = m->descs = NULL;
	}
	if (m->sub != NULL) {
		delwin(m->sub);
		m->sub = NULL;
	}
}

/* The name and the description of entry i. */
static void
menu_entry(struct menu_view *m, size_t i, const char **name,
    const char **desc)
{
	const struct cmd_family *f;

	if (m->family == NULL) {
		*name = m->families[i];
		f = cmd_find_family(m->families[i]);
		*desc = f != NULL ? f->summary : "";
	} else {
		*name = menu_command_name(m->cmds[i]);
		*desc = m->cmds[i]->summary;
	}
}

/*
 * Makes the menu for a list of rows x cols at y, x of win: each entry's
 * name, and its description cut to what is left of the width.
 */
static void
menu_make(struct tui *t, struct menu_view *m, WINDOW *win, int y, int x,
    int rows, int cols)
{
	const char *name, *desc;
	size_t i, width = 0, room;

	for (i = 0; i < m->n; i++) {
		menu_entry(m, i, &name, &desc);
		if (format_width(name) > width)
			width = format_width(name);
	}
	/* the mark, the name, a gap: the rest is the description's */
	room = (size_t)cols > width + 4 ? (size_t)cols - width - 4 : 0;
	m->items = xcalloc(m->n + 1, sizeof *m->items);
	m->names = xcalloc(m->n, sizeof *m->names);
	m->descs = xcalloc(m->n, sizeof *m->descs);
	for (i = 0; i < m->n; i++) {
		menu_entry(m, i, &name, &desc);
		m->names[i] = menu_cut(name, (size_t)cols - 2);
		m->descs[i] = menu_cut(desc, room);
		m->items[i] = new_item(m->names[i], m->descs[i]);
	}
	m->menu = new_menu(m->items);
	set_menu_mark(m->menu, "> ");
	set_menu_spacing(m->menu, 1, 0, 0);
	set_menu_fore(m->menu, t->attr[TUI_A_SELECTED]);
	set_menu_back(m->menu, t->attr[TUI_A_NORMAL]);
	set_menu_grey(m->menu, t->attr[TUI_A_DIM]);
	if (room == 0)
		menu_opts_off(m->menu, O_SHOWDESC);
	set_menu_format(m->menu, rows, 1);
	m->sub = derwin(win, rows, cols, y, x);
	set_menu_win(m->menu, win);
	set_menu_sub(m->menu, m->sub);
	if (m->current >= 0 && (size_t)m->current < m->n)
		set_current_item(m->menu, m->items[m->current]);
	m->rows = getmaxy(win);
	m->cols = getmaxx(win);
}

/* Returns the help of the selected entry (free it). */
static char *
menu_help_text(struct menu_view *m, size_t width)
{
	const struct cmd_entry **cmds;
	const struct cmd_family *f;
	char *buf = NULL, *syn;
	size_t len = 0, i;
	FILE *out;

	if (m->family != NULL)
		return tui_menu_help(m->cmds[m->current], width);
	if ((out = open_memstream(&buf, &len)) == NULL)
		return xstrdup("");
	/* a family: its summary and its commands' synopses */
	f = cmd_find_family(m->families[m->current]);
	fprintf(out, "%s%s%s\n\n", m->families[m->current],
	    f != NULL ? " - " : "", f != NULL ? f->summary : "");
	cmds = tui_menu_commands(m->families[m->current]);
	for (i = 0; cmds[i] != NULL; i++) {
		syn = cmd_synopsis(cmds[i]);
		fprintf(out, "  %s\n    ", syn);
		format_wrap(out, cmds[i]->summary, 4, 4, width);
		free(syn);
	}
	free(cmds);
	fclose(out);
	return buf;
}

char *
tui_menu_help(const struct cmd_entry *cmd, size_t width)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out;

	if ((out = open_memstream(&buf, &len)) == NULL)
		return xstrdup("");
	help_command(out, cmd, width);
	fclose(out);
	return buf;
}

/* Returns the bytes of the first line of s that fit in cols columns. */
static size_t
menu_fit(const char *s, size_t len, int cols)
{
	size_t i, brk = 0, w = 0;

	for (i = 0; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80 && ++w > (size_t)cols)
			break;
		if (s[i] == ' ')
			brk = i;
	}
	if (i == len)
		return len;
	/* at a blank where there is one, else where the columns end */
	return brk > 0 ? brk + 1 : i;
}

void
tui_menu_draw_text(struct tui *t, WINDOW *win, int y, int x, int rows,
    int cols, const char *text, int *top, enum tui_attr first,
    enum tui_attr rest)
{
	struct words lines = { NULL, 0 };
	const char *p = text, *nl;
	size_t len, fit;
	int i, from = top != NULL ? *top : 0;

	/* the lines, those too long broken */
	while (*p != '\0') {
		nl = strchr(p, '\n');
		len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		do {
			fit = menu_fit(p, len, cols);
			words_add(&lines, xasprintf("%.*s", (int)fit, p));
			p += fit;
			len -= fit;
		} while (len > 0);
		p = nl != NULL ? nl + 1 : p;
	}
	if (from > lines.argc - rows)
		from = lines.argc - rows;
	if (from < 0)
		from = 0;
	if (top != NULL)
		*top = from;
	for (i = 0; i < rows && from + i < lines.argc; i++) {
		if (i == rows - 1 && from + i < lines.argc - 1) {
			tui_print_attr(t, win, y + i, x, cols, TUI_A_DIM,
			    "... (PgDn: more)");
			break;
		}
		tui_print_attr(t, win, y + i, x, cols,
		    from + i == 0 ? first : rest, lines.argv[from + i]);
	}
	words_free(&lines);
}

/*
 * Draws a menu: the list (made anew for the body's size) and the help of
 * the selected entry beside it on a wide terminal, else below it.
 */
static void
menu_draw(struct tui *t, struct tui_view *v, WINDOW *win)
{
	struct menu_view *m = v->data;
	int rows, cols, lr, lc, hy, hx, hr, hc, wide;
	char *help, *heading;

	getmaxyx(win, rows, cols);
	wide = cols >= MENU_WIDE;
	if (wide) {
		lr = rows - 2;
		lc = cols * MENU_LIST_SHARE / 100;
		hy = 0;
		hx = lc + MENU_GAP;
		hr = rows;
		hc = cols - hx - 1;
	} else {
		lr = (int)m->n < rows * MENU_LIST_SHARE / 100 ? (int)m->n :
		    rows * MENU_LIST_SHARE / 100;
		lc = cols - 2;
		hy = lr + 3;
		hx = 1;
		hr = rows - hy;
		hc = cols - 2;
	}
	if (lr < 1)
		lr = 1;
	menu_unmake(m);
	heading = m->family == NULL ? xstrdup("Families of commands") :
	    xasprintf("Commands of %s", m->family);
	tui_print_attr(t, win, 0, 1, lc, TUI_A_HEADING, heading);
	free(heading);
	menu_make(t, m, win, 1, 1, lr, lc);
	post_menu(m->menu);
	m->current = item_index(current_item(m->menu));

	if (!wide)
		tui_hline(t, win, lr + 2, 0, cols);
	help = menu_help_text(m, (size_t)hc);
	tui_menu_draw_text(t, win, hy, hx, hr, hc, help, &m->help_top,
	    TUI_A_HEADING, TUI_A_NORMAL);
	free(help);
}

/* Opens the selected entry: a family's commands, or a command's form. */
static void
menu_open(struct tui *t, struct menu_view *m)
{
	const struct cmd_arg **args;

	if (m->family == NULL) {
		tui_menu_push_family(t, m->families[m->current]);
		return;
	}
	/* with nothing to fill in, no form: it runs */
	args = tui_form_args(m->cmds[m->current]);
	if (args[0] == NULL)
		tui_run_command(t, m->cmds[m->current], NULL);
	else
		tui_form_push(t, m->cmds[m->current], NULL);
	free(args);
}

/* A menu's keys: moving, opening, the help scrolled or whole. */
static int
menu_key(struct tui *t, struct tui_view *v, int ch)
{
	struct menu_view *m = v->data;
	int req = 0;

	if (m->menu == NULL)
		return 0;
	switch (ch) {
	case KEY_UP:
	case 'k':
		req = REQ_UP_ITEM;
		break;
	case KEY_DOWN:
	case 'j':
		req = REQ_DOWN_ITEM;
		break;
	case KEY_HOME:
		req = REQ_FIRST_ITEM;
		break;
	case KEY_END:
		req = REQ_LAST_ITEM;
		break;
	case KEY_PPAGE:
		m->help_top -= getmaxy(t->body) / 2;
		v->dirty = 1;
		return 1;
	case KEY_NPAGE:
		m->help_top += getmaxy(t->body) / 2;
		v->dirty = 1;
		return 1;
	case KEY_RIGHT:
	case 'l':
		menu_open(t, m);
		return 1;
	case KEY_F(2):
	case 'm':
		/* the menus are open already: not a second time on top */
		return 1;
	case KEY_F(3):
		if (m->family != NULL) {
			char *help = menu_help_text(m, 78);

			tui_text_push(t, m->cmds[m->current]->words, help);
			free(help);
		}
		return 1;
	default:
		if (TUI_IS_ENTER(ch)) {
			menu_open(t, m);
			return 1;
		}
		return 0;
	}
	if (menu_driver(m->menu, req) == E_OK) {
		m->current = item_index(current_item(m->menu));
		m->help_top = 0;
	}
	v->dirty = 1;
	return 1;
}

/* Frees a menu and its lists. */
static void
menu_free(struct tui_view *v)
{
	struct menu_view *m = v->data;

	menu_unmake(m);
	free(m->families);
	free(m->cmds);
	free(m);
}

static const struct tui_view_ops menu_ops = {
	.name = "menu",
	.draw = menu_draw,
	.key = menu_key,
	.free = menu_free,
	.help = "Enter open  PgDn help  F3 all of it  Esc back",
};

void
tui_menu_push(struct tui *t)
{
	struct menu_view *m = xcalloc(1, sizeof *m);

	m->families = tui_menu_families();
	while (m->families[m->n] != NULL)
		m->n++;
	tui_push(t, tui_view_new(&menu_ops, m, "Menu"));
}

void
tui_menu_push_family(struct tui *t, const char *family)
{
	struct menu_view *m = xcalloc(1, sizeof *m);
	char *title;

	m->family = family;
	m->cmds = tui_menu_commands(family);
	while (m->cmds[m->n] != NULL)
		m->n++;
	if (m->n == 0) {
		free(m->cmds);
		free(m);
		return;
	}
	title = xasprintf("Menu > %s", family);
	tui_push(t, tui_view_new(&menu_ops, m, title));
	free(title);
}
