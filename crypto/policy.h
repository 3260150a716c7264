/*
 * Inside crypto/ only: the algorithm policy of BSI TR-02102-1.  Whoever
 * checks the policy names certificates in refusals too, so the naming
 * helpers of x509.h come with it.
 *
 * What the policy allows: digests SHA-256, SHA-384, SHA-512, SHA-512/256
 * and SHA3-256/384/512; RSA keys (PKCS#1 v1.5 or PSS) of at least 3072
 * bits; EC keys on P-256, P-384, P-521, brainpoolP256r1, brainpoolP384r1
 * or brainpoolP512r1.  Nothing else.
 */
#ifndef CML_CRYPTO_POLICY_H
#define CML_CRYPTO_POLICY_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "x509.h"

/* Smallest RSA modulus the policy allows, in bits. */
#define CRYPTO_POLICY_RSA_MIN_BITS 3072

/*
 * Checks a digest (an OpenSSL NID) against the policy; what says where it
 * was used ("signature digest").  -1 with *cause set.
 */
int crypto_policy_digest(int md_nid, const char *what, char **cause);
/*
 * Checks the signature algorithm of a CMS SignerInfo, including the digest
 * it names (PSS parameters too).  -1 with *cause set.
 */
int crypto_policy_sigalg(const X509_ALGOR *alg, char **cause);
/* Checks a public key, naming subject in the refusal.  -1 with *cause set. */
int crypto_policy_key(EVP_PKEY *pkey, const char *subject, char **cause);
/*
 * Checks a certificate: its public key and the algorithm its issuer signed
 * it with.  -1 with *cause set.
 */
int crypto_policy_cert(X509 *x, char **cause);

#endif
