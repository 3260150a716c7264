#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmdtab.h"
#include "jsonstrict.h"
#include "xmalloc.h"

const struct cmd_family cmd_families[] = {
	{ "device", "the device: status and settings" },
	{ "provision", "the factory provisioning: its steps and the lock" },
	{ "tpm", "the TPM, through tpm2d: the sealed system key" },
	{ "ca", "trust anchors that signatures must chain to" },
	{ "guestos", "signed guest OS images" },
	{ "update", "signed update bundles: check, install, confirm, receipts" },
	{ "container", "containers: create, start, stop, inspect" },
	{ "net", "the containers' network: links to c0 and the firewall" },
	{ "token", "containers' tokens, through scd: PINs and PUKs" },
	{ "audit", "the audit trail" },
	{ "api", "the control interface itself" },
};
const size_t cmd_families_len = sizeof cmd_families / sizeof cmd_families[0];

/* The option of every command that asks for a secret. */
#define TOKEN_PIN_STDIN { .name = CMD_SECRET_STDIN, .type = CMD_ARG_BOOL, \
	.flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION | CMD_ARG_LOCAL, \
	.metavar = "--" CMD_SECRET_STDIN, \
	.help = "read the secrets from stdin, one line each in the order " \
	    "asked (a new PIN once), instead of from the terminal" }

/* The container a token command is about. */
#define TOKEN_NAME { .name = "name", .type = CMD_ARG_STRING, \
	.metavar = "NAME", .help = "the container", \
	.complete = CMD_COMPLETE_CONTAINER }
/* The PIN a change or an unblock sets. */
#define TOKEN_NEW_PIN { .name = "new_pin", .type = CMD_ARG_SECRET, \
	.flags = CMD_ARG_NEW, .metavar = "PIN", \
	.help = "the new PIN, 6 to 64 characters: asked twice" }

