/*
 * Unit tests of the install receipt (crypto/receipt.c, receipt-verify.c)
 * and of the measurement log's digest of an install (crypto/measurelog.c):
 * the digest is the one the spec gives, computed here without cml's code;
 * the receipt's text has its fixed form; a receipt signed as the spec says
 * (ECDSA over SHA-256("cml-update-receipt-v1" NUL SHA-256(receipt)), here
 * with a software key whose certificate a test device CA issued) passes
 * the checks of its envelope and text, which the verifier lists, and then
 * needs its quote; a changed byte in the text, the signature or the
 * certificate fails, and so does a report's signature over the same text
 * (the labels keep the two apart both ways).  The quote's checks need a
 * TPM: tests/integration/update-receipt.sh makes them.
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
#include <openssl/evp.h>

#include "crypto.h"
#include "measurelog.h"
#include "receipt.h"
#include "report.h"
#include "testpki.h"

#define UUID "0b7f0a4e-1111-4222-8333-444455556666"
#define OTHER_UUID "0b7f0a4e-1111-4222-8333-777777777777"
#define DIGEST "00112233445566778899aabbccddeeff" \
	"00112233445566778899aabbccddeeff"
#define PCR_VALUE "ffeeddccbbaa99887766554433221100" \
	"ffeeddccbbaa99887766554433221100"
#define SIGNERS "[{\"subject\":\"CN=cml software signer,O=cml\"," \
	"\"fingerprint\":\"" DIGEST "\",\"anchor_kind\":\"supplier\"}]"

/* The keys and certificates the tests sign and verify with. */
struct pki {
	struct testpki_cert ca, dev, dev_other_uuid;
};

static struct pki *P;

static int
pki_setup(void **state)
{
	P = calloc(1, sizeof *P);
	if (P == NULL)
		return -1;
	testpki_cert(&P->ca, "cml test device CA", 1, NULL, NULL);
	testpki_cert(&P->dev, UUID, 0, &P->ca, NULL);
	testpki_cert(&P->dev_other_uuid, OTHER_UUID, 0, &P->ca, P->dev.key);
	*state = P;
	return 0;
}

static int
pki_teardown(void **state)
{
	(void)state;
	testpki_cert_free(&P->ca);
	testpki_cert_free(&P->dev);
	testpki_cert_free(&P->dev_other_uuid);
	free(P);
	return 0;
}

/* The install of the tests, as the history row would give it. */
static void
install_default(struct receipt_install *in)
{
	memset(in, 0, sizeof *in);
	in->id = 7;
	in->kind = "guestos";
	in->name = "busybox";
	in->version = "1.37.0";
	in->digest = DIGEST;
	in->size = 2101248;
	in->signers = SIGNERS;
	in->result = "installed";
	in->detail = NULL;
	in->began = "2026-12-04T10:00:00.000Z";
	in->ended = "2026-12-04T10:00:02.500Z";
}

/* Writes a receipt of in; returns its text (free it). */
static char *
make_text(const struct receipt_install *in)
{
	char *text, *cause = NULL;
	size_t len;

	text = receipt_text(UUID, "gateway-7", "1.2.3",
	    "2026-12-04T10:01:00.000Z", in, 13, PCR_VALUE, &len, &cause);
	if (text == NULL)
		fail_msg("receipt_text: %s", cause);
	assert_int_equal(strlen(text), len);
	return text;
}

/*
 * Returns the reply of a receipt (free it): the text, its signature by
 * key under label, the certificate and the CA as PEM.
 */
static char *
make_reply(const char *text, EVP_PKEY *key, const char *label,
    const char *cert, const char *ca)
{
	struct json_object *o = json_object_new_object();
	char *sig, *s;

	sig = testpki_sign_labelled(key, label, text);
	json_object_object_add(o, "receipt", json_object_new_string(text));
	json_object_object_add(o, "signature", json_object_new_string(sig));
	json_object_object_add(o, "certificate", json_object_new_string(cert));
	json_object_object_add(o, "ca", json_object_new_string(ca));
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
	json_object_put(o);
	free(sig);
	return s;
}

