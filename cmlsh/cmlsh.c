/*
 * cmlsh: the operator's shell for cmld.  Interactive with readline when
 * stdin is a terminal, else one command per line from stdin; -c runs one
 * command.  Parsing, completion and help come from the command table.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "cmdtab.h"
#include "cmlsh.h"
#include "complete.h"
#include "exec.h"
#include "help.h"
#include "secret.h"
#include "words.h"
#include "xmalloc.h"

#define CMLSH_HELP_WIDTH 78
#define CMLSH_HELP_GAP 3
/* A longer synopsis gets its summary on a line of its own in lists. */
#define CMLSH_HELP_SYNOPSIS_MAX 40

/* The last signal caught while interactive (SIGINT, SIGHUP, SIGTERM). */
static volatile sig_atomic_t cmlsh_signal;
/* One command from -c: stdin is free for it (container exec). */
static int cmlsh_stdin_free;
/*
 * The shell, for readline's callbacks, which take no argument of ours;
 * set once in main.
 */
static struct cmlsh *cmlsh_rl;

/* The shell's own commands, listed by help after the table's. */
static const struct {
	const char *synopsis;
	const char *summary;
	const char *help;
} cmlsh_builtins[] = {
	{ "help [COMMAND...]", "list commands, or explain one",
	    "Without arguments, lists every command by family. With a "
	    "command, shows its arguments and what it does; with a family "
	    "(the first word of its commands), lists that family." },
	{ "quit", "leave the shell (also: exit, Ctrl-D)",
	    "Closes the connection to cmld and leaves the shell." },
};

/*
 * Reports an error of the shell itself: "cmlsh: ..." on stderr, or with
 * --json one error object on stdout; usage (may be NULL) is the synopsis.
 */
static void __attribute__((format(printf, 4, 5)))
cmlsh_fail(struct cmlsh *sh, const char *error, const char *usage,
    const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	format_client_error(sh->out, sh->err, error, usage,
	    msg != NULL ? msg : "out of memory", sh->json);
	free(msg);
}

static int cmlsh_help_text(struct cmlsh *, int, char *const *);

/* Returns how many of argv's first words spell the start of words. */
static int
cmlsh_common_words(const char *words, int argc, char *const *argv)
{
	const char *w = words;
	size_t len;
	int n = 0;

	while (*w != '\0' && n < argc) {
		len = strcspn(w, " ");
		if (strlen(argv[n]) != len || strncmp(argv[n], w, len) != 0)
			break;
		n++;
		w += len;
		while (*w == ' ')
			w++;
	}
	return n;
}

/* Returns word i of words (a new string), or NULL if there is none. */
static char *
cmlsh_word_at(const char *words, int i)
{
	const char *w = words;
	size_t len;
	char *s;

	for (;;) {
		while (*w == ' ')
			w++;
		if (*w == '\0')
			return NULL;
		len = strcspn(w, " ");
		if (i-- == 0)
			break;
		w += len;
	}
	s = xmalloc(len + 1);
	memcpy(s, w, len);
	s[len] = '\0';
	return s;
}

/* Prints one "  SYNOPSIS   SUMMARY" line of a command list. */
static void
cmlsh_help_line(struct cmlsh *sh, const char *synopsis, const char *summary,
    size_t width)
{
	if (format_width(synopsis) > width) {
		fprintf(sh->out, "  %s\n%*s%s\n", synopsis,
		    (int)(width + 2 + CMLSH_HELP_GAP), "", summary);
		return;
	}
	fprintf(sh->out, "  %s%*s%s\n", synopsis,
	    (int)(width - format_width(synopsis) + CMLSH_HELP_GAP), "",
	    summary);
}

/*
 * Lists the commands whose words start with argv (all of them when argc
 * is 0), grouped by family in the order of cmd_families, then the shell's
 * own commands when all are listed.  Returns how many were listed.
 */
static size_t
cmlsh_help_list(struct cmlsh *sh, int argc, char *const *argv)
{
	char **syn;
	size_t i, j, k, width = 0, listed = 0;
	int *shown, groups = 0, heading;

	syn = xcalloc(cmd_table_len, sizeof *syn);
	shown = xcalloc(cmd_table_len, sizeof *shown);
	for (i = 0; i < cmd_table_len; i++) {
		if (cmlsh_common_words(cmd_table[i].words, argc, argv) != argc)
			continue;
		syn[i] = cmd_synopsis(&cmd_table[i]);
		if (format_width(syn[i]) > width &&
		    format_width(syn[i]) <= CMLSH_HELP_SYNOPSIS_MAX)
			width = format_width(syn[i]);
	}
	if (argc == 0) {
		for (i = 0; i < sizeof cmlsh_builtins / sizeof cmlsh_builtins[0];
		    i++)
			if (format_width(cmlsh_builtins[i].synopsis) > width)
				width = format_width(cmlsh_builtins[i].synopsis);
	}

	/*
	 * Families in their table order; a command whose family is missing
	 * from cmd_families still shows, under its family's name.
	 */
	for (k = 0; k < cmd_families_len + cmd_table_len; k++) {
		const char *name, *summary = NULL;

		if (k < cmd_families_len) {
			name = cmd_families[k].name;
			summary = cmd_families[k].summary;
		} else {
			i = k - cmd_families_len;
			if (syn[i] == NULL || shown[i] ||
			    cmd_find_family(cmd_table[i].family) != NULL)
				continue;
			name = cmd_table[i].family;
		}
		heading = 0;
		for (j = 0; j < cmd_table_len; j++) {
			if (syn[j] == NULL || shown[j] ||
			    strcmp(cmd_table[j].family, name) != 0)
				continue;
			if (!heading) {
				if (groups++ > 0)
					fputc('\n', sh->out);
				if (summary != NULL)
					fprintf(sh->out, "%s - %s\n", name,
					    summary);
				else
					fprintf(sh->out, "%s\n", name);
				heading = 1;
			}
			cmlsh_help_line(sh, syn[j], cmd_table[j].summary, width);
			shown[j] = 1;
			listed++;
		}
	}
	if (argc == 0) {
		if (groups > 0)
			fputc('\n', sh->out);
		fprintf(sh->out, "shell - commands of cmlsh itself\n");
		for (i = 0; i < sizeof cmlsh_builtins / sizeof cmlsh_builtins[0];
		    i++)
			cmlsh_help_line(sh, cmlsh_builtins[i].synopsis,
			    cmlsh_builtins[i].summary, width);
		fprintf(sh->out, "\nType 'help COMMAND' for a command's "
		    "arguments, 'help FAMILY' for one family.\n");
	}
	for (i = 0; i < cmd_table_len; i++)
		free(syn[i]);
	free(syn);
	free(shown);
	return listed;
}

