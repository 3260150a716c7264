/*
 * The provisioning report's signature (provreport.c): what tpm2d's device
 * key signs for a report (org.cml.Provision.Report) and how a verifier
 * checks it off the device.  The signed message is
 *
 *   "cml-provision-report-v1" NUL || SHA-256(report's bytes)
 *
 * (56 bytes), signed with ECDSA over its SHA-256, so the device key signs
 * nothing else under this label, and `openssl dgst -sha256 -verify`
 * checks it with the message written to a file.
 */
#ifndef CML_CRYPTO_PROVREPORT_H
#define CML_CRYPTO_PROVREPORT_H

#include <stddef.h>

#include <openssl/evp.h>

#include "crypto.h"

/* The label, hashed with its NUL. */
#define PROVREPORT_TAG "cml-provision-report-v1"

/*
 * out = SHA-256(PROVREPORT_TAG NUL || report_hash[32]): the digest the
 * device key signs for a report whose SHA-256 is report_hash.
 */
void provreport_digest(const unsigned char report_hash[CRYPTO_SHA256_LEN],
    unsigned char out[CRYPTO_SHA256_LEN]);

/*
 * Checks a report's signature: 0 when sig (DER ECDSA-Sig-Value, siglen
 * bytes) verifies with key (an EC public key) over the report's len
 * bytes; -1 with *cause saying why not.
 */
int provreport_verify(EVP_PKEY *key, const void *report, size_t len,
    const unsigned char *sig, size_t siglen, char **cause);

#endif
