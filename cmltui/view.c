/*
 * The views and dialogs every part of cmltui shares: a scrollable text
 * (a reply shown as cmlsh shows it, a help page), and the modal dialogs
 * (a message, a question, a line of text, a secret, a choice from a
 * list), each a panel above the screen that reads its keys through
 * tui_getch.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <panel.h>

#include "client.h"
#include "cmltui.h"
#include "secret.h"
#include "xmalloc.h"

/* A text split into lines, and where it is scrolled to. */
struct tui_text {
	char **lines;
	size_t n;
	size_t top;
	char *search; /* the last text searched for */
	size_t found; /* its line, (size_t)-1: none */
};

static void
tui_text_free(struct tui_view *v)
{
	struct tui_text *x = v->data;
	size_t i;

	for (i = 0; i < x->n; i++)
		free(x->lines[i]);
	free(x->lines);
	free(x->search);
	free(x);
}

static void
tui_text_draw(struct tui *t, struct tui_view *v, WINDOW *win)
{
	struct tui_text *x = v->data;
	int rows, cols, y;
	size_t i;
	char pos[64];

	getmaxyx(win, rows, cols);
	for (y = 0, i = x->top; y < rows - 1 && i < x->n; y++, i++)
		tui_print_attr(t, win, y, 1, cols - 2, i == x->found ?
		    TUI_A_SELECTED : TUI_A_NORMAL, x->lines[i]);
	if (x->n > (size_t)rows - 1 || x->search != NULL) {
		snprintf(pos, sizeof pos, "lines %zu-%zu of %zu%s%s",
		    x->n == 0 ? 0 : x->top + 1, i, x->n,
		    x->search != NULL && x->found == (size_t)-1 ?
		    "  (not found)" : "", "");
		tui_print_attr(t, win, rows - 1, 1, cols - 2, TUI_A_DIM, pos);
	}
}

/* Looks for x->search from line from on; wraps around. */
static void
tui_text_find(struct tui_text *x, size_t from)
{
	size_t i, k;

	x->found = (size_t)-1;
	if (x->search == NULL || x->n == 0)
		return;
	for (k = 0; k < x->n; k++) {
		i = (from + k) % x->n;
		if (strstr(x->lines[i], x->search) != NULL) {
			x->found = i;
			x->top = i;
			return;
		}
	}
}

static int
tui_text_key(struct tui *t, struct tui_view *v, int ch)
{
	struct tui_text *x = v->data;
	size_t page = t->rows > 4 ? (size_t)t->rows - 4 : 1;
	size_t last = x->n > page ? x->n - page : 0;
	char *s;

	switch (ch) {
	case KEY_UP:
	case 'k':
		if (x->top > 0)
			x->top--;
		return 1;
	case KEY_DOWN:
	case 'j':
		if (x->top < last)
			x->top++;
		return 1;
	case KEY_PPAGE:
		x->top = x->top > page ? x->top - page : 0;
		return 1;
	case KEY_NPAGE:
	case ' ':
		x->top = x->top + page < last ? x->top + page : last;
		return 1;
	case KEY_HOME:
	case 'g':
		x->top = 0;
		return 1;
	case KEY_END:
	case 'G':
		x->top = last;
		return 1;
	case '/':
		if (tui_ask_text(t, "Search", "Text:", x->search, &s) == 0) {
			free(x->search);
			x->search = s[0] != '\0' ? s : NULL;
			if (x->search == NULL)
				free(s);
			tui_text_find(x, x->top);
		}
		return 1;
	case 'n':
		tui_text_find(x, x->found == (size_t)-1 ? x->top :
		    x->found + 1);
		return 1;
	}
	return 0;
}

static const struct tui_view_ops tui_text_ops = {
	.name = "text",
	.draw = tui_text_draw,
	.key = tui_text_key,
	.free = tui_text_free,
	.help = "arrows/PgUp/PgDn scroll  / search  n next  Esc back",
};

