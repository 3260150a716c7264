/*
 * The provisioning screen: the seven steps of the factory provisioning as
 * provision status gives them (pending, done or failed, when, what each
 * did or why it failed), the next one marked, each run from here in
 * dialogs that call the same command cmlsh and cml-provision call; then
 * the signed report saved to a file, and the wipe back to factory.
 *
 * Files cross as cmlsh sends them: cmltui opens what the operator names
 * with its own rights and passes the descriptors (client_call does), and
 * writes what comes back (the request, the report) itself; cmld opens no
 * path of ours.  The PIN and the PUK of c0's token are asked for without
 * echo, twice, and wiped once the call went out; a PUK that scd made is
 * shown once, in a dialog that only its own key closes, and wiped then.
 *
 * Nothing typed is lost on an error: the paths, the kind, the settings
 * changed are kept for the next try, and the daemon's words are shown in
 * a dialog.  After every step the screen asks provision status again.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <panel.h>

#include "file.h"
#include "flow.h"
#include "secret.h"
#include "settings.h"
#include "xmalloc.h"

/* The steps, in their order; the rows after them are actions. */
#define PROV_STEPS 7
/* The columns of the table of steps. */
#define PROV_COL_NAME 12
#define PROV_COL_STATE 8
#define PROV_COL_WHEN 19
/* The label column of the review and the settings. */
#define PROV_LABEL 24
/* How a report is written, as cmlsh --json prints it. */
#define PROV_JSON_FLAGS \
	(JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)
/* What an operator types to lock. */
#define PROV_LOCK_WORD "lock"

/* The screen's state. */
struct prov {
	struct json_object *status; /* provision status; NULL: none */
	char *error; /* why it could not be had */
	size_t sel; /* the selected row */
	char *note; /* what the last action did */
	enum tui_attr note_attr;

	/* what the operator typed, kept for the next try */
	char *csr_path;
	char *cert_path;
	char *ca_path;
	char *anchor_path;
	char *token_type;
	char *token_reader;
	int generate_puk;
	char *report_path;
	char *wipe_confirm;
	/* settings changed but not applied yet: KEY=VALUE strings */
	struct json_object *settings;
};

struct prov_row {
	const char *name; /* the step's name, or the action's */
	const char *words; /* the command it calls */
	void (*run)(struct tui *, struct prov *);
};

static void prov_check(struct tui *, struct prov *);
static void prov_identity(struct tui *, struct prov *);
static void prov_certificate(struct tui *, struct prov *);
static void prov_anchors(struct tui *, struct prov *);
static void prov_token(struct tui *, struct prov *);
static void prov_settings(struct tui *, struct prov *);
static void prov_lock(struct tui *, struct prov *);
static void prov_report(struct tui *, struct prov *);
static void prov_wipe(struct tui *, struct prov *);

/* The rows: the seven steps as org.cml.Provision names them, the actions. */
static const struct prov_row prov_rows[] = {
	{ "check", "provision check", prov_check },
	{ "identity", "provision identity", prov_identity },
	{ "certificate", "provision certificate", prov_certificate },
	{ "anchors", "provision anchor", prov_anchors },
	{ "token", "provision token", prov_token },
	{ "settings", "provision settings", prov_settings },
	{ "lock", "provision lock", prov_lock },
	{ "report", "provision report", prov_report },
	{ "wipe", "device wipe", prov_wipe },
};
#define PROV_NROWS (sizeof prov_rows / sizeof prov_rows[0])

/* Replaces *slot by a copy of s (NULL allowed). */
static void
prov_set(char **slot, const char *s)
{
	free(*slot);
	*slot = s != NULL ? xstrdup(s) : NULL;
}

/* Sets the line under the steps: what the last action did. */
static void
prov_note(struct prov *p, enum tui_attr a, const char *text)
{
	prov_set(&p->note, text);
	p->note_attr = a;
}

/* Returns the array member key of o, or NULL. */
static struct json_object *
prov_array(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o != NULL && json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_array))
		return v;
	return NULL;
}

/* Returns the step called name of a status (NULL: none). */
static struct json_object *
prov_step_of(struct json_object *status, const char *name)
{
	struct json_object *steps = prov_array(status, "steps"), *s;
	size_t i, n = steps != NULL ? json_object_array_length(steps) : 0;

	for (i = 0; i < n; i++) {
		s = json_object_array_get_idx(steps, i);
		if (strcmp(tui_str(s, "name", ""), name) == 0)
			return s;
	}
	return NULL;
}

/* Returns the row of the step called name, or PROV_NROWS. */
static size_t
prov_row_of(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < PROV_NROWS; i++)
		if (strcmp(prov_rows[i].name, name) == 0)
			return i;
	return PROV_NROWS;
}

/* The device UUID as provision status said it ("" before it did). */
static const char *
prov_uuid(struct prov *p)
{
	return tui_str(p->status, "uuid", "");
}

/* Says whether the device is provisioned (locked). */
static int
prov_locked(struct prov *p)
{
	return strcmp(tui_str(p->status, "state", ""), "provisioned") == 0;
}

/*
 * Asks cmld for the steps again; when the next step changed (one was
 * done, or the device wiped), it is selected.
 */
static void
prov_refresh(struct tui *t, struct prov *p)
{
	struct json_object *r = NULL;
	const char *was, *next;
	char *err = NULL;

	if (tui_call(t, "provision status", NULL, &r, &err) != 0) {
		free(p->error);
		p->error = err;
		return;
	}
	was = tui_str(p->status, "next", "");
	next = tui_str(r, "next", "");
	if (p->status == NULL || strcmp(was, next) != 0)
		if (prov_row_of(next) < PROV_STEPS)
			p->sel = prov_row_of(next);
	json_object_put(p->status);
	p->status = r;
	prov_set(&p->error, NULL);
}

/* Returns a step's time "2026-12-03 10:00:01" from RFC 3339 (free it). */
static char *
prov_when(const char *time)
{
	char *s;
	size_t n;

	if (time == NULL)
		return xstrdup("");
	s = xstrdup(time);
	n = strcspn(s, ".Z");
	s[n] = '\0';
	if (n > 10 && s[10] == 'T')
		s[10] = ' ';
	return s;
}

/* The look of a step's state. */
static enum tui_attr
prov_state_attr(const char *state)
{
	if (strcmp(state, "done") == 0)
		return TUI_A_OK;
	if (strcmp(state, "failed") == 0)
		return TUI_A_BAD;
	return TUI_A_NORMAL;
}

/* Returns what a row says of itself: the step's title, or the command's. */
static const char *
prov_title(struct prov *p, size_t row)
{
	const struct cmd_entry *cmd = cmd_find_words(prov_rows[row].words);
	const char *title;

	if (row < PROV_STEPS && (title = tui_str(prov_step_of(p->status,
	    prov_rows[row].name), "title", NULL)) != NULL)
		return title;
	return cmd != NULL ? cmd->summary : "";
}

