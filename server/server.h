/*
 * The server side every cml daemon shares: the listening socket, one
 * connection per client with framing and back-pressure, identity and role
 * from SO_PEERCRED, connection limits and idle timeouts, one policy hook
 * before every handler, handlers joined to the command table by id, and
 * call/reply/defer/stream.  cmld, scd and tpm2d each instantiate it with
 * their own table and keep only their own state.
 */
#ifndef CML_SERVER_H
#define CML_SERVER_H

#include <sys/types.h>

#include <json-c/json.h>

#include "cmdtab.h"
#include "loop.h"
#include "proto.h"

enum srv_role {
	SRV_ROLE_NONE,
	SRV_ROLE_OPERATOR,
	SRV_ROLE_ADMIN,
};

struct srv;
struct srv_client;

/* A call being handled; handlers answer through call_reply/call_error. */
struct call {
	struct srv *srv;
	void *ctx; /* the daemon's context (srv_config.ctx) */
	struct srv_client *client; /* NULL for oneway calls and gone clients */
	uid_t uid; /* the caller, for the audit record */
	pid_t pid;
	char comm[16]; /* its command name, as it connected ("": gone) */
	enum srv_role role;
	const struct cmd_entry *cmd;
	struct json_object *params;
	int fds[PROTO_MAX_FDS]; /* passed with the call; -1 once taken */
	size_t nfds;
	int more;
	int deferred; /* answered later, from a job */
	int replied; /* a final reply or error was produced */
	int ended; /* the stream was ended by an error the server sent */
	const char *error; /* the error name answered, if any */
	char *details; /* what the audit record says about the call */
	unsigned long long suppressed; /* like refusals not audited before */
	/* Called once when the client's queue drained, or the client left. */
	void (*on_drain)(struct call *call);
	void *drain_arg;
};

typedef void (*call_handler)(struct call *call);

/* What a daemon plugs into the server. */
struct srv_config {
	const char *name; /* "cmld": what clients are told they reach */
	const char *sock_path;
	/* Group given the socket (mode 0660) and the operator role; NULL:
	 * root only (mode 0600). */
	const char *operator_group;
	const char *admin_group; /* members are admins; NULL: root only */
	const struct cmd_entry *table; /* the commands served */
	size_t table_len;
	const call_handler *handlers; /* indexed by enum cmd_id */
	size_t nhandlers;
	void *ctx;
	/*
	 * Checks a call's policy once its parameters are valid; returns 0 to
	 * run the handler, or answers the call (call_error) and returns -1.
	 * NULL: only the role check of srv_check_role.
	 */
	int (*policy)(struct call *call);
	/* Called once per finished call, refused or not (the audit). */
	void (*done)(struct call *call, int refused);
	/*
	 * Called before replies are written to a client (NULL: none): what
	 * the calls recorded is made durable before their answers leave.
	 */
	void (*barrier)(void *ctx);
	/* Called for events of a connection (refused, malformed, idle). */
	void (*session)(void *ctx, uid_t uid, pid_t pid, const char *object,
	    const char *error, const char *msg);
};

/* Connection limits; any 0 keeps the default. */
struct srv_limits {
	long long max_clients; /* all connections (default 64) */
	long long admin_reserve; /* of those, kept for admins (max/8, >= 1) */
	long long per_uid; /* connections of one non-root uid (max/4) */
	long long idle_ms; /* close connections idle this long (300 s) */
};

/* Listens on config->sock_path (config is kept); exits on failure. */
struct srv *srv_new(struct loop *loop, const struct srv_config *config);
/*
 * Closes every client (what is queued is written if the socket takes
 * it); deferred calls go on without their client and their producers are
 * told (on_drain), so that a job waiting for a client can end.  At
 * shutdown: close the clients, cancel the jobs, then srv_free.
 */
void srv_close_clients(struct srv *srv);
/*
 * Closes every client and the socket, removes it; NULL does nothing.
 * Calls still open must not be answered after it.
 */
void srv_free(struct srv *srv);
/* Sets the connection limits; they apply to new connections. */
void srv_set_limits(struct srv *srv, const struct srv_limits *limits);
/* Returns the number of connections. */
size_t srv_nclients(const struct srv *srv);
/* Returns the handler for cmd, or NULL (a unit test keeps it from being). */
call_handler srv_handler(const struct srv_config *config,
    const struct cmd_entry *cmd);
/* Returns what a role is called: "admin", "operator" or "none". */
const char *srv_role_name(enum srv_role role);

/*
 * The role check every daemon applies: admin-only commands and state
 * changes not marked CMD_OPERATOR need the admin role.  Returns 0, or
 * answers the call and returns -1.
 */
int srv_check_role(struct call *call);

/* Answers a call with params (taken over); the call is done. */
void call_reply(struct call *call, struct json_object *params);
/*
 * Sends one of several replies of a "more" call (params taken over).
 * Returns 0, or -1 when the stream is over (the client left, or the
 * reply could not be sent and the stream was ended with an error): the
 * producer stops and answers the call, which then sends nothing more.
 */
int call_reply_more(struct call *call, struct json_object *params);
/*
 * As call_reply_more, passing descriptors along (taken over: closed once
 * sent, or at once if they cannot be).
 */
int call_reply_more_fds(struct call *call, struct json_object *params,
    const int *fds, size_t nfds);
/* Answers a call with an error and a message; the call is done. */
void call_error(struct call *call, const char *error, const char *param,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/*
 * As call_error, for an error with members besides its message: those of
 * params (taken over) are added ("tries_left": 2).
 */
void call_error_params(struct call *call, const char *error,
    struct json_object *params, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/*
 * Keeps the call open after its handler returns; a job answers it later
 * with call_reply/call_error, which then audit and free it.  The client's
 * further calls wait until then.
 */
void call_defer(struct call *call);
/* Sets the details the audit record of this call carries. */
void call_set_details(struct call *call, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * Says whether a streamed reply should wait: 1 while the client's queue
 * is full.  The producer then sets call->on_drain and stops producing.
 */
int call_congested(const struct call *call);
/*
 * Takes the descriptor that member ("fd", "signature") of file parameter
 * param names: returns it (the caller closes it), or -1 when absent or
 * taken.  Indexes were checked before the handler ran.
 */
int call_take_fd(struct call *call, const char *param, const char *member);
/* Takes descriptor number i of the call, or -1 (already taken, none). */
int call_take_fd_at(struct call *call, long long i);

/*
 * Where a client's queue counts as full: no more of its calls are read
 * (SRV_OUT_HIGH), a stream stops producing (SRV_STREAM_HIGH), and where
 * a stream produces again (SRV_STREAM_LOW).
 */
#define SRV_OUT_HIGH (4 * PROTO_MAX_MSG)
#define SRV_STREAM_HIGH (256 * 1024)
#define SRV_STREAM_LOW (64 * 1024)

#endif
