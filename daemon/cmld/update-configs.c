/*
 * Updates of container configs from a signed bundle (COM 06, TSF.UPD,
 * NDR 3.10): every payload NAME.json is the config of container NAME, new
 * or one that exists and does not run.  All of them are checked first
 * (each parses, its guest OS is installed, its devices do not clash with
 * another container's), then stored in one transaction with the install's
 * history row and its floor: a power cut leaves the configs before or the
 * configs after, never some of each.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cconfig.h"
#include "ctr.h"
#include "ctx.h"
#include "guestos-ready.h"
#include "log.h"
#include "proto.h"
#include "store.h"
#include "update.h"
#include "xmalloc.h"

/* The most bytes of all configs of one bundle. */
#define UPDATE_CONFIGS_MAX (8 * 1024 * 1024)

/* One config of the bundle. */
struct update_config {
	char *json;
	size_t len;
	struct cconfig cfg;
	int parsed;
	struct ctr *k; /* the container it replaces the config of, or NULL */
};

/* Frees n configs. */
static void
update_configs_free(struct update_config *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(c[i].json);
		if (c[i].parsed)
			cconfig_clear(&c[i].cfg);
	}
	free(c);
}

/* Reads and checks config i; -1 with *error and *cause set. */
static int
update_config_read(struct cmld *cmld, const struct update_bundle *b,
    size_t i, struct update_config *c, const char **error, char **cause)
{
	const char *file = b->m.payloads[i].name;
	char *name = NULL, *why = NULL, *version = NULL;
	size_t len = strlen(file);
	int rc;

	*error = PROTO_ERR_INVALID_ARGUMENT;
	if (len < 6 || strcmp(file + len - 5, ".json") != 0) {
		*cause = xasprintf("payload '%s' is not NAME.json, the config "
		    "of container NAME", file);
		return -1;
	}
	name = xasprintf("%.*s", (int)(len - 5), file);
	*error = PROTO_ERR_INTEGRITY;
	if (update_payload_read(b, i, CCONFIG_MAX, &c->json, &c->len,
	    cause) == -1)
		goto fail;
	*error = PROTO_ERR_INVALID_ARGUMENT;
	rc = strcmp(name, CCONFIG_C0_NAME) == 0 ?
	    cconfig_parse_c0(c->json, c->len, &c->cfg, &why) :
	    cconfig_parse(c->json, c->len, &c->cfg, &why);
	if (rc == -1) {
		*cause = xasprintf("%s: %s", file, why);
		goto fail;
	}
	c->parsed = 1;
	if (strcmp(c->cfg.name, name) != 0) {
		*cause = xasprintf("%s holds the config of container %s",
		    file, c->cfg.name);
		goto fail;
	}
	if ((c->k = ctr_find(cmld, name)) != NULL && (c->k->rt != NULL ||
	    c->k->starting || c->k->wiping ||
	    (strcmp(c->k->state, "stopped") != 0 &&
	    strcmp(c->k->state, "failed") != 0))) {
		*error = PROTO_ERR_BUSY;
		*cause = xasprintf("container %s is %s: its config changes only "
		    "while it is stopped", name, c->k->state);
		goto fail;
	}
	if (ctr_check_others(cmld, &c->cfg, &why) == -1) {
		*cause = xasprintf("%s: %s", file, why);
		goto fail;
	}
	*error = PROTO_ERR_FAILED;
	if (guestos_newest(cmld, c->cfg.guestos_name,
	    c->cfg.guestos_min_version, &version, cause) == -1)
		goto fail;
	if (version == NULL) {
		*error = PROTO_ERR_NOT_FOUND;
		*cause = xasprintf("%s: guest OS '%s'%s%s is not installed",
		    file, c->cfg.guestos_name,
		    c->cfg.guestos_min_version != NULL ? " >= " : "",
		    c->cfg.guestos_min_version != NULL ?
		    c->cfg.guestos_min_version : "");
		goto fail;
	}
	free(version);
	free(name);
	return 0;
fail:
	free(why);
	free(name);
	return -1;
}

