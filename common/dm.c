/*
 * Device-mapper presence (dm.h).
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/stat.h>

#include <linux/dm-ioctl.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm.h"
#include "log.h"
#include "xmalloc.h"

/* The device-mapper interface minor version cml asks for. */
#define DM_IOCTL_MINOR 27

int
dm_present(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int dm = 0, fd;

	if ((fd = open(DM_CONTROL, O_RDWR | O_CLOEXEC)) != -1) {
		close(fd);
		return 1;
	}
	if ((f = fopen("/proc/misc", "re")) != NULL) {
		while (getline(&buf, &len, f) != -1)
			if (strstr(buf, " device-mapper") != NULL)
				dm = 1;
		free(buf);
		fclose(f);
	}
	return dm;
}

int
dm_node_exists(void)
{
	return access(DM_CONTROL, F_OK) == 0;
}

void
dm_unlitter(int had_node)
{
	if (had_node || dm_present())
		return;
	if (unlink(DM_CONTROL) == 0)
		(void)rmdir("/dev/mapper");
}

int
sysblock_find(const char *prefix, const char *attr, const char *value)
{
	char path[PATH_MAX], buf[PATH_MAX + 2];
	struct dirent *de;
	size_t plen = strlen(prefix);
	ssize_t n;
	DIR *d;
	int fd, found = -1;

	if ((d = opendir("/sys/block")) == NULL)
		return -1;
	while (found == -1 && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, plen) != 0 ||
		    de->d_name[plen] < '0' || de->d_name[plen] > '9')
			continue;
		snprintf(path, sizeof path, "/sys/block/%s/%s", de->d_name,
		    attr);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		if (strcmp(buf, value) == 0)
			found = atoi(de->d_name + plen);
	}
	closedir(d);
	return found;
}

/*
 * Sends the device-mapper command cmd for the device name, with flags,
 * into *io: the ioctl's result (-1 with errno).  Never waits.
 */
static int
dm_ioctl_name(unsigned long cmd, const char *name, uint32_t flags,
    struct dm_ioctl *io)
{
	int fd, rc;

	if ((fd = open(DM_CONTROL, O_RDWR | O_CLOEXEC)) == -1)
		return -1;
	memset(io, 0, sizeof *io);
	io->version[0] = DM_VERSION_MAJOR;
	io->version[1] = DM_IOCTL_MINOR;
	io->data_size = sizeof *io;
	io->data_start = sizeof *io;
	io->flags = flags;
	snprintf(io->name, sizeof io->name, "%s", name);
	rc = ioctl(fd, cmd, io);
	close(fd);
	return rc;
}

int
dm_status(const char *name, int *users)
{
	struct dm_ioctl io;

	if (dm_ioctl_name(DM_DEV_STATUS, name, 0, &io) == -1)
		return errno == ENXIO ? 0 : -1;
	*users = io.open_count;
	return 1;
}

int
dm_remove(const char *name, int deferred)
{
	struct dm_ioctl io;

	return dm_ioctl_name(DM_DEV_REMOVE, name, deferred ?
	    DM_DEFERRED_REMOVE : 0, &io) == -1 ? -1 : 0;
}

int
dm_defer(const char *name)
{
	return dm_remove(name, 1);
}

int
dm_target(const char *name)
{
	struct dm_target_versions *tv;
	struct dm_ioctl *io;
	size_t size = 16384;
	uint32_t off;
	int fd, rc, found = 0;

	if ((fd = open(DM_CONTROL, O_RDWR | O_CLOEXEC)) == -1)
		return -1;
	io = xcalloc(1, size);
	io->version[0] = DM_VERSION_MAJOR;
	io->version[1] = DM_IOCTL_MINOR;
	io->data_size = (uint32_t)size;
	io->data_start = sizeof *io;
	rc = ioctl(fd, DM_LIST_VERSIONS, io);
	close(fd);
	if (rc == -1 || (io->flags & DM_BUFFER_FULL_FLAG)) {
		free(io);
		return -1;
	}
	for (off = io->data_start; off + sizeof *tv < size;) {
		tv = (struct dm_target_versions *)((char *)io + off);
		if (strnlen(tv->name, size - off - sizeof *tv) <
		    size - off - sizeof *tv && strcmp(tv->name, name) == 0)
			found = 1;
		if (tv->next == 0)
			break;
		off += tv->next;
	}
	free(io);
	return found;
}

int
dm_clear_leftover(const char *name, char **cause)
{
	char node[160];
	struct stat sb;
	int users = 0, rc;

	if ((rc = dm_status(name, &users)) == 1 && users > 0) {
		/* in use: it goes by itself once closed */
		(void)dm_defer(name);
		xcause(cause, "the device-mapper device %s is still open (%d "
		    "users); marked to go when the last closes it", name,
		    users);
		return -1;
	}
	if (rc == 1 && dm_remove(name, 0) == -1) {
		xcause(cause, "the device-mapper device %s is left and cannot "
		    "be removed: %s", name, strerror(errno));
		return -1;
	}
	if (rc == 1)
		log_debug("removed the unused device-mapper device %s", name);
	/*
	 * Gone now (device-mapper says so: sysfs may lag): without udev
	 * nobody removes its node.
	 */
	snprintf(node, sizeof node, "/dev/mapper/%s", name);
	if (rc != -1 && lstat(node, &sb) == 0 && S_ISBLK(sb.st_mode))
		(void)unlink(node);
	return 0;
}
