/*
 * The factory provisioning (cmd-provision.c, org.cml.Provision), and what
 * its steps share with the commands that do the same outside of it: a
 * step never copies a command's checks, it calls them.  Reading a passed
 * file and checking and storing a trust anchor (cmd-ca.c), the device's
 * request and certificate (cmd-identity.c), device settings
 * (cmd-device.c), c0's creation (ctr-start.c); token init's part is in
 * token.h.
 */
#ifndef CMLD_PROVISION_H
#define CMLD_PROVISION_H

#include <stddef.h>

#include <json-c/json.h>

struct call;
struct cmld;
struct crypto_cert;
struct ctr;

/*
 * Records the failure of a provisioning step's call (call->details holds
 * the message of its error) as the step's last attempt; any other call
 * does nothing.  cmld's done hook (control.c) calls it for every call a
 * handler answered with an error.
 */
void provision_call_failed(struct call *call);

/* --- cmd-ca.c -------------------------------------------------------------- */

/* Formats seconds since the epoch as RFC 3339 UTC, whole seconds. */
void ca_format_time(long long secs, char *buf, size_t len);
/* Returns an anchor as org.cml.Trust's Anchor. */
struct json_object *ca_anchor_json(const char *fingerprint,
    const char *subject, const char *key, long long not_after,
    const char *kind);
/*
 * Reads the file the client passed as parameter param (a PassedFile) of
 * at most max bytes into *buf (free it) and *len; *name is the client's
 * name for it (for messages).  -1 with *cause set.
 */
int ca_passed_read(struct call *call, const char *param, size_t max,
    char **buf, size_t *len, const char **name, char **cause);
/*
 * Reads a passed CA certificate (parameter param) that may be a trust
 * anchor (crypto_cert_check_anchor) into *cert (crypto_cert_clear it);
 * -1 with *cause set (*name set as ca_passed_read sets it).
 */
int ca_anchor_read(struct call *call, const char *param,
    struct crypto_cert *cert, const char **name, char **cause);
/*
 * Sets *kind (free it) to the kind of the anchor with that fingerprint,
 * NULL if there is none; -1 with *cause set.
 */
int ca_anchor_kind(struct cmld *cmld, const char *fingerprint, char **kind,
    char **cause);
/*
 * Stores cert as an anchor of kind and reloads the trust store: 0, 1 if
 * an anchor with its fingerprint is there already (nothing changed), -1
 * with *cause set.
 */
int ca_anchor_install(struct cmld *cmld, const struct crypto_cert *cert,
    const char *kind, char **cause);

/* --- cmd-provision-report.c ----------------------------------------------- */

/*
 * The device certificate with its chain (PEM, "" without one) and the
 * device CA anchor (PEM, "" without one), as the provisioning report and
 * the install receipt hand them out (free both); -1 with *cause set.
 */
int preport_credentials(struct cmld *cmld, char **certificate, char **ca,
    char **cause);

/* --- cmd-identity.c -------------------------------------------------------- */

/* The anchors a device certificate may chain to (DER). */
struct identity_anchors {
	unsigned char **der;
	size_t *len;
	size_t n;
};

/* Adds a copy of an anchor (DER). */
void identity_anchors_add(struct identity_anchors *an,
    const unsigned char *der, size_t len);
/* Releases the anchors and leaves an empty. */
void identity_anchors_free(struct identity_anchors *an);
/* Returns the subject of the device's requests: /CN=UUID/O=cml device. */
char *identity_subject(struct cmld *cmld);
/*
 * Reads tpm2d's answer to CreateCSR: the PEM request (borrowed from
 * params), or NULL with *why (borrowed) saying what went wrong.
 */
const char *identity_csr_answer(const char *error, struct json_object *params,
    const char **why);
/*
 * Reads tpm2d's answer to IdentityPublic or CreateIdentity: the device
 * key (PEM, borrowed), or NULL with *why (borrowed).
 */
const char *identity_key_answer(const char *error, struct json_object *params,
    const char **why);
/*
 * Checks a device certificate (buf, PEM or DER, from the file called
 * name; in PEM it may be followed by the CA certificates between it and
 * the anchor, and by nothing else) against the anchors an, the TPM's
 * device key key (PEM) and the device UUID, and stores it with those CA
 * certificates as the device certificate; fills *cert (crypto_cert_clear
 * it).  -1 with *error (a varlink error name) and
 * *cause (the whole message) set.
 */
int identity_cert_install(struct cmld *cmld, const char *buf, size_t len,
    const char *name, const char *key, const struct identity_anchors *an,
    struct crypto_cert *cert, const char **error, char **cause);
/* Returns subject, issuer, not_after and fingerprint of a certificate. */
struct json_object *identity_cert_json(const struct crypto_cert *cert);

/* --- cmd-device.c ---------------------------------------------------------- */

/*
 * Checks a device setting: its key is known, its value valid (and no
 * "false" for require_signed_configs once provisioned); sets *canon to
 * the value's canonical form (free it).  -1 with *param ("key" or
 * "value") and *cause set.
 */
int device_config_check(struct cmld *cmld, const char *key,
    const char *value, char **canon, const char **param, char **cause);
/*
 * Stores n checked settings in one transaction and applies them: all or,
 * -1 with *cause set, none.
 */
int device_config_set(struct cmld *cmld, const char *const *keys,
    const char *const *canon, size_t n, char **cause);

/* --- ctr-start.c ----------------------------------------------------------- */

/*
 * Creates c0 on the guest OS c0_guestos names, as cmld's start does (its
 * config is cmld's own), with token as its cml.token.type (NULL: none);
 * audited.  NULL with *error (a varlink error name) and *cause set.
 */
struct ctr *ctr_c0_create(struct cmld *cmld, const char *token,
    const char **error, char **cause);

#endif
