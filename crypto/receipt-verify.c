/*
 * Verifying an install receipt off the device (receipt.h): the envelope
 * as a report's (report.h), the text, then the quote made over it and the
 * measurement log (attest.h), then the install's measurement in the log.
 * The first check that fails ends the verification; those passed before
 * it stay in the result, so that cml-attest can say how far it came.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "attest.h"
#include "crypto.h"
#include "devcert.h"
#include "jsonstrict.h"
#include "log.h"
#include "provreport.h"
#include "receipt.h"
#include "utf8.h"
#include "xmalloc.h"

/* The JSON nesting of a receipt's text. */
#define RECEIPT_DEPTH 6
/* The most members of one of its objects, and signers of an install. */
#define RECEIPT_FIELDS 32
#define RECEIPT_SIGNERS_MAX 64
/* The longest string of a receipt a result keeps. */
#define RECEIPT_SHOW_MAX 1024

/* A receipt while it is checked. */
struct receipt_ctx {
	const struct report_want *want;
	struct receipt_result *r;
	struct json_object *reply; /* the reply's parameters (borrowed) */
	struct report_signed s;
	struct json_object *text; /* the receipt, parsed */
	struct crypto_attest_result att;
};

static void
receipt_pass(struct receipt_result *r, const char *name, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/* Notes a check passed, with what it found. */
static void
receipt_pass(struct receipt_result *r, const char *name, const char *fmt,
    ...)
{
	struct receipt_check *c;
	va_list ap;

	r->checks = xreallocarray(r->checks, r->nchecks + 1,
	    sizeof *r->checks);
	c = &r->checks[r->nchecks++];
	c->name = xstrdup(name);
	va_start(ap, fmt);
	c->detail = xvasprintf(fmt, ap);
	va_end(ap);
}

/* Returns a printable copy of a receipt's string, or NULL for NULL. */
static char *
receipt_show(const char *s)
{
	return s != NULL ? utf8_clean(s, RECEIPT_SHOW_MAX) : NULL;
}

/* Member key of o as an object; -1 with *cause naming it if it is none. */
static int
receipt_object(struct json_object *o, const char *path, const char *key,
    struct json_object **out, char **cause)
{
	if (!json_object_object_get_ex(o, key, out) ||
	    !json_object_is_type(*out, json_type_object)) {
		xcause(cause, "the receipt's %s%s is no object", path, key);
		return -1;
	}
	return 0;
}

/* Member key of o as an integer; -1 with *cause naming it if it is none. */
static int
receipt_int(struct json_object *o, const char *path, const char *key,
    long long *out, char **cause)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int)) {
		xcause(cause, "the receipt's %s%s is no integer", path, key);
		return -1;
	}
	*out = (long long)json_object_get_int64(v);
	return 0;
}

/* The string members of an object of the receipt (report_get_strings). */
static int
receipt_strings(struct json_object *o, const char *path,
    const char *const *keys, const char **out, size_t n, char **cause)
{
	return report_get_strings(o, "receipt", path, keys, out, n, cause);
}

/* The install's signers: an array of objects with a subject each. */
static int
receipt_check_signers(struct receipt_ctx *c, struct json_object *in,
    char **cause)
{
	static const char *const keys[] = { "subject", "?anchor_kind" };
	struct receipt_result *r = c->r;
	struct json_object *a;
	const char *v[2];
	char path[48];
	size_t i, n;

	if (!json_object_object_get_ex(in, "signers", &a) ||
	    !json_object_is_type(a, json_type_array)) {
		xcause(cause, "the receipt's install.signers is no array");
		return -1;
	}
	if ((n = json_object_array_length(a)) > RECEIPT_SIGNERS_MAX) {
		xcause(cause, "the receipt names more than %d signers",
		    RECEIPT_SIGNERS_MAX);
		return -1;
	}
	r->signers = xcalloc(n != 0 ? n : 1, sizeof *r->signers);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "install.signers[%zu]", i);
		if (receipt_strings(json_object_array_get_idx(a, i), path,
		    keys, v, 2, cause) == -1)
			return -1;
		r->signers[i].subject = receipt_show(v[0]);
		r->signers[i].anchor_kind = receipt_show(v[1]);
		r->nsigners++;
	}
	return 0;
}

