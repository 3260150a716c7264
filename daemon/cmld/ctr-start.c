/*
 * Starting containers and finding them again.  A start is a job: the guest
 * OS is checked in steps (APS 02: its images are hashed again before every
 * start, and the very files hashed are what is mounted), then the start
 * is measured into tpm2d's measurement PCR and logged (measure.c: no
 * measurement, no start), then the container starts; c0 first, then the
 * autostart containers.  At cmld's start the stored containers are
 * loaded, and those still running from before are adopted, or cleaned up
 * when they ended or their guest OS no longer verifies.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "c-volume.h"
#include "cconfig.h"
#include "crypto.h"
#include "container.h"
#include "ctr.h"
#include "ctx.h"
#include "guestos-ready.h"
#include "guestos.h"
#include "log.h"
#include "measure.h"
#include "net.h"
#include "phases.h"
#include "provision.h"
#include "store.h"
#include "token.h"
#include "xmalloc.h"

/* Milliseconds of the monotonic clock. */
static long long
ctr_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A start: the guest OS checked in steps, then the container started. */
struct ctr_start_job {
	struct job job; /* first: the loop knows jobs by this */
	struct ctr *k;
	struct call *call; /* NULL for starts of cmld's own */
	struct guestos_ready *ready;
	int checked; /* the guest OS checked out */
	int verity; /* its images are mapped through dm-verity, not hashed */
	struct cvol *vol; /* the data volume being made ready; NULL: none */
	char *version;
	int then_autostart; /* c0: start the autostart containers after */
	long long last_ms;
	/* encrypted storage: when the unlock began, what it and the open took */
	long long unlock_t0, unlock_ms;
	struct phases ph; /* for a debug line at its end */
};

static void ctr_start_autostart(struct cmld *);
static int ctr_start_step(struct job *);
static void ctr_start_cancel(struct job *);

/* Ends a start: the state, the audit record, the answer. */
static void __attribute__((format(printf, 3, 4)))
ctr_start_done(struct ctr_start_job *sj, const char *error, const char *fmt,
    ...)
{
	struct ctr *k = sj->k;
	struct json_object *o;
	long long audit_ns;
	va_list ap;
	char *msg;

	phases_mark(&sj->ph, "done");
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatalx("out of memory");
	va_end(ap);
	k->starting = 0;
	/* The answer passes the audit's commit: named apart. */
	audit_ns = audit_commit_ns(k->cmld);
	if (error != NULL) {
		ctr_set_state(k, "failed", msg, NULL);
		if (sj->call != NULL)
			call_error(sj->call, error, NULL, "container '%s' did "
			    "not start: %s", k->name, msg);
		else
			audit_container(k->cmld, k->name, error,
			    "did not start: %s", msg);
		log_warnx("container %s did not start: %s", k->name, msg);
	} else {
		if (sj->call != NULL) {
			call_set_details(sj->call, "%s", msg);
			o = json_object_new_object();
			json_object_object_add(o, "name",
			    json_object_new_string(k->name));
			json_object_object_add(o, "state",
			    json_object_new_string(k->state));
			json_object_object_add(o, "pid",
			    json_object_new_int64((long long)k->rt->pid));
			if (k->cfg.storage_encrypted && sj->vol != NULL) {
				json_object_object_add(o, "unlock_ms",
				    json_object_new_int64(sj->unlock_ms));
				json_object_object_add(o, "open_ms",
				    json_object_new_int64(cvol_open_ms(sj->vol)));
				json_object_object_add(o, "keyslot_ms",
				    json_object_new_int64(
				    cvol_keyslot_ms(sj->vol)));
				json_object_object_add(o, "activate_ms",
				    json_object_new_int64(
				    cvol_activate_ms(sj->vol)));
				json_object_object_add(o, "fs_ms",
				    json_object_new_int64(cvol_fs_ms(sj->vol)));
			}
			call_reply(sj->call, o);
		} else
			audit_container(k->cmld, k->name, "ok",
			    "%s", msg);
		log_info("container %s: %s", k->name, msg);
	}
	phases_mark(&sj->ph, "reply");
	phases_move(&sj->ph, "reply", "audit",
	    audit_commit_ns(k->cmld) - audit_ns);
	phases_log(&sj->ph, "container %s %s", k->name, error != NULL ?
	    "did not start" : "started");
	free(msg);
	if (sj->then_autostart)
		ctr_start_autostart(k->cmld);
	guestos_ready_free(sj->ready);
	cvol_free(sj->vol);
	free(sj->version);
	free(sj);
}

