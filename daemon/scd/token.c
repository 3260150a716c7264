/*
 * The tokens scd keeps, and the methods that use them.  A token is a
 * directory ROOT/var/lib/cml/scd/tokens/NAME holding its state file
 * (JSON: type, serial, reader, public key, KDF and salts, counters) and,
 * for a software token, token.p12 (the key pair under the PIN) and
 * puk.p12 (the same under the PUK, which is how the PUK can set a new
 * PIN).  A state file is only ever replaced whole (file_write_atomic).
 *
 * The counters are scd's own: a PIN or PUK check first decrements its
 * counter and stores it, here on the loop, and only then queues the
 * check on the worker; the check's completion sets the counter back to
 * its maximum when it passed.  So a crash or kill at any point after
 * the call was taken costs a try, and never gives one.  A counter at 0
 * blocks: the PIN's until the PUK unblocks it, the PUK's for good (the
 * token is "blocked": only Init again, which destroys it).  Every failed
 * check answers VerificationFailed "verification failed", whatever the
 * cause, with the tries left.
 *
 * One job per token at a time; the worker's queue is bounded.  A card
 * (usbtoken) is used through card.c, on the worker as well.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "card.h"
#include "crypto.h"
#include "daemon.h"
#include "file.h"
#include "log.h"
#include "names.h"
#include "pin.h"
#include "proto.h"
#include "context.h"
#include "scd-interfaces.h"
#include "spool.h"
#include "utf8.h"
#include "worker.h"
#include "xmalloc.h"

/* The largest state file read. */
#define TOKEN_STATE_MAX (16 * 1024)
/* The digits of a generated PUK. */
#define TOKEN_PUK_DIGITS 12

#define TOKEN_P12 "token.p12"
#define TOKEN_PUK_P12 "puk.p12"

enum token_op {
	TOKEN_OP_INIT,
	TOKEN_OP_VERIFY,
	TOKEN_OP_UNWRAP,
	TOKEN_OP_CHANGE,
	TOKEN_OP_UNBLOCK,
	TOKEN_OP_READERS,
};

/* What a check came to. */
#define TOKEN_OK 0
#define TOKEN_ERROR -1
#define TOKEN_WRONG 1 /* the PIN or PUK was wrong */
#define TOKEN_NO_UNWRAP 2 /* the PIN was right, the blob did not unwrap */
#define TOKEN_EXISTS 3 /* the card holds keys, and init was not forced */

/*
 * A job for the worker: what it needs, copied, so that the worker reads
 * nothing the loop changes; and what it found.
 */
struct token_job {
	struct worker_job wj;
	struct scd *s;
	struct call *call;
	struct token *tok; /* busy while the job lives; NULL: readers */
	enum token_op op;
	char *dir; /* the token's directory (for init, the new one) */
	char name[SCD_NAME_MAX + 1];
	int card;
	char *reader;
	int force;
	struct scd_kdf kdf;
	unsigned char salt[SCD_SALT_LEN], puk_salt[SCD_SALT_LEN];
	unsigned char pub[TOKENWRAP_PUB_LEN];
	const unsigned char *psecret;
	/* secrets: wiped and freed with the job */
	char *pin, *new_pin, *puk;
	unsigned char *blob;
	size_t bloblen;
	int initing; /* holds its name in s->initing */
	/* the result */
	int result;
	char *cause;
	unsigned char key[TOKENWRAP_KEY_MAX];
	size_t keylen;
	char serial[32];
	int card_tries; /* the card's count after a wrong PIN, or -1 */
	int card_pin_tries, card_puk_tries; /* the card's counters, or -1 */
	int destroyed;
	int puk_generated;
	int pcsc_down; /* PC/SC failed (cause says why) */
	struct json_object *readers;
};

static const char *
token_state(const struct token *t)
{
	if (t->puk_left <= 0)
		return "blocked";
	if (t->pin_left <= 0)
		return "pin-blocked";
	return "ready";
}

