/*
 * org.cml.Update: looking into, installing and confirming signed update
 * bundles (TSF.UPD, NDR 3.10, NDR 3.10(1), COM 06).  Every bundle is
 * checked in full before a byte of it is installed: its signatures
 * against the anchors of its kind and the required signers, its version
 * against the floor the state store and the TPM hold; each payload is
 * hashed as it is copied, and moved into place at once.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "ctx.h"
#include "guestos-ready.h"
#include "guestos.h"
#include "handlers.h"
#include "log.h"
#include "measure.h"
#include "slot.h"
#include "store.h"
#include "tpm.h"
#include "update.h"
#include "xmalloc.h"

/* At most one progress reply per this many milliseconds. */
#define UPDATE_PROGRESS_MS 250
/* How many installs `update status` shows. */
#define UPDATE_STATUS_HISTORY 10

/* An Info or Install call, from the bundle to its answer. */
struct update_req {
	struct job job; /* first: the loop knows jobs by this */
	struct call *call;
	int install;
	struct update_bundle b;

	/* an install */
	long long id; /* its history row, 0 before */
	struct guestos_signed s;
	struct guestos_copy *copy;
	struct update_slot_copy *slot;
	long long last_ms;
	struct json_object *reply; /* the answer, once measured */
	char *detail; /* what an install did */
	int restart; /* cmld ends for the launcher after the answer */
};

static void
update_req_free(struct update_req *r)
{
	guestos_copy_free(r->copy);
	update_slot_free(r->slot);
	if (r->reply != NULL)
		json_object_put(r->reply);
	free(r->detail);
	guestos_signed_clear(&r->s);
	update_bundle_clear(&r->b);
	free(r);
}

