/*
 * Attestation: a quote over PCRs by the attestation key (restricted, so
 * it signs only what the TPM generated), with a fresh certification of
 * the AK by the device key (TPM2_Certify, its qualifying data the quote's
 * nonce), so that the device certificate vouches for the quote.  See
 * identity.h for how the keys are made.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_mu.h>

#include "crypto.h"
#include "identity.h"
#include "log.h"
#include "tpmpub.h"
#include "xmalloc.h"

/* The nonce's length in bytes. */
#define ATTEST_NONCE_MIN 8
#define ATTEST_NONCE_MAX 64

/* The PCRs of one quote, and their values as read. */
struct attest_pcrs {
	int index[TPM2D_MAX_PCRS]; /* ascending */
	size_t n;
	unsigned char value[TPM2D_MAX_PCRS][CRYPTO_SHA256_LEN];
};

/* Returns the value of a hex digit, or -1. */
static int
attest_xdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses the nonce parameter; answers the call and returns -1 if bad. */
static int
attest_nonce(struct call *call, TPM2B_DATA *nonce)
{
	struct json_object *o;
	const char *s;
	size_t len, i;
	int hi, lo;

	if (!json_object_object_get_ex(call->params, "nonce", &o) ||
	    !json_object_is_type(o, json_type_string)) {
		call_error(call, PROTO_ERR_INVALID_PARAMETER, "nonce",
		    "nonce must be a string of hex digits");
		return -1;
	}
	s = json_object_get_string(o);
	len = strlen(s);
	if (len % 2 != 0 || len < 2 * ATTEST_NONCE_MIN ||
	    len > 2 * ATTEST_NONCE_MAX) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "nonce",
		    "the nonce must be %d to %d bytes as hex digits (an even "
		    "number, %d to %d of them)", ATTEST_NONCE_MIN,
		    ATTEST_NONCE_MAX, 2 * ATTEST_NONCE_MIN,
		    2 * ATTEST_NONCE_MAX);
		return -1;
	}
	memset(nonce, 0, sizeof *nonce);
	for (i = 0; i < len; i += 2) {
		if ((hi = attest_xdigit(s[i])) == -1 ||
		    (lo = attest_xdigit(s[i + 1])) == -1) {
			call_error(call, PROTO_ERR_INVALID_ARGUMENT, "nonce",
			    "the nonce holds a character that is no hex "
			    "digit");
			return -1;
		}
		nonce->buffer[i / 2] = (hi << 4) | lo;
	}
	nonce->size = len / 2;
	return 0;
}

/*
 * Parses the pcrs parameter (default: the sealed PCRs and the measure
 * PCR) into ascending order; answers the call and returns -1 if bad.
 */
static int
attest_pcr_list(struct call *call, struct attest_pcrs *pcrs)
{
	struct tpm2d *t = call_tpm2d(call);
	struct json_object *o, *e;
	int set[TPM2D_MAX_PCRS];
	size_t i, n;
	int64_t v;

	memset(set, 0, sizeof set);
	memset(pcrs, 0, sizeof *pcrs);
	if (json_object_object_get_ex(call->params, "pcrs", &o) && o != NULL) {
		if (!json_object_is_type(o, json_type_array)) {
			call_error(call, PROTO_ERR_INVALID_PARAMETER, "pcrs",
			    "pcrs must be an array of PCR numbers");
			return -1;
		}
		n = json_object_array_length(o);
		if (n == 0) {
			call_error(call, PROTO_ERR_INVALID_ARGUMENT, "pcrs",
			    "name at least one PCR (or none for the default "
			    "ones)");
			return -1;
		}
		for (i = 0; i < n; i++) {
			e = json_object_array_get_idx(o, i);
			if (!json_object_is_type(e, json_type_int)) {
				call_error(call, PROTO_ERR_INVALID_PARAMETER,
				    "pcrs", "pcrs must be an array of PCR "
				    "numbers");
				return -1;
			}
			v = json_object_get_int64(e);
			if (v < 0 || v >= TPM2D_MAX_PCRS) {
				call_error(call, PROTO_ERR_INVALID_ARGUMENT,
				    "pcrs", "there is no PCR %lld (0 to %d)",
				    (long long)v, TPM2D_MAX_PCRS - 1);
				return -1;
			}
			set[v] = 1;
		}
	} else {
		for (i = 0; i < t->nseal_pcrs; i++) {
			if (t->seal_pcrs[i] >= 0 &&
			    t->seal_pcrs[i] < TPM2D_MAX_PCRS)
				set[t->seal_pcrs[i]] = 1;
		}
		if (t->measure_pcr >= 0 && t->measure_pcr < TPM2D_MAX_PCRS)
			set[t->measure_pcr] = 1;
	}
	for (i = 0; i < TPM2D_MAX_PCRS; i++) {
		if (set[i])
			pcrs->index[pcrs->n++] = (int)i;
	}
	if (pcrs->n == 0) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "pcrs",
		    "no PCR to quote");
		return -1;
	}
	return 0;
}

