/*
 * cmld as the audit daemon: every security-relevant event becomes a record
 * in the audit trail, with who caused it (TSF.AUDIT, CR 2.8, CR 2.12).
 * The subject of a record is always a real process: the caller of a call
 * or the peer of a session, and cmld itself for what it does on its own
 * and for the container events it observes.
 *
 * Records are chained as they are written (each carries the hash of the
 * one before: crypto/auditchain.c) and queued; the queue is stored in one
 * transaction (synchronous=FULL, WAL) before cmld waits for events again,
 * before a reply leaves for a client, when it is full, and when a stage's
 * records are to be acknowledged (audit_sync).  So a burst costs one
 * commit a turn, and whatever cmld acknowledged is on disk.
 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "audit-int.h"
#include "auditchain.h"
#include "crypto.h"
#include "ctx.h"
#include "file.h"
#include "log.h"
#include "phases.h"
#include "proto.h"
#include "settings.h"
#include "store.h"
#include "utf8.h"
#include "xmalloc.h"

/* The most bytes a record keeps of its details, and of other fields. */
#define AUDIT_DETAILS_MAX 2048
#define AUDIT_FIELD_MAX 256
/* A command name (the kernel's comm has 15 bytes). */
#define AUDIT_COMM_MAX 64

struct audit_trail *
audit_trail(struct cmld *cmld)
{
	struct audit_trail *t = cmld->audit;

	if (t == NULL) {
		t = cmld->audit = xcalloc(1, sizeof *t);
		t->cmld = cmld;
		t->next_seq = 1;
		TAILQ_INIT(&t->followers);
	}
	return t;
}

void
audit_hook(struct cmld *cmld, const struct audit_hook *hook)
{
	struct audit_trail *t = audit_trail(cmld);

	if (t->nhooks == AUDIT_HOOKS_MAX)
		fatalx("too many audit hooks");
	t->hooks[t->nhooks++] = hook;
}

long long
audit_now_ms(void)
{
	return log_now_ms();
}

void
audit_format_time(long long ms, char *buf, size_t len)
{
	log_format_time(ms, buf, len);
}

long long
audit_setting_int(struct cmld *cmld, const char *key)
{
	char *v = store_setting_value(cmld->store, key);
	long long n = strtoll(v, NULL, 10);

	free(v);
	return n;
}

/* Frees the strings of a queued record. */
static void
audit_queued_clear(struct audit_record *q)
{
	free((char *)q->type);
	free((char *)q->comm);
	free((char *)q->container);
	free((char *)q->object);
	free((char *)q->result);
	free((char *)q->details);
	memset(q, 0, sizeof *q);
}

/* Computes rec's hash over prev (auditchain's encoding). */
static void
audit_chain(struct audit_record *rec, const unsigned char *prev)
{
	struct auditchain_rec r = {
		.seq = rec->seq, .time_ms = rec->time_ms, .uid = rec->uid,
		.pid = rec->pid, .type = rec->type, .comm = rec->comm,
		.container = rec->container, .object = rec->object,
		.result = rec->result, .details = rec->details,
	};

	memcpy(rec->prev, prev, STORE_AUDIT_HASH_LEN);
	auditchain_record_hash(rec->prev, &r, rec->hash);
	rec->chained = 1;
}

long long
audit_stored_seq(struct cmld *cmld)
{
	return audit_trail(cmld)->stored_seq;
}

/* Says whether a record reports an integrity violation (CR 3.4(2)). */
static int
audit_is_violation(const char *type, const char *result)
{
	return strcmp(type, "integrity") == 0 ||
	    strcmp(result, "integrity") == 0 ||
	    strcmp(result, PROTO_ERR_INTEGRITY) == 0 ||
	    strcmp(result, PROTO_ERR_INVALID_SIGNATURE) == 0;
}

/*
 * Queues one record of time_ms (0: now); the subject is given by uid, pid
 * and comm.  Returns the record's seq, or -1 if it could not be queued
 * (counted: a later record says how many).
 */
