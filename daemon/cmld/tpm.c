/*
 * cmld's link to tpm2d, the first stage: a stage link (stage.c) whose
 * records are stored as type "tpm2d".  Once tpm2d first answers, cmld
 * says how its state directory is kept, as tpm2d's Status tells.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "log.h"
#include "stage.h"
#include "tpm.h"

static void tpm_first_up(struct cmld *);

/*
 * The methods whose answer is passed on at once: tpm2d records nothing
 * of them when they work (they read), or, for Extend, the measurement
 * log's entry must follow the PCR's change without a round trip between.
 */
static const char *const tpm_answer_now[] = {
	"Status", "ReadPCRs", "IdentityPublic", "Quote", "Extend",
	"SignCheckpoint",
};

static const struct stage_def tpm_def = {
	"tpm2d", "org.cml.TPM.", 1, "--tpm2d-socket", "TPM", "the TPM",
	"tpm2d", "tpm2d answered an error without a message",
	"no tpm2d: cmld runs without the TPM stage; state directory: plain "
	"(no sealed key protects it)", TPM_CALL_TIMEOUT_MS, tpm_answer_now,
	sizeof tpm_answer_now / sizeof tpm_answer_now[0], tpm_first_up,
};

const char *
tpm_error_message(struct json_object *params)
{
	return stage_error_message(&tpm_def, params);
}

const char *
tpm_answer_string(struct json_object *params, const char *key, size_t max)
{
	struct json_object *v;

	if (!json_object_object_get_ex(params, key, &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    (size_t)json_object_get_string_len(v) > max)
		return NULL;
	return json_object_get_string(v);
}

/* Says where cmld's state lives, as tpm2d's Status tells (once up). */
static void
tpm_volume_cb(void *arg, const char *error, struct json_object *params)
{
	struct json_object *v, *r;
	const char *state = NULL, *why = NULL;

	(void)arg;
	if (error != NULL) {
		log_warnx("state directory: tpm2d does not say how it is kept: "
		    "%s", tpm_error_message(params));
		return;
	}
	if (json_object_object_get_ex(params, "state_volume", &v) &&
	    json_object_is_type(v, json_type_string))
		state = json_object_get_string(v);
	if (json_object_object_get_ex(params, "state_volume_reason", &r) &&
	    json_object_is_type(r, json_type_string))
		why = json_object_get_string(r);
	if (state == NULL)
		return;
	if (strcmp(state, "encrypted") == 0)
		log_info("state directory: on the encrypted state volume "
		    "tpm2d opened%s%s", why != NULL ? ": " : "",
		    why != NULL ? why : "");
	else
		log_warnx("state directory: %s%s%s", state,
		    why != NULL ? ": " : "", why != NULL ? why : "");
}

/* tpm2d answered for the first time: how is the state directory kept? */
static void
tpm_first_up(struct cmld *cmld)
{
	char *cause = NULL;

	if (tpm_call(cmld, "Status", NULL, tpm_volume_cb, NULL,
	    &cause) == -1) {
		log_warnx("state directory: %s", cause);
		free(cause);
	}
}

void
tpm_start(struct cmld *cmld, const char *sock_path)
{
	cmld->tpm = stage_start(cmld, &tpm_def, sock_path);
}

void
tpm_stop(struct cmld *cmld)
{
	stage_stop(cmld->tpm);
	cmld->tpm = NULL;
}

const char *
tpm_state(struct cmld *cmld)
{
	return stage_state(cmld->tpm);
}

int
tpm_call(struct cmld *cmld, const char *method, struct json_object *params,
    tpm_reply_cb cb, void *arg, char **cause)
{
	return stage_call(cmld->tpm, &tpm_def, method, params, cb, arg, cause);
}

void
tpm_call_error(struct call *call, const char *error, struct json_object *params)
{
	stage_call_error(&tpm_def, call, error, params);
}
