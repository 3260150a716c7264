/*
 * The provisioning report: its text as cmld writes it, and its
 * verification off the device (report.h).  The verifier accepts a reply
 * only in the very form cmld gives it, so that a changed byte anywhere in
 * it fails: the text by its signature, the signature and the
 * certificates by being encoded once more and compared.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "crypto.h"
#include "devcert.h"
#include "jsonstrict.h"
#include "log.h"
#include "provreport.h"
#include "report.h"
#include "utf8.h"
#include "xmalloc.h"

/* The JSON nesting of a reply and of a report. */
#define REPORT_DEPTH 8
/* The most members of one object, and entries of one array, of a report. */
#define REPORT_FIELDS 64
#define REPORT_ENTRIES 4096
/* The most bytes of the signature, decoded (a DER ECDSA-Sig-Value). */
#define REPORT_SIG_MAX 256
/* The longest string of a report a result keeps. */
#define REPORT_SHOW_MAX 1024

struct report {
	struct json_object *root;
	struct json_object *steps;
	struct json_object *anchors;
	struct json_object *settings;
};

/*
 * The members of the report's objects of strings, in the order written;
 * a name that starts with '?' may be null.  Writer and verifier read them
 * from here.
 */
static const char *const report_device_keys[] = { "uuid", "name" };
static const char *const report_step_keys[] = {
	"name", "state", "?time", "?summary", "?error",
};
static const char *const report_key_keys[] = {
	"public_key", "curve", "name",
};
static const char *const report_cert_keys[] = {
	"subject", "issuer", "fingerprint", "not_before", "not_after",
	"?ca_fingerprint",
};
static const char *const report_anchor_keys[] = {
	"kind", "subject", "fingerprint", "not_after",
};
static const char *const report_setting_keys[] = { "key", "value" };
#define REPORT_NKEYS(a) (sizeof (a) / sizeof (a)[0])

/* Returns an object of n strings (NULL: null) named by keys. */
static struct json_object *
report_fields(const char *const *keys, const char *const *values, size_t n)
{
	struct json_object *o = json_object_new_object();
	size_t i;

	for (i = 0; i < n; i++)
		json_object_object_add(o, keys[i] + (keys[i][0] == '?'),
		    values[i] != NULL ? json_object_new_string(values[i]) :
		    NULL);
	return o;
}

struct report *
report_new(const char *uuid, const char *name, const char *state,
    const char *version, const char *made)
{
	const char *dev[] = { uuid, name };
	struct report *r = xcalloc(1, sizeof *r);

	r->root = json_object_new_object();
	r->steps = json_object_new_array();
	r->anchors = json_object_new_array();
	r->settings = json_object_new_array();
	json_object_object_add(r->root, "format",
	    json_object_new_int(REPORT_FORMAT));
	json_object_object_add(r->root, "made", json_object_new_string(made));
	json_object_object_add(r->root, "cml_version",
	    json_object_new_string(version));
	json_object_object_add(r->root, "device",
	    report_fields(report_device_keys, dev, 2));
	json_object_object_add(r->root, "state",
	    json_object_new_string(state));
	json_object_object_add(r->root, "steps", json_object_get(r->steps));
	json_object_object_add(r->root, "device_key", NULL);
	json_object_object_add(r->root, "certificate", NULL);
	json_object_object_add(r->root, "anchors", json_object_get(r->anchors));
	json_object_object_add(r->root, "settings",
	    json_object_get(r->settings));
	return r;
}

void
report_free(struct report *r)
{
	if (r == NULL)
		return;
	json_object_put(r->steps);
	json_object_put(r->anchors);
	json_object_put(r->settings);
	json_object_put(r->root);
	free(r);
}

void
report_add_step(struct report *r, const char *name, const char *state,
    const char *time, const char *summary, const char *error)
{
	const char *v[] = { name, state, time, summary, error };

	json_object_array_add(r->steps, report_fields(report_step_keys, v,
	    REPORT_NKEYS(report_step_keys)));
}

void
report_set_key(struct report *r, const char *public_key, const char *curve,
    const char *key_name)
{
	const char *v[] = { public_key, curve, key_name };

	json_object_object_add(r->root, "device_key",
	    report_fields(report_key_keys, v, REPORT_NKEYS(report_key_keys)));
}