const struct cmd_entry cmd_table[] = {
	{
		.words = "device status",
		.family = "device",
		.method = "org.cml.Device.Status",
		.id = CMD_ID_DEVICE_STATUS,
		.summary = "show version, uptime, state and stages",
		.help = "Shows the cml version, how long cmld has run, its "
		    "state directory, the provisioning state, the device "
		    "UUID and name, and which daemons (stages) are up.",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "device config get",
		.family = "device",
		.method = "org.cml.Device.GetConfig",
		.id = CMD_ID_DEVICE_GET_CONFIG,
		.args = {
			{ .name = "key", .type = CMD_ARG_STRING,
			  .flags = CMD_ARG_OPTIONAL, .metavar = "KEY",
			  .help = "show only this setting",
			  .complete = CMD_COMPLETE_SETTING },
		},
		.summary = "show device settings",
		.help = "Shows every device setting (or only KEY) with its "
		    "value, type and default.",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "device config set",
		.family = "device",
		.method = "org.cml.Device.SetConfig",
		.id = CMD_ID_DEVICE_SET_CONFIG,
		.args = {
			{ .name = "key", .type = CMD_ARG_STRING,
			  .metavar = "KEY", .help = "the setting to change",
			  .complete = CMD_COMPLETE_SETTING },
			{ .name = "value", .type = CMD_ARG_STRING,
			  .metavar = "VALUE", .help = "its new value",
			  .complete = CMD_COMPLETE_SETTING_VALUE },
		},
		.summary = "change a device setting",
		.help = "Validates VALUE against the setting's type and range, "
		    "stores it and applies it at once. The change is audited.",
		.flags = CMD_ADMIN | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "device csr",
		.family = "device",
		.method = "org.cml.Device.CSR",
		.id = CMD_ID_DEVICE_CSR,
		.summary = "print a certificate request for the device key",
		.help = "Prints a PKCS#10 request (PEM) for the device key, "
		    "signed in the TPM by tpm2d, whose subject is "
		    "/CN=UUID/O=cml device: a device CA signs it, and "
		    "'device cert install' installs the certificate. Audited.",
		.flags = CMD_ADMIN | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "device cert install",
		.family = "device",
		.method = "org.cml.Device.InstallCertificate",
		.id = CMD_ID_DEVICE_CERT_INSTALL,
		.args = {
			{ .name = "cert", .type = CMD_ARG_FILE,
			  .flags = CMD_ARG_PATH, .metavar = "CERT",
			  .help = "the device certificate, PEM or DER",
			  .complete = CMD_COMPLETE_FILE },
		},
		.summary = "install the device certificate",
		.help = "Installs the certificate of the device key. It must "
		    "chain to a trust anchor ('ca add'), be valid now, name "
		    "the device UUID as its CN, and certify the TPM's device "
		    "key; it replaces any installed before. Audited with its "
		    "subject and expiry.",
		.flags = CMD_ADMIN | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "device attest",
		.family = "device",
		.method = "org.cml.Device.Attest",
		.id = CMD_ID_DEVICE_ATTEST,
		.args = {
			{ .name = "nonce", .type = CMD_ARG_STRING,
			  .metavar = "NONCE",
			  .help = "the verifier's nonce: 16 to 128 hex digits "
			    "(8 to 64 bytes)" },
		},
		.summary = "show the evidence a verifier checks",
		.help = "Has the TPM quote the measurement and sealing PCRs "
		    "with NONCE, by the attestation key the device key "
		    "certified, and shows the quote with the measurement "
		    "log of the TPM's current reset and the device "
		    "certificate. cml-attest(1) verifies what --json prints.",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "device wipe",
		.family = "device",
		.method = "org.cml.Device.Wipe",
		.id = CMD_ID_DEVICE_WIPE,
		.args = {
			{ .name = "confirm", .type = CMD_ARG_STRING,
			  .metavar = "UUID",
			  .help = "the device UUID ('device status' shows "
			    "it), to say this device" },
		},
		.summary = "destroy every key and all state: back to factory",
		.help = "Returns the device to factory, for good: stops and "
		    "destroys every container (volumes, keys, configs), every "
		    "token scd holds, the TPM's device and attestation keys, "
		    "the sealed system key, the device certificate, every "
		    "trust anchor, the settings and the provisioning steps, "
		    "and starts a new audit trail whose first record names "
		    "the one destroyed. Then checks that each is gone, on "
		    "disk, in the store and in the TPM, and shows each check; "
		    "it fails, naming what remains, if one does not pass. "
		    "Guest OS images stay. Export the audit trail first if "
		    "it is to be kept.",
		.flags = CMD_ADMIN | CMD_DESTRUCTIVE | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "provision status",
		.family = "provision",
		.method = "org.cml.Provision.Status",
		.id = CMD_ID_PROVISION_STATUS,
		.summary = "show the provisioning steps and their state",
		.help = "Shows the provisioning state (factory or "
		    "provisioned), the device UUID and each of the seven "
		    "steps: pending, done (when, and what it did) or failed "
		    "(why), and the next step to do.",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "provision check",
		.family = "provision",
		.method = "org.cml.Provision.Check",
		.id = CMD_ID_PROVISION_CHECK,
		.summary = "step 1: check the TPM, the stages and the clock",
		.help = "Checks that tpm2d is up and its TPM answers, that the "
		    "TPM holds the device key, that scd is up and that the "
		    "clock is sane (after cml's build date). The step is "
		    "done when every check passes. Audited.",
		.flags = CMD_ADMIN | CMD_UNPROVISIONED_OK | CMD_FACTORY_ONLY,
	},
	{
		.words = "provision identity",
		.family = "provision",
		.method = "org.cml.Provision.Identity",
		.id = CMD_ID_PROVISION_IDENTITY,
		.summary = "step 2: the device key and its certificate request",
		.help = "Has tpm2d make the device key in the TPM if there is "
		    "none and prints a PKCS#10 request (PEM) for it, signed "
		    "in the TPM, whose subject is /CN=UUID/O=cml device: the "
		    "device CA signs it. Done once; later calls print the "
		    "same request. Audited.",
		.flags = CMD_ADMIN | CMD_UNPROVISIONED_OK | CMD_FACTORY_ONLY,
	},
	{
		.words = "provision certificate",
		.family = "provision",
		.method = "org.cml.Provision.Certificate",
		.id = CMD_ID_PROVISION_CERTIFICATE,
		.args = {
			{ .name = "cert", .type = CMD_ARG_FILE,
			  .flags = CMD_ARG_PATH, .metavar = "CERT",
			  .help = "the device certificate, PEM or DER "
			    "(intermediates after it, PEM)",
			  .complete = CMD_COMPLETE_FILE },
			{ .name = "ca", .type = CMD_ARG_FILE,
			  .flags = CMD_ARG_PATH, .metavar = "CA",
			  .help = "the device CA's root certificate",
			  .complete = CMD_COMPLETE_FILE },
		},
		.summary = "step 3: install the device certificate",
		.help = "Installs the certificate the device CA issued for the "
		    "request of step 2. It must chain to CA, be valid now, "
		    "name the device UUID as its CN and certify the TPM's "
		    "device key: a certificate for another key is refused. "
		    "CA is kept as the device CA anchor, which certifies "
		    "device keys and no software. Done once. Audited.",
		.flags = CMD_ADMIN | CMD_UNPROVISIONED_OK | CMD_FACTORY_ONLY,
	},
	{
		.words = "provision anchor",
		.family = "provision",
		.method = "org.cml.Provision.Anchor",
		.id = CMD_ID_PROVISION_ANCHOR,
		.args = {
			{ .name = "cert", .type = CMD_ARG_FILE,
			  .flags = CMD_ARG_PATH, .metavar = "CERT",
			  .help = "the anchor's CA certificate, PEM or DER",
			  .complete = CMD_COMPLETE_FILE },
			{ .name = "kind", .type = CMD_ARG_STRING,
			  .metavar = "supplier|owner",
			  .help = "supplier: software signing, fixed once "
			    "provisioned; owner: an admin may remove it" },
			{ .name = "confirm", .type = CMD_ARG_STRING,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION,
			  .metavar = "FINGERPRINT",
			  .help = "install it if its SHA-256 fingerprint is "
			    "this one (without: only show it)" },
		},
		.summary = "step 4: show, then install, a trust anchor",
		.help = "Without --confirm, shows the anchor's subject, key, "
		    "validity and fingerprint and stores nothing; with "
		    "--confirm FINGERPRINT (all 64 hex digits, as shown) it "
		    "installs it, if the fingerprint is the certificate's. "
		    "The step is done once a supplier anchor is installed; "
		    "owner anchors may be added until the lock. Audited.",
		.flags = CMD_ADMIN | CMD_UNPROVISIONED_OK | CMD_FACTORY_ONLY,
	},
	{
		.words = "provision token",
		.family = "provision",
		.method = "org.cml.Provision.Token",
		.id = CMD_ID_PROVISION_TOKEN,
		.args = {
			{ .name = "type", .type = CMD_ARG_STRING,
			  .metavar = "softtoken|usbtoken",
			  .help = "a key file scd keeps, or an OpenPGP card" },
			{ .name = "reader", .type = CMD_ARG_STRING,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION,
			  .metavar = "READER",
			  .help = "the card's reader (usbtoken; default: the "
			    "one reader with an OpenPGP card)" },
			{ .name = "generate-puk", .type = CMD_ARG_BOOL,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION |
			    CMD_ARG_LOCAL,
			  .metavar = "--generate-puk",
			  .help = "have scd make the PUK (12 digits), shown "
			    "once, instead of asking for one" },
			TOKEN_PIN_STDIN,
			{ .name = "pin", .type = CMD_ARG_SECRET,
			  .flags = CMD_ARG_NEW, .metavar = "PIN",
			  .help = "the initial PIN, 6 to 64 characters: asked "
			    "twice" },
			{ .name = "puk", .type = CMD_ARG_SECRET,
			  .flags = CMD_ARG_NEW | CMD_ARG_OPTIONAL,
			  .metavar = "PUK", .unless = "generate-puk",
			  .help = "the PUK, 8 to 64 characters: asked twice "
			    "(not with --generate-puk)" },
		},
		.summary = "step 5: make c0's token, its PIN and PUK",
		.help = "Makes the token of c0, the management container (c0 "
		    "is made now if it is not yet: c0_guestos must name an "
		    "installed guest OS), with the initial PIN and the PUK, "
		    "or with --generate-puk a PUK scd makes, shown once: "
		    "write it down. Neither is stored in clear, logged or "
		    "audited. Done once.",
		.flags = CMD_ADMIN | CMD_UNPROVISIONED_OK | CMD_FACTORY_ONLY,
	},
	{
		.words = "provision settings",
		.family = "provision",
		.method = "org.cml.Provision.Settings",
		.id = CMD_ID_PROVISION_SETTINGS,
		.args = {
			{ .name = "settings", .type = CMD_ARG_STRINGS,
			  .metavar = "KEY=VALUE",
			  .help = "the settings to set",
			  .complete = CMD_COMPLETE_SETTING },
		},
		.summary = "step 6: set device settings, all or none",
		.help = "Checks every KEY=VALUE first (audit_capacity and its "
		    "thresholds, audit_forward_host, net_guard_uplinks, ...: "
		    "'device config get' lists them), then stores and "
		    "applies them all; none is set if one is invalid. May be "
		    "run again until the lock. Audited.",
		.flags = CMD_ADMIN | CMD_UNPROVISIONED_OK | CMD_FACTORY_ONLY,
	},
	{
		.words = "provision lock",
		.family = "provision",
		.method = "org.cml.Provision.Lock",
		.id = CMD_ID_PROVISION_LOCK,
		.summary = "step 7: lock the device: provisioned, for good",
		.help = "Makes the device provisioned, one way (only 'device "
		    "wipe' returns to factory): container configs must then "
		    "be signed, factory-only commands are refused and "
		    "supplier anchors cannot be removed. Refused while a "
		    "step before it is not done. Audited.",
		.flags = CMD_ADMIN | CMD_DESTRUCTIVE | CMD_UNPROVISIONED_OK |
		    CMD_FACTORY_ONLY,
	},
	{
		.words = "provision report",
		.family = "provision",
		.method = "org.cml.Provision.Report",
		.id = CMD_ID_PROVISION_REPORT,
		.summary = "the provisioning report, signed in the TPM",
		.help = "Prints the provisioning report: the device identity, "
		    "every step with its result, the anchors and the "
		    "settings, signed with the TPM device key, with the "
		    "device certificate; --json gives the form cml-attest "
		    "--report verifies off the device. Audited.",
		.flags = CMD_ADMIN | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "audit list",
		.family = "audit",
		.method = "org.cml.Audit.List",
		.id = CMD_ID_AUDIT_LIST,
		.args = {
			{ .name = "last", .type = CMD_ARG_INT,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION,
			  .metavar = "N", .help = "only the last N records "
			    "(of those the other options select)",
			  .min = 1, .max = 1000000 },
			{ .name = "since", .type = CMD_ARG_STRING,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION,
			  .metavar = "TIME", .help = "only records at or after "
			    "TIME: RFC 3339 (2026-12-03T10:00:00Z), a date "
			    "(2026-12-03, midnight UTC) or a span before now "
			    "(30s, 10m, 2h, 7d)" },
			{ .name = "until", .type = CMD_ARG_STRING,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION,
			  .metavar = "TIME", .help = "only records before TIME, "
			    "given as for --since" },
			{ .name = "container", .type = CMD_ARG_STRING,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION,
			  .metavar = "NAME", .help = "only records about this "
			    "container",
			  .complete = CMD_COMPLETE_CONTAINER },
			{ .name = "type", .type = CMD_ARG_STRING,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION,
			  .metavar = "TYPE", .help = "only records of this type: "
			    "call, session, daemon, container, tpm2d, scd, "
			    "audit, integrity or kernel (cml-audit(5))",
			  .complete = CMD_COMPLETE_AUDIT_TYPE },
			{ .name = "result", .type = CMD_ARG_STRING,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION,
			  .metavar = "RESULT", .help = "only records with this "
			    "result: ok, or an error name",
			  .complete = CMD_COMPLETE_AUDIT_RESULT },
			{ .name = "uid", .type = CMD_ARG_INT,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION,
			  .metavar = "UID", .help = "only records of callers "
			    "with this uid (cmld's own records carry its uid)",
			  .min = 0, .max = 4294967295LL },
		},
		.summary = "show audit records",
		.help = "Shows the audit trail, oldest first: sequence number, "
		    "UTC time, type, caller uid and pid (cmld for the "
		    "daemon's own records), container, object, result and "
		    "details. The options select records; all that are given "
		    "must match. Long trails arrive in parts.",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK | CMD_STREAMS,
	},
	{
		.words = "audit show",
		.family = "audit",
		.method = "org.cml.Audit.Show",
		.id = CMD_ID_AUDIT_SHOW,
		.args = {
			{ .name = "seq", .type = CMD_ARG_INT, .metavar = "SEQ",
			  .help = "the record's sequence number",
			  .min = 1, .max = 9007199254740991LL },
		},
		.summary = "show one audit record whole",
		.help = "Shows record SEQ with every field: the subject's uid, "
		    "pid and command, the hash of the record before it and "
		    "its own (the chain), whether it was acknowledged, and "
		    "whether a signed checkpoint covers it yet.",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "audit ack",
		.family = "audit",
		.method = "org.cml.Audit.Ack",
		.id = CMD_ID_AUDIT_ACK,
		.args = {
			{ .name = "seq", .type = CMD_ARG_INT,
			  .flags = CMD_ARG_OPTIONAL, .metavar = "SEQ",
			  .help = "the record to acknowledge",
			  .min = 1, .max = 9007199254740991LL },
			{ .name = "up_to", .type = CMD_ARG_INT,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION,
			  .option = "up-to",
			  .metavar = "SEQ", .help = "acknowledge every record "
			    "up to and including SEQ",
			  .min = 1, .max = 9007199254740991LL },
		},
		.summary = "acknowledge audit records as reviewed",
		.help = "Marks record SEQ, or with --up-to every record up to "
		    "SEQ, as reviewed. When the trail is full and "
		    "audit_full_action is drop-acknowledged, only records an "
		    "operator acknowledged or the collector received are "
		    "dropped, oldest first. Works while the trail is full. "
		    "Audited.",
		.flags = CMD_OPERATOR | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "audit status",
		.family = "audit",
		.method = "org.cml.Audit.Status",
		.id = CMD_ID_AUDIT_STATUS,
		.summary = "show the audit trail's state",
		.help = "Shows the records held (first and last), the bytes "
		    "they take against audit_capacity and its two thresholds, "
		    "the level (ok, warning, critical, full), the action when "
		    "full and whether commands are refused, the oldest "
		    "unacknowledged record, the last signed checkpoint, and "
		    "forwarding (collector, state, cursor).",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "audit follow",
		.family = "audit",
		.method = "org.cml.Audit.Follow",
		.id = CMD_ID_AUDIT_FOLLOW,
		.args = {
			{ .name = "notices", .type = CMD_ARG_BOOL,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION,
			  .metavar = "--notices", .help = "only the notices: thresholds crossed, the "
			    "trail full, integrity violations" },
			{ .name = "after", .type = CMD_ARG_INT,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION,
			  .metavar = "SEQ", .help = "start after record SEQ "
			    "(default: the newest)",
			  .min = 0, .max = 9007199254740991LL },
		},
		.summary = "follow the audit trail live",
		.help = "Shows each record as it is stored, and notices at "
		    "once: a threshold of the trail crossed, the trail full, "
		    "an integrity violation (a failed verification, a broken "
		    "chain, an unseal refused). Runs until interrupted.",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK | CMD_STREAMS,
	},
	{
		.words = "audit export",
		.family = "audit",
		.method = "org.cml.Audit.Export",
		.id = CMD_ID_AUDIT_EXPORT,
		.summary = "export the audit trail with its chain",
		.help = "Prints the whole trail as JSON lines (a header, every "
		    "record with its hashes, every signed checkpoint; after "
		    "dropped records the checkpoint that anchors the rest "
		    "first). Redirect it to a file: cml-audit-verify(1) checks "
		    "it off the device with the device certificate and its "
		    "CA. Works while the trail is full.",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK | CMD_STREAMS,
	},
	{
		.words = "audit verify",
		.family = "audit",
		.method = "org.cml.Audit.Verify",
		.id = CMD_ID_AUDIT_VERIFY,
		.summary = "check the audit trail's chain and checkpoints",
		.help = "Recomputes every record's hash and the chain, and "
		    "checks every checkpoint's signature with the installed "
		    "device certificate's key; names the first broken record "
		    "or checkpoint. After dropped records it starts from the "
		    "signed checkpoint before the gap and says so. A broken "
		    "trail is recorded and notified as an integrity "
		    "violation.",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "audit session",
		.family = "audit",
		.method = "org.cml.Audit.Session",
		.id = CMD_ID_AUDIT_SESSION,
		.args = {
			{ .name = "event", .type = CMD_ARG_STRING,
			  .metavar = "EVENT", .help = "idle-ended, locked, "
			    "unlocked or unlock-failed" },
			{ .name = "user", .type = CMD_ARG_STRING,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION,
			  .metavar = "NAME", .help = "the account that "
			    "unlocked, or that an unlock named" },
			{ .name = "seconds", .type = CMD_ARG_INT,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION,
			  .metavar = "N", .help = "the time without a key "
			    "that ended or locked the session",
			  .min = 0, .max = 31536000 },
		},
		.summary = "record an event of this session",
		.help = "Records in the audit trail (type session, the caller "
		    "as its subject) what only a client sees of its own "
		    "session: cmlsh and cmltui report a session ended for "
		    "want of a key (session_idle_timeout), and cmltui its "
		    "screen locked, unlocked and a failed unlock. At most 10 "
		    "a minute for each user.",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "tpm reset-system-key",
		.family = "tpm",
		.method = "org.cml.Device.ResetSystemKey",
		.id = CMD_ID_DEVICE_RESET_SYSTEM_KEY,
		.summary = "destroy the TPM-sealed system key",
		.help = "Has tpm2d destroy the sealed system key (its blob and "
		    "the PCR values it was sealed against); tpm2d makes a new "
		    "one at its next start. Whatever the old key protected is "
		    "lost for good: the platform secret scd mixes into "
		    "PIN-derived keys, and where there is one the encrypted "
		    "state volume. Refused at once while tpm2d is not running. "
		    "Audited with the caller.",
		.flags = CMD_ADMIN | CMD_DESTRUCTIVE | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "ca list",
		.family = "ca",
		.method = "org.cml.Trust.List",
		.id = CMD_ID_TRUST_LIST,
		.summary = "show the trust anchors",
		.help = "Shows every trust anchor: fingerprint (SHA-256), "
		    "subject, key, end of validity, and its kind: supplier or "
		    "owner, or device (the device CA, which certifies device "
		    "keys and no software).",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "ca add",
		.family = "ca",
		.method = "org.cml.Trust.Add",
		.id = CMD_ID_TRUST_ADD,
		.args = {
			{ .name = "cert", .type = CMD_ARG_FILE,
			  .flags = CMD_ARG_PATH, .metavar = "CERT",
			  .help = "a CA certificate, PEM or DER",
			  .complete = CMD_COMPLETE_FILE },
		},
		.summary = "register an owner trust anchor",
		.help = "Registers a CA certificate as an owner trust anchor: "
		    "guest OSes and configs signed under it are accepted. "
		    "Refused for a certificate that is no CA, expired, or "
		    "outside the algorithm policy. Audited.",
		.flags = CMD_ADMIN | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "ca remove",
		.family = "ca",
		.method = "org.cml.Trust.Remove",
		.id = CMD_ID_TRUST_REMOVE,
		.args = {
			{ .name = "fingerprint", .type = CMD_ARG_STRING,
			  .metavar = "FINGERPRINT",
			  .help = "the anchor's fingerprint, or its first 8 or "
			    "more hex digits",
			  .complete = CMD_COMPLETE_ANCHOR },
		},
		.summary = "remove a trust anchor",
		.help = "Removes a trust anchor. Whatever is signed only under "
		    "it can no longer be installed, verified or started. "
		    "Once the device is provisioned, supplier and device "
		    "anchors cannot be removed. Audited.",
		.flags = CMD_ADMIN | CMD_UNPROVISIONED_OK | CMD_DESTRUCTIVE,
	},
	{
		.words = "guestos list",
		.family = "guestos",
		.method = "org.cml.GuestOS.List",
		.id = CMD_ID_GUESTOS_LIST,
		.summary = "show installed guest OSes",
		.help = "Shows every installed guest OS version with its signer, "
		    "number of images, their size in bytes and the install "
		    "time.",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "guestos install",
		.family = "guestos",
		.method = "org.cml.GuestOS.Install",
		.id = CMD_ID_GUESTOS_INSTALL,
		.args = {
			{ .name = "dir", .type = CMD_ARG_FILES,
			  .flags = CMD_ARG_PATH, .metavar = "DIR",
			  .help = "a guest OS directory: manifest.json, "
			    "manifest.json.p7s and the images",
			  .complete = CMD_COMPLETE_FILE },
		},
		.summary = "install a signed guest OS",
		.help = "Checks the manifest signature against the trust "
		    "anchors, then copies every image while checking its size "
		    "and SHA-256, then moves the copy into place at once. "
		    "Anything unsigned, tampered or older than what is "
		    "installed is refused, and nothing is left behind. "
		    "Audited.",
		.flags = CMD_ADMIN | CMD_UNPROVISIONED_OK | CMD_STREAMS,
	},
	{
		.words = "guestos verify",
		.family = "guestos",
		.method = "org.cml.GuestOS.Verify",
		.id = CMD_ID_GUESTOS_VERIFY,
		.args = {
			{ .name = "name", .type = CMD_ARG_STRING,
			  .metavar = "NAME", .help = "the guest OS",
			  .complete = CMD_COMPLETE_GUESTOS },
			{ .name = "version", .type = CMD_ARG_STRING,
			  .flags = CMD_ARG_OPTIONAL, .metavar = "VERSION",
			  .help = "which version (default: the newest)",
			  .complete = CMD_COMPLETE_GUESTOS_VERSION },
		},
		.summary = "check an installed guest OS",
		.help = "Checks the installed manifest's signature against the "
		    "current trust anchors and every image against its signed "
		    "size and SHA-256.",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK | CMD_STREAMS,
	},
	{
		.words = "guestos remove",
		.family = "guestos",
		.method = "org.cml.GuestOS.Remove",
		.id = CMD_ID_GUESTOS_REMOVE,
		.args = {
			{ .name = "name", .type = CMD_ARG_STRING,
			  .metavar = "NAME", .help = "the guest OS",
			  .complete = CMD_COMPLETE_GUESTOS },
			{ .name = "version", .type = CMD_ARG_STRING,
			  .flags = CMD_ARG_OPTIONAL, .metavar = "VERSION",
			  .help = "only this version (default: all)",
			  .complete = CMD_COMPLETE_GUESTOS_VERSION },
		},
		.summary = "remove an installed guest OS",
		.help = "Removes one version of a guest OS, or all of them, "
		    "from the store and the disk. Refused while a container "
		    "runs on that version, or, for all versions, while a "
		    "container is configured for it. Audited.",
		.flags = CMD_ADMIN | CMD_UNPROVISIONED_OK | CMD_DESTRUCTIVE,
	},
	{
		.words = "update info",
		.family = "update",
		.method = "org.cml.Update.Info",
		.id = CMD_ID_UPDATE_INFO,
		.args = {
			{ .name = "bundle", .type = CMD_ARG_FILE,
			  .flags = CMD_ARG_PATH, .metavar = "BUNDLE",
			  .help = "the bundle file (cml-bundle(5))",
			  .complete = CMD_COMPLETE_FILE },
		},
		.summary = "show what a bundle holds and whether it would install",
		.help = "Reads a bundle without installing it: its kind, name, "
		    "version and payloads, every signature with its signer "
		    "and the anchor it chains to (or why it does not "
		    "verify), the signers this device requires for the kind "
		    "and which of them are missing, the version floor, and "
		    "whether it would install now and if not, why. Payloads "
		    "are not hashed here; install hashes them.",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "update install",
		.family = "update",
		.method = "org.cml.Update.Install",
		.id = CMD_ID_UPDATE_INSTALL,
		.args = {
			{ .name = "bundle", .type = CMD_ARG_FILE,
			  .flags = CMD_ARG_PATH, .metavar = "BUNDLE",
			  .help = "the bundle file (cml-bundle(5))",
			  .complete = CMD_COMPLETE_FILE },
		},
		.summary = "install a signed update bundle",
		.help = "Checks the bundle's signatures against the anchors its "
		    "kind requires and the device's required signers, and its "
		    "version against the floor; then copies every payload "
		    "while hashing it and moves it into place at once: a "
		    "guest OS, container configs, or cml itself and the boot "
		    "image into their inactive slot, to be tried at the next "
		    "start and confirmed by 'update mark-good'. Anything "
		    "unsigned, tampered or below the floor is refused, and "
		    "nothing is left behind. Audited.",
		.flags = CMD_ADMIN | CMD_UNPROVISIONED_OK | CMD_STREAMS,
	},
	{
		.words = "update status",
		.family = "update",
		.method = "org.cml.Update.Status",
		.id = CMD_ID_UPDATE_STATUS,
		.summary = "show slots, versions, floors and recent installs",
		.help = "Shows the slots of cml and of the boot image (which "
		    "runs, which is good, which waits to be tried or "
		    "confirmed, the last fallback), the version floors of "
		    "every kind and name (as the state store and the TPM "
		    "hold them), the signers required per kind, and the "
		    "newest installs with their results.",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "update mark-good",
		.family = "update",
		.method = "org.cml.Update.MarkGood",
		.id = CMD_ID_UPDATE_MARK_GOOD,
		.summary = "confirm the running slot as good",
		.help = "Confirms that the slot cml runs from (after an update "
		    "of cml) works: it becomes the good slot and is started "
		    "from now on. Without it, the next start falls back to the "
		    "slot before. cmld confirms by itself once it and c0 are "
		    "up. Audited.",
		.flags = CMD_ADMIN | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "update receipt",
		.family = "update",
		.method = "org.cml.Update.Receipt",
		.id = CMD_ID_UPDATE_RECEIPT,
		.args = {
			{ .name = "id", .type = CMD_ARG_INT,
			  .flags = CMD_ARG_OPTIONAL, .metavar = "ID",
			  .help = "the install (default: the newest)",
			  .min = 1, .max = LLONG_MAX },
		},
		.summary = "a TPM-signed receipt of an install",
		.help = "Returns a record of an install (the bundle's digest, "
		    "kind, name, version, signers, time and result) signed "
		    "with the device key in the TPM, with a quote of the "
		    "measured PCRs over it and the measurement log: "
		    "'cml-attest --receipt' verifies it off the device.",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "container list",
		.family = "container",
		.method = "org.cml.Container.List",
		.id = CMD_ID_CONTAINER_LIST,
		.summary = "show the containers and their states",
		.help = "Shows every container: state (stopped, starting, "
		    "running, stopping, frozen, failed), guest OS and version, "
		    "init's pid, and why it failed or stopped.",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "container show",
		.family = "container",
		.method = "org.cml.Container.Show",
		.id = CMD_ID_CONTAINER_SHOW,
		.args = {
			{ .name = "name", .type = CMD_ARG_STRING,
			  .metavar = "NAME", .help = "the container",
			  .complete = CMD_COMPLETE_CONTAINER },
		},
		.summary = "show one container",
		.help = "Shows a container's state, reason, guest OS, signer, "
		    "hostname and main limits, its data volume (mount point, "
		    "size, space used while it runs, space its file takes, "
		    "file) and, while it runs, how each image is mounted (from "
		    "its file or a loop device).",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK | CMD_NEEDS_CONTAINER,
	},
	{
		.words = "container stats",
		.family = "container",
		.method = "org.cml.Container.Stats",
		.id = CMD_ID_CONTAINER_STATS,
		.args = {
			{ .name = "name", .type = CMD_ARG_STRING,
			  .flags = CMD_ARG_OPTIONAL, .metavar = "NAME",
			  .help = "only this container (default: all)",
			  .complete = CMD_COMPLETE_CONTAINER },
		},
		.summary = "show what the containers use",
		.help = "Shows each container's state and guest OS and, while "
		    "it runs or is frozen, how long since its start (seconds), "
		    "the CPU time of all its processes since then "
		    "(microseconds), the memory charged to it and its limit "
		    "(bytes), and its processes and threads, as its cgroups "
		    "count them. Cheap enough to be asked every second.",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK | CMD_NEEDS_CONTAINER,
	},
	{
		.words = "container config",
		.family = "container",
		.method = "org.cml.Container.Config",
		.id = CMD_ID_CONTAINER_CONFIG,
		.args = {
			{ .name = "name", .type = CMD_ARG_STRING,
			  .metavar = "NAME", .help = "the container",
			  .complete = CMD_COMPLETE_CONTAINER },
		},
		.summary = "show a container's effective config",
		.help = "Shows the effective config as JSON, defaults filled in: "
		    "the machine-readable security settings of the container.",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK | CMD_NEEDS_CONTAINER,
	},
	{
		.words = "container net show",
		.family = "container",
		.method = "org.cml.Container.NetShow",
		.id = CMD_ID_CONTAINER_NET_SHOW,
		.args = {
			{ .name = "name", .type = CMD_ARG_STRING,
			  .metavar = "NAME", .help = "the container",
			  .complete = CMD_COMPLETE_CONTAINER },
		},
		.summary = "show a container's network and the rules in force",
		.help = "Shows a container's network: its mode (island: only "
		    "lo; link: a veth pair to c0), the link's two ends and "
		    "their addresses, its DNS servers and assigned interfaces "
		    "(held while it runs), then the firewall rules in force "
		    "for it, as the kernel has them (none while it does not "
		    "run).",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK | CMD_NEEDS_CONTAINER,
	},
	{
		.words = "container create",
		.family = "container",
		.method = "org.cml.Container.Create",
		.id = CMD_ID_CONTAINER_CREATE,
		.args = {
			{ .name = "config", .type = CMD_ARG_FILE,
			  .flags = CMD_ARG_PATH | CMD_ARG_SIGNED,
			  .metavar = "CONFIG",
			  .help = "the config file (JSON)",
			  .complete = CMD_COMPLETE_FILE },
		},
		.summary = "register a container from its config",
		.help = "Registers a container from a config file (cml-container(5)). "
		    "CONFIG.p7s, if present, must verify against the trust "
		    "anchors; it is mandatory when require_signed_configs is on. "
		    "Audited.",
		.flags = CMD_ADMIN | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "container start",
		.family = "container",
		.method = "org.cml.Container.Start",
		.id = CMD_ID_CONTAINER_START,
		.args = {
			{ .name = "name", .type = CMD_ARG_STRING,
			  .metavar = "NAME", .help = "the container",
			  .complete = CMD_COMPLETE_CONTAINER },
			TOKEN_PIN_STDIN,
			{ .name = "pin", .type = CMD_ARG_SECRET,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_ON_DEMAND,
			  .metavar = "PIN",
			  .help = "the PIN of its token: asked for when the "
			    "container keeps its data encrypted" },
		},
		.summary = "start a container",
		.help = "Checks the guest OS images against their signed hashes, then "
		    "starts the container in its own namespaces and cgroups. "
		    "A container with encrypted storage (cml.storage.encrypted) "
		    "needs the PIN of its token: cmlsh asks for it (no echo) "
		    "when cmld says so, or reads it from stdin with "
		    "--pin-stdin; scd unwraps the volume's key with it, cmld "
		    "opens the LUKS2 volume and wipes the key. A wrong PIN "
		    "counts, and leaves the container locked. Audited (never "
		    "with the PIN).",
		.flags = CMD_ADMIN | CMD_UNPROVISIONED_OK | CMD_NEEDS_CONTAINER | CMD_STREAMS,
	},
	{
		.words = "container stop",
		.family = "container",
		.method = "org.cml.Container.Stop",
		.id = CMD_ID_CONTAINER_STOP,
		.args = {
			{ .name = "name", .type = CMD_ARG_STRING,
			  .metavar = "NAME", .help = "the container",
			  .complete = CMD_COMPLETE_CONTAINER },
		},
		.summary = "stop a container",
		.help = "Sends SIGTERM to its init, and SIGKILL when it has not ended "
		    "after stop_timeout seconds; answers once it has ended. "
		    "Audited.",
		.flags = CMD_ADMIN | CMD_UNPROVISIONED_OK | CMD_NEEDS_CONTAINER,
	},
	{
		.words = "container kill",
		.family = "container",
		.method = "org.cml.Container.Kill",
		.id = CMD_ID_CONTAINER_KILL,
		.args = {
			{ .name = "name", .type = CMD_ARG_STRING,
			  .metavar = "NAME", .help = "the container",
			  .complete = CMD_COMPLETE_CONTAINER },
		},
		.summary = "kill a container at once",
		.help = "Kills every process of the container with SIGKILL; answers "
		    "once it has ended. Audited.",
		.flags = CMD_ADMIN | CMD_UNPROVISIONED_OK | CMD_NEEDS_CONTAINER | CMD_DESTRUCTIVE,
	},
	{
		.words = "container freeze",
		.family = "container",
		.method = "org.cml.Container.Freeze",
		.id = CMD_ID_CONTAINER_FREEZE,
		.args = {
			{ .name = "name", .type = CMD_ARG_STRING,
			  .metavar = "NAME", .help = "the container",
			  .complete = CMD_COMPLETE_CONTAINER },
		},
		.summary = "freeze every process of a container",
		.help = "Stops every process of the container (cgroup freezer) until "
		    "it is unfrozen. Audited.",
		.flags = CMD_ADMIN | CMD_UNPROVISIONED_OK | CMD_NEEDS_CONTAINER,
	},
	{
		.words = "container unfreeze",
		.family = "container",
		.method = "org.cml.Container.Unfreeze",
		.id = CMD_ID_CONTAINER_UNFREEZE,
		.args = {
			{ .name = "name", .type = CMD_ARG_STRING,
			  .metavar = "NAME", .help = "the container",
			  .complete = CMD_COMPLETE_CONTAINER },
		},
		.summary = "let a frozen container run again",
		.help = "Lets the processes of a frozen container run again. Audited.",
		.flags = CMD_ADMIN | CMD_UNPROVISIONED_OK | CMD_NEEDS_CONTAINER,
	},
	{
		.words = "container remove",
		.family = "container",
		.method = "org.cml.Container.Remove",
		.id = CMD_ID_CONTAINER_REMOVE,
		.args = {
			{ .name = "name", .type = CMD_ARG_STRING,
			  .metavar = "NAME", .help = "the container",
			  .complete = CMD_COMPLETE_CONTAINER },
			{ .name = "purge", .type = CMD_ARG_BOOL,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION,
			  .metavar = "PURGE",
			  .help = "remove its data volume too" },
		},
		.summary = "remove a stopped container",
		.help = "Removes a container that is not running from the store. "
		    "Its data volume (cml.storage.volume) is kept, as a file "
		    "named by the container's id that no container is given "
		    "again, unless --purge removes it too. Its wrapped key "
		    "goes with it, and its token is removed from scd (the "
		    "answer says whether). Audited.",
		.flags = CMD_ADMIN | CMD_UNPROVISIONED_OK | CMD_NEEDS_CONTAINER | CMD_DESTRUCTIVE,
	},
	{
		.words = "container wipe",
		.family = "container",
		.method = "org.cml.Container.Wipe",
		.id = CMD_ID_CONTAINER_WIPE,
		.args = {
			{ .name = "name", .type = CMD_ARG_STRING,
			  .metavar = "NAME", .help = "the container",
			  .complete = CMD_COMPLETE_CONTAINER },
		},
		.summary = "destroy a container's data for good, and prove it",
		.help = "Destroys the data of a container that is not running: "
		    "the LUKS2 header and keyslots of its encrypted volume are "
		    "overwritten (a plain volume is overwritten whole), the "
		    "volume file is removed and its wrapped key deleted from "
		    "cmld's database; then cmld checks that no key, header, "
		    "volume or device-mapper device of it remains, and "
		    "reports each check. The container and its token stay: "
		    "its next start makes a new, empty volume under a new "
		    "key. Audited.",
		.flags = CMD_ADMIN | CMD_UNPROVISIONED_OK | CMD_NEEDS_CONTAINER | CMD_DESTRUCTIVE,
	},
	{
		.words = "container exec",
		.family = "container",
		.method = "org.cml.Container.Exec",
		.id = CMD_ID_CONTAINER_EXEC,
		.args = {
			{ .name = "name", .type = CMD_ARG_STRING,
			  .metavar = "NAME", .help = "the container",
			  .complete = CMD_COMPLETE_CONTAINER },
			{ .name = "interactive", .type = CMD_ARG_BOOL,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION,
			  .metavar = "STDIN",
			  .letter = 'i',
			  .help = "pass the caller's stdin on to the command" },
			{ .name = "tty", .type = CMD_ARG_BOOL,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION,
			  .metavar = "TTY",
			  .letter = 't',
			  .help = "run the command on a pseudo-terminal of the "
			    "container (the caller's terminal goes raw)" },
			{ .name = "rows", .type = CMD_ARG_INT,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION,
			  .metavar = "N", .min = 1, .max = 65535,
			  .help = "with --tty, its height (cmlsh sends its "
			    "terminal's)" },
			{ .name = "cols", .type = CMD_ARG_INT,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION,
			  .metavar = "N", .min = 1, .max = 65535,
			  .help = "with --tty, its width (cmlsh sends its "
			    "terminal's)" },
			{ .name = "signals", .type = CMD_ARG_BOOL,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION,
			  .metavar = "SIGNALS",
			  .help = "pass the caller a pipe whose bytes are "
			    "signals for the command (cmlsh passes its "
			    "Ctrl-C on)" },
			{ .name = "command", .type = CMD_ARG_STRINGS,
			  .metavar = "COMMAND",
			  .help = "an absolute path inside the container, or a "
			    "name looked up in the container's PATH, and its "
			    "arguments (after --)" },
		},
		.summary = "run a command inside a container",
		.help = "Runs COMMAND in the running container's namespaces, root, "
		    "cgroups, capabilities and seccomp filter. Its output comes "
		    "back as it is written; the exit status is the command's "
		    "(128 + N for signal N). With -i the caller's stdin is the "
		    "command's (also without -i when cmlsh -c reads no "
		    "terminal); with -t the command runs on a pseudo-terminal "
		    "of the container, the caller's terminal is raw, its size "
		    "follows the caller's and Ctrl-C reaches the command. "
		    "Audited.",
		.flags = CMD_ADMIN | CMD_UNPROVISIONED_OK | CMD_NEEDS_CONTAINER | CMD_STREAMS,
	},
	{
		.words = "container logs",
		.family = "container",
		.method = "org.cml.Container.Logs",
		.id = CMD_ID_CONTAINER_LOGS,
		.args = {
			{ .name = "name", .type = CMD_ARG_STRING,
			  .metavar = "NAME", .help = "the container",
			  .complete = CMD_COMPLETE_CONTAINER },
			{ .name = "follow", .type = CMD_ARG_BOOL,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION,
			  .metavar = "FOLLOW",
			  .letter = 'f',
			  .help = "then show what init prints, until it ends" },
		},
		.summary = "show what the container's init printed",
		.help = "Shows the last 64 KiB its init printed on its console "
		    "since the last start, also after init ended; with "
		    "--follow, what it prints next, until init ends.",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK | CMD_NEEDS_CONTAINER | CMD_STREAMS,
	},
	{
		.words = "container console",
		.family = "container",
		.method = "org.cml.Container.Console",
		.id = CMD_ID_CONTAINER_CONSOLE,
		.args = {
			{ .name = "name", .type = CMD_ARG_STRING,
			  .metavar = "NAME", .help = "the container",
			  .complete = CMD_COMPLETE_CONTAINER },
			{ .name = "rows", .type = CMD_ARG_INT,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION,
			  .metavar = "N", .min = 1, .max = 65535,
			  .help = "the console's height (cmlsh sends its "
			    "terminal's)" },
			{ .name = "cols", .type = CMD_ARG_INT,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION,
			  .metavar = "N", .min = 1, .max = 65535,
			  .help = "the console's width (cmlsh sends its "
			    "terminal's)" },
		},
		.summary = "attach to the console of a container's init",
		.help = "Attaches the terminal to the console of the running "
		    "container's init: what init prints appears, what is "
		    "typed reaches init's stdin. Ctrl-] detaches; init runs "
		    "on. Audited.",
		.flags = CMD_ADMIN | CMD_UNPROVISIONED_OK | CMD_NEEDS_CONTAINER | CMD_STREAMS,
	},
	{
		.words = "net status",
		.family = "net",
		.method = "org.cml.Network.Status",
		.id = CMD_ID_NET_STATUS,
		.summary = "show the base ruleset, the address pool and the links",
		.help = "Shows whether cmld's base ruleset (table inet cml, "
		    "default deny) is loaded, the address pool and how much "
		    "of it is in use, the uplinks traffic is masqueraded on, "
		    "the uplinks c0 is guarded on with the ports it may be "
		    "reached at, "
		    "one line per container link (segment: container, c0's "
		    "end, addresses, rules) and the interfaces assigned to "
		    "containers.",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "net rules",
		.family = "net",
		.method = "org.cml.Network.Rules",
		.id = CMD_ID_NET_RULES,
		.summary = "show the firewall rules in force",
		.help = "Shows cmld's nftables table as the kernel has it: "
		    "each chain with its hook, priority and policy, and its "
		    "rules with handle, comment and expression.",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "token init",
		.family = "token",
		.method = "org.cml.Token.Init",
		.id = CMD_ID_TOKEN_INIT,
		.args = {
			TOKEN_NAME,
			{ .name = "reader", .type = CMD_ARG_STRING,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION,
			  .metavar = "READER",
			  .help = "the card's reader (usbtoken; default: the "
			    "one reader with an OpenPGP card; 'token "
			    "readers' lists them)" },
			{ .name = "generate-puk", .type = CMD_ARG_BOOL,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION |
			    CMD_ARG_LOCAL,
			  .metavar = "--generate-puk",
			  .help = "have scd make the PUK (12 digits), shown "
			    "once, instead of asking for one" },
			{ .name = "force", .type = CMD_ARG_BOOL,
			  .flags = CMD_ARG_OPTIONAL | CMD_ARG_OPTION,
			  .metavar = "--force",
			  .help = "replace the token there is (destroys what "
			    "it protected; a card is reset)" },
			TOKEN_PIN_STDIN,
			{ .name = "pin", .type = CMD_ARG_SECRET,
			  .flags = CMD_ARG_NEW, .metavar = "PIN",
			  .help = "the first PIN, 6 to 64 characters: asked "
			    "twice" },
			{ .name = "puk", .type = CMD_ARG_SECRET,
			  .flags = CMD_ARG_NEW | CMD_ARG_OPTIONAL,
			  .metavar = "PUK", .unless = "generate-puk",
			  .help = "the PUK, 8 to 64 characters, which unblocks "
			    "the PIN: asked twice (not with --generate-puk)" },
		},
		.summary = "make a container's token, its PIN and PUK",
		.help = "Makes the token the container's config names "
		    "(cml.token.type: softtoken, a key file scd keeps, or "
		    "usbtoken, an OpenPGP card) and binds it to the "
		    "container. The flow: cmlsh asks for the first PIN twice "
		    "(no echo; there is never a default PIN), then for the "
		    "PUK twice, or with --generate-puk scd makes one and "
		    "cmlsh shows it once: write it down. scd generates the "
		    "token's keys (on the card, for a usbtoken) and sets its "
		    "counters from token_pin_tries and token_puk_tries; cmld "
		    "then makes the container's key, has it wrapped under "
		    "the token and keeps only the wrapped key. A container "
		    "whose config says cml.token.type none has no token. "
		    "Audited (never with a PIN or PUK).",
		.flags = CMD_ADMIN | CMD_UNPROVISIONED_OK | CMD_NEEDS_CONTAINER,
	},
	{
		.words = "token status",
		.family = "token",
		.method = "org.cml.Token.Status",
		.id = CMD_ID_TOKEN_STATUS,
		.args = {
			TOKEN_NAME,
		},
		.summary = "show a container's token: tries left, state",
		.help = "Shows the container's token as scd keeps it: type, "
		    "serial, reader, whether it is present, the PIN and PUK "
		    "tries left of their maximum, its state (ready, "
		    "pin-blocked: unblock it with the PUK, or blocked: only "
		    "token init again) and whether the container's key is "
		    "bound to it.",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK |
		    CMD_NEEDS_CONTAINER,
	},
	{
		.words = "token readers",
		.family = "token",
		.method = "org.cml.Token.Readers",
		.id = CMD_ID_TOKEN_READERS,
		.summary = "list the smartcard readers scd sees",
		.help = "Lists the PC/SC readers and what is in each: no "
		    "card, an OpenPGP card (its serial and version) or "
		    "another card.",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "token verify",
		.family = "token",
		.method = "org.cml.Token.Verify",
		.id = CMD_ID_TOKEN_VERIFY,
		.args = {
			TOKEN_NAME, TOKEN_PIN_STDIN,
			{ .name = "pin", .type = CMD_ARG_SECRET,
			  .metavar = "PIN", .help = "the PIN: asked for" },
		},
		.summary = "check the PIN and the container's key",
		.help = "Asks for the PIN and has scd unwrap the container's "
		    "key with it, checking the key against its check value. "
		    "A wrong PIN counts: every failure says the same, with "
		    "the tries left on a line of its own. Audited.",
		.flags = CMD_OPERATOR | CMD_UNPROVISIONED_OK |
		    CMD_NEEDS_CONTAINER,
	},
	{
		.words = "token change-pin",
		.family = "token",
		.method = "org.cml.Token.ChangePIN",
		.id = CMD_ID_TOKEN_CHANGE_PIN,
		.args = {
			TOKEN_NAME, TOKEN_PIN_STDIN,
			{ .name = "pin", .type = CMD_ARG_SECRET,
			  .metavar = "PIN", .help = "the PIN now: asked for" },
			TOKEN_NEW_PIN,
		},
		.summary = "change a token's PIN",
		.help = "Asks for the PIN, then for the new one twice. A wrong "
		    "PIN counts as in token verify. Operators may change a "
		    "PIN. Audited.",
		.flags = CMD_OPERATOR | CMD_UNPROVISIONED_OK |
		    CMD_NEEDS_CONTAINER,
	},
	{
		.words = "token unblock",
		.family = "token",
		.method = "org.cml.Token.Unblock",
		.id = CMD_ID_TOKEN_UNBLOCK,
		.args = {
			TOKEN_NAME, TOKEN_PIN_STDIN,
			{ .name = "puk", .type = CMD_ARG_SECRET,
			  .metavar = "PUK", .help = "the PUK: asked for" },
			TOKEN_NEW_PIN,
		},
		.summary = "unblock a PIN with the PUK, setting a new PIN",
		.help = "Asks for the PUK, then for a new PIN twice. A wrong "
		    "PUK counts against the PUK's tries; when none is left "
		    "the token is blocked for good and only token init "
		    "makes it anew (destroying what it protected). Operators "
		    "may unblock. Audited.",
		.flags = CMD_OPERATOR | CMD_UNPROVISIONED_OK |
		    CMD_NEEDS_CONTAINER,
	},
	{
		.words = "api info",
		.family = "api",
		.method = "org.varlink.service.GetInfo",
		.id = CMD_ID_SERVICE_GET_INFO,
		.summary = "show the service and its varlink interfaces",
		.help = "Shows what org.varlink.service.GetInfo answers: vendor, "
		    "product, version and the interfaces cmld implements.",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK,
	},
	{
		.words = "api describe",
		.family = "api",
		.method = "org.varlink.service.GetInterfaceDescription",
		.id = CMD_ID_SERVICE_GET_INTERFACE_DESCRIPTION,
		.args = {
			{ .name = "interface", .type = CMD_ARG_STRING,
			  .metavar = "INTERFACE",
			  .help = "an interface name, e.g. org.cml.Device",
			  .complete = CMD_COMPLETE_INTERFACE },
		},
		.summary = "show the description of a varlink interface",
		.help = "Prints the interface definition: every method with its "
		    "parameters and replies, types and errors.",
		.flags = CMD_READONLY | CMD_UNPROVISIONED_OK,
	},
};
const size_t cmd_table_len = sizeof cmd_table / sizeof cmd_table[0];

