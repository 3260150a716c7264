/*
 * org.cml.Token: the containers' tokens, held by scd (the second stage).
 * cmld never sees a token's private key: it passes PINs and PUKs to scd
 * within a call, wipes them once the call went out, and keeps for each
 * container only its key wrapped under the token (store: container_key)
 * with the key's check value.  Every handler defers its call and answers
 * from scd's reply, as cmd-identity.c does over tpm2d.
 *
 * A token call takes scd's one worker for a PIN's key derivation or a
 * card's transactions, so each client process has one token call at a
 * time and all of them at most CMLD_TOKEN_CALLS: nobody can queue enough
 * of them to starve another operator.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "ctr.h"
#include "ctx.h"
#include "handlers.h"
#include "jsonstrict.h"
#include "log.h"
#include "scd.h"
#include "settings.h"
#include "store.h"
#include "token.h"
#include "xmalloc.h"

/* What the key check value is the HMAC of, under the key. */
#define TOKEN_KCV_TEXT "cml key check"
#define TOKEN_KCV_LEN CRYPTO_SHA256_LEN
/* scd's error names. */
#define TOKEN_SCD_ERR "org.cml.SCD."
#define TOKEN_ERR_VERIFICATION "org.cml.Token.VerificationFailed"

/* One token call out to scd. */
struct token_req {
	struct call *call;
	struct cmld *cmld;
	int slot; /* in cmld->token_callers */
	char *name;
	enum cconfig_token type;
	char *puk; /* init: the PUK scd made, to show once */
	int destroyed; /* init: a token there was is gone */
	struct json_object *status; /* init: scd's reply with the status */
	unsigned char kcv[TOKEN_KCV_LEN]; /* init: the new key's check value */
	/* init: who answers the call with the token made (NULL: Init's) */
	token_init_cb init_cb;
	void *init_arg;
	/* unlock: who takes the key, and the wrapped key made for it */
	token_key_cb key_cb;
	void *key_arg;
	char *wrapped; /* base64; NULL: the stored one was used */
};

/* --- helpers --------------------------------------------------------------- */

/* Wipes the string member key of o, if there is one, and drops it. */
static void
token_wipe(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return;
	/* json-c keeps the string in the object: no copy is left */
	explicit_bzero((char *)json_object_get_string(v),
	    (size_t)json_object_get_string_len(v));
	json_object_object_del(o, key);
}

/* Computes a key's check value: HMAC-SHA-256(key, TOKEN_KCV_TEXT). */
static int
token_kcv(const unsigned char *key, size_t len,
    unsigned char kcv[TOKEN_KCV_LEN])
{
	return crypto_hmac_sha256(key, len, TOKEN_KCV_TEXT,
	    strlen(TOKEN_KCV_TEXT), kcv);
}

/* Returns member key of o when it is a string, else NULL. */
static const char *
token_string(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/*
 * Takes the container key scd's reply carries (member "key", base64):
 * *key (TOKEN_KEY_LEN bytes; wipe and free it) and its check value in
 * kcv.  scd's copy in params is wiped either way, since the reply is
 * freed after this.  0, or -1 when there is no key of that length.
 */
static int
token_take_key(struct json_object *params, unsigned char **key,
    unsigned char kcv[TOKEN_KCV_LEN])
{
	const char *b64 = token_string(params, "key");
	size_t len = 0;
	int rc;

	*key = NULL;
	rc = b64 != NULL ? crypto_unbase64(b64, TOKEN_KEY_LEN, key, &len) : -1;
	token_wipe(params, "key");
	if (rc == 0 && len == TOKEN_KEY_LEN && token_kcv(*key, len, kcv) == 0)
		return 0;
	if (*key != NULL) {
		crypto_wipe(*key, len);
		free(*key);
		*key = NULL;
	}
	return -1;
}

/*
 * Returns scd's status of a reply as org.cml.Token's TokenStatus: only
 * the members the interface names, and bound (the container's key is
 * wrapped under this very token).  NULL if scd's reply has none.
 */
static struct json_object *
token_status(struct cmld *cmld, const char *name, struct json_object *params)
{
	static const char *const strs[] = { "name", "type", "serial",
	    "reader", "state" };
	static const char *const ints[] = { "pin_tries_left",
	    "pin_tries_max", "puk_tries_left", "puk_tries_max" };
	struct store_container_key k;
	struct json_object *st, *o, *v;
	char *cause = NULL;
	size_t i;
	int bound = 0, rc;

	if (!json_object_object_get_ex(params, "status", &st) ||
	    !json_object_is_type(st, json_type_object))
		return NULL;
	o = json_object_new_object();
	for (i = 0; i < sizeof strs / sizeof strs[0]; i++)
		if (json_object_object_get_ex(st, strs[i], &v) &&
		    json_object_is_type(v, json_type_string))
			json_object_object_add(o, strs[i], json_object_get(v));
	for (i = 0; i < sizeof ints / sizeof ints[0]; i++)
		if (json_object_object_get_ex(st, ints[i], &v) &&
		    json_object_is_type(v, json_type_int))
			json_object_object_add(o, ints[i], json_object_get(v));
	if (json_object_object_get_ex(st, "present", &v) &&
	    json_object_is_type(v, json_type_boolean))
		json_object_object_add(o, "present", json_object_get(v));
	rc = store_container_key_get(cmld->store, name, &k, &cause);
	if (rc == -1) {
		log_warnx("token of '%s': %s", name, cause);
		free(cause);
	}
	if (rc == 1 && token_string(st, "serial") != NULL &&
	    strcmp(k.serial, token_string(st, "serial")) == 0 &&
	    token_string(st, "type") != NULL &&
	    strcmp(k.token_type, token_string(st, "type")) == 0)
		bound = 1;
	store_container_key_clear(&k);
	json_object_object_add(o, "bound", json_object_new_boolean(bound));
	return o;
}

/* Answers call with status (taken over) as its one member. */
static void
token_reply_status(struct call *call, struct json_object *status)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "status", status);
	call_reply(call, p);
}

