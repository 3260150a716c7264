/*
 * What an argument completes with, by the kind the command table gives it
 * (enum cmd_complete): fixed lists (settings, interfaces, audit record
 * types) and live values asked of cmld (containers, guest OSes and their
 * versions, trust anchors, audit results).  cmlsh's readline completion
 * and cmltui's lists take them from here.
 */
#ifndef CML_CLIENT_COMPLETE_H
#define CML_CLIENT_COMPLETE_H

#include <json-c/json.h>

#include "client.h"
#include "cmdtab.h"
#include "words.h"

/* Audit records whose types and results complete audit list's filters. */
#define COMPLETE_AUDIT_LAST 500

/* The lists asked of cmld. */
enum complete_list {
	COMPLETE_CONTAINERS,
	COMPLETE_GUESTOS,
	COMPLETE_ANCHORS,
	COMPLETE_AUDIT,
	COMPLETE_LISTS,
};

/*
 * What cmld said lately, for max_age seconds (0: asked every time); a
 * zeroed cache holds nothing.
 */
struct complete_cache {
	struct json_object *reply[COMPLETE_LISTS];
	long long at[COMPLETE_LISTS]; /* monotonic seconds */
	long long max_age;
};

/*
 * Calls the command of words with params (taken over; NULL: none) and
 * says nothing about a failure: the replies merged go to *reply (free
 * it).  Returns 0, or -1 when the call failed or was refused.
 */
int complete_query(struct client *cl, const char *words,
    struct json_object *params, struct json_object **reply);
/*
 * Has cmld record an event of this session (audit session: idle-ended,
 * locked, unlocked, unlock-failed) with user (NULL: none) and seconds
 * (< 0: none), quietly; 0 when recorded, -1 when not (cmld unreachable,
 * the call refused, no answer within CLIENT_SESSION_REPORT_MS).
 */
#define CLIENT_SESSION_REPORT_MS 2000
int client_session_report(struct client *cl, const char *event,
    const char *user, long long seconds);
/*
 * Puts into out what an argument of kind completes with that starts with
 * text ("": everything), each once (free them with words_free; there may
 * be none); prev is the positional argument before it
 * (the setting of a value, the guest OS of a version) or NULL.  Live
 * values are asked of cmld through cl (remembered in cache, which may be
 * NULL); when cmld cannot tell, there are none.  CMD_COMPLETE_FILE has
 * none here: the caller lists files.
 */
void complete_values(struct client *cl, struct complete_cache *cache,
    enum cmd_complete kind, const char *prev, const char *text,
    struct words *out);
/* Drops what a cache holds. */
void complete_cache_clear(struct complete_cache *cache);

#endif
