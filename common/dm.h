/*
 * Device-mapper presence, for tpm2d's state volume and cmld's encrypted
 * data volumes: whether the kernel offers it, and the control node that
 * libdevmapper makes even where it does not, removed again so that
 * nothing looks as if this kernel had device-mapper.
 */
#ifndef CML_DM_H
#define CML_DM_H

/* The control node libdevmapper opens (and makes when missing). */
#define DM_CONTROL "/dev/mapper/control"

/*
 * Says whether the kernel offers device-mapper (1) or not (0): its control
 * node opens (a node can exist without the driver: libdevmapper makes
 * it), or /proc/misc lists it (libdevmapper makes the node then).
 */
int dm_present(void);
/* Says whether the control node exists (1) or not (0), driver or none. */
int dm_node_exists(void);
/*
 * Removes a control node (and /dev/mapper) that libdevmapper made on a
 * kernel without device-mapper; had_node: dm_node_exists() from before
 * libcryptsetup was asked anything (a node that was there stays).
 */
void dm_unlitter(int had_node);
/*
 * Finds the block device /sys/block/PREFIXN whose attribute attr (a path
 * below it: "dm/name", "loop/backing_file") reads value (its first line):
 * returns N, or -1 when there is none.
 */
int sysblock_find(const char *prefix, const char *attr, const char *value);

#endif
