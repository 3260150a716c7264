/*
 * How cmlsh shows replies.  Generic on purpose: a reply whose only member
 * is an array of objects is a table, anything else is key-value lines, and
 * --json prints the parameters as they came.  New commands print
 * correctly without changes; the few whose replies a person reads
 * otherwise (a PEM request to redirect to a file, attestation evidence
 * summed up) have a function of their own (format_special).
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "cmdtab.h"
#include "client.h"
#include "interfaces.h"
#include "xmalloc.h"

#define FORMAT_JSON_FLAGS \
	(JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)
#define FORMAT_COLUMN_GAP 2

/* A growing string. */
struct format_buf {
	char *s;
	size_t len;
	size_t cap;
};

static void
format_buf_add(struct format_buf *b, const char *s, size_t len)
{
	if (b->cap - b->len < len + 1) {
		size_t cap = b->cap ? b->cap : 64;

		while (cap - b->len < len + 1)
			cap *= 2;
		b->s = xreallocarray(b->s, cap, 1);
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, len);
	b->len += len;
	b->s[b->len] = '\0';
}

static void
format_buf_str(struct format_buf *b, const char *s)
{
	format_buf_add(b, s, strlen(s));
}

/* Returns the string built so far (never NULL); the caller frees it. */
static char *
format_buf_take(struct format_buf *b)
{
	char *s = b->s != NULL ? b->s : xstrdup("");

	memset(b, 0, sizeof *b);
	return s;
}

void
format_state_init(struct format_state *fs)
{
	memset(fs, 0, sizeof *fs);
}

void
format_state_free(struct format_state *fs)
{
	free(fs->columns);
	free(fs->widths);
	memset(fs, 0, sizeof *fs);
}

size_t
format_width(const char *s)
{
	mbstate_t ps;
	size_t width = 0, n;
	wchar_t wc;
	int w;

	memset(&ps, 0, sizeof ps);
	while (*s != '\0') {
		n = mbrtowc(&wc, s, MB_CUR_MAX, &ps);
		if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
			/*
			 * Not valid in this locale (a C locale over ssh, say):
			 * count UTF-8 lead bytes, which is right for most text.
			 */
			memset(&ps, 0, sizeof ps);
			if (((unsigned char)*s & 0xc0) != 0x80)
				width++;
			s++;
			continue;
		}
		w = wcwidth(wc);
		width += w > 0 ? (size_t)w : 0;
		s += n;
	}
	return width;
}

/*
 * Returns s with control characters escaped, so that text from the daemon
 * cannot move the cursor or reprogram the operator's terminal.  Tabs are
 * kept when keep_tab is set.
 */
char *
format_clean(const char *s, int keep_tab)
{
	struct format_buf b = { NULL, 0, 0 };
	const unsigned char *p;
	char esc[8];

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '\t' && keep_tab)
			format_buf_add(&b, "\t", 1);
		else if (*p == '\n')
			format_buf_str(&b, "\\n");
		else if (*p == '\t')
			format_buf_str(&b, "\\t");
		else if (*p == '\r')
			format_buf_str(&b, "\\r");
		else if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof esc, "\\x%02x", *p);
			format_buf_str(&b, esc);
		} else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			/* a C1 control character, UTF-8 encoded */
			snprintf(esc, sizeof esc, "\\x%02x", p[1]);
			format_buf_str(&b, "\\xc2");
			format_buf_str(&b, esc);
			p++;
		} else
			format_buf_add(&b, (const char *)p, 1);
	}
	return format_buf_take(&b);
}

/* Returns a scalar, or a compound value as compact JSON. */
static char *
format_scalar(struct json_object *v)
{
	const char *s;

	switch (json_object_get_type(v)) {
	case json_type_null:
		return xstrdup("-");
	case json_type_boolean:
		return xstrdup(json_object_get_boolean(v) ? "yes" : "no");
	case json_type_string:
		s = json_object_get_string(v);
		return xstrdup(*s == '\0' ? "-" : s);
	case json_type_int:
	case json_type_double:
	case json_type_object:
	case json_type_array:
		break;
	}
	return xstrdup(json_object_to_json_string_ext(v,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* Returns an object as "k=v k=v", or "-" when it is empty. */
static char *
format_pairs(struct json_object *o)
{
	struct format_buf b = { NULL, 0, 0 };
	char *v;

	json_object_object_foreach(o, key, val) {
		if (b.len > 0)
			format_buf_str(&b, " ");
		v = format_scalar(val);
		format_buf_str(&b, key);
		format_buf_str(&b, "=");
		format_buf_str(&b, v);
		free(v);
	}
	if (b.len == 0)
		format_buf_str(&b, "-");
	return format_buf_take(&b);
}

/*
 * Returns a value as a person reads it: yes/no, "-" for null or "", an
 * object as "k=v k=v", an array as "a, b".
 */
static char *
format_value(struct json_object *v)
{
	struct format_buf b = { NULL, 0, 0 };
	struct json_object *e;
	size_t i, n;
	char *s;

	if (json_object_is_type(v, json_type_object))
		return format_pairs(v);
	if (!json_object_is_type(v, json_type_array))
		return format_scalar(v);
	n = json_object_array_length(v);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(v, i);
		s = json_object_is_type(e, json_type_object) ?
		    format_pairs(e) : format_scalar(e);
		if (i > 0)
			format_buf_str(&b, ", ");
		format_buf_str(&b, s);
		free(s);
	}
	if (b.len == 0)
		format_buf_str(&b, "-");
	return format_buf_take(&b);
}

/* Returns a member name as shown: "_" as a space, upper case if asked. */
static char *
format_key(const char *key, int upper)
{
	char *s = format_clean(key, 0), *p;

	for (p = s; *p != '\0'; p++) {
		if (*p == '_')
			*p = ' ';
		else if (upper && (unsigned char)*p < 0x80)
			*p = (char)toupper((unsigned char)*p);
	}
	return s;
}

static void
format_pad(FILE *out, size_t n)
{
	while (n-- > 0)
		fputc(' ', out);
}

static void
format_free_list(char **list)
{
	char **p;

	if (list == NULL)
		return;
	for (p = list; *p != NULL; p++)
		free(*p);
	free(list);
}

/* A varlink interface description being read token by token. */
struct format_idl {
	const char *p;
	char tok[128];
};

static int
format_idl_namechar(int c)
{
	return isalnum(c) || c == '_' || c == '.';
}

/* Reads the next token into t->tok; returns 0 at the end of the text. */
static int
format_idl_next(struct format_idl *t)
{
	const char *p = t->p;
	size_t n = 0;

	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '#')
			break;
		while (*p != '\0' && *p != '\n')
			p++;
	}
	if (*p == '\0') {
		t->tok[0] = '\0';
		t->p = p;
		return 0;
	}
	if (p[0] == '-' && p[1] == '>') {
		strcpy(t->tok, "->");
		p += 2;
	} else if (format_idl_namechar((unsigned char)*p)) {
		while (format_idl_namechar((unsigned char)*p)) {
			if (n < sizeof t->tok - 1)
				t->tok[n++] = *p;
			p++;
		}
		t->tok[n] = '\0';
	} else {
		t->tok[0] = *p++;
		t->tok[1] = '\0';
	}
	t->p = p;
	return 1;
}

