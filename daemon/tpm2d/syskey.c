/*
 * The system key (skeleton: not made yet).
 */
#include "config.h"

#include <string.h>

#include "tpm2d.h"
#include "xmalloc.h"

void
tpm2d_syskey_init(struct tpm2d *t)
{
	t->syskey_state = TPM2D_SYSKEY_ERROR;
	t->syskey_reason = xstrdup("not implemented yet");
}

void
tpm2d_syskey_free(struct tpm2d *t)
{
	explicit_bzero(t->syskey, sizeof t->syskey);
}

void
tpm2d_cmd_platform_secret(struct call *call)
{
	call_error(call, TPM2D_ERR_SYSKEY, NULL, "no system key");
}

void
tpm2d_cmd_reset_system_key(struct call *call)
{
	call_error(call, TPM2D_ERR_SYSKEY, NULL, "no system key");
}

void
tpm2d_cmd_check_system_key(struct call *call)
{
	call_error(call, TPM2D_ERR_SYSKEY, NULL, "no system key");
}