static struct token *
token_find(struct scd *s, const char *name)
{
	struct token *t;

	TAILQ_FOREACH(t, &s->tokens, entry)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

static char *
token_dir(struct scd *s, const char *name)
{
	return xasprintf("%s/%s", s->tokens_dir, name);
}

static void
token_free(struct token *t)
{
	free(t->reader);
	xwipe(t, sizeof *t);
	free(t);
}

/* --- base64 ------------------------------------------------------------ */

/* Decodes base64 of exactly len bytes into out; -1 if it is not. */
static int
token_unb64_fixed(struct json_object *v, unsigned char *out, size_t len)
{
	unsigned char *b;
	size_t n;

	if (!json_object_is_type(v, json_type_string) ||
	    crypto_unbase64(json_object_get_string(v), len, &b, &n) == -1)
		return -1;
	if (n != len) {
		free(b);
		return -1;
	}
	memcpy(out, b, len);
	free(b);
	return 0;
}

/* --- files ------------------------------------------------------------- */

/* Removes a token's directory and what it holds (no subdirectories). */
static int
token_rmdir(const char *dir, char **cause)
{
	struct dirent *de;
	DIR *d;
	int dfd;

	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		xcause(cause, "cannot open %s: %s", dir, strerror(errno));
		return -1;
	}
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dfd, de->d_name, 0) == -1 && errno != ENOENT) {
			xcause(cause, "cannot remove %s/%s: %s", dir,
			    de->d_name, strerror(errno));
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	if (rmdir(dir) == -1 && errno != ENOENT) {
		xcause(cause, "cannot remove %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Adds what a token's state file and its TokenStatus share: type, serial,
 * reader, the counters and the state.
 */
static void
token_json_common(struct json_object *o, const struct token *t)
{
	json_object_object_add(o, "type", json_object_new_string(t->card ?
	    SCD_TYPE_CARD : SCD_TYPE_SOFT));
	json_object_object_add(o, "serial", json_object_new_string(t->serial));
	json_object_object_add(o, "reader", t->reader != NULL ?
	    json_object_new_string(t->reader) : NULL);
	json_object_object_add(o, "pin_tries_left",
	    json_object_new_int(t->pin_left));
	json_object_object_add(o, "pin_tries_max",
	    json_object_new_int(t->pin_max));
	json_object_object_add(o, "puk_tries_left",
	    json_object_new_int(t->puk_left));
	json_object_object_add(o, "puk_tries_max",
	    json_object_new_int(t->puk_max));
	json_object_object_add(o, "state",
	    json_object_new_string(token_state(t)));
}

/* The state file's JSON of a token. */
static char *
token_state_json(const struct token *t)
{
	struct json_object *o, *k;
	char *b, *out;

	o = json_object_new_object();
	token_json_common(o, t);
	b = crypto_base64(t->pub, sizeof t->pub);
	json_object_object_add(o, "public_key", json_object_new_string(b));
	free(b);
	if (!t->card) {
		k = json_object_new_object();
		json_object_object_add(k, "name",
		    json_object_new_string("scrypt"));
		json_object_object_add(k, "log2n",
		    json_object_new_int(t->kdf.log2n));
		json_object_object_add(k, "r", json_object_new_int(t->kdf.r));
		json_object_object_add(k, "p", json_object_new_int(t->kdf.p));
		json_object_object_add(o, "kdf", k);
		b = crypto_base64(t->salt, sizeof t->salt);
		json_object_object_add(o, "salt", json_object_new_string(b));
		free(b);
		b = crypto_base64(t->puk_salt, sizeof t->puk_salt);
		json_object_object_add(o, "puk_salt",
		    json_object_new_string(b));
		free(b);
	}
	out = xasprintf("%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return out;
}

/* Stores a token's state file in dir; 0, or -1 with *cause. */
static int
token_save_in(const struct token *t, const char *dir, char **cause)
{
	char *json;
	int ret;

	json = token_state_json(t);
	ret = file_write_atomic(dir, "state", json, strlen(json), 0600,
	    cause);
	free(json);
	return ret;
}

static int
token_save(struct scd *s, const struct token *t, char **cause)
{
	char *dir = token_dir(s, t->name);
	int ret;

	ret = token_save_in(t, dir, cause);
	free(dir);
	return ret;
}

/* Reads an integer member from min to max; -1 if it is none. */
static int
token_get_int(struct json_object *o, const char *key, int min, int max,
    int *out)
{
	struct json_object *v;
	long long n;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return -1;
	n = json_object_get_int64(v);
	if (n < min || n > max)
		return -1;
	*out = (int)n;
	return 0;
}

/* Reads the state file of token name; NULL with *cause. */
static struct token *
token_read(struct scd *s, const char *name, char **cause)
{
	struct json_object *o = NULL, *v, *k;
	struct token *t;
	const char *type;
	char *path, *buf = NULL;
	size_t len;

	t = xcalloc(1, sizeof *t);
	(void)snprintf(t->name, sizeof t->name, "%.*s", SCD_NAME_MAX, name);
	path = xasprintf("%s/%s/state", s->tokens_dir, name);
	if (file_read_small(AT_FDCWD, path, TOKEN_STATE_MAX, &buf, &len) ==
	    -1) {
		xcause(cause, "cannot read %s: %s", path, strerror(errno));
		goto fail;
	}
	if ((o = json_tokener_parse(buf)) == NULL ||
	    !json_object_is_type(o, json_type_object)) {
		xcause(cause, "%s is no JSON object", path);
		goto fail;
	}
	type = json_object_get_string(json_object_object_get(o, "type"));
	if (type == NULL || (strcmp(type, SCD_TYPE_SOFT) != 0 &&
	    strcmp(type, SCD_TYPE_CARD) != 0)) {
		xcause(cause, "%s: no type softtoken or usbtoken", path);
		goto fail;
	}
	t->card = strcmp(type, SCD_TYPE_CARD) == 0;
	v = json_object_object_get(o, "serial");
	if (!json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) >= (int)sizeof t->serial) {
		xcause(cause, "%s: no serial", path);
		goto fail;
	}
	(void)snprintf(t->serial, sizeof t->serial, "%s",
	    json_object_get_string(v));
	v = json_object_object_get(o, "reader");
	if (json_object_is_type(v, json_type_string))
		t->reader = xstrdup(json_object_get_string(v));
	if (token_unb64_fixed(json_object_object_get(o, "public_key"), t->pub,
	    sizeof t->pub) == -1 || t->pub[0] != 0x04) {
		xcause(cause, "%s: no public key", path);
		goto fail;
	}
	if (!t->card) {
		k = json_object_object_get(o, "kdf");
		if (k == NULL || token_get_int(k, "log2n", 10, 22,
		    &t->kdf.log2n) == -1 ||
		    token_get_int(k, "r", 1, 32, &t->kdf.r) == -1 ||
		    token_get_int(k, "p", 1, 16, &t->kdf.p) == -1 ||
		    token_unb64_fixed(json_object_object_get(o, "salt"),
		    t->salt, sizeof t->salt) == -1 ||
		    token_unb64_fixed(json_object_object_get(o, "puk_salt"),
		    t->puk_salt, sizeof t->puk_salt) == -1) {
			xcause(cause, "%s: no KDF parameters or salts", path);
			goto fail;
		}
	}
	if (token_get_int(o, "pin_tries_max", 1, SCD_TRIES_MAX,
	    &t->pin_max) == -1 ||
	    token_get_int(o, "puk_tries_max", 1, SCD_TRIES_MAX,
	    &t->puk_max) == -1 ||
	    token_get_int(o, "pin_tries_left", 0, t->pin_max,
	    &t->pin_left) == -1 ||
	    token_get_int(o, "puk_tries_left", 0, t->puk_max,
	    &t->puk_left) == -1) {
		xcause(cause, "%s: no counters", path);
		goto fail;
	}
	t->present = !t->card;
	json_object_put(o);
	free(buf);
	free(path);
	return t;
fail:
	json_object_put(o);
	free(buf);
	free(path);
	token_free(t);
	return NULL;
}

void
scd_tokens_load(struct scd *s)
{
	struct dirent *de;
	struct token *t;
	char *cause = NULL, *dir;
	DIR *d;

	if ((d = opendir(s->tokens_dir)) == NULL)
		fatal("cannot open %s", s->tokens_dir);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.') {
			/* what an init or a forced one left half done */
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			dir = xasprintf("%s/%s", s->tokens_dir, de->d_name);
			if (token_rmdir(dir, &cause) == -1) {
				log_warnx("%s", cause);
				free(cause);
				cause = NULL;
			} else
				log_info("removed %s, left by an init that did "
				    "not end", dir);
			free(dir);
			continue;
		}
		if (!names_container_ok(de->d_name)) {
			log_warnx("%s/%s is no token: ignored", s->tokens_dir,
			    de->d_name);
			continue;
		}
		if ((t = token_read(s, de->d_name, &cause)) == NULL) {
			log_warnx("token %s cannot be used: %s", de->d_name,
			    cause);
			free(cause);
			cause = NULL;
			continue;
		}
		TAILQ_INSERT_TAIL(&s->tokens, t, entry);
		s->ntokens++;
	}
	closedir(d);
}

void
scd_tokens_free(struct scd *s)
{
	struct token *t;

	while ((t = TAILQ_FIRST(&s->tokens)) != NULL) {
		TAILQ_REMOVE(&s->tokens, t, entry);
		token_free(t);
	}
	s->ntokens = 0;
}

/* --- replies ----------------------------------------------------------- */

static struct json_object *
token_status_json(const struct token *t)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(t->name));
	json_object_object_add(o, "present",
	    json_object_new_boolean(t->present));
	token_json_common(o, t);
	return o;
}

