/*
 * Installed guest OSes as cmld uses them: where they live, their signed
 * manifests read and verified against the trust anchors, the newest
 * version of one, the check of one before use (APS 02: the images are
 * hashed again before every start, and what is mounted is the very file
 * hashed), and, at start-up, the removal of what an interrupted install
 * left.  The format and the resumable copy and check are guestos.c's.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "crypto.h"
#include "ctx.h"
#include "file.h"
#include "guestos-ready.h"
#include "guestos.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"


char *
guestos_root(struct cmld *cmld)
{
	return xasprintf("%s/guestos", cmld->state_dir);
}

/*
 * Reads a small regular file name: the descriptor of that name a client
 * passed in set, or (set NULL) the file in dirfd, never through a symbolic
 * link.  Returns 0, or -1 with *cause set and errno kept (ENOENT, ELOOP,
 * EFBIG).
 */
static int
guestos_read_file(int dirfd, struct file_set *set, const char *name,
    size_t max, char **buf, size_t *len, char **cause)
{
	int fd, saved, rc;

	if (set != NULL) {
		if ((fd = file_set_take(set, name)) == -1)
			errno = ENOENT;
	} else
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC);
	if (fd == -1) {
		saved = errno;
		if (errno == ELOOP)
			*cause = xasprintf("%s is a symbolic link", name);
		else
			*cause = xasprintf("cannot open %s: %s", name,
			    strerror(errno));
		errno = saved;
		return -1;
	}
	rc = file_read_fd(fd, max, buf, len);
	saved = errno;
	close(fd);
	if (rc == 0)
		return 0;
	errno = saved;
	*cause = file_error(name, max);
	errno = saved == ENODATA ? EIO : saved;
	return -1;
}

void
guestos_signed_clear(struct guestos_signed *s)
{
	free(s->manifest);
	free(s->sig);
	crypto_signer_clear(&s->signer);
	guestos_manifest_clear(&s->m);
	memset(s, 0, sizeof *s);
}

/*
 * The signature checks of installed guest OSes kept, so that a start does
 * the check once per guest OS rather than once per start: an entry is the
 * SHA-256 of the manifest and of its signature as verified, against which
 * anchors (the trust store's generation) and until when (the earliest end
 * of validity on the verified chain).  A start reads both files again and
 * takes the kept result only for the very bytes verified, under the same
 * anchors, before that end and not before the check (a clock set back
 * checks again): what it verifies is then what it verified.
 */
#define GUESTOS_VCACHE_MAX 16

struct guestos_vcache_entry {
	int used;
	unsigned char manifest_md[CRYPTO_SHA256_LEN];
	unsigned char sig_md[CRYPTO_SHA256_LEN];
	unsigned long trust_gen;
	time_t verified_at;
	struct crypto_signer signer;
};

struct guestos_vcache {
	struct guestos_vcache_entry e[GUESTOS_VCACHE_MAX];
	size_t next; /* the entry replaced next */
};

/* Hashes len bytes of p into md. */
static void
guestos_md(const void *p, size_t len, unsigned char *md)
{
	struct crypto_hash *h = crypto_sha256_new();

	crypto_hash_update(h, p, len);
	crypto_hash_final(h, md);
}

/* Copies a signer (strings duplicated). */
static void
guestos_signer_copy(struct crypto_signer *to, const struct crypto_signer *from)
{
	*to = *from;
	to->subject = xstrdup(from->subject != NULL ? from->subject : "");
	to->issuer = xstrdup(from->issuer != NULL ? from->issuer : "");
}

