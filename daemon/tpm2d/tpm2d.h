/*
 * tpm2d's context and what its parts share: the one ESYS context (tpm2d
 * is the only process that talks to the TPM), readable TSS2 errors, its
 * audit spool, and how a handler finds the context from its call.
 */
#ifndef TPM2D_H
#define TPM2D_H

#include <stdarg.h>

#include <tss2/tss2_esys.h>

#include "server.h"

struct loop;

/* The most PCRs a set names (one sha256 bank). */
#define TPM2D_MAX_PCRS 24

/* The daemon's context. */
struct tpm2d {
	struct loop *loop;
	struct srv *srv;
	struct srv_config srv_cfg;
	char *tcti; /* as configured: "swtpm:path=...", "device:/dev/tpmrm0" */
	ESYS_CONTEXT *esys;
	char *state_dir; /* tpm2d's own files: ROOT/var/lib/cml/tpm2d */
	char *run_dir;
	char *sock_path;
	/* the PCRs the system key is sealed to, and the measurement PCR */
	int seal_pcrs[TPM2D_MAX_PCRS];
	size_t nseal_pcrs;
	int measure_pcr;
	/* the system key, while unsealed (wiped when it goes) */
	unsigned char syskey[32];
	int syskey_state; /* enum tpm2d_syskey */
	char *syskey_reason; /* why it is not unsealed, or NULL */
};

enum tpm2d_syskey {
	TPM2D_SYSKEY_UNSEALED,
	TPM2D_SYSKEY_REFUSED, /* the PCRs changed */
	TPM2D_SYSKEY_ABSENT,
	TPM2D_SYSKEY_ERROR,
};

/* The daemon of a call. */
static inline struct tpm2d *
call_tpm2d(const struct call *call)
{
	return call->ctx;
}

/*
 * Returns a readable text for a TSS2 return code, the code included:
 * "the authorization policy was not satisfied (TPM_RC_POLICY_FAIL,
 * 0x99d)".  The one place codes become words.
 */
const char *tpm2d_rc_str(TSS2_RC rc);

/* Answers a call with org.cml.TPM.TPMError: "WHAT: <tpm2d_rc_str(rc)>". */
void tpm2d_call_rc(struct call *call, const char *what, TSS2_RC rc);

/*
 * Writes an audit record to the log and into the bounded spool cmld
 * takes with TakeAudit (with the time it happened).
 */
void tpm2d_audit(struct tpm2d *t, const char *type, const char *object,
    const char *result, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Flushes a transient object or session; ESYS_TR_NONE does nothing. */
void tpm2d_flush(struct tpm2d *t, ESYS_TR *handle);

#endif
