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
#include "xmalloc.h"
#include "log.h"

struct fixture {
	char dir[64];
	char main_path[PATH_MAX];
	char audit_path[PATH_MAX];
};

/*
 * Removes dir and everything below it; -1 if something stayed.  Teardown
 * uses it too, after a failed test that left a subdirectory behind.
 */
static int
remove_dir(const char *dir)
{
	struct dirent *de;
	struct stat sb;
	DIR *d;
	char *p;
	int ret = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", dir, de->d_name);
		if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			if (remove_dir(p) == -1)
				ret = -1;
		} else if (unlink(p) == -1)
			ret = -1;
		free(p);
	}
	closedir(d);
	if (rmdir(dir) == -1)
		ret = -1;
	return ret;
}

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

	ret = remove_dir(f->dir);
	free(f);
	return ret;
}

/* Reads a whole file; fails the test if it cannot. */
static unsigned char *
read_all(const char *path, size_t *len)
{
	unsigned char *buf = NULL;
	size_t size = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	*len = 0;
	for (;;) {
		if (*len == size) {
			size = size == 0 ? 65536 : size * 2;
			buf = xreallocarray(buf, size, 1);
		}
		if ((n = read(fd, buf + *len, size - *len)) == -1)
			fail_msg("cannot read %s: %s", path, strerror(errno));
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	close(fd);
	return buf;
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

	before = read_all(path, &before_len);
	st = store_open(f->dir, &cause);
	if (st != NULL) {
		store_close(st);
		fail_msg("store_open accepted a damaged %s", path);
	}
	assert_non_null(cause);
	assert_non_null(strstr(cause, path));
	if (strstr(cause, want) == NULL)
		fail_msg("cause \"%s\" does not contain \"%s\"", cause, want);
	after = read_all(path, &after_len);
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

/* Checks that every table of the current schemas can be written and read. */
static void
assert_tables_work(struct store *st)
{
	struct audit_record rec = {
		.time_ms = 5, .type = "daemon", .uid = -1, .pid = -1,
		.object = "cmld", .result = "ok",
	};
	struct store_device dev;
	char *cause = NULL, *value = NULL;

	assert_int_equal(store_setting_set(st, "log_level", "debug", &cause),
	    0);
	assert_int_equal(store_setting_get(st, "log_level", &value, &cause),
	    0);
	assert_string_equal(value, "debug");
	free(value);
	assert_int_equal(store_device_create(st, "u", &cause), 0);
	assert_int_equal(store_device_get(st, &dev, &cause), 1);
	assert_string_equal(dev.state, "factory");
	store_device_clear(&dev);
	assert_int_equal(store_audit_append(st, &rec, &cause), 0);
	assert_int_equal(store_audit_count(st, &cause), 1);
}

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

			assert_int_equal(remove_dir(dir), 0);
			free(dir);
			n++;
		}
	}
	assert_int_equal(n,
	    (store_main_version + 1) * (store_audit_version + 1) - 1);
}

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

static void
test_store_open_garbage_audit_refused_untouched(void **state)
{
	struct fixture *f = *state;
	const char junk[] = "this is an audit log, but not a database\n";

	write_at(f->audit_path, junk, sizeof junk - 1, -1);
	assert_refused_untouched(f, f->audit_path, "is corrupt");
	assert_false(file_exists(f->main_path));
}