/* Fills a selection of the sha256 bank with the PCRs of pcrs. */
static void
attest_selection(const struct attest_pcrs *pcrs, TPML_PCR_SELECTION *sel)
{
	size_t i;

	memset(sel, 0, sizeof *sel);
	sel->count = 1;
	sel->pcrSelections[0].hash = TPM2_ALG_SHA256;
	sel->pcrSelections[0].sizeofSelect = 3;
	for (i = 0; i < pcrs->n; i++)
		sel->pcrSelections[0].pcrSelect[pcrs->index[i] / 8] |=
		    1 << (pcrs->index[i] % 8);
}

/*
 * Reads the values of the PCRs (a TPM answers at most eight per read);
 * -1 with *rc set, or with *rc 0 if the TPM answered nonsense.
 */
static int
attest_read(struct tpm2d *t, struct attest_pcrs *pcrs, TSS2_RC *rc)
{
	TPML_PCR_SELECTION want, *got = NULL;
	TPML_DIGEST *values = NULL;
	UINT32 counter;
	size_t i, k;
	int idx, done[TPM2D_MAX_PCRS], left;

	memset(done, 0, sizeof done);
	attest_selection(pcrs, &want);
	for (;;) {
		*rc = Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
		    ESYS_TR_NONE, &want, &counter, &got, &values);
		if (*rc != TSS2_RC_SUCCESS)
			return -1;
		k = 0;
		for (i = 0; i < pcrs->n; i++) {
			idx = pcrs->index[i];
			if (got->count != 1 ||
			    got->pcrSelections[0].hash != TPM2_ALG_SHA256 ||
			    !(got->pcrSelections[0].pcrSelect[idx / 8] &
			    (1 << (idx % 8))))
				continue;
			if (k >= values->count ||
			    values->digests[k].size != CRYPTO_SHA256_LEN)
				goto nonsense;
			memcpy(pcrs->value[i], values->digests[k].buffer,
			    CRYPTO_SHA256_LEN);
			want.pcrSelections[0].pcrSelect[idx / 8] &=
			    ~(1 << (idx % 8));
			done[i] = 1;
			k++;
		}
		Esys_Free(got);
		Esys_Free(values);
		got = NULL;
		values = NULL;
		if (k == 0)
			goto nonsense;
		left = 0;
		for (i = 0; i < pcrs->n; i++)
			left |= !done[i];
		if (!left)
			return 0;
	}
nonsense:
	Esys_Free(got);
	Esys_Free(values);
	*rc = 0;
	return -1;
}

