/*
 * Unit tests of cmld as the kernel's audit daemon (daemon/cmld/kaudit.c),
 * without a socket: the parser on messages as the kernel sends them over
 * NETLINK_AUDIT (type names, the time and serial, the subject, res= and
 * success=, a user message's msg='...', bounds, hostile bytes), the field
 * lookup, and the check that cmld runs as root in the initial namespaces
 * on a private /proc tree.  The registration itself is proven in the
 * virtual machine (tests/vm/init.sh): enabling the kernel's auditing is
 * global to the machine that runs the test.
 *
 * Proves: TSF.AUDIT, CR 2.8 (kernel audit records become trail records
 * with their type, subject and result; hostile or oversized messages
 * stay bounded).
 */
#include "config.h"

#include <sys/stat.h>

#include <linux/netlink.h>

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

#include "kaudit.h"
#include "log.h"
#include "testutil.h"
#include "xmalloc.h"

/* Parses the string data as a message of type into m; returns the result. */
static int
parse(int type, const char *data, struct kaudit_msg *m)
{
	return kaudit_parse(type, data, strlen(data), m);
}

/* Proves: TSF.AUDIT (each common kernel record type has its name). */
static void
test_kaudit_type_name_common_types_named(void **state)
{
	struct kaudit_msg m;

	(void)state;
	assert_string_equal(kaudit_type_name(1300), "SYSCALL");
	assert_string_equal(kaudit_type_name(1305), "CONFIG_CHANGE");
	assert_string_equal(kaudit_type_name(1701), "ANOM_ABEND");
	assert_string_equal(kaudit_type_name(1005), "USER");
	assert_string_equal(kaudit_type_name(1400), "AVC");
	assert_string_equal(kaudit_type_name(1326), "SECCOMP");
	assert_string_equal(kaudit_type_name(1100), "USER_AUTH");
	assert_null(kaudit_type_name(1999));
	assert_null(kaudit_type_name(0));
	assert_null(kaudit_type_name(-1));
	/* An unknown type is stored under its number. */
	assert_int_equal(parse(1999, "audit(1.000:1): x=1", &m), 0);
	assert_string_equal(m.object, "type 1999");
	assert_int_equal(parse(2999, "x", &m), 0);
	assert_string_equal(m.object, "type 2999");
}

/* Proves: TSF.AUDIT, CR 2.8 (ANOM_ABEND: subject, command, result, time). */
static void
test_kaudit_parse_anom_abend_subject_and_result(void **state)
{
	struct kaudit_msg m;
	const char *rec =
	    "audit(1700000000.123:45): auid=4294967295 uid=0 "
	    "gid=0 ses=4294967295 subj=unconfined pid=321 comm=\"sh\" "
	    "exe=\"/bin/busybox\" sig=11 res=1";

	(void)state;
	assert_int_equal(parse(1701, rec, &m), 0);
	assert_int_equal(m.type, 1701);
	assert_string_equal(m.object, "ANOM_ABEND");
	assert_int_equal(m.time_ms, 1700000000123LL);
	assert_int_equal(m.serial, 45);
	assert_int_equal(m.uid, 0);
	assert_int_equal(m.pid, 321);
	assert_string_equal(m.comm, "sh");
	assert_string_equal(m.result, "ok");
	assert_string_equal(m.text, rec);

	/* As Linux 6.1 sent it in the test VM, with its NUL. */
	rec = "audit(1796305330.880:3): auid=4294967295 uid=0 gid=0 "
	      "ses=4294967295 subj=unconfined pid=1618 comm=\"sh\" "
	      "exe=\"/bin/busybox\" sig=11 res=1";
	assert_int_equal(kaudit_parse(1701, rec, strlen(rec) + 1, &m), 0);
	assert_int_equal(m.pid, 1618);
	assert_string_equal(m.result, "ok");
}