static int
format_idl_is(struct format_idl *t, const char *tok)
{
	return strcmp(t->tok, tok) == 0;
}

/*
 * Skips the rest of a field's type, through the "," or ")" that ends it;
 * returns 1 if that was the ")" closing the struct, 0 for ",", -1 at the
 * end of the text.
 */
static int
format_idl_skip_type(struct format_idl *t)
{
	int depth = 0;

	for (;;) {
		if (!format_idl_next(t))
			return -1;
		if (format_idl_is(t, "("))
			depth++;
		else if (format_idl_is(t, ")")) {
			if (depth == 0)
				return 1;
			depth--;
		} else if (format_idl_is(t, ",") && depth == 0)
			return 0;
	}
}

/*
 * Reads the field names of the struct whose "(" was just read, through its
 * ")"; returns NULL for an enum or text that is not a struct.
 */
static char **
format_idl_fields(struct format_idl *t)
{
	char **names = NULL;
	size_t n = 0;
	int end;

	names = xcalloc(1, sizeof *names);
	for (;;) {
		if (!format_idl_next(t))
			goto fail;
		if (n == 0 && format_idl_is(t, ")"))
			break;
		names = xreallocarray(names, n + 2, sizeof *names);
		names[n++] = xstrdup(t->tok);
		names[n] = NULL;
		if (!format_idl_next(t) || !format_idl_is(t, ":"))
			goto fail;
		if ((end = format_idl_skip_type(t)) == -1)
			goto fail;
		if (end == 1)
			break;
	}
	return names;
fail:
	format_free_list(names);
	return NULL;
}

/* Finds "type NAME (" in a description and reads the struct's fields. */
static char **
format_idl_type_fields(const char *desc, const char *name)
{
	struct format_idl t = { desc, "" };

	while (format_idl_next(&t)) {
		if (!format_idl_is(&t, "type"))
			continue;
		if (!format_idl_next(&t) || !format_idl_is(&t, name))
			continue;
		if (!format_idl_next(&t) || !format_idl_is(&t, "("))
			return NULL;
		return format_idl_fields(&t);
	}
	return NULL;
}

/*
 * Reads the type of an output member, just after its ":": returns the
 * field names when it is an array of structs, else NULL.
 */
static char **
format_idl_array_fields(struct format_idl *t, const char *desc)
{
	static const char *const builtin[] = {
		"bool", "int", "float", "string", "object", NULL
	};
	const char *const *b;

	if (!format_idl_next(t))
		return NULL;
	if (format_idl_is(t, "?") && !format_idl_next(t))
		return NULL;
	if (!format_idl_is(t, "[") || !format_idl_next(t) ||
	    !format_idl_is(t, "]") || !format_idl_next(t))
		return NULL;
	if (format_idl_is(t, "?") && !format_idl_next(t))
		return NULL;
	if (format_idl_is(t, "("))
		return format_idl_fields(t);
	for (b = builtin; *b != NULL; b++)
		if (format_idl_is(t, *b))
			return NULL;
	return format_idl_type_fields(desc, t->tok);
}

/*
 * Returns the column names of an empty table from the interface
 * description: the fields of the struct that member of method's reply is
 * an array of.  NULL when the description does not say.
 */
static char **
format_idl_columns(const char *method, const char *member)
{
	const struct cml_interface *ci;
	struct format_idl t;
	const char *name;
	char *iface;

	iface = cmd_method_interface(method);
	ci = cml_interface_find(iface);
	free(iface);
	if (ci == NULL || (name = strrchr(method, '.')) == NULL)
		return NULL;
	name++;
	t.p = ci->description;
	while (format_idl_next(&t)) {
		if (!format_idl_is(&t, "method"))
			continue;
		if (!format_idl_next(&t) || !format_idl_is(&t, name))
			continue;
		/* the input struct, then "->", then the output struct */
		if (!format_idl_next(&t) || !format_idl_is(&t, "(") ||
		    format_idl_skip_type(&t) != 1)
			return NULL;
		if (!format_idl_next(&t) || !format_idl_is(&t, "->") ||
		    !format_idl_next(&t) || !format_idl_is(&t, "("))
			return NULL;
		for (;;) {
			if (!format_idl_next(&t) || format_idl_is(&t, ")"))
				return NULL;
			if (format_idl_is(&t, member)) {
				if (!format_idl_next(&t) ||
				    !format_idl_is(&t, ":"))
					return NULL;
				return format_idl_array_fields(&t,
				    ci->description);
			}
			if (!format_idl_next(&t) || !format_idl_is(&t, ":") ||
			    format_idl_skip_type(&t) != 0)
				return NULL;
		}
	}
	return NULL;
}

/*
 * Returns the only member of params if it is an array that holds nothing
 * but objects, else NULL.
 */
static struct json_object *
format_table_rows(struct json_object *params, const char **member)
{
	struct json_object *rows = NULL;
	size_t i, n;

	if (json_object_object_length(params) != 1)
		return NULL;
	json_object_object_foreach(params, key, val) {
		*member = key;
		rows = val;
	}
	if (rows == NULL || !json_object_is_type(rows, json_type_array))
		return NULL;
	n = json_object_array_length(rows);
	for (i = 0; i < n; i++)
		if (!json_object_is_type(json_object_array_get_idx(rows, i),
		    json_type_object))
			return NULL;
	return rows;
}

/* Joins column names with "\n", to recognise the same table again. */
static char *
format_columns_key(char **cols)
{
	struct format_buf b = { NULL, 0, 0 };
	char **c;

	for (c = cols; *c != NULL; c++) {
		format_buf_str(&b, *c);
		format_buf_str(&b, "\n");
	}
	return format_buf_take(&b);
}

/* Returns 1 if a member by that name holds a number of bytes. */
static int
format_is_size(const char *key)
{
	size_t n = strlen(key);

	return strcmp(key, "size") == 0 ||
	    (n > 5 && strcmp(key + n - 5, "_size") == 0) ||
	    (n > 10 && strcmp(key + n - 10, "_allocated") == 0);
}