/* The text: format 1, every member, the device the certificate names. */
static int
receipt_check_text(struct receipt_ctx *c, char **cause)
{
	static const char *const top[] = { "made", "cml_version" };
	static const char *const dev[] = { "uuid", "name" };
	static const char *const ins[] = {
		"kind", "name", "version", "digest", "result", "?detail",
		"began", "?ended",
	};
	static const char *const pcr[] = { "bank", "value" };
	const struct report_want *w = c->want;
	struct receipt_result *r = c->r;
	struct crypto_devcert_checked again;
	struct jsonstrict_limits lim;
	struct json_object *o;
	const char *s[2], *d[2], *in[8], *p[2];
	long long format;
	int ret;

	memset(&lim, 0, sizeof lim);
	lim.what = "the receipt";
	lim.max_len = RECEIPT_MAX;
	lim.max_depth = RECEIPT_DEPTH;
	lim.max_fields = RECEIPT_FIELDS;
	if (jsonstrict_parse(c->s.text, c->s.text_len, &lim, &c->text,
	    cause) == -1)
		return -1;
	if (!json_object_is_type(c->text, json_type_object)) {
		xcause(cause, "the receipt is no JSON object");
		return -1;
	}
	if (receipt_int(c->text, "", "format", &format, cause) == -1)
		return -1;
	if (format != RECEIPT_FORMAT) {
		xcause(cause, "the receipt is of format %lld; this verifier "
		    "reads format %d", format, RECEIPT_FORMAT);
		return -1;
	}
	if (receipt_strings(c->text, "", top, s, 2, cause) == -1)
		return -1;
	r->made = receipt_show(s[0]);
	r->cml_version = receipt_show(s[1]);
	if (receipt_object(c->text, "", "device", &o, cause) == -1 ||
	    receipt_strings(o, "device", dev, d, 2, cause) == -1)
		return -1;
	r->uuid = receipt_show(d[0]);
	r->device_name = receipt_show(d[1]);
	if (receipt_object(c->text, "", "install", &o, cause) == -1 ||
	    receipt_int(o, "install.", "id", &r->id, cause) == -1 ||
	    receipt_int(o, "install.", "size", &r->size, cause) == -1 ||
	    receipt_strings(o, "install", ins, in, 8, cause) == -1 ||
	    receipt_check_signers(c, o, cause) == -1)
		return -1;
	r->kind = receipt_show(in[0]);
	r->name = receipt_show(in[1]);
	r->version = receipt_show(in[2]);
	r->digest = receipt_show(in[3]);
	r->result = receipt_show(in[4]);
	r->detail = receipt_show(in[5]);
	r->began = receipt_show(in[6]);
	r->ended = receipt_show(in[7]);
	if (strlen(in[3]) != 2 * CRYPTO_SHA256_LEN) {
		xcause(cause, "the receipt's install.digest is no SHA-256 "
		    "(64 hex digits)");
		return -1;
	}
	if (receipt_object(c->text, "", "pcr", &o, cause) == -1 ||
	    receipt_int(o, "pcr.", "index", &r->pcr_index, cause) == -1 ||
	    receipt_strings(o, "pcr", pcr, p, 2, cause) == -1)
		return -1;
	if (strcmp(p[0], "sha256") != 0 ||
	    strlen(p[1]) != 2 * CRYPTO_SHA256_LEN) {
		xcause(cause, "the receipt's pcr is not of the sha256 bank "
		    "with 64 hex digits");
		return -1;
	}
	snprintf(r->pcr_value, sizeof r->pcr_value, "%s", p[1]);
	/* The certificate names the device the receipt is about. */
	ret = crypto_devcert_verify(c->s.cert_pem, "the reply's device "
	    "certificate", w->anchors, w->anchor_lens, w->nanchors, d[0],
	    w->now, &again, cause);
	crypto_devcert_checked_clear(&again);
	if (ret == 0)
		receipt_pass(r, "receipt", "format %d, of device %s, the "
		    "device the certificate names", RECEIPT_FORMAT, r->uuid);
	return ret;
}

/*
 * The members of the quote that no signature covers must say what the
 * signed ones say: the nonce, the reset count, the PCR of each log entry.
 */
