/*
 * The container lifecycle: the module table, the clone of init and the
 * handshake with it, exec into a running container, adoption after a
 * restart, reaping and cleanup.
 *
 * Start: the modules prepare in cmld (cgroups, loop devices and detached
 * image mounts, device rules, the seccomp filter); init is cloned into new
 * namespaces and waits on a socket while the modules finish from cmld
 * (user namespace maps, cgroup membership); then it sets itself up, step by
 * step, and executes the init program.  A failed step comes back as one
 * message naming it; the socket is close-on-exec, so its end tells cmld
 * that the init program runs.
 */
#include "config.h"

#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include <linux/mount.h>
#include <linux/sched.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cconfig.h"
#include "container.h"
#include "file.h"
#include "guestos.h"
#include "log.h"
#include "netns.h"
#include "phases.h"
#include "xmalloc.h"

/* How long a child may take to set itself up, in milliseconds. */
#define CONTAINER_SETUP_TIMEOUT_MS 10000
/* How long cleanup waits for an adopted init to end after SIGKILL. */
#define CONTAINER_KILL_TIMEOUT_MS 5000

#define CONTAINER_DEFAULT_INIT "/sbin/init"
#define CONTAINER_DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:" \
	"/usr/sbin:/usr/bin:/sbin:/bin"

#ifndef OVERLAYFS_SUPER_MAGIC
#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* The namespaces of every container; the user namespace is added when set. */
#define CONTAINER_NS (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | \
	CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP)

/*
 * The order in which the modules run; cleanup runs backwards.  In the
 * child: ids first, so every later step runs as root inside; the root file
 * system is built under mntdir (from the images cmld mounts meanwhile),
 * /dev, /proc and /sys before the host's tree goes (in a user namespace
 * the kernel mounts proc and sysfs only while the host's are visible),
 * then the bind mounts over all of it and pivot_root.  The cgroup
 * namespace waits for cmld to have moved init into its cgroups, which
 * cmld does meanwhile, after the device rules.  seccomp needs
 * CAP_SYS_ADMIN, so it comes before the capabilities go.
 */
static const struct container_module *const container_modules[] = {
	&c_user_module,
	&c_mount_module,
	&c_devices_module,
	&c_procfs_module,
	&c_binds_module,
	&c_pivot_module,
	&c_namespaces_module,
	&c_cgroups_module,
	&c_seccomp_module,
	&c_caps_module,
};
#define CONTAINER_NMODULES \
	(sizeof container_modules / sizeof container_modules[0])

/* A message from the child on the sync socket. */
struct container_msg {
	char type; /* CONTAINER_MSG_ERROR or CONTAINER_MSG_EXEC */
	int err;
	char text[CONTAINER_MSG_MAX];
};
#define CONTAINER_MSG_ERROR 'E'
#define CONTAINER_MSG_EXEC 'X' /* about to execute: EOF next means it did */
#define CONTAINER_MSG_PTY 'P' /* an exec's pty master comes with it */

static int
container_pidfd_send_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

static int
container_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/*
 * Clones a child into new namespaces with fork semantics (no shared
 * memory: the child has its own copy of everything) and a pidfd.  Returns
 * the pid in the parent, 0 in the child, -1 with errno set.
 */
static pid_t
container_clone(int flags, int *pidfd)
{
	struct clone_args args;
	long ret;

	memset(&args, 0, sizeof args);
	args.flags = (uint64_t)flags | CLONE_PIDFD;
	args.pidfd = (uint64_t)(uintptr_t)pidfd;
	args.exit_signal = SIGCHLD;
	ret = syscall(SYS_clone3, &args, sizeof args);
	if (ret == -1 && errno == ENOSYS) {
		/* clone(2): flags, stack, parent_tid (the pidfd), ... */
		ret = syscall(SYS_clone, (unsigned long)flags | CLONE_PIDFD |
		    SIGCHLD, NULL, pidfd, NULL, 0);
	}
	return (pid_t)ret;
}

int
container_child_fail(struct container *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->child_msg, sizeof c->child_msg, fmt, ap);
	va_end(ap);
	c->child_errno = err;
	return -1;
}

int
container_mkdirs(const char *path)
{
	char buf[PATH_MAX];
	size_t len, i;

	len = strlen(path);
	if (len == 0 || len >= sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			return -1;
		buf[i] = path[i];
	}
	return 0;
}

int
container_mountpoint(struct container *c, const char *path, int how)
{
	return container_mountpoint_at(c, c->rootfd, path, how);
}

