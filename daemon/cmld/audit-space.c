/*
 * The audit trail's room (CR 2.9, CR 2.9(1)): a capacity in bytes (the
 * pages audit.db uses), two thresholds that each give a record and a
 * notice to the clients following the trail when the trail fills past
 * them, and an action when it is full: refuse state-changing commands
 * until room is made (fail-secure), or drop the oldest records that an
 * operator acknowledged or the collector received — whole checkpoint
 * intervals only, so that what is left still verifies from the signed
 * checkpoint before it.  Records nobody acknowledged are never dropped.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "audit-int.h"
#include "ctx.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"

/* The names of the levels, as records and `audit status` say them. */
static const char *const audit_level_names[] = {
	[AUDIT_LEVEL_OK] = "ok",
	[AUDIT_LEVEL_WARNING] = "warning",
	[AUDIT_LEVEL_CRITICAL] = "critical",
	[AUDIT_LEVEL_FULL] = "full",
};

int
audit_refusing(struct cmld *cmld)
{
	return audit_trail(cmld)->refusing;
}

const char *
audit_level_name(int level)
{
	return audit_level_names[level];
}

long long
audit_forward_cursor(struct cmld *cmld)
{
	char *v = NULL, *cause = NULL;
	long long n = 0;

	if (store_audit_meta_get(cmld->store, "forward_cursor", &v,
	    &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return 0;
	}
	if (v != NULL)
		n = strtoll(v, NULL, 10);
	free(v);
	return n;
}

/*
 * The newest record that may be dropped: every record up to it was
 * acknowledged by an operator or received by the collector.
 */
static long long
audit_droppable(struct cmld *cmld)
{
	struct audit_trail *t = audit_trail(cmld);
	long long fwd = audit_forward_cursor(cmld), first = 0;
	char *cause = NULL;

	if (store_audit_first_unacked(cmld->store, fwd, &first, NULL,
	    &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return 0;
	}
	return first == 0 ? t->stored_seq : first - 1;
}

/* Collects the checkpoints a drop may end at. */
struct audit_drop {
	long long *seqs;
	size_t n, cap;
};

static int
audit_drop_cb(const struct audit_checkpoint *cp, void *arg)
{
	struct audit_drop *d = arg;

	if (d->n == d->cap) {
		d->cap = d->cap == 0 ? 16 : d->cap * 2;
		d->seqs = xreallocarray(d->seqs, d->cap, sizeof *d->seqs);
	}
	d->seqs[d->n++] = cp->seq;
	return 0;
}

/*
 * Drops acknowledged records, one checkpoint interval after the other,
 * until the trail is below its first threshold again.  Returns the seq
 * dropped up to (0: nothing could be dropped).
 */
static long long
audit_drop_acknowledged(struct cmld *cmld, long long low)
{
	struct audit_trail *t = audit_trail(cmld);
	struct audit_drop d = { 0 };
	long long limit = audit_droppable(cmld), first = t->dropped_to;
	long long done = 0;
	char *cause = NULL;
	size_t i;

	if (store_audit_checkpoints(cmld->store, t->dropped_to, limit,
	    audit_drop_cb, &d, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return 0;
	}
	for (i = 0; i < d.n; i++) {
		/* the newest checkpoint stays: the trail starts after it */
		if (store_audit_drop(cmld->store, d.seqs[i], &cause) == -1) {
			log_warnx("%s", cause);
			free(cause);
			break;
		}
		done = t->dropped_to = d.seqs[i];
		if (store_audit_used(cmld->store, &t->used, &cause) == -1) {
			log_warnx("%s", cause);
			free(cause);
			break;
		}
		if (t->used < low)
			break;
	}
	free(d.seqs);
	if (done > 0)
		audit_write(cmld, "audit", "audit trail", "dropped",
		    "records #%lld to #%lld were dropped for room (all "
		    "acknowledged or received by the collector); the trail "
		    "now verifies from the checkpoint at #%lld", first + 1,
		    done, done);
	return done;
}

/* The level of a trail using used of cap bytes, thresholds in percent. */
static enum audit_level
audit_level_of(long long used, long long cap, long long warn, long long crit)
{
	if (used >= cap)
		return AUDIT_LEVEL_FULL;
	if (used * 100 >= cap * crit)
		return AUDIT_LEVEL_CRITICAL;
	if (used * 100 >= cap * warn)
		return AUDIT_LEVEL_WARNING;
	return AUDIT_LEVEL_OK;
}

void
audit_space_check(struct cmld *cmld)
{
	struct audit_trail *t = audit_trail(cmld);
	long long cap = audit_setting_int(cmld, "audit_capacity");
	long long warn = audit_setting_int(cmld, "audit_warn_percent");
	long long crit = audit_setting_int(cmld, "audit_critical_percent");
	long long seq;
	enum audit_level level, prev;
	char *action, *cause = NULL;

	if (store_audit_used(cmld->store, &t->used, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return;
	}
	if (crit < warn)
		crit = warn;
	level = audit_level_of(t->used, cap, warn, crit);
	if (level == AUDIT_LEVEL_FULL) {
		action = store_setting_value(cmld->store, "audit_full_action");
		if (strcmp(action, "drop-acknowledged") == 0 &&
		    audit_drop_acknowledged(cmld, cap * warn / 100) > 0)
			level = audit_level_of(t->used, cap, warn, crit);
		if (level == AUDIT_LEVEL_FULL && !t->refusing) {
			t->refusing = 1;
			seq = audit_self(cmld, "full", "the audit "
			    "trail is full (%lld of %lld bytes): "
			    "state-changing commands are refused until room "
			    "is made (%s)", t->used, cap,
			    strcmp(action, "refuse") == 0 ? "audit ack, then "
			    "audit_full_action drop-acknowledged, or a larger "
			    "audit_capacity" : "no acknowledged records are "
			    "left to drop: audit ack");
			audit_notice(cmld, "full", seq, "the audit trail is "
			    "full: state-changing commands are refused");
		}
		free(action);
	}
	if (level < AUDIT_LEVEL_FULL && t->refusing) {
		t->refusing = 0;
		audit_write(cmld, "audit", "audit trail", "ok", "the audit "
		    "trail has room again (%lld of %lld bytes): commands are "
		    "served again", t->used, cap);
	}
	prev = t->level;
	t->level = level;
	if (level > prev && level < AUDIT_LEVEL_FULL) {
		seq = audit_self(cmld, audit_level_names[level],
		    "the audit trail passed its %s threshold: %lld of %lld "
		    "bytes (%lld%%)", level == AUDIT_LEVEL_WARNING ? "first" :
		    "second", t->used, cap, t->used * 100 / cap);
		audit_notice(cmld, audit_level_names[level], seq, "the audit "
		    "trail is %lld%% full (%lld of %lld bytes)",
		    t->used * 100 / cap, t->used, cap);
	}
}

const struct audit_hook audit_space_hook = {
	.committed = audit_space_check,
};
