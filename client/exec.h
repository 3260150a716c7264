/*
 * The caller's side of a command run in a container and of a console:
 * the parameters a client adds from its own terminal, and the pump
 * between its terminal (or stdin and stdout) and the descriptors cmld
 * passed: the command's pipes or the master of its pseudo-terminal, a
 * pipe for signals, a console's output and input.  The caller's terminal
 * is raw while a pseudo-terminal is attached and restored on every way
 * out, signals included.
 */
#ifndef CML_CLIENT_EXEC_H
#define CML_CLIENT_EXEC_H

#include <stddef.h>

#include <json-c/json.h>

#include "cmdtab.h"

/* The byte that detaches from a console: Ctrl-]. */
#define EXEC_DETACH 0x1d

/*
 * Adds to the parameters of an exec or console call what the caller's
 * side gives: the terminal's size with --tty (or for a console), a signal
 * pipe for a command without one, and stdin when stdin_free is set (the
 * caller reads no commands from stdin) and stdin is no terminal.  Does
 * nothing for other commands.
 */
void exec_prepare(const struct cmd_entry *cmd, struct json_object *params,
    int stdin_free);

/*
 * Takes the first reply of a streamed exec or console when it passed
 * descriptors (params names them: stdout/stderr/stdin/signal, tty, or
 * output/input) and runs the pump until the command's output ended or
 * the console was detached; closes them.  Returns 1 when params was such
 * a reply, 0 when not, -1 with *cause set (NULL: nothing to say, stdout
 * closed) when the pump failed or a signal ended it.
 */
int exec_attach(struct json_object *params, const int *fds, size_t nfds,
    char **cause);

/*
 * Shows a reply of container logs or the end of a console: "log" (bytes,
 * base64) goes to stdout as printed through the console, "\r\n" as
 * "\n"; "lost" says on stderr how many bytes the log lost meanwhile; "end"
 * (why a stream ended) is shown on stderr when it is a terminal.  Returns
 * 1 when params was such a reply, 0 when not, -1 with *cause set (NULL:
 * stdout closed).
 */
int exec_log(struct json_object *params, char **cause);

/*
 * Takes a reply of a command run in a container, a console or container
 * logs: the descriptors to pump (exec_attach), what was logged
 * (exec_log), or the last reply's "exit_status" (into *exit_status).
 * Returns 1 when params was such a reply, 0 when not, -1 with *cause set
 * (NULL: nothing to say).
 */
int exec_output(struct json_object *params, const int *fds, size_t nfds,
    int *exit_status, char **cause);

#endif