/*
 * Answers call with the error scd answered (what: "cannot verify the
 * PIN of 'c1'"): a failed verification as org.cml.Token's, the same
 * whatever its cause (CR 1.10), with the tries left and the state; scd's
 * other errors as org.cml.Error.Failed with its message.
 */
static void
token_error(struct call *call, const char *what, const char *error,
    struct json_object *params)
{
	const char *msg = scd_error_message(params), *state, *name;
	struct json_object *p, *v;

	if (error != NULL && strcmp(error, TOKEN_SCD_ERR
	    "VerificationFailed") == 0) {
		p = json_object_new_object();
		json_object_object_add(p, "tries_left",
		    json_object_object_get_ex(params, "tries_left", &v) &&
		    json_object_is_type(v, json_type_int) ?
		    json_object_get(v) : json_object_new_int(0));
		state = token_string(params, "state");
		json_object_object_add(p, "state",
		    json_object_new_string(state != NULL ? state : "ready"));
		call_error_params(call, TOKEN_ERR_VERIFICATION, p,
		    "verification failed");
		return;
	}
	if (error != NULL && strcmp(error, TOKEN_SCD_ERR "TokenExists") == 0) {
		call_error(call, PROTO_ERR_FAILED, NULL, "%s: %s%s", what, msg,
		    strstr(msg, "--force") != NULL ? "" :
		    ": init --force replaces it");
		return;
	}
	if (error != NULL && strcmp(error, PROTO_ERR_NOT_FOUND) == 0) {
		/* scd's words are its methods': say the command */
		name = json_object_get_string(json_object_object_get(
		    call->params, "name"));
		call_error(call, error, NULL, "%s: container '%s' has no token: "
		    "'token init %s' makes one", what, name != NULL ? name : "",
		    name != NULL ? name : "NAME");
		return;
	}
	if (error != NULL && strncmp(error, "org.cml.Error.",
	    strlen("org.cml.Error.")) == 0) {
		call_error(call, error, NULL, "%s: %s", what, msg);
		return;
	}
	call_error(call, PROTO_ERR_FAILED, NULL, "%s: %s", what, msg);
}

/* --- the calls out --------------------------------------------------------- */

/*
 * Takes a token slot for call's client: 0, or -1 with the call answered
 * Busy (this client has a token call out, or every slot is taken).
 */
static int
token_begin(struct call *call, struct token_req **out)
{
	struct cmld *cmld = call_cmld(call);
	struct token_req *r;
	const char *name;
	int i, free_slot = -1;

	for (i = 0; i < CMLD_TOKEN_CALLS; i++) {
		if (cmld->token_callers[i] == 0) {
			if (free_slot == -1)
				free_slot = i;
		} else if (cmld->token_callers[i] == call->pid) {
			call_error(call, PROTO_ERR_BUSY, NULL, "'%s': this "
			    "client has a token call waiting for scd; one at "
			    "a time", call->cmd->words);
			return -1;
		}
	}
	if (free_slot == -1) {
		call_error(call, PROTO_ERR_BUSY, NULL, "'%s': %d token calls "
		    "are waiting for scd; try again shortly",
		    call->cmd->words, CMLD_TOKEN_CALLS);
		return -1;
	}
	/* a pid of 0 (a client without credentials) takes a slot too */
	cmld->token_callers[free_slot] = call->pid != 0 ? call->pid : -1;
	r = xcalloc(1, sizeof *r);
	r->call = call;
	r->cmld = cmld;
	r->slot = free_slot;
	name = json_object_get_string(json_object_object_get(call->params,
	    "name"));
	r->name = xstrdup(name != NULL ? name : "");
	*out = r;
	return 0;
}

