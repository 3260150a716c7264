/*
 * libFuzzer harness of guest OS manifests (daemon/cmld/guestos.c): the
 * input is manifest.json as it would be signed.
 *
 * Besides memory safety and leaks it checks what guestos.h promises: a
 * refusal leaves the manifest empty and says why in printable text; an
 * accepted manifest has every field, one to 16 images of which exactly
 * one is the root, and reads back the same when written out again.
 */
#include "config.h"

#include <json-c/json.h>

#include "fuzz.h"
#include "guestos.h"

/* Writes a manifest out as JSON. */
static struct json_object *
fuzz_guestos_json(const struct guestos_manifest *m)
{
	struct json_object *top, *a, *o;
	size_t i;

	top = json_object_new_object();
	json_object_object_add(top, "name", json_object_new_string(m->name));
	/* A version without dots may have been an integer: keep it one. */
	if (strchr(m->version, '.') == NULL)
		json_object_object_add(top, "version",
		    json_object_new_int64(strtoll(m->version, NULL, 10)));
	else
		json_object_object_add(top, "version",
		    json_object_new_string(m->version));
	json_object_object_add(top, "description",
	    json_object_new_string(m->description));
	json_object_object_add(top, "init", json_object_new_string(m->init));
	a = json_object_new_array();
	for (i = 0; i < m->nimages; i++) {
		o = json_object_new_object();
		json_object_object_add(o, "file",
		    json_object_new_string(m->images[i].file));
		json_object_object_add(o, "size",
		    json_object_new_int64(m->images[i].size));
		json_object_object_add(o, "sha256",
		    json_object_new_string(m->images[i].sha256));
		json_object_object_add(o, "fs",
		    json_object_new_string(m->images[i].fs));
		json_object_object_add(o, "mount",
		    json_object_new_string(m->images[i].mount));
		json_object_array_add(a, o);
	}
	json_object_object_add(top, "images", a);
	json_object_object_add(top, "allow_downgrade",
	    json_object_new_boolean(m->allow_downgrade));
	return top;
}

/* Checks that two manifests say the same. */
static void
fuzz_guestos_same(const struct guestos_manifest *a,
    const struct guestos_manifest *b)
{
	size_t i;

	FUZZ_CHECK(strcmp(a->name, b->name) == 0);
	FUZZ_CHECK(strcmp(a->version, b->version) == 0);
	FUZZ_CHECK(strcmp(a->description, b->description) == 0);
	FUZZ_CHECK(strcmp(a->init, b->init) == 0);
	FUZZ_CHECK(a->allow_downgrade == b->allow_downgrade);
	FUZZ_CHECK(a->nimages == b->nimages);
	for (i = 0; i < a->nimages; i++) {
		FUZZ_CHECK(strcmp(a->images[i].file, b->images[i].file) == 0);
		FUZZ_CHECK(a->images[i].size == b->images[i].size);
		FUZZ_CHECK(strcmp(a->images[i].sha256,
		    b->images[i].sha256) == 0);
		FUZZ_CHECK(strcmp(a->images[i].fs, b->images[i].fs) == 0);
		FUZZ_CHECK(strcmp(a->images[i].mount,
		    b->images[i].mount) == 0);
	}
}

/* Checks a manifest that was accepted. */
static void
fuzz_guestos_accepted(const struct guestos_manifest *m)
{
	struct guestos_manifest again;
	struct json_object *j;
	const char *text;
	char *cause = NULL;
	size_t i, roots = 0;

	FUZZ_CHECK(m->name != NULL && m->version != NULL);
	FUZZ_CHECK(m->description != NULL && m->init != NULL);
	FUZZ_CHECK(m->init[0] == '/');
	FUZZ_CHECK(m->allow_downgrade == 0 || m->allow_downgrade == 1);
	FUZZ_CHECK(m->nimages >= 1 && m->nimages <= 16);
	for (i = 0; i < m->nimages; i++) {
		FUZZ_CHECK(m->images[i].file != NULL);
		FUZZ_CHECK(m->images[i].fs != NULL);
		FUZZ_CHECK(m->images[i].mount != NULL);
		FUZZ_CHECK(m->images[i].mount[0] == '/');
		FUZZ_CHECK(m->images[i].size > 0);
		FUZZ_CHECK(strlen(m->images[i].sha256) == 64);
		if (strcmp(m->images[i].mount, "/") == 0)
			roots++;
	}
	FUZZ_CHECK(roots == 1);
	FUZZ_CHECK(names_version_cmp(m->version, m->version) == 0);
	FUZZ_CHECK(names_version_cmp(m->version, "0") >= 0);
	FUZZ_CHECK(names_version_cmp("1.2", m->version) ==
	    -names_version_cmp(m->version, "1.2"));

	j = fuzz_guestos_json(m);
	text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
	if (guestos_manifest_parse(text, strlen(text), &again, &cause) == -1) {
		fprintf(stderr, "manifest %s written out is refused: %s\n",
		    text, cause);
		abort();
	}
	fuzz_guestos_same(m, &again);
	guestos_manifest_clear(&again);
	json_object_put(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guestos_manifest m;
	char *cause = NULL;
	int rc;

	memset(&m, 0xa5, sizeof m);
	rc = guestos_manifest_parse((const char *)data, size, &m, &cause);
	if (rc == -1) {
		fuzz_check_printable(cause);
		free(cause);
		FUZZ_CHECK(fuzz_all_zero(&m, sizeof m));
	} else {
		FUZZ_CHECK(rc == 0 && cause == NULL);
		fuzz_guestos_accepted(&m);
	}
	guestos_manifest_clear(&m);
	FUZZ_CHECK(fuzz_all_zero(&m, sizeof m));
	return 0;
}