/* Draws one row of the table; returns the next y. */
static int
prov_draw_row(struct tui *t, struct prov *p, WINDOW *win, int y, int cols,
    size_t row)
{
	struct json_object *s = NULL;
	const char *state = "", *what, *next = tui_str(p->status, "next", NULL);
	enum tui_attr a = TUI_A_NORMAL, wa = TUI_A_NORMAL;
	char num[8], *when = NULL;
	int sel = row == p->sel, x;

	if (row < PROV_STEPS) {
		s = prov_step_of(p->status, prov_rows[row].name);
		state = tui_str(s, "state", "?");
		snprintf(num, sizeof num, "%zu", row + 1);
		when = prov_when(tui_str(s, "time", NULL));
		if ((what = tui_str(s, "error", NULL)) != NULL &&
		    strcmp(state, "failed") == 0)
			wa = TUI_A_BAD;
		else if ((what = tui_str(s, "summary", NULL)) == NULL ||
		    *what == '\0')
			what = prov_title(p, row);
	} else {
		snprintf(num, sizeof num, "-");
		what = prov_title(p, row);
	}
	if (sel) {
		wattron(win, t->attr[TUI_A_SELECTED]);
		mvwhline(win, y, 0, ' ', cols);
		wattroff(win, t->attr[TUI_A_SELECTED]);
		a = wa = TUI_A_SELECTED;
	}
	tui_print_attr(t, win, y, 0, 1, a, sel ? ">" : " ");
	/* the next step: marked, and its name in the warning look */
	if (next != NULL && strcmp(next, prov_rows[row].name) == 0) {
		tui_print_attr(t, win, y, 1, 1, a, "*");
		if (!sel)
			a = TUI_A_WARN;
	}
	x = 3;
	tui_print_attr(t, win, y, x, 2, a, num);
	x += 3;
	tui_print_attr(t, win, y, x, PROV_COL_NAME, a, prov_rows[row].name);
	x += PROV_COL_NAME + 1;
	tui_print_attr(t, win, y, x, PROV_COL_STATE, sel ? TUI_A_SELECTED :
	    prov_state_attr(state), state);
	x += PROV_COL_STATE + 1;
	tui_print_attr(t, win, y, x, PROV_COL_WHEN, sel ? TUI_A_SELECTED :
	    TUI_A_DIM, when != NULL ? when : "");
	x += PROV_COL_WHEN + 1;
	if (x < cols - 1)
		tui_print_attr(t, win, y, x, cols - 1 - x, wa, what);
	free(when);
	return y + 1;
}

static void
prov_draw(struct tui *t, struct tui_view *v, WINDOW *win)
{
	struct prov *p = v->data;
	struct json_object *s;
	const char *state, *next;
	char *line, *when;
	int rows, cols, y = 0, x;
	size_t row;

	getmaxyx(win, rows, cols);
	state = tui_str(p->status, "state", "?");
	tui_print_attr(t, win, y, 1, 10, TUI_A_HEADING, "State");
	x = 11 + tui_print_attr(t, win, y, 11, 14, tui_state_attr(state),
	    state);
	tui_print_attr(t, win, y, x + 2, 8, TUI_A_HEADING, "Device");
	tui_print(win, y++, x + 10, cols - x - 11, prov_uuid(p));
	tui_print_attr(t, win, y, 1, 10, TUI_A_HEADING, "Next");
	if ((next = tui_str(p->status, "next", NULL)) != NULL &&
	    prov_row_of(next) < PROV_STEPS) {
		line = xasprintf("step %zu of %d, %s: %s", prov_row_of(next) +
		    1, PROV_STEPS, next, prov_title(p, prov_row_of(next)));
		tui_print(win, y++, 11, cols - 12, line);
		free(line);
	} else
		tui_print_attr(t, win, y++, 11, cols - 12, TUI_A_DIM,
		    p->status == NULL ? "not known" : prov_locked(p) ?
		    "none: the device is provisioned (only device wipe "
		    "returns it to factory)" : "none");
	if (p->error != NULL)
		y += flow_wrap(t, win, y, 1, cols - 2, 2, TUI_A_BAD, p->error);
	y++;

	/* the table */
	wattron(win, t->attr[TUI_A_HEADING]);
	tui_print(win, y, 3, 2, "#");
	tui_print(win, y, 6, PROV_COL_NAME, "STEP");
	tui_print(win, y, 6 + PROV_COL_NAME + 1, PROV_COL_STATE, "STATE");
	tui_print(win, y, 6 + PROV_COL_NAME + PROV_COL_STATE + 2,
	    PROV_COL_WHEN, "WHEN (UTC)");
	tui_print(win, y, 6 + PROV_COL_NAME + PROV_COL_STATE +
	    PROV_COL_WHEN + 3, cols - 50, "WHAT");
	wattroff(win, t->attr[TUI_A_HEADING]);
	y++;
	for (row = 0; row < PROV_NROWS && y < rows - 1; row++) {
		if (row == PROV_STEPS)
			tui_hline(t, win, y++, 3, cols - 4);
		y = prov_draw_row(t, p, win, y, cols, row);
	}
	y++;

	/* the selected step's record, whole */
	if (p->sel < PROV_STEPS && y < rows - 2) {
		s = prov_step_of(p->status, prov_rows[p->sel].name);
		state = tui_str(s, "state", "pending");
		when = prov_when(tui_str(s, "time", NULL));
		if (strcmp(state, "failed") == 0)
			line = xasprintf("Step %zu failed at %s UTC: %s (Enter "
			    "tries it again)", p->sel + 1, when,
			    tui_str(s, "error", "?"));
		else if (strcmp(state, "done") == 0)
			line = xasprintf("Step %zu done at %s UTC: %s",
			    p->sel + 1, when, tui_str(s, "summary", ""));
		else
			line = xasprintf("Step %zu, %s: %s (Enter runs it)",
			    p->sel + 1, prov_rows[p->sel].name,
			    prov_title(p, p->sel));
		y += flow_wrap(t, win, y, 1, cols - 2, rows - 2 - y,
		    strcmp(state, "failed") == 0 ? TUI_A_BAD : TUI_A_NORMAL,
		    line);
		free(line);
		free(when);
	}
	if (p->note != NULL)
		flow_wrap(t, win, rows - 1, 1, cols - 2, 1, p->note_attr,
		    p->note);
}

/* Shows why something failed, in cmld's words, and keeps it as the note. */
static void
prov_failed(struct tui *t, struct prov *p, const char *title, const char *msg)
{
	char *text;

	text = xasprintf("%s\n\nNothing typed is lost: fix what it says and "
	    "run it again.", msg);
	tui_message(t, title, text);
	free(text);
	text = xasprintf("%s: %s", title, msg);
	prov_note(p, TUI_A_BAD, text);
	free(text);
}

/* Says on the screen, now, what is being done (a call may take a while). */
static void
prov_busy(struct tui *t, struct prov *p, const char *what)
{
	prov_note(p, TUI_A_WARN, what);
	if (t->top != NULL)
		t->top->dirty = 1;
	tui_redraw(t);
}

/* Returns params with one string member (value NULL: none). */
static struct json_object *
prov_params(const char *key, const char *value)
{
	struct json_object *params = json_object_new_object();

	if (key != NULL && value != NULL)
		json_object_object_add(params, key,
		    json_object_new_string(value));
	return params;
}

/*
 * Calls the command words with params (taken over) as a step: its reply
 * in *reply (put it), or the failure shown under title (0 / -1).
 */
static int
prov_call(struct tui *t, struct prov *p, const char *title, const char *words,
    struct json_object *params, struct json_object **reply)
{
	char *msg = NULL, *what;
	int rc;

	what = xasprintf("%s: asking cmld (%s)...", title, words);
	prov_busy(t, p, what);
	free(what);
	rc = flow_run(t, words, params, reply, NULL, NULL, &msg);
	if (rc != 0) {
		json_object_put(*reply);
		*reply = NULL;
		prov_failed(t, p, title, msg != NULL ? msg : "the call failed");
		free(msg);
		return -1;
	}
	free(msg);
	prov_note(p, TUI_A_DIM, NULL);
	return 0;
}

