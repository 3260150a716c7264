/*
 * The measurement log's digests (measurelog.c): what cmld extends the
 * measurement PCR with for each kind of entry, and what a verifier
 * recomputes when it replays the log (attest.h).  Both sides use these
 * functions, so the formulas are here and nowhere else.
 *
 *   start:   SHA-256(manifest_hash || config_hash), 32 raw bytes each
 *   install: SHA-256("cml-update-v1" NUL || kind NUL || name NUL ||
 *            version NUL || bundle), bundle being the SHA-256 of the
 *            bundle's signed manifest (32 raw bytes)
 *
 * The install's label and the NUL after each text keep an install from
 * standing for a start (whose message is 64 bytes with no label) or for
 * another install.
 */
#ifndef CML_CRYPTO_MEASURELOG_H
#define CML_CRYPTO_MEASURELOG_H

#include "crypto.h"

/* The label of an install's measurement, hashed with its NUL. */
#define MEASURELOG_INSTALL_TAG "cml-update-v1"

/* out = the digest of a container's start. */
void measurelog_start_digest(const unsigned char manifest[CRYPTO_SHA256_LEN],
    const unsigned char config[CRYPTO_SHA256_LEN],
    unsigned char out[CRYPTO_SHA256_LEN]);
/* out = the digest of an install put in place. */
void measurelog_install_digest(const char *kind, const char *name,
    const char *version, const unsigned char bundle[CRYPTO_SHA256_LEN],
    unsigned char out[CRYPTO_SHA256_LEN]);

#endif
