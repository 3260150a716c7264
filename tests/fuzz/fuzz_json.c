/*
 * libFuzzer harness of the strict JSON reader (common/jsonstrict.c).
 *
 * Input: two bytes that choose the limits, then the text.
 *   byte 0: bit 0 JSONSTRICT_SYNTAX_ONLY, bit 1 JSONSTRICT_PATH_NAMES,
 *           bit 2 a named text ("manifest"), bits 3-4 max_fields,
 *           bits 5-7 max_len
 *   byte 1: max_depth, 1 to 64
 * Besides memory safety it checks: a refusal sets *cause (printable, out
 * NULL) and an acceptance does not; JSONSTRICT_PATH_NAMES changes messages
 * only; whatever the full checks take, the syntax-only reading takes too;
 * jsonstrict_quote gives printable text that decodes to the bytes quoted.
 */
#include "config.h"

#include <json-c/json.h>

#include "fuzz.h"
#include "jsonstrict.h"

/* Runs one parse and checks its contract; returns its result. */
static int
fuzz_json_parse(const char *text, size_t len,
    const struct jsonstrict_limits *lim, struct json_object **out)
{
	char *cause = NULL;
	int rc;

	rc = jsonstrict_parse(text, len, lim, out, &cause);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc == -1) {
		FUZZ_CHECK(*out == NULL);
		fuzz_check_printable(cause);
		free(cause);
	} else
		FUZZ_CHECK(cause == NULL);
	/* Without a place for the message, the result is the same. */
	{
		struct json_object *o2 = NULL;

		FUZZ_CHECK(jsonstrict_parse(text, len, lim, &o2, NULL) == rc);
		json_object_put(o2);
	}
	return rc;
}

/* Checks jsonstrict_quote: printable, and \xNN decodes to the bytes. */
static void
fuzz_json_quote(const char *s, size_t len)
{
	size_t i, o = 0, n = len > 64 ? 64 : len;
	unsigned int hi, lo;
	char *q;

	q = jsonstrict_quote(s, len);
	fuzz_check_printable(q);
	FUZZ_CHECK(strlen(q) <= n * 4 + 3);
	for (i = 0; i < n; i++) {
		if (q[o] != '\\') {
			FUZZ_CHECK(q[o] == s[i]);
			o++;
			continue;
		}
		FUZZ_CHECK(q[o + 1] == 'x');
		FUZZ_CHECK(sscanf(q + o + 2, "%1x%1x", &hi, &lo) == 2);
		FUZZ_CHECK((unsigned char)s[i] == (hi << 4 | lo));
		o += 4;
	}
	FUZZ_CHECK(strcmp(q + o, len > n ? "..." : "") == 0);
	free(q);
}

/* Looks up a string member every way jsonstrict_get_string allows. */
static void
fuzz_json_members(struct json_object *obj)
{
	static const char *const keys[] = { "name", "method", "" };
	const char *s;
	char *cause;
	size_t k;
	int flags, rc;

	for (k = 0; k < sizeof keys / sizeof keys[0]; k++) {
		for (flags = 0; flags < 4; flags++) {
			cause = NULL;
			rc = jsonstrict_get_string(obj, k == 0 ? "" : "a.b",
			    keys[k], flags, &s, &cause);
			if (rc == -1) {
				FUZZ_CHECK(s == NULL);
				fuzz_check_printable(cause);
				free(cause);
			} else {
				FUZZ_CHECK(rc == 0 && cause == NULL);
				if (s == NULL)
					FUZZ_CHECK(!(flags &
					    JSONSTRICT_REQUIRED));
			}
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int fields[] = { 0, 1, 3, 32 };
	struct jsonstrict_limits lim;
	struct json_object *out = NULL, *out2 = NULL;
	const char *text;
	size_t len;
	int rc;

	if (size < 2)
		return 0;
	text = (const char *)data + 2;
	len = size - 2;
	{
		const size_t max_lens[] = { 0, 1, 8, 64, 1024, 65536,
			len > 0 ? len - 1 : 1, len > 0 ? len : 1 };

		memset(&lim, 0, sizeof lim);
		lim.flags = data[0] & 0x3;
		lim.what = (data[0] & 0x4) ? "manifest" : NULL;
		lim.max_fields = fields[(data[0] >> 3) & 0x3];
		lim.max_len = max_lens[(data[0] >> 5) & 0x7];
		lim.max_depth = 1 + data[1] % 64;
	}
	/*
	 * No limit on fields is for the syntax-only reading alone: the search
	 * for a repeated field takes time that grows with the square.
	 */
	if (!(lim.flags & JSONSTRICT_SYNTAX_ONLY) && lim.max_fields == 0)
		lim.max_fields = 1024;

	rc = fuzz_json_parse(text, len, &lim, &out);
	if (rc == 0 && json_object_is_type(out, json_type_object))
		fuzz_json_members(out);
	json_object_put(out);

	/* The way a repeated field is named changes nothing else. */
	lim.flags ^= JSONSTRICT_PATH_NAMES;
	FUZZ_CHECK(fuzz_json_parse(text, len, &lim, &out2) == rc);
	json_object_put(out2);
	out2 = NULL;

	/* The full checks only add refusals to the syntax-only reading. */
	if (rc == 0 && !(lim.flags & JSONSTRICT_SYNTAX_ONLY)) {
		lim.flags |= JSONSTRICT_SYNTAX_ONLY;
		FUZZ_CHECK(fuzz_json_parse(text, len, &lim, &out2) == 0);
		json_object_put(out2);
	}

	fuzz_json_quote(text, len);
	return 0;
}
