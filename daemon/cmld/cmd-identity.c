/*
 * org.cml.Device: the device's identity and its attestation.  The device
 * key lives in the TPM and only tpm2d uses it: `device csr` has tpm2d make
 * a request for it, `device cert install` accepts a certificate for it
 * only when it chains to a trust anchor, names this device and certifies
 * that very key, and `device attest` gathers what a verifier (cml-attest)
 * checks: tpm2d's quote, the measurement log of the TPM's current reset
 * and the device certificate.  Every call to tpm2d is non-blocking: the
 * handler defers its call and answers it from tpm2d's reply.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "crypto.h"
#include "ctx.h"
#include "devcert.h"
#include "file.h"
#include "handlers.h"
#include "jsonstrict.h"
#include "log.h"
#include "provision.h"
#include "store.h"
#include "tpm.h"
#include "xmalloc.h"

/* The most bytes of a request or quote field tpm2d answers with. */
#define IDENTITY_FIELD_MAX (64 * 1024)
/* A nonce: 8 to 64 bytes, as hex. */
#define IDENTITY_NONCE_MIN 8
#define IDENTITY_NONCE_MAX 64
/* TPMS_ATTEST's magic (TPM_GENERATED_VALUE). */
#define IDENTITY_TPM_GENERATED 0xff544347U

char *
identity_subject(struct cmld *cmld)
{
	return xasprintf("/CN=%s/O=cml device", cmld->uuid);
}

/* Returns member key of o when it is a string, else NULL. */
static const char *
identity_string(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

void
identity_status_fill(struct cmld *cmld, struct json_object *p)
{
	const char *subject;
	long long not_after;
	char when[32], *cause = NULL;
	int rc;

	rc = store_device_cert_brief(cmld->store, &subject, &not_after,
	    &cause);
	if (rc == 1) {
		ca_format_time(not_after, when, sizeof when);
		json_object_object_add(p, "certificate",
		    json_object_new_string(subject));
		json_object_object_add(p, "certificate_not_after",
		    json_object_new_string(when));
	} else {
		if (rc == -1) {
			log_warnx("%s", cause);
			free(cause);
		}
		json_object_object_add(p, "certificate",
		    json_object_new_string(rc == -1 ? "unreadable" : "none"));
	}
}

/* --- device csr ---------------------------------------------------------- */

/*
 * Reads the PEM member of a tpm2d answer that starts with "-----BEGIN
 * label-----": borrowed from params, or NULL with *why (borrowed).
 */
static const char *
identity_pem_answer(const char *error, struct json_object *params,
    const char *member, const char *label, const char *none,
    const char **why)
{
	const char *pem;
	char begin[64];

	if (error != NULL) {
		*why = tpm_error_message(params);
		return NULL;
	}
	(void)snprintf(begin, sizeof begin, "-----BEGIN %s-----", label);
	pem = identity_string(params, member);
	if (pem == NULL || strlen(pem) > IDENTITY_FIELD_MAX ||
	    strncmp(pem, begin, strlen(begin)) != 0) {
		*why = none;
		return NULL;
	}
	return pem;
}

const char *
identity_csr_answer(const char *error, struct json_object *params,
    const char **why)
{
	return identity_pem_answer(error, params, "csr",
	    "CERTIFICATE REQUEST", "tpm2d answered no PEM request", why);
}

const char *
identity_key_answer(const char *error, struct json_object *params,
    const char **why)
{
	return identity_pem_answer(error, params, "public_key", "PUBLIC KEY",
	    "tpm2d answered no device key", why);
}

/* tpm2d made the request (or not). */
static void
identity_csr_done(void *arg, const char *error, struct json_object *params)
{
	struct call *call = arg;
	struct json_object *p;
	const char *csr, *why;
	char *subject;

	subject = identity_subject(call_cmld(call));
	if ((csr = identity_csr_answer(error, params, &why)) == NULL) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot make a "
		    "certificate request for the device key: %s", why);
		goto out;
	}
	call_set_details(call, "certificate request for the device key, "
	    "subject %s", subject);
	p = json_object_new_object();
	json_object_object_add(p, "csr", json_object_new_string(csr));
	json_object_object_add(p, "subject", json_object_new_string(subject));
	call_reply(call, p);
out:
	free(subject);
}

