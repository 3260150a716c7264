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

/* The trust stores being built: all software anchors, and each kind. */
struct trust_build {
	struct crypto_trust *all;
	struct crypto_trust *supplier;
	struct crypto_trust *owner;
};

/* Adds one stored anchor to the trust stores being built. */
static int
trust_reload_cb(const struct store_anchor *a, void *arg)
{
	struct trust_build *b = arg;
	struct crypto_trust *kind;
	char *cause = NULL;

	/* The device CA certifies device keys only, never software. */
	if (strcmp(a->kind, "device") == 0)
		return 0;
	kind = strcmp(a->kind, "supplier") == 0 ? b->supplier : b->owner;
	if (crypto_trust_add_der(b->all, a->der, a->der_len, &cause) == -1 ||
	    crypto_trust_add_der(kind, a->der, a->der_len, &cause) == -1) {
		log_warnx("trust anchor %s (%s) is unusable: %s",
		    a->fingerprint, a->subject, cause);
		free(cause);
	}
	return 0;
}

int
trust_reload(struct cmld *cmld, char **cause)
{
	struct trust_build b;

	b.all = crypto_trust_new();
	b.supplier = crypto_trust_new();
	b.owner = crypto_trust_new();
	if (store_anchor_list(cmld->store, trust_reload_cb, &b, cause) == -1) {
		crypto_trust_free(b.all);
		crypto_trust_free(b.supplier);
		crypto_trust_free(b.owner);
		return -1;
	}
	trust_free(cmld);
	cmld->trust = b.all;
	cmld->trust_supplier = b.supplier;
	cmld->trust_owner = b.owner;
	/* what was verified against the old anchors is verified again */
	cmld->trust_gen++;
	return 0;
}

void
trust_free(struct cmld *cmld)
{
	crypto_trust_free(cmld->trust);
	crypto_trust_free(cmld->trust_supplier);
	crypto_trust_free(cmld->trust_owner);
	cmld->trust = cmld->trust_supplier = cmld->trust_owner = NULL;
}
