/*
 * org.cml.Container: containers from signed configs on verified guest OSes
 * (TSF.ISOL, TSF.DEV, OS 01/02/05, APS 02/04/05, CR 7.1/7.2/7.7).  The
 * handlers read the call, ask the container core (ctr.h) and answer; a
 * start, a stop and an exec are answered by the core once they are done.
 */
#include "config.h"

#include <sys/statfs.h>
#include <sys/syscall.h>

#include <linux/magic.h>
#include <linux/openat2.h>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "c-volume.h"
#include "cconfig.h"
#include "container.h"
#include "crypto.h"
#include "ctr.h"
#include "ctx.h"
#include "file.h"
#include "handlers.h"
#include "scd.h"
#include "store.h"
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

/* Returns what every answer about a container begins with. */
static struct json_object *
cmd_container_head(struct ctr *k)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(k->name));
	json_object_object_add(o, "state", json_object_new_string(k->state));
	json_object_object_add(o, "guestos", json_object_new_string(
	    k->cfg_ok ? k->cfg.guestos_name : "-"));
	json_object_object_add(o, "version",
	    json_object_new_string(k->version != NULL ? k->version : ""));
	return o;
}

/* Returns a container as a row of List. */
static struct json_object *
cmd_container_row(struct ctr *k)
{
	struct json_object *o = cmd_container_head(k);

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

/* Returns a size in bytes as people read it ("256 MiB", "1.5 GiB"). */
static char *
cmd_container_size(long long n)
{
	static const char *const unit[] = { "bytes", "KiB", "MiB", "GiB",
	    "TiB" };
	double d = (double)n;
	int i = 0;

	while (d >= 1024 && i < 4) {
		d /= 1024;
		i++;
	}
	if (i == 0)
		return xasprintf("%lld bytes", n);
	if (d == (double)(long long)d)
		return xasprintf("%lld %s", (long long)d, unit[i]);
	return xasprintf("%.1f %s", d, unit[i]);
}

/* Returns the container's id (free it), or NULL. */
static char *
cmd_container_id(struct ctr *k)
{
	struct store_container sc = { 0 };
	char *id = NULL, *cause = NULL;

	if (store_container_get(k->cmld->store, k->name, &sc,
	    &cause) == 1)
		id = xstrdup(sc.uuid);
	free(cause);
	store_container_clear(&sc);
	return id;
}

/*
 * Reads how much of the data volume of running container k is used, as
 * df(1) says, from its mount point inside (resolved in the container's
 * root, symbolic links refused); -1 when that is not its ext4.
 */
static int
cmd_container_volume_used(struct ctr *k, long long *used)
{
	struct open_how how;
	struct statfs sf;
	char *path;
	int rfd, fd, rc = -1;

	if (k->rt == NULL || k->rt->pid == 0)
		return -1;
	path = xasprintf("/proc/%ld/root", (long)k->rt->pid);
	rfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	free(path);
	if (rfd == -1)
		return -1;
	memset(&how, 0, sizeof how);
	how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS |
	    RESOLVE_NO_MAGICLINKS;
	fd = (int)syscall(SYS_openat2, rfd, k->cfg.volume_mount, &how,
	    sizeof how);
	if (fd != -1 && fstatfs(fd, &sf) == 0 &&
	    sf.f_type == EXT4_SUPER_MAGIC) {
		*used = (long long)(sf.f_blocks - sf.f_bfree) *
		    (long long)sf.f_frsize;
		rc = 0;
	}
	if (fd != -1)
		close(fd);
	close(rfd);
	return rc;
}

/*
 * Adds how the data volume is encrypted to a Show answer, whether it has
 * integrity protection, the integrity errors the kernel reported on it,
 * and its device-mapper device while it is open.
 */
static void
cmd_container_show_encryption(struct ctr *k, struct json_object *o)
{
	char *dev;

	json_object_object_add(o, "encryption", json_object_new_string(
	    k->cfg.storage_integrity ? "LUKS2, aes-xts-plain64 with "
	    "hmac(sha256) integrity (authenticated encryption), unlocked by "
	    "its token's PIN" : "LUKS2, aes-xts-plain64, no integrity "
	    "protection (opted out: cml.storage.integrity false), unlocked "
	    "by its token's PIN"));
	json_object_object_add(o, "integrity",
	    json_object_new_boolean(k->cfg.storage_integrity));
	json_object_object_add(o, "integrity_errors",
	    json_object_new_int64(k->integrity_errors));
	if (k->id != NULL && cvol_device_exists(k->id)) {
		dev = xasprintf("/dev/mapper/cml-%s", k->id);
		json_object_object_add(o, "volume_device",
		    json_object_new_string(dev));
		free(dev);
	}
}

/* Adds the data volume to a Show answer: where, how big, how full. */
static void
cmd_container_show_volume(struct ctr *k, struct json_object *o)
{
	char *id, *path, *size, *alloc, *s, *use = NULL, *tmp;
	long long bytes, allocated = -1, used = -1;

	if (!k->cfg_ok || k->cfg.volume_mount == NULL)
		return;
	if ((id = cmd_container_id(k)) == NULL)
		return;
	path = k->cfg.storage_encrypted ?
	    cvol_path_luks(k->cmld->state_dir, id) :
	    cvol_path(k->cmld->state_dir, id);
	size = cmd_container_size(k->cfg.volume_size_mb * 1024 * 1024);
	if (cmd_container_volume_used(k, &used) == 0) {
		tmp = cmd_container_size(used);
		use = xasprintf("%s used, ", tmp);
		free(tmp);
	}
	if (cvol_stat(k->cmld->state_dir, id, &bytes,
	    &allocated) == 0) {
		alloc = cmd_container_size(allocated);
		s = xasprintf("%s, %s, %s%s allocated", k->cfg.volume_mount,
		    size, use != NULL ? use : "", alloc);
		free(alloc);
	} else
		s = xasprintf("%s, %s, made at the first start",
		    k->cfg.volume_mount, size);
	json_object_object_add(o, "volume", json_object_new_string(s));
	json_object_object_add(o, "volume_size",
	    json_object_new_int64(k->cfg.volume_size_mb * 1024 * 1024));
	if (used != -1)
		json_object_object_add(o, "volume_used",
		    json_object_new_int64(used));
	if (allocated != -1)
		json_object_object_add(o, "volume_allocated",
		    json_object_new_int64(allocated));
	json_object_object_add(o, "volume_file", json_object_new_string(path));
	if (k->cfg.storage_encrypted)
		cmd_container_show_encryption(k, o);
	free(s);
	free(use);
	free(size);
	free(path);
	free(id);
}

/* Adds how the running container's images are mounted to a Show answer. */
static void
cmd_container_show_images(struct ctr *k, struct json_object *o)
{
	const struct container_image *img;
	char *s = NULL, *how, *tmp;
	size_t i;

	/* blocks of its images dm-verity found changed (encrypted: above) */
	if (k->integrity_errors > 0 && !k->cfg.storage_encrypted)
		json_object_object_add(o, "integrity_errors",
		    json_object_new_int64(k->integrity_errors));
	if (k->rt == NULL || k->rt->pid == 0)
		return;
	for (i = 0; i < k->rt->nimages; i++) {
		img = &k->rt->images[i];
		if (img->via == CONTAINER_VIA_FILE)
			how = xasprintf("%s (%s) from its file", img->file,
			    img->fs);
		else if (img->via == CONTAINER_VIA_LOOP)
			how = xasprintf("%s (%s) on loop device /dev/loop%d",
			    img->file, img->fs, img->loop);
		else if (img->via == CONTAINER_VIA_VERITY)
			how = xasprintf("%s (%s) on dm-verity device %s over "
			    "/dev/loop%d", img->file, img->fs, img->dmname,
			    img->loop);
		else
			how = xasprintf("%s (%s), mounted before cmld "
			    "restarted", img->file, img->fs);
		tmp = xasprintf("%s%s%s", s != NULL ? s : "",
		    s != NULL ? ", " : "", how);
		free(how);
		free(s);
		s = tmp;
	}
	if (s != NULL)
		json_object_object_add(o, "images", json_object_new_string(s));
	free(s);
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
	cmd_container_show_volume(k, o);
	cmd_container_show_images(k, o);
	call_reply(call, o);
}

/* Adds member key with value n to o, unless n is -1 (not known). */
static void
cmd_container_add_known(struct json_object *o, const char *key, long long n)
{
	if (n != -1)
		json_object_object_add(o, key, json_object_new_int64(n));
}

/* Returns a container as a row of Stats. */
static struct json_object *
cmd_container_stats_row(struct ctr *k)
{
	struct json_object *o = cmd_container_head(k);
	struct container_usage u;

	if (k->rt == NULL || (strcmp(k->state, "running") != 0 &&
	    strcmp(k->state, "frozen") != 0) ||
	    container_usage(k->rt, &u) == -1)
		u.uptime_ms = u.cpu_usec = u.memory_bytes = u.pids = -1;
	cmd_container_add_known(o, "uptime_seconds",
	    u.uptime_ms != -1 ? u.uptime_ms / 1000 : -1);
	cmd_container_add_known(o, "cpu_usec", u.cpu_usec);
	cmd_container_add_known(o, "memory_bytes", u.memory_bytes);
	cmd_container_add_known(o, "memory_limit",
	    k->cfg_ok ? k->cfg.memory_limit : -1);
	cmd_container_add_known(o, "pids", u.pids);
	return o;
}

void
cmd_container_stats(struct call *call)
{
	struct json_object *list, *p;
	struct ctr *k;

	list = json_object_new_array();
	if (json_object_object_get(call->params, "name") != NULL) {
		if ((k = cmd_container_find(call)) == NULL) {
			json_object_put(list);
			return;
		}
		json_object_array_add(list, cmd_container_stats_row(k));
	} else {
		TAILQ_FOREACH(k, &call_cmld(call)->ctrs, entry)
			json_object_array_add(list, cmd_container_stats_row(k));
	}
	p = json_object_new_object();
	json_object_object_add(p, "containers", list);
	call_reply(call, p);
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

/*
 * Whether configs must be signed: always once provisioned (a "false" set
 * in the factory does not outlive the lock), else as the setting says.
 */
static int
cmd_container_require_signed(struct cmld *cmld)
{
	if (strcmp(cmld->prov_state, "provisioned") == 0)
		return 1;
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

/* A container removed: its answer, waiting for scd to remove its token. */
struct ctr_removed {
	struct call *call;
	struct json_object *reply;
	char *details;
};

/* Answers a remove with what became of the token ("" if it had none). */
static void
cmd_container_removed(struct ctr_removed *r, const char *token)
{
	if (token[0] != '\0')
		json_object_object_add(r->reply, "token",
		    json_object_new_string(token));
	call_set_details(r->call, "%s%s%s", r->details,
	    token[0] != '\0' ? "; token " : "", token);
	call_reply(r->call, r->reply);
	free(r->details);
	free(r);
}

/* scd removed the container's token, or could not. */
static void
cmd_container_token_removed(void *arg, const char *error,
    struct json_object *params)
{
	struct ctr_removed *r = arg;
	char *token;

	if (error == NULL || strcmp(error, PROTO_ERR_NOT_FOUND) == 0)
		token = xstrdup("removed");
	else
		token = xasprintf("not removed (scd: %s; 'token init --force' "
		    "replaces it for a new container of this name)",
		    scd_error_message(params));
	cmd_container_removed(r, token);
	free(token);
}

/*
 * Removes a container; its token (when its config names one) is removed
 * from scd too, and the answer waits for that: what the token protected
 * is gone with the container (its wrapped key goes with its row).
 */
void
cmd_container_remove(struct call *call)
{
	struct cmld *cmld = call_cmld(call);
	struct ctr_removed *r;
	struct json_object *p;
	struct ctr *k;
	const char *error;
	char *cause = NULL, *name, *id = NULL, *path = NULL, *vol = NULL;
	long long size, allocated;
	int purge, token, encrypted;

	if ((k = cmd_container_find(call)) == NULL)
		return;
	purge = json_object_get_boolean(json_object_object_get(call->params,
	    "purge"));
	name = xstrdup(k->name);
	token = k->cfg.token != CCONFIG_TOKEN_NONE;
	/* Its id names its data volume; the row goes with the remove. */
	encrypted = k->cfg_ok && k->cfg.storage_encrypted;
	if ((id = cmd_container_id(k)) != NULL &&
	    cvol_stat(cmld->state_dir, id, &size, &allocated) == 0)
		path = encrypted ? cvol_path_luks(cmld->state_dir, id) :
		    cvol_path(cmld->state_dir, id);
	if (ctr_remove(k, &error, &cause) == -1) {
		cmd_container_refuse(call, error, cause);
		goto out;
	}
	if (path != NULL && purge) {
		if (cvol_remove(cmld->state_dir, id, &cause) == -1) {
			vol = xasprintf("not removed: %s", cause);
			free(cause);
			cause = NULL;
		} else
			vol = xasprintf("removed %s", path);
	} else if (path != NULL && encrypted)
		vol = xasprintf("kept in %s, but its key went with the "
		    "container: nothing opens it again (remove --purge "
		    "destroys it)", path);
	else if (path != NULL)
		vol = xasprintf("kept in %s (remove --purge removes it)", path);
	r = xcalloc(1, sizeof *r);
	r->call = call;
	r->details = xasprintf("removed container %s%s%s", name,
	    vol != NULL ? "; data volume " : "", vol != NULL ? vol : "");
	r->reply = json_object_new_object();
	json_object_object_add(r->reply, "name", json_object_new_string(name));
	if (vol != NULL)
		json_object_object_add(r->reply, "volume",
		    json_object_new_string(vol));
	if (!token) {
		cmd_container_removed(r, "");
		goto out;
	}
	p = json_object_new_object();
	json_object_object_add(p, "name", json_object_new_string(name));
	if (scd_call(cmld, "Remove", p, cmd_container_token_removed, r,
	    &cause) == -1) {
		free(name);
		name = xasprintf("not removed (%s; 'token init --force' "
		    "replaces it for a new container of this name)", cause);
		cmd_container_removed(r, name);
		free(cause);
		goto out;
	}
	call_defer(call);
out:
	free(name);
	free(id);
	free(path);
	free(vol);
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