/* Splits text at newlines into x (tabs become spaces to the next 8). */
static void
tui_text_split(struct tui_text *x, const char *text)
{
	const char *p = text, *nl;
	char *line;
	size_t len, i, col, k;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		line = xmalloc(len * 8 + 1);
		for (i = 0, col = 0; i < len; i++) {
			if (p[i] == '\t') {
				for (k = 8 - col % 8; k > 0; k--)
					line[col++] = ' ';
			} else
				line[col++] = p[i];
		}
		line[col] = '\0';
		x->lines = xreallocarray(x->lines, x->n + 1,
		    sizeof *x->lines);
		x->lines[x->n++] = line;
		p += len;
		if (*p == '\n')
			p++;
	}
}

void
tui_text_push(struct tui *t, const char *title, const char *text)
{
	struct tui_text *x = xcalloc(1, sizeof *x);

	x->found = (size_t)-1;
	tui_text_split(x, text != NULL ? text : "");
	tui_push(t, tui_view_new(&tui_text_ops, x, title));
}

char *
tui_format_reply(const char *method, struct json_object *params)
{
	struct format_state fs;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return xstrdup("");
	format_state_init(&fs);
	format_reply(f, &fs, method, params, 0);
	format_state_free(&fs);
	fclose(f);
	return buf;
}

/* A dialog: a boxed window in the middle of the screen, as a panel. */
struct tui_dialog {
	WINDOW *win;
	PANEL *panel;
	int rows, cols;
};

static void
tui_dialog_open(struct tui *t, struct tui_dialog *d, int rows, int cols,
    const char *title)
{
	if (cols > t->cols - 2)
		cols = t->cols - 2;
	if (rows > t->rows - 2)
		rows = t->rows - 2;
	if (cols < 10)
		cols = 10;
	if (rows < 3)
		rows = 3;
	d->rows = rows;
	d->cols = cols;
	d->win = newwin(rows, cols, (t->rows - rows) / 2,
	    (t->cols - cols) / 2);
	d->panel = new_panel(d->win);
	keypad(d->win, TRUE);
	werase(d->win);
	tui_box(t, d->win, title);
}

static void
tui_dialog_close(struct tui *t, struct tui_dialog *d)
{
	del_panel(d->panel);
	delwin(d->win);
	d->panel = NULL;
	d->win = NULL;
	tui_redraw(t);
}

static void
tui_dialog_show(void)
{
	update_panels();
	doupdate();
}

/*
 * Wraps text into lines of at most width columns (at blanks where it can);
 * returns how many; lines[i] allocated when out is not NULL.
 */
static size_t
tui_wrap(const char *text, size_t width, char ***out)
{
	const char *p = text, *brk, *q, *nl;
	size_t n = 0, w, len;

	if (width < 1)
		width = 1;
	if (out != NULL)
		*out = NULL;
	while (*p != '\0') {
		nl = strchr(p, '\n');
		/* the longest prefix that fits, ending at a blank if any */
		brk = NULL;
		w = 0;
		for (q = p; *q != '\0' && *q != '\n'; q++) {
			if ((*q & 0xc0) != 0x80)
				w++;
			if (w > width)
				break;
			if (*q == ' ')
				brk = q;
		}
		if (*q == '\0' || *q == '\n')
			len = (size_t)(q - p);
		else if (brk != NULL && brk > p)
			len = (size_t)(brk - p);
		else
			len = (size_t)(q - p);
		if (out != NULL) {
			*out = xreallocarray(*out, n + 1, sizeof **out);
			(*out)[n] = xasprintf("%.*s", (int)len, p);
		}
		n++;
		p += len;
		if (*p == ' ' || (nl != NULL && p == nl))
			p++;
	}
	return n;
}

