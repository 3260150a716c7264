/*
 * The state store.  Every SQL statement of cml is in store/ (this file,
 * and store-audit.c for the audit trail), and every
 * value reaches SQLite as a bound parameter.  The exceptions are PRAGMA
 * statements, which take no parameters: the schema names and numbers in
 * them are this file's own constants, never a caller's.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "settings.h"
#include "store.h"
#include "store-int.h"
#include "xmalloc.h"
#include "log.h"

/* How long a statement waits for a lock held by another connection. */
#define STORE_BUSY_TIMEOUT_MS 5000

/*
 * STRICT tables reject values of the wrong type; SQLite has them from
 * 3.37.0 on.  Older libraries get the same tables without the keyword.
 */
#if SQLITE_VERSION_NUMBER >= 3037000
#define STORE_STRICT " STRICT"
#else
#define STORE_STRICT ""
#endif

/*
 * The migrations of cml.db.  Entry i moves the schema from version i to
 * i + 1; entries are never changed once released, only appended.
 */
static const char *const store_main_migrations[] = {
	/* 1: the device row and the settings. */
	"CREATE TABLE main.device ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" uuid TEXT NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN ('factory', 'provisioned')),"
	" created_ms INTEGER NOT NULL"
	")" STORE_STRICT ";"
	"CREATE TABLE main.settings ("
	" key TEXT NOT NULL PRIMARY KEY,"
	" value TEXT NOT NULL,"
	" updated_ms INTEGER NOT NULL"
	")" STORE_STRICT ";",

	/* 2: trust anchors and installed guest OSes with their images. */
	"CREATE TABLE main.trust_anchor ("
	" fingerprint TEXT NOT NULL PRIMARY KEY,"
	" subject TEXT NOT NULL,"
	" key TEXT NOT NULL,"
	" kind TEXT NOT NULL CHECK (kind IN ('owner', 'supplier')),"
	" not_after INTEGER NOT NULL,"
	" added_ms INTEGER NOT NULL,"
	" der BLOB NOT NULL CHECK (length(der) > 0)"
	")" STORE_STRICT ";"
	"CREATE TABLE main.guestos ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL,"
	" version TEXT NOT NULL,"
	" description TEXT NOT NULL,"
	" init TEXT NOT NULL,"
	" signer TEXT NOT NULL,"
	" path TEXT NOT NULL,"
	" installed_ms INTEGER NOT NULL,"
	" UNIQUE (name, version)"
	")" STORE_STRICT ";"
	"CREATE TABLE main.guestos_image ("
	" guestos_id INTEGER NOT NULL"
	"  REFERENCES guestos (id) ON DELETE CASCADE,"
	" idx INTEGER NOT NULL CHECK (idx >= 0),"
	" file TEXT NOT NULL,"
	" size INTEGER NOT NULL CHECK (size > 0),"
	" sha256 TEXT NOT NULL CHECK (length(sha256) = 64),"
	" fs TEXT NOT NULL CHECK (fs IN ('squashfs', 'ext4')),"
	" mount TEXT NOT NULL,"
	" PRIMARY KEY (guestos_id, idx)"
	")" STORE_STRICT ";",

	/* 3: containers. */
	"CREATE TABLE main.container ("
	" name TEXT NOT NULL PRIMARY KEY,"
	" idx INTEGER NOT NULL UNIQUE CHECK (idx >= 0),"
	" config BLOB NOT NULL CHECK (length(config) > 0),"
	" signer TEXT,"
	" guestos TEXT NOT NULL,"
	" guestos_version TEXT,"
	" state TEXT NOT NULL CHECK (state IN ('stopped', 'starting',"
	"  'running', 'stopping', 'frozen', 'failed')),"
	" reason TEXT,"
	" pid INTEGER NOT NULL DEFAULT 0,"
	" created_ms INTEGER NOT NULL,"
	" started_ms INTEGER NOT NULL DEFAULT 0"
	")" STORE_STRICT ";",

	/* 4: erofs images (a CHECK changes: the table is made anew). */
	"CREATE TABLE main.guestos_image_4 ("
	" guestos_id INTEGER NOT NULL"
	"  REFERENCES guestos (id) ON DELETE CASCADE,"
	" idx INTEGER NOT NULL CHECK (idx >= 0),"
	" file TEXT NOT NULL,"
	" size INTEGER NOT NULL CHECK (size > 0),"
	" sha256 TEXT NOT NULL CHECK (length(sha256) = 64),"
	" fs TEXT NOT NULL CHECK (fs IN ('squashfs', 'erofs', 'ext4')),"
	" mount TEXT NOT NULL,"
	" PRIMARY KEY (guestos_id, idx)"
	")" STORE_STRICT ";"
	"INSERT INTO main.guestos_image_4"
	" (guestos_id, idx, file, size, sha256, fs, mount)"
	" SELECT guestos_id, idx, file, size, sha256, fs, mount"
	" FROM main.guestos_image;"
	"DROP TABLE main.guestos_image;"
	"ALTER TABLE main.guestos_image_4 RENAME TO guestos_image;",

	/*
	 * 5: each container's own id, never given to another (names and
	 * idx are reused): it names the container's data volume.
	 */
	"ALTER TABLE main.container ADD COLUMN uuid TEXT NOT NULL DEFAULT '';"
	"UPDATE main.container SET uuid = lower(hex(randomblob(16)));"
	"CREATE UNIQUE INDEX main.container_uuid ON container (uuid);",

	/*
	 * 6: the device certificate (at most one: device cert install) and
	 * the measurement log of container starts, one row per extend of the
	 * measurement PCR: written before the extend (pending: no reset
	 * count, PCR or value yet), completed once tpm2d answered.
	 */
	"CREATE TABLE main.device_cert ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" der BLOB NOT NULL CHECK (length(der) > 0),"
	" subject TEXT NOT NULL,"
	" issuer TEXT NOT NULL,"
	" fingerprint TEXT NOT NULL CHECK (length(fingerprint) = 64),"
	" not_before INTEGER NOT NULL,"
	" not_after INTEGER NOT NULL,"
	" installed_ms INTEGER NOT NULL"
	")" STORE_STRICT ";"
	"CREATE TABLE main.measurement ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" time_ms INTEGER NOT NULL,"
	" reset_count INTEGER CHECK (reset_count >= 0),"
	" container TEXT NOT NULL,"
	" guestos TEXT NOT NULL,"
	" version TEXT NOT NULL,"
	" manifest_hash TEXT NOT NULL CHECK (length(manifest_hash) = 64),"
	" config_hash TEXT NOT NULL CHECK (length(config_hash) = 64),"
	" digest TEXT NOT NULL CHECK (length(digest) = 64),"
	" pcr INTEGER CHECK (pcr >= 0 AND pcr < 24),"
	" pcr_value TEXT CHECK (length(pcr_value) = 64),"
	" CHECK ((reset_count IS NULL) = (pcr_value IS NULL) AND"
	"  (pcr IS NULL) = (pcr_value IS NULL))"
	")" STORE_STRICT ";"
	"CREATE INDEX main.measurement_reset"
	" ON measurement (reset_count, seq);",

	/*
	 * 7: each container's key wrapped under its token (scd holds the
	 * token; cmld only the wrapped key and the key's check value), gone
	 * with the container.
	 */
	"CREATE TABLE main.container_key ("
	" container TEXT NOT NULL PRIMARY KEY"
	"  REFERENCES container (name) ON DELETE CASCADE,"
	" token_type TEXT NOT NULL"
	"  CHECK (token_type IN ('softtoken', 'usbtoken')),"
	" serial TEXT NOT NULL,"
	" wrapped BLOB NOT NULL CHECK (length(wrapped) > 0),"
	" kcv BLOB NOT NULL CHECK (length(kcv) = 32),"
	" created_ms INTEGER NOT NULL"
	")" STORE_STRICT ";",

	/*
	 * 8: the state "locked": a container with encrypted storage that
	 * waits for its token's PIN (a CHECK changes: the table is made anew,
	 * foreign keys off as during every migration, so that container_key
	 * keeps its rows).
	 */
	"CREATE TABLE main.container_8 ("
	" name TEXT NOT NULL PRIMARY KEY,"
	" idx INTEGER NOT NULL UNIQUE CHECK (idx >= 0),"
	" config BLOB NOT NULL CHECK (length(config) > 0),"
	" signer TEXT,"
	" guestos TEXT NOT NULL,"
	" guestos_version TEXT,"
	" state TEXT NOT NULL CHECK (state IN ('stopped', 'starting',"
	"  'running', 'stopping', 'frozen', 'failed', 'locked')),"
	" reason TEXT,"
	" pid INTEGER NOT NULL DEFAULT 0,"
	" created_ms INTEGER NOT NULL,"
	" started_ms INTEGER NOT NULL DEFAULT 0,"
	" uuid TEXT NOT NULL DEFAULT ''"
	")" STORE_STRICT ";"
	"INSERT INTO main.container_8 (name, idx, config, signer, guestos,"
	" guestos_version, state, reason, pid, created_ms, started_ms, uuid)"
	" SELECT name, idx, config, signer, guestos, guestos_version, state,"
	" reason, pid, created_ms, started_ms, uuid FROM main.container;"
	"DROP TABLE main.container;"
	"ALTER TABLE main.container_8 RENAME TO container;"
	"CREATE UNIQUE INDEX main.container_uuid ON container (uuid);",

	/*
	 * 9: provisioning. Each step's state (a row once tried; "done" rows
	 * are never redone), its summary, its last error, and what it keeps
	 * for a repeated call (the CSR of step 2). Trust anchors gain the
	 * kind "device": the device CA, which certifies device keys only.
	 */
	"CREATE TABLE main.provision_step ("
	" name TEXT NOT NULL PRIMARY KEY CHECK (name IN ('check', 'identity',"
	"  'certificate', 'anchors', 'token', 'settings', 'lock')),"
	" state TEXT NOT NULL CHECK (state IN ('done', 'failed')),"
	" time_ms INTEGER NOT NULL,"
	" summary TEXT,"
	" error TEXT,"
	" data TEXT"
	")" STORE_STRICT ";"
	"CREATE TABLE main.trust_anchor_9 ("
	" fingerprint TEXT NOT NULL PRIMARY KEY,"
	" subject TEXT NOT NULL,"
	" key TEXT NOT NULL,"
	" kind TEXT NOT NULL CHECK (kind IN ('owner', 'supplier', 'device')),"
	" not_after INTEGER NOT NULL,"
	" added_ms INTEGER NOT NULL,"
	" der BLOB NOT NULL CHECK (length(der) > 0)"
	")" STORE_STRICT ";"
	"INSERT INTO main.trust_anchor_9 SELECT fingerprint, subject, key,"
	" kind, not_after, added_ms, der FROM main.trust_anchor;"
	"DROP TABLE main.trust_anchor;"
	"ALTER TABLE main.trust_anchor_9 RENAME TO trust_anchor;",

	/*
	 * 10: the device certificate's chain: the CA certificates on the
	 * path from it to the trust anchor it was checked against (DER, one
	 * after another, its issuer first), handed out with it so that a
	 * verifier needs the anchor alone.  A certificate installed before
	 * keeps an empty chain.
	 */
	"ALTER TABLE main.device_cert ADD COLUMN chain BLOB NOT NULL"
	" DEFAULT x'' CHECK (length(chain) <= 65536);",

	/*
	 * 11: updates.  The version floor of each kind and name (nothing
	 * older installs), and the history of installs: what each bundle
	 * was (the SHA-256 of its signed manifest), who signed it, and how
	 * it ended; a row "installing" that is still there at a start is an
	 * install a power cut or a kill interrupted.
	 */
	"CREATE TABLE main.update_floor ("
	" kind TEXT NOT NULL CHECK (kind IN ('guestos', 'configs', 'cml',"
	"  'boot')),"
	" name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),"
	" version TEXT NOT NULL CHECK (length(version) BETWEEN 1 AND 64),"
	" time_ms INTEGER NOT NULL,"
	" PRIMARY KEY (kind, name)"
	")" STORE_STRICT ";"
	"CREATE TABLE main.update_history ("
	" id INTEGER PRIMARY KEY,"
	" time_ms INTEGER NOT NULL,"
	" kind TEXT NOT NULL CHECK (kind IN ('guestos', 'configs', 'cml',"
	"  'boot')),"
	" name TEXT NOT NULL,"
	" version TEXT NOT NULL,"
	" digest TEXT NOT NULL CHECK (length(digest) = 64),"
	" size INTEGER NOT NULL,"
	" signers TEXT NOT NULL,"
	" result TEXT NOT NULL CHECK (result IN ('installing', 'installed',"
	"  'pending', 'confirmed', 'failed', 'rolled-back', 'fell-back')),"
	" detail TEXT,"
	" end_ms INTEGER"
	")" STORE_STRICT ";",

	/*
	 * 12: installs in the measurement log.  An entry is the start of a
	 * container (container, guest OS, its manifest's and the config's
	 * hashes, as before) or an install put in place (the update's kind,
	 * the bundle's name, and as manifest_hash the SHA-256 of the
	 * bundle's signed manifest, the history's digest).  Entries of
	 * before are starts; the table is made anew (NOT NULL and CHECKs
	 * change) with its seq counter, so that no seq is given twice.
	 */
	"CREATE TABLE main.measurement_12 ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" time_ms INTEGER NOT NULL,"
	" reset_count INTEGER CHECK (reset_count >= 0),"
	" event TEXT NOT NULL DEFAULT 'start'"
	"  CHECK (event IN ('start', 'install')),"
	" container TEXT,"
	" guestos TEXT,"
	" kind TEXT CHECK (kind IN ('guestos', 'configs', 'cml', 'boot')),"
	" name TEXT,"
	" version TEXT NOT NULL,"
	" manifest_hash TEXT NOT NULL CHECK (length(manifest_hash) = 64),"
	" config_hash TEXT CHECK (length(config_hash) = 64),"
	" digest TEXT NOT NULL CHECK (length(digest) = 64),"
	" pcr INTEGER CHECK (pcr >= 0 AND pcr < 24),"
	" pcr_value TEXT CHECK (length(pcr_value) = 64),"
	" CHECK ((reset_count IS NULL) = (pcr_value IS NULL) AND"
	"  (pcr IS NULL) = (pcr_value IS NULL)),"
	" CHECK (CASE event WHEN 'start' THEN container IS NOT NULL AND"
	"  guestos IS NOT NULL AND config_hash IS NOT NULL AND kind IS NULL"
	"  AND name IS NULL ELSE container IS NULL AND guestos IS NULL AND"
	"  config_hash IS NULL AND kind IS NOT NULL AND name IS NOT NULL END)"
	")" STORE_STRICT ";"
	"INSERT INTO main.measurement_12 (seq, time_ms, reset_count, event,"
	" container, guestos, version, manifest_hash, config_hash, digest,"
	" pcr, pcr_value) SELECT seq, time_ms, reset_count, 'start',"
	" container, guestos, version, manifest_hash, config_hash, digest,"
	" pcr, pcr_value FROM main.measurement;"
	"UPDATE main.sqlite_sequence SET seq = max(seq, coalesce((SELECT seq"
	" FROM main.sqlite_sequence WHERE name = 'measurement'), 0))"
	" WHERE name = 'measurement_12';"
	"INSERT INTO main.sqlite_sequence (name, seq) SELECT 'measurement_12',"
	" seq FROM main.sqlite_sequence WHERE name = 'measurement' AND NOT"
	" EXISTS (SELECT 1 FROM main.sqlite_sequence"
	" WHERE name = 'measurement_12');"
	"DROP TABLE main.measurement;"
	"ALTER TABLE main.measurement_12 RENAME TO measurement;"
	"CREATE INDEX main.measurement_reset"
	" ON measurement (reset_count, seq);",
};