/* Proves: TSF.AUDIT (SYSCALL: success=, whole keys: ppid is not pid). */
static void
test_kaudit_parse_syscall_success_and_whole_keys(void **state)
{
	struct kaudit_msg m;

	(void)state;
	assert_int_equal(
	    parse(1300,
		"audit(1700000001.002:46): "
		"arch=c000003e syscall=59 success=no exit=-13 a0=1 items=1 "
		"ppid=1 pid=77 auid=1000 uid=1001 gid=0 euid=0 comm=\"cat\" "
		"exe=\"/bin/cat\" key=(null)\n",
		&m),
	    0);
	assert_string_equal(m.object, "SYSCALL");
	assert_int_equal(m.time_ms, 1700000001002LL);
	assert_int_equal(m.pid, 77);
	assert_int_equal(m.uid, 1001);
	assert_string_equal(m.comm, "cat");
	assert_string_equal(m.result, "failed");
	/* The trailing newline is not part of the text. */
	assert_null(strchr(m.text, '\n'));

	/* Only ppid=, and audit_pid=: no pid of the subject. */
	assert_int_equal(parse(1300,
			     "audit(1.000:1): ppid=5 audit_pid=6 "
			     "xpid=7 success=yes",
			     &m),
	    0);
	assert_int_equal(m.pid, -1);
	assert_string_equal(m.result, "ok");
}

/*
 * Proves: TSF.AUDIT (a configuration change the kernel makes itself
 * names no process: uid and pid -1; auid= stands in for a missing uid=).
 */
static void
test_kaudit_parse_config_change_without_process(void **state)
{
	struct kaudit_msg m;

	(void)state;
	assert_int_equal(
	    parse(1305,
		"audit(1700000002.000:47): op=set "
		"audit_pid=123 old=0 auid=4294967295 ses=4294967295 res=1",
		&m),
	    0);
	assert_string_equal(m.object, "CONFIG_CHANGE");
	assert_int_equal(m.uid, -1);
	assert_int_equal(m.pid, -1);
	assert_string_equal(m.comm, "");
	assert_string_equal(m.result, "ok");

	assert_int_equal(parse(1305,
			     "audit(1700000002.000:48): op=set "
			     "audit_enabled=0 old=1 auid=1000 ses=3 res=0",
			     &m),
	    0);
	assert_int_equal(m.uid, 1000);
	assert_string_equal(m.result, "failed");
	/* uid= wins over auid=. */
	assert_int_equal(parse(1305, "auid=1000 uid=0 res=1", &m), 0);
	assert_int_equal(m.uid, 0);
}

/*
 * Proves: TSF.AUDIT (a user message's result is inside msg='...'; the
 * outer subject wins over fields inside it).
 */
static void
test_kaudit_parse_user_message_inner_result(void **state)
{
	struct kaudit_msg m;

	(void)state;
	assert_int_equal(
	    parse(1100,
		"audit(1700000003.500:49): pid=900 "
		"uid=0 auid=1000 ses=2 msg='op=PAM:authentication grantors=? "
		"acct=\"root\" exe=\"/bin/su\" pid=1 hostname=? addr=? "
		"terminal=pts/0 res=failed'",
		&m),
	    0);
	assert_string_equal(m.object, "USER_AUTH");
	assert_int_equal(m.pid, 900);
	assert_int_equal(m.uid, 0);
	assert_string_equal(m.result, "failed");

	assert_int_equal(
	    parse(1005, "pid=3 uid=0 msg='op=x res=success'", &m), 0);
	assert_string_equal(m.result, "ok");
	/* An outer res= wins over the one inside. */
	assert_int_equal(parse(1005, "res=0 msg='res=1'", &m), 0);
	assert_string_equal(m.result, "failed");
	/* msg="..." (double quotes) is a plain value, not looked into. */
	assert_int_equal(parse(1005, "msg=\"res=1\"", &m), 0);
	assert_string_equal(m.result, "-");
}

/*
 * Proves: TSF.AUDIT (results: mapped words, other values as given, "-"
 * when none; an AVC's verdict; quoted values are not fields).
 */
