/*
 * PCRs: reading them (sha256 bank), extending the measurement PCR, and
 * the methods ReadPCRs and Extend.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proto.h"
#include "context.h"
#include "xmalloc.h"

/* The most PCRs one TPM2_PCR_Read answers (a TPML_DIGEST's room). */
#define PCR_READ_MAX 8

char *
tpm2d_hex(const unsigned char *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *s = xmalloc(2 * len + 1);
	size_t i;

	for (i = 0; i < len; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 0xf];
	}
	s[2 * len] = '\0';
	return s;
}

void
tpm2d_pcr_selection(const int *pcrs, size_t npcrs, TPML_PCR_SELECTION *sel)
{
	size_t i;

	memset(sel, 0, sizeof *sel);
	sel->count = 1;
	sel->pcrSelections[0].hash = TPM2_ALG_SHA256;
	sel->pcrSelections[0].sizeofSelect = 3;
	for (i = 0; i < npcrs; i++)
		sel->pcrSelections[0].pcrSelect[pcrs[i] / 8] |=
		    (BYTE)(1 << (pcrs[i] % 8));
}

/* Says whether a selection answered holds PCR pcr of the sha256 bank. */
static int
pcr_selected(const TPML_PCR_SELECTION *sel, int pcr)
{
	UINT32 i;

	for (i = 0; i < sel->count; i++) {
		if (sel->pcrSelections[i].hash != TPM2_ALG_SHA256 ||
		    pcr / 8 >= sel->pcrSelections[i].sizeofSelect)
			continue;
		if (sel->pcrSelections[i].pcrSelect[pcr / 8] &
		    (1 << (pcr % 8)))
			return 1;
	}
	return 0;
}

int
tpm2d_pcr_read(struct tpm2d *t, const int *pcrs, size_t npcrs,
    unsigned char values[][32], char **cause)
{
	TPML_PCR_SELECTION sel, *out = NULL;
	TPML_DIGEST *digests = NULL;
	UINT32 counter;
	TSS2_RC rc;
	size_t done = 0, n, i;

	while (done < npcrs) {
		n = npcrs - done;
		if (n > PCR_READ_MAX)
			n = PCR_READ_MAX;
		tpm2d_pcr_selection(pcrs + done, n, &sel);
		rc = Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
		    ESYS_TR_NONE, &sel, &counter, &out, &digests);
		if (rc != TSS2_RC_SUCCESS) {
			xcause(cause, "cannot read the PCRs: %s",
			    tpm2d_rc_str(rc));
			tpm2d_tpm_check(t, rc);
			return -1;
		}
		/* the TPM leaves out what its sha256 bank does not have */
		for (i = 0; i < n; i++) {
			if (!pcr_selected(out, pcrs[done + i]) ||
			    i >= digests->count ||
			    digests->digests[i].size != 32) {
				xcause(cause, "the TPM has no PCR %d in its "
				    "sha256 bank", pcrs[done + i]);
				Esys_Free(out);
				Esys_Free(digests);
				return -1;
			}
			memcpy(values[done + i], digests->digests[i].buffer,
			    32);
		}
		Esys_Free(out);
		Esys_Free(digests);
		out = NULL;
		digests = NULL;
		done += n;
	}
	return 0;
}

/* Returns one PCR's value as the PCR type of org.cml.TPM. */
static struct json_object *
pcr_json(int pcr, const unsigned char *value)
{
	struct json_object *o = json_object_new_object();
	char *hex = tpm2d_hex(value, 32);

	json_object_object_add(o, "index", json_object_new_int(pcr));
	json_object_object_add(o, "bank", json_object_new_string("sha256"));
	json_object_object_add(o, "value", json_object_new_string(hex));
	free(hex);
	return o;
}