void
cmd_device_csr(struct call *call)
{
	struct cmld *cmld = call_cmld(call);
	struct json_object *p;
	char *cause = NULL, *subject;

	subject = identity_subject(cmld);
	p = json_object_new_object();
	json_object_object_add(p, "subject", json_object_new_string(subject));
	free(subject);
	if (tpm_call(cmld, "CreateCSR", p, identity_csr_done, call,
	    &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot make a "
		    "certificate request for the device key: %s", cause);
		free(cause);
		return;
	}
	call_defer(call);
}

/* --- device cert install ------------------------------------------------- */

/* An install waiting for the device key's public half. */
struct identity_install {
	struct call *call;
	char *path; /* the name the client gave */
	char *buf;
	size_t len;
};

static int
identity_anchor_cb(const struct store_anchor *a, void *arg)
{
	identity_anchors_add(arg, a->der, a->der_len);
	return 0;
}

void
identity_anchors_add(struct identity_anchors *an, const unsigned char *der,
    size_t len)
{
	an->der = xreallocarray(an->der, an->n + 1, sizeof *an->der);
	an->len = xreallocarray(an->len, an->n + 1, sizeof *an->len);
	an->der[an->n] = xmalloc(len);
	memcpy(an->der[an->n], der, len);
	an->len[an->n++] = len;
}

void
identity_anchors_free(struct identity_anchors *an)
{
	size_t i;

	for (i = 0; i < an->n; i++)
		free(an->der[i]);
	free(an->der);
	free(an->len);
	memset(an, 0, sizeof *an);
}

int
identity_cert_install(struct cmld *cmld, const char *buf, size_t len,
    const char *name, const char *key, const struct identity_anchors *an,
    struct crypto_cert *cert, const char **error, char **cause)
{
	struct crypto_devcert_want want;
	struct store_device_cert sc;
	unsigned char *chain = NULL;
	size_t chain_len = 0;
	char *why = NULL;
	int rc = -1;

	memset(&want, 0, sizeof want);
	want.anchors = (const unsigned char *const *)an->der;
	want.anchor_lens = an->len;
	want.nanchors = an->n;
	want.key_pem = key;
	want.uuid = cmld->uuid;
	want.now = time(NULL);
	if (crypto_devcert_check(buf, len, name, &want, cert, &chain,
	    &chain_len, &why) == -1) {
		*error = PROTO_ERR_INVALID_ARGUMENT;
		*cause = xasprintf("%s is not this device's certificate: %s",
		    name, why);
		free(why);
		return -1;
	}
	/*
	 * The CA certificates between it and the anchor go with it, so that
	 * whoever gets it from the device needs the anchor alone.
	 */
	memset(&sc, 0, sizeof sc);
	sc.der = cert->der;
	sc.der_len = cert->der_len;
	sc.chain = chain;
	sc.chain_len = chain_len;
	sc.subject = cert->subject;
	sc.issuer = cert->issuer;
	memcpy(sc.fingerprint, cert->fingerprint, sizeof sc.fingerprint);
	sc.not_before = cert->not_before;
	sc.not_after = cert->not_after;
	sc.installed_ms = audit_now_ms();
	if (store_device_cert_set(cmld->store, &sc, &why) == -1) {
		*error = PROTO_ERR_FAILED;
		*cause = xasprintf("cannot install the device certificate: %s",
		    why);
		free(why);
		crypto_cert_clear(cert);
		goto out;
	}
	rc = 0;
out:
	free(chain);
	return rc;
}

struct json_object *
identity_cert_json(const struct crypto_cert *cert)
{
	struct json_object *p = json_object_new_object();
	char when[32];

	ca_format_time(cert->not_after, when, sizeof when);
	json_object_object_add(p, "subject",
	    json_object_new_string(cert->subject));
	json_object_object_add(p, "issuer",
	    json_object_new_string(cert->issuer));
	json_object_object_add(p, "not_after", json_object_new_string(when));
	json_object_object_add(p, "fingerprint",
	    json_object_new_string(cert->fingerprint));
	return p;
}

