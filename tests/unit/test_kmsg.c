/*
 * Unit tests of the kernel-log watcher (daemon/cmld/kmsg.c): the parser on
 * records as /dev/kmsg gives them (matching, not matching, cut short,
 * hostile), the mapping of dm-N to its device-mapper name under a private
 * sysfs tree, and the watcher itself reading records from a socket that
 * keeps record boundaries as /dev/kmsg does.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kmsg.h"
#include "log.h"
#include "loop.h"
#include "testutil.h"
#include "xmalloc.h"

#define ID "0123456789abcdef0123456789abcdef"

/* What one parse gave. */
struct parsed {
	int ret;
	char name[KMSG_NAME_MAX];
	long long sector;
	char what[KMSG_WHAT_MAX];
};

/* Parses the first len bytes of rec into p; returns kmsg_parse's value. */
static int
parse_len(const char *rec, size_t len, struct parsed *p)
{
	memset(p, 0, sizeof *p);
	p->sector = 42; /* must be overwritten on a match */
	p->ret = kmsg_parse(rec, len, p->name, sizeof p->name, &p->sector,
	    p->what, sizeof p->what);
	return p->ret;
}

/* Parses the string rec into p. */
static int
parse(const char *rec, struct parsed *p)
{
	return parse_len(rec, strlen(rec), p);
}

/* Proves: none (dm-crypt's AEAD error with a dm-N device and a sector). */
static void
test_kmsg_parse_crypt_aead_error_matches(void **state)
{
	struct parsed p;

	(void)state;
	assert_int_equal(parse("3,1234,5678901,-;device-mapper: crypt: dm-3: "
	    "INTEGRITY AEAD ERROR, sector 1687560\n SUBSYSTEM=block\n "
	    "DEVICE=b254:3\n", &p), 1);
	assert_string_equal(p.name, "dm-3");
	assert_int_equal(p.sector, 1687560);
	assert_string_equal(p.what, "device-mapper: crypt: dm-3: INTEGRITY "
	    "AEAD ERROR, sector 1687560");

	/* Without the trailing newline, and with more header fields. */
	assert_int_equal(parse("3,7,8,c,extra;device-mapper: crypt: dm-10: "
	    "INTEGRITY AEAD ERROR, sector 0", &p), 1);
	assert_string_equal(p.name, "dm-10");
	assert_int_equal(p.sector, 0);

	/* The leaked trusted_key prefix of some kernels. */
	assert_int_equal(parse("3,9,10,-;trusted_key: device-mapper: crypt: "
	    "dm-4: INTEGRITY AEAD ERROR, sector 8\n", &p), 1);
	assert_string_equal(p.name, "dm-4");
	assert_int_equal(p.sector, 8);

	/* The device printed by its mapped name. */
	assert_int_equal(parse("3,9,10,-;device-mapper: crypt: cml-" ID ": "
	    "INTEGRITY AEAD ERROR, sector 77\n", &p), 1);
	assert_string_equal(p.name, "cml-" ID);
	assert_int_equal(p.sector, 77);

	/* A variant without a sector: matched, sector -1. */
	assert_int_equal(parse("3,9,10,-;device-mapper: crypt: dm-3: "
	    "INTEGRITY AEAD ERROR\n", &p), 1);
	assert_int_equal(p.sector, -1);
}

/* Proves: none (dm-integrity's checksum failure, sector in hex). */
static void
test_kmsg_parse_integrity_checksum_failed_matches(void **state)
{
	struct parsed p;

	(void)state;
	assert_int_equal(parse("3,55,99,-;device-mapper: integrity: dm-2: "
	    "Checksum failed at sector 0x1f8\n", &p), 1);
	assert_string_equal(p.name, "dm-2");
	assert_int_equal(p.sector, 0x1f8);
	assert_string_equal(p.what, "device-mapper: integrity: dm-2: Checksum "
	    "failed at sector 0x1f8");

	assert_int_equal(parse("3,55,99,-;device-mapper: integrity: cml-" ID
	    "_dif: Checksum failed at sector 0xABCdef\n", &p), 1);
	assert_string_equal(p.name, "cml-" ID "_dif");
	assert_int_equal(p.sector, 0xabcdef);
}

/*
 * Proves: APS 02 (a block of a guest OS image that dm-verity finds changed
 * is seen: its data device, the block's sector, the kernel's words).
 */
