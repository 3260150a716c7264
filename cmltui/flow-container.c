/*
 * A container's details: what container show and container net show say,
 * and below them its live log, what its init prints (container logs
 * --follow on a connection of its own, read between keys).  From here it
 * is started (its PIN asked when its storage is encrypted), stopped, its
 * console attached (the terminal leaves curses until Ctrl-] detaches),
 * its token's PIN changed or unblocked.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec.h"
#include "flow.h"
#include "xmalloc.h"

/* The lines of the log kept, and the longest line before it is broken. */
#define FLOW_LOG_LINES 1000
#define FLOW_LOG_WIDTH 1024
/* The label column of the details. */
#define FLOW_CT_LABEL 11

struct flow_ct {
	char *name;
	struct json_object *show; /* container show's reply; NULL: none */
	struct json_object *net; /* container net show's; NULL: none */
	char *error; /* why show failed */

	/* the log: its stream, its lines (the newest last), the line begun */
	struct flow_stream log;
	long long log_pid; /* init's pid when the log was asked for */
	char **lines;
	size_t nlines;
	char partial[FLOW_LOG_WIDTH + 1];
	size_t plen;
	int esc; /* inside a terminal escape sequence: 1 ESC, 2 CSI */
	size_t scroll; /* lines up from the newest */
	int log_rows; /* the log's rows at the last draw */

	char *status; /* what the last action said */
	enum tui_attr status_attr;
};

/* Adds a line to the log, dropping the oldest beyond FLOW_LOG_LINES. */
static void
flow_ct_add_line(struct flow_ct *c, const char *line)
{
	if (c->nlines == FLOW_LOG_LINES) {
		free(c->lines[0]);
		memmove(c->lines, c->lines + 1,
		    (c->nlines - 1) * sizeof *c->lines);
		c->nlines--;
	} else
		c->lines = xreallocarray(c->lines, c->nlines + 1,
		    sizeof *c->lines);
	c->lines[c->nlines++] = xstrdup(line);
	/* a reader scrolled up stays where they read */
	if (c->scroll > 0 && c->scroll < c->nlines)
		c->scroll++;
}

/* Ends the line begun. */
static void
flow_ct_end_line(struct flow_ct *c)
{
	c->partial[c->plen] = '\0';
	flow_ct_add_line(c, c->partial);
	c->plen = 0;
}

/*
 * Takes bytes init printed: lines at "\n", "\r" dropped, the terminal's
 * escape sequences (colours, cursor) dropped; other control characters
 * stay for tui_print to show escaped.
 */
static void
flow_ct_feed(struct flow_ct *c, const unsigned char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (c->esc == 1) {
			c->esc = b[i] == '[' ? 2 : 0;
			continue;
		}
		if (c->esc == 2) {
			if (b[i] >= 0x40 && b[i] <= 0x7e)
				c->esc = 0;
			continue;
		}
		if (b[i] == 0x1b) {
			c->esc = 1;
			continue;
		}
		if (b[i] == '\r')
			continue;
		if (b[i] == '\n') {
			flow_ct_end_line(c);
			continue;
		}
		if (c->plen == FLOW_LOG_WIDTH)
			flow_ct_end_line(c);
		c->partial[c->plen++] = (char)b[i];
	}
}

/*
 * Decodes the base64 of a log reply into the log; -1 when it is no
 * base64.
 */
static int
flow_ct_feed_base64(struct flow_ct *c, const char *s)
{
	static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char out[3 * 256];
	const char *d;
	unsigned int acc = 0;
	size_t n = 0;
	int bits = 0;

	for (; *s != '\0' && *s != '='; s++) {
		if ((d = strchr(digits, *s)) == NULL)
			return -1;
		acc = (acc << 6) | (unsigned int)(d - digits);
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
			if (n == sizeof out) {
				flow_ct_feed(c, out, n);
				n = 0;
			}
		}
	}
	flow_ct_feed(c, out, n);
	return 0;
}

