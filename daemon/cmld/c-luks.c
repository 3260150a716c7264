/*
 * Encrypted data volumes and wipes (c-luks.h), each done by a child of
 * cmld, so that cmld's loop never waits for a KDF, a format, mke2fs or
 * e2fsck, and so that the container key lives, once cmld has wiped its
 * copy, only in a process that is not dumpable, holds it in locked memory
 * and ends within the start.
 *
 * The child attaches the checked volume file to a loop device of its own
 * (autoclear: it goes with the last user), formats it LUKS2 at the first
 * start (with a LUKS2 token "cml-unmade" until its ext4 is made, so that
 * a volume formatted where device-mapper was missing gets its file system
 * where it is not), verifies the keyslot with no device (all this host
 * can do without device-mapper), activates it as cml-ID, initialises the
 * integrity tags of a new volume, makes or checks the ext4, opens the
 * device and marks it for deferred removal: it goes by itself when its
 * last opener, the container's mount, closes it.  Then it sends its one
 * message, with the device, and ends.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/dm-ioctl.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libcryptsetup.h>

#include "c-luks.h"
#include "container.h"
#include "crypto.h"
#include "daemon.h"
#include "dm.h"
#include "log.h"
#include "xmalloc.h"

/* The LUKS2 parameters of spec cml-container(5). */
#define CLUKS_CIPHER "aes"
#define CLUKS_MODE "xts-plain64"
#define CLUKS_INTEGRITY "hmac(sha256)"
#define CLUKS_KEY_BYTES 64 /* XTS: two AES-256 keys */
#define CLUKS_HMAC_KEY_BYTES 32
#define CLUKS_SECTOR 4096
#define CLUKS_SUBSYSTEM "cml"
/* A 512-bit random secret needs no stretching: the PIN's cost is in scd. */
#define CLUKS_PBKDF2_ITER 1000
/* The token of a volume whose ext4 is not made yet. */
#define CLUKS_UNMADE "cml-unmade"
#define CLUKS_UNMADE_JSON "{\"type\":\"" CLUKS_UNMADE "\",\"keyslots\":[]}"
/* How long an open waits for the device of the last run to go, in ms. */
#define CLUKS_IN_USE_MS 2000
#define CLUKS_POLL_MS 10
/* The block of writes and reads of wipes. */
#define CLUKS_BLOCK (1024 * 1024)
/* What is kept of mke2fs's or e2fsck's output. */
#define CLUKS_OUTPUT_MAX 2048

static const unsigned char cluks_magic1[] = { 'L', 'U', 'K', 'S', 0xba,
    0xbe };
static const unsigned char cluks_magic2[] = { 'S', 'K', 'U', 'L', 0xba,
    0xbe };

/* The largest volume key: 512 bits of XTS and 256 of HMAC, and room. */
#define CLUKS_VK_MAX 256
/* m->keyslot when the derived volume key opened it, not a keyslot */
#define CLUKS_DERIVED 1000

/* Milliseconds of the monotonic clock. */
static long long
cluks_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
cluks_log(int level, const char *msg, void *arg)
{
	(void)arg;
	(void)level;
	log_debug("libcryptsetup: %.*s", (int)strcspn(msg, "\n"), msg);
}

/* Sets the refusal of kind r with its message; returns -1. */
static int __attribute__((format(printf, 3, 4)))
cluks_refuse(struct cluks_msg *m, enum cvol_refusal r, const char *fmt, ...)
{
	va_list ap;

	m->ready = 0;
	m->refusal = (int32_t)r;
	va_start(ap, fmt);
	(void)vsnprintf(m->text, sizeof m->text, fmt, ap);
	va_end(ap);
	return -1;
}

/* Finds an e2fsprogs program where Debian and others install it. */
static char *
cvol_program(const char *name)
{
	static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/bin",
	    "/bin", NULL };
	char *path;
	size_t i;

	for (i = 0; dirs[i] != NULL; i++) {
		path = xasprintf("%s/%s", dirs[i], name);
		if (access(path, X_OK) == 0)
			return path;
		free(path);
	}
	return NULL;
}

pid_t
cvol_fork_program(char *const argv[], int fd, int *outp, char **cause)
{
	static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	    "LC_ALL=C", NULL };
	char *prog;
	int p[2], nullfd, cfd = -1;
	pid_t pid;

	if ((prog = cvol_program(argv[0])) == NULL) {
		*cause = xasprintf("%s is not installed (e2fsprogs): cml needs "
		    "it for data volumes", argv[0]);
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) == -1) {
		*cause = xasprintf("pipe: %s", strerror(errno));
		free(prog);
		return -1;
	}
	if ((pid = fork()) == -1) {
		*cause = xasprintf("fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		free(prog);
		return -1;
	}
	if (pid == 0) {
		/* A cmld that dies takes it along: no writer left behind. */
		if (daemon_child_init(SIGKILL) == -1)
			_exit(126);
		nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd != -1)
			cfd = fcntl(fd, F_DUPFD_CLOEXEC, 10);
		if (nullfd == -1 || (fd != -1 && cfd == -1) ||
		    dup2(nullfd, 0) == -1 || dup2(p[1], 1) == -1 ||
		    dup2(p[1], 2) == -1 ||
		    (cfd != -1 && dup2(cfd, CVOL_CHILD_FD) == -1))
			_exit(126);
		syscall(SYS_close_range, cfd != -1 ? CVOL_CHILD_FD + 1 : 3,
		    ~0U, 0);
		execve(prog, argv, envp);
		_exit(127);
	}
	free(prog);
	close(p[1]);
	*outp = p[0];
	return pid;
}

