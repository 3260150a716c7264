/*
 * Unit tests of the provisioning report (crypto/report.c): a report
 * written with the builder, signed as the spec says (computed here
 * without cml's code: ECDSA over SHA-256("cml-provision-report-v1" NUL
 * SHA-256(report))) with a device key whose certificate a test device CA
 * issued, verifies and says what it verified.  A changed byte anywhere in
 * the report text, the signature, the certificate or the CA fails; so do
 * another CA, a certificate for another UUID, a signature by another
 * key, a report without a certificate, a report naming another
 * certificate, CA or key, and a report of another format.  Keys and
 * certificates are made here, in memory.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto.h"
#include "devcert.h"
#include "report.h"
#include "testpki.h"

#define UUID "0b7f0a4e-1111-4222-8333-444455556666"
#define OTHER_UUID "0b7f0a4e-1111-4222-8333-777777777777"

/* Everything the tests sign and verify with. */
struct pki {
	struct testpki_cert ca, other_ca, dev, dev_other_uuid, dev_other_ca;
	EVP_PKEY *other_key;
};

static struct pki *P;

static int
pki_setup(void **state)
{
	P = calloc(1, sizeof *P);
	if (P == NULL)
		return -1;
	testpki_cert(&P->ca, "cml test device CA", 1, NULL, NULL);
	testpki_cert(&P->other_ca, "cml test device CA", 1, NULL, NULL);
	testpki_cert(&P->dev, UUID, 0, &P->ca, NULL);
	testpki_cert(&P->dev_other_uuid, OTHER_UUID, 0, &P->ca, P->dev.key);
	testpki_cert(&P->dev_other_ca, UUID, 0, &P->other_ca, P->dev.key);
	P->other_key = EVP_EC_gen("P-256");
	*state = P;
	return 0;
}

static int
pki_teardown(void **state)
{
	testpki_cert_free(&P->ca);
	testpki_cert_free(&P->other_ca);
	testpki_cert_free(&P->dev);
	testpki_cert_free(&P->dev_other_uuid);
	testpki_cert_free(&P->dev_other_ca);
	EVP_PKEY_free(P->other_key);
	free(P);
	return 0;
}

/* What a test report says; each test changes what it needs. */
struct spec {
	const char *uuid;
	EVP_PKEY *report_key; /* the device key the report names */
	const struct testpki_cert *named_cert; /* NULL: the report names none */
	const struct testpki_cert *named_ca; /* NULL: none */
	int format;
};

static void
spec_default(struct spec *s)
{
	s->uuid = UUID;
	s->report_key = P->dev.key;
	s->named_cert = &P->dev;
	s->named_ca = &P->ca;
	s->format = REPORT_FORMAT;
}

/* Writes a report as cmld does; returns its text (free it). */
static char *
make_report(const struct spec *s)
{
	static const char *const steps[] = {
		"check", "identity", "certificate", "anchors", "token",
		"settings", "lock",
	};
	struct report *r;
	char *text, *cause = NULL, *key;
	size_t len, i;

	r = report_new(s->uuid, "gateway-7", "factory", "1.2.3",
	    "2026-12-03T23:40:01.123Z");
	for (i = 0; i < 7; i++)
		report_add_step(r, steps[i], i < 3 ? "done" : i == 3 ?
		    "failed" : "pending", i <= 3 ? "2026-12-03T23:39:00.000Z" :
		    NULL, i < 3 ? "did it" : NULL, i == 3 ? "no supplier "
		    "anchor: the fingerprint does not match" : NULL);
	key = testpki_pubkey_pem(s->report_key);
	report_set_key(r, key, "P-256", "000b1234");
	free(key);
	if (s->named_cert != NULL)
		report_set_certificate(r, s->named_cert->c.subject,
		    s->named_cert->c.issuer, s->named_cert->c.fingerprint,
		    "2026-12-03T22:39:00Z", "2027-01-02T22:39:00Z",
		    s->named_ca != NULL ? s->named_ca->c.fingerprint : NULL);
	report_add_anchor(r, "device", P->ca.c.subject, P->ca.c.fingerprint,
	    "2027-01-02T22:39:00Z");
	report_add_setting(r, "device_name", "gateway-7");
	report_add_setting(r, "audit_capacity", "64M");
	text = report_text(r, &len, &cause);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	report_free(r);
	if (s->format != REPORT_FORMAT) {
		/* The builder writes format 1 only: change it here. */
		char *f = strstr(text, "\"format\": 1");

		assert_non_null(f);
		f[10] = (char)('0' + s->format);
	}
	return text;
}

