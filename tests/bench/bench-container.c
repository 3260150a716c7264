/*
 * bench-container: start and stop of a trivial busybox container (init is
 * /bin/true) through cml's runtime, next to the floor of a bare clone
 * into the same namespaces + pivot_root into the same root file system
 * (unpacked) + exec of /bin/true, and, where installed, `crun run` of that
 * unpacked root file system, all in the same run.  A second floor does
 * the same from a fresh read-only loop mount of the root image, as every
 * cml start does: it shows what the image costs by itself (a loop device
 * and a cold squashfs).
 *
 *   bench-container --guestos DIR [--guestos DIR] --rootfs DIR
 *       --workdir DIR [--runs N] [--crun PATH]
 *
 * DIR of --guestos holds manifest.json and the images of a busybox guest
 * OS (scripts/cml-mkguestos); --rootfs is its root image unpacked; --workdir
 * receives mount points and crun's bundle and state.  One run of each
 * takes its turn in every round, so all of them see the same machine;
 * the round starts with another of them each time, and 20 ms pass between
 * runs, so that no run pays for what the kernel's workers still do after
 * the one before it.  A
 * run is timed from before the container is set up until everything it
 * used is gone again: for cml, container_start until container_reap has
 * cleaned up (loop devices released, cgroups removed), with one container
 * object for all runs as cmld keeps one per container (its seccomp filter
 * is built once); for the floor, clone to wait; for crun, fork to wait of
 * `crun run`.
 *
 * --guestos may be given twice, for the same root in two image formats
 * (erofs, mounted straight from its file, and squashfs, from a loop
 * device): cml is measured with each.  The image floor needs a squashfs
 * root image in one of them.
 *
 * cml does more than the other two: it mounts the image under an
 * overlay, sets memory, CPU, pids and device cgroups and a seccomp filter,
 * and brings up loopback.  crun gets the same namespaces and limits
 * (memory, pids, device cgroup, cgroup namespace) but no
 * seccomp filter.  crun refuses the hybrid cgroup layout of machines with
 * a non-empty /sys/fs/cgroup/unified, so the benchmark runs in a mount
 * namespace of its own without that mount; cml uses the v1 controllers
 * either way.
 *
 * Prints medians and ratios and exits 0 whether or not the targets are
 * met; 1 when it cannot measure, 2 on a usage error.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/loop.h>
#include <linux/mount.h>
#include <linux/sched.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cconfig.h"
#include "container.h"
#include "guestos.h"
#include "log.h"
#include "xmalloc.h"

#define BENCH_RUNS_DEFAULT 50
#define BENCH_WARMUP 3
#define BENCH_SETTLE_US 20000 /* between runs */
#define BENCH_LABEL "%-30s"
#define BENCH_FILE_MAX (1024 * 1024)
/* How long the image floor waits for its loop device, in 100 us steps. */
#define BENCH_LOOP_WAIT 20000

#define BENCH_CONFIG "{\"name\":\"bench\",\"guestos\":{\"name\":\"busybox\"}," \
	"\"process\":{\"args\":[\"/bin/true\"]}}"
#define BENCH_MEMORY (256LL * 1024 * 1024) /* cconfig's default */
#define BENCH_PIDS 1024 /* cconfig's default */

/* The floor's namespaces: cml's, without the user namespace. */
#define BENCH_NS (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | \
	CLONE_NEWNET | CLONE_NEWCGROUP)

#define BENCH_FLOOR 0
#define BENCH_CRUN 1
#define BENCH_IMAGE 2 /* the floor from a fresh loop mount of the image */
#define BENCH_CML 3 /* and BENCH_CML + 1: cml on each guest OS */
#define BENCH_GUESTOS_MAX 2
#define BENCH_KINDS (BENCH_CML + BENCH_GUESTOS_MAX)

/* cml on one guest OS. */
struct bench_cml {
	const char *dir;
	const char *fs; /* of its root image */
	struct guestos_manifest m;
	struct container *c;
	double *t_start; /* container_start alone */
};

struct bench {
	struct bench_cml g[BENCH_GUESTOS_MAX];
	int ng;
	const char *rootfs;
	const char *workdir;
	const char *crun; /* NULL: not measured */
	int runs;
	struct cconfig cfg;
	char *rundir;
	char *bundle;
	char *crun_state;
	char *image; /* a squashfs root image, for the image floor */
	char *image_mnt;
	double *t[BENCH_KINDS]; /* seconds per run */
};

static void __attribute__((noreturn))
bench_usage(void)
{
	fprintf(stderr, "usage: bench-container --guestos DIR [--guestos DIR] "
	    "--rootfs DIR --workdir DIR [--runs N] [--crun PATH]\n");
	exit(2);
}

