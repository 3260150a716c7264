/*
 * The containers cmld knows: their registry (c0 first), configs checked
 * against each other, their lifecycle state recorded in the store (every
 * change one transaction) and audited, the watch on each init and the stop
 * timeout, and what is done when init ends: reaped, recorded, answered.
 * (TSF.ISOL, TSF.DEV, OS 01/02/05, APS 02/04/05, CR 7.1/7.2/7.7.)
 */
#include "config.h"

#include <sys/epoll.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cconfig.h"
#include "container.h"
#include "c-volume.h"
#include "ctr.h"
#include "ctx.h"
#include "guestos-ready.h"
#include "log.h"
#include "net.h"
#include "store.h"
#include "xmalloc.h"

struct ctr *
ctr_find(struct cmld *cmld, const char *name)
{
	struct ctr *k;

	TAILQ_FOREACH(k, &cmld->ctrs, entry)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

/* Frees a container object (not what runs). */
static void
ctr_free(struct ctr *k)
{
	loop_timer_stop(k->cmld->loop, &k->timer);
	loop_timer_stop(k->cmld->loop, &k->ttimer);
	loop_timer_stop(k->cmld->loop, &k->vtimer);
	if (k->console_free != NULL)
		k->console_free(k);
	net_ctr_forget(k);
	cconfig_clear(&k->cfg);
	free(k->name);
	free(k->id);
	free(k->signer);
	free(k->state);
	free(k->reason);
	free(k->version);
	free(k);
}

void
ctr_store_lazy(struct cmld *cmld, int lazy)
{
	char *cause = NULL;

	if (store_durable(cmld->store, !lazy, &cause) == 0)
		return;
	/* Not lazy after all: only slower. */
	if (lazy) {
		log_warnx("%s", cause);
		free(cause);
		return;
	}
	/* Every answer after this would rest on commits that may not last. */
	fatalx("%s", cause);
}

/* Stores a state; lazy: the commit does not wait for the disk. */
static void
ctr_state_write(struct ctr *k, const char *state, const char *reason,
    const char *version, int lazy)
{
	char *cause = NULL;
	long long pid = k->rt != NULL ? (long long)k->rt->pid : 0;

	if (lazy)
		ctr_store_lazy(k->cmld, 1);
	if (store_container_set_state(k->cmld->store, k->name, state, reason,
	    pid, version, &cause) == -1) {
		log_warnx("container %s: cannot record state %s: %s", k->name,
		    state, cause);
		free(cause);
		cause = NULL;
	}
	if (lazy)
		ctr_store_lazy(k->cmld, 0);
	free(k->state);
	k->state = xstrdup(state);
	free(k->reason);
	k->reason = reason != NULL ? xstrdup(reason) : NULL;
	if (version != NULL) {
		free(k->version);
		k->version = xstrdup(version);
	}
}

void
ctr_set_state(struct ctr *k, const char *state, const char *reason,
    const char *version)
{
	ctr_state_write(k, state, reason, version, 0);
}

void
ctr_set_state_lazy(struct ctr *k, const char *state, const char *reason,
    const char *version)
{
	ctr_state_write(k, state, reason, version, 1);
}

static void ctr_exited(struct ctr *);

/* Init's pidfd is readable: init ended. */
static void
ctr_init_event(struct loop_watch *w, unsigned int events)
{
	struct ctr *k = w->arg;

	(void)events;
	if (k->rt != NULL)
		ctr_exited(k);
}

void
ctr_watch(struct ctr *k)
{
	if (loop_watch_add(k->cmld->loop, &k->pw, k->rt->pidfd, EPOLLIN,
	    ctr_init_event, k) == -1)
		log_warn("container %s: cannot watch its init", k->name);
}

/* How often a stop looks whether the init catches SIGTERM yet. */
#define CTR_TERM_POLL_MS 20

/* Stops the stop timeout and the watch on init's SIGTERM handler. */
static void
ctr_timer_off(struct ctr *k)
{
	loop_timer_stop(k->cmld->loop, &k->timer);
	loop_timer_stop(k->cmld->loop, &k->ttimer);
}

/*
 * During a stop whose SIGTERM found an init that did not catch it: once
 * the init catches SIGTERM, sends it again; until then looks again every
 * CTR_TERM_POLL_MS (until the stop timeout).  The look reads /proc once.
 */
static void
ctr_term_check(struct ctr *k)
{
	char *cause = NULL;
	int a;

	if (k->rt == NULL)
		return;
	a = container_sigaction(k->rt, SIGTERM);
	if (a == -1)
		return; /* gone: its end is on its way */
	if (a != CONTAINER_SIG_CAUGHT) {
		k->term_watch = a;
		if (loop_timer_start(k->cmld->loop, &k->ttimer,
		    CTR_TERM_POLL_MS) == -1)
			log_warn("container %s: cannot watch whether its init "
			    "catches SIGTERM", k->name);
		return;
	}
	k->term_watch = CONTAINER_SIG_CAUGHT;
	log_info("container %s: its init catches SIGTERM now, %lld ms after "
	    "the stop: SIGTERM sent again", k->name,
	    loop_now_ms() - k->term_since);
	if (container_signal(k->rt, SIGTERM, &cause) == -1) {
		log_warnx("container %s: %s", k->name, cause);
		free(cause);
	}
}

/* The watch's timer: looks again. */
static void
ctr_term_timer(struct loop_timer *t)
{
	struct ctr *k = t->arg;

	loop_timer_stop(k->cmld->loop, &k->ttimer);
	ctr_term_check(k);
}

/* What the init did with SIGTERM, for a reason: "does not catch". */
static const char *
ctr_term_words(const struct ctr *k)
{
	return k->term_watch == CONTAINER_SIG_IGNORED ? "ignores" :
	    "does not catch";
}

/* The stop timeout passed: init gets SIGKILL. */
static void
ctr_timer_fired(struct loop_timer *t)
{
	struct ctr *k = t->arg;
	char *cause = NULL;

	/* Its init never caught SIGTERM: the end's reason says so. */
	k->term_missed = k->term_watch != CONTAINER_SIG_CAUGHT;
	ctr_timer_off(k);
	if (k->rt == NULL)
		return;
	if (k->term_missed)
		log_info("container %s: its init %s SIGTERM", k->name,
		    ctr_term_words(k));
	log_info("container %s did not stop within %lld s: killing it",
	    k->name, k->stop_secs);
	if (container_signal(k->rt, SIGKILL, &cause) == -1) {
		log_warnx("container %s: %s", k->name, cause);
		free(cause);
	}
}

/* Arms the stop timeout: SIGKILL when init has not ended by then. */
static void
ctr_timer_on(struct ctr *k)
{
	k->stop_secs = k->cmld->stop_timeout;
	if (loop_timer_start(k->cmld->loop, &k->timer,
	    k->stop_secs * 1000) == -1)
		log_warn("container %s: cannot arm its stop timeout",
		    k->name);
}

static void ctr_volume_timer(struct loop_timer *);

/*
 * Checks cfg against the other containers: exclusive devices and the one
 * time container.  -1 with *cause set.
 */
int
ctr_check_others(struct cmld *cmld, const struct cconfig *cfg, char **cause)
{
	const struct cconfig_device *d;
	struct ctr *k;
	char *rule;
	size_t i;

	TAILQ_FOREACH(k, &cmld->ctrs, entry) {
		if (!k->cfg_ok || strcmp(k->name, cfg->name) == 0)
			continue;
		if (cfg->time && k->cfg.time) {
			*cause = xasprintf("container '%s' is the time "
			    "container already: there is only one", k->name);
			return -1;
		}
		for (i = 0; i < cfg->ndevices; i++) {
			d = &cfg->devices[i];
			if (!d->exclusive || !cconfig_allows_device(&k->cfg,
			    d->type, d->major, d->minor))
				continue;
			rule = cconfig_device_string(d);
			*cause = xasprintf("device %s is to be assigned "
			    "exclusively, but container '%s' may use it too",
			    rule, k->name);
			free(rule);
			return -1;
		}
		for (i = 0; i < k->cfg.ndevices; i++) {
			d = &k->cfg.devices[i];
			if (!d->exclusive || !cconfig_allows_device(cfg,
			    d->type, d->major, d->minor))
				continue;
			rule = cconfig_device_string(d);
			*cause = xasprintf("device %s is assigned exclusively "
			    "to container '%s'", rule, k->name);
			free(rule);
			return -1;
		}
	}
	return 0;
}

struct ctr *
ctr_from_store(struct cmld *cmld, const struct store_container *sc)
{
	struct ctr *k = xcalloc(1, sizeof *k);
	char *cause = NULL;
	int rc;

	k->cmld = cmld;
	loop_timer_init(&k->timer, ctr_timer_fired, k);
	loop_timer_init(&k->ttimer, ctr_term_timer, k);
	k->term_watch = CONTAINER_SIG_CAUGHT;
	loop_timer_init(&k->vtimer, ctr_volume_timer, k);
	k->name = xstrdup(sc->name);
	k->id = xstrdup(sc->uuid != NULL ? sc->uuid : "");
	k->idx = sc->idx;
	k->signer = sc->signer != NULL ? xstrdup(sc->signer) : NULL;
	k->state = xstrdup(sc->state);
	k->reason = sc->reason != NULL ? xstrdup(sc->reason) : NULL;
	k->version = sc->guestos_version != NULL ?
	    xstrdup(sc->guestos_version) : NULL;
	if (strcmp(sc->name, CCONFIG_C0_NAME) == 0)
		rc = cconfig_parse_c0(sc->config, sc->config_len, &k->cfg,
		    &cause);
	else
		rc = cconfig_parse(sc->config, sc->config_len, &k->cfg,
		    &cause);
	k->cfg_ok = rc == 0;
	if (!k->cfg_ok) {
		log_warnx("container %s: stored config refused: %s", k->name,
		    cause);
		free(k->reason);
		k->reason = xasprintf("its config is refused: %s", cause);
		free(cause);
	}
	return k;
}

struct ctr *
ctr_create(struct cmld *cmld, const char *json, size_t len,
    const char *signer, int c0, const char **error, char **cause)
{
	struct store_container sc = { 0 };
	struct cconfig cfg;
	char *version = NULL;
	long long idx;
	int rc;

	*error = PROTO_ERR_INVALID_ARGUMENT;
	rc = c0 ? cconfig_parse_c0(json, len, &cfg, cause) :
	    cconfig_parse(json, len, &cfg, cause);
	if (rc == -1)
		return NULL;
	if (ctr_find(cmld, cfg.name) != NULL) {
		*cause = xasprintf("container '%s' exists already", cfg.name);
		goto fail;
	}
	if (ctr_check_others(cmld, &cfg, cause) == -1)
		goto fail;
	*error = PROTO_ERR_FAILED;
	if (guestos_newest(cmld, cfg.guestos_name, cfg.guestos_min_version,
	    &version, cause) == -1)
		goto fail;
	if (version == NULL) {
		*error = PROTO_ERR_NOT_FOUND;
		*cause = xasprintf("guest OS '%s'%s%s is not installed: "
		    "'guestos list' shows what is", cfg.guestos_name,
		    cfg.guestos_min_version != NULL ? " >= " : "",
		    cfg.guestos_min_version != NULL ?
		    cfg.guestos_min_version : "");
		goto fail;
	}
	if (store_container_free_index(cmld->store, &idx, cause) == -1)
		goto fail;
	sc.name = cfg.name;
	sc.idx = idx;
	sc.config = (char *)json;
	sc.config_len = len;
	sc.signer = (char *)signer;
	sc.guestos = cfg.guestos_name;
	sc.state = "stopped";
	if ((rc = store_container_add(cmld->store, &sc, cause)) != 0) {
		if (rc == 1)
			*cause = xasprintf("container '%s' exists already",
			    cfg.name);
		goto fail;
	}
	{
		struct store_container got = { 0 };
		struct ctr *k;

		rc = store_container_get(cmld->store, cfg.name, &got, cause);
		cconfig_clear(&cfg);
		free(version);
		if (rc != 1) {
			if (rc == 0)
				*cause = xstrdup("the container vanished from "
				    "the store");
			return NULL;
		}
		k = ctr_from_store(cmld, &got);
		store_container_clear(&got);
		if (c0)
			TAILQ_INSERT_HEAD(&cmld->ctrs, k, entry);
		else
			TAILQ_INSERT_TAIL(&cmld->ctrs, k, entry);
		return k;
	}
fail:
	cconfig_clear(&cfg);
	free(version);
	return NULL;
}

static void ctr_volume_closed(struct ctr *);

void
ctr_sweep(struct ctr *k)
{
	char *report = NULL;
	int rc;

	if (k->rt != NULL || k->starting)
		return;
	/* a device a dead cmld's start left open (its child was killed) */
	if (k->cfg_ok && k->cfg.storage_encrypted)
		ctr_volume_closed(k);
	rc = c_cgroups_sweep(k->cmld->cgroup_parent, k->name, &report);
	if (rc == 0)
		return;
	if (rc == -1)
		log_warnx("container %s: %s", k->name, report);
	else
		log_info("container %s: %s", k->name, report);
	audit_container(k->cmld, k->name, rc == -1 ? PROTO_ERR_BUSY : "ok",
	    "%s", report);
	free(report);
}

int
ctr_remove(struct ctr *k, const char **error, char **cause)
{
	struct cmld *cmld = k->cmld;
	char *why = NULL;

	if (k->rt != NULL || k->starting || k->wiping) {
		*error = PROTO_ERR_BUSY;
		*cause = xasprintf("container '%s' is %s: stop it first",
		    k->name, k->wiping ? "being wiped" : k->state);
		return -1;
	}
	ctr_sweep(k);
	if (store_container_remove(cmld->store, k->name, &why) != 1) {
		*error = PROTO_ERR_FAILED;
		*cause = xasprintf("cannot remove container '%s': %s", k->name,
		    why != NULL ? why : "it is gone");
		free(why);
		return -1;
	}
	TAILQ_REMOVE(&cmld->ctrs, k, entry);
	ctr_free(k);
	return 0;
}

/* Answers a stop or kill once init has ended. */
static void
ctr_answer_waiting(struct ctr *k)
{
	struct json_object *o;
	struct call *call = k->waiting;

	if (call == NULL)
		return;
	k->waiting = NULL;
	call_set_details(call, "%s %s%s%s", k->name, k->state,
	    k->reason != NULL ? ": " : "", k->reason != NULL ? k->reason : "");
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(k->name));
	json_object_object_add(o, "state", json_object_new_string(k->state));
	json_object_object_add(o, "reason",
	    json_object_new_string(k->reason != NULL ? k->reason : ""));
	call_reply(call, o);
}

