/*
 * The strict JSON reader shared by the manifest and config parsers and the
 * protocol's framing.  A recursive scanner checks the text, bounded by the
 * caller's depth limit; only then does json-c build the tree, so json-c
 * never sees anything it would read in its own way.
 */
#include "config.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/printbuf.h>

#include "jsonstrict.h"
#include "log.h"
#include "xmalloc.h"

/* Longest string quoted into a message, in bytes of the original. */
#define JSONSTRICT_QUOTE_MAX 64

/* One open object or array, kept to name a place in messages. */
struct jsonstrict_level {
	int array;
	size_t index; /* the current element, or field of an object */
	size_t key; /* the current field's name: offset after the quote */
	size_t keylen;
	size_t names; /* where this object's field names start */
};

/* A field name in the text; names are plain, so raw bytes compare. */
struct jsonstrict_name {
	size_t off;
	size_t len;
};

struct jsonstrict {
	const struct jsonstrict_limits *lim;
	const unsigned char *p;
	size_t len;
	size_t off;
	int strict; /* all checks, not only the grammar */
	int depth; /* levels open */
	struct jsonstrict_level *level; /* lim->max_depth of them */
	struct jsonstrict_name *names; /* of the open objects, if strict */
	size_t nnames;
	size_t capnames;
	char *err; /* the complete message, once something is wrong */
};

char *
jsonstrict_quote(const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char c;
	size_t i, n, o = 0;
	char *out;

	n = len > JSONSTRICT_QUOTE_MAX ? JSONSTRICT_QUOTE_MAX : len;
	out = xmalloc(n * 4 + 4);
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7f || c == '\\' || c == '\'') {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		} else
			out[o++] = (char)c;
	}
	if (n < len) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

char *
jsonstrict_quotes(const char *s)
{
	return jsonstrict_quote(s, strlen(s));
}

/* Records the first problem found as the whole message; returns -1. */
static int __attribute__((format(printf, 2, 3)))
jsonstrict_error(struct jsonstrict *j, const char *fmt, ...)
{
	va_list ap;

	if (j->err != NULL)
		return -1;
	va_start(ap, fmt);
	if (vasprintf(&j->err, fmt, ap) == -1)
		fatalx("out of memory formatting a string");
	va_end(ap);
	return -1;
}

/* Records a syntax problem at the current offset; returns -1. */
static int __attribute__((format(printf, 2, 3)))
jsonstrict_fail(struct jsonstrict *j, const char *fmt, ...)
{
	va_list ap;
	char *why;

	if (j->err != NULL)
		return -1;
	va_start(ap, fmt);
	if (vasprintf(&why, fmt, ap) == -1)
		fatalx("out of memory formatting a string");
	va_end(ap);
	if (j->lim->what == NULL)
		jsonstrict_error(j, "invalid JSON: %s at offset %zu", why,
		    j->off);
	else
		jsonstrict_error(j, "%s is not valid JSON: %s at offset %zu",
		    j->lim->what, why, j->off);
	free(why);
	return -1;
}

/* Records "unexpected character", "unexpected byte" or "unexpected end". */
static int
jsonstrict_unexpected(struct jsonstrict *j)
{
	unsigned char c;

	if (j->off >= j->len)
		return jsonstrict_fail(j, "unexpected end");
	c = j->p[j->off];
	if (c > 0x20 && c < 0x7f && c != '\'' && c != '\\')
		return jsonstrict_fail(j, "unexpected character '%c'", c);
	return jsonstrict_fail(j, "unexpected byte 0x%02x", c);
}

static int
jsonstrict_is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void
jsonstrict_ws(struct jsonstrict *j)
{
	while (j->off < j->len && jsonstrict_is_ws(j->p[j->off]))
		j->off++;
}

/*
 * Names the place reached through the first n open levels: "" for the
 * top, else "images[0]" or "linux.resources.memory".
 */
static char *
jsonstrict_path(const struct jsonstrict *j, int n)
{
	const struct jsonstrict_level *l;
	char *path = xstrdup(""), *key, *next;
	int i;

	for (i = 0; i < n; i++) {
		l = &j->level[i];
		if (l->array)
			next = xasprintf("%s[%zu]", path, l->index);
		else {
			key = jsonstrict_quote((const char *)j->p + l->key,
			    l->keylen);
			next = xasprintf("%s%s%s", path,
			    *path == '\0' ? "" : ".", key);
			free(key);
		}
		free(path);
		path = next;
	}
	return path;
}

