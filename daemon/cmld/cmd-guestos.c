/*
 * org.cml.GuestOS: installing, listing, checking and removing signed guest
 * OSes (TSF.INIT, OS 03, APS 01/02, NDR 2.4(1), NDR 3.2).  Nothing is
 * installed before its manifest signature verifies, and nothing whose
 * bytes differ from the signed manifest.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmld.h"
#include "file.h"
#include "crypto.h"
#include "guestos.h"
#include "store.h"
#include "xmalloc.h"

/* Bytes copied or hashed per step of the event loop. */
#define GUESTOS_STEP (8 * 1024 * 1024)
/* At most one progress reply per this many milliseconds. */
#define GUESTOS_PROGRESS_MS 250
/* The largest signature file read. */
#define GUESTOS_SIG_MAX (64 * 1024)

char *
guestos_root(struct cmld *cmld)
{
	return xasprintf("%s/guestos", cmld->state_dir);
}

/* Returns CLOCK_MONOTONIC in milliseconds. */
static long long
guestos_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

/* A guest OS manifest read, its signature verified, and parsed. */
struct guestos_signed {
	char *manifest;
	size_t manifest_len;
	char *sig;
	size_t sig_len;
	struct crypto_signer signer;
	struct guestos_manifest m;
};

/* Releases what guestos_open_signed filled in. */
static void
guestos_signed_clear(struct guestos_signed *s)
{
	free(s->manifest);
	free(s->sig);
	crypto_signer_clear(&s->signer);
	guestos_manifest_clear(&s->m);
	memset(s, 0, sizeof *s);
}

/*
 * Reads the manifest and signature (passed in set, or in dirfd), verifies the signature
 * against the trust anchors, then parses the manifest.  -1 with *error
 * (the varlink error) and *cause set.
 */
static int
guestos_open_signed(struct cmld *cmld, int dirfd, struct file_set *set,
    struct guestos_signed *s, const char **error, char **cause)
{
	char *why = NULL;

