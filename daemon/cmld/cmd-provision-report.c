/*
 * org.cml.Provision.Report: the provisioning report, signed in the TPM.
 * cmld writes the report (crypto/report.h: the device, its state, every
 * step with its result, the device key as tpm2d names it, the device
 * certificate and CA, the trust anchors, the settings) and has tpm2d sign
 * its SHA-256 with the device key (SignReport, under the report's own
 * label), then answers the text, the signature, the device certificate
 * and the device CA: what `cml-attest --report` verifies off the device.
 * Both calls to tpm2d are non-blocking: the handler defers its call and
 * answers it from tpm2d's replies.  The audit record names the digest.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "crypto.h"
#include "ctx.h"
#include "devcert.h"
#include "handlers.h"
#include "log.h"
#include "provision.h"
#include "report.h"
#include "settings.h"
#include "store.h"
#include "tpm.h"
#include "xmalloc.h"

/* The most bytes of a field tpm2d answers with (a key, a signature). */
#define PREPORT_FIELD_MAX (64 * 1024)
/* Room for a time as audit_format_time writes it. */
#define PREPORT_TIME_LEN 32

/* A report on its way: written, then signed. */
struct preport {
	struct call *call;
	char *text;
	size_t len;
	char digest[CRYPTO_SHA256_HEX];
	char *certificate; /* PEM, "" before the certificate step */
	char *ca; /* PEM, "" without a device CA */
};

static void
preport_free(struct preport *pr)
{
	free(pr->text);
	free(pr->certificate);
	free(pr->ca);
	free(pr);
}

/* Returns member key of o when it is a string of sane length, else NULL. */
static const char *
preport_string(struct json_object *o, const char *key)
{
	return tpm_answer_string(o, key, PREPORT_FIELD_MAX);
}

/* The steps tried, by index in store_provision_steps. */
struct preport_steps {
	struct store_provision_step row[STORE_PROVISION_NSTEPS];
};

static int
preport_step_cb(const struct store_provision_step *s, void *arg)
{
	struct preport_steps *st = arg;
	struct store_provision_step *r;
	int i;

	if ((i = store_provision_index(s->name)) == -1)
		return 0;
	r = &st->row[i];
	r->name = xstrdup(s->name);
	r->state = xstrdup(s->state);
	r->time_ms = s->time_ms;
	r->summary = s->summary != NULL ? xstrdup(s->summary) : NULL;
	r->error = s->error != NULL ? xstrdup(s->error) : NULL;
	return 0;
}

/* Adds every step, "pending" where it was not tried. */
static int
preport_steps(struct cmld *cmld, struct report *r, char **cause)
{
	struct preport_steps st;
	struct store_provision_step *s;
	char when[PREPORT_TIME_LEN];
	size_t i;
	int rc;

	memset(&st, 0, sizeof st);
	rc = store_provision_list(cmld->store, preport_step_cb, &st, cause);
	for (i = 0; i < STORE_PROVISION_NSTEPS; i++) {
		s = &st.row[i];
		if (rc == 0 && s->name == NULL)
			report_add_step(r, store_provision_steps[i], "pending",
			    NULL, NULL, NULL);
		else if (rc == 0) {
			audit_format_time(s->time_ms, when, sizeof when);
			report_add_step(r, s->name, s->state, when, s->summary,
			    s->error);
		}
		store_provision_step_clear(s);
	}
	return rc;
}

/* The anchors: each in the report; the device CA's certificate kept. */
struct preport_anchors {
	struct report *r;
	char *ca_pem;
	char ca_fingerprint[CRYPTO_SHA256_HEX];
};

static int
preport_anchor_cb(const struct store_anchor *a, void *arg)
{
	struct preport_anchors *pa = arg;
	char when[PREPORT_TIME_LEN];

	if (pa->r != NULL) {
		ca_format_time(a->not_after, when, sizeof when);
		report_add_anchor(pa->r, a->kind, a->subject, a->fingerprint,
		    when);
	}
	/* One device CA is installed (provision certificate); the first. */
	if (pa->ca_pem == NULL && strcmp(a->kind, "device") == 0 &&
	    (pa->ca_pem = crypto_der_pem(a->der, a->der_len,
	    "CERTIFICATE")) != NULL)
		snprintf(pa->ca_fingerprint, sizeof pa->ca_fingerprint, "%s",
		    a->fingerprint);
	return 0;
}

int
preport_credentials(struct cmld *cmld, char **certificate, char **ca,
    char **cause)
{
	struct preport_anchors pa;
	struct store_device_cert c;
	int rc;

	*certificate = *ca = NULL;
	memset(&pa, 0, sizeof pa);
	memset(&c, 0, sizeof c);
	if (store_anchor_list(cmld->store, preport_anchor_cb, &pa,
	    cause) == -1 ||
	    (rc = store_device_cert_get(cmld->store, &c, cause)) == -1)
		goto fail;
	/* with its chain: a verifier needs the root alone */
	if (rc == 1 && (*certificate = crypto_devcert_pem(c.der, c.der_len,
	    c.chain, c.chain_len)) == NULL) {
		*cause = xstrdup("the device certificate in the store or its "
		    "chain cannot be encoded as PEM");
		goto fail;
	}
	if (rc == 0)
		*certificate = xstrdup("");
	*ca = pa.ca_pem != NULL ? pa.ca_pem : xstrdup("");
	store_device_cert_clear(&c);
	return 0;
fail:
	store_device_cert_clear(&c);
	free(pa.ca_pem);
	return -1;
}

