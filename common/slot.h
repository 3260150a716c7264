/*
 * A/B slots of cml itself (cml-launch(8)) and of the boot image
 * (cml-bootpick(8)).  A slots directory DIR holds two slots, DIR/a and
 * DIR/b (whole install prefixes of cml, or a kernel image with its
 * initramfs), and DIR/state, a small text
 * file of key=value lines replaced atomically, that says which slot is
 * good, which one is being tried, how many starts the tried one has left,
 * and the last failure of a tried slot.
 *
 * An update is written to the inactive slot (neither good nor tried):
 * slot_stage_begin gives DIR/<slot>.new to fill, slot_stage_commit makes
 * it durable, swaps it in and marks it to be tried once.  cml-launch starts
 * the tried slot once; the slot confirms itself (slot_mark_good) or the
 * launcher records its failure and starts the good one again.  A power cut
 * at any point leaves the old state or the new one: a slot is marked to be
 * tried only after its files are durable and in place, and slot_recover
 * removes what a cut left half done.
 *
 * Everything here is safe to call from cmld: no exit, errors as -1 with
 * *cause, nothing waited for but the local disk and the short lock that
 * serialises changes of the state (flock on DIR).
 */
#ifndef CML_SLOT_H
#define CML_SLOT_H

#include <stddef.h>

/* A program's exit status that asks cml-launch to start again at once. */
#define CML_EXIT_RESTART 75

#define SLOT_STATE_FILE "state"
#define SLOT_STATE_MAX 4096 /* bytes of a state file */
#define SLOT_VERSION_MAX 39 /* a dotted version, names_version_ok */
#define SLOT_REASON_MAX 200 /* bytes of a failure's reason */
/* The program whose presence makes a slot of cml an installed one. */
#define SLOT_PROGRAM "sbin/cmld"
/* The kernel image whose presence makes a boot slot an installed one. */
#define SLOT_KERNEL "vmlinuz"
/* A boot slot's initramfs, if it has one. */
#define SLOT_INITRD "initrd.img"

enum slot_id {
	SLOT_NONE = 0,
	SLOT_A,
	SLOT_B,
};

/* The last failure of a tried slot. */
struct slot_failure {
	enum slot_id slot; /* SLOT_NONE: none recorded */
	char version[SLOT_VERSION_MAX + 1];
	char reason[SLOT_REASON_MAX + 1];
	long long time_ms; /* since the epoch */
	int reported; /* 1 once cmld took it to audit it */
};

/* What DIR/state says. */
struct slot_state {
	enum slot_id good; /* SLOT_A or SLOT_B */
	enum slot_id try; /* SLOT_NONE: nothing is being tried */
	int tries; /* starts left for try: 1 once marked, 0 once started */
	char good_version[SLOT_VERSION_MAX + 1]; /* "": unknown */
	char try_version[SLOT_VERSION_MAX + 1];
	struct slot_failure failed;
};

/*
 * The steps of slot_stage_commit, in their order.  Each can be run alone
 * (slot_stage_step), so that a test can stop after any of them as a power
 * cut would.
 */
enum slot_step {
	SLOT_STEP_SYNC,	/* fsync every file and directory of <slot>.new */
	SLOT_STEP_RETIRE, /* rename <slot> to <slot>.old */
	SLOT_STEP_INSTALL, /* rename <slot>.new to <slot>, fsync DIR */
	SLOT_STEP_CLEAN, /* remove <slot>.old, fsync DIR */
	SLOT_STEP_MARK,	/* state: try=<slot>, tries=1, try_version */
	SLOT_STEPS,
};

/* Returns "a", "b" or "none". */
const char *slot_name(enum slot_id slot);
/* Parses "a", "b" or "none"; -1 for anything else. */
int slot_parse(const char *s, enum slot_id *slot);

