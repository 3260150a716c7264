/*
 * org.cml.Trust: the trust anchors that signatures must chain to (OS 03,
 * NDR 3.13).  Owners register their own roots; every change is audited.
 * Reading, checking and storing an anchor is shared with the anchors and
 * the device CA of provisioning (provision.h).
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "audit.h"
#include "crypto.h"
#include "ctx.h"
#include "file.h"
#include "handlers.h"
#include "provision.h"
#include "store.h"
#include "trust.h"
#include "xmalloc.h"

/* Hex digits of a fingerprint prefix that identify an anchor. */
#define CA_MIN_PREFIX 8

void
ca_format_time(long long secs, char *buf, size_t len)
{
	audit_format_time(secs * 1000, buf, len);
	/* whole seconds: drop the milliseconds */
	if (strlen(buf) > 20)
		strcpy(buf + 19, "Z");
}

struct json_object *
ca_anchor_json(const char *fingerprint, const char *subject, const char *key,
    long long not_after, const char *kind)
{
	struct json_object *o = json_object_new_object();
	char when[32];

	ca_format_time(not_after, when, sizeof when);
	json_object_object_add(o, "fingerprint",
	    json_object_new_string(fingerprint));
	json_object_object_add(o, "subject", json_object_new_string(subject));
	json_object_object_add(o, "key", json_object_new_string(key));
	json_object_object_add(o, "not_after", json_object_new_string(when));
	json_object_object_add(o, "kind", json_object_new_string(kind));
	return o;
}

/* Adds a stored anchor to a List reply. */
static int
ca_list_cb(const struct store_anchor *a, void *arg)
{
	json_object_array_add(arg, ca_anchor_json(a->fingerprint, a->subject,
	    a->key, a->not_after, a->kind));
	return 0;
}

void
cmd_ca_list(struct call *call)
{
	struct json_object *list, *p;
	char *cause = NULL;

	list = json_object_new_array();
	if (store_anchor_list(call_cmld(call)->store, ca_list_cb, list, &cause) ==
	    -1) {
		json_object_put(list);
		call_error(call, PROTO_ERR_FAILED, NULL,
		    "cannot read the trust anchors: %s", cause);
		free(cause);
		return;
	}
	p = json_object_new_object();
	json_object_object_add(p, "anchors", list);
	call_reply(call, p);
}

int
ca_passed_read(struct call *call, const char *param, size_t max, char **buf,
    size_t *len, const char **name, char **cause)
{
	int fd, rc;

	/* The client opened the file with its own rights and passed it. */
	*name = json_object_get_string(json_object_object_get(
	    json_object_object_get(call->params, param), "name"));
	if (*name == NULL)
		*name = "the file passed";
	fd = call_take_fd(call, param, "fd");
	rc = file_read_fd(fd, max, buf, len);
	if (rc == -1)
		*cause = file_error(*name, max);
	if (fd != -1)
		close(fd);
	return rc;
}

int
ca_anchor_read(struct call *call, const char *param, struct crypto_cert *cert,
    const char **name, char **cause)
{
	char *buf = NULL;
	size_t len;
	int rc;

	memset(cert, 0, sizeof *cert);
	if (ca_passed_read(call, param, CRYPTO_CERT_MAX, &buf, &len, name,
	    cause) == -1)
		return -1;
	rc = crypto_cert_parse(buf, len, *name, cert, cause);
	free(buf);
	if (rc == 0 && (rc = crypto_cert_check_anchor(cert, cause)) == -1)
		crypto_cert_clear(cert);
	return rc;
}

/* Finds the kind of the anchor with a fingerprint. */
struct ca_kind {
	const char *fingerprint;
	char *kind;
};

static int
ca_kind_cb(const struct store_anchor *a, void *arg)
{
	struct ca_kind *k = arg;

	if (strcmp(a->fingerprint, k->fingerprint) != 0)
		return 0;
	k->kind = xstrdup(a->kind);
	return 1;
}

int
ca_anchor_kind(struct cmld *cmld, const char *fingerprint, char **kind,
    char **cause)
{
	struct ca_kind k = { fingerprint, NULL };

	if (store_anchor_list(cmld->store, ca_kind_cb, &k, cause) == -1)
		return -1;
	*kind = k.kind;
	return 0;
}

int
ca_anchor_install(struct cmld *cmld, const struct crypto_cert *cert,
    const char *kind, char **cause)
{
	struct store_anchor a = { 0 };
	char *why = NULL;
	int rc;

	a.fingerprint = (char *)cert->fingerprint;
	a.subject = cert->subject;
	a.key = cert->key;
	a.kind = (char *)kind;
	a.not_after = cert->not_after;
	a.added_ms = audit_now_ms();
	a.der = cert->der;
	a.der_len = cert->der_len;
	if ((rc = store_anchor_add(cmld->store, &a, &why)) == -1) {
		*cause = xasprintf("cannot store the trust anchor: %s", why);
		free(why);
		return -1;
	}
	if (rc == 1)
		return 1;
	if (trust_reload(cmld, &why) == -1) {
		*cause = xasprintf("the anchor is stored, but the trust store "
		    "could not be reloaded: %s", why);
		free(why);
		return -1;
	}
	return 0;
}

