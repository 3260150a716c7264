/*
 * Measured start: the digest of a container's guest OS manifest and
 * config is extended into tpm2d's measurement PCR before its init runs,
 * and every extend is logged in the store (see measure.h for the
 * formulas a verifier replays).
 *
 * The log entry is written once tpm2d answered.  When cmld dies between
 * the extend and the write, the PCR has moved and the log lacks that
 * entry: a verifier's replay of the log then fails, which is the honest
 * outcome (the start was not recorded), and the container never ran,
 * since its start goes on only after the entry is stored.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "audit.h"
#include "crypto.h"
#include "ctx.h"
#include "log.h"
#include "measure.h"
#include "proto.h"
#include "store.h"
#include "tpm.h"
#include "xmalloc.h"

/* A measurement waiting for tpm2d's answer. */
struct measure {
	struct cmld *cmld;
	char *container;
	char *guestos;
	char *version;
	char manifest_hash[CRYPTO_SHA256_HEX];
	char config_hash[CRYPTO_SHA256_HEX];
	char digest[CRYPTO_SHA256_HEX];
	measure_cb cb;
	void *arg;
};

/* Says whether s is 64 lower-case hex digits. */
static int
measure_is_sha256_hex(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != 64)
		return 0;
	for (i = 0; i < 64; i++) {
		if (!isxdigit((unsigned char)s[i]) ||
		    isupper((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* Ends a measurement: the callback, then the state is freed. */
static void
measure_end(struct measure *ms, const char *error, const char *cause)
{
	ms->cb(ms->arg, error, cause);
	free(ms->container);
	free(ms->guestos);
	free(ms->version);
	free(ms);
}

/* tpm2d answered the Extend: logs the entry, then the start goes on. */
static void
measure_extended(void *arg, const char *error, struct json_object *params)
{
	struct measure *ms = arg;
	struct cmld *cmld = ms->cmld;
	struct store_measurement m = { 0 };
	struct json_object *pcr, *v;
	const char *value = NULL;
	long long index = -1, reset = -1;
	char *cause = NULL, *why = NULL;

	if (error != NULL) {
		cause = xasprintf("cannot measure the start: %s",
		    tpm_error_message(params));
		measure_end(ms, PROTO_ERR_FAILED, cause);
		free(cause);
		return;
	}
	if (json_object_object_get_ex(params, "pcr", &pcr) &&
	    json_object_is_type(pcr, json_type_object)) {
		if (json_object_object_get_ex(pcr, "index", &v) &&
		    json_object_is_type(v, json_type_int))
			index = json_object_get_int64(v);
		if (json_object_object_get_ex(pcr, "value", &v) &&
		    json_object_is_type(v, json_type_string))
			value = json_object_get_string(v);
	}
	if (json_object_object_get_ex(params, "reset_count", &v) &&
	    json_object_is_type(v, json_type_int))
		reset = json_object_get_int64(v);
	if (index < 0 || index > 23 || reset < 0 ||
	    !measure_is_sha256_hex(value)) {
		/* The PCR may have moved: the log cannot say how. */
		audit_container(cmld, ms->container, PROTO_ERR_FAILED,
		    "measured start: tpm2d's answer to Extend of %s is "
		    "malformed; the measurement log lacks this extend",
		    ms->digest);
		measure_end(ms, PROTO_ERR_FAILED, "cannot measure the start: "
		    "tpm2d's answer to Extend is malformed");
		return;
	}
	m.reset_count = reset;
	m.container = ms->container;
	m.guestos = ms->guestos;
	m.version = ms->version;
	m.manifest_hash = ms->manifest_hash;
	m.config_hash = ms->config_hash;
	m.digest = ms->digest;
	m.pcr = index;
	m.pcr_value = value;
	if (store_measurement_add(cmld->store, &m, &why) == -1) {
		audit_container(cmld, ms->container, PROTO_ERR_FAILED,
		    "measured start: PCR %lld extended with %s, but the "
		    "measurement log could not be written (%s); a replay of "
		    "the log no longer matches the PCR", index, ms->digest,
		    why);
		cause = xasprintf("the start was measured, but the "
		    "measurement log could not be written: %s", why);
		measure_end(ms, PROTO_ERR_FAILED, cause);
		free(cause);
		free(why);
		return;
	}
	/* The log entry is the record; the start's own record follows. */
	log_info("container %s: start of %s %s measured into PCR %lld = %s "
	    "(TPM reset %lld, log entry %lld)", ms->container, ms->guestos,
	    ms->version, index, value, reset, m.seq);
	measure_end(ms, NULL, NULL);
}

int
measure_start(struct cmld *cmld, const struct measure_what *w,
    measure_cb cb, void *arg, char **cause)
{
	struct measure *ms;
	struct crypto_hash *h;
	struct json_object *p;
	unsigned char mh[CRYPTO_SHA256_LEN], ch[CRYPTO_SHA256_LEN];
	unsigned char d[CRYPTO_SHA256_LEN];
	char *why = NULL;

	h = crypto_sha256_new();
	crypto_hash_update(h, w->manifest, w->manifest_len);
	crypto_hash_final(h, mh);
	h = crypto_sha256_new();
	crypto_hash_update(h, w->config, w->config_len);
	crypto_hash_final(h, ch);
	h = crypto_sha256_new();
	crypto_hash_update(h, mh, sizeof mh);
	crypto_hash_update(h, ch, sizeof ch);
	crypto_hash_final(h, d);

	ms = xcalloc(1, sizeof *ms);
	ms->cmld = cmld;
	ms->container = xstrdup(w->container);
	ms->guestos = xstrdup(w->guestos);
	ms->version = xstrdup(w->version);
	crypto_hex(mh, sizeof mh, ms->manifest_hash);
	crypto_hex(ch, sizeof ch, ms->config_hash);
	crypto_hex(d, sizeof d, ms->digest);
	ms->cb = cb;
	ms->arg = arg;

	p = json_object_new_object();
	json_object_object_add(p, "digest", json_object_new_string(ms->digest));
	if (tpm_call(cmld, "Extend", p, measure_extended, ms, &why) == -1) {
		*cause = xasprintf("cannot measure the start: %s", why);
		free(why);
		free(ms->container);
		free(ms->guestos);
		free(ms->version);
		free(ms);
		return -1;
	}
	return 0;
}