/*
 * Parses the text of a state file (len bytes, from path for messages).
 * -1 with *cause naming the line and the field when it is malformed, a
 * field is missing or repeated, or the fields contradict each other.
 */
int slot_state_parse(const char *text, size_t len, const char *path,
    struct slot_state *st, char **cause);
/* Returns the text of a state file (free it). */
char *slot_state_format(const struct slot_state *st);
/*
 * Reads DIR/state.  Without one, the good slot is the one that holds
 * SLOT_PROGRAM or SLOT_KERNEL, a before b, and nothing is tried.  -1 with *cause set when
 * the file is malformed (never guessed around) or no slot is installed.
 */
int slot_state_read(const char *dir, struct slot_state *st, char **cause);
/* Replaces DIR/state atomically and durably; -1 with *cause set. */
int slot_state_write(const char *dir, const struct slot_state *st,
    char **cause);
/*
 * Locks DIR, reads its state, lets fn change it (fn returns 1 to have it
 * written back, 0 to leave it, -1 with *cause set to fail), writes it and
 * unlocks: one read-modify-write that cmld and cml-launch cannot
 * interleave.  0, or -1 with *cause set.
 */
int slot_state_update(const char *dir,
    int (*fn)(struct slot_state *, void *, char **), void *arg,
    char **cause);

/* Returns the slot that is neither good nor tried, or SLOT_NONE. */
enum slot_id slot_inactive(const struct slot_state *st);
/*
 * Decides which slot to start and changes st accordingly: the tried slot
 * when it has starts left (one is used up: persist st before starting
 * it), else the good one.  A tried slot without starts left was started
 * before and never confirmed (the launcher or the device went down): that
 * is recorded as its failure at now_ms first.  *trying is 1 when the
 * slot returned is being tried.  Returns 1 when st changed.
 */
int slot_pick(struct slot_state *st, long long now_ms, enum slot_id *slot,
    int *trying);
/* Records the failure of the tried slot for reason, and stops trying it. */
void slot_fail(struct slot_state *st, const char *reason, long long now_ms);
/*
 * Makes the slot that runs good: the tried slot once started becomes the
 * good one (returns 1: st changed); the good slot is good already
 * (returns 0).  -1 with *cause set for any other slot (its trial ended,
 * or it was never started).
 */
int slot_confirm(struct slot_state *st, enum slot_id slot, char **cause);

/* slot_confirm on DIR/state for the slot that runs; -1 with *cause set. */
int slot_mark_good(const char *dir, enum slot_id slot, char **cause);
/*
 * Takes the failure recorded in DIR/state if it was not taken before,
 * marking it taken: returns 1 with *failure filled (cmld audits it), 0
 * when there is none, -1 with *cause set.
 */
int slot_take_failure(const char *dir, struct slot_failure *failure,
    char **cause);

/*
 * Starts writing an update into slot (the inactive one): removes a
 * DIR/<slot>.new left from before and makes it again, empty; *path is it
 * (free it).  -1 with *cause set, also when slot is not inactive.
 */
int slot_stage_begin(const char *dir, enum slot_id slot, char **path,
    char **cause);
/* Runs one step of slot_stage_commit; -1 with *cause set. */
int slot_stage_step(const char *dir, enum slot_id slot, const char *version,
    enum slot_step step, char **cause);
/*
 * Makes DIR/<slot>.new the slot's contents and marks it to be tried once
 * as version (the steps of enum slot_step in order).  -1 with *cause set,
 * also when slot is no longer inactive; the state is then unchanged.
 */
int slot_stage_commit(const char *dir, enum slot_id slot,
    const char *version, char **cause);
/*
 * Removes what an interrupted update left in DIR (<slot>.new, <slot>.old
 * and the state's temporary file): only while no update is written
 * (cml-launch, before it starts cmld).  *done says what was removed (free
 * it), NULL when nothing was.  -1 with *cause set.
 */
int slot_recover(const char *dir, char **done, char **cause);

#endif