int
container_mountpoint_at(struct container *c, int dirfd, const char *path,
    int how)
{
	char comp[NAME_MAX + 1];
	const char *p = path, *e;
	size_t len;
	int dfd, nfd, last, saved;

	(void)c;
	if ((dfd = openat(dirfd, ".", O_PATH | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return -1;
	for (;;) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			return dfd;
		e = strchr(p, '/');
		len = e != NULL ? (size_t)(e - p) : strlen(p);
		if (len > NAME_MAX) {
			close(dfd);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(comp, p, len);
		comp[len] = '\0';
		if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0) {
			close(dfd);
			errno = EINVAL;
			return -1;
		}
		last = e == NULL || e[strspn(e, "/")] == '\0';
		if (last && how == CONTAINER_MP_FILE) {
			if (mknodat(dfd, comp, S_IFREG | 0644, 0) == -1 &&
			    errno != EEXIST)
				goto fail;
			nfd = openat(dfd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		} else {
			if (how != CONTAINER_MP_LOOKUP &&
			    mkdirat(dfd, comp, 0755) == -1 && errno != EEXIST)
				goto fail;
			nfd = openat(dfd, comp, O_PATH | O_NOFOLLOW |
			    (last ? 0 : O_DIRECTORY) | O_CLOEXEC);
		}
		if (nfd == -1)
			goto fail;
		close(dfd);
		dfd = nfd;
		if (last) {
			struct stat sb;

			if (fstat(dfd, &sb) == -1)
				goto fail;
			if (S_ISLNK(sb.st_mode)) {
				close(dfd);
				errno = ELOOP;
				return -1;
			}
			return dfd;
		}
		p = e;
	}
fail:
	saved = errno;
	close(dfd);
	errno = saved;
	return -1;
}

int
container_mount_fd(int fd, const char *source, const char *fstype,
    unsigned long flags, const char *data)
{
	char target[64];

	snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
	return mount(source, target, fstype, flags, data);
}

int
container_mount(struct container *c, const char *source, const char *path,
    const char *fstype, unsigned long flags, const char *data, int how)
{
	return container_mount_at(c, c->rootfd, source, path, fstype, flags,
	    data, how);
}

int
container_mount_at(struct container *c, int dirfd, const char *source,
    const char *path, const char *fstype, unsigned long flags,
    const char *data, int how)
{
	int fd, rc, saved;

	if ((fd = container_mountpoint_at(c, dirfd, path, how)) == -1)
		return -1;
	rc = container_mount_fd(fd, source, fstype, flags, data);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int
container_attach(struct container *c, int mfd, const char *path, int how)
{
	int fd, rc, saved;

	if ((fd = container_mountpoint(c, path, how)) == -1)
		return -1;
	rc = (int)syscall(SYS_move_mount, mfd, "", fd, "",
	    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int
container_write_file(const char *path, const char *s)
{
	size_t len = strlen(s);
	ssize_t n;
	int fd, saved;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	n = write(fd, s, len);
	saved = errno;
	close(fd);
	if (n == -1) {
		errno = saved;
		return -1;
	}
	if ((size_t)n != len) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/* Child side: sends a message to cmld; errors are of no use to anyone. */
static void
container_child_send(int sock, char type, int err, const char *text)
{
	struct container_msg msg;
	ssize_t n;

	memset(&msg, 0, sizeof msg);
	msg.type = type;
	msg.err = err;
	if (text != NULL)
		snprintf(msg.text, sizeof msg.text, "%s", text);
	do
		n = send(sock, &msg, sizeof msg, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
}

static unsigned long long container_sigs_changed(void);

/*
 * Child side: restores what a program expects at start (no blocked or
 * ignored signals: cmld blocks the ones its loop reads from a signalfd).
 * Only the dispositions cmld changed (c->sigs_changed) are set back: the
 * others are the default already.
 */
static void
container_child_signals(const struct container *c)
{
	/* The kernel's struct sigaction, all zero: SIG_DFL, no flags. */
	unsigned long ksa[4] = { 0 };
	struct sigaction sa;
	sigset_t set;
	int sig;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG && sig <= 64; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP ||
		    (c->sigs_changed & (1ULL << (sig - 1))) == 0)
			continue;
		/*
		 * The C library keeps two signals for itself and refuses them
		 * (32 and 33): ignored by whoever started cmld, they are set
		 * back all the same.
		 */
		if (sigaction(sig, &sa, NULL) == -1 && errno == EINVAL)
			(void)syscall(SYS_rt_sigaction, sig, ksa, NULL, 8);
	}
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
}

/* Child side: marks every descriptor from 3 up close-on-exec. */
static void
container_child_cloexec(void)
{
	int fd;

	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	for (fd = 3; fd < 4096; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* The token of container_release; a descriptor travels with its own. */
#define CONTAINER_GO 'g'
#define CONTAINER_FD 'f'

int
container_release(struct container *c, char **cause)
{
	char go = CONTAINER_GO;

	if (send(c->psock, &go, 1, MSG_NOSIGNAL) != 1) {
		*cause = xasprintf("the set-up process of container '%s' is "
		    "gone: %s", c->name, strerror(errno));
		return -1;
	}
	return 0;
}

int
container_send_fd(struct container *c, int fd, char **cause)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct cmsghdr *cmsg;
	struct msghdr msg;
	struct iovec iov;
	char tag = CONTAINER_FD;

	memset(&u, 0, sizeof u);
	memset(&msg, 0, sizeof msg);
	iov.iov_base = &tag;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof u.buf;
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
	if (sendmsg(c->psock, &msg, MSG_NOSIGNAL) != 1) {
		*cause = xasprintf("the set-up process of container '%s' is "
		    "gone: %s", c->name, strerror(errno));
		return -1;
	}
	return 0;
}

int
container_child_await(struct container *c)
{
	ssize_t n;
	char b;

	do
		n = read(c->sock, &b, 1);
	while (n == -1 && errno == EINTR);
	return n == 1 && b == CONTAINER_GO ? 0 : -1;
}

int
container_child_recv_fd(struct container *c, int *fd)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct cmsghdr *cmsg;
	struct msghdr msg;
	struct iovec iov;
	ssize_t n;
	char tag;

	memset(&msg, 0, sizeof msg);
	iov.iov_base = &tag;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof u.buf;
	do
		n = recvmsg(c->sock, &msg, MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	cmsg = CMSG_FIRSTHDR(&msg);
	if (n != 1 || tag != CONTAINER_FD || cmsg == NULL ||
	    cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS ||
	    cmsg->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	memcpy(fd, CMSG_DATA(cmsg), sizeof *fd);
	return 0;
}

/* Exec side: waits for cmld's go; returns -1 when cmld gave up. */
static int
container_child_wait(int sock)
{
	ssize_t n;
	char b;

	do
		n = read(sock, &b, 1);
	while (n == -1 && errno == EINTR);
	return n == 1 ? 0 : -1;
}

/* Child side: reports the failed step and ends. */
static void __attribute__((noreturn))
container_child_abort(struct container *c, int status)
{
	container_child_send(c->sock, CONTAINER_MSG_ERROR, c->child_errno,
	    c->child_msg);
	_exit(status);
}

/*
 * The pid that a waiting process (an exec's, or the init shim) passes
 * signals on to: set in that forked process only, never in cmld.
 */
static volatile pid_t container_fwd_pid;

/* The signals a waiting process passes on. */
static const int container_fwd_sigs[] = {
	SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
};
#define CONTAINER_NFWD (sizeof container_fwd_sigs / sizeof(int))

/* A waiting process's handler: passes a signal on. */
static void
container_fwd_handler(int sig)
{
	int saved = errno;

	if (container_fwd_pid > 0)
		kill(container_fwd_pid, sig);
	errno = saved;
}

/*
 * Before the fork of what a process will wait for: blocks the signals it
 * passes on (held until it knows whom to pass them to) and catches them,
 * the previous mask in *old.  Caught from now on, they are never lost
 * for a PID 1, whose default action the kernel skips.
 */
static void
container_fwd_prepare(sigset_t *old)
{
	struct sigaction sa;
	sigset_t fwd;
	size_t i;

	sigemptyset(&fwd);
	for (i = 0; i < CONTAINER_NFWD; i++)
		sigaddset(&fwd, container_fwd_sigs[i]);
	sigprocmask(SIG_BLOCK, &fwd, old);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = container_fwd_handler;
	sa.sa_flags = SA_RESTART;
	for (i = 0; i < CONTAINER_NFWD; i++)
		sigaction(container_fwd_sigs[i], &sa, NULL);
}

/* In the forked child: the default actions and mask old back. */
static void
container_fwd_child(const sigset_t *old)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (i = 0; i < CONTAINER_NFWD; i++)
		sigaction(container_fwd_sigs[i], &sa, NULL);
	sigprocmask(SIG_SETMASK, old, NULL);
}

/*
 * The waiting process: passes the signals on to pid, keeps none of
 * cmld's descriptors (its clients, its database) nor the child's pipes,
 * pty and socket, whose end must mean the child's end, waits for pid
 * (reaping any other child on the way: a PID 1 inherits orphans) and
 * ends with its status, 128 + N when signal N killed it.
 */
static void __attribute__((noreturn))
container_fwd_wait(pid_t pid, const sigset_t *old)
{
	pid_t got;
	int status, fd;

	container_fwd_pid = pid;
	sigprocmask(SIG_SETMASK, old, NULL);
	if (syscall(SYS_close_range, 0U, ~0U, 0) == -1) {
		for (fd = 0; fd < 4096; fd++)
			close(fd);
	}
	for (;;) {
		got = waitpid(-1, &status, 0);
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1)
			_exit(126);
		if (got == pid)
			break;
	}
	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));
	_exit(128 + WTERMSIG(status));
}

/*
 * Child side, with the init shim, once every module set the child up
 * (so the shim keeps exactly init's namespaces, root, cgroups, seccomp
 * filter and capability bounding set): forks.  The child returns, to go
 * on and execute init; this process stays PID 1, catching the signals
 * of container_fwd_sigs from before init runs, passing them on to init,
 * reaping orphans, and ending with init's status.  It executes nothing
 * and keeps a copy of cmld's memory, so it cannot be dumped or traced
 * (cconfig refuses CAP_SYS_PTRACE with it) and holds no capability.
 */
static void
container_child_shim(struct container *c)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[2];
	sigset_t old;
	pid_t pid;

	container_fwd_prepare(&old);
	if (prctl(PR_SET_DUMPABLE, 0) == -1) {
		container_child_fail(c, errno, "the init shim cannot be made "
		    "undumpable");
		container_child_abort(c, 1);
	}
	if ((pid = fork()) == -1) {
		container_child_fail(c, errno, "the init shim cannot fork "
		    "the init");
		container_child_abort(c, 1);
	}
	if (pid == 0) {
		container_fwd_child(&old);
		return;
	}
	memset(&hdr, 0, sizeof hdr);
	memset(data, 0, sizeof data);
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	/* It only signals and waits for its own children. */
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (syscall(SYS_capset, &hdr, data) == -1) {
		kill(pid, SIGKILL);
		_exit(1);
	}
	container_fwd_wait(pid, &old);
}

/* The child of container_start: becomes the container's init. */
static void __attribute__((noreturn))
container_child_main(struct container *c, int sock, int nullfd)
{
	size_t i;
	int out;

	c->sock = sock;
	container_child_signals(c);
	/* Signals to cmld's process group or session are not the container's. */
	setsid();
	/* What the kernel gives the first init. */
	umask(022);
	for (i = 0; i < CONTAINER_NMODULES; i++) {
		if (container_modules[i]->child == NULL)
			continue;
		if (container_modules[i]->child(c) == -1)
			container_child_abort(c, 1);
	}
	if (c->init_shim)
		container_child_shim(c);
	out = c->outfd != -1 ? c->outfd : nullfd;
	/* A console (a pty) is init's input too; not its controlling tty. */
	if (dup2(c->console ? out : nullfd, 0) == -1 || dup2(out, 1) == -1 ||
	    dup2(out, 2) == -1) {
		container_child_fail(c, errno, "redirection of init's standard "
		    "input and output failed");
		container_child_abort(c, 1);
	}
	container_child_cloexec();
	container_child_send(sock, CONTAINER_MSG_EXEC, 0, NULL);
	execve(c->argv[0], c->argv, c->envp);
	container_child_fail(c, errno, "execution of the init '%s' failed",
	    c->argv[0]);
	container_child_abort(c, 127);
}

/*
 * Waits for the child's verdict on sock: 0 once it executed its program,
 * -1 with *cause set when a step failed or it ended without saying why.
 * With execp, sock passes credentials (SO_PASSCRED) and *execp is set to
 * the pid, in cmld's PID namespace, of the process that said it executes
 * the program (the init shim's child).
 */
static int
container_sync_wait(struct container *c, int sock, pid_t pid, int *fdp,
    pid_t *execp, char **cause)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int)) +
		    CMSG_SPACE(sizeof(struct ucred))];
	} u;
	struct cmsghdr *cmsg;
	struct msghdr mh;
	struct iovec iov;
	struct container_msg msg;
	struct timespec t0, t1;
	struct pollfd pfd;
	long long left;
	int exec_seen = 0, r;
	ssize_t n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = CONTAINER_SETUP_TIMEOUT_MS -
		    ((t1.tv_sec - t0.tv_sec) * 1000LL +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0) {
			*cause = xasprintf("the set-up of container '%s' took "
			    "longer than %d s", c->name,
			    CONTAINER_SETUP_TIMEOUT_MS / 1000);
			return -1;
		}
		pfd.fd = sock;
		pfd.events = POLLIN;
		r = poll(&pfd, 1, (int)left);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			*cause = xasprintf("poll: %s", strerror(errno));
			return -1;
		}
		if (r == 0)
			continue;
		memset(&mh, 0, sizeof mh);
		iov.iov_base = &msg;
		iov.iov_len = sizeof msg;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof u.buf;
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		/* Only an exec's pty master comes along, and only where asked. */
		for (cmsg = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL; cmsg != NULL;
		    cmsg = CMSG_NXTHDR(&mh, cmsg)) {
			struct ucred cred;
			int fd;

			if (cmsg->cmsg_level != SOL_SOCKET)
				continue;
			if (cmsg->cmsg_type == SCM_CREDENTIALS &&
			    cmsg->cmsg_len == CMSG_LEN(sizeof cred)) {
				memcpy(&cred, CMSG_DATA(cmsg), sizeof cred);
				if (execp != NULL &&
				    msg.type == CONTAINER_MSG_EXEC)
					*execp = cred.pid;
				continue;
			}
			if (cmsg->cmsg_type != SCM_RIGHTS ||
			    cmsg->cmsg_len != CMSG_LEN(sizeof(int)))
				continue;
			memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
			if (fdp == NULL || *fdp != -1 ||
			    msg.type != CONTAINER_MSG_PTY) {
				close(fd);
				*cause = xasprintf("a descriptor nobody asked "
				    "for came from the container's set-up");
				return -1;
			}
			*fdp = fd;
		}
		/*
		 * A child that ended with messages of cmld's unread leaves a
		 * reset, reported before what it sent: read on.
		 */
		if (n == -1 && (errno == EINTR || errno == ECONNRESET))
			continue;
		if (n == -1) {
			*cause = xasprintf("reading from the container's set-up "
			    "failed: %s", strerror(errno));
			return -1;
		}
		if (n == 0) {
			if (exec_seen)
				return 0;
			*cause = xasprintf("the set-up process of container "
			    "'%s' (pid %ld) ended without a word", c->name,
			    (long)pid);
			return -1;
		}
		if ((size_t)n != sizeof msg) {
			*cause = xasprintf("a malformed message came from the "
			    "container's set-up");
			return -1;
		}
		msg.text[sizeof msg.text - 1] = '\0';
		if (msg.type == CONTAINER_MSG_EXEC) {
			exec_seen = 1;
			continue;
		}
		if (msg.type == CONTAINER_MSG_PTY && fdp != NULL && *fdp != -1)
			continue;
		if (msg.err != 0)
			*cause = xasprintf("%s: %s", msg.text, strerror(msg.err));
		else
			*cause = xstrdup(msg.text);
		return -1;
	}
}