int
cvol_loop_of_path(const char *path)
{
	return sysblock_find("loop", "loop/backing_file", path);
}

int
cluks_dm_exists(const char *name)
{
	return sysblock_find("dm-", "dm/name", name) != -1;
}

int
cvol_device_exists(const char *id)
{
	char name[64];

	snprintf(name, sizeof name, CVOL_DM_PREFIX "%s", id);
	return cluks_dm_exists(name);
}

int
cvol_close_leftover(const char *id, char **cause)
{
	char names[2][64];
	int i;

	if (!dm_present())
		return 0;
	snprintf(names[0], sizeof names[0], CVOL_DM_PREFIX "%s", id);
	snprintf(names[1], sizeof names[1], CVOL_DM_PREFIX "%s_dif", id);
	/* The upper first: it holds its _dif open. */
	for (i = 0; i < 2; i++) {
		if (dm_clear_leftover(names[i], cause) == -1)
			return -1;
	}
	return 0;
}

/*
 * Writes all of buf at off (pwrite may write less); 0, or -1 with errno.
 */
static int
cluks_pwrite(int fd, const unsigned char *buf, size_t len, off_t off)
{
	ssize_t n;

	while (len > 0) {
		if ((n = pwrite(fd, buf, len, off)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* Fills buf with random bytes from the kernel. */
static void
cluks_random(unsigned char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = getrandom(buf, len, 0)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("getrandom");
		}
		buf += n;
		len -= (size_t)n;
	}
}

/*
 * Overwrites len bytes of fd from 0 with random bytes (random) or zeros,
 * and fsyncs; 0, or -1 with errno.
 */
static int
cluks_overwrite(int fd, long long len, int random)
{
	unsigned char *buf;
	long long off;
	size_t n;
	int rc = 0;

	buf = xcalloc(1, CLUKS_BLOCK);
	for (off = 0; rc == 0 && off < len; off += (long long)n) {
		n = len - off < CLUKS_BLOCK ? (size_t)(len - off) : CLUKS_BLOCK;
		if (random)
			cluks_random(buf, n);
		rc = cluks_pwrite(fd, buf, n, (off_t)off);
	}
	if (rc == 0)
		rc = fsync(fd);
	free(buf);
	return rc;
}

/*
 * Reads the first len bytes of fd back from the disk (the page cache
 * dropped first) and says whether a LUKS magic is among them (1), not
 * (0), or -1 with errno.
 */
static int
cluks_has_magic(int fd, long long len)
{
	const size_t keep = sizeof cluks_magic1 - 1;
	unsigned char *buf;
	long long off;
	ssize_t n;
	size_t have = 0;
	int found = 0;

	(void)posix_fadvise(fd, 0, (off_t)len, POSIX_FADV_DONTNEED);
	buf = xmalloc(CLUKS_BLOCK + keep);
	for (off = 0; !found && off < len; off += n) {
		n = pread(fd, buf + have, len - off < CLUKS_BLOCK ?
		    (size_t)(len - off) : CLUKS_BLOCK, (off_t)off);
		if (n == -1 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0) {
			free(buf);
			if (n == 0)
				errno = EIO;
			return -1;
		}
		have += (size_t)n;
		found = memmem(buf, have, cluks_magic1,
		    sizeof cluks_magic1) != NULL || memmem(buf, have,
		    cluks_magic2, sizeof cluks_magic2) != NULL;
		/* A magic may straddle two blocks. */
		if (have > keep) {
			memmove(buf, buf + have - keep, keep);
			have = keep;
		}
	}
	free(buf);
	return found;
}

/*
 * The bytes of a LUKS2 header area of fd: to its data offset, at least
 * CLUKS_HEADER_MIN, at most size.
 */
static long long
cluks_header_area(int fd, long long size)
{
	struct crypt_device *cd = NULL;
	long long area = CLUKS_HEADER_MIN, off;
	char path[64];
	int had_node;

	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	had_node = dm_node_exists();
	crypt_set_log_callback(NULL, cluks_log, NULL);
	if (crypt_init(&cd, path) == 0) {
		crypt_set_log_callback(cd, cluks_log, NULL);
		if (crypt_load(cd, CRYPT_LUKS2, NULL) == 0) {
			off = (long long)crypt_get_data_offset(cd) * 512;
			if (off > area)
				area = off;
		}
		crypt_free(cd);
	}
	dm_unlitter(had_node);
	return area < size ? area : size;
}

int
cluks_destroy_header(int fd, const char *path, long long *area,
    char **cause)
{
	struct stat sb;
	int tries, r = 1;

	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		*cause = xasprintf("the data volume %s is not a regular file",
		    path);
		return -1;
	}
	*area = cluks_header_area(fd, (long long)sb.st_size);
	/* Random bytes hold a magic once in 2^47 headers: try again. */
	for (tries = 0; r == 1 && tries < 3; tries++) {
		if (cluks_overwrite(fd, *area, 1) == -1 ||
		    (r = cluks_has_magic(fd, *area)) == -1) {
			*cause = xasprintf("cannot overwrite the LUKS2 header "
			    "of %s: %s", path, strerror(errno));
			return -1;
		}
	}
	if (r == 1) {
		*cause = xasprintf("the LUKS2 header area of %s still holds a "
		    "LUKS magic after it was overwritten", path);
		return -1;
	}
	return 0;
}

/*
 * Forks a child with a SOCK_SEQPACKET socket to the parent; in the child
 * (returns 0) cmld's death kills it, it is not dumpable and its signals
 * are the defaults.  It keeps cmld's descriptors: libcryptsetup in cmld
 * may hold some (its random source) that it uses in the child too, and
 * the child ends within the start; what it runs gets none (close-on-exec).
 * The parent gets 1 with *sockp and *pidp, or -1 with *cause set.
 */
static int
cluks_fork(int *sockp, pid_t *pidp, char **cause)
{
	int sv[2];
	pid_t pid, parent = getpid();

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		*cause = xasprintf("socketpair: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		*cause = xasprintf("fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid > 0) {
		close(sv[1]);
		*sockp = sv[0];
		*pidp = pid;
		return 1;
	}
	/* A cmld that dies takes it along: no key holder left behind. */
	if (daemon_child_init(SIGKILL) == -1 || getppid() != parent)
		_exit(126);
	(void)prctl(PR_SET_DUMPABLE, 0);
	close(sv[0]);
	*sockp = sv[1];
	return 0;
}

/* Sends the message, with fd when it is not -1; the parent may be gone. */
static void
cluks_send(int sock, const struct cluks_msg *m, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr *c;
	struct msghdr mh;
	struct iovec iov;

	memset(&mh, 0, sizeof mh);
	memset(&cm, 0, sizeof cm);
	iov.iov_base = (void *)m;
	iov.iov_len = sizeof *m;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd != -1) {
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof cm.buf;
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) == -1 && errno == EINTR)
		;
}

