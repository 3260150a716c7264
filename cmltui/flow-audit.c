/*
 * The audit review (CR 6.1): the records the filters select as a table,
 * newest at the bottom; Enter shows one whole (audit show), 'a'
 * acknowledges it or every record up to it, 'f' follows the trail live
 * (audit follow on a connection of its own, read between keys, the
 * filters applied to what comes), 'v' verifies the chain and shows the
 * verdict below the table (where the banner of the integrity notice that
 * a broken chain raises does not cover it), '/' sets the filters in a
 * dialog whose lists come from live values.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "xmalloc.h"

/* The records listed when no --last is given, and the most kept. */
#define FLOW_AUDIT_LAST 500
#define FLOW_AUDIT_MAX 5000

struct flow_audit {
	struct json_object *filters; /* audit list's parameters */
	struct json_object *records; /* the records shown, oldest first */
	size_t sel; /* the selected record */
	size_t top; /* the first record drawn */
	int rows; /* the table's rows at the last draw */
	struct flow_stream follow;
	int following; /* asked to follow (again after cmld came back) */
	char *verdict; /* the chain's, once verified */
	char *verdict_more;
	enum tui_attr verdict_attr;
	char *status;
	enum tui_attr status_attr;
};

/* The filters the dialog sets, in its order, and how they are typed. */
static const char *const flow_audit_keys[] = {
	"type", "result", "container", "last", "since", "until", "uid",
};
#define FLOW_AUDIT_NKEYS (sizeof flow_audit_keys / sizeof flow_audit_keys[0])

/* Sets the status line. */
static void
flow_audit_status(struct flow_audit *a, enum tui_attr attr, const char *text)
{
	free(a->status);
	a->status = text != NULL ? xstrdup(text) : NULL;
	a->status_attr = attr;
}

/* Returns the number of records shown. */
static size_t
flow_audit_count(struct flow_audit *a)
{
	return a->records != NULL ? json_object_array_length(a->records) : 0;
}

/* Returns record i, or NULL. */
static struct json_object *
flow_audit_record(struct flow_audit *a, size_t i)
{
	if (i >= flow_audit_count(a))
		return NULL;
	return json_object_array_get_idx(a->records, i);
}

/* Says whether a followed record passes the filters that can be checked. */
static int
flow_audit_match(struct flow_audit *a, struct json_object *r)
{
	static const char *const strings[] = { "type", "result", "container" };
	const char *want, *have;
	size_t i;

	for (i = 0; i < sizeof strings / sizeof strings[0]; i++) {
		if ((want = tui_str(a->filters, strings[i], NULL)) == NULL)
			continue;
		have = tui_str(r, strings[i], NULL);
		if (have == NULL || strcmp(want, have) != 0)
			return 0;
	}
	if (json_object_object_get_ex(a->filters, "uid", NULL) &&
	    tui_int(r, "uid", -1) != tui_int(a->filters, "uid", -2))
		return 0;
	return 1;
}

/* Keeps at most the last N records the filters ask for (or the most). */
static void
flow_audit_trim(struct flow_audit *a)
{
	size_t n = flow_audit_count(a), keep;

	keep = (size_t)tui_int(a->filters, "last", FLOW_AUDIT_MAX);
	if (keep > FLOW_AUDIT_MAX)
		keep = FLOW_AUDIT_MAX;
	if (n <= keep)
		return;
	json_object_array_del_idx(a->records, 0, n - keep);
	a->sel = a->sel > n - keep ? a->sel - (n - keep) : 0;
	a->top = a->top > n - keep ? a->top - (n - keep) : 0;
}

