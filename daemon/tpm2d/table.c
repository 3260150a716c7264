/*
 * tpm2d's command table: every method of org.cml.TPM and varlink's
 * introspection, joined to their handlers by command id.  It is no part
 * of cmld's table: cmlsh never talks to tpm2d; the words only name a
 * method in errors and logs.  The socket is root's only, so every caller
 * has the admin role.
 */
#include "config.h"

#include <limits.h>
#include <stddef.h>

#include "identity.h"
#include "context.h"

const struct cmd_entry tpm2d_table[] = {
	{
		.words = "tpm status",
		.family = "tpm",
		.method = "org.cml.TPM.Status",
		.id = CMD_ID_TPM_STATUS,
		.summary = "show the TPM, the system key and the identity",
		.flags = CMD_READONLY,
	},
	{
		.words = "tpm platform-secret",
		.family = "tpm",
		.method = "org.cml.TPM.PlatformSecret",
		.id = CMD_ID_TPM_PLATFORM_SECRET,
		.args = {
			{ .name = "label", .type = CMD_ARG_STRING,
			  .metavar = "LABEL",
			  .help = "what the secret is for" },
		},
		.summary = "derive a secret from the system key",
	},
	{
		.words = "tpm reset-system-key",
		.family = "tpm",
		.method = "org.cml.TPM.ResetSystemKey",
		.id = CMD_ID_TPM_RESET_SYSTEM_KEY,
		.summary = "destroy the sealed system key",
		.flags = CMD_DESTRUCTIVE,
	},
	{
		.words = "tpm check-system-key",
		.family = "tpm",
		.method = "org.cml.TPM.CheckSystemKey",
		.id = CMD_ID_TPM_CHECK_SYSTEM_KEY,
		.summary = "unseal the system key again against the PCRs now",
		.flags = CMD_READONLY,
	},
	{
		.words = "tpm extend",
		.family = "tpm",
		.method = "org.cml.TPM.Extend",
		.id = CMD_ID_TPM_EXTEND,
		.args = {
			{ .name = "digest", .type = CMD_ARG_STRING,
			  .metavar = "DIGEST",
			  .help = "a SHA-256 digest, hex" },
		},
		.summary = "extend the measurement PCR",
	},
	{
		.words = "tpm read-pcrs",
		.family = "tpm",
		.method = "org.cml.TPM.ReadPCRs",
		.id = CMD_ID_TPM_READ_PCRS,
		.args = {
			{ .name = "pcrs", .type = CMD_ARG_INTS,
			  .flags = CMD_ARG_OPTIONAL, .metavar = "PCR",
			  .help = "the PCRs to read", .min = 0,
			  .max = TPM2D_MAX_PCRS - 1 },
		},
		.summary = "read PCR values (sha256 bank)",
		.flags = CMD_READONLY,
	},
	{
		.words = "tpm identity-public",
		.family = "tpm",
		.method = "org.cml.TPM.IdentityPublic",
		.id = CMD_ID_TPM_IDENTITY_PUBLIC,
		.summary = "show the device key's public half",
		.flags = CMD_READONLY,
	},
	{
		.words = "tpm create-csr",
		.family = "tpm",
		.method = "org.cml.TPM.CreateCSR",
		.id = CMD_ID_TPM_CREATE_CSR,
		.args = {
			{ .name = "subject", .type = CMD_ARG_STRING,
			  .metavar = "SUBJECT",
			  .help = "the distinguished name" },
		},
		.summary = "make a PKCS#10 request for the device key",
	},
	{
		.words = "tpm quote",
		.family = "tpm",
		.method = "org.cml.TPM.Quote",
		.id = CMD_ID_TPM_QUOTE,
		.args = {
			{ .name = "nonce", .type = CMD_ARG_STRING,
			  .metavar = "NONCE", .help = "hex, 8 to 64 bytes" },
			{ .name = "pcrs", .type = CMD_ARG_INTS,
			  .flags = CMD_ARG_OPTIONAL, .metavar = "PCR",
			  .help = "the PCRs to quote", .min = 0,
			  .max = TPM2D_MAX_PCRS - 1 },
		},
		.summary = "quote PCRs with the attestation key",
	},
	{
		.words = "tpm sign-checkpoint",
		.family = "tpm",
		.method = "org.cml.TPM.SignCheckpoint",
		.id = CMD_ID_TPM_SIGN_CHECKPOINT,
		.args = {
			{ .name = "seq", .type = CMD_ARG_INT, .metavar = "SEQ",
			  .help = "the record the checkpoint covers",
			  .min = 1, .max = LLONG_MAX },
			{ .name = "time_ms", .type = CMD_ARG_INT,
			  .metavar = "MS",
			  .help = "the checkpoint's time, ms since the epoch",
			  .min = 0, .max = LLONG_MAX },
			{ .name = "head", .type = CMD_ARG_STRING,
			  .metavar = "HEAD",
			  .help = "the hash of record SEQ, hex" },
		},
		.summary = "sign an audit checkpoint with the device key",
	},
	{
		.words = "tpm sign-digest",
		.family = "tpm",
		.method = "org.cml.TPM.SignDigest",
		.id = CMD_ID_TPM_SIGN_DIGEST,
		.args = {
			{ .name = "digest", .type = CMD_ARG_STRING,
			  .metavar = "DIGEST",
			  .help = "SHA-256, -384 or -512, hex" },
			{ .name = "purpose", .type = CMD_ARG_STRING,
			  .metavar = "PURPOSE", .help = "tls-client" },
		},
		.summary = "sign a digest with the device key for TLS",
	},
	{
		.words = "tpm create-identity",
		.family = "tpm",
		.method = "org.cml.TPM.CreateIdentity",
		.id = CMD_ID_TPM_CREATE_IDENTITY,
		.summary = "make the device and attestation keys if absent",
	},
	{
		.words = "tpm wipe-identity",
		.family = "tpm",
		.method = "org.cml.TPM.WipeIdentity",
		.id = CMD_ID_TPM_WIPE_IDENTITY,
		.summary = "evict the device and attestation keys",
		.flags = CMD_DESTRUCTIVE,
	},
	{
		.words = "tpm sign-report",
		.family = "tpm",
		.method = "org.cml.TPM.SignReport",
		.id = CMD_ID_TPM_SIGN_REPORT,
		.args = {
			{ .name = "report_digest", .type = CMD_ARG_STRING,
			  .metavar = "DIGEST",
			  .help = "the report's SHA-256, hex" },
		},
		.summary = "sign a provisioning report with the device key",
	},
	{
		.words = "tpm floors",
		.family = "tpm",
		.method = "org.cml.TPM.Floors",
		.id = CMD_ID_TPM_FLOORS,
		.summary = "show the version floors the TPM holds",
		.flags = CMD_READONLY,
	},
	{
		.words = "tpm raise-floor",
		.family = "tpm",
		.method = "org.cml.TPM.RaiseFloor",
		.id = CMD_ID_TPM_RAISE_FLOOR,
		.args = {
			{ .name = "kind", .type = CMD_ARG_STRING,
			  .metavar = "KIND",
			  .help = "guestos, configs, cml or boot" },
			{ .name = "name", .type = CMD_ARG_STRING,
			  .metavar = "NAME", .help = "what is updated" },
			{ .name = "version", .type = CMD_ARG_STRING,
			  .metavar = "VERSION",
			  .help = "the lowest version to install from now" },
		},
		.summary = "raise a version floor in the TPM (never lower)",
	},
	{
		.words = "tpm sign-receipt",
		.family = "tpm",
		.method = "org.cml.TPM.SignReceipt",
		.id = CMD_ID_TPM_SIGN_RECEIPT,
		.args = {
			{ .name = "receipt_digest", .type = CMD_ARG_STRING,
			  .metavar = "DIGEST",
			  .help = "the receipt's SHA-256, hex" },
		},
		.summary = "sign an install receipt with the device key",
	},
	CMD_ENTRY_TAKE_AUDIT("tpm", "org.cml.TPM.TakeAudit",
	    CMD_ID_TPM_TAKE_AUDIT),
	CMD_ENTRY_SERVICE_GET_INFO,
	CMD_ENTRY_SERVICE_GET_INTERFACE_DESCRIPTION,
};
const size_t tpm2d_table_len = sizeof tpm2d_table / sizeof tpm2d_table[0];

