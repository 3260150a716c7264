/*
 * Jobs: long work (copying and hashing images) done in steps between
 * events, so one client's install never stalls everyone else.
 */
#include "config.h"

#include "cmld.h"

void
job_add(struct cmld *cmld, struct job *job)
{
	TAILQ_INSERT_TAIL(&cmld->jobs, job, entry);
}

int
job_pending(struct cmld *cmld)
{
	return !TAILQ_EMPTY(&cmld->jobs);
}

void
job_run(struct cmld *cmld)
{
	struct job_list now;
	struct job *job;

	/* Jobs added while these run (by a reply's next call) wait a turn. */
	TAILQ_INIT(&now);
	TAILQ_CONCAT(&now, &cmld->jobs, entry);
	while ((job = TAILQ_FIRST(&now)) != NULL) {
		TAILQ_REMOVE(&now, job, entry);
		if (job->step(job) == 0)
			TAILQ_INSERT_TAIL(&cmld->jobs, job, entry);
	}
}

void
job_cancel_all(struct cmld *cmld)
{
	struct job *job;

	while ((job = TAILQ_FIRST(&cmld->jobs)) != NULL) {
		TAILQ_REMOVE(&cmld->jobs, job, entry);
		job->cancel(job);
	}
}
