/*
 * Unit tests of the varlink framing (common/proto.c).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto.h"

/* Feeds bytes and expects the next result of proto_reader_next. */
static struct json_object *
next_ok(struct proto_reader *r)
{
	struct json_object *msg = NULL;
	char *cause = NULL;

	assert_int_equal(proto_reader_next(r, &msg, &cause), 1);
	assert_null(cause);
	assert_non_null(msg);
	return msg;
}

/* Feeds len bytes of one message to a new reader and returns it parsed. */
static struct json_object *
accepted(const char *m, size_t len)
{
	struct proto_reader r;
	struct json_object *msg;

	proto_reader_init(&r);
	proto_reader_feed(&r, m, len);
	msg = next_ok(&r);
	proto_reader_free(&r);
	return msg;
}

/* Expects proto_reader_next to find no complete message yet. */
static void
next_none(struct proto_reader *r)
{
	struct json_object *msg = NULL;
	char *cause = NULL;

	assert_int_equal(proto_reader_next(r, &msg, &cause), 0);
	assert_null(msg);
	assert_null(cause);
}

/* Feeds one message, NUL-terminated, expects it refused; returns why. */
static char *
refused(const char *m)
{
	struct proto_reader r;
	struct json_object *msg = NULL;
	char *cause = NULL;

	proto_reader_init(&r);
	proto_reader_feed(&r, m, strlen(m) + 1);
	assert_int_equal(proto_reader_next(&r, &msg, &cause), -1);
	assert_null(msg);
	assert_non_null(cause);
	proto_reader_free(&r);
	return cause;
}

/* Proves: none (a message split across reads reassembled). */
static void
test_reader_split_reads_reassembled(void **state)
{
	static const char m[] = "{\"method\":\"org.cml.Device.Status\"}";
	struct proto_reader r;
	struct json_object *msg;
	size_t i;

	proto_reader_init(&r);
	/* One byte at a time: incomplete until the NUL arrives. */
	for (i = 0; i < sizeof m - 1; i++) {
		proto_reader_feed(&r, m + i, 1);
		next_none(&r);
	}
	assert_true(proto_reader_pending(&r));
	proto_reader_feed(&r, "", 1);
	msg = next_ok(&r);
	assert_string_equal(json_object_get_string(json_object_object_get(msg,
	    "method")), "org.cml.Device.Status");
	json_object_put(msg);
	assert_false(proto_reader_pending(&r));
	next_none(&r);
	proto_reader_free(&r);
}

/* Proves: none (several messages in one read). */
static void
test_reader_several_messages_in_one_read_all_returned(void **state)
{
	static const char m[] = "{\"a\":1}\0{\"a\":2}\0{\"a\":3}\0{\"a\":";
	struct proto_reader r;
	struct json_object *msg;
	int i;

	proto_reader_init(&r);
	proto_reader_feed(&r, m, sizeof m - 1);
	for (i = 1; i <= 3; i++) {
		msg = next_ok(&r);
		assert_int_equal(json_object_get_int(json_object_object_get(msg,
		    "a")), i);
		json_object_put(msg);
	}
	next_none(&r);
	assert_true(proto_reader_pending(&r));
	proto_reader_feed(&r, "4}", 3); /* includes the NUL */
	msg = next_ok(&r);
	assert_int_equal(json_object_get_int(json_object_object_get(msg, "a")),
	    4);
	json_object_put(msg);
	proto_reader_free(&r);
}

/* Feeds one whole message (NUL included) and expects it refused. */
static char *
refused_whole(const char *m, size_t len)
{
	struct proto_reader r;
	struct json_object *msg = NULL;
	char *cause = NULL;

	proto_reader_init(&r);
	proto_reader_feed(&r, m, len);
	assert_int_equal(proto_reader_next(&r, &msg, &cause), -1);
	assert_null(msg);
	assert_non_null(cause);
	proto_reader_free(&r);
	return cause;
}

/* Proves: CR 7.1 (an escaped NUL in a string or key refused). */
static void
test_reader_escaped_nul_in_string_refused(void **state)
{
	static const char m[] = "{\"s\":\"a\\u0000b\"}";
	static const char k[] = "{\"a\\u0000b\":1}";

	(void)state;
	free(refused_whole(m, sizeof m)); /* with the terminating NUL */
	free(refused_whole(k, sizeof k));
}

