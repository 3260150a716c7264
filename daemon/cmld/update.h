/*
 * Update bundles as cmld takes them (update.c, TSF.UPD, NDR 3.10): a
 * bundle passed as a descriptor is read (cml-bundle(5)), its signatures
 * verified against the anchors its kind requires, the signers a device
 * setting requires counted (m of n), and its version held against the
 * floor of its kind and name, before a byte of it is installed.
 *
 *   guestos, configs  a signature chaining to a supplier or owner anchor
 *   cml, boot         a signature chaining to a supplier anchor
 *
 * A bundle is known by its digest, the SHA-256 of its signed manifest:
 * the manifest names every payload's SHA-256, so the digest binds every
 * byte that is installed.
 */
#ifndef CMLD_UPDATE_H
#define CMLD_UPDATE_H

#include <json-c/json.h>

#include "bundle.h"
#include "crypto.h"
#include "settings.h"

struct cmld;

/* One signature of a bundle, as checked. */
struct update_sig {
	int verified;
	struct crypto_signer signer;
	const char *anchor_kind; /* "supplier" or "owner" once verified */
	int counts; /* verified, by an anchor this kind accepts */
	char *error; /* why it does not verify */
};

/* A bundle being looked at or installed. */
struct update_bundle {
	int fd;
	char *name; /* the caller's path, for messages */
	struct bundle_layout l;
	char *manifest;
	struct bundle_manifest m;
	unsigned char *sigs[BUNDLE_SIGS_MAX];
	char digest[CRYPTO_SHA256_HEX];

	/* update_check's findings */
	struct update_sig sig[BUNDLE_SIGS_MAX];
	int required; /* m of the device setting, 0: none */
	size_t nsigners;
	char signers[SETTING_SIGNERS_MAX][CRYPTO_SHA256_HEX];
	int present[SETTING_SIGNERS_MAX]; /* signers[i] signed */
	char *floor; /* the state store's, or NULL */
	char *tpm_floor; /* the TPM's, or NULL */
	char *tpm_note; /* why the TPM's floor is not known, or NULL */
	int installable;
	const char *error; /* the varlink error when not installable */
	char *reason; /* why not, or NULL */
};

/*
 * Reads the bundle in fd (taken: closed by update_bundle_clear): its
 * layout, manifest and signatures, and its digest.  -1 with *error and
 * *cause set.
 */
int update_open(int fd, const char *name, struct update_bundle *b,
    const char **error, char **cause);
/* Releases a bundle. */
void update_bundle_clear(struct update_bundle *b);

/* The key of a floor in the TPM's table: SHA-256("KIND/NAME"), 8 bytes. */
void update_floor_key(const char *kind, const char *name, char out[17]);

/*
 * Checks a bundle read by update_open: signatures, the required signers,
 * the floor (the state store's, and tpm_floor, the TPM's, or NULL with
 * tpm_note saying why it is not known, NULL when there is no TPM), and
 * what its kind needs of the device.  Sets b->installable, or b->error
 * and b->reason.  A TPM floor above the state store's is taken into the
 * store (a store restored from an older copy) and audited.
 */
void update_check(struct cmld *cmld, struct update_bundle *b, int tpm_avail,
    const char *tpm_floor, const char *tpm_note);
/*
 * Raises the floor of kind and name to version in the state store, and
 * asks tpm2d to raise the TPM's (without waiting: a raise that does not
 * reach the TPM is made again by the next check, from the store's).
 */
void update_floor_raise(struct cmld *cmld, const char *kind, const char *name,
    const char *version);
/*
 * The same, calling done(arg) once the TPM answered (its audit records
 * taken into the trail) or at once when there is no TPM to ask: an install
 * is answered after it, so that the trail holds all of it then.
 */
void update_floor_raise_then(struct cmld *cmld, const char *kind,
    const char *name, const char *version, void (*done)(void *), void *arg);

/*
 * Holds version against the floor of kind and name: the state store's, and
 * with tpm_avail the TPM's (tpm_floor; NULL: it holds none), the higher
 * one counting; a TPM floor above the store's is taken into the store and
 * audited, a store floor above the TPM's given to it.  tpm_note: why the
 * TPM's floor is not known (refused then).  *floor is the floor (free it).
 * -1 with *error and *cause set when version may not install.
 */
int update_floor_check(struct cmld *cmld, const char *kind, const char *name,
    const char *version, int tpm_avail, const char *tpm_floor,
    const char *tpm_note, char **floor, const char **error, char **cause);
/*
 * The answer of update_floor_ask: avail when the TPM holds floors; its
 * floor of the kind and name, or NULL; note says why it is not known.
 */
