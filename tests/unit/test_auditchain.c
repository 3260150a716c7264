/*
 * Unit tests of the audit trail's hash chain (crypto/auditchain.c): the
 * record and checkpoint encodings against known answers and against the
 * byte layout of the spec built here independently; a good trail with
 * signed checkpoints verifies with the figures counted; each way a trail
 * can be broken is named (a field edited, a record deleted, two records
 * reordered, a prev that does not link, a checkpoint head that is not the
 * chain's, a checkpoint signed by another key, a trail after dropped
 * records without its anchor or with a wrong one); without a key the
 * chain is still checked; a failed verifier stays failed.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/evp.h>

#include "auditchain.h"
#include "crypto.h"

/* The records of the test trail, a checkpoint after every CP_EVERY. */
#define NRECS 12
#define CP_EVERY 4
#define NITEMS (NRECS + NRECS / CP_EVERY)

/* One line of a trail: a record or a checkpoint. */
struct item {
	int is_cp;
	struct auditchain_rec r;
	unsigned char prev[AUDITCHAIN_HASH_LEN], hash[AUDITCHAIN_HASH_LEN];
	long long seq, time_ms; /* of a checkpoint */
	unsigned char head[AUDITCHAIN_HASH_LEN];
	unsigned char sig[256];
	size_t siglen;
};

struct trail {
	struct item items[NITEMS];
	size_t n;
};

struct keys {
	EVP_PKEY *dev, *other;
};

static const char *types[] = { "container", "token", "audit", "config" };

/* Makes an EC P-256 key. */
static EVP_PKEY *
keygen(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	assert_non_null(k);
	return k;
}

static int
k_setup(void **state)
{
	struct keys *k = calloc(1, sizeof *k);

	if (k == NULL)
		return -1;
	k->dev = keygen();
	k->other = keygen();
	*state = k;
	return 0;
}

static int
k_teardown(void **state)
{
	struct keys *k = *state;

	EVP_PKEY_free(k->dev);
	EVP_PKEY_free(k->other);
	free(k);
	return 0;
}

/* Signs a checkpoint's digest with key as tpm2d does (DER ECDSA). */
static void
sign_cp(EVP_PKEY *key, struct item *it)
{
	unsigned char d[AUDITCHAIN_HASH_LEN];
	EVP_PKEY_CTX *ctx;

	auditchain_checkpoint_digest(it->seq, it->time_ms, it->head, d);
	ctx = EVP_PKEY_CTX_new(key, NULL);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_sign_init(ctx), 1);
	it->siglen = sizeof it->sig;
	assert_int_equal(EVP_PKEY_sign(ctx, it->sig, &it->siglen, d,
	    sizeof d), 1);
	EVP_PKEY_CTX_free(ctx);
}

/* Recomputes a record's hash from its prev and contents. */
static void
rehash(struct item *it)
{
	auditchain_record_hash(it->prev, &it->r, it->hash);
}

/* Builds a good trail of NRECS records, checkpoints signed by key. */
static void
make_trail(struct trail *t, EVP_PKEY *key)
{
	unsigned char prev[AUDITCHAIN_HASH_LEN];
	struct item *it;
	int i;

	memset(t, 0, sizeof *t);
	memset(prev, 0, sizeof prev);
	for (i = 1; i <= NRECS; i++) {
		it = &t->items[t->n++];
		it->r.seq = i;
		it->r.time_ms = 1767225600000LL + i;
		it->r.uid = i % 2 == 0 ? 0 : 1000;
		it->r.pid = 100 + i;
		it->r.type = types[i % 4];
		it->r.comm = i % 3 == 0 ? NULL : "cmlsh";
		it->r.container = i % 2 == 0 ? "web" : "";
		it->r.object = "thing";
		it->r.result = "ok";
		it->r.details = i == 5 ? "details of five" : "details";
		memcpy(it->prev, prev, sizeof prev);
		rehash(it);
		memcpy(prev, it->hash, sizeof prev);
		if (i % CP_EVERY == 0) {
			it = &t->items[t->n++];
			it->is_cp = 1;
			it->seq = i;
			it->time_ms = 1767225600500LL + i;
			memcpy(it->head, prev, sizeof prev);
			sign_cp(key, it);
		}
	}
}

/* Returns the index of record seq, or of its checkpoint. */
static size_t
find(const struct trail *t, long long seq, int is_cp)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (t->items[i].is_cp == is_cp &&
		    (is_cp ? t->items[i].seq : t->items[i].r.seq) == seq)
			return i;
	}
	fail_msg("no item %lld", seq);
	return 0;
}