/*
 * Asks for a path in a dialog, prefilled with what was typed before (or
 * def); an empty answer counts as cancelled.  Returns 0 with *slot set.
 */
static int
prov_ask_path(struct tui *t, const char *title, const char *prompt,
    char **slot, const char *def)
{
	char *typed;

	if (tui_ask_text(t, title, prompt, *slot != NULL ? *slot : def,
	    &typed) == -1)
		return -1;
	if (*typed == '\0') {
		free(typed);
		return -1;
	}
	free(*slot);
	*slot = typed;
	return 0;
}

/*
 * Writes data to path (the client writes, with the operator's rights):
 * through a temporary file renamed over it.  0, or -1 with *cause.
 */
static int
prov_write(const char *path, const char *data, char **cause)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int rc;

	if (slash == NULL)
		dir = xstrdup(".");
	else if (slash == path)
		dir = xstrdup("/");
	else
		dir = xasprintf("%.*s", (int)(slash - path), path);
	if (slash != NULL && slash[1] == '\0') {
		*cause = xasprintf("%s is a directory: name a file", path);
		free(dir);
		return -1;
	}
	rc = file_write_atomic(dir, slash != NULL ? slash + 1 : path, data,
	    strlen(data), 0644, cause);
	free(dir);
	return rc;
}

/* Adds "Label: value" to a text being built (value NULL: nothing). */
static void
prov_line(char **text, const char *label, const char *value)
{
	char *s;

	if (value == NULL)
		return;
	s = xasprintf("%s%s%s%s", *text != NULL ? *text : "", label,
	    *label != '\0' ? ": " : "", value);
	free(*text);
	*text = xasprintf("%s\n", s);
	free(s);
}

/* Returns a fingerprint in groups of four, to compare it by eye. */
static char *
prov_fingerprint(const char *hex)
{
	size_t n = strlen(hex), i, k = 0;
	char *s = xmalloc(n + n / 4 + 1);

	for (i = 0; i < n; i++) {
		if (i > 0 && i % 4 == 0)
			s[k++] = ' ';
		s[k++] = hex[i];
	}
	s[k] = '\0';
	return s;
}

/* Step 1: the platform's checks, each shown. */
static void
prov_check(struct tui *t, struct prov *p)
{
	const char *title = "Step 1: check the platform";
	struct json_object *r = NULL, *checks, *c;
	char *text = NULL, *line;
	size_t i, n, bad = 0;
	int ok;

	if (prov_call(t, p, title, "provision check", NULL, &r) == -1)
		return;
	checks = prov_array(r, "checks");
	n = checks != NULL ? json_object_array_length(checks) : 0;
	for (i = 0; i < n; i++) {
		c = json_object_array_get_idx(checks, i);
		ok = json_object_get_boolean(json_object_object_get(c, "ok"));
		if (!ok)
			bad++;
		line = xasprintf("[%s] %-10s %s", ok ? " ok " : "FAIL",
		    tui_str(c, "name", "?"), tui_str(c, "detail", ""));
		prov_line(&text, "", line);
		free(line);
	}
	if (bad == 0)
		line = xasprintf("All %zu checks passed: step 1 is done.", n);
	else
		line = xasprintf("%zu of %zu checks failed: step 1 is not done. "
		    "Fix what they say and run it again.", bad, n);
	prov_line(&text, "", "");
	prov_line(&text, "", line);
	tui_message(t, title, text);
	prov_note(p, bad == 0 ? TUI_A_OK : TUI_A_BAD, line);
	free(line);
	free(text);
	json_object_put(r);
}

/* Step 2: the device key and its request, written where the operator says. */
static void
prov_identity(struct tui *t, struct prov *p)
{
	const char *title = "Step 2: the device key and its request";
	struct json_object *r = NULL;
	char *def, *cause = NULL, *text = NULL, *line;

	def = xasprintf("/var/tmp/%s.csr", prov_uuid(p));
	if (prov_ask_path(t, title, "Write the certificate request (PEM) "
	    "to:", &p->csr_path, def) == -1) {
		free(def);
		return;
	}
	free(def);
	if (prov_call(t, p, title, "provision identity", NULL, &r) == -1)
		return;
	if (prov_write(p->csr_path, tui_str(r, "csr", ""), &cause) == -1) {
		line = xasprintf("cmld made the request, but it could not be "
		    "written: %s. Run the step again with another path: it "
		    "gives the same request.", cause);
		prov_failed(t, p, title, line);
		free(line);
		free(cause);
		json_object_put(r);
		return;
	}
	line = xasprintf("The certificate request is in %s.", p->csr_path);
	prov_line(&text, "", line);
	prov_line(&text, "", "");
	prov_line(&text, "Subject", tui_str(r, "subject", "?"));
	prov_line(&text, "TPM key name", tui_str(r, "key_name", "?"));
	prov_line(&text, "", "");
	prov_line(&text, "", "Have the device CA sign it, then install the "
	    "certificate (step 3).");
	tui_message(t, title, text);
	prov_note(p, TUI_A_OK, line);
	free(line);
	free(text);
	json_object_put(r);
}

/* Step 3: the device certificate and the device CA, passed as files. */
static void
prov_certificate(struct tui *t, struct prov *p)
{
	const char *title = "Step 3: the device certificate";
	struct json_object *r = NULL, *params;
	char *def, *text = NULL, *fp;

	def = p->csr_path != NULL && strlen(p->csr_path) > 4 &&
	    strcmp(p->csr_path + strlen(p->csr_path) - 4, ".csr") == 0 ?
	    xasprintf("%.*s.crt", (int)strlen(p->csr_path) - 4, p->csr_path) :
	    xasprintf("/var/tmp/%s.crt", prov_uuid(p));
	if (prov_ask_path(t, title, "The device certificate the device CA "
	    "issued (PEM or DER):", &p->cert_path, def) == -1 ||
	    prov_ask_path(t, title, "The device CA's root certificate:",
	    &p->ca_path, "") == -1) {
		free(def);
		return;
	}
	free(def);
	params = prov_params("cert", p->cert_path);
	json_object_object_add(params, "ca", json_object_new_string(p->ca_path));
	if (prov_call(t, p, title, "provision certificate", params, &r) == -1)
		return;
	prov_line(&text, "", "Installed: the certificate certifies this "
	    "device's TPM key.");
	prov_line(&text, "", "");
	prov_line(&text, "Subject", tui_str(r, "subject", "?"));
	prov_line(&text, "Issuer", tui_str(r, "issuer", "?"));
	prov_line(&text, "Valid until", tui_str(r, "not_after", "?"));
	fp = prov_fingerprint(tui_str(r, "fingerprint", ""));
	prov_line(&text, "SHA-256", fp);
	free(fp);
	prov_line(&text, "Device CA", tui_str(r, "ca_subject", "?"));
	tui_message(t, title, text);
	prov_note(p, TUI_A_OK, "Step 3: the device certificate installed.");
	free(text);
	json_object_put(r);
}

/*
 * One trust anchor: shown first (nothing stored), installed once the
 * operator confirms what was shown, by its fingerprint.  Returns 0 when
 * one was installed (or was there), -1 otherwise.
 */