void
tpm2d_cmd_read_pcrs(struct call *call)
{
	struct tpm2d *t = call_tpm2d(call);
	struct json_object *v, *p, *a;
	unsigned char values[TPM2D_MAX_PCRS][32];
	int pcrs[TPM2D_MAX_PCRS], seen[TPM2D_MAX_PCRS] = { 0 };
	size_t n = 0, i, len;
	char *cause = NULL;
	int pcr;

	if (json_object_object_get_ex(call->params, "pcrs", &v) &&
	    v != NULL && json_object_array_length(v) > 0) {
		len = json_object_array_length(v);
		for (i = 0; i < len; i++) {
			pcr = (int)json_object_get_int64(
			    json_object_array_get_idx(v, i));
			seen[pcr] = 1;
		}
		for (i = 0; i < TPM2D_MAX_PCRS; i++)
			if (seen[i])
				pcrs[n++] = (int)i;
	} else {
		for (i = 0; i < TPM2D_MAX_PCRS; i++)
			pcrs[n++] = (int)i;
	}
	if (tpm2d_pcr_read(t, pcrs, n, values, &cause) == -1) {
		call_error(call, TPM2D_ERR_TPM, NULL, "%s", cause);
		free(cause);
		return;
	}
	a = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(a, pcr_json(pcrs[i], values[i]));
	p = json_object_new_object();
	json_object_object_add(p, "pcrs", a);
	call_reply(call, p);
}

/* Parses 64 hex digits into 32 bytes; -1 if s is no SHA-256 digest. */
static int
pcr_parse_digest(const char *s, unsigned char *out)
{
	size_t i;
	int hi, lo;

	if (strlen(s) != 64)
		return -1;
	for (i = 0; i < 32; i++) {
		hi = s[2 * i];
		lo = s[2 * i + 1];
		hi = hi >= '0' && hi <= '9' ? hi - '0' :
		    hi >= 'a' && hi <= 'f' ? hi - 'a' + 10 :
		    hi >= 'A' && hi <= 'F' ? hi - 'A' + 10 : -1;
		lo = lo >= '0' && lo <= '9' ? lo - '0' :
		    lo >= 'a' && lo <= 'f' ? lo - 'a' + 10 :
		    lo >= 'A' && lo <= 'F' ? lo - 'A' + 10 : -1;
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

void
tpm2d_cmd_extend(struct call *call)
{
	struct tpm2d *t = call_tpm2d(call);
	TPML_DIGEST_VALUES digests;
	TPMS_TIME_INFO *now = NULL;
	struct json_object *p;
	unsigned char value[1][32];
	const char *hex;
	char *cause = NULL, *after;
	TSS2_RC rc;

	hex = json_object_get_string(json_object_object_get(call->params,
	    "digest"));
	memset(&digests, 0, sizeof digests);
	digests.count = 1;
	digests.digests[0].hashAlg = TPM2_ALG_SHA256;
	if (pcr_parse_digest(hex, digests.digests[0].digest.sha256) == -1) {
		call_error(call, PROTO_ERR_INVALID_PARAMETER, "digest",
		    "'digest' must be a SHA-256 digest: 64 hex digits");
		return;
	}
	call_set_details(call, "PCR %d extended with %.64s", t->measure_pcr,
	    hex);
	/* Only the sha256 bank: other banks keep their values. */
	rc = Esys_PCR_Extend(t->esys, ESYS_TR_PCR0 + (ESYS_TR)t->measure_pcr,
	    ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &digests);
	if (rc != TSS2_RC_SUCCESS) {
		tpm2d_call_rc(call, "extend", rc);
		return;
	}
	if (tpm2d_pcr_read(t, &t->measure_pcr, 1, value, &cause) == -1) {
		call_error(call, TPM2D_ERR_TPM, NULL, "%s", cause);
		free(cause);
		return;
	}
	rc = Esys_ReadClock(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
	    &now);
	if (rc != TSS2_RC_SUCCESS) {
		tpm2d_call_rc(call, "read clock", rc);
		return;
	}
	after = tpm2d_hex(value[0], 32);
	call_set_details(call, "PCR %d extended with %.64s: now %s (reset "
	    "count %u)", t->measure_pcr, hex, after,
	    (unsigned)now->clockInfo.resetCount);
	free(after);
	p = json_object_new_object();
	json_object_object_add(p, "pcr", pcr_json(t->measure_pcr, value[0]));
	json_object_object_add(p, "reset_count",
	    json_object_new_int64(now->clockInfo.resetCount));
	Esys_Free(now);
	call_reply(call, p);
}
