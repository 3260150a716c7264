/*
 * The container runtime: one container's lifecycle (start, signal, freeze,
 * exec, exit, adoption after a cmld restart, cleanup) around feature
 * modules (c-*.c) that share one set of hooks and run in the order of one
 * table.  Isolation: mount, PID, UTS, IPC, network and cgroup namespaces
 * (a user namespace with 65536 ids when the config asks), read-only loop
 * mounts of the guest OS images under an overlay with a tmpfs upper layer,
 * pivot_root, a minimal /dev, masked /proc and read-only /sys, cgroups (v1
 * or v2, found at run time), a device allow list, a reduced capability
 * bounding set and a seccomp deny list.
 *
 * cmld's side is the first block of declarations; the rest is for the
 * modules.  cmld is single-threaded: the child side of a start or an exec
 * runs in a fork of it and uses no allocation.
 */
#ifndef CMLD_CONTAINER_H
#define CMLD_CONTAINER_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "guestos.h"

struct cconfig;
struct guestos_manifest;
struct phases;

/*
 * User namespace ids: the container with index i maps its ids 0..65535 to
 * host ids CONTAINER_ID_BASE + i * CONTAINER_ID_RANGE onwards.
 */
#define CONTAINER_ID_BASE 1048576U
#define CONTAINER_ID_RANGE 65536U
#define CONTAINER_INDEX_MAX 65518

/*
 * cgroups: /sys/fs/cgroup/<controller>/<parent>/<name> (v1),
 * /sys/fs/cgroup/<parent>/<name> (v2); the parent is CONTAINER_CGROUP_DIR
 * unless container_new is given another.
 */
#define CONTAINER_CGROUP_ROOT "/sys/fs/cgroup"
#define CONTAINER_CGROUP_DIR "cml"

/* What container_reap found. */
#define CONTAINER_STOPPED 0 /* exit status 0, or ended by a stop or kill */
#define CONTAINER_FAILED 1 /* any other end; the reason says which */

/*
 * A container from its validated config and the manifest of its installed
 * guest OS in guestos_dir (both copied: they need not outlive it).  Mount
 * points go under rundir/NAME (with a user namespace, others must be able
 * to search every directory above it: its root is nobody on the host);
 * its cgroups go below cgroup_parent (NULL: CONTAINER_CGROUP_DIR, checked
 * with c_cgroups_parent_ok); index (0..CONTAINER_INDEX_MAX) selects the
 * user namespace id range and must stay the container's for good.
 * Touches nothing on the system.
 */
struct container *container_new(const struct cconfig *cfg,
    const char *guestos_dir, const struct guestos_manifest *m,
    const char *rundir, const char *cgroup_parent, int index);
/*
 * Adds a bind mount of host path src (a file, socket or directory) at
 * absolute path dst inside the container, read-only when readonly is set;
 * before container_start.  -1 with *cause set.
 */
int container_add_bind(struct container *c, const char *src, const char *dst,
    int readonly, char **cause);
/*
 * Gives the container the open file of image i (in manifest order), the
 * one whose hash was checked: the start mounts it rather than opening the
 * image's path again, so a file swapped in after the check is never used.
 * The container owns fd from now on.
 */
void container_set_image_fd(struct container *c, size_t i, int fd);
/*
 * Has image i mounted through the read-only dm-verity device dmname over
 * its loop device, with the signed parameters vy (the image's file was
 * not hashed: dm-verity checks each block as it is read).
 */
void container_set_image_verity(struct container *c, size_t i,
    const struct guestos_verity *vy, const char *dmname);
/*
 * Gives the container its data volume: fd, the ext4 image file checked
 * by c-volume (path names it in messages), is mounted read-write at mount
 * (an absolute path inside) at the start.  The container owns fd from
 * now on.
 */
void container_set_volume(struct container *c, int fd, const char *path,
    const char *mount);
/*
 * Gives the container its encrypted data volume: fd, the opened dm-crypt
 * block device (device names it, "/dev/mapper/cml-ID") over the LUKS2
 * file (file names it in messages), whose ext4 is mounted read-write at
 * mount at the start, with no loop device of its own.  The container owns
 * fd from now on.
 */