/* Finds the kept check of what s holds: 1 (s->signer filled), or 0. */
static int
guestos_vcache_get(struct cmld *cmld, struct guestos_signed *s)
{
	struct guestos_vcache_entry *e;
	unsigned char mmd[CRYPTO_SHA256_LEN], smd[CRYPTO_SHA256_LEN];
	time_t now = time(NULL);
	size_t i;

	if (cmld->gcache == NULL)
		return 0;
	guestos_md(s->manifest, s->manifest_len, mmd);
	guestos_md(s->sig, s->sig_len, smd);
	for (i = 0; i < GUESTOS_VCACHE_MAX; i++) {
		e = &cmld->gcache->e[i];
		if (!e->used || e->trust_gen != cmld->trust_gen ||
		    now < e->verified_at || now >= e->signer.not_after ||
		    memcmp(e->manifest_md, mmd, sizeof mmd) != 0 ||
		    memcmp(e->sig_md, smd, sizeof smd) != 0)
			continue;
		guestos_signer_copy(&s->signer, &e->signer);
		return 1;
	}
	return 0;
}

/* Keeps the check of what s holds, just verified. */
static void
guestos_vcache_put(struct cmld *cmld, const struct guestos_signed *s)
{
	struct guestos_vcache_entry *e;

	if (cmld->gcache == NULL)
		cmld->gcache = xcalloc(1, sizeof *cmld->gcache);
	e = &cmld->gcache->e[cmld->gcache->next];
	cmld->gcache->next = (cmld->gcache->next + 1) % GUESTOS_VCACHE_MAX;
	crypto_signer_clear(&e->signer);
	guestos_md(s->manifest, s->manifest_len, e->manifest_md);
	guestos_md(s->sig, s->sig_len, e->sig_md);
	e->trust_gen = cmld->trust_gen;
	e->verified_at = time(NULL);
	guestos_signer_copy(&e->signer, &s->signer);
	e->used = 1;
}

void
guestos_vcache_free(struct cmld *cmld)
{
	size_t i;

	if (cmld->gcache == NULL)
		return;
	for (i = 0; i < GUESTOS_VCACHE_MAX; i++)
		crypto_signer_clear(&cmld->gcache->e[i].signer);
	free(cmld->gcache);
	cmld->gcache = NULL;
}

/*
 * guestos_open_signed; with kept set, the signature check is the one kept
 * for these very bytes where there is one (and kept after a check).
 */
static int
guestos_open_signed_kept(struct cmld *cmld, int dirfd, struct file_set *set,
    struct guestos_signed *s, int kept, const char **error, char **cause)
{
	char *why = NULL;

	memset(s, 0, sizeof *s);
	if (guestos_read_file(dirfd, set, GUESTOS_MANIFEST,
	    GUESTOS_MANIFEST_MAX, &s->manifest, &s->manifest_len,
	    &why) == -1) {
		*error = errno == ELOOP ? PROTO_ERR_INTEGRITY :
		    PROTO_ERR_INVALID_ARGUMENT;
		*cause = errno == ENOENT ?
		    xstrdup("there is no " GUESTOS_MANIFEST) : xstrdup(why);
		goto fail;
	}
	if (guestos_read_file(dirfd, set, GUESTOS_SIGNATURE, GUESTOS_SIG_MAX,
	    &s->sig, &s->sig_len, &why) == -1) {
		*error = errno == ELOOP ? PROTO_ERR_INTEGRITY :
		    PROTO_ERR_INVALID_SIGNATURE;
		*cause = errno == ENOENT ? xstrdup("the manifest is not "
		    "signed: " GUESTOS_SIGNATURE " is missing") :
		    xstrdup(why);
		goto fail;
	}
	if (guestos_signed_check(cmld, s, kept, error, cause) == -1)
		goto fail;
	return 0;
fail:
	free(why);
	guestos_signed_clear(s);
	return -1;
}

int
guestos_signed_check(struct cmld *cmld, struct guestos_signed *s, int kept,
    const char **error, char **cause)
{
	char *why = NULL;

	if (!kept || guestos_vcache_get(cmld, s) == 0) {
		if (crypto_verify_detached(cmld->trust, s->manifest,
		    s->manifest_len, s->sig, s->sig_len, &s->signer,
		    &why) == -1) {
			*error = PROTO_ERR_INVALID_SIGNATURE;
			*cause = xasprintf("manifest signature: %s", why);
			free(why);
			return -1;
		}
		if (kept)
			guestos_vcache_put(cmld, s);
	}
	if (guestos_manifest_parse(s->manifest, s->manifest_len, &s->m,
	    &why) == -1) {
		*error = PROTO_ERR_INVALID_ARGUMENT;
		*cause = xasprintf("manifest: %s", why);
		free(why);
		return -1;
	}
	return 0;
}