/* Names the innermost open object: "the manifest" or "images[0]". */
static char *
jsonstrict_object_name(const struct jsonstrict *j)
{
	char *path;

	path = jsonstrict_path(j, j->depth - 1);
	if (*path != '\0')
		return path;
	free(path);
	return xasprintf("the %s", j->lim->what != NULL ? j->lim->what :
	    "text");
}

/* Returns the length of the UTF-8 sequence at s, or 0 if it is invalid. */
static size_t
jsonstrict_utf8_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		if (s[0] == 0xe0)
			lo = 0xa0; /* no overlong forms */
		else if (s[0] == 0xed)
			hi = 0x9f; /* no surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f; /* nothing above U+10FFFF */
	} else
		return 0;
	if (n < need || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < need; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	}
	return need;
}

/* Reads the 4 hex digits of a \u escape at the offset into *cp. */
static int
jsonstrict_hex4(struct jsonstrict *j, unsigned int *cp)
{
	unsigned char c;
	int i;

	*cp = 0;
	for (i = 0; i < 4; i++) {
		if (j->off >= j->len)
			return jsonstrict_unexpected(j);
		c = j->p[j->off];
		*cp <<= 4;
		if (c >= '0' && c <= '9')
			*cp |= c - '0';
		else if (c >= 'a' && c <= 'f')
			*cp |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			*cp |= c - 'A' + 10;
		else
			return jsonstrict_fail(j, "invalid \\u escape");
		j->off++;
	}
	return 0;
}

/*
 * Refuses \u0000 and a surrogate that is not part of a pair; cp is the
 * \u escape just read, and a high surrogate's partner is read here.
 */
static int
jsonstrict_codepoint(struct jsonstrict *j, unsigned int cp)
{
	unsigned int lo;

	if (cp == 0) {
		j->off -= 6;
		return jsonstrict_fail(j, "\\u0000 in a string");
	}
	if (cp >= 0xdc00 && cp <= 0xdfff) {
		j->off -= 6;
		return jsonstrict_fail(j, "unpaired surrogate");
	}
	if (cp < 0xd800 || cp > 0xdbff)
		return 0;
	if (j->len - j->off < 2 || j->p[j->off] != '\\' ||
	    j->p[j->off + 1] != 'u')
		return jsonstrict_fail(j, "unpaired surrogate");
	j->off += 2;
	if (jsonstrict_hex4(j, &lo) == -1)
		return -1;
	if (lo < 0xdc00 || lo > 0xdfff) {
		j->off -= 6;
		return jsonstrict_fail(j, "unpaired surrogate");
	}
	return 0;
}

/* Scans a string; *escaped is set when it holds an escape. */
static int
jsonstrict_string(struct jsonstrict *j, int *escaped)
{
	size_t start = j->off, n;
	unsigned int cp;
	unsigned char c;

	*escaped = 0;
	j->off++; /* the opening quote */
	while (j->off < j->len) {
		c = j->p[j->off];
		if (c == '"') {
			j->off++;
			return 0;
		}
		if (c < 0x20)
			return jsonstrict_fail(j, "control character 0x%02x "
			    "in a string", c);
		if (c >= 0x80 && j->strict) {
			n = jsonstrict_utf8_len(j->p + j->off, j->len - j->off);
			if (n == 0)
				return jsonstrict_fail(j, "invalid UTF-8");
			j->off += n;
			continue;
		}
		if (c != '\\') {
			j->off++;
			continue;
		}
		*escaped = 1;
		if (++j->off >= j->len)
			break;
		c = j->p[j->off++];
		if (c != '\0' && strchr("\"\\/bfnrt", c) != NULL)
			continue;
		if (c != 'u') {
			j->off -= 2;
			return jsonstrict_fail(j, "invalid escape");
		}
		if (jsonstrict_hex4(j, &cp) == -1)
			return -1;
		if (j->strict && jsonstrict_codepoint(j, cp) == -1)
			return -1;
	}
	j->off = start;
	return jsonstrict_fail(j, "unterminated string");
}

