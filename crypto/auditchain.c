/*
 * The audit trail's hash chain: the record and checkpoint encodings of
 * auditchain.h, the checkpoint signature check, and the verifier that
 * walks a trail in seq order and stops at the first broken item, naming
 * it.  The encodings are fixed-width integers and length-prefixed strings,
 * so no two different records hash the same bytes.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "auditchain.h"
#include "crypto.h"
#include "xmalloc.h"

/* The domain separators, each hashed with its NUL. */
#define AUDITCHAIN_RECORD_TAG "cml-audit-record-v1"
#define AUDITCHAIN_CHECKPOINT_TAG "cml-audit-checkpoint-v1"

/* The most bytes of a DER ECDSA-Sig-Value (P-521 and some room). */
#define AUDITCHAIN_SIG_MAX 256

struct auditchain_verify {
	EVP_PKEY *key; /* NULL: signatures are not checked */
	int failed;
	int started; /* a record or the anchor was fed */
	long long last_seq; /* the last record's seq (the anchor's at first) */
	unsigned char head[AUDITCHAIN_HASH_LEN]; /* the last record's hash */
	long long records, first_seq;
	long long checkpoints, last_checkpoint_seq;
	long long anchor_seq;
};

static int
auditchain_fail(struct auditchain_verify *v, char **cause, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/* Marks v failed and sets *cause; returns -1. */
static int
auditchain_fail(struct auditchain_verify *v, char **cause, const char *fmt,
    ...)
{
	va_list ap;

	if (v != NULL)
		v->failed = 1;
	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		*cause = xstrdup("out of memory");
	va_end(ap);
	return -1;
}

/* Adds a 64-bit integer, big-endian, two's complement. */
static void
auditchain_be64(struct crypto_hash *h, long long v)
{
	uint64_t u = (uint64_t)v;
	unsigned char b[8];
	int i;

	for (i = 7; i >= 0; i--) {
		b[i] = (unsigned char)(u & 0xff);
		u >>= 8;
	}
	crypto_hash_update(h, b, sizeof b);
}

/* Adds a string as its length (be32) and its bytes; NULL is "". */
static void
auditchain_str(struct crypto_hash *h, const char *s)
{
	size_t len = s != NULL ? strlen(s) : 0;
	unsigned char b[4];

	/* Records are bounded far below 4 GiB: cmld cuts every field. */
	if (len > UINT32_MAX)
		len = UINT32_MAX;
	b[0] = (unsigned char)(len >> 24);
	b[1] = (unsigned char)(len >> 16);
	b[2] = (unsigned char)(len >> 8);
	b[3] = (unsigned char)len;
	crypto_hash_update(h, b, sizeof b);
	if (len > 0)
		crypto_hash_update(h, s, len);
}

void
auditchain_record_hash(const unsigned char prev[AUDITCHAIN_HASH_LEN],
    const struct auditchain_rec *r, unsigned char out[AUDITCHAIN_HASH_LEN])
{
	struct crypto_hash *h = crypto_sha256_new();

	crypto_hash_update(h, AUDITCHAIN_RECORD_TAG,
	    sizeof AUDITCHAIN_RECORD_TAG);
	crypto_hash_update(h, prev, AUDITCHAIN_HASH_LEN);
	auditchain_be64(h, r->seq);
	auditchain_be64(h, r->time_ms);
	auditchain_be64(h, r->uid);
	auditchain_be64(h, r->pid);
	auditchain_str(h, r->type);
	auditchain_str(h, r->comm);
	auditchain_str(h, r->container);
	auditchain_str(h, r->object);
	auditchain_str(h, r->result);
	auditchain_str(h, r->details);
	crypto_hash_final(h, out);
}

void
auditchain_checkpoint_digest(long long seq, long long time_ms,
    const unsigned char head[AUDITCHAIN_HASH_LEN],
    unsigned char out[AUDITCHAIN_HASH_LEN])
{
	struct crypto_hash *h = crypto_sha256_new();

	crypto_hash_update(h, AUDITCHAIN_CHECKPOINT_TAG,
	    sizeof AUDITCHAIN_CHECKPOINT_TAG);
	auditchain_be64(h, seq);
	auditchain_be64(h, time_ms);
	crypto_hash_update(h, head, AUDITCHAIN_HASH_LEN);
	crypto_hash_final(h, out);
}

int
auditchain_checkpoint_verify(EVP_PKEY *key, long long seq,
    long long time_ms, const unsigned char head[AUDITCHAIN_HASH_LEN],
    const unsigned char *sig, size_t siglen, char **cause)
{
	unsigned char digest[AUDITCHAIN_HASH_LEN];
	EVP_PKEY_CTX *ctx;
	int ok;

	if (key == NULL || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
		return auditchain_fail(NULL, cause, "the device key is no EC "
		    "key");
	if (siglen == 0 || siglen > AUDITCHAIN_SIG_MAX)
		return auditchain_fail(NULL, cause, "a signature of %zu bytes "
		    "is no ECDSA signature", siglen);
	auditchain_checkpoint_digest(seq, time_ms, head, digest);
	/* ECDSA over the digest itself: no digest is set on the context. */
	if ((ctx = EVP_PKEY_CTX_new(key, NULL)) == NULL ||
	    EVP_PKEY_verify_init(ctx) != 1) {
		EVP_PKEY_CTX_free(ctx);
		free(crypto_openssl_error());
		return auditchain_fail(NULL, cause, "cannot check a signature "
		    "with the device key");
	}
	ok = EVP_PKEY_verify(ctx, sig, siglen, digest, sizeof digest);
	EVP_PKEY_CTX_free(ctx);
	free(crypto_openssl_error());
	if (ok != 1)
		return auditchain_fail(NULL, cause, "its signature does not "
		    "verify with the device key");
	return 0;
}

struct auditchain_verify *
auditchain_verify_new(EVP_PKEY *key)
{
	struct auditchain_verify *v = xcalloc(1, sizeof *v);

	if (key != NULL && EVP_PKEY_up_ref(key) == 1)
		v->key = key;
	else if (key != NULL) {
		/* A key that cannot be held makes every signature fail. */
		v->failed = 1;
	}
	return v;
}

/* Names the records from to to: "record #5 is", "records #5 to #7 are". */
static void
auditchain_missing(long long from, long long to, char *buf, size_t size)
{
	if (from == to)
		snprintf(buf, size, "record #%lld is", from);
	else
		snprintf(buf, size, "records #%lld to #%lld are", from, to);
}

/* Says that v failed before; returns -1. */
static int
auditchain_failed(char **cause)
{
	*cause = xstrdup("the trail is broken at an earlier item");
	return -1;
}

int
auditchain_verify_record(struct auditchain_verify *v,
    const struct auditchain_rec *r,
    const unsigned char prev[AUDITCHAIN_HASH_LEN],
    const unsigned char hash[AUDITCHAIN_HASH_LEN], char **cause)
{
	static const unsigned char zero[AUDITCHAIN_HASH_LEN];
	unsigned char want[AUDITCHAIN_HASH_LEN];
	long long s = r->seq;
	char gap[80];

	if (v->failed)
		return auditchain_failed(cause);
	if (s < 1)
		return auditchain_fail(v, cause, "record #%lld: seq must be 1 "
		    "or more", s);
	if (!v->started && s != 1) {
		auditchain_missing(1, s - 1, gap, sizeof gap);
		return auditchain_fail(v, cause, "record #%lld: the trail "
		    "starts after dropped records but without the signed "
		    "checkpoint #%lld before them: %s missing", s, s - 1, gap);
	}
	if (v->started && s > v->last_seq + 1) {
		auditchain_missing(v->last_seq + 1, s - 1, gap, sizeof gap);
		return auditchain_fail(v, cause, "record #%lld follows #%lld: "
		    "%s missing or out of order", s, v->last_seq, gap);
	}
	if (v->started && s <= v->last_seq)
		return auditchain_fail(v, cause, "record #%lld follows #%lld: "
		    "records are out of order or repeated", s, v->last_seq);
	auditchain_record_hash(prev, r, want);
	if (memcmp(want, hash, sizeof want) != 0)
		return auditchain_fail(v, cause, "record #%lld: its hash does "
		    "not match its contents", s);
	if (!v->started && memcmp(prev, zero, sizeof zero) != 0)
		return auditchain_fail(v, cause, "record #1: prev is not 32 "
		    "zero bytes, as the first record's must be");
	if (v->started && memcmp(prev, v->head, sizeof v->head) != 0) {
		if (v->records == 0)
			return auditchain_fail(v, cause, "record #%lld: prev is "
			    "not the head of checkpoint #%lld, which the trail "
			    "starts from", s, v->anchor_seq);
		return auditchain_fail(v, cause, "record #%lld: prev is not "
		    "the hash of record #%lld", s, v->last_seq);
	}
	if (v->records == 0)
		v->first_seq = s;
	v->records++;
	v->started = 1;
	v->last_seq = s;
	memcpy(v->head, hash, sizeof v->head);
	return 0;
}

int
auditchain_verify_checkpoint(struct auditchain_verify *v, long long seq,
    long long time_ms, const unsigned char head[AUDITCHAIN_HASH_LEN],
    const unsigned char *sig, size_t siglen, char **cause)
{
	char *why = NULL;
	int anchor;

	if (v->failed)
		return auditchain_failed(cause);
	if (seq < 1)
		return auditchain_fail(v, cause, "checkpoint #%lld: seq must "
		    "be 1 or more", seq);
	anchor = !v->started;
	if (!anchor && seq == v->last_checkpoint_seq && v->checkpoints > 0)
		return auditchain_fail(v, cause, "checkpoint #%lld appears "
		    "twice", seq);
	if (!anchor && seq > v->last_seq)
		return auditchain_fail(v, cause, "checkpoint #%lld follows "
		    "record #%lld: it must come right after record #%lld", seq,
		    v->last_seq, seq);
	if (!anchor && seq < v->last_seq)
		return auditchain_fail(v, cause, "checkpoint #%lld follows "
		    "record #%lld: it is out of order", seq, v->last_seq);
	if (!anchor && memcmp(head, v->head, sizeof v->head) != 0)
		return auditchain_fail(v, cause, "checkpoint #%lld: its head "
		    "is not the hash of record #%lld", seq, seq);
	if (v->key != NULL && auditchain_checkpoint_verify(v->key, seq,
	    time_ms, head, sig, siglen, &why) == -1) {
		auditchain_fail(v, cause, "checkpoint #%lld: %s", seq, why);
		free(why);
		return -1;
	}
	if (anchor) {
		v->anchor_seq = seq;
		v->last_seq = seq;
		memcpy(v->head, head, sizeof v->head);
		v->started = 1;
	}
	v->checkpoints++;
	v->last_checkpoint_seq = seq;
	return 0;
}

void
auditchain_verify_summary(const struct auditchain_verify *v,
    struct auditchain_summary *s)
{
	memset(s, 0, sizeof *s);
	s->records = v->records;
	if (v->records > 0) {
		s->first_seq = v->first_seq;
		s->last_seq = v->last_seq;
	}
	s->checkpoints = v->checkpoints;
	s->last_checkpoint_seq = v->last_checkpoint_seq;
	s->anchor_seq = v->anchor_seq;
	s->signatures_checked = v->key != NULL;
	if (v->records > 0 && v->last_seq > v->last_checkpoint_seq)
		s->unsigned_tail = v->last_checkpoint_seq >= v->first_seq ?
		    v->last_seq - v->last_checkpoint_seq : v->records;
}

void
auditchain_verify_free(struct auditchain_verify *v)
{
	if (v == NULL)
		return;
	EVP_PKEY_free(v->key);
	free(v);
}
