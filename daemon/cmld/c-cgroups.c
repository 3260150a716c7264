/*
 * Container module: cgroups for memory, CPU, cpuset, PIDs and the freezer,
 * v1 (a hierarchy per controller) or v2 (one unified hierarchy), whichever
 * /sys/fs/cgroup is; a hybrid layout counts as v1.  A container's groups
 * are CONTAINER_CGROUP_ROOT/<controller>/<parent>/<name> (v1) or
 * CONTAINER_CGROUP_ROOT/<parent>/<name> (v2), the parent "cml" unless
 * cmld's --cgroup-parent names another, so that two cmlds on one machine
 * need not share groups.  cmld moves init into them while init sets up its
 * file system (moving a task costs v1 an RCU grace period per hierarchy);
 * init makes its cgroup namespace only then, so inside it sees its own
 * group as the root.
 *
 * A group that exists already and holds processes is never taken over: a
 * start that finds one fails, and only groups this start made are removed
 * again.  On v2 a limit of the config needs its controller in the unified
 * hierarchy; without it the container does not start (it never runs
 * without its limits).
 *
 * The groups of a container that does not run (a cmld that died while
 * starting it, or an earlier run) are swept from every hierarchy, v1 and
 * v2, at cmld's start, at remove and at a stop of the stopped container:
 * empty ones go, and when one holds a process nothing of that name is
 * touched.
 *
 * What a running container uses is read from its groups' counters (CPU
 * time, memory, processes), whose descriptors stay open while it runs: a
 * control file read again from its start is made anew, so that a dashboard
 * asking every second costs one read each; for a container whose CPU time
 * did not move, only that one (nothing in it ran, so its processes and
 * memory are as they were, but for what the kernel's reclaim took: read
 * again after C_CGROUPS_USAGE_STALE_MS anyway).  On v1 the CPU time needs
 * the cpuacct controller: where it is a hierarchy of its own the container
 * gets a group there too (it limits nothing); mounted with cpu, the cpu
 * group counts.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/vfs.h>

#include <linux/magic.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cconfig.h"
#include "container.h"
#include "log.h"
#include "xmalloc.h"

/* How long freezing and removing a group may take, in milliseconds. */
#define C_CGROUPS_WAIT_MS 2000
#define C_CGROUPS_POLL_NS (200 * 1000)
/* Attempts at a group whose parent another cmld removes meanwhile. */
#define C_CGROUPS_TRIES 3
/* The largest control file read. */
#define C_CGROUPS_FILE_MAX 8192
/* The longest name of the parent group. */
#define C_CGROUPS_PARENT_MAX 64
/* How deep a sweep goes below a container's own group. */
#define C_CGROUPS_SWEEP_DEPTH 8
/* The largest counter file read (v2's cpu.stat: a few lines). */
#define C_CGROUPS_COUNTER_MAX 512
/* A counter whose file does not exist: not looked for again. */
#define C_CGROUPS_COUNTER_NONE (-2)
/* How long memory and processes are taken from the last read at most. */
#define C_CGROUPS_USAGE_STALE_MS 10000

static const char *const c_cgroups_names[CONTAINER_CG_COUNT] = {
	[CONTAINER_CG_MEMORY] = "memory",
	[CONTAINER_CG_CPU] = "cpu",
	[CONTAINER_CG_CPUSET] = "cpuset",
	[CONTAINER_CG_PIDS] = "pids",
	[CONTAINER_CG_FREEZER] = "freezer",
	[CONTAINER_CG_DEVICES] = "devices",
	[CONTAINER_CG_CPUACCT] = "cpuacct",
};

/* Whether v1's cpuacct is a hierarchy of its own, not cpu's. */
static int
c_cgroups_cpuacct_apart(void)
{
	struct statfs fs;
	struct stat acct, cpu;

	if (statfs(CONTAINER_CGROUP_ROOT "/cpuacct", &fs) == -1 ||
	    fs.f_type != CGROUP_SUPER_MAGIC ||
	    stat(CONTAINER_CGROUP_ROOT "/cpuacct", &acct) == -1)
		return 0;
	return stat(CONTAINER_CGROUP_ROOT "/cpu", &cpu) == -1 ||
	    cpu.st_dev != acct.st_dev;
}

/*
 * Whether a controller is used: cpuset only for a config that sets cpus,
 * cpuacct only where cpu's group does not count already.
 */
static int
c_cgroups_wanted(const struct container *c, int cg)
{
	if (cg == CONTAINER_CG_CPUSET)
		return c->cpus != NULL;
	if (cg == CONTAINER_CG_CPUACCT)
		return c_cgroups_cpuacct_apart();
	return 1;
}

/* Closes the descriptors of the container's counters. */
static void
c_cgroups_counters_close(struct container *c)
{
	int i;

	for (i = 0; i < CONTAINER_COUNTER_COUNT; i++) {
		if (c->counter[i] >= 0)
			close(c->counter[i]);
		c->counter[i] = -1;
	}
	c->counter_at = 0;
}

int
c_cgroups_parent_ok(const char *name, char **cause)
{
	size_t i, len = strlen(name);

	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' &&
		    name[i] != '_')
			break;
	}
	if (len == 0 || len > C_CGROUPS_PARENT_MAX || i != len ||
	    !isalnum((unsigned char)name[0])) {
		*cause = xasprintf("'%s' is not a single cgroup name: use 1 to "
		    "%d letters, digits, '-' or '_', starting with a letter or "
		    "digit", name, C_CGROUPS_PARENT_MAX);
		return -1;
	}
	return 0;
}