	memset(s, 0, sizeof *s);
	if (guestos_read_file(dirfd, set, GUESTOS_MANIFEST, GUESTOS_MANIFEST_MAX,
	    &s->manifest, &s->manifest_len, &why) == -1) {
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
	if (crypto_verify_detached(cmld->trust, s->manifest, s->manifest_len,
	    s->sig, s->sig_len, &s->signer, &why) == -1) {
		*error = PROTO_ERR_INVALID_SIGNATURE;
		*cause = xasprintf("manifest signature: %s", why);
		goto fail;
	}
	if (guestos_manifest_parse(s->manifest, s->manifest_len, &s->m,
	    &why) == -1) {
		*error = PROTO_ERR_INVALID_ARGUMENT;
		*cause = xasprintf("manifest: %s", why);
		goto fail;
	}
	return 0;
fail:
	free(why);
	guestos_signed_clear(s);
	return -1;
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
	if (n->min != NULL && guestos_version_cmp(g->version, n->min) < 0)
		return 0;
	if (n->version == NULL ||
	    guestos_version_cmp(g->version, n->version) > 0) {
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

/* Sets *version to the newest installed version of name, or NULL. */
static int
guestos_newest_version(struct cmld *cmld, const char *name, char **version,
    char **cause)
{
	return guestos_newest(cmld, name, NULL, version, cause);
}

/* Returns a progress reply's parameters. */
static struct json_object *
guestos_progress_json(const struct guestos_progress *p)
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

struct install_job {
	struct job job; /* first: the loop knows jobs by this */
	struct call *call;
	char *srcdir;
	struct guestos_signed s;
	struct guestos_copy *copy;
	long long last_ms;
};

/* Frees an install job; an unfinished copy leaves nothing behind. */
static void
install_job_free(struct install_job *ij)
{
	guestos_copy_free(ij->copy);
	guestos_signed_clear(&ij->s);
	free(ij->srcdir);
	free(ij);
}

/* Records the installed guest OS; -1 with *cause set. */
static int
install_job_store(struct install_job *ij, const char *path, char **cause)
{
	struct store_guestos g = { 0 };
	const struct guestos_manifest *m = &ij->s.m;
	size_t i;
	int rc;

	g.name = m->name;
	g.version = m->version;
	g.description = m->description;
	g.init = m->init;
	g.signer = ij->s.signer.subject;
	g.path = (char *)path;
	g.installed_ms = audit_now_ms();
	g.nimages = m->nimages;
	g.images = xcalloc(m->nimages, sizeof *g.images);
	for (i = 0; i < m->nimages; i++) {
		g.images[i].file = m->images[i].file;
		g.images[i].size = m->images[i].size;
		memcpy(g.images[i].sha256, m->images[i].sha256,
		    sizeof g.images[i].sha256);
		g.images[i].fs = m->images[i].fs;
		g.images[i].mount = m->images[i].mount;
	}
	rc = store_guestos_add(call_cmld(ij->call)->store, &g, cause);
	free(g.images);
	if (rc == 1) {
		*cause = xasprintf("%s %s is already installed", m->name,
		    m->version);
		return -1;
	}
	return rc;
}

/* Copies a step; at the end commits, records and answers. */
static int
install_job_step(struct job *job)
{
	struct install_job *ij = (struct install_job *)job;
	struct call *call = ij->call;
	struct guestos_progress p;
	char *cause = NULL, *path = NULL, *why = NULL;
	long long now;
	int rc;

	rc = guestos_copy_step(ij->copy, GUESTOS_STEP, &cause);
	if (rc == 0) {
		now = guestos_now_ms();
		if (now - ij->last_ms >= GUESTOS_PROGRESS_MS) {
			ij->last_ms = now;
			guestos_copy_progress(ij->copy, &p);
			call_reply_more(call, guestos_progress_json(&p));
		}
		return 0;
	}
	if (rc == -1) {
		call_error(call, PROTO_ERR_INTEGRITY, NULL,
		    "guest OS in %s refused: %s", ij->srcdir, cause);
		goto done;
	}
	if (guestos_copy_commit(ij->copy, &path, &cause) == -1) {
		call_error(call, cause != NULL && strstr(cause,
		    "already installed") != NULL ? PROTO_ERR_DOWNGRADE :
		    PROTO_ERR_FAILED, NULL, "guest OS in %s refused: %s",
		    ij->srcdir, cause);
		goto done;
	}
	if (install_job_store(ij, path, &cause) == -1) {
		if (guestos_remove_dir(path, &why) == -1) {
			log_warnx("cannot remove %s: %s", path, why);
			free(why);
		}
		call_error(call, PROTO_ERR_FAILED, NULL,
		    "guest OS in %s refused: %s", ij->srcdir, cause);
		goto done;
	}
	call_set_details(call, "installed %s %s from %s, signed by %s",
	    ij->s.m.name, ij->s.m.version, ij->srcdir, ij->s.signer.subject);
	{
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name",
		    json_object_new_string(ij->s.m.name));
		json_object_object_add(o, "version",
		    json_object_new_string(ij->s.m.version));
		json_object_object_add(o, "signer",
		    json_object_new_string(ij->s.signer.subject));
		call_reply(call, o);
	}
done:
	free(cause);
	free(path);
	install_job_free(ij);
	return 1;
}

/* Abandons an install at shutdown. */
static void
install_job_cancel(struct job *job)
{
	struct install_job *ij = (struct install_job *)job;

	call_error(ij->call, PROTO_ERR_FAILED, NULL, "cmld is stopping: the "
	    "install of %s was abandoned and nothing was installed",
	    ij->srcdir);
	install_job_free(ij);
}

void
cmd_guestos_install(struct call *call)
{
	struct cmld *cmld = call_cmld(call);
	struct install_job *ij;
	struct json_object *dir, *files;
	struct file_set set;
	const char *path, *error = PROTO_ERR_INVALID_ARGUMENT;
	char *cause = NULL, *newest = NULL, *root = NULL;

	/* The client passed every entry of the directory it names. */
	memset(&set, 0, sizeof set);
	dir = json_object_object_get(call->params, "dir");
	path = json_object_get_string(json_object_object_get(dir, "name"));
	files = json_object_object_get(dir, "files");
	json_object_object_foreach(files, entry, v)
		(void)file_set_add(&set, entry,
		    call_take_fd_at(call, json_object_get_int64(v)));
	ij = xcalloc(1, sizeof *ij);
	ij->srcdir = xstrdup(path);
	if (guestos_open_signed(cmld, -1, &set, &ij->s, &error, &cause) == -1)
		goto fail;

	/* Versions only go up, unless the signed manifest allows it. */
	error = PROTO_ERR_FAILED;
	if (guestos_newest_version(cmld, ij->s.m.name, &newest, &cause) == -1)
		goto fail;
	error = PROTO_ERR_DOWNGRADE;
	if (newest != NULL && guestos_version_cmp(ij->s.m.version, newest) ==
	    0) {
		cause = xasprintf("%s %s is already installed", ij->s.m.name,
		    newest);
		goto fail;
	}
	if (newest != NULL && guestos_version_cmp(ij->s.m.version,
	    newest) < 0 && !ij->s.m.allow_downgrade) {
		cause = xasprintf("%s %s is older than the installed %s; a "
		    "downgrade needs a manifest signed with "
		    "\"allow_downgrade\": true", ij->s.m.name,
		    ij->s.m.version, newest);
		goto fail;
	}

	error = PROTO_ERR_INTEGRITY;
	root = guestos_root(cmld);
	ij->copy = guestos_copy_begin(&set, path, root, &ij->s.m,
	    ij->s.manifest,
	    ij->s.manifest_len, ij->s.sig, ij->s.sig_len, &cause);
	if (ij->copy == NULL)
		goto fail;

	ij->call = call;
	ij->job.step = install_job_step;
	ij->job.cancel = install_job_cancel;
	ij->last_ms = 0; /* the first step reports at once */
	call_defer(call);
	loop_job_add(cmld->loop, &ij->job);
	goto out;
fail:
	call_error(call, error, NULL, "guest OS in %s refused: %s", path,
	    cause);
	install_job_free(ij);
out:
	file_set_clear(&set);
	free(newest);
	free(root);
	free(cause);
}

/* Adds an installed guest OS to a List reply. */
static int
guestos_list_cb(const struct store_guestos *g, void *arg)
{
	struct json_object *o;
	long long size = 0;
	char when[32];
	size_t i;

	for (i = 0; i < g->nimages; i++)
		size += g->images[i].size;
	audit_format_time(g->installed_ms, when, sizeof when);
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(g->name));
	json_object_object_add(o, "version",
	    json_object_new_string(g->version));
	json_object_object_add(o, "signer", json_object_new_string(g->signer));
	json_object_object_add(o, "images",
	    json_object_new_int64((long long)g->nimages));
	json_object_object_add(o, "size", json_object_new_int64(size));
	json_object_object_add(o, "installed", json_object_new_string(when));
	json_object_array_add(arg, o);
	return 0;
}

void
cmd_guestos_list(struct call *call)
{
	struct json_object *list, *p;
	char *cause = NULL;

	list = json_object_new_array();
	if (store_guestos_list(call_cmld(call)->store, guestos_list_cb, list,
	    &cause) == -1) {
		json_object_put(list);
		call_error(call, PROTO_ERR_FAILED, NULL,
		    "cannot read the guest OSes: %s", cause);
		free(cause);
		return;
	}
	p = json_object_new_object();
	json_object_object_add(p, "guestos", list);
	call_reply(call, p);
}

/*
 * Looks up name and version (the newest when version is NULL): 1 found,
 * 0 answered with NotFound or an error.
 */
static int
guestos_lookup(struct call *call, const char *name, const char *version,
    struct store_guestos *g)
{
	char *newest = NULL, *cause = NULL;
	int rc;

