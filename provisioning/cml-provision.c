/*
 * cml-provision: the factory provisioning wizard.  This file holds the
 * options, the calls to cmld, what a person and factory tooling see (the
 * progress line, one JSON object per step, the summary) and the walk
 * through the steps from where `provision status` says the device stands;
 * cml-provision-steps.c does each step, cml-provision-batch.c reads the
 * answers of --batch.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <langinfo.h>
#include <libgen.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cml-provision.h"
#include "file.h"
#include "jsonstrict.h"
#include "log.h"
#include "secret.h"
#include "utf8.h"
#include "xmalloc.h"

#define PROV_JSON_LINE \
	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
/* The width the progress line is kept to when the terminal does not say. */
#define PROV_WIDTH 80
/* The longest answer read. */
#define PROV_ANSWER_MAX 4096

volatile sig_atomic_t prov_signal;

/* The steps' names in org.cml.Provision, in order. */
static const char *const prov_step_names[PROV_STEPS] = {
	"check", "identity", "certificate", "anchors", "token", "settings",
	"lock",
};

static void
prov_on_signal(int sig)
{
	prov_signal = sig;
}

void
prov_say(struct prov *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(p->out, fmt, ap);
	va_end(ap);
	fputc('\n', p->out);
	fflush(p->out);
}

void
prov_say_pair(struct prov *p, int width, const char *label, const char *text)
{
	char *clean = format_clean(text != NULL ? text : "", 0);

	fprintf(p->out, "  %-*s %s\n", width, label, clean);
	fflush(p->out);
	free(clean);
}

void
prov_say_clean(struct prov *p, const char *label, const char *text)
{
	prov_say_pair(p, PROV_LABEL_WIDTH, label, text);
}

const char *
prov_str(struct json_object *o, const char *key)
{
	const char *s;

	/* a member of another type is no string either: NULL, unsaid */
	if (jsonstrict_get_string(o, "", key, JSONSTRICT_NULL_ABSENT, &s,
	    NULL) == -1)
		return NULL;
	return s;
}

/* The reply of a call: one, as no provisioning command streams. */
static int
prov_reply_take(void *arg, struct json_object *params, int continues,
    const int *fds, size_t nfds, char **cause)
{
	struct prov_reply *r = arg;
	size_t i;

	(void)continues;
	(void)cause;
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	json_object_put(r->params);
	r->params = json_object_get(params);
	return 0;
}

/* An error reply: its name, and its message for a person. */
static void
prov_reply_error(void *arg, const char *error, struct json_object *params)
{
	struct prov_reply *r = arg;
	const char *m = prov_str(params, "message");

	free(r->error);
	free(r->message);
	r->error = xstrdup(error);
	r->message = format_clean(m != NULL && *m != '\0' ? m : error, 0);
}

void
prov_reply_free(struct prov_reply *r)
{
	json_object_put(r->params);
	free(r->error);
	free(r->message);
	memset(r, 0, sizeof *r);
}

int
prov_call(struct prov *p, const char *words, int argc, char *const *argv,
    struct json_object *extra, struct prov_reply *r)
{
	const struct cmd_entry *cmd = cmd_find_words(words);
	const struct client_reply_ops ops = { .arg = r,
	    .reply = prov_reply_take, .error = prov_reply_error };
	struct json_object *params = NULL;
	sigset_t block, saved;
	char *cause = NULL;
	int rc;

