/*
 * The guided flows, drawn by hand for what an operator does most: start a
 * container (its PIN asked where its storage is encrypted), stop one,
 * change a token's PIN or unblock it with the PUK, install a guest OS with
 * its progress and the verdict.  The audit review and a container's
 * details are views of their own (flow-audit.c, flow-container.c).
 *
 * A PIN or PUK lives only in the dialog's buffer, then in the call's
 * parameters: the dialog's copy is wiped as soon as it is in them, and
 * the parameters are wiped (cmd_wipe_secrets) once the call went out.
 * Nothing of it is ever drawn: the dialog shows no '*' either.  A failed
 * verification is shown as cmlsh says it, the same words every time, with
 * the tries left on a line of their own (CR 1.10).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <panel.h>

#include "flow.h"
#include "secret.h"
#include "xmalloc.h"

/* The widest a flow's window gets. */
#define FLOW_WIN_COLS 72
/* The images of a guest OS listed one per line, at most. */
#define FLOW_FILES_MAX 8
/* How often a wrong PIN is asked again at most, when scd does not say. */
#define FLOW_PIN_ASKS 10

size_t
flow_wrap_next(const char **p, int n)
{
	const char *q, *brk = NULL, *start = *p;
	size_t len;
	int w = 0;

	/* the most whole words that fit in n characters */
	for (q = start; *q != '\0' && *q != '\n'; q++) {
		if ((*q & 0xc0) == 0x80)
			continue;
		if (w == n)
			break;
		if (*q == ' ')
			brk = q;
		w++;
	}
	if (*q != '\0' && *q != '\n' && *q != ' ' && brk != NULL)
		q = brk;
	/* at least a character a line, however narrow */
	if (q == start && *q != '\0' && *q != '\n' && *q != ' ')
		q++;
	len = (size_t)(q - start);
	if (*q == ' ' || *q == '\n')
		q++;
	*p = q;
	return len;
}

int
flow_wrap(struct tui *t, WINDOW *win, int y, int x, int n, int max_lines,
    enum tui_attr a, const char *text)
{
	const char *p = text, *start;
	char *line;
	size_t len;
	int lines = 0;

	while (*p != '\0' && lines < max_lines && n > 0) {
		start = p;
		len = flow_wrap_next(&p, n);
		if (win != NULL) {
			line = xmalloc(len + 1);
			memcpy(line, start, len);
			line[len] = '\0';
			tui_print_attr(t, win, y + lines, x, n, a, line);
			free(line);
		}
		lines++;
	}
	return lines;
}

char *
flow_abs_path(const char *path)
{
	char *cwd, *abs;

	if (*path != '/' && (cwd = getcwd(NULL, 0)) != NULL) {
		abs = xasprintf("%s/%s", cwd, path);
		free(cwd);
	} else
		abs = xstrdup(path);
	while (strlen(abs) > 1 && abs[strlen(abs) - 1] == '/')
		abs[strlen(abs) - 1] = '\0';
	return abs;
}

void
flow_stream_init(struct flow_stream *s)
{
	client_init(&s->cl, NULL, NULL);
}

int
flow_stream_start(struct tui *t, struct flow_stream *s, const char *words,
    struct json_object *params, char **cause)
{
	const struct cmd_entry *cmd = cmd_find_words(words);
	struct json_object *call;
	int fds[PROTO_MAX_FDS], fl, rc;
	size_t nfds = 0;

