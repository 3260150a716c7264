/*
 * cmld's link to tpm2d, the first stage.  Calls go through the server
 * library's non-blocking client (server/peer.c) on cmld's loop; cmld
 * never waits for tpm2d.  The link is "up" while calls work, "down" once
 * one failed for want of tpm2d (then cmld connects again after 100 ms,
 * doubling to 5 s, and at once when a command needs tpm2d and its socket
 * accepts), "absent" when cmld runs without tpm2d.
 *
 * While up, cmld takes tpm2d's audit spool every TPM_POLL_MS and after
 * each call (which may have written records): each record is stored with
 * its original time and tpm2d (its uid and pid, from SO_PEERCRED) as the
 * subject, as type "tpm2d" whose details begin with tpm2d's seq and type
 * ("#3 daemon: ...").  The records stored are acknowledged with the next
 * take.  tpm2d's seq counts from 1 for each of its lives, so an ack is
 * sent only to the tpm2d it was meant for: tpm2d is known by its pid and
 * its start time (/proc), checked before each take.  For a tpm2d cmld did
 * not take from before (cmld's start, tpm2d's restart) nothing is acked:
 * what it hands over that the trail holds already (stored, but cmld ended
 * before it acked) is found there by writer, seq and time and not stored
 * twice.  Records tpm2d dropped for lack of room become one record saying
 * how many.
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
#include "log.h"
#include "peer.h"
#include "proto.h"
#include "store.h"
#include "tpm.h"
#include "xmalloc.h"

#define TPM_INTERFACE "org.cml.TPM."
/* What the peer calls tpm2d in its failures ("tpm2d is not reachable"). */
#define TPM_NAME "tpm2d"

enum tpm_link {
	TPM_LINK_DOWN,
	TPM_LINK_UP,
	TPM_LINK_ABSENT,
};

/* Which tpm2d wrote the records: its process and when it started. */
struct tpm_writer {
	long long uid;
	long long pid;
	long long start_ms; /* ms since the epoch; 0: unknown */
};

struct tpm {
	struct cmld *cmld;
	char *sock_path;
	struct peer *peer;
	enum tpm_link state;
	char *why; /* why it is down */
	int ever_up; /* tpm2d answered since cmld started */
	int noted_down; /* this time down was logged */
	int audited_down; /* and audited (a loss: it was up before) */
	struct loop_timer timer; /* the next attempt, or the next take */
	long long backoff_ms;
	int stopping;
	/* the audit spool */
	int taking; /* TakeAudit calls out */
	struct tpm_writer writer; /* the tpm2d taken from last */
	int known; /* acked holds for writer */
	long long acked; /* its last seq stored */
	long long dropped_seen; /* its dropped count recorded; -1: unknown */
};

/* A call out to tpm2d, for tpm_call. */
struct tpm_req {
	struct tpm *t;
	tpm_reply_cb cb;
	void *arg;
	int now; /* its answer passed on at once, before a take */
};

/*
 * The methods whose answer is passed on at once: tpm2d records nothing
 * of them when they work (they read), or, for Extend, the measurement
 * log's entry must follow the PCR's change without a round trip between.
 */
static const char *const tpm_answer_now[] = {
	"Status", "ReadPCRs", "IdentityPublic", "Quote", "Extend",
};

static void tpm_arm(struct tpm *, long long);
static void tpm_take(struct tpm *);

/*
 * Says whether a failure is the peer's, saying tpm2d was not there or did
 * not answer (rather than tpm2d answering with an error).
 */
static int
tpm_lost(const char *error, const char *msg)
{
	if (error == NULL || strcmp(error, PROTO_ERR_FAILED) != 0)
		return 0;
	return strncmp(msg, TPM_NAME " is not reachable",
	    strlen(TPM_NAME " is not reachable")) == 0 ||
	    strncmp(msg, TPM_NAME " did not answer",
	    strlen(TPM_NAME " did not answer")) == 0;
}

/* Returns why of a peer failure without "tpm2d is not reachable: ". */
static const char *
tpm_why(const char *msg)
{
	const char *prefix = TPM_NAME " is not reachable: ";

	if (strncmp(msg, prefix, strlen(prefix)) == 0)
		return msg + strlen(prefix);
	return msg;
}

const char *
tpm_error_message(struct json_object *params)
{
	struct json_object *m;

	if (params != NULL && json_object_object_get_ex(params, "message",
	    &m) && json_object_is_type(m, json_type_string))
		return json_object_get_string(m);
	return "tpm2d answered an error without a message";
}

