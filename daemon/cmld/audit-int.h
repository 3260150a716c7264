/*
 * The audit trail's inside, shared by audit.c (writing), audit-space.c
 * (capacity, thresholds, retention), audit-cp.c (signed checkpoints) and
 * cmd-audit*.c (review): the trail's state, hung on struct cmld.
 */
#ifndef CMLD_AUDIT_INT_H
#define CMLD_AUDIT_INT_H

#include <sys/queue.h>

#include <json-c/json.h>

#include "audit.h"
#include "loop.h"
#include "store.h"

struct call;
struct cmld;

/* A client following the trail (audit follow), or only its notices. */
struct audit_follower {
	struct call *call;
	long long after; /* the newest record it was sent */
	int notices_only;
	int parked; /* waits for its client to drain */
	long long missed; /* notices not sent while its client did not read */
	TAILQ_ENTRY(audit_follower) entry;
};
TAILQ_HEAD(audit_follower_list, audit_follower);

/* The trail's levels of fill, lowest first. */
enum audit_level {
	AUDIT_LEVEL_OK = 0,
	AUDIT_LEVEL_WARNING, /* past audit_warn_percent */
	AUDIT_LEVEL_CRITICAL, /* past audit_critical_percent */
	AUDIT_LEVEL_FULL, /* at or past the capacity */
};

struct audit_trail {
	struct cmld *cmld;
	int open; /* audit_open ran: records are stored */
	/* the chain as queued: the next seq, the newest record's hash */
	long long next_seq;
	unsigned char head[STORE_AUDIT_HASH_LEN];
	/* the newest record stored, and its hash */
	long long stored_seq;
	unsigned char stored_head[STORE_AUDIT_HASH_LEN];
	/* the records waiting for their group commit (strings owned) */
	struct audit_record queue[AUDIT_QUEUE_MAX];
	size_t nqueue;
	int failing; /* the last commit failed (logged once) */
	/* records that could not even be queued; written as one record */
	long long lost;
	int in_flush; /* a commit is running: records wait for the next */
	long long commit_ns; /* in commits so far; counted at debug level */

	/* audit-space.c */
	long long used; /* bytes, as of the last commit */
	enum audit_level level;
	int refusing; /* full, and state-changing commands are refused */
	long long dropped_to; /* records up to here were dropped (0: none) */

	/* audit-cp.c */
	long long cp_seq; /* the newest checkpoint */
	/* counts the trail's restarts: a signing of an older chain is void */
	long long cp_epoch;
	long long cp_time_ms;
	long long cp_signing; /* the seq being signed (0: none) */
	int cp_failing; /* the last signing failed (recorded once) */
	char *cp_error;
	struct loop_timer cp_timer;

	struct audit_follower_list followers;

	const struct audit_hook *hooks[AUDIT_HOOKS_MAX];
	size_t nhooks;
};

/* The trail of cmld. */
struct audit_trail *audit_trail(struct cmld *cmld);
/* Reads an integer setting (its default when unset or unreadable). */
long long audit_setting_int(struct cmld *cmld, const char *key);

/*
 * Writes a record of the audit system itself (type "audit", object
 * "audit trail", by cmld); returns its seq.
 */
long long audit_self(struct cmld *cmld, const char *result,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The name of a level: "ok", "warning", "critical", "full". */
const char *audit_level_name(int level);
/* audit-space.c: measures the trail after a commit and acts on it. */
void audit_space_check(struct cmld *cmld);
extern const struct audit_hook audit_space_hook;
/* The forward cursor (0: none or not forwarding). */
long long audit_forward_cursor(struct cmld *cmld);
/* audit-cp.c: signs a checkpoint when one is due. */
extern const struct audit_hook audit_cp_hook;
/*
 * audit-cp.c: forgets the checkpoints of a trail destroyed (audit_restart):
 * none is due, and a signing still out at tpm2d is dropped when it comes.
 */
void audit_cp_reset(struct cmld *cmld);
/* cmd-audit-review.c: sends followers what was stored, and notices. */
extern const struct audit_hook audit_follow_hook;

#endif
