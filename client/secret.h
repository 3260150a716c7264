/*
 * The secrets a command asks for (CMD_ARG_SECRET: PINs and PUKs), as the
 * clients ask for them: on the terminal without echo, a new one twice, or
 * one line each from stdin (--pin-stdin), never from the command line.
 * The command table says which a command asks for and in which order.
 */
#ifndef CML_SECRET_H
#define CML_SECRET_H

#include <stddef.h>

#include <json-c/json.h>

#include "cmdtab.h"

/* How often a new secret is asked again when it is refused or differs. */
#define SECRET_TRIES 3
/* The terminal the secrets are asked on. */
#define SECRET_TTY "/dev/tty"

/*
 * Asks for the secrets of cmd and adds them to params, which
 * cmd_parse_args made (those asked for on demand only when demanded is
 * set, or with --pin-stdin): the shell's own options (--pin-stdin, and those a
 * secret's "unless" names) are taken out of params.  Returns 0; -1 with
 * *cause set when a secret could not be had (stdin ended, the new ones
 * differed SECRET_TRIES times, the input was cancelled); -2 with *cause
 * set for a usage error (no terminal to ask on and no --pin-stdin).
 */
int secret_collect(const struct cmd_entry *cmd, struct json_object *params,
    int demanded, char **cause);
/* How a client that is no terminal's asks for one secret. */
struct secret_asker {
	void *arg;
	/*
	 * Asks for a secret with prompt ("PIN: ", "Repeat new PIN: "); note,
	 * when not NULL, says why it is asked again (the new PINs differed,
	 * the policy refused the last).  Returns 0 with *out (freed with
	 * secret_free), or -1 with *cause set (cancelled).
	 */
	int (*ask)(void *arg, const char *prompt, const char *note,
	    char **out, char **cause);
};
/*
 * As secret_collect, asking through asker (NULL: on the terminal, or
 * from stdin with --pin-stdin, as secret_collect does); a new secret is
 * checked against the PIN policy and asked twice all the same.
 */
int secret_collect_with(const struct cmd_entry *cmd,
    struct json_object *params, int demanded,
    const struct secret_asker *asker, char **cause);
/*
 * Says whether cmd has a secret asked for only when the daemon needs it
 * (CMD_ARG_ON_DEMAND) that params does not hold yet: its call is then sent
 * without it, and when answered PROTO_ERR_SECRET_REQUIRED, secret_collect
 * with demanded set asks for it before the call is sent again.
 */
int secret_pending(const struct cmd_entry *cmd, struct json_object *params);
/*
 * Asks for one secret on the terminal with prompt ("PIN: "), without
 * echo, into *out (free it with secret_free).  Returns 0, or -1 with
 * *cause set.
 */
int secret_ask(const char *prompt, char **out, char **cause);
/* Wipes and frees a secret; NULL does nothing. */
void secret_free(char *s);
/*
 * Wipes the secrets of cmd in params (the json strings themselves) and
 * takes them out, once the call that carried them was sent.
 */
void secret_wipe(const struct cmd_entry *cmd, struct json_object *params);
/*
 * Gives stdin a buffer that is wiped at exit (secrets read with
 * --pin-stdin pass through it); before anything reads stdin.
 */
void secret_stdin_init(void);

#endif
