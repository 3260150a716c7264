/*
 * The batch file of cml-provision: the answers of every step, as one JSON
 * object or as KEY=VALUE lines, with the same keys (cml-provision(8)): a
 * key repeated in lines is an array in JSON, and "settings.KEY=VALUE" is
 * the member KEY of the object "settings".  Everything is checked before
 * the first call, so that a wrong file changes nothing.  A file that
 * holds a PIN or PUK itself must be private to its owner; a secret may
 * come on a descriptor instead (pin_fd=0: a line of stdin).
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cml-provision.h"
#include "jsonstrict.h"
#include "pin.h"
#include "secret.h"
#include "settings.h"
#include "utf8.h"
#include "xmalloc.h"

/* The largest batch file read. */
#define BATCH_MAX (64 * 1024)
/* The highest descriptor a secret may come on. */
#define BATCH_FD_MAX 1023

/* What a key's value is. */
enum batch_kind {
	BATCH_PATH, /* a file the client opens or writes */
	BATCH_WORD, /* a name: a guest OS, a reader */
	BATCH_FINGERPRINT, /* SHA-256, 64 hex digits, colons allowed */
	BATCH_BOOL, /* yes/no, true/false */
	BATCH_FD, /* a descriptor number */
	BATCH_SECRET, /* a PIN or PUK */
	BATCH_TOKEN_TYPE, /* softtoken or usbtoken */
	BATCH_LIST, /* a path or fingerprint, repeatable */
};

/* A key of the batch file: where its value goes in struct prov_batch. */
struct batch_key {
	const char *name;
	enum batch_kind kind;
	size_t offset; /* of the char * or int; BATCH_LIST: of the words */
	int fingerprint; /* BATCH_LIST of fingerprints */
};

#define BATCH_STR(name, kind) \
	{ #name, kind, offsetof(struct prov_batch, name), 0 }
static const struct batch_key batch_keys[] = {
	BATCH_STR(csr_out, BATCH_PATH),
	BATCH_STR(certificate, BATCH_PATH),
	BATCH_STR(device_ca, BATCH_PATH),
	BATCH_STR(supplier_anchor, BATCH_PATH),
	BATCH_STR(supplier_fingerprint, BATCH_FINGERPRINT),
	{ "owner_anchor", BATCH_LIST, offsetof(struct prov_batch,
	    owner_anchors), 0 },
	{ "owner_fingerprint", BATCH_LIST, offsetof(struct prov_batch,
	    owner_fingerprints), 1 },
	BATCH_STR(token_type, BATCH_TOKEN_TYPE),
	BATCH_STR(token_reader, BATCH_WORD),
	BATCH_STR(c0_guestos, BATCH_WORD),
	BATCH_STR(pin, BATCH_SECRET),
	BATCH_STR(pin_fd, BATCH_FD),
	BATCH_STR(puk, BATCH_SECRET),
	BATCH_STR(puk_fd, BATCH_FD),
	BATCH_STR(generate_puk, BATCH_BOOL),
	BATCH_STR(lock, BATCH_BOOL),
	BATCH_STR(report_out, BATCH_PATH),
};
#define BATCH_SETTINGS "settings"

/* Returns the key called name, or NULL. */
static const struct batch_key *
batch_key_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof batch_keys / sizeof batch_keys[0]; i++)
		if (strcmp(batch_keys[i].name, name) == 0)
			return &batch_keys[i];
	return NULL;
}

/*
 * Takes a fingerprint as an operator copies it (colons or blanks between
 * the bytes, either case) and returns its 64 hex digits in lower case;
 * NULL when it is none.
 */
static char *
batch_fingerprint(const char *s)
{
	char out[65];
	size_t n = 0;

	for (; *s != '\0'; s++) {
		if (*s == ':' || *s == ' ')
			continue;
		if (!isxdigit((unsigned char)*s) || n == 64)
			return NULL;
		out[n++] = (char)tolower((unsigned char)*s);
	}
	if (n != 64)
		return NULL;
	out[n] = '\0';
	return xstrdup(out);
}

