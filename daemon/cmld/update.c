/*
 * Update bundles as cmld takes them: read, signatures verified against the
 * anchors of the bundle's kind, the required signers counted, the version
 * held against the floor (TSF.UPD, NDR 3.10, NDR 3.10(1), NDR 3.13).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctx.h"
#include "file.h"
#include "jsonstrict.h"
#include "proto.h"
#include "store.h"
#include "update.h"
#include "xmalloc.h"

int
update_open(int fd, const char *name, struct update_bundle *b,
    const char **error, char **cause)
{
	unsigned char md[CRYPTO_SHA256_LEN];
	struct crypto_hash *h;
	struct stat sb;
	char *why = NULL;

	memset(b, 0, sizeof *b);
	b->fd = fd;
	b->name = xstrdup(name);
	*error = PROTO_ERR_INVALID_ARGUMENT;
	if (fd == -1) {
		*cause = xasprintf("%s was not passed", name);
		return -1;
	}
	if (file_check_fd(fd, 0, &sb) == -1) {
		*cause = file_error(name, 0);
		return -1;
	}
	if (bundle_read(fd, &b->l, &b->manifest, &b->m, b->sigs, &why) == -1) {
		*error = PROTO_ERR_INTEGRITY;
		*cause = xasprintf("%s is not a valid bundle: %s", name, why);
		free(why);
		return -1;
	}
	h = crypto_sha256_new();
	crypto_hash_update(h, b->manifest, b->l.manifest_len);
	crypto_hash_final(h, md);
	crypto_hex(md, sizeof md, b->digest);
	return 0;
}

void
update_bundle_clear(struct update_bundle *b)
{
	size_t i;

	if (b->fd != -1 && b->name != NULL)
		close(b->fd);
	for (i = 0; i < BUNDLE_SIGS_MAX; i++) {
		free(b->sigs[i]);
		crypto_signer_clear(&b->sig[i].signer);
		free(b->sig[i].error);
	}
	bundle_manifest_clear(&b->m);
	free(b->manifest);
	free(b->name);
	free(b->floor);
	free(b->tpm_floor);
	free(b->tpm_note);
	free(b->reason);
	memset(b, 0, sizeof *b);
	b->fd = -1;
}

/* Whether a kind takes signatures chaining to owner anchors too. */
static int
update_owner_ok(enum bundle_kind kind)
{
	return kind == BUNDLE_GUESTOS || kind == BUNDLE_CONFIGS;
}

/* Verifies signature i: against the supplier anchors, then the owner's. */
static void
update_check_sig(struct cmld *cmld, struct update_bundle *b, size_t i)
{
	struct update_sig *s = &b->sig[i];
	const void *sig = b->sigs[i];
	size_t len = b->l.sigs[i].len;
	char *why = NULL;

	if (crypto_verify_detached(cmld->trust_supplier, b->manifest,
	    b->l.manifest_len, sig, len, &s->signer, &why) == 0)
		s->anchor_kind = "supplier";
	else {
		free(why);
		why = NULL;
		crypto_signer_clear(&s->signer);
		if (crypto_verify_detached(cmld->trust_owner, b->manifest,
		    b->l.manifest_len, sig, len, &s->signer, &why) == 0)
			s->anchor_kind = "owner";
	}
	if (s->anchor_kind == NULL) {
		crypto_signer_clear(&s->signer);
		s->error = why;
		return;
	}
	s->verified = 1;
	s->counts = strcmp(s->anchor_kind, "supplier") == 0 ||
	    update_owner_ok(b->m.kind);
}

/* Reads the required signers of the bundle's kind; -1 with *cause set. */
static int
update_required(struct cmld *cmld, struct update_bundle *b, char **cause)
{
	char *key, *value = NULL, *p, *end;
	long m;
	int rc;

	key = xasprintf("update_signers_%s", bundle_kind_name(b->m.kind));
	rc = store_setting_get(cmld->store, key, &value, cause);
	free(key);
	if (rc == -1)
		return -1;
	if (value == NULL || *value == '\0') {
		free(value);
		return 0;
	}
	/* The value is canonical (setting_canonical): M:FP,FP,... */
	m = strtol(value, &end, 10);
	p = end + 1;
	while (*end == ':' && *p != '\0' && b->nsigners < SETTING_SIGNERS_MAX) {
		memcpy(b->signers[b->nsigners], p, CRYPTO_SHA256_HEX - 1);
		b->signers[b->nsigners][CRYPTO_SHA256_HEX - 1] = '\0';
		b->nsigners++;
		p += CRYPTO_SHA256_HEX - 1;
		if (*p == ',')
			p++;
	}
	b->required = (int)m;
	free(value);
	return 0;
}

/* Sets the reason a bundle is refused (the first one found). */
static void
update_refuse(struct update_bundle *b, const char *error, char *reason)
{
	if (!b->installable && b->reason != NULL) {
		free(reason);
		return;
	}
	b->installable = 0;
	b->error = error;
	b->reason = reason;
}

