/*
 * org.cml.Provision: the factory provisioning, seven steps and a one-way
 * lock (DESIGN.md, Provisioning; cmld(8), PROVISIONING).  Each step is
 * the command that does the same outside of provisioning, called, not
 * copied (provision.h): the device key and its request are tpm2d's, the
 * certificate is checked as `device cert install` checks it, anchors as
 * `ca add` does, c0's token is made as `token init` makes it, settings
 * are checked and applied as `device config set` does.
 *
 * Each step's state is a row of the store (store_provision_*): a step is
 * recorded done only once what it made is stored, and a step done is not
 * done again: a repeated call answers what it did (identity, certificate,
 * anchors), or is refused where doing it again would change the device
 * (token, another certificate).  A step that failed is recorded with its
 * error by cmld's done hook (provision_call_failed), once for every step.
 * This file has steps 1 to 5; provision.c the record, Status, Settings and
 * the Lock.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "cconfig.h"
#include "crypto.h"
#include "ctr.h"
#include "ctx.h"
#include "devcert.h"
#include "handlers.h"
#include "jsonstrict.h"
#include "log.h"
#include "provision.h"
#include "provision-int.h"
#include "scd.h"
#include "stage.h"
#include "store.h"
#include "token.h"
#include "tpm.h"
#include "xmalloc.h"

/* The clock must be before 2100-01-01T00:00:00Z. */
#define PROVISION_CLOCK_MAX 4102444800LL

/* --- Check ------------------------------------------------------------------- */

/*
 * cml's build date, from __DATE__ ("Dec  3 2026") where this file was
 * compiled: a clock before it is certainly wrong.  0 if it cannot be read.
 */
static time_t
provision_build_time(void)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	const char *date = __DATE__, *m;
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	if (strlen(date) != 11 || (m = strstr(months, (char[4]){ date[0],
	    date[1], date[2], '\0' })) == NULL || (m - months) % 3 != 0)
		return 0;
	tm.tm_mon = (int)(m - months) / 3;
	tm.tm_mday = atoi(date + 4);
	tm.tm_year = atoi(date + 7) - 1900;
	return timegm(&tm);
}

/* A check in progress: tpm2d's status, then scd's, then the clock. */
struct provision_check {
	struct call *call;
	struct json_object *checks;
	int failed;
	char summary[512];
	char failures[512];
};

