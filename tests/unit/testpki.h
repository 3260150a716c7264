/*
 * Keys and certificates made in memory for the unit tests of signed
 * documents (test_report, test_receipt): a CA, a device certificate under
 * it, signatures under a label as tpm2d makes them.  Failures fail the
 * test (cmocka).
 */
#ifndef CML_TESTPKI_H
#define CML_TESTPKI_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto.h"

/* A certificate made here: the key, the X509, its PEM and DER. */
struct testpki_cert {
	EVP_PKEY *key;
	X509 *x;
	char *pem;
	struct crypto_cert c; /* DER and fingerprint */
};

/*
 * Makes a certificate of a new key (or key, if not NULL) with subject
 * CN=cn,O=cml; a CA when is_ca; issued by issuer (NULL: self-signed).
 */
void testpki_cert(struct testpki_cert *t, const char *cn, int is_ca,
    struct testpki_cert *issuer, EVP_PKEY *key);
/* Frees what testpki_cert made. */
void testpki_cert_free(struct testpki_cert *t);
/* Returns a key's public half as PEM (free it). */
char *testpki_pubkey_pem(EVP_PKEY *key);
/*
 * Signs text as tpm2d signs a document under label, computed here
 * without cml's code: ECDSA over SHA-256(label NUL SHA-256(text));
 * returns base64 (free it).
 */
char *testpki_sign_labelled(EVP_PKEY *key, const char *label,
    const char *text);

#endif