/* Skips decimal digits; returns how many. */
static size_t
jsonstrict_digits(struct jsonstrict *j)
{
	size_t start = j->off;

	while (j->off < j->len && j->p[j->off] >= '0' && j->p[j->off] <= '9')
		j->off++;
	return j->off - start;
}

/*
 * Whether the integer s[0..n), digits without a leading zero after an
 * optional '-', fits in 64 bits; json-c would silently saturate it.
 */
static int
jsonstrict_int64(const unsigned char *s, size_t n)
{
	const char *max = "9223372036854775807";

	if (*s == '-') {
		s++;
		n--;
		max = "9223372036854775808";
	}
	return n < 19 || (n == 19 && memcmp(s, max, 19) <= 0);
}

/* Scans a number as RFC 8259 has it. */
static int
jsonstrict_number(struct jsonstrict *j)
{
	size_t start = j->off;
	int integer = 1;

	if (j->p[j->off] == '-')
		j->off++;
	if (j->off < j->len && j->p[j->off] == '0') {
		j->off++;
		if (j->off < j->len && j->p[j->off] >= '0' &&
		    j->p[j->off] <= '9')
			return jsonstrict_fail(j, "number with a leading "
			    "zero");
	} else if (jsonstrict_digits(j) == 0)
		return jsonstrict_fail(j, "invalid number");
	if (j->off < j->len && j->p[j->off] == '.') {
		integer = 0;
		j->off++;
		if (jsonstrict_digits(j) == 0)
			return jsonstrict_fail(j, "invalid number");
	}
	if (j->off < j->len && (j->p[j->off] == 'e' || j->p[j->off] == 'E')) {
		integer = 0;
		j->off++;
		if (j->off < j->len && (j->p[j->off] == '+' ||
		    j->p[j->off] == '-'))
			j->off++;
		if (jsonstrict_digits(j) == 0)
			return jsonstrict_fail(j, "invalid number");
	}
	if (integer && j->strict &&
	    !jsonstrict_int64(j->p + start, j->off - start)) {
		j->off = start;
		return jsonstrict_fail(j, "integer out of range");
	}
	return 0;
}

/* Scans true, false or null. */
static int
jsonstrict_word(struct jsonstrict *j)
{
	static const char *const words[] = { "true", "false", "null" };
	size_t i, n;

	for (i = 0; i < sizeof words / sizeof words[0]; i++) {
		n = strlen(words[i]);
		if (j->len - j->off >= n &&
		    memcmp(j->p + j->off, words[i], n) == 0) {
			j->off += n;
			return 0;
		}
	}
	return jsonstrict_unexpected(j);
}

/* Refuses the current field of object l if it was given before. */
static int
jsonstrict_unique(struct jsonstrict *j, struct jsonstrict_level *l)
{
	const struct jsonstrict_name *nm;
	char *name, *where;
	size_t i;

	for (i = l->names; i < j->nnames; i++) {
		nm = &j->names[i];
		if (nm->len != l->keylen ||
		    memcmp(j->p + nm->off, j->p + l->key, nm->len) != 0)
			continue;
		if (j->lim->flags & JSONSTRICT_PATH_NAMES) {
			name = jsonstrict_path(j, j->depth);
			jsonstrict_error(j, "field '%s' appears twice", name);
		} else {
			name = jsonstrict_quote((const char *)j->p + l->key,
			    l->keylen);
			where = jsonstrict_object_name(j);
			jsonstrict_error(j, "field '%s' appears twice in %s",
			    name, where);
			free(where);
		}
		free(name);
		return -1;
	}
	if (j->nnames == j->capnames) {
		j->capnames = j->capnames == 0 ? 16 : j->capnames * 2;
		j->names = xreallocarray(j->names, j->capnames,
		    sizeof *j->names);
	}
	j->names[j->nnames].off = l->key;
	j->names[j->nnames++].len = l->keylen;
	return 0;
}

