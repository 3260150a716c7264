/*
 * org.cml.Audit beyond listing (CR 6.1, CR 3.9, CR 2.9, CR 3.4(2)): one
 * record whole (Show), acknowledging records (Ack), the trail's state
 * (Status), following it live with its notices (Follow), exporting it
 * with its chain and checkpoints (Export: the client writes the lines to
 * its own file), and checking chain and signatures on the device
 * (Verify).  Export and Verify read the trail in chunks as loop jobs, so
 * a long trail never stalls cmld, and a client that does not read costs
 * one chunk.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "audit-int.h"
#include "auditchain.h"
#include "crypto.h"
#include "ctx.h"
#include "forward.h"
#include "handlers.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"

/* Records one step of an export or a verification reads. */
#define AUDIT_REVIEW_CHUNK 500
/* Records a follower is sent in one reply. */
#define AUDIT_FOLLOW_CHUNK 200

/* Reads an int parameter; def when absent. */
static long long
audit_param_int(struct call *call, const char *name, long long def)
{
	struct json_object *v;

	if (json_object_object_get_ex(call->params, name, &v) &&
	    json_object_is_type(v, json_type_int))
		return json_object_get_int64(v);
	return def;
}

/* Takes one record (a callback of store_audit_range). */
static int
audit_take_one(const struct audit_record *rec, void *arg)
{
	struct json_object **o = arg;

	*o = audit_record_json(rec, 1);
	return 0;
}

/* A checkpoint as its export line (without "kind"). */
static struct json_object *
audit_checkpoint_json(const struct audit_checkpoint *cp)
{
	struct json_object *o = json_object_new_object();
	char hex[CRYPTO_SHA256_HEX], time[32], *b64;

	audit_format_time(cp->time_ms, time, sizeof time);
	crypto_hex(cp->head, STORE_AUDIT_HASH_LEN, hex);
	b64 = crypto_base64(cp->sig, cp->siglen);
	json_object_object_add(o, "seq", json_object_new_int64(cp->seq));
	json_object_object_add(o, "time_ms",
	    json_object_new_int64(cp->time_ms));
	json_object_object_add(o, "time", json_object_new_string(time));
	json_object_object_add(o, "head", json_object_new_string(hex));
	json_object_object_add(o, "signature", json_object_new_string(b64));
	free(b64);
	return o;
}

void
cmd_audit_show(struct call *call)
{
	struct cmld *cmld = call_cmld(call);
	struct json_object *rec = NULL, *p;
	long long seq = audit_param_int(call, "seq", 0);
	char *cause = NULL;

	(void)audit_sync(cmld);
	if (store_audit_range(cmld->store, NULL, seq - 1, seq, 1,
	    audit_take_one, &rec, &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "%s", cause);
		free(cause);
		return;
	}
	if (rec == NULL) {
		call_error(call, PROTO_ERR_NOT_FOUND, "seq", "there is no "
		    "record #%lld in the audit trail (it holds #%lld to "
		    "#%lld)", seq, audit_trail(cmld)->dropped_to + 1,
		    audit_stored_seq(cmld));
		return;
	}
	p = json_object_new_object();
	json_object_object_add(p, "record", rec);
	/* whether a checkpoint covers it yet */
	json_object_object_add(p, "covered_by_checkpoint",
	    json_object_new_boolean(audit_trail(cmld)->cp_seq >= seq));
	call_reply(call, p);
}

void
cmd_audit_ack(struct call *call)
{
	struct cmld *cmld = call_cmld(call);
	long long seq = audit_param_int(call, "seq", 0);
	long long up_to = audit_param_int(call, "up_to", 0);
	long long from, to, n = 0, first = 0, count = 0;
	struct json_object *p;
	char *cause = NULL;

	if ((seq > 0) == (up_to > 0)) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "seq", "give "
		    "either SEQ (one record) or --up-to SEQ (every record up "
		    "to it)");
		return;
	}
	(void)audit_sync(cmld);
	from = seq > 0 ? seq : 1;
	to = seq > 0 ? seq : up_to;
	if (to > audit_stored_seq(cmld)) {
		call_error(call, PROTO_ERR_NOT_FOUND, seq > 0 ? "seq" : "up_to",
		    "there is no record #%lld yet (the newest is #%lld)", to,
		    audit_stored_seq(cmld));
		return;
	}
	if (store_audit_ack(cmld->store, from, to, audit_now_ms(), &n,
	    &cause) == -1 ||
	    store_audit_first_unacked(cmld->store, 0, &first, &count,
	    &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "%s", cause);
		free(cause);
		return;
	}
	call->details = seq > 0 ? xasprintf("acknowledged record #%lld", seq) :
	    xasprintf("acknowledged records up to #%lld (%lld newly)", up_to,
	    n);
	p = json_object_new_object();
	json_object_object_add(p, "acknowledged", json_object_new_int64(n));
	json_object_object_add(p, "oldest_unacknowledged",
	    json_object_new_int64(first));
	json_object_object_add(p, "unacknowledged",
	    json_object_new_int64(count));
	call_reply(call, p);
	/* acknowledged records may make room now */
	audit_space_check(cmld);
}