void
report_set_certificate(struct report *r, const char *subject,
    const char *issuer, const char *fingerprint, const char *not_before,
    const char *not_after, const char *ca_fingerprint)
{
	const char *v[] = {
		subject, issuer, fingerprint, not_before, not_after,
		ca_fingerprint,
	};

	json_object_object_add(r->root, "certificate",
	    report_fields(report_cert_keys, v,
	    REPORT_NKEYS(report_cert_keys)));
}

void
report_add_anchor(struct report *r, const char *kind, const char *subject,
    const char *fingerprint, const char *not_after)
{
	const char *v[] = { kind, subject, fingerprint, not_after };

	json_object_array_add(r->anchors, report_fields(report_anchor_keys, v,
	    REPORT_NKEYS(report_anchor_keys)));
}

void
report_add_setting(struct report *r, const char *key, const char *value)
{
	const char *v[] = { key, value };

	json_object_array_add(r->settings, report_fields(report_setting_keys,
	    v, REPORT_NKEYS(report_setting_keys)));
}

char *
report_text(struct report *r, size_t *len, char **cause)
{
	const char *s;
	size_t n;

	/* Indented, for the person who reads it; slashes as they are (PEM). */
	s = json_object_to_json_string_length(r->root,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	if (s == NULL)
		fatalx("out of memory in json-c");
	if (n > REPORT_MAX) {
		*cause = xasprintf("the report would be %zu bytes, more than "
		    "the %d it may have", n, REPORT_MAX);
		return NULL;
	}
	*len = n;
	return xstrdup(s);
}

void
report_hash_hex(const char *text, size_t len, char out[CRYPTO_SHA256_HEX])
{
	unsigned char hash[CRYPTO_SHA256_LEN];
	struct crypto_hash *h = crypto_sha256_new();

	crypto_hash_update(h, text, len);
	crypto_hash_final(h, hash);
	crypto_hex(hash, sizeof hash, out);
}

/* --- verification -------------------------------------------------------- */

/* A reply while it is checked. */
struct report_check {
	const struct report_want *want;
	struct report_result *result;
	struct json_object *root; /* the report */
	struct report_signed s; /* its envelope */
};

/* A signed document's envelope while it is checked. */
struct report_envelope {
	const struct report_want *want;
	const struct provreport_kind *kind;
	const char *title; /* "provisioning report" */
	struct json_object *reply; /* the reply's parameters (borrowed) */
	struct report_signed *s;
};

/* Returns a string member of a reply, or NULL if it is none. */
static const char *
report_member(struct json_object *o, const char *key, size_t *len)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	if (len != NULL)
		*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

/*
 * Reads certificates from PEM (at most max; what names them in messages)
 * into *cert (the first) and checks that the text is exactly what cmld
 * writes for them: each certificate once, 64 columns, nothing around
 * them.  *n: how many there were.  -1 with *cause set.
 */
static int
report_read_pem(const char *pem, size_t len, const char *what, size_t max,
    struct crypto_cert *cert, size_t *n, char **cause)
{
	BIO *bio;
	X509 *x;
	unsigned char *der;
	char *canon = NULL, *one, *e;
	size_t have = 0;
	int dlen, ret = -1;

	*n = 0;
	memset(cert, 0, sizeof *cert);
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		fatalx("out of memory in OpenSSL");
	while (*n <= max && (x = PEM_read_bio_X509(bio, NULL, NULL,
	    NULL)) != NULL) {
		der = NULL;
		dlen = i2d_X509(x, &der);
		X509_free(x);
		if (dlen <= 0 || (one = crypto_der_pem(der, (size_t)dlen,
		    "CERTIFICATE")) == NULL) {
			OPENSSL_free(der);
			free(canon);
			e = crypto_openssl_error();
			xcause(cause, "%s cannot be encoded: %s", what, e);
			free(e);
			goto out;
		}
		if (*n == 0 && crypto_cert_from_der(der, (size_t)dlen, cert,
		    cause) == -1) {
			OPENSSL_free(der);
			free(one);
			free(canon);
			goto out;
		}
		OPENSSL_free(der);
		canon = xreallocarray(canon, 1, have + strlen(one) + 1);
		memcpy(canon + have, one, strlen(one) + 1);
		have += strlen(one);
		free(one);
		(*n)++;
	}
	/* The end of the PEM data is no error. */
	free(crypto_openssl_error());
	if (*n == 0) {
		xcause(cause, "%s is no PEM certificate", what);
		goto out;
	}
	if (*n > max) {
		xcause(cause, "%s holds more than %zu certificates", what,
		    max);
		goto out;
	}
	if (have != len || memcmp(canon, pem, len) != 0) {
		xcause(cause, "%s is not as cmld gives it (PEM, each "
		    "certificate once, nothing before, between or after "
		    "them): it was changed", what);
		goto out;
	}
	ret = 0;
out:
	if (ret == -1)
		crypto_cert_clear(cert);
	free(canon);
	BIO_free(bio);
	return ret;
}

/* The device certificate: present, as cmld gives it, chains to a CA. */
static int
report_check_certificate(struct report_envelope *e, char **cause)
{
	const struct report_want *w = e->want;
	struct report_signed *s = e->s;
	size_t len, n;

	if ((s->cert_pem = report_member(e->reply, "certificate",
	    &len)) == NULL) {
		xcause(cause, "the reply has no certificate "
		    "(a string): it is no %s", e->title);
		return -1;
	}
	if (len == 0) {
		xcause(cause, "the %s came without a device "
		    "certificate (the device had none yet: provisioning "
		    "step 3): nothing can vouch for its signature",
		    e->kind->noun);
		return -1;
	}
	if (len > CRYPTO_DEVCERT_MAX || strlen(s->cert_pem) != len) {
		xcause(cause, "the reply's certificate is no PEM "
		    "certificate of at most %d bytes", CRYPTO_DEVCERT_MAX);
		return -1;
	}
	if (report_read_pem(s->cert_pem, len, "the reply's device "
	    "certificate", CRYPTO_DEVCERT_CERTS_MAX, &s->leaf, &n,
	    cause) == -1)
		return -1;
	return crypto_devcert_verify(s->cert_pem, "the reply's device "
	    "certificate", w->anchors, w->anchor_lens, w->nanchors, NULL,
	    w->now, &s->checked, cause);
}

/* The reply's device CA, if it has one, is one of the CAs given. */
static int
report_check_ca(struct report_envelope *e, char **cause)
{
	const struct report_want *w = e->want;
	struct report_signed *s = e->s;
	const char *pem;
	size_t len, n, i;

	if ((pem = report_member(e->reply, "ca", &len)) == NULL) {
		xcause(cause, "the reply has no ca (a string): it "
		    "is no %s", e->title);
		return -1;
	}
	if (len == 0)
		return 0;
	if (len > CRYPTO_DEVCERT_MAX || strlen(pem) != len) {
		xcause(cause, "the reply's device CA is no PEM "
		    "certificate of at most %d bytes", CRYPTO_DEVCERT_MAX);
		return -1;
	}
	if (report_read_pem(pem, len, "the reply's device CA", 1,
	    &s->ca, &n, cause) == -1)
		return -1;
	s->has_ca = 1;
	for (i = 0; i < w->nanchors; i++) {
		if (w->anchor_lens[i] == s->ca.der_len &&
		    memcmp(w->anchors[i], s->ca.der, s->ca.der_len) == 0)
			return 0;
	}
	xcause(cause, "the reply's device CA (%s, SHA-256 %s) is "
	    "none of the CAs given", s->ca.subject, s->ca.fingerprint);
	return -1;
}

/* The signature, as cmld gives it, verifies with the certificate's key. */
static int
report_check_signature(struct report_envelope *e, char **cause)
{
	struct report_signed *s = e->s;
	const char *noun = e->kind->noun;
	unsigned char *sig = NULL;
	const char *b64;
	char *again, *why = NULL;
	size_t len;
	int ret = -1;

	if ((s->text = report_member(e->reply, noun, &s->text_len)) == NULL) {
		xcause(cause, "the reply has no %s (a string)", noun);
		return -1;
	}
	if ((b64 = report_member(e->reply, "signature", NULL)) == NULL) {
		xcause(cause, "the reply has no signature (a "
		    "string)");
		return -1;
	}
	if (crypto_unbase64(b64, REPORT_SIG_MAX, &sig, &len) == -1) {
		xcause(cause, "the %s's signature is no "
		    "base64 of at most %d bytes: it was changed", noun,
		    REPORT_SIG_MAX);
		return -1;
	}
	/* One value, one spelling: bits beyond the last byte are zero. */
	again = crypto_base64(sig, len);
	if (strcmp(again, b64) != 0) {
		xcause(cause, "the %s's signature is not as cmld "
		    "gives it (base64): it was changed", noun);
		goto out;
	}
	if (provreport_verify(e->kind, s->checked.key, s->text, s->text_len,
	    sig, len, &why) == -1) {
		xcause(cause, "%s (%s): the %s, its signature or the "
		    "certificate was changed, or another device's TPM signed "
		    "it", why, s->checked.subject, noun);
		goto out;
	}
	ret = 0;
out:
	free(why);
	free(again);
	free(sig);
	return ret;
}

int
report_signed_check(struct json_object *reply,
    const struct provreport_kind *kind, const char *title,
    const struct report_want *want, struct report_signed *s, char **cause)
{
	struct report_envelope e;

	memset(s, 0, sizeof *s);
	e.want = want;
	e.kind = kind;
	e.title = title;
	e.reply = reply;
	e.s = s;
	if (report_check_certificate(&e, cause) == -1 ||
	    report_check_ca(&e, cause) == -1 ||
	    report_check_signature(&e, cause) == -1)
		return -1;
	return 0;
}

void
report_signed_clear(struct report_signed *s)
{
	crypto_devcert_checked_clear(&s->checked);
	crypto_cert_clear(&s->leaf);
	crypto_cert_clear(&s->ca);
	memset(s, 0, sizeof *s);
}

int
report_reply_parse(const char *json, size_t len, const char *key,
    struct json_object **root, struct json_object **params, char **cause)
{
	struct jsonstrict_limits lim;
	struct json_object *inner;

	*root = NULL;
	memset(&lim, 0, sizeof lim);
	lim.what = "the reply";
	lim.max_len = REPORT_FILE_MAX;
	lim.max_depth = REPORT_DEPTH;
	lim.flags = JSONSTRICT_SYNTAX_ONLY;
	if (jsonstrict_parse(json, len, &lim, root, cause) == -1)
		return -1;
	if (!json_object_is_type(*root, json_type_object)) {
		xcause(cause, "the reply is no JSON object");
		json_object_put(*root);
		*root = NULL;
		return -1;
	}
	/* A reply message's "parameters", or the parameters themselves. */
	*params = *root;
	if (!json_object_object_get_ex(*root, key, NULL) &&
	    json_object_object_get_ex(*root, "parameters", &inner) &&
	    json_object_is_type(inner, json_type_object))
		*params = inner;
	return 0;
}

/* Returns a printable copy of a report's string, or NULL for NULL. */
static char *
report_show(const char *s)
{
	return s != NULL ? utf8_clean(s, REPORT_SHOW_MAX) : NULL;
}

/* Member key of o as an object (or, with nullable, null); -1 if not. */
static int
report_object(struct json_object *o, const char *key, int nullable,
    struct json_object **out, char **cause)
{
	if (!json_object_object_get_ex(o, key, out)) {
		xcause(cause, "the report has no %s", key);
		return -1;
	}
	if (*out == NULL && nullable)
		return 0;
	if (!json_object_is_type(*out, json_type_object)) {
		xcause(cause, "the report's %s is no object%s",
		    key, nullable ? " or null" : "");
		return -1;
	}
	return 0;
}

/* Member key of o as an array of objects. */
static int
report_array(struct json_object *o, const char *key, struct json_object **out,
    char **cause)
{
	size_t i, n;

	if (!json_object_object_get_ex(o, key, out) ||
	    !json_object_is_type(*out, json_type_array)) {
		xcause(cause, "the report's %s is no array", key);
		return -1;
	}
	n = json_object_array_length(*out);
	if (n > REPORT_ENTRIES) {
		xcause(cause, "the report has more than %d %s",
		    REPORT_ENTRIES, key);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (!json_object_is_type(json_object_array_get_idx(*out, i),
		    json_type_object)) {
			xcause(cause, "%s[%zu] of the report is no "
			    "object", key, i);
			return -1;
		}
	}
	return 0;
}

/*
 * The string members of an object of a document: keys[i] is required
 * unless it starts with '?' (then null or absent gives NULL).
 */
int
report_get_strings(struct json_object *o, const char *noun, const char *path,
    const char *const *keys, const char **out, size_t n, char **cause)
{
	char *why = NULL;
	size_t i;
	int opt;

	for (i = 0; i < n; i++) {
		opt = keys[i][0] == '?';
		if (jsonstrict_get_string(o, path, keys[i] + opt, opt ?
		    JSONSTRICT_NULL_ABSENT : JSONSTRICT_REQUIRED, &out[i],
		    &why) == -1) {
			xcause(cause, "the %s's %s", noun, why);
			free(why);
			return -1;
		}
	}
	return 0;
}

/* The string members of an object of the report. */
static int
report_strings(struct json_object *o, const char *path,
    const char *const *keys, const char **out, size_t n, char **cause)
{
	return report_get_strings(o, "report", path, keys, out, n, cause);
}

/* The steps, which the result keeps. */
static int
report_check_steps(struct report_check *c, char **cause)
{
	struct report_result *r = c->result;
	struct json_object *steps;
	const char *v[REPORT_NKEYS(report_step_keys)];
	char path[32];
	size_t i, n;

	if (report_array(c->root, "steps", &steps, cause) == -1)
		return -1;
	n = json_object_array_length(steps);
	r->steps = xcalloc(n, sizeof *r->steps);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "steps[%zu]", i);
		if (report_strings(json_object_array_get_idx(steps, i), path,
		    report_step_keys, v, REPORT_NKEYS(report_step_keys),
		    cause) == -1)
			return -1;
		r->steps[i].name = report_show(v[0]);
		r->steps[i].state = report_show(v[1]);
		r->steps[i].time = report_show(v[2]);
		r->steps[i].summary = report_show(v[3]);
		r->steps[i].error = report_show(v[4]);
		r->nsteps++;
	}
	return 0;
}

