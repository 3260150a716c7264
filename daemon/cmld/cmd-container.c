/*
 * org.cml.Container: containers from signed configs on verified guest OSes
 * (TSF.ISOL, TSF.DEV, OS 01/02/05, APS 02/04/05, CR 7.1/7.2/7.7).  The
 * lifecycle state lives in the store; every change is one transaction and
 * audited.  Containers outlive a cmld restart and are found again.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cconfig.h"
#include "cmld.h"
#include "file.h"
#include "container.h"
#include "crypto.h"
#include "guestos.h"
#include "settings.h"
#include "store.h"
#include "xmalloc.h"

/* Output of an exec kept for a caller that does not stream. */
#define CTR_EXEC_KEEP (256 * 1024)
/* Bytes of output per streamed reply. */
#define CTR_EXEC_CHUNK 16384

/* One container cmld knows. */
struct ctr {
	struct loop_watch pw; /* init's pidfd */
	struct loop_timer timer; /* the stop timeout */
	TAILQ_ENTRY(ctr) entry;
	struct cmld *cmld;
	char *name;
	long long idx;
	struct cconfig cfg;
	int cfg_ok; /* the stored config still parses */
	char *signer;
	char *state;
	char *reason;
	char *version; /* guest OS version running or last started */
	struct container *rt; /* while it runs */
	struct call *waiting; /* a stop or kill answered at the end */
	int starting; /* a start job runs */
};

static const char *ctr_no_dm = "needs encrypted storage, but this kernel "
    "has no device-mapper: cml does not start it with plain data";

/* Returns the container called name, or NULL. */
static struct ctr *
ctr_find(struct cmld *cmld, const char *name)
{
	struct ctr *k;

	TAILQ_FOREACH(k, &cmld->ctrs, entry)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

/* Returns the container a call names, or answers NotFound. */
static struct ctr *
ctr_from_call(struct call *call)
{
	const char *name;
	struct ctr *k;

	name = json_object_get_string(json_object_object_get(call->params,
	    "name"));
	if ((k = ctr_find(call_cmld(call), name)) == NULL)
		call_error(call, PROTO_ERR_NOT_FOUND, "name",
		    "no container '%s': 'container list' shows them", name);
	return k;
}

/* Frees a container object (not what runs). */
static void
ctr_free(struct ctr *k)
{
	loop_timer_stop(k->cmld->loop, &k->timer);
	cconfig_clear(&k->cfg);
	free(k->name);
	free(k->signer);
	free(k->state);
	free(k->reason);
	free(k->version);
	free(k);
}

/* Records a new state (and reason) in the store and in memory. */
static void
ctr_set_state(struct ctr *k, const char *state, const char *reason,
    const char *version)
{
	char *cause = NULL;
	long long pid = k->rt != NULL ? (long long)k->rt->pid : 0;

	if (store_container_set_state(k->cmld->store, k->name, state, reason,
	    pid, version, &cause) == -1) {
		log_warnx("container %s: cannot record state %s: %s", k->name,
		    state, cause);
		free(cause);
	}
	free(k->state);
	k->state = xstrdup(state);
	free(k->reason);
	k->reason = reason != NULL ? xstrdup(reason) : NULL;
	if (version != NULL) {
		free(k->version);
		k->version = xstrdup(version);
	}
}

/* Says whether this kernel can open encrypted volumes. */
static int
ctr_have_dm(void)
{
	return access("/dev/mapper/control", F_OK) == 0;
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

/* Watches init's pidfd. */
static void
ctr_watch(struct ctr *k)
{
	if (loop_watch_add(k->cmld->loop, &k->pw, k->rt->pidfd, EPOLLIN,
	    ctr_init_event, k) == -1)
		log_warn("container %s: cannot watch its init", k->name);
}

/* Stops the stop timeout. */
static void
ctr_timer_off(struct ctr *k)
{
	loop_timer_stop(k->cmld->loop, &k->timer);
}

/* The stop timeout passed: init gets SIGKILL. */
static void
ctr_timer_fired(struct loop_timer *t)
{
	struct ctr *k = t->arg;
	char *cause = NULL;

	ctr_timer_off(k);
	if (k->rt == NULL)
		return;
	log_info("container %s did not stop within %lld s: killing it",
	    k->name, k->cmld->stop_timeout);
	if (container_signal(k->rt, SIGKILL, &cause) == -1) {
		log_warnx("container %s: %s", k->name, cause);
		free(cause);
	}
}

/* Arms the stop timeout: SIGKILL when init has not ended by then. */
static void
ctr_timer_on(struct ctr *k)
{
	if (loop_timer_start(k->cmld->loop, &k->timer,
	    k->cmld->stop_timeout * 1000) == -1)
		log_warn("container %s: cannot arm its stop timeout",
		    k->name);
}

/* Returns a container as a row of List. */
static struct json_object *
ctr_row(struct ctr *k)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(k->name));
	json_object_object_add(o, "state", json_object_new_string(k->state));
	json_object_object_add(o, "guestos", json_object_new_string(
	    k->cfg_ok ? k->cfg.guestos_name : "-"));
	json_object_object_add(o, "version",
	    json_object_new_string(k->version != NULL ? k->version : ""));
	json_object_object_add(o, "pid", json_object_new_int64(
	    k->rt != NULL ? (long long)k->rt->pid : 0));
	json_object_object_add(o, "reason",
	    json_object_new_string(k->reason != NULL ? k->reason : ""));
	return o;
}

