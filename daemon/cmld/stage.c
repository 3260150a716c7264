/*
 * cmld's link to a stage (tpm.c and scd.c say which).  Calls go through
 * the server library's non-blocking client (server/peer.c) on cmld's
 * loop; cmld never waits for a stage.  The link is "up" while calls work,
 * "down" once one failed for want of the stage (then cmld connects again
 * after 100 ms, doubling to 5 s, and at once when a command needs the
 * stage and its socket accepts), "absent" when cmld runs without it.
 *
 * While up, cmld takes the stage's audit spool every STAGE_POLL_MS and
 * after each call that may have written records (not after one of the
 * stage's answer_now methods that worked: those record nothing, and a
 * take after each would double what a status call costs): each record is
 * stored with its original time and the stage (its uid and pid, from
 * SO_PEERCRED) as the subject, as the stage's type ("tpm2d", "scd") whose
 * details begin with the stage's seq and type ("#3 daemon: ...").  The
 * records stored are acknowledged with the next take.  A stage's seq
 * counts from 1 for each of its lives, so an ack is sent only to the
 * process it was meant for: the stage is known by its pid and its start
 * time (/proc), checked before each take.  For a process cmld did not
 * take from before (cmld's start, the stage's restart) nothing is acked:
 * what it hands over that the trail holds already (stored, but cmld ended
 * before it acked) is found there by writer, seq and time and not stored
 * twice.  Records the stage dropped for lack of room become one record
 * saying how many.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "ctx.h"
#include "file.h"
#include "log.h"
#include "peer.h"
#include "proto.h"
#include "store.h"
#include "stage.h"
#include "xmalloc.h"


enum stage_link {
	STAGE_LINK_DOWN,
	STAGE_LINK_UP,
	STAGE_LINK_ABSENT,
};

/* Which process of the stage wrote the records: its process and when it started. */
struct stage_writer {
	long long uid;
	long long pid;
	long long start_ms; /* ms since the epoch; 0: unknown */
};

struct stage {
	struct cmld *cmld;
	const struct stage_def *def;
	char *sock_path;
	struct peer *peer;
	enum stage_link state;
	char *why; /* why it is down */
	int ever_up; /* it answered since cmld started */
	int noted_down; /* this time down was logged */
	int audited_down; /* and audited (a loss: it was up before) */
	struct loop_timer timer; /* the next attempt, or the next take */
	long long backoff_ms;
	int stopping;
	/* the audit spool */
	int taking; /* TakeAudit calls out */
	struct stage_writer writer; /* the process taken from last */
	int known; /* acked holds for writer */
	long long acked; /* its last seq stored */
	long long dropped_seen; /* its dropped count recorded; -1: unknown */
	/* its last Status answer (stage_status_fresh), when and on which connection */
	struct json_object *status;
	long long status_ms;
	unsigned long long status_conn;
};

/* A call out to the stage, for stage_call. */
struct stage_req {
	struct stage *sg;
	stage_reply_cb cb;
	void *arg;
	int now; /* its answer passed on at once, before a take */
};

static void stage_arm(struct stage *, long long);
static void stage_take(struct stage *);

/* Forgets the last Status answer: something may have changed it. */
static void
stage_status_forget(struct stage *sg)
{
	json_object_put(sg->status);
	sg->status = NULL;
}

/* Says whether msg is "NAME WHAT..." for the stage's name. */
static int
stage_says(const struct stage_def *def, const char *msg, const char *what)
{
	size_t n = strlen(def->name);

	return strncmp(msg, def->name, n) == 0 && msg[n] == ' ' &&
	    strncmp(msg + n + 1, what, strlen(what)) == 0;
}

/*
 * Says whether a failure is the peer's, saying the stage was not there or
 * did not answer (rather than the stage answering with an error).
 */
static int
stage_lost(const struct stage_def *def, const char *error, const char *msg)
{
	if (error == NULL || strcmp(error, PROTO_ERR_FAILED) != 0)
		return 0;
	return stage_says(def, msg, "is not reachable") ||
	    stage_says(def, msg, "did not answer");
}