/*
 * Signs a report as the spec says, computed here without provreport.c:
 * ECDSA over SHA-256("cml-provision-report-v1" NUL SHA-256(report));
 * returns base64 (free it).
 */
static char *
sign_report(EVP_PKEY *key, const char *text)
{
	return testpki_sign_labelled(key, "cml-provision-report-v1", text);
}

/* A reply: the four strings of org.cml.Provision.Report. */
struct reply {
	char *report;
	char *signature;
	char *certificate;
	char *ca;
};

/*
 * Makes a reply (free with reply_free): the report of spec s (NULL: a
 * good one) signed with the device key, the certificate and CA PEM given.
 */
static void
reply_make(struct reply *rp, const struct spec *s, const char *cert,
    const char *ca)
{
	struct spec good;

	if (s == NULL) {
		spec_default(&good);
		s = &good;
	}
	rp->report = make_report(s);
	rp->signature = sign_report(P->dev.key, rp->report);
	rp->certificate = strdup(cert);
	rp->ca = strdup(ca);
}

/* Makes the reply of a good report (free with reply_free). */
static void
reply_good(struct reply *rp)
{
	reply_make(rp, NULL, P->dev.pem, P->ca.pem);
}

static void
reply_free(struct reply *rp)
{
	free(rp->report);
	free(rp->signature);
	free(rp->certificate);
	free(rp->ca);
	memset(rp, 0, sizeof *rp);
}

/* Returns the reply as `cmlsh --json provision report` prints it. */
static char *
reply_json(const struct reply *rp)
{
	struct json_object *o = json_object_new_object();
	char *s;

	json_object_object_add(o, "report", json_object_new_string(rp->report));
	json_object_object_add(o, "signature",
	    json_object_new_string(rp->signature));
	json_object_object_add(o, "certificate",
	    json_object_new_string(rp->certificate));
	json_object_object_add(o, "ca", json_object_new_string(rp->ca));
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
	json_object_put(o);
	return s;
}

/* Verifies a reply against ca; returns 0 or -1 with *cause set. */
static int
verify_with(const struct reply *rp, const struct testpki_cert *ca,
    struct report_result *res, char **cause)
{
	const unsigned char *der[1] = { ca->c.der };
	size_t len[1] = { ca->c.der_len };
	struct report_want w;
	char *json = reply_json(rp);
	int rc;

	memset(&w, 0, sizeof w);
	w.anchors = der;
	w.anchor_lens = len;
	w.nanchors = 1;
	*cause = NULL;
	rc = report_verify(json, strlen(json), &w, res, cause);
	free(json);
	return rc;
}

/* Checks that a reply fails, with a message containing want. */
static void
expect_refused(const struct reply *rp, const struct testpki_cert *ca,
    const char *want)
{
	struct report_result res;
	char *cause = NULL;

	if (verify_with(rp, ca, &res, &cause) == 0)
		fail_msg("a bad report verified (expected: %s)", want);
	assert_non_null(cause);
	if (strstr(cause, want) == NULL)
		fail_msg("cause '%s' does not say '%s'", cause, want);
	free(cause);
}

/* Checks that the reply reply_make gives fails, saying want. */
static void
expect_spec_refused(const struct spec *s, const char *cert, const char *ca,
    const char *want)
{
	struct reply rp;

	reply_make(&rp, s, cert, ca);
	expect_refused(&rp, &P->ca, want);
	reply_free(&rp);
}

