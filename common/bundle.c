/*
 * Update bundles (bundle.h, cml-bundle(5)).
 *
 * The file, front to back: the payloads, each on a 4096-byte boundary;
 * the manifest (strict JSON); the signatures, one after the other; their
 * table (BUNDLE_SIGENTRY_LEN bytes each: u64 offset, u32 length, u32 0);
 * the footer (BUNDLE_FOOTER_LEN bytes: "CMLBNDL\0", u32 format, u32
 * number of signatures, u64 manifest offset, u32 manifest length, u32 0,
 * u64 table offset, 16 bytes 0, "CMLBNDL\0"), all little-endian.  Every
 * byte of the file belongs to exactly one part, so there is nothing
 * unsigned a reader could be made to look at.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "jsonstrict.h"
#include "names.h"
#include "xmalloc.h"

static const char *const bundle_kinds[] = {
	[BUNDLE_GUESTOS] = "guestos",
	[BUNDLE_CONFIGS] = "configs",
	[BUNDLE_CML] = "cml",
	[BUNDLE_BOOT] = "boot",
};

const char *
bundle_kind_name(enum bundle_kind kind)
{
	if ((size_t)kind >= sizeof bundle_kinds / sizeof bundle_kinds[0])
		return "?";
	return bundle_kinds[kind];
}

static uint32_t
bundle_get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
bundle_get64(const unsigned char *p)
{
	return (uint64_t)bundle_get32(p) | (uint64_t)bundle_get32(p + 4) << 32;
}

static void
bundle_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void
bundle_put64(unsigned char *p, uint64_t v)
{
	bundle_put32(p, (uint32_t)v);
	bundle_put32(p + 4, (uint32_t)(v >> 32));
}

/* Says whether n bytes at p are all zero. */
static int
bundle_zero(const unsigned char *p, size_t n)
{
	while (n-- > 0) {
		if (*p++ != 0)
			return 0;
	}
	return 1;
}

int
bundle_footer_parse(const unsigned char *f, uint64_t size,
    struct bundle_layout *l, char **cause)
{
	uint64_t end;

	memset(l, 0, sizeof *l);
	if (size < BUNDLE_FOOTER_LEN) {
		*cause = xstrdup("not a bundle: shorter than its footer");
		return -1;
	}
	if (memcmp(f, BUNDLE_MAGIC, 8) != 0 ||
	    memcmp(f + 56, BUNDLE_MAGIC, 8) != 0) {
		*cause = xstrdup("not a bundle: no bundle footer at its end");
		return -1;
	}
	if (bundle_get32(f + 8) != BUNDLE_FORMAT) {
		*cause = xasprintf("bundle format %u: this cml reads format %d",
		    bundle_get32(f + 8), BUNDLE_FORMAT);
		return -1;
	}
	if (bundle_get32(f + 28) != 0 || !bundle_zero(f + 40, 16)) {
		*cause = xstrdup("bundle footer: reserved bytes are not zero");
		return -1;
	}
	l->size = size;
	l->nsigs = bundle_get32(f + 12);
	l->manifest_offset = bundle_get64(f + 16);
	l->manifest_len = bundle_get32(f + 24);
	l->sigtable_offset = bundle_get64(f + 32);
	if (l->nsigs > BUNDLE_SIGS_MAX) {
		*cause = xasprintf("bundle has %u signatures, at most %d",
		    l->nsigs, BUNDLE_SIGS_MAX);
		return -1;
	}
	if (l->manifest_len == 0 || l->manifest_len > BUNDLE_MANIFEST_MAX) {
		*cause = xasprintf("bundle manifest of %u bytes: 1 to %d",
		    l->manifest_len, BUNDLE_MANIFEST_MAX);
		return -1;
	}
	end = size - BUNDLE_FOOTER_LEN;
	if (l->sigtable_offset > end ||
	    end - l->sigtable_offset !=
	    (uint64_t)l->nsigs * BUNDLE_SIGENTRY_LEN) {
		*cause = xstrdup("bundle footer: the signature table does not "
		    "end where the footer begins");
		return -1;
	}
	if (l->manifest_offset > l->sigtable_offset ||
	    l->sigtable_offset - l->manifest_offset < l->manifest_len) {
		*cause = xstrdup("bundle footer: the manifest does not lie "
		    "before the signatures");
		return -1;
	}
	return 1;
}

