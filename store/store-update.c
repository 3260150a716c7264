/*
 * Updates (schema main, migration 11): the version floor of each kind and
 * name, which only goes up, and the history of installs, bounded to the
 * newest STORE_UPDATE_HISTORY_MAX rows.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "store-int.h"
#include "store.h"
#include "xmalloc.h"

int
store_floor_get(struct store *st, const char *kind, const char *name,
    char **version, char **cause)
{
	const struct store_arg args[] = { STORE_TEXT(kind), STORE_TEXT(name) };
	sqlite3_stmt *stmt = NULL;
	int rc;

	*version = NULL;
	rc = store_prepare(st->db, &stmt, "SELECT version FROM "
	    "main.update_floor WHERE kind = ? AND name = ?", args,
	    STORE_NITEMS(args));
	if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
		*version = xstrdup(store_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot read the version floor "
		    "of %s %s from %s", kind, name, st->path[STORE_MAIN]);
		return -1;
	}
	return *version != NULL ? 1 : 0;
}

int
store_floor_raise(struct store *st, const char *kind, const char *name,
    const char *version, char **cause)
{
	const struct store_arg args[] = {
		STORE_TEXT(kind), STORE_TEXT(name), STORE_TEXT(version),
		STORE_INT(store_now_ms()),
	};
	char *old = NULL;
	int rc;

	if (!names_version_ok(version)) {
		xcause(cause, "cannot raise the version floor of %s %s to "
		    "'%s': not a version", kind, name, version);
		return -1;
	}
	/* cmld is the only writer, and it writes from its one thread. */
	if (store_floor_get(st, kind, name, &old, cause) == -1)
		return -1;
	if (old != NULL && names_version_cmp(old, version) >= 0) {
		free(old);
		return 0;
	}
	free(old);
	rc = store_run(st->db, "INSERT INTO main.update_floor (kind, name, "
	    "version, time_ms) VALUES (?, ?, ?, ?) ON CONFLICT (kind, name) "
	    "DO UPDATE SET version = excluded.version, time_ms = "
	    "excluded.time_ms", args, STORE_NITEMS(args));
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot raise the version floor "
		    "of %s %s in %s", kind, name, st->path[STORE_MAIN]);
		return -1;
	}
	return 1;
}

int
store_floor_list(struct store *st,
    int (*cb)(const char *kind, const char *name, const char *version,
    long long time_ms, void *arg), void *arg, char **cause)
{
	sqlite3_stmt *stmt = NULL;
	int rc, ret = 0;

	rc = store_prepare(st->db, &stmt, "SELECT kind, name, version, time_ms "
	    "FROM main.update_floor ORDER BY kind, name", NULL, 0);
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		if ((rc = sqlite3_step(stmt)) != SQLITE_ROW)
			break;
		ret = cb(store_column_text(stmt, 0), store_column_text(stmt, 1),
		    store_column_text(stmt, 2), sqlite3_column_int64(stmt, 3),
		    arg);
		if (ret != 0)
			break;
	}
	sqlite3_finalize(stmt);
	if (ret == 0 && rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot read the version floors "
		    "from %s", st->path[STORE_MAIN]);
		return -1;
	}
	return ret;
}

int
store_update_begin(struct store *st, struct store_update *u, char **cause)
{
	const struct store_arg args[] = {
		STORE_INT(u->time_ms != 0 ? u->time_ms : store_now_ms()),
		STORE_TEXT(u->kind), STORE_TEXT(u->name),
		STORE_TEXT(u->version), STORE_TEXT(u->digest),
		STORE_INT(u->size), STORE_TEXT(u->signers),
	};
	const struct store_arg keep[] = {
		STORE_INT(STORE_UPDATE_HISTORY_MAX),
	};
	int rc;

	rc = store_run(st->db, "INSERT INTO main.update_history (time_ms, "
	    "kind, name, version, digest, size, signers, result) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?, 'installing')", args, STORE_NITEMS(args));
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot record the install of "
		    "%s %s %s in %s", u->kind, u->name, u->version,
		    st->path[STORE_MAIN]);
		return -1;
	}
	u->id = sqlite3_last_insert_rowid(st->db);
	/* The history is bounded: the oldest rows go. */
	rc = store_run(st->db, "DELETE FROM main.update_history WHERE id <= "
	    "(SELECT id FROM main.update_history ORDER BY id DESC LIMIT 1 "
	    "OFFSET ?)", keep, STORE_NITEMS(keep));
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot prune the update "
		    "history in %s", st->path[STORE_MAIN]);
		return -1;
	}
	return 0;
}

int
store_update_end(struct store *st, long long id, const char *result,
    const char *detail, char **cause)
{
	const struct store_arg args[] = {
		STORE_TEXT(result), STORE_TEXT(detail),
		STORE_TEXT(result), STORE_INT(store_now_ms()), STORE_INT(id),
	};
	int rc;

	rc = store_run(st->db, "UPDATE main.update_history SET result = ?, "
	    "detail = ?, end_ms = CASE WHEN ? IN ('installing', 'pending') "
	    "THEN NULL ELSE ? END WHERE id = ?", args, STORE_NITEMS(args));
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot record the result of "
		    "install %lld in %s", id, st->path[STORE_MAIN]);
		return -1;
	}
	if (sqlite3_changes(st->db) == 0) {
		xcause(cause, "install %lld is not in the update history", id);
		return -1;
	}
	return 0;
}