const struct cmd_entry *
cmd_find_method_in(const struct cmd_entry *table, size_t len,
    const char *method)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (strcmp(table[i].method, method) == 0)
			return &table[i];
	return NULL;
}

const struct cmd_entry *
cmd_find_method(const char *method)
{
	return cmd_find_method_in(cmd_table, cmd_table_len, method);
}

const struct cmd_entry *
cmd_find_words(const char *words)
{
	size_t i;

	for (i = 0; i < cmd_table_len; i++)
		if (strcmp(cmd_table[i].words, words) == 0)
			return &cmd_table[i];
	return NULL;
}

const struct cmd_family *
cmd_find_family(const char *name)
{
	size_t i;

	for (i = 0; i < cmd_families_len; i++)
		if (strcmp(cmd_families[i].name, name) == 0)
			return &cmd_families[i];
	return NULL;
}

/* Returns how many of argv's words spell cmd's words, or 0. */
static int
cmd_words_match(const struct cmd_entry *cmd, int argc, char *const *argv)
{
	const char *w = cmd->words;
	size_t len;
	int n = 0;

	while (*w != '\0') {
		len = strcspn(w, " ");
		if (n >= argc || strlen(argv[n]) != len ||
		    strncmp(argv[n], w, len) != 0)
			return 0;
		n++;
		w += len;
		while (*w == ' ')
			w++;
	}
	return n;
}

