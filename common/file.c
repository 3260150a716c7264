/*
 * Small files read whole: manifests, signatures, configs.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/vfs.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "xmalloc.h"

/* Nesting allowed below a directory being removed or synced. */
#define FILE_TREE_DEPTH 32

int
file_check_fd(int fd, size_t max, struct stat *sb)
{
	struct statfs sf;

	if (fstat(fd, sb) == -1)
		return -1;
	if (S_ISLNK(sb->st_mode)) {
		errno = ELOOP;
		return -1;
	}
	if (!S_ISREG(sb->st_mode)) {
		errno = EINVAL;
		return -1;
	}
	/* A FUSE file is served by a process that may never answer. */
	if (fstatfs(fd, &sf) == -1 || sf.f_type == FILE_FUSE_MAGIC) {
		errno = EREMOTE;
		return -1;
	}
	if (max != 0 && (unsigned long long)sb->st_size > max) {
		errno = EFBIG;
		return -1;
	}
	return 0;
}

int
file_read_fd(int fd, size_t max, char **buf, size_t *len)
{
	struct stat sb;
	ssize_t n;
	size_t off = 0;
	int err;

	*buf = NULL;
	if (file_check_fd(fd, max, &sb) == -1)
		return -1;
	*buf = xmalloc((size_t)sb.st_size + 1);
	while (off < (size_t)sb.st_size) {
		n = pread(fd, *buf + off, (size_t)sb.st_size - off,
		    (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n == 0 ? ENODATA : EIO;
			free(*buf);
			*buf = NULL;
			errno = err;
			return -1;
		}
		off += (size_t)n;
	}
	(*buf)[off] = '\0';
	*len = off;
	return 0;
}

char *
file_error(const char *name, size_t max)
{
	switch (errno) {
	case ELOOP:
		return xasprintf("%s is a symbolic link", name);
	case EINVAL:
		return xasprintf("%s is not a regular file", name);
	case EFBIG:
		return xasprintf("%s is larger than %zu bytes", name, max);
	case ENODATA:
		return xasprintf("cannot read %s: it shrank", name);
	case EREMOTE:
		return xasprintf("%s is on a FUSE file system: copy it to a "
		    "local disk first", name);
	default:
		return xasprintf("cannot read %s: %s", name, strerror(errno));
	}
}

int
file_read_small(int dirfd, const char *path, size_t max, char **buf,
    size_t *len)
{
	int fd, err, rc;

	*buf = NULL;
	if ((fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return -1;
	rc = file_read_fd(fd, max, buf, len);
	err = errno;
	close(fd);
	errno = err;
	return rc;
}

int
file_read_proc(const char *path, size_t max, char **buf, size_t *len)
{
	size_t off = 0;
	ssize_t n;
	int fd, err = 0;

	*buf = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	*buf = xmalloc(max + 2);
	for (;;) {
		n = read(fd, *buf + off, max + 1 - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err = errno;
			break;
		}
		if (n == 0)
			break;
		off += (size_t)n;
		if (off > max) {
			err = EFBIG;
			break;
		}
	}
	close(fd);
	if (err != 0) {
		free(*buf);
		*buf = NULL;
		errno = err;
		return -1;
	}
	(*buf)[off] = '\0';
	*len = off;
	return 0;
}

int
file_write_atomic(const char *dir, const char *name, const void *data,
    size_t len, mode_t mode, char **cause)
{
	char *tmp;
	const char *p = data;
	ssize_t n;
	int dfd, fd = -1, ret = -1;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		xcause(cause, "cannot open %s: %s", dir, strerror(errno));
		return -1;
	}
	tmp = xasprintf(".%s.tmp", name);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, mode);
	if (fd == -1) {
		xcause(cause, "cannot write %s/%s: %s", dir, tmp,
		    strerror(errno));
		goto out;
	}
	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			xcause(cause, "cannot write %s/%s: %s", dir, tmp,
			    strerror(errno));
			goto out;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		xcause(cause, "cannot write %s/%s: %s", dir, tmp,
		    strerror(errno));
		goto out;
	}
	fd = -1;
	if (renameat(dfd, tmp, dfd, name) == -1 || fsync(dfd) == -1) {
		xcause(cause, "cannot replace %s/%s: %s", dir, name,
		    strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (fd != -1)
		close(fd);
	if (ret == -1)
		(void)unlinkat(dfd, tmp, 0);
	close(dfd);
	free(tmp);
	return ret;
}

int
file_sync_dir(const char *dir)
{
	int fd, ret, err;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	ret = fsync(fd);
	err = errno;
	close(fd);
	errno = err;
	return ret;
}

int
file_open_pass(const char *path, int follow, char **cause)
{
	struct stat sb;
	int fd;

	if ((follow ? stat(path, &sb) : lstat(path, &sb)) == -1) {
		*cause = xasprintf("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISREG(sb.st_mode))
		fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
		    (follow ? 0 : O_NOFOLLOW));
	else
		fd = open(path, O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
	if (fd == -1)
		*cause = xasprintf("cannot open %s: %s", path, strerror(errno));
	return fd;
}

int
file_set_add(struct file_set *set, const char *name, int fd)
{
	if (set->n == FILE_SET_MAX)
		return -1;
	set->names[set->n] = xstrdup(name);
	set->fds[set->n++] = fd;
	return 0;
}

int
file_set_open_dir(struct file_set *set, const char *dir, char **cause)
{
	struct dirent *de;
	DIR *d;
	char *path;
	int fd;

	memset(set, 0, sizeof *set);
	if ((d = opendir(dir)) == NULL) {
		*cause = xasprintf("cannot open %s: %s", dir, strerror(errno));
		return -1;
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		fd = file_open_pass(path, 0, cause);
		free(path);
		if (fd == -1)
			goto fail;
		if (file_set_add(set, de->d_name, fd) == -1) {
			close(fd);
			*cause = xasprintf("%s has more than %d entries", dir,
			    FILE_SET_MAX);
			goto fail;
		}
		errno = 0;
	}
	if (errno != 0) {
		*cause = xasprintf("cannot list %s: %s", dir, strerror(errno));
		goto fail;
	}
	closedir(d);
	return 0;
fail:
	closedir(d);
	file_set_clear(set);
	return -1;
}

int
file_set_take(struct file_set *set, const char *name)
{
	size_t i;
	int fd;

	for (i = 0; i < set->n; i++) {
		if (strcmp(set->names[i], name) == 0) {
			fd = set->fds[i];
			set->fds[i] = -1;
			return fd;
		}
	}
	return -1;
}

void
file_set_clear(struct file_set *set)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		if (set->fds[i] != -1)
			close(set->fds[i]);
		free(set->names[i]);
	}
	memset(set, 0, sizeof *set);
}

void
file_proc_comm(long long pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	if (pid <= 0 || len < 2)
		return;
	snprintf(path, sizeof path, "/proc/%lld/comm", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0) {
		buf[0] = '\0';
		return;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

long long
file_proc_start_ms(long long pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start;
	long hz = sysconf(_SC_CLK_TCK);
	ssize_t n;
	int fd, i;

	if (pid <= 0 || hz <= 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%lld/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* the name may hold anything: fields count from its last ')' */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* state is field 3, starttime field 22 */
	for (i = 3; i <= 22 && p != NULL; i++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p + 1, "%llu", &start) != 1)
		return -1;
	return (long long)(start * 1000 / (unsigned long long)hz);
}

static int
file_remove_depth(int parent, const char *name, const char *display,
    int depth, char **cause)
{
	struct dirent *de;
	DIR *d;
	char *sub;
	int fd, ret = -1, pass, again;

	if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM) {
		xcause(cause, "cannot remove %s: %s", display,
		    strerror(errno));
		return -1;
	}
	if (depth >= FILE_TREE_DEPTH) {
		xcause(cause, "cannot remove %s: nested deeper than %d "
		    "levels", display, FILE_TREE_DEPTH);
		return -1;
	}
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1) {
		xcause(cause, "cannot remove %s: %s", display,
		    strerror(errno));
		return -1;
	}
	if ((d = fdopendir(fd)) == NULL) {
		xcause(cause, "cannot remove %s: %s", display,
		    strerror(errno));
		close(fd);
		return -1;
	}
	/* Removing while reading may hide entries: read until it is empty. */
	for (pass = 0, again = 1; again && pass < 4; pass++) {
		again = 0;
		rewinddir(d);
		errno = 0;
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			again = 1;
			sub = xasprintf("%s/%s", display, de->d_name);
			ret = file_remove_depth(fd, de->d_name, sub,
			    depth + 1, cause);
			free(sub);
			if (ret == -1)
				goto out;
			errno = 0;
		}
		if (errno != 0) {
			xcause(cause, "cannot read %s: %s", display,
			    strerror(errno));
			ret = -1;
			goto out;
		}
	}
	if (unlinkat(parent, name, AT_REMOVEDIR) == -1 && errno != ENOENT) {
		xcause(cause, "cannot remove %s: %s", display,
		    strerror(errno));
		ret = -1;
		goto out;
	}
	ret = 0;
out:
	closedir(d);
	return ret;
}

int
file_remove_at(int parent, const char *name, const char *display,
    char **cause)
{
	return file_remove_depth(parent, name, display, 0, cause);
}

int
file_remove_tree(const char *path, char **cause)
{
	char *parent, *base, *slash;
	int pfd = -1, ret = -1;

	parent = xstrdup(path);
	while ((slash = strrchr(parent, '/')) != NULL && slash[1] == '\0' &&
	    slash != parent)
		*slash = '\0';
	if ((slash = strrchr(parent, '/')) == NULL) {
		base = xstrdup(parent);
		free(parent);
		parent = xstrdup(".");
	} else {
		base = xstrdup(slash + 1);
		if (slash == parent)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	if (*base == '\0' || strcmp(base, ".") == 0 ||
	    strcmp(base, "..") == 0) {
		xcause(cause, "cannot remove %s: not a directory of "
		    "its own", path);
		goto out;
	}
	pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd == -1) {
		if (errno == ENOENT)
			ret = 0;
		else {
			xcause(cause, "cannot remove %s: %s", path,
			    strerror(errno));
		}
		goto out;
	}
	if (file_remove_at(pfd, base, path, cause) == -1)
		goto out;
	if (fsync(pfd) == -1) {
		xcause(cause, "cannot sync %s: %s", parent,
		    strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (pfd != -1)
		close(pfd);
	free(base);
	free(parent);
	return ret;
}


/*
 * Fsyncs every regular file and directory below the directory fd (taken
 * over and closed), then fd itself; symbolic links are not followed
 * (their directory's fsync keeps them).  -1 with *cause set.
 */
static int
file_sync_depth(int fd, const char *display, int depth, char **cause)
{
	struct dirent *de;
	struct stat sb;
	DIR *d;
	char *sub;
	int cfd, ret = -1;

	if (depth >= FILE_TREE_DEPTH) {
		xcause(cause, "cannot sync %s: nested deeper than %d levels",
		    display, FILE_TREE_DEPTH);
		close(fd);
		return -1;
	}
	if ((d = fdopendir(fd)) == NULL) {
		xcause(cause, "cannot sync %s: %s", display, strerror(errno));
		close(fd);
		return -1;
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		sub = xasprintf("%s/%s", display, de->d_name);
		cfd = openat(fd, de->d_name, O_RDONLY | O_NOFOLLOW |
		    O_NONBLOCK | O_CLOEXEC);
		if (cfd == -1 && errno == ELOOP) {
			free(sub);
			errno = 0;
			continue;
		}
		if (cfd == -1 || fstat(cfd, &sb) == -1) {
			xcause(cause, "cannot sync %s: %s", sub,
			    strerror(errno));
			if (cfd != -1)
				close(cfd);
			free(sub);
			goto out;
		}
		if (S_ISDIR(sb.st_mode)) {
			if (file_sync_depth(cfd, sub, depth + 1, cause) == -1) {
				free(sub);
				goto out;
			}
		} else {
			if (S_ISREG(sb.st_mode) && fsync(cfd) == -1) {
				xcause(cause, "cannot sync %s: %s", sub,
				    strerror(errno));
				close(cfd);
				free(sub);
				goto out;
			}
			close(cfd);
		}
		free(sub);
		errno = 0;
	}
	if (errno != 0) {
		xcause(cause, "cannot read %s: %s", display, strerror(errno));
		goto out;
	}
	if (fsync(fd) == -1) {
		xcause(cause, "cannot sync %s: %s", display, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	closedir(d);
	return ret;
}

int
file_sync_tree(const char *path, char **cause)
{
	int fd;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		xcause(cause, "cannot sync %s: %s", path, strerror(errno));
		return -1;
	}
	return file_sync_depth(fd, path, 0, cause);
}

int
file_write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
