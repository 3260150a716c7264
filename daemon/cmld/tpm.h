/*
 * cmld's link to tpm2d, the first stage (tpm.c, a stage link of
 * stage.c): calls through the server library's non-blocking client, the
 * stage's state for `device status`, reconnection with a backoff, and the
 * audit records tpm2d spooled before cmld could store them.  cmld never
 * waits for tpm2d: it starts without it, notices when it goes, and finds
 * it again.
 */
#ifndef CMLD_TPM_H
#define CMLD_TPM_H

#include <stddef.h>

#include <json-c/json.h>

#include "stage.h"

struct call;
struct cmld;

/* How long tpm2d may work on one call before it fails. */
#define TPM_CALL_TIMEOUT_MS 5000
/* The first and the longest wait before connecting again. */
#define TPM_RETRY_MIN_MS STAGE_RETRY_MIN_MS
#define TPM_RETRY_MAX_MS STAGE_RETRY_MAX_MS
/* While up: how often the spool is taken (and the link checked). */
#define TPM_POLL_MS STAGE_POLL_MS

/*
 * Gets the answer of a tpm_call, exactly once, from the loop (never from
 * within tpm_call; at cmld's shutdown too).  error is NULL and params
 * tpm2d's reply, or error names the error and params carries "message"
 * (borrowed: json_object_get to keep them).  When tpm2d could not be
 * reached or did not answer in time, error is org.cml.Error.Failed and the
 * message says so ("tpm2d is not running (stage 1): ...").
 */
typedef stage_reply_cb tpm_reply_cb;

/*
 * Starts the link to tpm2d at sock_path (NULL or "": cmld runs without
 * tpm2d, its stage "absent"); connects from the loop, never blocking.
 */
void tpm_start(struct cmld *cmld, const char *sock_path);
/*
 * Fails every call still waiting (their callbacks run now, so their
 * clients are told) and ends the link; tpm_call refuses from then on.
 * At shutdown, before the jobs are cancelled and the clients closed.
 */
void tpm_stop(struct cmld *cmld);
/*
 * Returns tpm2d's stage: "up" (the last call or connection attempt
 * worked), "down" (it failed: cmld tries again), or "absent" (cmld runs
 * without tpm2d).
 */
const char *tpm_state(struct cmld *cmld);
/*
 * Calls org.cml.TPM.METHOD ("Quote") with params (taken over, also on
 * failure; may be NULL).  Returns 0: cb gets the answer later.  Returns
 * -1 with *cause set at once, without calling cb, when tpm2d is down
 * (nobody accepts on its socket now), absent, or too busy.
 *
 * A handler defers its call (call_defer) and answers it from cb; if the
 * client left meanwhile the answer goes nowhere and the call is freed, so
 * cb must answer it in every case.
 */
int tpm_call(struct cmld *cmld, const char *method, struct json_object *params,
    tpm_reply_cb cb, void *arg, char **cause);
/*
 * Answers call with the error a tpm_call's callback got: the errors of
 * org.cml.Error as they are, tpm2d's own (org.cml.TPM.TPMError, ...) as
 * org.cml.Error.Failed with tpm2d's message.
 */
void tpm_call_error(struct call *call, const char *error,
    struct json_object *params);
/*
 * Returns the message of an error's params (or a fixed text when there is
 * none); borrowed.
 */
const char *tpm_error_message(struct json_object *params);
/*
 * Returns member key of tpm2d's answer when it is a string of at most
 * max bytes (borrowed), else NULL.
 */
const char *tpm_answer_string(struct json_object *params, const char *key,
    size_t max);

#endif