void container_set_volume_blockdev(struct container *c, int fd,
    const char *file, const char *device, const char *mount);
/*
 * Attaches file bfd (file names it in messages, path is what the loop
 * device shows) to a free loop device, cleared after use, read-only when
 * rdonly is set; sets *np to its number and *lfdp to it, open.  -1 with
 * *cause set.
 */
int c_mount_loop(const char *file, const char *path, int bfd, int rdonly,
    int *np, int *lfdp, char **cause);
/*
 * Gives the container the network namespace fd refers to (one cmld made
 * and set up, or cmld's own for c0) instead of a new one from the clone;
 * its interfaces are cmld's to bring up (lo included).  The container owns
 * fd from now on.
 */
void container_set_netns(struct container *c, int fd);
/*
 * Has cmld call hook(c, pid, arg, cause) once init's process exists in
 * its new namespaces, before it goes on to execute init: how a container
 * in a user namespace of its own gets its network, in the network
 * namespace the clone made (owned by its user namespace, so that it can
 * mount its sysfs).  The hook returns -1 with *cause set to fail the
 * start.
 */
void container_set_net_hook(struct container *c,
    int (*hook)(struct container *, pid_t, void *, char **), void *arg);
/*
 * Sends init's stdout and stderr to fd (default: /dev/null); fd need stay
 * open only until container_start returns.
 */
void container_set_output(struct container *c, int fd);
/*
 * Makes fd (the slave of a pty) init's console: its stdin, stdout and
 * stderr, not its controlling terminal; fd need stay open only until
 * container_start returns.
 */
void container_set_console(struct container *c, int fd);
/*
 * Starts the container and returns once its init has been executed; sets
 * c->pid and c->pidfd (readable when init exits, or with the init shim
 * when the shim ended after init: then container_reap).
 * On failure everything set up is undone.  -1 with *cause naming the step
 * that failed ("mount of the root image 'root.sqfs' failed: ...").
 */
int container_start(struct container *c, char **cause);
/*
 * Has container_start mark its phases in ph (borrowed; NULL: none): each
 * module's hooks by its name, the clone, the wait for the child.
 */
void container_set_phases(struct container *c, struct phases *ph);
/*
 * Asks init to stop: thaws a frozen container, then sends SIGTERM.  The
 * caller sends SIGKILL (container_signal) when it takes too long.  -1 with
 * *cause set.
 */
int container_stop(struct container *c, char **cause);
/*
 * Sends sig to init (SIGKILL ends the whole container; a frozen container
 * is thawed first for SIGTERM and SIGKILL).  -1 with *cause set.
 */
int container_signal(struct container *c, int sig, char **cause);
/* What the container's PID 1 does with a signal (container_sigaction). */
#define CONTAINER_SIG_DEFAULT 0 /* the default action: from outside, lost */
#define CONTAINER_SIG_CAUGHT 1 /* a handler */
#define CONTAINER_SIG_IGNORED 2
/*
 * Says what the container's PID 1 (init, or the init shim) does with sig
 * now, as its /proc/PID/status says (the pid its pidfd names, read once,
 * without blocking): the kernel drops a signal sent from outside its PID
 * namespace to a namespace's init that does not catch it.  -1 when it is
 * gone or /proc does not say.
 */
int container_sigaction(struct container *c, int sig);
/*
 * Freezes (frozen = 1) or thaws (0) every process of the container and
 * waits until the cgroup says so.  -1 with *cause set.
 */
int container_freeze(struct container *c, int frozen, char **cause);
/*
 * Collects an ended init, records why it ended, and cleans up: returns
 * CONTAINER_STOPPED or CONTAINER_FAILED with *reason set ("killed by the
 * OOM killer: memory limit 64 MiB"), or -1 with *reason set when init has
 * not ended.
 */
int container_reap(struct container *c, char **reason);
/*
 * Runs argv (argv[0] an absolute path inside the container) in the running
 * container's namespaces, root, cgroups, capabilities and seccomp filter,
 * with the config's environment and stdin from /dev/null.  Returns once
 * argv[0] has been executed: *pid is a child of the caller that exits with
 * the command's status (128 + N when signal N killed it); *out and *err
 * read its stdout and stderr.  -1 with *cause set (the step that failed,
 * or why argv[0] could not be executed).
 */
