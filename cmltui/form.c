/*
 * A command's form, built from its argument specs in the command table:
 * an ncurses form with a field per argument (a toggle for an option
 * without value), the help of the command beside it, and a Run button.
 * What is typed becomes the words cmlsh would get and is checked by
 * cmd_parse_args, so that a bad value gets the table's own message, the
 * one cmlsh prints.  Running confirms a destructive command, asks for
 * secrets in dialogs (never in a field), calls cmld and shows the reply
 * as cmlsh shows it.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#include <form.h>
#include <panel.h>

#include "client.h"
#include "cmltui.h"
#include "complete.h"
#include "exec.h"
#include "secret.h"
#include "words.h"
#include "xmalloc.h"

/* From this width on the help is beside the form, else below it. */
#define FORM_WIDE 100
/* The form's share of the columns when the help is beside it, %. */
#define FORM_SHARE 55
/* The widest label; longer ones are cut. */
#define FORM_LABEL_MAX 24
/* What the button says. */
#define FORM_RUN "[ Run ]"

/* One field: the value of an argument, kept across layouts. */
struct form_field {
	const struct cmd_arg *arg; /* NULL: the Run button */
	char *value; /* as typed; "" for none */
	int checked; /* a toggle */
};

struct form_view {
	const struct cmd_entry *cmd;
	struct form_field *fields; /* the arguments', then the button */
	size_t n; /* with the button */

	FORM *form;
	FIELD **ff;
	WINDOW *sub;
	int rows, cols; /* the body's size the form was made for */
	int current;

	char *message; /* the table's message about the values, or NULL */
	int message_bad; /* a refusal, not a note */
	int help_top;
	char utf8[8]; /* a character being typed, byte by byte */
	size_t utf8_len;
};

/* Says whether an argument gets a field in a form. */
static int
form_has_field(const struct cmd_entry *cmd, const struct cmd_arg *a)
{
	const struct cmd_arg *s;

	if (a->type == CMD_ARG_SECRET)
		return 0;
	if (!(a->flags & CMD_ARG_LOCAL))
		return 1;
	/* the shell's option that a secret depends on is a choice here */
	for (s = cmd->args; s->name != NULL; s++)
		if (s->unless != NULL && strcmp(s->unless, a->name) == 0)
			return 1;
	return 0;
}

const struct cmd_arg **
tui_form_args(const struct cmd_entry *cmd)
{
	const struct cmd_arg **list, *a;
	size_t n = 0;

	list = xcalloc(CMD_MAX_ARGS + 1, sizeof *list);
	/* positional arguments first, as on a command line, then options */
	for (a = cmd->args; a->name != NULL; a++)
		if (form_has_field(cmd, a) && !(a->flags & CMD_ARG_OPTION))
			list[n++] = a;
	for (a = cmd->args; a->name != NULL; a++)
		if (form_has_field(cmd, a) && (a->flags & CMD_ARG_OPTION))
			list[n++] = a;
	list[n] = NULL;
	return list;
}

/* Says whether a field is typed into (not a toggle, not the button). */
static int
form_is_text(const struct form_field *f)
{
	return f->arg != NULL && f->arg->type != CMD_ARG_BOOL;
}

/* Returns the text a parameter's value is shown as in a field (free it). */
static char *
form_value_text(const struct cmd_arg *a, struct json_object *v)
{
	struct words w = { NULL, 0 };
	char *s;
	size_t i, n;

	if (a->type == CMD_ARG_STRINGS &&
	    json_object_is_type(v, json_type_array)) {
		n = json_object_array_length(v);
		for (i = 0; i < n; i++)
			words_add(&w, words_quote(json_object_get_string(
			    json_object_array_get_idx(v, i))));
		s = words_join(w.argc, w.argv);
		words_free(&w);
		return s;
	}
	if ((a->type == CMD_ARG_FILE || a->type == CMD_ARG_FILES) &&
	    json_object_is_type(v, json_type_object))
		v = json_object_object_get(v, "name");
	return xstrdup(v != NULL ? json_object_get_string(v) : "");
}

/*
 * Returns the command line params stand for, as a person would type it
 * in cmlsh: the words, the arguments by position, the options (free it).
 */
static char *
form_command_line(const struct cmd_entry *cmd, struct json_object *params)
{
	const struct cmd_arg **args, **a;
	struct json_object *v;
	struct words w = { NULL, 0 };
	char *s, *text;

	words_add(&w, xstrdup(cmd->words));
	args = tui_form_args(cmd);
	for (a = args; *a != NULL; a++) {
		if (!json_object_object_get_ex(params, (*a)->name, &v))
			continue;
		if ((*a)->flags & CMD_ARG_OPTION)
			words_add(&w, xasprintf("--%s",
			    CMD_ARG_OPTION_NAME(*a)));
		if ((*a)->type == CMD_ARG_BOOL)
			continue;
		text = form_value_text(*a, v);
		words_add(&w, (*a)->type == CMD_ARG_STRINGS ? text :
		    words_quote(text));
		if ((*a)->type != CMD_ARG_STRINGS)
			free(text);
	}
	free(args);
	s = words_join(w.argc, w.argv);
	words_free(&w);
	return s;
}

