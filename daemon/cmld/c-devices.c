/*
 * Container module: device access.  Two fences: the device cgroup denies
 * every device but the allow list (the defaults, then the config's
 * rules), and the container's /dev is a fresh tmpfs holding only the
 * allowed nodes (copies of the host's, or bind mounts of them where mknod
 * is impossible or not granted), a new devpts instance and /dev/shm.
 *
 * On cgroup v2 the device cgroup is a BPF program made from the same
 * rules (c-devbpf.c), attached to the group before init joins it.
 */
#include "config.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include <linux/mount.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container.h"
#include "log.h"
#include "xmalloc.h"

/* The pty devices, which devpts provides rather than a bound node. */
#define C_DEVICES_PTMX_MAJOR 5
#define C_DEVICES_PTMX_MINOR 2
#define C_DEVICES_PTS_MAJOR 136

/* Whether any rule is of type 'a' (c0 may get every device). */
static int
c_devices_all(const struct container *c)
{
	size_t i;

	for (i = 0; i < c->ndevices; i++) {
		if (c->devices[i].type == 'a')
			return 1;
	}
	return 0;
}

/* Formats a rule for the v1 device cgroup: "c 1:3 rwm", "c 136:* rwm". */
static void
c_devices_rule(const struct container_device *d, char *buf, size_t size)
{
	char major[24], minor[24];

	if (d->type == 'a') {
		snprintf(buf, size, "a *:* %s", d->access);
		return;
	}
	if (d->major < 0)
		snprintf(major, sizeof major, "*");
	else
		snprintf(major, sizeof major, "%lld", d->major);
	if (d->minor < 0)
		snprintf(minor, sizeof minor, "*");
	else
		snprintf(minor, sizeof minor, "%lld", d->minor);
	snprintf(buf, size, "%c %s:%s %s", d->type, major, minor, d->access);
}

/* Whether a rule lets the container create the node (access 'm'). */
static int
c_devices_may_mknod(const struct container *c, char type, unsigned int major,
    unsigned int minor)
{
	const struct container_device *d;
	size_t i;

	for (i = 0; i < c->ndevices; i++) {
		d = &c->devices[i];
		if (strchr(d->access, 'm') == NULL)
			continue;
		if (d->type == 'a' || (d->type == type &&
		    (d->major < 0 || d->major == (long long)major) &&
		    (d->minor < 0 || d->minor == (long long)minor)))
			return 1;
	}
	return 0;
}

/* Adds the host node of type/major/minor, when /sys knows one. */
static void
c_devices_add_node(struct container *c, char type, unsigned int major,
    unsigned int minor)
{
	struct container_node *node;
	struct stat sb;
	char path[PATH_MAX], line[PATH_MAX], *name = NULL;
	FILE *f;
	size_t i;

	snprintf(path, sizeof path, "/sys/dev/%s/%u:%u/uevent",
	    type == 'b' ? "block" : "char", major, minor);
	if ((f = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "DEVNAME=", 8) == 0) {
			line[strcspn(line, "\n")] = '\0';
			name = xstrdup(line + 8);
			break;
		}
	}
	fclose(f);
	if (name == NULL || strstr(name, "..") != NULL || name[0] == '/')
		goto skip;
	for (i = 0; i < c->nnodes; i++) {
		if (strcmp(c->nodes[i].name, name) == 0)
			goto skip;
	}
	snprintf(path, sizeof path, "/dev/%s", name);
	if (stat(path, &sb) == -1 ||
	    (type == 'b' ? !S_ISBLK(sb.st_mode) : !S_ISCHR(sb.st_mode)) ||
	    major(sb.st_rdev) != major || minor(sb.st_rdev) != minor) {
		log_debug("container %s: %c %u:%u is allowed but %s is not "
		    "that node", c->name, type, major, minor, path);
		goto skip;
	}
	c->nodes = xreallocarray(c->nodes, c->nnodes + 1, sizeof *c->nodes);
	node = &c->nodes[c->nnodes++];
	node->host = xstrdup(path);
	node->name = name;
	node->mode = sb.st_mode & (S_IFMT | 07777);
	node->rdev = sb.st_rdev;
	node->uid = sb.st_uid;
	node->gid = sb.st_gid;
	node->mknod = c_devices_may_mknod(c, type, major, minor);
	return;
