/*
 * What cmld adds to the shared server: the provisioning policy and the
 * audit of every call and of connection events.
 */
#include "config.h"

#include <string.h>

#include "audit.h"
#include "control.h"
#include "ctx.h"
#include "provision.h"

static int audit_allowed_when_full(struct call *call);

int
cmld_policy(struct call *call)
{
	struct cmld *cmld = call_cmld(call);
	const struct cmd_entry *cmd = call->cmd;
	int provisioned = strcmp(cmld->prov_state, "provisioned") == 0;

	if (!provisioned && !(cmd->flags & CMD_UNPROVISIONED_OK)) {
		call_error(call, PROTO_ERR_NOT_PROVISIONED, NULL,
		    "'%s' needs a provisioned device: run cml-provision "
		    "first", cmd->words);
		return -1;
	}
	if (cmld->wiping && !(cmd->flags & CMD_READONLY)) {
		call_error(call, PROTO_ERR_BUSY, NULL, "the device is being "
		    "wiped: '%s' is refused until the wipe has ended",
		    cmd->words);
		return -1;
	}
	if (audit_refusing(cmld) && !audit_allowed_when_full(call)) {
		call_error(call, PROTO_ERR_AUDIT_FULL, NULL, "the audit trail "
		    "is full: '%s' changes state and is refused until room is "
		    "made (audit status; audit ack, and audit_full_action "
		    "drop-acknowledged or a larger audit_capacity)",
		    cmd->words);
		return -1;
	}
	if (provisioned && (cmd->flags & CMD_FACTORY_ONLY)) {
		call_error(call, PROTO_ERR_ALREADY_PROVISIONED, NULL,
		    "'%s' is only allowed before provisioning; the device "
		    "is provisioned", cmd->words);
		return -1;
	}
	return 0;
}

/*
 * Says whether a call is served while the audit trail is full: reads,
 * acknowledging records, and the audit settings that make room.
 */
static int
audit_allowed_when_full(struct call *call)
{
	struct json_object *key;

	if (call->cmd->flags & CMD_READONLY)
		return 1;
	if (call->cmd->id == CMD_ID_AUDIT_ACK)
		return 1;
	return call->cmd->id == CMD_ID_DEVICE_SET_CONFIG &&
	    json_object_object_get_ex(call->params, "key", &key) &&
	    json_object_is_type(key, json_type_string) &&
	    strncmp(json_object_get_string(key), "audit_", 6) == 0;
}

void
cmld_barrier(void *ctx)
{
	(void)audit_sync(ctx);
}

/* Says whether an error reports a security event even for a read. */
static int
cmld_error_is_security(const char *error)
{
	return error != NULL && (strcmp(error, PROTO_ERR_INTEGRITY) == 0 ||
	    strcmp(error, PROTO_ERR_INVALID_SIGNATURE) == 0);
}

void
cmld_call_done(struct call *call, int refused)
{
	struct cmld *cmld = call_cmld(call);
	const char *ctr = NULL;

	/* A provisioning step a handler failed: its state says why. */
	if (!refused && call->error != NULL)
		provision_call_failed(call);
	if (!refused && (call->cmd->flags & CMD_READONLY) &&
	    !cmld->audit_read_calls && !cmld_error_is_security(call->error))
		return;
	if (call->cmd->flags & CMD_NEEDS_CONTAINER)
		ctr = json_object_get_string(json_object_object_get(
		    call->params, "name"));
	if (call->suppressed > 0)
		audit_write_as(cmld, "call", (long long)call->uid,
		    (long long)call->pid, call->comm, ctr, call->cmd->method,
		    call->error != NULL ? call->error : "ok",
		    "%s (%llu like refusals before were not recorded)",
		    call->details != NULL ? call->details : "",
		    call->suppressed);
	else
		audit_write_as(cmld, "call", (long long)call->uid,
		    (long long)call->pid, call->comm, ctr, call->cmd->method,
		    call->error != NULL ? call->error : "ok", "%s",
		    call->details != NULL ? call->details : "");
}

void
cmld_session(void *ctx, uid_t uid, pid_t pid, const char *object,
    const char *error, const char *msg)
{
	audit_write_as(ctx, "session", (long long)uid, (long long)pid, NULL,
	    NULL, object, error, "%s", msg);
}

void
cmld_apply_limits(struct cmld *cmld)
{
	struct srv_limits lim = { 0 };

	if (cmld->srv == NULL)
		return;
	lim.max_clients = cmld->max_clients;
	lim.idle_ms = cmld->idle_timeout * 1000;
	srv_set_limits(cmld->srv, &lim);
}