/* Finds the cgroup version and sets the paths; changes nothing. */
static void
c_cgroups_paths(struct container *c)
{
	struct statfs fs;
	int cg;

	c_cgroups_counters_close(c);
	for (cg = 0; cg < CONTAINER_CG_COUNT; cg++) {
		free(c->cgroup[cg]);
		c->cgroup[cg] = NULL;
	}
	free(c->cgroup2);
	c->cgroup2 = NULL;
	c->cgroup_v2 = statfs(CONTAINER_CGROUP_ROOT, &fs) == 0 &&
	    fs.f_type == CGROUP2_SUPER_MAGIC;
	if (c->cgroup_v2) {
		c->cgroup2 = xasprintf("%s/%s/%s", CONTAINER_CGROUP_ROOT,
		    c->cgparent, c->name);
		return;
	}
	for (cg = 0; cg < CONTAINER_CG_COUNT; cg++) {
		if (c_cgroups_wanted(c, cg))
			c->cgroup[cg] = xasprintf("%s/%s/%s/%s",
			    CONTAINER_CGROUP_ROOT, c_cgroups_names[cg],
			    c->cgparent, c->name);
	}
}

/* Writes value to dir/file; -1 with *cause naming both. */
static int
c_cgroups_set(const char *dir, const char *file, const char *value,
    char **cause)
{
	char *path;
	int rc = 0;

	path = xasprintf("%s/%s", dir, file);
	if (container_write_file(path, value) == -1) {
		*cause = xasprintf("setting %s to '%s' failed: %s", path, value,
		    strerror(errno));
		rc = -1;
	}
	free(path);
	return rc;
}

/* As c_cgroups_set, for a number. */
static int
c_cgroups_setll(const char *dir, const char *file, long long value,
    char **cause)
{
	char buf[32];

	snprintf(buf, sizeof buf, "%lld", value);
	return c_cgroups_set(dir, file, buf, cause);
}

