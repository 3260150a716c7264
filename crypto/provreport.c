/*
 * The signatures of the device's documents (reports, receipts): the
 * digest tpm2d signs and the check a verifier makes (provreport.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "log.h"
#include "provreport.h"
#include "xmalloc.h"

/* The most bytes of a DER ECDSA-Sig-Value (P-521 and some room). */
#define PROVREPORT_SIG_MAX 256
/* The most bytes of a label with its NUL. */
#define PROVREPORT_TAG_MAX 32

const struct provreport_kind provreport_report = {
	PROVREPORT_TAG, "report",
};
const struct provreport_kind provreport_receipt = {
	PROVREPORT_RECEIPT_TAG, "receipt",
};

/*
 * The message signed: the label with its NUL, then the document's hash;
 * returns its length.
 */
static size_t
provreport_message(const struct provreport_kind *kind,
    const unsigned char doc_hash[CRYPTO_SHA256_LEN],
    unsigned char msg[PROVREPORT_TAG_MAX + CRYPTO_SHA256_LEN])
{
	size_t n = strlen(kind->tag) + 1;

	if (n > PROVREPORT_TAG_MAX)
		fatalx("the label '%s' is too long", kind->tag);
	memcpy(msg, kind->tag, n);
	memcpy(msg + n, doc_hash, CRYPTO_SHA256_LEN);
	return n + CRYPTO_SHA256_LEN;
}

void
provreport_digest(const struct provreport_kind *kind,
    const unsigned char doc_hash[CRYPTO_SHA256_LEN],
    unsigned char out[CRYPTO_SHA256_LEN])
{
	unsigned char msg[PROVREPORT_TAG_MAX + CRYPTO_SHA256_LEN];
	struct crypto_hash *h = crypto_sha256_new();
	size_t n;

	n = provreport_message(kind, doc_hash, msg);
	crypto_hash_update(h, msg, n);
	crypto_hash_final(h, out);
}

int
provreport_verify(const struct provreport_kind *kind, EVP_PKEY *key,
    const void *doc, size_t len, const unsigned char *sig, size_t siglen,
    char **cause)
{
	unsigned char hash[CRYPTO_SHA256_LEN];
	unsigned char msg[PROVREPORT_TAG_MAX + CRYPTO_SHA256_LEN];
	struct crypto_hash *h;
	EVP_MD_CTX *ctx;
	size_t n;
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
	crypto_hash_update(h, doc, len);
	crypto_hash_final(h, hash);
	n = provreport_message(kind, hash, msg);
	/* ECDSA with SHA-256 over the message: the digest tpm2d signed. */
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) != 1) {
		EVP_MD_CTX_free(ctx);
		free(crypto_openssl_error());
		*cause = xstrdup("cannot check a signature with the device "
		    "key");
		return -1;
	}
	ok = EVP_DigestVerify(ctx, sig, siglen, msg, n);
	EVP_MD_CTX_free(ctx);
	free(crypto_openssl_error());
	if (ok != 1) {
		*cause = xasprintf("the %s's signature does not verify "
		    "with the device key", kind->noun);
		return -1;
	}
	return 0;
}
