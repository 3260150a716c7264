/*
 * The audit spool of a stage daemon (spool.h): a bounded ring of records
 * that cmld takes with TakeAudit.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "spool.h"
#include "utf8.h"
#include "xmalloc.h"

/*
 * The most records held, the longest text of a member, and the most bytes
 * of text one TakeAudit reply carries (well under a message's limit: the
 * rest waits for the next call, which acknowledges these).
 */
#define SPOOL_MAX 1024
#define SPOOL_TEXT_MAX 2048
#define SPOOL_REPLY_MAX (256 * 1024)

struct spool_record {
	long long seq;
	char time[32];
	char *type;
	char *object;
	char *result;
	char *details;
};

struct spool {
	struct spool_record rec[SPOOL_MAX];
	size_t first; /* index of the oldest record */
	size_t n;
	long long next_seq;
	long long dropped;
};

struct spool *
spool_new(void)
{
	struct spool *s = xcalloc(1, sizeof *s);

	s->next_seq = 1;
	return s;
}

static void
spool_record_clear(struct spool_record *r)
{
	free(r->type);
	free(r->object);
	free(r->result);
	free(r->details);
	memset(r, 0, sizeof *r);
}

/* Drops the oldest record. */
static void
spool_drop_first(struct spool *s)
{
	spool_record_clear(&s->rec[s->first]);
	s->first = (s->first + 1) % SPOOL_MAX;
	s->n--;
}

void
spool_free(struct spool *s)
{
	if (s == NULL)
		return;
	while (s->n > 0)
		spool_drop_first(s);
	free(s);
}

/* Formats the time now as UTC with milliseconds (RFC 3339). */
static void
spool_now(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	char day[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
	(void)snprintf(buf, size, "%.19s.%03dZ", day,
	    (int)(ts.tv_nsec / 1000000) % 1000);
}

void
spool_add(struct spool *s, const char *type, const char *object,
    const char *result, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	spool_vadd(s, type, object, result, fmt, ap);
	va_end(ap);
}

void
spool_vadd(struct spool *s, const char *type, const char *object,
    const char *result, const char *fmt, va_list ap)
{
	struct spool_record *r;
	char *details;

	if (vasprintf(&details, fmt, ap) == -1)
		fatalx("out of memory");
	if (s->n == SPOOL_MAX) {
		spool_drop_first(s);
		s->dropped++;
	}
	r = &s->rec[(s->first + s->n) % SPOOL_MAX];
	s->n++;
	r->seq = s->next_seq++;
	spool_now(r->time, sizeof r->time);
	r->type = utf8_clean(type, SPOOL_TEXT_MAX);
	r->object = utf8_clean(object != NULL ? object : "", SPOOL_TEXT_MAX);
	r->result = utf8_clean(result, SPOOL_TEXT_MAX);
	r->details = utf8_clean(details, SPOOL_TEXT_MAX);
	free(details);
	if (strcmp(r->result, "ok") == 0)
		log_info("audit %lld: %s %s %s: %s", r->seq, r->type,
		    r->object, r->result, r->details);
	else
		log_warnx("audit %lld: %s %s %s: %s", r->seq, r->type,
		    r->object, r->result, r->details);
}

struct json_object *
spool_take(struct spool *s, long long ack, size_t *taken, size_t *held)
{
	struct json_object *p, *recs, *o;
	struct spool_record *r;
	size_t i, bytes = 0;

	while (s->n > 0 && s->rec[s->first].seq <= ack)
		spool_drop_first(s);
	recs = json_object_new_array();
	for (i = 0; i < s->n; i++) {
		r = &s->rec[(s->first + i) % SPOOL_MAX];
		/* JSON may double a text (quotes, backslashes) */
		bytes += 2 * (strlen(r->type) + strlen(r->object) +
		    strlen(r->result) + strlen(r->details)) + 128;
		if (i > 0 && bytes > SPOOL_REPLY_MAX)
			break;
		o = json_object_new_object();
		json_object_object_add(o, "seq", json_object_new_int64(r->seq));
		json_object_object_add(o, "time",
		    json_object_new_string(r->time));
		json_object_object_add(o, "type",
		    json_object_new_string(r->type));
		json_object_object_add(o, "object",
		    json_object_new_string(r->object));
		json_object_object_add(o, "result",
		    json_object_new_string(r->result));
		json_object_object_add(o, "details",
		    json_object_new_string(r->details));
		json_object_array_add(recs, o);
	}
	p = json_object_new_object();
	json_object_object_add(p, "records", recs);
	json_object_object_add(p, "dropped", json_object_new_int64(s->dropped));
	*taken = i;
	*held = s->n;
	return p;
}

void
spool_take_audit(struct spool *s, struct call *call)
{
	struct json_object *p, *v;
	long long ack = 0;
	size_t taken, held;

	if (json_object_object_get_ex(call->params, "ack", &v) && v != NULL)
		ack = json_object_get_int64(v);
	p = spool_take(s, ack, &taken, &held);
	call_set_details(call, "ack %lld: %zu of %zu records handed over",
	    ack, taken, held);
	call_reply(call, p);
}