void
cmd_audit_status(struct call *call)
{
	struct cmld *cmld = call_cmld(call);
	struct audit_trail *t = audit_trail(cmld);
	struct json_object *p;
	long long cap, warn, crit, first = 0, unacked = 0, count = 0, records;
	char *action, *cause = NULL, time[32];

	(void)audit_sync(cmld);
	cap = audit_setting_int(cmld, "audit_capacity");
	warn = audit_setting_int(cmld, "audit_warn_percent");
	crit = audit_setting_int(cmld, "audit_critical_percent");
	action = store_setting_value(cmld->store, "audit_full_action");
	if ((records = store_audit_count(cmld->store, &cause)) == -1 ||
	    store_audit_first(cmld->store, &first, &cause) == -1 ||
	    store_audit_first_unacked(cmld->store, 0, &unacked, &count,
	    &cause) == -1 ||
	    store_audit_used(cmld->store, &t->used, &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "%s", cause);
		free(cause);
		free(action);
		return;
	}
	p = json_object_new_object();
	json_object_object_add(p, "records", json_object_new_int64(records));
	json_object_object_add(p, "first_seq", json_object_new_int64(first));
	json_object_object_add(p, "last_seq",
	    json_object_new_int64(t->stored_seq));
	json_object_object_add(p, "bytes", json_object_new_int64(t->used));
	json_object_object_add(p, "capacity", json_object_new_int64(cap));
	json_object_object_add(p, "warning_at",
	    json_object_new_int64(cap * warn / 100));
	json_object_object_add(p, "critical_at",
	    json_object_new_int64(cap * crit / 100));
	json_object_object_add(p, "level",
	    json_object_new_string(audit_level_name(t->level)));
	json_object_object_add(p, "full_action",
	    json_object_new_string(action));
	json_object_object_add(p, "refusing",
	    json_object_new_boolean(t->refusing));
	json_object_object_add(p, "oldest_unacknowledged",
	    json_object_new_int64(unacked));
	json_object_object_add(p, "unacknowledged",
	    json_object_new_int64(count));
	json_object_object_add(p, "dropped_up_to",
	    json_object_new_int64(t->dropped_to));
	json_object_object_add(p, "last_checkpoint",
	    json_object_new_int64(t->cp_seq));
	if (t->cp_seq > 0) {
		audit_format_time(t->cp_time_ms, time, sizeof time);
		json_object_object_add(p, "last_checkpoint_time",
		    json_object_new_string(time));
	}
	if (t->cp_error != NULL)
		json_object_object_add(p, "checkpoint_error",
		    json_object_new_string(t->cp_error));
	forward_status(cmld, p);
	free(action);
	call_reply(call, p);
}

/* --- export and verify: jobs over the trail ------------------------------ */

/* An export or a verification in steps. */
struct audit_walk {
	struct job job;
	struct call *call;
	int verify; /* 1: Verify, 0: Export */
	long long after, until; /* the records left: after < seq <= until */
	long long cp_after; /* checkpoints sent/checked up to here */
	long long cp_next; /* the next checkpoint's seq (0: not looked up) */
	struct json_object *lines; /* Export: the lines of this step */
	struct auditchain_verify *v;
	char *broken; /* Verify: what broke first */
	int anchored; /* the trail starts after dropped records */
	int step_failed;
	char *cause;
	EVP_PKEY *key;
	char *key_note; /* why signatures were not checked */
};

static void
audit_walk_free(struct audit_walk *w)
{
	json_object_put(w->lines);
	if (w->v != NULL)
		auditchain_verify_free(w->v);
	EVP_PKEY_free(w->key);
	free(w->broken);
	free(w->cause);
	free(w->key_note);
	free(w);
}