/* Returns bytes in binary units: "512 B", "1.5 MiB", "256 MiB". */
static char *
format_bytes(long long n)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB",
	    "PiB" };
	double v = (double)n;
	long long div = 1024;
	size_t u = 0;

	if (n < 1024)
		return xasprintf("%lld B", n);
	while (u + 1 < sizeof units / sizeof units[0] && n / div >= 1024) {
		div *= 1024;
		u++;
	}
	v = (double)n / (double)div;
	if (n % div == 0)
		return xasprintf("%lld %s", n / div, units[u]);
	return xasprintf(v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

/*
 * Returns a member as a person reads it where its name says more than its
 * type: sizes in binary units, a pid of 0 or less (no process) and a
 * uid below 0 (records of old) as "-";
 * NULL for the usual form.  --json keeps the numbers.
 */
static char *
format_member(const char *key, struct json_object *v)
{
	if (!json_object_is_type(v, json_type_int))
		return NULL;
	if ((strcmp(key, "pid") == 0 && json_object_get_int64(v) <= 0) ||
	    (strcmp(key, "uid") == 0 && json_object_get_int64(v) < 0))
		return xstrdup("-");
	if (format_is_size(key) && json_object_get_int64(v) >= 0)
		return format_bytes(json_object_get_int64(v));
	return NULL;
}

/* A fingerprint in a table shows this many hex digits, then "…". */
#define FORMAT_FINGERPRINT_SHORT 16

/*
 * Returns a table cell as a person reads it: as format_member says, a
 * long fingerprint shortened (show and --json give it whole; 16 hex
 * digits are plenty to tell anchors apart and to name one).  The one rule
 * that knows a method: an audit record that cmld wrote of its own accord
 * (types daemon and container) names cmld as its subject instead of a
 * uid; --json keeps the numbers.
 */
static char *
format_cell(const char *method, struct json_object *row, const char *col,
    struct json_object *v)
{
	struct json_object *type;
	const char *t;
	char *s;

	if ((s = format_member(col, v)) != NULL)
		return s;
	if (strcmp(col, "fingerprint") == 0 &&
	    json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) > FORMAT_FINGERPRINT_SHORT + 1)
		return xasprintf("%.*s\u2026", FORMAT_FINGERPRINT_SHORT,
		    json_object_get_string(v));

	if (method != NULL && strcmp(method, "org.cml.Audit.List") == 0 &&
	    strcmp(col, "uid") == 0 &&
	    json_object_object_get_ex(row, "type", &type) &&
	    json_object_is_type(type, json_type_string)) {
		t = json_object_get_string(type);
		if (strcmp(t, "daemon") == 0 || strcmp(t, "container") == 0)
			return xstrdup("cmld");
		if (strcmp(t, "tpm2d") == 0)
			return xstrdup("tpm2d");
	}
	return format_value(v);
}

/* Prints rows under a header of cols, every column as wide as its cells. */
static void
format_table(FILE *out, struct format_state *fs, const char *method,
    char **cols, struct json_object *rows)
{
	struct json_object *row, *v;
	size_t ncols, nrows, i, j, *width;
	char **cell, *key;
	int header;

	for (ncols = 0; cols[ncols] != NULL; ncols++)
		;
	nrows = json_object_array_length(rows);
	width = xcalloc(ncols, sizeof *width);
	cell = xcalloc((nrows + 1) * ncols, sizeof *cell);

	for (j = 0; j < ncols; j++)
		cell[j] = format_key(cols[j], 1);
	for (i = 0; i < nrows; i++) {
		row = json_object_array_get_idx(rows, i);
		for (j = 0; j < ncols; j++) {
			char *s;

			if (json_object_object_get_ex(row, cols[j], &v))
				s = format_cell(method, row, cols[j], v);
			else
				s = xstrdup("-");
			cell[(i + 1) * ncols + j] = format_clean(s, 0);
			free(s);
		}
	}
	for (i = 0; i < (nrows + 1) * ncols; i++) {
		size_t w = format_width(cell[i]);

		if (w > width[i % ncols])
			width[i % ncols] = w;
	}

	/*
	 * A stream of rows with the same columns shows its header once, and
	 * its columns no narrower than before.
	 */
	key = format_columns_key(cols);
	header = fs->columns == NULL || strcmp(fs->columns, key) != 0;
	if (!header && fs->ncolumns == ncols) {
		for (j = 0; j < ncols; j++)
			if (fs->widths[j] > width[j])
				width[j] = fs->widths[j];
	}
	free(fs->columns);
	fs->columns = key;
	free(fs->widths);
	fs->widths = xcalloc(ncols, sizeof *fs->widths);
	memcpy(fs->widths, width, ncols * sizeof *width);
	fs->ncolumns = ncols;

	for (i = header ? 0 : 1; i < nrows + 1; i++) {
		for (j = 0; j < ncols; j++) {
			const char *s = cell[i * ncols + j];

			fputs(s, out);
			if (j + 1 < ncols)
				format_pad(out, width[j] - format_width(s) +
				    FORMAT_COLUMN_GAP);
		}
		fputc('\n', out);
	}

	for (i = 0; i < (nrows + 1) * ncols; i++)
		free(cell[i]);
	free(cell);
	free(width);
}

/*
 * Returns 1 for an object that holds objects or arrays (a container's
 * config): shown as indented JSON, which "k=v" pairs would garble.
 */
static int
format_nested(struct json_object *v)
{
	if (!json_object_is_type(v, json_type_object))
		return 0;
	json_object_object_foreach(v, k, m) {
		(void)k;
		if (json_object_is_type(m, json_type_object) ||
		    json_object_is_type(m, json_type_array))
			return 1;
	}
	return 0;
}

/*
 * Prints one member per line, values aligned one column after the longest
 * key; lines after the first of a multi-line value start at that column.
 */
static void
format_pairs_lines(FILE *out, struct json_object *params)
{
	size_t keywidth = 0, w;
	char *key, *value, *line, *next;

	json_object_object_foreach(params, k, v) {
		key = format_key(k, 0);
		if ((w = format_width(key)) > keywidth)
			keywidth = w;
		free(key);
		(void)v;
	}
	json_object_object_foreach(params, k2, v2) {
		key = format_key(k2, 0);
		if ((value = format_member(k2, v2)) == NULL)
			value = format_nested(v2) ? xstrdup(
			    json_object_to_json_string_ext(v2,
			    FORMAT_JSON_FLAGS | JSON_C_TO_STRING_SPACED)) :
			    format_value(v2);

		/* A final newline ends the text; it starts no empty line. */
		w = strlen(value);
		if (w > 0 && value[w - 1] == '\n')
			value[w - 1] = '\0';
		fprintf(out, "%s:", key);
		for (line = value; line != NULL; line = next) {
			char *clean;

			if ((next = strchr(line, '\n')) != NULL)
				*next++ = '\0';
			clean = format_clean(line, 1);
			if (line == value && *value == '\0' && next == NULL)
				fprintf(out, "%*s-", (int)(keywidth + 1 -
				    format_width(key)), "");
			else if (line == value && *clean != '\0')
				fprintf(out, "%*s%s", (int)(keywidth + 1 -
				    format_width(key)), "", clean);
			else if (*clean != '\0')
				fprintf(out, "%*s%s", (int)(keywidth + 2), "",
				    clean);
			fputc('\n', out);
			free(clean);
		}
		free(value);
		free(key);
	}
}

/* Returns member key of o if it is a non-empty string, else NULL. */
static const char *
format_str_member(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) == 0)
		return NULL;
	return json_object_get_string(v);
}

/* Adds member key to o as "value" or "value (note)" (note may be NULL). */
static void
format_add_noted(struct json_object *o, const char *key, const char *value,
    const char *note)
{
	char *s;

	if (note != NULL)
		s = xasprintf("%s (%s)", value, note);
	else
		s = xstrdup(value);
	json_object_object_add(o, key, json_object_new_string(s));
	free(s);
}