int
ctr_end(struct ctr *k, int sig, struct call *call, const char **error,
    char **cause)
{
	char *why = NULL;
	int rc, before = -1;

	if (k->rt == NULL) {
		ctr_sweep(k);
		*error = PROTO_ERR_BUSY;
		*cause = xasprintf("container '%s' is not running (%s)",
		    k->name, k->state);
		return -1;
	}
	if (k->waiting != NULL) {
		*error = PROTO_ERR_BUSY;
		*cause = xasprintf("container '%s' is being stopped already",
		    k->name);
		return -1;
	}
	phases_begin(&k->stop_ph);
	k->stop_what = sig == SIGTERM ? "stopped" : "killed";
	/*
	 * Read before the signal: a handler installed after the read and
	 * before the signal makes the watch send it once more, never none.
	 */
	if (sig == SIGTERM)
		before = container_sigaction(k->rt, SIGTERM);
	rc = sig == SIGTERM ? container_stop(k->rt, &why) :
	    container_signal(k->rt, sig, &why);
	if (rc == -1) {
		*error = PROTO_ERR_FAILED;
		*cause = xasprintf("cannot stop container '%s': %s", k->name,
		    why);
		free(why);
		k->stop_ph.on = 0;
		return -1;
	}
	phases_mark(&k->stop_ph, "signal");
	/*
	 * Not waited for on the disk: the end's state ("stopped", before the
	 * answer) is, and this one with it.  Lost only with the whole system,
	 * and the init with it, it would say nothing a restarted cmld uses:
	 * it finds a "stopping" container running again, or cleans it up.
	 */
	ctr_set_state_lazy(k, "stopping", NULL, NULL);
	phases_mark(&k->stop_ph, "stopping");
	k->term_missed = 0;
	k->term_watch = CONTAINER_SIG_CAUGHT;
	if (sig == SIGTERM) {
		ctr_timer_on(k);
		/* Lost on an init that does not catch it (yet): watch. */
		if (before == CONTAINER_SIG_DEFAULT ||
		    before == CONTAINER_SIG_IGNORED) {
			k->term_since = loop_now_ms();
			log_info("container %s: its init %s: SIGTERM goes "
			    "again once it catches it", k->name,
			    before == CONTAINER_SIG_IGNORED ?
			    "ignores SIGTERM for now" :
			    "does not catch SIGTERM yet");
			ctr_term_check(k);
		}
	}
	k->waiting = call;
	if (call != NULL)
		call_defer(call);
	return 0;
}

