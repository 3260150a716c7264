/*
 * Unit tests of store/: real SQLite files in a private temporary directory,
 * opened, migrated, damaged and reopened.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store.h"
#include "store-int.h"
#include "testutil.h"
#include "xmalloc.h"
#include "log.h"

struct fixture {
	char dir[64];
	char main_path[PATH_MAX];
	char audit_path[PATH_MAX];
};

static int
setup(void **state)
{
	struct fixture *f;

	f = xcalloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/cml-test-store.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->main_path, sizeof f->main_path, "%s/cml.db", f->dir);
	snprintf(f->audit_path, sizeof f->audit_path, "%s/audit.db", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	int ret;

	ret = test_remove_tree(f->dir);
	free(f);
	return ret;
}

/* Writes len bytes at offset off, or replaces the file when off is -1. */
static void
write_at(const char *path, const void *buf, size_t len, off_t off)
{
	int fd, flags = O_WRONLY | O_CREAT;

	if (off == -1)
		flags |= O_TRUNC;
	if ((fd = open(path, flags, 0600)) == -1)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	if (pwrite(fd, buf, len, off == -1 ? 0 : off) != (ssize_t)len)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	close(fd);
}

static int
file_exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

/* Opens the store in f->dir; fails the test with the cause if it cannot. */
static struct store *
open_ok(struct fixture *f)
{
	struct store *st;
	char *cause = NULL;

	if ((st = store_open(f->dir, &cause)) == NULL)
		fail_msg("store_open: %s", cause);
	return st;
}

/* Runs one statement on a file with plain SQLite, around the store. */
static void
sql_on_file(const char *path, const char *sql)
{
	sqlite3 *db;
	char *err = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
		fail_msg("cannot open %s: %s", path, sqlite3_errmsg(db));
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s on %s: %s", sql, path, err);
	sqlite3_close(db);
}

/* Returns the single integer sql yields on a file, read-only. */
static long long
int_on_file(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *stmt;
	long long v;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK)
		fail_msg("cannot open %s: %s", path, sqlite3_errmsg(db));
	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_ROW)
		fail_msg("%s on %s: %s", sql, path, sqlite3_errmsg(db));
	v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return v;
}

/* Reads setting key and checks it is want, or unset when want is NULL. */
static void
assert_setting(struct store *st, const char *key, const char *want)
{
	char *cause = NULL, *value = (char *)"sentinel";

	assert_int_equal(store_setting_get(st, key, &value, &cause), 0);
	if (want == NULL)
		assert_null(value);
	else
		assert_string_equal(value, want);
	free(value);
}

/* Reads the device and checks that it exists with uuid and state. */
static void
assert_device(struct store *st, const char *uuid, const char *state)
{
	struct store_device dev;
	char *cause = NULL;

	assert_int_equal(store_device_get(st, &dev, &cause), 1);
	assert_string_equal(dev.uuid, uuid);
	assert_string_equal(dev.state, state);
	store_device_clear(&dev);
}

/* Returns the page size from an SQLite file header. */
static size_t
page_size_of(const unsigned char *buf, size_t len)
{
	unsigned int ps;

	assert_true(len >= 100);
	ps = (unsigned int)buf[16] << 8 | buf[17];
	return ps == 1 ? 65536 : ps;
}

/*
 * Builds a store in f->dir with enough rows for several pages in each
 * file, then closes it, so both files are complete and the WAL is gone.
 */
static void
make_populated_store(struct fixture *f)
{
	struct audit_record rec = {
		.time_ms = 1, .type = "call", .uid = 0, .pid = 1,
		.object = "org.cml.Device.SetConfig", .result = "ok",
	};
	struct store *st;
	char key[32], value[200], *cause = NULL;
	int i;

	st = open_ok(f);
	memset(value, 'v', sizeof value - 1);
	value[sizeof value - 1] = '\0';
	for (i = 0; i < 100; i++) {
		snprintf(key, sizeof key, "key%03d", i);
		if (store_setting_set(st, key, value, &cause) == -1)
			fail_msg("store_setting_set: %s", cause);
		rec.details = value;
		if (store_audit_append(st, &rec, &cause) == -1)
			fail_msg("store_audit_append: %s", cause);
	}
	store_close(st);
}

/*
 * Asserts that store_open refuses the directory with a cause containing
 * path and want, and that path is byte-for-byte what it was.
 */
static void
assert_refused_untouched(struct fixture *f, const char *path,
    const char *want)
{
	unsigned char *before, *after;
	size_t before_len, after_len;
	struct store *st;
	char *cause = NULL;

	before = test_read_all(path, &before_len);
	st = store_open(f->dir, &cause);
	if (st != NULL) {
		store_close(st);
		fail_msg("store_open accepted a damaged %s", path);
	}
	assert_non_null(cause);
	assert_non_null(strstr(cause, path));
	if (strstr(cause, want) == NULL)
		fail_msg("cause \"%s\" does not contain \"%s\"", cause, want);
	after = test_read_all(path, &after_len);
	assert_int_equal(before_len, after_len);
	assert_memory_equal(before, after, before_len);

	/* A second attempt says the same: nothing was half-repaired. */
	free(cause);
	cause = NULL;
	assert_null(store_open(f->dir, &cause));
	assert_non_null(strstr(cause, want));
	free(cause);
	free(after);
	free(before);
}