/*
 * Adds scd's state (object "scd") to a device status as lines of their
 * own: the platform secret, PC/SC (with why it is down) and the tokens
 * scd keeps; or why it is not known (scd_error).
 */
static void
format_device_scd(struct json_object *o, struct json_object *params)
{
	struct json_object *scd, *v;
	const char *st, *err;

	if (json_object_object_get_ex(params, "scd", &scd) &&
	    json_object_is_type(scd, json_type_object)) {
		st = format_str_member(scd, "platform_secret");
		format_add_noted(o, "platform_secret", st != NULL ? st : "-",
		    NULL);
		st = format_str_member(scd, "pcsc");
		format_add_noted(o, "pcsc", st != NULL ? st : "-",
		    format_str_member(scd, "reason"));
		if (json_object_object_get_ex(scd, "tokens", &v))
			json_object_object_add(o, "tokens", json_object_get(v));
	} else if ((err = format_str_member(params, "scd_error")) != NULL)
		format_add_noted(o, "scd", "unknown", err);
}

/*
 * Prints device status as a person reads it: the TPM's state that tpm2d
 * reported (object "tpm") as lines of their own, after the stages:
 * tpm (what tpm2d talks to), system key (with the reason it is not
 * unsealed, or the PCRs it is sealed to), identity, state volume; or why
 * it is not known (tpm_error); then scd's.
 */
static void
format_device_status(FILE *out, struct json_object *params)
{
	struct json_object *o = json_object_new_object(), *tpm = NULL, *v;
	const char *st, *why, *err;
	char *pcrs, *note;

	json_object_object_foreach(params, key, val) {
		if (strcmp(key, "tpm") == 0 || strcmp(key, "tpm_error") == 0 ||
		    strcmp(key, "scd") == 0 || strcmp(key, "scd_error") == 0)
			continue;
		json_object_object_add(o, key, json_object_get(val));
	}
	if (json_object_object_get_ex(params, "tpm", &tpm) &&
	    json_object_is_type(tpm, json_type_object)) {
		json_object_object_add(o, "tpm", json_object_new_string(
		    format_str_member(tpm, "tcti") != NULL ?
		    format_str_member(tpm, "tcti") : "-"));
		st = format_str_member(tpm, "system_key");
		why = format_str_member(tpm, "reason");
		if (st != NULL && why != NULL) {
			note = xasprintf("%s: %s", st, why);
			json_object_object_add(o, "system_key",
			    json_object_new_string(note));
			free(note);
		} else if (st != NULL && strcmp(st, "unsealed") == 0 &&
		    json_object_object_get_ex(tpm, "seal_pcrs", &v) &&
		    json_object_is_type(v, json_type_array)) {
			pcrs = format_value(v);
			note = xasprintf("sealed to PCRs %s", pcrs);
			format_add_noted(o, "system_key", st, note);
			free(note);
			free(pcrs);
		} else
			format_add_noted(o, "system_key", st != NULL ? st : "-",
			    NULL);
		st = format_str_member(tpm, "identity");
		if (st != NULL && strcmp(st, "present") == 0 &&
		    json_object_object_get_ex(tpm, "identity_handle", &v) &&
		    json_object_is_type(v, json_type_int)) {
			note = xasprintf("0x%llx",
			    (unsigned long long)json_object_get_int64(v));
			format_add_noted(o, "identity", st, note);
			free(note);
		} else
			format_add_noted(o, "identity", st != NULL ? st : "-",
			    NULL);
		st = format_str_member(tpm, "state_volume");
		format_add_noted(o, "state_volume", st != NULL ? st : "-",
		    format_str_member(tpm, "state_volume_reason"));
	} else if ((err = format_str_member(params, "tpm_error")) != NULL)
		format_add_noted(o, "tpm", "unknown", err);
	format_device_scd(o, params);
	format_pairs_lines(out, o);
	json_object_put(o);
}

/*
 * Adds a token's status (org.cml.Token's TokenStatus) to o as a person
 * reads it: the tries left of their maximum, yes or no.
 */
static void
format_token_fill(struct json_object *o, struct json_object *st)
{
	static const char *const tries[][3] = {
		{ "pin_tries", "pin_tries_left", "pin_tries_max" },
		{ "puk_tries", "puk_tries_left", "puk_tries_max" },
	};
	struct json_object *v, *m;
	size_t i;
	char *s;

	json_object_object_foreach(st, key, val) {
		if (strstr(key, "_tries_") != NULL)
			continue;
		if (json_object_is_type(val, json_type_boolean))
			json_object_object_add(o, key, json_object_new_string(
			    json_object_get_boolean(val) ? "yes" : "no"));
		else
			json_object_object_add(o, key, json_object_get(val));
	}
	for (i = 0; i < sizeof tries / sizeof tries[0]; i++) {
		if (!json_object_object_get_ex(st, tries[i][1], &v) ||
		    !json_object_object_get_ex(st, tries[i][2], &m))
			continue;
		s = xasprintf("%lld of %lld",
		    (long long)json_object_get_int64(v),
		    (long long)json_object_get_int64(m));
		json_object_object_add(o, tries[i][0],
		    json_object_new_string(s));
		free(s);
	}
}

/*
 * Prints a token's status, and after a token init the PUK scd made, once,
 * and that the token there was is destroyed.
 */
static void
format_token(FILE *out, struct json_object *params)
{
	struct json_object *o = json_object_new_object(), *st, *v;

	if (json_object_object_get_ex(params, "status", &st) &&
	    json_object_is_type(st, json_type_object))
		format_token_fill(o, st);
	format_pairs_lines(out, o);
	json_object_put(o);
	if (json_object_object_get_ex(params, "destroyed", &v) &&
	    json_object_get_boolean(v))
		fprintf(out, "The token there was is destroyed, and what it "
		    "protected with it.\n");
	if (format_str_member(params, "puk") != NULL) {
		char *clean = format_clean(format_str_member(params, "puk"), 0);

		fprintf(out, "PUK: %s (write it down: it is shown only now)\n",
		    clean);
		explicit_bzero(clean, strlen(clean));
		free(clean);
	}
}

void
format_verification_failed(FILE *err, const char *words, const char *name,
    struct json_object *params)
{
	const char *state = format_str_member(params, "state");
	struct json_object *v;
	char *clean = format_clean(name != NULL ? name : "", 0);

	fprintf(err, "cmlsh: %s %s: verification failed\n", words, clean);
	if (json_object_object_get_ex(params, "tries_left", &v) &&
	    json_object_is_type(v, json_type_int))
		fprintf(err, "tries left: %lld\n",
		    (long long)json_object_get_int64(v));
	if (state != NULL && strcmp(state, "blocked") == 0)
		fprintf(err, "token blocked for good: only token init again "
		    "(destroys its keys)\n");
	else if (state != NULL && strcmp(state, "pin-blocked") == 0)
		fprintf(err, "PIN blocked: unblock it with the PUK (token "
		    "unblock %s)\n", clean);
	free(clean);
}

