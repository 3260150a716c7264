/*
 * Notices in an interactive cmlsh (CR 3.4(2), CR 2.9(1)): a second
 * connection to cmld follows the audit trail's notices (org.cml.Audit.
 * Follow with "notices"), and while the operator sits at the prompt each
 * notice is printed above it at once: a threshold of the trail crossed,
 * the trail full, an integrity violation.  cmlsh_getc waits for this
 * connection as well as for a key.  A cmld that refuses or is not there
 * only costs the notices; the shell works as before.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline/readline.h>

#include "client.h"
#include "cmlsh.h"
#include "xmalloc.h"

/* Starts following the notices; quietly nothing when cmld says no. */
void
cmlsh_notice_start(struct cmlsh *sh)
{
	struct json_object *call, *params;
	char *cause = NULL;
	int fl;

	client_init(&sh->notice, sh->socket_path, NULL);
	call = json_object_new_object();
	params = json_object_new_object();
	json_object_object_add(params, "notices",
	    json_object_new_boolean(1));
	json_object_object_add(call, "method",
	    json_object_new_string("org.cml.Audit.Follow"));
	json_object_object_add(call, "parameters", params);
	json_object_object_add(call, "more", json_object_new_boolean(1));
	if (client_send(&sh->notice, call, NULL, 0, &cause) == -1) {
		free(cause);
		client_disconnect(&sh->notice);
	} else if ((fl = fcntl(sh->notice.fd, F_GETFL)) == -1 ||
	    fcntl(sh->notice.fd, F_SETFL, fl | O_NONBLOCK) == -1)
		client_disconnect(&sh->notice);
	json_object_put(call);
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
cmlsh_notice_print(struct json_object *n)
{
	struct json_object *v;
	const char *level = "notice", *msg = "";
	char *clean;
	long long seq = 0;

	if (json_object_object_get_ex(n, "level", &v) &&
	    json_object_is_type(v, json_type_string))
		level = json_object_get_string(v);
	if (json_object_object_get_ex(n, "message", &v) &&
	    json_object_is_type(v, json_type_string))
		msg = json_object_get_string(v);
	if (json_object_object_get_ex(n, "seq", &v))
		seq = json_object_get_int64(v);
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
	struct json_object *msg, *params, *n;
	char *cause = NULL;
	ssize_t got;
	int rc;

	got = proto_reader_fill(&sh->notice.rd, sh->notice.fd);
	if (got == 0 || (got == -1 && errno != EAGAIN && errno != EINTR)) {
		client_disconnect(&sh->notice);
		return;
	}
	while ((rc = proto_reader_next(&sh->notice.rd, &msg, &cause)) == 1) {
		if (json_object_object_get_ex(msg, "error", NULL)) {
			/* refused (an older cmld): no notices, no noise */
			json_object_put(msg);
			client_disconnect(&sh->notice);
			return;
		}
		if (json_object_object_get_ex(msg, "parameters", &params) &&
		    json_object_object_get_ex(params, "notice", &n) &&
		    json_object_is_type(n, json_type_object))
			cmlsh_notice_print(n);
		json_object_put(msg);
	}
	if (rc == -1) {
		free(cause);
		client_disconnect(&sh->notice);
	}
}
