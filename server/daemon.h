/*
 * What every cml daemon does to become one: go to the background with
 * its parent waiting for readiness, write its pid file, let go of the
 * terminal once ready.
 */
#ifndef CML_DAEMON_H
#define CML_DAEMON_H

#include <sys/types.h>

/*
 * Goes to the background.  The parent waits until the child is ready and
 * exits 0, or exits 1 when the child dies first (its errors went to the
 * parent's stderr).  Returns, in the child (a session leader in /), the
 * fd to report readiness on.
 */
int daemon_background(void);

/* Creates dir and its parents and gives dir mode; exits on failure. */
void daemon_mkdirs(const char *dir, mode_t mode);

/* Writes the process's pid to path (through path.tmp); exits on failure. */
void daemon_write_pid(const char *path);

/* Points stdin, stdout and stderr at /dev/null (once the daemon is ready). */
void daemon_detach_stdio(void);

/*
 * Reads a daemon's configuration file: "key = value" lines, # comments,
 * each of the nkeys keys at most once.  A value is taken into slots[k]
 * only where slots[k] is NULL (the command line wins); the copies made
 * go to keep (nkeys of them, NULL-initialised; the caller frees them).
 * A missing file is no error.  Returns 0, or -1 with *cause set
 * ("FILE:LINE: ...").
 */
int daemon_read_config(const char *path, const char *const *keys,
    size_t nkeys, const char **slots, char **keep, char **cause);

#endif
