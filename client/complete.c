/*
 * Completion values (complete.h).  Live lists come from the read-only
 * commands a person would run to see them (container list, guestos list,
 * ca list, audit list), so completion shows nothing a caller could not
 * see anyway, and a cmld that cannot be reached completes nothing.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "complete.h"
#include "interfaces.h"
#include "settings.h"
#include "words.h"
#include "xmalloc.h"

/* Candidates being collected: those that start with text. */
struct complete_matches {
	struct words *w;
	const char *text;
};

/* Adds word (taken over) if it starts with the text and is new. */
static void
complete_add(struct complete_matches *m, char *word)
{
	int i;

	if (strncmp(word, m->text, strlen(m->text)) != 0)
		goto drop;
	for (i = 0; i < m->w->argc; i++)
		if (strcmp(m->w->argv[i], word) == 0)
			goto drop;
	words_add(m->w, word);
	return;
drop:
	free(word);
}

/* Returns monotonic seconds. */
static long long
complete_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec;
}

/* Keeps a reply of a quiet call. */
static int
complete_query_reply(void *arg, struct json_object *params, int continues,
    const int *fds, size_t nfds, char **cause)
{
	struct json_object **acc = arg;
	size_t i;

	(void)continues;
	(void)cause;
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	if (*acc == NULL)
		*acc = json_object_get(params);
	else
		client_json_merge(*acc, params);
	return 0;
}

/* A quiet call says nothing when it is refused. */
static void
complete_query_error(void *arg, const char *error, struct json_object *params)
{
	(void)arg;
	(void)error;
	(void)params;
}

int
complete_query(struct client *cl, const char *words,
    struct json_object *params, struct json_object **reply)
{
	const struct cmd_entry *cmd;
	struct json_object *acc = NULL;
	const struct client_reply_ops ops = { .arg = &acc,
	    .reply = complete_query_reply, .error = complete_query_error };
	char *cause = NULL;

	*reply = NULL;
	if ((cmd = cmd_find_words(words)) == NULL) {
		json_object_put(params);
		return -1;
	}
	if (params == NULL)
		params = json_object_new_object();
	if (client_call(cl, cmd, params, 0, NULL, &ops, &cause) != 0) {
		free(cause);
		json_object_put(acc);
		return -1;
	}
	*reply = acc;
	return 0;
}

int
client_session_report(struct client *cl, const char *event,
    const char *user, long long seconds)
{
	struct json_object *params = json_object_new_object(), *reply = NULL;
	long long timeout = cl->timeout_ms;
	int rc;

	json_object_object_add(params, "event", json_object_new_string(event));
	if (user != NULL)
		json_object_object_add(params, "user",
		    json_object_new_string(user));
	if (seconds >= 0)
		json_object_object_add(params, "seconds",
		    json_object_new_int64(seconds));
	/* a cmld that hangs holds no lock nor the end of a session up */
	cl->timeout_ms = CLIENT_SESSION_REPORT_MS;
	rc = complete_query(cl, "audit session", params, &reply);
	cl->timeout_ms = timeout;
	json_object_put(reply);
	return rc == 0 ? 0 : -1;
}

/*
 * Returns the array of a list cmld gives (borrowed from the cache, or
 * from *fresh, which the caller frees), asking cmld when the cache holds
 * none young enough; NULL when cmld cannot tell.
 */
static struct json_object *
complete_fetch(struct client *cl, struct complete_cache *cache,
    enum complete_list id, struct json_object **fresh)
{
	static const struct {
		const char *words, *member;
	} lists[COMPLETE_LISTS] = {
		[COMPLETE_CONTAINERS] = { "container list", "containers" },
		[COMPLETE_GUESTOS] = { "guestos list", "guestos" },
		[COMPLETE_ANCHORS] = { "ca list", "anchors" },
		[COMPLETE_AUDIT] = { "audit list", "records" },
	};
	struct json_object *reply = NULL, *params = NULL, *list;
	long long now = complete_now();

	if (cache != NULL && cache->reply[id] != NULL &&
	    now - cache->at[id] < cache->max_age)
		reply = cache->reply[id];
	else {
		if (id == COMPLETE_AUDIT) {
			params = json_object_new_object();
			json_object_object_add(params, "last",
			    json_object_new_int(COMPLETE_AUDIT_LAST));
		}
		if (complete_query(cl, lists[id].words, params, &reply) == -1)
			return NULL;
		if (cache != NULL) {
			json_object_put(cache->reply[id]);
			cache->reply[id] = reply;
			cache->at[id] = now;
		} else
			*fresh = reply;
	}
	if (!json_object_object_get_ex(reply, lists[id].member, &list) ||
	    !json_object_is_type(list, json_type_array))
		return NULL;
	return list;
}

