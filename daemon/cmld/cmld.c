/*
 * cmld: the container management daemon (stage 3).  Owns the state store,
 * the control socket and the audit trail.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmld.h"
#include "container.h"
#include "crypto.h"
#include "store.h"
#include "xmalloc.h"

#define CMLD_MAX_EVENTS 32

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: cmld [--root DIR] [--foreground] [--ready-fd N] "
	    "[--log-level LEVEL]\n"
	    "            [--cgroup-parent NAME]\n"
	    "       cmld --version | --help\n"
	    "  --root DIR         keep run, state and config directories "
	    "under DIR\n"
	    "  --foreground, -f   stay in the foreground, log to stderr\n"
	    "  --ready-fd N       write READY=1 to fd N once serving\n"
	    "  --log-level LEVEL  warning, info or debug (overrides the "
	    "log_level setting)\n"
	    "  --cgroup-parent NAME\n"
	    "                     make containers' cgroups under NAME "
	    "(default: cml)\n");
}

/* Creates dir and its parents and gives dir mode; exits on failure. */
static void
cmld_mkdirs(const char *dir, mode_t mode)
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

/* Makes a random (version 4) UUID. */
static char *
cmld_new_uuid(void)
{
	unsigned char b[16];
	ssize_t n;

	n = getrandom(b, sizeof b, 0);
	if (n != (ssize_t)sizeof b)
		fatal("getrandom");
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	return xasprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
	    b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* Reads the device row, creating it on first start; exits on error. */
static void
cmld_load_device(struct cmld *cmld)
{
	struct store_device dev = { 0 };
	char *cause = NULL, *uuid;
	int rc;

	rc = store_device_get(cmld->store, &dev, &cause);
	if (rc == 0) {
		uuid = cmld_new_uuid();
		if (store_device_create(cmld->store, uuid, &cause) == -1)
			fatalx("%s", cause);
		log_info("first start: device %s created, state factory",
		    uuid);
		audit_write(cmld, "daemon", NULL, "device", "ok",
		    "device %s created in state factory", uuid);
		free(uuid);
		rc = store_device_get(cmld->store, &dev, &cause);
	}
	if (rc != 1)
		fatalx("%s", cause != NULL ? cause : "no device row");
	cmld->uuid = xstrdup(dev.uuid);
	cmld->prov_state = xstrdup(dev.state);
	store_device_clear(&dev);
}

/* Tells systemd that cmld is ready, when run under it. */
static void
cmld_sd_notify(const char *state)
{
	struct sockaddr_un sun;
	const char *path = getenv("NOTIFY_SOCKET");
	socklen_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return;
	if (strlen(path) >= sizeof sun.sun_path) {
		log_warnx("NOTIFY_SOCKET is too long");
		return;
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("sd_notify socket");
		return;
	}
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len) == -1)
		log_warn("sd_notify to %s", path);
	close(fd);
}

/* Reports readiness on fd (the --ready-fd or the daemon pipe). */
static void
cmld_ready_fd(int fd)
{
	static const char msg[] = "READY=1\n";

	if (fd == -1)
		return;
	if (write(fd, msg, sizeof msg - 1) == -1)
		log_warn("cannot write to ready fd %d", fd);
	close(fd);
}

/*
 * Goes to the background.  The parent waits until the child is ready and
 * exits 0, or exits 1 when the child dies first (its errors went to the
 * parent's stderr).  Returns, in the child, the fd to report readiness on.
 */
static int
cmld_daemonize(void)
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

/* Detaches stdio from the terminal once the daemon is ready. */
static void
cmld_detach_stdio(void)
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

/* Writes the pid file; exits on failure. */
static void
cmld_write_pid(struct cmld *cmld)
{
	char *tmp;
	FILE *f;

	tmp = xasprintf("%s.tmp", cmld->pid_path);
	if ((f = fopen(tmp, "we")) == NULL)
		fatal("cannot write %s", tmp);
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0 || rename(tmp, cmld->pid_path) == -1)
		fatal("cannot write %s", cmld->pid_path);
	free(tmp);
}

