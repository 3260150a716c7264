/*
 * org.cml.Device: status and settings.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctx.h"
#include "device.h"
#include "handlers.h"
#include "provision.h"
#include "jsonstrict.h"
#include "scd.h"
#include "settings.h"
#include "stage.h"
#include "store.h"
#include "tpm.h"
#include "xmalloc.h"

/*
 * Returns the reply of Status but for the stages: version, uptime, state
 * and the device certificate.
 */
static struct json_object *
device_status_json(struct cmld *cmld)
{
	struct json_object *p;
	struct timespec now;
	char *how;

	clock_gettime(CLOCK_MONOTONIC, &now);

	p = json_object_new_object();
	json_object_object_add(p, "version",
	    json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(p, "uptime_seconds",
	    json_object_new_int64(now.tv_sec - cmld->started.tv_sec));
	json_object_object_add(p, "state_dir",
	    json_object_new_string(cmld->state_dir));
	json_object_object_add(p, "provisioning",
	    json_object_new_string(cmld->prov_state));
	json_object_object_add(p, "uuid", json_object_new_string(cmld->uuid));
	json_object_object_add(p, "name",
	    json_object_new_string(cmld->device_name));
	/* in its place; filled in once the stages were asked */
	json_object_object_add(p, "stages", NULL);
	identity_status_fill(cmld, p);
	if (cmld->verity_ok && cmld->guestos_verity)
		how = xstrdup("dm-verity");
	else
		how = xasprintf("full hash (%s)", !cmld->guestos_verity ?
		    "the setting guestos_verity is false" : cmld->verity_why);
	json_object_object_add(p, "image_check", json_object_new_string(how));
	free(how);
	return p;
}

/*
 * Answers a device status call with p (taken over) and the stages as
 * their links say now, after each was asked: "up" (it answered), "down"
 * (cmld connects again), "absent" (cmld runs without it).
 */
/* Copies member key of from to to, if it is there and of type. */
static void
device_copy(struct json_object *to, struct json_object *from, const char *key,
    json_type type)
{
	struct json_object *v;

	if (json_object_object_get_ex(from, key, &v) &&
	    json_object_is_type(v, type))
		json_object_object_add(to, key, json_object_get(v));
}

static void
device_status_reply(struct call *call, struct json_object *p)
{
	struct cmld *cmld = call_cmld(call);
	struct json_object *stages;

	stages = json_object_new_object();
	json_object_object_add(stages, "tpm2d",
	    json_object_new_string(tpm_state(cmld)));
	json_object_object_add(stages, "scd",
	    json_object_new_string(stage_state(cmld->scd)));
	json_object_object_add(stages, "cmld", json_object_new_string("up"));
	json_object_object_add(p, "stages", stages);
	call_reply(call, p);
}

/*
 * A device status call: tpm2d and scd are asked at once, and the call is
 * answered once both have (or could not be asked).  A stage's answer is
 * used again for DEVICE_STATUS_MAX_AGE_MS on the same connection, unless
 * a call that may change it went to it meanwhile (stage_status_fresh):
 * so a client that asks in a loop costs the stages nothing, and a stage
 * that went away is still seen at once (its connection is gone).
 */
#define DEVICE_STATUS_MAX_AGE_MS 1000

struct device_status_req {
	struct call *call;
	struct json_object *p; /* the reply but for the stages */
	struct json_object *tpm, *scd; /* what each answered */
	char *tpm_error, *scd_error; /* or why not */
	int pending; /* stages asked that have yet to answer */
};

/* Answers once neither stage is pending: tpm2d's part, then scd's. */
static void
device_status_done(struct device_status_req *r)
{
	if (r->pending > 0)
		return;
	if (r->tpm != NULL)
		json_object_object_add(r->p, "tpm", r->tpm);
	else if (r->tpm_error != NULL)
		json_object_object_add(r->p, "tpm_error",
		    json_object_new_string(r->tpm_error));
	if (r->scd != NULL)
		json_object_object_add(r->p, "scd", r->scd);
	else if (r->scd_error != NULL)
		json_object_object_add(r->p, "scd_error",
		    json_object_new_string(r->scd_error));
	device_status_reply(r->call, r->p);
	free(r->tpm_error);
	free(r->scd_error);
	free(r);
}

/* Returns scd's part of the reply from its Status answer. */
static struct json_object *
device_status_scd_part(struct json_object *params)
{
	struct json_object *o = json_object_new_object();

	/* only what the interface says, whatever scd sent */
	device_copy(o, params, "platform_secret", json_type_string);
	device_copy(o, params, "pcsc", json_type_string);
	device_copy(o, params, "reason", json_type_string);
	device_copy(o, params, "tokens", json_type_int);
	return o;
}

/* Returns tpm2d's part of the reply from its Status answer. */
static struct json_object *
device_status_tpm_part(struct json_object *params)
{
	static const char *const strs[] = { "tcti", "manufacturer",
	    "firmware", "system_key", "reason", "identity", "state_volume",
	    "state_volume_reason" };
	struct json_object *o = json_object_new_object();
	size_t i;

	/* only what the interface says, whatever tpm2d sent */
	for (i = 0; i < sizeof strs / sizeof strs[0]; i++)
		device_copy(o, params, strs[i], json_type_string);
	device_copy(o, params, "seal_pcrs", json_type_array);
	device_copy(o, params, "measure_pcr", json_type_int);
	device_copy(o, params, "identity_handle", json_type_int);
	return o;
}

/* Gets scd's Status: its stage is then as it is now. */
static void
device_status_scd_cb(void *arg, const char *error, struct json_object *params)
{
	struct device_status_req *r = arg;

	if (error != NULL)
		r->scd_error = xstrdup(scd_error_message(params));
	else {
		r->scd = device_status_scd_part(params);
		stage_status_keep(call_cmld(r->call)->scd, params);
	}
	r->pending--;
	device_status_done(r);
}

/* Gets tpm2d's Status. */
static void
device_status_tpm_cb(void *arg, const char *error, struct json_object *params)
{
	struct device_status_req *r = arg;

	if (error != NULL)
		r->tpm_error = xstrdup(tpm_error_message(params));
	else {
		r->tpm = device_status_tpm_part(params);
		stage_status_keep(call_cmld(r->call)->tpm, params);
	}
	r->pending--;
	device_status_done(r);
}

void
cmd_device_status(struct call *call)
{
	struct cmld *cmld = call_cmld(call);
	struct device_status_req *r;
	struct json_object *fresh;
	char *cause = NULL;

	/* each stage's state as it is now: both asked at once */
	r = xcalloc(1, sizeof *r);
	r->call = call;
	r->p = device_status_json(cmld);
	if ((fresh = stage_status_fresh(cmld->tpm,
	    DEVICE_STATUS_MAX_AGE_MS)) != NULL)
		r->tpm = device_status_tpm_part(fresh);
	else if (strcmp(tpm_state(cmld), "absent") != 0) {
		if (tpm_call(cmld, "Status", NULL, device_status_tpm_cb, r,
		    &cause) == 0)
			r->pending++;
		else
			r->tpm_error = cause;
	}
	cause = NULL;
	if ((fresh = stage_status_fresh(cmld->scd,
	    DEVICE_STATUS_MAX_AGE_MS)) != NULL)
		r->scd = device_status_scd_part(fresh);
	else if (strcmp(stage_state(cmld->scd), "absent") != 0) {
		/* not there: its state says so */
		if (scd_call(cmld, "Status", NULL, device_status_scd_cb, r,
		    &cause) == 0)
			r->pending++;
		else
			free(cause);
	}
	if (r->pending > 0)
		call_defer(call);
	device_status_done(r);
}

/* Gets tpm2d's answer to ResetSystemKey. */
static void
device_reset_system_key_cb(void *arg, const char *error,
    struct json_object *params)
{
	struct call *call = arg;
	struct json_object *p;

	if (error != NULL) {
		tpm_call_error(call, error, params);
		return;
	}
	call_set_details(call, "the sealed system key was destroyed; tpm2d "
	    "makes a new one at its next start");
	p = json_object_new_object();
	json_object_object_add(p, "system_key",
	    json_object_new_string("absent"));
	json_object_object_add(p, "message", json_object_new_string(
	    "The sealed system key is destroyed. tpm2d makes a new one at "
	    "its next start; what the old one protected (the platform "
	    "secret in scd's PIN-derived keys, an encrypted state volume) "
	    "cannot be opened again."));
	call_reply(call, p);
}

void
cmd_device_reset_system_key(struct call *call)
{
	char *cause = NULL;

	if (tpm_call(call_cmld(call), "ResetSystemKey", NULL,
	    device_reset_system_key_cb, call, &cause) == 0) {
		call_defer(call);
		return;
	}
	call_error(call, PROTO_ERR_FAILED, NULL, "%s", cause);
	free(cause);
}

/* Returns one setting as a Setting object; NULL with *cause on error. */
static struct json_object *
device_setting_json(struct cmld *cmld, const struct setting_def *def,
    char **cause)
{
	struct json_object *o;
	char *value = NULL;

	if (store_setting_get(cmld->store, def->key, &value, cause) == -1)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "key", json_object_new_string(def->key));
	json_object_object_add(o, "value",
	    json_object_new_string(value != NULL ? value : def->def));
	json_object_object_add(o, "type",
	    json_object_new_string(setting_type_name(def->type)));
	json_object_object_add(o, "default", json_object_new_string(def->def));
	free(value);
	return o;
}