static void
test_kmsg_parse_verity_corrupted_block_matches(void **state)
{
	static const char *const bad[] = {
		"3,1,2,-;device-mapper: verity: 7:3: data block 5 is corrupted "
		    "now\n",
		"3,1,2,-;device-mapper: verity: 7:3: data block 5\n",
		"3,1,2,-;device-mapper: verity: 7:3: data block  is corrupted\n",
		"3,1,2,-;device-mapper: verity: 7:3: data block -5 is "
		    "corrupted\n",
		"3,1,2,-;device-mapper: verity: 7:3: data block "
		    "99999999999999999999 is corrupted\n",
		"3,1,2,-;device-mapper: verity: 7:3: block 5 is corrupted\n",
		"3,1,2,-;device-mapper: verity: :3: data block 5 is "
		    "corrupted\n",
		"3,1,2,-;device-mapper: verity: 7:: data block 5 is "
		    "corrupted\n",
		"3,1,2,-;device-mapper: verity: 7:3:4: data block 5 is "
		    "corrupted\n",
		"3,1,2,-;device-mapper: verity: 73: data block 5 is "
		    "corrupted\n",
		"3,1,2,-;device-mapper: verity: dm-3: data block 5 is "
		    "corrupted\n",
		"3,1,2,-;device-mapper: verity: 7:3 data block 5 is "
		    "corrupted\n",
		/* from user space */
		"12,1,2,-;device-mapper: verity: 7:3: data block 5 is "
		    "corrupted\n",
	};
	struct parsed p;
	size_t i;

	(void)state;
	assert_int_equal(parse("3,88,99,-;device-mapper: verity: 7:3: data "
	    "block 5 is corrupted\n SUBSYSTEM=block\n", &p), 1);
	assert_string_equal(p.name, "7:3");
	assert_int_equal(p.sector, 40);
	assert_string_equal(p.what, "device-mapper: verity: 7:3: data block 5 "
	    "is corrupted");
	assert_int_equal(parse("3,88,99,-;device-mapper: verity: 259:12: "
	    "metadata block 0 is corrupted", &p), 1);
	assert_string_equal(p.name, "259:12");
	assert_int_equal(p.sector, 0);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (parse(bad[i], &p) != 0)
			fail_msg("record %zu matched: %s", i, bad[i]);
	}
}

/* Proves: none (everything else is no integrity error). */
static void
test_kmsg_parse_other_records_do_not_match(void **state)
{
	static const char *const recs[] = {
		"",
		"3,1,2,-;",
		"6,1,2,-;usb 1-1: new high-speed USB device number 2\n",
		/* user space writes to /dev/kmsg with facility LOG_USER */
		"11,1,2,-;device-mapper: crypt: dm-3: INTEGRITY AEAD ERROR, "
		    "sector 1\n",
		"14,1,2,-;device-mapper: integrity: dm-2: Checksum failed at "
		    "sector 0x1\n",
		/* no device: cannot be attributed */
		"3,1,2,-;device-mapper: crypt: INTEGRITY AEAD ERROR, sector 1\n",
		"3,1,2,-;device-mapper: integrity: Checksum failed when "
		    "reading from journal, at sector 0x1\n",
		/* other messages of the same targets */
		"3,1,2,-;device-mapper: crypt: dm-3: Integrity AEAD, tag size "
		    "16, IV size 12.\n",
		"3,1,2,-;device-mapper: integrity: dm-2: Error on reading "
		    "tags: -5\n",
		"3,1,2,-;device-mapper: verity: dm-1: INTEGRITY AEAD ERROR, "
		    "sector 1\n",
		/* the pattern quoted inside another message */
		"3,1,2,-;EXT4-fs (sda1): file \"device-mapper: crypt: dm-3: "
		    "INTEGRITY AEAD ERROR, sector 1\"\n",
		/* only in a continuation line */
		"3,1,2,-;hello\n device-mapper: crypt: dm-3: INTEGRITY AEAD "
		    "ERROR, sector 1\n",
		/* malformed headers */
		"device-mapper: crypt: dm-3: INTEGRITY AEAD ERROR, sector 1\n",
		"3;device-mapper: crypt: dm-3: INTEGRITY AEAD ERROR, sector 1\n",
		",1,2,-;device-mapper: crypt: dm-3: INTEGRITY AEAD ERROR, "
		    "sector 1\n",
		"3,1,2,-device-mapper: crypt: dm-3: INTEGRITY AEAD ERROR, "
		    "sector 1\n",
		"0000000003,1,2,-;device-mapper: crypt: dm-3: INTEGRITY AEAD "
		    "ERROR, sector 1\n",
		/* names with characters no device name has */
		"3,1,2,-;device-mapper: crypt: dm 3: INTEGRITY AEAD ERROR, "
		    "sector 1\n",
		"3,1,2,-;device-mapper: crypt: ../dm-3: INTEGRITY AEAD ERROR, "
		    "sector 1\n",
		"3,1,2,-;device-mapper: crypt: : INTEGRITY AEAD ERROR, "
		    "sector 1\n",
	};
	struct parsed p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof recs / sizeof recs[0]; i++) {
		if (parse(recs[i], &p) != 0)
			fail_msg("record %zu matched: %s", i, recs[i]);
		assert_int_equal(p.sector, 42);
		assert_string_equal(p.name, "");
	}
	assert_int_equal(kmsg_parse(NULL, 0, p.name, sizeof p.name, &p.sector,
	    p.what, sizeof p.what), 0);
}

