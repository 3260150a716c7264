/*
 * Data volumes: the storage of a container that outlives it
 * (cml-container(5), cml.storage.volume).  Each is an ext4 file system in
 * a file of the configured size, STATE/volumes/ID.ext4, named by the
 * container's own id (never reused, unlike names), root's only.  Before
 * each start it is made (mke2fs, the first time) or checked (e2fsck -p)
 * by a child process, in steps of a job, so cmld's loop goes on; a volume
 * that e2fsck cannot repair, or whose size is not the config's, is
 * refused with the reason.  The file checked is the one mounted: its
 * descriptor goes to container_set_volume.
 *
 * An encrypted volume (cml.storage.encrypted) is STATE/volumes/ID.luks
 * instead: LUKS2 (aes-xts-plain64, with hmac(sha256) integrity unless the
 * config opts out), one keyslot opened by the container key, an ext4
 * inside.  A child process that holds its own copy of the key formats it
 * at the first start, verifies the keyslot, activates it as the dm-crypt
 * device cml-ID, makes or checks the ext4 on it, passes the opened block
 * device back and marks the device for deferred removal, so that it goes
 * by itself once the container's mount closes it (c-luks.c).
 */
#ifndef CMLD_C_VOLUME_H
#define CMLD_C_VOLUME_H

#include <stddef.h>

#include "c-luks.h"

struct cvol;


/* Returns state_dir/volumes/ID.ext4 (free it). */
char *cvol_path(const char *state_dir, const char *id);
/* Returns state_dir/volumes/ID.luks (free it). */
char *cvol_path_luks(const char *state_dir, const char *id);
/* Says whether this kernel offers device-mapper (no litter left). */
int cvol_have_dm(void);
/*
 * Begins making ready the volume id of container name, size_mb MiB, in
 * state_dir; NULL with *cause set.
 */
struct cvol *cvol_open(const char *state_dir, const char *name,
    const char *id, long long size_mb, char **cause);
/*
 * Begins making ready the encrypted volume of container name (id, size_mb
 * as cvol_open) under key (keylen bytes: the container key, the keyslot's
 * passphrase); integrity 1 for hmac(sha256) authenticated encryption, 0
 * for none.  Forks a child that holds its own copy of the key (the caller
 * wipes its copy right after this returns).  NULL with *cause set
 * (CVOL_NO_DM exactly when integrity needs device-mapper and it is
 * missing).
 */
struct cvol *cvol_open_encrypted(const char *state_dir, const char *name,
    const char *id, long long size_mb, int integrity,
    const unsigned char *key, size_t keylen, char **cause);
/*
 * Begins destroying the volume of container id (ID.luks, ID.ext4, their
 * .new): a LUKS2 header area is overwritten with random bytes and checked
 * to hold no LUKS magic, a plain volume is overwritten with zeros, each
 * fsynced, then unlinked; then no file ID.* and no dm device cml-ID may
 * be left.  A child does it (cvol_step until 1 or -1).  NULL with *cause
 * set, also while the dm device cml-ID is active (in use).
 */
struct cvol *cvol_wipe(const char *state_dir, const char *name,
    const char *id, char **cause);
/*
 * Runs a step: waits a few milliseconds at most for mke2fs or e2fsck (or
 * the child of an encrypted volume or a wipe).
 * Returns 0 while not done, 1 when the volume is ready, -1 with *cause
 * set when it is refused.
 */
int cvol_step(struct cvol *v, char **cause);
/*
 * Says what was done, once ready ("made", "checked", "repaired by
 * e2fsck"; encrypted: "formatted (LUKS2, aes-xts-plain64, hmac(sha256)
 * integrity), opened and made", "opened and checked", ...).
 */
const char *cvol_done(const struct cvol *v);
/* Why the volume was refused, after cvol_step returned -1. */
enum cvol_refusal cvol_refusal(const struct cvol *v);
/* The keyslot the key opened (-1 if not verified). */
int cvol_keyslot(const struct cvol *v);
/* The dm device once ready ("/dev/mapper/cml-ID"), NULL for a plain one. */
const char *cvol_device(const struct cvol *v);
/* Milliseconds the child spent on everything (keyslot, activation, fs). */
long long cvol_open_ms(const struct cvol *v);
/* Milliseconds the child spent on the keyslot (KDF and verification). */
long long cvol_keyslot_ms(const struct cvol *v);
/* ... on setting up dm-integrity and dm-crypt (a new one's tags too). */
long long cvol_activate_ms(const struct cvol *v);
/* ... on mke2fs or e2fsck -p on the device. */
long long cvol_fs_ms(const struct cvol *v);
/* A wipe's checks, one line each; NULL where one did not apply. */
const char *cvol_wipe_header(const struct cvol *v);
const char *cvol_wipe_volume(const struct cvol *v);
const char *cvol_wipe_device(const struct cvol *v);
/* The volume's file. */
const char *cvol_file(const struct cvol *v);
/*
 * Takes the descriptor of the ready volume, read-write (-1 if none): the
 * ext4 file, or for an encrypted volume the opened dm-crypt device.
 */
int cvol_take_fd(struct cvol *v);
/* Stops a child still running and frees; NULL does nothing. */
void cvol_free(struct cvol *v);
/*
 * Fills *size and *allocated (bytes on disk) of the volume id (ID.ext4,
 * else ID.luks); -1 when it does not exist (yet).
 */
int cvol_stat(const char *state_dir, const char *id, long long *size,
    long long *allocated);
/*
 * Removes the volume id (an encrypted one's header destroyed first); 0
 * also when there was none, -1 with *cause set.
 */
int cvol_remove(const char *state_dir, const char *id, char **cause);

#endif
