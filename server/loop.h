/*
 * The event loop every cml daemon runs: one epoll set, watches with their
 * own callbacks, timers (timerfd), signals (signalfd), jobs that run in
 * steps between events, and readiness reporting.  Single-threaded; no
 * callback may block.
 */
#ifndef CML_LOOP_H
#define CML_LOOP_H

#include <sys/queue.h>

#include <signal.h>

struct loop;

/*
 * Something watched: embed it in what it belongs to; cb gets it back with
 * the epoll events that occurred.
 */
struct loop_watch {
	void (*cb)(struct loop_watch *w, unsigned int events);
	void *arg;
	int fd;
	unsigned int events; /* the interest registered */
	int added;
};

/* A one-shot timer; embed it, like a watch. */
struct loop_timer {
	struct loop_watch w;
	void (*cb)(struct loop_timer *t);
	void *arg;
	int armed; /* set until it fires or is disarmed */
};

/* Work that runs in steps between events (hashing, copying images). */
struct job {
	/*
	 * Runs one step; returns JOB_DONE when the job is done (and freed),
	 * JOB_AGAIN to run again after the next events, JOB_PARKED when it
	 * waits for something that calls loop_job_add again (a client to
	 * drain its replies).
	 */
	int (*step)(struct job *job);
	/* Stops the job at shutdown: answers its call and frees it. */
	void (*cancel)(struct job *job);
	int queued;
	TAILQ_ENTRY(job) entry;
};
TAILQ_HEAD(job_list, job);

#define JOB_AGAIN 0
#define JOB_DONE 1
#define JOB_PARKED 2

/* Makes a loop; exits on failure. */
struct loop *loop_new(void);
/* Frees a loop (after every watch was removed); NULL does nothing. */
void loop_free(struct loop *loop);

/* Watches fd for events (EPOLLIN, EPOLLOUT); -1 with errno on failure. */
int loop_watch_add(struct loop *loop, struct loop_watch *w, int fd,
    unsigned int events, void (*cb)(struct loop_watch *, unsigned int),
    void *arg);
/* Changes what a watch waits for (0: nothing for now). */
void loop_watch_mod(struct loop *loop, struct loop_watch *w,
    unsigned int events);
/*
 * Stops watching; the fd is not closed.  A watch never added is fine.  A
 * watch deleted while the loop dispatches events gets none of that batch
 * after that, so a callback may delete and free other watches' owners.
 */
void loop_watch_del(struct loop *loop, struct loop_watch *w);

/* Prepares a timer that calls cb(t) when it fires. */
void loop_timer_init(struct loop_timer *t, void (*cb)(struct loop_timer *),
    void *arg);
/* (Re)arms a timer to fire once after ms milliseconds; -1 on failure. */
int loop_timer_start(struct loop *loop, struct loop_timer *t, long long ms);
/* Disarms a timer and releases its descriptor; safe when not armed. */
void loop_timer_stop(struct loop *loop, struct loop_timer *t);
/*
 * Disarms a timer but keeps its descriptor for the next start (a timer
 * armed and disarmed for every call costs no descriptor each time);
 * loop_timer_stop releases it.
 */
void loop_timer_disarm(struct loop_timer *t);
/* Returns 1 while a timer is armed (started, and not fired since). */
int loop_timer_armed(const struct loop_timer *t);

/*
 * Blocks the signals in set and delivers them through a signalfd to
 * cb(signo, arg); SIGPIPE is ignored.  Exits on failure.
 */
void loop_signals(struct loop *loop, const sigset_t *set,
    void (*cb)(int signo, void *arg), void *arg);

/* Queues a job (again); a job already queued stays once. */
void loop_job_add(struct loop *loop, struct job *job);
/* Takes a parked or queued job off the queue without running it. */
void loop_job_remove(struct loop *loop, struct job *job);
/* Cancels every queued job (at shutdown); parked ones are the owner's. */
void loop_job_cancel_all(struct loop *loop);

/*
 * Calls cb(arg) each time before the loop waits for events (NULL: none):
 * work gathered during a turn is finished in one go there (the audit
 * trail's group commit).
 */
void loop_set_prewait(struct loop *loop, void (*cb)(void *), void *arg);
/* Runs until loop_quit. */
void loop_run(struct loop *loop);
/* Makes loop_run return after the current events. */
void loop_quit(struct loop *loop);
/* Returns 1 once loop_quit was called. */
int loop_quitting(const struct loop *loop);

/* Returns the monotonic clock in milliseconds. */
long long loop_now_ms(void);

/* Reports readiness: "READY=1\n" on fd, closed then (-1: none). */
void loop_ready(int fd);
/* Sends a state ("STOPPING=1") to systemd's NOTIFY_SOCKET, if set. */
void loop_sd_notify(const char *state);

#endif
