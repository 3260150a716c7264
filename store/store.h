/*
 * The state store: all SQL of cml lives under store/.  Two SQLite files in
 * the state directory, opened on one connection: cml.db (schema "main":
 * device, settings, trust anchors, guest OSes, containers, ...) and
 * audit.db (schema "audit": the audit trail, kept apart so its capacity can
 * be managed on its own).  Each has numbered migrations tracked with
 * PRAGMA user_version.
 */
#ifndef CML_STORE_H
#define CML_STORE_H

#include <stddef.h>
#include <sys/types.h>

struct store;

/* The schema versions this build knows. */
extern const int store_main_version;
extern const int store_audit_version;

/*
 * Opens (creating when absent) cml.db and audit.db in dir, checks each with
 * PRAGMA quick_check, refuses a database newer than this build knows, then
 * migrates.  A corrupt or newer database is left untouched.  NULL with
 * *cause set on error.
 */
struct store *store_open(const char *dir, char **cause);
/*
 * As store_open, but migrates main only up to main_version and audit only
 * up to audit_version; used by tests to build earlier schemas.
 */
struct store *store_open_at(const char *dir, int main_version,
    int audit_version, char **cause);
/* Closes the store; NULL does nothing. */
void store_close(struct store *st);
/* Reads the schema versions of both files; -1 with *cause set. */
int store_versions(struct store *st, int *main_version, int *audit_version,
    char **cause);

/* The device row. */
struct store_device {
	char *uuid;
	char *state; /* "factory" or "provisioned" */
	long long created_ms;
};

/*
 * Reads the device row; 1 found, 0 none yet, -1 with *cause set.  Free with
 * store_device_clear.
 */
int store_device_get(struct store *st, struct store_device *dev,
    char **cause);
/* Creates the device row in state "factory"; -1 with *cause set. */
int store_device_create(struct store *st, const char *uuid, char **cause);
/* Sets the provisioning state; -1 with *cause set. */
int store_device_set_state(struct store *st, const char *state,
    char **cause);
/* Releases what store_device_get filled in. */
void store_device_clear(struct store_device *dev);

/*
 * The provisioning steps (store-provision.c; schema main, migration 9),
 * in their order: "check", "identity", "certificate", "anchors", "token",
 * "settings", "lock".
 */
#define STORE_PROVISION_NSTEPS 7
extern const char *const store_provision_steps[STORE_PROVISION_NSTEPS];
/* Returns the index of a step's name in store_provision_steps, or -1. */
int store_provision_index(const char *name);

/*
 * A provisioning step's row: there is one once the step was tried.  What
 * store_provision_get and _list fill in is allocated (released with
 * store_provision_step_clear); what store_provision_set is given, the
 * caller's.
 */
struct store_provision_step {
	const char *name; /* one of store_provision_steps */
	const char *state; /* "done" or "failed" */
	long long time_ms; /* when; 0 when setting: now */
	const char *summary; /* what it did, or NULL */
	const char *error; /* why it failed, or NULL */
	const char *data; /* what a repeated call answers (a CSR), or NULL */
};

/*
 * Reads the row of step name into *out: 1 found, 0 not tried yet (*out
 * empty), -1 with *cause set.
 */
int store_provision_get(struct store *st, const char *name,
    struct store_provision_step *out, char **cause);
/*
 * Records a step (inserts or replaces its row), except that a "done" row
 * is never replaced by a "failed" one: 1 recorded, 0 left done, -1 with
 * *cause set.
 */
int store_provision_set(struct store *st, const struct store_provision_step *s,
    char **cause);
/*
 * Calls cb for the row of every step tried, in step order, after the
 * database was read (cb may call the store); stops and returns cb's value
 * when it is not 0.  -1 with *cause set on a database error.
 */
int store_provision_list(struct store *st,
    int (*cb)(const struct store_provision_step *s, void *arg), void *arg,
    char **cause);
/* Releases what store_provision_get or _list filled in; leaves s empty. */
void store_provision_step_clear(struct store_provision_step *s);