/* Proves: CR 1.2 (the report names the device its certificate names),
 * CR 1.9 (signed by the TPM's device key, vouched for by the device CA),
 * CR 7.6(1) (a machine-readable report of the settings). */
static void
test_good_report_verifies(void **state)
{
	struct report_result res;
	struct reply rp;
	char *cause = NULL;

	reply_good(&rp);
	if (verify_with(&rp, &P->ca, &res, &cause) != 0)
		fail_msg("%s", cause);
	assert_string_equal(res.uuid, UUID);
	assert_string_equal(res.name, "gateway-7");
	assert_string_equal(res.state, "factory");
	assert_string_equal(res.version, "1.2.3");
	assert_string_equal(res.made, "2026-12-03T23:40:01.123Z");
	assert_string_equal(res.subject, P->dev.c.subject);
	assert_string_equal(res.ca_subject, P->ca.c.subject);
	assert_int_equal(res.nsteps, 7);
	assert_string_equal(res.steps[0].name, "check");
	assert_string_equal(res.steps[0].state, "done");
	assert_string_equal(res.steps[0].summary, "did it");
	assert_null(res.steps[0].error);
	assert_string_equal(res.steps[3].state, "failed");
	assert_null(res.steps[3].summary);
	assert_string_equal(res.steps[3].error, "no supplier anchor: the "
	    "fingerprint does not match");
	assert_string_equal(res.steps[6].name, "lock");
	assert_string_equal(res.steps[6].state, "pending");
	assert_null(res.steps[6].time);
	assert_int_equal(res.nanchors, 1);
	assert_int_equal(res.nsettings, 2);
	report_result_clear(&res);
	reply_free(&rp);
}

/* Proves: CR 7.6(1) (the report is one JSON text of a fixed form). */
static void
test_text_form(void **state)
{
	struct json_object *o, *v;
	struct spec s;
	char hex[CRYPTO_SHA256_HEX], want[CRYPTO_SHA256_HEX];
	unsigned char h[32];
	unsigned int hl;
	char *t1, *t2;

	spec_default(&s);
	t1 = make_report(&s);
	t2 = make_report(&s);
	/* The same facts give the same bytes. */
	assert_string_equal(t1, t2);
	o = json_tokener_parse(t1);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "format", &v));
	assert_int_equal(json_object_get_int(v), 1);
	assert_true(json_object_object_get_ex(o, "device", &v));
	assert_string_equal(json_object_get_string(json_object_object_get(v,
	    "uuid")), UUID);
	assert_true(json_object_object_get_ex(o, "steps", &v));
	assert_int_equal(json_object_array_length(v), 7);
	json_object_put(o);
	/* PEM's slashes are kept as they are. */
	assert_null(strstr(t1, "\\/"));
	report_hash_hex(t1, strlen(t1), hex);
	assert_int_equal(EVP_Digest(t1, strlen(t1), h, &hl, EVP_sha256(),
	    NULL), 1);
	crypto_hex(h, sizeof h, want);
	assert_string_equal(hex, want);
	free(t1);
	free(t2);
}

/* Proves: CR 7.6(1) (a report too large for one reply is refused, not
 * cut). */
static void
test_text_too_large(void **state)
{
	struct report *r;
	char value[1025], *cause = NULL;
	size_t i, len;

	memset(value, 'v', sizeof value - 1);
	value[sizeof value - 1] = '\0';
	r = report_new(UUID, "gateway-7", "factory", "1.2.3",
	    "2026-12-03T23:40:01.123Z");
	for (i = 0; i < REPORT_MAX / 1024; i++)
		report_add_setting(r, "key", value);
	assert_null(report_text(r, &len, &cause));
	assert_non_null(strstr(cause, "more than"));
	free(cause);
	report_free(r);
}

/*
 * Replaces the character at i of s by another one of the same class
 * (base64 characters by base64 characters, anything else by 'A'), so
 * that the text stays valid UTF-8.
 */
