/*
 * What the guided flows share (flows.c, flow-audit.c, flow-container.c):
 * a streamed call on a connection of its own that the
 * loop waits on (audit follow, container logs --follow), and a window that
 * shows a call's progress and then its verdict.
 */
#ifndef CMLTUI_FLOW_H
#define CMLTUI_FLOW_H

#include "cmltui.h"

/*
 * A streamed call (with "more") on a second connection, made
 * non-blocking: the view waits for flow_stream_fd and reads with
 * flow_stream_read, so that the screen and the keys go on meanwhile.
 */
struct flow_stream {
	struct client cl; /* cl.fd is -1 when the stream does not run */
};

/* Prepares a stream that does not run. */
void flow_stream_init(struct flow_stream *s);
/*
 * Sends the command words with params (taken over) on a connection of its
 * own, the files they name opened here and passed as descriptors, as
 * client_call passes them.  Returns 0, or -1 with *cause set (nothing runs
 * then).
 */
int flow_stream_start(struct tui *t, struct flow_stream *s, const char *words,
    struct json_object *params, char **cause);
/*
 * Reads what the stream has, without waiting, and hands each reply to fn
 * (error: its name, NULL for a reply; params borrowed).  Returns 0 while
 * the stream goes on; -1 once it ended (the last reply, an error, cmld
 * gone), with *why set when it ended other than by its last reply.
 */
int flow_stream_read(struct flow_stream *s,
    void (*fn)(void *, const char *, struct json_object *), void *arg,
    char **why);
/* The descriptor to wait on; -1 when the stream does not run. */
int flow_stream_fd(struct flow_stream *s);
/* Ends the stream (closes its connection). */
void flow_stream_stop(struct flow_stream *s);

/*
 * Runs the command words with params (taken over; the secrets in it are
 * wiped once it was sent) without a window, collecting the replies.
 * Returns 0 with *reply (the replies merged; put it), 1 with the error's
 * name in *error_name and its parameters in *error_params (NULL allowed),
 * -1 when cmld could not be reached or the call failed; *msg (free it)
 * says what went wrong for 1 and -1.
 */
int flow_run(struct tui *t, const char *words, struct json_object *params,
    struct json_object **reply, char **error_name,
    struct json_object **error_params, char **msg);

/*
 * Asks for the secrets of the command words into params in dialogs, as
 * cmlsh asks on the terminal (a new PIN checked against the policy and
 * asked twice); with demanded, those asked for only when cmld needs them.
 * Returns 0; -1 when cancelled (nothing said) or never agreed on (said).
 */
int flow_secrets(struct tui *t, const char *words, const char *title,
    const char *note, struct json_object *params, int demanded);

/*
 * Returns the provisioning screen's flow for a command of the provision
 * family or device wipe (flow-provision.c), or NULL.
 */
tui_flow_fn flow_provision_for(const struct cmd_entry *cmd);

/* What the audit review does first. */
enum flow_audit_mode {
	FLOW_AUDIT_LIST,
	FLOW_AUDIT_FOLLOW, /* follows the trail live at once */
	FLOW_AUDIT_VERIFY, /* verifies the chain at once */
};

/*
 * Pushes the audit review with the filters of params (audit list's:
 * last, since, until, container, type, result, uid; borrowed, NULL: none).
 */
void flow_audit_push(struct tui *t, struct json_object *params,
    enum flow_audit_mode mode);
/* Pushes container name's details; with console, attaches to it at once. */
void flow_container_push(struct tui *t, const char *name, int console);

/*
 * Returns the update flow for a command of the update family
 * (flow-update.c): info, install and status, or NULL.
 */
tui_flow_fn flow_update_for(const struct cmd_entry *cmd);

/*
 * Returns path made absolute against the working directory, without a
 * trailing '/' (free it): what cmld's messages and the screen name.
 */
char *flow_abs_path(const char *path);

/*
 * Returns the length of the next line of text at *p wrapped at n
 * characters (at a blank where it can, at a newline), moving *p past it.
 */
size_t flow_wrap_next(const char **p, int n);
/*
 * Prints text wrapped at n columns from y, x, at most max_lines; returns
 * the lines used (win NULL: only counts them).
 */
int flow_wrap(struct tui *t, WINDOW *win, int y, int x, int n, int max_lines,
    enum tui_attr a, const char *text);

#endif
