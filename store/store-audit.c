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
 * The acknowledged records: ranges of seq, sorted, apart (neither
 * overlapping nor touching), as the table ack keeps them.
 */
struct store_audit_acks {
	long long (*r)[2]; /* from, to (inclusive) */
	size_t n;
};

/* Reads the ranges; -1 with *cause set. */
static int
store_audit_acks_load(struct store *st, struct store_audit_acks *a,
    char **cause)
{
	sqlite3_stmt *stmt = NULL;
	size_t cap = 0;
	int rc;

	a->r = NULL;
	a->n = 0;
	rc = store_prepare(st->db, &stmt, "SELECT from_seq, to_seq FROM "
	    "audit.ack ORDER BY from_seq", NULL, 0);
	while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (a->n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			a->r = xreallocarray(a->r, cap, sizeof *a->r);
		}
		a->r[a->n][0] = sqlite3_column_int64(stmt, 0);
		a->r[a->n][1] = sqlite3_column_int64(stmt, 1);
		a->n++;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot read the audit "
		    "acknowledgements of %s", st->path[STORE_AUDIT]);
		free(a->r);
		a->r = NULL;
		return -1;
	}
	return 0;
}

/* Says whether a range covers seq (a binary search). */
static int
store_audit_acks_cover(const struct store_audit_acks *a, long long seq)
{
	size_t lo = 0, hi = a->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (a->r[mid][1] < seq)
			lo = mid + 1;
		else if (a->r[mid][0] > seq)
			hi = mid;
		else
			return 1;
	}
	return 0;
}

/* How many seqs of from..to the ranges cover. */
static long long
store_audit_acks_covered(const struct store_audit_acks *a, long long from,
    long long to)
{
	long long n = 0, lo, hi;
	size_t i;

	for (i = 0; i < a->n; i++) {
		lo = a->r[i][0] > from ? a->r[i][0] : from;
		hi = a->r[i][1] < to ? a->r[i][1] : to;
		if (lo <= hi)
			n += hi - lo + 1;
	}
	return n;
}

/* The columns store_audit_query reads, in its order. */
#define STORE_AUDIT_COLUMNS "seq, time_ms, type, uid, pid, container, " \
	"object, result, details, comm, prev, hash"

/* Runs an audit query and calls cb for each record it returns. */
static int
store_audit_query(struct store *st, const char *sql,
    const struct store_arg *args, size_t nargs,
    int (*cb)(const struct audit_record *rec, void *arg), void *arg,
    char **cause)
{
	struct store_audit_acks acks = { 0 };
	struct audit_record rec;
	sqlite3_stmt *stmt = NULL;
	int rc, ret = -1;

	if (store_audit_acks_load(st, &acks, cause) == -1)
		return -1;
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
			rec.comm = store_column_text(stmt, 9);
			rec.chained =
			    sqlite3_column_bytes(stmt, 10) == STORE_AUDIT_HASH_LEN &&
			    sqlite3_column_bytes(stmt, 11) == STORE_AUDIT_HASH_LEN;
			if (rec.chained) {
				memcpy(rec.prev, sqlite3_column_blob(stmt, 10),
				    STORE_AUDIT_HASH_LEN);
				memcpy(rec.hash, sqlite3_column_blob(stmt, 11),
				    STORE_AUDIT_HASH_LEN);
			}
			rec.acked = store_audit_acks_cover(&acks, rec.seq);
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
	free(acks.r);
	return ret;
}

