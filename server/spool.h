/*
 * The audit spool of a stage daemon (tpm2d, scd): the records it writes
 * before cmld can store them (a refusal at start happens before cmld has
 * opened its database).  A bounded ring: when it is full the oldest
 * record goes and is counted; cmld takes the records with TakeAudit,
 * acknowledging those it stored.  Every record is also logged.
 */
#ifndef CML_SPOOL_H
#define CML_SPOOL_H

#include <stdarg.h>
#include <stddef.h>

#include <json-c/json.h>

#include "server.h"

struct spool;

/* Makes an empty spool; its first record has seq 1. */
struct spool *spool_new(void);
/* Frees a spool and its records; NULL does nothing. */
void spool_free(struct spool *s);
/*
 * Writes a record to the log and into the spool, with the time now; the
 * texts are cut and made printable.  Never give it a secret.
 */
void spool_add(struct spool *s, const char *type, const char *object,
    const char *result, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void spool_vadd(struct spool *s, const char *type, const char *object,
    const char *result, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
/*
 * Drops the records up to ack and returns TakeAudit's reply: the oldest of
 * the rest, as many as fit in one reply (*taken of the *held).
 */
struct json_object *spool_take(struct spool *s, long long ack,
    size_t *taken, size_t *held);
/* Answers a TakeAudit call (its optional "ack") from the spool. */
void spool_take_audit(struct spool *s, struct call *call);

#endif
