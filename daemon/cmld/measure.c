/*
 * Measured start: the digest of a container's guest OS manifest and
 * config is extended into tpm2d's measurement PCR before its init runs,
 * and every extend is logged in the store (see measure.h for the
 * formulas a verifier replays).
 *
 * The log entry is written before the extend, pending, and completed
 * with the PCR's value once tpm2d answered; the start goes on only then.
 * An extend whose answer never came (tpm2d too slow, cmld ending or
 * dying between the extend and the write) leaves its entry pending: the
 * next extend of the same reset settles it, by finding which pending
 * extends the PCR's new value holds (measure_resolve).  An extend nobody
 * logged leaves the log unable to replay in that reset, which is the
 * honest outcome (audited).
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "audit.h"
#include "crypto.h"
#include "ctr.h"
#include "ctx.h"
#include "log.h"
#include "measure.h"
#include "measurelog.h"
#include "phases.h"
#include "proto.h"
#include "store.h"
#include "tpm.h"
#include "utf8.h"
#include "xmalloc.h"

/* The most pending entries a completed extend is matched with. */
#define MEASURE_PENDING_MAX 8
/* The most bytes of an install's kind, name and version. */
#define MEASURE_TEXT_MAX 64

/* A measurement waiting for tpm2d's answer. */
struct measure {
	struct cmld *cmld;
	long long seq; /* its pending entry in the log */
	int install; /* an install's, else a start's */
	char *container; /* a start's; NULL */
	char *what; /* names it in messages: "container web", "install ..." */
	char digest[CRYPTO_SHA256_HEX];
	struct phases *ph; /* the start's; NULL */
	measure_cb cb;
	void *arg;
};