/* Answers with {"status": TokenStatus} and, if key, "key": base64. */
static void
token_reply_status(struct call *call, const struct token *t,
    const unsigned char *key, size_t keylen)
{
	struct json_object *p = json_object_new_object();
	char *b;

	if (key != NULL) {
		b = crypto_base64(key, keylen);
		json_object_object_add(p, "key", json_object_new_string(b));
		xfree_secret(b);
	}
	json_object_object_add(p, "status", token_status_json(t));
	call_reply(call, p);
}

/* Answers VerificationFailed with the tries left of the counter used. */
static void
token_verify_failed(struct call *call, const struct token *t, int tries)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "tries_left", json_object_new_int(tries));
	json_object_object_add(p, "state",
	    json_object_new_string(token_state(t)));
	call_error_params(call, SCD_ERR_VERIFY, p, SCD_VERIFY_MSG);
}

/* --- the checks every token call makes first --------------------------- */

/*
 * Wipes a secret parameter in the call's JSON, once copied: json-c keeps
 * the string in the object, which lives until the call ends.
 */
static void
token_wipe_param(struct call *call, const char *key)
{
	struct json_object *v;

	if (json_object_object_get_ex(call->params, key, &v) &&
	    json_object_is_type(v, json_type_string))
		xwipe((char *)json_object_get_string(v),
		    (size_t)json_object_get_string_len(v));
}

/* Copies a secret parameter (NULL when absent) and wipes it. */
static char *
token_take_secret(struct call *call, const char *key)
{
	struct json_object *v;
	char *copy = NULL;

	if (json_object_object_get_ex(call->params, key, &v) &&
	    json_object_is_type(v, json_type_string))
		copy = xstrdup(json_object_get_string(v));
	token_wipe_param(call, key);
	return copy;
}

/* The name parameter, checked; NULL after answering the call. */
static const char *
token_name_param(struct call *call)
{
	const char *name;
	char *clean;

	name = json_object_get_string(json_object_object_get(call->params,
	    "name"));
	if (name == NULL || !names_container_ok(name)) {
		clean = utf8_clean(name != NULL ? name : "", 80);
		call_set_details(call, "token '%s'", clean);
		free(clean);
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, NULL, "'name' "
		    "must be a container name: a lower-case letter or digit, "
		    "then up to %d of them or '-'", SCD_NAME_MAX - 1);
		return NULL;
	}
	call_set_details(call, "token %s", name);
	return name;
}

/* Refuses the call when the platform secret is absent; 0 if present. */
static int
token_need_psecret(struct call *call)
{
	struct scd *s = call_scd(call);

	if (s->psecret_ok)
		return 0;
	call_error(call, SCD_ERR_PSECRET, NULL, "the platform secret is not "
	    "there (%s): no token can be used or made until tpm2d gives it",
	    s->psecret_reason != NULL ? s->psecret_reason : "not yet asked");
	return -1;
}

/*
 * The token of a call that uses one: named well, known, not busy, the
 * worker not full (room), the platform secret there.  NULL after
 * answering the call.
 */
static struct token *
token_of_call(struct call *call, int room)
{
	struct scd *s = call_scd(call);
	struct token *t;
	const char *name;

	if ((name = token_name_param(call)) == NULL)
		return NULL;
	if ((t = token_find(s, name)) == NULL) {
		call_error(call, PROTO_ERR_NOT_FOUND, NULL, "no token %s: "
		    "Init makes one", name);
		return NULL;
	}
	if (t->busy) {
		call_error(call, PROTO_ERR_BUSY, NULL, "token %s is busy",
		    name);
		return NULL;
	}
	if (room && worker_load(s->worker) >= WORKER_MAX_JOBS) {
		call_error(call, PROTO_ERR_BUSY, NULL, "scd is busy with %d "
		    "token operations: try again later", WORKER_MAX_JOBS);
		return NULL;
	}
	if (token_need_psecret(call) == -1)
		return NULL;
	return t;
}

/* Checks a PIN or PUK offered; -1 after answering the call. */
static int
token_check_offered(struct call *call, const char *key)
{
	const char *v;
	char *cause = NULL;

	v = json_object_get_string(json_object_object_get(call->params, key));
	if (v == NULL || pin_syntax_check(v, &cause) == -1) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, key, "'%s': %s",
		    key, cause != NULL ? cause : "missing");
		free(cause);
		return -1;
	}
	return 0;
}

/* Checks a new PIN or PUK against the policy; -1 after answering. */
static int
token_check_new(struct call *call, const char *key, enum pin_kind kind)
{
	const char *v;
	char *cause = NULL;

	v = json_object_get_string(json_object_object_get(call->params, key));
	if (v == NULL || pin_policy_check(v, kind, &cause) == -1) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, key, "'%s': %s",
		    key, cause != NULL ? cause : "missing");
		free(cause);
		return -1;
	}
	return 0;
}

/* --- jobs -------------------------------------------------------------- */

static void token_job_run(struct worker_job *wj);
static void token_job_done(struct worker_job *wj);

static struct token_job *
token_job_new(struct scd *s, struct call *call, struct token *t,
    enum token_op op)
{
	struct token_job *j = xcalloc(1, sizeof *j);

	j->wj.run = token_job_run;
	j->wj.done = token_job_done;
	j->s = s;
	j->call = call;
	j->tok = t;
	j->op = op;
	j->psecret = s->psecret;
	j->card_tries = j->card_pin_tries = j->card_puk_tries = -1;
	if (t != NULL) {
		(void)snprintf(j->name, sizeof j->name, "%s", t->name);
		j->dir = token_dir(s, t->name);
		j->card = t->card;
		j->reader = t->reader != NULL ? xstrdup(t->reader) : NULL;
		j->kdf = t->kdf;
		memcpy(j->salt, t->salt, sizeof j->salt);
		memcpy(j->puk_salt, t->puk_salt, sizeof j->puk_salt);
		memcpy(j->pub, t->pub, sizeof j->pub);
		(void)snprintf(j->serial, sizeof j->serial, "%s", t->serial);
	}
	return j;
}

/* An init makes name: 1 when one does already. */
static int
token_initing(const struct scd *s, const char *name)
{
	size_t i;

	for (i = 0; i < SCD_INITS_MAX; i++)
		if (strcmp(s->initing[i], name) == 0)
			return 1;
	return 0;
}

/* Holds the job's name while it runs: -1 when SCD_INITS_MAX inits run. */
static int
token_initing_hold(struct token_job *j)
{
	size_t i;

	for (i = 0; i < SCD_INITS_MAX; i++) {
		if (j->s->initing[i][0] == '\0') {
			memcpy(j->s->initing[i], j->name, sizeof j->name);
			j->initing = 1;
			return 0;
		}
	}
	return -1;
}