/* Returns one command of the table as help's --json shows it. */
static struct json_object *
cmlsh_help_json_command(const struct cmd_entry *cmd, int full)
{
	const struct cmd_arg *a;
	struct json_object *o, *args, *ao;
	char *s;

	o = json_object_new_object();
	json_object_object_add(o, "command", json_object_new_string(cmd->words));
	json_object_object_add(o, "family", json_object_new_string(cmd->family));
	s = cmd_synopsis(cmd);
	json_object_object_add(o, "synopsis", json_object_new_string(s));
	free(s);
	json_object_object_add(o, "summary", json_object_new_string(cmd->summary));
	if (!full)
		return o;
	json_object_object_add(o, "help", json_object_new_string(cmd->help));
	json_object_object_add(o, "method", json_object_new_string(cmd->method));
	args = json_object_new_array();
	for (a = cmd->args; a->name != NULL; a++) {
		ao = json_object_new_object();
		json_object_object_add(ao, "name", json_object_new_string(a->name));
		s = cmd_arg_label(a);
		json_object_object_add(ao, "label", json_object_new_string(s));
		free(s);
		json_object_object_add(ao, "optional", json_object_new_boolean(
		    (a->flags & CMD_ARG_OPTIONAL) != 0));
		json_object_object_add(ao, "help", json_object_new_string(a->help));
		json_object_array_add(args, ao);
	}
	json_object_object_add(o, "arguments", args);
	s = cmd_flag_notes(cmd->flags);
	json_object_object_add(o, "policy", json_object_new_string(s));
	free(s);
	return o;
}

/*
 * help with --json: {"commands": [...]} for a list (the shell's own
 * commands with an empty method), or one command's object.  Returns 1
 * when nothing matched.
 */
