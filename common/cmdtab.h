/*
 * The command table: the single description of every command, shared by
 * cmld (method lookup, parameter and policy checks), cmlsh (parsing,
 * completion, help), cmltui (menus) and the man pages.
 */
#ifndef CML_CMDTAB_H
#define CML_CMDTAB_H

#include <stddef.h>

#include <json-c/json.h>

enum cmd_arg_type {
	CMD_ARG_STRING,
	CMD_ARG_INT,
	CMD_ARG_BOOL, /* an option without value: present means true */
	CMD_ARG_STRINGS, /* all remaining words, as an array of strings */
	/*
	 * A file the client opens with its own rights and passes as a
	 * descriptor: typed as a path, sent as {"fd": N, "name": PATH},
	 * N indexing the descriptors passed with the call.
	 */
	CMD_ARG_FILE,
	/*
	 * A directory whose entries the client opens and passes: typed as a
	 * path, sent as {"name": PATH, "files": {ENTRY: N, ...}}.
	 */
	CMD_ARG_FILES,
	/*
	 * An array of integers, each within min..max, at most CMD_MAX_INTS
	 * of them (tpm2d's PCR lists; no shell command takes one).
	 */
	CMD_ARG_INTS,
	/*
	 * A PIN or PUK: never a word of the command line.  Shells ask for
	 * it without echo on the terminal (twice for a CMD_ARG_NEW one) or
	 * read it from stdin with --pin-stdin, one line each, in the order
	 * of the table's arguments; sent as a string and wiped after the
	 * call.  These come after every other argument.
	 */
	CMD_ARG_SECRET,
};

/* What a shell completes an argument with. */
enum cmd_complete {
	CMD_COMPLETE_NONE,
	CMD_COMPLETE_FILE,
	CMD_COMPLETE_SETTING,
	CMD_COMPLETE_INTERFACE,
	/* live values, asked of cmld */
	CMD_COMPLETE_CONTAINER, /* container names */
	CMD_COMPLETE_GUESTOS, /* guest OS names */
	CMD_COMPLETE_GUESTOS_VERSION, /* versions of the guest OS before */
	CMD_COMPLETE_ANCHOR, /* trust anchor fingerprints */
	CMD_COMPLETE_SETTING_VALUE, /* values of the setting before */
	CMD_COMPLETE_AUDIT_TYPE, /* audit record types */
	CMD_COMPLETE_AUDIT_RESULT, /* audit results seen lately */
};

#define CMD_ARG_OPTIONAL 0x01 /* may be left out */
#define CMD_ARG_OPTION 0x02 /* given as --name VALUE, not by position */
#define CMD_ARG_PATH 0x04 /* a path: made absolute by shells */
/* A CMD_ARG_FILE whose PATH.p7s the client passes too, when it exists, as
 * member "signature": N. */
#define CMD_ARG_SIGNED 0x08
/* A CMD_ARG_SECRET that is set now (a new PIN): asked twice. */
#define CMD_ARG_NEW 0x10
/*
 * An option of the shell itself, never sent: --pin-stdin, or the option
 * a secret's "unless" names.
 */
#define CMD_ARG_LOCAL 0x20
/*
 * A CMD_ARG_SECRET the daemon may not need (the PIN of a container start:
 * only an encrypted container's): shells send the call without it and ask
 * for it when the answer is PROTO_ERR_SECRET_REQUIRED, or send it at once
 * when --pin-stdin is given.
 */
#define CMD_ARG_ON_DEMAND 0x40

/* The shell option that reads a command's secrets from stdin. */
#define CMD_SECRET_STDIN "pin-stdin"
/* The longest secret, in bytes (64 characters of UTF-8). */
#define CMD_MAX_SECRET 256

