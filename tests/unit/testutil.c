/*
 * Helpers shared by the unit tests (cmocka).
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"
#include "xmalloc.h"

int
test_remove_tree(const char *dir)
{
	struct dirent *de;
	struct stat sb;
	DIR *d;
	char *p;
	int ret = 0;

	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", dir, de->d_name);
		if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			if (test_remove_tree(p) == -1)
				ret = -1;
		} else if (unlink(p) == -1)
			ret = -1;
		free(p);
	}
	closedir(d);
	if (rmdir(dir) == -1)
		ret = -1;
	return ret;
}

unsigned char *
test_read_all(const char *path, size_t *len)
{
	unsigned char *buf = NULL;
	size_t size = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	*len = 0;
	for (;;) {
		if (*len == size) {
			size = size == 0 ? 65536 : size * 2;
			buf = xreallocarray(buf, size, 1);
		}
		if ((n = read(fd, buf + *len, size - *len)) == -1)
			fail_msg("cannot read %s: %s", path, strerror(errno));
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	close(fd);
	return buf;
}