/* Stores every config; inside the caller's transaction. */
static int
update_configs_store(struct cmld *cmld, struct update_config *c, size_t n,
    const char *signer, char **cause)
{
	struct store_container sc;
	long long idx;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if (c[i].k != NULL) {
			if (store_container_update_config(cmld->store,
			    c[i].cfg.name, c[i].json, c[i].len, signer,
			    c[i].cfg.guestos_name, cause) == -1)
				return -1;
			continue;
		}
		if (store_container_free_index(cmld->store, &idx, cause) == -1)
			return -1;
		memset(&sc, 0, sizeof sc);
		sc.name = c[i].cfg.name;
		sc.idx = idx;
		sc.config = c[i].json;
		sc.config_len = c[i].len;
		sc.signer = (char *)signer;
		sc.guestos = c[i].cfg.guestos_name;
		if ((rc = store_container_add(cmld->store, &sc, cause)) != 0) {
			if (rc == 1)
				*cause = xasprintf("container '%s' exists "
				    "already", sc.name);
			return -1;
		}
	}
	return 0;
}

/* Takes the stored configs into the containers cmld keeps. */
static void
update_configs_apply(struct cmld *cmld, struct update_config *c, size_t n,
    const char *signer)
{
	struct store_container got;
	struct ctr *k;
	char *cause = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((k = c[i].k) != NULL) {
			cconfig_clear(&k->cfg);
			k->cfg = c[i].cfg;
			c[i].parsed = 0; /* k has it now */
			k->cfg_ok = 1;
			free(k->signer);
			k->signer = xstrdup(signer);
			continue;
		}
		memset(&got, 0, sizeof got);
		if (store_container_get(cmld->store, c[i].cfg.name, &got,
		    &cause) != 1) {
			log_warnx("container %s: %s", c[i].cfg.name, cause !=
			    NULL ? cause : "not in the store after its install");
			free(cause);
			cause = NULL;
			continue;
		}
		k = ctr_from_store(cmld, &got);
		store_container_clear(&got);
		if (strcmp(k->name, CCONFIG_C0_NAME) == 0)
			TAILQ_INSERT_HEAD(&cmld->ctrs, k, entry);
		else
			TAILQ_INSERT_TAIL(&cmld->ctrs, k, entry);
	}
}

int
update_configs_install(struct cmld *cmld, struct update_bundle *b,
    const char *signer, struct store_update *u, char **detail,
    const char **error, char **cause)
{
	struct update_config *c;
	size_t i, n = b->m.npayloads, made = 0;
	uint64_t total = 0;
	char *list = NULL, *t;

	/* Read within the loop: a bound keeps that short. */
	for (i = 0; i < n; i++)
		total += b->m.payloads[i].size;
	if (total > UPDATE_CONFIGS_MAX) {
		*error = PROTO_ERR_INVALID_ARGUMENT;
		*cause = xasprintf("the configs of a bundle are %llu bytes, more "
		    "than the %d MiB one bundle may hold",
		    (unsigned long long)total, UPDATE_CONFIGS_MAX >> 20);
		return -1;
	}
	c = xcalloc(n, sizeof *c);
	for (i = 0; i < n; i++) {
		if (update_config_read(cmld, b, i, &c[i], error, cause) == -1) {
			update_configs_free(c, n);
			free(list);
			return -1;
		}
		made += c[i].k == NULL;
		t = xasprintf("%s%s%s", list != NULL ? list : "", list !=
		    NULL ? ", " : "", c[i].cfg.name);
		free(list);
		list = t;
	}

	*error = PROTO_ERR_FAILED;
	if (store_begin(cmld->store, cause) == -1)
		goto fail;
	if (update_configs_store(cmld, c, n, signer, cause) == -1 ||
	    store_update_begin(cmld->store, u, cause) == -1 ||
	    store_floor_raise(cmld->store, "configs", b->m.name,
	    b->m.version, cause) == -1) {
		store_abort(cmld->store);
		goto fail;
	}
	*detail = xasprintf("%zu container%s created, %zu updated: %s", made,
	    made == 1 ? "" : "s", n - made, list);
	if (store_update_end(cmld->store, u->id, "installed", *detail,
	    cause) == -1) {
		store_abort(cmld->store);
		free(*detail);
		*detail = NULL;
		goto fail;
	}
	if (store_commit(cmld->store, cause) == -1) {
		free(*detail);
		*detail = NULL;
		goto fail;
	}
	update_configs_apply(cmld, c, n, signer);
	update_configs_free(c, n);
	free(list);
	return 0;
fail:
	update_configs_free(c, n);
	free(list);
	return -1;
}