	if (version == NULL) {
		if (guestos_newest_version(call_cmld(call), name, &newest,
		    &cause) == -1)
			goto fail;
		if (newest == NULL) {
			call_error(call, PROTO_ERR_NOT_FOUND, "name",
			    "no guest OS '%s' is installed: 'guestos list' "
			    "shows them", name);
			return 0;
		}
		version = newest;
	}
	rc = store_guestos_get(call_cmld(call)->store, name, version, g, &cause);
	if (rc == 1) {
		free(newest);
		return 1;
	}
	if (rc == 0) {
		call_error(call, PROTO_ERR_NOT_FOUND, "version",
		    "guest OS %s %s is not installed: 'guestos list' shows "
		    "what is", name, version);
		free(newest);
		return 0;
	}
fail:
	call_error(call, PROTO_ERR_FAILED, NULL, "cannot read guest OS %s: %s",
	    name, cause);
	free(cause);
	free(newest);
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
    const char **error, char **cause)
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
	if (guestos_open_signed(cmld, dirfd, NULL, &r->s, error, cause) == -1)
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
	return guestos_progress_json(p);
}

struct verify_job {
	struct job job; /* first: the loop knows jobs by this */
	struct call *call;
	char *name;
	char *version;
	struct guestos_ready *ready;
	long long last_ms;
};

