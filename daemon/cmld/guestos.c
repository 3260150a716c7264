/*
 * Guest OSes: the signed manifest (cml-guestos(5)), the copy engine that
 * installs a guest OS into the state directory, and the check engine that
 * re-hashes installed images.  Every file is reached through a directory
 * descriptor and opened without following symbolic links, so what is
 * checked is what is copied, and what is copied is what was hashed.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "crypto.h"
#include "file.h"
#include "guestos.h"
#include "jsonstrict.h"
#include "log.h"
#include "names.h"
#include "xmalloc.h"

/* Bytes read and written at once; large, for close to raw disk speed. */
#define GUESTOS_BUFSIZE (1024 * 1024)

#define GUESTOS_FILE_MAX 128
#define GUESTOS_PATH_MAX 255
#define GUESTOS_DESCRIPTION_MAX 1024

/* The JSON accepted; a manifest needs 3 levels and 6 fields. */
static const struct jsonstrict_limits guestos_json_limits = {
	.what = "manifest",
	.max_len = GUESTOS_MANIFEST_MAX,
	.max_depth = 16,
	.max_fields = 32,
};

/* Describes a position for a message: "the manifest" or "images[1]". */
static const char *
guestos_where(const char *path)
{
	return *path == '\0' ? "the manifest" : path;
}

/* Names a field for messages: "name" or "images[0].sha256". */
static char *
guestos_field(const char *where, const char *field)
{
	if (*where == '\0')
		return xstrdup(field);
	return xasprintf("%s.%s", where, field);
}

/* Refuses any member of obj not in known (NULL-terminated). */
static int
guestos_known_fields(struct json_object *obj, const char *const *known,
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
			xcause(cause, "unknown field '%s' in %s", q,
			    guestos_where(where));
			free(q);
			return -1;
		}
	}
	return 0;
}

/*
 * Tells whether s holds a control character, C0, DEL or C1 (U+0080 to
 * U+009F in UTF-8): shown on a terminal, any of them may act.
 */
static int
guestos_has_control(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 1;
		if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return 1;
	}
	return 0;
}

/*
 * Says what is wrong with an absolute path in the guest, or NULL: it must
 * be normalised, so it names one place however it is read.
 */
static const char *
guestos_path_problem(const char *p)
{
	const char *s, *e;
	size_t n;

	if (*p != '/')
		return "must be an absolute path";
	if (strlen(p) > GUESTOS_PATH_MAX)
		return "must be at most 255 bytes long";
	if (guestos_has_control(p))
		return "must not contain control characters";
	if (strcmp(p, "/") == 0)
		return NULL;
	if (p[strlen(p) - 1] == '/')
		return "must not end with '/'";
	for (s = p + 1;; s = e + 1) {
		e = strchr(s, '/');
		n = e == NULL ? strlen(s) : (size_t)(e - s);
		if (n == 0)
			return "must not contain '//'";
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return "must not contain '..'";
		if (n == 1 && s[0] == '.')
			return "must not contain '.' components";
		if (e == NULL)
			return NULL;
	}
}

/* Checks a path member; fills *out with a copy.  -1 with *cause set. */
static int
guestos_path(struct json_object *obj, const char *where, const char *field,
    int may_be_root, char **out, char **cause)
{
	const char *s, *why;
	char *name, *q;
	int ret = -1;

	if (jsonstrict_get_string(obj, where, field, JSONSTRICT_REQUIRED, &s,
	    cause) == -1)
		return -1;
	name = guestos_field(where, field);
	why = guestos_path_problem(s);
	if (why == NULL && !may_be_root && strcmp(s, "/") == 0)
		why = "must name a file, not '/'";
	if (why != NULL) {
		q = jsonstrict_quotes(s);
		xcause(cause, "%s '%s' %s", name, q, why);
		free(q);
	} else {
		*out = xstrdup(s);
		ret = 0;
	}
	free(name);
	return ret;
}

/* Reads the version into its canonical form. */
static int
guestos_version(struct json_object *obj, char **out, char **cause)
{
	struct json_object *v;
	long long n;
	char *q;

	if (!json_object_object_get_ex(obj, "version", &v)) {
		xcause(cause, "version is missing");
		return -1;
	}
	switch (json_object_get_type(v)) {
	case json_type_int:
		n = (long long)json_object_get_int64(v);
		if (n < 0) {
			xcause(cause, "version %lld must not be "
			    "negative", n);
			return -1;
		}
		*out = xasprintf("%lld", n);
		/* the same bound as a version given as a string */
		if (!names_version_ok(*out)) {
			xcause(cause, "version %s must be at most 999999999",
			    *out);
			free(*out);
			*out = NULL;
			return -1;
		}
		return 0;
	case json_type_string:
		if (!names_version_ok(json_object_get_string(v))) {
			q = jsonstrict_quotes(json_object_get_string(v));
			xcause(cause, "version '%s' must be 1 to 4 "
			    "numbers separated by dots, without leading zeros, "
			    "each at most 999999999", q);
			free(q);
			return -1;
		}
		*out = xstrdup(json_object_get_string(v));
		return 0;
	case json_type_double:
		q = jsonstrict_quotes(json_object_to_json_string(v));
		xcause(cause, "version %s must be an integer or a "
		    "string such as \"1.2.3\"", q);
		free(q);
		return -1;
	default:
		xcause(cause, "version must be an integer or a string "
		    "such as \"1.2.3\"");
		return -1;
	}
}

