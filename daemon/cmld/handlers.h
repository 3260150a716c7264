/*
 * cmld's handlers (cmd-*.c), one per command of the table, and the table
 * that joins them to it by command id (handlers.c).  A handler parses its
 * call, asks the daemon's core, and answers.
 */
#ifndef CMLD_HANDLERS_H
#define CMLD_HANDLERS_H

#include "cmdtab.h"
#include "server.h"

/* cmld's handlers, indexed by command id. */
extern const call_handler cmld_handlers[CMD_ID_COUNT];

/* org.cml.Device (cmd-device.c) */
/*
 * Status: the version, uptime, provisioning state, the stages and the
 * TPM's state as tpm2d reports it.
 */
void cmd_device_status(struct call *call);
/* GetConfig: every setting, or one, with its value, type and default. */
void cmd_device_get_config(struct call *call);
/* SetConfig: checks a value, stores it and applies it at once. */
void cmd_device_set_config(struct call *call);
/* ResetSystemKey: has tpm2d destroy the sealed system key. */
void cmd_device_reset_system_key(struct call *call);
/* Wipe: destroys every key and all state, back to factory, and checks. */
void cmd_device_wipe(struct call *call);

/* org.cml.Device, the device's identity (cmd-identity.c) */
/* CSR: a request for the TPM's device key, made by tpm2d. */
void cmd_device_csr(struct call *call);
/* InstallCertificate: checks a passed device certificate and stores it. */
void cmd_device_cert_install(struct call *call);
/* Attest: tpm2d's quote with the measurement log and the certificate. */
void cmd_device_attest(struct call *call);
struct cmld;
struct store_measurement;
/*
 * Adds a measurement log entry to arg (a json array) in the form
 * crypto/attest.h names: the log of Device.Attest and Update.Receipt.
 * Returns 0.
 */
int identity_log_cb(const struct store_measurement *m, void *arg);
/*
 * The evidence of a quote tpm2d answered (its parameters) for nonce (hex,
 * lower case): the quote's members as tpm2d gives them, the nonce, the
 * PCR values, the quote's TPM reset count (also in *reset) and
 * measure_pcr, and the measurement log of that reset, as cml-attest reads
 * them (crypto/attest.h).  NULL with *cause set when the quote is
 * malformed or not of the nonce, or the log cannot be read.
 */
struct json_object *identity_evidence(struct cmld *cmld,
    struct json_object *params, const char *nonce, long long measure_pcr,
    long long *reset, char **cause);
/*
 * Adds the device certificate's subject ("certificate", "none" without
 * one) and end of validity ("certificate_not_after") to a Status reply.
 */
void identity_status_fill(struct cmld *cmld, struct json_object *p);

/* org.cml.Provision (cmd-provision.c, provision.c): factory only */
/* Status: the provisioning state, the device UUID, the steps, the next. */
void cmd_provision_status(struct call *call);
/* Check: step 1, the TPM, the device key, scd and the clock. */
void cmd_provision_check(struct call *call);
/* Identity: step 2, the device key in the TPM and its request. */
void cmd_provision_identity(struct call *call);
/* Certificate: step 3, the device certificate and the device CA. */
void cmd_provision_certificate(struct call *call);
/* Anchor: step 4, a supplier or owner anchor, shown, then confirmed. */
void cmd_provision_anchor(struct call *call);
/* Token: step 5, c0's token with its PIN and PUK. */
void cmd_provision_token(struct call *call);
/* Settings: step 6, device settings, all checked before any is set. */
void cmd_provision_settings(struct call *call);
/* Lock: step 7, the device provisioned, for good. */
void cmd_provision_lock(struct call *call);
/* Report (cmd-provision-report.c): the report, signed in the TPM. */
void cmd_provision_report(struct call *call);

/* org.cml.Update */
/*
 * Receipt (cmd-update-receipt.c): a receipt of an install (param "id",
 * default the newest), signed in the TPM, with a quote over it and the
 * measurement log.
 */
void cmd_update_receipt(struct call *call);

/* org.cml.Token (cmd-token.c): every one a call of scd */
/* Init: makes a container's token and binds a new wrapped key to it. */
void cmd_token_init(struct call *call);
/* Status: a container's token as scd keeps it, and whether it is bound. */
void cmd_token_status(struct call *call);
/* Readers: the PC/SC readers scd sees. */
void cmd_token_readers(struct call *call);
/* Verify: the PIN, by unwrapping the container's key and checking it. */
void cmd_token_verify(struct call *call);
/* ChangePIN: changes a token's PIN. */
void cmd_token_change_pin(struct call *call);
/* Unblock: unblocks a PIN with the PUK, setting a new PIN. */
void cmd_token_unblock(struct call *call);