void
cmd_container_list(struct call *call)
{
	struct json_object *list, *p;
	struct ctr *k;

	list = json_object_new_array();
	TAILQ_FOREACH(k, &call_cmld(call)->ctrs, entry)
		json_object_array_add(list, ctr_row(k));
	p = json_object_new_object();
	json_object_object_add(p, "containers", list);
	call_reply(call, p);
}

void
cmd_container_show(struct call *call)
{
	struct json_object *o;
	struct ctr *k;
	char *mem;

	if ((k = ctr_from_call(call)) == NULL)
		return;
	o = ctr_row(k);
	json_object_object_add(o, "signer",
	    json_object_new_string(k->signer != NULL ? k->signer : ""));
	if (k->cfg_ok) {
		json_object_object_add(o, "hostname",
		    json_object_new_string(k->cfg.hostname));
		json_object_object_add(o, "autostart",
		    json_object_new_boolean(k->cfg.autostart));
		mem = xasprintf("%lld MiB", k->cfg.memory_limit /
		    (1024 * 1024));
		json_object_object_add(o, "memory", json_object_new_string(mem));
		free(mem);
		json_object_object_add(o, "pids",
		    json_object_new_int64(k->cfg.pids_limit));
		json_object_object_add(o, "user_namespace",
		    json_object_new_boolean(k->cfg.user_namespace));
	}
	call_reply(call, o);
}

void
cmd_container_config(struct call *call)
{
	struct json_object *o;
	struct ctr *k;

	if ((k = ctr_from_call(call)) == NULL)
		return;
	if (!k->cfg_ok) {
		call_error(call, PROTO_ERR_FAILED, NULL, "the stored config of "
		    "'%s' no longer parses: %s", k->name,
		    k->reason != NULL ? k->reason : "");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "config", cconfig_to_json(&k->cfg));
	json_object_object_add(o, "signer",
	    json_object_new_string(k->signer != NULL ? k->signer : ""));
	call_reply(call, o);
}

/* Whether configs must be signed: the setting, "auto" = once provisioned. */
static int
ctr_require_signed(struct cmld *cmld)
{
	if (strcmp(cmld->require_signed_configs, "auto") == 0)
		return strcmp(cmld->prov_state, "provisioned") == 0;
	return strcmp(cmld->require_signed_configs, "true") == 0;
}