/* Every method of the table has its handler (test_tpm2d checks it). */
const call_handler tpm2d_handlers[CMD_ID_COUNT] = {
	[CMD_ID_TPM_STATUS] = tpm2d_cmd_status,
	[CMD_ID_TPM_PLATFORM_SECRET] = tpm2d_cmd_platform_secret,
	[CMD_ID_TPM_RESET_SYSTEM_KEY] = tpm2d_cmd_reset_system_key,
	[CMD_ID_TPM_CHECK_SYSTEM_KEY] = tpm2d_cmd_check_system_key,
	[CMD_ID_TPM_EXTEND] = tpm2d_cmd_extend,
	[CMD_ID_TPM_READ_PCRS] = tpm2d_cmd_read_pcrs,
	[CMD_ID_TPM_IDENTITY_PUBLIC] = tpm2d_cmd_identity_public,
	[CMD_ID_TPM_CREATE_CSR] = tpm2d_cmd_create_csr,
	[CMD_ID_TPM_QUOTE] = tpm2d_cmd_quote,
	[CMD_ID_TPM_SIGN_CHECKPOINT] = tpm2d_cmd_sign_checkpoint,
	[CMD_ID_TPM_SIGN_DIGEST] = tpm2d_cmd_sign_digest,
	[CMD_ID_TPM_CREATE_IDENTITY] = tpm2d_cmd_create_identity,
	[CMD_ID_TPM_WIPE_IDENTITY] = tpm2d_cmd_wipe_identity,
	[CMD_ID_TPM_SIGN_REPORT] = tpm2d_cmd_sign_report,
	[CMD_ID_TPM_FLOORS] = tpm2d_cmd_floors,
	[CMD_ID_TPM_RAISE_FLOOR] = tpm2d_cmd_raise_floor,
	[CMD_ID_TPM_SIGN_RECEIPT] = tpm2d_cmd_sign_receipt,
	[CMD_ID_TPM_TAKE_AUDIT] = tpm2d_cmd_take_audit,
	[CMD_ID_SERVICE_GET_INFO] = tpm2d_cmd_get_info,
	[CMD_ID_SERVICE_GET_INTERFACE_DESCRIPTION] =
	    tpm2d_cmd_get_interface_description,
};