static double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of n values (sorted in place). */
static double
bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, bench_cmp);
	if (n % 2)
		return v[n / 2];
	return (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Reads a whole small file; NULL with errno set. */
static char *
bench_read(const char *path, size_t *len)
{
	char *buf;
	ssize_t n;
	size_t off = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	buf = xmalloc(BENCH_FILE_MAX);
	while ((n = read(fd, buf + off, BENCH_FILE_MAX - off)) > 0)
		off += (size_t)n;
	close(fd);
	*len = off;
	return buf;
}

/*
 * One start and stop through the runtime, of the one container object
 * that lives as long as the benchmark (as cmld keeps one per container);
 * -1 when it failed.
 */
static int
bench_cml(struct bench_cml *g, double *took, double *start)
{
	struct container *c = g->c;
	struct pollfd pfd;
	char *cause = NULL;
	double t0, t1;
	int r;

	t0 = bench_now();
	if (container_start(c, &cause) == -1) {
		fprintf(stderr, "bench-container: cml: %s\n", cause);
		free(cause);
		return -1;
	}
	t1 = bench_now();
	pfd.fd = c->pidfd;
	pfd.events = POLLIN;
	while (poll(&pfd, 1, -1) == -1 && errno == EINTR)
		;
	r = container_reap(c, &cause);
	if (r != CONTAINER_STOPPED) {
		fprintf(stderr, "bench-container: cml: %s\n", cause);
		free(cause);
		return -1;
	}
	free(cause);
	*took = bench_now() - t0;
	*start = t1 - t0;
	return 0;
}

/* The floor's child: into the root, then /bin/true. */
static void __attribute__((noreturn))
bench_floor_child(const char *rootfs)
{
	static char *const argv[] = { "/bin/true", NULL };
	static char *const envp[] = { NULL };

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 ||
	    mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) == -1 ||
	    chdir(rootfs) == -1 || syscall(SYS_pivot_root, ".", ".") == -1 ||
	    umount2(".", MNT_DETACH) == -1 || chdir("/") == -1)
		_exit(126);
	execve(argv[0], argv, envp);
	_exit(127);
}

/* One bare clone + pivot_root + exec of /bin/true; -1 when it failed. */
static int
bench_floor(struct bench *b, double *took)
{
	struct clone_args args;
	double t0;
	pid_t pid;
	int status;

	t0 = bench_now();
	memset(&args, 0, sizeof args);
	args.flags = BENCH_NS;
	args.exit_signal = SIGCHLD;
	pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
	if (pid == -1) {
		fprintf(stderr, "bench-container: floor: clone3: %s\n",
		    strerror(errno));
		return -1;
	}
	if (pid == 0)
		bench_floor_child(b->rootfs);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	*took = bench_now() - t0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench-container: floor: the child ended with "
		    "status 0x%x\n", status);
		return -1;
	}
	return 0;
}

/* The image floor's child: the detached image mount is its root. */
static void __attribute__((noreturn))
bench_image_child(int mfd, const char *mnt)
{
	static char *const argv[] = { "/bin/true", NULL };
	static char *const envp[] = { NULL };

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 ||
	    syscall(SYS_move_mount, mfd, "", AT_FDCWD, mnt,
	    MOVE_MOUNT_F_EMPTY_PATH) == -1 ||
	    chdir(mnt) == -1 || syscall(SYS_pivot_root, ".", ".") == -1 ||
	    umount2(".", MNT_DETACH) == -1 || chdir("/") == -1)
		_exit(126);
	execve(argv[0], argv, envp);
	_exit(127);
}

/*
 * The floor plus what any runtime of loop-mounted images pays: the root
 * image attached to a loop device (autoclear) and mounted read-only for
 * this run, then clone + pivot_root into it + exec of /bin/true, until the
 * loop device is released again.  -1 when it failed.
 */