/* Reads a setting; *value is NULL when it was never set.  -1 on error. */
int store_setting_get(struct store *st, const char *key, char **value,
    char **cause);
/*
 * The value of setting key: the stored one, else its default (also when
 * the store cannot be read: logged); free it.
 */
char *store_setting_value(struct store *st, const char *key);
/* Stores a setting in one transaction; -1 with *cause set. */
int store_setting_set(struct store *st, const char *key, const char *value,
    char **cause);
/*
 * Stores n settings (keys[i] = values[i]) in one transaction: all of them
 * or, -1 with *cause set, none.
 */
int store_settings_set(struct store *st, const char *const *keys,
    const char *const *values, size_t n, char **cause);

/* The length of a record's hash and of a checkpoint's head (SHA-256). */
#define STORE_AUDIT_HASH_LEN 32

/* One audit record. */
struct audit_record {
	long long seq; /* 1, 2, ...: given by cmld before it is stored */
	long long time_ms; /* UTC, milliseconds since the epoch */
	const char *type; /* "container", "token", ... (cml-audit(5)) */
	long long uid; /* the subject: -1 when unknown */
	long long pid; /* -1 when unknown */
	const char *comm; /* the subject's command name; may be NULL */
	const char *container; /* may be NULL */
	const char *object; /* e.g. the method called */
	const char *result; /* "ok", or an error name */
	const char *details; /* may be NULL */
	/* the chain: the hash of the record before and of this one */
	unsigned char prev[STORE_AUDIT_HASH_LEN];
	unsigned char hash[STORE_AUDIT_HASH_LEN];
	int chained; /* prev and hash are set (records of schema 1 lack them) */
	int acked; /* an operator acknowledged it */
};

/* A signed checkpoint over the chain up to and including record seq. */
struct audit_checkpoint {
	long long seq;
	long long time_ms;
	unsigned char head[STORE_AUDIT_HASH_LEN]; /* the hash of record seq */
	const unsigned char *sig; /* DER ECDSA signature by the device key */
	size_t siglen;
};

/*
 * Appends n chained records (their seq, prev and hash set by the caller)
 * in one transaction; nothing of them is stored on error (-1 with *cause).
 */
int store_audit_append_batch(struct store *st,
    const struct audit_record *recs, size_t n, char **cause);
/*
 * Reads the newest record's seq and hash (*seq 0 and a zero hash when the
 * trail is empty, *chained 0 when that record is not chained yet).
 */
int store_audit_head(struct store *st, long long *seq,
    unsigned char hash[STORE_AUDIT_HASH_LEN], int *chained, char **cause);
/* Sets the chain of records stored without one (schema 1), in one go. */
int store_audit_set_chain(struct store *st, const struct audit_record *recs,
    size_t n, char **cause);
/* The seq of the oldest record (0: none). */
int store_audit_first(struct store *st, long long *seq, char **cause);
/*
 * Marks the records from..to (inclusive) acknowledged at now_ms; *n says
 * how many were not acknowledged before.
 */
int store_audit_ack(struct store *st, long long from, long long to,
    long long now_ms, long long *n, char **cause);
/*
 * The oldest record after `after` nobody acknowledged (*seq 0: none), and
 * how many such records there are (count may be NULL).
 */
int store_audit_first_unacked(struct store *st, long long after,
    long long *seq, long long *count, char **cause);
/*
 * Deletes the records up to and including seq, and the checkpoints before
 * seq (the one at seq stays: it anchors the chain), in one transaction.
 */
int store_audit_drop(struct store *st, long long seq, char **cause);
/* The bytes audit.db's pages in use take (free pages not counted). */
int store_audit_used(struct store *st, long long *bytes, char **cause);
/* Stores a checkpoint. */
int store_audit_checkpoint_add(struct store *st,
    const struct audit_checkpoint *cp, char **cause);
/*
 * Calls cb for the checkpoints with after < seq <= until in ascending
 * order; stops and returns cb's value if it is not 0.
 */
int store_audit_checkpoints(struct store *st, long long after,
    long long until,
    int (*cb)(const struct audit_checkpoint *cp, void *arg), void *arg,
    char **cause);