/* Reads dir/file into a new string; NULL with errno set. */
static char *
c_cgroups_read(const char *dir, const char *file)
{
	char *path, *buf;
	ssize_t n;
	size_t len = 0;
	int fd, saved;

	path = xasprintf("%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd == -1)
		return NULL;
	buf = xmalloc(C_CGROUPS_FILE_MAX);
	while (len < C_CGROUPS_FILE_MAX - 1) {
		n = read(fd, buf + len, C_CGROUPS_FILE_MAX - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			saved = errno;
			close(fd);
			free(buf);
			errno = saved;
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

/* Finds "key N" on a line of text (changed) into *v; -1 when absent. */
static int
c_cgroups_find(char *text, const char *key, long long *v)
{
	char *line, *save;
	size_t klen = strlen(key);

	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			*v = strtoll(line + klen + 1, NULL, 10);
			return 0;
		}
	}
	return -1;
}

/* Finds "key N" on a line of dir/file; 0 when absent or unreadable. */
static long long
c_cgroups_key(const char *dir, const char *file, const char *key)
{
	char *buf;
	long long v = 0;

	if (dir == NULL || (buf = c_cgroups_read(dir, file)) == NULL)
		return 0;
	if (c_cgroups_find(buf, key, &v) == -1)
		v = 0;
	free(buf);
	return v;
}

/*
 * Creates dir.  An empty leftover of an earlier run is replaced; a group
 * that holds processes is not this start's to take over (the container
 * does not run in this cmld, so they are someone else's): EBUSY.
 */
static int
c_cgroups_mkdir(struct container *c, const char *dir, char **cause)
{
	char *procs, *nl;
	int saved, n = 0;
	size_t i;

	if (mkdir(dir, 0755) == 0)
		return 0;
	if (errno != EEXIST)
		goto fail;
	if ((procs = c_cgroups_read(dir, "cgroup.procs")) != NULL) {
		for (i = 0; procs[i] != '\0'; i++)
			n += procs[i] == '\n';
		if (n > 0) {
			if ((nl = strchr(procs, '\n')) != NULL)
				*nl = '\0';
			*cause = xasprintf("cgroup %s exists already and holds "
			    "%d process%s that container '%s' did not start "
			    "(pid %s%s): another cmld with the same cgroup "
			    "parent may run a container of this name; they "
			    "are not taken over", dir, n, n == 1 ? "" : "es",
			    c->name, procs, n > 1 ? " and others" : "");
			free(procs);
			errno = EBUSY;
			return -1;
		}
		free(procs);
	}
	if (rmdir(dir) == 0 && mkdir(dir, 0755) == 0)
		return 0;
	if (errno == EBUSY) {
		*cause = xasprintf("cgroup %s exists already and has groups "
		    "below it that container '%s' did not make: they are not "
		    "taken over", dir, c->name);
		return -1;
	}
fail:
	saved = errno;
	*cause = xasprintf("cannot create cgroup %s: %s", dir, strerror(errno));
	errno = saved;
	return -1;
}

/* Removes a group this start made (and its parent, once empty). */
static void
c_cgroups_unmake(const char *dir)
{
	char *parent;

	if (rmdir(dir) == -1 && errno != ENOENT)
		log_warn("cannot remove cgroup %s", dir);
	parent = xstrdup(dir);
	*strrchr(parent, '/') = '\0';
	(void)rmdir(parent);
	free(parent);
}

/* Creates the parent group of a hierarchy when missing. */
static int
c_cgroups_mkparent(const struct container *c, const char *hier,
    char **cause)
{
	struct stat sb;
	char *dir;
	int rc = 0;

	dir = xasprintf("%s/%s", hier, c->cgparent);
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		*cause = xasprintf("cannot create cgroup %s: %s", dir,
		    strerror(errno));
		rc = -1;
	} else if (stat(dir, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		*cause = xasprintf("cannot use %s as the parent cgroup: it is "
		    "a control file, not a group (choose another "
		    "--cgroup-parent)", dir);
		rc = -1;
	}
	free(dir);
	return rc;
}

/* Copies a cpuset file from the parent group when it is still empty. */
static int
c_cgroups_cpuset_inherit(const char *parent, const char *dir,
    const char *file, char **cause)
{
	char *mine, *theirs;
	int rc = 0;

	if ((mine = c_cgroups_read(dir, file)) == NULL) {
		*cause = xasprintf("cannot read %s/%s: %s", dir, file,
		    strerror(errno));
		return -1;
	}
	if (mine[0] == '\n' || mine[0] == '\0') {
		if ((theirs = c_cgroups_read(parent, file)) == NULL) {
			*cause = xasprintf("cannot read %s/%s: %s", parent,
			    file, strerror(errno));
			free(mine);
			return -1;
		}
		theirs[strcspn(theirs, "\n")] = '\0';
		rc = c_cgroups_set(dir, file, theirs, cause);
		free(theirs);
	}
	free(mine);
	return rc;
}

/* Creates the container's group of v1 controller cg (and the parent). */
static int
c_cgroups_make_v1(struct container *c, int cg, char **cause)
{
	struct stat sb;
	char *hier, *parent;
	int rc = -1, tries;

	hier = xasprintf("%s/%s", CONTAINER_CGROUP_ROOT, c_cgroups_names[cg]);
	parent = xasprintf("%s/%s", hier, c->cgparent);
	if (stat(hier, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		*cause = xasprintf("the cgroup v1 controller '%s' is not "
		    "mounted at %s", c_cgroups_names[cg], hier);
		goto out;
	}
	/* Another cmld's cleanup may remove an empty parent meanwhile. */
	for (tries = 0;; tries++) {
		if (c_cgroups_mkparent(c, hier, cause) == -1)
			goto out;
		/* A new cpuset group has no CPUs and no memory nodes. */
		if (cg == CONTAINER_CG_CPUSET &&
		    (c_cgroups_cpuset_inherit(hier, parent, "cpuset.cpus",
		    cause) == -1 || c_cgroups_cpuset_inherit(hier, parent,
		    "cpuset.mems", cause) == -1))
			goto out;
		if (c_cgroups_mkdir(c, c->cgroup[cg], cause) == 0)
			break;
		if (errno != ENOENT || tries == C_CGROUPS_TRIES)
			goto out;
		free(*cause);
		*cause = NULL;
	}
	rc = 0;
out:
	free(parent);
	free(hier);
	return rc;
}

static int
c_cgroups_prepare_v1(struct container *c, char **cause)
{
	char *parent;
	int cg, made, rc;

	/*
	 * The groups are this container's only once all are made: cleanup
	 * would otherwise kill what it finds in a group that was someone
	 * else's.  The ones made before a refusal are empty: removed here.
	 */
	for (cg = 0; cg < CONTAINER_CG_COUNT; cg++) {
		if (c->cgroup[cg] != NULL &&
		    c_cgroups_make_v1(c, cg, cause) == -1) {
			for (made = cg - 1; made >= 0; made--) {
				if (c->cgroup[made] != NULL)
					c_cgroups_unmake(c->cgroup[made]);
			}
			return -1;
		}
	}
	c->cgroup_owned = 1;

	if (c_cgroups_setll(c->cgroup[CONTAINER_CG_MEMORY],
	    "memory.limit_in_bytes", c->memory_limit, cause) == -1)
		return -1;
	/* With swap accounting, no swap beyond the limit either. */
	parent = xasprintf("%s/memory.memsw.limit_in_bytes",
	    c->cgroup[CONTAINER_CG_MEMORY]);
	rc = access(parent, F_OK) == 0 &&
	    c_cgroups_setll(c->cgroup[CONTAINER_CG_MEMORY],
	    "memory.memsw.limit_in_bytes", c->memory_limit, cause) == -1;
	free(parent);
	if (rc)
		return -1;
	if (c_cgroups_setll(c->cgroup[CONTAINER_CG_CPU], "cpu.shares",
	    c->cpu_shares, cause) == -1 ||
	    c_cgroups_setll(c->cgroup[CONTAINER_CG_CPU], "cpu.cfs_period_us",
	    c->cpu_period, cause) == -1 ||
	    c_cgroups_setll(c->cgroup[CONTAINER_CG_CPU], "cpu.cfs_quota_us",
	    c->cpu_quota > 0 ? c->cpu_quota : -1, cause) == -1)
		return -1;
	if (c->cgroup[CONTAINER_CG_CPUSET] != NULL) {
		parent = xasprintf("%s/cpuset/%s", CONTAINER_CGROUP_ROOT,
		    c->cgparent);
		rc = c_cgroups_set(c->cgroup[CONTAINER_CG_CPUSET],
		    "cpuset.cpus", c->cpus, cause) == -1 ||
		    c_cgroups_cpuset_inherit(parent,
		    c->cgroup[CONTAINER_CG_CPUSET], "cpuset.mems", cause) == -1;
		free(parent);
		if (rc)
			return -1;
	}
	if (c_cgroups_setll(c->cgroup[CONTAINER_CG_PIDS], "pids.max",
	    c->pids_limit, cause) == -1)
		return -1;
	return 0;
}

/* Whether the v2 controller name is in the list in dir/file. */
static int
c_cgroups_v2_has(const char *dir, const char *file, const char *name)
{
	char *buf, *tok, *save;
	int found = 0;

	if ((buf = c_cgroups_read(dir, file)) == NULL)
		return 0;
	for (tok = strtok_r(buf, " \n", &save); tok != NULL;
	    tok = strtok_r(NULL, " \n", &save)) {
		if (strcmp(tok, name) == 0)
			found = 1;
	}
	free(buf);
	return found;
}

/* Enables v2 controller name for the groups below dir, unless it is. */
static int
c_cgroups_v2_enable(const char *dir, const char *name, char **cause)
{
	char *value;
	int rc = 0, saved;

	if (c_cgroups_v2_has(dir, "cgroup.subtree_control", name))
		return 0;
	value = xasprintf("+%s", name);
	if (c_cgroups_set(dir, "cgroup.subtree_control", value, cause) == -1) {
		saved = errno;
		free(*cause);
		*cause = xasprintf("cannot enable the cgroup v2 %s controller "
		    "in %s/cgroup.subtree_control: %s", name, dir,
		    strerror(saved));
		errno = saved;
		rc = -1;
	}
	free(value);
	return rc;
}

/* The v2 controllers a container may use, and the fields that need them. */
enum {
	C_CGROUPS_V2_MEMORY,
	C_CGROUPS_V2_PIDS,
	C_CGROUPS_V2_CPU,
	C_CGROUPS_V2_CPUSET,
	C_CGROUPS_V2_COUNT,
};
static const char *const c_cgroups_v2_names[C_CGROUPS_V2_COUNT] = {
	[C_CGROUPS_V2_MEMORY] = "memory",
	[C_CGROUPS_V2_PIDS] = "pids",
	[C_CGROUPS_V2_CPU] = "cpu",
	[C_CGROUPS_V2_CPUSET] = "cpuset",
};
static const char *const c_cgroups_v2_fields[C_CGROUPS_V2_COUNT] = {
	[C_CGROUPS_V2_MEMORY] = "linux.resources.memory.limit",
	[C_CGROUPS_V2_PIDS] = "linux.resources.pids.limit",
	[C_CGROUPS_V2_CPU] = "linux.resources.cpu.shares and .quota",
	[C_CGROUPS_V2_CPUSET] = "linux.resources.cpu.cpus",
};

/*
 * Decides which v2 controllers the container uses: every one a limit of
 * its config needs (memory and pids always have one; cpu a weight other
 * than the default or a quota; cpuset a CPU list), and cpu whenever it is
 * there.  A needed controller the root does not offer refuses the start,
 * before anything is made.
 */
static int
c_cgroups_v2_select(struct container *c, int need[C_CGROUPS_V2_COUNT],
    int use[C_CGROUPS_V2_COUNT], char **cause)
{
	int have, i;
	char *avail, *missing = NULL, *tmp;

	need[C_CGROUPS_V2_MEMORY] = 1;
	need[C_CGROUPS_V2_PIDS] = 1;
	need[C_CGROUPS_V2_CPU] = c->cpu_quota > 0 ||
	    c->cpu_shares != CCONFIG_SHARES_DEFAULT;
	need[C_CGROUPS_V2_CPUSET] = c->cpus != NULL;
	for (i = 0; i < C_CGROUPS_V2_COUNT; i++) {
		have = c_cgroups_v2_has(CONTAINER_CGROUP_ROOT,
		    "cgroup.controllers", c_cgroups_v2_names[i]);
		use[i] = have && (need[i] || i == C_CGROUPS_V2_CPU);
		if (have || !need[i])
			continue;
		tmp = xasprintf("%s%sno %s controller enabled (needed for %s)",
		    missing != NULL ? missing : "",
		    missing != NULL ? ", " : "", c_cgroups_v2_names[i],
		    c_cgroups_v2_fields[i]);
		free(missing);
		missing = tmp;
	}
	if (missing == NULL)
		return 0;
	avail = c_cgroups_read(CONTAINER_CGROUP_ROOT, "cgroup.controllers");
	if (avail != NULL)
		avail[strcspn(avail, "\n")] = '\0';
	if (avail != NULL && *avail != '\0')
		tmp = xasprintf("only '%s'", avail);
	else
		tmp = xstrdup("none");
	*cause = xasprintf("cgroup v2 has %s: %s/cgroup.controllers lists %s "
	    "(a controller bound to a cgroup v1 hierarchy is not available "
	    "to v2); container '%s' does not run without its limits", missing,
	    CONTAINER_CGROUP_ROOT, tmp, c->name);
	free(tmp);
	free(avail);
	free(missing);
	return -1;
}

static int
c_cgroups_prepare_v2(struct container *c, char **cause)
{
	char *parent, *swap, buf[64];
	int need[C_CGROUPS_V2_COUNT], use[C_CGROUPS_V2_COUNT];
	int has_swap, i, rc = -1, tries;
	long long weight;

	if (c_cgroups_v2_select(c, need, use, cause) == -1)
		return -1;
	parent = xasprintf("%s/%s", CONTAINER_CGROUP_ROOT, c->cgparent);
	for (i = 0; i < C_CGROUPS_V2_COUNT; i++) {
		if (!use[i] || c_cgroups_v2_enable(CONTAINER_CGROUP_ROOT,
		    c_cgroups_v2_names[i], cause) == 0)
			continue;
		if (need[i])
			goto out;
		/* cpu for the default weight only: not worth a refusal. */
		log_info("container %s: %s", c->name, *cause);
		free(*cause);
		*cause = NULL;
		use[i] = 0;
	}
	/* Another cmld's cleanup may remove an empty parent meanwhile. */
	for (tries = 0;; tries++) {
		if (c_cgroups_mkparent(c, CONTAINER_CGROUP_ROOT, cause) == -1)
			goto out;
		for (i = 0; i < C_CGROUPS_V2_COUNT; i++) {
			if (use[i] && c_cgroups_v2_enable(parent,
			    c_cgroups_v2_names[i], cause) == -1)
				break;
		}
		if (i == C_CGROUPS_V2_COUNT &&
		    c_cgroups_mkdir(c, c->cgroup2, cause) == 0)
			break;
		if (errno != ENOENT || tries == C_CGROUPS_TRIES)
			goto out;
		free(*cause);
		*cause = NULL;
	}
	c->cgroup_owned = 1;
	for (i = 0; i < C_CGROUPS_V2_COUNT; i++) {
		if (use[i] && !c_cgroups_v2_has(c->cgroup2,
		    "cgroup.controllers", c_cgroups_v2_names[i])) {
			*cause = xasprintf("the cgroup v2 %s controller is not "
			    "enabled in %s although %s/cgroup.subtree_control "
			    "says so", c_cgroups_v2_names[i], c->cgroup2,
			    parent);
			goto out;
		}
	}

	if (c_cgroups_setll(c->cgroup2, "memory.max", c->memory_limit,
	    cause) == -1)
		goto out;
	/* With swap accounting, no swap beyond the limit either. */
	swap = xasprintf("%s/memory.swap.max", c->cgroup2);
	has_swap = access(swap, F_OK) == 0;
	free(swap);
	if (has_swap && c_cgroups_set(c->cgroup2, "memory.swap.max", "0",
	    cause) == -1)
		goto out;
	if (use[C_CGROUPS_V2_CPU]) {
		/* cpu.shares 2..262144 onto cpu.weight 1..10000 (as runc). */
		weight = 1 + ((c->cpu_shares - 2) * 9999) / 262142;
		if (c_cgroups_setll(c->cgroup2, "cpu.weight", weight,
		    cause) == -1)
			goto out;
		if (c->cpu_quota > 0)
			snprintf(buf, sizeof buf, "%lld %lld", c->cpu_quota,
			    c->cpu_period);
		else
			snprintf(buf, sizeof buf, "max %lld", c->cpu_period);
		if (c_cgroups_set(c->cgroup2, "cpu.max", buf, cause) == -1)
			goto out;
	}
	if (c->cpus != NULL && c_cgroups_set(c->cgroup2, "cpuset.cpus",
	    c->cpus, cause) == -1)
		goto out;
	if (c_cgroups_setll(c->cgroup2, "pids.max", c->pids_limit,
	    cause) == -1)
		goto out;
	rc = 0;
out:
	free(parent);
	return rc;
}

static int
c_cgroups_prepare(struct container *c, char **cause)
{
	struct stat sb;

	c_cgroups_paths(c);
	c->cgroup_owned = 0;
	if (stat(CONTAINER_CGROUP_ROOT, &sb) == -1) {
		*cause = xasprintf("no cgroups: %s is missing",
		    CONTAINER_CGROUP_ROOT);
		return -1;
	}
	if (c->cgroup_v2)
		return c_cgroups_prepare_v2(c, cause);
	return c_cgroups_prepare_v1(c, cause);
}

/* Moves pid into every group of the container. */
static int
c_cgroups_join(struct container *c, pid_t pid, char **cause)
{
	char buf[32];
	int cg;

	snprintf(buf, sizeof buf, "%ld", (long)pid);
	if (c->cgroup_v2)
		return c_cgroups_set(c->cgroup2, "cgroup.procs", buf, cause);
	for (cg = 0; cg < CONTAINER_CG_COUNT; cg++) {
		if (c->cgroup[cg] != NULL && c_cgroups_set(c->cgroup[cg],
		    "cgroup.procs", buf, cause) == -1)
			return -1;
	}
	return 0;
}

/* Moves init into its groups while it sets itself up, then lets it on. */
static int
c_cgroups_started(struct container *c, char **cause)
{
	if (c_cgroups_join(c, c->pid, cause) == -1)
		return -1;
	return container_release(c, cause);
}

/* Once cmld has moved init, its groups become its cgroup root. */
static int
c_cgroups_child(struct container *c)
{
	if (container_child_await(c) == -1)
		return container_child_fail(c, 0, "cmld gave up before moving "
		    "init into its cgroups");
	if (unshare(CLONE_NEWCGROUP) == -1)
		return container_child_fail(c, errno, "creating the cgroup "
		    "namespace failed");
	return 0;
}

/*
 * Checks /proc/PID/cgroup: the process must sit in this container's group
 * of every hierarchy in use.
 */
static int
c_cgroups_adopt(struct container *c, char **cause)
{
	char *dir, *buf, *line, *save, *ctrls, *path, *want, *tok, *tsave;
	int seen[CONTAINER_CG_COUNT] = { 0 }, cg, rc = -1, v2 = 0;
	char *frozen;

	dir = xasprintf("/proc/%ld", (long)c->pid);
	buf = c_cgroups_read(dir, "cgroup");
	free(dir);
	if (buf == NULL) {
		*cause = xasprintf("process %ld is gone", (long)c->pid);
		return -1;
	}
	want = xasprintf("/%s/%s", c->cgparent, c->name);
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		/* "ID:CONTROLLERS:PATH" */
		if ((ctrls = strchr(line, ':')) == NULL ||
		    (path = strchr(ctrls + 1, ':')) == NULL)
			continue;
		*path++ = '\0';
		ctrls++;
		if (strcmp(path, want) != 0)
			continue;
		if (*ctrls == '\0')
			v2 = 1;
		for (tok = strtok_r(ctrls, ",", &tsave); tok != NULL;
		    tok = strtok_r(NULL, ",", &tsave)) {
			for (cg = 0; cg < CONTAINER_CG_COUNT; cg++) {
				if (strcmp(tok, c_cgroups_names[cg]) == 0)
					seen[cg] = 1;
			}
		}
	}
	if (c->cgroup_v2 && !v2) {
		*cause = xasprintf("process %ld is not in cgroup %s",
		    (long)c->pid, c->cgroup2);
		goto out;
	}
	/* Started by a cmld that made none: its CPU time is not counted. */
	if (c->cgroup[CONTAINER_CG_CPUACCT] != NULL &&
	    !seen[CONTAINER_CG_CPUACCT]) {
		free(c->cgroup[CONTAINER_CG_CPUACCT]);
		c->cgroup[CONTAINER_CG_CPUACCT] = NULL;
	}
	for (cg = 0; cg < CONTAINER_CG_COUNT; cg++) {
		if (c->cgroup[cg] != NULL && !seen[cg]) {
			*cause = xasprintf("process %ld is not in cgroup %s",
			    (long)c->pid, c->cgroup[cg]);
			goto out;
		}
	}
	c->cgroup_owned = 1;
	if (c->cgroup_v2)
		frozen = c_cgroups_read(c->cgroup2, "cgroup.freeze");
	else
		frozen = c_cgroups_read(c->cgroup[CONTAINER_CG_FREEZER],
		    "freezer.state");
	c->frozen = frozen != NULL && (strncmp(frozen, "1", 1) == 0 ||
	    strncmp(frozen, "FROZEN", 6) == 0);
	free(frozen);
	rc = 0;
out:
	free(want);
	free(buf);
	return rc;
}

/* Sleeps one polling interval. */
static void
c_cgroups_nap(void)
{
	struct timespec ts = { 0, C_CGROUPS_POLL_NS };

	nanosleep(&ts, NULL);
}

/* Freezes or thaws, and waits until that is done; -1 with *cause set. */
static int
c_cgroups_freeze(struct container *c, int frozen, char **cause)
{
	const char *dir, *file, *value, *want, *key;
	char *state;
	int i, done;

	if (c->cgroup_v2) {
		dir = c->cgroup2;
		file = "cgroup.freeze";
		value = frozen ? "1" : "0";
	} else {
		dir = c->cgroup[CONTAINER_CG_FREEZER];
		file = "freezer.state";
		value = frozen ? "FROZEN" : "THAWED";
	}
	if (dir == NULL) {
		*cause = xasprintf("container '%s' has no freezer cgroup",
		    c->name);
		return -1;
	}
	if (c_cgroups_set(dir, file, value, cause) == -1)
		return -1;
	/* Freezing takes effect task by task: wait until all are. */
	for (i = 0; (long long)i * C_CGROUPS_POLL_NS / 1000000 <
	    C_CGROUPS_WAIT_MS; i++) {
		if (c->cgroup_v2) {
			key = "frozen";
			done = c_cgroups_key(dir, "cgroup.events", key) ==
			    (frozen ? 1 : 0);
		} else {
			want = frozen ? "FROZEN" : "THAWED";
			state = c_cgroups_read(dir, "freezer.state");
			done = state != NULL &&
			    strncmp(state, want, strlen(want)) == 0;
			free(state);
		}
		if (done)
			return 0;
		c_cgroups_nap();
	}
	*cause = xasprintf("container '%s' did not %s within %d ms", c->name,
	    frozen ? "freeze" : "thaw", C_CGROUPS_WAIT_MS);
	return -1;
}

/* The processes in the container's (first) cgroup; 0 ends the array. */
static pid_t *
c_cgroups_procs(struct container *c)
{
	char *buf, *line, *save;
	const char *dir;
	pid_t *pids;
	size_t n = 0;
	long pid;

	dir = c->cgroup_v2 ? c->cgroup2 : c->cgroup[CONTAINER_CG_FREEZER];
	pids = xcalloc(1, sizeof *pids);
	if (dir == NULL || (buf = c_cgroups_read(dir, "cgroup.procs")) == NULL)
		return pids;
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if ((pid = strtol(line, NULL, 10)) <= 0)
			continue;
		pids = xreallocarray(pids, n + 2, sizeof *pids);
		pids[n++] = (pid_t)pid;
		pids[n] = 0;
	}
	free(buf);
	return pids;
}

/* Once init ended: counts the OOM kills and the pids limit's refusals. */
static void
c_cgroups_ended(struct container *c)
{
	if (c->cgroup_v2) {
		c->oom_kills = c_cgroups_key(c->cgroup2, "memory.events",
		    "oom_kill");
		c->pids_hits = c_cgroups_key(c->cgroup2, "pids.events", "max");
		return;
	}
	c->oom_kills = c_cgroups_key(c->cgroup[CONTAINER_CG_MEMORY],
	    "memory.oom_control", "oom_kill");
	c->pids_hits = c_cgroups_key(c->cgroup[CONTAINER_CG_PIDS],
	    "pids.events", "max");
}

/* A frozen container cannot act on SIGTERM, nor die of SIGKILL (v1). */
static void
c_cgroups_stop(struct container *c)
{
	char *cause = NULL;

	if (!c->frozen)
		return;
	if (c_cgroups_freeze(c, 0, &cause) == -1) {
		log_warnx("container %s: %s", c->name, cause);
		free(cause);
		return;
	}
	c->frozen = 0;
}

/*
 * Kills every process still in dir: commands run by container_exec whose
 * first process sits outside the container's PID namespace.
 */
static void
c_cgroups_kill_all(struct container *c, const char *dir)
{
	char *buf, *line, *save, *path;
	long pid;
	int done;

	if (c->cgroup_v2) {
		path = xasprintf("%s/cgroup.kill", dir);
		done = container_write_file(path, "1") == 0;
		free(path);
		if (done)
			return;
	}
	if ((buf = c_cgroups_read(dir, "cgroup.procs")) == NULL)
		return;
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		pid = strtol(line, NULL, 10);
		if (pid > 1)
			kill((pid_t)pid, SIGKILL);
	}
	free(buf);
}