/*
 * Reads a file a client passed: member ("fd", "signature") of parameter
 * "config".  0, 1 when it was not passed, -1 with *cause set.
 */
static int
ctr_read_passed(struct call *call, const char *member, const char *name,
    size_t max, char **buf, size_t *len, char **cause)
{
	int fd, rc;

	*buf = NULL;
	if ((fd = call_take_fd(call, "config", member)) == -1)
		return 1;
	rc = file_read_fd(fd, max, buf, len);
	if (rc == -1)
		*cause = file_error(name, max);
	close(fd);
	return rc;
}

/*
 * Checks cfg against the other containers: exclusive devices and the one
 * time container.  -1 with *cause set.
 */
static int
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

/* Makes a container object from a stored row. */
static struct ctr *
ctr_from_store(struct cmld *cmld, const struct store_container *sc)
{
	struct ctr *k = xcalloc(1, sizeof *k);
	char *cause = NULL;
	int rc;

	k->cmld = cmld;
	loop_timer_init(&k->timer, ctr_timer_fired, k);
	k->name = xstrdup(sc->name);
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

/*
 * Registers a container from config bytes (already verified) with signer
 * (may be NULL); -1 with *error and *cause set.
 */
static struct ctr *
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

void
cmd_container_create(struct call *call)
{
	struct crypto_signer signer = { 0 };
	struct ctr *k;
	const char *path, *error = PROTO_ERR_INVALID_ARGUMENT;
	char *json = NULL, *sig = NULL, *sigpath, *cause = NULL, *why = NULL;
	size_t len = 0, siglen = 0;
	int rc, signed_ = 0;

	path = json_object_get_string(json_object_object_get(
	    json_object_object_get(call->params, "config"), "name"));
	sigpath = xasprintf("%s%s", path, CCONFIG_SIGNATURE_SUFFIX);
	if (ctr_read_passed(call, "fd", path, CCONFIG_MAX, &json, &len,
	    &cause) != 0)
		goto fail;
	rc = ctr_read_passed(call, "signature", sigpath, 64 * 1024, &sig,
	    &siglen, &why);
	if (rc == -1) {
		error = PROTO_ERR_INVALID_SIGNATURE;
		cause = why;
		why = NULL;
		goto fail;
	}
	if (rc == 1 && ctr_require_signed(call_cmld(call))) {
		error = PROTO_ERR_INVALID_SIGNATURE;
		cause = xasprintf("the config is not signed (%s is missing) "
		    "and require_signed_configs is on", sigpath);
		goto fail;
	}
	if (rc == 0) {
		if (crypto_verify_detached(call_cmld(call)->trust, json, len, sig,
		    siglen, &signer, &why) == -1) {
			error = PROTO_ERR_INVALID_SIGNATURE;
			cause = xasprintf("config signature: %s", why);
			goto fail;
		}
		signed_ = 1;
	}
	k = ctr_create(call_cmld(call), json, len, signed_ ? signer.subject : NULL,
	    0, &error, &cause);
	if (k == NULL)
		goto fail;
	call_set_details(call, "created container %s from %s (%s)", k->name,
	    path, signed_ ? signer.subject : "unsigned");
	{
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name",
		    json_object_new_string(k->name));
		json_object_object_add(o, "signer", json_object_new_string(
		    signed_ ? signer.subject : ""));
		call_reply(call, o);
	}
	goto out;
fail:
	call_error(call, error, NULL, "container config %s refused: %s", path,
	    cause);
out:
	crypto_signer_clear(&signer);
	free(json);
	free(sig);
	free(sigpath);
	free(cause);
	free(why);
}

/*
 * Removes the cgroups a container that does not run left behind (a cmld
 * that died while starting it, an earlier run); groups holding processes
 * cmld did not start are left and reported.  Audited once, if any.
 */