int container_exec(struct container *c, char *const argv[], pid_t *pid,
    int *out, int *err, char **cause);
/* How container_exec_io connects a command. */
struct container_exec_io {
	int tty; /* a pseudo-terminal of the container's devpts */
	int input; /* without tty: stdin from a pipe (else /dev/null) */
	unsigned short rows, cols; /* tty: its size at the start (0: none) */
};
/*
 * As container_exec, connected as io says, and argv[0] may also be a name
 * without '/', looked up in the PATH of the container's environment (the
 * default PATH without one) inside the container.  fds[0] writes the
 * command's stdin (-1 without io->input or with io->tty); fds[1] reads
 * its stdout, or is the master of its pty (its controlling terminal, and
 * its stdin, stdout and stderr) with io->tty; fds[2] reads its stderr (-1
 * with io->tty).  The waiting process *pid passes SIGINT, SIGTERM, SIGHUP,
 * SIGQUIT, SIGUSR1 and SIGUSR2 on to the command.  -1 with *cause set.
 */
int container_exec_io(struct container *c, char *const argv[],
    const struct container_exec_io *io, pid_t *pid, int fds[3],
    char **cause);
/* What a running container uses; -1 where it is not known. */
struct container_usage {
	long long uptime_ms; /* since init started */
	long long cpu_usec; /* CPU time of all its processes, cumulative */
	long long memory_bytes; /* memory charged to it, page cache included */
	long long pids; /* its processes and threads */
};
/*
 * Fills u with what the container uses now, as its cgroups count it.
 * Cheap (a read of each counter, whose descriptor stays open while it
 * runs): fit to be asked every second for every container.  -1 when it
 * does not run.
 */
int container_usage(struct container *c, struct container_usage *u);
/*
 * Takes over a container still running after a cmld restart: pid must be
 * the init of a PID namespace, inside this container's cgroups, with an
 * overlay root (with the init shim, pid may also be the shim's child, the
 * init, whose parent is then checked).  Sets c->pid and c->pidfd.  -1
 * with *cause saying which check failed.
 */
int container_adopt(struct container *c, pid_t pid, char **cause);
/*
 * Kills whatever still runs, waits for it, and removes the container's
 * cgroups and mount point directory; waits briefly until its loop devices
 * are released.  Nothing is left on the host.  Safe to call twice.
 */
void container_cleanup(struct container *c);
/*
 * Looks for this container's init among the processes in its cgroups (a
 * cmld restarted without a record of the pid): returns the pid of the one
 * that is the init of a PID namespace, 0 when there is none.  The caller
 * adopts it with container_adopt, which checks everything again.
 */
pid_t container_find(struct container *c);
/*
 * Removes what a container whose init ended while cmld was not running
 * left behind (after container_adopt found no init): its cgroups, killing
 * anything still in them, and its mount point directory.  Its mounts and
 * loop devices went with its last process.  -1 with *cause set when this
 * container object runs.
 */
int container_purge(struct container *c, char **cause);
/* Cleans up and frees a container; NULL does nothing. */
void container_free(struct container *c);
/*
 * Frees the object of a container and leaves what runs alone, for cmld's
 * end: a new cmld finds it again with container_adopt.
 */
void container_forget(struct container *c);

/* --- the modules' side ------------------------------------------------- */

/* A rule of the device allow list (the defaults first, then the config's). */
struct container_device {
	char type; /* 'c', 'b' or 'a' */
	long long major; /* -1: any */
	long long minor; /* -1: any */
	char access[4];
};

/* A host device node bound into the container's /dev. */
struct container_node {
	char *host; /* "/dev/ttyUSB0" */
	char *name; /* "ttyUSB0" (may contain '/': "snd/pcmC0D0p") */
	mode_t mode; /* type and permissions, as on the host */
	dev_t rdev;
	uid_t uid;
	gid_t gid;
	int mknod; /* a rule grants 'm': mknod, else a bind mount */
};