/* Adds an export line of kind with the members of o (taken over). */
static void
audit_walk_line(struct audit_walk *w, const char *kind, struct json_object *o)
{
	struct json_object *line = json_object_new_object();

	json_object_object_add(line, "kind", json_object_new_string(kind));
	json_object_object_foreach(o, key, val)
		json_object_object_add(line, key, json_object_get(val));
	json_object_put(o);
	json_object_array_add(w->lines, line);
}

/* Feeds a checkpoint to the verifier or the export. */
static int
audit_walk_checkpoint(struct audit_walk *w, const struct audit_checkpoint *cp)
{
	char *cause = NULL;

	if (!w->verify) {
		audit_walk_line(w, "checkpoint", audit_checkpoint_json(cp));
		return 0;
	}
	if (w->broken == NULL && auditchain_verify_checkpoint(w->v, cp->seq,
	    cp->time_ms, cp->head, cp->sig, cp->siglen, &cause) == -1)
		w->broken = cause;
	return 0;
}

static int
audit_walk_cp_cb(const struct audit_checkpoint *cp, void *arg)
{
	struct audit_walk *w = arg;

	audit_walk_checkpoint(w, cp);
	w->cp_after = cp->seq;
	return 0;
}

/* Takes the first checkpoint's seq (a callback that stops at once). */
static int
audit_walk_cp_first(const struct audit_checkpoint *cp, void *arg)
{
	*(long long *)arg = cp->seq;
	return 1;
}

/* Finds the seq of the next checkpoint after those fed; -1 on error. */
static int
audit_walk_cp_next(struct audit_walk *w)
{
	char *cause = NULL;

	w->cp_next = LLONG_MAX;
	if (store_audit_checkpoints(call_cmld(w->call)->store, w->cp_after,
	    LLONG_MAX, audit_walk_cp_first, &w->cp_next, &cause) == -1) {
		w->cause = cause;
		return -1;
	}
	return 0;
}

/* Feeds one record, then the checkpoint at it, if any. */
static int
audit_walk_record(const struct audit_record *rec, void *arg)
{
	struct audit_walk *w = arg;
	struct auditchain_rec r = {
		.seq = rec->seq, .time_ms = rec->time_ms, .uid = rec->uid,
		.pid = rec->pid, .type = rec->type, .comm = rec->comm,
		.container = rec->container, .object = rec->object,
		.result = rec->result, .details = rec->details,
	};
	char *cause = NULL;

	w->after = rec->seq;
	if (!w->verify)
		audit_walk_line(w, "record", audit_record_json(rec, 1));
	else if (w->broken == NULL) {
		if (!rec->chained)
			w->broken = xasprintf("record #%lld: it carries no "
			    "hash", rec->seq);
		else if (auditchain_verify_record(w->v, &r, rec->prev,
		    rec->hash, &cause) == -1)
			w->broken = cause;
	}
	/* the checkpoints up to it: looked up once a checkpoint, not a record */
	if (w->cp_next == 0 && audit_walk_cp_next(w) == -1)
		return 1;
	if (rec->seq < w->cp_next)
		return 0;
	if (store_audit_checkpoints(call_cmld(w->call)->store, w->cp_after,
	    rec->seq, audit_walk_cp_cb, w, &cause) == -1) {
		w->cause = cause;
		return 1;
	}
	return audit_walk_cp_next(w) == -1 ? 1 : 0;
}

/* The client drained its replies (or left): produce again. */
static void
audit_walk_drained(struct call *call)
{
	struct audit_walk *w = call->drain_arg;

	loop_job_add(call_cmld(call)->loop, &w->job);
}