/* Says where cmld's state lives, as tpm2d's Status tells (once up). */
static void
tpm_volume_cb(void *arg, const char *error, struct json_object *params)
{
	struct json_object *v, *r;
	const char *state = NULL, *why = NULL;

	(void)arg;
	if (error != NULL) {
		log_warnx("state directory: tpm2d does not say how it is kept: "
		    "%s", tpm_error_message(params));
		return;
	}
	if (json_object_object_get_ex(params, "state_volume", &v) &&
	    json_object_is_type(v, json_type_string))
		state = json_object_get_string(v);
	if (json_object_object_get_ex(params, "state_volume_reason", &r) &&
	    json_object_is_type(r, json_type_string))
		why = json_object_get_string(r);
	if (state == NULL)
		return;
	if (strcmp(state, "encrypted") == 0)
		log_info("state directory: on the encrypted state volume "
		    "tpm2d opened%s%s", why != NULL ? ": " : "",
		    why != NULL ? why : "");
	else
		log_warnx("state directory: %s%s%s", state,
		    why != NULL ? ": " : "", why != NULL ? why : "");
}

/* Notes that tpm2d answered: the link is up. */
static void
tpm_up(struct tpm *t)
{
	if (t->state == TPM_LINK_UP)
		return;
	t->state = TPM_LINK_UP;
	t->backoff_ms = TPM_RETRY_MIN_MS;
	free(t->why);
	t->why = NULL;
	log_info("tpm2d is up (%s)", t->sock_path);
	if (t->audited_down)
		audit_write(t->cmld, "daemon", "tpm2d", "ok",
		    "tpm2d answers again at %s", t->sock_path);
	else if (t->noted_down && !t->ever_up)
		audit_write(t->cmld, "daemon", "tpm2d", "ok",
		    "tpm2d answers at %s (it did not when cmld started)",
		    t->sock_path);
	if (!t->ever_up) {
		char *cause = NULL;

		if (tpm_call(t->cmld, "Status", NULL, tpm_volume_cb, NULL,
		    &cause) == -1) {
			log_warnx("state directory: %s", cause);
			free(cause);
		}
	}
	t->ever_up = 1;
	t->noted_down = t->audited_down = 0;
	/* its spool first: what it wrote while cmld could not store it */
	tpm_arm(t, 0);
}

/*
 * Notes that tpm2d is not there (why: a message); tries again later.  Its
 * loss is audited; that it is not there when cmld starts is logged (and
 * device status says it), so that cmld's start stays one record.
 */
static void
tpm_down(struct tpm *t, const char *why)
{
	int was_up = t->state == TPM_LINK_UP;

	if (t->state == TPM_LINK_ABSENT || t->stopping)
		return;
	why = tpm_why(why);
	free(t->why);
	t->why = xstrdup(why);
	if (was_up) {
		t->state = TPM_LINK_DOWN;
		t->backoff_ms = TPM_RETRY_MIN_MS;
	}
	if (!t->noted_down) {
		log_warnx("tpm2d is down: %s", why);
		t->noted_down = 1;
		if (t->ever_up) {
			audit_write(t->cmld, "daemon", "tpm2d",
			    PROTO_ERR_FAILED, "tpm2d is not running (stage "
			    "1): %s; commands that need the TPM are refused "
			    "until it answers", why);
			t->audited_down = 1;
		}
	}
	tpm_arm(t, t->backoff_ms);
	t->backoff_ms *= 2;
	if (t->backoff_ms > TPM_RETRY_MAX_MS)
		t->backoff_ms = TPM_RETRY_MAX_MS;
}

/* Arms the one timer: the next attempt or take, in ms. */
static void
tpm_arm(struct tpm *t, long long ms)
{
	if (t->stopping)
		return;
	if (loop_timer_start(t->cmld->loop, &t->timer, ms) == -1)
		log_warn("tpm2d: cannot arm the link's timer");
}

/*
 * Connects to tpm2d's socket and closes again, without blocking: a Unix
 * socket's connect is done or refused at once.  Returns 0 with the
 * credentials of the process listening there (cred may be NULL), 1 when
 * it listens but its queue is full, -1 with *cause when nobody listens.
 */