static int
bench_image(struct bench *b, double *took)
{
	struct clone_args args;
	struct loop_config lc;
	struct stat sb;
	char dev[32], path[64];
	double t0;
	pid_t pid;
	int ctl = -1, lfd = -1, bfd = -1, fsfd = -1, mfd = -1, n, status;
	int rc = -1;

	t0 = bench_now();
	if ((bfd = open(b->image, O_RDONLY | O_CLOEXEC)) == -1 ||
	    (ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC)) == -1)
		goto out;
	for (;;) {
		if ((n = ioctl(ctl, LOOP_CTL_GET_FREE)) == -1)
			goto out;
		snprintf(dev, sizeof dev, "/dev/loop%d", n);
		if ((lfd = open(dev, O_RDONLY | O_CLOEXEC)) == -1)
			goto out;
		memset(&lc, 0, sizeof lc);
		lc.fd = (uint32_t)bfd;
		lc.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
		if (ioctl(lfd, LOOP_CONFIGURE, &lc) == 0)
			break;
		if (errno != EBUSY)
			goto out;
		close(lfd);
		lfd = -1;
	}
	if ((fsfd = (int)syscall(SYS_fsopen, "squashfs", FSOPEN_CLOEXEC)) == -1 ||
	    syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "source", dev,
	    0) == -1 ||
	    syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_FLAG, "ro", NULL, 0) == -1 ||
	    syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL,
	    0) == -1 ||
	    (mfd = (int)syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC,
	    MOUNT_ATTR_RDONLY)) == -1)
		goto out;
	/* Only the mount holds the file system and the loop device now. */
	close(fsfd);
	fsfd = -1;
	close(lfd);
	lfd = -1;
	memset(&args, 0, sizeof args);
	args.flags = BENCH_NS;
	args.exit_signal = SIGCHLD;
	pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
	if (pid == -1)
		goto out;
	if (pid == 0)
		bench_image_child(mfd, b->image_mnt);
	close(mfd);
	mfd = -1;
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench-container: image floor: the child ended "
		    "with status 0x%x\n", status);
		goto out;
	}
	snprintf(path, sizeof path, "/sys/block/loop%d/loop/backing_file", n);
	for (n = 0; stat(path, &sb) == 0; n++) {
		if (n == BENCH_LOOP_WAIT) {
			fprintf(stderr, "bench-container: image floor: %s "
			    "stays attached\n", dev);
			goto out;
		}
		usleep(100);
	}
	*took = bench_now() - t0;
	rc = 0;
out:
	if (rc == -1 && errno != 0)
		fprintf(stderr, "bench-container: image floor: %s\n",
		    strerror(errno));
	if (mfd != -1)
		close(mfd);
	if (fsfd != -1)
		close(fsfd);
	if (lfd != -1)
		close(lfd);
	if (ctl != -1)
		close(ctl);
	if (bfd != -1)
		close(bfd);
	return rc;
}

/* One `crun run` of the bundle; -1 when it failed. */
static int
bench_crun(struct bench *b, double *took)
{
	char *argv[] = { (char *)b->crun, "--root", b->crun_state, "run",
		"--bundle", b->bundle, "cml-bench", NULL };
	double t0;
	pid_t pid;
	int status, fd;

	t0 = bench_now();
	if ((pid = fork()) == -1) {
		fprintf(stderr, "bench-container: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		if ((fd = open("/dev/null", O_RDWR)) != -1) {
			dup2(fd, 0);
			dup2(fd, 1);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	*took = bench_now() - t0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench-container: crun run ended with status "
		    "0x%x\n", status);
		return -1;
	}
	return 0;
}

/* Writes crun's bundle: its default spec, changed to match cml's run. */
static int
bench_crun_bundle(struct bench *b)
{
	struct json_object *spec, *v, *linux_, *res, *o, *ns;
	char *path, *buf, *cmd;
	size_t len;
	int rc = -1;

	if (mkdir(b->bundle, 0755) == -1 && errno != EEXIST)
		return -1;
	path = xasprintf("%s/config.json", b->bundle);
	unlink(path);
	cmd = xasprintf("cd '%s' && '%s' spec", b->bundle, b->crun);
	if (system(cmd) != 0) {
		fprintf(stderr, "bench-container: '%s' failed\n", cmd);
		goto out;
	}
	if ((buf = bench_read(path, &len)) == NULL)
		goto out;
	spec = json_tokener_parse(buf);
	free(buf);
	if (spec == NULL)
		goto out;
	if (json_object_object_get_ex(spec, "process", &v)) {
		o = json_object_new_array();
		json_object_array_add(o, json_object_new_string("/bin/true"));
		json_object_object_add(v, "args", o);
		json_object_object_add(v, "terminal",
		    json_object_new_boolean(0));
	}
	if (json_object_object_get_ex(spec, "root", &v))
		json_object_object_add(v, "path",
		    json_object_new_string(b->rootfs));
	if (json_object_object_get_ex(spec, "linux", &linux_)) {
		if (json_object_object_get_ex(linux_, "namespaces", &ns)) {
			o = json_object_new_object();
			json_object_object_add(o, "type",
			    json_object_new_string("cgroup"));
			json_object_array_add(ns, o);
		}
		if (json_object_object_get_ex(linux_, "resources", &res)) {
			o = json_object_new_object();
			json_object_object_add(o, "limit",
			    json_object_new_int64(BENCH_MEMORY));
			json_object_object_add(res, "memory", o);
			o = json_object_new_object();
			json_object_object_add(o, "limit",
			    json_object_new_int64(BENCH_PIDS));
			json_object_object_add(res, "pids", o);
		}
	}
	rc = json_object_to_file_ext(path, spec, JSON_C_TO_STRING_PLAIN);
	json_object_put(spec);
out:
	free(cmd);
	free(path);
	return rc;
}

