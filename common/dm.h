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
/*
 * Asks device-mapper about the device name: 1 with *users its open count,
 * 0 when there is none, -1 with errno.
 */
int dm_status(const char *name, int *users);
/*
 * Removes the device name: at once when unused (no retries), or, deferred,
 * when its last opener closes it.  0, or -1 with errno.  Never waits.
 */
int dm_remove(const char *name, int deferred);
/*
 * Marks the device name for deferred removal: the kernel removes it when
 * its last opener closes it (at once when none has it open).  libcryptsetup's
 * deferred deactivation removes an integrity device underneath at once,
 * which fails while the device over it is open: callers mark each device
 * themselves, the upper one first.  0, or -1 with errno.
 */
int dm_defer(const char *name);
/*
 * Says whether device-mapper has the target type name registered (1) or
 * not (0); -1 when it cannot be asked.  (A target whose module is not
 * loaded yet is loaded when a table names it, where modprobe can.)
 */
int dm_target(const char *name);
/*
 * Clears what a daemon that ended left of the device name: removes it (and
 * its node in /dev/mapper, which nobody else removes without udev) when
 * nothing holds it; when something does, marks it to go once closed and
 * refuses.  0 (gone or never there), or -1 with *cause set.
 */
int dm_clear_leftover(const char *name, char **cause);

#endif