/* Checks an image file name: a plain name in the guest OS directory. */
static int
guestos_file(struct json_object *obj, const char *where, char **out,
    char **cause)
{
	const char *s, *c;
	char *q;
	size_t n;

	if (jsonstrict_get_string(obj, where, "file", JSONSTRICT_REQUIRED, &s,
	    cause) == -1)
		return -1;
	q = jsonstrict_quotes(s);
	n = strlen(s);
	if (strchr(s, '/') != NULL || s[0] == '.') {
		xcause(cause, "%s.file '%s' must be a plain file name",
		    where, q);
		goto fail;
	}
	for (c = s; *c != '\0'; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' ||
		    *c == '-')
			continue;
		break;
	}
	if (n == 0 || n > GUESTOS_FILE_MAX || *c != '\0') {
		xcause(cause, "%s.file '%s' must be 1 to 128 of the "
		    "characters A-Z a-z 0-9 . _ -", where, q);
		goto fail;
	}
	if (strcmp(s, GUESTOS_MANIFEST) == 0 ||
	    strcmp(s, GUESTOS_SIGNATURE) == 0) {
		xcause(cause, "%s.file '%s' is reserved for the "
		    "manifest and its signature", where, q);
		goto fail;
	}
	free(q);
	*out = xstrdup(s);
	return 0;
fail:
	free(q);
	return -1;
}

/* Checks that s is lower-case hex; returns its length, or -1. */
static long
guestos_hex_len(const char *s)
{
	size_t k;

	for (k = 0; s[k] != '\0'; k++) {
		if ((s[k] < '0' || s[k] > '9') && (s[k] < 'a' || s[k] > 'f'))
			return -1;
	}
	return (long)k;
}

/*
 * Reads the optional verity object of an image (size: the image's whole
 * size, which the hash tree follows the file system in).
 */
static int
guestos_verity(struct json_object *obj, const char *where, long long size,
    struct guestos_verity *vy, char **cause)
{
	static const char *const known[] = {
		"root_hash", "salt", "data_size", NULL
	};
	struct json_object *o, *v;
	char vwhere[48];
	const char *s;
	long n;

	memset(vy, 0, sizeof *vy);
	if (!json_object_object_get_ex(obj, "verity", &o))
		return 0;
	snprintf(vwhere, sizeof vwhere, "%s.verity", where);
	if (!json_object_is_type(o, json_type_object)) {
		xcause(cause, "%s must be an object", vwhere);
		return -1;
	}
	if (guestos_known_fields(o, known, vwhere, cause) == -1)
		return -1;
	if (jsonstrict_get_string(o, vwhere, "root_hash", JSONSTRICT_REQUIRED,
	    &s, cause) == -1)
		return -1;
	if (guestos_hex_len(s) != 64) {
		xcause(cause, "%s.root_hash must be 64 lower-case hex digits "
		    "(a SHA-256)", vwhere);
		return -1;
	}
	memcpy(vy->root_hash, s, sizeof vy->root_hash);
	if (jsonstrict_get_string(o, vwhere, "salt", JSONSTRICT_REQUIRED, &s,
	    cause) == -1)
		return -1;
	if ((n = guestos_hex_len(s)) == -1 || n % 2 != 0 ||
	    n > GUESTOS_VERITY_SALT_MAX) {
		xcause(cause, "%s.salt must be an even number of lower-case "
		    "hex digits, at most %d", vwhere, GUESTOS_VERITY_SALT_MAX);
		return -1;
	}
	memcpy(vy->salt, s, (size_t)n + 1);
	if (!json_object_object_get_ex(o, "data_size", &v)) {
		xcause(cause, "%s.data_size is missing", vwhere);
		return -1;
	}
	if (!json_object_is_type(v, json_type_int) ||
	    (vy->data_size = (long long)json_object_get_int64(v)) <= 0 ||
	    vy->data_size % GUESTOS_VERITY_BLOCK != 0 ||
	    vy->data_size >= size) {
		xcause(cause, "%s.data_size must be a multiple of %d greater "
		    "than 0 and less than the image's size (the hash tree "
		    "follows the file system)", vwhere, GUESTOS_VERITY_BLOCK);
		return -1;
	}
	vy->present = 1;
	return 0;
}

/* Reads images[i] into img. */
static int
guestos_image(struct json_object *obj, size_t i, struct guestos_image *img,
    char **cause)
{
	static const char *const known[] = {
		"file", "size", "sha256", "fs", "mount", "verity", NULL
	};
	struct json_object *v;
	const char *s;
	char where[32], *q;

	snprintf(where, sizeof where, "images[%zu]", i);
	if (!json_object_is_type(obj, json_type_object)) {
		xcause(cause, "%s must be an object", where);
		return -1;
	}
	if (guestos_known_fields(obj, known, where, cause) == -1)
		return -1;
	if (guestos_file(obj, where, &img->file, cause) == -1)
		return -1;

	if (!json_object_object_get_ex(obj, "size", &v)) {
		xcause(cause, "%s.size is missing", where);
		return -1;
	}
	if (!json_object_is_type(v, json_type_int) ||
	    (img->size = (long long)json_object_get_int64(v)) <= 0) {
		xcause(cause, "%s.size must be an integer greater than "
		    "0", where);
		return -1;
	}

	if (jsonstrict_get_string(obj, where, "sha256", JSONSTRICT_REQUIRED,
	    &s, cause) == -1)
		return -1;
	if (guestos_hex_len(s) != 64) {
		xcause(cause, "%s.sha256 must be 64 lower-case hex "
		    "digits", where);
		return -1;
	}
	memcpy(img->sha256, s, sizeof img->sha256);

	if (jsonstrict_get_string(obj, where, "fs", JSONSTRICT_REQUIRED, &s,
	    cause) == -1)
		return -1;
	if (strcmp(s, "squashfs") != 0 && strcmp(s, "erofs") != 0 &&
	    strcmp(s, "ext4") != 0) {
		q = jsonstrict_quotes(s);
		xcause(cause, "%s.fs '%s' must be squashfs, erofs or ext4",
		    where, q);
		free(q);
		return -1;
	}
	img->fs = xstrdup(s);
	if (guestos_path(obj, where, "mount", 1, &img->mount, cause) == -1)
		return -1;
	return guestos_verity(obj, where, img->size, &img->verity, cause);
}