/*
 * After a failure in cmld while the child was at work: when the child
 * failed first, its message says what went wrong, not the consequence.
 */
static void
container_sync_pending(int sock, char **cause)
{
	struct container_msg msg;
	struct pollfd pfd;
	ssize_t n;
	char *why;

	pfd.fd = sock;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 100) != 1)
		return;
	n = recv(sock, &msg, sizeof msg, MSG_DONTWAIT);
	if (n == -1 && errno == ECONNRESET)
		n = recv(sock, &msg, sizeof msg, MSG_DONTWAIT);
	if (n != (ssize_t)sizeof msg || msg.type != CONTAINER_MSG_ERROR)
		return;
	msg.text[sizeof msg.text - 1] = '\0';
	if (msg.err != 0)
		why = xasprintf("%s: %s", msg.text, strerror(msg.err));
	else
		why = xstrdup(msg.text);
	free(*cause);
	*cause = why;
}

/* Returns a copy of a NULL-terminated string array. */
static char **
container_strv_copy(char *const *v, size_t n)
{
	char **copy;
	size_t i;

	copy = xcalloc(n + 1, sizeof *copy);
	for (i = 0; i < n; i++)
		copy[i] = xstrdup(v[i]);
	return copy;
}

static void
container_strv_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* The environment: the config's, with a PATH when it has none. */
static char **
container_env(const struct cconfig *cfg)
{
	char **env;
	size_t i, n = 0;
	int has_path = 0;

	for (i = 0; i < cfg->nenv; i++) {
		if (strncmp(cfg->env[i], "PATH=", 5) == 0)
			has_path = 1;
	}
	env = xcalloc(cfg->nenv + 2, sizeof *env);
	if (!has_path)
		env[n++] = xstrdup(CONTAINER_DEFAULT_PATH);
	for (i = 0; i < cfg->nenv; i++)
		env[n++] = xstrdup(cfg->env[i]);
	return env;
}

static void
container_device_copy(struct container_device *d,
    const struct cconfig_device *s)
{
	d->type = s->type;
	d->major = s->major == CCONFIG_DEVICE_ANY ? -1 : s->major;
	d->minor = s->minor == CCONFIG_DEVICE_ANY ? -1 : s->minor;
	snprintf(d->access, sizeof d->access, "%s", s->access);
}

