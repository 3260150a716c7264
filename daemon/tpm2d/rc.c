/*
 * TSS2 return codes in words: the one place they become text; a code that
 * says the connection to the TPM broke (tpm2d_tpm_check); and the one way
 * handles go (tpm2d_flush).  The codes
 * callers meet most get words of our own (what happened, what to do);
 * every other code gets Tss2_RC_Decode's text.  The code itself is always
 * part of the text, so a log line can be looked up.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>

#include "log.h"
#include "proto.h"
#include "context.h"

/* Words of our own for the common codes, by their base code. */
static const struct {
	TSS2_RC rc;
	const char *name;
	const char *words;
} tpm2d_rc_words[] = {
	{ TPM2_RC_POLICY_FAIL, "TPM_RC_POLICY_FAIL",
	  "the authorization policy was not satisfied" },
	{ TPM2_RC_PCR_CHANGED, "TPM_RC_PCR_CHANGED",
	  "PCRs changed while the policy was checked" },
	{ TPM2_RC_AUTH_FAIL, "TPM_RC_AUTH_FAIL",
	  "wrong authorization (the dictionary attack counter went up)" },
	{ TPM2_RC_BAD_AUTH, "TPM_RC_BAD_AUTH", "wrong authorization" },
	{ TPM2_RC_LOCKOUT, "TPM_RC_LOCKOUT",
	  "the TPM is in dictionary attack lockout" },
	{ TPM2_RC_OBJECT_MEMORY, "TPM_RC_OBJECT_MEMORY",
	  "the TPM is out of memory for objects (transient objects were "
	  "not flushed)" },
	{ TPM2_RC_SESSION_MEMORY, "TPM_RC_SESSION_MEMORY",
	  "the TPM is out of memory for sessions (sessions were not "
	  "flushed)" },
	{ TPM2_RC_SESSION_HANDLES, "TPM_RC_SESSION_HANDLES",
	  "the TPM is out of session handles" },
	{ TPM2_RC_MEMORY, "TPM_RC_MEMORY", "the TPM is out of memory" },
	{ TPM2_RC_INTEGRITY, "TPM_RC_INTEGRITY",
	  "the blob failed the TPM's integrity check (corrupted, or made "
	  "under another parent key or TPM)" },
	{ TPM2_RC_INITIALIZE, "TPM_RC_INITIALIZE",
	  "the TPM was not started up, or was already" },
	{ TPM2_RC_FAILURE, "TPM_RC_FAILURE", "the TPM is in failure mode" },
	{ TPM2_RC_RETRY, "TPM_RC_RETRY", "the TPM asks to retry" },
	{ TPM2_RC_TESTING, "TPM_RC_TESTING", "the TPM runs its self test" },
	{ TPM2_RC_NV_RATE, "TPM_RC_NV_RATE",
	  "the TPM limits NV writes to prevent wear" },
	{ TPM2_RC_HIERARCHY, "TPM_RC_HIERARCHY",
	  "the hierarchy is disabled" },
	{ TPM2_RC_LOCALITY, "TPM_RC_LOCALITY",
	  "the command is not allowed at this locality" },
	{ TPM2_RC_VALUE, "TPM_RC_VALUE",
	  "a value is out of range for the TPM" },
	{ TPM2_RC_SIZE, "TPM_RC_SIZE", "a structure has the wrong size" },
	{ TPM2_RC_HANDLE, "TPM_RC_HANDLE", "no such handle in the TPM" },
	{ TPM2_RC_PCR, "TPM_RC_PCR", "a PCR check failed" },
	{ TSS2_TCTI_RC_IO_ERROR, "TCTI_IO_ERROR",
	  "input/output error talking to the TPM" },
	{ TSS2_TCTI_RC_NO_CONNECTION, "TCTI_NO_CONNECTION",
	  "cannot reach the TPM" },
	{ TSS2_TCTI_RC_TRY_AGAIN, "TCTI_TRY_AGAIN",
	  "the TPM did not answer in time" },
	{ TSS2_ESYS_RC_MEMORY, "ESYS_MEMORY", "out of memory in ESYS" },
	{ TSS2_ESYS_RC_RSP_AUTH_FAILED, "ESYS_RSP_AUTH_FAILED",
	  "the TPM's response failed its HMAC check" },
	{ TSS2_ESYS_RC_MALFORMED_RESPONSE, "ESYS_MALFORMED_RESPONSE",
	  "the TPM's response is malformed" },
	{ TSS2_MU_RC_INSUFFICIENT_BUFFER, "MU_INSUFFICIENT_BUFFER",
	  "a stored TPM structure is truncated" },
	{ TSS2_MU_RC_BAD_SIZE, "MU_BAD_SIZE",
	  "a stored TPM structure has a bad size" },
	{ TSS2_MU_RC_BAD_VALUE, "MU_BAD_VALUE",
	  "a stored TPM structure has a bad value" },
};