/* Removes a group, waiting for exiting tasks to leave it. */
static void
c_cgroups_rmdir(struct container *c, const char *dir)
{
	char *parent;
	int i;

	for (i = 0; rmdir(dir) == -1; i++) {
		if (errno == ENOENT)
			break;
		if (errno != EBUSY ||
		    (long long)i * C_CGROUPS_POLL_NS / 1000000 >=
		    C_CGROUPS_WAIT_MS) {
			log_warn("container %s: cannot remove cgroup %s",
			    c->name, dir);
			return;
		}
		if (i == 0)
			c_cgroups_kill_all(c, dir);
		c_cgroups_nap();
	}
	/* The shared parent goes too once the last container has gone. */
	parent = xstrdup(dir);
	*strrchr(parent, '/') = '\0';
	if (rmdir(parent) == -1 && errno != EBUSY && errno != ENOENT)
		log_warn("container %s: cannot remove cgroup %s", c->name,
		    parent);
	free(parent);
}

static void
c_cgroups_cleanup(struct container *c)
{
	char *path;
	int cg;

	c_cgroups_counters_close(c);
	if (!c->cgroup_owned)
		return;
	if (c->cgroup_v2) {
		if (c->cgroup2 != NULL)
			c_cgroups_rmdir(c, c->cgroup2);
	} else {
		/* Thawed first, or SIGKILL waits for the thaw. */
		if (c->cgroup[CONTAINER_CG_FREEZER] != NULL) {
			path = xasprintf("%s/freezer.state",
			    c->cgroup[CONTAINER_CG_FREEZER]);
			container_write_file(path, "THAWED");
			free(path);
		}
		for (cg = 0; cg < CONTAINER_CG_COUNT; cg++) {
			if (c->cgroup[cg] != NULL)
				c_cgroups_rmdir(c, c->cgroup[cg]);
		}
	}
	c->cgroup_owned = 0;
	c->frozen = 0;
}