/* Proves: CR 3.4 (private files in WAL mode). */
static void
test_store_open_fresh_dir_creates_both_at_current_versions(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	struct stat sb;
	char *cause = NULL;
	int mv = -1, av = -1;

	st = open_ok(f);
	assert_int_equal(store_versions(st, &mv, &av, &cause), 0);
	assert_int_equal(mv, store_main_version);
	assert_int_equal(av, store_audit_version);
	assert_true(store_main_version >= 1);
	assert_true(store_audit_version >= 1);
	store_close(st);

	assert_int_equal(stat(f->main_path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(stat(f->audit_path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(int_on_file(f->main_path, "PRAGMA user_version"),
	    store_main_version);
	assert_int_equal(int_on_file(f->audit_path, "PRAGMA user_version"),
	    store_audit_version);
	/* WAL mode is recorded in the file header (bytes 18 and 19 are 2). */
	assert_int_equal(int_on_file(f->main_path,
	    "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
	assert_int_equal(int_on_file(f->audit_path,
	    "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
}

/* Proves: none (reopening a store). */
static void
test_store_open_existing_current_reopens_unchanged(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	char *cause = NULL;
	int mv = -1, av = -1;

	store_close(open_ok(f));
	st = open_ok(f);
	assert_int_equal(store_versions(st, &mv, &av, &cause), 0);
	assert_int_equal(mv, store_main_version);
	assert_int_equal(av, store_audit_version);
	store_close(st);
}

/* A trust anchor for the tests; der is a stand-in, not a certificate. */
static const unsigned char test_der[] = { 0x30, 0x82, 0x01, 0x00, 0x00, 0xff };

static struct store_anchor
make_anchor(const char *fingerprint, const char *subject, const char *kind)
{
	struct store_anchor a;

	memset(&a, 0, sizeof a);
	a.fingerprint = (char *)fingerprint;
	a.subject = (char *)subject;
	a.key = (char *)"EC P-384";
	a.kind = (char *)kind;
	a.not_after = 2000000000LL;
	a.der = (unsigned char *)test_der;
	a.der_len = sizeof test_der;
	return a;
}

/* Images for the tests: a root and a data image. */
static struct store_image test_images[] = {
	{ (char *)"root.squashfs", 4096,
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	    (char *)"squashfs", (char *)"/" },
	{ (char *)"data.ext4", 8192,
	    "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
	    (char *)"ext4", (char *)"/data" },
};

static struct store_guestos
make_guestos(const char *name, const char *version, long long installed_ms,
    size_t nimages)
{
	struct store_guestos g;

	memset(&g, 0, sizeof g);
	g.name = (char *)name;
	g.version = (char *)version;
	g.description = (char *)"a test system";
	g.init = (char *)"/sbin/init";
	g.signer = (char *)"CN=cml test signer,O=cml";
	g.path = (char *)"/var/lib/cml/guestos/x";
	g.installed_ms = installed_ms;
	g.images = test_images;
	g.nimages = nimages;
	return g;
}

/* Checks that the tables of schema version 2 can be written and read. */
static void
assert_tables2_work(struct store *st)
{
	struct store_anchor a = make_anchor("aa", "CN=root", "owner");
	struct store_guestos g = make_guestos("busybox", "1", 0, 2), got;
	char *cause = NULL;

	assert_int_equal(store_anchor_add(st, &a, &cause), 0);
	assert_int_equal(store_anchor_remove(st, "aa", &cause), 1);
	assert_int_equal(store_guestos_add(st, &g, &cause), 0);
	assert_int_equal(store_guestos_get(st, "busybox", "1", &got, &cause),
	    1);
	assert_int_equal(got.nimages, 2);
	store_guestos_clear(&got);
	assert_int_equal(store_guestos_remove(st, "busybox", "1", &cause), 1);
}

/* The config the container tests store, without its terminating NUL. */
static const char test_config[] =
    "{\"name\":\"web\",\"guestos\":\"busybox\"}";

static struct store_container
make_container(const char *name, long long idx)
{
	struct store_container c;

	memset(&c, 0, sizeof c);
	c.name = (char *)name;
	c.idx = idx;
	c.config = (char *)test_config;
	c.config_len = sizeof test_config - 1;
	c.signer = (char *)"CN=cml test signer,O=cml";
	c.guestos = (char *)"busybox";
	return c;
}

/* Checks that the table of schema version 3 can be written and read. */
static void
assert_tables3_work(struct store *st)
{
	struct store_container c = make_container("web", 0), got;
	long long idx = -1;
	char *cause = NULL;

	assert_int_equal(store_container_add(st, &c, &cause), 0);
	assert_int_equal(store_container_set_state(st, "web", "running", NULL,
	    42, "1", &cause), 1);
	assert_int_equal(store_container_get(st, "web", &got, &cause), 1);
	assert_string_equal(got.state, "running");
	store_container_clear(&got);
	assert_int_equal(store_container_free_index(st, &idx, &cause), 0);
	assert_int_equal(idx, 1);
	assert_int_equal(store_container_remove(st, "web", &cause), 1);
}

/* Checks that every table of the current schemas can be written and read. */
static void
assert_tables_work(struct store *st)
{
	struct audit_record rec = {
		.time_ms = 5, .type = "daemon", .uid = -1, .pid = -1,
		.object = "cmld", .result = "ok",
	};
	char *cause = NULL;

	assert_int_equal(store_setting_set(st, "log_level", "debug", &cause),
	    0);
	assert_setting(st, "log_level", "debug");
	assert_int_equal(store_device_create(st, "u", &cause), 0);
	assert_device(st, "u", "factory");
	assert_int_equal(store_audit_append(st, &rec, &cause), 0);
	assert_int_equal(store_audit_count(st, &cause), 1);
	assert_tables2_work(st);
	assert_tables3_work(st);
}

/* Proves: none (schema migrations). */
static void
test_store_open_each_earlier_version_migrates_to_current(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	char *cause = NULL, *dir;
	int k, j, mv, av, n = 0;

	for (k = 0; k <= store_main_version; k++) {
		for (j = 0; j <= store_audit_version; j++) {
			if (k == store_main_version &&
			    j == store_audit_version)
				continue;
			dir = xasprintf("%s/%d-%d", f->dir, k, j);
			if (mkdir(dir, 0700) == -1)
				fail_msg("mkdir %s: %s", dir, strerror(errno));

			st = store_open_at(dir, k, j, &cause);
			if (st == NULL) {
				fail_msg("store_open_at(%d, %d): %s", k, j,
				    cause);
			}
			assert_int_equal(store_versions(st, &mv, &av, &cause),
			    0);
			assert_int_equal(mv, k);
			assert_int_equal(av, j);
			store_close(st);

			if ((st = store_open(dir, &cause)) == NULL)
				fail_msg("store_open after %d, %d: %s", k, j,
				    cause);
			assert_int_equal(store_versions(st, &mv, &av, &cause),
			    0);
			assert_int_equal(mv, store_main_version);
			assert_int_equal(av, store_audit_version);
			assert_tables_work(st);
			store_close(st);

			assert_int_equal(test_remove_tree(dir), 0);
			free(dir);
			n++;
		}
	}
	assert_int_equal(n,
	    (store_main_version + 1) * (store_audit_version + 1) - 1);
}

/* Proves: CR 3.4 (a store is never downgraded). */
static void
test_store_open_at_lower_version_does_not_downgrade(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	char *cause = NULL;
	int mv, av;

	store_close(open_ok(f));
	if ((st = store_open_at(f->dir, 0, 0, &cause)) == NULL)
		fail_msg("store_open_at(0, 0): %s", cause);
	assert_int_equal(store_versions(st, &mv, &av, &cause), 0);
	assert_int_equal(mv, store_main_version);
	assert_int_equal(av, store_audit_version);
	store_close(st);
}

/* Proves: none (a test hook's bounds). */
static void
test_store_open_at_out_of_range_version_fails(void **state)
{
	struct fixture *f = *state;
	char *cause = NULL;

	assert_null(store_open_at(f->dir, store_main_version + 1,
	    store_audit_version, &cause));
	assert_non_null(strstr(cause, "out of range"));
	free(cause);
	cause = NULL;
	assert_null(store_open_at(f->dir, 0, -1, &cause));
	assert_non_null(strstr(cause, "audit.db"));
	free(cause);
	assert_false(file_exists(f->main_path));
	assert_false(file_exists(f->audit_path));
}

/* Proves: none (a missing directory named). */
static void
test_store_open_missing_dir_fails_naming_path(void **state)
{
	struct fixture *f = *state;
	char *cause = NULL, *dir;

	dir = xasprintf("%s/absent", f->dir);
	assert_null(store_open(dir, &cause));
	assert_non_null(strstr(cause, dir));
	assert_non_null(strstr(cause, "No such file or directory"));
	free(cause);
	free(dir);
}

/* Proves: CR 3.4 (a damaged database refused and left untouched). */
static void
test_store_open_garbage_main_refused_untouched(void **state)
{
	struct fixture *f = *state;
	unsigned char junk[8192];
	size_t i;

	for (i = 0; i < sizeof junk; i++)
		junk[i] = (unsigned char)(i * 131 + 7);
	write_at(f->main_path, junk, sizeof junk, -1);
	assert_refused_untouched(f, f->main_path, "is corrupt");
	assert_refused_untouched(f, f->main_path, "not a database");
	assert_refused_untouched(f, f->main_path, "move it aside");
	/* Neither file was created next to the refused one. */
	assert_false(file_exists(f->audit_path));
}

/* Proves: CR 3.4 (a damaged database refused and left untouched). */
static void
test_store_open_garbage_audit_refused_untouched(void **state)
{
	struct fixture *f = *state;
	const char junk[] = "this is an audit log, but not a database\n";

	write_at(f->audit_path, junk, sizeof junk - 1, -1);
	assert_refused_untouched(f, f->audit_path, "is corrupt");
	assert_false(file_exists(f->main_path));
}

/* Proves: CR 3.4 (a damaged database refused and left untouched). */
static void
test_store_open_overwritten_page_refused_untouched(void **state)
{
	struct fixture *f = *state;
	unsigned char *buf, *junk;
	size_t len, ps;

	make_populated_store(f);
	buf = test_read_all(f->main_path, &len);
	ps = page_size_of(buf, len);
	assert_true(len >= 4 * ps);
	/* Page 2 is the first table's root; 0xa5 is no b-tree page type. */
	junk = xmalloc(ps);
	memset(junk, 0xa5, ps);
	write_at(f->main_path, junk, ps, (off_t)ps);
	assert_refused_untouched(f, f->main_path, "is corrupt");
	/* The message carries what quick_check found. */
	assert_refused_untouched(f, f->main_path, "Page 2: ");
	free(junk);
	free(buf);
}

/* Proves: CR 3.4 (a damaged database refused and left untouched). */
static void
test_store_open_overwritten_audit_page_refused_untouched(void **state)
{
	struct fixture *f = *state;
	unsigned char *buf, *junk;
	size_t len, ps, pgno;
	char *want;

	make_populated_store(f);
	buf = test_read_all(f->audit_path, &len);
	ps = page_size_of(buf, len);
	assert_true(len >= 4 * ps);
	/* A leaf in the middle of the audit table; pages count from 1. */
	pgno = len / ps / 2 + 1;
	junk = xmalloc(ps);
	memset(junk, 0xa5, ps);
	write_at(f->audit_path, junk, ps, (off_t)((pgno - 1) * ps));
	assert_refused_untouched(f, f->audit_path, "is corrupt");
	want = xasprintf("Page %zu: ", pgno);
	assert_refused_untouched(f, f->audit_path, want);
	free(want);
	free(junk);
	free(buf);
}

/* Proves: CR 3.4 (a damaged database refused and left untouched). */
static void
test_store_open_truncated_file_refused_untouched(void **state)
{
	struct fixture *f = *state;
	unsigned char *buf;
	size_t len, ps;

	make_populated_store(f);
	buf = test_read_all(f->main_path, &len);
	ps = page_size_of(buf, len);
	assert_true(len >= 4 * ps);

	/* Whole pages missing at the end. */
	write_at(f->main_path, buf, len / ps / 2 * ps, -1);
	assert_refused_untouched(f, f->main_path, "is corrupt");

	/* Cut inside a page. */
	write_at(f->main_path, buf, len - ps / 2, -1);
	assert_refused_untouched(f, f->main_path, "is corrupt");

	/* Cut inside the file header. */
	write_at(f->main_path, buf, 50, -1);
	assert_refused_untouched(f, f->main_path, "is corrupt");
	free(buf);
}

/* Proves: CR 3.4 (a newer database refused and left untouched). */
static void
test_store_open_newer_main_refused_untouched(void **state)
{
	struct fixture *f = *state;
	char *sql, *want;

	store_close(open_ok(f));
	sql = xasprintf("PRAGMA user_version = %d", store_main_version + 1);
	sql_on_file(f->main_path, sql);
	want = xasprintf("has schema version %d, newer than this cmld knows "
	    "(%d)", store_main_version + 1, store_main_version);
	assert_refused_untouched(f, f->main_path, want);
	assert_refused_untouched(f, f->main_path, "install a newer cml");
	assert_int_equal(int_on_file(f->main_path, "PRAGMA user_version"),
	    store_main_version + 1);
	free(want);
	free(sql);
}

/* Proves: CR 3.4 (a newer database refused and left untouched). */
static void
test_store_open_newer_audit_refused_untouched(void **state)
{
	struct fixture *f = *state;
	char *sql, *want;

	store_close(open_ok(f));
	sql = xasprintf("PRAGMA user_version = %d", store_audit_version + 7);
	sql_on_file(f->audit_path, sql);
	want = xasprintf("has schema version %d, newer than this cmld knows "
	    "(%d)", store_audit_version + 7, store_audit_version);
	assert_refused_untouched(f, f->audit_path, want);
	free(want);
	free(sql);
}

/* Proves: CR 3.4 (a refused file is not even switched to WAL). */
static void
test_store_open_newer_rollback_journal_file_left_in_its_mode(void **state)
{
	struct fixture *f = *state;
	char *sql, *want;

	/* A file that never was in WAL mode must not be switched to it. */
	sql = xasprintf("CREATE TABLE t (x); PRAGMA user_version = %d",
	    store_main_version + 1);
	sql_on_file(f->main_path, sql);
	want = xasprintf("schema version %d", store_main_version + 1);
	assert_refused_untouched(f, f->main_path, want);
	assert_int_equal(int_on_file(f->main_path,
	    "SELECT journal_mode = 'delete' FROM pragma_journal_mode"), 1);
	free(want);
	free(sql);
}

/* Proves: CR 3.4 (a failed migration leaves the old schema). */
static void
test_store_open_failing_migration_rolls_back(void **state)
{
	struct fixture *f = *state;
	char *cause = NULL;

	/* A stray table makes migration 1 of cml.db fail half-way. */
	sql_on_file(f->main_path, "CREATE TABLE settings (x)");
	assert_null(store_open(f->dir, &cause));
	assert_non_null(strstr(cause, f->main_path));
	assert_non_null(strstr(cause, "from schema version 0 to 1"));
	assert_non_null(strstr(cause, "settings"));
	free(cause);
	assert_int_equal(int_on_file(f->main_path, "PRAGMA user_version"), 0);
	assert_int_equal(int_on_file(f->main_path,
	    "SELECT count(*) FROM sqlite_schema WHERE name = 'device'"), 0);
}

/*
 * Copies the store's files, open or not, to f->dir/copy (returned): what
 * a crash of the process leaves on the disk, as seen later.
 */
static char *
crash_copy(struct fixture *f)
{
	const char *const files[] = {
		"cml.db", "cml.db-wal", "audit.db", "audit.db-wal",
	};
	unsigned char *buf;
	char *src, *dst, *copy;
	size_t i, len;

	copy = xasprintf("%s/copy", f->dir);
	assert_int_equal(mkdir(copy, 0700), 0);
	for (i = 0; i < sizeof files / sizeof files[0]; i++) {
		src = xasprintf("%s/%s", f->dir, files[i]);
		dst = xasprintf("%s/%s", copy, files[i]);
		buf = test_read_all(src, &len);
		write_at(dst, buf, len, -1);
		free(buf);
		free(dst);
		free(src);
	}
	return copy;
}

/* Proves: CR 3.4 (committed writes survive a crash). */
static void
test_store_open_after_crash_recovers_wal(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	char *cause = NULL, *copy;

	/* Copy the files while the store is open: a crash, as seen later. */
	st = open_ok(f);
	assert_int_equal(store_setting_set(st, "device_name", "gw1", &cause),
	    0);
	copy = crash_copy(f);
	store_close(st);

	if ((st = store_open(copy, &cause)) == NULL)
		fail_msg("store_open after a crash: %s", cause);
	assert_setting(st, "device_name", "gw1");
	store_close(st);
	assert_int_equal(test_remove_tree(copy), 0);
	free(copy);
}

/* The synchronous setting of schema on the store's own connection. */
static long long
synchronous_of(struct store *st, const char *schema)
{
	sqlite3_stmt *stmt;
	char *sql = xasprintf("PRAGMA %s.synchronous", schema);
	long long v;

	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_ROW)
		fail_msg("%s: %s", sql, sqlite3_errmsg(st->db));
	v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	free(sql);
	return v;
}

/*
 * Proves: CR 3.4 (a commit that does not wait for the disk is committed
 * all the same: other readers see it, and it survives a crash of cmld;
 * the commits after store_durable(st, 1) wait again, and the audit
 * trail's always do).
 */
static void
test_store_durable_lazy_commits_survive_a_crash(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	char *cause = NULL, *copy;

	st = open_ok(f);
	/* 2 is FULL, 1 NORMAL */
	assert_int_equal(synchronous_of(st, "main"), 2);
	assert_int_equal(store_durable(st, 0, &cause), 0);
	assert_int_equal(store_durable(st, 0, &cause), 0);
	assert_int_equal(synchronous_of(st, "main"), 1);
	assert_int_equal(synchronous_of(st, "audit"), 2);
	assert_int_equal(store_setting_set(st, "device_name", "lazy1", &cause),
	    0);
	assert_int_equal(store_durable(st, 1, &cause), 0);
	assert_int_equal(synchronous_of(st, "main"), 2);
	assert_int_equal(synchronous_of(st, "audit"), 2);
	assert_int_equal(int_on_file(f->main_path, "SELECT count(*) FROM "
	    "settings WHERE key = 'device_name' AND value = 'lazy1'"), 1);

	/* The files as a crash of cmld leaves them (the page cache's). */
	copy = crash_copy(f);
	store_close(st);
	if ((st = store_open(copy, &cause)) == NULL)
		fail_msg("store_open after a crash: %s", cause);
	assert_setting(st, "device_name", "lazy1");
	/* A store opened anew waits for the disk. */
	assert_int_equal(synchronous_of(st, "main"), 2);
	store_close(st);
	assert_int_equal(test_remove_tree(copy), 0);
	free(copy);
}

/* Proves: none (closing nothing). */
static void
test_store_close_null_does_nothing(void **state)
{
	(void)state;
	store_close(NULL);
}

/* Proves: none (an unset setting reads as unset). */
static void
test_store_setting_get_unset_returns_null(void **state)
{
	struct fixture *f = *state;
	struct store *st;

	st = open_ok(f);
	assert_setting(st, "device_name", NULL);
	store_close(st);
}

/* Proves: CR 7.6 (a setting stored as given). */
static void
test_store_setting_set_then_get_returns_value(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	char *cause = NULL;

	st = open_ok(f);
	assert_int_equal(store_setting_set(st, "device_name", "gw-1'; --",
	    &cause), 0);
	assert_setting(st, "device_name", "gw-1'; --");
	/* Another key is still unset. */
	assert_setting(st, "log_level", NULL);
	store_close(st);
}

/* Proves: CR 7.6 (one value per setting). */
static void
test_store_setting_set_twice_overwrites(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	char *cause = NULL;

	st = open_ok(f);
	assert_int_equal(store_setting_set(st, "max_clients", "64", &cause), 0);
	assert_int_equal(store_setting_set(st, "max_clients", "8", &cause), 0);
	assert_setting(st, "max_clients", "8");
	store_close(st);
	assert_int_equal(int_on_file(f->main_path,
	    "SELECT count(*) FROM settings"), 1);
}

/*
 * Proves: CR 7.6 (the settings of one change, e.g. provisioning's, are
 * stored all together or not at all).
 */
static void
test_store_settings_set_all_or_none(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	const char *keys[] = { "max_clients", "log_level", "device_name" };
	const char *values[] = { "12", "debug", NULL };
	char *cause = NULL;

	st = open_ok(f);
	assert_int_equal(store_settings_set(st, keys, values, 2, &cause), 0);
	assert_setting(st, "max_clients", "12");
	assert_setting(st, "log_level", "debug");
	/* the third fails (no value): the two before it are not changed */
	values[0] = "13";
	values[1] = "info";
	assert_int_equal(store_settings_set(st, keys, values, 3, &cause), -1);
	assert_non_null(strstr(cause, "no setting was stored"));
	free(cause);
	assert_setting(st, "max_clients", "12");
	assert_setting(st, "log_level", "debug");
	/* and the store takes the next change */
	values[2] = "gw-1";
	cause = NULL;
	assert_int_equal(store_settings_set(st, keys, values, 3, &cause), 0);
	store_close(st);
	assert_int_equal(int_on_file(f->main_path,
	    "SELECT count(*) FROM settings WHERE (key, value) IN "
	    "(VALUES ('max_clients', '13'), ('log_level', 'info'), "
	    "('device_name', 'gw-1'))"), 3);
}

/* Proves: CR 7.6 (settings kept). */
static void
test_store_setting_set_survives_reopen(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	char *cause = NULL;

	st = open_ok(f);
	assert_int_equal(store_setting_set(st, "log_level", "debug", &cause),
	    0);
	store_close(st);
	st = open_ok(f);
	assert_setting(st, "log_level", "debug");
	store_close(st);
}

/* Proves: none (a NULL value refused). */
static void
test_store_setting_set_null_value_fails(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	char *cause = NULL;

	st = open_ok(f);
	assert_int_equal(store_setting_set(st, "log_level", NULL, &cause), -1);
	assert_non_null(strstr(cause, "log_level"));
	assert_non_null(strstr(cause, "NOT NULL"));
	free(cause);
	store_close(st);
}

/* Proves: none (no device row yet). */
static void
test_store_device_get_none_returns_zero(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	struct store_device dev;
	char *cause = NULL;

	st = open_ok(f);
	assert_int_equal(store_device_get(st, &dev, &cause), 0);
	assert_null(dev.uuid);
	assert_null(dev.state);
	store_device_clear(&dev);
	store_close(st);
}

/* Proves: CR 1.4 (the device identifier stored). */
static void
test_store_device_create_then_get_returns_factory(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	struct store_device dev;
	const char *uuid = "0b6d6f4e-2f53-4b8e-9d5e-3a1c2b7f9e10";
	char *cause = NULL;

	st = open_ok(f);
	assert_int_equal(store_device_create(st, uuid, &cause), 0);
	assert_int_equal(store_device_get(st, &dev, &cause), 1);
	assert_string_equal(dev.uuid, uuid);
	assert_string_equal(dev.state, "factory");
	/* Created after 2020-01-01, in milliseconds. */
	assert_true(dev.created_ms > 1577836800000LL);
	store_device_clear(&dev);
	assert_null(dev.uuid);
	store_close(st);
}

/* Proves: CR 1.4 (the device identifier is made once). */
static void
test_store_device_create_twice_fails(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	char *cause = NULL;

	st = open_ok(f);
	assert_int_equal(store_device_create(st, "first", &cause), 0);
	assert_int_equal(store_device_create(st, "second", &cause), -1);
	assert_non_null(strstr(cause, "exists already"));
	free(cause);
	assert_device(st, "first", "factory");
	store_close(st);
}

/* Proves: none (the provisioning state stored). */
static void
test_store_device_set_state_provisioned_persists(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	char *cause = NULL;

	st = open_ok(f);
	assert_int_equal(store_device_create(st, "u1", &cause), 0);
	assert_int_equal(store_device_set_state(st, "provisioned", &cause), 0);
	store_close(st);
	st = open_ok(f);
	assert_device(st, "u1", "provisioned");
	store_close(st);
}

/* Proves: none (provisioning states checked). */
static void
test_store_device_set_state_invalid_refused(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	char *cause = NULL;

	st = open_ok(f);
	assert_int_equal(store_device_create(st, "u1", &cause), 0);
	assert_int_equal(store_device_set_state(st, "hacked", &cause), -1);
	assert_non_null(strstr(cause, "'hacked'"));
	free(cause);
	cause = NULL;
	assert_int_equal(store_device_set_state(st, NULL, &cause), -1);
	free(cause);
	assert_device(st, "u1", "factory");
	store_close(st);
}

/* Proves: none (no state without a device). */
static void
test_store_device_set_state_without_device_fails(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	char *cause = NULL;

	st = open_ok(f);
	assert_int_equal(store_device_set_state(st, "provisioned", &cause),
	    -1);
	assert_non_null(strstr(cause, "not been created"));
	free(cause);
	store_close(st);
}

/*
 * Proves: CR 3.4 (the schema refuses invalid rows),
 * CR 1.4 (one device row only).
 */
static void
test_store_device_check_constraint_rejects_bad_state(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db;

	/* The table refuses what the C check might one day let through. */
	store_close(open_ok(f));
	sql_on_file(f->main_path, "INSERT INTO device (id, uuid, state, "
	    "created_ms) VALUES (1, 'u', 'factory', 0)");
	assert_int_equal(sqlite3_open(f->main_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE device SET state = 'other'",
	    NULL, NULL, NULL), SQLITE_CONSTRAINT);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO device VALUES "
	    "(2, 'v', 'factory', 0)", NULL, NULL, NULL), SQLITE_CONSTRAINT);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO settings VALUES "
	    "('k', 'v', 'not a number')", NULL, NULL, NULL),
	    SQLITE_CONSTRAINT);
	sqlite3_close(db);
}

/* Collects what store_audit_list hands over. */
struct collect {
	long long seq[64];
	long long uid[64];
	long long pid[64];
	char object[64][32];
	int container_null[64];
	int details_null[64];
	int n;
	int stop_after; /* 0: never stop */
	int stop_value;
};

static int
collect_cb(const struct audit_record *rec, void *arg)
{
	struct collect *c = arg;

	assert_true(c->n < 64);
	c->seq[c->n] = rec->seq;
	c->uid[c->n] = rec->uid;
	c->pid[c->n] = rec->pid;
	snprintf(c->object[c->n], sizeof c->object[c->n], "%s", rec->object);
	c->container_null[c->n] = rec->container == NULL;
	c->details_null[c->n] = rec->details == NULL;
	assert_string_equal(rec->type, "call");
	assert_string_equal(rec->result, "ok");
	c->n++;
	if (c->stop_after != 0 && c->n == c->stop_after)
		return c->stop_value;
	return 0;
}

/* Appends n records with objects "obj0".."obj<n-1>", checking seq. */
static void
append_records(struct store *st, int n, long long *seqs)
{
	struct audit_record rec;
	char object[32], *cause = NULL;
	int i;

	for (i = 0; i < n; i++) {
		snprintf(object, sizeof object, "obj%d", i);
		memset(&rec, 0, sizeof rec);
		rec.time_ms = 1000 + i;
		rec.type = "call";
		rec.uid = i % 2 == 0 ? -1 : 1000 + i;
		rec.pid = i % 2 == 0 ? -1 : 2000 + i;
		rec.container = i % 2 == 0 ? NULL : "c0";
		rec.object = object;
		rec.result = "ok";
		rec.details = i % 2 == 0 ? NULL : "x=y";
		rec.seq = 0;
		if (store_audit_append(st, &rec, &cause) == -1)
			fail_msg("store_audit_append: %s", cause);
		seqs[i] = rec.seq;
	}
}

/* Proves: TSF.AUDIT (records stored in order; also after a reopen). */
static void
test_store_audit_append_assigns_increasing_seq(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	long long seqs[5];
	int i;

	st = open_ok(f);
	append_records(st, 5, seqs);
	assert_true(seqs[0] >= 1);
	for (i = 1; i < 5; i++)
		assert_true(seqs[i] > seqs[i - 1]);
	store_close(st);

	/* Sequence numbers continue after a reopen. */
	st = open_ok(f);
	append_records(st, 1, &seqs[0]);
	assert_true(seqs[0] > seqs[4]);
	store_close(st);
}

/* Proves: TSF.AUDIT (a record without its object is not stored). */
static void
test_store_audit_append_missing_object_fails(void **state)
{
	struct fixture *f = *state;
	struct audit_record rec = {
		.time_ms = 1, .type = "call", .uid = 0, .pid = 1,
		.object = NULL, .result = "ok",
	};
	struct store *st;
	char *cause = NULL;

	st = open_ok(f);
	assert_int_equal(store_audit_append(st, &rec, &cause), -1);
	assert_non_null(strstr(cause, "audit.db"));
	assert_non_null(strstr(cause, "NOT NULL"));
	free(cause);
	cause = NULL;
	assert_int_equal(store_audit_count(st, &cause), 0);
	store_close(st);
}

/*
 * Proves: CR 6.1 (the last N records),
 * CR 2.12 (uid and pid kept with each record), TSF.AUDIT.
 */
static void
test_store_audit_list_last_returns_newest_ascending(void **state)
{
	static const char *const want[] = { "obj7", "obj8", "obj9" };
	struct fixture *f = *state;
	struct store *st;
	struct collect c;
	long long seqs[10];
	char *cause = NULL;
	int i;

	st = open_ok(f);
	append_records(st, 10, seqs);
	memset(&c, 0, sizeof c);
	assert_int_equal(store_audit_list(st, 3, collect_cb, &c, &cause), 0);
	assert_int_equal(c.n, 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(c.seq[i], seqs[7 + i]);
		assert_string_equal(c.object[i], want[i]);
	}
	/* obj7 and obj9 had a caller; obj8 was the daemon itself. */
	assert_int_equal(c.uid[0], 1007);
	assert_int_equal(c.pid[0], 2007);
	assert_false(c.container_null[0]);
	assert_false(c.details_null[0]);
	assert_int_equal(c.uid[1], -1);
	assert_int_equal(c.pid[1], -1);
	assert_true(c.container_null[1]);
	assert_true(c.details_null[1]);
	store_close(st);

	/* -1 is stored as NULL, not as a number. */
	assert_int_equal(int_on_file(f->audit_path,
	    "SELECT count(*) FROM audit WHERE uid IS NULL AND pid IS NULL"), 5);
	assert_int_equal(int_on_file(f->audit_path,
	    "SELECT count(*) FROM audit WHERE uid < 0 OR pid < 0"), 0);
}

/* Proves: CR 6.1 (every record listed), TSF.AUDIT. */
static void
test_store_audit_list_all_returns_every_record(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	struct collect c;
	long long seqs[6];
	char *cause = NULL;
	int i;

	st = open_ok(f);
	memset(&c, 0, sizeof c);
	assert_int_equal(store_audit_list(st, 0, collect_cb, &c, &cause), 0);
	assert_int_equal(c.n, 0);

	append_records(st, 6, seqs);
	memset(&c, 0, sizeof c);
	assert_int_equal(store_audit_list(st, 0, collect_cb, &c, &cause), 0);
	assert_int_equal(c.n, 6);
	for (i = 0; i < 6; i++)
		assert_int_equal(c.seq[i], seqs[i]);

	memset(&c, 0, sizeof c);
	assert_int_equal(store_audit_list(st, -5, collect_cb, &c, &cause), 0);
	assert_int_equal(c.n, 6);

	memset(&c, 0, sizeof c);
	assert_int_equal(store_audit_list(st, 100, collect_cb, &c, &cause), 0);
	assert_int_equal(c.n, 6);
	assert_int_equal(c.seq[0], seqs[0]);
	assert_int_equal(c.seq[5], seqs[5]);
	store_close(st);
}

/* Proves: none (a listing stopped by its reader). */
static void
test_store_audit_list_callback_stop_propagates(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	struct collect c;
	long long seqs[5];
	char *cause = NULL;

	st = open_ok(f);
	append_records(st, 5, seqs);
	memset(&c, 0, sizeof c);
	c.stop_after = 2;
	c.stop_value = 42;
	assert_int_equal(store_audit_list(st, 0, collect_cb, &c, &cause), 42);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.seq[1], seqs[1]);
	assert_null(cause);

	/* The statement was finished: the store still writes. */
	append_records(st, 1, seqs);
	assert_int_equal(store_audit_count(st, &cause), 6);
	store_close(st);
}

/* Proves: none (counting records). */
static void
test_store_audit_count_counts_records(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	long long seqs[7];
	char *cause = NULL;

	st = open_ok(f);
	assert_int_equal(store_audit_count(st, &cause), 0);
	append_records(st, 7, seqs);
	assert_int_equal(store_audit_count(st, &cause), 7);
	store_close(st);
}

/* Appends records from..to as one chained batch (fake hashes: seq-made). */
static void
append_chained(struct store *st, long long from, long long to)
{
	struct audit_record recs[64];
	long long i;
	size_t n = 0;
	char *cause = NULL;

	assert_true(to - from + 1 <= 64);
	for (i = from; i <= to; i++) {
		struct audit_record *r = &recs[n++];

		memset(r, 0, sizeof *r);
		r->seq = i;
		r->time_ms = 1000 + i;
		r->type = "call";
		r->uid = 0;
		r->pid = 42;
		r->comm = "cmlsh";
		r->object = "org.cml.Device.SetConfig";
		r->result = "ok";
		r->details = "device_name=x";
		memset(r->prev, (int)(i - 1), sizeof r->prev);
		memset(r->hash, (int)i, sizeof r->hash);
	}
	if (store_audit_append_batch(st, recs, n, &cause) == -1)
		fail_msg("store_audit_append_batch: %s", cause);
}

/* Takes the acknowledged flags of the records listed. */
static int
acked_cb(const struct audit_record *rec, void *arg)
{
	char *flags = arg;

	flags[rec->seq] = rec->acked ? 'a' : '-';
	assert_true(rec->chained);
	assert_string_equal(rec->comm, "cmlsh");
	return 0;
}

/* Proves: CR 2.9 (acknowledgements and what may be dropped). */
static void
test_store_audit_chain_acks_and_drop(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	struct audit_checkpoint cp = { 0 }, got;
	unsigned char head[STORE_AUDIT_HASH_LEN], sig[8] = "sig-5678";
	long long seq, n, count, used;
	char flags[32], *cause = NULL, *v = NULL;
	int chained, found;

	st = open_ok(f);
	assert_int_equal(store_audit_head(st, &seq, head, &chained, &cause), 0);
	assert_int_equal(seq, 0);
	append_chained(st, 1, 20);
	assert_int_equal(store_audit_head(st, &seq, head, &chained, &cause), 0);
	assert_int_equal(seq, 20);
	assert_true(chained);
	assert_int_equal(head[0], 20);
	/* a seq given twice: nothing of the batch is stored */
	{
		struct audit_record r = { .seq = 20, .time_ms = 1, .type = "x",
		    .object = "o", .result = "ok" };

		assert_int_equal(store_audit_append_batch(st, &r, 1, &cause),
		    -1);
		free(cause);
		cause = NULL;
	}
	assert_int_equal(store_audit_count(st, &cause), 20);

	/* acknowledgements: one, a range over it, one apart */
	assert_int_equal(store_audit_ack(st, 3, 3, 5, &n, &cause), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_audit_ack(st, 1, 5, 6, &n, &cause), 0);
	assert_int_equal(n, 4);
	assert_int_equal(store_audit_ack(st, 8, 8, 7, &n, &cause), 0);
	assert_int_equal(store_audit_ack(st, 8, 8, 7, &n, &cause), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_audit_ack(st, 19, 99, 7, &n, &cause), 0);
	assert_int_equal(n, 2); /* only records held count */
	memset(flags, 0, sizeof flags);
	assert_int_equal(store_audit_range(st, NULL, 0, 20, 100, acked_cb,
	    flags, &cause), 0);
	assert_string_equal(flags + 1, "aaaaa--a----------aa");
	assert_int_equal(store_audit_first_unacked(st, 0, &seq, &count,
	    &cause), 0);
	assert_int_equal(seq, 6);
	assert_int_equal(count, 20 - 8);
	/* the collector received up to 7: the next not acknowledged is 9 */
	assert_int_equal(store_audit_first_unacked(st, 7, &seq, &count,
	    &cause), 0);
	assert_int_equal(seq, 9);
	assert_int_equal(count, 10);
	/* 6 and 7 acknowledged: 1..8 become one range */
	assert_int_equal(store_audit_ack(st, 6, 7, 8, &n, &cause), 0);
	assert_int_equal(int_on_file(f->audit_path,
	    "SELECT count(*) FROM ack"), 2);
	assert_int_equal(store_audit_first_unacked(st, 0, &seq, NULL,
	    &cause), 0);
	assert_int_equal(seq, 9);

	/* checkpoints, and a drop that keeps the anchor */
	memset(cp.head, 5, sizeof cp.head);
	cp.seq = 5;
	cp.time_ms = 2000;
	cp.sig = sig;
	cp.siglen = sizeof sig;
	assert_int_equal(store_audit_checkpoint_add(st, &cp, &cause), 0);
	cp.seq = 10;
	assert_int_equal(store_audit_checkpoint_add(st, &cp, &cause), 0);
	assert_int_equal(store_audit_checkpoint_before(st, 9, &got, &found,
	    &cause), 0);
	assert_true(found);
	assert_int_equal(got.seq, 5);
	assert_memory_equal(got.sig, sig, sizeof sig);
	free((void *)got.sig);
	assert_int_equal(store_audit_drop(st, 5, &cause), 0);
	assert_int_equal(store_audit_first(st, &seq, &cause), 0);
	assert_int_equal(seq, 6);
	assert_int_equal(int_on_file(f->audit_path,
	    "SELECT min(seq) FROM checkpoint"), 5);
	assert_int_equal(int_on_file(f->audit_path,
	    "SELECT min(from_seq) FROM ack"), 6);
	assert_int_equal(store_audit_first_unacked(st, 0, &seq, &count,
	    &cause), 0);
	assert_int_equal(seq, 9);
	assert_int_equal(count, 10);

	/* the trail's own state, and its size */
	assert_int_equal(store_audit_meta_get(st, "forward_cursor", &v,
	    &cause), 0);
	assert_null(v);
	assert_int_equal(store_audit_meta_set(st, "forward_cursor", "12",
	    &cause), 0);
	assert_int_equal(store_audit_meta_get(st, "forward_cursor", &v,
	    &cause), 0);
	assert_string_equal(v, "12");
	free(v);
	assert_int_equal(store_audit_used(st, &used, &cause), 0);
	assert_true(used > 0 && used % 512 == 0);
	store_close(st);
}

/* Collects what store_anchor_list hands over. */
struct anchors {
	char fingerprint[8][16];
	char subject[8][32];
	char kind[8][16];
	long long not_after[8];
	long long added_ms[8];
	int der_ok[8];
	int n;
	struct store *st; /* when set, the callback removes each anchor */
	int stop_value;
};

static int
anchors_cb(const struct store_anchor *a, void *arg)
{
	struct anchors *c = arg;
	char *cause = NULL;

	assert_true(c->n < 8);
	snprintf(c->fingerprint[c->n], sizeof c->fingerprint[c->n], "%s",
	    a->fingerprint);
	snprintf(c->subject[c->n], sizeof c->subject[c->n], "%s", a->subject);
	snprintf(c->kind[c->n], sizeof c->kind[c->n], "%s", a->kind);
	assert_string_equal(a->key, "EC P-384");
	c->not_after[c->n] = a->not_after;
	c->added_ms[c->n] = a->added_ms;
	c->der_ok[c->n] = a->der_len == sizeof test_der &&
	    memcmp(a->der, test_der, sizeof test_der) == 0;
	c->n++;
	if (c->st != NULL)
		assert_int_equal(store_anchor_remove(c->st, a->fingerprint,
		    &cause), 1);
	return c->stop_value;
}

/* Proves: CR 3.4 (data kept across a schema upgrade). */
static void
test_store_migrate_1_with_data_to_2_keeps_data(void **state)
{
	struct fixture *f = *state;
	struct audit_record rec = {
		.time_ms = 7, .type = "call", .uid = 0, .pid = 9,
		.object = "org.cml.Device.SetConfig", .result = "ok",
		.details = "device_name=gw",
	};
	struct store *st;
	struct anchors c;
	char *cause = NULL;
	int mv, av;

	if ((st = store_open_at(f->dir, 1, 1, &cause)) == NULL)
		fail_msg("store_open_at(1, 1): %s", cause);
	assert_int_equal(store_device_create(st, "uuid-1", &cause), 0);
	assert_int_equal(store_device_set_state(st, "provisioned", &cause), 0);
	assert_int_equal(store_setting_set(st, "device_name", "gw", &cause), 0);
	assert_int_equal(store_audit_append(st, &rec, &cause), 0);
	store_close(st);
	assert_int_equal(int_on_file(f->main_path, "PRAGMA user_version"), 1);
	assert_int_equal(int_on_file(f->main_path, "SELECT count(*) FROM "
	    "sqlite_schema WHERE name = 'guestos'"), 0);

	if ((st = store_open_at(f->dir, 2, store_audit_version, &cause)) ==
	    NULL)
		fail_msg("store_open_at(2, %d): %s", store_audit_version,
		    cause);
	assert_int_equal(store_versions(st, &mv, &av, &cause), 0);
	assert_int_equal(mv, 2);
	assert_device(st, "uuid-1", "provisioned");
	assert_setting(st, "device_name", "gw");
	assert_int_equal(store_audit_count(st, &cause), 1);
	memset(&c, 0, sizeof c);
	assert_int_equal(store_anchor_list(st, anchors_cb, &c, &cause), 0);
	assert_int_equal(c.n, 0);
	store_close(st);

	assert_int_equal(int_on_file(f->main_path, "PRAGMA user_version"), 2);
	assert_int_equal(int_on_file(f->main_path, "SELECT count(*) FROM "
	    "sqlite_schema WHERE name IN ('trust_anchor', 'guestos', "
	    "'guestos_image')"), 3);
}

/* Proves: NDR 3.13 (owner anchors stored and kept). */
static void
test_store_anchor_add_list_remove(void **state)
{
	struct fixture *f = *state;
	struct store_anchor a1 = make_anchor("f1", "CN=zeta root", "owner");
	struct store_anchor a2 = make_anchor("f2", "CN=alpha root",
	    "supplier");
	struct store *st;
	struct anchors c;
	char *cause = NULL;

	a2.added_ms = 1234;
	st = open_ok(f);
	assert_int_equal(store_anchor_add(st, &a1, &cause), 0);
	assert_int_equal(store_anchor_add(st, &a2, &cause), 0);

	memset(&c, 0, sizeof c);
	assert_int_equal(store_anchor_list(st, anchors_cb, &c, &cause), 0);
	assert_int_equal(c.n, 2);
	/* Ordered by subject. */
	assert_string_equal(c.fingerprint[0], "f2");
	assert_string_equal(c.subject[0], "CN=alpha root");
	assert_string_equal(c.kind[0], "supplier");
	assert_int_equal(c.added_ms[0], 1234);
	assert_string_equal(c.fingerprint[1], "f1");
	assert_string_equal(c.kind[1], "owner");
	assert_int_equal(c.not_after[1], 2000000000LL);
	/* Added now when no time is given. */
	assert_true(c.added_ms[1] > 1577836800000LL);
	assert_true(c.der_ok[0]);
	assert_true(c.der_ok[1]);

	assert_int_equal(store_anchor_remove(st, "f1", &cause), 1);
	assert_int_equal(store_anchor_remove(st, "f1", &cause), 0);
	assert_int_equal(store_anchor_remove(st, "nonexistent", &cause), 0);
	memset(&c, 0, sizeof c);
	assert_int_equal(store_anchor_list(st, anchors_cb, &c, &cause), 0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.fingerprint[0], "f2");
	store_close(st);

	/* Kept across a reopen. */
	st = open_ok(f);
	memset(&c, 0, sizeof c);
	assert_int_equal(store_anchor_list(st, anchors_cb, &c, &cause), 0);
	assert_int_equal(c.n, 1);
	store_close(st);
}

/* Proves: NDR 3.13 (a registered anchor is not replaced). */
static void
test_store_anchor_add_duplicate_returns_one_unchanged(void **state)
{
	struct fixture *f = *state;
	struct store_anchor a = make_anchor("f1", "CN=first", "owner");
	struct store_anchor b = make_anchor("f1", "CN=second", "supplier");
	struct store *st;
	struct anchors c;
	char *cause = NULL;

	st = open_ok(f);
	assert_int_equal(store_anchor_add(st, &a, &cause), 0);
	assert_int_equal(store_anchor_add(st, &b, &cause), 1);
	assert_null(cause);
	memset(&c, 0, sizeof c);
	assert_int_equal(store_anchor_list(st, anchors_cb, &c, &cause), 0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.subject[0], "CN=first");
	assert_string_equal(c.kind[0], "owner");
	store_close(st);
}

/*
 * Proves: NDR 3.13 (an anchor needs its certificate and kind),
 * CR 3.4 (the schema refuses the same).
 */
static void
test_store_anchor_add_bad_kind_refused(void **state)
{
	struct fixture *f = *state;
	struct store_anchor a = make_anchor("f1", "CN=x", "vendor");
	struct store *st;
	sqlite3 *db;
	char *cause = NULL;

	st = open_ok(f);
	assert_int_equal(store_anchor_add(st, &a, &cause), -1);
	assert_string_equal(cause, "invalid trust anchor kind 'vendor': use "
	    "owner, supplier or device");
	free(cause);
	cause = NULL;
	a.kind = (char *)"owner";
	a.der_len = 0;
	assert_int_equal(store_anchor_add(st, &a, &cause), -1);
	assert_non_null(strstr(cause, "no certificate"));
	free(cause);
	store_close(st);
	assert_int_equal(int_on_file(f->main_path,
	    "SELECT count(*) FROM trust_anchor"), 0);

	/* The table refuses the same. */
	assert_int_equal(sqlite3_open(f->main_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO trust_anchor VALUES "
	    "('f', 's', 'k', 'vendor', 1, 1, x'00')", NULL, NULL, NULL),
	    SQLITE_CONSTRAINT);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO trust_anchor VALUES "
	    "('f', 's', 'k', 'owner', 'soon', 1, x'00')", NULL, NULL, NULL),
	    SQLITE_CONSTRAINT);
	sqlite3_close(db);
}

