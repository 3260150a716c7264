/*
 * What tpm2d's device key signs for a document of the device
 * (provreport.c), and how a verifier checks it off the device.  Each kind
 * of document has its own label, and the signed message is
 *
 *   label NUL || SHA-256(the document's bytes)
 *
 * signed with ECDSA over its SHA-256, so that `openssl dgst -sha256
 * -verify` checks it with the message written to a file.  A label is
 * never a prefix of another with its NUL, so the device key never signs a
 * digest that stands for two kinds of document: a receipt cannot pass for
 * a report, nor a report for a receipt.
 *
 *   provisioning report (org.cml.Provision.Report, SignReport):
 *     "cml-provision-report-v1"
 *   install receipt (org.cml.Update.Receipt, SignReceipt):
 *     "cml-update-receipt-v1"
 */
#ifndef CML_CRYPTO_PROVREPORT_H
#define CML_CRYPTO_PROVREPORT_H

#include <stddef.h>

#include <openssl/evp.h>

#include "crypto.h"

/* The labels, each hashed with its NUL. */
#define PROVREPORT_TAG "cml-provision-report-v1"
#define PROVREPORT_RECEIPT_TAG "cml-update-receipt-v1"

/* A kind of signed document: its label and its name in messages. */
struct provreport_kind {
	const char *tag;
	const char *noun; /* "report", "receipt" */
};

/* The provisioning report's and the install receipt's. */
extern const struct provreport_kind provreport_report;
extern const struct provreport_kind provreport_receipt;

/*
 * out = SHA-256(kind's label NUL || doc_hash[32]): the digest the device
 * key signs for a document of that kind whose SHA-256 is doc_hash.
 */
void provreport_digest(const struct provreport_kind *kind,
    const unsigned char doc_hash[CRYPTO_SHA256_LEN],
    unsigned char out[CRYPTO_SHA256_LEN]);

/*
 * Checks a document's signature: 0 when sig (DER ECDSA-Sig-Value, siglen
 * bytes) verifies with key (an EC public key) over the document's len
 * bytes as a document of that kind; -1 with *cause saying why not.
 */
int provreport_verify(const struct provreport_kind *kind, EVP_PKEY *key,
    const void *doc, size_t len, const unsigned char *sig, size_t siglen,
    char **cause);

#endif
