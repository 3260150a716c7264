/*
 * Signed checkpoints over the audit chain (CR 3.9): every
 * audit_checkpoint_records records, or audit_checkpoint_seconds after a
 * record no checkpoint covers yet, tpm2d signs the chain's head with the
 * TPM-held device key (org.cml.TPM.SignCheckpoint), and the checkpoint is
 * stored next to the records.  A rewritten trail fails at its checkpoints
 * (audit verify, cml-audit-verify).  Signing runs through the loop: cmld
 * never waits for tpm2d, and one signing is out at a time.  A checkpoint
 * is not a record, so making one never calls for another.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "audit-int.h"
#include "crypto.h"
#include "ctx.h"
#include "log.h"
#include "store.h"
#include "tpm.h"
#include "xmalloc.h"

/* The largest signature kept (DER ECDSA on P-384 takes 104 bytes). */
#define AUDIT_CP_SIG_MAX 256

/* One signing out at tpm2d: what it covers. */
struct audit_cp_req {
	struct cmld *cmld;
	long long seq, time_ms;
	unsigned char head[STORE_AUDIT_HASH_LEN];
	long long epoch; /* the trail's restarts when it was asked */
};

static void audit_cp_check(struct cmld *cmld);

/* Notes a failed signing once (a record), until one works again. */
static void
audit_cp_failed(struct cmld *cmld, long long seq, const char *why)
{
	struct audit_trail *t = audit_trail(cmld);

	free(t->cp_error);
	t->cp_error = xstrdup(why);
	if (t->cp_failing)
		return;
	t->cp_failing = 1;
	(void)audit_self(cmld, "failed", "no checkpoint at #%lld: %s (tried "
	    "again with the next records)", seq, why);
}

/* tpm2d's answer to SignCheckpoint. */
static void
audit_cp_signed(void *arg, const char *error, struct json_object *params)
{
	struct audit_cp_req *r = arg;
	struct cmld *cmld = r->cmld;
	struct audit_trail *t = audit_trail(cmld);
	struct audit_checkpoint cp = { 0 };
	struct json_object *v;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	char *cause = NULL;

	/* over a trail destroyed since: its chain is gone, and so is this */
	if (r->epoch != t->cp_epoch) {
		free(r);
		return;
	}
	t->cp_signing = 0;
	if (error != NULL) {
		audit_cp_failed(cmld, r->seq, tpm_error_message(params));
		goto out;
	}
	if (!json_object_object_get_ex(params, "signature", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    crypto_unbase64(json_object_get_string(v), AUDIT_CP_SIG_MAX, &sig,
	    &siglen) == -1 || siglen == 0) {
		audit_cp_failed(cmld, r->seq, "tpm2d answered no signature");
		goto out;
	}
	cp.seq = r->seq;
	cp.time_ms = r->time_ms;
	memcpy(cp.head, r->head, STORE_AUDIT_HASH_LEN);
	cp.sig = sig;
	cp.siglen = siglen;
	if (store_audit_checkpoint_add(cmld->store, &cp, &cause) == -1) {
		audit_cp_failed(cmld, r->seq, cause);
		free(cause);
		goto out;
	}
	t->cp_seq = r->seq;
	t->cp_time_ms = r->time_ms;
	if (t->cp_failing)
		(void)audit_self(cmld, "ok", "checkpoints are signed again "
		    "(the newest at #%lld)", r->seq);
	t->cp_failing = 0;
	free(t->cp_error);
	t->cp_error = NULL;
	log_debug("audit checkpoint at #%lld signed", r->seq);
out:
	free(sig);
	free(r);
	/* records may have come meanwhile */
	audit_cp_check(cmld);
}

/* Asks tpm2d to sign the head of the records stored. */
static void
audit_cp_sign(struct cmld *cmld)
{
	struct audit_trail *t = audit_trail(cmld);
	struct audit_cp_req *r;
	struct json_object *p;
	char hex[CRYPTO_SHA256_HEX], *cause = NULL;

	if (t->cp_signing != 0 || t->stored_seq <= t->cp_seq)
		return;
	loop_timer_stop(cmld->loop, &t->cp_timer);
	r = xcalloc(1, sizeof *r);
	r->cmld = cmld;
	r->seq = t->stored_seq;
	r->epoch = t->cp_epoch;
	r->time_ms = audit_now_ms();
	memcpy(r->head, t->stored_head, STORE_AUDIT_HASH_LEN);
	crypto_hex(r->head, STORE_AUDIT_HASH_LEN, hex);
	p = json_object_new_object();
	json_object_object_add(p, "seq", json_object_new_int64(r->seq));
	json_object_object_add(p, "time_ms", json_object_new_int64(r->time_ms));
	json_object_object_add(p, "head", json_object_new_string(hex));
	if (tpm_call(cmld, "SignCheckpoint", p, audit_cp_signed, r,
	    &cause) == -1) {
		/* tpm2d is not there now: not an event, just later */
		free(t->cp_error);
		t->cp_error = cause;
		free(r);
		/* tried again at the next deadline */
		(void)loop_timer_start(cmld->loop, &t->cp_timer,
		    audit_setting_int(cmld, "audit_checkpoint_seconds") * 1000);
		return;
	}
	t->cp_signing = r->seq;
}

/* The deadline for records no checkpoint covers. */
static void
audit_cp_timer(struct loop_timer *timer)
{
	audit_cp_sign(timer->arg);
}

static void
audit_cp_check(struct cmld *cmld)
{
	struct audit_trail *t = audit_trail(cmld);
	long long every = audit_setting_int(cmld, "audit_checkpoint_records");

	if (cmld->loop == NULL || t->stored_seq <= t->cp_seq ||
	    t->cp_signing != 0)
		return;
	if (t->stored_seq - t->cp_seq >= every) {
		audit_cp_sign(cmld);
		return;
	}
	if (!loop_timer_armed(&t->cp_timer))
		(void)loop_timer_start(cmld->loop, &t->cp_timer,
		    audit_setting_int(cmld, "audit_checkpoint_seconds") * 1000);
}

static void
audit_cp_open(struct cmld *cmld)
{
	struct audit_trail *t = audit_trail(cmld);
	struct audit_checkpoint cp;
	char *cause = NULL;
	int found;

	loop_timer_init(&t->cp_timer, audit_cp_timer, cmld);
	if (store_audit_checkpoint_before(cmld->store, LLONG_MAX, &cp, &found,
	    &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return;
	}
	if (found) {
		t->cp_seq = cp.seq;
		t->cp_time_ms = cp.time_ms;
		free((void *)cp.sig);
	}
}

void
audit_cp_reset(struct cmld *cmld)
{
	struct audit_trail *t = audit_trail(cmld);

	if (cmld->loop != NULL)
		loop_timer_stop(cmld->loop, &t->cp_timer);
	t->cp_epoch++;
	t->cp_seq = t->cp_time_ms = t->cp_signing = 0;
	t->cp_failing = 0;
	free(t->cp_error);
	t->cp_error = NULL;
}

const struct audit_hook audit_cp_hook = {
	.open = audit_cp_open,
	.committed = audit_cp_check,
	.close = audit_cp_reset, /* at shutdown: the timer and error go */
};
