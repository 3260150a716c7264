/*
 * Unit tests of the varlink framing (common/proto.c).
 */
#include "config.h"

#include <sys/socket.h>

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

static void
test_reader_escaped_nul_in_string_kept(void **state)
{
	static const char m[] = "{\"s\":\"a\\u0000b\"}";
	struct json_object *msg, *s;

	msg = accepted(m, sizeof m); /* with the terminating NUL */
	s = json_object_object_get(msg, "s");
	assert_int_equal(json_object_get_string_len(s), 3);
	assert_memory_equal(json_object_get_string(s), "a\0b", 3);
	json_object_put(msg);
}

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
static void
test_reader_grammar_only_values_accepted(void **state)
{
	static const struct {
		const char *json;
		const char *want;
	} cases[] = {
		{ "{\"a\":1,\"a\":2}", "{\"a\":2}" },
		{ "{\"a\\u0062\":1}", "{\"ab\":1}" },
		{ "{\"a\":\"\xff\"}", "{\"a\":\"\xff\"}" },
		/* json-c makes these U+FFFD and INT64_MIN. */
		{ "{\"a\":\"\\udc00\"}", NULL },
		{ "{\"a\":-9223372036854775809}", NULL },
	};
	struct json_object *msg;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		msg = accepted(cases[i].json, strlen(cases[i].json) + 1);
		if (cases[i].want != NULL)
			assert_string_equal(json_object_to_json_string_ext(msg,
			    JSON_C_TO_STRING_PLAIN), cases[i].want);
		json_object_put(msg);
	}
}

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reader_split_reads_reassembled),
		cmocka_unit_test(
		    test_reader_several_messages_in_one_read_all_returned),
		cmocka_unit_test(test_reader_escaped_nul_in_string_kept),
		cmocka_unit_test(test_reader_raw_nul_in_string_invalid),
		cmocka_unit_test(test_reader_oversize_without_nul_refused),
		cmocka_unit_test(test_reader_oversize_with_nul_refused),
		cmocka_unit_test(test_reader_invalid_json_refused),
		cmocka_unit_test(test_reader_valid_json_accepted),
		cmocka_unit_test(test_reader_invalid_json_says_where),
		cmocka_unit_test(test_reader_nesting_limit_is_32_levels),
		cmocka_unit_test(test_reader_grammar_only_values_accepted),
		cmocka_unit_test(test_call_parse_shapes_checked),
		cmocka_unit_test(test_writer_roundtrip_over_socketpair),
		cmocka_unit_test(test_writer_oversize_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
