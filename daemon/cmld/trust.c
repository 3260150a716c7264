/*
 * The trust store: the anchors of the state store, rebuilt whenever they
 * change, against which every signature is verified (OS 03, NDR 3.13);
 * all but the device CA (kind "device"), which certifies device keys.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "ctx.h"
#include "log.h"
#include "store.h"
#include "trust.h"

/* Adds one stored anchor to the trust store being built. */
static int
trust_reload_cb(const struct store_anchor *a, void *arg)
{
	struct crypto_trust *trust = arg;
	char *cause = NULL;

	/* The device CA certifies device keys only, never software. */
	if (strcmp(a->kind, "device") == 0)
		return 0;
	if (crypto_trust_add_der(trust, a->der, a->der_len, &cause) == -1) {
		log_warnx("trust anchor %s (%s) is unusable: %s",
		    a->fingerprint, a->subject, cause);
		free(cause);
	}
	return 0;
}

int
trust_reload(struct cmld *cmld, char **cause)
{
	struct crypto_trust *trust = crypto_trust_new();

	if (store_anchor_list(cmld->store, trust_reload_cb, trust,
	    cause) == -1) {
		crypto_trust_free(trust);
		return -1;
	}
	crypto_trust_free(cmld->trust);
	cmld->trust = trust;
	/* what was verified against the old anchors is verified again */
	cmld->trust_gen++;
	return 0;
}
