/*
 * Updates from signed bundles (cml-bundle(5)): the state of the updates
 * (update status: the slots, the version floors, the signers required,
 * the newest installs), and a bundle looked into (update info: kind,
 * name, version, digest, every signature and whether it counts, the
 * required signers present and missing, the floor, and whether it would
 * install) and installed (update install).
 *
 * The bundle is opened here, with the operator's rights, and passed to
 * cmld as a descriptor, as cmlsh passes it.  The install streams its
 * progress on a connection of its own that the loop waits on (the view's
 * descriptor), so that the screen is drawn, the terminal resized and the
 * notices shown while cmld copies; the view stays on top until the
 * install ended, since only the view on top is read.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "xmalloc.h"

/* The label column. */
#define UPD_LABEL 12
/* The hex digits of a fingerprint shown (cmld's messages show as many). */
#define UPD_FP 16

/* A labelled line of a screen, wrapped when drawn. */
struct upd_row {
	char *label; /* NULL: goes on under the label before */
	enum tui_attr attr;
	char *text;
};

/* The lines a screen shows, and how far they are scrolled (rows). */
struct upd_rows {
	struct upd_row *rows;
	size_t n;
	int top;
	int shown; /* the rows there was room for at the last draw */
};

/* Adds a line to r (label NULL: under the one before). */
static void
upd_add(struct upd_rows *r, const char *label, enum tui_attr a, const char *fmt,
    ...)
{
	struct upd_row *row;
	va_list ap;

	r->rows = xreallocarray(r->rows, r->n + 1, sizeof *r->rows);
	row = &r->rows[r->n++];
	row->label = label != NULL ? xstrdup(label) : NULL;
	row->attr = a;
	va_start(ap, fmt);
	row->text = xvasprintf(fmt, ap);
	va_end(ap);
}

/* Empties r (the scroll stays where it was). */
static void
upd_clear(struct upd_rows *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		free(r->rows[i].label);
		free(r->rows[i].text);
	}
	free(r->rows);
	r->rows = NULL;
	r->n = 0;
}

/*
 * Draws r into rows lines of win from y, scrolled by r->top rows, each
 * text wrapped beside its label; a last line says when there is more.
 * Returns the rows used.
 */
static int
upd_draw_rows(
    struct tui *t, WINDOW *win, int y, int rows, int cols, struct upd_rows *r)
{
	const char *p, *start;
	char *line;
	size_t i, len;
	int row = 0, total = 0, w = cols - 2 - UPD_LABEL;

	if (rows <= 0 || w < 8)
		return 0;
	for (i = 0; i < r->n; i++)
		total += flow_wrap(t, NULL, 0, 0, w, 1 << 20, TUI_A_NORMAL,
		    r->rows[i].text[0] != '\0' ? r->rows[i].text : " ");
	/* the last row says what is below when the rest does not fit */
	r->shown = total > rows ? rows - 1 : rows;
	if (r->top > total - r->shown)
		r->top = total - r->shown;
	if (r->top < 0)
		r->top = 0;
	for (i = 0; i < r->n && row - r->top < r->shown; i++) {
		if (r->rows[i].label != NULL && row >= r->top)
			tui_print_attr(t, win, y + row - r->top, 1,
			    UPD_LABEL - 1, TUI_A_HEADING, r->rows[i].label);
		p = r->rows[i].text;
		do {
			start = p;
			len = flow_wrap_next(&p, w);
			if (row >= r->top && row - r->top < r->shown) {
				line = xasprintf("%.*s", (int)len, start);
				tui_print_attr(t, win, y + row - r->top,
				    1 + UPD_LABEL, w, r->rows[i].attr, line);
				free(line);
			}
			row++;
		} while (*p != '\0' && row - r->top < r->shown);
	}
	if (total > rows) {
		line =
		    xasprintf("rows %d-%d of %d: Up, Down, PgUp, PgDn scroll",
			r->top + 1, r->top + r->shown, total);
		tui_print_attr(
		    t, win, y + rows - 1, 1, cols - 2, TUI_A_DIM, line);
		free(line);
	}
	return rows < total ? rows : total;
}

/* Scrolls r by a key; returns 1 when it was a key that scrolls. */
static int
upd_scroll(struct upd_rows *r, int ch)
{
	int page = r->shown > 1 ? r->shown - 1 : 1;

	switch (ch) {
	case KEY_UP:
	case 'k':
		r->top--;
		break;
	case KEY_DOWN:
	case 'j':
		r->top++;
		break;
	case KEY_PPAGE:
		r->top -= page;
		break;
	case KEY_NPAGE:
	case ' ':
		r->top += page;
		break;
	case KEY_HOME:
		r->top = 0;
		break;
	case KEY_END:
		r->top = 1 << 20;
		break;
	default:
		return 0;
	}
	/* upd_draw_rows keeps it in range */
	if (r->top < 0)
		r->top = 0;
	return 1;
}

/* Member key of o as a boolean (def when it is none). */
static int
upd_bool(struct json_object *o, const char *key, int def)
{
	struct json_object *v;

	if (o != NULL && json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v);
	return def;
}