/* Says whether the quote's PCR digest is that of the values read. */
static int
attest_digest_matches(const struct attest_pcrs *pcrs, const TPMS_ATTEST *a)
{
	struct crypto_hash *h;
	unsigned char d[CRYPTO_SHA256_LEN];
	size_t i;

	h = crypto_sha256_new();
	for (i = 0; i < pcrs->n; i++)
		crypto_hash_update(h, pcrs->value[i], CRYPTO_SHA256_LEN);
	crypto_hash_final(h, d);
	return a->attested.quote.pcrDigest.size == CRYPTO_SHA256_LEN &&
	    memcmp(a->attested.quote.pcrDigest.buffer, d, sizeof d) == 0;
}

/* Adds base64 of a marshalled TPMT_SIGNATURE to o as key. */
static int
attest_add_sig(struct json_object *o, const char *key,
    const TPMT_SIGNATURE *sig)
{
	uint8_t buf[sizeof(TPMT_SIGNATURE)];
	size_t off = 0;
	char *b64;

	if (Tss2_MU_TPMT_SIGNATURE_Marshal(sig, buf, sizeof buf, &off) !=
	    TSS2_RC_SUCCESS)
		return -1;
	b64 = crypto_base64(buf, off);
	json_object_object_add(o, key, json_object_new_string(b64));
	free(b64);
	return 0;
}

/* Adds base64 of an attestation's TPMS_ATTEST bytes to o as key. */
static void
attest_add_attest(struct json_object *o, const char *key,
    const TPM2B_ATTEST *a)
{
	char *b64;

	b64 = crypto_base64(a->attestationData, a->size);
	json_object_object_add(o, key, json_object_new_string(b64));
	free(b64);
}