/* Copies what the fields hold into the values (the form's buffers). */
static void
form_sync(struct form_view *f)
{
	char *s, *e;
	size_t i;

	if (f->form == NULL)
		return;
	form_driver(f->form, REQ_VALIDATION);
	for (i = 0; i < f->n; i++) {
		if (!form_is_text(&f->fields[i]))
			continue;
		s = field_buffer(f->ff[i], 0);
		while (words_blank((unsigned char)*s))
			s++;
		free(f->fields[i].value);
		f->fields[i].value = xstrdup(s);
		e = f->fields[i].value + strlen(f->fields[i].value);
		while (e > f->fields[i].value &&
		    words_blank((unsigned char)e[-1]))
			*--e = '\0';
	}
}

/* Takes the form down: unposted, its fields freed (the values stay). */
static void
form_unmake(struct form_view *f)
{
	size_t i;

	if (f->form != NULL) {
		form_sync(f);
		f->current = field_index(current_field(f->form));
		unpost_form(f->form);
		free_form(f->form);
		f->form = NULL;
	}
	if (f->ff != NULL) {
		for (i = 0; i < f->n; i++)
			free_field(f->ff[i]);
		free(f->ff);
		f->ff = NULL;
	}
	if (f->sub != NULL) {
		delwin(f->sub);
		f->sub = NULL;
	}
}

/* Shows a toggle's state in its field. */
static void
form_show_toggle(struct form_view *f, size_t i)
{
	set_field_buffer(f->ff[i], 0, f->fields[i].checked ? "[x]" : "[ ]");
}

/* Makes the fields, width columns wide, in a window of rows lines. */
static void
form_make_fields(struct tui *t, struct form_view *f, int width)
{
	struct form_field *ff;
	size_t i;

	f->ff = xcalloc(f->n + 1, sizeof *f->ff);
	for (i = 0; i < f->n; i++) {
		ff = &f->fields[i];
		if (ff->arg == NULL) {
			/* the button, a line below the rest */
			f->ff[i] = new_field(1, (int)strlen(FORM_RUN),
			    (int)i + 1, 0, 0, 0);
			set_field_buffer(f->ff[i], 0, FORM_RUN);
			field_opts_off(f->ff[i], O_EDIT);
		} else if (ff->arg->type == CMD_ARG_BOOL) {
			f->ff[i] = new_field(1, 3, (int)i, 0, 0, 0);
			form_show_toggle(f, i);
			field_opts_off(f->ff[i], O_EDIT);
		} else {
			f->ff[i] = new_field(1, width, (int)i, 0, 0, 0);
			/* one line that scrolls sideways: long paths fit */
			field_opts_off(f->ff[i], O_STATIC | O_AUTOSKIP |
			    O_BLANK);
			set_max_field(f->ff[i], CMD_MAX_STRING);
			set_field_back(f->ff[i], t->attr[TUI_A_FIELD]);
			set_field_buffer(f->ff[i], 0, ff->value);
		}
	}
	f->ff[f->n] = NULL;
}

/* Returns the label of a field (free it). */
static char *
form_label(const struct form_field *ff)
{
	char *label, *s;

	if (ff->arg == NULL)
		return xstrdup("");
	label = cmd_arg_label(ff->arg);
	if (ff->arg->flags & CMD_ARG_OPTIONAL)
		return label;
	s = xasprintf("%s *", label);
	free(label);
	return s;
}

/* Returns the widest label's width, at most FORM_LABEL_MAX. */
static int
form_label_width(struct form_view *f)
{
	size_t i, w = 0;
	char *label;

	for (i = 0; i < f->n; i++) {
		label = form_label(&f->fields[i]);
		if (format_width(label) > w)
			w = format_width(label);
		free(label);
	}
	return w > FORM_LABEL_MAX ? FORM_LABEL_MAX : (int)w;
}

/* Returns the synopsis of what the form holds (the shell's options not). */
static char *
form_synopsis(struct form_view *f)
{
	char *s = xstrdup(f->cmd->words), *label, *t;
	size_t i;

	for (i = 0; i + 1 < f->n; i++) {
		label = cmd_arg_label(f->fields[i].arg);
		t = xasprintf((f->fields[i].arg->flags & CMD_ARG_OPTIONAL) ?
		    "%s [%s]" : "%s %s", s, label);
		free(label);
		free(s);
		s = t;
	}
	return s;
}

/* Returns the help of an argument, one line: "LABEL: what it is". */
static char *
form_arg_help(const struct cmd_arg *a)
{
	char *label = cmd_arg_label(a), *s;

	s = xasprintf("%s: %s%s", label, a->help,
	    a->complete != CMD_COMPLETE_NONE ? " (Enter or F4: choose)" : "");
	free(label);
	return s;
}

/*
 * Draws the form: the synopsis, a label and a field per argument, the
 * button, the message about the values, what the current field is, and
 * the command's help beside or below.
 */
