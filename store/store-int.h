/*
 * The store's inside, shared by its files (store.c: the connection,
 * migrations and state; store-audit.c: the audit trail): the connection,
 * statement parameters and the helpers that run SQL and describe its
 * errors.  Nothing outside store/ includes this.
 */
#ifndef CML_STORE_INT_H
#define CML_STORE_INT_H

#include <sqlite3.h>
#include <stddef.h>

#define STORE_NITEMS(a) (sizeof(a) / sizeof((a)[0]))

/* The database files on the connection, by index. */
enum {
	STORE_MAIN = 0,
	STORE_AUDIT = 1,
	STORE_NSCHEMAS = 2,
};

/* The connection, and each file's path (for messages). */
struct store {
	sqlite3 *db;
	char *path[STORE_NSCHEMAS];
	int wal[STORE_NSCHEMAS]; /* its journal is a write-ahead log */
	int lazy; /* store_durable(st, 0): main's commits do not wait */
	/* store_device_cert_brief's last answer and the changes it saw */
	struct {
		int valid;
		int rc;
		char *subject;
		long long not_after;
		long long changes;
	} brief;
};

/* What a struct store_arg holds. */
enum store_arg_type {
	STORE_ARG_TEXT, /* a NULL pointer binds NULL */
	STORE_ARG_INT,
	STORE_ARG_ID, /* an integer; negative ("none") binds NULL */
	STORE_ARG_BLOB,
};

/* One parameter of a statement; make it with STORE_TEXT and the like. */
struct store_arg {
	enum store_arg_type type;
	const char *text;
	long long num;
	const void *blob;
	int len;
};

#define STORE_TEXT(s)		{ .type = STORE_ARG_TEXT, .text = (s) }
#define STORE_INT(n)		{ .type = STORE_ARG_INT, .num = (n) }
#define STORE_ID(n)		{ .type = STORE_ARG_ID, .num = (n) }
#define STORE_BLOB(p, n) \
	{ .type = STORE_ARG_BLOB, .blob = (p), .len = (n) }

/* Sets *cause to "WHAT: REASON" for SQLite result rc. */
void store_cause(char **cause, sqlite3 *db, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Returns the current time in milliseconds since the epoch, UTC. */
long long store_now_ms(void);
/* Returns a NOT NULL text column (never NULL). */
const char *store_column_text(sqlite3_stmt *stmt, int col);
/* Binds args to stmt's parameters in order; SQLITE_OK or the failure. */
int store_bind(sqlite3_stmt *stmt, const struct store_arg *args,
    size_t nargs);
/*
 * Prepares sql and binds args; returns the SQLite result of the first call
 * that failed, SQLITE_OK otherwise.  The caller finalizes *stmt whatever
 * the result (it is NULL when the prepare failed).
 */
int store_prepare(sqlite3 *db, sqlite3_stmt **stmt, const char *sql,
    const struct store_arg *args, size_t nargs);
/* Runs sql, which returns no rows, with args; SQLITE_DONE on success. */
int store_run(sqlite3 *db, const char *sql, const struct store_arg *args,
    size_t nargs);
/* Runs every statement of sql (no parameters); -1 with *cause set. */
int store_exec(sqlite3 *db, const char *sql, char **cause, const char *what);
/* Runs sql, which returns one integer, into *value; -1 with *cause set. */
int store_query_int(sqlite3 *db, const char *sql, long long *value,
    char **cause, const char *what);
/* Rolls back the open transaction, if SQLite has not done so already. */
void store_rollback(sqlite3 *db);

#endif