struct container *
container_new(const struct cconfig *cfg, const char *guestos_dir,
    const struct guestos_manifest *m, const char *rundir,
    const char *cgroup_parent, int index)
{
	struct container *c;
	struct container_image *img;
	size_t i, n;
	int cg;

	c = xcalloc(1, sizeof *c);
	c->name = xstrdup(cfg->name);
	c->pidfd = -1;
	c->outfd = -1;
	c->sock = -1;
	c->psock = -1;
	c->rootfd = -1;
	c->netns = -1;
	c->index = index;
	c->hostname = xstrdup(cfg->hostname != NULL ? cfg->hostname :
	    cfg->name);
	if (cfg->args != NULL && cfg->nargs > 0)
		c->argv = container_strv_copy(cfg->args, cfg->nargs);
	else {
		c->argv = xcalloc(2, sizeof *c->argv);
		c->argv[0] = xstrdup(m->init != NULL ? m->init :
		    CONTAINER_DEFAULT_INIT);
	}
	c->envp = container_env(cfg);
	c->init_shim = cfg->init_shim;
	c->caps = cfg->caps;
	c->memory_limit = cfg->memory_limit;
	c->cpu_shares = cfg->cpu_shares;
	c->cpu_quota = cfg->cpu_quota;
	c->cpu_period = cfg->cpu_period;
	if (cfg->cpu_cpus != NULL)
		c->cpus = xstrdup(cfg->cpu_cpus);
	c->pids_limit = cfg->pids_limit;

	n = cconfig_default_devices_len + cfg->ndevices;
	c->devices = xcalloc(n, sizeof *c->devices);
	for (i = 0; i < cconfig_default_devices_len; i++)
		container_device_copy(&c->devices[i], &cconfig_default_devices[i]);
	for (i = 0; i < cfg->ndevices; i++)
		container_device_copy(&c->devices[cconfig_default_devices_len + i],
		    &cfg->devices[i]);
	c->ndevices = n;

	c->userns = cfg->user_namespace;
	c->encrypted = cfg->storage_encrypted;
	c->storage_mb = cfg->storage_size_mb;

	c->images = xcalloc(m->nimages, sizeof *c->images);
	for (i = 0; i < m->nimages; i++) {
		img = &c->images[i];
		img->file = xstrdup(m->images[i].file);
		img->path = xasprintf("%s/%s", guestos_dir, m->images[i].file);
		img->fs = xstrdup(m->images[i].fs);
		img->mount = xstrdup(m->images[i].mount);
		img->fd = -1;
		img->mfd = -1;
		img->loop = -1;
	}
	c->nimages = m->nimages;
	c->rundir = xstrdup(rundir);
	c->mntdir = xasprintf("%s/%s", rundir, c->name);

	c->nsflags = CONTAINER_NS | (c->userns ? CLONE_NEWUSER : 0);
	c->cgparent = xstrdup(cgroup_parent != NULL ? cgroup_parent :
	    CONTAINER_CGROUP_DIR);
	for (cg = 0; cg < CONTAINER_CG_COUNT; cg++)
		c->cgroup[cg] = NULL;
	for (i = 0; i < CONTAINER_COUNTER_COUNT; i++)
		c->counter[i] = -1;
	for (i = 0; i < CONTAINER_NMODULES; i++) {
		if (container_modules[i]->init != NULL)
			container_modules[i]->init(c);
	}
	return c;
}

int
container_add_bind(struct container *c, const char *src, const char *dst,
    int readonly, char **cause)
{
	struct container_bind *b;

	if (c->pid != 0) {
		*cause = xasprintf("container '%s' is running: a bind mount "
		    "applies from its next start", c->name);
		return -1;
	}
	if (src[0] != '/' || dst[0] != '/' || strcmp(dst, "/") == 0 ||
	    strstr(dst, "/../") != NULL || (strlen(dst) >= 3 &&
	    strcmp(dst + strlen(dst) - 3, "/..") == 0)) {
		*cause = xasprintf("a bind mount needs absolute paths and a "
		    "target below / without '..': '%s' -> '%s'", src, dst);
		return -1;
	}
	c->binds = xreallocarray(c->binds, c->nbinds + 1, sizeof *c->binds);
	b = &c->binds[c->nbinds++];
	b->src = xstrdup(src);
	b->dst = xstrdup(dst);
	b->readonly = readonly;
	return 0;
}

void
container_set_image_fd(struct container *c, size_t i, int fd)
{
	if (i >= c->nimages) {
		if (fd != -1)
			close(fd);
		return;
	}
	if (c->images[i].fd != -1)
		close(c->images[i].fd);
	c->images[i].fd = fd;
}

void
container_set_image_verity(struct container *c, size_t i,
    const struct guestos_verity *vy, const char *dmname)
{
	if (i >= c->nimages)
		return;
	c->images[i].verity = *vy;
	if (snprintf(c->images[i].dmname, sizeof c->images[i].dmname, "%s",
	    dmname) >= (int)sizeof c->images[i].dmname)
		fatalx("device-mapper name %s too long", dmname);
}

void
container_set_output(struct container *c, int fd)
{
	c->outfd = fd;
	c->console = 0;
}

void
container_set_console(struct container *c, int fd)
{
	c->outfd = fd;
	c->console = 1;
}

/* Runs the cleanup hooks, last module first. */
static void
container_cleanup_modules(struct container *c)
{
	size_t i;

	for (i = CONTAINER_NMODULES; i > 0; i--) {
		if (container_modules[i - 1]->cleanup != NULL)
			container_modules[i - 1]->cleanup(c);
	}
}

/* Kills and collects a child that failed during its set-up. */
static void
container_kill_child(pid_t pid, int pidfd)
{
	siginfo_t si;

	if (pidfd != -1)
		container_pidfd_send_signal(pidfd, SIGKILL);
	else
		kill(pid, SIGKILL);
	memset(&si, 0, sizeof si);
	while (waitid(P_PID, (id_t)pid, &si, WEXITED) == -1 && errno == EINTR)
		;
}

/*
 * Clones the container's init: into new namespaces, or into the network
 * namespace cmld made for it (container_set_netns), which cmld enters only
 * for the clone (the child inherits it) and leaves at once; cmld exits
 * rather than go on in the wrong namespace.  As container_clone, -1 with
 * *cause set.
 */
static pid_t
container_clone_in(struct container *c, int *pidfd, char **cause)
{
	int flags = c->nsflags & ~CLONE_NEWCGROUP, self = -1, err;
	char *why = NULL;
	pid_t pid;

	if (c->netns != -1) {
		flags &= ~CLONE_NEWNET;
		if (netns_enter(c->netns, &self, &why) == -1) {
			*cause = xasprintf("cannot enter the network namespace "
			    "of container '%s': %s", c->name, why);
			free(why);
			return -1;
		}
	}
	pid = container_clone(flags, pidfd);
	err = errno;
	if (pid != 0)
		netns_leave(self);
	if (pid == -1)
		*cause = xasprintf("creating the namespaces of container '%s' "
		    "failed (clone): %s", c->name, strerror(err));
	return pid;
}

void
container_set_phases(struct container *c, struct phases *ph)
{
	c->phases = ph;
}

void
container_set_net_hook(struct container *c,
    int (*hook)(struct container *, pid_t, void *, char **), void *arg)
{
	c->net_hook = hook;
	c->net_arg = arg;
}

void
container_set_netns(struct container *c, int fd)
{
	if (c->netns != -1)
		close(c->netns);
	c->netns = fd;
}

