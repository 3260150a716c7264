/*
 * The client library of cmlsh, cmltui and cml-provision: the connection
 * to a daemon's socket (connect, reconnect, calls with passed files,
 * replies), the files a command passes, the output of a command run in a
 * container, exit statuses, and the column formatting driven by the
 * interface description.  Each client adds only its way of talking to a
 * person.
 */
#ifndef CML_CLIENT_H
#define CML_CLIENT_H

#include <signal.h>
#include <stdio.h>

#include <json-c/json.h>

#include "cmdtab.h"
#include "proto.h"

/* Exit statuses every client uses. */
#define CLIENT_EXIT_OK 0
#define CLIENT_EXIT_FAILED 1 /* refused, failed or cannot be reached */
#define CLIENT_EXIT_USAGE 2

/* A connection to a daemon. */
struct client {
	const char *socket_path;
	int fd; /* -1 when there is none */
	struct proto_reader rd;
	/* set by the caller's signal handler: a wait it interrupts ends */
	volatile sig_atomic_t *interrupted;
	/* the last call failed to connect, or got no answer in timeout_ms */
	int unreachable;
	/*
	 * > 0: a reply is waited for at most this long (ms), then the call
	 * fails and the connection is closed; 0: as long as it takes.
	 */
	long long timeout_ms;
};

/* Prepares a client for the socket at path; it connects on first use. */
void client_init(struct client *cl, const char *path,
    volatile sig_atomic_t *interrupted);
/* Closes the connection; the next call connects again. */
void client_disconnect(struct client *cl);
/*
 * Sends a call with descriptors to pass (kept open), connecting first if
 * needed; a connection the daemon dropped since the last call is replaced
 * once.  -1 with *cause set.
 */
int client_send(struct client *cl, struct json_object *call, const int *fds,
    size_t nfds, char **cause);
/*
 * Receives one message for the call named what, waiting with mask as the
 * signal mask (NULL: unchanged); descriptors that came with it go to fds
 * (at most PROTO_MAX_FDS; *nfds says how many; NULL: closed).  -1 with
 * *cause set; the connection is closed then.
 */
int client_recv(struct client *cl, const char *what, const sigset_t *mask,
    struct json_object **msg, int *fds, size_t *nfds, char **cause);

/*
 * Opens the files a command's parameters name (CMD_ARG_FILE and
 * CMD_ARG_FILES, given as paths) with this process's rights and replaces
 * each path by what the daemon expects; the descriptors to pass go to
 * fds (*nfds of them; close them after the call).  -1 with *cause set,
 * nothing left open.
 */
int client_open_files(const struct cmd_entry *cmd, struct json_object *params,
    int *fds, size_t *nfds, char **cause);
/* Closes n descriptors (those client_open_files opened, once sent). */
void client_close_fds(const int *fds, size_t n);
/*
 * Returns the "progress" member ({file, done, total}, borrowed) of a
 * reply's parameters that are only progress, else NULL.
 */
struct json_object *client_progress_of(struct json_object *params);
/* What a caller does with the replies of a call (client_call). */
struct client_reply_ops {
	void *arg;
	/*
	 * A reply that is no error and no progress: params (borrowed), the
	 * descriptors it passed (the callback owns them).  Returns 0 to go
	 * on, -1 to end the call (with *cause set, or NULL to say nothing).
	 */
	int (*reply)(void *arg, struct json_object *params, int continues,
	    const int *fds, size_t nfds, char **cause);
	/* A progress reply {"progress": {file, done, total}}; may be NULL. */
	void (*progress)(void *arg, struct json_object *progress);
	/* The error a call was answered with (params borrowed). */
	void (*error)(void *arg, const char *error, struct json_object *params);
};

/*
 * Calls cmd with params (taken over): opens the files it names, sends the
 * call (with "more" if more), and hands every reply to ops until the last.
 * Returns 0 once the last reply came, 1 when the call was answered with an
 * error, -1 with *cause set (NULL when there is nothing to say) when the
 * connection failed, the wait was interrupted or ops->reply ended it; the
 * connection is closed then, since replies may still be under way.
 */
int client_call(struct client *cl, const struct cmd_entry *cmd,
    struct json_object *params, int more, const sigset_t *mask,
    const struct client_reply_ops *ops, char **cause);

