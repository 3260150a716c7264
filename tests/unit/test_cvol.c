/*
 * Unit tests of encrypted data volumes (daemon/cmld/c-volume.c, c-luks.c)
 * where the kernel has no device-mapper: the refusal of integrity at
 * once, the LUKS2 format and keyslot verification without activation,
 * the wrong key, a foreign file, and the wipe, whose destruction is seen
 * through a second link to the file.  They need root (loop devices) and a
 * kernel without device-mapper; elsewhere they are skipped, saying why.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <libcryptsetup.h>

#include "c-volume.h"
#include "dm.h"
#include "xmalloc.h"

#define ID "0123456789abcdef0123456789abcdef"
#define SIZE_MB 32

static char state[64];
static char *voldir;
static unsigned char key[64];
static int had_node;

/* Runs a volume's steps to the end: 1 ready, -1 refused. */
static int
run(struct cvol *v, char **cause)
{
	int i, rc = 0;

	for (i = 0; rc == 0 && i < 6000; i++)
		rc = cvol_step(v, cause);
	assert_int_not_equal(rc, 0);
	return rc;
}

/* The path of a file in the volumes directory (free it). */
static char *
vol(const char *name)
{
	return xasprintf("%s/%s", voldir, name);
}

/* Says whether the first len bytes of path hold a LUKS magic. */
static int
has_magic(const char *path, size_t len)
{
	static const char m1[] = "LUKS\xba\xbe", m2[] = "SKUL\xba\xbe";
	unsigned char *buf = xmalloc(len);
	ssize_t n;
	int fd, found;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd != -1);
	n = read(fd, buf, len);
	close(fd);
	assert_true(n > 0);
	found = memmem(buf, (size_t)n, m1, 6) != NULL ||
	    memmem(buf, (size_t)n, m2, 6) != NULL;
	free(buf);
	return found;
}

/* Opens the encrypted volume (integrity off) and returns its refusal. */
static enum cvol_refusal
open_refused(const unsigned char *k, char **cause, int *keyslot)
{
	struct cvol *v;
	enum cvol_refusal r;

	v = cvol_open_encrypted(state, "web", ID, SIZE_MB, 0, k, sizeof key,
	    cause);
	assert_non_null(v);
	assert_int_equal(run(v, cause), -1);
	r = cvol_refusal(v);
	*keyslot = cvol_keyslot(v);
	assert_null(cvol_device(v));
	cvol_free(v);
	return r;
}

static int
setup(void **st)
{
	(void)st;
	snprintf(state, sizeof state, "/tmp/test_cvol.XXXXXX");
	if (mkdtemp(state) == NULL)
		return -1;
	voldir = xasprintf("%s/" CVOL_DIR, state);
	memset(key, 0xa5, sizeof key);
	return 0;
}

static int
teardown(void **st)
{
	char *cmd;

	(void)st;
	cmd = xasprintf("rm -rf '%s'", state);
	if (system(cmd) != 0)
		return -1;
	free(cmd);
	free(voldir);
	dm_unlitter(had_node);
	return 0;
}

/* Proves: TSF.CDATA (integrity protection needs device-mapper: refused at once,
 * with the exact reason, nothing made). */
static void
test_cvol_integrity_nodm_refused(void **st)
{
	struct stat sb;
	char *cause = NULL;

	(void)st;
	assert_null(cvol_open_encrypted(state, "web", ID, SIZE_MB, 1, key,
	    sizeof key, &cause));
	assert_string_equal(cause, CVOL_NO_DM);
	free(cause);
	assert_int_equal(stat(voldir, &sb), -1);
}

/* Proves: TSF.CDATA, CR 4.1 (a LUKS2 header made and the key verified against
 * its keyslot without activation; no plain data). */