int
bundle_sigtable_parse(const unsigned char *t, size_t ntable,
    struct bundle_layout *l, char **cause)
{
	uint64_t at = l->manifest_offset + l->manifest_len;
	uint32_t i;

	if (ntable != (size_t)l->nsigs * BUNDLE_SIGENTRY_LEN) {
		*cause = xstrdup("bundle signature table of the wrong size");
		return -1;
	}
	for (i = 0; i < l->nsigs; i++, t += BUNDLE_SIGENTRY_LEN) {
		l->sigs[i].offset = bundle_get64(t);
		l->sigs[i].len = bundle_get32(t + 8);
		if (bundle_get32(t + 12) != 0) {
			*cause = xasprintf("bundle signature %u: reserved "
			    "bytes are not zero", i + 1);
			return -1;
		}
		/* one after the other, from the manifest's end, no gap */
		if (l->sigs[i].offset != at || l->sigs[i].len == 0 ||
		    l->sigs[i].len > BUNDLE_SIG_MAX ||
		    l->sigtable_offset - at < l->sigs[i].len) {
			*cause = xasprintf("bundle signature %u does not lie "
			    "right after the one before (1 to %d bytes)",
			    i + 1, BUNDLE_SIG_MAX);
			return -1;
		}
		at += l->sigs[i].len;
	}
	if (at != l->sigtable_offset) {
		*cause = xstrdup("bundle: bytes between the signatures and "
		    "their table");
		return -1;
	}
	return 0;
}

/* Refuses any member of obj not in known. */
static int
bundle_known(struct json_object *obj, const char *const *known,
    const char *where, char **cause)
{
	const char *const *k;
	char *q;

	json_object_object_foreach(obj, key, val) {
		(void)val;
		for (k = known; *k != NULL; k++) {
			if (strcmp(key, *k) == 0)
				break;
		}
		if (*k == NULL) {
			q = jsonstrict_quotes(key);
			*cause = xasprintf("unknown field '%s' in %s", q,
			    where);
			free(q);
			return -1;
		}
	}
	return 0;
}

/* Reads an integer member of at least 0 into *out. */
static int
bundle_uint(struct json_object *obj, const char *where, const char *key,
    uint64_t *out, char **cause)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0) {
		*cause = xasprintf("%s.%s must be an integer of at least 0",
		    where, key);
		return -1;
	}
	*out = (uint64_t)json_object_get_int64(v);
	return 0;
}

/* Checks a payload's name: a plain file name. */
static int
bundle_file_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 128 || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		    s[i] == '_' || s[i] == '-')
			continue;
		return 0;
	}
	return 1;
}

/*
 * Whether s is a relative path of at most BUNDLE_PATH_MAX bytes whose
 * parts are plain file names (no "", ".", ".." or hidden part).
 */
static int
bundle_path_ok(const char *s)
{
	char part[BUNDLE_PATH_MAX + 1];
	size_t len = strlen(s), n;

	if (len == 0 || len > BUNDLE_PATH_MAX)
		return 0;
	while (*s != '\0') {
		n = strcspn(s, "/");
		memcpy(part, s, n);
		part[n] = '\0';
		if (!bundle_file_ok(part))
			return 0;
		s += n;
		if (*s == '/' && *++s == '\0')
			return 0;
	}
	return 1;
}

