/*
 * cmld's link to a stage, a daemon started before it (tpm2d, stage 1;
 * scd, stage 2): calls through the server library's non-blocking client,
 * the stage's state for `device status`, reconnection with a backoff, and
 * the audit records the stage spooled before cmld could store them.  cmld
 * never waits for a stage: it starts without it, notices when it goes, and
 * finds it again.  tpm.c and scd.c say what differs between the two.
 */
#ifndef CMLD_STAGE_H
#define CMLD_STAGE_H

#include <stddef.h>

#include <json-c/json.h>

struct call;
struct cmld;
struct stage;

/* The first and the longest wait before connecting again. */
#define STAGE_RETRY_MIN_MS 100
#define STAGE_RETRY_MAX_MS 5000
/* While up: how often the spool is taken (and the link checked). */
#define STAGE_POLL_MS 2000

/*
 * Gets the answer of a stage_call, exactly once, from the loop (never
 * from within stage_call; at cmld's shutdown too).  error is NULL and
 * params the stage's reply, or error names the error and params carries
 * "message" (borrowed: json_object_get to keep them).  When the stage
 * could not be reached or did not answer in time, error is
 * org.cml.Error.Failed and the message says so ("scd is not running
 * (stage 2): ...").
 */
typedef void (*stage_reply_cb)(void *arg, const char *error,
    struct json_object *params);

/* What one stage is. */
struct stage_def {
	const char *name; /* "tpm2d": in messages, and the records' object */
	const char *iface; /* its interface with the dot: "org.cml.TPM." */
	int number; /* its stage: 1 */
	const char *option; /* cmld's option for its socket */
	const char *kind; /* what its stage is called: "TPM" */
	const char *what; /* what commands need of it: "the TPM" */
	const char *audit_type; /* the type of its records in the trail */
	/* an error's message when it sent none */
	const char *no_message;
	/* logged when cmld runs without it */
	const char *absent_note;
	long long timeout_ms; /* how long it may work on one call */
	/*
	 * The methods whose answer is passed on at once, without taking
	 * the spool first: they record nothing when they work (so no take
	 * follows them then; a refusal's record is taken as after any
	 * call), and their caller may need to act before a round trip.
	 */
	const char *const *answer_now;
	size_t nanswer_now;
	/* called when it first answers after cmld started (may be NULL) */
	void (*first_up)(struct cmld *cmld);
};

/*
 * Starts the link to def's stage at sock_path (NULL or "": cmld runs
 * without it, its stage "absent"); connects from the loop, never
 * blocking.  Returns the link.
 */
struct stage *stage_start(struct cmld *cmld, const struct stage_def *def,
    const char *sock_path);
/*
 * Fails every call still waiting (their callbacks run now, so their
 * clients are told) and frees the link; NULL does nothing.  At shutdown,
 * before the jobs are cancelled and the clients closed.
 */
void stage_stop(struct stage *s);
/*
 * Returns the stage's state: "up" (the last call or connection attempt
 * worked), "down" (it failed: cmld tries again), or "absent" (cmld runs
 * without it, or is stopping: s is NULL).
 */
const char *stage_state(const struct stage *s);
/*
 * Calls METHOD ("Quote") of the stage's interface with params (taken
 * over, also on failure; may be NULL).  Returns 0: cb gets the answer
 * later.  Returns -1 with *cause set at once, without calling cb, when the
 * stage is down (nobody accepts on its socket now), absent, or too busy;
 * s NULL is a stopping cmld.
 *
 * A handler defers its call (call_defer) and answers it from cb; if the
 * client left meanwhile the answer goes nowhere and the call is freed, so
 * cb must answer it in every case.
 */
int stage_call(struct stage *s, const struct stage_def *def,
    const char *method, struct json_object *params, stage_reply_cb cb,
    void *arg, char **cause);
/*
 * The stage's last Status answer, for `device status`: kept
 * (stage_status_keep, params not taken over) when one came, forgotten
 * when a call that may change the stage goes out or comes back, when its
 * records show it did something, and when the link goes down or up.
 * stage_status_fresh returns it (borrowed) while it is younger than
 * max_age_ms, came on the connection still open now and no call to the
 * stage is out (a stage that hangs is asked, and seen to hang), else NULL
 * (ask the stage again).
 */
struct json_object *stage_status_fresh(struct stage *s, long long max_age_ms);
void stage_status_keep(struct stage *s, struct json_object *params);
/*
 * Answers call with the error a stage_call's callback got: the errors of
 * org.cml.Error as they are, the stage's own as org.cml.Error.Failed with
 * its message ("tpm2d: ...").
 */
void stage_call_error(const struct stage_def *def, struct call *call,
    const char *error, struct json_object *params);
/*
 * Returns the message of an error's params (or a fixed text naming the
 * stage when there is none); borrowed.
 */
const char *stage_error_message(const struct stage_def *def,
    struct json_object *params);

#endif