/* Proves: none (a listing callback may write). */
static void
test_store_anchor_list_callback_may_write_and_stop(void **state)
{
	struct fixture *f = *state;
	struct store_anchor a1 = make_anchor("f1", "CN=a", "owner");
	struct store_anchor a2 = make_anchor("f2", "CN=b", "owner");
	struct store *st;
	struct anchors c;
	char *cause = NULL;

	st = open_ok(f);
	assert_int_equal(store_anchor_add(st, &a1, &cause), 0);
	assert_int_equal(store_anchor_add(st, &a2, &cause), 0);
	memset(&c, 0, sizeof c);
	c.st = st;
	c.stop_value = 7;
	assert_int_equal(store_anchor_list(st, anchors_cb, &c, &cause), 7);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.fingerprint[0], "f1");
	memset(&c, 0, sizeof c);
	assert_int_equal(store_anchor_list(st, anchors_cb, &c, &cause), 0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.fingerprint[0], "f2");
	store_close(st);
}

/* Collects what store_guestos_list hands over. */
struct guestoses {
	char id[8][32]; /* "NAME VERSION" */
	size_t nimages[8];
	char mount1[8][16]; /* of the second image, if any */
	int n;
};

static int
guestoses_cb(const struct store_guestos *g, void *arg)
{
	struct guestoses *c = arg;

	assert_true(c->n < 8);
	snprintf(c->id[c->n], sizeof c->id[c->n], "%s %s", g->name,
	    g->version);
	c->nimages[c->n] = g->nimages;
	if (g->nimages > 1)
		snprintf(c->mount1[c->n], sizeof c->mount1[c->n], "%s",
		    g->images[1].mount);
	assert_string_equal(g->signer, "CN=cml test signer,O=cml");
	c->n++;
	return 0;
}