int
guestos_open_signed(struct cmld *cmld, int dirfd, struct file_set *set,
    struct guestos_signed *s, const char **error, char **cause)
{
	return guestos_open_signed_kept(cmld, dirfd, set, s, 0, error, cause);
}

/* Finds the newest installed version of a guest OS, at least min. */
struct guestos_newest {
	const char *name;
	const char *min; /* NULL: any */
	char *version;
};

static int
guestos_newest_cb(const struct store_guestos *g, void *arg)
{
	struct guestos_newest *n = arg;

	if (strcmp(g->name, n->name) != 0)
		return 0;
	if (n->min != NULL && names_version_cmp(g->version, n->min) < 0)
		return 0;
	if (n->version == NULL ||
	    names_version_cmp(g->version, n->version) > 0) {
		free(n->version);
		n->version = xstrdup(g->version);
	}
	return 0;
}

int
guestos_newest(struct cmld *cmld, const char *name, const char *min,
    char **version, char **cause)
{
	struct guestos_newest n = { .name = name, .min = min };

	if (store_guestos_list(cmld->store, guestos_newest_cb, &n, cause) ==
	    -1) {
		free(n.version);
		return -1;
	}
	*version = n.version;
	return 0;
}

/*
 * Checks that the images the store lists are those of the signed manifest;
 * -1 with *cause set when the store was changed behind cmld's back.
 */
static int
guestos_store_matches(const struct store_guestos *g,
    const struct guestos_manifest *m, char **cause)
{
	size_t i;

	if (g->nimages != m->nimages || strcmp(g->name, m->name) != 0 ||
	    strcmp(g->version, m->version) != 0)
		goto differ;
	for (i = 0; i < m->nimages; i++) {
		if (strcmp(g->images[i].file, m->images[i].file) != 0 ||
		    g->images[i].size != m->images[i].size ||
		    strcmp(g->images[i].sha256, m->images[i].sha256) != 0)
			goto differ;
	}
	return 0;
differ:
	*cause = xstrdup("the stored image list differs from the signed "
	    "manifest");
	return -1;
}

/* An installed guest OS being checked before use or on request. */
struct guestos_ready {
	struct store_guestos g;
	struct guestos_signed s;
	struct guestos_check *check;
};

void
guestos_ready_free(struct guestos_ready *r)
{
	if (r == NULL)
		return;
	guestos_check_free(r->check);
	guestos_signed_clear(&r->s);
	store_guestos_clear(&r->g);
	free(r);
}