/* Removes the items [from, to) from the trail. */
static void
drop(struct trail *t, size_t from, size_t to)
{
	memmove(&t->items[from], &t->items[to],
	    (t->n - to) * sizeof t->items[0]);
	t->n -= to - from;
}

/*
 * Feeds the trail from item start to a verifier with key; returns NULL
 * when all of it verified, else the first cause (free it).  Fills *s.
 */
static char *
run(const struct trail *t, size_t start, EVP_PKEY *key,
    struct auditchain_summary *s)
{
	struct auditchain_verify *v = auditchain_verify_new(key);
	const struct item *it;
	char *cause = NULL;
	size_t i;
	int rc;

	for (i = start; i < t->n; i++) {
		it = &t->items[i];
		if (it->is_cp)
			rc = auditchain_verify_checkpoint(v, it->seq,
			    it->time_ms, it->head, it->sig, it->siglen, &cause);
		else
			rc = auditchain_verify_record(v, &it->r, it->prev,
			    it->hash, &cause);
		if (rc == -1) {
			assert_non_null(cause);
			break;
		}
		assert_null(cause);
	}
	auditchain_verify_summary(v, s);
	auditchain_verify_free(v);
	return cause;
}

/* Expects the trail to fail with exactly this message. */
static void
expect_broken(const struct trail *t, size_t start, EVP_PKEY *key,
    const char *want)
{
	struct auditchain_summary s;
	char *cause = run(t, start, key, &s);

	assert_non_null(cause);
	assert_string_equal(cause, want);
	free(cause);
}

/* Writes the spec's str(s) at p; returns the bytes written. */
static size_t
put_str(unsigned char *p, const char *s)
{
	size_t n = strlen(s);

	p[0] = (unsigned char)(n >> 24);
	p[1] = (unsigned char)(n >> 16);
	p[2] = (unsigned char)(n >> 8);
	p[3] = (unsigned char)n;
	memcpy(p + 4, s, n);
	return 4 + n;
}

/* Writes a big-endian 64-bit two's complement integer at p. */
static size_t
put_be64(unsigned char *p, long long v)
{
	uint64_t u = (uint64_t)v;
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(u & 0xff);
		u >>= 8;
	}
	return 8;
}

/* Returns hex of a hash in a static buffer. */
static const char *
hex(const unsigned char *h)
{
	static char buf[2 * AUDITCHAIN_HASH_LEN + 1];

	crypto_hex(h, AUDITCHAIN_HASH_LEN, buf);
	return buf;
}

/*
 * A record's hash: a known answer (computed with Python's hashlib from
 * the spec), and the spec's byte layout built here, hashed on its own.
 * Proves: CR 3.9 (records are hashed exactly as the spec lays them
 * out, so that verifiers off the device agree).
 */
static void
test_record_hash_known_answer(void **state)
{
	struct auditchain_rec r = { .seq = 17, .time_ms = 1767225600123LL,
		.uid = -1, .pid = 4242, .type = "token", .comm = "cmlsh",
		.container = "web", .object = "token 'a'", .result = "ok",
		.details = "PIN verified: Ger\xc3\xa4t" };
	struct auditchain_rec empty = { .seq = 1 };
	unsigned char prev[AUDITCHAIN_HASH_LEN], out[AUDITCHAIN_HASH_LEN],
	    want[AUDITCHAIN_HASH_LEN], buf[512], zero[AUDITCHAIN_HASH_LEN];
	unsigned int wlen;
	size_t n = 0;
	int i;

	(void)state;
	for (i = 0; i < AUDITCHAIN_HASH_LEN; i++)
		prev[i] = (unsigned char)i;
	auditchain_record_hash(prev, &r, out);
	assert_string_equal(hex(out),
	    "d9d7f4f361d4ae267eacfa4f32497ed8ae44633e177650c59ecb60ecf669d879");

	memcpy(buf, "cml-audit-record-v1", 20); /* with its NUL */
	n = 20;
	memcpy(buf + n, prev, sizeof prev);
	n += sizeof prev;
	n += put_be64(buf + n, r.seq);
	n += put_be64(buf + n, r.time_ms);
	n += put_be64(buf + n, r.uid);
	n += put_be64(buf + n, r.pid);
	n += put_str(buf + n, r.type);
	n += put_str(buf + n, r.comm);
	n += put_str(buf + n, r.container);
	n += put_str(buf + n, r.object);
	n += put_str(buf + n, r.result);
	n += put_str(buf + n, r.details);
	assert_int_equal(EVP_Digest(buf, n, want, &wlen, EVP_sha256(), NULL),
	    1);
	assert_memory_equal(out, want, sizeof want);

	/* NULL strings hash as "", the first record's prev is zero. */
	memset(zero, 0, sizeof zero);
	auditchain_record_hash(zero, &empty, out);
	assert_string_equal(hex(out),
	    "e2ac2339197adda05f6e562878192e32897f0cf37e1470c8d633c746d3a4d588");
	empty.type = empty.comm = empty.container = "";
	empty.object = empty.result = empty.details = "";
	auditchain_record_hash(zero, &empty, want);
	assert_memory_equal(out, want, sizeof want);

	/* The length prefix keeps field boundaries: "ab"+"" != "a"+"b". */
	r.object = "ab";
	r.result = "";
	auditchain_record_hash(prev, &r, out);
	r.object = "a";
	r.result = "b";
	auditchain_record_hash(prev, &r, want);
	assert_memory_not_equal(out, want, sizeof want);
}