/* Adds one check to the reply. */
static void
provision_check_add(struct provision_check *c, const char *name, int ok,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
provision_check_add(struct provision_check *c, const char *name, int ok,
    const char *fmt, ...)
{
	struct json_object *o = json_object_new_object();
	char *detail;
	va_list ap;
	size_t len;

	va_start(ap, fmt);
	if (vasprintf(&detail, fmt, ap) == -1)
		fatalx("out of memory");
	va_end(ap);
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	json_object_object_add(o, "detail", json_object_new_string(detail));
	json_object_array_add(c->checks, o);
	if (!ok) {
		c->failed++;
		len = strlen(c->failures);
		(void)snprintf(c->failures + len, sizeof c->failures - len,
		    "%s%s: %s", len > 0 ? "; " : "", name, detail);
	} else {
		len = strlen(c->summary);
		(void)snprintf(c->summary + len, sizeof c->summary - len,
		    "%s%s", len > 0 ? ", " : "", name);
	}
	free(detail);
}

/* The clock, last: then the step's record and the answer. */
static void
provision_check_end(struct provision_check *c)
{
	struct cmld *cmld = call_cmld(c->call);
	struct json_object *p;
	time_t now = time(NULL), built = provision_build_time();
	char when[32], date[32], *summary;

	audit_format_time((long long)now * 1000, when, sizeof when);
	ca_format_time((long long)built, date, sizeof date);
	if (built == 0)
		provision_check_add(c, "clock", 0, "cml's build date cannot "
		    "be read (%s): the clock cannot be checked", __DATE__);
	else if (now < built || (long long)now >= PROVISION_CLOCK_MAX)
		provision_check_add(c, "clock", 0, "UTC now is %s, %s: set "
		    "the clock", when, now < built ? "before cml's build date "
		    "(checked against the date cml was built)" :
		    "after 2099");
	else
		provision_check_add(c, "clock", 1, "UTC now is %s, after "
		    "cml's build date (%.10s)", when, date);

	p = json_object_new_object();
	json_object_object_add(p, "checks", c->checks);
	c->checks = NULL;
	if (c->failed == 0) {
		summary = xasprintf("every check passed: %s", c->summary);
		call_set_details(c->call, "%s", summary);
		if (provision_done(c->call, "check", summary, NULL) == -1) {
			json_object_put(p);
			free(summary);
			goto out;
		}
		free(summary);
	} else {
		/* An answer, not an error: the checks say what failed. */
		provision_failed(cmld, "check", c->failures);
		call_set_details(c->call, "%d check%s failed: %s", c->failed,
		    c->failed == 1 ? "" : "s", c->failures);
	}
	provision_reply(c->call, "check", p);
out:
	json_object_put(c->checks);
	free(c);
}

/* scd answered its Status (or not). */
static void
provision_check_scd(void *arg, const char *error, struct json_object *params)
{
	struct provision_check *c = arg;
	struct json_object *v;

	if (error != NULL)
		provision_check_add(c, "scd", 0, "%s",
		    scd_error_message(params));
	else
		provision_check_add(c, "scd", 1, "scd is up (platform secret "
		    "%s)", json_object_object_get_ex(params, "platform_secret",
		    &v) && json_object_is_type(v, json_type_string) ?
		    json_object_get_string(v) : "unknown");
	provision_check_end(c);
}

/* Asks scd's Status; without scd, the check fails at once. */
static void
provision_check_ask_scd(struct provision_check *c)
{
	char *cause = NULL;

	if (scd_call(call_cmld(c->call), "Status", NULL, provision_check_scd,
	    c, &cause) == 0)
		return;
	provision_check_add(c, "scd", 0, "%s", cause);
	free(cause);
	provision_check_end(c);
}

/* tpm2d answered its Status (or not): the TPM and the device key. */
static void
provision_check_tpm(void *arg, const char *error, struct json_object *params)
{
	struct provision_check *c = arg;
	struct json_object *v;
	const char *identity = NULL, *manufacturer = "", *firmware = "";

	if (error != NULL) {
		provision_check_add(c, "tpm", 0, "%s",
		    tpm_error_message(params));
		provision_check_add(c, "device-key", 0, "tpm2d does not "
		    "answer: the device key cannot be looked for");
		provision_check_ask_scd(c);
		return;
	}
	if (json_object_object_get_ex(params, "manufacturer", &v) &&
	    json_object_is_type(v, json_type_string))
		manufacturer = json_object_get_string(v);
	if (json_object_object_get_ex(params, "firmware", &v) &&
	    json_object_is_type(v, json_type_string))
		firmware = json_object_get_string(v);
	if (json_object_object_get_ex(params, "identity", &v) &&
	    json_object_is_type(v, json_type_string))
		identity = json_object_get_string(v);
	provision_check_add(c, "tpm", 1, "tpm2d is up, its TPM answers "
	    "(manufacturer %s, firmware %s)", manufacturer, firmware);
	if (identity != NULL && strcmp(identity, "present") == 0)
		provision_check_add(c, "device-key", 1, "the TPM holds the "
		    "device key");
	else
		provision_check_add(c, "device-key", 0, "the TPM holds no "
		    "usable device key (tpm2d says %s): 'provision identity' "
		    "makes one", identity != NULL ? identity : "nothing");
	provision_check_ask_scd(c);
}

void
cmd_provision_check(struct call *call)
{
	struct provision_check *c;
	char *cause = NULL;

	c = xcalloc(1, sizeof *c);
	c->call = call;
	c->checks = json_object_new_array();
	call_defer(call);
	if (tpm_call(call_cmld(call), "Status", NULL, provision_check_tpm, c,
	    &cause) == 0)
		return;
	provision_check_add(c, "tpm", 0, "%s", cause);
	provision_check_add(c, "device-key", 0, "tpm2d does not answer: the "
	    "device key cannot be looked for");
	free(cause);
	provision_check_ask_scd(c);
}

/* --- Identity ---------------------------------------------------------------- */

/* An identity step: tpm2d's CreateIdentity, then its CreateCSR. */
struct provision_identity {
	struct call *call;
	char *subject;
	char *public_key;
	char *key_name;
	int made;
};

static void
provision_identity_free(struct provision_identity *id)
{
	free(id->subject);
	free(id->public_key);
	free(id->key_name);
	free(id);
}

/* tpm2d made the request: recorded with what the next call answers. */
static void
provision_identity_csr(void *arg, const char *error,
    struct json_object *params)
{
	struct provision_identity *id = arg;
	struct call *call = id->call;
	struct json_object *p;
	const char *csr, *why;
	char *summary;

	if ((csr = identity_csr_answer(error, params, &why)) == NULL) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot make the "
		    "certificate request for the device key: %s", why);
		goto out;
	}
	p = json_object_new_object();
	json_object_object_add(p, "csr", json_object_new_string(csr));
	json_object_object_add(p, "subject",
	    json_object_new_string(id->subject));
	json_object_object_add(p, "public_key",
	    json_object_new_string(id->public_key));
	json_object_object_add(p, "key_name",
	    json_object_new_string(id->key_name));
	summary = xasprintf("device key %s (%s), request for %s",
	    id->key_name, id->made ? "made now" : "made before",
	    id->subject);
	if (provision_done(call, "identity", summary,
	    json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN)) == -1) {
		json_object_put(p);
		free(summary);
		goto out;
	}
	call_set_details(call, "%s", summary);
	free(summary);
	provision_reply(call, "identity", p);