static void
ctr_sweep(struct ctr *k)
{
	char *report = NULL;
	int rc;

	if (k->rt != NULL || k->starting)
		return;
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

void
cmd_container_remove(struct call *call)
{
	struct json_object *o;
	struct ctr *k;
	char *cause = NULL;

	if ((k = ctr_from_call(call)) == NULL)
		return;
	if (k->rt != NULL || k->starting) {
		call_error(call, PROTO_ERR_BUSY, "name", "container '%s' is %s: "
		    "stop it first", k->name, k->state);
		return;
	}
	ctr_sweep(k);
	if (store_container_remove(call_cmld(call)->store, k->name, &cause) != 1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot remove "
		    "container '%s': %s", k->name, cause != NULL ? cause :
		    "it is gone");
		free(cause);
		return;
	}
	call_set_details(call, "removed container %s", k->name);
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(k->name));
	TAILQ_REMOVE(&call_cmld(call)->ctrs, k, entry);
	ctr_free(k);
	call_reply(call, o);
}

/* A start: the guest OS checked in steps, then the container started. */
struct start_job {
	struct job job; /* first: the loop knows jobs by this */
	struct ctr *k;
	struct call *call; /* NULL for starts of cmld's own */
	struct guestos_ready *ready;
	char *version;
	int then_autostart; /* c0: start the autostart containers after */
	long long last_ms;
};

static void ctr_autostart(struct cmld *);

/* Ends a start: the state, the audit record, the answer. */
static void __attribute__((format(printf, 3, 4)))
start_done(struct start_job *sj, const char *error, const char *fmt, ...)
{
	struct ctr *k = sj->k;
	struct json_object *o;
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatalx("out of memory");
	va_end(ap);
	k->starting = 0;
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
			call_reply(sj->call, o);
		} else
			audit_container(k->cmld, k->name, "ok",
			    "%s", msg);
		log_info("container %s: %s", k->name, msg);
	}
	free(msg);
	if (sj->then_autostart)
		ctr_autostart(k->cmld);
	guestos_ready_free(sj->ready);
	free(sj->version);
	free(sj);
}

/* Starts the container once its guest OS checked out. */
static void
start_launch(struct start_job *sj)
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
	}
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
	if (container_start(k->rt, &cause) == -1)
		goto fail;
	ctr_set_state(k, "running", NULL, sj->version);
	ctr_watch(k);
	start_done(sj, NULL, "started %s on %s %s, init pid %ld", k->name,
	    k->cfg.guestos_name, sj->version, (long)k->rt->pid);
	return;
fail:
	container_free(k->rt);
	k->rt = NULL;
	start_done(sj, PROTO_ERR_FAILED, "%s", cause);
	free(cause);
}

/* Checks a step of the guest OS; at the end starts the container. */
static int
start_job_step(struct job *job)
{
	struct start_job *sj = (struct start_job *)job;
	struct guestos_progress p;
	char *cause = NULL;
	int rc;

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
		start_done(sj, PROTO_ERR_INTEGRITY, "guest OS %s %s: %s",
		    sj->k->cfg.guestos_name, sj->version, cause);
		free(cause);
		return 1;
	}
	start_launch(sj);
	return 1;
}

/* Abandons a start at shutdown. */
static void
start_job_cancel(struct job *job)
{
	struct start_job *sj = (struct start_job *)job;

	sj->then_autostart = 0;
	start_done(sj, PROTO_ERR_FAILED, "cmld is stopping");
}

/*
 * Begins starting k (call may be NULL); answers or audits a refusal
 * itself.  Returns 0 when a start job runs.
 */