int
store_audit_list(struct store *st, long long last,
    int (*cb)(const struct audit_record *rec, void *arg), void *arg,
    char **cause)
{
	const struct store_arg args[] = { STORE_INT(last > 0 ? last : -1) };

	return store_audit_query(st,
	    "SELECT " STORE_AUDIT_COLUMNS " FROM (SELECT * FROM audit.audit "
	    "ORDER BY seq DESC "
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
		    "SELECT " STORE_AUDIT_COLUMNS " FROM audit.audit WHERE "
		    "seq > ?1 AND "
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


/* Inserts one chained record with the prepared statement stmt. */
static int
store_audit_insert(sqlite3_stmt *stmt, const struct audit_record *r)
{
	const struct store_arg args[] = {
		STORE_INT(r->seq), STORE_INT(r->time_ms), STORE_TEXT(r->type),
		STORE_ID(r->uid), STORE_ID(r->pid), STORE_TEXT(r->container),
		STORE_TEXT(r->object), STORE_TEXT(r->result),
		STORE_TEXT(r->details),
		STORE_TEXT(r->comm != NULL ? r->comm : ""),
		STORE_BLOB(r->prev, STORE_AUDIT_HASH_LEN),
		STORE_BLOB(r->hash, STORE_AUDIT_HASH_LEN),
	};
	int rc;

	sqlite3_reset(stmt);
	if ((rc = store_bind(stmt, args, STORE_NITEMS(args))) != SQLITE_OK)
		return rc;
	return sqlite3_step(stmt);
}

/*
 * Ends a transaction of the trail: commits it when rc is ok (the result
 * its last statement should have), rolls it back otherwise, with *cause
 * set to "WHAT: REASON"; frees what.  0 when committed.
 */
static int
store_audit_finish(struct store *st, int rc, int ok, char *what, char **cause)
{
	int ret = -1;

	if (rc != ok)
		store_cause(cause, st->db, rc, "%s", what);
	else if (store_exec(st->db, "COMMIT", cause, what) == 0)
		ret = 0;
	if (ret == -1)
		store_rollback(st->db);
	free(what);
	return ret;
}

int
store_audit_append_batch(struct store *st, const struct audit_record *recs,
    size_t n, char **cause)
{
	sqlite3_stmt *stmt = NULL;
	size_t i;
	int rc;
	char *what;

	if (n == 0)
		return 0;
	what = xasprintf("cannot append %zu audit record%s to %s", n,
	    n == 1 ? "" : "s", st->path[STORE_AUDIT]);
	if (store_exec(st->db, "BEGIN IMMEDIATE", cause, what) == -1) {
		free(what);
		return -1;
	}
	rc = store_prepare(st->db, &stmt, "INSERT INTO audit.audit (seq, "
	    "time_ms, type, uid, pid, container, object, result, details, "
	    "comm, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    NULL, 0);
	for (i = 0; rc == SQLITE_OK && i < n; i++)
		if ((rc = store_audit_insert(stmt, &recs[i])) == SQLITE_DONE)
			rc = SQLITE_OK;
	sqlite3_finalize(stmt);
	return store_audit_finish(st, rc, SQLITE_OK, what, cause);
}

/*
 * Runs sql with args and, if it returns a row, hands it to row(stmt, arg);
 * no row leaves things as they are.  -1 with *cause set to "WHAT in
 * audit.db: REASON".
 */
static int
store_audit_row(struct store *st, const char *sql,
    const struct store_arg *args, size_t nargs,
    void (*row)(sqlite3_stmt *, void *), void *arg, char **cause,
    const char *what)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	rc = store_prepare(st->db, &stmt, sql, args, nargs);
	if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		row(stmt, arg);
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "%s in %s", what,
		    st->path[STORE_AUDIT]);
		return -1;
	}
	return 0;
}

/* What store_audit_head reads of the newest record. */
struct store_audit_headrow {
	long long *seq;
	unsigned char *hash;
	int *chained;
};

static void
store_audit_head_row(sqlite3_stmt *stmt, void *arg)
{
	struct store_audit_headrow *h = arg;

	*h->seq = sqlite3_column_int64(stmt, 0);
	if (sqlite3_column_bytes(stmt, 1) == STORE_AUDIT_HASH_LEN)
		memcpy(h->hash, sqlite3_column_blob(stmt, 1),
		    STORE_AUDIT_HASH_LEN);
	else
		*h->chained = 0;
}

int
store_audit_head(struct store *st, long long *seq,
    unsigned char hash[STORE_AUDIT_HASH_LEN], int *chained, char **cause)
{
	struct store_audit_headrow h = { seq, hash, chained };

	*seq = 0;
	*chained = 1;
	memset(hash, 0, STORE_AUDIT_HASH_LEN);
	return store_audit_row(st, "SELECT seq, hash FROM audit.audit ORDER "
	    "BY seq DESC LIMIT 1", NULL, 0, store_audit_head_row, &h, cause,
	    "cannot read the newest audit record");
}