/*
 * Adds member of every object in a list cmld gave, those whose match_key
 * equals match_value when that is not NULL.
 */
static void
complete_add_list(struct complete_matches *m, struct client *cl,
    struct complete_cache *cache, enum complete_list id, const char *member,
    const char *match_key, const char *match_value)
{
	struct json_object *fresh = NULL, *list, *o, *v;
	size_t i, n;

	if ((list = complete_fetch(cl, cache, id, &fresh)) == NULL)
		goto out;
	n = json_object_array_length(list);
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(list, i);
		if (match_key != NULL && (!json_object_object_get_ex(o,
		    match_key, &v) || match_value == NULL ||
		    strcmp(json_object_get_string(v), match_value) != 0))
			continue;
		if (json_object_object_get_ex(o, member, &v) &&
		    json_object_is_type(v, json_type_string) &&
		    json_object_get_string_len(v) > 0)
			complete_add(m, xstrdup(json_object_get_string(v)));
	}
out:
	json_object_put(fresh);
}

/* Adds the values the setting key can take, where they are few. */
static void
complete_setting_value(struct complete_matches *m, struct client *cl,
    struct complete_cache *cache, const char *key)
{
	const struct setting_def *def;
	const char *const *c;

	if (key == NULL || (def = setting_find(key)) == NULL)
		return;
	switch (def->type) {
	case SETTING_ENUM:
		for (c = def->choices; *c != NULL; c++)
			complete_add(m, xstrdup(*c));
		break;
	case SETTING_BOOL:
		complete_add(m, xstrdup("true"));
		complete_add(m, xstrdup("false"));
		break;
	case SETTING_GUESTOS:
		complete_add_list(m, cl, cache, COMPLETE_GUESTOS, "name", NULL,
		    NULL);
		break;
	case SETTING_INT:
	case SETTING_PREFIX:
		complete_add(m, xstrdup(def->def));
		break;
	case SETTING_STRING:
	case SETTING_IFLIST:
	case SETTING_PORTLIST:
	case SETTING_SIGNERS:
		break;
	}
}

void
complete_values(struct client *cl, struct complete_cache *cache,
    enum cmd_complete kind, const char *prev, const char *text,
    struct words *out)
{
	static const char *const audit_types[] = {
		"call", "session", "daemon", "container", "tpm2d", "scd",
		"audit", "integrity", "kernel", NULL
	};
	struct complete_matches m = { out, text != NULL ? text : "" };
	const char *const *t;
	size_t i;

	memset(out, 0, sizeof *out);
	switch (kind) {
	case CMD_COMPLETE_SETTING:
		for (i = 0; i < setting_defs_len; i++)
			complete_add(&m, xstrdup(setting_defs[i].key));
		break;
	case CMD_COMPLETE_INTERFACE:
		for (i = 0; i < cml_interfaces_len; i++)
			complete_add(&m, xstrdup(cml_interfaces[i].name));
		break;
	case CMD_COMPLETE_CONTAINER:
		complete_add_list(&m, cl, cache, COMPLETE_CONTAINERS, "name",
		    NULL, NULL);
		break;
	case CMD_COMPLETE_GUESTOS:
		complete_add_list(&m, cl, cache, COMPLETE_GUESTOS, "name",
		    NULL, NULL);
		break;
	case CMD_COMPLETE_GUESTOS_VERSION:
		complete_add_list(&m, cl, cache, COMPLETE_GUESTOS, "version",
		    "name", prev);
		break;
	case CMD_COMPLETE_ANCHOR:
		complete_add_list(&m, cl, cache, COMPLETE_ANCHORS,
		    "fingerprint", NULL, NULL);
		break;
	case CMD_COMPLETE_SETTING_VALUE:
		complete_setting_value(&m, cl, cache, prev);
		break;
	case CMD_COMPLETE_AUDIT_TYPE:
		for (t = audit_types; *t != NULL; t++)
			complete_add(&m, xstrdup(*t));
		complete_add_list(&m, cl, cache, COMPLETE_AUDIT, "type", NULL,
		    NULL);
		break;
	case CMD_COMPLETE_AUDIT_RESULT:
		complete_add(&m, xstrdup("ok"));
		complete_add_list(&m, cl, cache, COMPLETE_AUDIT, "result",
		    NULL, NULL);
		break;
	case CMD_COMPLETE_FILE:
	case CMD_COMPLETE_NONE:
		break;
	}
}

void
complete_cache_clear(struct complete_cache *cache)
{
	int i;

	for (i = 0; i < COMPLETE_LISTS; i++) {
		json_object_put(cache->reply[i]);
		cache->reply[i] = NULL;
		cache->at[i] = 0;
	}
}