static void
form_draw(struct tui *t, struct tui_view *v, WINDOW *win)
{
	struct form_view *f = v->data;
	int rows, cols, wide, lw, fx, fw, width, y, hy, hx, hr, hc, col, k;
	char *text, *label, *syn;
	size_t i;

	getmaxyx(win, rows, cols);
	wide = cols >= FORM_WIDE;
	width = wide ? cols * FORM_SHARE / 100 : cols;
	lw = form_label_width(f);
	fx = 1 + lw + 2;
	fw = width - fx - 2;
	if (fw < 8)
		fw = 8;

	/*
	 * The fields are made anew when the size changes, else posted again
	 * (the loop erased the body), the cursor put back where it was.
	 */
	if (f->form == NULL || rows != f->rows || cols != f->cols) {
		form_unmake(f);
		form_make_fields(t, f, fw);
		f->form = new_form(f->ff);
		f->rows = rows;
		f->cols = cols;
		col = -1;
	} else {
		col = f->form->curcol;
		unpost_form(f->form);
	}
	if (f->sub == NULL) {
		f->sub = derwin(win, (int)f->n + 1, fw, 2, fx);
		set_form_win(f->form, win);
		set_form_sub(f->form, f->sub);
	}
	for (i = 0; i < f->n; i++)
		if (!form_is_text(&f->fields[i]))
			set_field_back(f->ff[i], (int)i == f->current ?
			    t->attr[TUI_A_SELECTED] : t->attr[TUI_A_NORMAL]);
	if (f->current >= 0 && (size_t)f->current < f->n)
		set_current_field(f->form, f->ff[f->current]);
	post_form(f->form);
	if (form_is_text(&f->fields[f->current]) && col == -1)
		form_driver(f->form, REQ_END_LINE);
	else if (form_is_text(&f->fields[f->current])) {
		form_driver(f->form, REQ_BEG_LINE);
		for (k = 0; k < CMD_MAX_STRING && f->form->curcol < col; k++)
			if (form_driver(f->form, REQ_NEXT_CHAR) != E_OK)
				break;
	}

	syn = form_synopsis(f);
	tui_print_attr(t, win, 0, 1, width - 2, TUI_A_HEADING, syn);
	free(syn);
	for (i = 0; i + 1 < f->n; i++) {
		label = form_label(&f->fields[i]);
		tui_print_attr(t, win, 2 + (int)i, 1, lw,
		    (int)i == f->current ? TUI_A_SELECTED : TUI_A_NORMAL,
		    label);
		free(label);
	}

	/* the message about the values, then what the field is */
	y = 2 + (int)f->n + 2;
	if (f->message != NULL) {
		tui_menu_draw_text(t, win, y, 1, 2, width - 2, f->message,
		    NULL, f->message_bad ? TUI_A_BAD : TUI_A_WARN,
		    f->message_bad ? TUI_A_BAD : TUI_A_WARN);
	}
	y += 2;
	if (f->fields[f->current].arg != NULL) {
		text = form_arg_help(f->fields[f->current].arg);
		tui_print_attr(t, win, y, 1, width - 2, TUI_A_DIM, text);
		free(text);
	}
	y++;

	if (wide) {
		hy = 0;
		hx = width + 1;
		hr = rows;
		hc = cols - hx - 1;
	} else {
		tui_hline(t, win, y, 0, cols);
		hy = y + 1;
		hx = 1;
		hr = rows - hy;
		hc = cols - 2;
	}
	if (hr > 0 && hc > 10) {
		text = tui_menu_help(f->cmd, (size_t)hc);
		tui_menu_draw_text(t, win, hy, hx, hr, hc, text, &f->help_top,
		    TUI_A_HEADING, TUI_A_NORMAL);
		free(text);
	}

	/* the cursor where typing goes */
	curs_set(form_is_text(&f->fields[f->current]) ? 1 : 0);
	pos_form_cursor(f->form);
}

/* Finds the field of the argument a message of cmd_parse_args is about. */
static int
form_field_of(struct form_view *f, const char *message)
{
	const struct cmd_arg *a;
	size_t i, len;

	for (i = 0; i < f->n; i++) {
		if ((a = f->fields[i].arg) == NULL)
			continue;
		len = strlen(a->metavar);
		/* "N must be ...", "missing NAME" */
		if ((strncmp(message, a->metavar, len) == 0 &&
		    strncmp(message + len, " must ", 6) == 0) ||
		    (strncmp(message, "missing ", 8) == 0 &&
		    strcmp(message + 8, a->metavar) == 0))
			return (int)i;
	}
	return -1;
}

/* Finds the field of a parameter named by cmld's error, or -1. */
static int
form_field_named(struct form_view *f, const char *param)
{
	size_t i;

	for (i = 0; param != NULL && i < f->n; i++)
		if (f->fields[i].arg != NULL &&
		    strcmp(f->fields[i].arg->name, param) == 0)
			return (int)i;
	return -1;
}

/* Sets the form's message (NULL: none). */
static void
form_say(struct form_view *f, const char *message, int bad)
{
	free(f->message);
	f->message = message != NULL ? xstrdup(message) : NULL;
	f->message_bad = bad;
}

/* Makes the current field i. */
static void
form_goto(struct form_view *f, int i)
{
	if (i < 0 || (size_t)i >= f->n)
		return;
	f->current = i;
	if (f->form == NULL)
		return;
	set_current_field(f->form, f->ff[i]);
	/* typing goes on after what the field holds */
	if (form_is_text(&f->fields[i]))
		form_driver(f->form, REQ_END_LINE);
}