void
cmd_device_get_config(struct call *call)
{
	const struct setting_def *def = NULL;
	struct json_object *key, *list, *o;
	char *cause = NULL, *q;
	size_t i;

	if (json_object_object_get_ex(call->params, "key", &key) &&
	    key != NULL) {
		def = setting_find(json_object_get_string(key));
		if (def == NULL) {
			q = jsonstrict_quotes(json_object_get_string(key));
			call_error(call, PROTO_ERR_INVALID_ARGUMENT, "key",
			    "unknown setting '%s': 'device config get' lists "
			    "them", q);
			free(q);
			return;
		}
	}
	list = json_object_new_array();
	for (i = 0; i < setting_defs_len; i++) {
		if (def != NULL && def != &setting_defs[i])
			continue;
		if ((o = device_setting_json(call_cmld(call), &setting_defs[i],
		    &cause)) == NULL) {
			json_object_put(list);
			call_error(call, PROTO_ERR_FAILED, NULL, "%s", cause);
			free(cause);
			return;
		}
		json_object_array_add(list, o);
	}
	o = json_object_new_object();
	json_object_object_add(o, "settings", list);
	call_reply(call, o);
}

int
device_config_check(struct cmld *cmld, const char *key, const char *value,
    char **canon, const char **param, char **cause)
{
	const struct setting_def *def;
	char *q;

	*canon = NULL;
	if ((def = setting_find(key)) == NULL) {
		q = jsonstrict_quotes(key);
		*param = "key";
		*cause = xasprintf("unknown setting '%s': 'device config get' "
		    "lists them", q);
		free(q);
		return -1;
	}
	*param = "value";
	if (setting_canonical(def, value, canon, cause) == -1)
		return -1;
	/* Provisioned is one way: signed configs stay required (NDR 3.12). */
	if (strcmp(key, "require_signed_configs") == 0 &&
	    strcmp(*canon, "false") == 0 &&
	    strcmp(cmld->prov_state, "provisioned") == 0) {
		*cause = xstrdup("require_signed_configs cannot be false on a "
		    "provisioned device: container configs must be signed "
		    "(true or auto); only 'device wipe' returns to factory");
		free(*canon);
		*canon = NULL;
		return -1;
	}
	return 0;
}