/* Proves: none (guest OS records stored and listed and removed). */
static void
test_store_guestos_add_get_list_remove(void **state)
{
	struct fixture *f = *state;
	struct store_guestos g1 = make_guestos("busybox", "1.0", 3000, 2);
	struct store_guestos g2 = make_guestos("busybox", "1.1", 2000, 1);
	struct store_guestos g3 = make_guestos("alpine", "3", 1000, 2);
	struct store_guestos got;
	struct guestoses c;
	struct store *st;
	char *cause = NULL;
	size_t i;

	st = open_ok(f);
	assert_int_equal(store_guestos_add(st, &g1, &cause), 0);
	assert_int_equal(store_guestos_add(st, &g2, &cause), 0);
	assert_int_equal(store_guestos_add(st, &g3, &cause), 0);

	assert_int_equal(store_guestos_get(st, "busybox", "1.0", &got, &cause),
	    1);
	assert_string_equal(got.name, "busybox");
	assert_string_equal(got.version, "1.0");
	assert_string_equal(got.description, "a test system");
	assert_string_equal(got.init, "/sbin/init");
	assert_string_equal(got.signer, "CN=cml test signer,O=cml");
	assert_string_equal(got.path, "/var/lib/cml/guestos/x");
	assert_int_equal(got.installed_ms, 3000);
	assert_int_equal(got.nimages, 2);
	for (i = 0; i < 2; i++) {
		assert_string_equal(got.images[i].file, test_images[i].file);
		assert_int_equal(got.images[i].size, test_images[i].size);
		assert_string_equal(got.images[i].sha256,
		    test_images[i].sha256);
		assert_string_equal(got.images[i].fs, test_images[i].fs);
		assert_string_equal(got.images[i].mount, test_images[i].mount);
	}
	store_guestos_clear(&got);
	assert_null(got.name);
	assert_int_equal(got.nimages, 0);

	assert_int_equal(store_guestos_get(st, "busybox", "2", &got, &cause),
	    0);
	assert_null(got.name);
	assert_int_equal(store_guestos_get(st, "busybox'--", "1.0", &got,
	    &cause), 0);

	/* By name, then by install time. */
	memset(&c, 0, sizeof c);
	assert_int_equal(store_guestos_list(st, guestoses_cb, &c, &cause), 0);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.id[0], "alpine 3");
	assert_string_equal(c.id[1], "busybox 1.1");
	assert_string_equal(c.id[2], "busybox 1.0");
	assert_int_equal(c.nimages[0], 2);
	assert_int_equal(c.nimages[1], 1);
	assert_string_equal(c.mount1[2], "/data");

	assert_int_equal(store_guestos_remove(st, "busybox", "1.0", &cause),
	    1);
	assert_int_equal(store_guestos_remove(st, "busybox", "1.0", &cause),
	    0);
	memset(&c, 0, sizeof c);
	assert_int_equal(store_guestos_list(st, guestoses_cb, &c, &cause), 0);
	assert_int_equal(c.n, 2);
	store_close(st);

	/* Its images went with it: 2 of alpine and 1 of busybox 1.1 left. */
	assert_int_equal(int_on_file(f->main_path,
	    "SELECT count(*) FROM guestos_image"), 3);
	assert_int_equal(int_on_file(f->main_path, "SELECT count(*) FROM "
	    "guestos_image WHERE guestos_id NOT IN (SELECT id FROM guestos)"),
	    0);
}

/* Proves: CR 3.4 (an installed guest OS's record is not replaced). */
static void
test_store_guestos_add_duplicate_returns_one_unchanged(void **state)
{
	struct fixture *f = *state;
	struct store_guestos g1 = make_guestos("busybox", "1.0", 1000, 2);
	struct store_guestos g2 = make_guestos("busybox", "1.0", 2000, 1);
	struct store_guestos got;
	struct store *st;
	char *cause = NULL;

	g2.description = (char *)"another";
	st = open_ok(f);
	assert_int_equal(store_guestos_add(st, &g1, &cause), 0);
	assert_int_equal(store_guestos_add(st, &g2, &cause), 1);
	assert_null(cause);
	assert_int_equal(store_guestos_get(st, "busybox", "1.0", &got, &cause),
	    1);
	assert_string_equal(got.description, "a test system");
	assert_int_equal(got.installed_ms, 1000);
	assert_int_equal(got.nimages, 2);
	store_guestos_clear(&got);
	/* The store still takes writes: no transaction was left open. */
	assert_int_equal(store_setting_set(st, "k", "v", &cause), 0);
	store_close(st);
	assert_int_equal(int_on_file(f->main_path,
	    "SELECT count(*) FROM guestos_image"), 2);
}

/* Proves: CR 3.4 (a failed add leaves nothing). */
static void
test_store_guestos_add_bad_image_rolls_back(void **state)
{
	struct fixture *f = *state;
	struct store_image bad[2];
	struct store_guestos g = make_guestos("busybox", "1.0", 0, 2);
	struct store_guestos got;
	struct store *st;
	char *cause = NULL;

	memcpy(bad, test_images, sizeof bad);
	bad[1].fs = (char *)"btrfs";
	g.images = bad;
	st = open_ok(f);
	assert_int_equal(store_guestos_add(st, &g, &cause), -1);
	assert_non_null(strstr(cause, "cannot add guest OS busybox 1.0 to "));
	assert_non_null(strstr(cause, "CHECK constraint failed"));
	free(cause);
	cause = NULL;
	assert_int_equal(store_guestos_get(st, "busybox", "1.0", &got, &cause),
	    0);
	/* The same NAME VERSION can be added once the images are right. */
	g.images = test_images;
	assert_int_equal(store_guestos_add(st, &g, &cause), 0);
	store_close(st);
	assert_int_equal(int_on_file(f->main_path,
	    "SELECT count(*) FROM guestos"), 1);
	assert_int_equal(int_on_file(f->main_path,
	    "SELECT count(*) FROM guestos_image"), 2);
}

/* Collects what store_container_list hands over. */
struct containers {
	char name[8][16];
	long long idx[8];
	int n;
	struct store *st; /* when set, the callback removes each container */
	int stop_value;
};

static int
containers_cb(const struct store_container *c, void *arg)
{
	struct containers *l = arg;
	char *cause = NULL;

	assert_true(l->n < 8);
	snprintf(l->name[l->n], sizeof l->name[l->n], "%s", c->name);
	l->idx[l->n] = c->idx;
	assert_int_equal(c->config_len, sizeof test_config - 1);
	assert_memory_equal(c->config, test_config, c->config_len);
	assert_string_equal(c->state, "stopped");
	l->n++;
	if (l->st != NULL)
		assert_int_equal(store_container_remove(l->st, c->name, &cause),
		    1);
	return l->stop_value;
}

/*
 * Schema 4 makes the image table anew to allow erofs: the images of a
 * guest OS installed before keep every column and their order, erofs is
 * taken, and a file system outside the list is still refused.
 * Proves: CR 3.4 (images kept across the upgrade; bad file systems refused).
 */
static void
test_store_migrate_3_to_4_erofs(void **state)
{
	struct fixture *f = *state;
	struct store_guestos g = make_guestos("busybox", "1", 1000, 2), got;
	struct store_image ero = test_images[0];
	struct store *st;
	char *cause = NULL;

	if ((st = store_open_at(f->dir, 3, store_audit_version, &cause)) ==
	    NULL)
		fail_msg("store_open_at(3, %d): %s", store_audit_version,
		    cause);
	assert_int_equal(store_guestos_add(st, &g, &cause), 0);
	store_close(st);
	assert_int_equal(int_on_file(f->main_path, "PRAGMA user_version"), 3);

	st = open_ok(f);
	assert_int_equal(int_on_file(f->main_path, "PRAGMA user_version"),
	    store_main_version);
	assert_int_equal(store_guestos_get(st, "busybox", "1", &got, &cause),
	    1);
	assert_int_equal(got.nimages, 2);
	assert_string_equal(got.images[0].file, "root.squashfs");
	assert_string_equal(got.images[0].fs, "squashfs");
	assert_string_equal(got.images[0].mount, "/");
	assert_int_equal(got.images[0].size, 4096);
	assert_string_equal(got.images[0].sha256, test_images[0].sha256);
	assert_string_equal(got.images[1].file, "data.ext4");
	assert_string_equal(got.images[1].fs, "ext4");
	assert_string_equal(got.images[1].mount, "/data");
	store_guestos_clear(&got);
	/* deleting the guest OS still takes its images along */
	assert_int_equal(store_guestos_remove(st, "busybox", "1", &cause), 1);
	assert_int_equal(int_on_file(f->main_path,
	    "SELECT count(*) FROM guestos_image"), 0);

	ero.file = (char *)"root.erofs";
	ero.fs = (char *)"erofs";
	g = make_guestos("ero", "1", 1000, 1);
	g.images = &ero;
	assert_int_equal(store_guestos_add(st, &g, &cause), 0);
	assert_int_equal(store_guestos_get(st, "ero", "1", &got, &cause), 1);
	assert_string_equal(got.images[0].fs, "erofs");
	store_guestos_clear(&got);

	ero.fs = (char *)"btrfs";
	g = make_guestos("bad", "1", 1000, 1);
	g.images = &ero;
	assert_int_equal(store_guestos_add(st, &g, &cause), -1);
	assert_non_null(strstr(cause, "CHECK constraint failed"));
	free(cause);
	assert_int_equal(store_guestos_get(st, "bad", "1", &got, &cause), 0);
	store_close(st);
}

/*
 * Containers stored before version 5 get ids of their own, and every new
 * one gets another: a data volume is named by it, never by a reused name.
 * Proves: CR 3.4 (data kept across a schema upgrade), TSF.ISOL (a volume's
 * id is never given to another container).
 */
static void
test_store_migrate_4_to_5_container_ids(void **state)
{
	struct fixture *f = *state;
	struct store_container c = make_container("new", 2), a, b, n, n2;
	struct store *st;
	char *cause = NULL;

	if ((st = store_open_at(f->dir, 4, store_audit_version, &cause)) ==
	    NULL)
		fail_msg("store_open_at(4, %d): %s", store_audit_version,
		    cause);
	store_close(st);
	sql_on_file(f->main_path, "INSERT INTO container (name, idx, config, "
	    "guestos, state, created_ms) VALUES ('a', 0, X'7B7D', 'busybox', "
	    "'stopped', 1), ('b', 1, X'7B7D', 'busybox', 'stopped', 2)");
	st = open_ok(f);
	assert_int_equal(store_container_get(st, "a", &a, &cause), 1);
	assert_int_equal(store_container_get(st, "b", &b, &cause), 1);
	assert_int_equal(strlen(a.uuid), 32);
	assert_int_equal(strspn(a.uuid, "0123456789abcdef"), 32);
	assert_string_not_equal(a.uuid, b.uuid);
	assert_int_equal(store_container_add(st, &c, &cause), 0);
	assert_int_equal(store_container_get(st, "new", &n, &cause), 1);
	assert_int_equal(strspn(n.uuid, "0123456789abcdef"), 32);
	assert_string_not_equal(n.uuid, a.uuid);
	/* removed and added again under its name: another id */
	assert_int_equal(store_container_remove(st, "new", &cause), 1);
	assert_int_equal(store_container_add(st, &c, &cause), 0);
	assert_int_equal(store_container_get(st, "new", &n2, &cause), 1);
	assert_string_not_equal(n.uuid, n2.uuid);
	store_container_clear(&a);
	store_container_clear(&b);
	store_container_clear(&n);
	store_container_clear(&n2);
	store_close(st);
}