int
store_audit_set_chain(struct store *st, const struct audit_record *recs,
    size_t n, char **cause)
{
	sqlite3_stmt *stmt = NULL;
	size_t i;
	int rc;
	char *what;

	what = xasprintf("cannot chain the audit records of %s",
	    st->path[STORE_AUDIT]);
	if (store_exec(st->db, "BEGIN IMMEDIATE", cause, what) == -1) {
		free(what);
		return -1;
	}
	rc = store_prepare(st->db, &stmt, "UPDATE audit.audit SET prev = ?, "
	    "hash = ? WHERE seq = ?", NULL, 0);
	for (i = 0; rc == SQLITE_OK && i < n; i++) {
		const struct store_arg args[] = {
			STORE_BLOB(recs[i].prev, STORE_AUDIT_HASH_LEN),
			STORE_BLOB(recs[i].hash, STORE_AUDIT_HASH_LEN),
			STORE_INT(recs[i].seq),
		};

		sqlite3_reset(stmt);
		if ((rc = store_bind(stmt, args, STORE_NITEMS(args))) ==
		    SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	sqlite3_finalize(stmt);
	return store_audit_finish(st, rc, SQLITE_OK, what, cause);
}

/* Reads an integer column. */
static void
store_audit_int_row(sqlite3_stmt *stmt, void *arg)
{
	*(long long *)arg = sqlite3_column_int64(stmt, 0);
}

/* Runs sql, which returns one integer (0 for NULL), with args into *v. */
static int
store_audit_int(struct store *st, const char *sql,
    const struct store_arg *args, size_t nargs, long long *v, char **cause,
    const char *what)
{
	*v = 0;
	return store_audit_row(st, sql, args, nargs, store_audit_int_row, v,
	    cause, what);
}

int
store_audit_first(struct store *st, long long *seq, char **cause)
{
	return store_audit_int(st, "SELECT coalesce(min(seq), 0) FROM "
	    "audit.audit", NULL, 0, seq, cause,
	    "cannot find the oldest audit record");
}

/* The oldest and the newest record's seq (0 and 0: none). */
static int
store_audit_bounds_all(struct store *st, long long *first, long long *last,
    char **cause)
{
	if (store_audit_first(st, first, cause) == -1)
		return -1;
	return store_audit_int(st, "SELECT coalesce(max(seq), 0) FROM "
	    "audit.audit", NULL, 0, last, cause,
	    "cannot find the newest audit record");
}

int
store_audit_ack(struct store *st, long long from, long long to,
    long long now_ms, long long *n, char **cause)
{
	struct store_audit_acks a = { 0 };
	long long first, last, lo, hi;
	size_t i;
	int rc;
	char *what;

	what = xasprintf("cannot acknowledge audit records in %s",
	    st->path[STORE_AUDIT]);
	if (store_exec(st->db, "BEGIN IMMEDIATE", cause, what) == -1) {
		free(what);
		return -1;
	}
	if (store_audit_bounds_all(st, &first, &last, cause) == -1 ||
	    store_audit_acks_load(st, &a, cause) == -1)
		goto fail;
	/* what is newly acknowledged: the records held, not covered yet */
	lo = from > first ? from : first;
	hi = to < last ? to : last;
	*n = lo <= hi ? (hi - lo + 1) - store_audit_acks_covered(&a, lo, hi) :
	    0;
	/* merged into the ranges it overlaps or touches: one row for them */
	for (i = 0; i < a.n; i++)
		if (a.r[i][1] + 1 >= from && a.r[i][0] <= to + 1) {
			if (a.r[i][0] < from)
				from = a.r[i][0];
			if (a.r[i][1] > to)
				to = a.r[i][1];
		}
	{
		const struct store_arg del[] = { STORE_INT(from),
		    STORE_INT(to) };
		const struct store_arg ins[] = { STORE_INT(from),
		    STORE_INT(to), STORE_INT(now_ms) };

		rc = store_run(st->db, "DELETE FROM audit.ack WHERE "
		    "from_seq >= ? AND to_seq <= ?", del, STORE_NITEMS(del));
		if (rc == SQLITE_DONE)
			rc = store_run(st->db, "INSERT INTO audit.ack (from_seq, "
			    "to_seq, acked_ms) VALUES (?, ?, ?)", ins,
			    STORE_NITEMS(ins));
	}
	free(a.r);
	return store_audit_finish(st, rc, SQLITE_DONE, what, cause);
fail:
	store_rollback(st->db);
	free(a.r);
	free(what);
	return -1;
}

int
store_audit_first_unacked(struct store *st, long long after,
    long long *seq, long long *count, char **cause)
{
	struct store_audit_acks a = { 0 };
	long long first, last, s;
	size_t i;

	*seq = 0;
	if (count != NULL)
		*count = 0;
	if (store_audit_bounds_all(st, &first, &last, cause) == -1 ||
	    store_audit_acks_load(st, &a, cause) == -1)
		return -1;
	if (first == 0) {
		free(a.r);
		return 0;
	}
	/* the records held are first..last without a gap */
	s = after + 1 > first ? after + 1 : first;
	for (i = 0; i < a.n; i++)
		if (a.r[i][0] <= s && s <= a.r[i][1])
			s = a.r[i][1] + 1;
	if (s <= last)
		*seq = s;
	if (count != NULL && s <= last)
		*count = (last - s + 1) - store_audit_acks_covered(&a, s, last);
	free(a.r);
	return 0;
}

int
store_audit_drop(struct store *st, long long seq, char **cause)
{
	const struct store_arg args[] = { STORE_INT(seq) };
	char *what;
	int rc;

	what = xasprintf("cannot drop audit records up to #%lld from %s",
	    seq, st->path[STORE_AUDIT]);
	if (store_exec(st->db, "BEGIN IMMEDIATE", cause, what) == -1) {
		free(what);
		return -1;
	}
	rc = store_run(st->db, "DELETE FROM audit.audit WHERE seq <= ?", args,
	    STORE_NITEMS(args));
	if (rc == SQLITE_DONE)
		rc = store_run(st->db, "DELETE FROM audit.checkpoint WHERE "
		    "seq < ?", args, STORE_NITEMS(args));
	/* acknowledgements of what is gone go with it */
	if (rc == SQLITE_DONE)
		rc = store_run(st->db, "DELETE FROM audit.ack WHERE "
		    "to_seq <= ?1", args, STORE_NITEMS(args));
	if (rc == SQLITE_DONE)
		rc = store_run(st->db, "UPDATE audit.ack SET from_seq = ?1 + 1 "
		    "WHERE from_seq <= ?1", args, STORE_NITEMS(args));
	return store_audit_finish(st, rc, SQLITE_DONE, what, cause);
}

int
store_audit_used(struct store *st, long long *bytes, char **cause)
{
	long long pages, free_pages, size;

	if (store_query_int(st->db, "PRAGMA audit.page_count", &pages, cause,
	    "cannot read the size of the audit trail") == -1 ||
	    store_query_int(st->db, "PRAGMA audit.freelist_count", &free_pages,
	    cause, "cannot read the size of the audit trail") == -1 ||
	    store_query_int(st->db, "PRAGMA audit.page_size", &size, cause,
	    "cannot read the size of the audit trail") == -1)
		return -1;
	*bytes = (pages - free_pages) * size;
	return 0;
}

int
store_audit_checkpoint_add(struct store *st,
    const struct audit_checkpoint *cp, char **cause)
{
	const struct store_arg args[] = { STORE_INT(cp->seq),
	    STORE_INT(cp->time_ms), STORE_BLOB(cp->head, STORE_AUDIT_HASH_LEN),
	    STORE_BLOB(cp->sig, (int)cp->siglen) };
	int rc;

	rc = store_run(st->db, "INSERT INTO audit.checkpoint (seq, time_ms, "
	    "head, signature) VALUES (?, ?, ?, ?)", args, STORE_NITEMS(args));
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot store the audit "
		    "checkpoint at #%lld in %s", cp->seq,
		    st->path[STORE_AUDIT]);
		return -1;
	}
	return 0;
}