static long long __attribute__((format(printf, 10, 0)))
audit_vwrite(struct cmld *cmld, long long time_ms, const char *type,
    long long uid, long long pid, const char *comm, const char *container,
    const char *object, const char *result, const char *fmt, va_list ap)
{
	struct audit_trail *t = audit_trail(cmld);
	struct audit_record *rec;
	char *raw;
	long long seq;

	if (t->nqueue == AUDIT_QUEUE_MAX && !t->in_flush)
		(void)audit_sync(cmld);
	if (t->nqueue == AUDIT_QUEUE_MAX) {
		if (t->lost++ == 0)
			log_warnx("the audit queue is full and cannot be "
			    "stored: records are counted as lost");
		return -1;
	}
	if (vasprintf(&raw, fmt, ap) == -1)
		fatalx("out of memory");
	rec = &t->queue[t->nqueue++];
	/*
	 * Every field is bounded and safe to print, whatever a caller sent:
	 * no record can grow the trail or break a listing.
	 */
	rec->details = utf8_clean(raw, AUDIT_DETAILS_MAX);
	free(raw);
	rec->type = utf8_clean(type, AUDIT_FIELD_MAX);
	rec->object = utf8_clean(object, AUDIT_FIELD_MAX);
	rec->result = utf8_clean(result, AUDIT_FIELD_MAX);
	rec->comm = utf8_clean(comm != NULL ? comm : "", AUDIT_COMM_MAX);
	rec->container = container != NULL ?
	    utf8_clean(container, AUDIT_FIELD_MAX) : NULL;
	rec->time_ms = time_ms > 0 ? time_ms : audit_now_ms();
	rec->uid = uid;
	rec->pid = pid;
	rec->seq = seq = t->next_seq++;
	audit_chain(rec, t->head);
	memcpy(t->head, rec->hash, STORE_AUDIT_HASH_LEN);
	log_debug("audit #%lld: %s uid %lld pid %lld %s %s %s %s", seq,
	    rec->type, uid, pid, rec->comm, rec->object, rec->result,
	    rec->details);
	if (audit_is_violation(rec->type, rec->result))
		audit_notice(cmld, "integrity", seq, "%s %s: %s", rec->object,
		    rec->result, rec->details);
	return seq;
}

/* Calls audit_vwrite. */
static long long __attribute__((format(printf, 10, 11)))
audit_fwrite(struct cmld *cmld, long long time_ms, const char *type,
    long long uid, long long pid, const char *comm, const char *container,
    const char *object, const char *result, const char *fmt, ...)
{
	va_list ap;
	long long seq;

	va_start(ap, fmt);
	seq = audit_vwrite(cmld, time_ms, type, uid, pid, comm, container,
	    object, result, fmt, ap);
	va_end(ap);
	return seq;
}

long long
audit_self(struct cmld *cmld, const char *result, const char *fmt, ...)
{
	va_list ap;
	long long seq;

	va_start(ap, fmt);
	seq = audit_vwrite(cmld, 0, "audit", (long long)getuid(),
	    (long long)getpid(), "cmld", NULL, "audit trail", result, fmt, ap);
	va_end(ap);
	return seq;
}