/*
 * Makes the words cmlsh would get from the values: the options, then
 * "--" and the arguments by position, so that a value starting with a
 * dash is a value.  -1 with *cause set (a quote left open in a field of
 * several words; a value by position after an empty one) and *field the
 * field it is about.
 */
static int
form_words(struct form_view *f, struct words *w, char **cause, int *field)
{
	const struct form_field *ff;
	struct words split;
	int empty = -1, i;
	size_t k;

	memset(w, 0, sizeof *w);
	for (k = 0; k < f->n; k++) {
		ff = &f->fields[k];
		if (ff->arg == NULL || !(ff->arg->flags & CMD_ARG_OPTION))
			continue;
		if (ff->arg->type == CMD_ARG_BOOL ? !ff->checked :
		    *ff->value == '\0')
			continue;
		words_add(w, xasprintf("--%s", CMD_ARG_OPTION_NAME(ff->arg)));
		if (ff->arg->type != CMD_ARG_BOOL)
			words_add(w, xstrdup(ff->value));
	}
	words_add(w, xstrdup("--"));
	for (k = 0; k < f->n; k++) {
		ff = &f->fields[k];
		if (ff->arg == NULL || (ff->arg->flags & CMD_ARG_OPTION))
			continue;
		if (*ff->value == '\0') {
			if (empty == -1)
				empty = (int)k;
			continue;
		}
		if (empty != -1) {
			/* by position it would be the empty one's */
			*cause = xasprintf("missing %s",
			    f->fields[empty].arg->metavar);
			*field = empty;
			goto fail;
		}
		if (ff->arg->type != CMD_ARG_STRINGS) {
			words_add(w, xstrdup(ff->value));
			continue;
		}
		if (words_split(ff->value, 0, &split, cause) == -1) {
			*field = (int)k;
			goto fail;
		}
		for (i = 0; i < split.argc; i++)
			words_add(w, split.argv[i]);
		free(split.argv);
	}
	return 0;
fail:
	words_free(w);
	return -1;
}

/*
 * Checks the values as cmlsh checks a command line; returns the
 * parameters, or NULL with the table's message shown at its field.
 */
static struct json_object *
form_check(struct form_view *f)
{
	struct json_object *params = NULL;
	struct words w;
	char *cause = NULL;
	int field = -1;

	form_sync(f);
	if (form_words(f, &w, &cause, &field) == 0) {
		if (cmd_parse_args(f->cmd, w.argc, w.argv, &params,
		    &cause) == -1)
			field = form_field_of(f, cause);
		words_free(&w);
	}
	if (params == NULL) {
		form_say(f, cause, 1);
		form_goto(f, field);
		free(cause);
		return NULL;
	}
	form_say(f, NULL, 0);
	return params;
}

/* How one call's replies are taken in. */
struct form_call {
	struct tui *t;
	const struct cmd_entry *cmd;
	struct json_object *acc; /* the replies, merged */
	char *error; /* the error it was answered with */
	struct json_object *error_params;
	int may_demand, demanded; /* a secret asked for on demand */
	int suspended; /* the terminal is the command's */
	int exit_status; /* of a command run in a container, or -1 */
	WINDOW *win; /* the progress shown */
	PANEL *panel;
};

/* Shows that a long call is under way, and how far it is when it says. */
static void
form_progress_show(struct form_call *c, struct json_object *p)
{
	struct json_object *file, *done, *total;
	struct tui *t = c->t;
	long long d = 0, n = 0;
	char *line;

	if (c->suspended)
		return;
	if (c->win == NULL) {
		c->win = newwin(5, 60, (t->rows - 5) / 2, (t->cols - 60) / 2);
		c->panel = new_panel(c->win);
	}
	werase(c->win);
	tui_box(t, c->win, c->cmd->words);
	if (p != NULL && json_object_object_get_ex(p, "done", &done) &&
	    json_object_object_get_ex(p, "total", &total)) {
		d = json_object_get_int64(done);
		n = json_object_get_int64(total);
		file = json_object_object_get(p, "file");
		line = xasprintf("%s: %lld%%", file != NULL ?
		    json_object_get_string(file) : "", n > 0 ? d * 100 / n : 0);
		tui_print(c->win, 1, 2, 56, line);
		free(line);
		tui_bar(t, c->win, 2, 2, 56, n > 0 ? (double)d / n : 0);
	} else
		tui_print(c->win, 1, 2, 56, "Running: this may take a while.");
	update_panels();
	doupdate();
}

/* A progress reply of a call (client_reply_ops). */
static void
form_progress(void *arg, struct json_object *p)
{
	form_progress_show(arg, p);
}

/* Takes the progress off the screen. */
static void
form_progress_end(struct form_call *c)
{
	if (c->panel == NULL)
		return;
	del_panel(c->panel);
	delwin(c->win);
	c->panel = NULL;
	c->win = NULL;
}

/* Takes the terminal back from a command run in a container. */
static void
form_unsuspend(struct form_call *c)
{
	char ch;

	if (!c->suspended)
		return;
	if (c->exit_status >= 0)
		printf("\r\n[%s: exit status %d]", c->cmd->words,
		    c->exit_status);
	printf("\r\n[Enter: back to cmltui]");
	fflush(stdout);
	while (read(STDIN_FILENO, &ch, 1) == 1 && ch != '\n' && ch != '\r')
		;
	c->suspended = 0;
	tui_resume(c->t);
}

