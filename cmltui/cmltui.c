/*
 * cmltui's loop: the connection to cmld (and its loss and return), the
 * notices pushed by the audit trail, the stack of views, the screen's
 * layout (title line, body, help line, banner) and its redraw, the idle
 * lock's clock and the resize.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <panel.h>

#include "client.h"
#include "cmltui.h"
#include "complete.h"
#include "xmalloc.h"

static PANEL *tui_body_panel;

long long
tui_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct tui_view *
tui_view_new(const struct tui_view_ops *ops, void *data, const char *title)
{
	struct tui_view *v = xcalloc(1, sizeof *v);

	v->ops = ops;
	v->data = data;
	v->title = title != NULL ? xstrdup(title) : NULL;
	v->dirty = 1;
	return v;
}

void
tui_push(struct tui *t, struct tui_view *v)
{
	v->below = t->top;
	t->top = v;
	/* what it shows is asked for at once, not at the next tick */
	if (v->ops->tick != NULL)
		v->ops->tick(t, v);
	tui_redraw(t);
}

/* Frees a view taken off the stack. */
static void
tui_view_free(struct tui_view *v)
{
	if (v->ops->free != NULL)
		v->ops->free(v);
	free(v->title);
	free(v);
}

void
tui_pop(struct tui *t)
{
	struct tui_view *v = t->top;

	if (v == NULL || v->below == NULL)
		return;
	t->top = v->below;
	tui_view_free(v);
	if (t->top->ops->tick != NULL)
		t->top->ops->tick(t, t->top);
	tui_redraw(t);
}

/* Lays out the screen for its size: the body between title and help. */
static void
tui_layout(struct tui *t)
{
	int rows, cols;

	getmaxyx(stdscr, rows, cols);
	t->rows = rows;
	t->cols = cols;
	if (rows < 3)
		rows = 3;
	if (t->body == NULL) {
		t->body = newwin(rows - 2, cols, 1, 0);
		tui_body_panel = new_panel(t->body);
	} else {
		wresize(t->body, rows - 2, cols);
		move_panel(tui_body_panel, 1, 0);
	}
	keypad(t->body, TRUE);
}

/* The title line: the device, the view, and whether cmld is there. */
static void
tui_draw_title(struct tui *t)
{
	char left[256], right[128];
	const struct tui_view *v;
	int used;

	snprintf(left, sizeof left, " cmltui  %s",
	    t->device_name != NULL ? t->device_name : "");
	for (v = t->top; v != NULL && v->title == NULL; v = v->below)
		;
	if (t->top != NULL && t->top->title != NULL) {
		strncat(left, "  >  ", sizeof left - strlen(left) - 1);
		strncat(left, t->top->title, sizeof left - strlen(left) - 1);
	}
	if (!t->reachable)
		snprintf(right, sizeof right, "cmld unreachable: retrying ");
	else if (t->user != NULL)
		snprintf(right, sizeof right, "%s ", t->user);
	else
		right[0] = '\0';
	attrset(t->attr[TUI_A_TITLE]);
	move(0, 0);
	hline(' ', t->cols);
	used = tui_print(stdscr, 0, 0, t->cols, left);
	if ((int)format_width(right) < t->cols - used) {
		if (!t->reachable)
			attrset(t->attr[TUI_A_TITLE] | A_BOLD);
		tui_print(stdscr, 0, t->cols - (int)format_width(right),
		    (int)format_width(right), right);
	}
	attrset(A_NORMAL);
}

/* The help line: the view's keys, then the keys of every view. */
static void
tui_draw_help(struct tui *t)
{
	char line[512];
	const char *own = t->top != NULL && t->top->ops->help != NULL ?
	    t->top->ops->help : "";

	snprintf(line, sizeof line, " %s%sF1 help  F2 menu  L lock  F10 quit",
	    own, own[0] != '\0' ? "  " : "");
	/* a narrow screen keeps the view's keys, help and quit */
	if ((int)format_width(line) > t->cols)
		snprintf(line, sizeof line, " %s%sF1 help  F10 quit", own,
		    own[0] != '\0' ? "  " : "");
	attrset(t->attr[TUI_A_HELP]);
	move(t->rows - 1, 0);
	hline(' ', t->cols);
	tui_print(stdscr, t->rows - 1, 0, t->cols, line);
	attrset(A_NORMAL);
}