/* The migrations of audit.db, numbered as those of cml.db. */
static const char *const store_audit_migrations[] = {
	/* 1: the audit trail. */
	"CREATE TABLE audit.audit ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" time_ms INTEGER NOT NULL,"
	" type TEXT NOT NULL,"
	" uid INTEGER,"
	" pid INTEGER,"
	" container TEXT,"
	" object TEXT NOT NULL,"
	" result TEXT NOT NULL,"
	" details TEXT"
	")" STORE_STRICT ";",
	/*
	 * 2: the hash chain (prev and hash; rows of version 1 are chained
	 * when cmld opens the trail) and the subject's command, in a table
	 * whose seq cmld gives (no AUTOINCREMENT to keep up: a cost on
	 * every row); operators' acknowledgements as ranges of seq (few
	 * rows, none written with a record); signed checkpoints; the
	 * trail's own small state (the forwarding cursor).
	 */
	"CREATE TABLE audit.audit_2 ("
	" seq INTEGER PRIMARY KEY,"
	" time_ms INTEGER NOT NULL,"
	" type TEXT NOT NULL,"
	" uid INTEGER,"
	" pid INTEGER,"
	" container TEXT,"
	" object TEXT NOT NULL,"
	" result TEXT NOT NULL,"
	" details TEXT,"
	" comm TEXT NOT NULL DEFAULT '',"
	" prev BLOB,"
	" hash BLOB"
	")" STORE_STRICT ";"
	"INSERT INTO audit.audit_2 (seq, time_ms, type, uid, pid, container, "
	" object, result, details) SELECT seq, time_ms, type, uid, pid, "
	" container, object, result, details FROM audit.audit;"
	"DROP TABLE audit.audit;"
	"ALTER TABLE audit.audit_2 RENAME TO audit;"
	"CREATE TABLE audit.ack ("
	" from_seq INTEGER PRIMARY KEY,"
	" to_seq INTEGER NOT NULL CHECK (to_seq >= from_seq),"
	" acked_ms INTEGER NOT NULL"
	")" STORE_STRICT ";"
	"CREATE TABLE audit.checkpoint ("
	" seq INTEGER PRIMARY KEY,"
	" time_ms INTEGER NOT NULL,"
	" head BLOB NOT NULL,"
	" signature BLOB NOT NULL"
	")" STORE_STRICT ";"
	"CREATE TABLE audit.meta ("
	" key TEXT PRIMARY KEY,"
	" value TEXT NOT NULL"
	")" STORE_STRICT ";",
};

const int store_main_version = (int)STORE_NITEMS(store_main_migrations);
const int store_audit_version = (int)STORE_NITEMS(store_audit_migrations);

/* One database file on the connection: its schema name and migrations. */
struct store_schema {
	const char *name; /* schema name on the connection */
	const char *file; /* file name in the state directory */
	const char *const *migrations;
	int nmigrations;
	int cache_kib; /* page cache limit; cmld's idle RSS is small */
};


static const struct store_schema store_schemas[STORE_NSCHEMAS] = {
	[STORE_MAIN] = { "main", "cml.db", store_main_migrations,
	    (int)STORE_NITEMS(store_main_migrations), 512 },
	[STORE_AUDIT] = { "audit", "audit.db", store_audit_migrations,
	    (int)STORE_NITEMS(store_audit_migrations), 256 },
};


/*
 * Describes SQLite result rc in words: db's own message when db holds that
 * error (it names the constraint or table), the generic text otherwise, the
 * operating system's error where SQLite kept one, and what to do where
 * there is something to do.  All SQLite errors become text here.
 */
static char *
store_reason(sqlite3 *db, int rc)
{
	const char *msg, *hint = "";
	char os[128] = "";
	int e;

	if (db != NULL && (sqlite3_errcode(db) & 0xff) == (rc & 0xff))
		msg = sqlite3_errmsg(db);
	else
		msg = sqlite3_errstr(rc);

	switch (rc & 0xff) {
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
	case SQLITE_FULL:
		if (db != NULL && (e = sqlite3_system_errno(db)) != 0)
			snprintf(os, sizeof os, " (%s)", strerror(e));
		break;
	}

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		hint = "; another process holds it: is a second cmld running?";
		break;
	case SQLITE_FULL:
		hint = "; free space in the state directory";
		break;
	case SQLITE_READONLY:
		hint = "; the state directory must be writable";
		break;
	}
	return xasprintf("%s%s%s", msg, os, hint);
}

/* Sets *cause to "WHAT: REASON" for SQLite result rc. */
void
store_cause(char **cause, sqlite3 *db, int rc, const char *fmt, ...)
{
	va_list ap;
	char *what, *reason;

	if (cause == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) == -1)
		fatalx("out of memory formatting a string");
	va_end(ap);
	reason = store_reason(db, rc);
	*cause = xasprintf("%s: %s", what, reason);
	free(reason);
	free(what);
}

/* Returns the current time in milliseconds since the epoch, UTC. */
long long
store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Returns a NOT NULL text column.  SQLite yields NULL there only when it
 * cannot allocate the text, and allocation failures are fatal in cml.
 */
const char *
store_column_text(sqlite3_stmt *stmt, int col)
{
	const unsigned char *s;

	if ((s = sqlite3_column_text(stmt, col)) == NULL)
		fatalx("out of memory reading the database");
	return (const char *)s;
}


/*
 * Binds args to the parameters of stmt, in order, without copying them;
 * returns the SQLite result of the first bind that failed, SQLITE_OK
 * otherwise.
 */
int
store_bind(sqlite3_stmt *stmt, const struct store_arg *args, size_t nargs)
{
	const struct store_arg *a;
	size_t i;
	int rc = SQLITE_OK, col;

	for (i = 0; rc == SQLITE_OK && i < nargs; i++) {
		a = &args[i];
		col = (int)i + 1;
		switch (a->type) {
		case STORE_ARG_TEXT:
			rc = sqlite3_bind_text(stmt, col, a->text, -1,
			    SQLITE_STATIC);
			break;
		case STORE_ARG_INT:
			rc = sqlite3_bind_int64(stmt, col, a->num);
			break;
		case STORE_ARG_ID:
			if (a->num < 0)
				rc = sqlite3_bind_null(stmt, col);
			else
				rc = sqlite3_bind_int64(stmt, col, a->num);
			break;
		case STORE_ARG_BLOB:
			rc = sqlite3_bind_blob(stmt, col, a->blob, a->len,
			    SQLITE_STATIC);
			break;
		}
	}
	return rc;
}

/*
 * Prepares sql and binds args; returns the SQLite result of the first call
 * that failed, SQLITE_OK otherwise.  The caller finalizes *stmt whatever
 * the result (it is NULL when the prepare failed).
 */
int
store_prepare(sqlite3 *db, sqlite3_stmt **stmt, const char *sql,
    const struct store_arg *args, size_t nargs)
{
	int rc;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, stmt, NULL)) != SQLITE_OK)
		return rc;
	return store_bind(*stmt, args, nargs);
}

/*
 * Runs sql, which returns no rows, with args bound, and finalizes it;
 * returns the SQLite result, SQLITE_DONE on success.  The connection keeps
 * the error for store_cause, and sqlite3_changes and
 * sqlite3_last_insert_rowid still tell what the statement did.
 */
int
store_run(sqlite3 *db, const char *sql, const struct store_arg *args,
    size_t nargs)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	if ((rc = store_prepare(db, &stmt, sql, args, nargs)) == SQLITE_OK)
		rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	return rc;
}

/*
 * Runs every statement of sql, which takes no parameters, discarding any
 * rows; -1 with *cause set to "WHAT: REASON".
 */
int
store_exec(sqlite3 *db, const char *sql, char **cause, const char *what)
{
	sqlite3_stmt *stmt = NULL;
	const char *tail = sql;
	int rc;

	while (*tail != '\0') {
		rc = sqlite3_prepare_v2(db, tail, -1, &stmt, &tail);
		if (rc != SQLITE_OK) {
			store_cause(cause, db, rc, "%s", what);
			return -1;
		}
		if (stmt == NULL) /* only whitespace or comments were left */
			break;
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
			;
		if (rc != SQLITE_DONE) {
			store_cause(cause, db, rc, "%s", what);
			sqlite3_finalize(stmt);
			return -1;
		}
		sqlite3_finalize(stmt);
		stmt = NULL;
	}
	return 0;
}

