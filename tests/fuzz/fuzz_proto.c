/*
 * libFuzzer harness of the varlink framing (common/proto.c): bytes go into
 * a reader as a stream, in pieces, and every message that comes out is
 * read as a call and as a reply.
 *
 * Input: one byte that chooses how the stream is cut, then the stream.
 *   0      everything in one piece
 *   1-254  pieces of that many bytes
 *   255    everything in one piece, then blanks up to one byte below, at
 *          or above the PROTO_MAX_MSG limit and a NUL: the bounds of a
 *          message's length (the byte after it chooses which)
 * Once the reader says the stream is broken (-1) nothing more is fed, as
 * cmld closes that connection.  Besides memory safety it checks that a
 * refusal is printable, that every message is an object, and that the
 * reader's counts agree.
 */
#include "config.h"

#include <json-c/json.h>

#include "fuzz.h"
#include "proto.h"

/* Reads one message as a call and as a reply. */
static void
fuzz_proto_message(struct json_object *msg)
{
	struct proto_call call;
	struct proto_reply reply;
	char *cause = NULL;

	FUZZ_CHECK(json_object_is_type(msg, json_type_object));
	if (proto_call_parse(msg, &call, &cause) == 0) {
		FUZZ_CHECK(cause == NULL);
		FUZZ_CHECK(call.method != NULL);
		FUZZ_CHECK(strlen(call.method) ==
		    strlen(json_object_get_string(json_object_object_get(msg,
		    "method"))));
		FUZZ_CHECK(json_object_is_type(call.params,
		    json_type_object));
		FUZZ_CHECK(call.more == 0 || call.more == 1);
		FUZZ_CHECK(call.oneway == 0 || call.oneway == 1);
	} else {
		fuzz_check_printable(cause);
		free(cause);
		cause = NULL;
	}
	if (proto_reply_parse(msg, &reply, &cause) == 0) {
		FUZZ_CHECK(cause == NULL);
		FUZZ_CHECK(json_object_is_type(reply.params,
		    json_type_object));
		FUZZ_CHECK(proto_reply_message(&reply) != NULL);
	} else {
		fuzz_check_printable(cause);
		free(cause);
	}
}

/* Takes every complete message; returns -1 once the stream is broken. */
static int
fuzz_proto_drain(struct proto_reader *r)
{
	struct json_object *msg;
	char *cause;
	int fds[1], rc;

	for (;;) {
		cause = NULL;
		rc = proto_reader_next(r, &msg, &cause);
		if (rc == 0) {
			FUZZ_CHECK(msg == NULL && cause == NULL);
			FUZZ_CHECK(proto_reader_pending(r) ==
			    (proto_reader_unparsed(r) > 0));
			return 0;
		}
		if (rc == -1) {
			FUZZ_CHECK(msg == NULL);
			fuzz_check_printable(cause);
			free(cause);
			return -1;
		}
		FUZZ_CHECK(rc == 1 && msg != NULL && cause == NULL);
		/* No descriptors were passed, so none come out. */
		FUZZ_CHECK(proto_reader_take_fds(r, fds, 1) == 0);
		fuzz_proto_message(msg);
		json_object_put(msg);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char blanks[65536];
	struct proto_reader r;
	size_t off, n, fed = 0, want;
	int delta;

	if (size < 1)
		return 0;
	if (blanks[0] != ' ')
		memset(blanks, ' ', sizeof blanks);
	proto_reader_init(&r);
	if (data[0] == 255) {
		delta = size > 1 ? data[1] % 3 - 1 : 0;
		data += size > 1 ? 2 : 1;
		size -= size > 1 ? 2 : 1;
		proto_reader_feed(&r, data, size);
		if (fuzz_proto_drain(&r) == 0) {
			want = PROTO_MAX_MSG + delta;
			while (proto_reader_unparsed(&r) < want) {
				n = want - proto_reader_unparsed(&r);
				if (n > sizeof blanks)
					n = sizeof blanks;
				proto_reader_feed(&r, blanks, n);
			}
			proto_reader_feed(&r, "", 1);
			if (fuzz_proto_drain(&r) == 0)
				FUZZ_CHECK(delta == 0 || delta == -1);
		}
		proto_reader_free(&r);
		return 0;
	}

	n = data[0] == 0 ? size : data[0];
	for (off = 1; off < size; off += n) {
		if (n > size - off)
			n = size - off;
		proto_reader_feed(&r, data + off, n);
		fed += n;
		FUZZ_CHECK(proto_reader_unparsed(&r) <= fed);
		if (fuzz_proto_drain(&r) == -1)
			break;
	}
	proto_reader_free(&r);
	return 0;
}