static void
tui_lines_free(char **lines, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

/* Draws wrapped text into a dialog from row y; returns the next row. */
static int
tui_dialog_text(struct tui_dialog *d, int y, const char *text)
{
	char **lines;
	size_t n, i;

	n = tui_wrap(text, (size_t)d->cols - 4, &lines);
	for (i = 0; i < n && y < d->rows - 1; i++, y++)
		tui_print(d->win, y, 2, d->cols - 4, lines[i]);
	tui_lines_free(lines, n);
	return y;
}

void
tui_message(struct tui *t, const char *title, const char *text)
{
	struct tui_dialog d;
	size_t n = tui_wrap(text, 64, NULL);
	int ch;

	tui_dialog_open(t, &d, (int)n + 4, 70, title);
	tui_dialog_text(&d, 1, text);
	tui_print_attr(t, d.win, d.rows - 2, 2, d.cols - 4, TUI_A_DIM,
	    "Enter or Esc: close");
	tui_dialog_show();
	do
		ch = tui_getch(t, -1);
	while (ch == TUI_TICK);
	tui_dialog_close(t, &d);
}

int
tui_confirm(struct tui *t, const char *title, const char *question)
{
	struct tui_dialog d;
	size_t n = tui_wrap(question, 60, NULL);
	int ch, yes = 0, done = 0;

	tui_dialog_open(t, &d, (int)n + 5, 66, title);
	tui_dialog_text(&d, 1, question);
	while (!done) {
		wmove(d.win, d.rows - 2, 2);
		wclrtoeol(d.win);
		tui_print_attr(t, d.win, d.rows - 2, d.cols / 2 - 10, 6,
		    yes ? TUI_A_SELECTED : TUI_A_NORMAL, "[Yes]");
		tui_print_attr(t, d.win, d.rows - 2, d.cols / 2 + 4, 5,
		    yes ? TUI_A_NORMAL : TUI_A_SELECTED, "[No]");
		tui_box(t, d.win, title);
		tui_dialog_show();
		ch = tui_getch(t, -1);
		switch (ch) {
		case TUI_TICK:
			break;
		case 'y':
		case 'Y':
			yes = 1;
			done = 1;
			break;
		case 'n':
		case 'N':
		case TUI_KEY_ESC:
		case TUI_QUIT:
			yes = 0;
			done = 1;
			break;
		case KEY_LEFT:
		case KEY_RIGHT:
		case TUI_KEY_TAB:
			yes = !yes;
			break;
		default:
			if (TUI_IS_ENTER(ch))
				done = 1;
		}
	}
	tui_dialog_close(t, &d);
	return yes;
}

/* Removes the last UTF-8 character of buf (len bytes); returns the length. */
static size_t
tui_backspace(char *buf, size_t len)
{
	while (len > 0 && (buf[len - 1] & 0xc0) == 0x80)
		buf[--len] = '\0';
	if (len > 0)
		buf[--len] = '\0';
	return len;
}

/*
 * Reads a line into a buffer of size bytes in dialog d at row y; echo
 * shows it.  Returns 0 on Enter, -1 on Esc or the end.
 */
static int
tui_dialog_line(struct tui *t, struct tui_dialog *d, int y, char *buf,
    size_t size, int echo)
{
	size_t len = strlen(buf), w;
	int ch, fw = d->cols - 4;
	const char *shown;

	curs_set(1);
	for (;;) {
		wattron(d->win, t->attr[TUI_A_FIELD]);
		mvwhline(d->win, y, 2, ' ', fw);
		wattroff(d->win, t->attr[TUI_A_FIELD]);
		if (echo) {
			/* the end of a long text shows */
			shown = buf;
			while (format_width(shown) > (size_t)fw - 1)
				shown++;
			w = (size_t)tui_print_attr(t, d->win, y, 2, fw,
			    TUI_A_FIELD, shown);
		} else
			w = 0; /* nothing tells a secret's length */
		wmove(d->win, y, 2 + (int)w);
		update_panels();
		doupdate();
		ch = tui_getch(t, -1);
		if (ch == TUI_TICK)
			continue;
		if (ch == TUI_QUIT || ch == TUI_KEY_ESC) {
			curs_set(0);
			return -1;
		}
		if (TUI_IS_ENTER(ch)) {
			curs_set(0);
			return 0;
		}
		if (ch == KEY_BACKSPACE || ch == 127 || ch == 8)
			len = tui_backspace(buf, len);
		else if (ch == TUI_CTRL('u')) {
			explicit_bzero(buf, size);
			len = 0;
		} else if (ch >= 0x20 && ch < 0x100 && ch != 127 &&
		    len + 1 < size) {
			buf[len++] = (char)ch;
			buf[len] = '\0';
		}
	}
}

int
tui_ask_text(struct tui *t, const char *title, const char *prompt,
    const char *init, char **out)
{
	struct tui_dialog d;
	char buf[CMD_MAX_STRING];
	int rc;

	*out = NULL;
	snprintf(buf, sizeof buf, "%s", init != NULL ? init : "");
	tui_dialog_open(t, &d, 6, 70, title);
	tui_print(d.win, 1, 2, d.cols - 4, prompt);
	tui_print_attr(t, d.win, d.rows - 2, 2, d.cols - 4, TUI_A_DIM,
	    "Enter: done  Esc: cancel  Ctrl-U: clear");
	rc = tui_dialog_line(t, &d, 2, buf, sizeof buf, 1);
	tui_dialog_close(t, &d);
	if (rc == 0)
		*out = xstrdup(buf);
	return rc;
}

int
tui_ask_secret(struct tui *t, const char *title, const char *prompt,
    const char *note, char **out)
{
	struct tui_dialog d;
	char *buf = xcalloc(1, CMD_MAX_SECRET + 1);
	int rc, y = 1;

	*out = NULL;
	tui_dialog_open(t, &d, note != NULL ? 8 : 7, 60, title);
	if (note != NULL)
		tui_print_attr(t, d.win, y++, 2, d.cols - 4, TUI_A_WARN, note);
	tui_print(d.win, y++, 2, d.cols - 4, prompt);
	tui_print_attr(t, d.win, d.rows - 2, 2, d.cols - 4, TUI_A_DIM,
	    "typing is not shown  Enter: done  Esc: cancel");
	rc = tui_dialog_line(t, &d, y, buf, CMD_MAX_SECRET + 1, 0);
	tui_dialog_close(t, &d);
	if (rc == 0)
		*out = buf;
	else
		secret_free(buf);
	return rc;
}

int
tui_pick(struct tui *t, const char *title, const char *const *choices,
    size_t n)
{
	struct tui_dialog d;
	size_t sel = 0, top = 0, i, shown;
	int ch, rows, y;

	if (n == 0) {
		tui_message(t, title, "There is nothing to choose from.");
		return -1;
	}
	rows = n + 4 < 20 ? (int)n + 4 : 20;
	tui_dialog_open(t, &d, rows, 60, title);
	shown = (size_t)d.rows - 4;
	for (;;) {
		if (sel < top)
			top = sel;
		if (sel >= top + shown)
			top = sel - shown + 1;
		for (y = 1, i = top; i < top + shown; i++, y++) {
			wmove(d.win, y, 1);
			whline(d.win, ' ', d.cols - 2);
			if (i < n)
				tui_print_attr(t, d.win, y, 2, d.cols - 4,
				    i == sel ? TUI_A_SELECTED : TUI_A_NORMAL,
				    choices[i]);
		}
		tui_print_attr(t, d.win, d.rows - 2, 2, d.cols - 4, TUI_A_DIM,
		    "arrows: move  Enter: choose  Esc: cancel");
		tui_dialog_show();
		ch = tui_getch(t, -1);
		if (ch == TUI_QUIT || ch == TUI_KEY_ESC) {
			tui_dialog_close(t, &d);
			return -1;
		}
		if (TUI_IS_ENTER(ch))
			break;
		if ((ch == KEY_UP || ch == 'k') && sel > 0)
			sel--;
		else if ((ch == KEY_DOWN || ch == 'j') && sel + 1 < n)
			sel++;
		else if (ch == KEY_PPAGE)
			sel = sel > shown ? sel - shown : 0;
		else if (ch == KEY_NPAGE)
			sel = sel + shown < n ? sel + shown : n - 1;
		else if (ch == KEY_HOME)
			sel = 0;
		else if (ch == KEY_END)
			sel = n - 1;
	}
	tui_dialog_close(t, &d);
	return (int)sel;
}

const char *
tui_str(struct json_object *o, const char *key, const char *def)
{
	struct json_object *v;

	if (o != NULL && json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return def;
}

long long
tui_int(struct json_object *o, const char *key, long long def)
{
	struct json_object *v;

	if (o != NULL && json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_int))
		return json_object_get_int64(v);
	return def;
}