/*
 * Runs sql, which returns one integer, and stores it in *value; -1 with
 * *cause set to "WHAT: REASON".
 */
int
store_query_int(sqlite3 *db, const char *sql, long long *value,
    char **cause, const char *what)
{
	sqlite3_stmt *stmt = NULL;
	int rc, ret = -1;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL)) != SQLITE_OK) {
		store_cause(cause, db, rc, "%s", what);
		goto out;
	}
	if ((rc = sqlite3_step(stmt)) != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			rc = SQLITE_INTERNAL;
		store_cause(cause, db, rc, "%s", what);
		goto out;
	}
	*value = sqlite3_column_int64(stmt, 0);
	ret = 0;
out:
	sqlite3_finalize(stmt);
	return ret;
}

/* Reads PRAGMA user_version of schema i; -1 with *cause set. */
static int
store_user_version(sqlite3 *db, int i, const char *path, int *version,
    char **cause)
{
	long long v;
	char *what, *sql;
	int ret;

	what = xasprintf("cannot read the schema version of %s", path);
	sql = xasprintf("PRAGMA %s.user_version", store_schemas[i].name);
	ret = store_query_int(db, sql, &v, cause, what);
	free(sql);
	free(what);
	if (ret == 0)
		*version = (int)v;
	return ret;
}

/* Describes a refused database as corrupt. */
static void
store_corrupt(char **cause, const char *path, const char *why)
{
	xcause(cause, "database %s is corrupt (%s): refusing to open it; "
	    "restore it from a backup or move it aside", path, why);
}

/* Describes a refused database as written by a newer cml. */
static void
store_newer(char **cause, const char *path, long long version, int known)
{
	xcause(cause, "database %s has schema version %lld, newer than "
	    "this cmld knows (%d): refusing to open it; install a newer cml",
	    path, version, known);
}

/*
 * Describes SQLite result rc met while checking path: damage to the file
 * makes it corrupt, anything else is a failure to open it.
 */
static void
store_check_cause(char **cause, sqlite3 *db, int rc, const char *path)
{
	char *why;

	switch (rc & 0xff) {
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_FORMAT:
		why = store_reason(db, rc);
		store_corrupt(cause, path, why);
		free(why);
		break;
	default:
		store_cause(cause, db, rc, "cannot open database %s", path);
		break;
	}
}

/*
 * Checks an existing database file before anything may write to it: it must
 * be an SQLite database, pass PRAGMA quick_check and carry a schema version
 * this build knows.  The check connection is read-only, so a file that fails
 * is left exactly as it was.  *exists is 0 for a missing file.  -1 with
 * *cause set.
 */
static int
store_check_file(const struct store_schema *sc, const char *path,
    int *exists, char **cause)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	struct stat sb;
	const char *row;
	char *why = NULL, *p;
	long long version = 0;
	int rc, ret = -1;

	*exists = 0;
	if (stat(path, &sb) == -1) {
		if (errno == ENOENT)
			return 0;
		xcause(cause, "cannot open database %s: %s", path,
		    strerror(errno));
		return -1;
	}
	*exists = 1;
	if (!S_ISREG(sb.st_mode)) {
		xcause(cause, "cannot open database %s: not a regular "
		    "file", path);
		return -1;
	}

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		store_cause(cause, db, rc, "cannot open database %s", path);
		goto out;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);

	/* The version first: a newer file may hold what this SQLite lacks. */
	rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		version = sqlite3_column_int64(stmt, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (rc != SQLITE_OK) {
		store_check_cause(cause, db, rc, path);
		goto out;
	}
	if (version > sc->nmigrations) {
		store_newer(cause, path, version, sc->nmigrations);
		goto out;
	}
	if (version < 0) {
		why = xasprintf("invalid schema version %lld", version);
		store_corrupt(cause, path, why);
		goto out;
	}

	rc = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &stmt, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		store_check_cause(cause, db, rc, path);
		goto out;
	}
	row = store_column_text(stmt, 0);
	if (strcmp(row, "ok") != 0) {
		/* Drop the "*** in database main ***" line: one file each. */
		if (strncmp(row, "*** ", 4) == 0 &&
		    (p = strchr(row, '\n')) != NULL)
			row = p + 1;
		why = xstrdup(row);
		for (p = why; *p != '\0'; p++) {
			if (*p == '\n')
				*p = ' ';
		}
		store_corrupt(cause, path, why);
		goto out;
	}
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		store_corrupt(cause, path,
		    "quick_check returned more than \"ok\"");
		goto out;
	}
	if (rc != SQLITE_DONE) {
		store_check_cause(cause, db, rc, path);
		goto out;
	}
	ret = 0;
out:
	free(why);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return ret;
}

/*
 * Creates an empty database file, readable by its owner only; SQLite gives
 * its -wal and -shm files the same mode.  -1 with *cause set.
 */
static int
store_create_file(const char *path, char **cause)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1) {
		xcause(cause, "cannot create database %s: %s", path,
		    strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * Puts one schema in WAL mode with full synchronous writes and a small page
 * cache; -1 with *cause set.
 */
static int
store_configure_schema(struct store *st, int i, char **cause)
{
	const struct store_schema *sc = &store_schemas[i];
	sqlite3_stmt *stmt = NULL;
	const char *mode;
	char *what, *sql;
	int rc, ret = -1;

	what = xasprintf("cannot set up database %s", st->path[i]);
	sql = xasprintf("PRAGMA %s.journal_mode = WAL", sc->name);
	if ((rc = sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL)) ==
	    SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		store_cause(cause, st->db, rc, "%s", what);
		goto out;
	}
	mode = store_column_text(stmt, 0);
	st->wal[i] = strcasecmp(mode, "wal") == 0;
	if (!st->wal[i]) {
		log_warnx("database %s stays in journal mode %s: the file "
		    "system cannot hold a write-ahead log", st->path[i], mode);
	}
	sqlite3_finalize(stmt);
	stmt = NULL;

	free(sql);
	sql = xasprintf("PRAGMA %s.synchronous = FULL", sc->name);
	if (store_exec(st->db, sql, cause, what) == -1)
		goto out;
	free(sql);
	sql = xasprintf("PRAGMA %s.cache_size = -%d", sc->name, sc->cache_kib);
	if (store_exec(st->db, sql, cause, what) == -1)
		goto out;
	ret = 0;
out:
	sqlite3_finalize(stmt);
	free(sql);
	free(what);
	return ret;
}

int
store_durable(struct store *st, int durable, char **cause)
{
	int rc;

	/* Without a write-ahead log a commit that does not wait is unsafe. */
	if (!st->wal[STORE_MAIN] || st->lazy == !durable)
		return 0;
	rc = store_exec(st->db, durable ? "PRAGMA main.synchronous = FULL" :
	    "PRAGMA main.synchronous = NORMAL", cause, durable ?
	    "cannot make the commits wait for the disk again" :
	    "cannot let the commits go on without the disk");
	if (rc == 0)
		st->lazy = !durable;
	return rc;
}

/* Rolls back the open transaction, if SQLite has not done so already. */
void
store_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		store_exec(db, "ROLLBACK", NULL, "rollback");
}

/*
 * Applies migration `version` of schema i inside the caller's transaction:
 * its SQL, a foreign key check, and user_version moved on by one.  Foreign
 * keys are still off here, as SQLite's procedure for schema changes asks,
 * hence the explicit check.  -1 with *cause set.
 */
static int
store_migrate_step(struct store *st, int i, int version, char **cause)
{
	const struct store_schema *sc = &store_schemas[i];
	sqlite3_stmt *stmt = NULL;
	char *what, *sql;
	int rc, ret = -1;

	what = xasprintf("cannot migrate database %s from schema version %d "
	    "to %d", st->path[i], version, version + 1);
	sql = xasprintf("PRAGMA %s.foreign_key_check", sc->name);

	if (store_exec(st->db, sc->migrations[version], cause, what) == -1)
		goto out;

	if ((rc = sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL)) ==
	    SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		xcause(cause, "%s: it leaves a row of table %s without "
		    "its parent", what, store_column_text(stmt, 0));
		goto out;
	}
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "%s", what);
		goto out;
	}

	free(sql);
	sql = xasprintf("PRAGMA %s.user_version = %d", sc->name, version + 1);
	if (store_exec(st->db, sql, cause, what) == -1)
		goto out;
	ret = 0;
out:
	sqlite3_finalize(stmt);
	free(sql);
	free(what);
	return ret;
}

/*
 * Moves schema i one migration closer to version target in one transaction,
 * or sets *done when it is there already.  The version is read inside the
 * transaction, so no other connection can migrate meanwhile.  -1 with
 * *cause set; the transaction is rolled back.
 */
static int
store_migrate_once(struct store *st, int i, int target, int *done,
    char **cause)
{
	const struct store_schema *sc = &store_schemas[i];
	int version = 0, ret = -1;

	if (store_exec(st->db, "BEGIN IMMEDIATE", cause,
	    "cannot start a migration") == -1)
		return -1;
	if (store_user_version(st->db, i, st->path[i], &version, cause) == -1)
		goto out;
	if (version > sc->nmigrations) {
		store_newer(cause, st->path[i], version, sc->nmigrations);
		goto out;
	}
	*done = version >= target;
	if (!*done && store_migrate_step(st, i, version, cause) == -1)
		goto out;
	if (store_exec(st->db, "COMMIT", cause, "cannot commit a migration") ==
	    -1)
		goto out;
	if (!*done) {
		log_info("database %s migrated to schema version %d",
		    st->path[i], version + 1);
	}
	ret = 0;
out:
	if (ret == -1)
		store_rollback(st->db);
	return ret;
}

/*
 * Migrates schema i up to version target, one transaction per migration;
 * -1 with *cause set, the failed migration rolled back.
 */
static int
store_migrate(struct store *st, int i, int target, char **cause)
{
	int done = 0;

	while (!done) {
		if (store_migrate_once(st, i, target, &done, cause) == -1)
			return -1;
	}
	return 0;
}

/* Opens the store at the current schema versions; NULL with *cause set. */
struct store *
store_open(const char *dir, char **cause)
{
	return store_open_at(dir, store_main_version, store_audit_version,
	    cause);
}

/*
 * Opens the store, migrating main and audit only up to the versions given;
 * NULL with *cause set.
 */
struct store *
store_open_at(const char *dir, int main_version, int audit_version,
    char **cause)
{
	const int target[STORE_NSCHEMAS] = {
		[STORE_MAIN] = main_version,
		[STORE_AUDIT] = audit_version,
	};
	struct store *st;
	struct store_arg args[] = { STORE_TEXT(NULL) };
	int exists[STORE_NSCHEMAS], i, rc;

	for (i = 0; i < STORE_NSCHEMAS; i++) {
		if (target[i] < 0 || target[i] > store_schemas[i].nmigrations) {
			xcause(cause, "schema version %d of %s is out of "
			    "range 0..%d", target[i], store_schemas[i].file,
			    store_schemas[i].nmigrations);
			return NULL;
		}
	}

	st = xcalloc(1, sizeof *st);
	for (i = 0; i < STORE_NSCHEMAS; i++)
		st->path[i] = xasprintf("%s/%s", dir, store_schemas[i].file);

	/* Check both files before either is created or written. */
	for (i = 0; i < STORE_NSCHEMAS; i++) {
		if (store_check_file(&store_schemas[i], st->path[i], &exists[i],
		    cause) == -1)
			goto fail;
	}
	for (i = 0; i < STORE_NSCHEMAS; i++) {
		if (!exists[i] && store_create_file(st->path[i], cause) == -1)
			goto fail;
	}

	/* Both files exist now: an open that would create one is a race. */
	rc = sqlite3_open_v2(st->path[STORE_MAIN], &st->db,
	    SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK) {
		store_cause(cause, st->db, rc, "cannot open database %s",
		    st->path[STORE_MAIN]);
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
#ifdef SQLITE_DBCONFIG_DEFENSIVE
	/* No SQL, however wrong, may corrupt the files. */
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
#endif
#ifdef SQLITE_DBCONFIG_DQS_DML
	/* A double-quoted string is an identifier, never a literal. */
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_DQS_DML, 0, NULL);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_DQS_DDL, 0, NULL);
#endif
#ifdef SQLITE_DBCONFIG_TRUSTED_SCHEMA
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
#endif

	args[0].text = st->path[STORE_AUDIT]; /* known only now */
	rc = store_run(st->db, "ATTACH DATABASE ? AS audit", args,
	    STORE_NITEMS(args));
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot open database %s",
		    st->path[STORE_AUDIT]);
		goto fail;
	}
	/*
	 * Every delete overwrites what it frees with zeros, in both files:
	 * a deleted wrapped key must not linger in free space of the
	 * database, where store_container_key_wipe could not prove it gone.
	 */
	if (store_exec(st->db, "PRAGMA secure_delete = ON", cause,
	    "cannot enable secure delete") == -1)
		goto fail;

	for (i = 0; i < STORE_NSCHEMAS; i++) {
		if (store_configure_schema(st, i, cause) == -1)
			goto fail;
	}
	for (i = 0; i < STORE_NSCHEMAS; i++) {
		if (store_migrate(st, i, target[i], cause) == -1)
			goto fail;
	}
	if (store_exec(st->db, "PRAGMA foreign_keys = ON", cause,
	    "cannot enable foreign keys") == -1)
		goto fail;
	return st;