/* Proves: none (a record cut anywhere is read within its bounds). */
static void
test_kmsg_parse_truncated_records_never_overread(void **state)
{
	static const char rec[] = "3,1234,5678,-;device-mapper: crypt: dm-3: "
	    "INTEGRITY AEAD ERROR, sector 123\n SUBSYSTEM=block\n";
	const char *end = strstr(rec, "ERROR") + strlen("ERROR");
	struct parsed p;
	char *copy;
	size_t len;

	(void)state;
	for (len = 0; len < sizeof rec - 1; len++) {
		/* An exact-size heap copy: reading past it is caught. */
		copy = xmalloc(len + 1);
		memcpy(copy, rec, len);
		parse_len(copy, len, &p);
		if (len < (size_t)(end - rec))
			assert_int_equal(p.ret, 0);
		else
			assert_int_equal(p.ret, 1);
		free(copy);
	}
	/* Cut inside the number: the digits that are there. */
	assert_int_equal(parse_len(rec, (size_t)(strstr(rec, "sector 123") -
	    rec) + 9, &p), 1);
	assert_int_equal(p.sector, 12);
}

/* Proves: none (hostile bytes never reach the callback's text). */
static void
test_kmsg_parse_hostile_bytes_rejected_or_sanitized(void **state)
{
	static const char nul[] = "3,1,2,-;device-mapper: crypt: dm-3\0: "
	    "INTEGRITY AEAD ERROR, sector 1\n";
	static const char r33[] = "3,1,2,-;device-mapper: crypt: dm-33: "
	    "INTEGRITY AEAD ERROR\n";
	static const char r3[] = "3,1,2,-;device-mapper: crypt: dm-3: "
	    "INTEGRITY AEAD ERROR\n";
	char big[KMSG_NAME_MAX + 200], rec[2048];
	struct parsed p;
	char name[5], what[8];
	long long sector;
	size_t i;

	(void)state;
	/* Control and non-ASCII bytes after the match become '?'. */
	assert_int_equal(parse("3,1,2,-;device-mapper: crypt: dm-3: INTEGRITY "
	    "AEAD ERROR, sector 12\x1b[31m\xc3\x28\x7f\n", &p), 1);
	assert_int_equal(p.sector, -1); /* something follows the number */
	assert_string_equal(p.what, "device-mapper: crypt: dm-3: INTEGRITY "
	    "AEAD ERROR, sector 12?[31m?(?");
	for (i = 0; p.what[i] != '\0'; i++)
		assert_true(p.what[i] >= 0x20 && p.what[i] <= 0x7e);

	/* A NUL inside the text: not a kernel record. */
	assert_int_equal(parse_len(nul, sizeof nul - 1, &p), 0);

	/* A sector beyond 63 bits. */
	assert_int_equal(parse("3,1,2,-;device-mapper: crypt: dm-3: INTEGRITY "
	    "AEAD ERROR, sector 99999999999999999999\n", &p), 1);
	assert_int_equal(p.sector, -1);
	assert_int_equal(parse("3,1,2,-;device-mapper: integrity: dm-2: "
	    "Checksum failed at sector 0x10000000000000000\n", &p), 1);
	assert_int_equal(p.sector, -1);
	assert_int_equal(parse("3,1,2,-;device-mapper: integrity: dm-2: "
	    "Checksum failed at sector 0x\n", &p), 1);
	assert_int_equal(p.sector, -1);

	/* A device name longer than device-mapper allows. */
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	snprintf(rec, sizeof rec, "3,1,2,-;device-mapper: crypt: %s: "
	    "INTEGRITY AEAD ERROR, sector 1\n", big);
	assert_int_equal(parse(rec, &p), 0);

	/* A text longer than any integrity error. */
	memset(rec, 'x', sizeof rec - 1);
	rec[sizeof rec - 1] = '\0';
	memcpy(rec, "3,1,2,-;device-mapper: crypt: dm-3: INTEGRITY AEAD ERROR",
	    56);
	assert_int_equal(parse(rec, &p), 0);

	/* Buffers too small: the name refused, the text cut. */
	assert_int_equal(kmsg_parse(r33, sizeof r33 - 1, name, sizeof name,
	    &sector, what, sizeof what), 0);
	assert_int_equal(kmsg_parse(r3, sizeof r3 - 1, name, sizeof name,
	    &sector, what, sizeof what), 1);
	assert_string_equal(name, "dm-3");
	assert_string_equal(what, "device-");
}

