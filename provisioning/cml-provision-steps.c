/*
 * The seven steps of cml-provision, each for both faces: the answers come
 * from the batch file when there is one, else from the operator, asked
 * line by line with the current or likely value as the default.  Every
 * change is one call of the step's command; what cmld answers is shown
 * (text from cmld with its control characters escaped) and kept for the
 * step's JSON line.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cml-provision.h"
#include "log.h"
#include "secret.h"
#include "settings.h"
#include "xmalloc.h"

/* An anchor shown to the operator was not confirmed. */
#define STEPS_DECLINED 1

/* Keeps a reply for the step's JSON line (several: in an array). */
static void
steps_keep(struct prov *p, const char *member, struct json_object *reply)
{
	struct json_object *list;

	if (reply == NULL)
		return;
	if (member == NULL) {
		json_object_put(p->result);
		p->result = json_object_get(reply);
		return;
	}
	if (p->result == NULL)
		p->result = json_object_new_object();
	if (!json_object_object_get_ex(p->result, member, &list)) {
		list = json_object_new_array();
		json_object_object_add(p->result, member, list);
	}
	json_object_array_add(list, json_object_get(reply));
}

/* Calls words with argv (NULL-terminated) and makes the outcome the step's. */
static int
steps_call(struct prov *p, const char *words, char *const *argv,
    struct prov_reply *r)
{
	int argc = 0;

	while (argv != NULL && argv[argc] != NULL)
		argc++;
	return prov_outcome(p, prov_call(p, words, argc, argv, NULL, r), r);
}

/*
 * Asks for a file to read (interactive) until one is given that can be
 * read, or empty is allowed (optional) and given.  Returns 0 with *path,
 * or PROV_ABORTED.
 */
static int
steps_ask_file(struct prov *p, const char *prompt, int optional,
    char **path)
{
	int rc;

	for (;;) {
		if ((rc = prov_ask(p, prompt, NULL, path)) != 0)
			return rc;
		if (**path == '\0' && optional)
			return 0;
		if (**path != '\0' && access(*path, R_OK) == 0)
			return 0;
		if (**path == '\0')
			prov_say(p, "A file is needed here (Ctrl-D stops; run "
			    "%s again once you have it).", PROV_NAME);
		else
			prov_say(p, "Cannot read %s: %s.", *path,
			    strerror(errno));
		free(*path);
		*path = NULL;
	}
}

/* --- 1 check ----------------------------------------------------------------- */

static int
steps_check(struct prov *p)
{
	struct prov_reply r;
	struct json_object *checks, *c, *ok;
	const char *name, *detail;
	char *label;
	size_t i;
	int rc;

	rc = steps_call(p, "provision check", NULL, &r);
	if (json_object_object_get_ex(r.params, "checks", &checks) &&
	    json_object_is_type(checks, json_type_array)) {
		for (i = 0; i < json_object_array_length(checks); i++) {
			c = json_object_array_get_idx(checks, i);
			name = prov_str(c, "name");
			detail = prov_str(c, "detail");
			json_object_object_get_ex(c, "ok", &ok);
			label = xasprintf("%s %s", json_object_get_boolean(ok) ?
			    (p->utf8 ? "\u2713" : "ok") : (p->utf8 ? "\u2717" :
			    "FAILED"), name != NULL ? name : "?");
			prov_say_clean(p, label, detail);
			free(label);
		}
	}
	steps_keep(p, NULL, r.params);
	prov_reply_free(&r);
	return rc;
}

/* --- 2 identity -------------------------------------------------------------- */

