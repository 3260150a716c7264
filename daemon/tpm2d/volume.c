/*
 * The state volume: a LUKS2 volume for cml's state directory (cmld's,
 * ROOT/var/lib/cml by default), opened with a key derived from the system
 * key.  With --state-volume PATH (a block device, a partition or an image
 * file, which is attached to a loop device here), after the system key is
 * unsealed and before tpm2d reports readiness:
 *
 *   - a PATH whose first MiB is zeros and which holds no LUKS2 header yet is
 *     formatted LUKS2 (aes-xts-plain64, a 512-bit volume key from the
 *     kernel's random numbers); its one keyslot's passphrase is
 *     HMAC-SHA-256 under the system key of "cml state volume" and a zero
 *     byte (a label PlatformSecret cannot be asked for: its labels hold no
 *     zero byte), 32 bytes, stretched by PBKDF2-SHA-256 with 1000
 *     iterations: a 256-bit random secret needs no costly stretching;
 *   - where the kernel has device-mapper, it is opened as the dm-crypt
 *     device "cml-state", given an ext4 file system at its first use
 *     (mke2fs, a child process) and mounted on the state directory
 *     (nosuid, nodev, noexec); tpm2d's own directory (the sealed key, which
 *     cannot live inside what it opens) is bound back onto STATE/tpm2d;
 *   - where it has not, the keyslot is still checked without opening
 *     anything (libcryptsetup verifies a passphrase with no device name),
 *     and the state directory stays plain, which Status says.
 *
 * When the system key is not unsealed (PCRs changed) or the volume cannot
 * be opened, nothing is formatted, and where device-mapper exists the state
 * directory is locked: an empty read-only tmpfs is mounted on it, holding
 * only tpm2d's own directory and a file LOCKED that says why, so cmld
 * cannot start on an empty plain directory in its place (it cannot make
 * its database there).  tpm2d itself serves on, for diagnosis.
 *
 * At stop: unmounted, closed, the loop device detached.  When the state
 * directory is still in use (cmld runs), it is left open and mounted, and
 * a tpm2d started later takes it over.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <linux/loop.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libcryptsetup.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "context.h"
#include "dm.h"
#include "log.h"
#include "xmalloc.h"

/* The dm-crypt device's name: /dev/mapper/cml-state. */
#define VOLUME_DM_NAME "cml-state"
/* The label that derives the keyslot's passphrase, with its zero byte. */
#define VOLUME_LABEL "cml state volume"
#define VOLUME_LABEL_LEN (sizeof VOLUME_LABEL)
/* A volume smaller than this is refused (the LUKS2 header takes 16 MiB). */
#define VOLUME_MIN_SIZE (32LL * 1024 * 1024)
/* What must be zeros before tpm2d formats a volume. */
#define VOLUME_BLANK_SIZE (1024 * 1024)
/* PBKDF2 iterations of the keyslot (see above). */
#define VOLUME_PBKDF2_ITER 1000

/* The volume's state, kept in struct tpm2d's volume. */
struct volume {
	char *path; /* as configured */
	char *dev; /* what libcryptsetup opens: PATH or /dev/loopN */
	int loop_fd; /* the loop device of an image file, or -1 */
	int mounted; /* the volume (or the lock) is mounted on mnt */
	int bound; /* the tpm2d directory is bound back */
	int active; /* "cml-state" is active (opened here or found) */
	int state_fd; /* tpm2d's own directory, when below the mount point */
};

/* Tells libcryptsetup's messages to tpm2d's log, at debug level. */
static void
volume_log(int level, const char *msg, void *arg)
{
	(void)arg;
	(void)level;
	log_debug("libcryptsetup: %.*s", (int)strcspn(msg, "\n"), msg);
}

