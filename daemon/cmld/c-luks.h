/*
 * The encrypted side of data volumes (c-volume.h): what a child process
 * of cmld does with libcryptsetup and the container key, and the wipe of
 * a volume, each reported back to c-volume.c in one message over a
 * SOCK_SEQPACKET socket (with the opened dm-crypt device, when ready);
 * and what both sides share: the volumes' names, the refusals, the
 * device-mapper devices of a volume, the programs of e2fsprogs.
 * c-volume.h includes it: users of data volumes include that.
 */
#ifndef CMLD_C_LUKS_H
#define CMLD_C_LUKS_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

/* The directory of the volumes below the state directory. */
#define CVOL_DIR "volumes"
#define CVOL_SUFFIX ".ext4"
#define CVOL_LUKS_SUFFIX ".luks"
/* The prefix of an encrypted volume's device-mapper name, "cml-ID". */
#define CVOL_DM_PREFIX "cml-"

/* The refusal of an encrypted volume where device-mapper is missing. */
#define CVOL_NO_DM "needs encrypted storage, but this kernel has no " \
	"device-mapper: cml does not start it with plain data"

/* Why a volume was refused (after cvol_step returned -1). */
enum cvol_refusal {
	CVOL_REFUSED_OTHER,
	CVOL_REFUSED_NO_DM, /* the kernel has no device-mapper */
	CVOL_REFUSED_KEY, /* the key opens no keyslot */
	CVOL_REFUSED_INTEGRITY, /* the data failed its integrity check */
};

/* mke2fs's arguments for a data volume, plain or encrypted, but the target. */
#define CVOL_MKE2FS_ARGS "mke2fs", "-q", "-F", "-t", "ext4", "-m", "0", \
	"-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard"
/* What overwriting a LUKS2 header destroys at least: its default size. */
#define CLUKS_HEADER_MIN (16LL * 1024 * 1024)

/* What the child says, once, in one message of exactly this size. */
struct cluks_msg {
	int32_t ready; /* 1: ready (an open sends its fd along), 0: refused */
	int32_t refusal; /* enum cvol_refusal */
	int32_t keyslot; /* -1: not verified */
	int32_t formatted; /* 1: a new volume was formatted (and renamed) */
	int64_t keyslot_ms; /* KDF and keyslot verification */
	int64_t activate_ms; /* dm-integrity and dm-crypt set up (a new
				volume's integrity tags written too) */
	int64_t fs_ms; /* mke2fs or e2fsck -p on the device */
	int64_t total_ms; /* all the child did */
	char text[1024]; /* what was done, or the refusal's cause */
	char header[512]; /* a wipe's checks, "" where they did not apply */
	char volume[1024];
	char device[256];
};

/* What a child opens: the volume file checked by the parent. */
struct cluks_open {
	const char *name; /* the container's */
	const char *id;
	const char *path; /* the volume's final path, for messages */
	int fd; /* the checked file (ID.luks or the new ID.luks.new) */
	int is_new; /* the file was just made: format it */
	int integrity;
	const unsigned char *key; /* the child's copy of it is wiped */
	size_t keylen;
};

/* What a wipe child destroys. */
struct cluks_wipe {
	const char *dir; /* STATE/volumes */
	int dfd; /* it, open */
	const char *id;
};

/*
 * Forks the child that makes the encrypted volume ready; *sockp is the
 * parent's end of the socket, *pidp the child.  -1 with *cause set.
 */
int cluks_spawn_open(const struct cluks_open *o, int *sockp, pid_t *pidp,
    char **cause);
/* Forks the child that wipes a volume, the same way. */
int cluks_spawn_wipe(const struct cluks_wipe *w, int *sockp, pid_t *pidp,
    char **cause);
/*
 * Overwrites the LUKS2 header area of the open volume file fd (to its
 * data offset, at least CLUKS_HEADER_MIN, the whole file when smaller)
 * with random bytes, fsyncs it, reads it back and checks that no LUKS
 * magic is left; *area is the bytes overwritten.  path names it.  0, or
 * -1 with *cause set.
 */
int cluks_destroy_header(int fd, const char *path, long long *area,
    char **cause);
/* Says whether the dm device called name exists (sysfs) (1) or not (0). */
int cluks_dm_exists(const char *name);

/* The descriptor the volume file has in the child. */
#define CVOL_CHILD_FD 3
/*
 * Forks argv[0] (a program of e2fsprogs, found where Debian and others
 * install it) with stdout and stderr to the pipe *outp reads, fd (if not
 * -1) as descriptor CVOL_CHILD_FD, nothing else open, cmld's death its
 * end.  Its pid, or -1 with *cause set.
 */
pid_t cvol_fork_program(char *const argv[], int fd, int *outp, char **cause);
/* The number of a loop device backing path, or -1. */
int cvol_loop_of_path(const char *path);
/*
 * Removes a dm device cml-ID (and cml-ID_dif) left behind with no opener;
 * 0 if none was there or it was removed, -1 with *cause set (still open).
 */
int cvol_close_leftover(const char *id, char **cause);
/* Says whether the dm device cml-ID exists (1) or not (0). */
int cvol_device_exists(const char *id);

/* Tells libcryptsetup's messages to cmld's log, at debug level. */
void cluks_log(int level, const char *msg, void *arg);

#endif
