/*
 * The audit of a stage daemon's calls and connections; see staged.h.
 */
#include "config.h"

#include "staged.h"

void
staged_audit_call(struct spool *sp, struct call *call, int refused,
    int (*quiet)(const struct call *call))
{
	if (!refused && call->error == NULL && quiet(call))
		return;
	spool_add(sp, "call", call->cmd->method,
	    call->error != NULL ? call->error : "ok", "uid %u pid %ld: %s",
	    (unsigned)call->uid, (long)call->pid,
	    call->details != NULL ? call->details : "");
}

void
staged_audit_session(struct spool *sp, uid_t uid, pid_t pid,
    const char *object, const char *error, const char *msg)
{
	spool_add(sp, "session", object, error != NULL ? error : "ok",
	    "uid %u pid %ld: %s", (unsigned)uid, (long)pid, msg);
}