/* Frees a verify job. */
static void
verify_job_free(struct verify_job *vj)
{
	guestos_ready_free(vj->ready);
	free(vj->name);
	free(vj->version);
	free(vj);
}

/* Hashes a step; at the end answers. */
static int
verify_job_step(struct job *job)
{
	struct verify_job *vj = (struct verify_job *)job;
	struct guestos_progress p;
	struct json_object *o;
	char *cause = NULL;
	long long now;
	int rc;

	rc = guestos_ready_step(vj->ready, &cause);
	if (rc == 0) {
		now = guestos_now_ms();
		if (now - vj->last_ms >= GUESTOS_PROGRESS_MS) {
			vj->last_ms = now;
			guestos_ready_progress(vj->ready, &p);
			call_reply_more(vj->call, guestos_progress_json(&p));
		}
		return 0;
	}
	if (rc == -1) {
		call_error(vj->call, PROTO_ERR_INTEGRITY, NULL,
		    "guest OS %s %s failed verification: %s", vj->name,
		    vj->version, cause);
		free(cause);
	} else {
		call_set_details(vj->call, "%s %s verified", vj->name,
		    vj->version);
		o = json_object_new_object();
		json_object_object_add(o, "name",
		    json_object_new_string(vj->name));
		json_object_object_add(o, "version",
		    json_object_new_string(vj->version));
		json_object_object_add(o, "result",
		    json_object_new_string("ok"));
		call_reply(vj->call, o);
	}
	verify_job_free(vj);
	return 1;
}

/* Abandons a verification at shutdown. */
static void
verify_job_cancel(struct job *job)
{
	struct verify_job *vj = (struct verify_job *)job;

	call_error(vj->call, PROTO_ERR_FAILED, NULL, "cmld is stopping: the "
	    "verification of %s %s was abandoned", vj->name, vj->version);
	verify_job_free(vj);
}

void
cmd_guestos_verify(struct call *call)
{
	struct store_guestos g = { 0 };
	struct verify_job *vj;
	struct json_object *v;
	const char *name, *version = NULL, *error = PROTO_ERR_FAILED;
	char *cause = NULL;

	name = json_object_get_string(json_object_object_get(call->params,
	    "name"));
	if (json_object_object_get_ex(call->params, "version", &v) &&
	    v != NULL)
		version = json_object_get_string(v);
	if (!guestos_lookup(call, name, version, &g))
		return;

	vj = xcalloc(1, sizeof *vj);
	vj->name = xstrdup(g.name);
	vj->version = xstrdup(g.version);
	store_guestos_clear(&g);
	vj->ready = guestos_ready_open(call_cmld(call), vj->name, vj->version,
	    &error, &cause);
	if (vj->ready == NULL) {
		call_error(call, error, NULL, "guest OS %s %s failed "
		    "verification: %s", vj->name, vj->version, cause);
		free(cause);
		verify_job_free(vj);
		return;
	}
	vj->call = call;
	vj->job.step = verify_job_step;
	vj->job.cancel = verify_job_cancel;
	vj->last_ms = 0; /* the first step reports at once */
	call_defer(call);
	loop_job_add(call_cmld(call)->loop, &vj->job);
}