out:
	provision_identity_free(id);
}

/* tpm2d has the device key (made now or before): the request next. */
static void
provision_identity_key(void *arg, const char *error,
    struct json_object *params)
{
	struct provision_identity *id = arg;
	struct call *call = id->call;
	struct json_object *p, *v;
	const char *key, *why;
	char *cause = NULL;

	if ((key = identity_key_answer(error, params, &why)) == NULL) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot make the "
		    "device key in the TPM: %s", why);
		provision_identity_free(id);
		return;
	}
	id->public_key = xstrdup(key);
	id->key_name = xstrdup(json_object_object_get_ex(params, "name", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) <= 2 * 66 ?
	    json_object_get_string(v) : "");
	id->made = json_object_object_get_ex(params, "made", &v) &&
	    json_object_get_boolean(v);
	p = json_object_new_object();
	json_object_object_add(p, "subject",
	    json_object_new_string(id->subject));
	if (tpm_call(call_cmld(call), "CreateCSR", p, provision_identity_csr,
	    id, &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot make the "
		    "certificate request for the device key: %s", cause);
		free(cause);
		provision_identity_free(id);
	}
}

void
cmd_provision_identity(struct call *call)
{
	struct store_provision_step row;
	struct provision_identity *id;
	char *cause = NULL;
	int rc;

	if ((rc = provision_row(call, "identity", &row)) == -1)
		return;
	if (rc == 1) {
		/* Done once: the same request, nothing made again. */
		call_set_details(call, "the identity step was done at %lld "
		    "ms: the same request answered again", row.time_ms);
		provision_reply_stored(call, "identity", &row);
		store_provision_step_clear(&row);
		return;
	}
	id = xcalloc(1, sizeof *id);
	id->call = call;
	id->subject = identity_subject(call_cmld(call));
	if (tpm_call(call_cmld(call), "CreateIdentity", NULL,
	    provision_identity_key, id, &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot make the "
		    "device key in the TPM: %s", cause);
		free(cause);
		provision_identity_free(id);
		return;
	}
	call_defer(call);
}

/* --- Certificate ------------------------------------------------------------- */

/* A certificate step waiting for the TPM's device key. */
struct provision_cert {
	struct call *call;
	char *name; /* the client's name of the certificate */
	char *buf;
	size_t len;
	struct crypto_cert ca;
};

static void
provision_cert_free(struct provision_cert *pc)
{
	free(pc->name);
	free(pc->buf);
	crypto_cert_clear(&pc->ca);
	free(pc);
}

