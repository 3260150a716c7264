/*
 * Device-mapper presence (dm.h).
 */
#include "config.h"

#include <fcntl.h>
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
