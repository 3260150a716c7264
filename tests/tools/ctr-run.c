/*
 * ctr-run: starts one container with the runtime alone (no cmld), from a
 * config (cml-container(5)) and an installed guest OS directory (its
 * manifest.json and images; the signature is not checked here), then
 * carries out the actions given, in order.  For testing the runtime by
 * hand and from scripts.
 *
 *   ctr-run [--rundir DIR] [--index N] [--bind SRC:DST[:ro]]...
 *       [--adopt PID | --purge] [--c0] CONFIG GUESTOS_DIR [ACTION]...
 *
 * --adopt takes over a running container (as cmld after a restart;
 * "--adopt find" looks for its init in its cgroups first);
 * --purge removes what a container that ended unwatched left behind;
 * --c0 reads CONFIG as the management container's.
 *
 * Actions: exec CMD (sh -c CMD inside; its output, then "exec status: N"),
 * freeze, thaw, host CMD (sh -c CMD on the host, $CTR_PID set to init's
 * pid), sleep SECONDS, stop [SECONDS] (SIGTERM, SIGKILL after SECONDS,
 * default 5), kill, wait (until init ends), detach (leave it running and
 * exit: "detached: pid N").  Without a stop, kill, wait or detach the
 * container is killed at the end.  Prints "started: pid N", then
 * "ended: stopped|failed: REASON"; exits 0, or 1 when something failed
 * (the container's end included), 2 on a usage error.  Init's output goes to
 * stderr.
 */
#include "config.h"

#include <sys/poll.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cconfig.h"
#include "container.h"
#include "guestos.h"
#include "log.h"
#include "xmalloc.h"

#define CTR_FILE_MAX (1024 * 1024)

static void __attribute__((noreturn))
ctr_usage(void)
{
	fprintf(stderr, "usage: ctr-run [--rundir DIR] [--index N] "
	    "[--bind SRC:DST[:ro]]... [--adopt PID | --purge] [--c0] CONFIG "
	    "GUESTOS_DIR "
	    "[exec CMD | freeze | thaw | host CMD | sleep S | stop [S] | "
	    "kill | wait | detach]...\n");
	exit(2);
}

/* Reads a whole small file; exits on failure. */
static char *
ctr_read(const char *path, size_t *len)
{
	char *buf;
	ssize_t n;
	size_t off = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "ctr-run: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	buf = xmalloc(CTR_FILE_MAX);
	while ((n = read(fd, buf + off, CTR_FILE_MAX - off)) > 0)
		off += (size_t)n;
	close(fd);
	*len = off;
	return buf;
}

/* Copies one pipe's bytes to out; returns 0 at its end. */
static int
ctr_copy(int fd, FILE *out)
{
	char buf[4096];
	ssize_t n;

	n = read(fd, buf, sizeof buf);
	if (n <= 0)
		return 0;
	fwrite(buf, 1, (size_t)n, out);
	fflush(out);
	return 1;
}

/* Runs sh -c cmd in the container; prints its output and status. */
static int
ctr_exec(struct container *c, const char *cmd)
{
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	struct pollfd pfd[2];
	char *cause = NULL;
	pid_t pid;
	int out, err, open_fds = 2, status, i;

	if (container_exec(c, argv, &pid, &out, &err, &cause) == -1) {
		printf("exec failed: %s\n", cause);
		fflush(stdout);
		free(cause);
		return -1;
	}
	pfd[0].fd = out;
	pfd[1].fd = err;
	pfd[0].events = pfd[1].events = POLLIN;
	while (open_fds > 0) {
		if (poll(pfd, 2, -1) == -1 && errno != EINTR)
			break;
		for (i = 0; i < 2; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			if (!ctr_copy(pfd[i].fd, i == 0 ? stdout : stderr)) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open_fds--;
			}
		}
	}
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	printf("exec status: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status));
	fflush(stdout);
	return 0;
}

/* Waits until init ends (or ms pass; -1: forever); 1 when it ended. */
static int
ctr_wait(struct container *c, int ms)
{
	struct pollfd pfd;
	int r;

	pfd.fd = c->pidfd;
	pfd.events = POLLIN;
	while ((r = poll(&pfd, 1, ms)) == -1 && errno == EINTR)
		;
	return r == 1;
}