/* Reads a checkpoint row (seq, time_ms, head, signature) into *cp. */
static void
store_audit_checkpoint_row(sqlite3_stmt *stmt, struct audit_checkpoint *cp)
{
	memset(cp, 0, sizeof *cp);
	cp->seq = sqlite3_column_int64(stmt, 0);
	cp->time_ms = sqlite3_column_int64(stmt, 1);
	if (sqlite3_column_bytes(stmt, 2) == STORE_AUDIT_HASH_LEN)
		memcpy(cp->head, sqlite3_column_blob(stmt, 2),
		    STORE_AUDIT_HASH_LEN);
	cp->sig = sqlite3_column_blob(stmt, 3);
	cp->siglen = (size_t)sqlite3_column_bytes(stmt, 3);
}

int
store_audit_checkpoints(struct store *st, long long after, long long until,
    int (*cb)(const struct audit_checkpoint *cp, void *arg), void *arg,
    char **cause)
{
	const struct store_arg args[] = { STORE_INT(after), STORE_INT(until) };
	struct audit_checkpoint cp;
	sqlite3_stmt *stmt = NULL;
	int rc, ret;

	rc = store_prepare(st->db, &stmt, "SELECT seq, time_ms, head, "
	    "signature FROM audit.checkpoint WHERE seq > ? AND seq <= ? "
	    "ORDER BY seq ASC", args, STORE_NITEMS(args));
	if (rc == SQLITE_OK)
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			store_audit_checkpoint_row(stmt, &cp);
			if ((ret = cb(&cp, arg)) != 0) {
				sqlite3_finalize(stmt);
				return ret;
			}
		}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot read the audit "
		    "checkpoints of %s", st->path[STORE_AUDIT]);
		return -1;
	}
	return 0;
}