static int
tpm_probe(struct tpm *t, struct ucred *cred, char **cause)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof *cred;
	int fd, rc = 0;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(t->sock_path) >= sizeof sun.sun_path) {
		*cause = xasprintf("the socket path %s is too long",
		    t->sock_path);
		return -1;
	}
	memcpy(sun.sun_path, t->sock_path, strlen(t->sock_path));
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
			    t->sock_path, strerror(errno));
			rc = -1;
		}
	} else if (cred != NULL &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len) == -1) {
		*cause = xasprintf("SO_PEERCRED on %s: %s", t->sock_path,
		    strerror(errno));
		rc = -1;
	}
	close(fd);
	return rc;
}

/*
 * Returns when process pid started, in ms since the epoch, or 0 if
 * /proc does not say.
 */
static long long
tpm_proc_start_ms(long long pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0, btime = 0;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f;
	size_t n;
	int i;

	snprintf(path, sizeof path, "/proc/%lld/stat", pid);
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* the name may hold anything: fields count from its last ')' */
	if ((p = strrchr(buf, ')')) == NULL)
		return 0;
	/* state is field 3, starttime field 22 */
	for (i = 3; i <= 22 && p != NULL; i++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p + 1, "%llu", &start) != 1)
		return 0;
	if ((f = fopen("/proc/stat", "re")) == NULL)
		return 0;
	while (fgets(buf, sizeof buf, f) != NULL)
		if (sscanf(buf, "btime %llu", &btime) == 1)
			break;
	fclose(f);
	if (btime == 0 || hz <= 0)
		return 0;
	return (long long)(btime * 1000 +
	    start * 1000 / (unsigned long long)hz);
}

/* Parses tpm2d's record time ("2026-12-03T10:00:00.123Z"); -1 if bad. */
static long long
tpm_parse_time(const char *s)
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

/* One record of a take, as read from tpm2d's reply. */
struct tpm_rec {
	long long seq;
	long long time_ms;
	const char *time;
	const char *type;
	const char *object;
	const char *result;
	const char *details;
	int stored; /* the trail holds it already */
};

/* Returns a string member of o, or "" (tpm2d's reply is checked here). */
static const char *
tpm_member_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return "";
}

/* What a search of the trail for a tpm2d's records looks at. */
struct tpm_search {
	const struct tpm_writer *w;
	struct tpm_rec *recs;
	size_t n;
	long long dropped; /* the highest total in a "dropped" record */
};