/* Reads payloads[i] into p; prev_end: where the one before ends. */
static int
bundle_payload(struct json_object *obj, size_t i, uint64_t payload_end,
    uint64_t prev_end, struct bundle_payload *p, char **cause)
{
	static const char *const known[] = {
		"name", "offset", "size", "sha256", "path", "mode", NULL
	};
	char where[32], *q;
	const char *s;
	size_t k;

	snprintf(where, sizeof where, "payloads[%zu]", i);
	if (!json_object_is_type(obj, json_type_object)) {
		*cause = xasprintf("%s must be an object", where);
		return -1;
	}
	if (bundle_known(obj, known, where, cause) == -1 ||
	    jsonstrict_get_string(obj, where, "name", JSONSTRICT_REQUIRED, &s,
	    cause) == -1)
		return -1;
	if (!bundle_file_ok(s)) {
		q = jsonstrict_quotes(s);
		*cause = xasprintf("%s.name '%s' must be a plain file name of "
		    "1 to 128 of A-Z a-z 0-9 . _ -, not starting with .",
		    where, q);
		free(q);
		return -1;
	}
	p->name = xstrdup(s);
	if (bundle_uint(obj, where, "offset", &p->offset, cause) == -1 ||
	    bundle_uint(obj, where, "size", &p->size, cause) == -1)
		return -1;
	if (p->offset % BUNDLE_ALIGN != 0 || p->offset < prev_end ||
	    p->size == 0 || p->offset > payload_end ||
	    payload_end - p->offset < p->size) {
		*cause = xasprintf("%s must begin on a %d-byte boundary after "
		    "the payload before it, hold at least a byte and end "
		    "before the manifest", where, BUNDLE_ALIGN);
		return -1;
	}
	if (jsonstrict_get_string(obj, where, "sha256", JSONSTRICT_REQUIRED,
	    &s, cause) == -1)
		return -1;
	for (k = 0; s[k] != '\0'; k++) {
		if ((s[k] < '0' || s[k] > '9') && (s[k] < 'a' || s[k] > 'f'))
			break;
	}
	if (k != 64 || s[k] != '\0') {
		*cause = xasprintf("%s.sha256 must be 64 lower-case hex "
		    "digits", where);
		return -1;
	}
	memcpy(p->sha256, s, sizeof p->sha256);
	if (jsonstrict_get_string(obj, where, "path", 0, &s, cause) == -1)
		return -1;
	if (s != NULL) {
		if (!bundle_path_ok(s)) {
			q = jsonstrict_quotes(s);
			*cause = xasprintf("%s.path '%s' must be a relative path "
			    "of at most %d bytes whose parts are plain file "
			    "names", where, q, BUNDLE_PATH_MAX);
			free(q);
			return -1;
		}
		p->path = xstrdup(s);
	}
	if (jsonstrict_get_string(obj, where, "mode", 0, &s, cause) == -1)
		return -1;
	if (s != NULL) {
		if (strcmp(s, "0644") != 0 && strcmp(s, "0755") != 0) {
			*cause = xasprintf("%s.mode must be \"0644\" or "
			    "\"0755\"", where);
			return -1;
		}
		p->mode = strcmp(s, "0755") == 0 ? 0755 : 0644;
	}
	return 0;
}

/* Reads the top-level fields but the payloads. */
static int
bundle_head(struct json_object *top, struct bundle_manifest *m, char **cause)
{
	static const char *const known[] = {
		"format", "kind", "name", "version", "description", "payloads",
		NULL
	};
	struct json_object *v;
	const char *s;
	size_t k;
	char *q;

	if (!json_object_is_type(top, json_type_object)) {
		*cause = xstrdup("bundle manifest must be a JSON object");
		return -1;
	}
	if (bundle_known(top, known, "the bundle manifest", cause) == -1)
		return -1;
	if (!json_object_object_get_ex(top, "format", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) != BUNDLE_FORMAT) {
		*cause = xasprintf("format must be %d", BUNDLE_FORMAT);
		return -1;
	}
	if (jsonstrict_get_string(top, "", "kind", JSONSTRICT_REQUIRED, &s,
	    cause) == -1)
		return -1;
	for (k = 0; k < sizeof bundle_kinds / sizeof bundle_kinds[0]; k++) {
		if (strcmp(s, bundle_kinds[k]) == 0)
			break;
	}
	if (k == sizeof bundle_kinds / sizeof bundle_kinds[0]) {
		q = jsonstrict_quotes(s);
		*cause = xasprintf("kind '%s' must be guestos, configs, cml or "
		    "boot", q);
		free(q);
		return -1;
	}
	m->kind = (enum bundle_kind)k;
	if (jsonstrict_get_string(top, "", "name", JSONSTRICT_REQUIRED, &s,
	    cause) == -1)
		return -1;
	if (!names_guestos_ok(s)) {
		q = jsonstrict_quotes(s);
		*cause = xasprintf("name '%s' must be 1 to 64 of a-z 0-9 . _ "
		    "-, starting with a letter or digit", q);
		free(q);
		return -1;
	}
	m->name = xstrdup(s);
	if (jsonstrict_get_string(top, "", "version", JSONSTRICT_REQUIRED, &s,
	    cause) == -1)
		return -1;
	if (!names_version_ok(s)) {
		q = jsonstrict_quotes(s);
		*cause = xasprintf("version '%s' must be 1 to 4 numbers "
		    "separated by dots, without leading zeros", q);
		free(q);
		return -1;
	}
	m->version = xstrdup(s);
	if (jsonstrict_get_string(top, "", "description", 0, &s, cause) == -1)
		return -1;
	m->description = xstrdup(s != NULL ? s : "");
	if (strlen(m->description) > 1024) {
		*cause = xstrdup("description must be at most 1024 bytes");
		return -1;
	}
	return 0;
}