/*
 * Runs argv[0] (a program of e2fsprogs) on a device and waits for it;
 * its first output line in out.  Its exit status, 128 + N when killed by
 * N, or -1 with *cause set.
 */
static int
cluks_run(char *const argv[], char *out, size_t outsz, char **cause)
{
	char buf[512];
	size_t len = 0;
	ssize_t n;
	int rfd, status;
	pid_t pid;

	out[0] = '\0';
	if ((pid = cvol_fork_program(argv, -1, &rfd, cause)) == -1)
		return -1;
	while ((n = read(rfd, buf, sizeof buf)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if ((size_t)n > outsz - 1 - len)
			n = (ssize_t)(outsz - 1 - len);
		memcpy(out + len, buf, (size_t)n);
		len += (size_t)n;
		out[len] = '\0';
	}
	close(rfd);
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR)
			fatal("waitpid");
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status);
}

/* The first non-empty line of a program's output (in place). */
static const char *
cluks_first_line(char *out)
{
	char *line = out;

	while (*line != '\0') {
		line += strspn(line, " \t\r\n");
		if (*line != '\0') {
			line[strcspn(line, "\n")] = '\0';
			break;
		}
	}
	return line;
}

/* The number of the "cml-unmade" token of the volume, or -1. */
static int
cluks_unmade(struct crypt_device *cd)
{
	const char *type;
	int i, max;

	if ((max = crypt_token_max(CRYPT_LUKS2)) < 0)
		return -1;
	for (i = 0; i < max; i++) {
		if (crypt_token_status(cd, i, &type) != CRYPT_TOKEN_INACTIVE &&
		    type != NULL && strcmp(type, CLUKS_UNMADE) == 0)
			return i;
	}
	return -1;
}

/*
 * The refusal when a volume with integrity protection cannot be made or
 * opened: the kernel's dm-integrity missing is said as such.
 */
static int
cluks_refuse_integrity(struct cluks_msg *m, const struct cluks_open *o,
    const char *what, int r)
{
	if (dm_target("integrity") == 0)
		return cluks_refuse(m, CVOL_REFUSED_NO_DM, "needs encrypted "
		    "storage with integrity protection, but this kernel has "
		    "no dm-integrity: cml does not start it without (a config "
		    "may opt out with cml.storage.integrity false)");
	return cluks_refuse(m, CVOL_REFUSED_OTHER, "%s %s: %s", what,
	    o->path, strerror(-r));
}

