/*
 * device wipe (org.cml.Device.Wipe): the device back to factory, every
 * key and all state destroyed, and the proof (CR 4.2, CR 4.2(1),
 * CR 4.2(2)).  A job in phases, each waiting in the loop for what it
 * asked, never blocking it:
 *
 *   1. every container is stopped (ctr_end, SIGKILL after the stop
 *      timeout), waited for at most the stop timeout and a margin; until
 *      then nothing is destroyed, and a container that does not end
 *      fails the wipe with nothing lost;
 *   2. each container's data volume is destroyed and checked (c-volume.c),
 *      its wrapped key deleted and proven gone from the database files
 *      (store.c), and the container forgotten with its config (ctr.c);
 *   3. scd removes every token it holds (org.cml.SCD.List, then Remove);
 *   4. tpm2d evicts the device and attestation keys (WipeIdentity) and
 *      destroys the sealed system key (ResetSystemKey);
 *   5. the device certificate, the trust anchors, the settings and the
 *      provisioning steps are deleted, the state is factory again and
 *      cmld applies the defaults;
 *   6. the audit trail, whose checkpoints the destroyed device key signed,
 *      is destroyed, and a new chain begins with a record by the caller
 *      naming the trail destroyed and what the wipe did (audit_restart);
 *   7. each is checked: the store's tables, the data volumes, scd's
 *      tokens and tpm2d's keys; the answer lists every check.
 *
 * A step that fails is named and the wipe goes on: what can be destroyed
 * is, the answer fails naming what remains, and a second wipe finishes
 * the job (every step is idempotent).  While the wipe runs cmld refuses
 * every other change (control.c).  Guest OS images stay: they are
 * software, not state.
 */
#include "config.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "c-volume.h"
#include "ctr.h"
#include "ctx.h"
#include "device.h"
#include "forward.h"
#include "handlers.h"
#include "log.h"
#include "scd.h"
#include "store.h"
#include "tpm.h"
#include "trust.h"
#include "xmalloc.h"

/* How long past the stop timeout the containers may take to end. */
#define WIPE_STOP_MARGIN_MS 10000
/* How often the wipe looks whether they ended. */
#define WIPE_STOP_POLL_MS 100
/* The most tokens scd's list is taken of (each one a call). */
#define WIPE_TOKENS_MAX 4096
/* The longest token name taken from scd (a container name is shorter). */
#define WIPE_TOKEN_NAME_MAX 256
/* The audit record type of the wipe's own records. */
#define WIPE_AUDIT_TYPE "device.wipe"

/* What a wipe destroys, in the order of the answer. */
enum wipe_what {
	WIPE_CONTAINERS,
	WIPE_TOKENS,
	WIPE_DEVICE_KEY,
	WIPE_AK,
	WIPE_SYSKEY,
	WIPE_CERT,
	WIPE_ANCHORS,
	WIPE_SETTINGS,
	WIPE_PROVISIONING,
	WIPE_AUDIT,
	WIPE_NWHAT,
};

/* Their names in the answer (org.cml.Device's Wiped). */
static const char *const wipe_names[WIPE_NWHAT] = {
	[WIPE_CONTAINERS] = "containers",
	[WIPE_TOKENS] = "tokens",
	[WIPE_DEVICE_KEY] = "device-key",
	[WIPE_AK] = "attestation-key",
	[WIPE_SYSKEY] = "system-key",
	[WIPE_CERT] = "certificate",
	[WIPE_ANCHORS] = "anchors",
	[WIPE_SETTINGS] = "settings",
	[WIPE_PROVISIONING] = "provisioning",
	[WIPE_AUDIT] = "audit-trail",
};

/* One of them: what was done to it, and what the check found. */
struct wipe_item {
	char *done; /* what was destroyed, or why not */
	int failed; /* destroying it failed */
	char *check; /* what the checks found */
	int checked; /* a check ran */
	int verified; /* every check found it gone, and it was destroyed */
};

/* The phases, in order. */
enum wipe_phase {
	WIPE_PH_STOP,
	WIPE_PH_VOLUMES,
	WIPE_PH_TOKENS,
	WIPE_PH_TOKEN_REMOVE,
	WIPE_PH_IDENTITY,
	WIPE_PH_SYSKEY,
	WIPE_PH_STATE,
	WIPE_PH_AUDIT,
	WIPE_PH_CHECK_STORE,
	WIPE_PH_CHECK_SCD,
	WIPE_PH_CHECK_TPM,
	WIPE_PH_ANSWER,
};

/* A wipe under way (cmld->wiping is set while there is one). */
struct wipe {
	struct job job; /* first: the loop knows jobs by this */
	struct cmld *cmld;
	struct call *call;
	enum wipe_phase phase;
	struct loop_timer timer; /* phase 1: looks again */
	long long deadline_ms; /* phase 1: when it gives up (loop_now_ms) */
	/* phase 2: the container whose volume goes now, and the volume */
	struct ctr *k;
	struct cvol *vol;
	size_t nkept; /* containers kept (at the list's head): not tried again */
	char **ids; /* the ids of the containers destroyed: checked */
	size_t nids;
	/* phase 3: scd's tokens, the next one to remove, how many went */
	char **tokens;
	size_t ntokens, next_token, removed;
	int ak_gone; /* WipeIdentity answered that neither key is left */
	struct wipe_item items[WIPE_NWHAT];
};