/* Takes a reply of the log's stream. */
static void
flow_ct_log_reply(void *arg, const char *error, struct json_object *params)
{
	struct flow_ct *c = arg;
	char *line, *text;
	const char *s;

	if (error != NULL) {
		text = tui_error_text(error, params);
		line = xasprintf("[the log: %s]", text);
		flow_ct_add_line(c, line);
		free(line);
		free(text);
		return;
	}
	if (tui_int(params, "lost", 0) > 0) {
		line = xasprintf("[%lld bytes of the log were lost: it keeps "
		    "the last 64 KiB]", tui_int(params, "lost", 0));
		flow_ct_add_line(c, line);
		free(line);
	}
	if ((s = tui_str(params, "log", NULL)) != NULL &&
	    flow_ct_feed_base64(c, s) == -1)
		flow_ct_add_line(c, "[cmld sent a log that is not base64]");
	if ((s = tui_str(params, "end", NULL)) != NULL) {
		if (c->plen > 0)
			flow_ct_end_line(c);
		line = xasprintf("[%s]", s);
		flow_ct_add_line(c, line);
		free(line);
	}
}

/* Asks for the log anew: what init printed since its start, then more. */
static void
flow_ct_log_start(struct tui *t, struct flow_ct *c)
{
	struct json_object *params;
	char *cause = NULL, *line;
	size_t i;

	for (i = 0; i < c->nlines; i++)
		free(c->lines[i]);
	c->nlines = 0;
	c->plen = 0;
	c->esc = 0;
	c->scroll = 0;
	c->log_pid = tui_int(c->show, "pid", 0);
	params = json_object_new_object();
	json_object_object_add(params, "name", json_object_new_string(c->name));
	json_object_object_add(params, "follow", json_object_new_boolean(1));
	if (flow_stream_start(t, &c->log, "container logs", params,
	    &cause) == -1) {
		line = xasprintf("[the log: %s]", cause);
		flow_ct_add_line(c, line);
		free(line);
		free(cause);
	}
}

/* Asks cmld again for the details (and with net, the network). */
static void
flow_ct_refresh(struct tui *t, struct flow_ct *c, int net)
{
	struct json_object *params, *reply = NULL;
	char *msg = NULL;

	params = json_object_new_object();
	json_object_object_add(params, "name", json_object_new_string(c->name));
	free(c->error);
	c->error = NULL;
	if (flow_run(t, "container show", params, &reply, NULL, NULL,
	    &msg) == 0) {
		json_object_put(c->show);
		c->show = reply;
	} else {
		c->error = msg;
		msg = NULL;
	}
	if (net && c->error == NULL) {
		params = json_object_new_object();
		json_object_object_add(params, "name",
		    json_object_new_string(c->name));
		reply = NULL;
		json_object_put(c->net);
		c->net = NULL;
		if (flow_run(t, "container net show", params, &reply, NULL,
		    NULL, &msg) == 0)
			c->net = reply;
		free(msg);
	}
	/* a new run of init (or a cmld come back): its log from the start */
	if (c->show != NULL && flow_stream_fd(&c->log) == -1 &&
	    tui_int(c->show, "pid", 0) > 0 &&
	    tui_int(c->show, "pid", 0) != c->log_pid)
		flow_ct_log_start(t, c);
}

/* Sets the status line. */
static void
flow_ct_status(struct flow_ct *c, enum tui_attr a, const char *text)
{
	free(c->status);
	c->status = text != NULL ? xstrdup(text) : NULL;
	c->status_attr = a;
}

