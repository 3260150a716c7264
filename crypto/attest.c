/*
 * Verifying a device's attestation: see attest.h for what is checked and
 * in which order.  The first check that fails ends the verification, and
 * its message says what did not match, with both values where there are
 * two.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <tss2/tss2_mu.h>

#include "attest.h"
#include "crypto.h"
#include "devcert.h"
#include "measurelog.h"
#include "tpmpub.h"
#include "utf8.h"
#include "x509.h"
#include "xmalloc.h"

/* The most base64 characters of one TPM structure. */
#define ATTEST_B64_MAX 8192
/* The most entries of a log, and bytes of a name in one. */
#define ATTEST_LOG_MAX 100000
#define ATTEST_NAME_MAX 256
/* The JSON nesting a reply has at most. */
#define ATTEST_DEPTH 8

/* The attributes an AK must have: a restricted key kept in its TPM. */
#define ATTEST_AK_ATTRS \
	(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | \
	TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_RESTRICTED | \
	TPMA_OBJECT_SIGN_ENCRYPT)

/* A reply's parts while they are checked. */
struct attest_ctx {
	struct json_object *root; /* the reply's parameters */
	const char *cert_pem; /* the device certificate; NULL: the root's */
	const struct crypto_attest_want *want;
	struct crypto_attest_result *result;
	EVP_PKEY *device_key;
	EVP_PKEY *ak_key;
	TPM2B_PUBLIC ak_public;
	TPMS_ATTEST quote;
	uint8_t quote_bytes[sizeof(TPMS_ATTEST)];
	size_t quote_len;
	TPMT_SIGNATURE quote_sig;
	uint8_t cinfo_bytes[sizeof(TPMS_ATTEST)];
	size_t cinfo_len;
	TPMS_ATTEST cinfo;
	TPMT_SIGNATURE cinfo_sig;
	/* the PCR values given, by index (sha256) */
	unsigned char pcr[24][CRYPTO_SHA256_LEN];
	int have_pcr[24];
};