fail:
	store_close(st);
	return NULL;
}

/* Closes the store; NULL does nothing. */
void
store_close(struct store *st)
{
	int i;

	if (st == NULL)
		return;
	free(st->brief.subject);
	if (st->db != NULL && sqlite3_close(st->db) != SQLITE_OK)
		log_warnx("closing the database: %s", sqlite3_errmsg(st->db));
	for (i = 0; i < STORE_NSCHEMAS; i++)
		free(st->path[i]);
	free(st);
}

/* Reads the schema versions of both files; -1 with *cause set. */
int
store_versions(struct store *st, int *main_version, int *audit_version,
    char **cause)
{
	if (store_user_version(st->db, STORE_MAIN, st->path[STORE_MAIN],
	    main_version, cause) == -1)
		return -1;
	return store_user_version(st->db, STORE_AUDIT, st->path[STORE_AUDIT],
	    audit_version, cause);
}

/* Reads the device row: 1 found, 0 none yet, -1 with *cause set. */
int
store_device_get(struct store *st, struct store_device *dev, char **cause)
{
	sqlite3_stmt *stmt = NULL;
	int rc, ret = -1;

	memset(dev, 0, sizeof *dev);
	rc = store_prepare(st->db, &stmt,
	    "SELECT uuid, state, created_ms FROM main.device WHERE id = 1",
	    NULL, 0);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		dev->uuid = xstrdup(store_column_text(stmt, 0));
		dev->state = xstrdup(store_column_text(stmt, 1));
		dev->created_ms = sqlite3_column_int64(stmt, 2);
		ret = 1;
	} else if (rc == SQLITE_DONE)
		ret = 0;
	else {
		store_cause(cause, st->db, rc, "cannot read the device from %s",
		    st->path[STORE_MAIN]);
	}
	sqlite3_finalize(stmt);
	return ret;
}

/* Creates the device row in state "factory"; -1 with *cause set. */
int
store_device_create(struct store *st, const char *uuid, char **cause)
{
	const struct store_arg args[] = {
		STORE_TEXT(uuid), STORE_INT(store_now_ms()),
	};
	int rc;

	rc = store_run(st->db, "INSERT INTO main.device (id, uuid, state, "
	    "created_ms) VALUES (1, ?, 'factory', ?)", args,
	    STORE_NITEMS(args));
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
		xcause(cause, "cannot create the device in %s: it exists "
		    "already", st->path[STORE_MAIN]);
	} else {
		store_cause(cause, st->db, rc, "cannot create the device in %s",
		    st->path[STORE_MAIN]);
	}
	return -1;
}

/* Sets the provisioning state; -1 with *cause set. */
int
store_device_set_state(struct store *st, const char *state, char **cause)
{
	const struct store_arg args[] = { STORE_TEXT(state) };
	int rc;

	/* The table's CHECK says the same; this says it in words. */
	if (state == NULL || (strcmp(state, "factory") != 0 &&
	    strcmp(state, "provisioned") != 0)) {
		xcause(cause, "invalid provisioning state '%s': use "
		    "factory or provisioned", state == NULL ? "" : state);
		return -1;
	}
	rc = store_run(st->db, "UPDATE main.device SET state = ? WHERE id = 1",
	    args, STORE_NITEMS(args));
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot set the provisioning "
		    "state in %s", st->path[STORE_MAIN]);
		return -1;
	}
	if (sqlite3_changes(st->db) == 0) {
		xcause(cause, "cannot set the provisioning state in %s: "
		    "the device has not been created", st->path[STORE_MAIN]);
		return -1;
	}
	return 0;
}

/* Releases what store_device_get filled in. */
void
store_device_clear(struct store_device *dev)
{
	free(dev->uuid);
	free(dev->state);
	memset(dev, 0, sizeof *dev);
}

/* Reads a setting; *value is NULL when it was never set.  -1 on error. */
int
store_setting_get(struct store *st, const char *key, char **value,
    char **cause)
{
	const struct store_arg args[] = { STORE_TEXT(key) };
	sqlite3_stmt *stmt = NULL;
	int rc, ret = -1;

	*value = NULL;
	rc = store_prepare(st->db, &stmt,
	    "SELECT value FROM main.settings WHERE key = ?", args,
	    STORE_NITEMS(args));
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*value = xstrdup(store_column_text(stmt, 0));
		ret = 0;
	} else if (rc == SQLITE_DONE)
		ret = 0;
	else {
		store_cause(cause, st->db, rc, "cannot read setting '%s' from "
		    "%s", key, st->path[STORE_MAIN]);
	}
	sqlite3_finalize(stmt);
	return ret;
}

char *
store_setting_value(struct store *st, const char *key)
{
	const struct setting_def *def = setting_find(key);
	char *value = NULL, *cause = NULL;

	if (store_setting_get(st, key, &value, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
	}
	if (value == NULL)
		value = xstrdup(def != NULL ? def->def : "");
	return value;
}

/* Stores a setting in one transaction; -1 with *cause set. */
int
store_setting_set(struct store *st, const char *key, const char *value,
    char **cause)
{
	return store_settings_set(st, &key, &value, 1, cause);
}

int
store_settings_set(struct store *st, const char *const *keys,
    const char *const *values, size_t n, char **cause)
{
	long long now = store_now_ms();
	size_t i;
	int rc;

	if (n > 1 && store_exec(st->db, "BEGIN IMMEDIATE", cause,
	    "cannot store settings") == -1)
		return -1;
	for (i = 0; i < n; i++) {
		const struct store_arg args[] = {
			STORE_TEXT(keys[i]), STORE_TEXT(values[i]),
			STORE_INT(now),
		};

		rc = store_run(st->db, "INSERT INTO main.settings (key, "
		    "value, updated_ms) VALUES (?, ?, ?) ON CONFLICT (key) "
		    "DO UPDATE SET value = excluded.value, updated_ms = "
		    "excluded.updated_ms", args, STORE_NITEMS(args));
		if (rc != SQLITE_DONE) {
			store_cause(cause, st->db, rc, "cannot store setting "
			    "'%s' in %s%s", keys[i] == NULL ? "" : keys[i],
			    st->path[STORE_MAIN], n > 1 ? " (no setting was "
			    "stored)" : "");
			store_rollback(st->db);
			return -1;
		}
	}
	if (n > 1 && store_exec(st->db, "COMMIT", cause,
	    "cannot store settings (none was stored)") == -1) {
		store_rollback(st->db);
		return -1;
	}
	return 0;
}

/* Checks an anchor's kind in words; the table's CHECK says the same. */
static int
store_anchor_kind_ok(const char *kind, char **cause)
{
	if (kind != NULL && (strcmp(kind, "owner") == 0 ||
	    strcmp(kind, "supplier") == 0 || strcmp(kind, "device") == 0))
		return 0;
	xcause(cause, "invalid trust anchor kind '%s': use owner, supplier "
	    "or device", kind == NULL ? "" : kind);
	return -1;
}

/*
 * Adds a trust anchor; 1 if one with that fingerprint exists already
 * (nothing changed), -1 with *cause set.
 */
int
store_anchor_add(struct store *st, const struct store_anchor *a,
    char **cause)
{
	const struct store_arg args[] = {
		STORE_TEXT(a->fingerprint), STORE_TEXT(a->subject),
		STORE_TEXT(a->key), STORE_TEXT(a->kind),
		STORE_INT(a->not_after),
		STORE_INT(a->added_ms > 0 ? a->added_ms : store_now_ms()),
		STORE_BLOB(a->der, (int)a->der_len),
	};
	int rc;

	if (store_anchor_kind_ok(a->kind, cause) == -1)
		return -1;
	if (a->der == NULL || a->der_len == 0 || a->der_len > INT_MAX) {
		xcause(cause, "cannot add trust anchor %s to %s: no "
		    "certificate", a->fingerprint == NULL ? "" :
		    a->fingerprint, st->path[STORE_MAIN]);
		return -1;
	}
	rc = store_run(st->db, "INSERT INTO main.trust_anchor (fingerprint, "
	    "subject, key, kind, not_after, added_ms, der) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (fingerprint) DO NOTHING",
	    args, STORE_NITEMS(args));
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot add trust anchor %s to "
		    "%s", a->fingerprint == NULL ? "" : a->fingerprint,
		    st->path[STORE_MAIN]);
		return -1;
	}
	return sqlite3_changes(st->db) == 0 ? 1 : 0;
}

/* Removes the anchor with that fingerprint; 1 removed, 0 none, -1 error. */
int
store_anchor_remove(struct store *st, const char *fingerprint, char **cause)
{
	const struct store_arg args[] = { STORE_TEXT(fingerprint) };
	int rc;

	rc = store_run(st->db, "DELETE FROM main.trust_anchor WHERE "
	    "fingerprint = ?", args, STORE_NITEMS(args));
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot remove trust anchor %s "
		    "from %s", fingerprint == NULL ? "" : fingerprint,
		    st->path[STORE_MAIN]);
		return -1;
	}
	return sqlite3_changes(st->db) > 0 ? 1 : 0;
}

/* Releases what one anchor read by store_anchor_list holds. */
static void
store_anchor_clear(struct store_anchor *a)
{
	free(a->fingerprint);
	free(a->subject);
	free(a->key);
	free(a->kind);
	free(a->der);
	memset(a, 0, sizeof *a);
}

/*
 * Calls cb for every anchor, ordered by subject; the rows are read first,
 * so cb may use the store.  Returns cb's value when it is not 0, -1 with
 * *cause set on error.
 */
int
store_anchor_list(struct store *st,
    int (*cb)(const struct store_anchor *a, void *arg), void *arg,
    char **cause)
{
	struct store_anchor *all = NULL, *a;
	sqlite3_stmt *stmt = NULL;
	const void *blob;
	size_t n = 0, i;
	int rc, ret = -1, len;

	rc = store_prepare(st->db, &stmt,
	    "SELECT fingerprint, subject, key, kind, not_after, added_ms, der "
	    "FROM main.trust_anchor ORDER BY subject, fingerprint", NULL, 0);
	if (rc == SQLITE_OK) {
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			all = xreallocarray(all, n + 1, sizeof *all);
			a = &all[n++];
			memset(a, 0, sizeof *a);
			a->fingerprint = xstrdup(store_column_text(stmt, 0));
			a->subject = xstrdup(store_column_text(stmt, 1));
			a->key = xstrdup(store_column_text(stmt, 2));
			a->kind = xstrdup(store_column_text(stmt, 3));
			a->not_after = sqlite3_column_int64(stmt, 4);
			a->added_ms = sqlite3_column_int64(stmt, 5);
			blob = sqlite3_column_blob(stmt, 6);
			len = sqlite3_column_bytes(stmt, 6);
			if (blob == NULL || len <= 0)
				fatalx("out of memory reading the database");
			a->der = xmalloc((size_t)len);
			memcpy(a->der, blob, (size_t)len);
			a->der_len = (size_t)len;
		}
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot read the trust anchors "
		    "from %s", st->path[STORE_MAIN]);
		goto out;
	}
	ret = 0;
	for (i = 0; i < n && ret == 0; i++)
		ret = cb(&all[i], arg);