/* Reaps an ended init and prints why it ended. */
static int
ctr_reap(struct container *c)
{
	char *reason = NULL;
	int r;

	r = container_reap(c, &reason);
	if (r == -1) {
		printf("reap failed: %s\n", reason);
		free(reason);
		return -1;
	}
	printf("ended: %s: %s\n", r == CONTAINER_STOPPED ? "stopped" :
	    "failed", reason);
	fflush(stdout);
	free(reason);
	return r == CONTAINER_STOPPED ? 0 : -1;
}

static int
ctr_host(struct container *c, const char *cmd)
{
	char pid[32];
	int status;

	snprintf(pid, sizeof pid, "%ld", (long)c->pid);
	setenv("CTR_PID", pid, 1);
	fflush(stdout);
	status = system(cmd);
	return status == 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct guestos_manifest m;
	struct cconfig cfg;
	struct container *c;
	const char *rundir = "/run/cml-ctr";
	char *buf, *path, *cause = NULL, *src, *dst, *ro;
	size_t len;
	int i, index = 0, rc = 0, ended = 0, secs, purge = 0, c0 = 0;
	long adopt = 0;
	sigset_t set;

	log_init("ctr-run", 1, getenv("CTR_DEBUG") != NULL ?
	    LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	/* As in cmld: the exec'd commands' ends come as SIGCHLD, unhandled. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--purge") == 0) {
			purge = 1;
			continue;
		}
		if (strcmp(argv[i], "--c0") == 0) {
			c0 = 1;
			continue;
		}
		if (i + 1 >= argc)
			ctr_usage();
		if (strcmp(argv[i], "--rundir") == 0)
			rundir = argv[++i];
		else if (strcmp(argv[i], "--index") == 0)
			index = atoi(argv[++i]);
		else if (strcmp(argv[i], "--adopt") == 0) {
			i++;
			adopt = strcmp(argv[i], "find") == 0 ? -1 :
			    atol(argv[i]);
		}
		else if (strcmp(argv[i], "--bind") == 0)
			i++;
		else
			ctr_usage();
	}
	if (argc - i < 2)
		ctr_usage();
	/* Every action is checked before anything starts. */
	for (int j = i + 2; j < argc; j++) {
		if (strcmp(argv[j], "exec") == 0 || strcmp(argv[j], "host") == 0 ||
		    strcmp(argv[j], "sleep") == 0) {
			if (++j >= argc)
				ctr_usage();
		} else if (strcmp(argv[j], "stop") == 0) {
			if (j + 1 < argc && argv[j + 1][0] >= '0' &&
			    argv[j + 1][0] <= '9')
				j++;
		} else if (strcmp(argv[j], "freeze") != 0 &&
		    strcmp(argv[j], "thaw") != 0 && strcmp(argv[j], "kill") != 0 &&
		    strcmp(argv[j], "wait") != 0 && strcmp(argv[j], "detach") != 0)
			ctr_usage();
	}

	buf = ctr_read(argv[i], &len);
	memset(&cfg, 0, sizeof cfg);
	if ((c0 ? cconfig_parse_c0(buf, len, &cfg, &cause) :
	    cconfig_parse(buf, len, &cfg, &cause)) == -1) {
		fprintf(stderr, "ctr-run: %s: %s\n", argv[i], cause);
		return 1;
	}
	free(buf);
	path = xasprintf("%s/%s", argv[i + 1], GUESTOS_MANIFEST);
	buf = ctr_read(path, &len);
	free(path);
	memset(&m, 0, sizeof m);
	if (guestos_manifest_parse(buf, len, &m, &cause) == -1) {
		fprintf(stderr, "ctr-run: %s: %s\n", argv[i + 1], cause);
		return 1;
	}
	free(buf);
	c = container_new(&cfg, argv[i + 1], &m, rundir, NULL, index);
	cconfig_clear(&cfg);
	guestos_manifest_clear(&m);

	for (int j = 1; j < i; j++) {
		if (strcmp(argv[j], "--purge") == 0 ||
		    strcmp(argv[j], "--c0") == 0)
			continue;
		if (strcmp(argv[j], "--bind") != 0) {
			j++;
			continue;
		}
		src = xstrdup(argv[++j]);
		if ((dst = strchr(src, ':')) == NULL)
			ctr_usage();
		*dst++ = '\0';
		if ((ro = strchr(dst, ':')) != NULL)
			*ro++ = '\0';
		if (container_add_bind(c, src, dst, ro != NULL &&
		    strcmp(ro, "ro") == 0, &cause) == -1) {
			fprintf(stderr, "ctr-run: %s\n", cause);
			return 1;
		}
		free(src);
	}

	container_set_output(c, STDERR_FILENO);
	if (purge) {
		if (container_purge(c, &cause) == -1) {
			printf("purge failed: %s\n", cause);
			free(cause);
			rc = 1;
		} else
			printf("purged\n");
		container_free(c);
		return rc;
	}
	if (adopt == -1 && (adopt = container_find(c)) == 0) {
		printf("adopt failed: no init of container '%s' in its "
		    "cgroups\n", c->name);
		container_free(c);
		return 1;
	}
	if (adopt != 0) {
		if (container_adopt(c, (pid_t)adopt, &cause) == -1) {
			printf("adopt failed: %s\n", cause);
			free(cause);
			container_free(c);
			return 1;
		}
		printf("adopted: pid %ld%s\n", (long)c->pid,
		    c->frozen ? " (frozen)" : "");
	} else {
		if (container_start(c, &cause) == -1) {
			printf("start failed: %s\n", cause);
			free(cause);
			container_free(c);
			return 1;
		}
		printf("started: pid %ld\n", (long)c->pid);
	}
	fflush(stdout);

	for (i += 2; i < argc && !ended; i++) {
		if (strcmp(argv[i], "exec") == 0 && i + 1 < argc) {
			if (ctr_exec(c, argv[++i]) == -1)
				rc = 1;
		} else if (strcmp(argv[i], "host") == 0 && i + 1 < argc) {
			if (ctr_host(c, argv[++i]) == -1)
				rc = 1;
		} else if (strcmp(argv[i], "freeze") == 0 ||
		    strcmp(argv[i], "thaw") == 0) {
			if (container_freeze(c, argv[i][0] == 'f',
			    &cause) == -1) {
				printf("%s failed: %s\n", argv[i], cause);
				free(cause);
				rc = 1;
			} else
				printf("%s: done\n", argv[i][0] == 'f' ?
				    "frozen" : "thawed");
		} else if (strcmp(argv[i], "sleep") == 0 && i + 1 < argc) {
			usleep((useconds_t)(atof(argv[++i]) * 1e6));
		} else if (strcmp(argv[i], "stop") == 0) {
			secs = 5;
			if (i + 1 < argc && argv[i + 1][0] >= '0' &&
			    argv[i + 1][0] <= '9')
				secs = atoi(argv[++i]);
			if (container_stop(c, &cause) == -1) {
				printf("stop failed: %s\n", cause);
				free(cause);
				rc = 1;
			}
			if (!ctr_wait(c, secs * 1000) &&
			    container_signal(c, SIGKILL, &cause) == -1) {
				free(cause);
				cause = NULL;
			}
			ctr_wait(c, -1);
			if (ctr_reap(c) == -1)
				rc = 1;
			ended = 1;
		} else if (strcmp(argv[i], "kill") == 0) {
			if (container_signal(c, SIGKILL, &cause) == -1) {
				printf("kill failed: %s\n", cause);
				free(cause);
				rc = 1;
			}
			ctr_wait(c, -1);
			if (ctr_reap(c) == -1)
				rc = 1;
			ended = 1;
		} else if (strcmp(argv[i], "wait") == 0) {
			ctr_wait(c, -1);
			if (ctr_reap(c) == -1)
				rc = 1;
			ended = 1;
		} else if (strcmp(argv[i], "detach") == 0) {
			printf("detached: pid %ld\n", (long)c->pid);
			fflush(stdout);
			/* Leave everything as it is for a later adopt. */
			exit(rc);
		} else
			ctr_usage();
	}
	if (!ended) {
		if (container_signal(c, SIGKILL, &cause) == -1) {
			free(cause);
			cause = NULL;
		}
		ctr_wait(c, -1);
		if (ctr_reap(c) == -1)
			rc = 1;
	}
	container_free(c);
	return rc;
}
