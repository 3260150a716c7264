/*
 * Version floors (TSF.UPD, NDR 3.10(1)): nothing older than an installed
 * update installs.  The floor of each kind and name is kept in the state
 * store and, where tpm2d has a floor index, in the TPM; the higher one
 * counts, and each is raised from the other, so that a store restored from
 * an older copy does not lower it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "crypto.h"
#include "ctx.h"
#include "log.h"
#include "names.h"
#include "proto.h"
#include "store.h"
#include "tpm.h"
#include "update.h"
#include "xmalloc.h"

void
update_floor_key(const char *kind, const char *name, char out[17])
{
	unsigned char key[CRYPTO_FLOOR_KEY_LEN];

	crypto_floor_key(kind, name, key);
	crypto_hex(key, sizeof key, out);
}

int
update_floor_check(struct cmld *cmld, const char *kind, const char *name,
    const char *version, int tpm_avail, const char *tpm_floor,
    const char *tpm_note, char **floor, const char **error, char **cause)
{
	const char *holder;

	*floor = NULL;
	*error = PROTO_ERR_FAILED;
	if (store_floor_get(cmld->store, kind, name, floor, cause) == -1)
		return -1;
	/* A store restored from an older copy: the TPM knows better. */
	if (tpm_floor != NULL && (*floor == NULL ||
	    names_version_cmp(tpm_floor, *floor) > 0)) {
		if (store_floor_raise(cmld->store, kind, name, tpm_floor,
		    cause) == -1)
			return -1;
		audit_write(cmld, "update", name, "restored", "version floor "
		    "of %s %s raised from %s to %s, as the TPM holds it", kind,
		    name, *floor != NULL ? *floor : "none", tpm_floor);
		free(*floor);
		*floor = xstrdup(tpm_floor);
	}
	/* The TPM's below the store's: an earlier raise did not reach it. */
	if (tpm_avail && *floor != NULL && (tpm_floor == NULL ||
	    names_version_cmp(*floor, tpm_floor) > 0))
		update_floor_raise(cmld, kind, name, *floor);
	if (tpm_note != NULL) {
		*cause = xasprintf("the version floor the TPM holds cannot be "
		    "read: %s", tpm_note);
		return -1;
	}
	if (*floor != NULL && names_version_cmp(version, *floor) < 0) {
		holder = tpm_floor != NULL && names_version_cmp(tpm_floor,
		    *floor) == 0 ? "the TPM and the state store" :
		    "the state store";
		*error = PROTO_ERR_DOWNGRADE;
		*cause = xasprintf("%s %s %s is below the version floor %s "
		    "(held by %s): nothing older than an installed update "
		    "installs", kind, name, version, *floor, holder);
		return -1;
	}
	return 0;
}

/* A raise of a floor in the TPM, for update_floor_raise_then. */
struct update_raise {
	char *what;
	void (*done)(void *);
	void *arg;
};

/* tpm2d raised a floor, or could not: the state store keeps it anyway. */
static void
update_floor_raised(void *arg, const char *error, struct json_object *params)
{
	struct update_raise *ur = arg;

	if (error != NULL)
		log_warnx("the TPM did not raise the version floor of %s: %s "
		    "(the state store holds it; the next check tries again)",
		    ur->what, tpm_error_message(params));
	if (ur->done != NULL)
		ur->done(ur->arg);
	free(ur->what);
	free(ur);
}

void
update_floor_raise(struct cmld *cmld, const char *kind, const char *name,
    const char *version)
{
	update_floor_raise_then(cmld, kind, name, version, NULL, NULL);
}