/* Starts the container once its guest OS checked out. */
static void
ctr_start_launch(struct ctr_start_job *sj)
{
	struct ctr *k = sj->k;
	struct cmld *cmld = k->cmld;
	const struct guestos_manifest *m;
	char *cause = NULL, *inside;
	size_t i;
	int fd, rc;

	m = guestos_ready_manifest(sj->ready);
	k->rt = container_new(&k->cfg, guestos_ready_path(sj->ready), m,
	    cmld->ctr_dir, cmld->cgroup_parent, (int)k->idx);
	for (i = 0; i < m->nimages; i++) {
		if ((fd = guestos_ready_take_fd(sj->ready, i)) == -1) {
			cause = xasprintf("image %s of guest OS %s %s was not "
			    "checked", m->images[i].file, k->cfg.guestos_name,
			    sj->version);
			goto fail;
		}
		container_set_image_fd(k->rt, i, fd);
		if (sj->verity) {
			char dmname[64];

			snprintf(dmname, sizeof dmname, "cml-%s_v%zu", k->id,
			    i);
			container_set_image_verity(k->rt, i,
			    &m->images[i].verity, dmname);
		}
	}
	if (sj->vol != NULL && cvol_device(sj->vol) != NULL)
		container_set_volume_blockdev(k->rt, cvol_take_fd(sj->vol),
		    cvol_file(sj->vol), cvol_device(sj->vol),
		    k->cfg.volume_mount);
	else if (sj->vol != NULL)
		container_set_volume(k->rt, cvol_take_fd(sj->vol),
		    cvol_file(sj->vol), k->cfg.volume_mount);
	if (k->cfg.is_c0) {
		/*
		 * c0 manages the device: it reaches cmld's control socket.  The
		 * directory is bound, not the socket, so that c0 reaches the
		 * socket of a restarted cmld too.
		 */
		inside = xstrdup("/run/cml");
		rc = container_add_bind(k->rt, cmld->run_dir, inside, 1,
		    &cause);
		free(inside);
		if (rc == -1)
			goto fail;
	}
	phases_mark(&sj->ph, "prepare");
	/* its network, before the clone: a start it fails is refused */
	if (net_ctr_up(k, k->rt, &cause) == -1)
		goto fail;
	phases_mark(&sj->ph, "net");
	/* init's stdin, stdout and stderr: the console cmld keeps a log of */
	if ((fd = ctr_console_open(k)) != -1)
		container_set_console(k->rt, fd);
	phases_mark(&sj->ph, "console");
	container_set_phases(k->rt, &sj->ph);
	rc = container_start(k->rt, &cause);
	container_set_phases(k->rt, NULL);
	if (fd != -1)
		close(fd);
	if (rc == -1)
		goto fail;
	ctr_set_state(k, "running", NULL, sj->version);
	phases_mark(&sj->ph, "running");
	ctr_watch(k);
	ctr_start_done(sj, NULL, "started %s on %s %s, init pid %ld%s%s%s",
	    k->name, k->cfg.guestos_name, sj->version, (long)k->rt->pid,
	    sj->vol != NULL ? "; data volume " : "",
	    sj->vol != NULL ? cvol_done(sj->vol) : "",
	    sj->vol != NULL ? " and mounted" : "");
	return;
fail:
	container_free(k->rt);
	k->rt = NULL;
	net_ctr_down(k);
	ctr_start_done(sj, PROTO_ERR_FAILED, "%s", cause);
	free(cause);
}

/* The start was measured (or not): starts the container, or refuses. */
static void
ctr_start_measured(void *arg, const char *error, const char *cause)
{
	struct ctr_start_job *sj = arg;

	/* cmld is stopping (tpm2d's link ended): start nothing more */
	if (loop_quitting(sj->k->cmld->loop))
		sj->then_autostart = 0;
	if (error != NULL) {
		ctr_start_done(sj, error, "%s", cause);
		return;
	}
	ctr_start_launch(sj);
}

/*
 * Measures the start before init runs (CR 3.4(1)): the guest OS's
 * manifest as its signature verified it and the config as stored; the
 * job waits (parked) for tpm2d, then ctr_start_measured goes on.  A
 * start that cannot be measured is refused.
 */
