/*
 * The provisioning report's signature: the digest tpm2d signs and the
 * check a verifier makes (provreport.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "provreport.h"
#include "xmalloc.h"

/* The most bytes of a DER ECDSA-Sig-Value (P-521 and some room). */
#define PROVREPORT_SIG_MAX 256

/* The message signed: the label with its NUL, then the report's hash. */
static void
provreport_message(const unsigned char report_hash[CRYPTO_SHA256_LEN],
    unsigned char msg[sizeof PROVREPORT_TAG + CRYPTO_SHA256_LEN])
{
	memcpy(msg, PROVREPORT_TAG, sizeof PROVREPORT_TAG);
	memcpy(msg + sizeof PROVREPORT_TAG, report_hash, CRYPTO_SHA256_LEN);
}

void
provreport_digest(const unsigned char report_hash[CRYPTO_SHA256_LEN],
    unsigned char out[CRYPTO_SHA256_LEN])
{
	unsigned char msg[sizeof PROVREPORT_TAG + CRYPTO_SHA256_LEN];
	struct crypto_hash *h = crypto_sha256_new();

	provreport_message(report_hash, msg);
	crypto_hash_update(h, msg, sizeof msg);
	crypto_hash_final(h, out);
}

int
provreport_verify(EVP_PKEY *key, const void *report, size_t len,
    const unsigned char *sig, size_t siglen, char **cause)
{
	unsigned char hash[CRYPTO_SHA256_LEN];
	unsigned char msg[sizeof PROVREPORT_TAG + CRYPTO_SHA256_LEN];
	struct crypto_hash *h;
	EVP_MD_CTX *ctx;
	int ok;

	if (key == NULL || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
		*cause = xstrdup("the device key is no EC key");
		return -1;
	}
	if (siglen == 0 || siglen > PROVREPORT_SIG_MAX) {
		*cause = xasprintf("a signature of %zu bytes is no ECDSA "
		    "signature", siglen);
		return -1;
	}
	h = crypto_sha256_new();
	crypto_hash_update(h, report, len);
	crypto_hash_final(h, hash);
	provreport_message(hash, msg);
	/* ECDSA with SHA-256 over the message: the digest tpm2d signed. */
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) != 1) {
		EVP_MD_CTX_free(ctx);
		free(crypto_openssl_error());
		*cause = xstrdup("cannot check a signature with the device "
		    "key");
		return -1;
	}
	ok = EVP_DigestVerify(ctx, sig, siglen, msg, sizeof msg);
	EVP_MD_CTX_free(ctx);
	free(crypto_openssl_error());
	if (ok != 1) {
		*cause = xstrdup("the report's signature does not verify "
		    "with the device key");
		return -1;
	}
	return 0;
}