/* Returns the network in one line: "link 10.200.0.5/30, c0 ...; 3 rules". */
static char *
flow_ct_net_line(struct json_object *net)
{
	struct json_object *link, *a, *rules, *dns;
	const char *mode = tui_str(net, "mode", NULL);
	char *s, *t;
	size_t i, n;

	s = xstrdup(mode != NULL ? mode : "?");
	if (json_object_object_get_ex(net, "link", &link) &&
	    json_object_is_type(link, json_type_object) &&
	    json_object_object_get_ex(link, "addresses", &a) &&
	    json_object_is_type(a, json_type_array)) {
		n = json_object_array_length(a);
		for (i = 0; i < n; i++) {
			t = xasprintf("%s%s %s", s, i == 0 ? ":" : ",",
			    json_object_get_string(
			    json_object_array_get_idx(a, i)));
			free(s);
			s = t;
		}
		if (tui_str(link, "c0_end", NULL) != NULL) {
			t = xasprintf("%s (c0's end %s)", s,
			    tui_str(link, "c0_end", NULL));
			free(s);
			s = t;
		}
	}
	if (json_object_object_get_ex(net, "dns", &dns) &&
	    json_object_is_type(dns, json_type_array) &&
	    json_object_array_length(dns) > 0) {
		t = xasprintf("%s; DNS %s", s, json_object_get_string(
		    json_object_array_get_idx(dns, 0)));
		free(s);
		s = t;
	}
	if (json_object_object_get_ex(net, "rules", &rules) &&
	    json_object_is_type(rules, json_type_array)) {
		n = json_object_array_length(rules);
		t = xasprintf("%s; %zu firewall rule%s in force", s, n,
		    n == 1 ? "" : "s");
		free(s);
		s = t;
	}
	return s;
}

/* Draws one "Label      value" line; returns the next y. */
static int
flow_ct_field(struct tui *t, WINDOW *win, int y, int cols, const char *label,
    enum tui_attr a, const char *value)
{
	if (value == NULL || *value == '\0')
		return y;
	tui_print_attr(t, win, y, 1, FLOW_CT_LABEL, TUI_A_HEADING, label);
	tui_print_attr(t, win, y, 1 + FLOW_CT_LABEL, cols - 2 - FLOW_CT_LABEL,
	    a, value);
	return y + 1;
}

static void
flow_ct_draw(struct tui *t, struct tui_view *v, WINDOW *win)
{
	struct flow_ct *c = v->data;
	struct json_object *s = c->show;
	const char *state;
	char *line, buf[32];
	size_t first, i, shown;
	int rows, cols, y = 0, box, n;

	getmaxyx(win, rows, cols);
	if (c->error != NULL)
		y += flow_wrap(t, win, y, 1, cols - 2, 3, TUI_A_BAD, c->error);
	if (s != NULL) {
		state = tui_str(s, "state", NULL);
		if (tui_int(s, "pid", 0) > 0)
			line = xasprintf("%s, pid %lld", state,
			    tui_int(s, "pid", 0));
		else
			line = xstrdup(state != NULL ? state : "?");
		y = flow_ct_field(t, win, y, cols, "State",
		    tui_state_attr(state), line);
		free(line);
		y = flow_ct_field(t, win, y, cols, "Reason", TUI_A_NORMAL,
		    tui_str(s, "reason", NULL));
		line = xasprintf("%s %s", tui_str(s, "guestos", NULL) != NULL ?
		    tui_str(s, "guestos", NULL) : "?", tui_str(s, "version", NULL) !=
		    NULL ? tui_str(s, "version", NULL) : "");
		y = flow_ct_field(t, win, y, cols, "Guest OS", TUI_A_NORMAL,
		    line);
		free(line);
		y = flow_ct_field(t, win, y, cols, "Signer", TUI_A_NORMAL,
		    tui_str(s, "signer", NULL));
		y = flow_ct_field(t, win, y, cols, "Hostname", TUI_A_NORMAL,
		    tui_str(s, "hostname", NULL));
		if (tui_int(s, "pids", -1) >= 0)
			snprintf(buf, sizeof buf, "%lld", tui_int(s, "pids",
			    0));
		else
			snprintf(buf, sizeof buf, "-");
		line = xasprintf("memory %s, pids %s",
		    tui_str(s, "memory", NULL) != NULL ? tui_str(s, "memory", NULL) :
		    "-", buf);
		y = flow_ct_field(t, win, y, cols, "Limits", TUI_A_NORMAL,
		    line);
		free(line);
		y = flow_ct_field(t, win, y, cols, "Volume", TUI_A_NORMAL,
		    tui_str(s, "volume", NULL));
		if (tui_int(s, "integrity_errors", 0) > 0) {
			line = xasprintf("%s; %lld integrity errors",
			    tui_str(s, "encryption", NULL) != NULL ?
			    tui_str(s, "encryption", NULL) : "",
			    tui_int(s, "integrity_errors", 0));
			y = flow_ct_field(t, win, y, cols, "Encryption",
			    TUI_A_BAD, line);
			free(line);
		} else
			y = flow_ct_field(t, win, y, cols, "Encryption",
			    TUI_A_NORMAL, tui_str(s, "encryption", NULL));
		y = flow_ct_field(t, win, y, cols, "Images", TUI_A_NORMAL,
		    tui_str(s, "images", NULL));
	}
	if (c->net != NULL) {
		line = flow_ct_net_line(c->net);
		y = flow_ct_field(t, win, y, cols, "Network", TUI_A_NORMAL,
		    line);
		free(line);
	}

	/* the log in a box below, the status line under it */
	box = rows - y - 1;
	if (box < 3)
		return;
	{
		WINDOW *lw = derwin(win, box, cols, y, 0);

		if (lw == NULL)
			return;
		line = xasprintf("Log%s", flow_stream_fd(&c->log) != -1 ?
		    " (live)" : "");
		tui_box(t, lw, line);
		free(line);
		c->log_rows = n = box - 2;
		shown = c->nlines + (c->plen > 0 ? 1 : 0);
		if (c->scroll > shown)
			c->scroll = shown;
		first = shown > (size_t)n + c->scroll ?
		    shown - (size_t)n - c->scroll : 0;
		for (i = first; i < shown && i < first + (size_t)n; i++) {
			if (i < c->nlines)
				tui_print(lw, 1 + (int)(i - first), 1, cols - 2,
				    c->lines[i]);
			else {
				c->partial[c->plen] = '\0';
				tui_print(lw, 1 + (int)(i - first), 1, cols - 2,
				    c->partial);
			}
		}
		if (c->scroll > 0) {
			line = xasprintf(" %zu more below: End ", c->scroll);
			tui_print_attr(t, lw, box - 1, cols - 2 -
			    (int)strlen(line), (int)strlen(line), TUI_A_DIM,
			    line);
			free(line);
		}
		delwin(lw);
	}
	if (c->status != NULL)
		tui_print_attr(t, win, rows - 1, 1, cols - 2, c->status_attr,
		    c->status);
}

