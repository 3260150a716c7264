/*
 * cmld as the audit daemon: every security-relevant event becomes a record
 * in the audit store, with who caused it (TSF.AUDIT, CR 2.8, CR 2.12).
 * The subject of a record is always a real process: the caller of a call
 * or the peer of a session, and cmld itself for what it does on its own
 * and for the container events it observes.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "ctx.h"
#include "log.h"
#include "store.h"
#include "utf8.h"
#include "xmalloc.h"

/* The most bytes a record keeps of its details, and of other fields. */
#define AUDIT_DETAILS_MAX 2048
#define AUDIT_FIELD_MAX 256

long long
audit_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
audit_format_time(long long ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/*
 * Writes one record of time_ms (0: now); the subject is given by uid and
 * pid.  Returns the record's seq in the trail, or -1 if it was not stored.
 */
static long long __attribute__((format(printf, 9, 0)))
audit_vwrite(struct cmld *cmld, long long time_ms, const char *type,
    long long uid, long long pid, const char *container, const char *object,
    const char *result, const char *fmt, va_list ap)
{
	struct audit_record rec = { 0 };
	char *raw, *details, *cause = NULL;
	char *ctype, *cctr = NULL, *cobject, *cresult;

	if (vasprintf(&raw, fmt, ap) == -1)
		fatalx("out of memory");
	/*
	 * Every field is bounded and safe to print, whatever a caller sent:
	 * no record can grow the trail or break a listing.
	 */
	details = utf8_clean(raw, AUDIT_DETAILS_MAX);
	free(raw);
	ctype = utf8_clean(type, AUDIT_FIELD_MAX);
	cobject = utf8_clean(object, AUDIT_FIELD_MAX);
	cresult = utf8_clean(result, AUDIT_FIELD_MAX);
	if (container != NULL)
		cctr = utf8_clean(container, AUDIT_FIELD_MAX);
	rec.time_ms = time_ms > 0 ? time_ms : audit_now_ms();
	rec.type = ctype;
	rec.uid = uid;
	rec.pid = pid;
	rec.container = cctr;
	rec.object = cobject;
	rec.result = cresult;
	rec.details = details;
	if (store_audit_append(cmld->store, &rec, &cause) == -1) {
		log_warnx("cannot write audit record (%s %s %s): %s", ctype,
		    cobject, cresult, cause);
		free(cause);
		rec.seq = -1;
	} else
		log_debug("audit #%lld: %s uid %lld pid %lld %s %s %s",
		    rec.seq, ctype, rec.uid, rec.pid, cobject, cresult,
		    details);
	free(details);
	free(ctype);
	free(cctr);
	free(cobject);
	free(cresult);
	return rec.seq;
}

void
audit_write(struct cmld *cmld, const char *type, const char *object,
    const char *result, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)audit_vwrite(cmld, 0, type, (long long)getuid(),
	    (long long)getpid(), NULL, object, result, fmt, ap);
	va_end(ap);
}

void
audit_write_as(struct cmld *cmld, const char *type, long long uid,
    long long pid, const char *container, const char *object,
    const char *result, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)audit_vwrite(cmld, 0, type, uid, pid, container, object, result,
	    fmt, ap);
	va_end(ap);
}

long long
audit_write_from(struct cmld *cmld, long long time_ms, const char *type,
    long long uid, long long pid, const char *object, const char *result,
    const char *fmt, ...)
{
	va_list ap;
	long long seq;

	va_start(ap, fmt);
	seq = audit_vwrite(cmld, time_ms, type, uid, pid, NULL, object, result,
	    fmt, ap);
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
	    (long long)getpid(), name, "container", result, fmt, ap);
	va_end(ap);
}
