/*
 * cmld's side of audit forwarding (forward.c): it starts cml-forward
 * (cml-forward(8)) when the setting audit_forward_host names a collector,
 * feeds it the records after the persistent forward cursor, at most
 * FORWARD_WINDOW of them in flight, moves the cursor (audit.db's meta
 * "forward_cursor") as the collector receives them, sends again from the
 * cursor after a reconnect, and starts a cml-forward that ended again
 * with a backoff.  Never blocks the loop: the socket is non-blocking and
 * watched, the child's end is seen through a pidfd.
 */
#ifndef CMLD_FORWARD_H
#define CMLD_FORWARD_H

#include <json-c/json.h>

struct audit_hook;
struct cmld;

/* Records sent to cml-forward and not yet received by the collector. */
#define FORWARD_WINDOW 64
/* The first and the longest wait before cml-forward is started again. */
#define FORWARD_RESTART_MIN_MS 1000
#define FORWARD_RESTART_MAX_MS 60000

/*
 * Starts forwarding when audit_forward_host is set (nothing otherwise):
 * after the store is open and the stages' links are started; tpm2d_sock
 * is where tpm2d signs with the device key (as given to tpm_start).
 * Problems (no device certificate, no trust anchor, no cml-forward) are
 * logged, audited and shown by forward_status; forward_kick tries again.
 */
void forward_start(struct cmld *cmld, const char *tpm2d_sock);
/* Sends the records committed since; call after each audit commit. */
void forward_kick(struct cmld *cmld);
/* forward_kick as the trail's hook (audit_hook). */
extern const struct audit_hook forward_audit_hook;
/*
 * Adds forward_host ("" when off), forward_state ("off", "starting",
 * "connected", "disconnected", "restarting", "unconfigured"),
 * forward_cursor (the last record the collector received, 0: none) and,
 * when there is one, forward_error to an `audit status` reply.
 */
void forward_status(struct cmld *cmld, struct json_object *o);
/* Stops cml-forward and frees the state; at cmld's shutdown. */
void forward_stop(struct cmld *cmld);

#endif