static int
attest_fail(char **cause, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Sets *cause; returns -1. */
static int
attest_fail(char **cause, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		*cause = xstrdup("out of memory");
	va_end(ap);
	return -1;
}

int
crypto_attest_unhex(const char *hex, unsigned char *out, size_t max)
{
	size_t len = strlen(hex), i;
	int v[2], k;
	char c;

	if (len % 2 != 0 || len / 2 > max)
		return -1;
	for (i = 0; i < len; i += 2) {
		for (k = 0; k < 2; k++) {
			c = hex[i + k];
			if (c >= '0' && c <= '9')
				v[k] = c - '0';
			else if (c >= 'a' && c <= 'f')
				v[k] = c - 'a' + 10;
			else if (c >= 'A' && c <= 'F')
				v[k] = c - 'A' + 10;
			else
				return -1;
		}
		out[i / 2] = (v[0] << 4) | v[1];
	}
	return (int)(len / 2);
}

/* Returns hex of len bytes, allocated. */
static char *
attest_hex(const unsigned char *p, size_t len)
{
	char *s = xmalloc(2 * len + 1);

	crypto_hex(p, len, s);
	return s;
}

/* Returns a member that is a string, or NULL. */
static const char *
attest_string(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/*
 * Decodes the base64 member key into out (at most max bytes) and sets
 * *len; -1 with *cause set.
 */
static int
attest_base64(struct attest_ctx *c, const char *key, uint8_t *out,
    size_t max, size_t *len, char **cause)
{
	const char *s;
	unsigned char *buf;

	if ((s = attest_string(c->root, key)) == NULL)
		return attest_fail(cause, "the reply has no %s (a base64 "
		    "string)", key);
	if (strlen(s) > ATTEST_B64_MAX ||
	    crypto_unbase64(s, max, &buf, len) == -1)
		return attest_fail(cause, "the reply's %s is no base64 of a "
		    "TPM structure", key);
	memcpy(out, buf, *len);
	free(buf);
	return 0;
}

/* Unmarshals a TPMS_ATTEST that must fill len bytes; -1 if it does not. */
static int
attest_unmarshal_attest(const uint8_t *buf, size_t len, TPMS_ATTEST *a)
{
	size_t off = 0;

	memset(a, 0, sizeof *a);
	if (Tss2_MU_TPMS_ATTEST_Unmarshal(buf, len, &off, a) !=
	    TSS2_RC_SUCCESS || off != len)
		return -1;
	return 0;
}

/* Reads a member that is a TPMT_SIGNATURE; -1 with *cause set. */
static int
attest_signature(struct attest_ctx *c, const char *key, TPMT_SIGNATURE *sig,
    char **cause)
{
	uint8_t buf[sizeof(TPMT_SIGNATURE)];
	size_t len, off = 0;

	if (attest_base64(c, key, buf, sizeof buf, &len, cause) == -1)
		return -1;
	memset(sig, 0, sizeof *sig);
	if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(buf, len, &off, sig) !=
	    TSS2_RC_SUCCESS || off != len)
		return attest_fail(cause, "the reply's %s is no "
		    "TPMT_SIGNATURE", key);
	return 0;
}

/* Step 1: the device certificate and its chain. */
static int
attest_certificate(struct attest_ctx *c, char **cause)
{
	const struct crypto_attest_want *want = c->want;
	struct crypto_devcert_checked dc;
	const char *pem;
	int ret;

	pem = c->cert_pem != NULL ? c->cert_pem : attest_string(c->root,
	    "certificate");
	if (pem == NULL || *pem == '\0')
		return attest_fail(cause, "the reply carries no device "
		    "certificate: install one on the device ('device cert "
		    "install')");
	ret = crypto_devcert_verify(pem, "the reply's device certificate",
	    want->anchors, want->anchor_lens, want->nanchors, want->uuid,
	    want->now, &dc, cause);
	c->result->subject = dc.subject;
	c->result->issuer = dc.issuer;
	c->device_key = dc.key;
	return ret;
}

/* Says whether an attestation's qualifying data is the nonce. */
static int
attest_nonce_matches(const struct crypto_attest_want *want,
    const TPMS_ATTEST *a)
{
	return a->extraData.size == want->nonce_len &&
	    memcmp(a->extraData.buffer, want->nonce, want->nonce_len) == 0;
}

/* Fails with "the nonce does not match" and both values. */
static int
attest_nonce_fail(const struct crypto_attest_want *want, const TPMS_ATTEST *a,
    const char *what, char **cause)
{
	char *exp, *got;

	exp = attest_hex(want->nonce, want->nonce_len);
	got = attest_hex(a->extraData.buffer, a->extraData.size);
	attest_fail(cause, "the nonce does not match: expected %s, %s %s",
	    exp, what, *got != '\0' ? got : "(none)");
	free(exp);
	free(got);
	return -1;
}

/* Step 2: the AK and its certification by the device key. */
static int
attest_certification(struct attest_ctx *c, char **cause)
{
	uint8_t buf[sizeof(TPM2B_PUBLIC)];
	TPM2B_NAME name;
	EVP_PKEY *pem_key = NULL;
	BIO *bio = NULL;
	const char *pem;
	char *sub = NULL, *exp, *got, want_attrs[TPMPUB_ATTRS_MAX],
	    attrs[TPMPUB_ATTRS_MAX];
	size_t len, off = 0;
	int ret = -1;

	if (attest_base64(c, "ak_public", buf, sizeof buf, &len, cause) == -1)
		return -1;
	memset(&c->ak_public, 0, sizeof c->ak_public);
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, &c->ak_public) !=
	    TSS2_RC_SUCCESS || off != len)
		return attest_fail(cause, "the reply's ak_public is no "
		    "TPM2B_PUBLIC");
	if (attest_base64(c, "certify_info", c->cinfo_bytes,
	    sizeof c->cinfo_bytes, &c->cinfo_len, cause) == -1 ||
	    attest_signature(c, "certify_signature", &c->cinfo_sig,
	    cause) == -1)
		return -1;

	if (tpmpub_verify(c->device_key, &c->cinfo_sig, c->cinfo_bytes,
	    c->cinfo_len, &sub) == -1) {
		attest_fail(cause, "the AK's certification is not signed by "
		    "the device certificate's key: %s", sub);
		goto out;
	}
	if (attest_unmarshal_attest(c->cinfo_bytes, c->cinfo_len,
	    &c->cinfo) == -1) {
		attest_fail(cause, "the AK's certification is no "
		    "TPMS_ATTEST");
		goto out;
	}
	if (c->cinfo.magic != TPM2_GENERATED_VALUE) {
		attest_fail(cause, "the AK's certification was not made by a "
		    "TPM (magic 0x%08x)", c->cinfo.magic);
		goto out;
	}
	if (c->cinfo.type != TPM2_ST_ATTEST_CERTIFY) {
		attest_fail(cause, "the AK's certification is no "
		    "certification (type 0x%04x)", c->cinfo.type);
		goto out;
	}
	if (!attest_nonce_matches(c->want, &c->cinfo)) {
		attest_nonce_fail(c->want, &c->cinfo, "certified with", cause);
		goto out;
	}
	if (tpmpub_name(&c->ak_public.publicArea, &name, &sub) == -1) {
		attest_fail(cause, "the AK's name: %s", sub);
		goto out;
	}
	if (c->cinfo.attested.certify.name.size != name.size ||
	    memcmp(c->cinfo.attested.certify.name.name, name.name,
	    name.size) != 0) {
		exp = attest_hex(name.name, name.size);
		got = attest_hex(c->cinfo.attested.certify.name.name,
		    c->cinfo.attested.certify.name.size);
		attest_fail(cause, "the certification is not of the AK: the "
		    "AK's name is %s, certified %s", exp, got);
		free(exp);
		free(got);
		goto out;
	}
	if ((c->ak_public.publicArea.objectAttributes & (ATTEST_AK_ATTRS |
	    TPMA_OBJECT_DECRYPT)) != ATTEST_AK_ATTRS) {
		tpmpub_attrs(ATTEST_AK_ATTRS, want_attrs, sizeof want_attrs);
		tpmpub_attrs(c->ak_public.publicArea.objectAttributes, attrs,
		    sizeof attrs);
		attest_fail(cause, "the AK is not a restricted signing key "
		    "kept in its TPM: it has %s, needs %s (and not decrypt)",
		    attrs, want_attrs);
		goto out;
	}
	if ((c->ak_key = tpmpub_pkey(&c->ak_public.publicArea,
	    &sub)) == NULL) {
		attest_fail(cause, "the AK: %s", sub);
		goto out;
	}
	if ((pem = attest_string(c->root, "ak_pem")) == NULL ||
	    (bio = BIO_new_mem_buf(pem, -1)) == NULL ||
	    (pem_key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) == NULL) {
		free(crypto_openssl_error());
		attest_fail(cause, "the reply's ak_pem is no PEM public key");
		goto out;
	}
	if (!tpmpub_same_key(pem_key, c->ak_key)) {
		attest_fail(cause, "the reply's ak_pem is not the key of "
		    "ak_public");
		goto out;
	}
	ret = 0;