int
container_start(struct container *c, char **cause)
{
	const struct container_module *mod;
	int sv[2] = { -1, -1 }, nullfd = -1, pidfd = -1, one = 1;
	pid_t pid = -1, initpid = 0;
	size_t i;
	struct timespec t0, t1;

	if (c->pid != 0) {
		*cause = xasprintf("container '%s' is running already", c->name);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	c->reaped = c->stopping = c->frozen = c->adopted = 0;
	for (i = 0; i < CONTAINER_NMODULES; i++) {
		mod = container_modules[i];
		if (mod->prepare != NULL && mod->prepare(c, cause) == -1)
			goto fail;
		if (mod->prepare != NULL)
			phases_mark(c->phases, mod->name);
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		*cause = xasprintf("socketpair: %s", strerror(errno));
		goto fail;
	}
	c->psock = sv[0];
	/* The shim's child says it executes init: its pid comes along. */
	if (c->init_shim && setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one,
	    sizeof one) == -1) {
		*cause = xasprintf("SO_PASSCRED: %s", strerror(errno));
		goto fail;
	}
	if ((nullfd = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		*cause = xasprintf("cannot open /dev/null: %s", strerror(errno));
		goto fail;
	}
	c->sigs_changed = container_sigs_changed();
	pid = container_clone_in(c, &pidfd, cause);
	if (pid == -1)
		goto fail;
	if (pid == 0) {
		close(sv[0]);
		container_child_main(c, sv[1], nullfd);
	}
	close(sv[1]);
	sv[1] = -1;
	c->pid = pid;
	c->pidfd = pidfd;
	phases_mark(c->phases, "clone");

	for (i = 0; i < CONTAINER_NMODULES; i++) {
		mod = container_modules[i];
		if (mod->started != NULL && mod->started(c, cause) == -1) {
			container_sync_pending(sv[0], cause);
			goto fail;
		}
		if (mod->started != NULL)
			phases_mark(c->phases, mod->name);
	}
	for (i = 0; i < CONTAINER_NMODULES; i++) {
		mod = container_modules[i];
		if (mod->running != NULL && mod->running(c, cause) == -1) {
			container_sync_pending(sv[0], cause);
			goto fail;
		}
		if (mod->running != NULL)
			phases_mark(c->phases, mod->name);
	}
	if (container_sync_wait(c, sv[0], pid, NULL,
	    c->init_shim ? &initpid : NULL, cause) == -1)
		goto fail;
	phases_mark(c->phases, "child");
	if (c->init_shim) {
		if (initpid <= 0) {
			*cause = xasprintf("the init shim of container '%s' "
			    "did not say which process is init", c->name);
			goto fail;
		}
		c->pid = initpid;
	}
	c->psock = -1;
	close(sv[0]);
	close(nullfd);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_debug("container %s: init %ld started in %.1f ms", c->name,
	    (long)c->pid, (t1.tv_sec - t0.tv_sec) * 1e3 +
	    (t1.tv_nsec - t0.tv_nsec) / 1e6);
	return 0;

fail:
	if (pid > 0)
		container_kill_child(pid, pidfd);
	if (pidfd != -1)
		close(pidfd);
	c->pid = 0;
	c->pidfd = -1;
	c->reaped = 1;
	c->psock = -1;
	if (sv[0] != -1)
		close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
	if (nullfd != -1)
		close(nullfd);
	container_cleanup_modules(c);
	return -1;
}

/* Runs the stop hooks (a frozen container is thawed, or it cannot end). */
static void
container_stop_modules(struct container *c)
{
	size_t i;

	for (i = 0; i < CONTAINER_NMODULES; i++) {
		if (container_modules[i]->stop != NULL)
			container_modules[i]->stop(c);
	}
}

int
container_signal(struct container *c, int sig, char **cause)
{
	if (c->pid == 0 || c->pidfd == -1) {
		*cause = xasprintf("container '%s' is not running", c->name);
		return -1;
	}
	if (sig == SIGTERM || sig == SIGKILL) {
		c->stopping = 1;
		container_stop_modules(c);
	}
	if (container_pidfd_send_signal(c->pidfd, sig) == -1 &&
	    errno != ESRCH) {
		*cause = xasprintf("cannot signal the init of container '%s': "
		    "%s", c->name, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Reads what a small file of /proc says into buf (NUL-terminated), at
 * most len - 1 bytes, in one go; -1 when it cannot be read.
 */
static int
container_proc_read(const char *path, char *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1)
		return -1;
	while (off < len - 1) {
		n = read(fd, buf + off, len - 1 - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	return off > 0 ? 0 : -1;
}

/*
 * Finds the line "KEY:\tVALUE" in a /proc status text and reads VALUE
 * in base (10 or 16); -1 when it is not there or not a number.
 */
static int
container_status_field(const char *text, const char *key, int base,
    long long *value)
{
	size_t klen = strlen(key);
	const char *p;
	char *end;

	for (p = text; p != NULL; p = strchr(p, '\n'), p = p != NULL ?
	    p + 1 : NULL) {
		if (strncmp(p, key, klen) != 0 || p[klen] != ':')
			continue;
		errno = 0;
		*value = (long long)strtoull(p + klen + 1, &end, base);
		if (errno != 0 || end == p + klen + 1 ||
		    (*end != '\n' && *end != '\0'))
			return -1;
		return 0;
	}
	return -1;
}

/*
 * The signals whose disposition this process changed from the default
 * (ignored or caught: SigIgn and SigCgt of /proc/self/status), bit sig -
 * 1; all of them when that cannot be read.
 */
static unsigned long long
container_sigs_changed(void)
{
	char buf[4096];
	long long cgt, ign;

	if (container_proc_read("/proc/self/status", buf, sizeof buf) == -1 ||
	    container_status_field(buf, "SigCgt", 16, &cgt) == -1 ||
	    container_status_field(buf, "SigIgn", 16, &ign) == -1)
		return ~0ULL;
	return (unsigned long long)cgt | (unsigned long long)ign;
}

int
container_sigaction(struct container *c, int sig)
{
	char path[64], buf[4096];
	long long pid, cgt, ign;
	unsigned long long bit;

	if (c->pidfd == -1 || sig < 1 || sig > 64)
		return -1;
	/* The pid the pidfd names (-1 once it ended), not one reused since. */
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", c->pidfd);
	if (container_proc_read(path, buf, sizeof buf) == -1 ||
	    container_status_field(buf, "Pid", 10, &pid) == -1 || pid <= 0 ||
	    pid > INT_MAX)
		return -1;
	snprintf(path, sizeof path, "/proc/%lld/status", pid);
	if (container_proc_read(path, buf, sizeof buf) == -1 ||
	    container_status_field(buf, "SigCgt", 16, &cgt) == -1 ||
	    container_status_field(buf, "SigIgn", 16, &ign) == -1)
		return -1;
	/* Still alive after the read: what it said was about this process. */
	if (container_pidfd_send_signal(c->pidfd, 0) == -1)
		return -1;
	bit = 1ULL << (sig - 1);
	if ((unsigned long long)cgt & bit)
		return CONTAINER_SIG_CAUGHT;
	if ((unsigned long long)ign & bit)
		return CONTAINER_SIG_IGNORED;
	return CONTAINER_SIG_DEFAULT;
}

int
container_stop(struct container *c, char **cause)
{
	return container_signal(c, SIGTERM, cause);
}

int
container_freeze(struct container *c, int frozen, char **cause)
{
	const struct container_module *mod;
	size_t i;
	int done = 0;

	if (c->pid == 0) {
		*cause = xasprintf("container '%s' is not running", c->name);
		return -1;
	}
	for (i = 0; i < CONTAINER_NMODULES; i++) {
		mod = container_modules[i];
		if (mod->freeze == NULL)
			continue;
		if (mod->freeze(c, frozen, cause) == -1)
			return -1;
		done = 1;
	}
	if (!done) {
		*cause = xasprintf("container '%s' cannot be %s: no module "
		    "freezes it", c->name, frozen ? "frozen" : "thawed");
		return -1;
	}
	c->frozen = frozen;
	return 0;
}

int
container_usage(struct container *c, struct container_usage *u)
{
	struct timespec ts;
	size_t i;

	u->uptime_ms = u->cpu_usec = u->memory_bytes = u->pids = -1;
	if (c->pid == 0)
		return -1;
	/* The same process while it runs: its start is read once. */
	if (c->started_ms <= 0)
		c->started_ms = file_proc_start_ms(c->pid);
	if (c->started_ms > 0 && clock_gettime(CLOCK_BOOTTIME, &ts) == 0) {
		u->uptime_ms = (long long)ts.tv_sec * 1000 +
		    ts.tv_nsec / 1000000 - c->started_ms;
		if (u->uptime_ms < 0)
			u->uptime_ms = 0;
	}
	for (i = 0; i < CONTAINER_NMODULES; i++) {
		if (container_modules[i]->usage != NULL)
			container_modules[i]->usage(c, u);
	}
	return 0;
}

/* Formats a byte count for a reason: "64 MiB". */
static char *
container_bytes(long long n)
{
	if (n % (1024 * 1024) == 0)
		return xasprintf("%lld MiB", n / (1024 * 1024));
	if (n % 1024 == 0)
		return xasprintf("%lld KiB", n / 1024);
	return xasprintf("%lld bytes", n);
}

/* Names a signal: "SIGKILL", or "signal 42". */
static char *
container_signame(int sig)
{
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev == NULL)
		return xasprintf("signal %d", sig);
	return xasprintf("SIG%s", abbrev);
}

int
container_reap(struct container *c, char **reason)
{
	struct pollfd pfd;
	siginfo_t si;
	long long oom, pids;
	char *base, *mem, *sig, *why;
	size_t i;
	int failed, code = -1, signo = 0;

	if (c->pid == 0 || c->pidfd == -1) {
		*reason = xasprintf("container '%s' is not running", c->name);
		return -1;
	}
	if (!c->adopted) {
		memset(&si, 0, sizeof si);
		if (waitid((idtype_t)P_PIDFD, (id_t)c->pidfd, &si,
		    WEXITED | WNOHANG) == -1) {
			*reason = xasprintf("waitid: %s", strerror(errno));
			return -1;
		}
		if (si.si_pid == 0) {
			*reason = xasprintf("container '%s' is running",
			    c->name);
			return -1;
		}
		if (si.si_code == CLD_EXITED)
			code = si.si_status;
		else
			signo = si.si_status;
		/*
		 * The shim ends with init's status, 128 + N when signal N
		 * ended init (a PID 1 cannot end by its own signal): what
		 * ended init is what ended the container.
		 */
		if (c->init_shim && code > 128 && code <= 128 + SIGRTMAX) {
			signo = code - 128;
			code = -1;
		}
	} else {
		pfd.fd = c->pidfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 0) != 1) {
			*reason = xasprintf("container '%s' is running",
			    c->name);
			return -1;
		}
	}
	c->reaped = 1;
	c->oom_kills = c->pids_hits = 0;
	for (i = 0; i < CONTAINER_NMODULES; i++) {
		if (container_modules[i]->ended != NULL)
			container_modules[i]->ended(c);
	}
	oom = c->oom_kills;
	pids = c->pids_hits;

	if (code >= 0)
		base = xasprintf("exited with status %d", code);
	else if (signo > 0) {
		sig = container_signame(signo);
		base = xasprintf("killed by %s", sig);
		free(sig);
	} else
		base = xstrdup("ended (its exit status is unknown: cmld was "
		    "restarted while it ran)");
	/* Asked to stop, any end is a stop; the unknown end of an adoptee too. */
	failed = !(code == 0 || (c->stopping && (code >= 0 || signo == 0 ||
	    signo == SIGTERM || signo == SIGKILL)));
	if (oom > 0) {
		mem = container_bytes(c->memory_limit);
		/* When a stop or kill was asked, that is what ended it. */
		if (signo == SIGKILL && !c->stopping)
			why = xasprintf("killed by the OOM killer: memory limit "
			    "%s", mem);
		else
			why = xasprintf("%s after the OOM killer ended %lld of "
			    "its processes: memory limit %s", base, oom, mem);
		free(base);
		free(mem);
		base = why;
		if (!c->stopping)
			failed = 1;
	}
	if (pids > 0) {
		why = xasprintf("%s; its pids limit (%lld) was hit %lld "
		    "time%s", base, c->pids_limit, pids, pids == 1 ? "" : "s");
		free(base);
		base = why;
		if (!c->stopping)
			failed = 1;
	}
	*reason = base;
	container_cleanup(c);
	return failed ? CONTAINER_FAILED : CONTAINER_STOPPED;
}

/*
 * Exec side, in the process that runs the command: executes argv[0], or
 * with no '/' in it the first match in the PATH of the container's
 * environment (the default PATH without one), as docker exec does.
 * Never returns.
 */
static void __attribute__((noreturn))
container_exec_path(struct container *c, char *const argv[])
{
	const char *path = CONTAINER_DEFAULT_PATH + 5, *p, *e;
	char buf[PATH_MAX];
	size_t i, dl, nl;
	int seen = 0;

	if (strchr(argv[0], '/') != NULL) {
		execve(argv[0], argv, c->envp);
		container_child_fail(c, errno, "execution of '%s' in container "
		    "'%s' failed", argv[0], c->name);
		container_child_abort(c, 127);
	}
	for (i = 0; c->envp != NULL && c->envp[i] != NULL; i++)
		if (strncmp(c->envp[i], "PATH=", 5) == 0)
			path = c->envp[i] + 5;
	nl = strlen(argv[0]);
	for (p = path;; p = e + 1) {
		e = strchr(p, ':');
		dl = e != NULL ? (size_t)(e - p) : strlen(p);
		/* an empty entry is the directory itself: "/" here */
		if (dl + 1 + nl < sizeof buf) {
			memcpy(buf, p, dl);
			buf[dl] = '/';
			memcpy(buf + dl + 1, argv[0], nl + 1);
			execve(buf, argv, c->envp);
			if (errno == EACCES)
				seen = 1;
			else if (errno != ENOENT && errno != ENOTDIR) {
				container_child_fail(c, errno, "execution of "
				    "'%s' in container '%s' failed", buf,
				    c->name);
				container_child_abort(c, 127);
			}
		}
		if (e == NULL)
			break;
	}
	if (seen)
		container_child_fail(c, EACCES, "execution of '%s' in container "
		    "'%s' failed", argv[0], c->name);
	else
		container_child_fail(c, 0, "'%s' was not found in the PATH of "
		    "container '%s' (%s)", argv[0], c->name, path);
	container_child_abort(c, 127);
}

/* Exec side, in the process that runs the command: never returns. */
static void __attribute__((noreturn))
container_exec_run(struct container *c, char *const argv[], int in, int out,
    int err, int pty)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
		goto fail;
	if (pty != -1) {
		/* a session of its own, the pty its controlling terminal */
		if (setsid() == -1 || ioctl(pty, TIOCSCTTY, 0) == -1 ||
		    dup2(pty, 0) == -1 || dup2(pty, 1) == -1 ||
		    dup2(pty, 2) == -1)
			goto fail;
	} else if (dup2(in, 0) == -1 || dup2(out, 1) == -1 ||
	    dup2(err, 2) == -1)
		goto fail;
	container_child_cloexec();
	container_child_send(c->sock, CONTAINER_MSG_EXEC, 0, NULL);
	container_exec_path(c, argv);
fail:
	container_child_fail(c, errno, "redirection of the command's standard "
	    "input and output failed");
	container_child_abort(c, 126);
}

/*
 * Exec side, with a tty: opens a pseudo-terminal of the container's own
 * devpts (its /dev/ptmx, in its mount namespace and root), sized as asked,
 * sends the master to cmld and returns the slave (opened from the master,
 * so that no path in the container can stand in for it); -1 on failure.
 */
static int
container_exec_pty(struct container *c, const struct container_exec_io *io)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct container_msg msg;
	struct cmsghdr *cmsg;
	struct msghdr mh;
	struct iovec iov;
	struct winsize ws;
	int master, slave, unlock = 0;
	ssize_t n;

	master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master == -1) {
		container_child_fail(c, errno, "opening /dev/ptmx in container "
		    "'%s' failed", c->name);
		return -1;
	}
	if (ioctl(master, TIOCSPTLCK, &unlock) == -1 ||
	    (slave = ioctl(master, TIOCGPTPEER,
	    O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1) {
		container_child_fail(c, errno, "opening a pseudo-terminal in "
		    "container '%s' failed", c->name);
		close(master);
		return -1;
	}
	if (io->rows > 0 && io->cols > 0) {
		memset(&ws, 0, sizeof ws);
		ws.ws_row = io->rows;
		ws.ws_col = io->cols;
		(void)ioctl(master, TIOCSWINSZ, &ws);
	}
	memset(&msg, 0, sizeof msg);
	msg.type = CONTAINER_MSG_PTY;
	memset(&u, 0, sizeof u);
	memset(&mh, 0, sizeof mh);
	iov.iov_base = &msg;
	iov.iov_len = sizeof msg;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof u.buf;
	cmsg = CMSG_FIRSTHDR(&mh);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &master, sizeof master);
	do
		n = sendmsg(c->sock, &mh, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	close(master);
	if (n != (ssize_t)sizeof msg) {
		close(slave);
		return -1;
	}
	return slave;
}

/*
 * Exec side, the first process: enters the container's namespaces and
 * root, takes on its restrictions, forks the command into its PID
 * namespace, passes on the signals it gets and the command's status as
 * its own.
 */
static void __attribute__((noreturn))
container_exec_child(struct container *c, char *const argv[],
    const struct container_exec_io *io, int sock, int rootfd, int in,
    int out, int err)
{
	sigset_t old;
	size_t i;
	pid_t pid;
	int pty = -1;

	c->sock = sock;
	container_child_signals(c);
	umask(022);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 ||
	    container_child_wait(sock) == -1)
		_exit(126);
	if (setns(c->pidfd, c->nsflags) == -1) {
		container_child_fail(c, errno, "entering the namespaces of "
		    "container '%s' failed", c->name);
		container_child_abort(c, 126);
	}
	if (fchdir(rootfd) == -1 || chroot(".") == -1 || chdir("/") == -1) {
		container_child_fail(c, errno, "entering the root of container "
		    "'%s' failed", c->name);
		container_child_abort(c, 126);
	}
	close(rootfd);
	for (i = 0; i < CONTAINER_NMODULES; i++) {
		if (container_modules[i]->enter == NULL)
			continue;
		if (container_modules[i]->enter(c) == -1)
			container_child_abort(c, 126);
	}
	if (io->tty && (pty = container_exec_pty(c, io)) == -1)
		container_child_abort(c, 126);
	container_fwd_prepare(&old);
	if ((pid = fork()) == -1) {
		container_child_fail(c, errno, "fork into container '%s' failed",
		    c->name);
		container_child_abort(c, 126);
	}
	if (pid == 0) {
		container_fwd_child(&old);
		container_exec_run(c, argv, in, out, err, pty);
	}
	container_fwd_wait(pid, &old);
}

