/*
 * Notices in an interactive cmlsh (CR 3.4(2), CR 2.9(1)): a second
 * connection to cmld follows the audit trail's notices (client_notice_start),
 * and while the operator sits at the prompt each notice is printed above it
 * at once: a threshold of the trail crossed, the trail full, an integrity
 * violation.  cmlsh_getc waits for this connection as well as for a key.  A
 * cmld that refuses or is not there only costs the notices; the shell works
 * as before.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <readline/readline.h>

#include "client.h"
#include "cmlsh.h"

/* Starts following the notices; quietly nothing when cmld says no. */
void
cmlsh_notice_start(struct cmlsh *sh)
{
	client_notice_start(&sh->notice, sh->socket_path);
}

/* Stops following. */
void
cmlsh_notice_stop(struct cmlsh *sh)
{
	client_disconnect(&sh->notice);
}

/* The descriptor to wait on for notices; -1 when there is none. */
int
cmlsh_notice_fd(struct cmlsh *sh)
{
	return sh->notice.fd;
}

/* Prints a notice above the prompt and the line being edited. */
static void
cmlsh_notice_print(void *arg, struct json_object *n)
{
	const char *level, *msg;
	char *clean;
	long long seq;

	(void)arg;
	client_notice_parse(n, &level, &seq, &msg);
	clean = format_clean(msg, 0);
	/* clear the prompt's line, print, and draw prompt and line again */
	fprintf(rl_outstream, "\r\033[K*** audit %s (record #%lld): %s\n",
	    level, seq, clean);
	free(clean);
	fflush(rl_outstream);
	rl_on_new_line();
	rl_redisplay();
}

/*
 * Reads what the notice connection has, without waiting, and prints each
 * notice; the connection ends on an error or when cmld closes it.
 */
void
cmlsh_notice_read(struct cmlsh *sh)
{
	client_notice_read(&sh->notice, cmlsh_notice_print, NULL);
}