static void
change_char(char *s, size_t i)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = strchr(b64, s[i]);

	if (s[i] != '\0' && p != NULL)
		s[i] = b64[(size_t)(p - b64 + 1) % 64];
	else
		s[i] = s[i] == 'A' ? 'B' : 'A';
}

/*
 * Changes every step-th byte of one part of a good reply in turn (the
 * first and the last always); each change must fail.
 */
static void
each_byte_fails(struct reply *rp, char **part, size_t step)
{
	struct report_result res;
	char *cause, saved;
	size_t i, n;

	n = strlen(*part);
	assert_true(n > 0);
	for (i = 0; i < n; i = i + step < n || i == n - 1 ? i + step :
	    n - 1) {
		saved = (*part)[i];
		change_char(*part, i);
		cause = NULL;
		if (verify_with(rp, &P->ca, &res, &cause) == 0)
			fail_msg("byte %zu of %zu changed, yet it verified", i,
			    n);
		assert_non_null(cause);
		free(cause);
		(*part)[i] = saved;
	}
	/* The unchanged reply still verifies. */
	cause = NULL;
	if (verify_with(rp, &P->ca, &res, &cause) != 0)
		fail_msg("%s", cause);
	report_result_clear(&res);
}

/* Proves: CR 1.9 (a report changed after the TPM signed it fails). */
static void
test_changed_report_fails(void **state)
{
	struct reply rp;

	reply_good(&rp);
	each_byte_fails(&rp, &rp.report, 1);
	/* A changed value names the signature. */
	rp.report[strstr(rp.report, "gateway-7") - rp.report] = 'G';
	expect_refused(&rp, &P->ca, "signature does not verify");
	reply_free(&rp);
}

/* Proves: CR 1.9 (the signature cannot be changed unnoticed). */
static void
test_changed_signature_fails(void **state)
{
	struct reply rp;

	reply_good(&rp);
	each_byte_fails(&rp, &rp.signature, 1);
	reply_free(&rp);
}

/* Proves: CR 1.2, CR 1.8 (the device certificate cannot be changed
 * unnoticed, framing and line breaks included). */
static void
test_changed_certificate_fails(void **state)
{
	struct reply rp;
	char *more;

	reply_good(&rp);
	each_byte_fails(&rp, &rp.certificate, 1);
	/* Text around the PEM, which OpenSSL alone would skip. */
	if (asprintf(&more, "a comment\n%s", rp.certificate) == -1)
		fail();
	free(rp.certificate);
	rp.certificate = more;
	expect_refused(&rp, &P->ca, "not as cmld gives it");
	reply_free(&rp);
}

/* Proves: NDR 3.12 (the device CA in the reply must be the one given). */
static void
test_changed_ca_fails(void **state)
{
	struct reply rp;

	reply_good(&rp);
	each_byte_fails(&rp, &rp.ca, 7);
	free(rp.ca);
	rp.ca = strdup(P->other_ca.pem);
	expect_refused(&rp, &P->ca, "none of the CAs given");
	reply_free(&rp);
}

/* Proves: CR 1.8, NDR 3.12 (the certificate must chain to the CA the
 * verifier trusts, not to one the reply brings). */
static void
test_wrong_ca_fails(void **state)
{
	struct reply rp;

	reply_good(&rp);
	/* The reply's own CA does not help. */
	expect_refused(&rp, &P->other_ca, "does not chain to a CA given");
	reply_free(&rp);

	/* A certificate of another CA with that CA in the reply. */
	expect_spec_refused(NULL, P->dev_other_ca.pem, P->other_ca.pem,
	    "does not chain to a CA given");
}

/* Proves: CR 1.2(1) (the certificate's CN must be the report's UUID). */
static void
test_cn_mismatch_fails(void **state)
{
	struct spec s;

	/* A report of UUID with the certificate of another UUID. */
	spec_default(&s);
	s.named_cert = &P->dev_other_uuid;
	expect_spec_refused(&s, P->dev_other_uuid.pem, P->ca.pem,
	    "is not for device " UUID);
}