/*
 * The output of a command run in a container: the first reply with its
 * descriptors hands the terminal over (client/exec.c pumps them), the
 * last says its exit status.  Returns 1 when params was such a reply, 0
 * when not, -1 with *cause set.
 */
static int
form_output(struct form_call *c, struct json_object *params,
    const int *fds, size_t nfds, char **cause)
{
	if (c->cmd->id != CMD_ID_CONTAINER_EXEC &&
	    c->cmd->id != CMD_ID_CONTAINER_CONSOLE)
		return 0;
	if (nfds > 0 && !c->suspended) {
		form_progress_end(c);
		tui_suspend(c->t);
		c->suspended = 1;
	}
	if (!c->suspended)
		return 0;
	return exec_output(params, fds, nfds, &c->exit_status, cause);
}

/* A reply of a call: merged with those before (client_reply_ops). */
static int
form_reply(void *arg, struct json_object *params, int continues,
    const int *fds, size_t nfds, char **cause)
{
	struct form_call *c = arg;
	size_t i;
	int rc;

	if ((rc = form_output(c, params, fds, nfds, cause)) != 0)
		return rc == 1 ? 0 : -1;
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	if (c->acc == NULL)
		c->acc = json_object_get(params);
	else
		client_json_merge(c->acc, params);
	if (continues)
		form_progress_show(c, NULL);
	return 0;
}

/*
 * The error a call was answered with (client_reply_ops): kept, unless it
 * asks for a secret that is asked for on demand.
 */
static void
form_error(void *arg, const char *error, struct json_object *params)
{
	struct form_call *c = arg;

	if (c->may_demand && strcmp(error, PROTO_ERR_SECRET_REQUIRED) == 0) {
		c->demanded = 1;
		return;
	}
	free(c->error);
	json_object_put(c->error_params);
	c->error = xstrdup(error);
	c->error_params = json_object_get(params);
}

/* Returns what cmlsh says of a failed PIN check (free it). */
static char *
form_verification_text(const struct cmd_entry *cmd,
    struct json_object *call_params, struct json_object *params)
{
	char *buf = NULL, *text;
	size_t len = 0;
	FILE *f;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return xstrdup("verification failed");
	format_verification_failed(f, cmd->words, json_object_get_string(
	    json_object_object_get(call_params, "name")), params);
	fclose(f);
	while (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	text = xstrdup(strncmp(buf, "cmlsh: ", 7) == 0 ? buf + 7 : buf);
	free(buf);
	return text;
}

/*
 * Calls cmd with params (a reference taken) once; the replies go to c.
 * Returns tui_call_ops' result, with its message in *error for 1 and -1.
 */
static int
form_call_once(struct tui *t, const struct cmd_entry *cmd,
    struct json_object *params, struct form_call *c, char **error)
{
	const struct client_reply_ops ops = { .arg = c, .reply = form_reply,
	    .progress = form_progress, .error = form_error };
	char *cause = NULL;
	int rc;

	c->t = t;
	c->cmd = cmd;
	c->exit_status = -1;
	exec_prepare(cmd, params, 0);
	/* a stream, or a change that may take a while: it is under way */
	if ((cmd->flags & CMD_STREAMS) || !(cmd->flags & CMD_READONLY))
		form_progress_show(c, NULL);
	rc = tui_call_ops(t, cmd, json_object_get(params),
	    (cmd->flags & CMD_STREAMS) != 0, &ops, &cause);
	form_progress_end(c);
	form_unsuspend(c);
	if (rc == 1 && c->error != NULL) {
		free(cause);
		cause = strcmp(c->error, FORMAT_ERR_VERIFICATION) == 0 ?
		    form_verification_text(cmd, params, c->error_params) :
		    tui_error_text(c->error, c->error_params);
	}
	*error = cause;
	return rc;
}

/* Asks for a secret in a dialog (secret_collect_with's asker). */
static int
form_ask_secret(void *arg, const char *prompt, const char *note, char **out,
    char **cause)
{
	struct form_call *c = arg;
	char *p = xstrdup(prompt);
	size_t len = strlen(p);
	int rc;

	/* a dialog's prompt needs no ": " at its end */
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == ':'))
		p[--len] = '\0';
	rc = tui_ask_secret(c->t, c->cmd->words, p, note, out);
	free(p);
	if (rc == -1)
		*cause = xstrdup("cancelled");
	return rc;
}

/*
 * Asks for cmd's secrets into params (those on demand when demanded);
 * -1 with *message saying why not, as cmlsh says it.
 */
static int
form_secrets(struct tui *t, const struct cmd_entry *cmd,
    struct json_object *params, int demanded, char **message)
{
	struct form_call c = { .t = t, .cmd = cmd };
	const struct secret_asker asker = { .arg = &c,
	    .ask = form_ask_secret };
	char *cause = NULL;

	curs_set(0);
	if (secret_collect_with(cmd, params, demanded, &asker,
	    &cause) == 0)
		return 0;
	*message = xasprintf("%s: %s", cmd->words, cause);
	free(cause);
	return -1;
}