	flow_stream_stop(s);
	if (cmd == NULL) {
		json_object_put(params);
		*cause = xasprintf("'%s' is not a command of this cmltui",
		    words);
		return -1;
	}
	/* the files it names are opened here, with the operator's rights */
	if (client_open_files(cmd, params, fds, &nfds, cause) == -1) {
		json_object_put(params);
		return -1;
	}
	client_init(&s->cl, t->socket_path, NULL);
	call = proto_call_new(cmd->method, params, 1);
	rc = client_send(&s->cl, call, fds, nfds, cause);
	client_close_fds(fds, nfds);
	json_object_put(call);
	if (rc == -1) {
		client_disconnect(&s->cl);
		return -1;
	}
	/* the replies are read as they come, between keys */
	if ((fl = fcntl(s->cl.fd, F_GETFL)) == -1 ||
	    fcntl(s->cl.fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		*cause = xasprintf("cannot wait for cmld: %s",
		    strerror(errno));
		client_disconnect(&s->cl);
		return -1;
	}
	return 0;
}

int
flow_stream_read(struct flow_stream *s,
    void (*fn)(void *, const char *, struct json_object *), void *arg,
    char **why)
{
	struct json_object *msg;
	struct proto_reply reply;
	char *cause = NULL;
	ssize_t got;
	int rc, junk[1], ended;

	*why = NULL;
	if (s->cl.fd == -1)
		return -1;
	got = proto_reader_fill(&s->cl.rd, s->cl.fd);
	if (got == 0) {
		*why = xstrdup("cmld closed the connection");
		goto end;
	}
	if (got == -1 && errno != EAGAIN && errno != EINTR) {
		*why = xasprintf("cannot read from cmld: %s", strerror(errno));
		goto end;
	}
	while ((rc = proto_reader_next(&s->cl.rd, &msg, &cause)) == 1) {
		/* nothing is passed on these: closed */
		(void)proto_reader_take_fds(&s->cl.rd, junk, 0);
		if (proto_reply_parse(msg, &reply, &cause) == -1) {
			json_object_put(msg);
			*why = xasprintf("cmld sent an invalid reply (%s)",
			    cause);
			free(cause);
			goto end;
		}
		fn(arg, reply.error, reply.params);
		ended = reply.error != NULL || !reply.continues;
		json_object_put(msg);
		if (ended)
			goto end;
	}
	if (rc == -1) {
		*why = xasprintf("cmld sent an invalid reply (%s)", cause);
		free(cause);
		goto end;
	}
	return 0;
end:
	flow_stream_stop(s);
	return -1;
}

int
flow_stream_fd(struct flow_stream *s)
{
	return s->cl.fd;
}

void
flow_stream_stop(struct flow_stream *s)
{
	client_disconnect(&s->cl);
}

/*
 * A window above the screen that shows how a long call goes (the guest OS
 * images checked or copied: a bar per image and one for all) and then its
 * verdict.
 */
struct flow_win {
	struct tui *t;
	WINDOW *win;
	PANEL *panel;
	char *title;
	char *what; /* what is being done, a line */
	/* the images, in the order they are copied (a manifest's) */
	char **files;
	long long *sizes;
	size_t nfiles;
	/* the last progress */
	char *file;
	long long done, total;
	/* the verdict, once there is one */
	char *verdict;
	enum tui_attr verdict_attr;
	char *text;
};

/* Takes the window off the screen. */
static void
flow_win_unplace(struct flow_win *fw)
{
	if (fw->panel != NULL)
		del_panel(fw->panel);
	if (fw->win != NULL)
		delwin(fw->win);
	fw->panel = NULL;
	fw->win = NULL;
}

/* Returns the images shown, a bar each. */
static size_t
flow_win_shown(struct flow_win *fw)
{
	return fw->nfiles > FLOW_FILES_MAX ? FLOW_FILES_MAX : fw->nfiles;
}

/* Returns the width of the window on this screen. */
static int
flow_win_cols(struct flow_win *fw)
{
	int cols = fw->t->cols - 4;

	if (cols > FLOW_WIN_COLS)
		cols = FLOW_WIN_COLS;
	return cols < 20 ? 20 : cols;
}

/* Returns the rows the window's content takes, its border included. */
static int
flow_win_rows(struct flow_win *fw)
{
	int rows = 2 + 1;

	if (flow_win_shown(fw) > 0)
		rows += (int)flow_win_shown(fw);
	else if (fw->file != NULL)
		rows++;
	if (fw->total > 0)
		rows++;
	if (fw->verdict != NULL) {
		rows += 2;
		if (fw->text != NULL)
			rows += flow_wrap(fw->t, NULL, 0, 0,
			    flow_win_cols(fw) - 4, fw->t->rows, TUI_A_NORMAL,
			    fw->text);
	}
	return rows;
}

/*
 * Lays the window out for its content, in the middle of the screen; again
 * when its content grew or shrank.
 */
static void
flow_win_place(struct flow_win *fw)
{
	struct tui *t = fw->t;
	int rows = flow_win_rows(fw), cols = flow_win_cols(fw);

	if (rows > t->rows - 2)
		rows = t->rows - 2;
	if (rows < 4)
		rows = 4;
	/* the same place as before, unless the content or the screen changed */
	if (fw->win != NULL && getmaxy(fw->win) == rows &&
	    getmaxx(fw->win) == cols && getbegy(fw->win) ==
	    (t->rows - rows) / 2 && getbegx(fw->win) == (t->cols - cols) / 2)
		return;
	flow_win_unplace(fw);
	fw->win = newwin(rows, cols, (t->rows - rows) / 2,
	    (t->cols - cols) / 2);
	if (fw->win != NULL) {
		fw->panel = new_panel(fw->win);
		keypad(fw->win, TRUE);
	}
}

/* Opens a flow's window titled title, saying what is being done. */
static struct flow_win *
flow_win_open(struct tui *t, const char *title, const char *what)
{
	struct flow_win *fw;

	fw = xcalloc(1, sizeof *fw);
	fw->t = t;
	fw->title = xstrdup(title);
	fw->what = xstrdup(what);
	return fw;
}

/* Says what is being done now. */
static void
flow_win_what(struct flow_win *fw, const char *what)
{
	free(fw->what);
	fw->what = xstrdup(what);
}

/* The columns of a bar's label and of what follows its percentage. */
#define FLOW_BAR_LABEL 16
#define FLOW_BAR_SUFFIX 20

/*
 * Draws a bar labelled label at y: "label [####    ]  42%  suffix"; the
 * bars of one window line up.
 */
static void
flow_win_bar(struct flow_win *fw, int y, const char *label, long long done,
    long long total, const char *suffix)
{
	WINDOW *w = fw->win;
	int cols, bw, x;
	double f = total > 0 ? (double)done / (double)total : 0;
	char pct[8];

	cols = getmaxx(w) - 4;
	bw = cols - FLOW_BAR_LABEL - 1 - 5 - 1 - FLOW_BAR_SUFFIX;
	if (f > 1)
		f = 1;
	tui_print(w, y, 2, FLOW_BAR_LABEL, label);
	x = 2 + FLOW_BAR_LABEL + 1;
	if (bw > 4) {
		tui_bar(fw->t, w, y, x, bw, f);
		x += bw;
	}
	snprintf(pct, sizeof pct, "%4d%%", (int)(f * 100));
	tui_print(w, y, x, 5, pct);
	tui_print(w, y, x + 6, FLOW_BAR_SUFFIX, suffix);
}

/* Draws the window and shows it now. */
static void
flow_win_draw(struct flow_win *fw)
{
	struct tui *t = fw->t;
	WINDOW *w;
	long long before = 0, mine;
	size_t i, first = 0, shown = flow_win_shown(fw);
	int y = 1, cols, rows;
	char a[32], b[32], *line;

	flow_win_place(fw);
	if ((w = fw->win) == NULL)
		return;
	getmaxyx(w, rows, cols);
	werase(w);
	tui_box(t, w, fw->title);
	tui_print(w, y++, 2, cols - 4, fw->what);
	if (shown > 0) {
		/* a bar per image: what of the bytes done is this image's */
		for (i = 0; i < fw->nfiles && fw->file != NULL; i++)
			if (strcmp(fw->files[i], fw->file) == 0 &&
			    i >= shown)
				first = i - shown + 1;
		for (i = 0; i < first; i++)
			before += fw->sizes[i];
		for (i = first; i < first + shown; i++) {
			mine = fw->done - before;
			if (mine < 0)
				mine = 0;
			if (mine > fw->sizes[i])
				mine = fw->sizes[i];
			tui_bytes(a, sizeof a, fw->sizes[i]);
			flow_win_bar(fw, y++, fw->files[i], mine, fw->sizes[i],
			    a);
			before += fw->sizes[i];
		}
	} else if (fw->file != NULL)
		tui_print(w, y++, 2, cols - 4, fw->file);
	if (fw->total > 0) {
		tui_bytes(a, sizeof a, fw->done);
		tui_bytes(b, sizeof b, fw->total);
		line = xasprintf("%s of %s", a, b);
		flow_win_bar(fw, y++, "all", fw->done, fw->total, line);
		free(line);
	}
	if (fw->verdict != NULL && y + 1 < rows - 1) {
		y++;
		tui_print_attr(t, w, y++, 2, cols - 4, fw->verdict_attr,
		    fw->verdict);
		if (fw->text != NULL && y < rows - 1)
			flow_wrap(t, w, y, 2, cols - 4, rows - 1 - y,
			    TUI_A_NORMAL, fw->text);
		tui_print_attr(t, w, rows - 1, cols - 16, 14, TUI_A_DIM,
		    " any key: OK ");
	}
	update_panels();
	doupdate();
}

/* Takes a progress reply {file, done, total} and shows it. */
static void
flow_win_progress(struct flow_win *fw, struct json_object *p)
{
	const char *file = tui_str(p, "file", NULL);

	if (file != NULL && (fw->file == NULL || strcmp(fw->file, file) != 0)) {
		free(fw->file);
		fw->file = xstrdup(file);
	}
	fw->done = tui_int(p, "done", fw->done);
	fw->total = tui_int(p, "total", fw->total);
	flow_win_draw(fw);
}

/*
 * Shows the verdict (in attribute a, with text below it) and waits for a
 * key; the screen is drawn again around it when the terminal changed.
 */
static void
flow_win_verdict(struct flow_win *fw, enum tui_attr a, const char *verdict,
    const char *text)
{
	int ch;

	free(fw->verdict);
	free(fw->text);
	fw->verdict = xstrdup(verdict);
	fw->verdict_attr = a;
	fw->text = text != NULL ? xstrdup(text) : NULL;
	for (;;) {
		flow_win_draw(fw);
		ch = tui_getch(fw->t, -1);
		if (ch != TUI_TICK)
			break;
	}
}

/* Closes the window and draws the screen below it again. */
static void
flow_win_close(struct flow_win *fw)
{
	size_t i;

	if (fw == NULL)
		return;
	flow_win_unplace(fw);
	for (i = 0; i < fw->nfiles; i++)
		free(fw->files[i]);
	free(fw->files);
	free(fw->sizes);
	free(fw->file);
	free(fw->title);
	free(fw->what);
	free(fw->verdict);
	free(fw->text);
	tui_redraw(fw->t);
	free(fw);
}

/* Hides the window for a dialog, keeping what it shows for later. */
static void
flow_win_hide(struct flow_win *fw)
{
	flow_win_unplace(fw);
	tui_redraw(fw->t);
}

/* What a call made by a flow collected. */
struct flow_call {
	struct flow_win *fw; /* shows the progress; NULL: none */
	struct json_object *reply; /* the replies, merged */
	char *error; /* the error's name */
	struct json_object *error_params;
};

/* Keeps a reply (descriptors are not expected here: closed). */
static int
flow_call_reply(void *arg, struct json_object *params, int continues,
    const int *fds, size_t nfds, char **cause)
{
	struct flow_call *fc = arg;
	size_t i;

	for (i = 0; i < nfds; i++)
		close(fds[i]);
	if (fc->reply == NULL)
		fc->reply = json_object_new_object();
	client_json_merge(fc->reply, params);
	return 0;
}

/* Shows a progress reply. */
static void
flow_call_progress(void *arg, struct json_object *p)
{
	struct flow_call *fc = arg;

	if (fc->fw != NULL)
		flow_win_progress(fc->fw, p);
}

/* Keeps the error a call was answered with. */
static void
flow_call_error(void *arg, const char *error, struct json_object *params)
{
	struct flow_call *fc = arg;

	free(fc->error);
	json_object_put(fc->error_params);
	fc->error = xstrdup(error);
	fc->error_params = json_object_get(params);
}

/* Releases what a call collected. */
static void
flow_call_clear(struct flow_call *fc)
{
	json_object_put(fc->reply);
	json_object_put(fc->error_params);
	free(fc->error);
	fc->reply = fc->error_params = NULL;
	fc->error = NULL;
}

/*
 * Calls the command words with params (taken over), with "more" for a
 * command that streams; its secrets are wiped once it went out.  Returns
 * tui_call_ops' result, *msg set for 1 and -1.
 */
static int
flow_call(struct tui *t, const char *words, struct json_object *params,
    struct flow_call *fc, char **msg)
{
	const struct cmd_entry *cmd = cmd_find_words(words);
	const struct client_reply_ops ops = { .arg = fc,
	    .reply = flow_call_reply, .progress = flow_call_progress,
	    .error = flow_call_error };
	int rc;