skip:
	free(name);
}

/* Adds every host node of a rule with a wildcard minor (or major). */
static void
c_devices_add_range(struct container *c, const struct container_device *d)
{
	struct dirent *de;
	unsigned int major, minor;
	DIR *dir;

	if ((dir = opendir(d->type == 'b' ? "/sys/dev/block" :
	    "/sys/dev/char")) == NULL)
		return;
	while ((de = readdir(dir)) != NULL) {
		if (sscanf(de->d_name, "%u:%u", &major, &minor) != 2)
			continue;
		if ((d->major < 0 || (long long)major == d->major) &&
		    (d->minor < 0 || (long long)minor == d->minor))
			c_devices_add_node(c, d->type, major, minor);
	}
	closedir(dir);
}

/* Lists the host nodes the container's /dev gets. */
static void
c_devices_nodes(struct container *c)
{
	const struct container_device *d;
	size_t i;

	for (i = 0; i < c->ndevices; i++) {
		d = &c->devices[i];
		if (d->type == 'a')
			continue;
		/* devpts gives ptmx and every pts of its own. */
		if (d->major == C_DEVICES_PTS_MAJOR || (d->major ==
		    C_DEVICES_PTMX_MAJOR && d->minor == C_DEVICES_PTMX_MINOR))
			continue;
		if (d->major >= 0 && d->minor >= 0)
			c_devices_add_node(c, d->type, (unsigned int)d->major,
			    (unsigned int)d->minor);
		else
			c_devices_add_range(c, d);
	}
}

static int
c_devices_prepare(struct container *c, char **cause)
{
	c_devices_nodes(c);
	return 0;
}