	memset(r, 0, sizeof *r);
	if (cmd == NULL)
		fatalx("no command '%s' in the table", words);
	if (cmd_parse_args(cmd, argc, argv, &params, &cause) == -1) {
		/* an answer cmlsh would refuse too: the step's fault */
		r->error = xstrdup(CLIENT_ERR_USAGE);
		r->message = cause;
		cmd_wipe_secrets(cmd, extra);
		json_object_put(extra);
		return 1;
	}
	if (extra != NULL) {
		json_object_object_foreach(extra, key, val)
			json_object_object_add(params, key,
			    json_object_get(val));
	}
	/* interactive: the secrets are asked on the terminal, no echo */
	if (p->batch == NULL && cmd_secret_count(cmd) > 0 &&
	    (rc = secret_collect(cmd, params, 0, &cause)) != 0) {
		r->error = xstrdup(CLIENT_ERR_FAILED);
		r->message = rc == -2 ? xasprintf("there is no terminal to "
		    "ask for the secrets on: give them in a batch file "
		    "(--batch; pin, puk or pin_fd, puk_fd)") : cause;
		if (rc == -2)
			free(cause);
		secret_wipe(cmd, params);
		json_object_put(params);
		json_object_put(extra);
		return prov_signal != 0 ? -1 : 1;
	}
	/* signals only while waiting, so that none is lost in between */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &saved);
	json_object_get(params);
	rc = client_call(&p->cl, cmd, params, 0, &saved, &ops, &cause);
	sigprocmask(SIG_SETMASK, &saved, NULL);
	/* the PINs it sent are no longer needed here */
	secret_wipe(cmd, params);
	json_object_put(params);
	if (extra != NULL) {
		cmd_wipe_secrets(cmd, extra);
		json_object_put(extra);
	}
	if (rc == -1) {
		r->message = cause != NULL ? cause :
		    xstrdup("the call ended before its reply");
		json_object_put(r->params);
		r->params = NULL;
	} else
		free(cause);
	return rc;
}

int
prov_fail(struct prov *p, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = xstrdup("out of memory");
	va_end(ap);
	free(p->message);
	p->message = msg;
	return PROV_FAILED;
}

int
prov_outcome(struct prov *p, int rc, struct prov_reply *r)
{
	struct json_object *step;
	const char *state, *error;

	if (rc == -1) {
		free(p->message);
		p->message = r->message;
		r->message = NULL;
		return prov_signal != 0 ? PROV_ABORTED : PROV_LOST;
	}
	if (rc == 1) {
		free(p->error);
		free(p->message);
		p->error = r->error;
		p->message = r->message;
		r->error = r->message = NULL;
		return PROV_FAILED;
	}
	/* answered, yet the step may say it failed (a check did not pass) */
	if (json_object_object_get_ex(r->params, "step", &step) &&
	    (state = prov_str(step, "state")) != NULL &&
	    strcmp(state, "failed") == 0) {
		error = prov_str(step, "error");
		return prov_fail(p, "%s", error != NULL ? error :
		    "cmld says the step failed");
	}
	return PROV_OK;
}

/* Returns the Step object of s in the last status, or NULL. */
static struct json_object *
prov_step_obj(struct prov *p, enum prov_step s)
{
	struct json_object *steps, *o;
	const char *name;
	size_t i;

	if (!json_object_object_get_ex(p->status, "steps", &steps) ||
	    !json_object_is_type(steps, json_type_array))
		return NULL;
	for (i = 0; i < json_object_array_length(steps); i++) {
		o = json_object_array_get_idx(steps, i);
		if ((name = prov_str(o, "name")) != NULL &&
		    strcmp(name, prov_step_names[s]) == 0)
			return o;
	}
	return NULL;
}

const char *
prov_step_state(struct prov *p, enum prov_step s)
{
	const char *state = prov_str(prov_step_obj(p, s), "state");

	return state != NULL ? state : "pending";
}

/* Says whether a daemon's UUID is fit for a file name: hex and dashes. */
static int
prov_uuid_ok(const char *s)
{
	size_t n = strspn(s, "0123456789abcdefABCDEF-");

	return n == strlen(s) && n >= 32 && n <= 36;
}

int
prov_refresh(struct prov *p)
{
	struct prov_reply r;
	const char *uuid;
	int rc;

	rc = prov_call(p, "provision status", 0, NULL, NULL, &r);
	if (rc != 0) {
		free(p->error);
		free(p->message);
		p->error = r.error;
		p->message = r.message;
		r.error = r.message = NULL;
		prov_reply_free(&r);
		return -1;
	}
	json_object_put(p->status);
	p->status = json_object_get(r.params);
	if (p->uuid == NULL && (uuid = prov_str(p->status, "uuid")) != NULL)
		p->uuid = xstrdup(prov_uuid_ok(uuid) ? uuid : "device");
	prov_reply_free(&r);
	return 0;
}

int
prov_write_file(const char *path, const char *data, size_t len, mode_t mode,
    char **cause)
{
	char *d = xstrdup(path), *b = xstrdup(path);
	const char *name;
	int rc;

	name = basename(b);
	if (*path == '\0' || path[strlen(path) - 1] == '/' ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		*cause = xasprintf("'%s' names no file", path);
		rc = -1;
	} else
		rc = file_write_atomic(dirname(d), name, data, len, mode,
		    cause);
	free(d);
	free(b);
	return rc;
}