/*
 * Where counter i is: its group's directory (NULL: none), file, the key
 * of its line (NULL: the file is the number) and the divisor to its unit.
 */
static const char *
c_cgroups_counter_file(const struct container *c, int i, const char **file,
    const char **key, long long *div)
{
	*key = NULL;
	*div = 1;
	switch (i) {
	case CONTAINER_COUNTER_CPU:
		if (c->cgroup_v2) {
			*file = "cpu.stat";
			*key = "usage_usec";
			return c->cgroup2;
		}
		*file = "cpuacct.usage"; /* nanoseconds */
		*div = 1000;
		return c->cgroup[CONTAINER_CG_CPUACCT] != NULL ?
		    c->cgroup[CONTAINER_CG_CPUACCT] :
		    c->cgroup[CONTAINER_CG_CPU];
	case CONTAINER_COUNTER_MEMORY:
		if (c->cgroup_v2) {
			*file = "memory.current";
			return c->cgroup2;
		}
		*file = "memory.usage_in_bytes";
		return c->cgroup[CONTAINER_CG_MEMORY];
	default:
		*file = "pids.current";
		return c->cgroup_v2 ? c->cgroup2 : c->cgroup[CONTAINER_CG_PIDS];
	}
}

/*
 * Reads counter i of the running container, opening its file at the first
 * read; -1 when it cannot.
 */