/* Collects the measurement log entries a listing returns. */
static int
measurement_collect_cb(const struct store_measurement *m, void *arg)
{
	char *buf = arg;
	size_t len = strlen(buf);

	snprintf(buf + len, 256 - len, "%lld:%lld:%s:%s:%s;", m->seq,
	    m->reset_count, m->container, m->version, m->digest);
	return 0;
}

/* Adds an entry's event, kind and name to a list of entries. */
static int
measurement_event_cb(const struct store_measurement *m, void *arg)
{
	char *buf = arg;
	size_t len = strlen(buf);

	snprintf(buf + len, 256 - len, "%lld:%s:%s:%s:%s:%s;", m->seq,
	    m->event, m->container != NULL ? m->container : "-",
	    m->kind != NULL ? m->kind : "-", m->name != NULL ? m->name : "-",
	    m->config_hash != NULL ? "c" : "-");
	return 0;
}

/*
 * Migration 12 keeps the measurement log of version 11 as starts, with
 * its seq counter (a seq dropped before is not given again), and takes
 * installs: an install has a kind and name and no container, guest OS or
 * config hash, a start the other way round (the schema refuses a mix).
 * Proves: CR 3.4 (data kept across a schema upgrade; installs measured).
 */
static void
test_store_migrate_11_to_12_measurement_installs(void **state)
{
	struct fixture *f = *state;
	struct store_measurement m = { 0 };
	struct store *st;
	char *cause = NULL, list[256];
	const char *h = "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef";

	if ((st = store_open_at(f->dir, 11, store_audit_version, &cause)) ==
	    NULL)
		fail_msg("store_open_at(11, %d): %s", store_audit_version,
		    cause);
	store_close(st);
	sql_on_file(f->main_path, "INSERT INTO measurement (time_ms, "
	    "reset_count, container, guestos, version, manifest_hash, "
	    "config_hash, digest, pcr, pcr_value) VALUES (1, 2, 'web', "
	    "'busybox', '1', '0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef', '0123456789abcdef0123456789abcdef0123456789abc"
	    "def0123456789abcdef', '0123456789abcdef0123456789abcdef012345678"
	    "9abcdef0123456789abcdef', 13, '0123456789abcdef0123456789abcdef0"
	    "123456789abcdef0123456789abcdef')");
	sql_on_file(f->main_path, "INSERT INTO measurement (time_ms, "
	    "container, guestos, version, manifest_hash, config_hash, digest) "
	    "SELECT time_ms, container, guestos, version, manifest_hash, "
	    "config_hash, digest FROM measurement");
	sql_on_file(f->main_path, "DELETE FROM measurement WHERE seq = 2");
	st = open_ok(f);
	list[0] = '\0';
	assert_int_equal(store_measurement_list(st, 2, measurement_event_cb,
	    list, &cause), 0);
	assert_string_equal(list, "1:start:web:-:-:c;");

	m.event = "install";
	m.reset_count = 2;
	m.kind = "guestos";
	m.name = "busybox";
	m.version = "1.1";
	m.manifest_hash = m.digest = m.pcr_value = h;
	m.pcr = 13;
	assert_int_equal(store_measurement_add(st, &m, &cause), 0);
	/* seq 2 was given before the migration */
	assert_int_equal(m.seq, 3);
	list[0] = '\0';
	assert_int_equal(store_measurement_list(st, 2, measurement_event_cb,
	    list, &cause), 0);
	assert_string_equal(list, "1:start:web:-:-:c;3:install:-:guestos:"
	    "busybox:-;");
	/* an install with a container, a start without one: refused */
	m.container = "web";
	assert_int_equal(store_measurement_add(st, &m, &cause), -1);
	assert_non_null(strstr(cause, "CHECK constraint failed"));
	free(cause);
	cause = NULL;
	memset(&m, 0, sizeof m);
	m.version = "1";
	m.guestos = "busybox";
	m.manifest_hash = m.config_hash = m.digest = m.pcr_value = h;
	assert_int_equal(store_measurement_add(st, &m, &cause), -1);
	assert_non_null(strstr(cause, "CHECK constraint failed"));
	free(cause);
	store_close(st);
}

/*
 * Migration 6 keeps what version 5 held and adds the device certificate
 * (one, replaced by the next) and the measurement log, listed by the TPM
 * reset it was made in; entries written pending before their extend are
 * listed only once completed, and can be dropped; bad hashes are refused
 * by the schema.
 * Proves: CR 3.4 (data kept across a schema upgrade).
 */
static void
test_store_migrate_5_to_6_device_cert_and_measurements(void **state)
{
	struct fixture *f = *state;
	struct store_device_cert c = { 0 }, got;
	struct store_measurement m = { 0 };
	struct store_container ct;
	struct store *st;
	char *cause = NULL, list[256];
	const char *h = "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef";
	unsigned char der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };

	if ((st = store_open_at(f->dir, 5, store_audit_version, &cause)) ==
	    NULL)
		fail_msg("store_open_at(5, %d): %s", store_audit_version,
		    cause);
	store_close(st);
	sql_on_file(f->main_path, "INSERT INTO container (name, idx, config, "
	    "guestos, state, created_ms, uuid) VALUES ('a', 0, X'7B7D', "
	    "'busybox', 'stopped', 1, 'aa')");
	st = open_ok(f);
	assert_int_equal(store_container_get(st, "a", &ct, &cause), 1);
	store_container_clear(&ct);

	/* the device certificate: none, then one, then replaced, removed */
	assert_int_equal(store_device_cert_get(st, &got, &cause), 0);
	c.der = der;
	c.der_len = sizeof der;
	c.subject = "CN=dev1,O=cml device";
	c.issuer = "CN=devca";
	snprintf(c.fingerprint, sizeof c.fingerprint, "%s", h);
	c.not_before = 100;
	c.not_after = 200;
	assert_int_equal(store_device_cert_set(st, &c, &cause), 0);
	c.subject = "CN=dev2,O=cml device";
	c.not_after = 300;
	assert_int_equal(store_device_cert_set(st, &c, &cause), 0);
	assert_int_equal(store_device_cert_get(st, &got, &cause), 1);
	assert_string_equal(got.subject, "CN=dev2,O=cml device");
	assert_string_equal(got.issuer, "CN=devca");
	assert_string_equal(got.fingerprint, h);
	assert_int_equal(got.not_after, 300);
	assert_int_equal(got.der_len, sizeof der);
	assert_memory_equal(got.der, der, sizeof der);
	assert_true(got.installed_ms > 0);
	store_device_cert_clear(&got);
	assert_int_equal(int_on_file(f->main_path,
	    "SELECT count(*) FROM device_cert"), 1);

	/* the measurement log, by reset count */
	m.reset_count = 3;
	m.container = "a";
	m.guestos = "busybox";
	m.version = "1";
	m.manifest_hash = m.config_hash = m.digest = m.pcr_value = h;
	m.pcr = 15;
	assert_int_equal(store_measurement_add(st, &m, &cause), 0);
	assert_int_equal(m.seq, 1);
	m.version = "2";
	assert_int_equal(store_measurement_add(st, &m, &cause), 0);
	m.reset_count = 4;
	m.container = "b";
	assert_int_equal(store_measurement_add(st, &m, &cause), 0);
	assert_int_equal(m.seq, 3);
	list[0] = '\0';
	assert_int_equal(store_measurement_list(st, 3, measurement_collect_cb,
	    list, &cause), 0);
	assert_string_equal(list, "1:3:a:1:0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef;2:3:a:2:0123456789abcdef"
	    "0123456789abcdef0123456789abcdef0123456789abcdef;");
	list[0] = '\0';
	assert_int_equal(store_measurement_list(st, -1, measurement_collect_cb,
	    list, &cause), 0);
	assert_int_equal(strlen(list), 3 * (strlen("1:3:a:1:;") + 64));

	/* pending entries: written before the extend, completed after */
	m.reset_count = 4;
	m.container = "c";
	m.digest = h;
	assert_int_equal(store_measurement_begin(st, &m, &cause), 0);
	assert_int_equal(m.seq, 4);
	assert_int_equal(store_measurement_begin(st, &m, &cause), 0);
	assert_int_equal(store_measurement_begin(st, &m, &cause), 0);
	assert_int_equal(m.seq, 6);
	{
		long long seqs[4];
		char digests[4][65], last[65];
		size_t n;

		assert_int_equal(store_measurement_pending(st, 6, 4, seqs,
		    digests, &n, &cause), 0);
		assert_int_equal(n, 2);
		assert_int_equal(seqs[0], 4);
		assert_int_equal(seqs[1], 5);
		assert_string_equal(digests[1], h);
		assert_int_equal(store_measurement_pending(st, 7, 1, seqs,
		    digests, &n, &cause), 0);
		assert_int_equal(n, 1);
		assert_int_equal(seqs[0], 6);
		assert_int_equal(store_measurement_last(st, 4, last,
		    sizeof last, &cause), 1);
		assert_string_equal(last, h);
		assert_int_equal(store_measurement_last(st, 9, last,
		    sizeof last, &cause), 0);
	}
	/* pending entries are not listed until completed */
	list[0] = '\0';
	assert_int_equal(store_measurement_list(st, 4, measurement_collect_cb,
	    list, &cause), 0);
	assert_int_equal(strlen(list), strlen("3:4:b:2:;") + 64);
	/* completed: the next seq, after the entries completed before */
	{
		long long seq = 5;

		assert_int_equal(store_measurement_confirm(st, &seq, 4, 13, h,
		    &cause), 1);
		assert_int_equal(seq, 7);
		seq = 5;
		assert_int_equal(store_measurement_confirm(st, &seq, 4, 13, h,
		    &cause), 0);
	}
	assert_int_equal(store_measurement_drop(st, 4, &cause), 1);
	assert_int_equal(store_measurement_drop(st, 7, &cause), 0);
	list[0] = '\0';
	assert_int_equal(store_measurement_list(st, 4, measurement_collect_cb,
	    list, &cause), 0);
	assert_int_equal(strlen(list), 2 * (strlen("3:4:b:2:;") + 64));
	assert_non_null(strstr(list, ";7:4:c:2:"));

	/* pruned to the newest pending entries */
	assert_int_equal(store_measurement_begin(st, &m, &cause), 0);
	assert_int_equal(store_measurement_begin(st, &m, &cause), 0);
	assert_int_equal(store_measurement_prune(st, 2, &cause), 0);
	assert_int_equal(int_on_file(f->main_path, "SELECT count(*) FROM "
	    "measurement WHERE pcr_value IS NULL"), 2);
	assert_int_equal(int_on_file(f->main_path, "SELECT min(seq) FROM "
	    "measurement WHERE pcr_value IS NULL"), 8);

	/* a digest that is no SHA-256 is refused by the schema */
	m.digest = "abcd";
	assert_int_equal(store_measurement_add(st, &m, &cause), -1);
	assert_non_null(strstr(cause, "CHECK constraint failed"));
	free(cause);
	cause = NULL;
	assert_int_equal(store_device_cert_remove(st, &cause), 1);
	assert_int_equal(store_device_cert_remove(st, &cause), 0);
	store_close(st);
}

/*
 * Migration 6 to 7: a container made before it keeps its row, and gets a
 * wrapped key: stored, replaced, read back whole, refused for a container
 * that does not exist or with a check value of the wrong size, removed,
 * and gone with its container.
 * Proves: CR 1.5 (cmld keeps only the wrapped key and its check value, and
 * drops them with the container), CR 3.4 (data kept across the upgrade).
 */
static void
test_store_migrate_6_to_7_container_keys(void **state)
{
	struct fixture *f = *state;
	struct store_container_key k = { 0 }, got;
	struct store_container ct;
	struct store *st;
	unsigned char wrapped[138], other[100];
	char *cause = NULL;

	if ((st = store_open_at(f->dir, 6, store_audit_version, &cause)) ==
	    NULL)
		fail_msg("store_open_at(6, %d): %s", store_audit_version,
		    cause);
	store_close(st);
	sql_on_file(f->main_path, "INSERT INTO container (name, idx, config, "
	    "guestos, state, created_ms, uuid) VALUES ('a', 0, X'7B7D', "
	    "'busybox', 'stopped', 1, 'aa')");
	st = open_ok(f);
	assert_int_equal(store_container_get(st, "a", &ct, &cause), 1);
	store_container_clear(&ct);

	assert_int_equal(store_container_key_get(st, "a", &got, &cause), 0);
	memset(wrapped, 0x01, sizeof wrapped);
	memset(other, 0x02, sizeof other);
	k.container = "a";
	k.token_type = "softtoken";
	k.serial = "0011223344556677";
	k.wrapped = wrapped;
	k.wrapped_len = sizeof wrapped;
	memset(k.kcv, 0xab, sizeof k.kcv);
	assert_int_equal(store_container_key_set(st, &k, &cause), 0);
	/* a new token replaces the key */
	k.token_type = "usbtoken";
	k.serial = "000F:0000A1B2";
	k.wrapped = other;
	k.wrapped_len = sizeof other;
	assert_int_equal(store_container_key_set(st, &k, &cause), 0);
	assert_int_equal(store_container_key_get(st, "a", &got, &cause), 1);
	assert_string_equal(got.container, "a");
	assert_string_equal(got.token_type, "usbtoken");
	assert_string_equal(got.serial, "000F:0000A1B2");
	assert_int_equal(got.wrapped_len, sizeof other);
	assert_memory_equal(got.wrapped, other, sizeof other);
	assert_memory_equal(got.kcv, k.kcv, sizeof k.kcv);
	assert_true(got.created_ms > 0);
	store_container_key_clear(&got);
	assert_null(got.wrapped);

	/* no such container: the foreign key refuses it */
	k.container = "b";
	assert_int_equal(store_container_key_set(st, &k, &cause), -1);
	assert_non_null(strstr(cause, "container 'b'"));
	free(cause);
	cause = NULL;
	/* empty: refused before SQLite sees it */
	k.container = "a";
	k.wrapped_len = 0;
	assert_int_equal(store_container_key_set(st, &k, &cause), -1);
	free(cause);
	cause = NULL;
	/* the schema keeps the type in shape */
	k.wrapped_len = sizeof other;
	k.token_type = "none";
	assert_int_equal(store_container_key_set(st, &k, &cause), -1);
	assert_non_null(strstr(cause, "CHECK constraint failed"));
	free(cause);
	cause = NULL;
	k.token_type = "usbtoken";
	assert_int_equal(int_on_file(f->main_path, "SELECT count(*) FROM "
	    "container_key WHERE length(kcv) = 32 AND token_type = "
	    "'usbtoken'"), 1);

	assert_int_equal(store_container_key_remove(st, "a", &cause), 1);
	assert_int_equal(store_container_key_remove(st, "a", &cause), 0);
	assert_int_equal(store_container_key_get(st, "a", &got, &cause), 0);
	/* gone with its container */
	assert_int_equal(store_container_key_set(st, &k, &cause), 0);
	assert_int_equal(store_container_remove(st, "a", &cause), 1);
	assert_int_equal(store_container_key_get(st, "a", &got, &cause), 0);
	store_close(st);
}

