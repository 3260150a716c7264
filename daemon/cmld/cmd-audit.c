/*
 * org.cml.Audit: reviewing the audit trail (CR 6.1).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "ctx.h"
#include "handlers.h"
#include "store.h"
#include "utf8.h"
#include "xmalloc.h"

/* Records per reply when streaming, so no reply nears the size limit. */
#define AUDIT_CHUNK 500
/* Records one plain reply may carry. */
#define AUDIT_PLAIN_MAX 2000

/* A listing: plain in one go, streamed as a job that the client paces. */
struct audit_list {
	struct job job;
	struct call *call;
	long long after, until; /* the records left: after < seq <= until */
	struct audit_filter filter; /* its strings are owned */
	struct json_object *records;
	size_t n;
};

/* Collects one record. */
static int
audit_list_cb(const struct audit_record *rec, void *arg)
{
	struct audit_list *l = arg;

	json_object_array_add(l->records, audit_record_json(rec, 0));
	l->n++;
	l->after = rec->seq;
	return 0;
}

/* Takes the collected records as a reply's parameters. */
static struct json_object *
audit_list_params(struct audit_list *l)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "records", l->records);
	l->records = json_object_new_array();
	l->n = 0;
	return p;
}

static void
audit_list_free(struct audit_list *l)
{
	json_object_put(l->records);
	free((char *)l->filter.container);
	free((char *)l->filter.type);
	free((char *)l->filter.result);
	free(l);
}

/* Reads n digits at *p as a number; -1 when they are not there. */
static int
audit_digits(const char **p, int n)
{
	int v = 0;

	while (n-- > 0) {
		if (!isdigit((unsigned char)**p))
			return -1;
		v = v * 10 + (*(*p)++ - '0');
	}
	return v;
}

/*
 * Parses a point in time for --since and --until: RFC 3339
 * (2026-12-03T10:00:00Z, with optional fraction and a +HH:MM offset), a
 * date (2026-12-03: midnight UTC), or a span before now: a number with s,
 * m, h or d (90s, 10m, 2h, 7d).  Returns ms since the epoch, or -1 with
 * *cause set.
 */
static long long
audit_parse_time(const char *s, long long now_ms, char **cause)
{
	const char *p = s;
	struct tm tm;
	long long n = 0, ms = 0, unit;
	int off = 0, sign, h, m, digits = 0;
	time_t t;

	if (isdigit((unsigned char)*s) && strlen(s) < 12 &&
	    strchr("smhd", s[strlen(s) - 1]) != NULL) {
		while (isdigit((unsigned char)*p) && digits++ < 9)
			n = n * 10 + (*p++ - '0');
		if (p[0] != '\0' && p[1] == '\0') {
			unit = *p == 's' ? 1000 : *p == 'm' ? 60000 :
			    *p == 'h' ? 3600000 : 86400000;
			return now_ms - n * unit;
		}
		goto bad;
	}
	memset(&tm, 0, sizeof tm);
	if ((tm.tm_year = audit_digits(&p, 4)) == -1 || *p++ != '-' ||
	    (tm.tm_mon = audit_digits(&p, 2)) == -1 || *p++ != '-' ||
	    (tm.tm_mday = audit_digits(&p, 2)) == -1)
		goto bad;
	if (*p != '\0') {
		if ((*p != 'T' && *p != 't' && *p != ' ') ||
		    (++p, tm.tm_hour = audit_digits(&p, 2)) == -1 ||
		    *p++ != ':' || (tm.tm_min = audit_digits(&p, 2)) == -1 ||
		    *p++ != ':' || (tm.tm_sec = audit_digits(&p, 2)) == -1)
			goto bad;
		if (*p == '.') {
			p++;
			for (digits = 0; isdigit((unsigned char)*p); p++)
				if (digits++ < 3)
					ms = ms * 10 + (*p - '0');
			if (digits == 0)
				goto bad;
			for (; digits < 3; digits++)
				ms *= 10;
		}
		if (*p == 'Z' || *p == 'z')
			p++;
		else if (*p == '+' || *p == '-') {
			sign = *p++ == '-' ? -1 : 1;
			if ((h = audit_digits(&p, 2)) == -1 || *p++ != ':' ||
			    (m = audit_digits(&p, 2)) == -1 || h > 23 || m > 59)
				goto bad;
			off = sign * (h * 60 + m) * 60;
		} else
			goto bad;
		if (*p != '\0')
			goto bad;
	}
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		goto bad;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	if ((t = timegm(&tm)) == (time_t)-1)
		goto bad;
	return ((long long)t - off) * 1000 + ms;
bad:
	*cause = xasprintf("'%s' is no time: give RFC 3339 UTC "
	    "(2026-12-03T10:00:00Z), a date (2026-12-03) or a span before now "
	    "(30s, 10m, 2h, 7d)", s);
	return -1;
}