int
container_exec(struct container *c, char *const argv[], pid_t *pidp,
    int *outp, int *errp, char **cause)
{
	const struct container_exec_io io = { 0 };
	int fds[3];

	if (container_exec_io(c, argv, &io, pidp, fds, cause) == -1)
		return -1;
	*outp = fds[1];
	*errp = fds[2];
	return 0;
}

int
container_exec_io(struct container *c, char *const argv[],
    const struct container_exec_io *io, pid_t *pidp, int fds[3],
    char **cause)
{
	const struct container_module *mod;
	int sv[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int in[2] = { -1, -1 }, rootfd = -1, nullfd = -1, rc = -1, status;
	int pty = -1;
	pid_t pid = -1;
	char *path = NULL, go = CONTAINER_GO;
	size_t i;

	if (c->pid == 0 || c->pidfd == -1 || c->reaped) {
		*cause = xasprintf("container '%s' is not running", c->name);
		return -1;
	}
	if (c->frozen) {
		*cause = xasprintf("container '%s' is frozen: unfreeze it "
		    "first", c->name);
		return -1;
	}
	if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0' ||
	    (argv[0][0] != '/' && strchr(argv[0], '/') != NULL)) {
		*cause = xasprintf("the command must be an absolute path inside "
		    "the container or a name found in its PATH");
		return -1;
	}
	path = xasprintf("/proc/%ld/root", (long)c->pid);
	rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd == -1 || container_pidfd_send_signal(c->pidfd, 0) == -1) {
		*cause = xasprintf("container '%s' is not running", c->name);
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1 ||
	    (!io->tty && (pipe2(out, O_CLOEXEC) == -1 ||
	    pipe2(err, O_CLOEXEC) == -1)) ||
	    (!io->tty && io->input && pipe2(in, O_CLOEXEC) == -1) ||
	    (nullfd = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		*cause = xasprintf("cannot set up an exec: %s", strerror(errno));
		goto out;
	}
	c->sigs_changed = container_sigs_changed();
	if ((pid = fork()) == -1) {
		*cause = xasprintf("fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		close(sv[0]);
		if (!io->tty) {
			close(out[0]);
			close(err[0]);
		}
		if (in[1] != -1)
			close(in[1]);
		container_exec_child(c, argv, io, sv[1], rootfd,
		    in[0] != -1 ? in[0] : nullfd, out[1], err[1]);
	}
	close(sv[1]);
	sv[1] = -1;
	if (out[1] != -1)
		close(out[1]);
	if (err[1] != -1)
		close(err[1]);
	if (in[0] != -1)
		close(in[0]);
	out[1] = err[1] = in[0] = -1;
	for (i = 0; i < CONTAINER_NMODULES; i++) {
		mod = container_modules[i];
		if (mod->join != NULL && mod->join(c, pid, cause) == -1)
			goto out;
	}
	if (send(sv[0], &go, 1, MSG_NOSIGNAL) != 1) {
		*cause = xasprintf("the exec process is gone: %s",
		    strerror(errno));
		goto out;
	}
	if (container_sync_wait(c, sv[0], pid, io->tty ? &pty : NULL, NULL,
	    cause) == -1)
		goto out;
	if (io->tty && pty == -1) {
		*cause = xasprintf("no pseudo-terminal came from container "
		    "'%s'", c->name);
		goto out;
	}
	*pidp = pid;
	fds[0] = in[1];
	fds[1] = io->tty ? pty : out[0];
	fds[2] = err[0];
	in[1] = out[0] = err[0] = pty = -1;
	pid = -1;
	rc = 0;
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
	}
	for (i = 0; i < 2; i++) {
		if (sv[i] != -1)
			close(sv[i]);
		if (out[i] != -1)
			close(out[i]);
		if (err[i] != -1)
			close(err[i]);
		if (in[i] != -1)
			close(in[i]);
	}
	if (pty != -1)
		close(pty);
	if (nullfd != -1)
		close(nullfd);
	if (rootfd != -1)
		close(rootfd);
	free(path);
	return rc;
}