int
ctr_freeze(struct ctr *k, int frozen, const char **error, char **cause)
{
	char *why = NULL;

	if (k->rt == NULL || k->waiting != NULL ||
	    strcmp(k->state, frozen ? "running" : "frozen") != 0) {
		*error = PROTO_ERR_BUSY;
		*cause = xasprintf("container '%s' is %s: only a %s container "
		    "can be %s", k->name, k->state, frozen ? "running" :
		    "frozen", frozen ? "frozen" : "unfrozen");
		return -1;
	}
	if (container_freeze(k->rt, frozen, &why) == -1) {
		*error = PROTO_ERR_FAILED;
		*cause = xasprintf("cannot %s container '%s': %s", frozen ?
		    "freeze" : "unfreeze", k->name, why);
		free(why);
		return -1;
	}
	ctr_set_state(k, frozen ? "frozen" : "running", NULL, NULL);
	return 0;
}

/* How often, and how long, a container's end looks for its device to go. */
#define CTR_VOLUME_POLL_MS 100
#define CTR_VOLUME_TRIES 100

/*
 * After an encrypted container's end, and for one not running when cmld
 * starts: its dm-crypt device was set to go when its last user closes it
 * (the container's mount, gone with its last process); one still there
 * without users (its deferred removal never set: a start's child killed
 * midway) is removed now, with the nodes that nobody removes without
 * udev.  One still in use goes by itself, and is looked at again a little
 * later, so that its nodes go too.
 */