static void
test_store_open_overwritten_page_refused_untouched(void **state)
{
	struct fixture *f = *state;
	unsigned char *buf, *junk;
	size_t len, ps;

	make_populated_store(f);
	buf = read_all(f->main_path, &len);
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

static void
test_store_open_overwritten_audit_page_refused_untouched(void **state)
{
	struct fixture *f = *state;
	unsigned char *buf, *junk;
	size_t len, ps, pgno;
	char *want;

	make_populated_store(f);
	buf = read_all(f->audit_path, &len);
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

static void
test_store_open_truncated_file_refused_untouched(void **state)
{
	struct fixture *f = *state;
	unsigned char *buf;
	size_t len, ps;

	make_populated_store(f);
	buf = read_all(f->main_path, &len);
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

static void
test_store_open_after_crash_recovers_wal(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	unsigned char *buf;
	char *cause = NULL, *value = NULL, *src, *dst, *copy;
	const char *const files[] = {
		"cml.db", "cml.db-wal", "audit.db", "audit.db-wal",
	};
	size_t i, len;

	/* Copy the files while the store is open: a crash, as seen later. */
	st = open_ok(f);
	assert_int_equal(store_setting_set(st, "device_name", "gw1", &cause),
	    0);
	copy = xasprintf("%s/copy", f->dir);
	assert_int_equal(mkdir(copy, 0700), 0);
	for (i = 0; i < sizeof files / sizeof files[0]; i++) {
		src = xasprintf("%s/%s", f->dir, files[i]);
		dst = xasprintf("%s/%s", copy, files[i]);
		buf = read_all(src, &len);
		write_at(dst, buf, len, -1);
		free(buf);
		free(dst);
		free(src);
	}
	store_close(st);

	if ((st = store_open(copy, &cause)) == NULL)
		fail_msg("store_open after a crash: %s", cause);
	assert_int_equal(store_setting_get(st, "device_name", &value, &cause),
	    0);
	assert_string_equal(value, "gw1");
	free(value);
	store_close(st);
	assert_int_equal(remove_dir(copy), 0);
	free(copy);
}

static void
test_store_close_null_does_nothing(void **state)
{
	(void)state;
	store_close(NULL);
}

static void
test_store_setting_get_unset_returns_null(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	char *cause = NULL, *value = (char *)"sentinel";

	st = open_ok(f);
	assert_int_equal(store_setting_get(st, "device_name", &value, &cause),
	    0);
	assert_null(value);
	store_close(st);
}

static void
test_store_setting_set_then_get_returns_value(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	char *cause = NULL, *value = NULL;

	st = open_ok(f);
	assert_int_equal(store_setting_set(st, "device_name", "gw-1'; --",
	    &cause), 0);
	assert_int_equal(store_setting_get(st, "device_name", &value, &cause),
	    0);
	assert_string_equal(value, "gw-1'; --");
	free(value);
	/* Another key is still unset. */
	assert_int_equal(store_setting_get(st, "log_level", &value, &cause),
	    0);
	assert_null(value);
	store_close(st);
}

static void
test_store_setting_set_twice_overwrites(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	char *cause = NULL, *value = NULL;

	st = open_ok(f);
	assert_int_equal(store_setting_set(st, "max_clients", "64", &cause), 0);
	assert_int_equal(store_setting_set(st, "max_clients", "8", &cause), 0);
	assert_int_equal(store_setting_get(st, "max_clients", &value, &cause),
	    0);
	assert_string_equal(value, "8");
	free(value);
	store_close(st);
	assert_int_equal(int_on_file(f->main_path,
	    "SELECT count(*) FROM settings"), 1);
}

static void
test_store_setting_set_survives_reopen(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	char *cause = NULL, *value = NULL;

	st = open_ok(f);
	assert_int_equal(store_setting_set(st, "log_level", "debug", &cause),
	    0);
	store_close(st);
	st = open_ok(f);
	assert_int_equal(store_setting_get(st, "log_level", &value, &cause),
	    0);
	assert_string_equal(value, "debug");
	free(value);
	store_close(st);
}

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

static void
test_store_device_create_twice_fails(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	struct store_device dev;
	char *cause = NULL;

	st = open_ok(f);
	assert_int_equal(store_device_create(st, "first", &cause), 0);
	assert_int_equal(store_device_create(st, "second", &cause), -1);
	assert_non_null(strstr(cause, "exists already"));
	free(cause);
	assert_int_equal(store_device_get(st, &dev, &cause), 1);
	assert_string_equal(dev.uuid, "first");
	store_device_clear(&dev);
	store_close(st);
}

static void
test_store_device_set_state_provisioned_persists(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	struct store_device dev;
	char *cause = NULL;

	st = open_ok(f);
	assert_int_equal(store_device_create(st, "u1", &cause), 0);
	assert_int_equal(store_device_set_state(st, "provisioned", &cause), 0);
	store_close(st);
	st = open_ok(f);
	assert_int_equal(store_device_get(st, &dev, &cause), 1);
	assert_string_equal(dev.state, "provisioned");
	store_device_clear(&dev);
	store_close(st);
}

static void
test_store_device_set_state_invalid_refused(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	struct store_device dev;
	char *cause = NULL;

	st = open_ok(f);
	assert_int_equal(store_device_create(st, "u1", &cause), 0);
	assert_int_equal(store_device_set_state(st, "hacked", &cause), -1);
	assert_non_null(strstr(cause, "'hacked'"));
	free(cause);
	cause = NULL;
	assert_int_equal(store_device_set_state(st, NULL, &cause), -1);
	free(cause);
	assert_int_equal(store_device_get(st, &dev, &cause), 1);
	assert_string_equal(dev.state, "factory");
	store_device_clear(&dev);
	store_close(st);
}

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_store_open_fresh_dir_creates_both_at_current_versions),
		T(test_store_open_existing_current_reopens_unchanged),
		T(test_store_open_each_earlier_version_migrates_to_current),
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
		T(test_store_close_null_does_nothing),
		T(test_store_setting_get_unset_returns_null),
		T(test_store_setting_set_then_get_returns_value),
		T(test_store_setting_set_twice_overwrites),
		T(test_store_setting_set_survives_reopen),
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
#undef T
	};

	/* Migrations log at info level; only warnings belong in test output. */
	log_init("test_store", 1, LOG_LEVEL_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