/* Marks the records of the take that the trail holds already. */
static int
tpm_search_cb(const struct audit_record *rec, void *arg)
{
	struct tpm_search *s = arg;
	long long seq, total;
	size_t i;
	int n = 0;

	if (rec->pid != s->w->pid || rec->details == NULL)
		return 0;
	if (strcmp(rec->result, "dropped") == 0 &&
	    sscanf(rec->details, "tpm2d dropped %*d of its audit records "
	    "for lack of room (%lld since it started)%n", &total, &n) == 1 &&
	    n > 0) {
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
 * Finds in the trail what it holds of a tpm2d's records (since it
 * started, or since the oldest of recs): marks those of recs and sets
 * *dropped to the dropped count recorded.  -1 on a database error.
 */
static int
tpm_search_trail(struct tpm *t, const struct tpm_writer *w,
    struct tpm_rec *recs, size_t n, long long *dropped)
{
	struct audit_filter f;
	struct tpm_search s = { w, recs, n, 0 };
	long long since = w->start_ms - 1000;
	int all = w->start_ms <= 0;
	char *cause = NULL;
	size_t i;

	/* a record older than tpm2d's start (the clock was set back) too */
	for (i = 0; i < n && !all; i++) {
		if (recs[i].time_ms < 0)
			all = 1;
		else if (recs[i].time_ms < since)
			since = recs[i].time_ms;
	}
	store_audit_filter_init(&f);
	f.type = "tpm2d";
	f.uid = w->uid;
	f.since_ms = all ? -1 : since;
	if (store_audit_range(t->cmld->store, &f, 0, LLONG_MAX, LLONG_MAX,
	    tpm_search_cb, &s, &cause) == -1) {
		log_warnx("tpm2d's audit records: %s", cause);
		free(cause);
		return -1;
	}
	*dropped = s.dropped;
	return 0;
}

/*
 * Stores the records of a take (params: tpm2d's reply) that tpm2d w
 * wrote; sets what the next take acknowledges.
 */
static void
tpm_store_take(struct tpm *t, const struct tpm_writer *w,
    struct json_object *params)
{
	struct json_object *records, *o, *v;
	struct tpm_rec *recs;
	long long dropped = 0, recorded, max = t->known ? t->acked : 0;
	size_t i, n = 0, nstored = 0, nknown = 0;

	if (!json_object_object_get_ex(params, "records", &records) ||
	    !json_object_is_type(records, json_type_array)) {
		log_warnx("tpm2d's TakeAudit reply has no records");
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
			log_warnx("tpm2d handed over a record without a seq");
			continue;
		}
		recs[n].seq = json_object_get_int64(v);
		/* an ack acknowledges all up to it: never one not seen */
		if (recs[n].seq <= max)
			continue;
		recs[n].time = tpm_member_str(o, "time");
		recs[n].time_ms = tpm_parse_time(recs[n].time);
		recs[n].type = tpm_member_str(o, "type");
		recs[n].object = tpm_member_str(o, "object");
		recs[n].result = tpm_member_str(o, "result");
		recs[n].details = tpm_member_str(o, "details");
		n++;
	}
	recorded = t->known ? t->dropped_seen : -1;
	if (!t->known && tpm_search_trail(t, w, recs, n, &recorded) == -1) {
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
		if (audit_write_from(t->cmld,
		    recs[i].time_ms > 0 ? recs[i].time_ms : 0, "tpm2d", w->uid,
		    w->pid, *recs[i].object != '\0' ? recs[i].object : "tpm2d",
		    *recs[i].result != '\0' ? recs[i].result : "-",
		    "#%lld %s: %s%s%s%s", recs[i].seq, recs[i].type,
		    recs[i].details, recs[i].time_ms > 0 ? "" :
		    " (tpm2d's time unreadable: ", recs[i].time_ms > 0 ? "" :
		    recs[i].time, recs[i].time_ms > 0 ? "" : ")") == -1)
			break; /* not stored: neither this nor later acked */
		nstored++;
		if (recs[i].seq > max)
			max = recs[i].seq;
	}
	if (dropped > recorded && audit_write_from(t->cmld, 0, "tpm2d",
	    w->uid, w->pid, "audit spool", "dropped",
	    "tpm2d dropped %lld of its audit records for lack of room "
	    "(%lld since it started)", dropped - recorded, dropped) != -1)
		recorded = dropped;
	if (nstored > 0 || nknown > 0)
		log_info("tpm2d's audit records: %zu stored, %zu stored before "
		    "(not acknowledged then)", nstored, nknown);
	t->acked = max;
	t->dropped_seen = recorded;
	t->known = 1;
	free(recs);
}

/*
 * A take: the writer it asks, and the answer of a call it delivers once
 * the records the call made are stored (then, then_params), if any.
 */
struct tpm_take_req {
	struct tpm *t;
	struct tpm_writer w;
	struct tpm_req *then;
	char *then_error;
	struct json_object *then_params;
};

static void tpm_deliver(struct tpm_req *, const char *, struct json_object *);

/* Gets a TakeAudit's answer. */
static void
tpm_take_cb(void *arg, const char *error, struct json_object *params,
    int continues, const int *fds, size_t nfds)
{
	struct tpm_take_req *tr = arg;
	struct tpm *t = tr->t;
	const char *msg;

	(void)continues;
	(void)fds;
	(void)nfds;
	t->taking--;
	if (t->stopping)
		goto out;
	if (error != NULL) {
		msg = tpm_error_message(params);
		if (tpm_lost(error, msg))
			tpm_down(t, msg);
		else {
			log_warnx("tpm2d refused TakeAudit: %s", msg);
			tpm_up(t);
			if (t->taking == 0)
				tpm_arm(t, TPM_POLL_MS);
		}
		goto out;
	}
	tpm_up(t);
	if (tr->w.pid == t->writer.pid && tr->w.start_ms == t->writer.start_ms)
		tpm_store_take(t, &tr->w, params);
	if (t->taking == 0)
		tpm_arm(t, TPM_POLL_MS);
out:
	/* the call's own answer, whatever became of the take */
	if (tr->then != NULL)
		tpm_deliver(tr->then, tr->then_error, tr->then_params);
	free(tr->then_error);
	json_object_put(tr->then_params);
	free(tr);
}

