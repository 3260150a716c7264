/*
 * Drives common/slot.c from the shell, as cmld will, for
 * tests/integration/cml-launch.sh:
 *
 *   slot-tool begin DIR SLOT          make DIR/SLOT.new; print its path
 *   slot-tool commit DIR SLOT VERSION make it the slot, try it once
 *   slot-tool step DIR SLOT VERSION N run step N of the commit only
 *   slot-tool mark-good DIR SLOT      confirm the slot that runs
 *   slot-tool take-failure DIR        print the failure not taken yet
 *   slot-tool recover DIR             remove what a cut left
 *
 * SLOT is a, b or "inactive".  Exit 0, or 1 with the cause on stderr.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slot.h"

static int
tool_slot(const char *dir, const char *arg, enum slot_id *slot,
    char **cause)
{
	struct slot_state st;

	if (strcmp(arg, "inactive") == 0) {
		if (slot_state_read(dir, &st, cause) == -1)
			return -1;
		*slot = slot_inactive(&st);
		return 0;
	}
	if (slot_parse(arg, slot) == -1 || *slot == SLOT_NONE) {
		fprintf(stderr, "slot-tool: no slot '%s'\n", arg);
		exit(2);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct slot_failure f;
	enum slot_id slot = SLOT_NONE;
	char *cause = NULL, *out = NULL;
	int rc = -1;

	if (argc < 3) {
		fprintf(stderr, "usage: slot-tool begin|commit|step|mark-good|"
		    "take-failure|recover DIR [SLOT [VERSION [STEP]]]\n");
		return 2;
	}
	if (argc >= 4 && tool_slot(argv[2], argv[3], &slot, &cause) == -1)
		goto out;
	if (strcmp(argv[1], "begin") == 0 && argc == 4) {
		if ((rc = slot_stage_begin(argv[2], slot, &out, &cause)) == 0)
			printf("%s\n", out);
	} else if (strcmp(argv[1], "commit") == 0 && argc == 5)
		rc = slot_stage_commit(argv[2], slot, argv[4], &cause);
	else if (strcmp(argv[1], "step") == 0 && argc == 6)
		rc = slot_stage_step(argv[2], slot, argv[4],
		    (enum slot_step)atoi(argv[5]), &cause);
	else if (strcmp(argv[1], "mark-good") == 0 && argc == 4)
		rc = slot_mark_good(argv[2], slot, &cause);
	else if (strcmp(argv[1], "take-failure") == 0 && argc == 3) {
		if ((rc = slot_take_failure(argv[2], &f, &cause)) == 1)
			printf("slot=%s version=%s reported=%d reason=%s\n",
			    slot_name(f.slot), f.version, f.reported,
			    f.reason);
		rc = rc == -1 ? -1 : 0;
	} else if (strcmp(argv[1], "recover") == 0 && argc == 3) {
		if ((rc = slot_recover(argv[2], &out, &cause)) == 0 &&
		    out != NULL)
			printf("%s\n", out);
	} else {
		fprintf(stderr, "slot-tool: bad command or arguments\n");
		return 2;
	}
out:
	free(out);
	if (rc == -1) {
		fprintf(stderr, "slot-tool: %s\n", cause);
		free(cause);
		return 1;
	}
	return 0;
}