/* Returns why of a peer failure without "NAME is not reachable: ". */
static const char *
stage_why(const struct stage_def *def, const char *msg)
{
	if (stage_says(def, msg, "is not reachable: "))
		return msg + strlen(def->name) + strlen(" is not reachable: ");
	return msg;
}

const char *
stage_error_message(const struct stage_def *def, struct json_object *params)
{
	struct json_object *m;

	if (params != NULL && json_object_object_get_ex(params, "message",
	    &m) && json_object_is_type(m, json_type_string))
		return json_object_get_string(m);
	return def->no_message;
}

/* Notes that the stage answered: the link is up. */
static void
stage_up(struct stage *sg)
{
	const char *name = sg->def->name;
	int first = !sg->ever_up;

	if (sg->state == STAGE_LINK_UP)
		return;
	stage_status_forget(sg);
	sg->state = STAGE_LINK_UP;
	sg->backoff_ms = STAGE_RETRY_MIN_MS;
	free(sg->why);
	sg->why = NULL;
	log_info("%s is up (%s)", name, sg->sock_path);
	if (sg->audited_down)
		audit_write(sg->cmld, "daemon", name, "ok",
		    "%s answers again at %s", name, sg->sock_path);
	else if (sg->noted_down && !sg->ever_up)
		audit_write(sg->cmld, "daemon", name, "ok",
		    "%s answers at %s (it did not when cmld started)", name,
		    sg->sock_path);
	sg->ever_up = 1;
	if (first && sg->def->first_up != NULL)
		sg->def->first_up(sg->cmld);
	sg->noted_down = sg->audited_down = 0;
	/* its spool first: what it wrote while cmld could not store it */
	stage_arm(sg, 0);
}

/*
 * Notes that the stage is not there (why: a message); tries again later.  Its
 * loss is audited; that it is not there when cmld starts is logged (and
 * device status says it), so that cmld's start stays one record.
 */
static void
stage_down(struct stage *sg, const char *why)
{
	int was_up = sg->state == STAGE_LINK_UP;

	if (sg->state == STAGE_LINK_ABSENT || sg->stopping)
		return;
	stage_status_forget(sg);
	why = stage_why(sg->def, why);
	free(sg->why);
	sg->why = xstrdup(why);
	if (was_up) {
		sg->state = STAGE_LINK_DOWN;
		sg->backoff_ms = STAGE_RETRY_MIN_MS;
	}
	if (!sg->noted_down) {
		log_warnx("%s is down: %s", sg->def->name, why);
		sg->noted_down = 1;
		if (sg->ever_up) {
			audit_write(sg->cmld, "daemon", sg->def->name,
			    PROTO_ERR_FAILED, "%s is not running (stage "
			    "%d): %s; commands that need %s are refused "
			    "until it answers", sg->def->name,
			    sg->def->number, why, sg->def->what);
			sg->audited_down = 1;
		}
	}
	stage_arm(sg, sg->backoff_ms);
	sg->backoff_ms *= 2;
	if (sg->backoff_ms > STAGE_RETRY_MAX_MS)
		sg->backoff_ms = STAGE_RETRY_MAX_MS;
}

/* Arms the one timer: the next attempt or take, in ms. */
static void
stage_arm(struct stage *sg, long long ms)
{
	if (sg->stopping)
		return;
	if (loop_timer_start(sg->cmld->loop, &sg->timer, ms) == -1)
		log_warn("%s: cannot arm the link's timer", sg->def->name);
}

/*
 * Connects to the stage's socket and closes again, without blocking: a Unix
 * socket's connect is done or refused at once.  Returns 0 with the
 * credentials of the process listening there (cred may be NULL), 1 when
 * it listens but its queue is full, -1 with *cause when nobody listens.
 */
static int
stage_probe(struct stage *sg, struct ucred *cred, char **cause)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof *cred;
	int fd, rc = 0;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(sg->sock_path) >= sizeof sun.sun_path) {
		*cause = xasprintf("the socket path %s is too long",
		    sg->sock_path);
		return -1;
	}
	memcpy(sun.sun_path, sg->sock_path, strlen(sg->sock_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		*cause = xasprintf("socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		if (errno == EAGAIN || errno == EINPROGRESS)
			rc = 1;
		else {
			*cause = xasprintf("cannot connect to %s: %s",
			    sg->sock_path, strerror(errno));
			rc = -1;
		}
	} else if (cred != NULL &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len) == -1) {
		*cause = xasprintf("SO_PEERCRED on %s: %s", sg->sock_path,
		    strerror(errno));
		rc = -1;
	}
	close(fd);
	return rc;
}