static void
test_kaudit_parse_results(void **state)
{
	struct kaudit_msg m;

	(void)state;
	assert_int_equal(parse(1305, "op=x res=yes", &m), 0);
	assert_string_equal(m.result, "ok");
	assert_int_equal(parse(1305, "op=x res=fail", &m), 0);
	assert_string_equal(m.result, "failed");
	assert_int_equal(parse(1305, "op=x res=maybe", &m), 0);
	assert_string_equal(m.result, "maybe");
	assert_int_equal(
	    parse(1302, "audit(1.000:2): item=0 name=\"/x\"", &m), 0);
	assert_string_equal(m.result, "-");
	/* A value that looks like a field does not count. */
	assert_int_equal(
	    parse(1300, "exe=\"/x res=1\" comm=\"a res=1\"", &m), 0);
	assert_string_equal(m.result, "-");
	assert_string_equal(m.comm, "a res=1");
	/* An over-long result is cut to its room. */
	assert_int_equal(parse(1300,
			     "res=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			     "aaaaaaaaaa",
			     &m),
	    0);
	assert_int_equal(strlen(m.result), KAUDIT_RESULT_MAX - 1);

	assert_int_equal(
	    parse(1400,
		"audit(1700000004.000:50): avc:  denied  "
		"{ read } for  pid=12 comm=\"cat\" name=\"shadow\" dev=\"vda\" "
		"ino=5 scontext=u:r:t:s0 tcontext=u:r:s:s0 tclass=file "
		"permissive=0",
		&m),
	    0);
	assert_string_equal(m.object, "AVC");
	assert_string_equal(m.result, "denied");
	assert_int_equal(m.pid, 12);
	assert_int_equal(parse(1107,
			     "pid=1 uid=0 msg='avc:  granted  { x } "
			     "for'",
			     &m),
	    0);
	assert_string_equal(m.result, "-");
	assert_int_equal(parse(1400,
			     "avc:  granted  { setenforce } for "
			     "pid=2",
			     &m),
	    0);
	assert_string_equal(m.result, "granted");
}

/* Proves: none (comm= in hex is decoded; other values are kept). */
static void
test_kaudit_parse_comm_hex_decoded(void **state)
{
	struct kaudit_msg m;

	(void)state;
	/* "my prog" has a blank: the kernel prints it in hex. */
	assert_int_equal(parse(1701, "pid=4 comm=6D792070726F67 res=1", &m), 0);
	assert_string_equal(m.comm, "my prog");
	assert_int_equal(parse(1701, "pid=4 comm=(null)", &m), 0);
	assert_string_equal(m.comm, "(null)");
	assert_int_equal(parse(1701, "pid=4 comm=616", &m), 0);
	assert_string_equal(m.comm, "616");
	assert_int_equal(parse(1701, "pid=4 comm=0061", &m), 0);
	assert_string_equal(m.comm, "0061");
	/* Quoted, it is what it is, even when it looks like hex. */
	assert_int_equal(parse(1701, "pid=4 comm=\"abcd\"", &m), 0);
	assert_string_equal(m.comm, "abcd");
}

/*
 * Proves: TSF.AUDIT (the time and serial only from a well-formed prefix;
 * numbers out of range name no subject).
 */
static void
test_kaudit_parse_malformed_stamp_and_numbers(void **state)
{
	struct kaudit_msg m;
	static const char *const bad[] = {
		"audit(12.3:4): pid=1",
		"audit(12.3456:4): pid=1",
		"audit(.123:4): pid=1",
		"audit(12.123:): pid=1",
		"audit(12.123:4) pid=1",
		"audit(12.123:4",
		"audit(1234567890123.123:4): pid=1",
		"audit(12.123:4567890123456): pid=1",
		"xaudit(12.123:4): pid=1",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(parse(1300, bad[i], &m), 0);
		assert_int_equal(m.time_ms, 0);
		assert_int_equal(m.serial, -1);
		assert_string_equal(m.text, bad[i]);
	}
	assert_int_equal(parse(1300,
			     "pid=99999999999999999999 "
			     "uid=4294967296",
			     &m),
	    0);
	assert_int_equal(m.pid, -1);
	assert_int_equal(m.uid, -1);
	assert_int_equal(parse(1300, "pid=-5 uid=-1 auid=x", &m), 0);
	assert_int_equal(m.pid, -1);
	assert_int_equal(m.uid, -1);
	assert_int_equal(parse(1300, "pid=0 uid=4294967295", &m), 0);
	assert_int_equal(m.pid, -1);
	assert_int_equal(m.uid, -1);
	assert_int_equal(parse(1300, "pid=2147483647 uid=4294967294", &m), 0);
	assert_int_equal(m.pid, 2147483647LL);
	assert_int_equal(m.uid, 4294967294LL);
}

