/*
 * The audit trail in audit.db: records, their hash chain, signed
 * checkpoints, acknowledgements and the trail's own small state (meta).
 * Every statement binds its values.
 */
#include "config.h"

#include <limits.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store-int.h"
#include "xmalloc.h"

/* Appends a record in one transaction and sets rec->seq; -1 on error. */
int
store_audit_append(struct store *st, struct audit_record *rec, char **cause)
{
	const struct store_arg args[] = {
		STORE_INT(rec->time_ms), STORE_TEXT(rec->type),
		STORE_ID(rec->uid), STORE_ID(rec->pid),
		STORE_TEXT(rec->container), STORE_TEXT(rec->object),
		STORE_TEXT(rec->result), STORE_TEXT(rec->details),
	};
	int rc;

	rc = store_run(st->db, "INSERT INTO audit.audit (time_ms, type, uid, "
	    "pid, container, object, result, details) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", args, STORE_NITEMS(args));
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot append an audit record "
		    "to %s", st->path[STORE_AUDIT]);
		return -1;
	}
	rec->seq = sqlite3_last_insert_rowid(st->db);
	return 0;
}

/*
 * Calls cb for the last `last` records (all when last <= 0), oldest first;
 * returns cb's value when it is not 0, -1 with *cause set on error.
 */
/* Runs an audit query and calls cb for each record it returns. */
static int
store_audit_query(struct store *st, const char *sql,
    const struct store_arg *args, size_t nargs,
    int (*cb)(const struct audit_record *rec, void *arg), void *arg,
    char **cause)
{
	struct audit_record rec;
	sqlite3_stmt *stmt = NULL;
	int rc, ret = -1;

	rc = store_prepare(st->db, &stmt, sql, args, nargs);
	if (rc == SQLITE_OK) {
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			memset(&rec, 0, sizeof rec);
			rec.seq = sqlite3_column_int64(stmt, 0);
			rec.time_ms = sqlite3_column_int64(stmt, 1);
			rec.type = store_column_text(stmt, 2);
			rec.uid = sqlite3_column_type(stmt, 3) == SQLITE_NULL ?
			    -1 : sqlite3_column_int64(stmt, 3);
			rec.pid = sqlite3_column_type(stmt, 4) == SQLITE_NULL ?
			    -1 : sqlite3_column_int64(stmt, 4);
			rec.container =
			    (const char *)sqlite3_column_text(stmt, 5);
			rec.object = store_column_text(stmt, 6);
			rec.result = store_column_text(stmt, 7);
			rec.details =
			    (const char *)sqlite3_column_text(stmt, 8);
			if ((ret = cb(&rec, arg)) != 0)
				goto out;
		}
	}
	if (rc == SQLITE_DONE)
		ret = 0;
	else {
		ret = -1;
		store_cause(cause, st->db, rc, "cannot read the audit trail "
		    "from %s", st->path[STORE_AUDIT]);
	}
out:
	sqlite3_finalize(stmt);
	return ret;
}

int
store_audit_list(struct store *st, long long last,
    int (*cb)(const struct audit_record *rec, void *arg), void *arg,
    char **cause)
{
	const struct store_arg args[] = { STORE_INT(last > 0 ? last : -1) };

	return store_audit_query(st,
	    "SELECT seq, time_ms, type, uid, pid, container, object, result, "
	    "details FROM (SELECT * FROM audit.audit ORDER BY seq DESC "
	    "LIMIT ?) ORDER BY seq ASC", args, STORE_NITEMS(args), cb, arg,
	    cause);
}

void
store_audit_filter_init(struct audit_filter *f)
{
	memset(f, 0, sizeof *f);
	f->since_ms = -1;
	f->until_ms = -1;
	f->uid = -1;
}

/*
 * The filter's conditions, numbered ?3 to ?8 after the two of the query
 * (STORE_AUDIT_FILTER_ARGS binds them); a NULL binding matches anything,
 * so one statement serves every combination.
 */
#define STORE_AUDIT_FILTER_SQL \
	" AND (?3 IS NULL OR time_ms >= ?3) AND (?4 IS NULL OR time_ms < ?4)" \
	" AND (?5 IS NULL OR container = ?5) AND (?6 IS NULL OR type = ?6)" \
	" AND (?7 IS NULL OR result = ?7) AND (?8 IS NULL OR uid = ?8)"
#define STORE_AUDIT_FILTER_ARGS(f) \
	STORE_ID((f)->since_ms), STORE_ID((f)->until_ms), \
	STORE_TEXT((f)->container), STORE_TEXT((f)->type), \
	STORE_TEXT((f)->result), STORE_ID((f)->uid)

int
store_audit_range(struct store *st, const struct audit_filter *f,
    long long after, long long until, long long limit,
    int (*cb)(const struct audit_record *rec, void *arg), void *arg,
    char **cause)
{
	struct audit_filter all;

	if (f == NULL) {
		store_audit_filter_init(&all);
		f = &all;
	}
	{
		const struct store_arg args[] = { STORE_INT(after),
		    STORE_INT(until), STORE_AUDIT_FILTER_ARGS(f),
		    STORE_INT(limit) };

		return store_audit_query(st,
		    "SELECT seq, time_ms, type, uid, pid, container, object, "
		    "result, details FROM audit.audit WHERE seq > ?1 AND "
		    "seq <= ?2" STORE_AUDIT_FILTER_SQL " ORDER BY seq ASC "
		    "LIMIT ?9", args, STORE_NITEMS(args), cb, arg, cause);
	}
}

int
store_audit_bounds(struct store *st, const struct audit_filter *f,
    long long last, long long *after, long long *until, long long *count,
    char **cause)
{
	struct audit_filter all;
	sqlite3_stmt *stmt = NULL;
	int rc;

	if (f == NULL) {
		store_audit_filter_init(&all);
		f = &all;
	}
	{
		/* ?1 and ?2 bound the seq as in store_audit_range: all */
		const struct store_arg args[] = { STORE_INT(0),
		    STORE_INT(LLONG_MAX), STORE_AUDIT_FILTER_ARGS(f),
		    STORE_INT(last > 0 ? last : -1) };

		rc = store_prepare(st->db, &stmt,
		    "SELECT coalesce(min(seq), 1), coalesce(max(seq), 0), "
		    "count(*) FROM (SELECT seq FROM audit.audit WHERE "
		    "seq > ?1 AND seq <= ?2" STORE_AUDIT_FILTER_SQL
		    " ORDER BY seq DESC LIMIT ?9)", args, STORE_NITEMS(args));
	}
	if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		*after = sqlite3_column_int64(stmt, 0) - 1;
		*until = sqlite3_column_int64(stmt, 1);
		if (count != NULL)
			*count = sqlite3_column_int64(stmt, 2);
		sqlite3_finalize(stmt);
		return 0;
	}
	store_cause(cause, st->db, rc, "cannot read the audit trail from %s",
	    st->path[STORE_AUDIT]);
	sqlite3_finalize(stmt);
	return -1;
}

/* Returns the number of audit records, or -1 with *cause set. */
long long
store_audit_count(struct store *st, char **cause)
{
	long long n;
	char *what;
	int ret;

	what = xasprintf("cannot count the audit records in %s",
	    st->path[STORE_AUDIT]);
	ret = store_query_int(st->db, "SELECT count(*) FROM audit.audit", &n,
	    cause, what);
	free(what);
	return ret == -1 ? -1 : n;
}