/* Proves: CR 7.1 (a message cut at a NUL refused as invalid). */
static void
test_reader_raw_nul_in_string_invalid(void **state)
{
	static const char m[] = "{\"s\":\"a\0b\"}";
	struct proto_reader r;
	struct json_object *msg = NULL;
	char *cause = NULL;

	proto_reader_init(&r);
	proto_reader_feed(&r, m, sizeof m);
	assert_int_equal(proto_reader_next(&r, &msg, &cause), -1);
	assert_null(msg);
	assert_non_null(strstr(cause, "invalid JSON"));
	free(cause);
	proto_reader_free(&r);
}

/* Proves: CR 7.1 (messages bounded at 1 MiB). */
static void
test_reader_oversize_without_nul_refused(void **state)
{
	struct proto_reader r;
	struct json_object *msg = NULL;
	char *cause = NULL, *big;

	big = malloc(PROTO_MAX_MSG + 1);
	assert_non_null(big);
	memset(big, ' ', PROTO_MAX_MSG + 1);
	proto_reader_init(&r);
	/* Exactly the limit is still acceptable as an unfinished message. */
	proto_reader_feed(&r, big, PROTO_MAX_MSG);
	next_none(&r);
	proto_reader_feed(&r, big, 1);
	assert_int_equal(proto_reader_next(&r, &msg, &cause), -1);
	assert_non_null(strstr(cause, "longer than"));
	free(cause);
	proto_reader_free(&r);
	free(big);
}

/* Proves: CR 7.1 (messages bounded at 1 MiB). */
static void
test_reader_oversize_with_nul_refused(void **state)
{
	struct proto_reader r;
	struct json_object *msg = NULL;
	char *cause = NULL, *big;
	size_t len = (size_t)PROTO_MAX_MSG + 10;

	big = malloc(len + 1);
	assert_non_null(big);
	big[0] = '"';
	memset(big + 1, 'x', len - 2);
	big[len - 1] = '"';
	big[len] = '\0';
	proto_reader_init(&r);
	proto_reader_feed(&r, big, len + 1);
	assert_int_equal(proto_reader_next(&r, &msg, &cause), -1);
	assert_non_null(strstr(cause, "longer than"));
	free(cause);
	proto_reader_free(&r);
	free(big);
}

/* Proves: CR 7.1 (malformed messages refused). */
static void
test_reader_invalid_json_refused(void **state)
{
	static const char *const bad[] = {
		"{\"a\":", "nonsense", "{\"a\":1}}", "{\"a\":1} x", "[1,2]",
		"42", "\"str\"", "", "{'a':1}", "{\"a\":1,}", "{\"a\":NaN}",
		"{\"a\":01}", "{\"a\":\"\\x\"}", "{\"a\":\"tab\there\"}",
		"{\"a\":[1 2]}", "{a:1}", "{\"a\":1 /* c */}",
		"{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
	};
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		free(refused(bad[i]));
}

/* Proves: none (valid JSON read as such). */
static void
test_reader_valid_json_accepted(void **state)
{
	static const char m[] = " {\"a\" : [1, -2.5e+3, 0, true, false, null,"
	    " \"\\u00e9\\n\\\"\\/\", {}, []], \"\u00e4\": {\"b\": -0.0E1}} ";
	struct json_object *msg;

	msg = accepted(m, sizeof m);
	assert_int_equal(json_object_array_length(json_object_object_get(msg,
	    "a")), 9);
	json_object_put(msg);
}

/* Feeds one message and expects it refused with exactly want. */
static void
refused_with(const char *m, const char *want)
{
	char *cause;

	cause = refused(m);
	if (strcmp(cause, want) != 0)
		fail_msg("for %s\n got: %s\nwant: %s", m, cause, want);
	free(cause);
}

/* Proves: CR 7.1 (malformed messages refused with the reason). */
static void
test_reader_invalid_json_says_where(void **state)
{
	refused_with("nonsense",
	    "invalid JSON: unexpected character 'n' at offset 0");
	refused_with("{\"a\":1} x",
	    "invalid JSON: unexpected character 'x' at offset 8");
	refused_with("{\"a\":", "invalid JSON: unexpected end at offset 5");
	refused_with("{'a':1}",
	    "invalid JSON: unexpected byte 0x27 at offset 1");
	refused_with("{\"a\":01}",
	    "invalid JSON: number with a leading zero at offset 6");
	refused_with("{\"a\":\"tab\there\"}",
	    "invalid JSON: control character 0x09 in a string at offset 9");
	refused_with("{\"a\":\"\\u12g4\"}",
	    "invalid JSON: invalid \\u escape at offset 10");
	refused_with("[1,2]", "message is not a JSON object");
	refused_with("42", "message is not a JSON object");
	refused_with("null", "message is not a JSON object");
}

