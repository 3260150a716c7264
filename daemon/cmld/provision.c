/*
 * The provisioning steps' record (provision-int.h), org.cml.Provision's
 * Status, and its steps 6 and 7: Settings, checked as `device config set`
 * checks a setting, all before any is stored, and the one-way Lock.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "ctx.h"
#include "handlers.h"
#include "jsonstrict.h"
#include "log.h"
#include "provision.h"
#include "provision-int.h"
#include "store.h"
#include "xmalloc.h"

/* What each step does, in words, in the order of store_provision_steps. */
static const char *const provision_titles[STORE_PROVISION_NSTEPS] = {
	"check the TPM, the stages and the clock",
	"make the device key and its certificate request",
	"install the device certificate",
	"install the trust anchors",
	"make c0's token, its PIN and PUK",
	"set the device settings",
	"lock the device",
};

/* The command of each step, by step index. */
static const enum cmd_id provision_cmds[STORE_PROVISION_NSTEPS] = {
	CMD_ID_PROVISION_CHECK, CMD_ID_PROVISION_IDENTITY,
	CMD_ID_PROVISION_CERTIFICATE, CMD_ID_PROVISION_ANCHOR,
	CMD_ID_PROVISION_TOKEN, CMD_ID_PROVISION_SETTINGS,
	CMD_ID_PROVISION_LOCK,
};

/* The most settings one call sets, and the longest summary kept. */
#define PROVISION_SETTINGS_MAX 64
#define PROVISION_SUMMARY_MAX 1024

const struct jsonstrict_limits provision_json_limits = {
	.what = "stored text",
	.max_len = 256 * 1024,
	.max_depth = 8,
	.max_fields = 64,
};

int
provision_locked(struct cmld *cmld)
{
	return strcmp(cmld->prov_state, "provisioned") == 0;
}

struct json_object *
provision_step_json(struct cmld *cmld, const char *name, char **cause)
{
	struct store_provision_step row;
	struct json_object *o;
	char when[32];
	int rc;

	if ((rc = store_provision_get(cmld->store, name, &row, cause)) == -1)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "title", json_object_new_string(
	    provision_titles[store_provision_index(name)]));
	json_object_object_add(o, "state",
	    json_object_new_string(rc == 1 ? row.state : "pending"));
	if (rc == 1)
		audit_format_time(row.time_ms, when, sizeof when);
	json_object_object_add(o, "time",
	    rc == 1 ? json_object_new_string(when) : NULL);
	json_object_object_add(o, "summary", row.summary != NULL ?
	    json_object_new_string(row.summary) : NULL);
	json_object_object_add(o, "error", row.error != NULL ?
	    json_object_new_string(row.error) : NULL);
	store_provision_step_clear(&row);
	return o;
}

void
provision_reply(struct call *call, const char *name, struct json_object *p)
{
	struct json_object *step;
	char *cause = NULL;

	if ((step = provision_step_json(call_cmld(call), name,
	    &cause)) == NULL) {
		json_object_put(p);
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot read the "
		    "provisioning step '%s': %s", name, cause);
		free(cause);
		return;
	}
	json_object_object_add(p, "step", step);
	call_reply(call, p);
}

int
provision_done(struct call *call, const char *name, const char *summary,
    const char *data)
{
	struct store_provision_step s;
	char *cause = NULL, cut[PROVISION_SUMMARY_MAX];

	memset(&s, 0, sizeof s);
	s.name = name;
	s.state = "done";
	if (summary != NULL) {
		(void)snprintf(cut, sizeof cut, "%s", summary);
		s.summary = cut;
	}
	s.data = data;
	if (store_provision_set(call_cmld(call)->store, &s, &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "the %s step was "
		    "done, but could not be recorded: %s", name, cause);
		free(cause);
		return -1;
	}
	return 0;
}

