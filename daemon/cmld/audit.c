/*
 * cmld as the audit daemon: every security-relevant event becomes a record
 * in the audit store, with who caused it (TSF.AUDIT, CR 2.8, CR 2.12).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cmld.h"
#include "store.h"
#include "xmalloc.h"

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

/* Writes one record; the caller is given by uid and pid. */
static void __attribute__((format(printf, 8, 0)))
audit_vwrite(struct cmld *cmld, const char *type, long long uid, long long pid,
    const char *container, const char *object, const char *result,
    const char *fmt, va_list ap)
{
	struct audit_record rec = { 0 };
	char *details, *cause = NULL;

	if (vasprintf(&details, fmt, ap) == -1)
		fatalx("out of memory");
	rec.time_ms = audit_now_ms();
	rec.type = type;
	rec.uid = uid;
	rec.pid = pid;
	rec.container = container;
	rec.object = object;
	rec.result = result;
	rec.details = details;
	if (store_audit_append(cmld->store, &rec, &cause) == -1) {
		log_warnx("cannot write audit record (%s %s %s): %s", type,
		    object, result, cause);
		free(cause);
	} else
		log_debug("audit #%lld: %s uid %lld pid %lld %s %s %s",
		    rec.seq, type, rec.uid, rec.pid, object, result, details);
	free(details);
}

void
audit_write(struct cmld *cmld, const char *type, const struct client *c,
    const char *object, const char *result, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	audit_vwrite(cmld, type, c != NULL ? (long long)c->uid : -1,
	    c != NULL ? (long long)c->pid : -1, NULL, object, result, fmt, ap);
	va_end(ap);
}

void
audit_write_as(struct cmld *cmld, const char *type, long long uid,
    long long pid, const char *container, const char *object,
    const char *result, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	audit_vwrite(cmld, type, uid, pid, container, object, result, fmt, ap);
	va_end(ap);
}

void
audit_container(struct cmld *cmld, const char *name, const char *result,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	audit_vwrite(cmld, "container", -1, -1, name, "container", result, fmt,
	    ap);
	va_end(ap);
}