/* The arrays of objects of strings: anchors and settings. */
static int
report_check_list(struct report_check *c, const char *key,
    const char *const *keys, size_t nkeys, size_t *count, char **cause)
{
	struct json_object *list;
	const char *v[8];
	char path[48];
	size_t i, n;

	if (report_array(c->root, key, &list, cause) == -1)
		return -1;
	n = json_object_array_length(list);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s[%zu]", key, i);
		if (report_strings(json_object_array_get_idx(list, i), path,
		    keys, v, nkeys, cause) == -1)
			return -1;
	}
	*count = n;
	return 0;
}

/* The device key the report names is the certificate's. */
static int
report_check_key(struct report_check *c, char **cause)
{
	struct json_object *o;
	const char *v[REPORT_NKEYS(report_key_keys)];
	EVP_PKEY *key = NULL;
	BIO *bio;
	int same;

	if (report_object(c->root, "device_key", 0, &o, cause) == -1 ||
	    report_strings(o, "device_key", report_key_keys, v,
	    REPORT_NKEYS(report_key_keys), cause) == -1)
		return -1;
	if ((bio = BIO_new_mem_buf(v[0], -1)) == NULL)
		fatalx("out of memory in OpenSSL");
	key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	free(crypto_openssl_error());
	if (key == NULL) {
		xcause(cause, "the report's device key is no PEM "
		    "public key");
		return -1;
	}
	same = EVP_PKEY_eq(key, c->s.checked.key);
	EVP_PKEY_free(key);
	if (same != 1) {
		xcause(cause, "the report's device key is not "
		    "the key the device certificate (%s) certifies",
		    c->s.checked.subject);
		return -1;
	}
	c->result->curve = report_show(v[1]);
	return 0;
}