/*
 * Runs cmd with params (taken over): 0 when it succeeded (the reply shown,
 * or a flow took over), 1 when cmld refused or failed (*message says it
 * as cmlsh would; *param names the parameter it was about, or NULL), -1
 * when nothing was done (*message says why).
 */
static int
form_execute(struct tui *t, const struct cmd_entry *cmd,
    struct json_object *params, char **param, char **message)
{
	struct form_call c;
	struct json_object *v;
	const struct cmd_arg *a;
	tui_flow_fn flow;
	char *line, *question, *text;
	int rc, pending;

	*param = *message = NULL;
	if ((flow = tui_flow_for(cmd)) != NULL) {
		flow(t, params);
		json_object_put(params);
		return 0;
	}
	curs_set(0);
	if (cmd->flags & CMD_DESTRUCTIVE) {
		line = form_command_line(cmd, params);
		question = xasprintf("Really %s?", line);
		rc = tui_confirm(t, cmd->words, question);
		free(question);
		free(line);
		if (!rc) {
			*message = xasprintf("'%s' not confirmed: nothing was "
			    "done", cmd->words);
			json_object_put(params);
			return -1;
		}
	}
	if (cmd_secret_count(cmd) > 0 &&
	    form_secrets(t, cmd, params, 0, message) == -1) {
		secret_wipe(cmd, params);
		json_object_put(params);
		return -1;
	}
	/* the shell's own options are no parameters */
	for (a = cmd->args; a->name != NULL; a++)
		if (a->flags & CMD_ARG_LOCAL)
			json_object_object_del(params, a->name);

	pending = secret_pending(cmd, params);
	memset(&c, 0, sizeof c);
	c.may_demand = pending;
	rc = form_call_once(t, cmd, params, &c, message);
	if (c.demanded) {
		/* the daemon needs the secret after all: ask, call again */
		free(*message);
		*message = NULL;
		json_object_put(c.acc);
		memset(&c, 0, sizeof c);
		if (form_secrets(t, cmd, params, 1, message) == -1) {
			rc = -1;
			goto out;
		}
		rc = form_call_once(t, cmd, params, &c, message);
	}
	if (rc == 0) {
		text = c.acc != NULL ? tui_format_reply(cmd->method, c.acc) :
		    xstrdup("");
		if (*text == '\0' && c.exit_status < 0) {
			free(text);
			text = xasprintf("%s: done\n", cmd->words);
		}
		if (*text != '\0')
			tui_text_push(t, cmd->words, text);
		free(text);
	} else if (rc == 1 && c.error_params != NULL &&
	    json_object_object_get_ex(c.error_params, "parameter", &v) &&
	    json_object_is_type(v, json_type_string))
		*param = xstrdup(json_object_get_string(v));
	if (rc != 0 && *message == NULL)
		*message = xstrdup("the call failed");
	/* not reached, or ended on the way: failed all the same */
	if (rc == -1)
		rc = 1;
out:
	secret_wipe(cmd, params);
	json_object_put(params);
	json_object_put(c.acc);
	json_object_put(c.error_params);
	free(c.error);
	return rc;
}

int
tui_run_command(struct tui *t, const struct cmd_entry *cmd,
    struct json_object *params)
{
	char *param, *message;
	int rc;

	if (params == NULL)
		params = json_object_new_object();
	rc = form_execute(t, cmd, params, &param, &message);
	if (rc != 0 && message != NULL)
		tui_message(t, cmd->words, message);
	free(param);
	free(message);
	return rc == 0 ? 0 : -1;
}

/* Runs the form's command with what it holds. */
static void
form_run(struct tui *t, struct tui_view *v)
{
	struct form_view *f = v->data;
	struct json_object *params;
	char *param = NULL, *message = NULL;
	int rc, field;

	if ((params = form_check(f)) == NULL) {
		v->dirty = 1;
		return;
	}
	rc = form_execute(t, f->cmd, params, &param, &message);
	if (rc == 1 && (field = form_field_named(f, param)) != -1) {
		/* about one value: shown at the form, the values kept */
		form_say(f, message, 1);
		form_goto(f, field);
	} else if (rc == 1) {
		form_say(f, message, 1);
		tui_message(t, f->cmd->words, message);
	} else if (rc == -1)
		form_say(f, message, 0);
	v->dirty = 1;
	free(param);
	free(message);
}

/* Returns the values typed so far by name, for completion (free it). */
static struct json_object *
form_values(struct form_view *f)
{
	struct json_object *o = json_object_new_object();
	size_t i;

	form_sync(f);
	for (i = 0; i < f->n; i++)
		if (form_is_text(&f->fields[i]) && *f->fields[i].value != '\0')
			json_object_object_add(o, f->fields[i].arg->name,
			    json_object_new_string(f->fields[i].value));
	return o;
}

