/*
 * cmlsh: the operator's shell.  A thin client of cmld's control socket;
 * parsing, completion and help come from the command table.
 */
#ifndef CMLSH_H
#define CMLSH_H

#include <stdio.h>

#include <json-c/json.h>

#include "proto.h"

/* Exit statuses. */
#define CMLSH_EXIT_OK 0
#define CMLSH_EXIT_FAILED 1 /* cmld refused, failed or cannot be reached */
#define CMLSH_EXIT_USAGE 2

#define CMLSH_DEFAULT_SOCKET "/run/cml/control.sock"
#define CMLSH_HISTORY_FILE ".cmlsh_history"
#define CMLSH_HISTORY_MAX 1000
#define CMLSH_PROMPT "cml> "

/* All of the shell's state; one per process. */
struct cmlsh {
	const char *socket_path;
	int json; /* --json: print replies as JSON */
	int yes; /* --yes: destructive commands need no confirmation */
	int tty; /* stdin is a terminal: destructive commands ask */
	int interactive; /* reading commands with readline */
	int fd; /* the connection to cmld, -1 when there is none */
	struct proto_reader reader;
	char *history_path; /* NULL when there is no HOME */
	int history_added; /* lines added to the history this session */
	int quit; /* quit or exit was typed */
	FILE *out; /* replies */
	FILE *err; /* errors and prompts for confirmation */
};

/*
 * How a stream of replies has been shown so far, so that a table streamed
 * over several replies gets its header once and keeps its columns aligned.
 */
struct format_state {
	char *columns; /* the last table's column names, "\n"-joined */
	size_t *widths; /* and its column widths, which only grow */
	size_t ncolumns;
};

/* Prepares an empty format state. */
void format_state_init(struct format_state *fs);
/* Releases what a format state holds. */
void format_state_free(struct format_state *fs);
/*
 * Prints a successful reply's parameters for method as a table, as
 * key-value lines or, with json set, as JSON.
 */
void format_reply(FILE *out, struct format_state *fs, const char *method,
    struct json_object *params, int json);
/*
 * Prints an error reply: as JSON on out with json set, else as
 * "cmlsh: MESSAGE" on err.
 */
void format_error(FILE *out, FILE *err, const char *error,
    struct json_object *params, int json);
/* Returns the display width of a UTF-8 string in terminal columns. */
size_t format_width(const char *s);
/*
 * Prints text wrapped at width columns, from column col where the cursor
 * is, every further line after indent spaces.
 */
void format_wrap(FILE *out, const char *text, size_t col, size_t indent,
    size_t width);

#endif