/* Answers a verification: what was verified, or what broke. */
static void
audit_walk_verdict(struct audit_walk *w)
{
	struct auditchain_summary s;
	struct json_object *p = json_object_new_object();
	struct cmld *cmld = call_cmld(w->call);

	auditchain_verify_summary(w->v, &s);
	json_object_object_add(p, "verified",
	    json_object_new_boolean(w->broken == NULL));
	if (w->broken != NULL)
		json_object_object_add(p, "broken",
		    json_object_new_string(w->broken));
	json_object_object_add(p, "records", json_object_new_int64(s.records));
	json_object_object_add(p, "first_seq",
	    json_object_new_int64(s.first_seq));
	json_object_object_add(p, "last_seq",
	    json_object_new_int64(s.last_seq));
	json_object_object_add(p, "checkpoints",
	    json_object_new_int64(s.checkpoints));
	json_object_object_add(p, "last_checkpoint",
	    json_object_new_int64(s.last_checkpoint_seq));
	json_object_object_add(p, "anchor", json_object_new_int64(s.anchor_seq));
	json_object_object_add(p, "unsigned_tail",
	    json_object_new_int64(s.unsigned_tail));
	json_object_object_add(p, "signatures_checked",
	    json_object_new_boolean(s.signatures_checked));
	if (w->key_note != NULL)
		json_object_object_add(p, "note",
		    json_object_new_string(w->key_note));
	if (w->broken != NULL) {
		/* an integrity violation: recorded, notified, an error */
		audit_write_as(cmld, "integrity", (long long)w->call->uid,
		    (long long)w->call->pid, w->call->comm, NULL, "audit trail", "broken",
		    "audit verify: %s", w->broken);
		call_error_params(w->call, PROTO_ERR_INTEGRITY, p, "the audit "
		    "trail is broken: %s (%lld records before it verified)",
		    w->broken, s.records);
		return;
	}
	call_reply(w->call, p);
}

/*
 * One step: a chunk of records (and the checkpoints between them).  While
 * the client's queue is full an export waits for it to drain.
 */
static int
audit_walk_step(struct job *job)
{
	struct audit_walk *w = (struct audit_walk *)job;
	struct call *call = w->call;
	struct json_object *p;
	long long before;

	if (call->client == NULL) {
		call_reply(call, NULL);
		audit_walk_free(w);
		return JOB_DONE;
	}
	if (!w->verify && call_congested(call)) {
		call->drain_arg = w;
		call->on_drain = audit_walk_drained;
		return JOB_PARKED;
	}
	before = w->after;
	if (store_audit_range(call_cmld(call)->store, NULL, w->after,
	    w->until, AUDIT_REVIEW_CHUNK, audit_walk_record, w,
	    &w->cause) == -1 || w->cause != NULL) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot read the "
		    "audit trail: %s", w->cause);
		audit_walk_free(w);
		return JOB_DONE;
	}
	if (w->after > before && w->after < w->until) {
		if (w->verify)
			return JOB_AGAIN;
		p = json_object_new_object();
		json_object_object_add(p, "lines", w->lines);
		w->lines = json_object_new_array();
		if (call_reply_more(call, p) == 0)
			return JOB_AGAIN;
		call_reply(call, NULL);
		audit_walk_free(w);
		return JOB_DONE;
	}
	if (w->verify)
		audit_walk_verdict(w);
	else {
		p = json_object_new_object();
		json_object_object_add(p, "lines", w->lines);
		w->lines = NULL;
		call_reply(call, p);
	}
	audit_walk_free(w);
	return JOB_DONE;
}

static void
audit_walk_cancel(struct job *job)
{
	struct audit_walk *w = (struct audit_walk *)job;

	call_error(w->call, PROTO_ERR_FAILED, NULL, "cmld is stopping: the "
	    "audit trail was not read to its end");
	audit_walk_free(w);
}

/*
 * Starts an export or a verification: from the anchor checkpoint when the
 * oldest records were dropped, to the newest record stored now.
 */