/* The certificate and the device CA the report names are the reply's. */
static int
report_check_named(struct report_check *c, char **cause)
{
	struct json_object *o;
	const char *v[REPORT_NKEYS(report_cert_keys)];

	if (report_object(c->root, "certificate", 1, &o, cause) == -1)
		return -1;
	if (o == NULL) {
		xcause(cause, "the report names no device "
		    "certificate (it was made before the certificate step), "
		    "yet one came with it");
		return -1;
	}
	if (report_strings(o, "certificate", report_cert_keys, v,
	    REPORT_NKEYS(report_cert_keys), cause) == -1)
		return -1;
	if (strcmp(v[2], c->s.leaf.fingerprint) != 0) {
		xcause(cause, "the report names another device "
		    "certificate (SHA-256 %.64s) than the one that came with "
		    "it (%s)", v[2], c->s.leaf.fingerprint);
		return -1;
	}
	if (v[5] == NULL && c->s.has_ca) {
		xcause(cause, "the report names no device CA, yet "
		    "one came with it (%s)", c->s.ca.subject);
		return -1;
	}
	if (v[5] != NULL && !c->s.has_ca) {
		xcause(cause, "the report names a device CA "
		    "(SHA-256 %.64s), but none came with it", v[5]);
		return -1;
	}
	if (v[5] != NULL && strcmp(v[5], c->s.ca.fingerprint) != 0) {
		xcause(cause, "the report names another device CA "
		    "(SHA-256 %.64s) than the one that came with it (%s, %s)",
		    v[5], c->s.ca.subject, c->s.ca.fingerprint);
		return -1;
	}
	if (c->s.has_ca)
		c->result->ca_subject = xstrdup(c->s.ca.subject);
	return 0;
}