	*msg = NULL;
	if (cmd == NULL) {
		json_object_put(params);
		*msg = xasprintf("'%s' is not a command of this cmltui", words);
		return -1;
	}
	json_object_get(params);
	rc = tui_call_ops(t, cmd, params, (cmd->flags & CMD_STREAMS) != 0,
	    &ops, msg);
	secret_wipe(cmd, params);
	json_object_put(params);
	if (rc != 0 && *msg == NULL)
		*msg = rc == 1 && fc->error != NULL ?
		    tui_error_text(fc->error, fc->error_params) :
		    xstrdup("the call failed");
	return rc;
}

int
flow_run(struct tui *t, const char *words, struct json_object *params,
    struct json_object **reply, char **error_name,
    struct json_object **error_params, char **msg)
{
	struct flow_call fc = { 0 };
	int rc;

	rc = flow_call(t, words, params, &fc, msg);
	if (reply != NULL) {
		*reply = fc.reply;
		fc.reply = NULL;
		if (rc == 0 && *reply == NULL)
			*reply = json_object_new_object();
	}
	if (error_name != NULL) {
		*error_name = fc.error;
		fc.error = NULL;
	}
	if (error_params != NULL) {
		*error_params = fc.error_params;
		fc.error_params = NULL;
	}
	flow_call_clear(&fc);
	return rc;
}

/* Returns params {"name": name}. */
static struct json_object *
flow_name_params(const char *name)
{
	struct json_object *params = json_object_new_object();

	json_object_object_add(params, "name", json_object_new_string(name));
	return params;
}

/*
 * Returns the text cmlsh prints for a failed verification of the command
 * words on container name (without "cmlsh: "): the same words every time,
 * the tries left on a line of their own, and what a blocked token asks
 * for (free it).
 */
static char *
flow_verification_text(const char *words, const char *name,
    struct json_object *params)
{
	FILE *f;
	char *text = NULL, *out, *p, *q;
	size_t len = 0;