static int
steps_identity(struct prov *p)
{
	struct prov_reply r;
	const char *csr;
	char *path = NULL, *def, *cause = NULL;
	int rc;

	def = xasprintf("./%s.csr", p->uuid);
	if (p->batch != NULL)
		path = xstrdup(p->batch->csr_out != NULL ?
		    p->batch->csr_out : def);
	else if ((rc = prov_ask(p, "Write the certificate request to", def,
	    &path)) != 0) {
		free(def);
		return rc;
	}
	free(def);
	if ((rc = steps_call(p, "provision identity", NULL, &r)) != PROV_OK)
		goto out;
	prov_say_clean(p, "subject:", prov_str(r.params, "subject"));
	prov_say_clean(p, "TPM key name:", prov_str(r.params, "key_name"));
	if ((csr = prov_str(r.params, "csr")) == NULL) {
		rc = prov_fail(p, "cmld's answer holds no request");
		goto out;
	}
	if (prov_write_file(path, csr, strlen(csr), 0644, &cause) == -1) {
		rc = prov_fail(p, "the request is made, but %s; run %s again "
		    "to write it elsewhere", cause, PROV_NAME);
		free(cause);
		goto out;
	}
	free(p->csr_path);
	p->csr_path = xstrdup(path);
	prov_say(p, "The request is in %s: the device CA signs it (step 3 "
	    "installs the certificate).", path);
	steps_keep(p, NULL, r.params);
	json_object_object_add(p->result, "csr_file",
	    json_object_new_string(path));
out:
	prov_reply_free(&r);
	free(path);
	return rc;
}

/* --- 3 certificate ----------------------------------------------------------- */

static int
steps_certificate(struct prov *p)
{
	struct prov_reply r;
	char *cert = NULL, *ca = NULL, *argv[3];
	int rc;

	if (p->batch != NULL) {
		if (p->batch->certificate == NULL)
			return prov_fail(p, "the batch file gives no "
			    "certificate and device_ca: have the device CA "
			    "sign the request%s%s and add them",
			    p->csr_path != NULL ? " in " : "",
			    p->csr_path != NULL ? p->csr_path : "");
		cert = xstrdup(p->batch->certificate);
		ca = xstrdup(p->batch->device_ca);
	} else {
		if (p->csr_path != NULL)
			prov_say(p, "The device CA signs the request in %s.",
			    p->csr_path);
		if ((rc = steps_ask_file(p, "The device certificate (PEM or "
		    "DER)", 0, &cert)) != 0 ||
		    (rc = steps_ask_file(p, "The device CA's root certificate",
		    0, &ca)) != 0)
			goto out;
	}
	argv[0] = cert;
	argv[1] = ca;
	argv[2] = NULL;
	rc = steps_call(p, "provision certificate", argv, &r);
	if (rc == PROV_OK) {
		prov_say_clean(p, "subject:", prov_str(r.params, "subject"));
		prov_say_clean(p, "issuer:", prov_str(r.params, "issuer"));
		prov_say_clean(p, "fingerprint:",
		    prov_str(r.params, "fingerprint"));
		prov_say_clean(p, "valid until:",
		    prov_str(r.params, "not_after"));
		prov_say_clean(p, "device CA:", prov_str(r.params,
		    "ca_subject"));
		prov_say_clean(p, "its fingerprint:", prov_str(r.params,
		    "ca_fingerprint"));
		steps_keep(p, NULL, r.params);
	}
	prov_reply_free(&r);
out:
	free(cert);
	free(ca);
	return rc;
}

/* --- 4 anchors --------------------------------------------------------------- */

/* Shows a fingerprint as openssl prints one: bytes in hex, 16 a line. */
static void
steps_show_fingerprint(struct prov *p, const char *fp)
{
	char line[16 * 3 + 1];
	size_t i, n = 0, len = fp != NULL ? strlen(fp) : 0;
	int first = 1;

	if (len != 64 || strspn(fp, "0123456789abcdefABCDEF") != len) {
		prov_say_clean(p, "fingerprint:", fp);
		return;
	}
	for (i = 0; i + 1 < len; i += 2) {
		n += (size_t)snprintf(line + n, sizeof line - n, "%s%c%c",
		    n > 0 ? ":" : "", toupper((unsigned char)fp[i]),
		    toupper((unsigned char)fp[i + 1]));
		if (i / 2 % 16 == 15) {
			prov_say_clean(p, first ? "fingerprint:" : "", line);
			first = 0;
			n = 0;
		}
	}
}