/*
 * A checkpoint's digest: a known answer and the spec's layout.
 * Proves: CR 3.9 (a checkpoint digest is exactly the spec's).
 */
static void
test_checkpoint_digest_known_answer(void **state)
{
	unsigned char head[AUDITCHAIN_HASH_LEN], out[AUDITCHAIN_HASH_LEN],
	    want[AUDITCHAIN_HASH_LEN], buf[128];
	unsigned int wlen;
	size_t n;

	(void)state;
	memset(head, 0xab, sizeof head);
	auditchain_checkpoint_digest(100, 1767225600999LL, head, out);
	assert_string_equal(hex(out),
	    "0a810e1939482351a89dbdcfc7aa1f7a7c7cde2b291644addc62fe2a4ffa65c3");
	memcpy(buf, "cml-audit-checkpoint-v1", 24);
	n = 24;
	n += put_be64(buf + n, 100);
	n += put_be64(buf + n, 1767225600999LL);
	memcpy(buf + n, head, sizeof head);
	n += sizeof head;
	assert_int_equal(EVP_Digest(buf, n, want, &wlen, EVP_sha256(), NULL),
	    1);
	assert_memory_equal(out, want, sizeof want);
}

/*
 * A good trail verifies, with the figures counted.
 * Proves: CR 3.9 (a good trail verifies, with its figures).
 */
static void
test_verify_good_trail_counts(void **state)
{
	struct keys *k = *state;
	struct auditchain_summary s;
	struct trail t;

	make_trail(&t, k->dev);
	assert_null(run(&t, 0, k->dev, &s));
	assert_int_equal(s.records, NRECS);
	assert_int_equal(s.first_seq, 1);
	assert_int_equal(s.last_seq, NRECS);
	assert_int_equal(s.checkpoints, NRECS / CP_EVERY);
	assert_int_equal(s.last_checkpoint_seq, NRECS);
	assert_int_equal(s.anchor_seq, 0);
	assert_int_equal(s.signatures_checked, 1);
	assert_int_equal(s.unsigned_tail, 0);

	/* Without its last checkpoint, the tail is chained, not signed. */
	t.n--;
	assert_null(run(&t, 0, k->dev, &s));
	assert_int_equal(s.checkpoints, NRECS / CP_EVERY - 1);
	assert_int_equal(s.last_checkpoint_seq, NRECS - CP_EVERY);
	assert_int_equal(s.unsigned_tail, CP_EVERY);

	/* A checkpoint's signature with key verifies on its own. */
	make_trail(&t, k->dev);
	{
		struct item *cp = &t.items[find(&t, 8, 1)];
		char *cause = NULL;

		assert_int_equal(auditchain_checkpoint_verify(k->dev, cp->seq,
		    cp->time_ms, cp->head, cp->sig, cp->siglen, &cause), 0);
		assert_int_equal(auditchain_checkpoint_verify(k->dev, cp->seq,
		    cp->time_ms + 1, cp->head, cp->sig, cp->siglen, &cause),
		    -1);
		assert_string_equal(cause, "its signature does not verify "
		    "with the device key");
		free(cause);
	}
}

/*
 * A field edited: that record's hash no longer matches.
 * Proves: CR 3.9 (an edited record is found and named).
 */