/* A guest OS image (from the manifest). */
struct container_image {
	char *file; /* as in the manifest */
	char *path; /* guestos_dir/file */
	char *fs; /* "squashfs", "erofs" or "ext4" */
	char *mount; /* "/" for the root image */
	int fd; /* the checked image file; -1 (then path is opened) */
	int mfd; /* the detached read-only mount; -1 */
	int loop; /* loop device number; -1 */
	int via; /* how it is mounted: CONTAINER_VIA_* */
	/* container_set_image_verity: checked as read, through dmname */
	struct guestos_verity verity;
	char dmname[64];
};

/* How an image or the data volume was mounted (container show). */
#define CONTAINER_VIA_UNKNOWN 0 /* not by this cmld (or not yet) */
#define CONTAINER_VIA_FILE 1 /* straight from its file (erofs) */
#define CONTAINER_VIA_LOOP 2 /* from a loop device over the file */
#define CONTAINER_VIA_VERITY 3 /* from a dm-verity device over the loop */

/*
 * The container's data volume (c-mount): an ext4 image file that cmld
 * made and checked (c-volume.h), mounted read-write from a loop device at
 * mount inside the container; or, encrypted, the dm-crypt device over its
 * LUKS2 file, mounted straight.
 */
struct container_volume {
	int fd; /* the checked volume file; -1: no volume */
	char *file; /* its path, for messages and the loop device */
	char *mount; /* absolute path inside the container */
	int mfd; /* the detached mount; -1 */
	int loop; /* loop device number; -1 */
	char device[64]; /* "/dev/mapper/cml-ID" of fd; "": a plain file */
};

/* A bind mount from the host. */
struct container_bind {
	char *src;
	char *dst;
	int readonly;
};

enum container_cgroup_ctrl {
	CONTAINER_CG_MEMORY,
	CONTAINER_CG_CPU,
	CONTAINER_CG_CPUSET,
	CONTAINER_CG_PIDS,
	CONTAINER_CG_FREEZER,
	CONTAINER_CG_DEVICES,
	/* v1 only where cpuacct is not mounted with cpu: only counts */
	CONTAINER_CG_CPUACCT,
	CONTAINER_CG_COUNT,
};

/* The counters of a container's use that c-cgroups keeps open. */
enum container_counter {
	CONTAINER_COUNTER_CPU,
	CONTAINER_COUNTER_MEMORY,
	CONTAINER_COUNTER_PIDS,
	CONTAINER_COUNTER_COUNT,
};

/* Room for the message of a failed step in the child. */
#define CONTAINER_MSG_MAX 512

struct container {
	/* For cmld: read only. */
	char *name;
	/*
	 * init, in cmld's PID namespace; 0: not running.  With the init
	 * shim, the shim's child that runs the init program, once started.
	 */
	pid_t pid;
	/* PID 1's pidfd (init, or the init shim); -1: not running */
	int pidfd;
	int frozen;

	/* Settings, copied from the config and the manifest. */
	int index;
	char *hostname;
	char **argv;
	char **envp;
	int init_shim; /* PID 1 is the init shim, init its child */
	uint64_t caps; /* capabilities kept in the bounding set */
	long long memory_limit;
	long long cpu_shares;
	long long cpu_quota; /* 0: none */
	long long cpu_period;
	char *cpus; /* NULL: every CPU */
	long long pids_limit;
	struct container_device *devices;
	size_t ndevices;
	int userns;
	int encrypted;
	long long storage_mb;
	struct container_image *images;
	size_t nimages;
	struct container_bind *binds;
	size_t nbinds;
	struct container_volume vol;
	char *mntdir; /* rundir/NAME: the scratch tmpfs, inside only */
	char *rundir;
	int outfd; /* borrowed during container_start; -1: /dev/null */
	int console; /* outfd is a console: init's stdin too */
	int netns; /* the network namespace cmld gave; -1: the clone's own */
	/* container_set_net_hook: called in cmld once init's process exists */
	int (*net_hook)(struct container *, pid_t, void *, char **);
	void *net_arg;