/* The report: format 1, naming this certificate, key and device. */
static int
report_check_text(struct report_check *c, char **cause)
{
	static const char *const top[] = { "made", "cml_version", "state" };
	const struct report_want *w = c->want;
	struct report_result *r = c->result;
	struct crypto_devcert_checked again;
	struct jsonstrict_limits lim;
	struct json_object *v, *o;
	const char *s[3], *d[2];
	int ret;

	memset(&lim, 0, sizeof lim);
	lim.what = "the report";
	lim.max_len = REPORT_MAX;
	lim.max_depth = REPORT_DEPTH;
	lim.max_fields = REPORT_FIELDS;
	if (jsonstrict_parse(c->s.text, c->s.text_len, &lim, &c->root,
	    cause) == -1)
		return -1;
	if (!json_object_is_type(c->root, json_type_object)) {
		xcause(cause, "the report is no JSON object");
		return -1;
	}
	if (!json_object_object_get_ex(c->root, "format", &v) ||
	    !json_object_is_type(v, json_type_int)) {
		xcause(cause, "the report has no format");
		return -1;
	}
	if (json_object_get_int64(v) != REPORT_FORMAT) {
		xcause(cause, "the report is of format %lld; this "
		    "verifier reads format %d", (long long)
		    json_object_get_int64(v), REPORT_FORMAT);
		return -1;
	}
	if (report_strings(c->root, "", top, s, 3, cause) == -1 ||
	    report_object(c->root, "device", 0, &o, cause) == -1 ||
	    report_strings(o, "device", report_device_keys, d, 2,
	    cause) == -1)
		return -1;
	r->made = report_show(s[0]);
	r->version = report_show(s[1]);
	r->state = report_show(s[2]);
	r->uuid = report_show(d[0]);
	r->name = report_show(d[1]);
	if (report_check_steps(c, cause) == -1 ||
	    report_check_key(c, cause) == -1 ||
	    report_check_named(c, cause) == -1 ||
	    report_check_list(c, "anchors", report_anchor_keys,
	    REPORT_NKEYS(report_anchor_keys), &r->nanchors, cause) == -1 ||
	    report_check_list(c, "settings", report_setting_keys,
	    REPORT_NKEYS(report_setting_keys), &r->nsettings, cause) == -1)
		return -1;
	/* The certificate names the device the report is about. */
	ret = crypto_devcert_verify(c->s.cert_pem, "the reply's device "
	    "certificate", w->anchors, w->anchor_lens, w->nanchors, d[0],
	    w->now, &again, cause);
	crypto_devcert_checked_clear(&again);
	return ret;
}