/*
 * The newest checkpoint at or before seq (*found 0: none); its sig is
 * copied into cp->sig (free it).
 */
int store_audit_checkpoint_before(struct store *st, long long seq,
    struct audit_checkpoint *cp, int *found, char **cause);
/* Reads a value of the trail's own state; *value NULL when unset. */
int store_audit_meta_get(struct store *st, const char *key, char **value,
    char **cause);
/* Stores a value of the trail's own state (its own transaction). */
int store_audit_meta_set(struct store *st, const char *key,
    const char *value, char **cause);

/* Appends a record in one transaction and sets rec->seq; -1 on error. */
int store_audit_append(struct store *st, struct audit_record *rec,
    char **cause);
/*
 * Calls cb for the last `last` records (all when last <= 0) in ascending
 * order of seq; stops and returns cb's value if it is not 0.  -1 with
 * *cause set on a database error.
 */
int store_audit_list(struct store *st, long long last,
    int (*cb)(const struct audit_record *rec, void *arg), void *arg,
    char **cause);
/*
 * Which audit records a listing selects: every member that is set must
 * match (strings exactly); a NULL filter selects every record.
 */
struct audit_filter {
	long long since_ms; /* time_ms >= since_ms; -1: no bound */
	long long until_ms; /* time_ms < until_ms; -1: no bound */
	const char *container; /* NULL: any */
	const char *type; /* NULL: any */
	const char *result; /* NULL: any */
	long long uid; /* -1: any */
};

/* Sets a filter that selects every record. */
void store_audit_filter_init(struct audit_filter *f);
/*
 * Finds the records a listing of the last `last` records that f selects
 * (all of them when last <= 0) covers, as of now: those f selects with
 * after < seq <= until, *count of them (count may be NULL).  -1 with
 * *cause set.
 */
int store_audit_bounds(struct store *st, const struct audit_filter *f,
    long long last, long long *after, long long *until, long long *count,
    char **cause);
/*
 * Calls cb for at most limit records that f selects with
 * after < seq <= until, in ascending order of seq; stops and returns cb's
 * value if it is not 0.  -1 with *cause set on a database error.
 */
int store_audit_range(struct store *st, const struct audit_filter *f,
    long long after, long long until, long long limit,
    int (*cb)(const struct audit_record *rec, void *arg), void *arg,
    char **cause);
/* Returns the number of audit records, or -1 with *cause set. */
long long store_audit_count(struct store *st, char **cause);


/* A trust anchor: a CA certificate signatures must chain to. */
struct store_anchor {
	char *fingerprint; /* SHA-256 hex of the DER */
	char *subject;
	char *key; /* e.g. "EC P-384" */
	/*
	 * "owner" (ca add, provision anchor), "supplier" (provision anchor)
	 * or "device" (the device CA, provision certificate: it certifies
	 * device keys, no software)
	 */
	char *kind;
	long long not_after; /* seconds since the epoch */
	long long added_ms; /* 0 when adding: now */
	unsigned char *der;
	size_t der_len;
};

/*
 * Adds an anchor; 1 if one with that fingerprint exists already (nothing
 * changed), -1 with *cause set.
 */
int store_anchor_add(struct store *st, const struct store_anchor *a,
    char **cause);
/* Removes the anchor with that fingerprint; 1 removed, 0 none, -1 error. */
int store_anchor_remove(struct store *st, const char *fingerprint,
    char **cause);
/*
 * Calls cb for every anchor, ordered by subject, after the database was
 * read (cb may call the store); stops and returns cb's value when it is
 * not 0.  -1 with *cause set on a database error.
 */
int store_anchor_list(struct store *st,
    int (*cb)(const struct store_anchor *a, void *arg), void *arg,
    char **cause);

/* One image of an installed guest OS, as its signed manifest lists it. */
struct store_image {
	char *file;
	long long size;
	char sha256[65]; /* lower-case hex */
	char *fs; /* "squashfs", "erofs" or "ext4" */
	char *mount;
};