/* Lists the required signers present (want 1) or missing (0). */
static char *
update_signer_list(const struct update_bundle *b, int want)
{
	char *s = NULL, *t;
	size_t i;

	for (i = 0; i < b->nsigners; i++) {
		if (b->present[i] != want)
			continue;
		t = xasprintf("%s%s%.16s", s != NULL ? s : "", s != NULL ?
		    ", " : "", b->signers[i]);
		free(s);
		s = t;
	}
	return s != NULL ? s : xstrdup("none");
}

/* The signatures: one that counts, and the required signers. */
static void
update_check_sigs(struct cmld *cmld, struct update_bundle *b)
{
	const char *kind = bundle_kind_name(b->m.kind);
	char *cause = NULL, *have, *miss;
	size_t i, k, counting = 0, present = 0;
	const struct update_sig *wrong = NULL, *bad = NULL;

	for (i = 0; i < b->l.nsigs; i++) {
		update_check_sig(cmld, b, i);
		if (b->sig[i].counts)
			counting++;
		else if (b->sig[i].verified && wrong == NULL)
			wrong = &b->sig[i];
		else if (!b->sig[i].verified && bad == NULL)
			bad = &b->sig[i];
	}
	if (b->l.nsigs == 0) {
		update_refuse(b, PROTO_ERR_INVALID_SIGNATURE, xasprintf("the "
		    "bundle is not signed: 'cml-bundle sign' adds a "
		    "signature"));
	} else if (counting == 0 && wrong != NULL) {
		update_refuse(b, PROTO_ERR_INVALID_SIGNATURE, xasprintf(
		    "signed by %s, which chains to an %s anchor: a %s bundle "
		    "needs a signature chaining to a supplier anchor",
		    wrong->signer.subject, wrong->anchor_kind, kind));
	} else if (counting == 0) {
		update_refuse(b, PROTO_ERR_INVALID_SIGNATURE, xasprintf("no "
		    "signature verifies: %s", bad->error));
	}

	if (update_required(cmld, b, &cause) == -1) {
		update_refuse(b, PROTO_ERR_FAILED, xasprintf("cannot read the "
		    "required signers: %s", cause));
		free(cause);
		return;
	}
	for (k = 0; k < b->nsigners; k++) {
		for (i = 0; i < b->l.nsigs; i++) {
			if (b->sig[i].counts && strcmp(b->sig[i].signer.
			    fingerprint, b->signers[k]) == 0)
				b->present[k] = 1;
		}
		present += (size_t)b->present[k];
	}
	if (b->required > 0 && present < (size_t)b->required) {
		have = update_signer_list(b, 1);
		miss = update_signer_list(b, 0);
		update_refuse(b, PROTO_ERR_INVALID_SIGNATURE, xasprintf("a %s "
		    "bundle needs signatures of %d of the %zu required "
		    "signers (update_signers_%s); it has %zu (%s), missing: "
		    "%s", kind, b->required, b->nsigners, kind, present, have,
		    miss));
		free(have);
		free(miss);
	}
}

/* The floor: the state store's and the TPM's, the higher one counting. */
static void
update_check_floor(struct cmld *cmld, struct update_bundle *b, int tpm_avail,
    const char *tpm_floor, const char *tpm_note)
{
	const char *error;
	char *cause = NULL;

	if (tpm_note != NULL)
		b->tpm_note = xstrdup(tpm_note);
	if (tpm_floor != NULL)
		b->tpm_floor = xstrdup(tpm_floor);
	if (update_floor_check(cmld, bundle_kind_name(b->m.kind), b->m.name,
	    b->m.version, tpm_avail, tpm_floor, tpm_note, &b->floor, &error,
	    &cause) == -1)
		update_refuse(b, error, cause);
}

void
update_check(struct cmld *cmld, struct update_bundle *b, int tpm_avail,
    const char *tpm_floor, const char *tpm_note)
{
	char *why;

	b->installable = 1;
	update_check_sigs(cmld, b);
	update_check_floor(cmld, b, tpm_avail, tpm_floor, tpm_note);
	switch (b->m.kind) {
	case BUNDLE_GUESTOS:
		break;
	case BUNDLE_CML:
	case BUNDLE_BOOT:
		why = update_slots_check(update_slots_of(cmld, b->m.kind), b);
		if (why != NULL)
			update_refuse(b, PROTO_ERR_FAILED, why);
		break;
	case BUNDLE_CONFIGS:
		break;
	}
}

/* Adds a string member, or nothing when s is NULL. */
static void
update_add_string(struct json_object *o, const char *key, const char *s)
{
	if (s != NULL)
		json_object_object_add(o, key, json_object_new_string(s));
}

/* The signers that are required and present (want 1) or missing (0). */
static struct json_object *
update_signers_array(const struct update_bundle *b, int want)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < b->nsigners; i++) {
		if (want < 0 || b->present[i] == want)
			json_object_array_add(a,
			    json_object_new_string(b->signers[i]));
	}
	return a;
}