/* The device key is known: the certificate is checked, stored, recorded. */
static void
provision_cert_key(void *arg, const char *error, struct json_object *params)
{
	struct provision_cert *pc = arg;
	struct call *call = pc->call;
	struct cmld *cmld = call_cmld(call);
	struct identity_anchors an = { 0 };
	struct crypto_cert cert = { 0 };
	struct json_object *p;
	const char *key, *why, *err;
	char *cause = NULL, *summary;
	int rc;

	if ((key = identity_key_answer(error, params, &why)) == NULL) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot install the "
		    "device certificate: cannot read the TPM's device key: %s",
		    why);
		goto out;
	}
	/* It must chain to the device CA passed, and to nothing else. */
	identity_anchors_add(&an, pc->ca.der, pc->ca.der_len);
	if (identity_cert_install(cmld, pc->buf, pc->len, pc->name, key, &an,
	    &cert, &err, &cause) == -1) {
		call_error(call, err, strcmp(err, PROTO_ERR_FAILED) != 0 ?
		    "cert" : NULL, "%s", cause);
		goto out;
	}
	if ((rc = ca_anchor_install(cmld, &pc->ca, "device", &cause)) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "the device "
		    "certificate is installed, but not its CA: %s", cause);
		goto out;
	}
	p = identity_cert_json(&cert);
	json_object_object_add(p, "ca_subject",
	    json_object_new_string(pc->ca.subject));
	json_object_object_add(p, "ca_fingerprint",
	    json_object_new_string(pc->ca.fingerprint));
	summary = xasprintf("device certificate '%s' (%s) issued by '%s', "
	    "valid until %s; device CA '%s' (%s)%s", cert.subject,
	    cert.fingerprint, cert.issuer, json_object_get_string(
	    json_object_object_get(p, "not_after")), pc->ca.subject,
	    pc->ca.fingerprint, rc == 1 ? ", an anchor before" : "");
	if (provision_done(call, "certificate", summary,
	    json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN)) == -1) {
		json_object_put(p);
		free(summary);
		goto out;
	}
	call_set_details(call, "installed %s", summary);
	free(summary);
	provision_reply(call, "certificate", p);
out:
	crypto_cert_clear(&cert);
	identity_anchors_free(&an);
	free(cause);
	provision_cert_free(pc);
}

/*
 * The certificate step is done: the same certificate answers as before,
 * another is refused.
 */
static void
provision_cert_again(struct call *call, struct provision_cert *pc,
    const struct store_provision_step *row)
{
	struct crypto_cert cert = { 0 };
	struct store_device_cert sc;
	char *cause = NULL;
	int rc;

	if (crypto_cert_parse(pc->buf, pc->len, pc->name, &cert,
	    &cause) == -1) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "cert", "%s",
		    cause);
		free(cause);
		return;
	}
	rc = store_device_cert_get(call_cmld(call)->store, &sc, &cause);
	if (rc == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot read the "
		    "device certificate: %s", cause);
		free(cause);
	} else if (rc == 0 || strcmp(sc.fingerprint, cert.fingerprint) != 0 ||
	    strcmp(cert.fingerprint, pc->ca.fingerprint) == 0) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "cert", "the "
		    "device certificate was installed already (%s): %s is "
		    "another; provisioning installs one ('device cert "
		    "install' replaces it, audited)", rc == 1 ? sc.subject :
		    "since removed", pc->name);
	} else {
		call_set_details(call, "the certificate step was done at %lld "
		    "ms: the same certificate answered again", row->time_ms);
		provision_reply_stored(call, "certificate", row);
	}
	store_device_cert_clear(&sc);
	crypto_cert_clear(&cert);
}

