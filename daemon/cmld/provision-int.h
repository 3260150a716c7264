/*
 * What the files of org.cml.Provision share (cmd-provision.c,
 * provision.c): the record of each step in the store, and the Step of
 * every reply.
 */
#ifndef CMLD_PROVISION_INT_H
#define CMLD_PROVISION_INT_H

#include <json-c/json.h>

#include "jsonstrict.h"

struct call;
struct cmld;
struct store_provision_step;

/* How much of an answer stored with a step (its data) is read back. */
extern const struct jsonstrict_limits provision_json_limits;

/* Says whether the device is provisioned. */
int provision_locked(struct cmld *cmld);
/*
 * Returns the Step of name as stored: "pending" when it was never tried.
 * NULL with *cause set when the store cannot be read.
 */
struct json_object *provision_step_json(struct cmld *cmld, const char *name,
    char **cause);
/*
 * Answers call with p (taken over) and the member "step": name's Step as
 * it is stored now.
 */
void provision_reply(struct call *call, const char *name,
    struct json_object *p);
/*
 * Records step name as done (summary, cut to a bounded length, and data
 * may be NULL): 0, or -1 with the call answered.
 */
int provision_done(struct call *call, const char *name, const char *summary,
    const char *data);
/* Records step name as failed with error; a done step stays done. */
void provision_failed(struct cmld *cmld, const char *name, const char *error);
/*
 * Reads the row of step name: 1 done (*row filled; clear it), 0 not done
 * (*row empty), -1 with the call answered.
 */
int provision_row(struct call *call, const char *name,
    struct store_provision_step *row);
/*
 * Answers call with the reply stored as step name's data and the step
 * (a step done, called again).
 */
void provision_reply_stored(struct call *call, const char *name,
    const struct store_provision_step *row);

#endif