/* Writes text to dir/rel, making the directories on the way. */
static void
write_file(const char *dir, const char *rel, const char *text, size_t len)
{
	char path[PATH_MAX], *p;
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, rel);
	for (p = path + strlen(dir) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(path, 0700) == -1 && errno != EEXIST)
			fail_msg("mkdir %s: %s", path, strerror(errno));
		*p = '/';
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

/* Makes a private sysfs tree: dm-3 is cml-ID, dm-4 cml-ID_dif, more bad. */
static int
setup_sysfs(void **state)
{
	char *dir, big[KMSG_NAME_MAX + 10];

	dir = xstrdup("/tmp/cml-test-kmsg.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		free(dir);
		return -1;
	}
	write_file(dir, "block/dm-3/dm/name", "cml-" ID "\n", 37);
	write_file(dir, "block/dm-4/dm/name", "cml-" ID "_dif\n", 41);
	write_file(dir, "block/dm-5/dm/name", "a/b\n", 4);
	write_file(dir, "block/dm-6/dm/name", "a\x1b" "b\n", 4);
	write_file(dir, "block/dm-7/dm/name", "", 0);
	memset(big, 'n', sizeof big);
	write_file(dir, "block/dm-8/dm/name", big, sizeof big);
	write_file(dir, "block/dm-9/dm/name", "\n", 1);
	write_file(dir, "block/sda/dm/name", "sda\n", 4);
	/* loop device 7:3 held by dm-10, a guest OS image's dm-verity */
	write_file(dir, "block/dm-10/dm/name", "cml-" ID "_v0\n", 40);
	write_file(dir, "dev/block/7:3/holders/dm-10/dev", "254:10\n", 7);
	/* 7:4 held by two: not attributed */
	write_file(dir, "dev/block/7:4/holders/dm-3/dev", "254:3\n", 6);
	write_file(dir, "dev/block/7:4/holders/dm-4/dev", "254:4\n", 6);
	*state = dir;
	return 0;
}

/* Removes the private sysfs tree. */
static int
teardown_sysfs(void **state)
{
	char *dir = *state;
	int ret;

	ret = test_remove_tree(dir);
	free(dir);
	return ret;
}

/* Proves: none (dm-N is mapped through sysfs, bounded and checked). */
static void
test_kmsg_dm_name_maps_and_refuses_bad_names(void **state)
{
	static const char *const bad[] = {
		"dm-5", "dm-6", "dm-7", "dm-8", "dm-9", /* bad contents */
		"dm-99", /* gone */
		"sda", "dm-", "dm-x", "dm-3/../dm-4", "../dm-3", "dm-3 ",
		"dm-1234567890", "",
	};
	const char *dir = *state;
	char name[KMSG_NAME_MAX];
	size_t i;

	assert_int_equal(kmsg_dm_name(dir, "dm-3", name, sizeof name), 0);
	assert_string_equal(name, "cml-" ID);
	assert_int_equal(kmsg_dm_name(dir, "dm-4", name, sizeof name), 0);
	assert_string_equal(name, "cml-" ID "_dif");
	/* A name that does not fit the caller's buffer. */
	assert_int_equal(kmsg_dm_name(dir, "dm-3", name, 10), -1);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (kmsg_dm_name(dir, bad[i], name, sizeof name) != -1)
			fail_msg("'%s' was mapped to '%s'", bad[i], name);
	}
}

/* What the watcher's callback saw. */
struct seen {
	struct loop *loop;
	struct loop_timer guard;
	int want, n, timed_out;
	char name[8][KMSG_NAME_MAX];
	long long sector[8];
	char what[8][KMSG_WHAT_MAX];
};