static void
format_json(FILE *out, struct json_object *o)
{
	fprintf(out, "%s\n", json_object_to_json_string_ext(o,
	    FORMAT_JSON_FLAGS));
}

/* Returns member key of o when it is a string, else NULL. */
static const char *
format_get_string(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Returns integer member key of o, or -1. */
static long long
format_get_int(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return -1;
	return json_object_get_int64(v);
}

/* Prints a string of a reply, cleaned of terminal escapes; "-" if none. */
static void
format_print_clean(FILE *out, const char *s)
{
	char *clean = format_clean(s != NULL ? s : "-", 0);

	fputs(clean, out);
	free(clean);
}

/* device csr: the PEM request alone, so that "> dev.csr" keeps it. */
static void
format_device_csr(FILE *out, struct json_object *params)
{
	const char *csr = format_get_string(params, "csr");
	char *copy, *line, *next;

	if (csr == NULL)
		return;
	copy = xstrdup(csr);
	for (line = copy; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		format_print_clean(out, line);
		fputc('\n', out);
	}
	free(copy);
}

/*
 * device attest: what the evidence holds (the PCRs quoted, the log's
 * entries, the certificate's subject), not its base64.
 */
static void
format_device_attest(FILE *out, struct json_object *params)
{
	struct json_object *a, *e;
	size_t i, n;

	fputs("uuid:         ", out);
	format_print_clean(out, format_get_string(params, "uuid"));
	fputs("\nnonce:        ", out);
	format_print_clean(out, format_get_string(params, "nonce"));
	fprintf(out, "\nreset count:  %lld\n",
	    format_get_int(params, "reset_count"));
	fprintf(out, "measure pcr:  %lld\n",
	    format_get_int(params, "measure_pcr"));
	if (json_object_object_get_ex(params, "pcrs", &a) &&
	    json_object_is_type(a, json_type_array)) {
		n = json_object_array_length(a);
		for (i = 0; i < n; i++) {
			e = json_object_array_get_idx(a, i);
			fprintf(out, "pcr %-9lld ", format_get_int(e, "index"));
			format_print_clean(out, format_get_string(e, "value"));
			fputc('\n', out);
		}
	}
	n = json_object_object_get_ex(params, "log", &a) &&
	    json_object_is_type(a, json_type_array) ?
	    json_object_array_length(a) : 0;
	fprintf(out, "log:          %zu %s\n", n, n == 1 ? "entry" :
	    "entries");
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(a, i);
		fprintf(out, "  %lld ", format_get_int(e, "seq"));
		format_print_clean(out, format_get_string(e, "container"));
		fputc(' ', out);
		format_print_clean(out, format_get_string(e, "guestos"));
		fputc(' ', out);
		format_print_clean(out, format_get_string(e, "version"));
		fputs(" digest ", out);
		format_print_clean(out, format_get_string(e, "digest"));
		fputc('\n', out);
	}
	fputs("certificate:  ", out);
	format_print_clean(out, format_get_string(params,
	    "certificate_subject") != NULL ? format_get_string(params,
	    "certificate_subject") : "none");
	fputc('\n', out);
}

/*
 * An audit export: each line as one compact JSON object per line (the
 * export format of cml-audit(5)), for a file that cml-audit-verify reads.
 */
static void
format_audit_export(FILE *out, struct json_object *params)
{
	struct json_object *lines, *line;
	size_t i, n;

	if (!json_object_object_get_ex(params, "lines", &lines) ||
	    !json_object_is_type(lines, json_type_array))
		return;
	n = json_object_array_length(lines);
	for (i = 0; i < n; i++) {
		line = json_object_array_get_idx(lines, i);
		fprintf(out, "%s\n", json_object_to_json_string_ext(line,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	}
}

/*
 * A part of audit follow: a notice as one line that stands out; records
 * as a table (the generic form).  Returns 1 when nothing else is to be
 * printed of params.
 */
static int
format_audit_follow(FILE *out, struct json_object *params)
{
	struct json_object *n, *r;
	const char *level, *msg;
	char *clean;

	if (json_object_object_get_ex(params, "notice", &n) &&
	    json_object_is_type(n, json_type_object)) {
		level = format_get_string(n, "level");
		msg = format_get_string(n, "message");
		clean = format_clean(msg != NULL ? msg : "", 0);
		fprintf(out, "*** audit %s (record #%lld): %s\n",
		    level != NULL ? level : "notice",
		    json_object_object_get_ex(n, "seq", &r) ?
		    (long long)json_object_get_int64(r) : 0LL, clean);
		free(clean);
		return 1;
	}
	return json_object_object_get_ex(params, "records", &r) &&
	    json_object_is_type(r, json_type_array) &&
	    json_object_array_length(r) == 0;
}

/* Returns an array member of o, or NULL. */
static struct json_object *
format_get_array(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_array))
		return NULL;
	return v;
}

/*
 * Adds one end of a container link to o as "NAME ADDRESS, ADDRESS" (the
 * members name and addrs of end).
 */
static void
format_net_end(struct json_object *o, const char *key, struct json_object *end,
    const char *name, const char *addrs)
{
	struct json_object *a = format_get_array(end, addrs);
	const char *n = format_get_string(end, name);
	char *list = NULL, *s;

	if (a != NULL && json_object_array_length(a) > 0)
		list = format_value(a);
	s = xasprintf("%s%s%s", n != NULL ? n : "-", list != NULL ? " " : "",
	    list != NULL ? list : "");
	json_object_object_add(o, key, json_object_new_string(s));
	free(s);
	free(list);
}

/*
 * Prints a rule of a chain on one line as `nft -a list` does: its
 * expressions in nft's words, its comment (what the rule is for) and its
 * handle, "EXPR comment "COMMENT" # handle N".
 */
static void
format_net_rule(FILE *out, struct json_object *rule)
{
	const char *expr = format_get_string(rule, "expr");
	const char *comment = format_get_string(rule, "comment");

	fputs("\t\t", out);
	if (expr != NULL && *expr != '\0') {
		format_print_clean(out, expr);
		fputc(' ', out);
	}
	if (comment != NULL && *comment != '\0') {
		fputs("comment \"", out);
		format_print_clean(out, comment);
		fputs("\" ", out);
	}
	fprintf(out, "# handle %lld\n", format_get_int(rule, "handle"));
}

/* Prints a chain's head as nft lists it: name, hook, priority, policy. */
static void
format_net_chain(FILE *out, struct json_object *chain)
{
	const char *hook = format_get_string(chain, "hook");
	const char *policy = format_get_string(chain, "policy");

	fputs("\tchain ", out);
	format_print_clean(out, format_get_string(chain, "name"));
	fputs(" {\n", out);
	if (hook != NULL) {
		fputs("\t\thook ", out);
		format_print_clean(out, hook);
		fprintf(
		    out, " priority %lld;", format_get_int(chain, "priority"));
		if (policy != NULL) {
			fputs(" policy ", out);
			format_print_clean(out, policy);
			fputc(';', out);
		}
		fputc('\n', out);
	}
}

