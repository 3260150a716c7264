/*
 * The install receipt's text, as cmld writes it (receipt.h).  The
 * verifier is receipt-verify.c: it needs the TPM's structures, which cmld
 * does not link.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jsonstrict.h"
#include "log.h"
#include "receipt.h"
#include "xmalloc.h"

/* The JSON nesting of the history's signers (an array of objects). */
#define RECEIPT_SIGNERS_DEPTH 3

int
receipt_in_place(const char *result)
{
	return strcmp(result, "installed") == 0 ||
	    strcmp(result, "pending") == 0 ||
	    strcmp(result, "confirmed") == 0;
}

/* Returns a string, or null for NULL. */
static struct json_object *
receipt_string(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

/*
 * Parses the history's signers: a JSON array of objects.  NULL with
 * *cause set if they are none.
 */
static struct json_object *
receipt_signers(const struct receipt_install *in, char **cause)
{
	struct jsonstrict_limits lim;
	struct json_object *a = NULL;
	char *why = NULL;
	size_t i;

	memset(&lim, 0, sizeof lim);
	lim.what = "signers";
	lim.max_len = RECEIPT_MAX;
	lim.max_depth = RECEIPT_SIGNERS_DEPTH;
	lim.max_fields = 16;
	if (jsonstrict_parse(in->signers, strlen(in->signers), &lim, &a,
	    &why) == -1) {
		*cause = xasprintf("the signers of install %lld in the "
		    "history: %s", in->id, why);
		free(why);
		return NULL;
	}
	if (!json_object_is_type(a, json_type_array))
		goto bad;
	for (i = 0; i < json_object_array_length(a); i++) {
		if (!json_object_is_type(json_object_array_get_idx(a, i),
		    json_type_object))
			goto bad;
	}
	return a;
bad:
	json_object_put(a);
	*cause = xasprintf("the signers of install %lld in the history are "
	    "no JSON array of objects", in->id);
	return NULL;
}

char *
receipt_text(const char *uuid, const char *name, const char *version,
    const char *made, const struct receipt_install *in, long long pcr_index,
    const char *pcr_value, size_t *len, char **cause)
{
	struct json_object *root, *o, *signers;
	const char *s;
	char *text = NULL;
	size_t n;

	if ((signers = receipt_signers(in, cause)) == NULL)
		return NULL;
	root = json_object_new_object();
	json_object_object_add(root, "format",
	    json_object_new_int(RECEIPT_FORMAT));
	json_object_object_add(root, "made", json_object_new_string(made));
	json_object_object_add(root, "cml_version",
	    json_object_new_string(version));
	o = json_object_new_object();
	json_object_object_add(o, "uuid", json_object_new_string(uuid));
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(root, "device", o);

	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(in->id));
	json_object_object_add(o, "kind", json_object_new_string(in->kind));
	json_object_object_add(o, "name", json_object_new_string(in->name));
	json_object_object_add(o, "version",
	    json_object_new_string(in->version));
	json_object_object_add(o, "digest", json_object_new_string(in->digest));
	json_object_object_add(o, "size", json_object_new_int64(in->size));
	json_object_object_add(o, "signers", signers);
	json_object_object_add(o, "result", json_object_new_string(in->result));
	json_object_object_add(o, "detail", receipt_string(in->detail));
	json_object_object_add(o, "began", json_object_new_string(in->began));
	json_object_object_add(o, "ended", receipt_string(in->ended));
	json_object_object_add(root, "install", o);

	o = json_object_new_object();
	json_object_object_add(o, "index", json_object_new_int64(pcr_index));
	json_object_object_add(o, "bank", json_object_new_string("sha256"));
	json_object_object_add(o, "value", json_object_new_string(pcr_value));
	json_object_object_add(root, "pcr", o);

	/* Indented, for the person who reads it; slashes as they are. */
	s = json_object_to_json_string_length(root, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	if (s == NULL)
		fatalx("out of memory in json-c");
	if (n > RECEIPT_MAX)
		*cause = xasprintf("the receipt would be %zu bytes, more than "
		    "the %d it may have", n, RECEIPT_MAX);
	else {
		*len = n;
		text = xstrdup(s);
	}
	json_object_put(root);
	return text;
}