/* Lists the records anew with the filters; the newest is selected. */
static void
flow_audit_load(struct tui *t, struct flow_audit *a)
{
	struct json_object *reply = NULL, *v;
	char *msg = NULL;
	size_t n;

	if (flow_run(t, "audit list", json_object_get(a->filters), &reply,
	    NULL, NULL, &msg) != 0) {
		flow_audit_status(a, TUI_A_BAD, msg);
		free(msg);
		return;
	}
	json_object_put(a->records);
	a->records = NULL;
	if (json_object_object_get_ex(reply, "records", &v) &&
	    json_object_is_type(v, json_type_array))
		a->records = json_object_get(v);
	json_object_put(reply);
	n = flow_audit_count(a);
	a->sel = n > 0 ? n - 1 : 0;
	a->top = 0;
}

/* Takes a reply of the followed trail: records, a notice. */
static void
flow_audit_follow_reply(void *arg, const char *error,
    struct json_object *params)
{
	struct flow_audit *a = arg;
	struct json_object *rs, *r, *notice;
	size_t i, n, count;
	int at_end;
	char *text;

	if (error != NULL) {
		text = tui_error_text(error, params);
		flow_audit_status(a, TUI_A_BAD, text);
		free(text);
		return;
	}
	if (json_object_object_get_ex(params, "notice", &notice) &&
	    json_object_is_type(notice, json_type_object)) {
		text = xasprintf("audit %s (record #%lld): %s",
		    tui_str(notice, "level", NULL) != NULL ?
		    tui_str(notice, "level", NULL) : "notice",
		    tui_int(notice, "seq", 0),
		    tui_str(notice, "message", NULL) != NULL ?
		    tui_str(notice, "message", NULL) : "");
		flow_audit_status(a, TUI_A_BAD, text);
		free(text);
	}
	if (!json_object_object_get_ex(params, "records", &rs) ||
	    !json_object_is_type(rs, json_type_array))
		return;
	count = flow_audit_count(a);
	at_end = count == 0 || a->sel + 1 >= count;
	if (a->records == NULL)
		a->records = json_object_new_array();
	n = json_object_array_length(rs);
	for (i = 0; i < n; i++) {
		r = json_object_array_get_idx(rs, i);
		if (flow_audit_match(a, r))
			json_object_array_add(a->records, json_object_get(r));
	}
	flow_audit_trim(a);
	/* the newest stays in sight while the operator watches it */
	if (at_end && flow_audit_count(a) > 0)
		a->sel = flow_audit_count(a) - 1;
}

/* Follows the trail from after the newest record shown. */
static void
flow_audit_follow_start(struct tui *t, struct flow_audit *a)
{
	struct json_object *params, *last;
	char *cause = NULL, *text;
	size_t n = flow_audit_count(a);

	params = json_object_new_object();
	if (n > 0 && (last = flow_audit_record(a, n - 1)) != NULL)
		json_object_object_add(params, "after",
		    json_object_new_int64(tui_int(last, "seq", 0)));
	if (flow_stream_start(t, &a->follow, "audit follow", params,
	    &cause) == -1) {
		text = xasprintf("cannot follow the trail: %s", cause);
		flow_audit_status(a, TUI_A_BAD, text);
		free(text);
		free(cause);
		a->following = 0;
		return;
	}
	a->following = 1;
	flow_audit_status(a, TUI_A_OK, "following the trail live: "
	    "new records appear at the bottom ('f' stops)");
}

/* Stops following. */
static void
flow_audit_follow_stop(struct flow_audit *a)
{
	flow_stream_stop(&a->follow);
	a->following = 0;
	flow_audit_status(a, TUI_A_NORMAL, "no longer following the trail");
}