/* Checks that pid is the init of a PID namespace (NSpid ends in 1). */
static int
container_adopt_nspid(pid_t pid, char **cause)
{
	char *path, *line = NULL, *last = NULL, *tok, *save;
	size_t size = 0;
	int found = 0, levels = 0;
	FILE *f;

	path = xasprintf("/proc/%ld/status", (long)pid);
	f = fopen(path, "re");
	free(path);
	if (f == NULL) {
		*cause = xasprintf("process %ld is gone", (long)pid);
		return -1;
	}
	while (getline(&line, &size, f) != -1) {
		if (strncmp(line, "NSpid:", 6) != 0)
			continue;
		found = 1;
		for (tok = strtok_r(line + 6, " \t\n", &save); tok != NULL;
		    tok = strtok_r(NULL, " \t\n", &save)) {
			levels++;
			last = tok;
		}
		if (levels >= 2 && strcmp(last, "1") == 0)
			found = 2;
		break;
	}
	free(line);
	fclose(f);
	if (found != 2) {
		*cause = xasprintf("process %ld is not the init of a PID "
		    "namespace", (long)pid);
		return -1;
	}
	return 0;
}

/* Checks that pid lives in its own mount namespace on an overlay root. */
static int
container_adopt_root(pid_t pid, char **cause)
{
	struct stat ours, theirs;
	struct statfs fs;
	char *path;
	int rc = -1;

	path = xasprintf("/proc/%ld/ns/mnt", (long)pid);
	if (stat("/proc/self/ns/mnt", &ours) == -1 ||
	    stat(path, &theirs) == -1 || ours.st_ino == theirs.st_ino) {
		*cause = xasprintf("process %ld has no mount namespace of its "
		    "own", (long)pid);
		goto out;
	}
	free(path);
	path = xasprintf("/proc/%ld/root", (long)pid);
	if (statfs(path, &fs) == -1 ||
	    (unsigned long)fs.f_type != OVERLAYFS_SUPER_MAGIC) {
		*cause = xasprintf("the root of process %ld is not a "
		    "container's overlay", (long)pid);
		goto out;
	}
	rc = 0;
out:
	free(path);
	return rc;
}