/* Opens the list of what the current field may hold; takes the choice. */
static void
form_choose(struct tui *t, struct tui_view *v)
{
	struct form_view *f = v->data;
	struct form_field *ff = &f->fields[f->current];
	struct json_object *values;
	char **list, *title;
	size_t n;
	int i;

	if (!form_is_text(ff) || ff->arg->complete == CMD_COMPLETE_NONE)
		return;
	curs_set(0);
	for (;;) {
		values = form_values(f);
		list = tui_completions(t, f->cmd, ff->arg, values);
		json_object_put(values);
		if (list == NULL)
			return;
		for (n = 0; list[n] != NULL; n++)
			;
		title = cmd_arg_label(ff->arg);
		i = tui_pick(t, title, (const char *const *)list, n);
		free(title);
		if (i >= 0) {
			free(ff->value);
			ff->value = xstrdup(list[i]);
			set_field_buffer(f->ff[f->current], 0, ff->value);
			form_driver(f->form, REQ_END_LINE);
		}
		tui_strings_free(list);
		/* a directory picked: on into it */
		if (i < 0 || ff->arg->complete != CMD_COMPLETE_FILE ||
		    ff->value[0] == '\0' ||
		    ff->value[strlen(ff->value) - 1] != '/')
			break;
	}
	form_say(f, NULL, 0);
	v->dirty = 1;
}

/*
 * Moves to the field dir away (1 next, -1 previous); a bad value in the
 * field left is said at once, and the field kept.
 */
static void
form_move(struct form_view *f, int dir)
{
	struct json_object *params;
	int left = f->current;

	params = form_check(f);
	json_object_put(params);
	if (f->message != NULL && f->current == left &&
	    form_is_text(&f->fields[left]) && *f->fields[left].value != '\0')
		return;
	/* what the rest lacks is not typed yet */
	form_say(f, NULL, 0);
	form_goto(f, (left + (int)f->n + dir) % (int)f->n);
}

/*
 * Edits the current field with a request of the form driver; what it
 * holds then goes to the field's buffer at once, where the next draw
 * (after the loop erased the body) finds it.
 */
static void
form_edit(struct form_view *f, int req)
{
	form_driver(f->form, req);
	form_driver(f->form, REQ_VALIDATION);
}

/* Types one byte of a UTF-8 character into the current field. */
static void
form_type(struct form_view *f, int ch)
{
	wchar_t wc;
	mbstate_t mbs;
	size_t need, r;

	if (ch < 0x80) {
		f->utf8_len = 0;
		form_edit(f, ch);
		return;
	}
	if (f->utf8_len >= sizeof f->utf8)
		f->utf8_len = 0;
	f->utf8[f->utf8_len++] = (char)ch;
	need = (f->utf8[0] & 0xe0) == 0xc0 ? 2 : (f->utf8[0] & 0xf0) == 0xe0 ?
	    3 : (f->utf8[0] & 0xf8) == 0xf0 ? 4 : 1;
	if (f->utf8_len < need)
		return;
	memset(&mbs, 0, sizeof mbs);
	r = mbrtowc(&wc, f->utf8, f->utf8_len, &mbs);
	f->utf8_len = 0;
	if (r != (size_t)-1 && r != (size_t)-2 && r != 0) {
		form_driver_w(f->form, OK, wc);
		form_driver(f->form, REQ_VALIDATION);
	}
}

/*
 * The form's keys: moving between fields, editing the current one,
 * choosing from its list, toggling, running; Esc and the F-keys of every
 * view are the loop's.
 */
static int
form_key(struct tui *t, struct tui_view *v, int ch)
{
	struct form_view *f = v->data;
	struct form_field *ff;
	int text;

	if (f->form == NULL)
		return 0;
	ff = &f->fields[f->current];
	text = form_is_text(ff);
	switch (ch) {
	case KEY_F(5):
	case TUI_CTRL('r'):
		form_run(t, v);
		return 1;
	case KEY_F(4):
		form_choose(t, v);
		return 1;
	case KEY_F(3): {
		char *help = tui_menu_help(f->cmd, 78);

		curs_set(0);
		tui_text_push(t, f->cmd->words, help);
		free(help);
		return 1;
	}
	case TUI_KEY_TAB:
	case KEY_DOWN:
		form_move(f, 1);
		return 1;
	case KEY_BTAB:
	case KEY_UP:
		form_move(f, -1);
		return 1;
	case KEY_PPAGE:
		f->help_top -= getmaxy(t->body) / 2;
		return 1;
	case KEY_NPAGE:
		f->help_top += getmaxy(t->body) / 2;
		return 1;
	case KEY_LEFT:
		/* in a form Esc goes back, so nothing typed is lost by this */
		if (text)
			form_driver(f->form, REQ_PREV_CHAR);
		return 1;
	case KEY_RIGHT:
		if (text)
			form_driver(f->form, REQ_NEXT_CHAR);
		return 1;
	case KEY_HOME:
		if (text)
			form_driver(f->form, REQ_BEG_LINE);
		return 1;
	case KEY_END:
		if (text)
			form_driver(f->form, REQ_END_LINE);
		return 1;
	case KEY_BACKSPACE:
	case 127:
	case 8:
		if (text)
			form_edit(f, REQ_DEL_PREV);
		return 1;
	case KEY_DC:
		if (text)
			form_edit(f, REQ_DEL_CHAR);
		return 1;
	case TUI_CTRL('u'):
		if (text)
			form_edit(f, REQ_CLR_FIELD);
		return 1;
	case TUI_CTRL('k'):
		if (text)
			form_edit(f, REQ_CLR_EOL);
		return 1;
	case ' ':
		if (ff->arg != NULL && ff->arg->type == CMD_ARG_BOOL) {
			ff->checked = !ff->checked;
			form_show_toggle(f, (size_t)f->current);
			return 1;
		}
		break;
	}
	if (TUI_IS_ENTER(ch)) {
		if (ff->arg == NULL)
			form_run(t, v);
		else if (ff->arg->type == CMD_ARG_BOOL) {
			ff->checked = !ff->checked;
			form_show_toggle(f, (size_t)f->current);
		} else if (ff->arg->complete != CMD_COMPLETE_NONE)
			form_choose(t, v);
		else
			form_move(f, 1);
		return 1;
	}
	if (text && ch >= 0x20 && ch < 0x100 && ch != 127) {
		form_type(f, ch);
		return 1;
	}
	return 0;
}