/* Scans a field name and its ':' in object l. */
static int
jsonstrict_field(struct jsonstrict *j, struct jsonstrict_level *l)
{
	size_t start;
	char *where;
	int escaped;

	jsonstrict_ws(j);
	if (j->off >= j->len || j->p[j->off] != '"')
		return jsonstrict_unexpected(j);
	start = j->off;
	if (jsonstrict_string(j, &escaped) == -1)
		return -1;
	if (escaped && j->strict) {
		j->off = start;
		return jsonstrict_fail(j, "escape in a field name (field "
		    "names must be plain)");
	}
	l->key = start + 1;
	l->keylen = j->off - start - 2;
	if (j->strict && jsonstrict_unique(j, l) == -1)
		return -1;
	if (j->lim->max_fields > 0 && l->index == (size_t)j->lim->max_fields) {
		where = jsonstrict_object_name(j);
		jsonstrict_error(j, "%s has more than %d fields", where,
		    j->lim->max_fields);
		free(where);
		return -1;
	}
	jsonstrict_ws(j);
	if (j->off >= j->len || j->p[j->off] != ':')
		return jsonstrict_unexpected(j);
	j->off++;
	return 0;
}

static int jsonstrict_value(struct jsonstrict *);

/* Scans an object or an array, one level deeper. */
static int
jsonstrict_container(struct jsonstrict *j)
{
	struct jsonstrict_level *l;
	unsigned char close = j->p[j->off] == '{' ? '}' : ']';

	if (j->depth == j->lim->max_depth)
		return jsonstrict_fail(j, "nested deeper than %d levels",
		    j->lim->max_depth);
	l = &j->level[j->depth++];
	memset(l, 0, sizeof *l);
	l->array = close == ']';
	l->names = j->nnames;
	j->off++;
	jsonstrict_ws(j);
	if (j->off < j->len && j->p[j->off] == close)
		j->off++;
	else {
		for (;; l->index++) {
			if (!l->array && jsonstrict_field(j, l) == -1)
				return -1;
			if (jsonstrict_value(j) == -1)
				return -1;
			jsonstrict_ws(j);
			if (j->off < j->len && j->p[j->off] == ',') {
				j->off++;
				continue;
			}
			if (j->off < j->len && j->p[j->off] == close) {
				j->off++;
				break;
			}
			return jsonstrict_unexpected(j);
		}
	}
	j->nnames = l->names;
	j->depth--;
	return 0;
}

/* Scans any value at the offset. */
static int
jsonstrict_value(struct jsonstrict *j)
{
	int escaped;

	jsonstrict_ws(j);
	if (j->off >= j->len)
		return jsonstrict_unexpected(j);
	switch (j->p[j->off]) {
	case '{':
	case '[':
		return jsonstrict_container(j);
	case '"':
		return jsonstrict_string(j, &escaped);
	case 't':
	case 'f':
	case 'n':
		return jsonstrict_word(j);
	default:
		if (j->p[j->off] == '-' ||
		    (j->p[j->off] >= '0' && j->p[j->off] <= '9'))
			return jsonstrict_number(j);
		return jsonstrict_unexpected(j);
	}
}

/*
 * The tokener of this thread, kept from one parse to the next (making one
 * costs more than parsing a short message).  Whatever a parse left in its
 * string buffer (a PIN, say) is wiped at once after it, and the tokener
 * is freed when its thread ends.
 */
static __thread struct json_tokener *jsonstrict_tok;
static pthread_key_t jsonstrict_tok_key;
static pthread_once_t jsonstrict_tok_once = PTHREAD_ONCE_INIT;

/* Wipes what the last parse left in the tokener's buffer. */
static void
jsonstrict_tok_wipe(struct json_tokener *tok)
{
	if (tok->pb != NULL && tok->pb->buf != NULL && tok->pb->size > 0)
		xwipe(tok->pb->buf, (size_t)tok->pb->size);
}

/* Wipes and frees a tokener (at its thread's end too). */
static void
jsonstrict_tok_free(void *arg)
{
	struct json_tokener *tok = arg;

	if (tok == NULL)
		return;
	jsonstrict_tok_wipe(tok);
	json_tokener_free(tok);
}

static void
jsonstrict_tok_init(void)
{
	if (pthread_key_create(&jsonstrict_tok_key, jsonstrict_tok_free) != 0)
		fatalx("pthread_key_create failed");
}

