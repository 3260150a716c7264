/*
 * org.cml.GuestOS: installing, listing, checking and removing signed guest
 * OSes (TSF.INIT, OS 03, APS 01/02, NDR 2.4(1), NDR 3.2).  Nothing is
 * installed before its manifest signature verifies, and nothing whose
 * bytes differ from the signed manifest.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "ctx.h"
#include "file.h"
#include "guestos-ready.h"
#include "guestos.h"
#include "handlers.h"
#include "log.h"
#include "store.h"
#include "update.h"
#include "xmalloc.h"

/* At most one progress reply per this many milliseconds. */
#define GUESTOS_PROGRESS_MS 250

/* Sets *version to the newest installed version of name, or NULL. */
static int
guestos_newest_version(struct cmld *cmld, const char *name, char **version,
    char **cause)
{
	return guestos_newest(cmld, name, NULL, version, cause);
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

int
guestos_store_installed(struct cmld *cmld, const struct guestos_signed *s,
    const char *path, char **cause)
{
	struct store_guestos g = { 0 };
	const struct guestos_manifest *m = &s->m;
	size_t i;
	int rc;

	g.name = m->name;
	g.version = m->version;
	g.description = m->description;
	g.init = m->init;
	g.signer = s->signer.subject;
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
	rc = store_guestos_add(cmld->store, &g, cause);
	free(g.images);
	if (rc == 1) {
		*cause = xasprintf("%s %s is already installed", m->name,
		    m->version);
		return -1;
	}
	return rc;
}

/* Answers an install that is in place (its floor raised). */
static void
install_job_answer(void *arg)
{
	struct install_job *ij = arg;
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(ij->s.m.name));
	json_object_object_add(o, "version",
	    json_object_new_string(ij->s.m.version));
	json_object_object_add(o, "signer",
	    json_object_new_string(ij->s.signer.subject));
	call_reply(ij->call, o);
	install_job_free(ij);
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
		now = loop_now_ms();
		if (now - ij->last_ms >= GUESTOS_PROGRESS_MS) {
			ij->last_ms = now;
			guestos_copy_progress(ij->copy, &p);
			call_reply_more(call, guestos_progress_reply(&p));
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
	if (guestos_store_installed(call_cmld(call), &ij->s, path, &cause) ==
	    -1) {
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
	free(cause);
	free(path);
	/* An allowed downgrade does not raise the floor. */
	if (ij->s.m.allow_downgrade)
		install_job_answer(ij);
	else
		update_floor_raise_then(call_cmld(call), "guestos",
		    ij->s.m.name, ij->s.m.version, install_job_answer, ij);
	return 1;
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

/*
 * The TPM's floor is known: below the floor nothing installs, unless the
 * signed manifest allows a downgrade, which then does not raise it.
 */
static void
install_job_floor(void *arg, int avail, const char *tpm_floor,
    const char *note)
{
	struct install_job *ij = arg;
	struct cmld *cmld = call_cmld(ij->call);
	const char *error;
	char *cause = NULL, *floor = NULL;

	if (update_floor_check(cmld, "guestos", ij->s.m.name, ij->s.m.version,
	    avail, tpm_floor, note, &floor, &error, &cause) == -1 &&
	    (strcmp(error, PROTO_ERR_DOWNGRADE) != 0 ||
	    !ij->s.m.allow_downgrade)) {
		call_error(ij->call, error, NULL, "guest OS in %s refused: %s",
		    ij->srcdir, cause);
		install_job_free(ij);
	} else
		loop_job_add(cmld->loop, &ij->job);
	free(floor);
	free(cause);
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
	if (newest != NULL && names_version_cmp(ij->s.m.version, newest) ==
	    0) {
		cause = xasprintf("%s %s is already installed", ij->s.m.name,
		    newest);
		goto fail;
	}
	if (newest != NULL && names_version_cmp(ij->s.m.version,
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
	/* The floor: the state store's and the TPM's (update.h). */
	update_floor_ask(cmld, "guestos", ij->s.m.name, install_job_floor, ij);
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
		now = loop_now_ms();
		if (now - vj->last_ms >= GUESTOS_PROGRESS_MS) {
			vj->last_ms = now;
			guestos_ready_progress(vj->ready, &p);
			call_reply_more(vj->call, guestos_progress_reply(&p));
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
	    0, &error, &cause);
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