/* Frees the form and what its fields held. */
static void
form_free(struct tui_view *v)
{
	struct form_view *f = v->data;
	size_t i;

	curs_set(0);
	form_unmake(f);
	for (i = 0; i < f->n; i++)
		free(f->fields[i].value);
	free(f->fields);
	free(f->message);
	free(f);
}

static const struct tui_view_ops form_ops = {
	.name = "form",
	.draw = form_draw,
	.key = form_key,
	.free = form_free,
	.help = "Tab move  Enter choose  F5 run  F3 help  Esc back",
};

void
tui_form_push(struct tui *t, const struct cmd_entry *cmd,
    struct json_object *params)
{
	const struct cmd_arg **args;
	struct form_view *f;
	struct json_object *v;
	size_t i;

	args = tui_form_args(cmd);
	f = xcalloc(1, sizeof *f);
	f->cmd = cmd;
	for (f->n = 0; args[f->n] != NULL; f->n++)
		;
	f->fields = xcalloc(++f->n, sizeof *f->fields);
	for (i = 0; args[i] != NULL; i++) {
		f->fields[i].arg = args[i];
		if (params != NULL &&
		    json_object_object_get_ex(params, args[i]->name, &v)) {
			f->fields[i].value = form_value_text(args[i], v);
			f->fields[i].checked = args[i]->type == CMD_ARG_BOOL &&
			    json_object_get_boolean(v);
		} else
			f->fields[i].value = xstrdup("");
	}
	/* the button; with nothing to fill in, it is where the form starts */
	f->fields[i].value = xstrdup("");
	free(args);
	tui_push(t, tui_view_new(&form_ops, f, cmd->words));
}

/* Orders file names. */
static int
form_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Returns the entries of the directory a path typed names, directories
 * with a '/' at the end, for a file's field; NULL-ended.
 */
static char **
form_files(const char *typed)
{
	struct words w = { NULL, 0 };
	struct dirent *de;
	struct stat st;
	const char *slash;
	char *dir, *path;
	DIR *d;
	int isdir;

	if (typed == NULL || (slash = strrchr(typed, '/')) == NULL)
		dir = getcwd(NULL, 0);
	else
		dir = xasprintf("%.*s", (int)(slash - typed) + 1, typed);
	if (dir == NULL || (d = opendir(dir)) == NULL) {
		free(dir);
		return xcalloc(1, sizeof (char *));
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0)
			continue;
		path = xasprintf("%s%s%s", dir,
		    dir[strlen(dir) - 1] == '/' ? "" : "/", de->d_name);
		isdir = de->d_type == DT_DIR || (de->d_type == DT_UNKNOWN &&
		    stat(path, &st) == 0 && S_ISDIR(st.st_mode));
		if (isdir) {
			words_add(&w, xasprintf("%s/", path));
			free(path);
		} else
			words_add(&w, path);
	}
	closedir(d);
	free(dir);
	if (w.argv == NULL)
		return xcalloc(1, sizeof (char *));
	qsort(w.argv, (size_t)w.argc, sizeof *w.argv, form_strcmp);
	return w.argv;
}

char **
tui_completions(struct tui *t, const struct cmd_entry *cmd,
    const struct cmd_arg *arg, struct json_object *params)
{
	const struct cmd_arg *a;
	struct json_object *v;
	const char *prev = NULL;
	struct words w;

	if (arg->complete == CMD_COMPLETE_NONE)
		return NULL;
	if (arg->complete == CMD_COMPLETE_FILE)
		return form_files(json_object_get_string(
		    json_object_object_get(params, arg->name)));
	/* the setting of a value, the guest OS of a version: the one before */
	if (cmd_arg_positional(arg)) {
		for (a = cmd->args; a != arg && a->name != NULL; a++)
			if (cmd_arg_positional(a) && params != NULL &&
			    json_object_object_get_ex(params, a->name, &v))
				prev = json_object_get_string(v);
	}
	complete_values(&t->cl, NULL, arg->complete, prev, "", &w);
	if (w.argv == NULL)
		return xcalloc(1, sizeof (char *));
	return w.argv;
}

void
tui_strings_free(char **list)
{
	struct words w = { list, 0 };

	if (list == NULL)
		return;
	while (list[w.argc] != NULL)
		w.argc++;
	words_free(&w);
}