/* Checks the certificate against the TPM's key, stores it, answers. */
static void
identity_install_key(void *arg, const char *error, struct json_object *params)
{
	struct identity_install *in = arg;
	struct call *call = in->call;
	struct cmld *cmld = call_cmld(call);
	struct identity_anchors an = { 0 };
	struct crypto_cert cert = { 0 };
	struct json_object *p;
	const char *key, *why, *err;
	char *cause = NULL;

	if ((key = identity_key_answer(error, params, &why)) == NULL) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot install the "
		    "device certificate: cannot read the TPM's device key: %s",
		    why);
		goto out;
	}
	if (store_anchor_list(cmld->store, identity_anchor_cb, &an,
	    &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot install the "
		    "device certificate: cannot read the trust anchors: %s",
		    cause);
		goto out;
	}
	if (identity_cert_install(cmld, in->buf, in->len, in->path, key, &an,
	    &cert, &err, &cause) == -1) {
		call_error(call, err, strcmp(err, PROTO_ERR_FAILED) != 0 ?
		    "cert" : NULL, "%s", cause);
		goto out;
	}
	p = identity_cert_json(&cert);
	call_set_details(call, "installed device certificate '%s' issued by "
	    "'%s', valid until %s (%s)", cert.subject, cert.issuer,
	    json_object_get_string(json_object_object_get(p, "not_after")),
	    cert.fingerprint);
	call_reply(call, p);
out:
	crypto_cert_clear(&cert);
	identity_anchors_free(&an);
	free(cause);
	free(in->buf);
	free(in->path);
	free(in);
}

void
cmd_device_cert_install(struct call *call)
{
	struct identity_install *in;
	const char *path;
	char *cause = NULL;

	in = xcalloc(1, sizeof *in);
	in->call = call;
	if (ca_passed_read(call, "cert", CRYPTO_DEVCERT_MAX, &in->buf,
	    &in->len, &path, &cause) == -1) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "cert",
		    "cannot install %s as the device certificate: %s",
		    path, cause);
		goto fail;
	}
	in->path = xstrdup(path);
	if (tpm_call(call_cmld(call), "IdentityPublic", NULL,
	    identity_install_key, in, &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot install the "
		    "device certificate: cannot read the TPM's device key: %s",
		    cause);
		goto fail;
	}
	call_defer(call);
	return;
fail:
	free(cause);
	free(in->buf);
	free(in->path);
	free(in);
}

/* --- device attest ------------------------------------------------------- */

/* An attestation: tpm2d's status (the measurement PCR), then its quote. */
struct identity_attest {
	struct call *call;
	char nonce[2 * IDENTITY_NONCE_MAX + 1];
	long long measure_pcr;
};

static void
identity_attest_free(struct identity_attest *at)
{
	free(at);
}

/* Decodes standard base64 (padding required); -1 if it is none. */
static int
identity_base64(const char *in, unsigned char **out, size_t *outlen)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t len = strlen(in), i, n = 0;
	unsigned char *buf;
	uint32_t acc = 0;
	const char *c;
	int bits = 0, pad = 0;

	if (len % 4 != 0)
		return -1;
	buf = xmalloc(len / 4 * 3 + 1);
	for (i = 0; i < len; i++) {
		if (in[i] == '=') {
			if (++pad > 2 || i < len - 2)
				goto fail;
			continue;
		}
		if (pad > 0 || (c = strchr(tab, in[i])) == NULL)
			goto fail;
		acc = (acc << 6) | (uint32_t)(c - tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (unsigned char)(acc >> bits);
		}
	}
	*out = buf;
	*outlen = n;
	return 0;
fail:
	free(buf);
	return -1;
}

/*
 * Reads the reset count and the qualifying data of a quote (a marshalled
 * TPMS_ATTEST, base64); -1 when it is malformed.
 */
