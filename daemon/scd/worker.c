/*
 * scd's worker thread (worker.h).  The queue is a list under a mutex
 * with a condition variable; a finished job's pointer goes back through
 * a pipe (one write of a pointer is atomic), and the loop calls its done
 * callback.  The thread blocks every signal: they are the loop's.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/epoll.h>

#include "log.h"
#include "loop.h"
#include "worker.h"
#include "xmalloc.h"

struct worker {
	struct loop *loop;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct worker_job *head, *tail; /* queued, not yet run */
	size_t load; /* queued, running, or run and not yet done */
	int stop;
	int pipe[2]; /* the thread writes finished jobs, the loop reads */
	struct loop_watch watch;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct worker_job *job;
	ssize_t n;

	for (;;) {
		pthread_mutex_lock(&w->lock);
		while (w->head == NULL && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->stop) {
			pthread_mutex_unlock(&w->lock);
			return NULL;
		}
		job = w->head;
		w->head = job->next;
		if (w->head == NULL)
			w->tail = NULL;
		pthread_mutex_unlock(&w->lock);

		job->run(job);
		do
			n = write(w->pipe[1], &job, sizeof job);
		while (n == -1 && errno == EINTR);
		if (n != (ssize_t)sizeof job)
			fatal("worker: cannot hand a job back");
	}
}

/* Takes the finished jobs off the pipe and finishes them on the loop. */
static void
worker_read(struct loop_watch *lw, unsigned int events)
{
	struct worker *w = lw->arg;
	struct worker_job *job;
	ssize_t n;

	(void)events;
	for (;;) {
		n = read(w->pipe[0], &job, sizeof job);
		if (n == -1 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof job)
			return;
		pthread_mutex_lock(&w->lock);
		w->load--;
		pthread_mutex_unlock(&w->lock);
		job->done(job);
	}
}

struct worker *
worker_new(struct loop *loop)
{
	struct worker *w = xcalloc(1, sizeof *w);
	sigset_t all, old;
	int rc;

	w->loop = loop;
	if (pipe2(w->pipe, O_CLOEXEC) == -1)
		fatal("worker: pipe2");
	/* the loop's end only: the thread's writes may block, never lose */
	if (fcntl(w->pipe[0], F_SETFL, O_NONBLOCK) == -1)
		fatal("worker: fcntl");
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (loop_watch_add(loop, &w->watch, w->pipe[0], EPOLLIN, worker_read,
	    w) == -1)
		fatal("worker: watch");
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		fatal("worker: pthread_create");
	}
	return w;
}

int
worker_submit(struct worker *w, struct worker_job *job)
{
	pthread_mutex_lock(&w->lock);
	if (w->load >= WORKER_MAX_JOBS || w->stop) {
		pthread_mutex_unlock(&w->lock);
		return -1;
	}
	job->next = NULL;
	job->cancelled = 0;
	if (w->tail != NULL)
		w->tail->next = job;
	else
		w->head = job;
	w->tail = job;
	w->load++;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

size_t
worker_load(const struct worker *w)
{
	struct worker *mw = (struct worker *)w;
	size_t n;

	pthread_mutex_lock(&mw->lock);
	n = mw->load;
	pthread_mutex_unlock(&mw->lock);
	return n;
}

void
worker_free(struct worker *w)
{
	struct worker_job *job, *next;
	int flags;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	job = w->head;
	w->head = w->tail = NULL;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	/* what ran is finished as usual, then what never ran */
	flags = fcntl(w->pipe[0], F_GETFL);
	(void)fcntl(w->pipe[0], F_SETFL, flags | O_NONBLOCK);
	worker_read(&w->watch, 0);
	for (; job != NULL; job = next) {
		next = job->next;
		job->cancelled = 1;
		job->done(job);
	}
	loop_watch_del(w->loop, &w->watch);
	close(w->pipe[0]);
	close(w->pipe[1]);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}
