/*
 * Guest OS images checked by dm-verity as they are read (c-verity.c).
 */
#ifndef CMLD_C_VERITY_H
#define CMLD_C_VERITY_H

#include "guestos.h"

/*
 * Says whether this kernel can check images with dm-verity (1), or not (0,
 * with *why set: free it), in which case every image is hashed in full
 * before every start.
 */
int cverity_available(char **why);
/*
 * Maps the block device dev (an image's read-only loop device) as the
 * read-only dm-verity device dmname with the signed parameters vy: the
 * hash tree at vy->data_size of dev, the file system before it.  -1 with
 * *cause set (no device is left).
 */
int cverity_open(const char *dmname, const char *dev,
    const struct guestos_verity *vy, char **cause);
/*
 * Removes the dm-verity device dmname: at once when nothing holds it,
 * else when its last opener closes it.  Nothing when it is not there.
 */
void cverity_close(const char *dmname);

#endif
