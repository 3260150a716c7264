/*
 * org.cml.Audit: reviewing the audit trail (CR 6.1).
 */
#include "config.h"

#include <stdlib.h>

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
/* The longest field a listing shows (records are bounded when written). */
#define AUDIT_SHOW_MAX 4096

/* A listing: plain in one go, streamed as a job that the client paces. */
struct audit_list {
	struct job job;
	struct call *call;
	long long after, until; /* the records left: after < seq <= until */
	struct json_object *records;
	size_t n;
};

/* Returns a field fit for a reply: valid UTF-8, bounded. */
static struct json_object *
audit_field(const char *s)
{
	struct json_object *o;
	char *c = utf8_clean(s != NULL ? s : "", AUDIT_SHOW_MAX);

	o = json_object_new_string(c);
	free(c);
	return o;
}

/* Returns a record as a Record object. */
static struct json_object *
audit_record_json(const struct audit_record *rec)
{
	struct json_object *o;
	char time[32];

	audit_format_time(rec->time_ms, time, sizeof time);
	o = json_object_new_object();
	json_object_object_add(o, "seq", json_object_new_int64(rec->seq));
	json_object_object_add(o, "time", json_object_new_string(time));
	json_object_object_add(o, "type", audit_field(rec->type));
	json_object_object_add(o, "uid", json_object_new_int64(rec->uid));
	json_object_object_add(o, "pid", json_object_new_int64(rec->pid));
	json_object_object_add(o, "container", audit_field(rec->container));
	json_object_object_add(o, "object", audit_field(rec->object));
	json_object_object_add(o, "result", audit_field(rec->result));
	json_object_object_add(o, "details", audit_field(rec->details));
	return o;
}

/* Collects one record. */
static int
audit_list_cb(const struct audit_record *rec, void *arg)
{
	struct audit_list *l = arg;

	json_object_array_add(l->records, audit_record_json(rec));
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
	free(l);
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
	if (store_audit_range(call_cmld(call)->store, l->after, l->until,
	    AUDIT_CHUNK, audit_list_cb, l, &cause) == -1) {
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
	long long n = 0;
	char *cause = NULL;

	if (json_object_object_get_ex(call->params, "last", &last) &&
	    last != NULL)
		n = json_object_get_int64(last);
	l = xcalloc(1, sizeof *l);
	l->call = call;
	l->records = json_object_new_array();
	if (store_audit_bounds(cmld->store, n, &l->after, &l->until,
	    &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL,
		    "cannot read the audit trail: %s", cause);
		goto out;
	}
	if (!call->more) {
		if (l->until - l->after > AUDIT_PLAIN_MAX) {
			call_error(call, PROTO_ERR_INVALID_ARGUMENT, "last",
			    "more than %d records: ask for the last N, or call "
			    "with \"more\" to stream them", AUDIT_PLAIN_MAX);
			goto out;
		}
		if (store_audit_range(cmld->store, l->after, l->until,
		    AUDIT_PLAIN_MAX, audit_list_cb, l, &cause) == -1) {
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