/* Ends a token call: its slot is free again. */
static void
token_end(struct token_req *r)
{
	if (r == NULL)
		return;
	r->cmld->token_callers[r->slot] = 0;
	if (r->puk != NULL) {
		explicit_bzero(r->puk, strlen(r->puk));
		free(r->puk);
	}
	json_object_put(r->status);
	explicit_bzero(r->kcv, sizeof r->kcv);
	free(r->wrapped);
	free(r->name);
	free(r);
}

/*
 * Calls scd's method with params (taken over) for r, and wipes the
 * secrets (members of secrets, NULL-terminated) from params and the
 * call's own once the call went out.  Returns 0 (cb gets the answer), or
 * -1 with the call answered (what says what failed) and r ended.
 */
static int
token_scd(struct token_req *r, const char *method, struct json_object *params,
    const char *const *secrets, stage_reply_cb cb, const char *what)
{
	const char *const *s;
	char *cause = NULL;
	int rc;

	json_object_get(params);
	rc = scd_call(r->cmld, method, params, cb, r, &cause);
	for (s = secrets; s != NULL && *s != NULL; s++)
		token_wipe(params, *s);
	json_object_put(params);
	cmd_wipe_secrets(r->call->cmd, r->call->params);
	if (rc == -1) {
		call_error(r->call, PROTO_ERR_FAILED, NULL, "%s: %s", what,
		    cause);
		free(cause);
		token_end(r);
		return -1;
	}
	return 0;
}

/* Copies member key of from (if it is there) to to. */
static void
token_copy(struct json_object *to, struct json_object *from, const char *key)
{
	struct json_object *v;

	if (json_object_object_get_ex(from, key, &v) && v != NULL)
		json_object_object_add(to, key, json_object_get(v));
}

/* Returns the container name of a token call, or NULL (call answered). */
static struct ctr *
token_container(struct call *call)
{
	const char *name = json_object_get_string(json_object_object_get(
	    call->params, "name"));
	struct ctr *k;
	char *q;

	if (name == NULL || (k = ctr_find(call_cmld(call), name)) == NULL) {
		q = jsonstrict_quotes(name != NULL ? name : "");
		call_error(call, PROTO_ERR_NOT_FOUND, "name", "no container "
		    "'%s': 'container list' shows them", q);
		free(q);
		return NULL;
	}
	return k;
}

/* --- token init ------------------------------------------------------------ */

static const char *const token_init_secrets[] = { "pin", "puk", NULL };
static const char *const token_key_secrets[] = { "key", NULL };

/* scd wrapped the new key: stores it bound to the container. */
static void
token_init_wrapped(void *arg, const char *error, struct json_object *params)
{
	struct token_req *r = arg;
	struct call *call = r->call;
	struct store_container_key k;
	struct json_object *p, *st;
	const char *wrapped, *serial;
	char *cause = NULL;

	if (error != NULL) {
		token_error(call, "the token was made, but the container's "
		    "key could not be wrapped under it ('token init --force' "
		    "makes it anew)", error, params);
		goto out;
	}
	memset(&k, 0, sizeof k);
	wrapped = token_string(params, "wrapped");
	serial = token_string(json_object_object_get(r->status, "status"),
	    "serial");
	if (wrapped == NULL || serial == NULL ||
	    crypto_unbase64(wrapped, STORE_CONTAINER_KEY_MAX, &k.wrapped,
	    &k.wrapped_len) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "the token was made, "
		    "but scd answered no wrapped key ('token init --force' "
		    "makes it anew)");
		goto out;
	}
	k.container = r->name;
	k.token_type = (char *)cconfig_token_name(r->type);
	k.serial = (char *)serial;
	memcpy(k.kcv, r->kcv, sizeof k.kcv);
	if (store_container_key_set(r->cmld->store, &k, &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "the token was made, "
		    "but its wrapped key was not stored ('token init --force' "
		    "makes it anew): %s", cause);
		free(cause);
		free(k.wrapped);
		goto out;
	}
	free(k.wrapped);
	explicit_bzero(k.kcv, sizeof k.kcv);
	call_set_details(call, "%s %s%s made for container '%s', its key "
	    "bound to it%s", cconfig_token_name(r->type), serial,
	    r->destroyed ? " (the token there was is destroyed)" : "", r->name,
	    r->puk != NULL ? "; the PUK was generated and shown once" : "");
	st = token_status(r->cmld, r->name, r->status);
	if (st == NULL)
		st = json_object_new_object();
	if (r->init_cb != NULL) {
		r->init_cb(r->init_arg, call, st, r->puk);
		goto out;
	}
	p = json_object_new_object();
	json_object_object_add(p, "status", st);
	if (r->puk != NULL)
		json_object_object_add(p, "puk", json_object_new_string(r->puk));
	json_object_object_add(p, "destroyed",
	    json_object_new_boolean(r->destroyed));
	call_reply(call, p);