static void
test_verify_edited_field_named(void **state)
{
	struct keys *k = *state;
	struct trail t;

	make_trail(&t, k->dev);
	t.items[find(&t, 5, 0)].r.details = "details of five, edited";
	expect_broken(&t, 0, k->dev,
	    "record #5: its hash does not match its contents");
	make_trail(&t, k->dev);
	t.items[find(&t, 6, 0)].r.uid = 12345;
	expect_broken(&t, 0, k->dev,
	    "record #6: its hash does not match its contents");
	/* Its hash recomputed too: the next record's prev does not link. */
	make_trail(&t, k->dev);
	t.items[find(&t, 6, 0)].r.result = "failed";
	rehash(&t.items[find(&t, 6, 0)]);
	expect_broken(&t, 0, k->dev,
	    "record #7: prev is not the hash of record #6");
}

/*
 * A record deleted: the gap is named.
 * Proves: CR 3.9 (a deleted record is found and named).
 */
static void
test_verify_deleted_record_named(void **state)
{
	struct keys *k = *state;
	struct trail t;
	size_t i;

	make_trail(&t, k->dev);
	i = find(&t, 6, 0);
	drop(&t, i, i + 1);
	expect_broken(&t, 0, k->dev,
	    "record #7 follows #5: record #6 is missing or out of order");
	make_trail(&t, k->dev);
	i = find(&t, 6, 0);
	drop(&t, i, find(&t, 9, 0));
	expect_broken(&t, 0, k->dev, "record #9 follows #5: records #6 to "
	    "#8 are missing or out of order");
	/* The first record deleted, with no anchor. */
	make_trail(&t, k->dev);
	drop(&t, 0, 1);
	expect_broken(&t, 0, k->dev, "record #2: the trail starts after "
	    "dropped records but without the signed checkpoint #1 before "
	    "them: record #1 is missing");
	/* Deleted and renumbered: the hash of the renumbered one fails. */
	make_trail(&t, k->dev);
	i = find(&t, 6, 0);
	drop(&t, i, i + 1);
	t.items[i].r.seq = 6;
	expect_broken(&t, 0, k->dev,
	    "record #6: its hash does not match its contents");
}

/*
 * Two records swapped: named where the order breaks.
 * Proves: CR 3.9 (reordered records are found and named).
 */
static void
test_verify_reordered_records_named(void **state)
{
	struct keys *k = *state;
	struct trail t;
	struct item tmp;
	size_t a, b;

	make_trail(&t, k->dev);
	a = find(&t, 6, 0);
	b = find(&t, 7, 0);
	tmp = t.items[a];
	t.items[a] = t.items[b];
	t.items[b] = tmp;
	expect_broken(&t, 0, k->dev,
	    "record #7 follows #5: record #6 is missing or out of order");
	/* Swapped with their seqs swapped too: the hash fails. */
	t.items[a].r.seq = 6;
	t.items[b].r.seq = 7;
	expect_broken(&t, 0, k->dev,
	    "record #6: its hash does not match its contents");
	/* A record repeated. */
	make_trail(&t, k->dev);
	t.items[find(&t, 7, 0)] = t.items[find(&t, 6, 0)];
	expect_broken(&t, 0, k->dev,
	    "record #6 follows #6: records are out of order or repeated");
}

/*
 * A prev that is not the previous hash (the record itself consistent).
 * Proves: CR 3.9 (a broken link is named).
 */
static void
test_verify_prev_mismatch_named(void **state)
{
	struct keys *k = *state;
	struct trail t;
	struct item *it;

	make_trail(&t, k->dev);
	it = &t.items[find(&t, 3, 0)];
	it->prev[0] ^= 1;
	rehash(it);
	expect_broken(&t, 0, k->dev,
	    "record #3: prev is not the hash of record #2");
	make_trail(&t, k->dev);
	it = &t.items[0];
	it->prev[31] = 1;
	rehash(it);
	expect_broken(&t, 0, k->dev, "record #1: prev is not 32 zero bytes, "
	    "as the first record's must be");
	/* prev changed without the hash: the contents do not match. */
	make_trail(&t, k->dev);
	t.items[find(&t, 3, 0)].prev[0] ^= 1;
	expect_broken(&t, 0, k->dev,
	    "record #3: its hash does not match its contents");
}

/*
 * A checkpoint whose head is not the chain's, or out of place.
 * Proves: CR 3.9 (a rewritten chain fails at its checkpoint).
 */