/*
 * Proves: CR 2.8 (a record is bounded: a longer one is cut and marked;
 * nothing after a NUL counts; an empty one is refused).
 */
static void
test_kaudit_parse_bounds(void **state)
{
	struct kaudit_msg m;
	char *big;
	size_t n = 3 * KAUDIT_TEXT_MAX;

	(void)state;
	big = xmalloc(n);
	memset(big, 'a', n);
	memcpy(big, "audit(5.006:7): ", 16);
	assert_int_equal(kaudit_parse(1300, big, n, &m), 0);
	assert_int_equal(strlen(m.text), KAUDIT_TEXT_MAX - 1);
	assert_string_equal(m.text + KAUDIT_TEXT_MAX - 4, "...");
	assert_int_equal(m.time_ms, 5006);
	assert_int_equal(m.serial, 7);
	/* Exactly the room: kept whole. */
	assert_int_equal(kaudit_parse(1300, big, KAUDIT_TEXT_MAX - 1, &m), 0);
	assert_int_equal(strlen(m.text), KAUDIT_TEXT_MAX - 1);
	assert_int_equal(m.text[KAUDIT_TEXT_MAX - 2], 'a');
	/*
	 * A field cut by the bound is not read past it, nor taken as a
	 * shorter number: "pid=1234..." names no process.
	 */
	memcpy(big + KAUDIT_TEXT_MAX - 13, " pid=123456789", 14);
	assert_int_equal(kaudit_parse(1300, big, n, &m), 0);
	assert_string_equal(m.text + KAUDIT_TEXT_MAX - 8, "1234...");
	assert_int_equal(m.pid, -1);
	free(big);

	assert_int_equal(kaudit_parse(1300, "pid=5\0pid=6 res=1", 17, &m), 0);
	assert_string_equal(m.text, "pid=5");
	assert_int_equal(m.pid, 5);
	assert_string_equal(m.result, "-");
	assert_int_equal(kaudit_parse(1300, "", 0, &m), -1);
	assert_int_equal(kaudit_parse(1300, "\n \n", 3, &m), -1);
	assert_int_equal(kaudit_parse(1300, "\0abc", 4, &m), -1);
	assert_int_equal(kaudit_parse(1300, NULL, 0, &m), -1);
	/* The object is set even for a refused one. */
	assert_string_equal(m.object, "SYSCALL");
}

/*
 * Proves: CR 2.8 (hostile bytes: every message parses within its bounds,
 * the text always ends in its room, the subject is a number or -1).
 */
static void
test_kaudit_parse_garbage_stays_bounded(void **state)
{
	static const char alphabet[] = "audit(0123456789.:) =\"'pidures"
				       "msgcomm\n\t\x01\xff\xc3";
	struct kaudit_msg m;
	char buf[4096];
	unsigned int seed = 14;
	size_t i, len;
	int round, r;

	(void)state;
	for (round = 0; round < 2000; round++) {
		len = (size_t)(rand_r(&seed) % sizeof buf);
		for (i = 0; i < len; i++) {
			if (round % 2 == 0)
				buf[i] = (char)rand_r(&seed);
			else
				buf[i] = alphabet[rand_r(&seed) %
				    (sizeof alphabet - 1)];
		}
		r = kaudit_parse(1300 + round % 500, buf, len, &m);
		assert_true(r == 0 || r == -1);
		assert_non_null(memchr(m.text, '\0', sizeof m.text));
		assert_non_null(memchr(m.comm, '\0', sizeof m.comm));
		assert_non_null(memchr(m.result, '\0', sizeof m.result));
		assert_non_null(memchr(m.object, '\0', sizeof m.object));
		assert_true(m.pid == -1 || (m.pid > 0 && m.pid <= INT_MAX));
		assert_true(m.uid >= -1 && m.uid < 4294967295LL);
		assert_true(m.serial >= -1);
		assert_true(m.result[0] != '\0');
	}
}