const struct cmd_entry *
cmd_match(int argc, char *const *argv, int *consumed)
{
	const struct cmd_entry *best = NULL;
	size_t i;
	int n, bestn = 0;

	for (i = 0; i < cmd_table_len; i++) {
		n = cmd_words_match(&cmd_table[i], argc, argv);
		if (n > bestn) {
			best = &cmd_table[i];
			bestn = n;
		}
	}
	if (consumed != NULL)
		*consumed = bestn;
	return best;
}

/* Parses a decimal integer in [min, max]; -1 with *cause set. */
static int
cmd_parse_int(const struct cmd_arg *arg, const char *s, long long *out,
    char **cause)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno == ERANGE) {
		*cause = xasprintf("%s must be an integer, not '%s'",
		    arg->metavar, s);
		return -1;
	}
	if (v < arg->min || v > arg->max) {
		*cause = xasprintf("%s must be between %lld and %lld, not %lld",
		    arg->metavar, arg->min, arg->max, v);
		return -1;
	}
	*out = v;
	return 0;
}

/* Makes a relative path absolute, since cmld opens it; NULL on error. */
static struct json_object *
cmd_absolute_path(const char *s, char **cause)
{
	struct json_object *o;
	char *cwd, *abs;

	if ((cwd = getcwd(NULL, 0)) == NULL) {
		*cause = xasprintf("cannot make '%s' absolute: %s", s,
		    strerror(errno));
		return NULL;
	}
	abs = xasprintf("%s%s%s", cwd, strcmp(cwd, "/") == 0 ? "" : "/", s);
	o = json_object_new_string(abs);
	free(abs);
	free(cwd);
	return o;
}

