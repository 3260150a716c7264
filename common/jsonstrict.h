/*
 * A strict JSON reader: every text is scanned against RFC 8259 before
 * json-c builds the tree, because json-c also takes single-quoted strings,
 * NaN, raw control characters in strings and the like.  Texts that must
 * have one meaning only (signed manifests, container configs) are also
 * refused for \u0000, lone surrogates, bytes that are not UTF-8, integers
 * beyond 64 bits, escapes in field names and a field given twice.
 */
#ifndef CML_JSONSTRICT_H
#define CML_JSONSTRICT_H

#include <stddef.h>

#include <json-c/json.h>

/*
 * Checks the RFC 8259 grammar only, and takes \u0000, lone surrogates,
 * bytes that are not UTF-8, integers of any size and repeated or escaped
 * field names: for protocol messages, whose readers check every value.
 */
#define JSONSTRICT_SYNTAX_ONLY 0x1
/*
 * Names a field given twice by its path, "field 'a.b' appears twice",
 * rather than by its name and object, "field 'b' appears twice in a".
 */
#define JSONSTRICT_PATH_NAMES 0x2

/* What a kind of text is called in messages, and how much is allowed. */
struct jsonstrict_limits {
	/*
	 * The text's name: "manifest" gives "manifest is empty", "manifest is
	 * not valid JSON: ..." and "the manifest has more than ...".  NULL
	 * for a text with no name of its own, such as one protocol message,
	 * whose faults, a blank text's too, read "invalid JSON: ...".
	 */
	const char *what;
	size_t max_len; /* most bytes, or 0 if the caller bounds the text */
	int max_depth; /* most levels of objects and arrays, at least 1 */
	/*
	 * Most fields in one object, or 0 for no limit; that is only for
	 * JSONSTRICT_SYNTAX_ONLY, as the search for a field given twice
	 * takes time that grows with the square of an object's fields.
	 */
	int max_fields;
	int flags; /* JSONSTRICT_* */
};

/*
 * Checks text[0..len) strictly and builds its tree with json-c into *out,
 * whatever the value (NULL for null); the caller checks its type.  -1 with
 * *cause (if cause is not NULL) saying what is wrong and, for a syntax
 * error, at what offset.
 */
int jsonstrict_parse(const char *text, size_t len,
    const struct jsonstrict_limits *lim, struct json_object **out,
    char **cause);

/*
 * Returns a copy of s[0..len) fit for a message: bytes outside printable
 * ASCII, the backslash and the single quote become \xNN, and a long string
 * is cut with "...", so nothing from a text can drive a terminal or a log.
 */
char *jsonstrict_quote(const char *s, size_t len);

/* As jsonstrict_quote, for a NUL-terminated string. */
char *jsonstrict_quotes(const char *s);

/* How jsonstrict_get_string takes a member (its flags). */
#define JSONSTRICT_REQUIRED 0x1 /* an absent member is an error */
#define JSONSTRICT_NULL_ABSENT 0x2 /* null counts as absent, not as wrong */

/*
 * Looks up string member key of obj (a NULL obj has none): *out is NULL
 * when it is absent and not JSONSTRICT_REQUIRED.  -1 with *cause set,
 * naming it "PATH.KEY" (plain "KEY" for an empty path), when it is absent
 * but required, or not a string.
 */
int jsonstrict_get_string(struct json_object *obj, const char *path,
    const char *key, int flags, const char **out, char **cause);

#endif
