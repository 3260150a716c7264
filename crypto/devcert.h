/*
 * The device certificate (devcert.c): the certificate of the TPM's device
 * key, checked against the trust anchors, the key tpm2d reports and the
 * device UUID before cmld installs it; and PEM for what it stores as DER.
 */
#ifndef CML_CRYPTO_DEVCERT_H
#define CML_CRYPTO_DEVCERT_H

#include <stddef.h>
#include <time.h>

#include "crypto.h"

/* The most bytes of a device certificate file (with its chain). */
#define CRYPTO_DEVCERT_MAX (64 * 1024)

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
 * it came from); PEM may carry intermediate CA certificates after it.  It
 * must be no CA, within the algorithm policy, valid now, chain to one of
 * the anchors (an anchor need not be a root), have want->uuid as its CN,
 * and certify the very key want->key_pem names.  Fills *cert (the leaf);
 * -1 with *cause saying which check failed.
 */
int crypto_devcert_check(const void *data, size_t len, const char *name,
    const struct crypto_devcert_want *want, struct crypto_cert *cert,
    char **cause);
/*
 * Returns DER as PEM with the label ("CERTIFICATE"), allocated; NULL
 * when it cannot be encoded.
 */
char *crypto_der_pem(const unsigned char *der, size_t len, const char *label);

#endif
