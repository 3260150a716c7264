/*
 * cmld's link to scd, the second stage (scd.c, a stage link of stage.c):
 * the only process that holds token secrets.  cmld calls it for the
 * token commands (cmd-token.c) and stores the audit records it spooled,
 * as type "scd".  cmld never waits for scd: it starts without it, notices
 * when it goes, and finds it again.  cmld starts and stops the link with
 * stage_start and stage_stop, and device status says stage_state.
 */
#ifndef CMLD_SCD_H
#define CMLD_SCD_H

#include <json-c/json.h>

#include "stage.h"

struct cmld;

/*
 * How long scd may work on one call before it fails: a PIN's key
 * derivation or a card's transactions, queued behind others.
 */
#define SCD_CALL_TIMEOUT_MS (60 * 1000)

/* What scd is to the stage link. */
extern const struct stage_def scd_def;

/*
 * Calls org.cml.SCD.METHOD with params (taken over, also on failure; may
 * be NULL), as tpm_call calls tpm2d: 0 and cb gets the answer later
 * ("scd is not running (stage 2): ..." when scd is not there), or -1 with
 * *cause set at once.
 */
int scd_call(struct cmld *cmld, const char *method, struct json_object *params,
    stage_reply_cb cb, void *arg, char **cause);
/*
 * Returns the message of an error's params (or a fixed text when there is
 * none); borrowed.
 */
const char *scd_error_message(struct json_object *params);

#endif
