/*
 * Container module: /proc and /sys.  proc is the container's own PID
 * namespace's, with the files that tell about or act on the host masked
 * (kcore, keys, timers...) or read-only (sys, sysrq-trigger...); sysfs is
 * read-only and shows the container's network namespace.  Both are
 * mounted before pivot_root, while the host's are fully visible: in a
 * user namespace the kernel refuses them later.
 */
#include "config.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/mount.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "container.h"

#define C_PROCFS_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC)

/* Files that read host state: /dev/null over them. */
static const char *const c_procfs_null[] = {
	"/proc/kcore",
	"/proc/keys",
	"/proc/timer_list",
	"/proc/sched_debug",
	"/proc/latency_stats",
};

/* Directories about host hardware: an empty read-only tmpfs over them. */
static const char *const c_procfs_empty[] = {
	"/proc/acpi",
	"/proc/scsi",
	"/proc/asound",
	"/sys/firmware",
};

/* Read-only: host-wide knobs (what the netns scopes stays readable). */
static const char *const c_procfs_ro_paths[] = {
	"/proc/sys",
	"/proc/sysrq-trigger",
	"/proc/irq",
	"/proc/bus",
	"/proc/fs",
};

#define C_PROCFS_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Whether path exists in the new root; the rest need not be masked. */
static int
c_procfs_exists(struct container *c, const char *path)
{
	int fd;

	if ((fd = container_mountpoint(c, path, CONTAINER_MP_LOOKUP)) == -1)
		return 0;
	close(fd);
	return 1;
}

/* Makes path a read-only bind mount of itself. */
static int
c_procfs_readonly(struct container *c, const char *path)
{
	struct mount_attr attr;
	int fd, tfd, rc = -1;

	if ((fd = container_mountpoint(c, path, CONTAINER_MP_LOOKUP)) == -1)
		return errno == ENOENT ? 0 : -1;
	tfd = (int)syscall(SYS_open_tree, fd, "", OPEN_TREE_CLONE |
	    OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
	if (tfd == -1)
		goto out;
	memset(&attr, 0, sizeof attr);
	attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
	    MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
	if (syscall(SYS_mount_setattr, tfd, "", AT_EMPTY_PATH | AT_RECURSIVE,
	    &attr, sizeof attr) == -1)
		goto out;
	rc = (int)syscall(SYS_move_mount, tfd, "", fd, "",
	    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
out:
	if (tfd != -1)
		close(tfd);
	close(fd);
	return rc;
}

static int
c_procfs_child(struct container *c)
{
	size_t i;

	if (container_mount(c, "proc", "/proc", "proc", C_PROCFS_FLAGS, NULL,
	    CONTAINER_MP_DIR) == -1)
		return container_child_fail(c, errno, "mount of /proc failed");
	if (container_mount(c, "sysfs", "/sys", "sysfs",
	    C_PROCFS_FLAGS | MS_RDONLY, NULL, CONTAINER_MP_DIR) == -1)
		return container_child_fail(c, errno, "mount of /sys failed");
	for (i = 0; i < C_PROCFS_LEN(c_procfs_null); i++) {
		if (!c_procfs_exists(c, c_procfs_null[i]))
			continue;
		if (container_mount(c, "/dev/null", c_procfs_null[i], NULL,
		    MS_BIND, NULL, CONTAINER_MP_LOOKUP) == -1)
			return container_child_fail(c, errno, "masking %s "
			    "failed", c_procfs_null[i]);
	}
	for (i = 0; i < C_PROCFS_LEN(c_procfs_empty); i++) {
		if (!c_procfs_exists(c, c_procfs_empty[i]))
			continue;
		if (container_mount(c, "tmpfs", c_procfs_empty[i], "tmpfs",
		    C_PROCFS_FLAGS | MS_RDONLY, "size=0,mode=0555",
		    CONTAINER_MP_LOOKUP) == -1)
			return container_child_fail(c, errno, "masking %s "
			    "failed", c_procfs_empty[i]);
	}
	for (i = 0; i < C_PROCFS_LEN(c_procfs_ro_paths); i++) {
		if (c_procfs_readonly(c, c_procfs_ro_paths[i]) == -1)
			return container_child_fail(c, errno, "making %s "
			    "read-only failed", c_procfs_ro_paths[i]);
	}
	return 0;
}

const struct container_module c_procfs_module = {
	.name = "procfs",
	.child = c_procfs_child,
};
