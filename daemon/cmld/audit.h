/*
 * cmld as the audit daemon (audit.c): every security-relevant event
 * becomes a record in the audit trail, with who caused it (CR 2.12): the
 * uid, pid and command of the acting process.  Records are hash-chained
 * as they are written and stored in groups (one transaction for what a
 * loop turn wrote: before cmld waits again, before a reply leaves, or
 * when audit_sync asks); audit-space.c keeps the trail within its
 * capacity, audit-cp.c has tpm2d sign checkpoints over the chain.
 */
#ifndef CMLD_AUDIT_H
#define CMLD_AUDIT_H

#include <stddef.h>

#include <json-c/json.h>

struct audit_record;
struct call;
struct cmld;

/* The most records waiting for their group commit. */
#define AUDIT_QUEUE_MAX 1024

/*
 * What a part of cmld does with the trail's events; any member may be
 * NULL.  The parts that act on the trail (its room, checkpoints,
 * followers, forwarding) hook in here, so that the trail calls none of
 * them by name.
 */
struct audit_hook {
	void (*open)(struct cmld *cmld); /* the trail is open */
	void (*committed)(struct cmld *cmld); /* records were stored */
	/* a notice (its level, seq, time and message) for the clients */
	void (*notice)(struct cmld *cmld, struct json_object *notice);
	void (*close)(struct cmld *cmld); /* the trail closes */
};
/* The most hooks. */
#define AUDIT_HOOKS_MAX 8

/* Adds a hook (kept: a static one); before audit_open. */
void audit_hook(struct cmld *cmld, const struct audit_hook *hook);

/*
 * Opens the trail (chains records of an older schema, reads the head) and
 * makes the loop commit what a turn wrote; -1 with *cause set.  Records
 * written before this are held and stored then.
 */
int audit_open(struct cmld *cmld, char **cause);
/* Stores what is queued and stops the trail's timers (at shutdown). */
void audit_close(struct cmld *cmld);
/*
 * Stores the queued records now; 0 when nothing is left queued (they are
 * durable), -1 when they could not be stored (they stay queued).
 */
int audit_sync(struct cmld *cmld);
/*
 * Nanoseconds spent storing records so far, counted only while the log
 * level is debug: the audit's share of a start or stop (phases.h).
 */
long long audit_commit_ns(struct cmld *cmld);

/*
 * Says whether the trail is full and state-changing commands are refused
 * (audit_full_action refuse, or nothing acknowledged left to drop).
 */
int audit_refusing(struct cmld *cmld);

/*
 * Writes an audit record of what cmld does on its own (no caller): the
 * subject is cmld, its uid and pid; type says which kind of event.
 */
void audit_write(struct cmld *cmld, const char *type, const char *object,
    const char *result, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/*
 * Writes an audit record for a caller known by uid and pid (from
 * SO_PEERCRED) and its command name (NULL: read now from procfs), about
 * container (NULL: none).
 */
void audit_write_as(struct cmld *cmld, const char *type, long long uid,
    long long pid, const char *comm, const char *container,
    const char *object, const char *result, const char *fmt, ...)
    __attribute__((format(printf, 9, 10)));
/*
 * Queues a record another daemon wrote before cmld could (a stage's
 * spool): with its original time (ms since the epoch; 0: now), and its
 * writer as the subject (uid, pid, command).  Returns the record's seq in
 * the trail (durable after audit_sync), or -1 if it could not be queued.
 */
long long audit_write_from(struct cmld *cmld, long long time_ms,
    const char *type, long long uid, long long pid, const char *comm,
    const char *object, const char *result, const char *fmt, ...)
    __attribute__((format(printf, 9, 10)));
/*
 * Writes an audit record (type "container") about a container's own event
 * that cmld observes or acts on by itself (its end, autostart, a sweep):
 * the subject is cmld, its uid and pid; name says which container.
 */
void audit_container(struct cmld *cmld, const char *name, const char *result,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Formats milliseconds since the epoch as RFC 3339 UTC (buf >= 32 bytes). */
void audit_format_time(long long ms, char *buf, size_t len);
/* Returns the current UTC time in milliseconds. */
long long audit_now_ms(void);
/*
 * Returns a record as org.cml.Audit's Record (full 0: what a listing
 * shows) or FullRecord (full 1: with time_ms, the chain and whether it
 * was acknowledged; an export line without "kind").
 */
struct json_object *audit_record_json(const struct audit_record *rec,
    int full);
/* The seq of the newest record stored (0: none). */
long long audit_stored_seq(struct cmld *cmld);

/* A trail's head as hex, with its NUL. */
#define AUDIT_HEAD_HEX 65
/*
 * Destroys the trail and begins a new chain, as a new device's (a device
 * wipe: the device key that signed the old checkpoints is gone).  What is
 * queued is stored first; then every record, checkpoint and
 * acknowledgement and the forwarding cursor are deleted (stop forwarding
 * before), and the new trail's first record, #1, of type by the caller
 * (uid, pid, comm), names the trail destroyed (its records and head),
 * then says why.  Followers go on with the new trail from its start.
 * Sets *records and head (AUDIT_HEAD_HEX bytes) to what was destroyed;
 * -1 with *cause set, the trail kept as it was.
 */
int audit_restart(struct cmld *cmld, const char *type, long long uid,
    long long pid, const char *comm, const char *why, long long *records,
    char *head, char **cause);

/*
 * Something happened that connected clients following the trail are told
 * at once (a threshold crossed, an integrity violation): level is
 * "warning", "critical" or "integrity"; seq the record that says so.
 */
void audit_notice(struct cmld *cmld, const char *level, long long seq,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