#define STORE_UPDATE_COLUMNS "id, time_ms, kind, name, version, digest, " \
	"size, signers, result, detail, end_ms"

/* Reads a row of STORE_UPDATE_COLUMNS. */
static void
store_update_row(sqlite3_stmt *stmt, struct store_update *u)
{
	const unsigned char *d;

	u->id = sqlite3_column_int64(stmt, 0);
	u->time_ms = sqlite3_column_int64(stmt, 1);
	u->kind = xstrdup(store_column_text(stmt, 2));
	u->name = xstrdup(store_column_text(stmt, 3));
	u->version = xstrdup(store_column_text(stmt, 4));
	u->digest = xstrdup(store_column_text(stmt, 5));
	u->size = sqlite3_column_int64(stmt, 6);
	u->signers = xstrdup(store_column_text(stmt, 7));
	u->result = xstrdup(store_column_text(stmt, 8));
	d = sqlite3_column_text(stmt, 9);
	u->detail = d != NULL ? xstrdup((const char *)d) : NULL;
	u->end_ms = sqlite3_column_int64(stmt, 10);
}

/* Runs a query of at most one row of STORE_UPDATE_COLUMNS. */
static int
store_update_one(struct store *st, const char *sql,
    const struct store_arg *args, size_t nargs, struct store_update *u,
    char **cause)
{
	sqlite3_stmt *stmt = NULL;
	int rc, found = 0;

	memset(u, 0, sizeof *u);
	rc = store_prepare(st->db, &stmt, sql, args, nargs);
	if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		store_update_row(stmt, u);
		found = 1;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot read the update history "
		    "from %s", st->path[STORE_MAIN]);
		return -1;
	}
	return found;
}

int
store_update_last(struct store *st, const char *kind, const char *result,
    struct store_update *u, char **cause)
{
	const struct store_arg args[] = {
		STORE_TEXT(kind), STORE_TEXT(kind), STORE_TEXT(result),
		STORE_TEXT(result),
	};

	return store_update_one(st, "SELECT " STORE_UPDATE_COLUMNS " FROM "
	    "main.update_history WHERE (? IS NULL OR kind = ?) AND "
	    "(? IS NULL OR result = ?) ORDER BY id DESC LIMIT 1", args,
	    STORE_NITEMS(args), u, cause);
}

int
store_update_get(struct store *st, long long id, struct store_update *u,
    char **cause)
{
	const struct store_arg args[] = { STORE_INT(id) };

	return store_update_one(st, "SELECT " STORE_UPDATE_COLUMNS " FROM "
	    "main.update_history WHERE id = ?", args, STORE_NITEMS(args), u,
	    cause);
}

int
store_update_list(struct store *st, size_t max,
    int (*cb)(const struct store_update *u, void *arg), void *arg,
    char **cause)
{
	const struct store_arg args[] = {
		STORE_INT(max > STORE_UPDATE_HISTORY_MAX ?
		    STORE_UPDATE_HISTORY_MAX : (long long)max),
	};
	struct store_update u;
	sqlite3_stmt *stmt = NULL;
	int rc, ret = 0;

	rc = store_prepare(st->db, &stmt, "SELECT " STORE_UPDATE_COLUMNS
	    " FROM main.update_history ORDER BY id DESC LIMIT ?", args,
	    STORE_NITEMS(args));
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		if ((rc = sqlite3_step(stmt)) != SQLITE_ROW)
			break;
		store_update_row(stmt, &u);
		ret = cb(&u, arg);
		store_update_clear(&u);
		if (ret != 0)
			break;
	}
	sqlite3_finalize(stmt);
	if (ret == 0 && rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot read the update history "
		    "from %s", st->path[STORE_MAIN]);
		return -1;
	}
	return ret;
}

void
store_update_clear(struct store_update *u)
{
	free(u->kind);
	free(u->name);
	free(u->version);
	free(u->digest);
	free(u->signers);
	free(u->result);
	free(u->detail);
	memset(u, 0, sizeof *u);
}

int
store_begin(struct store *st, char **cause)
{
	return store_exec(st->db, "BEGIN IMMEDIATE", cause, "cannot begin a "
	    "transaction");
}

int
store_commit(struct store *st, char **cause)
{
	if (store_exec(st->db, "COMMIT", cause, "cannot commit (nothing of "
	    "it was stored)") == -1) {
		store_rollback(st->db);
		return -1;
	}
	return 0;
}

void
store_abort(struct store *st)
{
	store_rollback(st->db);
}

int
store_container_update_config(struct store *st, const char *name,
    const char *config, size_t len, const char *signer, const char *guestos,
    char **cause)
{
	const struct store_arg args[] = {
		STORE_BLOB(config, (int)len), STORE_TEXT(signer),
		STORE_TEXT(guestos), STORE_TEXT(name),
	};
	int rc;

	if (config == NULL || len == 0 || len > INT_MAX) {
		xcause(cause, "cannot change the config of container %s: no "
		    "config", name);
		return -1;
	}
	/* NULL keeps what is stored. */
	rc = store_run(st->db, "UPDATE main.container SET config = ?, "
	    "signer = coalesce(?, signer), guestos = coalesce(?, guestos) "
	    "WHERE name = ?", args, STORE_NITEMS(args));
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot change the config of "
		    "container %s in %s", name, st->path[STORE_MAIN]);
		return -1;
	}
	if (sqlite3_changes(st->db) == 0) {
		xcause(cause, "cannot change the config of container %s: it "
		    "is not in the store", name);
		return -1;
	}
	return 0;
}
