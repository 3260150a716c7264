/*
 * scd's one worker thread: the slow work (the KDF, every card
 * transaction) runs there, so that the loop keeps answering.  Jobs wait
 * in a bounded queue; once run, each is handed back to the loop through a
 * pipe the loop watches, and its done callback runs there.
 */
#ifndef SCD_WORKER_H
#define SCD_WORKER_H

#include <stddef.h>

struct loop;
struct worker;

/* The most jobs queued or running; more are refused (Busy). */
#define WORKER_MAX_JOBS 16

struct worker_job {
	/* Runs on the worker thread; touches only the job's own data. */
	void (*run)(struct worker_job *job);
	/*
	 * Runs on the loop after run, or with cancelled set when scd stops
	 * before the job ran; it answers and frees the job.
	 */
	void (*done)(struct worker_job *job);
	int cancelled;
	struct worker_job *next;
};

/* Starts the thread; exits on failure. */
struct worker *worker_new(struct loop *loop);
/*
 * Queues a job; -1 when WORKER_MAX_JOBS are queued or running (the job
 * is not taken).
 */
int worker_submit(struct worker *w, struct worker_job *job);
/* The jobs queued or running. */
size_t worker_load(const struct worker *w);
/*
 * Stops the thread after the job it runs; the jobs that did not run are
 * done with cancelled set, those that ran are done as usual.  NULL does
 * nothing.
 */
void worker_free(struct worker *w);

#endif