void
cmd_provision_certificate(struct call *call)
{
	struct cmld *cmld = call_cmld(call);
	struct store_provision_step row;
	struct provision_cert *pc;
	const char *name;
	char *cause = NULL, *kind = NULL;
	int rc;

	pc = xcalloc(1, sizeof *pc);
	pc->call = call;
	if (ca_passed_read(call, "cert", CRYPTO_DEVCERT_MAX, &pc->buf,
	    &pc->len, &name, &cause) == -1) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "cert", "cannot "
		    "install %s as the device certificate: %s", name, cause);
		goto fail;
	}
	pc->name = xstrdup(name);
	if (ca_anchor_read(call, "ca", &pc->ca, &name, &cause) == -1) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "ca", "%s is no "
		    "device CA: %s", name, cause);
		goto fail;
	}
	if (strcmp(pc->ca.subject, pc->ca.issuer) != 0) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "ca", "%s is no "
		    "root: '%s' is issued by '%s'; give the device CA's "
		    "self-signed root certificate", name, pc->ca.subject,
		    pc->ca.issuer);
		goto fail;
	}
	if ((rc = provision_row(call, "certificate", &row)) == -1)
		goto fail;
	if (rc == 1) {
		provision_cert_again(call, pc, &row);
		store_provision_step_clear(&row);
		goto fail;
	}
	/* The device CA certifies devices only: no anchor of software too. */
	if (ca_anchor_kind(cmld, pc->ca.fingerprint, &kind, &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot read the "
		    "trust anchors: %s", cause);
		goto fail;
	}
	if (kind != NULL && strcmp(kind, "device") != 0) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "ca", "'%s' (%s) "
		    "is a %s anchor already: a device CA certifies device keys "
		    "and no software", pc->ca.subject, pc->ca.fingerprint,
		    kind);
		goto fail;
	}
	if (tpm_call(cmld, "IdentityPublic", NULL, provision_cert_key, pc,
	    &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot install the "
		    "device certificate: cannot read the TPM's device key: %s",
		    cause);
		goto fail;
	}
	free(kind);
	call_defer(call);
	return;
fail:
	free(kind);
	free(cause);
	provision_cert_free(pc);
}

/* --- Anchor ------------------------------------------------------------------ */

/* Returns the lower-case copy of a 64-digit hex fingerprint, or NULL. */
static char *
provision_fingerprint(const char *s)
{
	char *lower;
	size_t i;

	if (strlen(s) != 2 * CRYPTO_SHA256_LEN)
		return NULL;
	lower = xstrdup(s);
	for (i = 0; lower[i] != '\0'; i++) {
		if (!isxdigit((unsigned char)lower[i])) {
			free(lower);
			return NULL;
		}
		lower[i] = (char)tolower((unsigned char)lower[i]);
	}
	return lower;
}

void
cmd_provision_anchor(struct call *call)
{
	struct cmld *cmld = call_cmld(call);
	struct store_provision_step row;
	struct crypto_cert cert = { 0 };
	struct json_object *p, *v;
	const char *kind, *name;
	char *cause = NULL, *there = NULL, *confirm = NULL, *summary, *q;
	int installed = 0, rc;

	kind = json_object_get_string(json_object_object_get(call->params,
	    "kind"));
	if (strcmp(kind, "supplier") != 0 && strcmp(kind, "owner") != 0) {
		q = jsonstrict_quotes(kind);
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "kind", "'%s' is "
		    "no kind of anchor: supplier (software signing, fixed "
		    "once provisioned) or owner", q);
		free(q);
		return;
	}
	if (json_object_object_get_ex(call->params, "confirm", &v) &&
	    v != NULL && (confirm = provision_fingerprint(
	    json_object_get_string(v))) == NULL) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "confirm", "confirm "
		    "must be the anchor's SHA-256 fingerprint: all 64 hex "
		    "digits, as shown without --confirm; nothing was "
		    "installed");
		return;
	}
	if (ca_anchor_read(call, "cert", &cert, &name, &cause) == -1) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "cert", "cannot "
		    "install %s as a trust anchor: %s", name, cause);
		goto out;
	}
	if (ca_anchor_kind(cmld, cert.fingerprint, &there, &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot read the "
		    "trust anchors: %s", cause);
		goto out;
	}
	if (there != NULL && strcmp(there, kind) != 0) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "kind", "'%s' (%s) "
		    "is a %s anchor already, not a %s one", cert.subject,
		    cert.fingerprint, there, kind);
		goto out;
	}
	if (there != NULL) {
		installed = 1;
		call_set_details(call, "%s anchor %s (%s) was installed "
		    "already", kind, cert.fingerprint, cert.subject);
	} else if (confirm == NULL) {
		call_set_details(call, "shown %s anchor %s (%s) from %s, not "
		    "installed", kind, cert.fingerprint, cert.subject, name);
	} else if (strcmp(confirm, cert.fingerprint) != 0) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "confirm", "the "
		    "fingerprint confirmed (%s) is not the one of %s (%s): "
		    "nothing was installed", confirm, name, cert.fingerprint);
		goto out;
	} else {
		if ((rc = ca_anchor_install(cmld, &cert, kind,
		    &cause)) == -1) {
			call_error(call, PROTO_ERR_FAILED, NULL, "%s", cause);
			goto out;
		}
		installed = 1;
		call_set_details(call, "installed %s anchor %s (%s) from %s, "
		    "its fingerprint confirmed", kind, cert.fingerprint,
		    cert.subject, name);
	}
	/*
	 * The step is done with the first supplier anchor (also one found
	 * there, installed by a call cut before its record).
	 */
	if (installed && strcmp(kind, "supplier") == 0) {
		if ((rc = provision_row(call, "anchors", &row)) == -1)
			goto out;
		if (rc == 1)
			store_provision_step_clear(&row);
		else {
			summary = xasprintf("supplier anchor '%s' (%s)",
			    cert.subject, cert.fingerprint);
			rc = provision_done(call, "anchors", summary, NULL);
			free(summary);
			if (rc == -1)
				goto out;
		}
	}
	p = ca_anchor_json(cert.fingerprint, cert.subject, cert.key,
	    cert.not_after, kind);
	json_object_object_add(p, "installed",
	    json_object_new_boolean(installed));
	provision_reply(call, "anchors", p);
