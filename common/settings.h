/*
 * Device settings: their names, types, defaults and validation.  Values are
 * stored as canonical strings by cmld; cmlsh uses the names to complete.
 */
#ifndef CML_SETTINGS_H
#define CML_SETTINGS_H

#include <stddef.h>

enum setting_type {
	SETTING_STRING,
	SETTING_INT,
	SETTING_BOOL,
	SETTING_ENUM,
	SETTING_GUESTOS, /* a guest OS name, or empty */
	SETTING_PREFIX, /* an address prefix of family min (4 or 6), at
			   most max bits long, or empty */
	SETTING_IFLIST, /* network interface names, comma-separated, at
			   most max of them, or empty */
	SETTING_PORTLIST, /* PROTO/PORT (tcp or udp, 1..65535),
			     comma-separated, at most max of them, or empty */
	SETTING_SIGNERS, /* M:FP,FP,... (SHA-256 fingerprints of signer
			    certificates, at most max), or empty */
};

/* The most signers an update_signers_KIND setting names. */
#define SETTING_SIGNERS_MAX 8

struct setting_def {
	const char *key;
	enum setting_type type;
	const char *def; /* canonical default */
	long long min, max; /* SETTING_INT; SETTING_STRING: max length;
			       SETTING_PREFIX, SETTING_IFLIST: see there */
	const char *const *choices; /* SETTING_ENUM, NULL-terminated */
	const char *help;
};

extern const struct setting_def setting_defs[];
extern const size_t setting_defs_len;
/*
 * The settings provisioning asks for (cml-provision, cmltui), in the order
 * it asks; provision settings takes any setting.
 */
extern const char *const setting_provision_keys[];
extern const size_t setting_provision_keys_len;

/* Returns the definition of key, or NULL. */
const struct setting_def *setting_find(const char *key);
/* Returns the name of a type ("string", "integer", "boolean", "enum"). */
const char *setting_type_name(enum setting_type type);
/*
 * Returns what a setting takes, in words: "warning, info or debug", "an
 * integer from 1 to 1024" (free it).
 */
char *setting_values(const struct setting_def *def);
/*
 * Validates value for def and returns its canonical form in *out (free it);
 * -1 with *cause set naming the key and what is allowed.
 */
int setting_canonical(const struct setting_def *def, const char *value,
    char **out, char **cause);

#endif
