/*
 * Unit tests of crypto/attest.c, the verifier cml-attest runs: a real
 * attestation and every alteration of it that must be refused, with the
 * message naming what does not match.
 *
 * The fixture, tests/unit/fixtures/attest/, was made once against swtpm
 * and tpm2d as tests/integration/attest.sh makes its own: reply.json is
 * tpm2d's Quote for nonce 00112233445566778899aabbccddeeff over PCRs 7,
 * 13 and 16 after three Extends of PCR 13 (web busybox 1.36, db alpine
 * 3.19, web busybox 1.37), with their log and a device certificate for
 * tpm2d's CSR (CN 0b7f0a4e-1111-4222-8333-444455556666) issued by
 * devca.crt (under root.crt) of a cml-mkpki PKI; other-devca.crt is the
 * device CA of another PKI.  Verification runs at FIXTURE_TIME, when the
 * certificates were valid.
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

#include "attest.h"
#include "crypto.h"
#include "xmalloc.h"

#define FIXTURES CML_SRCDIR "/tests/unit/fixtures/attest"
/* The time the fixture was made, plus a minute. */
#define FIXTURE_TIME 1796271273
#define NONCE "00112233445566778899aabbccddeeff"
#define UUID "0b7f0a4e-1111-4222-8333-444455556666"

/* The anchors and the reply, read once. */
struct attest_fixture {
	struct crypto_cert devca, root, other;
	char *reply;
	size_t reply_len;
};

static struct attest_fixture fx;

static int
group_setup(void **state)
{
	char *cause = NULL;
	FILE *f;
	long len;

	(void)state;
	if (crypto_cert_load(FIXTURES "/devca.crt", &fx.devca, &cause) == -1 ||
	    crypto_cert_load(FIXTURES "/root.crt", &fx.root, &cause) == -1 ||
	    crypto_cert_load(FIXTURES "/other-devca.crt", &fx.other,
	    &cause) == -1) {
		fprintf(stderr, "fixture: %s\n", cause);
		return -1;
	}
	if ((f = fopen(FIXTURES "/reply.json", "r")) == NULL)
		return -1;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	fx.reply = xmalloc((size_t)len + 1);
	fx.reply_len = fread(fx.reply, 1, (size_t)len, f);
	fx.reply[fx.reply_len] = '\0';
	fclose(f);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	crypto_cert_clear(&fx.devca);
	crypto_cert_clear(&fx.root);
	crypto_cert_clear(&fx.other);
	free(fx.reply);
	return 0;
}

/* Fills want with the nonce, one anchor and the fixture's time. */
static void
want_init(struct crypto_attest_want *want, const struct crypto_cert *anchor,
    unsigned char *nonce, const unsigned char **der, size_t *len)
{
	memset(want, 0, sizeof *want);
	want->nonce_len = (size_t)crypto_attest_unhex(NONCE, nonce, 64);
	want->nonce = nonce;
	*der = anchor->der;
	*len = anchor->der_len;
	want->anchors = der;
	want->anchor_lens = len;
	want->nanchors = 1;
	want->now = FIXTURE_TIME;
}

/*
 * Verifies text against the device CA (and uuid, if not NULL); returns
 * crypto_attest_verify's result, its cause in *cause.
 */
static int
verify_text(const char *text, const struct crypto_cert *anchor,
    const char *uuid, struct crypto_attest_result *r, char **cause)
{
	struct crypto_attest_want want;
	unsigned char nonce[64];
	const unsigned char *der;
	size_t len;

	want_init(&want, anchor, nonce, &der, &len);
	want.uuid = uuid;
	*cause = NULL;
	return crypto_attest_verify(text, strlen(text), &want, r, cause);
}

/* Returns the fixture's reply as JSON to alter (put it when done). */
static struct json_object *
reply_json(void)
{
	struct json_object *o = json_tokener_parse(fx.reply);

	assert_non_null(o);
	return o;
}

/* Returns log entry i of a reply. */
static struct json_object *
log_entry(struct json_object *o, size_t i)
{
	return json_object_array_get_idx(json_object_object_get(o, "log"), i);
}

/*
 * Verifies an altered reply (o is put) and checks that it is refused
 * with a message starting with want.
 */