/* Member key of o as an array, or NULL. */
static struct json_object *
upd_array(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o != NULL && json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_array))
		return v;
	return NULL;
}

/*
 * Returns the strings of array a joined by ", ", each cut to n characters
 * with "..." when longer (n 0: whole), or none when there are none (free
 * it).
 */
static char *
upd_join(struct json_object *a, size_t n, const char *none)
{
	const char *s;
	char *out = NULL, *next;
	size_t i, len = a != NULL ? json_object_array_length(a) : 0;

	for (i = 0; i < len; i++) {
		s = json_object_get_string(json_object_array_get_idx(a, i));
		next = xasprintf("%s%s%.*s%s", out != NULL ? out : "",
		    out != NULL ? ", " : "", n > 0 ? (int)n : (int)strlen(s), s,
		    n > 0 && strlen(s) > n ? "..." : "");
		free(out);
		out = next;
	}
	return out != NULL ? out : xstrdup(none);
}

/* The attribute an install's result is shown in. */
static enum tui_attr
upd_result_attr(const char *result)
{
	if (result == NULL)
		return TUI_A_NORMAL;
	if (strcmp(result, "installed") == 0 ||
	    strcmp(result, "confirmed") == 0)
		return TUI_A_OK;
	if (strcmp(result, "pending") == 0 || strcmp(result, "installing") == 0)
		return TUI_A_WARN;
	return TUI_A_BAD;
}

/*
 * Calls the command words with params (taken over; NULL: none): its reply
 * replaces *reply, or, when it failed, *error says why (the other NULL).
 */
static void
upd_ask(struct tui *t, const char *words, struct json_object *params,
    struct json_object **reply, char **error)
{
	json_object_put(*reply);
	free(*error);
	*reply = NULL;
	*error = NULL;
	if (flow_run(t, words, params, reply, NULL, NULL, error) == 0) {
		free(*error);
		*error = NULL;
	} else {
		json_object_put(*reply);
		*reply = NULL;
	}
}

/*
 * Asks for a bundle: typed (pick 0) or picked from the files of the
 * directories (pick 1, a directory chosen goes into it), starting from
 * def.  Returns the path (free it), or NULL when cancelled.
 */
static char *
upd_ask_bundle(struct tui *t, const char *def, int pick)
{
	const struct cmd_entry *cmd = cmd_find_words("update info");
	struct json_object *params;
	char **list, *path = NULL, *dir;
	const char *slash;
	size_t n;
	int i;

	if (!pick) {
		if (tui_ask_text(t, "Open an update bundle",
			"The bundle file "
			"(cml-bundle(5)):",
			def, &path) == -1 ||
		    *path == '\0') {
			free(path);
			return NULL;
		}
		return path;
	}
	/* the directory of the last bundle, or the working directory */
	if (def != NULL && (slash = strrchr(def, '/')) != NULL)
		dir = xasprintf("%.*s", (int)(slash - def) + 1, def);
	else
		dir = xstrdup("");
	for (;;) {
		params = json_object_new_object();
		json_object_object_add(
		    params, "bundle", json_object_new_string(dir));
		list = tui_completions(t, cmd, &cmd->args[0], params);
		json_object_put(params);
		if (list == NULL)
			break;
		for (n = 0; list[n] != NULL; n++)
			;
		i = tui_pick(
		    t, "Pick an update bundle", (const char *const *)list, n);
		if (i >= 0) {
			free(dir);
			dir = xstrdup(list[i]);
		}
		tui_strings_free(list);
		if (i < 0)
			break;
		/* a directory picked: on into it */
		if (dir[0] == '\0' || dir[strlen(dir) - 1] != '/') {
			path = dir;
			dir = NULL;
			break;
		}
	}
	free(dir);
	return path;
}

/*
 * The keys both screens have: o opens a bundle typed, f (F4) one picked,
 * each on a screen of its own (asked from def; its path kept in *last
 * when last is not NULL), the arrows scroll r.  Returns 1 when ch was one
 * of them.
 */
static int
upd_key_common(struct tui *t, struct tui_view *v, struct upd_rows *r,
    const char *def, char **last, int ch)
{
	char *path;

	switch (ch) {
	case 'o':
	case 'f':
	case KEY_F(4):
		if ((path = upd_ask_bundle(t, def, ch != 'o')) == NULL)
			break;
		tui_update_bundle_push(t, path, 0);
		if (last != NULL) {
			free(*last);
			*last = path;
		} else
			free(path);
		break;
	default:
		if (!upd_scroll(r, ch))
			return 0;
	}
	v->dirty = 1;
	return 1;
}

/* --- the state of the updates: update status --------------------------- */

struct upd_status {
	struct upd_rows rows;
	struct json_object *status; /* update status's reply */
	char *error; /* why it could not be asked */
	char *last; /* the last bundle opened, for the next question */
};