out:
	for (i = 0; i < n; i++)
		store_anchor_clear(&all[i]);
	free(all);
	return ret;
}

/* Releases what store_guestos_get filled in and leaves g empty. */
void
store_guestos_clear(struct store_guestos *g)
{
	size_t i;

	for (i = 0; i < g->nimages; i++) {
		free(g->images[i].file);
		free(g->images[i].fs);
		free(g->images[i].mount);
	}
	free(g->images);
	free(g->name);
	free(g->version);
	free(g->description);
	free(g->init);
	free(g->signer);
	free(g->path);
	memset(g, 0, sizeof *g);
}

/* The columns store_guestos_row reads, in its order. */
#define STORE_GUESTOS_COLUMNS \
	"id, name, version, description, init, signer, path, installed_ms"

/* Fills g from a row of STORE_GUESTOS_COLUMNS and returns the row's id. */
static long long
store_guestos_row(sqlite3_stmt *stmt, struct store_guestos *g)
{
	memset(g, 0, sizeof *g);
	g->name = xstrdup(store_column_text(stmt, 1));
	g->version = xstrdup(store_column_text(stmt, 2));
	g->description = xstrdup(store_column_text(stmt, 3));
	g->init = xstrdup(store_column_text(stmt, 4));
	g->signer = xstrdup(store_column_text(stmt, 5));
	g->path = xstrdup(store_column_text(stmt, 6));
	g->installed_ms = sqlite3_column_int64(stmt, 7);
	return sqlite3_column_int64(stmt, 0);
}

/*
 * Reads the images of guest OS id into g, in manifest order, with stmt
 * (SELECT ... FROM guestos_image WHERE guestos_id = ?); returns the
 * SQLite result, SQLITE_DONE on success.
 */
static int
store_guestos_images(sqlite3_stmt *stmt, long long id,
    struct store_guestos *g)
{
	struct store_image *img;
	int rc;

	sqlite3_reset(stmt);
	if ((rc = sqlite3_bind_int64(stmt, 1, id)) != SQLITE_OK)
		return rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		g->images = xreallocarray(g->images, g->nimages + 1,
		    sizeof *g->images);
		img = &g->images[g->nimages++];
		memset(img, 0, sizeof *img);
		img->file = xstrdup(store_column_text(stmt, 0));
		img->size = sqlite3_column_int64(stmt, 1);
		snprintf(img->sha256, sizeof img->sha256, "%s",
		    store_column_text(stmt, 2));
		img->fs = xstrdup(store_column_text(stmt, 3));
		img->mount = xstrdup(store_column_text(stmt, 4));
	}
	return rc;
}

/* The statement store_guestos_images needs. */
static int
store_guestos_images_prepare(struct store *st, sqlite3_stmt **stmt)
{
	return store_prepare(st->db, stmt,
	    "SELECT file, size, sha256, fs, mount FROM main.guestos_image "
	    "WHERE guestos_id = ? ORDER BY idx", NULL, 0);
}

/*
 * Inserts image i of guest OS id with stmt (INSERT INTO guestos_image);
 * returns the SQLite result, SQLITE_DONE on success.
 */
static int
store_guestos_image_add(sqlite3_stmt *stmt, long long id, size_t i,
    const struct store_image *img)
{
	const struct store_arg args[] = {
		STORE_INT(id), STORE_INT((long long)i), STORE_TEXT(img->file),
		STORE_INT(img->size), STORE_TEXT(img->sha256),
		STORE_TEXT(img->fs), STORE_TEXT(img->mount),
	};
	int rc;

	sqlite3_reset(stmt);
	if ((rc = store_bind(stmt, args, STORE_NITEMS(args))) == SQLITE_OK)
		rc = sqlite3_step(stmt);
	return rc;
}

/*
 * Adds a guest OS and its images in one transaction; 1 if NAME/VERSION
 * exists already (nothing changed), -1 with *cause set.
 */
int
store_guestos_add(struct store *st, const struct store_guestos *g,
    char **cause)
{
	const struct store_arg args[] = {
		STORE_TEXT(g->name), STORE_TEXT(g->version),
		STORE_TEXT(g->description == NULL ? "" : g->description),
		STORE_TEXT(g->init), STORE_TEXT(g->signer), STORE_TEXT(g->path),
		STORE_INT(g->installed_ms > 0 ? g->installed_ms :
		    store_now_ms()),
	};
	sqlite3_stmt *istmt = NULL;
	long long id;
	size_t i;
	int rc, ret = -1;
	char *what;

	what = xasprintf("cannot add guest OS %s %s to %s",
	    g->name == NULL ? "" : g->name,
	    g->version == NULL ? "" : g->version, st->path[STORE_MAIN]);
	if (store_exec(st->db, "BEGIN IMMEDIATE", cause, what) == -1) {
		free(what);
		return -1;
	}
	rc = store_run(st->db, "INSERT INTO main.guestos (name, version, "
	    "description, init, signer, path, installed_ms) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name, version) "
	    "DO NOTHING", args, STORE_NITEMS(args));
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "%s", what);
		goto out;
	}
	if (sqlite3_changes(st->db) == 0) {
		ret = 1;
		goto out;
	}
	id = sqlite3_last_insert_rowid(st->db);

	rc = store_prepare(st->db, &istmt, "INSERT INTO main.guestos_image "
	    "(guestos_id, idx, file, size, sha256, fs, mount) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?)", NULL, 0);
	for (i = 0; rc == SQLITE_OK && i < g->nimages; i++) {
		if ((rc = store_guestos_image_add(istmt, id, i,
		    &g->images[i])) == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK) {
		store_cause(cause, st->db, rc, "%s", what);
		goto out;
	}
	if (store_exec(st->db, "COMMIT", cause, what) == -1)
		goto out;
	ret = 0;
out:
	sqlite3_finalize(istmt);
	/* Nothing is kept of a failed add, nor of a duplicate. */
	if (ret != 0)
		store_rollback(st->db);
	free(what);
	return ret;
}

/*
 * Calls cb for every guest OS (images filled in), ordered by name then
 * install time; the rows are read in one transaction first, so cb may use
 * the store.  Returns cb's value when it is not 0, -1 with *cause set on
 * error.
 */
int
store_guestos_list(struct store *st,
    int (*cb)(const struct store_guestos *g, void *arg), void *arg,
    char **cause)
{
	struct store_guestos *all = NULL;
	sqlite3_stmt *stmt = NULL, *istmt = NULL;
	long long *ids = NULL;
	size_t n = 0, i;
	int rc, ret = -1;
	char *what;

	what = xasprintf("cannot read the guest OSes from %s",
	    st->path[STORE_MAIN]);
	if (store_exec(st->db, "BEGIN", cause, what) == -1) {
		free(what);
		return -1;
	}
	rc = store_prepare(st->db, &stmt,
	    "SELECT " STORE_GUESTOS_COLUMNS " FROM main.guestos "
	    "ORDER BY name, installed_ms, id", NULL, 0);
	if (rc == SQLITE_OK) {
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			all = xreallocarray(all, n + 1, sizeof *all);
			ids = xreallocarray(ids, n + 1, sizeof *ids);
			ids[n] = store_guestos_row(stmt, &all[n]);
			n++;
		}
		if (rc == SQLITE_DONE)
			rc = store_guestos_images_prepare(st, &istmt);
	}
	for (i = 0; rc == SQLITE_OK && i < n; i++) {
		if ((rc = store_guestos_images(istmt, ids[i], &all[i])) ==
		    SQLITE_DONE)
			rc = SQLITE_OK;
	}
	sqlite3_finalize(istmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_OK && rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "%s", what);
		store_rollback(st->db);
		goto out;
	}
	if (store_exec(st->db, "COMMIT", cause, what) == -1) {
		store_rollback(st->db);
		goto out;
	}
	ret = 0;
	for (i = 0; i < n && ret == 0; i++)
		ret = cb(&all[i], arg);
out:
	for (i = 0; i < n; i++)
		store_guestos_clear(&all[i]);
	free(all);
	free(ids);
	free(what);
	return ret;
}

/*
 * Reads NAME/VERSION with its images in one transaction; 1 found, 0 none,
 * -1 with *cause set.  Free with store_guestos_clear.
 */
int
store_guestos_get(struct store *st, const char *name, const char *version,
    struct store_guestos *g, char **cause)
{
	const struct store_arg args[] = {
		STORE_TEXT(name), STORE_TEXT(version),
	};
	sqlite3_stmt *stmt = NULL, *istmt = NULL;
	long long id;
	int rc, ret = -1;
	char *what;

	memset(g, 0, sizeof *g);
	what = xasprintf("cannot read guest OS %s %s from %s",
	    name == NULL ? "" : name, version == NULL ? "" : version,
	    st->path[STORE_MAIN]);
	if (store_exec(st->db, "BEGIN", cause, what) == -1) {
		free(what);
		return -1;
	}
	rc = store_prepare(st->db, &stmt,
	    "SELECT " STORE_GUESTOS_COLUMNS " FROM main.guestos "
	    "WHERE name = ? AND version = ?", args, STORE_NITEMS(args));
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		id = store_guestos_row(stmt, g);
		ret = 1;
		if ((rc = store_guestos_images_prepare(st, &istmt)) ==
		    SQLITE_OK)
			rc = store_guestos_images(istmt, id, g);
	} else if (rc == SQLITE_DONE)
		ret = 0;
	sqlite3_finalize(istmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "%s", what);
		goto fail;
	}
	if (store_exec(st->db, "COMMIT", cause, what) == -1)
		goto fail;
	free(what);
	return ret;

fail:
	store_rollback(st->db);
	store_guestos_clear(g);
	free(what);
	return -1;
}

/*
 * Removes NAME/VERSION; its images go with it (ON DELETE CASCADE).  1
 * removed, 0 none, -1 with *cause set.
 */
int
store_guestos_remove(struct store *st, const char *name, const char *version,
    char **cause)
{
	const struct store_arg args[] = {
		STORE_TEXT(name), STORE_TEXT(version),
	};
	int rc;

	rc = store_run(st->db, "DELETE FROM main.guestos WHERE name = ? AND "
	    "version = ?", args, STORE_NITEMS(args));
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot remove guest OS %s %s "
		    "from %s", name == NULL ? "" : name,
		    version == NULL ? "" : version, st->path[STORE_MAIN]);
		return -1;
	}
	return sqlite3_changes(st->db) > 0 ? 1 : 0;
}

/* The states of a container; the table's CHECK lists the same. */
static const char *const store_container_states[] = {
	"stopped", "starting", "running", "stopping", "frozen", "failed",
	"locked",
};

/* Checks a container state in words before the table's CHECK does. */
static int
store_container_state_ok(const char *state, char **cause)
{
	size_t i;

	for (i = 0; state != NULL && i < STORE_NITEMS(store_container_states);
	    i++) {
		if (strcmp(state, store_container_states[i]) == 0)
			return 0;
	}
	xcause(cause, "invalid container state '%s': use stopped, "
	    "starting, running, stopping, frozen, failed or locked",
	    state == NULL ? "" : state);
	return -1;
}

/* Releases what store_container_get or _list filled in and leaves c empty. */
void
store_container_clear(struct store_container *c)
{
	free(c->name);
	free(c->config);
	free(c->signer);
	free(c->guestos);
	free(c->guestos_version);
	free(c->state);
	free(c->reason);
	free(c->uuid);
	memset(c, 0, sizeof *c);
}

