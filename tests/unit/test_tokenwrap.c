/*
 * Unit tests of the tokens' wrap format (crypto/tokenwrap.c): a round
 * trip with the token's private key, and every way an unwrap must fail
 * (another token's Z, another platform secret, a changed blob, a blob of
 * the wrong version or length), and the bounds of the keys wrapped.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "tokenwrap.h"

struct tw {
	EVP_PKEY *key;
	unsigned char pub[TOKENWRAP_PUB_LEN];
	unsigned char psecret[32];
};

static int
t_setup(void **state)
{
	struct tw *t = calloc(1, sizeof *t);
	char *cause = NULL;

	if (t == NULL || (t->key = tokenwrap_keygen(&cause)) == NULL ||
	    tokenwrap_pub(t->key, t->pub, &cause) == -1)
		return -1;
	(void)RAND_bytes(t->psecret, sizeof t->psecret);
	*state = t;
	return 0;
}

static int
t_teardown(void **state)
{
	struct tw *t = *state;

	EVP_PKEY_free(t->key);
	free(t);
	return 0;
}

/*
 * Unwraps blob with the private key priv: 0 with the key in out, or -1.
 */
static int
unwrap(EVP_PKEY *priv, const unsigned char *pub, const unsigned char *blob,
    size_t bloblen, const unsigned char *psecret, unsigned char *out,
    size_t *outlen, char **cause)
{
	const unsigned char *eph;
	unsigned char z[TOKENWRAP_Z_LEN];

	if (tokenwrap_split(blob, bloblen, &eph, cause) == -1 ||
	    tokenwrap_ecdh(priv, eph, z, cause) == -1)
		return -1;
	return tokenwrap_finish(blob, bloblen, z, pub, psecret, 32, out,
	    outlen, cause);
}

/*
 * A key of every length from 16 to 64 bytes unwraps to itself with the
 * token's key and the same platform secret; each wrap is new (a fresh
 * ephemeral key), and the blob has the version, the point and the
 * RFC 5649 wrap.
 * Proves: CR 1.5 (a key is kept wrapped for the token; only its private
 * key, with the device's platform secret, unwraps it).
 */
static void
test_round_trip(void **state)
{
	struct tw *t = *state;
	unsigned char key[TOKENWRAP_KEY_MAX], out[TOKENWRAP_KEY_MAX];
	unsigned char *blob, *blob2;
	size_t len, bloblen, bloblen2, outlen;
	char *cause = NULL;

	for (len = TOKENWRAP_KEY_MIN; len <= TOKENWRAP_KEY_MAX; len++) {
		(void)RAND_bytes(key, sizeof key);
		assert_int_equal(tokenwrap_wrap(key, len, t->pub, t->psecret,
		    32, &blob, &bloblen, &cause), 0);
		assert_int_equal(blob[0], TOKENWRAP_VERSION);
		assert_int_equal(blob[1], 0x04);
		assert_int_equal(bloblen, 1 + TOKENWRAP_PUB_LEN +
		    (len + 7) / 8 * 8 + 8);
		assert_true(bloblen <= TOKENWRAP_BLOB_MAX);
		outlen = sizeof out;
		assert_int_equal(unwrap(t->key, t->pub, blob, bloblen,
		    t->psecret, out, &outlen, &cause), 0);
		assert_int_equal(outlen, len);
		assert_memory_equal(out, key, len);
		/* another wrap of the same key differs */
		assert_int_equal(tokenwrap_wrap(key, len, t->pub, t->psecret,
		    32, &blob2, &bloblen2, &cause), 0);
		assert_int_equal(bloblen2, bloblen);
		assert_memory_not_equal(blob2, blob, bloblen);
		free(blob);
		free(blob2);
	}
}

/*
 * Another token's key (another Z), another platform secret (another
 * device), any changed byte of the blob: the unwrap fails.
 * Proves: CR 1.5 (a token taken to another device, with another platform
 * secret, unwraps nothing there).
 */
