/*
 * The wrap format of cml's tokens (tokenwrap.h): ECDH on P-256, HKDF and
 * AES key wrap with padding, the same for software tokens and cards.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "crypto.h"
#include "tokenwrap.h"
#include "xmalloc.h"

#define TOKENWRAP_INFO "cml token wrap v1"
#define TOKENWRAP_CURVE "prime256v1"

/* Sets *cause to what failed and OpenSSL's reason. */
static void
tokenwrap_error(char **cause, const char *what)
{
	char *e = crypto_openssl_error();

	xcause(cause, "%s: %s", what, e);
	free(e);
}

EVP_PKEY *
tokenwrap_keygen(char **cause)
{
	EVP_PKEY *key;

	if ((key = EVP_EC_gen(TOKENWRAP_CURVE)) == NULL)
		tokenwrap_error(cause, "cannot make a P-256 key pair");
	return key;
}

int
tokenwrap_pub(EVP_PKEY *key, unsigned char pub[TOKENWRAP_PUB_LEN],
    char **cause)
{
	size_t len = 0;

	if (EVP_PKEY_get_octet_string_param(key,
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub, TOKENWRAP_PUB_LEN,
	    &len) != 1 || len != TOKENWRAP_PUB_LEN || pub[0] != 0x04) {
		tokenwrap_error(cause, "cannot encode the P-256 public key");
		return -1;
	}
	return 0;
}

EVP_PKEY *
tokenwrap_pub_key(const unsigned char pub[TOKENWRAP_PUB_LEN], char **cause)
{
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *key = NULL;

	if (pub[0] != 0x04) {
		xcause(cause, "the public key is no uncompressed P-256 point");
		return NULL;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, (char *)TOKENWRAP_CURVE, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)pub, TOKENWRAP_PUB_LEN);
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		tokenwrap_error(cause, "the public key is no P-256 point");
		key = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	return key;
}

int
tokenwrap_ecdh(EVP_PKEY *priv, const unsigned char peer_pub[TOKENWRAP_PUB_LEN],
    unsigned char z[TOKENWRAP_Z_LEN], char **cause)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *peer;
	size_t len = TOKENWRAP_Z_LEN;
	int ret = -1;

	if ((peer = tokenwrap_pub_key(peer_pub, cause)) == NULL)
		return -1;
	if ((ctx = EVP_PKEY_CTX_new(priv, NULL)) == NULL ||
	    EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer_ex(ctx, peer, 1) != 1 ||
	    EVP_PKEY_derive(ctx, z, &len) != 1 || len != TOKENWRAP_Z_LEN) {
		tokenwrap_error(cause, "ECDH failed");
		OPENSSL_cleanse(z, TOKENWRAP_Z_LEN);
		goto out;
	}
	ret = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	return ret;
}

/* KEK = HKDF-SHA-256(Z, platform secret, info || eph_pub || token_pub). */
static int
tokenwrap_kek(const unsigned char z[TOKENWRAP_Z_LEN],
    const unsigned char *psecret, size_t pslen,
    const unsigned char eph_pub[TOKENWRAP_PUB_LEN],
    const unsigned char token_pub[TOKENWRAP_PUB_LEN], unsigned char kek[32],
    char **cause)
{
	unsigned char info[sizeof TOKENWRAP_INFO - 1 + 2 * TOKENWRAP_PUB_LEN];
	EVP_PKEY_CTX *ctx;
	size_t len = 32;
	int ret = -1;

	memcpy(info, TOKENWRAP_INFO, sizeof TOKENWRAP_INFO - 1);
	memcpy(info + sizeof TOKENWRAP_INFO - 1, eph_pub, TOKENWRAP_PUB_LEN);
	memcpy(info + sizeof TOKENWRAP_INFO - 1 + TOKENWRAP_PUB_LEN, token_pub,
	    TOKENWRAP_PUB_LEN);
	if ((ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL)) == NULL ||
	    EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) != 1 ||
	    EVP_PKEY_CTX_set1_hkdf_salt(ctx, psecret, (int)pslen) != 1 ||
	    EVP_PKEY_CTX_set1_hkdf_key(ctx, z, TOKENWRAP_Z_LEN) != 1 ||
	    EVP_PKEY_CTX_add1_hkdf_info(ctx, info, (int)sizeof info) != 1 ||
	    EVP_PKEY_derive(ctx, kek, &len) != 1 || len != 32) {
		tokenwrap_error(cause, "HKDF failed");
		goto out;
	}
	ret = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	return ret;
}

/*
 * AES-256 key wrap with padding (RFC 5649) of in into out, or the unwrap;
 * *outlen the length.  0, or -1 (for an unwrap: the integrity check
 * failed).
 */