/* Sets the state and its reason and logs them. */
static void
volume_set(struct tpm2d *t, const char *state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
volume_set(struct tpm2d *t, const char *state, const char *fmt, ...)
{
	va_list ap;

	free(t->state_volume_reason);
	va_start(ap, fmt);
	if (vasprintf(&t->state_volume_reason, fmt, ap) == -1)
		fatalx("out of memory");
	va_end(ap);
	t->state_volume = state;
	log_info("state volume: %s: %s", state, t->state_volume_reason);
}

/* The keyslot's passphrase, 32 bytes, from the system key. */
static void
volume_passphrase(struct tpm2d *t, unsigned char pass[32])
{
	unsigned int len = 0;

	if (HMAC(EVP_sha256(), t->syskey, sizeof t->syskey,
	    (const unsigned char *)VOLUME_LABEL, VOLUME_LABEL_LEN, pass,
	    &len) == NULL || len != 32)
		fatalx("HMAC-SHA-256 failed");
}

/*
 * Attaches an image file to a free loop device (autoclear: it goes when
 * the last user closes it); 0, or -1 with *cause set.
 */
static int
volume_loop_attach(struct volume *v, char **cause)
{
	struct loop_config lc;
	int ctl, fd = -1, lfd, n, tries;
	char dev[32];

	if ((fd = open(v->path, O_RDWR | O_CLOEXEC)) == -1) {
		xcause(cause, "cannot open %s: %s", v->path, strerror(errno));
		return -1;
	}
	if ((ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC)) == -1) {
		xcause(cause, "cannot open /dev/loop-control for the image "
		    "file %s: %s", v->path, strerror(errno));
		close(fd);
		return -1;
	}
	for (tries = 0; tries < 20; tries++) {
		if ((n = ioctl(ctl, LOOP_CTL_GET_FREE)) < 0) {
			xcause(cause, "no free loop device: %s",
			    strerror(errno));
			break;
		}
		(void)snprintf(dev, sizeof dev, "/dev/loop%d", n);
		if ((lfd = open(dev, O_RDWR | O_CLOEXEC)) == -1) {
			if (errno == ENOENT || errno == EBUSY) {
				usleep(10000);
				continue;
			}
			xcause(cause, "cannot open %s: %s", dev,
			    strerror(errno));
			break;
		}
		memset(&lc, 0, sizeof lc);
		lc.fd = (unsigned int)fd;
		lc.info.lo_flags = LO_FLAGS_AUTOCLEAR;
		if (ioctl(lfd, LOOP_CONFIGURE, &lc) == 0) {
			close(ctl);
			close(fd);
			v->loop_fd = lfd;
			v->dev = xstrdup(dev);
			return 0;
		}
		close(lfd);
		if (errno != EBUSY) {
			xcause(cause, "cannot attach %s to %s: %s", v->path,
			    dev, strerror(errno));
			break;
		}
	}
	if (tries == 20)
		xcause(cause, "no free loop device for %s", v->path);
	close(ctl);
	close(fd);
	return -1;
}

/*
 * Looks at the volume: its size, and whether its first MiB is zeros.
 * 0, or -1 with *cause set.
 */
static int
volume_probe(const char *dev, int *blank, char **cause)
{
	unsigned char *buf;
	off_t size;
	ssize_t n;
	size_t i;
	int fd;

	if ((fd = open(dev, O_RDONLY | O_CLOEXEC)) == -1) {
		xcause(cause, "cannot open %s: %s", dev, strerror(errno));
		return -1;
	}
	size = lseek(fd, 0, SEEK_END);
	if (size < VOLUME_MIN_SIZE) {
		xcause(cause, "%s is too small for a state volume (%lld "
		    "bytes, at least %lld)", dev, (long long)size,
		    VOLUME_MIN_SIZE);
		close(fd);
		return -1;
	}
	buf = xmalloc(VOLUME_BLANK_SIZE);
	n = pread(fd, buf, VOLUME_BLANK_SIZE, 0);
	close(fd);
	if (n != VOLUME_BLANK_SIZE) {
		xcause(cause, "cannot read %s: %s", dev, n == -1 ?
		    strerror(errno) : "short read");
		free(buf);
		return -1;
	}
	*blank = 1;
	for (i = 0; i < VOLUME_BLANK_SIZE; i++)
		if (buf[i] != 0) {
			*blank = 0;
			break;
		}
	free(buf);
	return 0;
}