static void
audit_walk_start(struct call *call, int verify)
{
	struct cmld *cmld = call_cmld(call);
	struct audit_trail *t = audit_trail(cmld);
	struct store_device_cert cert = { 0 };
	struct audit_checkpoint anchor;
	struct audit_walk *w;
	struct json_object *hdr;
	char *cause = NULL, time[32];
	int found = 0, rc;

	(void)audit_sync(cmld);
	w = xcalloc(1, sizeof *w);
	w->call = call;
	w->verify = verify;
	w->lines = json_object_new_array();
	w->after = t->dropped_to;
	w->until = t->stored_seq;
	w->cp_after = t->dropped_to;
	if (verify) {
		rc = store_device_cert_get(cmld->store, &cert, &cause);
		if (rc == 1 && (w->key = crypto_der_pubkey(cert.der,
		    cert.der_len, &cause)) == NULL) {
			w->key_note = xasprintf("the checkpoints' signatures "
			    "were not checked: the device certificate's key: "
			    "%s", cause);
			free(cause);
		} else if (rc == 0)
			w->key_note = xstrdup("the checkpoints' signatures were "
			    "not checked: no device certificate is installed");
		else if (rc == -1) {
			w->key_note = xasprintf("the checkpoints' signatures "
			    "were not checked: %s", cause);
			free(cause);
		}
		cause = NULL;
		store_device_cert_clear(&cert);
		w->v = auditchain_verify_new(w->key);
	} else {
		audit_format_time(audit_now_ms(), time, sizeof time);
		hdr = json_object_new_object();
		json_object_object_add(hdr, "format",
		    json_object_new_string("cml-audit-export-v1"));
		json_object_object_add(hdr, "device",
		    json_object_new_string(cmld->uuid != NULL ?
		    cmld->uuid : ""));
		json_object_object_add(hdr, "exported",
		    json_object_new_string(time));
		json_object_object_add(hdr, "first_seq",
		    json_object_new_int64(w->after + 1));
		json_object_object_add(hdr, "last_seq",
		    json_object_new_int64(w->until));
		audit_walk_line(w, "header", hdr);
	}
	/* a trail after dropped records starts at its anchor checkpoint */
	if (t->dropped_to > 0) {
		if (store_audit_checkpoint_before(cmld->store, t->dropped_to,
		    &anchor, &found, &cause) == -1) {
			call_error(call, PROTO_ERR_FAILED, NULL, "%s", cause);
			free(cause);
			audit_walk_free(w);
			return;
		}
		if (found && anchor.seq == t->dropped_to)
			audit_walk_checkpoint(w, &anchor);
		else if (verify && w->broken == NULL)
			w->broken = xasprintf("the trail starts at #%lld, but "
			    "no checkpoint at #%lld anchors it",
			    t->dropped_to + 1, t->dropped_to);
		if (found)
			free((void *)anchor.sig);
	}
	w->job.step = audit_walk_step;
	w->job.cancel = audit_walk_cancel;
	call_defer(call);
	loop_job_add(cmld->loop, &w->job);
}

void
cmd_audit_export(struct call *call)
{
	audit_walk_start(call, 0);
}

void
cmd_audit_verify(struct call *call)
{
	audit_walk_start(call, 1);
}

/* --- follow -------------------------------------------------------------- */

/* Sends a follower a chunk of what was stored since its last. */
struct audit_follow_chunk {
	struct json_object *records;
	long long last;
};

static int
audit_follow_cb(const struct audit_record *rec, void *arg)
{
	struct audit_follow_chunk *c = arg;

	json_object_array_add(c->records, audit_record_json(rec, 0));
	c->last = rec->seq;
	return 0;
}

static void audit_follow_send(struct cmld *cmld, struct audit_follower *f);
static void audit_follow_end(struct cmld *cmld, struct audit_follower *f);

/* Tells a follower how many notices it missed while it did not read. */
static void
audit_follow_missed(struct cmld *cmld, struct audit_follower *f)
{
	struct json_object *n, *p;
	char time[32], *msg;

	audit_format_time(audit_now_ms(), time, sizeof time);
	msg = xasprintf("%lld notices were not sent while this client did not "
	    "read: audit list has what they told", f->missed);
	n = json_object_new_object();
	json_object_object_add(n, "level", json_object_new_string("missed"));
	json_object_object_add(n, "seq",
	    json_object_new_int64(audit_stored_seq(cmld)));
	json_object_object_add(n, "time", json_object_new_string(time));
	json_object_object_add(n, "message", json_object_new_string(msg));
	free(msg);
	p = json_object_new_object();
	json_object_object_add(p, "notice", n);
	f->missed = 0;
	(void)call_reply_more(f->call, p);
}

/* The follower's client drained its replies: send what it missed. */
static void
audit_follow_drained(struct call *call)
{
	struct audit_follower *f = call->drain_arg;

	f->parked = 0;
	if (call->client == NULL) {
		audit_follow_end(call_cmld(call), f);
		return;
	}
	call->on_drain = audit_follow_drained; /* one-shot: again */
	if (f->missed > 0 && !call_congested(call))
		audit_follow_missed(call_cmld(call), f);
	audit_follow_send(call_cmld(call), f);
}

/* Ends a follower (its client left, or its stream ended). */
static void
audit_follow_end(struct cmld *cmld, struct audit_follower *f)
{
	TAILQ_REMOVE(&audit_trail(cmld)->followers, f, entry);
	call_reply(f->call, NULL);
	free(f);
}

