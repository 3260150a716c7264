/*
 * Data volumes (c-volume.h): made with mke2fs the first time, checked with
 * e2fsck -p before every later start, both child processes that a start
 * job waits for in short steps.  An encrypted volume's child (c-luks.c)
 * and a wipe's report in one message over a socket instead, read here in
 * the same short steps.
 */
#include "config.h"

#include <sys/poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "c-luks.h"
#include "c-volume.h"
#include "dm.h"
#include "log.h"
#include "xmalloc.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* The longest one step waits for the child, in milliseconds. */
#define CVOL_STEP_MS 10
/* What is kept of a child's output for the reason of a refusal. */
#define CVOL_OUTPUT_MAX 4096
/*
 * How long a start waits for the loop device of the container's last run
 * to be released (a container cmld found again after a restart ends
 * without cmld knowing its loop device), in milliseconds.
 */
#define CVOL_IN_USE_MS 2000
#define CVOL_CHILD_PATH "/proc/self/fd/3"

enum cvol_stage {
	CVOL_MKFS, /* mke2fs runs on ID.ext4.new */
	CVOL_IN_USE, /* a loop device still serves ID.ext4 */
	CVOL_CHECK, /* e2fsck runs on ID.ext4 */
	CVOL_LUKS, /* the child of an encrypted volume runs (c-luks.c) */
	CVOL_WIPE, /* the child of a wipe runs */
	CVOL_READY,
};

struct cvol {
	char *name; /* the container's, for messages */
	char *id;
	char *dir; /* state_dir/volumes */
	char *base; /* ID.ext4 or ID.luks */
	char *path; /* dir/base */
	long long size; /* bytes */
	enum cvol_stage stage;
	int waited_ms; /* in CVOL_IN_USE */
	int encrypted; /* ID.luks, opened by a child (c-luks.c) */
	enum cvol_refusal refusal;
	int keyslot; /* the keyslot the key opened; -1 */
	const char *done;
	int dfd; /* the directory */
	int fd; /* the volume file (the new one while it is made) */
	pid_t pid; /* the child; 0: none */
	int pidfd;
	int out; /* the child's stdout and stderr; -1 */
	char output[CVOL_OUTPUT_MAX];
	size_t outlen;
	/* An encrypted volume or a wipe: the child's report. */
	int is_new; /* the file is ID.luks.new, made now */
	int sock; /* the parent's end of the child's socket; -1 */
	int got_msg;
	struct cluks_msg msg;
	int msgfd; /* the dm-crypt device that came with it; -1 */
	char *done_text; /* what cvol_done says, when made here */
	char *device; /* "/dev/mapper/cml-ID" once ready */
	char *wipe_header, *wipe_volume, *wipe_device;
};

char *
cvol_path(const char *state_dir, const char *id)
{
	return xasprintf("%s/" CVOL_DIR "/%s" CVOL_SUFFIX, state_dir, id);
}

char *
cvol_path_luks(const char *state_dir, const char *id)
{
	return xasprintf("%s/" CVOL_DIR "/%s" CVOL_LUKS_SUFFIX, state_dir,
	    id);
}

int
cvol_have_dm(void)
{
	return dm_present();
}


/*
 * Runs argv[0] (a program of e2fsprogs) on the volume file, passed as
 * descriptor CVOL_CHILD_FD, its output kept for messages.  -1 with
 * *cause set.
 */
static int
cvol_spawn(struct cvol *v, char *const argv[], char **cause)
{
	pid_t pid;

	if ((pid = cvol_fork_program(argv, v->fd, &v->out, cause)) == -1)
		return -1;
	v->pid = pid;
	v->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (v->pidfd == -1)
		fatal("pidfd_open");
	if (fcntl(v->out, F_SETFL, O_NONBLOCK) == -1)
		fatal("fcntl");
	v->outlen = 0;
	v->output[0] = '\0';
	return 0;
}

/* Reads what the child wrote so far (the rest of a long output is lost). */
static void
cvol_read_output(struct cvol *v)
{
	char buf[512];
	ssize_t n;
	size_t room;

	if (v->out == -1)
		return;
	while ((n = read(v->out, buf, sizeof buf)) > 0) {
		room = sizeof v->output - 1 - v->outlen;
		if ((size_t)n > room)
			n = (ssize_t)room;
		memcpy(v->output + v->outlen, buf, (size_t)n);
		v->outlen += (size_t)n;
		v->output[v->outlen] = '\0';
	}
}