/* Adds a slot pair's line: what runs, what is good, what waits. */
static void
upd_status_slot(struct upd_rows *r, struct json_object *s)
{
	const char *what = tui_str(s, "what", "?");
	const char *failure = tui_str(s, "last_failure", NULL);
	char *text, *more;

	text = xasprintf("%s: good slot %s (%s)", what, tui_str(s, "good", "?"),
	    tui_str(s, "good_version", "?"));
	if (tui_str(s, "running", NULL) != NULL) {
		more = xasprintf(
		    "%s, runs from %s", text, tui_str(s, "running", NULL));
		free(text);
		text = more;
	}
	if (tui_str(s, "try", NULL) != NULL) {
		more = xasprintf("%s; slot %s (%s) to be tried, %lld tr%s left",
		    text, tui_str(s, "try", NULL),
		    tui_str(s, "try_version", "?"), tui_int(s, "tries", 0),
		    tui_int(s, "tries", 0) == 1 ? "y" : "ies");
		free(text);
		text = more;
	}
	if (upd_bool(s, "pending_confirmation", 0)) {
		more = xasprintf("%s; waits for its confirmation (update "
				 "mark-good)",
		    text);
		free(text);
		text = more;
	}
	upd_add(r, "Slots",
	    upd_bool(s, "pending_confirmation", 0) ? TUI_A_WARN : TUI_A_NORMAL,
	    "%s", text);
	if (failure != NULL)
		upd_add(r, NULL, TUI_A_BAD, "last fallback: %s", failure);
	free(text);
}

/* Builds the status screen's lines from the reply. */
static void
upd_status_build(struct upd_status *u)
{
	struct upd_rows *r = &u->rows;
	struct json_object *a, *o;
	const char *label;
	char when[20], *list;
	size_t i, n;

	upd_clear(r);
	if (u->error != NULL) {
		upd_add(r, "Status", TUI_A_BAD, "%s", u->error);
		return;
	}
	if (u->status == NULL)
		return;

	a = upd_array(u->status, "slots");
	n = a != NULL ? json_object_array_length(a) : 0;
	if (n == 0)
		upd_add(r, "Slots", TUI_A_DIM, "none reported by cmld");
	for (i = 0; i < n; i++)
		upd_status_slot(r, json_object_array_get_idx(a, i));

	a = upd_array(u->status, "floors");
	n = a != NULL ? json_object_array_length(a) : 0;
	if (n == 0)
		upd_add(r, "Floors", TUI_A_DIM,
		    "none yet: any version "
		    "installs");
	for (i = 0, label = "Floors"; i < n; i++, label = NULL) {
		o = json_object_array_get_idx(a, i);
		upd_add(r, label, TUI_A_NORMAL,
		    "%s %s: nothing older than %s"
		    "%s%s",
		    tui_str(o, "kind", "?"), tui_str(o, "name", "?"),
		    tui_str(o, "version", "?"),
		    tui_str(o, "tpm", NULL) != NULL ? "; the TPM holds " : "",
		    tui_str(o, "tpm", ""));
	}
	if (tui_str(u->status, "tpm_floors", NULL) != NULL)
		upd_add(r, NULL, TUI_A_DIM, "%s",
		    tui_str(u->status, "tpm_floors", NULL));

	a = upd_array(u->status, "signers");
	n = a != NULL ? json_object_array_length(a) : 0;
	if (n == 0)
		upd_add(r, "Signers", TUI_A_DIM,
		    "no kind requires named "
		    "signers (update_signers_KIND)");
	for (i = 0, label = "Signers"; i < n; i++, label = NULL) {
		o = json_object_array_get_idx(a, i);
		list = upd_join(upd_array(o, "signers"), UPD_FP, "-");
		upd_add(r, label, TUI_A_NORMAL, "%s: %lld of %s",
		    tui_str(o, "kind", "?"), tui_int(o, "required", 0), list);
		free(list);
	}

	a = upd_array(u->status, "history");
	n = a != NULL ? json_object_array_length(a) : 0;
	if (n == 0)
		upd_add(r, "Installs", TUI_A_DIM, "none yet");
	for (i = 0, label = "Installs"; i < n; i++, label = NULL) {
		o = json_object_array_get_idx(a, i);
		/* 2026-12-04T15:59:08.951Z: to the second, in UTC */
		snprintf(when, sizeof when, "%s", tui_str(o, "time", "?"));
		if (strlen(when) > 10 && when[10] == 'T')
			when[10] = ' ';
		upd_add(r, label, upd_result_attr(tui_str(o, "result", NULL)),
		    "#%lld %s %s %s %s: %s", tui_int(o, "id", 0), when,
		    tui_str(o, "kind", "?"), tui_str(o, "name", "?"),
		    tui_str(o, "version", "?"), tui_str(o, "result", "?"));
		if (tui_str(o, "detail", NULL) != NULL)
			upd_add(r, NULL, TUI_A_DIM, "%s",
			    tui_str(o, "detail", NULL));
	}
}

/* Asks cmld for the state of the updates again. */
static void
upd_status_refresh(struct tui *t, struct upd_status *u)
{
	upd_ask(t, "update status", NULL, &u->status, &u->error);
	upd_status_build(u);
}

