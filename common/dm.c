/*
 * Device-mapper presence (dm.h).
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm.h"

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
