/*
 * The methods that describe tpm2d itself: org.cml.TPM.Status and
 * varlink's introspection (GetInfo, GetInterfaceDescription); the TPM's
 * properties; and its audit spool (server/spool.c) with TakeAudit.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>

#include "daemon.h"
#include "log.h"
#include "proto.h"
#include "spool.h"
#include "context.h"
#include "tpm2d-interfaces.h"

/* Returns the JSON array of a PCR list. */
static struct json_object *
tpm2d_pcr_array(const int *pcrs, size_t n)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_int(pcrs[i]));
	return a;
}

static const char *
tpm2d_syskey_name(int state)
{
	switch (state) {
	case TPM2D_SYSKEY_UNSEALED:
		return "unsealed";
	case TPM2D_SYSKEY_REFUSED:
		return "refused";
	case TPM2D_SYSKEY_ABSENT:
		return "absent";
	default:
		return "error";
	}
}

void
tpm2d_cmd_status(struct call *call)
{
	struct tpm2d *t = call_tpm2d(call);
	struct json_object *p;

	p = json_object_new_object();
	json_object_object_add(p, "tcti", json_object_new_string(t->tcti));
	json_object_object_add(p, "manufacturer",
	    json_object_new_string(t->manufacturer));
	json_object_object_add(p, "firmware",
	    json_object_new_string(t->firmware));
	json_object_object_add(p, "system_key",
	    json_object_new_string(tpm2d_syskey_name(t->syskey_state)));
	json_object_object_add(p, "reason", t->syskey_reason != NULL ?
	    json_object_new_string(t->syskey_reason) : NULL);
	/* what the key on disk is sealed to; else what a new one will be */
	if (t->nsealed_pcrs > 0)
		json_object_object_add(p, "seal_pcrs",
		    tpm2d_pcr_array(t->sealed_pcrs, t->nsealed_pcrs));
	else
		json_object_object_add(p, "seal_pcrs",
		    tpm2d_pcr_array(t->seal_pcrs, t->nseal_pcrs));
	json_object_object_add(p, "measure_pcr",
	    json_object_new_int(t->measure_pcr));
	json_object_object_add(p, "identity", json_object_new_string(
	    t->identity_state != NULL ? t->identity_state : "absent"));
	json_object_object_add(p, "identity_handle",
	    json_object_new_int64(t->identity_handle));
	json_object_object_add(p, "state_volume",
	    json_object_new_string(t->state_volume));
	json_object_object_add(p, "state_volume_reason",
	    t->state_volume_reason != NULL ?
	    json_object_new_string(t->state_volume_reason) : NULL);
	call_reply(call, p);
}

static const struct daemon_info tpm2d_info = {
	.product = "tpm2d",
	.interfaces = tpm2d_interfaces,
	.ninterfaces = &tpm2d_interfaces_len,
	.find = tpm2d_interface_find,
	.unknown = " in tpm2d",
};

void
tpm2d_cmd_get_info(struct call *call)
{
	daemon_get_info(call, &tpm2d_info);
}

void
tpm2d_cmd_get_interface_description(struct call *call)
{
	daemon_get_interface_description(call, &tpm2d_info);
}

void
tpm2d_spool_init(struct tpm2d *t)
{
	t->spool = spool_new();
}

void
tpm2d_spool_free(struct tpm2d *t)
{
	spool_free(t->spool);
	t->spool = NULL;
}

void
tpm2d_audit(struct tpm2d *t, const char *type, const char *object,
    const char *result, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	spool_vadd(t->spool, type, object, result, fmt, ap);
	va_end(ap);
}

struct json_object *
tpm2d_spool_take(struct tpm2d *t, long long ack, size_t *taken,
    size_t *held)
{
	return spool_take(t->spool, ack, taken, held);
}

void
tpm2d_cmd_take_audit(struct call *call)
{
	spool_take_audit(call_tpm2d(call)->spool, call);
}