/*
 * Returns when process pid started, in ms since the epoch, or 0 if
 * /proc does not say.  The boot time is read once: /proc/stat computes it
 * anew from the clock, so a clock set later would make the same process
 * look like another one.
 */
static long long
stage_proc_start_ms(long long pid)
{
	static unsigned long long btime;
	char buf[256];
	long long start;
	FILE *f;

	if ((start = file_proc_start_ms(pid)) == -1)
		return 0;
	if (btime == 0 && (f = fopen("/proc/stat", "re")) != NULL) {
		while (fgets(buf, sizeof buf, f) != NULL)
			if (sscanf(buf, "btime %llu", &btime) == 1)
				break;
		fclose(f);
	}
	if (btime == 0)
		return 0;
	return (long long)btime * 1000 + start;
}

/* Parses a stage's record time ("2026-12-03T10:00:00.123Z"); -1 if bad. */
static long long
stage_parse_time(const char *s)
{
	struct tm tm;
	int ms, n = 0;
	time_t sec;

	memset(&tm, 0, sizeof tm);
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    &ms, &n) != 7 || s[n] != '\0' || tm.tm_year < 1970 ||
	    tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60 || ms < 0 || ms > 999)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	if ((sec = timegm(&tm)) == (time_t)-1)
		return -1;
	return (long long)sec * 1000 + ms;
}

/* One record of a take, as read from the stage's reply. */
struct stage_rec {
	long long seq;
	long long time_ms;
	const char *time;
	const char *type;
	const char *object;
	const char *result;
	const char *details;
	int stored; /* the trail holds it already */
};

/* Returns a string member of o, or "" (the stage's reply is checked here). */
static const char *
stage_member_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return "";
}

/* What a search of the trail for a stage's records looks at. */
struct stage_search {
	const struct stage_def *def;
	const struct stage_writer *w;
	struct stage_rec *recs;
	size_t n;
	long long dropped; /* the highest total in a "dropped" record */
};

/* Marks the records of the take that the trail holds already. */
static int
stage_search_cb(const struct audit_record *rec, void *arg)
{
	struct stage_search *s = arg;
	long long seq, total;
	size_t i;
	int n = 0;

	if (rec->pid != s->w->pid || rec->details == NULL)
		return 0;
	if (strcmp(rec->result, "dropped") == 0 &&
	    stage_says(s->def, rec->details, "dropped ") &&
	    sscanf(rec->details + strlen(s->def->name), " dropped %*d of its "
	    "audit records for lack of room (%lld since it started)%n",
	    &total, &n) == 1 && n > 0) {
		if (total > s->dropped)
			s->dropped = total;
		return 0;
	}
	if (sscanf(rec->details, "#%lld %n", &seq, &n) != 1 || n == 0)
		return 0;
	for (i = 0; i < s->n; i++)
		if (s->recs[i].seq == seq && (s->recs[i].time_ms ==
		    rec->time_ms || s->recs[i].time_ms < 0))
			s->recs[i].stored = 1;
	return 0;
}

/*
 * Finds in the trail what it holds of a stage's records (since it
 * started, or since the oldest of recs): marks those of recs and sets
 * *dropped to the dropped count recorded.  -1 on a database error.
 */
static int
stage_search_trail(struct stage *sg, const struct stage_writer *w,
    struct stage_rec *recs, size_t n, long long *dropped)
{
	struct audit_filter f;
	struct stage_search s = { sg->def, w, recs, n, 0 };
	long long since = w->start_ms - 1000;
	int all = w->start_ms <= 0;
	char *cause = NULL;
	size_t i;