static int
identity_quote_info(const char *b64, long long *reset, unsigned char *extra,
    size_t *extralen)
{
	unsigned char *q;
	size_t len, off = 0, n;
	int rc = -1;

	if (identity_base64(b64, &q, &len) == -1)
		return -1;
	/* magic, type */
	if (len < 6 || ((uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 |
	    (uint32_t)q[2] << 8 | q[3]) != IDENTITY_TPM_GENERATED)
		goto out;
	off = 6;
	/* qualifiedSigner (TPM2B_NAME) */
	if (len < off + 2)
		goto out;
	n = (size_t)q[off] << 8 | q[off + 1];
	off += 2 + n;
	/* extraData (TPM2B_DATA) */
	if (len < off + 2)
		goto out;
	n = (size_t)q[off] << 8 | q[off + 1];
	if (n > IDENTITY_NONCE_MAX || len < off + 2 + n)
		goto out;
	memcpy(extra, q + off + 2, n);
	*extralen = n;
	off += 2 + n;
	/* clockInfo: clock (8), resetCount (4), restartCount (4), safe */
	if (len < off + 17)
		goto out;
	off += 8;
	*reset = (long long)((uint32_t)q[off] << 24 | (uint32_t)q[off + 1] <<
	    16 | (uint32_t)q[off + 2] << 8 | q[off + 3]);
	rc = 0;
out:
	free(q);
	return rc;
}

int
identity_log_cb(const struct store_measurement *m, void *arg)
{
	/* the members crypto/attest.h names for each event, in order */
	const char *const start_keys[] = {
		"container", "guestos", "version", "manifest_hash",
		"config_hash",
	};
	const char *const start_values[] = {
		m->container, m->guestos, m->version, m->manifest_hash,
		m->config_hash,
	};
	const char *const install_keys[] = {
		"kind", "name", "version", "bundle_digest",
	};
	const char *const install_values[] = {
		m->kind, m->name, m->version, m->manifest_hash,
	};
	struct json_object *o = json_object_new_object();
	const char *const *keys = start_keys, *const *values = start_values;
	size_t i, n = sizeof start_keys / sizeof start_keys[0];
	char when[32];
	int install = m->event != NULL && strcmp(m->event, "install") == 0;

	if (install) {
		keys = install_keys;
		values = install_values;
		n = sizeof install_keys / sizeof install_keys[0];
	}
	audit_format_time(m->time_ms, when, sizeof when);
	json_object_object_add(o, "seq", json_object_new_int64(m->seq));
	json_object_object_add(o, "time", json_object_new_string(when));
	json_object_object_add(o, "reset_count",
	    json_object_new_int64(m->reset_count));
	json_object_object_add(o, "event",
	    json_object_new_string(install ? "install" : "start"));
	for (i = 0; i < n; i++)
		json_object_object_add(o, keys[i],
		    json_object_new_string(values[i] != NULL ? values[i] : ""));
	json_object_object_add(o, "digest", json_object_new_string(m->digest));
	/* pcr: the value after the extend, as cml-attest replays it */
	json_object_object_add(o, "pcr_index", json_object_new_int64(m->pcr));
	json_object_object_add(o, "pcr", json_object_new_string(m->pcr_value));
	json_object_array_add(arg, o);
	return 0;
}

/* The quote's fields the reply passes on, as tpm2d gives them. */
static const char *const identity_quote_fields[] = {
	"quote", "signature", "ak_public", "ak_pem", "certify_info",
	"certify_signature",
};

struct json_object *
identity_evidence(struct cmld *cmld, struct json_object *params,
    const char *nonce, long long measure_pcr, long long *reset_out,
    char **cause)
{
	struct json_object *p, *log, *pcrs;
	unsigned char extra[IDENTITY_NONCE_MAX];
	char extrahex[2 * IDENTITY_NONCE_MAX + 1];
	const char *v;
	long long reset = -1;
	size_t i, extralen = 0;

	p = json_object_new_object();
	json_object_object_add(p, "nonce", json_object_new_string(nonce));
	for (i = 0; i < sizeof identity_quote_fields /
	    sizeof identity_quote_fields[0]; i++) {
		v = identity_string(params, identity_quote_fields[i]);
		if (v == NULL || strlen(v) > IDENTITY_FIELD_MAX) {
			*cause = xasprintf("tpm2d's quote lacks %s",
			    identity_quote_fields[i]);
			goto fail;
		}
		json_object_object_add(p, identity_quote_fields[i],
		    json_object_new_string(v));
	}
	if (!json_object_object_get_ex(params, "pcrs", &pcrs) ||
	    !json_object_is_type(pcrs, json_type_array) ||
	    identity_quote_info(identity_string(params, "quote"), &reset,
	    extra, &extralen) == -1) {
		*cause = xstrdup("tpm2d's quote is malformed");
		goto fail;
	}
	crypto_hex(extra, extralen, extrahex);
	if (strcmp(extrahex, nonce) != 0) {
		*cause = xstrdup("tpm2d's quote does not carry the nonce");
		goto fail;
	}
	json_object_object_add(p, "pcrs", json_object_get(pcrs));
	json_object_object_add(p, "reset_count", json_object_new_int64(reset));
	json_object_object_add(p, "measure_pcr",
	    json_object_new_int64(measure_pcr));
	log = json_object_new_array();
	json_object_object_add(p, "log", log);
	if (store_measurement_list(cmld->store, reset, identity_log_cb, log,
	    cause) == -1)
		goto fail;
	*reset_out = reset;
	return p;
fail:
	json_object_put(p);
	return NULL;
}

/* tpm2d quoted (or not): the reply with the log and the certificate. */
static void
identity_attest_quoted(void *arg, const char *error,
    struct json_object *params)
{
	struct identity_attest *at = arg;
	struct call *call = at->call;
	struct cmld *cmld = call_cmld(call);
	struct store_device_cert c;
	struct json_object *p, *log;
	char *cause = NULL, *pem;
	long long reset = -1;
	int rc;

	if (error != NULL) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot attest: the "
		    "quote failed: %s", tpm_error_message(params));
		goto out;
	}
	if ((p = identity_evidence(cmld, params, at->nonce, at->measure_pcr,
	    &reset, &cause)) == NULL) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot attest: %s",
		    cause);
		goto out;
	}
	json_object_object_add(p, "uuid", json_object_new_string(cmld->uuid));

	rc = store_device_cert_get(cmld->store, &c, &cause);
	/* with its chain: a verifier needs the anchor alone */
	if (rc == 1 && (pem = crypto_devcert_pem(c.der, c.der_len, c.chain,
	    c.chain_len)) != NULL) {
		json_object_object_add(p, "certificate",
		    json_object_new_string(pem));
		json_object_object_add(p, "certificate_subject",
		    json_object_new_string(c.subject));
		free(pem);
	}
	store_device_cert_clear(&c);
	if (rc == -1) {
		json_object_put(p);
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot attest: %s",
		    cause);
		goto out;
	}
	log = json_object_object_get(p, "log");
	call_set_details(call, "quote with nonce %s: TPM reset %lld, %zu "
	    "measurement log entries, %s", at->nonce, reset,
	    json_object_array_length(log), rc == 1 ? "with the device "
	    "certificate" : "no device certificate");
	call_reply(call, p);
