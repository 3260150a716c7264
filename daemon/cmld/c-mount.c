/*
 * Container modules: the root file system and the switch into it.
 *
 * While the child starts up, cmld attaches each guest OS image to a loop
 * device (read-only, autoclear; an erofs image needs none where the kernel
 * can read its file directly, and gets one over the same checked file
 * where it cannot, as on a tmpfs), mounts it read-only as a detached mount
 * (fsmount(2)), in a user namespace with the container's id mapping, and
 * passes it to the child, which, in its own mount namespace, builds the
 * root under rundir/NAME: a tmpfs of the config's storage size
 * holding the overlay's upper layer, the root image as its lower layer,
 * the other images at their mount points; once /dev, /proc and /sys are
 * in place, the bind mounts go over them, and pivot_root follows.  The
 * data volume (c-volume.c made and checked it) is mounted the same way,
 * read-write from a loop device (an encrypted one from the dm-crypt
 * device c-volume.c opened), at its mount point in the new root, so
 * that what the container writes there outlives it.  Nothing
 * of this is visible on the host; when the container's last process ends,
 * its mounts go, and with them the loop devices.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/loop.h>
#include <linux/mount.h>
#include <linux/openat2.h>

#include <elf.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "c-verity.h"
#include "container.h"
#include "dm.h"
#include "log.h"
#include "xmalloc.h"

/* Attempts at a free loop device while others take them too. */
#define C_MOUNT_LOOP_TRIES 64
/* The most of one program read ahead before init is executed. */
#define C_MOUNT_PREFETCH_MAX (16 * 1024 * 1024)
/* How often and how long cleanup looks for the loop devices to clear. */
#define C_MOUNT_LOOP_POLL_US 100
#define C_MOUNT_LOOP_WAIT_MS 2000

/* Appends the messages a file system context logged to *cause. */
static void
c_mount_fs_log(int fsfd, char **cause)
{
	char buf[512], *tmp;
	ssize_t n;

	while ((n = read(fsfd, buf, sizeof buf - 1)) > 0) {
		buf[n] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		/* "e squashfs: message" */
		tmp = xasprintf("%s (%s)", *cause, n > 2 ? buf + 2 : buf);
		free(*cause);
		*cause = tmp;
	}
}

/*
 * The image file to mount: the one whose hash cmld checked (handed over
 * with container_set_image_fd), else the path opened now.  -1 with *cause
 * set.
 */