	/* Run state. */
	int nsflags; /* CLONE_NEW* of the container, CLONE_NEWCGROUP included */
	int adopted; /* found again after a restart: not cmld's child */
	int stopping; /* a stop or kill was asked */
	int reaped;
	int sock; /* the child's end of the sync socket, in the child */
	int psock; /* cmld's end, during container_start */
	/*
	 * The signals whose disposition cmld changed (bit sig - 1), read
	 * before each clone or fork: what its child sets back.
	 */
	unsigned long long sigs_changed;
	struct phases *phases; /* container_set_phases; NULL */
	int rootfd; /* in the child: the new root, before pivot_root */
	int mnt_owned; /* mntdir is this container's to remove */
	long long oom_kills; /* at the end: processes the OOM killer ended */
	long long pids_hits; /* at the end: times the pids limit was hit */
	long long started_ms; /* init's start, CLOCK_BOOTTIME; 0: not read */

	/* c-user. */
	uint32_t idbase;

	/* c-cgroups. */
	int cgroup_v2;
	int cgroup_owned; /* the groups are this container's to remove */
	char *cgroup[CONTAINER_CG_COUNT]; /* v1 directories; NULL: unused */
	char *cgroup2; /* the v2 directory */
	char *cgparent; /* the parent group's name ("cml") */
	/* its counters' descriptors, opened at the first read; -1: not open */
	int counter[CONTAINER_COUNTER_COUNT];
	long long counter_last[CONTAINER_COUNTER_COUNT]; /* their last values */
	long long counter_at; /* when memory and pids were read (ms); 0: never */

	/* c-devices. */
	struct container_node *nodes;
	size_t nnodes;

	/* c-caps: the cap_t set in the child and before an exec. */
	void *capstate;
	int cap_last;

	/* c-seccomp: the filter, as BPF. */
	void *filter;
	size_t filter_len; /* instructions */

	/* Child side: why a step failed. */
	int child_errno;
	char child_msg[CONTAINER_MSG_MAX];
};

/*
 * The hooks of a feature module, each optional, run in table order
 * (cleanup in reverse).  prepare: in cmld before the clone.  started: in
 * cmld after the clone, while the child runs; what the child needs from
 * them it waits for in its own hook (container_release and
 * container_child_await, container_send_fd and container_child_recv_fd,
 * in table order on both sides).  running: in cmld after every started
 * hook, while the child finishes and executes init.  child: in the child, in
 * its namespaces, before init is executed.  join: in cmld, for a process
 * about to enter the running container (container_exec).  enter: in that
 * process, once it is inside the namespaces and root.  adopt: in cmld, to
 * recognise a container after a restart.  stop: before SIGTERM or
 * SIGKILL.  cleanup: after the end (also after a failed prepare, so it
 * copes with partial state).  Hooks that run in cmld return -1 with
 * *cause set; child and enter return container_child_fail().
 *
 * Besides the lifecycle, the core asks the modules about a container
 * through hooks, all in cmld, so that it never calls a module itself.
 * init: when container_new makes the object, what the module derives from
 * the settings, touching nothing on the system.  freeze: freezes (1) or
 * thaws (0) every process and waits until that is done.  procs: the
 * processes in the module's hold on the container (its cgroups), a
 * 0-terminated array to free; container_find looks for init among them.
 * ended: once init ended, before cleanup, counts what the module saw end
 * it into c->oom_kills and c->pids_hits.  usage: fills in what the module
 * counts of the running container's use (container_usage).
 */
struct container_module {
	const char *name;
	void (*init)(struct container *);
	int (*prepare)(struct container *, char **);
	int (*started)(struct container *, char **);
	int (*running)(struct container *, char **);
	int (*child)(struct container *);
	int (*join)(struct container *, pid_t, char **);
	int (*enter)(struct container *);
	int (*adopt)(struct container *, char **);
	void (*stop)(struct container *);
	void (*cleanup)(struct container *);
	int (*freeze)(struct container *, int, char **);
	pid_t *(*procs)(struct container *);
	void (*ended)(struct container *);
	void (*usage)(struct container *, struct container_usage *);
};

extern const struct container_module c_user_module;
extern const struct container_module c_cgroups_module;
extern const struct container_module c_mount_module;
extern const struct container_module c_devices_module;
extern const struct container_module c_procfs_module;
extern const struct container_module c_binds_module;
extern const struct container_module c_pivot_module;
extern const struct container_module c_namespaces_module;
extern const struct container_module c_seccomp_module;
extern const struct container_module c_caps_module;