static void
ctr_volume_closed(struct ctr *k)
{
	char *cause = NULL;

	if (cvol_close_leftover(k->id, &cause) == 0)
		return;
	if (k->vtries++ < CTR_VOLUME_TRIES && k->rt == NULL)
		(void)loop_timer_start(k->cmld->loop, &k->vtimer,
		    CTR_VOLUME_POLL_MS);
	else
		log_info("container %s: its volume's device goes when its last "
		    "user closes it: %s", k->name, cause);
	free(cause);
}

/* Looks again whether an ended container's volume device went. */
static void
ctr_volume_timer(struct loop_timer *t)
{
	struct ctr *k = t->arg;

	loop_timer_stop(k->cmld->loop, &k->vtimer);
	if (k->rt == NULL && !k->starting)
		ctr_volume_closed(k);
}

/*
 * Records a block of image i of k's guest OS that dm-verity found changed
 * (dm_name, where: ", sector N" or "", what: the kernel's words).
 */
static void
ctr_image_integrity_error(struct ctr *k, size_t i, const char *dm_name,
    const char *where, const char *what)
{
	const char *file = "?";

	if (k->rt != NULL && i < k->rt->nimages)
		file = k->rt->images[i].file;
	log_warnx("container %s: integrity error on image %s of guest OS "
	    "%s %s (%s%s): %s", k->name, file, k->cfg.guestos_name,
	    k->version != NULL ? k->version : "?", dm_name, where, what);
	audit_container(k->cmld, k->name, "integrity", "integrity error on "
	    "image %s of guest OS %s %s (%s%s): the image was changed after "
	    "install, the read failed: %s", file, k->cfg.guestos_name,
	    k->version != NULL ? k->version : "?", dm_name, where, what);
}

