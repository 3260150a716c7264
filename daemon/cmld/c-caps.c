/*
 * Container module: capabilities (libcap).  Every capability the config
 * does not keep leaves the bounding set, so no program in the container,
 * setuid or run by root, can ever hold it; the process's own sets shrink
 * to the kept ones and the ambient set is emptied.  The sets are worked
 * out once per container (container_free releases them).  A kept
 * CAP_MKNOD makes only the nodes the device allow list grants 'm' for:
 * the device cgroup (v1) or its BPF program (v2) refuses the others.
 */
#include "config.h"

#include <sys/capability.h>
#include <sys/prctl.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "log.h"
#include "xmalloc.h"

static int
c_caps_prepare(struct container *c, char **cause)
{
	cap_value_t v;
	cap_t caps;
	int last;

	if (c->capstate != NULL)
		return 0;
	last = (int)cap_max_bits() - 1;
	if (last < 0 || last > 63)
		last = CAP_LAST_CAP;
	c->cap_last = last;
	if ((caps = cap_init()) == NULL) {
		*cause = xasprintf("cap_init: %s", strerror(errno));
		return -1;
	}
	for (v = 0; v <= last; v++) {
		if ((c->caps & (1ULL << v)) == 0)
			continue;
		if (cap_set_flag(caps, CAP_PERMITTED, 1, &v, CAP_SET) == -1 ||
		    cap_set_flag(caps, CAP_EFFECTIVE, 1, &v, CAP_SET) == -1 ||
		    cap_set_flag(caps, CAP_INHERITABLE, 1, &v, CAP_SET) == -1) {
			*cause = xasprintf("cap_set_flag: %s", strerror(errno));
			cap_free(caps);
			return -1;
		}
	}
	c->capstate = caps;
	return 0;
}

static int
c_caps_child(struct container *c)
{
	cap_value_t v;

	for (v = 0; v <= c->cap_last; v++) {
		if ((c->caps & (1ULL << v)) != 0)
			continue;
		if (cap_drop_bound(v) == -1)
			return container_child_fail(c, errno, "dropping "
			    "capability %d from the bounding set failed", v);
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL)
		return container_child_fail(c, errno, "clearing the ambient "
		    "capabilities failed");
	if (cap_set_proc(c->capstate) == -1)
		return container_child_fail(c, errno, "setting the "
		    "capabilities failed");
	return 0;
}

const struct container_module c_caps_module = {
	.name = "caps",
	.prepare = c_caps_prepare,
	.child = c_caps_child,
	.enter = c_caps_child,
	.adopt = c_caps_prepare,
};