static int
c_mount_file(struct container_image *img, char **cause)
{
	struct stat sb;
	int fd;

	if (img->fd != -1) {
		fd = img->fd;
		img->fd = -1;
	} else if ((fd = open(img->path, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		*cause = xasprintf("cannot open image %s: %s", img->path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		*cause = xasprintf("image %s is not a regular file", img->file);
		close(fd);
		return -1;
	}
	return fd;
}

int
c_mount_loop(const char *file, const char *path, int bfd, int rdonly,
    int *np, int *lfdp, char **cause)
{
	struct loop_config lc;
	char dev[32];
	int ctl, lfd = -1, n = -1, tries;

	if ((ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC)) == -1) {
		*cause = xasprintf("cannot open /dev/loop-control: %s",
		    strerror(errno));
		return -1;
	}
	for (tries = 0; tries < C_MOUNT_LOOP_TRIES; tries++) {
		if ((n = ioctl(ctl, LOOP_CTL_GET_FREE)) == -1) {
			*cause = xasprintf("no free loop device: %s",
			    strerror(errno));
			break;
		}
		snprintf(dev, sizeof dev, "/dev/loop%d", n);
		if ((lfd = open(dev, (rdonly ? O_RDONLY : O_RDWR) |
		    O_CLOEXEC)) == -1) {
			if (errno == ENOENT || errno == ENXIO)
				continue;
			*cause = xasprintf("cannot open %s: %s", dev,
			    strerror(errno));
			break;
		}
		memset(&lc, 0, sizeof lc);
		lc.fd = (uint32_t)bfd;
		lc.info.lo_flags = LO_FLAGS_AUTOCLEAR |
		    (rdonly ? LO_FLAGS_READ_ONLY : 0);
		snprintf((char *)lc.info.lo_file_name,
		    sizeof lc.info.lo_file_name, "%s", path);
		if (ioctl(lfd, LOOP_CONFIGURE, &lc) == 0) {
			close(ctl);
			*np = n;
			*lfdp = lfd;
			return 0;
		}
		close(lfd);
		lfd = -1;
		if (errno != EBUSY) {
			*cause = xasprintf("cannot attach %s to %s: %s", file,
			    dev, strerror(errno));
			break;
		}
		/* Someone else took it between the two calls. */
	}
	if (tries == C_MOUNT_LOOP_TRIES) {
		*cause = xasprintf("no free loop device for %s after %d "
		    "attempts", file, C_MOUNT_LOOP_TRIES);
	}
	close(ctl);
	return -1;
}

/*
 * Makes a detached mount of file system fs from src (what names the
 * mount in messages, via how it is reached: "" or " on /dev/loop3"),
 * with the mount attributes attrs and "ro" when attrs has
 * MOUNT_ATTR_RDONLY.  Returns 0 with *mfdp set, else the errno of the
 * failure with *cause set.
 */
static int
c_mount_fs(const char *what, const char *fs, const char *src,
    const char *via, unsigned int attrs, int *mfdp, char **cause)
{
	int err, fsfd, mfd, rdonly = (attrs & MOUNT_ATTR_RDONLY) != 0;

	if ((fsfd = (int)syscall(SYS_fsopen, fs, FSOPEN_CLOEXEC)) == -1) {
		err = errno;
		*cause = xasprintf("mount of %s failed: this kernel has no "
		    "%s: %s", what, fs, strerror(err));
		return err;
	}
	if (syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "source", src,
	    0) == -1 ||
	    (rdonly && syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_FLAG, "ro",
	    NULL, 0) == -1) ||
	    (rdonly && strcmp(fs, "ext4") == 0 && syscall(SYS_fsconfig, fsfd,
	    FSCONFIG_SET_FLAG, "noload", NULL, 0) == -1) ||
	    syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL,
	    0) == -1) {
		err = errno;
		*cause = xasprintf("mount of %s (%s%s) failed: %s", what, fs,
		    via, strerror(err));
		c_mount_fs_log(fsfd, cause);
		close(fsfd);
		return err;
	}
	mfd = (int)syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, attrs);
	if (mfd == -1) {
		err = errno;
		*cause = xasprintf("mount of %s (%s%s) failed: %s", what, fs,
		    via, strerror(err));
		close(fsfd);
		return err;
	}
	close(fsfd);
	*mfdp = mfd;
	return 0;
}

/*
 * Mounts img (what names it, bfd its file) from the dm-verity device over
 * its loop device: the kernel checks each block against the signed root
 * hash as it is read.  The device goes by itself with the last mount of
 * it (deferred removal), the loop device after it (autoclear).
 */
static int
c_mount_verity(struct container_image *img, const char *what, int bfd,
    unsigned int attrs, char **cause)
{
	char loopdev[32], node[96], via[128];
	int lfd = -1, rc = -1;

	if (c_mount_loop(what, img->path, bfd, 1, &img->loop, &lfd,
	    cause) == -1)
		return -1;
	snprintf(loopdev, sizeof loopdev, "/dev/loop%d", img->loop);
	if (cverity_open(img->dmname, loopdev, &img->verity, cause) == -1)
		goto out;
	snprintf(node, sizeof node, "/dev/mapper/%s", img->dmname);
	snprintf(via, sizeof via, " on dm-verity %s over %s", img->dmname,
	    loopdev);
	if (c_mount_fs(what, img->fs, node, via, attrs, &img->mfd,
	    cause) != 0) {
		cverity_close(img->dmname);
		goto out;
	}
	/* the mount holds it now: it goes with the mount */
	if (dm_defer(img->dmname) == -1)
		log_warn("%s: cannot mark %s for removal with its mount", what,
		    img->dmname);
	img->via = CONTAINER_VIA_VERITY;
	rc = 0;
out:
	close(lfd);
	return rc;
}

/*
 * Mounts img as a detached read-only mount: erofs straight from its file
 * where the file's file system allows it, else (ENOTBLK: a tmpfs), and
 * squashfs and ext4 always, from a loop device over the same descriptor.
 */