static void
test_verify_checkpoint_head_mismatch_named(void **state)
{
	struct keys *k = *state;
	struct trail t;
	struct item *cp, tmp;
	size_t i;

	make_trail(&t, k->dev);
	cp = &t.items[find(&t, 8, 1)];
	cp->head[5] ^= 0x40;
	sign_cp(k->dev, cp);
	expect_broken(&t, 0, k->dev,
	    "checkpoint #8: its head is not the hash of record #8");
	/* The head edited after signing: the head is caught first. */
	make_trail(&t, k->dev);
	t.items[find(&t, 8, 1)].head[0] ^= 1;
	expect_broken(&t, 0, k->dev,
	    "checkpoint #8: its head is not the hash of record #8");
	/* The whole chain rewritten from record 6 on: checkpoint 8 fails. */
	make_trail(&t, k->dev);
	t.items[find(&t, 6, 0)].r.details = "rewritten";
	for (i = find(&t, 6, 0); i < find(&t, 8, 1); i++) {
		if (i > 0)
			memcpy(t.items[i].prev, t.items[i - 1].hash,
			    AUDITCHAIN_HASH_LEN);
		rehash(&t.items[i]);
	}
	expect_broken(&t, 0, k->dev,
	    "checkpoint #8: its head is not the hash of record #8");
	/* A checkpoint moved before the record it covers. */
	make_trail(&t, k->dev);
	i = find(&t, 8, 1);
	tmp = t.items[i];
	t.items[i] = t.items[i - 1];
	t.items[i - 1] = tmp;
	expect_broken(&t, 0, k->dev, "checkpoint #8 follows record #7: it "
	    "must come right after record #8");
	/* Or after a later one. */
	make_trail(&t, k->dev);
	i = find(&t, 8, 1);
	tmp = t.items[i];
	t.items[i] = t.items[i + 1];
	t.items[i + 1] = tmp;
	expect_broken(&t, 0, k->dev,
	    "checkpoint #8 follows record #9: it is out of order");
	/* Given twice. */
	make_trail(&t, k->dev);
	i = find(&t, 8, 1);
	memmove(&t.items[i + 1], &t.items[i],
	    (t.n - i - 1) * sizeof t.items[0]);
	expect_broken(&t, 0, k->dev, "checkpoint #8 appears twice");
}

/*
 * A checkpoint signed by another key, or not signed, is rejected.
 * Proves: CR 3.9 (a checkpoint signed by another key is rejected).
 */
static void
test_verify_other_key_rejected(void **state)
{
	struct keys *k = *state;
	struct trail t;
	struct item *cp;

	make_trail(&t, k->dev);
	sign_cp(k->other, &t.items[find(&t, 8, 1)]);
	expect_broken(&t, 0, k->dev, "checkpoint #8: its signature does not "
	    "verify with the device key");
	/* The whole trail signed by another key fails at its first. */
	make_trail(&t, k->other);
	expect_broken(&t, 0, k->dev, "checkpoint #4: its signature does not "
	    "verify with the device key");
	make_trail(&t, k->dev);
	cp = &t.items[find(&t, 4, 1)];
	cp->siglen = 0;
	expect_broken(&t, 0, k->dev, "checkpoint #4: a signature of 0 bytes "
	    "is no ECDSA signature");
	make_trail(&t, k->dev);
	cp = &t.items[find(&t, 4, 1)];
	cp->sig[cp->siglen - 1] ^= 1;
	expect_broken(&t, 0, k->dev, "checkpoint #4: its signature does not "
	    "verify with the device key");
}

/*
 * A trail after dropped records starts from its signed anchor.
 * Proves: CR 2.9, CR 3.9 (after dropped records the trail verifies
 * from its signed anchor, and only from it).
 */