static int
receipt_check_unsigned(struct receipt_ctx *c, struct json_object *q,
    const char *nonce, char **cause)
{
	struct json_object *log, *e, *v;
	const char *s;
	long long reset, mp = c->att.measure_pcr;
	size_t i;

	if ((s = json_object_get_string(json_object_object_get(q,
	    "nonce"))) == NULL || strcmp(s, nonce) != 0) {
		xcause(cause, "the quote's nonce is not the SHA-256 of the "
		    "receipt (%s): it was changed", nonce);
		return -1;
	}
	if (receipt_int(q, "quote.", "reset_count", &reset, cause) == -1)
		return -1;
	if (reset != (long long)c->att.reset_count) {
		xcause(cause, "the quote's reset_count %lld is not the TPM "
		    "reset the quote was made in (%u): it was changed", reset,
		    c->att.reset_count);
		return -1;
	}
	log = json_object_object_get(q, "log");
	for (i = 0; i < json_object_array_length(log); i++) {
		e = json_object_array_get_idx(log, i);
		if (json_object_object_get_ex(e, "pcr_index", &v) &&
		    (!json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(v) != mp)) {
			xcause(cause, "log entry %zu names another PCR than "
			    "the measurement PCR %lld: it was changed", i + 1,
			    mp);
			return -1;
		}
	}
	return 0;
}

/*
 * The quote: made with the nonce SHA-256(text) by an attestation key the
 * device key certified, its PCRs as given, the log replaying to the
 * measurement PCR; the receipt's pcr is that PCR as quoted.
 */
static int
receipt_check_quote(struct receipt_ctx *c, char **cause)
{
	const struct report_want *w = c->want;
	struct receipt_result *r = c->r;
	struct crypto_attest_result *a = &c->att;
	struct crypto_attest_want aw;
	struct json_object *q;
	struct crypto_hash *h;
	unsigned char nonce[CRYPTO_SHA256_LEN];
	char nonce_hex[CRYPTO_SHA256_HEX], quoted[CRYPTO_SHA256_HEX];
	char *why = NULL, pcrs[24 * 4] = "";
	size_t i;

	if (!json_object_object_get_ex(c->reply, "quote", &q) ||
	    !json_object_is_type(q, json_type_object)) {
		xcause(cause, "the reply has no quote (an object)");
		return -1;
	}
	h = crypto_sha256_new();
	crypto_hash_update(h, c->s.text, c->s.text_len);
	crypto_hash_final(h, nonce);
	crypto_hex(nonce, sizeof nonce, nonce_hex);
	memset(&aw, 0, sizeof aw);
	aw.nonce = nonce;
	aw.nonce_len = sizeof nonce;
	aw.anchors = w->anchors;
	aw.anchor_lens = w->anchor_lens;
	aw.nanchors = w->nanchors;
	aw.uuid = r->uuid;
	aw.now = w->now;
	if (crypto_attest_verify_params(q, c->s.cert_pem, &aw, a,
	    &why) == -1) {
		xcause(cause, "the receipt's quote: %s", why);
		free(why);
		return -1;
	}
	if (receipt_check_unsigned(c, q, nonce_hex, cause) == -1)
		return -1;
	r->reset_count = a->reset_count;
	r->nlog = a->nstarts + a->ninstalls;
	for (i = 0; i < a->npcrs; i++)
		snprintf(pcrs + strlen(pcrs), sizeof pcrs - strlen(pcrs),
		    "%s%d", i == 0 ? "" : ", ", a->pcrs[i]);
	receipt_pass(r, "attestation key", "certified by the device key");
	receipt_pass(r, "quote", "by the attestation key over the receipt "
	    "(nonce %.16s...), PCRs %s (sha256), TPM reset %u", nonce_hex,
	    pcrs, a->reset_count);
	receipt_pass(r, "measurement log", "%zu %s of TPM reset %u %s to "
	    "PCR %d as quoted", r->nlog, r->nlog == 1 ? "entry" : "entries",
	    a->reset_count, r->nlog == 1 ? "replays" : "replay",
	    a->measure_pcr);
	crypto_hex(a->measure_value, CRYPTO_SHA256_LEN, quoted);
	if (r->pcr_index != a->measure_pcr || strcmp(r->pcr_value,
	    quoted) != 0) {
		xcause(cause, "the receipt's PCR %lld = %s is not the "
		    "measurement PCR %d as quoted (%s)", r->pcr_index,
		    r->pcr_value, a->measure_pcr, quoted);
		return -1;
	}
	receipt_pass(r, "pcr", "PCR %d = %.16s..., as quoted",
	    a->measure_pcr, quoted);
	return 0;
}

