/*
 * The container core: the containers cmld knows, around the runtime of
 * container.c.  Their registry and recorded lifecycle state (ctr.c: every
 * change is one transaction of the store, and audited), starting them as
 * jobs and finding them again after a cmld restart (ctr-start.c), and
 * commands run in them (ctr-exec.c).  The handlers of org.cml.Container
 * ask it; where an answer comes only later (a start, a stop, an exec) it
 * takes the call and answers it then.
 */
#ifndef CMLD_CTR_H
#define CMLD_CTR_H

#include <sys/queue.h>

#include <stddef.h>

#include "cconfig.h"
#include "loop.h"
#include "phases.h"
#include "server.h"

struct cmld;
struct container;
struct store_container;
struct net_ctr;

/* One container cmld knows; the handlers read it, the core changes it. */
struct ctr {
	struct loop_watch pw; /* init's pidfd */
	struct loop_timer timer; /* the stop timeout */
	/*
	 * A stop's SIGTERM reached an init that did not catch it (lost: the
	 * kernel drops it for a namespace's init): looks again every few ms
	 * and sends it again once the init catches it.
	 */
	struct loop_timer ttimer;
	int term_watch; /* what the init did with SIGTERM: CONTAINER_SIG_* */
	int term_missed; /* the stop timeout passed while it did not catch it */
	long long term_since; /* when the stop sent SIGTERM (loop ms) */
	long long stop_secs; /* the stop timeout of this stop */
	/* after an encrypted container's end: until its volume's device went */
	struct loop_timer vtimer;
	int vtries;
	TAILQ_ENTRY(ctr) entry;
	struct cmld *cmld;
	char *name;
	char *id; /* its own id (32 hex digits), which names its data volume */
	long long idx;
	struct cconfig cfg;
	int cfg_ok; /* the stored config still parses */
	char *signer;
	char *state;
	char *reason;
	char *version; /* guest OS version running or last started */
	struct container *rt; /* while it runs */
	struct call *waiting; /* a stop or kill answered at the end */
	struct ctr_console *console; /* init's console and log; NULL */
	/* frees console (ctr-console.c sets it with console) */
	void (*console_free)(struct ctr *k);
	int starting; /* a start job runs */
	int wiping; /* container wipe runs */
	/* integrity errors the kernel reported on its volume since cmld began */
	long long integrity_errors;
	struct net_ctr *net; /* its link, rules, interfaces (net.c); NULL */
	/* a stop's or kill's phases, for a debug line at its end */
	struct phases stop_ph;
	const char *stop_what; /* "stopped" or "killed" */
};

/* --- ctr.c: the registry and the lifecycle state ------------------------ */

/*
 * Lets the store's commits that follow go on without waiting for the
 * disk (lazy 1; store_durable), or makes them wait again (0; cmld ends
 * when it cannot).  Only for writes that a durable commit follows before
 * anybody is answered on them.
 */
void ctr_store_lazy(struct cmld *cmld, int lazy);
/* Returns the container called name, or NULL. */
struct ctr *ctr_find(struct cmld *cmld, const char *name);
/* Makes a container object from a stored row (not yet registered). */
struct ctr *ctr_from_store(struct cmld *cmld,
    const struct store_container *sc);
/*
 * Registers a container from config bytes (already verified) with signer
 * (may be NULL), c0 first when c0 is set; NULL with *error (a varlink error
 * name) and *cause set.
 */
struct ctr *ctr_create(struct cmld *cmld, const char *json, size_t len,
    const char *signer, int c0, const char **error, char **cause);
/*
 * Checks cfg against the other containers (of other names): devices to be
 * assigned exclusively, the one time container.  -1 with *cause set.
 */
int ctr_check_others(struct cmld *cmld, const struct cconfig *cfg,
    char **cause);
/*
 * Forgets a container that does not run, in the store and here (k is
 * freed); -1 with *error and *cause (the whole message) set.
 */
int ctr_remove(struct ctr *k, const char **error, char **cause);
/* Records a new state (and reason, and version unless NULL), stored. */
void ctr_set_state(struct ctr *k, const char *state, const char *reason,
    const char *version);
/*
 * The same, its commit not waited for on the disk (ctr_store_lazy): for a
 * state a durable commit follows before anybody is answered on it.
 */
void ctr_set_state_lazy(struct ctr *k, const char *state, const char *reason,
    const char *version);
/* Watches init's pidfd: its end is reaped, recorded and audited. */
void ctr_watch(struct ctr *k);
/*
 * Removes the cgroups a container that does not run left behind; groups
 * holding processes cmld did not start are left and reported.  Audited
 * once, if any.
 */
void ctr_sweep(struct ctr *k);
/*
 * Ends a running container with sig: SIGTERM (SIGKILL once the stop
 * timeout passed) or SIGKILL.  Defers call and answers it when init has
 * ended (NULL: nobody is answered, as for a device wipe, which watches
 * the state); -1 with *error and *cause (the whole message) set, call not
 * answered.
 */
int ctr_end(struct ctr *k, int sig, struct call *call, const char **error,
    char **cause);
/*
 * Freezes (frozen = 1) a running or thaws a frozen container, recorded;
 * -1 with *error and *cause (the whole message) set.
 */
int ctr_freeze(struct ctr *k, int frozen, const char **error, char **cause);
/* Lets go of the containers at cmld's end; they run on. */
void containers_release(struct cmld *cmld);
/*
 * The kernel reported an integrity error (what, at sector, -1 if none)
 * on the device-mapper device dm_name: when it is a container's volume
 * ("cml-ID" or "cml-ID_dif"), counted and audited against it.
 */
void ctr_integrity_error(struct cmld *cmld, const char *dm_name,
    long long sector, const char *what);

/* --- ctr-start.c: starting, and finding them again ---------------------- */

/*
 * Begins starting k: its guest OS is checked in steps, then it starts.
 * With call, defers and answers it at the end; without, audits.  A refusal
 * is answered or audited at once.  Returns 0 when a start job runs, -1
 * when refused.
 */
int ctr_start(struct ctr *k, struct call *call, int then_autostart);
/* Loads the containers, finds running ones again, starts c0, autostarts. */
void containers_init(struct cmld *cmld);

/* --- ctr-exec.c: commands in a running container ------------------------ */

/*
 * Runs argv (NULL-terminated; argv[0] an absolute path inside) in running
 * container k.  Defers call and answers it with the exit status once the
 * command ended, its output streamed as passed pipes (call->more) or kept
 * in the answer.  -1 with *error and *cause (the whole message) set, call
 * not answered.
 */
int ctr_exec(struct ctr *k, struct call *call, char *const argv[],
    const char **error, char **cause);

/* --- ctr-console.c: init's console and the log of what it printed ------- */

/* What the log keeps of what init printed since its start: the last bytes. */
#define CTR_CONSOLE_RING (64 * 1024)

/*
 * Opens a new console for k's next start (the log starts empty; followers
 * of the last one are ended) and returns its slave for
 * container_set_console (close it once container_start returned); -1
 * when there is none (logged: init then runs with /dev/null).
 */
int ctr_console_open(struct ctr *k);
/* Ends k's console and its followers and frees them; none does nothing. */
void ctr_console_free(struct ctr *k);

#endif