/* Returns this thread's tokener for max_depth, reset. */
static struct json_tokener *
jsonstrict_tok_get(int max_depth)
{
	struct json_tokener *tok = jsonstrict_tok;

	if (tok != NULL && tok->max_depth == max_depth) {
		json_tokener_reset(tok);
		return tok;
	}
	(void)pthread_once(&jsonstrict_tok_once, jsonstrict_tok_init);
	jsonstrict_tok_free(tok);
	if ((tok = json_tokener_new_ex(max_depth)) == NULL)
		fatalx("out of memory parsing JSON");
	jsonstrict_tok = tok;
	(void)pthread_setspecific(jsonstrict_tok_key, tok);
	return tok;
}

/* Builds the tree of a text the scanner passed into *out; -1 with j->err. */
static int
jsonstrict_build(struct jsonstrict *j, struct json_object **out)
{
	struct json_tokener *tok;
	enum json_tokener_error e;
	size_t end;

	tok = jsonstrict_tok_get(j->lim->max_depth + 1);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    (j->strict ? JSON_TOKENER_VALIDATE_UTF8 : 0));
	*out = json_tokener_parse_ex(tok, (const char *)j->p, (int)j->len);
	e = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (e == json_tokener_continue && end == j->len) {
		/* Only a terminating NUL ends a word or number at the end. */
		*out = json_tokener_parse_ex(tok, "", 1);
		e = json_tokener_get_error(tok);
	}
	jsonstrict_tok_wipe(tok);
	if (e == json_tokener_success && end == j->len)
		return 0;
	json_object_put(*out);
	*out = NULL;
	j->off = end;
	if (e == json_tokener_success)
		return jsonstrict_unexpected(j);
	return jsonstrict_fail(j, "%s", json_tokener_error_desc(e));
}

int
jsonstrict_parse(const char *text, size_t len,
    const struct jsonstrict_limits *lim, struct json_object **out,
    char **cause)
{
	/* the usual depth on the stack: a message parsed allocates less */
	struct jsonstrict_level stack_levels[32];
	struct jsonstrict j;
	size_t i, max;

	*out = NULL;
	memset(&j, 0, sizeof j);
	j.lim = lim;
	j.p = (const unsigned char *)text;
	j.len = len;
	j.strict = (lim->flags & JSONSTRICT_SYNTAX_ONLY) == 0;
	max = lim->max_len > 0 && lim->max_len < INT_MAX ? lim->max_len :
	    INT_MAX;

	for (i = 0; i < len && jsonstrict_is_ws(j.p[i]); i++)
		continue;
	if (i == len && lim->what != NULL)
		jsonstrict_error(&j, "%s is empty", lim->what);
	else if (len > max)
		jsonstrict_error(&j, "%s has %zu bytes, more than the %zu "
		    "allowed", lim->what != NULL ? lim->what : "text", len,
		    max);
	else {
		if ((size_t)lim->max_depth <= sizeof stack_levels /
		    sizeof stack_levels[0]) {
			memset(stack_levels, 0, sizeof stack_levels);
			j.level = stack_levels;
		} else
			j.level = xcalloc((size_t)lim->max_depth,
			    sizeof *j.level);
		if (jsonstrict_value(&j) == 0) {
			jsonstrict_ws(&j);
			if (j.off < j.len)
				jsonstrict_unexpected(&j);
		}
		free(j.names);
		if (j.level != stack_levels)
			free(j.level);
		if (j.err == NULL)
			jsonstrict_build(&j, out);
	}
	if (j.err == NULL)
		return 0;
	if (cause != NULL)
		*cause = j.err;
	else
		free(j.err);
	return -1;
}

int
jsonstrict_get_string(struct json_object *obj, const char *path,
    const char *key, int flags, const char **out, char **cause)
{
	struct json_object *v;
	char *name;
	int ret = -1;

	*out = NULL;
	name = *path == '\0' ? xstrdup(key) : xasprintf("%s.%s", path, key);
	if (!json_object_object_get_ex(obj, key, &v) ||
	    (v == NULL && (flags & JSONSTRICT_NULL_ABSENT))) {
		if (!(flags & JSONSTRICT_REQUIRED))
			ret = 0;
		else
			xcause(cause, "%s is missing", name);
	} else if (!json_object_is_type(v, json_type_string))
		xcause(cause, "%s must be a string", name);
	else {
		*out = json_object_get_string(v);
		ret = 0;
	}
	free(name);
	return ret;
}