/* Returns an object with a member nested in arrays to depth levels. */
static char *
nested(int depth)
{
	char *s;
	int i;

	s = malloc(2 * (size_t)depth + 16);
	assert_non_null(s);
	strcpy(s, "{\"a\":");
	for (i = 1; i < depth; i++)
		strcat(s, "[");
	strcat(s, "1");
	for (i = 1; i < depth; i++)
		strcat(s, "]");
	strcat(s, "}");
	return s;
}

/* Proves: CR 7.1 (nesting bounded at 32 levels). */
static void
test_reader_nesting_limit_is_32_levels(void **state)
{
	char *s;

	s = nested(32);
	json_object_put(accepted(s, strlen(s) + 1));
	free(s);

	s = nested(33);
	refused_with(s, "invalid JSON: nested deeper than 32 levels at "
	    "offset 36");
	free(s);
}

/*
 * The framing checks the grammar only; what a value means is for its
 * reader, so these reach json-c as they are.
 */
/*
 * A message has one meaning only: a field given twice, an escaped field
 * name, bytes that are not UTF-8, a lone surrogate and an integer beyond
 * 64 bits are refused, not read in some way.
 * Proves: CR 7.1 (one meaning only; invalid UTF-8 refused).
 */
static void
test_reader_ambiguous_values_refused(void **state)
{
	static const char *cases[] = {
		"{\"a\":1,\"a\":2}",
		"{\"a\\u0062\":1}",
		"{\"a\":\"\xff\"}",
		"{\"a\":\"\xc3\"}",
		"{\"a\":\"\xed\xa0\x80\"}",
		"{\"a\":\"\\udc00\"}",
		"{\"a\":-9223372036854775809}",
		"{\"\xfe\xff\":1}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		free(refused_whole(cases[i], strlen(cases[i]) + 1));
	/* valid UTF-8 beyond ASCII is text like any other */
	{
		static const char ok[] = "{\"a\":\"\xc3\xa4\xe2\x82\xac\"}";

		json_object_put(accepted(ok, sizeof ok));
	}
}

/* Proves: CR 7.1 (calls of the wrong shape refused). */
static void
test_call_parse_shapes_checked(void **state)
{
	static const struct {
		const char *json;
		int ok;
	} cases[] = {
		{ "{\"method\":\"a.b.C\"}", 1 },
		{ "{\"method\":\"a.b.C\",\"parameters\":{}}", 1 },
		{ "{\"method\":\"a.b.C\",\"parameters\":null}", 1 },
		{ "{\"method\":\"a.b.C\",\"more\":true}", 1 },
		{ "{}", 0 },
		{ "{\"method\":1}", 0 },
		{ "{\"method\":\"a.b.C\",\"parameters\":[]}", 0 },
		{ "{\"method\":\"a.b.C\",\"more\":\"yes\"}", 0 },
		{ "{\"method\":\"a.b.C\",\"upgrade\":true}", 0 },
		{ "{\"method\":\"a\\u0000b\"}", 0 },
	};
	struct proto_call call;
	struct json_object *msg;
	char *cause = NULL;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		msg = json_tokener_parse(cases[i].json);
		assert_non_null(msg);
		if (cases[i].ok) {
			assert_int_equal(proto_call_parse(msg, &call, &cause),
			    0);
			assert_string_equal(call.method, "a.b.C");
			assert_true(json_object_is_type(call.params,
			    json_type_object));
		} else {
			assert_int_equal(proto_call_parse(msg, &call, &cause),
			    -1);
			assert_non_null(cause);
			free(cause);
			cause = NULL;
		}
		json_object_put(msg);
	}
}