static void
measure_audit(struct measure *ms, const char *result, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Audits what befell a measurement: a start's as its container's record,
 * an install's as the daemon's.
 */
static void
measure_audit(struct measure *ms, const char *result, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (ms->install)
		audit_write(ms->cmld, "daemon", "measurement", result,
		    "measured install: %s: %s", ms->what, msg);
	else
		audit_container(ms->cmld, ms->container, result,
		    "measured start: %s", msg);
	free(msg);
}

/* What is measured, in messages: "start", "install". */
static const char *
measure_noun(const struct measure *ms)
{
	return ms->install ? "install" : "start";
}

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

/* Reads 64 hex digits into 32 bytes. */
static void
measure_unhex(const char *hex, unsigned char *out)
{
	size_t i;
	unsigned int b;

	for (i = 0; i < CRYPTO_SHA256_LEN; i++) {
		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			b = 0;
		out[i] = (unsigned char)b;
	}
}

/* pcr = SHA-256(pcr || digest): what TPM2_PCR_Extend does (sha256). */
static void
measure_extend(unsigned char *pcr, const unsigned char *digest)
{
	struct crypto_hash *h = crypto_sha256_new();

	crypto_hash_update(h, pcr, CRYPTO_SHA256_LEN);
	crypto_hash_update(h, digest, CRYPTO_SHA256_LEN);
	crypto_hash_final(h, pcr);
}

/* Frees a measurement; NULL does nothing. */
static void
measure_free(struct measure *ms)
{
	if (ms == NULL)
		return;
	free(ms->container);
	free(ms->what);
	free(ms);
}

/* Ends a measurement: the callback, then the state is freed. */
static void
measure_end(struct measure *ms, const char *error, const char *cause)
{
	ms->cb(ms->arg, error, cause);
	measure_free(ms);
}

/*
 * Before this entry is completed, finds the pending entries before it
 * whose extends happened after all (tpm2d answered them too late, or
 * cmld ended before it could complete them): the fewest that, replayed
 * in order from the last completed entry of this reset, lead with this
 * extend to the value tpm2d reported.  They are completed first (the
 * log's order is that of the extends); the others stay pending.  When
 * nothing fits, the log no longer replays in this reset: audited.
 */
static void
measure_resolve(struct measure *ms, long long reset, long long index,
    const char *value)
{
	struct cmld *cmld = ms->cmld;
	long long seqs[MEASURE_PENDING_MAX];
	char digests[MEASURE_PENDING_MAX][65], last[65], hex[65];
	unsigned char start[CRYPTO_SHA256_LEN], v[CRYPTO_SHA256_LEN];
	unsigned char want[CRYPTO_SHA256_LEN], d[CRYPTO_SHA256_LEN];
	unsigned char pd[CRYPTO_SHA256_LEN];
	char *cause = NULL;
	size_t n = 0, i, j;
	unsigned int mask, found = 0;
	int rc, matched = 0;

	if (store_measurement_pending(cmld->store, ms->seq,
	    MEASURE_PENDING_MAX, seqs, digests, &n, &cause) == -1 ||
	    (rc = store_measurement_last(cmld->store, reset, last,
	    sizeof last, &cause)) == -1) {
		log_warnx("measured %s: %s", measure_noun(ms), cause);
		free(cause);
		return;
	}
	if (rc == 1 && measure_is_sha256_hex(last))
		measure_unhex(last, start);
	else
		memset(start, 0, sizeof start);
	measure_unhex(value, want);
	measure_unhex(ms->digest, d);
	/* the fewest pending extends that explain the value, oldest first */
	for (i = 0; i <= n && !matched; i++) {
		for (mask = 0; mask < (1U << n) && !matched; mask++) {
			if ((size_t)__builtin_popcount(mask) != i)
				continue;
			memcpy(v, start, sizeof v);
			for (j = 0; j < n; j++) {
				if (mask & (1U << j)) {
					measure_unhex(digests[j], pd);
					measure_extend(v, pd);
				}
			}
			measure_extend(v, d);
			if (memcmp(v, want, sizeof v) == 0) {
				matched = 1;
				found = mask;
			}
		}
	}
	memcpy(v, start, sizeof v);
	for (i = 0; i < n; i++) {
		if (matched && (found & (1U << i))) {
			measure_unhex(digests[i], pd);
			measure_extend(v, pd);
			crypto_hex(v, sizeof v, hex);
			if (store_measurement_confirm(cmld->store, &seqs[i],
			    reset, index, hex, &cause) == -1) {
				log_warnx("measured %s: %s", measure_noun(ms),
				    cause);
				free(cause);
				cause = NULL;
				continue;
			}
			audit_write(cmld, "daemon", "measurement", "ok",
			    "the extend of measurement log entry %lld (digest "
			    "%s) was found in PCR %lld after all (tpm2d "
			    "answered it too late, or cmld ended first): the "
			    "entry is completed; what it measured was refused",
			    seqs[i], digests[i], index);
		}
		/*
		 * The others stay pending: tpm2d may still do them (a
		 * connection it has yet to read), and an extend that never
		 * happens matches nothing.
		 */
	}
	/* Those that never happened (tpm2d unreachable) must not pile up. */
	if (store_measurement_prune(cmld->store, MEASURE_PENDING_MAX,
	    &cause) == -1) {
		log_warnx("measured %s: %s", measure_noun(ms), cause);
		free(cause);
		cause = NULL;
	}
	if (!matched)
		audit_write(cmld, "daemon", "measurement", PROTO_ERR_INTEGRITY,
		    "PCR %lld is %s after the extend of log entry %lld, which "
		    "the measurement log of TPM reset %lld does not give: an "
		    "extend cml did not log; attestation in this reset will "
		    "not replay", index, value, ms->seq, reset);
}

/* tpm2d answered the Extend: completes the entry, then the start goes on. */
static void
measure_extended(void *arg, const char *error, struct json_object *params)
{
	struct measure *ms = arg;
	struct cmld *cmld = ms->cmld;
	struct json_object *pcr, *v;
	const char *value = NULL;
	long long index = -1, reset = -1;
	char *cause = NULL, *why = NULL;
	int rc;

	phases_mark(ms->ph, "tpm");
	if (error != NULL) {
		/*
		 * tpm2d's own errors say the extend did not happen; when the
		 * link failed (no answer in time, cmld stopping) it may have:
		 * the entry stays pending, for the next extend to settle.
		 */
		if (strncmp(error, "org.cml.TPM.", 12) == 0 &&
		    store_measurement_drop(cmld->store, ms->seq, &why) == -1) {
			log_warnx("measured %s: %s", measure_noun(ms), why);
			free(why);
		}
		cause = xasprintf("cannot measure the %s: %s",
		    measure_noun(ms), tpm_error_message(params));
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
		/* The PCR may have moved: the entry stays pending. */
		measure_audit(ms, PROTO_ERR_FAILED, "tpm2d's answer to Extend "
		    "of %s is malformed", ms->digest);
		cause = xasprintf("cannot measure the %s: tpm2d's answer to "
		    "Extend is malformed", measure_noun(ms));
		measure_end(ms, PROTO_ERR_FAILED, cause);
		free(cause);
		return;
	}
	measure_resolve(ms, reset, index, value);
	/*
	 * Not waited for on the disk either: the start's state "running" or
	 * "failed" puts it there before the answer.  Lost with the whole
	 * system, it would leave the entry pending in a reset that is over.
	 */
	ctr_store_lazy(cmld, !ms->install);
	rc = store_measurement_confirm(cmld->store, &ms->seq, reset, index,
	    value, &why);
	ctr_store_lazy(cmld, 0);
	if (rc != 1) {
		measure_audit(ms, PROTO_ERR_FAILED, "PCR %lld extended with "
		    "%s, but the measurement log could not be completed (%s)",
		    index, ms->digest, why != NULL ? why : "its entry is gone");
		cause = xasprintf("the %s was measured, but the "
		    "measurement log could not be completed: %s",
		    measure_noun(ms), why != NULL ? why : "its entry is gone");
		measure_end(ms, PROTO_ERR_FAILED, cause);
		free(cause);
		free(why);
		return;
	}
	phases_mark(ms->ph, "confirm");
	/* The log entry is the record; the start's own record follows. */
	log_info("%s: %s measured into PCR %lld = %s (TPM reset %lld, log "
	    "entry %lld)", ms->what, measure_noun(ms), index, value, reset,
	    ms->seq);
	measure_end(ms, NULL, NULL);
}

/*
 * Writes the pending entry m of ms (m->digest is ms's), then asks tpm2d
 * for the extend; ms is freed on failure, when *cause is set.  A start's
 * entry is not waited for on the disk (see measure_start); an install's
 * is, its commit being its own.
 */
static int
measure_begin(struct measure *ms, struct store_measurement *m, char **cause)
{
	struct cmld *cmld = ms->cmld;
	struct json_object *p;
	char *why = NULL;
	int rc;

	ctr_store_lazy(cmld, !ms->install);
	m->digest = ms->digest;
	rc = store_measurement_begin(cmld->store, m, &why);
	ctr_store_lazy(cmld, 0);
	if (rc == -1) {
		*cause = xasprintf("cannot measure the %s: %s",
		    measure_noun(ms), why);
		goto fail;
	}
	ms->seq = m->seq;
	p = json_object_new_object();
	json_object_object_add(p, "digest", json_object_new_string(ms->digest));
	if (tpm_call(cmld, "Extend", p, measure_extended, ms, &why) == -1) {
		*cause = xasprintf("cannot measure the %s: %s",
		    measure_noun(ms), why);
		free(why);
		why = NULL;
		/* tpm2d was not asked: no extend */
		if (store_measurement_drop(cmld->store, ms->seq, &why) == -1)
			log_warnx("measured %s: %s", measure_noun(ms), why);
		goto fail;
	}
	return 0;
fail:
	free(why);
	measure_free(ms);
	return -1;
}

int
measure_start(struct cmld *cmld, const struct measure_what *w,
    measure_cb cb, void *arg, char **cause)
{
	struct store_measurement m = { 0 };
	struct measure *ms;
	struct crypto_hash *h;
	unsigned char mh[CRYPTO_SHA256_LEN], ch[CRYPTO_SHA256_LEN];
	unsigned char d[CRYPTO_SHA256_LEN];
	char mhex[CRYPTO_SHA256_HEX], chex[CRYPTO_SHA256_HEX];

	h = crypto_sha256_new();
	crypto_hash_update(h, w->manifest, w->manifest_len);
	crypto_hash_final(h, mh);
	h = crypto_sha256_new();
	crypto_hash_update(h, w->config, w->config_len);
	crypto_hash_final(h, ch);
	measurelog_start_digest(mh, ch, d);

	ms = xcalloc(1, sizeof *ms);
	ms->cmld = cmld;
	ms->container = xstrdup(w->container);
	ms->what = xasprintf("container %s", w->container);
	crypto_hex(mh, sizeof mh, mhex);
	crypto_hex(ch, sizeof ch, chex);
	crypto_hex(d, sizeof d, ms->digest);
	ms->ph = w->phases;
	ms->cb = cb;
	ms->arg = arg;

	/*
	 * Written before the extend: a cmld that ends after it leaves it
	 * pending.  Its commit is not waited for on the disk: the start's
	 * next durable commit (the state "running" or "failed", before the
	 * answer) puts it there.  Only an end of the whole system could lose
	 * it before, and that resets the PCR too (a TPM reset: the PCRs of
	 * the next reset begin at zero, and the entry's reset is over); an
	 * orderly suspend writes it to the disk first.
	 */
	m.container = w->container;
	m.guestos = w->guestos;
	m.version = w->version;
	m.manifest_hash = mhex;
	m.config_hash = chex;
	return measure_begin(ms, &m, cause);
}

int
measure_install_digest(const char *kind, const char *name,
    const char *version, const char *digest_hex,
    char out[CRYPTO_SHA256_HEX], char **cause)
{
	unsigned char bundle[CRYPTO_SHA256_LEN], d[CRYPTO_SHA256_LEN];

	if (!measure_is_sha256_hex(digest_hex)) {
		*cause = xstrdup("the bundle's digest is no SHA-256 (64 "
		    "lower-case hex digits)");
		return -1;
	}
	if (kind == NULL || name == NULL || version == NULL ||
	    *kind == '\0' || *name == '\0' || *version == '\0' ||
	    strlen(kind) > MEASURE_TEXT_MAX || strlen(name) > MEASURE_TEXT_MAX ||
	    strlen(version) > MEASURE_TEXT_MAX ||
	    !utf8_valid(kind, strlen(kind)) || !utf8_valid(name, strlen(name)) ||
	    !utf8_valid(version, strlen(version))) {
		*cause = xasprintf("an install is measured with its kind, "
		    "name and version: each 1 to %d bytes of UTF-8",
		    MEASURE_TEXT_MAX);
		return -1;
	}
	measure_unhex(digest_hex, bundle);
	measurelog_install_digest(kind, name, version, bundle, d);
	crypto_hex(d, sizeof d, out);
	return 0;
}

int
measure_install(struct cmld *cmld, const char *kind, const char *name,
    const char *version, const char *digest_hex, measure_cb cb, void *arg,
    char **cause)
{
	struct store_measurement m = { 0 };
	struct measure *ms;
	char d[CRYPTO_SHA256_HEX], *why = NULL;

	if (measure_install_digest(kind, name, version, digest_hex, d,
	    &why) == -1) {
		*cause = xasprintf("cannot measure the install: %s", why);
		free(why);
		return -1;
	}
	ms = xcalloc(1, sizeof *ms);
	ms->cmld = cmld;
	ms->install = 1;
	ms->what = xasprintf("install of %s %s %s", kind, name, version);
	memcpy(ms->digest, d, sizeof ms->digest);
	ms->cb = cb;
	ms->arg = arg;
	m.event = "install";
	m.kind = kind;
	m.name = name;
	m.version = version;
	m.manifest_hash = digest_hex;
	return measure_begin(ms, &m, cause);
}
