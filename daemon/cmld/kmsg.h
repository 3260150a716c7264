/*
 * The kernel-log watcher (kmsg.c): cmld reads /dev/kmsg from the moment
 * it starts and reports every integrity error that dm-crypt or
 * dm-integrity logs for a device-mapper device, so that a tampered or
 * failing encrypted volume is audited against its container.
 */
#ifndef CMLD_KMSG_H
#define CMLD_KMSG_H

#include <stddef.h>

struct loop;
struct kmsg;

/* Room for a device-mapper name (DM_NAME_LEN) and its NUL. */
#define KMSG_NAME_MAX 128
/* Room for the kernel's message text as passed on. */
#define KMSG_WHAT_MAX 256

/*
 * Called once per integrity error seen on a dm device: dm_name is the
 * device-mapper name ("cml-<32 hex>", "cml-<32 hex>_dif" or, for a guest
 * OS image checked by dm-verity, "cml-<32 hex>_v<image>"; the callee
 * maps it; it is the kernel name "dm-N" when the device was gone before
 * its name could be read), sector as the kernel says (-1 if none), what:
 * the kernel's message text (bounded, valid UTF-8, no control characters).
 */
typedef void (*kmsg_integrity_cb)(void *arg, const char *dm_name,
    long long sector, const char *what);

/*
 * Opens /dev/kmsg (non-blocking), seeks to its end (only what the kernel
 * logs from now on counts) and watches it in loop; NULL when it cannot
 * be opened (logged once; cmld goes on without it).
 */
struct kmsg *kmsg_open(struct loop *loop, kmsg_integrity_cb cb, void *arg);
/*
 * As kmsg_open, but watches fd (non-blocking, one record per read; it is
 * the watcher's from now on, closed on failure too) and maps kernel names
 * under sysfs_root; for tests.  NULL on failure.
 */
struct kmsg *kmsg_open_fd(struct loop *loop, int fd, const char *sysfs_root,
    kmsg_integrity_cb cb, void *arg);
/* Stops watching and closes the log; NULL does nothing. */
void kmsg_close(struct kmsg *km);

/*
 * Parses one /dev/kmsg record ("6,1234,5678,-;text\n KEY=V\n"): 1 when it
 * is an integrity error that the kernel (not a process writing to
 * /dev/kmsg) logged for a device, with *dm_name set to the device as the
 * kernel printed it (its kernel name "dm-N", a device-mapper name, or,
 * for dm-verity, the number "MAJ:MIN" of the device it checks),
 * *sector (-1 if none) and *what (the message text, control and non-ASCII
 * bytes replaced by '?', cut to what_len - 1 bytes); 0 for any other or
 * malformed record.
 */
int kmsg_parse(const char *rec, size_t len, char *dm_name, size_t dm_name_len,
    long long *sector, char *what, size_t what_len);
/*
 * Maps a kernel name "dm-N" to its device-mapper name by reading
 * SYSFS_ROOT/block/dm-N/dm/name (bounded); 0 with name set, -1 when kname
 * is no dm-N name or the name cannot be read or is not a plain name.
 */
int kmsg_dm_name(const char *sysfs_root, const char *kname, char *name,
    size_t name_len);

#endif
