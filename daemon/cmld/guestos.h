/*
 * Guest OSes: the signed manifest format (cml-guestos(5)), installing a
 * guest OS atomically into the state directory, and checking installed
 * images against their signed hashes.  Installing and checking are
 * resumable, in steps, so cmld's event loop stays responsive and can
 * report progress while hundreds of MiB are hashed.
 */
#ifndef CMLD_GUESTOS_H
#define CMLD_GUESTOS_H

#include <stddef.h>

#include "names.h"

#define GUESTOS_MANIFEST "manifest.json"
#define GUESTOS_SIGNATURE "manifest.json.p7s"
#define GUESTOS_MANIFEST_MAX (256 * 1024)
/* The most images a guest OS has. */
#define GUESTOS_IMAGES_MAX 16
/* The most bytes of a manifest's signature. */
#define GUESTOS_SIG_MAX (64 * 1024)

/* The most hex digits of a dm-verity salt (veritysetup's limit, 256 bytes). */
#define GUESTOS_VERITY_SALT_MAX 512
/* dm-verity's data and hash block size in a guest OS image. */
#define GUESTOS_VERITY_BLOCK 4096

/*
 * An image's dm-verity hash tree (optional): format 1, sha256, 4096-byte
 * blocks, no superblock, at byte data_size of the image file, after the
 * file system it covers.
 */
struct guestos_verity {
	int present;
	char root_hash[65]; /* lower-case hex */
	char salt[GUESTOS_VERITY_SALT_MAX + 1]; /* lower-case hex, may be "" */
	long long data_size; /* bytes of file system, a multiple of 4096 */
};

struct guestos_image {
	char *file; /* a plain file name in the guest OS directory */
	long long size;
	char sha256[65]; /* lower-case hex */
	char *fs; /* "squashfs" or "ext4" */
	char *mount; /* absolute mount point in the container, "/" for root */
	struct guestos_verity verity;
};

struct guestos_manifest {
	char *name; /* [a-z0-9][a-z0-9._-]{0,63} */
	char *version; /* canonical: "7" or "1.2.3" */
	char *description;
	char *init; /* absolute path of the init inside the guest */
	int allow_downgrade;
	struct guestos_image *images;
	size_t nimages;
};

/*
 * Parses and validates a manifest (exact JSON bytes as signed); every
 * problem gives its own message naming the field.  -1 with *cause set.
 */
int guestos_manifest_parse(const char *json, size_t len,
    struct guestos_manifest *m, char **cause);
/* Releases a parsed manifest. */
void guestos_manifest_clear(struct guestos_manifest *m);

/* Progress of a copy or a check. */
struct guestos_progress {
	const char *file; /* the image being worked on */
	long long done; /* bytes, over all images */
	long long total;
};

struct guestos_copy;

struct file_set;

/*
 * Starts installing the guest OS passed as the files of src (the entries
 * of the directory srcdir a client named), whose manifest bytes (already
 * verified) were parsed into m: checks that src holds exactly the
 * manifest, its signature and the listed images, all regular files (no
 * symlinks, nothing else), takes the images' descriptors out of src, and
 * creates a staging directory under destroot.  NULL with *cause set.
 */
struct guestos_copy *guestos_copy_begin(struct file_set *src,
    const char *srcdir, const char *destroot, const struct guestos_manifest *m,
    const void *manifest, size_t manifest_len, const void *sig,
    size_t sig_len, char **cause);
/*
 * The same for a guest OS inside a bundle (cml-bundle(5)): image i is
 * m->images[i].size bytes at offsets[i] of srcfd (not taken: duplicated),
 * whose signed SHA-256 the bundle's manifest and m agree on; srcname names
 * the bundle in messages.
 */
struct guestos_copy *guestos_copy_begin_at(int srcfd, const long long *offsets,
    const char *srcname, const char *destroot,
    const struct guestos_manifest *m, const void *manifest,
    size_t manifest_len, const void *sig, size_t sig_len, char **cause);
/*
 * Copies and hashes up to budget bytes; the hash and size checked are
 * those of the bytes written.  1 when every image is in place and
 * matches, 0 when more remains, -1 with *cause set (the staging
 * directory is removed).
 */
int guestos_copy_step(struct guestos_copy *c, size_t budget, char **cause);
/* Reports how far a copy is. */
void guestos_copy_progress(const struct guestos_copy *c,
    struct guestos_progress *p);
/*
 * Makes a finished copy durable (fsync of files and directories) and
 * renames it to destroot/NAME/VERSION; sets *path.  -1 with *cause set.
 */
int guestos_copy_commit(struct guestos_copy *c, char **path, char **cause);
/* Frees a copy; one not committed has its staging directory removed. */
void guestos_copy_free(struct guestos_copy *c);

struct guestos_check;

/* Starts checking the images of an installed guest OS in dir. */
struct guestos_check *guestos_check_begin(const char *dir,
    const struct guestos_image *images, size_t nimages, char **cause);
/*
 * Makes a check, before its first step, open each image and check its
 * type and size only, without hashing it: for images whose every block
 * dm-verity checks against the signed root hash as it is read.
 */
void guestos_check_skip_hash(struct guestos_check *k);
/*
 * Hashes up to budget bytes: 1 when every image matches, 0 when more
 * remains, -1 with *cause naming the image and what differs.
 */
int guestos_check_step(struct guestos_check *k, size_t budget, char **cause);
/* Reports how far a check is. */
void guestos_check_progress(const struct guestos_check *k,
    struct guestos_progress *p);
/*
 * Once every image matched: hands over the open file of image i, the very
 * file that was hashed, so that what is mounted is what was checked.  -1
 * before the end, after a failure, or when already taken.
 */
int guestos_check_take_fd(struct guestos_check *k, size_t i);
/* Frees a check; NULL does nothing. */
void guestos_check_free(struct guestos_check *k);

/* Removes an installed guest OS directory tree; -1 with *cause set. */
int guestos_remove_dir(const char *path, char **cause);

#endif