/* Keeps the end of a console call: why it ended, or its error. */
struct flow_console {
	char *end;
};

static int
flow_ct_console_reply(void *arg, struct json_object *params, int continues,
    const int *fds, size_t nfds, char **cause)
{
	struct flow_console *fc = arg;
	size_t i;
	int rc;

	/* the first: the console's descriptors, pumped until detached */
	if ((rc = exec_attach(params, fds, nfds, cause)) == -1)
		return -1;
	if (rc == 0)
		for (i = 0; i < nfds; i++)
			close(fds[i]);
	if (tui_str(params, "end", NULL) != NULL) {
		free(fc->end);
		fc->end = xstrdup(tui_str(params, "end", NULL));
	}
	return 0;
}

static void
flow_ct_console_error(void *arg, const char *error, struct json_object *params)
{
	(void)arg;
	(void)error;
	(void)params;
}

/*
 * Attaches the terminal to the container's console: curses is left for
 * it, and comes back when Ctrl-] detaches or init ends.
 */
static void
flow_ct_console(struct tui *t, struct flow_ct *c)
{
	const struct cmd_entry *cmd = cmd_find_words("container console");
	struct flow_console fc = { NULL };
	const struct client_reply_ops ops = { .arg = &fc,
	    .reply = flow_ct_console_reply, .error = flow_ct_console_error };
	struct json_object *params;
	char *msg = NULL, *text;
	int rc;

	if (cmd == NULL)
		return;
	params = json_object_new_object();
	json_object_object_add(params, "name", json_object_new_string(c->name));
	tui_suspend(t);
	fprintf(stderr, "Console of %s: Ctrl-] detaches.\r\n", c->name);
	/* the console's size is the terminal's */
	exec_prepare(cmd, params, 0);
	rc = tui_call_ops(t, cmd, params, 1, &ops, &msg);
	tui_resume(t);
	if (rc != 0)
		flow_ct_status(c, TUI_A_BAD, msg != NULL ? msg :
		    "the console failed");
	else {
		text = xasprintf("console: %s", fc.end != NULL ? fc.end :
		    "detached");
		flow_ct_status(c, TUI_A_DIM, text);
		free(text);
	}
	free(fc.end);
	free(msg);
}