int
audit_sync(struct cmld *cmld)
{
	struct audit_trail *t = audit_trail(cmld);
	char *cause = NULL;
	long long lost, t0;
	size_t i, n;
	int rc;

	if (!t->open || t->in_flush)
		return t->nqueue == 0 ? 0 : -1;
	if (t->lost > 0 && t->nqueue < AUDIT_QUEUE_MAX) {
		lost = t->lost;
		t->lost = 0;
		(void)audit_fwrite(cmld, 0, "audit", (long long)getuid(),
		    (long long)getpid(), "cmld", NULL, "audit trail", "lost",
		    "%lld audit records could not be stored: the trail could "
		    "not be written while they came", lost);
	}
	if (t->nqueue == 0)
		return 0;
	n = t->nqueue;
	t->in_flush = 1;
	/* The phases of a start or stop name the commits' share. */
	t0 = log_get_level() >= LOG_LEVEL_DEBUG ? phases_now_ns() : 0;
	rc = store_audit_append_batch(cmld->store, t->queue, n, &cause);
	if (t0 != 0)
		t->commit_ns += phases_now_ns() - t0;
	if (rc == -1) {
		if (!t->failing)
			log_warnx("cannot store %zu audit records (kept, tried "
			    "again): %s", n, cause);
		t->failing = 1;
		free(cause);
		t->in_flush = 0;
		return -1;
	}
	if (t->failing)
		log_info("the audit trail is written again");
	t->failing = 0;
	t->stored_seq = t->queue[n - 1].seq;
	memcpy(t->stored_head, t->queue[n - 1].hash, STORE_AUDIT_HASH_LEN);
	for (i = 0; i < n; i++)
		audit_queued_clear(&t->queue[i]);
	t->nqueue = 0;
	/*
	 * What the new records mean for the trail's room, its checkpoints
	 * and its followers.  Still "in flush": what this records is queued
	 * and stored just below, not by a nested commit (a reply to a
	 * follower passes the server's barrier).
	 */
	for (i = 0; i < t->nhooks; i++)
		if (t->hooks[i]->committed != NULL)
			t->hooks[i]->committed(cmld);
	t->in_flush = 0;
	return t->nqueue == 0 ? 0 : audit_sync(cmld);
}

long long
audit_commit_ns(struct cmld *cmld)
{
	return audit_trail(cmld)->commit_ns;
}

/* Commits what a loop turn wrote (the loop's pre-wait hook). */
static void
audit_prewait(void *arg)
{
	(void)audit_sync(arg);
}

/*
 * Chains the records an older schema stored without a chain, in seq
 * order from the last chained one; -1 with *cause set.
 */
struct audit_rechain {
	unsigned char prev[STORE_AUDIT_HASH_LEN];
	struct audit_record *recs;
	size_t n, cap;
	char **strs;
	size_t nstrs;
};

static int
audit_rechain_cb(const struct audit_record *rec, void *arg)
{
	struct audit_rechain *rc = arg;
	struct audit_record *r;

	if (rec->chained) {
		memcpy(rc->prev, rec->hash, STORE_AUDIT_HASH_LEN);
		return 0;
	}
	if (rc->n == rc->cap) {
		rc->cap = rc->cap == 0 ? 64 : rc->cap * 2;
		rc->recs = xreallocarray(rc->recs, rc->cap, sizeof *rc->recs);
	}
	r = &rc->recs[rc->n++];
	*r = *rec;
	audit_chain(r, rc->prev);
	memcpy(rc->prev, r->hash, STORE_AUDIT_HASH_LEN);
	/* only seq, prev and hash are stored: the row's strings go now */
	r->type = r->comm = r->container = r->object = r->result = NULL;
	r->details = NULL;
	return 0;
}