/* Verifies a reply against the test's CA; 0 or -1 with *cause set. */
static int
verify(const char *json, struct receipt_result *res, char **cause)
{
	const unsigned char *der[1] = { P->ca.c.der };
	size_t len[1] = { P->ca.c.der_len };
	struct report_want w;

	memset(&w, 0, sizeof w);
	w.anchors = der;
	w.anchor_lens = len;
	w.nanchors = 1;
	return receipt_verify(json, strlen(json), &w, res, cause);
}

/* Checks that a reply fails with a message containing want. */
static void
expect_refused(const char *json, const char *want)
{
	struct receipt_result res;
	char *cause = NULL;

	if (verify(json, &res, &cause) == 0)
		fail_msg("a bad receipt verified (expected: %s)", want);
	assert_non_null(cause);
	if (strstr(cause, want) == NULL)
		fail_msg("cause '%s' does not say '%s'", cause, want);
	free(cause);
	receipt_result_clear(&res);
}

/* Proves: CR 3.4 (an install's measurement is the digest the spec gives). */
static void
test_install_digest_as_spec(void **state)
{
	static const char msg_head[] = "cml-update-v1\0guestos\0busybox\0"
	    "1.37.0";
	unsigned char bundle[32], msg[sizeof msg_head + 32];
	unsigned char want[32], got[32], other[32];
	unsigned int n;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bundle; i++)
		bundle[i] = (unsigned char)i;
	/* label, kind, name, version each with its NUL, then the digest */
	memcpy(msg, msg_head, sizeof msg_head);
	memcpy(msg + sizeof msg_head, bundle, sizeof bundle);
	assert_int_equal(EVP_Digest(msg, sizeof msg_head + sizeof bundle,
	    want, &n, EVP_sha256(), NULL), 1);
	measurelog_install_digest("guestos", "busybox", "1.37.0", bundle,
	    got);
	assert_memory_equal(got, want, sizeof want);
	/* The NULs keep texts apart: another split of the same letters. */
	measurelog_install_digest("guestos", "busybox1", ".37.0", bundle,
	    other);
	assert_memory_not_equal(got, other, sizeof got);
	measurelog_install_digest("configs", "busybox", "1.37.0", bundle,
	    other);
	assert_memory_not_equal(got, other, sizeof got);
	bundle[31] ^= 1;
	measurelog_install_digest("guestos", "busybox", "1.37.0", bundle,
	    other);
	assert_memory_not_equal(got, other, sizeof got);
	/* A start's digest is SHA-256 of the two hashes, with no label. */
	measurelog_start_digest(bundle, bundle, other);
	memcpy(msg, bundle, 32);
	memcpy(msg + 32, bundle, 32);
	assert_int_equal(EVP_Digest(msg, 64, want, &n, EVP_sha256(), NULL), 1);
	assert_memory_equal(other, want, sizeof want);
}

