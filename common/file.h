#ifndef CML_FILE_H
#define CML_FILE_H

#include <stddef.h>

/*
 * Reads the whole regular file path (relative to dirfd, or AT_FDCWD) of at
 * most max bytes into *buf, NUL-terminated, its length in *len; a final
 * symbolic link is not followed.  0, or -1 with errno: what open(2) said
 * (ELOOP for a symbolic link), EINVAL when it is not a regular file, EFBIG
 * when it is larger than max, ENODATA when it shrank while read, EIO when
 * read(2) failed.  *buf is NULL after a failure.
 */
int file_read_small(int dirfd, const char *path, size_t max, char **buf,
    size_t *len);

#endif
