/*
 * Measured start (measure.c, CR 3.4(1)): before a container's init runs,
 * cmld has tpm2d extend the measurement PCR with the digest of what is
 * about to run, and keeps a log of every extend in the store, so that a
 * verifier can replay the log against a quote of that PCR.
 *
 *   manifest_hash = SHA-256(the guest OS's signed manifest, as verified)
 *   config_hash   = SHA-256(the container's config, as stored)
 *   digest        = SHA-256(manifest_hash || config_hash), 32 raw bytes each
 *   PCR           = SHA-256(PCR || digest)  (TPM2_PCR_Extend, sha256 bank)
 *
 * A start that cannot be measured and logged does not happen.
 *
 * An install put in place (measure_install) is measured the same way,
 * logged as an install (its kind, name, version and bundle digest):
 *
 *   bundle = SHA-256(the bundle's signed manifest), the history's digest
 *   digest = SHA-256("cml-update-v1" NUL kind NUL name NUL version NUL
 *            bundle), bundle as 32 raw bytes (crypto/measurelog.h)
 *   PCR    = SHA-256(PCR || digest)
 *
 * so that a quote shows what was installed since the TPM's last reset,
 * and an install receipt (cmd-update-receipt.c) can point at it.
 */
#ifndef CMLD_MEASURE_H
#define CMLD_MEASURE_H

#include <stddef.h>

struct cmld;
struct phases;

/* What a start measures (borrowed until measure_start returns). */
struct measure_what {
	const char *container;
	const char *guestos;
	const char *version;
	const void *manifest; /* the signed manifest bytes */
	size_t manifest_len;
	const void *config; /* the config bytes as stored */
	size_t config_len;
	/* the start's phases (marked until the end is reported); NULL */
	struct phases *phases;
};

/*
 * The end of a measurement: error is NULL once the PCR was extended and
 * the entry logged (audited), or a varlink error name with cause saying
 * why the start must not go on.
 */
typedef void (*measure_cb)(void *arg, const char *error, const char *cause);

/*
 * Measures a start: asks tpm2d to extend the measurement PCR and logs
 * the entry when it answered; cb gets the end later, from the loop.
 * Returns 0, or -1 with *cause set at once (tpm2d is not running), cb
 * not called.
 */
int measure_start(struct cmld *cmld, const struct measure_what *w,
    measure_cb cb, void *arg, char **cause);

/*
 * Measures an install that is in place: kind, name and version as the
 * bundle's manifest says, digest_hex the SHA-256 of its signed manifest
 * (64 lower-case hex digits, as the history row has it).  Asks tpm2d to
 * extend the measurement PCR and logs the entry (durably) once it
 * answered; cb gets the end later, from the loop (error NULL: measured).
 * Returns 0, or -1 with *cause set at once (bad arguments, tpm2d not
 * running, the store), cb not called.
 */
int measure_install(struct cmld *cmld, const char *kind, const char *name,
    const char *version, const char *digest_hex, measure_cb cb, void *arg,
    char **cause);
/*
 * Writes the digest measure_install extends for an install (64 hex
 * digits into out); -1 with *cause set when the texts are empty, longer
 * than 64 bytes or no UTF-8, or digest_hex is no SHA-256 in hex.
 */
int measure_install_digest(const char *kind, const char *name,
    const char *version, const char *digest_hex, char out[65],
    char **cause);

#endif