out:
	free(sub);
	EVP_PKEY_free(pem_key);
	BIO_free(bio);
	return ret;
}

/*
 * Step 2, first: the quote is one the TPM made for this nonce (the one
 * check a replayed attestation fails, named before any other).
 */
static int
attest_quote_nonce(struct attest_ctx *c, char **cause)
{
	if (attest_base64(c, "quote", c->quote_bytes, sizeof c->quote_bytes,
	    &c->quote_len, cause) == -1 ||
	    attest_signature(c, "signature", &c->quote_sig, cause) == -1)
		return -1;
	if (attest_unmarshal_attest(c->quote_bytes, c->quote_len,
	    &c->quote) == -1)
		return attest_fail(cause, "the quote is no TPMS_ATTEST");
	if (c->quote.magic != TPM2_GENERATED_VALUE)
		return attest_fail(cause, "the quote was not made by a TPM "
		    "(magic 0x%08x)", c->quote.magic);
	if (c->quote.type != TPM2_ST_ATTEST_QUOTE)
		return attest_fail(cause, "the quote is no quote (type "
		    "0x%04x)", c->quote.type);
	if (!attest_nonce_matches(c->want, &c->quote))
		return attest_nonce_fail(c->want, &c->quote, "quoted", cause);
	return 0;
}

