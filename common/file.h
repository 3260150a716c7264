#ifndef CML_FILE_H
#define CML_FILE_H

#include <sys/stat.h>

#include <stddef.h>

/* FUSE_SUPER_MAGIC */
#define FILE_FUSE_MAGIC 0x65735546

/*
 * Checks a descriptor before reading it: a regular file (ELOOP for a
 * symbolic link, EINVAL for anything else: a FIFO, socket, device or
 * directory would block or never end), not on FUSE (EREMOTE), of at most
 * max bytes (EFBIG; 0: any size).  0 with *sb filled, or -1 with errno.
 */
int file_check_fd(int fd, size_t max, struct stat *sb);
/*
 * Reads the whole regular file fd (a descriptor a client passed, or one
 * opened here) of at most max bytes into *buf, NUL-terminated, its length
 * in *len, from offset 0 whatever the file position.  0, or -1 with errno
 * as file_check_fd sets it, ENODATA when it shrank while read, EIO when
 * read(2) failed.  *buf is NULL after a failure.
 */
int file_read_fd(int fd, size_t max, char **buf, size_t *len);
/*
 * Says what errno of file_check_fd or file_read_fd means for the file
 * called name (free it); it never quotes the file's content.
 */
char *file_error(const char *name, size_t max);
/*
 * Reads the whole regular file path (relative to dirfd, or AT_FDCWD) of at
 * most max bytes into *buf, NUL-terminated, its length in *len; a final
 * symbolic link is not followed.  0, or -1 with errno: what open(2) said
 * (ELOOP for a symbolic link), EINVAL when it is not a regular file, EFBIG
 * when it is larger than max, ENODATA when it shrank while read, EIO when
 * read(2) failed.  *buf is NULL after a failure.
 */
int file_read_small(int dirfd, const char *path, size_t max, char **buf,
    size_t *len);
/*
 * Reads a file whose size stat(2) does not tell (/proc/cmdline and the
 * like) to its end, NUL-terminated, into *buf (free it): 0, or -1 with
 * errno set (EFBIG when it holds more than max bytes).
 */
int file_read_proc(const char *path, size_t max, char **buf, size_t *len);

/*
 * Writes data to dir/name through a temporary file (.name.tmp, of mode)
 * that is fsync'd and renamed over it, the directory fsync'd after: a
 * crash leaves the old or the new file, never a torn one.  0, or -1 with
 * *cause set.
 */
int file_write_atomic(const char *dir, const char *name, const void *data,
    size_t len, mode_t mode, char **cause);
/*
 * Fsyncs a directory, so that renames and unlinks in it last; 0, or -1
 * with errno.
 */
int file_sync_dir(const char *dir);
/*
 * Writes all of buf to fd (a blocking one), again after EINTR; -1 with
 * errno set.
 */
int file_write_all(int fd, const void *buf, size_t len);
/*
 * Removes name in directory parent and, if it is a directory, everything
 * below it, never following a symbolic link; display names it in
 * messages.  A name already gone counts as removed.  -1 with *cause naming
 * what could not be removed.
 */
int file_remove_at(int parent, const char *name, const char *display,
    char **cause);
/*
 * Removes the directory tree path (nothing when it is gone already) and
 * fsyncs its parent, so that the removal lasts; -1 with *cause set.
 */
int file_remove_tree(const char *path, char **cause);
/*
 * Fsyncs every regular file and directory in the tree path, path itself
 * last, without following symbolic links: what was written there survives
 * a power cut once this returned 0.  -1 with *cause set.
 */
int file_sync_tree(const char *path, char **cause);
/*
 * Reads a process's command name (/proc/PID/comm, 15 bytes at most) into
 * buf; "" when the process is gone or pid is none.
 */
void file_proc_comm(long long pid, char *buf, size_t len);
/*
 * Returns when process pid started, in milliseconds since boot (the clock
 * of CLOCK_BOOTTIME, as /proc/PID/stat counts it), or -1 when the process
 * is gone or /proc does not say.
 */
long long file_proc_start_ms(long long pid);

/* The most files one set passes (a call's descriptors). */
#define FILE_SET_MAX 32

/* Files a client opened to pass them on, by name. */
struct file_set {
	size_t n;
	char *names[FILE_SET_MAX];
	int fds[FILE_SET_MAX]; /* -1 once taken */
};

/*
 * Opens what a client passes for a path it names, with the client's own
 * rights: a regular file (through symbolic links) for reading, anything
 * else as an O_PATH descriptor that cannot be read, so that the receiver
 * refuses it by its type without opening it.  Returns the descriptor, or
 * -1 with *cause set.
 */
int file_open_pass(const char *path, int follow, char **cause);
/*
 * Opens every entry of directory dir as file_open_pass does, without
 * following symbolic links; -1 with *cause set (more than FILE_SET_MAX
 * entries, or one that cannot be opened).
 */
int file_set_open_dir(struct file_set *set, const char *dir, char **cause);
/* Adds a descriptor under name (taken over); -1 when the set is full. */
int file_set_add(struct file_set *set, const char *name, int fd);
/* Takes the descriptor of name out of the set: it, or -1 if none. */
int file_set_take(struct file_set *set, const char *name);
/* Closes what is left and empties the set. */
void file_set_clear(struct file_set *set);

#endif