/*
 * Adds the interfaces of params (member "interfaces") to o as "NAME (NOTE),
 * ...": NOTE is each one's member note, or for a boolean one its name or
 * "not" and its name ("held", "not held").
 */
static void
format_net_ifaces(
    struct json_object *o, struct json_object *params, const char *note)
{
	struct json_object *a, *e, *v;
	const char *name, *what;
	char *t = NULL, *tmp, *how;
	size_t i, n;

	n = (a = format_get_array(params, "interfaces")) != NULL
	    ? json_object_array_length(a)
	    : 0;
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(a, i);
		name = format_get_string(e, "name");
		if (json_object_object_get_ex(e, note, &v) &&
		    json_object_is_type(v, json_type_boolean))
			how = xasprintf("%s%s",
			    json_object_get_boolean(v) ? "" : "not ", note);
		else
			how = xstrdup(
			    (what = format_get_string(e, note)) != NULL ? what
									: "-");
		tmp = xasprintf("%s%s%s (%s)", t != NULL ? t : "",
		    t != NULL ? ", " : "", name != NULL ? name : "-", how);
		free(how);
		free(t);
		t = tmp;
	}
	json_object_object_add(
	    o, "interfaces", json_object_new_string(t != NULL ? t : "-"));
	free(t);
}

/*
 * container net show: mode, the link's ends and addresses, DNS servers,
 * assigned interfaces, then the rules in force, by chain as net rules
 * shows them.
 */
static void
format_net_show(FILE *out, struct json_object *params)
{
	static const char *const head[] = { "name", "mode", "running" };
	struct json_object *o = json_object_new_object(), *v, *e, *rules;
	const char *chain, *last = NULL;
	size_t i, n;
	char *t;

	for (i = 0; i < sizeof head / sizeof head[0]; i++)
		if (json_object_object_get_ex(params, head[i], &v))
			json_object_object_add(o, head[i], json_object_get(v));
	if (json_object_object_get_ex(params, "link", &v) &&
	    json_object_is_type(v, json_type_object)) {
		format_net_end(o, "c0_end", v, "c0_end", "c0_addresses");
		format_net_end(
		    o, "container_end", v, "container_end", "addresses");
	} else
		json_object_object_add(
		    o, "link", json_object_new_string("none (only lo)"));
	if ((v = format_get_array(params, "dns")) != NULL)
		json_object_object_add(o, "dns", json_object_get(v));
	format_net_ifaces(o, params, "held");
	n = (rules = format_get_array(params, "rules")) != NULL
	    ? json_object_array_length(rules)
	    : 0;
	t = n > 0 ? xasprintf("%zu in force", n) : xstrdup("none in force");
	json_object_object_add(o, "rules", json_object_new_string(t));
	free(t);
	format_pairs_lines(out, o);
	json_object_put(o);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(rules, i);
		chain = format_get_string(e, "chain");
		if (last == NULL || chain == NULL || strcmp(last, chain) != 0) {
			if (last != NULL)
				fputs("\t}\n", out);
			fputs("\tchain ", out);
			format_print_clean(out, chain);
			fputs(" {\n", out);
			last = chain != NULL ? chain : "-";
		}
		format_net_rule(out, e);
	}
	if (last != NULL)
		fputs("\t}\n", out);
}

/* The columns of net status's segments, in order. */
static char *format_net_segment_cols[] = { "container", "c0_end",
	"c0_addresses", "container_end", "addresses", "rules", NULL };

/*
 * Adds c0's guard to o as "c0_guard": "up0, up1 (ports tcp/22)", or an
 * empty list (shown "-") when c0 is not guarded.
 */
static void
format_net_guard(struct json_object *o, struct json_object *g)
{
	struct json_object *up = format_get_array(g, "uplinks");
	struct json_object *ports = format_get_array(g, "ports");
	char *ul, *pl, *t;

	if (up == NULL || json_object_array_length(up) == 0) {
		json_object_object_add(o, "c0_guard", json_object_new_array());
		return;
	}
	ul = format_value(up);
	pl = ports != NULL && json_object_array_length(ports) > 0 ?
	    format_value(ports) : NULL;
	t = xasprintf("%s (ports: %s)", ul, pl != NULL ? pl : "none");
	json_object_object_add(o, "c0_guard", json_object_new_string(t));
	free(t);
	free(ul);
	free(pl);
}

/*
 * net status: the base ruleset, the pool and its use, the masquerade
 * uplinks, c0's guard and the assigned interfaces, then one line per
 * segment.
 */
static void
format_net_status(FILE *out, struct json_object *params)
{
	struct json_object *o = json_object_new_object(), *v, *e, *segs;
	struct format_state fs;
	const char *s, *err, *v4, *v6;
	char *t;
	size_t n;

	if (json_object_object_get_ex(params, "base_ruleset", &v) &&
	    json_object_is_type(v, json_type_object)) {
		s = format_get_string(v, "table");
		err = format_get_string(v, "error");
		t = xasprintf("%s (table %s)%s%s",
		    json_object_object_get_ex(v, "loaded", &e) &&
			    json_object_get_boolean(e)
			? "loaded"
			: "not loaded",
		    s != NULL ? s : "-", err != NULL ? ": " : "",
		    err != NULL ? err : "");
		json_object_object_add(
		    o, "base_ruleset", json_object_new_string(t));
		free(t);
	}
	if (json_object_object_get_ex(params, "pool", &v) &&
	    json_object_is_type(v, json_type_object)) {
		v4 = format_get_string(v, "v4");
		v6 = format_get_string(v, "v6");
		t = xasprintf("%s, %s: %lld of %lld links in use",
		    v4 != NULL ? v4 : "no IPv4", v6 != NULL ? v6 : "no IPv6",
		    format_get_int(v, "used"), format_get_int(v, "size"));
		json_object_object_add(o, "pool", json_object_new_string(t));
		free(t);
	}
	if ((v = format_get_array(params, "masquerade")) != NULL)
		json_object_object_add(o, "masquerade", json_object_get(v));
	if (json_object_object_get_ex(params, "c0_guard", &v) &&
	    json_object_is_type(v, json_type_object))
		format_net_guard(o, v);
	format_net_ifaces(o, params, "container");
	n = (segs = format_get_array(params, "segments")) != NULL
	    ? json_object_array_length(segs)
	    : 0;
	json_object_object_add(
	    o, "segments", json_object_new_int64((int64_t)n));
	format_pairs_lines(out, o);
	json_object_put(o);
	if (n == 0)
		return;
	fputc('\n', out);
	format_state_init(&fs);
	format_table(out, &fs, NULL, format_net_segment_cols, segs);
	format_state_free(&fs);
}

/*
 * net rules: cmld's table laid out as `nft -a list` lists it, chain by
 * chain, one line per rule.
 */