struct cmd_arg {
	const char *name; /* varlink parameter; also the --option name */
	enum cmd_arg_type type;
	int flags;
	const char *metavar; /* shown in synopses, e.g. "KEY" */
	const char *help;
	enum cmd_complete complete;
	long long min, max; /* CMD_ARG_INT range, inclusive */
	/* A CMD_ARG_BOOL option also given as -LETTER ("-it" for two). */
	char letter;
	/*
	 * A CMD_ARG_SECRET is not asked for when this CMD_ARG_LOCAL option
	 * is given (--generate-puk: the daemon makes the PUK).
	 */
	const char *unless;
	/*
	 * The option's name on a command line when it differs from the
	 * parameter's ("up-to" for up_to); NULL: name.
	 */
	const char *option;
};

/* The name a CMD_ARG_OPTION is given by on a command line (no dashes). */
#define CMD_ARG_OPTION_NAME(a) ((a)->option != NULL ? (a)->option : (a)->name)

/* Policy flags, checked by cmld in one place before a handler runs. */
#define CMD_READONLY 0x01 /* changes nothing; operators may call it */
#define CMD_ADMIN 0x02 /* root or group cml-admin only */
#define CMD_UNPROVISIONED_OK 0x04 /* allowed before provisioning */
#define CMD_FACTORY_ONLY 0x08 /* refused once provisioned */
#define CMD_DESTRUCTIVE 0x10 /* shells ask for confirmation */
#define CMD_NEEDS_CONTAINER 0x20 /* takes a container name */
#define CMD_STREAMS 0x40 /* may reply with "continues": true */
#define CMD_OPERATOR 0x80 /* changes state, yet operators may call it */

#define CMD_MAX_ARGS 10
/* The longest string parameter, and a file name passed. */
#define CMD_MAX_STRING 4096
#define CMD_MAX_FILE_NAME 255
/* The most descriptors one call passes (PROTO_MAX_FDS). */
#define CMD_MAX_FDS 32
/* The most integers a CMD_ARG_INTS array holds. */
#define CMD_MAX_INTS 64

/*
 * Every command's id: a daemon joins its handlers to its table through
 * an array indexed by these, checked by a unit test.
 */