/* --- helpers ------------------------------------------------------------- */

/* Appends text to *s, after "; " when there is something already. */
static void
wipe_append(char **s, const char *text)
{
	char *n;

	if (*s == NULL) {
		*s = xstrdup(text);
		return;
	}
	n = xasprintf("%s; %s", *s, text);
	free(*s);
	*s = n;
}

/*
 * Records a step's result for item i and logs it (every step of a wipe is
 * in cmld's log): what it did (check 0; ok 0: it did not destroy it), or
 * what a check found (check 1; ok: it is gone).
 */
static void __attribute__((format(printf, 5, 0)))
wipe_vrecord(struct wipe *w, enum wipe_what i, int check, int ok,
    const char *fmt, va_list ap)
{
	struct wipe_item *it = &w->items[i];
	char *text;

	if (vasprintf(&text, fmt, ap) == -1)
		fatalx("out of memory");
	if (ok)
		log_info("device wipe: %s%s: %s", wipe_names[i],
		    check ? " verified" : "", text);
	else
		log_warnx("device wipe: %s%s: %s", wipe_names[i],
		    check ? " remains" : "", text);
	wipe_append(check ? &it->check : &it->done, text);
	if (!check && !ok)
		it->failed = 1;
	else if (check) {
		/* gone when destroyed and every check found it gone */
		it->verified = (it->checked ? it->verified : !it->failed) &&
		    ok;
		it->checked = 1;
	}
	free(text);
}

/* Notes what a step did to item i (failed: it did not destroy it). */
static void __attribute__((format(printf, 4, 5)))
wipe_note(struct wipe *w, enum wipe_what i, int failed, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	wipe_vrecord(w, i, 0, !failed, fmt, ap);
	va_end(ap);
}

/* Notes what a check of item i found, and whether it is gone. */
static void __attribute__((format(printf, 4, 5)))
wipe_checked(struct wipe *w, enum wipe_what i, int verified,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	wipe_vrecord(w, i, 1, verified, fmt, ap);
	va_end(ap);
}

/* Says whether a stage runs at all ("absent": cmld runs without it). */
static int
wipe_absent(const char *state)
{
	return strcmp(state, "absent") == 0;
}

/* Moves on to phase ph and queues the job again (from a callback). */
static void
wipe_resume(struct wipe *w, enum wipe_phase ph)
{
	w->phase = ph;
	loop_job_add(w->cmld->loop, &w->job);
}

static void
wipe_free(struct wipe *w)
{
	size_t i;

	loop_timer_stop(w->cmld->loop, &w->timer);
	if (w->k != NULL)
		w->k->wiping = 0;
	cvol_free(w->vol);
	for (i = 0; i < w->nids; i++)
		free(w->ids[i]);
	free(w->ids);
	for (i = 0; i < w->ntokens; i++)
		free(w->tokens[i]);
	free(w->tokens);
	for (i = 0; i < WIPE_NWHAT; i++) {
		free(w->items[i].done);
		free(w->items[i].check);
	}
	w->cmld->wiping = 0;
	free(w);
}

/* --- 1: stop every container --------------------------------------------- */

static void
wipe_timer(struct loop_timer *t)
{
	struct wipe *w = t->arg;

	loop_timer_stop(w->cmld->loop, &w->timer);
	loop_job_add(w->cmld->loop, &w->job);
}

/*
 * Asks every running container to stop (once) and waits until none runs,
 * starts or is being wiped; gives up at the deadline, before anything is
 * destroyed.
 */
static int
wipe_stop(struct wipe *w)
{
	struct cmld *cmld = w->cmld;
	struct ctr *k;
	const char *error;
	char *cause = NULL, *busy = NULL;

	TAILQ_FOREACH(k, &cmld->ctrs, entry) {
		if (k->rt != NULL && k->waiting == NULL &&
		    strcmp(k->state, "stopping") != 0) {
			if (ctr_end(k, SIGTERM, NULL, &error, &cause) == -1) {
				log_warnx("device wipe: %s", cause);
				free(cause);
				cause = NULL;
			} else
				log_info("device wipe: stopping container %s",
				    k->name);
		}
		if (k->rt != NULL || k->starting || k->wiping)
			wipe_append(&busy, k->name);
	}
	if (busy == NULL) {
		w->phase = WIPE_PH_VOLUMES;
		return JOB_AGAIN;
	}
	if (loop_now_ms() < w->deadline_ms &&
	    loop_timer_start(cmld->loop, &w->timer, WIPE_STOP_POLL_MS) == 0) {
		free(busy);
		return JOB_PARKED;
	}
	call_error(w->call, PROTO_ERR_BUSY, NULL, "containers did not stop "
	    "within %lld s (%s): nothing was destroyed; 'container kill "
	    "NAME', then 'device wipe' again", (cmld->stop_timeout * 1000 +
	    WIPE_STOP_MARGIN_MS) / 1000, busy);
	free(busy);
	wipe_free(w);
	return JOB_DONE;
}