/* Verifies the chain and sets the verdict shown above the table. */
static void
flow_audit_verify(struct tui *t, struct flow_audit *a)
{
	struct json_object *r = NULL;
	char *msg = NULL, *err = NULL;
	const char *note;

	free(a->verdict);
	free(a->verdict_more);
	a->verdict = a->verdict_more = NULL;
	if (flow_run(t, "audit verify", NULL, &r, &err, NULL, &msg) != 0) {
		/* a broken trail is answered as an integrity violation */
		a->verdict = xstrdup(err != NULL && strcmp(err,
		    PROTO_ERR_INTEGRITY) == 0 ? "Chain BROKEN" :
		    "Chain NOT VERIFIED");
		a->verdict_more = msg;
		a->verdict_attr = TUI_A_BAD;
		free(err);
		return;
	}
	note = tui_str(r, "note", NULL);
	if (json_object_get_boolean(json_object_object_get(r, "verified"))) {
		a->verdict = xasprintf("Chain OK: %lld records (#%lld..#%lld) "
		    "and %lld checkpoints verified", tui_int(r, "records", 0),
		    tui_int(r, "first_seq", 0), tui_int(r, "last_seq", 0),
		    tui_int(r, "checkpoints", 0));
		a->verdict_attr = TUI_A_OK;
	} else {
		a->verdict = xasprintf("Chain BROKEN: %s",
		    tui_str(r, "broken", NULL) != NULL ? tui_str(r, "broken", NULL) :
		    "the trail was changed");
		a->verdict_attr = TUI_A_BAD;
	}
	if (note != NULL)
		a->verdict_more = xstrdup(note);
	else
		a->verdict_more = xasprintf("every checkpoint's signature "
		    "checked%s", tui_int(r, "anchor", 0) > 0 ? "; it starts "
		    "at the checkpoint before dropped records" : "");
	json_object_put(r);
}

/* Returns s, or "-" when it is NULL or empty. */
static const char *
flow_audit_or(const char *s)
{
	return s != NULL && *s != '\0' ? s : "-";
}

/*
 * Returns audit show's reply as the details view shows it: a field a
 * line, the subject in one, the details wrapped at width below.
 */
static char *
flow_audit_record_text(struct json_object *reply, int width)
{
	struct json_object *r = json_object_object_get(reply, "record");
	const char *p, *line, *details = tui_str(r, "details", NULL);
	char *text = NULL;
	size_t len = 0, n;
	FILE *f;

	if ((f = open_memstream(&text, &len)) == NULL)
		return xstrdup("");
	fprintf(f, "Record #%lld  %s\n\n", tui_int(r, "seq", 0),
	    flow_audit_or(tui_str(r, "time", NULL)));
	fprintf(f, "Type          %s\n", flow_audit_or(tui_str(r, "type", NULL)));
	fprintf(f, "Subject       uid %lld, pid %lld, %s\n",
	    tui_int(r, "uid", -1), tui_int(r, "pid", -1),
	    flow_audit_or(tui_str(r, "comm", NULL)));
	fprintf(f, "Container     %s\n", flow_audit_or(tui_str(r,
	    "container", NULL)));
	fprintf(f, "Object        %s\n", flow_audit_or(tui_str(r, "object", NULL)));
	fprintf(f, "Result        %s\n", flow_audit_or(tui_str(r, "result", NULL)));
	fprintf(f, "Acknowledged  %s\n", json_object_get_boolean(
	    json_object_object_get(r, "acknowledged")) ? "yes" : "no");
	fprintf(f, "Checkpoint    %s\n", json_object_get_boolean(
	    json_object_object_get(reply, "covered_by_checkpoint")) ?
	    "covered by a signed checkpoint" : "not yet covered by a signed "
	    "checkpoint");
	fprintf(f, "Hash          %s\n", flow_audit_or(tui_str(r, "hash", NULL)));
	fprintf(f, "Previous      %s\n", flow_audit_or(tui_str(r, "prev", NULL)));
	fprintf(f, "\nDetails\n");
	for (p = details != NULL ? details : ""; *p != '\0'; ) {
		line = p;
		n = flow_wrap_next(&p, width > 10 ? width - 2 : 8);
		fprintf(f, "  %.*s\n", (int)n, line);
	}
	fclose(f);
	return text;
}