static void
upd_status_draw(struct tui *t, struct tui_view *v, WINDOW *win)
{
	struct upd_status *u = v->data;
	int rows, cols;

	getmaxyx(win, rows, cols);
	upd_draw_rows(t, win, 0, rows, cols, &u->rows);
}

static int
upd_status_key(struct tui *t, struct tui_view *v, int ch)
{
	struct upd_status *u = v->data;

	if (ch != 'r')
		return upd_key_common(t, v, &u->rows, u->last, &u->last, ch);
	upd_status_refresh(t, u);
	v->dirty = 1;
	return 1;
}

static void
upd_status_tick(struct tui *t, struct tui_view *v)
{
	upd_status_refresh(t, v->data);
	v->dirty = 1;
}

static void
upd_status_free(struct tui_view *v)
{
	struct upd_status *u = v->data;

	upd_clear(&u->rows);
	json_object_put(u->status);
	free(u->error);
	free(u->last);
	free(u);
}

static const struct tui_view_ops upd_status_ops = {
	.name = "updates",
	.draw = upd_status_draw,
	.key = upd_status_key,
	.tick = upd_status_tick,
	.free = upd_status_free,
	.help = "o open a bundle  f pick one  r refresh  Esc back",
};

void
tui_update_push(struct tui *t)
{
	tui_push(t,
	    tui_view_new(&upd_status_ops, xcalloc(1, sizeof(struct upd_status)),
		"Updates"));
}

/* --- a bundle: update info, update install ----------------------------- */

/* Where an install is. */
enum upd_stage {
	UPD_IDLE, /* none asked for */
	UPD_RUNNING, /* cmld copies; its progress comes */
	UPD_ENDED, /* the verdict is there */
};

struct upd_bundle {
	char *path; /* absolute */
	struct upd_rows rows;
	struct json_object *info; /* update info's reply */
	char *error; /* why update info failed */

	/* the install */
	enum upd_stage stage;
	struct flow_stream stream;
	char *file; /* the payload being copied */
	long long done, total;
	struct json_object *result; /* the last reply */
	char *failure; /* the error's text, or why the stream ended */
	char *failure_name; /* the error's name; NULL: the stream broke */
	char *verdict;
	enum tui_attr verdict_attr;
	char *text; /* below the verdict */

	char *status; /* what the last key did */
	enum tui_attr status_attr;
};

static void upd_bundle_build(struct upd_bundle *);

/* Sets the status line (NULL: none). */
static void
upd_bundle_say(struct upd_bundle *u, enum tui_attr a, const char *text)
{
	free(u->status);
	u->status = text != NULL ? xstrdup(text) : NULL;
	u->status_attr = a;
}

/* Adds a signature's lines: who, under which anchor, whether it counts. */
static void
upd_bundle_signature(
    struct upd_rows *r, const char *label, struct json_object *s)
{
	const char *subject = tui_str(s, "subject", NULL);
	const char *kind = tui_str(s, "anchor_kind", NULL);
	const char *error = tui_str(s, "error", NULL);
	const char *fp = tui_str(s, "fingerprint", "");

	upd_add(r, label, TUI_A_NORMAL, "#%lld %s", tui_int(s, "index", 0),
	    subject != NULL ? subject : "(signer unknown)");
	if (!upd_bool(s, "verified", 0))
		upd_add(r, NULL, TUI_A_BAD, "does not verify: %s",
		    error != NULL ? error : "cmld does not say why");
	else if (upd_bool(s, "counts", 0))
		upd_add(r, NULL, TUI_A_OK,
		    "verified under a %s anchor%s%s, "
		    "counts; key %.*s...",
		    kind != NULL ? kind : "?",
		    tui_str(s, "anchor", NULL) != NULL ? " " : "",
		    tui_str(s, "anchor", ""), UPD_FP, fp);
	else
		upd_add(r, NULL, TUI_A_WARN,
		    "verified under a %s anchor, "
		    "does not count: %s",
		    kind != NULL ? kind : "?",
		    error != NULL ? error : "cmld does not say why");
}

/* Returns the bytes of the payloads of array a. */
static long long
upd_payload_bytes(struct json_object *a)
{
	long long total = 0;
	size_t i, n = a != NULL ? json_object_array_length(a) : 0;

	for (i = 0; i < n; i++)
		total += tui_int(json_object_array_get_idx(a, i), "size", 0);
	return total;
}

/* Adds the payloads in one line: their names and their bytes. */
static void
upd_bundle_payloads(struct upd_rows *r, struct json_object *a)
{
	struct json_object *p;
	char *names = NULL, *next, size[32];
	size_t i, n = a != NULL ? json_object_array_length(a) : 0;

	for (i = 0; i < n; i++) {
		p = json_object_array_get_idx(a, i);
		next = xasprintf("%s%s%s", names != NULL ? names : "",
		    names != NULL ? ", " : "", tui_str(p, "name", "?"));
		free(names);
		names = next;
	}
	upd_add(r, "Payloads", TUI_A_NORMAL, "%zu, %s: %s", n,
	    tui_bytes(size, sizeof size, upd_payload_bytes(a)),
	    names != NULL ? names : "");
	free(names);
}