	/* a record older than the stage's start (the clock was set back) */
	for (i = 0; i < n && !all; i++) {
		if (recs[i].time_ms < 0)
			all = 1;
		else if (recs[i].time_ms < since)
			since = recs[i].time_ms;
	}
	store_audit_filter_init(&f);
	f.type = sg->def->audit_type;
	f.uid = w->uid;
	f.since_ms = all ? -1 : since;
	if (store_audit_range(sg->cmld->store, &f, 0, LLONG_MAX, LLONG_MAX,
	    stage_search_cb, &s, &cause) == -1) {
		log_warnx("%s's audit records: %s", sg->def->name, cause);
		free(cause);
		return -1;
	}
	*dropped = s.dropped;
	return 0;
}

/*
 * Says whether a stage's record reports an integrity violation, which
 * connected clients are told at once (CR 3.4(2)): the system key or the
 * state volume refused because a sealed PCR changed.
 */
static int
stage_rec_violation(const struct stage_rec *r)
{
	return strcmp(r->result, "refused") == 0 &&
	    (strcmp(r->type, "syskey") == 0 || strcmp(r->type, "volume") == 0);
}

/*
 * Stores the records of a take (params: the stage's reply) that its
 * process w wrote; sets what the next take acknowledges.
 */
static void
stage_store_take(struct stage *sg, const struct stage_writer *w,
    struct json_object *params)
{
	struct json_object *records, *o, *v;
	long long seq;
	struct stage_rec *recs;
	long long dropped = 0, recorded, max = sg->known ? sg->acked : 0;
	size_t i, n = 0, nstored = 0, nknown = 0;

	if (!json_object_object_get_ex(params, "records", &records) ||
	    !json_object_is_type(records, json_type_array)) {
		log_warnx("%s's TakeAudit reply has no records",
		    sg->def->name);
		return;
	}
	if (json_object_object_get_ex(params, "dropped", &v) &&
	    json_object_is_type(v, json_type_int))
		dropped = json_object_get_int64(v);
	recs = xcalloc(json_object_array_length(records) + 1, sizeof *recs);
	for (i = 0; i < json_object_array_length(records); i++) {
		o = json_object_array_get_idx(records, i);
		if (!json_object_is_type(o, json_type_object) ||
		    !json_object_object_get_ex(o, "seq", &v) ||
		    !json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(v) < 1) {
			log_warnx("%s handed over a record without a seq",
			    sg->def->name);
			continue;
		}
		recs[n].seq = json_object_get_int64(v);
		/* an ack acknowledges all up to it: never one not seen */
		if (recs[n].seq <= max)
			continue;
		recs[n].time = stage_member_str(o, "time");
		recs[n].time_ms = stage_parse_time(recs[n].time);
		recs[n].type = stage_member_str(o, "type");
		recs[n].object = stage_member_str(o, "object");
		recs[n].result = stage_member_str(o, "result");
		recs[n].details = stage_member_str(o, "details");
		n++;
	}
	recorded = sg->known ? sg->dropped_seen : -1;
	if (!sg->known && stage_search_trail(sg, w, recs, n, &recorded) == -1) {
		/* stored nothing, acked nothing: the next take tries again */
		free(recs);
		return;
	}
	for (i = 0; i < n; i++) {
		if (recs[i].stored) {
			nknown++;
			if (recs[i].seq > max)
				max = recs[i].seq;
			continue;
		}
		if ((seq = audit_write_from(sg->cmld,
		    recs[i].time_ms > 0 ? recs[i].time_ms : 0,
		    sg->def->audit_type, w->uid, w->pid, sg->def->name,
		    *recs[i].object != '\0' ? recs[i].object : sg->def->name,
		    *recs[i].result != '\0' ? recs[i].result : "-",
		    "#%lld %s: %s%s%s%s%s%s", recs[i].seq, recs[i].type,
		    recs[i].details, recs[i].time_ms > 0 ? "" : " (",
		    recs[i].time_ms > 0 ? "" : sg->def->name,
		    recs[i].time_ms > 0 ? "" : "'s time unreadable: ",
		    recs[i].time_ms > 0 ? "" : recs[i].time,
		    recs[i].time_ms > 0 ? "" : ")")) == -1)
			break; /* not stored: neither this nor later acked */
		if (stage_rec_violation(&recs[i]))
			audit_notice(sg->cmld, "integrity", seq, "%s: %s: %s",
			    sg->def->name, recs[i].object, recs[i].details);
		nstored++;
		if (recs[i].seq > max)
			max = recs[i].seq;
	}
	if (dropped > recorded && audit_write_from(sg->cmld, 0,
	    sg->def->audit_type, w->uid, w->pid, sg->def->name, "audit spool",
	    "dropped",
	    "%s dropped %lld of its audit records for lack of room "
	    "(%lld since it started)", sg->def->name, dropped - recorded,
	    dropped) != -1)
		recorded = dropped;
	if (nstored > 0)
		stage_status_forget(sg); /* it did something */
	if (nstored > 0 || nknown > 0)
		log_info("%s's audit records: %zu stored, %zu stored before "
		    "(not acknowledged then)", sg->def->name, nstored, nknown);
	sg->acked = max;
	sg->dropped_seen = recorded;
	sg->known = 1;
	free(recs);
}