static int
c_mount_image(struct container_image *img, char **cause)
{
	char src[64], via[80], *what;
	int bfd, lfd = -1, rc = -1, err;
	unsigned int attrs = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV;

	if ((bfd = c_mount_file(img, cause)) == -1)
		return -1;
	what = xasprintf("image %s", img->file);
	if (img->verity.present && img->dmname[0] != '\0') {
		rc = c_mount_verity(img, what, bfd, attrs, cause);
		close(bfd);
		free(what);
		return rc;
	}
	if (strcmp(img->fs, "erofs") == 0) {
		/* File-backed: no loop device; the mount holds the file. */
		snprintf(src, sizeof src, "/proc/self/fd/%d", bfd);
		err = c_mount_fs(what, img->fs, src, "", attrs, &img->mfd,
		    cause);
		if (err == 0) {
			img->via = CONTAINER_VIA_FILE;
			rc = 0;
			goto out;
		}
		if (err != ENOTBLK)
			goto out;
		/* A tmpfs, for one: the same checked file, on a loop device. */
		log_info("%s: %s; a loop device serves it", what, *cause);
		free(*cause);
		*cause = NULL;
	}
	if (c_mount_loop(what, img->path, bfd, 1, &img->loop, &lfd,
	    cause) == -1)
		goto out;
	snprintf(src, sizeof src, "/dev/loop%d", img->loop);
	snprintf(via, sizeof via, " on %s", src);
	if (c_mount_fs(what, img->fs, src, via, attrs, &img->mfd,
	    cause) != 0)
		goto out;
	img->via = CONTAINER_VIA_LOOP;
	rc = 0;
out:
	/* The mount holds the loop device or file now; autoclear waits. */
	if (lfd != -1)
		close(lfd);
	close(bfd);
	free(what);
	return rc;
}

void
container_set_volume(struct container *c, int fd, const char *path,
    const char *mount)
{
	if (c->vol.fd != -1)
		close(c->vol.fd);
	free(c->vol.file);
	free(c->vol.mount);
	c->vol.fd = fd;
	c->vol.file = xstrdup(path);
	c->vol.mount = xstrdup(mount);
	c->vol.device[0] = '\0';
}

void
container_set_volume_blockdev(struct container *c, int fd, const char *file,
    const char *device, const char *mount)
{
	container_set_volume(c, fd, file, mount);
	if (snprintf(c->vol.device, sizeof c->vol.device, "%s", device) >=
	    (int)sizeof c->vol.device)
		fatalx("device name %s too long", device);
}

/*
 * Mounts the data volume read-write from a loop device over its file, or
 * straight from its opened dm-crypt device (an encrypted volume),
 * id-mapped in a user namespace (ufd), where the root of the container
 * owns what root owns in the file system; a volume that cannot be
 * id-mapped there would be nobody's inside, and the start is refused.
 */
static int
c_mount_volume(struct container *c, int ufd, char **cause)
{
	struct mount_attr attr;
	char src[64], via[80], *what;
	int lfd = -1, rc = -1;

	what = xasprintf("the data volume %s", c->vol.file);
	if (c->vol.device[0] != '\0') {
		/* The device c-volume opened, not whatever has its name. */
		snprintf(src, sizeof src, "/proc/self/fd/%d", c->vol.fd);
		snprintf(via, sizeof via, " from %s", c->vol.device);
	} else {
		if (c_mount_loop(what, c->vol.file, c->vol.fd, 0,
		    &c->vol.loop, &lfd, cause) == -1)
			goto out;
		snprintf(src, sizeof src, "/dev/loop%d", c->vol.loop);
		snprintf(via, sizeof via, " on %s", src);
	}
	if (c_mount_fs(what, "ext4", src, via, MOUNT_ATTR_NODEV |
	    MOUNT_ATTR_NOSUID, &c->vol.mfd, cause) != 0)
		goto out;
	if (ufd != -1) {
		memset(&attr, 0, sizeof attr);
		attr.attr_set = MOUNT_ATTR_IDMAP;
		attr.userns_fd = (uint64_t)ufd;
		if (syscall(SYS_mount_setattr, c->vol.mfd, "", AT_EMPTY_PATH,
		    &attr, sizeof attr) == -1) {
			*cause = xasprintf("%s cannot be id-mapped into the "
			    "user namespace of container '%s': %s", what,
			    c->name, strerror(errno));
			goto out;
		}
	}
	rc = 0;
out:
	if (lfd != -1)
		close(lfd);
	close(c->vol.fd);
	c->vol.fd = -1;
	free(what);
	return rc;
}

