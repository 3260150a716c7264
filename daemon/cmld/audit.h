/*
 * cmld as the audit daemon (audit.c): every security-relevant event
 * becomes a record in the audit store, with who caused it.
 */
#ifndef CMLD_AUDIT_H
#define CMLD_AUDIT_H

#include <stddef.h>

struct cmld;

/* Writes an audit record of the daemon's own (no caller). */
void audit_write(struct cmld *cmld, const char *type, const char *object,
    const char *result, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/*
 * Writes an audit record for a caller known by uid and pid (-1: none),
 * about container (NULL: none).
 */
void audit_write_as(struct cmld *cmld, const char *type, long long uid,
    long long pid, const char *container, const char *object,
    const char *result, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));
/* Writes an audit record about a container's own event (its end, ...). */
void audit_container(struct cmld *cmld, const char *name, const char *result,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Formats milliseconds since the epoch as RFC 3339 UTC (buf >= 32 bytes). */
void audit_format_time(long long ms, char *buf, size_t len);
/* Returns the current UTC time in milliseconds. */
long long audit_now_ms(void);

#endif
