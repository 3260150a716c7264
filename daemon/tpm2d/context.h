/*
 * tpm2d's context and what its parts share: the one ESYS context (tpm2d
 * is the only process that talks to the TPM), readable TSS2 errors, its
 * audit spool, and how a handler finds the context from its call.
 */
#ifndef TPM2D_CONTEXT_H
#define TPM2D_CONTEXT_H

#include <stdarg.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tcti.h>

#include "cmdtab.h"
#include "server.h"

struct loop;
struct spool;

/* The most PCRs a set names (one sha256 bank). */
#define TPM2D_MAX_PCRS 24

/* The errors of org.cml.TPM. */
#define TPM2D_ERR_TPM "org.cml.TPM.TPMError"
#define TPM2D_ERR_SYSKEY "org.cml.TPM.SystemKeyUnavailable"
#define TPM2D_ERR_NO_IDENTITY "org.cml.TPM.NoIdentity"

/* The daemon's context. */
struct tpm2d {
	struct loop *loop;
	struct srv *srv;
	struct srv_config srv_cfg;
	char *tcti; /* as configured: "swtpm:path=...", "device:/dev/tpmrm0" */
	ESYS_CONTEXT *esys;
	TSS2_TCTI_CONTEXT *tcti_ctx;
	int tpm_lost; /* the connection broke: opened anew at the next call */
	char *state_dir; /* tpm2d's own files: ROOT/var/lib/cml/tpm2d */
	char *run_dir;
	char *sock_path;
	char *pid_path;
	char manufacturer[16]; /* "IBM", from TPM2_PT_MANUFACTURER */
	char firmware[32]; /* "1.2.3.4", from TPM2_PT_FIRMWARE_VERSION_* */
	/* the PCRs the system key is sealed to, and the measurement PCR */
	int seal_pcrs[TPM2D_MAX_PCRS];
	size_t nseal_pcrs;
	int measure_pcr;
	/* the system key, while unsealed (wiped when it goes) */
	unsigned char syskey[32];
	int syskey_state; /* enum tpm2d_syskey */
	char *syskey_reason; /* why it is not unsealed, or NULL */
	/* the PCRs the blob on disk is sealed to (may differ from seal_pcrs) */
	int sealed_pcrs[TPM2D_MAX_PCRS];
	size_t nsealed_pcrs;
	/*
	 * the state volume (volume.c): "plain", "encrypted" or "locked", and
	 * what it is or why; the volume configured (--state-volume) or NULL,
	 * and where it is mounted (cmld's state directory)
	 */
	const char *state_volume;
	char *state_volume_reason;
	char *state_volume_path;
	char *state_mount;
	void *volume;
	/* the device key (identity.c): "present" or "absent", its handle */
	const char *identity_state;
	unsigned int identity_handle;
	/* identity.c and attest.c may keep their state here */
	void *identity;
	/*
	 * why the TPM refused to define the floor index at the last try, or
	 * NULL (floor.c)
	 */
	char *floor_reason;
	/* the audit spool (server/spool.c) */
	struct spool *spool;
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

/*
 * Returns the code without what names the handle, session or parameter it
 * is about (format 1 codes of the TPM carry those in bits 6 and 8 to 11);
 * a code of another layer than the TPM's as it is.
 */
TSS2_RC tpm2d_rc_base(TSS2_RC rc);

/*
 * Answers a call with org.cml.TPM.TPMError: "WHAT: <tpm2d_rc_str(rc)>";
 * notes a broken connection (tpm2d_tpm_check).
 */
void tpm2d_call_rc(struct call *call, const char *what, TSS2_RC rc);

/*
 * Notes that the connection to the TPM broke when rc says so (a TCTI
 * error, ESYS out of step after one); the next call that needs the TPM
 * opens it anew.  Any other rc does nothing.
 */
void tpm2d_tpm_check(struct tpm2d *t, TSS2_RC rc);

/*
 * Writes an audit record to the log and into the bounded spool cmld
 * takes with TakeAudit (with the time it happened).
 */
void tpm2d_audit(struct tpm2d *t, const char *type, const char *object,
    const char *result, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/*
 * Flushes a transient object or session and sets *handle to ESYS_TR_NONE;
 * ESYS_TR_NONE does nothing.  A handle the TPM already dropped is closed
 * in ESYS all the same.
 */
void tpm2d_flush(struct tpm2d *t, ESYS_TR *handle);

/* The command table of tpm2d (table.c), and its handlers by command id. */
extern const struct cmd_entry tpm2d_table[];
extern const size_t tpm2d_table_len;
extern const call_handler tpm2d_handlers[CMD_ID_COUNT];

/* Handlers (one file each part). */
void tpm2d_cmd_status(struct call *call);
void tpm2d_cmd_platform_secret(struct call *call);
void tpm2d_cmd_reset_system_key(struct call *call);
void tpm2d_cmd_check_system_key(struct call *call);
void tpm2d_cmd_extend(struct call *call);
void tpm2d_cmd_read_pcrs(struct call *call);
void tpm2d_cmd_take_audit(struct call *call);
void tpm2d_cmd_get_info(struct call *call);
void tpm2d_cmd_get_interface_description(struct call *call);
/* Version floors in the TPM (floor.c). */
void tpm2d_cmd_floors(struct call *call);
void tpm2d_cmd_raise_floor(struct call *call);

/* Reads one TPM property (status.c); 0 if the TPM does not say. */
UINT32 tpm2d_property(struct tpm2d *t, TPM2_PT prop);

/*
 * The device key (identity.c), called once the TPM is up, after the
 * system key; sets identity_state and identity_handle.  tpm2d.c holds an
 * empty weak default until identity.c defines it; likewise
 * tpm2d_identity_free at shutdown.
 */
void tpm2d_identity_init(struct tpm2d *t);
void tpm2d_identity_free(struct tpm2d *t);

/*
 * The state volume (volume.c): after the system key, before readiness,
 * opens and mounts it (or says why the state directory stays plain, or
 * locks it); at stop, unmounts and closes it.
 */
void tpm2d_volume_init(struct tpm2d *t);
void tpm2d_volume_free(struct tpm2d *t);

/* The system key (syskey.c): unseals it, or makes it at first start. */
void tpm2d_syskey_init(struct tpm2d *t);
/* Wipes the system key in memory. */
void tpm2d_syskey_free(struct tpm2d *t);

/*
 * PCRs (pcr.c): reads the sha256 values of the PCRs named into values
 * (32 bytes each); 0, or -1 with *cause set.
 */
int tpm2d_pcr_read(struct tpm2d *t, const int *pcrs, size_t npcrs,
    unsigned char values[][32], char **cause);
/* Fills a sha256 PCR selection of the PCRs named. */
void tpm2d_pcr_selection(const int *pcrs, size_t npcrs,
    TPML_PCR_SELECTION *sel);
/* Lower-case hex of len bytes (free it). */
char *tpm2d_hex(const unsigned char *p, size_t len);

/* The audit spool (server/spool.c; status.c). */
void tpm2d_spool_init(struct tpm2d *t);
void tpm2d_spool_free(struct tpm2d *t);
/*
 * Drops the records up to ack and returns TakeAudit's reply: the oldest of
 * the rest, as many as fit in one reply (*taken of the *held).
 */
struct json_object *tpm2d_spool_take(struct tpm2d *t, long long ack,
    size_t *taken, size_t *held);

#endif