/* Shows the selected record whole. */
static void
flow_audit_show(struct tui *t, struct flow_audit *a)
{
	struct json_object *r = flow_audit_record(a, a->sel), *params;
	struct json_object *reply = NULL;
	char *msg = NULL, *text, *title;
	long long seq;

	if (r == NULL)
		return;
	seq = tui_int(r, "seq", 0);
	params = json_object_new_object();
	json_object_object_add(params, "seq", json_object_new_int64(seq));
	if (flow_run(t, "audit show", params, &reply, NULL, NULL,
	    &msg) != 0) {
		tui_message(t, "Audit record", msg);
		free(msg);
		return;
	}
	text = flow_audit_record_text(reply, t->cols - 4);
	title = xasprintf("Audit record #%lld", seq);
	tui_text_push(t, title, text);
	free(title);
	free(text);
	json_object_put(reply);
}

/* Acknowledges the selected record, or every record up to it. */
static void
flow_audit_ack(struct tui *t, struct flow_audit *a)
{
	struct json_object *r = flow_audit_record(a, a->sel), *params;
	struct json_object *reply = NULL;
	const char *choices[2];
	char *one, *upto, *msg = NULL, *text;
	long long seq, oldest;
	int pick;

	if (r == NULL)
		return;
	seq = tui_int(r, "seq", 0);
	one = xasprintf("Acknowledge record #%lld", seq);
	upto = xasprintf("Acknowledge every record up to #%lld", seq);
	choices[0] = one;
	choices[1] = upto;
	pick = tui_pick(t, "Acknowledge as reviewed", choices, 2);
	free(one);
	free(upto);
	if (pick == -1)
		return;
	params = json_object_new_object();
	json_object_object_add(params, pick == 0 ? "seq" : "up_to",
	    json_object_new_int64(seq));
	if (flow_run(t, "audit ack", params, &reply, NULL, NULL, &msg) != 0) {
		flow_audit_status(a, TUI_A_BAD, msg);
		free(msg);
		return;
	}
	oldest = tui_int(reply, "oldest_unacknowledged", 0);
	if (oldest > 0)
		text = xasprintf("acknowledged %lld record%s; %lld "
		    "unacknowledged left, the oldest #%lld",
		    tui_int(reply, "acknowledged", 0),
		    tui_int(reply, "acknowledged", 0) == 1 ? "" : "s",
		    tui_int(reply, "unacknowledged", 0), oldest);
	else
		text = xasprintf("acknowledged %lld record%s; none is left "
		    "unacknowledged", tui_int(reply, "acknowledged", 0),
		    tui_int(reply, "acknowledged", 0) == 1 ? "" : "s");
	flow_audit_status(a, TUI_A_OK, text);
	free(text);
	json_object_put(reply);
}

/* Returns the argument of audit list named name. */
static const struct cmd_arg *
flow_audit_arg(const char *name)
{
	const struct cmd_entry *cmd = cmd_find_words("audit list");
	const struct cmd_arg *arg;

	if (cmd == NULL)
		return NULL;
	for (arg = cmd->args; arg->name != NULL; arg++)
		if (strcmp(arg->name, name) == 0)
			return arg;
	return NULL;
}

/*
 * Asks for one filter's value in filters: from the live values of a list
 * where there is one ("any" clears it), else typed.  Returns -1 when the
 * value is refused (said in a message) or the dialog cancelled.
 */
