/*
 * crypto/: every OpenSSL call of cml.  CMS detached signatures (sign and
 * verify against a trust store), the algorithm policy of BSI TR-02102-1,
 * certificates, streaming SHA-256, and bytes as the daemons pass them
 * (base64, random, HMAC, constant-time comparison, wiping).
 */
#ifndef CML_CRYPTO_H
#define CML_CRYPTO_H

#include <stddef.h>
#include <sys/types.h>

#include <openssl/types.h>

#define CRYPTO_SHA256_LEN 32
#define CRYPTO_SHA256_HEX 65 /* 64 hex digits and a NUL */

/*
 * Describes the last OpenSSL errors as one line ("" if none) and clears
 * the error queue: the one place OpenSSL's error space is mapped.
 */
char *crypto_openssl_error(void);

/* A certificate as cml shows and stores it. */
struct crypto_cert {
	char *subject; /* RFC 2253, e.g. "CN=cml test root,O=cml" */
	char *issuer;
	char fingerprint[CRYPTO_SHA256_HEX]; /* SHA-256 of the DER, hex */
	long long not_before; /* seconds since the epoch, UTC */
	long long not_after;
	int is_ca; /* basicConstraints CA:TRUE */
	char *key; /* e.g. "EC P-384", "RSA-3072" */
	unsigned char *der;
	size_t der_len;
};

/*
 * Reads a certificate, PEM or DER, from memory; name says where it came
 * from in messages.  -1 with *cause set.
 */
int crypto_cert_parse(const void *data, size_t len, const char *name,
    struct crypto_cert *cert, char **cause);
/* The most bytes of a certificate file. */
#define CRYPTO_CERT_MAX (1024 * 1024)
/* Reads a PEM or DER certificate file; -1 with *cause set. */
int crypto_cert_load(const char *path, struct crypto_cert *cert,
    char **cause);
/* Parses a DER certificate; -1 with *cause set. */
int crypto_cert_from_der(const unsigned char *der, size_t len,
    struct crypto_cert *cert, char **cause);
/*
 * Checks that cert may be a trust anchor: a CA certificate (basic
 * constraints CA:TRUE, keyCertSign if key usage is present), within its
 * validity period, and within the algorithm policy.  -1 with *cause set.
 */
int crypto_cert_check_anchor(const struct crypto_cert *cert, char **cause);
/* Releases what crypto_cert_load filled in. */
void crypto_cert_clear(struct crypto_cert *cert);

/* A set of trust anchors. */
struct crypto_trust;

/* Returns an empty trust store. */
struct crypto_trust *crypto_trust_new(void);
/* Frees a trust store; NULL does nothing. */
void crypto_trust_free(struct crypto_trust *trust);
/* Adds an anchor (DER); -1 with *cause set. */
int crypto_trust_add_der(struct crypto_trust *trust, const unsigned char *der,
    size_t len, char **cause);

/* Who signed something that verified. */
struct crypto_signer {
	char *subject;
	char *issuer;
	char fingerprint[CRYPTO_SHA256_HEX];
	/* the earliest end of validity on the chain verified (UTC) */
	time_t not_after;
};

/*
 * Verifies a detached CMS signature (DER) over data: the signature matches
 * the data, the signer certificate chains (through the certificates in the
 * signature) to an anchor of trust, is valid now, is for code signing
 * (extendedKeyUsage codeSigning, not a CA), and every algorithm on the way
 * is within the policy (no MD5 or SHA-1, RSA >= 3072, EC on P-256, P-384,
 * P-521 or Brainpool curves).  Fills *signer on success; -1 with *cause
 * saying which check failed.
 */
int crypto_verify_detached(struct crypto_trust *trust, const void *data,
    size_t len, const void *sig, size_t siglen, struct crypto_signer *signer,
    char **cause);
/* Releases what crypto_verify_detached filled in. */
void crypto_signer_clear(struct crypto_signer *signer);

