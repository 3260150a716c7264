/*
 * cmld as the audit daemon (audit.c): every security-relevant event
 * becomes a record in the audit store, with who caused it (CR 2.12): the
 * uid and pid of the acting process, never -1.
 */
#ifndef CMLD_AUDIT_H
#define CMLD_AUDIT_H

#include <stddef.h>

struct cmld;

/*
 * Writes an audit record of what cmld does on its own (no caller): the
 * subject is cmld, its uid and pid; type says which kind of event.
 */
void audit_write(struct cmld *cmld, const char *type, const char *object,
    const char *result, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/*
 * Writes an audit record for a caller known by uid and pid (from
 * SO_PEERCRED), about container (NULL: none).
 */
void audit_write_as(struct cmld *cmld, const char *type, long long uid,
    long long pid, const char *container, const char *object,
    const char *result, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));
/*
 * Stores a record another daemon wrote before cmld could (tpm2d's spool):
 * with its original time (ms since the epoch; 0: now), and its writer as
 * the subject (uid and pid, from SO_PEERCRED).  Returns the record's seq
 * in the trail, or -1 if it could not be stored (logged).
 */
long long audit_write_from(struct cmld *cmld, long long time_ms,
    const char *type, long long uid, long long pid, const char *object,
    const char *result, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));
/*
 * Writes an audit record (type "container") about a container's own event
 * that cmld observes or acts on by itself (its end, autostart, a sweep):
 * the subject is cmld, its uid and pid; name says which container.
 */
void audit_container(struct cmld *cmld, const char *name, const char *result,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Formats milliseconds since the epoch as RFC 3339 UTC (buf >= 32 bytes). */
void audit_format_time(long long ms, char *buf, size_t len);
/* Returns the current UTC time in milliseconds. */
long long audit_now_ms(void);

#endif
