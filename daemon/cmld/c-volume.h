/*
 * Data volumes: the storage of a container that outlives it
 * (cml-container(5), cml.storage.volume).  Each is an ext4 file system in
 * a file of the configured size, STATE/volumes/ID.ext4, named by the
 * container's own id (never reused, unlike names), root's only.  Before
 * each start it is made (mke2fs, the first time) or checked (e2fsck -p)
 * by a child process, in steps of a job, so cmld's loop goes on; a volume
 * that e2fsck cannot repair, or whose size is not the config's, is
 * refused with the reason.  The file checked is the one mounted: its
 * descriptor goes to container_set_volume.  (A later LUKS2 layer wraps
 * this file.)
 */
#ifndef CMLD_C_VOLUME_H
#define CMLD_C_VOLUME_H

struct cvol;

/* The directory of the volumes below the state directory. */
#define CVOL_DIR "volumes"
#define CVOL_SUFFIX ".ext4"

/* Returns state_dir/volumes/ID.ext4 (free it). */
char *cvol_path(const char *state_dir, const char *id);
/*
 * Begins making ready the volume id of container name, size_mb MiB, in
 * state_dir; NULL with *cause set.
 */
struct cvol *cvol_open(const char *state_dir, const char *name,
    const char *id, long long size_mb, char **cause);
/*
 * Runs a step: waits a few milliseconds at most for mke2fs or e2fsck.
 * Returns 0 while not done, 1 when the volume is ready, -1 with *cause
 * set when it is refused.
 */
int cvol_step(struct cvol *v, char **cause);
/* Says what was done, once ready ("made", "checked", "repaired"). */
const char *cvol_done(const struct cvol *v);
/* The volume's file. */
const char *cvol_file(const struct cvol *v);
/* Takes the descriptor of the ready volume, read-write (-1 if none). */
int cvol_take_fd(struct cvol *v);
/* Stops a child still running and frees; NULL does nothing. */
void cvol_free(struct cvol *v);
/*
 * Fills *size and *allocated (bytes on disk) of the volume id; -1 when
 * it does not exist (yet).
 */
int cvol_stat(const char *state_dir, const char *id, long long *size,
    long long *allocated);
/*
 * Removes the volume id; 0 also when there was none, -1 with *cause set.
 */
int cvol_remove(const char *state_dir, const char *id, char **cause);

#endif
