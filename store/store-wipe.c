/*
 * What a device wipe needs of the store beyond the single rows other
 * commands remove: emptying the tables of the device's state at once,
 * counting what is left in them (the wipe's proof), and moving the
 * write-ahead logs into the database files so that no page of a deleted
 * row lingers in a log (secure_delete has the deletes overwrite what they
 * free in the files themselves).  The table names are this file's own
 * constants, never a caller's.
 */
#include "config.h"

#include <sqlite3.h>
#include <stdlib.h>

#include "store.h"
#include "store-int.h"
#include "xmalloc.h"

/* Each table of the device's state, and what it holds, for messages. */
static const struct {
	const char *table;
	const char *what;
} store_wipe_tables[STORE_WIPE_NTABLES] = {
	[STORE_WIPE_DEVICE_CERT] = { "device_cert", "the device certificate" },
	[STORE_WIPE_ANCHORS] = { "trust_anchor", "the trust anchors" },
	[STORE_WIPE_SETTINGS] = { "settings", "the settings" },
	[STORE_WIPE_PROVISION] = { "provision_step",
	    "the provisioning steps" },
	[STORE_WIPE_CONTAINERS] = { "container", "the containers" },
	[STORE_WIPE_CONTAINER_KEYS] = { "container_key",
	    "the containers' wrapped keys" },
};

const char *
store_wipe_table_name(enum store_wipe_table t)
{
	return store_wipe_tables[t].table;
}

int
store_wipe_clear(struct store *st, enum store_wipe_table t, long long *n,
    char **cause)
{
	char *sql;
	int rc;

	sql = xasprintf("DELETE FROM main.%s", store_wipe_tables[t].table);
	rc = store_run(st->db, sql, NULL, 0);
	free(sql);
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->db, rc, "cannot delete %s from %s",
		    store_wipe_tables[t].what, st->path[STORE_MAIN]);
		return -1;
	}
	*n = sqlite3_changes(st->db);
	return 0;
}

int
store_wipe_count(struct store *st, enum store_wipe_table t, long long *n,
    char **cause)
{
	char *sql, *what;
	int ret;

	sql = xasprintf("SELECT count(*) FROM main.%s",
	    store_wipe_tables[t].table);
	what = xasprintf("cannot count %s in %s", store_wipe_tables[t].what,
	    st->path[STORE_MAIN]);
	ret = store_query_int(st->db, sql, n, cause, what);
	free(what);
	free(sql);
	return ret;
}

int
store_wipe_sync(struct store *st, char **cause)
{
	static const char *const schemas[STORE_NSCHEMAS] = {
		[STORE_MAIN] = "main", [STORE_AUDIT] = "audit",
	};
	int i, rc, nlog = -1, nckpt = -1;

	for (i = 0; i < STORE_NSCHEMAS; i++) {
		rc = sqlite3_wal_checkpoint_v2(st->db, schemas[i],
		    SQLITE_CHECKPOINT_TRUNCATE, &nlog, &nckpt);
		if (rc != SQLITE_OK) {
			store_cause(cause, st->db, rc, "the write-ahead log "
			    "of %s could not be moved into it and truncated "
			    "(another connection uses the database?): what "
			    "was deleted may remain in %s-wal", st->path[i],
			    st->path[i]);
			return -1;
		}
	}
	return 0;
}
