/*
 * The event loop shared by cmld, scd and tpm2d.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "xmalloc.h"

#define LOOP_MAX_EVENTS 32

struct loop {
	int epfd;
	int quit;
	struct job_list jobs;
	struct job_list *turn; /* the jobs of the turn running, if one is */
	/*
	 * The events of the batch being dispatched, if one is: a watch
	 * deleted meanwhile (its owner may be freed) is taken out of it.
	 */
	struct epoll_event *batch;
	int nbatch;
	int ibatch; /* the one being dispatched */
	struct loop_watch sigw;
	void (*sigcb)(int, void *);
	void *sigarg;
	void (*prewait)(void *); /* before each wait (loop_set_prewait) */
	void *prewait_arg;
};

struct loop *
loop_new(void)
{
	struct loop *loop = xcalloc(1, sizeof *loop);

	if ((loop->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1");
	TAILQ_INIT(&loop->jobs);
	loop->sigw.fd = -1;
	return loop;
}

void
loop_free(struct loop *loop)
{
	if (loop == NULL)
		return;
	if (loop->sigw.fd != -1) {
		loop_watch_del(loop, &loop->sigw);
		close(loop->sigw.fd);
	}
	close(loop->epfd);
	free(loop);
}

int
loop_watch_add(struct loop *loop, struct loop_watch *w, int fd,
    unsigned int events, void (*cb)(struct loop_watch *, unsigned int),
    void *arg)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof ev);
	ev.events = events;
	ev.data.ptr = w;
	w->cb = cb;
	w->arg = arg;
	w->fd = fd;
	w->events = events;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
		return -1;
	w->added = 1;
	return 0;
}

void
loop_watch_mod(struct loop *loop, struct loop_watch *w, unsigned int events)
{
	struct epoll_event ev;

	if (!w->added || w->events == events)
		return;
	memset(&ev, 0, sizeof ev);
	ev.events = events;
	ev.data.ptr = w;
	/* EBADF here: the descriptor was closed while still watched */
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, w->fd, &ev) == -1)
		fatal("epoll_ctl: changing the watch of fd %d to events %#x",
		    w->fd, events);
	w->events = events;
}