static void
test_cvol_format_nodm_keyslot_verified(void **st)
{
	struct crypt_device *cd;
	struct crypt_pbkdf_type pbkdf;
	struct stat sb;
	char *cause = NULL, *path, *want, *tmp;
	long long size, alloc;
	int slot;

	(void)st;
	path = vol(ID ".luks");
	want = xasprintf("%s (its key, unwrapped with the PIN, opens keyslot "
	    "0 of the LUKS2 volume %s; checked without activation)",
	    CVOL_NO_DM, path);
	assert_int_equal(open_refused(key, &cause, &slot), CVOL_REFUSED_NO_DM);
	assert_string_equal(cause, want);
	assert_int_equal(slot, 0);
	free(cause);

	/* Kept, root's alone, sparse, no .new left. */
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(sb.st_size, SIZE_MB * 1024LL * 1024);
	tmp = vol(ID ".luks.new");
	assert_int_equal(access(tmp, F_OK), -1);
	free(tmp);
	assert_int_equal(cvol_stat(state, ID, &size, &alloc), 0);
	assert_int_equal(size, SIZE_MB * 1024LL * 1024);

	/* The header as spec'd. */
	assert_int_equal(crypt_init(&cd, path), 0);
	assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
	assert_string_equal(crypt_get_subsystem(cd), "cml");
	assert_string_equal(crypt_get_label(cd), "cml:web");
	assert_string_equal(crypt_get_cipher(cd), "aes");
	assert_string_equal(crypt_get_cipher_mode(cd), "xts-plain64");
	assert_int_equal(crypt_get_volume_key_size(cd), 64);
	assert_int_equal(crypt_get_sector_size(cd), 4096);
	assert_int_equal(crypt_keyslot_get_pbkdf(cd, 0, &pbkdf), 0);
	assert_string_equal(pbkdf.type, CRYPT_KDF_PBKDF2);
	assert_string_equal(pbkdf.hash, "sha256");
	assert_int_equal(pbkdf.iterations, 1000);
	assert_int_equal(crypt_keyslot_status(cd, 1), CRYPT_SLOT_INACTIVE);
	crypt_free(cd);

	/* Again: the existing volume, verified. */
	assert_int_equal(open_refused(key, &cause, &slot), CVOL_REFUSED_NO_DM);
	assert_string_equal(cause, want);
	free(cause);
	free(want);
	free(path);
}

/* Proves: TSF.CDATA (a key that opens no keyslot is refused). */
static void
test_cvol_wrong_key_refused(void **st)
{
	unsigned char other[sizeof key];
	char *cause = NULL, *path, *want;
	int slot;

	(void)st;
	memset(other, 0x5a, sizeof other);
	path = vol(ID ".luks");
	want = xasprintf("the container's key does not open the LUKS2 volume "
	    "%s: its header was replaced or damaged", path);
	assert_int_equal(open_refused(other, &cause, &slot),
	    CVOL_REFUSED_KEY);
	assert_string_equal(cause, want);
	assert_int_equal(slot, -1);
	free(cause);
	free(want);
	free(path);
}

/* Proves: CR 4.2, CR 4.2(2) (header and keyslots overwritten, checked, the file
 * removed). */
static void
test_cvol_wipe_luks_destroyed(void **st)
{
	struct crypt_device *cd;
	struct cvol *v;
	char *cause = NULL, *path, *keep, *want;

	(void)st;
	path = vol(ID ".luks");
	keep = xasprintf("%s/keep", state);
	assert_int_equal(link(path, keep), 0);
	/* A file of a half-made start goes too. */
	free(path);
	path = vol(ID ".ext4.new");
	close(open(path, O_WRONLY | O_CREAT, 0600));
	free(path);
	path = vol(ID ".luks");

	v = cvol_wipe(state, "web", ID, &cause);
	assert_non_null(v);
	assert_int_equal(run(v, &cause), 1);
	assert_string_equal(cvol_wipe_header(v), "LUKS2 header and keyslots "
	    "overwritten (16 MiB, random) and checked: no LUKS2 header left");
	want = xasprintf("file %s removed; no file of it left in %s", path,
	    voldir);
	assert_string_equal(cvol_wipe_volume(v), want);
	free(want);
	assert_string_equal(cvol_wipe_device(v), "no device-mapper device "
	    "cml-" ID);
	cvol_free(v);
	assert_int_equal(access(path, F_OK), -1);

	/* What the other link still sees: no header at all. */
	assert_false(has_magic(keep, 16 * 1024 * 1024));
	assert_int_equal(crypt_init(&cd, keep), 0);
	assert_true(crypt_load(cd, CRYPT_LUKS2, NULL) < 0);
	crypt_free(cd);
	unlink(keep);
	free(keep);

	/* Nothing left: it says so. */
	v = cvol_wipe(state, "web", ID, &cause);
	assert_non_null(v);
	assert_int_equal(run(v, &cause), 1);
	assert_null(cvol_wipe_header(v));
	want = xasprintf("there was none: no file of it in %s", voldir);
	assert_string_equal(cvol_wipe_volume(v), want);
	free(want);
	cvol_free(v);
	free(path);
}