/* The banner of the last notice, over the body's first lines. */
static void
tui_draw_banner(struct tui *t)
{
	static WINDOW *w;
	static PANEL *p;
	char line[1024];

	if (p != NULL) {
		del_panel(p);
		delwin(w);
		p = NULL;
		w = NULL;
	}
	if (t->banner == NULL || t->locked)
		return;
	if (tui_now_ms() >= t->banner_until) {
		free(t->banner);
		t->banner = NULL;
		return;
	}
	w = newwin(3, t->cols, 1, 0);
	p = new_panel(w);
	wbkgd(w, t->attr[TUI_A_BANNER]);
	werase(w);
	tui_box(t, w, t->banner_bad ? "ALERT" : "NOTICE");
	snprintf(line, sizeof line, "%s  (any key)", t->banner);
	tui_print(w, 1, 2, t->cols - 4, line);
}

void
tui_redraw(struct tui *t)
{
	int rows, cols;

	if (t->body == NULL)
		return;
	tui_draw_title(t);
	tui_draw_help(t);
	werase(t->body);
	getmaxyx(t->body, rows, cols);
	if (t->rows < TUI_MIN_ROWS || t->cols < TUI_MIN_COLS) {
		char msg[128];

		snprintf(msg, sizeof msg, "The terminal is %dx%d: cmltui "
		    "needs %dx%d.", t->cols, t->rows, TUI_MIN_COLS,
		    TUI_MIN_ROWS);
		tui_print(t->body, rows / 2, 1, cols - 2, msg);
	} else if (t->top != NULL)
		t->top->ops->draw(t, t->top, t->body);
	if (t->top != NULL)
		t->top->dirty = 0;
	tui_draw_banner(t);
	update_panels();
	doupdate();
}

/* Shows a notice pushed by the audit trail as a banner, at once. */
static void
tui_notice(void *arg, struct json_object *n)
{
	struct tui *t = arg;
	const char *level, *msg;
	long long seq;
	char *text;

	client_notice_parse(n, &level, &seq, &msg);
	text = xasprintf("audit %s (record #%lld): %s", level, seq, msg);
	free(t->banner);
	t->banner = text;
	t->banner_bad = strcmp(level, "warning") != 0 &&
	    strcmp(level, "notice") != 0;
	t->banner_until = tui_now_ms() + TUI_BANNER_SECONDS * 1000LL;
	if (t->banner_bad)
		beep();
}

/* cmld answered after it was lost: notices and the setting anew. */
static void
tui_found(struct tui *t)
{
	t->reachable = 1;
	t->lost_at = 0;
	t->reconnected = 1;
	client_disconnect(&t->notice);
	client_notice_start(&t->notice, t->socket_path);
	tui_lock_setting(t);
}

/* Notes whether the last call reached cmld. */
static void
tui_reached(struct tui *t, int reached)
{
	if (reached && !t->reachable)
		tui_found(t);
	else if (!reached && t->reachable) {
		t->reachable = 0;
		t->lost_at = tui_now_ms();
		client_disconnect(&t->notice);
	}
}

/* The accumulated replies and the error of a tui_call. */
struct tui_acc {
	struct json_object *reply;
	char *error;
};

static int
tui_acc_reply(void *arg, struct json_object *params, int continues,
    const int *fds, size_t nfds, char **cause)
{
	struct tui_acc *a = arg;
	size_t i;

	(void)continues;
	(void)cause;
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	if (a->reply == NULL)
		a->reply = json_object_get(params);
	else
		client_json_merge(a->reply, params);
	return 0;
}

static void
tui_acc_error(void *arg, const char *error, struct json_object *params)
{
	struct tui_acc *a = arg;

	free(a->error);
	a->error = tui_error_text(error, params);
}