static void
token_job_free(struct token_job *j)
{
	size_t i;

	for (i = 0; j->initing && i < SCD_INITS_MAX; i++) {
		if (strcmp(j->s->initing[i], j->name) == 0) {
			j->s->initing[i][0] = '\0';
			break;
		}
	}
	xfree_secret(j->pin);
	xfree_secret(j->new_pin);
	xfree_secret(j->puk);
	if (j->blob != NULL) {
		xwipe(j->blob, j->bloblen);
		free(j->blob);
	}
	xwipe(j->key, sizeof j->key);
	json_object_put(j->readers);
	free(j->dir);
	free(j->reader);
	free(j->cause);
	free(j);
}

/* Queues a job (room was checked) and defers its call. */
static void
token_job_submit(struct token_job *j)
{
	if (worker_submit(j->s->worker, &j->wj) == -1)
		fatalx("the worker refused a job it had room for");
	if (j->tok != NULL)
		j->tok->busy = 1;
	call_defer(j->call);
}

/*
 * Decrements the counter a check uses and stores it, before the check:
 * returns 0, or -1 after answering the call (nothing changed).
 */
static int
token_count(struct call *call, struct token *t, int puk)
{
	char *cause = NULL;
	int *left = puk ? &t->puk_left : &t->pin_left;

	(*left)--;
	if (token_save(call_scd(call), t, &cause) == -1) {
		(*left)++;
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot store the "
		    "token's counter, so it is not checked: %s", cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* --- the software token on the worker ---------------------------------- */

/* Unwraps the job's blob with the token's key. */
static void
soft_unwrap(struct token_job *j, EVP_PKEY *key)
{
	const unsigned char *eph;
	unsigned char z[TOKENWRAP_Z_LEN];

	j->keylen = sizeof j->key;
	if (tokenwrap_split(j->blob, j->bloblen, &eph, &j->cause) == -1 ||
	    tokenwrap_ecdh(key, eph, z, &j->cause) == -1 ||
	    tokenwrap_finish(j->blob, j->bloblen, z, j->pub, j->psecret,
	    SCD_PSECRET_LEN, j->key, &j->keylen, &j->cause) == -1)
		j->result = TOKEN_NO_UNWRAP;
	OPENSSL_cleanse(z, sizeof z);
}

/* Makes a software token's files in j->dir, which is new. */
static void
soft_init(struct token_job *j)
{
	EVP_PKEY *key;

	j->result = TOKEN_ERROR;
	if (mkdir(j->dir, 0700) == -1) {
		xcause(&j->cause, "cannot make %s: %s", j->dir,
		    strerror(errno));
		return;
	}
	if ((key = soft_keygen(j->pub, &j->cause)) == NULL)
		return;
	if (soft_store(j->dir, TOKEN_P12, j->name, key, j->pin, &j->kdf,
	    j->salt, j->psecret, &j->cause) == 0 &&
	    soft_store(j->dir, TOKEN_PUK_P12, j->name, key, j->puk, &j->kdf,
	    j->puk_salt, j->psecret, &j->cause) == 0)
		j->result = TOKEN_OK;
	EVP_PKEY_free(key);
}

static void
soft_run(struct token_job *j)
{
	EVP_PKEY *key = NULL;
	int puk = j->op == TOKEN_OP_UNBLOCK;

	if (j->op == TOKEN_OP_INIT) {
		soft_init(j);
		return;
	}
	j->result = soft_open(j->dir, puk ? TOKEN_PUK_P12 : TOKEN_P12,
	    puk ? j->puk : j->pin, &j->kdf, puk ? j->puk_salt : j->salt,
	    j->psecret, &key, &j->cause);
	if (j->result != TOKEN_OK)
		return;
	switch (j->op) {
	case TOKEN_OP_UNWRAP:
		soft_unwrap(j, key);
		break;
	case TOKEN_OP_CHANGE:
	case TOKEN_OP_UNBLOCK:
		if (soft_store(j->dir, TOKEN_P12, j->name, key, j->new_pin,
		    &j->kdf, j->salt, j->psecret, &j->cause) == -1)
			j->result = TOKEN_ERROR;
		break;
	default:
		break;
	}
	EVP_PKEY_free(key);
}

/* --- the card on the worker -------------------------------------------- */

/* Lists the readers and what is in them. */
static void
card_readers(struct token_job *j)
{
	struct card_reader *r = NULL;
	struct json_object *a, *o;
	size_t i, n = 0;

	if (card_list_readers(&r, &n, &j->cause) == -1) {
		j->result = TOKEN_ERROR;
		j->pcsc_down = 1;
		return;
	}
	a = json_object_new_array();
	for (i = 0; i < n; i++) {
		o = json_object_new_object();
		json_object_object_add(o, "name",
		    json_object_new_string(r[i].name));
		json_object_object_add(o, "card", json_object_new_string(
		    !r[i].present ? "none" : r[i].openpgp ? "openpgp" :
		    "other"));
		json_object_object_add(o, "serial", r[i].openpgp ?
		    json_object_new_string(r[i].serial) : NULL);
		json_object_object_add(o, "version", r[i].openpgp ?
		    json_object_new_string(r[i].version) : NULL);
		json_object_array_add(a, o);
	}
	free(r);
	j->readers = json_object_new_object();
	json_object_object_add(j->readers, "readers", a);
	j->result = TOKEN_OK;
}

/*
 * Makes a token of the card in j->reader: reset when it holds keys and
 * force was given, PW3 and PW1 set from their factory values to the PUK
 * and the PIN, a new decryption key generated.
 */
static int
card_init(struct token_job *j, struct card *c, struct card_info *info)
{
	int tries;

	if (!info->factory) {
		if (!j->force) {
			xcause(&j->cause, "the card in reader '%s' holds "
			    "keys; init --force destroys them", j->reader);
			return TOKEN_EXISTS;
		}
		if (card_factory_reset(c, &j->cause) == -1)
			return TOKEN_ERROR;
		j->destroyed = 1;
	}
	if (card_verify(c, CARD_PW3, CARD_FACTORY_PW3, &tries,
	    &j->cause) != 0 ||
	    card_change_pin(c, CARD_PW3, CARD_FACTORY_PW3, j->puk, &tries,
	    &j->cause) != 0 ||
	    card_change_pin(c, CARD_PW1_SIGN, CARD_FACTORY_PW1, j->pin,
	    &tries, &j->cause) != 0 ||
	    card_verify(c, CARD_PW3, j->puk, &tries, &j->cause) != 0 ||
	    card_generate_decrypt_key(c, j->pub, &j->cause) == -1) {
		if (j->cause == NULL)
			xcause(&j->cause, "the card in reader '%s' refused "
			    "its factory PINs: init --force resets it",
			    j->reader);
		return TOKEN_ERROR;
	}
	if (mkdir(j->dir, 0700) == -1) {
		xcause(&j->cause, "cannot make %s: %s", j->dir,
		    strerror(errno));
		return TOKEN_ERROR;
	}
	return TOKEN_OK;
}

/* Unwraps the job's blob through the card (PW1 verified). */
static int
card_unwrap(struct token_job *j, struct card *c)
{
	const unsigned char *eph;
	unsigned char z[TOKENWRAP_Z_LEN];
	int ret = TOKEN_OK;

	if (tokenwrap_split(j->blob, j->bloblen, &eph, &j->cause) == -1)
		return TOKEN_NO_UNWRAP;
	if (card_decipher(c, eph, z, &j->cause) == -1)
		return TOKEN_ERROR;
	j->keylen = sizeof j->key;
	if (tokenwrap_finish(j->blob, j->bloblen, z, j->pub, j->psecret,
	    SCD_PSECRET_LEN, j->key, &j->keylen, &j->cause) == -1)
		ret = TOKEN_NO_UNWRAP;
	OPENSSL_cleanse(z, sizeof z);
	return ret;
}

/* The check of a card token's PIN or PUK, and what it is for. */
static int
card_check(struct token_job *j, struct card *c)
{
	int tries = -1, rc;

	switch (j->op) {
	case TOKEN_OP_UNBLOCK:
		rc = card_unblock(c, j->puk, j->new_pin, &tries, &j->cause);
		break;
	case TOKEN_OP_CHANGE:
		rc = card_change_pin(c, CARD_PW1_SIGN, j->pin, j->new_pin,
		    &tries, &j->cause);
		break;
	default:
		rc = card_verify(c, CARD_PW1, j->pin, &tries, &j->cause);
		break;
	}
	if (rc == CARD_WRONG) {
		if (j->op == TOKEN_OP_UNBLOCK)
			j->card_puk_tries = tries;
		else
			j->card_pin_tries = tries;
		return TOKEN_WRONG;
	}
	if (rc != 0)
		return TOKEN_ERROR;
	if (j->op == TOKEN_OP_UNWRAP)
		return card_unwrap(j, c);
	return TOKEN_OK;
}

static void
card_run(struct token_job *j)
{
	struct card_info info;
	struct card *c = NULL;

	if (j->op == TOKEN_OP_READERS) {
		card_readers(j);
		return;
	}
	j->result = TOKEN_ERROR;
	if (card_open(j->reader, &c, &j->cause) == -1 ||
	    card_get_info(c, &info, &j->cause) == -1)
		goto out;
	if (j->op == TOKEN_OP_INIT) {
		(void)snprintf(j->serial, sizeof j->serial, "%s", info.serial);
		j->result = card_init(j, c, &info);
	} else if (strcmp(info.serial, j->serial) != 0) {
		xcause(&j->cause, "the card in reader '%s' is %s, not the "
		    "token's %s", j->reader, info.serial, j->serial);
		goto out;
	} else
		j->result = card_check(j, c);
	/* the card's own counters, as they are now */
	if (j->result != TOKEN_ERROR && j->result != TOKEN_EXISTS &&
	    card_get_info(c, &info, NULL) == 0) {
		j->card_pin_tries = info.pw1_tries;
		j->card_puk_tries = info.pw3_tries;
	}
out:
	card_close(c);
}

static void
token_job_run(struct worker_job *wj)
{
	struct token_job *j = (struct token_job *)wj;

	if (j->card || j->op == TOKEN_OP_READERS)
		card_run(j);
	else
		soft_run(j);
}

/* --- completions on the loop ------------------------------------------- */

/* Sets the counters after a check, stores them; audits. */
static void
token_after_check(struct token_job *j)
{
	struct scd *s = j->s;
	struct token *t = j->tok;
	int puk = j->op == TOKEN_OP_UNBLOCK;
	const char *what = puk ? "PUK" : "PIN";
	char *cause = NULL;

	if (j->result == TOKEN_OK || j->result == TOKEN_NO_UNWRAP) {
		t->pin_left = t->pin_max;
		if (puk)
			t->puk_left = t->puk_max;
	}
	/* a card that counts fewer tries than scd lowers scd's count */
	if (j->card_pin_tries >= 0 && j->card_pin_tries < t->pin_left)
		t->pin_left = j->card_pin_tries;
	if (j->card_puk_tries >= 0 && j->card_puk_tries < t->puk_left)
		t->puk_left = j->card_puk_tries;
	/* the PUK blocked blocks the token for good */
	if (t->puk_left == 0)
		t->pin_left = 0;
	if (token_save(s, t, &cause) == -1) {
		log_warnx("token %s: %s", t->name, cause);
		free(cause);
	}
	if (j->result == TOKEN_WRONG) {
		spool_add(s->spool, "token", t->name, "failed",
		    "%s verification failed (%d tries left)", what,
		    puk ? t->puk_left : t->pin_left);
		if ((puk ? t->puk_left : t->pin_left) == 0)
			spool_add(s->spool, "token", t->name, "blocked", "%s",
			    puk ? "PUK blocked: the token is blocked for "
			    "good (only init again)" : "PIN blocked: the PUK "
			    "unblocks it");
	} else if (j->result == TOKEN_OK || j->result == TOKEN_NO_UNWRAP)
		spool_add(s->spool, "token", t->name, "ok", "%s verified%s",
		    what,
		    j->op == TOKEN_OP_CHANGE ? ", PIN changed" :
		    j->op == TOKEN_OP_UNBLOCK ? ", PIN unblocked and set" :
		    j->result == TOKEN_NO_UNWRAP ? ", the key did not "
		    "unwrap" : "");
}

/* Makes the token Init made known; answers the call. */
static void
token_init_done(struct token_job *j)
{
	struct scd *s = j->s;
	struct token *t, *old;
	struct json_object *p;
	char *cause = NULL, *final, *gone = NULL;

	t = xcalloc(1, sizeof *t);
	(void)snprintf(t->name, sizeof t->name, "%s", j->name);
	t->card = j->card;
	(void)snprintf(t->serial, sizeof t->serial, "%s", j->serial);
	t->reader = j->reader != NULL ? xstrdup(j->reader) : NULL;
	memcpy(t->pub, j->pub, sizeof t->pub);
	t->kdf = j->kdf;
	memcpy(t->salt, j->salt, sizeof t->salt);
	memcpy(t->puk_salt, j->puk_salt, sizeof t->puk_salt);
	t->pin_max = t->pin_left = json_object_get_int(
	    json_object_object_get(j->call->params, "pin_tries"));
	t->puk_max = t->puk_left = json_object_get_int(
	    json_object_object_get(j->call->params, "puk_tries"));
	if (j->card_pin_tries > 0 && j->card_pin_tries < t->pin_max)
		t->pin_max = t->pin_left = j->card_pin_tries;
	if (j->card_puk_tries > 0 && j->card_puk_tries < t->puk_max)
		t->puk_max = t->puk_left = j->card_puk_tries;
	t->present = 1;
	final = token_dir(s, t->name);
	if (token_save_in(t, j->dir, &cause) == -1)
		goto fail;
	/*
	 * The old token goes first (one scd knows, or one it could not
	 * read), then the new one takes its place.
	 */
	old = token_find(s, t->name);
	if (old != NULL || access(final, F_OK) == 0) {
		gone = xasprintf("%s/.%s.old", s->tokens_dir, t->name);
		if (rename(final, gone) == -1) {
			xcause(&cause, "cannot move %s aside: %s", final,
			    strerror(errno));
			goto fail;
		}
		if (old != NULL) {
			TAILQ_REMOVE(&s->tokens, old, entry);
			s->ntokens--;
			token_free(old);
		}
		j->destroyed = 1;
	}
	if (rename(j->dir, final) == -1) {
		xcause(&cause, "cannot move %s to %s: %s", j->dir, final,
		    strerror(errno));
		goto fail;
	}
	(void)file_sync_dir(s->tokens_dir);
	if (gone != NULL && token_rmdir(gone, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		cause = NULL;
	}
	TAILQ_INSERT_TAIL(&s->tokens, t, entry);
	s->ntokens++;
	spool_add(s->spool, "token", t->name, "ok", "token init: %s %s, %d PIN "
	    "and %d PUK tries%s", t->card ? SCD_TYPE_CARD : SCD_TYPE_SOFT,
	    t->serial, t->pin_max, t->puk_max, j->destroyed ? "; the token "
	    "it replaces was destroyed, and what it protected" : "");
	p = json_object_new_object();
	json_object_object_add(p, "status", token_status_json(t));
	/* a generated PUK is shown once, here */
	json_object_object_add(p, "puk", j->puk_generated ?
	    json_object_new_string(j->puk) : NULL);
	json_object_object_add(p, "destroyed",
	    json_object_new_boolean(j->destroyed));
	call_reply(j->call, p);
	free(final);
	free(gone);
	return;
fail:
	spool_add(s->spool, "token", t->name, "error", "token init failed: %s",
	    cause);
	call_error(j->call, PROTO_ERR_FAILED, NULL, "token init %s: %s",
	    t->name, cause);
	(void)token_rmdir(j->dir, NULL);
	free(cause);
	free(final);
	free(gone);
	token_free(t);
}

/* Notes whether PC/SC answered a card job; audited when it changes. */
static void
token_pcsc_note(struct scd *s, struct token_job *j)
{
	const char *now = j->pcsc_down ? "down" : "up";
	int changed;

	/* a card that failed may be gone with PC/SC up: that says nothing */
	if (!j->pcsc_down && j->result == TOKEN_ERROR)
		return;
	changed = strcmp(s->pcsc, now) != 0;
	s->pcsc = now;
	free(s->pcsc_reason);
	s->pcsc_reason = j->pcsc_down ? xstrdup(j->cause) : NULL;
	if (changed)
		spool_add(s->spool, "pcsc", "pcsc",
		    j->pcsc_down ? "down" : "ok", "PC/SC is %s%s%s", now,
		    j->pcsc_down ? ": " : "", j->pcsc_down ? j->cause : "");
}

static void
token_job_done(struct worker_job *wj)
{
	struct token_job *j = (struct token_job *)wj;
	struct scd *s = j->s;
	struct token *t = j->tok;

	if (t != NULL)
		t->busy = 0;
	if (wj->cancelled) {
		if (j->call != NULL)
			call_error(j->call, PROTO_ERR_FAILED, NULL, "scd is "
			    "stopping: try again once it runs");
		goto out;
	}
	if (j->card || j->op == TOKEN_OP_READERS)
		token_pcsc_note(s, j);
	if (j->op == TOKEN_OP_READERS) {
		if (j->call == NULL)
			;
		else if (j->result == TOKEN_OK)
			call_reply(j->call, json_object_get(j->readers));
		else
			call_error(j->call, SCD_ERR_UNAVAILABLE, NULL, "%s",
			    j->cause);
		goto out;
	}
	/* a card that answered is there; one that did not may be gone */
	if (t != NULL && t->card && j->op != TOKEN_OP_INIT)
		t->present = j->result != TOKEN_ERROR;
	if (j->op == TOKEN_OP_INIT) {
		if (j->result == TOKEN_OK)
			token_init_done(j);
		else if (j->result == TOKEN_EXISTS)
			call_error(j->call, SCD_ERR_EXISTS, NULL, "%s",
			    j->cause);
		else {
			if (j->card)
				spool_add(s->spool, "token", j->name, "error",
				    "token init failed: %s", j->cause);
			call_error(j->call, j->card ? SCD_ERR_UNAVAILABLE :
			    PROTO_ERR_FAILED, NULL, "token init %s: %s",
			    j->name, j->cause);
			(void)token_rmdir(j->dir, NULL);
		}
		goto out;
	}
	token_after_check(j);
	switch (j->result) {
	case TOKEN_OK:
		token_reply_status(j->call, t, j->op == TOKEN_OP_UNWRAP ?
		    j->key : NULL, j->keylen);
		break;
	case TOKEN_WRONG:
		token_verify_failed(j->call, t, j->op == TOKEN_OP_UNBLOCK ?
		    t->puk_left : t->pin_left);
		break;
	case TOKEN_NO_UNWRAP:
		token_verify_failed(j->call, t, t->pin_left);
		break;
	default:
		if (j->card)
			spool_add(s->spool, "token", t->name, "unavailable",
			    "%s", j->cause);
		call_error(j->call, SCD_ERR_UNAVAILABLE, NULL, "token %s: %s",
		    t->name, j->cause);
		break;
	}
out:
	token_job_free(j);
}

/* --- handlers ---------------------------------------------------------- */

void
scd_cmd_status(struct call *call)
{
	struct scd *s = call_scd(call);
	struct json_object *p = json_object_new_object();
	const char *reason;

	json_object_object_add(p, "platform_secret",
	    json_object_new_string(s->psecret_ok ? "present" : "absent"));
	json_object_object_add(p, "pcsc", json_object_new_string(s->pcsc));
	reason = !s->psecret_ok ? s->psecret_reason : s->pcsc_reason;
	json_object_object_add(p, "reason", reason != NULL ?
	    json_object_new_string(reason) : NULL);
	json_object_object_add(p, "tokens",
	    json_object_new_int64((long long)s->ntokens));
	call_reply(call, p);
}

void
scd_cmd_token_status(struct call *call)
{
	struct scd *s = call_scd(call);
	struct token *t;
	const char *name;

	if ((name = token_name_param(call)) == NULL)
		return;
	if ((t = token_find(s, name)) == NULL) {
		call_error(call, PROTO_ERR_NOT_FOUND, NULL, "no token %s: "
		    "Init makes one", name);
		return;
	}
	token_reply_status(call, t, NULL, 0);
}

void
scd_cmd_list(struct call *call)
{
	struct scd *s = call_scd(call);
	struct json_object *p, *a;
	struct token *t;

	a = json_object_new_array();
	TAILQ_FOREACH(t, &s->tokens, entry)
		json_object_array_add(a, token_status_json(t));
	p = json_object_new_object();
	json_object_object_add(p, "tokens", a);
	call_reply(call, p);
}

void
scd_cmd_readers(struct call *call)
{
	struct scd *s = call_scd(call);
	struct json_object *p;

	if (strcmp(s->pcsc, "absent") == 0) {
		p = json_object_new_object();
		json_object_object_add(p, "readers", json_object_new_array());
		call_reply(call, p);
		return;
	}
	if (worker_load(s->worker) >= WORKER_MAX_JOBS) {
		call_error(call, PROTO_ERR_BUSY, NULL, "scd is busy with %d "
		    "token operations: try again later", WORKER_MAX_JOBS);
		return;
	}
	token_job_submit(token_job_new(s, call, NULL, TOKEN_OP_READERS));
}

void
scd_pcsc_probe(struct scd *s)
{
	struct token_job *j = token_job_new(s, NULL, NULL, TOKEN_OP_READERS);

	if (worker_submit(s->worker, &j->wj) == -1)
		token_job_free(j);
}

/* A generated PUK: TOKEN_PUK_DIGITS random digits the policy takes. */
static char *
token_gen_puk(void)
{
	unsigned char r[TOKEN_PUK_DIGITS];
	char *puk = xmalloc(TOKEN_PUK_DIGITS + 1);
	size_t i, n;

	for (;;) {
		for (n = 0; n < TOKEN_PUK_DIGITS;) {
			if (crypto_random(r, sizeof r) == -1)
				fatalx("the random generator failed");
			/* 250 = 25 * 10: no bias */
			for (i = 0; i < sizeof r && n < TOKEN_PUK_DIGITS; i++)
				if (r[i] < 250)
					puk[n++] = (char)('0' + r[i] % 10);
		}
		puk[n] = '\0';
		if (pin_policy_check(puk, PIN_KIND_PUK, NULL) == 0)
			break;
	}
	xwipe(r, sizeof r);
	return puk;
}

void
scd_cmd_init(struct call *call)
{
	struct scd *s = call_scd(call);
	struct token_job *j;
	struct token *old;
	const char *name, *type, *reader;
	struct json_object *v;
	unsigned char serial[8];
	char *dir;
	int card, force, unreadable;

	if ((name = token_name_param(call)) == NULL)
		goto wipe;
	type = json_object_get_string(json_object_object_get(call->params,
	    "type"));
	reader = json_object_get_string(json_object_object_get(call->params,
	    "reader"));
	force = json_object_object_get_ex(call->params, "force", &v) &&
	    json_object_get_boolean(v);
	if (strcmp(type, SCD_TYPE_SOFT) != 0 &&
	    strcmp(type, SCD_TYPE_CARD) != 0) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "type", "'type' "
		    "must be softtoken or usbtoken");
		goto wipe;
	}
	card = strcmp(type, SCD_TYPE_CARD) == 0;
	if (card && (reader == NULL || *reader == '\0' ||
	    strlen(reader) > 127 || !utf8_valid(reader, strlen(reader)))) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "reader", "a "
		    "usbtoken needs 'reader': the name of a PC/SC reader, "
		    "UTF-8 of at most 127 bytes (Readers lists them)");
		goto wipe;
	}
	if (!card && reader != NULL) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "reader", "a "
		    "softtoken has no reader");
		goto wipe;
	}
	call_set_details(call, "token %s: %s%s%s%s", name, type,
	    card ? " in reader " : "", card ? reader : "",
	    force ? ", forced" : "");
	if (token_check_new(call, "pin", PIN_KIND_PIN) == -1)
		goto wipe;
	if (json_object_object_get(call->params, "puk") != NULL &&
	    token_check_new(call, "puk", PIN_KIND_PUK) == -1)
		goto wipe;
	dir = token_dir(s, name);
	unreadable = access(dir, F_OK) == 0;
	free(dir);
	/* two inits of one name would make one directory .NAME.new */
	if (token_initing(s, name)) {
		call_error(call, PROTO_ERR_BUSY, NULL, "token %s is being "
		    "made: try again once that ends", name);
		goto wipe;
	}
	if ((old = token_find(s, name)) == NULL && unreadable && !force) {
		call_error(call, SCD_ERR_EXISTS, NULL, "%s has a token scd "
		    "cannot read (see its log); force destroys it", name);
		goto wipe;
	}
	if (old != NULL) {
		if (!force) {
			call_error(call, SCD_ERR_EXISTS, NULL, "%s has a token "
			    "already (%s %s); force destroys it and what it "
			    "protected", name, old->card ? SCD_TYPE_CARD :
			    SCD_TYPE_SOFT, old->serial);
			goto wipe;
		}
		if (old->busy) {
			call_error(call, PROTO_ERR_BUSY, NULL, "token %s is "
			    "busy", name);
			goto wipe;
		}
	}
	if (worker_load(s->worker) >= WORKER_MAX_JOBS) {
		call_error(call, PROTO_ERR_BUSY, NULL, "scd is busy with %d "
		    "token operations: try again later", WORKER_MAX_JOBS);
		goto wipe;
	}
	if (token_need_psecret(call) == -1)
		goto wipe;
	j = token_job_new(s, call, NULL, TOKEN_OP_INIT);
	/* the old token stays busy: nothing else may use it meanwhile */
	j->tok = old;
	(void)snprintf(j->name, sizeof j->name, "%.*s", SCD_NAME_MAX, name);
	if (token_initing_hold(j) == -1) {
		token_job_free(j);
		call_error(call, PROTO_ERR_BUSY, NULL, "scd is making %d "
		    "tokens: try again later", SCD_INITS_MAX);
		goto wipe;
	}
	j->dir = xasprintf("%s/.%s.new", s->tokens_dir, name);
	j->card = card;
	j->reader = reader != NULL ? xstrdup(reader) : NULL;
	j->force = force;
	j->kdf = s->kdf;
	if (!card) {
		if (crypto_random(j->salt, sizeof j->salt) == -1 ||
		    crypto_random(j->puk_salt, sizeof j->puk_salt) == -1 ||
		    crypto_random(serial, sizeof serial) == -1)
			fatalx("the random generator failed");
		crypto_hex(serial, sizeof serial, j->serial);
	}
	(void)token_rmdir(j->dir, NULL);
	j->pin = token_take_secret(call, "pin");
	j->puk = token_take_secret(call, "puk");
	if (j->puk == NULL) {
		j->puk = token_gen_puk();
		j->puk_generated = 1;
	}
	token_job_submit(j);
	return;