void
ctr_integrity_error(struct cmld *cmld, const char *dm_name, long long sector,
    const char *what)
{
	struct ctr *k;
	char id[33], where[48] = "", *end;
	const char *suffix;
	long image = -1;

	if (strncmp(dm_name, "cml-", 4) != 0 || strlen(dm_name) < 4 + 32)
		return;
	memcpy(id, dm_name + 4, 32);
	id[32] = '\0';
	suffix = dm_name + 4 + 32;
	if (strncmp(suffix, "_v", 2) == 0 && suffix[2] >= '0' &&
	    suffix[2] <= '9') {
		image = strtol(suffix + 2, &end, 10);
		if (*end != '\0' || image > 1000)
			return;
	} else if (*suffix != '\0' && strcmp(suffix, "_dif") != 0)
		return;
	TAILQ_FOREACH(k, &cmld->ctrs, entry) {
		if (strcmp(k->id, id) != 0)
			continue;
		k->integrity_errors++;
		if (sector >= 0)
			snprintf(where, sizeof where, ", sector %lld", sector);
		if (image >= 0) {
			ctr_image_integrity_error(k, (size_t)image, dm_name,
			    where, what);
			return;
		}
		log_warnx("container %s: integrity error on its data volume "
		    "(%s%s): %s", k->name, dm_name, where, what);
		audit_container(cmld, k->name, "integrity", "integrity error "
		    "on its data volume (%s%s): its data was changed outside "
		    "cml, the read failed: %s", dm_name, where, what);
		return;
	}
}