/*
 * A mount namespace of the benchmark's own, without the cgroup v2 mount
 * of a hybrid layout (crun refuses that layout).
 */
static int
bench_namespace(void)
{
	if (unshare(CLONE_NEWNS) == -1 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1) {
		fprintf(stderr, "bench-container: private mount namespace: "
		    "%s\n", strerror(errno));
		return -1;
	}
	if (umount2("/sys/fs/cgroup/unified", MNT_DETACH) == -1 &&
	    errno != EINVAL && errno != ENOENT) {
		fprintf(stderr, "bench-container: cannot unmount "
		    "/sys/fs/cgroup/unified: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int
bench_setup(struct bench *b)
{
	struct bench_cml *g;
	char *buf, *path, *cause = NULL;
	size_t len, j;
	int i, k;

	if (cconfig_parse(BENCH_CONFIG, strlen(BENCH_CONFIG), &b->cfg,
	    &cause) == -1) {
		fprintf(stderr, "bench-container: config: %s\n", cause);
		return -1;
	}
	b->rundir = xasprintf("%s/run", b->workdir);
	for (i = 0; i < b->ng; i++) {
		g = &b->g[i];
		path = xasprintf("%s/%s", g->dir, GUESTOS_MANIFEST);
		buf = bench_read(path, &len);
		if (buf == NULL) {
			fprintf(stderr, "bench-container: %s: %s\n", path,
			    strerror(errno));
			free(path);
			return -1;
		}
		free(path);
		if (guestos_manifest_parse(buf, len, &g->m, &cause) == -1) {
			fprintf(stderr, "bench-container: %s: %s\n", g->dir,
			    cause);
			free(buf);
			return -1;
		}
		free(buf);
		for (j = 0; j < g->m.nimages; j++) {
			if (strcmp(g->m.images[j].mount, "/") == 0)
				g->fs = g->m.images[j].fs;
		}
		if (g->fs == NULL) {
			fprintf(stderr, "bench-container: %s has no root "
			    "image\n", g->dir);
			return -1;
		}
		if (b->image == NULL && strcmp(g->fs, "squashfs") == 0)
			b->image = xasprintf("%s/root.squashfs", g->dir);
		g->c = container_new(&b->cfg, g->dir, &g->m, b->rundir, NULL,
		    0);
		g->t_start = xcalloc((size_t)b->runs, sizeof(double));
	}
	if (b->image == NULL) {
		fprintf(stderr, "bench-container: the image floor needs a "
		    "guest OS with a squashfs root image\n");
		return -1;
	}
	b->image_mnt = xasprintf("%s/image-floor", b->workdir);
	if (mkdir(b->image_mnt, 0755) == -1 && errno != EEXIST) {
		fprintf(stderr, "bench-container: %s: %s\n", b->image_mnt,
		    strerror(errno));
		return -1;
	}
	b->bundle = xasprintf("%s/crun-bundle", b->workdir);
	b->crun_state = xasprintf("%s/crun-state", b->workdir);
	for (k = 0; k < BENCH_KINDS; k++)
		b->t[k] = xcalloc((size_t)b->runs, sizeof(double));
	if (b->crun != NULL && bench_crun_bundle(b) == -1) {
		fprintf(stderr, "bench-container: cannot write crun's bundle in "
		    "%s\n", b->bundle);
		return -1;
	}
	return 0;
}

/*
 * Runs each kind once, round r starting with a different kind each time,
 * and stores the times as run n (-1: a warm-up, not stored).  The machine
 * settles between runs: what a run leaves to the kernel's workers
 * (network namespaces, cgroups) is gone before the next one starts.
 */
static int
bench_round(struct bench *b, int r, int n)
{
	double skip, skip2, *t;
	int j, k, rc;

	for (j = 0; j < BENCH_KINDS; j++) {
		k = (r + j) % BENCH_KINDS;
		if ((k == BENCH_CRUN && b->crun == NULL) ||
		    k >= BENCH_CML + b->ng)
			continue;
		t = n >= 0 ? &b->t[k][n] : &skip;
		if (k >= BENCH_CML)
			rc = bench_cml(&b->g[k - BENCH_CML], t, n >= 0 ?
			    &b->g[k - BENCH_CML].t_start[n] : &skip2);
		else if (k == BENCH_FLOOR)
			rc = bench_floor(b, t);
		else if (k == BENCH_IMAGE)
			rc = bench_image(b, t);
		else
			rc = bench_crun(b, t);
		if (rc == -1)
			return -1;
		usleep(BENCH_SETTLE_US);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "guestos", required_argument, NULL, 'g' },
		{ "rootfs", required_argument, NULL, 'r' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "runs", required_argument, NULL, 'n' },
		{ "crun", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench b;
	sigset_t set;
	double med[BENCH_KINDS], start, cml;
	char label[64];
	int ch, g, i, k;

	memset(&b, 0, sizeof b);
	b.runs = BENCH_RUNS_DEFAULT;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'g':
			if (b.ng == BENCH_GUESTOS_MAX)
				bench_usage();
			b.g[b.ng++].dir = optarg;
			break;
		case 'r':
			b.rootfs = optarg;
			break;
		case 'w':
			b.workdir = optarg;
			break;
		case 'n':
			b.runs = atoi(optarg);
			break;
		case 'c':
			b.crun = optarg;
			break;
		default:
			bench_usage();
		}
	}
	if (optind != argc || b.ng == 0 || b.rootfs == NULL ||
	    b.workdir == NULL || b.runs < 1)
		bench_usage();
	if (geteuid() != 0) {
		fprintf(stderr, "bench-container: needs root (namespaces, "
		    "mounts, cgroups)\n");
		return 1;
	}
	log_init("bench-container", 1, LOG_LEVEL_WARNING);
	/* As in cmld, whose loop reads SIGCHLD from a signalfd. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (bench_namespace() == -1 || bench_setup(&b) == -1)
		return 1;

	for (i = 0; i < BENCH_WARMUP + b.runs; i++) {
		if (bench_round(&b, i, i < BENCH_WARMUP ? -1 : i - BENCH_WARMUP)
		    == -1)
			return 1;
	}
	for (k = 0; k < BENCH_KINDS; k++)
		med[k] = (k == BENCH_CRUN && b.crun == NULL) ||
		    k >= BENCH_CML + b.ng ? 0 : bench_median(b.t[k], b.runs);

	printf(BENCH_LABEL "%d (after %d warm-up runs of each)\n",
	    "runs:", b.runs, BENCH_WARMUP);
	for (g = 0; g < b.ng; g++) {
		start = bench_median(b.g[g].t_start, b.runs);
		snprintf(label, sizeof label, "cml, %s (median):", b.g[g].fs);
		printf(BENCH_LABEL "%.2f ms start+stop (start %.2f ms, until "
		    "executed)\n", label, med[BENCH_CML + g] * 1e3,
		    start * 1e3);
	}
	printf(BENCH_LABEL "%.2f ms\n", "floor (median):",
	    med[BENCH_FLOOR] * 1e3);
	printf(BENCH_LABEL "%.2f ms (the floor from a fresh loop mount of "
	    "a squashfs image)\n", "image floor (median):",
	    med[BENCH_IMAGE] * 1e3);
	if (b.crun != NULL)
		printf(BENCH_LABEL "%.2f ms\n", "crun run (median):",
		    med[BENCH_CRUN] * 1e3);
	else
		printf(BENCH_LABEL "not measured (crun is not installed: "
		    "Debian package crun)\n", "crun run:");
	for (g = 0; g < b.ng; g++) {
		container_free(b.g[g].c);
		cml = med[BENCH_CML + g];
		snprintf(label, sizeof label, "cml, %s / floor:", b.g[g].fs);
		printf(BENCH_LABEL "%.2f (target <= 3: %s)\n", label,
		    cml / med[BENCH_FLOOR],
		    cml <= 3 * med[BENCH_FLOOR] ? "met" : "NOT met");
		snprintf(label, sizeof label, "cml, %s / image floor:",
		    b.g[g].fs);
		printf(BENCH_LABEL "%.2f\n", label, cml / med[BENCH_IMAGE]);
		if (b.crun != NULL) {
			snprintf(label, sizeof label, "cml, %s / crun:",
			    b.g[g].fs);
			printf(BENCH_LABEL "%.2f (target <= 1: %s)\n", label,
			    cml / med[BENCH_CRUN],
			    cml <= med[BENCH_CRUN] ? "met" : "NOT met");
		}
	}
	return 0;
}