/*
 * The volume key of a volume made by this cmld, derived from the
 * container's key (HMAC-SHA-256 in counter mode, the key as the HMAC key,
 * "cml luks2 volume key" and the block number as the message) into vk,
 * vklen bytes (at most CLUKS_VK_MAX).  The keyslot holds the same key
 * under the container's key as well, but a start that derives it skips
 * the keyslot's anti-forensic stripes: the digest alone checks it.
 * 0, or -1.
 */
static int
cluks_derive(const unsigned char *key, size_t keylen, unsigned char *vk,
    size_t vklen)
{
	static const char label[] = "cml luks2 volume key";
	unsigned char msg[sizeof label], block[CRYPTO_SHA256_LEN];
	size_t off, n;
	int rc = 0;

	memcpy(msg, label, sizeof label - 1);
	for (off = 0; off < vklen; off += n) {
		msg[sizeof label - 1] = (unsigned char)(off / sizeof block + 1);
		if (crypto_hmac_sha256(key, keylen, msg, sizeof msg,
		    block) == -1) {
			rc = -1;
			break;
		}
		n = vklen - off < sizeof block ? vklen - off : sizeof block;
		memcpy(vk + off, block, n);
	}
	crypto_wipe(block, sizeof block);
	return rc;
}

/*
 * Formats a new volume LUKS2 with one keyslot for key, and the token that
 * says its ext4 is not made yet.  0, or -1 with the refusal in m.
 */
static int
cluks_format(struct crypt_device *cd, const struct cluks_open *o,
    const unsigned char *key, unsigned char *vk, struct cluks_msg *m)
{
	struct crypt_pbkdf_type pbkdf;
	struct crypt_params_luks2 p;
	size_t vklen = CLUKS_KEY_BYTES +
	    (o->integrity ? CLUKS_HMAC_KEY_BYTES : 0);
	char label[48];
	int r;

	if (cluks_derive(key, o->keylen, vk, vklen) == -1)
		return cluks_refuse(m, CVOL_REFUSED_OTHER, "cannot derive the "
		    "volume key of the data volume %s", o->path);

	memset(&pbkdf, 0, sizeof pbkdf);
	pbkdf.type = CRYPT_KDF_PBKDF2;
	pbkdf.hash = "sha256";
	pbkdf.iterations = CLUKS_PBKDF2_ITER;
	pbkdf.flags = CRYPT_PBKDF_NO_BENCHMARK;
	/* Names are [a-z0-9-]: cutting one keeps it valid. */
	snprintf(label, sizeof label, "cml:%s", o->name);
	memset(&p, 0, sizeof p);
	p.pbkdf = &pbkdf;
	p.integrity = o->integrity ? CLUKS_INTEGRITY : NULL;
	p.sector_size = CLUKS_SECTOR;
	p.label = label;
	p.subsystem = CLUKS_SUBSYSTEM;
	r = crypt_format(cd, CRYPT_LUKS2, CLUKS_CIPHER, CLUKS_MODE, NULL,
	    (const char *)vk, vklen, &p);
	if (r < 0 && o->integrity)
		return cluks_refuse_integrity(m, o, "cannot format LUKS2 with "
		    "integrity protection: the data volume", r);
	if (r < 0)
		return cluks_refuse(m, CVOL_REFUSED_OTHER, "cannot format the "
		    "data volume %s LUKS2: %s", o->path, strerror(-r));
	if ((r = crypt_set_pbkdf_type(cd, &pbkdf)) < 0 ||
	    (r = crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT, NULL, 0,
	    (const char *)key, o->keylen)) < 0)
		return cluks_refuse(m, CVOL_REFUSED_OTHER, "cannot add the "
		    "keyslot of the data volume %s: %s", o->path,
		    strerror(-r));
	if ((r = crypt_token_json_set(cd, CRYPT_ANY_TOKEN,
	    CLUKS_UNMADE_JSON)) < 0)
		return cluks_refuse(m, CVOL_REFUSED_OTHER, "cannot mark the "
		    "data volume %s as not made yet: %s", o->path,
		    strerror(-r));
	m->formatted = 1;
	return 0;
}

/*
 * Loads an existing volume and checks it is cml's, with the integrity
 * protection the config says.  0, or -1 with the refusal in m.
 */
static int
cluks_load(struct crypt_device *cd, const struct cluks_open *o,
    struct cluks_msg *m)
{
	struct crypt_params_integrity ip;
	const char *sub;
	int r, has;

