/*
 * The device identity (identity.c) and attestation (attest.c): two keys
 * tpm2d makes in the TPM at its first start and keeps persistent.
 *
 * The device key is an ordinary ECC signing key (P-384, P-256 where the
 * TPM has no P-384), created with TPM2_Create under a storage primary key
 * from the owner hierarchy's seed, so its private part comes from the
 * TPM's random number generator (sensitiveDataOrigin): re-creating the
 * primary from the same template would give the same primary, but never
 * the same device key.  It is fixedTPM and fixedParent (it cannot be
 * duplicated or exported), noDA (its authorization is empty: a TPM in
 * dictionary attack lockout still lets it sign), unrestricted (it signs
 * digests: CSRs, the AK's certification, the audit trail's checkpoints,
 * the audit forwarder's TLS handshakes), and kept at TPM2D_IDENTITY_HANDLE.
 *
 * The attestation key (AK) is a restricted ECDSA P-256 signing key made
 * the same way, but under a storage primary of the endorsement hierarchy,
 * and kept at TPM2D_AK_HANDLE: restricted, the TPM lets it sign only data
 * it generated itself (quotes, certifications), so a quote cannot be
 * forged with TPM2_Sign.  In the endorsement hierarchy, because the TPM
 * obfuscates the reset count (and clock and firmware) in what keys of
 * the storage hierarchy sign, and a verifier replays the log of the
 * reset count the quote names.  Each quote comes with a fresh
 * TPM2_Certify of the AK by the device key whose qualifying data is the
 * quote's nonce.
 */
#ifndef TPM2D_IDENTITY_H
#define TPM2D_IDENTITY_H

#include "context.h"

/* The persistent handles of the device key and the AK (owner range). */
#define TPM2D_IDENTITY_HANDLE 0x81000100
#define TPM2D_AK_HANDLE 0x81000101

/*
 * Makes the device key and the AK if they are absent, and sets *made if
 * it made one; -1 with *cause set.  tpm2d_identity_init (context.h) calls
 * it at tpm2d's start, CreateIdentity after a wipe.
 */
int tpm2d_identity_start(struct tpm2d *t, int *made, char **cause);
/* Returns 1 if the device key is present in the TPM. */
int tpm2d_identity_present(struct tpm2d *t);
/*
 * Evicts the device key and the AK: for `device wipe` (WipeIdentity).
 * The next tpm2d_identity_start makes new ones.  -1 with *cause set.
 */
int tpm2d_identity_wipe(struct tpm2d *t, char **cause);

/*
 * Reads a persistent key's public area (and name, if wanted) into
 * *handle (an ESYS_TR closed with Esys_TR_Close, not flushed); -1 with
 * *rc (0 if not a TPM error) and *cause set.
 */
int tpm2d_persistent_open(struct tpm2d *t, TPM2_HANDLE persistent,
    ESYS_TR *handle, TPM2B_PUBLIC **pub, TPM2B_NAME **name, TSS2_RC *rc,
    char **cause);
/* Closes what tpm2d_persistent_open opened; ESYS_TR_NONE does nothing. */
void tpm2d_persistent_close(struct tpm2d *t, ESYS_TR *handle);
/*
 * Says whether the device key and the AK are there and cml's (made or
 * found at start): 0, or answers the call with NoIdentity and returns -1.
 */
int tpm2d_identity_usable(struct call *call);
/* The hash the device key signs with: SHA-384 for P-384, else SHA-256. */
TPMI_ALG_HASH tpm2d_identity_hash(const TPMT_PUBLIC *pub);

/*
 * org.cml.TPM.IdentityPublic, CreateCSR, SignCheckpoint, SignDigest,
 * CreateIdentity, WipeIdentity, SignReport, SignReceipt (identity.c) and
 * Quote (attest.c).
 */
void tpm2d_cmd_identity_public(struct call *call);
void tpm2d_cmd_create_csr(struct call *call);
void tpm2d_cmd_sign_checkpoint(struct call *call);
void tpm2d_cmd_sign_digest(struct call *call);
void tpm2d_cmd_create_identity(struct call *call);
void tpm2d_cmd_wipe_identity(struct call *call);
void tpm2d_cmd_sign_report(struct call *call);
void tpm2d_cmd_sign_receipt(struct call *call);
void tpm2d_cmd_quote(struct call *call);

#endif
