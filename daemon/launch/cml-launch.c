/*
 * cml-launch: starts cml from one of two install prefixes (slots) and
 * falls back to the good one when an updated slot does not confirm
 * itself (cml-launch(8), common/slot.h).
 *
 *   cml-launch --slots DIR [--confirm-timeout SEC] [--] PROGRAM [ARGS...]
 *   cml-launch --status --slots DIR
 *
 * It supervises one child, DIR/<slot>/PROGRAM, with CML_SLOT and CML_SLOTS
 * in its environment.  A slot marked to be tried is started once (its
 * start is written down before it runs, so that a power cut cannot start
 * it twice); until the state says it is good, its exit, its death or the
 * end of the confirmation time is its failure: recorded in the state for
 * cmld to audit, and the good slot is started again at once.  The exit
 * status CML_EXIT_RESTART, or any end of the child while a slot waits to
 * be tried, starts again at once; any other end of a good slot's child
 * ends cml-launch with the child's status, for systemd to restart.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "loop.h"
#include "slot.h"
#include "xmalloc.h"

/* How long a child ended for failing its trial has after SIGTERM. */
#define LAUNCH_KILL_GRACE_MS 10000
/* How often the state is read while a trial runs, besides inotify. */
#define LAUNCH_POLL_MS 1000
/* The wait before starting again after a restart nobody marked. */
#define LAUNCH_RESTART_IDLE_MS 1000
#define LAUNCH_CONFIRM_DEFAULT 120
#define LAUNCH_CONFIRM_MAX 86400

struct launch {
	struct loop *loop;
	char *dir; /* absolute */
	char **argv; /* PROGRAM ARGS... (PROGRAM relative to a slot) */
	long long confirm_s;

	int inofd; /* DIR's changes, -1 if inotify is missing */
	struct loop_watch inw;
	struct loop_timer confirm_t; /* the end of a trial's time */
	struct loop_timer kill_t; /* SIGKILL after the grace */
	struct loop_timer poll_t; /* the state, while a trial runs */
	struct loop_timer restart_t; /* the next start */

	pid_t child; /* -1: none */
	enum slot_id slot;
	char version[SLOT_VERSION_MAX + 1];
	int trying; /* the child's slot is not confirmed yet */
	char reason[SLOT_REASON_MAX + 1]; /* why we ended it, or "" */
	int stopsig; /* the signal that stops cml-launch, or 0 */
	int status; /* cml-launch's exit status */
};

static void launch_next(struct launch *l);

/* What the picking step gives back. */
struct launch_pick {
	enum slot_id slot;
	int trying;
	char version[SLOT_VERSION_MAX + 1];
	struct slot_failure failed; /* a trial found ended, or slot NONE */
};

static int
launch_pick_fn(struct slot_state *st, void *arg, char **cause)
{
	struct launch_pick *p = arg;
	struct slot_failure before = st->failed;
	int changed;

	(void)cause;
	changed = slot_pick(st, log_now_ms(), &p->slot, &p->trying);
	if (memcmp(&before, &st->failed, sizeof before) != 0)
		p->failed = st->failed;
	strcpy(p->version, p->trying ? st->try_version : st->good_version);
	return changed;
}

/* What ending a trial gives back. */
struct launch_end {
	enum slot_id slot;
	const char *reason;
	int failed; /* recorded as failed */
	int confirmed; /* the state says good after all */
	int pending; /* another slot waits to be tried */
};

static int
launch_end_fn(struct slot_state *st, void *arg, char **cause)
{
	struct launch_end *e = arg;

	(void)cause;
	if (e->reason != NULL && st->try == e->slot && st->tries == 0) {
		slot_fail(st, e->reason, log_now_ms());
		e->failed = 1;
		return 1;
	}
	e->confirmed = st->good == e->slot;
	e->pending = st->try != SLOT_NONE && st->tries > 0;
	return 0;
}

/* Names a version for messages: "version 1.2" or "version unknown". */
static const char *
launch_version(const char *v)
{
	return *v != '\0' ? v : "unknown";
}

/* Stops the timers of a trial. */
static void
launch_trial_stop(struct launch *l)
{
	loop_timer_stop(l->loop, &l->confirm_t);
	loop_timer_stop(l->loop, &l->poll_t);
}

