/*
 * Verifying a device's attestation (attest.c), as cml-attest does: the
 * reply of `device attest NONCE` (JSON, as `cmlsh --json` prints it)
 * holds a quote by the TPM's attestation key (AK), the AK's certification
 * by the device key (TPM2_Certify), the device certificate and the
 * measurement log of container starts.  It is accepted when, in this
 * order:
 *
 *   1. the device certificate chains to one of the anchors (and its CN is
 *      the UUID asked for, if one is);
 *   2. the quote is a TPM-generated TPMS_ATTEST of type quote with the
 *      nonce as qualifying data (a replayed attestation fails here); the
 *      certification is signed by the certificate's key, is a
 *      TPM-generated TPMS_ATTEST of type certify whose qualifying data is
 *      the nonce and whose certified name is the AK's (nameAlg ||
 *      H(TPMT_PUBLIC)); the AK is a restricted signing key that cannot
 *      leave its TPM, and ak_pem is that key;
 *   3. the quote is signed by the AK, and its PCR digest is
 *      the hash of the PCR values given, in the quote's selection order;
 *   4. the log, the entries of the quote's TPM reset count in seq order,
 *      replays from 32 zero bytes (pcr = SHA-256(pcr || digest)) to the
 *      quoted measurement PCR, each entry's digest being what it names
 *      gives: for a container's start (event "start", or no event: logs
 *      of before installs were measured) SHA-256(manifest_hash ||
 *      config_hash), for an install put in place (event "install")
 *      that of its kind, name, version and bundle_digest (measurelog.h).
 *
 * A log entry, as cmld gives it (org.cml.Device.Attest's log):
 *   start:   { seq, time, reset_count, event "start", container, guestos,
 *              version, manifest_hash, config_hash, digest, pcr_index,
 *              pcr }
 *   install: { seq, time, reset_count, event "install", kind, name,
 *              version, bundle_digest, digest, pcr_index, pcr }
 * hashes as 64 lower-case hex digits, pcr the PCR's value after it.
 */
#ifndef CML_CRYPTO_ATTEST_H
#define CML_CRYPTO_ATTEST_H

#include <stddef.h>
#include <time.h>

#include "crypto.h"

/* The most bytes of a reply cml-attest reads. */
#define CRYPTO_ATTEST_MAX (4 * 1024 * 1024)
/* The nonce's length in bytes. */
#define CRYPTO_ATTEST_NONCE_MIN 8
#define CRYPTO_ATTEST_NONCE_MAX 64

/* What the attestation must match. */
struct crypto_attest_want {
	const unsigned char *nonce;
	size_t nonce_len;
	/* the trust anchors (DER): the certificate must chain to one */
	const unsigned char *const *anchors;
	const size_t *anchor_lens;
	size_t nanchors;
	const char *uuid; /* the certificate's CN, case aside; NULL: any */
	time_t now; /* 0: the time now */
};

/* One container start measured, of the quote's TPM reset. */
struct crypto_attest_start {
	long long seq;
	char *container;
	char *guestos;
	char *version;
	char config_hash[CRYPTO_SHA256_HEX];
};

/* One install measured, of the quote's TPM reset. */
struct crypto_attest_install {
	long long seq;
	char *kind;
	char *name;
	char *version;
	char bundle_digest[CRYPTO_SHA256_HEX];
};

/* What an accepted attestation says. */
struct crypto_attest_result {
	char *subject; /* the device certificate's, RFC 2253 */
	char *issuer;
	char *uuid; /* the reply's "uuid", if it has one */
	int pcrs[24]; /* quoted, in selection order (sha256) */
	size_t npcrs;
	int measure_pcr;
	unsigned int reset_count;
	/* the measurement PCR's value, as quoted */
	unsigned char measure_value[CRYPTO_SHA256_LEN];
	struct crypto_attest_start *starts;
	size_t nstarts;
	struct crypto_attest_install *installs;
	size_t ninstalls;
};

/*
 * Verifies a reply (JSON text of len bytes) against want; fills *result.
 * -1 with *cause naming the first thing that does not match.
 */
int crypto_attest_verify(const char *json, size_t len,
    const struct crypto_attest_want *want,
    struct crypto_attest_result *result, char **cause);
/*
 * As crypto_attest_verify, for a reply's parameters already parsed (an
 * object holding the quote's members, measure_pcr and log); cert_pem is
 * the device certificate (with its chain), or NULL for the object's
 * "certificate".
 */
struct json_object;
int crypto_attest_verify_params(struct json_object *params,
    const char *cert_pem, const struct crypto_attest_want *want,
    struct crypto_attest_result *result, char **cause);
/* Releases what crypto_attest_verify filled in. */
void crypto_attest_result_clear(struct crypto_attest_result *result);
/*
 * Parses hex (an even number of digits) into out (at most max bytes);
 * returns the length, or -1.
 */
int crypto_attest_unhex(const char *hex, unsigned char *out, size_t max);

#endif