static int
flow_audit_ask(struct tui *t, struct json_object *filters, const char *key)
{
	const struct cmd_entry *cmd = cmd_find_words("audit list");
	const struct cmd_arg *arg = flow_audit_arg(key);
	struct json_object *v, *check;
	const char **choices;
	const char *param = NULL;
	char **list = NULL, *typed = NULL, *init, *prompt, *cause = NULL;
	char *title;
	size_t n = 0, i;
	int pick, rc = -1;

	if (arg == NULL)
		return -1;
	if (arg->complete != CMD_COMPLETE_NONE)
		list = tui_completions(t, cmd, arg, filters);
	if (list != NULL) {
		while (list[n] != NULL)
			n++;
		choices = xcalloc(n + 2, sizeof *choices);
		choices[0] = "any";
		for (i = 0; i < n; i++)
			choices[i + 1] = list[i];
		choices[n + 1] = "other: type it";
		title = xasprintf("Filter by %s", key);
		pick = tui_pick(t, title, choices, n + 2);
		free(title);
		if (pick >= 1 && (size_t)pick <= n)
			typed = xstrdup(list[pick - 1]);
		free(choices);
		tui_strings_free(list);
		if (pick == -1)
			return -1;
		if (pick == 0) {
			json_object_object_del(filters, key);
			return 0;
		}
	}
	if (typed == NULL) {
		v = json_object_object_get(filters, key);
		init = v != NULL ? xstrdup(json_object_get_string(v)) :
		    xstrdup("");
		prompt = xasprintf("%s (empty: any):", arg->metavar);
		rc = tui_ask_text(t, arg->help, prompt, init, &typed);
		free(prompt);
		free(init);
		if (rc == -1)
			return -1;
		rc = -1;
	}
	if (*typed == '\0') {
		json_object_object_del(filters, key);
		free(typed);
		return 0;
	}
	/* checked as cmlsh checks the command line */
	check = json_object_new_object();
	if (arg->type == CMD_ARG_INT) {
		char *end;
		long long x;

		errno = 0;
		x = strtoll(typed, &end, 10);
		if (errno != 0 || *end != '\0' || end == typed)
			json_object_object_add(check, key,
			    json_object_new_string(typed));
		else
			json_object_object_add(check, key,
			    json_object_new_int64(x));
	} else
		json_object_object_add(check, key,
		    json_object_new_string(typed));
	if (cmd_check_params(cmd, check, &param, &cause) == -1) {
		tui_message(t, arg->help, cause);
		free(cause);
	} else {
		json_object_object_add(filters, key,
		    json_object_get(json_object_object_get(check, key)));
		rc = 0;
	}
	json_object_put(check);
	free(typed);
	return rc;
}

/*
 * The filter dialog: each filter with its value, picked to change it,
 * then Apply.  Returns 1 when the filters changed.
 */
static int
flow_audit_filter(struct tui *t, struct flow_audit *a)
{
	struct json_object *f, *v;
	const char *choices[FLOW_AUDIT_NKEYS + 2];
	char *lines[FLOW_AUDIT_NKEYS];
	size_t i;
	int pick;

	f = json_object_new_object();
	json_object_object_foreach(a->filters, key, val)
		json_object_object_add(f, key, json_object_get(val));
	for (;;) {
		for (i = 0; i < FLOW_AUDIT_NKEYS; i++) {
			v = json_object_object_get(f, flow_audit_keys[i]);
			lines[i] = xasprintf("%-10s %s", flow_audit_keys[i],
			    v != NULL ? json_object_get_string(v) : "any");
			choices[i] = lines[i];
		}
		choices[FLOW_AUDIT_NKEYS] = "Clear all filters";
		choices[FLOW_AUDIT_NKEYS + 1] = "Apply";
		pick = tui_pick(t, "Audit filters", choices,
		    FLOW_AUDIT_NKEYS + 2);
		for (i = 0; i < FLOW_AUDIT_NKEYS; i++)
			free(lines[i]);
		if (pick == -1) {
			json_object_put(f);
			return 0;
		}
		if ((size_t)pick == FLOW_AUDIT_NKEYS + 1)
			break;
		if ((size_t)pick == FLOW_AUDIT_NKEYS) {
			json_object_put(f);
			f = json_object_new_object();
			continue;
		}
		(void)flow_audit_ask(t, f, flow_audit_keys[pick]);
	}
	json_object_put(a->filters);
	a->filters = f;
	return 1;
}

/* Returns the filters as a line: "type container, last 500". */
static char *
flow_audit_filters_line(struct flow_audit *a)
{
	char *s = xstrdup(""), *n;

	json_object_object_foreach(a->filters, key, val) {
		n = xasprintf("%s%s%s %s", s, *s != '\0' ? ", " : "", key,
		    json_object_get_string(val));
		free(s);
		s = n;
	}
	if (*s == '\0') {
		free(s);
		s = xstrdup("none");
	}
	n = xasprintf("Filters: %s", s);
	free(s);
	return n;
}