/* Proves: none (replies and errors written and read back). */
static void
test_writer_roundtrip_over_socketpair(void **state)
{
	struct proto_reader r;
	struct proto_reply reply;
	struct json_object *msg, *got;
	char *cause = NULL;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	msg = proto_error_new(PROTO_ERR_METHOD_NOT_FOUND, "x.y.Z", "no %s",
	    "way");
	assert_int_equal(proto_send(sv[0], msg, &cause), 0);
	json_object_put(msg);
	msg = proto_reply_new(NULL, 1);
	assert_int_equal(proto_send(sv[0], msg, &cause), 0);
	json_object_put(msg);

	proto_reader_init(&r);
	assert_int_equal(proto_recv(sv[1], &r, &got, &cause), 0);
	assert_int_equal(proto_reply_parse(got, &reply, &cause), 0);
	assert_string_equal(reply.error, PROTO_ERR_METHOD_NOT_FOUND);
	assert_string_equal(proto_reply_message(&reply), "no way");
	assert_string_equal(json_object_get_string(json_object_object_get(
	    reply.params, "method")), "x.y.Z");
	json_object_put(got);
	assert_int_equal(proto_recv(sv[1], &r, &got, &cause), 0);
	assert_int_equal(proto_reply_parse(got, &reply, &cause), 0);
	assert_null(reply.error);
	assert_true(reply.continues);
	json_object_put(got);

	close(sv[0]);
	assert_int_equal(proto_recv(sv[1], &r, &got, &cause), -1);
	assert_non_null(strstr(cause, "closed"));
	free(cause);
	proto_reader_free(&r);
	close(sv[1]);
}

/* Proves: CR 7.1 (replies bounded too). */
static void
test_writer_oversize_refused(void **state)
{
	struct proto_writer w;
	struct json_object *msg;
	char *big;

	big = malloc(PROTO_MAX_MSG + 1);
	assert_non_null(big);
	memset(big, 'x', PROTO_MAX_MSG);
	big[PROTO_MAX_MSG] = '\0';
	msg = json_object_new_object();
	json_object_object_add(msg, "s", json_object_new_string(big));
	proto_writer_init(&w);
	assert_int_equal(proto_writer_queue(&w, msg), -1);
	assert_int_equal(proto_writer_pending(&w), 0);
	proto_writer_free(&w);
	json_object_put(msg);
	free(big);
}

/* Returns the number of open descriptors of this process. */
static int
count_fds(void)
{
	int n = 0, fd;

	for (fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

/* Says whether two descriptors are the same open file. */
static int
same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
	    sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
 * Descriptors travel with the message they were queued with, whatever
 * comes before and after it and however the bytes are split.
 * Proves: CR 7.1 (files passed as descriptors; none leaked).
 */
static void
test_fds_travel_with_their_message(void **state)
{
	struct proto_writer w;
	struct proto_reader r;
	struct json_object *m, *big, *msgs[4];
	int sv[2], p[2], q[2], got[4][PROTO_MAX_FDS], d[3];
	size_t nfds[4], nmsg = 0;
	char *pad, *cause = NULL;
	int before, rc, wrc = 0;

	(void)state;
	before = count_fds();
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(q), 0);
	proto_writer_init(&w);
	m = proto_reply_new(NULL, 1);
	assert_int_equal(proto_writer_queue(&w, m), 0);
	d[0] = dup(p[0]);
	d[1] = dup(p[1]);
	assert_int_equal(proto_writer_queue_fds(&w, m, d, 2), 0);
	/* a message larger than the socket buffer, with one descriptor */
	pad = malloc(300000);
	memset(pad, 'x', 299999);
	pad[299999] = '\0';
	big = json_object_new_object();
	json_object_object_add(big, "pad", json_object_new_string(pad));
	free(pad);
	d[2] = dup(q[0]);
	assert_int_equal(proto_writer_queue_fds(&w, big, &d[2], 1), 0);
	assert_int_equal(proto_writer_queue(&w, m), 0);
	json_object_put(m);
	json_object_put(big);

	/* writer and reader take turns, as over a real connection */
	proto_reader_init(&r);
	while (nmsg < 4) {
		if (wrc != 1)
			assert_int_not_equal(wrc = proto_writer_flush(&w,
			    sv[0]), -1);
		while (nmsg < 4 && (rc = proto_reader_next(&r, &msgs[nmsg],
		    &cause)) == 1) {
			nfds[nmsg] = proto_reader_take_fds(&r, got[nmsg],
			    PROTO_MAX_FDS);
			nmsg++;
		}
		assert_int_not_equal(rc, -1);
		if (nmsg < 4 && proto_reader_fill(&r, sv[1]) == -1)
			assert_int_equal(errno, EAGAIN);
	}
	proto_writer_free(&w);
	assert_int_equal(nfds[0], 0);
	assert_int_equal(nfds[1], 2);
	assert_true(same_file(got[1][0], p[0]));
	assert_true(same_file(got[1][1], p[1]));
	assert_int_equal(nfds[2], 1);
	assert_non_null(json_object_object_get(msgs[2], "pad"));
	assert_true(same_file(got[2][0], q[0]));
	assert_int_equal(nfds[3], 0);
	close(got[1][0]);
	close(got[1][1]);
	close(got[2][0]);
	for (nmsg = 0; nmsg < 4; nmsg++)
		json_object_put(msgs[nmsg]);
	proto_reader_free(&r);
	close(sv[0]);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	assert_int_equal(count_fds(), before);
}

/* Sends bytes with descriptors attached, as a hostile peer may. */
static void
send_raw_fds(int sock, const char *data, size_t len, const int *fds,
    size_t nfds)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * 64)];
	} cbuf;
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *cm;

	memset(&mh, 0, sizeof mh);
	memset(&cbuf, 0, sizeof cbuf);
	iov.iov_base = (void *)data;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	assert_int_equal(sendmsg(sock, &mh, 0), (ssize_t)len);
}