/* Reads a yes or no; -1 when it is neither. */
static int
batch_bool(const char *s)
{
	if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0 ||
	    strcmp(s, "1") == 0)
		return 1;
	if (strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0 ||
	    strcmp(s, "0") == 0)
		return 0;
	return -1;
}

/*
 * Sets key to value (where: "line N" or "member KEY", for messages).
 * A secret's value is not quoted in any message.  -1 with *cause set.
 */
static int
batch_set(struct prov_batch *b, const char *key, const char *value,
    const char *where, char **cause)
{
	const struct batch_key *k;
	const struct setting_def *def;
	char **slot, *v = NULL, *canon = NULL, *why = NULL, *end;
	int *islot;
	long n;

	if (!utf8_valid(value, strlen(value))) {
		*cause = xasprintf("%s: the value of '%s' is not UTF-8", where,
		    key);
		return -1;
	}
	if (strncmp(key, BATCH_SETTINGS ".", sizeof BATCH_SETTINGS) == 0) {
		if ((def = setting_find(key + sizeof BATCH_SETTINGS)) == NULL) {
			*cause = xasprintf("%s: no device setting '%s' ('cmlsh "
			    "device config get' lists them)", where,
			    key + sizeof BATCH_SETTINGS);
			return -1;
		}
		/* checked here, so that a wrong value stops nothing halfway */
		if (setting_canonical(def, value, &canon, &why) == -1) {
			*cause = xasprintf("%s: %s", where, why);
			free(why);
			return -1;
		}
		free(canon);
		words_add(&b->settings, xasprintf("%s=%s", def->key, value));
		return 0;
	}
	if ((k = batch_key_find(key)) == NULL) {
		*cause = xasprintf("%s: unknown key '%s' (cml-provision(8) "
		    "lists the keys)", where, key);
		return -1;
	}
	slot = (char **)((char *)b + k->offset);
	islot = (int *)((char *)b + k->offset);
	if (k->kind != BATCH_LIST && k->kind != BATCH_BOOL &&
	    k->kind != BATCH_FD && *slot != NULL) {
		*cause = xasprintf("%s: '%s' is given twice", where, key);
		return -1;
	}
	if ((k->kind == BATCH_BOOL || k->kind == BATCH_FD) && *islot != -1) {
		*cause = xasprintf("%s: '%s' is given twice", where, key);
		return -1;
	}
	if (*value == '\0' && k->kind != BATCH_BOOL) {
		*cause = xasprintf("%s: '%s' is empty", where, key);
		return -1;
	}
	switch (k->kind) {
	case BATCH_PATH:
	case BATCH_WORD:
		if (strlen(value) >= PATH_MAX) {
			*cause = xasprintf("%s: '%s' is too long", where, key);
			return -1;
		}
		v = xstrdup(value);
		break;
	case BATCH_SECRET:
		/* never quoted: the policy's message names the rule only */
		if (pin_policy_check(value, strcmp(key, "puk") == 0 ?
		    PIN_KIND_PUK : PIN_KIND_PIN, &why) == -1) {
			*cause = xasprintf("%s: %s", where, why);
			free(why);
			return -1;
		}
		v = xstrdup(value);
		b->secrets_inline = 1;
		break;
	case BATCH_FINGERPRINT:
		if ((v = batch_fingerprint(value)) == NULL)
			goto fingerprint;
		break;
	case BATCH_TOKEN_TYPE:
		if (strcmp(value, "softtoken") != 0 &&
		    strcmp(value, "usbtoken") != 0) {
			*cause = xasprintf("%s: token_type is softtoken or "
			    "usbtoken, not '%s'", where, value);
			return -1;
		}
		v = xstrdup(value);
		break;
	case BATCH_BOOL:
		if ((*islot = batch_bool(value)) == -1) {
			*cause = xasprintf("%s: '%s' is yes or no, not '%s'",
			    where, key, value);
			return -1;
		}
		return 0;
	case BATCH_FD:
		errno = 0;
		n = strtol(value, &end, 10);
		if (errno != 0 || *end != '\0' || n < 0 || n > BATCH_FD_MAX) {
			*cause = xasprintf("%s: '%s' is a descriptor number "
			    "(0 for stdin), not '%s'", where, key, value);
			return -1;
		}
		if (fcntl((int)n, F_GETFD) == -1) {
			*cause = xasprintf("%s: descriptor %ld is not open",
			    where, n);
			return -1;
		}
		*islot = (int)n;
		return 0;
	case BATCH_LIST:
		if (k->fingerprint && (v = batch_fingerprint(value)) == NULL)
			goto fingerprint;
		if (v == NULL)
			v = xstrdup(value);
		words_add((struct words *)((char *)b + k->offset), v);
		return 0;
	}
	*slot = v;
	return 0;
fingerprint:
	*cause = xasprintf("%s: '%s' is a SHA-256 fingerprint, 64 hex digits "
	    "(colons between the bytes allowed)", where, key);
	return -1;
}

