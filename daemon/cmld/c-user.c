/*
 * Container module: the user namespace.  When the config asks for one, the
 * container's ids 0..65535 map to a range of host ids of its own, so its
 * root is nobody on the host.  In every container, init and exec'd
 * commands start as root with no supplementary groups.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container.h"
#include "xmalloc.h"

static int
c_user_prepare(struct container *c, char **cause)
{
	struct stat sb;

	if (!c->userns)
		return 0;
	if (c->index < 0 || c->index > CONTAINER_INDEX_MAX) {
		*cause = xasprintf("container index %d is outside 0..%d: no id "
		    "range for its user namespace", c->index,
		    CONTAINER_INDEX_MAX);
		return -1;
	}
	if (stat("/proc/self/ns/user", &sb) == -1) {
		*cause = xasprintf("container '%s' needs a user namespace, which "
		    "this kernel lacks", c->name);
		return -1;
	}
	c->idbase = CONTAINER_ID_BASE + (uint32_t)c->index * CONTAINER_ID_RANGE;
	return 0;
}

/* Writes "0 BASE 65536" to /proc/PID/FILE. */
static int
c_user_map(struct container *c, const char *file, char **cause)
{
	char *path, *map;
	int rc = 0;

	path = xasprintf("/proc/%ld/%s", (long)c->pid, file);
	map = xasprintf("0 %u %u", c->idbase, CONTAINER_ID_RANGE);
	if (container_write_file(path, map) == -1) {
		*cause = xasprintf("writing the user namespace's %s (%s) "
		    "failed: %s", file, map, strerror(errno));
		rc = -1;
	}
	free(map);
	free(path);
	return rc;
}

/* Writes the maps; until then the child's ids are nobody's. */
static int
c_user_started(struct container *c, char **cause)
{
	if (!c->userns)
		return 0;
	if (c_user_map(c, "uid_map", cause) == -1 ||
	    c_user_map(c, "gid_map", cause) == -1 ||
	    container_release(c, cause) == -1)
		return -1;
	return 0;
}

/* Becomes root (of the user namespace, when there is one), no groups. */
static int
c_user_enter(struct container *c)
{
	if (setresgid(0, 0, 0) == -1)
		return container_child_fail(c, errno, "setresgid to root "
		    "failed");
	if (setgroups(0, NULL) == -1)
		return container_child_fail(c, errno, "dropping the "
		    "supplementary groups failed");
	if (setresuid(0, 0, 0) == -1)
		return container_child_fail(c, errno, "setresuid to root "
		    "failed");
	return 0;
}

/* Waits for the maps in a user namespace, then becomes its root. */
static int
c_user_child(struct container *c)
{
	if (c->userns && container_child_await(c) == -1)
		return container_child_fail(c, 0, "cmld gave up before the "
		    "user namespace's maps were written");
	return c_user_enter(c);
}

const struct container_module c_user_module = {
	.name = "user",
	.prepare = c_user_prepare,
	.started = c_user_started,
	.child = c_user_child,
	.enter = c_user_enter,
};
