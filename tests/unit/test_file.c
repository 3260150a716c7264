/*
 * Unit tests of small-file reading (common/file.c).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "file.h"

struct fixture {
	char dir[64];
	int dirfd;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "/tmp/cml-test-file.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->dirfd >= 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	unlinkat(f->dirfd, "f", 0);
	unlinkat(f->dirfd, "link", 0);
	unlinkat(f->dirfd, "d", AT_REMOVEDIR);
	close(f->dirfd);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
put(struct fixture *f, const char *name, const char *text)
{
	int fd = openat(f->dirfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Expects path to be refused with errno want and *buf left NULL. */
static void
refused(int dirfd, const char *path, size_t max, int want)
{
	char *buf = (char *)"not touched";
	size_t len = 42;

	errno = 0;
	assert_int_equal(file_read_small(dirfd, path, max, &buf, &len), -1);
	assert_int_equal(errno, want);
	assert_null(buf);
	assert_int_equal(len, 42);
}

/* Proves: none (a small file read whole). */
static void
test_file_reads_whole_and_terminates(void **state)
{
	struct fixture *f = *state;
	char *buf = NULL;
	size_t len = 0;

	put(f, "f", "{\"a\":1}");
	assert_int_equal(file_read_small(f->dirfd, "f", 7, &buf, &len), 0);
	assert_int_equal(len, 7);
	assert_string_equal(buf, "{\"a\":1}");
	free(buf);

	put(f, "f", "");
	assert_int_equal(file_read_small(f->dirfd, "f", 0, &buf, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	free(buf);
}

/*
 * Proves: none (a /proc file, whose stat(2) size is 0, read to its end;
 * more than max refused with EFBIG).
 */
static void
test_file_read_proc_to_end(void **state)
{
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	/* /proc/self/cmdline: "test_file" and more, NUL-separated */
	assert_int_equal(file_read_proc("/proc/self/cmdline", 4096, &buf,
	    &len), 0);
	assert_true(len > 0);
	assert_non_null(strstr(buf, "test_file"));
	free(buf);
	assert_int_equal(file_read_proc("/proc/self/cmdline", 2, &buf, &len),
	    -1);
	assert_int_equal(errno, EFBIG);
	assert_null(buf);
	assert_int_equal(file_read_proc("/proc/self/no-such-file", 2, &buf,
	    &len), -1);
	assert_int_equal(errno, ENOENT);
}

/* Proves: none (a small file read by its absolute path). */
static void
test_file_absolute_path(void **state)
{
	struct fixture *f = *state;
	char path[128], *buf = NULL;
	size_t len = 0;

	put(f, "f", "x");
	snprintf(path, sizeof path, "%s/f", f->dir);
	assert_int_equal(file_read_small(AT_FDCWD, path, 10, &buf, &len), 0);
	assert_string_equal(buf, "x");
	free(buf);
}

/*
 * Proves: CR 7.1 (only regular files up to a size are read; no link followed).
 */
static void
test_file_refusals(void **state)
{
	struct fixture *f = *state;

	refused(f->dirfd, "missing", 10, ENOENT);
	put(f, "f", "12345678901");
	refused(f->dirfd, "f", 10, EFBIG);
	assert_int_equal(symlinkat("f", f->dirfd, "link"), 0);
	refused(f->dirfd, "link", 100, ELOOP);
	assert_int_equal(mkdirat(f->dirfd, "d", 0700), 0);
	refused(f->dirfd, "d", 100, EINVAL);
	refused(AT_FDCWD, "/dev/null", 100, EINVAL);
}

/*
 * Proves: CR 1.11 (counters and keys are written whole or not at all: a
 * temporary file fsync'd and renamed over the old one).
 */
static void
test_file_write_atomic(void **state)
{
	struct fixture *f = *state;
	char *cause = NULL, buf[64];
	struct stat sb;
	ssize_t n;
	int fd;

	assert_int_equal(file_write_atomic(f->dir, "f", "first", 5, 0600,
	    &cause), 0);
	assert_int_equal(file_write_atomic(f->dir, "f", "second", 6, 0640,
	    &cause), 0);
	assert_null(cause);
	fd = openat(f->dirfd, "f", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof buf);
	close(fd);
	assert_int_equal(n, 6);
	assert_memory_equal(buf, "second", 6);
	assert_int_equal(fstatat(f->dirfd, "f", &sb, 0), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
	/* no temporary file is left behind */
	assert_int_equal(fstatat(f->dirfd, ".f.tmp", &sb, 0), -1);
	assert_int_equal(file_sync_dir(f->dir), 0);
	/* a directory that is not there: the old file is untouched */
	assert_int_equal(file_write_atomic("/nonexistent-cml", "f", "x", 1,
	    0600, &cause), -1);
	assert_non_null(cause);
	free(cause);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_file_reads_whole_and_terminates, setup, teardown),
		cmocka_unit_test(test_file_read_proc_to_end),
		cmocka_unit_test_setup_teardown(test_file_absolute_path, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_file_refusals, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_file_write_atomic, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