/* org.cml.Audit (cmd-audit.c) */
/* List: the audit trail, or its last N records; streamed when asked. */
void cmd_audit_list(struct call *call);
/* org.cml.Audit (cmd-audit-review.c) */
/* Show: one record whole, with its chain. */
void cmd_audit_show(struct call *call);
/* Ack: acknowledges one record, or every record up to one. */
void cmd_audit_ack(struct call *call);
/* Status: records, room, thresholds, checkpoints, forwarding. */
void cmd_audit_status(struct call *call);
/* Follow: streams records as they are stored, and notices. */
void cmd_audit_follow(struct call *call);
/* Export: the trail as JSON lines with its chain and checkpoints. */
void cmd_audit_export(struct call *call);
/* Verify: recomputes the chain and checks the checkpoints. */
void cmd_audit_verify(struct call *call);
/* org.cml.Audit (cmd-session.c) */
/* Session: records an event a client saw of its own session. */
void cmd_audit_session(struct call *call);

/* org.varlink.service (cmd-api.c) */
/* GetInfo: vendor, product, version and the interfaces served. */
void cmd_api_get_info(struct call *call);
/* GetInterfaceDescription: the .varlink text of an interface. */
void cmd_api_get_interface_description(struct call *call);

/* org.cml.Trust (cmd-ca.c) */
/* List: the trust anchors. */
void cmd_ca_list(struct call *call);
/* Add: registers a passed CA certificate as an owner anchor. */
void cmd_ca_add(struct call *call);
/* Remove: removes the anchor a fingerprint (prefix) names. */
void cmd_ca_remove(struct call *call);

/* org.cml.GuestOS (cmd-guestos.c) */
/* List: the installed guest OS versions. */
void cmd_guestos_list(struct call *call);
/* Install: checks a passed guest OS and installs it, as a job. */
void cmd_guestos_install(struct call *call);
/* Verify: checks an installed guest OS again, as a job. */
void cmd_guestos_verify(struct call *call);
/* Remove: removes one or every version no container uses. */
void cmd_guestos_remove(struct call *call);
/* org.cml.Update (cmd-update.c) */
void cmd_update_info(struct call *call);
void cmd_update_install(struct call *call);
void cmd_update_status(struct call *call);
void cmd_update_mark_good(struct call *call);

/* org.cml.Container (cmd-container.c) */
/* List: every container with its state. */
void cmd_container_list(struct call *call);
/* Show: one container with the main settings of its config. */
void cmd_container_show(struct call *call);
/* Stats: what every container, or one, uses while it runs. */
void cmd_container_stats(struct call *call);
/* Config: the effective config of a container and its signer. */
void cmd_container_config(struct call *call);
/* Create: registers a container from a passed (signed) config. */
void cmd_container_create(struct call *call);
/* Remove: forgets a container that does not run. */
void cmd_container_remove(struct call *call);
/* Start: checks the guest OS and starts a container, answered at the end. */
void cmd_container_start(struct call *call);
/* Stop: SIGTERM, SIGKILL after the stop timeout; answered at the end. */
void cmd_container_stop(struct call *call);
/* Kill: SIGKILL; answered once init ended. */
void cmd_container_kill(struct call *call);
/* Freeze: freezes every process of a running container. */
void cmd_container_freeze(struct call *call);
/* Unfreeze: thaws a frozen container. */
void cmd_container_unfreeze(struct call *call);
/* Exec: runs a command in a running container, answered at its end. */
void cmd_container_exec(struct call *call);

/* org.cml.Container, init's console (ctr-console.c) */
/* Logs: what init printed, then with follow what it prints next. */
void cmd_container_logs(struct call *call);
/* Console: passes a pipe of what init prints and its console to type to. */
void cmd_container_console(struct call *call);
/* org.cml.Container.Wipe (ctr-wipe.c): destroys its data, and proves it. */
void cmd_container_wipe(struct call *call);

/* org.cml.Container.NetShow and org.cml.Network (cmd-net.c) */
/* NetShow: a container's link, addresses, DNS and rules in force. */
void cmd_container_net_show(struct call *call);
/* Status: the base ruleset, the pool, the links and assigned interfaces. */
void cmd_net_status(struct call *call);
/* Rules: cmld's nftables table as the kernel has it. */
void cmd_net_rules(struct call *call);

#endif