wipe:
	token_wipe_param(call, "pin");
	token_wipe_param(call, "puk");
}

void
scd_cmd_wrap(struct call *call)
{
	struct scd *s = call_scd(call);
	struct token *t;
	unsigned char *key = NULL, *blob = NULL;
	size_t keylen = 0, bloblen = 0;
	char *cause = NULL, *b;
	struct json_object *p;

	if ((t = token_of_call(call, 0)) == NULL)
		goto out;
	if (crypto_unbase64(json_object_get_string(json_object_object_get(
	    call->params, "key")), TOKENWRAP_KEY_MAX, &key, &keylen) == -1 ||
	    keylen < TOKENWRAP_KEY_MIN) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "key", "'key' "
		    "must be base64 of %d to %d bytes", TOKENWRAP_KEY_MIN,
		    TOKENWRAP_KEY_MAX);
		goto out;
	}
	if (tokenwrap_wrap(key, keylen, t->pub, s->psecret, SCD_PSECRET_LEN,
	    &blob, &bloblen, &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot wrap for "
		    "token %s: %s", t->name, cause);
		free(cause);
		goto out;
	}
	b = crypto_base64(blob, bloblen);
	p = json_object_new_object();
	json_object_object_add(p, "wrapped", json_object_new_string(b));
	free(b);
	call_reply(call, p);
