/*
 * Guest OS images checked block by block as they are read (c-verity.h):
 * the image's loop device mapped as a read-only dm-verity device whose
 * root hash, salt and data size come from the signed manifest, the hash
 * tree from the image file itself, after the file system.  Nothing of
 * the image is hashed before the start: the kernel checks each block
 * against the tree, and the tree against the signed root hash, when the
 * block is read, and a block that does not match fails its read (EIO).
 * What is mounted is thus what was signed, whatever happens to the file
 * after install, without the start's time growing with the image's size.
 *
 * libcryptsetup sets the device up from parameters alone (no verity
 * superblock is read: an unsigned superblock could say other parameters
 * than the manifest).  The device is marked for deferred removal once it
 * is mounted: it goes by itself with the container's mounts, and the loop
 * device under it (autoclear) after it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libcryptsetup.h>

#include "c-luks.h"
#include "c-verity.h"
#include "crypto.h"
#include "dm.h"
#include "log.h"
#include "xmalloc.h"

int
cverity_available(char **why)
{
	int t;

	*why = NULL;
	if (!dm_present()) {
		*why = xstrdup("this kernel has no device-mapper");
		return 0;
	}
	if ((t = dm_target("verity")) == 1)
		return 1;
	*why = t == 0 ? xstrdup("this kernel has no dm-verity target "
	    "(module dm-verity not loaded)") : xasprintf("cannot ask "
	    "device-mapper for its targets: %s", strerror(errno));
	return 0;
}

int
cverity_open(const char *dmname, const char *dev,
    const struct guestos_verity *vy, char **cause)
{
	struct crypt_params_verity p;
	struct crypt_device *cd = NULL;
	unsigned char root[32], salt[GUESTOS_VERITY_SALT_MAX / 2];
	int r, saltlen;

	if (crypto_unhex(vy->root_hash, root, sizeof root) != sizeof root ||
	    (saltlen = vy->salt[0] == '\0' ? 0 : crypto_unhex(vy->salt, salt,
	    sizeof salt)) == -1) {
		*cause = xstrdup("its verity root hash or salt is no hex");
		return -1;
	}
	memset(&p, 0, sizeof p);
	p.hash_name = "sha256";
	p.data_device = dev;
	p.hash_device = dev;
	p.salt = (const char *)salt;
	p.salt_size = (uint32_t)saltlen;
	p.hash_type = 1;
	p.data_block_size = GUESTOS_VERITY_BLOCK;
	p.hash_block_size = GUESTOS_VERITY_BLOCK;
	p.data_size = (uint64_t)vy->data_size / GUESTOS_VERITY_BLOCK;
	p.hash_area_offset = (uint64_t)vy->data_size;
	/* the parameters alone: nothing is read from or written to dev */
	p.flags = CRYPT_VERITY_NO_HEADER;

	/* one left by a cmld that ended while a start was under way */
	if (dm_clear_leftover(dmname, cause) == -1)
		return -1;
	crypt_set_log_callback(NULL, cluks_log, NULL);
	if ((r = crypt_init_data_device(&cd, dev, dev)) < 0) {
		*cause = xasprintf("cannot use %s for dm-verity: %s", dev,
		    strerror(-r));
		return -1;
	}
	crypt_set_log_callback(cd, cluks_log, NULL);
	if ((r = crypt_format(cd, CRYPT_VERITY, NULL, NULL, NULL, NULL, 0,
	    &p)) < 0) {
		*cause = xasprintf("cannot set up dm-verity over %s: %s", dev,
		    strerror(-r));
		goto fail;
	}
	if ((r = crypt_activate_by_volume_key(cd, dmname, (const char *)root,
	    sizeof root, CRYPT_ACTIVATE_READONLY)) < 0) {
		*cause = xasprintf("cannot open the dm-verity device %s over "
		    "%s: %s", dmname, dev, strerror(-r));
		goto fail;
	}
	crypt_free(cd);
	return 0;
fail:
	crypt_free(cd);
	return -1;
}

void
cverity_close(const char *dmname)
{
	int users;

	if (dm_status(dmname, &users) != 1)
		return;
	/* deferred: it goes once whatever still holds it closes it */
	if (dm_remove(dmname, users > 0) == -1)
		log_warn("cannot remove the dm-verity device %s", dmname);
}
