/*
 * cmld's link to scd, the second stage: a stage link (stage.c) whose
 * records are stored as type "scd".  scd records the token operations
 * themselves (verified, failed, blocked, unblocked), so cmld takes its
 * spool after every call but those that only read.
 */
#include "config.h"

#include "ctx.h"
#include "scd.h"
#include "stage.h"

/* scd records nothing of these. */
static const char *const scd_answer_now[] = {
	"Status", "TokenStatus", "List", "Readers",
};

const struct stage_def scd_def = {
	"scd", "org.cml.SCD.", 2, "--scd-socket", "token", "a token", "scd",
	"scd answered an error without a message",
	"no scd: cmld runs without the token stage; token commands are refused",
	SCD_CALL_TIMEOUT_MS, scd_answer_now,
	sizeof scd_answer_now / sizeof scd_answer_now[0], NULL,
};

int
scd_call(struct cmld *cmld, const char *method, struct json_object *params,
    stage_reply_cb cb, void *arg, char **cause)
{
	return stage_call(cmld->scd, &scd_def, method, params, cb, arg, cause);
}

const char *
scd_error_message(struct json_object *params)
{
	return stage_error_message(&scd_def, params);
}