/* Builds the lines of what the bundle holds from update info's reply. */
static void
upd_bundle_build(struct upd_bundle *u)
{
	struct upd_rows *r = &u->rows;
	struct json_object *i = u->info, *a, *signers;
	const char *label, *reason;
	char size[32], *present, *missing, *list;
	size_t k, n;

	upd_clear(r);
	upd_add(r, "Bundle", TUI_A_NORMAL, "%s", u->path);
	if (u->error != NULL) {
		upd_add(r, "Refused", TUI_A_BAD, "%s", u->error);
		return;
	}
	if (i == NULL)
		return;
	upd_add(r, "Kind", TUI_A_NORMAL, "%s", tui_str(i, "kind", "?"));
	upd_add(r, "Name", TUI_A_NORMAL, "%s", tui_str(i, "name", "?"));
	upd_add(r, "Version", TUI_A_NORMAL, "%s", tui_str(i, "version", "?"));
	if (tui_str(i, "description", "")[0] != '\0')
		upd_add(r, "About", TUI_A_NORMAL, "%s",
		    tui_str(i, "description", ""));
	upd_add(r, "Size", TUI_A_NORMAL, "%s",
	    tui_bytes(size, sizeof size, tui_int(i, "size", -1)));
	upd_bundle_payloads(r, upd_array(i, "payloads"));
	upd_add(r, "Digest", TUI_A_NORMAL, "%s", tui_str(i, "digest", "?"));

	a = upd_array(i, "signatures");
	n = a != NULL ? json_object_array_length(a) : 0;
	if (n == 0)
		upd_add(r, "Signatures", TUI_A_BAD,
		    "none: 'cml-bundle sign' "
		    "adds one");
	for (k = 0, label = "Signatures"; k < n; k++, label = NULL)
		upd_bundle_signature(r, label, json_object_array_get_idx(a, k));

	if (json_object_object_get_ex(i, "signers", &signers) &&
	    json_object_is_type(signers, json_type_object)) {
		list = upd_join(upd_array(signers, "signers"), UPD_FP, "-");
		present =
		    upd_join(upd_array(signers, "present"), UPD_FP, "none");
		missing =
		    upd_join(upd_array(signers, "missing"), UPD_FP, "none");
		upd_add(r, "Required", TUI_A_NORMAL,
		    "%lld of %s "
		    "(update_signers_%s)",
		    tui_int(signers, "required", 0), list,
		    tui_str(signers, "kind", "?"));
		upd_add(r, NULL, TUI_A_OK, "present: %s", present);
		upd_add(r, NULL,
		    upd_array(signers, "missing") != NULL &&
			    json_object_array_length(
				upd_array(signers, "missing")) > 0
			? TUI_A_BAD
			: TUI_A_NORMAL,
		    "missing: %s", missing);
		free(list);
		free(present);
		free(missing);
	} else
		upd_add(r, "Required", TUI_A_DIM,
		    "no named signers for "
		    "this kind");

	if (tui_str(i, "floor", NULL) != NULL ||
	    tui_str(i, "tpm_floor", NULL) != NULL)
		upd_add(r, "Floor", TUI_A_NORMAL, "%s%s%s%s",
		    tui_str(i, "floor", "none in the state store"),
		    tui_str(i, "tpm_floor", NULL) != NULL ? " (the TPM holds "
							  : "",
		    tui_str(i, "tpm_floor", ""),
		    tui_str(i, "tpm_floor", NULL) != NULL ? ")" : "");
	else
		upd_add(r, "Floor", TUI_A_DIM, "none yet for %s %s",
		    tui_str(i, "kind", "?"), tui_str(i, "name", "?"));

	if (upd_bool(i, "installable", 0))
		upd_add(r, "Verdict", TUI_A_OK, "installable");
	else {
		reason = tui_str(i, "reason", "cmld does not say why");
		upd_add(r, "Verdict", TUI_A_BAD, "not installable: %s", reason);
	}
}

/* Asks cmld what the bundle holds (the file passed as a descriptor). */
static void
upd_bundle_read(struct tui *t, struct upd_bundle *u)
{
	struct json_object *params;

	params = json_object_new_object();
	json_object_object_add(
	    params, "bundle", json_object_new_string(u->path));
	upd_ask(t, "update info", params, &u->info, &u->error);
	upd_bundle_build(u);
}

/* Takes a reply of the install's stream: progress, the last, an error. */
static void
upd_bundle_reply(void *arg, const char *error, struct json_object *params)
{
	struct upd_bundle *u = arg;
	struct json_object *p;
	const char *file;

	if (error != NULL) {
		free(u->failure);
		free(u->failure_name);
		u->failure = tui_error_text(error, params);
		u->failure_name = xstrdup(error);
		return;
	}
	if ((p = client_progress_of(params)) != NULL) {
		if ((file = tui_str(p, "file", NULL)) != NULL) {
			free(u->file);
			u->file = xstrdup(file);
		}
		u->done = tui_int(p, "done", u->done);
		u->total = tui_int(p, "total", u->total);
		return;
	}
	json_object_put(u->result);
	u->result = json_object_get(params);
}