static int
flow_ct_key(struct tui *t, struct tui_view *v, int ch)
{
	struct flow_ct *c = v->data;
	size_t page = c->log_rows > 1 ? (size_t)c->log_rows - 1 : 1;

	switch (ch) {
	case 's':
		tui_flow_start(t, c->name);
		flow_ct_refresh(t, c, 1);
		break;
	case 'x':
		tui_flow_stop(t, c->name);
		flow_ct_refresh(t, c, 1);
		break;
	case 'c':
		flow_ct_console(t, c);
		flow_ct_refresh(t, c, 0);
		break;
	case 'p':
		tui_flow_change_pin(t, c->name);
		break;
	case 'u':
		tui_flow_unblock(t, c->name);
		break;
	case 'r':
		flow_ct_status(c, TUI_A_NORMAL, NULL);
		flow_ct_refresh(t, c, 1);
		break;
	case KEY_UP:
		c->scroll++;
		break;
	case KEY_DOWN:
		if (c->scroll > 0)
			c->scroll--;
		break;
	case KEY_PPAGE:
		c->scroll += page;
		break;
	case KEY_NPAGE:
		c->scroll = c->scroll > page ? c->scroll - page : 0;
		break;
	case KEY_HOME:
		c->scroll = c->nlines;
		break;
	case KEY_END:
		c->scroll = 0;
		break;
	default:
		return 0;
	}
	v->dirty = 1;
	return 1;
}

static void
flow_ct_tick(struct tui *t, struct tui_view *v)
{
	struct flow_ct *c = v->data;

	if (t->reconnected)
		c->log_pid = 0;
	/* the network when first shown, and when cmld came back */
	flow_ct_refresh(t, c, c->net == NULL || t->reconnected);
	v->dirty = 1;
}

static int
flow_ct_fd(struct tui *t, struct tui_view *v)
{
	struct flow_ct *c = v->data;

	return flow_stream_fd(&c->log);
}

static void
flow_ct_readable(struct tui *t, struct tui_view *v)
{
	struct flow_ct *c = v->data;
	char *why = NULL, *line;

	if (flow_stream_read(&c->log, flow_ct_log_reply, c, &why) == -1 &&
	    why != NULL) {
		line = xasprintf("[the log: %s]", why);
		flow_ct_add_line(c, line);
		free(line);
		free(why);
	}
	v->dirty = 1;
}

static void
flow_ct_free(struct tui_view *v)
{
	struct flow_ct *c = v->data;
	size_t i;

	if (c == NULL)
		return;
	flow_stream_stop(&c->log);
	for (i = 0; i < c->nlines; i++)
		free(c->lines[i]);
	free(c->lines);
	json_object_put(c->show);
	json_object_put(c->net);
	free(c->error);
	free(c->status);
	free(c->name);
	free(c);
}

static const struct tui_view_ops flow_ct_ops = {
	.name = "container",
	.draw = flow_ct_draw,
	.key = flow_ct_key,
	.tick = flow_ct_tick,
	.fd = flow_ct_fd,
	.readable = flow_ct_readable,
	.free = flow_ct_free,
	.help = "s start  x stop  c console  p/u PIN/PUK  r refresh  "
	    "PgUp log",
};

void
flow_container_push(struct tui *t, const char *name, int console)
{
	struct flow_ct *c;
	struct tui_view *v;
	char *title;

	c = xcalloc(1, sizeof *c);
	c->name = xstrdup(name);
	flow_stream_init(&c->log);
	title = xasprintf("Container %s", name);
	v = tui_view_new(&flow_ct_ops, c, title);
	free(title);
	/* its tick asks cmld at once */
	tui_push(t, v);
	/* a container that does not run: what its init printed last */
	if (c->show != NULL && flow_stream_fd(&c->log) == -1 &&
	    c->log_pid == 0)
		flow_ct_log_start(t, c);
	if (console) {
		flow_ct_console(t, c);
		flow_ct_refresh(t, c, 0);
	}
	v->dirty = 1;
}

void
tui_container_push(struct tui *t, const char *name)
{
	flow_container_push(t, name, 0);
}
