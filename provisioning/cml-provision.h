/*
 * cml-provision: the factory provisioning wizard (cml-provision(8)).  A
 * thin client of cmld's control socket that walks the seven steps of
 * org.cml.Provision in order, from where `provision status` says the
 * device stands: interactively, line by line for a serial console or SSH;
 * from a batch file of answers; with --json, one JSON object per step for
 * factory tooling.  It calls the same commands as cmlsh and cmltui and
 * opens no key and no database: files it names go to cmld as descriptors
 * it opened with its own rights.
 */
#ifndef CML_PROVISION_H
#define CML_PROVISION_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include <json-c/json.h>

#include "client.h"
#include "cmdtab.h"
#include "words.h"

#define PROV_NAME "cml-provision"
#define PROV_DEFAULT_SOCKET "/run/cml/control.sock"

/* Exit statuses (cml-provision(8) documents them). */
#define PROV_EXIT_OK 0
#define PROV_EXIT_USAGE 1
#define PROV_EXIT_UNREACHABLE 2 /* cmld cannot be reached, or went away */
#define PROV_EXIT_ABORTED 3 /* the operator stopped (EOF, no, a signal) */
#define PROV_EXIT_STEP 10 /* + the number of the step that failed */
#define PROV_EXIT_REPORT 18 /* the report could not be had or written */

/* The steps, in their order; their names are org.cml.Provision's. */
enum prov_step {
	PROV_CHECK,
	PROV_IDENTITY,
	PROV_CERTIFICATE,
	PROV_ANCHORS,
	PROV_TOKEN,
	PROV_SETTINGS,
	PROV_LOCK,
	PROV_STEPS,
};

/* How a step ended. */
enum prov_result {
	PROV_OK = 0,
	PROV_FAILED = -1, /* refused or failed: exit PROV_EXIT_STEP + n */
	PROV_ABORTED = -2, /* the operator stopped */
	PROV_LOST = -3, /* cmld could not be reached */
	PROV_NOT_ASKED = -4, /* the batch file does not ask for the lock */
};

/* The answers of a batch file (cml-provision-batch.c). */
struct prov_batch {
	const char *path; /* as given; "-" for stdin */
	char *csr_out;
	char *certificate;
	char *device_ca;
	char *supplier_anchor;
	char *supplier_fingerprint;
	struct words owner_anchors; /* paired with owner_fingerprints */
	struct words owner_fingerprints;
	char *token_type;
	char *token_reader;
	char *c0_guestos;
	char *pin; /* secret: wiped when freed */
	int pin_fd; /* -1: none */
	char *puk; /* secret */
	int puk_fd;
	int generate_puk; /* -1: not said */
	/* settings: "KEY=VALUE" words, in the order of the file */
	struct words settings;
	int lock; /* -1: not said */
	char *report_out;
	int secrets_inline; /* the file holds a PIN or PUK itself */
};

/* All of cml-provision's state; one per process. */
struct prov {
	const char *socket_path;
	struct client cl;
	struct prov_batch *batch; /* NULL: interactive */
	int json; /* --json: stdout carries JSON lines only */
	int utf8; /* the locale's characters are UTF-8 */
	FILE *out; /* what a person reads: stdout, or stderr with --json */
	struct json_object *status; /* the last `provision status` reply */
	char *uuid; /* the device UUID, checked to be fit for a file name */
	/* the step being run, its JSON line's result, and why it failed */
	enum prov_step step;
	struct json_object *result;
	char *error; /* the error's name, or NULL */
	char *message; /* why the step failed, for a person */
	char *csr_path; /* where the request was written */
	char *report_path; /* where the report was written */
};

/* What a call was answered (prov_call). */
struct prov_reply {
	struct json_object *params; /* the replies merged, or NULL */
	char *error; /* the error's name */
	char *message; /* what failed, for a person */
};

/* cml-provision.c */
extern volatile sig_atomic_t prov_signal;
/* Writes a line for a person (to p->out). */
void prov_say(struct prov *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The column a label takes, and a setting's name. */
#define PROV_LABEL_WIDTH 16
#define PROV_SETTING_WIDTH 23
/*
 * Writes "  LABEL TEXT" for a person, the label in a column of width, text
 * from cmld with its control characters escaped.
 */
void prov_say_pair(struct prov *p, int width, const char *label,
    const char *text);
/* As prov_say_pair, in a column of PROV_LABEL_WIDTH. */
void prov_say_clean(struct prov *p, const char *label, const char *text);
/*
 * Calls the command of words with the arguments argv (as cmlsh parses
 * them) plus extra members (secrets; taken over, wiped after the call;
 * NULL: none); without a batch file, the command's secrets are asked on
 * the terminal as cmlsh asks them.  Returns 0 with r->params, 1 when the call was answered
 * with an error (r->error, r->message), -1 when cmld could not be reached
 * or the call failed on the way (r->message).  Free r with
 * prov_reply_free.
 */
int prov_call(struct prov *p, const char *words, int argc,
    char *const *argv, struct json_object *extra, struct prov_reply *r);
/* Releases what a reply holds. */
void prov_reply_free(struct prov_reply *r);
/*
 * Makes the outcome of a call the step's: 0 on success; else the step's
 * error and message are set and the result returned.
 */
int prov_outcome(struct prov *p, int rc, struct prov_reply *r);
/* Sets why the step failed (printf-like); returns PROV_FAILED. */
int prov_fail(struct prov *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Returns string member key of o, or NULL. */
const char *prov_str(struct json_object *o, const char *key);
/* Returns the state of step s in p->status ("pending" when unknown). */
const char *prov_step_state(struct prov *p, enum prov_step s);
/* Prints the steps of the last status, one a line. */
void prov_show_steps(struct prov *p);
/* Asks `provision status` again; -1 when cmld cannot tell. */
int prov_refresh(struct prov *p);
/*
 * Asks a question on the terminal: prompt, then def in brackets (NULL:
 * none).  Returns 0 with *answer (def for an empty line; "" without def),
 * or PROV_ABORTED at the end of the input or a signal.
 */
int prov_ask(struct prov *p, const char *prompt, const char *def,
    char **answer);
/*
 * Asks a yes or no question; *yes set.  Returns 0, or PROV_ABORTED.
 */
int prov_ask_yes(struct prov *p, const char *question, int def, int *yes);
/*
 * Writes data to path through a temporary file renamed over it; -1 with
 * *cause set.
 */
int prov_write_file(const char *path, const char *data, size_t len,
    mode_t mode, char **cause);

/* cml-provision-steps.c: one function a step, for both faces. */
int prov_run_step(struct prov *p, enum prov_step s);
/* Offers more owner anchors while the device is in factory (step 4). */
int prov_owner_anchors(struct prov *p);
/*
 * Asks for the report and writes it to path: PROV_OK, or a failure with
 * p->message set (PROV_LOST: cmld could not be reached).
 */
int prov_write_report(struct prov *p, const char *path);

/* cml-provision-batch.c */
/*
 * Reads and checks a batch file (JSON object or KEY=VALUE lines) into a
 * new batch.  Returns NULL with *cause set when it cannot be read or is
 * not right.
 */
struct prov_batch *prov_batch_read(const char *path, char **cause);
/* Wipes the batch's secrets and frees it; NULL does nothing. */
void prov_batch_free(struct prov_batch *b);
/*
 * Gives the batch's secret of kind "pin" or "puk" (free it with
 * secret_free): from the file itself or a line of its descriptor.
 * Returns 0 (*out NULL when the batch gives none), -1 with *cause set.
 */
int prov_batch_secret(struct prov_batch *b, const char *kind, char **out,
    char **cause);

#endif
