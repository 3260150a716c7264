/*
 * The device certificate (devcert.c): the certificate of the TPM's device
 * key, checked against the trust anchors, the key tpm2d reports and the
 * device UUID before cmld installs it, or off the device against the CAs
 * a verifier is given; and PEM for what cmld stores as DER.
 */
#ifndef CML_CRYPTO_DEVCERT_H
#define CML_CRYPTO_DEVCERT_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>

#include "crypto.h"

/* The most bytes of a device certificate file (with its chain). */
#define CRYPTO_DEVCERT_MAX (64 * 1024)
/* The most certificates in one: the device certificate and its chain. */
#define CRYPTO_DEVCERT_CERTS_MAX 8

/* What a device certificate must match. */
struct crypto_devcert_want {
	/* the trust anchors (DER): the certificate must chain to one */
	const unsigned char *const *anchors;
	const size_t *anchor_lens;
	size_t nanchors;
	/* the TPM's device key, PEM SubjectPublicKeyInfo (IdentityPublic) */
	const char *key_pem;
	/* the device UUID: the subject's commonName, case aside */
	const char *uuid;
	time_t now;
};

/*
 * Checks a device certificate, PEM or DER, from memory (name says where
 * it came from); PEM may carry intermediate CA certificates after it (at
 * most CRYPTO_DEVCERT_CERTS_MAX certificates in all), each of which must
 * be on its path to the anchor.  It must be no CA, within the algorithm
 * policy, valid now, chain to one of the anchors (an anchor need not be a
 * root), have want->uuid as its CN, and certify the very key
 * want->key_pem names.  Fills *cert (the leaf) and *chain (the CA
 * certificates between it and the anchor, its issuer first, DER one after
 * another; NULL and 0 when there are none; free it); -1 with *cause
 * saying which check failed.
 */
int crypto_devcert_check(const void *data, size_t len, const char *name,
    const struct crypto_devcert_want *want, struct crypto_cert *cert,
    unsigned char **chain, size_t *chain_len, char **cause);
/* A device certificate checked off the device, against CAs alone. */
struct crypto_devcert_checked {
	char *subject; /* RFC 2253 */
	char *issuer;
	EVP_PKEY *key; /* the device key it certifies */
};

/*
 * Checks a device certificate off the device (cml-attest,
 * cml-audit-verify): pem holds it, then any intermediate CA certificates
 * (name says what it is in messages, "the reply's device certificate").
 * It must chain to one of the anchors (DER) at now (0: the time now), be
 * no CA, and have uuid as its CN, case aside (NULL: any).  Fills *out
 * (subject and issuer as soon as they are read, also when a later check
 * fails); -1 with *cause naming the check that failed.
 */
int crypto_devcert_verify(const char *pem, const char *name,
    const unsigned char *const *anchors, const size_t *anchor_lens,
    size_t nanchors, const char *uuid, time_t now,
    struct crypto_devcert_checked *out, char **cause);
/* Releases what crypto_devcert_verify filled in. */
void crypto_devcert_checked_clear(struct crypto_devcert_checked *c);

/* CA certificates loaded from files, as crypto_devcert_verify takes them. */
struct crypto_anchors {
	struct crypto_cert *certs;
	const unsigned char **der; /* certs[i].der */
	size_t *len;
	size_t n;
};

/*
 * Loads the CA certificates (PEM or DER) of n files into *a; -1 with
 * *cause naming the file that cannot be read (*a is empty then).
 */
int crypto_anchors_load(struct crypto_anchors *a, const char **paths,
    size_t n, char **cause);
/* Releases what crypto_anchors_load filled in. */
void crypto_anchors_clear(struct crypto_anchors *a);

/*
 * Returns DER as PEM with the label ("CERTIFICATE"), allocated; NULL
 * when it cannot be encoded.
 */
char *crypto_der_pem(const unsigned char *der, size_t len, const char *label);
/*
 * Returns the device certificate (DER) and then its chain (DER
 * certificates one after another, as crypto_devcert_check gives it) as
 * PEM, allocated: what a verifier checks with the anchor alone.  NULL
 * when one cannot be read or there are more than CRYPTO_DEVCERT_CERTS_MAX.
 */
char *crypto_devcert_pem(const unsigned char *der, size_t len,
    const unsigned char *chain, size_t chain_len);

#endif