/*
 * Takes tpm2d's spool, acknowledging what was stored of it if it is the
 * same tpm2d; then (if not NULL) gets its answer (then_error, NULL for a
 * reply, and then_params) once that is done.  Returns 0 if the take went
 * out, -1 if not (then is not answered).
 */
static int
tpm_take_then(struct tpm *t, struct tpm_req *then, const char *then_error,
    struct json_object *then_params)
{
	struct tpm_take_req *tr;
	struct json_object *params = NULL;
	struct ucred cred;
	char *cause = NULL;
	int rc;

	if (t->stopping || t->state == TPM_LINK_ABSENT)
		return -1;
	rc = tpm_probe(t, &cred, &cause);
	if (rc == -1) {
		tpm_down(t, cause);
		free(cause);
		return -1;
	}
	if (rc == 1) {
		/* it listens but is busy: the writer is not known now */
		if (t->taking == 0)
			tpm_arm(t, t->state == TPM_LINK_UP ? TPM_POLL_MS : 500);
		return -1;
	}
	if ((long long)cred.pid != t->writer.pid ||
	    tpm_proc_start_ms(cred.pid) != t->writer.start_ms) {
		t->writer.uid = (long long)cred.uid;
		t->writer.pid = (long long)cred.pid;
		t->writer.start_ms = tpm_proc_start_ms(cred.pid);
		t->known = 0;
		t->acked = 0;
		t->dropped_seen = -1;
		log_debug("tpm2d is pid %lld (uid %lld)", t->writer.pid,
		    t->writer.uid);
	}
	if (t->known && t->acked > 0) {
		params = json_object_new_object();
		json_object_object_add(params, "ack",
		    json_object_new_int64(t->acked));
	}
	tr = xcalloc(1, sizeof *tr);
	tr->t = t;
	tr->w = t->writer;
	if (peer_call(t->peer, TPM_INTERFACE "TakeAudit", params, NULL, 0, 0,
	    tpm_take_cb, tr) == -1) {
		free(tr);
		if (t->taking == 0)
			tpm_arm(t, TPM_POLL_MS);
		return -1;
	}
	t->taking++;
	tr->then = then;
	tr->then_error = then_error != NULL ? xstrdup(then_error) : NULL;
	tr->then_params = json_object_get(then_params);
	return 0;
}

/* Takes the spool on its own, unless a take is out already. */
static void
tpm_take(struct tpm *t)
{
	if (t->taking == 0)
		(void)tpm_take_then(t, NULL, NULL, NULL);
}

/* The timer: connect again, or take the spool. */
static void
tpm_timer(struct loop_timer *timer)
{
	tpm_take(timer->arg);
}

void
tpm_start(struct cmld *cmld, const char *sock_path)
{
	struct tpm *t = xcalloc(1, sizeof *t);

	t->cmld = cmld;
	t->backoff_ms = TPM_RETRY_MIN_MS;
	t->dropped_seen = -1;
	loop_timer_init(&t->timer, tpm_timer, t);
	cmld->tpm = t;
	if (sock_path == NULL || *sock_path == '\0') {
		t->state = TPM_LINK_ABSENT;
		log_info("no tpm2d: cmld runs without the TPM stage; "
		    "state directory: plain (no sealed key protects it)");
		return;
	}
	t->sock_path = xstrdup(sock_path);
	t->peer = peer_new(cmld->loop, sock_path, TPM_NAME);
	peer_set_timeout(t->peer, TPM_CALL_TIMEOUT_MS);
	t->state = TPM_LINK_DOWN;
	t->why = xstrdup("not reached yet");
	tpm_arm(t, 0);
}

void
tpm_stop(struct cmld *cmld)
{
	struct tpm *t = cmld->tpm;

	if (t == NULL)
		return;
	t->stopping = 1;
	loop_timer_stop(cmld->loop, &t->timer);
	/* the calls still out get their failures now */
	peer_free(t->peer);
	free(t->sock_path);
	free(t->why);
	free(t);
	cmld->tpm = NULL;
}

const char *
tpm_state(struct cmld *cmld)
{
	struct tpm *t = cmld->tpm;

	if (t == NULL || t->state == TPM_LINK_ABSENT)
		return "absent";
	return t->state == TPM_LINK_UP ? "up" : "down";
}

/* Passes a call's answer on and frees the call. */
static void
tpm_deliver(struct tpm_req *req, const char *error, struct json_object *params)
{
	req->cb(req->arg, error, params);
	free(req);
}