out:
	token_end(r);
}

/*
 * Makes a new random container key, keeps its check value in r->kcv and
 * returns the parameters of scd's Wrap for it (the key in base64, wiped
 * by token_scd or the caller once sent); NULL when the random generator
 * or HMAC failed.
 */
static struct json_object *
token_new_key(struct token_req *r)
{
	unsigned char key[TOKEN_KEY_LEN];
	struct json_object *p;
	char *b64;

	if (crypto_random(key, sizeof key) == -1 ||
	    token_kcv(key, sizeof key, r->kcv) == -1) {
		crypto_wipe(key, sizeof key);
		return NULL;
	}
	b64 = crypto_base64(key, sizeof key);
	crypto_wipe(key, sizeof key);
	p = json_object_new_object();
	json_object_object_add(p, "name", json_object_new_string(r->name));
	json_object_object_add(p, "key", json_object_new_string(b64));
	explicit_bzero(b64, strlen(b64));
	free(b64);
	return p;
}

/*
 * scd made the token: a new container key is made, its check value kept,
 * and scd wraps it.
 */
static void
token_init_made(void *arg, const char *error, struct json_object *params)
{
	struct token_req *r = arg;
	struct json_object *p, *v;
	const char *puk;
	char *cause = NULL;

	if (error != NULL) {
		token_error(r->call, "cannot make the token", error, params);
		token_end(r);
		return;
	}
	if (!json_object_object_get_ex(params, "status", &v) ||
	    !json_object_is_type(v, json_type_object) ||
	    token_string(v, "serial") == NULL) {
		call_error(r->call, PROTO_ERR_FAILED, NULL, "cannot make the "
		    "token: scd answered no status");
		token_end(r);
		return;
	}
	if ((puk = token_string(params, "puk")) != NULL)
		r->puk = xstrdup(puk);
	/* scd's reply is freed after this: its copy of the PUK wiped first */
	token_wipe(params, "puk");
	r->destroyed = json_object_object_get_ex(params, "destroyed", &v) &&
	    json_object_get_boolean(v);
	r->status = json_object_new_object();
	json_object_object_add(r->status, "status", json_object_get(
	    json_object_object_get(params, "status")));
	/*
	 * A key wrapped before belongs to a token that is gone: never tried
	 * against the new one (a try counted for nothing).
	 */
	if (store_container_key_remove(r->cmld->store, r->name,
	    &cause) == -1) {
		call_error(r->call, PROTO_ERR_FAILED, NULL, "the token was "
		    "made, but the container's old key could not be removed "
		    "('token init --force' makes it anew): %s", cause);
		free(cause);
		token_end(r);
		return;
	}

	if ((p = token_new_key(r)) == NULL) {
		call_error(r->call, PROTO_ERR_FAILED, NULL, "the token was "
		    "made, but no container key could be made for it "
		    "(the random generator or HMAC failed; 'token init "
		    "--force' makes it anew)");
		token_end(r);
		return;
	}
	(void)token_scd(r, "Wrap", p, token_key_secrets, token_init_wrapped,
	    "the token was made, but the container's key could not be "
	    "wrapped under it ('token init --force' makes it anew)");
}