/* Shows what cmld says of an anchor. */
static void
steps_show_anchor(struct prov *p, struct json_object *a)
{
	prov_say_clean(p, "subject:", prov_str(a, "subject"));
	prov_say_clean(p, "key:", prov_str(a, "key"));
	prov_say_clean(p, "valid until:", prov_str(a, "not_after"));
	steps_show_fingerprint(p, prov_str(a, "fingerprint"));
}

/* Says whether an anchor reply says it is installed. */
static int
steps_installed(struct json_object *a)
{
	struct json_object *v;

	return json_object_object_get_ex(a, "installed", &v) &&
	    json_object_get_boolean(v);
}

/*
 * Installs the anchor in path of kind: with the fingerprint the batch
 * file expects, or shown first for the operator to confirm.  Returns
 * PROV_OK, STEPS_DECLINED or a failure.
 */
static int
steps_anchor(struct prov *p, const char *path, const char *kind,
    const char *expect)
{
	struct prov_reply r;
	char *argv[5], *fp = NULL, *q;
	int rc, yes;

	argv[0] = (char *)path;
	argv[1] = (char *)kind;
	argv[2] = NULL;
	if (expect == NULL) {
		if ((rc = steps_call(p, "provision anchor", argv, &r)) !=
		    PROV_OK)
			goto out;
		steps_show_anchor(p, r.params);
		if (steps_installed(r.params)) {
			prov_say(p, "It is installed already.");
			steps_keep(p, "anchors", r.params);
			goto out;
		}
		q = xasprintf("Is this the %s's certificate (compare the "
		    "fingerprint with theirs)? Install it", kind);
		rc = prov_ask_yes(p, q, 0, &yes);
		free(q);
		if (rc != 0)
			goto out;
		if (!yes) {
			prov_say(p, "Not installed.");
			rc = STEPS_DECLINED;
			goto out;
		}
		if (prov_str(r.params, "fingerprint") == NULL) {
			rc = prov_fail(p, "cmld named no fingerprint");
			goto out;
		}
		fp = xstrdup(prov_str(r.params, "fingerprint"));
		prov_reply_free(&r);
	} else
		fp = xstrdup(expect);
	argv[2] = (char *)"--confirm";
	argv[3] = fp;
	argv[4] = NULL;
	if ((rc = steps_call(p, "provision anchor", argv, &r)) != PROV_OK)
		goto out;
	if (expect != NULL)
		steps_show_anchor(p, r.params);
	if (!steps_installed(r.params)) {
		rc = prov_fail(p, "cmld did not install the %s anchor in %s",
		    kind, path);
		goto out;
	}
	steps_keep(p, "anchors", r.params);
	prov_say(p, "Installed as %s %s anchor.", strcmp(kind, "owner") == 0 ?
	    "an" : "a", kind);
out:
	prov_reply_free(&r);
	free(fp);
	return rc;
}

int
prov_owner_anchors(struct prov *p)
{
	char *path;
	int i, rc;

	if (p->batch != NULL) {
		for (i = 0; i < p->batch->owner_anchors.argc; i++) {
			prov_say(p, "Owner anchor %s:",
			    p->batch->owner_anchors.argv[i]);
			if ((rc = steps_anchor(p,
			    p->batch->owner_anchors.argv[i], "owner",
			    p->batch->owner_fingerprints.argv[i])) != PROV_OK)
				return rc;
		}
		return PROV_OK;
	}
	for (;;) {
		if ((rc = steps_ask_file(p, "An owner anchor's CA certificate "
		    "(Enter: no more owner anchors)", 1, &path)) != 0)
			return rc;
		if (*path == '\0') {
			free(path);
			return PROV_OK;
		}
		rc = steps_anchor(p, path, "owner", NULL);
		free(path);
		if (rc == PROV_FAILED) {
			/* this one is refused; others may still be added */
			prov_say(p, "Not installed: %s", p->message);
			free(p->message);
			p->message = NULL;
		} else if (rc != PROV_OK && rc != STEPS_DECLINED)
			return rc;
	}
}

