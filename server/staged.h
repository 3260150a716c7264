/*
 * What the stage daemons (tpm2d, scd) share beyond the server: the audit
 * records of their calls and connections, written to their spool
 * (spool.h) for cmld to take.  Each daemon keeps its own rule of which
 * calls are not audited.
 */
#ifndef CML_STAGED_H
#define CML_STAGED_H

#include <sys/types.h>

#include "server.h"
#include "spool.h"

/*
 * Audits a finished call (srv_config.done): one that was refused or
 * failed always; one that succeeded unless quiet says it is not audited.
 * Its details name what the call was about, never a secret.
 */
void staged_audit_call(struct spool *sp, struct call *call, int refused,
    int (*quiet)(const struct call *call));
/*
 * Audits what happened to a connection (srv_config.session: refused,
 * malformed, idle).
 */
void staged_audit_session(struct spool *sp, uid_t uid, pid_t pid,
    const char *object, const char *error, const char *msg);

#endif
