/*
 * org.cml.Update.Receipt: a receipt of an install, signed in the TPM,
 * that a backend or an auditor verifies off the device (`cml-attest
 * --receipt`).  cmld reads the install's row of the update history and
 * the measurement PCR (tpm2d's Status and ReadPCRs), writes the receipt
 * (crypto/receipt.h), has tpm2d sign it with the device key under the
 * receipt's own label (SignReceipt) and quote the PCRs with the nonce
 * SHA-256(receipt) (Quote), and answers the text, the signature, the
 * device certificate and CA, and the quote with the measurement log of
 * its TPM reset.  The quote must show the PCR the receipt names: when a
 * start or an install extended it between the read and the quote, the
 * receipt is written again (a few times at most).  An install that was
 * put in place must be in the log the quote covers.  Every call to tpm2d
 * is non-blocking: the handler defers its call.  The receipt is audited
 * with its SHA-256, as the provisioning report is, although the call
 * changes nothing.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "audit.h"
#include "crypto.h"
#include "ctx.h"
#include "handlers.h"
#include "log.h"
#include "provision.h"
#include "receipt.h"
#include "report.h"
#include "store.h"
#include "tpm.h"
#include "xmalloc.h"

/* The most bytes of a field tpm2d answers with (a signature, a value). */
#define URECEIPT_FIELD_MAX (64 * 1024)
/* Room for a time as audit_format_time writes it. */
#define URECEIPT_TIME_LEN 32
/* How often the receipt is written again when the PCR moved. */
#define URECEIPT_TRIES 4

/* A receipt on its way: the PCR read, written, signed, quoted. */
struct ureceipt {
	struct call *call;
	struct store_update u;
	long long measure_pcr;
	char value[CRYPTO_SHA256_HEX]; /* the PCR as read */
	char *text;
	size_t len;
	char digest[CRYPTO_SHA256_HEX]; /* SHA-256 of the text */
	char *signature;
	char *certificate;
	char *ca;
	int tries;
};

static void ureceipt_read(struct ureceipt *ur);

static void
ureceipt_free(struct ureceipt *ur)
{
	store_update_clear(&ur->u);
	free(ur->text);
	free(ur->signature);
	free(ur->certificate);
	free(ur->ca);
	free(ur);
}

/*
 * Writes the record of the call: a read, which cmld_call_done records
 * only when audit_read_calls is on, but a receipt is signed by the device
 * key and goes off the device.
 */
static void
ureceipt_audit(struct call *call, const char *result)
{
	struct cmld *cmld = call_cmld(call);

	if (cmld->audit_read_calls)
		return;
	audit_write_as(cmld, "call", (long long)call->uid,
	    (long long)call->pid, call->comm, NULL, call->cmd->method, result,
	    "%s", call->details != NULL ? call->details : "");
}