/* An installed guest OS. */
struct store_guestos {
	char *name;
	char *version; /* canonical */
	char *description;
	char *init;
	char *signer; /* subject of the signing certificate */
	char *path; /* the installed directory */
	long long installed_ms; /* 0 when adding: now */
	struct store_image *images;
	size_t nimages;
};

/*
 * Adds a guest OS and its images in one transaction; 1 if NAME/VERSION
 * exists already (nothing changed), -1 with *cause set.
 */
int store_guestos_add(struct store *st, const struct store_guestos *g,
    char **cause);
/*
 * Calls cb for every guest OS (images filled in), ordered by name then
 * install time, after the database was read (cb may call the store);
 * stops and returns cb's value when it is not 0.  -1 with *cause set on a
 * database error.
 */
int store_guestos_list(struct store *st,
    int (*cb)(const struct store_guestos *g, void *arg), void *arg,
    char **cause);
/*
 * Reads NAME/VERSION with its images; 1 found, 0 none, -1 with *cause
 * set.  Free with store_guestos_clear.
 */
int store_guestos_get(struct store *st, const char *name, const char *version,
    struct store_guestos *g, char **cause);
/* Removes NAME/VERSION and its images; 1 removed, 0 none, -1 error. */
int store_guestos_remove(struct store *st, const char *name,
    const char *version, char **cause);
/* Releases what store_guestos_get filled in and leaves g empty. */
void store_guestos_clear(struct store_guestos *g);


/* A container (schema main, migration 3). */
struct store_container {
	char *name;
	long long idx; /* user namespace id range index, unique, >= 0 */
	char *config; /* the config JSON exactly as verified */
	size_t config_len;
	char *signer; /* subject of the config's signer; NULL when unsigned */
	char *guestos; /* guest OS name (from the config) */
	char *guestos_version; /* the version last started; NULL before */
	char *state; /* stopped, starting, running, stopping, frozen, failed */
	char *reason; /* why it failed or stopped; NULL */
	long long pid; /* init's pid while running, else 0 */
	long long created_ms;
	long long started_ms; /* 0 before the first start */
	char *uuid; /* its own id (32 hex digits), never reused; set by add */
};

/*
 * Adds a container in state "stopped" with pid 0, never started (c's
 * state, reason, pid, guestos_version and started_ms are not read);
 * created_ms 0 means now.  1 if the name exists already (nothing changed),
 * -1 with *cause set, also when another container has the same idx.
 */
int store_container_add(struct store *st, const struct store_container *c,
    char **cause);
/*
 * Reads one container; 1 found, 0 none, -1 with *cause set.  get gives
 * config a terminating NUL after config_len bytes.  Free with
 * store_container_clear.
 */
int store_container_get(struct store *st, const char *name,
    struct store_container *c, char **cause);
/*
 * Calls cb for every container ordered by name, c0 first if present,
 * after the database was read (cb may call the store); stops and returns
 * cb's value when it is not 0.  -1 with *cause set on a database error.
 */
int store_container_list(struct store *st,
    int (*cb)(const struct store_container *c, void *arg), void *arg,
    char **cause);
/*
 * Makes the commits of the main database that follow wait for the disk
 * (durable 1, synchronous=FULL: the default) or not (0: NORMAL).  In WAL
 * mode a commit that does not wait is still atomic and in order: every
 * reader sees it, and it survives cmld's end however that comes; only an
 * end of the whole system (power loss, a kernel crash) can lose it, with
 * the commits after it up to the next one that waits, which puts it on
 * the disk too.  Without WAL every commit waits.  -1 with *cause set.
 */
int store_durable(struct store *st, int durable, char **cause);
/*
 * Sets state, reason (may be NULL), pid, and, when guestos_version is not
 * NULL, guestos_version and started_ms = now; one transaction.  1 updated,
 * 0 no such container, -1 with *cause set (also for an invalid state).
 */
int store_container_set_state(struct store *st, const char *name,
    const char *state, const char *reason, long long pid,
    const char *guestos_version, char **cause);
/* Removes a container; 1 removed, 0 none, -1 with *cause set. */
int store_container_remove(struct store *st, const char *name,
    char **cause);