	if ((r = crypt_load(cd, CRYPT_LUKS2, NULL)) < 0)
		return cluks_refuse(m, CVOL_REFUSED_OTHER, "the data volume %s "
		    "holds no LUKS2 header cml can read (%s): it was damaged "
		    "or replaced; cml neither opens nor formats it (container "
		    "wipe destroys it)", o->path, strerror(-r));
	sub = crypt_get_subsystem(cd);
	if (sub == NULL || strcmp(sub, CLUKS_SUBSYSTEM) != 0)
		return cluks_refuse(m, CVOL_REFUSED_OTHER, "the data volume %s "
		    "is a LUKS2 volume, but not cml's (subsystem '%s'): cml "
		    "does not open it", o->path, sub != NULL ? sub : "");
	memset(&ip, 0, sizeof ip);
	has = crypt_get_integrity_info(cd, &ip) == 0 && ip.integrity != NULL &&
	    *ip.integrity != '\0';
	if (has != (o->integrity != 0))
		return cluks_refuse(m, CVOL_REFUSED_OTHER, "the data volume %s "
		    "is a LUKS2 volume %s%s%s, but the config says "
		    "cml.storage.integrity: %s; cml does not convert volumes",
		    o->path, has ? "with integrity protection (" :
		    "without integrity protection", has ? ip.integrity : "",
		    has ? ")" : "", o->integrity ? "true" : "false");
	return 0;
}

/*
 * Makes the ext4 of a volume whose token says it has none, or checks it
 * with e2fsck -p.  0 with what was done in m->text, or -1 with the
 * refusal in m.
 */
static int
cluks_fs(struct crypt_device *cd, const struct cluks_open *o,
    const char *mapper, struct cluks_msg *m)
{
	char *mkfs[] = { CVOL_MKE2FS_ARGS, (char *)mapper, NULL };
	char *fsck[] = { "e2fsck", "-p", (char *)mapper, NULL };
	char out[CLUKS_OUTPUT_MAX], *cause = NULL;
	const char *line;
	int token, status, ioerr;

	if ((token = cluks_unmade(cd)) != -1) {
		if ((status = cluks_run(mkfs, out, sizeof out, &cause)) != 0) {
			if (status == -1) {
				cluks_refuse(m, CVOL_REFUSED_OTHER, "%s",
				    cause);
				free(cause);
				return -1;
			}
			line = cluks_first_line(out);
			return cluks_refuse(m, CVOL_REFUSED_OTHER, "mke2fs "
			    "could not make the data volume %s on %s (exit "
			    "%d)%s%s", o->path, mapper, status, *line != '\0' ?
			    ": " : "", line);
		}
		if ((status = crypt_token_json_set(cd, token, NULL)) < 0)
			return cluks_refuse(m, CVOL_REFUSED_OTHER, "cannot "
			    "mark the data volume %s as made: %s", o->path,
			    strerror(-status));
		if (o->is_new)
			snprintf(m->text, sizeof m->text, "formatted (LUKS2, "
			    CLUKS_CIPHER "-" CLUKS_MODE ", %s), opened and "
			    "made", o->integrity ? CLUKS_INTEGRITY
			    " integrity" : "no integrity protection");
		else
			snprintf(m->text, sizeof m->text, "opened and made");
		return 0;
	}
	if ((status = cluks_run(fsck, out, sizeof out, &cause)) == -1) {
		cluks_refuse(m, CVOL_REFUSED_OTHER, "%s", cause);
		free(cause);
		return -1;
	}
	ioerr = strstr(out, "Input/output error") != NULL ||
	    strstr(out, "short read") != NULL;
	line = cluks_first_line(out);
	/* e2fsck: 1 and 2 say errors were fixed, 4 and up that not. */
	if (status >= 4)
		return cluks_refuse(m, ioerr ? CVOL_REFUSED_INTEGRITY :
		    CVOL_REFUSED_OTHER, "the data volume %s is damaged: "
		    "e2fsck -p on %s cannot repair it safely (exit %d)%s%s%s; "
		    "cml does not mount it", o->path, mapper, status,
		    *line != '\0' ? ": " : "", line, ioerr ?
		    " (an integrity error?)" : "");
	if (status != 0) {
		log_warnx("container %s: e2fsck repaired its data volume %s: "
		    "%s", o->name, o->path, line);
		snprintf(m->text, sizeof m->text, "opened, checked and "
		    "repaired by e2fsck");
	} else
		snprintf(m->text, sizeof m->text, "opened and checked");
	return 0;
}

/*
 * Waits for the device of the container's last run to go (deferred
 * removal, once its mount namespace went).  0, or -1 with the refusal.
 */
static int
cluks_wait_idle(const struct cluks_open *o, const char *dmname,
    struct cluks_msg *m)
{
	int waited;

	for (waited = 0; cluks_dm_exists(dmname) ||
	    cvol_loop_of_path(o->path) != -1; waited += CLUKS_POLL_MS) {
		if (waited >= CLUKS_IN_USE_MS)
			return cluks_refuse(m, CVOL_REFUSED_OTHER, "the data "
			    "volume %s is in use: %s (its container still "
			    "runs, or it was opened elsewhere); cml neither "
			    "checks nor mounts it then", o->path,
			    cluks_dm_exists(dmname) ? "its device-mapper "
			    "device is active" : "a loop device serves it");
		usleep(CLUKS_POLL_MS * 1000);
	}
	return 0;
}