/* Converts one word to the argument's JSON value; -1 with *cause set. */
static struct json_object *
cmd_arg_value(const struct cmd_arg *arg, const char *s, char **cause)
{
	long long v;

	switch (arg->type) {
	case CMD_ARG_INT:
		if (cmd_parse_int(arg, s, &v, cause) == -1)
			return NULL;
		return json_object_new_int64(v);
	case CMD_ARG_BOOL:
		return json_object_new_boolean(1);
	case CMD_ARG_STRING:
	case CMD_ARG_STRINGS:
	case CMD_ARG_FILE:
	case CMD_ARG_FILES:
	case CMD_ARG_INTS:
	case CMD_ARG_SECRET:
		break;
	}
	/* a file's path stays a string until the client opens it */
	if ((arg->flags & CMD_ARG_PATH) && s[0] != '/')
		return cmd_absolute_path(s, cause);
	return json_object_new_string(s);
}

int
cmd_arg_positional(const struct cmd_arg *arg)
{
	return !(arg->flags & CMD_ARG_OPTION) && arg->type != CMD_ARG_SECRET;
}

size_t
cmd_secret_count(const struct cmd_entry *cmd)
{
	const struct cmd_arg *a;
	size_t n = 0;

	for (a = cmd->args; a->name != NULL; a++)
		if (a->type == CMD_ARG_SECRET)
			n++;
	return n;
}