/* The view's ops while an install runs (its keys wait). */
static const struct tui_view_ops upd_running_ops;
static const struct tui_view_ops upd_bundle_ops;

/* The install ended: its verdict, from its last reply or its error. */
static void
upd_bundle_ended(struct tui_view *v, const char *why)
{
	struct upd_bundle *u = v->data;
	const char *result = tui_str(u->result, "result", NULL);
	const char *slot = tui_str(u->result, "slot", NULL);

	u->stage = UPD_ENDED;
	v->ops = &upd_bundle_ops;
	free(u->verdict);
	free(u->text);
	u->text = NULL;
	if (u->failure == NULL && result != NULL) {
		/* every byte was hashed against the signed manifest */
		u->done = u->total;
		if (strcmp(result, "pending") == 0) {
			u->verdict = slot != NULL
			    ? xasprintf("PENDING: cml "
					"will restart into slot %s",
				  slot)
			    : xstrdup("PENDING: cml will restart into the "
				      "new slot");
			u->verdict_attr = TUI_A_WARN;
			u->text = xasprintf("%s %s (install #%lld): %s.",
			    tui_str(u->result, "name", "cml"),
			    tui_str(u->result, "version", "?"),
			    tui_int(u->result, "id", 0),
			    tui_str(u->result, "detail",
				"to be tried once "
				"and confirmed by update mark-good"));
		} else {
			u->verdict = xasprintf("%s",
			    strcmp(result, "installed") == 0 ? "INSTALLED"
							     : result);
			u->verdict_attr = upd_result_attr(result);
			u->text = xasprintf("%s %s %s is %s (install #%lld).",
			    tui_str(u->result, "kind", "?"),
			    tui_str(u->result, "name", "?"),
			    tui_str(u->result, "version", "?"), result,
			    tui_int(u->result, "id", 0));
		}
		upd_bundle_say(u, TUI_A_DIM,
		    "Done: r reads the bundle "
		    "again, Esc goes back");
		return;
	}
	/* refused for what it is, or failed on the way */
	u->verdict = xstrdup(u->failure_name != NULL &&
		    strcmp(u->failure_name, PROTO_ERR_FAILED) != 0
		? "REFUSED"
		: "FAILED");
	u->verdict_attr = TUI_A_BAD;
	if (u->failure != NULL)
		u->text = xasprintf("%s", u->failure);
	else
		u->text = xasprintf(
		    "%s: whether it was installed, update "
		    "status says (an install cut short is completed or rolled "
		    "back at cmld's next start)",
		    why != NULL ? why : "the install ended without a reply");
	upd_bundle_say(u, TUI_A_DIM,
	    "Nothing of a refused bundle is "
	    "installed: r reads it again, Esc goes back");
}

/*
 * Installs the bundle: what it holds read again, refused here for an
 * operator and for what cmld would refuse, else confirmed, then started
 * on a stream of its own.
 */
static void
upd_bundle_install(struct tui *t, struct tui_view *v)
{
	struct upd_bundle *u = v->data;
	struct json_object *params;
	const char *title = "Install an update";
	char *question, *cause = NULL, *text;

	if (!tui_admin()) {
		text = xasprintf(
		    "Only an administrator installs updates: "
		    "'update install' needs the admin role (root or group "
		    "cml-admin), and %s has the role of an operator. "
		    "Nothing was done.",
		    t->user != NULL ? t->user : "this session");
		tui_message(t, title, text);
		upd_bundle_say(u, TUI_A_BAD,
		    "not installed: an operator may "
		    "look, only an administrator installs");
		free(text);
		return;
	}
	upd_bundle_read(t, u);
	if (u->info == NULL || !upd_bool(u->info, "installable", 0)) {
		text = xasprintf("cmld would refuse it: %s",
		    u->error != NULL ? u->error
				     : tui_str(u->info, "reason",
					   "cmld does not "
					   "say why"));
		tui_message(t, title, text);
		upd_bundle_say(u, TUI_A_BAD,
		    "not installed: it would be "
		    "refused (see Verdict)");
		free(text);
		return;
	}
	question = xasprintf(
	    "Install %s %s %s from %s? Every payload is "
	    "hashed while it is copied; nothing is replaced unless all of "
	    "it matches its signature.",
	    tui_str(u->info, "kind", "?"), tui_str(u->info, "name", "?"),
	    tui_str(u->info, "version", "?"), u->path);
	if (!tui_confirm(t, title, question)) {
		upd_bundle_say(u, TUI_A_DIM,
		    "not confirmed: nothing was "
		    "done");
		free(question);
		return;
	}
	free(question);

	json_object_put(u->result);
	u->result = NULL;
	free(u->failure);
	free(u->failure_name);
	free(u->file);
	u->failure = u->failure_name = u->file = NULL;
	free(u->verdict);
	free(u->text);
	u->verdict = u->text = NULL;
	u->done = 0;
	/* until cmld says, all the payloads' bytes */
	u->total = upd_payload_bytes(upd_array(u->info, "payloads"));
	params = json_object_new_object();
	json_object_object_add(
	    params, "bundle", json_object_new_string(u->path));
	if (flow_stream_start(
		t, &u->stream, "update install", params, &cause) == -1) {
		u->failure = cause;
		upd_bundle_ended(v, NULL);
		return;
	}
	u->stage = UPD_RUNNING;
	v->ops = &upd_running_ops;
	upd_bundle_say(u, TUI_A_DIM, "cmld copies and hashes the payloads");
}