out:
	if (key != NULL) {
		xwipe(key, keylen);
		free(key);
	}
	free(blob);
	token_wipe_param(call, "key");
}

/*
 * The calls that check the PIN (Unwrap, VerifyPIN, ChangePIN) or the PUK
 * (Unblock): the checks of the parameters, the counter decremented and
 * stored, the job queued.
 */
static void
token_check(struct call *call, enum token_op op)
{
	struct token_job *j;
	struct token *t;
	unsigned char *blob = NULL;
	const unsigned char *eph;
	size_t bloblen = 0;
	int puk = op == TOKEN_OP_UNBLOCK;
	const char *secret = puk ? "puk" : "pin";

	if ((t = token_of_call(call, 1)) == NULL ||
	    token_check_offered(call, secret) == -1)
		goto wipe;
	if ((op == TOKEN_OP_CHANGE || op == TOKEN_OP_UNBLOCK) &&
	    token_check_new(call, "new_pin", PIN_KIND_PIN) == -1)
		goto wipe;
	if (op == TOKEN_OP_UNWRAP && (crypto_unbase64(json_object_get_string(
	    json_object_object_get(call->params, "wrapped")),
	    TOKENWRAP_BLOB_MAX, &blob, &bloblen) == -1 ||
	    tokenwrap_split(blob, bloblen, &eph, NULL) == -1)) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "wrapped",
		    "'wrapped' must be base64 of a key Wrap made");
		goto wipe;
	}
	/* blocked: refused as a wrong one would be, and nothing counted */
	if ((puk && t->puk_left <= 0) || (!puk && (t->pin_left <= 0 ||
	    t->puk_left <= 0))) {
		spool_add(call_scd(call)->spool, "token", t->name, "failed",
		    "%s verification refused: %s", puk ? "PUK" : "PIN",
		    token_state(t));
		token_verify_failed(call, t, puk ? t->puk_left : t->pin_left);
		goto wipe;
	}
	if (token_count(call, t, puk) == -1)
		goto wipe;
	j = token_job_new(call_scd(call), call, t, op);
	j->blob = blob;
	j->bloblen = bloblen;
	blob = NULL;
	if (puk)
		j->puk = token_take_secret(call, "puk");
	else
		j->pin = token_take_secret(call, "pin");
	j->new_pin = token_take_secret(call, "new_pin");
	token_job_submit(j);
	return;