/* Proves: NDR 3.10 (the receipt is one JSON text of a fixed form). */
static void
test_text_form(void **state)
{
	static const char *const top[] = {
		"format", "made", "cml_version", "device", "install", "pcr",
	};
	static const char *const ins[] = {
		"id", "kind", "name", "version", "digest", "size", "signers",
		"result", "detail", "began", "ended",
	};
	struct receipt_install in;
	struct json_object *o, *v;
	char *t1, *t2;
	size_t i;

	(void)state;
	install_default(&in);
	in.ended = NULL;
	t1 = make_text(&in);
	t2 = make_text(&in);
	/* The same facts give the same bytes. */
	assert_string_equal(t1, t2);
	o = json_tokener_parse(t1);
	assert_non_null(o);
	i = 0;
	json_object_object_foreach(o, key, val) {
		(void)val;
		assert_true(i < 6);
		assert_string_equal(key, top[i]);
		i++;
	}
	assert_int_equal(i, 6);
	assert_int_equal(json_object_get_int(json_object_object_get(o,
	    "format")), RECEIPT_FORMAT);
	v = json_object_object_get(o, "install");
	i = 0;
	json_object_object_foreach(v, k2, val2) {
		(void)val2;
		assert_true(i < 11);
		assert_string_equal(k2, ins[i]);
		i++;
	}
	assert_int_equal(i, 11);
	assert_int_equal(json_object_get_int64(json_object_object_get(v,
	    "id")), 7);
	assert_int_equal(json_object_get_int64(json_object_object_get(v,
	    "size")), 2101248);
	assert_null(json_object_object_get(v, "detail"));
	assert_null(json_object_object_get(v, "ended"));
	/* the history's signers, as JSON, not as a string */
	assert_true(json_object_is_type(json_object_object_get(v, "signers"),
	    json_type_array));
	assert_string_equal(json_object_get_string(json_object_object_get(
	    json_object_array_get_idx(json_object_object_get(v, "signers"),
	    0), "anchor_kind")), "supplier");
	v = json_object_object_get(o, "pcr");
	assert_int_equal(json_object_get_int(json_object_object_get(v,
	    "index")), 13);
	assert_string_equal(json_object_get_string(json_object_object_get(v,
	    "bank")), "sha256");
	assert_string_equal(json_object_get_string(json_object_object_get(v,
	    "value")), PCR_VALUE);
	json_object_put(o);
	free(t1);
	free(t2);
	assert_true(receipt_in_place("installed"));
	assert_true(receipt_in_place("confirmed"));
	assert_false(receipt_in_place("failed"));
	assert_false(receipt_in_place("rolled-back"));
}

/* Proves: NDR 3.10 (signers that are not what the history keeps: no receipt). */
static void
test_text_bad_signers_refused(void **state)
{
	static const char *const bad[] = { "", "{}", "[1]", "[{}", "null" };
	struct receipt_install in;
	char *cause;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		install_default(&in);
		in.signers = bad[i];
		cause = NULL;
		assert_null(receipt_text(UUID, "g", "1", "2026-12-04T10:01:00Z",
		    &in, 13, PCR_VALUE, &len, &cause));
		assert_non_null(cause);
		assert_non_null(strstr(cause, "signers of install 7"));
		free(cause);
	}
}

/*
 * Proves: CR 1.9(1) (the receipt is signed by the device key its
 * certificate certifies), NDR 3.10 (what was installed, as verified).
 */
static void
test_signed_receipt_passes_to_the_quote(void **state)
{
	static const char *const names[] = {
		"device certificate", "device CA", "signature", "receipt",
	};
	struct receipt_install in;
	struct receipt_result res;
	char *text, *json, *cause = NULL;
	size_t i;

	(void)state;
	install_default(&in);
	text = make_text(&in);
	json = make_reply(text, P->dev.key, PROVREPORT_RECEIPT_TAG,
	    P->dev.pem, P->ca.pem);
	assert_int_equal(verify(json, &res, &cause), -1);
	/* Everything up to the quote holds; the quote is missing. */
	assert_string_equal(cause, "the reply has no quote (an object)");
	assert_int_equal(res.nchecks, 4);
	for (i = 0; i < 4; i++)
		assert_string_equal(res.checks[i].name, names[i]);
	assert_string_equal(res.uuid, UUID);
	assert_string_equal(res.device_name, "gateway-7");
	assert_int_equal(res.id, 7);
	assert_string_equal(res.kind, "guestos");
	assert_string_equal(res.name, "busybox");
	assert_string_equal(res.version, "1.37.0");
	assert_string_equal(res.digest, DIGEST);
	assert_int_equal(res.size, 2101248);
	assert_int_equal(res.nsigners, 1);
	assert_string_equal(res.signers[0].subject,
	    "CN=cml software signer,O=cml");
	assert_string_equal(res.signers[0].anchor_kind, "supplier");
	assert_string_equal(res.result, "installed");
	assert_null(res.detail);
	assert_int_equal(res.pcr_index, 13);
	assert_string_equal(res.pcr_value, PCR_VALUE);
	assert_string_equal(res.subject, P->dev.c.subject);
	assert_string_equal(res.ca_subject, P->ca.c.subject);
	free(cause);
	receipt_result_clear(&res);
	free(json);
	free(text);
}

