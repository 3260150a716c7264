/*
 * The install receipt: its text, as cmld writes it for
 * org.cml.Update.Receipt (receipt.c), and its verification off the
 * device, as `cml-attest --receipt` makes it (receipt-verify.c).  Both
 * sides use this file, so the format is defined here and nowhere else.
 *
 * Format 1 is one JSON object, in this order:
 *
 *   format       1
 *   made         when cmld made it, RFC 3339 UTC with milliseconds
 *   cml_version  the version of cmld that made it
 *   device       { uuid, name }
 *   install      { id, kind, name, version, digest, size, signers,
 *                result, detail, began, ended }: the row of the update
 *                history; digest the SHA-256 of the bundle's signed
 *                manifest (hex), size the bundle's bytes, signers the
 *                array of { subject, fingerprint, anchor_kind } that
 *                signed it, result installing, installed, pending,
 *                confirmed, failed, rolled-back or fell-back, detail
 *                null or why; began and ended RFC 3339 (ended null while
 *                it runs)
 *   pcr          { index, bank, value }: the measurement PCR as the
 *                quote that comes with the receipt has it
 *
 * The signed receipt travels as the Receipt reply (or `cmlsh --json
 * update receipt`, which prints it): receipt (the text), signature (base64
 * DER ECDSA-Sig-Value by the device key under the label
 * "cml-update-receipt-v1", provreport.h), certificate (the device
 * certificate, PEM, then any intermediate CA certificates), ca (the
 * device CA's certificate, PEM, or empty) and quote: the attestation
 * (attest.h: quote, signature, ak_public, ak_pem, certify_info,
 * certify_signature, pcrs, reset_count, measure_pcr, log) made with the
 * nonce SHA-256(receipt text), so that the quote is of this receipt and
 * no other.
 *
 * A verifier accepts it when, in this order: the device certificate
 * chains to a CA given; the reply's device CA, if any, is one of them;
 * the signature verifies over the text with the certificate's key; the
 * text is format 1 and names the device the certificate names; the
 * attestation key is certified by the device key, the quote is signed by
 * it with the nonce SHA-256(text), its PCR values are those quoted and
 * the log of its TPM reset replays to the measurement PCR; the receipt's
 * pcr is that PCR as quoted; and, for an install that was put in place
 * (installed, pending, confirmed), the log holds its measurement (kind,
 * name, version and digest as the receipt says).
 */
#ifndef CML_CRYPTO_RECEIPT_H
#define CML_CRYPTO_RECEIPT_H

#include <stddef.h>

#include "crypto.h"
#include "report.h"

/* The format cmld writes and the verifier reads. */
#define RECEIPT_FORMAT 1
/* The most bytes of a receipt's text, and of a reply the verifier reads. */
#define RECEIPT_MAX (64 * 1024)
#define RECEIPT_FILE_MAX REPORT_FILE_MAX

/* An install as the receipt names it (borrowed strings). */
struct receipt_install {
	long long id;
	const char *kind;
	const char *name;
	const char *version;
	const char *digest; /* SHA-256 of the signed manifest, hex */
	long long size;
	const char *signers; /* JSON array text, as the history keeps it */
	const char *result;
	const char *detail; /* NULL: none */
	const char *began; /* RFC 3339 */
	const char *ended; /* RFC 3339; NULL while it runs */
};

/*
 * Returns the text of a receipt (allocated; its length in *len) of
 * install in on device uuid (name: its device_name) made at made (RFC
 * 3339) by cml version, with the measurement PCR pcr_index at pcr_value
 * (64 hex digits).  NULL with *cause set when the history's signers are
 * no JSON array of objects or the text would exceed RECEIPT_MAX.
 */
char *receipt_text(const char *uuid, const char *name, const char *version,
    const char *made, const struct receipt_install *in, long long pcr_index,
    const char *pcr_value, size_t *len, char **cause);

/* Whether an install of result result was put in place (is measured). */
int receipt_in_place(const char *result);

/* One check a verification passed: what, and what it found. */
struct receipt_check {
	char *name;
	char *detail;
};

/* One signer of the install, as the receipt names it. */
struct receipt_signer {
	char *subject;
	char *anchor_kind; /* NULL: not named */
};

/* What a verified receipt says (every string printable, see utf8_clean). */
struct receipt_result {
	/* the checks passed, in order: kept also when a later one fails */
	struct receipt_check *checks;
	size_t nchecks;
	char *uuid;
	char *device_name;
	char *made;
	char *cml_version;
	char *subject; /* the device certificate's */
	char *issuer;
	char *ca_subject; /* the reply's device CA, if it has one */
	long long id;
	char *kind;
	char *name;
	char *version;
	char *digest;
	long long size;
	struct receipt_signer *signers;
	size_t nsigners;
	char *result;
	char *detail; /* NULL: none */
	char *began;
	char *ended; /* NULL: none */
	long long pcr_index;
	char pcr_value[CRYPTO_SHA256_HEX];
	unsigned int reset_count; /* the quote's TPM reset */
	long long log_seq; /* the install's entry in the log; 0: none */
	size_t nlog; /* entries of the quote's reset */
};

/*
 * Verifies a signed receipt: json holds the Receipt reply's parameters
 * (or a whole reply message, whose parameters are taken) against want's
 * CAs, as the comment above says.  Fills *result (receipt_result_clear
 * it, also after a failure: the checks passed before the failure are
 * there); -1 with *cause naming the check that failed and why.
 */
int receipt_verify(const char *json, size_t len,
    const struct report_want *want, struct receipt_result *result,
    char **cause);
/* Releases what receipt_verify filled in. */
void receipt_result_clear(struct receipt_result *result);

#endif