static int
prov_anchor(struct tui *t, struct prov *p, const char *title)
{
	static const char *const kinds[] = {
		"supplier: signs software; fixed once provisioned",
		"owner: an administrator may remove it later",
	};
	struct json_object *r = NULL, *params;
	char *text = NULL, *fp, *fingerprint, *line;
	const char *kind;
	int pick;

	if ((pick = tui_pick(t, "The kind of the trust anchor", kinds,
	    2)) == -1)
		return -1;
	kind = pick == 1 ? "owner" : "supplier";
	if (prov_ask_path(t, title, "The anchor's CA certificate (PEM or "
	    "DER):", &p->anchor_path, "") == -1)
		return -1;
	params = prov_params("cert", p->anchor_path);
	json_object_object_add(params, "kind", json_object_new_string(kind));
	if (prov_call(t, p, title, "provision anchor", params, &r) == -1)
		return -1;
	fp = prov_fingerprint(tui_str(r, "fingerprint", ""));
	if (json_object_get_boolean(json_object_object_get(r, "installed"))) {
		line = xasprintf("%s is installed already, as a %s anchor.",
		    tui_str(r, "subject", "?"), tui_str(r, "kind", kind));
		tui_message(t, title, line);
		prov_note(p, TUI_A_OK, line);
		free(line);
		free(fp);
		json_object_put(r);
		return 0;
	}
	prov_line(&text, "Subject", tui_str(r, "subject", "?"));
	prov_line(&text, "Key", tui_str(r, "key", "?"));
	prov_line(&text, "Valid until", tui_str(r, "not_after", "?"));
	prov_line(&text, "Kind", tui_str(r, "kind", kind));
	prov_line(&text, "SHA-256", fp);
	prov_line(&text, "", "");
	prov_line(&text, "", "Compare the fingerprint with the one its owner "
	    "gave you. Install this anchor?");
	free(fp);
	if (!tui_confirm(t, "Confirm the trust anchor", text)) {
		prov_note(p, TUI_A_DIM, "The anchor was not installed: nothing "
		    "was stored.");
		free(text);
		json_object_put(r);
		return -1;
	}
	free(text);
	fingerprint = xstrdup(tui_str(r, "fingerprint", ""));
	json_object_put(r);
	r = NULL;
	params = prov_params("cert", p->anchor_path);
	json_object_object_add(params, "kind", json_object_new_string(kind));
	json_object_object_add(params, "confirm",
	    json_object_new_string(fingerprint));
	free(fingerprint);
	if (prov_call(t, p, title, "provision anchor", params, &r) == -1)
		return -1;
	line = xasprintf("Installed the %s anchor %s.", tui_str(r, "kind",
	    kind), tui_str(r, "subject", "?"));
	prov_note(p, TUI_A_OK, line);
	free(line);
	json_object_put(r);
	return 0;
}

/* Step 4: the supplier's anchor, then as many owners' as there are. */
static void
prov_anchors(struct tui *t, struct prov *p)
{
	const char *title = "Step 4: trust anchors";
	char *note;

	while (prov_anchor(t, p, title) == 0) {
		note = xasprintf("%s\n\nAdd another trust anchor (an owner's)?",
		    p->note != NULL ? p->note : "");
		if (!tui_confirm(t, title, note)) {
			free(note);
			break;
		}
		free(note);
	}
}

/*
 * Makes sure c0_guestos names a guest OS (the token step makes c0 with
 * it): when it is empty, the operator picks one of those installed and it
 * is set.  Returns 0, or -1 (said) when there is none or it failed.
 */
static int
prov_c0_guestos(struct tui *t, struct prov *p, const char *title)
{
	struct json_object *r = NULL, *list, *params;
	const char **names = NULL;
	char **labels = NULL;
	size_t i, n = 0;
	int pick, rc = -1;

	if (prov_call(t, p, title, "device config get", prov_params("key",
	    "c0_guestos"), &r) == -1)
		return -1;
	list = prov_array(r, "settings");
	if (list != NULL && json_object_array_length(list) > 0 &&
	    *tui_str(json_object_array_get_idx(list, 0), "value", "") != '\0') {
		json_object_put(r);
		return 0;
	}
	json_object_put(r);
	r = NULL;
	if (prov_call(t, p, title, "guestos list", NULL, &r) == -1)
		return -1;
	list = prov_array(r, "guestos");
	n = list != NULL ? json_object_array_length(list) : 0;
	if (n == 0) {
		prov_failed(t, p, title, "c0, the management container, needs "
		    "a guest OS and none is installed: install one first (g "
		    "on the dashboard).");
		goto out;
	}
	names = xcalloc(n, sizeof *names);
	labels = xcalloc(n, sizeof *labels);
	for (i = 0; i < n; i++) {
		names[i] = tui_str(json_object_array_get_idx(list, i), "name",
		    "?");
		labels[i] = xasprintf("%s %s", names[i],
		    tui_str(json_object_array_get_idx(list, i), "version", ""));
	}
	if ((pick = tui_pick(t, "The guest OS of c0, the management container",
	    (const char *const *)labels, n)) == -1)
		goto out;
	params = prov_params("key", "c0_guestos");
	json_object_object_add(params, "value",
	    json_object_new_string(names[pick]));
	json_object_put(r);
	r = NULL;
	if (prov_call(t, p, title, "device config set", params, &r) == 0)
		rc = 0;
out:
	for (i = 0; labels != NULL && i < n; i++)
		free(labels[i]);
	free(labels);
	free(names);
	json_object_put(r);
	return rc;
}

/*
 * Shows a PUK scd made, this once: only W closes the dialog (Enter and Esc
 * are too easily pressed before it is written down); the window is wiped
 * before it goes.
 */
static void
prov_show_once(struct tui *t, const char *puk)
{
	WINDOW *w;
	PANEL *panel;
	int rows = 9, cols = 64, ch;

	w = newwin(rows, cols, (t->rows - rows) / 2, (t->cols - cols) / 2);
	if (w == NULL)
		return;
	panel = new_panel(w);
	for (;;) {
		werase(w);
		tui_box(t, w, "The PUK of c0's token: shown once");
		tui_print(w, 1, 2, cols - 4, "scd made this PUK. It is shown "
		    "now and never again:");
		tui_print(w, 2, 2, cols - 4, "write it down and keep it safe.");
		tui_print_attr(t, w, 4, 2, 6, TUI_A_HEADING, "PUK:");
		tui_print_attr(t, w, 4, 8, cols - 10, TUI_A_SELECTED, puk);
		tui_print_attr(t, w, rows - 2, 2, cols - 4, TUI_A_DIM,
		    "W: written down, close (nothing else closes this)");
		update_panels();
		doupdate();
		ch = tui_getch(t, -1);
		if (ch == 'w' || ch == 'W' || ch == TUI_QUIT)
			break;
	}
	werase(w);
	wnoutrefresh(w);
	del_panel(panel);
	delwin(w);
	tui_redraw(t);
}