/* Proves: CR 4.2, CR 4.2(2) (a plain volume zeroed, checked, removed). */
static void
test_cvol_wipe_plain_zeroed(void **st)
{
	unsigned char buf[4096];
	struct cvol *v;
	char *cause = NULL, *path, *keep, *want;
	ssize_t n;
	size_t i;
	int fd, nonzero = 0;

	(void)st;
	path = vol(ID ".ext4");
	keep = xasprintf("%s/keep", state);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd != -1);
	memset(buf, 's', sizeof buf);
	for (i = 0; i < 64; i++)
		assert_int_equal(write(fd, buf, sizeof buf), sizeof buf);
	close(fd);
	assert_int_equal(link(path, keep), 0);

	v = cvol_wipe(state, "web", ID, &cause);
	assert_non_null(v);
	assert_int_equal(run(v, &cause), 1);
	assert_null(cvol_wipe_header(v));
	want = xasprintf("file %s overwritten with zeros and removed; no file "
	    "of it left in %s", path, voldir);
	assert_string_equal(cvol_wipe_volume(v), want);
	free(want);
	cvol_free(v);

	fd = open(keep, O_RDONLY);
	while ((n = read(fd, buf, sizeof buf)) > 0)
		for (i = 0; i < (size_t)n; i++)
			nonzero |= buf[i];
	close(fd);
	assert_int_equal(nonzero, 0);
	unlink(keep);
	free(keep);
	free(path);
}

/* Proves: TSF.CDATA (a file that is not cml's LUKS2 volume is refused). */
static void
test_cvol_foreign_file_refused(void **st)
{
	char *cause = NULL, *path;
	int fd, slot;

	(void)st;
	path = vol(ID ".luks");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd != -1);
	assert_int_equal(ftruncate(fd, SIZE_MB * 1024LL * 1024), 0);
	close(fd);
	assert_int_equal(open_refused(key, &cause, &slot),
	    CVOL_REFUSED_OTHER);
	assert_non_null(strstr(cause, "holds no LUKS2 header cml can read"));
	free(cause);
	assert_int_equal(cvol_remove(state, ID, &cause), 0);
	assert_int_equal(access(path, F_OK), -1);
	free(path);
}

/* Proves: CR 4.2 (remove --purge destroys the header first). */
static void
test_cvol_remove_luks(void **st)
{
	char *cause = NULL, *path;
	long long size, alloc;
	int slot;

	(void)st;
	path = vol(ID ".luks");
	assert_int_equal(open_refused(key, &cause, &slot), CVOL_REFUSED_NO_DM);
	free(cause);
	cause = NULL;
	assert_int_equal(cvol_remove(state, ID, &cause), 0);
	assert_null(cause);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(cvol_stat(state, ID, &size, &alloc), -1);
	assert_int_equal(cvol_device_exists(ID), 0);
	assert_int_equal(cvol_close_leftover(ID, &cause), 0);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cvol_integrity_nodm_refused),
		cmocka_unit_test(test_cvol_format_nodm_keyslot_verified),
		cmocka_unit_test(test_cvol_wrong_key_refused),
		cmocka_unit_test(test_cvol_wipe_luks_destroyed),
		cmocka_unit_test(test_cvol_wipe_plain_zeroed),
		cmocka_unit_test(test_cvol_foreign_file_refused),
		cmocka_unit_test(test_cvol_remove_luks),
	};

	if (geteuid() != 0) {
		printf("# SKIP test_cvol: needs root (loop devices)\n");
		return 77;
	}
	if (dm_present()) {
		printf("# SKIP test_cvol: this kernel has device-mapper; the "
		    "VM test covers encrypted volumes there\n");
		return 77;
	}
	if (access("/dev/loop-control", F_OK) != 0) {
		printf("# SKIP test_cvol: no /dev/loop-control\n");
		return 77;
	}
	had_node = dm_node_exists();
	return cmocka_run_group_tests(tests, setup, teardown);
}