/* Step 3: the quote's signature by the AK and its PCR digest. */
static int
attest_quote(struct attest_ctx *c, char **cause)
{
	const TPMS_PCR_SELECTION *s;
	struct json_object *list, *e, *v;
	const EVP_MD *md;
	EVP_MD_CTX *h = NULL;
	unsigned char d[EVP_MAX_MD_SIZE], value[CRYPTO_SHA256_LEN];
	const char *bank, *hex;
	char *sub = NULL, *exp, *got;
	unsigned int dlen;
	size_t i, n;
	int idx, ret = -1;
	int64_t iv;

	if (tpmpub_verify(c->ak_key, &c->quote_sig, c->quote_bytes,
	    c->quote_len, &sub) == -1) {
		attest_fail(cause, "the quote is not signed by the AK: %s",
		    sub);
		free(sub);
		return -1;
	}
	c->result->reset_count = c->quote.clockInfo.resetCount;

	/* The PCR values given, by index. */
	if (!json_object_object_get_ex(c->root, "pcrs", &list) ||
	    !json_object_is_type(list, json_type_array))
		return attest_fail(cause, "the reply has no pcrs (an array)");
	n = json_object_array_length(list);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(list, i);
		if (!json_object_object_get_ex(e, "index", &v) ||
		    !json_object_is_type(v, json_type_int) ||
		    (iv = json_object_get_int64(v)) < 0 || iv >= 24 ||
		    (bank = attest_string(e, "bank")) == NULL ||
		    (hex = attest_string(e, "value")) == NULL ||
		    crypto_attest_unhex(hex, value, sizeof value) !=
		    CRYPTO_SHA256_LEN)
			return attest_fail(cause, "the reply's PCR %zu is not "
			    "{index, bank, value}", i + 1);
		if (strcmp(bank, "sha256") != 0)
			continue;
		memcpy(c->pcr[iv], value, sizeof value);
		c->have_pcr[iv] = 1;
	}

	/* The quote's selection: sha256 only, every value given. */
	if (c->quote.attested.quote.pcrSelect.count != 1 ||
	    c->quote.attested.quote.pcrSelect.pcrSelections[0].hash !=
	    TPM2_ALG_SHA256)
		return attest_fail(cause, "the quote is not of the sha256 "
		    "bank alone");
	if ((md = tpmpub_md(c->quote_sig.signature.ecdsa.hash)) == NULL)
		return attest_fail(cause, "the quote's hash is unknown");
	s = &c->quote.attested.quote.pcrSelect.pcrSelections[0];
	h = EVP_MD_CTX_new();
	EVP_DigestInit_ex(h, md, NULL);
	for (idx = 0; idx < 24 && idx / 8 < s->sizeofSelect; idx++) {
		if (!(s->pcrSelect[idx / 8] & (1 << (idx % 8))))
			continue;
		if (!c->have_pcr[idx]) {
			attest_fail(cause, "the quote covers PCR %d but the "
			    "reply has no value for it", idx);
			goto out;
		}
		EVP_DigestUpdate(h, c->pcr[idx], CRYPTO_SHA256_LEN);
		c->result->pcrs[c->result->npcrs++] = idx;
	}
	EVP_DigestFinal_ex(h, d, &dlen);
	if (c->quote.attested.quote.pcrDigest.size != dlen ||
	    memcmp(c->quote.attested.quote.pcrDigest.buffer, d, dlen) != 0) {
		exp = attest_hex(d, dlen);
		got = attest_hex(c->quote.attested.quote.pcrDigest.buffer,
		    c->quote.attested.quote.pcrDigest.size);
		attest_fail(cause, "the PCR values do not match the quote: "
		    "their digest is %s, quoted %s", exp, got);
		free(exp);
		free(got);
		goto out;
	}
	ret = 0;
out:
	EVP_MD_CTX_free(h);
	return ret;
}

/* Reads a hex digest member of a log entry; -1 if it is none. */
static int
attest_entry_hash(struct json_object *e, const char *key,
    unsigned char *out)
{
	const char *hex;

	if ((hex = attest_string(e, key)) == NULL ||
	    strlen(hex) != 2 * CRYPTO_SHA256_LEN ||
	    crypto_attest_unhex(hex, out, CRYPTO_SHA256_LEN) !=
	    CRYPTO_SHA256_LEN)
		return -1;
	return 0;
}

/* Returns a text member of a log entry, checked and cleaned, allocated. */
static char *
attest_entry_text(struct json_object *e, const char *key)
{
	const char *s;

	if ((s = attest_string(e, key)) == NULL ||
	    strlen(s) > ATTEST_NAME_MAX || !utf8_valid(s, strlen(s)))
		return NULL;
	return utf8_clean(s, ATTEST_NAME_MAX);
}