/* Returns a device setting as an integer, its default if unset. */
static long long
token_setting(struct cmld *cmld, const char *key)
{
	const struct setting_def *def = setting_find(key);
	char *value = NULL, *cause = NULL;
	long long v;

	if (store_setting_get(cmld->store, key, &value, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
	}
	v = strtoll(value != NULL ? value : def->def, NULL, 10);
	free(value);
	return v;
}

void
cmd_token_init(struct call *call)
{
	struct ctr *k;

	if ((k = token_container(call)) == NULL) {
		cmd_wipe_secrets(call->cmd, call->params);
		return;
	}
	token_init(call, k, NULL, NULL);
}

void
token_init(struct call *call, struct ctr *k, token_init_cb cb, void *arg)
{
	struct token_req *r;
	struct json_object *p;

	if (!k->cfg_ok) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot make a token "
		    "for container '%s': its stored config does not parse",
		    k->name);
		goto refused;
	}
	if (k->cfg.token == CCONFIG_TOKEN_NONE) {
		call_error(call, PROTO_ERR_FAILED, NULL, "container '%s' has "
		    "no token: its config says cml.token.type none; set "
		    "cml.token.type in its config to softtoken (a key file "
		    "scd keeps) or usbtoken (an OpenPGP card) and create it "
		    "again", k->name);
		goto refused;
	}
	if (token_begin(call, &r) == -1)
		goto refused;
	free(r->name);
	r->name = xstrdup(k->name);
	r->type = k->cfg.token;
	r->init_cb = cb;
	r->init_arg = arg;
	p = json_object_new_object();
	json_object_object_add(p, "name", json_object_new_string(k->name));
	json_object_object_add(p, "type",
	    json_object_new_string(cconfig_token_name(k->cfg.token)));
	token_copy(p, call->params, "reader");
	token_copy(p, call->params, "pin");
	token_copy(p, call->params, "puk");
	token_copy(p, call->params, "force");
	json_object_object_add(p, "pin_tries", json_object_new_int64(
	    token_setting(r->cmld, "token_pin_tries")));
	json_object_object_add(p, "puk_tries", json_object_new_int64(
	    token_setting(r->cmld, "token_puk_tries")));
	if (token_scd(r, "Init", p, token_init_secrets, token_init_made,
	    "cannot make the token") == 0)
		call_defer(call);
	return;
refused:
	cmd_wipe_secrets(call->cmd, call->params);
}

/* --- token status, readers ------------------------------------------------- */

/* scd's status of a token. */
static void
token_status_done(void *arg, const char *error, struct json_object *params)
{
	struct token_req *r = arg;
	struct json_object *st;

	if (error != NULL)
		token_error(r->call, "cannot read the token", error, params);
	else if ((st = token_status(r->cmld, r->name, params)) == NULL)
		call_error(r->call, PROTO_ERR_FAILED, NULL, "cannot read the "
		    "token: scd answered no status");
	else
		token_reply_status(r->call, st);
	token_end(r);
}

void
cmd_token_status(struct call *call)
{
	struct token_req *r;
	struct json_object *p;

	if (token_container(call) == NULL || token_begin(call, &r) == -1)
		return;
	p = json_object_new_object();
	json_object_object_add(p, "name", json_object_new_string(r->name));
	if (token_scd(r, "TokenStatus", p, NULL, token_status_done,
	    "cannot read the token") == 0)
		call_defer(call);
}