static long long
c_cgroups_counter(struct container *c, int i)
{
	char buf[C_CGROUPS_COUNTER_MAX], *path;
	const char *dir, *file, *key;
	long long v, div;
	ssize_t n;

	if (c->counter[i] == C_CGROUPS_COUNTER_NONE)
		return -1;
	dir = c_cgroups_counter_file(c, i, &file, &key, &div);
	if (c->counter[i] == -1) {
		if (dir == NULL)
			return -1;
		path = xasprintf("%s/%s", dir, file);
		c->counter[i] = open(path, O_RDONLY | O_CLOEXEC);
		/* else (out of descriptors?) tried again at the next read */
		if (c->counter[i] == -1 && errno == ENOENT)
			c->counter[i] = C_CGROUPS_COUNTER_NONE;
		free(path);
		if (c->counter[i] < 0)
			return -1;
	}
	/* From the start, the kernel makes the text anew. */
	while ((n = pread(c->counter[i], buf, sizeof buf - 1, 0)) == -1 &&
	    errno == EINTR)
		;
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (key == NULL)
		v = strtoll(buf, NULL, 10);
	else if (c_cgroups_find(buf, key, &v) == -1)
		return -1;
	return v < 0 ? -1 : v / div;
}

/*
 * What the running container uses, as its groups count it: memory and
 * processes read again only when its CPU time moved, or once stale.
 */