static void
expect_refused(struct json_object *o, const char *want)
{
	struct crypto_attest_result r;
	char *cause = NULL;
	int rc;

	rc = verify_text(json_object_to_json_string(o), &fx.devca, NULL, &r,
	    &cause);
	json_object_put(o);
	assert_int_equal(rc, -1);
	assert_non_null(cause);
	if (strncmp(cause, want, strlen(want)) != 0)
		fail_msg("expected '%s...', got '%s'", want, cause);
	assert_int_equal(r.nstarts, 0);
	assert_null(r.subject);
	free(cause);
}

/* Proves: CR 1.2 (the attestation verifies against the device CA). */
static void
test_attest_reply_verifies(void **state)
{
	struct crypto_attest_result r;
	char *cause = NULL;

	(void)state;
	assert_int_equal(verify_text(fx.reply, &fx.devca, UUID, &r, &cause),
	    0);
	assert_string_equal(r.subject, "O=cml device,CN=" UUID);
	assert_string_equal(r.issuer, "CN=cml device CA,O=cml");
	assert_string_equal(r.uuid, UUID);
	assert_int_equal(r.npcrs, 3);
	assert_int_equal(r.pcrs[0], 7);
	assert_int_equal(r.pcrs[1], 13);
	assert_int_equal(r.pcrs[2], 16);
	assert_int_equal(r.measure_pcr, 13);
	assert_int_equal(r.nstarts, 3);
	assert_string_equal(r.starts[0].container, "web");
	assert_string_equal(r.starts[0].guestos, "busybox");
	assert_string_equal(r.starts[0].version, "1.36");
	assert_string_equal(r.starts[1].container, "db");
	assert_string_equal(r.starts[1].guestos, "alpine");
	assert_string_equal(r.starts[2].version, "1.37");
	assert_int_equal(r.starts[2].seq, 3);
	assert_int_equal(strlen(r.starts[0].config_hash), 64);
	crypto_attest_result_clear(&r);
}

/* Proves: CR 1.2(1) (the UUID is the certificate's CN, case aside). */
static void
test_attest_uuid_checked(void **state)
{
	struct crypto_attest_result r;
	char *cause = NULL;

	(void)state;
	assert_int_equal(verify_text(fx.reply, &fx.devca,
	    "0B7F0A4E-1111-4222-8333-444455556666", &r, &cause), 0);
	crypto_attest_result_clear(&r);
	assert_int_equal(verify_text(fx.reply, &fx.devca,
	    "0b7f0a4e-1111-4222-8333-444455556667", &r, &cause), -1);
	assert_non_null(strstr(cause, "is not for device "
	    "0b7f0a4e-1111-4222-8333-444455556667"));
	free(cause);
}

/* Proves: CR 1.2 (the certificate must chain to a CA given). */
static void
test_attest_other_ca_refused(void **state)
{
	struct crypto_attest_result r;
	char *cause = NULL;

	(void)state;
	assert_int_equal(verify_text(fx.reply, &fx.other, NULL, &r, &cause),
	    -1);
	assert_non_null(strstr(cause, "does not chain to a CA given"));
	free(cause);
	/* The root alone lacks the device CA between them. */
	assert_int_equal(verify_text(fx.reply, &fx.root, NULL, &r, &cause),
	    -1);
	free(cause);
}

/* Proves: CR 1.2 (intermediate CAs may come with the certificate). */
static void
test_attest_chain_to_root(void **state)
{
	struct crypto_attest_result r;
	struct json_object *o = reply_json();
	char *cause = NULL, *pem;
	FILE *f;
	char ca[4096];
	size_t n;

	(void)state;
	assert_non_null(f = fopen(FIXTURES "/devca.crt", "r"));
	n = fread(ca, 1, sizeof ca - 1, f);
	fclose(f);
	ca[n] = '\0';
	pem = xasprintf("%s%s", json_object_get_string(
	    json_object_object_get(o, "certificate")), ca);
	json_object_object_add(o, "certificate", json_object_new_string(pem));
	free(pem);
	assert_int_equal(verify_text(json_object_to_json_string(o), &fx.root,
	    NULL, &r, &cause), 0);
	crypto_attest_result_clear(&r);
	json_object_put(o);
}

/* Proves: CR 1.2 (evidence for another nonce, a replay, is refused). */
static void
test_attest_other_nonce_refused(void **state)
{
	struct crypto_attest_want want;
	struct crypto_attest_result r;
	unsigned char nonce[64];
	const unsigned char *der;
	char *cause = NULL;
	size_t len;

	(void)state;
	want_init(&want, &fx.devca, nonce, &der, &len);
	nonce[0] ^= 1;
	assert_int_equal(crypto_attest_verify(fx.reply, fx.reply_len, &want,
	    &r, &cause), -1);
	assert_string_equal(cause, "the nonce does not match: expected "
	    "01112233445566778899aabbccddeeff, quoted " NONCE);
	free(cause);
}