static void
ureceipt_fail(struct ureceipt *ur, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Answers the call with Failed, audited, and ends the receipt. */
static void
ureceipt_fail(struct ureceipt *ur, const char *fmt, ...)
{
	struct call *call = ur->call;
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (call->details == NULL)
		call_set_details(call, "receipt of install %lld", ur->u.id);
	ureceipt_audit(call, PROTO_ERR_FAILED);
	call_error(call, PROTO_ERR_FAILED, NULL, "cannot make the receipt of "
	    "install %lld: %s", ur->u.id, msg);
	free(msg);
	ureceipt_free(ur);
}

/* Returns member key of o when it is a string of sane length, else NULL. */
static const char *
ureceipt_string(struct json_object *o, const char *key)
{
	return tpm_answer_string(o, key, URECEIPT_FIELD_MAX);
}

/*
 * Returns the sha256 value of PCR index in an array of PCR (tpm2d's
 * ReadPCRs and Quote), or NULL if it has none.
 */
static const char *
ureceipt_pcr(struct json_object *pcrs, long long index)
{
	struct json_object *e, *v;
	const char *bank, *value;
	size_t i;

	if (!json_object_is_type(pcrs, json_type_array))
		return NULL;
	for (i = 0; i < json_object_array_length(pcrs); i++) {
		e = json_object_array_get_idx(pcrs, i);
		if (!json_object_object_get_ex(e, "index", &v) ||
		    !json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(v) != index ||
		    (bank = ureceipt_string(e, "bank")) == NULL ||
		    strcmp(bank, "sha256") != 0 ||
		    (value = ureceipt_string(e, "value")) == NULL ||
		    strlen(value) != 2 * CRYPTO_SHA256_LEN)
			continue;
		return value;
	}
	return NULL;
}

/*
 * Says whether the log (the evidence's array) holds the install's
 * measurement; the entries lose their time, which nothing signs.
 */
static int
ureceipt_logged(struct ureceipt *ur, struct json_object *log)
{
	struct json_object *e;
	const char *v[4];
	size_t i;
	int found = 0;

	for (i = 0; i < json_object_array_length(log); i++) {
		e = json_object_array_get_idx(log, i);
		json_object_object_del(e, "time");
		v[0] = ureceipt_string(e, "kind");
		v[1] = ureceipt_string(e, "name");
		v[2] = ureceipt_string(e, "version");
		v[3] = ureceipt_string(e, "bundle_digest");
		if (v[0] != NULL && v[1] != NULL && v[2] != NULL &&
		    v[3] != NULL && strcmp(v[0], ur->u.kind) == 0 &&
		    strcmp(v[1], ur->u.name) == 0 &&
		    strcmp(v[2], ur->u.version) == 0 &&
		    strcmp(v[3], ur->u.digest) == 0)
			found = 1;
	}
	return found;
}

/* tpm2d quoted (or not): the PCR checked, the install found, the reply. */
static void
ureceipt_quoted(void *arg, const char *error, struct json_object *params)
{
	struct ureceipt *ur = arg;
	struct call *call = ur->call;
	struct json_object *ev, *pcrs, *p;
	const char *quoted;
	char *cause = NULL;
	long long reset = -1;

	if (error != NULL) {
		ureceipt_fail(ur, "the quote failed: %s",
		    tpm_error_message(params));
		return;
	}
	if (!json_object_object_get_ex(params, "pcrs", &pcrs) ||
	    (quoted = ureceipt_pcr(pcrs, ur->measure_pcr)) == NULL) {
		ureceipt_fail(ur, "tpm2d's quote does not cover the "
		    "measurement PCR %lld", ur->measure_pcr);
		return;
	}
	if (strcmp(quoted, ur->value) != 0) {
		/* A start or an install in between: once more. */
		if (++ur->tries < URECEIPT_TRIES) {
			log_info("receipt of install %lld: PCR %lld moved "
			    "before the quote; written again", ur->u.id,
			    ur->measure_pcr);
			ureceipt_read(ur);
			return;
		}
		ureceipt_fail(ur, "PCR %lld kept moving between its read and "
		    "the quote (%d tries): try again when no container starts",
		    ur->measure_pcr, URECEIPT_TRIES);
		return;
	}
	if ((ev = identity_evidence(call_cmld(call), params, ur->digest,
	    ur->measure_pcr, &reset, &cause)) == NULL) {
		ureceipt_fail(ur, "%s", cause);
		free(cause);
		return;
	}
	if (!ureceipt_logged(ur, json_object_object_get(ev, "log")) &&
	    receipt_in_place(ur->u.result)) {
		json_object_put(ev);
		ureceipt_fail(ur, "the install (%s %s %s) is %s, but the "
		    "measurement log of TPM reset %lld does not hold it: it "
		    "was not measured since the TPM's last reset (the device "
		    "restarted since it was installed), so no quote can show "
		    "it", ur->u.kind, ur->u.name, ur->u.version, ur->u.result,
		    reset);
		return;
	}
	call_set_details(call, "receipt of install %lld (%s %s %s, %s), "
	    "SHA-256 %s, signed by the device key, quoted in TPM reset %lld "
	    "with PCR %lld = %.16s..., %s", ur->u.id, ur->u.kind, ur->u.name,
	    ur->u.version, ur->u.result, ur->digest, reset, ur->measure_pcr,
	    ur->value, *ur->certificate != '\0' ?
	    "with the device certificate" : "no device certificate");
	p = json_object_new_object();
	json_object_object_add(p, "receipt",
	    json_object_new_string_len(ur->text, (int)ur->len));
	json_object_object_add(p, "signature",
	    json_object_new_string(ur->signature));
	json_object_object_add(p, "certificate",
	    json_object_new_string(ur->certificate));
	json_object_object_add(p, "ca", json_object_new_string(ur->ca));
	json_object_object_add(p, "quote", ev);
	ureceipt_audit(call, "ok");
	call_reply(call, p);
	ureceipt_free(ur);
}

/* tpm2d signed the receipt (or not): the quote over it. */
static void
ureceipt_signed(void *arg, const char *error, struct json_object *params)
{
	struct ureceipt *ur = arg;
	struct json_object *p;
	const char *sig;
	char *cause = NULL;

	if (error != NULL) {
		ureceipt_fail(ur, "cannot sign it with the TPM's device key: "
		    "%s", tpm_error_message(params));
		return;
	}
	if ((sig = ureceipt_string(params, "signature")) == NULL) {
		ureceipt_fail(ur, "tpm2d answered no signature");
		return;
	}
	free(ur->signature);
	ur->signature = xstrdup(sig);
	/* The nonce is the receipt's SHA-256: the quote is of it alone. */
	p = json_object_new_object();
	json_object_object_add(p, "nonce", json_object_new_string(ur->digest));
	if (tpm_call(call_cmld(ur->call), "Quote", p, ureceipt_quoted, ur,
	    &cause) == -1) {
		ureceipt_fail(ur, "cannot quote it: %s", cause);
		free(cause);
	}
}

/* Writes the receipt with the PCR as read; -1 with *cause set. */
static int
ureceipt_write(struct ureceipt *ur, char **cause)
{
	struct cmld *cmld = call_cmld(ur->call);
	struct receipt_install in;
	char made[URECEIPT_TIME_LEN], began[URECEIPT_TIME_LEN];
	char ended[URECEIPT_TIME_LEN];

	audit_format_time(audit_now_ms(), made, sizeof made);
	audit_format_time(ur->u.time_ms, began, sizeof began);
	audit_format_time(ur->u.end_ms, ended, sizeof ended);
	memset(&in, 0, sizeof in);
	in.id = ur->u.id;
	in.kind = ur->u.kind;
	in.name = ur->u.name;
	in.version = ur->u.version;
	in.digest = ur->u.digest;
	in.size = ur->u.size;
	in.signers = ur->u.signers != NULL ? ur->u.signers : "[]";
	in.result = ur->u.result;
	in.detail = ur->u.detail;
	in.began = began;
	in.ended = ur->u.end_ms != 0 ? ended : NULL;
	free(ur->text);
	if ((ur->text = receipt_text(cmld->uuid, cmld->device_name,
	    PACKAGE_VERSION, made, &in, ur->measure_pcr, ur->value, &ur->len,
	    cause)) == NULL)
		return -1;
	report_hash_hex(ur->text, ur->len, ur->digest);
	return 0;
}

/* tpm2d read the PCR (or not): the receipt, then its signature. */
static void
ureceipt_pcr_read(void *arg, const char *error, struct json_object *params)
{
	struct ureceipt *ur = arg;
	struct json_object *p, *pcrs;
	const char *value;
	char *cause = NULL;

	if (error != NULL) {
		ureceipt_fail(ur, "cannot read PCR %lld: %s", ur->measure_pcr,
		    tpm_error_message(params));
		return;
	}
	if (!json_object_object_get_ex(params, "pcrs", &pcrs) ||
	    (value = ureceipt_pcr(pcrs, ur->measure_pcr)) == NULL) {
		ureceipt_fail(ur, "tpm2d did not answer PCR %lld",
		    ur->measure_pcr);
		return;
	}
	snprintf(ur->value, sizeof ur->value, "%s", value);
	if (ureceipt_write(ur, &cause) == -1) {
		ureceipt_fail(ur, "%s", cause);
		free(cause);
		return;
	}
	p = json_object_new_object();
	json_object_object_add(p, "receipt_digest",
	    json_object_new_string(ur->digest));
	if (tpm_call(call_cmld(ur->call), "SignReceipt", p, ureceipt_signed,
	    ur, &cause) == -1) {
		ureceipt_fail(ur, "cannot sign it: %s", cause);
		free(cause);
	}
}

/* Asks tpm2d for the measurement PCR's value. */
static void
ureceipt_read(struct ureceipt *ur)
{
	struct json_object *p, *a;
	char *cause = NULL;

	p = json_object_new_object();
	a = json_object_new_array();
	json_object_array_add(a, json_object_new_int64(ur->measure_pcr));
	json_object_object_add(p, "pcrs", a);
	if (tpm_call(call_cmld(ur->call), "ReadPCRs", p, ureceipt_pcr_read,
	    ur, &cause) == -1) {
		ureceipt_fail(ur, "cannot read PCR %lld: %s", ur->measure_pcr,
		    cause);
		free(cause);
	}
}

/* tpm2d's status: the measurement PCR; then its value. */
static void
ureceipt_status(void *arg, const char *error, struct json_object *params)
{
	struct ureceipt *ur = arg;
	struct json_object *v;

	if (error != NULL) {
		ureceipt_fail(ur, "%s", tpm_error_message(params));
		return;
	}
	if (!json_object_object_get_ex(params, "measure_pcr", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0 || json_object_get_int64(v) > 23) {
		ureceipt_fail(ur, "tpm2d names no measurement PCR");
		return;
	}
	ur->measure_pcr = json_object_get_int64(v);
	ureceipt_read(ur);
}

void
cmd_update_receipt(struct call *call)
{
	struct cmld *cmld = call_cmld(call);
	struct json_object *v;
	struct ureceipt *ur;
	char *cause = NULL;
	long long id = 0;
	int rc;

	ur = xcalloc(1, sizeof *ur);
	ur->call = call;
	/* The table checked it is an integer of at least 1. */
	if (json_object_object_get_ex(call->params, "id", &v) && v != NULL) {
		id = json_object_get_int64(v);
		rc = store_update_get(cmld->store, id, &ur->u, &cause);
	} else
		rc = store_update_last(cmld->store, NULL, NULL, &ur->u,
		    &cause);
	if (rc == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot make the "
		    "receipt: %s", cause);
		goto fail;
	}
	if (rc == 0) {
		if (id != 0)
			call_error(call, PROTO_ERR_NOT_FOUND, "id", "there is "
			    "no install %lld in the update history ('update "
			    "status' lists the newest)", id);
		else
			call_error(call, PROTO_ERR_NOT_FOUND, "id", "there is "
			    "no install in the update history yet");
		goto fail;
	}
	if (preport_credentials(cmld, &ur->certificate, &ur->ca,
	    &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot make the "
		    "receipt of install %lld: %s", ur->u.id, cause);
		goto fail;
	}
	if (tpm_call(cmld, "Status", NULL, ureceipt_status, ur,
	    &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot make the "
		    "receipt of install %lld: %s", ur->u.id, cause);
		goto fail;
	}
	call_defer(call);
	return;
fail:
	free(cause);
	ureceipt_free(ur);
}