/*
 * Activates the verified volume as dmname, initialises a new one's
 * integrity tags (reads of sectors never written fail otherwise), makes
 * or checks its ext4, opens it (*dmfd) and marks it for deferred removal.
 * 0, or -1 with the refusal (the device deactivated).
 */
static int
cluks_activate(struct crypt_device *cd, const struct cluks_open *o,
    const unsigned char *vk, size_t vklen, const char *dmname,
    struct cluks_msg *m,
    int *dmfd)
{
	char mapper[96], dif[80];
	long long t0;
	int r, active = 0, rc = -1;

	snprintf(mapper, sizeof mapper, "/dev/mapper/%s", dmname);
	snprintf(dif, sizeof dif, "%s_dif", dmname);
	t0 = cluks_now_ms();
	/* The wipe needs no journal: it is all written or made again. */
	r = crypt_activate_by_volume_key(cd, dmname, (const char *)vk, vklen,
	    o->is_new && o->integrity ? CRYPT_ACTIVATE_NO_JOURNAL : 0);
	if (r < 0 && o->integrity) {
		cluks_refuse_integrity(m, o, "cannot open the LUKS2 volume with "
		    "integrity protection", r);
		goto out;
	}
	if (r < 0) {
		cluks_refuse(m, CVOL_REFUSED_OTHER, "cannot open the LUKS2 "
		    "volume %s as %s: %s", o->path, mapper, strerror(-r));
		goto out;
	}
	active = 1;
	if (o->is_new && o->integrity) {
		r = crypt_wipe(cd, mapper, CRYPT_WIPE_ZERO, 0, 0, CLUKS_BLOCK,
		    CRYPT_WIPE_NO_DIRECT_IO, NULL, NULL);
		if (r < 0) {
			cluks_refuse(m, CVOL_REFUSED_OTHER, "cannot initialise "
			    "the integrity tags of %s: %s", mapper,
			    strerror(-r));
			goto out;
		}
		active = 0;
		if ((r = crypt_deactivate(cd, dmname)) < 0 ||
		    (r = crypt_activate_by_volume_key(cd, dmname,
		    (const char *)vk, vklen, 0)) < 0) {
			cluks_refuse(m, CVOL_REFUSED_OTHER, "cannot open the "
			    "LUKS2 volume %s as %s again: %s", o->path, mapper,
			    strerror(-r));
			goto out;
		}
		active = 1;
	}
	m->activate_ms = cluks_now_ms() - t0;
	t0 = cluks_now_ms();
	r = cluks_fs(cd, o, mapper, m);
	m->fs_ms = cluks_now_ms() - t0;
	if (r == -1)
		goto out;
	if ((*dmfd = open(mapper, O_RDWR | O_CLOEXEC)) == -1) {
		cluks_refuse(m, CVOL_REFUSED_OTHER, "cannot open %s: %s",
		    mapper, strerror(errno));
		goto out;
	}
	/* It stays while *dmfd is open, then while the mount holds it. */
	if (dm_defer(dmname) == -1 || (cluks_dm_exists(dif) &&
	    dm_defer(dif) == -1)) {
		cluks_refuse(m, CVOL_REFUSED_OTHER, "cannot mark %s for "
		    "deferred removal: %s", mapper, strerror(errno));
		goto out;
	}
	active = 0;
	rc = 0;
out:
	if (rc == -1 && *dmfd != -1) {
		close(*dmfd);
		*dmfd = -1;
	}
	/* What a failure leaves active goes now, the integrity device too. */
	if (active && cluks_dm_exists(dmname) &&
	    (r = crypt_deactivate(cd, dmname)) < 0)
		log_warnx("cannot close %s: %s", mapper, strerror(-r));
	if (active && cluks_dm_exists(dif) &&
	    (r = crypt_deactivate(NULL, dif)) < 0)
		log_warnx("cannot close /dev/mapper/%s: %s", dif,
		    strerror(-r));
	return rc;
}

/*
 * The open child's work, with key its own locked copy and vk room for the
 * volume key (CLUKS_VK_MAX bytes, locked too): 0 with m ready and *dmfd
 * the device, or -1 with the refusal in m.
 */