/* Sets *idx to the smallest index no container uses; -1 with *cause set. */
int store_container_free_index(struct store *st, long long *idx,
    char **cause);
/*
 * Finds a container that uses guest OS guestos: any configured for it when
 * version is NULL (all versions), else one that starts or runs on that
 * version (state starting, running, stopping or frozen); c0 first, then by
 * name.  1 with *name set (free it), 0 when none does, -1 with *cause set.
 */
int store_container_using_guestos(struct store *st, const char *guestos,
    const char *version, char **name, char **cause);
/* Releases what store_container_get or _list filled in and leaves c empty. */
void store_container_clear(struct store_container *c);

/* The most bytes of the device certificate's chain (the table's CHECK). */
#define STORE_DEVICE_CHAIN_MAX 65536

/*
 * The device certificate (schema main, migration 6): at most one; with
 * its chain (migration 10).
 */
struct store_device_cert {
	unsigned char *der;
	size_t der_len;
	/*
	 * The CA certificates between it and its trust anchor, its issuer
	 * first: DER, one after another; none: NULL and 0.
	 */
	unsigned char *chain;
	size_t chain_len;
	char *subject; /* RFC 2253 */
	char *issuer;
	char fingerprint[65]; /* SHA-256 of the DER, lower-case hex */
	long long not_before; /* seconds since the epoch, UTC */
	long long not_after;
	long long installed_ms; /* 0 when storing: now */
};

/* Stores the device certificate, replacing any; -1 with *cause set. */
int store_device_cert_set(struct store *st, const struct store_device_cert *c,
    char **cause);
/*
 * Reads the device certificate: 1 found, 0 none, -1 with *cause set.
 * Free with store_device_cert_clear.
 */
int store_device_cert_get(struct store *st, struct store_device_cert *c,
    char **cause);
/*
 * Reads the device certificate's subject (borrowed: valid until the next
 * store call) and not-after time, for `device status`: 1 found, 0 none,
 * -1 with *cause set.  What it read is kept while this connection changed
 * no row (sqlite3_total_changes; cmld is the database's only writer), so
 * asking again costs no query.
 */
int store_device_cert_brief(struct store *st, const char **subject,
    long long *not_after, char **cause);
/* Removes the device certificate: 1 removed, 0 none, -1 with *cause set. */
int store_device_cert_remove(struct store *st, char **cause);
/* Releases what store_device_cert_get filled in and leaves c empty. */
void store_device_cert_clear(struct store_device_cert *c);

/*
 * A container's key wrapped under its token (schema main, migration 7):
 * at most one per container, removed with it.  The key itself is never
 * stored; kcv, HMAC-SHA-256(key, "cml key check"), tells an unwrapped key
 * is the right one.
 */
#define STORE_CONTAINER_KEY_MAX 4096
struct store_container_key {
	char *container;
	char *token_type; /* "softtoken" or "usbtoken" */
	char *serial; /* the token's, as scd says it */
	unsigned char *wrapped; /* scd's blob */
	size_t wrapped_len;
	unsigned char kcv[32];
	long long created_ms; /* 0 when storing: now */
};

/*
 * Stores a container's wrapped key, replacing the one it had; -1 with
 * *cause set (no such container too).
 */
int store_container_key_set(struct store *st,
    const struct store_container_key *k, char **cause);
/*
 * Reads a container's wrapped key: 1 found, 0 none, -1 with *cause set.
 * Free with store_container_key_clear.
 */
int store_container_key_get(struct store *st, const char *container,
    struct store_container_key *k, char **cause);
/* Removes a container's wrapped key: 1 removed, 0 none, -1 with *cause. */
int store_container_key_remove(struct store *st, const char *container,
    char **cause);
/* Releases what store_container_key_get filled in and leaves k empty. */
void store_container_key_clear(struct store_container_key *k);
/*
 * Deletes a container's wrapped key so that it is gone from disk too: the
 * delete overwrites the freed bytes (secure_delete is on for the store),
 * the write-ahead log is checkpointed into cml.db and truncated, then both
 * files are scanned for the wrapped bytes.  1 when a key was deleted and
 * none of it remains, with *report (free it) saying what was checked; 0
 * when there was none; -1 with *cause set, also when the checkpoint was
 * blocked by another connection (the key may remain in the log) or the
 * bytes are still found (the cause says where).
 */