/*
 * Reads process pid's parent and its pid in its own PID namespace (the
 * last of NSpid); -1 when it is gone.
 */
static int
container_proc_ids(pid_t pid, long long *ppid, long long *nspid)
{
	char path[64], buf[4096];
	const char *p, *e;

	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if (container_proc_read(path, buf, sizeof buf) == -1 ||
	    container_status_field(buf, "PPid", 10, ppid) == -1 ||
	    (p = strstr(buf, "\nNSpid:")) == NULL)
		return -1;
	if ((e = strchr(p + 1, '\n')) == NULL)
		return -1;
	while (e > p && (e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t'))
		e--;
	for (p = e; p[-1] >= '0' && p[-1] <= '9'; p--)
		;
	if (p == e)
		return -1;
	*nspid = strtoll(p, NULL, 10);
	return 0;
}

/*
 * With the init shim: from pid, the shim (a namespace's init) or its
 * child init (as the store records it), finds both: *shim to adopt, and
 * *init (the shim itself when its child is gone).
 */
static void
container_adopt_shim(struct container *c, pid_t pid, pid_t *shim,
    pid_t *init)
{
	long long ppid, nspid;
	pid_t *pids = NULL;
	size_t i;

	*shim = *init = pid;
	if (container_proc_ids(pid, &ppid, &nspid) == -1)
		return;
	if (nspid != 1) {
		*shim = (pid_t)ppid;
		return;
	}
	for (i = 0; i < CONTAINER_NMODULES && pids == NULL; i++) {
		if (container_modules[i]->procs != NULL)
			pids = container_modules[i]->procs(c);
	}
	for (i = 0; pids != NULL && pids[i] != 0; i++) {
		if (container_proc_ids(pids[i], &ppid, &nspid) == 0 &&
		    ppid == pid && nspid == 2) {
			*init = pids[i];
			break;
		}
	}
	free(pids);
}

int
container_adopt(struct container *c, pid_t pid, char **cause)
{
	size_t i;
	int pidfd;
	pid_t init = pid;

	if (c->pid != 0) {
		*cause = xasprintf("container '%s' is running already", c->name);
		return -1;
	}
	if (pid <= 1) {
		*cause = xasprintf("%ld is no container's init", (long)pid);
		return -1;
	}
	if (c->init_shim)
		container_adopt_shim(c, pid, &pid, &init);
	if (pid <= 1 || (pidfd = container_pidfd_open(pid)) == -1) {
		*cause = xasprintf("process %ld is gone: %s", (long)pid,
		    strerror(errno));
		return -1;
	}
	c->pid = pid;
	c->pidfd = pidfd;
	if (container_adopt_nspid(pid, cause) == -1 ||
	    container_adopt_root(pid, cause) == -1)
		goto fail;
	for (i = 0; i < CONTAINER_NMODULES; i++) {
		if (container_modules[i]->adopt != NULL &&
		    container_modules[i]->adopt(c, cause) == -1)
			goto fail;
	}
	/* The pidfd was open before the checks: they were about this process. */
	if (container_pidfd_send_signal(pidfd, 0) == -1) {
		*cause = xasprintf("process %ld is gone", (long)pid);
		goto fail;
	}
	/* What is reported is the init program's pid, the shim's child. */
	c->pid = init;
	c->adopted = 1;
	c->reaped = 0;
	c->stopping = 0;
	c->mnt_owned = 1;
	return 0;
fail:
	close(pidfd);
	c->pid = 0;
	c->pidfd = -1;
	return -1;
}

void
container_cleanup(struct container *c)
{
	struct pollfd pfd;
	siginfo_t si;

	if (c->pidfd != -1 && !c->reaped) {
		c->stopping = 1;
		container_stop_modules(c);
		container_pidfd_send_signal(c->pidfd, SIGKILL);
		if (!c->adopted) {
			memset(&si, 0, sizeof si);
			while (waitid((idtype_t)P_PIDFD, (id_t)c->pidfd, &si,
			    WEXITED) == -1 && errno == EINTR)
				;
		} else {
			pfd.fd = c->pidfd;
			pfd.events = POLLIN;
			if (poll(&pfd, 1, CONTAINER_KILL_TIMEOUT_MS) != 1)
				log_warnx("container %s: init %ld survived "
				    "SIGKILL", c->name, (long)c->pid);
		}
		c->reaped = 1;
	}
	if (c->pidfd != -1)
		close(c->pidfd);
	c->pidfd = -1;
	c->pid = 0;
	c->started_ms = 0;
	c->frozen = 0;
	container_cleanup_modules(c);
}

pid_t
container_find(struct container *c)
{
	pid_t *pids = NULL, found = 0;
	char *cause = NULL;
	size_t i;

	for (i = 0; i < CONTAINER_NMODULES && pids == NULL; i++) {
		if (container_modules[i]->procs != NULL)
			pids = container_modules[i]->procs(c);
	}
	for (i = 0; pids != NULL && pids[i] != 0 && found == 0; i++) {
		if (container_adopt_nspid(pids[i], &cause) == 0)
			found = pids[i];
		free(cause);
		cause = NULL;
	}
	free(pids);
	return found;
}

int
container_purge(struct container *c, char **cause)
{
	if (c->pid != 0) {
		*cause = xasprintf("container '%s' is running: stop it instead",
		    c->name);
		return -1;
	}
	c->cgroup_owned = 1;
	c->mnt_owned = 1;
	c->reaped = 1;
	container_cleanup_modules(c);
	return 0;
}

void
container_free(struct container *c)
{
	if (c == NULL)
		return;
	container_cleanup(c);
	container_forget(c);
}

void
container_forget(struct container *c)
{
	size_t i;
	int cg;

	if (c == NULL)
		return;
	if (c->pidfd != -1)
		close(c->pidfd);
	if (c->netns != -1)
		close(c->netns);
	free(c->name);
	free(c->hostname);
	container_strv_free(c->argv);
	container_strv_free(c->envp);
	free(c->cpus);
	free(c->devices);
	for (i = 0; i < c->nimages; i++) {
		if (c->images[i].fd != -1)
			close(c->images[i].fd);
		free(c->images[i].file);
		free(c->images[i].path);
		free(c->images[i].fs);
		free(c->images[i].mount);
	}
	free(c->images);
	for (i = 0; i < c->nbinds; i++) {
		free(c->binds[i].src);
		free(c->binds[i].dst);
	}
	free(c->binds);
	if (c->vol.fd != -1)
		close(c->vol.fd);
	free(c->vol.file);
	free(c->vol.mount);
	free(c->mntdir);
	free(c->rundir);
	for (cg = 0; cg < CONTAINER_CG_COUNT; cg++) {
		free(c->cgroup[cg]);
	}
	for (i = 0; i < CONTAINER_COUNTER_COUNT; i++) {
		if (c->counter[i] >= 0)
			close(c->counter[i]);
	}
	free(c->cgroup2);
	free(c->cgparent);
	free(c->filter);
	if (c->capstate != NULL)
		cap_free(c->capstate);
	for (i = 0; i < c->nnodes; i++) {
		free(c->nodes[i].host);
		free(c->nodes[i].name);
	}
	free(c->nodes);
	free(c);
}