/* Step 5: c0's token, its PIN and its PUK. */
static void
prov_token(struct tui *t, struct prov *p)
{
	static const char *const types[] = {
		"softtoken: a key file scd keeps, PIN-protected",
		"usbtoken: an OpenPGP card in a reader",
	};
	static const char *const puks[] = {
		"enter a PUK (8 to 64 characters, asked twice)",
		"have scd make the PUK (12 digits, shown once)",
	};
	const char *title = "Step 5: c0's token";
	const struct cmd_entry *cmd = cmd_find_words("provision token");
	struct json_object *r = NULL, *params, *list, *st = NULL;
	char **labels = NULL, *text = NULL, *line;
	size_t i, n = 0;
	int pick;

	if (prov_c0_guestos(t, p, title) == -1)
		return;
	if ((pick = tui_pick(t, "The type of c0's token", types, 2)) == -1)
		return;
	prov_set(&p->token_type, pick == 1 ? "usbtoken" : "softtoken");
	prov_set(&p->token_reader, NULL);
	if (pick == 1) {
		/* the reader: the one with an OpenPGP card, or one named */
		if (prov_call(t, p, title, "token readers", NULL, &r) == -1)
			return;
		list = prov_array(r, "readers");
		n = list != NULL ? json_object_array_length(list) : 0;
		labels = xcalloc(n + 1, sizeof *labels);
		labels[0] = xstrdup("the one reader with an OpenPGP card");
		for (i = 0; i < n; i++)
			labels[i + 1] = xasprintf("%s (%s)", tui_str(
			    json_object_array_get_idx(list, i), "name", "?"),
			    tui_str(json_object_array_get_idx(list, i), "card",
			    "no card"));
		pick = tui_pick(t, "The card's reader",
		    (const char *const *)labels, n + 1);
		if (pick > 0)
			prov_set(&p->token_reader, tui_str(
			    json_object_array_get_idx(list, (size_t)pick - 1),
			    "name", NULL));
		for (i = 0; i < n + 1; i++)
			free(labels[i]);
		free(labels);
		json_object_put(r);
		r = NULL;
		if (pick == -1)
			return;
	}
	if ((pick = tui_pick(t, "The PUK of c0's token", puks, 2)) == -1)
		return;
	p->generate_puk = pick == 1;

	params = prov_params("type", p->token_type);
	if (p->token_reader != NULL)
		json_object_object_add(params, "reader",
		    json_object_new_string(p->token_reader));
	if (p->generate_puk)
		json_object_object_add(params, "generate-puk",
		    json_object_new_boolean(1));
	/* the PIN (and the PUK) twice, without echo; wiped once sent */
	if (flow_secrets(t, "provision token", title, NULL, params, 0) == -1) {
		json_object_put(params);
		prov_note(p, TUI_A_DIM, "Step 5 cancelled: no token was made.");
		return;
	}
	if (prov_call(t, p, title, "provision token", params, &r) == -1)
		return;
	if (tui_str(r, "puk", NULL) != NULL)
		prov_show_once(t, tui_str(r, "puk", ""));
	/* the PUK of the reply is a secret too: wiped */
	cmd_wipe_secrets(cmd, r);
	json_object_object_get_ex(r, "status", &st);
	line = xasprintf("c0's token is made: %s, %s.", tui_str(st, "type",
	    p->token_type), tui_str(st, "state", "?"));
	prov_line(&text, "", line);
	prov_line(&text, "", "");
	prov_line(&text, "Serial", tui_str(st, "serial", NULL));
	prov_line(&text, "Reader", tui_str(st, "reader", NULL));
	free(line);
	line = xasprintf("%lld of %lld", tui_int(st, "pin_tries_left", -1),
	    tui_int(st, "pin_tries_max", -1));
	prov_line(&text, "PIN tries", line);
	free(line);
	line = xasprintf("%lld of %lld", tui_int(st, "puk_tries_left", -1),
	    tui_int(st, "puk_tries_max", -1));
	prov_line(&text, "PUK tries", line);
	free(line);
	tui_message(t, title, text);
	prov_note(p, TUI_A_OK, "Step 5: c0's token is made.");
	free(text);
	json_object_put(r);
}

/* The settings form's state (a view above the screen). */
struct prov_set {
	struct prov *p;
	struct json_object *current; /* device config get */
	char *error;
	size_t sel;
};

/* Returns the value the form shows for key: changed, else current. */
static const char *
prov_set_value(struct prov_set *s, const char *key, int *changed)
{
	struct json_object *list = prov_array(s->current, "settings"), *o;
	size_t i, n, len = strlen(key);
	const char *kv;

	*changed = 0;
	n = s->p->settings != NULL ?
	    json_object_array_length(s->p->settings) : 0;
	for (i = 0; i < n; i++) {
		kv = json_object_get_string(json_object_array_get_idx(
		    s->p->settings, i));
		if (strncmp(kv, key, len) == 0 && kv[len] == '=') {
			*changed = 1;
			return kv + len + 1;
		}
	}
	n = list != NULL ? json_object_array_length(list) : 0;
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(list, i);
		if (strcmp(tui_str(o, "key", ""), key) == 0)
			return tui_str(o, "value", "");
	}
	return NULL;
}

/* Keeps KEY=VALUE as changed (replacing an earlier change of key). */
static void
prov_set_change(struct prov *p, const char *key, const char *value)
{
	struct json_object *keep = json_object_new_array(), *v;
	size_t i, n, len = strlen(key);
	const char *kv;
	char *s;

	n = p->settings != NULL ? json_object_array_length(p->settings) : 0;
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(p->settings, i);
		kv = json_object_get_string(v);
		if (!(strncmp(kv, key, len) == 0 && kv[len] == '='))
			json_object_array_add(keep, json_object_get(v));
	}
	s = xasprintf("%s=%s", key, value);
	json_object_array_add(keep, json_object_new_string(s));
	free(s);
	json_object_put(p->settings);
	p->settings = keep;
}

static void
prov_set_draw(struct tui *t, struct tui_view *v, WINDOW *win)
{
	struct prov_set *s = v->data;
	const struct setting_def *def;
	const char *value;
	char *line, *takes;
	int rows, cols, y = 0, changed;
	size_t i;

	getmaxyx(win, rows, cols);
	tui_print_attr(t, win, y++, 1, cols - 2, TUI_A_HEADING, "Device "
	    "settings (step 6): all are checked, then all set, or none");
	y++;
	for (i = 0; i < setting_provision_keys_len && y < rows - 6; i++, y++) {
		value = prov_set_value(s, setting_provision_keys[i], &changed);
		if (i == s->sel) {
			wattron(win, t->attr[TUI_A_SELECTED]);
			mvwhline(win, y, 0, ' ', cols);
			wattroff(win, t->attr[TUI_A_SELECTED]);
		}
		tui_print_attr(t, win, y, 0, 1, i == s->sel ?
		    TUI_A_SELECTED : TUI_A_NORMAL, i == s->sel ? ">" : " ");
		tui_print_attr(t, win, y, 1, 1, i == s->sel ? TUI_A_SELECTED :
		    TUI_A_WARN, changed ? "*" : " ");
		tui_print_attr(t, win, y, 3, PROV_LABEL, i == s->sel ?
		    TUI_A_SELECTED : TUI_A_NORMAL, setting_provision_keys[i]);
		tui_print_attr(t, win, y, 4 + PROV_LABEL, cols - 5 - PROV_LABEL,
		    i == s->sel ? TUI_A_SELECTED : TUI_A_FIELD,
		    value != NULL ? (*value != '\0' ? value : "(empty)") :
		    "?");
	}
	y++;
	if ((def = setting_find(setting_provision_keys[s->sel])) != NULL) {
		takes = setting_values(def);
		line = xasprintf("%s. Takes %s; default %s.", def->help, takes,
		    *def->def != '\0' ? def->def : "empty");
		y += flow_wrap(t, win, y, 1, cols - 2, rows - 2 - y,
		    TUI_A_DIM, line);
		free(line);
		free(takes);
	}
	if (s->error != NULL)
		flow_wrap(t, win, rows - 2, 1, cols - 2, 2, TUI_A_BAD,
		    s->error);
	else
		tui_print_attr(t, win, rows - 1, 1, cols - 2, TUI_A_DIM,
		    "* changed, not yet set");
}