static int
ctr_start(struct ctr *k, struct call *call, int then_autostart)
{
	struct cmld *cmld = k->cmld;
	struct start_job *sj;
	const char *error = PROTO_ERR_FAILED;
	char *cause = NULL, *version = NULL;

	sj = xcalloc(1, sizeof *sj);
	sj->k = k;
	sj->call = call;
	sj->then_autostart = then_autostart;
	if (k->rt != NULL || k->starting) {
		error = PROTO_ERR_BUSY;
		cause = xasprintf("it is %s already", k->state);
		goto fail;
	}
	if (!k->cfg_ok) {
		cause = xstrdup(k->reason != NULL ? k->reason :
		    "its config is refused");
		goto fail;
	}
	if (k->cfg.storage_encrypted && !ctr_have_dm()) {
		cause = xstrdup(ctr_no_dm);
		goto fail;
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
	/* APS 02: the images are checked again before every start. */
	sj->ready = guestos_ready_open(cmld, k->cfg.guestos_name, version,
	    &error, &cause);
	if (sj->ready == NULL) {
		char *why = xasprintf("guest OS %s %s: %s",
		    k->cfg.guestos_name, version, cause);

		free(cause);
		cause = why;
		goto fail;
	}
	k->starting = 1;
	/* Stored: a cmld that dies now leaves the next one to look. */
	ctr_set_state(k, "starting", NULL, version);
	sj->job.step = start_job_step;
	sj->job.cancel = start_job_cancel;
	if (call != NULL)
		call_defer(call);
	loop_job_add(cmld->loop, &sj->job);
	return 0;
fail:
	/* A refused check or set-up is the container's state; busy is not. */
	if (strcmp(error, PROTO_ERR_BUSY) != 0 &&
	    strcmp(error, PROTO_ERR_NOT_FOUND) != 0 && k->cfg_ok)
		ctr_set_state(k, "failed", cause, NULL);
	if (call != NULL)
		call_error(call, error, strcmp(error, PROTO_ERR_BUSY) == 0 ?
		    "name" : NULL,
		    "container '%s' did not start: %s", k->name, cause);
	else
		audit_container(cmld, k->name, error,
		    "did not start: %s", cause);
	if (then_autostart)
		ctr_autostart(cmld);
	guestos_ready_free(sj->ready);
	free(sj->version);
	free(sj);
	free(cause);
	return -1;
}

void
cmd_container_start(struct call *call)
{
	struct ctr *k;

	if ((k = ctr_from_call(call)) == NULL)
		return;
	(void)ctr_start(k, call, 0);
}

/* Starts the autostart containers (after c0 is up). */
static void
ctr_autostart(struct cmld *cmld)
{
	struct ctr *k;

	TAILQ_FOREACH(k, &cmld->ctrs, entry) {
		if (k->cfg_ok && !k->cfg.is_c0 && k->cfg.autostart &&
		    k->rt == NULL && !k->starting)
			(void)ctr_start(k, NULL, 0);
	}
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

/* Stop and kill: the container must run; the answer comes at its end. */
static void
ctr_end(struct call *call, int sig)
{
	struct ctr *k;
	char *cause = NULL;
	int rc;

	if ((k = ctr_from_call(call)) == NULL)
		return;
	if (k->rt == NULL) {
		ctr_sweep(k);
		call_error(call, PROTO_ERR_BUSY, "name", "container '%s' is not "
		    "running (%s)", k->name, k->state);
		return;
	}
	if (k->waiting != NULL) {
		call_error(call, PROTO_ERR_BUSY, "name", "container '%s' is "
		    "being stopped already", k->name);
		return;
	}
	rc = sig == SIGTERM ? container_stop(k->rt, &cause) :
	    container_signal(k->rt, sig, &cause);
	if (rc == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot stop container "
		    "'%s': %s", k->name, cause);
		free(cause);
		return;
	}
	ctr_set_state(k, "stopping", NULL, NULL);
	if (sig == SIGTERM)
		ctr_timer_on(k);
	k->waiting = call;
	call_defer(call);
}

void
cmd_container_stop(struct call *call)
{
	ctr_end(call, SIGTERM);
}

void
cmd_container_kill(struct call *call)
{
	ctr_end(call, SIGKILL);
}

/* Freeze and unfreeze. */
static void
ctr_freeze(struct call *call, int frozen)
{
	struct json_object *o;
	struct ctr *k;
	char *cause = NULL;

	if ((k = ctr_from_call(call)) == NULL)
		return;
	if (k->rt == NULL || k->waiting != NULL ||
	    strcmp(k->state, frozen ? "running" : "frozen") != 0) {
		call_error(call, PROTO_ERR_BUSY, "name", "container '%s' is %s: "
		    "only a %s container can be %s", k->name, k->state,
		    frozen ? "running" : "frozen", frozen ? "frozen" :
		    "unfrozen");
		return;
	}
	if (container_freeze(k->rt, frozen, &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot %s container "
		    "'%s': %s", frozen ? "freeze" : "unfreeze", k->name, cause);
		free(cause);
		return;
	}
	ctr_set_state(k, frozen ? "frozen" : "running", NULL, NULL);
	call_set_details(call, "%s %s", k->name, k->state);
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(k->name));
	json_object_object_add(o, "state", json_object_new_string(k->state));
	call_reply(call, o);
}