/* Proves: CR 3.4 (data kept across a schema upgrade). */
static void
test_store_migrate_2_with_data_to_3_keeps_data(void **state)
{
	struct fixture *f = *state;
	struct store_anchor a = make_anchor("aa", "CN=root", "owner");
	struct store_guestos g = make_guestos("busybox", "1", 1000, 2), got;
	struct store_container c = make_container("web", 0);
	struct store *st;
	struct anchors an;
	struct containers l;
	char *cause = NULL;
	int mv, av;

	if ((st = store_open_at(f->dir, 2, store_audit_version, &cause)) ==
	    NULL)
		fail_msg("store_open_at(2, %d): %s", store_audit_version,
		    cause);
	assert_int_equal(store_setting_set(st, "device_name", "gw", &cause), 0);
	assert_int_equal(store_anchor_add(st, &a, &cause), 0);
	assert_int_equal(store_guestos_add(st, &g, &cause), 0);
	store_close(st);
	assert_int_equal(int_on_file(f->main_path, "PRAGMA user_version"), 2);
	assert_int_equal(int_on_file(f->main_path, "SELECT count(*) FROM "
	    "sqlite_schema WHERE name = 'container'"), 0);

	st = open_ok(f);
	assert_int_equal(store_versions(st, &mv, &av, &cause), 0);
	assert_int_equal(mv, store_main_version);
	assert_setting(st, "device_name", "gw");
	memset(&an, 0, sizeof an);
	assert_int_equal(store_anchor_list(st, anchors_cb, &an, &cause), 0);
	assert_int_equal(an.n, 1);
	assert_string_equal(an.fingerprint[0], "aa");
	assert_int_equal(store_guestos_get(st, "busybox", "1", &got, &cause),
	    1);
	assert_int_equal(got.installed_ms, 1000);
	assert_int_equal(got.nimages, 2);
	store_guestos_clear(&got);
	memset(&l, 0, sizeof l);
	assert_int_equal(store_container_list(st, containers_cb, &l, &cause),
	    0);
	assert_int_equal(l.n, 0);
	assert_int_equal(store_container_add(st, &c, &cause), 0);
	store_close(st);

	assert_int_equal(int_on_file(f->main_path, "PRAGMA user_version"),
	    store_main_version);
	assert_int_equal(int_on_file(f->main_path,
	    "SELECT count(*) FROM container"), 1);
}

/* Proves: OS 01 (a container's record kept; stopped until started). */
static void
test_store_container_add_then_get_returns_stopped(void **state)
{
	struct fixture *f = *state;
	struct store_container c = make_container("web", 5), got;
	struct store *st;
	char *cause = NULL;

	/* Fields add does not read: a new container has never run. */
	c.state = (char *)"running";
	c.reason = (char *)"stale";
	c.pid = 99;
	c.guestos_version = (char *)"9";
	c.started_ms = 77;
	c.created_ms = 1234;
	st = open_ok(f);
	assert_int_equal(store_container_add(st, &c, &cause), 0);
	assert_null(cause);

	assert_int_equal(store_container_get(st, "web", &got, &cause), 1);
	assert_string_equal(got.name, "web");
	assert_int_equal(got.idx, 5);
	assert_int_equal(got.config_len, sizeof test_config - 1);
	assert_memory_equal(got.config, test_config, got.config_len);
	assert_int_equal(got.config[got.config_len], '\0');
	assert_string_equal(got.signer, "CN=cml test signer,O=cml");
	assert_string_equal(got.guestos, "busybox");
	assert_null(got.guestos_version);
	assert_string_equal(got.state, "stopped");
	assert_null(got.reason);
	assert_int_equal(got.pid, 0);
	assert_int_equal(got.created_ms, 1234);
	assert_int_equal(got.started_ms, 0);
	store_container_clear(&got);
	assert_null(got.name);
	assert_null(got.config);
	assert_int_equal(got.config_len, 0);

	/* Unsigned, created now. */
	c = make_container("db", 6);
	c.signer = NULL;
	assert_int_equal(store_container_add(st, &c, &cause), 0);
	assert_int_equal(store_container_get(st, "db", &got, &cause), 1);
	assert_null(got.signer);
	assert_true(got.created_ms > 1577836800000LL);
	store_container_clear(&got);

	assert_int_equal(store_container_get(st, "absent", &got, &cause), 0);
	assert_null(got.name);
	assert_int_equal(store_container_get(st, "web'--", &got, &cause), 0);
	assert_null(cause);
	store_close(st);

	/* Kept across a reopen. */
	st = open_ok(f);
	assert_int_equal(store_container_get(st, "web", &got, &cause), 1);
	assert_int_equal(got.idx, 5);
	store_container_clear(&got);
	store_close(st);
}

/* Proves: CR 3.4 (a container's record is not replaced). */
static void
test_store_container_add_duplicate_returns_one_unchanged(void **state)
{
	struct fixture *f = *state;
	struct store_container a = make_container("web", 1);
	struct store_container b = make_container("web", 2), got;
	struct store *st;
	char *cause = NULL;

	b.guestos = (char *)"alpine";
	st = open_ok(f);
	assert_int_equal(store_container_add(st, &a, &cause), 0);
	assert_int_equal(store_container_add(st, &b, &cause), 1);
	assert_null(cause);
	assert_int_equal(store_container_get(st, "web", &got, &cause), 1);
	assert_int_equal(got.idx, 1);
	assert_string_equal(got.guestos, "busybox");
	store_container_clear(&got);
	store_close(st);
	assert_int_equal(int_on_file(f->main_path,
	    "SELECT count(*) FROM container"), 1);
}

/* Proves: TSF.ISOL (no two containers share a user namespace index). */
static void
test_store_container_add_taken_index_fails(void **state)
{
	struct fixture *f = *state;
	struct store_container a = make_container("web", 3);
	struct store_container b = make_container("db", 3), got;
	struct store *st;
	char *cause = NULL;

	st = open_ok(f);
	assert_int_equal(store_container_add(st, &a, &cause), 0);
	assert_int_equal(store_container_add(st, &b, &cause), -1);
	assert_non_null(strstr(cause, "cannot add container db to "));
	assert_non_null(strstr(cause, f->main_path));
	assert_non_null(strstr(cause, "user namespace index 3 is used by "
	    "another container"));
	free(cause);
	cause = NULL;
	assert_int_equal(store_container_get(st, "db", &got, &cause), 0);
	store_close(st);
}

/* Proves: CR 3.4 (invalid rows refused; also by the schema). */
static void
test_store_container_add_bad_input_refused(void **state)
{
	struct fixture *f = *state;
	struct store_container c = make_container("web", 0);
	struct store *st;
	sqlite3 *db;
	char *cause = NULL;

	st = open_ok(f);
	c.config_len = 0;
	assert_int_equal(store_container_add(st, &c, &cause), -1);
	assert_non_null(strstr(cause, "cannot add container web to "));
	assert_non_null(strstr(cause, ": no config"));
	free(cause);
	cause = NULL;
	c = make_container("web", -1);
	assert_int_equal(store_container_add(st, &c, &cause), -1);
	assert_non_null(strstr(cause, "invalid user namespace index -1"));
	free(cause);
	cause = NULL;
	c = make_container("web", 0);
	c.guestos = NULL;
	assert_int_equal(store_container_add(st, &c, &cause), -1);
	assert_non_null(strstr(cause, "NOT NULL constraint failed"));
	free(cause);
	store_close(st);
	assert_int_equal(int_on_file(f->main_path,
	    "SELECT count(*) FROM container"), 0);

	/* The table refuses the same, and a bad state or type. */
	assert_int_equal(sqlite3_open(f->main_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO container (name, idx, "
	    "config, guestos, state, created_ms) VALUES ('a', 0, x'7b7d', "
	    "'g', 'paused', 1)", NULL, NULL, NULL), SQLITE_CONSTRAINT);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO container (name, idx, "
	    "config, guestos, state, created_ms) VALUES ('a', -1, x'7b7d', "
	    "'g', 'stopped', 1)", NULL, NULL, NULL), SQLITE_CONSTRAINT);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO container (name, idx, "
	    "config, guestos, state, created_ms) VALUES ('a', 0, x'', "
	    "'g', 'stopped', 1)", NULL, NULL, NULL), SQLITE_CONSTRAINT);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO container (name, idx, "
	    "config, guestos, state, created_ms) VALUES ('a', 0, x'7b7d', "
	    "'g', 'stopped', 'now')", NULL, NULL, NULL), SQLITE_CONSTRAINT);
	/* And the defaults are those of a container that never ran. */
	assert_int_equal(sqlite3_exec(db, "INSERT INTO container (name, idx, "
	    "config, guestos, state, created_ms) VALUES ('a', 0, x'7b7d', "
	    "'g', 'stopped', 1)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(int_on_file(f->main_path,
	    "SELECT pid = 0 AND started_ms = 0 FROM container"), 1);
}

/* Proves: OS 02 (c0 first). */
static void
test_store_container_list_orders_c0_first_then_by_name(void **state)
{
	struct fixture *f = *state;
	const char *const names[] = { "web", "c0", "a1", "c1", "b" };
	struct store_container c;
	struct containers l;
	struct store *st;
	char *cause = NULL;
	size_t i;

	st = open_ok(f);
	memset(&l, 0, sizeof l);
	assert_int_equal(store_container_list(st, containers_cb, &l, &cause),
	    0);
	assert_int_equal(l.n, 0);
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		c = make_container(names[i], (long long)i);
		assert_int_equal(store_container_add(st, &c, &cause), 0);
	}
	memset(&l, 0, sizeof l);
	assert_int_equal(store_container_list(st, containers_cb, &l, &cause),
	    0);
	assert_int_equal(l.n, 5);
	assert_string_equal(l.name[0], "c0");
	assert_int_equal(l.idx[0], 1);
	assert_string_equal(l.name[1], "a1");
	assert_string_equal(l.name[2], "b");
	assert_string_equal(l.name[3], "c1");
	assert_string_equal(l.name[4], "web");

	/* Without c0, plain name order. */
	assert_int_equal(store_container_remove(st, "c0", &cause), 1);
	memset(&l, 0, sizeof l);
	assert_int_equal(store_container_list(st, containers_cb, &l, &cause),
	    0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.name[0], "a1");
	assert_string_equal(l.name[3], "web");
	store_close(st);
}

/* Proves: none (a listing callback may write). */
static void
test_store_container_list_callback_may_write_and_stop(void **state)
{
	struct fixture *f = *state;
	struct store_container a = make_container("a", 0);
	struct store_container b = make_container("b", 1);
	struct containers l;
	struct store *st;
	char *cause = NULL;

	st = open_ok(f);
	assert_int_equal(store_container_add(st, &a, &cause), 0);
	assert_int_equal(store_container_add(st, &b, &cause), 0);
	memset(&l, 0, sizeof l);
	l.st = st;
	l.stop_value = 7;
	assert_int_equal(store_container_list(st, containers_cb, &l, &cause),
	    7);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.name[0], "a");
	memset(&l, 0, sizeof l);
	assert_int_equal(store_container_list(st, containers_cb, &l, &cause),
	    0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.name[0], "b");
	store_close(st);
}

/* Proves: OS 01 (a container's state and the reason of its end kept). */
static void
test_store_container_set_state_with_and_without_version(void **state)
{
	struct fixture *f = *state;
	struct store_container c = make_container("web", 0), got;
	struct store *st;
	long long started;
	char *cause = NULL;

	st = open_ok(f);
	assert_int_equal(store_container_add(st, &c, &cause), 0);

	/* Without a version: neither version nor start time change. */
	assert_int_equal(store_container_set_state(st, "web", "starting", NULL,
	    0, NULL, &cause), 1);
	assert_int_equal(store_container_get(st, "web", &got, &cause), 1);
	assert_string_equal(got.state, "starting");
	assert_null(got.reason);
	assert_null(got.guestos_version);
	assert_int_equal(got.started_ms, 0);
	store_container_clear(&got);

	/* With one: both set, the start time now. */
	assert_int_equal(store_container_set_state(st, "web", "running", NULL,
	    4242, "1.36.1", &cause), 1);
	assert_int_equal(store_container_get(st, "web", &got, &cause), 1);
	assert_string_equal(got.state, "running");
	assert_int_equal(got.pid, 4242);
	assert_string_equal(got.guestos_version, "1.36.1");
	assert_true(got.started_ms > 1577836800000LL);
	assert_true(got.started_ms >= got.created_ms);
	started = got.started_ms;
	store_container_clear(&got);

	/* Failing keeps what was last started; the reason is stored. */
	assert_int_equal(store_container_set_state(st, "web", "failed",
	    "init exited with status 1", 0, NULL, &cause), 1);
	assert_int_equal(store_container_get(st, "web", &got, &cause), 1);
	assert_string_equal(got.state, "failed");
	assert_string_equal(got.reason, "init exited with status 1");
	assert_int_equal(got.pid, 0);
	assert_string_equal(got.guestos_version, "1.36.1");
	assert_int_equal(got.started_ms, started);
	store_container_clear(&got);

	/* A NULL reason clears it. */
	assert_int_equal(store_container_set_state(st, "web", "stopped", NULL,
	    0, NULL, &cause), 1);
	assert_int_equal(store_container_get(st, "web", &got, &cause), 1);
	assert_string_equal(got.state, "stopped");
	assert_null(got.reason);
	store_container_clear(&got);

	assert_int_equal(store_container_set_state(st, "absent", "running",
	    NULL, 1, "1", &cause), 0);
	assert_null(cause);
	store_close(st);
}

/* Proves: none (container states checked). */
static void
test_store_container_set_state_invalid_refused(void **state)
{
	struct fixture *f = *state;
	struct store_container c = make_container("web", 0), got;
	struct store *st;
	char *cause = NULL;

	st = open_ok(f);
	assert_int_equal(store_container_add(st, &c, &cause), 0);
	assert_int_equal(store_container_set_state(st, "web", "paused", "x",
	    1, "2", &cause), -1);
	assert_string_equal(cause, "invalid container state 'paused': use "
	    "stopped, starting, running, stopping, frozen, failed or locked");
	free(cause);
	cause = NULL;
	/* a container waiting for its token's PIN (schema version 8) */
	c.name = "lk";
	c.idx = 1;
	assert_int_equal(store_container_add(st, &c, &cause), 0);
	assert_int_equal(store_container_set_state(st, "lk", "locked",
	    "waiting for the PIN", 0, NULL, &cause), 1);
	c.name = "web";
	assert_int_equal(store_container_set_state(st, "web", NULL, NULL, 0,
	    NULL, &cause), -1);
	assert_non_null(strstr(cause, "invalid container state ''"));
	free(cause);
	cause = NULL;
	assert_int_equal(store_container_get(st, "web", &got, &cause), 1);
	assert_string_equal(got.state, "stopped");
	assert_null(got.reason);
	assert_null(got.guestos_version);
	assert_int_equal(got.pid, 0);
	store_container_clear(&got);
	store_close(st);
}

/* Proves: none (removing a record). */
static void
test_store_container_remove_returns_one_then_zero(void **state)
{
	struct fixture *f = *state;
	struct store_container a = make_container("web", 0);
	struct store_container b = make_container("db", 1), got;
	struct store *st;
	char *cause = NULL;

	st = open_ok(f);
	assert_int_equal(store_container_add(st, &a, &cause), 0);
	assert_int_equal(store_container_add(st, &b, &cause), 0);
	assert_int_equal(store_container_remove(st, "web", &cause), 1);
	assert_int_equal(store_container_remove(st, "web", &cause), 0);
	assert_int_equal(store_container_remove(st, "absent", &cause), 0);
	assert_null(cause);
	assert_int_equal(store_container_get(st, "web", &got, &cause), 0);
	assert_int_equal(store_container_get(st, "db", &got, &cause), 1);
	store_container_clear(&got);
	/* The name can be used again. */
	assert_int_equal(store_container_add(st, &a, &cause), 0);
	store_close(st);
}