/* Changes the selected setting: a choice for enums, a line otherwise. */
static void
prov_set_edit(struct tui *t, struct prov_set *s)
{
	static const char *const bools[] = { "true", "false", NULL };
	const char *key = setting_provision_keys[s->sel];
	const struct setting_def *def = setting_find(key);
	const char *const *choices;
	const char *value;
	char *typed = NULL, *canon = NULL, *cause = NULL, *prompt;
	size_t n;
	int pick, changed;

	if (def == NULL)
		return;
	value = prov_set_value(s, key, &changed);
	choices = def->type == SETTING_ENUM ? def->choices :
	    def->type == SETTING_BOOL ? bools : NULL;
	if (choices != NULL) {
		for (n = 0; choices[n] != NULL; n++)
			;
		if ((pick = tui_pick(t, key, choices, n)) == -1)
			return;
		typed = xstrdup(choices[pick]);
	} else {
		prompt = xasprintf("The value of %s:", key);
		pick = tui_ask_text(t, "Device setting", prompt, value, &typed);
		free(prompt);
		if (pick == -1)
			return;
	}
	/* checked here as cmld checks it: the same words, at once */
	free(s->error);
	s->error = NULL;
	if (setting_canonical(def, typed, &canon, &cause) == -1)
		s->error = cause;
	else
		prov_set_change(s->p, key, canon);
	free(canon);
	free(typed);
}

/* Applies the settings: every one the form shows, changed or not. */
static void
prov_set_apply(struct tui *t, struct tui_view *v)
{
	struct prov_set *s = v->data;
	struct prov *p = s->p;
	struct json_object *list, *params, *r = NULL, *o;
	const char *title = "Step 6: device settings", *value;
	char *kv, *text = NULL, *msg = NULL;
	size_t i, n;
	int changed;

	list = json_object_new_array();
	for (i = 0; i < setting_provision_keys_len; i++) {
		if ((value = prov_set_value(s, setting_provision_keys[i],
		    &changed)) == NULL)
			continue;
		kv = xasprintf("%s=%s", setting_provision_keys[i], value);
		json_object_array_add(list, json_object_new_string(kv));
		free(kv);
	}
	params = json_object_new_object();
	json_object_object_add(params, "settings", list);
	if (flow_run(t, "provision settings", params, &r, NULL, NULL,
	    &msg) != 0) {
		free(s->error);
		s->error = xasprintf("%s: nothing was set; the values are "
		    "kept", msg);
		tui_message(t, title, msg != NULL ? msg : "the call failed");
		free(msg);
		json_object_put(r);
		return;
	}
	free(msg);
	/* applied: what cmld made of them */
	list = prov_array(r, "settings");
	n = list != NULL ? json_object_array_length(list) : 0;
	prov_line(&text, "", "Set, and applied:");
	prov_line(&text, "", "");
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(list, i);
		if (json_object_is_type(o, json_type_string))
			prov_line(&text, "", json_object_get_string(o));
		else
			prov_line(&text, tui_str(o, "key", "?"),
			    tui_str(o, "value", ""));
	}
	json_object_put(p->settings);
	p->settings = NULL;
	tui_message(t, title, text);
	free(text);
	prov_note(p, TUI_A_OK, "Step 6: the device settings are set.");
	json_object_put(r);
	tui_pop(t);
}

static int
prov_set_key(struct tui *t, struct tui_view *v, int ch)
{
	struct prov_set *s = v->data;

	switch (ch) {
	case KEY_UP:
	case 'k':
		if (s->sel > 0)
			s->sel--;
		break;
	case KEY_DOWN:
	case 'j':
		if (s->sel + 1 < setting_provision_keys_len)
			s->sel++;
		break;
	case KEY_F(5):
	case TUI_CTRL('r'):
		prov_set_apply(t, v);
		return 1; /* the view may be gone */
	default:
		if (!TUI_IS_ENTER(ch))
			return 0;
		prov_set_edit(t, s);
	}
	v->dirty = 1;
	return 1;
}

static void
prov_set_free(struct tui_view *v)
{
	struct prov_set *s = v->data;

	json_object_put(s->current);
	free(s->error);
	free(s);
}

static const struct tui_view_ops prov_set_ops = {
	.name = "provision settings",
	.draw = prov_set_draw,
	.key = prov_set_key,
	.free = prov_set_free,
	.help = "Enter change  F5 set them all  Esc back",
};

/* Step 6: a form of the settings with their current values. */
static void
prov_settings(struct tui *t, struct prov *p)
{
	struct prov_set *s;
	struct json_object *r = NULL;

	if (prov_call(t, p, "Step 6: device settings", "device config get",
	    NULL, &r) == -1)
		return;
	prov_note(p, TUI_A_DIM, NULL);
	s = xcalloc(1, sizeof *s);
	s->p = p;
	s->current = r;
	tui_push(t, tui_view_new(&prov_set_ops, s, "Provisioning: settings"));
}

/* The review before the lock (a view above the screen). */
struct prov_review {
	struct prov *p;
	struct json_object *settings; /* device config get; NULL: none */
};

static void
prov_review_draw(struct tui *t, struct tui_view *v, WINDOW *win)
{
	struct prov_review *r = v->data;
	struct prov *p = r->p;
	struct json_object *s, *list, *o;
	const char *state, *what;
	char *line, *more, *pending = NULL;
	int rows, cols, y = 0;
	size_t i, n, k;

	getmaxyx(win, rows, cols);
	tui_print_attr(t, win, y++, 1, cols - 2, TUI_A_HEADING, "Review "
	    "before the lock: the device as it will be provisioned");
	y++;
	line = xasprintf("%s", prov_uuid(p));
	tui_print_attr(t, win, y, 1, 14, TUI_A_HEADING, "Device");
	tui_print(win, y++, 16, cols - 17, line);
	free(line);
	for (i = 0; i + 1 < PROV_STEPS && y < rows; i++, y++) {
		s = prov_step_of(p->status, prov_rows[i].name);
		state = tui_str(s, "state", "?");
		what = tui_str(s, strcmp(state, "failed") == 0 ? "error" :
		    "summary", "");
		line = xasprintf("%zu %s", i + 1, prov_rows[i].name);
		tui_print_attr(t, win, y, 1, 14, TUI_A_HEADING, line);
		free(line);
		tui_print_attr(t, win, y, 16, PROV_COL_STATE,
		    prov_state_attr(state), state);
		tui_print(win, y, 16 + PROV_COL_STATE + 1, cols - 26, what);
		if (strcmp(state, "done") != 0) {
			line = xasprintf("%s%s%zu", pending != NULL ? pending :
			    "", pending != NULL ? ", " : "", i + 1);
			free(pending);
			pending = line;
		}
	}
	/* the settings the report will list */
	list = prov_array(r->settings, "settings");
	n = list != NULL ? json_object_array_length(list) : 0;
	line = xstrdup("");
	for (k = 0; k < setting_provision_keys_len; k++)
		for (i = 0; i < n; i++) {
			o = json_object_array_get_idx(list, i);
			if (strcmp(tui_str(o, "key", ""),
			    setting_provision_keys[k]) != 0)
				continue;
			more = xasprintf("%s%s%s=%s", line, *line != '\0' ?
			    ", " : "", setting_provision_keys[k],
			    tui_str(o, "value", ""));
			free(line);
			line = more;
		}
	tui_print_attr(t, win, y, 1, 14, TUI_A_HEADING, "Settings");
	y += flow_wrap(t, win, y, 16, cols - 17, 5, TUI_A_NORMAL, line);
	free(line);
	y++;
	if (pending != NULL) {
		line = xasprintf("Steps %s are not done: cmld refuses the lock "
		    "until they are.", pending);
		y += flow_wrap(t, win, y, 1, cols - 2, 2, TUI_A_BAD, line);
		free(line);
		free(pending);
	}
	if (y < rows - 1)
		flow_wrap(t, win, y, 1, cols - 2, rows - 1 - y, TUI_A_WARN,
		    "Locking makes this device provisioned, for good: "
		    "container configs must then be signed, factory-only "
		    "commands (these steps too) are refused and the supplier "
		    "anchor is fixed. Only device wipe returns it to factory.");
}