static void
format_net_rules(FILE *out, struct json_object *params)
{
	struct json_object *chains, *c, *rules;
	size_t i, j, n, m;

	fputs("table ", out);
	format_print_clean(out, format_get_string(params, "table"));
	fputs(" {\n", out);
	n = (chains = format_get_array(params, "chains")) != NULL
	    ? json_object_array_length(chains)
	    : 0;
	for (i = 0; i < n; i++) {
		c = json_object_array_get_idx(chains, i);
		format_net_chain(out, c);
		m = (rules = format_get_array(c, "rules")) != NULL
		    ? json_object_array_length(rules)
		    : 0;
		for (j = 0; j < m; j++)
			format_net_rule(
			    out, json_object_array_get_idx(rules, j));
		fputs("\t}\n", out);
	}
	fputs("}\n", out);
}

/* --- provision: the steps of the factory provisioning ------------------- */

/*
 * Prints a step (org.cml.Provision's Step) on one line: "step: NAME
 * STATE at TIME: what it did, or why it failed".
 */
static void
format_provision_step(FILE *out, struct json_object *params)
{
	struct json_object *st;
	const char *time, *what;

	if (!json_object_object_get_ex(params, "step", &st) ||
	    !json_object_is_type(st, json_type_object))
		return;
	fputs("step: ", out);
	format_print_clean(out, format_get_string(st, "name"));
	fputc(' ', out);
	format_print_clean(out, format_get_string(st, "state"));
	if ((time = format_get_string(st, "time")) != NULL) {
		fputs(" at ", out);
		format_print_clean(out, time);
	}
	if ((what = format_get_string(st, "error")) != NULL ||
	    (what = format_get_string(st, "summary")) != NULL) {
		fputs(": ", out);
		format_print_clean(out, what);
	}
	fputc('\n', out);
}

/* Prints a table of rows (an array of objects) with the columns named. */
static void
format_provision_table(FILE *out, struct json_object *rows,
    const char *const *names)
{
	struct format_state fs;
	char **cols;
	size_t n, i;

	for (n = 0; names[n] != NULL; n++)
		;
	cols = xcalloc(n + 1, sizeof *cols);
	for (i = 0; i < n; i++)
		cols[i] = xstrdup(names[i]);
	format_state_init(&fs);
	format_table(out, &fs, NULL, cols, rows);
	format_state_free(&fs);
	format_free_list(cols);
}

/*
 * provision status: the state and the UUID, a table of the seven steps
 * (when each was done or failed, what it did or why not), the next one.
 */
static void
format_provision_status(FILE *out, struct json_object *params)
{
	static const char *const cols[] = { "step", "state", "time", "detail",
	    NULL };
	struct json_object *steps, *rows, *st, *row;
	const char *detail, *next;
	size_t i, n;
	char *num;

	fputs("state: ", out);
	format_print_clean(out, format_get_string(params, "state"));
	fputs("\nuuid:  ", out);
	format_print_clean(out, format_get_string(params, "uuid"));
	fputs("\n\n", out);
	rows = json_object_new_array();
	steps = format_get_array(params, "steps");
	n = steps != NULL ? json_object_array_length(steps) : 0;
	for (i = 0; i < n; i++) {
		st = json_object_array_get_idx(steps, i);
		row = json_object_new_object();
		num = xasprintf("%zu %s", i + 1,
		    format_get_string(st, "name") != NULL ?
		    format_get_string(st, "name") : "-");
		json_object_object_add(row, "step",
		    json_object_new_string(num));
		free(num);
		json_object_object_add(row, "state", json_object_new_string(
		    format_get_string(st, "state") != NULL ?
		    format_get_string(st, "state") : "-"));
		json_object_object_add(row, "time", json_object_new_string(
		    format_get_string(st, "time") != NULL ?
		    format_get_string(st, "time") : "-"));
		if ((detail = format_get_string(st, "error")) == NULL &&
		    (detail = format_get_string(st, "summary")) == NULL)
			detail = format_get_string(st, "title");
		json_object_object_add(row, "detail",
		    json_object_new_string(detail != NULL ? detail : "-"));
		json_object_array_add(rows, row);
	}
	format_provision_table(out, rows, cols);
	json_object_put(rows);
	if ((next = format_get_string(params, "next")) != NULL) {
		fputs("\nnext: ", out);
		format_print_clean(out, next);
		fputc('\n', out);
	}
}

/*
 * Prints member key of params, an array of objects with a name, a
 * boolean and a detail, as a table: the boolean as yes or NO.
 */
static void
format_verdicts(FILE *out, struct json_object *params, const char *key,
    const char *name, const char *flag)
{
	const char *const cols[] = { name, flag, "detail", NULL };
	struct json_object *list, *rows, *e, *row;
	size_t i, n;

	rows = json_object_new_array();
	list = format_get_array(params, key);
	n = list != NULL ? json_object_array_length(list) : 0;
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(list, i);
		row = json_object_new_object();
		json_object_object_add(row, name, json_object_new_string(
		    format_get_string(e, name) != NULL ?
		    format_get_string(e, name) : "-"));
		json_object_object_add(row, flag, json_object_new_string(
		    json_object_get_boolean(json_object_object_get(e, flag)) ?
		    "yes" : "NO"));
		json_object_object_add(row, "detail", json_object_new_string(
		    format_get_string(e, "detail") != NULL ?
		    format_get_string(e, "detail") : "-"));
		json_object_array_add(rows, row);
	}
	if (n > 0)
		format_provision_table(out, rows, cols);
	json_object_put(rows);
}

/* provision check: each check, passed or not, then the step. */
static void
format_provision_check(FILE *out, struct json_object *params)
{
	format_verdicts(out, params, "checks", "name", "ok");
	format_provision_step(out, params);
}

/* Prints the members of params but the step as lines, then the step. */
static void
format_provision_pairs(FILE *out, struct json_object *params)
{
	struct json_object *o = json_object_new_object();

	json_object_object_foreach(params, key, val) {
		if (strcmp(key, "step") != 0 && val != NULL)
			json_object_object_add(o, key, json_object_get(val));
	}
	format_pairs_lines(out, o);
	json_object_put(o);
	format_provision_step(out, params);
}

/*
 * provision anchor: the anchor for the operator to check, and how to
 * install it when it is not (yet).
 */
static void
format_provision_anchor(FILE *out, struct json_object *params)
{
	static const char *const keys[] = { "subject", "key", "not_after",
	    "fingerprint", "kind" };
	struct json_object *o = json_object_new_object(), *v;
	const char *fp = format_get_string(params, "fingerprint");
	size_t i;

	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (json_object_object_get_ex(params, keys[i], &v))
			json_object_object_add(o, keys[i], json_object_get(v));
	format_pairs_lines(out, o);
	json_object_put(o);
	if (json_object_get_boolean(json_object_object_get(params,
	    "installed")))
		fputs("installed\n", out);
	else {
		fputs("not installed: check the fingerprint, then confirm "
		    "with --confirm ", out);
		format_print_clean(out, fp);
		fputc('\n', out);
	}
	format_provision_step(out, params);
}