/*
 * A take: the writer it asks, and the answer of a call it delivers once
 * the records the call made are stored (then, then_params), if any.
 */
struct stage_take_req {
	struct stage *sg;
	struct stage_writer w;
	struct stage_req *then;
	char *then_error;
	struct json_object *then_params;
};

static void stage_deliver(struct stage_req *, const char *, struct json_object *);

/* Gets a TakeAudit's answer. */
static void
stage_take_cb(void *arg, const char *error, struct json_object *params,
    int continues, const int *fds, size_t nfds)
{
	struct stage_take_req *tr = arg;
	struct stage *sg = tr->sg;
	const char *msg;

	(void)continues;
	(void)fds;
	(void)nfds;
	sg->taking--;
	if (sg->stopping)
		goto out;
	if (error != NULL) {
		msg = stage_error_message(sg->def, params);
		if (stage_lost(sg->def, error, msg))
			stage_down(sg, msg);
		else {
			log_warnx("%s refused TakeAudit: %s", sg->def->name,
			    msg);
			stage_up(sg);
			if (sg->taking == 0)
				stage_arm(sg, STAGE_POLL_MS);
		}
		goto out;
	}
	stage_up(sg);
	if (tr->w.pid == sg->writer.pid && tr->w.start_ms == sg->writer.start_ms)
		stage_store_take(sg, &tr->w, params);
	if (sg->taking == 0)
		stage_arm(sg, STAGE_POLL_MS);
out:
	/* the call's own answer, whatever became of the take */
	if (tr->then != NULL)
		stage_deliver(tr->then, tr->then_error, tr->then_params);
	free(tr->then_error);
	json_object_put(tr->then_params);
	free(tr);
}

/*
 * Takes the stage's spool, acknowledging what was stored of it if it is
 * the same process; then (if not NULL) gets its answer (then_error, NULL for a
 * reply, and then_params) once that is done.  Returns 0 if the take went
 * out, -1 if not (then is not answered).
 */
static int
stage_take_then(struct stage *sg, struct stage_req *then, const char *then_error,
    struct json_object *then_params)
{
	struct stage_take_req *tr;
	struct json_object *params = NULL;
	struct ucred cred;
	char *cause = NULL, *m;
	int rc;

	if (sg->stopping || sg->state == STAGE_LINK_ABSENT)
		return -1;
	rc = stage_probe(sg, &cred, &cause);
	if (rc == -1) {
		stage_down(sg, cause);
		free(cause);
		return -1;
	}
	if (rc == 1) {
		/* it listens but is busy: the writer is not known now */
		if (sg->taking == 0)
			stage_arm(sg, sg->state == STAGE_LINK_UP ?
			    STAGE_POLL_MS : 500);
		return -1;
	}
	if ((long long)cred.pid != sg->writer.pid ||
	    stage_proc_start_ms(cred.pid) != sg->writer.start_ms) {
		sg->writer.uid = (long long)cred.uid;
		sg->writer.pid = (long long)cred.pid;
		sg->writer.start_ms = stage_proc_start_ms(cred.pid);
		sg->known = 0;
		sg->acked = 0;
		sg->dropped_seen = -1;
		log_debug("%s is pid %lld (uid %lld)", sg->def->name,
		    sg->writer.pid, sg->writer.uid);
	}
	/* an acknowledgement only for records durable in the trail */
	if (sg->known && sg->acked > 0 && audit_sync(sg->cmld) == 0) {
		params = json_object_new_object();
		json_object_object_add(params, "ack",
		    json_object_new_int64(sg->acked));
	}
	tr = xcalloc(1, sizeof *tr);
	tr->sg = sg;
	tr->w = sg->writer;
	m = xasprintf("%sTakeAudit", sg->def->iface);
	rc = peer_call(sg->peer, m, params, NULL, 0, 0, stage_take_cb, tr);
	free(m);
	if (rc == -1) {
		free(tr);
		if (sg->taking == 0)
			stage_arm(sg, STAGE_POLL_MS);
		return -1;
	}
	sg->taking++;
	tr->then = then;
	tr->then_error = then_error != NULL ? xstrdup(then_error) : NULL;
	tr->then_params = json_object_get(then_params);
	return 0;
}