static int
cluks_open_child(const struct cluks_open *o, const unsigned char *key,
    unsigned char *vk, struct cluks_msg *m, int *dmfd)
{
	struct crypt_device *cd = NULL;
	char dmname[64], loopdev[32], *cause = NULL;
	long long t0;
	size_t vklen = 0;
	int dm, had_node, lfd = -1, n, r, rc = -1;

	dm = dm_present();
	had_node = dm_node_exists();
	snprintf(dmname, sizeof dmname, CVOL_DM_PREFIX "%s", o->id);
	if (dm && cluks_wait_idle(o, dmname, m) == -1)
		goto out;
	if (c_mount_loop(o->path, o->path, o->fd, 0, &n, &lfd, &cause) == -1) {
		cluks_refuse(m, CVOL_REFUSED_OTHER, "%s", cause);
		goto out;
	}
	snprintf(loopdev, sizeof loopdev, "/dev/loop%d", n);
	crypt_set_log_callback(NULL, cluks_log, NULL);
	if ((r = crypt_init(&cd, loopdev)) < 0) {
		cluks_refuse(m, CVOL_REFUSED_OTHER, "cannot open the data "
		    "volume %s on %s: %s", o->path, loopdev, strerror(-r));
		goto out;
	}
	crypt_set_log_callback(cd, cluks_log, NULL);
	if ((o->is_new ? cluks_format(cd, o, key, vk, m) :
	    cluks_load(cd, o, m)) == -1)
		goto out;

	/*
	 * With device-mapper, the volume key derived from the container's
	 * key, checked against the header's digest, activates the device
	 * (a volume made before keys were derived fails that check and goes
	 * the keyslot's way).  Otherwise the keyslot, checked with no device
	 * (all a dm-less kernel does), opened once: its volume key (in the
	 * child's locked page, after the container key) activates the device
	 * without a second KDF.
	 */
	t0 = cluks_now_ms();
	vklen = (size_t)crypt_get_volume_key_size(cd);
	if (vklen == 0 || vklen > CLUKS_VK_MAX)
		r = -EINVAL;
	else if (dm && cluks_derive(key, o->keylen, vk, vklen) == 0 &&
	    crypt_volume_key_verify(cd, (const char *)vk, vklen) >= 0)
		r = CLUKS_DERIVED;
	else
		r = crypt_volume_key_get(cd, CRYPT_ANY_SLOT, (char *)vk,
		    &vklen, (const char *)key, o->keylen);
	m->keyslot_ms = cluks_now_ms() - t0;
	if (r == -EPERM) {
		cluks_refuse(m, CVOL_REFUSED_KEY, "the container's key does "
		    "not open the LUKS2 volume %s: its header was replaced or "
		    "damaged", o->path);
		goto out;
	}
	if (r < 0) {
		cluks_refuse(m, CVOL_REFUSED_OTHER, "cannot check the keyslots "
		    "of the LUKS2 volume %s: %s", o->path, strerror(-r));
		goto out;
	}
	m->keyslot = r;
	if (!dm) {
		cluks_refuse(m, CVOL_REFUSED_NO_DM, CVOL_NO_DM " (its key, "
		    "unwrapped with the PIN, opens keyslot %d of the LUKS2 "
		    "volume %s; checked without activation)", r, o->path);
		goto out;
	}
	rc = cluks_activate(cd, o, vk, vklen, dmname, m, dmfd);
out:
	if (cd != NULL)
		crypt_free(cd);
	if (lfd != -1)
		close(lfd);
	if (!dm)
		dm_unlitter(had_node);
	free(cause);
	return rc;
}

int
cluks_spawn_open(const struct cluks_open *o, int *sockp, pid_t *pidp,
    char **cause)
{
	struct cluks_msg m;
	unsigned char *key;
	long long t0 = cluks_now_ms();
	long page = sysconf(_SC_PAGESIZE);
	int dmfd = -1, r;

	if (o->keylen == 0 || o->keylen > (size_t)page / 2 ||
	    CLUKS_VK_MAX > page / 2) {
		*cause = xasprintf("a container key of %zu bytes cannot open "
		    "a data volume", o->keylen);
		return -1;
	}
	if ((r = cluks_fork(sockp, pidp, cause)) != 0)
		return r == 1 ? 0 : -1;
	/* The child: its own copy of the key, locked, not in core dumps. */
	key = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0);
	if (key == MAP_FAILED)
		_exit(125);
	(void)mlock(key, (size_t)page);
	(void)madvise(key, (size_t)page, MADV_DONTDUMP);
	memcpy(key, o->key, o->keylen);
	xwipe((void *)o->key, o->keylen);

	memset(&m, 0, sizeof m);
	m.keyslot = -1;
	if (cluks_open_child(o, key, key + page / 2, &m, &dmfd) == 0)
		m.ready = 1;
	xwipe(key, (size_t)page);
	m.total_ms = cluks_now_ms() - t0;
	cluks_send(*sockp, &m, dmfd);
	_exit(0);
}

/*
 * Destroys one file of the volume, name in the directory: a LUKS2 one's
 * header area, a plain one whole with zeros; then unlinks it.  1 when it
 * was there, 0 when not, -1 with the refusal in m.
 */
static int
cluks_wipe_file(const struct cluks_wipe *w, const char *name, int luks,
    struct cluks_msg *m)
{
	struct stat sb;
	char *cause = NULL, path[400];
	long long area;
	int fd;