struct guestos_ready *
guestos_ready_open(struct cmld *cmld, const char *name, const char *version,
    int kept, const char **error, char **cause)
{
	struct guestos_ready *r;
	char *why = NULL;
	int dirfd = -1, rc;

	r = xcalloc(1, sizeof *r);
	*error = PROTO_ERR_FAILED;
	rc = store_guestos_get(cmld->store, name, version, &r->g, &why);
	if (rc != 1) {
		*error = rc == 0 ? PROTO_ERR_NOT_FOUND : PROTO_ERR_FAILED;
		*cause = rc == 0 ? xasprintf("guest OS %s %s is not installed",
		    name, version) : xstrdup(why);
		goto fail;
	}
	dirfd = open(r->g.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (dirfd == -1) {
		*error = PROTO_ERR_INTEGRITY;
		*cause = xasprintf("cannot open %s: %s", r->g.path,
		    strerror(errno));
		goto fail;
	}
	if (guestos_open_signed_kept(cmld, dirfd, NULL, &r->s, kept, error,
	    cause) == -1)
		goto fail;
	*error = PROTO_ERR_INTEGRITY;
	if (guestos_store_matches(&r->g, &r->s.m, cause) == -1)
		goto fail;
	r->check = guestos_check_begin(r->g.path, r->s.m.images,
	    r->s.m.nimages, cause);
	if (r->check == NULL)
		goto fail;
	close(dirfd);
	return r;
fail:
	if (dirfd != -1)
		close(dirfd);
	free(why);
	guestos_ready_free(r);
	return NULL;
}

int
guestos_ready_by_verity(struct guestos_ready *r)
{
	size_t i;

	for (i = 0; i < r->s.m.nimages; i++) {
		if (!r->s.m.images[i].verity.present)
			return 0;
	}
	guestos_check_skip_hash(r->check);
	return 1;
}

int
guestos_ready_step(struct guestos_ready *r, char **cause)
{
	return guestos_check_step(r->check, GUESTOS_STEP, cause);
}

void
guestos_ready_progress(const struct guestos_ready *r,
    struct guestos_progress *p)
{
	guestos_check_progress(r->check, p);
}

const struct guestos_manifest *
guestos_ready_manifest(const struct guestos_ready *r)
{
	return &r->s.m;
}

const char *
guestos_ready_manifest_bytes(const struct guestos_ready *r, size_t *len)
{
	*len = r->s.manifest_len;
	return r->s.manifest;
}

const char *
guestos_ready_path(const struct guestos_ready *r)
{
	return r->g.path;
}

int
guestos_ready_take_fd(struct guestos_ready *r, size_t i)
{
	return guestos_check_take_fd(r->check, i);
}

struct json_object *
guestos_progress_reply(const struct guestos_progress *p)
{
	struct json_object *o, *pr;

	pr = json_object_new_object();
	json_object_object_add(pr, "file",
	    json_object_new_string(p->file != NULL ? p->file : ""));
	json_object_object_add(pr, "done", json_object_new_int64(p->done));
	json_object_object_add(pr, "total", json_object_new_int64(p->total));
	o = json_object_new_object();
	json_object_object_add(o, "progress", pr);
	return o;
}

/* Says whether the store knows NAME/VERSION. */
static int
guestos_known(struct cmld *cmld, const char *name, const char *version)
{
	struct store_guestos g = { 0 };
	char *cause = NULL;
	int rc;

	rc = store_guestos_get(cmld->store, name, version, &g, &cause);
	store_guestos_clear(&g);
	if (rc == -1) {
		log_warnx("%s", cause);
		free(cause);
		return 1; /* keep what cannot be checked */
	}
	return rc;
}

/* Removes a leftover directory, audited. */
static void
guestos_remove_leftover(struct cmld *cmld, const char *path, const char *why)
{
	char *cause = NULL;

	if (guestos_remove_dir(path, &cause) == -1) {
		log_warnx("cannot remove leftover %s: %s", path, cause);
		free(cause);
		return;
	}
	log_info("removed %s: %s", path, why);
	audit_write(cmld, "daemon", "guestos", "ok", "removed %s: %s",
	    path, why);
}

void
guestos_reconcile(struct cmld *cmld)
{
	struct dirent *de, *ve;
	DIR *d, *vd;
	char *root, *path, *vpath;

	root = guestos_root(cmld);
	if ((d = opendir(root)) == NULL) {
		free(root);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		path = xasprintf("%s/%s", root, de->d_name);
		if (strncmp(de->d_name, ".staging-", 9) == 0) {
			guestos_remove_leftover(cmld, path,
			    "an interrupted install");
			free(path);
			continue;
		}
		if ((vd = opendir(path)) != NULL) {
			while ((ve = readdir(vd)) != NULL) {
				if (ve->d_name[0] == '.')
					continue;
				if (guestos_known(cmld, de->d_name,
				    ve->d_name))
					continue;
				vpath = xasprintf("%s/%s", path, ve->d_name);
				guestos_remove_leftover(cmld, vpath,
				    "no guest OS of the store");
				free(vpath);
			}
			closedir(vd);
		}
		free(path);
	}
	closedir(d);
	free(root);
}