void
loop_watch_del(struct loop *loop, struct loop_watch *w)
{
	int i;

	if (!w->added)
		return;
	(void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->added = 0;
	/* Its events still to come in this batch are not delivered. */
	for (i = loop->ibatch + 1; loop->batch != NULL && i < loop->nbatch;
	    i++) {
		if (loop->batch[i].data.ptr == w)
			loop->batch[i].data.ptr = NULL;
	}
}

/* Reads a timer's expiry and calls its owner. */
static void
loop_timer_fire(struct loop_watch *w, unsigned int events)
{
	struct loop_timer *t = w->arg;
	unsigned long long n;

	(void)events;
	/* nothing to read: disarmed or started anew since it fired */
	if (read(w->fd, &n, sizeof n) != (ssize_t)sizeof n)
		return;
	t->armed = 0;
	t->cb(t);
}

void
loop_timer_init(struct loop_timer *t, void (*cb)(struct loop_timer *),
    void *arg)
{
	memset(t, 0, sizeof *t);
	t->w.fd = -1;
	t->cb = cb;
	t->arg = arg;
}

int
loop_timer_start(struct loop *loop, struct loop_timer *t, long long ms)
{
	struct itimerspec its;

	if (t->w.fd == -1) {
		t->w.fd = timerfd_create(CLOCK_MONOTONIC,
		    TFD_CLOEXEC | TFD_NONBLOCK);
		if (t->w.fd == -1)
			return -1;
		if (loop_watch_add(loop, &t->w, t->w.fd, EPOLLIN,
		    loop_timer_fire, t) == -1) {
			close(t->w.fd);
			t->w.fd = -1;
			return -1;
		}
	}
	if (ms < 1)
		ms = 1;
	memset(&its, 0, sizeof its);
	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (ms % 1000) * 1000000;
	if (timerfd_settime(t->w.fd, 0, &its, NULL) == -1)
		return -1;
	t->armed = 1;
	return 0;
}

void
loop_timer_stop(struct loop *loop, struct loop_timer *t)
{
	t->armed = 0;
	if (t->w.fd == -1)
		return;
	loop_watch_del(loop, &t->w);
	close(t->w.fd);
	t->w.fd = -1;
}

void
loop_timer_disarm(struct loop_timer *t)
{
	struct itimerspec its;

	t->armed = 0;
	if (t->w.fd == -1)
		return;
	/* also forgets an expiry not read yet: the loop reads nothing */
	memset(&its, 0, sizeof its);
	(void)timerfd_settime(t->w.fd, 0, &its, NULL);
}

int
loop_timer_armed(const struct loop_timer *t)
{
	return t->armed;
}

/* Delivers the signals that arrived. */
static void
loop_signal_event(struct loop_watch *w, unsigned int events)
{
	struct loop *loop = w->arg;
	struct signalfd_siginfo si;

	(void)events;
	while (read(w->fd, &si, sizeof si) == (ssize_t)sizeof si)
		loop->sigcb((int)si.ssi_signo, loop->sigarg);
}

void
loop_signals(struct loop *loop, const sigset_t *set,
    void (*cb)(int, void *), void *arg)
{
	int fd;

	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, set, NULL) == -1)
		fatal("sigprocmask");
	if ((fd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	loop->sigcb = cb;
	loop->sigarg = arg;
	if (loop_watch_add(loop, &loop->sigw, fd, EPOLLIN, loop_signal_event,
	    loop) == -1)
		fatal("epoll_ctl");
}

void
loop_job_add(struct loop *loop, struct job *job)
{
	if (job->queued)
		return;
	job->queued = 1;
	TAILQ_INSERT_TAIL(&loop->jobs, job, entry);
}

void
loop_job_remove(struct loop *loop, struct job *job)
{
	struct job *j;

	if (!job->queued)
		return;
	job->queued = 0;
	/* A job of the turn running is on that turn's list. */
	if (loop->turn != NULL)
		TAILQ_FOREACH(j, loop->turn, entry)
			if (j == job) {
				TAILQ_REMOVE(loop->turn, job, entry);
				return;
			}
	TAILQ_REMOVE(&loop->jobs, job, entry);
}

/* Runs one step of every queued job. */
static void
loop_job_run(struct loop *loop)
{
	struct job_list now;
	struct job *job;
	int rc;

	/* Jobs added while these run (by a reply's next call) wait a turn. */
	TAILQ_INIT(&now);
	TAILQ_CONCAT(&now, &loop->jobs, entry);
	loop->turn = &now;
	while ((job = TAILQ_FIRST(&now)) != NULL) {
		TAILQ_REMOVE(&now, job, entry);
		job->queued = 0;
		rc = job->step(job);
		if (rc == JOB_AGAIN)
			loop_job_add(loop, job);
	}
	loop->turn = NULL;
}

void
loop_job_cancel_all(struct loop *loop)
{
	struct job *job;

	while ((job = TAILQ_FIRST(&loop->jobs)) != NULL) {
		TAILQ_REMOVE(&loop->jobs, job, entry);
		job->queued = 0;
		job->cancel(job);
	}
}

void
loop_run(struct loop *loop)
{
	struct epoll_event evs[LOOP_MAX_EVENTS];
	struct loop_watch *w;
	int i, n;

	while (!loop->quit) {
		if (loop->prewait != NULL)
			loop->prewait(loop->prewait_arg);
		n = epoll_wait(loop->epfd, evs, LOOP_MAX_EVENTS,
		    TAILQ_EMPTY(&loop->jobs) ? -1 : 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait");
		}
		loop->batch = evs;
		loop->nbatch = n;
		for (i = 0; i < n; i++) {
			loop->ibatch = i;
			if ((w = evs[i].data.ptr) != NULL)
				w->cb(w, evs[i].events);
		}
		loop->batch = NULL;
		if (!loop->quit)
			loop_job_run(loop);
	}
}

void
loop_set_prewait(struct loop *loop, void (*cb)(void *), void *arg)
{
	loop->prewait = cb;
	loop->prewait_arg = arg;
}

void
loop_quit(struct loop *loop)
{
	loop->quit = 1;
}

int
loop_quitting(const struct loop *loop)
{
	return loop->quit;
}

long long
loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
loop_sd_notify(const char *state)
{
	struct sockaddr_un sun;
	const char *path = getenv("NOTIFY_SOCKET");
	socklen_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return;
	if (strlen(path) >= sizeof sun.sun_path) {
		log_warnx("NOTIFY_SOCKET is too long");
		return;
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("sd_notify socket");
		return;
	}
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len) == -1)
		log_warn("sd_notify to %s", path);
	close(fd);
}

void
loop_ready(int fd)
{
	static const char msg[] = "READY=1\n";

	if (fd != -1) {
		if (write(fd, msg, sizeof msg - 1) == -1)
			log_warn("cannot write to ready fd %d", fd);
		close(fd);
	}
}