/* Ends install r's history row (when it has one); logs a failure. */
static void
update_history_end(struct update_req *r, const char *result,
    const char *detail)
{
	char *cause = NULL;

	if (r->id == 0)
		return;
	if (store_update_end(call_cmld(r->call)->store, r->id, result, detail,
	    &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
	}
}

/* Refuses or fails the call: the history row ends as failed. */
static void
update_fail(struct update_req *r, const char *error, const char *cause)
{
	update_history_end(r, "failed", cause);
	call_error(r->call, error, NULL, "update %s refused: %s", r->b.name,
	    cause);
	update_req_free(r);
}

/* Finds payload name in the bundle; -1 when it has none. */
static ssize_t
update_payload_index(const struct update_bundle *b, const char *name)
{
	size_t i;

	for (i = 0; i < b->m.npayloads; i++) {
		if (strcmp(b->m.payloads[i].name, name) == 0)
			return (ssize_t)i;
	}
	return -1;
}

/*
 * Checks that a guest OS bundle is a guest OS: its signed manifest and
 * signature, and exactly the images they name, with the same sizes and
 * SHA-256 as the bundle's manifest; fills offsets.  -1 with *error and
 * *cause set.
 */
static int
update_guestos_payloads(struct update_req *r, long long *offsets,
    const char **error, char **cause)
{
	struct cmld *cmld = call_cmld(r->call);
	const struct bundle_payload *p;
	const struct guestos_manifest *m;
	ssize_t mi, si, k;
	size_t i;

	*error = PROTO_ERR_INVALID_ARGUMENT;
	if ((mi = update_payload_index(&r->b, GUESTOS_MANIFEST)) == -1 ||
	    (si = update_payload_index(&r->b, GUESTOS_SIGNATURE)) == -1) {
		*cause = xstrdup("a guest OS bundle carries the guest OS's "
		    GUESTOS_MANIFEST " and " GUESTOS_SIGNATURE ", and this one "
		    "does not");
		return -1;
	}
	*error = PROTO_ERR_INTEGRITY;
	if (update_payload_read(&r->b, (size_t)mi, GUESTOS_MANIFEST_MAX,
	    &r->s.manifest, &r->s.manifest_len, cause) == -1 ||
	    update_payload_read(&r->b, (size_t)si, GUESTOS_SIG_MAX,
	    &r->s.sig, &r->s.sig_len, cause) == -1)
		return -1;
	if (guestos_signed_check(cmld, &r->s, 0, error, cause) == -1)
		return -1;
	m = &r->s.m;
	*error = PROTO_ERR_INVALID_ARGUMENT;
	if (strcmp(m->name, r->b.m.name) != 0 ||
	    names_version_cmp(m->version, r->b.m.version) != 0) {
		*cause = xasprintf("the bundle is %s %s, its guest OS manifest "
		    "says %s %s", r->b.m.name, r->b.m.version, m->name,
		    m->version);
		return -1;
	}
	if (r->b.m.npayloads != m->nimages + 2) {
		*cause = xasprintf("the bundle carries %zu payloads besides the "
		    "manifest and its signature, the guest OS has %zu images",
		    r->b.m.npayloads - 2, m->nimages);
		return -1;
	}
	*error = PROTO_ERR_INTEGRITY;
	for (i = 0; i < m->nimages; i++) {
		if ((k = update_payload_index(&r->b, m->images[i].file)) ==
		    -1) {
			*error = PROTO_ERR_INVALID_ARGUMENT;
			*cause = xasprintf("image %s of the guest OS is not in "
			    "the bundle", m->images[i].file);
			return -1;
		}
		p = &r->b.m.payloads[k];
		/* One hash serves both: the bundle's and the guest OS's. */
		if ((long long)p->size != m->images[i].size ||
		    strcmp(p->sha256, m->images[i].sha256) != 0) {
			*cause = xasprintf("image %s: the bundle says %llu "
			    "bytes with SHA-256 %s, the guest OS manifest %lld "
			    "bytes with %s", m->images[i].file,
			    (unsigned long long)p->size, p->sha256,
			    m->images[i].size, m->images[i].sha256);
			return -1;
		}
		offsets[i] = (long long)p->offset;
	}
	return 0;
}

/* The install is measured (or could not be): the answer goes out. */
static void
update_measured(void *arg, const char *error, const char *cause)
{
	struct update_req *r = arg;
	struct cmld *cmld = call_cmld(r->call);
	int restart = r->restart;

	json_object_object_add(r->reply, "measured", json_object_new_string(
	    error == NULL ? "yes" : cause != NULL ? cause : error));
	if (error != NULL)
		log_warnx("install %lld of %s %s %s is in place but not "
		    "measured: %s", r->id, bundle_kind_name(r->b.m.kind),
		    r->b.m.name, r->b.m.version, cause != NULL ? cause : error);
	call_reply(r->call, r->reply);
	r->reply = NULL;
	update_req_free(r);
	/* The launcher starts the new slot once this cmld ended. */
	if (restart)
		update_slot_restart(cmld);
}

/*
 * Answers an install that is in place (result, detail): its measurement
 * first (measure.h: the PCR extended, the log entry written), so that a
 * receipt covers it, then the answer.
 */
static void
update_answer(struct update_req *r, const char *result, const char *detail)
{
	struct cmld *cmld = call_cmld(r->call);
	char *cause = NULL;

	r->reply = json_object_new_object();
	json_object_object_add(r->reply, "id", json_object_new_int64(r->id));
	json_object_object_add(r->reply, "kind", json_object_new_string(
	    bundle_kind_name(r->b.m.kind)));
	json_object_object_add(r->reply, "name",
	    json_object_new_string(r->b.m.name));
	json_object_object_add(r->reply, "version",
	    json_object_new_string(r->b.m.version));
	json_object_object_add(r->reply, "result",
	    json_object_new_string(result));
	if (detail != NULL)
		json_object_object_add(r->reply, "detail",
		    json_object_new_string(detail));
	if (r->slot != NULL)
		json_object_object_add(r->reply, "slot",
		    json_object_new_string(update_slot_name(r->slot)));
	if (strcmp(tpm_state(cmld), "absent") == 0) {
		update_measured(r, PROTO_ERR_FAILED, "no TPM: cmld runs "
		    "without tpm2d");
		return;
	}
	if (measure_install(cmld, bundle_kind_name(r->b.m.kind), r->b.m.name,
	    r->b.m.version, r->b.digest, update_measured, r, &cause) == -1) {
		update_measured(r, PROTO_ERR_FAILED, cause);
		free(cause);
	}
}

/* The floor is raised, in the TPM too: the answer, once measured. */
static void
update_raised(void *arg)
{
	struct update_req *r = arg;

	update_answer(r, "installed", r->detail);
}

/* Copies a step of a guest OS; at the end moves it into place. */
static int
update_guestos_step(struct job *job)
{
	struct update_req *r = (struct update_req *)job;
	struct guestos_progress p;
	char *cause = NULL, *path = NULL, *why = NULL;
	long long now;
	int rc;

	rc = guestos_copy_step(r->copy, GUESTOS_STEP, &cause);
	if (rc == 0) {
		now = loop_now_ms();
		if (now - r->last_ms >= UPDATE_PROGRESS_MS) {
			r->last_ms = now;
			guestos_copy_progress(r->copy, &p);
			call_reply_more(r->call, guestos_progress_reply(&p));
		}
		return JOB_AGAIN;
	}
	if (rc == -1) {
		update_fail(r, PROTO_ERR_INTEGRITY, cause);
		free(cause);
		return JOB_DONE;
	}
	if (guestos_copy_commit(r->copy, &path, &cause) == -1) {
		update_fail(r, PROTO_ERR_FAILED, cause);
		free(cause);
		return JOB_DONE;
	}
	if (guestos_store_installed(call_cmld(r->call), &r->s, path, &cause) ==
	    -1) {
		if (guestos_remove_dir(path, &why) == -1) {
			log_warnx("cannot remove %s: %s", path, why);
			free(why);
		}
		update_fail(r, PROTO_ERR_FAILED, cause);
		free(cause);
		free(path);
		return JOB_DONE;
	}
	free(path);
	/*
	 * The floor before the history: a cut between the two leaves the row
	 * installing, which the next start completes (floor included).
	 */
	if (store_floor_raise(call_cmld(r->call)->store, "guestos",
	    r->b.m.name, r->b.m.version, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		cause = NULL;
	}
	update_history_end(r, "installed", NULL);
	call_set_details(r->call, "installed guestos %s %s from %s (bundle "
	    "%s), signed by %s", r->b.m.name, r->b.m.version, r->b.name,
	    r->b.digest, r->s.signer.subject);
	update_floor_raise_then(call_cmld(r->call), "guestos", r->b.m.name,
	    r->b.m.version, update_raised, r);
	return JOB_DONE;
}

/* Abandons an install at shutdown: the next start rolls it back. */
static void
update_cancel(struct job *job)
{
	struct update_req *r = (struct update_req *)job;

	call_error(r->call, PROTO_ERR_FAILED, NULL, "cmld is stopping: the "
	    "install of %s was abandoned and nothing was installed",
	    r->b.name);
	update_history_end(r, "rolled-back", "cmld stopped during the "
	    "install");
	update_req_free(r);
}

/* The install's history row, to begin (u->signers is the caller's). */
static void
update_history_row(struct update_req *r, struct store_update *u)
{
	memset(u, 0, sizeof *u);
	u->kind = (char *)bundle_kind_name(r->b.m.kind);
	u->name = r->b.m.name;
	u->version = r->b.m.version;
	u->digest = r->b.digest;
	u->size = (long long)r->b.l.size;
	u->signers = update_signers_json(&r->b);
}

/* Records the install beginning in the history; -1 with *cause set. */
static int
update_history_begin(struct update_req *r, char **cause)
{
	struct store_update u;
	int rc;

	update_history_row(r, &u);
	rc = store_update_begin(call_cmld(r->call)->store, &u, cause);
	free(u.signers);
	if (rc == 0)
		r->id = u.id;
	return rc;
}

/* The subject of the first signature that counts. */
static const char *
update_signer(const struct update_bundle *b)
{
	size_t i;

	for (i = 0; i < b->l.nsigs; i++) {
		if (b->sig[i].counts)
			return b->sig[i].signer.subject;
	}
	return "";
}

/* Installs checked container configs, all in one transaction. */
static void
update_install_configs(struct update_req *r)
{
	struct cmld *cmld = call_cmld(r->call);
	struct store_update u;
	const char *error;
	char *cause = NULL, *detail = NULL;
	int rc;

	update_history_row(r, &u);
	rc = update_configs_install(cmld, &r->b, update_signer(&r->b), &u,
	    &detail, &error, &cause);
	free(u.signers);
	if (rc == -1) {
		update_fail(r, error, cause);
		free(cause);
		return;
	}
	r->id = u.id;
	call_set_details(r->call, "installed configs %s %s from %s (bundle "
	    "%s), signed by %s: %s", r->b.m.name, r->b.m.version, r->b.name,
	    r->b.digest, update_signer(&r->b), detail);
	r->detail = detail;
	update_floor_raise_then(cmld, "configs", r->b.m.name, r->b.m.version,
	    update_raised, r);
}

/*
 * Copies a step of cml or the boot image into its slot; at the end marks
 * it to be tried once.
 */
static int
update_slot_job(struct job *job)
{
	struct update_req *r = (struct update_req *)job;
	struct guestos_progress p;
	const char *kind = bundle_kind_name(r->b.m.kind);
	char *cause = NULL, *detail;
	long long now;
	int rc, cml = r->b.m.kind == BUNDLE_CML;

	rc = update_slot_step(r->slot, &r->b, &cause);
	if (rc == 0) {
		now = loop_now_ms();
		if (now - r->last_ms >= UPDATE_PROGRESS_MS) {
			r->last_ms = now;
			update_slot_progress(r->slot, &r->b, &p);
			call_reply_more(r->call, guestos_progress_reply(&p));
		}
		return JOB_AGAIN;
	}
	if (rc == -1 || update_slot_commit(r->slot, r->b.m.version,
	    &cause) == -1) {
		update_fail(r, PROTO_ERR_INTEGRITY, cause);
		free(cause);
		return JOB_DONE;
	}
	if (cml)
		detail = xasprintf("written to slot %s, to be tried at the "
		    "restart that follows and confirmed once cmld and c0 are "
		    "up", update_slot_name(r->slot));
	else
		detail = xasprintf("written to slot %s: boots from slot %s at "
		    "the next start, once, and is confirmed once cmld and c0 "
		    "are up", update_slot_name(r->slot),
		    update_slot_name(r->slot));
	update_history_end(r, "pending", detail);
	call_set_details(r->call, "installed %s %s %s from %s (bundle %s) "
	    "into slot %s, to be tried once", kind, r->b.m.name,
	    r->b.m.version, r->b.name, r->b.digest, update_slot_name(r->slot));
	/* The launcher starts the new slot of cml once this cmld ended. */
	r->restart = cml;
	update_answer(r, "pending", detail);
	free(detail);
	return JOB_DONE;
}

/* Starts installing a checked cml or boot bundle into the inactive slot. */
static void
update_install_slot(struct update_req *r)
{
	struct cmld *cmld = call_cmld(r->call);
	char *cause = NULL;

	if (update_history_begin(r, &cause) == -1 ||
	    (r->slot = update_slot_begin(update_slots_of(cmld, r->b.m.kind),
	    &r->b, &cause)) == NULL) {
		update_fail(r, PROTO_ERR_FAILED, cause);
		free(cause);
		return;
	}
	r->job.step = update_slot_job;
	r->job.cancel = update_cancel;
	r->last_ms = 0;
	loop_job_add(cmld->loop, &r->job);
}

/* Starts installing a checked guest OS bundle. */
static void
update_install_guestos(struct update_req *r)
{
	struct cmld *cmld = call_cmld(r->call);
	long long offsets[GUESTOS_IMAGES_MAX];
	const char *error;
	char *cause = NULL, *newest = NULL, *root;

	if (update_guestos_payloads(r, offsets, &error, &cause) == -1)
		goto fail;
	error = PROTO_ERR_FAILED;
	if (guestos_newest(cmld, r->b.m.name, r->b.m.version, &newest,
	    &cause) == -1)
		goto fail;
	if (newest != NULL && names_version_cmp(newest, r->b.m.version) ==
	    0) {
		error = PROTO_ERR_DOWNGRADE;
		cause = xasprintf("guest OS %s %s is already installed",
		    r->b.m.name, newest);
		goto fail;
	}

	if (update_history_begin(r, &cause) == -1)
		goto fail;

	root = guestos_root(cmld);
	r->copy = guestos_copy_begin_at(r->b.fd, offsets, r->b.name, root,
	    &r->s.m, r->s.manifest, r->s.manifest_len, r->s.sig, r->s.sig_len,
	    &cause);
	free(root);
	if (r->copy == NULL)
		goto fail;
	r->job.step = update_guestos_step;
	r->job.cancel = update_cancel;
	r->last_ms = 0;
	loop_job_add(cmld->loop, &r->job);
	free(newest);
	return;
fail:
	free(newest);
	update_fail(r, error, cause);
	free(cause);
}

/* The bundle is checked: answer Info, or go on installing. */
static void
update_checked(struct update_req *r, int tpm_avail, const char *tpm_floor,
    const char *tpm_note)
{
	update_check(call_cmld(r->call), &r->b, tpm_avail, tpm_floor,
	    tpm_note);
	if (!r->install) {
		call_reply(r->call, update_info_json(&r->b));
		update_req_free(r);
		return;
	}
	if (!r->b.installable) {
		update_fail(r, r->b.error, r->b.reason);
		return;
	}
	switch (r->b.m.kind) {
	case BUNDLE_GUESTOS:
		update_install_guestos(r);
		return;
	case BUNDLE_CML:
	case BUNDLE_BOOT:
		update_install_slot(r);
		return;
	case BUNDLE_CONFIGS:
		update_install_configs(r);
		return;
		break;
	}
	update_fail(r, PROTO_ERR_FAILED, "this kind of bundle is not "
	    "installed on this device");
}

/* tpm2d's floor of the bundle's kind and name, if any. */
static void
update_floors(void *arg, int avail, const char *tpm_floor, const char *note)
{
	update_checked(arg, avail, tpm_floor, note);
}

/* Info and Install: read the bundle, then ask tpm2d for its floors. */
static void
update_begin(struct call *call, int install)
{
	struct cmld *cmld = call_cmld(call);
	struct update_req *r;
	struct json_object *bundle;
	const char *name, *error;
	char *cause = NULL;

	bundle = json_object_object_get(call->params, "bundle");
	name = json_object_get_string(json_object_object_get(bundle, "name"));
	r = xcalloc(1, sizeof *r);
	r->call = call;
	r->install = install;
	if (update_open(call_take_fd(call, "bundle", "fd"), name, &r->b,
	    &error, &cause) == -1) {
		call_error(call, error, "bundle", "update %s refused: %s",
		    name, cause);
		free(cause);
		update_req_free(r);
		return;
	}
	call_defer(call);
	update_floor_ask(cmld, bundle_kind_name(r->b.m.kind), r->b.m.name,
	    update_floors, r);
}

void
cmd_update_info(struct call *call)
{
	update_begin(call, 0);
}

void
cmd_update_install(struct call *call)
{
	update_begin(call, 1);
}

/* Adds a floor to the Status reply. */
static int
update_status_floor(const char *kind, const char *name, const char *version,
    long long time_ms, void *arg)
{
	struct json_object *o = json_object_new_object();

	(void)time_ms;
	json_object_object_add(o, "kind", json_object_new_string(kind));
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "version", json_object_new_string(version));
	json_object_array_add(arg, o);
	return 0;
}

/* Adds an install to the Status reply. */
static int
update_status_install(const struct store_update *u, void *arg)
{
	struct json_object *o = json_object_new_object();
	char when[32];

	audit_format_time(u->time_ms, when, sizeof when);
	json_object_object_add(o, "id", json_object_new_int64(u->id));
	json_object_object_add(o, "time", json_object_new_string(when));
	json_object_object_add(o, "kind", json_object_new_string(u->kind));
	json_object_object_add(o, "name", json_object_new_string(u->name));
	json_object_object_add(o, "version",
	    json_object_new_string(u->version));
	json_object_object_add(o, "digest", json_object_new_string(u->digest));
	json_object_object_add(o, "result", json_object_new_string(u->result));
	if (u->detail != NULL)
		json_object_object_add(o, "detail",
		    json_object_new_string(u->detail));
	json_object_array_add(arg, o);
	return 0;
}

void
cmd_update_status(struct call *call)
{
	static const char *const kinds[] = { "guestos", "configs", "cml",
	    "boot" };
	struct cmld *cmld = call_cmld(call);
	struct json_object *o, *floors, *history, *signers, *slots, *q, *a;
	char *cause = NULL, *key, *value, *p, *end;
	size_t i;

	floors = json_object_new_array();
	history = json_object_new_array();
	signers = json_object_new_array();
	if (store_floor_list(cmld->store, update_status_floor, floors,
	    &cause) == -1 || store_update_list(cmld->store,
	    UPDATE_STATUS_HISTORY, update_status_install, history,
	    &cause) == -1)
		goto fail;
	for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		key = xasprintf("update_signers_%s", kinds[i]);
		value = NULL;
		if (store_setting_get(cmld->store, key, &value, &cause) == -1) {
			free(key);
			goto fail;
		}
		free(key);
		if (value != NULL && *value != '\0') {
			q = json_object_new_object();
			json_object_object_add(q, "kind",
			    json_object_new_string(kinds[i]));
			json_object_object_add(q, "required",
			    json_object_new_int64(strtol(value, &end, 10)));
			a = json_object_new_array();
			for (p = strtok(end + 1, ","); p != NULL;
			    p = strtok(NULL, ","))
				json_object_array_add(a,
				    json_object_new_string(p));
			json_object_object_add(q, "signers", a);
			json_object_array_add(signers, q);
		}
		free(value);
	}
	slots = json_object_new_array();
	if ((q = update_slots_json(&cmld->cml_slots)) != NULL)
		json_object_array_add(slots, q);
	if ((q = update_slots_json(&cmld->boot_slots)) != NULL)
		json_object_array_add(slots, q);
	o = json_object_new_object();
	json_object_object_add(o, "slots", slots);
	json_object_object_add(o, "floors", floors);
	json_object_object_add(o, "tpm_floors", json_object_new_string(
	    strcmp(tpm_state(cmld), "absent") == 0 ? "no TPM" :
	    "held by the TPM too, checked at each install"));
	json_object_object_add(o, "signers", signers);
	json_object_object_add(o, "history", history);
	call_reply(call, o);
	return;
fail:
	json_object_put(floors);
	json_object_put(history);
	json_object_put(signers);
	call_error(call, PROTO_ERR_FAILED, NULL, "cannot read the update "
	    "state: %s", cause);
	free(cause);
}