void
cmd_ca_add(struct call *call)
{
	struct crypto_cert cert = { 0 };
	const char *path;
	char *cause = NULL;
	int rc;

	if (ca_anchor_read(call, "cert", &cert, &path, &cause) == -1) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "cert",
		    "cannot add %s as a trust anchor: %s", path, cause);
		goto out;
	}
	rc = ca_anchor_install(call_cmld(call), &cert, "owner", &cause);
	if (rc == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "%s", cause);
		goto out;
	}
	if (rc == 1) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "cert",
		    "'%s' (%s) is already a trust anchor", cert.subject,
		    cert.fingerprint);
		goto out;
	}
	call_set_details(call, "added owner anchor %s (%s) from %s",
	    cert.fingerprint, cert.subject, path);
	call_reply(call, ca_anchor_json(cert.fingerprint, cert.subject,
	    cert.key, cert.not_after, "owner"));
out:
	free(cause);
	crypto_cert_clear(&cert);
}

struct ca_match {
	const char *prefix;
	int n;
	char *fingerprint;
	char *subject;
	char *kind;
};

/* Collects the anchors whose fingerprint starts with the prefix. */
static int
ca_match_cb(const struct store_anchor *a, void *arg)
{
	struct ca_match *m = arg;

	if (strncmp(a->fingerprint, m->prefix, strlen(m->prefix)) != 0)
		return 0;
	if (m->n++ == 0) {
		m->fingerprint = xstrdup(a->fingerprint);
		m->subject = xstrdup(a->subject);
		m->kind = xstrdup(a->kind);
	}
	return 0;
}

void
cmd_ca_remove(struct call *call)
{
	struct ca_match m = { 0 };
	struct json_object *p;
	const char *fp;
	char *cause = NULL, *lower;
	size_t i, len;
	int rc;

	fp = json_object_get_string(json_object_object_get(call->params,
	    "fingerprint"));
	len = strlen(fp);
	lower = xstrdup(fp);
	for (i = 0; i < len; i++) {
		if (!isxdigit((unsigned char)lower[i]))
			break;
		lower[i] = (char)tolower((unsigned char)lower[i]);
	}
	if (i != len || len < CA_MIN_PREFIX || len > 64) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "fingerprint",
		    "'%s' is no fingerprint: give at least %d of its hex "
		    "digits ('ca list' shows them)", fp, CA_MIN_PREFIX);
		goto out;
	}
	m.prefix = lower;
	if (store_anchor_list(call_cmld(call)->store, ca_match_cb, &m, &cause) ==
	    -1) {
		call_error(call, PROTO_ERR_FAILED, NULL,
		    "cannot read the trust anchors: %s", cause);
		goto out;
	}
	if (m.n == 0) {
		call_error(call, PROTO_ERR_NOT_FOUND, "fingerprint",
		    "no trust anchor has a fingerprint starting with %s",
		    lower);
		goto out;
	}
	if (m.n > 1) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "fingerprint",
		    "%d trust anchors have fingerprints starting with %s: give "
		    "more digits", m.n, lower);
		goto out;
	}
	/*
	 * Provisioned, the supplier's anchors and the device CA are fixed
	 * (NDR 3.12): only a wipe removes them.  The owner's stay the owner's.
	 */
	if (strcmp(call_cmld(call)->prov_state, "provisioned") == 0 &&
	    strcmp(m.kind, "owner") != 0) {
		call_error(call, PROTO_ERR_ALREADY_PROVISIONED, "fingerprint",
		    "the %s anchor %s (%s) cannot be removed: the device is "
		    "provisioned, and only 'device wipe' removes %s anchors",
		    m.kind, m.fingerprint, m.subject, m.kind);
		goto out;
	}
	rc = store_anchor_remove(call_cmld(call)->store, m.fingerprint, &cause);
	if (rc != 1 || trust_reload(call_cmld(call), &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL,
		    "cannot remove the trust anchor %s: %s", m.fingerprint,
		    cause != NULL ? cause : "it is gone");
		goto out;
	}
	call_set_details(call, "removed anchor %s (%s)", m.fingerprint,
	    m.subject);
	p = json_object_new_object();
	json_object_object_add(p, "fingerprint",
	    json_object_new_string(m.fingerprint));
	json_object_object_add(p, "subject", json_object_new_string(m.subject));
	call_reply(call, p);
out:
	free(m.fingerprint);
	free(m.subject);
	free(m.kind);
	free(lower);
	free(cause);
}