/* scd's readers, as the interface names their members. */
static void
token_readers_done(void *arg, const char *error, struct json_object *params)
{
	struct token_req *r = arg;
	struct json_object *list, *out, *o, *e;
	size_t i;

	if (error != NULL) {
		token_error(r->call, "cannot list the readers", error, params);
		goto out;
	}
	if (!json_object_object_get_ex(params, "readers", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		call_error(r->call, PROTO_ERR_FAILED, NULL, "cannot list the "
		    "readers: scd answered no list");
		goto out;
	}
	out = json_object_new_array();
	for (i = 0; i < json_object_array_length(list); i++) {
		e = json_object_array_get_idx(list, i);
		if (token_string(e, "name") == NULL ||
		    token_string(e, "card") == NULL)
			continue;
		o = json_object_new_object();
		token_copy(o, e, "name");
		token_copy(o, e, "card");
		if (token_string(e, "serial") != NULL)
			token_copy(o, e, "serial");
		if (token_string(e, "version") != NULL)
			token_copy(o, e, "version");
		json_object_array_add(out, o);
	}
	o = json_object_new_object();
	json_object_object_add(o, "readers", out);
	call_reply(r->call, o);
out:
	token_end(r);
}

void
cmd_token_readers(struct call *call)
{
	struct token_req *r;

	if (token_begin(call, &r) == -1)
		return;
	if (token_scd(r, "Readers", NULL, NULL, token_readers_done,
	    "cannot list the readers") == 0)
		call_defer(call);
}

/* --- token verify ---------------------------------------------------------- */

static const char *const token_verify_secrets[] = { "pin", NULL };

/* scd unwrapped the container's key: it is checked, then wiped. */
static void
token_verify_done(void *arg, const char *error, struct json_object *params)
{
	struct token_req *r = arg;
	struct call *call = r->call;
	struct store_container_key k;
	struct json_object *st;
	unsigned char *key = NULL, kcv[TOKEN_KCV_LEN];
	char *cause = NULL;
	int rc;

	memset(&k, 0, sizeof k);
	if (error != NULL) {
		token_error(call, "cannot verify the PIN", error, params);
		goto out;
	}
	if (token_take_key(params, &key, kcv) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot verify the "
		    "PIN: scd answered no key");
		goto out;
	}
	crypto_wipe(key, TOKEN_KEY_LEN);
	free(key);
	if ((rc = store_container_key_get(r->cmld->store, r->name, &k,
	    &cause)) != 1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot verify the "
		    "PIN: %s", rc == -1 ? cause : "the container's key is "
		    "gone");
		free(cause);
		goto out;
	}
	if (!crypto_equal(kcv, k.kcv, sizeof kcv)) {
		call_error(call, PROTO_ERR_INTEGRITY, NULL, "the PIN was "
		    "right, but the key the token unwrapped is not the "
		    "container's (its check value differs): the stored "
		    "wrapped key does not belong to this token");
		goto out;
	}
	if ((st = token_status(r->cmld, r->name, params)) == NULL) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot verify the "
		    "PIN: scd answered no status");
		goto out;
	}
	call_set_details(call, "PIN verified, the container's key unwrapped "
	    "and checked");
	token_reply_status(call, st);
out:
	crypto_wipe(kcv, sizeof kcv);
	store_container_key_clear(&k);
	token_end(r);
}

void
cmd_token_verify(struct call *call)
{
	struct token_req *r;
	struct store_container_key k;
	struct json_object *p;
	char *cause = NULL, *b64;
	int rc;

	if (token_container(call) == NULL)
		goto refused;
	rc = store_container_key_get(call_cmld(call)->store,
	    json_object_get_string(json_object_object_get(call->params,
	    "name")), &k, &cause);
	if (rc != 1) {
		if (rc == -1)
			call_error(call, PROTO_ERR_FAILED, NULL, "cannot verify "
			    "the PIN: %s", cause);
		else
			call_error(call, PROTO_ERR_NOT_FOUND, "name", "container "
			    "'%s' has no token bound: 'token init %s' makes "
			    "one", json_object_get_string(
			    json_object_object_get(call->params, "name")),
			    json_object_get_string(json_object_object_get(
			    call->params, "name")));
		free(cause);
		goto refused;
	}
	if (token_begin(call, &r) == -1) {
		store_container_key_clear(&k);
		goto refused;
	}
	b64 = crypto_base64(k.wrapped, k.wrapped_len);
	store_container_key_clear(&k);
	p = json_object_new_object();
	json_object_object_add(p, "name", json_object_new_string(r->name));
	token_copy(p, call->params, "pin");
	json_object_object_add(p, "wrapped", json_object_new_string(b64));
	free(b64);
	if (token_scd(r, "Unwrap", p, token_verify_secrets, token_verify_done,
	    "cannot verify the PIN") == 0)
		call_defer(call);
	return;
refused:
	cmd_wipe_secrets(call->cmd, call->params);
}

/* --- token change-pin, unblock --------------------------------------------- */

static const char *const token_change_secrets[] = { "pin", "new_pin", NULL };
static const char *const token_unblock_secrets[] = { "puk", "new_pin", NULL };

/* scd changed the PIN, or unblocked it. */
static void
token_changed(void *arg, const char *error, struct json_object *params)
{
	struct token_req *r = arg;
	struct call *call = r->call;
	struct json_object *st;
	int unblock = call->cmd->id == CMD_ID_TOKEN_UNBLOCK;

	if (error != NULL)
		token_error(call, unblock ? "cannot unblock the PIN" :
		    "cannot change the PIN", error, params);
	else if ((st = token_status(r->cmld, r->name, params)) == NULL)
		call_error(call, PROTO_ERR_FAILED, NULL, "%s: scd answered "
		    "no status", unblock ? "cannot unblock the PIN" :
		    "cannot change the PIN");
	else {
		call_set_details(call, unblock ? "PIN unblocked with the PUK, "
		    "a new PIN set" : "PIN changed");
		token_reply_status(call, st);
	}
	token_end(r);
}