/* The columns store_container_row reads, in its order. */
#define STORE_CONTAINER_COLUMNS \
	"name, idx, config, signer, guestos, guestos_version, state, " \
	"reason, pid, created_ms, started_ms, uuid"

/* Returns a text column that may be NULL, copied, or NULL. */
static char *
store_column_strdup_or_null(sqlite3_stmt *stmt, int col)
{
	if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
		return NULL;
	return xstrdup(store_column_text(stmt, col));
}

/*
 * Fills c from a row of STORE_CONTAINER_COLUMNS; config gets a terminating
 * NUL after its config_len bytes, so callers may parse it as a string.
 */
static void
store_container_row(sqlite3_stmt *stmt, struct store_container *c)
{
	const void *blob;
	int len;

	memset(c, 0, sizeof *c);
	c->name = xstrdup(store_column_text(stmt, 0));
	c->idx = sqlite3_column_int64(stmt, 1);
	blob = sqlite3_column_blob(stmt, 2);
	len = sqlite3_column_bytes(stmt, 2);
	if (blob == NULL || len <= 0)
		fatalx("out of memory reading the database");
	c->config = xmalloc((size_t)len + 1);
	memcpy(c->config, blob, (size_t)len);
	c->config[len] = '\0';
	c->config_len = (size_t)len;
	c->signer = store_column_strdup_or_null(stmt, 3);
	c->guestos = xstrdup(store_column_text(stmt, 4));
	c->guestos_version = store_column_strdup_or_null(stmt, 5);
	c->state = xstrdup(store_column_text(stmt, 6));
	c->reason = store_column_strdup_or_null(stmt, 7);
	c->pid = sqlite3_column_int64(stmt, 8);
	c->created_ms = sqlite3_column_int64(stmt, 9);
	c->started_ms = sqlite3_column_int64(stmt, 10);
	c->uuid = xstrdup(store_column_text(stmt, 11));
}

/*
 * Adds a container in state "stopped", pid 0, never started; 1 if the name
 * exists already (nothing changed), -1 with *cause set.
 */
int
store_container_add(struct store *st, const struct store_container *c,
    char **cause)
{
	const struct store_arg args[] = {
		STORE_TEXT(c->name), STORE_INT(c->idx),
		STORE_BLOB(c->config, (int)c->config_len),
		STORE_TEXT(c->signer), STORE_TEXT(c->guestos),
		STORE_INT(c->created_ms > 0 ? c->created_ms : store_now_ms()),
	};
	const char *name = c->name == NULL ? "" : c->name;
	int rc;

	if (c->config == NULL || c->config_len == 0 ||
	    c->config_len > INT_MAX) {
		xcause(cause, "cannot add container %s to %s: no config",
		    name, st->path[STORE_MAIN]);
		return -1;
	}
	if (c->idx < 0) {
		xcause(cause, "cannot add container %s to %s: invalid "
		    "user namespace index %lld", name, st->path[STORE_MAIN],
		    c->idx);
		return -1;
	}
	/* Only a taken name is a duplicate; a taken idx is an error. */
	rc = store_run(st->db, "INSERT INTO main.container (name, idx, config, "
	    "signer, guestos, guestos_version, state, reason, pid, created_ms, "
	    "started_ms, uuid) VALUES (?, ?, ?, ?, ?, NULL, 'stopped', NULL, "
	    "0, ?, 0, lower(hex(randomblob(16)))) ON CONFLICT (name) DO "
	    "NOTHING", args, STORE_NITEMS(args));
	if (rc == SQLITE_DONE)
		return sqlite3_changes(st->db) == 0 ? 1 : 0;
	if (rc == SQLITE_CONSTRAINT_UNIQUE) {
		xcause(cause, "cannot add container %s to %s: user "
		    "namespace index %lld is used by another container", name,
		    st->path[STORE_MAIN], c->idx);
	} else {
		store_cause(cause, st->db, rc, "cannot add container %s to %s",
		    name, st->path[STORE_MAIN]);
	}
	return -1;
}

/*
 * Reads one container; 1 found, 0 none, -1 with *cause set.  Free with
 * store_container_clear.
 */
int
store_container_get(struct store *st, const char *name,
    struct store_container *c, char **cause)
{
	const struct store_arg args[] = { STORE_TEXT(name) };
	sqlite3_stmt *stmt = NULL;
	int rc, ret = -1;

	memset(c, 0, sizeof *c);
	rc = store_prepare(st->db, &stmt,
	    "SELECT " STORE_CONTAINER_COLUMNS " FROM main.container "
	    "WHERE name = ?", args, STORE_NITEMS(args));
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		store_container_row(stmt, c);
		ret = 1;
	} else if (rc == SQLITE_DONE)
		ret = 0;
	else {
		store_cause(cause, st->db, rc, "cannot read container %s from "
		    "%s", name == NULL ? "" : name, st->path[STORE_MAIN]);
	}
	sqlite3_finalize(stmt);
	return ret;
}

/*
 * Calls cb for every container ordered by name, c0 (the management
 * container, started first) ahead of the rest; the rows are read first, so
 * cb may use the store.  Returns cb's value when it is not 0, -1 with
 * *cause set on error.
 */
int
store_container_list(struct store *st,
    int (*cb)(const struct store_container *c, void *arg), void *arg,
    char **cause)
{
	struct store_container *all = NULL;
	sqlite3_stmt *stmt = NULL;
	size_t n = 0, i;
	int rc, ret = -1;

	rc = store_prepare(st->db, &stmt,
	    "SELECT " STORE_CONTAINER_COLUMNS " FROM main.container "
	    "ORDER BY name <> 'c0', name", NULL, 0);
	if (rc == SQLITE_OK) {
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			all = xreallocarray(all, n + 1, sizeof *all);
			store_container_row(stmt, &all[n++]);
		}
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot read the containers "
		    "from %s", st->path[STORE_MAIN]);
		goto out;
	}
	ret = 0;
	for (i = 0; i < n && ret == 0; i++)
		ret = cb(&all[i], arg);
out:
	for (i = 0; i < n; i++)
		store_container_clear(&all[i]);
	free(all);
	return ret;
}

/*
 * Sets state, reason, pid and, with a guestos_version, that version and
 * started_ms = now; one statement, so one transaction.  1 updated, 0 no
 * such container, -1 with *cause set.
 */
int
store_container_set_state(struct store *st, const char *name,
    const char *state, const char *reason, long long pid,
    const char *guestos_version, char **cause)
{
	/* NULL keeps started_ms: only a start, with a version, moves it. */
	const struct store_arg args[] = {
		STORE_TEXT(state), STORE_TEXT(reason), STORE_INT(pid),
		STORE_TEXT(guestos_version),
		STORE_ID(guestos_version == NULL ? -1 : store_now_ms()),
		STORE_TEXT(name),
	};
	int rc;

	if (store_container_state_ok(state, cause) == -1)
		return -1;
	rc = store_run(st->db, "UPDATE main.container SET state = ?, "
	    "reason = ?, pid = ?, guestos_version = coalesce(?, "
	    "guestos_version), started_ms = coalesce(?, started_ms) "
	    "WHERE name = ?", args, STORE_NITEMS(args));
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot set the state of "
		    "container %s in %s", name == NULL ? "" : name,
		    st->path[STORE_MAIN]);
		return -1;
	}
	return sqlite3_changes(st->db) > 0 ? 1 : 0;
}

/* Removes a container; 1 removed, 0 none, -1 with *cause set. */
int
store_container_remove(struct store *st, const char *name, char **cause)
{
	const struct store_arg args[] = { STORE_TEXT(name) };
	int rc;

	rc = store_run(st->db, "DELETE FROM main.container WHERE name = ?",
	    args, STORE_NITEMS(args));
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot remove container %s "
		    "from %s", name == NULL ? "" : name, st->path[STORE_MAIN]);
		return -1;
	}
	return sqlite3_changes(st->db) > 0 ? 1 : 0;
}

/*
 * Finds a container that uses a guest OS, or one version of it while it
 * starts or runs there; c0 first, then by name.  1 with *name set, 0 when
 * none does, -1 with *cause set.
 */
int
store_container_using_guestos(struct store *st, const char *guestos,
    const char *version, char **name, char **cause)
{
	const struct store_arg args[] = {
		STORE_TEXT(guestos), STORE_TEXT(version),
	};
	sqlite3_stmt *stmt = NULL;
	int rc, ret = -1;

	*name = NULL;
	rc = store_prepare(st->db, &stmt,
	    "SELECT name FROM main.container WHERE guestos = ?1 AND "
	    "(?2 IS NULL OR (guestos_version = ?2 AND state IN ('starting', "
	    "'running', 'stopping', 'frozen'))) "
	    "ORDER BY name <> 'c0', name LIMIT 1", args, STORE_NITEMS(args));
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*name = xstrdup(store_column_text(stmt, 0));
		ret = 1;
	} else if (rc == SQLITE_DONE)
		ret = 0;
	else {
		store_cause(cause, st->db, rc, "cannot read the containers "
		    "using guest OS %s from %s", guestos == NULL ? "" : guestos,
		    st->path[STORE_MAIN]);
	}
	sqlite3_finalize(stmt);
	return ret;
}

/*
 * Sets *idx to the smallest index no container uses: 0 when free, else
 * the lowest used index whose successor is free.  -1 with *cause set.
 */
int
store_container_free_index(struct store *st, long long *idx, char **cause)
{
	char *what;
	int ret;

	what = xasprintf("cannot find a free user namespace index in %s",
	    st->path[STORE_MAIN]);
	ret = store_query_int(st->db,
	    "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM main.container "
	    "WHERE idx = 0) THEN 0 ELSE (SELECT min(a.idx) + 1 FROM "
	    "main.container AS a WHERE NOT EXISTS (SELECT 1 FROM "
	    "main.container AS b WHERE b.idx = a.idx + 1)) END", idx, cause,
	    what);
	free(what);
	return ret;
}

/* Copies a BLOB column of at most max bytes; -1 if it is longer or empty. */
static int
store_column_blob(sqlite3_stmt *stmt, int col, size_t max, unsigned char **out,
    size_t *len)
{
	const void *blob = sqlite3_column_blob(stmt, col);
	int n = sqlite3_column_bytes(stmt, col);

	if (blob == NULL || n <= 0 || (size_t)n > max)
		return -1;
	*out = xmalloc((size_t)n);
	memcpy(*out, blob, (size_t)n);
	*len = (size_t)n;
	return 0;
}

/* Releases what store_device_cert_get filled in and leaves c empty. */
void
store_device_cert_clear(struct store_device_cert *c)
{
	free(c->der);
	free(c->subject);
	free(c->issuer);
	free(c->chain);
	memset(c, 0, sizeof *c);
}

/* Stores the device certificate, replacing any; -1 with *cause set. */
int
store_device_cert_set(struct store *st, const struct store_device_cert *c,
    char **cause)
{
	const struct store_arg args[] = {
		STORE_BLOB(c->der, (int)c->der_len), STORE_TEXT(c->subject),
		STORE_TEXT(c->issuer), STORE_TEXT(c->fingerprint),
		STORE_INT(c->not_before), STORE_INT(c->not_after),
		STORE_INT(c->installed_ms != 0 ? c->installed_ms :
		    store_now_ms()),
		STORE_BLOB(c->chain, (int)c->chain_len),
	};
	int rc;

	if (c->der == NULL || c->der_len == 0 || c->der_len > INT_MAX) {
		xcause(cause, "cannot store the device certificate: it is "
		    "empty or too large");
		return -1;
	}
	if (c->chain_len > STORE_DEVICE_CHAIN_MAX) {
		xcause(cause, "cannot store the device certificate: its "
		    "chain of %zu bytes is more than %d", c->chain_len,
		    STORE_DEVICE_CHAIN_MAX);
		return -1;
	}
	/* No chain binds NULL: stored as the empty chain. */
	rc = store_run(st->db, "INSERT INTO main.device_cert (id, der, "
	    "subject, issuer, fingerprint, not_before, not_after, "
	    "installed_ms, chain) VALUES (1, ?, ?, ?, ?, ?, ?, ?, "
	    "coalesce(?, x'')) ON CONFLICT (id) DO UPDATE SET der = "
	    "excluded.der, subject = excluded.subject, issuer = "
	    "excluded.issuer, fingerprint = excluded.fingerprint, "
	    "not_before = excluded.not_before, not_after = "
	    "excluded.not_after, installed_ms = excluded.installed_ms, "
	    "chain = excluded.chain", args, STORE_NITEMS(args));
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot store the device "
		    "certificate in %s", st->path[STORE_MAIN]);
		return -1;
	}
	return 0;
}