/* Reads the images array and checks the images against each other. */
static int
guestos_images(struct json_object *top, struct guestos_manifest *m,
    char **cause)
{
	struct json_object *arr;
	long long total = 0;
	size_t n, i, k, root = SIZE_MAX;
	char *q;

	if (!json_object_object_get_ex(top, "images", &arr)) {
		xcause(cause, "images is missing");
		return -1;
	}
	if (!json_object_is_type(arr, json_type_array)) {
		xcause(cause, "images must be an array");
		return -1;
	}
	if ((n = json_object_array_length(arr)) == 0) {
		xcause(cause, "images must not be empty");
		return -1;
	}
	if (n > GUESTOS_IMAGES_MAX) {
		xcause(cause, "images has %zu entries, at most %d are "
		    "allowed", n, GUESTOS_IMAGES_MAX);
		return -1;
	}
	m->images = xcalloc(n, sizeof *m->images);
	for (i = 0; i < n; i++) {
		m->nimages = i + 1;
		if (guestos_image(json_object_array_get_idx(arr, i), i,
		    &m->images[i], cause) == -1)
			return -1;
		if (m->images[i].size > LLONG_MAX - total) {
			xcause(cause, "images[%zu].size makes the "
			    "images larger than %lld bytes", i, LLONG_MAX);
			return -1;
		}
		total += m->images[i].size;
	}

	for (i = 0; i < n; i++) {
		for (k = 0; k < i; k++) {
			if (strcmp(m->images[i].file, m->images[k].file) == 0) {
				q = jsonstrict_quotes(m->images[i].file);
				xcause(cause, "images[%zu].file '%s' is "
				    "listed twice (also images[%zu])", i, q, k);
				free(q);
				return -1;
			}
			if (strcmp(m->images[i].mount, m->images[k].mount) !=
			    0)
				continue;
			if (strcmp(m->images[i].mount, "/") == 0) {
				xcause(cause, "images[%zu] and "
				    "images[%zu] both mount at '/': exactly "
				    "one image must be the root", k, i);
			} else {
				q = jsonstrict_quotes(m->images[i].mount);
				xcause(cause, "images[%zu].mount '%s' "
				    "is listed twice (also images[%zu])", i, q,
				    k);
				free(q);
			}
			return -1;
		}
		if (strcmp(m->images[i].mount, "/") == 0)
			root = i;
	}
	if (root == SIZE_MAX) {
		xcause(cause, "no image mounts at '/': exactly one "
		    "image must be the root");
		return -1;
	}
	return 0;
}

/* Reads the top-level object into m. */
static int
guestos_manifest_fields(struct json_object *top, struct guestos_manifest *m,
    char **cause)
{
	static const char *const known[] = {
		"name", "version", "description", "init", "images",
		"allow_downgrade", NULL
	};
	struct json_object *v;
	const char *s;
	char *q;

	if (!json_object_is_type(top, json_type_object)) {
		xcause(cause, "manifest must be a JSON object");
		return -1;
	}
	if (guestos_known_fields(top, known, "", cause) == -1)
		return -1;

	if (jsonstrict_get_string(top, "", "name", JSONSTRICT_REQUIRED, &s,
	    cause) == -1)
		return -1;
	if (!names_guestos_ok(s)) {
		q = jsonstrict_quotes(s);
		xcause(cause, "name '%s' must be 1 to 64 of a-z 0-9 . _ "
		    "-, starting with a letter or digit", q);
		free(q);
		return -1;
	}
	m->name = xstrdup(s);

	if (guestos_version(top, &m->version, cause) == -1)
		return -1;

	if (jsonstrict_get_string(top, "", "description", 0, &s, cause) == -1)
		return -1;
	if (s == NULL)
		s = "";
	if (strlen(s) > GUESTOS_DESCRIPTION_MAX) {
		xcause(cause, "description has %zu bytes, at most %d "
		    "are allowed", strlen(s), GUESTOS_DESCRIPTION_MAX);
		return -1;
	}
	if (guestos_has_control(s)) {
		xcause(cause, "description must not contain control "
		    "characters");
		return -1;
	}
	m->description = xstrdup(s);

	if (guestos_path(top, "", "init", 0, &m->init, cause) == -1)
		return -1;

	if (guestos_images(top, m, cause) == -1)
		return -1;

	if (json_object_object_get_ex(top, "allow_downgrade", &v)) {
		if (!json_object_is_type(v, json_type_boolean)) {
			xcause(cause, "allow_downgrade must be true or "
			    "false");
			return -1;
		}
		m->allow_downgrade = json_object_get_boolean(v);
	}
	return 0;
}

/*
 * Parses and validates a manifest; m is left empty on error.  -1 with
 * *cause naming the field.
 */
int
guestos_manifest_parse(const char *json, size_t len,
    struct guestos_manifest *m, char **cause)
{
	struct json_object *top;
	int ret;

	memset(m, 0, sizeof *m);
	if (jsonstrict_parse(json, len, &guestos_json_limits, &top,
	    cause) == -1)
		return -1;
	ret = guestos_manifest_fields(top, m, cause);
	json_object_put(top);
	if (ret == -1)
		guestos_manifest_clear(m);
	return ret;
}

/* Releases a parsed manifest and leaves it empty. */
void
guestos_manifest_clear(struct guestos_manifest *m)
{
	size_t i;

	for (i = 0; i < m->nimages; i++) {
		free(m->images[i].file);
		free(m->images[i].fs);
		free(m->images[i].mount);
	}
	free(m->images);
	free(m->name);
	free(m->version);
	free(m->description);
	free(m->init);
	memset(m, 0, sizeof *m);
}

/* Reads up to len bytes, retrying on EINTR; -1 with errno set. */
static ssize_t
guestos_read(int fd, void *buf, size_t len)
{
	ssize_t n;

	do {
		n = read(fd, buf, len);
	} while (n == -1 && errno == EINTR);
	return n;
}

/*
 * Removes an installed guest OS directory tree (nothing when it is gone
 * already) and makes the removal durable; -1 with *cause set.
 */
int
guestos_remove_dir(const char *path, char **cause)
{
	return file_remove_tree(path, cause);
}

/*
 * How much of an image of size bytes, got of them done, the next read of
 * a step with budget bytes left takes.
 */