char *
tui_error_text(const char *error, struct json_object *params)
{
	char *buf = NULL, *text;
	size_t len = 0;
	FILE *f;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return xstrdup(error);
	format_error(f, f, error, params, 0);
	fclose(f);
	text = buf;
	if (strncmp(text, "cmlsh: ", 7) == 0)
		text += 7;
	text = xstrdup(text);
	len = strlen(text);
	while (len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';
	free(buf);
	return text;
}

int
tui_call_ops(struct tui *t, const struct cmd_entry *cmd,
    struct json_object *params, int more, const struct client_reply_ops *ops,
    char **error)
{
	char *cause = NULL;
	int rc;

	if (params == NULL)
		params = json_object_new_object();
	rc = client_call(&t->cl, cmd, params, more, NULL, ops, &cause);
	tui_reached(t, !(rc == -1 && t->cl.unreachable));
	if (rc == -1 && error != NULL)
		*error = cause != NULL ? cause :
		    xstrdup("the call ended before its reply");
	else
		free(cause);
	return rc;
}

int
tui_call(struct tui *t, const char *words, struct json_object *params,
    struct json_object **reply, char **error)
{
	const struct cmd_entry *cmd = cmd_find_words(words);
	struct tui_acc a = { NULL, NULL };
	const struct client_reply_ops ops = { .arg = &a,
	    .reply = tui_acc_reply, .error = tui_acc_error };
	char *cause = NULL;
	int rc;

	if (reply != NULL)
		*reply = NULL;
	if (error != NULL)
		*error = NULL;
	if (cmd == NULL) {
		json_object_put(params);
		if (error != NULL)
			*error = xasprintf("no command %s", words);
		return -1;
	}
	rc = tui_call_ops(t, cmd, params, 0, &ops, &cause);
	if (rc == 1 && error != NULL) {
		*error = a.error;
		a.error = NULL;
	} else if (rc == -1 && error != NULL) {
		*error = cause;
		cause = NULL;
	}
	free(cause);
	free(a.error);
	if (rc == 0 && reply != NULL)
		*reply = a.reply;
	else
		json_object_put(a.reply);
	return rc;
}

void
tui_suspend(struct tui *t)
{
	(void)t;
	def_prog_mode();
	endwin();
}

void
tui_resume(struct tui *t)
{
	reset_prog_mode();
	clearok(curscr, TRUE);
	tui_layout(t);
	tui_redraw(t);
}

/* Handles a resize: lays out anew and draws everything. */
static void
tui_resized(struct tui *t)
{
	tui_layout(t);
	clearok(curscr, TRUE);
	if (t->top != NULL)
		t->top->dirty = 1;
	tui_redraw(t);
}

/*
 * Takes a key when one is there.  Returns it, or ERR; a resize is handled
 * here and not returned.
 */
static int
tui_take_key(struct tui *t)
{
	int ch;

	nodelay(stdscr, TRUE);
	ch = wgetch(stdscr);
	nodelay(stdscr, FALSE);
	if (ch == KEY_RESIZE) {
		tui_resized(t);
		return ERR;
	}
	return ch;
}

void
tui_idle_end(struct tui *t)
{
	/* nothing shows from now; then cmld records it */
	t->idle_ended = 1;
	clear();
	refresh();
	(void)client_session_report(&t->cl, "idle-ended", NULL,
	    t->idle_timeout);
}

int
tui_getch(struct tui *t, int timeout_ms)
{
	struct pollfd pfd[3];
	long long now, deadline, wake, idle_at;
	int ch, n, view_fd, wait;

	now = tui_now_ms();
	deadline = timeout_ms < 0 ? t->next_tick : now + timeout_ms;
	for (;;) {
		if (t->signalled != NULL && *t->signalled)
			return TUI_QUIT;
		now = tui_now_ms();
		idle_at = t->idle_timeout > 0 ? t->last_key +
		    t->idle_timeout * 1000 : 0;
		if (idle_at != 0 && now >= idle_at && !t->locked &&
		    t->remote) {
			tui_idle_end(t);
			return TUI_QUIT;
		}
		if (idle_at != 0 && now >= idle_at && !t->locked) {
			if (tui_lock(t) == -1)
				return TUI_QUIT;
			t->last_key = tui_now_ms();
			clearok(curscr, TRUE);
			tui_redraw(t);
			continue;
		}
		if ((ch = tui_take_key(t)) != ERR) {
			t->last_key = tui_now_ms();
			if (t->banner != NULL) {
				free(t->banner);
				t->banner = NULL;
				tui_redraw(t);
			}
			return ch;
		}
		if (t->banner != NULL && now >= t->banner_until)
			tui_redraw(t);
		if (now >= deadline)
			return TUI_TICK;
		wake = deadline;
		if (idle_at != 0 && idle_at < wake)
			wake = idle_at;
		if (t->banner != NULL && t->banner_until < wake)
			wake = t->banner_until;
		wait = (int)(wake - now);
		if (wait < 0)
			wait = 0;

		n = 0;
		pfd[n].fd = STDIN_FILENO;
		pfd[n++].events = POLLIN;
		pfd[n].fd = t->notice.fd;
		pfd[n++].events = POLLIN;
		view_fd = t->top != NULL && t->top->ops->fd != NULL ?
		    t->top->ops->fd(t, t->top) : -1;
		pfd[n].fd = view_fd;
		pfd[n++].events = POLLIN;
		if (poll(pfd, n, wait) == -1) {
			if (errno == EINTR)
				continue; /* SIGWINCH: the key says resize */
			return TUI_QUIT;
		}
		if (pfd[0].revents & (POLLHUP | POLLERR | POLLNVAL))
			return TUI_QUIT;
		if (pfd[1].fd != -1 && pfd[1].revents != 0) {
			client_notice_read(&t->notice, tui_notice, t);
			tui_redraw(t);
		}
		if (pfd[2].fd != -1 && pfd[2].revents != 0 &&
		    t->top->ops->readable != NULL) {
			t->top->ops->readable(t, t->top);
			tui_redraw(t);
		}
	}
}

/* The keys every view has, when the view did not take them. */
static void
tui_common_key(struct tui *t, int ch)
{
	switch (ch) {
	case TUI_KEY_ESC:
	case KEY_LEFT:
	case KEY_BACKSPACE:
		tui_pop(t);
		break;
	case KEY_F(1):
	case '?':
		tui_text_push(t, "Help",
		    "cmltui: the console of this appliance.\n"
		    "\n"
		    "Every screen names its own keys on the last line.\n"
		    "These work everywhere:\n"
		    "\n"
		    "  F1, ?      this help\n"
		    "  F2, m      the menu of every command\n"
		    "  a          the audit trail\n"
		    "  L, Ctrl-L  lock the screen now\n"
		    "  Esc        back\n"
		    "  F10, q     quit (on the dashboard)\n"
		    "\n"
		    "The screen locks by itself after session_idle_timeout "
		    "seconds\nwithout a key (device config "
		    "session_idle_timeout).\n");
		break;
	case KEY_F(2):
	case 'm':
		tui_menu_push(t);
		break;
	case 'a':
		tui_audit_push(t);
		break;
	case 'L':
	case TUI_CTRL('l'):
		if (tui_lock(t) == -1)
			t->quit = 1;
		t->last_key = tui_now_ms();
		clearok(curscr, TRUE);
		tui_redraw(t);
		break;
	case KEY_F(10):
		t->quit = 1;
		break;
	case 'q':
		if (t->top->below == NULL)
			t->quit = 1;
		else
			tui_pop(t);
		break;
	}
}

/* Runs until quit; returns the exit status. */
int
tui_run(struct tui *t)
{
	int ch;

	tui_layout(t);
	t->reachable = 1;
	t->last_key = tui_now_ms();
	t->next_tick = tui_now_ms() + t->interval_ms;
	tui_lock_setting(t);
	if (client_notice_start(&t->notice, t->socket_path) == -1 &&
	    t->cl.unreachable)
		tui_reached(t, 0);
	tui_dash_push(t);
	while (!t->quit) {
		if (t->top->dirty)
			tui_redraw(t);
		ch = tui_getch(t, -1);
		if (ch == TUI_QUIT)
			break;
		if (ch == TUI_TICK) {
			t->next_tick = tui_now_ms() + (t->reachable ?
			    t->interval_ms : TUI_RECONNECT_MS);
			if (t->top->ops->tick != NULL)
				t->top->ops->tick(t, t->top);
			/* cmld back, no view asked: knock */
			if (!t->reachable && t->top->ops->tick == NULL)
				tui_call(t, "device status", NULL, NULL,
				    NULL);
			t->reconnected = 0;
			tui_redraw(t);
			continue;
		}
		if (t->top->ops->key == NULL ||
		    !t->top->ops->key(t, t->top, ch))
			tui_common_key(t, ch);
		if (t->top != NULL)
			tui_redraw(t);
	}
	while (t->top != NULL) {
		struct tui_view *v = t->top;

		t->top = v->below;
		tui_view_free(v);
	}
	client_disconnect(&t->notice);
	client_disconnect(&t->cl);
	return TUI_EXIT_OK;
}