out:
	free(there);
	free(confirm);
	free(cause);
	crypto_cert_clear(&cert);
}

/* --- Token ------------------------------------------------------------------- */

/*
 * Gives c0's stored config the token type type (c0 has none), and c0 in
 * memory with it; -1 with *cause set.
 */
static int
provision_c0_set_token(struct cmld *cmld, struct ctr *k,
    enum cconfig_token type, char **cause)
{
	struct store_container sc;
	struct json_object *top = NULL, *cml, *token;
	struct cconfig cfg;
	const char *json;
	int rc, ret = -1;

	if ((rc = store_container_get(cmld->store, k->name, &sc,
	    cause)) != 1) {
		if (rc == 0)
			*cause = xstrdup("c0 is not in the store");
		return -1;
	}
	if (jsonstrict_parse(sc.config, sc.config_len, &provision_json_limits,
	    &top, cause) == -1)
		goto out;
	if (!json_object_object_get_ex(top, "cml", &cml)) {
		cml = json_object_new_object();
		json_object_object_add(top, "cml", cml);
	}
	if (!json_object_object_get_ex(cml, "token", &token)) {
		token = json_object_new_object();
		json_object_object_add(cml, "token", token);
	}
	json_object_object_add(token, "type",
	    json_object_new_string(cconfig_token_name(type)));
	json = json_object_to_json_string_ext(top, JSON_C_TO_STRING_PLAIN);
	/* What is stored must read as c0's config, with that token. */
	if (cconfig_parse_c0(json, strlen(json), &cfg, cause) == -1)
		goto out;
	rc = cfg.token == type ? 0 : -1;
	cconfig_clear(&cfg);
	if (rc == -1) {
		*cause = xstrdup("c0's config does not take the token type");
		goto out;
	}
	if (store_container_update_config(cmld->store, k->name, json,
	    strlen(json), NULL, NULL, cause) == -1)
		goto out;
	k->cfg.token = type;
	audit_container(cmld, k->name, "ok", "c0's config names a %s token "
	    "now (cml.token.type)", cconfig_token_name(type));
	ret = 0;
out:
	json_object_put(top);
	store_container_clear(&sc);
	return ret;
}

/*
 * Returns c0 with a config that names the token type, made now if c0_guestos
 * names an installed guest OS and there is no c0 yet; NULL with the call
 * answered.
 */