void
update_floor_raise_then(struct cmld *cmld, const char *kind,
    const char *name, const char *version, void (*done)(void *), void *arg)
{
	struct update_raise *ur;
	struct json_object *p;
	char *cause = NULL;

	if (store_floor_raise(cmld->store, kind, name, version, &cause) ==
	    -1) {
		log_warnx("%s", cause);
		free(cause);
		cause = NULL;
	}
	ur = xcalloc(1, sizeof *ur);
	ur->what = xasprintf("%s %s to %s", kind, name, version);
	ur->done = done;
	ur->arg = arg;
	if (strcmp(tpm_state(cmld), "absent") == 0) {
		update_floor_raised(ur, NULL, NULL);
		return;
	}
	p = json_object_new_object();
	json_object_object_add(p, "kind", json_object_new_string(kind));
	json_object_object_add(p, "name", json_object_new_string(name));
	json_object_object_add(p, "version", json_object_new_string(version));
	if (tpm_call(cmld, "RaiseFloor", p, update_floor_raised, ur,
	    &cause) == -1) {
		log_warnx("the TPM's version floor of %s stays: %s", ur->what,
		    cause);
		free(cause);
		update_floor_raised(ur, NULL, NULL);
	}
}

/* A question to tpm2d for the floor of kind and name. */
struct update_floor_q {
	char *kind;
	char *name;
	update_floor_cb cb;
	void *arg;
	/* without an answer of tpm2d: why, given from the loop */
	struct loop_timer later;
	char *note;
};

/* Releases a question. */
static void
update_floor_q_free(struct update_floor_q *q)
{
	free(q->note);
	free(q->kind);
	free(q->name);
	free(q);
}

/*
 * Answers a question tpm2d is not asked (no TPM, tpm2d down) from the
 * loop, as tpm2d's answers come: the caller has deferred its call and
 * must not be answered inside its handler.
 */
static void
update_floor_later(struct loop_timer *t)
{
	struct update_floor_q *q = t->arg;

	q->cb(q->arg, 0, NULL, q->note);
	update_floor_q_free(q);
}

/* tpm2d's floors: the one asked for, if the TPM holds it. */
static void
update_floor_answer(void *arg, const char *error, struct json_object *params)
{
	struct update_floor_q *q = arg;
	struct json_object *floors, *e, *v;
	const char *key, *version = NULL, *note = NULL;
	char want[17];
	size_t i, n;
	int avail = 0;

	if (error != NULL) {
		/* A tpm2d without a floor index has no floors to give. */
		if (strcmp(error, PROTO_ERR_METHOD_NOT_FOUND) != 0)
			note = tpm_error_message(params);
		goto out;
	}
	v = json_object_object_get(params, "available");
	if (v == NULL || !json_object_get_boolean(v))
		goto out;
	avail = 1;
	update_floor_key(q->kind, q->name, want);
	floors = json_object_object_get(params, "floors");
	n = json_object_is_type(floors, json_type_array) ?
	    json_object_array_length(floors) : 0;
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(floors, i);
		key = json_object_get_string(json_object_object_get(e, "key"));
		if (key != NULL && strcmp(key, want) == 0) {
			version = json_object_get_string(
			    json_object_object_get(e, "version"));
			break;
		}
	}
	if (version != NULL && !names_version_ok(version)) {
		avail = 0;
		version = NULL;
		note = "tpm2d answered a floor that is not a version";
	}
out:
	q->cb(q->arg, avail, version, note);
	update_floor_q_free(q);
}

void
update_floor_ask(struct cmld *cmld, const char *kind, const char *name,
    update_floor_cb cb, void *arg)
{
	struct update_floor_q *q;
	char *cause = NULL;

	q = xcalloc(1, sizeof *q);
	q->kind = xstrdup(kind);
	q->name = xstrdup(name);
	q->cb = cb;
	q->arg = arg;
	if (strcmp(tpm_state(cmld), "absent") != 0 && tpm_call(cmld, "Floors",
	    NULL, update_floor_answer, q, &cause) == 0)
		return;
	q->note = cause;
	loop_timer_init(&q->later, update_floor_later, q);
	loop_timer_start(cmld->loop, &q->later, 0);
}