/*
 * Formats a blank volume LUKS2 with one keyslot for pass; 0, or -1 with
 * *cause set.
 */
static int
volume_format(struct crypt_device *cd, const unsigned char pass[32],
    char **cause)
{
	struct crypt_pbkdf_type pbkdf = {
		.type = CRYPT_KDF_PBKDF2,
		.hash = "sha256",
		.iterations = VOLUME_PBKDF2_ITER,
		.flags = CRYPT_PBKDF_NO_BENCHMARK,
	};
	unsigned char vk[64];
	int r;

	if (getrandom(vk, sizeof vk, 0) != (ssize_t)sizeof vk) {
		xcause(cause, "getrandom: %s", strerror(errno));
		return -1;
	}
	if ((r = crypt_set_pbkdf_type(cd, &pbkdf)) < 0 ||
	    (r = crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL,
	    (const char *)vk, sizeof vk, NULL)) < 0) {
		explicit_bzero(vk, sizeof vk);
		xcause(cause, "cannot format it LUKS2: %s", strerror(-r));
		return -1;
	}
	(void)crypt_set_label(cd, VOLUME_DM_NAME, NULL);
	r = crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT,
	    (const char *)vk, sizeof vk, (const char *)pass, 32);
	explicit_bzero(vk, sizeof vk);
	if (r < 0) {
		xcause(cause, "cannot add its keyslot: %s", strerror(-r));
		return -1;
	}
	return 0;
}