static int
steps_anchors(struct prov *p)
{
	char *path;
	int rc;

	if (strcmp(prov_step_state(p, PROV_ANCHORS), "done") == 0)
		return prov_owner_anchors(p);
	if (p->batch != NULL) {
		if (p->batch->supplier_anchor == NULL)
			return prov_fail(p, "the batch file gives no "
			    "supplier_anchor (with supplier_fingerprint)");
		prov_say(p, "Supplier anchor %s:", p->batch->supplier_anchor);
		if ((rc = steps_anchor(p, p->batch->supplier_anchor,
		    "supplier", p->batch->supplier_fingerprint)) != PROV_OK)
			return rc;
		return prov_owner_anchors(p);
	}
	prov_say(p, "The supplier's anchor is the CA certificate that signs "
	    "the software this device runs; it cannot be removed once the "
	    "device is provisioned.");
	do {
		if ((rc = steps_ask_file(p, "The supplier's CA certificate", 0,
		    &path)) != 0)
			return rc;
		rc = steps_anchor(p, path, "supplier", NULL);
		free(path);
	} while (rc == STEPS_DECLINED);
	if (rc != PROV_OK)
		return rc;
	prov_say(p, "Owner anchors (an admin may remove them later) are "
	    "optional.");
	return prov_owner_anchors(p);
}

/* --- 5 token ----------------------------------------------------------------- */

/*
 * Puts the settings of `device config get` into *map as KEY: VALUE.
 * Returns PROV_OK, or a failure (*map NULL).
 */
static int
steps_settings_now(struct prov *p, struct json_object **map)
{
	struct prov_reply r;
	struct json_object *list, *s;
	const char *k, *v;
	size_t i;
	int rc;

	*map = NULL;
	rc = prov_outcome(p, prov_call(p, "device config get", 0, NULL, NULL,
	    &r), &r);
	if (rc == PROV_OK && (!json_object_object_get_ex(r.params, "settings",
	    &list) || !json_object_is_type(list, json_type_array)))
		rc = prov_fail(p, "cmld's answer to 'device config get' holds "
		    "no settings");
	if (rc == PROV_OK) {
		*map = json_object_new_object();
		for (i = 0; i < json_object_array_length(list); i++) {
			s = json_object_array_get_idx(list, i);
			if ((k = prov_str(s, "key")) != NULL &&
			    (v = prov_str(s, "value")) != NULL)
				json_object_object_add(*map, k,
				    json_object_new_string(v));
		}
	}
	prov_reply_free(&r);
	return rc;
}

/* Says whether c0 exists: 1, 0, or a failure. */
static int
steps_c0_exists(struct prov *p)
{
	struct prov_reply r;
	struct json_object *list;
	const char *name;
	size_t i;
	int rc;

	if ((rc = steps_call(p, "container list", NULL, &r)) != PROV_OK) {
		prov_reply_free(&r);
		return rc;
	}
	rc = 0;
	if (json_object_object_get_ex(r.params, "containers", &list) &&
	    json_object_is_type(list, json_type_array))
		for (i = 0; i < json_object_array_length(list); i++)
			if ((name = prov_str(json_object_array_get_idx(list, i),
			    "name")) != NULL && strcmp(name, "c0") == 0)
				rc = 1;
	prov_reply_free(&r);
	return rc;
}

/*
 * Asks which installed guest OS c0 runs, with the one set or the only
 * one installed as the default.  Returns 0 with *name, or a failure.
 */
