/*
 * cmld: the container management daemon.  One context, passed explicitly;
 * a single-threaded epoll loop.
 */
#ifndef CMLD_H
#define CMLD_H

#include <sys/queue.h>
#include <sys/types.h>

#include <time.h>

#include <json-c/json.h>

#include "cmdtab.h"
#include "log.h"
#include "proto.h"

struct store;
struct ctr;

enum cmld_role {
	CMLD_ROLE_NONE,
	CMLD_ROLE_OPERATOR,
	CMLD_ROLE_ADMIN,
};

/* What an epoll event is about: the first member of what is watched. */
enum ev_kind {
	EV_CLIENT = 1,
	EV_CONTAINER, /* a container's init ended */
	EV_TIMER, /* a container's stop timeout */
	EV_EXEC_OUT, /* output of a command run in a container */
	EV_EXEC_ERR,
	EV_EXEC_PID, /* that command ended */
};

struct ev_tag {
	enum ev_kind kind;
};

/* One control connection. */
struct client {
	struct ev_tag tag; /* first: EV_CLIENT */
	int fd;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	enum cmld_role role;
	int closing; /* close once the queued replies are written */
	unsigned int events; /* epoll interest registered */
	struct call *pending; /* a deferred call still running */
	struct proto_reader rd;
	struct proto_writer wr;
	TAILQ_ENTRY(client) entry;
};
TAILQ_HEAD(client_list, client);

/* Work that runs in steps between events (hashing, copying images). */
struct job {
	/* Runs one step; returns 1 when the job is done (and freed). */
	int (*step)(struct job *job);
	/* Stops the job at shutdown: answers its call and frees it. */
	void (*cancel)(struct job *job);
	TAILQ_ENTRY(job) entry;
};
TAILQ_HEAD(job_list, job);

/* The daemon's context. */
struct cmld {
	char *run_dir;
	char *ctr_dir; /* run_dir/containers: the containers' mount points */
	char *state_dir;
	const char *cgroup_parent; /* of containers' cgroups (--cgroup-parent) */
	char *conf_dir;
	char *sock_path;
	char *pid_path;
	struct store *store;
	int epfd;
	int sigfd;
	int lfd;
	int quit;
	struct timespec started; /* CLOCK_MONOTONIC */
	char *uuid;
	char *prov_state;
	struct client_list clients;
	struct job_list jobs;
	TAILQ_HEAD(, ctr) ctrs; /* the containers, c0 first */
	struct crypto_trust *trust; /* the anchors in the store */
	size_t nclients;
	char *device_name; /* settings, as applied (cmld is their only writer) */
	long long max_clients;
	int audit_read_calls;
	long long stop_timeout; /* seconds from SIGTERM to SIGKILL */
	char *c0_guestos; /* "" : no c0 */
	char *require_signed_configs; /* "auto", "true" or "false" */
	int log_level_pinned; /* --log-level given: the setting does not apply */
};

/* A call being handled; handlers answer through call_reply/call_error. */
struct call {
	struct cmld *cmld;
	struct client *client; /* NULL for oneway calls and gone clients */
	uid_t uid; /* the caller, for the audit record */
	pid_t pid;
	const struct cmd_entry *cmd;
	struct json_object *params;
	int more;
	int deferred; /* answered later, from a job */
	int replied; /* a final reply or error was produced */
	const char *error; /* the error name answered, if any */
	char *details; /* what the audit record says about the call */
};


typedef void (*call_handler)(struct call *call);

/* Method names and their handlers, one table for all of cmld. */
struct method_handler {
	const char *method;
	call_handler fn;
};
extern const struct method_handler method_handlers[];
extern const size_t method_handlers_len;