/*
 * Waits up to CVOL_STEP_MS for the child.  Returns 0 while it runs, 1 when
 * it ended, with *status its exit status (128 + N when killed by N).
 */
static int
cvol_wait(struct cvol *v, int *status)
{
	struct pollfd pfd;
	siginfo_t si;

	pfd.fd = v->pidfd;
	pfd.events = POLLIN;
	cvol_read_output(v);
	if (poll(&pfd, 1, CVOL_STEP_MS) != 1)
		return 0;
	memset(&si, 0, sizeof si);
	while (waitid((idtype_t)P_PIDFD, (id_t)v->pidfd, &si, WEXITED) == -1) {
		if (errno != EINTR)
			fatal("waitid");
	}
	cvol_read_output(v);
	close(v->pidfd);
	v->pidfd = -1;
	if (v->out != -1)
		close(v->out);
	v->out = -1;
	v->pid = 0;
	*status = si.si_code == CLD_EXITED ? si.si_status :
	    128 + si.si_status;
	return 1;
}

/*
 * The gist of a child's output for a message: its first line, the
 * descriptor path replaced by the volume's file (free it).
 */
static char *
cvol_output(struct cvol *v)
{
	char *s, *line, *save, *out = xstrdup(""), *tmp, *at;

	s = xstrdup(v->output);
	for (line = strtok_r(s, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		line += strspn(line, " \t\r");
		if (*line == '\0')
			continue;
		free(out);
		out = xstrdup(line);
		break;
	}
	free(s);
	while ((at = strstr(out, CVOL_CHILD_PATH)) != NULL) {
		*at = '\0';
		tmp = xasprintf("%s%s%s", out, v->base,
		    at + strlen(CVOL_CHILD_PATH));
		free(out);
		out = tmp;
	}
	return out;
}


/* Starts e2fsck -p on the existing volume, once no loop device serves it. */
static int
cvol_fsck(struct cvol *v, char **cause)
{
	char *argv[] = { "e2fsck", "-p", CVOL_CHILD_PATH, NULL };
	int n;

	if ((n = cvol_loop_of_path(v->path)) != -1) {
		if (v->waited_ms >= CVOL_IN_USE_MS) {
			*cause = xasprintf("the data volume %s is in use: "
			    "/dev/loop%d serves it (mounted elsewhere?); cml "
			    "neither checks nor mounts it then", v->path, n);
			return -1;
		}
		/* Released a moment after the last run's namespace went. */
		v->stage = CVOL_IN_USE;
		usleep(CVOL_STEP_MS * 1000);
		v->waited_ms += CVOL_STEP_MS;
		return 0;
	}
	v->stage = CVOL_CHECK;
	return cvol_spawn(v, argv, cause);
}

/* Checks the existing volume's file: root's alone, the config's size. */
static int
cvol_check(struct cvol *v, char **cause)
{
	struct stat sb;

	if (fstat(v->fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		*cause = xasprintf("the data volume %s is not a regular file",
		    v->path);
		return -1;
	}
	if (sb.st_uid != 0 || (sb.st_mode & 077) != 0 || sb.st_nlink != 1) {
		*cause = xasprintf("the data volume %s is not root's alone "
		    "(owner %ld, mode %04o, %ld links): cml does not use it",
		    v->path, (long)sb.st_uid, (unsigned int)sb.st_mode & 07777,
		    (long)sb.st_nlink);
		return -1;
	}
	if (sb.st_size != v->size) {
		*cause = xasprintf("the data volume %s has %lld bytes, the "
		    "config says %lld MiB: cml does not resize volumes",
		    v->path, (long long)sb.st_size, v->size / (1024 * 1024));
		return -1;
	}
	return 0;
}

static void cvol_unlink_new(struct cvol *);

/*
 * Begins a volume: checks the id, makes the directory (root's alone) and
 * opens it.  NULL with *cause set.
 */
static struct cvol *
cvol_new(const char *state_dir, const char *name, const char *id,
    const char *suffix, long long size_mb, char **cause)
{
	struct cvol *v;
	struct stat sb;

	if (id == NULL || strlen(id) != 32 || strspn(id,
	    "0123456789abcdef") != 32) {
		*cause = xasprintf("container '%s' has no valid id for its "
		    "data volume", name);
		return NULL;
	}
	v = xcalloc(1, sizeof *v);
	v->name = xstrdup(name);
	v->id = xstrdup(id);
	v->dir = xasprintf("%s/" CVOL_DIR, state_dir);
	v->base = xasprintf("%s%s", id, suffix);
	v->path = xasprintf("%s/%s", v->dir, v->base);
	v->size = size_mb * 1024 * 1024;
	v->dfd = v->fd = v->pidfd = v->out = v->sock = v->msgfd = -1;
	if (mkdir(v->dir, 0700) == -1 && errno != EEXIST) {
		*cause = xasprintf("cannot create %s: %s", v->dir,
		    strerror(errno));
		goto fail;
	}
	v->dfd = open(v->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (v->dfd == -1 || fstat(v->dfd, &sb) == -1 || sb.st_uid != 0 ||
	    (sb.st_mode & 077) != 0) {
		*cause = xasprintf("%s must be a directory of root's alone "
		    "(mode 0700)%s%s", v->dir, v->dfd == -1 ? ": " : "",
		    v->dfd == -1 ? strerror(errno) : "");
		goto fail;
	}
	return v;
fail:
	cvol_free(v);
	return NULL;
}

/*
 * Opens the volume's file and checks it, or, the first time, makes a new
 * sparse one of the size, NAME.new until it is made (a half-made one
 * never counts).  1: an existing one, 0: a new one, -1 with *cause set.
 */
static int
cvol_open_file(struct cvol *v, char **cause)
{
	char *tmp;

	v->fd = openat(v->dfd, v->base, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (v->fd != -1)
		return cvol_check(v, cause) == -1 ? -1 : 1;
	if (errno != ENOENT) {
		*cause = xasprintf("cannot open the data volume %s: %s",
		    v->path, strerror(errno));
		return -1;
	}
	tmp = xasprintf("%s.new", v->base);
	v->fd = openat(v->dfd, tmp, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	free(tmp);
	if (v->fd == -1 || ftruncate(v->fd, (off_t)v->size) == -1) {
		*cause = xasprintf("cannot create the data volume %s: %s",
		    v->path, strerror(errno));
		return -1;
	}
	v->is_new = 1;
	return 0;
}

struct cvol *
cvol_open(const char *state_dir, const char *name, const char *id,
    long long size_mb, char **cause)
{
	char *argv[] = { CVOL_MKE2FS_ARGS, CVOL_CHILD_PATH, NULL };
	struct cvol *v;
	int r;

	if ((v = cvol_new(state_dir, name, id, CVOL_SUFFIX, size_mb,
	    cause)) == NULL)
		return NULL;
	if ((r = cvol_open_file(v, cause)) == -1)
		goto fail;
	if (r == 1) {
		if (cvol_fsck(v, cause) == -1)
			goto fail;
		return v;
	}
	/* The first start: a sparse file of the size, made an ext4. */
	v->stage = CVOL_MKFS;
	if (cvol_spawn(v, argv, cause) == -1)
		goto fail;
	return v;
fail:
	cvol_free(v);
	return NULL;
}

/* Keeps the child's pid and a pidfd of it, and its socket, non-blocking. */
static void
cvol_child(struct cvol *v, pid_t pid, int sock)
{
	v->pid = pid;
	v->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (v->pidfd == -1)
		fatal("pidfd_open");
	v->sock = sock;
}

struct cvol *
cvol_open_encrypted(const char *state_dir, const char *name, const char *id,
    long long size_mb, int integrity, const unsigned char *key,
    size_t keylen, char **cause)
{
	struct cluks_open o;
	struct cvol *v;
	pid_t pid;
	int r, sock;

	/* dm-integrity formats through device-mapper: nothing to do here. */
	if (integrity && !cvol_have_dm()) {
		*cause = xstrdup(CVOL_NO_DM);
		return NULL;
	}
	if ((v = cvol_new(state_dir, name, id, CVOL_LUKS_SUFFIX, size_mb,
	    cause)) == NULL)
		return NULL;
	v->encrypted = 1;
	v->keyslot = -1;
	if ((r = cvol_open_file(v, cause)) == -1)
		goto fail;
	memset(&o, 0, sizeof o);
	o.name = name;
	o.id = id;
	o.path = v->path;
	o.fd = v->fd;
	o.is_new = r == 0;
	o.integrity = integrity;
	o.key = key;
	o.keylen = keylen;
	if (cluks_spawn_open(&o, &sock, &pid, cause) == -1)
		goto fail;
	cvol_child(v, pid, sock);
	v->stage = CVOL_LUKS;
	return v;
fail:
	if (v->is_new)
		cvol_unlink_new(v);
	cvol_free(v);
	return NULL;
}

struct cvol *
cvol_wipe(const char *state_dir, const char *name, const char *id,
    char **cause)
{
	struct cluks_wipe w;
	struct cvol *v;
	pid_t pid;
	int sock;

	if ((v = cvol_new(state_dir, name, id, CVOL_LUKS_SUFFIX, 0,
	    cause)) == NULL)
		return NULL;
	v->keyslot = -1;
	if (cvol_device_exists(id)) {
		*cause = xasprintf("the encrypted data volume of container "
		    "'%s' is in use: the device-mapper device "
		    CVOL_DM_PREFIX "%s is active; cml does not wipe it then",
		    name, id);
		goto fail;
	}
	memset(&w, 0, sizeof w);
	w.dir = v->dir;
	w.dfd = v->dfd;
	w.id = id;
	if (cluks_spawn_wipe(&w, &sock, &pid, cause) == -1)
		goto fail;
	cvol_child(v, pid, sock);
	v->stage = CVOL_WIPE;
	return v;
fail:
	cvol_free(v);
	return NULL;
}

/* Removes the half-made new file. */
static void
cvol_unlink_new(struct cvol *v)
{
	char *tmp;

	tmp = xasprintf("%s.new", v->base);
	(void)unlinkat(v->dfd, tmp, 0);
	free(tmp);
}

/* mke2fs succeeded: the new file becomes the volume, durably. */
static int
cvol_commit(struct cvol *v, char **cause)
{
	char *tmp;
	int rc;

	tmp = xasprintf("%s.new", v->base);
	rc = fsync(v->fd) == -1 || renameat(v->dfd, tmp, v->dfd,
	    v->base) == -1 || fsync(v->dfd) == -1 ? -1 : 0;
	if (rc == -1)
		*cause = xasprintf("cannot store the new data volume %s: %s",
		    v->path, strerror(errno));
	free(tmp);
	return rc;
}

/*
 * Reads the child's one message, and the dm-crypt device with it, when it
 * came.  A message of another size is a bug of our own.
 */
static void
cvol_recv(struct cvol *v)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr *c;
	struct msghdr mh;
	struct iovec iov;
	ssize_t n;

	memset(&mh, 0, sizeof mh);
	memset(&cm, 0, sizeof cm);
	iov.iov_base = &v->msg;
	iov.iov_len = sizeof v->msg;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof cm.buf;
	n = recvmsg(v->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	for (c = CMSG_FIRSTHDR(&mh); n > 0 && c != NULL;
	    c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type ==
		    SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&v->msgfd, CMSG_DATA(c), sizeof(int));
	}
	/* EOF, or an error: the child ended without a word. */
	close(v->sock);
	v->sock = -1;
	if (n <= 0)
		return;
	if ((size_t)n != sizeof v->msg || (mh.msg_flags & (MSG_TRUNC |
	    MSG_CTRUNC)) != 0 || v->msg.text[sizeof v->msg.text - 1] != '\0' ||
	    v->msg.header[sizeof v->msg.header - 1] != '\0' ||
	    v->msg.volume[sizeof v->msg.volume - 1] != '\0' ||
	    v->msg.device[sizeof v->msg.device - 1] != '\0' ||
	    v->msg.refusal < CVOL_REFUSED_OTHER ||
	    v->msg.refusal > CVOL_REFUSED_INTEGRITY ||
	    (v->msg.ready && v->stage == CVOL_LUKS && v->msgfd == -1))
		fatalx("the volume child of container %s sent a bad message "
		    "(%zd bytes)", v->name, n);
	v->got_msg = 1;
}

/* Keeps a wipe's line, "" meaning it did not apply. */
static char *
cvol_line(const char *s)
{
	return *s != '\0' ? xstrdup(s) : NULL;
}

/*
 * A step of an encrypted volume's child or a wipe's: its message, then
 * its end.  As cvol_step.
 */
static int
cvol_step_child(struct cvol *v, char **cause)
{
	struct pollfd pfd;
	int status;

	if (v->sock != -1) {
		pfd.fd = v->sock;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, CVOL_STEP_MS) != 1)
			return 0;
		cvol_recv(v);
		if (v->sock != -1)
			return 0;
	}
	/* It exits right after its message (or has ended without one). */
	if (cvol_wait(v, &status) == 0)
		return 0;
	if (!v->got_msg) {
		v->refusal = CVOL_REFUSED_OTHER;
		*cause = xasprintf("the process that %s the data volume %s "
		    "ended without a word (exit %d)", v->stage == CVOL_WIPE ?
		    "wipes" : "opens", v->path, status);
		if (v->is_new)
			cvol_unlink_new(v);
		return -1;
	}
	v->keyslot = v->msg.keyslot;
	if (v->stage == CVOL_WIPE) {
		v->wipe_header = cvol_line(v->msg.header);
		v->wipe_volume = cvol_line(v->msg.volume);
		v->wipe_device = cvol_line(v->msg.device);
	}
	/*
	 * A new volume counts once made; where device-mapper is missing,
	 * once formatted (its token says its ext4 is still to be made).
	 */
	if (v->is_new && v->msg.formatted && (v->msg.ready ||
	    v->msg.refusal == CVOL_REFUSED_NO_DM)) {
		if (cvol_commit(v, cause) == -1) {
			v->refusal = CVOL_REFUSED_OTHER;
			return -1;
		}
		v->is_new = 0;
	} else if (v->is_new) {
		cvol_unlink_new(v);
		v->is_new = 0;
	}
	if (!v->msg.ready) {
		v->refusal = (enum cvol_refusal)v->msg.refusal;
		*cause = xstrdup(v->msg.text);
		return -1;
	}
	v->done_text = xstrdup(v->msg.text);
	if (v->msgfd != -1) {
		close(v->fd);
		v->fd = v->msgfd;
		v->msgfd = -1;
		v->device = xasprintf("/dev/mapper/" CVOL_DM_PREFIX "%s",
		    v->id);
	}
	v->stage = CVOL_READY;
	return 1;
}

int
cvol_step(struct cvol *v, char **cause)
{
	char *out;
	int status;

	if (v->stage == CVOL_READY)
		return 1;
	if (v->stage == CVOL_LUKS || v->stage == CVOL_WIPE)
		return cvol_step_child(v, cause);
	if (v->stage == CVOL_IN_USE)
		return cvol_fsck(v, cause) == -1 ? -1 : 0;
	if (cvol_wait(v, &status) == 0)
		return 0;
	out = cvol_output(v);
	if (v->stage == CVOL_MKFS) {
		if (status != 0) {
			*cause = xasprintf("mke2fs could not make the data "
			    "volume %s (exit %d)%s%s", v->path, status,
			    *out != '\0' ? ": " : "", out);
			free(out);
			cvol_unlink_new(v);
			return -1;
		}
		free(out);
		if (cvol_commit(v, cause) == -1)
			return -1;
		v->done = "made";
		v->stage = CVOL_READY;
		return 1;
	}
	/* e2fsck: 1 and 2 say errors were fixed, 4 and up that not. */
	if (status >= 4) {
		*cause = xasprintf("the data volume %s is damaged: e2fsck -p "
		    "cannot repair it safely (exit %d)%s%s; cml does not "
		    "mount it: repair it by hand (e2fsck %s) or remove the "
		    "container with its data", v->path, status,
		    *out != '\0' ? ": " : "", out, v->path);
		free(out);
		return -1;
	}
	if (status != 0) {
		log_warnx("container %s: e2fsck repaired its data volume %s: "
		    "%s", v->name, v->path, out);
		v->done = "repaired by e2fsck";
	} else
		v->done = "checked";
	free(out);
	v->stage = CVOL_READY;
	return 1;
}

const char *
cvol_done(const struct cvol *v)
{
	if (v->done_text != NULL)
		return v->done_text;
	return v->done != NULL ? v->done : "";
}

enum cvol_refusal
cvol_refusal(const struct cvol *v)
{
	return v->refusal;
}

int
cvol_keyslot(const struct cvol *v)
{
	return v->keyslot;
}

const char *
cvol_device(const struct cvol *v)
{
	return v->device;
}

long long
cvol_open_ms(const struct cvol *v)
{
	return v->got_msg ? (long long)v->msg.total_ms : 0;
}

long long
cvol_keyslot_ms(const struct cvol *v)
{
	return v->got_msg ? (long long)v->msg.keyslot_ms : 0;
}

long long
cvol_activate_ms(const struct cvol *v)
{
	return v->got_msg ? (long long)v->msg.activate_ms : 0;
}

long long
cvol_fs_ms(const struct cvol *v)
{
	return v->got_msg ? (long long)v->msg.fs_ms : 0;
}

const char *
cvol_wipe_header(const struct cvol *v)
{
	return v->wipe_header;
}

const char *
cvol_wipe_volume(const struct cvol *v)
{
	return v->wipe_volume;
}

const char *
cvol_wipe_device(const struct cvol *v)
{
	return v->wipe_device;
}

const char *
cvol_file(const struct cvol *v)
{
	return v->path;
}

int
cvol_take_fd(struct cvol *v)
{
	int fd;

	if (v->stage != CVOL_READY)
		return -1;
	fd = v->fd;
	v->fd = -1;
	return fd;
}

void
cvol_free(struct cvol *v)
{
	siginfo_t si;

	if (v == NULL)
		return;
	if (v->pid > 0) {
		kill(v->pid, SIGKILL);
		memset(&si, 0, sizeof si);
		while (waitid(P_PID, (id_t)v->pid, &si, WEXITED) == -1 &&
		    errno == EINTR)
			;
	}
	if (v->pidfd != -1)
		close(v->pidfd);
	if (v->out != -1)
		close(v->out);
	if (v->sock != -1)
		close(v->sock);
	if (v->msgfd != -1)
		close(v->msgfd);
	if (v->fd != -1)
		close(v->fd);
	if (v->dfd != -1)
		close(v->dfd);
	free(v->done_text);
	free(v->device);
	free(v->wipe_header);
	free(v->wipe_volume);
	free(v->wipe_device);
	free(v->id);
	free(v->name);
	free(v->dir);
	free(v->base);
	free(v->path);
	free(v);
}

int
cvol_stat(const char *state_dir, const char *id, long long *size,
    long long *allocated)
{
	struct stat sb;
	char *path;
	int rc;

	path = cvol_path(state_dir, id);
	rc = lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) ? 0 : -1;
	free(path);
	if (rc == -1) {
		path = cvol_path_luks(state_dir, id);
		rc = lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) ? 0 : -1;
		free(path);
	}
	if (rc == 0) {
		*size = (long long)sb.st_size;
		*allocated = (long long)sb.st_blocks * 512;
	}
	return rc;
}