typedef void (*update_floor_cb)(void *arg, int avail, const char *tpm_floor,
    const char *note);
/*
 * Asks tpm2d for its floor of kind and name; cb gets the answer, exactly
 * once, always later from the loop (also with no TPM or tpm2d down, so
 * that a deferred call is never answered inside its handler).
 */
void update_floor_ask(struct cmld *cmld, const char *kind, const char *name,
    update_floor_cb cb, void *arg);

/* The Info reply for a checked bundle. */
struct json_object *update_info_json(const struct update_bundle *b);

/*
 * The signers that count for a bundle, as stored in the update history:
 * a JSON array of { subject, fingerprint, anchor_kind } (free it).
 */
char *update_signers_json(const struct update_bundle *b);

/*
 * Reads payload i of b (at most max bytes) into *buf, NUL-terminated, and
 * checks it against its signed SHA-256.  -1 with *cause set.
 */
int update_payload_read(const struct update_bundle *b, size_t i, size_t max,
    char **buf, size_t *len, char **cause);

/*
 * Ends the installs a stop interrupted (history rows still "installing"),
 * after guestos_reconcile removed what was half copied: an install found
 * in place is completed, any other rolled back; each is audited.
 */
void update_reconcile(struct cmld *cmld);

/* --- update-configs.c: container configs ------------------------------ */

struct store_update;

/*
 * Installs the configs of a checked bundle of kind configs (signed by
 * signer), with the history row u (begun and ended, u->id set) and the
 * floor, in one transaction of the store; *detail says what changed (free
 * it).  -1 with *error and *cause set: nothing changed.
 */
int update_configs_install(struct cmld *cmld, struct update_bundle *b,
    const char *signer, struct store_update *u, char **detail,
    const char **error, char **cause);

/* --- update-slots.c: updates through A/B slots, of cml and the boot image -- */

struct cmld_slots;
struct guestos_progress;
struct update_slot_copy;

/*
 * Takes the slots of cml (CML_SLOTS, CML_SLOT, as cml-launch sets them) and
 * of the boot image (boot_dir, --boot-slots; NULL: none; the running slot
 * from cml.boot_slot= on the kernel's command line), before the store's
 * installs are reconciled.
 */
void update_slots_open(struct cmld *cmld, const char *boot_dir);
/*
 * Says whether an install of kind (cml or boot) and version that a cut left
 * installing had its slot marked: it is being tried, or its trial failed
 * and the failure is not audited yet.  0 when not, or when the slots
 * cannot be read.
 */
int update_slot_marked(struct cmld *cmld, const char *kind,
    const char *version);
/*
 * Audits a fallback the launcher or the loader recorded, ends the history
 * of a trial a cut kept from it, and confirms a slot being tried once c0
 * runs (at once without c0).  Once the loop runs.
 */
void update_slots_init(struct cmld *cmld);
void update_slots_free(struct cmld *cmld);
/* The slots a bundle of kind installs into, or NULL for other kinds. */
struct cmld_slots *update_slots_of(struct cmld *cmld, enum bundle_kind kind);
/* Why a bundle cannot install into s now, or NULL (free it). */
char *update_slots_check(struct cmld_slots *s, const struct update_bundle *b);
/* The Slot of `update status` for s, or NULL when s has no slots here. */
struct json_object *update_slots_json(const struct cmld_slots *s);
/*
 * Confirms the slot of s that runs as good (automatic: by itself, once
 * up): 1 confirmed now, 0 it was good already, *what saying which (free
 * it); -1 with *cause set.  Audited; the install's history and floor
 * follow.
 */
int update_slots_confirm(struct cmld_slots *s, int automatic, char **what,
    char **cause);
/*
 * Copies a bundle into the inactive slot of s, staged: begin (NULL with
 * *cause set), step (0 more to do, 1 all copied and hashed, -1 with *cause
 * set), commit (the staged slot becomes the slot to try once), free (what
 * was not committed is removed).
 */
struct update_slot_copy *update_slot_begin(struct cmld_slots *s,
    const struct update_bundle *b, char **cause);
int update_slot_step(struct update_slot_copy *c, const struct update_bundle *b,
    char **cause);
void update_slot_progress(const struct update_slot_copy *c,
    const struct update_bundle *b, struct guestos_progress *p);
int update_slot_commit(struct update_slot_copy *c, const char *version,
    char **cause);
const char *update_slot_name(const struct update_slot_copy *c);
void update_slot_free(struct update_slot_copy *c);
/* Ends cmld soon with CML_EXIT_RESTART (after the answer went out). */
void update_slot_restart(struct cmld *cmld);

#endif