/* Answers a call with params (taken over); the call is done. */
void call_reply(struct call *call, struct json_object *params);
/* Sends one of several replies of a "more" call (params taken over). */
void call_reply_more(struct call *call, struct json_object *params);
/* Answers a call with an error and a message; the call is done. */
void call_error(struct call *call, const char *error, const char *param,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/*
 * Keeps the call open after its handler returns; a job answers it later
 * with call_reply/call_error, which then audit and free it.  The client's
 * further calls wait until then.
 */
void call_defer(struct call *call);
/* Sets the details the audit record of this call carries. */
void call_set_details(struct call *call, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Opens the control socket; exits on failure. */
void server_listen(struct cmld *cmld);
/* Accepts waiting connections. */
void server_accept(struct cmld *cmld);
/* Handles readiness of a client's socket. */
void server_client_event(struct cmld *cmld, struct client *c,
    unsigned int events);
/* Closes every client and the listening socket. */
void server_shutdown(struct cmld *cmld);
/* Checks that every command in the table has a handler; exits if not. */
void server_check_handlers(void);

/* Adds a job to the loop. */
void job_add(struct cmld *cmld, struct job *job);
/* Returns 1 if jobs wait to run. */
int job_pending(struct cmld *cmld);
/* Runs one step of every job. */
void job_run(struct cmld *cmld);
/* Cancels every job (at shutdown). */
void job_cancel_all(struct cmld *cmld);

/*
 * Removes what an interrupted install left in the guest OS directory
 * (staging directories, directories the store does not know), audited.
 */
void guestos_reconcile(struct cmld *cmld);
/* Returns the guest OS directory, <state>/guestos (free it). */
char *guestos_root(struct cmld *cmld);

struct guestos_ready;
struct guestos_manifest;
struct guestos_progress;

/*
 * Sets *version to the newest installed version of name that is at least
 * min (NULL: any), or NULL when there is none; -1 with *cause set.
 */
int guestos_newest(struct cmld *cmld, const char *name, const char *min,
    char **version, char **cause);
/*
 * Opens an installed guest OS to check it before use: its manifest
 * signature against the current anchors and the store against the signed
 * manifest; then guestos_ready_step hashes the images.  NULL with *error
 * (a varlink error name) and *cause set.
 */
struct guestos_ready *guestos_ready_open(struct cmld *cmld, const char *name,
    const char *version, const char **error, char **cause);
/* Hashes a step: 1 all images match, 0 more to do, -1 with *cause set. */
int guestos_ready_step(struct guestos_ready *r, char **cause);
/* Reports how far the check is. */
void guestos_ready_progress(const struct guestos_ready *r,
    struct guestos_progress *p);
/* Returns the signed manifest of a checked guest OS. */
const struct guestos_manifest *guestos_ready_manifest(
    const struct guestos_ready *r);
/* Returns the directory of a checked guest OS. */
const char *guestos_ready_path(const struct guestos_ready *r);
/* The checked file of image i, once the check passed (see guestos.h). */
int guestos_ready_take_fd(struct guestos_ready *r, size_t i);
/* Frees a check; NULL does nothing. */
void guestos_ready_free(struct guestos_ready *r);
/* Returns the parameters of a progress reply. */
struct json_object *guestos_progress_reply(const struct guestos_progress *p);

/* Rebuilds the trust store from the anchors in the store; -1 on error. */
int trust_reload(struct cmld *cmld, char **cause);

/* Writes an audit record; c may be NULL for the daemon's own events. */
void audit_write(struct cmld *cmld, const char *type, const struct client *c,
    const char *object, const char *result, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/*
 * Writes an audit record for a caller known by uid and pid (-1: none),
 * about container (NULL: none).
 */
void audit_write_as(struct cmld *cmld, const char *type, long long uid,
    long long pid, const char *container, const char *object,
    const char *result, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));
/* Writes an audit record about a container's own event (its end, ...). */
void audit_container(struct cmld *cmld, const char *name, const char *result,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Formats milliseconds since the epoch as RFC 3339 UTC (buf >= 32 bytes). */
void audit_format_time(long long ms, char *buf, size_t len);
/* Returns the current UTC time in milliseconds. */
long long audit_now_ms(void);

/* Applies a stored setting's canonical value to the running daemon. */
void device_apply_setting(struct cmld *cmld, const char *key,
    const char *value);
/* Loads every setting from the store and applies it; -1 on error. */
int device_load_settings(struct cmld *cmld, char **cause);

/* Handlers (cmd-*.c). */
void cmd_device_status(struct call *call);
void cmd_device_get_config(struct call *call);
void cmd_device_set_config(struct call *call);
void cmd_audit_list(struct call *call);
void cmd_api_get_info(struct call *call);
void cmd_api_get_interface_description(struct call *call);
void cmd_ca_list(struct call *call);
void cmd_ca_add(struct call *call);
void cmd_ca_remove(struct call *call);
void cmd_guestos_list(struct call *call);
void cmd_guestos_install(struct call *call);
void cmd_guestos_verify(struct call *call);
void cmd_guestos_remove(struct call *call);
void cmd_container_list(struct call *call);
void cmd_container_show(struct call *call);
void cmd_container_config(struct call *call);
void cmd_container_create(struct call *call);
void cmd_container_remove(struct call *call);
void cmd_container_start(struct call *call);
void cmd_container_stop(struct call *call);
void cmd_container_kill(struct call *call);
void cmd_container_freeze(struct call *call);
void cmd_container_unfreeze(struct call *call);
void cmd_container_exec(struct call *call);

/* Loads the containers, finds running ones again, starts c0, autostarts. */
void containers_init(struct cmld *cmld);
/* Lets go of the containers at cmld's end; they run on. */
void containers_release(struct cmld *cmld);
/*
 * Returns the name of a container that uses guest OS name: one configured
 * for it when version is NULL (all versions), else one running on that
 * version; NULL when none does.
 */
const char *containers_using_guestos(struct cmld *cmld, const char *name,
    const char *version);
/* Handles an event of a container, its stop timer or an exec. */
void container_event(struct cmld *cmld, struct ev_tag *tag,
    unsigned int events);

#endif