static int
steps_ask_guestos(struct prov *p, const char *now, char **name)
{
	struct prov_reply r;
	struct json_object *list, *g;
	const char *n, *only = NULL;
	char *label;
	size_t i, count = 0;
	int rc;

	if ((rc = steps_call(p, "guestos list", NULL, &r)) != PROV_OK) {
		prov_reply_free(&r);
		return rc;
	}
	if (!json_object_object_get_ex(r.params, "guestos", &list) ||
	    !json_object_is_type(list, json_type_array) ||
	    json_object_array_length(list) == 0) {
		prov_reply_free(&r);
		return prov_fail(p, "no guest OS is installed for c0: install "
		    "one ('cmlsh guestos install DIR'), then run %s again",
		    PROV_NAME);
	}
	prov_say(p, "c0, the management container, is made now; the guest "
	    "OSes installed:");
	for (i = 0; i < json_object_array_length(list); i++) {
		g = json_object_array_get_idx(list, i);
		if ((n = prov_str(g, "name")) == NULL)
			continue;
		label = xasprintf("%s", n);
		prov_say_clean(p, label, prov_str(g, "version"));
		free(label);
		if (only == NULL || strcmp(only, n) != 0)
			count++;
		only = n;
	}
	for (;;) {
		rc = prov_ask(p, "The guest OS of c0", now != NULL &&
		    *now != '\0' ? now : count == 1 ? only : NULL, name);
		if (rc != 0)
			break;
		for (i = 0; i < json_object_array_length(list); i++)
			if ((n = prov_str(json_object_array_get_idx(list, i),
			    "name")) != NULL && strcmp(n, *name) == 0)
				goto out;
		prov_say(p, "No guest OS '%s' is installed: one of those "
		    "above.", *name);
		free(*name);
		*name = NULL;
	}
out:
	prov_reply_free(&r);
	return rc;
}

/* Makes sure c0 exists or c0_guestos names its guest OS. */
static int
steps_c0(struct prov *p)
{
	struct json_object *settings;
	struct prov_reply r;
	const char *now;
	char *want = NULL, *argv[3];
	int rc;

	if ((rc = steps_c0_exists(p)) != 0)
		return rc == 1 ? PROV_OK : rc;
	if ((rc = steps_settings_now(p, &settings)) != PROV_OK)
		return rc;
	now = prov_str(settings, "c0_guestos");
	if (p->batch != NULL) {
		if (p->batch->c0_guestos == NULL && (now == NULL ||
		    *now == '\0')) {
			json_object_put(settings);
			return prov_fail(p, "c0 is not made yet and c0_guestos "
			    "is empty: name c0's guest OS (c0_guestos) in the "
			    "batch file");
		}
		want = xstrdup(p->batch->c0_guestos != NULL ?
		    p->batch->c0_guestos : now);
	} else if ((rc = steps_ask_guestos(p, now, &want)) != 0) {
		json_object_put(settings);
		return rc;
	}
	if (now == NULL || strcmp(now, want) != 0) {
		argv[0] = (char *)"c0_guestos";
		argv[1] = want;
		argv[2] = NULL;
		if ((rc = steps_call(p, "device config set", argv, &r)) ==
		    PROV_OK)
			prov_say(p, "c0 runs %s (the setting c0_guestos).",
			    want);
		prov_reply_free(&r);
	}
	free(want);
	json_object_put(settings);
	return rc;
}

/*
 * Asks which reader holds the card (usbtoken): by number or name, the
 * one reader with an OpenPGP card as the default.  Returns 0 with
 * *reader, or a failure.
 */
static int
steps_ask_reader(struct prov *p, char **reader)
{
	struct prov_reply r;
	struct json_object *list, *rd;
	const char *name, *card, *serial, *def = NULL;
	char *label, *text;
	size_t i, n, cards = 0;
	long k;
	int rc;

	if ((rc = steps_call(p, "token readers", NULL, &r)) != PROV_OK) {
		prov_reply_free(&r);
		return rc;
	}
	if (!json_object_object_get_ex(r.params, "readers", &list) ||
	    !json_object_is_type(list, json_type_array) ||
	    (n = json_object_array_length(list)) == 0) {
		prov_reply_free(&r);
		return prov_fail(p, "scd sees no smartcard reader: plug in the "
		    "reader with the card");
	}
	for (i = 0; i < n; i++) {
		rd = json_object_array_get_idx(list, i);
		name = prov_str(rd, "name");
		card = prov_str(rd, "card");
		serial = prov_str(rd, "serial");
		label = xasprintf("%zu)", i + 1);
		text = xasprintf("%s (%s%s%s)", name != NULL ? name : "?",
		    card == NULL ? "?" : strcmp(card, "openpgp") == 0 ?
		    "an OpenPGP card" : strcmp(card, "none") == 0 ? "no card" :
		    "another card", serial != NULL ? ", serial " : "",
		    serial != NULL ? serial : "");
		prov_say_clean(p, label, text);
		free(label);
		free(text);
		if (card != NULL && strcmp(card, "openpgp") == 0) {
			cards++;
			def = name;
		}
	}
	for (;;) {
		if ((rc = prov_ask(p, "The reader (number or name)", cards == 1 ?
		    def : NULL, reader)) != 0)
			break;
		k = strtol(*reader, &label, 10);
		if (*label == '\0' && k >= 1 && (size_t)k <= n &&
		    (name = prov_str(json_object_array_get_idx(list,
		    (size_t)k - 1), "name")) != NULL) {
			free(*reader);
			*reader = xstrdup(name);
			break;
		}
		for (i = 0; i < n; i++)
			if ((name = prov_str(json_object_array_get_idx(list, i),
			    "name")) != NULL && strcmp(name, *reader) == 0)
				goto out;
		prov_say(p, "No reader '%s': a number or a name from the "
		    "list.", *reader);
		free(*reader);
		*reader = NULL;
	}
out:
	prov_reply_free(&r);
	return rc;
}

