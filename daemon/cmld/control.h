/*
 * What cmld adds to the shared server (control.c): the provisioning
 * policy, the audit of every call and of connection events, and the
 * connection limits of the settings.
 */
#ifndef CMLD_CONTROL_H
#define CMLD_CONTROL_H

#include <sys/types.h>

#include "server.h"

struct cmld;

/* The policy cmld adds to the role check: the provisioning state. */
int cmld_policy(struct call *call);
/* Audits a finished call. */
void cmld_call_done(struct call *call, int refused);
/*
 * Makes what calls recorded durable before their replies leave (the
 * server's barrier): the audit trail's group commit.
 */
void cmld_barrier(void *ctx);
/* Gives the server the connection limits of the settings and options. */
void cmld_apply_limits(struct cmld *cmld);
/* Audits an event of a connection. */
void cmld_session(void *ctx, uid_t uid, pid_t pid, const char *object,
    const char *error, const char *msg);

#endif