/* Takes the spool on its own, unless a take is out already. */
static void
stage_take(struct stage *sg)
{
	if (sg->taking == 0)
		(void)stage_take_then(sg, NULL, NULL, NULL);
}

/* The timer: connect again, or take the spool. */
static void
stage_timer(struct loop_timer *timer)
{
	stage_take(timer->arg);
}

struct stage *
stage_start(struct cmld *cmld, const struct stage_def *def,
    const char *sock_path)
{
	struct stage *sg = xcalloc(1, sizeof *sg);

	sg->cmld = cmld;
	sg->def = def;
	sg->backoff_ms = STAGE_RETRY_MIN_MS;
	sg->dropped_seen = -1;
	loop_timer_init(&sg->timer, stage_timer, sg);
	if (sock_path == NULL || *sock_path == '\0') {
		sg->state = STAGE_LINK_ABSENT;
		log_info("%s", def->absent_note);
		return sg;
	}
	sg->sock_path = xstrdup(sock_path);
	sg->peer = peer_new(cmld->loop, sock_path, def->name);
	peer_set_timeout(sg->peer, def->timeout_ms);
	sg->state = STAGE_LINK_DOWN;
	sg->why = xstrdup("not reached yet");
	stage_arm(sg, 0);
	return sg;
}

void
stage_stop(struct stage *sg)
{
	if (sg == NULL)
		return;
	sg->stopping = 1;
	loop_timer_stop(sg->cmld->loop, &sg->timer);
	stage_status_forget(sg);
	/* the calls still out get their failures now */
	peer_free(sg->peer);
	free(sg->sock_path);
	free(sg->why);
	free(sg);
}

const char *
stage_state(const struct stage *sg)
{
	if (sg == NULL || sg->state == STAGE_LINK_ABSENT)
		return "absent";
	return sg->state == STAGE_LINK_UP ? "up" : "down";
}

/* Passes a call's answer on and frees the call. */
static void
stage_deliver(struct stage_req *req, const char *error,
    struct json_object *params)
{
	req->cb(req->arg, error, params);
	free(req);
}

/*
 * Gets a stage_call's answer and passes it on: the stage's answer once
 * its spool was taken (the call may have made records, which so come
 * first in the trail; but see answer_now), a failure for want of the
 * stage as "tpm2d is not running".
 */
static void
stage_req_cb(void *arg, const char *error, struct json_object *params,
    int continues, const int *fds, size_t nfds)
{
	struct stage_req *req = arg;
	struct stage *sg = req->sg;
	const struct stage_def *def = sg->def;
	struct json_object *p;
	const char *msg;
	char *s;

	(void)continues;
	(void)fds;
	(void)nfds;
	/* a call that may change the stage: its Status again after it */
	if (!req->now)
		stage_status_forget(sg);
	if (error == NULL) {
		if (!sg->stopping) {
			stage_up(sg);
			/* an answer_now method that worked recorded nothing */
			if (!req->now &&
			    stage_take_then(sg, req, NULL, params) == 0)
				return;
		}
		stage_deliver(req, NULL, params);
	} else if (stage_lost(def, error,
	    msg = stage_error_message(def, params))) {
		if (sg->stopping)
			s = xasprintf("cmld is stopping: the call to %s was "
			    "given up", def->name);
		else if (stage_says(def, msg, "did not answer"))
			s = xstrdup(msg);
		else if (strstr(msg, "got no answer within") != NULL)
			/* a call before this one hung: the same connection */
			s = xasprintf("%s does not answer (stage %d): %s",
			    def->name, def->number, stage_why(def, msg));
		else
			s = xasprintf("%s is not running (stage %d): %s",
			    def->name, def->number, stage_why(def, msg));
		p = json_object_new_object();
		json_object_object_add(p, "message", json_object_new_string(s));
		free(s);
		stage_down(sg, msg);
		stage_deliver(req, PROTO_ERR_FAILED, p);
		json_object_put(p);
	} else {
		/* the stage answered: it audits a refusal too */
		if (!sg->stopping) {
			stage_up(sg);
			if (stage_take_then(sg, req, error, params) == 0)
				return;
		}
		stage_deliver(req, error, params);
	}
}