void
cmd_container_freeze(struct call *call)
{
	ctr_freeze(call, 1);
}

void
cmd_container_unfreeze(struct call *call)
{
	ctr_freeze(call, 0);
}

/* Init ended: collect it, clean up, record why. */
static void
ctr_exited(struct ctr *k)
{
	char *reason = NULL;
	int rc;

	loop_watch_del(k->cmld->loop, &k->pw);
	rc = container_reap(k->rt, &reason);
	if (rc == -1) {
		free(reason);
		return; /* not ended after all */
	}
	ctr_timer_off(k);
	container_free(k->rt);
	k->rt = NULL;
	ctr_set_state(k, rc == CONTAINER_FAILED ? "failed" : "stopped", reason,
	    NULL);
	audit_container(k->cmld, k->name,
	    rc == CONTAINER_FAILED ? "failed" : "stopped", "%s",
	    reason != NULL ? reason : "");
	log_info("container %s %s%s%s", k->name, k->state,
	    reason != NULL ? ": " : "", reason != NULL ? reason : "");
	free(reason);
	ctr_answer_waiting(k);
}

/*
 * An exec: a command running inside a container.  A streaming caller gets
 * the read ends of its output pipes as descriptors, so the bytes reach it
 * unchanged and a caller that does not read stops the command, not cmld;
 * the last reply carries the exit status.  A caller that does not stream
 * gets the first CTR_EXEC_KEEP bytes of each, base64-encoded, with it.
 */
struct ctr_exec {
	struct loop_watch ow, ew, pw;
	struct cmld *cmld;
	struct call *call;
	char *name;
	pid_t pid;
	int pidfd, out, err;
	int status; /* -1 until the command ended */
	struct ctr_exec_keep {
		char *buf;
		size_t len;
	} keep_out, keep_err;
};

/* Closes one of an exec's descriptors. */
static void
ctr_exec_close(struct ctr_exec *x, struct loop_watch *w, int *fd)
{
	if (*fd == -1)
		return;
	loop_watch_del(x->cmld->loop, w);
	close(*fd);
	*fd = -1;
}

/* Returns bytes as a base64 string. */
static struct json_object *
ctr_exec_base64(const struct ctr_exec_keep *k)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *b = (const unsigned char *)k->buf;
	struct json_object *o;
	char *s = xmalloc((k->len + 2) / 3 * 4 + 1), *p = s;
	size_t i;
	unsigned int v;

	for (i = 0; i + 2 < k->len; i += 3) {
		v = (unsigned int)b[i] << 16 | (unsigned int)b[i + 1] << 8 |
		    b[i + 2];
		*p++ = tab[v >> 18];
		*p++ = tab[(v >> 12) & 63];
		*p++ = tab[(v >> 6) & 63];
		*p++ = tab[v & 63];
	}
	if (i < k->len) {
		v = (unsigned int)b[i] << 16;
		if (i + 1 < k->len)
			v |= (unsigned int)b[i + 1] << 8;
		*p++ = tab[v >> 18];
		*p++ = tab[(v >> 12) & 63];
		*p++ = i + 1 < k->len ? tab[(v >> 6) & 63] : '=';
		*p++ = '=';
	}
	*p = '\0';
	o = json_object_new_string(s);
	free(s);
	return o;
}