/* Locks, after the word typed; pops the review when it is done. */
static void
prov_review_lock(struct tui *t, struct prov *p)
{
	const char *title = "Step 7: lock";
	struct json_object *r = NULL;
	char *typed = NULL, *line;

	if (tui_ask_text(t, title, "Type " PROV_LOCK_WORD " to make this "
	    "device provisioned, for good:", "", &typed) == -1)
		return;
	if (strcmp(typed, PROV_LOCK_WORD) != 0) {
		line = xasprintf("'%s' is not '" PROV_LOCK_WORD "': the device "
		    "was not locked.", typed);
		tui_message(t, title, line);
		prov_note(p, TUI_A_DIM, line);
		free(line);
		free(typed);
		return;
	}
	free(typed);
	if (prov_call(t, p, title, "provision lock", NULL, &r) == -1)
		return;
	line = xasprintf("Locked: the device is %s. Only device wipe returns "
	    "it to factory.", tui_str(r, "state", "provisioned"));
	tui_message(t, title, line);
	prov_note(p, TUI_A_OK, line);
	free(line);
	json_object_put(r);
	tui_pop(t);
}

static int
prov_review_key(struct tui *t, struct tui_view *v, int ch)
{
	struct prov_review *r = v->data;

	if (!TUI_IS_ENTER(ch))
		return 0;
	prov_review_lock(t, r->p);
	return 1;
}

static void
prov_review_free(struct tui_view *v)
{
	struct prov_review *r = v->data;

	json_object_put(r->settings);
	free(r);
}

static const struct tui_view_ops prov_review_ops = {
	.name = "provision review",
	.draw = prov_review_draw,
	.key = prov_review_key,
	.free = prov_review_free,
	.help = "Enter lock (typed confirmation)  Esc back",
};

/* Step 7: the review, then the lock. */
static void
prov_lock(struct tui *t, struct prov *p)
{
	struct prov_review *r = xcalloc(1, sizeof *r);
	char *err = NULL;

	r->p = p;
	if (tui_call(t, "device config get", NULL, &r->settings, &err) != 0)
		prov_note(p, TUI_A_BAD, err);
	else
		prov_note(p, TUI_A_DIM, NULL);
	free(err);
	tui_push(t, tui_view_new(&prov_review_ops, r, "Provisioning: review"));
}

/* The signed report, saved where the operator says. */
static void
prov_report(struct tui *t, struct prov *p)
{
	const char *title = "The provisioning report";
	struct json_object *r = NULL;
	char *def, *cause = NULL, *text, *line;

	def = xasprintf("/var/tmp/%s-report.json", prov_uuid(p));
	if (prov_ask_path(t, title, "Save the signed report (JSON) to:",
	    &p->report_path, def) == -1) {
		free(def);
		return;
	}
	free(def);
	if (prov_call(t, p, title, "provision report", NULL, &r) == -1)
		return;
	text = xasprintf("%s\n", json_object_to_json_string_ext(r,
	    PROV_JSON_FLAGS));
	if (prov_write(p->report_path, text, &cause) == -1) {
		prov_failed(t, p, title, cause);
		free(cause);
	} else {
		line = xasprintf("The report, signed by the TPM's device key, "
		    "is in %s (%zu bytes). cml-attest --report verifies it "
		    "off the device.", p->report_path, strlen(text));
		tui_message(t, title, line);
		free(line);
		line = xasprintf("The signed report is in %s.",
		    p->report_path);
		prov_note(p, TUI_A_OK, line);
		free(line);
	}
	free(text);
	json_object_put(r);
}

/* The wipe: asked, the UUID typed, then what was wiped and checked shown. */
static void
prov_wipe(struct tui *t, struct prov *p)
{
	const char *title = "Wipe the device";
	struct json_object *r = NULL, *list, *o;
	const char *detail, *start;
	char *text = NULL, *line, *prompt;
	size_t i, n, len, bad = 0;

	if (!tui_confirm(t, title, "This destroys every container (volumes, "
	    "keys, configs), every token, the TPM's device and attestation "
	    "keys, the sealed system key, the device certificate, every trust "
	    "anchor, the settings and the provisioning steps, and starts a "
	    "new audit trail. Guest OS images stay. Export the audit trail "
	    "first if it is to be kept. Go on?")) {
		prov_note(p, TUI_A_DIM, "Not wiped: nothing was done.");
		return;
	}
	prompt = xasprintf("To wipe it, type its UUID %s:",
	    prov_uuid(p));
	if (prov_ask_path(t, title, prompt, &p->wipe_confirm, "") == -1) {
		free(prompt);
		prov_note(p, TUI_A_DIM, "Not wiped: nothing was done.");
		return;
	}
	free(prompt);
	if (strcmp(p->wipe_confirm, prov_uuid(p)) != 0) {
		line = xasprintf("'%s' is not this device's UUID: nothing was "
		    "done.", p->wipe_confirm);
		tui_message(t, title, line);
		prov_note(p, TUI_A_DIM, line);
		free(line);
		return;
	}
	if (prov_call(t, p, title, "device wipe", prov_params("confirm",
	    p->wipe_confirm), &r) == -1)
		return;
	prov_set(&p->wipe_confirm, NULL);
	list = prov_array(r, "wiped");
	n = list != NULL ? json_object_array_length(list) : 0;
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(list, i);
		if (!json_object_get_boolean(json_object_object_get(o,
		    "verified")))
			bad++;
	}
	line = xasprintf("The device is %s. Every check of what was wiped "
	    "%s.", tui_str(r, "state", "factory"), bad == 0 ? "passed" :
	    "did not pass");
	prov_line(&text, "", line);
	prov_line(&text, "", "");
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(list, i);
		free(line);
		line = xasprintf("%-8s %s", json_object_get_boolean(
		    json_object_object_get(o, "verified")) ? "gone" :
		    "REMAINS", tui_str(o, "what", "?"));
		prov_line(&text, "", line);
		/* the check's words whole, indented under it */
		for (detail = tui_str(o, "detail", ""); *detail != '\0';) {
			start = detail;
			len = flow_wrap_next(&detail, t->cols - 14);
			free(line);
			line = xasprintf("         %.*s", (int)len, start);
			prov_line(&text, "", line);
		}
	}
	prov_note(p, bad == 0 ? TUI_A_OK : TUI_A_BAD, "Wiped: the device is "
	    "back in factory.");
	tui_text_push(t, "Wiped", text);
	free(line);
	free(text);
	json_object_put(r);
}