int store_container_key_wipe(struct store *st, const char *container,
    char **report, char **cause);

/*
 * One entry of the measurement log (schema main, migrations 6 and 12): a
 * container start or an install measured into the measurement PCR.
 * Hashes and values are 64 lower-case hex digits.
 */
struct store_measurement {
	long long seq; /* assigned by store_measurement_add */
	long long time_ms; /* 0 when adding: now */
	long long reset_count; /* the TPM's reset count of the extend */
	const char *event; /* "start" (or NULL when adding) or "install" */
	const char *container; /* a start's; NULL for an install */
	const char *guestos; /* a start's; NULL for an install */
	const char *kind; /* an install's update kind; NULL for a start */
	const char *name; /* an install's bundle name; NULL for a start */
	const char *version;
	/* SHA-256 of the signed manifest: the guest OS's, or the bundle's */
	const char *manifest_hash;
	const char *config_hash; /* a start's config; NULL for an install */
	/*
	 * What was extended: a start's SHA-256(manifest_hash ||
	 * config_hash), raw; an install's (crypto/measurelog.h).
	 */
	const char *digest;
	long long pcr; /* the PCR extended */
	const char *pcr_value; /* its value after the extend */
};

/* Appends an entry in one transaction and sets m->seq; -1 on error. */
int store_measurement_add(struct store *st, struct store_measurement *m,
    char **cause);
/*
 * Writes a pending entry before its extend (reset_count, pcr and
 * pcr_value are not read) and sets m->seq; -1 with *cause set.
 */
int store_measurement_begin(struct store *st, struct store_measurement *m,
    char **cause);
/*
 * Completes the pending entry *seq: its extend happened in reset
 * reset_count and left PCR pcr at value.  It takes the next seq (into
 * *seq): the log's order is the order its entries were completed in,
 * that of the extends.  1 done, 0 no such pending entry, -1 with *cause
 * set.
 */
int store_measurement_confirm(struct store *st, long long *seq,
    long long reset_count, long long pcr, const char *value, char **cause);
/* Removes a pending entry: 1 removed, 0 none, -1 with *cause set. */
int store_measurement_drop(struct store *st, long long seq, char **cause);
/*
 * Reads the newest max pending entries before seq before, oldest first:
 * seqs and digests (64 hex digits and a NUL each), *n of them.  -1 with
 * *cause set.
 */
int store_measurement_pending(struct store *st, long long before, size_t max,
    long long *seqs, char (*digests)[65], size_t *n, char **cause);
/* Removes the pending entries but the newest keep; -1 with *cause set. */
int store_measurement_prune(struct store *st, size_t keep, char **cause);
/*
 * Reads the PCR value the last completed entry of reset reset_count left;
 * 1 found, 0 none, -1 with *cause set.
 */
int store_measurement_last(struct store *st, long long reset_count,
    char *value, size_t size, char **cause);
/*
 * Calls cb for every completed entry made in TPM reset reset_count (every
 * completed entry when it is negative), in order of seq, after the
 * database was read (cb may call the store); stops and returns cb's value
 * when it is not 0.  -1 with *cause set on a database error.
 */
int store_measurement_list(struct store *st, long long reset_count,
    int (*cb)(const struct store_measurement *m, void *arg), void *arg,
    char **cause);


/*
 * A device wipe (store-wipe.c): the tables of the device's state in
 * cml.db, emptied at once and counted afterwards.
 */
enum store_wipe_table {
	STORE_WIPE_DEVICE_CERT,
	STORE_WIPE_ANCHORS,
	STORE_WIPE_SETTINGS,
	STORE_WIPE_PROVISION,
	STORE_WIPE_CONTAINERS,
	STORE_WIPE_CONTAINER_KEYS,
	STORE_WIPE_NTABLES,
};
/* The name of a table of the device's state ("trust_anchor"). */
const char *store_wipe_table_name(enum store_wipe_table t);
/*
 * Deletes every row of table t in one statement (secure_delete overwrites
 * them) and sets *n to how many; -1 with *cause set.
 */
