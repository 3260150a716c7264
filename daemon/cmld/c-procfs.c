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

/*
 * The directory of path ("/proc" or "/sys") in the new root, opened once
 * for all the paths below it: procfd or sysfd.
 */
static int
c_procfs_dir(const char *path, int procfd, int sysfd)
{
	return strncmp(path, "/proc/", 6) == 0 ? procfd : sysfd;
}

/*
 * Masks path (below dirfd, which is /proc or /sys) with source: a path
 * that is not there needs no mask.  -1 with errno set when the mount
 * failed.
 */
static int
c_procfs_mask(struct container *c, int dirfd, const char *path,
    const char *source, const char *fstype, unsigned long flags,
    const char *data)
{
	int fd, rc, saved;

	if ((fd = container_mountpoint_at(c, dirfd, strchr(path + 1, '/') + 1,
	    CONTAINER_MP_LOOKUP)) == -1)
		return 0;
	rc = container_mount_fd(fd, source, fstype, flags, data);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* Makes path (below dirfd, /proc) a read-only bind mount of itself. */
static int
c_procfs_readonly(struct container *c, int dirfd, const char *path)
{
	struct mount_attr attr;
	int fd, tfd, rc = -1;

	if ((fd = container_mountpoint_at(c, dirfd, strchr(path + 1, '/') + 1,
	    CONTAINER_MP_LOOKUP)) == -1)
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
	int procfd = -1, sysfd = -1, rc = -1;

	if (container_mount(c, "proc", "/proc", "proc", C_PROCFS_FLAGS, NULL,
	    CONTAINER_MP_DIR) == -1)
		return container_child_fail(c, errno, "mount of /proc failed");
	if (container_mount(c, "sysfs", "/sys", "sysfs",
	    C_PROCFS_FLAGS | MS_RDONLY, NULL, CONTAINER_MP_DIR) == -1)
		return container_child_fail(c, errno, "mount of /sys failed");
	/* The fresh mounts, each looked up once for what is masked in it. */
	if ((procfd = container_mountpoint(c, "/proc",
	    CONTAINER_MP_LOOKUP)) == -1 || (sysfd = container_mountpoint(c,
	    "/sys", CONTAINER_MP_LOOKUP)) == -1) {
		container_child_fail(c, errno, "cannot open the new /proc or "
		    "/sys");
		goto out;
	}
	for (i = 0; i < C_PROCFS_LEN(c_procfs_null); i++) {
		if (c_procfs_mask(c, c_procfs_dir(c_procfs_null[i], procfd,
		    sysfd), c_procfs_null[i], "/dev/null", NULL, MS_BIND,
		    NULL) == -1) {
			container_child_fail(c, errno, "masking %s failed",
			    c_procfs_null[i]);
			goto out;
		}
	}
	for (i = 0; i < C_PROCFS_LEN(c_procfs_empty); i++) {
		if (c_procfs_mask(c, c_procfs_dir(c_procfs_empty[i], procfd,
		    sysfd), c_procfs_empty[i], "tmpfs", "tmpfs",
		    C_PROCFS_FLAGS | MS_RDONLY, "size=0,mode=0555") == -1) {
			container_child_fail(c, errno, "masking %s failed",
			    c_procfs_empty[i]);
			goto out;
		}
	}
	for (i = 0; i < C_PROCFS_LEN(c_procfs_ro_paths); i++) {
		if (c_procfs_readonly(c, c_procfs_dir(c_procfs_ro_paths[i],
		    procfd, sysfd), c_procfs_ro_paths[i]) == -1) {
			container_child_fail(c, errno, "making %s read-only "
			    "failed", c_procfs_ro_paths[i]);
			goto out;
		}
	}
	rc = 0;
out:
	if (procfd != -1)
		close(procfd);
	if (sysfd != -1)
		close(sysfd);
	return rc;
}

const struct container_module c_procfs_module = {
	.name = "procfs",
	.child = c_procfs_child,
};