void
provision_failed(struct cmld *cmld, const char *name, const char *error)
{
	struct store_provision_step s;
	char *cause = NULL, cut[PROVISION_SUMMARY_MAX];

	memset(&s, 0, sizeof s);
	s.name = name;
	s.state = "failed";
	(void)snprintf(cut, sizeof cut, "%s", error != NULL ? error : "");
	s.error = cut;
	if (store_provision_set(cmld->store, &s, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
	}
}

void
provision_call_failed(struct call *call)
{
	size_t i;

	for (i = 0; i < STORE_PROVISION_NSTEPS; i++)
		if (call->cmd->id == provision_cmds[i])
			provision_failed(call_cmld(call),
			    store_provision_steps[i], call->details);
}

int
provision_row(struct call *call, const char *name,
    struct store_provision_step *row)
{
	char *cause = NULL;
	int rc;

	rc = store_provision_get(call_cmld(call)->store, name, row, &cause);
	if (rc == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot read the "
		    "provisioning step '%s': %s", name, cause);
		free(cause);
		return -1;
	}
	if (rc == 1 && strcmp(row->state, "done") == 0)
		return 1;
	store_provision_step_clear(row);
	return 0;
}

void
provision_reply_stored(struct call *call, const char *name,
    const struct store_provision_step *row)
{
	struct json_object *p = NULL;
	char *cause = NULL;

	if (row->data == NULL || jsonstrict_parse(row->data,
	    strlen(row->data), &provision_json_limits, &p, &cause) == -1 ||
	    !json_object_is_type(p, json_type_object)) {
		json_object_put(p);
		call_error(call, PROTO_ERR_FAILED, NULL, "the %s step is done, "
		    "but what it answered is not stored readably%s%s", name,
		    cause != NULL ? ": " : "", cause != NULL ? cause : "");
		free(cause);
		return;
	}
	provision_reply(call, name, p);
}

/* --- Status ------------------------------------------------------------------ */

void
cmd_provision_status(struct call *call)
{
	struct cmld *cmld = call_cmld(call);
	struct json_object *p, *steps, *o;
	const char *next = NULL;
	char *cause = NULL;
	size_t i;

	steps = json_object_new_array();
	for (i = 0; i < STORE_PROVISION_NSTEPS; i++) {
		if ((o = provision_step_json(cmld, store_provision_steps[i],
		    &cause)) == NULL) {
			json_object_put(steps);
			call_error(call, PROTO_ERR_FAILED, NULL, "cannot read "
			    "the provisioning steps: %s", cause);
			free(cause);
			return;
		}
		if (next == NULL && strcmp(json_object_get_string(
		    json_object_object_get(o, "state")), "done") != 0)
			next = store_provision_steps[i];
		json_object_array_add(steps, o);
	}
	/* A lock recorded but cut before the state changed: lock again. */
	if (next == NULL && !provision_locked(cmld))
		next = "lock";
	p = json_object_new_object();
	json_object_object_add(p, "state",
	    json_object_new_string(cmld->prov_state));
	json_object_object_add(p, "uuid", json_object_new_string(cmld->uuid));
	json_object_object_add(p, "steps", steps);
	json_object_object_add(p, "next", next != NULL && !provision_locked(
	    cmld) ? json_object_new_string(next) : NULL);
	call_reply(call, p);
}

/* --- Settings ---------------------------------------------------------------- */