static void
audit_follow_send(struct cmld *cmld, struct audit_follower *f)
{
	struct audit_trail *t = audit_trail(cmld);
	struct audit_follow_chunk c;
	struct json_object *p;
	char *cause = NULL;

	while (!f->notices_only && f->after < t->stored_seq) {
		if (f->call->client == NULL) {
			audit_follow_end(cmld, f);
			return;
		}
		if (call_congested(f->call)) {
			f->parked = 1; /* until audit_follow_drained */
			return;
		}
		c.records = json_object_new_array();
		c.last = f->after;
		if (store_audit_range(cmld->store, NULL, f->after,
		    t->stored_seq, AUDIT_FOLLOW_CHUNK, audit_follow_cb, &c,
		    &cause) == -1) {
			log_warnx("audit follow: %s", cause);
			free(cause);
			json_object_put(c.records);
			return;
		}
		if (c.last == f->after) {
			/* dropped meanwhile: go on after them */
			json_object_put(c.records);
			f->after = t->stored_seq;
			return;
		}
		f->after = c.last;
		p = json_object_new_object();
		json_object_object_add(p, "records", c.records);
		if (call_reply_more(f->call, p) == -1) {
			audit_follow_end(cmld, f);
			return;
		}
	}
}

static void
audit_followers_kick(struct cmld *cmld)
{
	struct audit_trail *t = audit_trail(cmld);
	struct audit_follower *f, *next;

	for (f = TAILQ_FIRST(&t->followers); f != NULL; f = next) {
		next = TAILQ_NEXT(f, entry);
		if (!f->parked)
			audit_follow_send(cmld, f);
	}
}

static void
audit_followers_notice(struct cmld *cmld, struct json_object *notice)
{
	struct audit_trail *t = audit_trail(cmld);
	struct audit_follower *f, *next;
	struct json_object *p;

	for (f = TAILQ_FIRST(&t->followers); f != NULL; f = next) {
		next = TAILQ_NEXT(f, entry);
		if (f->call->client == NULL) {
			if (!f->parked)
				audit_follow_end(cmld, f);
			continue;
		}
		/*
		 * A client that does not read gets no more queued: it is told
		 * how many it missed once it reads again (the trail has them).
		 */
		if (call_congested(f->call)) {
			f->missed++;
			continue;
		}
		p = json_object_new_object();
		json_object_object_add(p, "notice", json_object_get(notice));
		if (call_reply_more(f->call, p) == -1 && !f->parked)
			audit_follow_end(cmld, f);
	}
}

static void
audit_followers_end(struct cmld *cmld)
{
	struct audit_trail *t = audit_trail(cmld);
	struct audit_follower *f;

	while ((f = TAILQ_FIRST(&t->followers)) != NULL)
		audit_follow_end(cmld, f);
}

void
cmd_audit_follow(struct call *call)
{
	struct cmld *cmld = call_cmld(call);
	struct audit_trail *t = audit_trail(cmld);
	struct audit_follower *f;
	struct json_object *v, *p;
	long long after = audit_param_int(call, "after", -1);

	if (!call->more) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, NULL, "Follow "
		    "streams: call it with \"more\": true");
		return;
	}
	(void)audit_sync(cmld);
	f = xcalloc(1, sizeof *f);
	f->call = call;
	f->notices_only = json_object_object_get_ex(call->params, "notices",
	    &v) && json_object_get_boolean(v);
	f->after = after >= 0 && after < t->stored_seq ? after :
	    t->stored_seq;
	TAILQ_INSERT_TAIL(&t->followers, f, entry);
	call_defer(call);
	/* told when its client drains its replies, or leaves */
	call->drain_arg = f;
	call->on_drain = audit_follow_drained;
	/* the first reply says it is following (and from where) */
	p = json_object_new_object();
	json_object_object_add(p, "records", json_object_new_array());
	json_object_object_add(p, "following",
	    json_object_new_int64(f->after));
	if (call_reply_more(call, p) == -1) {
		audit_follow_end(cmld, f);
		return;
	}
	audit_follow_send(cmld, f);
}

const struct audit_hook audit_follow_hook = {
	.committed = audit_followers_kick,
	.notice = audit_followers_notice,
	.close = audit_followers_end,
};
