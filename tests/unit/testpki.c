/*
 * Keys and certificates made in memory for the unit tests (testpki.h).
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

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto.h"
#include "testpki.h"

/* Adds extension nid = value to x, issued by issuer. */
static void
testpki_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/*
 * Makes a certificate of a new key (or key, if not NULL) with subject
 * CN=cn,O=cml; a CA when is_ca; issued by issuer (NULL: self-signed).
 */
void
testpki_cert(struct testpki_cert *t, const char *cn, int is_ca,
    struct testpki_cert *issuer, EVP_PKEY *key)
{
	X509_NAME *name;
	BIO *bio;
	unsigned char *der = NULL;
	char *data, *cause = NULL;
	long n;
	int dlen;

	memset(t, 0, sizeof *t);
	if (key != NULL) {
		assert_int_equal(EVP_PKEY_up_ref(key), 1);
		t->key = key;
	} else
		t->key = EVP_EC_gen(is_ca ? "P-384" : "P-256");
	assert_non_null(t->key);
	t->x = X509_new();
	assert_non_null(t->x);
	assert_int_equal(X509_set_version(t->x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(t->x),
	    (long)(random() & 0x7fffffff) + 1), 1);
	X509_gmtime_adj(X509_getm_notBefore(t->x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(t->x), 30L * 24 * 3600);
	name = X509_get_subject_name(t->x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"cml", -1, -1, 0);
	assert_int_equal(X509_set_issuer_name(t->x, issuer != NULL ?
	    X509_get_subject_name(issuer->x) : name), 1);
	assert_int_equal(X509_set_pubkey(t->x, t->key), 1);
	testpki_add_ext(t->x, issuer != NULL ? issuer->x : t->x,
	    NID_subject_key_identifier, "hash");
	if (issuer != NULL)
		testpki_add_ext(t->x, issuer->x, NID_authority_key_identifier,
		    "keyid:always");
	testpki_add_ext(t->x, issuer != NULL ? issuer->x : t->x,
	    NID_basic_constraints, is_ca ? "critical,CA:TRUE" :
	    "critical,CA:FALSE");
	testpki_add_ext(t->x, issuer != NULL ? issuer->x : t->x, NID_key_usage,
	    is_ca ? "critical,keyCertSign,cRLSign" :
	    "critical,digitalSignature");
	assert_true(X509_sign(t->x, issuer != NULL ? issuer->key : t->key,
	    EVP_sha384()) > 0);

	bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_X509(bio, t->x), 1);
	n = BIO_get_mem_data(bio, &data);
	t->pem = calloc(1, (size_t)n + 1);
	memcpy(t->pem, data, (size_t)n);
	BIO_free(bio);
	dlen = i2d_X509(t->x, &der);
	assert_true(dlen > 0);
	assert_int_equal(crypto_cert_from_der(der, (size_t)dlen, &t->c,
	    &cause), 0);
	OPENSSL_free(der);
}

/* Frees what testpki_cert made. */
void
testpki_cert_free(struct testpki_cert *t)
{
	EVP_PKEY_free(t->key);
	X509_free(t->x);
	free(t->pem);
	crypto_cert_clear(&t->c);
}

/* Returns a key's public half as PEM (free it). */
char *
testpki_pubkey_pem(EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *pem;
	long n;

	assert_int_equal(PEM_write_bio_PUBKEY(bio, key), 1);
	n = BIO_get_mem_data(bio, &data);
	pem = calloc(1, (size_t)n + 1);
	memcpy(pem, data, (size_t)n);
	BIO_free(bio);
	return pem;
}

char *
testpki_sign_labelled(EVP_PKEY *key, const char *label, const char *text)
{
	unsigned char msg[64 + 32], digest[32], sig[256];
	unsigned int dlen;
	size_t siglen = sizeof sig, n = strlen(label) + 1;
	EVP_PKEY_CTX *ctx;

	assert_true(n <= 64);
	memcpy(msg, label, n); /* with its NUL */
	assert_int_equal(EVP_Digest(text, strlen(text), msg + n, &dlen,
	    EVP_sha256(), NULL), 1);
	assert_int_equal(EVP_Digest(msg, n + 32, digest, &dlen, EVP_sha256(),
	    NULL), 1);
	ctx = EVP_PKEY_CTX_new(key, NULL);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_sign_init(ctx), 1);
	assert_int_equal(EVP_PKEY_sign(ctx, sig, &siglen, digest,
	    sizeof digest), 1);
	EVP_PKEY_CTX_free(ctx);
	return crypto_base64(sig, siglen);
}