int
stage_call(struct stage *sg, const struct stage_def *def, const char *method,
    struct json_object *params, stage_reply_cb cb, void *arg, char **cause)
{
	struct stage_req *req;
	char *m, *why = NULL;
	size_t i;

	if (sg == NULL) {
		json_object_put(params);
		*cause = xasprintf("cmld is stopping: %s is not called any "
		    "more", def->name);
		return -1;
	}
	if (sg->state == STAGE_LINK_ABSENT) {
		json_object_put(params);
		*cause = xasprintf("cmld runs without %s (%s ''): there is no "
		    "%s stage", def->name, def->option, def->kind);
		return -1;
	}
	if (sg->stopping) {
		json_object_put(params);
		*cause = xstrdup("cmld is stopping");
		return -1;
	}
	/* Down: refused at once unless it is back (its socket accepts). */
	if (sg->state != STAGE_LINK_UP && stage_probe(sg, NULL, &why) == -1) {
		json_object_put(params);
		*cause = xasprintf("%s is not running (stage %d): %s; cmld "
		    "connects again once it is started", def->name,
		    def->number, why);
		stage_down(sg, why);
		free(why);
		return -1;
	}
	req = xcalloc(1, sizeof *req);
	req->sg = sg;
	req->cb = cb;
	req->arg = arg;
	for (i = 0; i < def->nanswer_now; i++)
		if (strcmp(method, def->answer_now[i]) == 0)
			req->now = 1;
	if (!req->now)
		stage_status_forget(sg);
	m = xasprintf("%s%s", def->iface, method);
	if (peer_call(sg->peer, m, params, NULL, 0, 0, stage_req_cb,
	    req) == -1) {
		*cause = xasprintf("%s: cannot call %s: %s", def->name, method,
		    errno == EAGAIN ? "too many calls are waiting for it" :
		    strerror(errno));
		free(req);
		free(m);
		return -1;
	}
	free(m);
	return 0;
}

struct json_object *
stage_status_fresh(struct stage *sg, long long max_age_ms)
{
	unsigned long long conn;

	if (sg == NULL || sg->status == NULL || sg->stopping ||
	    sg->state != STAGE_LINK_UP)
		return NULL;
	/*
	 * the same process on the same connection, which is still open,
	 * with no call out (one that hangs: the stage may hang)
	 */
	conn = peer_connection(sg->peer);
	if (conn == 0 || conn != sg->status_conn ||
	    peer_pending(sg->peer) > 0 ||
	    loop_now_ms() - sg->status_ms >= max_age_ms) {
		stage_status_forget(sg);
		return NULL;
	}
	return sg->status;
}

void
stage_status_keep(struct stage *sg, struct json_object *params)
{
	unsigned long long conn;

	if (sg == NULL || sg->stopping || sg->state != STAGE_LINK_UP ||
	    (conn = peer_connection(sg->peer)) == 0)
		return;
	stage_status_forget(sg);
	sg->status = json_object_get(params);
	sg->status_ms = loop_now_ms();
	sg->status_conn = conn;
}

void
stage_call_error(const struct stage_def *def, struct call *call,
    const char *error, struct json_object *params)
{
	const char *msg = stage_error_message(def, params);

	if (error == NULL)
		error = PROTO_ERR_FAILED;
	if (strncmp(error, "org.cml.Error.", strlen("org.cml.Error.")) == 0)
		call_error(call, error, NULL, "%s", msg);
	else
		call_error(call, PROTO_ERR_FAILED, NULL, "%s: %s", def->name,
		    msg);
}