/* Reads everything sock has and expects the stream refused. */
static void
expect_stream_refused(int sock, const char *why)
{
	struct proto_reader r;
	struct json_object *msg = NULL;
	char *cause = NULL;
	int rc;

	proto_reader_init(&r);
	for (;;) {
		rc = proto_reader_next(&r, &msg, &cause);
		if (rc == 1) {
			json_object_put(msg);
			continue;
		}
		if (rc == -1)
			break;
		assert_true(proto_reader_fill(&r, sock) > 0);
	}
	assert_non_null(strstr(cause, why));
	free(cause);
	proto_reader_free(&r);
}

/*
 * Descriptors passed with bytes in the middle of a message, or more than
 * a message may carry, break the stream; none of them stays open.
 * Proves: CR 7.1 (misplaced or surplus descriptors refused; none kept).
 */
static void
test_fds_misplaced_or_too_many_refused(void **state)
{
	static const char head[] = "{\"method\":\"a.b";
	static const char tail[] = ".C\"}";
	struct proto_reader r;
	struct json_object *msg = NULL;
	char *cause = NULL;
	int sv[2], many[PROTO_MAX_FDS + 1], before;
	size_t i;

	(void)state;
	before = count_fds();
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(send(sv[0], head, sizeof head - 1, 0),
	    (ssize_t)(sizeof head - 1));
	proto_reader_init(&r);
	assert_int_equal(proto_reader_fill(&r, sv[1]), sizeof head - 1);
	send_raw_fds(sv[0], tail, sizeof tail, &sv[0], 1);
	assert_int_equal(proto_reader_fill(&r, sv[1]), sizeof tail);
	assert_int_equal(proto_reader_next(&r, &msg, &cause), -1);
	assert_non_null(strstr(cause, "middle of a message"));
	free(cause);
	proto_reader_free(&r);
	close(sv[0]);
	close(sv[1]);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	for (i = 0; i < PROTO_MAX_FDS + 1; i++)
		many[i] = sv[0];
	send_raw_fds(sv[0], tail + 2, 3, many, PROTO_MAX_FDS + 1);
	shutdown(sv[0], SHUT_WR);
	expect_stream_refused(sv[1], "descriptors");
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(count_fds(), before);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reader_split_reads_reassembled),
		cmocka_unit_test(
		    test_reader_several_messages_in_one_read_all_returned),
		cmocka_unit_test(test_reader_escaped_nul_in_string_refused),
		cmocka_unit_test(test_reader_raw_nul_in_string_invalid),
		cmocka_unit_test(test_reader_oversize_without_nul_refused),
		cmocka_unit_test(test_reader_oversize_with_nul_refused),
		cmocka_unit_test(test_reader_invalid_json_refused),
		cmocka_unit_test(test_reader_valid_json_accepted),
		cmocka_unit_test(test_reader_invalid_json_says_where),
		cmocka_unit_test(test_reader_nesting_limit_is_32_levels),
		cmocka_unit_test(test_reader_ambiguous_values_refused),
		cmocka_unit_test(test_call_parse_shapes_checked),
		cmocka_unit_test(test_writer_roundtrip_over_socketpair),
		cmocka_unit_test(test_writer_oversize_refused),
		cmocka_unit_test(test_fds_travel_with_their_message),
		cmocka_unit_test(test_fds_misplaced_or_too_many_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