/* Proves: CR 3.4(1) (a log entry with another digest is refused). */
static void
test_attest_log_digest_changed_refused(void **state)
{
	struct json_object *o = reply_json();

	(void)state;
	json_object_object_add(log_entry(o, 1), "digest",
	    json_object_new_string("0000000000000000000000000000000000000000"
	    "000000000000000000000000"));
	expect_refused(o, "the measurement log does not replay: entry 2 (db) "
	    "has digest 0000");
}

/* Proves: CR 3.4(1) (a log entry removed breaks the replay). */
static void
test_attest_log_entry_removed_refused(void **state)
{
	struct json_object *o = reply_json();

	(void)state;
	json_object_array_del_idx(json_object_object_get(o, "log"), 1, 1);
	expect_refused(o, "the measurement log does not replay: after entry 3 "
	    "(web) PCR 13 would be ");
	o = reply_json();
	json_object_array_del_idx(json_object_object_get(o, "log"), 2, 1);
	expect_refused(o, "the measurement log does not replay: after entry 2 "
	    "(db) PCR 13 would be ");
}

/* Proves: CR 3.4(1) (starts swapped, or out of seq order, are refused). */
static void
test_attest_log_reordered_refused(void **state)
{
	struct json_object *o = reply_json(), *a, *b, *log;

	(void)state;
	log = json_object_object_get(o, "log");
	a = json_object_get(json_object_array_get_idx(log, 0));
	b = json_object_get(json_object_array_get_idx(log, 1));
	json_object_array_put_idx(log, 0, b);
	json_object_array_put_idx(log, 1, a);
	expect_refused(o, "the measurement log is not in seq order: entry 1 "
	    "after entry 2");

	o = reply_json();
	log = json_object_object_get(o, "log");
	a = json_object_get(json_object_array_get_idx(log, 0));
	b = json_object_get(json_object_array_get_idx(log, 1));
	json_object_object_add(a, "seq", json_object_new_int(2));
	json_object_object_add(b, "seq", json_object_new_int(1));
	json_object_array_put_idx(log, 0, b);
	json_object_array_put_idx(log, 1, a);
	expect_refused(o, "the measurement log does not replay: after entry 1 "
	    "(db) PCR 13 would be ");
}

/* Proves: CR 3.4(1) (only the quote's TPM reset is replayed). */
static void
test_attest_log_other_reset_skipped(void **state)
{
	struct json_object *o = reply_json(), *e, *log;
	struct crypto_attest_result r;
	char *cause = NULL;
	size_t i;

	(void)state;
	/* An entry of the reset before, first in a new log. */
	e = json_tokener_parse(json_object_to_json_string(log_entry(o, 0)));
	json_object_object_add(e, "seq", json_object_new_int(0));
	json_object_object_add(e, "reset_count", json_object_new_int(0));
	json_object_object_add(e, "container", json_object_new_string("old"));
	log = json_object_new_array();
	json_object_array_add(log, e);
	for (i = 0; i < 3; i++)
		json_object_array_add(log, json_object_get(log_entry(o, i)));
	json_object_object_add(o, "log", log);
	assert_int_equal(verify_text(json_object_to_json_string(o), &fx.devca,
	    NULL, &r, &cause), 0);
	assert_int_equal(r.nstarts, 3);
	assert_string_equal(r.starts[0].container, "web");
	crypto_attest_result_clear(&r);
	json_object_put(o);
}

/* Proves: CR 3.4(1) (a PCR value that is not the quoted one is refused). */
static void
test_attest_pcr_value_changed_refused(void **state)
{
	struct json_object *o = reply_json(), *p;

	(void)state;
	p = json_object_array_get_idx(json_object_object_get(o, "pcrs"), 0);
	json_object_object_add(p, "value", json_object_new_string(
	    "abababababababababababababababab"
	    "abababababababababababababababab"));
	expect_refused(o, "the PCR values do not match the quote: their "
	    "digest is ");
}