static void
c_cgroups_usage(struct container *c, struct container_usage *u)
{
	struct timespec ts;
	long long now;

	u->cpu_usec = c_cgroups_counter(c, CONTAINER_COUNTER_CPU);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (u->cpu_usec == -1 || c->counter_at == 0 ||
	    u->cpu_usec != c->counter_last[CONTAINER_COUNTER_CPU] ||
	    now - c->counter_at >= C_CGROUPS_USAGE_STALE_MS) {
		c->counter_last[CONTAINER_COUNTER_MEMORY] =
		    c_cgroups_counter(c, CONTAINER_COUNTER_MEMORY);
		c->counter_last[CONTAINER_COUNTER_PIDS] =
		    c_cgroups_counter(c, CONTAINER_COUNTER_PIDS);
		c->counter_at = now;
	}
	c->counter_last[CONTAINER_COUNTER_CPU] = u->cpu_usec;
	u->memory_bytes = c->counter_last[CONTAINER_COUNTER_MEMORY];
	u->pids = c->counter_last[CONTAINER_COUNTER_PIDS];
}

/* Appends ", text" (or text) to *list. */
static void
c_cgroups_append(char **list, const char *sep, const char *text)
{
	char *tmp;

	tmp = xasprintf("%s%s%s", *list != NULL ? *list : "",
	    *list != NULL ? sep : "", text);
	free(*list);
	*list = tmp;
}

/* Orders hierarchies by path, so that reports read the same every time. */
static int
c_cgroups_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The cgroup hierarchies: CONTAINER_CGROUP_ROOT itself when it is cgroup
 * v2 (its directories are groups then), else every cgroup or cgroup2 file
 * system mounted on a directory in it, each once (a link such as cpu to
 * cpu,cpuacct leads to one already seen).
 */
static char **
c_cgroups_hierarchies(size_t *n)
{
	struct statfs fs;
	struct stat sb;
	struct dirent *de;
	dev_t *seen = NULL;
	char **v = NULL, *path;
	size_t i;
	DIR *d;

	*n = 0;
	if (statfs(CONTAINER_CGROUP_ROOT, &fs) == 0 &&
	    fs.f_type == CGROUP2_SUPER_MAGIC) {
		v = xcalloc(1, sizeof *v);
		v[(*n)++] = xstrdup(CONTAINER_CGROUP_ROOT);
		return v;
	}
	if ((d = opendir(CONTAINER_CGROUP_ROOT)) == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", CONTAINER_CGROUP_ROOT, de->d_name);
		if (stat(path, &sb) == -1 || !S_ISDIR(sb.st_mode) ||
		    statfs(path, &fs) == -1 || (fs.f_type != CGROUP_SUPER_MAGIC &&
		    fs.f_type != CGROUP2_SUPER_MAGIC)) {
			free(path);
			continue;
		}
		for (i = 0; i < *n && seen[i] != sb.st_dev; i++)
			;
		if (i < *n) {
			free(path);
			continue;
		}
		seen = xreallocarray(seen, *n + 1, sizeof *seen);
		v = xreallocarray(v, *n + 1, sizeof *v);
		seen[*n] = sb.st_dev;
		v[(*n)++] = path;
	}
	closedir(d);
	free(seen);
	if (v != NULL)
		qsort(v, *n, sizeof *v, c_cgroups_cmp);
	return v;
}