/*
 * Writes the report with the device key tpm2d named into pr (text,
 * digest, certificate and CA); -1 with *cause set.
 */
static int
preport_write(struct preport *pr, const char *key, const char *curve,
    const char *key_name, char **cause)
{
	struct cmld *cmld = call_cmld(pr->call);
	struct preport_anchors pa;
	struct store_device_cert c;
	struct report *r;
	char made[PREPORT_TIME_LEN], nb[PREPORT_TIME_LEN], na[PREPORT_TIME_LEN];
	char *value;
	size_t i;
	int rc, ret = -1;

	memset(&pa, 0, sizeof pa);
	memset(&c, 0, sizeof c);
	audit_format_time(audit_now_ms(), made, sizeof made);
	r = report_new(cmld->uuid, cmld->device_name, cmld->prov_state,
	    PACKAGE_VERSION, made);
	if (preport_steps(cmld, r, cause) == -1)
		goto out;
	report_set_key(r, key, curve, key_name);
	pa.r = r;
	if (store_anchor_list(cmld->store, preport_anchor_cb, &pa,
	    cause) == -1)
		goto out;
	if ((rc = store_device_cert_get(cmld->store, &c, cause)) == -1)
		goto out;
	if (rc == 1) {
		/* with its chain: a verifier needs the root alone */
		if ((pr->certificate = crypto_devcert_pem(c.der, c.der_len,
		    c.chain, c.chain_len)) == NULL) {
			*cause = xstrdup("the device certificate in the store "
			    "or its chain cannot be encoded as PEM");
			goto out;
		}
		ca_format_time(c.not_before, nb, sizeof nb);
		ca_format_time(c.not_after, na, sizeof na);
		report_set_certificate(r, c.subject, c.issuer, c.fingerprint,
		    nb, na, pa.ca_pem != NULL ? pa.ca_fingerprint : NULL);
	} else
		pr->certificate = xstrdup("");
	for (i = 0; i < setting_defs_len; i++) {
		value = store_setting_value(cmld->store, setting_defs[i].key);
		report_add_setting(r, setting_defs[i].key, value);
		free(value);
	}
	if ((pr->text = report_text(r, &pr->len, cause)) == NULL)
		goto out;
	report_hash_hex(pr->text, pr->len, pr->digest);
	pr->ca = pa.ca_pem != NULL ? pa.ca_pem : xstrdup("");
	pa.ca_pem = NULL;
	ret = 0;
out:
	store_device_cert_clear(&c);
	free(pa.ca_pem);
	report_free(r);
	return ret;
}

/* tpm2d signed the report (or not): the reply. */
static void
preport_signed(void *arg, const char *error, struct json_object *params)
{
	struct preport *pr = arg;
	struct call *call = pr->call;
	struct json_object *p;
	const char *sig;

	if (error != NULL) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot sign the "
		    "provisioning report with the TPM's device key: %s",
		    tpm_error_message(params));
		goto out;
	}
	if ((sig = preport_string(params, "signature")) == NULL) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot sign the "
		    "provisioning report: tpm2d answered no signature");
		goto out;
	}
	p = json_object_new_object();
	json_object_object_add(p, "report",
	    json_object_new_string_len(pr->text, (int)pr->len));
	json_object_object_add(p, "signature", json_object_new_string(sig));
	json_object_object_add(p, "certificate",
	    json_object_new_string(pr->certificate));
	json_object_object_add(p, "ca", json_object_new_string(pr->ca));
	call_reply(call, p);
out:
	preport_free(pr);
}

/* tpm2d named the device key (or not): the report, then its signature. */
static void
preport_key(void *arg, const char *error, struct json_object *params)
{
	struct preport *pr = arg;
	struct call *call = pr->call;
	struct json_object *p;
	const char *key, *curve, *name, *why;
	char *cause = NULL;

	if ((key = identity_key_answer(error, params, &why)) == NULL) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot make the "
		    "provisioning report: cannot read the TPM's device key: "
		    "%s", why);
		goto fail;
	}
	curve = preport_string(params, "curve");
	name = preport_string(params, "name");
	if (curve == NULL || name == NULL) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot make the "
		    "provisioning report: tpm2d did not name the device key's "
		    "curve and TPM name");
		goto fail;
	}
	if (preport_write(pr, key, curve, name, &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot make the "
		    "provisioning report: %s", cause);
		goto fail;
	}
	/* The record names the report, also when the signing fails. */
	call_set_details(call, "provisioning report of %zu bytes, SHA-256 "
	    "%s, state %s, %s", pr->len, pr->digest,
	    call_cmld(call)->prov_state, *pr->certificate != '\0' ?
	    "with the device certificate" : "no device certificate");
	p = json_object_new_object();
	json_object_object_add(p, "report_digest",
	    json_object_new_string(pr->digest));
	if (tpm_call(call_cmld(call), "SignReport", p, preport_signed, pr,
	    &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot sign the "
		    "provisioning report: %s", cause);
		goto fail;
	}
	return;
fail:
	free(cause);
	preport_free(pr);
}

void
cmd_provision_report(struct call *call)
{
	struct preport *pr;
	char *cause = NULL;

	pr = xcalloc(1, sizeof *pr);
	pr->call = call;
	if (tpm_call(call_cmld(call), "IdentityPublic", NULL, preport_key, pr,
	    &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot make the "
		    "provisioning report: cannot read the TPM's device key: "
		    "%s", cause);
		free(cause);
		preport_free(pr);
		return;
	}
	call_defer(call);
}
