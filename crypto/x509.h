/*
 * Inside crypto/ only: naming certificates, keys and times in messages,
 * and checking a certificate's validity period (x509.c).  Below the
 * policy: these check nothing the policy decides.
 */
#ifndef CML_CRYPTO_X509_H
#define CML_CRYPTO_X509_H

#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* Room for a time as crypto_x509_time writes it. */
#define CRYPTO_TIME_LEN 32

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