/* Passes a change of the PIN (secrets: the members sent) on to scd. */
static void
token_change(struct call *call, const char *method,
    const char *const *secrets)
{
	struct token_req *r;
	struct json_object *p;
	const char *const *s;

	if (token_container(call) == NULL || token_begin(call, &r) == -1) {
		cmd_wipe_secrets(call->cmd, call->params);
		return;
	}
	p = json_object_new_object();
	json_object_object_add(p, "name", json_object_new_string(r->name));
	for (s = secrets; *s != NULL; s++)
		token_copy(p, call->params, *s);
	if (token_scd(r, method, p, secrets, token_changed,
	    call->cmd->id == CMD_ID_TOKEN_UNBLOCK ? "cannot unblock the PIN" :
	    "cannot change the PIN") == 0)
		call_defer(call);
}

void
cmd_token_change_pin(struct call *call)
{
	token_change(call, "ChangePIN", token_change_secrets);
}

void
cmd_token_unblock(struct call *call)
{
	token_change(call, "Unblock", token_unblock_secrets);
}

/* --- unlocking a container's key (container start) ------------------------ */

static const char *const token_unlock_secrets[] = { "pin", NULL };

/*
 * Says why a failed unwrap leaves the container locked, for its state
 * (free it): the tries left after a wrong PIN, or scd's message.
 */
static char *
token_locked_reason(const char *name, const char *error,
    struct json_object *params)
{
	struct json_object *v;
	const char *state = token_string(params, "state");

	if (error != NULL && strcmp(error, TOKEN_SCD_ERR
	    "VerificationFailed") == 0) {
		if (state != NULL && strcmp(state, "ready") != 0)
			return xasprintf("wrong PIN: its token is %s now "
			    "('token status %s' says what unblocks it)", state,
			    name);
		return xasprintf("wrong PIN (%d tries left): 'container start "
		    "%s' asks again",
		    json_object_object_get_ex(params, "tries_left", &v) ?
		    json_object_get_int(v) : 0, name);
	}
	return xasprintf("its key was not unlocked: %s",
	    scd_error_message(params));
}

/* Hands a failed unlock on: the call was answered already. */
static void
token_unlock_fail(struct token_req *r, char *why)
{
	r->key_cb(r->key_arg, NULL, 0, why);
	free(why);
	token_end(r);
}

/*
 * scd unwrapped the key with the PIN: it is checked against its check
 * value (a new one is stored first, now that the PIN proved the token),
 * handed to the start and wiped.
 */
static void
token_unlock_done(void *arg, const char *error, struct json_object *params)
{
	struct token_req *r = arg;
	struct store_container_key k;
	struct json_object *st;
	unsigned char *key = NULL, kcv[TOKEN_KCV_LEN];
	char *cause = NULL;
	int rc;

	memset(&k, 0, sizeof k);
	if (error != NULL) {
		token_error(r->call, "cannot unlock the container's storage",
		    error, params);
		token_unlock_fail(r, token_locked_reason(r->name, error,
		    params));
		return;
	}
	if (token_take_key(params, &key, kcv) == -1) {
		call_error(r->call, PROTO_ERR_FAILED, NULL, "cannot unlock the "
		    "container's storage: scd answered no key");
		goto fail;
	}
	if (r->wrapped == NULL) {
		rc = store_container_key_get(r->cmld->store, r->name, &k,
		    &cause);
		if (rc != 1 || !crypto_equal(kcv, k.kcv, sizeof kcv)) {
			call_error(r->call, PROTO_ERR_INTEGRITY, NULL, "cannot "
			    "unlock the container's storage: %s", rc == -1 ?
			    cause : rc == 0 ? "its key is gone" : "the key "
			    "the token unwrapped is not the container's (its "
			    "check value differs)");
			goto fail;
		}
	} else {
		/* A new key: stored once the PIN proved the token. */
		st = json_object_object_get(params, "status");
		if (!crypto_equal(kcv, r->kcv, sizeof kcv) ||
		    token_string(st, "serial") == NULL ||
		    crypto_unbase64(r->wrapped, STORE_CONTAINER_KEY_MAX,
		    &k.wrapped, &k.wrapped_len) == -1) {
			call_error(r->call, PROTO_ERR_FAILED, NULL, "cannot "
			    "unlock the container's storage: scd did not give "
			    "back the new key");
			goto fail;
		}
		k.container = r->name;
		k.token_type = (char *)cconfig_token_name(r->type);
		k.serial = (char *)token_string(st, "serial");
		memcpy(k.kcv, kcv, sizeof k.kcv);
		rc = store_container_key_set(r->cmld->store, &k, &cause);
		free(k.wrapped);
		memset(&k, 0, sizeof k);
		if (rc == -1) {
			call_error(r->call, PROTO_ERR_FAILED, NULL, "cannot "
			    "store the container's new key: %s", cause);
			goto fail;
		}
	}
	store_container_key_clear(&k);
	crypto_wipe(kcv, sizeof kcv);
	r->key_cb(r->key_arg, key, TOKEN_KEY_LEN, NULL);
	crypto_wipe(key, TOKEN_KEY_LEN);
	free(key);
	token_end(r);
	return;
fail:
	store_container_key_clear(&k);
	crypto_wipe(kcv, sizeof kcv);
	if (key != NULL) {
		crypto_wipe(key, TOKEN_KEY_LEN);
		free(key);
	}
	token_unlock_fail(r, xasprintf("its key was not unlocked%s%s",
	    cause != NULL ? ": " : "", cause != NULL ? cause : ""));
	free(cause);
}

