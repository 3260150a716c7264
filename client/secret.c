/*
 * Asking for PINs and PUKs.  On the terminal the echo is off while one is
 * typed and restored whatever happens (a signal ends the read); a new PIN
 * is checked against the PIN policy before it is asked a second time, so
 * that nobody types a refused PIN twice.  Every copy is wiped once it is
 * in the parameters, and those are wiped once the call went out.
 */
#include "config.h"

#include <sys/prctl.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "pin.h"
#include "secret.h"
#include "xmalloc.h"

void
secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* Writes s to fd, whole; errors go unnoticed (the read reports them). */
static void
secret_write(int fd, const char *s)
{
	size_t off = 0, len = strlen(s);
	ssize_t n;

	while (off < len) {
		if ((n = write(fd, s + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		off += (size_t)n;
	}
}

/*
 * Reads one line from fd into buf (room size, the newline dropped), a
 * byte at a time so that nothing after it is taken.  Returns its length,
 * or -1 with *cause set (the line is too long, the input ended, a
 * signal came).
 */
static ssize_t
secret_read_line(int fd, char *buf, size_t size, char **cause)
{
	size_t len = 0;
	ssize_t n;
	char c;

	for (;;) {
		n = read(fd, &c, 1);
		if (n == -1) {
			*cause = xstrdup(errno == EINTR ? "cancelled" :
			    strerror(errno));
			goto fail;
		}
		if (n == 0) {
			if (len == 0) {
				*cause = xstrdup("the input ended");
				goto fail;
			}
			break;
		}
		if (c == '\n')
			break;
		if (len + 1 >= size) {
			*cause = xasprintf("longer than %d characters",
			    PIN_MAX);
			goto fail;
		}
		buf[len++] = c;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	return (ssize_t)len;
fail:
	explicit_bzero(buf, size);
	return -1;
}

int
secret_ask(const char *prompt, char **out, char **cause)
{
	struct termios saved, quiet;
	char buf[PIN_MAX_BYTES + 2], *why = NULL;
	int fd, echo_off = 0;
	ssize_t n;

	if ((fd = open(SECRET_TTY, O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1) {
		*cause = xasprintf("cannot open %s: %s", SECRET_TTY,
		    strerror(errno));
		return -1;
	}
	if (tcgetattr(fd, &saved) == 0) {
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		if (tcsetattr(fd, TCSAFLUSH, &quiet) == 0)
			echo_off = 1;
	}
	if (!echo_off) {
		/* never typed where it shows */
		close(fd);
		*cause = xasprintf("cannot turn the echo off on %s",
		    SECRET_TTY);
		return -1;
	}
	secret_write(fd, prompt);
	n = secret_read_line(fd, buf, sizeof buf, &why);
	(void)tcsetattr(fd, TCSAFLUSH, &saved);
	secret_write(fd, "\n");
	close(fd);
	if (n == -1) {
		*cause = why;
		return -1;
	}
	*out = xstrdup(buf);
	explicit_bzero(buf, sizeof buf);
	return 0;
}

/* Reads one secret, a line of stdin; what names it in errors. */
static int
secret_stdin(const char *what, char **out, char **cause)
{
	char buf[PIN_MAX_BYTES + 2];

	/* stdio may hold the lines already (cmlsh reads its commands so) */
	if (fgets(buf, sizeof buf, stdin) == NULL) {
		*cause = xasprintf("--%s: stdin ended before the %s",
		    CMD_SECRET_STDIN, what);
		return -1;
	}
	if (strchr(buf, '\n') == NULL && !feof(stdin)) {
		explicit_bzero(buf, sizeof buf);
		*cause = xasprintf("--%s: the %s is longer than %d characters",
		    CMD_SECRET_STDIN, what, PIN_MAX);
		/* the rest of the line is no command */
		while ((fgets(buf, sizeof buf, stdin)) != NULL &&
		    strchr(buf, '\n') == NULL)
			;
		explicit_bzero(buf, sizeof buf);
		return -1;
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	*out = xstrdup(buf);
	explicit_bzero(buf, sizeof buf);
	return 0;
}

/* Says what kind of new secret an argument is, for the PIN policy. */
static enum pin_kind
secret_kind(const struct cmd_arg *a)
{
	return strcmp(a->metavar, "PUK") == 0 ? PIN_KIND_PUK : PIN_KIND_PIN;
}

/*
 * Asks for a secret on the terminal: note (why it is asked again) first,
 * on a line of its own.
 */
static int
secret_tty_ask(void *arg, const char *prompt, const char *note, char **out,
    char **cause)
{
	int tty;

	(void)arg;
	if (note != NULL && (tty = open(SECRET_TTY, O_WRONLY | O_CLOEXEC)) !=
	    -1) {
		secret_write(tty, note);
		secret_write(tty, "\n");
		close(tty);
	}
	return secret_ask(prompt, out, cause);
}

/*
 * Asks for a new secret: until it passes the policy and is typed the same
 * twice, SECRET_TRIES times at most; each try again says why.
 */
static int
secret_ask_new(const struct cmd_arg *a, const struct secret_asker *asker,
    char **out, char **cause)
{
	char *first = NULL, *again = NULL, *prompt, *repeat, *why = NULL;
	int tries, rc = -1;

	prompt = xasprintf("New %s: ", a->metavar);
	repeat = xasprintf("Repeat new %s: ", a->metavar);
	for (tries = 0; tries < SECRET_TRIES; tries++) {
		if (asker->ask(asker->arg, prompt, why, &first, cause) == -1)
			goto out;
		free(why);
		why = NULL;
		if (pin_policy_check(first, secret_kind(a), &why) == -1) {
			secret_free(first);
			first = NULL;
			if (tries + 1 == SECRET_TRIES) {
				*cause = why;
				why = NULL;
				goto out;
			}
			continue;
		}
		if (asker->ask(asker->arg, repeat, NULL, &again, cause) == -1)
			goto out;
		if (strcmp(first, again) == 0) {
			*out = first;
			first = NULL;
			rc = 0;
			goto out;
		}
		why = xstrdup("They differ: again.");
		secret_free(first);
		secret_free(again);
		first = again = NULL;
	}
	*cause = xasprintf("the new %ss typed differed %d times: nothing "
	    "was done", a->metavar, SECRET_TRIES);
out:
	secret_free(first);
	secret_free(again);
	free(why);
	free(prompt);
	free(repeat);
	return rc;
}

/* Says whether the boolean member key of params is there and true. */
static int
secret_flag(struct json_object *params, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(params, key, &v) &&
	    json_object_get_boolean(v);
}

/*
 * Says whether secret a is asked for now: one the daemon may not need
 * (CMD_ARG_ON_DEMAND) only once it said so (demanded), or with
 * --pin-stdin, which reads every secret at once.
 */
static int
secret_wanted(const struct cmd_arg *a, struct json_object *params,
    int from_stdin, int demanded)
{
	if (a->type != CMD_ARG_SECRET)
		return 0;
	if (a->unless != NULL && secret_flag(params, a->unless))
		return 0;
	if ((a->flags & CMD_ARG_ON_DEMAND) && !from_stdin && !demanded)
		return 0;
	/* asked for once only */
	return !json_object_object_get_ex(params, a->name, NULL);
}

int
secret_pending(const struct cmd_entry *cmd, struct json_object *params)
{
	const struct cmd_arg *a;

	for (a = cmd->args; a->name != NULL; a++)
		if (a->type == CMD_ARG_SECRET &&
		    (a->flags & CMD_ARG_ON_DEMAND) &&
		    !json_object_object_get_ex(params, a->name, NULL))
			return 1;
	return 0;
}

int
secret_collect(const struct cmd_entry *cmd, struct json_object *params,
    int demanded, char **cause)
{
	return secret_collect_with(cmd, params, demanded, NULL, cause);
}

int
secret_collect_with(const struct cmd_entry *cmd, struct json_object *params,
    int demanded, const struct secret_asker *asker, char **cause)
{
	static const struct secret_asker tty = { .ask = secret_tty_ask };
	const struct cmd_arg *a;
	char *s = NULL, *prompt;
	int from_stdin, rc, fd, wanted = 0;

	from_stdin = asker == NULL && secret_flag(params, CMD_SECRET_STDIN);
	for (a = cmd->args; a->name != NULL; a++)
		if (secret_wanted(a, params, from_stdin, demanded))
			wanted++;
	/* from now on no core dump, and no ptrace by the same user, has them */
	if (wanted > 0)
		(void)prctl(PR_SET_DUMPABLE, 0);
	/* without a controlling terminal its open fails (ENXIO) */
	if (asker == NULL && !from_stdin && wanted > 0) {
		if ((fd = open(SECRET_TTY, O_RDWR | O_NOCTTY | O_CLOEXEC)) ==
		    -1) {
			*cause = xasprintf("'%s' asks for a PIN, and there is "
			    "no terminal to ask on: give it on stdin with --%s",
			    cmd->words, CMD_SECRET_STDIN);
			return -2;
		}
		close(fd);
	}
	if (asker == NULL)
		asker = &tty;
	for (a = cmd->args; a->name != NULL; a++) {
		if (!secret_wanted(a, params, from_stdin, demanded))
			continue;
		if (from_stdin) {
			rc = secret_stdin(a->metavar, &s, cause);
			if (rc == 0 && (a->flags & CMD_ARG_NEW) &&
			    pin_policy_check(s, secret_kind(a), cause) == -1)
				rc = -1;
		} else if (a->flags & CMD_ARG_NEW)
			rc = secret_ask_new(a, asker, &s, cause);
		else {
			prompt = xasprintf("%s: ", a->metavar);
			rc = asker->ask(asker->arg, prompt, NULL, &s, cause);
			free(prompt);
		}
		if (rc == -1) {
			secret_free(s);
			return -1;
		}
		json_object_object_add(params, a->name,
		    json_object_new_string(s));
		secret_free(s);
		s = NULL;
	}
	/* the shell's own options are no parameters */
	for (a = cmd->args; a->name != NULL; a++)
		if (a->flags & CMD_ARG_LOCAL)
			json_object_object_del(params, a->name);
	return 0;
}

void
secret_wipe(const struct cmd_entry *cmd, struct json_object *params)
{
	const struct cmd_arg *a;

	cmd_wipe_secrets(cmd, params);
	for (a = cmd->args; a->name != NULL; a++)
		if (a->type == CMD_ARG_SECRET)
			json_object_object_del(params, a->name);
}

/* stdin's buffer: secrets read with --pin-stdin pass through it. */
static char secret_stdin_buf[BUFSIZ];

static void
secret_stdin_wipe(void)
{
	explicit_bzero(secret_stdin_buf, sizeof secret_stdin_buf);
}

void
secret_stdin_init(void)
{
	if (setvbuf(stdin, secret_stdin_buf, _IOFBF,
	    sizeof secret_stdin_buf) == 0)
		atexit(secret_stdin_wipe);
}