/* Returns json with the first occurrence of from replaced by to. */
static char *
replace(const char *json, const char *from, const char *to)
{
	const char *p = strstr(json, from);
	char *s;

	assert_non_null(p);
	assert_int_equal(strlen(from), strlen(to));
	s = strdup(json);
	memcpy(s + (p - json), to, strlen(to));
	return s;
}

/*
 * Proves: CR 1.9(1), NDR 3.10 (a changed byte of the receipt, its
 * signature or its certificate fails; a report's signature is no
 * receipt's, nor a receipt's a report's).
 */
static void
test_changed_bytes_fail(void **state)
{
	struct receipt_install in;
	struct report_result rres;
	struct report_want w;
	const unsigned char *der[1] = { P->ca.c.der };
	size_t len[1] = { P->ca.c.der_len };
	char *text, *json, *bad, *cause = NULL, *sig, *p;
	struct json_object *o;

	(void)state;
	install_default(&in);
	text = make_text(&in);
	json = make_reply(text, P->dev.key, PROVREPORT_RECEIPT_TAG,
	    P->dev.pem, P->ca.pem);

	/* a byte of the text: the version */
	bad = replace(json, "1.37.0", "1.37.1");
	expect_refused(bad, "the receipt's signature does not verify with "
	    "the device key");
	free(bad);
	/* a byte of the signature */
	o = json_tokener_parse(json);
	sig = strdup(json_object_get_string(json_object_object_get(o,
	    "signature")));
	p = sig + strlen(sig) / 2;
	*p = *p == 'A' ? 'B' : 'A';
	json_object_object_add(o, "signature", json_object_new_string(sig));
	bad = strdup(json_object_to_json_string(o));
	expect_refused(bad, "the receipt's signature");
	free(bad);
	free(sig);
	json_object_put(o);
	/* a byte of the certificate */
	o = json_tokener_parse(json);
	sig = strdup(P->dev.pem);
	p = sig + strlen(sig) / 2;
	while (*p == '\n')
		p++;
	*p = *p == 'A' ? 'B' : 'A';
	json_object_object_add(o, "certificate", json_object_new_string(sig));
	bad = strdup(json_object_to_json_string(o));
	expect_refused(bad, "device certificate");
	free(bad);
	free(sig);
	json_object_put(o);
	free(json);

	/* the device key's signature of the same text as a report's */
	json = make_reply(text, P->dev.key, "cml-provision-report-v1",
	    P->dev.pem, P->ca.pem);
	expect_refused(json, "the receipt's signature does not verify with "
	    "the device key");
	free(json);
	/* ... and a receipt's signature taken for a report's */
	json = make_reply(text, P->dev.key, PROVREPORT_RECEIPT_TAG,
	    P->dev.pem, P->ca.pem);
	bad = replace(json, "\"receipt\"", "\"report\" ");
	memset(&w, 0, sizeof w);
	w.anchors = der;
	w.anchor_lens = len;
	w.nanchors = 1;
	assert_int_equal(report_verify(bad, strlen(bad), &w, &rres, &cause),
	    -1);
	assert_non_null(strstr(cause, "the report's signature does not "
	    "verify with the device key"));
	free(cause);
	free(bad);
	free(json);

	/* a certificate of another device than the receipt names */
	json = make_reply(text, P->dev.key, PROVREPORT_RECEIPT_TAG,
	    P->dev_other_uuid.pem, P->ca.pem);
	expect_refused(json, UUID);
	free(json);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_install_digest_as_spec),
		cmocka_unit_test(test_text_form),
		cmocka_unit_test(test_text_bad_signers_refused),
		cmocka_unit_test(test_signed_receipt_passes_to_the_quote),
		cmocka_unit_test(test_changed_bytes_fail),
	};

	return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