/*
 * Whether two paths cannot both be files: the same, or one a directory
 * the other needs ("sbin" and "sbin/cmld").
 */
static int
bundle_path_clash(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > lb)
		return bundle_path_clash(b, a);
	return strncmp(a, b, la) == 0 && (b[la] == '\0' || b[la] == '/');
}

int
bundle_manifest_parse(const char *json, size_t len, uint64_t payload_end,
    struct bundle_manifest *m, char **cause)
{
	static const struct jsonstrict_limits lim = {
		"bundle manifest", BUNDLE_MANIFEST_MAX, 8, 16, 0
	};
	struct json_object *top = NULL, *arr;
	uint64_t prev_end = 0;
	size_t i, j, n;

	memset(m, 0, sizeof *m);
	if (jsonstrict_parse(json, len, &lim, &top, cause) == -1)
		return -1;
	if (bundle_head(top, m, cause) == -1)
		goto fail;
	if (!json_object_object_get_ex(top, "payloads", &arr) ||
	    !json_object_is_type(arr, json_type_array) ||
	    (n = json_object_array_length(arr)) == 0 ||
	    n > BUNDLE_PAYLOADS_MAX) {
		*cause = xasprintf("payloads must be an array of 1 to %d "
		    "payloads", BUNDLE_PAYLOADS_MAX);
		goto fail;
	}
	m->payloads = xcalloc(n, sizeof *m->payloads);
	m->npayloads = n;
	for (i = 0; i < n; i++) {
		if (bundle_payload(json_object_array_get_idx(arr, i), i,
		    payload_end, prev_end, &m->payloads[i], cause) == -1)
			goto fail;
		prev_end = m->payloads[i].offset + m->payloads[i].size;
		if ((m->kind == BUNDLE_CML) != (m->payloads[i].path != NULL)) {
			*cause = xasprintf("payloads[%zu] %s a path: a cml "
			    "bundle places every payload by its path, other "
			    "kinds by its name", i, m->kind == BUNDLE_CML ?
			    "needs" : "must not have");
			goto fail;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(m->payloads[j].name,
			    m->payloads[i].name) == 0) {
				*cause = xasprintf("payloads[%zu].name '%s' is "
				    "given twice", i, m->payloads[i].name);
				goto fail;
			}
			if (m->payloads[i].path != NULL &&
			    bundle_path_clash(m->payloads[j].path,
			    m->payloads[i].path)) {
				*cause = xasprintf("payloads[%zu].path '%s' "
				    "clashes with payloads[%zu].path '%s'", i,
				    m->payloads[i].path, j,
				    m->payloads[j].path);
				goto fail;
			}
		}
	}
	json_object_put(top);
	return 0;
fail:
	json_object_put(top);
	bundle_manifest_clear(m);
	return -1;
}

void
bundle_manifest_clear(struct bundle_manifest *m)
{
	size_t i;

	for (i = 0; i < m->npayloads; i++) {
		free(m->payloads[i].name);
		free(m->payloads[i].path);
	}
	free(m->payloads);
	free(m->name);
	free(m->version);
	free(m->description);
	memset(m, 0, sizeof *m);
}