int store_wipe_clear(struct store *st, enum store_wipe_table t, long long *n,
    char **cause);
/* Counts the rows of table t into *n; -1 with *cause set. */
int store_wipe_count(struct store *st, enum store_wipe_table t, long long *n,
    char **cause);
/*
 * Moves the write-ahead logs of cml.db and audit.db into the files and
 * truncates them, so that no page of a deleted row remains in a log; -1
 * with *cause set when another connection blocks it.
 */
int store_wipe_sync(struct store *st, char **cause);
/*
 * Destroys the audit trail (store-audit.c): every record, checkpoint,
 * acknowledgement and value of its own state, in one transaction; *records
 * says how many records there were.  -1 with *cause set (nothing deleted).
 */
int store_audit_reset(struct store *st, long long *records, char **cause);

/*
 * Updates (store-update.c, migration 11): the version floor of each kind
 * and name, below which nothing installs, and the history of installs.
 */
/*
 * Reads the floor of kind and name into *version (free it): 1 found, 0
 * none (*version NULL), -1 with *cause set.
 */
int store_floor_get(struct store *st, const char *kind, const char *name,
    char **version, char **cause);
/*
 * Raises the floor of kind and name to version if it is higher (or there
 * is none): 1 raised, 0 it was as high already, -1 with *cause set.
 * Never lowers it.
 */
int store_floor_raise(struct store *st, const char *kind, const char *name,
    const char *version, char **cause);
/* Calls cb for every floor, by kind and name; stops at a nonzero return. */
int store_floor_list(struct store *st,
    int (*cb)(const char *kind, const char *name, const char *version,
    long long time_ms, void *arg), void *arg, char **cause);

/*
 * One transaction around several of the calls above (an update's configs,
 * its history row and its floor): store_begin, then store_commit, or
 * store_abort to undo everything since store_begin.  -1 with *cause set.
 */
int store_begin(struct store *st, char **cause);
int store_commit(struct store *st, char **cause);
void store_abort(struct store *st);
/*
 * Replaces the config of container name, who signed it and its guest OS
 * (an update of container configs; NULL keeps the stored signer or guest
 * OS: provisioning gives c0 the token type it makes); -1 with *cause set.
 */
int store_container_update_config(struct store *st, const char *name,
    const char *config, size_t len, const char *signer, const char *guestos,
    char **cause);

/* The most history rows kept: older ones go as new ones come. */
#define STORE_UPDATE_HISTORY_MAX 256

/* One install, as the history has it. */
struct store_update {
	long long id;
	long long time_ms; /* when it began */
	char *kind;
	char *name;
	char *version;
	char *digest; /* SHA-256 of the bundle's signed manifest, hex */
	long long size; /* the bundle's bytes */
	char *signers; /* JSON array of { subject, fingerprint, anchor } */
	char *result; /* installing, installed, pending, confirmed, failed,
			 rolled-back, fell-back */
	char *detail; /* why it failed, where it went; or NULL */
	long long end_ms; /* when it ended, or 0 */
};

/* Records an install beginning (result "installing"); sets u->id. */
int store_update_begin(struct store *st, struct store_update *u,
    char **cause);
/* Sets the result and detail of install id, and its end when final. */
int store_update_end(struct store *st, long long id, const char *result,
    const char *detail, char **cause);
/*
 * Reads the newest install (of kind, or of any kind when NULL) whose
 * result is result (any when NULL): 1 found, 0 none, -1 with *cause set.
 */
int store_update_last(struct store *st, const char *kind, const char *result,
    struct store_update *u, char **cause);
/* Reads install id: 1 found, 0 none, -1 with *cause set. */
int store_update_get(struct store *st, long long id, struct store_update *u,
    char **cause);
/* Calls cb for the newest max installs, newest first. */
int store_update_list(struct store *st, size_t max,
    int (*cb)(const struct store_update *u, void *arg), void *arg,
    char **cause);
void store_update_clear(struct store_update *u);

#endif