static int
ctr_start_measure(struct ctr_start_job *sj)
{
	struct ctr *k = sj->k;
	struct store_container sc = { 0 };
	struct measure_what w;
	char *cause = NULL;
	int rc;

	if (store_container_get(k->cmld->store, k->name, &sc, &cause) != 1) {
		ctr_start_done(sj, PROTO_ERR_FAILED, "cannot read its config "
		    "to measure the start: %s", cause != NULL ? cause :
		    "it is gone");
		free(cause);
		store_container_clear(&sc);
		return JOB_DONE;
	}
	memset(&w, 0, sizeof w);
	w.container = k->name;
	w.guestos = k->cfg.guestos_name;
	w.version = sj->version;
	w.manifest = guestos_ready_manifest_bytes(sj->ready, &w.manifest_len);
	w.config = sc.config;
	w.config_len = sc.config_len;
	w.phases = &sj->ph;
	rc = measure_start(k->cmld, &w, ctr_start_measured, sj, &cause);
	store_container_clear(&sc);
	if (rc == -1) {
		ctr_start_done(sj, PROTO_ERR_FAILED, "%s", cause);
		free(cause);
		return JOB_DONE;
	}
	phases_mark(&sj->ph, "measure");
	return JOB_PARKED;
}

/* Checks a step of the guest OS; at the end starts the container. */
static int
ctr_start_step(struct job *job)
{
	struct ctr_start_job *sj = (struct ctr_start_job *)job;
	struct guestos_progress p;
	char *cause = NULL;
	int rc;

	if (sj->checked) {
		/* Then the data volume: made or checked by a child. */
		if ((rc = cvol_step(sj->vol, &cause)) == 0)
			return 0;
		if (rc == -1) {
			ctr_start_done(sj, cvol_refusal(sj->vol) ==
			    CVOL_REFUSED_KEY || cvol_refusal(sj->vol) ==
			    CVOL_REFUSED_INTEGRITY ? PROTO_ERR_INTEGRITY :
			    PROTO_ERR_FAILED, "%s", cause);
			free(cause);
			return 1;
		}
		phases_mark(&sj->ph, "volume");
		return ctr_start_measure(sj);
	}
	rc = guestos_ready_step(sj->ready, &cause);
	if (rc == 0) {
		if (sj->call != NULL && sj->last_ms == 0) {
			sj->last_ms = 1;
			guestos_ready_progress(sj->ready, &p);
			call_reply_more(sj->call, guestos_progress_reply(&p));
		}
		return 0;
	}
	if (rc == -1) {
		ctr_start_done(sj, PROTO_ERR_INTEGRITY, "guest OS %s %s: %s",
		    sj->k->cfg.guestos_name, sj->version, cause);
		free(cause);
		return 1;
	}
	phases_mark(&sj->ph, "hash");
	if (sj->vol != NULL) {
		sj->checked = 1;
		return 0;
	}
	return ctr_start_measure(sj);
}

/* Abandons a start at shutdown. */
static void
ctr_start_cancel(struct job *job)
{
	struct ctr_start_job *sj = (struct ctr_start_job *)job;

	sj->then_autostart = 0;
	ctr_start_done(sj, PROTO_ERR_FAILED, "cmld is stopping");
}

/*
 * Refuses a start (sj is freed): the state, the answer or the audit
 * record; a refused check or set-up is the container's state, busy is
 * not.
 */
static void
ctr_start_refuse(struct ctr_start_job *sj, const char *error, char *cause)
{
	struct ctr *k = sj->k;
	struct cmld *cmld = k->cmld;

	if (strcmp(error, PROTO_ERR_BUSY) != 0 &&
	    strcmp(error, PROTO_ERR_NOT_FOUND) != 0 && k->cfg_ok)
		ctr_set_state(k, "failed", cause, NULL);
	if (sj->call != NULL)
		call_error(sj->call, error, strcmp(error, PROTO_ERR_BUSY) == 0 ?
		    "name" : NULL,
		    "container '%s' did not start: %s", k->name, cause);
	else
		audit_container(cmld, k->name, error,
		    "did not start: %s", cause);
	if (sj->then_autostart)
		ctr_start_autostart(cmld);
	guestos_ready_free(sj->ready);
	cvol_free(sj->vol);
	free(sj->version);
	free(sj);
	free(cause);
}

