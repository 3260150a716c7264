/*
 * What every cml daemon does to become one; see daemon.h.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "xmalloc.h"

int
daemon_background(void)
{
	char buf[16];
	pid_t pid;
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid != 0) {
		close(fds[1]);
		_exit(read(fds[0], buf, sizeof buf) > 0 ? 0 : 1);
	}
	close(fds[0]);
	if (setsid() == -1)
		fatal("setsid");
	if (chdir("/") == -1)
		fatal("chdir /");
	return fds[1];
}

void
daemon_write_pid(const char *path)
{
	char *tmp;
	FILE *f;

	tmp = xasprintf("%s.tmp", path);
	if ((f = fopen(tmp, "we")) == NULL)
		fatal("cannot write %s", tmp);
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0 || rename(tmp, path) == -1)
		fatal("cannot write %s", path);
	free(tmp);
}

void
daemon_detach_stdio(void)
{
	int fd;

	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		fatal("/dev/null");
	(void)dup2(fd, STDIN_FILENO);
	(void)dup2(fd, STDOUT_FILENO);
	(void)dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

void
daemon_mkdirs(const char *dir, mode_t mode)
{
	char *p, *s = xstrdup(dir);

	for (p = s + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(s, 0755) == -1 && errno != EEXIST)
			fatal("cannot create %s", s);
		*p = '/';
	}
	if (mkdir(s, mode) == -1 && errno != EEXIST)
		fatal("cannot create %s", s);
	if (chmod(s, mode) == -1)
		fatal("cannot set the mode of %s", s);
	free(s);
}