/* Reads the device certificate: 1 found, 0 none, -1 with *cause set. */
int
store_device_cert_get(struct store *st, struct store_device_cert *c,
    char **cause)
{
	sqlite3_stmt *stmt = NULL;
	const void *blob;
	int rc, ret = -1, len;

	memset(c, 0, sizeof *c);
	rc = store_prepare(st->db, &stmt, "SELECT der, subject, issuer, "
	    "fingerprint, not_before, not_after, installed_ms, chain FROM "
	    "main.device_cert WHERE id = 1", NULL, 0);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		blob = sqlite3_column_blob(stmt, 0);
		len = sqlite3_column_bytes(stmt, 0);
		if (blob == NULL || len <= 0)
			fatalx("out of memory reading the database");
		c->der = xmalloc((size_t)len);
		memcpy(c->der, blob, (size_t)len);
		c->der_len = (size_t)len;
		c->subject = xstrdup(store_column_text(stmt, 1));
		c->issuer = xstrdup(store_column_text(stmt, 2));
		/* the table's CHECK keeps it at 64 digits */
		snprintf(c->fingerprint, sizeof c->fingerprint, "%s",
		    store_column_text(stmt, 3));
		c->not_before = sqlite3_column_int64(stmt, 4);
		c->not_after = sqlite3_column_int64(stmt, 5);
		c->installed_ms = sqlite3_column_int64(stmt, 6);
		/* the empty chain is none; the CHECK bounds the others */
		if (sqlite3_column_bytes(stmt, 7) > 0 &&
		    store_column_blob(stmt, 7, STORE_DEVICE_CHAIN_MAX,
		    &c->chain, &c->chain_len) == -1) {
			xcause(cause, "the device certificate's chain in %s "
			    "cannot be read", st->path[STORE_MAIN]);
			store_device_cert_clear(c);
		} else
			ret = 1;
	} else if (rc == SQLITE_DONE)
		ret = 0;
	else {
		store_cause(cause, st->db, rc, "cannot read the device "
		    "certificate from %s", st->path[STORE_MAIN]);
	}
	sqlite3_finalize(stmt);
	return ret;
}

/* Removes the device certificate: 1 removed, 0 none, -1 with *cause set. */
int
store_device_cert_brief(struct store *st, const char **subject,
    long long *not_after, char **cause)
{
	struct store_device_cert c;
	long long changes = (long long)sqlite3_total_changes64(st->db);
	int rc;

	if (!st->brief.valid || st->brief.changes != changes) {
		if ((rc = store_device_cert_get(st, &c, cause)) == -1)
			return -1;
		free(st->brief.subject);
		st->brief.subject = rc == 1 ? xstrdup(c.subject) : NULL;
		st->brief.not_after = rc == 1 ? c.not_after : 0;
		st->brief.rc = rc;
		st->brief.changes = changes;
		st->brief.valid = 1;
		store_device_cert_clear(&c);
	}
	*subject = st->brief.subject;
	*not_after = st->brief.not_after;
	return st->brief.rc;
}

int
store_device_cert_remove(struct store *st, char **cause)
{
	int rc;

	rc = store_run(st->db, "DELETE FROM main.device_cert WHERE id = 1",
	    NULL, 0);
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot remove the device "
		    "certificate from %s", st->path[STORE_MAIN]);
		return -1;
	}
	return sqlite3_changes(st->db) > 0 ? 1 : 0;
}

/* An entry's event: a start unless it says otherwise. */
static const char *
store_measurement_event(const struct store_measurement *m)
{
	return m->event != NULL ? m->event : "start";
}

/* Appends an entry to the measurement log and sets m->seq; -1 on error. */
int
store_measurement_add(struct store *st, struct store_measurement *m,
    char **cause)
{
	const struct store_arg args[] = {
		STORE_INT(m->time_ms != 0 ? m->time_ms : store_now_ms()),
		STORE_INT(m->reset_count), STORE_TEXT(store_measurement_event(m)),
		STORE_TEXT(m->container), STORE_TEXT(m->guestos),
		STORE_TEXT(m->kind), STORE_TEXT(m->name),
		STORE_TEXT(m->version), STORE_TEXT(m->manifest_hash),
		STORE_TEXT(m->config_hash), STORE_TEXT(m->digest),
		STORE_INT(m->pcr), STORE_TEXT(m->pcr_value),
	};
	int rc;

	rc = store_run(st->db, "INSERT INTO main.measurement (time_ms, "
	    "reset_count, event, container, guestos, kind, name, version, "
	    "manifest_hash, config_hash, digest, pcr, pcr_value) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", args,
	    STORE_NITEMS(args));
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot append to the "
		    "measurement log in %s", st->path[STORE_MAIN]);
		return -1;
	}
	m->seq = sqlite3_last_insert_rowid(st->db);
	return 0;
}

/* One row of the measurement log, as read (strings owned). */
struct store_measurement_row {
	struct store_measurement m;
	char *s[10];
};

/*
 * Calls cb for every entry of the measurement log made in TPM reset
 * reset_count (all entries when it is negative), in order of seq; the
 * rows are read first, so cb may use the store.  Returns cb's value when
 * it is not 0, -1 with *cause set on error.
 */
int
store_measurement_list(struct store *st, long long reset_count,
    int (*cb)(const struct store_measurement *m, void *arg), void *arg,
    char **cause)
{
	const struct store_arg args[] = { STORE_INT(reset_count) };
	struct store_measurement_row *all = NULL, *r;
	sqlite3_stmt *stmt = NULL;
	size_t n = 0, i, j;
	int rc, ret = -1;

	rc = store_prepare(st->db, &stmt, "SELECT seq, time_ms, reset_count, "
	    "event, container, guestos, kind, name, version, manifest_hash, "
	    "config_hash, digest, pcr, pcr_value FROM main.measurement WHERE "
	    "pcr_value IS NOT NULL AND (?1 < 0 OR reset_count = ?1) ORDER BY "
	    "seq", args, STORE_NITEMS(args));
	if (rc == SQLITE_OK) {
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			all = xreallocarray(all, n + 1, sizeof *all);
			r = &all[n++];
			memset(r, 0, sizeof *r);
			r->m.seq = sqlite3_column_int64(stmt, 0);
			r->m.time_ms = sqlite3_column_int64(stmt, 1);
			r->m.reset_count = sqlite3_column_int64(stmt, 2);
			/* NULL stays NULL: a start has no kind, and so on */
			for (j = 0; j < 9; j++)
				r->s[j] = sqlite3_column_type(stmt, 3 +
				    (int)j) == SQLITE_NULL ? NULL :
				    xstrdup(store_column_text(stmt, 3 + (int)j));
			r->m.pcr = sqlite3_column_int64(stmt, 12);
			r->s[9] = xstrdup(store_column_text(stmt, 13));
			r->m.event = r->s[0];
			r->m.container = r->s[1];
			r->m.guestos = r->s[2];
			r->m.kind = r->s[3];
			r->m.name = r->s[4];
			r->m.version = r->s[5];
			r->m.manifest_hash = r->s[6];
			r->m.config_hash = r->s[7];
			r->m.digest = r->s[8];
			r->m.pcr_value = r->s[9];
		}
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot read the measurement "
		    "log from %s", st->path[STORE_MAIN]);
		goto out;
	}
	ret = 0;
	for (i = 0; i < n && ret == 0; i++)
		ret = cb(&all[i].m, arg);
out:
	for (i = 0; i < n; i++)
		for (j = 0; j < STORE_NITEMS(all[i].s); j++)
			free(all[i].s[j]);
	free(all);
	return ret;
}

/*
 * Writes a pending entry (no reset count, PCR or value: the extend is
 * yet to come) and sets m->seq; -1 with *cause set.
 */
int
store_measurement_begin(struct store *st, struct store_measurement *m,
    char **cause)
{
	const struct store_arg args[] = {
		STORE_INT(m->time_ms != 0 ? m->time_ms : store_now_ms()),
		STORE_TEXT(store_measurement_event(m)),
		STORE_TEXT(m->container), STORE_TEXT(m->guestos),
		STORE_TEXT(m->kind), STORE_TEXT(m->name),
		STORE_TEXT(m->version), STORE_TEXT(m->manifest_hash),
		STORE_TEXT(m->config_hash), STORE_TEXT(m->digest),
	};
	int rc;

	rc = store_run(st->db, "INSERT INTO main.measurement (time_ms, "
	    "event, container, guestos, kind, name, version, manifest_hash, "
	    "config_hash, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", args,
	    STORE_NITEMS(args));
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot write to the "
		    "measurement log in %s", st->path[STORE_MAIN]);
		return -1;
	}
	m->seq = sqlite3_last_insert_rowid(st->db);
	return 0;
}

/*
 * Completes the pending entry *seq: the extend happened in TPM reset
 * reset_count and left PCR pcr at value.  It takes the next seq (set in
 * *seq), so that the log's order is the order of the extends.  1 done, 0
 * no such pending entry, -1 with *cause set.
 */
int
store_measurement_confirm(struct store *st, long long *seq,
    long long reset_count, long long pcr, const char *value, char **cause)
{
	const struct store_arg args[] = {
		STORE_INT(reset_count), STORE_INT(pcr), STORE_TEXT(value),
		STORE_INT(*seq),
	};
	int rc;

	rc = store_run(st->db, "UPDATE main.measurement SET seq = (SELECT "
	    "max(seq) + 1 FROM main.measurement), reset_count = ?, pcr = ?, "
	    "pcr_value = ? WHERE seq = ? AND pcr_value IS NULL", args,
	    STORE_NITEMS(args));
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot complete entry %lld of "
		    "the measurement log in %s", *seq, st->path[STORE_MAIN]);
		return -1;
	}
	if (sqlite3_changes(st->db) == 0)
		return 0;
	if (store_query_int(st->db, "SELECT max(seq) FROM main.measurement",
	    seq, cause, "cannot read the measurement log") == -1)
		return -1;
	return 1;
}

/*
 * Removes the pending entry seq (its extend did not happen); 1 removed,
 * 0 none, -1 with *cause set.
 */
int
store_measurement_drop(struct store *st, long long seq, char **cause)
{
	const struct store_arg args[] = { STORE_INT(seq) };
	int rc;

	rc = store_run(st->db, "DELETE FROM main.measurement WHERE seq = ? "
	    "AND pcr_value IS NULL", args, STORE_NITEMS(args));
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot remove entry %lld of "
		    "the measurement log in %s", seq, st->path[STORE_MAIN]);
		return -1;
	}
	return sqlite3_changes(st->db) > 0 ? 1 : 0;
}

/*
 * Reads the pending entries before seq, oldest first, at most max of
 * them (the newest): their seq into seqs and digest (64 hex digits) into
 * digests; sets *n.  -1 with *cause set.
 */
int
store_measurement_pending(struct store *st, long long before, size_t max,
    long long *seqs, char (*digests)[65], size_t *n, char **cause)
{
	const struct store_arg args[] = {
		STORE_INT(before), STORE_INT((long long)max),
	};
	sqlite3_stmt *stmt = NULL;
	size_t i = 0;
	int rc;

	*n = 0;
	rc = store_prepare(st->db, &stmt, "SELECT seq, digest FROM (SELECT "
	    "seq, digest FROM main.measurement WHERE pcr_value IS NULL AND "
	    "seq < ? ORDER BY seq DESC LIMIT ?) ORDER BY seq", args,
	    STORE_NITEMS(args));
	if (rc == SQLITE_OK) {
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && i < max) {
			seqs[i] = sqlite3_column_int64(stmt, 0);
			snprintf(digests[i], 65, "%s",
			    store_column_text(stmt, 1));
			i++;
		}
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		store_cause(cause, st->db, rc, "cannot read the measurement "
		    "log from %s", st->path[STORE_MAIN]);
		return -1;
	}
	*n = i;
	return 0;
}