/* Answers an exec once its command ended and its output is drained. */
static void
ctr_exec_finish(struct ctr_exec *x)
{
	struct json_object *o;

	if (x->out != -1 || x->err != -1 || x->status == -1)
		return;
	o = json_object_new_object();
	if (!x->call->more) {
		json_object_object_add(o, "stdout",
		    ctr_exec_base64(&x->keep_out));
		json_object_object_add(o, "stderr",
		    ctr_exec_base64(&x->keep_err));
	}
	json_object_object_add(o, "exit_status",
	    json_object_new_int(x->status));
	call_set_details(x->call, "ran in %s, exit status %d", x->name,
	    x->status);
	call_reply(x->call, o);
	free(x->keep_out.buf);
	free(x->keep_err.buf);
	free(x->name);
	free(x);
}

/* Keeps output of an exec for a caller that does not stream. */
static void
ctr_exec_read(struct ctr_exec *x, struct loop_watch *w, int *fd,
    struct ctr_exec_keep *keep)
{
	char buf[CTR_EXEC_CHUNK];
	ssize_t n;
	size_t take;

	n = read(*fd, buf, sizeof buf);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		ctr_exec_close(x, w, fd);
		ctr_exec_finish(x);
		return;
	}
	/* beyond the limit, output is read and dropped */
	take = x->keep_out.len + x->keep_err.len + (size_t)n > CTR_EXEC_KEEP ?
	    CTR_EXEC_KEEP - x->keep_out.len - x->keep_err.len : (size_t)n;
	if (take > 0) {
		keep->buf = xreallocarray(keep->buf, keep->len + take, 1);
		memcpy(keep->buf + keep->len, buf, take);
		keep->len += take;
	}
}

static void
ctr_exec_out_event(struct loop_watch *w, unsigned int events)
{
	struct ctr_exec *x = w->arg;

	(void)events;
	ctr_exec_read(x, w, &x->out, &x->keep_out);
}

static void
ctr_exec_err_event(struct loop_watch *w, unsigned int events)
{
	struct ctr_exec *x = w->arg;

	(void)events;
	ctr_exec_read(x, w, &x->err, &x->keep_err);
}

/* The command of an exec ended. */
static void
ctr_exec_reaped(struct loop_watch *w, unsigned int events)
{
	struct ctr_exec *x = w->arg;
	siginfo_t si;

	(void)events;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)x->pid, &si, WEXITED | WNOHANG) == -1 ||
	    si.si_pid == 0)
		return;
	x->status = si.si_code == CLD_EXITED ? si.si_status :
	    128 + si.si_status;
	ctr_exec_close(x, &x->pw, &x->pidfd);
	ctr_exec_finish(x);
}