/*
 * Reads the filters of a call into l->filter; -1 with *cause and *param
 * set for a time that is none.
 */
static int
audit_list_filter(struct audit_list *l, struct json_object *params,
    const char **param, char **cause)
{
	static const char *const names[] = { "container", "type", "result" };
	const char **dst[] = { &l->filter.container, &l->filter.type,
	    &l->filter.result };
	struct json_object *v;
	long long now = audit_now_ms();
	size_t i;

	store_audit_filter_init(&l->filter);
	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (json_object_object_get_ex(params, names[i], &v) &&
		    json_object_is_type(v, json_type_string))
			*dst[i] = xstrdup(json_object_get_string(v));
	if (json_object_object_get_ex(params, "uid", &v) &&
	    json_object_is_type(v, json_type_int))
		l->filter.uid = json_object_get_int64(v);
	if (json_object_object_get_ex(params, "since", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    (l->filter.since_ms = audit_parse_time(json_object_get_string(v),
	    now, cause)) == -1) {
		*param = "since";
		return -1;
	}
	if (json_object_object_get_ex(params, "until", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    (l->filter.until_ms = audit_parse_time(json_object_get_string(v),
	    now, cause)) == -1) {
		*param = "until";
		return -1;
	}
	return 0;
}

/* The client drained its replies (or left): produce again. */
static void
audit_list_drained(struct call *call)
{
	struct audit_list *l = call->drain_arg;

	loop_job_add(call_cmld(call)->loop, &l->job);
}

/*
 * Streams one chunk.  While the client's queue is full the job waits for
 * it to drain, so a client that does not read costs one chunk, not the
 * trail; it ends with its first error.
 */
static int
audit_list_step(struct job *job)
{
	struct audit_list *l = (struct audit_list *)job;
	struct call *call = l->call;
	char *cause = NULL;

	if (call->client == NULL) {
		/* the client left: nothing more to send */
		call_reply(call, NULL);
		audit_list_free(l);
		return JOB_DONE;
	}
	if (call_congested(call)) {
		call->drain_arg = l;
		call->on_drain = audit_list_drained;
		return JOB_PARKED;
	}
	if (store_audit_range(call_cmld(call)->store, &l->filter, l->after,
	    l->until, AUDIT_CHUNK, audit_list_cb, l, &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL,
		    "cannot read the audit trail: %s", cause);
		free(cause);
		audit_list_free(l);
		return JOB_DONE;
	}
	if (l->n == AUDIT_CHUNK && l->after < l->until) {
		if (call_reply_more(call, audit_list_params(l)) == 0)
			return JOB_AGAIN;
		call_reply(call, NULL); /* the stream ended with an error */
	} else
		call_reply(call, audit_list_params(l));
	audit_list_free(l);
	return JOB_DONE;
}

/* Stops a listing at shutdown. */
static void
audit_list_cancel(struct job *job)
{
	struct audit_list *l = (struct audit_list *)job;

	call_error(l->call, PROTO_ERR_FAILED, NULL, "cmld is stopping: the "
	    "listing was cut short");
	audit_list_free(l);
}

void
cmd_audit_list(struct call *call)
{
	struct cmld *cmld = call_cmld(call);
	struct audit_list *l;
	struct json_object *last;
	const char *param = NULL;
	long long n = 0, count = 0;
	char *cause = NULL;

	if (json_object_object_get_ex(call->params, "last", &last) &&
	    last != NULL)
		n = json_object_get_int64(last);
	l = xcalloc(1, sizeof *l);
	l->call = call;
	l->records = json_object_new_array();
	if (audit_list_filter(l, call->params, &param, &cause) == -1) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, param, "%s",
		    cause);
		goto out;
	}
	if (store_audit_bounds(cmld->store, &l->filter, n, &l->after,
	    &l->until, &count, &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL,
		    "cannot read the audit trail: %s", cause);
		goto out;
	}
	if (!call->more) {
		if (count > AUDIT_PLAIN_MAX) {
			call_error(call, PROTO_ERR_INVALID_ARGUMENT, "last",
			    "more than %d records: ask for the last N, or call "
			    "with \"more\" to stream them", AUDIT_PLAIN_MAX);
			goto out;
		}
		if (store_audit_range(cmld->store, &l->filter, l->after,
		    l->until, AUDIT_PLAIN_MAX, audit_list_cb, l, &cause) == -1) {
			call_error(call, PROTO_ERR_FAILED, NULL,
			    "cannot read the audit trail: %s", cause);
			goto out;
		}
		call_reply(call, audit_list_params(l));
		goto out;
	}
	l->job.step = audit_list_step;
	l->job.cancel = audit_list_cancel;
	call_defer(call);
	loop_job_add(cmld->loop, &l->job);
	return;
out:
	free(cause);
	audit_list_free(l);
}