/* Proves: CR 1.9(1) (only the certified TPM key makes a valid report). */
static void
test_other_key_fails(void **state)
{
	struct reply rp;

	reply_good(&rp);
	free(rp.signature);
	rp.signature = sign_report(P->other_key, rp.report);
	expect_refused(&rp, &P->ca, "signature does not verify");
	reply_free(&rp);
}

/* Proves: CR 1.2 (the report is bound to the certificate, CA and key
 * that came with it). */
static void
test_report_names_others_fails(void **state)
{
	struct spec s;

	/* No certificate at all. */
	expect_spec_refused(NULL, "", P->ca.pem,
	    "without a device certificate");

	/* The report names another certificate of the same key. */
	spec_default(&s);
	s.named_cert = &P->dev_other_ca;
	expect_spec_refused(&s, P->dev.pem, P->ca.pem,
	    "names another device certificate");

	/* The report names no certificate (made before step 3). */
	s.named_cert = NULL;
	expect_spec_refused(&s, P->dev.pem, P->ca.pem,
	    "names no device certificate");

	/* The report names another device CA. */
	spec_default(&s);
	s.named_ca = &P->other_ca;
	expect_spec_refused(&s, P->dev.pem, P->ca.pem,
	    "names another device CA");

	/* The report names a device CA the reply lacks. */
	spec_default(&s);
	expect_spec_refused(&s, P->dev.pem, "",
	    "but none came with it");

	/* The report names another device key. */
	spec_default(&s);
	s.report_key = P->other_key;
	expect_spec_refused(&s, P->dev.pem, P->ca.pem,
	    "device key is not the key");
}

/* Proves: CR 7.6(1) (a report of a format the verifier does not know
 * is refused, not half read). */
static void
test_other_format_fails(void **state)
{
	struct spec s;

	spec_default(&s);
	s.format = 2;
	expect_spec_refused(&s, P->dev.pem, P->ca.pem, "format 2");
}

/* Proves: CR 1.9 (the verifier reads a whole reply message too, and
 * refuses what is no reply). */
static void
test_reply_forms(void **state)
{
	const unsigned char *der[1] = { P->ca.c.der };
	size_t len[1] = { P->ca.c.der_len };
	struct report_result res;
	struct report_want w;
	struct reply rp;
	char *json, *msg, *cause = NULL;

	memset(&w, 0, sizeof w);
	w.anchors = der;
	w.anchor_lens = len;
	w.nanchors = 1;
	reply_good(&rp);
	json = reply_json(&rp);
	if (asprintf(&msg, "{\"parameters\": %s}", json) == -1)
		fail();
	if (report_verify(msg, strlen(msg), &w, &res, &cause) != 0)
		fail_msg("%s", cause);
	report_result_clear(&res);
	assert_int_equal(report_verify("[]", 2, &w, &res, &cause), -1);
	assert_non_null(strstr(cause, "no JSON object"));
	free(cause);
	cause = NULL;
	assert_int_equal(report_verify("{}", 2, &w, &res, &cause), -1);
	assert_non_null(strstr(cause, "no certificate"));
	free(cause);
	free(msg);
	free(json);
	reply_free(&rp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_report_verifies),
		cmocka_unit_test(test_text_form),
		cmocka_unit_test(test_text_too_large),
		cmocka_unit_test(test_changed_report_fails),
		cmocka_unit_test(test_changed_signature_fails),
		cmocka_unit_test(test_changed_certificate_fails),
		cmocka_unit_test(test_changed_ca_fails),
		cmocka_unit_test(test_wrong_ca_fails),
		cmocka_unit_test(test_cn_mismatch_fails),
		cmocka_unit_test(test_other_key_fails),
		cmocka_unit_test(test_report_names_others_fails),
		cmocka_unit_test(test_other_format_fails),
		cmocka_unit_test(test_reply_forms),
	};

	return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