/* Reads KEY=VALUE lines (blanks around both; # comments) into b. */
static int
batch_lines(struct prov_batch *b, char *text, char **cause)
{
	char *line, *next, *eq, *key, *value, *end, where[32];
	int n = 0;

	for (line = text; line != NULL; line = next) {
		n++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		snprintf(where, sizeof where, "line %d", n);
		while (*line == ' ' || *line == '\t')
			line++;
		end = line + strlen(line);
		while (end > line && (end[-1] == ' ' || end[-1] == '\t' ||
		    end[-1] == '\r'))
			*--end = '\0';
		if (*line == '\0' || *line == '#')
			continue;
		if ((eq = strchr(line, '=')) == NULL) {
			*cause = xasprintf("%s: not KEY=VALUE", where);
			return -1;
		}
		key = line;
		value = eq + 1;
		while (eq > key && (eq[-1] == ' ' || eq[-1] == '\t'))
			eq--;
		*eq = '\0';
		while (*value == ' ' || *value == '\t')
			value++;
		if (batch_set(b, key, value, where, cause) == -1)
			return -1;
	}
	return 0;
}

/* Returns a JSON scalar as the text a line would give; NULL if none. */
static char *
batch_json_scalar(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_string:
		return xstrdup(json_object_get_string(v));
	case json_type_int:
		return xasprintf("%lld", (long long)json_object_get_int64(v));
	case json_type_boolean:
		return xstrdup(json_object_get_boolean(v) ? "yes" : "no");
	default:
		return NULL;
	}
}

/* Sets key from one JSON value (a scalar); -1 with *cause set. */
static int
batch_json_set(struct prov_batch *b, const char *key, struct json_object *v,
    char **cause)
{
	char *s, *where;
	int rc;

	if ((s = batch_json_scalar(v)) == NULL) {
		*cause = xasprintf("member '%s': a string, number or boolean "
		    "is expected", key);
		return -1;
	}
	where = xasprintf("member '%s'", key);
	rc = batch_set(b, key, s, where, cause);
	free(where);
	explicit_bzero(s, strlen(s));
	free(s);
	return rc;
}

/* Wipes a string member of a JSON object in place (a secret). */
static void
batch_json_wipe(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string))
		explicit_bzero((char *)json_object_get_string(v),
		    (size_t)json_object_get_string_len(v));
}

/* Reads a JSON object into b. */
static int
batch_json(struct prov_batch *b, const char *text, size_t len, char **cause)
{
	static const struct jsonstrict_limits lim = { .what = "batch file",
	    .max_len = BATCH_MAX, .max_depth = 4, .max_fields = 256,
	    .flags = JSONSTRICT_PATH_NAMES };
	struct json_object *o = NULL, *item;
	const struct batch_key *k;
	char *name;
	size_t i;
	int set, rc = -1;

	if (jsonstrict_parse(text, len, &lim, &o, cause) == -1)
		return -1;
	if (!json_object_is_type(o, json_type_object)) {
		*cause = xstrdup("the batch file is no JSON object");
		goto out;
	}
	json_object_object_foreach(o, key, val) {
		if (strcmp(key, BATCH_SETTINGS) == 0) {
			if (!json_object_is_type(val, json_type_object)) {
				*cause = xstrdup("member 'settings': an object "
				    "of KEY: VALUE is expected");
				goto out;
			}
			json_object_object_foreach(val, skey, sval) {
				name = xasprintf("%s.%s", BATCH_SETTINGS, skey);
				set = batch_json_set(b, name, sval, cause);
				free(name);
				if (set == -1)
					goto out;
			}
			continue;
		}
		k = batch_key_find(key);
		if (k != NULL && k->kind == BATCH_LIST &&
		    json_object_is_type(val, json_type_array)) {
			for (i = 0; i < json_object_array_length(val); i++) {
				item = json_object_array_get_idx(val, i);
				if (batch_json_set(b, key, item, cause) == -1)
					goto out;
			}
			continue;
		}
		if (batch_json_set(b, key, val, cause) == -1)
			goto out;
	}
	rc = 0;
out:
	if (o != NULL) {
		batch_json_wipe(o, "pin");
		batch_json_wipe(o, "puk");
	}
	json_object_put(o);
	return rc;
}