enum cmd_id {
	CMD_ID_NONE,
	CMD_ID_DEVICE_STATUS,
	CMD_ID_DEVICE_GET_CONFIG,
	CMD_ID_DEVICE_SET_CONFIG,
	CMD_ID_DEVICE_RESET_SYSTEM_KEY,
	CMD_ID_AUDIT_LIST,
	CMD_ID_AUDIT_SHOW,
	CMD_ID_AUDIT_ACK,
	CMD_ID_AUDIT_STATUS,
	CMD_ID_AUDIT_FOLLOW,
	CMD_ID_AUDIT_EXPORT,
	CMD_ID_AUDIT_VERIFY,
	CMD_ID_AUDIT_SESSION,
	CMD_ID_DEVICE_CSR,
	CMD_ID_DEVICE_CERT_INSTALL,
	CMD_ID_DEVICE_ATTEST,
	CMD_ID_TRUST_LIST,
	CMD_ID_TRUST_ADD,
	CMD_ID_TRUST_REMOVE,
	CMD_ID_GUESTOS_LIST,
	CMD_ID_GUESTOS_INSTALL,
	CMD_ID_GUESTOS_VERIFY,
	CMD_ID_GUESTOS_REMOVE,
	CMD_ID_UPDATE_INFO,
	CMD_ID_UPDATE_INSTALL,
	CMD_ID_UPDATE_STATUS,
	CMD_ID_UPDATE_MARK_GOOD,
	CMD_ID_UPDATE_RECEIPT,
	CMD_ID_CONTAINER_LIST,
	CMD_ID_CONTAINER_SHOW,
	CMD_ID_CONTAINER_STATS,
	CMD_ID_CONTAINER_CONFIG,
	CMD_ID_CONTAINER_CREATE,
	CMD_ID_CONTAINER_START,
	CMD_ID_CONTAINER_STOP,
	CMD_ID_CONTAINER_KILL,
	CMD_ID_CONTAINER_FREEZE,
	CMD_ID_CONTAINER_UNFREEZE,
	CMD_ID_CONTAINER_REMOVE,
	CMD_ID_CONTAINER_EXEC,
	CMD_ID_CONTAINER_LOGS,
	CMD_ID_CONTAINER_CONSOLE,
	CMD_ID_CONTAINER_WIPE,
	CMD_ID_CONTAINER_NET_SHOW,
	CMD_ID_NET_STATUS,
	CMD_ID_NET_RULES,
	CMD_ID_TOKEN_INIT,
	CMD_ID_TOKEN_STATUS,
	CMD_ID_TOKEN_READERS,
	CMD_ID_TOKEN_VERIFY,
	CMD_ID_TOKEN_CHANGE_PIN,
	CMD_ID_TOKEN_UNBLOCK,
	CMD_ID_DEVICE_WIPE,
	CMD_ID_PROVISION_STATUS,
	CMD_ID_PROVISION_CHECK,
	CMD_ID_PROVISION_IDENTITY,
	CMD_ID_PROVISION_CERTIFICATE,
	CMD_ID_PROVISION_ANCHOR,
	CMD_ID_PROVISION_TOKEN,
	CMD_ID_PROVISION_SETTINGS,
	CMD_ID_PROVISION_LOCK,
	CMD_ID_PROVISION_REPORT,
	/* tpm2d's own table (daemon/tpm2d/table.c), not cmld's or cmlsh's */
	CMD_ID_TPM_STATUS,
	CMD_ID_TPM_PLATFORM_SECRET,
	CMD_ID_TPM_RESET_SYSTEM_KEY,
	CMD_ID_TPM_CHECK_SYSTEM_KEY,
	CMD_ID_TPM_EXTEND,
	CMD_ID_TPM_READ_PCRS,
	CMD_ID_TPM_IDENTITY_PUBLIC,
	CMD_ID_TPM_CREATE_CSR,
	CMD_ID_TPM_QUOTE,
	CMD_ID_TPM_TAKE_AUDIT,
	CMD_ID_TPM_SIGN_CHECKPOINT,
	CMD_ID_TPM_SIGN_DIGEST,
	CMD_ID_TPM_CREATE_IDENTITY,
	CMD_ID_TPM_WIPE_IDENTITY,
	CMD_ID_TPM_SIGN_REPORT,
	CMD_ID_TPM_FLOORS,
	CMD_ID_TPM_RAISE_FLOOR,
	CMD_ID_TPM_SIGN_RECEIPT,
	/* scd's own table (daemon/scd/table.c) */
	CMD_ID_SCD_STATUS,
	CMD_ID_SCD_READERS,
	CMD_ID_SCD_INIT,
	CMD_ID_SCD_TOKEN_STATUS,
	CMD_ID_SCD_LIST,
	CMD_ID_SCD_WRAP,
	CMD_ID_SCD_UNWRAP,
	CMD_ID_SCD_VERIFY_PIN,
	CMD_ID_SCD_CHANGE_PIN,
	CMD_ID_SCD_UNBLOCK,
	CMD_ID_SCD_REMOVE,
	CMD_ID_SCD_TAKE_AUDIT,
	CMD_ID_SERVICE_GET_INFO,
	CMD_ID_SERVICE_GET_INTERFACE_DESCRIPTION,
	CMD_ID_COUNT,
};

struct cmd_entry {
	enum cmd_id id;
	const char *words; /* shell words, e.g. "device config set" */
	const char *family; /* first word; groups help */
	const char *method; /* varlink method */
	struct cmd_arg args[CMD_MAX_ARGS]; /* ends at name == NULL */
	const char *summary; /* one line */
	const char *help; /* a paragraph */
	int flags;
};

struct cmd_family {
	const char *name;
	const char *summary;
};

/*
 * The entries a stage daemon's own table (tpm2d, scd) shares: its
 * TakeAudit, under the words "FAMILY take-audit", and varlink's
 * introspection.  cmld's table has its own, with help and completion
 * for cmlsh.
 */