/*
 * Signs the file at path with a detached CMS signature (DER, SHA-256 or the
 * key's matching digest, signer certificate and chain included) written to
 * outpath; the key and certificates are PEM files, chain may be NULL.
 * -1 with *cause set.
 */
int crypto_sign_file(const char *path, const char *keypath,
    const char *certpath, const char *chainpath, const char *outpath,
    char **cause);
/*
 * The same for len bytes at data: the DER signature in *der (*derlen
 * bytes; free it).  -1 with *cause set.
 */
int crypto_sign_data(const void *data, size_t len, const char *keypath,
    const char *certpath, const char *chainpath, unsigned char **der,
    size_t *derlen, char **cause);

/* The bytes of a version floor's key. */
#define CRYPTO_FLOOR_KEY_LEN 8
/*
 * The key of the version floor of an update kind and name, as the TPM's
 * floor index holds it (tpm2d(8)): the first bytes of SHA-256("KIND/NAME").
 */
void crypto_floor_key(const char *kind, const char *name,
    unsigned char key[CRYPTO_FLOOR_KEY_LEN]);

/*
 * Adds a signature over the manifest of the update bundle in fd (opened
 * for reading and writing; cml-bundle(5)) after those already there, and
 * rewrites the bundle's signature table and footer; the payloads and the
 * manifest do not move.  -1 with *cause set.
 */
int crypto_sign_bundle(int fd, const char *keypath, const char *certpath,
    const char *chainpath, char **cause);

/* A streaming SHA-256. */
struct crypto_hash;

/* Starts a SHA-256. */
struct crypto_hash *crypto_sha256_new(void);
/* Adds bytes. */
void crypto_hash_update(struct crypto_hash *h, const void *data, size_t len);
/* Finishes into out (CRYPTO_SHA256_LEN bytes) and frees h. */
void crypto_hash_final(struct crypto_hash *h, unsigned char *out);
/* Frees an unfinished hash; NULL does nothing. */
void crypto_hash_free(struct crypto_hash *h);
/*
 * Hashes what fd holds from its offset to the end, with large reads and no
 * extra copies; sets *size to the bytes read.  -1 with *cause set.
 */
int crypto_sha256_fd(int fd, unsigned char *out, off_t *size, char **cause);
/* Writes len bytes as lower-case hex plus a NUL into out (2 * len + 1). */
void crypto_hex(const unsigned char *in, size_t len, char *out);
/*
 * Parses lower-case hex (an even number of digits, as crypto_hex writes
 * it: one value, one spelling) of at most max bytes into out; returns the
 * length in bytes, or -1 if s is no such hex.
 */
int crypto_unhex(const char *s, unsigned char *out, size_t max);

/*
 * Returns the public key of a certificate (DER), to check signatures made
 * with its private key (EVP_PKEY_free it); NULL with *cause set.
 */
EVP_PKEY *crypto_der_pubkey(const unsigned char *der, size_t len,
    char **cause);
/* Returns base64 of len bytes (allocated, no line breaks). */
char *crypto_base64(const void *in, size_t len);
/*
 * Decodes strict base64 (RFC 4648: padded, no blanks) of at most max bytes
 * into *out (allocated; free it, wiped first where it held a key) and
 * *len; -1 if s is no such base64 (nothing allocated).
 */
int crypto_unbase64(const char *s, size_t max, unsigned char **out,
    size_t *len);
/* Fills buf with random bytes fit for keys; -1 if the generator failed. */
int crypto_random(void *buf, size_t len);
/* HMAC-SHA-256 of data under key into out; -1 on failure. */
int crypto_hmac_sha256(const void *key, size_t keylen, const void *data,
    size_t len, unsigned char out[CRYPTO_SHA256_LEN]);
/* Returns 1 if a and b hold the same len bytes, in time independent of them. */
int crypto_equal(const void *a, const void *b, size_t len);
/* Wipes len bytes so that the compiler cannot leave it out. */
void crypto_wipe(void *buf, size_t len);

#endif