int
audit_open(struct cmld *cmld, char **cause)
{
	struct audit_trail *t = audit_trail(cmld);
	struct audit_rechain rc = { 0 };
	unsigned char head[STORE_AUDIT_HASH_LEN];
	long long seq, first;
	int chained;
	size_t i;

	if (store_audit_head(cmld->store, &seq, head, &chained, cause) == -1)
		return -1;
	if (!chained) {
		/* records of schema 1: chain them once, oldest first */
		if (store_audit_range(cmld->store, NULL, 0, seq, seq,
		    audit_rechain_cb, &rc, cause) == -1 ||
		    store_audit_set_chain(cmld->store, rc.recs, rc.n,
		    cause) == -1) {
			free(rc.recs);
			return -1;
		}
		log_info("chained %zu audit records of an older trail", rc.n);
		memcpy(head, rc.prev, STORE_AUDIT_HASH_LEN);
		free(rc.recs);
	}
	if (store_audit_first(cmld->store, &first, cause) == -1)
		return -1;
	t->dropped_to = first > 1 ? first - 1 : 0;
	if (seq == 0) {
		/*
		 * No record, but a checkpoint: every record was dropped, and
		 * the chain goes on from the checkpoint that anchors it.
		 */
		struct audit_checkpoint cp;
		int found;

		if (store_audit_checkpoint_before(cmld->store, LLONG_MAX, &cp,
		    &found, cause) == -1)
			return -1;
		if (found) {
			seq = t->dropped_to = cp.seq;
			memcpy(head, cp.head, STORE_AUDIT_HASH_LEN);
			free((void *)cp.sig);
		}
	}
	t->stored_seq = seq;
	memcpy(t->stored_head, head, STORE_AUDIT_HASH_LEN);
	/* records queued before the trail was open follow the stored ones */
	t->next_seq = seq + 1;
	memcpy(t->head, head, STORE_AUDIT_HASH_LEN);
	for (i = 0; i < t->nqueue; i++) {
		t->queue[i].seq = t->next_seq++;
		audit_chain(&t->queue[i], t->head);
		memcpy(t->head, t->queue[i].hash, STORE_AUDIT_HASH_LEN);
	}
	t->open = 1;
	for (i = 0; i < t->nhooks; i++)
		if (t->hooks[i]->open != NULL)
			t->hooks[i]->open(cmld);
	if (cmld->loop != NULL)
		loop_set_prewait(cmld->loop, audit_prewait, cmld);
	return audit_sync(cmld) == -1 ? 0 : 0;
}

void
audit_close(struct cmld *cmld)
{
	struct audit_trail *t = audit_trail(cmld);
	size_t i;

	(void)audit_sync(cmld);
	for (i = 0; i < t->nhooks; i++)
		if (t->hooks[i]->close != NULL)
			t->hooks[i]->close(cmld);
	if (cmld->loop != NULL)
		loop_set_prewait(cmld->loop, NULL, NULL);
	for (i = 0; i < t->nqueue; i++)
		audit_queued_clear(&t->queue[i]);
	if (t->nqueue > 0)
		log_warnx("%zu audit records could not be stored at shutdown",
		    t->nqueue);
	free(t);
	cmld->audit = NULL;
}

int
audit_restart(struct cmld *cmld, const char *type, long long uid,
    long long pid, const char *comm, const char *why, long long *records,
    char *head, char **cause)
{
	struct audit_trail *t = audit_trail(cmld);
	struct audit_follower *f;
	long long first = t->dropped_to + 1, last, n;

	if (!t->open || audit_sync(cmld) == -1) {
		*cause = xstrdup("the audit records queued cannot be stored, "
		    "so the trail is kept ('audit status' says why)");
		return -1;
	}
	last = t->stored_seq;
	crypto_hex(t->stored_head, STORE_AUDIT_HASH_LEN, head);
	if (store_audit_reset(cmld->store, &n, cause) == -1)
		return -1;
	/* the new chain starts as a new device's: #1 after 32 zero bytes */
	t->next_seq = 1;
	memset(t->head, 0, sizeof t->head);
	t->stored_seq = 0;
	memset(t->stored_head, 0, sizeof t->stored_head);
	t->dropped_to = 0;
	t->failing = 0;
	/* the room it takes is measured at the next commit */
	t->used = 0;
	t->level = AUDIT_LEVEL_OK;
	t->refusing = 0;
	audit_cp_reset(cmld);
	TAILQ_FOREACH(f, &t->followers, entry)
		f->after = 0;
	(void)audit_fwrite(cmld, 0, type, uid, pid, comm, NULL, "audit trail",
	    "ok", "the audit trail before this record was destroyed: %lld "
	    "records (#%lld to #%lld), its head %s; %s", n, n > 0 ? first : 0,
	    last, head, why);
	(void)audit_sync(cmld);
	*records = n;
	return 0;
}

void
audit_write(struct cmld *cmld, const char *type, const char *object,
    const char *result, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)audit_vwrite(cmld, 0, type, (long long)getuid(),
	    (long long)getpid(), "cmld", NULL, object, result, fmt, ap);
	va_end(ap);
}

