/*
 * cmlsh: the operator's shell.  A thin client of cmld's control socket;
 * parsing, completion and help come from the command table.
 */
#ifndef CMLSH_H
#define CMLSH_H

#include <stdio.h>

#include <json-c/json.h>

#include "client.h"
#include "complete.h"
#include "proto.h"

/* Exit statuses. */
#define CMLSH_EXIT_OK CLIENT_EXIT_OK
#define CMLSH_EXIT_FAILED CLIENT_EXIT_FAILED
#define CMLSH_EXIT_USAGE CLIENT_EXIT_USAGE

#define CMLSH_DEFAULT_SOCKET "/run/cml/control.sock"
#define CMLSH_HISTORY_FILE ".cmlsh_history"
#define CMLSH_HISTORY_MAX 1000
#define CMLSH_PROMPT "cml> "

/* How long a list fetched from cmld for completion is used. */
#define CMLSH_CACHE_SECONDS 5

/* All of the shell's state; one per process. */
struct cmlsh {
	const char *socket_path;
	int json; /* --json: print replies as JSON */
	int yes; /* --yes: destructive commands need no confirmation */
	int tty; /* stdin is a terminal: destructive commands ask */
	int interactive; /* reading commands with readline */
	struct client cl; /* the connection to cmld */
	/* interactive: the audit trail's notices (notice.c); fd -1: none */
	struct client notice;
	char *history_path; /* NULL when there is no HOME */
	int history_added; /* lines added to the history this session */
	int quit; /* quit or exit was typed */
	FILE *out; /* replies */
	FILE *err; /* errors and prompts for confirmation */
	struct complete_cache cache; /* lists asked of cmld for completion */
	long long idle_timeout; /* seconds without a key; 0: never */
	int idle_ended; /* the session ended for idleness */
};

/* notice.c: the audit trail's notices above the prompt */
void cmlsh_notice_start(struct cmlsh *sh);
void cmlsh_notice_stop(struct cmlsh *sh);
int cmlsh_notice_fd(struct cmlsh *sh);
void cmlsh_notice_read(struct cmlsh *sh);

#endif
