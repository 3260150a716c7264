/*
 * libFuzzer harness of the attestation verifier (crypto/attest.c): the
 * input is the JSON of a `device attest` reply, as cml-attest reads it.
 * The seeds are the real attestation of tests/unit/fixtures/attest and
 * alterations of it; the verifier trusts that fixture's device CA, at the
 * time the fixture was made, with its nonce.
 *
 * Besides memory safety and leaks it checks what attest.h promises: a
 * refusal leaves the result empty and says why in one line of valid UTF-8
 * without control characters (names from the log are cleaned); an
 * accepted attestation has its certificate's subject, at most 24 PCRs,
 * the measurement PCR among them, and starts in seq order.
 */
#include "config.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "attest.h"
#include "fuzz.h"
#include "utf8.h"

/* The fixture's device CA, its nonce and the time it was made. */
static const char fuzz_attest_ca[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIB7zCCAXWgAwIBAgIUIX88tSRy7E8iQJ2WA+nP9UIjw94wCgYIKoZIzj0EAwMw\n"
	"JDEMMAoGA1UECgwDY21sMRQwEgYDVQQDDAtjbWwgcm9vdCBDQTAeFw0yNjEyMDMw\n"
	"NDEzMzJaFw0zNjEyMDMwNDEzMzJaMCYxDDAKBgNVBAoMA2NtbDEWMBQGA1UEAwwN\n"
	"Y21sIGRldmljZSBDQTB2MBAGByqGSM49AgEGBSuBBAAiA2IABJob/JBc8YU4+Qzw\n"
	"z7FwiLSANm+M7QVyZ0OitFhzCvjj+pXfVZE01HTRHL87eFxCCrFyVRoUDpPgWxCc\n"
	"ysfw95FTvznLzJvHgFGT75dRcp2u8ncvPC0SfiX1V0d+zz9L7qNmMGQwEgYDVR0T\n"
	"AQH/BAgwBgEB/wIBADAOBgNVHQ8BAf8EBAMCAQYwHQYDVR0OBBYEFPTrWd1F+xCh\n"
	"vdQ0Z26yM9mJLbKCMB8GA1UdIwQYMBaAFAfoQKCPt++o0GjKeYvBTvgm+qNZMAoG\n"
	"CCqGSM49BAMDA2gAMGUCMQD77f8Wb39GaUUAiLR8wIB8rmw3/qoP9s+iG7j/3XNy\n"
	"s7q6wLey987cs2HqChAHC70CMAKy/Mf7q+x7UuyqDpVY8fw9hAybXbKCWj98XJ22\n"
	"6+5kiThx9B74289nz9zs9bQzsw==\n"
	"-----END CERTIFICATE-----\n";
#define FUZZ_ATTEST_TIME 1796271273

static unsigned char fuzz_attest_der[4096];
static size_t fuzz_attest_der_len;

/* Reads the CA once. */
static void
fuzz_attest_init(void)
{
	unsigned char *p = fuzz_attest_der;
	BIO *bio;
	X509 *x;
	int n;

	if (fuzz_attest_der_len != 0)
		return;
	bio = BIO_new_mem_buf(fuzz_attest_ca, -1);
	FUZZ_CHECK(bio != NULL);
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	FUZZ_CHECK(x != NULL);
	n = i2d_X509(x, NULL);
	FUZZ_CHECK(n > 0 && (size_t)n <= sizeof fuzz_attest_der);
	i2d_X509(x, &p);
	fuzz_attest_der_len = (size_t)n;
	X509_free(x);
	BIO_free(bio);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct crypto_attest_want want;
	struct crypto_attest_result r;
	unsigned char nonce[16];
	const unsigned char *der;
	const unsigned char *c;
	char *cause = NULL;
	size_t i;
	int found;

	fuzz_attest_init();
	memset(&want, 0, sizeof want);
	FUZZ_CHECK(crypto_attest_unhex("00112233445566778899aabbccddeeff",
	    nonce, sizeof nonce) == 16);
	want.nonce = nonce;
	want.nonce_len = sizeof nonce;
	der = fuzz_attest_der;
	want.anchors = &der;
	want.anchor_lens = &fuzz_attest_der_len;
	want.nanchors = 1;
	want.now = FUZZ_ATTEST_TIME;

	if (crypto_attest_verify((const char *)data, size, &want, &r,
	    &cause) == -1) {
		FUZZ_CHECK(cause != NULL);
		FUZZ_CHECK(utf8_valid(cause, strlen(cause)));
		for (c = (const unsigned char *)cause; *c != '\0'; c++)
			FUZZ_CHECK(*c >= 0x20 && *c != 0x7f);
		FUZZ_CHECK(r.subject == NULL && r.starts == NULL &&
		    r.nstarts == 0 && r.npcrs == 0);
		free(cause);
		return 0;
	}
	FUZZ_CHECK(cause == NULL);
	FUZZ_CHECK(r.subject != NULL && r.issuer != NULL);
	FUZZ_CHECK(r.npcrs >= 1 && r.npcrs <= 24);
	found = 0;
	for (i = 0; i < r.npcrs; i++)
		found |= r.pcrs[i] == r.measure_pcr;
	FUZZ_CHECK(found);
	for (i = 1; i < r.nstarts; i++)
		FUZZ_CHECK(r.starts[i - 1].seq < r.starts[i].seq);
	for (i = 0; i < r.nstarts; i++)
		FUZZ_CHECK(strlen(r.starts[i].config_hash) == 64);
	crypto_attest_result_clear(&r);
	return 0;
}