int
report_verify(const char *json, size_t len, const struct report_want *want,
    struct report_result *result, char **cause)
{
	struct json_object *root = NULL, *reply;
	struct report_check c;
	int ret = -1;

	memset(result, 0, sizeof *result);
	memset(&c, 0, sizeof c);
	*cause = NULL;
	c.want = want;
	c.result = result;
	if (report_reply_parse(json, len, "report", &root, &reply,
	    cause) == -1)
		goto out;
	if (report_signed_check(reply, &provreport_report,
	    "provisioning report", want, &c.s, cause) == 0 &&
	    report_check_text(&c, cause) == 0)
		ret = 0;
	if (ret == 0) {
		result->subject = xstrdup(c.s.checked.subject);
		result->issuer = xstrdup(c.s.checked.issuer);
	}
out:
	report_signed_clear(&c.s);
	json_object_put(c.root);
	json_object_put(root);
	if (ret == -1)
		report_result_clear(result);
	return ret;
}

void
report_result_clear(struct report_result *r)
{
	size_t i;

	for (i = 0; i < r->nsteps; i++) {
		free(r->steps[i].name);
		free(r->steps[i].state);
		free(r->steps[i].time);
		free(r->steps[i].summary);
		free(r->steps[i].error);
	}
	free(r->steps);
	free(r->uuid);
	free(r->name);
	free(r->state);
	free(r->made);
	free(r->version);
	free(r->subject);
	free(r->issuer);
	free(r->ca_subject);
	free(r->curve);
	memset(r, 0, sizeof *r);
}