void
cmd_provision_settings(struct call *call)
{
	struct cmld *cmld = call_cmld(call);
	struct json_object *list, *out, *o;
	const char *s, *eq, *param;
	char *keys[PROVISION_SETTINGS_MAX], *canon[PROVISION_SETTINGS_MAX];
	char *cause = NULL, *q, *summary = NULL, *t;
	size_t n, i, j;

	list = json_object_object_get(call->params, "settings");
	n = json_object_array_length(list);
	if (n == 0 || n > PROVISION_SETTINGS_MAX) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "settings", "give "
		    "1 to %d settings as KEY=VALUE", PROVISION_SETTINGS_MAX);
		return;
	}
	memset(keys, 0, sizeof keys);
	memset(canon, 0, sizeof canon);
	/* Every one is checked before any is stored. */
	for (i = 0; i < n; i++) {
		s = json_object_get_string(json_object_array_get_idx(list, i));
		if ((eq = strchr(s, '=')) == NULL || eq == s) {
			q = jsonstrict_quotes(s);
			call_error(call, PROTO_ERR_INVALID_ARGUMENT, "settings",
			    "'%s' is no KEY=VALUE; no setting was set", q);
			free(q);
			goto out;
		}
		keys[i] = xasprintf("%.*s", (int)(eq - s), s);
		for (j = 0; j < i; j++) {
			if (strcmp(keys[j], keys[i]) == 0) {
				q = jsonstrict_quotes(keys[i]);
				call_error(call, PROTO_ERR_INVALID_ARGUMENT,
				    "settings", "'%s' is given twice; no "
				    "setting was set", q);
				free(q);
				goto out;
			}
		}
		if (device_config_check(cmld, keys[i], eq + 1, &canon[i],
		    &param, &cause) == -1) {
			call_error(call, PROTO_ERR_INVALID_ARGUMENT, "settings",
			    "%s; no setting was set", cause);
			goto out;
		}
	}
	if (device_config_set(cmld, (const char *const *)keys,
	    (const char *const *)canon, n, &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "%s", cause);
		goto out;
	}
	out = json_object_new_array();
	for (i = 0; i < n; i++) {
		o = json_object_new_object();
		json_object_object_add(o, "key", json_object_new_string(
		    keys[i]));
		json_object_object_add(o, "value", json_object_new_string(
		    canon[i]));
		json_object_array_add(out, o);
		t = xasprintf("%s%s%s=%s", summary != NULL ? summary : "",
		    summary != NULL ? ", " : "", keys[i], canon[i]);
		free(summary);
		summary = t;
	}
	if (provision_done(call, "settings", summary, NULL) == -1) {
		json_object_put(out);
		goto out;
	}
	call_set_details(call, "set %s", summary);
	o = json_object_new_object();
	json_object_object_add(o, "settings", out);
	provision_reply(call, "settings", o);
out:
	for (i = 0; i < n; i++) {
		free(keys[i]);
		free(canon[i]);
	}
	free(summary);
	free(cause);
}

/* --- Lock -------------------------------------------------------------------- */

void
cmd_provision_lock(struct call *call)
{
	struct cmld *cmld = call_cmld(call);
	struct store_provision_step row;
	struct json_object *p;
	char missing[256] = "", *cause = NULL;
	size_t i, len;
	int rc, n = 0;

	for (i = 0; i + 1 < STORE_PROVISION_NSTEPS; i++) {
		rc = provision_row(call, store_provision_steps[i], &row);
		if (rc == -1)
			return;
		if (rc == 1) {
			store_provision_step_clear(&row);
			continue;
		}
		len = strlen(missing);
		(void)snprintf(missing + len, sizeof missing - len, "%s%zu %s",
		    n++ > 0 ? ", " : "", i + 1, store_provision_steps[i]);
	}
	if (n > 0) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot lock: %s not "
		    "done: %s ('provision status' shows them)", n == 1 ?
		    "a step before it is" : "steps before it are", missing);
		return;
	}
	/*
	 * The step first, then the state: cut between them, the lock is
	 * done again (the state is what holds).
	 */
	if (provision_done(call, "lock", "provisioned: signed configs "
	    "required, factory-only commands refused, supplier anchors fixed",
	    NULL) == -1)
		return;
	if (store_device_set_state(cmld->store, "provisioned", &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot lock: %s",
		    cause);
		free(cause);
		return;
	}
	free(cmld->prov_state);
	cmld->prov_state = xstrdup("provisioned");
	log_info("the device is provisioned");
	call_set_details(call, "the device is provisioned, for good: signed "
	    "container configs required, factory-only commands refused, "
	    "supplier and device anchors fixed");
	p = json_object_new_object();
	json_object_object_add(p, "state",
	    json_object_new_string(cmld->prov_state));
	provision_reply(call, "lock", p);
}