TSS2_RC
tpm2d_rc_base(TSS2_RC rc)
{
	if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
		return rc;
	if (rc & TPM2_RC_FMT1)
		return rc & (TPM2_RC_FMT1 | 0x3f);
	return rc & 0xfff;
}

const char *
tpm2d_rc_str(TSS2_RC rc)
{
	static char buf[256];
	TSS2_RC base = tpm2d_rc_base(rc);
	size_t i;

	for (i = 0; i < sizeof tpm2d_rc_words / sizeof tpm2d_rc_words[0];
	    i++) {
		if (tpm2d_rc_words[i].rc != base)
			continue;
		(void)snprintf(buf, sizeof buf, "%s (%s, 0x%x)",
		    tpm2d_rc_words[i].words, tpm2d_rc_words[i].name,
		    (unsigned)rc);
		return buf;
	}
	(void)snprintf(buf, sizeof buf, "%s (0x%x)", Tss2_RC_Decode(rc),
	    (unsigned)rc);
	return buf;
}

void
tpm2d_call_rc(struct call *call, const char *what, TSS2_RC rc)
{
	tpm2d_tpm_check(call_tpm2d(call), rc);
	call_error(call, "org.cml.TPM.TPMError", NULL, "%s: %s", what,
	    tpm2d_rc_str(rc));
}

void
tpm2d_flush(struct tpm2d *t, ESYS_TR *handle)
{
	TSS2_RC rc;

	if (*handle == ESYS_TR_NONE)
		return;
	rc = Esys_FlushContext(t->esys, *handle);
	if (rc != TSS2_RC_SUCCESS) {
		log_debug("flush: %s", tpm2d_rc_str(rc));
		/* the TPM no longer has it: forget it in ESYS all the same */
		(void)Esys_TR_Close(t->esys, handle);
	}
	*handle = ESYS_TR_NONE;
}

void
tpm2d_tpm_check(struct tpm2d *t, TSS2_RC rc)
{
	if (t->tpm_lost)
		return;
	if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TCTI_RC_LAYER &&
	    rc != TSS2_ESYS_RC_BAD_SEQUENCE && rc != TSS2_ESYS_RC_IO_ERROR)
		return;
	t->tpm_lost = 1;
	tpm2d_audit(t, "tpm", t->tcti, "error", "the connection to the TPM "
	    "broke (%s): reconnecting at the next call", tpm2d_rc_str(rc));
}

/* Reads one TPM property; 0 when the TPM does not say (logged). */
UINT32
tpm2d_property(struct tpm2d *t, TPM2_PT prop)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	UINT32 v = 0;
	TSS2_RC rc;

	rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES, prop, 1, &more, &cap);
	if (rc != TSS2_RC_SUCCESS) {
		log_warnx("cannot read TPM property 0x%x: %s", (unsigned)prop,
		    tpm2d_rc_str(rc));
		return 0;
	}
	if (cap->data.tpmProperties.count > 0 &&
	    cap->data.tpmProperties.tpmProperty[0].property == prop)
		v = cap->data.tpmProperties.tpmProperty[0].value;
	Esys_Free(cap);
	return v;
}