/* Proves: none (index allocation). */
static void
test_store_container_free_index_reuses_gaps(void **state)
{
	struct fixture *f = *state;
	const long long used[] = { 0, 1, 3, 4 };
	const char *const names[] = { "a", "b", "c", "d" };
	struct store_container c;
	struct store *st;
	long long idx = -1;
	char *cause = NULL;
	size_t i;

	st = open_ok(f);
	assert_int_equal(store_container_free_index(st, &idx, &cause), 0);
	assert_int_equal(idx, 0);
	for (i = 0; i < sizeof used / sizeof used[0]; i++) {
		c = make_container(names[i], used[i]);
		assert_int_equal(store_container_add(st, &c, &cause), 0);
	}
	assert_int_equal(store_container_free_index(st, &idx, &cause), 0);
	assert_int_equal(idx, 2);
	c = make_container("e", 2);
	assert_int_equal(store_container_add(st, &c, &cause), 0);
	assert_int_equal(store_container_free_index(st, &idx, &cause), 0);
	assert_int_equal(idx, 5);
	/* Freed indexes are reused, lowest first. */
	assert_int_equal(store_container_remove(st, "c", &cause), 1);
	assert_int_equal(store_container_remove(st, "b", &cause), 1);
	assert_int_equal(store_container_free_index(st, &idx, &cause), 0);
	assert_int_equal(idx, 1);
	assert_int_equal(store_container_remove(st, "a", &cause), 1);
	assert_int_equal(store_container_free_index(st, &idx, &cause), 0);
	assert_int_equal(idx, 0);
	/* Only high indexes used: 0 is free. */
	c = make_container("f", 1000);
	assert_int_equal(store_container_add(st, &c, &cause), 0);
	assert_int_equal(store_container_free_index(st, &idx, &cause), 0);
	assert_int_equal(idx, 0);
	assert_null(cause);
	store_close(st);
}

/* Asks store_container_using_guestos; returns the name found, or NULL. */
static char *
using_guestos(struct store *st, const char *guestos, const char *version,
    int want)
{
	char *name = NULL, *cause = NULL;

	assert_int_equal(store_container_using_guestos(st, guestos, version,
	    &name, &cause), want);
	assert_null(cause);
	return name;
}

/* Proves: OS 01 (the containers that need a guest OS are found). */
static void
test_store_container_using_guestos_config_or_running_version(void **state)
{
	struct fixture *f = *state;
	const char *const names[] = { "web", "db", "c0", "other" };
	struct store_container c;
	struct store *st;
	char *cause = NULL, *name;
	size_t i;

	st = open_ok(f);
	assert_null(using_guestos(st, "busybox", NULL, 0));
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		c = make_container(names[i], (long long)i);
		if (strcmp(names[i], "other") == 0)
			c.guestos = (char *)"debian";
		assert_int_equal(store_container_add(st, &c, &cause), 0);
	}
	/* Any version: every container configured for it, c0 first. */
	name = using_guestos(st, "busybox", NULL, 1);
	assert_string_equal(name, "c0");
	free(name);
	name = using_guestos(st, "debian", NULL, 1);
	assert_string_equal(name, "other");
	free(name);
	assert_null(using_guestos(st, "alpine", NULL, 0));
	assert_null(using_guestos(st, "busybox'--", NULL, 0));

	/* One version: only a container that starts or runs on it. */
	assert_null(using_guestos(st, "busybox", "1.0", 0));
	assert_int_equal(store_container_set_state(st, "web", "starting", NULL,
	    0, "1.0", &cause), 1);
	name = using_guestos(st, "busybox", "1.0", 1);
	assert_string_equal(name, "web");
	free(name);
	assert_null(using_guestos(st, "busybox", "2.0", 0));
	assert_null(using_guestos(st, "debian", "1.0", 0));
	/* Running, stopping and frozen count; the version sticks. */
	assert_int_equal(store_container_set_state(st, "db", "running", NULL,
	    42, "1.0", &cause), 1);
	assert_int_equal(store_container_set_state(st, "web", "stopping", NULL,
	    42, NULL, &cause), 1);
	name = using_guestos(st, "busybox", "1.0", 1);
	assert_string_equal(name, "db");
	free(name);
	assert_int_equal(store_container_set_state(st, "db", "stopped", NULL,
	    0, NULL, &cause), 1);
	name = using_guestos(st, "busybox", "1.0", 1);
	assert_string_equal(name, "web");
	free(name);
	assert_int_equal(store_container_set_state(st, "web", "frozen", NULL,
	    42, NULL, &cause), 1);
	name = using_guestos(st, "busybox", "1.0", 1);
	assert_string_equal(name, "web");
	free(name);
	/* Stopped and failed containers on that version do not. */
	assert_int_equal(store_container_set_state(st, "web", "failed", "x", 0,
	    NULL, &cause), 1);
	assert_null(using_guestos(st, "busybox", "1.0", 0));
	/* Configured for it they still are. */
	name = using_guestos(st, "busybox", NULL, 1);
	assert_string_equal(name, "c0");
	free(name);
	assert_null(cause);
	store_close(st);
}

/* --- deleting a wrapped key so that it is gone from disk ----------------- */

/* Returns 1 when the file at path holds bytes b (a missing file: 0). */
static int
file_has(const char *path, const unsigned char *b, size_t len)
{
	unsigned char *buf;
	size_t n;
	int found;

	if (access(path, F_OK) == -1)
		return 0;
	buf = test_read_all(path, &n);
	found = memmem(buf, n, b, len) != NULL;
	free(buf);
	return found;
}

/* Returns the size of the file at path, 0 when it does not exist. */
static long long
file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == -1 ? 0 : (long long)sb.st_size;
}

/* Fills a wrapped key that no page of SQLite's own holds by chance. */
static void
fill_wrapped(unsigned char *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = (unsigned char)(i * 7 + 13);
}

/* Adds container name with wrapped key w as its key. */
static void
add_with_key(struct store *st, const char *name, long long idx,
    unsigned char *w, size_t wlen)
{
	struct store_container c = make_container(name, idx);
	struct store_container_key k = { 0 };
	char *cause = NULL;

	assert_int_equal(store_container_add(st, &c, &cause), 0);
	k.container = (char *)name;
	k.token_type = (char *)"softtoken";
	k.serial = (char *)"0011223344556677";
	k.wrapped = w;
	k.wrapped_len = wlen;
	memset(k.kcv, 0xab, sizeof k.kcv);
	if (store_container_key_set(st, &k, &cause) != 0)
		fail_msg("store_container_key_set: %s", cause);
}

/*
 * A wrapped key wiped: deleted, the log checkpointed and truncated, and
 * its bytes, found in the files before, found in neither after.
 * Proves: none (container wipe's key deletion, verified).
 */
static void
test_store_container_key_wipe_deleted_and_verified_gone(void **state)
{
	struct fixture *f = *state;
	struct store_container_key got;
	struct store_container c;
	struct store *st;
	unsigned char w[178];
	char wal[PATH_MAX + 8], want[256], *report = NULL, *cause = NULL;

	snprintf(wal, sizeof wal, "%s-wal", f->main_path);
	fill_wrapped(w, sizeof w);
	st = open_ok(f);
	add_with_key(st, "a", 0, w, sizeof w);
	/* The scan below can see the key: it is on disk now. */
	assert_true(file_has(f->main_path, w, sizeof w) ||
	    file_has(wal, w, sizeof w));

	assert_int_equal(store_container_key_wipe(st, "a", &report, &cause),
	    1);
	assert_null(cause);
	snprintf(want, sizeof want, "wrapped key (178 bytes) deleted; not "
	    "found in cml.db (%lld bytes) or its WAL (0 bytes): verified",
	    file_size(f->main_path));
	assert_string_equal(report, want);
	free(report);
	assert_false(file_has(f->main_path, w, sizeof w));
	assert_false(file_has(wal, w, sizeof w));
	assert_int_equal(file_size(wal), 0);

	/* The key is gone, its container stays; a second wipe finds none. */
	assert_int_equal(store_container_key_get(st, "a", &got, &cause), 0);
	assert_int_equal(store_container_get(st, "a", &c, &cause), 1);
	store_container_clear(&c);
	report = (char *)"sentinel";
	assert_int_equal(store_container_key_wipe(st, "a", &report, &cause),
	    0);
	assert_null(report);
	assert_null(cause);
	store_close(st);
	assert_false(file_has(f->main_path, w, sizeof w));
}

/*
 * Bytes that are still stored are found: another container holds the
 * same wrapped bytes, so the wipe of one cannot be verified.
 * Proves: none (the scan finds a key that remains).
 */
static void
test_store_container_key_wipe_bytes_still_stored_fails(void **state)
{
	struct fixture *f = *state;
	struct store_container_key got;
	struct store *st;
	unsigned char w[178];
	char *report = NULL, *cause = NULL;

	fill_wrapped(w, sizeof w);
	st = open_ok(f);
	add_with_key(st, "a", 0, w, sizeof w);
	add_with_key(st, "b", 1, w, sizeof w);
	assert_int_equal(store_container_key_wipe(st, "a", &report, &cause),
	    -1);
	assert_null(report);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "its bytes are still in "));
	assert_non_null(strstr(cause, f->main_path));
	free(cause);
	cause = NULL;
	/* a's is deleted, b's untouched. */
	assert_int_equal(store_container_key_get(st, "a", &got, &cause), 0);
	assert_int_equal(store_container_key_get(st, "b", &got, &cause), 1);
	assert_memory_equal(got.wrapped, w, sizeof w);
	store_container_key_clear(&got);
	store_close(st);
}

/*
 * A reader on another connection blocks the checkpoint: the wipe fails
 * and says the key may remain in the log, where it indeed still is.
 * Proves: none (no success is claimed that was not verified).
 */
static void
test_store_container_key_wipe_blocked_checkpoint_fails(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	sqlite3 *db;
	sqlite3_stmt *stmt;
	unsigned char w[178];
	char wal[PATH_MAX + 8], *report = NULL, *cause = NULL;

	snprintf(wal, sizeof wal, "%s-wal", f->main_path);
	fill_wrapped(w, sizeof w);
	st = open_ok(f);
	add_with_key(st, "a", 0, w, sizeof w);

	/* A read transaction left open on a connection of its own. */
	assert_int_equal(sqlite3_open_v2(f->main_path, &db,
	    SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT name FROM container",
	    -1, &stmt, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);

	assert_int_equal(store_container_key_wipe(st, "a", &report, &cause),
	    -1);
	assert_null(report);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "could not be checkpointed"));
	assert_non_null(strstr(cause, "the key may remain in"));
	free(cause);
	/* Where it is: claiming success would have been wrong. */
	assert_true(file_has(wal, w, sizeof w) ||
	    file_has(f->main_path, w, sizeof w));

	sqlite3_finalize(stmt);
	sqlite3_close(db);
	store_close(st);
}

/*
 * Without secure_delete a deleted key stays in the file even after the
 * checkpoint: what the store's pragma prevents, and what the scan sees.
 * Proves: none (the pragma is needed; the scan can fail).
 */
static void
test_store_container_key_without_secure_delete_stays_on_disk(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	unsigned char w[178];

	fill_wrapped(w, sizeof w);
	st = open_ok(f);
	add_with_key(st, "a", 0, w, sizeof w);
	store_close(st);
	sql_on_file(f->main_path, "PRAGMA secure_delete = OFF; "
	    "DELETE FROM container_key; PRAGMA wal_checkpoint(TRUNCATE)");
	assert_int_equal(int_on_file(f->main_path, "SELECT count(*) FROM "
	    "container_key"), 0);
	assert_true(file_has(f->main_path, w, sizeof w));
}

/* Collects the steps store_provision_list gives, as "name:state" words. */
static int
provision_collect(const struct store_provision_step *s, void *arg)
{
	char *buf = arg;
	size_t len = strlen(buf);

	snprintf(buf + len, 256 - len, "%s%s:%s", len > 0 ? " " : "",
	    s->name, s->state);
	return strcmp(s->name, "token") == 0 ? 7 : 0;
}

/*
 * Steps recorded in any order are listed in step order, each with what it
 * was given (NULL stays NULL), and are kept across a reopen; a step not
 * tried has no row; a callback's value stops the list.
 * Proves: CR 1.2 (the provisioning record of the device's identity steps
 * is kept in the store), CR 7.6 (the state of each step, machine-readable).
 */
static void
test_store_provision_set_get_list_in_step_order(void **state)
{
	struct fixture *f = *state;
	struct store_provision_step s, got;
	struct store *st;
	char *cause = NULL, list[256] = "";

	st = open_ok(f);
	memset(&s, 0, sizeof s);
	s.name = "token";
	s.state = "done";
	s.time_ms = 1767225600123LL;
	s.summary = "softtoken of c0";
	assert_int_equal(store_provision_set(st, &s, &cause), 1);
	s.name = "check";
	s.state = "failed";
	s.time_ms = 0;
	s.summary = NULL;
	s.error = "scd is not up";
	assert_int_equal(store_provision_set(st, &s, &cause), 1);
	s.name = "identity";
	s.state = "done";
	s.error = NULL;
	s.summary = "CN=x";
	s.data = "-----BEGIN CERTIFICATE REQUEST-----\n";
	assert_int_equal(store_provision_set(st, &s, &cause), 1);
	store_close(st);

	st = open_ok(f);
	assert_int_equal(store_provision_get(st, "identity", &got, &cause), 1);
	assert_string_equal(got.name, "identity");
	assert_string_equal(got.state, "done");
	assert_string_equal(got.summary, "CN=x");
	assert_null(got.error);
	assert_string_equal(got.data, "-----BEGIN CERTIFICATE REQUEST-----\n");
	store_provision_step_clear(&got);
	assert_null(got.name);
	assert_int_equal(store_provision_get(st, "check", &got, &cause), 1);
	assert_string_equal(got.state, "failed");
	assert_string_equal(got.error, "scd is not up");
	assert_null(got.summary);
	assert_null(got.data);
	/* time 0: stamped with the time of the call */
	assert_true(got.time_ms > 1767225600123LL);
	store_provision_step_clear(&got);
	assert_int_equal(store_provision_get(st, "token", &got, &cause), 1);
	assert_int_equal(got.time_ms, 1767225600123LL);
	store_provision_step_clear(&got);
	assert_int_equal(store_provision_get(st, "lock", &got, &cause), 0);
	assert_null(got.name);

	/* "token" stops the list with its value, after the steps before it */
	assert_int_equal(store_provision_list(st, provision_collect, list,
	    &cause), 7);
	assert_string_equal(list, "check:failed identity:done token:done");
	s.name = "lock";
	s.state = "done";
	assert_int_equal(store_provision_set(st, &s, &cause), 1);
	s.name = "anchors";
	assert_int_equal(store_provision_set(st, &s, &cause), 1);
	list[0] = '\0';
	assert_int_equal(store_provision_list(st, provision_collect, list,
	    &cause), 7);
	assert_string_equal(list,
	    "check:failed identity:done anchors:done token:done");
	store_close(st);
	assert_int_equal(int_on_file(f->main_path,
	    "SELECT count(*) FROM provision_step"), 5);
}

/*
 * A step done stays done: a failure recorded after it (a repeated call
 * refused) changes nothing; a failed step may be failed again or done,
 * and a done step done again takes the new summary.
 * Proves: CR 1.2 (a provisioning step done is not undone by a later
 * attempt: the record of the device's identity steps stays true).
 */
static void
test_store_provision_done_never_replaced_by_failed(void **state)
{
	struct fixture *f = *state;
	struct store_provision_step s, got;
	struct store *st;
	char *cause = NULL;

	st = open_ok(f);
	memset(&s, 0, sizeof s);
	s.name = "certificate";
	s.state = "failed";
	s.error = "the certificate is not valid yet";
	s.time_ms = 10;
	assert_int_equal(store_provision_set(st, &s, &cause), 1);
	s.error = "the certificate certifies another key";
	s.time_ms = 20;
	assert_int_equal(store_provision_set(st, &s, &cause), 1);
	assert_int_equal(store_provision_get(st, "certificate", &got, &cause),
	    1);
	assert_string_equal(got.error, "the certificate certifies another key");
	assert_int_equal(got.time_ms, 20);
	store_provision_step_clear(&got);

	s.state = "done";
	s.error = NULL;
	s.summary = "CN=dev";
	s.data = "abc";
	s.time_ms = 30;
	assert_int_equal(store_provision_set(st, &s, &cause), 1);
	s.state = "failed";
	s.summary = NULL;
	s.data = NULL;
	s.error = "another certificate is installed";
	s.time_ms = 40;
	assert_int_equal(store_provision_set(st, &s, &cause), 0);
	assert_int_equal(store_provision_get(st, "certificate", &got, &cause),
	    1);
	assert_string_equal(got.state, "done");
	assert_string_equal(got.summary, "CN=dev");
	assert_string_equal(got.data, "abc");
	assert_null(got.error);
	assert_int_equal(got.time_ms, 30);
	store_provision_step_clear(&got);

	s.state = "done";
	s.error = NULL;
	s.summary = "CN=dev, again";
	s.time_ms = 50;
	assert_int_equal(store_provision_set(st, &s, &cause), 1);
	assert_int_equal(store_provision_get(st, "certificate", &got, &cause),
	    1);
	assert_string_equal(got.summary, "CN=dev, again");
	assert_int_equal(got.time_ms, 50);
	store_provision_step_clear(&got);
	store_close(st);
}