/* The device cgroup's rules, written while init sets itself up. */
static int
c_devices_started(struct container *c, char **cause)
{
	char rule[64], *path;
	size_t i;
	int rc = 0;

	if (c->cgroup_v2)
		return c_devices_bpf_attach(c, c->cgroup2, cause);
	path = xasprintf("%s/devices.deny", c->cgroup[CONTAINER_CG_DEVICES]);
	if (container_write_file(path, "a") == -1) {
		*cause = xasprintf("setting %s to 'a' failed: %s", path,
		    strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	path = xasprintf("%s/devices.allow", c->cgroup[CONTAINER_CG_DEVICES]);
	for (i = 0; i < c->ndevices; i++) {
		c_devices_rule(&c->devices[i], rule, sizeof rule);
		if (container_write_file(path, rule) == -1) {
			*cause = xasprintf("setting %s to '%s' failed: %s",
			    path, rule, strerror(errno));
			rc = -1;
			break;
		}
	}
	free(path);
	return rc;
}

/*
 * Makes a node in the new /dev (devfd): a copy of the host's (mknod, its
 * mode as it is: the caller's umask is 0), or a bind mount of it where
 * mknod is impossible (a user namespace) or forbidden (no rule grants
 * 'm': the device cgroup, which init may have joined already, would
 * refuse it).
 */
static int
c_devices_node(struct container *c, int devfd,
    const struct container_node *node)
{
	char path[PATH_MAX];
	const char *base;
	int fd, rc, saved;

	if (c->userns || !node->mknod) {
		if (container_mount_at(c, devfd, node->host, node->name, NULL,
		    MS_BIND, NULL, CONTAINER_MP_FILE) == -1)
			return container_child_fail(c, errno, "bind mount of "
			    "device %s failed", node->host);
		return 0;
	}
	/* The parents (for "snd/pcmC0D0p"), then the node itself. */
	fd = devfd;
	base = node->name;
	if (strrchr(node->name, '/') != NULL) {
		snprintf(path, sizeof path, "%s", node->name);
		*strrchr(path, '/') = '\0';
		if ((fd = container_mountpoint_at(c, devfd, path,
		    CONTAINER_MP_DIR)) == -1)
			return container_child_fail(c, errno, "cannot create "
			    "/dev/%s", path);
		base = strrchr(node->name, '/') + 1;
	}
	rc = mknodat(fd, base, node->mode, node->rdev);
	if (rc == 0 && (node->uid != 0 || node->gid != 0))
		rc = fchownat(fd, base, node->uid, node->gid,
		    AT_SYMLINK_NOFOLLOW);
	saved = errno;
	if (fd != devfd)
		close(fd);
	if (rc == -1)
		return container_child_fail(c, saved, "mknod of /dev/%s failed",
		    node->name);
	return 0;
}

/* A symbolic link in the new /dev (a fresh tmpfs: no links to follow). */
static int
c_devices_symlink(struct container *c, int devfd, const char *target,
    const char *name)
{
	if (symlinkat(target, devfd, name) == -1 && errno != EEXIST)
		return container_child_fail(c, errno, "cannot create /dev/%s",
		    name);
	return 0;
}

static int
c_devices_child(struct container *c)
{
	static const char *const links[][2] = {
		{ "/proc/self/fd", "fd" },
		{ "/proc/self/fd/0", "stdin" },
		{ "/proc/self/fd/1", "stdout" },
		{ "/proc/self/fd/2", "stderr" },
	};
	char data[64];
	size_t i;
	mode_t um;
	int tfd, devfd, rc = -1;

	if (c_devices_all(c)) {
		/* Every device: the host's /dev, with a devpts of its own. */
		tfd = (int)syscall(SYS_open_tree, AT_FDCWD, "/dev",
		    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
		if (tfd == -1 ||
		    container_attach(c, tfd, "/dev", CONTAINER_MP_DIR) == -1)
			return container_child_fail(c, errno, "bind mount of "
			    "the host's /dev failed");
		close(tfd);
	} else if (container_mount(c, "tmpfs", "/dev", "tmpfs",
	    MS_NOSUID | MS_NOEXEC, "mode=0755,size=256k",
	    CONTAINER_MP_DIR) == -1)
		return container_child_fail(c, errno, "mount of /dev (tmpfs) "
		    "failed");
	/* The new /dev, looked up once: all that follows is made in it. */
	if ((devfd = container_mountpoint(c, "/dev",
	    CONTAINER_MP_LOOKUP)) == -1)
		return container_child_fail(c, errno, "cannot open the new "
		    "/dev");
	/* The nodes' modes as on the host, with no chmod after each. */
	um = umask(0);
	for (i = 0; i < c->nnodes && !c_devices_all(c); i++) {
		if (c_devices_node(c, devfd, &c->nodes[i]) == -1) {
			umask(um);
			goto out;
		}
	}
	umask(um);
	if (container_mount_at(c, devfd, "devpts", "pts", "devpts",
	    MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5",
	    CONTAINER_MP_DIR) == -1) {
		container_child_fail(c, errno, "mount of /dev/pts (devpts) "
		    "failed");
		goto out;
	}
	/* With the host's nodes, its ptmx finds the pts beside it. */
	if (!c_devices_all(c) && c_devices_symlink(c, devfd, "pts/ptmx",
	    "ptmx") == -1)
		goto out;
	snprintf(data, sizeof data, "mode=1777,size=%lldk",
	    c->memory_limit / 1024);
	if (container_mount_at(c, devfd, "tmpfs", "shm", "tmpfs",
	    MS_NOSUID | MS_NODEV | MS_NOEXEC, data, CONTAINER_MP_DIR) == -1) {
		container_child_fail(c, errno, "mount of /dev/shm (tmpfs) "
		    "failed");
		goto out;
	}
	for (i = 0; i < sizeof links / sizeof links[0] &&
	    !c_devices_all(c); i++) {
		if (c_devices_symlink(c, devfd, links[i][0], links[i][1]) == -1)
			goto out;
	}
	rc = 0;
out:
	close(devfd);
	return rc;
}

static void
c_devices_cleanup(struct container *c)
{
	size_t i;

	for (i = 0; i < c->nnodes; i++) {
		free(c->nodes[i].host);
		free(c->nodes[i].name);
	}
	free(c->nodes);
	c->nodes = NULL;
	c->nnodes = 0;
}

const struct container_module c_devices_module = {
	.name = "devices",
	.prepare = c_devices_prepare,
	.started = c_devices_started,
	.child = c_devices_child,
	.cleanup = c_devices_cleanup,
};