/* Returns a record's time as the table shows it. */
static void
flow_audit_time(const char *time, int wide, char *buf, size_t size)
{
	/* "2026-12-03T10:00:00.123Z" */
	if (time == NULL || strlen(time) < 19)
		snprintf(buf, size, "%s", time != NULL ? time : "");
	else if (wide)
		snprintf(buf, size, "%.10s %.8s", time, time + 11);
	else
		snprintf(buf, size, "%.8s", time + 11);
}

/* The table's columns and widths for cols columns of screen. */
struct flow_audit_cols {
	int seq, time, type, uid, container, object, result, details;
	int wide;
};

static void
flow_audit_layout(int cols, long long last_seq, struct flow_audit_cols *c)
{
	int rest;

	c->wide = cols >= 110;
	/* as wide as the newest record's number */
	for (c->seq = 1; last_seq >= 10; last_seq /= 10)
		c->seq++;
	if (c->seq < 3)
		c->seq = 3;
	c->time = c->wide ? 19 : 8;
	c->type = 9;
	c->uid = c->wide ? 5 : 0;
	c->result = cols >= 100 ? 18 : 12;
	rest = cols - 1 - (c->seq + c->time + c->type + c->uid + c->result) -
	    (c->wide ? 7 : 6);
	if (rest < 12)
		rest = 12;
	c->container = rest / 6 > 9 ? rest / 6 : 9;
	c->object = rest / 3 < 15 ? 15 : rest / 3 > 22 ? 22 : rest / 3;
	c->details = rest - c->container - c->object;
	if (c->details < 1)
		c->details = 1;
}

/*
 * Returns an object as the table shows it: without "org.cml."
 * (Container.Start); with last, a result's error by its own name
 * (VerificationFailed).
 */
static const char *
flow_audit_short(const char *name, int last)
{
	const char *dot;

	if (name == NULL || strncmp(name, "org.", 4) != 0)
		return name;
	if (last && (dot = strrchr(name, '.')) != NULL)
		return dot + 1;
	return strncmp(name, "org.cml.", 8) == 0 ? name + 8 : name;
}

/* Draws one row of the table at y, x: the cells given, clipped. */
static void
flow_audit_row(struct tui *t, WINDOW *win, int y,
    const struct flow_audit_cols *c, enum tui_attr attr, const char **cell)
{
	const int w[8] = { c->seq, c->time, c->type, c->uid, c->container,
	    c->object, c->result, c->details };
	int i, x = 1;

	for (i = 0; i < 8; i++) {
		if (w[i] == 0)
			continue;
		tui_print_attr(t, win, y, x, w[i], attr, cell[i]);
		x += w[i] + 1;
	}
}