static void
test_wrong_fails(void **state)
{
	struct tw *t = *state;
	unsigned char key[32], out[TOKENWRAP_KEY_MAX], other_ps[32];
	unsigned char other_pub[TOKENWRAP_PUB_LEN], z[TOKENWRAP_Z_LEN];
	unsigned char *blob;
	const unsigned char *eph;
	size_t bloblen, outlen, i;
	EVP_PKEY *other;
	char *cause = NULL;

	(void)RAND_bytes(key, sizeof key);
	assert_int_equal(tokenwrap_wrap(key, sizeof key, t->pub, t->psecret,
	    32, &blob, &bloblen, &cause), 0);

	/* another token */
	assert_non_null(other = tokenwrap_keygen(&cause));
	assert_int_equal(tokenwrap_pub(other, other_pub, &cause), 0);
	outlen = sizeof out;
	assert_int_equal(unwrap(other, t->pub, blob, bloblen, t->psecret,
	    out, &outlen, &cause), -1);
	assert_non_null(strstr(cause, "does not unwrap"));
	free(cause);
	cause = NULL;
	/* the right Z but another token's public key in the KDF */
	assert_int_equal(tokenwrap_split(blob, bloblen, &eph, &cause), 0);
	assert_int_equal(tokenwrap_ecdh(t->key, eph, z, &cause), 0);
	outlen = sizeof out;
	assert_int_equal(tokenwrap_finish(blob, bloblen, z, other_pub,
	    t->psecret, 32, out, &outlen, &cause), -1);
	free(cause);
	cause = NULL;
	EVP_PKEY_free(other);

	/* another platform secret */
	memcpy(other_ps, t->psecret, sizeof other_ps);
	other_ps[31] ^= 1;
	outlen = sizeof out;
	assert_int_equal(unwrap(t->key, t->pub, blob, bloblen, other_ps, out,
	    &outlen, &cause), -1);
	free(cause);
	cause = NULL;

	/* a byte changed anywhere in the wrapped part or the point */
	for (i = 1; i < bloblen; i++) {
		blob[i] ^= 0x01;
		outlen = sizeof out;
		assert_int_equal(unwrap(t->key, t->pub, blob, bloblen,
		    t->psecret, out, &outlen, &cause), -1);
		free(cause);
		cause = NULL;
		blob[i] ^= 0x01;
	}
	outlen = sizeof out;
	assert_int_equal(unwrap(t->key, t->pub, blob, bloblen, t->psecret,
	    out, &outlen, &cause), 0);
	assert_memory_equal(out, key, sizeof key);
	free(blob);
}

/*
 * Keys shorter than 16 or longer than 64 bytes are refused; a blob of
 * another version, too short, too long or not a multiple of 8 after the
 * point is refused before any ECDH; an unwrapped key that does not fit
 * the room given is refused.
 * Proves: none (bounds of the wrap format).
 */
static void
test_bounds(void **state)
{
	struct tw *t = *state;
	unsigned char key[TOKENWRAP_KEY_MAX + 1], out[TOKENWRAP_KEY_MAX];
	unsigned char *blob, bad[TOKENWRAP_BLOB_MAX + 8];
	const unsigned char *eph;
	size_t bloblen, outlen;
	char *cause = NULL;

	memset(key, 7, sizeof key);
	assert_int_equal(tokenwrap_wrap(key, TOKENWRAP_KEY_MIN - 1, t->pub,
	    t->psecret, 32, &blob, &bloblen, &cause), -1);
	assert_non_null(strstr(cause, "16 to 64"));
	free(cause);
	cause = NULL;
	assert_int_equal(tokenwrap_wrap(key, TOKENWRAP_KEY_MAX + 1, t->pub,
	    t->psecret, 32, &blob, &bloblen, &cause), -1);
	free(cause);
	cause = NULL;

	assert_int_equal(tokenwrap_wrap(key, 40, t->pub, t->psecret, 32,
	    &blob, &bloblen, &cause), 0);
	memcpy(bad, blob, bloblen);
	bad[0] = 2;
	assert_int_equal(tokenwrap_split(bad, bloblen, &eph, &cause), -1);
	assert_non_null(strstr(cause, "version"));
	free(cause);
	cause = NULL;
	bad[0] = TOKENWRAP_VERSION;
	assert_int_equal(tokenwrap_split(bad, 1 + TOKENWRAP_PUB_LEN + 16,
	    &eph, &cause), -1);
	free(cause);
	cause = NULL;
	assert_int_equal(tokenwrap_split(bad, bloblen - 1, &eph, &cause), -1);
	free(cause);
	cause = NULL;
	assert_int_equal(tokenwrap_split(bad, 10, &eph, &cause), -1);
	free(cause);
	cause = NULL;
	memset(bad + bloblen, 0, sizeof bad - bloblen);
	assert_int_equal(tokenwrap_split(bad, TOKENWRAP_BLOB_MAX + 8, &eph,
	    &cause), -1);
	free(cause);
	cause = NULL;
	/* a point that is not on the curve */
	memset(bad + 1, 0x11, TOKENWRAP_PUB_LEN);
	bad[1] = 0x04;
	assert_int_equal(tokenwrap_split(bad, bloblen, &eph, &cause), 0);
	{
		unsigned char z[TOKENWRAP_Z_LEN];

		assert_int_equal(tokenwrap_ecdh(t->key, eph, z, &cause), -1);
		free(cause);
		cause = NULL;
	}
	/* no room for the 40 bytes */
	outlen = 32;
	assert_int_equal(unwrap(t->key, t->pub, blob, bloblen, t->psecret,
	    out, &outlen, &cause), -1);
	assert_non_null(strstr(cause, "room"));
	free(cause);
	free(blob);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, t_setup,
		    t_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_fails, t_setup,
		    t_teardown),
		cmocka_unit_test_setup_teardown(test_bounds, t_setup,
		    t_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