static struct ctr *
provision_c0(struct call *call, enum cconfig_token type)
{
	struct cmld *cmld = call_cmld(call);
	struct ctr *k;
	const char *error;
	char *cause = NULL;

	if ((k = ctr_find(cmld, CCONFIG_C0_NAME)) == NULL) {
		if (cmld->c0_guestos[0] == '\0') {
			call_error(call, PROTO_ERR_FAILED, NULL, "there is no "
			    "c0 to make the token of: set c0_guestos to an "
			    "installed guest OS first ('device config set "
			    "c0_guestos NAME'; 'guestos list' shows them)");
			return NULL;
		}
		if ((k = ctr_c0_create(cmld, cconfig_token_name(type), &error,
		    &cause)) == NULL) {
			call_error(call, error, NULL, "cannot make c0 on guest "
			    "OS %s (c0_guestos): %s", cmld->c0_guestos, cause);
			free(cause);
			return NULL;
		}
	}
	if (!k->cfg_ok) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot make c0's "
		    "token: c0's stored config does not parse (%s)",
		    k->reason != NULL ? k->reason : "see the log");
		return NULL;
	}
	if (k->cfg.token == CCONFIG_TOKEN_NONE &&
	    provision_c0_set_token(cmld, k, type, &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot give c0's "
		    "config the token type %s: %s", cconfig_token_name(type),
		    cause);
		free(cause);
		return NULL;
	}
	if (k->cfg.token != type) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "type", "c0's "
		    "config names a %s token, not a %s: give type %s",
		    cconfig_token_name(k->cfg.token), cconfig_token_name(type),
		    cconfig_token_name(k->cfg.token));
		return NULL;
	}
	return k;
}

/* c0's token was made: the step is recorded, the PUK shown once. */
static void
provision_token_made(void *arg, struct call *call, struct json_object *status,
    const char *puk)
{
	struct json_object *p, *v;
	char *summary;

	(void)arg;
	summary = xasprintf("%s %s of c0, PIN and PUK set%s",
	    json_object_object_get_ex(status, "type", &v) ?
	    json_object_get_string(v) : "token",
	    json_object_object_get_ex(status, "serial", &v) ?
	    json_object_get_string(v) : "", puk != NULL ?
	    " (the PUK made by scd, shown once)" : "");
	if (provision_done(call, "token", summary, NULL) == -1) {
		json_object_put(status);
		free(summary);
		return;
	}
	free(summary);
	p = json_object_new_object();
	json_object_object_add(p, "status", status);
	if (puk != NULL)
		json_object_object_add(p, "puk", json_object_new_string(puk));
	provision_reply(call, "token", p);
}

void
cmd_provision_token(struct call *call)
{
	struct store_provision_step row;
	enum cconfig_token type;
	struct ctr *k;
	const char *t;
	char when[32];
	int rc;

	t = json_object_get_string(json_object_object_get(call->params,
	    "type"));
	if (strcmp(t, "softtoken") == 0)
		type = CCONFIG_TOKEN_SOFTTOKEN;
	else if (strcmp(t, "usbtoken") == 0)
		type = CCONFIG_TOKEN_USBTOKEN;
	else {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "type", "the "
		    "token type must be softtoken (a key file scd keeps) or "
		    "usbtoken (an OpenPGP card)");
		goto refused;
	}
	if ((rc = provision_row(call, "token", &row)) == -1)
		goto refused;
	if (rc == 1) {
		audit_format_time(row.time_ms, when, sizeof when);
		call_error(call, PROTO_ERR_FAILED, NULL, "c0's token was made "
		    "by provisioning at %s (%s): it is made once; 'token init "
		    "c0 --force' makes it anew (audited)", when,
		    row.summary != NULL ? row.summary : "");
		store_provision_step_clear(&row);
		goto refused;
	}
	if ((k = provision_c0(call, type)) == NULL)
		goto refused;
	/*
	 * A token there (made by a step cut before its record, whose PUK
	 * nobody saw) is made anew with the PIN and PUK given now.
	 */
	json_object_object_add(call->params, "force",
	    json_object_new_boolean(1));
	token_init(call, k, provision_token_made, NULL);
	return;
refused:
	cmd_wipe_secrets(call->cmd, call->params);
}