int
device_config_set(struct cmld *cmld, const char *const *keys,
    const char *const *canon, size_t n, char **cause)
{
	size_t i;

	if (store_settings_set(cmld->store, keys, canon, n, cause) == -1)
		return -1;
	for (i = 0; i < n; i++)
		device_apply_setting(cmld, keys[i], canon[i]);
	return 0;
}

void
cmd_device_set_config(struct call *call)
{
	struct cmld *cmld = call_cmld(call);
	struct json_object *p;
	const char *key, *value, *param;
	char *canon = NULL, *cause = NULL;

	key = json_object_get_string(json_object_object_get(call->params,
	    "key"));
	value = json_object_get_string(json_object_object_get(call->params,
	    "value"));
	if (device_config_check(cmld, key, value, &canon, &param,
	    &cause) == -1) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, param, "%s",
		    cause);
		free(cause);
		return;
	}
	if (device_config_set(cmld, &key, (const char *const *)&canon, 1,
	    &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "%s", cause);
		free(cause);
		free(canon);
		return;
	}
	call_set_details(call, "%s=%s", key, canon);
	p = json_object_new_object();
	json_object_object_add(p, "key", json_object_new_string(key));
	json_object_object_add(p, "value", json_object_new_string(canon));
	free(canon);
	call_reply(call, p);
}