/* Reads a checkpoint row and keeps a copy of its signature. */
static void
store_audit_checkpoint_copy(sqlite3_stmt *stmt, void *arg)
{
	struct audit_checkpoint *cp = arg;
	unsigned char *sig;

	store_audit_checkpoint_row(stmt, cp);
	sig = xmalloc(cp->siglen > 0 ? cp->siglen : 1);
	if (cp->siglen > 0)
		memcpy(sig, cp->sig, cp->siglen);
	cp->sig = sig;
}

int
store_audit_checkpoint_before(struct store *st, long long seq,
    struct audit_checkpoint *cp, int *found, char **cause)
{
	const struct store_arg args[] = { STORE_INT(seq) };

	memset(cp, 0, sizeof *cp);
	if (store_audit_row(st, "SELECT seq, time_ms, head, signature FROM "
	    "audit.checkpoint WHERE seq <= ? ORDER BY seq DESC LIMIT 1", args,
	    STORE_NITEMS(args), store_audit_checkpoint_copy, cp, cause,
	    "cannot read the audit checkpoints") == -1)
		return -1;
	*found = cp->sig != NULL;
	return 0;
}

/* Reads a text column as a copy. */
static void
store_audit_text_row(sqlite3_stmt *stmt, void *arg)
{
	*(char **)arg = xstrdup(store_column_text(stmt, 0));
}

int
store_audit_meta_get(struct store *st, const char *key, char **value,
    char **cause)
{
	const struct store_arg args[] = { STORE_TEXT(key) };

	*value = NULL;
	return store_audit_row(st, "SELECT value FROM audit.meta WHERE key = ?",
	    args, STORE_NITEMS(args), store_audit_text_row, value, cause,
	    "cannot read the audit trail's own state");
}

int
store_audit_meta_set(struct store *st, const char *key, const char *value,
    char **cause)
{
	const struct store_arg args[] = { STORE_TEXT(key), STORE_TEXT(value) };
	int rc;

	rc = store_run(st->db, "INSERT INTO audit.meta (key, value) VALUES "
	    "(?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	    args, STORE_NITEMS(args));
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot store the audit trail's "
		    "%s in %s", key, st->path[STORE_AUDIT]);
		return -1;
	}
	return 0;
}

int
store_audit_reset(struct store *st, long long *records, char **cause)
{
	static const char *const tables[] = {
		"DELETE FROM audit.checkpoint", "DELETE FROM audit.ack",
		"DELETE FROM audit.meta",
	};
	char *what;
	size_t i;
	int rc;

	what = xasprintf("cannot destroy the audit trail in %s",
	    st->path[STORE_AUDIT]);
	if (store_exec(st->db, "BEGIN IMMEDIATE", cause, what) == -1) {
		free(what);
		return -1;
	}
	rc = store_run(st->db, "DELETE FROM audit.audit", NULL, 0);
	*records = sqlite3_changes(st->db);
	for (i = 0; rc == SQLITE_DONE && i < STORE_NITEMS(tables); i++)
		rc = store_run(st->db, tables[i], NULL, 0);
	return store_audit_finish(st, rc, SQLITE_DONE, what, cause);
}
