/*
 * The provisioning report (report.c): its text, as cmld writes it for
 * org.cml.Provision.Report, and its verification off the device, as
 * `cml-attest --report` makes it.  Both sides use this file, so the
 * format is defined here and nowhere else; what the device key signs for
 * a report is provreport.h's.
 *
 * Format 1 is one JSON object, in this order:
 *
 *   format       1
 *   made         when cmld made it, RFC 3339 UTC with milliseconds
 *   cml_version  the version of cmld that made it
 *   device       { uuid, name }
 *   state        "factory" or "provisioned"
 *   steps        [ { name, state, time, summary, error } ], the seven
 *                steps in order; state "pending", "done" or "failed";
 *                time, summary and error null where there are none
 *   device_key   { public_key (PEM), curve, name (TPM name, hex) }
 *   certificate  { subject, issuer, fingerprint, not_before, not_after,
 *                ca_fingerprint } or null before step 3;
 *                ca_fingerprint null without a device CA anchor
 *   anchors      [ { kind, subject, fingerprint, not_after } ]
 *   settings     [ { key, value } ]
 *
 * The signed report travels as the Report reply (or `cmlsh --json
 * provision report`, which prints it): report (the text), signature
 * (base64 DER ECDSA-Sig-Value, provreport.h), certificate (the device
 * certificate, PEM, then any intermediate CA certificates) and ca (the
 * device CA's certificate, PEM, or empty).  The text is signed byte for
 * byte: it must reach the verifier unchanged, which a JSON string does.
 */
#ifndef CML_CRYPTO_REPORT_H
#define CML_CRYPTO_REPORT_H

#include <stddef.h>
#include <time.h>

#include "crypto.h"
#include "devcert.h"
#include "provreport.h"

struct json_object;

/* The format cmld writes and the verifier reads. */
#define REPORT_FORMAT 1
/*
 * The most bytes of a report text (a quarter of a protocol message, so
 * that the reply, the text escaped as a JSON string with the
 * certificates beside it, fits in one), and of what the verifier reads.
 */
#define REPORT_MAX (256 * 1024)
#define REPORT_FILE_MAX (4 * 1024 * 1024)

/* A report being written (cmld). */
struct report;

/*
 * Starts a report of device uuid (name: its device_name), in provisioning
 * state state, made at made (RFC 3339) by cml version.
 */
struct report *report_new(const char *uuid, const char *name,
    const char *state, const char *version, const char *made);
/* Frees a report; NULL does nothing. */
void report_free(struct report *r);
/* Adds a step; time, summary and error may be NULL. */
void report_add_step(struct report *r, const char *name, const char *state,
    const char *time, const char *summary, const char *error);
/* Sets the device key, as tpm2d's IdentityPublic names it. */
void report_set_key(struct report *r, const char *public_key,
    const char *curve, const char *key_name);
/*
 * Sets the device certificate (times RFC 3339); ca_fingerprint may be
 * NULL.  Without it the report says null: no certificate yet.
 */
void report_set_certificate(struct report *r, const char *subject,
    const char *issuer, const char *fingerprint, const char *not_before,
    const char *not_after, const char *ca_fingerprint);
/* Adds a trust anchor (not_after RFC 3339). */
void report_add_anchor(struct report *r, const char *kind,
    const char *subject, const char *fingerprint, const char *not_after);
/* Adds a device setting. */
void report_add_setting(struct report *r, const char *key,
    const char *value);
/*
 * Returns the report's text (allocated) and its length in *len; NULL with
 * *cause set when it is larger than REPORT_MAX.
 */
char *report_text(struct report *r, size_t *len, char **cause);
/*
 * Writes the SHA-256 of a report's (or a receipt's) bytes as 64 lower-case
 * hex digits, as org.cml.TPM.SignReport (SignReceipt) takes it.
 */
void report_hash_hex(const char *text, size_t len,
    char out[CRYPTO_SHA256_HEX]);

/* What a verified report must be checked against. */
struct report_want {
	/* the CAs (DER) given: the device certificate must chain to one */
	const unsigned char *const *anchors;
	const size_t *anchor_lens;
	size_t nanchors;
	time_t now; /* 0: the time now */
};

/* One step of a verified report. */
struct report_step {
	char *name;
	char *state;
	char *time; /* NULL: none */
	char *summary;
	char *error;
};

/* What a verified report says (every string printable, see utf8_clean). */
struct report_result {
	char *uuid;
	char *name;
	char *state;
	char *made;
	char *version;
	char *subject; /* the device certificate's, RFC 2253 */
	char *issuer;
	char *ca_subject; /* the CA given that the report names */
	char *curve;
	struct report_step *steps;
	size_t nsteps;
	size_t nanchors;
	size_t nsettings;
};

/*
 * Verifies a signed report: json holds the Report reply's parameters (or
 * a whole reply message, whose parameters are taken).  In this order: the
 * device certificate is present, in the form cmld gives it (so that no
 * byte of it can change unnoticed), and chains to one of want's CAs; the
 * reply's ca, if any, is one of those CAs; the signature, in the form
 * cmld gives it, verifies over the report with the certificate's key; the
 * report is format 1 as above; its device certificate, device CA and
 * device key are those of the reply; the certificate's CN is its uuid.
 * Fills *result; -1 with *cause naming the first check that failed.
 */
int report_verify(const char *json, size_t len, const struct report_want *want,
    struct report_result *result, char **cause);
/* Releases what report_verify filled in. */
void report_result_clear(struct report_result *result);

/*
 * The envelope of a signed document of the device (a report, a receipt)
 * as its reply brings it, once checked: the document's text, the device
 * certificate and the device CA.  Reports and receipts (receipt.h) are
 * checked the same way up to their text.
 */
struct report_signed {
	const char *text; /* the document's bytes (the reply's) */
	size_t text_len;
	const char *cert_pem; /* the reply's certificate (the reply's) */
	struct crypto_cert leaf; /* the device certificate */
	struct crypto_cert ca; /* the reply's device CA, if has_ca */
	int has_ca;
	struct crypto_devcert_checked checked; /* its subject and key */
};

/*
 * Parses a reply (JSON text, at most REPORT_FILE_MAX bytes) into *root
 * (json_object_put it) and points *params at its parameters: the object
 * itself when it has member key, else its "parameters" (a whole reply
 * message).  -1 with *cause set.
 */
int report_reply_parse(const char *json, size_t len, const char *key,
    struct json_object **root, struct json_object **params, char **cause);
/*
 * Checks the envelope of a document of kind in a reply's parameters, in
 * this order: the device certificate is present, in the form cmld gives
 * it (so that no byte of it can change unnoticed), and chains to one of
 * want's CAs; the reply's ca, if any, is one of those CAs; the signature,
 * in the form cmld gives it, verifies over the member named kind->noun
 * with the certificate's key under kind's label.  title names the
 * document ("provisioning report") in messages about a reply that is
 * none.  Fills *s (report_signed_clear it, also after a failure); -1 with
 * *cause naming the first check that failed.
 */
int report_signed_check(struct json_object *params,
    const struct provreport_kind *kind, const char *title,
    const struct report_want *want, struct report_signed *s, char **cause);
/* Releases what report_signed_check filled in. */
void report_signed_clear(struct report_signed *s);
/*
 * Reads the string members keys of o, an object of a document (noun:
 * "report", for messages; path: the object's name in them) into out:
 * keys[i] is required unless it starts with '?' (then null or absent
 * gives NULL).  -1 with *cause naming the member.
 */
int report_get_strings(struct json_object *o, const char *noun,
    const char *path, const char *const *keys, const char **out, size_t n,
    char **cause);

#endif