/*
 * Proves: TSF.AUDIT (a record's whole text is read from its datagram: the
 * kernel's nlmsg_len counts the payload only, which must not cut off its
 * last 16 bytes, res= among them; other messages are no records).
 */
static void
test_kaudit_datagram_kernel_length_quirk(void **state)
{
	static const char text[] = "audit(1.000:2): op=set audit_pid=9 "
				   "old=0 auid=4294967295 ses=4294967295 res=1";
	union {
		struct nlmsghdr h;
		char b[256];
	} d;
	const char *data;
	size_t len, n = NLMSG_HDRLEN + sizeof text - 1;
	struct kaudit_msg m;

	(void)state;
	memset(&d, 0, sizeof d);
	memcpy(d.b + NLMSG_HDRLEN, text, sizeof text - 1);
	d.h.nlmsg_type = 1305;
	/* As the kernel sends it. */
	d.h.nlmsg_len = sizeof text - 1;
	assert_int_equal(kaudit_datagram(d.b, n, &data, &len), 1305);
	assert_int_equal(len, sizeof text - 1);
	assert_memory_equal(data, text, len);
	assert_int_equal(kaudit_parse(1305, data, len, &m), 0);
	assert_string_equal(m.result, "ok");
	/* As netlink counts elsewhere (header and payload). */
	d.h.nlmsg_len = NLMSG_LENGTH(sizeof text - 1);
	assert_int_equal(kaudit_datagram(d.b, n, &data, &len), 1305);
	assert_int_equal(len, sizeof text - 1);
	/* A length past the datagram is cut to it. */
	d.h.nlmsg_len = 100000;
	assert_int_equal(kaudit_datagram(d.b, n, &data, &len), 1305);
	assert_int_equal(len, sizeof text - 1);
	/* Too short for a header, or no record: 0. */
	assert_int_equal(
	    kaudit_datagram(d.b, NLMSG_HDRLEN - 1, &data, &len), 0);
	d.h.nlmsg_type = NLMSG_ERROR;
	assert_int_equal(kaudit_datagram(d.b, n, &data, &len), 0);
	d.h.nlmsg_type = 1000; /* AUDIT_GET: the status */
	assert_int_equal(kaudit_datagram(d.b, n, &data, &len), 0);
	d.h.nlmsg_type = 3000;
	assert_int_equal(kaudit_datagram(d.b, n, &data, &len), 0);
}

/* Proves: none (field lookup: whole keys, quotes, bounds). */
static void
test_kaudit_field_lookup(void **state)
{
	char v[8];

	(void)state;
	assert_int_equal(kaudit_field("ppid=1 pid=2", "pid", v, sizeof v), 1);
	assert_string_equal(v, "2");
	assert_int_equal(kaudit_field("ppid=1", "pid", v, sizeof v), 0);
	assert_int_equal(kaudit_field("a=\"x y\" b=3", "b", v, sizeof v), 1);
	assert_string_equal(v, "3");
	assert_int_equal(kaudit_field("a=\"x b=4\"", "b", v, sizeof v), 0);
	assert_int_equal(kaudit_field("a='x b=4' b=5", "b", v, sizeof v), 1);
	assert_string_equal(v, "5");
	assert_int_equal(
	    kaudit_field("a=\"unterminated b=6", "b", v, sizeof v), 0);
	assert_int_equal(kaudit_field("a=\"unterminated", "a", v, sizeof v), 1);
	assert_string_equal(v, "untermi");
	assert_int_equal(kaudit_field("a= b=1", "a", v, sizeof v), 1);
	assert_string_equal(v, "");
	assert_int_equal(kaudit_field("word a=1", "word", v, sizeof v), 0);
	assert_int_equal(kaudit_field("", "a", v, sizeof v), 0);
	assert_int_equal(kaudit_field("=1 a=2", "a", v, sizeof v), 1);
	assert_string_equal(v, "2");
}