/* Appends item (taken) to the list *list, "; " between. */
static void
update_join(char **list, char *item)
{
	char *t;

	t = xasprintf("%s%s%s", *list != NULL ? *list : "",
	    *list != NULL ? "; " : "", item);
	free(*list);
	free(item);
	*list = t;
}

void
cmd_update_mark_good(struct call *call)
{
	struct cmld *cmld = call_cmld(call);
	struct cmld_slots *all[] = { &cmld->cml_slots, &cmld->boot_slots };
	struct json_object *o;
	char *what = NULL, *cause = NULL, *whats = NULL, *causes = NULL;
	const char *kinds = NULL;
	size_t i;

	/* each pair that runs from a known slot: cml's, the boot image's */
	for (i = 0; i < 2; i++) {
		if (all[i]->dir == NULL || all[i]->running == SLOT_NONE)
			continue;
		if (update_slots_confirm(all[i], 0, &what, &cause) == -1) {
			update_join(&causes, cause);
			cause = NULL;
			continue;
		}
		update_join(&whats, what);
		what = NULL;
		kinds = kinds == NULL ? all[i]->kind : "cml and boot";
	}
	if (causes == NULL && whats == NULL)
		causes = xstrdup("neither cml nor the kernel runs from A/B "
		    "slots here (cml-launch(8), cml-bootpick(8)): there is no "
		    "slot to confirm");
	if (causes != NULL) {
		call_error(call, PROTO_ERR_FAILED, NULL, "%s%s%s%s", causes,
		    whats != NULL ? " (done: " : "", whats != NULL ? whats : "",
		    whats != NULL ? ")" : "");
		if (whats != NULL)
			call_set_details(call, "%s", whats);
		goto out;
	}
	call_set_details(call, "%s", whats);
	o = json_object_new_object();
	json_object_object_add(o, "what", json_object_new_string(kinds));
	json_object_object_add(o, "slot", json_object_new_string(whats));
	call_reply(call, o);
out:
	free(causes);
	free(whats);
}

