/*
 * container wipe: a container's data destroyed for good, and the proof
 * (CR 4.2(2)).  A job: a child of cmld overwrites the LUKS2 header and
 * keyslots of the encrypted volume (a plain volume whole), removes the
 * volume file and checks that no file and no device-mapper device of it
 * remain (c-volume.c); then the wrapped key is deleted from the store with
 * secure_delete, the write-ahead log truncated, and the database's files
 * are scanned for the wrapped key's bytes (store.c).  The answer says each
 * check; it is audited.  The container stays, with its token: its next
 * start makes a new key and a new, empty volume.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "c-volume.h"
#include "ctr.h"
#include "ctx.h"
#include "handlers.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"

/* A wipe under way. */
struct ctr_wipe {
	struct job job; /* first: the loop knows jobs by this */
	struct ctr *k;
	struct call *call;
	struct cvol *vol;
};

/* Ends a wipe: the container may start again. */
static void
ctr_wipe_free(struct ctr_wipe *w)
{
	w->k->wiping = 0;
	cvol_free(w->vol);
	free(w);
}

/* Adds member key with text to o, if there is text. */
static void
ctr_wipe_add(struct json_object *o, const char *key, const char *text)
{
	if (text != NULL)
		json_object_object_add(o, key, json_object_new_string(text));
}

/* The volume is gone: now the key, then the answer. */
static void
ctr_wipe_key(struct ctr_wipe *w)
{
	struct ctr *k = w->k;
	struct json_object *o;
	char *report = NULL, *cause = NULL;
	int rc;

	rc = store_container_key_wipe(k->cmld->store, k->name, &report,
	    &cause);
	if (rc == -1) {
		call_error(w->call, PROTO_ERR_FAILED, NULL, "container '%s': "
		    "its volume is destroyed (%s), but its wrapped key is not "
		    "proven gone: %s", k->name, cvol_wipe_volume(w->vol),
		    cause);
		free(cause);
		free(report);
		return;
	}
	if (rc == 0) {
		free(report);
		report = xstrdup("there was no wrapped key");
	}
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(k->name));
	ctr_wipe_add(o, "header", cvol_wipe_header(w->vol));
	ctr_wipe_add(o, "volume", cvol_wipe_volume(w->vol));
	ctr_wipe_add(o, "device", cvol_wipe_device(w->vol));
	json_object_object_add(o, "key", json_object_new_string(report));
	json_object_object_add(o, "verified", json_object_new_boolean(1));
	call_set_details(w->call, "wiped container %s's data and verified "
	    "it: header: %s; volume: %s; device: %s; key: %s", k->name,
	    cvol_wipe_header(w->vol) != NULL ? cvol_wipe_header(w->vol) :
	    "none", cvol_wipe_volume(w->vol) != NULL ?
	    cvol_wipe_volume(w->vol) : "none", cvol_wipe_device(w->vol) !=
	    NULL ? cvol_wipe_device(w->vol) : "none", report);
	log_info("container %s: its data was wiped and the wipe verified",
	    k->name);
	ctr_set_state(k, "stopped", "its data was wiped: its next start "
	    "makes a new key and volume", NULL);
	call_reply(w->call, o);
	free(report);
}

/* Waits a step for the child that destroys the volume. */
static int
ctr_wipe_step(struct job *job)
{
	struct ctr_wipe *w = (struct ctr_wipe *)job;
	char *cause = NULL;
	int rc;

	if ((rc = cvol_step(w->vol, &cause)) == 0)
		return JOB_AGAIN;
	if (rc == -1) {
		call_error(w->call, PROTO_ERR_FAILED, NULL, "container '%s': "
		    "its data is not proven wiped: %s (its wrapped key is "
		    "kept: 'container wipe %s' again)", w->k->name, cause,
		    w->k->name);
		free(cause);
	} else
		ctr_wipe_key(w);
	ctr_wipe_free(w);
	return JOB_DONE;
}

/* Abandons a wipe at shutdown. */
static void
ctr_wipe_cancel(struct job *job)
{
	struct ctr_wipe *w = (struct ctr_wipe *)job;

	call_error(w->call, PROTO_ERR_FAILED, NULL, "container '%s': cmld is "
	    "stopping: its data is not proven wiped ('container wipe %s' "
	    "again)", w->k->name, w->k->name);
	ctr_wipe_free(w);
}

void
cmd_container_wipe(struct call *call)
{
	struct cmld *cmld = call_cmld(call);
	struct ctr_wipe *w;
	struct ctr *k;
	const char *name;
	char *cause = NULL;

	name = json_object_get_string(json_object_object_get(call->params,
	    "name"));
	if ((k = ctr_find(cmld, name)) == NULL) {
		call_error(call, PROTO_ERR_NOT_FOUND, "name", "no container "
		    "'%s': 'container list' shows them", name);
		return;
	}
	if (k->rt != NULL || k->starting || k->wiping) {
		call_error(call, PROTO_ERR_BUSY, "name", "container '%s' is "
		    "%s: stop it first; its data is wiped only while nothing "
		    "uses it", k->name, k->wiping ? "being wiped" : k->state);
		return;
	}
	w = xcalloc(1, sizeof *w);
	w->k = k;
	w->call = call;
	if ((w->vol = cvol_wipe(cmld->state_dir, k->name, k->id,
	    &cause)) == NULL) {
		call_error(call, PROTO_ERR_FAILED, NULL, "container '%s': "
		    "cannot wipe its data: %s", k->name, cause);
		free(cause);
		free(w);
		return;
	}
	k->wiping = 1;
	w->job.step = ctr_wipe_step;
	w->job.cancel = ctr_wipe_cancel;
	call_defer(call);
	loop_job_add(cmld->loop, &w->job);
}