/* --- 2: each container's volume, key and config -------------------------- */

/*
 * The volume of w->k is destroyed (vol_ok) or not (why says why): its
 * wrapped key goes in any case, the container only with its volume.
 */
static void
wipe_container_end(struct wipe *w, int vol_ok, const char *why)
{
	struct ctr *k = w->k;
	const char *error, *vol;
	char *name = xstrdup(k->name), *id = xstrdup(k->id);
	char *report = NULL, *cause = NULL, *key;
	int rc;

	k->wiping = 0;
	w->k = NULL;
	vol = vol_ok ? (cvol_wipe_volume(w->vol) != NULL ?
	    cvol_wipe_volume(w->vol) : "no volume") : why;
	rc = store_container_key_wipe(w->cmld->store, name, &report, &cause);
	if (rc == -1)
		key = xasprintf("its wrapped key is not proven gone: %s",
		    cause);
	else
		key = xstrdup(rc == 1 ? report : "there was no wrapped key");
	if (!vol_ok || rc == -1) {
		w->nkept++;
		wipe_note(w, WIPE_CONTAINERS, 1, "%s is kept: volume: %s; key: "
		    "%s", name, vol, key);
	} else if (ctr_remove(k, &error, &cause) == -1) {
		w->nkept++;
		wipe_note(w, WIPE_CONTAINERS, 1, "%s: volume: %s; key: %s; "
		    "but it is kept: %s", name, vol, key, cause);
	} else {
		wipe_note(w, WIPE_CONTAINERS, 0, "%s: volume: %s; key: %s; "
		    "config removed", name, vol, key);
		w->ids = xreallocarray(w->ids, w->nids + 1, sizeof *w->ids);
		w->ids[w->nids++] = id;
		id = NULL;
	}
	cvol_free(w->vol);
	w->vol = NULL;
	free(cause);
	free(report);
	free(key);
	free(name);
	free(id);
}

/* Destroys the containers one after the other, a volume in steps. */
static int
wipe_volumes(struct wipe *w)
{
	struct cmld *cmld = w->cmld;
	struct ctr *k;
	char *cause = NULL;
	size_t i;
	int rc;

	if (w->vol != NULL) {
		if ((rc = cvol_step(w->vol, &cause)) == 0)
			return JOB_AGAIN;
		wipe_container_end(w, rc == 1, cause);
		free(cause);
		return JOB_AGAIN;
	}
	/* the ones kept stay at the head of the list */
	k = TAILQ_FIRST(&cmld->ctrs);
	for (i = 0; k != NULL && i < w->nkept; i++)
		k = TAILQ_NEXT(k, entry);
	if (k == NULL) {
		if (w->items[WIPE_CONTAINERS].done == NULL)
			wipe_note(w, WIPE_CONTAINERS, 0, "there were none");
		w->phase = WIPE_PH_TOKENS;
		return JOB_AGAIN;
	}
	w->k = k;
	k->wiping = 1;
	if ((w->vol = cvol_wipe(cmld->state_dir, k->name, k->id,
	    &cause)) == NULL) {
		wipe_container_end(w, 0, cause);
		free(cause);
	}
	return JOB_AGAIN;
}

/* --- 3: scd's tokens ----------------------------------------------------- */

