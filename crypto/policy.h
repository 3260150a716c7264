/*
 * Inside crypto/ only: the algorithm policy of BSI TR-02102-1, and the
 * helpers the files of crypto/ share to name certificates in messages.
 *
 * What the policy allows: digests SHA-256, SHA-384, SHA-512, SHA-512/256
 * and SHA3-256/384/512; RSA keys (PKCS#1 v1.5 or PSS) of at least 3072
 * bits; EC keys on P-256, P-384, P-521, brainpoolP256r1, brainpoolP384r1
 * or brainpoolP512r1.  Nothing else.
 */
#ifndef CML_CRYPTO_POLICY_H
#define CML_CRYPTO_POLICY_H

#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* Smallest RSA modulus the policy allows, in bits. */
#define CRYPTO_POLICY_RSA_MIN_BITS 3072

/* Room for a time as crypto_x509_time writes it. */
#define CRYPTO_TIME_LEN 32

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

/* Returns a name as RFC 2253 text (escaped, one line), allocated. */
char *crypto_x509_name(const X509_NAME *name);
/* Returns a certificate's subject as RFC 2253 text, allocated. */
char *crypto_x509_subject(const X509 *x);
/*
 * Describes a key as cml shows it ("EC P-384", "RSA-3072", "ED25519"),
 * allocated.
 */
char *crypto_key_describe(EVP_PKEY *pkey);
/*
 * Writes t as "2025-01-01 00:00 UTC" into out (CRYPTO_TIME_LEN bytes);
 * -1 if t cannot be read.
 */
int crypto_x509_time(const ASN1_TIME *t, char *out);
/*
 * Checks that x is valid at now; -1 with *cause naming it as what
 * ("signer certificate") when it expired or is not yet valid.
 */
int crypto_x509_check_time(X509 *x, const char *what, time_t now,
    char **cause);

#endif
