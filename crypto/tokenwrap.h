/*
 * The wrap format of cml's tokens, one for the software token and the
 * OpenPGP card: a key is wrapped for a token's EC P-256 public key with
 * a fresh ephemeral key pair, ECDH, HKDF-SHA-256 salted with the device's
 * platform secret and AES-256 key wrap with padding (RFC 5649).
 *
 *	KEK  = HKDF-SHA-256(IKM = Z, salt = platform secret,
 *	           info = "cml token wrap v1" || eph_pub || token_pub)
 *	blob = 0x01 || eph_pub (65, uncompressed) || AES-KWP(KEK, key)
 *
 * Unwrapping needs Z, which only the token can compute (ECDH with its
 * private key, or PSO:DECIPHER on the card), and the same platform
 * secret: a blob from another device, or a wrong one, does not unwrap.
 */
#ifndef CML_TOKENWRAP_H
#define CML_TOKENWRAP_H

#include <stddef.h>

#include <openssl/evp.h>

#define TOKENWRAP_VERSION 0x01
#define TOKENWRAP_PUB_LEN 65 /* an uncompressed P-256 point */
#define TOKENWRAP_Z_LEN 32
#define TOKENWRAP_KEY_MIN 16
#define TOKENWRAP_KEY_MAX 64
/* The longest blob: version, point, and a padded 64-byte key wrapped. */
#define TOKENWRAP_BLOB_MAX (1 + TOKENWRAP_PUB_LEN + TOKENWRAP_KEY_MAX + 8)

/*
 * Wraps key (TOKENWRAP_KEY_MIN to TOKENWRAP_KEY_MAX bytes) for token_pub
 * with the platform secret psecret; *blob (free it) and *bloblen.
 * Returns 0, or -1 with *cause set.
 */
int tokenwrap_wrap(const unsigned char *key, size_t keylen,
    const unsigned char token_pub[TOKENWRAP_PUB_LEN],
    const unsigned char *psecret, size_t pslen, unsigned char **blob,
    size_t *bloblen, char **cause);
/*
 * Checks a blob's version and length and points *eph_pub at its
 * ephemeral public key (inside blob).  Returns 0, or -1 with *cause set.
 */
int tokenwrap_split(const unsigned char *blob, size_t bloblen,
    const unsigned char **eph_pub, char **cause);
/*
 * Unwraps blob with the shared secret z the token computed: the key goes
 * to key (*keylen: in, its room; out, the key's length).  Returns 0, or
 * -1 with *cause set (a wrong z, platform secret or blob).
 */
int tokenwrap_finish(const unsigned char *blob, size_t bloblen,
    const unsigned char z[TOKENWRAP_Z_LEN],
    const unsigned char token_pub[TOKENWRAP_PUB_LEN],
    const unsigned char *psecret, size_t pslen, unsigned char *key,
    size_t *keylen, char **cause);
/*
 * ECDH of a P-256 private key with peer_pub: z is the x coordinate.
 * Returns 0, or -1 with *cause set.
 */
int tokenwrap_ecdh(EVP_PKEY *priv, const unsigned char
    peer_pub[TOKENWRAP_PUB_LEN], unsigned char z[TOKENWRAP_Z_LEN],
    char **cause);
/* Makes a new P-256 key pair (free it); NULL with *cause set. */
EVP_PKEY *tokenwrap_keygen(char **cause);
/* Writes the uncompressed public point of a P-256 key; 0 or -1. */
int tokenwrap_pub(EVP_PKEY *key, unsigned char pub[TOKENWRAP_PUB_LEN],
    char **cause);
/* Makes a public key of an uncompressed P-256 point; NULL with *cause. */
EVP_PKEY *tokenwrap_pub_key(const unsigned char pub[TOKENWRAP_PUB_LEN],
    char **cause);

#endif