/* Reads the state while a trial runs: has the slot confirmed itself? */
static void
launch_check_confirmed(struct launch *l)
{
	struct launch_end e = { l->slot, NULL, 0, 0, 0 };
	char *cause = NULL;

	if (!l->trying || l->child == -1 || *l->reason != '\0')
		return;
	if (slot_state_update(l->dir, launch_end_fn, &e, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return;
	}
	if (!e.confirmed)
		return;
	l->trying = 0;
	launch_trial_stop(l);
	log_info("slot %s (version %s) confirmed itself: it is the good "
	    "slot now", slot_name(l->slot), launch_version(l->version));
}

static void
launch_inotify(struct loop_watch *w, unsigned int events)
{
	struct launch *l = w->arg;
	char buf[4096];

	(void)events;
	while (read(l->inofd, buf, sizeof buf) > 0)
		;
	launch_check_confirmed(l);
}

static void
launch_poll(struct loop_timer *t)
{
	struct launch *l = t->arg;

	launch_check_confirmed(l);
	if (l->trying && l->child != -1)
		loop_timer_start(l->loop, &l->poll_t, LAUNCH_POLL_MS);
}

static void
launch_kill(struct loop_timer *t)
{
	struct launch *l = t->arg;

	if (l->child == -1)
		return;
	log_warnx("slot %s's %s (pid %ld) did not end %d s after SIGTERM: "
	    "killing it", slot_name(l->slot), l->argv[0], (long)l->child,
	    LAUNCH_KILL_GRACE_MS / 1000);
	kill(l->child, SIGKILL);
}

static void
launch_confirm_timeout(struct loop_timer *t)
{
	struct launch *l = t->arg;

	launch_check_confirmed(l);
	if (!l->trying || l->child == -1)
		return;
	snprintf(l->reason, sizeof l->reason, "not confirmed within %lld s",
	    l->confirm_s);
	log_warnx("slot %s (version %s) was %s: stopping it", slot_name(l->slot),
	    launch_version(l->version), l->reason);
	loop_timer_stop(l->loop, &l->poll_t);
	kill(l->child, SIGTERM);
	loop_timer_start(l->loop, &l->kill_t, LAUNCH_KILL_GRACE_MS);
}

static void
launch_restart(struct loop_timer *t)
{
	launch_next(t->arg);
}

/* Ends cml-launch with status. */
static void
launch_quit(struct launch *l, int status)
{
	l->status = status;
	loop_quit(l->loop);
}

/* Records a trial's failure for reason; 1 when recorded. */
static int
launch_fail(struct launch *l, const char *reason, struct launch_end *e)
{
	char *cause = NULL;

	memset(e, 0, sizeof *e);
	e->slot = l->slot;
	e->reason = reason;
	if (slot_state_update(l->dir, launch_end_fn, e, &cause) == -1) {
		log_warnx("cannot record the failure of slot %s (%s): %s",
		    slot_name(l->slot), reason, cause);
		free(cause);
		return 0;
	}
	if (e->failed)
		log_warnx("slot %s (version %s) failed: %s; starting the good "
		    "slot again", slot_name(l->slot),
		    launch_version(l->version), reason);
	return e->failed;
}

/* The child ended with wait status ws: decide what comes next. */
static void
launch_child_ended(struct launch *l, int ws)
{
	struct launch_end e;
	char why[128], *cause = NULL;
	int code;

	l->child = -1;
	launch_trial_stop(l);
	loop_timer_stop(l->loop, &l->kill_t);
	if (WIFEXITED(ws)) {
		code = WEXITSTATUS(ws);
		snprintf(why, sizeof why, "exited with status %d", code);
	} else {
		code = 128 + WTERMSIG(ws);
		snprintf(why, sizeof why, "killed by signal %d", WTERMSIG(ws));
	}
	log_info("slot %s's %s %s", slot_name(l->slot), l->argv[0], why);

	if (l->trying) {
		if (*l->reason == '\0') {
			if (l->stopsig != 0)
				snprintf(l->reason, sizeof l->reason,
				    "stopped by signal %d to cml-launch before "
				    "confirming", l->stopsig);
			else
				snprintf(l->reason, sizeof l->reason,
				    "%s before confirming", why);
		}
		l->trying = 0;
		if (launch_fail(l, l->reason, &e)) {
			if (l->stopsig != 0)
				launch_quit(l, code);
			else
				launch_next(l);
			return;
		}
		/* confirmed at the last moment: a good slot's end */
	}
	if (l->stopsig != 0) {
		launch_quit(l, code);
		return;
	}
	if (WIFEXITED(ws) && code == CML_EXIT_RESTART) {
		log_info("slot %s asked to start again", slot_name(l->slot));
		memset(&e, 0, sizeof e);
		e.slot = l->slot;
		if (slot_state_update(l->dir, launch_end_fn, &e,
		    &cause) == -1) {
			log_warnx("%s", cause);
			free(cause);
			launch_quit(l, 1);
			return;
		}
		/* Nothing new to try: do not spin if it keeps asking. */
		if (!e.pending)
			loop_timer_start(l->loop, &l->restart_t,
			    LAUNCH_RESTART_IDLE_MS);
		else
			launch_next(l);
		return;
	}
	memset(&e, 0, sizeof e);
	e.slot = l->slot;
	if (slot_state_update(l->dir, launch_end_fn, &e, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		launch_quit(l, code != 0 ? code : 1);
		return;
	}
	if (e.pending) {
		log_info("a slot is marked to be tried: starting it");
		launch_next(l);
		return;
	}
	launch_quit(l, code);
}

static void
launch_signal(int signo, void *arg)
{
	struct launch *l = arg;
	pid_t pid;
	int ws;

	if (signo != SIGCHLD) {
		if (signo != SIGHUP && l->stopsig == 0)
			l->stopsig = signo;
		if (l->child != -1)
			kill(l->child, signo);
		else if (l->stopsig != 0)
			launch_quit(l, 128 + signo);
		return;
	}
	while ((pid = waitpid(-1, &ws, WNOHANG)) > 0) {
		if (pid == l->child)
			launch_child_ended(l, ws);
	}
}

/*
 * Checks that only we can change what path holds: it runs as root.  -1
 * with *cause saying what to do.
 */
static int
launch_check_owner(const char *path, char **cause)
{
	struct stat sb;

	if (lstat(path, &sb) == -1) {
		xcause(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		xcause(cause, "%s is not a directory", path);
		return -1;
	}
	if (sb.st_uid != geteuid() || (sb.st_mode & 022) != 0) {
		xcause(cause, "%s is owned by uid %ld with mode %04o: others "
		    "could plant what runs from it; make it uid %ld's and "
		    "not writable by group or others (chmod go-w)", path,
		    (long)sb.st_uid, (unsigned int)(sb.st_mode & 07777),
		    (long)geteuid());
		return -1;
	}
	return 0;
}

/* Starts DIR/<slot>/PROGRAM; -1 with *cause set when it cannot run. */
static int
launch_spawn(struct launch *l, char **cause)
{
	char *path;
	pid_t pid;

	path = xasprintf("%s/%s", l->dir, slot_name(l->slot));
	if (launch_check_owner(path, cause) == -1) {
		free(path);
		return -1;
	}
	free(path);
	path = xasprintf("%s/%s/%s", l->dir, slot_name(l->slot), l->argv[0]);
	if (access(path, X_OK) == -1) {
		xcause(cause, "%s cannot be run: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	if ((pid = fork()) == -1) {
		xcause(cause, "cannot start %s: fork: %s", path,
		    strerror(errno));
		free(path);
		return -1;
	}
	if (pid == 0) {
		/* A launcher gone (kill -9) takes its cmld along. */
		if (daemon_child_init(SIGTERM) == -1 ||
		    setenv("CML_SLOT", slot_name(l->slot), 1) == -1 ||
		    setenv("CML_SLOTS", l->dir, 1) == -1)
			_exit(127);
		execv(path, l->argv);
		fprintf(stderr, "cml-launch: cannot run %s: %s\n", path,
		    strerror(errno));
		_exit(127);
	}
	l->child = pid;
	log_info("started slot %s (version %s): %s, pid %ld%s",
	    slot_name(l->slot), launch_version(l->version), path, (long)pid,
	    l->trying ? ", on trial" : "");
	free(path);
	return 0;
}

/* Picks a slot and starts it; what cannot start ends cml-launch. */
static void
launch_next(struct launch *l)
{
	struct launch_pick p;
	struct launch_end e;
	char *cause = NULL;

	if (l->stopsig != 0) {
		launch_quit(l, 128 + l->stopsig);
		return;
	}
	for (;;) {
		memset(&p, 0, sizeof p);
		if (slot_state_update(l->dir, launch_pick_fn, &p,
		    &cause) == -1) {
			log_warnx("%s", cause);
			free(cause);
			launch_quit(l, 1);
			return;
		}
		if (p.failed.slot != SLOT_NONE)
			log_warnx("slot %s (version %s) failed: %s",
			    slot_name(p.failed.slot),
			    launch_version(p.failed.version), p.failed.reason);
		l->slot = p.slot;
		l->trying = p.trying;
		*l->reason = '\0';
		strcpy(l->version, p.version);
		if (launch_spawn(l, &cause) == 0)
			break;
		if (!l->trying) {
			log_warnx("the good slot cannot start: %s", cause);
			free(cause);
			launch_quit(l, 1);
			return;
		}
		l->trying = 0;
		launch_fail(l, cause, &e);
		free(cause);
		cause = NULL;
	}
	if (l->trying) {
		loop_timer_start(l->loop, &l->confirm_t, l->confirm_s * 1000);
		loop_timer_start(l->loop, &l->poll_t, LAUNCH_POLL_MS);
	}
}

/* Prints the state of DIR; changes nothing.  Returns the exit status. */
static int
launch_status(const char *dir)
{
	struct slot_state st;
	struct stat sb;
	char *cause = NULL, *p, when[64];
	const char *ids[] = { "a", "b" }, *sfx[] = { ".new", ".old" };
	size_t i, j;
	int have;

	if (slot_state_read(dir, &st, &cause) == -1) {
		fprintf(stderr, "cml-launch: %s\n", cause);
		free(cause);
		return 1;
	}
	p = xasprintf("%s/%s", dir, SLOT_STATE_FILE);
	have = lstat(p, &sb) == 0;
	printf("slots:        %s\n", dir);
	printf("state:        %s\n", have ? p : "none written yet (the "
	    "installed slot is good)");
	free(p);
	printf("good:         %s (version %s)\n", slot_name(st.good),
	    launch_version(st.good_version));
	if (st.try == SLOT_NONE)
		printf("tried:        none\n");
	else
		printf("tried:        %s (version %s), %s\n", slot_name(st.try),
		    launch_version(st.try_version), st.tries > 0 ?
		    "marked: starts at the next start" :
		    "started, not confirmed yet");
	if (st.failed.slot == SLOT_NONE)
		printf("last failure: none\n");
	else {
		log_format_time(st.failed.time_ms, when, sizeof when);
		printf("last failure: %s (version %s) at %s: %s (%s)\n",
		    slot_name(st.failed.slot),
		    launch_version(st.failed.version), when, st.failed.reason,
		    st.failed.reported ? "audited" : "not audited yet");
	}
	for (i = 0; i < 2; i++) {
		p = xasprintf("%s/%s/%s", dir, ids[i], SLOT_PROGRAM);
		printf("slot %s:       %s/%s, %s\n", ids[i], dir, ids[i],
		    access(p, X_OK) == 0 ? "installed" :
		    "not installed (no " SLOT_PROGRAM ")");
		free(p);
		for (j = 0; j < 2; j++) {
			p = xasprintf("%s/%s%s", dir, ids[i], sfx[j]);
			if (lstat(p, &sb) == 0)
				printf("leftover:     %s (an update in "
				    "progress, or cut off: removed at the "
				    "next start)\n", p);
			free(p);
		}
	}
	return 0;
}

static void
launch_usage(FILE *f)
{
	fprintf(f,
	    "usage: cml-launch --slots DIR [--confirm-timeout SEC] "
	    "[--log-level LEVEL] [--] PROGRAM [ARGS...]\n"
	    "       cml-launch --status --slots DIR\n"
	    "\n"
	    "Starts DIR/a/PROGRAM or DIR/b/PROGRAM as DIR/state says, tries "
	    "an updated slot\nonce and falls back to the good one when it "
	    "does not confirm itself.\n"
	    "\n"
	    "  --slots DIR            the slots directory (a/, b/, state)\n"
	    "  --confirm-timeout SEC  how long a tried slot has to confirm "
	    "itself (default %d)\n"
	    "  --log-level LEVEL      warning, info (default) or debug\n"
	    "  --status               print the state of DIR; change "
	    "nothing\n"
	    "  PROGRAM                relative to a slot, e.g. sbin/cmld\n"
	    "\n"
	    "Exit status: the good child's, 1 on failure, 2 on a usage "
	    "error.\n", LAUNCH_CONFIRM_DEFAULT);
}

/* Checks PROGRAM: a relative path inside a slot. */
static int
launch_program_ok(const char *prog)
{
	const char *p;

	if (*prog == '\0' || *prog == '/')
		return 0;
	for (p = prog; p != NULL; p = strchr(p, '/')) {
		if (*p == '/')
			p++;
		if (strncmp(p, "..", 2) == 0 && (p[2] == '/' || p[2] == '\0'))
			return 0;
	}
	return 1;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "slots", required_argument, NULL, 's' },
		{ "confirm-timeout", required_argument, NULL, 't' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "status", no_argument, NULL, 'S' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct launch l;
	enum log_level level = LOG_LEVEL_INFO;
	const char *slots = NULL;
	char *end, *cause = NULL, *done = NULL, real[PATH_MAX];
	sigset_t sigs;
	int ch, status = 0;

	memset(&l, 0, sizeof l);
	l.confirm_s = LAUNCH_CONFIRM_DEFAULT;
	l.child = -1;
	l.inofd = -1;
	/* "+": the options after PROGRAM are the program's. */
	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			slots = optarg;
			break;
		case 't':
			errno = 0;
			l.confirm_s = strtoll(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || errno != 0 ||
			    l.confirm_s < 1 ||
			    l.confirm_s > LAUNCH_CONFIRM_MAX) {
				fprintf(stderr, "cml-launch: --confirm-timeout "
				    "needs seconds from 1 to %d, not '%s'\n",
				    LAUNCH_CONFIRM_MAX, optarg);
				return 2;
			}
			break;
		case 'l':
			if (log_level_parse(optarg, &level) == -1) {
				fprintf(stderr, "cml-launch: unknown log level "
				    "'%s': use warning, info or debug\n",
				    optarg);
				return 2;
			}
			break;
		case 'S':
			status = 1;
			break;
		case 'V':
			printf("cml-launch %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			launch_usage(stdout);
			return 0;
		default:
			launch_usage(stderr);
			return 2;
		}
	}
	if (slots == NULL) {
		fprintf(stderr, "cml-launch: --slots DIR is missing\n");
		launch_usage(stderr);
		return 2;
	}
	if (status) {
		if (optind != argc) {
			fprintf(stderr, "cml-launch: --status takes no "
			    "program\n");
			return 2;
		}
		return launch_status(slots);
	}
	if (optind == argc) {
		fprintf(stderr, "cml-launch: PROGRAM is missing (e.g. "
		    "sbin/cmld)\n");
		launch_usage(stderr);
		return 2;
	}
	if (!launch_program_ok(argv[optind])) {
		fprintf(stderr, "cml-launch: PROGRAM must be a path inside "
		    "a slot such as sbin/cmld, not '%s'\n", argv[optind]);
		return 2;
	}
	if (realpath(slots, real) == NULL) {
		fprintf(stderr, "cml-launch: --slots %s: %s\n", slots,
		    strerror(errno));
		return 1;
	}
	l.dir = real;
	l.argv = argv + optind;

	/* Under systemd stderr is the journal. */
	log_init("cml-launch", 1, level);
	if (launch_check_owner(l.dir, &cause) == -1 ||
	    slot_recover(l.dir, &done, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return 1;
	}
	if (done != NULL) {
		log_warnx("%s", done);
		free(done);
	}

	l.loop = loop_new();
	loop_timer_init(&l.confirm_t, launch_confirm_timeout, &l);
	loop_timer_init(&l.kill_t, launch_kill, &l);
	loop_timer_init(&l.poll_t, launch_poll, &l);
	loop_timer_init(&l.restart_t, launch_restart, &l);
	l.inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (l.inofd == -1 || inotify_add_watch(l.inofd, l.dir,
	    IN_MOVED_TO | IN_CLOSE_WRITE) == -1 ||
	    loop_watch_add(l.loop, &l.inw, l.inofd, EPOLLIN, launch_inotify,
	    &l) == -1) {
		/* The state is read every LAUNCH_POLL_MS anyway. */
		log_warn("cannot watch %s; reading its state every %d ms",
		    l.dir, LAUNCH_POLL_MS);
		if (l.inofd != -1)
			close(l.inofd);
		l.inofd = -1;
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGCHLD);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	loop_signals(l.loop, &sigs, launch_signal, &l);

	launch_next(&l);
	if (!loop_quitting(l.loop))
		loop_run(l.loop);

	loop_timer_stop(l.loop, &l.confirm_t);
	loop_timer_stop(l.loop, &l.kill_t);
	loop_timer_stop(l.loop, &l.poll_t);
	loop_timer_stop(l.loop, &l.restart_t);
	if (l.inofd != -1) {
		loop_watch_del(l.loop, &l.inw);
		close(l.inofd);
	}
	loop_free(l.loop);
	return l.status;
}