/* Init ended: collect it, clean up, record why. */
static void
ctr_exited(struct ctr *k)
{
	char *reason = NULL;
	long long audit_ns;
	int rc;

	phases_mark(&k->stop_ph, "wait");
	loop_watch_del(k->cmld->loop, &k->pw);
	rc = container_reap(k->rt, &reason);
	if (rc == -1) {
		free(reason);
		return; /* not ended after all */
	}
	phases_mark(&k->stop_ph, "reap");
	ctr_timer_off(k);
	container_free(k->rt);
	k->rt = NULL;
	net_ctr_down(k);
	phases_mark(&k->stop_ph, "net");
	if (k->cfg_ok && k->cfg.storage_encrypted) {
		k->vtries = 0;
		ctr_volume_closed(k);
		phases_mark(&k->stop_ph, "volume");
	}
	if (k->term_missed) {
		char *why;

		/* Not a slow init: one that never took SIGTERM. */
		if (reason != NULL && strcmp(reason, "killed by SIGKILL") == 0)
			why = xasprintf("the init %s SIGTERM: killed after "
			    "%lld s", ctr_term_words(k), k->stop_secs);
		else
			why = xasprintf("%s; the init %s SIGTERM",
			    reason != NULL ? reason : "ended",
			    ctr_term_words(k));
		free(reason);
		reason = why;
		k->term_missed = 0;
	}
	ctr_set_state(k, rc == CONTAINER_FAILED ? "failed" : "stopped", reason,
	    NULL);
	phases_mark(&k->stop_ph, "stored");
	audit_container(k->cmld, k->name,
	    rc == CONTAINER_FAILED ? "failed" : "stopped", "%s",
	    reason != NULL ? reason : "");
	log_info("container %s %s%s%s", k->name, k->state,
	    reason != NULL ? ": " : "", reason != NULL ? reason : "");
	free(reason);
	/* The reply passes the audit's commit: named apart. */
	audit_ns = audit_commit_ns(k->cmld);
	ctr_answer_waiting(k);
	phases_mark(&k->stop_ph, "reply");
	phases_move(&k->stop_ph, "reply", "audit",
	    audit_commit_ns(k->cmld) - audit_ns);
	phases_log(&k->stop_ph, "container %s %s", k->name, k->stop_what);
}

void
containers_release(struct cmld *cmld)
{
	struct ctr *k;

	/* Containers run on without cmld; a new cmld finds them again. */
	while ((k = TAILQ_FIRST(&cmld->ctrs)) != NULL) {
		TAILQ_REMOVE(&cmld->ctrs, k, entry);
		if (k->rt != NULL)
			container_forget(k->rt);
		ctr_free(k);
	}
}