/*
 * In a user namespace the container's root is nobody to the host: every
 * directory above path must let others search it, or the child cannot
 * reach its mount point or a bind mount's source.
 */
static int
c_mount_reachable(struct container *c, const char *path, char **cause)
{
	struct stat sb;
	char *dir, *slash;
	int rc = 0;

	if (!c->userns)
		return 0;
	dir = xstrdup(path);
	while ((slash = strrchr(dir, '/')) != NULL) {
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(dir, &sb) == 0 && (sb.st_mode & S_IXOTH) == 0) {
			*cause = xasprintf("container '%s' has a user namespace, "
			    "whose root cannot reach %s: %s needs search "
			    "permission for others (chmod o+x)", c->name, path,
			    dir);
			rc = -1;
			break;
		}
		if (slash == dir)
			break;
	}
	free(dir);
	return rc;
}

static int
c_mount_prepare(struct container *c, char **cause)
{
	struct stat sb;
	size_t i, roots = 0;

	/* Encrypted: only from the dm-crypt device c-volume.c opened. */
	if (c->encrypted && c->vol.device[0] == '\0') {
		if (!dm_present())
			*cause = xasprintf("container '%s' needs encrypted "
			    "storage but this kernel has no device-mapper",
			    c->name);
		else
			*cause = xasprintf("container '%s' needs encrypted "
			    "storage, which needs its token unlocked first",
			    c->name);
		return -1;
	}
	for (i = 0; i < c->nimages; i++) {
		if (strcmp(c->images[i].fs, "squashfs") != 0 &&
		    strcmp(c->images[i].fs, "erofs") != 0 &&
		    strcmp(c->images[i].fs, "ext4") != 0) {
			*cause = xasprintf("image %s has file system '%s': cml "
			    "mounts squashfs, erofs and ext4 only",
			    c->images[i].file,
			    c->images[i].fs);
			return -1;
		}
		if (strcmp(c->images[i].mount, "/") == 0)
			roots++;
	}
	if (roots != 1) {
		*cause = xasprintf("the guest OS of container '%s' has %zu root "
		    "images (mount \"/\"): it needs exactly one", c->name,
		    roots);
		return -1;
	}
	if (container_mkdirs(c->rundir) == -1) {
		*cause = xasprintf("cannot create %s: %s", c->rundir,
		    strerror(errno));
		return -1;
	}
	if (mkdir(c->mntdir, 0700) == -1 && (errno != EEXIST ||
	    lstat(c->mntdir, &sb) == -1 || !S_ISDIR(sb.st_mode))) {
		*cause = xasprintf("cannot create %s: %s", c->mntdir,
		    strerror(errno));
		return -1;
	}
	c->mnt_owned = 1;
	if (c_mount_reachable(c, c->mntdir, cause) == -1)
		return -1;
	for (i = 0; i < c->nbinds; i++) {
		if (c_mount_reachable(c, c->binds[i].src, cause) == -1)
			return -1;
	}
	return 0;
}

/* Closes cmld's copies of the detached mounts; the child has its own. */
static void
c_mount_close(struct container *c, int keep_root)
{
	size_t i;

	for (i = 0; i < c->nimages; i++) {
		if (keep_root && strcmp(c->images[i].mount, "/") == 0)
			continue;
		if (c->images[i].mfd != -1)
			close(c->images[i].mfd);
		c->images[i].mfd = -1;
	}
	if (!keep_root && c->vol.mfd != -1) {
		close(c->vol.mfd);
		c->vol.mfd = -1;
	}
}

/*
 * Mounts the images while the child starts up, and passes them on.  In a
 * user namespace (its maps are written by now) they get its id mapping,
 * so that the host's root owns what the container's root owns; a file
 * system that cannot be id-mapped still works, its files owned by nobody
 * inside.
 */
