/*
 * The audit trail's hash chain (auditchain.c): how a record and a
 * checkpoint are hashed, how a checkpoint's signature by the device key
 * is checked, and a verifier fed a trail in seq order, as cmld's `audit
 * verify` and cml-audit-verify read it.  cmld, tpm2d and the verifier must
 * hash the same bytes, so the encodings below are the definition.
 *
 * A record's hash covers the previous record's hash, so editing, deleting
 * or reordering a record breaks the chain from there on; a checkpoint is
 * the chain's head at one record, signed with the TPM-held device key, so
 * that a trail rewritten as a whole fails at its checkpoints.
 */
#ifndef CML_CRYPTO_AUDITCHAIN_H
#define CML_CRYPTO_AUDITCHAIN_H

#include <stddef.h>

#include <openssl/evp.h>

#define AUDITCHAIN_HASH_LEN 32

/* One record, as the trail stores it. */
struct auditchain_rec {
	long long seq, time_ms, uid, pid;
	/* NULL means "" */
	const char *type, *comm, *container, *object, *result, *details;
};

/*
 * out = SHA-256("cml-audit-record-v1" NUL || prev[32] || be64(seq) ||
 *   be64(time_ms) || be64(uid) || be64(pid) || str(type) || str(comm) ||
 *   str(container) || str(object) || str(result) || str(details)),
 * where str(s) = be32(strlen(s)) || s, integers as two's complement.
 * The first record of a trail (seq 1) has prev = 32 zero bytes.
 */
void auditchain_record_hash(const unsigned char prev[AUDITCHAIN_HASH_LEN],
    const struct auditchain_rec *r, unsigned char out[AUDITCHAIN_HASH_LEN]);

/*
 * out = SHA-256("cml-audit-checkpoint-v1" NUL || be64(seq) ||
 *   be64(time_ms) || head[32]): what the device key signs for the
 * checkpoint of record seq whose hash is head.
 */
void auditchain_checkpoint_digest(long long seq, long long time_ms,
    const unsigned char head[AUDITCHAIN_HASH_LEN],
    unsigned char out[AUDITCHAIN_HASH_LEN]);

/*
 * Checks a checkpoint's signature: 0 when sig (DER ECDSA-Sig-Value)
 * verifies with key (an EC public key) over auditchain_checkpoint_digest;
 * -1 with *cause saying why not.
 */
int auditchain_checkpoint_verify(EVP_PKEY *key, long long seq,
    long long time_ms, const unsigned char head[AUDITCHAIN_HASH_LEN],
    const unsigned char *sig, size_t siglen, char **cause);

/*
 * A verifier fed in seq order: records, and each checkpoint after the
 * record it covers (a checkpoint of seq S covers the chain up to and
 * including record S; head = hash of record S).  key NULL: checkpoints are
 * checked against the chain but their signatures are not (the summary
 * says so).  anchor: a trail whose oldest records were dropped starts with
 * the checkpoint at the seq just before its first record: feed it first;
 * its signature must verify and the next record's prev must equal its
 * head.  Each feed returns 0, or -1 with *cause naming the first broken
 * item and what is wrong ("record #17: its hash does not match its
 * contents", "record #18: prev is not the hash of record #17", "record
 * #20 follows #18: record #19 is missing or out of order", "checkpoint
 * #100: its signature does not verify with the device key", ...).  After
 * -1 the verifier stays failed.
 */
struct auditchain_verify;

/* Returns a verifier (it takes a reference to key, which may be NULL). */
struct auditchain_verify *auditchain_verify_new(EVP_PKEY *key);
/* Feeds a record with the prev and hash the trail gives it. */
int auditchain_verify_record(struct auditchain_verify *v,
    const struct auditchain_rec *r,
    const unsigned char prev[AUDITCHAIN_HASH_LEN],
    const unsigned char hash[AUDITCHAIN_HASH_LEN], char **cause);
/* Feeds a checkpoint (or, first of all, the anchor). */
int auditchain_verify_checkpoint(struct auditchain_verify *v, long long seq,
    long long time_ms, const unsigned char head[AUDITCHAIN_HASH_LEN],
    const unsigned char *sig, size_t siglen, char **cause);

/* What a verifier has verified so far. */
struct auditchain_summary {
	long long records, first_seq, last_seq; /* records verified; 0 when none */
	long long checkpoints, last_checkpoint_seq; /* checkpoints verified */
	/* > 0: the chain starts at a checkpoint after a gap (dropped records) */
	long long anchor_seq;
	int signatures_checked; /* 0 when key was NULL */
	/* records after the last checkpoint (chained, not yet signed) */
	long long unsigned_tail;
};

/* Fills *s with what v verified (up to its first failure, if any). */
void auditchain_verify_summary(const struct auditchain_verify *v,
    struct auditchain_summary *s);
/* Frees a verifier; NULL does nothing. */
void auditchain_verify_free(struct auditchain_verify *v);

#endif