struct json_object *
update_info_json(const struct update_bundle *b)
{
	struct json_object *o, *a, *p, *q;
	const struct update_sig *s;
	size_t i;

	o = json_object_new_object();
	update_add_string(o, "kind", bundle_kind_name(b->m.kind));
	update_add_string(o, "name", b->m.name);
	update_add_string(o, "version", b->m.version);
	update_add_string(o, "description", b->m.description);
	json_object_object_add(o, "size", json_object_new_int64(
	    (int64_t)b->l.size));
	update_add_string(o, "digest", b->digest);
	a = json_object_new_array();
	for (i = 0; i < b->m.npayloads; i++) {
		p = json_object_new_object();
		update_add_string(p, "name", b->m.payloads[i].name);
		json_object_object_add(p, "size", json_object_new_int64(
		    (int64_t)b->m.payloads[i].size));
		update_add_string(p, "sha256", b->m.payloads[i].sha256);
		json_object_array_add(a, p);
	}
	json_object_object_add(o, "payloads", a);
	a = json_object_new_array();
	for (i = 0; i < b->l.nsigs; i++) {
		s = &b->sig[i];
		p = json_object_new_object();
		json_object_object_add(p, "index", json_object_new_int64(
		    (int64_t)i));
		json_object_object_add(p, "verified",
		    json_object_new_boolean(s->verified));
		if (s->verified) {
			update_add_string(p, "subject", s->signer.subject);
			update_add_string(p, "fingerprint",
			    s->signer.fingerprint);
			update_add_string(p, "anchor_kind", s->anchor_kind);
		}
		json_object_object_add(p, "counts",
		    json_object_new_boolean(s->counts));
		update_add_string(p, "error", s->error);
		json_object_array_add(a, p);
	}
	json_object_object_add(o, "signatures", a);
	if (b->required > 0) {
		q = json_object_new_object();
		update_add_string(q, "kind", bundle_kind_name(b->m.kind));
		json_object_object_add(q, "required",
		    json_object_new_int64(b->required));
		json_object_object_add(q, "signers",
		    update_signers_array(b, -1));
		json_object_object_add(q, "present",
		    update_signers_array(b, 1));
		json_object_object_add(q, "missing",
		    update_signers_array(b, 0));
		json_object_object_add(o, "signers", q);
	}
	update_add_string(o, "floor", b->floor);
	update_add_string(o, "tpm_floor", b->tpm_floor != NULL ? b->tpm_floor :
	    b->tpm_note != NULL ? "unknown" : NULL);
	json_object_object_add(o, "installable",
	    json_object_new_boolean(b->installable));
	update_add_string(o, "reason", b->reason);
	return o;
}

char *
update_signers_json(const struct update_bundle *b)
{
	struct json_object *a, *p;
	char *s;
	size_t i;

	a = json_object_new_array();
	for (i = 0; i < b->l.nsigs; i++) {
		if (!b->sig[i].counts)
			continue;
		p = json_object_new_object();
		update_add_string(p, "subject", b->sig[i].signer.subject);
		update_add_string(p, "fingerprint",
		    b->sig[i].signer.fingerprint);
		update_add_string(p, "anchor_kind", b->sig[i].anchor_kind);
		json_object_array_add(a, p);
	}
	s = xstrdup(json_object_to_json_string_ext(a,
	    JSON_C_TO_STRING_PLAIN));
	json_object_put(a);
	return s;
}

int
update_payload_read(const struct update_bundle *b, size_t i, size_t max,
    char **buf, size_t *len, char **cause)
{
	const struct bundle_payload *p = &b->m.payloads[i];
	unsigned char md[CRYPTO_SHA256_LEN];
	char hex[CRYPTO_SHA256_HEX], *q;
	struct crypto_hash *h;
	size_t got;

	*buf = NULL;
	q = jsonstrict_quotes(p->name);
	if (p->size > max) {
		xcause(cause, "payload '%s' has %llu bytes, more than the %zu "
		    "it may have", q, (unsigned long long)p->size, max);
		free(q);
		return -1;
	}
	*buf = xmalloc((size_t)p->size + 1);
	got = (size_t)p->size;
	if (bundle_pread(b->fd, *buf, got, p->offset) == -1) {
		xcause(cause, "cannot read payload '%s' of %s: %s", q,
		    b->name, errno == EIO ? "the file ends early" :
		    strerror(errno));
		goto fail;
	}
	(*buf)[got] = '\0';
	h = crypto_sha256_new();
	crypto_hash_update(h, *buf, got);
	crypto_hash_final(h, md);
	crypto_hex(md, sizeof md, hex);
	if (strcmp(hex, p->sha256) != 0) {
		xcause(cause, "payload '%s' does not match its signed SHA-256 "
		    "(got %s, the manifest says %s)", q, hex, p->sha256);
		goto fail;
	}
	*len = got;
	free(q);
	return 0;
fail:
	free(*buf);
	*buf = NULL;
	free(q);
	return -1;
}
