/*
 * What every cml daemon does to become one: go to the background with
 * its parent waiting for readiness, write its pid file, let go of the
 * terminal once ready, handle the signals that stop it; and what every
 * one answers of itself through org.varlink.service.
 */
#ifndef CML_DAEMON_H
#define CML_DAEMON_H

#include <sys/types.h>

#include "interfaces.h"
#include "log.h"
#include "server.h"

/*
 * Checks the argument of --ready-fd: an open descriptor above 2.  Returns
 * it, or -1 after saying on stderr what is wrong (name: the daemon's).
 */
int daemon_ready_fd(const char *name, const char *arg);

/*
 * Begins the life of the daemon called name: no core dumps, umask 022,
 * logging to stderr at level, and the background unless foreground (a
 * session of its own then too, unless it leads its process group).
 * Returns the fd daemon_background gave, or -1 in the foreground.
 */
int daemon_start(const char *name, int foreground, enum log_level level);

/*
 * Says that the daemon serves: unless in the foreground, it logs to
 * syslog from now on and lets go of the terminal; readiness goes to
 * ready_fd (--ready-fd), daemon_fd (daemon_start's) and systemd.
 */
void daemon_ready(const char *name, int foreground, int ready_fd,
    int daemon_fd);

/*
 * Goes to the background.  The parent waits until the child is ready and
 * exits 0, or exits 1 when the child dies first (its errors went to the
 * parent's stderr).  Returns, in the child (a session leader in /), the
 * fd to report readiness on.
 */
int daemon_background(void);

/*
 * Checks a daemon's --root: "" (the real root) or an absolute path; 0, or
 * -1 after saying why on stderr (exit 2 then: a usage error).
 */
int daemon_check_root(const char *name, const char *root);

/* Creates dir and its parents and gives dir mode; exits on failure. */
void daemon_mkdirs(const char *dir, mode_t mode);

/* Writes the process's pid to path (through path.tmp); exits on failure. */
void daemon_write_pid(const char *path);

/*
 * In a child a daemon forked to run a helper: it gets deathsig when the
 * daemon dies, and the signals the daemon blocks (it reads them from a
 * signalfd) and SIGPIPE are back to normal.  -1 when the death signal
 * cannot be set (the child should _exit then).
 */
int daemon_child_init(int deathsig);

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

/*
 * Takes the signals that stop a daemon from the loop: SIGTERM and SIGINT
 * end it, SIGHUP reloads nothing.  A signal extra (0: none) is taken too
 * and ignored (cmld's SIGCHLD: it waits for its children itself).
 */
void daemon_signals(struct loop *loop, int extra);

/* What a daemon tells of itself through org.varlink.service. */
struct daemon_info {
	const char *product; /* GetInfo's "product" */
	const struct cml_interface *interfaces; /* the interfaces it serves */
	const size_t *ninterfaces; /* their number */
	/* Returns the interface called name, or NULL. */
	const struct cml_interface *(*find)(const char *name);
	/* What the error for an unknown interface says after its name. */
	const char *unknown;
};

/* Answers org.varlink.service.GetInfo. */
void daemon_get_info(struct call *call, const struct daemon_info *info);
/* Answers org.varlink.service.GetInterfaceDescription. */
void daemon_get_interface_description(struct call *call,
    const struct daemon_info *info);

#endif