/*
 * The install's measurement: in the log of the quote's reset, when it
 * was put in place.
 */
static int
receipt_check_measured(struct receipt_ctx *c, char **cause)
{
	struct receipt_result *r = c->r;
	const struct crypto_attest_install *in;
	size_t i;

	for (i = 0; i < c->att.ninstalls; i++) {
		in = &c->att.installs[i];
		if (strcmp(in->kind, r->kind) == 0 &&
		    strcmp(in->name, r->name) == 0 &&
		    strcmp(in->version, r->version) == 0 &&
		    strcmp(in->bundle_digest, r->digest) == 0)
			r->log_seq = in->seq;
	}
	if (r->log_seq != 0) {
		receipt_pass(r, "install measured", "log entry %lld of TPM "
		    "reset %u: %s %s %s, bundle %.16s...", r->log_seq,
		    r->reset_count, r->kind, r->name, r->version, r->digest);
		return 0;
	}
	if (receipt_in_place(r->result)) {
		xcause(cause, "the install (%s %s %s, bundle %s) is %s, yet "
		    "the measurement log of TPM reset %u does not hold it: it "
		    "was not measured since the TPM's last reset (the device "
		    "restarted since it was installed)", r->kind, r->name,
		    r->version, r->digest, r->result, r->reset_count);
		return -1;
	}
	receipt_pass(r, "install measured", "not in the log, as an install "
	    "that is %s was not put in place", r->result);
	return 0;
}

int
receipt_verify(const char *json, size_t len, const struct report_want *want,
    struct receipt_result *result, char **cause)
{
	struct json_object *root = NULL;
	struct receipt_ctx c;
	int ret = -1;

	memset(result, 0, sizeof *result);
	memset(&c, 0, sizeof c);
	*cause = NULL;
	c.want = want;
	c.r = result;
	if (report_reply_parse(json, len, "receipt", &root, &c.reply,
	    cause) == -1)
		goto out;
	if (report_signed_check(c.reply, &provreport_receipt,
	    "install receipt", want, &c.s, cause) == -1)
		goto out;
	result->subject = xstrdup(c.s.checked.subject);
	result->issuer = xstrdup(c.s.checked.issuer);
	receipt_pass(result, "device certificate", "%s, issued by %s, chains "
	    "to a CA given", c.s.checked.subject, c.s.checked.issuer);
	if (c.s.has_ca) {
		result->ca_subject = xstrdup(c.s.ca.subject);
		receipt_pass(result, "device CA", "%s, a CA given",
		    c.s.ca.subject);
	}
	receipt_pass(result, "signature", "by the device key, under the "
	    "label \"%s\"", PROVREPORT_RECEIPT_TAG);
	if (receipt_check_text(&c, cause) == 0 &&
	    receipt_check_quote(&c, cause) == 0 &&
	    receipt_check_measured(&c, cause) == 0)
		ret = 0;
out:
	crypto_attest_result_clear(&c.att);
	report_signed_clear(&c.s);
	json_object_put(c.text);
	json_object_put(root);
	return ret;
}

void
receipt_result_clear(struct receipt_result *r)
{
	size_t i;

	for (i = 0; i < r->nchecks; i++) {
		free(r->checks[i].name);
		free(r->checks[i].detail);
	}
	free(r->checks);
	for (i = 0; i < r->nsigners; i++) {
		free(r->signers[i].subject);
		free(r->signers[i].anchor_kind);
	}
	free(r->signers);
	free(r->uuid);
	free(r->device_name);
	free(r->made);
	free(r->cml_version);
	free(r->subject);
	free(r->issuer);
	free(r->ca_subject);
	free(r->kind);
	free(r->name);
	free(r->version);
	free(r->digest);
	free(r->result);
	free(r->detail);
	free(r->began);
	free(r->ended);
	memset(r, 0, sizeof *r);
}