/*
 * Draws the install: the bar, the payload, and the verdict in text_rows;
 * returns the rows used.
 */
static int
upd_bundle_draw_install(struct tui *t, struct upd_bundle *u, WINDOW *win, int y,
    int cols, int text_rows)
{
	char a[32], b[32], pct[8], *line;
	double f = u->total > 0 ? (double)u->done / (double)u->total : 0;
	int bw = cols - 2 - UPD_LABEL - 6 - 24, y0 = y;

	if (f > 1)
		f = 1;
	tui_hline(t, win, y++, 0, cols);
	tui_print_attr(t, win, y, 1, UPD_LABEL - 1, TUI_A_HEADING, "Install");
	if (bw > 4)
		tui_bar(t, win, y, 1 + UPD_LABEL, bw, f);
	snprintf(pct, sizeof pct, "%3d%%", (int)(f * 100));
	line = xasprintf("%s  %s of %s", pct, tui_bytes(a, sizeof a, u->done),
	    tui_bytes(b, sizeof b, u->total));
	tui_print(win, y++, 1 + UPD_LABEL + (bw > 4 ? bw + 1 : 0),
	    cols - 2 - UPD_LABEL - (bw > 4 ? bw + 1 : 0), line);
	free(line);
	if (u->file != NULL && u->stage == UPD_RUNNING)
		tui_print_attr(t, win, y, 1 + UPD_LABEL, cols - 2 - UPD_LABEL,
		    TUI_A_DIM, u->file);
	y++;
	if (u->verdict != NULL && text_rows > 0) {
		tui_print_attr(
		    t, win, y, 1, UPD_LABEL - 1, u->verdict_attr, "Result");
		tui_print_attr(t, win, y++, 1 + UPD_LABEL, cols - 2 - UPD_LABEL,
		    u->verdict_attr, u->verdict);
		if (u->text != NULL)
			y += flow_wrap(t, win, y, 1 + UPD_LABEL,
			    cols - 2 - UPD_LABEL, text_rows - 1, TUI_A_NORMAL,
			    u->text);
	}
	return y - y0;
}

static void
upd_bundle_draw(struct tui *t, struct tui_view *v, WINDOW *win)
{
	struct upd_bundle *u = v->data;
	int rows, cols, below = 1, text_rows = 0;

	getmaxyx(win, rows, cols);
	/*
	 * The install keeps its rows at the bottom, the verdict's whole text
	 * where the screen has room for it (cmld's reasons name hashes); what
	 * the bundle holds scrolls above.
	 */
	if (u->stage != UPD_IDLE) {
		if (u->verdict != NULL)
			text_rows = 1 +
			    (u->text != NULL ? flow_wrap(t, NULL, 0, 0,
						   cols - 2 - UPD_LABEL, rows,
						   TUI_A_NORMAL, u->text)
					     : 0);
		if (text_rows > rows / 2 - 3)
			text_rows = rows / 2 - 3;
		below += 3 + (text_rows > 0 ? text_rows : 0);
	}
	upd_draw_rows(t, win, 0, rows - below, cols, &u->rows);
	if (u->stage != UPD_IDLE)
		upd_bundle_draw_install(
		    t, u, win, rows - below, cols, text_rows);
	if (u->status != NULL)
		tui_print_attr(
		    t, win, rows - 1, 1, cols - 2, u->status_attr, u->status);
}

/*
 * The keys while an install runs: leaving (or quitting) is asked first,
 * since the progress is no longer shown then (cmld goes on all the same:
 * update status shows how it ended); another bundle waits.
 */
static int
upd_running_key(struct tui *t, struct tui_view *v, int ch)
{
	struct upd_bundle *u = v->data;
	int quit = ch == KEY_F(10);

	switch (ch) {
	case TUI_KEY_ESC:
	case KEY_LEFT:
	case KEY_BACKSPACE:
	case 'q':
	case KEY_F(10):
		if (tui_confirm(t, "The install runs",
			quit ? "Quit cmltui? "
			       "The install goes on in cmld; update status "
			       "shows how it "
			       "ended."
			     : "Leave this screen? The install goes on in "
			       "cmld; update status shows how it ended."))
			return 0; /* the loop goes back, or quits */
		upd_bundle_say(u, TUI_A_DIM, "The install goes on");
		break;
	case 'i':
	case 'r':
	case 'o':
	case 'f':
	case KEY_F(4):
		upd_bundle_say(u, TUI_A_WARN,
		    "The install runs: wait for its "
		    "end, or leave it to cmld with Esc");
		break;
	default:
		if (!upd_scroll(&u->rows, ch))
			return 0;
	}
	v->dirty = 1;
	return 1;
}

