/*
 * What every cml daemon does to become one, and what it answers of
 * itself; see daemon.h.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "loop.h"
#include "xmalloc.h"

int
daemon_ready_fd(const char *name, const char *arg)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (*arg == '\0' || *end != '\0' || errno != 0 || v < 3 ||
	    v > INT_MAX || fcntl((int)v, F_GETFD) == -1) {
		fprintf(stderr, "%s: --ready-fd %s is not an open file "
		    "descriptor above 2\n", name, arg);
		return -1;
	}
	return (int)v;
}

int
daemon_start(const char *name, int foreground, enum log_level level)
{
	struct rlimit nocore = { 0, 0 };
	int fd = -1;

	/* keys, PINs and secrets pass through every cml daemon */
	(void)setrlimit(RLIMIT_CORE, &nocore);
	(void)prctl(PR_SET_DUMPABLE, 0);
	umask(0022);

	log_init(name, 1, level);
	/*
	 * In the foreground too, a session of its own: a Ctrl-C meant for a
	 * shell in the terminal that started it (scripts/demo) must not stop
	 * the daemon.  A process group leader (a daemon typed at a shell with
	 * -f, or run by systemd) keeps its group: there, Ctrl-C stopping it
	 * is meant.
	 */
	if (!foreground)
		fd = daemon_background();
	else if (getpgrp() != getpid() && setsid() == -1)
		fatal("setsid");
	return fd;
}

void
daemon_ready(const char *name, int foreground, int ready_fd, int daemon_fd)
{
	if (!foreground) {
		log_init(name, 0, log_get_level());
		daemon_detach_stdio();
	}
	loop_ready(ready_fd);
	loop_ready(daemon_fd);
	loop_sd_notify("READY=1");
}

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

/* "a, b or c": the keys a file may use, for its errors (free it). */
static char *
daemon_config_keys(const char *const *keys, size_t nkeys)
{
	char *s = xstrdup(keys[0]), *t;
	size_t k;

	for (k = 1; k < nkeys; k++) {
		t = xasprintf("%s%s%s", s, k + 1 == nkeys ? " or " : ", ",
		    keys[k]);
		free(s);
		s = t;
	}
	return s;
}

int
daemon_read_config(const char *path, const char *const *keys, size_t nkeys,
    const char **slots, char **keep, char **cause)
{
	char *buf = NULL, *key, *value, *end, *p, *list;
	size_t cap = 0, k, i = 0;
	ssize_t len;
	FILE *f;
	int line = 0, ret = -1, *seen;

	if ((f = fopen(path, "re")) == NULL) {
		if (errno == ENOENT)
			return 0;
		xcause(cause, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	seen = xcalloc(nkeys, sizeof *seen);
	while ((len = getline(&buf, &cap, f)) != -1) {
		line++;
		if (len > 1024) {
			xcause(cause, "%s:%d: the line is too long", path,
			    line);
			goto out;
		}
		for (key = buf; *key == ' ' || *key == '\t'; key++)
			;
		for (end = key + strlen(key); end > key && (end[-1] == '\n' ||
		    end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r');
		    end--)
			;
		*end = '\0';
		if (*key == '\0' || *key == '#')
			continue;
		if ((value = strchr(key, '=')) == NULL) {
			xcause(cause, "%s:%d: not 'key = value'", path, line);
			goto out;
		}
		for (p = value; p > key && (p[-1] == ' ' || p[-1] == '\t');
		    p--)
			;
		*p = '\0';
		for (value++; *value == ' ' || *value == '\t'; value++)
			;
		for (k = 0; k < nkeys && strcmp(key, keys[k]) != 0; k++)
			;
		if (k == nkeys) {
			list = daemon_config_keys(keys, nkeys);
			xcause(cause, "%s:%d: unknown key '%s': use %s", path,
			    line, key, list);
			free(list);
			goto out;
		}
		if (seen[k]++) {
			xcause(cause, "%s:%d: '%s' is given twice", path, line,
			    key);
			goto out;
		}
		if (*value == '\0') {
			xcause(cause, "%s:%d: '%s' has no value", path, line,
			    key);
			goto out;
		}
		if (slots[k] == NULL) {
			keep[i] = xstrdup(value);
			slots[k] = keep[i++];
		}
	}
	ret = 0;
out:
	free(seen);
	free(buf);
	fclose(f);
	return ret;
}

/* Handles a signal that arrived (arg: the loop). */
static void
daemon_signal(int signo, void *arg)
{
	struct loop *loop = arg;

	switch (signo) {
	case SIGTERM:
	case SIGINT:
		log_info("signal %d: shutting down", signo);
		loop_quit(loop);
		break;
	case SIGHUP:
		log_info("SIGHUP: nothing to reload");
		break;
	default:
		break;
	}
}

void
daemon_signals(struct loop *loop, int extra)
{
	sigset_t sigs;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	if (extra != 0)
		sigaddset(&sigs, extra);
	loop_signals(loop, &sigs, daemon_signal, loop);
}

void
daemon_get_info(struct call *call, const struct daemon_info *info)
{
	struct json_object *p, *ifaces;
	size_t i;

	p = json_object_new_object();
	json_object_object_add(p, "vendor", json_object_new_string("cml"));
	json_object_object_add(p, "product",
	    json_object_new_string(info->product));
	json_object_object_add(p, "version",
	    json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(p, "url", json_object_new_string(PACKAGE_URL));
	ifaces = json_object_new_array();
	for (i = 0; i < *info->ninterfaces; i++)
		json_object_array_add(ifaces,
		    json_object_new_string(info->interfaces[i].name));
	json_object_object_add(p, "interfaces", ifaces);
	call_reply(call, p);
}

void
daemon_get_interface_description(struct call *call,
    const struct daemon_info *info)
{
	const struct cml_interface *iface;
	struct json_object *p;
	const char *name;

	name = json_object_get_string(json_object_object_get(call->params,
	    "interface"));
	if ((iface = info->find(name)) == NULL) {
		call_error(call, PROTO_ERR_INTERFACE_NOT_FOUND, name,
		    "no interface '%s'%s", name, info->unknown);
		return;
	}
	p = json_object_new_object();
	json_object_object_add(p, "description",
	    json_object_new_string(iface->description));
	call_reply(call, p);
}

int
daemon_child_init(int deathsig)
{
	sigset_t none;

	if (prctl(PR_SET_PDEATHSIG, deathsig) == -1)
		return -1;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	return 0;
}

int
daemon_check_root(const char *name, const char *root)
{
	if (*root != '\0' && root[0] != '/') {
		fprintf(stderr, "%s: --root needs an absolute path, not '%s'\n",
		    name, root);
		return -1;
	}
	return 0;
}