int
bundle_pread(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = pread(fd, (char *)buf + got, len - got,
		    (off_t)(off + got));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

int
bundle_read(int fd, struct bundle_layout *l, char **manifest,
    struct bundle_manifest *m, unsigned char **sigs, char **cause)
{
	unsigned char footer[BUNDLE_FOOTER_LEN];
	unsigned char table[BUNDLE_SIGS_MAX * BUNDLE_SIGENTRY_LEN];
	off_t size;
	uint32_t i;

	*manifest = NULL;
	memset(sigs, 0, BUNDLE_SIGS_MAX * sizeof *sigs);
	if ((size = lseek(fd, 0, SEEK_END)) == -1) {
		*cause = xasprintf("cannot read the bundle: %s",
		    strerror(errno));
		return -1;
	}
	if ((uint64_t)size < BUNDLE_FOOTER_LEN) {
		*cause = xstrdup("not a bundle: shorter than its footer");
		return -1;
	}
	if (bundle_pread(fd, footer, sizeof footer,
	    (uint64_t)size - BUNDLE_FOOTER_LEN) == -1)
		goto io;
	if (bundle_footer_parse(footer, (uint64_t)size, l, cause) == -1)
		return -1;
	if (bundle_pread(fd, table, (size_t)l->nsigs * BUNDLE_SIGENTRY_LEN,
	    l->sigtable_offset) == -1)
		goto io;
	if (bundle_sigtable_parse(table, (size_t)l->nsigs *
	    BUNDLE_SIGENTRY_LEN, l, cause) == -1)
		return -1;
	*manifest = xmalloc(l->manifest_len + 1);
	if (bundle_pread(fd, *manifest, l->manifest_len,
	    l->manifest_offset) == -1)
		goto io;
	(*manifest)[l->manifest_len] = '\0';
	if (bundle_manifest_parse(*manifest, l->manifest_len,
	    l->manifest_offset, m, cause) == -1)
		goto fail;
	for (i = 0; i < l->nsigs; i++) {
		sigs[i] = xmalloc(l->sigs[i].len);
		if (bundle_pread(fd, sigs[i], l->sigs[i].len,
		    l->sigs[i].offset) == -1) {
			bundle_manifest_clear(m);
			goto io;
		}
	}
	return 0;
io:
	*cause = xasprintf("cannot read the bundle: %s", strerror(errno));
fail:
	free(*manifest);
	*manifest = NULL;
	for (i = 0; i < BUNDLE_SIGS_MAX; i++) {
		free(sigs[i]);
		sigs[i] = NULL;
	}
	return -1;
}

size_t
bundle_trailer(const struct bundle_layout *l, unsigned char *out)
{
	unsigned char *f;
	uint32_t i;

	for (i = 0; i < l->nsigs; i++) {
		bundle_put64(out + i * BUNDLE_SIGENTRY_LEN, l->sigs[i].offset);
		bundle_put32(out + i * BUNDLE_SIGENTRY_LEN + 8, l->sigs[i].len);
		bundle_put32(out + i * BUNDLE_SIGENTRY_LEN + 12, 0);
	}
	f = out + (size_t)l->nsigs * BUNDLE_SIGENTRY_LEN;
	memset(f, 0, BUNDLE_FOOTER_LEN);
	memcpy(f, BUNDLE_MAGIC, 8);
	bundle_put32(f + 8, BUNDLE_FORMAT);
	bundle_put32(f + 12, l->nsigs);
	bundle_put64(f + 16, l->manifest_offset);
	bundle_put32(f + 24, l->manifest_len);
	bundle_put64(f + 32, l->sigtable_offset);
	memcpy(f + 56, BUNDLE_MAGIC, 8);
	return (size_t)l->nsigs * BUNDLE_SIGENTRY_LEN + BUNDLE_FOOTER_LEN;
}

int
bundle_looks_like(int fd)
{
	unsigned char f[BUNDLE_FOOTER_LEN];
	struct stat sb;

	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size < BUNDLE_FOOTER_LEN)
		return 0;
	if (pread(fd, f, sizeof f, sb.st_size - BUNDLE_FOOTER_LEN) !=
	    (ssize_t)sizeof f)
		return 0;
	return memcmp(f, BUNDLE_MAGIC, 8) == 0 &&
	    memcmp(f + BUNDLE_FOOTER_LEN - 8, BUNDLE_MAGIC, 8) == 0;
}