static int
upd_bundle_key(struct tui *t, struct tui_view *v, int ch)
{
	struct upd_bundle *u = v->data;

	if (u->stage == UPD_RUNNING)
		return upd_running_key(t, v, ch);
	switch (ch) {
	case 'i':
		upd_bundle_install(t, v);
		break;
	case 'r':
		u->stage = UPD_IDLE;
		upd_bundle_say(u, TUI_A_DIM, NULL);
		upd_bundle_read(t, u);
		break;
	default:
		return upd_key_common(t, v, &u->rows, u->path, NULL, ch);
	}
	v->dirty = 1;
	return 1;
}

static int
upd_bundle_fd(struct tui *t, struct tui_view *v)
{
	struct upd_bundle *u = v->data;

	(void)t;
	return flow_stream_fd(&u->stream);
}

static void
upd_bundle_readable(struct tui *t, struct tui_view *v)
{
	struct upd_bundle *u = v->data;
	char *why = NULL;

	(void)t;
	if (flow_stream_read(&u->stream, upd_bundle_reply, u, &why) == -1)
		upd_bundle_ended(v, why);
	free(why);
	v->dirty = 1;
}

static void
upd_bundle_tick(struct tui *t, struct tui_view *v)
{
	struct upd_bundle *u = v->data;

	/* read once, and again when cmld came back; not while it installs */
	if (u->stage != UPD_RUNNING &&
	    ((u->info == NULL && u->error == NULL) || t->reconnected)) {
		upd_bundle_read(t, u);
		v->dirty = 1;
	}
}

static void
upd_bundle_free(struct tui_view *v)
{
	struct upd_bundle *u = v->data;

	flow_stream_stop(&u->stream);
	upd_clear(&u->rows);
	json_object_put(u->info);
	json_object_put(u->result);
	free(u->error);
	free(u->file);
	free(u->failure);
	free(u->failure_name);
	free(u->verdict);
	free(u->text);
	free(u->status);
	free(u->path);
	free(u);
}

/* A bundle's screen, and the same while an install runs (its help). */
#define UPD_BUNDLE_OPS(keys)                                                   \
	{                                                                      \
		.name = "update", .draw = upd_bundle_draw,                     \
		.key = upd_bundle_key, .tick = upd_bundle_tick,                \
		.fd = upd_bundle_fd, .readable = upd_bundle_readable,          \
		.free = upd_bundle_free, .help = keys,                         \
	}
static const struct tui_view_ops upd_bundle_ops =
    UPD_BUNDLE_OPS("i install  o open  f pick  r read again  Esc back");
static const struct tui_view_ops upd_running_ops =
    UPD_BUNDLE_OPS("installing  Esc leave it to cmld  Up/Down scroll");

void
tui_update_bundle_push(struct tui *t, const char *path, int install)
{
	struct upd_bundle *u;
	struct tui_view *v;
	char *title;

	u = xcalloc(1, sizeof *u);
	u->path = flow_abs_path(path);
	flow_stream_init(&u->stream);
	title = xasprintf("Update %s", u->path);
	v = tui_view_new(&upd_bundle_ops, u, title);
	free(title);
	/* its tick reads the bundle at once */
	tui_push(t, v);
	if (install)
		upd_bundle_install(t, v);
	v->dirty = 1;
}

/*
 * The commands of the update family the flows take over: a bundle's
 * screen (asked for when the form left it out), installing it at once for
 * update install.
 */
static void
upd_for_bundle(struct tui *t, struct json_object *params, int install)
{
	const char *path = tui_str(params, "bundle", NULL);
	char *asked = NULL;

	if (path == NULL && (asked = upd_ask_bundle(t, NULL, 0)) == NULL)
		return;
	tui_update_bundle_push(t, path != NULL ? path : asked, install);
	free(asked);
}

static void
upd_for_info(struct tui *t, struct json_object *params)
{
	upd_for_bundle(t, params, 0);
}

static void
upd_for_install(struct tui *t, struct json_object *params)
{
	upd_for_bundle(t, params, 1);
}

static void
upd_for_status(struct tui *t, struct json_object *params)
{
	(void)params;
	tui_update_push(t);
}

tui_flow_fn
flow_update_for(const struct cmd_entry *cmd)
{
	switch (cmd->id) {
	case CMD_ID_UPDATE_INFO:
		return upd_for_info;
	case CMD_ID_UPDATE_INSTALL:
		return upd_for_install;
	case CMD_ID_UPDATE_STATUS:
		return upd_for_status;
	default:
		return NULL;
	}
}