static int
c_mount_started(struct container *c, char **cause)
{
	struct mount_attr attr;
	char *path;
	size_t i;
	int ufd = -1, rc = -1;

	if (c->userns) {
		path = xasprintf("/proc/%ld/ns/user", (long)c->pid);
		ufd = open(path, O_RDONLY | O_CLOEXEC);
		free(path);
		if (ufd == -1) {
			*cause = xasprintf("cannot open the user namespace of "
			    "container '%s': %s", c->name, strerror(errno));
			return -1;
		}
	}
	for (i = 0; i < c->nimages; i++) {
		if (c_mount_image(&c->images[i], cause) == -1)
			goto out;
		memset(&attr, 0, sizeof attr);
		attr.attr_set = MOUNT_ATTR_IDMAP;
		attr.userns_fd = (uint64_t)ufd;
		if (ufd != -1 && syscall(SYS_mount_setattr, c->images[i].mfd,
		    "", AT_EMPTY_PATH, &attr, sizeof attr) == -1)
			log_info("container %s: image %s (%s) cannot be "
			    "id-mapped (%s): its files are owned by nobody in "
			    "the user namespace", c->name, c->images[i].file,
			    c->images[i].fs, strerror(errno));
		if (container_send_fd(c, c->images[i].mfd, cause) == -1)
			goto out;
	}
	if (c->vol.mount != NULL) {
		if (c_mount_volume(c, ufd, cause) == -1 ||
		    container_send_fd(c, c->vol.mfd, cause) == -1)
			goto out;
		close(c->vol.mfd);
		c->vol.mfd = -1;
	}
	/* The root image stays open a little longer: c_mount_running. */
	c_mount_close(c, 1);
	rc = 0;
out:
	if (ufd != -1)
		close(ufd);
	return rc;
}

/*
 * Reads a program of the root image (and the interpreter it names) into
 * the page cache.  A fresh mount starts cold: every block exec and the
 * first page faults touch would otherwise be read through the loop device
 * then, one after the other.
 */
static void
c_mount_prefetch(int rootfd, const char *path, int depth)
{
	struct open_how how;
	struct stat sb;
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	char interp[PATH_MAX];
	ssize_t n;
	size_t len;
	int fd, i;

	memset(&how, 0, sizeof how);
	how.flags = O_RDONLY | O_CLOEXEC;
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
	if (fd == -1)
		return;
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode))
		goto out;
	readahead(fd, 0, (size_t)(sb.st_size < C_MOUNT_PREFETCH_MAX ?
	    sb.st_size : C_MOUNT_PREFETCH_MAX));
	if (depth > 0 || (n = pread(fd, interp, sizeof interp - 1, 0)) < 4)
		goto out;
	interp[n] = '\0';
	if (interp[0] == '#' && interp[1] == '!') {
		/* "#!/bin/sh -e": the interpreter's path. */
		memmove(interp, interp + 2, (size_t)n - 1);
		len = strspn(interp, " \t");
		memmove(interp, interp + len, strlen(interp + len) + 1);
		interp[strcspn(interp, " \t\n")] = '\0';
		if (interp[0] == '/')
			c_mount_prefetch(rootfd, interp, depth + 1);
		goto out;
	}
	/* A dynamic ELF program: its PT_INTERP, the dynamic loader. */
	if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof ph)
		goto out;
	for (i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff +
		    (Elf64_Off)i * sizeof ph)) != (ssize_t)sizeof ph)
			break;
		if (ph.p_type != PT_INTERP || ph.p_filesz == 0 ||
		    ph.p_filesz >= sizeof interp)
			continue;
		if (pread(fd, interp, ph.p_filesz, (off_t)ph.p_offset) !=
		    (ssize_t)ph.p_filesz)
			break;
		interp[ph.p_filesz] = '\0';
		if (interp[0] == '/')
			c_mount_prefetch(rootfd, interp, depth + 1);
		break;
	}
out:
	close(fd);
}

/* While init sets itself up, its program is read into the page cache. */
static int
c_mount_running(struct container *c, char **cause)
{
	size_t i;

	for (i = 0; i < c->nimages; i++) {
		if (c->images[i].mfd != -1)
			c_mount_prefetch(c->images[i].mfd, c->argv[0], 0);
	}
	c_mount_close(c, 0);
	return 0;
}

/* Mounts one image at its mount point in the new root. */
static int
c_mount_child_image(struct container *c, struct container_image *img)
{
	if (container_attach(c, img->mfd, img->mount, CONTAINER_MP_DIR) == -1)
		return container_child_fail(c, errno, "mount of image %s on "
		    "%s failed", img->file, img->mount);
	close(img->mfd);
	img->mfd = -1;
	return 0;
}