/* Proves: CR 1.9(1) (the quote must be the AK's, the AK certified). */
static void
test_attest_signatures_checked(void **state)
{
	struct json_object *o;

	(void)state;
	/* The quote's signature given as the certification's. */
	o = reply_json();
	json_object_object_add(o, "certify_signature", json_object_get(
	    json_object_object_get(o, "signature")));
	expect_refused(o, "the AK's certification is not signed by the "
	    "device certificate's key");
	o = reply_json();
	json_object_object_add(o, "signature", json_object_get(
	    json_object_object_get(o, "certify_signature")));
	expect_refused(o, "the quote is not signed by the AK");
	/* The certification given as the quote. */
	o = reply_json();
	json_object_object_add(o, "quote", json_object_get(
	    json_object_object_get(o, "certify_info")));
	expect_refused(o, "the quote is no quote (type 0x8017)");
}

/* Proves: none (input that is not an attestation is refused). */
static void
test_attest_malformed_refused(void **state)
{
	struct crypto_attest_result r;
	struct json_object *o;
	char *cause = NULL;

	(void)state;
	assert_int_equal(verify_text("[1, 2]", &fx.devca, NULL, &r, &cause),
	    -1);
	assert_string_equal(cause, "the reply is no JSON object");
	free(cause);
	assert_int_equal(verify_text("{} trailing", &fx.devca, NULL, &r,
	    &cause), -1);
	assert_string_equal(cause, "the reply is no JSON object");
	free(cause);
	assert_int_equal(verify_text("{\"a\":[[[[[[[[[[[[1]]]]]]]]]]]]}",
	    &fx.devca, NULL, &r, &cause), -1);
	free(cause);

	o = reply_json();
	json_object_object_del(o, "certificate");
	expect_refused(o, "the reply carries no device certificate");
	o = reply_json();
	json_object_object_add(o, "quote", json_object_new_string("!!!!"));
	expect_refused(o, "the reply's quote is no base64 of a TPM structure");
	o = reply_json();
	json_object_object_add(o, "quote", json_object_new_string("AAAA"));
	expect_refused(o, "the quote is no TPMS_ATTEST");
	o = reply_json();
	json_object_object_add(o, "ak_pem", json_object_new_string("junk"));
	expect_refused(o, "the reply's ak_pem is no PEM public key");
	o = reply_json();
	json_object_object_add(o, "measure_pcr", json_object_new_int(24));
	expect_refused(o, "the reply has no measure_pcr");
	o = reply_json();
	json_object_object_add(o, "measure_pcr", json_object_new_int(8));
	expect_refused(o, "the quote does not cover the measurement PCR 8");
	o = reply_json();
	json_object_object_add(log_entry(o, 0), "container",
	    json_object_new_int(1));
	expect_refused(o, "log entry 1 is not {container");
	o = reply_json();
	json_object_object_del(log_entry(o, 2), "seq");
	expect_refused(o, "log entry 3 has no seq and reset_count");
}

/* Proves: none (a parameters wrapper is taken apart). */
static void
test_attest_reply_message_accepted(void **state)
{
	struct crypto_attest_result r;
	char *cause = NULL, *text;

	(void)state;
	text = xasprintf("{\"parameters\": %s}", fx.reply);
	assert_int_equal(verify_text(text, &fx.devca, NULL, &r, &cause), 0);
	crypto_attest_result_clear(&r);
	free(text);
}

/* Proves: none (hex parsing). */
static void
test_attest_unhex(void **state)
{
	unsigned char b[4];

	(void)state;
	assert_int_equal(crypto_attest_unhex("00fFa9", b, sizeof b), 3);
	assert_int_equal(b[1], 0xff);
	assert_int_equal(crypto_attest_unhex("0", b, sizeof b), -1);
	assert_int_equal(crypto_attest_unhex("0g", b, sizeof b), -1);
	assert_int_equal(crypto_attest_unhex("0011223344", b, sizeof b), -1);
	assert_int_equal(crypto_attest_unhex("", b, sizeof b), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attest_reply_verifies),
		cmocka_unit_test(test_attest_uuid_checked),
		cmocka_unit_test(test_attest_other_ca_refused),
		cmocka_unit_test(test_attest_chain_to_root),
		cmocka_unit_test(test_attest_other_nonce_refused),
		cmocka_unit_test(test_attest_log_digest_changed_refused),
		cmocka_unit_test(test_attest_log_entry_removed_refused),
		cmocka_unit_test(test_attest_log_reordered_refused),
		cmocka_unit_test(test_attest_log_other_reset_skipped),
		cmocka_unit_test(test_attest_pcr_value_changed_refused),
		cmocka_unit_test(test_attest_signatures_checked),
		cmocka_unit_test(test_attest_malformed_refused),
		cmocka_unit_test(test_attest_reply_message_accepted),
		cmocka_unit_test(test_attest_unhex),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
