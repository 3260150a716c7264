/*
 * The measurement log's digests (measurelog.h).
 */
#include "config.h"

#include <string.h>

#include "measurelog.h"

void
measurelog_start_digest(const unsigned char manifest[CRYPTO_SHA256_LEN],
    const unsigned char config[CRYPTO_SHA256_LEN],
    unsigned char out[CRYPTO_SHA256_LEN])
{
	struct crypto_hash *h = crypto_sha256_new();

	crypto_hash_update(h, manifest, CRYPTO_SHA256_LEN);
	crypto_hash_update(h, config, CRYPTO_SHA256_LEN);
	crypto_hash_final(h, out);
}

void
measurelog_install_digest(const char *kind, const char *name,
    const char *version, const unsigned char bundle[CRYPTO_SHA256_LEN],
    unsigned char out[CRYPTO_SHA256_LEN])
{
	struct crypto_hash *h = crypto_sha256_new();

	/* Each text with its NUL: no two installs give the same bytes. */
	crypto_hash_update(h, MEASURELOG_INSTALL_TAG,
	    sizeof MEASURELOG_INSTALL_TAG);
	crypto_hash_update(h, kind, strlen(kind) + 1);
	crypto_hash_update(h, name, strlen(name) + 1);
	crypto_hash_update(h, version, strlen(version) + 1);
	crypto_hash_update(h, bundle, CRYPTO_SHA256_LEN);
	crypto_hash_final(h, out);
}