out:
	free(cause);
	identity_attest_free(at);
}

/* tpm2d's status: the measurement PCR; then the quote. */
static void
identity_attest_status(void *arg, const char *error,
    struct json_object *params)
{
	struct identity_attest *at = arg;
	struct call *call = at->call;
	struct json_object *p, *v;
	char *cause = NULL;

	if (error != NULL) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot attest: %s",
		    tpm_error_message(params));
		identity_attest_free(at);
		return;
	}
	if (!json_object_object_get_ex(params, "measure_pcr", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0 || json_object_get_int64(v) > 23) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot attest: "
		    "tpm2d names no measurement PCR");
		identity_attest_free(at);
		return;
	}
	at->measure_pcr = json_object_get_int64(v);
	p = json_object_new_object();
	json_object_object_add(p, "nonce", json_object_new_string(at->nonce));
	if (tpm_call(call_cmld(call), "Quote", p, identity_attest_quoted, at,
	    &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot attest: %s",
		    cause);
		free(cause);
		identity_attest_free(at);
	}
}

void
cmd_device_attest(struct call *call)
{
	struct identity_attest *at;
	const char *nonce;
	char *cause = NULL, *q;
	size_t i, len;

	nonce = json_object_get_string(json_object_object_get(call->params,
	    "nonce"));
	len = nonce != NULL ? strlen(nonce) : 0;
	for (i = 0; i < len; i++)
		if (!isxdigit((unsigned char)nonce[i]))
			break;
	if (i != len || len % 2 != 0 || len < 2 * IDENTITY_NONCE_MIN ||
	    len > 2 * IDENTITY_NONCE_MAX) {
		q = jsonstrict_quotes(nonce != NULL ? nonce : "");
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "nonce",
		    "'%s' is no nonce: give %d to %d bytes as an even number "
		    "of hex digits", q, IDENTITY_NONCE_MIN, IDENTITY_NONCE_MAX);
		free(q);
		return;
	}
	at = xcalloc(1, sizeof *at);
	at->call = call;
	for (i = 0; i < len; i++)
		at->nonce[i] = (char)tolower((unsigned char)nonce[i]);
	at->nonce[len] = '\0';
	if (tpm_call(call_cmld(call), "Status", NULL, identity_attest_status,
	    at, &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot attest: %s",
		    cause);
		free(cause);
		identity_attest_free(at);
		return;
	}
	call_defer(call);
}