void
cmd_container_exec(struct call *call)
{
	struct json_object *cmd, *o;
	struct ctr_exec *x;
	struct ctr *k;
	struct loop *loop = call_cmld(call)->loop;
	char **argv, *cause = NULL;
	size_t i, n;
	int rc;

	if ((k = ctr_from_call(call)) == NULL)
		return;
	if (k->rt == NULL || strcmp(k->state, "running") != 0) {
		call_error(call, PROTO_ERR_BUSY, "name", "container '%s' is %s: "
		    "commands run only in a running container", k->name,
		    k->state);
		return;
	}
	cmd = json_object_object_get(call->params, "command");
	n = json_object_array_length(cmd);
	if (n == 0 || json_object_get_string(json_object_array_get_idx(cmd,
	    0))[0] != '/') {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "command",
		    "the command must start with an absolute path inside the "
		    "container, e.g. /bin/ps");
		return;
	}
	argv = xcalloc(n + 1, sizeof *argv);
	for (i = 0; i < n; i++)
		argv[i] = (char *)json_object_get_string(
		    json_object_array_get_idx(cmd, i));
	x = xcalloc(1, sizeof *x);
	x->cmld = call_cmld(call);
	x->call = call;
	x->status = -1;
	x->pidfd = -1;
	rc = container_exec(k->rt, argv, &x->pid, &x->out, &x->err, &cause);
	if (rc == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot run %s in "
		    "container '%s': %s", argv[0], k->name, cause);
		free(cause);
		free(argv);
		free(x);
		return;
	}
	x->pidfd = (int)syscall(SYS_pidfd_open, x->pid, 0);
	if (x->pidfd == -1)
		fatal("pidfd_open");
	x->name = xstrdup(k->name);
	call_set_details(call, "%s", argv[0]);
	free(argv);
	call_defer(call);
	if (call->more) {
		/* the caller reads the pipes itself */
		o = json_object_new_object();
		json_object_object_add(o, "stdout", json_object_new_int(0));
		json_object_object_add(o, "stderr", json_object_new_int(1));
		(void)call_reply_more_fds(call, o, (int[]){ x->out, x->err },
		    2);
		x->out = x->err = -1;
	} else {
		(void)fcntl(x->out, F_SETFL, O_NONBLOCK);
		(void)fcntl(x->err, F_SETFL, O_NONBLOCK);
		if (loop_watch_add(loop, &x->ow, x->out, EPOLLIN,
		    ctr_exec_out_event, x) == -1 ||
		    loop_watch_add(loop, &x->ew, x->err, EPOLLIN,
		    ctr_exec_err_event, x) == -1)
			fatal("epoll_ctl");
	}
	if (loop_watch_add(loop, &x->pw, x->pidfd, EPOLLIN, ctr_exec_reaped,
	    x) == -1)
		fatal("epoll_ctl");
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
	    k->version, &error, &cause) : NULL;
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
		reason = "stopped when cmld started: its guest OS is gone or no "
		    "longer verifies";
		pid = 0;
	} else {
		k->rt = container_new(&k->cfg, guestos_ready_path(r),
		    guestos_ready_manifest(r), cmld->ctr_dir, cmld->cgroup_parent,
		    (int)k->idx);
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
	    strcmp(k->state, "failed") != 0)
		ctr_adopt(k, sc->pid);
	ctr_sweep(k);
	return 0;
}

void
containers_init(struct cmld *cmld)
{
	struct ctr *c0;
	const char *error;
	char *cause = NULL, *json;

	if (store_container_list(cmld->store, ctr_load_cb, cmld, &cause) ==
	    -1)
		fatalx("cannot read the containers: %s", cause);

	/* c0, the management container, comes first; the others after. */
	c0 = ctr_find(cmld, CCONFIG_C0_NAME);
	if (c0 == NULL && cmld->c0_guestos[0] != '\0') {
		json = xasprintf("{\"name\":\"c0\",\"guestos\":{\"name\":"
		    "\"%s\"},\"autostart\":true}", cmld->c0_guestos);
		c0 = ctr_create(cmld, json, strlen(json), NULL, 1, &error,
		    &cause);
		free(json);
		if (c0 == NULL) {
			log_warnx("cannot create c0: %s", cause);
			audit_container(cmld, "c0", error,
			    "cannot create c0: %s", cause);
			free(cause);
		} else
			audit_container(cmld, "c0", "ok",
			    "created c0 on guest OS %s", cmld->c0_guestos);
	}
	if (c0 != NULL && c0->rt == NULL && !c0->starting)
		(void)ctr_start(c0, NULL, 1);
	else
		ctr_autostart(cmld);
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