static void
test_verify_anchor_after_gap(void **state)
{
	struct keys *k = *state;
	struct auditchain_summary s;
	struct trail t;
	struct item *cp;
	size_t start;

	make_trail(&t, k->dev);
	start = find(&t, 4, 1);
	assert_null(run(&t, start, k->dev, &s));
	assert_int_equal(s.anchor_seq, 4);
	assert_int_equal(s.records, NRECS - 4);
	assert_int_equal(s.first_seq, 5);
	assert_int_equal(s.last_seq, NRECS);
	assert_int_equal(s.checkpoints, NRECS / CP_EVERY);
	assert_int_equal(s.unsigned_tail, 0);
	/* Only the anchor and the records after it, unsigned. */
	t.n = find(&t, 8, 1);
	assert_null(run(&t, start, k->dev, &s));
	assert_int_equal(s.checkpoints, 1);
	assert_int_equal(s.last_checkpoint_seq, 4);
	assert_int_equal(s.unsigned_tail, 4);

	/* An anchor signed by another key. */
	make_trail(&t, k->dev);
	sign_cp(k->other, &t.items[start]);
	expect_broken(&t, start, k->dev, "checkpoint #4: its signature does "
	    "not verify with the device key");
	/* An anchor whose head is not the next record's prev. */
	make_trail(&t, k->dev);
	cp = &t.items[start];
	cp->head[0] ^= 1;
	sign_cp(k->dev, cp);
	expect_broken(&t, start, k->dev, "record #5: prev is not the head of "
	    "checkpoint #4, which the trail starts from");
	/* An anchor not right before the first record. */
	make_trail(&t, k->dev);
	drop(&t, start + 1, start + 2);
	expect_broken(&t, start, k->dev, "record #6 follows #4: record #5 is "
	    "missing or out of order");
	/* No anchor. */
	make_trail(&t, k->dev);
	expect_broken(&t, start + 1, k->dev, "record #5: the trail starts "
	    "after dropped records but without the signed checkpoint #4 "
	    "before them: records #1 to #4 are missing");
}

/*
 * Without a key the chain is checked, signatures are not.
 * Proves: CR 3.9 (without the key the chain is still checked).
 */
static void
test_verify_null_key_checks_chain(void **state)
{
	struct keys *k = *state;
	struct auditchain_summary s;
	struct trail t;

	make_trail(&t, k->other);
	t.items[find(&t, 4, 1)].siglen = 0;
	assert_null(run(&t, 0, NULL, &s));
	assert_int_equal(s.signatures_checked, 0);
	assert_int_equal(s.records, NRECS);
	assert_int_equal(s.checkpoints, NRECS / CP_EVERY);
	t.items[find(&t, 8, 1)].head[0] ^= 1;
	expect_broken(&t, 0, NULL,
	    "checkpoint #8: its head is not the hash of record #8");
	make_trail(&t, k->dev);
	t.items[find(&t, 2, 0)].r.pid = 1;
	expect_broken(&t, 0, NULL,
	    "record #2: its hash does not match its contents");
}

/*
 * After a failure, every feed fails; the summary counts what verified.
 * Proves: CR 3.9 (a broken trail stays broken).
 */
static void
test_verify_stays_failed(void **state)
{
	struct keys *k = *state;
	struct auditchain_verify *v = auditchain_verify_new(k->dev);
	struct auditchain_summary s;
	struct trail t;
	char *cause = NULL;

	make_trail(&t, k->dev);
	assert_int_equal(auditchain_verify_record(v, &t.items[0].r,
	    t.items[0].prev, t.items[0].hash, &cause), 0);
	assert_int_equal(auditchain_verify_record(v, &t.items[2].r,
	    t.items[2].prev, t.items[2].hash, &cause), -1);
	free(cause);
	cause = NULL;
	assert_int_equal(auditchain_verify_record(v, &t.items[1].r,
	    t.items[1].prev, t.items[1].hash, &cause), -1);
	assert_string_equal(cause, "the trail is broken at an earlier item");
	free(cause);
	auditchain_verify_summary(v, &s);
	assert_int_equal(s.records, 1);
	assert_int_equal(s.last_seq, 1);
	auditchain_verify_free(v);
	auditchain_verify_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_hash_known_answer),
		cmocka_unit_test(test_checkpoint_digest_known_answer),
		cmocka_unit_test(test_verify_good_trail_counts),
		cmocka_unit_test(test_verify_edited_field_named),
		cmocka_unit_test(test_verify_deleted_record_named),
		cmocka_unit_test(test_verify_reordered_records_named),
		cmocka_unit_test(test_verify_prev_mismatch_named),
		cmocka_unit_test(test_verify_checkpoint_head_mismatch_named),
		cmocka_unit_test(test_verify_other_key_rejected),
		cmocka_unit_test(test_verify_anchor_after_gap),
		cmocka_unit_test(test_verify_null_key_checks_chain),
		cmocka_unit_test(test_verify_stays_failed),
	};

	return cmocka_run_group_tests(tests, k_setup, k_teardown);
}