/*
 * Sets the start going once everything it needs is there (for encrypted
 * storage, key: the container key, which goes to the volume's child
 * process and is wiped by the caller): the guest OS check and the data
 * volume, as a job.  -1 with *error and *cause set.
 */
static int
ctr_start_begin(struct ctr_start_job *sj, const unsigned char *key,
    size_t keylen, const char **error, char **cause)
{
	struct ctr *k = sj->k;
	struct cmld *cmld = k->cmld;
	struct store_container sc = { 0 };
	char *why = NULL;

	/* APS 02: the images are checked again before every start. */
	sj->ready = guestos_ready_open(cmld, k->cfg.guestos_name, sj->version,
	    1, error, &why);
	if (sj->ready == NULL) {
		*cause = xasprintf("guest OS %s %s: %s", k->cfg.guestos_name,
		    sj->version, why);
		free(why);
		return -1;
	}
	/*
	 * Where the kernel has dm-verity and every image carries a hash
	 * tree, the kernel checks each block against the signed root hash
	 * as it is read: the start does not hash the images (APS 02 holds
	 * for every byte used, and the start's time does not grow with the
	 * image's size).
	 */
	if (cmld->verity_ok && cmld->guestos_verity && strlen(k->id) == 32)
		sj->verity = guestos_ready_by_verity(sj->ready);
	phases_mark(&sj->ph, "manifest");
	if (k->cfg.volume_mount != NULL) {
		*error = PROTO_ERR_FAILED;
		if (store_container_get(cmld->store, k->name, &sc, &why) != 1) {
			*cause = xasprintf("cannot read its id: %s",
			    why != NULL ? why : "it is gone");
			free(why);
			store_container_clear(&sc);
			return -1;
		}
		/* The child checks or makes it meanwhile. */
		if (k->cfg.storage_encrypted &&
		    cvol_close_leftover(sc.uuid, cause) == -1) {
			store_container_clear(&sc);
			return -1;
		}
		if (k->cfg.storage_encrypted)
			sj->vol = cvol_open_encrypted(cmld->state_dir, k->name,
			    sc.uuid, k->cfg.volume_size_mb,
			    k->cfg.storage_integrity, key, keylen, cause);
		else
			sj->vol = cvol_open(cmld->state_dir, k->name, sc.uuid,
			    k->cfg.volume_size_mb, cause);
		store_container_clear(&sc);
		if (sj->vol == NULL)
			return -1;
		phases_mark(&sj->ph, "volume");
	}
	k->starting = 1;
	/*
	 * Stored: a cmld that dies now leaves the next one to look.  Not
	 * waited for on the disk: the start's one durable commit, of the
	 * state "running" or "failed" before the answer, puts it there; only
	 * an end of the whole system, which ends the start's processes and
	 * mounts too, could lose it before.
	 */
	ctr_set_state_lazy(k, "starting", NULL, sj->version);
	phases_mark(&sj->ph, "starting");
	sj->job.step = ctr_start_step;
	sj->job.cancel = ctr_start_cancel;
	loop_job_add(cmld->loop, &sj->job);
	return 0;
}

/*
 * The key of a container with encrypted storage was unlocked with the PIN
 * (or not: the call was answered, and the container stays locked).
 */
static void
ctr_start_unlocked(void *arg, const unsigned char *key, size_t len,
    const char *why)
{
	struct ctr_start_job *sj = arg;
	struct ctr *k = sj->k;
	const char *error = PROTO_ERR_FAILED;
	char *cause = NULL;

	k->starting = 0;
	sj->unlock_ms = ctr_ms() - sj->unlock_t0;
	phases_mark(&sj->ph, "unlock");
	if (key == NULL) {
		ctr_set_state(k, "locked", why, NULL);
		log_info("container %s stays locked: %s", k->name, why);
		free(sj->version);
		free(sj);
		return;
	}
	if (ctr_start_begin(sj, key, len, &error, &cause) == -1)
		ctr_start_refuse(sj, error, cause);
}