wipe:
	free(blob);
	token_wipe_param(call, "pin");
	token_wipe_param(call, "puk");
	token_wipe_param(call, "new_pin");
}

void
scd_cmd_unwrap(struct call *call)
{
	token_check(call, TOKEN_OP_UNWRAP);
}

void
scd_cmd_verify_pin(struct call *call)
{
	token_check(call, TOKEN_OP_VERIFY);
}

void
scd_cmd_change_pin(struct call *call)
{
	token_check(call, TOKEN_OP_CHANGE);
}

void
scd_cmd_unblock(struct call *call)
{
	token_check(call, TOKEN_OP_UNBLOCK);
}

void
scd_cmd_remove(struct call *call)
{
	struct scd *s = call_scd(call);
	struct token *t;
	const char *name;
	char *dir, *gone, *cause = NULL;

	if ((name = token_name_param(call)) == NULL)
		return;
	if ((t = token_find(s, name)) == NULL) {
		call_error(call, PROTO_ERR_NOT_FOUND, NULL, "no token %s",
		    name);
		return;
	}
	if (t->busy) {
		call_error(call, PROTO_ERR_BUSY, NULL, "token %s is busy",
		    name);
		return;
	}
	dir = token_dir(s, name);
	gone = xasprintf("%s/.%s.old", s->tokens_dir, name);
	/* moved aside first: a crash then leaves no half token */
	if (rename(dir, gone) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot remove %s: "
		    "%s", dir, strerror(errno));
		goto out;
	}
	(void)file_sync_dir(s->tokens_dir);
	if (token_rmdir(gone, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
	}
	spool_add(s->spool, "token", name, "ok", "token removed (%s %s): what "
	    "it protected cannot be unwrapped any more", t->card ?
	    SCD_TYPE_CARD : SCD_TYPE_SOFT, t->serial);
	TAILQ_REMOVE(&s->tokens, t, entry);
	s->ntokens--;
	token_free(t);
	call_reply(call, NULL);
out:
	free(dir);
	free(gone);
}

void
scd_cmd_take_audit(struct call *call)
{
	spool_take_audit(call_scd(call)->spool, call);
}

static const struct daemon_info scd_info = {
	.product = "scd",
	.interfaces = scd_interfaces,
	.ninterfaces = &scd_interfaces_len,
	.find = scd_interface_find,
	.unknown = " in scd",
};

void
scd_cmd_get_info(struct call *call)
{
	daemon_get_info(call, &scd_info);
}

void
scd_cmd_get_interface_description(struct call *call)
{
	daemon_get_interface_description(call, &scd_info);
}