/*
 * Child side: records why a step failed (printf-style, errno err appended
 * when non-zero) for cmld to report; returns -1.
 */
int container_child_fail(struct container *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * cmld side, during container_start: lets the child past one
 * container_child_await; -1 with *cause set.
 */
int container_release(struct container *c, char **cause);
/* cmld side: passes descriptor fd to the child; -1 with *cause set. */
int container_send_fd(struct container *c, int fd, char **cause);
/* Child side: waits for one container_release; -1 when cmld gave up. */
int container_child_await(struct container *c);
/* Child side: receives a descriptor container_send_fd sent; -1 if none. */
int container_child_recv_fd(struct container *c, int *fd);
/* Child side: creates directory path and its parents (mode 0755); -1/errno. */
int container_mkdirs(const char *path);

/* How container_mountpoint treats missing components. */
#define CONTAINER_MP_LOOKUP 0 /* creates nothing */
#define CONTAINER_MP_DIR 1 /* creates directories */
#define CONTAINER_MP_FILE 2 /* creates directories, the last an empty file */
/*
 * Child side: opens absolute path in the new root (c->rootfd) as an
 * O_PATH descriptor, one component at a time, refusing symbolic links and
 * "..", so that nothing the guest OS holds can point a mount elsewhere.
 * -1 with errno set.
 */
int container_mountpoint(struct container *c, const char *path, int how);
/*
 * The same below the directory dirfd (in the new root) rather than from
 * the new root itself.
 */
int container_mountpoint_at(struct container *c, int dirfd,
    const char *path, int how);
/* The same below the directory dirfd (as container_mountpoint_at). */
int container_mount_at(struct container *c, int dirfd, const char *source,
    const char *path, const char *fstype, unsigned long flags,
    const char *data, int how);
/*
 * Mounts source (fstype, flags, data as mount(2)) on the mount point fd
 * from container_mountpoint; errno is kept.
 */
int container_mount_fd(int fd, const char *source, const char *fstype,
    unsigned long flags, const char *data);
/*
 * Child side: mount(2) of source (type fstype) on path in the new root, as
 * container_mountpoint finds or makes it.  -1 with errno set.
 */
int container_mount(struct container *c, const char *source,
    const char *path, const char *fstype, unsigned long flags,
    const char *data, int how);
/*
 * Child side: attaches the detached mount mfd (fsmount(2), open_tree(2))
 * on path in the new root.  -1 with errno set.
 */
int container_attach(struct container *c, int mfd, const char *path,
    int how);
/* Child side: writes a string to an existing file; -1 with errno set. */
int container_write_file(const char *path, const char *s);

/*
 * c-cgroups: whether name can be the parent group of containers' groups
 * (cmld's --cgroup-parent): one cgroup name, 1 to 64 letters, digits, '-'
 * or '_', the first a letter or digit.  -1 with *cause set when not.
 */
int c_cgroups_parent_ok(const char *name, char **cause);
/*
 * c-devbpf: attaches a BPF device program made from c's rules to the
 * cgroup v2 group dir: every device access not allowed by a rule is
 * denied.  -1 with *cause set (the kernel's verifier log included).
 */
int c_devices_bpf_attach(struct container *c, const char *dir, char **cause);
/*
 * c-devbpf: the program itself, *len instructions (free it): allows an
 * access when a rule matches its type, numbers and every access bit
 * wanted, denies otherwise.
 */
struct bpf_insn;
struct bpf_insn *c_devices_bpf_program(const struct container *c,
    size_t *len);
/*
 * c-cgroups: removes the groups PARENT/NAME (and any below) of a container
 * that does not run from every cgroup hierarchy, v1 and v2, and a parent
 * emptied by that (parent NULL: CONTAINER_CGROUP_DIR).  When one holds a
 * process, none is touched.  Returns 0 when there was none, 1 when all
 * were removed, -1 when some are left; *report (to free) says what was
 * removed or left and why.
 */
int c_cgroups_sweep(const char *parent, const char *name, char **report);

#endif