/* Whether dev holds an ext2/3/4 file system (its superblock's magic). */
static int
volume_has_fs(const char *dev)
{
	unsigned char m[2];
	int fd, r;

	if ((fd = open(dev, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	r = pread(fd, m, 2, 1024 + 56) == 2 && m[0] == 0x53 && m[1] == 0xef;
	close(fd);
	return r;
}

/* Runs mke2fs on dev; 0, or -1 with *cause set. */
static int
volume_mkfs(const char *dev, char **cause)
{
	static const char *const dirs[] = { "/usr/sbin", "/sbin",
	    "/usr/bin", "/bin", NULL };
	static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	    "LC_ALL=C", NULL };
	char *prog = NULL, out[512], buf[512];
	int p[2], status, fd;
	ssize_t n;
	size_t len = 0, i;
	pid_t pid;

	for (i = 0; dirs[i] != NULL && prog == NULL; i++) {
		prog = xasprintf("%s/mke2fs", dirs[i]);
		if (access(prog, X_OK) != 0) {
			free(prog);
			prog = NULL;
		}
	}
	if (prog == NULL) {
		xcause(cause, "no mke2fs (e2fsprogs) to make its file system");
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		char *const argv[] = { "mke2fs", "-q", "-F", "-t", "ext4",
		    "-m", "0", "-L", VOLUME_DM_NAME, "-E",
		    "lazy_itable_init=1,lazy_journal_init=1", (char *)dev,
		    NULL };

		if ((fd = open("/dev/null", O_RDONLY)) != -1)
			(void)dup2(fd, STDIN_FILENO);
		(void)dup2(p[1], STDOUT_FILENO);
		(void)dup2(p[1], STDERR_FILENO);
		execve(prog, argv, envp);
		_exit(127);
	}
	close(p[1]);
	/* all of it is read (mke2fs must not block), the start kept */
	while ((n = read(p[0], buf, sizeof buf)) > 0 ||
	    (n == -1 && errno == EINTR)) {
		if (n <= 0)
			continue;
		if ((size_t)n > sizeof out - 1 - len)
			n = (ssize_t)(sizeof out - 1 - len);
		memcpy(out + len, buf, (size_t)n);
		len += (size_t)n;
	}
	out[len] = '\0';
	close(p[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	free(prog);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		out[strcspn(out, "\n")] = '\0';
		xcause(cause, "mke2fs failed (status %d): %s", status, out);
		return -1;
	}
	return 0;
}

/* Whether path is a mount point (its device differs from its parent's). */
static int
volume_is_mount(const char *path)
{
	struct stat a, b;
	char *parent;
	int r;

	parent = xasprintf("%s/..", path);
	r = stat(path, &a) == 0 && stat(parent, &b) == 0 &&
	    (a.st_dev != b.st_dev || a.st_ino == b.st_ino);
	free(parent);
	return r;
}

/*
 * When tpm2d's own directory lies below the mount point: binds it (fd,
 * opened before the mount) back onto its path, through a directory made
 * in what is now mounted.  0, or -1 with *cause set.
 */
static int
volume_bind_state(struct tpm2d *t, struct volume *v, char **cause)
{
	int fd = v->state_fd;
	char *src;

	if (fd == -1)
		return 0;
	if (mkdir(t->state_dir, 0700) == -1 && errno != EEXIST) {
		xcause(cause, "cannot make %s on the volume: %s", t->state_dir,
		    strerror(errno));
		return -1;
	}
	src = xasprintf("/proc/self/fd/%d", fd);
	if (mount(src, t->state_dir, NULL, MS_BIND, NULL) == -1) {
		xcause(cause, "cannot bind tpm2d's directory back onto %s: "
		    "%s", t->state_dir, strerror(errno));
		free(src);
		return -1;
	}
	free(src);
	v->bound = 1;
	return 0;
}

/* Opens tpm2d's own directory when it lies below the mount point; or -1. */
static int
volume_state_fd(struct tpm2d *t)
{
	size_t n = strlen(t->state_mount);
	int fd;

	if (strncmp(t->state_dir, t->state_mount, n) != 0 ||
	    t->state_dir[n] != '/')
		return -1;
	if ((fd = open(t->state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		fatal("cannot open %s", t->state_dir);
	return fd;
}

/*
 * Locks the state directory: an empty read-only tmpfs on it, with tpm2d's
 * directory bound back and a file LOCKED saying why.
 */
static void
volume_lock(struct tpm2d *t, struct volume *v)
{
	char *path, *cause = NULL;
	FILE *f;

	if (mount("tmpfs", t->state_mount, "tmpfs", MS_NOSUID | MS_NODEV |
	    MS_NOEXEC, "mode=0755,size=64k,nr_inodes=16") == -1) {
		log_warn("cannot lock %s with a read-only tmpfs",
		    t->state_mount);
		return;
	}
	v->mounted = 1;
	path = xasprintf("%s/LOCKED", t->state_mount);
	if ((f = fopen(path, "we")) != NULL) {
		fprintf(f, "cml's state volume %s is not open: %s\n", v->path,
		    t->state_volume_reason);
		fclose(f);
	}
	free(path);
	if (volume_bind_state(t, v, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
	}
	if (mount(NULL, t->state_mount, NULL, MS_REMOUNT | MS_RDONLY |
	    MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == -1)
		log_warn("cannot make the lock on %s read-only",
		    t->state_mount);
	log_warnx("the state directory %s is locked (a read-only empty "
	    "file system): cmld cannot start on it", t->state_mount);
}

/*
 * Opens the volume where device-mapper exists: activates it, makes its
 * file system at first use, mounts it.  0, or -1 with *cause set.
 */
static int
volume_mount(struct tpm2d *t, struct volume *v, struct crypt_device *cd,
    const unsigned char pass[32], char **cause)
{
	const char *mapper = "/dev/mapper/" VOLUME_DM_NAME;
	int r;

	r = crypt_activate_by_passphrase(cd, VOLUME_DM_NAME, CRYPT_ANY_SLOT,
	    (const char *)pass, 32, 0);
	if (r == -EPERM) {
		xcause(cause, "its keyslot does not open with the key derived "
		    "from the system key (a volume of another system key?)");
		return -1;
	}
	if (r < 0) {
		xcause(cause, "cannot open it as %s (dm-crypt): %s", mapper,
		    strerror(-r));
		return -1;
	}
	v->active = 1;
	if (!volume_has_fs(mapper)) {
		log_info("state volume: making an ext4 file system on %s",
		    mapper);
		if (volume_mkfs(mapper, cause) == -1)
			return -1;
	}
	if (mkdir(t->state_mount, 0755) == -1 && errno != EEXIST) {
		xcause(cause, "cannot make %s: %s", t->state_mount,
		    strerror(errno));
		return -1;
	}
	if (mount(mapper, t->state_mount, "ext4", MS_NOSUID | MS_NODEV |
	    MS_NOEXEC, NULL) == -1) {
		xcause(cause, "cannot mount %s on %s: %s", mapper,
		    t->state_mount, strerror(errno));
		return -1;
	}
	v->mounted = 1;
	return volume_bind_state(t, v, cause);
}

void
tpm2d_volume_init(struct tpm2d *t)
{
	struct crypt_device *cd = NULL;
	struct volume *v;
	unsigned char pass[32];
	char *cause = NULL;
	const char *what;
	struct stat sb;
	int dm, had_node, blank = 0, r, formatted = 0;

	if (t->state_volume_path == NULL) {
		volume_set(t, "plain", "no state volume is configured "
		    "(--state-volume): the state directory is a plain "
		    "directory, the sealed key protects the platform secret "
		    "only");
		return;
	}
	dm = dm_present();
	had_node = dm_node_exists();
	v = xcalloc(1, sizeof *v);
	v->path = xstrdup(t->state_volume_path);
	v->loop_fd = -1;
	v->state_fd = dm ? volume_state_fd(t) : -1;
	t->volume = v;

	/* a tpm2d before this one left it open (cmld still used it) */
	if (dm && crypt_status(NULL, VOLUME_DM_NAME) == CRYPT_ACTIVE &&
	    volume_is_mount(t->state_mount)) {
		v->active = v->mounted = 1;
		v->bound = volume_is_mount(t->state_dir);
		volume_set(t, "encrypted", "%s, open already as /dev/mapper/"
		    VOLUME_DM_NAME ", mounted on %s", v->path, t->state_mount);
		tpm2d_audit(t, "volume", v->path, "ok", "the state volume "
		    "was open already, mounted on %s", t->state_mount);
		return;
	}

	if (t->syskey_state != TPM2D_SYSKEY_UNSEALED) {
		if (!dm) {
			volume_set(t, "plain", "the kernel has no "
			    "device-mapper (dm-crypt), and the system key is "
			    "not unsealed: %s is not opened, the state "
			    "directory stays plain", v->path);
			tpm2d_audit(t, "volume", v->path, "refused", "%s",
			    t->state_volume_reason);
			return;
		}
		volume_set(t, "locked", "the system key is not unsealed, so "
		    "%s stays closed: %s", v->path, t->syskey_reason != NULL ?
		    t->syskey_reason : "no reason known");
		tpm2d_audit(t, "volume", v->path, "refused", "%s",
		    t->state_volume_reason);
		volume_lock(t, v);
		return;
	}

	if (stat(v->path, &sb) == -1) {
		xcause(&cause, "cannot use %s: %s", v->path, strerror(errno));
		goto fail;
	}
	if (S_ISREG(sb.st_mode)) {
		if (dm && volume_loop_attach(v, &cause) == -1)
			goto fail;
		if (!dm)
			v->dev = xstrdup(v->path);
	} else if (S_ISBLK(sb.st_mode))
		v->dev = xstrdup(v->path);
	else {
		xcause(&cause, "%s is neither a block device nor an image "
		    "file", v->path);
		goto fail;
	}
	if (volume_probe(v->dev, &blank, &cause) == -1)
		goto fail;

	crypt_set_log_callback(NULL, volume_log, NULL);
	if ((r = crypt_init(&cd, v->dev)) < 0) {
		xcause(&cause, "cannot open %s: %s", v->dev, strerror(-r));
		goto fail;
	}
	crypt_set_log_callback(cd, volume_log, NULL);
	volume_passphrase(t, pass);
	if (crypt_load(cd, CRYPT_LUKS2, NULL) < 0) {
		if (!blank) {
			xcause(&cause, "%s holds data but no LUKS2 header: "
			    "tpm2d formats only a volume whose first MiB is "
			    "zeros", v->path);
			goto fail;
		}
		if (volume_format(cd, pass, &cause) == -1)
			goto fail;
		formatted = 1;
		tpm2d_audit(t, "volume", v->path, "ok", "the state volume was "
		    "formatted LUKS2 (aes-xts-plain64, 512-bit key), one "
		    "keyslot for a key derived from the system key");
	}

	if (!dm) {
		r = crypt_activate_by_passphrase(cd, NULL, CRYPT_ANY_SLOT,
		    (const char *)pass, 32, 0);
		dm_unlitter(had_node);
		if (r < 0) {
			xcause(&cause, "its keyslot does not open with the "
			    "key derived from the system key: %s",
			    strerror(-r));
			goto fail;
		}
		volume_set(t, "plain", "the kernel has no device-mapper "
		    "(dm-crypt): the state directory stays plain; the LUKS2 "
		    "volume %s (%s, keyslot %d opens with the sealed key) is "
		    "not opened and holds no state", v->path, formatted ?
		    "formatted now" : "formatted before", r);
		tpm2d_audit(t, "volume", v->path, "ok", "%s",
		    t->state_volume_reason);
		goto out;
	}

	if (volume_mount(t, v, cd, pass, &cause) == -1)
		goto fail;
	what = formatted ? "formatted and opened" : "opened";
	volume_set(t, "encrypted", "%s (LUKS2, %s%s%s) %s as /dev/mapper/"
	    VOLUME_DM_NAME ", mounted on %s", v->path,
	    crypt_get_cipher(cd), "-", crypt_get_cipher_mode(cd), what,
	    t->state_mount);
	tpm2d_audit(t, "volume", v->path, "ok", "the state volume was %s, "
	    "mounted on %s", what, t->state_mount);
	goto out;

fail:
	if (dm) {
		if (v->bound && umount2(t->state_dir, 0) == 0)
			v->bound = 0;
		if (v->mounted && umount2(t->state_mount, 0) == 0)
			v->mounted = 0;
		if (v->active && !v->mounted) {
			(void)crypt_deactivate(cd, VOLUME_DM_NAME);
			v->active = 0;
		}
		volume_set(t, "locked", "%s cannot be used: %s", v->path,
		    cause);
		tpm2d_audit(t, "volume", v->path, "error", "%s",
		    t->state_volume_reason);
		if (!v->mounted)
			volume_lock(t, v);
	} else {
		dm_unlitter(had_node);
		volume_set(t, "plain", "the kernel has no device-mapper "
		    "(dm-crypt): the state directory stays plain; and %s "
		    "cannot be used: %s", v->path, cause);
		tpm2d_audit(t, "volume", v->path, "error", "%s",
		    t->state_volume_reason);
	}
out:
	explicit_bzero(pass, sizeof pass);
	if (cd != NULL)
		crypt_free(cd);
	free(cause);
}

void
tpm2d_volume_free(struct tpm2d *t)
{
	struct volume *v = t->volume;
	char *src;
	int r, busy = 0;

	if (v == NULL)
		return;
	if (v->bound && umount2(t->state_dir, 0) == -1) {
		log_warn("cannot unmount %s", t->state_dir);
		busy = 1;
	}
	if (!busy && v->mounted && umount2(t->state_mount, 0) == -1) {
		log_warn("cannot unmount %s: the state volume stays open",
		    t->state_mount);
		busy = 1;
		/* the tpm2d directory goes back where it was */
		if (v->state_fd != -1) {
			src = xasprintf("/proc/self/fd/%d", v->state_fd);
			(void)mount(src, t->state_dir, NULL, MS_BIND, NULL);
			free(src);
		}
	}
	if (!busy && v->active) {
		if ((r = crypt_deactivate(NULL, VOLUME_DM_NAME)) < 0)
			log_warnx("cannot close /dev/mapper/" VOLUME_DM_NAME
			    ": %s", strerror(-r));
		else
			log_info("state volume: %s closed", v->path);
	}
	if (v->loop_fd != -1) {
		if (!busy)
			(void)ioctl(v->loop_fd, LOOP_CLR_FD, 0);
		close(v->loop_fd);
	}
	if (v->state_fd != -1)
		close(v->state_fd);
	free(v->path);
	free(v->dev);
	free(v);
	t->volume = NULL;
}