	if ((f = open_memstream(&text, &len)) == NULL)
		return xstrdup("verification failed");
	format_verification_failed(f, words, name, params);
	fclose(f);
	/* cmlsh's prefix on every line; chomped */
	out = xmalloc(len + 1);
	for (p = text, q = out; *p != '\0'; ) {
		if (strncmp(p, "cmlsh: ", 7) == 0)
			p += 7;
		while (*p != '\0' && (*q++ = *p++) != '\n')
			;
	}
	while (q > out && q[-1] == '\n')
		q--;
	*q = '\0';
	free(text);
	return out;
}

/*
 * Asks cmld for the token of container name: its status object (put it),
 * or NULL when there is none or cmld does not tell.
 */
static struct json_object *
flow_token_status(struct tui *t, const char *name)
{
	struct json_object *reply = NULL, *status = NULL, *v;
	char *msg = NULL;

	if (flow_run(t, "token status", flow_name_params(name), &reply, NULL,
	    NULL, &msg) == 0 && json_object_object_get_ex(reply, "status",
	    &v) && json_object_is_type(v, json_type_object))
		status = json_object_get(v);
	free(msg);
	json_object_put(reply);
	return status;
}

/* Returns "PIN tries left: 2 of 3" (what: "PIN" or "PUK"), or NULL. */
static char *
flow_tries_note(const char *what, long long left, long long max)
{
	if (left < 0)
		return NULL;
	if (max > 0)
		return xasprintf("%s tries left: %lld of %lld", what, left,
		    max);
	return xasprintf("%s tries left: %lld", what, left);
}

/* How a flow asks for the secrets of a command (secret_collect_with). */
struct flow_asker {
	struct tui *t;
	const char *title;
	const char *note; /* the tries left, shown with the PIN or PUK now */
	int cancelled;
};

/*
 * Asks for one secret in a dialog: with why it is asked again (the
 * policy's rule, the new ones differed), else for the PIN or PUK now
 * with the tries left.
 */
static int
flow_asker_ask(void *arg, const char *prompt, const char *note, char **out,
    char **cause)
{
	struct flow_asker *fa = arg;

	if (note == NULL && strncmp(prompt, "New ", 4) != 0 &&
	    strncmp(prompt, "Repeat ", 7) != 0)
		note = fa->note;
	if (tui_ask_secret(fa->t, fa->title, prompt, note, out) == -1) {
		fa->cancelled = 1;
		*cause = xstrdup("cancelled: nothing was done");
		return -1;
	}
	return 0;
}

int
flow_secrets(struct tui *t, const char *words, const char *title,
    const char *note, struct json_object *params, int demanded)
{
	struct flow_asker fa = { t, title, note, 0 };
	const struct secret_asker asker = { .arg = &fa,
	    .ask = flow_asker_ask };
	const struct cmd_entry *cmd = cmd_find_words(words);
	char *cause = NULL;

	if (cmd == NULL)
		return -1;
	if (secret_collect_with(cmd, params, demanded, &asker, &cause) == 0)
		return 0;
	secret_wipe(cmd, params);
	if (!fa.cancelled)
		tui_message(t, title, cause);
	free(cause);
	return -1;
}

/*
 * Shows a started container's reply as the verdict: its state and pid,
 * and for encrypted storage how long each step took.
 */
static void
flow_start_verdict(struct flow_win *fw, const char *name,
    struct json_object *r)
{
	const char *state = tui_str(r, "state", NULL);
	char *verdict, *text;
	long long pid = tui_int(r, "pid", 0);