int
prov_ask(struct prov *p, const char *prompt, const char *def, char **answer)
{
	char *line = NULL, *s, *end;
	size_t size = 0;
	ssize_t n;

	*answer = NULL;
	if (def != NULL && *def != '\0')
		fprintf(p->out, "%s [%s]: ", prompt, def);
	else
		fprintf(p->out, "%s: ", prompt);
	fflush(p->out);
	errno = 0;
	n = getline(&line, &size, stdin);
	if (n == -1 || prov_signal != 0) {
		/* after Ctrl-D or ^C the cursor stands after the prompt */
		fputc('\n', p->out);
		free(line);
		clearerr(stdin);
		return PROV_ABORTED;
	}
	for (s = line; *s == ' ' || *s == '\t'; s++)
		;
	end = s + strlen(s);
	while (end > s && (end[-1] == '\n' || end[-1] == '\r' ||
	    end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	if (strlen(s) > PROV_ANSWER_MAX || !utf8_valid(s, strlen(s))) {
		free(line);
		prov_say(p, "That answer is too long or not UTF-8: again.");
		return prov_ask(p, prompt, def, answer);
	}
	*answer = xstrdup(*s == '\0' && def != NULL ? def : s);
	free(line);
	return 0;
}

int
prov_ask_yes(struct prov *p, const char *question, int def, int *yes)
{
	char *a, *q;
	int rc;

	q = xasprintf("%s [%s]", question, def ? "Y/n" : "y/N");
	for (;;) {
		if ((rc = prov_ask(p, q, NULL, &a)) != 0)
			break;
		if (*a == '\0')
			*yes = def;
		else if (strcasecmp(a, "y") == 0 || strcasecmp(a, "yes") == 0)
			*yes = 1;
		else if (strcasecmp(a, "n") == 0 || strcasecmp(a, "no") == 0)
			*yes = 0;
		else {
			free(a);
			prov_say(p, "Answer y or n.");
			continue;
		}
		free(a);
		break;
	}
	free(q);
	return rc;
}

/* Returns the width of the terminal p->out goes to (PROV_WIDTH if none). */
static size_t
prov_columns(struct prov *p)
{
	struct winsize ws;

	if (ioctl(fileno(p->out), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		return ws.ws_col;
	return PROV_WIDTH;
}

/*
 * Prints the progress line: each step in brackets with a mark, done,
 * failed or the one under way (current), wrapped at the terminal's width;
 * ASCII words where the locale is not UTF-8.
 */
static void
prov_progress(struct prov *p, int current)
{
	char buf[64];
	const char *state, *mark;
	size_t width = prov_columns(p), col = 0, w;
	int s;

	for (s = 0; s < PROV_STEPS; s++) {
		state = prov_step_state(p, (enum prov_step)s);
		if (s == current)
			mark = p->utf8 ? " \u2026" : " ...";
		else if (strcmp(state, "done") == 0)
			mark = p->utf8 ? " \u2713" : " ok";
		else if (strcmp(state, "failed") == 0)
			mark = p->utf8 ? " \u2717" : " failed";
		else
			mark = "";
		snprintf(buf, sizeof buf, "[%d %s%s]", s + 1, prov_step_names[s],
		    mark);
		w = format_width(buf);
		if (col > 0 && col + 1 + w > width) {
			fputc('\n', p->out);
			col = 0;
		} else if (col > 0) {
			fputc(' ', p->out);
			col++;
		}
		fputs(buf, p->out);
		col += w;
	}
	fputc('\n', p->out);
	fflush(p->out);
}

/* Prints one JSON object on a line of stdout (--json). */
static void
prov_json_line(struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, PROV_JSON_LINE);

	printf("%s\n", s);
	fflush(stdout);
	/* a generated PUK may be in it */
	explicit_bzero((char *)s, strlen(s));
}

/* Adds member key to o: the string s, or null. */
static void
prov_json_add(struct json_object *o, const char *key, const char *s)
{
	json_object_object_add(o, key, s != NULL ? json_object_new_string(s) :
	    NULL);
}

/*
 * The JSON line of step s: its state in the last status (refreshed), the
 * result of this run, or why it did not go through.
 */
static void
prov_step_json(struct prov *p, enum prov_step s, int rc, int before)
{
	struct json_object *o, *st;
	static const char *const outcome[] = { "done", "failed", "aborted",
	    "unreachable", "not-asked" };

	if (!p->json)
		return;
	st = prov_step_obj(p, s);
	o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string("step"));
	json_object_object_add(o, "number", json_object_new_int(s + 1));
	json_object_object_add(o, "name",
	    json_object_new_string(prov_step_names[s]));
	json_object_object_add(o, "result",
	    json_object_new_string(outcome[-rc]));
	json_object_object_add(o, "done_before",
	    json_object_new_boolean(before));
	prov_json_add(o, "state", prov_str(st, "state"));
	prov_json_add(o, "time", prov_str(st, "time"));
	prov_json_add(o, "summary", prov_str(st, "summary"));
	prov_json_add(o, "error", rc != PROV_OK ? p->error : NULL);
	prov_json_add(o, "message", rc != PROV_OK ? p->message : NULL);
	json_object_object_add(o, "reply", json_object_get(p->result));
	prov_json_line(o);
	json_object_put(o);
}

void
prov_show_steps(struct prov *p)
{
	const char *state, *time, *summary, *error;
	struct json_object *st;
	char *clean;
	int s;

	for (s = 0; s < PROV_STEPS; s++) {
		st = prov_step_obj(p, (enum prov_step)s);
		state = prov_step_state(p, (enum prov_step)s);
		time = prov_str(st, "time");
		summary = prov_str(st, "summary");
		error = prov_str(st, "error");
		clean = format_clean(strcmp(state, "failed") == 0 &&
		    error != NULL ? error : summary != NULL ? summary : "", 0);
		if (time != NULL)
			fprintf(p->out, "  %d %-12s %-8s %-24s %s\n", s + 1,
			    prov_step_names[s], state, time, clean);
		else
			fprintf(p->out, "  %d %-12s %s\n", s + 1,
			    prov_step_names[s], state);
		free(clean);
	}
	fflush(p->out);
}

/* The device's line: its UUID and state. */
static void
prov_show_device(struct prov *p)
{
	const char *state = prov_str(p->status, "state");
	char *uuid = format_clean(prov_str(p->status, "uuid") != NULL ?
	    prov_str(p->status, "uuid") : "?", 0);

	prov_say(p, "Device %s: %s", uuid, state != NULL ? state : "?");
	free(uuid);
}

/* --status: the steps and the next; returns the exit status. */
static int
prov_status(struct prov *p)
{
	const char *next;
	char *clean;

	if (prov_refresh(p) == -1) {
		fprintf(stderr, "%s: cannot ask cmld at %s for the "
		    "provisioning status: %s\n", PROV_NAME, p->socket_path,
		    p->message);
		return PROV_EXIT_UNREACHABLE;
	}
	if (p->json) {
		fprintf(stdout, "%s\n", json_object_to_json_string_ext(
		    p->status, JSON_C_TO_STRING_PRETTY |
		    JSON_C_TO_STRING_NOSLASHESCAPE));
		return PROV_EXIT_OK;
	}
	prov_show_device(p);
	prov_progress(p, -1);
	prov_show_steps(p);
	if ((next = prov_str(p->status, "next")) != NULL) {
		clean = format_clean(next, 0);
		prov_say(p, "Next: %s", clean);
		free(clean);
	}
	return PROV_EXIT_OK;
}

/* Returns the exit status of a step's result. */
static int
prov_exit_status(enum prov_step s, int rc)
{
	switch (rc) {
	case PROV_OK:
	case PROV_NOT_ASKED:
		return PROV_EXIT_OK;
	case PROV_ABORTED:
		return PROV_EXIT_ABORTED;
	case PROV_LOST:
		return PROV_EXIT_UNREACHABLE;
	default:
		return PROV_EXIT_STEP + (int)s + 1;
	}
}

/* Clears what the last step left. */
static void
prov_step_reset(struct prov *p, enum prov_step s)
{
	p->step = s;
	/* a PUK scd made is in step 5's reply */
	cmd_wipe_secrets(cmd_find_words("provision token"), p->result);
	json_object_put(p->result);
	p->result = NULL;
	free(p->error);
	free(p->message);
	p->error = p->message = NULL;
}

/*
 * Runs step s, again while the operator asks for it after a failure
 * (interactive); returns its result.
 */
static int
prov_step(struct prov *p, enum prov_step s)
{
	struct json_object *st;
	const char *title;
	char *clean;
	int rc, again;

	for (;;) {
		prov_step_reset(p, s);
		fputc('\n', p->out);
		prov_progress(p, s);
		st = prov_step_obj(p, s);
		title = prov_str(st, "title");
		clean = format_clean(title != NULL ? title :
		    prov_step_names[s], 0);
		prov_say(p, "Step %d of %d: %s", s + 1, PROV_STEPS, clean);
		free(clean);
		rc = prov_run_step(p, s);
		/* the line shows the step as cmld now keeps it */
		if (rc != PROV_LOST && !(rc == PROV_ABORTED &&
		    p->cl.fd == -1))
			(void)prov_refresh(p);
		if (rc == PROV_OK) {
			prov_say(p, "Step %d (%s) done.", s + 1,
			    prov_step_names[s]);
			return rc;
		}
		if (rc != PROV_FAILED || p->batch != NULL)
			return rc;
		clean = format_clean(p->message != NULL ? p->message :
		    "(no reason given)", 0);
		prov_say(p, "Step %d (%s) failed: %s", s + 1,
		    prov_step_names[s], clean);
		free(clean);
		if (prov_ask_yes(p, "Try it again?", 1, &again) != 0)
			return PROV_ABORTED;
		if (!again)
			return rc;
	}
}

/* Says on stderr why the run stopped at step s. */
static void
prov_stopped(struct prov *p, enum prov_step s, int rc)
{
	char *clean = format_clean(p->message != NULL ? p->message : "", 0);
	const char *name = prov_step_names[s];

	switch (rc) {
	case PROV_FAILED:
		fprintf(stderr, "%s: step %d (%s) failed: %s\n", PROV_NAME,
		    s + 1, name, clean);
		break;
	case PROV_ABORTED:
		fprintf(stderr, "%s: stopped at step %d (%s)%s%s; run %s again "
		    "to go on from there\n", PROV_NAME, s + 1, name,
		    *clean != '\0' ? ": " : "", clean, PROV_NAME);
		break;
	case PROV_LOST:
		fprintf(stderr, "%s: cmld at %s was lost during step %d (%s): "
		    "%s; run %s again once it is up to go on from there\n",
		    PROV_NAME, p->socket_path, s + 1, name, clean, PROV_NAME);
		break;
	}
	free(clean);
}

/* The summary: the state as cmld keeps it, and how the run ended. */
static void
prov_summary(struct prov *p, int status)
{
	struct json_object *o, *v;
	const char *state, *next;
	char *clean;

	if (p->cl.fd != -1 || status != PROV_EXIT_UNREACHABLE)
		(void)prov_refresh(p);
	state = prov_str(p->status, "state");
	next = prov_str(p->status, "next");
	if (p->json) {
		o = json_object_new_object();
		json_object_object_add(o, "type",
		    json_object_new_string("summary"));
		json_object_object_add(o, "exit_status",
		    json_object_new_int(status));
		prov_json_add(o, "state", state);
		prov_json_add(o, "uuid", prov_str(p->status, "uuid"));
		prov_json_add(o, "next", next);
		if (json_object_object_get_ex(p->status, "steps", &v))
			json_object_object_add(o, "steps", json_object_get(v));
		prov_json_add(o, "csr", p->csr_path);
		prov_json_add(o, "report", p->report_path);
		prov_json_add(o, "message", status != PROV_EXIT_OK ?
		    p->message : NULL);
		prov_json_line(o);
		json_object_put(o);
	}
	if (status != PROV_EXIT_OK || state == NULL)
		return;
	fputc('\n', p->out);
	prov_progress(p, -1);
	if (strcmp(state, "provisioned") == 0)
		prov_say(p, "The device is provisioned.");
	else if (next != NULL) {
		clean = format_clean(next, 0);
		prov_say(p, "The device is still in factory; next: %s. Run %s "
		    "again to go on.", clean, PROV_NAME);
		free(clean);
	}
}

/*
 * The report at the end: to the batch file's report_out, or where the
 * operator says.  Returns the exit status.
 */
static int
prov_report(struct prov *p)
{
	char *path = NULL, *def;
	int rc;

	if (p->batch != NULL) {
		if (p->batch->report_out == NULL)
			return PROV_EXIT_OK;
		path = xstrdup(p->batch->report_out);
	} else {
		def = xasprintf("./%s-report.json", p->uuid);
		rc = prov_ask(p, "Write the signed provisioning report to", def,
		    &path);
		free(def);
		if (rc != 0)
			return PROV_EXIT_ABORTED;
	}
	rc = prov_write_report(p, path);
	free(path);
	if (rc == PROV_OK)
		return PROV_EXIT_OK;
	fprintf(stderr, "%s: the provisioning report: %s\n", PROV_NAME,
	    p->message);
	return rc == PROV_LOST ? PROV_EXIT_UNREACHABLE : rc == PROV_ABORTED ?
	    PROV_EXIT_ABORTED : PROV_EXIT_REPORT;
}

/*
 * Says whether a step that is done is run all the same: the request of
 * step 2 is written again while no certificate is installed (a cut may
 * have come before it was written), and the owner anchors of a batch
 * file are installed (each is installed once; the step is done with the
 * supplier's); and the lock, when cmld says it is next all the same.
 */
static int
prov_rerun(struct prov *p, enum prov_step s)
{
	if (s == PROV_IDENTITY)
		return strcmp(prov_step_state(p, PROV_CERTIFICATE),
		    "done") != 0;
	if (s == PROV_ANCHORS && p->batch != NULL)
		return p->batch->owner_anchors.argc > 0;
	/* the lock recorded, cut before the state changed: lock again */
	if (s == PROV_LOCK)
		return prov_str(p->status, "next") != NULL;
	return 0;
}

/* Walks the steps from the first not done; returns the exit status. */
static int
prov_flow(struct prov *p)
{
	const char *state, *time, *summary;
	struct json_object *st;
	char *clean;
	int s, rc = PROV_OK, status;

	if (prov_refresh(p) == -1) {
		fprintf(stderr, "%s: cannot ask cmld at %s where provisioning "
		    "stands: %s\n", PROV_NAME, p->socket_path, p->message);
		status = PROV_EXIT_UNREACHABLE;
		goto out;
	}
	prov_show_device(p);
	state = prov_str(p->status, "state");
	if (state != NULL && strcmp(state, "provisioned") == 0) {
		prov_say(p, "It is provisioned: there is nothing left to do.");
		status = prov_report(p);
		goto out;
	}
	for (s = 0; s < PROV_STEPS; s++) {
		if (strcmp(prov_step_state(p, (enum prov_step)s), "done") != 0)
			continue;
		st = prov_step_obj(p, (enum prov_step)s);
		time = prov_str(st, "time");
		summary = prov_str(st, "summary");
		clean = format_clean(summary != NULL ? summary : "", 0);
		prov_say(p, "Done before: step %d (%s) at %s%s%s", s + 1,
		    prov_step_names[s], time != NULL ? time : "?",
		    *clean != '\0' ? ": " : "", clean);
		free(clean);
	}
	for (s = 0; s < PROV_STEPS; s++) {
		prov_step_reset(p, (enum prov_step)s);
		if (strcmp(prov_step_state(p, (enum prov_step)s), "done") == 0 &&
		    !prov_rerun(p, (enum prov_step)s)) {
			/* interactive: owner anchors until the next step */
			if (s == PROV_ANCHORS && p->batch == NULL &&
			    strcmp(prov_step_state(p, PROV_TOKEN), "done") !=
			    0) {
				prov_say(p, "\nStep 4 (anchors) is done; owner "
				    "anchors may still be added.");
				rc = prov_owner_anchors(p);
			}
			prov_step_json(p, (enum prov_step)s, rc, 1);
			if (rc != PROV_OK)
				break;
			continue;
		}
		if (s == PROV_LOCK && p->batch != NULL && p->batch->lock != 1) {
			rc = PROV_NOT_ASKED;
			prov_say(p, "\nNot locked: the batch file does not say "
			    "lock=yes.");
			prov_step_json(p, (enum prov_step)s, rc, 0);
			break;
		}
		rc = prov_step(p, (enum prov_step)s);
		prov_step_json(p, (enum prov_step)s, rc, 0);
		if (rc != PROV_OK)
			break;
	}
	if (rc != PROV_OK && rc != PROV_NOT_ASKED) {
		prov_stopped(p, (enum prov_step)s, rc);
		status = prov_exit_status((enum prov_step)s, rc);
		goto out;
	}
	status = prov_report(p);
out:
	prov_summary(p, status);
	return status;
}

static void
prov_usage(FILE *f)
{
	fprintf(f, "usage: %s [--socket PATH] [--json] [--batch FILE | "
	    "--status]\n", PROV_NAME);
}

static void
prov_help(void)
{
	printf("usage: %s [OPTIONS]\n"
	    "\n"
	    "The factory provisioning of a cml device: seven steps (check, "
	    "identity,\n"
	    "certificate, anchors, token, settings, lock), each asked of "
	    "cmld, from the\n"
	    "first not done; safe to stop at any point and run again.\n"
	    "\n"
	    "  --batch FILE    take the answers from FILE (a JSON object or "
	    "KEY=VALUE\n"
	    "                  lines; - for stdin) instead of asking\n"
	    "  --json          print one JSON object per step, then a "
	    "summary, on stdout\n"
	    "                  (what a person reads goes to stderr)\n"
	    "  --status        show the steps and exit\n"
	    "  --socket PATH   cmld's control socket (default: $CML_SOCKET, "
	    "else\n"
	    "                  %s)\n"
	    "  --version       print the version and exit\n"
	    "  -h, --help      print this help and exit\n"
	    "\n"
	    "Exit status: 0 done (or nothing left to do), 1 usage error, 2 "
	    "cmld cannot be\n"
	    "reached, 3 stopped by the operator, 11 to 17 the step (1 to 7) "
	    "that failed,\n"
	    "18 the report could not be written.  See cml-provision(8).\n",
	    PROV_NAME, PROV_DEFAULT_SOCKET);
}

/* Reports a usage error; returns the exit status. */
static int
prov_bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", PROV_NAME);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	prov_usage(stderr);
	return PROV_EXIT_USAGE;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "batch", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "status", no_argument, NULL, 'S' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct prov p;
	struct sigaction sa;
	const char *batch = NULL, *env;
	char *cause = NULL;
	int ch, status_only = 0, status;

	setlocale(LC_ALL, "");
	signal(SIGPIPE, SIG_IGN);
	secret_stdin_init();
	/* PINs and PUKs pass through: no core dump, no ptrace by the user */
	(void)prctl(PR_SET_DUMPABLE, 0);
	memset(&p, 0, sizeof p);
	p.out = stdout;
	p.utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			batch = optarg;
			break;
		case 'j':
			p.json = 1;
			break;
		case 's':
			p.socket_path = optarg;
			break;
		case 'S':
			status_only = 1;
			break;
		case 'V':
			printf("%s %s\n", PROV_NAME, PACKAGE_VERSION);
			return PROV_EXIT_OK;
		case 'h':
			prov_help();
			return PROV_EXIT_OK;
		default:
			if (optopt != 0 && optopt != '?')
				return prov_bad_usage("option '%s' needs a "
				    "value", argv[optind - 1]);
			return prov_bad_usage("unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return prov_bad_usage("unexpected argument '%s'", argv[optind]);
	if (batch != NULL && status_only)
		return prov_bad_usage("--batch and --status: one or the other");
	if (p.socket_path == NULL) {
		env = getenv("CML_SOCKET");
		p.socket_path = env != NULL && *env != '\0' ? env :
		    PROV_DEFAULT_SOCKET;
	}
	if (p.json)
		p.out = stderr;

	/* a signal ends a wait or a question, and the run stops cleanly */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = prov_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	if (batch != NULL && (p.batch = prov_batch_read(batch,
	    &cause)) == NULL) {
		fprintf(stderr, "%s: %s\n", PROV_NAME, cause);
		free(cause);
		return PROV_EXIT_USAGE;
	}
	client_init(&p.cl, p.socket_path, &prov_signal);
	if (status_only)
		status = prov_status(&p);
	else
		status = prov_flow(&p);
	client_disconnect(&p.cl);
	prov_batch_free(p.batch);
	prov_step_reset(&p, PROV_CHECK);
	json_object_put(p.status);
	free(p.uuid);
	free(p.csr_path);
	free(p.report_path);
	return status;
}