	snprintf(path, sizeof path, "%s/%s", w->dir, name);
	if ((fd = openat(w->dfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1) {
		if (errno == ENOENT)
			return 0;
		return cluks_refuse(m, CVOL_REFUSED_OTHER, "cannot open %s: %s",
		    path, strerror(errno));
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return cluks_refuse(m, CVOL_REFUSED_OTHER, "%s is not a "
		    "regular file: cml does not wipe it", path);
	}
	if (luks) {
		if (cluks_destroy_header(fd, path, &area, &cause) == -1) {
			cluks_refuse(m, CVOL_REFUSED_OTHER, "%s", cause);
			free(cause);
			close(fd);
			return -1;
		}
		snprintf(m->header, sizeof m->header, "LUKS2 header and "
		    "keyslots overwritten (%lld MiB, random) and checked: no "
		    "LUKS2 header left", (area + 1024 * 1024 - 1) /
		    (1024 * 1024));
	} else if (cluks_overwrite(fd, (long long)sb.st_size, 0) == -1) {
		close(fd);
		return cluks_refuse(m, CVOL_REFUSED_OTHER, "cannot overwrite "
		    "%s: %s", path, strerror(errno));
	}
	close(fd);
	if (unlinkat(w->dfd, name, 0) == -1)
		return cluks_refuse(m, CVOL_REFUSED_OTHER, "cannot remove %s: "
		    "%s", path, strerror(errno));
	if (m->volume[0] == '\0')
		snprintf(m->volume, sizeof m->volume, "file %s%s removed",
		    path, luks ? "" : " overwritten with zeros and");
	return 1;
}

/* Says whether a file of the volume (ID.*) is left in the directory. */
static int
cluks_left(const struct cluks_wipe *w, char *name, size_t len)
{
	struct dirent *de;
	size_t n = strlen(w->id);
	DIR *d;
	int fd, found = 0;

	if ((fd = openat(w->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		snprintf(name, len, "(unreadable: %s)", strerror(errno));
		return 1;
	}
	while (!found && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, w->id, n) == 0 &&
		    de->d_name[n] == '.') {
			snprintf(name, len, "%s", de->d_name);
			found = 1;
		}
	}
	closedir(d);
	return found;
}

/* The wipe child's work: 0 with m ready, or -1 with the refusal. */
static int
cluks_wipe_child(const struct cluks_wipe *w, struct cluks_msg *m)
{
	static const struct {
		const char *suffix;
		int luks;
	} files[] = {
		{ CVOL_LUKS_SUFFIX, 1 },
		{ CVOL_LUKS_SUFFIX ".new", 1 },
		{ CVOL_SUFFIX, 0 },
		{ CVOL_SUFFIX ".new", 0 },
	};
	char name[300], dmname[64];
	size_t i;
	int r, any = 0;

	for (i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(name, sizeof name, "%s%s", w->id, files[i].suffix);
		if ((r = cluks_wipe_file(w, name, files[i].luks, m)) == -1)
			return -1;
		any |= r;
	}
	if (fsync(w->dfd) == -1)
		return cluks_refuse(m, CVOL_REFUSED_OTHER, "cannot fsync %s: "
		    "%s", w->dir, strerror(errno));
	if (cluks_left(w, name, sizeof name))
		return cluks_refuse(m, CVOL_REFUSED_OTHER, "a file of the "
		    "volume is left in %s: %s", w->dir, name);
	if (any) {
		r = (int)strlen(m->volume);
		snprintf(m->volume + r, sizeof m->volume - (size_t)r,
		    "; no file of it left in %s", w->dir);
	} else
		snprintf(m->volume, sizeof m->volume, "there was none: no file "
		    "of it in %s", w->dir);
	snprintf(dmname, sizeof dmname, CVOL_DM_PREFIX "%s", w->id);
	if (cluks_dm_exists(dmname))
		return cluks_refuse(m, CVOL_REFUSED_OTHER, "the device-mapper "
		    "device %s is active", dmname);
	snprintf(name, sizeof name, "%s_dif", dmname);
	if (cluks_dm_exists(name))
		return cluks_refuse(m, CVOL_REFUSED_OTHER, "the device-mapper "
		    "device %s is active", name);
	snprintf(m->device, sizeof m->device, "no device-mapper device %s",
	    dmname);
	return 0;
}

int
cluks_spawn_wipe(const struct cluks_wipe *w, int *sockp, pid_t *pidp,
    char **cause)
{
	struct cluks_msg m;
	long long t0 = cluks_now_ms();
	int r;

	if ((r = cluks_fork(sockp, pidp, cause)) != 0)
		return r == 1 ? 0 : -1;
	memset(&m, 0, sizeof m);
	m.keyslot = -1;
	if (cluks_wipe_child(w, &m) == 0)
		m.ready = 1;
	m.total_ms = cluks_now_ms() - t0;
	cluks_send(*sockp, &m, -1);
	_exit(0);
}