/* Bind-mounts a host path into the new root. */
static int
c_mount_child_bind(struct container *c, const struct container_bind *b)
{
	struct mount_attr attr;
	struct stat sb;
	int tfd, rc;

	if (stat(b->src, &sb) == -1)
		return container_child_fail(c, errno, "bind mount of %s: the "
		    "source is missing", b->src);
	tfd = (int)syscall(SYS_open_tree, AT_FDCWD, b->src, OPEN_TREE_CLONE |
	    OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tfd == -1)
		return container_child_fail(c, errno, "bind mount of %s "
		    "failed", b->src);
	if (b->readonly) {
		memset(&attr, 0, sizeof attr);
		attr.attr_set = MOUNT_ATTR_RDONLY;
		if (syscall(SYS_mount_setattr, tfd, "", AT_EMPTY_PATH |
		    AT_RECURSIVE, &attr, sizeof attr) == -1) {
			close(tfd);
			return container_child_fail(c, errno, "making the bind "
			    "mount of %s read-only failed", b->src);
		}
	}
	rc = container_attach(c, tfd, b->dst, S_ISDIR(sb.st_mode) ?
	    CONTAINER_MP_DIR : CONTAINER_MP_FILE);
	close(tfd);
	if (rc == -1)
		return container_child_fail(c, errno, "bind mount of %s on %s "
		    "failed", b->src, b->dst);
	return 0;
}