void
audit_write_as(struct cmld *cmld, const char *type, long long uid,
    long long pid, const char *comm, const char *container,
    const char *object, const char *result, const char *fmt, ...)
{
	char buf[32];
	va_list ap;

	if (comm == NULL) {
		if (pid == (long long)getpid())
			snprintf(buf, sizeof buf, "cmld");
		else
			file_proc_comm(pid, buf, sizeof buf);
		comm = buf;
	}
	va_start(ap, fmt);
	(void)audit_vwrite(cmld, 0, type, uid, pid, comm, container, object,
	    result, fmt, ap);
	va_end(ap);
}

long long
audit_write_from(struct cmld *cmld, long long time_ms, const char *type,
    long long uid, long long pid, const char *comm, const char *object,
    const char *result, const char *fmt, ...)
{
	va_list ap;
	long long seq;

	va_start(ap, fmt);
	seq = audit_vwrite(cmld, time_ms, type, uid, pid, comm, NULL, object,
	    result, fmt, ap);
	va_end(ap);
	return seq;
}

void
audit_container(struct cmld *cmld, const char *name, const char *result,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)audit_vwrite(cmld, 0, "container", (long long)getuid(),
	    (long long)getpid(), "cmld", name, "container", result, fmt, ap);
	va_end(ap);
}

void
audit_notice(struct cmld *cmld, const char *level, long long seq,
    const char *fmt, ...)
{
	struct audit_trail *t = audit_trail(cmld);
	struct json_object *n;
	char *msg, *clean, time[32];
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatalx("out of memory");
	va_end(ap);
	clean = utf8_clean(msg, AUDIT_DETAILS_MAX);
	free(msg);
	audit_format_time(audit_now_ms(), time, sizeof time);
	n = json_object_new_object();
	json_object_object_add(n, "level", json_object_new_string(level));
	json_object_object_add(n, "seq", json_object_new_int64(seq));
	json_object_object_add(n, "time", json_object_new_string(time));
	json_object_object_add(n, "message", json_object_new_string(clean));
	log_warnx("audit notice (%s, record #%lld): %s", level, seq, clean);
	free(clean);
	for (i = 0; i < t->nhooks; i++)
		if (t->hooks[i]->notice != NULL)
			t->hooks[i]->notice(cmld, n);
	json_object_put(n);
}

/* Returns a field fit for a reply: valid UTF-8, bounded when written. */
static struct json_object *
audit_field(const char *s)
{
	return json_object_new_string(s != NULL ? s : "");
}

struct json_object *
audit_record_json(const struct audit_record *rec, int full)
{
	struct json_object *o;
	char time[32], hex[CRYPTO_SHA256_HEX];

	audit_format_time(rec->time_ms, time, sizeof time);
	o = json_object_new_object();
	json_object_object_add(o, "seq", json_object_new_int64(rec->seq));
	json_object_object_add(o, "time", json_object_new_string(time));
	if (full)
		json_object_object_add(o, "time_ms",
		    json_object_new_int64(rec->time_ms));
	json_object_object_add(o, "type", audit_field(rec->type));
	json_object_object_add(o, "uid", json_object_new_int64(rec->uid));
	json_object_object_add(o, "pid", json_object_new_int64(rec->pid));
	json_object_object_add(o, "comm", audit_field(rec->comm));
	json_object_object_add(o, "container", audit_field(rec->container));
	json_object_object_add(o, "object", audit_field(rec->object));
	json_object_object_add(o, "result", audit_field(rec->result));
	json_object_object_add(o, "details", audit_field(rec->details));
	if (!full)
		return o;
	if (rec->chained) {
		crypto_hex(rec->prev, STORE_AUDIT_HASH_LEN, hex);
		json_object_object_add(o, "prev",
		    json_object_new_string(hex));
		crypto_hex(rec->hash, STORE_AUDIT_HASH_LEN, hex);
		json_object_object_add(o, "hash",
		    json_object_new_string(hex));
	}
	json_object_object_add(o, "acknowledged",
	    json_object_new_boolean(rec->acked));
	return o;
}