/* Checks what the keys say together; -1 with *cause set. */
static int
batch_check(struct prov_batch *b, int mode, char **cause)
{
	if (b->supplier_anchor != NULL && b->supplier_fingerprint == NULL) {
		*cause = xstrdup("supplier_anchor needs supplier_fingerprint: "
		    "the batch file names the fingerprint it expects");
		return -1;
	}
	if (b->supplier_anchor == NULL && b->supplier_fingerprint != NULL) {
		*cause = xstrdup("supplier_fingerprint without "
		    "supplier_anchor");
		return -1;
	}
	if (b->owner_anchors.argc != b->owner_fingerprints.argc) {
		*cause = xasprintf("%d owner_anchor but %d "
		    "owner_fingerprint: each owner anchor needs the "
		    "fingerprint it is expected to have", b->owner_anchors.argc,
		    b->owner_fingerprints.argc);
		return -1;
	}
	if ((b->certificate == NULL) != (b->device_ca == NULL)) {
		*cause = xstrdup("certificate and device_ca go together: the "
		    "device certificate and the device CA's root");
		return -1;
	}
	if (b->pin != NULL && b->pin_fd != -1) {
		*cause = xstrdup("pin and pin_fd: give the PIN one way");
		return -1;
	}
	if ((b->puk != NULL) + (b->puk_fd != -1) + (b->generate_puk == 1) >
	    1) {
		*cause = xstrdup("puk, puk_fd and generate_puk=yes: give the "
		    "PUK one way");
		return -1;
	}
	if (b->token_reader != NULL && b->token_type != NULL &&
	    strcmp(b->token_type, "usbtoken") != 0) {
		*cause = xstrdup("token_reader is for token_type=usbtoken");
		return -1;
	}
	if (strcmp(b->path, "-") == 0 && (b->pin_fd == 0 || b->puk_fd == 0)) {
		*cause = xstrdup("the batch file is stdin: the PIN and PUK "
		    "cannot be lines of it too (pin_fd, puk_fd 0)");
		return -1;
	}
	if (b->secrets_inline && S_ISREG(mode) && (mode & 077) != 0) {
		*cause = xasprintf("it holds a PIN or PUK and others may read "
		    "it (mode %04o): make it private (chmod 600), or give "
		    "the secrets on a descriptor (pin_fd, puk_fd)",
		    (unsigned)(mode & 07777));
		return -1;
	}
	return 0;
}

/* Reads all of fd, at most BATCH_MAX bytes, into *buf; -1 with errno. */
static int
batch_read_all(int fd, char **buf, size_t *len)
{
	char *b = xmalloc(BATCH_MAX + 1);
	size_t n = 0;
	ssize_t r;

	for (;;) {
		r = read(fd, b + n, BATCH_MAX + 1 - n);
		if (r == -1 && errno == EINTR && prov_signal == 0)
			continue;
		if (r == -1)
			goto fail;
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > BATCH_MAX) {
			errno = EFBIG;
			goto fail;
		}
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
fail:
	explicit_bzero(b, n);
	free(b);
	return -1;
}

