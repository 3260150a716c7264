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
#include "loop.h"
#include "proto.h"
#include "server.h"

struct store;
struct ctr;

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
	struct loop *loop;
	struct srv *srv;
	struct srv_config srv_cfg;
	struct timespec started; /* CLOCK_MONOTONIC */
	char *uuid;
	char *prov_state;
	TAILQ_HEAD(, ctr) ctrs; /* the containers, c0 first */
	struct crypto_trust *trust; /* the anchors in the store */
	char *device_name; /* settings, as applied (cmld is their only writer) */
	long long max_clients;
	long long idle_timeout; /* seconds (--idle-timeout) */
	int audit_read_calls;
	long long stop_timeout; /* seconds from SIGTERM to SIGKILL */
	char *c0_guestos; /* "" : no c0 */
	char *require_signed_configs; /* "auto", "true" or "false" */
	int log_level_pinned; /* --log-level given: the setting does not apply */
};

/* The daemon of a call. */
static inline struct cmld *
call_cmld(const struct call *call)
{
	return call->ctx;
}

/* cmld's handlers, indexed by command id (handlers.c). */
extern const call_handler cmld_handlers[CMD_ID_COUNT];
/* The policy cmld adds to the role check: the provisioning state. */
int cmld_policy(struct call *call);
/* Audits a finished call. */
void cmld_call_done(struct call *call, int refused);
/* Gives the server the connection limits of the settings and options. */
void cmld_apply_limits(struct cmld *cmld);
/* Audits an event of a connection. */
void cmld_session(void *ctx, uid_t uid, pid_t pid, const char *object,
    const char *error, const char *msg);

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

/* Writes an audit record of the daemon's own (no caller). */
void audit_write(struct cmld *cmld, const char *type, const char *object,
    const char *result, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
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

#endif