static size_t
guestos_step_len(long long size, long long got, size_t budget)
{
	size_t want = GUESTOS_BUFSIZE;

	if (want > budget)
		want = budget;
	if ((long long)want > size - got)
		want = (size_t)(size - got);
	return want;
}

/*
 * Ends the hash *h of an image (set to NULL) and puts its hex digest in
 * hex: 0 when it is want, -1 when not.
 */
static int
guestos_hash_matches(struct crypto_hash **h, const char *want,
    char hex[CRYPTO_SHA256_HEX])
{
	unsigned char md[CRYPTO_SHA256_LEN];

	crypto_hash_final(*h, md);
	*h = NULL;
	crypto_hex(md, sizeof md, hex);
	return strcmp(hex, want) == 0 ? 0 : -1;
}

/* One image being copied. */
struct guestos_copy_image {
	char *file;
	long long size;
	char sha256[65];
	int srcfd; /* open from begin until its last byte is checked */
	/*
	 * ranged: the image is size bytes at srcoff of srcfd (a bundle's
	 * payload), read with pread; else the whole file srcfd.
	 */
	int ranged;
	long long srcoff;
	int dstfd; /* open until commit, for fsync */
};

enum guestos_copy_state {
	GUESTOS_COPYING,
	GUESTOS_COPIED,
	GUESTOS_COMMITTED,
	GUESTOS_FAILED,
};

struct guestos_copy {
	enum guestos_copy_state state;
	char *destroot;
	char *name;
	char *version;
	char *staging; /* the staging directory's name in destroot */
	int rootfd;
	int stagefd;
	int metafd[2]; /* manifest and signature, for fsync */
	struct guestos_copy_image *images;
	size_t nimages;
	size_t cur; /* the image being copied */
	long long copied; /* bytes of it so far */
	struct crypto_hash *hash;
	unsigned char *buf;
	long long done;
	long long total;
};

/* Closes the descriptors and removes the staging directory, if any. */
static void
guestos_copy_discard(struct guestos_copy *c)
{
	char *display, *cause = NULL;
	size_t i;

	for (i = 0; i < c->nimages; i++) {
		if (c->images[i].srcfd != -1)
			close(c->images[i].srcfd);
		if (c->images[i].dstfd != -1)
			close(c->images[i].dstfd);
		c->images[i].srcfd = c->images[i].dstfd = -1;
	}
	for (i = 0; i < 2; i++) {
		if (c->metafd[i] != -1)
			close(c->metafd[i]);
		c->metafd[i] = -1;
	}
	if (c->stagefd != -1)
		close(c->stagefd);
	c->stagefd = -1;
	crypto_hash_free(c->hash);
	c->hash = NULL;
	if (c->staging != NULL && c->rootfd != -1) {
		display = xasprintf("%s/%s", c->destroot, c->staging);
		if (file_remove_at(c->rootfd, c->staging, display,
		    &cause) == -1) {
			log_warnx("%s", cause);
			free(cause);
		}
		free(display);
	}
	free(c->staging);
	c->staging = NULL;
}

/* Orders an array of strings for qsort. */
static int
guestos_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Checks the files passed for srcdir: every entry must be the manifest,
 * its signature or an image.
 */
static int
guestos_copy_list(const struct file_set *src, const char *srcdir,
    const struct guestos_copy *c, char **cause)
{
	char **names, *q;
	size_t i, k;
	int ret = -1;

	names = xcalloc(src->n + 1, sizeof *names);
	for (i = 0; i < src->n; i++)
		names[i] = src->names[i];
	/* Sorted, so the same directory always gets the same message. */
	qsort(names, src->n, sizeof *names, guestos_name_cmp);
	for (i = 0; i < src->n; i++) {
		if (strcmp(names[i], GUESTOS_MANIFEST) == 0 ||
		    strcmp(names[i], GUESTOS_SIGNATURE) == 0)
			continue;
		for (k = 0; k < c->nimages; k++) {
			if (strcmp(names[i], c->images[k].file) == 0)
				break;
		}
		if (k == c->nimages) {
			q = jsonstrict_quotes(names[i]);
			xcause(cause, "extra file '%s' in %s is not in "
			    "the manifest", q, srcdir);
			free(q);
			goto out;
		}
	}
	ret = 0;
out:
	free(names);
	return ret;
}

/*
 * Takes an image's descriptor for copying: it must be a regular file, not
 * a symbolic link, with the size the manifest gives.  Checking the size
 * here refuses a wrong directory before a byte is copied.
 */
static int
guestos_copy_open(struct file_set *src, struct guestos_copy_image *img,
    char **cause)
{
	struct stat sb;
	char *q;
	int ret = -1;

	q = jsonstrict_quotes(img->file);
	if ((img->srcfd = file_set_take(src, img->file)) == -1) {
		xcause(cause, "image '%s' is missing", q);
		goto out;
	}
	if (file_check_fd(img->srcfd, 0, &sb) == -1) {
		if (errno == ELOOP)
			xcause(cause, "image '%s' is a symbolic link", q);
		else if (errno == EINVAL)
			xcause(cause, "image '%s' is not a regular file", q);
		else if (errno == EREMOTE)
			xcause(cause, "image '%s' is on a FUSE file system: "
			    "copy it to a local disk first", q);
		else
			xcause(cause, "cannot read image '%s': %s", q,
			    strerror(errno));
		goto out;
	}
	if ((long long)sb.st_size != img->size) {
		xcause(cause, "image '%s' has %lld bytes, the manifest "
		    "says %lld", q, (long long)sb.st_size, img->size);
		goto out;
	}
	(void)posix_fadvise(img->srcfd, 0, 0, POSIX_FADV_SEQUENTIAL);
	ret = 0;
out:
	free(q);
	return ret;
}

/* Creates file in the staging directory, 0600; -1 with *cause set. */
static int
guestos_copy_create(struct guestos_copy *c, const char *file, char **cause)
{
	int fd;

	fd = openat(c->stagefd, file, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		xcause(cause, "cannot create %s/%s/%s: %s", c->destroot,
		    c->staging, file, strerror(errno));
	}
	return fd;
}