void
cmd_wipe_secrets(const struct cmd_entry *cmd, struct json_object *params)
{
	const struct cmd_arg *a;
	struct json_object *v;

	if (cmd == NULL || params == NULL)
		return;
	for (a = cmd->args; a->name != NULL; a++)
		if (a->type == CMD_ARG_SECRET &&
		    json_object_object_get_ex(params, a->name, &v) &&
		    json_object_is_type(v, json_type_string))
			explicit_bzero((char *)json_object_get_string(v),
			    (size_t)json_object_get_string_len(v));
}

/* Returns the secret argument of cmd named name, or NULL. */
static const struct cmd_arg *
cmd_find_secret(const struct cmd_entry *cmd, const char *name)
{
	const struct cmd_arg *a;

	for (a = cmd->args; a->name != NULL; a++)
		if (a->type == CMD_ARG_SECRET && strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

/* Finds the --name option of cmd; NULL if none. */
static const struct cmd_arg *
cmd_find_option(const struct cmd_entry *cmd, const char *name)
{
	const struct cmd_arg *a;

	for (a = cmd->args; a->name != NULL; a++)
		if ((a->flags & CMD_ARG_OPTION) &&
		    strcmp(CMD_ARG_OPTION_NAME(a), name) == 0)
			return a;
	return NULL;
}

/* Finds the option of cmd given as -letter; NULL if none. */
static const struct cmd_arg *
cmd_find_letter(const struct cmd_entry *cmd, char letter)
{
	const struct cmd_arg *a;

	for (a = cmd->args; a->name != NULL; a++)
		if (a->letter != '\0' && a->letter == letter)
			return a;
	return NULL;
}

/* Says whether cmd has options given as -LETTER. */
static int
cmd_has_letters(const struct cmd_entry *cmd)
{
	const struct cmd_arg *a;

	for (a = cmd->args; a->name != NULL; a++)
		if (a->letter != '\0')
			return 1;
	return 0;
}

int
cmd_parse_args(const struct cmd_entry *cmd, int argc, char *const *argv,
    struct json_object **params, char **cause)
{
	const struct cmd_arg *a, *pos = cmd->args;
	struct json_object *p, *v, *rest = NULL;
	int i, dashdash = 0;

	p = json_object_new_object();
	for (i = 0; i < argc; i++) {
		const char *w = argv[i];

		if (!dashdash && strcmp(w, "--") == 0) {
			dashdash = 1;
			continue;
		}
		if (!dashdash && rest == NULL && strncmp(w, "--", 2) == 0) {
			if ((a = cmd_find_secret(cmd, w + 2)) != NULL) {
				/* the line may be in a history, ps or a log */
				*cause = xasprintf("the %s is never given on "
				    "the command line: it is asked for without "
				    "echo, or read from stdin with --%s",
				    a->metavar, CMD_SECRET_STDIN);
				goto fail;
			}
			if ((a = cmd_find_option(cmd, w + 2)) == NULL) {
				*cause = xasprintf("unknown option '%s'", w);
				goto fail;
			}
			if (json_object_object_get_ex(p, a->name, NULL)) {
				*cause = xasprintf("option '%s' given twice", w);
				goto fail;
			}
			if (a->type != CMD_ARG_BOOL && ++i >= argc) {
				*cause = xasprintf("option '%s' needs a value "
				    "(%s)", w, a->metavar);
				goto fail;
			}
			if ((v = cmd_arg_value(a, argv[i], cause)) == NULL)
				goto fail;
			json_object_object_add(p, a->name, v);
			continue;
		}
		/* with -LETTER options, "-x" is one too, known or not */
		if (!dashdash && rest == NULL && w[0] == '-' && w[1] != '-' &&
		    w[1] != '\0' && cmd_has_letters(cmd)) {
			const char *l;

			for (l = w + 1; *l != '\0'; l++) {
				if ((a = cmd_find_letter(cmd, *l)) == NULL) {
					*cause = xasprintf("unknown option "
					    "'-%c'", *l);
					goto fail;
				}
				if (json_object_object_get_ex(p, a->name,
				    NULL)) {
					*cause = xasprintf("option '-%c' given "
					    "twice", *l);
					goto fail;
				}
				json_object_object_add(p, a->name,
				    json_object_new_boolean(1));
			}
			continue;
		}
		if (rest != NULL) {
			json_object_array_add(rest, json_object_new_string(w));
			continue;
		}
		while (pos->name != NULL && !cmd_arg_positional(pos))
			pos++;
		if (pos->name == NULL) {
			*cause = xasprintf("too many arguments (unexpected "
			    "'%s')", w);
			goto fail;
		}
		if (pos->type == CMD_ARG_STRINGS) {
			rest = json_object_new_array();
			json_object_array_add(rest, json_object_new_string(w));
			json_object_object_add(p, pos->name, rest);
		} else {
			if ((v = cmd_arg_value(pos, w, cause)) == NULL)
				goto fail;
			json_object_object_add(p, pos->name, v);
		}
		pos++;
	}
	for (a = cmd->args; a->name != NULL; a++) {
		/* secrets are asked for once the words are right */
		if (!(a->flags & CMD_ARG_OPTIONAL) &&
		    a->type != CMD_ARG_SECRET &&
		    !json_object_object_get_ex(p, a->name, NULL)) {
			*cause = xasprintf("missing %s", a->metavar);
			goto fail;
		}
	}
	*params = p;
	return 0;
fail:
	json_object_put(p);
	return -1;
}

/* Returns the argument of cmd named name, or NULL. */
static const struct cmd_arg *
cmd_find_arg(const struct cmd_entry *cmd, const char *name)
{
	const struct cmd_arg *a;

	for (a = cmd->args; a->name != NULL; a++)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

/* Says whether v is a descriptor index: an integer from 0. */
static int
cmd_is_fd_index(struct json_object *v)
{
	return v != NULL && json_object_is_type(v, json_type_int) &&
	    json_object_get_int64(v) >= 0 &&
	    json_object_get_int64(v) < CMD_MAX_FDS;
}

/* Says whether v is a string of 1 to max bytes. */
static int
cmd_is_name(struct json_object *v, int max)
{
	return v != NULL && json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) > 0 &&
	    json_object_get_string_len(v) <= max;
}

/* Checks a passed file: {"fd": N, "name": S[, "signature": N]}. */
static int
cmd_check_file(const struct cmd_arg *a, struct json_object *v, char **cause)
{
	if (!json_object_is_type(v, json_type_object))
		goto bad;
	json_object_object_foreach(v, key, m) {
		if (strcmp(key, "fd") == 0 && cmd_is_fd_index(m))
			continue;
		if (strcmp(key, "name") == 0 && cmd_is_name(m, CMD_MAX_STRING))
			continue;
		if (strcmp(key, "signature") == 0 &&
		    (a->flags & CMD_ARG_SIGNED) && cmd_is_fd_index(m))
			continue;
		goto bad;
	}
	if (json_object_object_get(v, "fd") == NULL ||
	    json_object_object_get(v, "name") == NULL)
		goto bad;
	return 0;
bad:
	*cause = xasprintf("'%s' must be a passed file: {\"fd\": N, "
	    "\"name\": PATH%s}, N indexing the descriptors passed with the "
	    "call", a->name, (a->flags & CMD_ARG_SIGNED) ?
	    ", \"signature\": N" : "");
	return -1;
}

/* Checks passed directory entries: {"name": S, "files": {E: N, ...}}. */
static int
cmd_check_files(const struct cmd_arg *a, struct json_object *v, char **cause)
{
	struct json_object *files = NULL;

	if (!json_object_is_type(v, json_type_object) ||
	    json_object_object_length(v) != 2 ||
	    !cmd_is_name(json_object_object_get(v, "name"), CMD_MAX_STRING) ||
	    !json_object_object_get_ex(v, "files", &files) ||
	    files == NULL || !json_object_is_type(files, json_type_object) ||
	    json_object_object_length(files) > CMD_MAX_FDS)
		goto bad;
	json_object_object_foreach(files, key, m) {
		if (!cmd_is_fd_index(m) || key[0] == '\0' ||
		    strlen(key) > CMD_MAX_FILE_NAME || strchr(key, '/') != NULL ||
		    strcmp(key, ".") == 0 || strcmp(key, "..") == 0)
			goto bad;
	}
	return 0;
bad:
	*cause = xasprintf("'%s' must be passed files: {\"name\": PATH, "
	    "\"files\": {NAME: N, ...}} with at most %d plain file names, N "
	    "indexing the descriptors passed with the call", a->name,
	    CMD_MAX_FDS);
	return -1;
}

/* Checks one received value against its argument; -1 with *cause set. */
static int
cmd_check_value(const struct cmd_arg *a, struct json_object *v, char **cause)
{
	size_t i, n;
	long long iv;

	switch (a->type) {
	case CMD_ARG_SECRET:
		/* never quoted back: it may be a PIN typed in a wrong place */
		if (!json_object_is_type(v, json_type_string) ||
		    strlen(json_object_get_string(v)) !=
		    (size_t)json_object_get_string_len(v) ||
		    json_object_get_string_len(v) == 0 ||
		    json_object_get_string_len(v) > CMD_MAX_SECRET) {
			*cause = xasprintf("'%s' must be a string of 1 to %d "
			    "bytes without NUL", a->name, CMD_MAX_SECRET);
			return -1;
		}
		return 0;
	case CMD_ARG_STRING:
		if (!json_object_is_type(v, json_type_string)) {
			*cause = xasprintf("'%s' must be a string", a->name);
			return -1;
		}
		if (strlen(json_object_get_string(v)) !=
		    (size_t)json_object_get_string_len(v)) {
			*cause = xasprintf("'%s' contains a NUL character",
			    a->name);
			return -1;
		}
		if (json_object_get_string_len(v) > CMD_MAX_STRING) {
			*cause = xasprintf("'%s' is longer than %d bytes",
			    a->name, CMD_MAX_STRING);
			return -1;
		}
		return 0;
	case CMD_ARG_FILE:
		return cmd_check_file(a, v, cause);
	case CMD_ARG_FILES:
		return cmd_check_files(a, v, cause);
	case CMD_ARG_INT:
		if (!json_object_is_type(v, json_type_int)) {
			*cause = xasprintf("'%s' must be an integer", a->name);
			return -1;
		}
		iv = json_object_get_int64(v);
		if (iv < a->min || iv > a->max) {
			*cause = xasprintf("'%s' must be between %lld and %lld",
			    a->name, a->min, a->max);
			return -1;
		}
		return 0;
	case CMD_ARG_BOOL:
		if (!json_object_is_type(v, json_type_boolean)) {
			*cause = xasprintf("'%s' must be a boolean", a->name);
			return -1;
		}
		return 0;
	case CMD_ARG_STRINGS:
		if (!json_object_is_type(v, json_type_array)) {
			*cause = xasprintf("'%s' must be an array of strings",
			    a->name);
			return -1;
		}
		n = json_object_array_length(v);
		for (i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(v, i);

			if (!json_object_is_type(e, json_type_string)) {
				*cause = xasprintf("'%s' must be an array of "
				    "strings", a->name);
				return -1;
			}
		}
		return 0;
	case CMD_ARG_INTS:
		if (!json_object_is_type(v, json_type_array) ||
		    json_object_array_length(v) > CMD_MAX_INTS) {
			*cause = xasprintf("'%s' must be an array of at most "
			    "%d integers", a->name, CMD_MAX_INTS);
			return -1;
		}
		n = json_object_array_length(v);
		for (i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(v, i);

			if (!json_object_is_type(e, json_type_int) ||
			    json_object_get_int64(e) < a->min ||
			    json_object_get_int64(e) > a->max) {
				*cause = xasprintf("'%s' must be an array of "
				    "integers between %lld and %lld", a->name,
				    a->min, a->max);
				return -1;
			}
		}
		return 0;
	}
	return 0;
}

int
cmd_check_params(const struct cmd_entry *cmd, struct json_object *params,
    const char **param, char **cause)
{
	const struct cmd_arg *a;
	struct json_object *v;

	json_object_object_foreach(params, key, val) {
		/* the shell's own options are never parameters */
		if ((a = cmd_find_arg(cmd, key)) == NULL ||
		    (a->flags & CMD_ARG_LOCAL)) {
			*param = key;
			{
				char *q = jsonstrict_quotes(key);

				*cause = xasprintf("unknown parameter '%s'", q);
				free(q);
			}
			return -1;
		}
		if (val == NULL && (a->flags & CMD_ARG_OPTIONAL))
			continue;
		if (val == NULL || cmd_check_value(a, val, cause) == -1) {
			*param = a->name;
			if (val == NULL)
				*cause = xasprintf("'%s' must not be null",
				    a->name);
			return -1;
		}
	}
	for (a = cmd->args; a->name != NULL; a++) {
		if (a->flags & CMD_ARG_OPTIONAL)
			continue;
		if (!json_object_object_get_ex(params, a->name, &v) ||
		    v == NULL) {
			*param = a->name;
			*cause = xasprintf("missing parameter '%s'", a->name);
			return -1;
		}
	}
	return 0;
}

char *
cmd_arg_label(const struct cmd_arg *a)
{
	if ((a->flags & CMD_ARG_OPTION) && a->letter != '\0')
		return xasprintf("-%c|--%s", a->letter,
		    CMD_ARG_OPTION_NAME(a));
	if (a->flags & CMD_ARG_OPTION)
		return a->type == CMD_ARG_BOOL ?
		    xasprintf("--%s", CMD_ARG_OPTION_NAME(a)) :
		    xasprintf("--%s %s", CMD_ARG_OPTION_NAME(a), a->metavar);
	if (a->type == CMD_ARG_STRINGS)
		return xasprintf("%s...", a->metavar);
	return xstrdup(a->metavar);
}

char *
cmd_synopsis(const struct cmd_entry *cmd)
{
	const struct cmd_arg *a;
	char *s, *t, *one;

	s = xstrdup(cmd->words);
	for (a = cmd->args; a->name != NULL; a++) {
		/* asked for, never typed */
		if (a->type == CMD_ARG_SECRET)
			continue;
		one = cmd_arg_label(a);
		if (a->flags & CMD_ARG_OPTIONAL)
			t = xasprintf("%s [%s]", s, one);
		else
			t = xasprintf("%s %s", s, one);
		free(one);
		free(s);
		s = t;
	}
	return s;
}

char *
cmd_flag_notes(int flags)
{
	static const struct {
		int flag;
		const char *note;
	} notes[] = {
		{ CMD_ADMIN, "Admin only." },
		{ CMD_READONLY, "Read-only." },
		{ CMD_OPERATOR, "Operators may run it." },
		{ CMD_DESTRUCTIVE, "Asks for confirmation." },
		{ CMD_UNPROVISIONED_OK, "Allowed before provisioning." },
		{ CMD_FACTORY_ONLY, "Refused once provisioned." },
	};
	char *s = xstrdup(""), *t;
	size_t i;

	for (i = 0; i < sizeof notes / sizeof notes[0]; i++) {
		if (!(flags & notes[i].flag))
			continue;
		t = xasprintf("%s%s%s", s, *s != '\0' ? " " : "",
		    notes[i].note);
		free(s);
		s = t;
	}
	return s;
}

char *
cmd_method_interface(const char *method)
{
	const char *dot = strrchr(method, '.');
	size_t len = dot != NULL ? (size_t)(dot - method) : 0;
	char *s = xmalloc(len + 1);

	memcpy(s, method, len);
	s[len] = '\0';
	return s;
}