/* Asks for the token's type (interactive); 0 with *type, or a failure. */
static int
steps_ask_type(struct prov *p, char **type)
{
	int rc;

	for (;;) {
		if ((rc = prov_ask(p, "The token: softtoken (a key file scd "
		    "keeps) or usbtoken (an OpenPGP card)", "softtoken",
		    type)) != 0)
			return rc;
		if (strcmp(*type, "softtoken") == 0 ||
		    strcmp(*type, "usbtoken") == 0)
			return 0;
		prov_say(p, "softtoken or usbtoken.");
		free(*type);
		*type = NULL;
	}
}

/* The batch file's PIN and PUK as parameters; NULL with p->message set. */
static struct json_object *
steps_batch_secrets(struct prov *p)
{
	struct json_object *extra;
	char *pin = NULL, *puk = NULL, *cause = NULL;

	if (prov_batch_secret(p->batch, "pin", &pin, &cause) == -1 ||
	    (pin != NULL && prov_batch_secret(p->batch, "puk", &puk,
	    &cause) == -1)) {
		prov_fail(p, "%s", cause);
		free(cause);
		secret_free(pin);
		return NULL;
	}
	if (pin == NULL) {
		prov_fail(p, "the batch file gives no PIN (pin or pin_fd)");
		return NULL;
	}
	if (puk == NULL && p->batch->generate_puk != 1) {
		secret_free(pin);
		prov_fail(p, "the batch file gives no PUK: puk, puk_fd or "
		    "generate_puk=yes");
		return NULL;
	}
	extra = json_object_new_object();
	json_object_object_add(extra, "pin", json_object_new_string(pin));
	if (puk != NULL)
		json_object_object_add(extra, "puk",
		    json_object_new_string(puk));
	secret_free(pin);
	secret_free(puk);
	return extra;
}

/* Shows the token made, and a PUK scd made: once. */
static void
steps_show_token(struct prov *p, struct json_object *reply)
{
	struct json_object *st;
	const char *puk;
	char *a;

	if (json_object_object_get_ex(reply, "status", &st)) {
		prov_say_clean(p, "type:", prov_str(st, "type"));
		prov_say_clean(p, "serial:", prov_str(st, "serial"));
		if (prov_str(st, "reader") != NULL)
			prov_say_clean(p, "reader:", prov_str(st, "reader"));
		prov_say_clean(p, "state:", prov_str(st, "state"));
	}
	if ((puk = prov_str(reply, "puk")) == NULL || p->json)
		return;
	prov_say(p, "\nThe PUK scd made, shown this once: write it down and "
	    "keep it apart from the device.");
	prov_say_clean(p, "PUK:", puk);
	if (p->batch == NULL && prov_ask(p, "\nPress Enter once it is written "
	    "down", NULL, &a) == 0)
		free(a);
	fputc('\n', p->out);
}