/*
 * Gets a tpm_call's answer and passes it on: tpm2d's answer once its
 * spool was taken (the call may have made records, which so come first
 * in the trail; but see tpm_answer_now), a failure for want of tpm2d as
 * "tpm2d is not running".
 */
static void
tpm_req_cb(void *arg, const char *error, struct json_object *params,
    int continues, const int *fds, size_t nfds)
{
	struct tpm_req *req = arg;
	struct tpm *t = req->t;
	struct json_object *p;
	const char *msg;
	char *s;

	(void)continues;
	(void)fds;
	(void)nfds;
	if (error == NULL) {
		if (!t->stopping) {
			tpm_up(t);
			if (req->now)
				tpm_take(t);
			else if (tpm_take_then(t, req, NULL, params) == 0)
				return;
		}
		tpm_deliver(req, NULL, params);
	} else if (tpm_lost(error, msg = tpm_error_message(params))) {
		if (t->stopping)
			s = xstrdup("cmld is stopping: the call to tpm2d was "
			    "given up");
		else if (strncmp(msg, TPM_NAME " did not answer",
		    strlen(TPM_NAME " did not answer")) == 0)
			s = xstrdup(msg);
		else if (strstr(msg, "got no answer within") != NULL)
			/* a call before this one hung: the same connection */
			s = xasprintf("tpm2d does not answer (stage 1): %s",
			    tpm_why(msg));
		else
			s = xasprintf("tpm2d is not running (stage 1): %s",
			    tpm_why(msg));
		p = json_object_new_object();
		json_object_object_add(p, "message", json_object_new_string(s));
		free(s);
		tpm_down(t, msg);
		tpm_deliver(req, PROTO_ERR_FAILED, p);
		json_object_put(p);
	} else {
		/* tpm2d answered: it audits a refusal too */
		if (!t->stopping) {
			tpm_up(t);
			if (tpm_take_then(t, req, error, params) == 0)
				return;
		}
		tpm_deliver(req, error, params);
	}
}

int
tpm_call(struct cmld *cmld, const char *method, struct json_object *params,
    tpm_reply_cb cb, void *arg, char **cause)
{
	struct tpm *t = cmld->tpm;
	struct tpm_req *req;
	char *m, *why = NULL;
	size_t i;

	if (t == NULL) {
		json_object_put(params);
		*cause = xstrdup("cmld is stopping: tpm2d is not called any "
		    "more");
		return -1;
	}
	if (t->state == TPM_LINK_ABSENT) {
		json_object_put(params);
		*cause = xstrdup("cmld runs without tpm2d (--tpm2d-socket ''): "
		    "there is no TPM stage");
		return -1;
	}
	if (t->stopping) {
		json_object_put(params);
		*cause = xstrdup("cmld is stopping");
		return -1;
	}
	/* Down: refused at once unless it is back (its socket accepts). */
	if (t->state != TPM_LINK_UP && tpm_probe(t, NULL, &why) == -1) {
		json_object_put(params);
		*cause = xasprintf("tpm2d is not running (stage 1): %s; cmld "
		    "connects again once it is started", why);
		tpm_down(t, why);
		free(why);
		return -1;
	}
	req = xcalloc(1, sizeof *req);
	req->t = t;
	req->cb = cb;
	req->arg = arg;
	for (i = 0; i < sizeof tpm_answer_now / sizeof tpm_answer_now[0]; i++)
		if (strcmp(method, tpm_answer_now[i]) == 0)
			req->now = 1;
	m = xasprintf(TPM_INTERFACE "%s", method);
	if (peer_call(t->peer, m, params, NULL, 0, 0, tpm_req_cb, req) == -1) {
		*cause = xasprintf("tpm2d: cannot call %s: %s", method,
		    errno == EAGAIN ? "too many calls are waiting for it" :
		    strerror(errno));
		free(req);
		free(m);
		return -1;
	}
	free(m);
	return 0;
}

void
tpm_call_error(struct call *call, const char *error, struct json_object *params)
{
	const char *msg = tpm_error_message(params);

	if (error == NULL)
		error = PROTO_ERR_FAILED;
	if (strncmp(error, "org.cml.Error.", strlen("org.cml.Error.")) == 0)
		call_error(call, error, NULL, "%s", msg);
	else
		call_error(call, PROTO_ERR_FAILED, NULL, "tpm2d: %s", msg);
}