struct prov_batch *
prov_batch_read(const char *path, char **cause)
{
	struct prov_batch *b;
	struct stat sb;
	char *text = NULL;
	const char *p;
	size_t len = 0;
	int fd, rc;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		*cause = xasprintf("cannot open the batch file %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) == -1 || S_ISDIR(sb.st_mode) ||
	    batch_read_all(fd, &text, &len) == -1) {
		*cause = xasprintf("cannot read the batch file %s: %s", path,
		    errno == EFBIG ? "larger than 64 KiB" : S_ISDIR(sb.st_mode) ?
		    "a directory" : strerror(errno));
		if (fd != STDIN_FILENO)
			close(fd);
		return NULL;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	b = xcalloc(1, sizeof *b);
	b->path = path;
	b->pin_fd = b->puk_fd = b->generate_puk = b->lock = -1;
	for (p = text; *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n';
	    p++)
		;
	if (memchr(text, '\0', len) != NULL) {
		*cause = xasprintf("the batch file %s holds a NUL byte", path);
		rc = -1;
	} else if (*p == '{')
		rc = batch_json(b, text, len, cause);
	else
		rc = batch_lines(b, text, cause);
	if (rc == 0)
		rc = batch_check(b, sb.st_mode, cause);
	explicit_bzero(text, len);
	free(text);
	if (rc == -1) {
		if (strcmp(path, "-") != 0 && strncmp(*cause, "cannot", 6) != 0) {
			char *c = xasprintf("%s: %s", path, *cause);

			free(*cause);
			*cause = c;
		}
		prov_batch_free(b);
		return NULL;
	}
	return b;
}

void
prov_batch_free(struct prov_batch *b)
{
	if (b == NULL)
		return;
	free(b->csr_out);
	free(b->certificate);
	free(b->device_ca);
	free(b->supplier_anchor);
	free(b->supplier_fingerprint);
	words_free(&b->owner_anchors);
	words_free(&b->owner_fingerprints);
	free(b->token_type);
	free(b->token_reader);
	free(b->c0_guestos);
	secret_free(b->pin);
	secret_free(b->puk);
	words_free(&b->settings);
	free(b->report_out);
	free(b);
}

/*
 * Reads one line from fd, a byte at a time so that the next secret's line
 * stays there; at most PIN_MAX_BYTES bytes.  -1 with *cause set.
 */
static int
batch_fd_line(int fd, const char *kind, char **out, char **cause)
{
	char buf[PIN_MAX_BYTES + 1], c;
	size_t n = 0;
	ssize_t r;

	for (;;) {
		r = read(fd, &c, 1);
		if (r == -1 && errno == EINTR && prov_signal == 0)
			continue;
		if (r == -1) {
			*cause = xasprintf("cannot read the %s from descriptor "
			    "%d: %s", kind, fd, strerror(errno));
			goto fail;
		}
		if (r == 0 || c == '\n')
			break;
		if (n == sizeof buf - 1) {
			*cause = xasprintf("the %s on descriptor %d is longer "
			    "than %d characters", kind, fd, PIN_MAX);
			goto fail;
		}
		buf[n++] = c;
	}
	if (r == 0 && n == 0) {
		*cause = xasprintf("descriptor %d ended before the %s", fd,
		    kind);
		goto fail;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*out = xstrdup(buf);
	explicit_bzero(buf, sizeof buf);
	return 0;
fail:
	explicit_bzero(buf, sizeof buf);
	return -1;
}

int
prov_batch_secret(struct prov_batch *b, const char *kind, char **out,
    char **cause)
{
	const char *inline_secret = strcmp(kind, "pin") == 0 ? b->pin : b->puk;
	int fd = strcmp(kind, "pin") == 0 ? b->pin_fd : b->puk_fd;
	char *why = NULL;

	*out = NULL;
	if (inline_secret != NULL) {
		*out = xstrdup(inline_secret);
		return 0;
	}
	if (fd == -1)
		return 0;
	if (batch_fd_line(fd, strcmp(kind, "pin") == 0 ? "PIN" : "PUK", out,
	    cause) == -1)
		return -1;
	if (pin_policy_check(*out, strcmp(kind, "puk") == 0 ? PIN_KIND_PUK :
	    PIN_KIND_PIN, &why) == -1) {
		*cause = xasprintf("the %s on descriptor %d: %s",
		    strcmp(kind, "pin") == 0 ? "PIN" : "PUK", fd, why);
		free(why);
		secret_free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}