void
tpm2d_cmd_quote(struct call *call)
{
	struct tpm2d *t = call_tpm2d(call);
	struct attest_pcrs pcrs;
	struct json_object *o, *list, *e;
	TPM2B_DATA nonce;
	TPML_PCR_SELECTION sel;
	TPMT_SIG_SCHEME null_scheme, cert_scheme;
	TPM2B_PUBLIC *ak_pub = NULL, *id_pub = NULL;
	TPM2B_ATTEST *quoted = NULL, *cinfo = NULL;
	TPMT_SIGNATURE *qsig = NULL, *csig = NULL;
	TPMS_ATTEST attest;
	ESYS_TR ak = ESYS_TR_NONE, id = ESYS_TR_NONE;
	uint8_t pubbuf[sizeof(TPM2B_PUBLIC)];
	char hex[2 * CRYPTO_SHA256_LEN + 1], *cause = NULL, *b64, *pem;
	size_t off, i;
	TSS2_RC rc;
	int try, matched = 0;

	if (attest_nonce(call, &nonce) == -1 ||
	    attest_pcr_list(call, &pcrs) == -1 ||
	    tpm2d_identity_usable(call) == -1)
		return;
	if (tpm2d_persistent_open(t, TPM2D_IDENTITY_HANDLE, &id, &id_pub,
	    NULL, &rc, &cause) == -1 ||
	    tpm2d_persistent_open(t, TPM2D_AK_HANDLE, &ak, &ak_pub, NULL, &rc,
	    &cause) == -1) {
		call_error(call, rc != 0 ? TPM2D_ERR_TPM :
		    TPM2D_ERR_NO_IDENTITY, NULL, "%s", cause);
		free(cause);
		goto out;
	}
	attest_selection(&pcrs, &sel);
	memset(&null_scheme, 0, sizeof null_scheme);
	null_scheme.scheme = TPM2_ALG_NULL;

	/*
	 * Reading the PCRs and quoting them are two commands: a quote whose
	 * digest is not that of the values read (an extend came between)
	 * is made once more.
	 */
	for (try = 0; try < 2 && !matched; try++) {
		Esys_Free(quoted);
		Esys_Free(qsig);
		quoted = NULL;
		qsig = NULL;
		if (attest_read(t, &pcrs, &rc) == -1) {
			if (rc != 0)
				tpm2d_call_rc(call, "cannot read the PCRs",
				    rc);
			else
				call_error(call, TPM2D_ERR_TPM, NULL,
				    "the TPM answered a PCR read with other "
				    "PCRs than asked for");
			goto out;
		}
		rc = Esys_Quote(t->esys, ak, ESYS_TR_PASSWORD, ESYS_TR_NONE,
		    ESYS_TR_NONE, &nonce, &null_scheme, &sel, &quoted, &qsig);
		if (rc != TSS2_RC_SUCCESS) {
			tpm2d_call_rc(call, "cannot quote", rc);
			goto out;
		}
		off = 0;
		memset(&attest, 0, sizeof attest);
		if (Tss2_MU_TPMS_ATTEST_Unmarshal(quoted->attestationData,
		    quoted->size, &off, &attest) != TSS2_RC_SUCCESS ||
		    attest.type != TPM2_ST_ATTEST_QUOTE) {
			call_error(call, TPM2D_ERR_TPM, NULL,
			    "the TPM's quote is no TPMS_ATTEST of a quote");
			goto out;
		}
		matched = attest_digest_matches(&pcrs, &attest);
	}
	if (!matched) {
		call_error(call, PROTO_ERR_BUSY, NULL, "the PCRs changed "
		    "while they were quoted, twice: try again");
		goto out;
	}

	/* The device key certifies the AK, for this nonce. */
	memset(&cert_scheme, 0, sizeof cert_scheme);
	cert_scheme.scheme = TPM2_ALG_ECDSA;
	cert_scheme.details.ecdsa.hashAlg =
	    tpm2d_identity_hash(&id_pub->publicArea);
	rc = Esys_Certify(t->esys, ak, id, ESYS_TR_PASSWORD, ESYS_TR_PASSWORD,
	    ESYS_TR_NONE, &nonce, &cert_scheme, &cinfo, &csig);
	if (rc != TSS2_RC_SUCCESS) {
		tpm2d_call_rc(call, "cannot certify the attestation key with "
		    "the device key", rc);
		goto out;
	}

	o = json_object_new_object();
	attest_add_attest(o, "quote", quoted);
	if (attest_add_sig(o, "signature", qsig) == -1)
		goto marshal;
	off = 0;
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(ak_pub, pubbuf, sizeof pubbuf,
	    &off) != TSS2_RC_SUCCESS)
		goto marshal;
	b64 = crypto_base64(pubbuf, off);
	json_object_object_add(o, "ak_public", json_object_new_string(b64));
	free(b64);
	if ((pem = tpmpub_pem(&ak_pub->publicArea, &cause)) == NULL) {
		json_object_put(o);
		call_error(call, PROTO_ERR_FAILED, NULL,
		    "the attestation key: %s", cause);
		free(cause);
		goto out;
	}
	json_object_object_add(o, "ak_pem", json_object_new_string(pem));
	free(pem);
	attest_add_attest(o, "certify_info", cinfo);
	if (attest_add_sig(o, "certify_signature", csig) == -1)
		goto marshal;
	list = json_object_new_array();
	for (i = 0; i < pcrs.n; i++) {
		e = json_object_new_object();
		json_object_object_add(e, "index",
		    json_object_new_int(pcrs.index[i]));
		json_object_object_add(e, "bank",
		    json_object_new_string("sha256"));
		crypto_hex(pcrs.value[i], CRYPTO_SHA256_LEN, hex);
		json_object_object_add(e, "value", json_object_new_string(hex));
		json_object_array_add(list, e);
	}
	json_object_object_add(o, "pcrs", list);
	call_set_details(call, "%zu PCRs, reset count %u", pcrs.n,
	    attest.clockInfo.resetCount);
	call_reply(call, o);
	goto out;

marshal:
	json_object_put(o);
	call_error(call, PROTO_ERR_FAILED, NULL,
	    "cannot marshal the quote's structures");
out:
	tpm2d_persistent_close(t, &ak);
	tpm2d_persistent_close(t, &id);
	Esys_Free(quoted);
	Esys_Free(qsig);
	Esys_Free(cinfo);
	Esys_Free(csig);
	Esys_Free(ak_pub);
	Esys_Free(id_pub);
}