static void
flow_audit_draw(struct tui *t, struct tui_view *v, WINDOW *win)
{
	static const char *const head[8] = { "SEQ", "TIME", "TYPE", "UID",
	    "CONTAINER", "OBJECT", "RESULT", "DETAILS" };
	struct flow_audit *a = v->data;
	struct flow_audit_cols c;
	struct json_object *r;
	const char *cell[8], *type, *result, *obj;
	char seq[24], time[32], uid[24], *line;
	size_t i, n = flow_audit_count(a);
	enum tui_attr attr;
	int rows, cols, y = 0, bottom, more;

	getmaxyx(win, rows, cols);
	line = flow_audit_filters_line(a);
	tui_print(win, y, 1, cols - 14, line);
	free(line);
	if (flow_stream_fd(&a->follow) != -1)
		tui_print_attr(t, win, y, cols - 12, 11, TUI_A_OK,
		    "[following]");
	y++;
	/* the chain's verdict at the bottom, where no banner covers it */
	bottom = rows - 1;
	if (a->verdict != NULL) {
		if (a->verdict_more != NULL) {
			more = flow_wrap(t, NULL, 0, 0, cols - 4, 3,
			    TUI_A_NORMAL, a->verdict_more);
			bottom -= more;
			flow_wrap(t, win, bottom, 3, cols - 4, more,
			    a->verdict_attr == TUI_A_BAD ? TUI_A_BAD :
			    TUI_A_DIM, a->verdict_more);
		}
		tui_print_attr(t, win, --bottom, 1, cols - 2, a->verdict_attr,
		    a->verdict);
	}
	flow_audit_layout(cols, n > 0 ? tui_int(flow_audit_record(a, n - 1),
	    "seq", 0) : 0, &c);
	flow_audit_row(t, win, y++, &c, TUI_A_HEADING, (const char **)head);
	a->rows = bottom - y;
	if (a->rows < 1)
		return;
	if (n == 0)
		tui_print_attr(t, win, y, 1, cols - 2, TUI_A_DIM,
		    "No record matches the filters.");
	if (a->sel >= n)
		a->sel = n > 0 ? n - 1 : 0;
	if (a->sel < a->top)
		a->top = a->sel;
	if (a->sel >= a->top + (size_t)a->rows)
		a->top = a->sel - (size_t)a->rows + 1;
	for (i = a->top; i < n && i < a->top + (size_t)a->rows; i++) {
		r = flow_audit_record(a, i);
		snprintf(seq, sizeof seq, "%lld", tui_int(r, "seq", 0));
		flow_audit_time(tui_str(r, "time", NULL), c.wide, time,
		    sizeof time);
		type = tui_str(r, "type", NULL);
		/* cmld's own records name cmld, as cmlsh shows them */
		if (type != NULL && (strcmp(type, "daemon") == 0 ||
		    strcmp(type, "container") == 0))
			snprintf(uid, sizeof uid, "cmld");
		else
			snprintf(uid, sizeof uid, "%lld", tui_int(r, "uid",
			    -1));
		obj = flow_audit_short(tui_str(r, "object", NULL), 0);
		result = tui_str(r, "result", NULL);
		cell[0] = seq;
		cell[1] = time;
		cell[2] = type != NULL ? type : "";
		cell[3] = uid;
		cell[4] = tui_str(r, "container", NULL) != NULL ?
		    tui_str(r, "container", NULL) : "";
		cell[5] = obj != NULL ? obj : "";
		cell[6] = result != NULL ? flow_audit_short(result, 1) : "";
		cell[7] = tui_str(r, "details", NULL) != NULL ?
		    tui_str(r, "details", NULL) : "";
		if (i == a->sel)
			attr = TUI_A_SELECTED;
		else if (type != NULL && strcmp(type, "integrity") == 0)
			attr = TUI_A_BAD;
		else if (result != NULL && strcmp(result, "ok") != 0)
			attr = TUI_A_WARN;
		else
			attr = TUI_A_NORMAL;
		if (i == a->sel)
			mvwchgat(win, y, 0, cols, t->attr[TUI_A_SELECTED], 0,
			    NULL);
		flow_audit_row(t, win, y++, &c, attr, cell);
	}
	if (a->status != NULL)
		tui_print_attr(t, win, rows - 1, 1, cols - 2, a->status_attr,
		    a->status);
}