static int
cmlsh_help_json(struct cmlsh *sh, int argc, char *const *argv)
{
	const struct cmd_entry *cmd;
	struct json_object *o, *list, *b;
	char *joined;
	size_t i;

	joined = words_join(argc, argv);
	if (argc > 0 && (cmd = cmd_find_words(joined)) != NULL) {
		o = cmlsh_help_json_command(cmd, 1);
		goto print;
	}
	list = json_object_new_array();
	for (i = 0; i < cmd_table_len; i++)
		if (cmlsh_common_words(cmd_table[i].words, argc, argv) == argc)
			json_object_array_add(list,
			    cmlsh_help_json_command(&cmd_table[i], 0));
	for (i = 0; i < sizeof cmlsh_builtins / sizeof cmlsh_builtins[0];
	    i++) {
		char *name = cmlsh_word_at(cmlsh_builtins[i].synopsis, 0);

		if (argc == 0 || (argc == 1 && (strcmp(name, argv[0]) == 0 ||
		    (strcmp(name, "quit") == 0 &&
		    strcmp(argv[0], "exit") == 0)))) {
			b = json_object_new_object();
			json_object_object_add(b, "command",
			    json_object_new_string(name));
			json_object_object_add(b, "family",
			    json_object_new_string("shell"));
			json_object_object_add(b, "synopsis",
			    json_object_new_string(cmlsh_builtins[i].synopsis));
			json_object_object_add(b, "summary",
			    json_object_new_string(cmlsh_builtins[i].summary));
			json_object_object_add(b, "help",
			    json_object_new_string(cmlsh_builtins[i].help));
			json_object_array_add(list, b);
		}
		free(name);
	}
	if (json_object_array_length(list) == 0 && !(argc == 1 &&
	    cmd_find_family(argv[0]) != NULL)) {
		json_object_put(list);
		free(joined);
		return 1;
	}
	o = json_object_new_object();
	json_object_object_add(o, "commands", list);
print:
	fprintf(sh->out, "%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	free(joined);
	return 0;
}

/* Returns the height of the terminal on stdout (24 when it does not say). */
static int
cmlsh_rows(void)
{
	struct winsize ws;
	const char *lines = getenv("LINES");

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
		return ws.ws_row;
	if (lines != NULL && atoi(lines) > 0)
		return atoi(lines);
	return 24;
}

/*
 * Shows text: through $PAGER (else "less -FRX") when it is longer than
 * the terminal on stdout; directly when it fits, PAGER is empty or the
 * pager cannot be started.
 */
static void
cmlsh_page(struct cmlsh *sh, const char *text, size_t len)
{
	const char *pager = getenv("PAGER");
	size_t i, lines = 0;
	FILE *p;

	for (i = 0; i < len; i++)
		if (text[i] == '\n')
			lines++;
	if (pager == NULL)
		pager = "less -FRX";
	if (*pager != '\0' && lines >= (size_t)cmlsh_rows()) {
		fflush(sh->out);
		if ((p = popen(pager, "w")) != NULL) {
			fwrite(text, 1, len, p);
			if (pclose(p) != -1)
				return;
		}
	}
	fwrite(text, 1, len, sh->out);
}

/*
 * The help builtin: "help", "help COMMAND...", "help FAMILY"; paged when
 * stdout is a terminal and the text longer than it.
 */
static int
cmlsh_help(struct cmlsh *sh, int argc, char *const *argv)
{
	FILE *out = sh->out, *mem;
	char *text = NULL;
	size_t len = 0;
	int status;

	if (sh->json || !isatty(fileno(out)) ||
	    (mem = open_memstream(&text, &len)) == NULL)
		return cmlsh_help_text(sh, argc, argv);
	sh->out = mem;
	status = cmlsh_help_text(sh, argc, argv);
	sh->out = out;
	if (fclose(mem) == 0)
		cmlsh_page(sh, text, len);
	free(text);
	return status;
}

/* Writes help's text to sh->out. */
static int
cmlsh_help_text(struct cmlsh *sh, int argc, char *const *argv)
{
	const struct cmd_entry *cmd;
	size_t i;
	char *joined;
	int status = CMLSH_EXIT_OK;

	if (sh->json && cmlsh_help_json(sh, argc, argv) == 0)
		return CMLSH_EXIT_OK;
	if (argc == 0) {
		cmlsh_help_list(sh, 0, NULL);
		return CMLSH_EXIT_OK;
	}
	joined = words_join(argc, argv);
	if ((cmd = cmd_find_words(joined)) != NULL) {
		help_command(sh->out, cmd, CMLSH_HELP_WIDTH);
		goto out;
	}
	for (i = 0; argc == 1 &&
	    i < sizeof cmlsh_builtins / sizeof cmlsh_builtins[0]; i++) {
		char *name = cmlsh_word_at(cmlsh_builtins[i].synopsis, 0);
		int found = strcmp(name, argv[0]) == 0 ||
		    (strcmp(name, "quit") == 0 && strcmp(argv[0], "exit") == 0);

		free(name);
		if (found) {
			fprintf(sh->out, "usage: %s\n%s\n\n",
			    cmlsh_builtins[i].synopsis,
			    cmlsh_builtins[i].summary);
			format_wrap(sh->out, cmlsh_builtins[i].help, 0, 0,
			    CMLSH_HELP_WIDTH);
			goto out;
		}
	}
	if (cmlsh_help_list(sh, argc, argv) == 0) {
		if (argc == 1 && cmd_find_family(argv[0]) != NULL)
			fprintf(sh->out, "%s - %s\n", argv[0],
			    cmd_find_family(argv[0])->summary);
		else {
			cmlsh_fail(sh, CLIENT_ERR_USAGE, NULL, "no help for "
			    "'%s': type 'help' for a list", joined);
			status = CMLSH_EXIT_USAGE;
		}
	}
out:
	free(joined);
	return status;
}

/*
 * Writes out what is buffered; -1 if stdout is gone (a closed pipe says
 * nothing, any other failure says why).
 */
static int
cmlsh_flush(struct cmlsh *sh)
{
	if (fflush(sh->out) == 0 && !ferror(sh->out))
		return 0;
	if (errno != EPIPE)
		fprintf(sh->err, "cmlsh: cannot write the output: %s\n",
		    strerror(errno));
	return -1;
}

/* How one call's replies are being shown. */
struct cmlsh_call {
	struct cmlsh *sh;
	const struct cmd_entry *cmd;
	const sigset_t *mask;
	struct format_state fs;
	struct json_object *acc; /* --json: the replies merged */
	struct json_object *params; /* the call's, until its secrets are wiped */
	/* answered PROTO_ERR_SECRET_REQUIRED: not shown, asked for instead */
	int may_demand, demanded;
	int progress; /* a progress line is on the terminal */
	int exit_status; /* of a command run in a container, or -1 */
};

/* Erases a progress line before anything else is shown. */
static void
cmlsh_progress_clear(struct cmlsh_call *c)
{
	if (c->progress) {
		fputs("\r\033[K", c->sh->err);
		c->progress = 0;
	}
}

/*
 * Shows progress ({file, done, total}) as one line that rewrites itself,
 * when errors go to a terminal and not with --json.
 */
static void
cmlsh_progress(void *arg, struct json_object *p)
{
	struct cmlsh_call *c = arg;
	struct cmlsh *sh = c->sh;
	struct json_object *file, *done, *total;
	long long d, t;

	if (!isatty(fileno(sh->err)) || sh->json)
		return;
	if (!json_object_object_get_ex(p, "done", &done) ||
	    !json_object_object_get_ex(p, "total", &total))
		return;
	d = json_object_get_int64(done);
	t = json_object_get_int64(total);
	file = json_object_object_get(p, "file");
	fprintf(sh->err, "\r\033[K%s: %3lld%% (%.1f of %.1f MiB)",
	    file != NULL ? json_object_get_string(file) : "",
	    t > 0 ? d * 100 / t : 0, (double)d / (1024 * 1024),
	    (double)t / (1024 * 1024));
	fflush(sh->err);
	c->progress = 1;
}

/* Shows the error a call was answered with. */
static void
cmlsh_error(void *arg, const char *error, struct json_object *params)
{
	struct cmlsh_call *c = arg;

	cmlsh_progress_clear(c);
	if (c->may_demand && strcmp(error, PROTO_ERR_SECRET_REQUIRED) == 0) {
		c->demanded = 1;
		return;
	}
	if (!c->sh->json && strcmp(error, FORMAT_ERR_VERIFICATION) == 0)
		format_verification_failed(c->sh->err, c->cmd->words,
		    json_object_get_string(json_object_object_get(c->params,
		    "name")), params);
	else
		format_error(c->sh->out, c->sh->err, error, params,
		    c->sh->json);
	cmlsh_flush(c->sh);
}

/*
 * Takes the output of a command run in a container: the first reply of a
 * streamed exec passes the read ends of its pipes ({"stdout": 0,
 * "stderr": 1}), copied here byte for byte; the last carries
 * "exit_status".  Returns 1 if params was such a reply, 0 if not, -1 if
 * copying failed (*cause set, or NULL for a closed stdout).
 */
static int
cmlsh_output(struct cmlsh_call *c, struct json_object *params,
    const int *fds, size_t nfds, char **cause)
{
	struct cmlsh *sh = c->sh;

	if (sh->json)
		return 0;
	fflush(sh->out);
	fflush(sh->err);
	return exec_output(params, fds, nfds, &c->exit_status, cause);
}

/* Shows one reply: a table, key-value lines, output, or --json. */
static int
cmlsh_reply(void *arg, struct json_object *params, int continues,
    const int *fds, size_t nfds, char **cause)
{
	struct cmlsh_call *c = arg;
	struct cmlsh *sh = c->sh;
	struct json_object *es;
	size_t i;
	int rc;

	cmlsh_progress_clear(c);
	rc = cmlsh_output(c, params, fds, nfds, cause);
	if (rc != 0)
		return rc == 1 ? 0 : -1;
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	if (sh->json && c->acc == NULL)
		c->acc = json_object_get(params);
	else if (sh->json)
		client_json_merge(c->acc, params);
	if (!sh->json)
		format_reply(sh->out, &c->fs, c->cmd->method, params, 0);
	else if (!continues) {
		format_reply(sh->out, &c->fs, c->cmd->method, c->acc, 1);
		/* a command's exit status is cmlsh's, with --json too */
		if (json_object_object_get_ex(c->acc, "exit_status", &es) &&
		    json_object_is_type(es, json_type_int))
			c->exit_status = json_object_get_int(es);
	}
	/* nobody reads the rest: stop a stream */
	return cmlsh_flush(sh) == -1 ? -1 : 0;
}

/*
 * Calls cmd's method with params (taken over) and shows every reply;
 * returns the exit status.  With demanded, an answer that a secret is
 * required is not shown but sets *demanded.
 */
static int
cmlsh_call_once(struct cmlsh *sh, const struct cmd_entry *cmd,
    struct json_object *params, int *demanded)
{
	struct cmlsh_call c = { .sh = sh, .cmd = cmd, .exit_status = -1,
	    .may_demand = demanded != NULL };
	const struct client_reply_ops ops = { .arg = &c,
	    .reply = cmlsh_reply, .progress = cmlsh_progress,
	    .error = cmlsh_error };
	sigset_t block, saved;
	char *cause = NULL;
	int status = CMLSH_EXIT_FAILED, rc;
	/*
	 * A command run in a container streams its output through pipes;
	 * with --json its output comes whole in the reply instead.
	 */
	int more = (cmd->flags & CMD_STREAMS) && !(sh->json &&
	    cmd->id == CMD_ID_CONTAINER_EXEC);

	format_state_init(&c.fs);
	c.params = json_object_get(params);
	if (!sh->json)
		exec_prepare(cmd, params, cmlsh_stdin_free);
	if (sh->interactive) {
		/* Signals are taken only while waiting, so none is lost. */
		sigemptyset(&block);
		sigaddset(&block, SIGINT);
		sigaddset(&block, SIGHUP);
		sigaddset(&block, SIGTERM);
		sigprocmask(SIG_BLOCK, &block, &saved);
		c.mask = &saved;
	}
	rc = client_call(&sh->cl, cmd, params, more, c.mask, &ops, &cause);
	/* the PINs it sent are no longer needed here */
	secret_wipe(cmd, c.params);
	if (rc == 0)
		status = c.exit_status > 0 ? c.exit_status : CMLSH_EXIT_OK;
	cmlsh_progress_clear(&c);
	if (cause != NULL) {
		/* after the ^C the terminal echoed */
		if (cmlsh_signal != 0)
			fputc('\n', sh->err);
		cmlsh_fail(sh, sh->cl.unreachable ? CLIENT_ERR_UNREACHABLE :
		    CLIENT_ERR_FAILED, NULL, "%s", cause);
	}
	if (c.mask != NULL)
		sigprocmask(SIG_SETMASK, &saved, NULL);
	free(cause);
	json_object_put(c.acc);
	json_object_put(c.params);
	format_state_free(&c.fs);
	if (demanded != NULL)
		*demanded = c.demanded;
	return status;
}

/*
 * Asks for the secrets of cmd into params (demanded: those asked for on
 * demand too).  Returns -1 when they are there; else the exit status,
 * said why, params freed.
 */
static int
cmlsh_secrets(struct cmlsh *sh, const struct cmd_entry *cmd,
    struct json_object *params, int demanded)
{
	char *cause = NULL, *syn;
	int rc;

	if ((rc = secret_collect(cmd, params, demanded, &cause)) == 0)
		return -1;
	syn = cmd_synopsis(cmd);
	cmlsh_fail(sh, rc == -2 ? CLIENT_ERR_USAGE : CLIENT_ERR_FAILED,
	    rc == -2 ? syn : NULL, "%s: %s", cmd->words, cause);
	free(syn);
	free(cause);
	secret_wipe(cmd, params);
	json_object_put(params);
	return rc == -2 ? CMLSH_EXIT_USAGE : CMLSH_EXIT_FAILED;
}

/*
 * Calls cmd's method with params (taken over): a call whose secret is
 * asked for on demand (the PIN of a container start) goes without it
 * first, and again with it when the daemon says it needs it.
 */
static int
cmlsh_call(struct cmlsh *sh, const struct cmd_entry *cmd,
    struct json_object *params)
{
	int demanded = 0, status, rc;

	if (!secret_pending(cmd, params))
		return cmlsh_call_once(sh, cmd, params, NULL);
	json_object_get(params);
	status = cmlsh_call_once(sh, cmd, params, &demanded);
	if (!demanded) {
		json_object_put(params);
		return status;
	}
	if ((rc = cmlsh_secrets(sh, cmd, params, 1)) != -1)
		return rc;
	return cmlsh_call_once(sh, cmd, params, NULL);
}

/* Asks on the terminal whether to run a destructive command; 1 for yes. */
static int
cmlsh_confirm(struct cmlsh *sh, int argc, char *const *argv)
{
	struct pollfd pfd;
	char answer[16], c, *words;
	size_t n = 0;
	ssize_t r;

	words = words_join(argc, argv);
	fprintf(sh->err, "Really %s? [y/N] ", words);
	fflush(sh->err);
	free(words);
	/* Byte by byte, so no buffered input is taken from readline. */
	for (;;) {
		if (sh->interactive && sh->idle_timeout > 0) {
			/* an unanswered question ends an idle session too */
			pfd.fd = STDIN_FILENO;
			pfd.events = POLLIN;
			pfd.revents = 0;
			r = poll(&pfd, 1, (int)(sh->idle_timeout * 1000));
			if (r == -1 && errno == EINTR && cmlsh_signal == 0)
				continue;
			if (r == 0) {
				sh->idle_ended = 1;
				sh->quit = 1;
				fputc('\n', sh->err);
				return 0;
			}
		}
		r = read(STDIN_FILENO, &c, 1);
		if (r == -1 && errno == EINTR && cmlsh_signal == 0)
			continue;
		if (r != 1) {
			fputc('\n', sh->err);
			return 0;
		}
		if (c == '\n')
			break;
		if (n < sizeof answer - 1)
			answer[n++] = c;
	}
	while (n > 0 && words_blank((unsigned char)answer[n - 1]))
		n--;
	answer[n] = '\0';
	return strcasecmp(answer, "y") == 0 || strcasecmp(answer, "yes") == 0;
}

/*
 * Returns the edit distance of a and b (insertions, deletions,
 * substitutions and swaps of neighbours), at most CMLSH_WORD_MAX + 1.
 */
#define CMLSH_WORD_MAX 32
static size_t
cmlsh_distance(const char *a, const char *b)
{
	size_t d[CMLSH_WORD_MAX + 1][CMLSH_WORD_MAX + 1];
	size_t la = strlen(a), lb = strlen(b), i, j, v;

	if (la > CMLSH_WORD_MAX || lb > CMLSH_WORD_MAX)
		return CMLSH_WORD_MAX + 1;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

/*
 * Returns the command word that typed most likely misspells, among those
 * that may follow the k words of argv before it (the shell's own at the
 * start); NULL when none is close (one edit for short words, two else).
 */
static char *
cmlsh_did_you_mean(int k, char *const *argv, const char *typed)
{
	static const char *const own[] = { "help", "quit", "exit", NULL };
	const char *const *o;
	char *best = NULL, *w;
	size_t i, d, bestd, max = strlen(typed) <= 4 ? 1 : 2;

	bestd = max + 1;
	for (i = 0; i < cmd_table_len; i++) {
		if (cmlsh_common_words(cmd_table[i].words, k, argv) != k ||
		    (w = cmlsh_word_at(cmd_table[i].words, k)) == NULL)
			continue;
		if ((d = cmlsh_distance(typed, w)) < bestd) {
			free(best);
			best = w;
			bestd = d;
		} else
			free(w);
	}
	for (o = own; k == 0 && *o != NULL; o++) {
		if ((d = cmlsh_distance(typed, *o)) < bestd) {
			free(best);
			best = xstrdup(*o);
			bestd = d;
		}
	}
	return best;
}

/* Says which command was not found, what was meant, and where to look. */
static void
cmlsh_unknown(struct cmlsh *sh, int argc, char *const *argv)
{
	char *known, *typed, *mean, *meant;
	size_t i;
	int n, k = 0;

	for (i = 0; i < cmd_table_len; i++) {
		n = cmlsh_common_words(cmd_table[i].words, argc, argv);
		if (n > k)
			k = n;
	}
	mean = k < argc ? cmlsh_did_you_mean(k, argv, argv[k]) : NULL;
	if (k == 0) {
		if (mean != NULL)
			cmlsh_fail(sh, CLIENT_ERR_USAGE, NULL, "unknown command "
			    "'%s': did you mean '%s'? type 'help' for a list",
			    argv[0], mean);
		else
			cmlsh_fail(sh, CLIENT_ERR_USAGE, NULL, "unknown command "
			    "'%s': type 'help' for a list", argv[0]);
		free(mean);
		return;
	}
	known = words_join(k, argv);
	typed = words_join(k < argc ? k + 1 : k, argv);
	if (k == argc)
		cmlsh_fail(sh, CLIENT_ERR_USAGE, NULL, "incomplete command "
		    "'%s': type 'help %s' for a list", typed, known);
	else if (mean != NULL) {
		meant = xasprintf("%s %s", known, mean);
		cmlsh_fail(sh, CLIENT_ERR_USAGE, NULL, "unknown command '%s': "
		    "did you mean '%s'? type 'help %s' for a list", typed,
		    meant, known);
		free(meant);
	} else
		cmlsh_fail(sh, CLIENT_ERR_USAGE, NULL, "unknown command '%s': "
		    "type 'help %s' for a list", typed, known);
	free(mean);
	free(typed);
	free(known);
}

/* Runs one command given as words; returns its exit status. */
static int
cmlsh_run_words(struct cmlsh *sh, int argc, char *const *argv)
{
	const struct cmd_entry *cmd;
	struct json_object *params = NULL;
	char *cause = NULL, *syn;
	int consumed, rc;

	if (argc == 0)
		return CMLSH_EXIT_OK;
	if (strcmp(argv[0], "help") == 0)
		return cmlsh_help(sh, argc - 1, argv + 1);
	if (strcmp(argv[0], "quit") == 0 || strcmp(argv[0], "exit") == 0) {
		if (argc > 1) {
			cmlsh_fail(sh, CLIENT_ERR_USAGE, argv[0], "too many "
			    "arguments (unexpected '%s')", argv[1]);
			return CMLSH_EXIT_USAGE;
		}
		sh->quit = 1;
		return CMLSH_EXIT_OK;
	}
	if ((cmd = cmd_match(argc, argv, &consumed)) == NULL || consumed == 0) {
		cmlsh_unknown(sh, argc, argv);
		return CMLSH_EXIT_USAGE;
	}
	if (cmd_parse_args(cmd, argc - consumed, argv + consumed, &params,
	    &cause) == -1) {
		syn = cmd_synopsis(cmd);
		cmlsh_fail(sh, CLIENT_ERR_USAGE, syn, "%s", cause);
		free(syn);
		free(cause);
		return CMLSH_EXIT_USAGE;
	}
	if ((cmd->flags & CMD_DESTRUCTIVE) && !sh->yes) {
		if (!sh->tty) {
			cmlsh_fail(sh, CLIENT_ERR_USAGE, NULL, "'%s' asks for "
			    "confirmation, and there is no terminal to ask on: "
			    "add --yes to run it anyway", cmd->words);
			json_object_put(params);
			return CMLSH_EXIT_USAGE;
		}
		if (!cmlsh_confirm(sh, argc, argv)) {
			cmlsh_fail(sh, CLIENT_ERR_FAILED, NULL, "'%s' not "
			    "confirmed: nothing was done", cmd->words);
			json_object_put(params);
			return CMLSH_EXIT_FAILED;
		}
	}
	if (cmd_secret_count(cmd) > 0 &&
	    (rc = cmlsh_secrets(sh, cmd, params, 0)) != -1)
		return rc;
	return cmlsh_call(sh, cmd, params);
}

/* Returns 1 if a line holds nothing to run: blank, or a # comment. */
static int
cmlsh_empty_line(const char *line)
{
	while (words_blank((unsigned char)*line))
		line++;
	return *line == '\0' || *line == '#';
}

/* Splits a command line and runs it; returns its exit status. */
static int
cmlsh_run_line(struct cmlsh *sh, const char *line)
{
	struct words w;
	char *cause = NULL;
	int status;

	if (cmlsh_empty_line(line))
		return CMLSH_EXIT_OK;
	if (words_split(line, 0, &w, &cause) == -1) {
		cmlsh_fail(sh, CLIENT_ERR_USAGE, NULL, "%s", cause);
		free(cause);
		return CMLSH_EXIT_USAGE;
	}
	status = cmlsh_run_words(sh, w.argc, w.argv);
	words_free(&w);
	return status;
}

/* Completion candidates being collected. */
struct cmlsh_matches {
	char **v;
	size_t n;
};

/* Adds word if it starts with text and is not there yet (takes word). */
static void
cmlsh_match_add(struct cmlsh_matches *m, const char *text, char *word)
{
	size_t i;

	if (strncmp(word, text, strlen(text)) != 0)
		goto drop;
	for (i = 0; i < m->n; i++)
		if (strcmp(m->v[i], word) == 0)
			goto drop;
	m->v = xreallocarray(m->v, m->n + 1, sizeof *m->v);
	m->v[m->n++] = word;
	return;
drop:
	free(word);
}

/* Adds the next command word after argv for every command argv begins. */
static void
cmlsh_complete_commands(struct cmlsh_matches *m, int argc, char *const *argv,
    const char *text)
{
	size_t i;
	char *w;

	for (i = 0; i < cmd_table_len; i++) {
		if (cmlsh_common_words(cmd_table[i].words, argc, argv) != argc)
			continue;
		if ((w = cmlsh_word_at(cmd_table[i].words, argc)) != NULL)
			cmlsh_match_add(m, text, w);
	}
}

/*
 * Adds what an argument of kind complete can be; prev is the positional
 * argument before it (NULL if none): the setting of a value, the guest
 * OS of a version.  Returns 1 when file names are wanted, which readline
 * completes itself.
 */
static int
cmlsh_complete_kind(struct cmlsh_matches *m, enum cmd_complete complete,
    const char *prev, const char *text)
{
	struct cmlsh *sh = cmlsh_rl;
	struct words values;
	int i;

	if (complete == CMD_COMPLETE_FILE)
		return 1;
	complete_values(&sh->cl, &sh->cache, complete, prev, text, &values);
	/* the words are the matches' now */
	for (i = 0; i < values.argc; i++)
		cmlsh_match_add(m, text, values.argv[i]);
	free(values.argv);
	return 0;
}

/*
 * Adds the completions of the argument being typed after argv, the
 * arguments given so far; follows cmd_parse_args' rules.  Returns 1 when
 * file names are wanted.
 */
static int
cmlsh_complete_args(struct cmlsh_matches *m, const struct cmd_entry *cmd,
    int argc, char *const *argv, const char *text)
{
	const struct cmd_arg *a, *pos = cmd->args;
	const char *prev = NULL;
	int i, dashdash = 0, rest = 0;

	for (i = 0; i < argc; i++) {
		if (!dashdash && strcmp(argv[i], "--") == 0) {
			dashdash = 1;
			continue;
		}
		if (!dashdash && !rest && strncmp(argv[i], "--", 2) == 0) {
			for (a = cmd->args; a->name != NULL; a++)
				if ((a->flags & CMD_ARG_OPTION) &&
				    strcmp(a->name, argv[i] + 2) == 0)
					break;
			if (a->name != NULL && a->type != CMD_ARG_BOOL &&
			    ++i == argc)
				return cmlsh_complete_kind(m, a->complete,
				    NULL, text);
			continue;
		}
		while (pos->name != NULL && !cmd_arg_positional(pos))
			pos++;
		if (pos->name == NULL)
			return 0;
		prev = argv[i];
		if (pos->type == CMD_ARG_STRINGS)
			rest = 1;
		else
			pos++;
	}
	if (!dashdash && !rest && *text == '-') {
		for (a = cmd->args; a->name != NULL; a++)
			if (a->flags & CMD_ARG_OPTION)
				cmlsh_match_add(m, text,
				    xasprintf("--%s", CMD_ARG_OPTION_NAME(a)));
		return 0;
	}
	while (pos->name != NULL && !cmd_arg_positional(pos))
		pos++;
	if (pos->name == NULL)
		return 0;
	return cmlsh_complete_kind(m, pos->complete, prev, text);
}

/*
 * readline's completion: command words from the table, then arguments by
 * their kind, and --options.  The words before the one being completed
 * are re-split from the line.
 */
static char **
cmlsh_complete(const char *text, int start, int end)
{
	const struct cmd_entry *cmd;
	struct cmlsh_matches m = { NULL, 0 };
	struct words w;
	char **argv, **res = NULL, *prefix;
	size_t i, lcd;
	int argc, consumed, files = 0;

	(void)end;
	rl_attempted_completion_over = 1;
	prefix = xmalloc((size_t)start + 1);
	memcpy(prefix, rl_line_buffer, (size_t)start);
	prefix[start] = '\0';
	words_split(prefix, 1, &w, NULL);
	free(prefix);
	argv = w.argv;
	argc = w.argc;

	if (argc > 0 && strcmp(argv[0], "help") == 0) {
		/* help's arguments are command words */
		argv++;
		argc--;
		if (argc == 0) {
			for (i = 0; i < cmd_families_len; i++)
				cmlsh_match_add(&m, text,
				    xstrdup(cmd_families[i].name));
			cmlsh_match_add(&m, text, xstrdup("help"));
			cmlsh_match_add(&m, text, xstrdup("quit"));
		}
		cmlsh_complete_commands(&m, argc, argv, text);
	} else {
		if (argc == 0) {
			cmlsh_match_add(&m, text, xstrdup("help"));
			cmlsh_match_add(&m, text, xstrdup("quit"));
			cmlsh_match_add(&m, text, xstrdup("exit"));
		}
		cmlsh_complete_commands(&m, argc, argv, text);
		if (argc > 0 && (cmd = cmd_match(argc, argv,
		    &consumed)) != NULL && consumed > 0)
			files = cmlsh_complete_args(&m, cmd, argc - consumed,
			    argv + consumed, text);
	}
	words_free(&w);

	if (files && m.n == 0) {
		/* readline's own file name completion */
		rl_attempted_completion_over = 0;
		return NULL;
	}
	if (m.n == 0)
		return NULL;
	res = xcalloc(m.n + 2, sizeof *res);
	if (m.n == 1) {
		res[0] = m.v[0];
	} else {
		/* res[0] is what replaces text: the longest common prefix */
		lcd = strlen(m.v[0]);
		for (i = 1; i < m.n; i++) {
			size_t k = 0;

			while (k < lcd && m.v[i][k] == m.v[0][k])
				k++;
			lcd = k;
		}
		res[0] = xmalloc(lcd + 1);
		memcpy(res[0], m.v[0], lcd);
		res[0][lcd] = '\0';
		memcpy(res + 1, m.v, m.n * sizeof *res);
	}
	free(m.v);
	return res;
}

static void
cmlsh_on_signal(int sig)
{
	cmlsh_signal = sig;
}

/*
 * readline's input: waits for a key itself so that a signal ends the
 * wait.  Ctrl-C abandons the line being edited, a hangup ends the input.
 */
static int
cmlsh_getc(FILE *in)
{
	struct cmlsh *sh = cmlsh_rl;
	struct pollfd pfd[2];
	struct timespec ts;
	long long now, deadline = 0;
	int rc, wait = -1;

	if (sh->idle_timeout > 0) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		deadline = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
		    sh->idle_timeout * 1000;
	}
	for (;;) {
		if (cmlsh_signal == SIGINT) {
			rl_replace_line("", 0);
			return '\n';
		}
		if (cmlsh_signal != 0)
			return EOF;
		pfd[0].fd = fileno(in);
		pfd[0].events = POLLIN;
		pfd[0].revents = 0;
		/* and the audit trail's notices, printed above the prompt */
		pfd[1].fd = cmlsh_notice_fd(sh);
		pfd[1].events = POLLIN;
		pfd[1].revents = 0;
		if (deadline > 0) {
			/* idle since the last key: the session ends (CR 2.6) */
			clock_gettime(CLOCK_MONOTONIC, &ts);
			now = (long long)ts.tv_sec * 1000 +
			    ts.tv_nsec / 1000000;
			if (now >= deadline) {
				/* what was typed is dropped, not run */
				sh->idle_ended = 1;
				rl_replace_line("", 0);
				return EOF;
			}
			wait = (int)(deadline - now);
		}
		if ((rc = poll(pfd, pfd[1].fd >= 0 ? 2 : 1, wait)) == -1) {
			if (errno != EINTR)
				return EOF;
			/* readline resets the terminal, then calls ours */
			rl_check_signals();
			continue;
		}
		if (rc == 0)
			continue;
		/* a notice is no key: the idle deadline stands */
		if (pfd[1].fd >= 0 && pfd[1].revents != 0)
			cmlsh_notice_read(sh);
		if (pfd[0].revents == 0)
			continue;
		return rl_getc(in);
	}
}

/* Loads ~/.cmlsh_history; without HOME there is no history. */
static void
cmlsh_history_load(struct cmlsh *sh)
{
	const char *home = getenv("HOME");
	int rc;

	using_history();
	stifle_history(CMLSH_HISTORY_MAX);
	if (home == NULL || *home == '\0')
		return;
	sh->history_path = xasprintf("%s/%s", home, CMLSH_HISTORY_FILE);
	if ((rc = read_history(sh->history_path)) != 0 && rc != ENOENT)
		fprintf(sh->err, "cmlsh: cannot read the history from %s: %s\n",
		    sh->history_path, strerror(rc));
}

/* Appends this session's lines to the history file, keeping it short. */
static void
cmlsh_history_save(struct cmlsh *sh)
{
	int rc, n;

	if (sh->history_path == NULL || sh->history_added == 0)
		return;
	n = sh->history_added < history_length ? sh->history_added :
	    history_length;
	if (access(sh->history_path, F_OK) == 0)
		rc = append_history(n, sh->history_path);
	else
		rc = write_history(sh->history_path);
	if (rc != 0) {
		fprintf(sh->err, "cmlsh: cannot save the history to %s: %s\n",
		    sh->history_path, strerror(rc));
		return;
	}
	history_truncate_file(sh->history_path, CMLSH_HISTORY_MAX);
}

/* Adds a line to the history unless it repeats the last one. */
static void
cmlsh_history_add(struct cmlsh *sh, const char *line)
{
	HIST_ENTRY *last;
	size_t len = strlen(line);
	char *copy;

	/* without the blank a completion leaves at the end */
	while (len > 0 && words_blank((unsigned char)line[len - 1]))
		len--;
	copy = xmalloc(len + 1);
	memcpy(copy, line, len);
	copy[len] = '\0';
	if (history_length == 0 || (last = history_get(history_base +
	    history_length - 1)) == NULL || strcmp(last->line, copy) != 0) {
		add_history(copy);
		sh->history_added++;
	}
	free(copy);
}

/*
 * Reads session_idle_timeout from cmld into sh->idle_timeout; the
 * setting's default when cmld does not tell.
 */
static void
cmlsh_idle_timeout(struct cmlsh *sh)
{
	struct json_object *acc = NULL, *params;

	params = json_object_new_object();
	json_object_object_add(params, "key",
	    json_object_new_string("session_idle_timeout"));
	if (complete_query(&sh->cl, "device config get", params, &acc) != 0)
		acc = NULL;
	sh->idle_timeout = client_idle_timeout(acc);
	json_object_put(acc);
}

/* The interactive loop; returns the last command's exit status. */
static int
cmlsh_interactive(struct cmlsh *sh)
{
	struct sigaction sa;
	char *line, *one, *next;
	int status = CMLSH_EXIT_OK;

	sh->interactive = 1;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = cmlsh_on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: a signal ends a wait */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	rl_readline_name = "cmlsh";
	rl_attempted_completion_function = cmlsh_complete;
	rl_basic_word_break_characters = " \t\n";
	rl_completer_quote_characters = "'\"";
	rl_filename_quote_characters = " \t\n'\"\\";
	rl_getc_function = cmlsh_getc;
	if (!isatty(STDOUT_FILENO))
		rl_outstream = stderr; /* the prompt belongs on the terminal */
	cmlsh_history_load(sh);
	cmlsh_idle_timeout(sh);
	cmlsh_notice_start(sh);

	while (!sh->quit) {
		line = readline(CMLSH_PROMPT);
		if (cmlsh_signal == SIGINT) {
			cmlsh_signal = 0;
			free(line);
			continue;
		}
		if (line == NULL) {
			if (cmlsh_signal == 0)
				fputc('\n', rl_outstream);
			break;
		}
		/* A pasted block arrives as one line: run it line by line. */
		for (one = line; one != NULL && !sh->quit &&
		    cmlsh_signal == 0; one = next) {
			if ((next = strchr(one, '\n')) != NULL)
				*next++ = '\0';
			if (cmlsh_empty_line(one))
				continue;
			cmlsh_history_add(sh, one);
			status = cmlsh_run_line(sh, one);
			/*
			 * Before the next prompt, also for the shell's own
			 * commands and a stdout that is a pipe.
			 */
			cmlsh_flush(sh);
		}
		free(line);
		if (cmlsh_signal == SIGINT)
			cmlsh_signal = 0;
		else if (cmlsh_signal != 0)
			break;
	}
	cmlsh_notice_stop(sh);
	cmlsh_history_save(sh);
	if (sh->idle_ended) {
		/* cmld records the end (CR 2.6); the session ends anyway */
		if (client_session_report(&sh->cl, "idle-ended", NULL,
		    sh->idle_timeout) != 0)
			fprintf(sh->err, "cmlsh: cmld did not record the "
			    "session's end\n");
		fprintf(sh->err, "cmlsh: session ended after %lld s idle "
		    "(session_idle_timeout)\n", sh->idle_timeout);
	}
	if (cmlsh_signal == SIGHUP || cmlsh_signal == SIGTERM ||
	    sh->idle_ended)
		status = CMLSH_EXIT_FAILED;
	return status;
}

/* Runs stdin's lines until one fails; returns that one's exit status. */
static int
cmlsh_batch(struct cmlsh *sh)
{
	char *line = NULL;
	size_t size = 0;
	ssize_t len;
	int status = CMLSH_EXIT_OK;

	while (!sh->quit && (len = getline(&line, &size, stdin)) != -1) {
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r'))
			line[--len] = '\0';
		if (cmlsh_empty_line(line))
			continue;
		status = cmlsh_run_line(sh, line);
		cmlsh_flush(sh); /* in order with the errors on stderr */
		if (status != CMLSH_EXIT_OK)
			break;
	}
	if (status == CMLSH_EXIT_OK && ferror(stdin)) {
		fprintf(sh->err, "cmlsh: cannot read commands from stdin: %s\n",
		    strerror(errno));
		status = CMLSH_EXIT_FAILED;
	}
	free(line);
	return status;
}

static void
cmlsh_usage(FILE *f)
{
	fprintf(f, "cmlsh: usage: cmlsh [--json] [--socket PATH] [--yes] "
	    "[-c COMMAND | COMMAND [ARG...]]\n");
}

/*
 * Reports a usage error in the options; in JSON when --json is among
 * them, even after the bad one.  Returns the exit status.
 */
static int __attribute__((format(printf, 4, 5)))
cmlsh_bad_options(struct cmlsh *sh, int argc, char **argv, const char *fmt,
    ...)
{
	va_list ap;
	char *msg;
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--json") == 0)
			sh->json = 1;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	if (sh->json)
		format_client_error(sh->out, sh->err, CLIENT_ERR_USAGE,
		    "cmlsh [--json] [--socket PATH] [--yes] "
		    "[-c COMMAND | COMMAND [ARG...]]",
		    msg != NULL ? msg : "out of memory", 1);
	else {
		fprintf(sh->err, "cmlsh: %s\n", msg != NULL ? msg :
		    "out of memory");
		cmlsh_usage(sh->err);
	}
	free(msg);
	return CMLSH_EXIT_USAGE;
}

static void
cmlsh_long_help(void)
{
	printf("usage: cmlsh [OPTIONS] [-c COMMAND | COMMAND [ARG...]]\n"
	    "\n"
	    "The shell of cml: runs commands on cmld, interactively when "
	    "stdin is a\n"
	    "terminal, else one per line from stdin, stopping at the first "
	    "that fails.\n"
	    "\n"
	    "  -c COMMAND      run COMMAND (one line, quoted as in a shell) "
	    "and exit\n"
	    "  --json          print replies as JSON\n"
	    "  --socket PATH   cmld's control socket (default: $CML_SOCKET, "
	    "else\n"
	    "                  %s)\n"
	    "  -y, --yes       run commands that ask for confirmation without "
	    "asking\n"
	    "  --version       print the version and exit\n"
	    "  -h, --help      print this help and exit\n"
	    "\n"
	    "Exit status: 0 success, 1 cmld refused or failed (or cannot be "
	    "reached),\n"
	    "2 usage error.  Type 'cmlsh -c help' for the commands.\n",
	    CMLSH_DEFAULT_SOCKET);
}

/* Runs one command, a session or stdin's commands; returns the status. */
int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "yes", no_argument, NULL, 'y' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cmlsh sh;
	const char *command = NULL, *env;
	int ch, status;

	setlocale(LC_ALL, "");
	signal(SIGPIPE, SIG_IGN);
	secret_stdin_init();

	memset(&sh, 0, sizeof sh);
	sh.out = stdout;
	sh.err = stderr;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:c:hy", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			command = optarg;
			break;
		case 'j':
			sh.json = 1;
			break;
		case 's':
			sh.socket_path = optarg;
			break;
		case 'y':
			sh.yes = 1;
			break;
		case 'V':
			printf("cmlsh %s\n", PACKAGE_VERSION);
			return CMLSH_EXIT_OK;
		case 'h':
			cmlsh_long_help();
			return CMLSH_EXIT_OK;
		case ':':
			return cmlsh_bad_options(&sh, argc, argv, "option '%s' "
			    "needs a value", argv[optind - 1]);
		default:
			if (optopt != 0)
				return cmlsh_bad_options(&sh, argc, argv,
				    "unknown option '-%c'", optopt);
			return cmlsh_bad_options(&sh, argc, argv,
			    "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (command != NULL && optind < argc)
		return cmlsh_bad_options(&sh, argc, argv, "give the command "
		    "either with -c or after the options, not both");
	if (sh.socket_path == NULL) {
		env = getenv("CML_SOCKET");
		sh.socket_path = env != NULL && *env != '\0' ? env :
		    CMLSH_DEFAULT_SOCKET;
	}
	client_init(&sh.cl, sh.socket_path, &cmlsh_signal);
	sh.cache.max_age = CMLSH_CACHE_SECONDS;
	client_init(&sh.notice, sh.socket_path, NULL);
	cmlsh_rl = &sh;
	sh.tty = isatty(STDIN_FILENO);

	cmlsh_stdin_free = command != NULL;
	if (command != NULL)
		status = cmlsh_run_line(&sh, command);
	else if (optind < argc)
		status = cmlsh_run_words(&sh, argc - optind, argv + optind);
	else if (sh.tty)
		status = cmlsh_interactive(&sh);
	else
		status = cmlsh_batch(&sh);

	if (fflush(stdout) != 0 && status == CMLSH_EXIT_OK) {
		if (errno != EPIPE)
			fprintf(stderr, "cmlsh: cannot write the output: %s\n",
			    strerror(errno));
		status = CMLSH_EXIT_FAILED;
	}
	client_disconnect(&sh.cl);
	complete_cache_clear(&sh.cache);
	free(sh.history_path);
	return status;
}