/* provision settings: the settings set, as a table, then the step. */
static void
format_provision_settings(FILE *out, struct json_object *params)
{
	static const char *const cols[] = { "key", "value", NULL };
	struct json_object *rows = format_get_array(params, "settings");

	if (rows != NULL)
		format_provision_table(out, rows, cols);
	format_provision_step(out, params);
}

/* provision token: c0's token as token init shows it, the PUK once. */
static void
format_provision_token(FILE *out, struct json_object *params)
{
	format_token(out, params);
	format_provision_step(out, params);
}

/* provision lock: the state, in words, and the step. */
static void
format_provision_lock(FILE *out, struct json_object *params)
{
	fputs("The device is ", out);
	format_print_clean(out, format_get_string(params, "state"));
	fputs(": container configs must be signed, factory-only commands "
	    "are refused, supplier anchors are fixed. Only 'device wipe' "
	    "returns it to factory.\n", out);
	format_provision_step(out, params);
}

/*
 * device wipe: the state it left, then what it destroyed with its check
 * afterwards, one line each.
 */
static void
format_device_wipe(FILE *out, struct json_object *params)
{
	fputs("state: ", out);
	format_print_clean(out, format_get_string(params, "state"));
	fputc('\n', out);
	format_verdicts(out, params, "wiped", "what", "verified");
}

/* The replies with a human form of their own, by method. */
static const struct {
	const char *method;
	void (*print)(FILE *, struct json_object *);
} format_special[] = {
	{ "org.cml.Device.Status", format_device_status },
	{ "org.cml.Device.CSR", format_device_csr },
	{ "org.cml.Device.Attest", format_device_attest },
	{ "org.cml.Device.Wipe", format_device_wipe },
	{ "org.cml.Provision.Status", format_provision_status },
	{ "org.cml.Provision.Check", format_provision_check },
	{ "org.cml.Provision.Identity", format_device_csr },
	{ "org.cml.Provision.Certificate", format_provision_pairs },
	{ "org.cml.Provision.Anchor", format_provision_anchor },
	{ "org.cml.Provision.Token", format_provision_token },
	{ "org.cml.Provision.Settings", format_provision_settings },
	{ "org.cml.Provision.Lock", format_provision_lock },
	{ "org.cml.Token.Init", format_token },
	{ "org.cml.Token.Status", format_token },
	{ "org.cml.Token.Verify", format_token },
	{ "org.cml.Token.ChangePIN", format_token },
	{ "org.cml.Token.Unblock", format_token },
	{ "org.cml.Audit.Export", format_audit_export },
	{ "org.cml.Container.NetShow", format_net_show },
	{ "org.cml.Network.Status", format_net_status },
	{ "org.cml.Network.Rules", format_net_rules },
};

void
format_reply(FILE *out, struct format_state *fs, const char *method,
    struct json_object *params, int json)
{
	struct json_object *rows;
	const char *member = NULL;
	char **cols = NULL;
	size_t i;

	if (json) {
		format_json(out, params);
		goto out;
	}
	if (method != NULL && strcmp(method, "org.cml.Audit.Follow") == 0 &&
	    format_audit_follow(out, params))
		goto out;
	for (i = 0; i < sizeof format_special / sizeof format_special[0]; i++) {
		if (method != NULL &&
		    strcmp(method, format_special[i].method) == 0) {
			format_special[i].print(out, params);
			goto out;
		}
	}
	if ((rows = format_table_rows(params, &member)) == NULL) {
		format_pairs_lines(out, params);
		goto out;
	}
	if (json_object_array_length(rows) > 0) {
		/* the columns are the first row's keys, in order */
		cols = xcalloc(json_object_object_length(
		    json_object_array_get_idx(rows, 0)) + 1, sizeof *cols);
		i = 0;
		json_object_object_foreach(json_object_array_get_idx(rows, 0),
		    key, val) {
			cols[i++] = xstrdup(key);
			(void)val;
		}
	} else if (fs->columns != NULL) {
		/* the end of a streamed table: its header is out already */
		goto out;
	} else
		cols = format_idl_columns(method, member);
	if (cols != NULL && cols[0] != NULL)
		format_table(out, fs, method, cols, rows);
	else
		format_pairs_lines(out, params);
out:
	format_free_list(cols);
}

void
format_error(FILE *out, FILE *err, const char *error,
    struct json_object *params, int json)
{
	struct json_object *o, *m;
	char *clean, *pairs;

	if (json) {
		o = json_object_new_object();
		json_object_object_add(o, "error",
		    json_object_new_string(error));
		json_object_object_add(o, "parameters",
		    json_object_get(params));
		format_json(out, o);
		json_object_put(o);
		return;
	}
	if (json_object_object_get_ex(params, "message", &m) &&
	    json_object_is_type(m, json_type_string) &&
	    json_object_get_string_len(m) > 0) {
		clean = format_clean(json_object_get_string(m), 0);
		fprintf(err, "cmlsh: %s\n", clean);
	} else {
		/* no message: the error's name and whatever it carries */
		pairs = format_pairs(params);
		clean = format_clean(pairs, 0);
		free(pairs);
		if (json_object_object_length(params) > 0)
			fprintf(err, "cmlsh: %s: %s\n", error, clean);
		else
			fprintf(err, "cmlsh: %s\n", error);
	}
	free(clean);
}

void
format_client_error(FILE *out, FILE *err, const char *error,
    const char *usage, const char *message, int json)
{
	struct json_object *o, *p;
	char *clean;

	if (json) {
		p = json_object_new_object();
		json_object_object_add(p, "message",
		    json_object_new_string(message));
		if (usage != NULL)
			json_object_object_add(p, "usage",
			    json_object_new_string(usage));
		o = json_object_new_object();
		json_object_object_add(o, "error",
		    json_object_new_string(error));
		json_object_object_add(o, "parameters", p);
		format_json(out, o);
		json_object_put(o);
		return;
	}
	if (usage != NULL)
		fprintf(err, "cmlsh: usage: %s\n", usage);
	clean = format_clean(message, 0);
	fprintf(err, "cmlsh: %s\n", clean);
	free(clean);
}

void
format_wrap(FILE *out, const char *text, size_t col, size_t indent,
    size_t width)
{
	const char *p = text, *end;
	size_t wlen, ww;
	int start = 1; /* nothing on this line yet */
	char *word;

	while (*p != '\0') {
		if (*p == ' ') {
			p++;
			continue;
		}
		if (*p == '\n') {
			fputc('\n', out);
			format_pad(out, indent);
			col = indent;
			start = 1;
			p++;
			continue;
		}
		end = p + strcspn(p, " \n");
		wlen = (size_t)(end - p);
		word = xmalloc(wlen + 1);
		memcpy(word, p, wlen);
		word[wlen] = '\0';
		ww = format_width(word);
		if (!start && col + 1 + ww > width) {
			fputc('\n', out);
			format_pad(out, indent);
			col = indent;
			start = 1;
		}
		if (!start) {
			fputc(' ', out);
			col++;
		}
		fputs(word, out);
		col += ww;
		start = 0;
		free(word);
		p = end;
	}
	fputc('\n', out);
}
