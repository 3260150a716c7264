/*
 * Container module: what the new UTS and network namespaces start with.
 * The container's hostname is its own; its network namespace holds only a
 * loopback interface, brought up here; one that cmld made (a link to c0,
 * net.c) or c0's, cmld's own, is left as cmld set it up.
 * The namespaces themselves come from the clone (container.c).
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/socket.h>

#include <net/if.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "container.h"

/* cmld's network hook, if any: the network of the new namespace. */
static int
c_namespaces_started(struct container *c, char **cause)
{
	if (c->net_hook == NULL)
		return 0;
	if (c->net_hook(c, c->pid, c->net_arg, cause) == -1)
		return -1;
	return container_release(c, cause);
}

static int
c_namespaces_child(struct container *c)
{
	struct ifreq ifr;
	int s;

	if (c->net_hook != NULL && container_child_await(c) == -1)
		return container_child_fail(c, 0, "cmld gave up before the "
		    "network was set up");

	if (sethostname(c->hostname, strlen(c->hostname)) == -1)
		return container_child_fail(c, errno, "setting the hostname "
		    "'%s' failed", c->hostname);
	/* A namespace cmld gave is set up by cmld, lo included. */
	if (c->netns != -1)
		return 0;
	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return container_child_fail(c, errno, "no socket for the "
		    "loopback interface");
	memset(&ifr, 0, sizeof ifr);
	strncpy(ifr.ifr_name, "lo", sizeof ifr.ifr_name - 1);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == -1) {
		close(s);
		return container_child_fail(c, errno, "the loopback interface "
		    "is missing");
	}
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) == -1) {
		close(s);
		return container_child_fail(c, errno, "bringing the loopback "
		    "interface up failed");
	}
	close(s);
	return 0;
}

const struct container_module c_namespaces_module = {
	.name = "namespaces",
	.started = c_namespaces_started,
	.child = c_namespaces_child,
};
