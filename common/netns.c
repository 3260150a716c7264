#include "config.h"

#include <sched.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "netns.h"
#include "xmalloc.h"

int
netns_enter(int nsfd, int *self, char **cause)
{
	*self = -1;
	if (nsfd == -1)
		return 0;
	if ((*self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) ==
	    -1) {
		xcause(cause, "opening this thread's network namespace "
		    "failed: %s", strerror(errno));
		return -1;
	}
	if (setns(nsfd, CLONE_NEWNET) == -1) {
		xcause(cause, "entering the network namespace failed: %s",
		    strerror(errno));
		close(*self);
		*self = -1;
		return -1;
	}
	return 0;
}

void
netns_leave(int self)
{
	int saved = errno;

	if (self == -1)
		return;
	if (setns(self, CLONE_NEWNET) == -1)
		fatal("returning to the own network namespace");
	close(self);
	errno = saved;
}

int
netns_new(char **cause)
{
	int self, fd, saved;

	if ((self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) ==
	    -1) {
		xcause(cause, "opening this thread's network namespace "
		    "failed: %s", strerror(errno));
		return -1;
	}
	if (unshare(CLONE_NEWNET) == -1) {
		xcause(cause, "making a network namespace failed: %s",
		    strerror(errno));
		close(self);
		return -1;
	}
	fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	saved = errno;
	netns_leave(self);
	if (fd == -1)
		xcause(cause, "opening the new network namespace failed: %s",
		    strerror(saved));
	return fd;
}