/*
 * Adds a streamed reply's parameters to what came before, so that the
 * replies make one document: arrays are concatenated, other members
 * replaced.
 */
void client_json_merge(struct json_object *acc, struct json_object *more);
/*
 * Returns the seconds of session_idle_timeout (after which cmlsh ends an
 * idle session and cmltui locks, CR 2.5, 2.6) in a reply of device config
 * get for it (NULL: cmld did not answer): the setting's default when the
 * reply does not tell, or tells what is no number.
 */
long long client_idle_timeout(struct json_object *reply);
/*
 * Follows the audit trail's notices (CR 3.4(2), CR 2.9(1)) on a second
 * connection cl to path (org.cml.Audit.Follow with "notices"), made
 * non-blocking: wait for cl->fd and call client_notice_read.  -1 (cl->fd
 * -1) when cmld cannot be reached or says no: only the notices are lost.
 */
int client_notice_start(struct client *cl, const char *path);
/*
 * Reads what the notice connection has, without waiting, and hands each
 * notice ({level, seq, time, message}, borrowed) to fn.  Returns -1 when
 * the connection ended (an error, cmld gone or refusing).
 */
int client_notice_read(struct client *cl,
    void (*fn)(void *, struct json_object *), void *arg);
/*
 * Takes a notice apart: its level ("notice" when missing), its record's
 * seq (0) and its message ("").  The strings are n's.
 */
void client_notice_parse(struct json_object *n, const char **level,
    long long *seq, const char **message);

/*
 * Copies what n pipes carry to the matching descriptors until every pipe
 * ended, waiting with mask as the signal mask; closes the pipes.  -1 with
 * *cause set when interrupted or a write failed.
 */
int client_copy_output(const int *src, const int *dst, size_t n,
    const sigset_t *mask, volatile sig_atomic_t *interrupted, char **cause);

/*
 * How a stream of replies has been shown so far, so that a table streamed
 * over several replies gets its header once and keeps its columns aligned.
 */
struct format_state {
	char *columns; /* the last table's column names, "\n"-joined */
	size_t *widths; /* and its column widths, which only grow */
	size_t ncolumns;
};

/* Prepares an empty format state. */
void format_state_init(struct format_state *fs);
/* Releases what a format state holds. */
void format_state_free(struct format_state *fs);
/*
 * Prints a successful reply's parameters for method as a table, as
 * key-value lines or, with json set, as JSON.
 */
void format_reply(FILE *out, struct format_state *fs, const char *method,
    struct json_object *params, int json);
/*
 * Prints an error reply: as JSON on out with json set, else as
 * "cmlsh: MESSAGE" on err.
 */
void format_error(FILE *out, FILE *err, const char *error,
    struct json_object *params, int json);
/* A token's PIN or PUK was not accepted (org.cml.Token). */
#define FORMAT_ERR_VERIFICATION "org.cml.Token.VerificationFailed"
/*
 * Prints a failed verification of command words on container name:
 * "cmlsh: WORDS NAME: verification failed", the tries left on a line of
 * their own, and what a blocked token's state asks for.
 */
void format_verification_failed(FILE *err, const char *words,
    const char *name, struct json_object *params);
/*
 * The errors a client reports of its own (--json: as
 * {"error": NAME, "parameters": {"message": ..., "usage": ...}}).
 */
#define CLIENT_ERR_USAGE "org.cml.Shell.UsageError"
#define CLIENT_ERR_UNREACHABLE "org.cml.Shell.Unreachable"
#define CLIENT_ERR_FAILED "org.cml.Shell.Failed"
/*
 * Prints an error of the client itself: with json set as one JSON object
 * on out, else "cmlsh: usage: USAGE" (when usage is not NULL) and
 * "cmlsh: MESSAGE" on err.
 */
void format_client_error(FILE *out, FILE *err, const char *error,
    const char *usage, const char *message, int json);
/*
 * Returns s with control characters escaped (tabs kept when keep_tab is
 * set), so that text from a daemon cannot reprogram the terminal.
 */
char *format_clean(const char *s, int keep_tab);
/* Returns the display width of a UTF-8 string in terminal columns. */
size_t format_width(const char *s);
/*
 * Prints text wrapped at width columns, from column col where the cursor
 * is, every further line after indent spaces.
 */
void format_wrap(FILE *out, const char *text, size_t col, size_t indent,
    size_t width);

#endif