/* What a sweep found: the groups, deepest first, and those in use. */
struct c_cgroups_found {
	char **dirs;
	size_t ndirs;
	char *busy;
};

/*
 * Collects dir and the groups below it (those first) into f, and in
 * f->busy the ones that hold processes.
 */
static void
c_cgroups_scan(struct c_cgroups_found *f, const char *dir, int depth)
{
	struct dirent *de;
	char *procs, *sub, *nl, *msg;
	size_t i;
	int n = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		if (errno != ENOENT) {
			msg = xasprintf("cannot read cgroup %s: %s", dir,
			    strerror(errno));
			c_cgroups_append(&f->busy, "; ", msg);
			free(msg);
		}
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		sub = xasprintf("%s/%s", dir, de->d_name);
		if (depth < C_CGROUPS_SWEEP_DEPTH)
			c_cgroups_scan(f, sub, depth + 1);
		else {
			msg = xasprintf("cgroup %s lies deeper than %d "
			    "groups below the container's", sub,
			    C_CGROUPS_SWEEP_DEPTH);
			c_cgroups_append(&f->busy, "; ", msg);
			free(msg);
		}
		free(sub);
	}
	closedir(d);
	if ((procs = c_cgroups_read(dir, "cgroup.procs")) != NULL) {
		for (i = 0; procs[i] != '\0'; i++)
			n += procs[i] == '\n';
		if (n > 0) {
			if ((nl = strchr(procs, '\n')) != NULL)
				*nl = '\0';
			msg = xasprintf("cgroup %s holds %d process%s cmld did "
			    "not start (pid %s%s)", dir, n, n == 1 ? "" : "es",
			    procs, n > 1 ? " and others" : "");
			c_cgroups_append(&f->busy, "; ", msg);
			free(msg);
		}
		free(procs);
	}
	f->dirs = xreallocarray(f->dirs, f->ndirs + 1, sizeof *f->dirs);
	f->dirs[f->ndirs++] = xstrdup(dir);
}

/*
 * Removes an empty group; a task that has just exited may keep it busy
 * for a moment.  A group that holds a process again is left: -1.
 */
static int
c_cgroups_rmdir_empty(const char *dir)
{
	char *procs;
	int i, empty;

	for (i = 0;; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || (long long)i * C_CGROUPS_POLL_NS /
		    1000000 >= C_CGROUPS_WAIT_MS)
			return -1;
		procs = c_cgroups_read(dir, "cgroup.procs");
		empty = procs != NULL && procs[0] == '\0';
		free(procs);
		if (!empty) {
			errno = EBUSY;
			return -1;
		}
		c_cgroups_nap();
	}
}

int
c_cgroups_sweep(const char *parent, const char *name, char **report)
{
	struct c_cgroups_found f = { NULL, 0, NULL };
	char **hier, *dir, *removed = NULL, *failed = NULL, *msg;
	size_t nhier, i, j;
	int rc = 0;

	*report = NULL;
	if (parent == NULL)
		parent = CONTAINER_CGROUP_DIR;
	hier = c_cgroups_hierarchies(&nhier);
	for (i = 0; i < nhier; i++) {
		dir = xasprintf("%s/%s/%s", hier[i], parent, name);
		c_cgroups_scan(&f, dir, 0);
		free(dir);
	}
	if (f.busy != NULL) {
		*report = xasprintf("the cgroups of container '%s', which does "
		    "not run, are left in place, not taken over: %s", name,
		    f.busy);
		rc = -1;
		goto out;
	}
	for (i = 0; i < f.ndirs; i++) {
		if (c_cgroups_rmdir_empty(f.dirs[i]) == 0) {
			c_cgroups_append(&removed, ", ", f.dirs[i]);
			continue;
		}
		msg = xasprintf("cannot remove cgroup %s: %s", f.dirs[i],
		    strerror(errno));
		c_cgroups_append(&failed, "; ", msg);
		free(msg);
	}
	/* The parent goes too where it is empty now, as after a stop. */
	for (i = 0; removed != NULL && i < nhier; i++) {
		dir = xasprintf("%s/%s", hier[i], parent);
		for (j = 0; j < f.ndirs; j++) {
			if (strncmp(f.dirs[j], dir, strlen(dir)) == 0 &&
			    f.dirs[j][strlen(dir)] == '/')
				break;
		}
		if (j < f.ndirs)
			(void)rmdir(dir);
		free(dir);
	}
	if (failed != NULL) {
		*report = xasprintf("the leftover cgroups of container '%s', "
		    "which does not run, are not all removed: %s%s%s", name,
		    failed, removed != NULL ? "; removed " : "",
		    removed != NULL ? removed : "");
		rc = -1;
	} else if (removed != NULL) {
		*report = xasprintf("removed the leftover cgroups of container "
		    "'%s', which does not run: %s", name, removed);
		rc = 1;
	}
out:
	for (i = 0; i < f.ndirs; i++)
		free(f.dirs[i]);
	free(f.dirs);
	free(f.busy);
	free(removed);
	free(failed);
	for (i = 0; i < nhier; i++)
		free(hier[i]);
	free(hier);
	return rc;
}

const struct container_module c_cgroups_module = {
	.name = "cgroups",
	.init = c_cgroups_paths,
	.prepare = c_cgroups_prepare,
	.started = c_cgroups_started,
	.child = c_cgroups_child,
	.join = c_cgroups_join,
	.adopt = c_cgroups_adopt,
	.stop = c_cgroups_stop,
	.cleanup = c_cgroups_cleanup,
	.freeze = c_cgroups_freeze,
	.procs = c_cgroups_procs,
	.ended = c_cgroups_ended,
	.usage = c_cgroups_usage,
};
