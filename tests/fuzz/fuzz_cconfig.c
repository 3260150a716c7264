/*
 * libFuzzer harness of container configs (daemon/cmld/cconfig.c): the
 * input is a config, parsed both as a service container's
 * (cconfig_parse) and as c0's (cconfig_parse_c0).
 *
 * Besides memory safety and leaks it checks what cconfig.h promises: a
 * refusal leaves the config empty and says why in printable text; an
 * accepted config is complete, within the documented ranges, and its
 * effective JSON (without the built-in "default_devices") is itself a
 * config that reads back to the same effective JSON.
 */
#include "config.h"

#include <json-c/json.h>

#include "cconfig.h"
#include "fuzz.h"

static void fuzz_cconfig_one(const char *, size_t, int, const char *);

/* Checks a config that was accepted, and uses it as cmld would. */
static void
fuzz_cconfig_accepted(const struct cconfig *c, int is_c0, const char *want)
{
	struct json_object *j;
	const char *text;
	size_t i;
	char *s;
	int cap;

	FUZZ_CHECK(c->is_c0 == is_c0);
	FUZZ_CHECK(c->name != NULL && c->guestos_name != NULL);
	FUZZ_CHECK(c->hostname != NULL);
	FUZZ_CHECK((strcmp(c->name, CCONFIG_C0_NAME) == 0) == is_c0);
	FUZZ_CHECK(c->env != NULL && c->env[c->nenv] == NULL);
	FUZZ_CHECK(c->nenv <= CCONFIG_ENV_MAX);
	if (c->args != NULL) {
		FUZZ_CHECK(c->nargs >= 1 && c->nargs <= CCONFIG_ARGS_MAX);
		FUZZ_CHECK(c->args[c->nargs] == NULL && c->args[0][0] == '/');
	} else
		FUZZ_CHECK(c->nargs == 0);
	FUZZ_CHECK(c->memory_limit >= CCONFIG_MEMORY_MIN &&
	    c->memory_limit <= CCONFIG_MEMORY_MAX);
	FUZZ_CHECK(c->cpu_shares >= CCONFIG_SHARES_MIN &&
	    c->cpu_shares <= CCONFIG_SHARES_MAX);
	FUZZ_CHECK(c->cpu_quota == 0 || (c->cpu_quota >= CCONFIG_QUOTA_MIN &&
	    c->cpu_quota <= CCONFIG_QUOTA_MAX));
	FUZZ_CHECK(c->cpu_period >= CCONFIG_PERIOD_MIN &&
	    c->cpu_period <= CCONFIG_PERIOD_MAX);
	FUZZ_CHECK(c->pids_limit >= CCONFIG_PIDS_MIN &&
	    c->pids_limit <= CCONFIG_PIDS_MAX);
	FUZZ_CHECK(c->storage_size_mb >= CCONFIG_STORAGE_MIN &&
	    c->storage_size_mb <= CCONFIG_STORAGE_MAX);
	FUZZ_CHECK(c->ndevices <= CCONFIG_DEVICES_MAX);
	FUZZ_CHECK(cconfig_token_name(c->token) != NULL);
	for (cap = 0; cap < 64; cap++) {
		if (c->caps & (UINT64_C(1) << cap))
			FUZZ_CHECK(cap <= cconfig_cap_last());
	}
	for (i = 0; i < c->ndevices; i++) {
		FUZZ_CHECK(c->devices[i].type == 'c' ||
		    c->devices[i].type == 'b' ||
		    (is_c0 && c->devices[i].type == 'a'));
		FUZZ_CHECK(c->devices[i].access[0] != '\0');
		s = cconfig_device_string(&c->devices[i]);
		FUZZ_CHECK(s != NULL);
		free(s);
	}
	/* Every container may use the default devices. */
	FUZZ_CHECK(cconfig_allows_device(c, 'c', 1, 3) == 1);
	(void)cconfig_allows_device(c, 'b', 8, 0);

	j = cconfig_to_json(c);
	FUZZ_CHECK(j != NULL);
	json_object_object_del(j, "default_devices");
	text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
	FUZZ_CHECK(text != NULL);
	if (want == NULL)
		fuzz_cconfig_one(text, strlen(text), is_c0, text);
	else if (strcmp(text, want) != 0) {
		fprintf(stderr, "effective config %s reads back as %s\n", want,
		    text);
		abort();
	}
	json_object_put(j);
}

/*
 * Parses as one kind of container and checks the result; want is the
 * effective config expected, or NULL.
 */
static void
fuzz_cconfig_one(const char *json, size_t len, int is_c0, const char *want)
{
	struct cconfig c;
	char *cause = NULL;
	int rc;

	memset(&c, 0xa5, sizeof c);
	rc = is_c0 ? cconfig_parse_c0(json, len, &c, &cause) :
	    cconfig_parse(json, len, &c, &cause);
	if (rc == -1 && want != NULL) {
		/* The effective config of an accepted one must read back. */
		fprintf(stderr, "effective config %s refused: %s\n", want,
		    cause);
		abort();
	}
	if (rc == -1) {
		fuzz_check_printable(cause);
		free(cause);
		/* "c is empty on error" */
		FUZZ_CHECK(fuzz_all_zero(&c, sizeof c));
	} else {
		FUZZ_CHECK(rc == 0 && cause == NULL);
		fuzz_cconfig_accepted(&c, is_c0, want);
	}
	cconfig_clear(&c);
	FUZZ_CHECK(fuzz_all_zero(&c, sizeof c));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_cconfig_one((const char *)data, size, 0, NULL);
	fuzz_cconfig_one((const char *)data, size, 1, NULL);
	return 0;
}