/* Collects the installed versions of one guest OS. */
struct guestos_versions {
	const char *name;
	struct json_object *list; /* of strings */
};

static int
guestos_versions_cb(const struct store_guestos *g, void *arg)
{
	struct guestos_versions *gv = arg;

	if (strcmp(g->name, gv->name) == 0)
		json_object_array_add(gv->list,
		    json_object_new_string(g->version));
	return 0;
}

/* Removes <root>/NAME once its last version is gone. */
static void
guestos_remove_name_dir(struct cmld *cmld, const char *name)
{
	char *root, *dir;

	root = guestos_root(cmld);
	dir = xasprintf("%s/%s", root, name);
	if (rmdir(dir) == -1 && errno != ENOTEMPTY && errno != EEXIST &&
	    errno != ENOENT)
		log_warn("rmdir %s", dir);
	free(dir);
	free(root);
}

void
cmd_guestos_remove(struct call *call)
{
	struct guestos_versions gv;
	struct store_guestos g;
	struct json_object *v, *removed, *p;
	const char *name, *version;
	char *cause = NULL, *user = NULL;
	size_t i, n;
	int rc, all = 1;

	name = json_object_get_string(json_object_object_get(call->params,
	    "name"));
	gv.name = name;
	gv.list = json_object_new_array();
	if (json_object_object_get_ex(call->params, "version", &v) &&
	    v != NULL) {
		all = 0;
		json_object_array_add(gv.list,
		    json_object_new_string(json_object_get_string(v)));
	} else if (store_guestos_list(call_cmld(call)->store, guestos_versions_cb,
	    &gv, &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL,
		    "cannot read the guest OSes: %s", cause);
		goto out;
	}
	n = json_object_array_length(gv.list);
	rc = store_container_using_guestos(call_cmld(call)->store, name,
	    all ? NULL : json_object_get_string(json_object_array_get_idx(
	    gv.list, 0)), &user, &cause);
	if (rc == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL,
		    "cannot read the containers: %s", cause);
		goto out;
	}
	if (user != NULL) {
		call_error(call, PROTO_ERR_BUSY, "name", "guest OS %s%s%s is in "
		    "use by container '%s': %s it first", name, all ? "" : " ",
		    all ? "" : json_object_get_string(
		    json_object_array_get_idx(gv.list, 0)), user,
		    all ? "remove" : "stop");
		goto out;
	}
	if (n == 0) {
		call_error(call, PROTO_ERR_NOT_FOUND, "name", "no guest OS '%s' "
		    "is installed: 'guestos list' shows them", name);
		goto out;
	}
	removed = json_object_new_array();
	for (i = 0; i < n; i++) {
		version = json_object_get_string(
		    json_object_array_get_idx(gv.list, i));
		memset(&g, 0, sizeof g);
		rc = store_guestos_get(call_cmld(call)->store, name, version, &g,
		    &cause);
		if (rc == 1 && store_guestos_remove(call_cmld(call)->store, name,
		    version, &cause) == 1) {
			json_object_array_add(removed,
			    json_object_new_string(version));
			if (guestos_remove_dir(g.path, &cause) == -1) {
				log_warnx("%s %s: %s", name, version, cause);
				free(cause);
				cause = NULL;
			}
			store_guestos_clear(&g);
			continue;
		}
		store_guestos_clear(&g);
		if (rc == 0)
			call_error(call, PROTO_ERR_NOT_FOUND, "version",
			    "guest OS %s %s is not installed", name, version);
		else
			call_error(call, PROTO_ERR_FAILED, NULL,
			    "cannot remove guest OS %s %s: %s", name, version,
			    cause != NULL ? cause : "it is gone");
		json_object_put(removed);
		goto out;
	}
	guestos_remove_name_dir(call_cmld(call), name);
	call_set_details(call, "removed %s %s", name,
	    json_object_to_json_string_ext(removed, JSON_C_TO_STRING_PLAIN));
	p = json_object_new_object();
	json_object_object_add(p, "name", json_object_new_string(name));
	json_object_object_add(p, "removed", removed);
	call_reply(call, p);
out:
	json_object_put(gv.list);
	free(user);
	free(cause);
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