/*
 * Sends the PIN and the wrapped key (base64) to scd to unwrap: 0, or -1
 * with the call answered and r ended (as token_scd).
 */
static int
token_unlock_unwrap(struct token_req *r, const char *wrapped)
{
	struct json_object *p;

	p = json_object_new_object();
	json_object_object_add(p, "name", json_object_new_string(r->name));
	token_copy(p, r->call->params, "pin");
	json_object_object_add(p, "wrapped", json_object_new_string(wrapped));
	return token_scd(r, "Unwrap", p, token_unlock_secrets,
	    token_unlock_done, "cannot unlock the container's storage");
}

/* scd wrapped a new key for a container that had none: now the PIN. */
static void
token_unlock_wrapped(void *arg, const char *error, struct json_object *params)
{
	struct token_req *r = arg;
	const char *wrapped = token_string(params, "wrapped");
	token_key_cb cb;
	void *cb_arg;

	if (error != NULL || wrapped == NULL) {
		token_error(r->call, "cannot make the container's new key",
		    error != NULL ? error : PROTO_ERR_FAILED, params);
		cmd_wipe_secrets(r->call->cmd, r->call->params);
		token_unlock_fail(r, xasprintf("its new key was not made: %s",
		    scd_error_message(params)));
		return;
	}
	r->wrapped = xstrdup(wrapped);
	cb = r->key_cb;
	cb_arg = r->key_arg;
	if (token_unlock_unwrap(r, r->wrapped) == -1)
		cb(cb_arg, NULL, 0, "scd could not be asked to unwrap its key");
}

/*
 * Refuses an unlock at once (cause is freed): the call answered, its PIN
 * wiped, r ended.  Returns -1.
 */
static int
token_unlock_refuse(struct token_req *r, char *cause)
{
	call_error(r->call, PROTO_ERR_FAILED, NULL, "cannot unlock the "
	    "container's storage: %s", cause);
	free(cause);
	cmd_wipe_secrets(r->call->cmd, r->call->params);
	token_end(r);
	return -1;
}

int
token_unlock(struct call *call, struct ctr *k, token_key_cb cb, void *arg)
{
	struct store_container_key key;
	struct token_req *r;
	struct json_object *p;
	char *cause = NULL, *b64;
	int rc;

	if (token_begin(call, &r) == -1) {
		cmd_wipe_secrets(call->cmd, call->params);
		return -1;
	}
	free(r->name);
	r->name = xstrdup(k->name);
	r->type = k->cfg.token;
	r->key_cb = cb;
	r->key_arg = arg;
	rc = store_container_key_get(r->cmld->store, k->name, &key, &cause);
	if (rc == -1)
		return token_unlock_refuse(r, cause);
	if (rc == 1) {
		b64 = crypto_base64(key.wrapped, key.wrapped_len);
		store_container_key_clear(&key);
		rc = token_unlock_unwrap(r, b64);
		free(b64);
		return rc;
	}
	/*
	 * No key (its storage was wiped): a new one, wrapped under the
	 * token, is stored once the PIN unwrapped it again.
	 */
	if ((p = token_new_key(r)) == NULL)
		return token_unlock_refuse(r, xstrdup("no new key could be "
		    "made (the random generator or HMAC failed)"));
	/* the PIN stays in the call's params until the unwrap */
	json_object_get(p);
	rc = scd_call(r->cmld, "Wrap", p, token_unlock_wrapped, r, &cause);
	token_wipe(p, "key");
	json_object_put(p);
	if (rc == -1)
		return token_unlock_refuse(r, cause);
	return 0;
}