/* Takes the names of scd's List answer; -1 with *why set. */
static int
wipe_token_names(struct json_object *params, char ***names, size_t *n,
    char **why)
{
	struct json_object *list, *t, *v;
	const char *s;
	size_t i, len;

	*names = NULL;
	*n = 0;
	if (!json_object_object_get_ex(params, "tokens", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		*why = xstrdup("scd answered List without tokens");
		return -1;
	}
	len = json_object_array_length(list);
	if (len > WIPE_TOKENS_MAX) {
		*why = xasprintf("scd lists %zu tokens, more than %d",
		    len, WIPE_TOKENS_MAX);
		return -1;
	}
	for (i = 0; i < len; i++) {
		t = json_object_array_get_idx(list, i);
		if (!json_object_object_get_ex(t, "name", &v) ||
		    !json_object_is_type(v, json_type_string) ||
		    (s = json_object_get_string(v))[0] == '\0' ||
		    strlen(s) > WIPE_TOKEN_NAME_MAX) {
			*why = xasprintf("scd listed a token without a "
			    "usable name (#%zu)", i);
			return -1;
		}
		*names = xreallocarray(*names, *n + 1, sizeof **names);
		(*names)[(*n)++] = xstrdup(s);
	}
	return 0;
}

/* scd's List: the tokens to remove. */
static void
wipe_tokens_listed(void *arg, const char *error, struct json_object *params)
{
	struct wipe *w = arg;
	char *why = NULL;

	if (error != NULL) {
		wipe_note(w, WIPE_TOKENS, 1, "scd cannot list its tokens: %s",
		    scd_error_message(params));
		wipe_resume(w, WIPE_PH_IDENTITY);
		return;
	}
	if (wipe_token_names(params, &w->tokens, &w->ntokens, &why) == -1) {
		wipe_note(w, WIPE_TOKENS, 1, "%s", why);
		free(why);
		wipe_resume(w, WIPE_PH_IDENTITY);
		return;
	}
	if (w->ntokens == 0)
		wipe_note(w, WIPE_TOKENS, 0, "scd held none");
	wipe_resume(w, WIPE_PH_TOKEN_REMOVE);
}

/* scd's Remove of the token before the next. */
static void
wipe_token_removed(void *arg, const char *error, struct json_object *params)
{
	struct wipe *w = arg;
	const char *name = w->tokens[w->next_token - 1];

	/* gone already is gone */
	if (error == NULL || strcmp(error, PROTO_ERR_NOT_FOUND) == 0) {
		w->removed++;
		log_info("device wipe: scd removed token %s", name);
	} else
		wipe_note(w, WIPE_TOKENS, 1, "scd cannot remove token %s: %s",
		    name, scd_error_message(params));
	wipe_resume(w, WIPE_PH_TOKEN_REMOVE);
}

/* Asks scd for its tokens, then removes them one after the other. */
static int
wipe_tokens(struct wipe *w)
{
	struct json_object *p;
	char *cause = NULL;

	if (w->phase == WIPE_PH_TOKENS) {
		if (wipe_absent(stage_state(w->cmld->scd))) {
			wipe_note(w, WIPE_TOKENS, 0, "cmld runs without scd "
			    "(--scd-socket ''): it holds no token");
			w->phase = WIPE_PH_IDENTITY;
			return JOB_AGAIN;
		}
		if (scd_call(w->cmld, "List", NULL, wipe_tokens_listed, w,
		    &cause) == 0)
			return JOB_PARKED;
		wipe_note(w, WIPE_TOKENS, 1, "scd cannot list its tokens: %s",
		    cause);
		free(cause);
		w->phase = WIPE_PH_IDENTITY;
		return JOB_AGAIN;
	}
	while (w->next_token < w->ntokens) {
		p = json_object_new_object();
		json_object_object_add(p, "name",
		    json_object_new_string(w->tokens[w->next_token++]));
		if (scd_call(w->cmld, "Remove", p, wipe_token_removed, w,
		    &cause) == 0)
			return JOB_PARKED;
		wipe_note(w, WIPE_TOKENS, 1, "scd cannot remove token %s: %s",
		    w->tokens[w->next_token - 1], cause);
		free(cause);
		cause = NULL;
	}
	if (w->ntokens > 0)
		wipe_note(w, WIPE_TOKENS, 0, "scd removed %zu of %zu tokens "
		    "(their files and counters)", w->removed, w->ntokens);
	w->phase = WIPE_PH_IDENTITY;
	return JOB_AGAIN;
}

/* --- 4: tpm2d's keys ----------------------------------------------------- */

/* tpm2d's WipeIdentity. */
static void
wipe_identity_done(void *arg, const char *error, struct json_object *params)
{
	struct wipe *w = arg;
	struct json_object *v;

	if (error != NULL) {
		wipe_note(w, WIPE_DEVICE_KEY, 1, "tpm2d cannot evict it: %s",
		    tpm_error_message(params));
		wipe_note(w, WIPE_AK, 1, "tpm2d cannot evict it: %s",
		    tpm_error_message(params));
	} else if (!json_object_object_get_ex(params, "present", &v) ||
	    !json_object_is_type(v, json_type_boolean) ||
	    json_object_get_boolean(v)) {
		wipe_note(w, WIPE_DEVICE_KEY, 1, "tpm2d evicted the keys, but "
		    "says one is still present");
		wipe_note(w, WIPE_AK, 1, "tpm2d evicted the keys, but says "
		    "one is still present");
	} else {
		w->ak_gone = 1;
		wipe_note(w, WIPE_DEVICE_KEY, 0, "evicted from the TPM by "
		    "tpm2d");
		wipe_note(w, WIPE_AK, 0, "evicted from the TPM by tpm2d, which "
		    "found both persistent handles free then");
	}
	wipe_resume(w, WIPE_PH_SYSKEY);
}

/* tpm2d's ResetSystemKey. */
static void
wipe_syskey_done(void *arg, const char *error, struct json_object *params)
{
	struct wipe *w = arg;

	if (error != NULL)
		wipe_note(w, WIPE_SYSKEY, 1, "tpm2d cannot destroy it: %s",
		    tpm_error_message(params));
	else
		wipe_note(w, WIPE_SYSKEY, 0, "tpm2d destroyed its sealed blob "
		    "and PCR values; it makes a new one at its next start: "
		    "restart tpm2d and scd (or the device) before it is "
		    "provisioned again");
	wipe_resume(w, WIPE_PH_STATE);
}

/* Has tpm2d evict its keys, then destroy the system key. */
static int
wipe_tpm(struct wipe *w)
{
	const char *method = w->phase == WIPE_PH_IDENTITY ? "WipeIdentity" :
	    "ResetSystemKey";
	stage_reply_cb cb = w->phase == WIPE_PH_IDENTITY ? wipe_identity_done :
	    wipe_syskey_done;
	char *cause = NULL;

	if (wipe_absent(tpm_state(w->cmld))) {
		wipe_note(w, WIPE_DEVICE_KEY, 0, "cmld runs without tpm2d "
		    "(--tpm2d-socket ''): there is no TPM key to destroy");
		wipe_note(w, WIPE_AK, 0, "cmld runs without tpm2d: there is no "
		    "TPM key to destroy");
		wipe_note(w, WIPE_SYSKEY, 0, "cmld runs without tpm2d: there "
		    "is no sealed system key");
		w->ak_gone = 1;
		w->phase = WIPE_PH_STATE;
		return JOB_AGAIN;
	}
	if (tpm_call(w->cmld, method, NULL, cb, w, &cause) == 0)
		return JOB_PARKED;
	/* as when tpm2d answers an error */
	if (w->phase == WIPE_PH_IDENTITY) {
		wipe_note(w, WIPE_DEVICE_KEY, 1, "tpm2d cannot evict it: %s",
		    cause);
		wipe_note(w, WIPE_AK, 1, "tpm2d cannot evict it: %s", cause);
		w->phase = WIPE_PH_SYSKEY;
	} else {
		wipe_note(w, WIPE_SYSKEY, 1, "tpm2d cannot destroy it: %s",
		    cause);
		w->phase = WIPE_PH_STATE;
	}
	free(cause);
	return JOB_AGAIN;
}

/* --- 5: the device's state in the store ---------------------------------- */

/* Empties table t for item i; -1 when it could not (noted). */
static int
wipe_clear(struct wipe *w, enum wipe_what i, enum store_wipe_table t,
    const char *what)
{
	char *cause = NULL;
	long long n;

	if (store_wipe_clear(w->cmld->store, t, &n, &cause) == -1) {
		wipe_note(w, i, 1, "%s", cause);
		free(cause);
		return -1;
	}
	wipe_note(w, i, 0, "deleted %lld %s", n, what);
	return 0;
}

/*
 * Deletes the certificate, the anchors, the settings and the steps, and
 * makes the running daemon forget them too.
 */
static void
wipe_state(struct wipe *w)
{
	struct cmld *cmld = w->cmld;
	char *cause = NULL;
	int rc;

	if ((rc = store_device_cert_remove(cmld->store, &cause)) == -1) {
		wipe_note(w, WIPE_CERT, 1, "%s", cause);
		free(cause);
		cause = NULL;
	} else
		wipe_note(w, WIPE_CERT, 0, rc == 1 ? "deleted" :
		    "there was none");

	if (wipe_clear(w, WIPE_ANCHORS, STORE_WIPE_ANCHORS, "trust "
	    "anchors") == 0 && trust_reload(cmld, &cause) == -1) {
		wipe_note(w, WIPE_ANCHORS, 1, "the trust store cannot be "
		    "rebuilt: %s", cause);
		free(cause);
		cause = NULL;
	}

	/* forwarding needs the device key and certificate, and is off now */
	if (cmld->forward != NULL) {
		forward_stop(cmld);
		wipe_note(w, WIPE_SETTINGS, 0, "audit forwarding stopped");
	}
	if (wipe_clear(w, WIPE_SETTINGS, STORE_WIPE_SETTINGS, "settings") ==
	    0) {
		if (device_load_settings(cmld, &cause) == -1) {
			wipe_note(w, WIPE_SETTINGS, 1, "the defaults cannot be "
			    "applied: %s", cause);
			free(cause);
			cause = NULL;
		} else
			wipe_note(w, WIPE_SETTINGS, 0, "the defaults apply");
	}

	if (wipe_clear(w, WIPE_PROVISIONING, STORE_WIPE_PROVISION,
	    "provisioning steps") == 0) {
		if (store_device_set_state(cmld->store, "factory", &cause) ==
		    -1) {
			wipe_note(w, WIPE_PROVISIONING, 1, "%s", cause);
			free(cause);
		} else {
			free(cmld->prov_state);
			cmld->prov_state = xstrdup("factory");
			wipe_note(w, WIPE_PROVISIONING, 0, "the state is "
			    "factory");
		}
	}
}

/* --- 6: the audit trail -------------------------------------------------- */

/*
 * Destroys the trail and begins the new one with a record of the wipe,
 * unless the device key that signs its checkpoints is still there (then
 * the trail stays with it, for a second wipe).
 */
static void
wipe_audit(struct wipe *w)
{
	struct call *call = w->call;
	char head[AUDIT_HEAD_HEX], *why = NULL, *line, *cause = NULL;
	long long n;
	size_t i;

	if (w->items[WIPE_DEVICE_KEY].failed) {
		wipe_note(w, WIPE_AUDIT, 1, "kept: the device key that signed "
		    "its checkpoints was not destroyed; a second wipe "
		    "destroys both");
		return;
	}
	for (i = 0; i < WIPE_AUDIT; i++) {
		line = xasprintf("%s: %s%s", wipe_names[i],
		    w->items[i].failed ? "NOT DESTROYED: " : "",
		    w->items[i].done != NULL ? w->items[i].done : "");
		wipe_append(&why, line);
		free(line);
	}
	line = xasprintf("destroyed by the device wipe of uid %ld pid %ld "
	    "(%s): %s", (long)call->uid, (long)call->pid, call->comm, why);
	free(why);
	if (audit_restart(w->cmld, WIPE_AUDIT_TYPE, (long long)call->uid,
	    (long long)call->pid, call->comm, line, &n, head, &cause) == -1) {
		wipe_note(w, WIPE_AUDIT, 1, "%s", cause);
		free(cause);
	} else
		wipe_note(w, WIPE_AUDIT, 0, "destroyed %lld records (head %s); "
		    "the new trail begins with the record of this wipe", n,
		    head);
	free(line);
}

/* --- 7: the checks ------------------------------------------------------- */

/* Counts the rows of table t into *n; -1 when it cannot (noted for i). */
static int
wipe_count(struct wipe *w, enum wipe_what i, enum store_wipe_table t,
    long long *n)
{
	char *cause = NULL;

	if (store_wipe_count(w->cmld->store, t, n, &cause) == 0)
		return 0;
	wipe_checked(w, i, 0, "%s", cause);
	free(cause);
	return -1;
}

/* Checks that table t of item i is empty. */
static void
wipe_check_empty(struct wipe *w, enum wipe_what i, enum store_wipe_table t)
{
	long long n;

	if (wipe_count(w, i, t, &n) == -1)
		return;
	wipe_checked(w, i, n == 0, "%lld rows in %s", n,
	    store_wipe_table_name(t));
}

/* Takes record #1 of the trail (a callback that stops at once). */
static int
wipe_first_record(const struct audit_record *rec, void *arg)
{
	char **type = arg;

	*type = xstrdup(rec->type);
	return 1;
}

/* Checks that the trail begins with the wipe's record. */
static void
wipe_check_audit(struct wipe *w)
{
	struct store *st = w->cmld->store;
	char *type = NULL, *cause = NULL;
	long long first = 0, n;

	if (w->items[WIPE_AUDIT].failed) {
		wipe_checked(w, WIPE_AUDIT, 0, "the trail of the old device "
		    "key is kept");
		return;
	}
	if (store_audit_first(st, &first, &cause) == -1 ||
	    store_audit_range(st, NULL, 0, 1, 1, wipe_first_record, &type,
	    &cause) == -1 || (n = store_audit_count(st, &cause)) == -1) {
		wipe_checked(w, WIPE_AUDIT, 0, "%s", cause);
		free(cause);
		free(type);
		return;
	}
	wipe_checked(w, WIPE_AUDIT, first == 1 && type != NULL &&
	    strcmp(type, WIPE_AUDIT_TYPE) == 0, "%lld records; the first is "
	    "#%lld, of type %s", n, first, type != NULL ? type : "(none)");
	free(type);
}

/* Checks the store: its tables, the volumes, the state, the trail. */
static void
wipe_check_store(struct wipe *w)
{
	struct cmld *cmld = w->cmld;
	struct store_device dev;
	long long nc, nk, size, allocated;
	char *cause = NULL, *left = NULL;
	size_t i;
	int rc;

	/* no page of a deleted row may stay in a write-ahead log */
	if (store_wipe_sync(cmld->store, &cause) == -1) {
		for (i = 0; i < WIPE_NWHAT; i++)
			if (i != WIPE_TOKENS && i != WIPE_DEVICE_KEY &&
			    i != WIPE_AK && i != WIPE_SYSKEY)
				wipe_checked(w, i, 0, "%s", cause);
		free(cause);
		cause = NULL;
	}
	if (wipe_count(w, WIPE_CONTAINERS, STORE_WIPE_CONTAINERS, &nc) == 0 &&
	    wipe_count(w, WIPE_CONTAINERS, STORE_WIPE_CONTAINER_KEYS,
	    &nk) == 0) {
		for (i = 0; i < w->nids; i++)
			if (cvol_stat(cmld->state_dir, w->ids[i], &size,
			    &allocated) == 0)
				wipe_append(&left, w->ids[i]);
		wipe_checked(w, WIPE_CONTAINERS, nc == 0 && nk == 0 &&
		    left == NULL && TAILQ_EMPTY(&cmld->ctrs), "%lld rows in "
		    "container, %lld in container_key; %s", nc, nk,
		    left == NULL ? "no data volume of them is left" :
		    "volumes left");
		if (left != NULL)
			wipe_checked(w, WIPE_CONTAINERS, 0, "the volumes of "
			    "%s are still in %s/volumes", left,
			    cmld->state_dir);
		free(left);
	}
	wipe_check_empty(w, WIPE_CERT, STORE_WIPE_DEVICE_CERT);
	wipe_check_empty(w, WIPE_ANCHORS, STORE_WIPE_ANCHORS);
	wipe_check_empty(w, WIPE_SETTINGS, STORE_WIPE_SETTINGS);
	wipe_check_empty(w, WIPE_PROVISIONING, STORE_WIPE_PROVISION);
	if ((rc = store_device_get(cmld->store, &dev, &cause)) == -1) {
		wipe_checked(w, WIPE_PROVISIONING, 0, "%s", cause);
		free(cause);
	} else {
		wipe_checked(w, WIPE_PROVISIONING, rc == 1 &&
		    strcmp(dev.state, "factory") == 0 &&
		    strcmp(cmld->prov_state, "factory") == 0, "the state is "
		    "%s", rc == 1 ? dev.state : "unknown (no device row)");
		store_device_clear(&dev);
	}
	wipe_check_audit(w);
}

/* scd's List, after the wipe. */
static void
wipe_check_scd_done(void *arg, const char *error, struct json_object *params)
{
	struct wipe *w = arg;
	char **names = NULL, *why = NULL, *left = NULL;
	size_t n = 0, i;

	if (error != NULL)
		wipe_checked(w, WIPE_TOKENS, 0, "scd cannot list its tokens: "
		    "%s", scd_error_message(params));
	else if (wipe_token_names(params, &names, &n, &why) == -1) {
		wipe_checked(w, WIPE_TOKENS, 0, "%s", why);
		free(why);
	} else {
		for (i = 0; i < n; i++)
			wipe_append(&left, names[i]);
		wipe_checked(w, WIPE_TOKENS, n == 0, "scd holds %zu tokens%s%s",
		    n, n > 0 ? ": " : "", n > 0 ? left : "");
		free(left);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	wipe_resume(w, WIPE_PH_CHECK_TPM);
}

/* tpm2d's Status, after the wipe. */
static void
wipe_check_tpm_done(void *arg, const char *error, struct json_object *params)
{
	struct wipe *w = arg;
	struct json_object *v;
	const char *identity = NULL, *syskey = NULL;
	long long handle = 0;

	if (error != NULL) {
		wipe_checked(w, WIPE_DEVICE_KEY, 0, "tpm2d's status: %s",
		    tpm_error_message(params));
		wipe_checked(w, WIPE_AK, 0, "tpm2d's status: %s",
		    tpm_error_message(params));
		wipe_checked(w, WIPE_SYSKEY, 0, "tpm2d's status: %s",
		    tpm_error_message(params));
		wipe_resume(w, WIPE_PH_ANSWER);
		return;
	}
	if (json_object_object_get_ex(params, "identity", &v) &&
	    json_object_is_type(v, json_type_string))
		identity = json_object_get_string(v);
	if (json_object_object_get_ex(params, "identity_handle", &v) &&
	    json_object_is_type(v, json_type_int))
		handle = json_object_get_int64(v);
	if (json_object_object_get_ex(params, "system_key", &v) &&
	    json_object_is_type(v, json_type_string))
		syskey = json_object_get_string(v);
	wipe_checked(w, WIPE_DEVICE_KEY, identity != NULL &&
	    strcmp(identity, "absent") == 0, "tpm2d: the device key at "
	    "0x%08llx is %s", (unsigned long long)handle, identity != NULL ?
	    identity : "(not said)");
	wipe_checked(w, WIPE_AK, w->ak_gone && identity != NULL &&
	    strcmp(identity, "absent") == 0, "tpm2d: %s",
	    w->ak_gone ? "its persistent handle was free after the eviction" :
	    "it was not evicted");
	wipe_checked(w, WIPE_SYSKEY, syskey != NULL &&
	    strcmp(syskey, "absent") == 0, "tpm2d: the system key is %s",
	    syskey != NULL ? syskey : "(not said)");
	wipe_resume(w, WIPE_PH_ANSWER);
}

/* Asks a stage for what it holds now: scd's tokens, or tpm2d's keys. */
static int
wipe_check_stage(struct wipe *w)
{
	int scd = w->phase == WIPE_PH_CHECK_SCD;
	enum wipe_phase next = scd ? WIPE_PH_CHECK_TPM : WIPE_PH_ANSWER;
	char *cause = NULL;
	size_t i;
	int rc;

	if (wipe_absent(scd ? stage_state(w->cmld->scd) :
	    tpm_state(w->cmld))) {
		for (i = 0; i < WIPE_NWHAT; i++)
			if (scd ? i == WIPE_TOKENS : (i == WIPE_DEVICE_KEY ||
			    i == WIPE_AK || i == WIPE_SYSKEY))
				wipe_checked(w, i, 1, "cmld runs without %s",
				    scd ? "scd" : "tpm2d");
		w->phase = next;
		return JOB_AGAIN;
	}
	rc = scd ? scd_call(w->cmld, "List", NULL, wipe_check_scd_done, w,
	    &cause) : tpm_call(w->cmld, "Status", NULL, wipe_check_tpm_done,
	    w, &cause);
	if (rc == 0)
		return JOB_PARKED;
	for (i = 0; i < WIPE_NWHAT; i++)
		if (scd ? i == WIPE_TOKENS : (i == WIPE_DEVICE_KEY ||
		    i == WIPE_AK || i == WIPE_SYSKEY))
			wipe_checked(w, i, 0, "%s", cause);
	free(cause);
	w->phase = next;
	return JOB_AGAIN;
}

/* --- the answer ---------------------------------------------------------- */

/* Answers with every item and its check; fails naming what remains. */
static void
wipe_answer(struct wipe *w)
{
	struct json_object *list, *o, *p;
	struct wipe_item *it;
	char *detail, *summary = NULL, *left = NULL, *line;
	size_t i;

	list = json_object_new_array();
	for (i = 0; i < WIPE_NWHAT; i++) {
		it = &w->items[i];
		detail = xasprintf("%s; check: %s", it->done != NULL ?
		    it->done : "nothing done", it->check != NULL ? it->check :
		    "none");
		o = json_object_new_object();
		json_object_object_add(o, "what",
		    json_object_new_string(wipe_names[i]));
		json_object_object_add(o, "verified",
		    json_object_new_boolean(it->verified));
		json_object_object_add(o, "detail",
		    json_object_new_string(detail));
		json_object_array_add(list, o);
		line = xasprintf("%s %s", wipe_names[i], it->verified ?
		    "verified" : "REMAINS");
		wipe_append(&summary, line);
		free(line);
		if (!it->verified) {
			line = xasprintf("%s (%s)", wipe_names[i], detail);
			wipe_append(&left, line);
			free(line);
		}
		free(detail);
	}
	call_set_details(w->call, "device wipe: %s", summary);
	p = json_object_new_object();
	json_object_object_add(p, "state",
	    json_object_new_string(w->cmld->prov_state));
	json_object_object_add(p, "wiped", list);
	if (left != NULL)
		call_error_params(w->call, PROTO_ERR_FAILED, p, "the wipe left "
		    "something behind (what was destroyed stays destroyed): "
		    "%s; remedy what it says, then 'device wipe' again", left);
	else {
		log_info("device wipe: every item destroyed and verified: the "
		    "device is in state factory");
		call_reply(w->call, p);
	}
	free(summary);
	free(left);
}

/* --- the job ------------------------------------------------------------- */

static int
wipe_step(struct job *job)
{
	struct wipe *w = (struct wipe *)job;

	switch (w->phase) {
	case WIPE_PH_STOP:
		return wipe_stop(w);
	case WIPE_PH_VOLUMES:
		return wipe_volumes(w);
	case WIPE_PH_TOKENS:
	case WIPE_PH_TOKEN_REMOVE:
		return wipe_tokens(w);
	case WIPE_PH_IDENTITY:
	case WIPE_PH_SYSKEY:
		return wipe_tpm(w);
	case WIPE_PH_STATE:
		wipe_state(w);
		w->phase = WIPE_PH_AUDIT;
		return JOB_AGAIN;
	case WIPE_PH_AUDIT:
		wipe_audit(w);
		w->phase = WIPE_PH_CHECK_STORE;
		return JOB_AGAIN;
	case WIPE_PH_CHECK_STORE:
		wipe_check_store(w);
		w->phase = WIPE_PH_CHECK_SCD;
		return JOB_AGAIN;
	case WIPE_PH_CHECK_SCD:
	case WIPE_PH_CHECK_TPM:
		return wipe_check_stage(w);
	case WIPE_PH_ANSWER:
		break;
	}
	wipe_answer(w);
	wipe_free(w);
	return JOB_DONE;
}

/* Abandons a wipe at shutdown: what was destroyed stays destroyed. */
static void
wipe_cancel(struct job *job)
{
	struct wipe *w = (struct wipe *)job;

	call_error(w->call, PROTO_ERR_FAILED, NULL, "cmld is stopping: the "
	    "wipe did not finish (what was destroyed stays destroyed): "
	    "'device wipe' again once cmld runs");
	wipe_free(w);
}

void
cmd_device_wipe(struct call *call)
{
	struct cmld *cmld = call_cmld(call);
	struct wipe *w;
	const char *confirm;

	confirm = json_object_get_string(json_object_object_get(call->params,
	    "confirm"));
	if (strcmp(confirm, cmld->uuid) != 0) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "confirm", "that "
		    "is not this device's UUID ('device status' shows it): "
		    "nothing was destroyed");
		return;
	}
	if (cmld->wiping) {
		call_error(call, PROTO_ERR_BUSY, NULL, "the device is being "
		    "wiped already");
		return;
	}
	cmld->wiping = 1;
	log_info("device wipe: begun by uid %ld pid %ld (%s)",
	    (long)call->uid, (long)call->pid, call->comm);
	/* in the trail that goes at the end: if the wipe stops, it says so */
	audit_write_as(cmld, WIPE_AUDIT_TYPE, (long long)call->uid,
	    (long long)call->pid, call->comm, NULL, "device", "begun",
	    "device wipe begun: the containers, tokens, TPM keys, the "
	    "certificate, anchors, settings, provisioning steps and then this "
	    "trail are destroyed");
	w = xcalloc(1, sizeof *w);
	w->cmld = cmld;
	w->call = call;
	w->phase = WIPE_PH_STOP;
	w->deadline_ms = loop_now_ms() + cmld->stop_timeout * 1000 +
	    WIPE_STOP_MARGIN_MS;
	loop_timer_init(&w->timer, wipe_timer, w);
	w->job.step = wipe_step;
	w->job.cancel = wipe_cancel;
	call_defer(call);
	loop_job_add(cmld->loop, &w->job);
}