/*
 * Reads the value the last completed entry of reset reset_count left (64
 * hex digits into value); 1 found, 0 none, -1 with *cause set.
 */
int
store_measurement_last(struct store *st, long long reset_count, char *value,
    size_t size, char **cause)
{
	const struct store_arg args[] = { STORE_INT(reset_count) };
	sqlite3_stmt *stmt = NULL;
	int rc, ret = -1;

	rc = store_prepare(st->db, &stmt, "SELECT pcr_value FROM "
	    "main.measurement WHERE pcr_value IS NOT NULL AND reset_count = ? "
	    "ORDER BY seq DESC LIMIT 1", args, STORE_NITEMS(args));
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		snprintf(value, size, "%s", store_column_text(stmt, 0));
		ret = 1;
	} else if (rc == SQLITE_DONE)
		ret = 0;
	else
		store_cause(cause, st->db, rc, "cannot read the measurement "
		    "log from %s", st->path[STORE_MAIN]);
	sqlite3_finalize(stmt);
	return ret;
}

/*
 * Removes the pending entries but the newest keep; -1 with *cause set.
 */
int
store_measurement_prune(struct store *st, size_t keep, char **cause)
{
	const struct store_arg args[] = { STORE_INT((long long)keep) };
	int rc;

	rc = store_run(st->db, "DELETE FROM main.measurement WHERE pcr_value "
	    "IS NULL AND seq NOT IN (SELECT seq FROM main.measurement WHERE "
	    "pcr_value IS NULL ORDER BY seq DESC LIMIT ?)", args,
	    STORE_NITEMS(args));
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot prune the measurement "
		    "log in %s", st->path[STORE_MAIN]);
		return -1;
	}
	return 0;
}

/* Releases what store_container_key_get filled in and leaves k empty. */
void
store_container_key_clear(struct store_container_key *k)
{
	free(k->container);
	free(k->token_type);
	free(k->serial);
	free(k->wrapped);
	explicit_bzero(k->kcv, sizeof k->kcv);
	memset(k, 0, sizeof *k);
}

/*
 * Stores a container's wrapped key, replacing the one it had; -1 with
 * *cause set (no such container too).
 */
int
store_container_key_set(struct store *st, const struct store_container_key *k,
    char **cause)
{
	const struct store_arg args[] = {
		STORE_TEXT(k->container), STORE_TEXT(k->token_type),
		STORE_TEXT(k->serial),
		STORE_BLOB(k->wrapped, (int)k->wrapped_len),
		STORE_BLOB(k->kcv, (int)sizeof k->kcv),
		STORE_INT(k->created_ms != 0 ? k->created_ms : store_now_ms()),
	};
	int rc;

	if (k->wrapped == NULL || k->wrapped_len == 0 ||
	    k->wrapped_len > STORE_CONTAINER_KEY_MAX) {
		xcause(cause, "cannot store the key of container '%s': the "
		    "wrapped key is empty or too large", k->container);
		return -1;
	}
	rc = store_run(st->db, "INSERT INTO main.container_key (container, "
	    "token_type, serial, wrapped, kcv, created_ms) VALUES (?, ?, ?, "
	    "?, ?, ?) ON CONFLICT (container) DO UPDATE SET token_type = "
	    "excluded.token_type, serial = excluded.serial, wrapped = "
	    "excluded.wrapped, kcv = excluded.kcv, created_ms = "
	    "excluded.created_ms", args, STORE_NITEMS(args));
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot store the key of "
		    "container '%s' in %s", k->container, st->path[STORE_MAIN]);
		return -1;
	}
	return 0;
}

/*
 * Reads a container's wrapped key: 1 found, 0 none, -1 with *cause set.
 * Free with store_container_key_clear.
 */
int
store_container_key_get(struct store *st, const char *container,
    struct store_container_key *k, char **cause)
{
	const struct store_arg args[] = { STORE_TEXT(container) };
	sqlite3_stmt *stmt = NULL;
	unsigned char *kcv = NULL;
	size_t kcvlen = 0;
	int rc, ret = -1;

	memset(k, 0, sizeof *k);
	rc = store_prepare(st->db, &stmt, "SELECT container, token_type, "
	    "serial, wrapped, kcv, created_ms FROM main.container_key WHERE "
	    "container = ?", args, STORE_NITEMS(args));
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		k->container = xstrdup(store_column_text(stmt, 0));
		k->token_type = xstrdup(store_column_text(stmt, 1));
		k->serial = xstrdup(store_column_text(stmt, 2));
		k->created_ms = sqlite3_column_int64(stmt, 5);
		/* the table's CHECKs keep both in shape */
		if (store_column_blob(stmt, 3, STORE_CONTAINER_KEY_MAX,
		    &k->wrapped, &k->wrapped_len) == -1 ||
		    store_column_blob(stmt, 4, sizeof k->kcv, &kcv,
		    &kcvlen) == -1 || kcvlen != sizeof k->kcv) {
			xcause(cause, "the key of container '%s' in %s is "
			    "malformed", container, st->path[STORE_MAIN]);
			store_container_key_clear(k);
		} else {
			memcpy(k->kcv, kcv, sizeof k->kcv);
			ret = 1;
		}
		free(kcv);
	} else if (rc == SQLITE_DONE)
		ret = 0;
	else
		store_cause(cause, st->db, rc, "cannot read the key of "
		    "container '%s' from %s", container, st->path[STORE_MAIN]);
	sqlite3_finalize(stmt);
	return ret;
}

/* Removes a container's wrapped key: 1 removed, 0 none, -1 with *cause. */
int
store_container_key_remove(struct store *st, const char *container,
    char **cause)
{
	const struct store_arg args[] = { STORE_TEXT(container) };
	int rc;

	rc = store_run(st->db, "DELETE FROM main.container_key WHERE "
	    "container = ?", args, STORE_NITEMS(args));
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot remove the key of "
		    "container '%s' from %s", container, st->path[STORE_MAIN]);
		return -1;
	}
	return sqlite3_changes(st->db) > 0 ? 1 : 0;
}

/* Bytes read at once when a file is scanned for a wrapped key. */
#define STORE_SCAN_CHUNK (64 * 1024)

/*
 * Scans a file of schema main for the bytes needle: the database itself
 * (op SQLITE_FCNTL_FILE_POINTER) or its write-ahead log
 * (SQLITE_FCNTL_JOURNAL_POINTER), read through SQLite's own open file
 * (path names it in messages).  Never through a descriptor of its own:
 * closing any descriptor of a file drops every POSIX lock this process
 * holds on it, SQLite's included, and another connection could then take
 * the log away from under this one.  Streams, with an overlap of nlen - 1
 * bytes between reads so that a match across two reads is found.  Sets
 * *size (0 for a log that is not open: checked to be absent or empty)
 * and *found; -1 with *cause set when it cannot be read.
 */
static int
store_scan_file(sqlite3 *db, int op, const char *path,
    const unsigned char *needle, size_t nlen, long long *size, int *found,
    char **cause)
{
	sqlite3_file *f = NULL;
	sqlite3_int64 fsize = 0, off = 0;
	unsigned char *buf;
	size_t keep = 0, have, cap, want;
	struct stat sb;
	int rc, ret = -1;

	*size = 0;
	*found = 0;
	if (sqlite3_file_control(db, "main", op, &f) != SQLITE_OK || f == NULL ||
	    f->pMethods == NULL) {
		/* no log open: then there must be none with anything in it */
		if (stat(path, &sb) == -1 && errno == ENOENT)
			return 0;
		if (stat(path, &sb) == 0 && sb.st_size == 0)
			return 0;
		xcause(cause, "cannot read %s to check that the key is gone: "
		    "SQLite has it not open", path);
		return -1;
	}
	if ((rc = f->pMethods->xFileSize(f, &fsize)) != SQLITE_OK) {
		store_cause(cause, db, rc, "cannot read %s to check that the "
		    "key is gone", path);
		return -1;
	}
	cap = STORE_SCAN_CHUNK + nlen;
	buf = xmalloc(cap);
	while (off < fsize) {
		want = cap - keep;
		if ((sqlite3_int64)want > fsize - off)
			want = (size_t)(fsize - off);
		rc = f->pMethods->xRead(f, buf + keep, (int)want, off);
		if (rc != SQLITE_OK) {
			store_cause(cause, db, rc, "cannot read %s to check "
			    "that the key is gone", path);
			goto out;
		}
		off += (sqlite3_int64)want;
		have = keep + want;
		if (memmem(buf, have, needle, nlen) != NULL)
			*found = 1;
		keep = have < nlen - 1 ? have : nlen - 1;
		memmove(buf, buf + have - keep, keep);
	}
	*size = (long long)fsize;
	ret = 0;
out:
	free(buf);
	return ret;
}

int
store_container_key_wipe(struct store *st, const char *container,
    char **report, char **cause)
{
	struct store_container_key k;
	const char *main_path = st->path[STORE_MAIN];
	char *wal_path = NULL;
	long long db_size, wal_size;
	int rc, nlog = -1, nckpt = -1, in_db, in_wal, ret = -1;

	*report = NULL;
	memset(&k, 0, sizeof k);
	rc = store_container_key_get(st, container, &k, cause);
	if (rc != 1)
		return rc;
	if (k.wrapped_len == 0) {
		xcause(cause, "the wrapped key of container '%s' is empty",
		    container);
		goto out;
	}
	if (store_container_key_remove(st, container, cause) != 1) {
		if (*cause == NULL)
			xcause(cause, "the wrapped key of container '%s' "
			    "went away while it was deleted", container);
		goto out;
	}

	/*
	 * Copies the log into cml.db and truncates it to nothing.  Another
	 * connection that reads (or a statement of ours still open) blocks
	 * that: the key's old page may then stay in the log.
	 */
	rc = sqlite3_wal_checkpoint_v2(st->db, "main",
	    SQLITE_CHECKPOINT_TRUNCATE, &nlog, &nckpt);
	if (rc != SQLITE_OK) {
		store_cause(cause, st->db, rc, "the wrapped key of container "
		    "'%s' was deleted, but the write-ahead log of %s could "
		    "not be checkpointed (another connection uses the "
		    "database?): the key may remain in %s-wal; not verified",
		    container, main_path, main_path);
		goto out;
	}

	wal_path = xasprintf("%s-wal", main_path);
	if (store_scan_file(st->db, SQLITE_FCNTL_FILE_POINTER, main_path,
	    k.wrapped, k.wrapped_len, &db_size, &in_db, cause) == -1 ||
	    store_scan_file(st->db, SQLITE_FCNTL_JOURNAL_POINTER, wal_path,
	    k.wrapped, k.wrapped_len, &wal_size, &in_wal, cause) == -1)
		goto out;
	if (in_db || in_wal) {
		xcause(cause, "wrapped key (%zu bytes) of container '%s' "
		    "deleted, but its bytes are still in %s%s%s",
		    k.wrapped_len, container, in_db ? main_path : "",
		    in_db && in_wal ? " and " : "", in_wal ? wal_path : "");
		goto out;
	}
	*report = xasprintf("wrapped key (%zu bytes) deleted; not found in "
	    "%s (%lld bytes) or its WAL (%lld bytes): verified",
	    k.wrapped_len, store_schemas[STORE_MAIN].file, db_size, wal_size);
	ret = 1;
out:
	if (k.wrapped != NULL)
		explicit_bzero(k.wrapped, k.wrapped_len);
	store_container_key_clear(&k);
	free(wal_path);
	return ret;
}