static int
tokenwrap_aes(int enc, const unsigned char kek[32], const unsigned char *in,
    size_t inlen, unsigned char *out, size_t *outlen)
{
	EVP_CIPHER_CTX *ctx;
	int len = 0, fin = 0, ret = -1;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_wrap_pad(), NULL, kek, NULL,
	    enc) != 1 ||
	    EVP_CipherUpdate(ctx, out, &len, in, (int)inlen) != 1 ||
	    EVP_CipherFinal_ex(ctx, out + len, &fin) != 1)
		goto out;
	*outlen = (size_t)len + (size_t)fin;
	ret = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return ret;
}

int
tokenwrap_wrap(const unsigned char *key, size_t keylen,
    const unsigned char token_pub[TOKENWRAP_PUB_LEN],
    const unsigned char *psecret, size_t pslen, unsigned char **blob,
    size_t *bloblen, char **cause)
{
	unsigned char z[TOKENWRAP_Z_LEN], kek[32], *b = NULL;
	EVP_PKEY *eph;
	size_t wlen = 0;
	int ret = -1;

	*blob = NULL;
	if (keylen < TOKENWRAP_KEY_MIN || keylen > TOKENWRAP_KEY_MAX) {
		xcause(cause, "a key to wrap has %d to %d bytes, not %zu",
		    TOKENWRAP_KEY_MIN, TOKENWRAP_KEY_MAX, keylen);
		return -1;
	}
	if ((eph = tokenwrap_keygen(cause)) == NULL)
		return -1;
	b = xmalloc(TOKENWRAP_BLOB_MAX + 16);
	b[0] = TOKENWRAP_VERSION;
	if (tokenwrap_pub(eph, b + 1, cause) == -1 ||
	    tokenwrap_ecdh(eph, token_pub, z, cause) == -1 ||
	    tokenwrap_kek(z, psecret, pslen, b + 1, token_pub, kek,
	    cause) == -1)
		goto out;
	if (tokenwrap_aes(1, kek, key, keylen, b + 1 + TOKENWRAP_PUB_LEN,
	    &wlen) == -1) {
		tokenwrap_error(cause, "AES key wrap failed");
		goto out;
	}
	*blob = b;
	*bloblen = 1 + TOKENWRAP_PUB_LEN + wlen;
	b = NULL;
	ret = 0;
out:
	OPENSSL_cleanse(z, sizeof z);
	OPENSSL_cleanse(kek, sizeof kek);
	free(b);
	EVP_PKEY_free(eph);
	return ret;
}

int
tokenwrap_split(const unsigned char *blob, size_t bloblen,
    const unsigned char **eph_pub, char **cause)
{
	size_t wlen;

	if (bloblen < 1 + TOKENWRAP_PUB_LEN || blob[0] != TOKENWRAP_VERSION) {
		xcause(cause, "the wrapped key is not of format version %d",
		    TOKENWRAP_VERSION);
		return -1;
	}
	wlen = bloblen - 1 - TOKENWRAP_PUB_LEN;
	if (wlen < TOKENWRAP_KEY_MIN + 8 || wlen > TOKENWRAP_KEY_MAX + 8 ||
	    wlen % 8 != 0 || blob[1] != 0x04) {
		xcause(cause, "the wrapped key has a wrong length or point");
		return -1;
	}
	*eph_pub = blob + 1;
	return 0;
}

int
tokenwrap_finish(const unsigned char *blob, size_t bloblen,
    const unsigned char z[TOKENWRAP_Z_LEN],
    const unsigned char token_pub[TOKENWRAP_PUB_LEN],
    const unsigned char *psecret, size_t pslen, unsigned char *key,
    size_t *keylen, char **cause)
{
	unsigned char kek[32], out[TOKENWRAP_KEY_MAX + 16];
	const unsigned char *eph;
	size_t wlen, len = 0;
	int ret = -1;

	if (tokenwrap_split(blob, bloblen, &eph, cause) == -1)
		return -1;
	wlen = bloblen - 1 - TOKENWRAP_PUB_LEN;
	if (tokenwrap_kek(z, psecret, pslen, eph, token_pub, kek, cause) == -1)
		return -1;
	if (tokenwrap_aes(0, kek, blob + 1 + TOKENWRAP_PUB_LEN, wlen, out,
	    &len) == -1) {
		xcause(cause, "the key does not unwrap (another token, "
		    "device or a damaged blob)");
		goto out;
	}
	if (len < TOKENWRAP_KEY_MIN || len > *keylen) {
		xcause(cause, "the unwrapped key has %zu bytes, room for %zu",
		    len, *keylen);
		goto out;
	}
	memcpy(key, out, len);
	*keylen = len;
	ret = 0;
out:
	OPENSSL_cleanse(kek, sizeof kek);
	OPENSSL_cleanse(out, sizeof out);
	return ret;
}