static int
flow_audit_key(struct tui *t, struct tui_view *v, int ch)
{
	struct flow_audit *a = v->data;
	size_t n = flow_audit_count(a);
	size_t page = a->rows > 1 ? (size_t)a->rows - 1 : 1;

	switch (ch) {
	case KEY_UP:
		if (a->sel > 0)
			a->sel--;
		break;
	case KEY_DOWN:
		if (a->sel + 1 < n)
			a->sel++;
		break;
	case KEY_PPAGE:
		a->sel = a->sel > page ? a->sel - page : 0;
		break;
	case KEY_NPAGE:
		a->sel = a->sel + page < n ? a->sel + page :
		    (n > 0 ? n - 1 : 0);
		break;
	case KEY_HOME:
		a->sel = 0;
		break;
	case KEY_END:
		a->sel = n > 0 ? n - 1 : 0;
		break;
	case TUI_KEY_ENTER:
	case KEY_ENTER:
	case '\r':
		flow_audit_show(t, a);
		break;
	case 'a':
		flow_audit_ack(t, a);
		break;
	case 'f':
		if (flow_stream_fd(&a->follow) != -1)
			flow_audit_follow_stop(a);
		else
			flow_audit_follow_start(t, a);
		break;
	case 'v':
		flow_audit_verify(t, a);
		break;
	case '/':
		if (flow_audit_filter(t, a)) {
			flow_audit_status(a, TUI_A_NORMAL, NULL);
			flow_audit_load(t, a);
		}
		break;
	case 'r':
		flow_audit_status(a, TUI_A_NORMAL, NULL);
		flow_audit_load(t, a);
		break;
	default:
		return 0;
	}
	v->dirty = 1;
	return 1;
}

static void
flow_audit_tick(struct tui *t, struct tui_view *v)
{
	struct flow_audit *a = v->data;

	/* cmld came back: what it has now, followed again if it was */
	if (!t->reconnected)
		return;
	flow_audit_load(t, a);
	if (a->following && flow_stream_fd(&a->follow) == -1)
		flow_audit_follow_start(t, a);
	v->dirty = 1;
}

static int
flow_audit_fd(struct tui *t, struct tui_view *v)
{
	struct flow_audit *a = v->data;

	return flow_stream_fd(&a->follow);
}

static void
flow_audit_readable(struct tui *t, struct tui_view *v)
{
	struct flow_audit *a = v->data;
	char *why = NULL, *text;

	if (flow_stream_read(&a->follow, flow_audit_follow_reply, a,
	    &why) == -1) {
		text = xasprintf("the trail is no longer followed: %s",
		    why != NULL ? why : "cmld ended the stream");
		flow_audit_status(a, TUI_A_WARN, text);
		free(text);
		free(why);
	}
	v->dirty = 1;
}

static void
flow_audit_free(struct tui_view *v)
{
	struct flow_audit *a = v->data;

	if (a == NULL)
		return;
	flow_stream_stop(&a->follow);
	json_object_put(a->filters);
	json_object_put(a->records);
	free(a->verdict);
	free(a->verdict_more);
	free(a->status);
	free(a);
}

static const struct tui_view_ops flow_audit_ops = {
	.name = "audit",
	.draw = flow_audit_draw,
	.key = flow_audit_key,
	.tick = flow_audit_tick,
	.fd = flow_audit_fd,
	.readable = flow_audit_readable,
	.free = flow_audit_free,
	.help = "Enter show  a ack  f follow  v verify  / filter  "
	    "r reload",
};

void
flow_audit_push(struct tui *t, struct json_object *params,
    enum flow_audit_mode mode)
{
	struct flow_audit *a;
	struct tui_view *v;
	struct json_object *val;
	size_t i;

	a = xcalloc(1, sizeof *a);
	flow_stream_init(&a->follow);
	a->filters = json_object_new_object();
	for (i = 0; i < FLOW_AUDIT_NKEYS; i++)
		if (json_object_object_get_ex(params, flow_audit_keys[i],
		    &val))
			json_object_object_add(a->filters, flow_audit_keys[i],
			    json_object_get(val));
	if (!json_object_object_get_ex(a->filters, "last", NULL))
		json_object_object_add(a->filters, "last",
		    json_object_new_int(FLOW_AUDIT_LAST));
	flow_audit_load(t, a);
	v = tui_view_new(&flow_audit_ops, a, "Audit review");
	tui_push(t, v);
	if (mode == FLOW_AUDIT_FOLLOW)
		flow_audit_follow_start(t, a);
	else if (mode == FLOW_AUDIT_VERIFY)
		flow_audit_verify(t, a);
	v->dirty = 1;
}

void
tui_audit_push(struct tui *t)
{
	flow_audit_push(t, NULL, FLOW_AUDIT_LIST);
}