/* Ends one install a stop interrupted: what is in place says how. */
static int
update_reconcile_cb(const struct store_update *u, void *arg)
{
	struct cmld *cmld = arg;
	struct store_guestos g;
	const char *result = "rolled-back";
	char *cause = NULL, *detail;
	int rc = 0;

	if (strcmp(u->result, "installing") != 0)
		return 0;
	if (strcmp(u->kind, "guestos") == 0) {
		rc = store_guestos_get(cmld->store, u->name, u->version, &g,
		    &cause);
		if (rc == 1) {
			store_guestos_clear(&g);
			result = "installed";
		} else if (rc == -1) {
			log_warnx("%s", cause);
			free(cause);
			return 0;
		}
	}
	/* Its slot marked: the trial ends it, confirmed or fallen back. */
	if (update_slot_marked(cmld, u->kind, u->version))
		result = "pending";
	if (strcmp(result, "installed") == 0) {
		detail = xstrdup("interrupted after it was in place: completed "
		    "at the next start");
		update_floor_raise(cmld, u->kind, u->name, u->version);
	} else if (strcmp(result, "pending") == 0)
		detail = xstrdup("interrupted after its slot was marked: "
		    "pending at the next start, to be confirmed or to fall "
		    "back");
	else
		detail = xstrdup("interrupted before it was in place: rolled "
		    "back at the next start, nothing of it is installed");
	if (store_update_end(cmld->store, u->id, result, detail, &cause) ==
	    -1) {
		log_warnx("%s", cause);
		free(cause);
	}
	audit_write(cmld, "update", u->name, strcmp(result, "rolled-back") !=
	    0 ? "ok" : "rolled-back", "install %lld of %s %s %s (bundle %s) "
	    "was %s", u->id, u->kind, u->name, u->version, u->digest, detail);
	log_info("install %lld of %s %s %s was %s", u->id, u->kind, u->name,
	    u->version, detail);
	free(detail);
	return 0;
}

void
update_reconcile(struct cmld *cmld)
{
	char *cause = NULL;

	/* Only the newest rows can still be installing. */
	if (store_update_list(cmld->store, STORE_UPDATE_HISTORY_MAX,
	    update_reconcile_cb, cmld, &cause) == -1) {
		log_warnx("cannot end interrupted installs: %s", cause);
		free(cause);
	}
}
