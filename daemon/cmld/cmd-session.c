/*
 * org.cml.Audit.Session: what a client saw of its own session, recorded.
 *
 * Only the client sees its keyboard: that an interactive session ended
 * for want of a key (CR 2.6), that cmltui's screen locked, was unlocked,
 * or that an unlock failed (CR 2.5).  The record (type session) has the
 * caller as its subject, like every record, and says that the client
 * reports it.  A user name goes into a record only as an account name
 * (letters, digits, ".", "_", "-", at most 32 bytes): a password typed
 * into the name field is refused, never recorded.  Reports are bounded
 * for each uid (SESSION_BURST at once, one more every SESSION_REFILL_MS),
 * so no client fills the trail with them.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "ctx.h"
#include "handlers.h"
#include "proto.h"
#include "xmalloc.h"

#define SESSION_BURST 10
#define SESSION_REFILL_MS 6000
#define SESSION_UIDS 32
#define SESSION_USER_MAX 32

/* The reports each uid has left (a token bucket). */
struct session_bucket {
	int used;
	long long uid;
	long long tokens_ms; /* tokens, in ms of refill: SESSION_REFILL_MS each */
	long long at_ms; /* when tokens_ms was last brought up to date */
};

static struct session_bucket session_buckets[SESSION_UIDS];

/*
 * Takes one report from uid's bucket: 1 if it had one, 0 if not.  A uid
 * not seen takes a free place, else the one least lately used (a free one
 * has at_ms 0, so it is found as the oldest).
 */
static int
session_take(long long uid, long long now_ms)
{
	const long long full = (long long)SESSION_BURST * SESSION_REFILL_MS;
	struct session_bucket *b = NULL, *oldest = NULL;
	size_t i;

	for (i = 0; i < SESSION_UIDS && b == NULL; i++) {
		if (session_buckets[i].used && session_buckets[i].uid == uid)
			b = &session_buckets[i];
		else if (oldest == NULL ||
		    session_buckets[i].at_ms < oldest->at_ms)
			oldest = &session_buckets[i];
	}
	if (b == NULL) {
		b = oldest;
		b->used = 1;
		b->uid = uid;
		b->tokens_ms = full;
		b->at_ms = now_ms;
	}
	if (now_ms > b->at_ms) {
		b->tokens_ms += now_ms - b->at_ms;
		if (b->tokens_ms > full)
			b->tokens_ms = full;
	}
	b->at_ms = now_ms;
	if (b->tokens_ms < SESSION_REFILL_MS)
		return 0;
	b->tokens_ms -= SESSION_REFILL_MS;
	return 1;
}

/* Says whether s is an account name cmld records. */
static int
session_user_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > SESSION_USER_MAX || s[0] == '-' || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		    s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

/* Returns string parameter name, or NULL when it is not given. */
static const char *
session_param(struct call *call, const char *name)
{
	struct json_object *v;

	if (json_object_object_get_ex(call->params, name, &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

void
cmd_audit_session(struct call *call)
{
	static const char *const events[] = { "idle-ended", "locked",
	    "unlocked", "unlock-failed" };
	struct cmld *cmld = call_cmld(call);
	const char *event = session_param(call, "event");
	const char *user = session_param(call, "user");
	const char *client = call->comm[0] != '\0' ? call->comm : "the client";
	struct json_object *v;
	long long seconds = -1;
	size_t i;
	char *what;

	for (i = 0; i < sizeof events / sizeof events[0]; i++)
		if (event != NULL && strcmp(event, events[i]) == 0)
			break;
	if (i == sizeof events / sizeof events[0]) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "event",
		    "EVENT is idle-ended, locked, unlocked or unlock-failed");
		return;
	}
	if (user != NULL && !session_user_ok(user)) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "user",
		    "NAME is an account name: at most %d letters, digits, "
		    "'.', '_' or '-', not first '-' or '.'", SESSION_USER_MAX);
		return;
	}
	if (strcmp(event, "unlocked") == 0 && user == NULL) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "user",
		    "unlocked needs --user: who unlocked the session");
		return;
	}
	if (json_object_object_get_ex(call->params, "seconds", &v) &&
	    json_object_is_type(v, json_type_int))
		seconds = json_object_get_int64(v);
	if (!session_take((long long)call->uid, loop_now_ms())) {
		call_error(call, PROTO_ERR_FAILED, NULL, "too many session "
		    "events: at most %d a minute for each user",
		    SESSION_BURST);
		return;
	}
	if (strcmp(event, "idle-ended") == 0)
		what = seconds >= 0 ? xasprintf("the session ended after %lld "
		    "s without a key (session_idle_timeout)", seconds) :
		    xstrdup("the session ended for want of a key "
		    "(session_idle_timeout)");
	else if (strcmp(event, "locked") == 0)
		what = seconds > 0 ? xasprintf("the screen locked after %lld s "
		    "without a key (session_idle_timeout)", seconds) :
		    xstrdup("the screen locked when asked");
	else if (strcmp(event, "unlocked") == 0)
		what = xasprintf("the screen unlocked by %s", user);
	else
		what = user != NULL ? xasprintf("an unlock failed (user %s)",
		    user) : xstrdup("an unlock failed (a name that is no "
		    "account)");
	audit_write_as(cmld, "session", (long long)call->uid,
	    (long long)call->pid, call->comm[0] != '\0' ? call->comm : NULL,
	    NULL, event, strcmp(event, "unlock-failed") == 0 ? "failed" : "ok",
	    "%s reports: %s", client, what);
	free(what);
	call_reply(call, json_object_new_object());
}