static int
steps_token(struct prov *p)
{
	struct prov_reply r;
	struct json_object *extra = NULL;
	char *type = NULL, *reader = NULL, *argv[5];
	int rc, argc = 0, generate = 0;

	if ((rc = steps_c0(p)) != PROV_OK)
		return rc;
	if (p->batch != NULL) {
		type = xstrdup(p->batch->token_type != NULL ?
		    p->batch->token_type : "softtoken");
		if (p->batch->token_reader != NULL)
			reader = xstrdup(p->batch->token_reader);
		if ((extra = steps_batch_secrets(p)) == NULL) {
			rc = PROV_FAILED;
			goto out;
		}
	} else {
		if ((rc = steps_ask_type(p, &type)) != 0 ||
		    (strcmp(type, "usbtoken") == 0 &&
		    (rc = steps_ask_reader(p, &reader)) != 0))
			goto out;
		if ((rc = prov_ask_yes(p, "Have scd make the PUK (12 digits, "
		    "shown once)?", 1, &generate)) != 0)
			goto out;
		prov_say(p, "The initial PIN (6 to 64 characters) is asked "
		    "twice, without echo%s.", generate ? "" :
		    "; then the PUK (8 to 64)");
	}
	argv[argc++] = type;
	if (reader != NULL) {
		argv[argc++] = (char *)"--reader";
		argv[argc++] = reader;
	}
	if (generate)
		argv[argc++] = (char *)"--generate-puk";
	argv[argc] = NULL;
	rc = prov_outcome(p, prov_call(p, "provision token", argc, argv, extra,
	    &r), &r);
	if (rc == PROV_OK) {
		steps_show_token(p, r.params);
		steps_keep(p, NULL, r.params);
	}
	prov_reply_free(&r);
out:
	free(type);
	free(reader);
	return rc;
}

/* --- 6 settings -------------------------------------------------------------- */

/*
 * Asks for one setting, the current value the default ("-" empties one
 * that may be empty); checked here as cmld checks it.  Returns 0 with
 * *word "KEY=VALUE", or PROV_ABORTED.
 */
static int
steps_ask_setting(struct prov *p, const struct setting_def *def,
    const char *now, char **word)
{
	char *a, *canon = NULL, *why = NULL, *values;
	int rc;

	values = setting_values(def);
	fprintf(p->out, "\n  ");
	format_wrap(p->out, def->help, 2, 2, 76);
	prov_say(p, "  (%s; Enter keeps it%s)", values, setting_canonical(def,
	    "", &canon, &why) == 0 ? ", - empties it" : "");
	free(values);
	free(canon);
	free(why);
	for (;;) {
		canon = why = NULL;
		if ((rc = prov_ask(p, def->key, now, &a)) != 0)
			return rc;
		if (strcmp(a, "-") == 0)
			*a = '\0';
		if (setting_canonical(def, a, &canon, &why) == 0) {
			*word = xasprintf("%s=%s", def->key, canon);
			free(canon);
			free(a);
			return 0;
		}
		prov_say(p, "%s: again.", why);
		free(why);
		free(a);
	}
}

static int
steps_settings_step(struct prov *p)
{
	struct json_object *now, *list, *s;
	struct prov_reply r;
	const struct setting_def *def;
	struct words words = { NULL, 0 };
	const char *v;
	char *word;
	size_t i;
	int rc = PROV_OK;

	if ((rc = steps_settings_now(p, &now)) != PROV_OK)
		return rc;
	if (p->batch != NULL && p->batch->settings.argc > 0) {
		for (i = 0; i < (size_t)p->batch->settings.argc; i++)
			words_add(&words, xstrdup(p->batch->settings.argv[i]));
	} else {
		if (p->batch == NULL)
			prov_say(p, "The device settings; the value now is in "
			    "brackets.");
		for (i = 0; i < setting_provision_keys_len; i++) {
			def = setting_find(setting_provision_keys[i]);
			v = prov_str(now, setting_provision_keys[i]);
			if (p->batch != NULL || def == NULL)
				word = xasprintf("%s=%s", setting_provision_keys[i],
				    v != NULL ? v : "");
			else if ((rc = steps_ask_setting(p, def, v,
			    &word)) != 0)
				goto out;
			words_add(&words, word);
		}
	}
	rc = prov_outcome(p, prov_call(p, "provision settings", words.argc,
	    words.argv, NULL, &r), &r);
	if (rc == PROV_OK) {
		if (json_object_object_get_ex(r.params, "settings", &list) &&
		    json_object_is_type(list, json_type_array))
			for (i = 0; i < json_object_array_length(list); i++) {
				s = json_object_array_get_idx(list, i);
				v = prov_str(s, "key");
				prov_say_pair(p, PROV_SETTING_WIDTH,
				    v != NULL ? v : "?", prov_str(s, "value"));
			}
		steps_keep(p, NULL, r.params);
	}
	prov_reply_free(&r);
out:
	words_free(&words);
	json_object_put(now);
	return rc;
}