	if (state == NULL)
		state = "started";
	if (pid > 0)
		verdict = xasprintf("%s: %s, pid %lld", name, state, pid);
	else
		verdict = xasprintf("%s: %s", name, state);
	if (tui_int(r, "unlock_ms", -1) >= 0) {
		text = xasprintf("PIN accepted: the key unwrapped in %lld ms."
		    "\nVolume opened in %lld ms: keyslot %lld ms, activate "
		    "%lld ms, file system %lld ms.",
		    tui_int(r, "unlock_ms", 0), tui_int(r, "open_ms", 0),
		    tui_int(r, "keyslot_ms", 0),
		    tui_int(r, "activate_ms", 0), tui_int(r, "fs_ms", 0));
	} else
		text = NULL;
	flow_win_what(fw, "Its guest OS images checked against their signed "
	    "hashes");
	flow_win_verdict(fw, tui_state_attr(state), verdict, text);
	free(verdict);
	free(text);
}

/*
 * Says whether a token in state is blocked; a blocked PIN is offered its
 * unblock with the PUK (said first when say is set; a failed verification
 * said it already), a token blocked for good is said to be.
 */
static int
flow_blocked(struct tui *t, const char *title, const char *name,
    const char *state, int say)
{
	char *text;

	if (state == NULL || strcmp(state, "ready") == 0)
		return 0;
	if (strcmp(state, "pin-blocked") != 0) {
		if (say) {
			text = xasprintf("The token of %s is %s: only token "
			    "init makes it anew (destroying what it "
			    "protected).", name, state);
			tui_message(t, title, text);
			free(text);
		}
		return 1;
	}
	if (say)
		text = xasprintf("The token of %s is pin-blocked: unblock its "
		    "PIN with the PUK first. Unblock it now?", name);
	else
		text = xstrdup("The PIN is blocked. Unblock it with the PUK "
		    "now?");
	if (tui_confirm(t, title, text))
		tui_flow_unblock(t, name);
	free(text);
	return 1;
}

/*
 * Asks for the PIN of container name's token and starts it with it, again
 * after a wrong one while tries are left.  Returns 1 when a PIN started
 * (or a right PIN was refused for another reason: the verdict is in fc),
 * 0 when the flow ended here (cancelled, blocked).
 */
static int
flow_start_pin(struct tui *t, struct flow_win *fw, const char *name,
    const char *title, struct flow_call *fc, int *rc, char **msg)
{
	struct json_object *status, *params;
	char *note, *text;
	long long left = -1, max = 0;
	int asks, asked, blocked;

	if ((status = flow_token_status(t, name)) != NULL) {
		left = tui_int(status, "pin_tries_left", -1);
		max = tui_int(status, "pin_tries_max", 0);
		blocked = flow_blocked(t, title, name,
		    tui_str(status, "state", NULL), 1);
		json_object_put(status);
		if (blocked)
			return 0;
	}
	for (asks = 0; asks < FLOW_PIN_ASKS; asks++) {
		params = flow_name_params(name);
		note = flow_tries_note("PIN", left, max);
		asked = flow_secrets(t, "container start", title, note, params,
		    1);
		free(note);
		if (asked == -1) {
			json_object_put(params);
			return 0;
		}
		flow_win_what(fw, "Unlocking with the PIN, then checking the "
		    "guest OS images");
		flow_win_draw(fw);
		flow_call_clear(fc);
		free(*msg);
		*rc = flow_call(t, "container start", params, fc, msg);
		if (*rc != 1 || fc->error == NULL ||
		    strcmp(fc->error, FORMAT_ERR_VERIFICATION) != 0)
			return 1;
		/* the same words every time, and the tries left */
		flow_win_hide(fw);
		text = flow_verification_text("container start", name,
		    fc->error_params);
		tui_message(t, title, text);
		free(text);
		left = tui_int(fc->error_params, "tries_left", -1);
		if (flow_blocked(t, title, name, tui_str(fc->error_params,
		    "state", NULL), 0) || left == 0)
			return 0;
	}
	return 0;
}

void
tui_flow_start(struct tui *t, const char *name)
{
	struct flow_call fc = { 0 };
	struct flow_win *fw;
	char *title, *msg = NULL;
	int rc;

	title = xasprintf("Start %s", name);
	fw = flow_win_open(t, title, "Checking the guest OS images");
	fc.fw = fw;
	flow_win_draw(fw);
	rc = flow_call(t, "container start", flow_name_params(name), &fc,
	    &msg);
	if (rc == 1 && fc.error != NULL &&
	    strcmp(fc.error, PROTO_ERR_SECRET_REQUIRED) == 0) {
		/* its storage is encrypted: the PIN of its token */
		flow_win_hide(fw);
		if (!flow_start_pin(t, fw, name, title, &fc, &rc, &msg))
			goto out;
	}
	if (rc == 0)
		flow_start_verdict(fw, name, fc.reply);
	else
		flow_win_verdict(fw, TUI_A_BAD, "Not started", msg);
out:
	flow_win_close(fw);
	flow_call_clear(&fc);
	free(msg);
	free(title);
}

void
tui_flow_stop(struct tui *t, const char *name)
{
	struct flow_call fc = { 0 };
	struct flow_win *fw;
	char *title, *question, *msg = NULL, *verdict;
	const char *reason;
	int rc;

	title = xasprintf("Stop %s", name);
	question = xasprintf("Stop container %s? Its init gets SIGTERM, and "
	    "SIGKILL after stop_timeout.", name);
	if (!tui_confirm(t, title, question))
		goto done;
	fw = flow_win_open(t, title, "Stopping: waiting for its init to end");
	flow_win_draw(fw);
	rc = flow_call(t, "container stop", flow_name_params(name), &fc,
	    &msg);
	if (rc == 0) {
		flow_win_what(fw, "Its init ended");
		reason = tui_str(fc.reply, "reason", NULL);
		verdict = xasprintf("%s: %s", name,
		    tui_str(fc.reply, "state", NULL) != NULL ?
		    tui_str(fc.reply, "state", NULL) : "stopped");
		flow_win_verdict(fw, tui_state_attr(tui_str(fc.reply,
		    "state", NULL)), verdict, reason != NULL && *reason != '\0' ?
		    reason : NULL);
		free(verdict);
	} else
		flow_win_verdict(fw, TUI_A_BAD, "Not stopped", msg);
	flow_win_close(fw);
done:
	flow_call_clear(&fc);
	free(msg);
	free(question);
	free(title);
}

/*
 * The PIN change (puk 0) or the unblock with the PUK (puk 1) of container
 * name's token: the PIN or PUK now, the new PIN twice, the tries left
 * shown before and after.
 */
static void
flow_token_change(struct tui *t, const char *name, int puk)
{
	const char *what = puk ? "PUK" : "PIN";
	const char *words = puk ? "token unblock" : "token change-pin";
	struct json_object *status, *params, *reply = NULL, *ep = NULL, *st;
	char *title, *note = NULL, *msg = NULL, *err = NULL, *text;
	char *after;
	int rc;

	title = xasprintf(puk ? "Unblock the PIN of %s" : "Change the PIN "
	    "of %s", name);
	if ((status = flow_token_status(t, name)) != NULL)
		note = flow_tries_note(what, tui_int(status, puk ?
		    "puk_tries_left" : "pin_tries_left", -1),
		    tui_int(status, puk ? "puk_tries_max" : "pin_tries_max",
		    0));
	json_object_put(status);
	params = flow_name_params(name);
	if (flow_secrets(t, words, title, note, params, 0) == -1) {
		json_object_put(params);
		goto out;
	}
	rc = flow_run(t, words, params, &reply, &err, &ep, &msg);
	if (rc == 1 && err != NULL && strcmp(err, FORMAT_ERR_VERIFICATION) == 0)
		text = flow_verification_text(words, name, ep);
	else if (rc != 0)
		text = xstrdup(msg);
	else {
		st = NULL;
		json_object_object_get_ex(reply, "status", &st);
		after = flow_tries_note("PIN", tui_int(st, "pin_tries_left",
		    -1), tui_int(st, "pin_tries_max", 0));
		text = xasprintf("%s\n%s", puk ? "PIN unblocked, the new PIN "
		    "set." : "PIN changed.", after != NULL ? after : "");
		free(after);
	}
	tui_message(t, title, text);
	free(text);
out:
	json_object_put(reply);
	json_object_put(ep);
	free(err);
	free(msg);
	free(note);
	free(title);
}

void
tui_flow_change_pin(struct tui *t, const char *name)
{
	flow_token_change(t, name, 0);
}

void
tui_flow_unblock(struct tui *t, const char *name)
{
	flow_token_change(t, name, 1);
}

/*
 * Reads the images a guest OS directory's manifest lists, in its order,
 * into the window (a client reads its own files): nothing when it cannot.
 */
static void
flow_install_images(struct flow_win *fw, const char *dir)
{
	struct json_object *m, *images, *img;
	const char *file;
	char *path;
	size_t i, n;

	path = xasprintf("%s/manifest.json", dir);
	m = json_object_from_file(path);
	free(path);
	if (m == NULL)
		return;
	if (json_object_object_get_ex(m, "images", &images) &&
	    json_object_is_type(images, json_type_array)) {
		n = json_object_array_length(images);
		fw->files = xcalloc(n, sizeof *fw->files);
		fw->sizes = xcalloc(n, sizeof *fw->sizes);
		for (i = 0; i < n; i++) {
			img = json_object_array_get_idx(images, i);
			if ((file = tui_str(img, "file", NULL)) == NULL ||
			    tui_int(img, "size", -1) < 0)
				continue;
			fw->files[fw->nfiles] = xstrdup(file);
			fw->sizes[fw->nfiles++] = tui_int(img, "size", 0);
		}
	}
	json_object_put(m);
}

void
tui_flow_guestos_install(struct tui *t, const char *dir)
{
	struct flow_call fc = { 0 };
	struct flow_win *fw;
	struct json_object *params;
	char *asked = NULL, *path, *msg = NULL, *what, *text;
	int rc;

	if (dir == NULL || *dir == '\0') {
		if (tui_ask_text(t, "Install a guest OS", "Its directory "
		    "(manifest.json, its .p7s, the images):", "",
		    &asked) == -1 || *asked == '\0') {
			free(asked);
			return;
		}
		dir = asked;
	}
	path = flow_abs_path(dir);

	what = xasprintf("Checking the signature, then copying %s", path);
	fw = flow_win_open(t, "Install a guest OS", what);
	free(what);
	flow_install_images(fw, path);
	fc.fw = fw;
	flow_win_draw(fw);
	params = json_object_new_object();
	json_object_object_add(params, "dir", json_object_new_string(path));
	rc = flow_call(t, "guestos install", params, &fc, &msg);
	if (rc == 0) {
		/* every byte was checked against the signed manifest */
		if (fw->total > 0)
			fw->done = fw->total;
		else {
			size_t i;

			for (i = 0; i < fw->nfiles; i++)
				fw->total += fw->sizes[i];
			fw->done = fw->total;
		}
		flow_win_what(fw, "Signature and every image verified");
		text = xasprintf("Installed %s %s, signed by %s.",
		    tui_str(fc.reply, "name", NULL) != NULL ?
		    tui_str(fc.reply, "name", NULL) : "?",
		    tui_str(fc.reply, "version", NULL) != NULL ?
		    tui_str(fc.reply, "version", NULL) : "?",
		    tui_str(fc.reply, "signer", NULL) != NULL ?
		    tui_str(fc.reply, "signer", NULL) : "?");
		flow_win_verdict(fw, TUI_A_OK, "VERIFIED", text);
		free(text);
	} else {
		flow_win_what(fw, "Nothing was installed");
		flow_win_verdict(fw, TUI_A_BAD, rc == 1 ? "REFUSED" : "FAILED",
		    msg);
	}
	flow_win_close(fw);
	flow_call_clear(&fc);
	free(msg);
	free(path);
	free(asked);
}

/*
 * The flows a command of the table is handed to, from its params: those
 * of a container by its name.
 */
#define FLOW_FOR_NAME(fn, flow) \
	static void \
	fn(struct tui *t, struct json_object *params) \
	{ \
		const char *name = tui_str(params, "name", NULL); \
\
		if (name != NULL) \
			flow; \
	}
FLOW_FOR_NAME(flow_for_start, tui_flow_start(t, name))
FLOW_FOR_NAME(flow_for_stop, tui_flow_stop(t, name))
FLOW_FOR_NAME(flow_for_change_pin, tui_flow_change_pin(t, name))
FLOW_FOR_NAME(flow_for_unblock, tui_flow_unblock(t, name))
FLOW_FOR_NAME(flow_for_container, flow_container_push(t, name, 0))
FLOW_FOR_NAME(flow_for_console, flow_container_push(t, name, 1))

static void
flow_for_install(struct tui *t, struct json_object *params)
{
	tui_flow_guestos_install(t, tui_str(params, "dir", NULL));
}

static void
flow_for_audit(struct tui *t, struct json_object *params)
{
	flow_audit_push(t, params, FLOW_AUDIT_LIST);
}

static void
flow_for_audit_follow(struct tui *t, struct json_object *params)
{
	flow_audit_push(t, params, FLOW_AUDIT_FOLLOW);
}

static void
flow_for_audit_verify(struct tui *t, struct json_object *params)
{
	flow_audit_push(t, params, FLOW_AUDIT_VERIFY);
}

tui_flow_fn
tui_flow_for(const struct cmd_entry *cmd)
{
	static const struct {
		enum cmd_id id;
		tui_flow_fn fn;
	} flows[] = {
		{ CMD_ID_CONTAINER_START, flow_for_start },
		{ CMD_ID_CONTAINER_STOP, flow_for_stop },
		{ CMD_ID_TOKEN_CHANGE_PIN, flow_for_change_pin },
		{ CMD_ID_TOKEN_UNBLOCK, flow_for_unblock },
		{ CMD_ID_GUESTOS_INSTALL, flow_for_install },
		{ CMD_ID_AUDIT_LIST, flow_for_audit },
		{ CMD_ID_AUDIT_FOLLOW, flow_for_audit_follow },
		{ CMD_ID_AUDIT_VERIFY, flow_for_audit_verify },
		{ CMD_ID_CONTAINER_SHOW, flow_for_container },
		{ CMD_ID_CONTAINER_LOGS, flow_for_container },
		{ CMD_ID_CONTAINER_CONSOLE, flow_for_console },
	};
	tui_flow_fn fn;
	size_t i;

	if (cmd == NULL)
		return NULL;
	if ((fn = flow_provision_for(cmd)) != NULL ||
	    (fn = flow_update_for(cmd)) != NULL)
		return fn;
	for (i = 0; i < sizeof flows / sizeof flows[0]; i++)
		if (flows[i].id == cmd->id)
			return flows[i].fn;
	return NULL;
}