/* SHA-256 of a || b (32 bytes each). */
static void
attest_sha256_2(const unsigned char *a, const unsigned char *b,
    unsigned char *out)
{
	struct crypto_hash *h = crypto_sha256_new();

	crypto_hash_update(h, a, CRYPTO_SHA256_LEN);
	crypto_hash_update(h, b, CRYPTO_SHA256_LEN);
	crypto_hash_final(h, out);
}

/* Frees what a start entry holds and empties it. */
static void
attest_start_clear(struct crypto_attest_start *st)
{
	free(st->container);
	free(st->guestos);
	free(st->version);
	memset(st, 0, sizeof *st);
}

/* Frees what an install entry holds and empties it. */
static void
attest_install_clear(struct crypto_attest_install *in)
{
	free(in->kind);
	free(in->name);
	free(in->version);
	memset(in, 0, sizeof *in);
}

/*
 * Reads a start entry into the result: *dg is its digest as it must be
 * (SHA-256(manifest_hash || config_hash)), *got as logged, *logged the
 * PCR value it says; *what names it in messages (free it).
 */
static int
attest_log_start(struct crypto_attest_result *r, struct json_object *e,
    long long seq, unsigned char *dg, unsigned char *got,
    unsigned char *logged, char **what, char **cause)
{
	struct crypto_attest_start *st = &r->starts[r->nstarts];
	unsigned char mh[CRYPTO_SHA256_LEN], ch[CRYPTO_SHA256_LEN];

	st->seq = seq;
	if ((st->container = attest_entry_text(e, "container")) == NULL ||
	    (st->guestos = attest_entry_text(e, "guestos")) == NULL ||
	    (st->version = attest_entry_text(e, "version")) == NULL ||
	    attest_entry_hash(e, "manifest_hash", mh) == -1 ||
	    attest_entry_hash(e, "config_hash", ch) == -1 ||
	    attest_entry_hash(e, "digest", got) == -1 ||
	    attest_entry_hash(e, "pcr", logged) == -1) {
		attest_start_clear(st);
		return attest_fail(cause, "log entry %lld is not "
		    "{container, guestos, version, manifest_hash, "
		    "config_hash, digest, pcr} (names as text, hashes "
		    "as 64 hex digits)", seq);
	}
	r->nstarts++;
	crypto_hex(ch, CRYPTO_SHA256_LEN, st->config_hash);
	measurelog_start_digest(mh, ch, dg);
	*what = xstrdup(st->container);
	return 0;
}

/* As attest_log_start, for an install entry. */
static int
attest_log_install(struct crypto_attest_result *r, struct json_object *e,
    long long seq, unsigned char *dg, unsigned char *got,
    unsigned char *logged, char **what, char **cause)
{
	struct crypto_attest_install *in = &r->installs[r->ninstalls];
	unsigned char bd[CRYPTO_SHA256_LEN];

	in->seq = seq;
	if ((in->kind = attest_entry_text(e, "kind")) == NULL ||
	    (in->name = attest_entry_text(e, "name")) == NULL ||
	    (in->version = attest_entry_text(e, "version")) == NULL ||
	    attest_entry_hash(e, "bundle_digest", bd) == -1 ||
	    attest_entry_hash(e, "digest", got) == -1 ||
	    attest_entry_hash(e, "pcr", logged) == -1) {
		attest_install_clear(in);
		return attest_fail(cause, "log entry %lld is not "
		    "{kind, name, version, bundle_digest, digest, pcr} "
		    "(names as text, hashes as 64 hex digits)", seq);
	}
	r->ninstalls++;
	crypto_hex(bd, CRYPTO_SHA256_LEN, in->bundle_digest);
	/* the digest of the texts as logged, before any cleaning */
	measurelog_install_digest(attest_string(e, "kind"),
	    attest_string(e, "name"), attest_string(e, "version"), bd, dg);
	*what = xasprintf("install of %s %s %s", in->kind, in->name,
	    in->version);
	return 0;
}

