/*
 * The TPM's public structures as OpenSSL sees them, for tpm2d (which
 * shows its keys and builds requests with them) and cml-attest (which
 * checks what tpm2d's keys signed): an ECC public area as a key, an
 * object's name, ECDSA signatures in DER, object attributes as words.
 */
#ifndef CML_TPMPUB_H
#define CML_TPMPUB_H

#include <stddef.h>

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

/* Room for every attribute word and its separator. */
#define TPMPUB_ATTRS_MAX 256

/* Returns "P-256", "P-384" or "P-521" for an ECC public area, or NULL. */
const char *tpmpub_curve(const TPMT_PUBLIC *pub);
/* Returns the digest of a TPM hash algorithm, or NULL if unknown. */
const EVP_MD *tpmpub_md(TPMI_ALG_HASH alg);
/* Returns the digest size of a TPM hash algorithm, or 0 if unknown. */
size_t tpmpub_md_size(TPMI_ALG_HASH alg);
/* Returns the key of an ECC public area; NULL with *cause set. */
EVP_PKEY *tpmpub_pkey(const TPMT_PUBLIC *pub, char **cause);
/* Returns the key as PEM SubjectPublicKeyInfo; NULL with *cause set. */
char *tpmpub_pem(const TPMT_PUBLIC *pub, char **cause);
/*
 * Computes an object's name, nameAlg (big-endian) followed by the
 * nameAlg digest of the marshalled public area.  -1 with *cause set.
 */
int tpmpub_name(const TPMT_PUBLIC *pub, TPM2B_NAME *name, char **cause);
/*
 * Writes the object attributes as tpm2-tools spells them, e.g.
 * "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign".
 */
void tpmpub_attrs(TPMA_OBJECT attrs, char *buf, size_t size);
/*
 * Returns an ECDSA signature (r, s) as DER (Ecdsa-Sig-Value), allocated,
 * its length in *len; NULL with *cause set.
 */
unsigned char *tpmpub_ecdsa_der(const TPMS_SIGNATURE_ECC *sig, size_t *len,
    char **cause);
/*
 * Verifies a TPM signature (ECDSA) over data with key: data is hashed with
 * the signature's hash algorithm.  -1 with *cause set.
 */
int tpmpub_verify(EVP_PKEY *key, const TPMT_SIGNATURE *sig,
    const void *data, size_t len, char **cause);
/* Says whether two keys are the same public key: 1 if they are. */
int tpmpub_same_key(EVP_PKEY *a, EVP_PKEY *b);

#endif