/* Runs the selected row, then asks for the steps again. */
static void
prov_run(struct tui *t, struct tui_view *v, struct prov *p)
{
	prov_rows[p->sel].run(t, p);
	prov_refresh(t, p);
	v->dirty = 1;
}

static int
prov_key(struct tui *t, struct tui_view *v, int ch)
{
	struct prov *p = v->data;
	const char *next;

	switch (ch) {
	case KEY_UP:
	case 'k':
		if (p->sel > 0)
			p->sel--;
		break;
	case KEY_DOWN:
	case 'j':
		if (p->sel + 1 < PROV_NROWS)
			p->sel++;
		break;
	case KEY_HOME:
		p->sel = 0;
		break;
	case KEY_END:
		p->sel = PROV_NROWS - 1;
		break;
	case 'n':
		if ((next = tui_str(p->status, "next", NULL)) != NULL &&
		    prov_row_of(next) < PROV_NROWS)
			p->sel = prov_row_of(next);
		break;
	case 'r':
		prov_note(p, TUI_A_DIM, NULL);
		prov_refresh(t, p);
		break;
	default:
		if (ch >= '1' && ch <= '0' + PROV_STEPS)
			p->sel = (size_t)(ch - '1');
		else if (TUI_IS_ENTER(ch))
			prov_run(t, v, p);
		else
			return 0;
	}
	v->dirty = 1;
	return 1;
}

static void
prov_tick(struct tui *t, struct tui_view *v)
{
	prov_refresh(t, v->data);
	v->dirty = 1;
}

static void
prov_free(struct tui_view *v)
{
	struct prov *p = v->data;

	json_object_put(p->status);
	json_object_put(p->settings);
	free(p->error);
	free(p->note);
	free(p->csr_path);
	free(p->cert_path);
	free(p->ca_path);
	free(p->anchor_path);
	free(p->token_type);
	free(p->token_reader);
	free(p->report_path);
	free(p->wipe_confirm);
	free(p);
}

static const struct tui_view_ops prov_ops = {
	.name = "provisioning",
	.draw = prov_draw,
	.key = prov_key,
	.tick = prov_tick,
	.free = prov_free,
	.help = "Enter run  n next step  1-7 step  r refresh",
};

/* Returns the provisioning screen, pushed now if it is not on top. */
static struct tui_view *
prov_open(struct tui *t)
{
	if (t->top != NULL && t->top->ops == &prov_ops)
		return t->top;
	/* its tick asks for the steps: the next one is selected */
	tui_push(t, tui_view_new(&prov_ops, xcalloc(1, sizeof(struct prov)),
	    "Provisioning"));
	return t->top;
}

void
tui_provision_push(struct tui *t)
{
	prov_open(t);
}

/*
 * Says whether a factory device needs its provisioning now: a step was
 * done or tried, or nothing runs on it yet.  A factory device that runs
 * containers with no step begun is a development device: the dashboard
 * first, as ever.
 */
static int
prov_wanted(struct json_object *status, int containers)
{
	struct json_object *steps = prov_array(status, "steps");
	size_t i, n = steps != NULL ? json_object_array_length(steps) : 0;

	if (strcmp(tui_str(status, "state", ""), "factory") != 0)
		return 0;
	for (i = 0; i < n; i++)
		if (strcmp(tui_str(json_object_array_get_idx(steps, i), "state",
		    "pending"), "pending") != 0)
			return 1;
	return containers == 0;
}

char *
tui_provision_line(struct tui *t, struct json_object *device, int containers)
{
	struct json_object *r = NULL;
	const char *next;
	char *line = NULL;

	if (strcmp(tui_str(device, "provisioning", ""), "factory") != 0 ||
	    tui_call(t, "provision status", NULL, &r, NULL) != 0)
		return NULL;
	if (prov_wanted(r, containers) &&
	    (next = tui_str(r, "next", NULL)) != NULL)
		line = xasprintf("step %zu of %d (%s) is next  p: the "
		    "provisioning screen", prov_row_of(next) + 1, PROV_STEPS,
		    next);
	json_object_put(r);
	return line;
}

/* The steps run from the menus: the screen, and the step at once. */
static void
prov_for_row(struct tui *t, struct json_object *params, size_t row)
{
	struct tui_view *v = prov_open(t);
	struct prov *p = v->data;
	struct json_object *val;
	const char *s;
	size_t i, n;

	/* what the form gave is what the dialogs offer */
	if (row == 2 && (s = tui_str(params, "cert", NULL)) != NULL)
		prov_set(&p->cert_path, s);
	if (row == 2 && (s = tui_str(params, "ca", NULL)) != NULL)
		prov_set(&p->ca_path, s);
	if (row == 3 && (s = tui_str(params, "cert", NULL)) != NULL)
		prov_set(&p->anchor_path, s);
	if (row == 8 && (s = tui_str(params, "confirm", NULL)) != NULL)
		prov_set(&p->wipe_confirm, s);
	if (row == 5 && (val = prov_array(params, "settings")) != NULL) {
		n = json_object_array_length(val);
		for (i = 0; i < n; i++) {
			s = json_object_get_string(
			    json_object_array_get_idx(val, i));
			if (s != NULL && strchr(s, '=') != NULL) {
				char *key = xstrdup(s);

				key[strcspn(key, "=")] = '\0';
				prov_set_change(p, key, strchr(s, '=') + 1);
				free(key);
			}
		}
	}
	p->sel = row;
	v->dirty = 1;
	tui_redraw(t);
	prov_run(t, v, p);
}

#define PROV_FOR(fn, row) \
	static void \
	fn(struct tui *t, struct json_object *params) \
	{ \
		prov_for_row(t, params, row); \
	}
PROV_FOR(prov_for_check, 0)
PROV_FOR(prov_for_identity, 1)
PROV_FOR(prov_for_certificate, 2)
PROV_FOR(prov_for_anchor, 3)
PROV_FOR(prov_for_token, 4)
PROV_FOR(prov_for_settings, 5)
PROV_FOR(prov_for_lock, 6)
PROV_FOR(prov_for_report, 7)
PROV_FOR(prov_for_wipe, 8)

static void
prov_for_status(struct tui *t, struct json_object *params)
{
	(void)params;
	prov_open(t);
}

tui_flow_fn
flow_provision_for(const struct cmd_entry *cmd)
{
	static const struct {
		enum cmd_id id;
		tui_flow_fn fn;
	} flows[] = {
		{ CMD_ID_PROVISION_STATUS, prov_for_status },
		{ CMD_ID_PROVISION_CHECK, prov_for_check },
		{ CMD_ID_PROVISION_IDENTITY, prov_for_identity },
		{ CMD_ID_PROVISION_CERTIFICATE, prov_for_certificate },
		{ CMD_ID_PROVISION_ANCHOR, prov_for_anchor },
		{ CMD_ID_PROVISION_TOKEN, prov_for_token },
		{ CMD_ID_PROVISION_SETTINGS, prov_for_settings },
		{ CMD_ID_PROVISION_LOCK, prov_for_lock },
		{ CMD_ID_PROVISION_REPORT, prov_for_report },
		{ CMD_ID_DEVICE_WIPE, prov_for_wipe },
	};
	size_t i;

	for (i = 0; cmd != NULL && i < sizeof flows / sizeof flows[0]; i++)
		if (flows[i].id == cmd->id)
			return flows[i].fn;
	return NULL;
}
