/*
 * Small files read whole: manifests, signatures, configs.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "file.h"
#include "xmalloc.h"

int
file_read_small(int dirfd, const char *path, size_t max, char **buf,
    size_t *len)
{
	struct stat sb;
	ssize_t n;
	size_t off = 0;
	int fd, err;

	*buf = NULL;
	if ((fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		err = EINVAL;
		goto fail;
	}
	if ((size_t)sb.st_size > max) {
		err = EFBIG;
		goto fail;
	}
	*buf = xmalloc((size_t)sb.st_size + 1);
	while (off < (size_t)sb.st_size) {
		n = read(fd, *buf + off, (size_t)sb.st_size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n == 0 ? ENODATA : EIO;
			goto fail;
		}
		off += (size_t)n;
	}
	close(fd);
	(*buf)[off] = '\0';
	*len = off;
	return 0;
fail:
	free(*buf);
	*buf = NULL;
	close(fd);
	errno = err;
	return -1;
}