/* Builds the new root under mntdir; ends with c->rootfd open on it. */
static int
c_mount_child(struct container *c)
{
	char opts[64], data[64];
	struct container_image *img = NULL;
	size_t i, depth, maxdepth = 0;
	const char *p;
	int n;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
		return container_child_fail(c, errno, "making the mounts "
		    "private failed");
	for (i = 0; i < c->nimages; i++) {
		if (container_child_recv_fd(c, &c->images[i].mfd) == -1)
			return container_child_fail(c, 0, "cmld gave up before "
			    "image %s was mounted", c->images[i].file);
	}
	if (c->vol.mount != NULL && container_child_recv_fd(c,
	    &c->vol.mfd) == -1)
		return container_child_fail(c, 0, "cmld gave up before the "
		    "data volume was mounted");
	snprintf(data, sizeof data, "mode=0700,size=%lldm", c->storage_mb);
	if (mount("tmpfs", c->mntdir, "tmpfs", 0, data) == -1)
		return container_child_fail(c, errno, "mount of the writable "
		    "layer (tmpfs, %lld MiB) on %s failed", c->storage_mb,
		    c->mntdir);
	if ((c->rootfd = open(c->mntdir, O_PATH | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return container_child_fail(c, errno, "cannot open %s",
		    c->mntdir);
	for (i = 0; i < c->nimages; i++) {
		if (strcmp(c->images[i].mount, "/") == 0)
			img = &c->images[i];
	}
	if (container_attach(c, img->mfd, "/lower", CONTAINER_MP_DIR) == -1)
		return container_child_fail(c, errno, "mount of the root image "
		    "%s failed", img->file);
	close(img->mfd);
	img->mfd = -1;
	if (mkdirat(c->rootfd, "upper", 0755) == -1 ||
	    mkdirat(c->rootfd, "work", 0755) == -1 ||
	    mkdirat(c->rootfd, "root", 0755) == -1)
		return container_child_fail(c, errno, "cannot create the "
		    "overlay's directories in %s", c->mntdir);
	/* Relative layers: the container's mount table names no host path. */
	if (fchdir(c->rootfd) == -1)
		return container_child_fail(c, errno, "cannot enter %s",
		    c->mntdir);
	snprintf(opts, sizeof opts, "lowerdir=lower,upperdir=upper,"
	    "workdir=work%s", c->userns ? ",userxattr" : "");
	if (mount("overlay", "root", "overlay", 0, opts) == -1)
		return container_child_fail(c, errno, "mount of the root "
		    "overlay on %s/root failed", c->mntdir);
	close(c->rootfd);
	if ((c->rootfd = open("root", O_PATH | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return container_child_fail(c, errno, "cannot open %s/root",
		    c->mntdir);

	/* The other images, parents before children. */
	for (i = 0; i < c->nimages; i++) {
		for (depth = 0, p = c->images[i].mount; *p != '\0'; p++)
			depth += *p == '/';
		if (depth > maxdepth)
			maxdepth = depth;
	}
	for (depth = 1; depth <= maxdepth; depth++) {
		for (i = 0; i < c->nimages; i++) {
			img = &c->images[i];
			if (img->mfd == -1)
				continue;
			for (n = 0, p = img->mount; *p != '\0'; p++)
				n += *p == '/';
			if ((size_t)n == depth &&
			    c_mount_child_image(c, img) == -1)
				return -1;
		}
	}
	/* The data volume, over the images. */
	if (c->vol.mount != NULL) {
		if (container_attach(c, c->vol.mfd, c->vol.mount,
		    CONTAINER_MP_DIR) == -1)
			return container_child_fail(c, errno, "mount of the "
			    "data volume on %s failed", c->vol.mount);
		close(c->vol.mfd);
		c->vol.mfd = -1;
	}
	return 0;
}

/* The bind mounts, over everything the other modules made. */
static int
c_binds_child(struct container *c)
{
	size_t i;

	for (i = 0; i < c->nbinds; i++) {
		if (c_mount_child_bind(c, &c->binds[i]) == -1)
			return -1;
	}
	return 0;
}

/*
 * Waits until the kernel has released a loop device (autoclear): it does
 * so a moment after the container's mount namespace has gone.
 */
static void
c_mount_wait_loop(struct container *c, int n)
{
	struct timespec ts = { 0, C_MOUNT_LOOP_POLL_US * 1000 };
	struct stat sb;
	char path[64];
	int i;

	snprintf(path, sizeof path, "/sys/block/loop%d/loop/backing_file", n);
	for (i = 0; i < C_MOUNT_LOOP_WAIT_MS * 1000 / C_MOUNT_LOOP_POLL_US;
	    i++) {
		if (stat(path, &sb) == -1)
			return;
		nanosleep(&ts, NULL);
	}
	log_warnx("container %s: loop%d is still attached %d ms after the "
	    "container ended", c->name, n, C_MOUNT_LOOP_WAIT_MS);
}

static void
c_mount_cleanup(struct container *c)
{
	size_t i;

	c_mount_close(c, 0);
	for (i = 0; i < c->nimages; i++) {
		if (c->images[i].loop != -1)
			c_mount_wait_loop(c, c->images[i].loop);
		c->images[i].loop = -1;
		c->images[i].via = CONTAINER_VIA_UNKNOWN;
	}
	if (c->vol.loop != -1)
		c_mount_wait_loop(c, c->vol.loop);
	c->vol.loop = -1;
	if (c->mnt_owned && rmdir(c->mntdir) == -1 && errno != ENOENT)
		log_warn("container %s: cannot remove %s", c->name, c->mntdir);
	c->mnt_owned = 0;
}

/* No data volume until container_set_volume gives one. */
static void
c_mount_init(struct container *c)
{
	c->vol.fd = -1;
	c->vol.mfd = -1;
	c->vol.loop = -1;
	c->vol.device[0] = '\0';
}

const struct container_module c_mount_module = {
	.name = "mount",
	.init = c_mount_init,
	.prepare = c_mount_prepare,
	.started = c_mount_started,
	.running = c_mount_running,
	.child = c_mount_child,
	.cleanup = c_mount_cleanup,
};

const struct container_module c_binds_module = {
	.name = "binds",
	.child = c_binds_child,
};

/* Makes the new root the root: pivot_root, then the old one goes. */
static int
c_pivot_child(struct container *c)
{
	if (fchdir(c->rootfd) == -1)
		return container_child_fail(c, errno, "cannot enter the new "
		    "root");
	if (syscall(SYS_pivot_root, ".", ".") == -1)
		return container_child_fail(c, errno, "pivot_root into the new "
		    "root failed");
	if (umount2(".", MNT_DETACH) == -1)
		return container_child_fail(c, errno, "detaching the host's "
		    "root failed");
	if (chdir("/") == -1)
		return container_child_fail(c, errno, "chdir to the new root "
		    "failed");
	close(c->rootfd);
	c->rootfd = -1;
	return 0;
}

const struct container_module c_pivot_module = {
	.name = "pivot",
	.child = c_pivot_child,
};
