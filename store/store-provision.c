/*
 * The provisioning steps (schema main, migration 9): one row per step once
 * it was tried, "done" or "failed", with when, what it did, why it failed
 * and what a repeated call needs (the CSR of step 2).  A done row is never
 * turned back into a failed one: a step done stays done until a wipe
 * empties the table.  (c0's config gains the token type step 5 asks for
 * through store_container_update_config, store-update.c.)
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store-int.h"
#include "store.h"
#include "xmalloc.h"

const char *const store_provision_steps[STORE_PROVISION_NSTEPS] = {
	"check", "identity", "certificate", "anchors", "token", "settings",
	"lock",
};

/* The step order, for ORDER BY: the index in store_provision_steps. */
#define STORE_PROVISION_ORDER \
	"CASE name WHEN 'check' THEN 0 WHEN 'identity' THEN 1 " \
	"WHEN 'certificate' THEN 2 WHEN 'anchors' THEN 3 WHEN 'token' THEN 4 " \
	"WHEN 'settings' THEN 5 ELSE 6 END"

int
store_provision_index(const char *name)
{
	int i;

	for (i = 0; name != NULL && i < STORE_PROVISION_NSTEPS; i++) {
		if (strcmp(name, store_provision_steps[i]) == 0)
			return i;
	}
	return -1;
}

void
store_provision_step_clear(struct store_provision_step *s)
{
	free((void *)s->name);
	free((void *)s->state);
	free((void *)s->summary);
	free((void *)s->error);
	free((void *)s->data);
	memset(s, 0, sizeof *s);
}

/* Returns a nullable text column, allocated, or NULL. */
static const char *
store_provision_text(sqlite3_stmt *stmt, int col)
{
	const unsigned char *s;

	if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
		return NULL;
	if ((s = sqlite3_column_text(stmt, col)) == NULL)
		fatalx("out of memory reading the database");
	return xstrdup((const char *)s);
}

/* Fills s from a row of SELECT name, state, time_ms, summary, error, data. */
static void
store_provision_row(sqlite3_stmt *stmt, struct store_provision_step *s)
{
	s->name = xstrdup(store_column_text(stmt, 0));
	s->state = xstrdup(store_column_text(stmt, 1));
	s->time_ms = sqlite3_column_int64(stmt, 2);
	s->summary = store_provision_text(stmt, 3);
	s->error = store_provision_text(stmt, 4);
	s->data = store_provision_text(stmt, 5);
}

int
store_provision_get(struct store *st, const char *name,
    struct store_provision_step *out, char **cause)
{
	const struct store_arg args[] = { STORE_TEXT(name) };
	sqlite3_stmt *stmt = NULL;
	int rc, ret = -1;

	memset(out, 0, sizeof *out);
	if (store_provision_index(name) == -1) {
		xcause(cause, "there is no provisioning step '%s'",
		    name == NULL ? "" : name);
		return -1;
	}
	rc = store_prepare(st->db, &stmt, "SELECT name, state, time_ms, "
	    "summary, error, data FROM main.provision_step WHERE name = ?",
	    args, STORE_NITEMS(args));
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		store_provision_row(stmt, out);
		ret = 1;
	} else if (rc == SQLITE_DONE)
		ret = 0;
	else {
		store_cause(cause, st->db, rc, "cannot read the provisioning "
		    "step '%s' from %s", name, st->path[STORE_MAIN]);
	}
	sqlite3_finalize(stmt);
	return ret;
}

int
store_provision_set(struct store *st, const struct store_provision_step *s,
    char **cause)
{
	const struct store_arg args[] = {
		STORE_TEXT(s->name), STORE_TEXT(s->state),
		STORE_INT(s->time_ms != 0 ? s->time_ms : store_now_ms()),
		STORE_TEXT(s->summary), STORE_TEXT(s->error),
		STORE_TEXT(s->data),
	};
	int rc;

	/* The table's CHECKs say the same; this says it in words. */
	if (store_provision_index(s->name) == -1) {
		xcause(cause, "there is no provisioning step '%s'",
		    s->name == NULL ? "" : s->name);
		return -1;
	}
	if (s->state == NULL || (strcmp(s->state, "done") != 0 &&
	    strcmp(s->state, "failed") != 0)) {
		xcause(cause, "invalid state '%s' of provisioning step '%s': "
		    "use done or failed", s->state == NULL ? "" : s->state,
		    s->name);
		return -1;
	}
	/*
	 * One statement, so the check and the write are one: a failure
	 * recorded after a success (a repeated call refused) leaves the
	 * success as it was.
	 */
	rc = store_run(st->db, "INSERT INTO main.provision_step (name, state, "
	    "time_ms, summary, error, data) VALUES (?, ?, ?, ?, ?, ?) "
	    "ON CONFLICT (name) DO UPDATE SET state = excluded.state, "
	    "time_ms = excluded.time_ms, summary = excluded.summary, "
	    "error = excluded.error, data = excluded.data "
	    "WHERE provision_step.state = 'failed' OR excluded.state = 'done'",
	    args, STORE_NITEMS(args));
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot record the provisioning "
		    "step '%s' in %s", s->name, st->path[STORE_MAIN]);
		return -1;
	}
	return sqlite3_changes(st->db) != 0 ? 1 : 0;
}

int
store_provision_list(struct store *st,
    int (*cb)(const struct store_provision_step *s, void *arg), void *arg,
    char **cause)
{
	struct store_provision_step all[STORE_PROVISION_NSTEPS];
	sqlite3_stmt *stmt = NULL;
	size_t n = 0, i;
	int rc, ret = -1;

	memset(all, 0, sizeof all);
	rc = store_prepare(st->db, &stmt, "SELECT name, state, time_ms, "
	    "summary, error, data FROM main.provision_step ORDER BY "
	    STORE_PROVISION_ORDER, NULL, 0);
	if (rc == SQLITE_OK) {
		/* The primary key and the CHECK on name bound the rows. */
		while (n < STORE_PROVISION_NSTEPS &&
		    (rc = sqlite3_step(stmt)) == SQLITE_ROW)
			store_provision_row(stmt, &all[n++]);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		store_cause(cause, st->db, rc, "cannot read the provisioning "
		    "steps from %s", st->path[STORE_MAIN]);
		goto out;
	}
	ret = 0;
	for (i = 0; i < n && ret == 0; i++)
		ret = cb(&all[i], arg);
out:
	for (i = 0; i < n; i++)
		store_provision_step_clear(&all[i]);
	return ret;
}