static void
seen_cb(void *arg, const char *dm_name, long long sector, const char *what)
{
	struct seen *s = arg;

	if (s->n < 8) {
		snprintf(s->name[s->n], sizeof s->name[s->n], "%s", dm_name);
		s->sector[s->n] = sector;
		snprintf(s->what[s->n], sizeof s->what[s->n], "%s", what);
	}
	if (++s->n >= s->want)
		loop_quit(s->loop);
}

static void
seen_guard(struct loop_timer *t)
{
	struct seen *s = t->arg;

	s->timed_out = 1;
	loop_quit(s->loop);
}

/* Sends one record as one datagram, as /dev/kmsg returns one per read. */
static void
send_rec(int fd, const char *rec)
{
	assert_int_equal(send(fd, rec, strlen(rec), 0),
	    (ssize_t)strlen(rec));
}

/* Proves: none (the watcher reports integrity errors, mapped, in order). */
static void
test_kmsg_watch_reports_mapped_errors_in_order(void **state)
{
	const char *dir = *state;
	struct seen s;
	struct kmsg *km;
	char rec[128];
	int sv[2], i;

	memset(&s, 0, sizeof s);
	s.loop = loop_new();
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0, sv), 0);
	km = kmsg_open_fd(s.loop, sv[0], dir, seen_cb, &s);
	assert_non_null(km);

	/* More unrelated records than one wake-up reads, then the errors. */
	for (i = 0; i < 150; i++) {
		snprintf(rec, sizeof rec, "6,%d,1,-;eth0: link up\n", i);
		send_rec(sv[1], rec);
	}
	send_rec(sv[1], "3,200,1,-;device-mapper: crypt: dm-3: INTEGRITY "
	    "AEAD ERROR, sector 8\n SUBSYSTEM=block\n");
	send_rec(sv[1], "11,201,1,-;device-mapper: crypt: dm-3: INTEGRITY "
	    "AEAD ERROR, sector 9\n");
	send_rec(sv[1], "3,202,1,-;device-mapper: integrity: dm-4: Checksum "
	    "failed at sector 0x10\n");
	send_rec(sv[1], "3,203,1,-;device-mapper: crypt: dm-77: INTEGRITY "
	    "AEAD ERROR, sector 1\n");
	send_rec(sv[1], "3,204,1,-;device-mapper: verity: 7:3: data block 2 "
	    "is corrupted\n");
	send_rec(sv[1], "3,205,1,-;device-mapper: verity: 7:4: data block 2 "
	    "is corrupted\n");
	s.want = 5;
	loop_timer_init(&s.guard, seen_guard, &s);
	assert_int_equal(loop_timer_start(s.loop, &s.guard, 5000), 0);
	loop_run(s.loop);
	loop_timer_stop(s.loop, &s.guard);

	assert_false(s.timed_out);
	assert_int_equal(s.n, 5);
	assert_string_equal(s.name[0], "cml-" ID);
	assert_int_equal(s.sector[0], 8);
	assert_string_equal(s.what[0], "device-mapper: crypt: dm-3: INTEGRITY "
	    "AEAD ERROR, sector 8");
	assert_string_equal(s.name[1], "cml-" ID "_dif");
	assert_int_equal(s.sector[1], 16);
	/* A device gone before its name was read: its kernel name. */
	assert_string_equal(s.name[2], "dm-77");
	/* dm-verity's data device: the dm device holding it */
	assert_string_equal(s.name[3], "cml-" ID "_v0");
	assert_int_equal(s.sector[3], 16);
	/* held by more than one: as printed */
	assert_string_equal(s.name[4], "7:4");

	kmsg_close(km);
	close(sv[1]);
	loop_free(s.loop);
	kmsg_close(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kmsg_parse_crypt_aead_error_matches),
		cmocka_unit_test(
		    test_kmsg_parse_integrity_checksum_failed_matches),
		cmocka_unit_test(
		    test_kmsg_parse_verity_corrupted_block_matches),
		cmocka_unit_test(test_kmsg_parse_other_records_do_not_match),
		cmocka_unit_test(
		    test_kmsg_parse_truncated_records_never_overread),
		cmocka_unit_test(
		    test_kmsg_parse_hostile_bytes_rejected_or_sanitized),
		cmocka_unit_test_setup_teardown(
		    test_kmsg_dm_name_maps_and_refuses_bad_names, setup_sysfs,
		    teardown_sysfs),
		cmocka_unit_test_setup_teardown(
		    test_kmsg_watch_reports_mapped_errors_in_order,
		    setup_sysfs, teardown_sysfs),
	};

	log_init("test_kmsg", 1, LOG_LEVEL_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