/*
 * Destroys the LUKS2 header of path (when it exists) and unlinks it; 0,
 * or -1 with *cause set.
 */
static int
cvol_remove_luks(const char *path, char **cause)
{
	long long area;
	int fd, rc;

	if ((fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		*cause = xasprintf("cannot open the data volume %s: %s",
		    path, strerror(errno));
		return -1;
	}
	rc = cluks_destroy_header(fd, path, &area, cause);
	close(fd);
	if (rc == 0 && unlink(path) == -1 && errno != ENOENT) {
		*cause = xasprintf("cannot remove the data volume %s: %s",
		    path, strerror(errno));
		rc = -1;
	}
	return rc;
}

int
cvol_remove(const char *state_dir, const char *id, char **cause)
{
	char *path, *tmp;
	int rc = 0;

	if (cvol_device_exists(id)) {
		*cause = xasprintf("the data volume of %s is in use: the "
		    "device-mapper device " CVOL_DM_PREFIX "%s is active", id,
		    id);
		return -1;
	}
	path = cvol_path(state_dir, id);
	tmp = xasprintf("%s.new", path);
	if (unlink(path) == -1 && errno != ENOENT) {
		*cause = xasprintf("cannot remove the data volume %s: %s",
		    path, strerror(errno));
		rc = -1;
	}
	(void)unlink(tmp);
	free(tmp);
	free(path);
	path = cvol_path_luks(state_dir, id);
	tmp = xasprintf("%s.new", path);
	if (rc == 0)
		rc = cvol_remove_luks(path, cause);
	if (rc == 0)
		rc = cvol_remove_luks(tmp, cause);
	free(tmp);
	free(path);
	return rc;
}