/* Makes dir/PID/ns/NS a link to target. */
static void
ns_link(const char *dir, const char *pid, const char *ns, const char *target)
{
	char path[PATH_MAX];

	snprintf(path, sizeof path, "%s/%s", dir, pid);
	(void)mkdir(path, 0700);
	snprintf(path, sizeof path, "%s/%s/ns", dir, pid);
	(void)mkdir(path, 0700);
	snprintf(path, sizeof path, "%s/%s/ns/%s", dir, pid, ns);
	(void)unlink(path);
	assert_int_equal(symlink(target, path), 0);
}

/* Makes a private /proc tree (links only). */
static int
setup_proc(void **state)
{
	char *dir;

	dir = xstrdup("/tmp/cml-test-kaudit.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

/* Removes the private /proc tree. */
static int
teardown_proc(void **state)
{
	char *dir = *state;
	int ret;

	ret = test_remove_tree(dir);
	free(dir);
	return ret;
}

/*
 * Proves: TSF.AUDIT (kernel records are collected only by root in the
 * initial user and network namespaces, and the refusal says why).
 */
static void
test_kaudit_eligible_root_initial_namespaces_only(void **state)
{
	const char *dir = *state;
	char *why = NULL;

	/* Not root: refused before anything is read. */
	assert_int_equal(kaudit_eligible(dir, 1000, &why), -1);
	assert_non_null(strstr(why, "does not run as root"));
	assert_non_null(strstr(why, "1000"));
	free(why);
	why = NULL;

	/* Nothing to compare with: refused, naming the link. */
	assert_int_equal(kaudit_eligible(dir, 0, &why), -1);
	assert_non_null(strstr(why, "cannot tell"));
	assert_non_null(strstr(why, "/self/ns/user"));
	free(why);
	why = NULL;

	ns_link(dir, "self", "user", "user:[4026531837]");
	ns_link(dir, "1", "user", "user:[4026531837]");
	ns_link(dir, "self", "net", "net:[4026532999]");
	ns_link(dir, "1", "net", "net:[4026531840]");
	assert_int_equal(kaudit_eligible(dir, 0, &why), -1);
	assert_non_null(strstr(why, "network namespace of its own"));
	assert_non_null(strstr(why, "net:[4026532999]"));
	free(why);
	why = NULL;

	ns_link(dir, "self", "net", "net:[4026531840]");
	assert_int_equal(kaudit_eligible(dir, 0, &why), 0);
	assert_null(why);

	ns_link(dir, "self", "user", "user:[4026532000]");
	assert_int_equal(kaudit_eligible(dir, 0, &why), -1);
	assert_non_null(strstr(why, "user namespace of its own"));
	free(why);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kaudit_type_name_common_types_named),
		cmocka_unit_test(
		    test_kaudit_parse_anom_abend_subject_and_result),
		cmocka_unit_test(
		    test_kaudit_parse_syscall_success_and_whole_keys),
		cmocka_unit_test(
		    test_kaudit_parse_config_change_without_process),
		cmocka_unit_test(test_kaudit_parse_user_message_inner_result),
		cmocka_unit_test(test_kaudit_parse_results),
		cmocka_unit_test(test_kaudit_parse_comm_hex_decoded),
		cmocka_unit_test(test_kaudit_parse_malformed_stamp_and_numbers),
		cmocka_unit_test(test_kaudit_parse_bounds),
		cmocka_unit_test(test_kaudit_parse_garbage_stays_bounded),
		cmocka_unit_test(test_kaudit_datagram_kernel_length_quirk),
		cmocka_unit_test(test_kaudit_field_lookup),
		cmocka_unit_test_setup_teardown(
		    test_kaudit_eligible_root_initial_namespaces_only,
		    setup_proc, teardown_proc),
	};

	log_init("test_kaudit", 1, LOG_LEVEL_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
