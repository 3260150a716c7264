/*
 * Installed guest OSes as cmld uses them (guestos-ready.c): where they
 * live, their signed manifests, the newest version of one, the check of
 * one before use, and the clean-up at start-up.
 */
#ifndef CMLD_GUESTOS_READY_H
#define CMLD_GUESTOS_READY_H

#include <stddef.h>

#include <json-c/json.h>

#include "crypto.h"
#include "guestos.h"

struct cmld;
struct file_set;

/* Bytes copied or hashed per step of the event loop. */
#define GUESTOS_STEP (8 * 1024 * 1024)

/* Returns the guest OS directory, <state>/guestos (free it). */
char *guestos_root(struct cmld *cmld);
/*
 * Removes what an interrupted install left in the guest OS directory
 * (staging directories, directories the store does not know), audited.
 */
void guestos_reconcile(struct cmld *cmld);

/* A guest OS manifest read, its signature verified, and parsed. */
struct guestos_signed {
	char *manifest;
	size_t manifest_len;
	char *sig;
	size_t sig_len;
	struct crypto_signer signer;
	struct guestos_manifest m;
};

/*
 * Reads the manifest and signature (passed in set, or in dirfd), verifies
 * the signature against the trust anchors, then parses the manifest.  -1
 * with *error (the varlink error) and *cause set.
 */
int guestos_open_signed(struct cmld *cmld, int dirfd, struct file_set *set,
    struct guestos_signed *s, const char **error, char **cause);
/*
 * Verifies s->manifest and s->sig (set by the caller, s otherwise zeroed)
 * against the trust anchors (with kept, a check kept for the same bytes
 * serves) and parses the manifest.  -1 with *error and *cause set; s is the
 * caller's to clear either way.
 */
int guestos_signed_check(struct cmld *cmld, struct guestos_signed *s, int kept,
    const char **error, char **cause);
/*
 * Records a guest OS installed at path (moved into place) in the store;
 * -1 with *cause set ("... is already installed" when it is).
 */
int guestos_store_installed(struct cmld *cmld, const struct guestos_signed *s,
    const char *path, char **cause);
/* Releases what guestos_open_signed filled in. */
void guestos_signed_clear(struct guestos_signed *s);

/*
 * Sets *version to the newest installed version of name that is at least
 * min (NULL: any), or NULL when there is none; -1 with *cause set.
 */
int guestos_newest(struct cmld *cmld, const char *name, const char *min,
    char **version, char **cause);

struct guestos_ready;

/*
 * Opens an installed guest OS to check it before use: its manifest
 * signature against the current anchors and the store against the signed
 * manifest; then guestos_ready_step hashes the images.  With kept, the
 * signature check kept from an earlier one is taken for the very same
 * manifest and signature bytes, while the anchors are the same and the
 * chain is valid (a start); else it is done anew (guestos verify).  NULL
 * with *error (a varlink error name) and *cause set.
 */
struct guestos_ready *guestos_ready_open(struct cmld *cmld, const char *name,
    const char *version, int kept, const char **error, char **cause);
/* Frees the signature checks kept (at cmld's end). */
void guestos_vcache_free(struct cmld *cmld);
/*
 * Where every image of the guest OS carries a dm-verity hash tree (and the
 * caller maps them through dm-verity): makes the check open the images and
 * check their size only, and returns 1; 0 (the full hash stays) when an
 * image has none.  Before the first step.
 */
int guestos_ready_by_verity(struct guestos_ready *r);
/* Hashes a step: 1 all images match, 0 more to do, -1 with *cause set. */
int guestos_ready_step(struct guestos_ready *r, char **cause);
/* Reports how far the check is. */
void guestos_ready_progress(const struct guestos_ready *r,
    struct guestos_progress *p);
/* Returns the signed manifest of a checked guest OS. */
const struct guestos_manifest *guestos_ready_manifest(
    const struct guestos_ready *r);
/*
 * Returns the bytes of its manifest exactly as its signature verified
 * them (*len of them), what a measured start hashes.
 */
const char *guestos_ready_manifest_bytes(const struct guestos_ready *r,
    size_t *len);
/* Returns the directory of a checked guest OS. */
const char *guestos_ready_path(const struct guestos_ready *r);
/* The checked file of image i, once the check passed (see guestos.h). */
int guestos_ready_take_fd(struct guestos_ready *r, size_t i);
/* Frees a check; NULL does nothing. */
void guestos_ready_free(struct guestos_ready *r);
/* Returns the parameters of a progress reply. */
struct json_object *guestos_progress_reply(const struct guestos_progress *p);

#endif