int
ctr_start(struct ctr *k, struct call *call, int then_autostart)
{
	struct cmld *cmld = k->cmld;
	struct ctr_start_job *sj;
	struct json_object *p;
	const char *error = PROTO_ERR_FAILED;
	char *cause = NULL, *version = NULL;

	sj = xcalloc(1, sizeof *sj);
	phases_begin(&sj->ph);
	sj->k = k;
	sj->call = call;
	sj->then_autostart = then_autostart;
	if (k->rt != NULL || k->starting || k->wiping) {
		error = PROTO_ERR_BUSY;
		cause = k->wiping ? xstrdup("its data is being wiped") :
		    xasprintf("it is %s already", k->state);
		goto fail;
	}
	if (!k->cfg_ok) {
		cause = xstrdup(k->reason != NULL ? k->reason :
		    "its config is refused");
		goto fail;
	}
	if (k->cfg.storage_encrypted && call == NULL) {
		/* TSF.CDATA: nobody is there to give the PIN. */
		cause = xasprintf("waiting for the PIN of its token: "
		    "'container start %s' unlocks it", k->name);
		ctr_set_state(k, "locked", cause, NULL);
		audit_container(cmld, k->name, "locked", "not started: %s",
		    cause);
		log_info("container %s is locked: %s", k->name, cause);
		free(cause);
		free(sj);
		return -1;
	}
	if (k->cfg.storage_encrypted && k->cfg.storage_integrity &&
	    !cvol_have_dm()) {
		cause = xstrdup(CVOL_NO_DM);
		goto fail;
	}
	if (k->cfg.storage_encrypted && !json_object_object_get_ex(call->params,
	    "pin", NULL)) {
		p = json_object_new_object();
		json_object_object_add(p, "secret",
		    json_object_new_string("pin"));
		call_error_params(call, PROTO_ERR_SECRET_REQUIRED, p,
		    "container '%s' keeps its data encrypted: the PIN of its "
		    "token unlocks it", k->name);
		free(sj);
		return -1;
	}
	if (guestos_newest(cmld, k->cfg.guestos_name,
	    k->cfg.guestos_min_version, &version, &cause) == -1)
		goto fail;
	sj->version = version;
	if (version == NULL) {
		error = PROTO_ERR_NOT_FOUND;
		cause = xasprintf("no version of guest OS '%s'%s%s is "
		    "installed", k->cfg.guestos_name,
		    k->cfg.guestos_min_version != NULL ? " >= " : "",
		    k->cfg.guestos_min_version != NULL ?
		    k->cfg.guestos_min_version : "");
		goto fail;
	}
	phases_mark(&sj->ph, "check");
	if (k->cfg.storage_encrypted) {
		/* The PIN first; the start goes on in ctr_start_unlocked. */
		sj->unlock_t0 = ctr_ms();
		if (token_unlock(call, k, ctr_start_unlocked, sj) == -1) {
			free(sj->version);
			free(sj);
			return -1;
		}
		k->starting = 1;
		call_defer(call);
		return 0;
	}
	if (ctr_start_begin(sj, NULL, 0, &error, &cause) == -1)
		goto fail;
	if (call != NULL)
		call_defer(call);
	return 0;
fail:
	ctr_start_refuse(sj, error, cause);
	return -1;
}

/* Starts the autostart containers (after c0 is up). */
static void
ctr_start_autostart(struct cmld *cmld)
{
	struct ctr *k;

	TAILQ_FOREACH(k, &cmld->ctrs, entry) {
		if (k->cfg_ok && !k->cfg.is_c0 && k->cfg.autostart &&
		    k->rt == NULL && !k->starting)
			(void)ctr_start(k, NULL, 0);
	}
}

