/*
 * org.cml.Audit: reviewing the audit trail (CR 6.1).
 */
#include "config.h"

#include <stdlib.h>

#include "cmld.h"
#include "store.h"
#include "xmalloc.h"

/* Records per reply when streaming, so no reply nears the size limit. */
#define AUDIT_CHUNK 500
/* Records one plain reply may carry. */
#define AUDIT_PLAIN_MAX 2000

struct audit_list_state {
	struct call *call;
	struct json_object *records;
	size_t n;
	int too_many;
};

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
	json_object_object_add(o, "type", json_object_new_string(rec->type));
	json_object_object_add(o, "uid", json_object_new_int64(rec->uid));
	json_object_object_add(o, "pid", json_object_new_int64(rec->pid));
	json_object_object_add(o, "container", json_object_new_string(
	    rec->container != NULL ? rec->container : ""));
	json_object_object_add(o, "object",
	    json_object_new_string(rec->object));
	json_object_object_add(o, "result",
	    json_object_new_string(rec->result));
	json_object_object_add(o, "details", json_object_new_string(
	    rec->details != NULL ? rec->details : ""));
	return o;
}

/* Wraps the collected records into a reply's parameters. */
static struct json_object *
audit_list_params(struct audit_list_state *st)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "records", st->records);
	st->records = json_object_new_array();
	st->n = 0;
	return p;
}

/* Collects one record; streams a chunk when one is full. */
static int
audit_list_cb(const struct audit_record *rec, void *arg)
{
	struct audit_list_state *st = arg;

	json_object_array_add(st->records, audit_record_json(rec));
	st->n++;
	if (st->call->more && st->n == AUDIT_CHUNK)
		call_reply_more(st->call, audit_list_params(st));
	else if (!st->call->more && st->n > AUDIT_PLAIN_MAX) {
		st->too_many = 1;
		return 1;
	}
	return 0;
}

void
cmd_audit_list(struct call *call)
{
	struct audit_list_state st = { .call = call };
	struct json_object *last;
	long long n = 0;
	char *cause = NULL;
	int rc;

	if (json_object_object_get_ex(call->params, "last", &last) &&
	    last != NULL)
		n = json_object_get_int64(last);
	st.records = json_object_new_array();
	rc = store_audit_list(call_cmld(call)->store, n, audit_list_cb, &st,
	    &cause);
	if (rc == -1) {
		json_object_put(st.records);
		call_error(call, PROTO_ERR_FAILED, NULL,
		    "cannot read the audit trail: %s", cause);
		free(cause);
		return;
	}
	if (st.too_many) {
		json_object_put(st.records);
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "last",
		    "more than %d records: ask for the last N, or call with "
		    "\"more\" to stream them", AUDIT_PLAIN_MAX);
		return;
	}
	call_reply(call, audit_list_params(&st));
	json_object_put(st.records);
}