#define CMD_ENTRY_TAKE_AUDIT(fam, meth, cmd_id) \
	{ \
		.words = fam " take-audit", \
		.family = fam, \
		.method = meth, \
		.id = cmd_id, \
		.args = { \
			{ .name = "ack", .type = CMD_ARG_INT, \
			  .flags = CMD_ARG_OPTIONAL, .metavar = "SEQ", \
			  .help = "the last record stored", .min = 0, \
			  .max = 9007199254740991LL }, \
		}, \
		.summary = "hand over the spooled audit records", \
		/* not audited itself: it would feed the spool it empties */ \
		.flags = CMD_READONLY, \
	}
#define CMD_ENTRY_SERVICE_GET_INFO \
	{ \
		.words = "api info", \
		.family = "api", \
		.method = "org.varlink.service.GetInfo", \
		.id = CMD_ID_SERVICE_GET_INFO, \
		.summary = "show the service and its varlink interfaces", \
		.flags = CMD_READONLY, \
	}
#define CMD_ENTRY_SERVICE_GET_INTERFACE_DESCRIPTION \
	{ \
		.words = "api describe", \
		.family = "api", \
		.method = "org.varlink.service.GetInterfaceDescription", \
		.id = CMD_ID_SERVICE_GET_INTERFACE_DESCRIPTION, \
		.args = { \
			{ .name = "interface", .type = CMD_ARG_STRING, \
			  .metavar = "INTERFACE", \
			  .help = "an interface name" }, \
		}, \
		.summary = "show the description of a varlink interface", \
		.flags = CMD_READONLY, \
	}

extern const struct cmd_entry cmd_table[];
extern const size_t cmd_table_len;
extern const struct cmd_family cmd_families[];
extern const size_t cmd_families_len;

/* Returns the entry for a varlink method, or NULL. */
const struct cmd_entry *cmd_find_method(const char *method);
/* Returns the entry of table[0..len) for a varlink method, or NULL. */
const struct cmd_entry *cmd_find_method_in(const struct cmd_entry *table,
    size_t len, const char *method);
/* Returns the entry whose words are exactly words (space-separated). */
const struct cmd_entry *cmd_find_words(const char *words);
/*
 * Matches the longest command at the start of argv; returns it with
 * *consumed set to the words used, or NULL.
 */
const struct cmd_entry *cmd_match(int argc, char *const *argv, int *consumed);
/*
 * Builds varlink parameters from the arguments after the command words;
 * -1 with *cause set to a usage error.
 */
int cmd_parse_args(const struct cmd_entry *cmd, int argc, char *const *argv,
    struct json_object **params, char **cause);
/*
 * Checks received parameters against the command's arguments (types,
 * ranges, required, unknown); -1 with *cause and *param set.
 */
int cmd_check_params(const struct cmd_entry *cmd, struct json_object *params,
    const char **param, char **cause);
/* Returns how an argument is shown: "KEY", "--last N", "ARG..." (free it). */
char *cmd_arg_label(const struct cmd_arg *arg);
/* Returns the notes on policy flags, e.g. "Admin only. Read-only." (free it). */
char *cmd_flag_notes(int flags);
/* Returns the synopsis, e.g. "device config set KEY VALUE" (free it). */
char *cmd_synopsis(const struct cmd_entry *cmd);
/* Returns the interface of a method ("org.cml.Device"), newly allocated. */
char *cmd_method_interface(const char *method);
/* Says whether arg is given by position (not an option, not a secret). */
int cmd_arg_positional(const struct cmd_arg *arg);
/* Returns the number of secrets cmd asks for (CMD_ARG_SECRET arguments). */
size_t cmd_secret_count(const struct cmd_entry *cmd);
/*
 * Wipes the text of every CMD_ARG_SECRET member of params in place (json-c
 * keeps a string in its object: no copy is left there).  The server calls
 * it when a call ends, whether it was refused, answered or deferred.
 */
void cmd_wipe_secrets(const struct cmd_entry *cmd, struct json_object *params);
/* Returns the family description for name, or NULL. */
const struct cmd_family *cmd_find_family(const char *name);

#endif