/* Step 4: the measurement log replays to the quoted measurement PCR. */
static int
attest_log(struct attest_ctx *c, char **cause)
{
	struct crypto_attest_result *r = c->result;
	struct json_object *log, *e, *v;
	unsigned char pcr[CRYPTO_SHA256_LEN], dg[CRYPTO_SHA256_LEN],
	    logged[CRYPTO_SHA256_LEN], want_dg[CRYPTO_SHA256_LEN];
	const char *event, *formula;
	char *exp, *got, *what = NULL;
	long long seq, last_seq = 0;
	int64_t mp, rc;
	size_t i, n;
	int any = 0, ret = -1, ok;

	if (!json_object_object_get_ex(c->root, "measure_pcr", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    (mp = json_object_get_int64(v)) < 0 || mp >= 24)
		return attest_fail(cause, "the reply has no measure_pcr (a "
		    "PCR number)");
	r->measure_pcr = (int)mp;
	for (i = 0; i < r->npcrs; i++) {
		if (r->pcrs[i] == mp)
			break;
	}
	if (i == r->npcrs)
		return attest_fail(cause, "the quote does not cover the "
		    "measurement PCR %d", (int)mp);
	memcpy(r->measure_value, c->pcr[mp], CRYPTO_SHA256_LEN);
	if (!json_object_object_get_ex(c->root, "log", &log) ||
	    !json_object_is_type(log, json_type_array))
		return attest_fail(cause, "the reply has no log (an array)");
	n = json_object_array_length(log);
	if (n > ATTEST_LOG_MAX)
		return attest_fail(cause, "the log has more than %d entries",
		    ATTEST_LOG_MAX);
	r->starts = xcalloc(n != 0 ? n : 1, sizeof *r->starts);
	r->installs = xcalloc(n != 0 ? n : 1, sizeof *r->installs);

	/* First the order of the whole log, then its replay. */
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(log, i);
		if (!json_object_is_type(e, json_type_object) ||
		    !json_object_object_get_ex(e, "seq", &v) ||
		    !json_object_is_type(v, json_type_int) ||
		    !json_object_object_get_ex(e, "reset_count", &v) ||
		    !json_object_is_type(v, json_type_int))
			return attest_fail(cause, "log entry %zu has no seq "
			    "and reset_count", i + 1);
		seq = json_object_get_int64(json_object_object_get(e, "seq"));
		if (i != 0 && seq <= last_seq)
			return attest_fail(cause, "the measurement log is not "
			    "in seq order: entry %lld after entry %lld", seq,
			    last_seq);
		last_seq = seq;
	}
	memset(pcr, 0, sizeof pcr);
	last_seq = 0;
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(log, i);
		seq = json_object_get_int64(json_object_object_get(e, "seq"));
		rc = json_object_get_int64(json_object_object_get(e,
		    "reset_count"));
		if (rc != (int64_t)c->quote.clockInfo.resetCount)
			continue;
		/* Entries without an event are starts: logs of before. */
		event = attest_string(e, "event");
		free(what);
		what = NULL;
		formula = "SHA-256(manifest_hash || config_hash)";
		if (event == NULL || strcmp(event, "start") == 0)
			ok = attest_log_start(r, e, seq, want_dg, dg, logged,
			    &what, cause);
		else if (strcmp(event, "install") == 0) {
			formula = "SHA-256(\"" MEASURELOG_INSTALL_TAG
			    "\" NUL kind NUL name NUL version NUL "
			    "bundle_digest)";
			ok = attest_log_install(r, e, seq, want_dg, dg, logged,
			    &what, cause);
		}
		else {
			got = utf8_clean(event, ATTEST_NAME_MAX);
			ok = attest_fail(cause, "log entry %lld is of the "
			    "event '%s', which this verifier does not know",
			    seq, got);
			free(got);
		}
		if (ok == -1)
			goto out;
		if (memcmp(want_dg, dg, sizeof dg) != 0) {
			exp = attest_hex(want_dg, sizeof want_dg);
			got = attest_hex(dg, sizeof dg);
			attest_fail(cause, "the measurement log does not "
			    "replay: entry %lld (%s) has digest %s, but %s is "
			    "%s", seq, what, got, formula, exp);
			free(exp);
			free(got);
			goto out;
		}
		attest_sha256_2(pcr, dg, pcr);
		any = 1;
		last_seq = seq;
		if (memcmp(pcr, logged, sizeof pcr) != 0) {
			exp = attest_hex(pcr, sizeof pcr);
			got = attest_hex(logged, sizeof logged);
			attest_fail(cause, "the measurement log does not "
			    "replay: after entry %lld (%s) PCR %d would be "
			    "%s, the entry says %s", seq, what, (int)mp, exp,
			    got);
			free(exp);
			free(got);
			goto out;
		}
	}
	if (memcmp(pcr, c->pcr[mp], sizeof pcr) != 0) {
		exp = attest_hex(pcr, sizeof pcr);
		got = attest_hex(c->pcr[mp], CRYPTO_SHA256_LEN);
		if (any)
			attest_fail(cause, "the measurement log does not "
			    "replay: after entry %lld (%s) PCR %d would be "
			    "%s, quoted %s", last_seq, what, (int)mp, exp,
			    got);
		else
			attest_fail(cause, "the measurement log does not "
			    "replay: it has no entry of TPM reset %u, so PCR "
			    "%d would be %s, quoted %s",
			    c->quote.clockInfo.resetCount, (int)mp, exp, got);
		free(exp);
		free(got);
		goto out;
	}
	ret = 0;