/*
 * Names that are no step and states other than done and failed are
 * refused in words, and nothing is stored; the table refuses the same.
 * Proves: none (input checks of the store).
 */
static void
test_store_provision_bad_name_or_state_refused(void **state)
{
	struct fixture *f = *state;
	struct store_provision_step s, got;
	struct store *st;
	sqlite3 *db;
	char *cause = NULL;

	st = open_ok(f);
	memset(&s, 0, sizeof s);
	s.name = "wipe";
	s.state = "done";
	assert_int_equal(store_provision_set(st, &s, &cause), -1);
	assert_string_equal(cause, "there is no provisioning step 'wipe'");
	free(cause);
	cause = NULL;
	s.name = NULL;
	assert_int_equal(store_provision_set(st, &s, &cause), -1);
	assert_string_equal(cause, "there is no provisioning step ''");
	free(cause);
	cause = NULL;
	s.name = "lock";
	s.state = "pending";
	assert_int_equal(store_provision_set(st, &s, &cause), -1);
	assert_string_equal(cause, "invalid state 'pending' of provisioning "
	    "step 'lock': use done or failed");
	free(cause);
	cause = NULL;
	assert_int_equal(store_provision_get(st, "Lock", &got, &cause), -1);
	assert_string_equal(cause, "there is no provisioning step 'Lock'");
	free(cause);
	assert_int_equal(store_provision_index("check"), 0);
	assert_int_equal(store_provision_index("lock"), 6);
	assert_int_equal(store_provision_index(NULL), -1);
	store_close(st);
	assert_int_equal(int_on_file(f->main_path,
	    "SELECT count(*) FROM provision_step"), 0);

	assert_int_equal(sqlite3_open(f->main_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO provision_step (name, "
	    "state, time_ms) VALUES ('wipe', 'done', 1)", NULL, NULL, NULL),
	    SQLITE_CONSTRAINT);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO provision_step (name, "
	    "state, time_ms) VALUES ('lock', 'pending', 1)", NULL, NULL,
	    NULL), SQLITE_CONSTRAINT);
	sqlite3_close(db);
}

/*
 * Migration 9 keeps the anchors of schema 8 and lets kind 'device' in:
 * the device CA, stored and listed like the others.
 * Proves: NDR 3.12 (anchors kept across a schema upgrade), CR 1.8 (the
 * device CA is kept as an anchor of its own kind).
 */
static void
test_store_migrate_8_to_9_device_anchors(void **state)
{
	struct fixture *f = *state;
	struct store_anchor a = make_anchor("f2", "CN=devca", "device");
	struct store *st;
	char *cause = NULL;

	if ((st = store_open_at(f->dir, 8, store_audit_version, &cause)) ==
	    NULL)
		fail_msg("store_open_at(8, %d): %s", store_audit_version,
		    cause);
	store_close(st);
	sql_on_file(f->main_path, "INSERT INTO trust_anchor VALUES ('f1', "
	    "'CN=supplier', 'EC P-384', 'supplier', 5, 6, x'3000')");
	st = open_ok(f);
	assert_int_equal(store_anchor_add(st, &a, &cause), 0);
	store_close(st);
	assert_int_equal(int_on_file(f->main_path, "SELECT count(*) FROM "
	    "trust_anchor WHERE fingerprint = 'f1' AND kind = 'supplier' AND "
	    "not_after = 5 AND added_ms = 6 AND der = x'3000'"), 1);
	assert_int_equal(int_on_file(f->main_path, "SELECT count(*) FROM "
	    "trust_anchor WHERE fingerprint = 'f2' AND kind = 'device'"), 1);
}

/*
 * Migration 10 keeps the device certificate of schema 9 with an empty
 * chain; a chain set is read back as stored, and replaced (or emptied)
 * with the certificate; a chain beyond the bound is refused by the store
 * and by the schema, nothing changed.
 * Proves: CR 1.8 (the device certificate is kept with the CA
 * certificates of its path, so that a verifier needs only the root),
 * CR 3.4 (the certificate kept across a schema upgrade).
 */
static void
test_store_migrate_9_to_10_device_cert_chain(void **state)
{
	struct fixture *f = *state;
	struct store_device_cert c = { 0 }, got;
	struct store *st;
	sqlite3 *db;
	char *cause = NULL;
	const char *h = "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef";
	unsigned char der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	unsigned char chain[] = { 0x30, 0x03, 0x02, 0x01, 0x02, 0x30, 0x03,
	    0x02, 0x01, 0x03 };
	unsigned char *big;

	if ((st = store_open_at(f->dir, 9, store_audit_version, &cause)) ==
	    NULL)
		fail_msg("store_open_at(9, %d): %s", store_audit_version,
		    cause);
	store_close(st);
	sql_on_file(f->main_path, "INSERT INTO device_cert (id, der, subject, "
	    "issuer, fingerprint, not_before, not_after, installed_ms) VALUES "
	    "(1, x'3003020101', 'CN=dev', 'CN=devca', '0123456789abcdef01234"
	    "56789abcdef0123456789abcdef0123456789abcdef', 1, 2, 3)");
	st = open_ok(f);
	assert_int_equal(int_on_file(f->main_path, "PRAGMA user_version"),
	    store_main_version);

	/* the old certificate: all kept, no chain */
	assert_int_equal(store_device_cert_get(st, &got, &cause), 1);
	assert_string_equal(got.subject, "CN=dev");
	assert_int_equal(got.der_len, sizeof der);
	assert_memory_equal(got.der, der, sizeof der);
	assert_int_equal(got.installed_ms, 3);
	assert_null(got.chain);
	assert_int_equal(got.chain_len, 0);
	store_device_cert_clear(&got);
	assert_int_equal(int_on_file(f->main_path, "SELECT count(*) FROM "
	    "device_cert WHERE chain = x''"), 1);

	/* a chain: read back byte for byte */
	c.der = der;
	c.der_len = sizeof der;
	c.subject = "CN=dev2";
	c.issuer = "CN=devca";
	snprintf(c.fingerprint, sizeof c.fingerprint, "%s", h);
	c.chain = chain;
	c.chain_len = sizeof chain;
	assert_int_equal(store_device_cert_set(st, &c, &cause), 0);
	assert_int_equal(store_device_cert_get(st, &got, &cause), 1);
	assert_string_equal(got.subject, "CN=dev2");
	assert_int_equal(got.chain_len, sizeof chain);
	assert_memory_equal(got.chain, chain, sizeof chain);
	store_device_cert_clear(&got);
	assert_null(got.chain);
	assert_int_equal(int_on_file(f->main_path, "SELECT count(*) FROM "
	    "device_cert WHERE chain = x'30030201023003020103'"), 1);

	/* too long: refused, the chain before kept */
	big = xcalloc(1, STORE_DEVICE_CHAIN_MAX + 1);
	c.chain = big;
	c.chain_len = STORE_DEVICE_CHAIN_MAX + 1;
	c.subject = "CN=dev3";
	assert_int_equal(store_device_cert_set(st, &c, &cause), -1);
	assert_string_equal(cause, "cannot store the device certificate: "
	    "its chain of 65537 bytes is more than 65536");
	free(cause);
	cause = NULL;
	free(big);
	assert_int_equal(store_device_cert_get(st, &got, &cause), 1);
	assert_string_equal(got.subject, "CN=dev2");
	assert_int_equal(got.chain_len, sizeof chain);
	store_device_cert_clear(&got);

	/* another certificate without a chain: the chain goes with it */
	c.chain = NULL;
	c.chain_len = 0;
	assert_int_equal(store_device_cert_set(st, &c, &cause), 0);
	assert_int_equal(store_device_cert_get(st, &got, &cause), 1);
	assert_string_equal(got.subject, "CN=dev3");
	assert_null(got.chain);
	assert_int_equal(got.chain_len, 0);
	store_device_cert_clear(&got);
	store_close(st);

	/* the schema bounds the chain too */
	assert_int_equal(sqlite3_open(f->main_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE device_cert SET chain = "
	    "zeroblob(65537)", NULL, NULL, NULL), SQLITE_CONSTRAINT);
	assert_int_equal(sqlite3_exec(db, "UPDATE device_cert SET chain = "
	    "NULL", NULL, NULL, NULL), SQLITE_CONSTRAINT);
	sqlite3_close(db);
	assert_int_equal(int_on_file(f->main_path, "SELECT length(chain) FROM "
	    "device_cert"), 0);
}

/*
 * Proves: NDR 3.10(1) (a version floor only goes up, numerically: "10"
 * above "9", per kind and name, read back after a reopen), TSF.UPD.
 */
static void
test_store_floor_only_goes_up(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f);
	char *cause = NULL, *v = NULL;

	assert_int_equal(store_floor_get(st, "guestos", "core", &v, &cause),
	    0);
	assert_null(v);
	assert_int_equal(store_floor_raise(st, "guestos", "core", "1.9",
	    &cause), 1);
	assert_int_equal(store_floor_raise(st, "guestos", "core", "1.10",
	    &cause), 1);
	assert_int_equal(store_floor_raise(st, "guestos", "core", "1.2",
	    &cause), 0);
	assert_int_equal(store_floor_raise(st, "guestos", "core", "1.10.0",
	    &cause), 0);
	assert_int_equal(store_floor_raise(st, "cml", "core", "0.1",
	    &cause), 1);
	assert_int_equal(store_floor_raise(st, "guestos", "core", "x",
	    &cause), -1);
	assert_non_null(strstr(cause, "not a version"));
	free(cause);
	cause = NULL;
	store_close(st);
	st = open_ok(f);
	assert_int_equal(store_floor_get(st, "guestos", "core", &v, &cause),
	    1);
	assert_string_equal(v, "1.10");
	free(v);
	assert_int_equal(store_floor_get(st, "cml", "core", &v, &cause), 1);
	assert_string_equal(v, "0.1");
	free(v);
	store_close(st);
}

/*
 * Proves: TSF.UPD (the update history records each install's end and
 * keeps only its newest rows).
 */
static void
test_store_update_history_bounded(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f);
	struct store_update u = { 0 }, got;
	char *cause = NULL;
	long long first = 0;
	int i;

	u.kind = "guestos";
	u.name = "core";
	u.version = "1";
	u.digest = "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef";
	u.size = 4096;
	u.signers = "[]";
	for (i = 0; i < STORE_UPDATE_HISTORY_MAX + 3; i++) {
		if (store_update_begin(st, &u, &cause) == -1)
			fail_msg("store_update_begin: %s", cause);
		if (i == 0)
			first = u.id;
	}
	assert_int_equal(store_update_get(st, first, &got, &cause), 0);
	assert_int_equal(int_on_file(f->main_path, "SELECT count(*) FROM "
	    "update_history"), STORE_UPDATE_HISTORY_MAX);
	assert_int_equal(store_update_end(st, u.id, "installed", NULL,
	    &cause), 0);
	assert_int_equal(store_update_last(st, "guestos", "installed", &got,
	    &cause), 1);
	assert_int_equal(got.id, u.id);
	assert_string_equal(got.result, "installed");
	assert_true(got.end_ms > 0);
	store_update_clear(&got);
	assert_int_equal(store_update_last(st, "cml", NULL, &got, &cause), 0);
	assert_int_equal(store_update_end(st, u.id + 100, "failed", "x",
	    &cause), -1);
	free(cause);
	store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_store_open_fresh_dir_creates_both_at_current_versions),
		T(test_store_open_existing_current_reopens_unchanged),
		T(test_store_open_each_earlier_version_migrates_to_current),
		T(test_store_migrate_11_to_12_measurement_installs),
		T(test_store_open_at_lower_version_does_not_downgrade),
		T(test_store_open_at_out_of_range_version_fails),
		T(test_store_open_missing_dir_fails_naming_path),
		T(test_store_open_garbage_main_refused_untouched),
		T(test_store_open_garbage_audit_refused_untouched),
		T(test_store_open_overwritten_page_refused_untouched),
		T(test_store_open_overwritten_audit_page_refused_untouched),
		T(test_store_open_truncated_file_refused_untouched),
		T(test_store_open_newer_main_refused_untouched),
		T(test_store_open_newer_audit_refused_untouched),
		T(test_store_open_newer_rollback_journal_file_left_in_its_mode),
		T(test_store_open_failing_migration_rolls_back),
		T(test_store_open_after_crash_recovers_wal),
		T(test_store_durable_lazy_commits_survive_a_crash),
		T(test_store_close_null_does_nothing),
		T(test_store_setting_get_unset_returns_null),
		T(test_store_setting_set_then_get_returns_value),
		T(test_store_setting_set_twice_overwrites),
		T(test_store_setting_set_survives_reopen),
		T(test_store_settings_set_all_or_none),
		T(test_store_setting_set_null_value_fails),
		T(test_store_device_get_none_returns_zero),
		T(test_store_device_create_then_get_returns_factory),
		T(test_store_device_create_twice_fails),
		T(test_store_device_set_state_provisioned_persists),
		T(test_store_device_set_state_invalid_refused),
		T(test_store_device_set_state_without_device_fails),
		T(test_store_device_check_constraint_rejects_bad_state),
		T(test_store_audit_append_assigns_increasing_seq),
		T(test_store_audit_append_missing_object_fails),
		T(test_store_audit_list_last_returns_newest_ascending),
		T(test_store_audit_list_all_returns_every_record),
		T(test_store_audit_list_callback_stop_propagates),
		T(test_store_audit_count_counts_records),
		T(test_store_audit_chain_acks_and_drop),
		T(test_store_migrate_1_with_data_to_2_keeps_data),
		T(test_store_anchor_add_list_remove),
		T(test_store_anchor_add_duplicate_returns_one_unchanged),
		T(test_store_anchor_add_bad_kind_refused),
		T(test_store_anchor_list_callback_may_write_and_stop),
		T(test_store_guestos_add_get_list_remove),
		T(test_store_guestos_add_duplicate_returns_one_unchanged),
		T(test_store_guestos_add_bad_image_rolls_back),
		T(test_store_migrate_2_with_data_to_3_keeps_data),
		T(test_store_migrate_3_to_4_erofs),
		T(test_store_migrate_4_to_5_container_ids),
		T(test_store_migrate_5_to_6_device_cert_and_measurements),
		T(test_store_migrate_6_to_7_container_keys),
		T(test_store_container_add_then_get_returns_stopped),
		T(test_store_container_add_duplicate_returns_one_unchanged),
		T(test_store_container_add_taken_index_fails),
		T(test_store_container_add_bad_input_refused),
		T(test_store_container_list_orders_c0_first_then_by_name),
		T(test_store_container_list_callback_may_write_and_stop),
		T(test_store_container_set_state_with_and_without_version),
		T(test_store_container_set_state_invalid_refused),
		T(test_store_container_remove_returns_one_then_zero),
		T(test_store_container_free_index_reuses_gaps),
		T(test_store_container_using_guestos_config_or_running_version),
		T(test_store_container_key_wipe_deleted_and_verified_gone),
		T(test_store_container_key_wipe_bytes_still_stored_fails),
		T(test_store_container_key_wipe_blocked_checkpoint_fails),
		T(test_store_container_key_without_secure_delete_stays_on_disk),
		T(test_store_provision_set_get_list_in_step_order),
		T(test_store_provision_done_never_replaced_by_failed),
		T(test_store_provision_bad_name_or_state_refused),
		T(test_store_migrate_8_to_9_device_anchors),
		T(test_store_migrate_9_to_10_device_cert_chain),
		T(test_store_floor_only_goes_up),
		T(test_store_update_history_bounded),
#undef T
	};

	/* Migrations log at info level; only warnings belong in test output. */
	log_init("test_store", 1, LOG_LEVEL_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