/* Finds a container running since before this cmld started. */
static void
ctr_adopt(struct ctr *k, long long pid)
{
	struct cmld *cmld = k->cmld;
	struct guestos_ready *r;
	const char *error, *reason = strcmp(k->state, "starting") == 0 ?
	    "cmld ended while it was starting" :
	    "it ended while cmld was not running";
	char *cause = NULL;

	r = k->version != NULL ? guestos_ready_open(cmld, k->cfg.guestos_name,
	    k->version, 1, &error, &cause) : NULL;
	if (r == NULL) {
		struct guestos_manifest none;

		/*
		 * Its guest OS is gone or no longer verifies: it must not run
		 * on.  Found with an empty manifest, it is killed and purged.
		 */
		memset(&none, 0, sizeof none);
		k->rt = container_new(&k->cfg, "", &none, cmld->ctr_dir,
		    cmld->cgroup_parent, (int)k->idx);
		if (pid <= 0)
			pid = container_find(k->rt);
		if (pid > 0 && container_adopt(k->rt, (pid_t)pid, &cause) == 0)
			container_cleanup(k->rt);
		free(cause);
		cause = xstrdup("its guest OS is gone or no longer verifies");
		reason = "stopped when cmld started: its guest OS is gone or "
		    "no longer verifies";
		pid = 0;
	} else {
		k->rt = container_new(&k->cfg, guestos_ready_path(r),
		    guestos_ready_manifest(r), cmld->ctr_dir,
		    cmld->cgroup_parent, (int)k->idx);
		guestos_ready_free(r);
		if (pid <= 0)
			pid = container_find(k->rt);
	}
	if (k->rt != NULL && pid > 0 &&
	    container_adopt(k->rt, (pid_t)pid, &cause) == 0) {
		ctr_watch(k);
		if (strcmp(k->state, "starting") == 0 ||
		    strcmp(k->state, "stopping") == 0)
			ctr_set_state(k, "running", NULL, NULL);
		audit_container(cmld, k->name, "ok",
		    "found running after a cmld restart (init pid %lld)", pid);
		log_info("container %s found running (pid %lld)", k->name,
		    pid);
		return;
	}
	if (k->rt != NULL) {
		char *why = NULL;

		if (container_purge(k->rt, &why) == -1) {
			log_warnx("container %s: %s", k->name, why);
			free(why);
		}
		container_free(k->rt);
		k->rt = NULL;
	}
	ctr_set_state(k, "stopped", reason, NULL);
	audit_container(cmld, k->name, "stopped", "%s (%s); cleaned up",
	    reason, cause != NULL ? cause : "no init");
	free(cause);
}

/* Loads one stored container. */
static int
ctr_load_cb(const struct store_container *sc, void *arg)
{
	struct cmld *cmld = arg;
	struct ctr *k = ctr_from_store(cmld, sc);

	TAILQ_INSERT_TAIL(&cmld->ctrs, k, entry);
	if (strcmp(k->state, "stopped") != 0 &&
	    strcmp(k->state, "failed") != 0 &&
	    strcmp(k->state, "locked") != 0)
		ctr_adopt(k, sc->pid);
	ctr_sweep(k);
	return 0;
}

struct ctr *
ctr_c0_create(struct cmld *cmld, const char *token, const char **error,
    char **cause)
{
	struct ctr *c0;
	char *json;

	/* c0's config is cmld's own: on c0_guestos, started first. */
	json = xasprintf("{\"name\":\"c0\",\"guestos\":{\"name\":"
	    "\"%s\"},\"autostart\":true%s%s%s}", cmld->c0_guestos,
	    token != NULL ? ",\"cml\":{\"token\":{\"type\":\"" : "",
	    token != NULL ? token : "", token != NULL ? "\"}}" : "");
	c0 = ctr_create(cmld, json, strlen(json), NULL, 1, error, cause);
	free(json);
	if (c0 == NULL) {
		log_warnx("cannot create c0: %s", *cause);
		audit_container(cmld, "c0", *error, "cannot create c0: %s",
		    *cause);
	} else
		audit_container(cmld, "c0", "ok", "created c0 on guest OS "
		    "%s%s%s%s", cmld->c0_guestos, token != NULL ? " with a " :
		    "", token != NULL ? token : "", token != NULL ? " token" :
		    "");
	return c0;
}

void
containers_init(struct cmld *cmld)
{
	struct ctr *c0;
	const char *error;
	char *cause = NULL;

	if (store_container_list(cmld->store, ctr_load_cb, cmld, &cause) ==
	    -1)
		fatalx("cannot read the containers: %s", cause);
	/* The base ruleset and the orphans' removal come before any start. */
	net_init(cmld);

	/* c0, the management container, comes first; the others after. */
	c0 = ctr_find(cmld, CCONFIG_C0_NAME);
	if (c0 == NULL && cmld->c0_guestos[0] != '\0' &&
	    (c0 = ctr_c0_create(cmld, NULL, &error, &cause)) == NULL)
		free(cause);
	if (c0 != NULL && c0->rt == NULL && !c0->starting)
		(void)ctr_start(c0, NULL, 1);
	else
		ctr_start_autostart(cmld);
}