/* --- 7 lock ------------------------------------------------------------------ */

/* Shows what the lock makes final: the steps and the settings. */
static int
steps_review(struct prov *p)
{
	struct json_object *now;
	size_t i;
	int rc;

	prov_say(p, "Review:");
	prov_show_steps(p);
	if ((rc = steps_settings_now(p, &now)) != PROV_OK)
		return rc;
	prov_say(p, "Settings:");
	for (i = 0; i < setting_provision_keys_len; i++)
		prov_say_pair(p, PROV_SETTING_WIDTH, setting_provision_keys[i],
		    prov_str(now, setting_provision_keys[i]));
	json_object_put(now);
	return PROV_OK;
}

static int
steps_lock(struct prov *p)
{
	struct prov_reply r;
	char *a;
	int rc;

	if ((rc = steps_review(p)) != PROV_OK)
		return rc;
	if (p->batch == NULL) {
		prov_say(p, "\nThe lock is for good: container configs must then "
		    "be signed, factory-only commands are refused and the "
		    "supplier anchor is fixed. Only 'device wipe' returns the "
		    "device to factory, destroying its keys and state.");
		if ((rc = prov_ask(p, "Type 'lock' to lock the device (Enter: "
		    "not now)", NULL, &a)) != 0)
			return rc;
		rc = strcmp(a, "lock") == 0;
		free(a);
		if (!rc) {
			free(p->message);
			p->message = xstrdup("not locked");
			return PROV_ABORTED;
		}
	}
	rc = steps_call(p, "provision lock", NULL, &r);
	if (rc == PROV_OK) {
		prov_say_clean(p, "state:", prov_str(r.params, "state"));
		steps_keep(p, NULL, r.params);
	}
	prov_reply_free(&r);
	return rc;
}

/* --- the report -------------------------------------------------------------- */

int
prov_write_report(struct prov *p, const char *path)
{
	struct prov_reply r;
	struct format_state fs;
	char *text = NULL, *cause = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	rc = prov_outcome(p, prov_call(p, "provision report", 0, NULL, NULL,
	    &r), &r);
	if (rc != PROV_OK) {
		prov_reply_free(&r);
		return rc;
	}
	/* the form of `cmlsh --json provision report`, which cml-attest reads */
	if ((f = open_memstream(&text, &len)) == NULL)
		fatal("open_memstream");
	format_state_init(&fs);
	format_reply(f, &fs, "org.cml.Provision.Report", r.params, 1);
	format_state_free(&fs);
	fclose(f);
	prov_reply_free(&r);
	if (prov_write_file(path, text, len, 0644, &cause) == -1) {
		free(p->message);
		p->message = cause;
		free(text);
		return PROV_FAILED;
	}
	free(text);
	free(p->report_path);
	p->report_path = xstrdup(path);
	prov_say(p, "The signed provisioning report is in %s ('cml-attest "
	    "--report' verifies it).", path);
	return PROV_OK;
}

int
prov_run_step(struct prov *p, enum prov_step s)
{
	switch (s) {
	case PROV_CHECK:
		return steps_check(p);
	case PROV_IDENTITY:
		return steps_identity(p);
	case PROV_CERTIFICATE:
		return steps_certificate(p);
	case PROV_ANCHORS:
		return steps_anchors(p);
	case PROV_TOKEN:
		return steps_token(p);
	case PROV_SETTINGS:
		return steps_settings_step(p);
	case PROV_LOCK:
	case PROV_STEPS:
		break;
	}
	return steps_lock(p);
}