/* Writes the manifest or its signature into the staging directory. */
static int
guestos_copy_meta(struct guestos_copy *c, int i, const char *file,
    const void *data, size_t len, char **cause)
{
	if ((c->metafd[i] = guestos_copy_create(c, file, cause)) == -1)
		return -1;
	if (file_write_all(c->metafd[i], data, len) == -1) {
		xcause(cause, "cannot write %s/%s/%s: %s", c->destroot,
		    c->staging, file, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Checks that a manifest handed in is one guestos_manifest_parse accepted
 * as far as names on disk go: every name becomes a path component below
 * destroot.
 */
static int
guestos_copy_names_ok(const struct guestos_manifest *m)
{
	size_t i;

	if (m->name == NULL || m->version == NULL || m->nimages == 0 ||
	    !names_guestos_ok(m->name) || !names_version_ok(m->version))
		return 0;
	for (i = 0; i < m->nimages; i++) {
		if (m->images[i].file == NULL || m->images[i].file[0] == '\0' ||
		    m->images[i].file[0] == '.' ||
		    strchr(m->images[i].file, '/') != NULL ||
		    strcmp(m->images[i].file, GUESTOS_MANIFEST) == 0 ||
		    strcmp(m->images[i].file, GUESTOS_SIGNATURE) == 0)
			return 0;
	}
	return 1;
}

/*
 * Makes a copy of m's images to destroot, its sources not yet open; NULL
 * with *cause set.
 */
static struct guestos_copy *
guestos_copy_new(const char *srcname, const char *destroot,
    const struct guestos_manifest *m, char **cause)
{
	struct guestos_copy *c;
	size_t i;

	c = xcalloc(1, sizeof *c);
	c->state = GUESTOS_COPYING;
	c->rootfd = c->stagefd = c->metafd[0] = c->metafd[1] = -1;
	c->destroot = xstrdup(destroot);
	if (!guestos_copy_names_ok(m)) {
		xcause(cause, "the manifest for %s was not validated",
		    srcname);
		guestos_copy_free(c);
		return NULL;
	}
	c->name = xstrdup(m->name);
	c->version = xstrdup(m->version);
	c->images = xcalloc(m->nimages, sizeof *c->images);
	c->nimages = m->nimages;
	for (i = 0; i < c->nimages; i++) {
		c->images[i].file = xstrdup(m->images[i].file);
		c->images[i].size = m->images[i].size;
		memcpy(c->images[i].sha256, m->images[i].sha256,
		    sizeof c->images[i].sha256);
		c->images[i].sha256[sizeof c->images[i].sha256 - 1] = '\0';
		c->images[i].srcfd = c->images[i].dstfd = -1;
		c->total += c->images[i].size;
	}
	return c;
}

/*
 * Creates destroot/.staging-XXXXXX and writes the manifest and its
 * signature there; -1 with *cause set.
 */
static int
guestos_copy_stage(struct guestos_copy *c, const void *manifest,
    size_t manifest_len, const void *sig, size_t sig_len, char **cause)
{
	const char *destroot = c->destroot;
	char *tmpl = NULL;
	int ret = -1;

	if (mkdir(destroot, 0700) == -1 && errno != EEXIST) {
		xcause(cause, "cannot create %s: %s", destroot,
		    strerror(errno));
		goto out;
	}
	c->rootfd = open(destroot, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (c->rootfd == -1) {
		xcause(cause, "cannot open %s: %s", destroot,
		    strerror(errno));
		goto out;
	}
	tmpl = xasprintf("%s/.staging-XXXXXX", destroot);
	if (mkdtemp(tmpl) == NULL) {
		xcause(cause, "cannot create a staging directory in "
		    "%s: %s", destroot, strerror(errno));
		goto out;
	}
	c->staging = xstrdup(strrchr(tmpl, '/') + 1);
	c->stagefd = openat(c->rootfd, c->staging, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
	if (c->stagefd == -1) {
		xcause(cause, "cannot open %s: %s", tmpl,
		    strerror(errno));
		goto out;
	}
	if (guestos_copy_meta(c, 0, GUESTOS_MANIFEST, manifest, manifest_len,
	    cause) == -1 || guestos_copy_meta(c, 1, GUESTOS_SIGNATURE, sig,
	    sig_len, cause) == -1)
		goto out;
	c->buf = xmalloc(GUESTOS_BUFSIZE);
	ret = 0;
out:
	free(tmpl);
	return ret;
}

/*
 * Starts installing the guest OS in srcdir: checks the directory's
 * contents, opens every image, creates destroot/.staging-XXXXXX and writes
 * the manifest and its signature there.  NULL with *cause set, nothing
 * left behind.
 */
struct guestos_copy *
guestos_copy_begin(struct file_set *src, const char *srcdir,
    const char *destroot,
    const struct guestos_manifest *m, const void *manifest,
    size_t manifest_len, const void *sig, size_t sig_len, char **cause)
{
	struct guestos_copy *c;
	size_t i;

	if ((c = guestos_copy_new(srcdir, destroot, m, cause)) == NULL)
		return NULL;
	if (guestos_copy_list(src, srcdir, c, cause) == -1)
		goto fail;
	for (i = 0; i < c->nimages; i++) {
		if (guestos_copy_open(src, &c->images[i], cause) == -1)
			goto fail;
	}
	if (guestos_copy_stage(c, manifest, manifest_len, sig, sig_len,
	    cause) == -1)
		goto fail;
	return c;
fail:
	guestos_copy_free(c);
	return NULL;
}

struct guestos_copy *
guestos_copy_begin_at(int srcfd, const long long *offsets,
    const char *srcname, const char *destroot,
    const struct guestos_manifest *m, const void *manifest,
    size_t manifest_len, const void *sig, size_t sig_len, char **cause)
{
	struct guestos_copy *c;
	size_t i;

	if ((c = guestos_copy_new(srcname, destroot, m, cause)) == NULL)
		return NULL;
	for (i = 0; i < c->nimages; i++) {
		if ((c->images[i].srcfd = fcntl(srcfd, F_DUPFD_CLOEXEC, 0)) ==
		    -1) {
			xcause(cause, "cannot read %s: %s", srcname,
			    strerror(errno));
			goto fail;
		}
		c->images[i].ranged = 1;
		c->images[i].srcoff = offsets[i];
	}
	(void)posix_fadvise(srcfd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (guestos_copy_stage(c, manifest, manifest_len, sig, sig_len,
	    cause) == -1)
		goto fail;
	return c;
fail:
	guestos_copy_free(c);
	return NULL;
}

/*
 * Sets *cause for an image whose size differs from the manifest's after
 * its copy started: it grew or shrank meanwhile.
 */
static void
guestos_copy_resized(const struct guestos_copy_image *img, char **cause)
{
	struct stat sb;
	char *q;

	q = jsonstrict_quotes(img->file);
	if (fstat(img->srcfd, &sb) == 0 && (long long)sb.st_size != img->size) {
		xcause(cause, "image '%s' has %lld bytes, the manifest "
		    "says %lld", q, (long long)sb.st_size, img->size);
	} else {
		xcause(cause, "image '%s' changed size while it was "
		    "copied", q);
	}
	free(q);
}

/*
 * Copies and hashes up to budget bytes (a budget of 0 means one buffer);
 * the hash covers the bytes as written.  1 when every image is in place
 * and matches, 0 when more remains, -1 with *cause set and the staging
 * directory removed.
 */
int
guestos_copy_step(struct guestos_copy *c, size_t budget, char **cause)
{
	struct guestos_copy_image *img;
	char hex[CRYPTO_SHA256_HEX], *q;
	size_t want;
	ssize_t n;

	if (c->state == GUESTOS_FAILED) {
		xcause(cause, "the copy of %s %s failed already",
		    c->name, c->version);
		return -1;
	}
	if (c->state != GUESTOS_COPYING)
		return 1;
	if (budget == 0)
		budget = GUESTOS_BUFSIZE;

	while (c->cur < c->nimages && budget > 0) {
		img = &c->images[c->cur];
		if (img->dstfd == -1) {
			img->dstfd = guestos_copy_create(c, img->file, cause);
			if (img->dstfd == -1)
				goto fail;
			c->hash = crypto_sha256_new();
			c->copied = 0;
		}
		if (c->copied < img->size) {
			want = guestos_step_len(img->size, c->copied, budget);
			if (img->ranged) {
				do {
					n = pread(img->srcfd, c->buf, want,
					    img->srcoff + c->copied);
				} while (n == -1 && errno == EINTR);
			} else
				n = guestos_read(img->srcfd, c->buf, want);
			if (n == -1) {
				q = jsonstrict_quotes(img->file);
				xcause(cause, "cannot read image '%s': "
				    "%s", q, strerror(errno));
				free(q);
				goto fail;
			}
			if (n == 0) {
				guestos_copy_resized(img, cause);
				goto fail;
			}
			if (file_write_all(img->dstfd, c->buf, (size_t)n) ==
			    -1) {
				q = jsonstrict_quotes(img->file);
				xcause(cause, "cannot write image '%s' "
				    "to %s: %s", q, c->destroot,
				    strerror(errno));
				free(q);
				goto fail;
			}
			crypto_hash_update(c->hash, c->buf, (size_t)n);
			c->copied += n;
			c->done += n;
			budget -= (size_t)n;
			continue;
		}

		/* Every byte is copied: the source must end here. */
		if (!img->ranged &&
		    (n = guestos_read(img->srcfd, c->buf, 1)) != 0) {
			if (n == -1) {
				q = jsonstrict_quotes(img->file);
				xcause(cause, "cannot read image '%s': "
				    "%s", q, strerror(errno));
				free(q);
			} else
				guestos_copy_resized(img, cause);
			goto fail;
		}
		if (guestos_hash_matches(&c->hash, img->sha256, hex) == -1) {
			q = jsonstrict_quotes(img->file);
			xcause(cause, "image '%s' does not match its "
			    "signed SHA-256 (got %s, manifest says %s)", q, hex,
			    img->sha256);
			free(q);
			goto fail;
		}
		close(img->srcfd);
		img->srcfd = -1;
		c->cur++;
	}
	if (c->cur < c->nimages)
		return 0;
	c->state = GUESTOS_COPIED;
	return 1;

fail:
	c->state = GUESTOS_FAILED;
	guestos_copy_discard(c);
	return -1;
}

/* Reports how far a copy is. */
void
guestos_copy_progress(const struct guestos_copy *c,
    struct guestos_progress *p)
{
	size_t i = c->cur < c->nimages ? c->cur : c->nimages - 1;

	p->file = c->nimages == 0 ? "" : c->images[i].file;
	p->done = c->done;
	p->total = c->total;
}

/* fsyncs fd, naming what in *cause on failure. */
static int
guestos_sync(int fd, const char *what, char **cause)
{
	if (fsync(fd) == -1) {
		xcause(cause, "cannot sync %s: %s", what,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Moves the staging directory to NAME/VERSION in rootfd without replacing
 * anything there; -1 with errno set (EEXIST when it exists).
 */
static int
guestos_rename_noreplace(int rootfd, const char *staging, int namefd,
    const char *version)
{
	struct stat sb;

	if (renameat2(rootfd, staging, namefd, version, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* A file system without RENAME_NOREPLACE: cmld is the only writer. */
	if (fstatat(namefd, version, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		return -1;
	}
	return renameat(rootfd, staging, namefd, version);
}

/*
 * Makes a finished copy durable and renames it to destroot/NAME/VERSION;
 * sets *path.  -1 with *cause set: nothing of the copy is left then.
 */
int
guestos_copy_commit(struct guestos_copy *c, char **path, char **cause)
{
	char *what = NULL, *q, *final = NULL;
	int namefd = -1, made = 0, moved = 0;
	size_t i;

	*path = NULL;
	if (c->state != GUESTOS_COPIED) {
		xcause(cause, "the copy of %s %s is not finished",
		    c->name, c->version);
		return -1;
	}
	for (i = 0; i < c->nimages + 2; i++) {
		free(what);
		what = xasprintf("%s/%s/%s", c->destroot, c->staging,
		    i < c->nimages ? c->images[i].file :
		    i == c->nimages ? GUESTOS_MANIFEST : GUESTOS_SIGNATURE);
		if (guestos_sync(i < c->nimages ? c->images[i].dstfd :
		    c->metafd[i - c->nimages], what, cause) == -1)
			goto fail;
	}
	free(what);
	what = xasprintf("%s/%s", c->destroot, c->staging);
	if (guestos_sync(c->stagefd, what, cause) == -1)
		goto fail;

	free(what);
	what = xasprintf("%s/%s", c->destroot, c->name);
	if (mkdirat(c->rootfd, c->name, 0700) == 0)
		made = 1;
	else if (errno != EEXIST) {
		xcause(cause, "cannot create %s: %s", what,
		    strerror(errno));
		goto fail;
	}
	namefd = openat(c->rootfd, c->name, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
	if (namefd == -1) {
		xcause(cause, "cannot open %s: %s", what,
		    strerror(errno));
		goto fail;
	}
	final = xasprintf("%s/%s", what, c->version);
	if (guestos_rename_noreplace(c->rootfd, c->staging, namefd,
	    c->version) == -1) {
		if (errno == EEXIST || errno == ENOTEMPTY) {
			q = jsonstrict_quotes(c->version);
			xcause(cause, "%s %s is already installed",
			    c->name, q);
			free(q);
		} else {
			xcause(cause, "cannot rename %s/%s to %s: %s",
			    c->destroot, c->staging, final, strerror(errno));
		}
		goto fail;
	}
	moved = 1;
	free(c->staging);
	c->staging = NULL;
	if (guestos_sync(namefd, what, cause) == -1 ||
	    guestos_sync(c->rootfd, c->destroot, cause) == -1)
		goto fail;

	c->state = GUESTOS_COMMITTED;
	guestos_copy_discard(c);
	close(namefd);
	free(what);
	*path = final;
	return 0;

fail:
	c->state = GUESTOS_FAILED;
	if (moved) {
		/* In place but not durable: take it out again. */
		if (file_remove_at(namefd, c->version, final, NULL) == 0)
			fsync(namefd);
	}
	if (namefd != -1)
		close(namefd);
	if (made && unlinkat(c->rootfd, c->name, AT_REMOVEDIR) == 0)
		fsync(c->rootfd);
	guestos_copy_discard(c);
	free(final);
	free(what);
	return -1;
}

/* Frees a copy; one not committed has its staging directory removed. */
void
guestos_copy_free(struct guestos_copy *c)
{
	size_t i;

	if (c == NULL)
		return;
	guestos_copy_discard(c);
	if (c->rootfd != -1)
		close(c->rootfd);
	for (i = 0; i < c->nimages; i++)
		free(c->images[i].file);
	free(c->images);
	free(c->buf);
	free(c->version);
	free(c->name);
	free(c->destroot);
	free(c);
}

/* One image being checked. */
struct guestos_check_image {
	char *file;
	long long size;
	char sha256[65];
	int fd; /* once checked: the very file that matched, or -1 */
};

struct guestos_check {
	int dirfd;
	char *label; /* "NAME VERSION", for messages */
	struct guestos_check_image *images;
	size_t nimages;
	size_t cur;
	int fd; /* the current image, or -1 */
	long long got; /* bytes of it hashed so far */
	struct crypto_hash *hash;
	unsigned char *buf;
	long long done;
	long long total;
	int failed;
	int no_hash; /* the images' blocks are checked as read (dm-verity) */
};

/*
 * Names an installed guest OS for messages from its directory,
 * .../NAME/VERSION: "NAME VERSION".
 */
static char *
guestos_check_label(const char *dir)
{
	char *copy, *version, *name, *label, *q1, *q2;
	size_t n;

	copy = xstrdup(dir);
	while ((n = strlen(copy)) > 1 && copy[n - 1] == '/')
		copy[n - 1] = '\0';
	if ((version = strrchr(copy, '/')) == NULL || version == copy) {
		label = jsonstrict_quotes(dir);
		free(copy);
		return label;
	}
	*version++ = '\0';
	name = strrchr(copy, '/');
	name = name == NULL ? copy : name + 1;
	q1 = jsonstrict_quotes(name);
	q2 = jsonstrict_quotes(version);
	label = xasprintf("%s %s", q1, q2);
	free(q2);
	free(q1);
	free(copy);
	return label;
}

/*
 * Starts checking the images of the installed guest OS in dir
 * (.../NAME/VERSION, which messages name as "NAME VERSION").  NULL with
 * *cause set.
 */
struct guestos_check *
guestos_check_begin(const char *dir, const struct guestos_image *images,
    size_t nimages, char **cause)
{
	struct guestos_check *k;
	char *q;
	size_t i;
	int fd;

	/* The names come from the store; they must not leave dir. */
	for (i = 0; i < nimages; i++) {
		if (images[i].file == NULL || images[i].file[0] == '\0' ||
		    images[i].file[0] == '.' ||
		    strchr(images[i].file, '/') != NULL) {
			q = jsonstrict_quotes(images[i].file == NULL ? "" :
			    images[i].file);
			xcause(cause, "image '%s' of %s is not a plain "
			    "file name", q, dir);
			free(q);
			return NULL;
		}
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		xcause(cause, "cannot open %s: %s", dir,
		    strerror(errno));
		return NULL;
	}
	k = xcalloc(1, sizeof *k);
	k->dirfd = fd;
	k->fd = -1;
	k->label = guestos_check_label(dir);
	k->nimages = nimages;
	k->images = xcalloc(nimages == 0 ? 1 : nimages, sizeof *k->images);
	for (i = 0; i < nimages; i++) {
		k->images[i].file = xstrdup(images[i].file);
		k->images[i].size = images[i].size;
		memcpy(k->images[i].sha256, images[i].sha256,
		    sizeof k->images[i].sha256);
		k->images[i].sha256[sizeof k->images[i].sha256 - 1] = '\0';
		k->images[i].fd = -1;
		if (images[i].size > 0 &&
		    k->total <= LLONG_MAX - images[i].size)
			k->total += images[i].size;
	}
	k->buf = xmalloc(GUESTOS_BUFSIZE);
	return k;
}

/* Opens the current image for checking. */
static int
guestos_check_open(struct guestos_check *k, const char *q, char **cause)
{
	const struct guestos_check_image *img = &k->images[k->cur];
	struct stat sb;

	if (fstatat(k->dirfd, img->file, &sb, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT) {
			xcause(cause, "image '%s' of %s is missing", q,
			    k->label);
		} else {
			xcause(cause, "cannot read image '%s' of %s: %s",
			    q, k->label, strerror(errno));
		}
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		xcause(cause, "image '%s' of %s is not a regular file",
		    q, k->label);
		return -1;
	}
	k->fd = openat(k->dirfd, img->file, O_RDONLY | O_NOFOLLOW | O_NOCTTY |
	    O_NONBLOCK | O_CLOEXEC);
	if (k->fd == -1 || fstat(k->fd, &sb) == -1) {
		if (errno == ELOOP) {
			xcause(cause, "image '%s' of %s is not a "
			    "regular file", q, k->label);
		} else {
			xcause(cause, "cannot read image '%s' of %s: %s",
			    q, k->label, strerror(errno));
		}
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		xcause(cause, "image '%s' of %s is not a regular file",
		    q, k->label);
		return -1;
	}
	if ((long long)sb.st_size != img->size) {
		xcause(cause, "image '%s' of %s was changed after "
		    "install: it has %lld bytes, expected %lld", q, k->label,
		    (long long)sb.st_size, img->size);
		return -1;
	}
	if (k->no_hash)
		return 0;
	(void)posix_fadvise(k->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	k->hash = crypto_sha256_new();
	k->got = 0;
	return 0;
}

void
guestos_check_skip_hash(struct guestos_check *k)
{
	k->no_hash = 1;
}

/*
 * Hashes up to budget bytes (a budget of 0 means one buffer): 1 when every
 * image matches, 0 when more remains, -1 with *cause naming the image and
 * what differs.
 */
int
guestos_check_step(struct guestos_check *k, size_t budget, char **cause)
{
	const struct guestos_check_image *img;
	char hex[CRYPTO_SHA256_HEX], *q = NULL;
	struct stat sb;
	size_t want;
	ssize_t n;

	if (k->failed) {
		xcause(cause, "the check of %s failed already",
		    k->label);
		return -1;
	}
	if (budget == 0)
		budget = GUESTOS_BUFSIZE;
	while (k->cur < k->nimages && budget > 0) {
		img = &k->images[k->cur];
		free(q);
		q = jsonstrict_quotes(img->file);
		if (k->fd == -1 && guestos_check_open(k, q, cause) == -1)
			goto fail;
		if (k->no_hash) {
			/* opened and its size checked: dm-verity does the rest */
			k->images[k->cur].fd = k->fd;
			k->fd = -1;
			k->done += img->size;
			k->cur++;
			continue;
		}
		if (k->got < img->size)
			want = guestos_step_len(img->size, k->got, budget);
		else
			want = 1; /* the file must end here */
		if ((n = guestos_read(k->fd, k->buf, want)) == -1) {
			xcause(cause, "cannot read image '%s' of %s: %s",
			    q, k->label, strerror(errno));
			goto fail;
		}
		if ((n == 0 && k->got < img->size) ||
		    (n > 0 && k->got == img->size)) {
			if (fstat(k->fd, &sb) == -1)
				sb.st_size = k->got + n;
			xcause(cause, "image '%s' of %s was changed "
			    "after install: it has %lld bytes, expected %lld",
			    q, k->label, (long long)sb.st_size, img->size);
			goto fail;
		}
		if (n > 0) {
			crypto_hash_update(k->hash, k->buf, (size_t)n);
			k->got += n;
			k->done += n;
			budget -= (size_t)n;
			continue;
		}

		if (guestos_hash_matches(&k->hash, img->sha256, hex) == -1) {
			xcause(cause, "image '%s' of %s was changed "
			    "after install: SHA-256 %s expected %s", q,
			    k->label, hex, img->sha256);
			goto fail;
		}
		/* Kept, so that what is used is what was checked. */
		k->images[k->cur].fd = k->fd;
		k->fd = -1;
		k->cur++;
	}
	free(q);
	return k->cur == k->nimages ? 1 : 0;

fail:
	free(q);
	k->failed = 1;
	if (k->fd != -1)
		close(k->fd);
	k->fd = -1;
	crypto_hash_free(k->hash);
	k->hash = NULL;
	return -1;
}

/* Reports how far a check is. */
void
guestos_check_progress(const struct guestos_check *k,
    struct guestos_progress *p)
{
	size_t i = k->cur < k->nimages ? k->cur : k->nimages - 1;

	p->file = k->nimages == 0 ? "" : k->images[i].file;
	p->done = k->done;
	p->total = k->total;
}

int
guestos_check_take_fd(struct guestos_check *k, size_t i)
{
	int fd;

	if (k->failed || k->cur < k->nimages || i >= k->nimages)
		return -1;
	fd = k->images[i].fd;
	k->images[i].fd = -1;
	return fd;
}

/* Frees a check; NULL does nothing. */
void
guestos_check_free(struct guestos_check *k)
{
	size_t i;

	if (k == NULL)
		return;
	if (k->fd != -1)
		close(k->fd);
	close(k->dirfd);
	crypto_hash_free(k->hash);
	for (i = 0; i < k->nimages; i++) {
		if (k->images[i].fd != -1)
			close(k->images[i].fd);
		free(k->images[i].file);
	}
	free(k->images);
	free(k->buf);
	free(k->label);
	free(k);
}