out:
	free(what);
	return ret;
}

/*
 * Parses a reply of at most CRYPTO_ATTEST_MAX bytes: one JSON object,
 * nothing but white space after it.  NULL with *cause set.
 */
static struct json_object *
attest_parse(const char *json, size_t len, char **cause)
{
	struct json_tokener *tok;
	struct json_object *root;
	size_t i;

	if (len > CRYPTO_ATTEST_MAX) {
		attest_fail(cause, "the reply is larger than %d bytes",
		    CRYPTO_ATTEST_MAX);
		return NULL;
	}
	tok = json_tokener_new_ex(ATTEST_DEPTH);
	root = json_tokener_parse_ex(tok, json, (int)len);
	if (root != NULL) {
		/* Only white space may follow the object. */
		i = (size_t)json_tokener_get_parse_end(tok);
		while (i < len && strchr(" \t\r\n", json[i]) != NULL)
			i++;
		if (i < len || !json_object_is_type(root,
		    json_type_object)) {
			json_object_put(root);
			root = NULL;
		}
	}
	json_tokener_free(tok);
	if (root == NULL)
		attest_fail(cause, "the reply is no JSON object");
	return root;
}

int
crypto_attest_verify_params(struct json_object *params, const char *cert_pem,
    const struct crypto_attest_want *want,
    struct crypto_attest_result *result, char **cause)
{
	struct attest_ctx *c;
	const char *uuid;
	int ret = -1;

	memset(result, 0, sizeof *result);
	c = xcalloc(1, sizeof *c);
	c->root = params;
	c->cert_pem = cert_pem;
	c->want = want;
	c->result = result;
	if ((uuid = attest_string(c->root, "uuid")) != NULL &&
	    strlen(uuid) <= ATTEST_NAME_MAX)
		result->uuid = utf8_clean(uuid, ATTEST_NAME_MAX);
	if (attest_certificate(c, cause) == 0 &&
	    attest_quote_nonce(c, cause) == 0 &&
	    attest_certification(c, cause) == 0 &&
	    attest_quote(c, cause) == 0 &&
	    attest_log(c, cause) == 0)
		ret = 0;
	EVP_PKEY_free(c->ak_key);
	EVP_PKEY_free(c->device_key);
	free(c);
	if (ret == -1)
		crypto_attest_result_clear(result);
	return ret;
}

int
crypto_attest_verify(const char *json, size_t len,
    const struct crypto_attest_want *want,
    struct crypto_attest_result *result, char **cause)
{
	struct json_object *root, *params, *inner;
	int ret;

	memset(result, 0, sizeof *result);
	if ((root = attest_parse(json, len, cause)) == NULL)
		return -1;
	/* A reply message's "parameters", or the parameters themselves. */
	params = root;
	if (!json_object_object_get_ex(root, "quote", NULL) &&
	    json_object_object_get_ex(root, "parameters", &inner) &&
	    json_object_is_type(inner, json_type_object))
		params = inner;
	ret = crypto_attest_verify_params(params, NULL, want, result, cause);
	json_object_put(root);
	return ret;
}

void
crypto_attest_result_clear(struct crypto_attest_result *result)
{
	size_t i;

	for (i = 0; i < result->nstarts; i++)
		attest_start_clear(&result->starts[i]);
	free(result->starts);
	for (i = 0; i < result->ninstalls; i++)
		attest_install_clear(&result->installs[i]);
	free(result->installs);
	free(result->subject);
	free(result->issuer);
	free(result->uuid);
	memset(result, 0, sizeof *result);
}
