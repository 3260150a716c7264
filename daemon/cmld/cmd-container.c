/*
 * org.cml.Container: containers from signed configs on verified guest OSes
 * (TSF.ISOL, TSF.DEV, OS 01/02/05, APS 02/04/05, CR 7.1/7.2/7.7).  The
 * handlers read the call, ask the container core (ctr.h) and answer; a
 * start, a stop and an exec are answered by the core once they are done.
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cconfig.h"
#include "container.h"
#include "crypto.h"
#include "ctr.h"
#include "ctx.h"
#include "file.h"
#include "handlers.h"
#include "xmalloc.h"

/* Returns the container a call names, or answers NotFound. */
static struct ctr *
cmd_container_find(struct call *call)
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

/*
 * Answers a refusal of the container core (cause is freed): a busy
 * container is the fault of parameter "name", a bad command of "command".
 */
static void
cmd_container_refuse(struct call *call, const char *error, char *cause)
{
	const char *param = NULL;

	if (strcmp(error, PROTO_ERR_BUSY) == 0)
		param = "name";
	else if (strcmp(error, PROTO_ERR_INVALID_ARGUMENT) == 0)
		param = "command";
	call_error(call, error, param, "%s", cause);
	free(cause);
}

/* Returns a container as a row of List. */
static struct json_object *
cmd_container_row(struct ctr *k)
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
		json_object_array_add(list, cmd_container_row(k));
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

	if ((k = cmd_container_find(call)) == NULL)
		return;
	o = cmd_container_row(k);
	json_object_object_add(o, "signer",
	    json_object_new_string(k->signer != NULL ? k->signer : ""));
	if (k->cfg_ok) {
		json_object_object_add(o, "hostname",
		    json_object_new_string(k->cfg.hostname));
		json_object_object_add(o, "autostart",
		    json_object_new_boolean(k->cfg.autostart));
		mem = xasprintf("%lld MiB", k->cfg.memory_limit /
		    (1024 * 1024));
		json_object_object_add(o, "memory",
		    json_object_new_string(mem));
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

	if ((k = cmd_container_find(call)) == NULL)
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
cmd_container_require_signed(struct cmld *cmld)
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
cmd_container_read_passed(struct call *call, const char *member,
    const char *name, size_t max, char **buf, size_t *len, char **cause)
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
	if (cmd_container_read_passed(call, "fd", path, CCONFIG_MAX, &json,
	    &len, &cause) != 0)
		goto fail;
	rc = cmd_container_read_passed(call, "signature", sigpath, 64 * 1024,
	    &sig, &siglen, &why);
	if (rc == -1) {
		error = PROTO_ERR_INVALID_SIGNATURE;
		cause = why;
		why = NULL;
		goto fail;
	}
	if (rc == 1 && cmd_container_require_signed(call_cmld(call))) {
		error = PROTO_ERR_INVALID_SIGNATURE;
		cause = xasprintf("the config is not signed (%s is missing) "
		    "and require_signed_configs is on", sigpath);
		goto fail;
	}
	if (rc == 0) {
		if (crypto_verify_detached(call_cmld(call)->trust, json, len,
		    sig, siglen, &signer, &why) == -1) {
			error = PROTO_ERR_INVALID_SIGNATURE;
			cause = xasprintf("config signature: %s", why);
			goto fail;
		}
		signed_ = 1;
	}
	k = ctr_create(call_cmld(call), json, len,
	    signed_ ? signer.subject : NULL, 0, &error, &cause);
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

void
cmd_container_remove(struct call *call)
{
	struct json_object *o;
	struct ctr *k;
	const char *error;
	char *cause = NULL, *name;

	if ((k = cmd_container_find(call)) == NULL)
		return;
	name = xstrdup(k->name);
	if (ctr_remove(k, &error, &cause) == -1) {
		cmd_container_refuse(call, error, cause);
		free(name);
		return;
	}
	call_set_details(call, "removed container %s", name);
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(name));
	free(name);
	call_reply(call, o);
}

void
cmd_container_start(struct call *call)
{
	struct ctr *k;

	if ((k = cmd_container_find(call)) == NULL)
		return;
	(void)ctr_start(k, call, 0);
}

/* Stop and kill: the container must run; the answer comes at its end. */
static void
cmd_container_end(struct call *call, int sig)
{
	struct ctr *k;
	const char *error;
	char *cause = NULL;

	if ((k = cmd_container_find(call)) == NULL)
		return;
	if (ctr_end(k, sig, call, &error, &cause) == -1)
		cmd_container_refuse(call, error, cause);
}

void
cmd_container_stop(struct call *call)
{
	cmd_container_end(call, SIGTERM);
}

void
cmd_container_kill(struct call *call)
{
	cmd_container_end(call, SIGKILL);
}

/* Freeze and unfreeze. */
static void
cmd_container_set_frozen(struct call *call, int frozen)
{
	struct json_object *o;
	struct ctr *k;
	const char *error;
	char *cause = NULL;

	if ((k = cmd_container_find(call)) == NULL)
		return;
	if (ctr_freeze(k, frozen, &error, &cause) == -1) {
		cmd_container_refuse(call, error, cause);
		return;
	}
	call_set_details(call, "%s %s", k->name, k->state);
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(k->name));
	json_object_object_add(o, "state", json_object_new_string(k->state));
	call_reply(call, o);
}

void
cmd_container_freeze(struct call *call)
{
	cmd_container_set_frozen(call, 1);
}

void
cmd_container_unfreeze(struct call *call)
{
	cmd_container_set_frozen(call, 0);
}

void
cmd_container_exec(struct call *call)
{
	struct json_object *cmd;
	struct ctr *k;
	const char *error;
	char **argv, *cause = NULL;
	size_t i, n;

	if ((k = cmd_container_find(call)) == NULL)
		return;
	cmd = json_object_object_get(call->params, "command");
	n = json_object_array_length(cmd);
	argv = xcalloc(n + 1, sizeof *argv);
	for (i = 0; i < n; i++)
		argv[i] = (char *)json_object_get_string(
		    json_object_array_get_idx(cmd, i));
	if (ctr_exec(k, call, argv, &error, &cause) == -1)
		cmd_container_refuse(call, error, cause);
	free(argv);
}