/* Blocks the signals the loop handles and returns a signalfd for them. */
static int
cmld_signals(void)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		fatal("sigprocmask");
	if ((fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	return fd;
}

/* Handles the signals that arrived. */
static void
cmld_signal_event(struct cmld *cmld)
{
	struct signalfd_siginfo si;

	while (read(cmld->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_info("signal %u: shutting down", si.ssi_signo);
			cmld->quit = 1;
			break;
		case SIGHUP:
			log_info("SIGHUP: nothing to reload");
			break;
		default:
			break;
		}
	}
}

/* Adds fd to the loop with ptr as its tag. */
static void
cmld_watch(struct cmld *cmld, int fd, void *ptr)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN;
	ev.data.ptr = ptr;
	if (epoll_ctl(cmld->epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
		fatal("epoll_ctl");
}

/* Runs the event loop until asked to quit. */
static void
cmld_loop(struct cmld *cmld)
{
	struct epoll_event evs[CMLD_MAX_EVENTS];
	int i, n;

	while (!cmld->quit) {
		n = epoll_wait(cmld->epfd, evs, CMLD_MAX_EVENTS,
		    job_pending(cmld) ? 0 : -1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == &cmld->sigfd)
				cmld_signal_event(cmld);
			else if (evs[i].data.ptr == &cmld->lfd)
				server_accept(cmld);
			else if (((struct ev_tag *)evs[i].data.ptr)->kind ==
			    EV_CLIENT)
				server_client_event(cmld, evs[i].data.ptr,
				    evs[i].events);
			else
				container_event(cmld, evs[i].data.ptr,
				    evs[i].events);
		}
		if (!cmld->quit)
			job_run(cmld);
	}
}

/* Parses a file descriptor number; exits on a bad one. */
static int
cmld_parse_fd(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < 3 ||
	    v > INT_MAX || fcntl((int)v, F_GETFD) == -1) {
		fprintf(stderr, "cmld: --ready-fd %s is not an open file "
		    "descriptor above 2\n", s);
		exit(2);
	}
	return (int)v;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "ready-fd", required_argument, NULL, 'R' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "cgroup-parent", required_argument, NULL, 'c' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cmld cmld;
	struct rlimit nocore = { 0, 0 };
	enum log_level level = LOG_LEVEL_INFO;
	const char *root = "";
	char *cause = NULL;
	int ch, foreground = 0, ready_fd = -1, daemon_fd = -1;

	memset(&cmld, 0, sizeof cmld);
	cmld.cgroup_parent = CONTAINER_CGROUP_DIR;
	cmld.lfd = cmld.epfd = cmld.sigfd = -1;
	TAILQ_INIT(&cmld.clients);
	TAILQ_INIT(&cmld.jobs);
	TAILQ_INIT(&cmld.ctrs);
	while ((ch = getopt_long(argc, argv, "fh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			root = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'R':
			ready_fd = cmld_parse_fd(optarg);
			break;
		case 'l':
			if (log_level_parse(optarg, &level) == -1) {
				fprintf(stderr, "cmld: unknown log level '%s': "
				    "use warning, info or debug\n", optarg);
				return 2;
			}
			cmld.log_level_pinned = 1;
			break;
		case 'c':
			if (c_cgroups_parent_ok(optarg, &cause) == -1) {
				fprintf(stderr, "cmld: --cgroup-parent %s\n",
				    cause);
				free(cause);
				return 2;
			}
			cmld.cgroup_parent = optarg;
			break;
		case 'V':
			printf("cmld %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "cmld: must run as root\n");
		return 1;
	}
	if (*root != '\0' && root[0] != '/') {
		fprintf(stderr, "cmld: --root needs an absolute path, not "
		    "'%s'\n", root);
		return 2;
	}

	/* Keys will pass through this process: keep it out of core dumps. */
	(void)setrlimit(RLIMIT_CORE, &nocore);
	(void)prctl(PR_SET_DUMPABLE, 0);
	umask(0022);

	log_init("cmld", 1, level);
	if (!foreground)
		daemon_fd = cmld_daemonize();
	cmld.run_dir = xasprintf("%s/run/cml", root);
	cmld.state_dir = xasprintf("%s/var/lib/cml", root);
	cmld.conf_dir = xasprintf("%s/etc/cml", root);
	cmld.sock_path = xasprintf("%s/control.sock", cmld.run_dir);
	cmld.pid_path = xasprintf("%s/cmld.pid", cmld.run_dir);
	cmld.ctr_dir = xasprintf("%s/containers", cmld.run_dir);
	cmld_mkdirs(cmld.run_dir, 0755);
	/* Search permission for all: a user namespace's root is nobody here. */
	cmld_mkdirs(cmld.ctr_dir, 0711);
	cmld_mkdirs(cmld.state_dir, 0700);
	cmld_mkdirs(cmld.conf_dir, 0755);
	umask(0077);

	server_check_handlers();
	if ((cmld.store = store_open(cmld.state_dir, &cause)) == NULL)
		fatalx("%s", cause);
	if (device_load_settings(&cmld, &cause) == -1)
		fatalx("%s", cause);
	if (trust_reload(&cmld, &cause) == -1)
		fatalx("%s", cause);
	guestos_reconcile(&cmld);
	server_listen(&cmld);
	clock_gettime(CLOCK_MONOTONIC, &cmld.started);
	cmld_load_device(&cmld);

	if ((cmld.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1");
	cmld.sigfd = cmld_signals();
	cmld_watch(&cmld, cmld.sigfd, &cmld.sigfd);
	cmld_watch(&cmld, cmld.lfd, &cmld.lfd);
	cmld_write_pid(&cmld);
	containers_init(&cmld);

	audit_write(&cmld, "daemon", NULL, "cmld", "ok",
	    "cmld %s started (pid %ld, device %s, %s)", PACKAGE_VERSION,
	    (long)getpid(), cmld.uuid, cmld.prov_state);
	log_info("serving %s (state %s, cgroups under %s)", cmld.sock_path,
	    cmld.state_dir, cmld.cgroup_parent);
	if (!foreground) {
		log_init("cmld", 0, log_get_level());
		cmld_detach_stdio();
	}
	cmld_ready_fd(ready_fd);
	cmld_ready_fd(daemon_fd);
	cmld_sd_notify("READY=1");

	cmld_loop(&cmld);

	cmld_sd_notify("STOPPING=1");
	job_cancel_all(&cmld);
	server_shutdown(&cmld);
	containers_release(&cmld);
	audit_write(&cmld, "daemon", NULL, "cmld", "ok", "cmld stopped");
	(void)unlink(cmld.pid_path);
	store_close(cmld.store);
	crypto_trust_free(cmld.trust);
	close(cmld.epfd);
	close(cmld.sigfd);
	free(cmld.uuid);
	free(cmld.prov_state);
	free(cmld.device_name);
	free(cmld.c0_guestos);
	free(cmld.require_signed_configs);
	free(cmld.run_dir);
	free(cmld.state_dir);
	free(cmld.conf_dir);
	free(cmld.sock_path);
	free(cmld.pid_path);
	free(cmld.ctr_dir);
	log_info("stopped");
	return 0;
}
